//! Location pings written behind: [`WriteBehindStore`] is the [`PgStore`] with positions and
//! presence kept in this node's memory and written in batches (docs/positions.md).
//!
//! A ping ([`AvailabilityRepository::record_location`]) is applied to this node's copy of the
//! driver and acked from memory; every [`WriteBehindConfig::interval`] one
//! `UPDATE … FROM unnest(…)` writes the latest position and presence of every driver that
//! pinged since the last batch, and its `RETURNING` refreshes the node's copies (so a change
//! made on another node is seen within an interval). Everything else (status, connection,
//! trips, offers, the sweeper's writes) is written at once, as before, through the
//! compare-and-set and the dispatch transaction; reads through this store show the pings it
//! accepted and has not written yet.
//!
//! The buffer holds one entry per driver, never one per ping, and at most
//! [`WriteBehindConfig::max_drivers`]: a driver beyond that is written through at once. While
//! PostgreSQL is unreachable, drivers already known to the node keep being acked; the latest
//! position of each is written when a batch succeeds again.

mod delegate;
mod metrics;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use rodando_domain::availability::{DriverAvailability, LocationFix, Position};
use rodando_domain::dispatch::Candidate;
use rodando_domain::ids::DriverId;
use rodando_ports::Unexpected;
use rodando_ports::availability::{
    AvailabilityRepository, CasError, NearestQuery, Pinged, Versioned,
};
use time::{Duration, OffsetDateTime};

use crate::PgStore;
use crate::availability::row::{AvailabilityRow, availability_columns};
use crate::errors::failed;

/// How the buffer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBehindConfig {
    /// Time between batches: the most a ping waits before it is in PostgreSQL, and the most a
    /// crashed node loses.
    pub interval: StdDuration,
    /// Drivers the buffer holds at most; pings of further drivers are written at once (0: every
    /// ping is written at once, as without the buffer).
    pub max_drivers: usize,
    /// A node's copy of a driver is read again from PostgreSQL when it is older than this: by
    /// the timer, in one statement for every such copy, so a ping never waits for it (a batch
    /// that writes the driver refreshes its copy too).
    pub max_age: StdDuration,
    /// Drivers silent this long are dropped from the buffer (once written).
    pub idle: StdDuration,
}

impl Default for WriteBehindConfig {
    fn default() -> Self {
        Self {
            interval: StdDuration::from_millis(250),
            max_drivers: 100_000,
            max_age: StdDuration::from_secs(2),
            idle: StdDuration::from_secs(60),
        }
    }
}

/// Rows per batch statement. Each statement is its own transaction and holds the row locks of
/// its drivers until it commits, so a status change or a dispatch write of one of them waits for
/// the whole statement: a thousand rows are written in ~30 ms on a quiet 2-core machine
/// (docs/benchmarks.md), where five thousand held them for seconds under load.
const BATCH_ROWS: usize = 1_000;

/// Whether the batch's position (`u`) is not older than the stored one (`d`): the guard that
/// orders the batches of several nodes by position time (see [`WRITE_BATCH`]).
macro_rules! newer {
    () => {
        "(d.last_location IS NULL OR d.last_location_timestamp IS NULL \
          OR d.last_location_timestamp <= u.located_at)"
    };
}

