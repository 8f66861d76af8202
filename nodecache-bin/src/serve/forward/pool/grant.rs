//! The tokens capacity moves by: a [`Slot`] on a connection, a [`ConnectPermit`] to open
//! one, and a waiter's [`QueuedWait`]. Each gives back what it holds when dropped, so a
//! cancelled query never leaks a slot, a connection or a queue place.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::Pool;
use super::conn::Conn;

/// What a waiter is given.
#[derive(Debug)]
pub(super) enum Grant {
    /// A slot on an open connection.
    Slot(Slot),
    /// Room to open a new connection.
    Connect(ConnectPermit),
}

impl Grant {
    /// Makes the token inert: its capacity stays with whoever holds the books.
    pub(super) fn disarm(&mut self) {
        match self {
            Grant::Slot(slot) => slot.armed = false,
            Grant::Connect(permit) => permit.armed = false,
        }
    }
}

/// The right to send one query on a connection; dropping it frees the slot.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) pool: Arc<Pool>,
    pub(super) conn: Arc<Conn>,
    pub(super) conn_id: u64,
    pub(super) armed: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.armed {
            self.pool.release(self.conn_id);
        }
    }
}

/// The right to open one connection; dropping it unused gives the room back.
#[derive(Debug)]
pub(super) struct ConnectPermit {
    pub(super) pool: Arc<Pool>,
    pub(super) armed: bool,
}

impl Drop for ConnectPermit {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.pool.lock();
            state.connecting = state.connecting.saturating_sub(1);
            self.pool.grant_capacity(&mut state);
        }
    }
}

/// A waiter's place in the queue; leaving (cancelled) takes it out so the queue gauge stays
/// true. A grant that arrived but was never read is dropped with the receiver, after the
/// lock is released, which returns it.
#[derive(Debug)]
pub(super) struct QueuedWait {
    pub(super) pool: Arc<Pool>,
    pub(super) ticket: u64,
    pub(super) grant: oneshot::Receiver<Grant>,
}

impl Drop for QueuedWait {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        if let Some(pos) = state.waiters.iter().position(|w| w.ticket == self.ticket) {
            state.waiters.remove(pos);
            self.pool.metrics.pool_queue.dec();
        }
    }
}
