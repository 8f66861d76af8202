//! The C test programs of `tests/c/`, compiled with `gcc` (glibc) or `musl-gcc` (musl) into a
//! temporary directory, and run in a namespace with or without the shim preloaded.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::netns::ADMIN_TIMEOUT;
use crate::process::run;
use crate::{Error, Libc, Netns, Result, RunOutput, Shim};

/// `tests/c/` of the workspace, where the C programs' sources are.
pub fn c_sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/c")
}

/// One compiled C program, deleted with its temporary directory on drop.
#[derive(Debug)]
pub struct CProgram {
    path: PathBuf,
    libc: Libc,
    _dir: tempfile::TempDir,
}

impl CProgram {
    /// Compiles `tests/c/<name>.c` for `libc` (`-O2 -g -Wall -pthread`, linked with libdl for
    /// `load.c`; `-g` so valgrind names lines).
    pub fn build(libc: Libc, name: &str) -> Result<Self> {
        let source = c_sources_dir().join(format!("{name}.c"));
        if !source.is_file() {
            return Err(Error::Missing {
                what: format!("C source {}", source.display()),
                hint: "git checkout tests/c".to_owned(),
            });
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("nodecache-c-{}-", libc.name()))
            .tempdir()
            .map_err(|e| Error::io("creating a directory for a C program", e))?;
        let path = dir.path().join(format!("{name}-{}", libc.name()));
        let mut cmd = Command::new(libc.compiler());
        cmd.args(["-O2", "-g", "-Wall", "-Wextra", "-pthread", "-o"])
            .arg(&path)
            .arg(&source)
            .arg("-ldl");
        run(cmd, ADMIN_TIMEOUT)?.ok()?;
        Ok(Self {
            path,
            libc,
            _dir: dir,
        })
    }

    /// The executable.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The libc it is linked against.
    pub fn libc(&self) -> Libc {
        self.libc
    }

    /// Runs it in `ns` with `args`, plus `LD_PRELOAD=<shim>` when a shim is given (only that
    /// program gets it, not `ip`).
    pub fn run<S: AsRef<OsStr>>(
        &self,
        ns: &Netns,
        shim: Option<&Shim>,
        args: &[S],
        timeout: Duration,
    ) -> Result<RunOutput> {
        let env: Vec<(String, String)> = shim.map(Shim::preload_env).into_iter().collect();
        ns.exec_env(&env, &self.path, args, timeout)
    }
}
