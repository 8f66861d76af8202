//! Entry point for the criterion benches in `nodecache-bin/benches/` (not an API; see
//! `serve::bench`).

pub use crate::serve::bench::{HitPath, WarmError};
