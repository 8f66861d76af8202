//! Helpers of the shim tests (`shim_*.rs`): finding both builds of `libnodecache.so` and
//! skipping while only the stub crate exists.
//!
//! Until `resolver-ffi` exports `getaddrinfo` (the stub exports nothing) the tests that need
//! the real shim print `skipped: <test>: shim not built yet` and pass, so the suite stays green;
//! once the symbol is there they run. A missing build is a failure naming the cargo command
//! (scripts/test.sh builds both).
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.

use testbed::{Libc, Shim};

/// Programs the shim tests run besides the test bed's own.
pub const SHIM_TOOLS: &[&str] = &["gcc", "musl-gcc", "nm", "readelf"];

/// The glibc and musl builds of the shim.
#[derive(Debug)]
pub struct Shims {
    pub glibc: Shim,
    pub musl: Shim,
}

impl Shims {
    /// The build for `libc`.
    pub fn for_libc(&self, libc: Libc) -> &Shim {
        match libc {
            Libc::Glibc => &self.glibc,
            Libc::Musl => &self.musl,
        }
    }
}

/// Finds a build of the shim; panics with the cargo command when there is none.
pub fn find_shim(libc: Libc) -> Shim {
    Shim::find(libc).unwrap_or_else(|e| panic!("{e}"))
}

/// Both builds, when they are the real shim. `None` (after printing `skipped: …`) while
/// `resolver-ffi` is still the stub. A glibc build that interposes beside a musl build that
/// does not is a stale musl build: that panics.
pub fn real_shims(test: &str) -> Option<Shims> {
    let glibc = find_shim(Libc::Glibc);
    let musl = find_shim(Libc::Musl);
    let real = |shim: &Shim| {
        shim.interposes_getaddrinfo()
            .unwrap_or_else(|e| panic!("reading the symbols of {}: {e}", shim.path().display()))
    };
    match (real(&glibc), real(&musl)) {
        (true, true) => {
            println!(
                "shims under test: {} and {}",
                glibc.path().display(),
                musl.path().display()
            );
            Some(Shims { glibc, musl })
        }
        (false, false) => {
            println!(
                "skipped: {test}: shim not built yet ({} exports no getaddrinfo)",
                glibc.path().display()
            );
            None
        }
        (glibc_real, _) => panic!(
            "{test}: only the {} build exports getaddrinfo: rebuild the other with `{}`",
            if glibc_real { "glibc" } else { "musl" },
            if glibc_real {
                Libc::Musl.build_command()
            } else {
                Libc::Glibc.build_command()
            }
        ),
    }
}

/// `LD_PRELOAD` of `shim` plus `extra` variables, for [`testbed::Netns::exec_env`].
pub fn preload_env(shim: &Shim, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![shim.preload_env()];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}
