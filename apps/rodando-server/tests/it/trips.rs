//! Trips and dispatch over real sockets and HTTP (PROTOCOL §2, §7, §8): who receives each
//! event, and who does not.

use rodando_sio_client::SioClient;
use serde_json::{Value, json};

use crate::helpers::{Api, Hears, Login, QUIET, WAIT, assert_refused, spawn_app, spawn_app_with};

/// Near Parque Central, Havana.
pub(crate) const PICKUP: (f64, f64) = (23.1367, -82.3594);

pub(crate) async fn ack(socket: &SioClient, event: &str, payload: Value) -> Value {
    socket
        .emit_with_ack(event, payload, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{event} was not acked: {e}"))
}

/// Acks `event` on `socket` and asserts the reply is `{ok: true}`, naming the event and the reply
/// when it is not; returns the reply. Most steps of these tests are exactly that check, written
/// out as five lines each before.
pub(crate) async fn ack_ok(socket: &SioClient, event: &str, payload: Value) -> Value {
    let reply = ack(socket, event, payload).await;
    assert_eq!(reply["ok"], true, "{event}: {reply}");
    reply
}

/// `driver` goes AVAILABLE, the ack asserted `{ok: true}`; returns the reply (the snapshot is
/// its `data`). The first step of nearly every driver in these tests.
pub(crate) async fn go_available(driver: &SioClient) -> Value {
    let reply = set_status(driver, "AVAILABLE").await;
    assert_eq!(reply["ok"], true, "driver:status:update AVAILABLE: {reply}");
    reply
}

/// `driver` asks for the availability `status` (`driver:status:update`); returns the reply,
/// whatever it is.
pub(crate) async fn set_status(driver: &SioClient, status: &str) -> Value {
    let payload = json!({"availabilityStatus": status});
    ack(driver, "driver:status:update", payload).await
}

/// `driver` answers `driver:offer:accept` to `offer` (an offered event or its data); returns the
/// reply, whatever it is (tests of refused accepts check it).
pub(crate) async fn try_accept(driver: &SioClient, offer: &Value) -> Value {
    let payload = json!({"assignmentId": offer["assignmentId"]});
    ack(driver, "driver:offer:accept", payload).await
}

/// `driver` accepts `offer`, the reply asserted `{ok: true}`; returns it.
pub(crate) async fn accept(driver: &SioClient, offer: &Value) -> Value {
    let reply = try_accept(driver, offer).await;
    assert_eq!(reply["ok"], true, "driver:offer:accept: {reply}");
    reply
}

/// Waits for `driver`'s next offer and accepts it; the trip is then arriving.
pub(crate) async fn accept_next_offer(driver: &mut SioClient) {
    let offer = driver.heard("trip:assignment:offered", WAIT).await;
    let accepted = accept(driver, &offer).await;
    assert_eq!(accepted["data"]["status"], "arriving", "{accepted}");
}

/// `driver` pings the position `(latitude, longitude)`, the ack asserted `{ok: true}`.
pub(crate) async fn ping(driver: &SioClient, (latitude, longitude): (f64, f64)) -> Value {
    let position = json!({"latitude": latitude, "longitude": longitude});
    ack_ok(driver, "driver:location:ping", position).await
}

/// `admin` hears `driver`'s `driver:location:update` at `(latitude, longitude)`.
pub(crate) async fn heard_at(
    admin: &mut SioClient,
    driver: &Login,
    (latitude, longitude): (f64, f64),
) {
    let update = admin.heard("driver:location:update", WAIT).await;
    assert_eq!(update["driverId"], driver.user_id.as_str(), "{update}");
    assert_eq!(
        update["lastLocation"]["coordinates"],
        json!([longitude, latitude])
    );
}

/// A driver online at `distance_deg` degrees of latitude north of the pickup.
pub(crate) async fn driver_at(app: &Api, email: &str, distance_deg: f64) -> (SioClient, Login) {
    let (socket, login) = app.connected(email, "/drivers").await;
    go_available(&socket).await;
    ping(&socket, (PICKUP.0 + distance_deg, PICKUP.1)).await;
    (socket, login)
}

/// Waits until dispatch on the node behind `api` can see `driver`: with the PostgreSQL
/// write-behind, a position acked by another node reaches the database within one batch
/// interval (docs/positions.md), and a trip requested before then finds nobody.
pub(crate) async fn until_matchable(api: &Api, driver: &Login) {
    let admin = api.login("admin@rodando.local").await;
    let path = format!(
        "/api/drivers/available?latitude={}&longitude={}&radiusM=5000",
        PICKUP.0, PICKUP.1
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = api.get_with_bearer(&path, &admin.access).await;
        assert_eq!(status, 200, "{body}");
        let listed = body["drivers"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["driverId"] == driver.user_id.as_str()));
        if listed {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "driver {} never matchable: {body}",
            driver.user_id
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) fn trip_request() -> Value {
    json!({
        "pickup": {"latitude": PICKUP.0, "longitude": PICKUP.1, "address": "Parque Central"},
        "dropoff": {"latitude": 23.1330, "longitude": -82.3830},
        "paymentMethod": "cash"
    })
}

/// Names of the trip events a socket received so far, in order (driver availability chatter
/// and the rest dropped).
pub(crate) fn trip_events(socket: &mut SioClient) -> Vec<String> {
    socket
        .drain_events()
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n.starts_with("trip:"))
        .collect()
}

#[tokio::test]
async fn a_trip_goes_from_request_through_reject_and_accept_to_completion() {
    let app = spawn_app().await;
    let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.005).await;
    let (mut far, far_login) = driver_at(&app, "driver2@rodando.local", 0.010).await;
    let (mut idle, _) = app.joined("driver3@rodando.local").await;
    let (mut passenger, passenger_login) = app.joined("passenger1@rodando.local").await;
    let (mut other_passenger, _) = app.joined("passenger2@rodando.local").await;
    let (mut admin, _) = app.joined("admin@rodando.local").await;
    let (mut unwatching_admin, _) = app.joined("admin@rodando.local").await;

    // Request: the passenger hears it, the nearest driver gets the offer.
    let reply = ack_ok(&passenger, "trip:request", trip_request()).await;
    let trip = &reply["data"];
    let trip_id = trip["id"].as_str().unwrap().to_owned();
    assert_eq!(trip["passengerId"], passenger_login.user_id.as_str());
    assert_eq!(trip["status"], "assigning");
    assert_eq!(trip["currency"], "CUP");
    assert!(trip["fareEstimate"].as_f64().unwrap() >= 5.0);
    let requested = passenger.heard("trip:requested", WAIT).await;
    assert_eq!(requested["tripId"], trip_id.as_str());
    assert_eq!(requested["pickup"]["address"], "Parque Central");
    // Every admin hears of the new trip (room admin:trips), so a dashboard can watch it.
    for admin in [&mut admin, &mut unwatching_admin] {
        let heard = admin.heard("trip:requested", WAIT).await;
        assert_eq!(heard["tripId"], trip_id.as_str());
    }
    passenger.heard("trip:assigning_started", WAIT).await;
    let offer = near.heard("trip:assignment:offered", WAIT).await;
    assert_eq!(offer["tripId"], trip_id.as_str());
    assert_eq!(offer["ttlSec"], 20);
    let distance = offer["distanceToPickupM"].as_f64().unwrap();
    assert!((500.0..600.0).contains(&distance), "{distance}");
    far.not_heard("trip:assignment:offered", QUIET).await;

    let watch = ack(&admin, "admin:trip:watch", json!({"tripId": trip_id})).await;
    assert_eq!(watch["data"]["watching"], true, "{watch}");

    // The nearest driver declines; the next nearest gets the offer.
    let rejected = ack(
        &near,
        "driver:offer:reject",
        json!({"assignmentId": offer["assignmentId"], "reason": "too far"}),
    )
    .await;
    assert_eq!(rejected["data"]["status"], "rejected");
    let heard = passenger.heard("trip:assignment:rejected", WAIT).await;
    assert_eq!(heard["driverId"], near_login.user_id.as_str());
    admin.heard("trip:assignment:rejected", WAIT).await;
    let second = far.heard("trip:assignment:offered", WAIT).await;
    assert_ne!(second["assignmentId"], offer["assignmentId"]);

    // Someone else's offer cannot be taken; the offered driver accepts.
    let stolen = try_accept(&near, &second).await;
    assert_eq!(stolen["error"]["code"], "forbidden");
    near.drain_events();
    let accepted = accept(&far, &second).await;
    assert_eq!(accepted["data"]["status"], "arriving");
    assert_eq!(accepted["data"]["driverId"], far_login.user_id.as_str());
    for socket in [&mut passenger, &mut far, &mut admin] {
        socket.heard("trip:assignment:accepted", WAIT).await;
        let assigned = socket.heard("trip:driver_assigned", WAIT).await;
        assert_eq!(assigned["driver"]["name"], "Dania Driver");
        assert_eq!(assigned["currentStatus"], "accepted");
        let arriving = socket.heard("trip:arriving_started", WAIT).await;
        assert!(arriving["etaSec"].as_u64().unwrap() > 0);
        assert_eq!(arriving["driverPosition"]["type"], "Point");
    }
    let trip_update = far.heard("driver:trip:update", WAIT).await;
    assert_eq!(trip_update["currentTripId"], trip_id.as_str());

    // PROTOCOL §6: OFFLINE while on a dispatched trip is refused; clearing it too.
    let offline = set_status(&far, "OFFLINE").await;
    assert_eq!(
        (
            offline["error"]["code"].as_str(),
            offline["error"]["details"]["reason"].as_str()
        ),
        (Some("conflict"), Some("on_trip"))
    );
    let cleared = ack(&far, "driver:trip:set", json!({"tripId": null})).await;
    assert_eq!(cleared["error"]["details"]["reason"], "active_trip");
    far.drain_events();

    // The driver's steps, over REST.
    let path = |step: &str| format!("/api/trips/{trip_id}/{step}");
    // Another driver cannot even see it.
    assert_refused(
        &app.post_with_bearer(&path("arrived"), &near_login.access)
            .await,
        404,
        "not_found",
    );
    assert_refused(
        &app.post_with_bearer(&path("start"), &passenger_login.access)
            .await,
        403,
        "forbidden",
    );
    let too_early = app
        .post_with_bearer(&path("complete"), &far_login.access)
        .await;
    assert_refused(&too_early, 409, "invalid_trip_transition");
    assert_eq!(
        too_early.1["error"]["details"],
        json!({"from": "arriving", "to": "completed"})
    );
    assert_eq!(
        app.post_with_bearer(&path("arrived"), &far_login.access)
            .await
            .0,
        200
    );
    assert_eq!(
        app.post_with_bearer(&path("start"), &far_login.access)
            .await
            .0,
        200
    );
    let (status, done) = app
        .post_with_bearer(&path("complete"), &far_login.access)
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["fareTotal"], done["fareEstimate"]);
    for socket in [&mut passenger, &mut far, &mut admin] {
        let arrived = socket.heard("trip:driver_arrived_pickup", WAIT).await;
        assert_eq!(arrived["driverId"], far_login.user_id.as_str());
        socket.heard("trip:started", WAIT).await;
        let completed = socket.heard("trip:completed", WAIT).await;
        assert_eq!(completed["fareTotal"], done["fareTotal"]);
        assert_eq!(completed["currency"], "CUP");
    }
    // The driver is free again.
    let freed = far.heard("driver:trip:update", WAIT).await;
    assert_eq!(
        (
            freed["currentTripId"].clone(),
            freed["isAvailableForTrips"].clone()
        ),
        (Value::Null, json!(true))
    );

    // Nobody else heard any of it.
    assert_eq!(trip_events(&mut other_passenger), Vec::<String>::new());
    assert_eq!(trip_events(&mut idle), Vec::<String>::new());
    assert_eq!(
        trip_events(&mut near),
        Vec::<String>::new(),
        "the declining driver hears no more"
    );
    assert_eq!(trip_events(&mut unwatching_admin), Vec::<String>::new());
}

