//! # rodando-adapter-memory
//!
//! The embedded store used when no `DATABASE_URL` is configured, and in tests: every repository
//! port over maps behind short, never-awaited locks. It keeps the same guarantees as the
//! PostgreSQL store (unique e-mail and phone, compare-and-set rotation and availability
//! updates, one holder per trip), which the shared conformance suite checks. Nothing survives a
//! restart.

mod availability;
mod lock;
mod sessions;
mod trips;
mod users;

use std::sync::{Mutex, RwLock};

/// The in-memory store; implements every repository port.
#[derive(Default)]
pub struct MemoryStore {
    users: RwLock<users::UserTable>,
    sessions: RwLock<sessions::SessionTable>,
    availability: Mutex<availability::AvailabilityTable>,
    /// Locked after `availability` when both are needed (dispatch writes).
    dispatch: Mutex<trips::DispatchTable>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl rodando_ports::health::HealthCheck for MemoryStore {
    fn name(&self) -> &'static str {
        "store"
    }

    /// The memory store is always ready.
    async fn check(&self) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
}
