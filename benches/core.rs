//! Criterion benches of the in-process hot paths (issue 2 targets, README "Performance"):
//! - `resolver/warm_lookup`: a cache hit through the public API (target < 300 ns);
//! - `policy/plan_*`: planning the candidates of a name under a pod's resolv.conf (< 1 µs).

use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use resolver_core::config::ResolvConf;
use resolver_core::policy::SearchPolicy;
use resolver_core::transport::{Exchange, Transport, TransportConfig};
use resolver_core::{Error, Family, LookupOptions, Resolver};

const POD_RESOLV: &str = "nameserver 127.0.0.53\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n";

/// Answers A with one record and AAAA with NODATA: the bench measures the cache, not a network.
#[derive(Debug)]
struct OneAddress;

impl Transport for OneAddress {
    fn exchange(&self, qname: &str, qtype: u16, _: &TransportConfig) -> Result<Exchange, Error> {
        let name = Name::from_ascii(format!("{qname}.")).expect("valid name");
        let mut message = Message::new();
        message.set_message_type(MessageType::Response);
        message.add_query(Query::query(name.clone(), RecordType::from(qtype)));
        if qtype == 1 {
            message.add_answer(Record::from_rdata(
                name,
                300,
                RData::A(A::new(198, 18, 1, 10)),
            ));
        } else {
            // NODATA with the zone's SOA, as a real server sends it: cacheable (RFC 2308 §5).
            let soa = SOA::new(Name::root(), Name::root(), 1, 60, 60, 60, 30);
            message.add_name_server(Record::from_rdata(Name::root(), 30, RData::SOA(soa)));
        }
        Ok(Exchange {
            response: message.to_vec().expect("encodable"),
            server: SocketAddr::from(([127, 0, 0, 53], 53)),
            over_tcp: false,
            queries_sent: 1,
            retransmits: 0,
            tcp_fallback: false,
        })
    }
}

fn warm_lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, POD_RESOLV).expect("write resolv.conf");
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").expect("write hosts");
    let nsswitch = dir.path().join("nsswitch.conf");
    std::fs::write(&nsswitch, "hosts: files dns\n").expect("write nsswitch");
    let resolver = Resolver::builder()
        .resolv_conf(&resolv)
        .hosts(&hosts)
        .nsswitch(&nsswitch)
        .transport(Arc::new(OneAddress))
        .build();
    let options = LookupOptions {
        family: Family::Unspec,
        addrconfig: false,
    };
    resolver
        .lookup("web", options)
        .expect("first lookup fills the cache");
    let sent = resolver.stats().queries_sent;
    resolver.lookup("web", options).expect("cached");
    assert_eq!(
        resolver.stats().queries_sent,
        sent,
        "the second lookup must be a cache hit"
    );
    c.bench_function("resolver/warm_lookup", |b| {
        b.iter(|| {
            resolver
                .lookup(std::hint::black_box("web"), options)
                .expect("cached")
        })
    });
}

fn plan(c: &mut Criterion) {
    let policy = SearchPolicy::new(&ResolvConf::parse(POD_RESOLV), None);
    c.bench_function("policy/plan_external_name", |b| {
        b.iter(|| {
            policy
                .plan(std::hint::black_box("www.example.com"))
                .expect("valid")
        })
    });
    c.bench_function("policy/plan_service_in_namespace", |b| {
        b.iter(|| policy.plan(std::hint::black_box("api.dev")).expect("valid"))
    });
}

criterion_group!(benches, warm_lookup, plan);
criterion_main!(benches);
