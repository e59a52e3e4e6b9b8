//! Driver availability through real sockets (PROTOCOL §5, §6): acks, broadcasts and who
//! receives them, validation, rate limiting.

use std::time::Duration;

use rodando_sio_client::SioClient;
use serde_json::{Value, json};

use crate::helpers::{Hears, QUIET, TestApp, WAIT, spawn_app, spawn_app_with};
use crate::trips::{ack, ack_ok, go_available, ping, set_status};

/// A driver and everyone who must (admin) or must not (second driver, passenger) see it.
struct Fleet {
    driver: SioClient,
    driver_id: String,
    other_driver: SioClient,
    passenger: SioClient,
    admin: SioClient,
}

async fn fleet(app: &TestApp) -> Fleet {
    let (driver, login) = app.joined("driver1@rodando.local").await;
    let (other_driver, _) = app.joined("driver2@rodando.local").await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    let (admin, _) = app.joined("admin@rodando.local").await;
    Fleet {
        driver,
        driver_id: login.user_id,
        other_driver,
        passenger,
        admin,
    }
}

/// Nobody but the driver and the admins heard anything.
async fn bystanders_heard_nothing(f: &mut Fleet) {
    for socket in [&mut f.other_driver, &mut f.passenger] {
        let heard = socket.drain_events();
        assert!(heard.is_empty(), "a bystander received {heard:?}");
        socket.not_heard("driver:availability:update", QUIET).await;
    }
}

fn assert_snapshot_shape(s: &Value) {
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "availabilityReason",
        "availabilityStatus",
        "currentTripId",
        "currentVehicleId",
        "driverId",
        "isAvailableForTrips",
        "isOnline",
        "lastLocation",
        "lastLocationTimestamp",
        "lastOnlineTimestamp",
        "lastPresenceTimestamp",
        "updatedAt",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "snapshot fields");
}

#[tokio::test]
async fn going_available_is_acked_and_broadcast_to_the_driver_and_admins_only() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;

    let reply = go_available(&f.driver).await;
    let data = &reply["data"];
    assert_snapshot_shape(data);
    assert_eq!(data["driverId"], f.driver_id.as_str());
    assert_eq!(data["availabilityStatus"], "AVAILABLE");
    assert_eq!(data["isOnline"], true);
    assert_eq!(data["isAvailableForTrips"], true);
    assert_eq!(data["availabilityReason"], Value::Null);

    let to_admin = f.admin.heard("driver:availability:update", WAIT).await;
    assert_eq!(&to_admin, data, "admins get the same snapshot as the ack");
    let to_driver = f.driver.heard("driver:availability:update", WAIT).await;
    assert_eq!(&to_driver, data);
    // Exactly once each.
    f.admin.not_heard("driver:availability:update", QUIET).await;
    f.driver
        .not_heard("driver:availability:update", QUIET)
        .await;
    bystanders_heard_nothing(&mut f).await;
}

#[tokio::test]
async fn the_same_status_twice_is_acked_but_not_broadcast_again() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    set_status(&f.driver, "BUSY").await;
    f.admin.heard("driver:availability:update", WAIT).await;
    let again = ack(
        &f.driver,
        "driver:status:update",
        json!({"isOnline": true, "isAvailableForTrips": false}),
    )
    .await;
    assert_eq!(again["ok"], true);
    assert_eq!(again["data"]["availabilityStatus"], "BUSY");
    assert_eq!(again["data"]["availabilityReason"], "UNAVAILABLE");
    f.admin.not_heard("driver:availability:update", QUIET).await;
}

