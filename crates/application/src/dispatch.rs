//! Dispatch: offering a trip to the nearest free driver, one at a time with a deadline, and
//! the driver's answer (PROTOCOL §8). Methods of [`TripService`].

use std::time::Duration as StdDuration;

use rodando_domain::availability::TripStanding;
use rodando_domain::dispatch::{Candidate, NextStep, TIMEOUT};
use rodando_domain::fare::eta_sec;
use rodando_domain::ids::{DriverId, OfferId, TripId};
use rodando_domain::offer::{Offer, OfferError};
use rodando_domain::trip::{Trip, TripStatus};
use rodando_ports::Unexpected;
use rodando_ports::availability::NearestQuery;
use rodando_ports::notifier::{TripAudience, TripEvent};
use rodando_ports::trips::{
    AvailabilityChange, DispatchConflict, DispatchWrite, TripTransition, UnattendedQuery,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::trips::{MAX_ATTEMPTS, TripCommandError, TripService, conflict};

/// Candidates fetched per dispatch step: enough to skip a few that race us.
const CANDIDATES_PER_STEP: usize = 8;

/// Dispatch steps lost to concurrent writers before leaving the trip to the scheduler. Every
/// loss means another trip took a driver, so candidates run out long before this under any
/// real contention.
const MAX_DISPATCH_ATTEMPTS: usize = 64;

/// How long a waiting trip may sit with no open offer and nothing happening before the
/// scheduler dispatches it again: long enough that the node handling it normally (an offer
/// just closed, a request just made) has acted, short enough that a passenger barely notices a
/// node that died or a store that failed mid-dispatch.
pub const UNATTENDED_AFTER: time::Duration = time::Duration::seconds(3);

/// Retries of a dispatch that failed on a store error, before leaving it to the scheduler: the
/// first after 100 ms, doubling (about 3 s in all, when [`UNATTENDED_AFTER`] takes over).
const DISPATCH_RETRIES: u32 = 5;
const FIRST_RETRY_DELAY: StdDuration = StdDuration::from_millis(100);

impl TripService {
    /// Makes the next offer of a trip that has none open, or gives up on it. Safe to call any
    /// number of times, from any node: guarded writes let exactly one caller act.
    ///
    /// # Errors
    /// [`Unexpected`] when a store fails.
    pub async fn dispatch(&self, trip_id: TripId) -> Result<(), Unexpected> {
        match self.trips.find(trip_id).await? {
            Some(trip) => self.dispatch_trip(trip).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// [`TripService::dispatch`] of a trip just read (or just stored): returns the trip as
    /// dispatch left it, so callers need not read it again. Only a lost race reads it again.
    pub(crate) async fn dispatch_trip(&self, mut trip: Trip) -> Result<Trip, Unexpected> {
        for attempt in 0..MAX_DISPATCH_ATTEMPTS {
            if attempt > 0 {
                match self.trips.find(trip.id()).await? {
                    Some(current) => trip = current,
                    None => return Ok(trip),
                }
            }
            if !matches!(trip.status(), TripStatus::Pending | TripStatus::Assigning) {
                return Ok(trip);
            }
            let now = self.clock.now();
            let step = if self.policy.timed_out(trip.requested_at(), now) {
                self.give_up(&trip, TIMEOUT).await
            } else {
                let offers = self.trips.offers_for_trip(trip.id()).await?;
                if offers.iter().any(Offer::is_open) {
                    return Ok(trip);
                }
                // The store also skips drivers holding an open offer of another trip.
                let offered: Vec<DriverId> = offers.iter().map(|o| o.driver_id()).collect();
                let candidates = self
                    .availability
                    .nearest_available(&NearestQuery {
                        origin: trip.pickup().point,
                        radius_m: self.policy.radius_m,
                        limit: CANDIDATES_PER_STEP,
                        now,
                        freshness: self.presence_ttl,
                        exclude: offered,
                    })
                    .await?;
                let offers_made = u32::try_from(offers.len()).unwrap_or(u32::MAX);
                match self.policy.next_step(offers_made, &candidates) {
                    NextStep::Offer(candidate) => self.offer(&trip, candidate).await,
                    NextStep::GiveUp(reason) => self.give_up(&trip, reason).await,
                }
            };
            match step {
                Ok(next) => return Ok(next),
                Err(DispatchConflict::Unexpected(e)) => return Err(e),
                // Someone else moved the trip or took the driver: look again.
                Err(_) => continue,
            }
        }
        tracing::warn!(trip_id = %trip.id(), "dispatch kept losing races; the scheduler will retry");
        Ok(trip)
    }

    /// [`TripService::dispatch_trip`] now; when a store fails, again in the background with
    /// backoff (100 ms, doubling), and after that the scheduler's next pass. Never only logged.
    /// Returns the trip as dispatch left it (as given when it failed).
    pub(crate) async fn dispatch_or_retry(&self, trip: Trip) -> Trip {
        let trip_id = trip.id();
        let e = match self.dispatch_trip(trip.clone()).await {
            Ok(next) => return next,
            Err(e) => e,
        };
        tracing::warn!(trip_id = %trip_id, error = %e, "dispatch failed; retrying");
        let service = self.clone();
        tokio::spawn(async move {
            let mut delay = FIRST_RETRY_DELAY;
            for attempt in 1..=DISPATCH_RETRIES {
                tokio::time::sleep(delay).await;
                match service.dispatch(trip_id).await {
                    Ok(()) => return,
                    Err(e) if attempt == DISPATCH_RETRIES => {
                        tracing::error!(trip_id = %trip_id, error = %e, "dispatch still failing; left to the scheduler");
                    }
                    Err(e) => {
                        tracing::warn!(trip_id = %trip_id, attempt, error = %e, "dispatch retry failed");
                    }
                }
                delay *= 2;
            }
        });
        trip
    }

    /// The scheduler's second duty: every waiting trip nobody is acting on (no open offer for
    /// [`UNATTENDED_AFTER`], after a store error, lost races or a node that died between two
    /// offers) is dispatched again, and every trip past `DISPATCH_TIMEOUT_SEC` ends
    /// `no_drivers_found` (`timeout`). Guarded writes let exactly one node act on each trip.
    /// Returns how many trips were looked at.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails to list them (a failed dispatch of one trip is
    /// logged and left to the next pass).
    pub async fn attend_unattended(&self, batch: usize) -> Result<usize, Unexpected> {
        let now = self.trips.now().await?;
        let waiting = self
            .trips
            .unattended(&UnattendedQuery {
                now,
                quiet: UNATTENDED_AFTER,
                timeout: self.policy.assign_timeout,
                limit: batch,
            })
            .await?;
        for unattended in &waiting {
            let trip = &unattended.trip;
            if unattended.timed_out {
                tracing::info!(trip_id = %trip.id(), "trip timed out waiting for a driver");
            } else {
                tracing::info!(trip_id = %trip.id(), "trip had no open offer; dispatching again");
            }
            // `dispatch_trip` gives up on a timed-out trip itself.
            if let Err(e) = self.dispatch_trip(trip.clone()).await {
                tracing::error!(trip_id = %trip.id(), error = ?e, "scheduled dispatch failed");
            }
        }
        Ok(waiting.len())
    }

    /// A driver who went OFFLINE or BUSY cannot answer its open offer: it is closed at once as
    /// rejected with `reason`, and the trip moves to the next candidate. Returns the closed
    /// offer, if there was one.
    ///
    /// # Errors
    /// [`Unexpected`] when a store fails.
    pub async fn release_open_offer(
        &self,
        driver: DriverId,
        reason: &str,
    ) -> Result<Option<Offer>, Unexpected> {
        let Some(offer) = self.trips.open_offer_of(driver).await? else {
            return Ok(None);
        };
        let now = self.trips.now().await?;
        let Ok(rejected) = offer.reject(driver, Some(reason.to_owned()), now) else {
            return Ok(None);
        };
        let seq = match self.close_offer(rejected.clone()).await {
            Ok(seq) => seq,
            Err(TripCommandError::Unexpected(e)) => return Err(e),
            Err(_) => return Ok(None), // answered, expired or withdrawn meanwhile
        };
        tracing::info!(trip_id = %offer.trip_id(), driver_id = %driver, reason, "open offer released");
        self.after_closed(TripEvent::OfferRejected(rejected.clone()), &rejected, seq)
            .await;
        Ok(Some(rejected))
    }

    /// Offers `trip` to `candidate`; returns the trip as stored (assigning).
    async fn offer(&self, trip: &Trip, candidate: Candidate) -> Result<Trip, DispatchConflict> {
        // The deadline is on the store's clock, the one every node compares it with.
        let now = self.trips.now().await?;
        let starting = trip.status() == TripStatus::Pending;
        let mut assigning = if starting {
            trip.start_assigning()
                .map_err(|_| DispatchConflict::TripChanged)?
        } else {
            trip.clone()
        };
        let transition = starting.then(|| TripTransition {
            expected: trip.status(),
            next: assigning.clone(),
        });
        let offer = Offer::new(
            OfferId::from_uuid(Uuid::now_v7()),
            trip.id(),
            candidate.driver_id,
            candidate.distance_m,
            now,
            self.policy.offer_ttl,
        );
        // `trip:assigning_started` is on the trip's stream; the offer is its driver's alone and
        // carries the trip's seq without adding to it, so nobody else sees a gap.
        let applied = self
            .trips
            .apply(&DispatchWrite {
                trip: transition,
                new_offer: Some(offer.clone()),
                events: u32::from(starting),
                ..DispatchWrite::default()
            })
            .await?;
        assigning.set_seq(applied.seq.unwrap_or(assigning.seq() + u64::from(starting)));
        tracing::info!(trip_id = %trip.id(), driver_id = %offer.driver_id(), distance_m = offer.distance_to_pickup_m(), seq = assigning.seq(), "trip offered");
        if starting {
            self.announce(&assigning, TripEvent::AssigningStarted { at: now })
                .await;
        }
        let audience = TripAudience {
            trip_id: trip.id(),
            passenger_id: trip.passenger_id(),
            driver_id: Some(offer.driver_id()),
        };
        self.announce_to(
            audience,
            assigning.seq(),
            TripEvent::Offered {
                offer,
                trip: trip.clone(),
            },
        )
        .await;
        Ok(assigning)
    }

    /// Ends `trip` as `no_drivers_found` with `reason`, withdrawing any open offer; returns the
    /// trip as stored.
    async fn give_up(&self, trip: &Trip, reason: &'static str) -> Result<Trip, DispatchConflict> {
        let now = self.clock.now();
        let mut next = trip
            .give_up(reason, now)
            .map_err(|_| DispatchConflict::TripChanged)?;
        let applied = self
            .trips
            .apply(&DispatchWrite {
                trip: Some(TripTransition {
                    expected: trip.status(),
                    next: next.clone(),
                }),
                withdraw_open_offers_at: Some(now),
                events: 1,
                ..DispatchWrite::default()
            })
            .await?;
        next.set_seq(applied.seq.unwrap_or(trip.seq() + 1));
        let withdrawn = applied.withdrawn;
        tracing::info!(trip_id = %trip.id(), reason, "no driver found");
        self.announce(
            &next,
            TripEvent::NoDriversFound {
                reason: reason.to_owned(),
            },
        )
        .await;
        self.tell_withdrawn(&next, withdrawn).await;
        Ok(next)
    }

    /// The offered driver takes the trip: in one write the offer is accepted, the trip becomes
    /// accepted and at once arriving, the driver holds the trip (ON_TRIP) and any other open
    /// offer of the trip is closed.
    ///
    /// # Errors
    /// [`TripCommandError::NotFound`] (no such offer), [`TripCommandError::Forbidden`] (not
    /// this driver's offer), [`TripCommandError::Offer`] (answered, expired or withdrawn),
    /// [`TripCommandError::DriverBusy`], [`TripCommandError::Changed`], or unexpected.
    pub async fn accept_offer(
        &self,
        driver: DriverId,
        offer_id: OfferId,
    ) -> Result<Trip, TripCommandError> {
        for _ in 0..MAX_ATTEMPTS {
            // Whether the offer is still open is judged on the store's clock, as its deadline
            // was set (see TripRepository::now).
            let now = self.trips.now().await?;
            let offer = self.own_offer(driver, offer_id).await?;
            let accepted = offer.accept(driver, now).map_err(TripCommandError::Offer)?;
            let trip = self
                .trips
                .find(offer.trip_id())
                .await?
                .ok_or(TripCommandError::NotFound)?;
            let assigned = trip
                .accept(driver, now)
                .map_err(|_| TripCommandError::Offer(OfferError::NotOpen))?;
            let mut arriving = assigned.begin_arriving()?;
            let row = self.availability.load_or_create(driver, now).await?;
            let held = match row.state.current_trip_id {
                Some(t) => self.standing(t).await?,
                None => TripStanding::External,
            };
            let mine = arriving.standing();
            let on_trip = row
                .state
                .set_trip(trip.id(), mine, held, now)
                .map_err(|_| TripCommandError::DriverBusy)?;
            let write = DispatchWrite {
                trip: Some(TripTransition {
                    expected: trip.status(),
                    next: arriving.clone(),
                }),
                offer: Some(accepted.clone()),
                availability: Some(AvailabilityChange {
                    expected_version: row.version,
                    next: on_trip.clone(),
                }),
                withdraw_open_offers_at: Some(now),
                // accepted, driver_assigned, arriving_started
                events: 3,
                ..DispatchWrite::default()
            };
            match self.trips.apply(&write).await {
                Ok(applied) => {
                    arriving.set_seq(applied.seq.unwrap_or(trip.seq() + 3));
                    let withdrawn = applied.withdrawn;
                    let audience = TripAudience::from(&arriving);
                    tracing::info!(trip_id = %trip.id(), driver_id = %driver, seq = arriving.seq(), "offer accepted");
                    let name = self
                        .users
                        .find_by_id(driver.user_id())
                        .await
                        .ok()
                        .flatten()
                        .map(|u| u.name.as_str().to_owned())
                        .unwrap_or_default();
                    let position = on_trip.last_location.map(|p| p.point);
                    let eta = position.map_or(0, |p| eta_sec(p.distance_m(&trip.pickup().point)));
                    let first = arriving.seq().saturating_sub(2);
                    self.announce_to(audience, first, TripEvent::OfferAccepted(accepted))
                        .await;
                    self.announce_to(
                        audience,
                        first + 1,
                        TripEvent::DriverAssigned {
                            trip: assigned,
                            driver_id: driver,
                            driver_name: name,
                        },
                    )
                    .await;
                    self.announce(
                        &arriving,
                        TripEvent::ArrivingStarted {
                            driver_id: driver,
                            eta_sec: eta,
                            driver_position: position,
                        },
                    )
                    .await;
                    self.tell_withdrawn(&arriving, withdrawn).await;
                    self.driver_trip_changed(&on_trip).await;
                    return Ok(arriving);
                }
                // The driver pinged meanwhile: read again and retry.
                Err(DispatchConflict::DriverChanged) => continue,
                Err(other) => return Err(conflict(other)),
            }
        }
        Err(TripCommandError::Changed)
    }

    /// The offered driver declines; the trip goes to the next candidate.
    ///
    /// # Errors
    /// As [`TripService::accept_offer`].
    pub async fn reject_offer(
        &self,
        driver: DriverId,
        offer_id: OfferId,
        reason: Option<String>,
    ) -> Result<Offer, TripCommandError> {
        let now = self.trips.now().await?;
        let offer = self.own_offer(driver, offer_id).await?;
        let rejected = offer
            .reject(driver, reason, now)
            .map_err(TripCommandError::Offer)?;
        let seq = self.close_offer(rejected.clone()).await?;
        tracing::info!(trip_id = %offer.trip_id(), driver_id = %driver, seq, "offer rejected");
        self.after_closed(TripEvent::OfferRejected(rejected.clone()), &rejected, seq)
            .await;
        Ok(rejected)
    }

    /// Expires every open offer past its stored deadline and moves each trip on. Returns how
    /// many were expired. Exactly one caller expires an offer, whatever the number of nodes.
    ///
    /// # Errors
    /// [`Unexpected`] when a store fails.
    pub async fn expire_due_offers(&self, batch: usize) -> Result<usize, Unexpected> {
        let now = self.trips.now().await?;
        let mut expired = 0;
        for offer in self.trips.due_offers(now, batch).await? {
            let Some(closed) = offer.expire(now) else {
                continue;
            };
            match self.close_offer(closed.clone()).await {
                Ok(seq) => {
                    expired += 1;
                    tracing::info!(trip_id = %offer.trip_id(), driver_id = %offer.driver_id(), seq, "offer expired");
                    self.after_closed(TripEvent::OfferExpired(closed.clone()), &closed, seq)
                        .await;
                }
                Err(TripCommandError::Unexpected(e)) => return Err(e),
                Err(_) => {} // answered or withdrawn meanwhile
            }
        }
        // Trips whose dispatch failed (none open, still waiting) are found by
        // `attend_unattended`, the scheduler's other duty.
        Ok(expired)
    }

    /// The dispatch scheduler of this node: every `interval` until `shutdown`, expires due
    /// offers ([`TripService::expire_due_offers`]) and moves on every trip nobody is acting on
    /// ([`TripService::attend_unattended`]). Every node runs one; guarded writes make exactly
    /// one act on each offer and trip.
    pub async fn run_scheduler(
        self,
        interval: StdDuration,
        batch: usize,
        shutdown: CancellationToken,
    ) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => {
                    if let Err(e) = self.expire_due_offers(batch).await {
                        tracing::error!(error = ?e, "offer expiry pass failed");
                    }
                    if let Err(e) = self.attend_unattended(batch).await {
                        tracing::error!(error = ?e, "unattended trips pass failed");
                    }
                }
            }
        }
        tracing::debug!("dispatch scheduler stopped");
    }

    async fn own_offer(
        &self,
        driver: DriverId,
        offer_id: OfferId,
    ) -> Result<Offer, TripCommandError> {
        let offer = self
            .trips
            .find_offer(offer_id)
            .await?
            .ok_or(TripCommandError::NotFound)?;
        if offer.driver_id() != driver {
            return Err(TripCommandError::Forbidden);
        }
        Ok(offer)
    }

    /// Closes an open offer, announcing one event on its trip's stream; returns the trip's seq
    /// after it.
    async fn close_offer(&self, next: Offer) -> Result<u64, TripCommandError> {
        let applied = self
            .trips
            .apply(&DispatchWrite {
                offer: Some(next),
                events: 1,
                ..DispatchWrite::default()
            })
            .await
            .map_err(conflict)?;
        applied
            .seq
            .ok_or_else(|| Unexpected::msg("an offer's trip has no seq").into())
    }

    /// Announces a closed offer as event `seq` of its trip (to the trip's audience and the
    /// offer's driver) and offers the trip to the next candidate.
    async fn after_closed(&self, event: TripEvent, offer: &Offer, seq: u64) {
        match self.trips.find(offer.trip_id()).await {
            Ok(Some(trip)) => {
                let audience = TripAudience {
                    driver_id: Some(offer.driver_id()),
                    ..TripAudience::from(&trip)
                };
                self.announce_to(audience, seq, event).await;
                self.dispatch_or_retry(trip).await;
            }
            Ok(None) => {}
            Err(e) => {
                // The store failed: the scheduler moves the trip on once it answers again.
                tracing::warn!(trip_id = %offer.trip_id(), error = %e, "closed offer not announced; dispatch left to the scheduler");
            }
        }
    }
}
