//! [`AvailabilityRepository::record_location`](rodando_ports::availability::AvailabilityRepository::record_location)
//! and [`flush`](rodando_ports::availability::AvailabilityRepository::flush): location pings,
//! which a store may accept in memory and write behind. Whatever it does, reads through the
//! store see a ping at once, the last ping is what is stored once flushed, no concurrent status
//! change is lost, dispatch finds drivers at their flushed positions, and the presence sweeper
//! neither misses a silent driver nor sweeps one that just pinged.

use rodando_domain::availability::StatusCommand;
use rodando_domain::ids::DriverId;
use time::Duration;
use tokio::task::JoinSet;

use crate::Ports;
use crate::fixtures::{
    T0, at, available_driver_at, driver_in, fix, havana, ok, point, set_status, status,
};
use crate::nearest::nearest_ids;

async fn ping(ports: &Ports, driver: DriverId, place: (f64, f64), seconds: i64) {
    ok(ports
        .availability
        .record_location(driver, &fix(place), at(seconds))
        .await);
}

fn place(i: i64) -> (f64, f64) {
    (
        havana::PARQUE_CENTRAL.0 + 0.0001 * i as f64,
        havana::PARQUE_CENTRAL.1,
    )
}

/// A ping answers the state before and after it (position and presence only), every read
/// shows it at once, and after many pings and a flush the last one is what is stored.
pub async fn a_ping_is_read_at_once_and_the_last_one_is_stored(ports: Ports) {
    let driver = driver_in(&ports, StatusCommand::Available, T0).await;

    let first = ok(ports
        .availability
        .record_location(driver, &fix(havana::CAPITOLIO), at(1))
        .await);
    assert_eq!(first.before.last_location, None);
    assert_eq!(
        first.after,
        first.before.record_location(&fix(havana::CAPITOLIO), at(1))
    );
    let read = ok(ports.availability.find(driver).await).map(|v| v.state);
    assert_eq!(read.as_ref(), Some(&first.after));

    for i in 2..=40 {
        ping(&ports, driver, place(i), i).await;
    }
    let last = point(place(40));
    let seen = |state: &rodando_domain::availability::DriverAvailability| {
        (state.last_location.map(|p| p.point), state.last_presence_at)
    };
    let found = ok(ports.availability.find(driver).await).map(|v| seen(&v.state));
    assert_eq!(found, Some((Some(last), Some(at(40)))));
    ok(ports.availability.flush().await);
    let stored = ok(ports.availability.find(driver).await);
    let stored = stored.unwrap_or_else(|| panic!("{driver} not stored"));
    assert_eq!(seen(&stored.state), (Some(last), Some(at(40))));
    assert!(stored.state.is_available_for_trips, "{stored:?}");
    let online = ok(ports.availability.list_online().await);
    assert_eq!(online, vec![stored.state]);
    ok(ports.availability.flush().await);
}

/// Pings racing status changes of the same driver: every status change and the last ping are
/// kept (a ping never writes a status, a status change never loses a ping it did not see).
pub async fn pings_and_status_changes_lose_no_update(ports: Ports) {
    let driver = driver_in(&ports, StatusCommand::Available, T0).await;
    let pinger = {
        let ports = ports.clone();
        tokio::spawn(async move {
            for i in 1..=100 {
                ping(&ports, driver, place(i), 1).await;
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut changers = JoinSet::new();
    for i in 0..10_i64 {
        let ports = ports.clone();
        changers.spawn(async move {
            let command = if i % 2 == 0 {
                StatusCommand::Busy
            } else {
                StatusCommand::Available
            };
            loop {
                let current = ok(ports.availability.load_or_create(driver, at(1)).await);
                let next = status(command, at(1))(&current.state);
                match ports
                    .availability
                    .compare_and_set(current.version, &next)
                    .await
                {
                    Ok(_) => return,
                    Err(rodando_ports::availability::CasError::Stale) => {
                        tokio::task::yield_now().await;
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
    }
    while let Some(joined) = changers.join_next().await {
        ok(joined);
    }
    ok(pinger.await);
    set_status(&ports, driver, StatusCommand::Busy, at(2)).await;
    ok(ports.availability.flush().await);
    let stored = ok(ports.availability.find(driver).await);
    let stored = stored.unwrap_or_else(|| panic!("{driver} not stored"));
    assert_eq!(
        stored.state.last_location.map(|p| p.point),
        Some(point(place(100)))
    );
    assert!(stored.state.is_online && !stored.state.is_available_for_trips);
}

/// Drivers placed and moved by pings are found nearest first at their latest positions once
/// the store has flushed (as dispatch sees them at most one flush interval later).
pub async fn nearest_first_holds_with_positions_written_behind(ports: Ports) {
    let far = available_driver_at(&ports, havana::VARADERO, T0).await;
    let near = available_driver_at(&ports, havana::VARADERO, T0).await;
    let middle = available_driver_at(&ports, havana::VARADERO, T0).await;
    ping(&ports, far, havana::PLAZA, 1).await;
    ping(&ports, near, havana::MORRO, 1).await;
    ping(&ports, near, havana::CAPITOLIO, 2).await;
    ping(&ports, middle, havana::HOTEL_NACIONAL, 2).await;
    ok(ports.availability.flush().await);

    let nearest = |ports: Ports| async move { nearest_ids(&ports, 5_000.0, 10).await };
    assert_eq!(nearest(ports.clone()).await, vec![near, middle, far]);

    ping(&ports, far, havana::PARQUE_CENTRAL, 3).await;
    ping(&ports, near, havana::AIRPORT, 3).await;
    ok(ports.availability.flush().await);
    assert_eq!(nearest(ports.clone()).await, vec![far, middle]);
}

/// The sweeper's list has the driver silent for the TTL, whose last ping is old, and not the
/// one whose ping just came in, even before any flush.
pub async fn the_sweeper_sees_silent_drivers_and_not_drivers_that_just_pinged(ports: Ports) {
    let ttl = Duration::seconds(60);
    let silent = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let pinging = available_driver_at(&ports, havana::MORRO, T0).await;
    ping(&ports, silent, havana::CAPITOLIO, 5).await;
    ping(&ports, pinging, havana::MORRO, 5).await;
    ok(ports.availability.flush().await);
    ping(&ports, pinging, havana::PLAZA, 50).await;

    let stale = ok(ports.availability.list_stale(at(70), ttl, 10).await);
    let ids: Vec<DriverId> = stale.iter().map(|v| v.state.driver_id).collect();
    assert_eq!(ids, vec![silent]);

    ok(ports.availability.flush().await);
    let stale = ok(ports.availability.list_stale(at(70), ttl, 10).await);
    let ids: Vec<DriverId> = stale.iter().map(|v| v.state.driver_id).collect();
    assert_eq!(ids, vec![silent]);
    let later = ok(ports.availability.list_stale(at(111), ttl, 10).await);
    assert_eq!(later.len(), 2);
}
