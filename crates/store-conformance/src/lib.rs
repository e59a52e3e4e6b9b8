//! # rodando-store-conformance
//!
//! The behaviour every store adapter must have, written once against the ports
//! ([`UserRepository`], [`SessionRepository`], [`AvailabilityRepository`], [`TripRepository`],
//! [`TripStandingLookup`], [`HealthCheck`]), so the in-memory store and the PostgreSQL store
//! cannot drift apart. Each case is a plain `pub async fn(Ports)` that panics on failure; a
//! store's test file runs them all with [`conformance_suite!`], which gives every case a fresh
//! store from a harness the store provides:
//!
//! ```ignore
//! async fn fresh_store<C, F>(case: C)
//! where
//!     C: FnOnce(Ports) -> F,
//!     F: Future<Output = ()> + Send + 'static,
//! {
//!     case(Ports::of(Arc::new(MemoryStore::new()))).await;
//! }
//!
//! rodando_store_conformance::conformance_suite!(fresh_store);
//! ```
//!
//! Cases use a fixed clock ([`fixtures::T0`]) at microsecond precision, which every store keeps,
//! and reach driver states only through the domain's rules.

pub mod availability;
pub mod fixtures;
pub mod guards;
pub mod lists;
pub mod nearest;
pub mod positions;
pub mod sessions;
pub mod trips;
pub mod user_status;
pub mod users;

use std::sync::Arc;

use rodando_ports::availability::AvailabilityRepository;
use rodando_ports::health::HealthCheck;
use rodando_ports::sessions::SessionRepository;
use rodando_ports::trips::{TripRepository, TripStandingLookup};
use rodando_ports::users::UserRepository;

/// The ports of one store under test. Cloning shares the store.
#[derive(Clone)]
pub struct Ports {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Sessions.
    pub sessions: Arc<dyn SessionRepository>,
    /// Driver availability.
    pub availability: Arc<dyn AvailabilityRepository>,
    /// Trips, offers and dispatch writes.
    pub trips: Arc<dyn TripRepository>,
    /// Trip standings.
    pub standings: Arc<dyn TripStandingLookup>,
    /// Readiness.
    pub health: Arc<dyn HealthCheck>,
}

impl Ports {
    /// Every port from one store.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: UserRepository
            + SessionRepository
            + AvailabilityRepository
            + TripRepository
            + TripStandingLookup
            + HealthCheck
            + 'static,
    {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            availability: store.clone(),
            trips: store.clone(),
            standings: store.clone(),
            health: store,
        }
    }
}