/// One batch: the latest position and presence of each driver (`$1` ids, `$2`/`$3` longitude
/// and latitude, `$4` position time, `$5` presence, `$6` `updated_at`). The position is the
/// latest this node accepted, and it is written only over an older one (`NEWER`): with one
/// driver's sockets on two nodes, each node's batch holds that node's latest ping, and the
/// batches land in any order, so a node that writes after another must not put back its older
/// position. Presence and `updated_at` never go back. Rows that would not change are left alone
/// (no version bump, so no compare-and-set is disturbed for nothing).
const WRITE_BATCH: &str = concat!(
    "UPDATE drivers_availability AS d SET \
       last_location = CASE WHEN ",
    newer!(),
    " THEN ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)::geography \
         ELSE d.last_location END, \
       last_location_timestamp = CASE WHEN ",
    newer!(),
    " THEN u.located_at ELSE d.last_location_timestamp END, \
       last_presence_timestamp = GREATEST(d.last_presence_timestamp, u.seen_at), \
       updated_at = GREATEST(d.updated_at, u.stamped_at), \
       version = d.version + 1 \
     FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::timestamptz[], $5::timestamptz[], \
                 $6::timestamptz[]) AS u(id, lon, lat, located_at, seen_at, stamped_at) \
     WHERE d.driver_id = u.id \
       AND ((",
    newer!(),
    " AND (d.last_location IS NULL OR d.last_location_timestamp IS DISTINCT FROM u.located_at \
              OR ST_X(d.last_location::geometry) <> u.lon \
              OR ST_Y(d.last_location::geometry) <> u.lat)) \
            OR d.last_presence_timestamp IS NULL OR d.last_presence_timestamp < u.seen_at) \
     RETURNING ",
    availability_columns!()
);

/// What a ping changes: the hot part of a driver's availability.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hot {
    location: Position,
    seen_at: OffsetDateTime,
    stamped_at: OffsetDateTime,
}

impl Hot {
    fn of(state: &DriverAvailability) -> Option<Self> {
        Some(Self {
            location: state.last_location?,
            seen_at: state.last_presence_at?,
            stamped_at: state.updated_at,
        })
    }

    /// Whether this position is not older than `state`'s (the batch's `NEWER` guard).
    fn is_newer_than(self, state: &DriverAvailability) -> bool {
        state
            .last_location
            .is_none_or(|stored| stored.at <= self.location.at)
    }

    /// `state` as it will be once this is written: the position replaced unless `state`'s is
    /// newer (another node wrote a later ping), presence and `updated_at` never earlier.
    fn over(self, state: &DriverAvailability) -> DriverAvailability {
        let mut record = state.clone().into_record();
        if self.is_newer_than(state) {
            record.last_location = Some(self.location);
        }
        record.last_presence_at = Some(
            record
                .last_presence_at
                .map_or(self.seen_at, |seen| seen.max(self.seen_at)),
        );
        record.updated_at = record.updated_at.max(self.stamped_at);
        // Position and presence take part in no invariant.
        DriverAvailability::restore(record).unwrap_or_else(|_| state.clone())
    }

    /// Whether `state` already holds this (or a newer position).
    fn is_in(self, state: &DriverAvailability) -> bool {
        (state.last_location == Some(self.location) || !self.is_newer_than(state))
            && state
                .last_presence_at
                .is_some_and(|seen| seen >= self.seen_at)
    }
}

/// This node's copy of one driver.
struct Entry {
    /// The stored state at `version`, with this node's unwritten ping applied.
    state: DriverAvailability,
    version: u64,
    /// When the stored part was last read or written; `None`: read it again on the next ping.
    refreshed: Option<Instant>,
    /// The latest ping not yet handed to a batch.
    pending: Option<Hot>,
    /// The ping a running batch is writing.
    in_flight: Option<Hot>,
    /// The last ping.
    touched: Instant,
    /// Whether PostgreSQL holds a position of the driver (else dispatch cannot find it yet).
    located: bool,
}

impl Entry {
    fn new(row: Versioned) -> Self {
        let located = row.state.last_location.is_some();
        Self {
            state: row.state,
            version: row.version,
            refreshed: Some(Instant::now()),
            pending: None,
            in_flight: None,
            touched: Instant::now(),
            located,
        }
    }

    fn unwritten(&self) -> Option<Hot> {
        self.pending.or(self.in_flight)
    }

    /// Whether the copy is to be read again (too old, or dropped after a lost compare-and-set).
    fn is_old(&self, max_age: StdDuration) -> bool {
        self.refreshed.is_none_or(|at| at.elapsed() > max_age)
    }

