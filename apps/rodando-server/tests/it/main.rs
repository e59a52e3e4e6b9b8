//! Integration tests: the whole server in-process on port 0, spoken to over real sockets with a
//! real Socket.IO client and real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod allocations;
mod availability;
mod cluster;
mod connection_limit;
mod dispatch_faults;
mod en_route;
mod error_codes;
mod handshake;
mod hardening;
mod helpers;
mod metrics;
mod positions;
mod postgres;
mod process;
mod reconnect;
mod redis_faults;
mod rest_auth;
mod scratch;
mod sessions;
mod shutdown;
mod stalled;
mod transport_limits;
mod trip_lists;
mod trips;
mod user_status;
