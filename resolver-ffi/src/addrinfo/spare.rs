//! Blocks that freed lists leave, kept per thread for the next lists (see the parent module:
//! with musl's mallocng, freeing a whole list at the end of every call kept mapping and
//! unmapping an allocation group).

use std::cell::RefCell;
use std::ffi::c_char;
use std::mem::size_of;
use std::ptr;

use libc::{addrinfo, sockaddr_in6};

/// Bytes of every node block: the node, then room for the larger socket address.
pub(super) const NODE_BLOCK: usize = size_of::<addrinfo>() + size_of::<sockaddr_in6>();
/// Bytes of a kept canonical-name block: any DNS name (at most 253 characters) and its NUL.
/// Longer names (possible from the hosts file) get a block of their own size, never kept.
pub(super) const CANON_BLOCK: usize = 256;
/// Spare node blocks kept per thread at most (64 × 76 bytes).
const SPARE_NODES_MAX: usize = 64;
/// Spare canonical-name blocks kept per thread at most (one per list).
const SPARE_CANONS_MAX: usize = 8;

/// Blocks of one size that freed lists left, reused by the thread's next lists. A plain
/// array: keeping them must not allocate either.
#[derive(Debug)]
pub(super) struct SpareBlocks<const N: usize> {
    blocks: [usize; N],
    len: usize,
}

impl<const N: usize> SpareBlocks<N> {
    const fn new() -> Self {
        SpareBlocks {
            blocks: [0; N],
            len: 0,
        }
    }

    /// A kept block, if there is one.
    pub(super) fn take(&mut self) -> Option<*mut u8> {
        self.len = self.len.checked_sub(1)?;
        self.blocks.get(self.len).map(|&block| block as *mut u8)
    }

    /// Keeps `block`; `false` when the store is full (the caller frees it).
    pub(super) fn keep(&mut self, block: *mut u8) -> bool {
        let Some(slot) = self.blocks.get_mut(self.len) else {
            return false;
        };
        *slot = block as usize;
        self.len += 1;
        true
    }
}

impl<const N: usize> Drop for SpareBlocks<N> {
    /// A thread that ends hands its spare blocks back to libc.
    fn drop(&mut self) {
        while let Some(block) = self.take() {
            // SAFETY: kept blocks came from malloc/calloc and belong to no list.
            unsafe { libc::free(block.cast()) };
        }
    }
}

/// This thread's spare blocks.
#[derive(Debug)]
pub(super) struct Spares {
    pub(super) nodes: SpareBlocks<SPARE_NODES_MAX>,
    pub(super) canons: SpareBlocks<SPARE_CANONS_MAX>,
}

thread_local! {
    static SPARES: RefCell<Spares> = const {
        RefCell::new(Spares {
            nodes: SpareBlocks::new(),
            canons: SpareBlocks::new(),
        })
    };
}

/// Runs `f` on this thread's spares; `None` while they cannot be used (thread teardown, or
/// a re-entrant call), and the caller then allocates or frees as usual.
pub(super) fn with_spares<R>(f: impl FnOnce(&mut Spares) -> R) -> Option<R> {
    SPARES
        .try_with(|spares| spares.try_borrow_mut().ok().map(|mut s| f(&mut s)))
        .ok()
        .flatten()
}

/// A zeroed block of [`NODE_BLOCK`] bytes: a spare one, else a new one from calloc.
pub(super) fn node_block() -> Option<*mut addrinfo> {
    match with_spares(|spares| spares.nodes.take()).flatten() {
        Some(block) => {
            // SAFETY: a kept block of NODE_BLOCK bytes that no list uses any more.
            unsafe { ptr::write_bytes(block, 0, NODE_BLOCK) };
            Some(block.cast())
        }
        None => {
            // SAFETY: calloc with a non-zero size; the result is checked for NULL.
            let block = unsafe { libc::calloc(1, NODE_BLOCK) }.cast::<addrinfo>();
            (!block.is_null()).then_some(block)
        }
    }
}

/// Gives back a node block that no list uses any more: kept for this thread, or freed.
///
/// # Safety
/// `block` came from [`node_block`] and nothing refers to it any more.
pub(super) unsafe fn release_node_block(block: *mut addrinfo) {
    if with_spares(|spares| spares.nodes.keep(block.cast())) != Some(true) {
        // SAFETY: by the caller's contract, a calloc block nobody uses.
        unsafe { libc::free(block.cast()) };
    }
}

/// Gives back a canonical name from `c_string_copy`: a [`CANON_BLOCK`] one is kept, a
/// longer one freed. NULL is ignored.
///
/// # Safety
/// `canon` is NULL or came from `c_string_copy`, is NUL-terminated within its block, and
/// nothing refers to it any more.
pub(super) unsafe fn release_canon(canon: *mut c_char) {
    if canon.is_null() {
        return;
    }
    // SAFETY: a NUL-terminated string by the caller's contract. Every name shorter than
    // CANON_BLOCK was copied into a CANON_BLOCK block, every longer one into a block longer
    // than CANON_BLOCK, so a short string means a block of at least CANON_BLOCK bytes.
    let short = unsafe { libc::strlen(canon) } < CANON_BLOCK;
    if !short || with_spares(|spares| spares.canons.keep(canon.cast())) != Some(true) {
        // SAFETY: a malloc block nobody uses.
        unsafe { libc::free(canon.cast()) };
    }
}
