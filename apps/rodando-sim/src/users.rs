//! Who the simulated actors are: existing users logged in over REST, or — with `--create-users`
//! against a PostgreSQL-backed server — users created first with the operator CLI
//! (`rodando-server users create`, PROTOCOL §2), since the API has no sign-up route.

use std::path::Path;
use std::sync::Arc;

use tokio::process::Command;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{Api, Tokens};
use crate::config::{SimConfig, Users, email};

/// A simulated user's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// On `/drivers`.
    Driver,
    /// On `/passengers`.
    Passenger,
}

impl Role {
    /// The `appAudience` it logs in with.
    #[must_use]
    pub fn audience(self) -> &'static str {
        match self {
            Role::Driver => "driver_app",
            Role::Passenger => "passenger_app",
        }
    }

    /// The `--type` of `rodando-server users create`.
    #[must_use]
    pub fn cli_type(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Passenger => "passenger",
        }
    }

    /// The Socket.IO namespace.
    #[must_use]
    pub fn namespace(self) -> &'static str {
        match self {
            Role::Driver => "/drivers",
            Role::Passenger => "/passengers",
        }
    }
}

/// One logged-in simulated user.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its e-mail.
    pub email: String,
    /// Its tokens.
    pub tokens: Tokens,
}

/// Logs in `count` users of `role` (e-mails from the configured pattern, 1..=count), creating the
/// missing ones first when configured to; at most `connect_concurrency` at once. The result is in
/// e-mail order.
///
/// # Errors
/// The first user that can neither log in nor be created, with a hint on how to provide it.
pub async fn log_in_all(
    api: &Api,
    config: &SimConfig,
    role: Role,
    count: usize,
) -> Result<Vec<Identity>, String> {
    let limit = Arc::new(Semaphore::new(config.connect_concurrency));
    let mut tasks = JoinSet::new();
    for n in 1..=count {
        let api = api.clone();
        let limit = Arc::clone(&limit);
        let address = email(
            match role {
                Role::Driver => &config.driver_email,
                Role::Passenger => &config.passenger_email,
            },
            n,
        );
        let password = config.password.clone();
        let users = config.users.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| e.to_string())?;
            let tokens = log_in_one(&api, &users, role, n, &address, &password).await?;
            Ok::<_, String>((
                n,
                Identity {
                    email: address,
                    tokens,
                },
            ))
        });
    }
    let mut identities = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(identity)) => identities.push(identity),
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(format!("login task failed: {e}")),
        }
    }
    identities.sort_by_key(|(n, _)| *n);
    Ok(identities
        .into_iter()
        .map(|(_, identity)| identity)
        .collect())
}

async fn log_in_one(
    api: &Api,
    users: &Users,
    role: Role,
    n: usize,
    address: &str,
    password: &str,
) -> Result<Tokens, String> {
    match api.login(address, password, role.audience()).await {
        Ok(tokens) => return Ok(tokens),
        Err(e) if e.code.as_deref() == Some("invalid_credentials") => {
            let Users::Create { server_bin } = users else {
                return Err(format!(
                    "{e}: the server has no such user. With the embedded store, start it with \
                     SEED_DEMO_DRIVERS=N for drivers 4..N+3 and SEED_DEMO_PASSENGERS=M for passengers \
                     3..M+2; against PostgreSQL, pass --create-users"
                ));
            };
            create(server_bin, role, n, address, password).await?;
        }
        Err(e) => return Err(e.to_string()),
    }
    api.login(address, password, role.audience())
        .await
        .map_err(|e| e.to_string())
}

/// `rodando-server users create --type … --email … --password … --name …`, with this process's
/// environment (so the same `DATABASE_URL`). A user that already exists counts as created.
async fn create(
    server_bin: &Path,
    role: Role,
    n: usize,
    address: &str,
    password: &str,
) -> Result<(), String> {
    let name = match role {
        Role::Driver => format!("Sim Driver {n}"),
        Role::Passenger => format!("Sim Passenger {n}"),
    };
    let output = Command::new(server_bin)
        .args(["users", "create", "--type", role.cli_type()])
        .args(["--email", address, "--password", password, "--name", &name])
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", server_bin.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || stderr.contains("already registered") {
        Ok(())
    } else {
        Err(format!(
            "creating {address} with {} failed ({}): {}",
            server_bin.display(),
            output.status,
            stderr.trim()
        ))
    }
}
