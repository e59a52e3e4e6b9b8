//! What the write-behind buffer counts for `GET /metrics`, through the `metrics` facade (the
//! app installs the Prometheus recorder; without one these calls do nothing). Labels: none, so
//! the series are few whatever the fleet is.

/// Drivers in this node's buffer (known to the node, written or not), after each batch.
pub const DRIVERS: &str = "rodando_position_buffer_drivers";
/// Positions accepted by this node and not yet in PostgreSQL, after each batch.
pub const UNWRITTEN: &str = "rodando_position_buffer_unwritten";
/// Batches that wrote (or found nothing to change).
pub const FLUSHES: &str = "rodando_position_flushes_total";
/// Rows the batches changed.
pub const ROWS: &str = "rodando_position_rows_written_total";
/// Batches that failed (their positions were kept for the next one).
pub const FAILURES: &str = "rodando_position_flush_failures_total";
/// Pings of drivers beyond `DATABASE_POSITION_BUFFER`: not buffered but written through at
/// once (two round trips), as with the buffer off. Nothing is dropped.
pub const FULL: &str = "rodando_position_buffer_full_total";
/// How long batches took, successful or not.
pub const FLUSH_SECONDS: &str = "rodando_position_flush_duration_seconds";
/// How long the last batch took.
pub const LAST_FLUSH_SECONDS: &str = "rodando_position_last_flush_duration_seconds";

#[allow(clippy::cast_precision_loss)] // a count of drivers is far below 2^52
pub(super) fn buffered(drivers: usize, unwritten: usize) {
    metrics::gauge!(DRIVERS).set(drivers as f64);
    metrics::gauge!(UNWRITTEN).set(unwritten as f64);
}

pub(super) fn flushed(rows: u64, took: std::time::Duration) {
    metrics::counter!(FLUSHES).increment(1);
    metrics::counter!(ROWS).increment(rows);
    timed(took);
}

pub(super) fn failed(took: std::time::Duration) {
    metrics::counter!(FAILURES).increment(1);
    timed(took);
}

pub(super) fn full() {
    metrics::counter!(FULL).increment(1);
}

fn timed(took: std::time::Duration) {
    metrics::histogram!(FLUSH_SECONDS).record(took.as_secs_f64());
    metrics::gauge!(LAST_FLUSH_SECONDS).set(took.as_secs_f64());
}

/// Registers every series at 0, so a scrape shows them (a failure counter that is there and 0
/// says more than one that is missing).
pub(super) fn register() {
    for counter in [FLUSHES, ROWS, FAILURES, FULL] {
        metrics::counter!(counter).increment(0);
    }
    buffered(0, 0);
}
