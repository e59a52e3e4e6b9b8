//! Trips: the state machine of PROTOCOL §8 and who may move it.
//!
//! ```text
//! pending → assigning → accepted → arriving → in_progress → completed
//!    └──────────┴→ no_drivers_found
//! any state before completed → cancelled (driver: only before in_progress)
//! ```
//! Each transition is a pure function returning the next trip; stores apply it guarded by the
//! expected status (`WHERE status = expected`), so concurrent transitions never both win.

use time::OffsetDateTime;

use crate::fare::{Cents, Currency};
use crate::geo::GeoPoint;
use crate::ids::{AdminId, DriverId, PassengerId, TripId};
use crate::user::Role;
use crate::user::UnknownVariant;

/// Where a trip starts or ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Position.
    pub point: GeoPoint,
    /// Free-text address, trimmed, at most [`Place::MAX_ADDRESS_CHARS`] characters.
    pub address: Option<String>,
}

impl Place {
    /// Longest address kept.
    pub const MAX_ADDRESS_CHARS: usize = 300;

    /// A place with an optional address; an over-long or control-laden address is refused.
    ///
    /// # Errors
    /// [`InvalidAddress`] when the address is longer than the limit or holds control characters.
    pub fn new(point: GeoPoint, address: Option<&str>) -> Result<Self, InvalidAddress> {
        let address = match address.map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a)
                if a.chars().count() > Self::MAX_ADDRESS_CHARS
                    || a.chars().any(char::is_control) =>
            {
                return Err(InvalidAddress);
            }
            Some(a) => Some(a.to_owned()),
        };
        Ok(Self { point, address })
    }
}

/// An address that is too long or holds control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most 300 printable characters")]
pub struct InvalidAddress;

/// How the passenger pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaymentMethod {
    /// Cash to the driver (the default).
    #[default]
    Cash,
    /// Card on file.
    Card,
}

impl PaymentMethod {
    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }

    /// Parses the wire name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything but `cash` or `card`.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "cash" => Ok(Self::Cash),
            "card" => Ok(Self::Card),
            _ => Err(UnknownVariant),
        }
    }
}

/// Where a trip is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TripStatus {
    /// Requested, no offer yet.
    Pending,
    /// Offers are being made.
    Assigning,
    /// A driver accepted.
    Accepted,
    /// The driver is on the way to the pickup (and may have arrived).
    Arriving,
    /// The passenger is on board.
    InProgress,
    /// Finished and charged.
    Completed,
    /// Cancelled by someone.
    Cancelled,
    /// Nobody took it.
    NoDriversFound,
}

impl TripStatus {
    /// Every status.
    pub const ALL: [TripStatus; 8] = [
        Self::Pending,
        Self::Assigning,
        Self::Accepted,
        Self::Arriving,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::NoDriversFound,
    ];

    /// Wire and storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Assigning => "assigning",
            Self::Accepted => "accepted",
            Self::Arriving => "arriving",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoDriversFound => "no_drivers_found",
        }
    }

    /// Parses the storage name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown status.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownVariant)
    }

    /// Not yet completed, cancelled or abandoned.
    pub const fn is_active(self) -> bool {
        !matches!(
            self,
            Self::Completed | Self::Cancelled | Self::NoDriversFound
        )
    }

    /// The transition table of PROTOCOL §8.
    pub const fn can_become(self, next: TripStatus) -> bool {
        use TripStatus::*;
        matches!(
            (self, next),
            (Pending, Assigning)
                | (Assigning, Accepted)
                | (Accepted, Arriving)
                | (Arriving, InProgress)
                | (InProgress, Completed)
                | (Pending | Assigning, NoDriversFound)
                | (
                    Pending | Assigning | Accepted | Arriving | InProgress,
                    Cancelled
                )
        )
    }
}

/// Who acts on a trip; identities always come from a verified token, never a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A passenger.
    Passenger(PassengerId),
    /// A driver.
    Driver(DriverId),
    /// An operator.
    Admin(AdminId),
    /// The server itself (expiry, dispatch).
    System,
}

impl Actor {
    /// What kind of actor this is (`cancelledBy` on the wire).
    pub const fn kind(self) -> ActorKind {
        match self {
            Self::Passenger(_) => ActorKind::Passenger,
            Self::Driver(_) => ActorKind::Driver,
            Self::Admin(_) => ActorKind::Admin,
            Self::System => ActorKind::System,
        }
    }
}

impl From<Role> for Actor {
    fn from(role: Role) -> Self {
        match role {
            Role::Passenger(id) => Self::Passenger(id),
            Role::Driver(id) => Self::Driver(id),
            Role::Admin(id) => Self::Admin(id),
        }
    }
}

