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

mod common;

use nodecache::consts::AI_ADDRCONFIG;

#[test]
fn first_lookup_reads_each_file_in_as_few_reads_as_its_pages() {
    let allowed = common::reads_for(&[
        "/etc/resolv.conf",
        "/etc/host.conf",
        "/etc/hosts",
        "/etc/nsswitch.conf",
        "/etc/gai.conf",
    ]);
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = AI_ADDRCONFIG;
    let (_, reads, _) = common::first_call_reads("localhost", &hints);
    let own = common::OWN_READS;
    assert!(
        reads <= allowed + own,
        "the first lookup made {reads} reads; at most {allowed} for the files + {own}"
    );
}
