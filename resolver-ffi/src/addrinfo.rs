//! Building `struct addrinfo` lists the way glibc lays them out, and the registry that lets
//! the interposed `freeaddrinfo` tell our lists from libc's.
//!
//! Layout (glibc `nss/getaddrinfo.c`, `generate_addrinfo`): each node is ONE `malloc` block,
//! the `struct addrinfo` followed by its socket address, `ai_addr` pointing just past the
//! node; `ai_canonname` is a separate `malloc`ed string on the first node only. glibc's own
//! `freeaddrinfo` (`free(p->ai_canonname); free(p)` per node) could therefore free our lists
//! too. musl's could not (it frees one block holding every node, found from the last node),
//! so every node we allocate is recorded, and `freeaddrinfo` frees only recorded nodes itself.
//!
//! The registry and its fork safety: the private `registry` module.
//!
//! Blocks are recycled per thread (the private `spare` module): `freeaddrinfo` keeps up to 64
//! node blocks and 8 canonical-name blocks for the thread's next lists instead of handing them
//! to `free`, so a warm call allocates nothing from libc. Why: musl's mallocng maps page-sized
//! allocation groups with `mmap` and unmaps a group as soon as its last slot is freed; the
//! nodes of a list freed at the end of every call emptied such a group every few dozen calls,
//! and those calls paid an `mmap`, a page fault and a `munmap` (issue 3: musl p99 10 µs).
//! Every node block has room for a `sockaddr_in6`, so any spare fits any node, and every
//! canonical name shorter than 256 bytes gets a 256-byte block; each is still one `malloc`
//! block, so libc's `free` can release it.

mod spare;

use std::ffi::{c_char, c_int};
use std::mem::size_of;
use std::net::IpAddr;
use std::ptr;

use crate::registry;
use libc::{addrinfo, sockaddr, sockaddr_in, sockaddr_in6, socklen_t};
use spare::{CANON_BLOCK, node_block, release_canon, release_node_block, with_spares};

/// One entry of a result: an address with its socket type, protocol and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The address (an IPv6 one may be a v4-mapped `::ffff:a.b.c.d`).
    pub ip: IpAddr,
    /// `sin6_scope_id` (numeric `%N` scopes only; 0 otherwise).
    pub scope_id: u32,
    /// `ai_socktype`.
    pub socktype: c_int,
    /// `ai_protocol`.
    pub protocol: c_int,
    /// The port, host byte order.
    pub port: u16,
}

/// Number of nodes currently registered (for tests and leak checks).
pub fn live_nodes() -> usize {
    registry::len()
}

/// True when `node` is one of ours.
pub fn is_ours(node: *const addrinfo) -> bool {
    registry::contains(node as usize)
}

fn socket_length(ip: &IpAddr) -> usize {
    match ip {
        IpAddr::V4(_) => size_of::<sockaddr_in>(),
        IpAddr::V6(_) => size_of::<sockaddr_in6>(),
    }
}