/// The kinds of [`Actor`]: who cancelled a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// The trip's passenger.
    Passenger,
    /// The trip's driver.
    Driver,
    /// An operator.
    Admin,
    /// The server (a dispatch or expiry rule).
    System,
}

impl ActorKind {
    /// Every kind, for stores that check what they read.
    pub const ALL: [ActorKind; 4] = [Self::Passenger, Self::Driver, Self::Admin, Self::System];

    /// Wire and storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passenger => "passenger",
            Self::Driver => "driver",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }

    /// Parses the wire and storage name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything but the four names.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(UnknownVariant)
    }
}

/// Why a trip transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TripError {
    /// The actor has no say on this trip (or this step of it).
    #[error("not allowed on this trip")]
    Forbidden,
    /// The trip is not in a state this step can leave from.
    #[error("a {} trip cannot become {}", from.as_str(), to.as_str())]
    InvalidTransition {
        /// Current status.
        from: TripStatus,
        /// Wanted status.
        to: TripStatus,
    },
}

/// A trip. Its fields change only through the transitions below, which keep its invariants
/// (a driver exactly when one accepted it, the timestamps of the steps it went through); a
/// stored trip comes back through [`Trip::restore`], which checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip(TripRecord);

/// A trip as a store keeps it: every field, public, for [`Trip::restore`] to check.
#[derive(Debug, Clone, PartialEq)]
pub struct TripRecord {
    /// Identity.
    pub id: TripId,
    /// Who asked for it.
    pub passenger_id: PassengerId,
    /// Who drives it, once accepted.
    pub driver_id: Option<DriverId>,
    /// Where it is in its life.
    pub status: TripStatus,
    /// Start.
    pub pickup: Place,
    /// End.
    pub dropoff: Place,
    /// How it is paid.
    pub payment_method: PaymentMethod,
    /// Estimate made at request.
    pub fare_estimate: Cents,
    /// Final fare, at completion.
    pub fare_total: Option<Cents>,
    /// Currency of both amounts.
    pub currency: Currency,
    /// When requested.
    pub requested_at: OffsetDateTime,
    /// When a driver accepted.
    pub accepted_at: Option<OffsetDateTime>,
    /// When the driver reported arriving at the pickup.
    pub arrived_pickup_at: Option<OffsetDateTime>,
    /// When the ride started.
    pub started_at: Option<OffsetDateTime>,
    /// When it completed.
    pub completed_at: Option<OffsetDateTime>,
    /// When it was cancelled or abandoned.
    pub cancelled_at: Option<OffsetDateTime>,
    /// Who cancelled.
    pub cancelled_by: Option<ActorKind>,
    /// Why it was cancelled or abandoned.
    pub end_reason: Option<String>,
    /// (1 for `trip:requested`). Numbered by the store, in the write each event announces.
    pub seq: u64,
}

