//! One error vocabulary (docs/protocol.md §4): a failure both transports can report gets the
//! same `{code, message, details}` over Socket.IO and REST, and over REST the status of its
//! code. Each test makes the same mistake both ways, over real sockets and real HTTP.

use rodando_wire::codes::ErrorCode;
use serde_json::{Value, json};

use crate::helpers::{Hears, spawn_app};
use crate::trips::{ack, driver_at, trip_request, try_accept};

/// A well-formed trip id that names no trip.
const NO_SUCH_TRIP: &str = "0196a1b2-0000-7000-8000-0000000000ff";

/// The error of an ack, which must be a refusal.
fn refused(reply: &Value) -> Value {
    assert_eq!(reply["ok"], false, "expected a refusal: {reply}");
    reply["error"].clone()
}

/// The error of a REST answer, whose status must be the one its code has in the table.
fn rest_error((status, body): (u16, Value)) -> Value {
    let error = body["error"].clone();
    let code = ErrorCode::ALL
        .into_iter()
        .find(|c| error["code"] == c.as_str())
        .unwrap_or_else(|| panic!("not a code of the table: {body}"));
    assert_eq!(
        status,
        code.http_status().as_u16(),
        "{code} over REST: {body}"
    );
    error
}

#[tokio::test]
async fn the_same_bad_trip_request_is_refused_alike_over_rest_and_socket_io() {
    let app = spawn_app().await;
    let (passenger, login) = app.joined("passenger1@rodando.local").await;
    let bad = json!({
        "pickup": {"latitude": 95, "longitude": "west"},
        "paymentMethod": "bitcoin",
        "surprise": true
    });
    let over_socket = refused(&ack(&passenger, "trip:request", bad.clone()).await);
    let over_rest = rest_error(
        app.post_json_with("/api/trips", &login.access, None, bad)
            .await,
    );
    assert_eq!(over_socket["code"], "validation_failed");
    assert!(
        over_socket["details"]["fields"].as_array().unwrap().len() >= 4,
        "{over_socket}"
    );
    assert_eq!(over_socket, over_rest);
}

#[tokio::test]
async fn an_unknown_trip_is_not_found_alike_over_rest_and_socket_io() {
    let app = spawn_app().await;
    let (passenger, passenger_login) = app.joined("passenger1@rodando.local").await;
    let (admin, admin_login) = app.joined("admin@rodando.local").await;

    let cancel = refused(&ack(&passenger, "trip:cancel", json!({"tripId": NO_SUCH_TRIP})).await);
    let rest_cancel = rest_error(
        app.post_with_bearer(
            &format!("/api/trips/{NO_SUCH_TRIP}/cancel"),
            &passenger_login.access,
        )
        .await,
    );
    assert_eq!(cancel["code"], "not_found");
    assert_eq!(cancel, rest_cancel);

    let watch = refused(&ack(&admin, "admin:trip:watch", json!({"tripId": NO_SUCH_TRIP})).await);
    let rest_get = rest_error(
        app.get_with_bearer(&format!("/api/trips/{NO_SUCH_TRIP}"), &admin_login.access)
            .await,
    );
    assert_eq!(watch, rest_get);
    // An id that is not a UUID names no trip either: the very same answer.
    let not_an_id = rest_error(
        app.get_with_bearer("/api/trips/not-a-trip", &admin_login.access)
            .await,
    );
    assert_eq!(not_an_id, rest_get);
}

#[tokio::test]
async fn a_second_active_trip_and_a_second_cancel_are_refused_alike_over_rest_and_socket_io() {
    let app = spawn_app().await;
    // An available driver keeps the trip assigning (active) while it is asked for again.
    let (_driver, _) = driver_at(&app, "driver1@rodando.local", 0.003).await;
    let (passenger, login) = app.joined("passenger1@rodando.local").await;
    let first = ack(&passenger, "trip:request", trip_request()).await;
    assert_eq!(first["data"]["status"], "assigning", "{first}");
    let trip_id = first["data"]["id"].as_str().unwrap().to_owned();

    let again = refused(&ack(&passenger, "trip:request", trip_request()).await);
    let again_rest = rest_error(
        app.post_json_with("/api/trips", &login.access, None, trip_request())
            .await,
    );
    assert_eq!(again["code"], "active_trip_exists");
    assert_eq!(again.get("details"), None, "{again}");
    assert_eq!(again, again_rest);

    let cancelled = ack(&passenger, "trip:cancel", json!({"tripId": trip_id})).await;
    assert_eq!(cancelled["data"]["status"], "cancelled", "{cancelled}");
    let twice = refused(&ack(&passenger, "trip:cancel", json!({"tripId": trip_id})).await);
    let twice_rest = rest_error(
        app.post_with_bearer(&format!("/api/trips/{trip_id}/cancel"), &login.access)
            .await,
    );
    assert_eq!(twice["code"], "invalid_trip_transition");
    assert_eq!(
        twice["details"],
        json!({"from": "cancelled", "to": "cancelled"})
    );
    assert_eq!(twice, twice_rest);
}

#[tokio::test]
async fn someone_elses_offer_or_trip_is_forbidden_over_both_transports() {
    let app = spawn_app().await;
    let (mut near, _) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (other, _) = driver_at(&app, "driver2@rodando.local", 0.004).await;
    let (passenger, login) = app.joined("passenger1@rodando.local").await;
    let trip = ack(&passenger, "trip:request", trip_request()).await["data"].clone();
    let offer = near
        .heard("trip:assignment:offered", crate::helpers::WAIT)
        .await;

    let stolen = refused(&try_accept(&other, &offer).await);
    let started_by_passenger = rest_error(
        app.post_with_bearer(
            &format!("/api/trips/{}/start", trip["id"].as_str().unwrap()),
            &login.access,
        )
        .await,
    );
    for error in [&stolen, &started_by_passenger] {
        assert_eq!(error["code"], "forbidden", "{error}");
        assert_eq!(error.get("details"), None, "{error}");
    }
}
