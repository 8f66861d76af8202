//! The first call of a process with a numeric host (issue 6: work only when needed). An
//! address needs no resolver, so no configuration file may be read, as glibc reads none for
//! it: not resolv.conf, hosts, nsswitch.conf or host.conf (nor gai.conf: one address is not
//! sorted). Counted as in `cold.rs` (`syscr` of `/proc/self/io`), in a process of its own
//! (one test in this file), so the shim's state does not exist before the call.

mod common;

#[test]
fn a_numeric_host_reads_no_configuration_file() {
    // SAFETY: addrinfo is plain data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    let (rc, reads, _) = common::first_call_reads("198.18.0.1", &hints);
    assert_eq!(rc, 0, "a numeric host always resolves");
    let own = common::OWN_READS;
    assert_eq!(reads, own, "the call read {} times from files", reads - own);
}
