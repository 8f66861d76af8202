//! Where the socket readers put the datagrams for one exchange, and how the exchange
//! waits for them.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use std::task::{Context, Poll, Waker};

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
///
/// The exchange's waker sits in the inbox, under the lock the delivery takes anyway, instead
/// of a `tokio::sync::Notify` beside it: one exchange waits on it, so a list of waiters and
/// a permit buy nothing, and polling the `Notify` cost a miss ~170 instructions (callgrind).
#[derive(Debug, Default)]
pub(in crate::serve::forward) struct Waiter {
    inbox: Mutex<Inbox>,
}

/// Datagrams delivered and not yet taken, oldest first. Almost always one (the answer):
/// it has a slot of its own, so the common case allocates nothing here.
#[derive(Debug, Default)]
struct Inbox {
    first: Option<Arrival>,
    /// Later arrivals (a duplicate, a forgery matching a live ID), in order.
    more: std::collections::VecDeque<Arrival>,
    /// Who to wake at the next delivery (the exchange, while it waits).
    waker: Option<Waker>,
    /// How the exchange's first datagram, queued in a burst (see `outbox`), went; until
    /// the exchange [took](Waiter::poll_sent) it.
    sent: Option<SentOutcome>,
}

/// How a datagram queued in a burst went.
pub(in crate::serve::forward) enum SentOutcome {
    /// Sent, or failed with this error.
    Done(std::io::Result<()>),
    /// The socket's buffer was full: this sends it once there is room.
    WhenWritable(SendWhenWritable),
}

/// A send waiting for room in its socket's buffer.
pub(in crate::serve::forward) type SendWhenWritable =
    std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

impl std::fmt::Debug for SentOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SentOutcome::Done(done) => f.debug_tuple("Done").field(done).finish(),
            SentOutcome::WhenWritable(_) => f.write_str("WhenWritable"),
        }
    }
}

impl Waiter {
    /// The oldest datagram not yet taken.
    pub(in crate::serve::forward) fn take(&self) -> Option<Arrival> {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = inbox.first.take();
        inbox.first = inbox.more.pop_front();
        oldest
    }

    /// Ready when a datagram waits to be [taken](Self::take); otherwise the task of `cx` is
    /// woken at the next delivery. The check and the waker's registration share the lock
    /// a delivery takes, so no delivery falls between them unseen.
    pub(in crate::serve::forward) fn poll_arrival(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        if inbox.first.is_some() {
            return Poll::Ready(());
        }
        match &mut inbox.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            slot @ None => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Ready with how the datagram queued in a burst went, once the burst's end sent it;
    /// otherwise the task of `cx` is woken then.
    pub(in crate::serve::forward) fn poll_sent(&self, cx: &mut Context<'_>) -> Poll<SentOutcome> {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sent) = inbox.sent.take() {
            return Poll::Ready(sent);
        }
        match &mut inbox.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            slot @ None => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Tells the exchange how its queued datagram went, and wakes it.
    pub(super) fn report_sent(&self, sent: SentOutcome) {
        let waker = {
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            inbox.sent = Some(sent);
            inbox.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Hands `arrival` over and wakes the exchange waiting for it; false (dropped) when the
    /// inbox is full.
    pub(super) fn deliver(&self, arrival: Arrival) -> bool {
        let waker = {
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            if inbox.first.is_none() {
                inbox.first = Some(arrival);
            } else if inbox.more.len() + 1 < INBOX_LIMIT {
                inbox.more.push_back(arrival);
            } else {
                return false;
            }
            inbox.waker.take()
        };
        // Woken outside the lock: the exchange may run at once on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}
