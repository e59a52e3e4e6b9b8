//! # rodando-domain
//!
//! The pure rules of Rodando Realtime: identifiers, users and sessions, who may enter which
//! Socket.IO namespace, coordinates, and the driver-availability state machine.
//!
//! This crate does no I/O and has no async runtime, web framework or database driver among its
//! dependencies: other services reuse it as a library, and every rule here is testable without
//! mocks. Values are *parsed, not validated*: a [`geo::Latitude`] or a [`user::Email`] exists only
//! when it is valid, so code holding one never checks it again.
#![warn(missing_docs)]

pub mod admission;
pub mod availability;
pub mod dispatch;
pub mod en_route;
pub mod fare;
pub mod geo;
pub mod ids;
pub mod offer;
pub mod session;
pub mod trip;
pub mod trip_list;
pub mod user;
pub mod validation;
