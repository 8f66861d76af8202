//! Helpers shared by the integration tests: call a getaddrinfo (ours or libc's) and read the
//! list into plain Rust values.
#![allow(dead_code, unreachable_pub)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;

use libc::addrinfo;

/// One entry of a result list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub flags: c_int,
    pub family: c_int,
    pub socktype: c_int,
    pub protocol: c_int,
    pub addrlen: u32,
    pub ip: IpAddr,
    pub port: u16,
    pub scope_id: u32,
    pub canonname: Option<String>,
}

pub type GetaddrinfoFn =
    unsafe fn(*const c_char, *const c_char, *const addrinfo, *mut *mut addrinfo) -> c_int;

/// Hints as a test writes them: (flags, family, socktype, protocol).
pub type Hints = Option<(c_int, c_int, c_int, c_int)>;

fn c(text: Option<&str>) -> Option<CString> {
    text.map(|t| CString::new(t).unwrap())
}

/// Reads a list without freeing it.
///
/// # Safety
/// `list` is a valid addrinfo list.
pub unsafe fn read_list(list: *const addrinfo) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut node = list;
    while !node.is_null() {
        // SAFETY: a node of a valid list.
        let ai = unsafe { &*node };
        // SAFETY: ai_addr points to a sockaddr of the announced family.
        let (ip, port, scope_id) = unsafe {
            match ai.ai_family {
                libc::AF_INET => {
                    let sin = &*ai.ai_addr.cast::<libc::sockaddr_in>();
                    (
                        IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                        u16::from_be(sin.sin_port),
                        0,
                    )
                }
                _ => {
                    let sin6 = &*ai.ai_addr.cast::<libc::sockaddr_in6>();
                    (
                        IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)),
                        u16::from_be(sin6.sin6_port),
                        sin6.sin6_scope_id,
                    )
                }
            }
        };
        let canonname = if ai.ai_canonname.is_null() {
            None
        } else {
            // SAFETY: a non-NULL ai_canonname is a C string.
            Some(
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        rows.push(Row {
            flags: ai.ai_flags,
            family: ai.ai_family,
            socktype: ai.ai_socktype,
            protocol: ai.ai_protocol,
            addrlen: ai.ai_addrlen,
            ip,
            port,
            scope_id,
            canonname,
        });
        node = ai.ai_next;
    }
    rows
}

/// Calls `f` and returns the rows (the list freed with our freeaddrinfo) or the error code.
pub fn call(
    f: GetaddrinfoFn,
    node: Option<&str>,
    service: Option<&str>,
    hints: Hints,
) -> Result<Vec<Row>, c_int> {
    let (node, service) = (c(node), c(service));
    // SAFETY: addrinfo is plain data; all-zero is valid.
    let mut h: addrinfo = unsafe { std::mem::zeroed() };
    if let Some((flags, family, socktype, protocol)) = hints {
        h.ai_flags = flags;
        h.ai_family = family;
        h.ai_socktype = socktype;
        h.ai_protocol = protocol;
    }
    let mut list = ptr::null_mut();
    // SAFETY: valid C strings or NULL, valid hints or NULL, valid out-pointer.
    let rc = unsafe {
        f(
            node.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
            service.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            if hints.is_some() { &h } else { ptr::null() },
            &mut list,
        )
    };
    if rc != 0 {
        return Err(rc);
    }
    // SAFETY: a list getaddrinfo returned, freed once with the shim's freeaddrinfo (which
    // hands libc's lists back to libc).
    unsafe {
        let rows = read_list(list);
        nodecache::freeaddrinfo(list);
        Ok(rows)
    }
}

pub fn ours(node: Option<&str>, service: Option<&str>, hints: Hints) -> Result<Vec<Row>, c_int> {
    // SAFETY: the same contract as getaddrinfo(3).
    call(
        |n, s, h, r| unsafe { nodecache::getaddrinfo(n, s, h, r) },
        node,
        service,
        hints,
    )
}

pub fn libc(node: Option<&str>, service: Option<&str>, hints: Hints) -> Result<Vec<Row>, c_int> {
    // SAFETY: the same contract as getaddrinfo(3).
    call(
        |n, s, h, r| unsafe { nodecache::real::getaddrinfo(n, s, h, r) },
        node,
        service,
        hints,
    )
}

/// `syscr` of `/proc/self/io`: read-family system calls of this process so far (the cold
/// tests count a first lookup's reads with it). Read with `read_whole`: two `read`s, both
/// counted after the value is taken (the kernel counts a `read` when it returns).
pub fn reads_so_far() -> u64 {
    let mut file = std::fs::File::open("/proc/self/io").expect("/proc/self/io");
    let bytes = resolver_core::config::read_whole(&mut file, 0).expect("read /proc/self/io");
    let io = String::from_utf8(bytes).expect("ASCII");
    io.lines()
        .find_map(|line| line.strip_prefix("syscr: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscr line")
}

/// The reads of [`reads_so_far`] itself, counted by the next call.
pub const OWN_READS: u64 = 2;

/// The reads reading `files` may take: one per started page (4096 octets) of each file that
/// exists, plus the read that returns 0.
pub fn reads_for(files: &[&str]) -> u64 {
    files
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len().div_ceil(4096) + 1)
        .sum()
}

/// What the first `getaddrinfo` of a process did: its return code, the reads it made
/// (including [`OWN_READS`]) and how many entries its list had (freed here).
pub fn first_call_reads(node: &str, hints: &addrinfo) -> (c_int, u64, usize) {
    let node = CString::new(node).expect("no NUL");
    let mut list = ptr::null_mut();
    let before = reads_so_far();
    // SAFETY: valid arguments; the list is freed once below.
    let rc = unsafe { nodecache::getaddrinfo(node.as_ptr(), ptr::null(), hints, &mut list) };
    let reads = reads_so_far() - before;
    let mut entries = 0;
    if rc == 0 {
        // SAFETY: returned by getaddrinfo above, freed once.
        unsafe {
            let mut entry = list;
            while !entry.is_null() {
                entries += 1;
                entry = (*entry).ai_next;
            }
            nodecache::freeaddrinfo(list);
        }
    }
    (rc, reads, entries)
}
