//! `docs/asyncapi.yaml` publishes exactly the events of [`rodando_wire::events`]: each inbound
//! event as a `receive` operation (with its ack as the reply) and each outbound event as a
//! `send` operation, on the channel of every namespace that handles or emits it, and nothing
//! the server does not do. The document must also keep the AsyncAPI 3 shape.
//!
//! Every outbound payload is a typed struct of the wire crate, and each one's `ToSchema` is
//! held to the documented schema of its event or ack, field by field: the same property names,
//! the same required ones, the same JSON types (nullability included), recursively through
//! nested objects and arrays, and the same enumerations where both sides enumerate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use rodando_wire::ack::{AckFailure, Exception};
use rodando_wire::availability::{
    AvailabilitySnapshot, DriversSnapshot, LocationUpdate, TripUpdate,
};
use rodando_wire::en_route::DriverEnRoute;
use rodando_wire::events::{self as names, INBOUND, NAMESPACES, NamespaceEvents, OUTBOUND};
use rodando_wire::resync::TripSyncBody;
use rodando_wire::session::{
    AuthRefreshAck, Hello, NotificationBody, SessionRef, SessionRefreshed, SessionRevoked,
};
use rodando_wire::trip_lists::TripsSnapshot;
use rodando_wire::trips::{
    ArrivingStarted, DriverAssigned, DriverStep, NoDriversFound, OfferClosed, OfferRejected,
    TripAt, TripBody, TripCancelled, TripCompleted, TripOffered, TripRequested, TripWatch,
};
use serde_json::Value;
use utoipa::ToSchema;

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

// ---- Typed payloads against their documented schemas -------------------------------------

