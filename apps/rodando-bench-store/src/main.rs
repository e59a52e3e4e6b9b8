//! `rodando-bench-store`: the nearest-available-driver query (`AvailabilityRepository::
//! nearest_available`, the one dispatch runs) at 10k and 100k drivers spread over one city, on
//! the embedded store and on PostgreSQL + PostGIS, one query at a time, p50/p99 (`just
//! bench-store`, docs/benchmarks.md).
//!
//! Drivers are spread uniformly over Havana (23.05–23.16 N, 82.45–82.30 W, about 12 × 15 km),
//! all online, available and connected. Each query asks for the 10 nearest within 5 km (the
//! dispatch default radius) of a random point of the same area. The embedded store is filled
//! through its port; PostgreSQL, a scratch database next to `DATABASE_URL`'s (created, migrated
//! and dropped here), with one `INSERT … SELECT generate_series` and `ANALYZE`, then queried
//! through `PgStore` (the write-behind does not change this query).

use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context as _, anyhow};
use clap::Parser;
use rand::Rng as _;
use rodando_adapter_memory::MemoryStore;
use rodando_adapter_postgres::PgStore;
use rodando_domain::availability::{LocationFix, StatusCommand, TripStanding};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use rodando_ports::availability::{AvailabilityRepository, NearestQuery};
use rodando_toolkit::rng;
use rodando_toolkit::stats::{Samples, Summary};
use serde::Serialize;
use sqlx::{Connection as _, Executor as _, PgConnection};
use time::{Duration, OffsetDateTime};

const LAT: (f64, f64) = (23.05, 23.16);
const LON: (f64, f64) = (-82.45, -82.30);
const RADIUS_M: f64 = 5_000.0;
const LIMIT: usize = 10;

/// The nearest-driver query on both stores.
#[derive(Debug, Parser)]
#[command(name = "rodando-bench-store", version, about)]
struct Args {
    /// Fleet sizes, increasing (the store is filled up to each in turn).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    drivers: Vec<usize>,
    /// Measured queries per store and size (after 10 % as many not counted).
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Stores to run, of `memory`, `postgres`.
    #[arg(long, value_delimiter = ',', default_value = "memory,postgres")]
    stores: Vec<String>,
    /// PostgreSQL server (the scratch database is created next to this one's).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    store: &'static str,
    drivers: usize,
    latency: Summary,
    mean_found: f64,
}

fn point(rng: &mut rng::StdRng) -> anyhow::Result<GeoPoint> {
    GeoPoint::from_degrees(
        rng.random_range(LAT.0..LAT.1),
        rng.random_range(LON.0..LON.1),
    )
    .map_err(|e| anyhow!("a point of the city: {e:?}"))
}

