//! Tests of the admin listener: the rendering parsed back, the request parser, and the
//! server itself on 127.0.0.1 (an ephemeral port), including a slowloris client.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::http::{self, Method, RequestError};
use super::render;
use crate::serve::health::Health;
use crate::serve::metrics::{Metrics, Proto, TIME_BUCKETS};

/// One sample line: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);
/// Per family name: has HELP, and the TYPE.
type Families = BTreeMap<String, (bool, Option<String>)>;

/// Parses exposition text strictly enough to catch format mistakes: every line is a
/// `# HELP`/`# TYPE` comment or `name{k="v",...} value`; returns the samples and, per family,
/// which of HELP and TYPE it has (and the type).
fn parse_exposition(text: &str) -> (Vec<Sample>, Families) {
    let mut samples = Vec::new();
    let mut families = Families::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a text");
            assert!(!help.is_empty(), "empty help: {line}");
            families.entry(name.to_owned()).or_default().0 = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a type");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            families.entry(name.to_owned()).or_default().1 = Some(kind.to_owned());
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = body
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad name: {line}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    (samples, families)
}

/// The family a sample belongs to (histogram series carry a suffix).
fn family_of<'a>(name: &'a str, families: &Families) -> &'a str {
    if families.contains_key(name) {
        return name;
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|base| families.contains_key(*base))
        .unwrap_or(name)
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| *value)
}

