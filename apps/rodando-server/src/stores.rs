//! Store selection: PostgreSQL when `DATABASE_URL` is set, else the embedded memory store.

use std::sync::Arc;

use rodando_adapter_memory::MemoryStore;
use rodando_ports::availability::AvailabilityRepository;
use rodando_ports::health::HealthCheck;
use rodando_ports::sessions::SessionRepository;
use rodando_ports::trips::TripStandingLookup;
use rodando_ports::users::UserRepository;

use crate::Config;

/// Every repository the services need, behind its port.
#[derive(Clone)]
pub struct Stores {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Sessions.
    pub sessions: Arc<dyn SessionRepository>,
    /// Driver availability.
    pub availability: Arc<dyn AvailabilityRepository>,
    /// Trips dispatched here, as availability rules see them.
    pub trips: Arc<dyn TripStandingLookup>,
    /// What `/ready` asks.
    pub health: Arc<dyn HealthCheck>,
    /// Whether this is the embedded store (demo users are seeded into it).
    pub embedded: bool,
}

impl Stores {
    /// All ports over one memory store.
    pub fn memory(store: Arc<MemoryStore>) -> Self {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            availability: store.clone(),
            trips: store.clone(),
            health: store,
            embedded: true,
        }
    }

    /// The store the configuration names.
    ///
    /// # Errors
    /// When `DATABASE_URL` is set: PostgreSQL support is not built into this version yet.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        if config.database_url.is_some() {
            anyhow::bail!(
                "DATABASE_URL is set, but this build has no PostgreSQL store yet; unset DATABASE_URL to use the embedded store"
            );
        }
        Ok(Self::memory(Arc::new(MemoryStore::new())))
    }
}
