//! The serving phase inside the tokio runtime: start every task, report ready, run until a
//! stop signal, then drain.

use std::fmt::Write as _;
use std::sync::Arc;

use tokio::sync::watch;

use crate::cli::ServeArgs;
use crate::serve::config::ServeConfig;
use crate::serve::forward::Forwarder;
use crate::serve::health::Health;
use crate::serve::listeners::{BoundSockets, register_tcp};
use crate::serve::metrics::Metrics;
use crate::serve::responder::Responder;
use crate::serve::setup::NodeSetup;
use crate::serve::signals::{Signals, describe_upstreams, run_until_stopped};
use crate::serve::tcp::{TcpLimits, serve_tcp};
use crate::serve::udp::workers::UdpWorkers;
use crate::serve::{EXIT_FAILURE, admin};

/// Serves with the bound `sockets` until SIGTERM/SIGINT, then stops reading, waits up to
/// `drain_timeout` for the queries in flight, and returns the exit code. The caller tears
/// the node setup down afterwards.
pub(crate) async fn serve(
    args: &ServeArgs,
    mut config: ServeConfig,
    sockets: BoundSockets,
    setup: &mut NodeSetup,
) -> u8 {
    let metrics = Arc::new(Metrics::default());
    if let Some(&first) = config.listen.first() {
        metrics.set_server(first);
    }
    let health = Arc::new(Health::default());
    let forwarder = match Forwarder::new(&config, Arc::clone(&metrics)) {
        Ok(forwarder) => Arc::new(forwarder),
        Err(error) => {
            eprintln!("nodecache serve: cannot start the forwarder: {error}");
            return EXIT_FAILURE;
        }
    };
    let mut signals = match Signals::register() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("nodecache serve: cannot handle signals: {error}");
            return EXIT_FAILURE;
        }
    };
    let responder = Arc::new(Responder::new(
        &config,
        Arc::clone(&forwarder),
        Arc::clone(&metrics),
    ));
    let (stop, stopped) = watch::channel(false);
    let udp_per_addr = config.workers.max(1);
    let mut udp_workers =
        match spawn_listeners(sockets, &config, &responder, &metrics, &health, &stopped).await {
            Ok(workers) => workers,
            Err(error) => {
                eprintln!("nodecache serve: {error}");
                return EXIT_FAILURE;
            }
        };
    if let Err(error) = setup.install_rules() {
        eprintln!("nodecache serve: node setup: {error}");
        let _ = stop.send(true);
        return EXIT_FAILURE;
    }
    health.set_ready();
    eprintln!(
        "nodecache serve: listening on {} (UDP x{udp_per_addr}, TCP), metrics on {}, upstreams {}",
        describe_listen(&config),
        config.metrics,
        describe_upstreams(&config.upstreams)
    );

    let reason = run_until_stopped(&mut signals, args, &mut config, &forwarder, setup).await;
    // Readiness first, so load balancers stop sending; then stop reading new queries.
    health.set_draining();
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + config.drain_timeout;
    // The UDP tasks hand their share of the SO_REUSEPORT groups over and answer what the
    // kernel had already queued for them (udp::hand_over); only then is the drain about the
    // misses in flight.
    let handed_over = tokio::time::timeout_at(deadline, udp_workers.served())
        .await
        .is_ok();
    if !handed_over {
        eprintln!("nodecache serve: UDP hand-over still running at the drain deadline");
    }
    let in_flight = responder.in_flight();
    let waiting = in_flight.count();
    let drained = tokio::time::timeout_at(deadline, in_flight.wait_idle())
        .await
        .is_ok();
    let left = if drained {
        String::new()
    } else {
        format!(
            ", {} still in flight after {:?}",
            in_flight.count(),
            config.drain_timeout
        )
    };
    eprintln!("nodecache serve: {reason}: stopped ({waiting} queries were in flight{left})");
    // Only now: TCP clients' misses may have used upstream sockets a UDP worker opened.
    let _ = tokio::task::spawn_blocking(move || udp_workers.finish()).await;
    0
}

/// Starts the UDP workers and spawns the TCP and admin tasks on this runtime; returns the
/// UDP workers, whose serving tasks the drain waits for.
async fn spawn_listeners(
    sockets: BoundSockets,
    config: &ServeConfig,
    responder: &Arc<Responder>,
    metrics: &Arc<Metrics>,
    health: &Arc<Health>,
    stopped: &watch::Receiver<bool>,
) -> Result<UdpWorkers, crate::serve::listeners::BindError> {
    let udp_workers = UdpWorkers::start(sockets.udp, responder, stopped).await?;
    let limits = Arc::new(TcpLimits::new(&config.client_tcp));
    for (addr, listener) in sockets.tcp {
        let listener = register_tcp(addr, listener)?;
        tokio::spawn(serve_tcp(
            listener,
            Arc::clone(responder),
            Arc::clone(&limits),
            Arc::clone(metrics),
            stopped.clone(),
        ));
    }
    tokio::spawn(admin::serve(
        sockets.admin,
        Arc::clone(metrics),
        Arc::clone(health),
    ));
    Ok(udp_workers)
}

/// `127.0.0.1:5353, 169.254.20.10:53` for the ready line.
fn describe_listen(config: &ServeConfig) -> String {
    let mut text = String::new();
    for (i, addr) in config.listen.iter().enumerate() {
        let _ = write!(text, "{}{addr}", if i == 0 { "" } else { ", " });
    }
    text
}
