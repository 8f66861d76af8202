//! The two builds of `libnodecache.so` load into programs of their libc (SPEC §3): the musl
//! build needs nothing but musl's `libc.so` (no libgcc_s: Alpine images often lack it).
//! These run with the stub crate too; no namespace is needed.

mod shim_support;

use std::time::Duration;

use testbed::{CLookup, CProgram, Libc, require_programs, run};

use shim_support::{SHIM_TOOLS, find_shim};

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn musl_build_needs_only_libc_so() {
    if !require_programs("musl_build_needs_only_libc_so", SHIM_TOOLS) {
        return;
    }
    let shim = find_shim(Libc::Musl);
    let mut cmd = std::process::Command::new("readelf");
    cmd.arg("-d").arg(shim.path());
    let dynamic = run(cmd, TIMEOUT).and_then(|o| o.ok()).expect("readelf");
    let needed: Vec<&str> = dynamic
        .stdout
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert_eq!(
        needed,
        ["libc.so"],
        "{}:\n{}",
        shim.path().display(),
        dynamic.stdout
    );
}

#[test]
fn each_build_loads_into_a_program_of_its_libc() {
    if !require_programs("each_build_loads_into_a_program_of_its_libc", SHIM_TOOLS) {
        return;
    }
    for libc in [Libc::Glibc, Libc::Musl] {
        let shim = find_shim(libc);
        let exported = shim.interposes_getaddrinfo().expect("nm");

        // dlopen at run time: the dynamic linker resolves every symbol (RTLD_NOW) or says why.
        let load = CProgram::build(libc, "load").expect("compile load.c");
        let mut cmd = std::process::Command::new(load.path());
        cmd.arg(shim.path());
        let out = run(cmd, TIMEOUT).expect("load runs");
        assert!(
            out.success(),
            "{} build did not load into a {} program: {}",
            libc.name(),
            libc.name(),
            out.stderr
        );
        let expected = format!("getaddrinfo={}", if exported { "yes" } else { "no" });
        assert!(
            out.stdout.contains(&expected),
            "nm vs dlsym: {}",
            out.stdout
        );

        // LD_PRELOAD at start-up; localhost comes from /etc/hosts, stub or not.
        let resolve = CProgram::build(libc, "resolve").expect("compile resolve.c");
        let mut cmd = std::process::Command::new("env");
        cmd.arg(format!("LD_PRELOAD={}", shim.path().display()))
            .arg(resolve.path())
            .arg("localhost");
        let out = run(cmd, TIMEOUT).expect("resolve runs");
        let lookup = CLookup::parse(out).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            lookup.found() && lookup.addrs.iter().all(|a| a.is_loopback()),
            "{} preloaded: {:?}",
            libc.name(),
            lookup.output
        );
    }
}
