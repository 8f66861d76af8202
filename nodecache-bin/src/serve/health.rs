//! Liveness and readiness as the admin listener reports them (`/health`, `/ready`).

use std::sync::atomic::{AtomicBool, Ordering};

/// Shared state behind `/health` and `/ready`.
#[derive(Debug, Default)]
pub(crate) struct Health {
    ready: AtomicBool,
    draining: AtomicBool,
}

impl Health {
    /// Every listener is bound and serving.
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }
    /// SIGTERM arrived: `/ready` turns 503 at once so load balancers stop sending.
    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
    /// `/ready` answers 200.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.draining.load(Ordering::SeqCst)
    }
    /// Shutting down.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