#[tokio::test]
async fn a_location_ping_is_broadcast_as_geojson_longitude_first() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    let reply = ack_ok(
        &f.driver,
        "driver:location:ping",
        json!({"latitude": 23.1136, "longitude": -82.3666, "accuracyMeters": 4.5}),
    )
    .await;
    let expected_point = json!({"type": "Point", "coordinates": [-82.3666, 23.1136]});
    assert_eq!(reply["data"]["lastLocation"], expected_point);

    let update = f.admin.heard("driver:location:update", WAIT).await;
    assert_eq!(
        update.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["driverId", "lastLocation", "lastLocationTimestamp"]
    );
    assert_eq!(update["driverId"], f.driver_id.as_str());
    assert_eq!(update["lastLocation"], expected_point);
    assert_eq!(
        update["lastLocationTimestamp"],
        reply["data"]["lastLocationTimestamp"]
    );
    let own = f.driver.heard("driver:location:update", WAIT).await;
    assert_eq!(own, update);
    bystanders_heard_nothing(&mut f).await;

    // The original clients' {lat, lng} works too.
    let reply = ack(
        &f.driver,
        "driver:location:ping",
        json!({"lat": 23.12, "lng": -82.37}),
    )
    .await;
    assert_eq!(
        reply["data"]["lastLocation"]["coordinates"],
        json!([-82.37, 23.12])
    );
}

#[tokio::test]
async fn admins_get_at_most_one_location_per_driver_per_window_and_never_lose_the_latest() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    for lat in [23.100, 23.101, 23.102, 23.103, 23.104] {
        ack(
            &f.driver,
            "driver:location:ping",
            json!({"latitude": lat, "longitude": -82.36}),
        )
        .await;
    }
    // The driver's own room gets all five.
    for _ in 0..5 {
        f.driver.heard("driver:location:update", WAIT).await;
    }
    // Admins get the first at once and the latest at the end of the 500 ms window.
    let first = f.admin.heard("driver:location:update", WAIT).await;
    assert_eq!(first["lastLocation"]["coordinates"][1], 23.10);
    let last = f.admin.heard("driver:location:update", WAIT).await;
    assert_eq!(last["lastLocation"]["coordinates"][1], 23.104);
    f.admin
        .not_heard("driver:location:update", Duration::from_millis(700))
        .await;
}

#[tokio::test]
async fn setting_and_clearing_a_trip_is_broadcast_as_a_trip_update() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    set_status(&f.driver, "AVAILABLE").await;
    f.admin.heard("driver:availability:update", WAIT).await;
    f.driver.drain_events();

    let trip = "6f9619ff-8b86-4011-b42d-00c04fc964ff";
    let reply = ack(&f.driver, "driver:trip:set", json!({"tripId": trip})).await;
    assert_eq!(reply["data"]["currentTripId"], trip);
    assert_eq!(reply["data"]["availabilityStatus"], "BUSY");
    let update = f.admin.heard("driver:trip:update", WAIT).await;
    assert_eq!(
        update,
        json!({"driverId": f.driver_id, "currentTripId": trip, "availabilityReason": "ON_TRIP", "isAvailableForTrips": false})
    );
    assert_eq!(f.driver.heard("driver:trip:update", WAIT).await, update);

    // AVAILABLE while on a trip is a conflict.
    let refused = set_status(&f.driver, "AVAILABLE").await;
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["code"], "conflict");
    assert_eq!(refused["error"]["details"]["reason"], "on_trip");

    let cleared = ack(&f.driver, "driver:trip:set", json!({"currentTripId": null})).await;
    assert_eq!(cleared["data"]["currentTripId"], Value::Null);
    assert_eq!(cleared["data"]["availabilityStatus"], "AVAILABLE");
    let update = f.admin.heard("driver:trip:update", WAIT).await;
    assert_eq!(update["currentTripId"], Value::Null);
    assert_eq!(update["isAvailableForTrips"], true);
    bystanders_heard_nothing(&mut f).await;
}

#[tokio::test]
async fn two_drivers_never_hold_the_same_trip() {
    let app = spawn_app().await;
    let f = fleet(&app).await;
    let trip = "7f9619ff-8b86-4011-b42d-00c04fc964ff";
    assert_eq!(
        ack(&f.driver, "driver:trip:set", json!({"tripId": trip})).await["ok"],
        true
    );
    let refused = ack(&f.other_driver, "driver:trip:set", json!({"tripId": trip})).await;
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["code"], "conflict");
}

