//! The real binary stops gracefully on SIGTERM (PROTOCOL §9): sockets are closed (clients may
//! reconnect elsewhere) and the process exits cleanly within the grace period.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rodando_sio_client::{ClientOptions, Disconnect, connect};
use serde_json::json;
use tokio::process::Command;

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn sigterm_closes_the_sockets_and_exits_cleanly_within_ten_seconds() {
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_rodando-server"))
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut login = None;
    for _ in 0..100 {
        let attempt = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": "driver1@rodando.local", "password": "rodando123", "appAudience": "driver_app"}))
            .send()
            .await;
        if let Ok(response) = attempt {
            login = Some(
                response
                    .json::<serde_json::Value>()
                    .await
                    .expect("login body"),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = login.expect("the server answered within 10 s");
    let options = ClientOptions {
        auth: Some(json!({"token": login["accessToken"]})),
        ..ClientOptions::default()
    };
    let mut socket = connect(&base, "/drivers", options).await.expect("admitted");
    socket
        .expect_event("hello", Duration::from_secs(3))
        .await
        .unwrap();

    let pid = server.id().expect("a running server has a pid");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let asked = Instant::now();

    let reason = socket
        .wait_disconnect(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        matches!(reason, Disconnect::ByServer | Disconnect::EngineClosed),
        "{reason:?}"
    );
    let status = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("exits within the 10 s grace period")
        .expect("exit status");
    assert!(status.success(), "{status}");
    assert!(asked.elapsed() < Duration::from_secs(10));
}
