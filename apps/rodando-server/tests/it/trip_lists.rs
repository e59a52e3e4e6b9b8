//! Trip lists over real HTTP and sockets (issue 15, item 4): `GET /api/trips` shows each role
//! exactly what it may see, filters by status, pages with a cursor that later trips do not
//! shift, refuses bad parameters naming them; `admin:trips:snapshot` lists the trips in flight
//! and, asked to, watches them. On the embedded store and on PostgreSQL.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{Api, Hears, Login, TestApp, WAIT, spawn_app, spawn_app_on};
use crate::scratch::Scratch;
use crate::trips::{accept_next_offer, ack, ack_ok, driver_at, trip_request};

/// The ids of a page, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET path` with `who`'s token, which must answer 200.
async fn page(app: &Api, who: &Login, path: &str) -> Value {
    let (status, body) = app.get_with_bearer(path, &who.access).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// A trip of `who` that is over: requested with no driver around, it ends at once as
/// `no_drivers_found`.
async fn finished_trip(app: &Api, who: &Login) -> String {
    let (status, trip) = app
        .post_json_with("/api/trips", &who.access, None, trip_request())
        .await;
    assert_eq!(status, 201, "{trip}");
    assert_eq!(trip["status"], "no_drivers_found", "{trip}");
    trip["id"].as_str().unwrap().to_owned()
}

/// What a fresh server holds after: passenger1 with three finished trips and one in flight
/// driven by driver1 (`arriving`), passenger2 with two finished trips. Newest first.
struct Scene {
    passenger1: Login,
    passenger2: Login,
    driver1: Login,
    driver2: Login,
    admin: Login,
    /// passenger1's trips, newest first (the first is the one in flight).
    of_passenger1: Vec<String>,
    /// passenger2's trips, newest first.
    of_passenger2: Vec<String>,
    /// Every trip, newest first.
    all: Vec<String>,
    /// Kept connected so driver1 stays on its trip.
    _driver_socket: rodando_sio_client::SioClient,
}

async fn scene(app: &Api) -> Scene {
    let passenger1 = app.login("passenger1@rodando.local").await;
    let passenger2 = app.login("passenger2@rodando.local").await;
    let admin = app.login("admin@rodando.local").await;
    let driver2 = app.login("driver2@rodando.local").await;
    let mut all = Vec::new();
    for who in [
        &passenger1,
        &passenger2,
        &passenger1,
        &passenger2,
        &passenger1,
    ] {
        all.insert(0, finished_trip(app, who).await);
    }
    // Now a driver is around: passenger1's next trip is offered to it and accepted.
    let (mut driver, driver1) = driver_at(app, "driver1@rodando.local", 0.003).await;
    let (status, trip) = app
        .post_json_with("/api/trips", &passenger1.access, None, trip_request())
        .await;
    assert_eq!(status, 201, "{trip}");
    accept_next_offer(&mut driver).await;
    all.insert(0, trip["id"].as_str().unwrap().to_owned());
    let of = |positions: &[usize]| positions.iter().map(|&i| all[i].clone()).collect();
    Scene {
        of_passenger1: of(&[0, 1, 3, 5]),
        of_passenger2: of(&[2, 4]),
        all,
        passenger1,
        passenger2,
        driver1,
        driver2,
        admin,
        _driver_socket: driver,
    }
}

/// The checks of [`each_role_lists_exactly_what_it_may_see`], on any store.
async fn roles_and_filters(app: &Api) {
    let s = scene(app).await;
    // Each role sees exactly its own, newest first; another passenger's trips never appear.
    let mine = page(app, &s.passenger1, "/api/trips").await;
    assert_eq!(ids(&mine), s.of_passenger1);
    assert_eq!(mine["nextCursor"], Value::Null);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["passengerId"] == s.passenger1.user_id.as_str())
    );
    assert_eq!(
        ids(&page(app, &s.passenger2, "/api/trips?status=all").await),
        s.of_passenger2
    );
    // A driver sees the trips it was assigned, not those it was never given.
    let driven = page(app, &s.driver1, "/api/trips").await;
    assert_eq!(ids(&driven), s.of_passenger1[..1]);
    assert_eq!(driven["items"][0]["driverId"], s.driver1.user_id.as_str());
    assert_eq!(driven["items"][0]["status"], "arriving");
    assert!(ids(&page(app, &s.driver2, "/api/trips").await).is_empty());
    assert_eq!(ids(&page(app, &s.admin, "/api/trips").await), s.all);

    // Status filters split them.
    for (who, status, expected) in [
        (&s.passenger1, "active", &s.of_passenger1[..1]),
        (&s.passenger1, "finished", &s.of_passenger1[1..]),
        (&s.admin, "active", &s.all[..1]),
        (&s.admin, "finished", &s.all[1..]),
    ] {
        let path = format!("/api/trips?status={status}");
        assert_eq!(ids(&page(app, who, &path).await), expected, "{path}");
    }
    assert!(
        ids(&page(app, &s.passenger2, "/api/trips?status=active").await).is_empty(),
        "passenger2 has nothing in flight"
    );
    // The items are the REST trip shape, as GET /api/trips/{id} returns it.
    let (_, one) = app
        .get_with_bearer(&format!("/api/trips/{}", s.all[0]), &s.admin.access)
        .await;
    assert_eq!(
        page(app, &s.admin, "/api/trips?limit=1").await["items"][0],
        one
    );
}

