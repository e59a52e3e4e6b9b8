//! RFC 3339 UTC timestamps with millisecond precision, the contract's only time format.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `2026-05-01T10:00:00.123Z`.
pub fn format(t: OffsetDateTime) -> String {
    with_formatted(t, str::to_owned)
}

/// Serde helper for `OffsetDateTime` fields.
pub fn serialize<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    with_formatted(*t, |text| s.serialize_str(text))
}

/// Serde helper for `Option<OffsetDateTime>` fields (`null` when absent).
pub fn serialize_opt<S: serde::Serializer>(
    t: &Option<OffsetDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize(t, s),
        None => s.serialize_none(),
    }
}

/// The longest text [`format`] makes: `9999-12-31T23:59:59.999-23:59`, 29 bytes.
const LONGEST: usize = 32;

/// Calls `f` with `t` formatted, from a buffer on the stack: every payload carries a few
/// timestamps, and a `String` each was a third of a ping's ack's allocations.
fn with_formatted<R>(t: OffsetDateTime, f: impl FnOnce(&str) -> R) -> R {
    // `to_offset` panics when UTC falls outside the supported years; keep the offset then.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let millis = t.millisecond();
    let t = t.replace_millisecond(millis).unwrap_or(t);
    let mut buffer = [0_u8; LONGEST];
    let mut rest = &mut buffer[..];
    match t.format_into(&mut rest, &Rfc3339) {
        Ok(written) => f(std::str::from_utf8(&buffer[..written]).unwrap_or_default()),
        // Beyond RFC 3339's years (never from `parse`), as the seconds since the epoch.
        Err(_) => f(&t.unix_timestamp().to_string()),
    }
}

/// Parses RFC 3339 (any offset) into UTC. Only times whose UTC year is 0000–9999 are
/// accepted, so whatever is accepted can be printed back by [`format`]; a time such as
/// `9999-12-31T23:30:00-01:00` is refused like any other bad input.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
        .filter(printable)
}

/// Milliseconds since the Unix epoch, within the years [`parse`] accepts.
pub fn from_epoch_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .filter(printable)
}

/// RFC 3339 has four-digit years only.
fn printable(t: &OffsetDateTime) -> bool {
    (0..=9999).contains(&t.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let t = datetime!(2026-05-01 12:00:00.123456789 +02:00);
        assert_eq!(format(t), "2026-05-01T10:00:00.123Z");
        assert_eq!(
            format(datetime!(2026-05-01 10:00 UTC)),
            "2026-05-01T10:00:00Z"
        );
        assert_eq!(
            parse("2026-05-01T12:00:00+02:00"),
            Some(datetime!(2026-05-01 10:00 UTC))
        );
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn times_beyond_the_supported_years_in_utc_are_refused_not_panicked_on() {
        assert_eq!(parse("9999-12-31T23:30:00-01:00"), None);
        assert_eq!(
            parse("9999-12-31T22:30:00-01:00"),
            Some(datetime!(9999-12-31 23:30 UTC))
        );
        assert_eq!(parse("0000-01-01T00:30:00+01:00"), None);
        assert!(parse("0000-01-01T00:30:00Z").is_some());
        assert_eq!(from_epoch_millis(-62_167_219_200_001), None);
        assert_eq!(
            from_epoch_millis(1_777_000_000_123).map(format).as_deref(),
            Some("2026-04-24T03:06:40.123Z")
        );
        let edge = datetime!(9999-12-31 23:30 -1:00);
        assert_eq!(format(edge), "9999-12-31T23:30:00-01:00");
        let longest = datetime!(9999-12-31 23:59:59.999 -23:59);
        assert_eq!(format(longest), "9999-12-31T23:59:59.999-23:59");
        let beyond = datetime!(2026-05-01 10:00 UTC).replace_year(-5).unwrap();
        assert_eq!(format(beyond), beyond.unix_timestamp().to_string());
    }
}
