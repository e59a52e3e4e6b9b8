//! `spawn_app()` and the small vocabulary the tests are written in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rodando_server::stores::Stores;
use rodando_server::{Application, Config};
use rodando_sio_client::{ClientOptions, ConnectError, Disconnect, SioClient, connect};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// `expect_event(..).await.unwrap()` as one call whose panic names the event and the wait: the
/// tests await an event on nearly every step, and that four-line chain was most of their text.
pub(crate) trait Hears {
    /// The payload of the next `event` on this socket within `within`; panics saying which
    /// event did not come (timeout or closed connection) otherwise.
    async fn heard(&mut self, event: &str, within: Duration) -> Value;

    /// Asserts that no `event` reaches this socket within `within` (events of other names stay
    /// buffered); panics with the one that came. Most tests check a bystander this way.
    async fn not_heard(&mut self, event: &str, within: Duration);
}

impl Hears for SioClient {
    async fn heard(&mut self, event: &str, within: Duration) -> Value {
        self.expect_event(event, within)
            .await
            .unwrap_or_else(|e| panic!("{event} not heard within {within:?}: {e}"))
    }

    async fn not_heard(&mut self, event: &str, within: Duration) {
        if let Err(heard) = self.expect_no_event(event, within).await {
            panic!("{event} heard within {within:?}, unexpectedly: {heard:?}");
        }
    }
}

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(3);
/// How long a test watches for something that must not happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// A running in-process server and what tests need to talk to it.
pub struct TestApp {
    api: Api,
    pub stores: Stores,
    pub app_notifier: Arc<dyn rodando_ports::notifier::Notifier>,
    /// Re-checks the sockets' sessions against the store, as after a Redis outage.
    pub session_recheck: rodando_server::startup::SessionRecheck,
    shutdown: CancellationToken,
}

impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// HTTP and Socket.IO access to a server at `base`, wherever it runs.
pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Tokens of a login.
#[derive(Debug, Clone)]
pub struct Login {
    pub access: String,
    pub refresh: String,
    pub session_id: String,
    pub user_id: String,
}

/// Starts a server with the embedded store, demo users, and `overrides` on top of the defaults.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        rodando_server::telemetry::init(rodando_server::config::LogFormat::Pretty);
    }
    let mut vars: HashMap<String, String> = HashMap::from([
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
    spawn_app_on(config).await
}

impl TestApp {
    /// Runs an already built application.
    pub fn running(app: Application, stores: Stores) -> Self {
        let base = format!("http://127.0.0.1:{}", app.port());
        let shutdown = app.shutdown_token();
        let app_notifier = app.notifier();
        let session_recheck = app.session_recheck();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            api: Api::new(base),
            stores,
            app_notifier,
            session_recheck,
            shutdown,
        }
    }
}