#[tokio::test]
async fn an_unanswered_offer_expires_from_its_stored_deadline_and_the_trip_moves_on() {
    let app = spawn_app_with(&[("DISPATCH_OFFER_TTL_SEC", "1")]).await;
    let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (mut far, _) = driver_at(&app, "driver2@rodando.local", 0.004).await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    ack(&passenger, "trip:request", trip_request()).await;
    let first = near.heard("trip:assignment:offered", WAIT).await;
    assert_eq!(first["ttlSec"], 1);
    let expired = near.heard("trip:assignment:expired", WAIT).await;
    assert_eq!(expired["assignmentId"], first["assignmentId"]);
    let heard = passenger.heard("trip:assignment:expired", WAIT).await;
    assert_eq!(heard["driverId"], near_login.user_id.as_str());
    far.heard("trip:assignment:offered", WAIT).await;
    let late = try_accept(&near, &first).await;
    assert_eq!(late["error"]["code"], "conflict");
}

#[tokio::test]
async fn with_nobody_available_the_trip_ends_as_no_drivers_found() {
    let app = spawn_app().await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let reply = ack(&passenger, "trip:request", trip_request()).await;
    assert_eq!(reply["data"]["status"], "no_drivers_found", "{reply}");
    let event = passenger.heard("trip:no_drivers_found", WAIT).await;
    assert_eq!(event["reason"], "no_drivers_available");
    // The trip is over, so a new one may be requested.
    let again = ack(&passenger, "trip:request", trip_request()).await;
    assert_eq!(again["ok"], true);
}

