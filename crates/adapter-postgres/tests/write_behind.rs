//! [`WriteBehindStore`] against a real PostgreSQL: pings coalesce to one write per driver per
//! interval, the timer writes them without being asked, the last one always lands, a full
//! buffer writes through, and connections killed under load fail no ping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use rodando_adapter_postgres::{PgStore, WriteBehindConfig, WriteBehindStore};
use rodando_domain::availability::{AvailabilityStatus, LocationFix, StatusCommand, TripStanding};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use rodando_ports::availability::{AvailabilityRepository, CasError, NearestQuery};
use time::OffsetDateTime;
use uuid::Uuid;

const INTERVAL: StdDuration = StdDuration::from_millis(100);

/// The 5 drivers nearest to `fix(0)` within 5 km, fresh within 2 minutes.
fn near_fix0() -> NearestQuery {
    NearestQuery {
        origin: fix(0).point,
        radius_m: 5_000.0,
        limit: 5,
        now: now(),
        freshness: time::Duration::minutes(2),
        exclude: Vec::new(),
    }
}

fn config() -> WriteBehindConfig {
    WriteBehindConfig {
        interval: INTERVAL,
        ..WriteBehindConfig::default()
    }
}

/// A buffer whose timer never comes within a test: only explicit flushes write.
fn flushed_by_hand(pg: &PgStore) -> WriteBehindStore {
    WriteBehindStore::start(
        pg.clone(),
        WriteBehindConfig {
            interval: StdDuration::from_secs(3600),
            ..WriteBehindConfig::default()
        },
    )
}

fn fix(i: u32) -> LocationFix {
    LocationFix {
        point: GeoPoint::from_degrees(23.10 + f64::from(i) * 1e-5, -82.36).unwrap(),
        accuracy_m: None,
        heading_deg: None,
        speed_kph: None,
        recorded_at: None,
    }
}

fn now() -> OffsetDateTime {
    // Microseconds, as PostgreSQL keeps them.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap()
}

/// A driver user (the availability row references it), AVAILABLE and connected.
async fn available_driver(store: &PgStore) -> DriverId {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, user_type, email, name, password_hash) \
         VALUES ($1, 'driver', $2, 'Driver', 'x')",
    )
    .bind(id)
    .bind(format!("{id}@t.local"))
    .execute(store.pool())
    .await
    .unwrap();
    let driver = DriverId::from_uuid(id);
    let t = now();
    let row = store.load_or_create(driver, t).await.unwrap();
    let next = row
        .state
        .set_status(StatusCommand::Available, TripStanding::External, t)
        .unwrap()
        .connect(t);
    store.compare_and_set(row.version, &next).await.unwrap();
    driver
}