impl Trip {
    /// A new pending trip.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        id: TripId,
        passenger_id: PassengerId,
        pickup: Place,
        dropoff: Place,
        payment_method: PaymentMethod,
        fare_estimate: Cents,
        currency: Currency,
        now: OffsetDateTime,
    ) -> Self {
        Self(TripRecord {
            id,
            passenger_id,
            driver_id: None,
            status: TripStatus::Pending,
            pickup,
            dropoff,
            payment_method,
            fare_estimate,
            fare_total: None,
            currency,
            requested_at: now,
            accepted_at: None,
            arrived_pickup_at: None,
            started_at: None,
            completed_at: None,
            cancelled_at: None,
            cancelled_by: None,
            end_reason: None,
            seq: 1,
        })
    }

    /// Whether `actor` may read this trip: its passenger, its driver, or an admin.
    pub fn visible_to(&self, actor: Actor) -> bool {
        match actor {
            Actor::Passenger(p) => p == self.0.passenger_id,
            Actor::Driver(d) => self.0.driver_id == Some(d),
            Actor::Admin(_) | Actor::System => true,
        }
    }

    fn to(&self, next: TripStatus) -> Result<Self, TripError> {
        if self.0.status.can_become(next) {
            let mut t = self.clone();
            t.0.status = next;
            Ok(t)
        } else {
            Err(TripError::InvalidTransition {
                from: self.0.status,
                to: next,
            })
        }
    }

    fn require_driver(&self, actor: Actor) -> Result<DriverId, TripError> {
        match actor {
            Actor::Driver(d) if self.0.driver_id == Some(d) => Ok(d),
            _ => Err(TripError::Forbidden),
        }
    }

    /// Dispatch starts: pending → assigning.
    ///
    /// # Errors
    /// [`TripError::InvalidTransition`] from any other status.
    pub fn start_assigning(&self) -> Result<Self, TripError> {
        self.to(TripStatus::Assigning)
    }

    /// A driver accepted its offer: assigning → accepted.
    ///
    /// # Errors
    /// [`TripError::InvalidTransition`] from any other status.
    pub fn accept(&self, driver: DriverId, now: OffsetDateTime) -> Result<Self, TripError> {
        let mut t = self.to(TripStatus::Accepted)?;
        t.0.driver_id = Some(driver);
        t.0.accepted_at = Some(now);
        Ok(t)
    }

    /// Right after acceptance the driver is on the way: accepted → arriving.
    ///
    /// # Errors
    /// [`TripError::InvalidTransition`] from any other status.
    pub fn begin_arriving(&self) -> Result<Self, TripError> {
        self.to(TripStatus::Arriving)
    }

    /// The assigned driver is at the pickup; the status stays `arriving`. Reporting it twice
    /// keeps the first time.
    ///
    /// # Errors
    /// [`TripError::Forbidden`] for anyone but the assigned driver;
    /// [`TripError::InvalidTransition`] unless arriving.
    pub fn arrive(&self, actor: Actor, now: OffsetDateTime) -> Result<Self, TripError> {
        self.require_driver(actor)?;
        if self.0.status != TripStatus::Arriving {
            return Err(TripError::InvalidTransition {
                from: self.0.status,
                to: TripStatus::Arriving,
            });
        }
        let mut t = self.clone();
        t.0.arrived_pickup_at.get_or_insert(now);
        Ok(t)
    }

    /// The passenger is on board: arriving → in_progress, by the assigned driver.
    ///
    /// # Errors
    /// [`TripError::Forbidden`] or [`TripError::InvalidTransition`].
    pub fn start(&self, actor: Actor, now: OffsetDateTime) -> Result<Self, TripError> {
        self.require_driver(actor)?;
        let mut t = self.to(TripStatus::InProgress)?;
        t.0.started_at = Some(now);
        Ok(t)
    }

    /// Arrived at the destination: in_progress → completed with the final fare.
    ///
    /// # Errors
    /// [`TripError::Forbidden`] or [`TripError::InvalidTransition`].
    pub fn complete(
        &self,
        actor: Actor,
        fare_total: Cents,
        now: OffsetDateTime,
    ) -> Result<Self, TripError> {
        self.require_driver(actor)?;
        let mut t = self.to(TripStatus::Completed)?;
        t.0.fare_total = Some(fare_total);
        t.0.completed_at = Some(now);
        Ok(t)
    }

    /// Cancels: the passenger (own trip) or an admin before completion, the assigned driver
    /// before the ride starts, the system any time before completion.
    ///
    /// # Errors
    /// [`TripError::Forbidden`] or [`TripError::InvalidTransition`].
    pub fn cancel(
        &self,
        actor: Actor,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self, TripError> {
        let allowed = match actor {
            Actor::Passenger(p) => p == self.0.passenger_id,
            Actor::Admin(_) | Actor::System => true,
            Actor::Driver(d) => {
                if self.0.driver_id != Some(d) {
                    false
                } else if self.0.status == TripStatus::InProgress {
                    return Err(TripError::InvalidTransition {
                        from: self.0.status,
                        to: TripStatus::Cancelled,
                    });
                } else {
                    true
                }
            }
        };
        if !allowed {
            return Err(TripError::Forbidden);
        }
        let mut t = self.to(TripStatus::Cancelled)?;
        t.0.cancelled_at = Some(now);
        t.0.cancelled_by = Some(actor.kind());
        t.0.end_reason = reason;
        Ok(t)
    }

    /// How the availability rules see this trip: dispatched here, to its driver, active or not.
    pub fn standing(&self) -> crate::availability::TripStanding {
        crate::availability::TripStanding::dispatched(self.0.driver_id, self.0.status)
    }

    /// Nobody took it: pending/assigning → no_drivers_found.
    ///
    /// # Errors
    /// [`TripError::InvalidTransition`] from any other status.
    pub fn give_up(&self, reason: &str, now: OffsetDateTime) -> Result<Self, TripError> {
        let mut t = self.to(TripStatus::NoDriversFound)?;
        t.0.cancelled_at = Some(now);
        t.0.end_reason = Some(reason.to_owned());
        Ok(t)
    }
}

/// Read access; the fields are private so only the transitions change them.
impl Trip {
    /// Identity.
    pub const fn id(&self) -> TripId {
        self.0.id
    }

    /// Who asked for it.
    pub const fn passenger_id(&self) -> PassengerId {
        self.0.passenger_id
    }

    /// Who drives it, once accepted.
    pub const fn driver_id(&self) -> Option<DriverId> {
        self.0.driver_id
    }

