//! Where the socket readers put the datagrams for one exchange, and how the exchange
//! waits for them.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

use super::super::recycle::Datagram;

/// Datagrams a waiter holds before it has read them; more (a flood matching a live ID) are
/// dropped, and the query's retransmit covers a real answer lost that way.
const INBOX_LIMIT: usize = 8;

/// A datagram received for a query.
#[derive(Debug)]
pub(in crate::serve::forward) struct Arrival {
    /// The datagram as received.
    pub(in crate::serve::forward) datagram: Datagram,
    /// The server it came from (the socket's connected peer).
    pub(in crate::serve::forward) server: SocketAddr,
    /// The datagram filled the receive buffer and may have been cut.
    pub(in crate::serve::forward) cut: bool,
}

/// Where the readers put the datagrams for one exchange.
#[derive(Debug, Default)]
pub(in crate::serve::forward) struct Waiter {
    inbox: Mutex<Inbox>,
    arrived: Notify,
}

/// Datagrams delivered and not yet taken, oldest first. Almost always one (the answer):
/// it has a slot of its own, so the common case allocates nothing here.
#[derive(Debug, Default)]
struct Inbox {
    first: Option<Arrival>,
    /// Later arrivals (a duplicate, a forgery matching a live ID), in order.
    more: std::collections::VecDeque<Arrival>,
}

impl Waiter {
    /// The oldest datagram not yet taken.
    pub(in crate::serve::forward) fn take(&self) -> Option<Arrival> {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = inbox.first.take();
        inbox.first = inbox.more.pop_front();
        oldest
    }

    /// Completes once a datagram was delivered since the last call (at once if one came in
    /// between: `Notify` keeps the permit).
    pub(in crate::serve::forward) async fn arrived(&self) {
        self.arrived.notified().await;
    }

    pub(super) fn deliver(&self, arrival: Arrival) -> bool {
        {
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            if inbox.first.is_none() {
                inbox.first = Some(arrival);
            } else if inbox.more.len() + 1 < INBOX_LIMIT {
                inbox.more.push_back(arrival);
            } else {
                return false;
            }
        }
        self.arrived.notify_one();
        true
    }
}