/// Allocates one node for `entry`, zeroed, with its socket address filled in.
fn allocate_node(entry: &Entry, flags: c_int) -> Option<*mut addrinfo> {
    let addrlen = socket_length(&entry.ip);
    let node = node_block()?;
    // SAFETY: `node` points to a zeroed block of NODE_BLOCK >= sizeof(addrinfo) + addrlen bytes, suitably
    // aligned for addrinfo (malloc alignment); the socket address lives right after it, which
    // is 8-byte aligned because sizeof(addrinfo) is a multiple of 8.
    unsafe {
        let addr = node.add(1).cast::<sockaddr>();
        match entry.ip {
            IpAddr::V4(v4) => {
                let sin = addr.cast::<sockaddr_in>();
                (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
                (*sin).sin_port = entry.port.to_be();
                (*sin).sin_addr.s_addr = u32::from(v4).to_be();
            }
            IpAddr::V6(v6) => {
                let sin6 = addr.cast::<sockaddr_in6>();
                (*sin6).sin6_family = libc::AF_INET6 as libc::sa_family_t;
                (*sin6).sin6_port = entry.port.to_be();
                (*sin6).sin6_addr.s6_addr = v6.octets();
                (*sin6).sin6_scope_id = entry.scope_id;
            }
        }
        (*node).ai_flags = flags;
        (*node).ai_family = match entry.ip {
            IpAddr::V4(_) => libc::AF_INET,
            IpAddr::V6(_) => libc::AF_INET6,
        };
        (*node).ai_socktype = entry.socktype;
        (*node).ai_protocol = entry.protocol;
        (*node).ai_addrlen = addrlen as socklen_t;
        (*node).ai_addr = addr;
    }
    Some(node)
}

/// `strdup` into libc's malloc, so libc's `free` can release it: a [`CANON_BLOCK`] block (a
/// spare one when the thread has one) for names shorter than that, else a block of the
/// name's own size.
fn c_string_copy(text: &str) -> Option<*mut c_char> {
    let bytes = text.as_bytes();
    if bytes.contains(&0) {
        return None;
    }
    let copy = if bytes.len() < CANON_BLOCK {
        match with_spares(|spares| spares.canons.take()).flatten() {
            Some(block) => block,
            // SAFETY: malloc of CANON_BLOCK bytes, checked for NULL below.
            None => unsafe { libc::malloc(CANON_BLOCK) }.cast::<u8>(),
        }
    } else {
        // SAFETY: malloc of len + 1 bytes, checked for NULL below.
        unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>()
    };
    if copy.is_null() {
        return None;
    }
    // SAFETY: `copy` has room for len + 1 bytes; the source is `bytes`.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len());
        *copy.add(bytes.len()) = 0;
    }
    Some(copy.cast())
}

/// Gives back the nodes of a list we built but never registered (allocation failed
/// half-way), and its canonical name.
///
/// # Safety
/// `head` is NULL or the first node of a list linked by [`build_list`], `canonname` NULL or
/// from [`c_string_copy`]; nobody else can reach either.
unsafe fn free_unregistered(head: *mut addrinfo, canonname: *mut c_char) {
    let mut node = head;
    while !node.is_null() {
        // SAFETY: a node of our unpublished list, from node_block.
        unsafe {
            let next = (*node).ai_next;
            release_node_block(node);
            node = next;
        }
    }
    // SAFETY: ours and unpublished (or NULL).
    unsafe { release_canon(canonname) };
}

/// Builds and registers the list for `entries` (in order), `canonname` on the first node.
/// `Err(())` means memory ran out (`EAI_MEMORY`); nothing is leaked then.
pub(crate) fn build_list(
    entries: &[Entry],
    flags: c_int,
    canonname: Option<&str>,
) -> Result<*mut addrinfo, ()> {
    let canon = match canonname {
        Some(text) => c_string_copy(text).ok_or(())?,
        None => ptr::null_mut(),
    };
    // Linked as they are made: no vector of nodes to allocate.
    let mut head: *mut addrinfo = ptr::null_mut();
    let mut tail: *mut addrinfo = ptr::null_mut();
    for entry in entries {
        let Some(node) = allocate_node(entry, flags) else {
            // SAFETY: the nodes linked so far and `canon` are ours and unpublished.
            unsafe { free_unregistered(head, canon) };
            return Err(());
        };
        if tail.is_null() {
            head = node;
        } else {
            // SAFETY: `tail` is the last node made, exclusively ours.
            unsafe { (*tail).ai_next = node };
        }
        tail = node;
    }
    if head.is_null() {
        // SAFETY: `canon` is ours and unpublished.
        unsafe { release_canon(canon) };
        return Ok(ptr::null_mut());
    }
    // SAFETY: `head` is a valid node we made; every node's ai_next is NULL or the next node.
    unsafe {
        (*head).ai_canonname = canon;
        let mut node = head;
        while !node.is_null() {
            registry::insert(node as usize);
            node = (*node).ai_next;
        }
    }
    Ok(head)
}

