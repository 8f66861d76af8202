//! Forwarder tests against fake upstreams on 127.0.0.1 (see [`fake`] for why fakes).
//! Timing is asserted from counts and measured intervals, never by sleeping to synchronise.

mod fake;
mod pool;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use self::fake::{Fake, REAL, Script};
use super::{
    ForwardError, Forwarded, Forwarder, Priority, Question, QuestionName, UpstreamResponse,
};
use crate::serve::config::{ServeConfig, ZoneUpstream};
use crate::serve::metrics::Metrics;

/// A configuration whose `.` zone is `servers`.
fn config(servers: &[SocketAddr], force_tcp: bool) -> ServeConfig {
    ServeConfig {
        upstreams: vec![ZoneUpstream {
            zone: ".".to_owned(),
            servers: servers.to_vec(),
            force_tcp,
        }],
        ..ServeConfig::default()
    }
}

fn forwarder(config: &ServeConfig) -> (Forwarder, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let forwarder = Forwarder::new(config, Arc::clone(&metrics)).expect("forwarder");
    (forwarder, metrics)
}

/// The A question for `name` (dotted, no trailing dot).
fn question(name: &str) -> Question {
    let mut wire = Vec::new();
    for label in name.split('.') {
        wire.push(u8::try_from(label.len()).expect("short label"));
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    Question {
        name: QuestionName::new(&wire).expect("short name"),
        qtype: 1,
        qclass: 1,
    }
}

/// ANCOUNT and the first A record's address of a response built by the fake.
fn answer_of(response: &UpstreamResponse) -> (u16, [u8; 4]) {
    let message = &response.message;
    let ancount = u16::from_be_bytes([message[6], message[7]]);
    let rdata = &message[message.len() - 4..];
    (ancount, [rdata[0], rdata[1], rdata[2], rdata[3]])
}

#[tokio::test]
async fn lost_first_datagram_is_retransmitted_after_first_retransmit() {
    let fake = Fake::start(Script {
        drop_first: 1,
        ..Script::default()
    })
    .await;
    let (forwarder, metrics) = forwarder(&config(&[fake.addr], false));
    let started = Instant::now();
    let response = forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await
        .expect("answer");
    let elapsed = started.elapsed();
    eprintln!("answer after one lost datagram: {elapsed:?}");
    assert_eq!(answer_of(&response).1, REAL);
    assert_eq!(fake.udp(), 2);
    assert_eq!(metrics.upstream_sends.get(), 2);
    assert_eq!(metrics.upstream_retransmits.get(), 1);
    assert_eq!(metrics.upstream_durations.count(), 1);
    let by_server = metrics.upstream_durations.by_server();
    assert_eq!(by_server.len(), 1);
    assert_eq!(
        by_server[0].0, fake.addr,
        "recorded for the server that answered"
    );
    assert_eq!(by_server[0].1.noerror.count(), 1);
    // The default first retransmit is 50 ms.
    assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(250), "{elapsed:?}");
}

#[tokio::test]
async fn silent_first_server_fails_over_to_the_second() {
    let dead = Fake::start(Script {
        silent: true,
        ..Script::default()
    })
    .await;
    let alive = Fake::start(Script::default()).await;
    let (forwarder, _) = forwarder(&config(&[dead.addr, alive.addr], false));
    let started = Instant::now();
    let response = forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await
        .expect("answer");
    eprintln!("failover answer: {:?}", started.elapsed());
    assert_eq!(response.server, alive.addr);
    assert_eq!((dead.udp(), alive.udp()), (1, 1));
    assert!(started.elapsed() < Duration::from_millis(250));
    // The dead server missed only one datagram: not marked down, so asked first again.
    forwarder
        .forward(&question("again.example.com"), Priority::Client)
        .await
        .expect("answer");
    assert_eq!(dead.udp(), 2);
}

#[tokio::test]
async fn spoofed_responses_are_ignored() {
    let fake = Fake::start(Script {
        decoys: true,
        ..Script::default()
    })
    .await;
    let (forwarder, _) = forwarder(&config(&[fake.addr], false));
    for name in ["www.example.com", "mail.example.com"] {
        let response = forwarder
            .forward(&question(name), Priority::Client)
            .await
            .expect("answer");
        assert_eq!(answer_of(&response).1, REAL, "{name}: a decoy was believed");
    }
    // Decoys are not answers: no retransmit was needed either.
    assert_eq!(fake.udp(), 2);
}