    /// A stored row read or written by this node, if it is not older than what is known.
    fn refresh(&mut self, row: &Versioned) {
        if row.version < self.version {
            // What is known is newer still.
            self.refreshed = Some(Instant::now());
            return;
        }
        self.state = match self.unwritten() {
            Some(hot) if !hot.is_in(&row.state) => hot.over(&row.state),
            _ => row.state.clone(),
        };
        self.version = row.version;
        self.refreshed = Some(Instant::now());
        self.located |= row.state.last_location.is_some();
    }

    fn ping(&mut self, fix: &LocationFix, now: OffsetDateTime, first: &AtomicBool) -> Pinged {
        if !self.located {
            first.store(true, Ordering::Relaxed);
        }
        let before = self.state.clone();
        let after = before.record_location(fix, now);
        if after != before {
            self.pending = Hot::of(&after);
            self.state = after.clone();
        }
        self.touched = Instant::now();
        Pinged { before, after }
    }
}

/// Counters of the buffer's work, for tests and operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteBehindStats {
    /// Batches that wrote (or found nothing to change).
    pub batches: u64,
    /// Rows written by batches.
    pub rows_written: u64,
    /// Batches that failed (their pings were kept for the next one).
    pub failures: u64,
    /// Drivers in the buffer.
    pub drivers: usize,
    /// Drivers with a ping not yet written.
    pub unwritten: usize,
    /// Pings written through at once because the buffer was full (none is dropped).
    pub written_through_full: u64,
    /// How long the last batch took (successful or not).
    pub last_flush: StdDuration,
    /// Copies older than `max_age` read again by the timer.
    pub copies_refreshed: u64,
    /// Pings that read their driver first (a driver new to the node, or whose copy was
    /// dropped); every other ping is answered from memory.
    pub read_on_ping: u64,
}

struct Shared {
    store: PgStore,
    config: WriteBehindConfig,
    entries: Mutex<HashMap<DriverId, Entry>>,
    /// One batch at a time (the timer's, or an explicit flush).
    batch: tokio::sync::Mutex<()>,
    stats: Mutex<WriteBehindStats>,
    /// When the batches started failing, to log the outage once.
    failing_since: Mutex<Option<Instant>>,
    /// A driver PostgreSQL has no position of has pinged: dispatch writes a batch before it
    /// looks, so a driver that just came online is found at once.
    first_positions: AtomicBool,
    /// The batch being written holds such a position: a query that comes meanwhile waits for
    /// it (the batch lock) rather than look before it commits.
    first_in_flight: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The node's unwritten ping over a stored row, and the node's copy refreshed with it.
    fn overlay(&self, row: Versioned) -> Versioned {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(&row.state.driver_id) else {
            return row;
        };
        entry.refresh(&row);
        match entry.unwritten() {
            Some(hot) if !hot.is_in(&row.state) => Versioned {
                state: hot.over(&row.state),
                version: row.version,
            },
            _ => row,
        }
    }

    fn written(&self, next: &DriverAvailability, version: u64) {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get_mut(&next.driver_id) {
            if entry.pending.is_some_and(|hot| hot.is_in(next)) {
                entry.pending = None;
            }
            entry.refresh(&Versioned {
                state: next.clone(),
                version,
            });
        }
    }

    fn invalidate(&self, driver: DriverId) {
        if let Some(entry) = lock(&self.entries).get_mut(&driver) {
            entry.refreshed = None;
        }
    }

    /// Writes every unwritten ping; returns how many rows changed.
    async fn write_batch(&self) -> Result<u64, Unexpected> {
        let _one_at_a_time = self.batch.lock().await;
        let started = Instant::now();
        let outcome = self.write_unwritten().await;
        // Written, or handed back to `first_positions` for the next batch.
        self.first_in_flight.store(false, Ordering::Relaxed);
        let took = started.elapsed();
        {
            let mut stats = lock(&self.stats);
            stats.last_flush = took;
            match outcome {
                Ok(rows) => {
                    stats.batches += 1;
                    stats.rows_written += rows;
                    metrics::flushed(rows, took);
                }
                Err(_) => {
                    stats.failures += 1;
                    metrics::failed(took);
                }
            }
        }
        {
            let entries = lock(&self.entries);
            let unwritten = entries.values().filter(|e| e.unwritten().is_some()).count();
            metrics::buffered(entries.len(), unwritten);
        }
        outcome
    }

