//! A scripted fake DNS server for the transport's fault tests.
//!
//! It exists only for faults a real server will not produce on demand: dropped datagrams,
//! delayed replies, TC=1 over UDP with the full answer over TCP, UDP answers larger than the
//! EDNS size we advertised, garbage, a reply with the wrong ID or from the wrong source address
//! before the real one, SERVFAIL/REFUSED. Real
//! servers (NSD, unbound, dnsmasq) are exercised by the namespace test bed instead.
//!
//! It listens on 127.0.0.1 (UDP, and TCP on the same port when asked), answers A queries with
//! one fixed address, and reports every query it sees on a channel. Answers are built with
//! hickory-proto, independently of our codec. Threads stop when the server is dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};

/// Something sent before the real UDP reply, which the client must ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoy {
    /// Bytes that are not a DNS message, and a header with our ID followed by junk.
    Garbage,
    /// A well-formed answer (address [`DECOY_ADDR`]) with a different ID.
    WrongId,
    /// A well-formed answer (address [`DECOY_ADDR`]) with the right ID, from 127.0.0.2.
    WrongSource,
}

/// The address decoy answers carry: seeing it in a result means a decoy was accepted.
pub(crate) const DECOY_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);

/// What the fake server does.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    /// The address of the A record in answers.
    pub(crate) answer: Ipv4Addr,
    /// Ignore this many UDP queries before answering.
    pub(crate) drop_first: usize,
    /// Never answer over UDP.
    pub(crate) silent: bool,
    /// Wait this long before each UDP answer.
    pub(crate) delay: Duration,
    /// Answer UDP with TC=1 and no records.
    pub(crate) truncate_udp: bool,
    /// RCODE of every answer (UDP and TCP).
    pub(crate) rcode: ResponseCode,
    /// Sent before each real UDP answer.
    pub(crate) decoys: Vec<Decoy>,
    /// Also listen on TCP (same port) and answer there in full.
    pub(crate) tcp: bool,
    /// A records (all `answer`) in each UDP answer to an A query; TCP answers carry one.
    /// Many of them make a datagram larger than any payload size the client advertised.
    pub(crate) udp_records: usize,
}

impl Script {
    /// Answers every UDP query at once with `answer`; no TCP.
    pub(crate) fn answering(answer: Ipv4Addr) -> Self {
        Script {
            answer,
            drop_first: 0,
            silent: false,
            delay: Duration::ZERO,
            truncate_udp: false,
            rcode: ResponseCode::NoError,
            decoys: Vec::new(),
            tcp: false,
            udp_records: 1,
        }
    }

    /// A bound socket that never answers.
    pub(crate) fn silent() -> Self {
        Script {
            silent: true,
            ..Script::answering(Ipv4Addr::UNSPECIFIED)
        }
    }
}

/// One query the server received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// It came over TCP.
    pub(crate) tcp: bool,
    /// Its EDNS UDP payload size, if it had an OPT record.
    pub(crate) edns_size: Option<u16>,
    /// Its AD bit.
    pub(crate) authentic_data: bool,
}

/// A running fake server; stops and joins its threads when dropped.
#[derive(Debug)]
pub(crate) struct FakeServer {
    /// Where it listens (UDP, and TCP if scripted).
    pub(crate) addr: SocketAddr,
    seen: Receiver<Seen>,
    /// Source address of every UDP query, in arrival order.
    udp_sources: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeServer {
    /// Binds 127.0.0.1 on a kernel-chosen port and starts serving `script`.
    pub(crate) fn start(script: Script) -> FakeServer {
        let (udp, tcp) = bind_pair(script.tcp);
        let addr = udp.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, seen) = mpsc::channel();
        let mut threads = Vec::new();
        if let Some(listener) = tcp {
            let (stop, tx, script) = (Arc::clone(&stop), tx.clone(), script.clone());
            threads.push(thread::spawn(move || {
                serve_tcp(&listener, &script, &tx, &stop)
            }));
        }
        let stop_udp = Arc::clone(&stop);
        let udp_sources = Arc::new(Mutex::new(Vec::new()));
        let sources = Arc::clone(&udp_sources);
        threads.push(thread::spawn(move || {
            serve_udp(&udp, &script, (&tx, &sources), &stop_udp)
        }));
        FakeServer {
            addr,
            seen,
            udp_sources,
            stop,
            threads,
        }
    }

