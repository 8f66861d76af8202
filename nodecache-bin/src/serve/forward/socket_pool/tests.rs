//! Tests of the upstream socket pool: slots, lanes, churn, unique IDs.

use std::collections::HashSet;
use std::net::Ipv4Addr;

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