impl TestApp {
    /// Starts the graceful shutdown, as SIGTERM does.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// Starts a server in-process over the store `config` names (PostgreSQL with `DATABASE_URL`,
/// else the embedded store).
pub async fn spawn_app_on(config: Config) -> TestApp {
    let stores = Stores::from_config(&config).await.expect("stores");
    let app = Application::build_with(
        config,
        stores.clone(),
        Arc::new(rodando_application::clock::SystemClock),
    )
    .await
    .expect("server builds");
    TestApp::running(app, stores)
}

/// Starts a server with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app each demo user logs in to and the namespace that app connects to.
fn app_of(email: &str) -> (&'static str, &'static str) {
    if email.starts_with("admin") {
        ("admin_panel", "/admin")
    } else if email.starts_with("driver") {
        ("driver_app", "/drivers")
    } else {
        ("passenger_app", "/passengers")
    }
}

/// Asserts a REST answer is the error `code` with `status`, showing the body when it is not.
#[track_caller]
pub fn assert_refused(answer: &(u16, Value), status: u16, code: &str) {
    let (actual, body) = answer;
    assert_eq!(
        (*actual, body["error"]["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

impl Api {
    /// Sends a request and reads `(status, JSON body or null)`.
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    /// `POST /api/auth/refresh` with `token` as the refresh token.
    pub async fn refresh(&self, token: impl Into<Value>) -> (u16, Value) {
        let token: Value = token.into();
        self.post("/api/auth/refresh", json!({ "refreshToken": token }))
            .await
    }

    pub async fn post_with_bearer(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn get_with_bearer(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post_json_with(
        &self,
        path: &str,
        token: &str,
        idempotency_key: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// The status of `GET path`, or `None` while nothing answers.
    pub async fn status_of(&self, path: &str) -> Option<u16> {
        let response = self.http.get(self.url(path)).send().await.ok()?;
        Some(response.status().as_u16())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path))).await
    }

    /// The driver of `login` takes the trip's next `step` over REST (`arrived`, `start`,
    /// `complete`); asserts 200 and returns the trip.
    pub async fn trip_step(&self, trip_id: &str, step: &str, driver: &Login) -> Value {
        let path = format!("/api/trips/{trip_id}/{step}");
        let (status, body) = self.post_with_bearer(&path, &driver.access).await;
        assert_eq!(status, 200, "{step}: {body}");
        body
    }

    /// Logs a demo user in with its own app.
    pub async fn login(&self, email: &str) -> Login {
        let (status, body) = self
            .post(
                "/api/auth/login",
                json!({"email": email, "password": "rodando123", "appAudience": app_of(email).0}),
            )
            .await;
        assert_eq!(status, 200, "login of {email}: {body}");
        Login {
            access: body["accessToken"].as_str().unwrap().to_owned(),
            refresh: body["refreshToken"].as_str().unwrap().to_owned(),
            session_id: body["sessionId"].as_str().unwrap().to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// Connects with `auth.token`.
    pub async fn connect_with_token(
        &self,
        namespace: &str,
        token: &str,
    ) -> Result<SioClient, ConnectError> {
        let options = ClientOptions {
            auth: Some(json!({ "token": token })),
            ..ClientOptions::default()
        };
        connect(&self.base, namespace, options).await
    }

    /// The `connect_error` message of a handshake with `auth.token`, which must be refused.
    pub async fn refused_with(&self, namespace: &str, token: &str) -> String {
        refusal(self.connect_with_token(namespace, token).await)
    }

    /// Connects with raw options.
    pub async fn connect_with(
        &self,
        namespace: &str,
        options: ClientOptions,
    ) -> Result<SioClient, ConnectError> {
        connect(&self.base, namespace, options).await
    }

    /// Logs in and connects, consuming `hello`.
    pub async fn connected(&self, email: &str, namespace: &str) -> (SioClient, Login) {
        let login = self.login(email).await;
        (self.socket_of(&login, namespace).await, login)
    }

    /// Connects a socket of `login` (one more, for a session that has some) to `namespace`,
    /// consuming `hello`.
    pub async fn socket_of(&self, login: &Login, namespace: &str) -> SioClient {
        let mut client = self
            .connect_with_token(namespace, &login.access)
            .await
            .unwrap_or_else(|e| panic!("{} on {namespace}: {e}", login.user_id));
        client.heard("hello", WAIT).await;
        client
    }

    /// Logs a demo user in and connects it to its own app's namespace, consuming `hello`.
    pub async fn joined(&self, email: &str) -> (SioClient, Login) {
        self.connected(email, app_of(email).1).await
    }
}

/// The `connect_error` message of a refused connection.
pub fn refusal(result: Result<SioClient, ConnectError>) -> String {
    match result {
        Err(ConnectError::Refused { message, .. }) => message,
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, but the connection was admitted"),
    }
}

/// `socket` hears `auth:session_revoked {sessionId, reason}` and is then disconnected by the
/// server, each within `within`.
pub(crate) async fn expect_kicked(
    socket: &mut SioClient,
    session_id: &str,
    reason: &str,
    within: Duration,
) {
    let notice = socket.heard("auth:session_revoked", within).await;
    assert_eq!(notice, json!({"sessionId": session_id, "reason": reason}));
    assert_eq!(
        socket.wait_disconnect(within).await.unwrap(),
        Disconnect::ByServer
    );
}
