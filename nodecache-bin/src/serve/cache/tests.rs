//! Tests of the answer cache: keys, TTL rules, served bytes, bounds, stale and prefetch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use testbed::zone::{self, MemoryZone};

use super::*;
use crate::serve::config::{Admission, ServeConfig};
use crate::serve::message::tests::query;
use crate::serve::message::{
    HEADER_LEN, ParsedQuery, flags, offset, parse_query, read_u16, read_u32, walk_response,
    write_u32,
};

pub(super) fn settings() -> CacheSettings {
    ServeConfig::default().cache
}

fn zone() -> MemoryZone {
    let big = (1..=300).fold(MemoryZone::default(), |zone, i| {
        zone.with("huge.example", zone::aaaa(&format!("2001:db8::{i:x}")))
    });
    big.with("www.example.com", zone::a("198.18.2.1"))
        .with("a1.example", zone::a("198.18.2.11"))
        .with("a2.example", zone::a("198.18.2.12"))
        .with("a3.example", zone::a("198.18.2.13"))
        .with("alias.example", zone::cname("www.example.com"))
        .with("v6only.example", zone::aaaa("2001:db8::6"))
}

/// The client query and the upstream answer (ID 0) for `name`.
pub(super) fn exchange(
    name: &str,
    qtype: u16,
    edns: Option<(u16, bool, u8)>,
) -> (Vec<u8>, ParsedQuery, Vec<u8>) {
    let msg = query(0x4242, name, qtype, edns);
    let parsed = parse_query(&msg).expect("query parses");
    let upstream = zone().respond(&name.to_ascii_lowercase(), qtype);
    (msg, parsed, upstream)
}

pub(super) fn store(
    cache: &AnswerCache,
    parsed: &ParsedQuery,
    upstream: &[u8],
    now: Instant,
) -> Arc<StoredAnswer> {
    let key = AnswerCache::key(&parsed.name, parsed.qtype);
    cache
        .store(
            key.as_ref(),
            upstream,
            parsed.question_end - HEADER_LEN,
            now,
        )
        .expect("stores")
}

fn lookup(cache: &AnswerCache, parsed: &ParsedQuery, now: Instant) -> CacheHit {
    cache.lookup(
        &AnswerCache::key(&parsed.name, parsed.qtype).expect("key"),
        now,
    )
}

#[test]
fn keys_fold_case_and_keep_type_apart() {
    let name = |text: &str| parse_query(&query(1, text, 1, None)).unwrap().name;
    let a = AnswerCache::key(&name("WWW.example.COM"), 1).unwrap();
    assert_eq!(a, AnswerCache::key(&name("www.example.com"), 1).unwrap());
    assert_ne!(a, AnswerCache::key(&name("www.example.com"), 28).unwrap());
    assert_ne!(a, AnswerCache::key(&name("www.example.co"), 1).unwrap());
    // "a.b" and "ab" differ only in label structure.
    assert_ne!(
        AnswerCache::key(&name("a.b"), 1),
        AnswerCache::key(&name("ab"), 1)
    );
    assert!(AnswerCache::key(&name("."), 1).is_some());
}

