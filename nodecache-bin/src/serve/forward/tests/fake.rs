//! A scripted fake upstream on 127.0.0.1 (UDP, and TCP on the same port).
//!
//! It exists only for faults a real server will not produce on demand: dropping the first N
//! datagrams, staying silent, delaying answers, answering UDP with TC and no records,
//! answering SERVFAIL, sending decoys with the wrong ID or question before the real answer,
//! and answering pipelined TCP queries out of order while counting connections. Real servers
//! (NSD) are exercised by the namespace test bed instead.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Address in real answers.
pub(super) const REAL: [u8; 4] = [198, 18, 0, 1];
/// Address in decoy answers: seeing it in a result means a decoy was believed.
pub(super) const DECOY: [u8; 4] = [198, 18, 0, 66];

/// What the fake does.
#[derive(Debug, Clone, Default)]
pub(super) struct Script {
    /// Ignore this many UDP datagrams before answering.
    pub(super) drop_first: usize,
    /// Never answer over UDP.
    pub(super) silent: bool,
    /// Wait this long before each answer (UDP and TCP).
    pub(super) delay: Duration,
    /// RCODE of every answer.
    pub(super) rcode: u8,
    /// Answer UDP with TC=1 and no records (TCP answers in full).
    pub(super) truncate_udp: bool,
    /// Before each real UDP answer, send one with the wrong ID and one for another question.
    pub(super) decoys: bool,
    /// A records in each full answer (0 means 1).
    pub(super) records: usize,
    /// Close this many TCP connections after reading their first query, unanswered.
    pub(super) tcp_drop_connections: usize,
}

/// What the fake saw.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// UDP datagrams received.
    pub(super) udp: AtomicUsize,
    /// TCP queries received.
    pub(super) tcp_queries: AtomicUsize,
    /// TCP connections accepted.
    pub(super) accepted: AtomicUsize,
    /// TCP connections open now, and the most at once.
    pub(super) open: AtomicUsize,
    pub(super) max_open: AtomicUsize,
    /// Most queries outstanding on one connection at once.
    pub(super) max_pipelined: AtomicUsize,
    /// TCP connections the client closed.
    pub(super) closed: AtomicUsize,
    /// When the last TCP connection was closed by the client, and the last TCP answer sent.
    pub(super) closed_at: Mutex<Option<Instant>>,
    pub(super) answered_at: Mutex<Option<Instant>>,
    /// (ID, question name) of every query.
    pub(super) queries: Mutex<Vec<(u16, Vec<u8>)>>,
}

/// A running fake; its tasks stop when it is dropped.
#[derive(Debug)]
pub(super) struct Fake {
    pub(super) addr: SocketAddr,
    pub(super) seen: Arc<Seen>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Fake {
    /// Starts a fake with `script` on a free 127.0.0.1 port (UDP and TCP).
    pub(super) async fn start(script: Script) -> Fake {
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let script = Arc::new(script);
        let udp = Arc::new(udp);
        let tasks = vec![
            tokio::spawn(serve_udp(udp, Arc::clone(&script), Arc::clone(&seen))),
            tokio::spawn(serve_tcp(tcp, script, Arc::clone(&seen))),
        ];
        Fake { addr, seen, tasks }
    }

    /// UDP datagrams received so far.
    pub(super) fn udp(&self) -> usize {
        self.seen.udp.load(Ordering::SeqCst)
    }
}

/// A UDP socket and a TCP listener on the same free port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("local addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no free port for UDP and TCP");
}

