//! Trip lists (`GET /api/trips`, `admin:trips:snapshot`): whose trips a list holds, which
//! statuses, and the one order every store pages through — newest request first, the trip id
//! breaking ties — so a page boundary ([`TripKey`]) means the same thing in every store and a
//! trip requested after a page was read never shifts the pages after it.

use std::cmp::Ordering;

use time::OffsetDateTime;

use crate::ids::{DriverId, PassengerId, TripId};
use crate::trip::{Actor, Trip, TripStatus};
use crate::user::UnknownVariant;

/// Which trips of the scope, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TripFilter {
    /// Not finished: `pending`, `assigning`, `accepted`, `arriving`, `in_progress`.
    Active,
    /// Finished: `completed`, `cancelled`, `no_drivers_found`.
    Finished,
    /// Every status (the default).
    #[default]
    All,
}

impl TripFilter {
    /// Every filter.
    pub const ALL: [TripFilter; 3] = [Self::Active, Self::Finished, Self::All];

    /// Wire name (`status=` of `GET /api/trips`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Finished => "finished",
            Self::All => "all",
        }
    }

    /// Parses the wire name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything but `active`, `finished` or `all`.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(UnknownVariant)
    }

    /// Whether a trip in `status` belongs in the list.
    pub const fn admits(self, status: TripStatus) -> bool {
        match self {
            Self::Active => status.is_active(),
            Self::Finished => !status.is_active(),
            Self::All => true,
        }
    }
}

/// Whose trips a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripScope {
    /// The trips this passenger requested.
    Passenger(PassengerId),
    /// The trips this driver is (or was) assigned to; offers it never accepted are not its trips.
    Driver(DriverId),
    /// Every trip (operators, the server itself).
    Everyone,
}

impl TripScope {
    /// What `actor` may list: a passenger its own trips, a driver the trips it drives, an admin
    /// (and the system) every trip. The same rule as [`Trip::visible_to`].
    pub const fn of(actor: Actor) -> Self {
        match actor {
            Actor::Passenger(p) => Self::Passenger(p),
            Actor::Driver(d) => Self::Driver(d),
            Actor::Admin(_) | Actor::System => Self::Everyone,
        }
    }

    /// Whether `trip` is in this scope.
    pub fn includes(&self, trip: &Trip) -> bool {
        match *self {
            Self::Passenger(p) => trip.passenger_id() == p,
            Self::Driver(d) => trip.driver_id() == Some(d),
            Self::Everyone => true,
        }
    }
}

/// A trip's place in list order: `(requested_at, id)`, listed descending. A page ends at the key
/// of its last trip; the next page holds the trips strictly after it in list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TripKey {
    /// When the trip was requested.
    pub requested_at: OffsetDateTime,
    /// The trip, breaking ties between trips requested at the same instant.
    pub id: TripId,
}

impl TripKey {
    /// The key of `trip`.
    pub const fn of(trip: &Trip) -> Self {
        Self {
            requested_at: trip.requested_at(),
            id: trip.id(),
        }
    }

    /// List order: newest request first, then the greater id first. `Less` means `self` is
    /// listed before `other`.
    pub fn list_order(&self, other: &Self) -> Ordering {
        (other.requested_at, other.id).cmp(&(self.requested_at, self.id))
    }

    /// Whether `self` is listed strictly after `boundary` (it belongs to a later page).
    pub fn is_after(&self, boundary: &Self) -> bool {
        self.list_order(boundary) == Ordering::Greater
    }
}

/// One page of a trip list, as a store answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TripListQuery {
    /// Whose trips.
    pub scope: TripScope,
    /// Which statuses.
    pub filter: TripFilter,
    /// Only trips listed after this key (the last trip of the previous page); `None` for the
    /// first page.
    pub after: Option<TripKey>,
    /// At most this many trips.
    pub limit: usize,
}

impl TripListQuery {
    /// Whether `trip` belongs on this page or a later one (scope, status and boundary; not the
    /// limit).
    pub fn admits(&self, trip: &Trip) -> bool {
        self.scope.includes(trip)
            && self.filter.admits(trip.status())
            && self
                .after
                .is_none_or(|boundary| TripKey::of(trip).is_after(&boundary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AdminId;
    use time::Duration;
    use uuid::Uuid;

    fn key(seconds: i64, id: u128) -> TripKey {
        TripKey {
            requested_at: OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds),
            id: TripId::from_uuid(Uuid::from_u128(id)),
        }
    }

    #[test]
    fn newer_requests_come_first_and_ids_break_ties() {
        let mut keys = vec![key(1, 1), key(2, 1), key(1, 2), key(3, 0)];
        keys.sort_by(TripKey::list_order);
        assert_eq!(keys, [key(3, 0), key(2, 1), key(1, 2), key(1, 1)]);
        assert!(key(1, 1).is_after(&key(1, 2)));
        assert!(!key(1, 2).is_after(&key(1, 2)));
        assert!(!key(2, 0).is_after(&key(1, 2)));
    }

    #[test]
    fn filters_parse_their_wire_names_and_split_the_statuses() {
        for f in TripFilter::ALL {
            assert_eq!(TripFilter::parse(f.as_str()), Ok(f));
        }
        assert!(TripFilter::parse("ACTIVE").is_err());
        for status in TripStatus::ALL {
            assert_ne!(
                TripFilter::Active.admits(status),
                TripFilter::Finished.admits(status)
            );
            assert!(TripFilter::All.admits(status));
        }
    }

    #[test]
    fn each_actor_lists_what_it_may_read() {
        let u = Uuid::from_u128(7);
        let (p, d) = (PassengerId::from_uuid(u), DriverId::from_uuid(u));
        assert_eq!(TripScope::of(Actor::Passenger(p)), TripScope::Passenger(p));
        assert_eq!(TripScope::of(Actor::Driver(d)), TripScope::Driver(d));
        assert_eq!(
            TripScope::of(Actor::Admin(AdminId::from_uuid(u))),
            TripScope::Everyone
        );
        assert_eq!(TripScope::of(Actor::System), TripScope::Everyone);
    }
}
