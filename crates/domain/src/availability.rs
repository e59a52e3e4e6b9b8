//! Driver availability: the aggregate, its invariants and the rules that change it.
//!
//! Every rule is a pure function `(state, command, facts, now) -> Result<new state, RuleViolation>`.
//! The application loads the current state, applies a rule, stores the result atomically and
//! broadcasts only what changed ([`Change`]).
//!
//! Invariants, enforced by [`DriverAvailability::restore`] and preserved by every rule:
//! - available ⇒ online ∧ no trip ∧ reason `None`
//! - offline ⇒ not available ∧ reason `Offline`
//! - trip set ⇒ online ∧ not available ∧ reason `OnTrip`

use std::ops::Deref;

use time::{Duration, OffsetDateTime};

use crate::geo::GeoPoint;
use crate::ids::{DriverId, TripId, VehicleId};

/// What a client sees: derived from `isOnline` and `isAvailableForTrips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityStatus {
    /// Online and taking trips.
    Available,
    /// Online, not taking trips (on a trip or paused).
    Busy,
    /// Not online.
    Offline,
}

impl AvailabilityStatus {
    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Busy => "BUSY",
            Self::Offline => "OFFLINE",
        }
    }
}

/// Why a driver is not available for trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityReason {
    /// Not online.
    Offline,
    /// Holding a trip.
    OnTrip,
    /// Online but paused by the driver.
    Unavailable,
}

impl AvailabilityReason {
    /// Wire and storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "OFFLINE",
            Self::OnTrip => "ON_TRIP",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    /// Parses the storage name.
    ///
    /// # Errors
    /// [`crate::user::UnknownVariant`] for anything else.
    pub fn parse(s: &str) -> Result<Self, crate::user::UnknownVariant> {
        match s {
            "OFFLINE" => Ok(Self::Offline),
            "ON_TRIP" => Ok(Self::OnTrip),
            "UNAVAILABLE" => Ok(Self::Unavailable),
            _ => Err(crate::user::UnknownVariant),
        }
    }
}

/// A stored position and when it was recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Where.
    pub point: GeoPoint,
    /// When (the device's time if plausible, else the server's).
    pub at: OffsetDateTime,
}

/// A location ping as the driver's app reported it, already validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocationFix {
    /// Where.
    pub point: GeoPoint,
    /// Horizontal accuracy in metres, if reported.
    pub accuracy_m: Option<f64>,
    /// Heading in degrees [0, 360), if reported.
    pub heading_deg: Option<f64>,
    /// Speed in km/h, if reported.
    pub speed_kph: Option<f64>,
    /// The device's timestamp, if reported.
    pub recorded_at: Option<OffsetDateTime>,
}

/// A device timestamp further than this from the server's clock is not trusted.
pub const MAX_CLOCK_SKEW: Duration = Duration::seconds(30);

/// The raw fields of a driver's availability, as a store holds them. Turned into a
/// [`DriverAvailability`] only through [`DriverAvailability::restore`], which checks the invariants.
#[derive(Debug, Clone, PartialEq)]
pub struct AvailabilityRecord {
    /// The driver.
    pub driver_id: DriverId,
    /// Connected and working.
    pub is_online: bool,
    /// May be offered trips.
    pub is_available_for_trips: bool,
    /// Why not available, `None` when available.
    pub availability_reason: Option<AvailabilityReason>,
    /// Latest fix.
    pub last_location: Option<Position>,
    /// Trip held, if any.
    pub current_trip_id: Option<TripId>,
    /// Vehicle in use, if known.
    pub current_vehicle_id: Option<VehicleId>,
    /// When the driver last went from offline to online.
    pub last_online_at: Option<OffsetDateTime>,
    /// Last sign of life (ping or any driver event).
    pub last_presence_at: Option<OffsetDateTime>,
    /// Holds at least one socket, on any node: only then can it hear an offer. Unlike
    /// `is_online` (a status the driver chose, kept through short disconnects until the presence
    /// TTL), this follows the transport.
    pub is_connected: bool,
    /// Last change of any field.
    pub updated_at: OffsetDateTime,
}

/// A driver's availability that satisfies every invariant. Read its fields through `Deref`.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverAvailability(AvailabilityRecord);

impl Deref for DriverAvailability {
    type Target = AvailabilityRecord;
    fn deref(&self) -> &AvailabilityRecord {
        &self.0
    }
}

