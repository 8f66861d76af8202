//! Long-lived upstream UDP sockets: per server, [`SOCKETS_PER_SERVER`] slots, each holding a
//! socket bound to its own kernel-chosen ephemeral port and connected to the server. A query
//! takes a slot at random and an ID unique among the socket's outstanding queries; one reader
//! task per socket ([`reader`]) hands each datagram to the query waiting for its ID.
//!
//! Why not a fresh socket per query (RFC 5452 §9.2's ideal, and what this module replaced):
//! socket(2), bind, epoll registration, close and a receive buffer per question were half the
//! CPU of a cache miss. Why not a handful of fixed sockets (dnsdist's default): an off-path
//! attacker who learns the few ports in use (by probing, as in SAD DNS) is left with only the
//! 16-bit ID to guess. The middle way, as unbound's `outgoing-range` keeps a bounded set of
//! random ports in use: [`SOCKETS_PER_SERVER`] ports open at once, and each socket retired
//! after [`QUERIES_PER_SOCKET`] queries or [`SOCKET_LIFETIME`], whichever comes first, so the
//! ports keep moving over the whole ephemeral range: at 100,000 misses a second over 64
//! sockets a port lives ~0.33 s, and a quiet daemon's ports still move every 10 s (opening,
//! registering and closing a socket every 128 queries was ~1.2 % of a miss's CPU). A spoofer
//! must then match the port of one of 64 short-lived sockets, the ID (RFC 5452 §9.1: the
//! source is the connected server, which the kernel enforces too) and, with 0x20, the case
//! of the name.
//!
//! Bursts (see [`outbox`]): the misses a UDP worker starts from one client receive batch
//! share the slot drawn for the first of them, and their first datagrams leave in one
//! sendmmsg(2). What changes for a spoofer: nothing for one query (its port is still one of
//! the 64 random ports, its ID random and unique on the socket, and a blind forgery's chance
//! still depends only on the number of outstanding (port, ID) pairs); the queries of one
//! burst share their port, so a spoofer who learnt one port in use reaches all of a burst's
//! queries or none of them, where before each had its own 1 in 64 chance (see [`outbox`]).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::message::Query;
use super::random;

mod outbox;
mod reader;
mod waiter;

pub(crate) use self::outbox::Burst;
pub(super) use self::outbox::Sending;
pub(super) use self::waiter::{Arrival, Waiter};
use crate::serve::metrics::{Metrics, ServerDurations};
use crate::serve::udp::workers::current_lane;

/// Sockets open at once per upstream server.
pub(super) const SOCKETS_PER_SERVER: usize = 64;
/// Queries a socket carries before it is replaced.
pub(super) const QUERIES_PER_SOCKET: u32 = 512;
/// Longest a socket is used for new queries.
pub(super) const SOCKET_LIFETIME: Duration = Duration::from_secs(10);
/// Tries at a free ID on one socket (it has at most [`QUERIES_PER_SOCKET`] in use, so the
/// first almost always succeeds).
const ID_TRIES: usize = 32;

/// One connected socket and the queries outstanding on it, by ID.
#[derive(Debug)]
struct PooledSocket {
    socket: UdpSocket,
    server: SocketAddr,
    /// Outstanding queries by ID (at most [`QUERIES_PER_SOCKET`], a dozen or so at a time:
    /// a linear scan beats hashing); also guards `retired` transitions (see
    /// [`PooledSocket::retire`]).
    waiting: Mutex<Vec<(u16, Arc<Waiter>)>>,
    retired: AtomicBool,
    /// Wakes the reader to exit once retired and idle.
    stop: Notify,
}

impl PooledSocket {
    fn waiting(&self) -> MutexGuard<'_, Vec<(u16, Arc<Waiter>)>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No new queries; the reader exits when the outstanding ones are gone (a late answer
    /// after that has nobody to go to anyway).
    fn retire(&self) {
        let waiting = self.waiting();
        self.retired.store(true, Ordering::Relaxed);
        if waiting.is_empty() {
            self.stop.notify_one();
        }
    }
}

/// A live slot: its socket and how much it was used.
#[derive(Debug)]
struct Live {
    socket: Arc<PooledSocket>,
    queries: u32,
    /// Opened at + [`SOCKET_LIFETIME`]: compared, not subtracted, per query.
    retire_at: Instant,
}

