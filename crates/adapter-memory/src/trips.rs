//! [`TripRepository`] and [`TripStandingLookup`] in memory.
//!
//! Trips and offers live in one table behind one mutex, with the indexes that stand for the
//! PostgreSQL constraints: one open offer per trip, one per driver, one active trip per
//! passenger. [`TripRepository::apply`] takes the availability lock first and this one second
//! (always in that order), checks every guard, and only then writes: all or nothing.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use rodando_domain::availability::TripStanding;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::{Offer, OfferStatus};
use rodando_domain::trip::{Trip, TripStatus};
use rodando_domain::trip_list::{TripKey, TripListQuery};
use rodando_ports::Unexpected;
use rodando_ports::trips::{
    Applied, CreateTripError, DispatchConflict, DispatchWrite, Idempotency, TripRepository,
    TripStandingLookup, UnattendedQuery, UnattendedTrip,
};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::lock::lock;

#[derive(Default)]
pub(crate) struct DispatchTable {
    trips: HashMap<TripId, Trip>,
    offers: HashMap<OfferId, Offer>,
    offers_by_trip: HashMap<TripId, Vec<OfferId>>,
    open_by_trip: HashMap<TripId, OfferId>,
    open_by_driver: HashMap<DriverId, OfferId>,
    active_by_passenger: HashMap<PassengerId, TripId>,
    idempotency: HashMap<(PassengerId, String), (String, TripId)>,
    /// Every trip by `(requested_at, id)`, walked backwards by [`TripRepository::list`] (the
    /// memory counterpart of the `(requested_at, id)` indexes of the PostgreSQL store).
    by_request: BTreeSet<(OffsetDateTime, TripId)>,
}

impl DispatchTable {
    fn check(&self, write: &DispatchWrite) -> Result<(), DispatchConflict> {
        if let Some(t) = &write.trip {
            match self.trips.get(&t.next.id()) {
                Some(stored) if stored.status() == t.expected => {}
                _ => return Err(DispatchConflict::TripChanged),
            }
        }
        if let Some(o) = &write.offer {
            match self.offers.get(&o.id()) {
                Some(stored) if stored.is_open() => {}
                _ => return Err(DispatchConflict::OfferNotOpen),
            }
        }
        if let Some(o) = &write.new_offer {
            let status_after = match &write.trip {
                Some(t) if t.next.id() == o.trip_id() => Some(t.next.status()),
                _ => self.trips.get(&o.trip_id()).map(|t| t.status()),
            };
            if status_after != Some(TripStatus::Assigning) {
                return Err(DispatchConflict::TripChanged);
            }
            if self.open_by_trip.contains_key(&o.trip_id()) {
                return Err(DispatchConflict::TripHasOpenOffer);
            }
            if self.open_by_driver.contains_key(&o.driver_id()) {
                return Err(DispatchConflict::DriverHasOpenOffer);
            }
        }
        Ok(())
    }

    /// Whether `driver` holds an open offer of any trip.
    pub(crate) fn holds_open_offer(&self, driver: DriverId) -> bool {
        self.open_by_driver.contains_key(&driver)
    }

    /// When the trip last moved for dispatch: requested, or its latest offer closed.
    fn quiet_since(&self, trip: &Trip) -> OffsetDateTime {
        self.offers_by_trip
            .get(&trip.id())
            .into_iter()
            .flatten()
            .filter_map(|id| self.offers.get(id)?.closed_at())
            .fold(trip.requested_at(), OffsetDateTime::max)
    }

    fn put_trip(&mut self, trip: &Trip) {
        if trip.status().is_active() {
            self.active_by_passenger
                .insert(trip.passenger_id(), trip.id());
        } else if self.active_by_passenger.get(&trip.passenger_id()) == Some(&trip.id()) {
            self.active_by_passenger.remove(&trip.passenger_id());
        }
        self.by_request.insert((trip.requested_at(), trip.id()));
        self.trips.insert(trip.id(), trip.clone());
    }

