//! Finding the built `libnodecache.so` (glibc and musl builds) and telling the real shim from
//! the stub crate.
//!
//! Cargo puts the glibc build in `<target>/{release,debug}/` and the musl build (SPEC §3) in
//! `<target>/x86_64-unknown-linux-musl/{release,debug}/`. `<target>` is `CARGO_TARGET_DIR`
//! when set, else the directory the running test binary was built in (`<target>/debug/deps/`),
//! else the workspace's `target/`. Among the files found the newest wins, so a fresh debug
//! build is not shadowed by an old release one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::netns::ADMIN_TIMEOUT;
use crate::process::run;
use crate::{Error, Result};

/// File name of the shim (the `resolver-ffi` crate's cdylib, `[lib] name = "nodecache"`).
pub const SHIM_FILE: &str = "libnodecache.so";
/// The musl target of SPEC §3.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// The glibc target, where cargo puts it when `--target` is given explicitly.
const GLIBC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// A C library: what a program is linked against, and which shim build it can preload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Libc {
    /// GNU libc (Debian's, the host's); programs built with `gcc`.
    Glibc,
    /// musl (Debian's musl 1.2.3); programs built with `musl-gcc`.
    Musl,
}

impl Libc {
    /// The compiler driver that links against this libc.
    pub fn compiler(self) -> &'static str {
        match self {
            Self::Glibc => "gcc",
            Self::Musl => "musl-gcc",
        }
    }

    /// "glibc" or "musl", for messages and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Glibc => "glibc",
            Self::Musl => "musl",
        }
    }

    /// Environment variable that names the shim build explicitly, overriding the search.
    pub fn override_env(self) -> &'static str {
        match self {
            Self::Glibc => "NODECACHE_SHIM_GLIBC",
            Self::Musl => "NODECACHE_SHIM_MUSL",
        }
    }

    /// The cargo command that builds this libc's shim.
    pub fn build_command(self) -> &'static str {
        match self {
            Self::Glibc => "cargo build --release -p resolver-ffi",
            Self::Musl => {
                "cargo build --release -p resolver-ffi --target x86_64-unknown-linux-musl"
            }
        }
    }

    /// Directories below a target dir where cargo puts this libc's build.
    fn profile_dirs(self) -> Vec<PathBuf> {
        let triples: &[Option<&str>] = match self {
            Self::Glibc => &[None, Some(GLIBC_TARGET)],
            Self::Musl => &[Some(MUSL_TARGET)],
        };
        let mut dirs = Vec::new();
        for triple in triples {
            for profile in ["release", "debug"] {
                let base = triple.map_or_else(PathBuf::new, PathBuf::from);
                dirs.push(base.join(profile));
            }
        }
        dirs
    }
}

/// A built `libnodecache.so`.
#[derive(Debug, Clone)]
pub struct Shim {
    path: PathBuf,
    libc: Libc,
}

impl Shim {
    /// The newest build for `libc` (see the module docs), or the file named by
    /// [`Libc::override_env`]. [`Error::Missing`] lists where it looked.
    pub fn find(libc: Libc) -> Result<Self> {
        if let Some(path) = std::env::var_os(libc.override_env()) {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(Self { path, libc })
            } else {
                Err(Error::Missing {
                    what: format!("{} named by {}", path.display(), libc.override_env()),
                    hint: libc.build_command().to_owned(),
                })
            };
        }
        let candidates = shim_candidates(libc, &target_dirs());
        let newest = candidates
            .iter()
            .filter_map(|p| Some((modified(p)?, p)))
            .max_by_key(|(time, _)| *time);
        match newest {
            Some((_, path)) => Ok(Self {
                path: path.clone(),
                libc,
            }),
            None => Err(Error::Missing {
                what: format!(
                    "the {} {SHIM_FILE} (looked for {})",
                    libc.name(),
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint: libc.build_command().to_owned(),
            }),
        }
    }

    /// The library's path, for `LD_PRELOAD`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which libc's programs can preload it.
    pub fn libc(&self) -> Libc {
        self.libc
    }

    /// `LD_PRELOAD=<path>`, to pass to [`crate::Netns::exec_env`].
    pub fn preload_env(&self) -> (String, String) {
        ("LD_PRELOAD".to_owned(), self.path.display().to_string())
    }

