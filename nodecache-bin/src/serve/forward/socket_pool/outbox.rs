//! Bursts: the first datagrams of the misses a UDP worker starts from one client receive
//! batch leave through one pooled socket per server and one sendmmsg(2).
//!
//! Why: a burst of N misses cost N sendto(2) calls on up to N sockets, and their answers came
//! back spread over those sockets: N reader wake-ups and recvmmsg(2) calls. perf stat with
//! dnsperf at ~80,000 misses/s, one worker: 0.98 sendto and 0.50 recvmmsg per answered miss
//! (a syscall costs ~170 ns on that VM); with bursts ~0.004 sendto, 0.15-0.19 recvmmsg and
//! 0.09-0.13 sendmmsg (the client replies' included). callgrind (30,000 misses, 3 runs
//! each): 358.6-361.0 M instructions before, 352.2-357.0 M with bursts: the second poll of
//! each miss in a burst (for its send's outcome) costs less than the syscalls' user side
//! saved.
//!
//! What changes for a spoofer (RFC 5452 §9.2): for one query, nothing: its port is still
//! one of the [`super::SOCKETS_PER_SERVER`] random ports open (its slot drawn at random for
//! the burst), its ID random and unique on that socket, its name in random case; and a blind
//! forgery's chance is unchanged, since it depends on how many (port, ID) pairs are
//! outstanding, not on how they are spread over the ports. What changes is that the queries
//! of one burst stand or fall together: a spoofer who has learnt one port in use (by a side
//! channel, as SAD DNS did) finds either all of a burst's queries behind it or none, with
//! the chance one query had before (1 in the slots of the worker's lane: 64 with one
//! worker), where before each query of the burst took that chance on its own. The expected
//! number of exposed queries is the same; a burst he triggers himself is exposed whole or
//! not at all.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;

use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags};

use super::super::message::Query;
use super::waiter::{SendWhenWritable, SentOutcome};
use super::{PooledSocket, Registration, Waiter};
use crate::serve::udp::batch::BATCH;

/// One first datagram waiting for the burst's end.
struct Outgoing {
    socket: Arc<PooledSocket>,
    /// The query's octets, copied into a buffer of the outbox's: moving the fixed-size
    /// `Query` (~290 octets) into the queue cost ~115 instructions per miss in memcpy
    /// (callgrind).
    datagram: Vec<u8>,
    /// Told how the send went.
    waiter: Arc<Waiter>,
}

/// The burst state of this thread (its buffers stay allocated between bursts).
#[derive(Default)]
struct Outbox {
    /// A burst is open.
    open: bool,
    /// The slot draw per server set (keyed by its address: a set lives while routes hold it,
    /// longer than any burst), taken by every registration of the burst.
    draws: Vec<(usize, u32)>,
    queued: Vec<Outgoing>,
    /// Datagram buffers of earlier bursts, for reuse.
    spare: Vec<Vec<u8>>,
}

/// Spare datagram buffers kept per thread: a client batch's worth.
const SPARE_KEPT: usize = BATCH;