/// The sockets of one server.
#[derive(Debug)]
pub(super) struct ServerSockets {
    server: SocketAddr,
    slots: Box<[Mutex<Option<Live>>]>,
    metrics: Arc<Metrics>,
    /// The server's exchange times, recorded by exchanges that got its answer (UDP or TCP).
    durations: Arc<ServerDurations>,
}

/// One query's claim on a socket and ID; dropping it forgets the ID.
#[derive(Debug)]
pub(super) struct Registration {
    socket: Arc<PooledSocket>,
    id: u16,
}

impl Registration {
    /// The query ID to send.
    pub(super) fn id(&self) -> u16 {
        self.id
    }

    /// Sends `message` (whose ID must be [`Registration::id`]) to the server if the socket
    /// has room for it now (`WouldBlock` if not: see
    /// [`send_when_writable`](Self::send_when_writable)).
    /// No await: callgrind counted ~200 instructions per miss in the readiness future of an
    /// awaited send that is ready at once.
    pub(super) fn try_send(&self, message: &[u8]) -> io::Result<()> {
        self.socket.socket.try_send(message).map(|_| ())
    }

    /// Sends `query` once the socket has room (after [`try_send`](Self::try_send) found it
    /// full). Boxed with its own copy of the query: rare, and kept out of every exchange's
    /// future.
    pub(super) fn send_when_writable(
        &self,
        query: Query,
    ) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send>> {
        let socket = Arc::clone(&self.socket);
        Box::pin(async move { socket.socket.send(query.as_bytes()).await.map(|_| ()) })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut waiting = self.socket.waiting();
        if let Some(pos) = waiting.iter().position(|(id, _)| *id == self.id) {
            waiting.swap_remove(pos);
        }
        if waiting.is_empty() && self.socket.retired.load(Ordering::Relaxed) {
            self.socket.stop.notify_one();
        }
    }
}

impl ServerSockets {
    fn new(server: SocketAddr, metrics: Arc<Metrics>) -> ServerSockets {
        ServerSockets {
            server,
            slots: (0..SOCKETS_PER_SERVER).map(|_| Mutex::new(None)).collect(),
            durations: metrics.upstream_durations.of(server),
            metrics,
        }
    }

    /// The server's exchange times (`coredns_proxy_request_duration_seconds`).
    pub(super) fn durations(&self) -> &ServerDurations {
        &self.durations
    }

    /// Claims a random socket and a free ID on it for a query whose datagrams go to
    /// `waiter`. Opens (or replaces) the slot's socket when it is due at `now`.
    pub(super) fn register(&self, waiter: &Arc<Waiter>, now: Instant) -> io::Result<Registration> {
        // One draw for the socket's slot and the first ID tried: two cost a miss ~20
        // instructions more (callgrind).
        let [s0, s1, s2, s3, i0, i1] = {
            let mut draw = [0u8; 6];
            random::fill(&mut draw);
            draw
        };
        // Inside a burst every registration takes the burst's slot (see `outbox`).
        let draw = outbox::slot_draw(
            std::ptr::from_ref(self).addr(),
            u32::from_ne_bytes([s0, s1, s2, s3]),
        );
        let socket = self.claim_socket(now, draw)?;
        let mut id = u16::from_ne_bytes([i0, i1]);
        let mut waiting = socket.waiting();
        for _ in 0..ID_TRIES {
            if waiting.iter().all(|(taken, _)| *taken != id) {
                waiting.push((id, Arc::clone(waiter)));
                drop(waiting);
                return Ok(Registration { socket, id });
            }
            id = random::u16();
        }
        Err(io::Error::from(io::ErrorKind::AddrInUse))
    }

