//! The bounded upstream TCP pool, one per server (SPEC §5; the limits dnsmasq's 20-connection
//! cap made CoreDNS users wish for, NOTES "CoreDNS forward"):
//! - at most `max_connections` connections, each carrying up to `max_pipeline` outstanding
//!   queries matched by ID (RFC 7766 §6.2.1.1: responses may come in any order; IDs are
//!   unique per connection);
//! - a query that finds every connection full waits in a FIFO of at most `max_queue`; beyond
//!   it the query fails at once ([`PoolError::QueueFull`]);
//! - a connection with nothing outstanding for `idle_timeout` is closed exactly then;
//! - a connection that errors fails its outstanding queries, which retry once elsewhere.
//!
//! Accounting is one short lock per pool, never held across an await. Capacity moves by RAII
//! tokens ([`Slot`], [`ConnectPermit`]) handed to waiters through oneshot channels, so a
//! cancelled query or waiter gives back what it held.

mod conn;
mod grant;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use self::conn::Conn;
use self::grant::{ConnectPermit, Grant, QueuedWait, Slot};
use super::Question;
use super::loop_guard::OwnQueries;
use crate::serve::config::PoolConfig;
use crate::serve::metrics::Metrics;

/// Most queries per connection: IDs are 16 bits and must be unique per connection.
const MAX_IDS_PER_CONNECTION: usize = 60_000;

/// Why the pool could not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum PoolError {
    /// Every connection was full and so was the wait queue.
    #[error("TCP wait queue full")]
    QueueFull,
    /// Connecting to the server failed.
    #[error("TCP connect failed: {0}")]
    Connect(std::io::ErrorKind),
    /// The connection failed (twice, counting the retry) before the answer came.
    #[error("TCP connection lost")]
    ConnectionLost,
}

/// The pools of all servers, created on first use.
#[derive(Debug)]
pub(super) struct Pools {
    config: PoolConfig,
    metrics: Arc<Metrics>,
    by_server: Mutex<HashMap<SocketAddr, Arc<Pool>>>,
}

impl Pools {
    /// No pool yet; each gets `config`'s limits.
    pub(super) fn new(config: &PoolConfig, metrics: Arc<Metrics>) -> Pools {
        Pools {
            config: config.clone(),
            metrics,
            by_server: Mutex::new(HashMap::new()),
        }
    }

    /// The pool of `server`.
    pub(super) fn get(&self, server: SocketAddr) -> Arc<Pool> {
        let mut pools = self
            .by_server
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(pools.entry(server).or_insert_with(|| {
            Arc::new(Pool {
                server,
                max_connections: self.config.max_connections.max(1),
                max_pipeline: self.config.max_pipeline.clamp(1, MAX_IDS_PER_CONNECTION),
                max_queue: self.config.max_queue,
                idle_timeout: self.config.idle_timeout,
                metrics: Arc::clone(&self.metrics),
                state: Mutex::new(State::default()),
            })
        }))
    }
}

/// The connections to one server.
#[derive(Debug)]
pub(super) struct Pool {
    server: SocketAddr,
    max_connections: usize,
    max_pipeline: usize,
    max_queue: usize,
    idle_timeout: std::time::Duration,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

/// The pool's books.
#[derive(Debug, Default)]
struct State {
    conns: Vec<ConnEntry>,
    /// Connections being opened (they count against `max_connections`).
    connecting: usize,
    waiters: VecDeque<Waiter>,
    next_ticket: u64,
    next_conn_id: u64,
}

/// One open connection.
#[derive(Debug)]
struct ConnEntry {
    id: u64,
    conn: Arc<Conn>,
    /// Slots handed out: queries using it (outstanding or about to send).
    outstanding: usize,
    /// When `outstanding` last dropped to zero (or the connection opened).
    idle_since: Instant,
}

/// A query waiting for capacity.
#[derive(Debug)]
struct Waiter {
    ticket: u64,
    grant: oneshot::Sender<Grant>,
}

impl Pool {
    /// Sends `message` (its ID is replaced by one unique on the connection) and returns the
    /// response message with that ID. A connection lost mid-query is retried once.
    pub(super) async fn query(
        self: &Arc<Self>,
        message: &[u8],
        question: &Question,
        own: &OwnQueries,
    ) -> Result<Vec<u8>, PoolError> {
        let mut last = PoolError::ConnectionLost;
        for _attempt in 0..2 {
            let slot = self.acquire().await?;
            match slot.conn.ask(message, question, own).await {
                Err(PoolError::ConnectionLost) => last = PoolError::ConnectionLost,
                done => return done,
            }
        }
        Err(last)
    }

