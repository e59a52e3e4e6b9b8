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
