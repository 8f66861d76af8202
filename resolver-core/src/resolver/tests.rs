//! Resolver tests over a scripted transport: policy, caches, hosts and nsswitch without sockets.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use testbed::zone::{MemoryZone, a, aaaa, cname};

use super::*;
use crate::transport::{Exchange, LookupSockets, Transport, TransportConfig};
use crate::wire::rtype;

/// A zone in memory behind the `Transport` seam, recording every question asked.
#[derive(Debug, Default)]
struct ScriptedTransport {
    zone: MemoryZone,
    asked: Mutex<Vec<(String, u16)>>,
    /// Per question: the address of the [`LookupSockets`] it was asked with.
    sockets_used: Mutex<Vec<usize>>,
}

impl ScriptedTransport {
    fn with(mut self, name: &str, rdata: hickory_proto::rr::RData) -> Self {
        self.zone = self.zone.with(name, rdata);
        self
    }

    fn asked(&self) -> Vec<(String, u16)> {
        self.asked.lock().clone()
    }
}

impl Transport for ScriptedTransport {
    fn exchange(
        &self,
        qname: &str,
        qtype: u16,
        _config: &TransportConfig,
    ) -> Result<Exchange, Error> {
        self.asked.lock().push((qname.to_string(), qtype));
        Ok(Exchange {
            response: self.zone.respond(qname, qtype),
            server: SocketAddr::from(([127, 0, 0, 53], 53)),
            over_tcp: false,
            queries_sent: 1,
            retransmits: 0,
            tcp_fallback: false,
        })
    }

    fn exchange_in(
        &self,
        sockets: &mut LookupSockets<'_>,
        qname: &str,
        qtype: u16,
        config: &TransportConfig,
    ) -> Result<Exchange, Error> {
        self.sockets_used
            .lock()
            .push(std::ptr::from_mut(sockets) as usize);
        self.exchange(qname, qtype, config)
    }
}

fn cluster() -> ScriptedTransport {
    ScriptedTransport::default()
        .with("web.default.svc.cluster.local", a("198.18.1.10"))
        .with("api.dev.svc.cluster.local", a("198.18.1.20"))
        .with("api.dev", a("198.18.9.9"))
        .with("www.example.com", a("198.18.2.1"))
        .with("www.example.com", aaaa("2001:db8::1"))
        .with("ext.default.svc.cluster.local", cname("www.example.com"))
}

struct Fixture {
    _dir: tempfile::TempDir,
    transport: Arc<ScriptedTransport>,
    resolver: Resolver,
}

const POD_RESOLV: &str = "nameserver 127.0.0.53\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n";

fn fixture(transport: ScriptedTransport, resolv: &str, hosts: &str, nsswitch: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path
    };
    let transport = Arc::new(transport);
    let resolver = Resolver::builder()
        .resolv_conf(write("resolv.conf", resolv))
        .hosts(write("hosts", hosts))
        .nsswitch(write("nsswitch.conf", nsswitch))
        .transport(transport.clone())
        .build();
    Fixture {
        _dir: dir,
        transport,
        resolver,
    }
}

fn pod() -> Fixture {
    fixture(
        cluster(),
        POD_RESOLV,
        "127.0.0.1 localhost\n198.18.5.5 pinned.example.com pinned\n",
        "hosts: files dns\n",
    )
}

/// Both families, whatever this machine's interfaces are.
const BOTH: LookupOptions = LookupOptions {
    family: Family::Unspec,
    addrconfig: false,
};

fn ips(answer: &LookupAnswer) -> Vec<String> {
    answer.addrs.iter().map(IpAddr::to_string).collect()
}

#[test]
fn the_questions_of_one_lookup_share_its_sockets() {
    let f = pod();
    f.resolver.lookup("www.example.com", BOTH).unwrap();
    let used = f.transport.sockets_used.lock().clone();
    assert_eq!(
        used.len(),
        3,
        "every question asked with the lookup's sockets"
    );
    assert!(used.iter().all(|&s| s == used[0]), "{used:?}");
}

