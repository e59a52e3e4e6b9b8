//! The real `rodando-server` binary as a child process: what the multi-node and shutdown tests
//! need that an in-process server cannot show (separate processes, signals).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::helpers::Api;

/// How long a spawned server may take to answer `GET /ready`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server process, killed when dropped.
pub struct ServerProcess {
    pub api: Api,
    child: Child,
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl ServerProcess {
    /// Starts the binary on a free port with `env` on top of a clean environment for the
    /// variables the server reads, and waits until `GET /ready` answers 200.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rodando-server"));
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the server binary starts");
        let api = Api::new(format!("http://127.0.0.1:{port}"));
        let started = Instant::now();
        loop {
            if api.status_of("/ready").await == Some(200) {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server exited during start ({status}); rerun with TEST_LOG=1");
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the server was not ready within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { api, child }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("a running server has a pid");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .expect("exit status")
    }
}

impl std::ops::Deref for ServerProcess {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}
