//! The examples of `docs/protocol.md` are generated and checked here.
//!
//! - A block after `<!-- generated: NAME -->` is what the wire serializers produce for fixed
//!   domain values; it must be exactly that. `UPDATE_EXAMPLES=1 cargo test -p rodando-wire
//!   --test protocol_examples` rewrites those blocks from the code. NAME is an event, `trip`
//!   (the REST body), `EVENT (variant)` for a second shape of an event, or `EVENT ack` for the
//!   ack of a client event.
//! - A block after `<!-- example: EVENT -->` is hand-written (inbound payloads, and the
//!   `exception` of the error contract); it must fit the event's payload schema in
//!   `docs/asyncapi.yaml`.
//! - Every event of [`rodando_wire::events`] has at least one example, and every payload the
//!   wire crate builds for a client — each server event and each ack — fits its AsyncAPI
//!   schema too (acks wrapped as the reply module sends them, `{ok: true, data}`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use rodando_application::Principal;
use rodando_application::resync::{ActiveTrip, OpenOffer, SessionState, TripDriver};
use rodando_application::trip_lists::TripPage;
use rodando_domain::admission::Namespace;
use rodando_domain::availability::{DriverAvailability, LocationFix, StatusCommand, TripStanding};
use rodando_domain::en_route::{self, StraightLine};
use rodando_domain::fare::{Cents, Currency};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, SessionId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::session::RevokeReason;
use rodando_domain::trip::{Actor, PaymentMethod, Place, Trip};
use rodando_domain::trip_list::TripKey;
use rodando_domain::user::UserType;
use rodando_wire::availability::{
    AvailabilitySnapshot, DriversSnapshot, LocationUpdate, TripUpdate,
};
use rodando_wire::en_route::{DriverEnRoute, EnRoutePosition};
use rodando_wire::events::{self, INBOUND, OUTBOUND};
use rodando_wire::resync::{SessionStateBody, TripSyncBody};
use rodando_wire::session::{
    AuthRefreshAck, Hello, NotificationBody, SessionRef, SessionRefreshed, SessionRevoked,
};
use rodando_wire::trip_lists::{TripPageBody, TripsSnapshot};
use rodando_wire::trips::{
    ArrivingStarted, DriverAssigned, DriverStep, NoDriversFound, OfferClosed, OfferRejected,
    Sequenced, TripAt, TripBody, TripCancelled, TripCompleted, TripOffered, TripRequested,
    TripWatch,
};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const PROTOCOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
const ASYNCAPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.yaml");

const T0: OffsetDateTime = datetime!(2026-05-01 10:00:00.000 UTC);

/// `trip` at event `seq` of its stream, as a store numbers it.
fn at_seq(trip: &Trip, seq: u64) -> Trip {
    let mut t = trip.clone();
    t.set_seq(seq);
    t
}

fn at(seconds: i64) -> OffsetDateTime {
    T0 + Duration::seconds(seconds)
}

