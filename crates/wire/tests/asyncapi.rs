//! `docs/asyncapi.yaml` publishes exactly the events of [`rodando_wire::events`]: each inbound
//! event as a `receive` operation (with its ack as the reply) and each outbound event as a
//! `send` operation, on the channel of every namespace that handles or emits it, and nothing
//! the server does not do. The document must also keep the AsyncAPI 3 shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use rodando_wire::events::{INBOUND, NAMESPACES, NamespaceEvents, OUTBOUND};
use serde_json::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/asyncapi.yaml is readable");
    yaml_serde::from_str(&text).expect("docs/asyncapi.yaml is YAML")
}

/// Follows a local `$ref` (`#/a/b`), repeatedly, to the object it names.
fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(target) = node.get("$ref").and_then(Value::as_str) else {
            return node;
        };
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are used: {target}"));
        node = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {target}"));
    }
    panic!("reference chain too long at {node}");
}

/// The key of the channel whose address is the namespace's path.
fn channel_key<'a>(doc: &'a Value, ns: &NamespaceEvents) -> &'a str {
    let channels = doc["channels"].as_object().expect("channels is a map");
    let keys: Vec<&str> = channels
        .iter()
        .filter(|(_, c)| c["address"] == ns.namespace.path())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "exactly one channel has address {}",
        ns.namespace.path()
    );
    keys[0]
}

/// Event names of the messages an operation (or its reply) lists.
fn message_names(doc: &Value, list: &Value) -> Vec<String> {
    list.as_array()
        .expect("messages is a list")
        .iter()
        .map(|m| {
            let m = resolve(doc, m);
            m["name"]
                .as_str()
                .unwrap_or_else(|| panic!("an event message names its event: {m}"))
                .to_owned()
        })
        .collect()
}

/// `(action, event names)` of every operation on channel `key`.
fn operations_on(doc: &Value, key: &str) -> Vec<(String, Vec<String>, Option<Value>)> {
    let target = format!("#/channels/{key}");
    doc["operations"]
        .as_object()
        .expect("operations is a map")
        .values()
        .filter(|op| op["channel"]["$ref"] == target.as_str())
        .map(|op| {
            let action = op["action"].as_str().expect("an action").to_owned();
            assert!(
                action == "send" || action == "receive",
                "action is send or receive: {op}"
            );
            (
                action,
                message_names(doc, &op["messages"]),
                op.get("reply").cloned(),
            )
        })
        .collect()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn the_document_has_the_asyncapi_3_shape() {
    let doc = document();
    let version = doc["asyncapi"].as_str().expect("asyncapi: version");
    assert!(version.starts_with("3."), "AsyncAPI 3, not {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["defaultContentType"], "application/json");
    assert_eq!(doc["channels"].as_object().map(|c| c.len()), Some(3));
    for ns in NAMESPACES {
        let key = channel_key(&doc, &ns);
        let channel = &doc["channels"][key];
        for message in channel["messages"].as_object().expect("messages").values() {
            let message = resolve(&doc, message);
            assert!(
                message["payload"].is_object(),
                "every message has a payload: {message}"
            );
            resolve(&doc, &message["payload"]);
        }
    }
}

#[test]
fn every_event_the_server_handles_or_emits_is_published_on_its_namespace() {
    let doc = document();
    for ns in NAMESPACES {
        let key = channel_key(&doc, &ns);
        let ops = operations_on(&doc, key);
        let received = set(ops
            .iter()
            .filter(|(a, ..)| a == "receive")
            .flat_map(|(_, names, _)| names.iter().map(String::as_str)));
        let sent = set(ops
            .iter()
            .filter(|(a, ..)| a == "send")
            .flat_map(|(_, names, _)| names.iter().map(String::as_str)));
        let ns_name = ns.namespace.path();
        assert_eq!(
            received,
            set(ns.inbound.iter().copied()),
            "receive operations of {ns_name}"
        );
        assert_eq!(
            sent,
            set(ns.outbound.iter().copied()),
            "send operations of {ns_name}"
        );
    }
}

#[test]
fn every_inbound_operation_describes_its_ack() {
    let doc = document();
    for ns in NAMESPACES {
        let key = channel_key(&doc, &ns);
        for (action, names, reply) in operations_on(&doc, key) {
            if action != "receive" {
                assert!(reply.is_none(), "server events have no ack: {names:?}");
                continue;
            }
            let reply = reply.unwrap_or_else(|| panic!("{names:?} on {key} has no reply"));
            for ack in reply["messages"].as_array().expect("reply messages") {
                let ack = resolve(&doc, ack);
                assert_eq!(ack["x-socketio-ack"], true, "{names:?}: {ack}");
                let payload = resolve(&doc, &ack["payload"]);
                let shapes = payload["oneOf"].as_array().expect("ok | failure");
                assert_eq!(shapes.len(), 2, "{names:?}: ok or failure");
            }
        }
    }
}

#[test]
fn channels_carry_only_the_events_of_their_namespace_and_their_acks() {
    let doc = document();
    let published: BTreeSet<String> = set(INBOUND.iter().chain(OUTBOUND).copied());
    for ns in NAMESPACES {
        let key = channel_key(&doc, &ns);
        let mut events = BTreeSet::new();
        for message in doc["channels"][key]["messages"]
            .as_object()
            .expect("messages")
            .values()
        {
            let message = resolve(&doc, message);
            match message["name"].as_str() {
                Some(name) => {
                    assert!(published.contains(name), "{name} is not an event");
                    events.insert(name.to_owned());
                }
                None => assert_eq!(message["x-socketio-ack"], true, "unnamed: {message}"),
            }
        }
        let expected = set(ns.inbound.iter().chain(ns.outbound).copied());
        assert_eq!(events, expected, "messages of {}", ns.namespace.path());
    }
}