/// A stored record breaks an invariant (only possible through a bug or manual edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    /// available ⇒ online ∧ no trip ∧ reason null.
    #[error("available for trips while offline, on a trip or with a reason")]
    AvailableButNotFree,
    /// offline ⇒ not available ∧ reason OFFLINE.
    #[error("offline without reason OFFLINE")]
    OfflineWithoutReason,
    /// trip set ⇒ online ∧ reason ON_TRIP.
    #[error("holding a trip while offline or without reason ON_TRIP")]
    TripWithoutOnTrip,
    /// not available ∧ online ⇒ reason is ON_TRIP or UNAVAILABLE.
    #[error("online, not available, and no matching reason")]
    BusyWithoutReason,
}

/// The driver status a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCommand {
    /// Go online and take trips.
    Available,
    /// Stay online, take no trips.
    Busy,
    /// Go offline.
    Offline,
}

/// What this server knows of a trip a rule concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripStanding {
    /// Not dispatched here: a trip handled by another system, accepted as is.
    External,
    /// Dispatched by this server.
    Dispatched {
        /// The driver it is assigned to, if any.
        assigned_to: Option<DriverId>,
        /// Not yet completed, cancelled or abandoned.
        active: bool,
    },
}

impl TripStanding {
    /// A trip dispatched here, in `status`, assigned to `assigned_to`.
    pub fn dispatched(assigned_to: Option<DriverId>, status: crate::trip::TripStatus) -> Self {
        Self::Dispatched {
            assigned_to,
            active: status.is_active(),
        }
    }

    fn is_active_dispatch_of(self, driver: DriverId) -> bool {
        matches!(self, Self::Dispatched { assigned_to: Some(d), active: true } if d == driver)
    }
}

/// Why a rule refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// AVAILABLE while holding a trip, or OFFLINE during an active dispatched trip.
    #[error("the driver is on a trip")]
    OnTrip,
    /// Clearing or replacing a dispatched trip that is still active.
    #[error("the driver's dispatched trip is still active; complete or cancel it first")]
    ActiveTrip,
    /// Setting a trip dispatched here to another driver.
    #[error("that trip is assigned to another driver")]
    TripNotAssigned,
    /// Setting a dispatched trip that is already finished.
    #[error("that trip is finished")]
    TripFinished,
}

impl RuleViolation {
    /// Machine-readable reason, sent as `details.reason`.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::OnTrip => "on_trip",
            Self::ActiveTrip => "active_trip",
            Self::TripNotAssigned => "trip_not_assigned",
            Self::TripFinished => "trip_finished",
        }
    }

    /// Whether the refusal is about permission (`forbidden`) rather than state (`conflict`).
    pub const fn is_forbidden(self) -> bool {
        matches!(self, Self::TripNotAssigned)
    }
}

/// Which client-visible parts changed between two states; presence and `updatedAt` alone are
/// not news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Change {
    /// Online, available or reason changed.
    pub status: bool,
    /// Position or its timestamp changed.
    pub location: bool,
    /// Current trip changed.
    pub trip: bool,
}

impl Change {
    /// Whether anything a client can see changed.
    pub fn any(self) -> bool {
        self.status || self.location || self.trip
    }
}

impl DriverAvailability {
    /// A driver seen for the first time: offline, nothing known.
    pub fn new_offline(driver_id: DriverId, now: OffsetDateTime) -> Self {
        Self(AvailabilityRecord {
            driver_id,
            is_online: false,
            is_available_for_trips: false,
            availability_reason: Some(AvailabilityReason::Offline),
            last_location: None,
            current_trip_id: None,
            current_vehicle_id: None,
            last_online_at: None,
            last_presence_at: None,
            is_connected: false,
            updated_at: now,
        })
    }

    /// Accepts a stored record only if it satisfies every invariant.
    ///
    /// # Errors
    /// The first [`InvariantViolation`] found.
    pub fn restore(record: AvailabilityRecord) -> Result<Self, InvariantViolation> {
        let r = &record;
        if r.is_available_for_trips
            && (!r.is_online || r.current_trip_id.is_some() || r.availability_reason.is_some())
        {
            return Err(InvariantViolation::AvailableButNotFree);
        }
        if !r.is_online
            && (r.is_available_for_trips
                || r.availability_reason != Some(AvailabilityReason::Offline))
        {
            return Err(InvariantViolation::OfflineWithoutReason);
        }
        if r.current_trip_id.is_some()
            && (!r.is_online || r.availability_reason != Some(AvailabilityReason::OnTrip))
        {
            return Err(InvariantViolation::TripWithoutOnTrip);
        }
        if r.is_online
            && !r.is_available_for_trips
            && !matches!(
                r.availability_reason,
                Some(AvailabilityReason::OnTrip | AvailabilityReason::Unavailable)
            )
        {
            return Err(InvariantViolation::BusyWithoutReason);
        }
        Ok(Self(record))
    }