#[test]
fn hit_echoes_id_case_edns_and_counts_ttls_down() {
    let metrics = Arc::new(Metrics::default());
    let cache = AnswerCache::new(&settings(), Arc::clone(&metrics));
    let now = Instant::now();
    let (_, first, upstream) = exchange("alias.example", 1, None);
    store(&cache, &first, &upstream, now);
    assert_eq!(metrics.cache_entries_success.get(), 1);
    assert!(metrics.cache_bytes.get() > upstream.len() as i64);

    let (msg, parsed, _) = exchange("ALIAS.Example", 1, Some((1232, true, 0)));
    let later = now + Duration::from_secs(12);
    let CacheHit::Fresh {
        answer,
        age,
        prefetch,
    } = lookup(&cache, &parsed, later)
    else {
        panic!("fresh hit expected");
    };
    assert_eq!((age, prefetch), (12, false));
    let mut out = Vec::new();
    answer.write_reply(&msg, &parsed, TtlView::Fresh { age }, &mut out);
    assert_eq!(read_u16(&out, offset::ID), Some(0x4242));
    let reply_flags = read_u16(&out, offset::FLAGS).unwrap();
    assert_eq!(
        reply_flags & (flags::QR | flags::RA | flags::RD | flags::AA),
        flags::QR | flags::RA | flags::RD
    );
    assert_eq!(
        &out[HEADER_LEN..parsed.question_end],
        &msg[HEADER_LEN..parsed.question_end]
    );
    let layout = walk_response(&out).expect("reply walks");
    assert_eq!(layout.ttl_offsets.len(), 2, "CNAME + A");
    for at in layout.ttl_offsets.iter() {
        assert_eq!(read_u32(&out, usize::from(*at)), Some(30 - 12));
    }
    let opt = layout.opt.expect("OPT for an EDNS client");
    assert_eq!(out[opt.start + 7], 0x80, "DO echoed");
    assert_eq!(metrics.cache_hits_success.get(), 1);

    // Without EDNS: no OPT.
    let (msg, parsed, _) = exchange("alias.example", 1, None);
    answer.write_reply(&msg, &parsed, TtlView::Fresh { age: 40 }, &mut out);
    let layout = walk_response(&out).unwrap();
    assert_eq!(layout.opt, None);
    assert_eq!(
        read_u32(&out, usize::from(layout.ttl_offsets[0])),
        Some(0),
        "never below 0"
    );
}

#[test]
fn upstream_opt_is_not_stored() {
    let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
    let (msg, parsed, mut upstream) = exchange("www.example.com", 1, None);
    crate::serve::message::reply::append_opt(&mut upstream, false, 0);
    let answer = store(&cache, &parsed, &upstream, Instant::now());
    let mut out = Vec::new();
    answer.write_reply(&msg, &parsed, TtlView::Fresh { age: 0 }, &mut out);
    assert_eq!(read_u16(&out, offset::ARCOUNT), Some(0));
    assert_eq!(walk_response(&out).unwrap().opt, None);
}

#[test]
fn negative_answers_use_the_soa_and_expire() {
    let metrics = Arc::new(Metrics::default());
    let short_window = CacheSettings {
        stale_max_age: Duration::from_secs(30),
        ..settings()
    };
    let cache = AnswerCache::new(&short_window, Arc::clone(&metrics));
    let now = Instant::now();
    for (name, qtype) in [("nope.example", 1), ("v6only.example", 1)] {
        let (_, parsed, mut upstream) = exchange(name, qtype, None);
        // SOA MINIMUM (last field) 5 s below its TTL 30: RFC 2308 §5 takes 5.
        let len = upstream.len();
        write_u32(&mut upstream, len - 4, 5);
        let answer = store(&cache, &parsed, &upstream, now);
        assert!(answer.is_negative(), "{name}");
        assert_eq!(answer.entry_ttl(), 5, "{name}");
        assert!(matches!(
            lookup(&cache, &parsed, now + Duration::from_secs(4)),
            CacheHit::Fresh { .. }
        ));
        assert!(matches!(
            lookup(&cache, &parsed, now + Duration::from_secs(6)),
            CacheHit::Stale(_)
        ));
    }
    assert_eq!(metrics.cache_entries_denial.get(), 2);
    assert_eq!(metrics.cache_hits_denial.get(), 2);
    assert_eq!(metrics.cache_misses.get(), 2);
    // Past the stale window (30 s): gone, and the gauges follow.
    let (_, parsed, _) = exchange("nope.example", 1, None);
    assert!(matches!(
        lookup(&cache, &parsed, now + Duration::from_secs(60)),
        CacheHit::Miss
    ));
    assert_eq!(metrics.cache_entries_denial.get(), 1);
    assert_eq!(metrics.cache_evictions.get(), 0, "expiry is no eviction");
}

