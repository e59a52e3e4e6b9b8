//! The shared store conformance suite against the in-memory store: a fresh store per case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;

use rodando_adapter_memory::MemoryStore;
use rodando_store_conformance::Ports;

async fn fresh_store<C, F>(case: C)
where
    C: FnOnce(Ports) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    case(Ports::of(Arc::new(MemoryStore::new()))).await;
}

rodando_store_conformance::conformance_suite!(fresh_store);
