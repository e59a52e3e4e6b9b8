//! Start-up: reach the server, check that PostGIS can be used, run the embedded migrations.
//!
//! Every failure is one line an operator can act on (what to start or install), never a trace.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::PgStore;

/// The schema, `migrations/` at the workspace root, embedded at compile time and applied by
/// [`PgStore::connect`].
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// How long a first connection, or a connection from the pool, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum PgStartError {
    /// The URL is not a PostgreSQL connection URL.
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// Nothing answered at the address (not running, wrong host or port, firewall, timeout).
    #[error("cannot reach PostgreSQL at {target} ({cause}): is it running?")]
    Unreachable {
        /// `host:port`.
        target: String,
        /// The network error.
        cause: String,
    },
    /// The server answered but refused the connection (authentication, unknown database...).
    #[error("PostgreSQL at {target} refused the connection: {cause}")]
    Refused {
        /// `host:port`.
        target: String,
        /// The server's message.
        cause: String,
    },
    /// The server has no PostGIS to install into the database.
    #[error(
        "the PostGIS extension is not available in this PostgreSQL: install the Debian package \
         postgresql-{major}-postgis-3"
    )]
    PostgisMissing {
        /// The server's major version.
        major: u32,
    },
    /// A migration failed (or the database holds migrations this build does not know).
    #[error("the database migrations failed: {0}")]
    Migration(#[source] MigrateError),
    /// A start-up query failed.
    #[error("PostgreSQL failed while starting the store: {0}")]
    Setup(#[source] sqlx::Error),
}

impl PgStore {
    /// Connects to `url` with a pool of at most `max_connections`, checks PostGIS and runs the
    /// migrations.
    ///
    /// # Errors
    /// See [`PgStartError`]; each variant displays as one actionable line.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, PgStartError> {
        let options = PgConnectOptions::from_str(url).map_err(PgStartError::InvalidUrl)?;
        Self::connect_with(options, max_connections).await
    }

    /// [`PgStore::connect`] with options already parsed.
    ///
    /// # Errors
    /// See [`PgStartError`].
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, PgStartError> {
        let target = format!("{}:{}", options.get_host(), options.get_port());
        // One plain connection first: its error says why (refused, timed out, bad password),
        // where a pool would only report that it timed out.
        let mut probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| PgStartError::Unreachable {
                target: target.clone(),
                cause: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            })?
            .map_err(|e| connect_error(&target, e))?;
        require_postgis(&mut probe).await?;
        // Closing is a courtesy: the migrations below open their own connection anyway.
        let _ = probe.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| connect_error(&target, e))?;
        MIGRATOR.run(&pool).await.map_err(PgStartError::Migration)?;
        Ok(Self { pool })
    }
}

/// Refuses to go on without PostGIS, naming the package that provides it for this server.
async fn require_postgis(conn: &mut PgConnection) -> Result<(), PgStartError> {
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(PgStartError::Setup)?;
    if available {
        return Ok(());
    }
    let version_num: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(&mut *conn)
        .await
        .map_err(PgStartError::Setup)?;
    let major = version_num.trim().parse::<u32>().unwrap_or(0) / 10_000;
    Err(PgStartError::PostgisMissing { major })
}

fn connect_error(target: &str, error: sqlx::Error) -> PgStartError {
    let target = target.to_owned();
    match error {
        sqlx::Error::Database(e) => PgStartError::Refused {
            target,
            cause: e.message().to_owned(),
        },
        sqlx::Error::Io(e) => PgStartError::Unreachable {
            target,
            cause: e.to_string(),
        },
        sqlx::Error::PoolTimedOut => PgStartError::Unreachable {
            target,
            cause: format!("no connection within {}s", CONNECT_TIMEOUT.as_secs()),
        },
        other => PgStartError::Unreachable {
            target,
            cause: other.to_string(),
        },
    }
}