    /// The raw record, for stores.
    pub fn into_record(self) -> AvailabilityRecord {
        self.0
    }

    /// Derived status clients display.
    pub fn status(&self) -> AvailabilityStatus {
        match (self.is_online, self.is_available_for_trips) {
            (false, _) => AvailabilityStatus::Offline,
            (true, true) => AvailabilityStatus::Available,
            (true, false) => AvailabilityStatus::Busy,
        }
    }

    /// Applies `driver:status:update`. `current_trip` is the standing of the trip the driver
    /// holds, if any ([`TripStanding::External`] when none).
    ///
    /// # Errors
    /// [`RuleViolation::OnTrip`] for AVAILABLE while holding a trip, or OFFLINE during an active
    /// dispatched trip.
    pub fn set_status(
        &self,
        command: StatusCommand,
        current_trip: TripStanding,
        now: OffsetDateTime,
    ) -> Result<Self, RuleViolation> {
        let mut next = self.0.clone();
        match command {
            StatusCommand::Available => {
                if self.current_trip_id.is_some() {
                    return Err(RuleViolation::OnTrip);
                }
                go_online(&mut next, now);
                next.is_available_for_trips = true;
                next.availability_reason = None;
            }
            StatusCommand::Busy => {
                go_online(&mut next, now);
                next.is_available_for_trips = false;
                next.availability_reason = Some(if self.current_trip_id.is_some() {
                    AvailabilityReason::OnTrip
                } else {
                    AvailabilityReason::Unavailable
                });
            }
            StatusCommand::Offline => {
                if self.current_trip_id.is_some()
                    && current_trip.is_active_dispatch_of(self.driver_id)
                {
                    return Err(RuleViolation::OnTrip);
                }
                // An offline driver holds no trip (invariant); a trip handled elsewhere, or a
                // finished one, is let go.
                go_offline(&mut next);
            }
        }
        next.last_presence_at = Some(now);
        Ok(self.evolve(next, now))
    }

    /// Applies `driver:location:ping`: stores the fix and refreshes presence; never changes
    /// online or available.
    pub fn record_location(&self, fix: &LocationFix, now: OffsetDateTime) -> Self {
        let at = match fix.recorded_at {
            Some(t) if (t - now).abs() <= MAX_CLOCK_SKEW => t,
            _ => now,
        };
        let mut next = self.0.clone();
        next.last_location = Some(Position {
            point: fix.point,
            at,
        });
        next.last_presence_at = Some(now);
        self.evolve(next, now)
    }

    /// Applies `driver:trip:set {tripId}`. `trip` is the standing of the trip being set,
    /// `current_trip` that of the trip already held (if any).
    ///
    /// # Errors
    /// [`RuleViolation::TripNotAssigned`] when it was dispatched to someone else,
    /// [`RuleViolation::TripFinished`] when dispatched and finished,
    /// [`RuleViolation::ActiveTrip`] when another active dispatched trip is held.
    pub fn set_trip(
        &self,
        trip_id: TripId,
        trip: TripStanding,
        current_trip: TripStanding,
        now: OffsetDateTime,
    ) -> Result<Self, RuleViolation> {
        if let TripStanding::Dispatched {
            assigned_to,
            active,
        } = trip
        {
            if assigned_to != Some(self.driver_id) {
                return Err(RuleViolation::TripNotAssigned);
            }
            if !active {
                return Err(RuleViolation::TripFinished);
            }
        }
        if self.current_trip_id.is_some_and(|held| held != trip_id)
            && current_trip.is_active_dispatch_of(self.driver_id)
        {
            return Err(RuleViolation::ActiveTrip);
        }
        let mut next = self.0.clone();
        go_online(&mut next, now);
        next.current_trip_id = Some(trip_id);
        next.is_available_for_trips = false;
        next.availability_reason = Some(AvailabilityReason::OnTrip);
        next.last_presence_at = Some(now);
        Ok(self.evolve(next, now))
    }

