//! Live tracking over real sockets (issue 15, item 3): while a trip is `arriving` or
//! `in_progress`, its driver's pings reach the trip's passenger and watching admins as
//! `trip:driver_en_route`, at most one per trip per second, the last ping's position last; nobody
//! else hears them, and they stop at `completed` / `cancelled`. Also across two nodes.

use std::time::{Duration, Instant};

use rodando_domain::geo::haversine_m;
use rodando_sio_client::SioClient;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::helpers::{Api, Hears, Login, QUIET, WAIT, spawn_app};
use crate::trips::{
    PICKUP, accept_next_offer, ack, ack_ok, driver_at, trip_events, trip_request, until_matchable,
};

const EN_ROUTE: &str = "trip:driver_en_route";
/// The dropoff of [`trip_request`].
const DROPOFF: (f64, f64) = (23.1330, -82.3830);
/// Longer than the one-second window: a held position has gone out by then.
const WINDOW_AND_SOME: Duration = Duration::from_millis(1_600);

/// A position `step` ticks along the way from 0.005° north of the pickup towards it.
fn along(step: u32) -> (f64, f64) {
    (PICKUP.0 + 0.005 - f64::from(step) * 0.0002, PICKUP.1)
}

async fn ping(driver: &SioClient, at: (f64, f64)) {
    ack_ok(
        driver,
        "driver:location:ping",
        json!({"latitude": at.0, "longitude": at.1, "heading": 180.0, "speedKph": 30.0}),
    )
    .await;
}

/// Pings `count` positions at 5 per second (on a fixed schedule, whatever the acks take);
/// returns the last position and how long the pinging took.
async fn ping_at_5_per_second(driver: &SioClient, count: u32) -> ((f64, f64), Duration) {
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let started = Instant::now();
    let mut last = along(0);
    for step in 0..count {
        ticks.tick().await;
        last = along(step);
        ping(driver, last).await;
    }
    (last, started.elapsed())
}

/// The `trip:driver_en_route` payloads a socket received so far, in order.
fn en_routes(socket: &mut SioClient) -> Vec<Value> {
    socket
        .drain_events()
        .into_iter()
        .filter(|e| e.name == EN_ROUTE)
        .map(|e| e.data().clone())
        .collect()
}

/// A trip requested by passenger1 and accepted by driver1 (now `arriving`), watched by one
/// admin; a second passenger, a second driver and a second admin look on.
struct Arriving {
    trip_id: String,
    driver: SioClient,
    driver_login: Login,
    passenger: SioClient,
    admin: SioClient,
    onlookers: Vec<SioClient>,
}

/// Owned ids, for assertions while the sockets are borrowed.
fn ids_of(trip: &Arriving) -> (String, String) {
    (trip.trip_id.clone(), trip.driver_login.user_id.clone())
}

async fn arriving_trip(app: &Api) -> Arriving {
    let (mut driver, driver_login) = driver_at(app, "driver1@rodando.local", 0.005).await;
    let (other_driver, _) = app.joined("driver2@rodando.local").await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let (other_passenger, _) = app.joined("passenger2@rodando.local").await;
    let (admin, _) = app.joined("admin@rodando.local").await;
    let (unwatching_admin, _) = app.joined("admin@rodando.local").await;

    let reply = ack_ok(&passenger, "trip:request", trip_request()).await;
    let trip_id = reply["data"]["id"].as_str().unwrap().to_owned();
    let watch = ack(&admin, "admin:trip:watch", json!({"tripId": trip_id})).await;
    assert_eq!(watch["data"]["watching"], true, "{watch}");
    accept_next_offer(&mut driver).await;
    passenger.heard("trip:arriving_started", WAIT).await;
    Arriving {
        trip_id,
        driver,
        driver_login,
        passenger,
        admin,
        onlookers: vec![other_driver, other_passenger, unwatching_admin],
    }
}

