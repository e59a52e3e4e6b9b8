//! Trip lists on the wire: the query of `GET /api/trips` (`status`, `limit`, `cursor`), its
//! opaque cursor, its answer `{items, nextCursor}`, and `admin:trips:snapshot` (payload
//! `{watch?}`, ack `{trips, truncated}`).
//!
//! The cursor is the page boundary ([`TripKey`]: request time and trip id) as base64url without
//! padding, behind a version byte, so its form can change without breaking clients that treat
//! it as the opaque string it is. It names a position in the order, not a trip a caller may
//! read: any well-formed cursor is a valid boundary, and a passenger learns nothing from one.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rodando_application::trip_lists::{DEFAULT_PAGE, MAX_IN_FLIGHT, MAX_PAGE, TripPage};
use rodando_domain::ids::TripId;
use rodando_domain::trip::Trip;
use rodando_domain::trip_list::{TripFilter, TripKey};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::{ObjectReader, kind};
use crate::trips::TripBody;

/// The parameters `GET /api/trips` reads; others are ignored (cache busters and the like).
pub const TRIP_LIST_PARAMS: &[&str] = &["status", "limit", "cursor"];
/// The fields an `admin:trips:snapshot` payload may hold.
pub const SNAPSHOT_FIELDS: &[&str] = &["watch"];

/// The cursor's first byte: its format.
const CURSOR_V1: u8 = 1;
/// Version, seconds (i64), nanoseconds (u32), trip id (16 bytes).
const CURSOR_LEN: usize = 1 + 8 + 4 + 16;
/// Longest cursor text looked at (a v1 cursor is 39 characters).
const MAX_CURSOR_CHARS: usize = 64;

/// A validated `GET /api/trips` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TripListParams {
    /// `status`: `active`, `finished` or `all` (the default).
    pub filter: TripFilter,
    /// `limit`: 1 to [`MAX_PAGE`], default [`DEFAULT_PAGE`]. Larger values are refused, not
    /// clamped, so a client never believes it got everything it asked for.
    pub limit: usize,
    /// `cursor`: where the page starts (the `nextCursor` of the previous page).
    pub after: Option<TripKey>,
}

/// Parses `status`, `limit` and `cursor`, naming every bad one.
///
/// # Errors
/// Each parameter given with a value it does not take.
pub fn parse_trip_list_query(
    query: &HashMap<String, String>,
) -> Result<TripListParams, FieldErrors> {
    let mut errors = FieldErrors::new();
    let filter = match query.get("status").map(|s| s.trim()) {
        None => Some(TripFilter::default()),
        Some(s) => errors.check(
            "status",
            TripFilter::parse(s).map_err(|_| "must be active, finished or all"),
        ),
    };
    let limit = match query.get("limit").map(|s| s.trim()) {
        None => Some(DEFAULT_PAGE),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_PAGE}"),
                );
                None
            }
        },
    };
    let after = match query.get("cursor").map(|s| s.trim()) {
        None => Some(None),
        Some(s) => errors
            .check(
                "cursor",
                decode_cursor(s).ok_or("must be a nextCursor this API returned"),
            )
            .map(Some),
    };
    match (filter, limit, after) {
        (Some(filter), Some(limit), Some(after)) if errors.is_empty() => Ok(TripListParams {
            filter,
            limit,
            after,
        }),
        _ => Err(errors),
    }
}

