//! The TCP pool through the forwarder: `force_tcp` zones.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::fake::{Fake, Script};
use super::{ForwardError, Priority, config, forwarder, question};

#[tokio::test]
async fn pool_is_bounded_and_pipelines() {
    let fake = Fake::start(Script {
        delay: Duration::from_millis(20),
        ..Script::default()
    })
    .await;
    let mut config = config(&[fake.addr], true);
    config.pool.max_connections = 4;
    config.pool.max_pipeline = 16;
    let (forwarder, metrics) = forwarder(&config);
    let forwarder = Arc::new(forwarder);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let forwarder = Arc::clone(&forwarder);
        tasks.spawn(async move {
            let name = format!("q{n}.example.com");
            forwarder.forward(&question(&name), Priority::Client).await
        });
    }
    let results = tasks.join_all().await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let seen = &fake.seen;
    assert_eq!(seen.tcp_queries.load(Ordering::SeqCst), 200);
    assert!(seen.max_open.load(Ordering::SeqCst) <= 4);
    assert!(seen.accepted.load(Ordering::SeqCst) <= 4);
    let pipelined = seen.max_pipelined.load(Ordering::SeqCst);
    assert!(pipelined > 1 && pipelined <= 16, "{pipelined}");
    assert_eq!(metrics.pool_queue.get(), 0);
    assert!((1..=4).contains(&metrics.pool_connections.get()));
    assert_eq!(fake.udp(), 0, "force_tcp sends nothing over UDP");
}

#[tokio::test]
async fn full_queue_rejects_at_once() {
    let fake = Fake::start(Script {
        delay: Duration::from_millis(200),
        ..Script::default()
    })
    .await;
    let mut config = config(&[fake.addr], true);
    config.pool.max_connections = 1;
    config.pool.max_pipeline = 1;
    config.pool.max_queue = 2;
    let (forwarder, metrics) = forwarder(&config);
    let forwarder = Arc::new(forwarder);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..4 {
        let forwarder = Arc::clone(&forwarder);
        tasks.spawn(async move {
            let name = format!("q{n}.example.com");
            forwarder.forward(&question(&name), Priority::Client).await
        });
    }
    let results = tasks.join_all().await;
    let rejected = results
        .iter()
        .filter(|r| **r == Err(ForwardError::QueueFull))
        .count();
    assert_eq!(rejected, 1, "{results:?}");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    assert_eq!(metrics.pool_queue_rejected.get(), 1);
    assert_eq!(metrics.pool_queue.get(), 0);
    assert_eq!(fake.seen.max_pipelined.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn idle_connection_is_closed_after_idle_timeout() {
    let fake = Fake::start(Script::default()).await;
    let idle = Duration::from_millis(300);
    let mut config = config(&[fake.addr], true);
    config.pool.idle_timeout = idle;
    let (forwarder, metrics) = forwarder(&config);
    forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await
        .expect("answer");
    assert_eq!(metrics.pool_connections.get(), 1);
    let deadline = Instant::now() + Duration::from_secs(3);
    while fake.seen.closed.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "connection never closed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let answered = fake
        .seen
        .answered_at
        .lock()
        .expect("lock")
        .expect("answered");
    let closed = fake.seen.closed_at.lock().expect("lock").expect("closed");
    let idle_for = closed - answered;
    eprintln!("idle connection closed after {idle_for:?} (idle_timeout {idle:?})");
    assert!(idle_for >= idle, "{idle_for:?}");
    assert!(idle_for < idle + Duration::from_millis(150), "{idle_for:?}");
    assert_eq!(metrics.pool_idle_closed.get(), 1);
    assert_eq!(metrics.pool_connections.get(), 0);
}

#[tokio::test]
async fn lost_connection_is_retried_on_a_new_one() {
    let fake = Fake::start(Script {
        tcp_drop_connections: 1,
        ..Script::default()
    })
    .await;
    let (forwarder, metrics) = forwarder(&config(&[fake.addr], true));
    let response = forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await
        .expect("answer");
    assert_eq!(response.server, fake.addr);
    assert_eq!(fake.seen.accepted.load(Ordering::SeqCst), 2);
    assert_eq!(fake.seen.tcp_queries.load(Ordering::SeqCst), 2);
    assert_eq!(metrics.pool_connections.get(), 1);
}
