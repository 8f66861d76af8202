//! `nodecache serve`: the node-local caching daemon (issue 4).

use crate::cli::ServeArgs;

/// Not built yet: says so plainly instead of pretending to serve.
pub(crate) fn run(_args: &ServeArgs) -> u8 {
    eprintln!("nodecache serve: the daemon is not implemented yet (tracked as issue 4)");
    1
}
