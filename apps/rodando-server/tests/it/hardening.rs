//! Issue 16: what an attacker or a careless operator could do, over real HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use rodando_server::stores::Stores;
use rodando_server::{Application, Config};

use crate::helpers::TestApp;

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
