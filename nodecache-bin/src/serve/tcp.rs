//! Serving clients over TCP (RFC 7766): two-octet length framing, several queries per
//! connection answered as they complete (so possibly out of order, §6.2.1.1), an idle
//! timeout (§6.2.3), and a cap on open connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::serve::config::ClientTcpConfig;
use crate::serve::drain::InFlightGuard;
use crate::serve::metrics::{Metrics, Proto};
use crate::serve::responder::{Immediate, Responder};

/// Queries one connection may have waiting for the upstream; the connection's next query
/// is read only when one of them is answered (a pipelining client cannot start unbounded
/// work).
const MAX_PIPELINED: usize = 64;

/// Replies queued for one connection's writer.
const REPLY_QUEUE: usize = 64;

/// Read buffer a connection keeps between messages: a 64 KiB message (RFC 1035 §4.2.2
/// allows one) is read whole, but its buffer is not kept, so idle connections that once
/// sent a large message cost no more than others.
const KEPT_READ_BUFFER: usize = 4096;

/// Pause after a failed accept(2). EMFILE/ENFILE leave the connection in the backlog, so
/// accepting again at once would fail again at once: a busy loop that starves the UDP
/// service. A short pause lets other connections close first.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Shared by every TCP listener: the open-connection cap.
#[derive(Debug)]
pub(crate) struct TcpLimits {
    /// Open client connections, all listeners together.
    open: AtomicUsize,
    /// The configured cap and idle timeout.
    config: ClientTcpConfig,
}

impl TcpLimits {
    /// Limits from the configuration.
    pub(crate) fn new(config: &ClientTcpConfig) -> TcpLimits {
        TcpLimits {
            open: AtomicUsize::new(0),
            config: config.clone(),
        }
    }
}

/// One open connection's place under the cap, given back on drop.
struct ConnectionSlot {
    limits: Arc<TcpLimits>,
    metrics: Arc<Metrics>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.limits.open.fetch_sub(1, Ordering::SeqCst);
        self.metrics.client_tcp_connections.dec();
    }
}

/// Accepts connections on `listener` until `shutdown` turns true. Beyond the cap a
/// connection is accepted and closed at once (counted in `client_tcp_refused`): closing is
/// cheaper for both sides than leaving it in the backlog to time out. A client outside
/// `allow_from` is closed the same way before it takes a slot (counted in `acl_refused`).
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    responder: Arc<Responder>,
    limits: Arc<TcpLimits>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        // Accept errors (EMFILE, ECONNABORTED) concern one connection; keep listening.
        let Ok((stream, client)) = accepted else {
            tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            continue;
        };
        if !responder.allows(client.ip()) {
            metrics.acl_refused.inc();
            drop(stream);
            continue;
        }
        let open = limits.open.fetch_add(1, Ordering::SeqCst);
        if open >= limits.config.max_connections {
            limits.open.fetch_sub(1, Ordering::SeqCst);
            metrics.client_tcp_refused.inc();
            drop(stream);
            continue;
        }
        metrics.client_tcp_connections.inc();
        let slot = ConnectionSlot {
            limits: Arc::clone(&limits),
            metrics: Arc::clone(&metrics),
        };
        let idle = limits.config.idle_timeout;
        tokio::spawn(serve_connection(
            stream,
            client,
            Arc::clone(&responder),
            idle,
            shutdown.clone(),
            slot,
        ));
    }
}

/// Reads queries from one connection until the client closes it, it stays idle for `idle`,
/// a message is cut short, or shutdown; then lets the queries in flight be answered and
/// closes it.
async fn serve_connection(
    stream: TcpStream,
    client: SocketAddr,
    responder: Arc<Responder>,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
    slot: ConnectionSlot,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (replies, queued) = mpsc::channel::<QueuedReply>(REPLY_QUEUE);
    let writer = tokio::spawn(write_replies(writer, queued));
    let pipeline = Arc::new(Semaphore::new(MAX_PIPELINED));
    let mut msg = Vec::new();
    loop {
        let read = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            read = tokio::time::timeout(idle, read_message(&mut reader, &mut msg)) => read,
        };
        if !matches!(read, Ok(Ok(()))) {
            break;
        }
        let mut out = Vec::new();
        let immediate =
            responder.answer_now(&msg, Proto::Tcp, client.is_ipv6(), Instant::now(), &mut out);
        msg.shrink_to(KEPT_READ_BUFFER);
        match immediate {
            Immediate::Reply => {
                if replies.send((out, None)).await.is_err() {
                    break;
                }
            }
            Immediate::Drop => {}
            Immediate::Forward(pending) => {
                let Ok(permit) = Arc::clone(&pipeline).acquire_owned().await else {
                    break;
                };
                let responder = Arc::clone(&responder);
                let replies = replies.clone();
                tokio::spawn(async move {
                    let in_flight = responder.answer_forwarded(pending, &mut out).await;
                    let _ = replies.send((out, Some(in_flight))).await;
                    drop(permit);
                });
            }
        }
    }
    // The writer ends once every reply sender is gone: ours now, the spawned queries' when
    // they have answered.
    drop(replies);
    let _ = writer.await;
    drop(slot);
}

/// Reads one length-prefixed message into `msg` (RFC 1035 §4.2.2). The buffer grows with
/// the bytes that actually arrive, not with the length prefix: a client that announces
/// 65535 bytes and sends two costs two, not 64 KiB per connection.
async fn read_message(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    msg: &mut Vec<u8>,
) -> std::io::Result<()> {
    let len = reader.read_u16().await?;
    msg.clear();
    let read = (&mut *reader).take(u64::from(len)).read_to_end(msg).await?;
    if read < usize::from(len) {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// A reply for the writer, with the in-flight guard of a forwarded query (released once the
/// reply is flushed, so a drain waits for it).
type QueuedReply = (Vec<u8>, Option<InFlightGuard>);

/// Writes replies as they come, each with its length prefix, flushing when no more are
/// queued (several replies ready at once go out in one segment).
async fn write_replies(writer: OwnedWriteHalf, mut queued: mpsc::Receiver<QueuedReply>) {
    let mut writer = BufWriter::new(writer);
    let mut written: Vec<InFlightGuard> = Vec::new();
    while let Some(first) = queued.recv().await {
        let mut next = Some(first);
        while let Some((reply, in_flight)) = next {
            written.extend(in_flight);
            // `finish` bounds replies to 65535 bytes; anything else is skipped, not sent
            // with a wrong length.
            let Ok(len) = u16::try_from(reply.len()) else {
                next = queued.try_recv().ok();
                continue;
            };
            if writer.write_all(&len.to_be_bytes()).await.is_err()
                || writer.write_all(&reply).await.is_err()
            {
                return;
            }
            next = queued.try_recv().ok();
        }
        if writer.flush().await.is_err() {
            return;
        }
        written.clear();
    }
    let _ = writer.shutdown().await;
}
