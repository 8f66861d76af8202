//! Per-thread free lists for the two heap objects every UDP exchange needs: the buffer an
//! answer is copied into ([`Datagram`]) and the [`Waiter`] the socket readers deliver to
//! ([`WaiterLease`]). A miss used to allocate and free both (dhat: 94 and 152 octets per
//! miss), and under a full cache their frees came cold, after the cache's own evictions.
//! Taken back here, they are reused by the next miss on the same thread, warm.
//!
//! Kept in [`free_list`]s, each bounded: a burst leaves at most [`KEPT`] objects of each kind
//! per thread behind.

use std::cell::RefCell;
use std::ops::Deref;
use std::sync::Arc;

use super::socket_pool::Waiter;
use crate::serve::free_list;

/// Objects of each kind a thread keeps for reuse.
const KEPT: usize = 64;
/// Largest buffer kept: a UDP answer's room, with margin (TCP answers can be 64 KiB; those
/// are rare and go back to the allocator).
const LARGEST_KEPT: usize = 4096;

thread_local! {
    static BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static WAITERS: RefCell<Vec<Arc<Waiter>>> = const { RefCell::new(Vec::new()) };
}

/// A received message's octets, in a buffer that goes back to its thread's free list when
/// dropped.
#[derive(Default)]
pub(crate) struct Datagram(Vec<u8>);

impl Datagram {
    /// A copy of `octets`, in a reused buffer when the thread has one.
    pub(super) fn copy_of(octets: &[u8]) -> Datagram {
        let mut buffer = free_list::take(&BUFFERS).unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(octets);
        Datagram(buffer)
    }
}

impl From<Vec<u8>> for Datagram {
    fn from(octets: Vec<u8>) -> Datagram {
        Datagram(octets)
    }
}

impl Deref for Datagram {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Clone for Datagram {
    fn clone(&self) -> Datagram {
        Datagram::copy_of(self)
    }
}

impl PartialEq for Datagram {
    fn eq(&self, other: &Datagram) -> bool {
        **self == **other
    }
}

impl Eq for Datagram {}

impl std::fmt::Debug for Datagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Datagram").field(&self.0).finish()
    }
}

impl Drop for Datagram {
    fn drop(&mut self) {
        if self.0.capacity() == 0 || self.0.capacity() > LARGEST_KEPT {
            return;
        }
        let buffer = std::mem::take(&mut self.0);
        free_list::keep(&BUFFERS, buffer, KEPT);
    }
}

/// One exchange's [`Waiter`], taken from the thread's free list (or made) and given back,
/// reset, when the exchange ends and no socket reader holds it any more.
#[derive(Debug)]
pub(super) struct WaiterLease(Arc<Waiter>);

impl WaiterLease {
    /// A waiter with nothing delivered.
    pub(super) fn fresh() -> WaiterLease {
        WaiterLease(free_list::take(&WAITERS).unwrap_or_default())
    }
}

impl Deref for WaiterLease {
    type Target = Arc<Waiter>;

    fn deref(&self) -> &Arc<Waiter> {
        &self.0
    }
}

impl Drop for WaiterLease {
    fn drop(&mut self) {
        // Shared still: a registration or a reader holds it (the exchange is being dropped
        // mid-way); it is freed when they let go.
        let Some(waiter) = Arc::get_mut(&mut self.0) else {
            return;
        };
        // Fresh state: no datagram, no stored wake-up permit.
        *waiter = Waiter::default();
        free_list::keep(&WAITERS, Arc::clone(&self.0), KEPT);
    }
}

#[cfg(test)]
impl Datagram {
    /// The buffer's capacity (for tests).
    fn capacity_for_tests(&self) -> usize {
        self.0.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_and_waiters_are_reused_on_their_thread() {
        let first = Datagram::copy_of(b"first answer");
        let address = first.as_ptr();
        drop(first);
        let second = Datagram::copy_of(b"second");
        assert_eq!(&*second, b"second");
        assert_eq!(second.as_ptr(), address, "the freed buffer came back");
        let big = Datagram::from(vec![0u8; LARGEST_KEPT + 1]);
        drop(big);
        assert_ne!(
            Datagram::copy_of(b"x").capacity_for_tests(),
            LARGEST_KEPT + 1
        );

        let lease = WaiterLease::fresh();
        let address = Arc::as_ptr(&lease);
        let held = Arc::clone(&lease);
        drop(lease);
        assert_ne!(
            Arc::as_ptr(&WaiterLease::fresh()),
            address,
            "a waiter still held elsewhere is not reused"
        );
        drop(held);
        let lease = WaiterLease::fresh();
        let address = Arc::as_ptr(&lease);
        drop(lease);
        assert_eq!(Arc::as_ptr(&WaiterLease::fresh()), address);
    }
}
