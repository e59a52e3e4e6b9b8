//! # rodando-application
//!
//! The use cases: log in, refresh, log out, admit a socket, update a driver's availability,
//! sweep silent drivers, create users, ban or deactivate them. Each loads through a port,
//! applies a pure rule of [`rodando_domain`], stores atomically, and only then notifies.
//! Services hold their ports as `Arc<dyn Port>` because the store is chosen at run time (memory
//! or PostgreSQL); the cost of dynamic dispatch is nothing next to the I/O behind it.

pub mod auth;
pub mod availability;
pub mod clock;
pub mod demo;
pub mod dispatch;
pub mod en_route;
pub mod handshake;
pub mod presence;
pub mod principal;
pub mod resync;
pub mod trip_lists;
pub mod trips;
pub mod user_status;
pub mod users;

pub use principal::Principal;
