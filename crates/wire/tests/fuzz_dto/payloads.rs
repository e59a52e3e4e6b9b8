//! Near-valid payloads: a valid payload of each kind, then (most of the time) one mutation at
//! one object of it — a field removed, nulled, renamed, replaced by adversarial JSON, an
//! unknown field added, or the whole payload swapped or wrapped. Unmutated payloads must be
//! accepted; that is what proves the generators reach the parsers' happy paths.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::adversarial;

/// A payload and whether it is still exactly as generated (hence valid).
#[derive(Debug, Clone)]
pub struct Case {
    pub payload: Value,
    pub pristine: bool,
}

/// One change to one object of a payload.
#[derive(Debug, Clone)]
pub enum Mutation {
    Remove,
    Null,
    Replace(Value),
    Rename(String),
    Add(String, Value),
    WrapInArray,
    Whole(Value),
}

fn mutation(known: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Remove),
        Just(Mutation::Null),
        adversarial::value(known).prop_map(Mutation::Replace),
        adversarial::key(known).prop_map(Mutation::Rename),
        (adversarial::key(known), adversarial::value(known)).prop_map(|(k, v)| Mutation::Add(k, v)),
        Just(Mutation::WrapInArray),
        adversarial::value(known).prop_map(Mutation::Whole),
    ]
}

/// Valid payloads from `valid`, a fifth of them untouched and the rest mutated once.
pub fn near_valid(
    valid: impl Strategy<Value = Value>,
    known: &'static [&'static str],
) -> impl Strategy<Value = Case> {
    (
        valid,
        prop::option::weighted(
            0.8,
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                mutation(known),
            ),
        ),
    )
        .prop_map(|(payload, change)| match change {
            None => Case {
                payload,
                pristine: true,
            },
            Some((node, field, m)) => Case {
                payload: mutate(payload, node, field, m),
                pristine: false,
            },
        })
}

/// Applies `m` to one object of `payload` (the root or a nested one) and one of its fields.
fn mutate(
    mut payload: Value,
    node: prop::sample::Index,
    field: prop::sample::Index,
    m: Mutation,
) -> Value {
    match m {
        Mutation::Whole(v) => return v,
        Mutation::WrapInArray => return Value::Array(vec![payload]),
        _ => {}
    }
    let mut pointers = Vec::new();
    objects(&payload, String::new(), &mut pointers);
    let pointer = node.get(&pointers).clone();
    let Some(Value::Object(map)) = payload.pointer_mut(&pointer) else {
        return payload;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    let key = (!keys.is_empty()).then(|| field.get(&keys).clone());
    match (m, key) {
        (Mutation::Add(k, v), _) => {
            map.insert(k, v);
        }
        (Mutation::Remove, Some(k)) => {
            map.remove(&k);
        }
        (Mutation::Null, Some(k)) => {
            map.insert(k, Value::Null);
        }
        (Mutation::Replace(v), Some(k)) => {
            map.insert(k, v);
        }
        (Mutation::Rename(to), Some(k)) => {
            if let Some(v) = map.remove(&k) {
                map.insert(to, v);
            }
        }
        _ => {}
    }
    payload
}

/// JSON pointers of every object in `v`, the root first.
fn objects(v: &Value, at: String, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        out.push(at.clone());
        for (k, child) in map {
            let k = k.replace('~', "~0").replace('/', "~1");
            objects(child, format!("{at}/{k}"), out);
        }
    }
}

/// Adds `key: value` when `value` is `Some`.
fn with(mut object: Map<String, Value>, key: &str, value: Option<Value>) -> Map<String, Value> {
    if let Some(v) = value {
        object.insert(key.to_owned(), v);
    }
    object
}

pub fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

/// A printable reason or address: at most 300 characters, no control characters.
pub fn printable(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("printable", |c| !c.is_control()),
        0..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// A latitude/longitude pair that is not null island.
pub fn coordinates() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        (-90.0_f64..=90.0, -180.0_f64..=180.0),
        prop::sample::select(vec![
            (90.0, 180.0),
            (-90.0, -180.0),
            (0.0, 1e-9),
            (23.1136, -82.3666)
        ]),
    ]
    .prop_filter("not null island", |(lat, lon)| {
        !(*lat == 0.0 && *lon == 0.0)
    })
}

