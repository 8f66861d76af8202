//! One pooled TCP connection: queries pipelined by ID (RFC 7766 §6.2.1.1), written by a
//! writer task in whole frames, answers read by a reader task that also closes the
//! connection when its idle deadline passes.
//!
//! Frames go through a channel to the writer task rather than being written by each query:
//! a query cancelled in the middle of `write_all` would otherwise leave half a frame on the
//! stream and desynchronise every later message (RFC 1035 §4.2.2 two-octet length framing).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{Pool, PoolError};
use crate::serve::forward::Question;
use crate::serve::forward::loop_guard::OwnQueries;
use crate::serve::forward::message::{message_id, set_id};

/// Queries waiting for their answer, by ID.
type Pending = HashMap<u16, oneshot::Sender<Vec<u8>>>;

/// The shared half of a connection: what queries use.
#[derive(Debug)]
pub(super) struct Conn {
    /// Set (under the `pending` lock) once the connection failed or closed.
    dead: AtomicBool,
    pending: Mutex<Pending>,
    /// Whole frames for the writer task.
    frames: mpsc::UnboundedSender<Vec<u8>>,
    /// Wakes the reader task: the idle deadline moved, or the writer failed.
    activity: Notify,
}

/// The connection's I/O, run by [`ConnIo::run`] in its own task.
#[derive(Debug)]
pub(super) struct ConnIo {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    frames: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl Conn {
    /// The connection over `stream` and the I/O to spawn for it.
    pub(super) fn new(stream: TcpStream) -> (Arc<Conn>, ConnIo) {
        let (reader, writer) = stream.into_split();
        let (frames, receiver) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            dead: AtomicBool::new(false),
            pending: Mutex::new(HashMap::new()),
            frames,
            activity: Notify::new(),
        });
        let io = ConnIo {
            reader,
            writer,
            frames: receiver,
        };
        (conn, io)
    }

    /// True once the connection can carry no more queries.
    pub(super) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Wakes the reader task to recompute its idle deadline.
    pub(super) fn wake(&self) {
        self.activity.notify_one();
    }

    /// Sends `message` with an ID unused on this connection and waits for its answer.
    pub(super) async fn ask(
        &self,
        message: &[u8],
        question: &Question,
        own: &OwnQueries,
    ) -> Result<Vec<u8>, PoolError> {
        let length = u16::try_from(message.len()).map_err(|_| PoolError::ConnectionLost)?;
        let (answer, answered) = oneshot::channel();
        let id = {
            let mut pending = self.lock_pending();
            // Checked under the lock `fail` takes, so no query registers after the failure.
            if self.is_dead() {
                return Err(PoolError::ConnectionLost);
            }
            // A random start, then the next free ID: the pool caps queries per connection
            // well below 65536, so a free one exists.
            let mut id = super::super::rand_id();
            while pending.contains_key(&id) {
                id = id.wrapping_add(1);
            }
            pending.insert(id, answer);
            id
        };
        let _pending = PendingEntry { conn: self, id };
        let _own = own.register(id, question);
        let mut frame = Vec::with_capacity(message.len() + 2);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(message);
        if let Some(body) = frame.get_mut(2..) {
            set_id(body, id);
        }
        self.frames
            .send(frame)
            .map_err(|_| PoolError::ConnectionLost)?;
        answered.await.map_err(|_| PoolError::ConnectionLost)
    }

    /// Marks the connection dead and fails every query on it (their senders drop).
    fn fail(&self) {
        let mut pending = self.lock_pending();
        self.dead.store(true, Ordering::Release);
        pending.clear();
        drop(pending);
        self.activity.notify_one();
    }

    /// Hands every complete frame in `buffer` to the query with its ID; a frame whose
    /// query is gone (cancelled) is dropped.
    fn deliver(&self, buffer: &mut Vec<u8>) {
        loop {
            let Some(&[high, low]) = buffer.get(..2) else {
                return;
            };
            let end = 2 + usize::from(u16::from_be_bytes([high, low]));
            let Some(frame) = buffer.get(2..end) else {
                return;
            };
            let frame = frame.to_vec();
            buffer.drain(..end);
            let waiter = message_id(&frame).and_then(|id| self.lock_pending().remove(&id));
            if let Some(waiter) = waiter {
                let _ = waiter.send(frame);
            }
        }
    }

    fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A query's entry in `pending`; removed when the query ends, answered or cancelled.
#[derive(Debug)]
struct PendingEntry<'a> {
    conn: &'a Conn,
    id: u16,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        self.conn.lock_pending().remove(&self.id);
    }
}

impl ConnIo {
    /// Runs the connection until it fails, the server closes it, or it is idle-expired.
    pub(super) async fn run(self, conn: Arc<Conn>, pool: Arc<Pool>, conn_id: u64) {
        let ConnIo {
            mut reader,
            writer,
            frames,
        } = self;
        let writing = tokio::spawn(write_frames(writer, frames, Arc::clone(&conn)));
        let mut buffer = Vec::new();
        let mut chunk = vec![0u8; 4096];
        let mut idle_closed = false;
        loop {
            if conn.is_dead() {
                break;
            }
            let Some(idle_deadline) = pool.idle_deadline(conn_id) else {
                break;
            };
            let activity = conn.activity.notified();
            tokio::select! {
                // `read` is cancel-safe: nothing is lost when another branch wins.
                read = reader.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
                        conn.deliver(&mut buffer);
                    }
                },
                () = sleep_until(idle_deadline) => {
                    if pool.close_if_idle(conn_id) {
                        idle_closed = true;
                        break;
                    }
                }
                () = activity => {}
            }
        }
        conn.fail();
        if !idle_closed {
            pool.remove(conn_id);
        }
        // Closing now, not when the last `Arc<Conn>` goes: the idle expiry is exact.
        writing.abort();
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Writes whole frames until the channel closes or a write fails.
async fn write_frames(
    mut writer: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
    conn: Arc<Conn>,
) {
    while let Some(frame) = frames.recv().await {
        if writer.write_all(&frame).await.is_err() {
            conn.fail();
            return;
        }
    }
}
