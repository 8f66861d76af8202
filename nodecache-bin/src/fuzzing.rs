//! Entry points for the fuzz targets in `fuzz/` (not an API; see `serve::fuzzing`).

pub use crate::serve::fuzzing::{FuzzSetupError, PacketPath, QueryOutcome};