    /// True when the library defines and exports `symbol` (`nm -D --defined-only`).
    pub fn exports(&self, symbol: &str) -> Result<bool> {
        let mut cmd = Command::new("nm");
        cmd.args(["-D", "--defined-only"]).arg(&self.path);
        let listing = run(cmd, ADMIN_TIMEOUT)?.ok()?;
        Ok(exports_symbol(&listing.stdout, symbol))
    }

    /// True when this is the real shim: it exports `getaddrinfo` (the stub crate exports
    /// nothing).
    pub fn interposes_getaddrinfo(&self) -> Result<bool> {
        self.exports("getaddrinfo")
    }
}

/// True when an `nm -D --defined-only` listing has `symbol` as a defined global (text `T` or
/// weak `W`; `symbol@@VERSION` counts too).
fn exports_symbol(listing: &str, symbol: &str) -> bool {
    listing.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (kind, name) = match words.as_slice() {
            [_, kind, name] | [kind, name] => (*kind, *name),
            _ => return false,
        };
        let base = name.split('@').next().unwrap_or_default();
        matches!(kind, "T" | "W" | "i") && base == symbol
    })
}

/// Candidate target directories, most specific first, without duplicates.
pub fn target_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(target_dir_of(&exe));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let dir = dir.canonicalize().unwrap_or(dir);
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// The target dir a cargo-built executable lives in: the parent of its `debug`/`release`
/// ancestor, or of `<triple>/<profile>` when built with `--target`.
fn target_dir_of(exe: &Path) -> Option<PathBuf> {
    let profile = exe.ancestors().find(|dir| {
        dir.file_name()
            .is_some_and(|name| name == "debug" || name == "release")
    })?;
    let parent = profile.parent()?;
    let is_triple = parent
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("-linux-"));
    if is_triple {
        parent.parent().map(Path::to_path_buf)
    } else {
        Some(parent.to_path_buf())
    }
}

/// Every place a build for `libc` may be, in the given target dirs.
fn shim_candidates(libc: Libc, target_dirs: &[PathBuf]) -> Vec<PathBuf> {
    target_dirs
        .iter()
        .flat_map(|dir| {
            libc.profile_dirs()
                .into_iter()
                .map(move |sub| dir.join(sub).join(SHIM_FILE))
        })
        .collect()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_of_cargo_layouts() {
        let cases = [
            ("/w/target/debug/deps/shim-abc", Some("/w/target")),
            ("/w/target/release/deps/shim-abc", Some("/w/target")),
            (
                "/w/target/x86_64-unknown-linux-gnu/debug/deps/shim-abc",
                Some("/w/target"),
            ),
            ("/custom/dir/debug/deps/x", Some("/custom/dir")),
            ("/usr/bin/true", None),
        ];
        for (exe, expected) in cases {
            assert_eq!(
                target_dir_of(Path::new(exe)),
                expected.map(PathBuf::from),
                "{exe}"
            );
        }
    }

    #[test]
    fn candidates_cover_both_profiles_and_the_musl_target() {
        let dirs = [PathBuf::from("/t")];
        let glibc = shim_candidates(Libc::Glibc, &dirs);
        assert!(glibc.contains(&PathBuf::from("/t/release/libnodecache.so")));
        assert!(glibc.contains(&PathBuf::from("/t/debug/libnodecache.so")));
        let musl = shim_candidates(Libc::Musl, &dirs);
        assert_eq!(
            musl.first(),
            Some(&PathBuf::from(
                "/t/x86_64-unknown-linux-musl/release/libnodecache.so"
            ))
        );
        assert!(musl.iter().all(|p| p.to_string_lossy().contains("musl")));
    }

    #[test]
    fn nm_listing_is_read_exactly() {
        let listing = "0000000000012340 T getaddrinfo\n0000000000012400 T freeaddrinfo\n\
                       0000000000013000 T nodecache_stats@@NODECACHE_1\n                 w __gmon_start__\n";
        let cases = [
            ("getaddrinfo", true),
            ("freeaddrinfo", true),
            ("nodecache_stats", true),
            ("getaddrinf", false),
            ("gai_strerror", false),
            ("__gmon_start__", false),
        ];
        for (symbol, expected) in cases {
            assert_eq!(exports_symbol(listing, symbol), expected, "{symbol}");
        }
        assert!(!exports_symbol("", "getaddrinfo"));
    }
}