/// Where a typed payload is documented.
#[derive(Debug, Clone, Copy)]
enum Documented {
    /// The payload of the message of this server event.
    Event(&'static str),
    /// `data` of the successful ack of this client event (`{ok: true, data}`).
    AckData(&'static str),
    /// The whole successful ack of this client event (`auth:refresh`, whose ack has fields of
    /// its own beside `data`).
    Ack(&'static str),
    /// The failed ack of this client event (`{ok: false, error}`).
    AckFailure(&'static str),
}

/// A Rust payload's schema: the root and every component it names, as JSON.
struct RustSchema {
    type_name: String,
    root: Value,
    components: BTreeMap<String, Value>,
}

fn rust<T: ToSchema>() -> RustSchema {
    let mut schemas = Vec::new();
    T::schemas(&mut schemas);
    RustSchema {
        type_name: std::any::type_name::<T>().to_owned(),
        root: serde_json::to_value(T::schema()).unwrap(),
        components: schemas
            .into_iter()
            .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap()))
            .collect(),
    }
}

/// Every outbound payload and where the contract documents it.
fn typed_payloads() -> Vec<(Documented, RustSchema)> {
    use Documented::{Ack, AckData, Event};
    let failures = INBOUND
        .iter()
        .map(|event| (Documented::AckFailure(event), rust::<AckFailure>()));
    vec![
        (Event(names::EXCEPTION), rust::<Exception>()),
        (Event(names::HELLO), rust::<Hello>()),
        (Event(names::NOTIFICATION), rust::<NotificationBody>()),
        (Event(names::AUTH_TOKEN_EXPIRED), rust::<SessionRef>()),
        (Event(names::AUTH_SESSION_REVOKED), rust::<SessionRevoked>()),
        (
            Event(names::AUTH_SESSION_REFRESHED),
            rust::<SessionRefreshed>(),
        ),
        (
            Event(names::DRIVER_AVAILABILITY_UPDATE),
            rust::<AvailabilitySnapshot>(),
        ),
        (
            Event(names::DRIVER_LOCATION_UPDATE),
            rust::<LocationUpdate>(),
        ),
        (Event(names::DRIVER_TRIP_UPDATE), rust::<TripUpdate>()),
        (Event(names::TRIP_REQUESTED), rust::<TripRequested>()),
        (Event(names::TRIP_ASSIGNING_STARTED), rust::<TripAt>()),
        (Event(names::TRIP_ASSIGNMENT_OFFERED), rust::<TripOffered>()),
        (
            Event(names::TRIP_ASSIGNMENT_ACCEPTED),
            rust::<OfferClosed>(),
        ),
        (
            Event(names::TRIP_ASSIGNMENT_REJECTED),
            rust::<OfferClosed>(),
        ),
        (Event(names::TRIP_ASSIGNMENT_EXPIRED), rust::<OfferClosed>()),
        (
            Event(names::TRIP_NO_DRIVERS_FOUND),
            rust::<NoDriversFound>(),
        ),
        (Event(names::TRIP_DRIVER_ASSIGNED), rust::<DriverAssigned>()),
        (
            Event(names::TRIP_ARRIVING_STARTED),
            rust::<ArrivingStarted>(),
        ),
        (Event(names::TRIP_DRIVER_EN_ROUTE), rust::<DriverEnRoute>()),
        (
            Event(names::TRIP_DRIVER_ARRIVED_PICKUP),
            rust::<DriverStep>(),
        ),
        (Event(names::TRIP_STARTED), rust::<DriverStep>()),
        (Event(names::TRIP_COMPLETED), rust::<TripCompleted>()),
        (Event(names::TRIP_CANCELLED), rust::<TripCancelled>()),
        (Ack(names::AUTH_REFRESH), rust::<AuthRefreshAck>()),
        (
            AckData(names::DRIVER_STATUS_UPDATE),
            rust::<AvailabilitySnapshot>(),
        ),
        (
            AckData(names::DRIVER_LOCATION_PING),
            rust::<AvailabilitySnapshot>(),
        ),
        (
            AckData(names::DRIVER_TRIP_SET),
            rust::<AvailabilitySnapshot>(),
        ),
        (AckData(names::DRIVER_OFFER_ACCEPT), rust::<TripBody>()),
        (AckData(names::DRIVER_OFFER_REJECT), rust::<OfferRejected>()),
        (AckData(names::TRIP_REQUEST), rust::<TripBody>()),
        (AckData(names::TRIP_CANCEL), rust::<TripBody>()),
        (
            AckData(names::ADMIN_DRIVERS_SNAPSHOT),
            rust::<DriversSnapshot>(),
        ),
        (AckData(names::ADMIN_TRIP_WATCH), rust::<TripWatch>()),
        (
            AckData(names::ADMIN_TRIPS_SNAPSHOT),
            rust::<TripsSnapshot>(),
        ),
        (AckData(names::ADMIN_TRIP_UNWATCH), rust::<TripWatch>()),
        (AckData(names::TRIP_SYNC), rust::<TripSyncBody>()),
    ]
    .into_iter()
    .chain(failures)
    .collect()
}

/// The documented schema of `what`, with where it was found.
fn documented(doc: &Value, what: Documented) -> (&Value, String) {
    let message_named = |event: &str| {
        doc["components"]["messages"]
            .as_object()
            .expect("components.messages")
            .values()
            .find(|m| m["name"] == event)
            .unwrap_or_else(|| panic!("{event} has no message"))
    };
    match what {
        Documented::Event(event) => (
            resolve(doc, &message_named(event)["payload"]),
            format!("payload of {event}"),
        ),
        Documented::Ack(event) | Documented::AckData(event) | Documented::AckFailure(event) => {
            // The reply of the first receive operation of `event`; every namespace that
            // handles it publishes the same ack (checked below).
            let op = doc["operations"]
                .as_object()
                .expect("operations")
                .values()
                .find(|op| {
                    op["action"] == "receive"
                        && message_names(doc, &op["messages"])
                            .iter()
                            .any(|n| n == event)
                })
                .unwrap_or_else(|| panic!("{event} has no receive operation"));
            let ack = resolve(doc, &op["reply"]["messages"][0]);
            let shapes = resolve(doc, &ack["payload"]);
            let succeeded = !matches!(what, Documented::AckFailure(_));
            let ok = shapes["oneOf"]
                .as_array()
                .expect("ok | failure")
                .iter()
                .map(|s| resolve(doc, s))
                .find(|s| s["properties"]["ok"]["const"] == succeeded)
                .unwrap_or_else(|| panic!("the ack of {event} has no ok = {succeeded} shape"));
            match what {
                Documented::AckData(_) => (
                    resolve(doc, &ok["properties"]["data"]),
                    format!("ack data of {event}"),
                ),
                Documented::AckFailure(_) => (ok, format!("failed ack of {event}")),
                _ => (ok, format!("ack of {event}")),
            }
        }
    }
}

/// A schema node reduced to what the comparison looks at.
#[derive(Debug, Default)]
struct Flat<'a> {
    /// JSON types; empty = any.
    types: BTreeSet<String>,
    properties: Option<BTreeMap<String, &'a Value>>,
    required: BTreeSet<String>,
    items: Option<&'a Value>,
    /// Allowed values, when the schema enumerates them (`enum` or `const`).
    values: Option<BTreeSet<String>>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Follows `$ref`s (and one-element `allOf`s) with `lookup`, and merges `oneOf`/`anyOf`
/// variants (`T | null` is how both sides write a nullable object).
fn flatten<'a>(lookup: &dyn Fn(&str) -> Option<&'a Value>, node: &'a Value, at: &str) -> Flat<'a> {
    let mut node = node;
    for _ in 0..16 {
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            node = lookup(target).unwrap_or_else(|| panic!("{at}: dangling reference {target}"));
        } else if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            node = only;
        } else {
            break;
        }
    }
    let mut flat = Flat::default();
    for key in ["oneOf", "anyOf"] {
        for variant in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = flatten(lookup, variant, at);
            flat.types.extend(v.types);
            flat.required.extend(v.required);
            if let Some(p) = v.properties {
                flat.properties.get_or_insert_with(BTreeMap::new).extend(p);
            }
            flat.items = flat.items.or(v.items);
            if let Some(values) = v.values {
                flat.values.get_or_insert_with(BTreeSet::new).extend(values);
            }
        }
    }
    match node.get("type") {
        Some(Value::String(t)) => {
            flat.types.insert(t.clone());
        }
        Some(Value::Array(ts)) => flat
            .types
            .extend(ts.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    }
    let enumerated: Option<Vec<&Value>> = node.get("const").map(|c| vec![c]).or_else(|| {
        node.get("enum")
            .and_then(Value::as_array)
            .map(|e| e.iter().collect())
    });
    if let Some(values) = enumerated {
        if node.get("type").is_none() {
            flat.types
                .extend(values.iter().map(|v| json_type(v).to_owned()));
        }
        flat.values.get_or_insert_with(BTreeSet::new).extend(
            values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| v.to_string()),
        );
    }
    if let Some(p) = node.get("properties").and_then(Value::as_object) {
        flat.properties
            .get_or_insert_with(BTreeMap::new)
            .extend(p.iter().map(|(k, v)| (k.clone(), v)));
    }
    flat.required.extend(
        node.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned),
    );
    flat.items = flat.items.or(node.get("items"));
    flat
}