    /// A slot: on a connection with room, else on a new connection if allowed, else after
    /// waiting in the queue.
    async fn acquire(self: &Arc<Self>) -> Result<Slot, PoolError> {
        let queued = {
            let mut state = self.lock();
            let max_pipeline = self.max_pipeline;
            if let Some(entry) = state
                .conns
                .iter_mut()
                .find(|e| e.outstanding < max_pipeline && !e.conn.is_dead())
            {
                entry.outstanding += 1;
                return Ok(self.slot(entry));
            }
            if state.conns.len() + state.connecting < self.max_connections {
                state.connecting += 1;
                None
            } else if state.waiters.len() < self.max_queue {
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                let (grant, receiver) = oneshot::channel();
                state.waiters.push_back(Waiter { ticket, grant });
                self.metrics.pool_queue.inc();
                Some(QueuedWait {
                    pool: Arc::clone(self),
                    ticket,
                    grant: receiver,
                })
            } else {
                self.metrics.pool_queue_rejected.inc();
                return Err(PoolError::QueueFull);
            }
        };
        let permit = match queued {
            None => ConnectPermit {
                pool: Arc::clone(self),
                armed: true,
            },
            Some(mut wait) => match (&mut wait.grant).await {
                Ok(Grant::Slot(slot)) => return Ok(slot),
                Ok(Grant::Connect(permit)) => permit,
                // The pool holds every sender while it lives; unreachable in practice.
                Err(_) => return Err(PoolError::ConnectionLost),
            },
        };
        self.connect(permit).await
    }

    /// Opens a connection with `permit` and takes its first slot.
    async fn connect(self: &Arc<Self>, mut permit: ConnectPermit) -> Result<Slot, PoolError> {
        // On failure or cancellation the permit drops and gives the room back.
        let stream = TcpStream::connect(self.server)
            .await
            .map_err(|e| PoolError::Connect(e.kind()))?;
        // Queries are small and latency-bound: don't let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        let (conn, io) = Conn::new(stream);
        let (slot, conn_id) = {
            let mut state = self.lock();
            permit.armed = false;
            state.connecting = state.connecting.saturating_sub(1);
            let id = state.next_conn_id;
            state.next_conn_id += 1;
            state.conns.push(ConnEntry {
                id,
                conn: Arc::clone(&conn),
                outstanding: 1,
                idle_since: Instant::now(),
            });
            self.metrics.pool_connections.inc();
            // Queries that queued while every connection was full or opening get the new
            // connection's other pipeline slots now, not one by one as answers come back.
            self.fill_from_queue(&mut state, id);
            (
                Slot {
                    pool: Arc::clone(self),
                    conn,
                    conn_id: id,
                    armed: true,
                },
                id,
            )
        };
        tokio::spawn(io.run(Arc::clone(&slot.conn), Arc::clone(self), conn_id));
        Ok(slot)
    }

    /// A slot on `entry` (already counted in its `outstanding`).
    fn slot(self: &Arc<Self>, entry: &ConnEntry) -> Slot {
        Slot {
            pool: Arc::clone(self),
            conn: Arc::clone(&entry.conn),
            conn_id: entry.id,
            armed: true,
        }
    }

