//! Getting back in step over real sockets (issue 15, items 1 and 2): `hello.state` on
//! reconnect (also onto the other node of a cluster), `seq` on every event of a trip's stream,
//! gap detection and `trip:sync`.

use std::time::Duration;

use rodando_sio_client::SioClient;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::helpers::{Api, Hears, Login, spawn_app};
use crate::trips::{accept, ack, ack_ok, driver_at, go_available, trip_request, until_matchable};

/// Generous: the machine is shared and loaded.
const LONG: Duration = Duration::from_secs(10);

/// Near Parque Central, Havana (the pickup of [`trip_request`]).
const PICKUP: (f64, f64) = (23.1367, -82.3594);

/// Connects `login` to `namespace` and returns the socket with its `hello`.
async fn greeted(api: &Api, login: &Login, namespace: &str) -> (SioClient, Value) {
    let mut socket = api
        .connect_with_token(namespace, &login.access)
        .await
        .unwrap_or_else(|e| panic!("{namespace}: {e}"));
    let hello = socket.expect_event("hello", LONG).await.expect("hello");
    (socket, hello)
}

/// A driver online at `distance_deg` degrees of latitude north of the pickup, that dispatch
/// can already see.
async fn online_driver(api: &Api, email: &str, distance_deg: f64) -> (SioClient, Login) {
    let (socket, login) = driver_at(api, email, distance_deg).await;
    until_matchable(api, &login).await;
    (socket, login)
}

/// The passenger requests a trip; returns its id.
async fn requested(passenger: &SioClient) -> String {
    let reply = ack_ok(passenger, "trip:request", trip_request()).await;
    reply["data"]["id"].as_str().unwrap().to_owned()
}

/// driver1 online near the pickup, passenger1 greeted, and the trip the passenger requested
/// offered to the driver: where the reconnect stories on one node start.
struct Offered {
    driver: SioClient,
    driver_login: Login,
    passenger_login: Login,
    passenger: SioClient,
    trip_id: String,
    /// The `trip:assignment:offered` payload the driver heard.
    offered: Value,
}

async fn offered_trip(app: &Api) -> Offered {
    let (mut driver, driver_login) = online_driver(app, "driver1@rodando.local", 0.005).await;
    let passenger_login = app.login("passenger1@rodando.local").await;
    let (passenger, _) = greeted(app, &passenger_login, "/passengers").await;
    let trip_id = requested(&passenger).await;
    let offered = driver.heard("trip:assignment:offered", LONG).await;
    Offered {
        driver,
        driver_login,
        passenger_login,
        passenger,
        trip_id,
        offered,
    }
}

/// The `seq` of a trip event.
fn seq(event: &Value) -> u64 {
    event["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq in {event}"))
}

/// Waits (up to [`LONG`]) for the trip events of `trip_id` until `last` arrives; returns every
/// one with a seq, in order of arrival, as `(name, payload)`.
async fn trip_stream(socket: &mut SioClient, trip_id: &str, last: &str) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + LONG;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = socket
            .next_event(left)
            .await
            .unwrap_or_else(|e| panic!("{last} never came ({e}); saw {seen:?}"));
        let payload = event.args.first().cloned().unwrap_or(Value::Null);
        if !event.name.starts_with("trip:") || payload["tripId"] != trip_id {
            continue;
        }
        if payload.get("seq").is_none() {
            continue; // the en-route position stream has no seq
        }
        let done = event.name == last;
        seen.push((event.name, payload));
        if done {
            return seen;
        }
    }
}

/// Seqs follow one another by one.
fn assert_consecutive(events: &[(String, Value)]) {
    for pair in events.windows(2) {
        assert_eq!(
            seq(&pair[1].1),
            seq(&pair[0].1) + 1,
            "{} after {}: {events:?}",
            pair[1].0,
            pair[0].0
        );
    }
}

/// The offer as the driver got it and as `hello.state` has it after a reconnect: the same but
/// for `ttlSec`, which is smaller and still positive.
fn assert_same_offer_with_less_time(offered: &Value, hello: &Value) {
    let offers = hello["state"]["offers"].as_array().expect("state.offers");
    assert_eq!(offers.len(), 1, "{hello}");
    let again = &offers[0];
    let (before, after) = (
        offered["ttlSec"].as_i64().unwrap(),
        again["ttlSec"].as_i64().unwrap(),
    );
    assert!(after < before && after > 0, "ttlSec {before} then {after}");
    let mut without_ttl = again.clone();
    without_ttl["ttlSec"] = offered["ttlSec"].clone();
    assert_eq!(&without_ttl, offered, "the offer is the one offered");
}