/// Every difference between the Rust schema `r` and the documented schema `d`, at `at`.
fn differences<'a, 'b>(
    rl: &dyn Fn(&str) -> Option<&'a Value>,
    r: &'a Value,
    dl: &dyn Fn(&str) -> Option<&'b Value>,
    d: &'b Value,
    at: &str,
    found: &mut Vec<String>,
) {
    let (r, d) = (flatten(rl, r, at), flatten(dl, d, at));
    if r.types != d.types {
        found.push(format!(
            "{at}: types {:?} in Rust, {:?} documented",
            r.types, d.types
        ));
    }
    // Nullability is the types' business; the values compared are the non-null ones. A
    // documented enumeration must be one in Rust too (a schema-only enum of `schema.rs`).
    match (&r.values, &d.values) {
        (Some(rv), Some(dv)) if rv != dv => {
            found.push(format!("{at}: values {rv:?} in Rust, {dv:?} documented"));
        }
        (None, Some(dv)) => found.push(format!("{at}: documented as one of {dv:?}, any in Rust")),
        (Some(rv), None) => found.push(format!("{at}: one of {rv:?} in Rust, any documented")),
        _ => {}
    }
    match (&r.properties, &d.properties) {
        (Some(rp), Some(dp)) => {
            let (rk, dk): (BTreeSet<_>, BTreeSet<_>) = (rp.keys().collect(), dp.keys().collect());
            if rk != dk {
                found.push(format!("{at}: fields {rk:?} in Rust, {dk:?} documented"));
            }
            if r.required != d.required {
                found.push(format!(
                    "{at}: required {:?} in Rust, {:?} documented",
                    r.required, d.required
                ));
            }
            for (key, rs) in rp {
                if let Some(ds) = dp.get(key) {
                    differences(rl, rs, dl, ds, &format!("{at}.{key}"), found);
                }
            }
        }
        (None, None) => {}
        (r, _) => found.push(format!(
            "{at}: an object with fields in {} only",
            if r.is_some() { "Rust" } else { "the document" }
        )),
    }
    match (r.items, d.items) {
        (Some(ri), Some(di)) => differences(rl, ri, dl, di, &format!("{at}[]"), found),
        (None, None) => {}
        _ => found.push(format!("{at}: array items described on one side only")),
    }
}

