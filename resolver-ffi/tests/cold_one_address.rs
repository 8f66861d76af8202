//! The first lookup of a process when its answer is one address (issue 6: work only when
//! needed). One address needs no destination sort, so `/etc/gai.conf`, which only feeds the
//! sort, must not be read: the lookup reads resolv.conf, hosts and nsswitch.conf (host.conf
//! too when the name is on two lines of hosts) and nothing else. Counted as in `cold.rs` (`syscr` of `/proc/self/io`), in a process of
//! its own (one test in this file), so the shim's state does not exist before the lookup.
//!
//! `localhost` with `AF_INET` comes from /etc/hosts as 127.0.0.1 alone (a `::1 localhost`
//! line reads as 127.0.0.1 too for `AF_INET`): nothing reaches the network.

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
fn a_one_address_answer_reads_no_gai_conf() {
    let files = [
        "/etc/resolv.conf",
        "/etc/host.conf",
        "/etc/hosts",
        "/etc/nsswitch.conf",
    ];
    // Per file: one read per started page (4096 octets), plus the read that returns 0.
    let allowed: u64 = files
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len().div_ceil(4096) + 1)
        .sum();
    let node = CString::new("localhost").expect("no NUL");
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_INET;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list = ptr::null_mut();
    let before = reads_so_far();
    // SAFETY: valid arguments; the list is freed once below.
    let rc = unsafe { nodecache::getaddrinfo(node.as_ptr(), ptr::null(), &hints, &mut list) };
    let reads = reads_so_far() - before;
    assert_eq!(rc, 0, "localhost resolves from /etc/hosts");
    // SAFETY: returned by getaddrinfo above.
    let entries = unsafe {
        let mut count = 0;
        let mut entry = list;
        while !entry.is_null() {
            count += 1;
            entry = (*entry).ai_next;
        }
        nodecache::freeaddrinfo(list);
        count
    };
    assert_eq!(entries, 1, "one address, one socket type");
    // The two reads of the first reads_so_far.
    let own = 2;
    assert!(
        reads <= allowed + own,
        "the first lookup made {reads} reads; at most {allowed} for the files + {own} \
         (a read of /etc/gai.conf would exceed it)"
    );
}
