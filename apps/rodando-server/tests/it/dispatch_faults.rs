//! Dispatch under faults, over real sockets: drivers who cannot hear an offer are skipped, a
//! driver who goes OFFLINE or BUSY releases its offer at once, a trip nobody can take times out,
//! a failing offer write is retried until the store heals, and a node that dies between two
//! offers leaves the trip to the other node.

use std::time::{Duration, Instant};

use rodando_domain::ids::DriverId;
use rodando_sio_client::SioClient;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::{Hears, QUIET, TestApp, WAIT, spawn_app, spawn_app_on, spawn_app_with};
use crate::process::ServerProcess;
use crate::scratch::Scratch;
use crate::trips::{ack_ok, driver_at, trip_request, until_matchable};

/// Waits until the store says the driver's sockets are all gone (or back): the close is
/// recorded in the background, after the transport noticed.
async fn until_connected_is(app: &TestApp, login_user_id: &str, connected: bool) {
    let driver = DriverId::from_uuid(login_user_id.parse().unwrap());
    let deadline = Instant::now() + WAIT;
    loop {
        let row = app.stores.availability.find(driver).await.unwrap();
        if row.is_some_and(|r| r.state.is_connected == connected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "driver never became connected={connected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn request(passenger: &SioClient) -> String {
    let reply = ack_ok(passenger, "trip:request", trip_request()).await;
    reply["data"]["id"].as_str().unwrap().to_owned()
}

async fn offered_trip(driver: &mut SioClient, within: Duration) -> Value {
    driver
        .expect_event("trip:assignment:offered", within)
        .await
        .unwrap_or_else(|e| panic!("no offer: {e}"))
}

#[tokio::test]
async fn a_driver_whose_last_socket_closed_is_skipped_until_it_reconnects() {
    let app = spawn_app().await;
    let (near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (mut far, _) = driver_at(&app, "driver2@rodando.local", 0.010).await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    until_connected_is(&app, &near_login.user_id, true).await;

    near.close().await;
    until_connected_is(&app, &near_login.user_id, false).await;
    let started = Instant::now();
    let trip = request(&passenger).await;
    let offer = offered_trip(&mut far, WAIT).await;
    assert_eq!(offer["tripId"], trip.as_str());
    eprintln!(
        "the connected driver was offered the trip {:?} after the request",
        started.elapsed()
    );

    // Back within the presence TTL, with no status change: a candidate again.
    let mut again = app
        .connect_with_token("/drivers", &near_login.access)
        .await
        .unwrap();
    until_connected_is(&app, &near_login.user_id, true).await;
    let (other_passenger, _) = app.joined("passenger2@rodando.local").await;
    let second = request(&other_passenger).await;
    assert_eq!(
        offered_trip(&mut again, WAIT).await["tripId"],
        second.as_str()
    );
}

#[tokio::test]
async fn a_second_socket_keeps_the_driver_matchable() {
    let app = spawn_app().await;
    let (first, login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let mut second = app
        .connect_with_token("/drivers", &login.access)
        .await
        .unwrap();
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    first.close().await;
    tokio::time::sleep(QUIET).await;
    until_connected_is(&app, &login.user_id, true).await;
    let trip = request(&passenger).await;
    assert_eq!(
        offered_trip(&mut second, WAIT).await["tripId"],
        trip.as_str()
    );
}

/// OFFLINE or BUSY while holding an open offer: closed as rejected with the reason, the next
/// candidate offered within a second, the passenger told.
#[tokio::test]
async fn offline_or_busy_with_an_open_offer_moves_the_trip_on_at_once() {
    for (status, reason) in [("OFFLINE", "driver_offline"), ("BUSY", "driver_busy")] {
        let app = spawn_app().await;
        let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
        let (mut far, far_login) = driver_at(&app, "driver2@rodando.local", 0.010).await;
        let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
        let trip = request(&passenger).await;
        offered_trip(&mut near, WAIT).await;

        let started = Instant::now();
        ack_ok(
            &near,
            "driver:status:update",
            json!({"availabilityStatus": status}),
        )
        .await;
        let next = offered_trip(&mut far, Duration::from_secs(1)).await;
        let waited = started.elapsed();
        assert_eq!(next["tripId"], trip.as_str());
        eprintln!("{status}: next candidate offered after {waited:?}");

        let rejected = passenger.heard("trip:assignment:rejected", WAIT).await;
        assert_eq!(rejected["driverId"], near_login.user_id.as_str());
        assert_eq!(rejected["reason"], reason);
        let offered = app.stores.trips.find_offer(
            next["assignmentId"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .map(rodando_domain::ids::OfferId::from_uuid)
                .unwrap(),
        );
        let offered = offered.await.unwrap().unwrap();
        assert_eq!(offered.driver_id().to_string(), far_login.user_id);
        app.stop();
    }
}

#[tokio::test]
async fn a_trip_nobody_accepts_ends_no_drivers_found_at_the_dispatch_timeout() {
    let app = spawn_app_with(&[("DISPATCH_TIMEOUT_SEC", "2")]).await;
    let (mut silent, _) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let (mut admin, _) = app.joined("admin@rodando.local").await;
    let started = Instant::now();
    let trip = request(&passenger).await;
    offered_trip(&mut silent, WAIT).await;
    ack_ok(&admin, "admin:trip:watch", json!({"tripId": trip})).await;

    let ended = passenger
        .heard("trip:no_drivers_found", Duration::from_secs(5))
        .await;
    let waited = started.elapsed();
    assert_eq!(ended["tripId"], trip.as_str());
    assert_eq!(ended["reason"], "timeout");
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    eprintln!("timed out after {waited:?} (DISPATCH_TIMEOUT_SEC=2)");
    let withdrawn = silent.heard("trip:cancelled", WAIT).await;
    assert_eq!(withdrawn["reason"], "offer_withdrawn");
    let admin_heard = admin.heard("trip:no_drivers_found", WAIT).await;
    assert_eq!(admin_heard["reason"], "timeout");
    let (status, body) = app
        .get_with_bearer(
            &format!("/api/trips/{trip}"),
            &app.login("passenger1@rodando.local").await.access,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "no_drivers_found");
}

async fn sql(url: &str, statement: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    conn.execute(statement).await.unwrap();
}

/// Offer inserts fail (a constraint the store does not expect); once it is dropped the trip
/// gets its offer through the retries and the scheduler, with nobody acting on it.
#[tokio::test]
async fn a_failing_offer_write_is_retried_until_the_store_heals() {
    let db = Scratch::seeded().await;
    let url = db.url();
    let app = spawn_app_on(db.config()).await;
    let (mut driver, _) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;

    sql(
        &url,
        "ALTER TABLE trip_offers ADD CONSTRAINT test_offers_fail CHECK (false) NOT VALID",
    )
    .await;
    let trip = request(&passenger).await;
    driver
        .not_heard("trip:assignment:offered", Duration::from_secs(1))
        .await;
    let (_, body) = app
        .get_with_bearer(
            &format!("/api/trips/{trip}"),
            &app.login("passenger1@rodando.local").await.access,
        )
        .await;
    assert!(
        matches!(body["status"].as_str(), Some("pending" | "assigning")),
        "{body}"
    );

    sql(
        &url,
        "ALTER TABLE trip_offers DROP CONSTRAINT test_offers_fail",
    )
    .await;
    let healed = Instant::now();
    let offer = offered_trip(&mut driver, Duration::from_secs(10)).await;
    assert_eq!(offer["tripId"], trip.as_str());
    eprintln!("offer made {:?} after the store healed", healed.elapsed());
    app.stop();
    db.drop_it().await;
}

/// Two nodes over one database. The trip is offered (by node A, or by a scheduler when the
/// first look found nobody yet); node A dies (SIGKILL) right after the offer closes; node B,
/// which never touched the trip, offers it to the next driver.
#[tokio::test]
async fn a_node_killed_between_two_offers_leaves_the_trip_to_the_other_node() {
    let db = Scratch::seeded().await;
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];
    let (a, b) = tokio::join!(ServerProcess::start(&env), ServerProcess::start(&env));
    let (first, first_login) = driver_at(&b.api, "driver1@rodando.local", 0.002).await;
    let (mut second, second_login) = driver_at(&b.api, "driver2@rodando.local", 0.010).await;
    // Node B wrote their positions behind: node A sees them within one batch interval.
    until_matchable(&a.api, &first_login).await;
    until_matchable(&a.api, &second_login).await;
    let (passenger, _) = a.api.joined("passenger1@rodando.local").await;
    let trip = request(&passenger).await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    // Polled: had the request's own dispatch lost a race, the scheduler makes the offer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let offered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM trip_offers WHERE trip_id = $1::uuid AND status = 'offered'",
        )
        .bind(&trip)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if offered == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the trip was never offered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    drop(passenger);
    drop(a); // SIGKILL
    // What node A wrote last before dying: the offer closed, no next one made.
    sqlx::query(
        "UPDATE trip_offers SET status = 'rejected', closed_at = now() \
         WHERE trip_id = $1::uuid AND status = 'offered'",
    )
    .bind(&trip)
    .execute(&mut conn)
    .await
    .unwrap();
    let closed = Instant::now();
    let offer = offered_trip(&mut second, Duration::from_secs(10)).await;
    assert_eq!(offer["tripId"], trip.as_str());
    let driver: String = sqlx::query_scalar(
        "SELECT driver_id::text FROM trip_offers WHERE trip_id = $1::uuid AND status = 'offered'",
    )
    .bind(&trip)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(driver, second_login.user_id);
    eprintln!(
        "node B offered the stranded trip {:?} after the offer closed",
        closed.elapsed()
    );
    drop(first);
    drop(b);
    drop(conn);
    db.drop_it().await;
}

/// A driver's connection is recorded before its `hello`, so dispatch can reach it as soon as it
/// can act. The write is slowed to 600 ms here: recorded in the background (as it was), the row
/// still said disconnected when hello came, and a trip requested right after the driver's
/// status and ping were acked found nobody until the scheduler looked again.
#[tokio::test]
async fn a_driver_is_recorded_connected_before_its_hello() {
    let db = Scratch::seeded().await;
    let url = db.url();
    sql(
        &url,
        "CREATE FUNCTION test_slow_connect() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.is_connected THEN PERFORM pg_sleep(0.6); END IF; RETURN NEW; END $$",
    )
    .await;
    sql(
        &url,
        "CREATE TRIGGER test_slow_connect BEFORE INSERT OR UPDATE ON drivers_availability \
         FOR EACH ROW EXECUTE FUNCTION test_slow_connect()",
    )
    .await;
    let app = spawn_app_on(db.config()).await;
    let (driver, login) = app.joined("driver1@rodando.local").await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let connected: Option<bool> = sqlx::query_scalar(
        "SELECT is_connected FROM drivers_availability WHERE driver_id = $1::uuid",
    )
    .bind(&login.user_id)
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        connected,
        Some(true),
        "hello came before the connection was recorded"
    );
    drop(driver);
    drop(conn);
    app.stop();
    db.drop_it().await;
}
