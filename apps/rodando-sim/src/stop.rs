//! The run's stop signals: a `watch` of `bool` that turns true once, telling actors to wind down.

use tokio::sync::watch;

/// Resolves once `stop` is (or turns) true, or its sender is gone. The borrow of the value ends
/// inside, so the future stays `Send` across the awaits of a `select!`.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn resolves_when_the_signal_turns_true_or_its_sender_is_gone() {
        let (tx, mut rx) = watch::channel(false);
        let pending = tokio::time::timeout(Duration::from_millis(20), stopped(&mut rx)).await;
        assert!(pending.is_err(), "not stopped yet");
        tx.send_replace(true);
        stopped(&mut rx).await;
        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        stopped(&mut rx).await;
    }
}
