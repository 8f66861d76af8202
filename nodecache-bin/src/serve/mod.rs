//! `nodecache serve`: the node-local caching daemon (SPEC §3, §5; issue 4).
//!
//! SKELETON: only configuration is wired; the serving work fills in the runtime.

#![allow(dead_code)] // Skeleton: the issue 4 work wires every part in and drops this.

mod admin;
mod cache;
mod config;
mod forward;
mod health;
mod message;
mod metrics;
mod setup;
mod sockets;

use crate::cli::{EXIT_USAGE, ServeArgs};

/// Runs the daemon; returns the exit code.
pub(crate) fn run(args: &ServeArgs) -> u8 {
    let config = match config::ServeConfig::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("nodecache serve: {error}");
            return EXIT_USAGE;
        }
    };
    let _ = config;
    eprintln!("nodecache serve: the daemon is not implemented yet (tracked as issue 4)");
    1
}
