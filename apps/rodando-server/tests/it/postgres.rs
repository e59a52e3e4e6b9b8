//! The whole server over a real PostgreSQL (PROTOCOL §1 `DATABASE_URL`): the operator CLI seeds
//! and creates users, then drivers and admins log in and talk through sockets.

use rodando_server::admin;
use rodando_server::cli::{CreateUser, UserTypeArg};
use serde_json::json;

use crate::helpers::{Hears, WAIT, spawn_app_on};
use crate::scratch::Scratch;

#[tokio::test]
async fn the_cli_seeds_postgres_and_the_server_serves_from_it() {
    let db = Scratch::create().await;
    let config = db.config();
    admin::seed_demo(&config).await.unwrap();
    admin::create_user(
        &config,
        CreateUser {
            user_type: UserTypeArg::Driver,
            email: "new.driver@rodando.local".into(),
            password: "a-long-password".into(),
            name: "Nuevo".into(),
            phone: Some("+53 5999 0001".into()),
        },
    )
    .await
    .unwrap();
    let duplicate = admin::create_user(
        &config,
        CreateUser {
            user_type: UserTypeArg::Driver,
            email: "NEW.driver@rodando.local".into(),
            password: "a-long-password".into(),
            name: "Again".into(),
            phone: None,
        },
    )
    .await;
    assert!(duplicate.is_err(), "the e-mail is taken");

    let app = spawn_app_on(config).await;
    assert!(!app.stores.embedded);

    let (status, _) = app
        .post("/api/auth/login", json!({"email": "new.driver@rodando.local", "password": "a-long-password", "appAudience": "driver_app"}))
        .await;
    assert_eq!(status, 200);
    let (driver, login) = app.connected("driver1@rodando.local", "/drivers").await;
    let (mut admin, _) = app.connected("admin@rodando.local", "/admin").await;
    let reply = driver
        .emit_with_ack(
            "driver:location:ping",
            json!({"latitude": 23.13, "longitude": -82.36}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    let update = admin.heard("driver:location:update", WAIT).await;
    assert_eq!(update["driverId"], login.user_id.as_str());
    assert_eq!(
        update["lastLocation"]["coordinates"],
        json!([-82.36, 23.13])
    );
    assert_eq!(app.get("/ready").await.0, 200);

    // A whole trip, dispatched and stored in PostgreSQL.
    let mut driver = driver;
    let online = driver
        .emit_with_ack(
            "driver:status:update",
            json!({"availabilityStatus": "AVAILABLE"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(online["ok"], true, "{online}");
    let (mut passenger, _) = app
        .connected("passenger1@rodando.local", "/passengers")
        .await;
    let request = json!({
        "pickup": {"latitude": 23.131, "longitude": -82.36},
        "dropoff": {"latitude": 23.14, "longitude": -82.38}
    });
    let trip = passenger
        .emit_with_ack("trip:request", request, WAIT)
        .await
        .unwrap();
    assert_eq!(trip["data"]["status"], "assigning", "{trip}");
    let offer = driver.heard("trip:assignment:offered", WAIT).await;
    let accepted = driver
        .emit_with_ack(
            "driver:offer:accept",
            json!({"assignmentId": offer["assignmentId"]}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(accepted["data"]["status"], "arriving", "{accepted}");
    passenger.heard("trip:driver_assigned", WAIT).await;
    let trip_id = trip["data"]["id"].as_str().unwrap();
    for step in ["arrived", "start", "complete"] {
        let (status, body) = app
            .post_with_bearer(&format!("/api/trips/{trip_id}/{step}"), &login.access)
            .await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    let completed = passenger.heard("trip:completed", WAIT).await;
    assert_eq!(completed["tripId"], trip_id);

    drop(app);
    db.drop_it().await;
}
