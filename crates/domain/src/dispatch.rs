//! Dispatch policy: who gets the next offer of a trip, and when to give up (PROTOCOL §8).

use time::Duration;

use crate::ids::DriverId;

/// Matching settings (`DISPATCH_RADIUS_M`, `DISPATCH_OFFER_TTL_SEC`, `DISPATCH_MAX_OFFERS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispatchPolicy {
    /// Search radius around the pickup.
    pub radius_m: f64,
    /// Time a driver has to answer.
    pub offer_ttl: Duration,
    /// Offers per trip before giving up.
    pub max_offers: u32,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            radius_m: 5000.0,
            offer_ttl: Duration::seconds(20),
            max_offers: 5,
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
}
