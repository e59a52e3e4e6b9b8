//! User status administration (issue 16, item 3) over real sockets and real HTTP:
//! `PATCH /api/users/{id}` and `rodando-server users set-status`. A ban ends every session of the
//! user on every node within a second (`auth:session_revoked`, `reason: "admin"`), its logins
//! answer 403 `user_inactive`, a banned driver is never offered a trip, its open offer moves to
//! the next driver, and an offer it accepts after the ban is refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rodando_domain::ids::{DriverId, UserId};
use rodando_domain::user::UserStatus;
use rodando_server::Config;
use rodando_sio_client::SioClient;
use serde_json::{Value, json};

use crate::cluster::{Cluster, cluster_env, cluster_store};
use crate::helpers::{Api, Hears, Login, QUIET, WAIT, expect_kicked, spawn_app, spawn_app_on};
use crate::trips::{accept, ack_ok, driver_at, trip_request, try_accept};

/// The bound for a ban to reach every socket.
const KICKED_WITHIN: Duration = Duration::from_secs(1);

/// `PATCH /api/users/{id}` with a bearer token: `(status, body)`.
async fn patch_user(api: &Api, id: &str, token: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .patch(format!("{}/api/users/{id}", api.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An admin sets `user`'s status; the answer must be 200 with the user's public shape.
async fn set_status(api: &Api, admin: &Login, user: &str, status: &str) -> Value {
    let (code, body) = patch_user(api, user, &admin.access, json!({ "status": status })).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["id"], user);
    assert_eq!(body["status"], status);
    body
}

/// A demo user's login answer (not asserted).
async fn try_login(api: &Api, email: &str, audience: &str) -> (u16, Value) {
    api.post(
        "/api/auth/login",
        json!({"email": email, "password": "rodando123", "appAudience": audience}),
    )
    .await
}

/// The socket hears `auth:session_revoked` for `login`'s session with reason `admin`, then is
/// disconnected by the server, both within `limit` of `since`.
async fn kicked_by_admin(socket: &mut SioClient, login: &Login, since: Instant, limit: Duration) {
    expect_kicked(socket, &login.session_id, "admin", limit).await;
    let took = since.elapsed();
    assert!(took < limit, "kicked after {took:?}");
    eprintln!("kicked {took:?} after the ban");
}

fn user_id(login: &Login) -> UserId {
    UserId::parse(&login.user_id).unwrap()
}

/// The passenger requests a trip; returns its id.
async fn request(passenger: &SioClient) -> String {
    let reply = ack_ok(passenger, "trip:request", trip_request()).await;
    reply["data"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_ban_disconnects_the_users_sockets_on_both_nodes_within_a_second_and_login_is_refused() {
    let Cluster { a, b, db, .. } = Cluster::start().await;
    let (mut on_a, login_a) = a.joined("driver1@rodando.local").await;
    let (mut on_b, login_b) = b.joined("driver1@rodando.local").await;
    let (mut bystander, _) = a.joined("driver2@rodando.local").await;
    let admin = b.login("admin@rodando.local").await;

    let banned_at = Instant::now();
    let body = set_status(&b, &admin, &login_a.user_id, "banned").await;
    assert_eq!(
        body,
        json!({"id": login_a.user_id, "email": "driver1@rodando.local", "type": "driver", "status": "banned"})
    );

    kicked_by_admin(&mut on_a, &login_a, banned_at, KICKED_WITHIN).await;
    kicked_by_admin(&mut on_b, &login_b, banned_at, KICKED_WITHIN).await;
    assert!(
        bystander.wait_disconnect(QUIET).await.is_err(),
        "another driver stays connected"
    );
    for node in [&a, &b] {
        let (status, body) = try_login(node, "driver1@rodando.local", "driver_app").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "user_inactive");
    }

    // Active again: logs in and connects on either node.
    set_status(&a, &admin, &login_a.user_id, "active").await;
    let (again, _) = b.joined("driver1@rodando.local").await;
    drop(again);
    drop((a, b));
    db.drop_it().await;
}

#[tokio::test]
async fn a_banned_driver_holding_an_open_offer_is_withdrawn_and_the_trip_goes_to_the_next_driver() {
    let app = spawn_app().await;
    let admin = app.login("admin@rodando.local").await;
    let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (mut far, far_login) = driver_at(&app, "driver2@rodando.local", 0.010).await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    let trip = request(&passenger).await;
    let offer = near.heard("trip:assignment:offered", WAIT).await;
    assert_eq!(offer["tripId"], trip.as_str());

    let banned_at = Instant::now();
    set_status(&app, &admin, &near_login.user_id, "banned").await;

    let next = far.heard("trip:assignment:offered", WAIT).await;
    let waited = banned_at.elapsed();
    assert_eq!(next["tripId"], trip.as_str());
    assert!(
        waited < KICKED_WITHIN,
        "next driver offered after {waited:?}"
    );
    eprintln!("next driver offered {waited:?} after the ban");
    let rejected = passenger.heard("trip:assignment:rejected", WAIT).await;
    assert_eq!(rejected["driverId"], near_login.user_id.as_str());
    assert_eq!(rejected["reason"], "driver_unavailable");
    let closed = app
        .stores
        .trips
        .open_offer_of(DriverId::parse(&near_login.user_id).unwrap())
        .await
        .unwrap();
    assert_eq!(closed, None, "the banned driver holds no open offer");
    kicked_by_admin(&mut near, &near_login, banned_at, WAIT).await;

    let accepted = accept(&far, &next).await;
    assert_eq!(accepted["data"]["driverId"], far_login.user_id.as_str());
}

#[tokio::test]
async fn a_banned_driver_is_never_offered_even_while_its_socket_is_still_up() {
    let app = spawn_app().await;
    let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (mut far, _) = driver_at(&app, "driver2@rodando.local", 0.010).await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    // Stored as banned without the use case, so nothing disconnects the driver: the
    // nearest-driver query alone must skip it.
    assert!(
        app.stores
            .users
            .set_status(user_id(&near_login), UserStatus::Banned)
            .await
            .unwrap()
    );

    let trip = request(&passenger).await;

    let offered = far.heard("trip:assignment:offered", WAIT).await;
    assert_eq!(offered["tripId"], trip.as_str());
    // The banned driver is not offered the trip.
    near.not_heard("trip:assignment:offered", QUIET).await;
}

#[tokio::test]
async fn an_offer_accepted_after_a_ban_is_refused_with_user_inactive() {
    let app = spawn_app().await;
    let (mut near, near_login) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    let trip = request(&passenger).await;
    let offer = near.heard("trip:assignment:offered", WAIT).await;
    // Banned between the offer and the answer (the socket is not kicked here, as in the race
    // with a ban on another node).
    app.stores
        .users
        .set_status(user_id(&near_login), UserStatus::Banned)
        .await
        .unwrap();

    let refused = try_accept(&near, &offer).await;

    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["error"]["code"], "user_inactive", "{refused}");
    let (_, stored) = app
        .get_with_bearer(
            &format!("/api/trips/{trip}"),
            &app.login("admin@rodando.local").await.access,
        )
        .await;
    assert_eq!(stored["status"], "assigning", "{stored}");
    assert_eq!(stored["driverId"], Value::Null, "{stored}");
}

#[tokio::test]
async fn only_admins_may_set_a_status_and_bad_requests_are_named() {
    let app = spawn_app().await;
    let admin = app.login("admin@rodando.local").await;
    let driver = app.login("driver1@rodando.local").await;
    let passenger = app.login("passenger1@rodando.local").await;

    for caller in [&driver, &passenger] {
        let (status, body) = patch_user(
            &app,
            &passenger.user_id,
            &caller.access,
            json!({"status": "banned"}),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
        // Whether the user exists is not told either.
        let (status, _) = patch_user(
            &app,
            "not-a-uuid",
            &caller.access,
            json!({"status": "banned"}),
        )
        .await;
        assert_eq!(status, 403);
    }
    let (status, body) = patch_user(&app, &driver.user_id, "", json!({"status": "banned"})).await;
    assert_eq!(status, 401, "{body}");

    for bad in [
        json!({}),
        json!({"status": "deleted"}),
        json!({"status": 1}),
    ] {
        let (status, body) = patch_user(&app, &driver.user_id, &admin.access, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["details"]["fields"][0]["field"], "status");
    }
    for unknown in ["6f9619ff-8b86-4011-b42d-00c04fc964ff", "not-a-uuid"] {
        let (status, body) =
            patch_user(&app, unknown, &admin.access, json!({"status": "banned"})).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    // Nothing of it changed anyone.
    for (email, audience) in [
        ("driver1@rodando.local", "driver_app"),
        ("passenger1@rodando.local", "passenger_app"),
    ] {
        assert_eq!(try_login(&app, email, audience).await.0, 200);
    }
}

/// `rodando-server users set-status` with the environment of a deployment.
async fn cli(env: &[(&str, &str)], email: &str, status: &str) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rodando-server"));
    command
        .args(["users", "set-status", "--email", email, "--status", status])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the command ends")
        .expect("the binary runs")
}

#[tokio::test]
async fn the_cli_bans_and_reactivates_like_the_route_reaching_a_running_nodes_sockets() {
    let (db, redis, prefix) = cluster_store().await;
    let url = db.url();
    let env = cluster_env(&url, &redis, &prefix);
    let vars: HashMap<&str, String> = env
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .chain([("HOST", "127.0.0.1".to_owned()), ("PORT", "0".to_owned())])
        .collect();
    let app = spawn_app_on(Config::from_lookup(|k| vars.get(k).cloned()).unwrap()).await;
    let (mut driver, login) = app.joined("driver1@rodando.local").await;

    let started = Instant::now();
    let banned = cli(&env, "Driver1@Rodando.Local", "banned").await;
    let stdout = String::from_utf8_lossy(&banned.stdout);
    let stderr = String::from_utf8_lossy(&banned.stderr);
    assert!(banned.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("driver driver1@rodando.local") && stdout.contains("active -> banned"),
        "{stdout}"
    );
    assert!(stdout.contains("1 sessions ended"), "{stdout}");
    let audit = stdout
        .lines()
        .chain(stderr.lines())
        .find(|l| l.contains("audit: user status set"))
        .unwrap_or_else(|| panic!("no audit line:\n{stdout}\n{stderr}"));
    assert!(audit.contains("\"actor\":\"cli\""), "{audit}");
    assert!(audit.contains(&login.user_id), "{audit}");
    eprintln!("the command took {:?}", started.elapsed());
    kicked_by_admin(&mut driver, &login, started, Duration::from_secs(60)).await;
    let (status, body) = try_login(&app, "driver1@rodando.local", "driver_app").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "user_inactive");

    let back = cli(&env, "driver1@rodando.local", "active").await;
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert!(
        String::from_utf8_lossy(&back.stdout).contains("banned -> active"),
        "{}",
        String::from_utf8_lossy(&back.stdout)
    );
    assert_eq!(
        try_login(&app, "driver1@rodando.local", "driver_app")
            .await
            .0,
        200
    );

    let unknown = cli(&env, "nobody@rodando.local", "banned").await;
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no user has the e-mail"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    drop(app);
    db.drop_it().await;
}
