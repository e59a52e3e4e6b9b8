//! # rodando-wire
//!
//! The JSON shapes of PROTOCOL.md, shared by the Socket.IO and HTTP adapters so a payload has
//! exactly one shape whichever way it travels. Inbound payloads are read from
//! `serde_json::Value` with [`fields::ObjectReader`], which collects every bad field into one
//! `validation_failed` answer (serde stops at the first), except the hottest one,
//! `driver:location:ping`, which [`ping`] reads straight from the frame's text with the same
//! answers; outbound payloads are `Serialize` structs. The REST bodies derive
//! `utoipa::ToSchema`, so the OpenAPI document the HTTP adapter serves is generated from these
//! very types ([`schema`] describes the request bodies), and [`events`] names every Socket.IO
//! event.
//!
//! Every server → client Socket.IO payload (event or ack `data`) is one of these structs too,
//! built from domain values ([`availability`], [`trips`], [`session`]); the socket adapter
//! builds no JSON of its own. Their `ToSchema` derives are what `tests/asyncapi.rs` holds to
//! `docs/asyncapi.yaml`, field by field, and `tests/protocol_examples.rs` renders them into
//! `docs/protocol.md`.

pub mod ack;
pub mod auth;
pub mod availability;
pub mod codes;
pub mod en_route;
pub mod error;
pub mod events;
pub mod fields;
pub mod nearby;
pub mod ping;
pub mod resync;
pub mod schema;
pub mod session;
pub mod timestamp;
pub mod trip_lists;
pub mod trips;
pub mod users;
