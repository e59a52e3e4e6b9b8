//! `/api/auth/*`, `/health`, `/ready` over real HTTP.

use serde_json::{Value, json};

use crate::helpers::{Api, assert_refused, spawn_app, spawn_app_with};

/// `POST /api/auth/login` of `email` with `password` for the app `audience`.
async fn log_in(app: &Api, email: &str, password: &str, audience: &str) -> (u16, Value) {
    app.post(
        "/api/auth/login",
        json!({"email": email, "password": password, "appAudience": audience}),
    )
    .await
}

#[tokio::test]
async fn health_and_ready_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await, (200, json!({"status": "ok"})));
    assert_eq!(app.get("/ready").await.0, 200);
}

#[tokio::test]
async fn login_returns_a_session_with_both_tokens() {
    let app = spawn_app().await;
    let (status, body) = app
        .post("/api/auth/login", json!({"email": "driver1@rodando.local", "password": "rodando123", "appAudience": "driver_app", "sessionType": "mobile_app", "deviceInfo": "Pixel 8"}))
        .await;
    assert_eq!(status, 200, "{body}");
    for field in [
        "accessToken",
        "refreshToken",
        "sessionId",
        "accessTokenExpiresAt",
        "refreshTokenExpiresAt",
    ] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    assert_eq!(body["sessionType"], "mobile_app");
    assert_eq!(body["user"]["userType"], "driver");
    assert_eq!(body["user"]["name"], "Dario Driver");
}

#[tokio::test]
async fn a_phone_number_logs_in_too() {
    let app = spawn_app().await;
    let (status, body) = app
        .post("/api/auth/login", json!({"phoneNumber": "+53 5000 0021", "password": "rodando123", "appAudience": "passenger_app"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["userType"], "passenger");
}

#[tokio::test]
async fn wrong_credentials_look_the_same_whether_the_user_exists_or_not() {
    let app = spawn_app().await;
    let wrong_password = log_in(&app, "driver1@rodando.local", "nope", "driver_app").await;
    let no_such_user = log_in(&app, "ghost@rodando.local", "nope", "driver_app").await;
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password.1["error"]["code"], "invalid_credentials");
    assert_eq!(wrong_password, no_such_user);
}

#[tokio::test]
async fn an_inactive_user_or_the_wrong_app_is_forbidden() {
    let app = spawn_app().await;
    assert_refused(
        &log_in(&app, "driver1@rodando.local", "rodando123", "admin_panel").await,
        403,
        "audience_mismatch",
    );

    let login = app.login("driver2@rodando.local").await;
    let id = rodando_domain::ids::UserId::parse(&login.user_id).unwrap();
    app.stores
        .users
        .set_status(id, rodando_domain::user::UserStatus::Banned)
        .await
        .unwrap();
    assert_refused(
        &log_in(&app, "driver2@rodando.local", "rodando123", "driver_app").await,
        403,
        "user_inactive",
    );
}

#[tokio::test]
async fn bad_bodies_get_json_errors_naming_each_field() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/api/auth/login",
            json!({"email": 5, "appAudience": "moon", "surprise": true}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["surprise", "email", "password", "appAudience"]);

    assert_refused(
        &app.post("/api/auth/login", json!(["not", "an", "object"]))
            .await,
        400,
        "validation_failed",
    );

    let huge = "x".repeat(70 * 1024);
    assert_refused(
        &app.post("/api/auth/login", json!({"email": huge})).await,
        413,
        "payload_too_large",
    );

    assert_refused(&app.get("/api/nothing-here").await, 404, "not_found");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_session() {
    // No retry grace: any replay is theft (the grace is tested in `hardening`).
    let app = spawn_app_with(&[("JWT_REFRESH_REUSE_GRACE", "0s")]).await;
    let login = app.login("passenger1@rodando.local").await;
    let (status, first) = app.refresh(login.refresh.as_str()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["sessionId"], login.session_id.as_str());
    assert_ne!(first["refreshToken"], login.refresh.as_str());

    // The old refresh token was rotated away: presenting it again is theft.
    assert_refused(
        &app.refresh(login.refresh.as_str()).await,
        401,
        "refresh_token_reused",
    );
    // ...and the whole session is gone, including the newest refresh token.
    assert_refused(
        &app.refresh(first["refreshToken"].clone()).await,
        401,
        "session_revoked",
    );
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = spawn_app().await;
    let login = app.login("passenger1@rodando.local").await;
    assert_refused(
        &app.refresh(login.access.as_str()).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn logout_needs_a_bearer_token_and_ends_the_session() {
    let app = spawn_app().await;
    let login = app.login("passenger2@rodando.local").await;
    assert_refused(
        &app.post("/api/auth/logout", json!({})).await,
        401,
        "missing_token",
    );
    assert_eq!(
        app.post_with_bearer("/api/auth/logout", &login.access)
            .await
            .0,
        204
    );
    assert_refused(
        &app.refresh(login.refresh.as_str()).await,
        401,
        "session_revoked",
    );
}

#[tokio::test]
async fn extra_demo_drivers_and_passengers_are_numbered_after_the_fixed_ones() {
    let app = spawn_app_with(&[("SEED_DEMO_DRIVERS", "2"), ("SEED_DEMO_PASSENGERS", "3")]).await;
    for (email, audience, status) in [
        ("driver4@rodando.local", "driver_app", 200),
        ("driver5@rodando.local", "driver_app", 200),
        ("driver6@rodando.local", "driver_app", 401),
        ("passenger3@rodando.local", "passenger_app", 200),
        ("passenger5@rodando.local", "passenger_app", 200),
        ("passenger6@rodando.local", "passenger_app", 401),
    ] {
        let (actual, body) = log_in(&app, email, "rodando123", audience).await;
        assert_eq!(actual, status, "{email}: {body}");
    }
}
