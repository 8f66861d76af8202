//! Serving clients over UDP: one task per worker socket (the SO_REUSEPORT group spreads
//! clients over them) reading queries in batches, answering cache hits inline and sending
//! their replies in one batch. Misses run concurrently inside the same task ([`misses`]), so
//! one slow upstream never holds up the hits behind it, and their replies join the next
//! batch.
//!
//! The task reads with recvmmsg(2) until the socket is empty and only then waits for the
//! reactor, so a busy socket costs one syscall per batch and no epoll_wait at all. The task
//! runs on its worker's own current-thread runtime ([`workers`]) with the misses it starts
//! and the upstream sockets they use: a miss goes to the upstream and its answer comes back
//! on the same thread, without a wake-up or a context switch.

pub(crate) mod batch;
mod misses;
pub(crate) mod workers;

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::serve::forward::Burst;
use crate::serve::metrics::Proto;
use crate::serve::responder::{Immediate, Responder};
use batch::{Datagram, RecvBatch, SendBatch};
use misses::{MissReply, Misses};

thread_local! {
    /// The receive batch of this thread (a UDP worker's, see [`workers`]). nix's recvmmsg
    /// headers hold raw pointers, so they are not `Send` and cannot live in a task (a future
    /// must be `Send` to be spawned); one per thread serves every UDP task that runs on it,
    /// borrowed only for a synchronous receive-and-answer step (never across an `.await`).
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

/// Reads and answers queries on `socket` (on a worker thread, see [`workers`]) until
/// `shutdown` turns true (or its sender goes), then hands its share of the SO_REUSEPORT group
/// over and drains (see [`hand_over`]).
/// Misses still in flight keep the task (and the socket) going until their replies are sent.
pub(crate) async fn serve_udp(
    socket: Arc<UdpSocket>,
    responder: Arc<Responder>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sender = SendBatch::new();
    let mut misses = Misses::default();
    while !stop_requested(&shutdown) {
        let step = receive_step(&socket, &responder, &mut sender, &mut misses);
        // Misses that finished meanwhile leave with this batch; the misses just started
        // send their queries with it (see `start_burst`).
        start_burst(&socket, &responder, &mut sender, &mut misses).await;
        flush(&socket, &mut sender).await;
        match step {
            // Drained: now (and only now) wait for the reactor or a miss.
            Step::Empty => {
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => break,
                    Some(reply) = misses.next_finished(), if !misses.is_empty() => {
                        queue_reply(&socket, &responder, &mut sender, reply).await;
                    }
                    _ = socket.readable() => {}
                }
            }
            // A socket that never drains (or keeps failing: errors on an unconnected UDP
            // socket are transient, ENOMEM or ENOBUFS) never awaits the reactor: give the
            // worker's other tasks (TCP, admin, upstream readers) their turn when this
            // task's budget is spent.
            Step::Answered | Step::Failed => tokio::task::consume_budget().await,
        }
    }
    hand_over(&socket, &responder, &mut sender, &mut misses).await;
    // The misses still in flight end within the upstream timeout (stale or SERVFAIL).
    while let Some(reply) = misses.next_finished().await {
        queue_reply(&socket, &responder, &mut sender, reply).await;
        queue_finished(&socket, &responder, &mut sender, &mut misses).await;
        flush(&socket, &mut sender).await;
    }
}

/// Polls the misses just started (and queues the replies of any that has finished).
///
/// Two or more misses started from one receive batch run their first poll inside a
/// [`Burst`]: they take one upstream socket per server and their queries leave in one
/// sendmmsg(2) when it closes, and their answers come back on that socket, read by one
/// recvmmsg(2). perf stat, dnsperf misses at ~85,000/s on one worker, syscalls per answered
/// miss: sendto 0.99 → 0.004, recvmmsg 0.50 → 0.15-0.19, sendmmsg 0.04 → 0.09-0.13, 1.66 →
/// 0.5-0.6 in all (the rest: tokio's timer waking its own driver through the eventfd,
/// 0.13 → 0.15-0.22 writes, and epoll_wait 0.01 → 0.03-0.06, as the worker idles more).
/// A lone miss sends at once: a burst would cost it a second poll and save no syscall.
///
/// The burst is open only for a synchronous stretch (no `.await` inside): its queue is the
/// thread's, so the task must not move or let another task run before it closes. A reply
/// batch that fills up meanwhile is sent if the socket has room; if not, the stretch ends
/// early and the misses not polled yet send on their own.
async fn start_burst(
    socket: &UdpSocket,
    responder: &Responder,
    sender: &mut SendBatch,
    misses: &mut Misses,
) {
    if misses.take_started() >= 2 {
        let burst = Burst::open();
        loop {
            // A full reply batch is sent without waiting, if the socket has room.
            if sender.next_buffer().is_none()
                && socket
                    .try_io(Interest::WRITABLE, || sender.flush(socket))
                    .is_err()
            {
                break;
            }
            let Some(reply) = misses.take_finished() else {
                break;
            };
            write_reply(responder, sender, reply);
        }
        // The burst's exchanges are told how their sends went: `queue_finished` below polls
        // them on to wait for their answers.
        burst.close();
    }
    queue_finished(socket, responder, sender, misses).await;
}

