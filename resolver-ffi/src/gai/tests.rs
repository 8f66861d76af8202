use super::*;
use crate::addrinfo::is_ours;
use std::ptr;

fn stream_hints() -> addrinfo {
    // SAFETY: addrinfo is plain data; all-zero is valid.
    let mut hints: addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    hints
}

#[test]
fn a_panic_inside_hands_the_call_to_libc() {
    let hints = stream_hints();
    let mut ours = ptr::null_mut();
    PANIC_IN_DECIDE.with(|flag| flag.set(true));
    // SAFETY: valid C strings, hints and out-pointer.
    let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"80".as_ptr(), &hints, &mut ours) };
    assert_eq!(rc, 0);
    assert!(!ours.is_null());
    // The list came from libc, not from us, and our freeaddrinfo hands it back to libc.
    assert!(!is_ours(ours));
    // SAFETY: a list from getaddrinfo.
    unsafe { freeaddrinfo(ours) };
    assert!(!crate::boundary::is_inside_shim());
    // The next call is served by the shim again.
    let mut again = ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"80".as_ptr(), &hints, &mut again) };
    assert_eq!(rc, 0);
    assert!(is_ours(again));
    // SAFETY: a list from getaddrinfo.
    unsafe { freeaddrinfo(again) };
}

#[test]
fn a_call_from_inside_the_shim_goes_to_libc() {
    let hints = stream_hints();
    let guard = ReentryGuard::enter().expect("not inside yet");
    let mut list = ptr::null_mut();
    // SAFETY: valid C strings, hints and out-pointer.
    let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"22".as_ptr(), &hints, &mut list) };
    drop(guard);
    assert_eq!(rc, 0);
    assert!(
        !is_ours(list),
        "a nested call must not be served by the shim"
    );
    // SAFETY: a list from getaddrinfo.
    unsafe { freeaddrinfo(list) };
}
