//! The real binary stops gracefully on SIGTERM (PROTOCOL §9): sockets are closed (clients may
//! reconnect elsewhere) and the process exits cleanly within the grace period; an event being
//! handled when the stop begins is still acknowledged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rodando_adapter_memory::MemoryStore;
use rodando_application::clock::SystemClock;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::dispatch::Candidate;
use rodando_domain::ids::DriverId;
use rodando_ports::Unexpected;
use rodando_ports::availability::{AvailabilityRepository, CasError, NearestQuery, Versioned};
use rodando_server::stores::Stores;
use rodando_server::{Application, Config};
use rodando_sio_client::{Disconnect, SioClient};
use serde_json::json;
use time::OffsetDateTime;

use crate::helpers::TestApp;
use crate::process::ServerProcess;

/// Asserts the server closes `socket` within the ten seconds a shutdown has (a Socket.IO
/// disconnect or the engine closing under it).
async fn closed_by_the_shutdown(socket: &mut SioClient) {
    let reason = socket
        .wait_disconnect(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        matches!(reason, Disconnect::ByServer | Disconnect::EngineClosed),
        "{reason:?}"
    );
}

#[tokio::test]
async fn sigterm_closes_the_sockets_and_exits_cleanly_within_ten_seconds() {
    let mut server = ServerProcess::start(&[]).await;
    let (mut socket, _) = server.joined("driver1@rodando.local").await;

    server.terminate();
    let asked = Instant::now();

    closed_by_the_shutdown(&mut socket).await;
    let status = server.wait(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(
        server.status_of("/health").await.is_none(),
        "nothing is accepted after the stop"
    );
}

/// An availability store whose loads take a while, so an event is surely in flight when the
/// shutdown starts.
struct SlowLoads(Arc<MemoryStore>);

const SLOW: Duration = Duration::from_millis(400);

#[async_trait]
impl AvailabilityRepository for SlowLoads {
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected> {
        tokio::time::sleep(SLOW).await;
        self.0.load_or_create(driver, now).await
    }

    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected> {
        self.0.find(driver).await
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        self.0.compare_and_set(expected_version, next).await
    }

    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: time::Duration,
        limit: usize,
    ) -> Result<Vec<Versioned>, Unexpected> {
        self.0.list_stale(now, ttl, limit).await
    }

    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected> {
        self.0.nearest_available(query).await
    }

    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        self.0.list_online().await
    }
}

#[tokio::test]
async fn an_event_in_flight_when_the_shutdown_starts_is_still_acknowledged() {
    let memory = Arc::new(MemoryStore::new());
    let mut stores = Stores::memory(Arc::clone(&memory));
    stores.availability = Arc::new(SlowLoads(Arc::clone(&memory)));
    let vars = HashMap::from([("HOST", "127.0.0.1"), ("PORT", "0")]);
    let config = Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
    let app = Application::build_with(config, stores.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let app = TestApp::running(app, stores);
    let (mut driver, login) = app.joined("driver1@rodando.local").await;

    let ping = json!({"latitude": 23.13, "longitude": -82.36});
    let stop_meanwhile = async {
        tokio::time::sleep(SLOW / 4).await;
        app.stop();
    };
    let (reply, ()) = tokio::join!(
        driver.emit_with_ack("driver:location:ping", ping, Duration::from_secs(5)),
        stop_meanwhile
    );
    let reply = reply.expect("the ack of the event in flight arrives");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["data"]["driverId"], login.user_id.as_str());
    closed_by_the_shutdown(&mut driver).await;
    let driver_id = DriverId::parse(&login.user_id).unwrap();
    let stored = memory
        .find(driver_id)
        .await
        .unwrap()
        .expect("the ping was stored");
    assert!(stored.state.last_location.is_some());
}
