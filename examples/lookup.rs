//! Resolving names from a Rust service with `resolver-core`.
//!
//! ```text
//! cargo run -p resolver-core --example lookup -- web.default 8080
//! ```
//! Prints the socket addresses to connect to, then looks the name up again to show the warm
//! cache (no query sent) and the resolver's counters.

use std::time::Instant;

use resolver_core::Resolver;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(host) = args.next() else {
        eprintln!("usage: lookup HOST [PORT]");
        std::process::exit(64);
    };
    let port = match args.next().map(|p| p.parse::<u16>()) {
        None => 80,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("lookup: PORT must be a number from 0 to 65535");
            std::process::exit(64);
        }
    };
    // System resolv.conf, hosts and nsswitch; NODECACHE_CACHE / NODECACHE_SEARCH honoured.
    let resolver = Resolver::from_system();
    match resolver.lookup_socket_addrs(&host, port) {
        Ok(addrs) => addrs.iter().for_each(|addr| println!("{addr}")),
        Err(error) => {
            eprintln!("lookup: {host}: {error}");
            std::process::exit(if error.is_not_found() { 2 } else { 1 });
        }
    }
    let started = Instant::now();
    let _ = resolver.lookup_ip(&host);
    eprintln!(
        "warm lookup: {:?}; {:?}",
        started.elapsed(),
        resolver.stats()
    );
}