thread_local! {
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

/// A burst open on this thread; dropping it (or [`Burst::close`]) sends what was queued.
///
/// Held only while the serving task polls the misses it has just started, synchronously
/// (never across an `.await`: the queue is the thread's, and an exchange waits for its
/// queued send without a timer of its own, so the burst must close on the thread that
/// opened it).
#[derive(Debug)]
pub(crate) struct Burst(());

impl Burst {
    /// Opens a burst on this thread.
    pub(crate) fn open() -> Burst {
        OUTBOX.with_borrow_mut(|outbox| outbox.open = true);
        Burst(())
    }

    /// Sends the queued datagrams and tells their exchanges; returns how many there were
    /// (their exchanges are woken: poll the misses again).
    pub(crate) fn close(self) -> usize {
        let count = finish();
        std::mem::forget(self);
        count
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        // The serving task's future was dropped mid-burst: still send (or fail) the queue,
        // so no exchange waits for a send that never happens.
        finish();
    }
}

/// Ends this thread's burst: sends its queue; returns how many datagrams it held.
fn finish() -> usize {
    let mut queued = OUTBOX.with_borrow_mut(|outbox| {
        outbox.open = false;
        outbox.draws.clear();
        std::mem::take(&mut outbox.queued)
    });
    let count = queued.len();
    // Sent outside the borrow: a waiter's wake-up may run code that asks for the outbox.
    send_all(&queued);
    // The buffers go back for the next burst.
    OUTBOX.with_borrow_mut(|outbox| {
        for outgoing in queued.drain(..) {
            if outbox.spare.len() < SPARE_KEPT {
                outbox.spare.push(outgoing.datagram);
            }
        }
        if outbox.queued.is_empty() {
            outbox.queued = queued;
        }
    });
    count
}

/// How a send went: [`Registration::send`].
pub(in crate::serve::forward) enum Sending<'a> {
    /// Sent, or failed (with the error `try_send` reported).
    Done(io::Result<()>),
    /// To be waited for: its output is the send's result and whether it waited for room in
    /// the socket's buffer (then the exchange reads the clock again).
    Wait(SendWait<'a>),
}

/// A send the exchange waits for: one future for both waits, so the exchange's future has
/// one wait here, not two (a second await point grew every miss's future by 64 octets,
/// print-type-sizes).
pub(in crate::serve::forward) enum SendWait<'a> {
    /// Queued in this thread's burst: the waiter is told how it went.
    Queued(&'a Waiter),
    /// Waiting for room in the socket's buffer.
    WhenWritable(SendWhenWritable),
}

impl Future for SendWait<'_> {
    type Output = (io::Result<()>, bool);

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        loop {
            match &mut *self {
                SendWait::Queued(waiter) => match std::task::ready!(waiter.poll_sent(cx)) {
                    SentOutcome::Done(done) => return std::task::Poll::Ready((done, false)),
                    // The burst found the buffer full: wait for room, as after `try_send`.
                    SentOutcome::WhenWritable(wait) => *self = SendWait::WhenWritable(wait),
                },
                SendWait::WhenWritable(wait) => {
                    return wait.as_mut().poll(cx).map(|done| (done, true));
                }
            }
        }
    }
}

impl Registration {
    /// Sends `query` (whose ID must be [`Registration::id`]): the exchange's `first`
    /// datagram to this server is queued when a burst is open on this thread (its outcome
    /// then goes to `waiter`); anything else (a retransmit, a miss outside a burst) is
    /// [`Registration::try_send`] at once.
    pub(in crate::serve::forward) fn send<'a>(
        &self,
        query: &Query,
        waiter: &'a Arc<Waiter>,
        first: bool,
    ) -> Sending<'a> {
        if first && is_open() {
            queue(&self.socket, query.as_bytes(), waiter);
            return Sending::Wait(SendWait::Queued(waiter));
        }
        match self.try_send(query.as_bytes()) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Sending::Wait(
                SendWait::WhenWritable(self.send_when_writable(query.clone())),
            ),
            done => Sending::Done(done),
        }
    }
}

/// The slot draw a registration on the server set `key` uses: `fresh` outside a burst, the
/// burst's first draw for that set inside one.
pub(super) fn slot_draw(key: usize, fresh: u32) -> u32 {
    OUTBOX
        .try_with(|outbox| {
            let Ok(mut outbox) = outbox.try_borrow_mut() else {
                return fresh;
            };
            if !outbox.open {
                return fresh;
            }
            match outbox.draws.iter().find(|(set, _)| *set == key) {
                Some(&(_, draw)) => draw,
                None => {
                    outbox.draws.push((key, fresh));
                    fresh
                }
            }
        })
        .unwrap_or(fresh)
}

/// True while a burst is open on this thread.
fn is_open() -> bool {
    OUTBOX
        .try_with(|outbox| outbox.try_borrow().is_ok_and(|outbox| outbox.open))
        .unwrap_or(false)
}

