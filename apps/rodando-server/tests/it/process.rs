//! The real `rodando-server` binary as a child process: what the multi-node and shutdown tests
//! need that an in-process server cannot show (separate processes, signals).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
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
    /// variables the server reads, and waits until `GET /ready` answers 200. The port was free
    /// a moment before: when another process took it meanwhile, starts again on another one.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(env).await {
                Ok(server) => return server,
                Err(output) if output.contains("cannot listen") => last_error = output,
                Err(output) => panic!("the server exited during start:\n{output}"),
            }
        }
        panic!("no free port after 3 attempts:\n{last_error}");
    }

    /// One start; the server's stderr when it exits before it is ready.
    async fn try_start(env: &[(&str, &str)]) -> Result<Self, String> {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rodando-server"));
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
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
                let mut output = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut output).await;
                }
                return Err(format!("{status}: {output}"));
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the server was not ready within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Keep draining stderr so a chatty server never blocks on a full pipe.
        if let Some(mut stderr) = child.stderr.take() {
            let echo = std::env::var_os("TEST_LOG").is_some();
            tokio::spawn(async move {
                let mut buffer = vec![0_u8; 8192];
                while let Ok(n) = stderr.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    if echo {
                        eprint!("{}", String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            });
        }
        Ok(Self { api, child })
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

    /// SIGKILL, as a crash: the process says goodbye to nobody. Returns once it is gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL the server");
        self.child.wait().await.expect("the killed server exits");
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