#[test]
fn external_name_skips_impossible_cluster_candidates() {
    let f = pod();
    let answer = f.resolver.lookup("www.example.com", BOTH).unwrap();
    assert_eq!(ips(&answer), ["198.18.2.1", "2001:db8::1"]);
    assert_eq!(
        f.transport.asked(),
        [
            ("www.example.com.svc.cluster.local".to_string(), rtype::A),
            ("www.example.com".to_string(), rtype::A),
            ("www.example.com".to_string(), rtype::AAAA),
        ]
    );
}

#[test]
fn warm_lookup_sends_nothing_and_counts_a_hit() {
    let f = pod();
    f.resolver.lookup("web", BOTH).unwrap();
    let sent = f.transport.asked().len();
    let again = f.resolver.lookup("web", BOTH).unwrap();
    assert_eq!(ips(&again), ["198.18.1.10"]);
    assert_eq!(f.transport.asked().len(), sent);
    assert_eq!(f.resolver.stats().cache_hits, 1);
}

#[test]
fn question_cache_shares_negative_answers_between_names() {
    let f = pod();
    f.resolver.lookup("web", BOTH).unwrap();
    f.resolver
        .lookup("web.default.svc.cluster.local", BOTH)
        .unwrap();
    // The second name is absolute in Kubernetes mode and its questions are already cached.
    let web_questions = f
        .transport
        .asked()
        .iter()
        .filter(|(n, _)| n == "web.default.svc.cluster.local")
        .count();
    assert_eq!(
        web_questions,
        2,
        "A and AAAA asked once each: {:?}",
        f.transport.asked()
    );
}

#[test]
fn public_name_never_shadows_a_service() {
    let f = pod();
    let answer = f.resolver.lookup("api.dev", BOTH).unwrap();
    assert_eq!(ips(&answer), ["198.18.1.20"]);
}

#[test]
fn externalname_cname_gives_target_addresses_and_canonical_name() {
    let f = pod();
    let answer = f.resolver.lookup("ext", BOTH).unwrap();
    assert_eq!(ips(&answer), ["198.18.2.1", "2001:db8::1"]);
    assert_eq!(answer.canonical_name, "www.example.com");
}

#[test]
fn cname_chain_without_address_is_no_recovery() {
    // `noaddr` has only an AAAA record: A asks end at the CNAME. (The scripted zone sends no
    // SOA with a CNAME-only answer, so RFC 2308 gives it no negative TTL: nothing is cached.)
    let transport = cluster()
        .with("alias.example.com", cname("noaddr.example.com"))
        .with("noaddr.example.com", aaaa("2001:db8::7"));
    let f = fixture(transport, POD_RESOLV, "", "hosts: files dns\n");
    let inet = LookupOptions {
        family: Family::Inet,
        addrconfig: false,
    };
    let error = f.resolver.lookup("alias.example.com", inet).unwrap_err();
    assert!(error.is_no_recovery(), "got {error:?}");
    assert_eq!(
        f.transport.asked(),
        [
            ("alias.example.com.svc.cluster.local".to_string(), rtype::A),
            ("alias.example.com".to_string(), rtype::A),
        ]
    );
    // Both families: the AAAA at the end of the chain is an answer.
    let answer = f.resolver.lookup("alias.example.com", BOTH).unwrap();
    assert_eq!(ips(&answer), ["2001:db8::7"]);
    assert_eq!(answer.canonical_name, "noaddr.example.com");
}

#[test]
fn hosts_file_answers_before_dns() {
    let f = pod();
    let answer = f.resolver.lookup("pinned", BOTH).unwrap();
    assert_eq!(ips(&answer), ["198.18.5.5"]);
    assert_eq!(answer.source, Source::Hosts);
    assert!(f.transport.asked().is_empty());
}

#[test]
fn plain_dns_then_files_is_not_ours() {
    // glibc reads the hosts file after an NXDOMAIN here; only libc can reproduce that order.
    let f = fixture(
        cluster(),
        POD_RESOLV,
        "198.18.5.5 pinned\n",
        "hosts: dns files\n",
    );
    assert!(matches!(
        f.resolver.lookup("pinned", BOTH),
        Err(Error::UnsupportedSource(_))
    ));
}

