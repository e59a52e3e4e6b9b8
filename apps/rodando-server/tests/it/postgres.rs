//! The whole server over a real PostgreSQL (PROTOCOL §1 `DATABASE_URL`): the operator CLI seeds
//! and creates users, then drivers and admins log in and talk through sockets.

use rodando_server::admin;
use rodando_server::cli::{CreateUser, UserTypeArg};
use serde_json::json;

use crate::helpers::{Hears, WAIT, spawn_app_on};
use crate::scratch::Scratch;
use crate::trips::{accept_next_offer, ack, go_available, heard_at, ping};

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
    let (driver, login) = app.joined("driver1@rodando.local").await;
    let (mut admin, _) = app.joined("admin@rodando.local").await;
    ping(&driver, (23.13, -82.36)).await;
    heard_at(&mut admin, &login, (23.13, -82.36)).await;
    assert_eq!(app.get("/ready").await.0, 200);

    // A whole trip, dispatched and stored in PostgreSQL.
    let mut driver = driver;
    go_available(&driver).await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let request = json!({
        "pickup": {"latitude": 23.131, "longitude": -82.36},
        "dropoff": {"latitude": 23.14, "longitude": -82.38}
    });
    let trip = ack(&passenger, "trip:request", request).await;
    assert_eq!(trip["data"]["status"], "assigning", "{trip}");
    accept_next_offer(&mut driver).await;
    passenger.heard("trip:driver_assigned", WAIT).await;
    let trip_id = trip["data"]["id"].as_str().unwrap();
    for step in ["arrived", "start", "complete"] {
        app.trip_step(trip_id, step, &login).await;
    }
    let completed = passenger.heard("trip:completed", WAIT).await;
    assert_eq!(completed["tripId"], trip_id);

    drop(app);
    db.drop_it().await;
}
