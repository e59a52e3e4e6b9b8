//! # rodando-server
//!
//! The thin outer layer: configuration from the environment, the choice of store, the wiring
//! of adapters to use cases, the HTTP + Socket.IO server on one port, graceful shutdown and
//! the operator CLI. Integration tests start it in-process on port 0 via [`Application`].

pub mod admin;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod realtime;
pub mod startup;
pub mod stores;
pub mod telemetry;
pub mod timed;

pub use config::Config;
pub use startup::Application;