#[tokio::test]
async fn a_driver_that_reconnects_finds_its_open_offer_with_less_time_and_can_accept_it() {
    let app = spawn_app().await;
    let Offered {
        driver,
        driver_login,
        mut passenger,
        trip_id,
        offered,
        ..
    } = offered_trip(&app).await;
    assert_eq!(offered["tripId"], trip_id.as_str());
    assert_eq!(offered["ttlSec"], 20);

    // The connection drops; the phone reconnects a moment later.
    driver.close().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (mut again, hello) = greeted(&app, &driver_login, "/drivers").await;

    assert_same_offer_with_less_time(&offered, &hello);
    let state = &hello["state"];
    assert_eq!(
        state["availability"]["driverId"],
        driver_login.user_id.as_str()
    );
    assert_eq!(state["availability"]["availabilityStatus"], "AVAILABLE");
    assert_eq!(state["activeTrip"], Value::Null);

    let accepted = accept(&again, &offered).await;
    assert_eq!(accepted["data"]["status"], "arriving");
    let assigned = passenger.heard("trip:driver_assigned", LONG).await;
    assert_eq!(assigned["driverId"], driver_login.user_id.as_str());
    let arriving = again.heard("trip:arriving_started", LONG).await;
    assert_eq!(arriving["tripId"], trip_id.as_str());
}

#[tokio::test]
async fn a_driver_that_reconnects_onto_the_other_node_finds_its_offer_and_accepts_it_there() {
    let cluster = Cluster::start().await;
    let driver_login = cluster.a.login("driver1@rodando.local").await;
    let (mut driver, _) = greeted(&cluster.a, &driver_login, "/drivers").await;
    go_available(&driver).await;
    let ping = json!({"latitude": PICKUP.0 + 0.005, "longitude": PICKUP.1});
    assert_eq!(ack(&driver, "driver:location:ping", ping).await["ok"], true);
    until_matchable(&cluster.a, &driver_login).await;
    let passenger_login = cluster.a.login("passenger1@rodando.local").await;
    let (mut passenger, _) = greeted(&cluster.a, &passenger_login, "/passengers").await;

    let trip_id = requested(&passenger).await;
    let offered = driver.heard("trip:assignment:offered", LONG).await;
    assert_eq!(offered["tripId"], trip_id.as_str());

    // Node A's connection drops; the load balancer sends the reconnect to node B.
    driver.close().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (mut on_b, hello) = greeted(&cluster.b, &driver_login, "/drivers").await;
    assert_same_offer_with_less_time(&offered, &hello);

    accept(&on_b, &offered).await;
    // The passenger, on node A, hears it; so does the driver's new socket on node B.
    let assigned = passenger.heard("trip:driver_assigned", LONG).await;
    assert_eq!(assigned["driverId"], driver_login.user_id.as_str());
    assert_eq!(seq(&assigned), seq(&offered) + 2, "accepted, then assigned");
    let arriving = on_b.heard("trip:arriving_started", LONG).await;
    assert_eq!(seq(&arriving), seq(&offered) + 3);
    drop((passenger, on_b));
    cluster.stop().await;
}