/// The checks of [`pages_follow_each_other_and_later_trips_do_not_shift_them`].
async fn pagination(app: &Api) {
    let s = scene(app).await;
    for (who, expected) in [(&s.admin, &s.all), (&s.passenger1, &s.of_passenger1)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut inserted = false;
        loop {
            let path = match &cursor {
                None => "/api/trips?limit=2".to_owned(),
                Some(c) => format!("/api/trips?limit=2&cursor={c}"),
            };
            let body = page(app, who, &path).await;
            let items = ids(&body);
            assert!(items.len() <= 2, "{body}");
            seen.extend(items);
            // After the first page, passenger2 requests a trip: it is newer than every trip, so it
            // belongs to no later page.
            if !inserted {
                finished_trip(app, &s.passenger2).await;
                inserted = true;
            }
            match body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(&seen, expected, "pages neither skip nor repeat a trip");
    }
    // A new first page starts with the two trips requested meanwhile.
    let fresh = page(app, &s.admin, "/api/trips?limit=100").await;
    assert_eq!(ids(&fresh).len(), s.all.len() + 2);
    assert_eq!(ids(&fresh)[2..], s.all);
    // limit=100 is the most a page holds; the default is 20.
    let every: BTreeSet<String> = ids(&page(app, &s.admin, "/api/trips").await)
        .into_iter()
        .collect();
    assert_eq!(every.len(), s.all.len() + 2);
}

#[tokio::test]
async fn each_role_lists_exactly_what_it_may_see() {
    let app = spawn_app().await;
    roles_and_filters(&app).await;
}

#[tokio::test]
async fn pages_follow_each_other_and_later_trips_do_not_shift_them() {
    let app = spawn_app().await;
    pagination(&app).await;
}

#[tokio::test]
async fn bad_status_limit_or_cursor_is_400_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.login("admin@rodando.local").await;
    let fields = |body: &Value| -> Vec<String> {
        body["error"]["details"]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no fields: {body}"))
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, expected) in [
        ("status=done", vec!["status"]),
        ("status=ACTIVE", vec!["status"]),
        ("limit=0", vec!["limit"]),
        // Over the cap is refused, not clamped: the client never believes it got 500.
        ("limit=101", vec!["limit"]),
        ("limit=500", vec!["limit"]),
        ("limit=ten", vec!["limit"]),
        ("limit=-1", vec!["limit"]),
        ("cursor=not-a-cursor", vec!["cursor"]),
        ("cursor=", vec!["cursor"]),
        (
            "status=x&limit=1000&cursor=%00",
            vec!["status", "limit", "cursor"],
        ),
    ] {
        let (status, body) = app
            .get_with_bearer(&format!("/api/trips?{query}"), &admin.access)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
        assert_eq!(fields(&body), expected, "{query}: {body}");
    }
    let (status, body) = app
        .get_with_bearer("/api/trips?limit=100&status=finished", &admin.access)
        .await;
    assert_eq!(status, 200, "{body}");
    // Without a token: the handshake's code.
    let (status, body) = app.get("/api/trips").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (401, json!("missing_token"))
    );
}

/// The checks of [`the_trips_snapshot_lists_the_trips_in_flight_and_can_watch_them`].
async fn snapshot(app: &Api) {
    let s = scene(app).await;
    let (admin, _) = app.joined("admin@rodando.local").await;
    let reply = ack_ok(&admin, "admin:trips:snapshot", json!({})).await;
    let trips = reply["data"]["trips"].as_array().unwrap();
    assert_eq!(reply["data"]["truncated"], false);
    // Only the trip in flight, as REST has it.
    assert_eq!(trips.len(), 1, "{reply}");
    let (_, rest) = app
        .get_with_bearer(&format!("/api/trips/{}", s.all[0]), &s.admin.access)
        .await;
    assert_eq!(trips[0], rest);

    // With watch, the socket is in the room of each trip listed: its later events reach it.
    let (mut watcher, _) = app.joined("admin@rodando.local").await;
    let reply = ack(&watcher, "admin:trips:snapshot", json!({"watch": true})).await;
    assert_eq!(
        reply["data"]["trips"][0]["id"],
        s.all[0].as_str(),
        "{reply}"
    );
    let (status, body) = app
        .post_json_with(
            &format!("/api/trips/{}/cancel", s.all[0]),
            &s.passenger1.access,
            None,
            json!({"reason": "snapshot test over"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cancelled = watcher.heard("trip:cancelled", WAIT).await;
    assert_eq!(cancelled["tripId"], s.all[0].as_str());
    // Nothing is in flight now.
    let reply = ack(&admin, "admin:trips:snapshot", Value::Null).await;
    assert_eq!(reply["data"]["trips"], json!([]), "{reply}");

    // A bad payload names the field; other namespaces do not have the event.
    let reply = ack(&admin, "admin:trips:snapshot", json!({"watch": "yes"})).await;
    assert_eq!(reply["error"]["code"], "validation_failed", "{reply}");
    assert_eq!(reply["error"]["details"]["fields"][0]["field"], "watch");
    let (passenger, _) = app.joined("passenger2@rodando.local").await;
    let reply = ack(&passenger, "admin:trips:snapshot", json!({})).await;
    assert_eq!(reply["error"]["code"], "unknown_event", "{reply}");
}

#[tokio::test]
async fn the_trips_snapshot_lists_the_trips_in_flight_and_can_watch_them() {
    let app = spawn_app().await;
    snapshot(&app).await;
}

/// The same three scenes over PostgreSQL, each on a database of its own.
#[tokio::test]
async fn on_postgres_lists_pages_and_the_snapshot_behave_the_same() {
    for check in [0, 1, 2] {
        let db = Scratch::seeded().await;
        let app: TestApp = spawn_app_on(db.config()).await;
        assert!(!app.stores.embedded);
        match check {
            0 => roles_and_filters(&app).await,
            1 => pagination(&app).await,
            _ => snapshot(&app).await,
        }
        drop(app);
        db.drop_it().await;
    }
}