#[test]
fn uncacheable_answers_are_served_but_not_stored() {
    let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
    let now = Instant::now();
    let (_, parsed, upstream) = exchange("nope.example", 1, None);
    // NXDOMAIN without SOA: cut the authority section.
    let soa_at = walk_response(&upstream).unwrap().question_end;
    let mut no_soa = upstream[..soa_at].to_vec();
    no_soa[offset::NSCOUNT + 1] = 0;
    let mut servfail = upstream.clone();
    servfail[3] = (servfail[3] & 0xf0) | 2;
    let mut truncated = upstream.clone();
    truncated[2] |= 0x02;
    for (what, message) in [
        ("no SOA", no_soa),
        ("SERVFAIL", servfail),
        ("TC", truncated),
    ] {
        store(&cache, &parsed, &message, now);
        assert!(
            matches!(lookup(&cache, &parsed, now), CacheHit::Miss),
            "{what}"
        );
    }
    let (_, parsed, upstream) = exchange("huge.example", 28, None);
    assert!(upstream.len() > MAX_CACHED_ANSWER);
    store(&cache, &parsed, &upstream, now);
    assert!(
        matches!(lookup(&cache, &parsed, now), CacheHit::Miss),
        "too large"
    );
    assert_eq!(cache.len(), 0);
}

#[test]
fn mismatched_or_garbage_upstream_is_an_error() {
    let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
    let (_, parsed, _) = exchange("www.example.com", 1, None);
    let other = zone().respond("alias.example", 1);
    let key = AnswerCache::key(&parsed.name, 1);
    let len = parsed.question_end - HEADER_LEN;
    assert_eq!(
        cache
            .store(key.as_ref(), &other, len, Instant::now())
            .map(|_| ()),
        Err(StoreError::QuestionMismatch)
    );
    assert!(
        cache
            .store(key.as_ref(), b"garbage", len, Instant::now())
            .is_err()
    );
}

#[test]
fn byte_budget_is_a_hard_bound_and_entries_evict_lru() {
    let metrics = Arc::new(Metrics::default());
    let one = {
        let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
        let (_, parsed, upstream) = exchange("www.example.com", 1, None);
        store(&cache, &parsed, &upstream, Instant::now()).footprint()
    };
    let mut limits = settings();
    limits.max_bytes = one * 2 + one / 2;
    let cache = AnswerCache::new(&limits, Arc::clone(&metrics));
    let now = Instant::now();
    for name in ["a1.example", "a2.example", "a3.example"] {
        let (_, parsed, upstream) = exchange(name, 1, None);
        store(&cache, &parsed, &upstream, now);
    }
    assert_eq!(cache.len(), 2, "the third does not fit the byte budget");
    assert!(metrics.cache_bytes.get() as usize <= limits.max_bytes);

    // One entry per shard (resolver-core's cache bounds each of its 16 shards); plain LRU,
    // so every store of a new name evicts (admission_tests.rs has the doorkeeper).
    let mut limits = settings();
    limits.size = 1;
    limits.admission = Admission::Always;
    let metrics = Arc::new(Metrics::default());
    let cache = AnswerCache::new(&limits, Arc::clone(&metrics));
    let stored = 64;
    for i in 0..stored {
        let (_, parsed, upstream) = exchange("www.example.com", 1000 + i, None);
        store(&cache, &parsed, &upstream, now);
    }
    let held = cache.len();
    assert!(held <= 16, "{held} held");
    assert_eq!(
        metrics.cache_evictions.get(),
        u64::from(stored) - held as u64
    );
    // Replacing an entry is no eviction.
    let evictions = metrics.cache_evictions.get();
    let (_, parsed, upstream) = exchange("www.example.com", 1000 + stored - 1, None);
    store(&cache, &parsed, &upstream, now);
    assert_eq!(metrics.cache_evictions.get(), evictions);
    cache.clear();
    assert_eq!(metrics.cache_bytes.get(), 0);
    assert_eq!(
        metrics.cache_entries_success.get() + metrics.cache_entries_denial.get(),
        0
    );
}