    /// The socket of the slot `draw` (a random word) picks, counted as one more query on it.
    ///
    /// A UDP worker takes its slots from its own lane (an equal share of the slots): the
    /// socket it opens there is read by a task on its own runtime, so an answer wakes the
    /// miss on the same thread instead of through another thread's reactor and a futex.
    /// The ports of all lanes together are still the [`SOCKETS_PER_SERVER`] random ports
    /// open at once. Anything else (TCP clients' misses, prefetches started on the main
    /// runtime) takes any slot.
    fn claim_socket(&self, now: Instant, draw: u32) -> io::Result<Arc<PooledSocket>> {
        let below = |len: usize| {
            usize::try_from(draw)
                .unwrap_or(0)
                .checked_rem(len)
                .unwrap_or(0)
        };
        let index = match current_lane() {
            Some(lane) if lane.count > 1 && lane.count <= self.slots.len() => {
                let per_lane = self.slots.len() / lane.count;
                lane.index * per_lane + below(per_lane)
            }
            _ => below(self.slots.len()),
        };
        let Some(slot) = self.slots.get(index) else {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let due = slot
            .as_ref()
            .is_none_or(|live| live.queries >= QUERIES_PER_SOCKET || now >= live.retire_at);
        if due {
            let fresh = self.open()?;
            if let Some(old) = slot.replace(Live {
                socket: fresh,
                queries: 0,
                retire_at: now + SOCKET_LIFETIME,
            }) {
                old.socket.retire();
            }
        }
        let live = slot.as_mut().ok_or(io::ErrorKind::NotFound)?;
        live.queries += 1;
        Ok(Arc::clone(&live.socket))
    }

    /// A new socket on a kernel-chosen port (RFC 5452 §9.2: the port is random), connected
    /// to the server, with its reader task.
    fn open(&self) -> io::Result<Arc<PooledSocket>> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(self.server),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        // connect(2) on a socket not yet bound binds it to a kernel-chosen ephemeral port
        // and fixes its peer in the same call: there is no moment when the port takes
        // datagrams from any source, so the reader needs no source check of its own.
        socket.connect(&self.server.into())?;
        socket.set_nonblocking(true)?;
        let pooled = Arc::new(PooledSocket {
            socket: UdpSocket::from_std(socket.into())?,
            server: self.server,
            waiting: Mutex::new(Vec::new()),
            retired: AtomicBool::new(false),
            stop: Notify::new(),
        });
        tokio::spawn(reader::read_responses(
            Arc::clone(&pooled),
            Arc::clone(&self.metrics),
        ));
        Ok(pooled)
    }

    /// Local ports of the sockets open now (for tests).
    #[cfg(test)]
    pub(super) fn ports(&self) -> Vec<u16> {
        self.slots
            .iter()
            .filter_map(|slot| {
                let slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                slot.as_ref()
                    .and_then(|live| live.socket.socket.local_addr().ok())
                    .map(|addr| addr.port())
            })
            .collect()
    }
}

impl Drop for ServerSockets {
    fn drop(&mut self) {
        for slot in &self.slots {
            let slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(live) = slot.as_ref() {
                live.socket.retire();
            }
        }
    }
}

/// The socket sets of all servers, created on first use.
#[derive(Debug)]
pub(super) struct UdpSockets {
    metrics: Arc<Metrics>,
    /// Looked up when a zone table is built (routes hold their servers' sets).
    by_server: Mutex<HashMap<SocketAddr, Arc<ServerSockets>, foldhash::fast::RandomState>>,
}

impl UdpSockets {
    /// No sockets yet.
    pub(super) fn new(metrics: Arc<Metrics>) -> UdpSockets {
        UdpSockets {
            metrics,
            by_server: Mutex::new(HashMap::default()),
        }
    }

    /// The sockets of `server`.
    pub(super) fn get(&self, server: SocketAddr) -> Arc<ServerSockets> {
        let mut by_server = self
            .by_server
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            by_server
                .entry(server)
                .or_insert_with(|| Arc::new(ServerSockets::new(server, Arc::clone(&self.metrics)))),
        )
    }

    /// Forgets the socket sets of servers not in `servers` (the upstreams after a reload):
    /// a forgotten set closes its sockets once the last route holding it (an exchange still
    /// on the old zone table) lets go. Without this every server ever configured kept up to
    /// [`SOCKETS_PER_SERVER`] sockets and their readers open until exit.
    pub(super) fn keep_only(&self, servers: &[SocketAddr]) {
        self.by_server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|server, _| servers.contains(server));
    }

    /// The servers with a socket set (for tests).
    #[cfg(test)]
    pub(super) fn servers(&self) -> Vec<SocketAddr> {
        let by_server = self
            .by_server
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        by_server.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests;