#[test]
fn render_is_well_formed_and_reflects_bumps() {
    let metrics = Metrics::default();
    metrics.set_server("127.0.0.1:5353".parse().expect("addr"));
    metrics.request(Proto::Udp, false, 1);
    metrics.request(Proto::Udp, false, 1);
    metrics.request(Proto::Tcp, true, 28);
    metrics.request(Proto::Udp, false, 99);
    metrics.response(0, Duration::from_micros(100));
    metrics.response(3, Duration::from_millis(3));
    metrics.response(2, Duration::from_secs(20));
    metrics.cache_hits_success.add(7);
    metrics.cache_misses.add(3);
    metrics.cache_entries_denial.set(4);
    metrics.pool_connections.set(2);
    let upstream = SocketAddr::from(([198, 18, 0, 53], 53));
    metrics
        .upstream_durations
        .of(upstream)
        .observe(3, Duration::from_millis(1));
    let text = render(&metrics);
    let (samples, families) = parse_exposition(&text);

    for (name, (help, kind)) in &families {
        assert!(*help && kind.is_some(), "{name} lacks HELP or TYPE");
    }
    for (name, _, _) in &samples {
        assert!(
            families.contains_key(family_of(name, &families)),
            "{name}: no family"
        );
    }
    let server = ("server", "dns://127.0.0.1:5353");
    let requests = "coredns_dns_requests_total";
    let a_udp = [
        server,
        ("zone", "."),
        ("proto", "udp"),
        ("family", "1"),
        ("type", "A"),
    ];
    assert_eq!(value(&samples, requests, &a_udp), Some(2.0));
    let aaaa_tcp = [("proto", "tcp"), ("family", "2"), ("type", "AAAA")];
    assert_eq!(value(&samples, requests, &aaaa_tcp), Some(1.0));
    assert_eq!(value(&samples, requests, &[("type", "other")]), Some(1.0));
    assert_eq!(
        value(&samples, requests, &[("type", "MX")]),
        None,
        "unused series left out"
    );
    let responses = "coredns_dns_responses_total";
    assert_eq!(
        value(
            &samples,
            responses,
            &[("rcode", "NXDOMAIN"), ("plugin", "")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, responses, &[("rcode", "SERVFAIL")]),
        Some(1.0)
    );
    let hits = "coredns_cache_hits_total";
    assert_eq!(
        value(&samples, hits, &[("type", "success"), ("zones", ".")]),
        Some(7.0)
    );
    assert_eq!(
        value(&samples, "coredns_cache_misses_total", &[server]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "coredns_cache_requests_total", &[]),
        Some(10.0)
    );
    assert_eq!(
        value(&samples, "coredns_cache_entries", &[("type", "denial")]),
        Some(4.0)
    );
    assert_eq!(
        value(&samples, "nodecache_pool_connections", &[]),
        Some(2.0)
    );
    let proxy = "coredns_proxy_request_duration_seconds_count";
    assert_eq!(
        value(
            &samples,
            proxy,
            &[
                ("proxy_name", "forward"),
                ("to", "198.18.0.53:53"),
                ("rcode", "NXDOMAIN")
            ]
        ),
        Some(1.0)
    );
    let noerror = [("to", "198.18.0.53:53"), ("rcode", "NOERROR")];
    assert_eq!(
        value(&samples, proxy, &noerror),
        None,
        "no series before its first answer"
    );

    // Histogram: buckets cumulative, one per bound plus +Inf, +Inf equal to _count.
    let name = "coredns_dns_request_duration_seconds";
    let buckets: Vec<(String, f64)> = samples
        .iter()
        .filter(|(n, _, _)| n == &format!("{name}_bucket"))
        .map(|(_, labels, v)| (labels["le"].clone(), *v))
        .collect();
    assert_eq!(buckets.len(), TIME_BUCKETS.len() + 1);
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "not cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last().map(|(le, _)| le.as_str()), Some("+Inf"));
    assert_eq!(
        buckets.last().map(|b| b.1),
        value(&samples, &format!("{name}_count"), &[])
    );
    assert_eq!(value(&samples, &format!("{name}_count"), &[]), Some(3.0));
    assert_eq!(
        value(&samples, &format!("{name}_bucket"), &[("le", "0.00025")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, &format!("{name}_bucket"), &[("le", "0.004")]),
        Some(2.0)
    );
    let sum = value(&samples, &format!("{name}_sum"), &[]).expect("sum");
    assert!((sum - 20.0031).abs() < 1e-6, "sum {sum}");
}

#[test]
fn every_documented_family_is_present() {
    let (_, families) = parse_exposition(&render(&Metrics::default()));
    let expected: BTreeSet<&str> = [
        "coredns_dns_requests_total",
        "coredns_dns_responses_total",
        "coredns_dns_request_duration_seconds",
        "coredns_cache_entries",
        "coredns_cache_hits_total",
        "coredns_cache_misses_total",
        "coredns_cache_served_stale_total",
        "coredns_cache_prefetch_total",
        "coredns_cache_evictions_total",
        "coredns_proxy_request_duration_seconds",
        "nodecache_pool_connections",
        "nodecache_coalesced_total",
        "nodecache_cache_bytes",
    ]
    .into();
    for name in expected {
        assert!(families.contains_key(name), "{name} missing");
    }
    assert_eq!(
        families["coredns_dns_request_duration_seconds"]
            .1
            .as_deref(),
        Some("histogram")
    );
    assert_eq!(
        families["coredns_cache_entries"].1.as_deref(),
        Some("gauge")
    );
}

#[test]
fn request_lines_parse_or_are_refused() {
    let ok = http::parse_request(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").expect("ok");
    assert_eq!((ok.method, ok.path.as_str()), (Method::Get, "/metrics"));
    let head = http::parse_request(b"HEAD /ready HTTP/1.0\n\n").expect("bare LF");
    assert_eq!(head.method, Method::Head);
    let post = http::parse_request(b"POST /ready HTTP/1.1\r\n\r\n").expect("post");
    assert_eq!(post.method, Method::Other);
    for bad in [
        &b"GET /metrics\r\n\r\n"[..],
        b"GET  /metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/2.0\r\n\r\n",
        b"G(T /metrics HTTP/1.1\r\n\r\n",
        b"\xff\xfe /x HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
    ] {
        assert_eq!(
            http::parse_request(bad),
            Err(RequestError::Malformed),
            "{bad:?}"
        );
    }
    let huge = vec![b'a'; http::MAX_HEAD_BYTES + 1];
    assert_eq!(http::parse_request(&huge), Err(RequestError::TooLarge));
}

/// The admin server on an ephemeral 127.0.0.1 port.
async fn start(health: Arc<Health>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let metrics = Arc::new(Metrics::default());
    tokio::spawn(super::serve(listener, metrics, health));
    addr
}

/// Sends `raw`, returns (status, whole response text). Bounded by 3 s.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> (u16, String) {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(raw).await.expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        String::from_utf8(response).expect("utf-8 response")
    };
    let text = tokio::time::timeout(Duration::from_secs(3), work)
        .await
        .expect("answer within 3 s");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await
}

#[tokio::test]
async fn routes_answer_with_the_right_status() {
    let health = Arc::new(Health::default());
    let addr = start(Arc::clone(&health)).await;

    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("Content-Type: text/plain; version=0.0.4"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE coredns_dns_requests_total counter"),
        "{text}"
    );
    let (status, text) = get(addr, "/health").await;
    assert_eq!(status, 200);
    assert!(text.ends_with("\r\n\r\nOK\n"), "{text:?}");

    assert_eq!(
        get(addr, "/ready").await.0,
        503,
        "not ready before set_ready"
    );
    health.set_ready();
    assert_eq!(get(addr, "/ready").await.0, 200);
    health.set_draining();
    assert_eq!(get(addr, "/ready").await.0, 503, "draining");
    assert_eq!(get(addr, "/health").await.0, 200, "alive while draining");

    assert_eq!(get(addr, "/nope").await.0, 404);
    assert_eq!(
        exchange(addr, b"DELETE /metrics HTTP/1.1\r\n\r\n").await.0,
        405
    );
    let (status, text) = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 200);
    assert!(text.ends_with("\r\n\r\n"), "HEAD has no body");
    assert_eq!(
        exchange(addr, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
            .await
            .0,
        400
    );
    let mut huge = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10_000));
    assert_eq!(exchange(addr, &huge).await.0, 431);
}

#[tokio::test]
async fn a_slowloris_client_does_not_block_others() {
    let addr = start(Arc::new(Health::default())).await;
    // Several clients that send half a request line and then nothing.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"GET /metr").await.expect("send");
        stalled.push(stream);
    }
    // Others are still answered at once (well inside the stalled clients' 5 s timeout).
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(get(addr, "/health").await.0, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(stalled);
}
