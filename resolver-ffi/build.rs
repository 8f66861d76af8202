//! Build script: only the musl shared-library link needs help (SPEC §3).
//!
//! For `--target x86_64-unknown-linux-musl` with `-C target-feature=-crt-static` (set in
//! `.cargo/config.toml`), std's `unwind` crate asks the linker for `-lgcc_s` (library/unwind/
//! src/lib.rs: `link(name = "gcc_s", cfg(not(target_feature = "crt-static")))`). `musl-gcc`
//! then finds gcc's glibc `libgcc_s.so`, a linker script pointing to `libgcc_s.so.1`, outside
//! musl's search path, and the link fails; and Alpine images often lack libgcc anyway.
//!
//! So this script copies the toolchain's own LLVM `libunwind.a` (rustup ships it in the musl
//! target's `lib/self-contained/`, the one a static musl binary uses) into `OUT_DIR` under the
//! name `libgcc_s.a`, and puts `OUT_DIR` first on the library search path: the linker takes
//! the archive for `-lgcc_s`, the unwinder is linked in, and `readelf -d` lists only `libc.so`.
//! For every other target (the glibc build) it does nothing.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let crt_static = features.split(',').any(|f| f == "crt-static");
    if target_env != "musl" || crt_static {
        // glibc, or a static musl build (which links libunwind.a itself): nothing to do.
        return;
    }
    let unwind = self_contained_libunwind();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let replacement = out_dir.join("libgcc_s.a");
    if let Err(e) = std::fs::copy(&unwind, &replacement) {
        panic!(
            "copying {} to {}: {e}",
            unwind.display(),
            replacement.display()
        );
    }
    println!("cargo:rerun-if-changed={}", unwind.display());
    println!("cargo:rustc-link-search=native={}", out_dir.display());
}

/// `<target-libdir>/self-contained/libunwind.a` of the toolchain building this crate.
fn self_contained_libunwind() -> PathBuf {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", &target])
        .output()
        .unwrap_or_else(|e| panic!("running `{rustc:?} --print target-libdir`: {e}"));
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let path = PathBuf::from(libdir)
        .join("self-contained")
        .join("libunwind.a");
    assert!(
        output.status.success() && path.is_file(),
        "{} not found: install the target with `rustup target add {target}`",
        path.display()
    );
    path
}