async fn serve_udp(socket: Arc<UdpSocket>, script: Arc<Script>, seen: Arc<Seen>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        let query = buffer[..len].to_vec();
        let count = seen.udp.fetch_add(1, Ordering::SeqCst) + 1;
        record(&seen, &query);
        if script.silent || count <= script.drop_first {
            continue;
        }
        let socket = Arc::clone(&socket);
        let script = Arc::clone(&script);
        tokio::spawn(async move {
            tokio::time::sleep(script.delay).await;
            if script.decoys {
                let mut wrong_id = answer(&query, &script, false, DECOY);
                wrong_id[1] ^= 1;
                let _ = socket.send_to(&wrong_id, from).await;
                let mut other = query.clone();
                other[12 + 1] ^= 0x01; // first letter of the name: another question
                let _ = socket
                    .send_to(&answer(&other, &script, false, DECOY), from)
                    .await;
            }
            let reply = answer(&query, &script, script.truncate_udp, REAL);
            let _ = socket.send_to(&reply, from).await;
        });
    }
}

async fn serve_tcp(listener: TcpListener, script: Arc<Script>, seen: Arc<Seen>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let accepted = seen.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        let open = seen.open.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max_open.fetch_max(open, Ordering::SeqCst);
        let drop_after_query = accepted <= script.tcp_drop_connections;
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&script),
            Arc::clone(&seen),
            drop_after_query,
        ));
    }
}

/// Answers each query on the connection after the script's delay, minus a little for every
/// other query so pipelined answers come back out of order.
async fn serve_connection(
    stream: TcpStream,
    script: Arc<Script>,
    seen: Arc<Seen>,
    drop_after_query: bool,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (frames, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let outstanding = Arc::new(AtomicUsize::new(0));
    let writing = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let mut n = 0u32;
    loop {
        let mut length = [0u8; 2];
        if reader.read_exact(&mut length).await.is_err() {
            break;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(length))];
        if reader.read_exact(&mut query).await.is_err() {
            break;
        }
        seen.tcp_queries.fetch_add(1, Ordering::SeqCst);
        record(&seen, &query);
        if drop_after_query {
            break;
        }
        let now_outstanding = outstanding.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max_pipelined
            .fetch_max(now_outstanding, Ordering::SeqCst);
        n += 1;
        let delay = script
            .delay
            .saturating_sub(Duration::from_millis(u64::from(n % 2) * 5));
        let (script, seen, frames, outstanding) = (
            Arc::clone(&script),
            Arc::clone(&seen),
            frames.clone(),
            Arc::clone(&outstanding),
        );
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let reply = answer(&query, &script, false, REAL);
            let mut frame = u16::try_from(reply.len())
                .expect("small")
                .to_be_bytes()
                .to_vec();
            frame.extend_from_slice(&reply);
            outstanding.fetch_sub(1, Ordering::SeqCst);
            *seen
                .answered_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            let _ = frames.send(frame);
        });
    }
    seen.closed.fetch_add(1, Ordering::SeqCst);
    seen.open.fetch_sub(1, Ordering::SeqCst);
    *seen
        .closed_at
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    drop(frames);
    let _ = writing.await;
}

fn record(seen: &Seen, query: &[u8]) {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let name = query[12..question_end(query) - 4].to_vec();
    seen.queries
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, name));
}

/// Offset just past the question (name, type, class).
fn question_end(query: &[u8]) -> usize {
    let mut pos = 12;
    while query[pos] != 0 {
        pos += 1 + usize::from(query[pos]);
    }
    pos + 1 + 4
}

/// The response to `query`: its ID and question, the script's rcode, RA; with `truncated`
/// TC=1 and no records, else `records` A records for `address` (name compressed to the
/// question, RFC 1035 §4.1.4).
fn answer(query: &[u8], script: &Script, truncated: bool, address: [u8; 4]) -> Vec<u8> {
    let end = question_end(query);
    let records = if truncated { 0 } else { script.records.max(1) };
    let flags = 0x8180u16 | u16::from(script.rcode & 0x0f) | if truncated { 0x0200 } else { 0 };
    let mut out = query[..2].to_vec();
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&u16::try_from(records).expect("few").to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..end]);
    for _ in 0..records {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4]);
        out.extend_from_slice(&address);
    }
    out
}