#[tokio::test]
async fn every_invalid_payload_gets_an_error_ack_and_an_exception_and_the_socket_stays_usable() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "driver:location:ping",
            json!({"latitude": 91, "longitude": 0.5}),
        ),
        (
            "driver:location:ping",
            json!({"latitude": 10, "longitude": -180.01}),
        ),
        (
            "driver:location:ping",
            json!({"latitude": "23.1", "longitude": "-82.3"}),
        ),
        (
            "driver:location:ping",
            json!({"latitude": "NaN", "longitude": "Infinity"}),
        ),
        (
            "driver:location:ping",
            json!({"latitude": 0, "longitude": 0}),
        ),
        ("driver:location:ping", json!({"longitude": -82.3})),
        ("driver:location:ping", json!(null)),
        ("driver:location:ping", json!([23.1, -82.3])),
        (
            "driver:location:ping",
            json!({"latitude": {"deg": 23}, "longitude": [1]}),
        ),
        (
            "driver:status:update",
            json!({"availabilityStatus": "SLEEPING"}),
        ),
        ("driver:status:update", json!({})),
        ("driver:status:update", json!(null)),
        ("driver:trip:set", json!({"tripId": "trip-42"})),
        ("driver:trip:set", json!({})),
        ("driver:trip:set", json!([])),
    ];
    for (event, payload) in cases {
        let reply = ack(&f.driver, event, payload.clone()).await;
        assert_eq!(reply["ok"], false, "{event} {payload}");
        assert_eq!(
            reply["error"]["code"], "validation_failed",
            "{event} {payload}"
        );
        assert!(reply["error"]["details"]["fields"].is_array());
        let exception = f.driver.heard("exception", WAIT).await;
        assert_eq!(exception["status"], "error");
        assert_eq!(exception["event"], event);
        assert_eq!(exception["code"], "validation_failed");
    }
    // 1e309 overflows every JSON number type: the payload is unreadable, not a crash.
    f.driver
        .send_raw(
            r#"42/drivers,["driver:location:ping",{"latitude":1e309,"longitude":1}]"#.to_owned(),
        )
        .await
        .unwrap();
    let exception = f.driver.heard("exception", WAIT).await;
    assert_eq!(exception["code"], "validation_failed");

    // Still connected and served; nothing was broadcast.
    assert!(f.driver.is_connected());
    ping(&f.driver, (23.1, -82.3)).await;
    f.admin.not_heard("driver:availability:update", QUIET).await;
    bystanders_heard_nothing(&mut f).await;
}

#[tokio::test]
async fn unknown_events_get_an_unknown_event_exception() {
    let app = spawn_app().await;
    let mut f = fleet(&app).await;
    for (socket, event) in [
        (&mut f.driver, "driver:teleport"),
        (&mut f.passenger, "driver:status:update"),
        (&mut f.admin, "driver:location:ping"),
    ] {
        let reply = socket.emit_with_ack(event, json!({}), WAIT).await.unwrap();
        assert_eq!(reply["error"]["code"], "unknown_event");
        let exception = socket.heard("exception", WAIT).await;
        assert_eq!(exception["code"], "unknown_event");
        assert_eq!(exception["event"], event);
    }
}

#[tokio::test]
async fn the_admin_snapshot_lists_every_online_driver() {
    let app = spawn_app().await;
    let f = fleet(&app).await;
    set_status(&f.driver, "AVAILABLE").await;
    set_status(&f.other_driver, "OFFLINE").await;
    let reply = ack(&f.admin, "admin:drivers:snapshot", json!({})).await;
    let drivers = reply["data"]["drivers"].as_array().unwrap();
    assert_eq!(drivers.len(), 1, "{reply}");
    assert_eq!(drivers[0]["driverId"], f.driver_id.as_str());
    assert_snapshot_shape(&drivers[0]);
}

#[tokio::test]
async fn a_flood_is_rate_limited_without_disconnecting_or_affecting_others() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_EVENTS_PER_SEC", "2"),
        ("RATE_LIMIT_BURST", "5"),
    ])
    .await;
    let f = fleet(&app).await;
    let mut limited = 0;
    for _ in 0..30 {
        let reply = ack(
            &f.driver,
            "driver:location:ping",
            json!({"latitude": 23.1, "longitude": -82.3}),
        )
        .await;
        if reply["error"]["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 20, "only {limited} of 30 were limited");
    assert!(f.driver.is_connected());
    // Another socket is unaffected.
    ping(&f.other_driver, (23.1, -82.3)).await;
}
