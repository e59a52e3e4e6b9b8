//! RFC 3339 UTC timestamps with millisecond precision, the contract's only time format.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `2026-05-01T10:00:00.123Z`.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let millis = t.millisecond();
    let t = t.replace_millisecond(millis).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Serde helper for `OffsetDateTime` fields.
pub fn serialize<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*t))
}

/// Serde helper for `Option<OffsetDateTime>` fields (`null` when absent).
pub fn serialize_opt<S: serde::Serializer>(
    t: &Option<OffsetDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format(*t)),
        None => s.serialize_none(),
    }
}

/// Parses RFC 3339 (any offset) into UTC.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
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
}
