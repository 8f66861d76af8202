//! The vectors one getaddrinfo call fills, kept per thread.
//!
//! A warm call used to build about fifteen short-lived vectors and strings (addresses, sort
//! keys, sources, entries). Under musl's mallocng the peak of those allocations needed an
//! extra page-sized group now and then, which was mapped with `mmap` and unmapped again at
//! the end of the call (issue 3: musl p99 10 µs, a page fault every few dozen calls). Reusing
//! one set of vectors per thread makes a warm call allocate nothing on the Rust side.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};

use crate::addrinfo::Entry;
use crate::order::SourceInfo;

/// Entries kept between calls at most; a thread that once resolved a huge name gives the
/// memory back instead of holding it for good.
const KEEP_ENTRIES_MAX: usize = 1024;

/// Scratch of the destination sort ([`crate::order`]).
#[derive(Debug, Default)]
pub(crate) struct SortBuffers {
    pub(crate) destinations: Vec<SocketAddr>,
    pub(crate) sources: Vec<Option<SourceInfo>>,
    pub(crate) ips: Vec<IpAddr>,
    pub(crate) order: Vec<usize>,
    pub(crate) sorted: Vec<(IpAddr, u32)>,
}

/// What one call found and will return.
#[derive(Debug, Default)]
pub(crate) struct CallBuffers {
    /// Addresses for the node with their scope ids, sorted in place before expansion.
    pub(crate) addrs: Vec<(IpAddr, u32)>,
    /// The canonical name, when `has_canonname` (a `String` keeps its memory when cleared).
    canonname: String,
    has_canonname: bool,
    /// Scratch of the sort.
    pub(crate) sort: SortBuffers,
    /// The result: one entry per address and service tuple, in order.
    pub(crate) entries: Vec<Entry>,
}

impl CallBuffers {
    /// Forgets the previous call's contents (keeping the memory).
    fn clear(&mut self) {
        self.addrs.clear();
        self.canonname.clear();
        self.has_canonname = false;
        self.entries.clear();
    }

    /// Sets the canonical name (`AI_CANONNAME`).
    pub(crate) fn set_canonname(&mut self, name: &str) {
        self.canonname.clear();
        self.canonname.push_str(name);
        self.has_canonname = true;
    }

    /// The canonical name, if one was set.
    pub(crate) fn canonname(&self) -> Option<&str> {
        self.has_canonname.then_some(self.canonname.as_str())
    }
}

thread_local! {
    static BUFFERS: RefCell<CallBuffers> = RefCell::new(CallBuffers::default());
}

/// Runs `f` with this thread's buffers, cleared. While they cannot be used (thread teardown,
/// or a call nested inside another on this thread) `f` runs on fresh ones instead.
pub(crate) fn with_buffers<R>(mut f: impl FnMut(&mut CallBuffers) -> R) -> R {
    let kept = BUFFERS.try_with(|cell| {
        let mut buffers = cell.try_borrow_mut().ok()?;
        buffers.clear();
        let result = f(&mut buffers);
        if buffers.entries.capacity() > KEEP_ENTRIES_MAX {
            *buffers = CallBuffers::default();
        }
        Some(result)
    });
    match kept {
        Ok(Some(result)) => result,
        _ => f(&mut CallBuffers::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_cleared_and_reused_between_calls() {
        let first = with_buffers(|b| {
            b.addrs.push((IpAddr::from([127, 0, 0, 1]), 0));
            b.set_canonname("host");
            b.addrs.as_ptr() as usize
        });
        let (second, empty, canon) = with_buffers(|b| {
            (
                b.addrs.as_ptr() as usize,
                b.addrs.is_empty(),
                b.canonname().map(str::to_owned),
            )
        });
        assert_eq!(first, second, "the same memory is reused");
        assert!(empty);
        assert_eq!(canon, None);
    }

    #[test]
    fn a_nested_call_gets_fresh_buffers() {
        with_buffers(|outer| {
            outer.set_canonname("outer");
            let inner = with_buffers(|inner| inner.canonname().map(str::to_owned));
            assert_eq!(inner, None);
            assert_eq!(outer.canonname(), Some("outer"));
        });
    }
}