/// What every en-route payload must say of `expected` (the driver's last position).
fn assert_en_route(
    payload: &Value,
    (trip_id, driver_id): &(String, String),
    expected: (f64, f64),
    phase: &str,
    to: (f64, f64),
) {
    assert_eq!(payload["tripId"], trip_id.as_str(), "{payload}");
    assert_eq!(payload["driverId"], driver_id.as_str());
    assert_eq!(payload["phase"], phase, "{payload}");
    let position = &payload["driverPosition"];
    assert_eq!(position["latitude"].as_f64(), Some(expected.0), "{payload}");
    assert_eq!(position["longitude"].as_f64(), Some(expected.1));
    assert_eq!(position["heading"], 180.0);
    assert_eq!(position["speedKph"], 30.0);
    let distance = payload["distanceM"].as_f64().unwrap();
    let straight = haversine_m(expected, to);
    assert!(
        (distance - straight).abs() <= 1.0,
        "{distance} vs {straight}"
    );
    // The straight line at 28 km/h.
    let eta = payload["etaSec"].as_f64().unwrap();
    assert!(
        (eta - distance / (28.0 / 3.6)).abs() <= 1.0,
        "{eta}s for {distance}m"
    );
    assert!(payload["at"].as_str().is_some_and(|a| a.ends_with('Z')));
}

/// Once the trip has ended with `ending` (`what`, for the message), the driver pings at
/// `along(step)` and, a window later, `along(step + 1)`; a window after that, neither the
/// passenger nor the admin has heard `trip:driver_en_route` after `ending`. Both endings of a
/// trip are checked the same way.
async fn untracked_after(trip: &mut Arriving, step: u32, ending: &str, what: &str) {
    ping(&trip.driver, along(step)).await;
    tokio::time::sleep(WINDOW_AND_SOME).await;
    ping(&trip.driver, along(step + 1)).await;
    tokio::time::sleep(WINDOW_AND_SOME).await;
    for socket in [&mut trip.passenger, &mut trip.admin] {
        let names = trip_events(socket);
        let ended = names
            .iter()
            .position(|n| n == ending)
            .unwrap_or_else(|| panic!("no {ending} in {names:?}"));
        assert!(
            !names[ended..].iter().any(|n| n == EN_ROUTE),
            "en-route after {what}: {names:?}"
        );
    }
}

#[tokio::test]
async fn the_passenger_and_a_watching_admin_get_the_driver_at_most_once_a_second_and_nobody_else() {
    let app = spawn_app().await;
    let mut trip = arriving_trip(&app).await;
    let ids = ids_of(&trip);
    for socket in [&mut trip.passenger, &mut trip.admin, &mut trip.driver] {
        socket.drain_events();
    }

    let (last, took) = ping_at_5_per_second(&trip.driver, 15).await;
    tokio::time::sleep(WINDOW_AND_SOME).await;

    // Sends are a window apart and the last may trail the last ping by one window.
    let at_most = took.as_secs() as usize + 2;
    for socket in [&mut trip.passenger, &mut trip.admin] {
        let heard = en_routes(socket);
        eprintln!("15 pings over {took:?}: {} en-route events", heard.len());
        assert!(
            !heard.is_empty() && heard.len() <= at_most,
            "{} en-route events for 15 pings over {took:?} (at most {at_most})",
            heard.len()
        );
        assert_en_route(heard.last().unwrap(), &ids, last, "to_pickup", PICKUP);
        // Distances shrink as the driver comes closer.
        let distances: Vec<f64> = heard
            .iter()
            .map(|p| p["distanceM"].as_f64().unwrap())
            .collect();
        assert!(distances.windows(2).all(|d| d[1] <= d[0]), "{distances:?}");
    }
    assert!(en_routes(&mut trip.driver).is_empty(), "not to the driver");
    for onlooker in &mut trip.onlookers {
        // Another passenger, driver or a non-watching admin hears nothing.
        onlooker.not_heard(EN_ROUTE, QUIET).await;
    }

    // Started: the driver now heads to the dropoff.
    app.trip_step(&trip.trip_id, "start", &trip.driver_login)
        .await;
    trip.passenger.heard("trip:started", WAIT).await;
    trip.passenger.drain_events();
    let riding = along(20);
    ping(&trip.driver, riding).await;
    tokio::time::sleep(WINDOW_AND_SOME).await;
    ping(&trip.driver, riding).await;
    let heard = trip.passenger.heard(EN_ROUTE, WAIT).await;
    assert_en_route(&heard, &ids, riding, "to_dropoff", DROPOFF);

    // Completed, with a position held in the window: it is dropped, and later pings go nowhere.
    tokio::time::sleep(WINDOW_AND_SOME).await;
    ping(&trip.driver, along(21)).await;
    ping(&trip.driver, along(22)).await;
    app.trip_step(&trip.trip_id, "complete", &trip.driver_login)
        .await;
    untracked_after(&mut trip, 23, "trip:completed", "completion").await;
}

