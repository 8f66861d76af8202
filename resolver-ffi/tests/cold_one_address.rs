//! The first lookup of a process when its answer is one address (issue 6: work only when
//! needed). One address needs no destination sort, so `/etc/gai.conf`, which only feeds the
//! sort, must not be read: the lookup reads resolv.conf, hosts and nsswitch.conf (host.conf
//! too when the name is on two lines of hosts) and nothing else. Counted as in `cold.rs` (`syscr` of `/proc/self/io`), in a process of
//! its own (one test in this file), so the shim's state does not exist before the lookup.
//!
//! `localhost` with `AF_INET` comes from /etc/hosts as 127.0.0.1 alone (a `::1 localhost`
//! line reads as 127.0.0.1 too for `AF_INET`): nothing reaches the network.

mod common;

#[test]
fn a_one_address_answer_reads_no_gai_conf() {
    let allowed = common::reads_for(&[
        "/etc/resolv.conf",
        "/etc/host.conf",
        "/etc/hosts",
        "/etc/nsswitch.conf",
    ]);
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_INET;
    hints.ai_socktype = libc::SOCK_STREAM;
    let (rc, reads, entries) = common::first_call_reads("localhost", &hints);
    assert_eq!(rc, 0, "localhost resolves from /etc/hosts");
    assert_eq!(entries, 1, "one address, one socket type");
    let own = common::OWN_READS;
    assert!(
        reads <= allowed + own,
        "the first lookup made {reads} reads; at most {allowed} for the files + {own} \
         (a read of /etc/gai.conf would exceed it)"
    );
}
