//! Nanoseconds per domain command: the availability rules, restoring a stored record, and the
//! haversine distance. Run with `cargo bench -p rodando-domain --bench rules` (about half a
//! minute); add `-- --quick` for a rougher, faster pass.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{Criterion, criterion_group, criterion_main};
use rodando_domain::availability::{DriverAvailability, LocationFix, StatusCommand, TripStanding};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, TripId};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
}

fn driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001))
}

fn trip() -> TripId {
    TripId::from_uuid(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002))
}

fn havana() -> GeoPoint {
    GeoPoint::from_degrees(23.1136, -82.3666).unwrap()
}

fn fix() -> LocationFix {
    LocationFix {
        point: havana(),
        accuracy_m: Some(5.0),
        heading_deg: Some(90.0),
        speed_kph: Some(30.0),
        recorded_at: Some(t0() + Duration::seconds(59)),
    }
}

/// Offline, never seen.
fn offline() -> DriverAvailability {
    DriverAvailability::new_offline(driver(), t0())
}

/// Online, available, with a position.
fn available() -> DriverAvailability {
    offline()
        .set_status(StatusCommand::Available, TripStanding::External, t0())
        .unwrap()
        .record_location(&fix(), t0() + Duration::seconds(1))
}

/// Online, holding a trip handled elsewhere.
fn on_trip() -> DriverAvailability {
    available()
        .set_trip(
            trip(),
            TripStanding::External,
            TripStanding::External,
            t0() + Duration::seconds(2),
        )
        .unwrap()
}

fn availability_rules(c: &mut Criterion) {
    let now = t0() + Duration::seconds(60);
    let ext = TripStanding::External;
    let (off, avail, busy_trip) = (offline(), available(), on_trip());

    let mut g = c.benchmark_group("set_status");
    g.bench_function("available_from_offline", |b| {
        b.iter(|| black_box(&off).set_status(black_box(StatusCommand::Available), ext, now))
    });
    g.bench_function("busy_from_available", |b| {
        b.iter(|| black_box(&avail).set_status(black_box(StatusCommand::Busy), ext, now))
    });
    g.bench_function("offline_from_available", |b| {
        b.iter(|| black_box(&avail).set_status(black_box(StatusCommand::Offline), ext, now))
    });
    g.finish();

    let fix = fix();
    c.bench_function("record_location", |b| {
        b.iter(|| black_box(&avail).record_location(black_box(&fix), now))
    });

    let mut g = c.benchmark_group("trip");
    g.bench_function("set_trip", |b| {
        b.iter(|| black_box(&avail).set_trip(black_box(trip()), ext, ext, now))
    });
    g.bench_function("clear_trip", |b| {
        b.iter(|| black_box(&busy_trip).clear_trip(ext, now))
    });
    g.finish();

    let ttl = Duration::seconds(120);
    let mut g = c.benchmark_group("sweep");
    g.bench_function("stale_goes_offline", |b| {
        let later = now + Duration::seconds(600);
        b.iter(|| black_box(&avail).sweep(black_box(later), ttl))
    });
    g.bench_function("fresh_stays", |b| {
        b.iter(|| black_box(&avail).sweep(black_box(now), ttl))
    });
    g.finish();

    let record = avail.clone().into_record();
    c.bench_function("restore", |b| {
        b.iter(|| DriverAvailability::restore(black_box(record.clone())))
    });
}

fn geo(c: &mut Criterion) {
    let (a, b) = (havana(), GeoPoint::from_degrees(23.1540, -81.2448).unwrap());
    c.bench_function("distance_m", |bench| {
        bench.iter(|| black_box(&a).distance_m(black_box(&b)))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = availability_rules, geo
}
criterion_main!(benches);
