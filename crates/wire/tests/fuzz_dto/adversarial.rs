//! Adversarial JSON: the values a hostile or broken client can put in a payload once
//! serde_json has read it (which already refuses NaN, `1e309` and nesting past 128 levels).

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

/// Deepest nesting serde_json accepts when reading a payload (its recursion limit is 128).
const MAX_DEPTH: usize = 127;

/// Numbers at the edges: huge, tiny, negative zero, integers past `f64`'s precision, and
/// values just outside the contract's ranges.
pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        (-200.0_f64..200.0).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            json!(0),
            json!(-0.0),
            json!(1e308),
            json!(-1e308),
            json!(f64::MAX),
            json!(f64::MIN_POSITIVE),
            json!(5e-324),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(90.000_000_1),
            json!(-180.000_000_1),
            json!(360.000_001),
            json!(1_777_000_000_000_i64),
            json!(-62_135_596_800_001_i64),
            json!(253_402_300_800_000_i64),
        ]),
    ]
}

/// Strings that look like something else, strings of every script and control character,
/// and strings longer than any limit.
pub fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "NaN",
            "Infinity",
            "-Infinity",
            "1e309",
            "23.1",
            "-0",
            "0x10",
            "null",
            "true",
            "AVAILABLE",
            "available",
            "BUSY ",
            "OFFLINE",
            "driver_app",
            "admin_panel",
            "passenger_app",
            "web",
            "mobile_app",
            "card",
            "cash",
            "bitcoin",
            "6f9619ff-8b86-4011-b42d-00c04fc964ff",
            "6F9619FF-8B86-4011-B42D-00C04FC964FF",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}",
            "6f9619ff8b864011b42d00c04fc964ff",
            "urn:uuid:6f9619ff-8b86-4011-b42d-00c04fc964ff",
            "2026-05-01T10:00:00Z",
            "2026-05-01T10:00:00.123456789+02:00",
            "9999-12-31T23:59:59-23:59",
            "0000-01-01T00:00:00+23:59",
            "2026-02-30T10:00:00Z",
            "2026-05-01 10:00:00",
            "driver1@rodando.local",
            "+53 5000 0011",
            "a@b",
            "@.",
            "Bearer abc",
            "\u{0}",
            "\u{202e}evil",
            "e\u{301}\u{301}\u{301}",
            "🚕🚕",
            "\r\n",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,40}",
        "[\\p{Cc}\\p{Cf}\\p{Zs} a-z0-9]{0,40}",
        any::<String>(),
        (
            prop::sample::select(vec!['x', ' ', 'é', '\u{7}', '🚕']),
            250_usize..1_100
        )
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

/// Any scalar.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
}

/// Object keys: the contract's own names (and near misses), so the parsers' field lookups are
/// hit, plus anything at all.
pub fn key(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(str::to_owned),
        1 => prop::sample::select(known).prop_map(|k| k.to_uppercase()),
        1 => "\\PC{0,12}",
        1 => "[a-z]{200,300}",
    ]
}

/// Any JSON value, with objects keyed mostly by `known` names.
pub fn value(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let tree = leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(known), inner), 0..7)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop_oneof![
        8 => tree,
        1 => deep(),
    ]
}

/// A leaf wrapped in up to [`MAX_DEPTH`] arrays or objects.
pub fn deep() -> impl Strategy<Value = Value> {
    (leaf(), prop::collection::vec(any::<bool>(), 1..=MAX_DEPTH)).prop_map(|(leaf, wraps)| {
        wraps.into_iter().fold(leaf, |inner, as_array| {
            if as_array {
                Value::Array(vec![inner])
            } else {
                json!({ "latitude": inner })
            }
        })
    })
}
