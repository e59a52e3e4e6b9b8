//! The codec's rules, one test each.

#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn sio(text: &str) -> SioPacket {
    decode_sio(text).unwrap()
}

#[test]
fn engine_packets() {
    assert_eq!(decode_engine("0{}"), Ok(EnginePacket::Open("{}")));
    assert_eq!(decode_engine("1"), Ok(EnginePacket::Close));
    assert_eq!(decode_engine("2"), Ok(EnginePacket::Ping("")));
    assert_eq!(decode_engine("2probe"), Ok(EnginePacket::Ping("probe")));
    assert_eq!(decode_engine("3"), Ok(EnginePacket::Pong("")));
    assert_eq!(
        decode_engine("42[\"a\"]"),
        Ok(EnginePacket::Message("2[\"a\"]"))
    );
    assert_eq!(decode_engine("5"), Ok(EnginePacket::Upgrade));
    assert_eq!(decode_engine("6"), Ok(EnginePacket::Noop));
    assert!(decode_engine("").is_err());
    assert!(decode_engine("7").is_err());
    assert!(decode_engine("b4AAA").is_err());
    assert!(decode_engine("é").is_err());
}

#[test]
fn open_packet() {
    let open = decode_open(
        r#"{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    )
    .unwrap();
    assert_eq!(open.sid, "abc");
    assert_eq!(open.ping_interval, Duration::from_secs(25));
    assert_eq!(open.ping_timeout, Duration::from_secs(20));

    let defaults = decode_open(r#"{"sid":"x","pingInterval":"soon"}"#).unwrap();
    assert_eq!(defaults.ping_interval, Duration::from_secs(25));
    let clamped = decode_open(r#"{"sid":"x","pingTimeout":18446744073709551615}"#).unwrap();
    assert_eq!(clamped.ping_timeout, Duration::from_millis(MAX_PING_MS));

    assert!(decode_open("").is_err());
    assert!(decode_open("{").is_err());
    assert!(decode_open(r#"{"sid":5}"#).is_err());
    assert!(decode_open("[]").is_err());
}

#[test]
fn connect_and_disconnect_encoding() {
    assert_eq!(encode_connect("/", None), "40");
    assert_eq!(
        encode_connect("/", Some(&json!({"token": "t"}))),
        r#"40{"token":"t"}"#
    );
    assert_eq!(
        encode_connect("/drivers", Some(&json!({"token": "t"}))),
        r#"40/drivers,{"token":"t"}"#
    );
    assert_eq!(encode_connect("/drivers", None), "40/drivers,");
    assert_eq!(encode_disconnect("/drivers"), "41/drivers,");
    assert_eq!(encode_disconnect("/"), "41");
}

#[test]
fn event_encoding() {
    assert_eq!(encode_event("/", None, "hi", &[]), r#"42["hi"]"#);
    assert_eq!(
        encode_event("/drivers", None, "loc", &[json!({"lat": 1.5}), json!(2)]),
        r#"42/drivers,["loc",{"lat":1.5},2]"#
    );
    assert_eq!(
        encode_event("/drivers", Some(7), "loc", &[json!("a")]),
        r#"42/drivers,7["loc","a"]"#
    );
    assert_eq!(
        encode_event("/", Some(0), "x", &[json!(null)]),
        r#"420["x",null]"#
    );
    // Names are JSON-escaped.
    assert_eq!(encode_event("/", None, "a\"b", &[]), r#"42["a\"b"]"#);
}

#[test]
fn binary_event_header() {
    assert_eq!(
        encode_binary_event("/drivers", None, "ev"),
        r#"451-/drivers,["ev",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(
        encode_binary_event("/", Some(3), "ev"),
        r#"451-3["ev",{"_placeholder":true,"num":0}]"#
    );
    // What we encode, we decode.
    let p = sio(&encode_binary_event("/drivers", Some(3), "ev")[1..]);
    assert_eq!(p.kind, PacketType::BinaryEvent);
    assert_eq!(p.attachments, 1);
    assert_eq!(p.namespace, "/drivers");
    assert_eq!(p.ack_id, Some(3));
}

#[test]
fn decode_namespace_vs_root() {
    let p = sio(r#"2/drivers,["ev",1]"#);
    assert_eq!(p.kind, PacketType::Event);
    assert_eq!(p.namespace, "/drivers");
    assert_eq!(p.ack_id, None);
    assert_eq!(p.payload, Some(json!(["ev", 1])));

    let p = sio(r#"2["ev",1]"#);
    assert_eq!(p.namespace, "/");
    assert_eq!(p.payload, Some(json!(["ev", 1])));

    let p = sio("1/drivers,");
    assert_eq!(p.kind, PacketType::Disconnect);
    assert_eq!(p.namespace, "/drivers");
    assert_eq!(p.payload, None);

    // A namespace without the trailing comma runs to the end.
    let p = sio("1/drivers");
    assert_eq!(p.namespace, "/drivers");
    assert_eq!(p.payload, None);

    let p = sio("1");
    assert_eq!(p.kind, PacketType::Disconnect);
    assert_eq!(p.namespace, "/");
}

#[test]
fn decode_ack_ids() {
    let p = sio(r#"3/drivers,7[{"ok":true}]"#);
    assert_eq!(p.kind, PacketType::Ack);
    assert_eq!(p.ack_id, Some(7));
    assert_eq!(ack_args(p.payload).unwrap(), vec![json!({"ok": true})]);

    let p = sio("3123[]");
    assert_eq!(p.namespace, "/");
    assert_eq!(p.ack_id, Some(123));
    assert_eq!(ack_args(p.payload).unwrap(), Vec::<Value>::new());

    let p = sio(r#"2/drivers,42["ev"]"#);
    assert_eq!(p.ack_id, Some(42));

    assert!(decode_sio("399999999999999999999999[]").is_err());
    assert!(ack_args(Some(json!({"a": 1}))).is_err());
    assert!(ack_args(None).is_err());
}

#[test]
fn decode_connect_reply_and_error() {
    let p = sio(r#"0/drivers,{"sid":"s1"}"#);
    assert_eq!(p.kind, PacketType::Connect);
    assert_eq!(connect_sid(p.payload.as_ref()).unwrap(), "s1");
    assert!(connect_sid(None).is_err());
    assert!(connect_sid(Some(&json!({"sid": 1}))).is_err());

    let p = sio(r#"4/drivers,{"message":"invalid_token","data":{"reason":"expired"}}"#);
    assert_eq!(p.kind, PacketType::ConnectError);
    let (message, data) = connect_error(p.payload);
    assert_eq!(message, "invalid_token");
    assert_eq!(
        data,
        json!({"message": "invalid_token", "data": {"reason": "expired"}})
    );

    let (message, data) = connect_error(sio(r#"4"nope""#).payload);
    assert_eq!(message, "nope");
    assert_eq!(data, json!("nope"));
    let (message, data) = connect_error(None);
    assert_eq!(message, "");
    assert_eq!(data, Value::Null);
    let (message, _) = connect_error(Some(json!({"message": 5})));
    assert_eq!(message, "5");
}

#[test]
fn decode_binary_packets() {
    let p = sio(r#"52-/drivers,9["ev",{"_placeholder":true,"num":1}]"#);
    assert_eq!(p.kind, PacketType::BinaryEvent);
    assert_eq!(p.attachments, 2);
    assert_eq!(p.namespace, "/drivers");
    assert_eq!(p.ack_id, Some(9));

    let p = sio(r#"61-3[{"_placeholder":true,"num":0}]"#);
    assert_eq!(p.kind, PacketType::BinaryAck);
    assert_eq!(p.attachments, 1);
    assert_eq!(p.namespace, "/");
    assert_eq!(p.ack_id, Some(3));

    assert!(decode_sio(r#"5["ev"]"#).is_err());
    assert!(decode_sio(r#"5-["ev"]"#).is_err());
    assert!(decode_sio(r#"51["ev"]"#).is_err());
    assert!(decode_sio("599999999999999999999999999-").is_err());
    assert!(decode_sio("51025-").is_err());
}

#[test]
fn placeholders_are_filled() {
    let attachments = vec![vec![1u8, 2], vec![255u8]];
    let value =
        json!(["ev", {"a": {"_placeholder": true, "num": 1}}, {"_placeholder": true, "num": 0}]);
    assert_eq!(
        fill_placeholders(value, &attachments).unwrap(),
        json!(["ev", {"a": [255]}, [1, 2]])
    );
    // `_placeholder` must be exactly `true` to count.
    let not_placeholder = json!({"_placeholder": "true", "num": 0});
    assert_eq!(
        fill_placeholders(not_placeholder.clone(), &attachments).unwrap(),
        not_placeholder
    );
    assert!(fill_placeholders(json!({"_placeholder": true, "num": 2}), &attachments).is_err());
    assert!(fill_placeholders(json!({"_placeholder": true, "num": -1}), &attachments).is_err());
    assert!(fill_placeholders(json!({"_placeholder": true}), &attachments).is_err());
}

#[test]
fn split_events() {
    assert_eq!(
        split_event(Some(json!(["ev", 1, {"b": 2}]))).unwrap(),
        ("ev".to_owned(), vec![json!(1), json!({"b": 2})])
    );
    assert_eq!(
        split_event(Some(json!(["ev"]))).unwrap(),
        ("ev".to_owned(), vec![])
    );
    assert!(split_event(Some(json!([]))).is_err());
    assert!(split_event(Some(json!([1, 2]))).is_err());
    assert!(split_event(Some(json!({"ev": 1}))).is_err());
    assert!(split_event(None).is_err());
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "2",
        "2/",
        "2/,",
        "2/drivers,",
        "2/drivers,x",
        "2/drivers,[",
        "2[\"x\"",
        "9",
        "x",
        "é",
        "2é",
        "2/é,[\"x\"]",
        "2/drivers,7",
        "27",
        "5",
        "5-",
        "55",
        "51-/",
        "2,[]",
        "2/drivers,1234567890123456789012345678901234567890[\"x\"]",
        "0/drivers,null",
        "3/drivers,[",
        "2]]]]",
        "2\u{0}",
        "4/x,{\"message\":",
    ];
    for input in inputs {
        if let Ok(packet) = decode_sio(input) {
            let _ = split_event(packet.payload.clone());
            let _ = ack_args(packet.payload.clone());
            let _ = connect_sid(packet.payload.as_ref());
            let _ = connect_error(packet.payload);
        }
        let _ = decode_engine(input);
        let _ = decode_open(input);
    }
    // Valid oddities: the namespace swallows the rest when there is no comma.
    assert_eq!(sio(r#"2/drivers["x"]"#).namespace, r#"/drivers["x"]"#);
    assert!(decode_sio(r#"2/drivers,["x""#).is_err());
    assert!(decode_sio("2/drivers,x").is_err());
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let deep = format!("2[{}{}", "[".repeat(100_000), "]".repeat(100_001));
    assert!(decode_sio(&deep).is_err());
}

#[test]
fn namespaces_are_normalized() {
    assert_eq!(normalize_namespace(""), "/");
    assert_eq!(normalize_namespace("/"), "/");
    assert_eq!(normalize_namespace("drivers"), "/drivers");
    assert_eq!(normalize_namespace("/drivers"), "/drivers");
}

#[test]
fn websocket_urls() {
    let suffix = "/socket.io/?EIO=4&transport=websocket";
    for (base, expected) in [
        ("http://127.0.0.1:3000", "ws://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/", "ws://127.0.0.1:3000"),
        ("HTTPS://example.com", "wss://example.com"),
        ("ws://h:1/prefix", "ws://h:1/prefix"),
        ("h:1", "ws://h:1"),
    ] {
        assert_eq!(
            websocket_url(base).unwrap(),
            format!("{expected}{suffix}"),
            "{base}"
        );
    }
    for bad in ["http://", "", "http://h:1/?x=1"] {
        assert!(websocket_url(bad).is_err(), "{bad:?}");
    }
}
