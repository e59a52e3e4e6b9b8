//! Throwaway databases for the PostgreSQL tests: each test gets `rodando_t_<random>`, migrated
//! by [`PgStore::connect_with`], dropped afterwards (even when the test panics).
//!
//! The server is `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/test`. When none
//! answers the tests fail, saying what to start: they are never skipped silently.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use rodando_adapter_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Pool size of each test's store: enough for the concurrency cases to race for real.
const POOL_SIZE: u32 = 8;

/// The server the tests use.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn server_options() -> PgConnectOptions {
    let url = server_url();
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("DATABASE_URL {url:?} is not a PostgreSQL URL: {e}"))
}

async fn admin_connection(options: &PgConnectOptions) -> PgConnection {
    let target = format!("{}:{}", options.get_host(), options.get_port());
    let attempt = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    match attempt {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => no_server(&target, &e.to_string()),
        Err(_) => no_server(&target, "no answer within 5s"),
    }
}

fn no_server(target: &str, cause: &str) -> ! {
    panic!(
        "the PostgreSQL store tests need a PostgreSQL server with PostGIS at {target} ({cause}). \
         Start PostgreSQL (user postgres, trust auth, database `test`) or point DATABASE_URL at \
         one, and install PostGIS with scripts/install-postgis.sh"
    )
}

/// A database that exists for one test.
pub struct ScratchDatabase {
    server: PgConnectOptions,
    name: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the test server.
    pub async fn create() -> Self {
        let server = server_options();
        let name = format!("rodando_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&server).await;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        let _ = admin.close().await;
        Self { server, name }
    }

    /// Options that connect to this database.
    pub fn options(&self) -> PgConnectOptions {
        self.server.clone().database(&self.name)
    }

    /// A store on this database (migrations applied).
    pub async fn store(&self) -> PgStore {
        PgStore::connect_with(self.options(), POOL_SIZE)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Drops the database, disconnecting whoever is still connected.
    pub async fn drop(self) {
        let mut admin = admin_connection(&self.server).await;
        let dropped = admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await;
        if let Err(e) = dropped {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
        let _ = admin.close().await;
    }
}

/// Runs `test` with a store on a fresh database, then drops the database and re-raises the
/// test's panic, if any.
pub async fn with_fresh_store<T, F>(test: T)
where
    T: FnOnce(PgStore) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let db = ScratchDatabase::create().await;
    let store = db.store().await;
    let outcome = tokio::spawn(test(store.clone())).await;
    store.close().await;
    db.drop().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}