/// Frees a list handed to `freeaddrinfo`: our nodes one by one; from the first node that is
/// not ours on, the rest goes to libc's `freeaddrinfo` (it is a list libc built).
///
/// # Safety
/// `list` is NULL or a list returned by getaddrinfo (ours or libc's) not yet freed.
pub(crate) unsafe fn free_list(list: *mut addrinfo) {
    let mut node = list;
    {
        while !node.is_null() && registry::remove(node as usize) {
            // SAFETY: the node was registered, so it is a live node built by build_list; the
            // caller gives up the list, and removing it from the registry makes us the only
            // one freeing it.
            unsafe {
                let next = (*node).ai_next;
                release_canon((*node).ai_canonname);
                release_node_block(node);
                node = next;
            }
        }
    }
    if !node.is_null() {
        // SAFETY: not ours, so a list (or the tail of one) that libc built.
        unsafe { crate::real::freeaddrinfo(node) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn entry(ip: IpAddr, port: u16) -> Entry {
        Entry {
            ip,
            scope_id: 0,
            socktype: libc::SOCK_STREAM,
            protocol: libc::IPPROTO_TCP,
            port,
        }
    }

    #[test]
    fn nodes_carry_their_address_inside_and_are_registered_until_freed() {
        let entries = [
            entry(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 80),
            entry(IpAddr::V6(Ipv6Addr::LOCALHOST), 443),
        ];
        let list = build_list(&entries, 0x20, Some("localhost")).unwrap();
        // SAFETY: a list we just built.
        unsafe {
            let first = &*list;
            assert_eq!(first.ai_family, libc::AF_INET);
            assert_eq!(first.ai_flags, 0x20);
            assert_eq!(first.ai_addr.cast::<u8>(), list.add(1).cast::<u8>());
            let sin = &*first.ai_addr.cast::<sockaddr_in>();
            assert_eq!(u16::from_be(sin.sin_port), 80);
            assert_eq!(u32::from_be(sin.sin_addr.s_addr), 0x7f00_0001);
            assert_eq!(
                std::ffi::CStr::from_ptr(first.ai_canonname).to_str(),
                Ok("localhost")
            );
            let second = &*first.ai_next;
            assert_eq!(second.ai_family, libc::AF_INET6);
            assert_eq!(second.ai_addrlen as usize, size_of::<sockaddr_in6>());
            assert!(second.ai_canonname.is_null());
            assert!(second.ai_next.is_null());
            assert!(is_ours(list) && is_ours(first.ai_next));
            free_list(list);
        }
    }

    #[test]
    fn freed_blocks_are_reused_by_the_next_list() {
        let entries = [entry(IpAddr::V6(Ipv6Addr::LOCALHOST), 443)];
        let first = build_list(&entries, 0, Some("localhost")).unwrap();
        // SAFETY: a list we just built, freed once.
        let (node, canon) = unsafe { (first as usize, (*first).ai_canonname as usize) };
        // SAFETY: as above.
        unsafe { free_list(first) };
        let second = build_list(&entries, 0, Some("other")).unwrap();
        // SAFETY: a list we just built, read and freed once.
        unsafe {
            assert_eq!(second as usize, node, "the node block was kept and reused");
            assert_eq!((*second).ai_canonname as usize, canon, "so was the name's");
            assert_eq!(
                std::ffi::CStr::from_ptr((*second).ai_canonname).to_str(),
                Ok("other")
            );
            assert_eq!((*second).ai_next, ptr::null_mut());
            free_list(second);
        }
    }

    #[test]
    fn long_canonical_names_get_a_block_of_their_own() {
        let long = "a".repeat(300);
        let entries = [entry(IpAddr::V4(Ipv4Addr::LOCALHOST), 80)];
        let list = build_list(&entries, 0, Some(&long)).unwrap();
        // SAFETY: a list we just built, read and freed once.
        unsafe {
            assert_eq!(
                std::ffi::CStr::from_ptr((*list).ai_canonname).to_str(),
                Ok(long.as_str())
            );
            free_list(list);
        }
    }

    #[test]
    fn empty_entries_give_a_null_list() {
        assert!(build_list(&[], 0, Some("x")).unwrap().is_null());
    }
}
