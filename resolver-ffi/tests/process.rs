//! Behaviour inside a host process: many threads, fork in the middle of them, the C API, and
//! the gethostbyname family. Only numeric hosts and `localhost` (from /etc/hosts, AF_INET):
//! nothing here reaches the network.

mod common;

use std::ffi::{CStr, c_char, c_int};
use std::ptr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use common::ours;
use libc::{AF_INET, SOCK_STREAM};
use nodecache::NodecacheStats;
use nodecache::consts::{AI_ADDRCONFIG, HOST_NOT_FOUND, NETDB_INTERNAL};

/// The tests of this file count live lists; one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One lookup through the export, checked, freed.
fn lookup_ok(node: &CStr) -> bool {
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    let mut list = ptr::null_mut();
    // SAFETY: valid arguments; the list is freed once.
    unsafe {
        if nodecache::getaddrinfo(node.as_ptr(), c"80".as_ptr(), &hints, &mut list) != 0 {
            return false;
        }
        let ok = !list.is_null() && (*list).ai_family == AF_INET;
        nodecache::freeaddrinfo(list);
        ok
    }
}

#[test]
fn many_threads_resolve_without_error_and_free_everything() {
    let _serial = serial();
    let live_before = nodecache::addrinfo::live_nodes();
    // The acceptance load of issue 3: 64 threads × 1,000 lookups.
    let threads: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let names = [c"localhost", c"127.0.0.1", c"127.0.0.2"];
                (0..1000).all(|n| lookup_ok(names[(i + n) % names.len()]))
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().expect("no panic"), "a lookup failed");
    }
    assert_eq!(nodecache::addrinfo::live_nodes(), live_before);
}

/// Forks and runs `child` in the child, which exits with its result. SIGALRM after 10 s
/// turns a deadlock into a failure instead of a hung test.
fn in_child(child: impl FnOnce() -> bool) -> Result<(), String> {
    // SAFETY: fork; the child only runs `child` and _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: alarm and _exit are async-signal-safe; `child` exercises the shim, which is
        // what this test is about.
        unsafe {
            libc::alarm(10);
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(false);
            libc::_exit(if ok { 0 } else { 1 });
        }
    }
    assert!(pid > 0, "fork failed");
    let mut status: c_int = 0;
    // SAFETY: waiting for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGALRM {
        Err("child deadlocked (killed by its 10 s alarm)".into())
    } else {
        Err(format!("child failed, wait status {status:#x}"))
    }
}

#[test]
fn a_child_forked_amid_busy_threads_resolves_and_frees_parent_lists() {
    let _serial = serial();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut ok = true;
                while !stop.load(Ordering::Relaxed) {
                    ok &= lookup_ok(c"localhost");
                }
                ok
            })
        })
        .collect();
    for round in 0..20 {
        // A list built by the parent, inherited by the child, freed there.
        let mut inherited = ptr::null_mut();
        // SAFETY: valid arguments.
        let rc = unsafe {
            nodecache::getaddrinfo(
                c"127.0.0.1".as_ptr(),
                ptr::null(),
                ptr::null(),
                &mut inherited,
            )
        };
        assert_eq!(rc, 0);
        let inherited_addr = inherited as usize;
        let result = in_child(move || {
            let inherited = inherited_addr as *mut libc::addrinfo;
            // SAFETY: the child's copy of the parent's list, freed once in the child.
            unsafe { nodecache::freeaddrinfo(inherited) };
            lookup_ok(c"localhost") && lookup_ok(c"127.0.0.1")
        });
        // SAFETY: the parent's list, freed once in the parent.
        unsafe { nodecache::freeaddrinfo(inherited) };
        if let Err(why) = result {
            stop.store(true, Ordering::Relaxed);
            panic!("fork round {round}: {why}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        assert!(worker.join().expect("no panic"), "a parent lookup failed");
    }
}

#[test]
fn stats_count_lookups_and_reject_null() {
    let _serial = serial();
    // SAFETY: NULL is allowed and rejected.
    assert_eq!(unsafe { nodecache::nodecache_stats(ptr::null_mut()) }, -1);
    assert!(lookup_ok(c"localhost"));
    let mut before = NodecacheStats::default();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { nodecache::nodecache_stats(&mut before) }, 0);
    assert!(lookup_ok(c"localhost"));
    assert!(lookup_ok(c"localhost"));
    let mut after = NodecacheStats::default();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { nodecache::nodecache_stats(&mut after) }, 0);
    assert_eq!(after.lookups, before.lookups + 2);
    // Hosts-file answers are cached: the repeats are hits (or hosts hits after a flush).
    assert_eq!(
        after.cache_hits + after.hosts_hits,
        before.cache_hits + before.hosts_hits + 2
    );
    assert_eq!(
        after.queries_sent, 0,
        "localhost must never reach the network"
    );
    // SAFETY: no arguments.
    unsafe { nodecache::nodecache_cache_flush() };
    // SAFETY: a static string.
    let version = unsafe { CStr::from_ptr(nodecache::nodecache_version()) };
    assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
}

