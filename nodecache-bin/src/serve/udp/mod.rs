//! Serving clients over UDP: one OS thread per worker socket (the SO_REUSEPORT group spreads
//! clients over them) reading queries in batches, answering cache hits inline and sending
//! their replies in one batch, and handing each miss to the tokio runtime so one slow
//! upstream never holds up the hits behind it.
//!
//! Why a thread and not a runtime task: a busy hit loop gains nothing from the reactor but
//! its cost (epoll_wait, wake-ups, re-registration); a thread blocked in recvmmsg(2) with
//! MSG_WAITFORONE sleeps when idle and takes everything queued when woken. The socket is
//! blocking with SO_RCVTIMEO, so the thread sees a stop request within [`STOP_POLL`].

mod batch;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::serve::metrics::Proto;
use crate::serve::responder::{Immediate, PendingQuery, Responder};
use batch::{Datagram, RecvBatch, SendBatch, send_one_nonblocking};

/// Longest a worker blocks in recvmmsg(2) before looking at the stop flag (SO_RCVTIMEO):
/// SIGTERM stops the reading within this.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Longest a batch send waits for room in the socket's send buffer (SO_SNDTIMEO); past it
/// the reply is dropped like a lost datagram.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// Pause after an unexpected receive error (not a timeout or a signal), so a socket that
/// keeps failing does not spin a core; the next receive tells whether it recovered.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Initial size of a miss's reply buffer.
const MISS_REPLY_CAPACITY: usize = 1232;

/// The running UDP worker threads.
#[derive(Debug, Default)]
pub(crate) struct UdpWorkers {
    threads: Vec<JoinHandle<()>>,
}

/// What one worker thread needs.
#[derive(Debug)]
struct Worker {
    socket: Arc<UdpSocket>,
    responder: Arc<Responder>,
    runtime: Handle,
    stopped: watch::Receiver<bool>,
}

impl UdpWorkers {
    /// Starts a worker thread on `socket` (bound to `addr`, one of a SO_REUSEPORT group):
    /// it serves until `stopped` turns true or its sender goes; misses run on `runtime`.
    pub(crate) fn start(
        &mut self,
        addr: SocketAddr,
        socket: UdpSocket,
        responder: Arc<Responder>,
        runtime: Handle,
        stopped: watch::Receiver<bool>,
    ) -> io::Result<()> {
        // Blocking, so the thread sleeps in the kernel; the timeouts bound every wait.
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(STOP_POLL))?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        let worker = Worker {
            socket: Arc::new(socket),
            responder,
            runtime,
            stopped,
        };
        let thread = thread::Builder::new()
            .name(format!("nodecache-udp {addr}"))
            .spawn(move || worker.run())?;
        self.threads.push(thread);
        Ok(())
    }

    /// Resolves once every worker thread has stopped reading (call after setting the stop
    /// flag). Misses they handed to the runtime may still be in flight.
    pub(crate) async fn stopped(self) {
        let _ = tokio::task::spawn_blocking(move || {
            for thread in self.threads {
                // A worker that panicked has stopped reading too.
                let _ = thread.join();
            }
        })
        .await;
    }
}

impl Worker {
    /// The worker thread: receive a batch, answer it, send the replies, until stopped. On
    /// return the thread's handle on the socket goes; misses still in flight keep it open
    /// until their replies are sent.
    fn run(self) {
        // Prefetches started on a hit are runtime tasks spawned from this thread.
        let _runtime = self.runtime.enter();
        let mut receiver = RecvBatch::new();
        let mut sender = SendBatch::new();
        while !self.stop_requested() {
            let count = match receiver.receive(&self.socket) {
                Ok(count) => count,
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                // Errors on an unconnected UDP socket are transient (ENOMEM, ENOBUFS).
                Err(_) => {
                    thread::sleep(ERROR_BACKOFF);
                    continue;
                }
            };
            // One clock read per batch: the batch arrived together.
            let received = Instant::now();
            for index in 0..count {
                let Datagram::Query { bytes, from } = receiver.datagram(index) else {
                    self.responder.metrics().malformed_dropped.inc();
                    continue;
                };
                let Some(out) = sender.next_buffer() else {
                    // Cannot happen (a batch holds as many replies as datagrams); if it
                    // did, the query is dropped and the client retransmits.
                    continue;
                };
                match self
                    .responder
                    .answer_now(bytes, Proto::Udp, from.is_ipv6(), received, out)
                {
                    Immediate::Reply => sender.commit(from),
                    Immediate::Drop => {}
                    Immediate::Forward(pending) => self.spawn_miss(pending, from),
                }
            }
            if sender.queued() > 0 {
                sender.flush(&self.socket);
            }
        }
    }

    /// True once the stop flag is set or its sender is gone.
    fn stop_requested(&self) -> bool {
        *self.stopped.borrow() || self.stopped.has_changed().is_err()
    }

    /// Answers a miss on the runtime and sends the reply from there.
    fn spawn_miss(&self, pending: Box<PendingQuery>, client: SocketAddr) {
        let socket = Arc::clone(&self.socket);
        let responder = Arc::clone(&self.responder);
        self.runtime.spawn(async move {
            let mut out = Vec::with_capacity(MISS_REPLY_CAPACITY);
            let in_flight = responder.answer_forwarded(pending, &mut out).await;
            send_reply(socket, out, client).await;
            drop(in_flight);
        });
    }
}

/// Sends a miss's reply from a runtime task. The socket is blocking (for the worker
/// thread), so the send is MSG_DONTWAIT; when the send buffer is full the reply waits for
/// room on the blocking pool (up to SO_SNDTIMEO), never on a runtime worker. A failed send
/// loses one reply; the client retransmits.
async fn send_reply(socket: Arc<UdpSocket>, reply: Vec<u8>, client: SocketAddr) {
    if let Err(error) = send_one_nonblocking(&socket, &reply, client)
        && error.kind() == io::ErrorKind::WouldBlock
    {
        let _ = tokio::task::spawn_blocking(move || socket.send_to(&reply, client)).await;
    }
}