    /// Applies `driver:trip:set {tripId: null}`: back to AVAILABLE if online, OFFLINE if not.
    ///
    /// # Errors
    /// [`RuleViolation::ActiveTrip`] while the held trip is an active dispatched trip.
    pub fn clear_trip(
        &self,
        current_trip: TripStanding,
        now: OffsetDateTime,
    ) -> Result<Self, RuleViolation> {
        if self.current_trip_id.is_some() && current_trip.is_active_dispatch_of(self.driver_id) {
            return Err(RuleViolation::ActiveTrip);
        }
        let mut next = self.release(now);
        next.last_presence_at = Some(now);
        Ok(self.evolve(next, now))
    }

    /// A trip this driver held was completed or cancelled: same as clearing it. Returns `None`
    /// when the driver no longer holds `trip_id` (nothing to do).
    pub fn finish_trip(&self, trip_id: TripId, now: OffsetDateTime) -> Option<Self> {
        (self.current_trip_id == Some(trip_id)).then(|| {
            let next = self.release(now);
            self.evolve(next, now)
        })
    }

    /// A socket of the driver was admitted: it can hear offers again. Status and presence are
    /// untouched (a reconnect within the presence TTL needs no status change).
    pub fn connect(&self, now: OffsetDateTime) -> Self {
        let mut next = self.0.clone();
        next.is_connected = true;
        self.evolve(next, now)
    }

    /// The driver's last socket, on every node, closed: it cannot hear an offer, so it is not
    /// matchable, but it stays online (and keeps any trip or open offer) until the presence TTL.
    pub fn disconnect(&self, now: OffsetDateTime) -> Self {
        let mut next = self.0.clone();
        next.is_connected = false;
        self.evolve(next, now)
    }

    /// Whether the presence sweeper should take this driver offline: online, holding no trip,
    /// and silent for at least `ttl`.
    pub fn is_stale(&self, now: OffsetDateTime, ttl: Duration) -> bool {
        self.is_online
            && self.current_trip_id.is_none()
            && self.last_presence_at.is_none_or(|seen| now - seen >= ttl)
    }

    /// The presence sweeper's rule: `Some(offline state)` when [`Self::is_stale`].
    pub fn sweep(&self, now: OffsetDateTime, ttl: Duration) -> Option<Self> {
        self.is_stale(now, ttl).then(|| {
            let mut next = self.0.clone();
            go_offline(&mut next);
            self.evolve(next, now)
        })
    }

    /// Whether dispatch may offer this driver a trip: available (hence online, no trip),
    /// connected, with a presence and a position fresher than `ttl`.
    pub fn is_matchable(&self, now: OffsetDateTime, ttl: Duration) -> bool {
        self.is_available_for_trips
            && self.is_connected
            && self.last_presence_at.is_some_and(|t| now - t < ttl)
            && self.last_location.is_some_and(|p| now - p.at < ttl)
    }

    /// What a client would see change from `self` to `next`.
    pub fn change_to(&self, next: &Self) -> Change {
        Change {
            status: self.is_online != next.is_online
                || self.is_available_for_trips != next.is_available_for_trips
                || self.availability_reason != next.availability_reason,
            location: self.last_location != next.last_location,
            trip: self.current_trip_id != next.current_trip_id,
        }
    }

    fn release(&self, now: OffsetDateTime) -> AvailabilityRecord {
        let mut next = self.0.clone();
        next.current_trip_id = None;
        if next.is_online {
            go_online(&mut next, now);
            next.is_available_for_trips = true;
            next.availability_reason = None;
        } else {
            go_offline(&mut next);
        }
        next
    }

    /// Stamps `updated_at` only when a field changed, so an idempotent command stays a no-op.
    fn evolve(&self, mut next: AvailabilityRecord, now: OffsetDateTime) -> Self {
        next.updated_at = self.updated_at;
        if next != self.0 {
            next.updated_at = now;
        }
        Self(next)
    }
}

fn go_online(r: &mut AvailabilityRecord, now: OffsetDateTime) {
    if !r.is_online {
        r.is_online = true;
        r.last_online_at = Some(now);
    }
}

fn go_offline(r: &mut AvailabilityRecord) {
    r.is_online = false;
    r.is_available_for_trips = false;
    r.availability_reason = Some(AvailabilityReason::Offline);
    r.current_trip_id = None;
}
