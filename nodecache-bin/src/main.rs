//! `nodecache`: see `cli.rs` for the commands.
#![forbid(unsafe_code)]

fn main() {}