/// Runs `queries` nearest-driver queries (plus a tenth not counted) one at a time.
async fn measure(
    store: &dyn AvailabilityRepository,
    label: &'static str,
    drivers: usize,
    queries: usize,
    seed: u64,
) -> anyhow::Result<Row> {
    let mut rng = rng::stream(seed, drivers as u64);
    let mut samples = Samples::default();
    let mut found = 0_usize;
    for i in 0..queries + queries / 10 {
        let origin = point(&mut rng)?;
        let now = OffsetDateTime::now_utc();
        let started = Instant::now();
        let candidates = store
            .nearest_available(&NearestQuery {
                origin,
                radius_m: RADIUS_M,
                limit: LIMIT,
                now,
                freshness: Duration::hours(1),
                exclude: Vec::new(),
            })
            .await
            .context("nearest_available")?;
        let took = started.elapsed();
        if i >= queries / 10 {
            samples.record(took);
            found += candidates.len();
        }
    }
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let mean_found = found as f64 / queries.max(1) as f64;
    let row = Row {
        store: label,
        drivers,
        latency: samples.summary(),
        mean_found,
    };
    print_row(&row);
    Ok(row)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn print_row(row: &Row) {
    println!(
        "{:<9} {:>7} drivers  {:>5} queries  p50 {} ms  p90 {} ms  p99 {} ms  max {} ms  ({:.1} found per query)",
        row.store,
        row.drivers,
        row.latency.count,
        ms(row.latency.p50_ms),
        ms(row.latency.p90_ms),
        ms(row.latency.p99_ms),
        ms(row.latency.max_ms),
        row.mean_found
    );
}

async fn memory(args: &Args, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let store = MemoryStore::new();
    let mut rng = rng::stream(7, 0);
    let mut filled = 0;
    for &target in &args.drivers {
        let started = Instant::now();
        let now = OffsetDateTime::now_utc();
        while filled < target {
            let driver = DriverId::from_uuid(uuid::Uuid::new_v4());
            let row = store.load_or_create(driver, now).await?;
            let fix = LocationFix {
                point: point(&mut rng)?,
                accuracy_m: None,
                heading_deg: None,
                speed_kph: None,
                recorded_at: None,
            };
            let next = row
                .state
                .set_status(StatusCommand::Available, TripStanding::External, now)
                .map_err(|e| anyhow!("AVAILABLE: {e:?}"))?
                .connect(now)
                .record_location(&fix, now);
            store
                .compare_and_set(row.version, &next)
                .await
                .map_err(|e| anyhow!("writing a driver: {e:?}"))?;
            filled += 1;
        }
        eprintln!(
            "bench-store: memory filled to {target} drivers in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        rows.push(measure(&store, "memory", target, args.queries, 1).await?);
    }
    Ok(())
}

/// A scratch database next to `base`'s, dropped by [`drop_database`].
fn scratch_url(base: &str, name: &str) -> anyhow::Result<String> {
    let (server, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("DATABASE_URL {base} names no database"))?;
    Ok(format!("{server}/{name}"))
}

async fn drop_database(base: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::connect(base).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

async fn postgres(args: &Args, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let base = &args.database_url;
    let name = format!("rodando_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(base).await.with_context(|| {
        format!("PostgreSQL at {base} (start it, or set DATABASE_URL; PostGIS: just db)")
    })?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let outcome = async {
        let url = scratch_url(base, &name)?;
        let store = PgStore::connect(&url, 4).await?;
        let mut filled = 0_usize;
        for &target in &args.drivers {
            let started = Instant::now();
            let add = i64::try_from(target.saturating_sub(filled))?;
            sqlx::query(
                "WITH new AS ( \
                   INSERT INTO users (id, user_type, email, name, password_hash) \
                   SELECT gen_random_uuid(), 'driver', 'bench' || ($2 + g) || '@rodando.local', \
                          'Bench ' || ($2 + g), 'x' \
                   FROM generate_series(1, $1) AS g RETURNING id) \
                 INSERT INTO drivers_availability (driver_id, is_online, is_available_for_trips, \
                   availability_reason, last_location, last_location_timestamp, \
                   last_online_timestamp, last_presence_timestamp, is_connected, updated_at) \
                 SELECT id, true, true, NULL, \
                   ST_SetSRID(ST_MakePoint(-82.45 + random() * 0.15, 23.05 + random() * 0.11), \
                              4326)::geography, now(), now(), now(), true, now() \
                 FROM new",
            )
            .bind(add)
            .bind(i64::try_from(filled)?)
            .execute(store.pool())
            .await
            .context("filling the fleet")?;
            sqlx::query("ANALYZE").execute(store.pool()).await?;
            filled = target;
            eprintln!(
                "bench-store: postgres filled to {target} drivers in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            rows.push(measure(&store, "postgres", target, args.queries, 1).await?);
        }
        store.pool().close().await;
        anyhow::Ok(())
    }
    .await;
    let _ = admin.close().await;
    drop_database(base, &name).await;
    outcome
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    println!(
        "nearest-available query: {LIMIT} nearest within {RADIUS_M} m of a random point of the city, one at a time"
    );
    for store in &args.stores {
        match store.as_str() {
            "memory" => memory(&args, &mut rows).await?,
            "postgres" => postgres(&args, &mut rows).await?,
            other => anyhow::bail!("--stores: unknown store {other} (memory, postgres)"),
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // Let the pool's connections close before the runtime ends.
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    Ok(())
}
