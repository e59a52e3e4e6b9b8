//! Store selection: PostgreSQL when `DATABASE_URL` is set, else the embedded memory store.

use std::sync::Arc;

use rodando_adapter_memory::MemoryStore;
use rodando_adapter_postgres::{PgStore, WriteBehindConfig, WriteBehindStore};
use rodando_ports::availability::AvailabilityRepository;
use rodando_ports::health::HealthCheck;
use rodando_ports::sessions::SessionRepository;
use rodando_ports::trips::{TripRepository, TripStandingLookup};
use rodando_ports::users::UserRepository;
use secrecy::ExposeSecret;

use crate::Config;
use crate::timed::Timed;

/// Every repository the services need, behind its port.
#[derive(Clone)]
pub struct Stores {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Sessions.
    pub sessions: Arc<dyn SessionRepository>,
    /// Driver availability.
    pub availability: Arc<dyn AvailabilityRepository>,
    /// Trips and offers.
    pub trips: Arc<dyn TripRepository>,
    /// Trips dispatched here, as availability rules see them.
    pub trip_standing: Arc<dyn TripStandingLookup>,
    /// What `/ready` asks.
    pub health: Arc<dyn HealthCheck>,
    /// Whether this is the embedded store (demo users are seeded into it).
    pub embedded: bool,
}

impl Stores {
    /// Every port over one store that implements them all, each call timed for `/metrics`.
    fn over<S>(store: Arc<S>, embedded: bool) -> Self
    where
        S: UserRepository
            + SessionRepository
            + AvailabilityRepository
            + TripRepository
            + TripStandingLookup
            + HealthCheck
            + 'static,
    {
        let store = Arc::new(Timed(store));
        Self {
            users: store.clone(),
            sessions: store.clone(),
            availability: store.clone(),
            trips: store.clone(),
            trip_standing: store.clone(),
            health: store,
            embedded,
        }
    }

    /// All ports over one memory store.
    pub fn memory(store: Arc<MemoryStore>) -> Self {
        Self::over(store, true)
    }

    /// All ports over one PostgreSQL store, location pings written behind every
    /// `write_behind.interval` (docs/positions.md).
    pub fn postgres_with(store: PgStore, write_behind: WriteBehindConfig) -> Self {
        // The recorder first: the buffer registers its series when it starts.
        crate::metrics::handle();
        Self::over(
            Arc::new(WriteBehindStore::start(store, write_behind)),
            false,
        )
    }

    /// All ports over one PostgreSQL store, with the default write-behind.
    pub fn postgres(store: PgStore) -> Self {
        Self::postgres_with(store, WriteBehindConfig::default())
    }

    /// The store the configuration names: PostgreSQL (migrated at start) when `DATABASE_URL`
    /// is set, else the embedded memory store.
    ///
    /// # Errors
    /// PostgreSQL unreachable, refusing, without PostGIS, or failing to migrate: one line
    /// saying what to do.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.database_url {
            Some(url) => {
                let store =
                    PgStore::connect(url.expose_secret(), config.database_max_connections).await?;
                tracing::info!("store: PostgreSQL (migrations applied)");
                Ok(Self::postgres_with(
                    store,
                    WriteBehindConfig {
                        interval: config.position_flush_interval,
                        max_drivers: config.position_buffer_drivers,
                        ..WriteBehindConfig::default()
                    },
                ))
            }
            None => {
                tracing::info!("store: embedded memory store (set DATABASE_URL for PostgreSQL)");
                Ok(Self::memory(Arc::new(MemoryStore::new())))
            }
        }
    }
}