#[tokio::test]
async fn the_passenger_may_cancel_and_the_offered_driver_is_told() {
    let app = spawn_app().await;
    let (mut driver, _) = driver_at(&app, "driver1@rodando.local", 0.003).await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let trip = ack(&passenger, "trip:request", trip_request()).await["data"].clone();
    driver.heard("trip:assignment:offered", WAIT).await;
    let cancelled = ack(
        &passenger,
        "trip:cancel",
        json!({"tripId": trip["id"], "reason": "found a bus"}),
    )
    .await;
    assert_eq!(cancelled["data"]["status"], "cancelled", "{cancelled}");
    let heard = passenger.heard("trip:cancelled", WAIT).await;
    assert_eq!(
        (heard["cancelledBy"].as_str(), heard["reason"].as_str()),
        (Some("passenger"), Some("found a bus"))
    );
    let told = driver.heard("trip:cancelled", WAIT).await;
    assert_eq!(told["tripId"], trip["id"]);
    // Cancelling again is a wrong transition.
    let again = ack(&passenger, "trip:cancel", json!({"tripId": trip["id"]})).await;
    assert_eq!(again["error"]["code"], "invalid_trip_transition");
    assert_eq!(
        again["error"]["details"],
        json!({"from": "cancelled", "to": "cancelled"})
    );
}

