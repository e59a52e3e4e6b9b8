//! A PostgreSQL database of its own for one test (PROTOCOL §1 `DATABASE_URL` names the server;
//! default the local one of `just test`), created empty and dropped at the end.

use std::collections::HashMap;

use rodando_server::{Config, admin};
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own for one test, dropped at the end.
pub struct Scratch {
    server: String,
    name: String,
}

impl Scratch {
    pub async fn create() -> Self {
        let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let name = format!("rodando_it_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&server).await.unwrap_or_else(|e| {
            panic!("these tests need PostgreSQL with PostGIS at {server} ({e}): start it, or run scripts/install-postgis.sh")
        });
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        Self { server, name }
    }

    pub fn url(&self) -> String {
        match self.server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => panic!("DATABASE_URL {} names no database", self.server),
        }
    }

    /// The configuration of a server (in-process, any free port) over this database.
    pub fn config(&self) -> Config {
        let vars = HashMap::from([
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", "0".to_owned()),
            ("DATABASE_URL", self.url()),
        ]);
        Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
    }

    /// A new database holding the demo users.
    pub async fn seeded() -> Self {
        let db = Self::create().await;
        admin::seed_demo(&db.config()).await.unwrap();
        db
    }

    pub async fn drop_it(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.server).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
        }
    }
}