/// What PostgreSQL holds: the position's latitude and the version.
async fn stored(store: &PgStore, driver: DriverId) -> (Option<f64>, u64) {
    let row = AvailabilityRepository::find(store, driver)
        .await
        .unwrap()
        .unwrap();
    (
        row.state
            .last_location
            .map(|p| p.point.latitude().degrees()),
        row.version,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pings_within_an_interval_coalesce_to_one_write_and_the_timer_writes_the_last() {
    support::with_fresh_store(|pg| async move {
        let buffered = WriteBehindStore::start(pg.clone(), config());
        let drivers = [available_driver(&pg).await, available_driver(&pg).await];
        let before: Vec<u64> = {
            let mut v = Vec::new();
            for d in drivers {
                v.push(stored(&pg, d).await.1);
            }
            v
        };
        // Wait for a batch to pass, so the ten pings fall in one interval.
        let batches = buffered.stats().batches;
        while buffered.stats().batches == batches {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        let written = buffered.stats().rows_written;
        for i in 1..=10 {
            for d in drivers {
                buffered.record_location(d, &fix(i), now()).await.unwrap();
            }
        }
        // Not yet in PostgreSQL (or, if a batch just ran, in it once); read back at once.
        let read = buffered.find(drivers[0]).await.unwrap().unwrap();
        assert_eq!(
            read.state.last_location.map(|p| p.point),
            Some(fix(10).point)
        );

        // The timer writes them without being asked, within an interval or two.
        tokio::time::sleep(INTERVAL * 3).await;
        for (d, v0) in drivers.iter().zip(before) {
            let (lat, version) = stored(&pg, *d).await;
            assert_eq!(lat, Some(fix(10).point.latitude().degrees()));
            assert!(
                version - v0 <= 2,
                "ten pings wrote {} times (at most one batch split them)",
                version - v0
            );
        }
        let rows = buffered.stats().rows_written - written;
        assert!(rows <= 4, "{rows} rows for 2 drivers × 10 pings");
        assert_eq!(buffered.stats().unwritten, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_pings_then_a_flush_are_one_row_write_per_driver() {
    support::with_fresh_store(|pg| async move {
        let buffered = flushed_by_hand(&pg);
        let driver = available_driver(&pg).await;
        let (_, v0) = stored(&pg, driver).await;
        for i in 1..=10 {
            buffered
                .record_location(driver, &fix(i), now())
                .await
                .unwrap();
        }
        assert_eq!(
            stored(&pg, driver).await.1,
            v0,
            "nothing written before the flush"
        );
        buffered.flush().await.unwrap();
        let (lat, v1) = stored(&pg, driver).await;
        assert_eq!(lat, Some(fix(10).point.latitude().degrees()));
        assert_eq!(v1, v0 + 1, "ten pings, one write");
        assert_eq!(buffered.stats().rows_written, 1);
        // Nothing new: the next flush writes nothing.
        buffered.flush().await.unwrap();
        assert_eq!(stored(&pg, driver).await.1, v1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_buffer_writes_further_drivers_through() {
    support::with_fresh_store(|pg| async move {
        let buffered = WriteBehindStore::start(
            pg.clone(),
            WriteBehindConfig {
                interval: StdDuration::from_secs(3600),
                max_drivers: 1,
                ..WriteBehindConfig::default()
            },
        );
        let (first, second) = (available_driver(&pg).await, available_driver(&pg).await);
        buffered
            .record_location(first, &fix(1), now())
            .await
            .unwrap();
        buffered
            .record_location(second, &fix(2), now())
            .await
            .unwrap();
        assert_eq!(stored(&pg, first).await.0, None, "buffered");
        assert_eq!(
            stored(&pg, second).await.0,
            Some(fix(2).point.latitude().degrees()),
            "written through"
        );
        assert_eq!(buffered.stats().drivers, 1);
        assert_eq!(buffered.stats().written_through_full, 1);
    })
    .await;
}

/// One driver with a socket on each of two nodes (two buffers over one database): whichever
/// node's batch lands last, PostgreSQL keeps the latest position by time, and each node's reads
/// show it, never the older one the other node still held.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_batches_in_any_order_keep_the_latest_position() {
    support::with_fresh_store(|pg| async move {
        let quiet = WriteBehindConfig {
            interval: StdDuration::from_secs(3600),
            ..WriteBehindConfig::default()
        };
        let (a, b) = (
            WriteBehindStore::start(pg.clone(), quiet),
            WriteBehindStore::start(pg.clone(), quiet),
        );
        let driver = available_driver(&pg).await;
        let t0 = now();
        let at = |ms: i64| t0 + time::Duration::milliseconds(ms);
        let lat = |i: u32| Some(fix(i).point.latitude().degrees());

        // The older ping through B, the newer through A; A's batch first, then B's.
        b.record_location(driver, &fix(1), at(0)).await.unwrap();
        a.record_location(driver, &fix(2), at(100)).await.unwrap();
        a.flush().await.unwrap();
        assert_eq!(stored(&pg, driver).await.0, lat(2));
        b.flush().await.unwrap();
        assert_eq!(
            stored(&pg, driver).await.0,
            lat(2),
            "B put back its older position"
        );
        for node in [&a, &b] {
            let read = node.find(driver).await.unwrap().unwrap();
            assert_eq!(
                read.state.last_location.map(|p| p.point),
                Some(fix(2).point)
            );
            assert_eq!(read.state.last_presence_at, Some(at(100)));
        }

        // The other order: B (now newer) first, then A's older one.
        a.record_location(driver, &fix(3), at(200)).await.unwrap();
        b.record_location(driver, &fix(4), at(300)).await.unwrap();
        b.flush().await.unwrap();
        a.flush().await.unwrap();
        assert_eq!(stored(&pg, driver).await.0, lat(4));

        // Both still unwritten when a status change goes through the node with the older one:
        // it writes the newer position it can see, and the batches keep it.
        b.record_location(driver, &fix(5), at(400)).await.unwrap();
        a.record_location(driver, &fix(6), at(500)).await.unwrap();
        a.flush().await.unwrap();
        let row = b.load_or_create(driver, at(600)).await.unwrap();
        assert_eq!(row.state.last_location.map(|p| p.point), Some(fix(6).point));
        let busy = row
            .state
            .set_status(StatusCommand::Busy, TripStanding::External, at(600))
            .unwrap();
        b.compare_and_set(row.version, &busy).await.unwrap();
        b.flush().await.unwrap();
        assert_eq!(stored(&pg, driver).await.0, lat(6));
        assert_eq!(b.stats().unwritten, 0);
        assert!(a.stats().batches >= 3 && b.stats().batches >= 3);
    })
    .await;
}

/// Every backend of this test's database but the caller's, terminated.
async fn terminate_backends(pg: &PgStore) -> i64 {
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(pg.pool())
    .await
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_killed_under_load_fail_no_ping_and_positions_land_after_reconnect() {
    support::with_fresh_store(|pg| async move {
        let buffered = WriteBehindStore::start(pg.clone(), config());
        let mut drivers = Vec::new();
        for _ in 0..50 {
            drivers.push(available_driver(&pg).await);
        }
        for d in &drivers {
            buffered.record_location(*d, &fix(0), now()).await.unwrap();
        }
        let pingers: Vec<_> = drivers
            .iter()
            .map(|d| {
                let (buffered, d) = (buffered.clone(), *d);
                tokio::spawn(async move {
                    let mut failures = 0;
                    for i in 1..=60 {
                        if buffered.record_location(d, &fix(i), now()).await.is_err() {
                            failures += 1;
                        }
                        tokio::time::sleep(StdDuration::from_millis(50)).await;
                    }
                    failures
                })
            })
            .collect();
        // Three rounds of killed connections while the drivers ping (about 3 s).
        let mut killed = 0;
        for _ in 0..3 {
            tokio::time::sleep(StdDuration::from_millis(700)).await;
            killed += terminate_backends(&pg).await;
        }
        let mut failures = 0;
        for p in pingers {
            failures += p.await.unwrap();
        }
        assert!(killed > 0, "no backend was terminated");
        assert_eq!(failures, 0, "pings failed while connections were killed");
        // Positions land after the pool reconnects.
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
        let last = Some(fix(60).point.latitude().degrees());
        loop {
            let mut landed = 0;
            for d in &drivers {
                if AvailabilityRepository::find(&pg, *d)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.state.last_location)
                    .map(|p| p.point.latitude().degrees())
                    == last
                {
                    landed += 1;
                }
            }
            if landed == drivers.len() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{landed} of {} positions landed; {:?}",
                drivers.len(),
                buffered.stats()
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_driver_with_its_first_position_in_memory_is_found_at_once_by_dispatch() {
    support::with_fresh_store(|pg| async move {
        let buffered = flushed_by_hand(&pg);
        let driver = available_driver(&pg).await;
        buffered
            .record_location(driver, &fix(1), now())
            .await
            .unwrap();
        let found = buffered.nearest_available(&near_fix0()).await.unwrap();
        assert_eq!(
            found.iter().map(|c| c.driver_id).collect::<Vec<_>>(),
            vec![driver]
        );
        // A driver that merely moved waits for the next batch (at most one interval).
        let (_, version) = stored(&pg, driver).await;
        buffered
            .record_location(driver, &fix(2), now())
            .await
            .unwrap();
        buffered.nearest_available(&near_fix0()).await.unwrap();
        assert_eq!(stored(&pg, driver).await.1, version, "no batch for a move");
    })
    .await;
}

/// The timer's batch may be writing a new driver's first position when dispatch looks: the
/// query waits for that batch to commit instead of looking before it (CI saw a trip end
/// `no_drivers_found` in that gap). Twenty drivers, each raced by a flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_position_in_a_batch_being_written_is_found_by_dispatch() {
    support::with_fresh_store(|pg| async move {
        let buffered = Arc::new(flushed_by_hand(&pg));
        let mut drivers = Vec::new();
        for round in 0..20 {
            let driver = available_driver(&pg).await;
            drivers.push(driver);
            buffered
                .record_location(driver, &fix(1), now())
                .await
                .unwrap();
            let batch = tokio::spawn({
                let buffered = Arc::clone(&buffered);
                async move { buffered.flush().await }
            });
            tokio::task::yield_now().await;
            let found: Vec<_> = buffered
                .nearest_available(&NearestQuery {
                    limit: 50,
                    ..near_fix0()
                })
                .await
                .unwrap()
                .iter()
                .map(|c| c.driver_id)
                .collect();
            batch.await.unwrap().unwrap();
            assert!(
                drivers.iter().all(|d| found.contains(d)),
                "round {round}: {} of {} drivers found",
                found.len(),
                drivers.len()
            );
        }
    })
    .await;
}

/// A driver that pings less often than copies age (every 4 s is common) is answered from
/// memory: the timer reads its copy again in one statement for all such drivers, so no ping
/// waits for a read; and a status change made through another node shows in its next ping's
/// answer within `max_age` and a tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_driver_pinging_rarely_is_answered_from_memory_and_sees_other_nodes_changes() {
    support::with_fresh_store(|pg| async move {
        let max_age = StdDuration::from_millis(200);
        let buffered = WriteBehindStore::start(
            pg.clone(),
            WriteBehindConfig {
                interval: StdDuration::from_millis(50),
                max_age,
                ..WriteBehindConfig::default()
            },
        );
        let driver = available_driver(&pg).await;
        buffered
            .record_location(driver, &fix(1), now())
            .await
            .unwrap();
        assert_eq!(buffered.stats().read_on_ping, 1, "a driver new to the node");
        for i in 2..=4 {
            tokio::time::sleep(max_age * 2).await;
            let pinged = buffered
                .record_location(driver, &fix(i), now())
                .await
                .unwrap();
            assert_eq!(pinged.after.status(), AvailabilityStatus::Available);
        }
        let stats = buffered.stats();
        assert_eq!(
            stats.read_on_ping, 1,
            "pings spaced beyond max_age read nothing"
        );
        assert!(stats.copies_refreshed >= 2, "{stats:?}");

        // Another node (the store underneath) takes the driver offline. Like every writer it
        // reads again when its compare-and-set loses: this node's timer may write the last
        // ping's position between the read and the write.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let row = AvailabilityRepository::find(&pg, driver)
                .await
                .unwrap()
                .unwrap();
            let offline = row
                .state
                .set_status(StatusCommand::Offline, TripStanding::External, now())
                .unwrap();
            match pg.compare_and_set(row.version, &offline).await {
                Ok(_) => break,
                Err(CasError::Stale) if attempts < 5 => continue,
                Err(e) => panic!("attempt {attempts}: {e:?}"),
            }
        }
        tokio::time::sleep(max_age + StdDuration::from_millis(200)).await;
        let pinged = buffered
            .record_location(driver, &fix(5), now())
            .await
            .unwrap();
        assert_eq!(pinged.after.status(), AvailabilityStatus::Offline);
        assert_eq!(buffered.stats().read_on_ping, 1);
    })
    .await;
}