#[test]
fn every_outbound_payload_is_a_typed_struct_of_the_wire_crate() {
    let typed = typed_payloads();
    let events: BTreeSet<&str> = typed
        .iter()
        .filter_map(|(d, _)| match d {
            Documented::Event(e) => Some(*e),
            _ => None,
        })
        .collect();
    let failures: BTreeSet<&str> = typed
        .iter()
        .filter_map(|(d, _)| match d {
            Documented::AckFailure(e) => Some(*e),
            _ => None,
        })
        .collect();
    let acks: BTreeSet<&str> = typed
        .iter()
        .filter_map(|(d, _)| match d {
            Documented::Ack(e) | Documented::AckData(e) => Some(*e),
            Documented::Event(_) | Documented::AckFailure(_) => None,
        })
        .collect();
    let inbound: BTreeSet<&str> = INBOUND.iter().copied().collect();
    assert_eq!(
        events,
        OUTBOUND.iter().copied().collect(),
        "server events with a typed payload"
    );
    assert_eq!(acks, inbound, "client events with a typed ack");
    assert_eq!(failures, inbound, "client events with a typed failed ack");
}

#[test]
fn every_typed_payload_has_exactly_the_documented_fields() {
    let doc = document();
    let doc_lookup = |target: &str| target.strip_prefix('#').and_then(|p| doc.pointer(p));
    let mut found = Vec::new();
    for (what, schema) in typed_payloads() {
        let (documented, name) = documented(&doc, what);
        let rust_lookup = |target: &str| {
            target
                .strip_prefix("#/components/schemas/")
                .and_then(|n| schema.components.get(n))
        };
        differences(
            &rust_lookup,
            &schema.root,
            &doc_lookup,
            documented,
            &format!("{} as the {name}", schema.type_name),
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "typed payloads differ from docs/asyncapi.yaml:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_namespace_publishes_the_same_ack_for_an_event() {
    let doc = document();
    let mut acks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for op in doc["operations"].as_object().expect("operations").values() {
        if op["action"] != "receive" {
            continue;
        }
        for name in message_names(&doc, &op["messages"]) {
            let ack = resolve(&doc, &op["reply"]["messages"][0]);
            acks.entry(name)
                .or_default()
                .insert(ack["payload"].to_string());
        }
    }
    for (event, payloads) in acks {
        assert_eq!(
            payloads.len(),
            1,
            "{event} is acked differently: {payloads:?}"
        );
    }
}