#[tokio::test]
async fn rest_trips_honour_idempotency_one_active_trip_and_visibility() {
    let app = spawn_app().await;
    // An available driver keeps the trip assigning (active) while we look at it.
    let (_socket, driver) = driver_at(&app, "driver1@rodando.local", 0.003).await;
    let passenger = app.login("passenger1@rodando.local").await;
    let other = app.login("passenger2@rodando.local").await;
    let admin = app.login("admin@rodando.local").await;
    let post = |token: String, key: Option<&'static str>, body: Value| {
        let app = &app;
        async move { app.post_json_with("/api/trips", &token, key, body).await }
    };

    let (status, first) = post(passenger.access.clone(), Some("k-1"), trip_request()).await;
    assert_eq!(status, 201, "{first}");
    let (status, replay) = post(passenger.access.clone(), Some("k-1"), trip_request()).await;
    assert_eq!(
        (status, &replay["id"]),
        (201, &first["id"]),
        "same key and body: same trip"
    );
    let mut changed = trip_request();
    changed["paymentMethod"] = json!("card");
    assert_refused(
        &post(passenger.access.clone(), Some("k-1"), changed).await,
        422,
        "idempotency_key_reused",
    );
    assert_refused(
        &post(passenger.access.clone(), None, trip_request()).await,
        409,
        "active_trip_exists",
    );
    assert_refused(
        &post(driver.access.clone(), None, trip_request()).await,
        403,
        "forbidden",
    );
    assert_refused(
        &post(
            other.access.clone(),
            None,
            json!({"pickup": {"latitude": 95}}),
        )
        .await,
        400,
        "validation_failed",
    );

    let id = first["id"].as_str().unwrap();
    let get = |token: String| {
        let app = &app;
        let path = format!("/api/trips/{id}");
        async move { app.get_with_bearer(&path, &token).await }
    };
    assert_eq!(get(passenger.access.clone()).await.0, 200);
    assert_eq!(get(admin.access.clone()).await.0, 200);
    assert_eq!(get(other.access.clone()).await.0, 404);
    assert_eq!(get(driver.access.clone()).await.0, 404);
    assert_eq!(
        app.get_with_bearer("/api/trips/not-a-uuid", &passenger.access)
            .await
            .0,
        404
    );
    assert_eq!(
        app.get("/api/trips/00000000-0000-4000-8000-000000000000")
            .await
            .0,
        401
    );

    let (status, cancelled) = app
        .post_with_bearer(&format!("/api/trips/{id}/cancel"), &admin.access)
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
}

#[tokio::test]
async fn admins_list_available_drivers_nearest_first() {
    let app = spawn_app().await;
    let (_far, far) = driver_at(&app, "driver2@rodando.local", 0.02).await;
    let (_near, near) = driver_at(&app, "driver1@rodando.local", 0.01).await;
    let admin = app.login("admin@rodando.local").await;
    let path = format!(
        "/api/drivers/available?latitude={}&longitude={}&radiusM=5000",
        PICKUP.0, PICKUP.1
    );
    let (status, body) = app.get_with_bearer(&path, &admin.access).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["driverId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [near.user_id.as_str(), far.user_id.as_str()]);
    let passenger = app.login("passenger1@rodando.local").await;
    assert_eq!(app.get_with_bearer(&path, &passenger.access).await.0, 403);
    assert_refused(
        &app.get_with_bearer("/api/drivers/available?latitude=abc", &admin.access)
            .await,
        400,
        "validation_failed",
    );
}