/// Queues the replies of every miss that has finished, flushing when the batch is full.
async fn queue_finished(
    socket: &UdpSocket,
    responder: &Responder,
    sender: &mut SendBatch,
    misses: &mut Misses,
) {
    while let Some(reply) = misses.take_finished() {
        queue_reply(socket, responder, sender, reply).await;
    }
}

/// Writes one miss's reply into the batch, flushing first when the batch is full.
async fn queue_reply(
    socket: &UdpSocket,
    responder: &Responder,
    sender: &mut SendBatch,
    reply: MissReply,
) {
    if sender.next_buffer().is_none() {
        flush(socket, sender).await;
    }
    write_reply(responder, sender, reply);
}

/// Writes one miss's reply into the batch, which has room for it (dropped if not).
fn write_reply(responder: &Responder, sender: &mut SendBatch, reply: MissReply) {
    if let Some(buffer) = sender.next_buffer() {
        let MissReply {
            pending,
            outcome,
            to,
        } = reply;
        // The in-flight guard goes once the reply is queued: every queued reply is sent
        // before the task ends.
        let _in_flight = responder.write_forwarded(pending, outcome, buffer);
        sender.commit(to);
    }
}

/// How long the queue must stay empty after the hand-over before the socket is let go: a
/// datagram the kernel steered to this socket just before `connect` may still be on its way
/// into the queue (delivery runs in softirq context on another CPU).
const HAND_OVER_QUIET: Duration = Duration::from_millis(50);

/// Bound on the whole hand-over, whatever the traffic (SIGTERM must exit promptly).
const HAND_OVER_MAX: Duration = Duration::from_secs(1);

/// Leaves the SO_REUSEPORT group without losing what the kernel already queued here.
///
/// Closing a socket of the group drops the datagrams in its receive queue. Instead it is
/// `connect`ed to the discard port of its own address: Linux's UDP lookup
/// (`udp4_lib_lookup2`, "fall back to scoring if group has connections") then gives a
/// connected socket only datagrams from its peer, so every new query goes to the other
/// sockets of the group — another instance's during a rolling restart — while the queued
/// datagrams stay readable (connect(2) does not flush the queue). They are answered until the
/// queue has been empty for [`HAND_OVER_QUIET`]. Replies still go out with explicit
/// destinations, which a connected UDP socket allows (udp(7)).
async fn hand_over(
    socket: &Arc<UdpSocket>,
    responder: &Arc<Responder>,
    sender: &mut SendBatch,
    misses: &mut Misses,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let discard = SocketAddr::new(discard_host(local.ip()), DISCARD_PORT);
    if socket.connect(discard).await.is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + HAND_OVER_MAX;
    let mut quiet_until = tokio::time::Instant::now() + HAND_OVER_QUIET;
    loop {
        let step = receive_step(socket, responder, sender, misses);
        queue_finished(socket, responder, sender, misses).await;
        flush(socket, sender).await;
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        if matches!(step, Step::Answered) {
            quiet_until = now + HAND_OVER_QUIET;
            continue;
        }
        // Misses finishing meanwhile are answered, but only a datagram restarts the quiet
        // period.
        tokio::select! {
            biased;
            Some(reply) = misses.next_finished(), if !misses.is_empty() => {
                queue_reply(socket, responder, sender, reply).await;
            }
            ready = tokio::time::timeout_at(quiet_until.min(deadline), socket.readable()) => {
                if ready.is_err() {
                    return;
                }
            }
        }
    }
}

/// The discard service (RFC 863): nobody sends from it, so a socket connected to it
/// receives nothing new.
const DISCARD_PORT: u16 = 9;

/// Where a socket bound to `ip` is connected to leave its group: its own address, or
/// loopback for a wildcard bind.
fn discard_host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// Receives one batch (if any is queued) and answers it.
fn receive_step(
    socket: &Arc<UdpSocket>,
    responder: &Arc<Responder>,
    sender: &mut SendBatch,
    misses: &mut Misses,
) -> Step {
    RECEIVER.with_borrow_mut(|receiver| {
        match socket.try_io(Interest::READABLE, || receiver.receive(&**socket)) {
            Ok(count) => {
                answer_batch(receiver, count, responder, sender, misses);
                Step::Answered
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Step::Empty,
            Err(_) => Step::Failed,
        }
    })
}

/// Answers the `count` datagrams just received: hits and errors are queued in `sender`,
/// each miss starts in `misses` and replies when the upstream has answered.
fn answer_batch(
    receiver: &RecvBatch,
    count: usize,
    responder: &Arc<Responder>,
    sender: &mut SendBatch,
    misses: &mut Misses,
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
        match responder.answer_client(bytes, Proto::Udp, from, received, out) {
            Immediate::Reply => sender.commit(from),
            Immediate::Drop => {}
            Immediate::Forward(pending) => misses.start(responder, pending, from),
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
