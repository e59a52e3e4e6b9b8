//! Issue 16: what an attacker or a careless operator could do, over real HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use rodando_server::stores::Stores;
use rodando_server::{Application, Config};

use crate::helpers::{Api, Hears, QUIET, TestApp, WAIT, assert_refused};

fn config(overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
}

/// A store that is down, with an error that would tell an outsider where it lives.
struct Down;

#[async_trait]
impl HealthCheck for Down {
    fn name(&self) -> &'static str {
        "store"
    }

    async fn check(&self) -> Result<(), Unexpected> {
        Err(Unexpected::msg(
            "pool timed out: connecting to db-primary.internal:5432 as rodando_app",
        ))
    }
}

#[tokio::test]
async fn ready_names_the_failing_dependency_and_keeps_its_error_to_the_log() {
    let config = config(&[]);
    let mut stores = Stores::from_config(&config).await.unwrap();
    stores.health = Arc::new(Down);
    let app = Application::build_with(
        config,
        stores.clone(),
        Arc::new(rodando_application::clock::SystemClock),
    )
    .await
    .unwrap();
    let app = TestApp::running(app, stores);

    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    assert_eq!(
        body["error"]["details"]["failed"],
        serde_json::json!([{"dependency": "store"}]),
        "{body}"
    );
    let text = body.to_string();
    for secret in ["db-primary", "5432", "rodando_app", "pool"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    assert_eq!(app.get("/health").await.0, 200);
}

/// Production settings but for what each case sets.
fn production_env() -> Vec<(&'static str, String)> {
    vec![
        ("RODANDO_ENV", "production".into()),
        ("JWT_ACCESS_SECRET", "a".repeat(40)),
        ("JWT_REFRESH_SECRET", "b".repeat(40)),
    ]
}

#[tokio::test]
async fn production_refuses_to_start_with_demo_users_or_any_origin() {
    let origin = ("WS_CORS_ORIGIN", "https://ops.example.com".to_owned());
    for (extra, variable) in [
        (vec![origin.clone()], "SEED_DEMO"),
        (vec![("SEED_DEMO", "false".to_owned())], "WS_CORS_ORIGIN"),
        (
            vec![
                ("SEED_DEMO", "false".to_owned()),
                ("WS_CORS_ORIGIN", "*".to_owned()),
            ],
            "WS_CORS_ORIGIN",
        ),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rodando-server"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .envs(production_env())
            .envs(extra.clone())
            .output();
        let output = tokio::time::timeout(std::time::Duration::from_secs(10), output)
            .await
            .expect("refused at once")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} started");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{extra:?}: {stderr}");
        assert!(
            lines[0].contains(&format!("invalid {variable}:")),
            "{extra:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn production_on_the_embedded_store_with_seed_demo_false_has_no_demo_users() {
    let mut env = production_env();
    env.push(("WS_CORS_ORIGIN", "https://ops.example.com".into()));
    env.push(("SEED_DEMO", "false".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = crate::process::ServerProcess::start(&env).await;
    for (email, audience) in [
        ("admin@rodando.local", "admin_panel"),
        ("driver1@rodando.local", "driver_app"),
    ] {
        let (status, body) = server
            .post(
                "/api/auth/login",
                serde_json::json!({"email": email, "password": "rodando123", "appAudience": audience}),
            )
            .await;
        assert_eq!(status, 401, "{email}: {body}");
        assert_eq!(body["error"]["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn a_refresh_retried_within_the_grace_answers_the_same_pair_and_keeps_the_session() {
    let app = crate::helpers::spawn_app().await;
    let (mut socket, login) = app.joined("driver1@rodando.local").await;
    let old = serde_json::Value::from(login.refresh.as_str());

    let (status, first) = app.refresh(old.clone()).await;
    assert_eq!(status, 200, "{first}");
    // The answer was lost: the phone presents the old token again.
    let (status, retry) = app.refresh(old.clone()).await;
    assert_eq!(status, 200, "{retry}");
    for field in [
        "accessToken",
        "refreshToken",
        "accessTokenExpiresAt",
        "refreshTokenExpiresAt",
        "sessionId",
    ] {
        assert_eq!(retry[field], first[field], "{field}");
    }
    // A retry must not end the session.
    socket.not_heard("auth:session_revoked", QUIET).await;
    // The pair answered twice is the live one.
    let (status, next) = app.refresh(first["refreshToken"].clone()).await;
    assert_eq!(status, 200, "{next}");
    // Two rotations behind now: theft, even within the grace.
    assert_refused(&app.refresh(old.clone()).await, 401, "refresh_token_reused");
    let notice = socket.heard("auth:session_revoked", WAIT).await;
    assert_eq!(notice["reason"], "refresh_token_reuse");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_all_get_the_same_live_pair() {
    let app = crate::helpers::spawn_app().await;
    let (mut socket, login) = app.joined("passenger1@rodando.local").await;
    let old = serde_json::Value::from(login.refresh.as_str());
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let api = Api::new(app.base.clone());
        let old = old.clone();
        racers.spawn(async move { api.refresh(old.clone()).await });
    }
    let answers = racers.join_all().await;
    let first = &answers[0].1;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["refreshToken"], first["refreshToken"], "{body}");
        assert_eq!(body["accessToken"], first["accessToken"], "{body}");
    }
    socket.not_heard("auth:session_revoked", QUIET).await;
    let (status, body) = app.refresh(first["refreshToken"].clone()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_refresh_retried_after_the_grace_revokes_the_session() {
    let app = crate::helpers::spawn_app_with(&[("JWT_REFRESH_REUSE_GRACE", "1s")]).await;
    let (mut socket, login) = app.joined("driver2@rodando.local").await;
    let old = serde_json::Value::from(login.refresh.as_str());
    let (status, first) = app.refresh(old.clone()).await;
    assert_eq!(status, 200, "{first}");

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_refused(&app.refresh(old.clone()).await, 401, "refresh_token_reused");
    let notice = socket.heard("auth:session_revoked", WAIT).await;
    assert_eq!(notice["reason"], "refresh_token_reuse");
    assert_refused(
        &app.refresh(first["refreshToken"].clone()).await,
        401,
        "session_revoked",
    );
}

/// A client whose requests leave from `address` (any of 127.0.0.0/8 reaches the server).
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

async fn login_from(
    client: &reqwest::Client,
    app: &TestApp,
    password: &str,
) -> (u16, Option<String>, serde_json::Value) {
    let response = client
        .post(format!("{}/api/auth/login", app.base))
        .json(&serde_json::json!({"email": "driver1@rodando.local", "password": password, "appAudience": "driver_app"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn guessing_from_one_address_is_throttled_and_the_owner_still_logs_in_from_another() {
    let app = crate::helpers::spawn_app().await;
    let attacker = client_from([127, 0, 0, 1]);
    let owner = client_from([127, 0, 0, 2]);
    let started = std::time::Instant::now();
    let mut answers = Vec::new();
    for i in 0..40 {
        answers.push(login_from(&attacker, &app, &format!("guess-{i}")).await);
    }
    let guesses_checked = answers.iter().filter(|a| a.0 == 401).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert_eq!(guesses_checked, 5, "{answers:?}");
    assert_eq!(limited.len(), 35);
    for (_, retry_after, body) in &limited {
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        let seconds: u64 = retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=60).contains(&seconds), "{seconds}");
    }
    eprintln!(
        "40 guesses from one address in {:?}: {guesses_checked} checked",
        started.elapsed()
    );
    // Even the right password waits on the attacker's address...
    assert_eq!(login_from(&attacker, &app, "rodando123").await.0, 429);
    // ...while the owner, elsewhere, gets in at once.
    let (status, _, body) = login_from(&owner, &app, "rodando123").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn failed_refreshes_from_one_address_are_throttled() {
    let app = crate::helpers::spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..32 {
        statuses.push(app.refresh("not-a-token").await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
}

#[tokio::test]
async fn with_redis_the_nodes_share_one_budget_per_account_and_address() {
    let port = crate::process::free_port();
    let _redis = tokio::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("these tests run redis-server: apt-get install redis-server");
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(started.elapsed() < WAIT, "redis-server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = format!("throttle-{port}");
    let env = [
        ("REDIS_URL", url.as_str()),
        ("REDIS_CHANNEL_PREFIX", prefix.as_str()),
    ];
    let a = crate::helpers::spawn_app_with(&env).await;
    let b = crate::helpers::spawn_app_with(&env).await;
    let attacker = client_from([127, 0, 0, 1]);
    let mut statuses = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { &a } else { &b };
        statuses.push(login_from(&attacker, node, &format!("guess-{i}")).await.0);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let owner = client_from([127, 0, 0, 3]);
    assert_eq!(login_from(&owner, &b, "rodando123").await.0, 200);
}
