//! The reader task of a pooled socket: hands each answer to the query waiting for its ID.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use tokio::io::Interest;

use super::super::recycle::Datagram;
use super::{Arrival, PooledSocket};
use crate::serve::metrics::Metrics;
use crate::serve::udp::batch::RecvBatch;

/// Datagrams one read of a pooled socket can take (see [`read_responses`]): a client
/// batch's worth, as the answers to a burst's queries come back on one socket (see
/// `outbox`); 4 took ~2.2 answers per read at ~80,000 misses/s (perf stat: 0.50 recvmmsg
/// per miss, 0.40 with 32 and no bursts, 0.19 with bursts). Each buffer holds
/// [`crate::serve::udp::batch::QUERY_ROOM`] octets: 128 KiB per worker thread (4 took 16).
/// We advertise 1232 (EDNS0); a datagram that did not fit may have been cut and is treated
/// like TC.
const READ_BATCH: usize = crate::serve::udp::batch::BATCH;

thread_local! {
    /// The readers' receive buffers, one set per runtime worker thread (a reader borrows
    /// it only for one synchronous read-and-dispatch step, never across an `.await`).
    static ANSWERS: RefCell<RecvBatch> = RefCell::new(RecvBatch::with_capacity(READ_BATCH));
}
/// Reads `pooled` until it is retired and idle, handing each datagram to the query waiting
/// for its ID. Anything else (an ID nobody waits for) is ignored and counted in
/// `upstream_rejected` (RFC 5452 §9.1); the kernel has already dropped datagrams from any
/// source but the server the socket is connected to (udp(7)).
///
/// Reads take up to [`READ_BATCH`] datagrams with one recvmmsg(2). Getting fewer proves the
/// queue empty, so the step reports `WouldBlock` to the reactor itself, which clears the
/// readiness (tokio re-arms it if a datagram arrived since it was observed, so none is
/// missed); reading until the kernel said EAGAIN cost a second, empty read per answer:
/// a third of the reader's syscalls.
///
/// The stop signal is polled once, to register the reader for it, and after that only once
/// the socket is retired (`retire` sets the flag before it notifies): selecting over a fresh
/// `Notified` per turn cost the reader ~640 instructions per miss (callgrind). A retired
/// socket still checks the signal before it reads, so a flood cannot keep its reader alive.
pub(super) async fn read_responses(pooled: Arc<PooledSocket>, metrics: Arc<Metrics>) {
    let mut stop = std::pin::pin!(pooled.stop.notified());
    let mut stop_registered = false;
    loop {
        let go_on = std::future::poll_fn(|cx| {
            if !stop_registered || pooled.retired.load(Ordering::Relaxed) {
                stop_registered = true;
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
            }
            pooled.socket.poll_recv_ready(cx).map(|ready| ready.is_ok())
        })
        .await;
        if !go_on {
            return;
        }
        // Errors: `WouldBlock` (drained, see above) or an ICMP error queued on the connected
        // socket (ECONNREFUSED: the server's port is closed), which reading it cleared; the
        // queries concerned retransmit or fail over on their own timers.
        let _ = pooled
            .socket
            .try_io(Interest::READABLE, || read_step(&pooled, &metrics));
        // A flood on one port must not hold the worker thread.
        tokio::task::consume_budget().await;
    }
}

/// One recvmmsg(2) on `pooled` and the dispatch of what it got; `WouldBlock` once the queue
/// is known to be empty.
fn read_step(pooled: &PooledSocket, metrics: &Metrics) -> io::Result<()> {
    ANSWERS.with_borrow_mut(|batch| {
        let count = batch.receive(&pooled.socket)?;
        for index in 0..count {
            let delivered = batch
                .payload(index)
                .is_some_and(|(datagram, cut)| dispatch(pooled, datagram, cut));
            if !delivered {
                metrics.upstream_rejected.inc();
            }
        }
        if count < batch.capacity() {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        Ok(())
    })
}

/// Hands `datagram` to the query waiting for its ID on `pooled`; false if nobody is.
fn dispatch(pooled: &PooledSocket, datagram: &[u8], cut: bool) -> bool {
    let Some(&[high, low]) = datagram.first_chunk::<2>() else {
        return false;
    };
    let id = u16::from_be_bytes([high, low]);
    let waiter = pooled
        .waiting()
        .iter()
        .find(|(waiting_id, _)| *waiting_id == id)
        .map(|(_, waiter)| Arc::clone(waiter));
    let Some(waiter) = waiter else {
        return false;
    };
    waiter.deliver(Arrival {
        datagram: Datagram::copy_of(datagram),
        server: pooled.server,
        cut,
    })
}