    /// [`TripRepository::list`]: newest first from the page boundary, filtered, up to the limit.
    fn list(&self, query: &TripListQuery) -> Vec<Trip> {
        let newest_first = match query.after {
            // Strictly before the boundary in `(requested_at, id)` order is after it in the list.
            Some(TripKey { requested_at, id }) => self.by_request.range(..(requested_at, id)).rev(),
            None => self.by_request.range(..).rev(),
        };
        newest_first
            .filter_map(|(_, id)| self.trips.get(id))
            .filter(|trip| query.admits(trip))
            .take(query.limit)
            .cloned()
            .collect()
    }

    fn put_offer(&mut self, offer: &Offer) {
        if offer.is_open() {
            self.open_by_trip.insert(offer.trip_id(), offer.id());
            self.open_by_driver.insert(offer.driver_id(), offer.id());
        } else {
            self.open_by_trip.remove_if_eq(offer.trip_id(), offer.id());
            self.open_by_driver
                .remove_if_eq(offer.driver_id(), offer.id());
        }
        if self.offers.insert(offer.id(), offer.clone()).is_none() {
            self.offers_by_trip
                .entry(offer.trip_id())
                .or_default()
                .push(offer.id());
        }
    }

    fn withdraw_open(&mut self, trip: TripId, at: OffsetDateTime) -> Vec<Offer> {
        let open = self.open_by_trip.get(&trip).copied();
        let withdrawn: Vec<Offer> = open
            .and_then(|id| self.offers.get(&id))
            .and_then(|o| o.withdraw(at))
            .into_iter()
            .collect();
        for o in &withdrawn {
            self.put_offer(o);
        }
        withdrawn
    }
}

/// `remove` only when the entry still points at `value`.
trait RemoveIfEq<K, V> {
    fn remove_if_eq(&mut self, key: K, value: V);
}

impl<K: std::hash::Hash + Eq, V: PartialEq> RemoveIfEq<K, V> for HashMap<K, V> {
    fn remove_if_eq(&mut self, key: K, value: V) {
        if self.get(&key) == Some(&value) {
            self.remove(&key);
        }
    }
}

