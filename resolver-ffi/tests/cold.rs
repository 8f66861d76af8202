//! The first lookup of a process (issue 6, the cold lookup): what it costs in `read` system
//! calls, counted by the kernel (`syscr` in `/proc/self/io`). Each test file runs as its own
//! process, and this one has one test, so the shim's state does not exist before it.
//!
//! `localhost` comes from /etc/hosts: nothing reaches the network. The lookup still reads
//! every file the shim's state is built from (resolv.conf, host.conf, hosts, nsswitch.conf;
//! gai.conf too when the hosts file gives `localhost` two addresses to sort) and, for
//! `AI_ADDRCONFIG`, the host's addresses. Reading a file must take one
//! `read` per page of it plus the one that sees its end, and the addresses none (netlink's
//! `recvfrom` is not a `read`): `read_to_string` on the `/proc` files took five or six each.

use std::ffi::CString;
use std::ptr;

use nodecache::consts::AI_ADDRCONFIG;

/// `syscr` of `/proc/self/io`: read-family system calls of this process so far. Read with
/// `read_whole`: two `read`s, both counted after the value is taken (the kernel counts a
/// `read` when it returns).
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
fn first_lookup_reads_each_file_in_as_few_reads_as_its_pages() {
    let files = [
        "/etc/resolv.conf",
        "/etc/host.conf",
        "/etc/hosts",
        "/etc/nsswitch.conf",
        "/etc/gai.conf",
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
    hints.ai_flags = AI_ADDRCONFIG;
    let mut list = ptr::null_mut();
    let before = reads_so_far();
    // SAFETY: valid arguments; the list is freed once below.
    let rc = unsafe { nodecache::getaddrinfo(node.as_ptr(), ptr::null(), &hints, &mut list) };
    let reads = reads_so_far() - before;
    if rc == 0 {
        // SAFETY: returned by getaddrinfo above.
        unsafe { nodecache::freeaddrinfo(list) };
    }
    // The two reads of the first reads_so_far.
    let own = 2;
    assert!(
        reads <= allowed + own,
        "the first lookup made {reads} reads; at most {allowed} for the files + {own}"
    );
}