#[tokio::test]
async fn truncated_answer_is_asked_again_over_tcp() {
    let fake = Fake::start(Script {
        truncate_udp: true,
        records: 100,
        ..Script::default()
    })
    .await;
    let (forwarder, metrics) = forwarder(&config(&[fake.addr], false));
    let response = forwarder
        .forward(&question("big.example.com"), Priority::Client)
        .await
        .expect("answer");
    assert_eq!(answer_of(&response), (100, REAL));
    assert!(response.message.len() > 1232);
    assert_eq!(metrics.upstream_tcp_fallbacks.get(), 1);
    assert_eq!(fake.seen.tcp_queries.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_server_failing_is_all_failed_at_once() {
    let servfail = Script {
        rcode: 2,
        ..Script::default()
    };
    let first = Fake::start(servfail.clone()).await;
    let second = Fake::start(Script {
        rcode: 5,
        ..servfail
    })
    .await;
    let mut config = config(&[first.addr, second.addr], false);
    config.upstream_first_retransmit = Duration::from_millis(500);
    let (forwarder, metrics) = forwarder(&config);
    let started = Instant::now();
    let result = forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await;
    assert_eq!(result, Err(ForwardError::AllFailed));
    // The second server is asked as soon as the first fails, not after the 500 ms RTO.
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((first.udp(), second.udp()), (1, 1));
    assert_eq!(metrics.upstream_failures.get(), 1);
}

#[tokio::test]
async fn silent_upstreams_time_out_within_the_budget() {
    let silent = Script {
        silent: true,
        ..Script::default()
    };
    let first = Fake::start(silent.clone()).await;
    let second = Fake::start(silent).await;
    let mut config = config(&[first.addr, second.addr], false);
    config.upstream_timeout = Duration::from_millis(500);
    let (forwarder, metrics) = forwarder(&config);
    let started = Instant::now();
    let result = forwarder
        .forward(&question("www.example.com"), Priority::Client)
        .await;
    let elapsed = started.elapsed();
    eprintln!(
        "timeout after {elapsed:?}, {} datagrams",
        metrics.upstream_sends.get()
    );
    assert_eq!(result, Err(ForwardError::Timeout));
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(650), "{elapsed:?}");
    // 0, 50, 150, 350 ms: both servers asked twice.
    assert_eq!((first.udp(), second.udp()), (2, 2));
    assert_eq!(metrics.upstream_failures.get(), 1);
}

#[tokio::test]
async fn identical_questions_share_one_exchange() {
    let fake = Fake::start(Script {
        delay: Duration::from_millis(100),
        ..Script::default()
    })
    .await;
    let (forwarder, metrics) = forwarder(&config(&[fake.addr], false));
    let forwarder = Arc::new(forwarder);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let forwarder = Arc::clone(&forwarder);
        tasks.spawn(async move {
            forwarder
                .forward(&question("www.example.com"), Priority::Client)
                .await
        });
    }
    let responses: Vec<_> = tasks.join_all().await;
    let shared = |response: &Result<Forwarded, ForwardError>| match response {
        Ok(Forwarded::Shared(shared)) => Arc::clone(shared),
        other => panic!("not a shared answer: {other:?}"),
    };
    // The leader's answer too is shared once followers joined: one message for all.
    let first = shared(&responses[0]);
    for response in &responses {
        assert!(Arc::ptr_eq(&shared(response), &first));
    }
    // One question, and at most the 50 ms retransmit before the delayed answer.
    assert!(fake.udp() <= 2, "{} datagrams", fake.udp());
    assert_eq!(metrics.coalesced.get(), 49);
    assert_eq!(forwarder.shared.in_flight.len(), 0);
}