/// What a generated payload is, for its schema.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// The payload of a server event.
    Event(&'static str),
    /// The REST trip (`components.schemas.Trip`).
    Trip,
    /// A page of `GET /api/trips` (`{items: [Trip], nextCursor}`).
    TripPage,
    /// The `data` of the ack of a client event.
    AckData(&'static str),
    /// The whole ack of a client event.
    Ack(&'static str),
}

/// One payload the wire crate builds, for fixed values.
struct Generated {
    /// The marker name of its block in protocol.md.
    name: &'static str,
    kind: Kind,
    value: Value,
    /// Whether protocol.md shows it (large acks repeat payloads shown already).
    shown: bool,
}

/// Every payload the wire crate builds, for fixed values.
fn generated() -> Vec<Generated> {
    let driver = DriverId::parse("0196a1b2-0000-7000-8000-00000000d001").unwrap();
    let passenger = PassengerId::parse("0196a1b2-0000-7000-8000-00000000b001").unwrap();
    let trip_id = TripId::parse("0196a1b2-0000-7000-8000-0000000070a1").unwrap();
    let offer_id = OfferId::parse("0196a1b2-0000-7000-8000-0000000a0001").unwrap();
    let position = GeoPoint::from_degrees(23.1365, -82.3590).unwrap();
    let pickup = Place::new(
        GeoPoint::from_degrees(23.1136, -82.3666).unwrap(),
        Some("Parque Central"),
    )
    .unwrap();
    let dropoff = Place::new(GeoPoint::from_degrees(23.133, -82.383).unwrap(), None).unwrap();
    let cup = Currency::parse("CUP").unwrap();
    let pickup_point = pickup.point;

    let offline = DriverAvailability::new_offline(driver, at(-600));
    let available = offline
        .set_status(StatusCommand::Available, TripStanding::External, at(-300))
        .expect("an offline driver may go available");
    let located = available.record_location(
        &LocationFix {
            point: position,
            accuracy_m: Some(5.0),
            heading_deg: Some(90.0),
            speed_kph: Some(32.5),
            recorded_at: Some(at(-1)),
        },
        at(0),
    );
    let trip = Trip::request(
        trip_id,
        passenger,
        pickup,
        dropoff,
        PaymentMethod::Cash,
        Cents(650),
        cup,
        at(1),
    );
    let offer = Offer::new(
        offer_id,
        trip_id,
        driver,
        1_234.4,
        at(2),
        Duration::seconds(20),
    );
    let accepted_offer = offer.accept(driver, at(9)).unwrap();
    let assigning = trip.start_assigning().unwrap();
    let accepted = assigning.accept(driver, at(9)).unwrap();
    let arriving = accepted.begin_arriving().unwrap();
    let on_trip = located
        .set_trip(
            trip_id,
            TripStanding::Dispatched {
                assigned_to: Some(driver),
                active: true,
            },
            TripStanding::External,
            at(9),
        )
        .unwrap();
    let arrived = arriving.arrive(Actor::Driver(driver), at(240)).unwrap();
    let started = arrived.start(Actor::Driver(driver), at(300)).unwrap();
    let completed = started
        .complete(Actor::Driver(driver), Cents(712), at(900))
        .unwrap();
    let cancelled = trip
        .cancel(
            Actor::Passenger(passenger),
            Some("changed my mind".into()),
            at(30),
        )
        .unwrap();

    let rejected_offer = offer
        .reject(driver, Some("driver_offline".into()), at(5))
        .unwrap();
    let expired_offer = offer.expire(at(22)).unwrap();
    let withdrawn_offer = offer.withdraw(at(30)).unwrap();
    let session = SessionId::parse("0196a1b2-0000-7000-8000-00000000c001").unwrap();
    let principal = Principal {
        user_id: driver.user_id(),
        user_type: UserType::Driver,
        session_id: session,
        namespace: Namespace::Drivers,
        name: "Driver One".into(),
        token_expires_at: at(900),
    };
    let passenger_principal = Principal {
        user_id: passenger.user_id(),
        user_type: UserType::Passenger,
        session_id: session,
        namespace: Namespace::Passengers,
        name: "Passenger One".into(),
        token_expires_at: at(900),
    };
    let notification = NotificationBody::new(
        "0196a1b2-0000-7000-8000-00000000e001",
        "trip_update",
        "Your driver is here",
        "Driver One is waiting at Parque Central",
        Some(&json!({"tripId": trip_id.to_string()})),
        at(240),
    );

    let json = |v: &dyn erased::Ser| v.to_json();
    let shown = |name: &'static str, kind: Kind, value: Value| Generated {
        name,
        kind,
        value,
        shown: true,
    };
    let event = |name: &'static str, value: Value| shown(name, Kind::Event(name), value);
    let checked_only = |kind: Kind, value: Value| Generated {
        name: "",
        kind,
        value,
        shown: false,
    };
    vec![
        event(
            events::HELLO,
            json(
                &Hello::new(&principal, T0 + Duration::milliseconds(42)).with_state(Some(
                    SessionStateBody::from(&SessionState {
                        availability: Some(located.clone()),
                        offers: vec![OpenOffer {
                            offer: offer.clone(),
                            trip: at_seq(&assigning, 2),
                            remaining: Duration::milliseconds(21_958),
                        }],
                        active_trip: None,
                    }),
                )),
            ),
        ),
        shown(
            "hello (passenger)",
            Kind::Event(events::HELLO),
            json(&Hello::new(&passenger_principal, at(60)).with_state(Some(
                SessionStateBody::from(&SessionState {
                    active_trip: Some(ActiveTrip {
                        trip: at_seq(&arriving, 5),
                        driver: Some(TripDriver {
                            id: driver,
                            name: "Driver One".into(),
                            position: located.last_location,
                        }),
                    }),
                    ..SessionState::default()
                }),
            ))),
        ),
        event(
            events::AUTH_SESSION_REFRESHED,
            json(&SessionRefreshed::new(session, at(1800))),
        ),
        event(events::AUTH_TOKEN_EXPIRED, json(&SessionRef::from(session))),
        event(
            events::AUTH_SESSION_REVOKED,
            json(&SessionRevoked::new(session, RevokeReason::Logout)),
        ),
        event(events::NOTIFICATION, json(&notification)),
        event(
            events::DRIVER_AVAILABILITY_UPDATE,
            json(&AvailabilitySnapshot::from(&located)),
        ),
        event(
            events::DRIVER_LOCATION_UPDATE,
            json(&LocationUpdate::from(&located)),
        ),
        event(
            events::DRIVER_TRIP_UPDATE,
            json(&TripUpdate::from(&on_trip)),
        ),
        event(
            events::TRIP_REQUESTED,
            json(&TripRequested::from(&trip).with_seq(1)),
        ),
        event(
            events::TRIP_ASSIGNING_STARTED,
            json(&TripAt::new(trip_id, at(2)).with_seq(2)),
        ),
        event(
            events::TRIP_ASSIGNMENT_OFFERED,
            json(&TripOffered::new(&offer, &trip).with_seq(2)),
        ),
        event(
            events::TRIP_ASSIGNMENT_ACCEPTED,
            json(&OfferClosed::from(&accepted_offer).with_seq(3)),
        ),
        event(
            events::TRIP_ASSIGNMENT_REJECTED,
            json(&OfferClosed::from(&rejected_offer).with_seq(3)),
        ),
        event(
            events::TRIP_ASSIGNMENT_EXPIRED,
            json(&OfferClosed::from(&expired_offer).with_seq(3)),
        ),
        event(
            events::TRIP_NO_DRIVERS_FOUND,
            json(&NoDriversFound::new(trip_id, "no_drivers_available").with_seq(3)),
        ),
        event(
            events::TRIP_DRIVER_ASSIGNED,
            json(&DriverAssigned::new(&accepted, driver, "Driver One").with_seq(4)),
        ),
        event(
            events::TRIP_ARRIVING_STARTED,
            json(&ArrivingStarted::new(trip_id, driver, 142, Some(position)).with_seq(5)),
        ),
        event(
            events::TRIP_DRIVER_EN_ROUTE,
            json(&DriverEnRoute::new(
                trip_id,
                driver,
                EnRoutePosition::new(position, Some(90.0), Some(32.5)),
                &en_route::progress(&arriving, driver, &position, &StraightLine::PICKUP).unwrap(),
                at(12),
            )),
        ),
        shown(
            "trip:driver_en_route (to_dropoff)",
            Kind::Event(events::TRIP_DRIVER_EN_ROUTE),
            json(&DriverEnRoute::new(
                trip_id,
                driver,
                EnRoutePosition::new(pickup_point, None, None),
                &en_route::progress(&started, driver, &pickup_point, &StraightLine::PICKUP)
                    .unwrap(),
                at(301),
            )),
        ),
        event(
            events::TRIP_DRIVER_ARRIVED_PICKUP,
            json(&DriverStep::arrived(&arrived).with_seq(6)),
        ),
        event(
            events::TRIP_STARTED,
            json(&DriverStep::started(&started).with_seq(7)),
        ),
        event(
            events::TRIP_COMPLETED,
            json(&TripCompleted::from(&completed).with_seq(8)),
        ),
        event(
            events::TRIP_CANCELLED,
            json(&TripCancelled::from(&cancelled).with_seq(3)),
        ),
        shown(
            "trip:cancelled (offer_withdrawn)",
            Kind::Event(events::TRIP_CANCELLED),
            json(&TripCancelled::offer_withdrawn(&withdrawn_offer).with_seq(3)),
        ),
        shown("trip", Kind::Trip, json(&TripBody::from(&completed))),
        shown(
            "auth:refresh ack",
            Kind::Ack(events::AUTH_REFRESH),
            json(&AuthRefreshAck::new(at(1800))),
        ),
        shown(
            "driver:offer:reject ack",
            Kind::AckData(events::DRIVER_OFFER_REJECT),
            json(&OfferRejected::from(&rejected_offer)),
        ),
        shown(
            "trip:sync ack",
            Kind::AckData(events::TRIP_SYNC),
            json(&TripSyncBody::from(&at_seq(&arriving, 5))),
        ),
        checked_only(
            Kind::AckData(events::DRIVER_STATUS_UPDATE),
            json(&AvailabilitySnapshot::from(&located)),
        ),
        checked_only(
            Kind::AckData(events::DRIVER_OFFER_ACCEPT),
            json(&TripBody::from(&accepted)),
        ),
        checked_only(
            Kind::AckData(events::TRIP_CANCEL),
            json(&TripBody::from(&cancelled)),
        ),
        checked_only(
            Kind::AckData(events::ADMIN_DRIVERS_SNAPSHOT),
            json(
                &[&located, &offline]
                    .into_iter()
                    .collect::<DriversSnapshot>(),
            ),
        ),
        shown(
            "trip:sync ack",
            Kind::AckData(events::TRIP_SYNC),
            json(&TripSyncBody::from(&at_seq(&arriving, 5))),
        ),
        checked_only(
            Kind::AckData(events::ADMIN_TRIP_WATCH),
            json(&TripWatch::new(&arriving, true)),
        ),
        shown(
            "admin:trips:snapshot ack",
            Kind::AckData(events::ADMIN_TRIPS_SNAPSHOT),
            json(&TripsSnapshot::new(std::slice::from_ref(&arriving), false)),
        ),
        shown(
            "trip page",
            Kind::TripPage,
            json(&TripPageBody::from(&TripPage {
                next: Some(TripKey::of(&arriving)),
                trips: vec![arriving.clone()],
            })),
        ),
    ]
}

mod erased {
    //! Serializing the `Serialize` structs without naming each type.
    pub trait Ser {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

/// One fenced JSON block of protocol.md and the marker before it.
struct Block {
    kind: String,
    name: String,
    /// Byte range of the JSON text inside the fence.
    range: std::ops::Range<usize>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(start) = text[rest..].find("<!-- ") {
        let marker_start = rest + start;
        let Some(end) = text[marker_start..].find(" -->") else {
            break;
        };
        let marker = &text[marker_start + 5..marker_start + end];
        rest = marker_start + end + 4;
        let Some((kind, name)) = marker.split_once(": ") else {
            continue;
        };
        if kind != "generated" && kind != "example" {
            continue;
        }
        let fence = text[rest..]
            .find("```json\n")
            .map(|i| rest + i + 8)
            .expect("a ```json block follows the marker");
        let close = text[fence..]
            .find("```")
            .map(|i| fence + i)
            .expect("the block is closed");
        found.push(Block {
            kind: kind.to_owned(),
            name: name.trim().to_owned(),
            range: fence..close,
        });
        rest = close;
    }
    found
}

fn asyncapi() -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(ASYNCAPI).unwrap()).unwrap()
}

/// The payload schema of the message named `event`.
fn payload_schema<'a>(doc: &'a Value, event: &str) -> &'a Value {
    doc["components"]["messages"]
        .as_object()
        .unwrap()
        .values()
        .find(|m| m["name"] == event)
        .map(|m| &m["payload"])
        .unwrap_or_else(|| panic!("{event} has no message in asyncapi.yaml"))
}