#[tokio::test]
async fn nothing_is_tracked_after_the_passenger_cancels() {
    let app = spawn_app().await;
    let mut trip = arriving_trip(&app).await;
    let ids = ids_of(&trip);
    ping(&trip.driver, along(1)).await;
    let first = trip.passenger.heard(EN_ROUTE, WAIT).await;
    assert_en_route(&first, &ids, along(1), "to_pickup", PICKUP);

    // A position held in the window, then the cancel.
    ping(&trip.driver, along(2)).await;
    let cancelled = ack(
        &trip.passenger,
        "trip:cancel",
        json!({"tripId": trip.trip_id, "reason": "changed my mind"}),
    )
    .await;
    assert_eq!(cancelled["data"]["status"], "cancelled", "{cancelled}");
    untracked_after(&mut trip, 3, "trip:cancelled", "the cancel").await;
}

/// The driver's socket on node B, the passenger and the watching admin on node A, the trip's
/// steps through REST on node A: B reads what A committed, and its emits reach A through Redis.
#[tokio::test]
async fn a_driver_on_node_b_is_tracked_for_a_passenger_on_node_a_through_trips_moved_on_node_a() {
    let Cluster { a, b, db, .. } = Cluster::start().await;

    let (mut driver, driver_login) = driver_at(&b, "driver1@rodando.local", 0.005).await;
    until_matchable(&a, &driver_login).await;
    let (mut passenger, passenger_login) = a.joined("passenger1@rodando.local").await;
    let (mut admin, _) = a.joined("admin@rodando.local").await;
    let (mut unwatching_admin, _) = a.joined("admin@rodando.local").await;
    let (status, body) = a
        .post_json_with("/api/trips", &passenger_login.access, None, trip_request())
        .await;
    assert_eq!(status, 201, "{body}");
    let trip_id = body["id"].as_str().unwrap().to_owned();
    let watch = ack(&admin, "admin:trip:watch", json!({"tripId": trip_id})).await;
    assert_eq!(watch["data"]["watching"], true, "{watch}");
    accept_next_offer(&mut driver).await;

    ping(&driver, along(1)).await;
    for socket in [&mut passenger, &mut admin] {
        let heard = socket.heard(EN_ROUTE, WAIT).await;
        assert_eq!(heard["tripId"], trip_id.as_str());
        assert_eq!(heard["phase"], "to_pickup", "{heard}");
        assert_eq!(
            heard["driverPosition"]["latitude"].as_f64(),
            Some(along(1).0)
        );
    }

    // Started on node A: node B's next send reads it.
    a.trip_step(&trip_id, "start", &driver_login).await;
    tokio::time::sleep(WINDOW_AND_SOME).await;
    passenger.drain_events();
    ping(&driver, along(2)).await;
    let deadline = Instant::now() + WAIT * 3;
    loop {
        let heard = passenger.heard(EN_ROUTE, WAIT).await;
        if heard["phase"] == "to_dropoff" {
            break;
        }
        assert!(Instant::now() < deadline, "never to_dropoff: {heard}");
        tokio::time::sleep(WINDOW_AND_SOME).await;
        ping(&driver, along(2)).await;
    }

    // Completed on node A: node B sends nothing more.
    tokio::time::sleep(WINDOW_AND_SOME).await;
    ping(&driver, along(3)).await;
    ping(&driver, along(4)).await;
    a.trip_step(&trip_id, "complete", &driver_login).await;
    for _ in 0..3 {
        tokio::time::sleep(WINDOW_AND_SOME / 2).await;
        ping(&driver, along(5)).await;
    }
    tokio::time::sleep(WINDOW_AND_SOME).await;
    for socket in [&mut passenger, &mut admin] {
        let names = trip_events(socket);
        let completed = names
            .iter()
            .position(|n| n == "trip:completed")
            .unwrap_or_else(|| panic!("no trip:completed in {names:?}"));
        assert!(
            !names[completed..].iter().any(|n| n == EN_ROUTE),
            "en-route after completion: {names:?}"
        );
    }
    assert!(en_routes(&mut unwatching_admin).is_empty());
    assert!(en_routes(&mut driver).is_empty());

    drop(a);
    drop(b);
    db.drop_it().await;
}
