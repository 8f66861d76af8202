//! `nodecache`: node-local DNS cache daemon and resolver diagnostics. The code is in the
//! crate's library (`lib.rs`), so that the fuzz targets can reach the daemon's packet path.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    nodecache_bin::main()
}
