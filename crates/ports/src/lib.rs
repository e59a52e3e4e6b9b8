//! # rodando-ports
//!
//! The hexagon's ports: every trait the application uses to reach the outside world (token
//! signing, user/session/availability stores, password hashing, the clock, realtime push).
//! Adapters implement them; the application is generic over nothing but these traits.
//!
//! Each method documents under `# Errors` which variant an implementation must return when, so
//! the memory and PostgreSQL stores behave the same (a shared conformance suite checks it).
//! With the `mocks` feature every trait gets a mockall `Mock*` type.
#![warn(missing_docs)]

pub mod availability;
pub mod clock;
pub mod connection_slots;
pub mod connections;
pub mod error;
pub mod health;
pub mod notifier;
pub mod passwords;
pub mod sessions;
pub mod tokens;
pub mod trips;
pub mod users;

pub use error::Unexpected;