#[tokio::test]
async fn budget_refuses_prefetches_first() {
    let fake = Fake::start(Script::default()).await;
    let mut config = config(&[fake.addr], false);
    config.upstream_max_pps = Some(10);
    let (forwarder, metrics) = forwarder(&config);
    let mut results = Vec::new();
    for n in 0..11 {
        let name = format!("p{n}.example.com");
        results.push(
            forwarder
                .forward(&question(&name), Priority::Prefetch)
                .await,
        );
    }
    let passed = results.iter().filter(|r| r.is_ok()).count();
    // Half the bucket (plus what refilled during the test) is for prefetches.
    assert!((5..=6).contains(&passed), "{passed} prefetches passed");
    assert_eq!(results[10], Err(ForwardError::OverBudget));
    let client = forwarder
        .forward(&question("client.example.com"), Priority::Client)
        .await;
    assert!(client.is_ok(), "{client:?}");
    assert_eq!(metrics.budget_drops.get(), 11 - passed as u64);
    assert_eq!(fake.udp(), passed + 1);
}

#[tokio::test]
async fn zones_route_and_replace() {
    let default = Fake::start(Script::default()).await;
    let cluster = Fake::start(Script::default()).await;
    let mut config = config(&[default.addr], false);
    config.upstreams.push(ZoneUpstream {
        zone: "cluster.local.".to_owned(),
        servers: vec![cluster.addr],
        force_tcp: false,
    });
    let (forwarder, _) = forwarder(&config);
    async fn server_for(forwarder: &Forwarder, name: &str) -> SocketAddr {
        let response = forwarder.forward(&question(name), Priority::Client).await;
        response.expect("answer").server
    }
    assert_eq!(
        server_for(&forwarder, "a.svc.cluster.local").await,
        cluster.addr
    );
    assert_eq!(server_for(&forwarder, "cluster.localx").await, default.addr);
    forwarder.replace_upstreams(&[ZoneUpstream {
        zone: ".".to_owned(),
        servers: vec![cluster.addr],
        force_tcp: false,
    }]);
    assert_eq!(
        server_for(&forwarder, "www.example.com").await,
        cluster.addr
    );
    // The server no longer configured has its sockets let go.
    assert_eq!(forwarder.shared.udp.servers(), vec![cluster.addr]);
}

#[tokio::test]
async fn own_queries_in_flight_are_recognised() {
    let fake = Fake::start(Script {
        delay: Duration::from_millis(200),
        ..Script::default()
    })
    .await;
    let (forwarder, _) = forwarder(&config(&[fake.addr], false));
    let forwarder = Arc::new(forwarder);
    let asked = question("loop.example.com");
    let task = tokio::spawn({
        let (forwarder, asked) = (Arc::clone(&forwarder), asked.clone());
        async move { forwarder.forward(&asked, Priority::Client).await }
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    let id = loop {
        if let Some(&(id, _)) = fake.seen.queries.lock().expect("lock").first() {
            break id;
        }
        assert!(Instant::now() < deadline, "no query reached the fake");
        tokio::task::yield_now().await;
    };
    assert!(forwarder.is_own_query(id, &asked));
    assert!(!forwarder.is_own_query(id.wrapping_add(1), &asked));
    assert!(!forwarder.is_own_query(id, &question("other.example.com")));
    task.await.expect("task").expect("answer");
    assert!(!forwarder.is_own_query(id, &asked));
}

/// The exchange's future is carried inline by every miss's future (boxed once per miss by
/// the UDP listener's `Misses`: 800 octets with it), which must stay within glibc's
/// per-thread cache (chunks up to 1,032 usable octets; beyond, every miss's allocation took
/// malloc's slow path). Its large state is boxed apart and reused (see `exchange_state`).
/// The bounds leave a little room: growth past them is a choice to make knowingly.
#[tokio::test]
async fn exchange_future_and_state_stay_small() {
    let (forwarder, _) = forwarder(&config(&[SocketAddr::from(([127, 0, 0, 1], 9))], false));
    let asked = question("www.example.com");
    let run = super::exchange::run(&forwarder.shared, &asked, None);
    assert!(size_of_val(&run) <= 352, "{} octets", size_of_val(&run));
    let forward = forwarder.forward(&asked, Priority::Client);
    assert!(
        size_of_val(&forward) <= 432,
        "{} octets",
        size_of_val(&forward)
    );
    let state = size_of::<super::exchange_state::ExchangeState>();
    assert!(state <= 560, "{state} octets");
}
