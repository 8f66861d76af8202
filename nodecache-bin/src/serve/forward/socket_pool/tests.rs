//! Tests of the upstream socket pool: slots, lanes, churn, unique IDs.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::outbox::SendWait;
use super::waiter::SentOutcome;
use super::*;

/// `count` registrations on `sockets`, held.
fn register_many(sockets: &ServerSockets, waiter: &Arc<Waiter>, count: usize) -> Vec<Registration> {
    (0..count)
        .map(|_| {
            sockets
                .register(waiter, Instant::now())
                .expect("registration")
        })
        .collect()
}

#[tokio::test]
async fn a_worker_claims_only_the_slots_of_its_lane() {
    use crate::serve::udp::workers::{Lane, enter_lane};
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    let sockets = ServerSockets::new(server, Arc::new(Metrics::default()));
    let waiter = Arc::new(Waiter::default());
    // The second of 4 workers: slots 16..32 of 64.
    enter_lane(Some(Lane { index: 1, count: 4 }));
    let held = register_many(&sockets, &waiter, 200);
    enter_lane(None);
    let used: Vec<usize> = sockets
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.lock().is_ok_and(|live| live.is_some()))
        .map(|(index, _)| index)
        .collect();
    let lane = SOCKETS_PER_SERVER / 4..SOCKETS_PER_SERVER / 2;
    assert!(used.iter().all(|index| lane.contains(index)), "{used:?}");
    // 200 random picks among 16 slots reach most of them.
    assert!(used.len() > 8, "{used:?}");
    drop(held);
    // Off a worker thread any slot may be taken.
    let held = register_many(&sockets, &waiter, 200);
    let outside = sockets
        .slots
        .iter()
        .enumerate()
        .filter(|(index, slot)| {
            !lane.contains(index) && slot.lock().is_ok_and(|live| live.is_some())
        })
        .count();
    assert!(outside > 0);
    drop(held);
}

#[tokio::test]
async fn sockets_churn_and_ids_are_unique_per_socket() {
    // Nothing is sent: registrations only claim sockets and IDs.
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    let sockets = ServerSockets::new(server, Arc::new(Metrics::default()));
    let waiter = Arc::new(Waiter::default());
    let mut seen_ports = HashSet::new();
    let mut held: std::collections::VecDeque<Registration> = Default::default();
    let total = SOCKETS_PER_SERVER * QUERIES_PER_SOCKET as usize * 2;
    for round in 0..total {
        held.push_back(
            sockets
                .register(&waiter, Instant::now())
                .expect("registration"),
        );
        if held.len() > 300 {
            held.pop_front();
        }
        // A socket serves QUERIES_PER_SOCKET registrations at least: looking every 256th
        // still sees each one (and keeps the test quick).
        if round % 256 == 0 || round + 1 == total {
            let live = sockets.ports();
            assert!(live.len() <= SOCKETS_PER_SERVER);
            seen_ports.extend(live);
        }
    }
    // Every socket carried at most QUERIES_PER_SOCKET queries: twice the pool's capacity
    // needed at least twice as many sockets as there are slots.
    assert!(
        seen_ports.len() >= 2 * SOCKETS_PER_SERVER,
        "{} ports for {total} queries",
        seen_ports.len()
    );
    let mut claimed = HashSet::new();
    for registration in &held {
        let socket = Arc::as_ptr(&registration.socket) as usize;
        assert!(
            claimed.insert((socket, registration.id)),
            "ID {} twice on one socket",
            registration.id
        );
    }
    // A retired socket with nothing outstanding lets its reader go.
    drop(held);
    drop(sockets);
}

#[tokio::test]
async fn a_retired_socket_lets_its_reader_go_once_idle() {
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    let sockets = ServerSockets::new(server, Arc::new(Metrics::default()));
    let waiter = Arc::new(Waiter::default());
    let registration = sockets
        .register(&waiter, Instant::now())
        .expect("registration");
    let socket = Arc::clone(&registration.socket);
    // Retired (its server's sockets are gone) while a query is still outstanding: the
    // reader stays for the answer.
    drop(sockets);
    tokio::task::yield_now().await;
    assert!(Arc::strong_count(&socket) >= 3, "the reader still holds it");
    drop(registration);
    // Only ours once the reader has exited (polled with a deadline, no sleep to sync).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while Arc::strong_count(&socket) > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader did not exit"
        );
        tokio::task::yield_now().await;
    }
}

