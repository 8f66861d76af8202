//! Serving clients over UDP: one task per worker socket (the SO_REUSEPORT group spreads
//! clients over them) reading queries in batches, answering cache hits inline and sending
//! their replies in one batch, and spawning a task per miss so one slow upstream never holds
//! up the hits behind it.
//!
//! The task reads with recvmmsg(2) until the socket is empty and only then waits for the
//! reactor, so a busy socket costs one syscall per batch and no epoll_wait at all. It stays
//! a runtime task rather than a thread of its own: a miss then goes to the upstream from the
//! same worker thread without a wake-up and a context switch (a dedicated thread measured
//! 25 % more CPU per forwarded query for the same hit cost).

mod batch;

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::serve::metrics::Proto;
use crate::serve::responder::{Immediate, Responder};
use batch::{Datagram, RecvBatch, SendBatch};

/// Initial size of a miss's reply buffer.
const MISS_REPLY_CAPACITY: usize = 1232;

thread_local! {
    /// The receive batch of this runtime worker thread. nix's recvmmsg headers hold raw
    /// pointers, so they are not `Send` and cannot live in a task that may move between
    /// worker threads; one per thread serves every UDP task that runs on it, borrowed only
    /// for a synchronous receive-and-answer step (never across an `.await`).
    static RECEIVER: RefCell<RecvBatch> = RefCell::new(RecvBatch::new());
}

/// What one receive step found.
enum Step {
    /// A batch was answered; its replies are queued.
    Answered,
    /// Nothing queued on the socket.
    Empty,
    /// A receive error.
    Failed,
}

/// Reads and answers queries on `socket` until `shutdown` turns true (or its sender goes).
/// On shutdown the loop stops reading and drops its handle on the socket; misses still in
/// flight keep it open until their replies are sent.
pub(crate) async fn serve_udp(
    socket: Arc<UdpSocket>,
    responder: Arc<Responder>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sender = SendBatch::new();
    while !stop_requested(&shutdown) {
        let step = RECEIVER.with_borrow_mut(|receiver| {
            match socket.try_io(Interest::READABLE, || receiver.receive(&*socket)) {
                Ok(count) => {
                    answer_batch(receiver, count, &socket, &responder, &mut sender);
                    Step::Answered
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => Step::Empty,
                Err(_) => Step::Failed,
            }
        });
        match step {
            Step::Answered => flush(&socket, &mut sender).await,
            // Drained: now (and only now) wait for the reactor.
            Step::Empty => {
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => break,
                    _ = socket.readable() => {}
                }
                continue;
            }
            // Errors on an unconnected UDP socket are transient (ENOMEM, ENOBUFS): keep
            // serving.
            Step::Failed => {}
        }
        // A socket that never drains (or keeps failing) never awaits the reactor: give the
        // worker's other tasks (misses, TCP, admin) their turn when this task's budget is
        // spent.
        tokio::task::consume_budget().await;
    }
}

/// Answers the `count` datagrams just received: hits and errors are queued in `sender`,
/// each miss is spawned as a task that replies when the upstream has answered.
fn answer_batch(
    receiver: &RecvBatch,
    count: usize,
    socket: &Arc<UdpSocket>,
    responder: &Arc<Responder>,
    sender: &mut SendBatch,
) {
    // One clock read per batch: its datagrams arrived together.
    let received = Instant::now();
    for index in 0..count {
        let Datagram::Query { bytes, from } = receiver.datagram(index) else {
            responder.metrics().malformed_dropped.inc();
            continue;
        };
        // A batch has room for a reply per datagram; `None` cannot happen.
        let Some(out) = sender.next_buffer() else {
            continue;
        };
        match responder.answer_now(bytes, Proto::Udp, from.is_ipv6(), received, out) {
            Immediate::Reply => sender.commit(from),
            Immediate::Drop => {}
            Immediate::Forward(pending) => {
                let socket = Arc::clone(socket);
                let responder = Arc::clone(responder);
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(MISS_REPLY_CAPACITY);
                    let in_flight = responder.answer_forwarded(pending, &mut out).await;
                    // A failed send (client gone, buffer full) loses one reply; the client
                    // retransmits.
                    let _ = socket.send_to(&out, from).await;
                    drop(in_flight);
                });
            }
        }
    }
}

/// True once the stop flag is set or its sender is gone.
fn stop_requested(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Sends the batch's replies, waiting for room in the socket's send buffer when it is full.
async fn flush(socket: &UdpSocket, sender: &mut SendBatch) {
    while sender.queued() > 0 {
        match socket.try_io(Interest::WRITABLE, || sender.flush(socket)) {
            Ok(()) => return,
            // `try_io` cleared the readiness: this waits for the next writable edge.
            Err(_) => {
                if socket.writable().await.is_err() {
                    // The reactor is gone (the runtime is shutting down).
                    sender.discard();
                    return;
                }
            }
        }
    }
}
