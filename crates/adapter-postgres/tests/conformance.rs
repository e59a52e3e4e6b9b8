//! The shared store conformance suite against PostgreSQL + PostGIS: every case on its own
//! freshly created and migrated database (see `support`), through the [`WriteBehindStore`] the
//! server runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::sync::Arc;

use rodando_adapter_postgres::{WriteBehindConfig, WriteBehindStore};
use rodando_store_conformance::Ports;

async fn fresh_database<C, F>(case: C)
where
    C: FnOnce(Ports) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    // As the server runs it: pings written behind.
    support::with_fresh_store(|store| {
        case(Ports::of(Arc::new(WriteBehindStore::start(
            store,
            WriteBehindConfig::default(),
        ))))
    })
    .await;
}

rodando_store_conformance::conformance_suite!(fresh_database);