/// The queries of a burst: `count` registrations on `sockets`, each sending its query as a
/// first datagram; returns the registrations and their waiters.
async fn send_firsts(sockets: &ServerSockets, count: usize) -> Vec<(Registration, Arc<Waiter>)> {
    let mut wire = b"\x07example\x03com\x00".to_vec();
    wire.make_ascii_lowercase();
    let question = super::super::Question {
        name: super::super::QuestionName::new(&wire).expect("name"),
        qtype: 1,
        qclass: 1,
    };
    let mut sent = Vec::new();
    for _ in 0..count {
        let waiter = Arc::new(Waiter::default());
        let registration = sockets
            .register(&waiter, Instant::now())
            .expect("registration");
        let query = super::super::message::encode_query(registration.id(), &question);
        match registration.send(&query, &waiter, true) {
            Sending::Wait(SendWait::Queued(_)) => {}
            Sending::Done(done) => done.expect("sent"),
            // A fresh socket whose readiness tokio has not seen yet.
            Sending::Wait(wait) => wait.await.0.expect("sent"),
        }
        sent.push((registration, waiter));
    }
    sent
}

/// The source ports and IDs of `count` datagrams read from `upstream`.
fn receive(upstream: &std::net::UdpSocket, count: usize) -> (HashSet<u16>, HashSet<u16>) {
    let (mut ports, mut ids) = (HashSet::new(), HashSet::new());
    let mut buffer = [0u8; 512];
    for _ in 0..count {
        let (len, from) = upstream.recv_from(&mut buffer).expect("a query");
        assert!(len > 12);
        ports.insert(from.port());
        ids.insert(u16::from_be_bytes([buffer[0], buffer[1]]));
    }
    (ports, ids)
}

/// A fake upstream on the host's loopback (a socket that only counts what it receives).
fn fake_upstream() -> std::net::UdpSocket {
    let upstream = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    upstream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    upstream
}

#[tokio::test]
async fn a_burst_sends_its_first_datagrams_together_from_one_socket() {
    let upstream = fake_upstream();
    let server = upstream.local_addr().expect("addr");
    let sockets = ServerSockets::new(server, Arc::new(Metrics::default()));
    const BURST: usize = 16;
    let burst = Burst::open();
    let sent = send_firsts(&sockets, BURST).await;
    // Queued, not sent: nothing has left yet.
    upstream.set_nonblocking(true).expect("nonblocking");
    assert_eq!(
        upstream
            .recv_from(&mut [0u8; 512])
            .map_err(|e| e.kind())
            .err(),
        Some(io::ErrorKind::WouldBlock)
    );
    upstream.set_nonblocking(false).expect("blocking");
    assert_eq!(burst.close(), BURST, "every first datagram was queued");
    // Each exchange is told its send went.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for (_, waiter) in &sent {
        assert!(matches!(
            waiter.poll_sent(&mut cx),
            std::task::Poll::Ready(SentOutcome::Done(Ok(())))
        ));
    }
    // One slot, every query counted on it, every datagram from its port, IDs unique.
    let live: Vec<u32> = sockets
        .slots
        .iter()
        .filter_map(|slot| {
            slot.lock()
                .ok()
                .and_then(|live| live.as_ref().map(|l| l.queries))
        })
        .collect();
    assert_eq!(live, [BURST as u32]);
    let (ports, ids) = receive(&upstream, BURST);
    assert_eq!(ports.len(), 1, "one socket: {ports:?}");
    let expected: HashSet<u16> = sent.iter().map(|(r, _)| r.id()).collect();
    assert_eq!(ids, expected);
    // Outside a burst every query draws its slot and is sent at once: 16 draws among 64
    // slots landing all on one has a chance of 64^-15.
    let alone = send_firsts(&sockets, BURST).await;
    let (ports, _) = receive(&upstream, BURST);
    assert!(ports.len() > 1, "{ports:?}");
    drop((sent, alone));
}

#[tokio::test]
async fn a_retransmit_inside_a_burst_is_sent_at_once() {
    let upstream = fake_upstream();
    let sockets = ServerSockets::new(
        upstream.local_addr().expect("addr"),
        Arc::new(Metrics::default()),
    );
    let waiter = Arc::new(Waiter::default());
    let registration = sockets
        .register(&waiter, Instant::now())
        .expect("registration");
    let burst = Burst::open();
    let query = super::super::message::encode_query(
        registration.id(),
        &super::super::Question {
            name: super::super::QuestionName::new(b"\x01a\x00").expect("name"),
            qtype: 1,
            qclass: 1,
        },
    );
    match registration.send(&query, &waiter, false) {
        Sending::Done(done) => done.expect("sent"),
        Sending::Wait(SendWait::Queued(_)) => panic!("a retransmit was queued"),
        Sending::Wait(wait) => wait.await.0.expect("sent"),
    }
    assert_eq!(burst.close(), 0);
    let (ports, ids) = receive(&upstream, 1);
    assert_eq!(ports.len(), 1);
    assert_eq!(ids, HashSet::from([registration.id()]));
}
