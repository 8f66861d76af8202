//! The first call of a process with a numeric host (issue 6: work only when needed). An
//! address needs no resolver, so no configuration file may be read, as glibc reads none for
//! it: not resolv.conf, hosts, nsswitch.conf or host.conf (nor gai.conf: one address is not
//! sorted). Counted as in `cold.rs` (`syscr` of `/proc/self/io`), in a process of its own
//! (one test in this file), so the shim's state does not exist before the call.

use std::ffi::CString;
use std::ptr;

/// `syscr` of `/proc/self/io` (see `cold.rs`: two reads, counted after the value is taken).
fn reads_so_far() -> u64 {
    let mut file = std::fs::File::open("/proc/self/io").expect("/proc/self/io");
    let bytes = resolver_core::config::read_whole(&mut file, 0).expect("read /proc/self/io");
    let io = String::from_utf8(bytes).expect("ASCII");
    io.lines()
        .find_map(|line| line.strip_prefix("syscr: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscr line")
}

#[test]
fn a_numeric_host_reads_no_configuration_file() {
    let node = CString::new("198.18.0.1").expect("no NUL");
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list = ptr::null_mut();
    let before = reads_so_far();
    // SAFETY: valid arguments; the list is freed once below.
    let rc = unsafe { nodecache::getaddrinfo(node.as_ptr(), ptr::null(), &hints, &mut list) };
    let reads = reads_so_far() - before;
    assert_eq!(rc, 0, "a numeric host always resolves");
    // SAFETY: returned by getaddrinfo above.
    unsafe { nodecache::freeaddrinfo(list) };
    // The two reads of the first reads_so_far, nothing else.
    assert_eq!(reads, 2, "the call read {} times from files", reads - 2);
}