/// The ack schema of client event `event`: the reply of its receive operation.
fn ack_schema<'a>(doc: &'a Value, event: &str) -> &'a Value {
    let op = doc["operations"]
        .as_object()
        .unwrap()
        .values()
        .find(|op| op["action"] == "receive" && op["title"] == event)
        .unwrap_or_else(|| panic!("{event} has no receive operation in asyncapi.yaml"));
    let mut message = &op["reply"]["messages"][0];
    message = resolve(doc, message);
    &message["payload"]
}

fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(target) = schema["$ref"].as_str() {
        schema = doc.pointer(target.strip_prefix('#').unwrap()).unwrap();
    }
    schema
}

/// Whether `value` fits `schema` (types, consts, enums, required and known properties,
/// recursively; `oneOf` when any variant fits).
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(variants) = schema["oneOf"].as_array() {
        let errors: Vec<String> = variants
            .iter()
            .filter_map(|v| fits(doc, v, value, at).err())
            .collect();
        return if errors.len() < variants.len() {
            Ok(())
        } else {
            Err(errors.join(" | "))
        };
    }
    if let Some(expected) = schema.get("const") {
        return (expected == value)
            .then_some(())
            .ok_or(format!("{at}: {value} is not {expected}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
    if !type_ok {
        return Err(format!("{at}: {value} is not of type {types:?}"));
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for key in object.keys() {
            if !properties.contains_key(key) {
                return Err(format!("{at}.{key} is not in the schema"));
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap();
            if !object.contains_key(required) {
                return Err(format!("{at}.{required} is required by the schema"));
            }
        }
        for (key, child) in object {
            fits(doc, &properties[key], child, &format!("{at}.{key}"))?;
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            fits(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn generated_payloads_fit_their_asyncapi_schemas() {
    let doc = asyncapi();
    // The OpenAPI `TripPage` of `GET /api/trips`, over the documented trip.
    let trip_page = json!({
        "type": "object",
        "required": ["items", "nextCursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Trip"}},
            "nextCursor": {"type": ["string", "null"]}
        }
    });
    for g in generated() {
        let (schema, payload, what) = match g.kind {
            Kind::Event(event) => (payload_schema(&doc, event), g.value, event.to_owned()),
            Kind::Trip => (
                &doc["components"]["schemas"]["Trip"],
                g.value,
                "trip".into(),
            ),
            Kind::TripPage => (&trip_page, g.value, "trip page".into()),
            Kind::Ack(event) => (ack_schema(&doc, event), g.value, format!("{event} ack")),
            Kind::AckData(event) => (
                ack_schema(&doc, event),
                json!({"ok": true, "data": g.value}),
                format!("{event} ack"),
            ),
        };
        if let Err(e) = fits(&doc, schema, &payload, &what) {
            panic!("{what}: {e}\n{payload:#}");
        }
    }
}

#[test]
fn every_server_event_and_ack_has_a_generated_payload() {
    let generated = generated();
    let events: BTreeSet<&str> = generated
        .iter()
        .filter_map(|g| match g.kind {
            Kind::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let acks: BTreeSet<&str> = generated
        .iter()
        .filter_map(|g| match g.kind {
            Kind::Ack(e) | Kind::AckData(e) => Some(e),
            _ => None,
        })
        .collect();
    // `exception` is the error contract's, shown by a hand-written example.
    let expected: BTreeSet<&str> = OUTBOUND
        .iter()
        .copied()
        .filter(|e| *e != events::EXCEPTION)
        .collect();
    assert_eq!(events, expected);
    // One example per ack shape: the availability ack of driver:status:update stands for
    // driver:location:ping and driver:trip:set, the trip of driver:offer:accept and
    // trip:cancel for trip:request, admin:trip:watch for admin:trip:unwatch.
    let shapes: BTreeSet<&str> = [
        events::AUTH_REFRESH,
        events::DRIVER_STATUS_UPDATE,
        events::DRIVER_OFFER_ACCEPT,
        events::DRIVER_OFFER_REJECT,
        events::TRIP_CANCEL,
        events::ADMIN_DRIVERS_SNAPSHOT,
        events::ADMIN_TRIPS_SNAPSHOT,
        events::ADMIN_TRIP_WATCH,
        events::TRIP_SYNC,
    ]
    .into_iter()
    .collect();
    assert_eq!(acks, shapes);
}

#[test]
fn the_protocol_guide_shows_the_payloads_the_code_produces() {
    let mut text = std::fs::read_to_string(PROTOCOL).unwrap();
    let generated = generated();
    let update = std::env::var_os("UPDATE_EXAMPLES").is_some();
    let mut stale = Vec::new();
    // From the end, so rewriting a block keeps the earlier ranges valid.
    for block in blocks(&text)
        .into_iter()
        .rev()
        .filter(|b| b.kind == "generated")
    {
        let expected = &generated
            .iter()
            .find(|g| g.shown && g.name == block.name)
            .unwrap_or_else(|| panic!("nothing generates {}", block.name))
            .value;
        let shown: Value = serde_json::from_str(&text[block.range.clone()])
            .unwrap_or_else(|e| panic!("the {} example is not JSON: {e}", block.name));
        if shown != *expected {
            let pretty = format!("{}\n", serde_json::to_string_pretty(expected).unwrap());
            if update {
                text.replace_range(block.range.clone(), &pretty);
            } else {
                stale.push(format!("{}:\n{pretty}", block.name));
            }
        }
    }
    if update {
        std::fs::write(PROTOCOL, &text).unwrap();
    }
    assert!(
        stale.is_empty(),
        "docs/protocol.md shows stale payloads; run UPDATE_EXAMPLES=1 cargo test -p rodando-wire --test protocol_examples, or paste:\n{}",
        stale.join("\n")
    );
    let shown: BTreeSet<String> = blocks(&text).into_iter().map(|b| b.name).collect();
    for g in generated.iter().filter(|g| g.shown) {
        assert!(
            shown.contains(g.name),
            "docs/protocol.md has no generated example of {}",
            g.name
        );
    }
}

#[test]
fn the_hand_written_examples_fit_the_published_schemas() {
    let text = std::fs::read_to_string(PROTOCOL).unwrap();
    let doc = asyncapi();
    for block in blocks(&text).into_iter().filter(|b| b.kind == "example") {
        let value: Value = serde_json::from_str(&text[block.range.clone()])
            .unwrap_or_else(|e| panic!("the {} example is not JSON: {e}", block.name));
        let schema = payload_schema(&doc, &block.name);
        if let Err(e) = fits(&doc, schema, &value, &block.name) {
            panic!("docs/protocol.md, {}: {e}", block.name);
        }
    }
}

#[test]
fn every_event_has_an_example_in_the_protocol_guide() {
    let text = std::fs::read_to_string(PROTOCOL).unwrap();
    let shown: BTreeSet<String> = blocks(&text).into_iter().map(|b| b.name).collect();
    let missing: Vec<&str> = INBOUND
        .iter()
        .chain(OUTBOUND)
        .copied()
        .filter(|e| !shown.contains(*e))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/protocol.md has no example of {missing:?}"
    );
}
