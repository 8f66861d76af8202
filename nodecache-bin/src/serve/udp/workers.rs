//! The UDP serving threads: one per worker, each running a current-thread tokio runtime of
//! its own with that worker's socket of every listen address (its share of each
//! SO_REUSEPORT group).
//!
//! Why not every task on one multi-thread runtime (what this replaced): its workers share
//! one I/O driver and steal each other's tasks, so a readiness event one thread picks up is
//! often run by another (a futex wake-up and a context switch), and every wake-up of a task
//! goes through the scheduler's cross-thread queues. callgrind on the miss path, one worker:
//! 409.8 M instructions for 20,000 misses on a current-thread runtime against 456.3 M on a
//! one-worker multi-thread runtime (11 % per miss). Here a worker's misses, the upstream
//! sockets they open (and the tasks reading them), their timers and the prefetches they
//! start all live on the worker's thread. TCP, the admin listener and the signal handling
//! stay on the main runtime.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::serve::listeners::{BindError, register_udp};
use crate::serve::responder::Responder;
use crate::serve::udp::serve_udp;

/// How long a worker's runtime waits for its remaining tasks (upstream readers, TCP pool
/// connections) when it shuts down, after the drain.
const WORKER_SHUTDOWN: Duration = Duration::from_millis(200);

/// Which UDP worker a thread is, for the state worth keeping per worker (the upstream
/// socket slots a worker uses, see `forward::socket_pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lane {
    /// This worker, `0..count`.
    pub(crate) index: usize,
    /// Workers in all.
    pub(crate) count: usize,
}

thread_local! {
    static LANE: Cell<Option<Lane>> = const { Cell::new(None) };
}

/// The lane of the UDP worker running on this thread; `None` on any other thread.
pub(crate) fn current_lane() -> Option<Lane> {
    LANE.try_with(Cell::get).ok().flatten()
}

/// Makes this thread act as the UDP worker `lane` (tests of per-worker state).
#[cfg(test)]
pub(crate) fn enter_lane(lane: Option<Lane>) {
    LANE.set(lane);
}

/// The running UDP workers.
#[derive(Debug)]
pub(crate) struct UdpWorkers {
    /// Every UDP serving task; each ends after its hand-over and its last miss.
    tasks: Vec<JoinHandle<()>>,
    /// The worker threads.
    threads: Vec<ThreadHandle<()>>,
    /// Dropping these lets each worker's runtime end (after the drain: misses of TCP clients
    /// may still use upstream sockets a worker opened).
    release: Vec<oneshot::Sender<()>>,
}

impl UdpWorkers {
    /// Starts one thread per worker; worker `i` serves socket `i` of every group. Returns
    /// once every socket is registered with its worker's runtime, or the first failure
    /// (the workers started so far are stopped).
    pub(crate) async fn start(
        groups: Vec<(SocketAddr, Vec<std::net::UdpSocket>)>,
        responder: &Arc<Responder>,
        stopped: &watch::Receiver<bool>,
    ) -> Result<UdpWorkers, BindError> {
        let mut shares: Vec<Vec<(SocketAddr, std::net::UdpSocket)>> = Vec::new();
        for (addr, group) in groups {
            for (index, socket) in group.into_iter().enumerate() {
                if shares.len() <= index {
                    shares.resize_with(index + 1, Vec::new);
                }
                if let Some(share) = shares.get_mut(index) {
                    share.push((addr, socket));
                }
            }
        }
        let mut workers = UdpWorkers {
            tasks: Vec::new(),
            threads: Vec::new(),
            release: Vec::new(),
        };
        let count = shares.len();
        for (index, share) in shares.into_iter().enumerate() {
            let (started_tx, started) = oneshot::channel();
            let (release, released) = oneshot::channel();
            let responder = Arc::clone(responder);
            let stopped = stopped.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("nodecache-udp-{index}"))
                .spawn(move || {
                    LANE.set(Some(Lane { index, count }));
                    run_worker(share, &responder, &stopped, started_tx, released);
                });
            match spawned {
                Ok(thread) => workers.threads.push(thread),
                Err(source) => {
                    workers.finish();
                    return Err(BindError::Worker { source });
                }
            }
            workers.release.push(release);
            match started.await {
                Ok(Ok(tasks)) => workers.tasks.extend(tasks),
                Ok(Err(error)) => {
                    workers.finish();
                    return Err(error);
                }
                Err(_) => {
                    workers.finish();
                    return Err(BindError::Worker {
                        source: std::io::Error::other("UDP worker ended while starting"),
                    });
                }
            }
        }
        Ok(workers)
    }

    /// Waits for every UDP serving task to end (they end once the stop flag is set, after
    /// their hand-over and their last miss).
    pub(crate) async fn served(&mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }

    /// Lets every worker runtime end and waits for the threads (each runtime gives its
    /// remaining tasks [`WORKER_SHUTDOWN`]).
    pub(crate) fn finish(mut self) {
        self.release.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The body of one worker thread: a current-thread runtime serving `share` until released.
fn run_worker(
    share: Vec<(SocketAddr, std::net::UdpSocket)>,
    responder: &Arc<Responder>,
    stopped: &watch::Receiver<bool>,
    started: oneshot::Sender<Result<Vec<JoinHandle<()>>, BindError>>,
    released: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            let _ = started.send(Err(BindError::Worker { source }));
            return;
        }
    };
    runtime.block_on(async {
        let mut tasks = Vec::with_capacity(share.len());
        for (addr, socket) in share {
            match register_udp(addr, socket) {
                Ok(socket) => tasks.push(tokio::spawn(serve_udp(
                    socket,
                    Arc::clone(responder),
                    stopped.clone(),
                ))),
                Err(error) => {
                    let _ = started.send(Err(error));
                    return;
                }
            }
        }
        if started.send(Ok(tasks)).is_err() {
            return;
        }
        // Ok or the sender dropped: either way the daemon is done with this worker.
        let _ = released.await;
    });
    runtime.shutdown_timeout(WORKER_SHUTDOWN);
}
