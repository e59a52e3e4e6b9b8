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

use std::sync::{Arc, Mutex, RwLock};

use rodando_ports::clock::Clock;
use time::OffsetDateTime;

/// The in-memory store; implements every repository port.
pub struct MemoryStore {
    users: RwLock<users::UserTable>,
    sessions: RwLock<sessions::SessionTable>,
    availability: Mutex<availability::AvailabilityTable>,
    /// Locked after `availability` when both are needed (dispatch writes).
    dispatch: Mutex<trips::DispatchTable>,
    /// The store's clock, behind `TripRepository::now` (offer deadlines).
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_clock(Arc::new(OsClock))
    }
}

impl MemoryStore {
    /// An empty store on the operating system's clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose clock is `clock` (tests that move time by hand share theirs).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            users: RwLock::default(),
            sessions: RwLock::default(),
            availability: Mutex::default(),
            dispatch: Mutex::default(),
            clock,
        }
    }
}

/// The operating system's clock, to microseconds like PostgreSQL's `now()`.
struct OsClock;

impl Clock for OsClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_microsecond(now.microsecond()).unwrap_or(now)
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
