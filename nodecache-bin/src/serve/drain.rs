//! Counting client queries in flight, so SIGTERM can let them finish (up to the drain
//! timeout) after the listeners stop reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Client queries waiting for an upstream answer now.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One query in flight; dropping it (the reply was sent, or the task ended) ends it.
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    /// Counts a query in until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    /// Queries in flight now.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Resolves once no query is in flight.
    pub(crate) async fn wait_idle(&self) {
        loop {
            // Register before checking, so a guard dropped in between still wakes us.
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn wait_idle_returns_when_the_last_guard_drops() {
        let in_flight = Arc::new(InFlight::default());
        in_flight.wait_idle().await;
        let guards: Vec<_> = (0..3).map(|_| in_flight.enter()).collect();
        assert_eq!(in_flight.count(), 3);
        let waiter = tokio::spawn({
            let in_flight = Arc::clone(&in_flight);
            async move { in_flight.wait_idle().await }
        });
        for guard in guards {
            assert!(!waiter.is_finished());
            drop(guard);
        }
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(in_flight.count(), 0);
    }
}
