//! Trip lists, read-side use cases on [`TripService`]: a caller's trips page by page
//! (`GET /api/trips`) and every trip in flight (`admin:trips:snapshot`). Who sees what is the
//! domain's [`TripScope::of`]; the order and the page boundary are [`TripKey`]'s.

use rodando_domain::trip::{Actor, Trip};
use rodando_domain::trip_list::{TripFilter, TripKey, TripListQuery, TripScope};
use rodando_ports::Unexpected;

use crate::trips::TripService;

/// Most trips one page holds (`limit` of `GET /api/trips`).
pub const MAX_PAGE: usize = 100;
/// Trips a page holds when the caller names no limit.
pub const DEFAULT_PAGE: usize = 20;
/// Most trips `admin:trips:snapshot` answers: the newest in flight, flagged truncated beyond.
pub const MAX_IN_FLIGHT: usize = 500;

/// One page of a trip list.
#[derive(Debug, Clone, PartialEq)]
pub struct TripPage {
    /// The trips, newest request first.
    pub trips: Vec<Trip>,
    /// Where the next page starts (the key of this page's last trip), or `None` when this page
    /// holds the last trips.
    pub next: Option<TripKey>,
}

impl TripService {
    /// A page of the trips `actor` may see — a passenger its own, a driver those it was
    /// assigned, an admin every trip — with status in `filter`, after `after` (the `next` of the
    /// previous page), at most `limit` (clamped to 1..=[`MAX_PAGE`]).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn list(
        &self,
        actor: Actor,
        filter: TripFilter,
        after: Option<TripKey>,
        limit: usize,
    ) -> Result<TripPage, Unexpected> {
        let limit = limit.clamp(1, MAX_PAGE);
        let (trips, more) = self
            .list_one_more(TripScope::of(actor), filter, after, limit)
            .await?;
        let next = more.then(|| trips.last().map(TripKey::of)).flatten();
        Ok(TripPage { trips, next })
    }

    /// Every trip not finished, newest request first, at most [`MAX_IN_FLIGHT`]; `true` with
    /// them when there were more.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn in_flight(&self) -> Result<(Vec<Trip>, bool), Unexpected> {
        self.list_one_more(TripScope::Everyone, TripFilter::Active, None, MAX_IN_FLIGHT)
            .await
    }

    /// Up to `limit` trips, and whether the store holds more: it is asked for one more.
    async fn list_one_more(
        &self,
        scope: TripScope,
        filter: TripFilter,
        after: Option<TripKey>,
        limit: usize,
    ) -> Result<(Vec<Trip>, bool), Unexpected> {
        let query = TripListQuery {
            scope,
            filter,
            after,
            limit: limit + 1,
        };
        let mut trips = self.trips.list(&query).await?;
        let more = trips.len() > limit;
        trips.truncate(limit);
        Ok((trips, more))
    }
}
