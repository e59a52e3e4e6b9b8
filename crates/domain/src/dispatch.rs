//! Dispatch policy: who gets the next offer of a trip, and when to give up (PROTOCOL §8).

use time::Duration;

use crate::ids::DriverId;

/// Matching settings (`DISPATCH_RADIUS_M`, `DISPATCH_OFFER_TTL_SEC`, `DISPATCH_MAX_OFFERS`,
/// `DISPATCH_TIMEOUT_SEC`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispatchPolicy {
    /// Search radius around the pickup.
    pub radius_m: f64,
    /// Time a driver has to answer.
    pub offer_ttl: Duration,
    /// Offers per trip before giving up.
    pub max_offers: u32,
    /// Time from the request within which a driver must have accepted; past it the trip ends
    /// `no_drivers_found` with reason `timeout`, whatever is under way.
    pub assign_timeout: Duration,
}

/// Why dispatch stopped looking for a driver after `assign_timeout`.
pub const TIMEOUT: &str = "timeout";

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            radius_m: 5000.0,
            offer_ttl: Duration::seconds(20),
            max_offers: 5,
            assign_timeout: Duration::seconds(120),
        }
    }
}

/// A driver that could be offered the trip, and its distance to the pickup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The driver.
    pub driver_id: DriverId,
    /// Distance to the pickup in metres.
    pub distance_m: f64,
}

/// What dispatch does next for a trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep {
    /// Offer the trip to this driver.
    Offer(Candidate),
    /// Stop: the trip becomes `no_drivers_found` with this reason.
    GiveUp(&'static str),
}

impl DispatchPolicy {
    /// Whether a trip requested at `requested_at` is past its assignment deadline at `now`.
    pub fn timed_out(&self, requested_at: time::OffsetDateTime, now: time::OffsetDateTime) -> bool {
        now - requested_at >= self.assign_timeout
    }

    /// Nearest first, no shuffling; ties broken by driver id so the choice is deterministic.
    /// `offers_made` counts offers already made for the trip.
    pub fn next_step(&self, offers_made: u32, candidates: &[Candidate]) -> NextStep {
        if offers_made >= self.max_offers {
            return NextStep::GiveUp("max_offers_reached");
        }
        candidates
            .iter()
            .filter(|c| c.distance_m <= self.radius_m)
            .min_by(|a, b| {
                a.distance_m
                    .total_cmp(&b.distance_m)
                    .then(a.driver_id.cmp(&b.driver_id))
            })
            .map_or(NextStep::GiveUp("no_drivers_available"), |c| {
                NextStep::Offer(*c)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn c(n: u128, d: f64) -> Candidate {
        Candidate {
            driver_id: DriverId::from_uuid(Uuid::from_u128(n)),
            distance_m: d,
        }
    }

    #[test]
    fn the_nearest_candidate_in_range_gets_the_offer() {
        let p = DispatchPolicy::default();
        assert_eq!(
            p.next_step(0, &[c(1, 900.0), c(2, 300.0), c(3, 6000.0)]),
            NextStep::Offer(c(2, 300.0))
        );
        assert_eq!(
            p.next_step(0, &[c(2, 300.0), c(1, 300.0)]),
            NextStep::Offer(c(1, 300.0))
        );
        assert_eq!(
            p.next_step(0, &[c(3, 6000.0)]),
            NextStep::GiveUp("no_drivers_available")
        );
        assert_eq!(
            p.next_step(0, &[]),
            NextStep::GiveUp("no_drivers_available")
        );
        assert_eq!(
            p.next_step(5, &[c(1, 1.0)]),
            NextStep::GiveUp("max_offers_reached")
        );
    }

    #[test]
    fn a_trip_times_out_exactly_at_the_assignment_deadline() {
        let p = DispatchPolicy::default();
        let t0 = time::macros::datetime!(2026-01-01 0:00 UTC);
        assert!(!p.timed_out(t0, t0 + Duration::seconds(119)));
        assert!(p.timed_out(t0, t0 + Duration::seconds(120)));
    }
}