#[async_trait]
impl TripRepository for MemoryStore {
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError> {
        let mut t = lock(&self.dispatch);
        if let Some(i) = &idempotency
            && let Some((fingerprint, id)) =
                t.idempotency.get(&(trip.passenger_id(), i.key.clone()))
        {
            return match t.trips.get(id) {
                Some(existing) if *fingerprint == i.fingerprint => Ok(existing.clone()),
                Some(_) => Err(CreateTripError::IdempotencyMismatch),
                None => Err(Unexpected::msg("idempotency key points at a missing trip").into()),
            };
        }
        if t.active_by_passenger.contains_key(&trip.passenger_id()) {
            return Err(CreateTripError::ActiveTripExists);
        }
        if t.trips.contains_key(&trip.id()) {
            return Err(Unexpected::msg(format!("trip {} already exists", trip.id())).into());
        }
        // A new trip is at the first event of its stream, `trip:requested`, as in PostgreSQL.
        let mut trip = trip.clone();
        trip.set_seq(1);
        let trip = &trip;
        t.put_trip(trip);
        if let Some(i) = idempotency {
            t.idempotency.insert(
                (trip.passenger_id(), i.key.clone()),
                (i.fingerprint.clone(), trip.id()),
            );
        }
        Ok(trip.clone())
    }

    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected> {
        Ok(lock(&self.dispatch).trips.get(&id).cloned())
    }

    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected> {
        let t = lock(&self.dispatch);
        Ok(t.active_by_passenger
            .get(&passenger)
            .and_then(|id| t.trips.get(id))
            .cloned())
    }

    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
        Ok(lock(&self.dispatch).list(query))
    }

    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected> {
        Ok(lock(&self.dispatch).offers.get(&id).cloned())
    }

    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected> {
        let t = lock(&self.dispatch);
        Ok(t.offers_by_trip
            .get(&trip)
            .into_iter()
            .flatten()
            .filter_map(|id| t.offers.get(id))
            .cloned()
            .collect())
    }

    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected> {
        let t = lock(&self.dispatch);
        Ok(t.open_by_driver
            .get(&driver)
            .and_then(|id| t.offers.get(id))
            .cloned())
    }

    async fn unattended(&self, q: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected> {
        let t = lock(&self.dispatch);
        let mut found: Vec<UnattendedTrip> = t
            .trips
            .values()
            .filter(|trip| matches!(trip.status(), TripStatus::Pending | TripStatus::Assigning))
            .filter_map(|trip| {
                let timed_out = trip.requested_at() <= q.now - q.timeout;
                let idle = !t.open_by_trip.contains_key(&trip.id())
                    && t.quiet_since(trip) <= q.now - q.quiet;
                (timed_out || idle).then(|| UnattendedTrip {
                    trip: trip.clone(),
                    timed_out,
                })
            })
            .collect();
        found.sort_by_key(|u| (u.trip.requested_at(), u.trip.id()));
        found.truncate(q.limit);
        Ok(found)
    }

    async fn now(&self) -> Result<OffsetDateTime, Unexpected> {
        Ok(self.clock.now())
    }

    async fn due_offers(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Offer>, Unexpected> {
        let t = lock(&self.dispatch);
        let mut due: Vec<Offer> = t
            .open_by_trip
            .values()
            .filter_map(|id| t.offers.get(id))
            .filter(|o| o.status() == OfferStatus::Offered && o.expires_at() <= now)
            .cloned()
            .collect();
        due.sort_by_key(|o| o.expires_at());
        due.truncate(limit);
        Ok(due)
    }

    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict> {
        let mut availability = lock(&self.availability);
        let mut dispatch = lock(&self.dispatch);
        // Held to the end of the write: a ban is stored either before the check or after it.
        let users = crate::lock::read(&self.users);
        dispatch.check(write)?;
        if let Some(o) = &write.offer
            && o.status() == OfferStatus::Accepted
            && users.is_inactive(o.driver_id())
        {
            return Err(DispatchConflict::DriverInactive);
        }
        if let Some(change) = &write.availability {
            availability.check_cas(change.expected_version, &change.next)?;
        }
        if let Some(o) = &write.new_offer {
            let matchable = !users.is_inactive(o.driver_id())
                && availability
                    .row(o.driver_id())
                    .is_some_and(|row| row.state.is_available_for_trips && row.state.is_connected);
            if !matchable {
                return Err(DispatchConflict::DriverNotMatchable);
            }
        }
        // Every guard held: write everything. The stored seq is the store's to number.
        let numbered = write.trip_id();
        let seq = numbered
            .and_then(|id| dispatch.trips.get(&id))
            .map(|stored| stored.seq() + u64::from(write.events));
        if let Some(change) = &write.availability {
            availability
                .compare_and_set(change.expected_version, &change.next)
                .map_err(|e| Unexpected::msg(format!("checked write failed: {e}")))?;
        }
        if let Some(t) = &write.trip {
            dispatch.put_trip(&t.next);
        }
        if let (Some(id), Some(seq)) = (numbered, seq)
            && let Some(stored) = dispatch.trips.get_mut(&id)
        {
            stored.set_seq(seq);
        }
        if let Some(o) = &write.offer {
            dispatch.put_offer(o);
        }
        if let Some(o) = &write.new_offer {
            dispatch.put_offer(o);
        }
        let trip = write
            .trip
            .as_ref()
            .map(|t| t.next.id())
            .or(write.offer.as_ref().map(|o| o.trip_id()));
        let withdrawn = match (write.withdraw_open_offers_at, trip) {
            (Some(at), Some(trip)) => dispatch.withdraw_open(trip, at),
            _ => Vec::new(),
        };
        Ok(Applied { withdrawn, seq })
    }
}

#[async_trait]
impl TripStandingLookup for MemoryStore {
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected> {
        Ok(lock(&self.dispatch)
            .trips
            .get(&trip)
            .map_or(TripStanding::External, Trip::standing))
    }
}
