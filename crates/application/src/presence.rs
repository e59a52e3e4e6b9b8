//! The presence sweeper: drivers that fell silent are taken offline so dispatch never offers a
//! trip to a phone that is off.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use rodando_ports::Unexpected;
use rodando_ports::availability::{AvailabilityRepository, CasError};
use rodando_ports::clock::Clock;
use rodando_ports::notifier::Notifier;
use time::Duration;
use tokio_util::sync::CancellationToken;

/// Sweeper settings (`DA_PRESENCE_TTL_SEC`, `DA_SWEEP_INTERVAL_SEC`, `DA_SWEEP_BATCH`).
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// Silence after which an online driver without a trip goes offline.
    pub presence_ttl: Duration,
    /// Time between sweeps.
    pub interval: StdDuration,
    /// Drivers handled per batch; a sweep runs batches until one comes back short.
    pub batch: usize,
}

service! {
    /// Takes stale drivers offline.
    pub struct PresenceSweeper {
        repo: Arc<dyn AvailabilityRepository>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        config: SweepConfig,
    }
}

impl PresenceSweeper {
    /// One sweep: every stale driver goes offline (batch by batch) with a
    /// `driver:availability:update` each. A driver that pinged meanwhile loses the
    /// compare-and-set race and is left alone. Returns how many were swept.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails; drivers swept before the failure stay swept.
    pub async fn sweep(&self) -> Result<usize, Unexpected> {
        let mut swept = 0;
        loop {
            let now = self.clock.now();
            let batch = self
                .repo
                .list_stale(now, self.config.presence_ttl, self.config.batch)
                .await?;
            let full = batch.len() >= self.config.batch;
            let mut swept_in_batch = 0;
            for row in batch {
                let Some(next) = row.state.sweep(now, self.config.presence_ttl) else {
                    continue;
                };
                match self.repo.compare_and_set(row.version, &next).await {
                    Ok(_) => {
                        swept_in_batch += 1;
                        tracing::info!(driver_id = %next.driver_id, "driver swept offline after silence");
                        if let Err(e) = self.notifier.driver_availability_changed(&next).await {
                            tracing::warn!(driver_id = %next.driver_id, error = %e, "sweep stored but not broadcast");
                        }
                    }
                    Err(CasError::Stale | CasError::TripHeldByAnother) => {}
                    Err(CasError::Unexpected(e)) => return Err(e),
                }
            }
            swept += swept_in_batch;
            // A full batch in which nothing could be swept would repeat forever.
            if !full || swept_in_batch == 0 {
                return Ok(swept);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Sweeps every interval until `shutdown` is cancelled; a failed sweep is logged and the
    /// next one runs on time.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(self.config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => {
                    if let Err(e) = self.sweep().await {
                        tracing::error!(error = ?e, "presence sweep failed");
                    }
                }
            }
        }
        tracing::debug!("presence sweeper stopped");
    }
}
