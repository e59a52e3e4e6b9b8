//! [`TripStandingLookup`] in memory. This server dispatches no trips yet, so every trip a driver
//! names is one handled elsewhere; the trips feature replaces this with its trip table.

use async_trait::async_trait;
use rodando_domain::availability::TripStanding;
use rodando_domain::ids::TripId;
use rodando_ports::Unexpected;
use rodando_ports::trips::TripStandingLookup;

use crate::MemoryStore;

#[async_trait]
impl TripStandingLookup for MemoryStore {
    async fn standing(&self, _trip: TripId) -> Result<TripStanding, Unexpected> {
        Ok(TripStanding::External)
    }
}