#[tokio::test]
async fn a_passenger_that_reopens_mid_trip_gets_the_trip_and_its_driver_and_later_events() {
    let app = spawn_app().await;
    let (mut driver, driver_login) = online_driver(&app, "driver1@rodando.local", 0.005).await;
    let passenger_login = app.login("passenger1@rodando.local").await;
    let (mut passenger, hello) = greeted(&app, &passenger_login, "/passengers").await;
    assert_eq!(
        hello["state"],
        json!({"availability": null, "offers": [], "activeTrip": null}),
        "no trip yet"
    );

    let trip_id = requested(&passenger).await;
    let offered = driver.heard("trip:assignment:offered", LONG).await;
    accept(&driver, &offered).await;
    let before = trip_stream(&mut passenger, &trip_id, "trip:arriving_started").await;

    // The passenger closes the app and opens it again.
    passenger.close().await;
    let (mut reopened, hello) = greeted(&app, &passenger_login, "/passengers").await;
    let active = &hello["state"]["activeTrip"];
    assert_eq!(active["trip"]["id"], trip_id.as_str());
    assert_eq!(active["trip"]["status"], "arriving");
    assert_eq!(active["trip"]["driverId"], driver_login.user_id.as_str());
    let last_seen = seq(&before.last().unwrap().1);
    assert_eq!(seq(active), last_seen, "nothing happened meanwhile");
    let driver_view = &active["driver"];
    assert_eq!(driver_view["id"], driver_login.user_id.as_str());
    assert!(
        !driver_view["name"].as_str().unwrap_or_default().is_empty(),
        "{driver_view}"
    );
    let position = &driver_view["position"];
    assert!((position["latitude"].as_f64().unwrap() - (PICKUP.0 + 0.005)).abs() < 1e-9);
    assert!((position["longitude"].as_f64().unwrap() - PICKUP.1).abs() < 1e-9);
    assert!(position["at"].is_string());
    assert_eq!(hello["state"]["availability"], Value::Null);

    // Later events reach the reopened app, continuing the stream.
    app.trip_step(&trip_id, "arrived", &driver_login).await;
    let arrived = reopened.heard("trip:driver_arrived_pickup", LONG).await;
    assert_eq!(seq(&arrived), last_seen + 1);
}

#[tokio::test]
async fn seq_increases_by_one_per_event_of_a_trip_for_everyone_it_concerns() {
    let app = spawn_app().await;
    let (mut near, _) = online_driver(&app, "driver1@rodando.local", 0.005).await;
    let (mut far, far_login) = online_driver(&app, "driver2@rodando.local", 0.010).await;
    let passenger_login = app.login("passenger1@rodando.local").await;
    let (mut passenger, _) = greeted(&app, &passenger_login, "/passengers").await;
    let admin_login = app.login("admin@rodando.local").await;
    let (mut admin, _) = greeted(&app, &admin_login, "/admin").await;

    let trip_id = requested(&passenger).await;
    ack_ok(&admin, "admin:trip:watch", json!({"tripId": trip_id})).await;
    // The nearest declines; the next one takes it and drives it to the end.
    let first = near.heard("trip:assignment:offered", LONG).await;
    ack_ok(
        &near,
        "driver:offer:reject",
        json!({"assignmentId": first["assignmentId"], "reason": "too far"}),
    )
    .await;
    let second = far.heard("trip:assignment:offered", LONG).await;
    accept(&far, &second).await;
    for step in ["arrived", "start", "complete"] {
        app.trip_step(&trip_id, step, &far_login).await;
    }

    let stream = trip_stream(&mut passenger, &trip_id, "trip:completed").await;
    let names: Vec<&str> = stream.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "trip:requested",
            "trip:assigning_started",
            "trip:assignment:rejected",
            "trip:assignment:accepted",
            "trip:driver_assigned",
            "trip:arriving_started",
            "trip:driver_arrived_pickup",
            "trip:started",
            "trip:completed",
        ]
    );
    assert_eq!(seq(&stream[0].1), 1, "trip:requested is the first event");
    assert_consecutive(&stream);

    // Each driver's own view of the trip has no gap either: the offer carries the trip's
    // current seq, and its next event is one more.
    assert_eq!(seq(&first), 2, "offered right after assigning_started");
    let near_stream = trip_stream(&mut near, &trip_id, "trip:assignment:rejected").await;
    assert_consecutive(
        &[("offered".into(), first.clone())]
            .into_iter()
            .chain(near_stream)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        seq(&second),
        3,
        "offered after the rejection, adding nothing"
    );
    let far_stream = trip_stream(&mut far, &trip_id, "trip:completed").await;
    assert_consecutive(
        &[("offered".into(), second.clone())]
            .into_iter()
            .chain(far_stream)
            .collect::<Vec<_>>(),
    );
    // The watching admin sees the same numbers from the watch on (`trip:requested` reached it
    // before, through admin:trips).
    let mut admin_stream = trip_stream(&mut admin, &trip_id, "trip:completed").await;
    assert_eq!(admin_stream[0].0, "trip:requested");
    admin_stream.remove(0);
    assert_consecutive(&admin_stream);
    assert_eq!(seq(&admin_stream.last().unwrap().1), 9);
}

