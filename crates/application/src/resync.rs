//! Read-side use cases of a client that (re)connects or found a gap in a trip's events: the
//! state a socket needs to render from scratch (`hello.state`) and `trip:sync`. Everything is
//! read from the store, so it answers the same on whatever node the socket lands.
//! Methods of [`TripService`].

use rodando_domain::availability::{DriverAvailability, Position};
use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{Actor, Trip};
use rodando_domain::user::Role;
use rodando_ports::Unexpected;
use time::Duration;

use crate::Principal;
use crate::trips::{TripCommandError, TripService};

/// An open offer as its driver finds it on reconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOffer {
    /// The offer, still open.
    pub offer: Offer,
    /// Its trip (with its current [`Trip::seq`]).
    pub trip: Trip,
    /// Time left to answer, on the store's clock (the one the deadline was set on).
    pub remaining: Duration,
}

/// The driver of an active trip, as the passenger's app shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TripDriver {
    /// Who.
    pub id: DriverId,
    /// Display name (empty if the user is gone).
    pub name: String,
    /// Last known position, if any.
    pub position: Option<Position>,
}

/// A trip that is not finished, with its assigned driver once there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveTrip {
    /// The trip (with its current [`Trip::seq`]).
    pub trip: Trip,
    /// Its driver, once assigned.
    pub driver: Option<TripDriver>,
}

/// What a socket needs to render from scratch right after admission.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionState {
    /// A driver's own availability snapshot; `None` for passengers.
    pub availability: Option<DriverAvailability>,
    /// A driver's open offers (at most one today); empty for passengers.
    pub offers: Vec<OpenOffer>,
    /// The driver's or passenger's trip that is not finished, if any.
    pub active_trip: Option<ActiveTrip>,
}

impl TripService {
    /// The state of `principal`'s new socket: a driver's availability, open offers (with the
    /// time left on the store's clock; an offer already past its deadline is left out) and
    /// active trip; a passenger's active trip with its driver. `None` for admins, who have
    /// the snapshots (`admin:drivers:snapshot`).
    ///
    /// # Errors
    /// [`Unexpected`] when a store fails.
    pub async fn session_state(
        &self,
        principal: &Principal,
    ) -> Result<Option<SessionState>, Unexpected> {
        match principal.role() {
            Role::Admin(_) => Ok(None),
            Role::Passenger(passenger) => Ok(Some(SessionState {
                active_trip: self.passenger_trip(passenger).await?,
                ..SessionState::default()
            })),
            Role::Driver(driver) => self.driver_state(driver).await.map(Some),
        }
    }

    /// `trip:sync`: the trip as stored now, with its latest [`Trip::seq`], if `actor` may see
    /// it (its passenger, its assigned driver, an admin).
    ///
    /// # Errors
    /// [`TripCommandError::NotFound`] when missing or not visible to `actor` (as
    /// `GET /api/trips/{id}`, it does not tell the two apart), or unexpected.
    pub async fn sync(&self, actor: Actor, trip: TripId) -> Result<Trip, TripCommandError> {
        self.get(actor, trip).await
    }

    async fn driver_state(&self, driver: DriverId) -> Result<SessionState, Unexpected> {
        let now = self.clock.now();
        let availability = self.availability.load_or_create(driver, now).await?.state;
        let mut offers = Vec::new();
        if let Some(offer) = self.trips.open_offer_of(driver).await? {
            let remaining = offer.expires_at() - self.trips.now().await?;
            if offer.is_open()
                && remaining > Duration::ZERO
                && let Some(trip) = self.trips.find(offer.trip_id()).await?
            {
                offers.push(OpenOffer {
                    offer,
                    trip,
                    remaining,
                });
            }
        }
        let active_trip = match availability.current_trip_id {
            Some(id) => match self.trips.find(id).await? {
                Some(trip) if trip.status().is_active() && trip.driver_id() == Some(driver) => {
                    let me = self.trip_driver(driver, availability.last_location).await?;
                    Some(ActiveTrip {
                        trip,
                        driver: Some(me),
                    })
                }
                _ => None,
            },
            None => None,
        };
        Ok(SessionState {
            availability: Some(availability),
            offers,
            active_trip,
        })
    }

    async fn passenger_trip(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<ActiveTrip>, Unexpected> {
        let Some(trip) = self.trips.active_for_passenger(passenger).await? else {
            return Ok(None);
        };
        let driver = match trip.driver_id() {
            Some(d) => {
                let position = self
                    .availability
                    .find(d)
                    .await?
                    .and_then(|row| row.state.last_location);
                Some(self.trip_driver(d, position).await?)
            }
            None => None,
        };
        Ok(Some(ActiveTrip { trip, driver }))
    }

    async fn trip_driver(
        &self,
        id: DriverId,
        position: Option<Position>,
    ) -> Result<TripDriver, Unexpected> {
        let name = self
            .users
            .find_by_id(id.user_id())
            .await?
            .map(|u| u.name.as_str().to_owned())
            .unwrap_or_default();
        Ok(TripDriver { id, name, position })
    }
}
