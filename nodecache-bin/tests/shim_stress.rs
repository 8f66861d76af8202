//! The shim inside a process under stress (issue 3 acceptance): packet loss with the cache
//! off, 64 threads with a fork in the middle, and valgrind's leak check. Programs are the C
//! programs of tests/c/ built with gcc and run in the test bed's pod with the glibc shim
//! preloaded. Skipped (passing) while resolver-ffi is the stub; see `shim_support`.

mod shim_support;

use std::time::Duration;

use testbed::{CProgram, CSummary, Corpus, Libc, Node, require_programs};

use shim_support::{SHIM_TOOLS, preload_env, real_shims};

/// Probability of losing each UDP query on its way to the server.
const LOSS: f64 = 0.05;
/// Lookups in one process under loss.
const LOSS_LOOKUPS: &str = "500";
/// Issue 3: p99 under 200 ms at 5% loss (glibc's is 10 s).
const P99_BOUND_NS: u64 = 200_000_000;
/// Names that resolve, for the loops (search-path ones, an external one, /etc/hosts, TCP).
const RESOLVING: &[&str] = &[
    "web",
    "db.prod",
    "kubernetes.default",
    "dual",
    "www.example.com",
    "localhost",
    Corpus::BIG_NAME,
];

fn summary(stdout: &str, what: &str) -> CSummary {
    CSummary::parse(stdout).unwrap_or_else(|| panic!("{what}: no summary line in:\n{stdout}"))
}

#[test]
fn five_percent_loss_cache_off_p99_under_200ms_no_failure() {
    let test = "five_percent_loss_cache_off_p99_under_200ms_no_failure";
    if !require_programs(test, SHIM_TOOLS) {
        return;
    }
    let Some(shims) = real_shims(test) else {
        return;
    };
    let node = Node::new().expect("node");
    let timing = CProgram::build(Libc::Glibc, "timing").expect("gcc timing.c");
    let loss = node.add_loss(LOSS).expect("loss rule");
    let env = preload_env(&shims.glibc, &[("NODECACHE_CACHE", "off")]);
    let out = node
        .pod()
        .exec_env(
            &env,
            timing.path(),
            &["-n", LOSS_LOOKUPS, Corpus::EXTERNAL_NAME],
            // 500 lookups within the p99 bound each take 100 s at worst; glibc would take
            // far longer (5 s per lost packet), so a shim that does not help is cut off here.
            Duration::from_secs(120),
        )
        .expect("timing runs");
    let dropped = loss.dropped().unwrap_or(0);
    println!(
        "shim at {LOSS} loss, cache off: {}packets dropped: {dropped}",
        out.stdout
    );
    let s = summary(&out.stdout, "timing");
    assert_eq!(s.get("lookups"), Some(LOSS_LOOKUPS), "{}", out.stdout);
    assert_eq!(
        s.number("failures"),
        Some(0),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let p99 = s.number("p99_ns").expect("p99_ns");
    assert!(
        p99 < P99_BOUND_NS,
        "p99 {p99} ns at {LOSS} loss: {}",
        out.stdout
    );
    assert!(
        dropped > 0,
        "the loss rule dropped nothing: the test proved nothing"
    );
    assert!(out.success(), "{}", out.stderr);
}

#[test]
fn sixty_four_threads_and_a_fork_in_the_middle() {
    let test = "sixty_four_threads_and_a_fork_in_the_middle";
    if !require_programs(test, SHIM_TOOLS) {
        return;
    }
    let Some(shims) = real_shims(test) else {
        return;
    };
    let node = Node::new().expect("node");
    let mut args = vec!["-t", "64", "-n", "1000", "-f"];
    args.extend_from_slice(RESOLVING);
    // Both libcs: their fork and atfork machinery differ, and so do the shim's builds.
    for libc in [Libc::Glibc, Libc::Musl] {
        let threads = CProgram::build(libc, "threads").expect("compile threads.c");
        let out = threads
            .run(
                node.pod(),
                Some(shims.for_libc(libc)),
                &args,
                Duration::from_secs(300),
            )
            .expect("threads runs");
        println!("{}: {}", libc.name(), out.stdout.trim());
        let what = format!("{} threads", libc.name());
        let s = summary(&out.stdout, &what);
        assert_eq!(s.number("lookups"), Some(64_000), "{what}: {}", out.stdout);
        assert_eq!(
            s.number("failures"),
            Some(0),
            "{what}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(
            s.get("fork_child"),
            Some("ok"),
            "{what}: the child did not resolve after fork (\"timeout\": it hung, e.g. on a \
             lock another thread held at fork time): {}",
            out.stdout
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: crashed or failed: {out:?}"
        );
    }
}

/// valgrind's memcheck with the leak check counting only definite leaks as errors.
const VALGRIND: &[&str] = &[
    "--leak-check=full",
    "--errors-for-leak-kinds=definite",
    "--show-leak-kinds=definite",
    "--error-exitcode=99",
    "--quiet",
];

#[test]
fn valgrind_finds_no_definite_leak_under_the_shim() {
    let test = "valgrind_finds_no_definite_leak_under_the_shim";
    let mut tools = SHIM_TOOLS.to_vec();
    tools.push("valgrind");
    if !require_programs(test, &tools) {
        return;
    }
    let Some(shims) = real_shims(test) else {
        return;
    };
    let node = Node::new().expect("node");
    let timing = CProgram::build(Libc::Glibc, "timing").expect("gcc timing.c");
    let timing_path = timing.path().display().to_string();
    let env = preload_env(&shims.glibc, &[]);
    // Resolving names (cache misses then hits), and names that fail (NXDOMAIN, NODATA): the
    // error paths must free what they built too. timing exits 2 when lookups fail, valgrind 99
    // when it finds an error or a definite leak.
    let runs: [(&[&str], i32); 2] = [
        (RESOLVING, 0),
        (&["nope.example.com", "missing", "txt-only.example.org"], 2),
    ];
    for (names, expected_exit) in runs {
        let mut args: Vec<&str> = VALGRIND.to_vec();
        args.extend_from_slice(&[&timing_path, "-n", "40"]);
        args.extend_from_slice(names);
        let out = node
            .pod()
            .exec_env(&env, "valgrind", &args, Duration::from_secs(300))
            .expect("valgrind runs");
        println!(
            "valgrind timing {names:?}: exit {:?}\n{}{}",
            out.code(),
            out.stdout,
            out.stderr
        );
        assert_ne!(
            out.code(),
            Some(99),
            "valgrind found errors or leaks:\n{}",
            out.stderr
        );
        assert_eq!(
            out.code(),
            Some(expected_exit),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(
            !out.stderr.contains("definitely lost"),
            "definite leak:\n{}",
            out.stderr
        );
    }
}