    /// [`Self::write_batch`]'s work, with the batch lock held.
    async fn write_unwritten(&self) -> Result<u64, Unexpected> {
        let mut batch: Vec<(DriverId, Hot)> = {
            let mut entries = lock(&self.entries);
            if self.first_positions.swap(false, Ordering::Relaxed) {
                self.first_in_flight.store(true, Ordering::Relaxed);
            }
            let idle = self.config.idle;
            entries.retain(|_, e| e.unwritten().is_some() || e.touched.elapsed() < idle);
            entries
                .iter_mut()
                .filter_map(|(id, e)| {
                    let hot = e.pending.take()?;
                    e.in_flight = Some(hot);
                    Some((*id, hot))
                })
                .collect::<Vec<_>>()
        };
        // Rows locked in one order by every node: two nodes' batches that share drivers (a
        // driver with sockets on both) queue behind each other instead of deadlocking.
        batch.sort_unstable_by_key(|(id, _)| *id);
        let mut written = 0;
        for (i, chunk) in batch.chunks(BATCH_ROWS).enumerate() {
            match self.write_rows(chunk).await {
                Ok(rows) => {
                    written += rows.len() as u64;
                    let mut entries = lock(&self.entries);
                    for (id, _) in chunk {
                        if let Some(e) = entries.get_mut(id) {
                            e.in_flight = None;
                        }
                    }
                    for row in &rows {
                        if let Some(e) = entries.get_mut(&row.state.driver_id) {
                            e.refresh(row);
                        }
                    }
                }
                Err(error) => {
                    // Kept for the next batch, unless a newer ping replaced them meanwhile.
                    let mut entries = lock(&self.entries);
                    for (id, hot) in batch.iter().skip(i * BATCH_ROWS) {
                        if let Some(e) = entries.get_mut(id) {
                            e.in_flight = None;
                            e.pending = e.pending.or(Some(*hot));
                        }
                    }
                    drop(entries);
                    self.first_positions.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(written)
    }

    /// A ping of a driver beyond the bound, about to be written through (not counted with
    /// the buffer off, `max_drivers` 0).
    fn full(&self) {
        if self.config.max_drivers > 0 {
            lock(&self.stats).written_through_full += 1;
            metrics::full();
        }
    }

    async fn write_rows(&self, chunk: &[(DriverId, Hot)]) -> Result<Vec<Versioned>, Unexpected> {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut lons = Vec::with_capacity(chunk.len());
        let mut lats = Vec::with_capacity(chunk.len());
        let mut located = Vec::with_capacity(chunk.len());
        let mut seen = Vec::with_capacity(chunk.len());
        let mut stamped = Vec::with_capacity(chunk.len());
        for (id, hot) in chunk {
            ids.push(id.as_uuid());
            lons.push(hot.location.point.longitude().degrees());
            lats.push(hot.location.point.latitude().degrees());
            located.push(hot.location.at);
            seen.push(hot.seen_at);
            stamped.push(hot.stamped_at);
        }
        let rows: Vec<AvailabilityRow> = sqlx::query_as(WRITE_BATCH)
            .bind(ids)
            .bind(lons)
            .bind(lats)
            .bind(located)
            .bind(seen)
            .bind(stamped)
            .fetch_all(self.store.pool())
            .await
            .map_err(failed("writing a batch of driver positions"))?;
        rows.into_iter().map(Versioned::try_from).collect()
    }

    /// Reads again the copies older than `max_age`, [`BATCH_ROWS`] per statement. Drivers that
    /// ping at least once an interval are refreshed by the batches' `RETURNING`; this is for
    /// those that ping less often (every 4 s is common), whose next ping would otherwise read
    /// the driver first: one statement a tick for all of them instead of a round trip a ping.
    async fn refresh_old_copies(&self) -> Result<(), Unexpected> {
        let max_age = self.config.max_age;
        let old: Vec<DriverId> = lock(&self.entries)
            .iter()
            .filter(|(_, e)| e.is_old(max_age))
            .map(|(id, _)| *id)
            .collect();
        for chunk in old.chunks(BATCH_ROWS) {
            let rows = self.store.find_many(chunk).await?;
            let mut entries = lock(&self.entries);
            for row in &rows {
                if let Some(e) = entries.get_mut(&row.state.driver_id) {
                    e.refresh(row);
                }
            }
            lock(&self.stats).copies_refreshed += rows.len() as u64;
        }
        Ok(())
    }

    /// A timed batch, logging an outage once when it starts and once when it ends, then the
    /// old copies read again.
    async fn tick(&self) {
        let mut outcome = self.write_batch().await.map(drop);
        if outcome.is_ok() {
            outcome = self.refresh_old_copies().await;
        }
        let mut failing = lock(&self.failing_since);
        match (outcome, *failing) {
            (Ok(_), Some(since)) => {
                tracing::info!(
                    outage_ms = since.elapsed().as_millis() as u64,
                    "driver positions written again after PostgreSQL came back"
                );
                *failing = None;
            }
            (Err(e), None) => {
                tracing::warn!(error = %e, "driver positions not written; kept in memory, retried every interval");
                *failing = Some(Instant::now());
            }
            _ => {}
        }
    }
}

/// The [`PgStore`] with location pings written behind (see the module documentation). Cheap
/// to clone: clones share the buffer. Every port of the store is implemented; only
/// availability behaves differently.
#[derive(Clone)]
pub struct WriteBehindStore {
    store: PgStore,
    buffer: Arc<Shared>,
}

impl WriteBehindStore {
    /// Wraps `store` and starts writing batches every `config.interval` (on the current tokio
    /// runtime) until the last clone is dropped.
    pub fn start(store: PgStore, config: WriteBehindConfig) -> Self {
        let buffer = Arc::new(Shared {
            store: store.clone(),
            config,
            entries: Mutex::new(HashMap::new()),
            batch: tokio::sync::Mutex::new(()),
            stats: Mutex::new(WriteBehindStats::default()),
            failing_since: Mutex::new(None),
            first_positions: AtomicBool::new(false),
            first_in_flight: AtomicBool::new(false),
        });
        metrics::register();
        tokio::spawn(run(Arc::downgrade(&buffer), config.interval));
        Self { store, buffer }
    }

    /// The store underneath (its pool, its `EXPLAIN`).
    pub fn inner(&self) -> &PgStore {
        &self.store
    }

    /// The buffer's counters.
    pub fn stats(&self) -> WriteBehindStats {
        let mut stats = *lock(&self.buffer.stats);
        let entries = lock(&self.buffer.entries);
        stats.drivers = entries.len();
        stats.unwritten = entries.values().filter(|e| e.unwritten().is_some()).count();
        stats
    }
}

async fn run(buffer: Weak<Shared>, interval: StdDuration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(buffer) = buffer.upgrade() else {
            return;
        };
        buffer.tick().await;
    }
}

#[async_trait]
impl AvailabilityRepository for WriteBehindStore {
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected> {
        let row = AvailabilityRepository::load_or_create(&self.store, driver, now).await?;
        Ok(self.buffer.overlay(row))
    }

    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected> {
        let row = AvailabilityRepository::find(&self.store, driver).await?;
        Ok(row.map(|row| self.buffer.overlay(row)))
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        let result =
            AvailabilityRepository::compare_and_set(&self.store, expected_version, next).await;
        match &result {
            Ok(version) => self.buffer.written(next, *version),
            Err(CasError::Stale) => self.buffer.invalidate(next.driver_id),
            Err(_) => {}
        }
        result
    }

    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: Duration,
        limit: usize,
    ) -> Result<Vec<Versioned>, Unexpected> {
        let rows = AvailabilityRepository::list_stale(&self.store, now, ttl, limit).await?;
        // A driver that pinged here since the last batch is not silent.
        Ok(rows
            .into_iter()
            .map(|row| self.buffer.overlay(row))
            .filter(|row| row.state.is_stale(now, ttl))
            .collect())
    }

    /// Over the positions in PostgreSQL: at most one interval (plus a batch's duration) older
    /// than the pings accepted, on this node and every other. When a driver this node heard
    /// has no position in PostgreSQL yet (it just came online), a batch is written first, or
    /// the one already writing it is waited for.
    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected> {
        let first = self.buffer.first_positions.load(Ordering::Relaxed)
            || self.buffer.first_in_flight.load(Ordering::Relaxed);
        if first && let Err(e) = self.buffer.write_batch().await {
            tracing::debug!(error = %e, "positions not written before a nearest-driver query");
        }
        AvailabilityRepository::nearest_available(&self.store, query).await
    }

    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        let online = AvailabilityRepository::list_online(&self.store).await?;
        let entries = lock(&self.buffer.entries);
        Ok(online
            .into_iter()
            .map(|state| match entries.get(&state.driver_id) {
                Some(e) => match e.unwritten() {
                    Some(hot) if !hot.is_in(&state) => hot.over(&state),
                    _ => state,
                },
                None => state,
            })
            .collect())
    }