/// The cursor of a page boundary.
pub fn encode_cursor(key: &TripKey) -> String {
    let mut bytes = Vec::with_capacity(CURSOR_LEN);
    bytes.push(CURSOR_V1);
    bytes.extend_from_slice(&key.requested_at.unix_timestamp().to_be_bytes());
    bytes.extend_from_slice(&key.requested_at.nanosecond().to_be_bytes());
    bytes.extend_from_slice(key.id.as_uuid().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The page boundary a cursor names; `None` for anything [`encode_cursor`] did not make.
pub fn decode_cursor(text: &str) -> Option<TripKey> {
    if text.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let [CURSOR_V1, rest @ ..] = bytes.as_slice() else {
        return None;
    };
    if rest.len() != CURSOR_LEN - 1 {
        return None;
    }
    let (seconds, rest) = rest.split_at(8);
    let (nanos, id) = rest.split_at(4);
    let seconds = i64::from_be_bytes(seconds.try_into().ok()?);
    let nanos = u32::from_be_bytes(nanos.try_into().ok()?);
    let requested_at = OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .replace_nanosecond(nanos)
        .ok()?;
    let id = TripId::from_uuid(Uuid::from_slice(id).ok()?);
    Some(TripKey { requested_at, id })
}

/// `GET /api/trips`: one page, newest request first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TripPage)]
pub struct TripPageBody {
    /// The trips of this page, newest request first (the id breaking ties).
    items: Vec<TripBody>,
    /// Pass as `cursor` for the next page; `null` on the last page. Opaque: its form may change.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl From<&TripPage> for TripPageBody {
    fn from(page: &TripPage) -> Self {
        Self {
            items: page.trips.iter().map(TripBody::from).collect(),
            next_cursor: page.next.as_ref().map(encode_cursor),
        }
    }
}

/// Parses the `admin:trips:snapshot` payload `{watch?: boolean}` (none, `null` and `{}` are
/// `{watch: false}`).
///
/// # Errors
/// Unknown fields, or a `watch` that is not a boolean.
pub fn parse_snapshot_request(payload: Option<&Value>) -> Result<bool, FieldErrors> {
    let Some(payload) = payload.filter(|p| !p.is_null()) else {
        return Ok(false);
    };
    let mut r = ObjectReader::new(payload, "payload")?;
    r.deny_unknown(SNAPSHOT_FIELDS);
    let watch = match r.raw(&["watch"]) {
        None => false,
        Some((Value::Bool(b), _)) => *b,
        Some((other, _)) => {
            r.error(
                "watch",
                format!("must be true or false, not {}", kind(other)),
            );
            false
        }
    };
    r.finish().into_result(|| watch)
}

/// The `data` of the `admin:trips:snapshot` ack: every trip in flight, for a dashboard's first
/// paint.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = TripsSnapshot)]
pub struct TripsSnapshot {
    /// Trips not finished (`pending` to `in_progress`), newest request first, at most 500.
    trips: Vec<TripBody>,
    /// More trips are in flight than listed (the oldest were left out); page through
    /// `GET /api/trips?status=active` for all of them.
    truncated: bool,
}

impl TripsSnapshot {
    /// `trips` in flight; `truncated` when more were left out.
    pub fn new(trips: &[Trip], truncated: bool) -> Self {
        Self {
            trips: trips.iter().map(TripBody::from).collect(),
            truncated,
        }
    }

    /// The most trips one snapshot lists.
    pub const LIMIT: usize = MAX_IN_FLIGHT;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::testing::{fields, query};
    use time::macros::datetime;

    fn key() -> TripKey {
        TripKey {
            requested_at: datetime!(2026-05-01 10:00:00.123456789 UTC),
            id: TripId::parse("0196a1b2-0000-7000-8000-0000000070a1").unwrap(),
        }
    }

    #[test]
    fn a_cursor_round_trips_to_the_nanosecond_and_nothing_else_decodes() {
        let cursor = encode_cursor(&key());
        assert_eq!(cursor.len(), 39);
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(decode_cursor(&cursor), Some(key()));
        let mut other_version = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        other_version[0] = 2;
        for bad in [
            String::new(),
            "x".into(),
            "not base64!".into(),
            format!("{cursor}A"),
            cursor[..38].to_owned(),
            URL_SAFE_NO_PAD.encode(other_version),
            "A".repeat(10_000),
        ] {
            assert_eq!(decode_cursor(&bad), None, "{bad}");
        }
        // Out-of-range nanoseconds are refused, not wrapped.
        let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        bytes[9..13].copy_from_slice(&2_000_000_000u32.to_be_bytes());
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode(bytes)), None);
    }

    #[test]
    fn the_query_takes_defaults_and_names_every_bad_parameter() {
        let p = parse_trip_list_query(&query(&[("_", "1")])).unwrap();
        assert_eq!(
            p,
            TripListParams {
                filter: TripFilter::All,
                limit: DEFAULT_PAGE,
                after: None
            }
        );
        let cursor = encode_cursor(&key());
        let p = parse_trip_list_query(&query(&[
            ("status", "finished"),
            ("limit", "100"),
            ("cursor", &cursor),
        ]))
        .unwrap();
        assert_eq!(
            (p.filter, p.limit, p.after),
            (TripFilter::Finished, 100, Some(key()))
        );
        let e = parse_trip_list_query(&query(&[
            ("status", "done"),
            ("limit", "101"),
            ("cursor", "nope"),
        ]))
        .unwrap_err();
        assert_eq!(fields(e), ["status", "limit", "cursor"]);
        for limit in ["0", "-1", "2.5", "", "1e3", "99999999999999999999999"] {
            let e = parse_trip_list_query(&query(&[("limit", limit)])).unwrap_err();
            assert_eq!(fields(e), ["limit"], "{limit}");
        }
    }

    #[test]
    fn the_snapshot_payload_takes_an_optional_watch() {
        use serde_json::json;
        assert_eq!(parse_snapshot_request(None), Ok(false));
        assert_eq!(parse_snapshot_request(Some(&Value::Null)), Ok(false));
        assert_eq!(parse_snapshot_request(Some(&json!({}))), Ok(false));
        assert_eq!(
            parse_snapshot_request(Some(&json!({"watch": true}))),
            Ok(true)
        );
        let e = parse_snapshot_request(Some(&json!({"watch": "yes", "all": 1}))).unwrap_err();
        assert_eq!(fields(e), ["all", "watch"]);
        assert!(parse_snapshot_request(Some(&json!([]))).is_err());
    }
}