/// A time the contract can carry, as RFC 3339 with any offset.
pub fn rfc3339() -> impl Strategy<Value = String> {
    (
        0_i64..253_402_300_799,
        0_u32..1_000_000_000,
        -86_399_i32..=86_399,
    )
        .prop_filter_map("representable", |(secs, nanos, offset)| {
            let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
            let t = t.replace_nanosecond(nanos).ok()?;
            let offset = time::UtcOffset::from_whole_seconds(offset - offset % 60).ok()?;
            t.checked_to_offset(offset)?.format(&Rfc3339).ok()
        })
}

pub fn login() -> impl Strategy<Value = Value> {
    let identifier = prop_oneof![
        "[a-zA-Z0-9._%+-]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}".prop_map(|e| ("email", e)),
        "\\+?[0-9]{3}[ -]?[0-9]{4,12}".prop_map(|p| ("phoneNumber", p)),
    ];
    let device = prop_oneof![
        "[a-zA-Z0-9 ]{0,20}[a-z]".prop_map(Value::String),
        "[a-z]{1,10}".prop_map(|m| json!({"model": m, "os": "android 15"})),
    ];
    (
        identifier,
        "\\PC{1,64}",
        prop::sample::select(vec!["driver_app", "passenger_app", "admin_panel"]),
        prop::option::of(prop::sample::select(vec![
            "web",
            "mobile_app",
            "api_client",
        ])),
        prop::option::of(device),
    )
        .prop_map(|((id_field, id), password, audience, session, device)| {
            let mut o = Map::new();
            o.insert(id_field.to_owned(), json!(id));
            o.insert("password".to_owned(), json!(password));
            o.insert("appAudience".to_owned(), json!(audience));
            let o = with(o, "sessionType", session.map(|s| json!(s)));
            Value::Object(with(o, "deviceInfo", device))
        })
}

pub fn refresh() -> impl Strategy<Value = Value> {
    adversarial::string().prop_map(|t| json!({ "refreshToken": t }))
}

pub fn socket_refresh() -> impl Strategy<Value = Value> {
    (
        "[A-Za-z0-9_-]{10,40}\\.[A-Za-z0-9_-]{10,80}\\.[A-Za-z0-9_-]{10,43}",
        any::<bool>(),
    )
        .prop_map(|(token, extra)| {
            if extra {
                json!({"accessToken": token, "device": "x"})
            } else {
                json!({ "accessToken": token })
            }
        })
}

pub fn status_update() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["AVAILABLE", "BUSY", "OFFLINE"])
            .prop_map(|s| json!({ "availabilityStatus": s })),
        (any::<bool>(), prop::option::of(any::<bool>())).prop_map(|(online, available)| {
            match (online, available) {
                (true, None) => json!({"isOnline": true, "isAvailableForTrips": false}),
                (_, None) => json!({ "isOnline": online }),
                (_, Some(a)) => json!({"isOnline": online, "isAvailableForTrips": a}),
            }
        }),
    ]
}

pub fn location_ping() -> impl Strategy<Value = Value> {
    let recorded = prop_oneof![
        rfc3339().prop_map(Value::String),
        (0_i64..253_402_300_799_000).prop_map(|ms| json!(ms)),
    ];
    (
        coordinates(),
        any::<bool>(),
        prop::option::of(0.0_f64..=100_000.0),
        prop::option::of(0.0_f64..=360.0),
        prop::option::of(0.0_f64..=500.0),
        prop::option::of(recorded),
    )
        .prop_map(|((lat, lon), short, accuracy, heading, speed, recorded)| {
            let (la, lo) = if short {
                ("lat", "lng")
            } else {
                ("latitude", "longitude")
            };
            let mut o = Map::new();
            o.insert(la.to_owned(), json!(lat));
            o.insert(lo.to_owned(), json!(lon));
            let o = with(o, "accuracyMeters", accuracy.map(|v| json!(v)));
            let o = with(o, "heading", heading.map(|v| json!(v)));
            let o = with(o, "speedKph", speed.map(|v| json!(v)));
            Value::Object(with(o, "recordedAt", recorded))
        })
}

