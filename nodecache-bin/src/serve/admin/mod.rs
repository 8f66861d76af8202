//! The admin listener: `/metrics` (Prometheus text, CoreDNS-compatible names), `/health`,
//! `/ready`. SKELETON: the admin work fills in the HTTP handling and the rendering.

use std::sync::Arc;

use crate::serve::health::Health;
use crate::serve::metrics::Metrics;

/// Serves admin requests on `listener` (bound by `sockets::bind_tcp`) until the runtime
/// shuts down.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) {
    let _ = (listener, metrics, health);
    std::future::pending::<()>().await;
}