/// Reads a hostent into (name, family, addresses).
fn host_of(entry: *const libc::hostent) -> Option<(String, c_int, Vec<Vec<u8>>)> {
    if entry.is_null() {
        return None;
    }
    // SAFETY: a hostent filled by gethostbyname*.
    unsafe {
        let e = &*entry;
        let name = CStr::from_ptr(e.h_name).to_string_lossy().into_owned();
        let mut addrs = Vec::new();
        let mut p = e.h_addr_list;
        while !(*p).is_null() {
            addrs.push(std::slice::from_raw_parts((*p).cast::<u8>(), e.h_length as usize).to_vec());
            p = p.add(1);
        }
        Some((name, e.h_addrtype, addrs))
    }
}

#[test]
fn gethostbyname_family_matches_libc() {
    let _serial = serial();
    let names: [&CStr; 4] = [c"localhost", c"127.0.0.1", c"127.1", c"::1"];
    for name in names {
        // SAFETY: valid C strings; the results are read before the next call.
        let (ours, theirs) = unsafe {
            (
                host_of(nodecache::gethostbyname(name.as_ptr())),
                host_of(nodecache::real::gethostbyname(name.as_ptr())),
            )
        };
        assert_eq!(ours, theirs, "{name:?}");
    }
    // SAFETY: valid C strings and buffers.
    unsafe {
        // A family glibc does not know goes to libc, which refuses it.
        assert!(nodecache::gethostbyname2(c"localhost".as_ptr(), 99).is_null());
        let mut entry: libc::hostent = std::mem::zeroed();
        let mut result: *mut libc::hostent = ptr::null_mut();
        let mut herr: c_int = 0;
        let mut buffer = [0 as c_char; 512];
        let rc = nodecache::gethostbyname_r(
            c"localhost".as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
            &mut herr,
        );
        assert_eq!(rc, 0);
        assert_eq!(result, &mut entry as *mut _);
        // glibc leaves HOST_NOT_FOUND behind after a hosts-file success; so do we.
        assert_eq!(herr, HOST_NOT_FOUND);
        assert_eq!(host_of(result).map(|h| h.2), Some(vec![vec![127, 0, 0, 1]]));
        let rc = nodecache::gethostbyname_r(
            c"localhost".as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            8,
            &mut result,
            &mut herr,
        );
        assert_eq!(rc, libc::ERANGE);
        assert!(result.is_null());
        assert_eq!(herr, NETDB_INTERNAL);
    }
}

#[test]
fn rows_from_the_shim_are_ordered_like_libc() {
    let _serial = serial();
    let hints = Some((0, libc::AF_UNSPEC, SOCK_STREAM, 0));
    assert_eq!(
        ours(None, Some("80"), hints),
        common::libc(None, Some("80"), hints)
    );
}
