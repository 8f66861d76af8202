//! `nodecache serve`: the node-local caching daemon (SPEC §3, §5; issue 4).
//!
//! Start-up order (like node-cache, NOTES): configuration → node setup (interface) → runtime
//! → bind every socket (a failure is one line and exit 1) → forwarder and serving tasks →
//! iptables rules → ready. On SIGTERM/SIGINT: not ready, stop reading, drain, tear down.

mod acl;
mod admin;
pub(crate) mod bench;
mod cache;
mod config;
mod drain;
mod forward;
mod free_list;
pub(crate) mod fuzzing;
mod health;
mod listeners;
mod message;
mod metrics;
mod responder;
mod runtime;
mod setup;
mod signals;
mod sockets;
mod tcp;
mod udp;

use std::time::Duration;

use crate::cli::{EXIT_USAGE, ServeArgs};

/// Exit code for start-up failures (SPEC §3).
const EXIT_FAILURE: u8 = 1;

/// How long the runtime's worker tasks get to notice shutdown after draining (the last
/// replies are being written; nothing else is waited for).
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(200);

/// Runs the daemon; returns the exit code.
pub(crate) fn run(args: &ServeArgs) -> u8 {
    let config = match config::ServeConfig::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("nodecache serve: {error}");
            return EXIT_USAGE;
        }
    };
    if config::ServeConfig::check_requested(args) {
        print!("{}", config.describe());
        return 0;
    }
    let mut setup = match setup::NodeSetup::prepare(&config) {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("nodecache serve: node setup: {error}");
            return if error.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers.max(1))
        .thread_name("nodecache-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("nodecache serve: cannot start the runtime: {error}");
            setup.teardown();
            return EXIT_FAILURE;
        }
    };
    let sockets = match listeners::BoundSockets::bind(&config) {
        Ok(sockets) => sockets,
        Err(error) => {
            eprintln!("nodecache serve: {error}");
            setup.teardown();
            return EXIT_FAILURE;
        }
    };
    let code = runtime.block_on(runtime::serve(args, config, sockets, &mut setup));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    setup.teardown();
    code
}