#[tokio::test]
async fn a_client_that_missed_events_finds_the_gap_and_trip_sync_gives_the_current_trip() {
    let app = spawn_app().await;
    let Offered {
        driver,
        driver_login,
        passenger_login,
        passenger: mut phone,
        trip_id,
        offered,
    } = offered_trip(&app).await;
    accept(&driver, &offered).await;
    let held = seq(&trip_stream(&mut phone, &trip_id, "trip:arriving_started")
        .await
        .last()
        .unwrap()
        .1);

    // The phone is away while the driver arrives and starts; an app that does not read
    // hello.state keeps its last seq.
    phone.close().await;
    for step in ["arrived", "start"] {
        app.trip_step(&trip_id, step, &driver_login).await;
    }
    let (mut back, _) = greeted(&app, &passenger_login, "/passengers").await;
    app.trip_step(&trip_id, "complete", &driver_login).await;

    let completed = back.heard("trip:completed", LONG).await;
    let gap = seq(&completed) - held;
    assert_eq!(gap, 3, "arrived and started were missed");
    let synced = ack_ok(&back, "trip:sync", json!({"tripId": trip_id})).await;
    assert_eq!(synced["data"]["seq"], seq(&completed));
    let trip = &synced["data"]["trip"];
    assert_eq!(trip["id"], trip_id.as_str());
    assert_eq!(trip["status"], "completed");
    assert!(trip["arrivedPickupAt"].is_string() && trip["startedAt"].is_string());
    assert_eq!(trip["driverId"], driver_login.user_id.as_str());

    // The assigned driver and an admin may sync it too.
    let by_driver = ack(&driver, "trip:sync", json!({"tripId": trip_id})).await;
    assert_eq!(by_driver["data"]["seq"], seq(&completed), "{by_driver}");
    let admin_login = app.login("admin@rodando.local").await;
    let (admin, _) = greeted(&app, &admin_login, "/admin").await;
    let by_admin = ack(&admin, "trip:sync", json!({"tripId": trip_id})).await;
    assert_eq!(
        by_admin["data"]["trip"]["status"], "completed",
        "{by_admin}"
    );
}

#[tokio::test]
async fn trip_sync_of_someone_elses_trip_is_refused() {
    let app = spawn_app().await;
    let (mut driver, _) = online_driver(&app, "driver1@rodando.local", 0.005).await;
    let passenger_login = app.login("passenger1@rodando.local").await;
    let (passenger, _) = greeted(&app, &passenger_login, "/passengers").await;
    let trip_id = requested(&passenger).await;
    // Offered, not assigned: the driver may not sync it yet.
    driver.heard("trip:assignment:offered", LONG).await;

    let stranger_login = app.login("passenger2@rodando.local").await;
    let (mut stranger, _) = greeted(&app, &stranger_login, "/passengers").await;
    let other_driver_login = app.login("driver2@rodando.local").await;
    let (other_driver, _) = greeted(&app, &other_driver_login, "/drivers").await;
    for (who, socket) in [
        ("another passenger", &stranger),
        ("another driver", &other_driver),
        ("the offered driver", &driver),
    ] {
        let refused = ack(socket, "trip:sync", json!({"tripId": trip_id})).await;
        assert_eq!(refused["ok"], false, "{who}: {refused}");
        assert_eq!(refused["error"]["code"], "not_found", "{who}: {refused}");
        assert!(refused.get("data").is_none(), "{who}: nothing leaks");
    }
    let exception = stranger.heard("exception", LONG).await;
    assert_eq!(exception["event"], "trip:sync");
    assert_eq!(exception["code"], "not_found");

    let unknown = ack(
        &passenger,
        "trip:sync",
        json!({"tripId": "6f9619ff-8b86-4011-b42d-00c04fc964ff"}),
    )
    .await;
    assert_eq!(unknown["error"]["code"], "not_found", "{unknown}");
    let malformed = ack(&passenger, "trip:sync", json!({"tripId": "nope"})).await;
    assert_eq!(
        malformed["error"]["code"], "validation_failed",
        "{malformed}"
    );
    assert_eq!(
        malformed["error"]["details"]["fields"][0]["field"], "tripId",
        "{malformed}"
    );
    let own = ack_ok(&passenger, "trip:sync", json!({"tripId": trip_id})).await;
    assert_eq!(own["data"]["seq"], 2, "requested, assigning_started");
}
