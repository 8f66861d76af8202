//! Criterion benches of the daemon's packet path without sockets (issue 6): a client's UDP
//! query parsed and the cache-hit answer written, `Responder::answer_now` on a warm cache —
//! what a UDP worker does per hit between `recvmmsg` and `sendmmsg`.
//!
//! Run: `cargo bench -p nodecache-bin --bench packet -- --warm-up-time 1 --measurement-time 3`
//!
//! Rows: one hot name (plain query, and with an EDNS OPT as dig and dnsperf -e send it), a
//! Kubernetes service name of five labels, and a walk over 10,000 cached names (the cache
//! full at its default size, so shard maps and LRU links are out of the CPU caches as on a
//! busy node).
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nodecache_bin::bench::HitPath;

/// Entries cached for the walk (the daemon's default cache size).
const NAMES: usize = 10_000;

/// A query for `name` (dotted, no trailing dot), type A, RD set, with an OPT of UDP size
/// 1232 when `edns`.
fn query(id: u16, name: &str, edns: bool) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    for label in name.split('.') {
        msg.push(u8::try_from(label.len()).expect("label under 64 octets"));
        msg.extend_from_slice(label.as_bytes());
    }
    msg.extend_from_slice(&[0, 0, 1, 0, 1]);
    if edns {
        // Root owner, TYPE OPT (41), CLASS = UDP size 1232, TTL 0 (no DO), RDLEN 0.
        msg.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    msg
}

/// The upstream's answer to `query(_, name, false)`: one A record, TTL 3600, the owner a
/// compression pointer to the question (as NSD writes it).
fn response(name: &str, addr: [u8; 4]) -> Vec<u8> {
    let mut msg = query(0x4242, name, false);
    msg[2] = 0x81; // QR, RD
    msg[3] = 0x80; // RA
    msg[7] = 1; // ANCOUNT
    msg.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    msg.extend_from_slice(&addr);
    msg
}

fn warm_path(names: &[String]) -> HitPath {
    let path = HitPath::new(NAMES).expect("hit path");
    for (i, name) in names.iter().enumerate() {
        let addr = [198, 18, (i / 250) as u8, (i % 250 + 1) as u8];
        path.warm(&query(1, name, false), &response(name, addr))
            .expect("answer cached");
    }
    path
}

fn expect_hit(reply: Option<&[u8]>) -> usize {
    // A hit answer is the header, the question and one A record.
    match reply {
        Some(reply) if reply.len() > 28 => reply.len(),
        other => panic!("expected a cache-hit answer, got {other:?}"),
    }
}

fn hot_name(c: &mut Criterion) {
    let mut group = c.benchmark_group("packet");
    group.throughput(Throughput::Elements(1));
    for (label, name) in [
        ("hit_a", "h1.bench.test"),
        ("hit_a_k8s_name", "checkout-api.shop.svc.cluster.local"),
    ] {
        let mut path = warm_path(&[name.to_owned()]);
        let plain = query(0x1234, name, false);
        group.bench_function(label, |b| {
            b.iter(|| expect_hit(path.answer(black_box(&plain))))
        });
        let with_opt = query(0x1234, name, true);
        group.bench_function(format!("{label}_edns"), |b| {
            b.iter(|| expect_hit(path.answer(black_box(&with_opt))))
        });
    }
    group.finish();
}

fn walk(c: &mut Criterion) {
    let names: Vec<String> = (0..NAMES).map(|i| format!("h{i}.bench.test")).collect();
    let mut path = warm_path(&names);
    let queries: Vec<Vec<u8>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| query(i as u16, name, false))
        .collect();
    let mut next = 0usize;
    let mut group = c.benchmark_group("packet");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hit_a_walk_10k", |b| {
        b.iter(|| {
            // A stride coprime with NAMES visits every name before repeating (dnsperf's
            // file order would be sequential; a stride defeats the prefetcher as a real
            // query mix does).
            next = (next + 7919) % NAMES;
            expect_hit(path.answer(black_box(&queries[next])))
        })
    });
    group.finish();
}

criterion_group!(packet_benches, hot_name, walk);
criterion_main!(packet_benches);