/// Queues `datagram` for `socket` in this thread's burst ([`is_open`] said there is one).
fn queue(socket: &Arc<PooledSocket>, datagram: &[u8], waiter: &Arc<Waiter>) {
    OUTBOX.with_borrow_mut(|outbox| {
        let mut buffer = outbox.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(datagram);
        outbox.queued.push(Outgoing {
            socket: Arc::clone(socket),
            datagram: buffer,
            waiter: Arc::clone(waiter),
        });
    });
}

/// Sends every datagram of `queued`, one sendmmsg(2) per run for the same socket, and
/// reports each one's outcome to its waiter.
fn send_all(queued: &[Outgoing]) {
    let mut start = 0;
    while let Some(first) = queued.get(start) {
        let run = queued
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take(BATCH)
            .take_while(|o| Arc::ptr_eq(&o.socket, &first.socket))
            .count();
        let end = start + run;
        let mut next = start;
        while next < end {
            let Some(pending) = queued.get(next..end) else {
                break;
            };
            // Straight to the kernel, not through tokio's `try_io`: a socket opened in this
            // burst has no readiness observed yet, and `try_io` would report it full
            // unasked. A full buffer is found by the kernel just the same, and the exchanges'
            // own sends then clear the stale readiness.
            match send_run(&first.socket.socket, pending) {
                Ok(sent) => {
                    for outgoing in pending.iter().take(sent.max(1)) {
                        outgoing.waiter.report_sent(SentOutcome::Done(Ok(())));
                    }
                    next += sent.max(1);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // A full buffer: each exchange waits for room itself, as after `try_send`.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    for outgoing in pending {
                        let socket = Arc::clone(&outgoing.socket);
                        let datagram = outgoing.datagram.clone();
                        outgoing
                            .waiter
                            .report_sent(SentOutcome::WhenWritable(Box::pin(async move {
                                socket.socket.send(&datagram).await.map(|_| ())
                            })));
                    }
                    next = end;
                }
                // sendmmsg(2) reports an error only for the first datagram (an ICMP error
                // queued on the socket, say); the rest are tried again.
                Err(error) => {
                    if let Some(outgoing) = pending.first() {
                        outgoing.waiter.report_sent(SentOutcome::Done(Err(error)));
                    }
                    next += 1;
                }
            }
        }
        start = end;
    }
}

/// Datagrams up to which a run is sent through a small header array: filling all [`BATCH`]
/// headers for one datagram costs more than the call's own user-side work (see
/// `serve::udp::batch`).
const SMALL_RUN: usize = 4;

/// One sendmmsg(2) of `pending` (at most [`BATCH`]) on their connected socket.
fn send_run(socket: &impl std::os::fd::AsFd, pending: &[Outgoing]) -> io::Result<usize> {
    if pending.len() <= SMALL_RUN {
        send_array::<SMALL_RUN>(socket, pending)
    } else {
        send_array::<BATCH>(socket, pending)
    }
}

/// sendmmsg(2) of up to `N` of `pending`.
fn send_array<const N: usize>(
    socket: &impl std::os::fd::AsFd,
    pending: &[Outgoing],
) -> io::Result<usize> {
    let slices: [[IoSlice<'_>; 1]; N] = std::array::from_fn(|i| {
        [IoSlice::new(
            pending.get(i).map_or(&[][..], |o| o.datagram.as_slice()),
        )]
    });
    let mut controls: [SendAncillaryBuffer<'_, '_, '_>; N] =
        std::array::from_fn(|_| SendAncillaryBuffer::default());
    let mut slices = slices.iter();
    let mut headers = controls
        .each_mut()
        .map(|control| MMsgHdr::new(slices.next().map_or(&[][..], |slice| &slice[..]), control));
    let count = pending.len().min(N);
    let headers = headers.get_mut(..count).unwrap_or_default();
    rustix::net::sendmmsg(socket, headers, SendFlags::empty()).map_err(io::Error::from)
}
