//! Admission to the three namespaces (PROTOCOL §3): every refusal with its code, and never
//! admitted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rodando_domain::ids::UserId;
use rodando_domain::user::UserStatus;
use rodando_server::config::{DEV_ACCESS_SECRET, DEV_REFRESH_SECRET};
use rodando_sio_client::ClientOptions;
use serde_json::{Value, json};

use crate::helpers::{Hears, Login, WAIT, refusal, spawn_app, spawn_app_with};

/// The claims of `login`'s access token, to forge variants of it.
fn claims_of(login: &Login) -> Value {
    let payload = login.access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `login`'s access token with the claim `name` set to `value`, signed as the server signs.
fn forged(login: &Login, name: &str, value: Value) -> String {
    let mut claims = claims_of(login);
    claims[name] = value;
    sign(Algorithm::HS256, DEV_ACCESS_SECRET, &claims)
}

fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn each_user_type_enters_its_own_namespace_and_gets_hello() {
    let app = spawn_app().await;
    for (email, ns, user_type) in [
        ("driver1@rodando.local", "/drivers", "driver"),
        ("passenger1@rodando.local", "/passengers", "passenger"),
        ("admin@rodando.local", "/admin", "admin"),
    ] {
        let login = app.login(email).await;
        let mut socket = app
            .connect_with_token(ns, &login.access)
            .await
            .expect("admitted");
        let hello = socket.heard("hello", WAIT).await;
        assert_eq!(hello["ok"], true);
        assert_eq!(hello["nsp"], ns);
        assert_eq!(hello["userId"], login.user_id.as_str());
        assert_eq!(hello["userType"], user_type);
        assert_eq!(hello["sessionId"], login.session_id.as_str());
        assert!(hello["serverTime"].as_str().unwrap().ends_with('Z'));
    }
}

#[tokio::test]
async fn the_authorization_header_and_a_bearer_prefix_are_accepted() {
    let app = spawn_app().await;
    let login = app.login("driver1@rodando.local").await;
    let header = ClientOptions {
        headers: vec![("Authorization".into(), format!("Bearer {}", login.access))],
        ..ClientOptions::default()
    };
    assert!(app.connect_with("/drivers", header).await.is_ok());
    let prefixed = app
        .connect_with_token("/drivers", &format!("Bearer {}", login.access))
        .await;
    assert!(prefixed.is_ok());
}

#[tokio::test]
async fn token_defects_are_refused_with_their_codes() {
    let app = spawn_app().await;
    let login = app.login("driver1@rodando.local").await;
    let claims = claims_of(&login);

    assert_eq!(
        refusal(app.connect_with("/drivers", ClientOptions::default()).await),
        "missing_token"
    );
    assert_eq!(app.refused_with("/drivers", "").await, "missing_token");
    assert_eq!(
        app.refused_with("/drivers", "garbage").await,
        "invalid_token"
    );

    let wrong_key = sign(Algorithm::HS256, "not-our-secret", &claims);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let hs512 = sign(Algorithm::HS512, DEV_ACCESS_SECRET, &claims);
    let expired = forged(&login, "exp", json!(claims["iat"].as_i64().unwrap() - 60));
    // A refresh-typed token signed with the access key is still not an access token.
    let as_refresh = forged(&login, "typ", json!("refresh"));
    let refresh_key = sign(Algorithm::HS256, DEV_REFRESH_SECRET, &claims);
    for (what, token, code) in [
        ("empty", "", "missing_token"),
        ("garbage", "garbage", "invalid_token"),
        ("wrong key", &wrong_key, "invalid_token"),
        ("alg none", &none, "invalid_token"),
        ("HS512", &hs512, "invalid_token"),
        ("expired", &expired, "token_expired"),
        ("the refresh token", &login.refresh, "invalid_token"),
        ("refresh-typed", &as_refresh, "invalid_token"),
        ("refresh key", &refresh_key, "invalid_token"),
    ] {
        assert_eq!(app.refused_with("/drivers", token).await, code, "{what}");
    }

    // The genuine token still works: the refusals above were about their defects.
    assert!(
        app.connect_with_token("/drivers", &login.access)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn users_may_only_enter_their_own_namespace() {
    let app = spawn_app().await;
    let passenger = app.login("passenger1@rodando.local").await;
    let driver = app.login("driver1@rodando.local").await;
    for (who, namespace) in [
        (&passenger, "/drivers"),
        (&passenger, "/admin"),
        (&driver, "/admin"),
        (&driver, "/passengers"),
    ] {
        let refused = app.refused_with(namespace, &who.access).await;
        assert_eq!(refused, "forbidden_namespace", "{namespace}");
    }
}

#[tokio::test]
async fn the_stored_user_type_decides_not_the_claim() {
    let app = spawn_app().await;
    let driver = app.login("driver1@rodando.local").await;
    let mut claims = claims_of(&driver);
    claims["userType"] = json!("admin");
    claims["aud"] = json!("admin_panel");
    let forged = sign(Algorithm::HS256, DEV_ACCESS_SECRET, &claims);
    assert_eq!(
        app.refused_with("/admin", &forged).await,
        "forbidden_namespace"
    );
}

#[tokio::test]
async fn unknown_and_inactive_users_are_refused() {
    let app = spawn_app().await;
    let login = app.login("driver3@rodando.local").await;
    let ghost = forged(&login, "sub", json!("00000000-0000-4000-8000-000000000000"));
    assert_eq!(app.refused_with("/drivers", &ghost).await, "user_not_found");

    let id = UserId::parse(&login.user_id).unwrap();
    app.stores
        .users
        .set_status(id, UserStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        app.refused_with("/drivers", &login.access).await,
        "user_inactive"
    );
}

#[tokio::test]
async fn a_logged_out_or_unknown_session_is_refused() {
    let app = spawn_app().await;
    let login = app.login("passenger1@rodando.local").await;
    let other_session = forged(&login, "sid", json!("00000000-0000-4000-8000-000000000001"));
    assert_eq!(
        app.refused_with("/passengers", &other_session).await,
        "session_revoked"
    );

    assert_eq!(
        app.post_with_bearer("/api/auth/logout", &login.access)
            .await
            .0,
        204
    );
    assert_eq!(
        app.refused_with("/passengers", &login.access).await,
        "session_revoked"
    );
}

#[tokio::test]
async fn a_user_may_hold_only_max_connections_per_user_sockets() {
    let app = spawn_app_with(&[("MAX_CONNECTIONS_PER_USER", "2")]).await;
    let login = app.login("driver1@rodando.local").await;
    let first = app
        .connect_with_token("/drivers", &login.access)
        .await
        .expect("first");
    let _second = app
        .connect_with_token("/drivers", &login.access)
        .await
        .expect("second");
    assert_eq!(
        app.refused_with("/drivers", &login.access).await,
        "too_many_connections"
    );
    // Another user is not affected.
    let other = app.login("driver2@rodando.local").await;
    assert!(
        app.connect_with_token("/drivers", &other.access)
            .await
            .is_ok()
    );
    // Closing one socket frees its slot.
    first.close().await;
    let mut admitted = None;
    for _ in 0..50 {
        if let Ok(s) = app.connect_with_token("/drivers", &login.access).await {
            admitted = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "a freed slot is reusable");
}