/// Defines one `#[tokio::test]` per case (grouped in modules `users`, `sessions`,
/// `availability`, `nearest`, `positions`, `trips`), each running the case through `$harness`: an async fn generic
/// over the case, `async fn h<C: FnOnce(Ports) -> F, F: Future<Output = ()> + Send + 'static>(case: C)`,
/// that builds a fresh store, runs the case and cleans up. The calling crate needs `tokio` with
/// the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! conformance_suite {
    ($harness:path) => {
        $crate::conformance_suite!(@modules $harness;
            users {
                a_user_is_found_by_id_email_and_phone_with_every_field,
                unknown_users_are_not_found,
                a_taken_email_phone_or_id_is_refused_and_nothing_is_written,
                uniqueness_is_checked_email_first_then_phone_then_id,
                users_without_a_phone_do_not_collide,
                of_concurrent_inserts_of_one_email_exactly_one_succeeds,
                set_status_changes_the_status_and_tells_whether_the_user_exists,
            }
            sessions {
                a_session_round_trips_every_field,
                a_session_id_cannot_be_inserted_twice,
                rotate_swaps_the_refresh_jti_and_the_expiries,
                rotate_is_stale_for_an_old_jti_a_revoked_or_a_missing_session,
                of_concurrent_rotations_with_one_jti_exactly_one_wins,
                revoke_succeeds_once_then_reports_false,
                extend_access_moves_the_expiry_forward_on_live_sessions_only,
                live_sessions_of_lists_the_unrevoked_unexpired_sessions_of_that_user,
            }
            availability {
                load_or_create_starts_offline_at_version_zero_and_is_idempotent,
                concurrent_first_loads_create_exactly_one_row,
                an_unknown_driver_is_not_found,
                compare_and_set_writes_and_increments_the_version,
                a_stale_compare_and_set_writes_nothing,
                two_drivers_cannot_hold_one_trip,
                a_released_trip_can_be_taken_by_another_driver,
                concurrent_read_apply_write_loops_lose_no_update,
                list_stale_follows_the_ttl_skips_trips_and_lists_oldest_first_within_the_limit,
                list_online_lists_every_online_driver_by_id,
                availability_round_trips_every_field,
                an_unknown_trip_is_external,
                the_health_check_answers,
            }
            nearest {
                nearest_available_lists_drivers_within_the_radius_nearest_first,
                distances_are_great_circle_metres,
                the_radius_bounds_the_search_exactly,
                presence_and_position_must_be_fresher_than_the_freshness,
                excluded_drivers_are_skipped_and_the_limit_is_honoured,
                only_available_drivers_are_found_and_the_index_follows_every_change,
                nothing_is_found_with_no_room_or_no_radius,
                drivers_holding_an_open_offer_are_skipped,
                unmatchable_drivers_nearer_than_the_matchable_ones_do_not_hide_them,
            }
            positions {
                a_ping_is_read_at_once_and_the_last_one_is_stored,
                pings_and_status_changes_lose_no_update,
                nearest_first_holds_with_positions_written_behind,
                the_sweeper_sees_silent_drivers_and_not_drivers_that_just_pinged,
            }
            trips {
                a_trip_round_trips_every_field_through_its_life,
                unknown_trips_and_offers_are_not_found,
                a_passenger_has_at_most_one_active_trip,
                of_concurrent_requests_of_one_passenger_exactly_one_is_stored,
                a_replayed_idempotency_key_returns_the_first_trip_and_another_body_is_refused,
                concurrent_requests_with_one_idempotency_key_store_one_trip,
                an_empty_write_changes_nothing,
                a_trip_in_another_status_fails_the_write_and_nothing_is_written,
                an_offer_no_longer_open_fails_the_write_and_nothing_is_written,
                a_trip_has_at_most_one_open_offer,
                a_driver_has_at_most_one_open_offer,
                an_offer_breaking_both_rules_is_refused_for_the_trip_first,
                a_stale_availability_fails_the_write_and_nothing_is_written,
                a_trip_held_by_another_driver_fails_the_write_and_nothing_is_written,
                an_accept_writes_the_offer_the_trip_and_the_driver_together,
                ending_a_trip_withdraws_its_open_offer_and_returns_it,
                offers_for_trip_lists_every_offer_oldest_first,
                due_offers_are_the_open_ones_past_their_deadline_earliest_first,
                of_fifty_concurrent_accepts_of_one_offer_exactly_one_wins,
                of_concurrent_offers_for_one_trip_exactly_one_is_made,
                the_standing_of_a_trip_follows_its_driver_and_status,
                a_trip_starts_at_seq_one_and_each_write_adds_the_events_it_announces,
                a_refused_write_adds_nothing_to_the_seq,
                concurrent_writes_to_one_trip_each_get_their_own_seq,
            }
            guards {
                a_new_offer_is_refused_once_its_trip_is_no_longer_assigning,
                a_new_offer_is_refused_once_its_driver_is_no_longer_matchable,
                open_offer_of_is_the_drivers_open_offer_only,
                unattended_lists_quiet_waiting_trips_and_timed_out_ones,
                the_store_clock_is_microseconds_and_moves_forward,
            }
            lists {
                each_scope_lists_exactly_its_trips_newest_first_and_filters_split_them,
                pages_neither_skip_nor_repeat_and_later_trips_do_not_shift_them,
            }
            user_status {
                nearest_available_skips_drivers_that_are_not_active,
                a_new_offer_is_refused_once_its_driver_is_not_active,
                an_accept_is_refused_once_its_driver_is_not_active,
            }
        );
    };
    (@modules $harness:path; $($module:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        $harness($crate::$module::$case).await;
                    }
                )*
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    /// Every `pub async fn` of a case module is listed in [`conformance_suite!`], so no case is
    /// written and then silently never run.
    #[test]
    fn the_suite_runs_every_case() {
        let suite = include_str!("lib.rs");
        for (module, source) in [
            ("users", include_str!("users.rs")),
            ("sessions", include_str!("sessions.rs")),
            ("availability", include_str!("availability.rs")),
            ("nearest", include_str!("nearest.rs")),
            ("positions", include_str!("positions.rs")),
            ("trips", include_str!("trips.rs")),
            ("trips", include_str!("trips/requests.rs")),
            ("trips", include_str!("trips/conflicts.rs")),
            ("trips", include_str!("trips/offers.rs")),
            ("trips", include_str!("trips/seq.rs")),
            ("guards", include_str!("guards.rs")),
            ("lists", include_str!("lists.rs")),
            ("user_status", include_str!("user_status.rs")),
        ] {
            for line in source.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = rest.split('(').next().unwrap_or_default();
                    assert!(
                        suite.contains(&format!("                {name},\n")),
                        "{module}::{name} is not in conformance_suite!"
                    );
                }
            }
        }
    }
}
