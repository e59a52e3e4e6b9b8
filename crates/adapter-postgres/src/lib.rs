//! # rodando-adapter-postgres
//!
//! The PostgreSQL + PostGIS store: [`PgStore`] implements every repository port
//! ([`UserRepository`], [`SessionRepository`], [`AvailabilityRepository`], [`TripRepository`],
//! [`TripStandingLookup`]) and [`HealthCheck`]. It is the store for production and for several
//! server nodes sharing one state; the in-memory store is its zero-setup twin, and both pass the
//! same conformance suite (`rodando-store-conformance`).
//!
//! How it keeps the ports' promises:
//! - every change is one SQL statement guarded by what it expects (compare-and-set on a
//!   `version` or a refresh `jti`), so concurrent writers never lose an update; a dispatch
//!   write is one transaction of such statements (trip status, open offer, new offer, driver
//!   version), all or nothing;
//! - uniqueness lives in named constraints, mapped to the ports' typed errors;
//! - the domain's availability invariants are CHECK constraints as well, and every row read back
//!   goes through the domain's constructors again;
//! - the nearest-driver query is one KNN query over a partial GiST index;
//! - [`WriteBehindStore`] (what the server runs) keeps location pings in the node's memory and
//!   writes them in one batch statement per interval (docs/positions.md).
//!
//! Queries are runtime `sqlx::query`/`query_as` (no database needed to build), each covered by
//! the conformance suite or the crate's own tests.
//!
//! [`UserRepository`]: rodando_ports::users::UserRepository
//! [`SessionRepository`]: rodando_ports::sessions::SessionRepository
//! [`AvailabilityRepository`]: rodando_ports::availability::AvailabilityRepository
//! [`TripRepository`]: rodando_ports::trips::TripRepository
//! [`TripStandingLookup`]: rodando_ports::trips::TripStandingLookup
#![warn(missing_docs)]

mod availability;
mod connect;
mod errors;
mod query;
mod sessions;
mod trips;
mod users;
mod write_behind;

use async_trait::async_trait;
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use sqlx::PgPool;

pub use connect::{MIGRATOR, PgStartError};
pub use write_behind::{WriteBehindConfig, WriteBehindStats, WriteBehindStore};

/// The PostgreSQL store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// The connection pool, for adapters that share this database (and for tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection of the pool; waits for borrowed ones to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl HealthCheck for PgStore {
    fn name(&self) -> &'static str {
        "store"
    }

    /// `SELECT 1` on a pooled connection.
    async fn check(&self) -> Result<(), Unexpected> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| Unexpected::new("PostgreSQL does not answer", e))
    }
}
