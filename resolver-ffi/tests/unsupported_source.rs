//! An nsswitch `hosts:` line with a source the core does not implement (`myhostname`): every
//! name lookup goes to the real libc, numeric hosts are still served by the shim.

use std::ffi::CStr;
use std::ptr;

use resolver_core::Resolver;

fn lookup(node: &CStr) -> (i32, bool) {
    let mut list = ptr::null_mut();
    // SAFETY: valid arguments; the list is freed once.
    unsafe {
        let rc = nodecache::getaddrinfo(node.as_ptr(), c"80".as_ptr(), ptr::null(), &mut list);
        let ours = rc == 0 && nodecache::addrinfo::is_ours(list);
        if rc == 0 {
            nodecache::freeaddrinfo(list);
        }
        (rc, ours)
    }
}

#[test]
fn names_go_to_libc_and_numbers_stay_with_the_shim() {
    let dir = tempfile::tempdir().unwrap();
    let nsswitch = dir.path().join("nsswitch.conf");
    std::fs::write(&nsswitch, "hosts: files myhostname dns\n").unwrap();
    let resolver = Resolver::builder().nsswitch(&nsswitch).build();
    assert!(nodecache::install_resolver(resolver));
    // The real libc answers localhost from the real /etc/hosts (no network).
    assert_eq!(lookup(c"localhost"), (0, false));
    assert_eq!(lookup(c"127.0.0.1"), (0, true));
}
