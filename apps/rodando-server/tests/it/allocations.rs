//! Heap allocations the server makes per acked `driver:location:ping`, against a budget.
//!
//! The server runs on a thread of its own, on a current-thread runtime, so every task of it
//! runs there and only while that thread drives the runtime; `allocation-counter` (this test
//! binary's global allocator) counts the allocations of one thread, so the client, the test and
//! the other tests running beside it are not counted. A ping that starts allocating again (a
//! `serde_json::Value` tree, a formatted field path, a copied event name) shows here as a
//! number, not as a few microseconds lost in a benchmark's noise.

use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;

use crate::helpers::{Api, Hears, WAIT, spawn_app_with};

/// Pings measured, after as many to warm up (first copies, buffers grown to their size).
const PINGS: u64 = 400;

/// What one acked ping may allocate on the server, everything included: reading the frame,
/// running the ping through the service and the store, acking it, and broadcasting
/// `driver:location:update` to the driver's room and the admins' coalescer. 36 measured (83
/// before issue 17's ping work); docs/benchmarks.md, "Allocations per ping", names them. The
/// two above it are for the coalescer's flushes, whose number in the window depends on timing.
const BUDGET_PER_PING: u64 = 38;

/// The server's thread: runs the app until told to measure, counts its allocations until told
/// to stop, then sends the count back and shuts the app down.
struct ServerThread {
    base: String,
    measure: oneshot::Sender<oneshot::Receiver<()>>,
    counted: mpsc::Receiver<u64>,
    thread: std::thread::JoinHandle<()>,
}

impl ServerThread {
    fn start() -> Self {
        let (base_tx, base_rx) = mpsc::channel();
        let (measure, measure_rx) = oneshot::channel::<oneshot::Receiver<()>>();
        let (counted_tx, counted) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // Pings as fast as acks come back: above the per-socket rate limit.
            let unlimited = [
                ("RATE_LIMIT_EVENTS_PER_SEC", "100000"),
                ("RATE_LIMIT_BURST", "100000"),
            ];
            let app = runtime.block_on(spawn_app_with(&unlimited));
            base_tx.send(app.base.clone()).unwrap();
            // Serves until the test starts the measured stretch...
            let stop = runtime.block_on(measure_rx).unwrap();
            // ...which lasts until the test ends it; only this thread's allocations count.
            let info = allocation_counter::measure(|| {
                let _ = runtime.block_on(stop);
            });
            counted_tx.send(info.count_total).unwrap();
            runtime.block_on(async move {
                drop(app);
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
        });
        let base = base_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Self {
            base,
            measure,
            counted,
            thread,
        }
    }
}

/// A driver pings `PINGS` times, each ack awaited, with an admin watching; the server's
/// allocations per ping stay within the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acked_ping_allocates_on_the_server_within_its_budget() {
    let server = ServerThread::start();
    let api = Api::new(server.base.clone());
    let (mut admin, _) = api.joined("admin@rodando.local").await;
    let (mut driver, _) = api.joined("driver1@rodando.local").await;
    let ack = driver
        .emit_with_ack(
            "driver:status:update",
            json!({"availabilityStatus": "AVAILABLE"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], true, "{ack}");
    let ping = |i: u64| {
        let step = i as f64 * 1e-5;
        json!({"latitude": -23.55 + step, "longitude": -46.63 + step})
    };
    let pings = async |driver: &mut rodando_sio_client::SioClient, from: u64| {
        for i in from..from + PINGS {
            let ack = driver
                .emit_with_ack("driver:location:ping", ping(i), WAIT)
                .await
                .unwrap();
            assert_eq!(ack["ok"], true, "{ack}");
            driver.drain_events();
        }
    };

    pings(&mut driver, 0).await;
    admin.heard("driver:location:update", WAIT).await;
    admin.drain_events();
    let (stop, stopped) = oneshot::channel();
    server.measure.send(stopped).unwrap();
    pings(&mut driver, PINGS).await;
    // The admins' coalesced update of these pings goes out within the measured stretch too.
    admin.heard("driver:location:update", WAIT).await;
    stop.send(()).unwrap();
    let counted = tokio::task::spawn_blocking(move || {
        let counted = server.counted.recv_timeout(WAIT).unwrap();
        server.thread.join().unwrap();
        counted
    })
    .await
    .unwrap();

    let per_ping = counted / PINGS;
    println!("server allocations per acked ping: {per_ping} ({counted} for {PINGS})");
    assert!(per_ping > 0, "nothing counted: the server ran elsewhere");
    assert!(
        per_ping <= BUDGET_PER_PING,
        "{per_ping} allocations per ping, the budget is {BUDGET_PER_PING}"
    );
}