#[test]
fn dns_unavail_return_files_keeps_dns_answers() {
    let f = fixture(
        cluster(),
        POD_RESOLV,
        "198.18.5.5 pinned\n198.18.6.6 web\n",
        "hosts: dns [!UNAVAIL=return] files\n",
    );
    assert_eq!(
        ips(&f.resolver.lookup("web", BOTH).unwrap()),
        ["198.18.1.10"]
    );
    // NXDOMAIN returns: the hosts file is not consulted.
    assert!(
        f.resolver
            .lookup("pinned", BOTH)
            .unwrap_err()
            .is_nx_domain()
    );
}

#[test]
fn unknown_nsswitch_source_is_not_ours() {
    let f = fixture(cluster(), POD_RESOLV, "", "hosts: files myhostname dns\n");
    let error = f.resolver.lookup("web", BOTH).unwrap_err();
    assert!(
        matches!(error, Error::UnsupportedSource(ref s) if s.contains("myhostname")),
        "{error:?}"
    );
}

#[test]
fn nonexistent_name_is_nxdomain_and_cached_negatively() {
    let f = pod();
    assert!(
        f.resolver
            .lookup("nope.example.com", BOTH)
            .unwrap_err()
            .is_nx_domain()
    );
    let sent = f.transport.asked().len();
    assert!(
        f.resolver
            .lookup("nope.example.com", BOTH)
            .unwrap_err()
            .is_nx_domain()
    );
    assert_eq!(
        f.transport.asked().len(),
        sent,
        "the negative answer is cached"
    );
}

#[test]
fn glibc_mode_asks_every_candidate() {
    let f = pod();
    let resolver = Resolver::builder()
        .resolv_conf(f._dir.path().join("resolv.conf"))
        .hosts(f._dir.path().join("hosts"))
        .nsswitch(f._dir.path().join("nsswitch.conf"))
        .search_mode(SearchMode::Glibc)
        .transport(f.transport.clone())
        .build();
    resolver
        .lookup(
            "www.example.com",
            LookupOptions {
                family: Family::Inet,
                addrconfig: false,
            },
        )
        .unwrap();
    let names: Vec<String> = f.transport.asked().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "www.example.com.default.svc.cluster.local",
            "www.example.com.svc.cluster.local",
            "www.example.com.cluster.local",
            "www.example.com"
        ]
    );
}

#[test]
fn numeric_hosts_never_touch_dns() {
    let f = pod();
    assert_eq!(
        ips(&f.resolver.lookup("127.1", BOTH).unwrap()),
        ["127.0.0.1"]
    );
    assert!(f.transport.asked().is_empty());
}

#[test]
fn cache_off_asks_every_time() {
    let f = pod();
    let resolver = Resolver::builder()
        .resolv_conf(f._dir.path().join("resolv.conf"))
        .cache(false)
        .transport(f.transport.clone())
        .build();
    resolver.lookup("web", BOTH).unwrap();
    resolver.lookup("web", BOTH).unwrap();
    assert_eq!(f.transport.asked().len(), 4);
}

#[test]
fn changed_resolv_conf_takes_effect_and_flushes_the_cache() {
    let transport = cluster().with("db.prod.svc.cluster.local", a("198.18.1.30"));
    let f = fixture(transport, POD_RESOLV, "", "hosts: files dns\n");
    assert!(f.resolver.lookup("db", BOTH).unwrap_err().is_nx_domain());
    // The pod moves to namespace prod: the search list changes.
    let moved = POD_RESOLV.replace("default.svc", "prod.svc");
    std::fs::write(f._dir.path().join("resolv.conf"), moved).unwrap();
    f.resolver.reload_config();
    assert_eq!(
        ips(&f.resolver.lookup("db", BOTH).unwrap()),
        ["198.18.1.30"]
    );
}

#[test]
fn resolver_is_shareable_across_threads() {
    // The shim keeps one Resolver per process and calls it from every thread.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Resolver>();
}

#[test]
fn absolute_and_searched_names_are_cached_apart() {
    // `api.dev` searched finds the service; `api.dev.` is the public name.
    let f = pod();
    assert_eq!(
        ips(&f.resolver.lookup("api.dev", BOTH).unwrap()),
        ["198.18.1.20"]
    );
    assert_eq!(
        ips(&f.resolver.lookup("api.dev.", BOTH).unwrap()),
        ["198.18.9.9"]
    );
    assert_eq!(
        ips(&f.resolver.lookup("api.dev", BOTH).unwrap()),
        ["198.18.1.20"]
    );
}