    /// A query on connection `conn_id` is done: its slot goes to the first waiter, or back.
    fn release(self: &Arc<Self>, conn_id: u64) {
        let mut state = self.lock();
        let Some(pos) = state.conns.iter().position(|e| e.id == conn_id) else {
            // The connection is gone; its capacity was given back when it was removed.
            return;
        };
        if let Some(entry) = state.conns.get(pos).filter(|e| !e.conn.is_dead()) {
            let grant = Grant::Slot(self.slot(entry));
            if Self::hand_to_waiter(&self.metrics, &mut state, grant) {
                return;
            }
        }
        if let Some(entry) = state.conns.get_mut(pos) {
            entry.outstanding = entry.outstanding.saturating_sub(1);
            if entry.outstanding == 0 {
                entry.idle_since = Instant::now();
                // The reader task sleeps until the idle deadline: let it see the new one.
                entry.conn.wake();
            }
        }
    }

    /// Hands free pipeline slots of connection `conn_id` to waiters.
    fn fill_from_queue(self: &Arc<Self>, state: &mut State, conn_id: u64) {
        while !state.waiters.is_empty() {
            let Some(entry) = state
                .conns
                .iter_mut()
                .find(|e| e.id == conn_id && e.outstanding < self.max_pipeline)
            else {
                return;
            };
            entry.outstanding += 1;
            let grant = Grant::Slot(self.slot(entry));
            if !Self::hand_to_waiter(&self.metrics, state, grant) {
                if let Some(entry) = state.conns.iter_mut().find(|e| e.id == conn_id) {
                    entry.outstanding = entry.outstanding.saturating_sub(1);
                }
                return;
            }
        }
    }

    /// Offers `grant` to waiters in FIFO order; false (grant disarmed) when none took it.
    fn hand_to_waiter(metrics: &Metrics, state: &mut State, mut grant: Grant) -> bool {
        while let Some(waiter) = state.waiters.pop_front() {
            metrics.pool_queue.dec();
            match waiter.grant.send(grant) {
                Ok(()) => return true,
                // That waiter is leaving: offer the grant to the next one.
                Err(returned) => grant = returned,
            }
        }
        grant.disarm();
        false
    }

    /// Room for new connections (a connection closed or a connect failed) goes to waiters.
    fn grant_capacity(self: &Arc<Self>, state: &mut State) {
        while !state.waiters.is_empty()
            && state.conns.len() + state.connecting < self.max_connections
        {
            state.connecting += 1;
            let permit = Grant::Connect(ConnectPermit {
                pool: Arc::clone(self),
                armed: true,
            });
            if !Self::hand_to_waiter(&self.metrics, state, permit) {
                state.connecting = state.connecting.saturating_sub(1);
            }
        }
    }

    /// Removes connection `conn_id` after it failed or closed.
    fn remove(self: &Arc<Self>, conn_id: u64) {
        let mut state = self.lock();
        if let Some(pos) = state.conns.iter().position(|e| e.id == conn_id) {
            state.conns.swap_remove(pos);
            self.metrics.pool_connections.dec();
            self.grant_capacity(&mut state);
        }
    }

    /// When connection `conn_id` becomes idle-expired: `None` once it left the pool,
    /// `Some(None)` while queries use it, `Some(Some(deadline))` while idle.
    fn idle_deadline(&self, conn_id: u64) -> Option<Option<Instant>> {
        let state = self.lock();
        let entry = state.conns.iter().find(|e| e.id == conn_id)?;
        Some((entry.outstanding == 0).then(|| entry.idle_since + self.idle_timeout))
    }

    /// Closes connection `conn_id` if it has been idle for `idle_timeout`; true if it did.
    fn close_if_idle(self: &Arc<Self>, conn_id: u64) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let expired = state.conns.iter().position(|e| {
            e.id == conn_id && e.outstanding == 0 && now >= e.idle_since + self.idle_timeout
        });
        let Some(pos) = expired else {
            return false;
        };
        state.conns.swap_remove(pos);
        self.metrics.pool_connections.dec();
        self.metrics.pool_idle_closed.inc();
        self.grant_capacity(&mut state);
        true
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
