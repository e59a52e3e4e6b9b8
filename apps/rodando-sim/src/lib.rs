//! # rodando-sim
//!
//! A city simulator that speaks only the public contract (REST + Socket.IO, PROTOCOL §2-§8):
//! `N` drivers go AVAILABLE, cruise a bounding box along straight legs pinging their position,
//! answer offers by configurable probabilities, and carry passengers through
//! arrived → start → complete; `M` passengers request trips at a configured rate. A `--speed`
//! factor runs simulated time faster than real time (the server's offer TTL stays real). Runs are
//! bounded in actors and time, seedable, and end with a [`report::Report`].
//!
//! The binary (`main.rs`) is the command line; [`run::run`] is the whole simulation, so tests can
//! drive it against an in-process server.

pub mod config;
pub mod driver;
pub mod geo;
pub mod movement;
pub mod passenger;
pub mod report;
pub mod run;
pub mod session;
pub mod stats;
pub mod stop;
pub mod users;

/// The REST client, shared with the load generator.
pub use rodando_toolkit::api;
/// Seeded random streams, shared with the load generator.
pub use rodando_toolkit::rng;

pub use config::SimConfig;
pub use run::run;
