//! The daemon's life after start-up: periodic node-setup resync, SIGHUP reloads, and
//! SIGTERM/SIGINT to stop.

use std::fmt::Write as _;
use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::ServeArgs;
use crate::serve::config::{ServeConfig, ZoneUpstream};
use crate::serve::forward::Forwarder;
use crate::serve::setup::NodeSetup;

/// The signals the daemon handles, registered before it reports ready (until then the
/// default action of SIGTERM, exit, is right anyway).
#[derive(Debug)]
pub(crate) struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    /// Registers handlers for SIGTERM, SIGINT and SIGHUP.
    pub(crate) fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

/// Why the daemon stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::Terminate => "SIGTERM",
            StopReason::Interrupt => "SIGINT",
        })
    }
}

/// Runs until SIGTERM or SIGINT: re-checks the node setup every `sync_interval`, and on
/// SIGHUP re-reads the configuration and hands new upstreams to the forwarder.
pub(crate) async fn run_until_stopped(
    signals: &mut Signals,
    args: &ServeArgs,
    config: &mut ServeConfig,
    forwarder: &Arc<Forwarder>,
    setup: &mut NodeSetup,
) -> StopReason {
    let period = config.sync_interval.max(std::time::Duration::from_secs(1));
    let mut resync = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = signals.terminate.recv() => return StopReason::Terminate,
            _ = signals.interrupt.recv() => return StopReason::Interrupt,
            _ = signals.hangup.recv() => reload(args, config, forwarder),
            _ = resync.tick() => {
                if let Err(error) = setup.resync() {
                    eprintln!("nodecache serve: node setup resync failed: {error}");
                }
            }
        }
    }
}

/// SIGHUP: re-reads flags, file and resolv.conf. On success the forwarder gets the new
/// upstreams; settings that need new sockets or a new cache are reported, not applied. On
/// error the running configuration stays.
fn reload(args: &ServeArgs, config: &mut ServeConfig, forwarder: &Forwarder) {
    let new = match ServeConfig::from_args(args) {
        Ok(new) => new,
        Err(error) => {
            eprintln!("nodecache serve: SIGHUP: configuration not reloaded: {error}");
            return;
        }
    };
    if new.upstreams == config.upstreams {
        eprintln!("nodecache serve: SIGHUP: upstreams unchanged");
    } else {
        forwarder.replace_upstreams(&new.upstreams);
        eprintln!(
            "nodecache serve: SIGHUP: upstreams {} -> {}",
            describe_upstreams(&config.upstreams),
            describe_upstreams(&new.upstreams)
        );
    }
    let restart_only = ServeConfig {
        upstreams: config.upstreams.clone(),
        ..new.clone()
    };
    if restart_only != *config {
        eprintln!("nodecache serve: SIGHUP: other settings changed; they apply after a restart");
    }
    config.upstreams = new.upstreams;
}

/// `. = 198.18.0.53:53, 198.18.0.54:53; cluster.local. = … (tcp)`.
pub(crate) fn describe_upstreams(upstreams: &[ZoneUpstream]) -> String {
    let mut text = String::new();
    for (i, zone) in upstreams.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        let _ = write!(text, "{} =", zone.zone);
        for (j, server) in zone.servers.iter().enumerate() {
            let _ = write!(text, "{}{server}", if j == 0 { " " } else { ", " });
        }
        if zone.force_tcp {
            text.push_str(" (tcp)");
        }
    }
    text
}