    /// Where it is in its life.
    pub const fn status(&self) -> TripStatus {
        self.0.status
    }

    /// Start.
    pub const fn pickup(&self) -> &Place {
        &self.0.pickup
    }

    /// End.
    pub const fn dropoff(&self) -> &Place {
        &self.0.dropoff
    }

    /// How it is paid.
    pub const fn payment_method(&self) -> PaymentMethod {
        self.0.payment_method
    }

    /// Estimate made at request.
    pub const fn fare_estimate(&self) -> Cents {
        self.0.fare_estimate
    }

    /// Final fare, at completion.
    pub const fn fare_total(&self) -> Option<Cents> {
        self.0.fare_total
    }

    /// Currency of both amounts.
    pub const fn currency(&self) -> &Currency {
        &self.0.currency
    }

    /// When requested.
    pub const fn requested_at(&self) -> OffsetDateTime {
        self.0.requested_at
    }

    /// When a driver accepted.
    pub const fn accepted_at(&self) -> Option<OffsetDateTime> {
        self.0.accepted_at
    }

    /// When the driver reported arriving at the pickup.
    pub const fn arrived_pickup_at(&self) -> Option<OffsetDateTime> {
        self.0.arrived_pickup_at
    }

    /// When the ride started.
    pub const fn started_at(&self) -> Option<OffsetDateTime> {
        self.0.started_at
    }

    /// When it completed.
    pub const fn completed_at(&self) -> Option<OffsetDateTime> {
        self.0.completed_at
    }

    /// When it was cancelled or abandoned.
    pub const fn cancelled_at(&self) -> Option<OffsetDateTime> {
        self.0.cancelled_at
    }

    /// Who cancelled.
    pub const fn cancelled_by(&self) -> Option<ActorKind> {
        self.0.cancelled_by
    }

    /// Why it was cancelled or abandoned.
    pub fn end_reason(&self) -> Option<&str> {
        self.0.end_reason.as_deref()
    }

    /// (1 for `trip:requested`). Numbered by the store, in the write each event announces.
    pub const fn seq(&self) -> u64 {
        self.0.seq
    }
}

/// A stored trip that no sequence of transitions could have produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("impossible trip record: {0}")]
pub struct InvalidTrip(pub &'static str);

impl Trip {
    /// A trip read back from a store, checked against what the transitions allow: a driver
    /// (and its acceptance time) exactly from acceptance on, the step timestamps of the steps it
    /// went through, a final fare only when completed, who cancelled only when cancelled, and a
    /// `seq` from 1.
    ///
    /// # Errors
    /// [`InvalidTrip`] naming the first broken rule.
    pub fn restore(r: TripRecord) -> Result<Self, InvalidTrip> {
        use TripStatus::*;
        let check = |ok: bool, rule: &'static str| if ok { Ok(()) } else { Err(InvalidTrip(rule)) };
        let accepted = matches!(r.status, Accepted | Arriving | InProgress | Completed);
        let unassigned = matches!(r.status, Pending | Assigning | NoDriversFound);
        check(
            !(accepted && r.driver_id.is_none()),
            "an accepted trip has no driver",
        )?;
        check(
            !(unassigned && r.driver_id.is_some()),
            "an unassigned trip has a driver",
        )?;
        check(
            r.driver_id.is_some() == r.accepted_at.is_some(),
            "a driver without acceptance time",
        )?;
        check(
            r.arrived_pickup_at.is_none()
                || matches!(r.status, Arriving | InProgress | Completed | Cancelled),
            "arrived at the pickup before being on the way",
        )?;
        check(
            r.started_at.is_some() == matches!(r.status, InProgress | Completed)
                || (r.status == Cancelled && r.driver_id.is_some()),
            "started_at does not match the status",
        )?;
        check(
            r.completed_at.is_some() == (r.status == Completed)
                && r.fare_total.is_some() == (r.status == Completed),
            "completed without its time and fare, or the other way round",
        )?;
        check(
            r.cancelled_at.is_some() == matches!(r.status, Cancelled | NoDriversFound),
            "cancelled_at does not match the status",
        )?;
        check(
            r.cancelled_by.is_some() == (r.status == Cancelled),
            "cancelled_by does not match the status",
        )?;
        check(r.seq >= 1, "seq starts at 1")?;
        Ok(Self(r))
    }

    /// Every field, for a store to keep (or a test to vary and [`Trip::restore`]).
    pub fn to_record(&self) -> TripRecord {
        self.0.clone()
    }

    /// Places the trip at event `seq` of its stream: stores number the events of their writes.
    pub fn set_seq(&mut self, seq: u64) {
        self.0.seq = seq;
    }
}
