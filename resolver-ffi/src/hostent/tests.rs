use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

#[test]
fn numeric_forms_are_recognised_like_glibc() {
    for numeric in [
        "127.0.0.1",
        "127.1",
        "10",
        "::1",
        "fe80::1",
        "::ffff:1.2.3.4",
    ] {
        assert!(is_numeric_form(numeric.as_bytes()), "{numeric}");
    }
    for name in ["localhost", "cafe", "a.b", "1.2.3.4x", ""] {
        assert!(!is_numeric_form(name.as_bytes()), "{name}");
    }
}

#[test]
fn fill_lays_out_addresses_and_name_and_refuses_small_buffers() {
    let host = Host {
        name: "web.example".into(),
        family: AF_INET,
        addrs: vec![
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)),
        ],
        from_hosts: false,
    };
    let mut buffer = [0u8; 128];
    // SAFETY: hostent is plain data.
    let mut entry: hostent = unsafe { std::mem::zeroed() };
    // Misaligned on purpose: the layout must align the pointer arrays itself.
    let start = buffer.as_mut_ptr().wrapping_add(1).cast::<c_char>();
    let need = needed(&host, start as usize);
    // SAFETY: the buffer has 127 bytes from `start`.
    unsafe {
        assert_eq!(fill(&host, &mut entry, start, need - 1), Err(()));
        assert_eq!(fill(&host, &mut entry, start, need), Ok(()));
        assert_eq!(CStr::from_ptr(entry.h_name).to_str(), Ok("web.example"));
        assert_eq!(entry.h_length, 4);
        assert!((*entry.h_aliases).is_null());
        let second = *entry.h_addr_list.add(1);
        assert_eq!(
            std::slice::from_raw_parts(second.cast::<u8>(), 4),
            [198, 18, 0, 2]
        );
        assert!((*entry.h_addr_list.add(2)).is_null());
    }
    let v6 = Host {
        name: "x".into(),
        family: AF_INET6,
        addrs: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
        from_hosts: false,
    };
    assert_eq!(needed(&v6, 0), 2 * 8 + 8 + 16 + 2);
}
