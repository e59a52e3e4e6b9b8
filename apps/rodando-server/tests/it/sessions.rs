//! Session lifecycle reaching live sockets: logout, refresh, theft detection, notifications.

use rodando_domain::ids::SessionId;
use rodando_ports::notifier::Notification;
use rodando_sio_client::{Disconnect, SioClient};
use serde_json::json;

use crate::helpers::{Hears, Login, QUIET, WAIT, expect_kicked, spawn_app, spawn_app_with};
use crate::trips::{ack, ack_ok};

#[tokio::test]
async fn logout_kicks_every_socket_of_that_session_and_only_those() {
    let app = spawn_app().await;
    let (mut phone, login) = app.joined("driver1@rodando.local").await;
    let mut tablet = app.socket_of(&login, "/drivers").await;
    let (mut other_session, _) = app.joined("driver1@rodando.local").await;

    assert_eq!(
        app.post_with_bearer("/api/auth/logout", &login.access)
            .await
            .0,
        204
    );

    for socket in [&mut phone, &mut tablet] {
        expect_kicked(socket, &login.session_id, "logout", WAIT).await;
    }
    other_session.not_heard("auth:session_revoked", QUIET).await;
    assert!(other_session.is_connected());
}

#[tokio::test]
async fn a_refresh_is_announced_to_the_sessions_sockets() {
    let app = spawn_app().await;
    let (mut socket, login) = app.joined("passenger1@rodando.local").await;
    let (status, body) = app.refresh(login.refresh.as_str()).await;
    assert_eq!(status, 200);
    let refreshed = socket.heard("auth:session_refreshed", WAIT).await;
    assert_eq!(refreshed["sessionId"], login.session_id.as_str());
    assert_eq!(
        refreshed["accessTokenExpiresAt"],
        body["accessTokenExpiresAt"]
    );
    assert!(socket.is_connected());
}

#[tokio::test]
async fn replaying_a_refresh_token_disconnects_the_session() {
    // No retry grace: the replay is reuse at once (within the grace it would get the same pair
    // again; hardening.rs tests both sides of it).
    let app = spawn_app_with(&[("JWT_REFRESH_REUSE_GRACE", "0s")]).await;
    let (mut socket, login) = app.joined("admin@rodando.local").await;
    assert_eq!(app.refresh(login.refresh.as_str()).await.0, 200);
    let (status, _) = app.refresh(login.refresh.as_str()).await;
    assert_eq!(status, 401);
    let revoked = socket.heard("auth:session_revoked", WAIT).await;
    assert_eq!(revoked["reason"], "refresh_token_reuse");
    assert_eq!(
        socket.wait_disconnect(WAIT).await.unwrap(),
        Disconnect::ByServer
    );
}

#[tokio::test]
async fn a_notification_reaches_the_session_room_only() {
    let app = spawn_app().await;
    let (mut mine, login) = app.joined("passenger1@rodando.local").await;
    let (mut theirs, _) = app.joined("passenger2@rodando.local").await;
    let notification = Notification {
        id: uuid::Uuid::new_v4(),
        kind: "trip_update".into(),
        title: "Your driver is here".into(),
        body: "Look for the blue Lada".into(),
        data: Some(json!({"tripId": "t"})),
        created_at: time::OffsetDateTime::now_utc(),
    };
    let session = SessionId::parse(&login.session_id).unwrap();
    app.app_notifier
        .notify(session, &notification)
        .await
        .unwrap();
    let received = mine.heard("notification", WAIT).await;
    assert_eq!(received["id"], notification.id.to_string());
    assert_eq!(received["kind"], "trip_update");
    assert_eq!(received["title"], "Your driver is here");
    assert_eq!(received["data"], json!({"tripId": "t"}));
    theirs.not_heard("notification", QUIET).await;
}

/// `socket` (of `login`) hears `auth:token_expired {sessionId}` within 8 s and is then
/// disconnected by the server: what an expiring token does to its socket.
async fn told_expired_and_dropped(socket: &mut SioClient, login: &Login) {
    let expired = socket
        .heard("auth:token_expired", std::time::Duration::from_secs(8))
        .await;
    assert_eq!(expired, json!({"sessionId": login.session_id}));
    assert_eq!(
        socket.wait_disconnect(WAIT).await.unwrap(),
        Disconnect::ByServer
    );
}

#[tokio::test]
async fn a_socket_outliving_its_token_is_told_and_disconnected() {
    let app = crate::helpers::spawn_app_with(&[("JWT_ACCESS_TTL", "2s")]).await;
    let (mut socket, login) = app.joined("driver1@rodando.local").await;
    let started = std::time::Instant::now();
    told_expired_and_dropped(&mut socket, &login).await;
    // Within 5 s of the token's expiry (2 s TTL + 2 s leeway + scheduling).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

/// One timer serves the node: sockets of every namespace, admitted at different moments, are
/// each expired on their own deadline, and a socket that closed first leaves nothing behind.
#[tokio::test]
async fn one_node_timer_expires_every_socket_on_its_own_deadline() {
    let app = crate::helpers::spawn_app_with(&[("JWT_ACCESS_TTL", "2s")]).await;
    let (gone, _) = app.joined("driver1@rodando.local").await;
    let mut sockets = Vec::new();
    for (email, ns) in [
        ("driver2@rodando.local", "/drivers"),
        ("passenger1@rodando.local", "/passengers"),
        ("admin@rodando.local", "/admin"),
    ] {
        sockets.push((app.connected(email, ns).await, std::time::Instant::now()));
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    gone.close().await;
    for ((mut socket, login), admitted) in sockets {
        told_expired_and_dropped(&mut socket, &login).await;
        // Never before its own token's deadline: issued just before admission in whole
        // seconds (so at least 1 s of its 2 s TTL is left), plus the 2 s leeway.
        assert!(
            admitted.elapsed() >= std::time::Duration::from_millis(2500),
            "{:?}",
            admitted.elapsed()
        );
    }
}

#[tokio::test]
async fn auth_refresh_with_a_fresh_token_of_the_session_extends_the_socket() {
    let app = crate::helpers::spawn_app_with(&[("JWT_ACCESS_TTL", "3s")]).await;
    let (mut socket, login) = app.joined("passenger1@rodando.local").await;
    // Another session's token, taken first: a login waits for the password hash, which on a
    // loaded machine can outlast the slack left before the extended token's own deadline
    // (a login after the wait below got the socket kicked before it could try that token).
    let other = app.login("passenger1@rodando.local").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, fresh) = app.refresh(login.refresh.as_str()).await;
    assert_eq!(status, 200);
    let reply = ack_ok(
        &socket,
        "auth:refresh",
        json!({"accessToken": fresh["accessToken"]}),
    )
    .await;
    assert_eq!(reply["accessTokenExpiresAt"], fresh["accessTokenExpiresAt"]);
    // A live token of another session cannot extend it.
    let refused = ack(
        &socket,
        "auth:refresh",
        json!({"accessToken": other.access}),
    )
    .await;
    assert_eq!(refused["error"]["code"], "forbidden");
    // Past the first token's expiry (3 s + 2 s leeway) the socket is still there...
    socket
        .not_heard("auth:token_expired", std::time::Duration::from_millis(3600))
        .await;
    assert!(socket.is_connected());
    // The extended token runs out in turn.
    socket
        .heard("auth:token_expired", std::time::Duration::from_secs(5))
        .await;
}