#[test]
fn prefetch_is_claimed_once_when_popular_and_nearly_expired() {
    let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
    let now = Instant::now();
    let (_, parsed, upstream) = exchange("www.example.com", 1, None);
    store(&cache, &parsed, &upstream, now);
    let prefetch_at = |secs: u64| match lookup(&cache, &parsed, now + Duration::from_millis(secs)) {
        CacheHit::Fresh { prefetch, .. } => prefetch,
        other => panic!("fresh expected, got {other:?}"),
    };
    // Defaults: 5 hits, under 10 % of 30 s left (3 s).
    for _ in 0..5 {
        assert!(!prefetch_at(1_000), "early: plenty of TTL left");
    }
    assert!(prefetch_at(27_500), "popular and under 10 % left");
    assert!(!prefetch_at(27_600), "only one prefetch per entry");
}

#[test]
fn answers_with_more_records_than_the_inline_table_keep_every_ttl() {
    let many = (1..=40).fold(MemoryZone::default(), |zone, i| {
        zone.with("many.example", zone::a(&format!("198.18.4.{i}")))
    });
    let cache = AnswerCache::new(&settings(), Arc::new(Metrics::default()));
    let now = Instant::now();
    let msg = query(7, "many.example", 1, Some((1232, false, 0)));
    let parsed = parse_query(&msg).expect("query parses");
    let mut upstream = many.respond("many.example", 1);
    crate::serve::message::reply::append_opt(&mut upstream, false, 0);
    store(&cache, &parsed, &upstream, now);
    let CacheHit::Fresh { answer, .. } = lookup(&cache, &parsed, now) else {
        panic!("fresh hit expected");
    };
    let mut out = Vec::new();
    answer.write_reply(&msg, &parsed, TtlView::Fresh { age: 7 }, &mut out);
    let layout = walk_response(&out).expect("reply walks");
    assert_eq!(layout.ttl_offsets.len(), 40);
    for &at in layout.ttl_offsets.iter() {
        assert_eq!(read_u32(&out, usize::from(at)), Some(30 - 7));
    }
    answer.write_reply(&msg, &parsed, TtlView::Stale { ttl: 3 }, &mut out);
    let layout = walk_response(&out).expect("reply walks");
    assert_eq!(layout.opt.map(|opt| opt.end), Some(out.len()), "ours, last");
    for &at in layout.ttl_offsets.iter() {
        assert_eq!(read_u32(&out, usize::from(at)), Some(3));
    }
}

#[test]
fn pushing_out_an_expired_answer_is_no_eviction() {
    let mut limits = settings();
    limits.size = 1;
    limits.admission = Admission::Always;
    limits.stale_max_age = Duration::from_secs(3600);
    let metrics = Arc::new(Metrics::default());
    let cache = AnswerCache::new(&limits, Arc::clone(&metrics));
    let now = Instant::now();
    let round = |first_qtype: u16, at: Instant| {
        for qtype in first_qtype..first_qtype + 64 {
            let (_, parsed, upstream) = exchange("www.example.com", qtype, None);
            store(&cache, &parsed, &upstream, at);
        }
    };
    round(1000, now);
    let held_first = cache.len() as u64;
    assert_eq!(metrics.cache_evictions.get(), 64 - held_first);
    // 40 s later the first round's answers (TTL 30 s) have expired: pushing them out is
    // not counted, pushing out the second round's own fresh answers is.
    let later = now + Duration::from_secs(40);
    round(2000, later);
    let survivors = (1000..1064)
        .filter(|&qtype| {
            let (_, parsed, _) = exchange("www.example.com", qtype, None);
            matches!(lookup(&cache, &parsed, later), CacheHit::Stale(_))
        })
        .count() as u64;
    let held_second = cache.len() as u64 - survivors;
    assert!(
        held_first > survivors,
        "the second round pushed expired answers out"
    );
    assert_eq!(
        metrics.cache_evictions.get(),
        (64 - held_first) + (64 - held_second)
    );
}