    /// From this node's copy of the driver (the timer keeps it at most `max_age` old); the
    /// driver is read first only when the node has no copy, or dropped it after a lost
    /// compare-and-set, or the buffer is full. While PostgreSQL does not answer, a driver the
    /// node knows is still acked from its copy; one it has never seen fails.
    async fn record_location(
        &self,
        driver: DriverId,
        fix: &LocationFix,
        now: OffsetDateTime,
    ) -> Result<Pinged, Unexpected> {
        let full = {
            let mut entries = lock(&self.buffer.entries);
            match entries.get_mut(&driver) {
                Some(entry) if entry.refreshed.is_some() => {
                    return Ok(entry.ping(fix, now, &self.buffer.first_positions));
                }
                Some(_) => false,
                None => entries.len() >= self.buffer.config.max_drivers,
            }
        };
        if full {
            // This driver's pings are written through, as without the buffer.
            self.buffer.full();
            return AvailabilityRepository::record_location(&self.store, driver, fix, now).await;
        }
        lock(&self.buffer.stats).read_on_ping += 1;
        let loaded = AvailabilityRepository::load_or_create(&self.store, driver, now).await;
        let accepted = {
            let mut entries = lock(&self.buffer.entries);
            let room = entries.len() < self.buffer.config.max_drivers;
            match (loaded, entries.get_mut(&driver)) {
                (Ok(row), Some(entry)) => {
                    entry.refresh(&row);
                    Some(Ok(entry.ping(fix, now, &self.buffer.first_positions)))
                }
                (Ok(row), None) if room => Some(Ok(entries
                    .entry(driver)
                    .or_insert(Entry::new(row))
                    .ping(fix, now, &self.buffer.first_positions))),
                // Full: this driver's pings are written through, as without the buffer.
                (Ok(_), None) => None,
                (Err(_), Some(entry)) => {
                    Some(Ok(entry.ping(fix, now, &self.buffer.first_positions)))
                }
                (Err(error), None) => Some(Err(error)),
            }
        };
        match accepted {
            Some(outcome) => outcome,
            None => {
                self.buffer.full();
                AvailabilityRepository::record_location(&self.store, driver, fix, now).await
            }
        }
    }

    /// Writes every ping accepted so far (a batch now).
    async fn flush(&self) -> Result<(), Unexpected> {
        self.buffer.write_batch().await.map(drop)
    }
}
