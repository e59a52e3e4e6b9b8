//! The shared store conformance suite against PostgreSQL + PostGIS: every case on its own
//! freshly created and migrated database (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::sync::Arc;

use rodando_store_conformance::Ports;

async fn fresh_database<C, F>(case: C)
where
    C: FnOnce(Ports) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    support::with_fresh_store(|store| case(Ports::of(Arc::new(store)))).await;
}

rodando_store_conformance::conformance_suite!(fresh_database);
