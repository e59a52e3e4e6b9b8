//! # rodando-toolkit
//!
//! The pieces the load generator (`rodando-loadgen`), the city simulator (`rodando-sim`) and the
//! tests share, written once:
//!
//! - [`api`]: the REST client of the contract's login, refresh and trip steps (PROTOCOL §2);
//! - [`mint`]: access tokens signed locally through `rodando-adapter-jwt`, the server's own
//!   token service, for servers that only check signatures;
//! - [`rng`]: seeded, independent random streams over `rand`'s `StdRng`;
//! - [`stats`]: latency percentiles over HDR histograms (`hdrhistogram`): bounded memory however
//!   long the run.

pub mod api;
pub mod mint;
pub mod rng;
pub mod stats;
