//! The cache misses of one UDP socket, run inside the task that serves it.
//!
//! Why not a tokio task per miss (what this replaced): a task is one more allocation, and
//! tokio aligns its task cells to 128 octets, which glibc's malloc serves through
//! `posix_memalign`, outside its per-thread cache (callgrind: ~1,200 instructions per
//! spawn, and the split-off chunks it leaves behind made `malloc_consolidate` 2–3 % of a
//! miss), plus scheduling, a wake-up, and a `sendto(2)` of its own for the reply. Here each
//! miss is a boxed future in a `FuturesUnordered` that the serving task polls between its
//! receive batches; a finished miss hands back what the upstream gave, and the serving task
//! writes the reply straight into a slot of its `sendmmsg(2)` batch, next to the cache hits
//! (no reply buffer per miss, no copy).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::serve::responder::{MissOutcome, PendingQuery, Responder};

/// A finished miss: what to reply with ([`Responder::write_forwarded`] writes it).
#[derive(Debug)]
pub(super) struct MissReply {
    /// The query; its in-flight guard keeps it counted until the reply is queued (the
    /// serving task sends every queued reply before it ends, so a drain still waits for the
    /// send).
    pub(super) pending: Box<PendingQuery>,
    /// What the upstream gave.
    pub(super) outcome: MissOutcome,
    /// The client.
    pub(super) to: SocketAddr,
}

/// One miss waiting for the upstream.
type Miss = Pin<Box<dyn Future<Output = MissReply> + Send>>;

/// The misses in flight on one socket.
#[derive(Default)]
pub(super) struct Misses {
    running: FuturesUnordered<Miss>,
    /// Misses started since [`Misses::take_started`] last asked.
    started: usize,
}

impl std::fmt::Debug for Misses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Misses")
            .field("running", &self.running.len())
            .finish()
    }
}

impl Misses {
    /// Starts answering `pending` (from the client `to`) through the upstream. Nothing runs
    /// until the serving task polls [`Misses::take_finished`] or [`Misses::next_finished`].
    pub(super) fn start(
        &mut self,
        responder: &Arc<Responder>,
        pending: Box<PendingQuery>,
        to: SocketAddr,
    ) {
        let responder = Arc::clone(responder);
        self.started += 1;
        self.running.push(Box::pin(async move {
            let outcome = responder.forward(&pending).await;
            MissReply {
                pending,
                outcome,
                to,
            }
        }));
    }

    /// How many misses were started since the last call.
    pub(super) fn take_started(&mut self) -> usize {
        std::mem::take(&mut self.started)
    }

    /// True when no miss is in flight.
    pub(super) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// A miss that has finished, without waiting (this polls the misses: call it often).
    ///
    /// It polls with a no-op waker, so a miss that becomes ready afterwards wakes nobody;
    /// that is why the serving task, before it waits on anything, always waits on
    /// [`Misses::next_finished`] as well, which registers its real waker again. Misses
    /// woken in between are not lost: `FuturesUnordered` keeps them queued until the next
    /// poll.
    pub(super) fn take_finished(&mut self) -> Option<MissReply> {
        // Every turn of a busy socket's loop asks; with nothing in flight (a run of cache
        // hits) that costs a branch, not a poll.
        if self.running.is_empty() {
            return None;
        }
        self.running.next().now_or_never().flatten()
    }

    /// Waits for the next miss to finish; `None` at once when none is in flight.
    pub(super) async fn next_finished(&mut self) -> Option<MissReply> {
        self.running.next().await
    }
}