pub fn trip_set() -> impl Strategy<Value = Value> {
    (prop::option::of(uuid()), any::<bool>()).prop_map(|(id, alias)| {
        let field = if alias { "currentTripId" } else { "tripId" };
        let mut o = Map::new();
        o.insert(field.to_owned(), id.map_or(Value::Null, Value::String));
        Value::Object(o)
    })
}

fn place() -> impl Strategy<Value = Value> {
    (coordinates(), prop::option::of(printable(300))).prop_map(|((lat, lon), address)| {
        let mut o = Map::new();
        o.insert("latitude".to_owned(), json!(lat));
        o.insert("longitude".to_owned(), json!(lon));
        Value::Object(with(o, "address", address.map(Value::String)))
    })
}

pub fn trip_request() -> impl Strategy<Value = Value> {
    (
        place(),
        place(),
        prop::option::of(prop::sample::select(vec!["cash", "card"])),
    )
        .prop_map(|(pickup, dropoff, payment)| {
            let mut o = Map::new();
            o.insert("pickup".to_owned(), pickup);
            o.insert("dropoff".to_owned(), dropoff);
            Value::Object(with(o, "paymentMethod", payment.map(|p| json!(p))))
        })
}

/// `{<id_field>: uuid, reason?}`.
pub fn reference(id_field: &'static str) -> impl Strategy<Value = Value> {
    (uuid(), prop::option::of(printable(300))).prop_map(move |(id, reason)| {
        let mut o = Map::new();
        o.insert(id_field.to_owned(), json!(id));
        Value::Object(with(o, "reason", reason.map(Value::String)))
    })
}

pub fn cancel_body() -> impl Strategy<Value = Value> {
    prop::option::of(printable(300))
        .prop_map(|reason| Value::Object(with(Map::new(), "reason", reason.map(Value::String))))
}

pub fn complete_body() -> impl Strategy<Value = Value> {
    (
        prop::option::of(0.0_f64..=2_000.0),
        prop::option::of(0.0_f64..=1_440.0),
    )
        .prop_map(|(km, min)| {
            let o = with(Map::new(), "actualDistanceKm", km.map(|v| json!(v)));
            Value::Object(with(o, "actualDurationMin", min.map(|v| json!(v))))
        })
}

/// A valid `GET /api/drivers/available` query, then perhaps one parameter removed, replaced by
/// any text, or added.
pub fn nearby_query() -> impl Strategy<Value = (Vec<(String, String)>, bool)> {
    let valid = (
        coordinates(),
        prop::option::of(1.0_f64..=100_000.0),
        prop::option::of(1_u32..=500),
    )
        .prop_map(|((lat, lon), radius, limit)| {
            let mut q = vec![
                ("latitude".to_owned(), lat.to_string()),
                ("longitude".to_owned(), lon.to_string()),
            ];
            q.extend(radius.map(|r| ("radiusM".to_owned(), r.to_string())));
            q.extend(limit.map(|l| ("limit".to_owned(), l.to_string())));
            q
        });
    let names: &'static [&'static str] = &["latitude", "longitude", "radiusM", "limit", "_"];
    (
        valid,
        prop::option::weighted(
            0.8,
            (
                0_u8..3,
                any::<prop::sample::Index>(),
                adversarial::key(names),
                adversarial::string(),
            ),
        ),
    )
        .prop_map(|(mut q, change)| match change {
            None => (q, true),
            Some((kind, at, key, text)) => {
                let i = at.index(q.len());
                match kind {
                    0 => {
                        q.remove(i);
                    }
                    1 => q[i].1 = text,
                    _ => q.push((key, text)),
                }
                (q, false)
            }
        })
}