    /// The queries received so far (without waiting).
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }

    /// Where the UDP queries received so far came from.
    pub(crate) fn udp_sources(&self) -> Vec<SocketAddr> {
        self.udp_sources
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocked recv and accept so the threads see the flag.
        if let Ok(waker) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) {
            let _ = waker.send_to(b"stop", self.addr);
        }
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

/// A UDP socket on 127.0.0.1 and, when wanted, a TCP listener on the same port.
fn bind_pair(with_tcp: bool) -> (UdpSocket, Option<TcpListener>) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP on 127.0.0.1");
        if !with_tcp {
            return (udp, None);
        }
        let port = udp.local_addr().expect("local addr").port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return (udp, Some(tcp));
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

fn observe(query: &Message) -> Seen {
    Seen {
        tcp: false,
        edns_size: query.extensions().as_ref().map(|edns| edns.max_payload()),
        authentic_data: query.authentic_data(),
    }
}

/// The reply to `query`: `rcode`, and for a NOERROR A query `records` A records with `addr`.
fn reply(
    query: &Message,
    addr: Ipv4Addr,
    rcode: ResponseCode,
    truncated: bool,
    records: usize,
) -> Vec<u8> {
    let mut msg = Message::new();
    msg.set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_truncated(truncated)
        .set_response_code(rcode);
    if let Some(question) = query.queries().first() {
        msg.add_query(question.clone());
        let answerable = question.query_type() == RecordType::A && rcode == ResponseCode::NoError;
        if answerable && !truncated {
            for _ in 0..records {
                let record = Record::from_rdata(question.name().clone(), 60, RData::A(A(addr)));
                msg.add_answer(record);
            }
        }
    }
    msg.to_vec().expect("hickory encodes the reply")
}

fn serve_udp(
    socket: &UdpSocket,
    script: &Script,
    (seen, sources): (&Sender<Seen>, &Mutex<Vec<SocketAddr>>),
    stop: &AtomicBool,
) {
    let wrong_source = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).expect("bind 127.0.0.2");
    let mut buf = vec![0u8; 65535];
    let mut received = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buf[..len]) else {
            continue; // the stop waker, or junk
        };
        let _ = seen.send(observe(&query));
        if let Ok(mut sources) = sources.lock() {
            sources.push(from);
        }
        received += 1;
        if script.silent || received <= script.drop_first {
            continue;
        }
        if !script.delay.is_zero() {
            thread::sleep(script.delay);
        }
        for decoy in &script.decoys {
            match decoy {
                Decoy::Garbage => {
                    let _ = socket.send_to(b"\xde\xad\xbe\xef not DNS", from);
                    let mut junk = query.id().to_be_bytes().to_vec();
                    junk.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]);
                    let _ = socket.send_to(&junk, from);
                }
                Decoy::WrongId => {
                    let mut other = query.clone();
                    other.set_id(query.id().wrapping_add(1));
                    let _ = socket.send_to(
                        &reply(&other, DECOY_ADDR, ResponseCode::NoError, false, 1),
                        from,
                    );
                }
                Decoy::WrongSource => {
                    let decoy = reply(&query, DECOY_ADDR, ResponseCode::NoError, false, 1);
                    let _ = wrong_source.send_to(&decoy, from);
                }
            }
        }
        let _ = socket.send_to(
            &reply(
                &query,
                script.answer,
                script.rcode,
                script.truncate_udp,
                script.udp_records,
            ),
            from,
        );
    }
}

fn serve_tcp(listener: &TcpListener, script: &Script, seen: &Sender<Seen>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Ok((mut stream, _)) = listener.accept() else {
            continue;
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut prefix = [0u8; 2];
        if stream.read_exact(&mut prefix).is_err() {
            continue;
        }
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        if stream.read_exact(&mut body).is_err() {
            continue;
        }
        let Ok(query) = Message::from_vec(&body) else {
            continue;
        };
        let _ = seen.send(Seen {
            tcp: true,
            ..observe(&query)
        });
        let answer = reply(&query, script.answer, script.rcode, false, 1);
        let mut framed = u16::try_from(answer.len())
            .expect("small answer")
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&answer);
        let _ = stream.write_all(&framed);
    }
}
