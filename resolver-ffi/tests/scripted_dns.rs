//! The exports over a scripted nameserver (resolver-core's `Transport` seam): DNS answers,
//! negative answers, failures, CNAMEs, v4-mapping and the statistics, without any socket.
//! This test binary installs its own resolver before the first lookup.

mod common;

use std::collections::HashSet;
use std::ffi::CStr;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use common::ours;
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, RecordType};
use libc::{AF_INET, AF_INET6, AF_UNSPEC, SOCK_STREAM};
use nodecache::NodecacheStats;
use nodecache::consts::*;
use resolver_core::transport::{Exchange, Transport, TransportConfig};
use resolver_core::{Error, Resolver};
use testbed::zone::{MemoryZone, a, aaaa, cname};

/// The shared in-memory zone plus the faults a real server would not script: names in
/// `servfail` answer SERVFAIL and names in `silent` time out.
#[derive(Debug, Default)]
struct Zone {
    records: MemoryZone,
    servfail: HashSet<String>,
    silent: HashSet<String>,
    asked: Mutex<Vec<(String, u16)>>,
}

impl Zone {
    fn with(mut self, name: &str, rdata: RData) -> Self {
        self.records = self.records.with(name, rdata);
        self
    }

    fn respond(&self, qname: &str, qtype: u16) -> Vec<u8> {
        if !self.servfail.contains(qname) {
            return self.records.respond(qname, qtype);
        }
        let mut message = Message::new();
        message
            .set_message_type(MessageType::Response)
            .set_response_code(ResponseCode::ServFail);
        let name = Name::from_ascii(format!("{qname}.")).unwrap();
        message.add_query(Query::query(name, RecordType::from(qtype)));
        message.to_vec().unwrap()
    }
}

impl Transport for Zone {
    fn exchange(&self, qname: &str, qtype: u16, _: &TransportConfig) -> Result<Exchange, Error> {
        self.asked.lock().unwrap().push((qname.to_string(), qtype));
        if self.silent.contains(qname) {
            return Err(Error::Timeout(Duration::from_millis(10)));
        }
        Ok(Exchange {
            response: self.respond(qname, qtype),
            server: SocketAddr::from(([127, 0, 0, 53], 53)),
            over_tcp: false,
            queries_sent: 1,
            retransmits: 0,
            tcp_fallback: false,
        })
    }
}

const SEARCH: &str = "default.svc.cluster.local svc.cluster.local cluster.local";

static SETUP: Once = Once::new();
static ZONE: Mutex<Option<Arc<Zone>>> = Mutex::new(None);

/// Installs the scripted resolver once for this test binary; returns the zone.
fn zone() -> Arc<Zone> {
    SETUP.call_once(|| {
        let dir = tempfile::tempdir().unwrap();
        let resolv = dir.path().join("resolv.conf");
        let hosts = dir.path().join("hosts");
        let nsswitch = dir.path().join("nsswitch.conf");
        std::fs::write(
            &resolv,
            format!("nameserver 127.0.0.53\nsearch {SEARCH}\noptions ndots:5\n"),
        )
        .unwrap();
        std::fs::write(
            &hosts,
            "127.0.0.1 localhost\n198.18.5.5 pinned.example.com pinned\n",
        )
        .unwrap();
        std::fs::write(&nsswitch, "hosts: files dns\n").unwrap();
        let mut zone = Zone::default()
            .with("web.default.svc.cluster.local", a("198.18.1.10"))
            .with("www.example.com", a("198.18.2.1"))
            .with("www.example.com", a("198.18.2.2"))
            .with("www.example.com", aaaa("2001:db8::1"))
            .with("v6only.example.com", aaaa("2001:db8::6"))
            .with("ext.default.svc.cluster.local", cname("www.example.com"))
            .with(
                "nothing.example.com",
                RData::SOA(SOA::new(Name::root(), Name::root(), 1, 1, 1, 1, 1)),
            );
        zone.servfail.insert("broken.example.com".into());
        zone.silent.insert("silent.example.com".into());
        let zone = Arc::new(zone);
        let resolver = Resolver::builder()
            .resolv_conf(resolv)
            .hosts(hosts)
            .nsswitch(nsswitch)
            .transport(zone.clone())
            .build();
        assert!(
            nodecache::install_resolver(resolver),
            "a lookup ran before the setup"
        );
        *ZONE.lock().unwrap() = Some(zone);
        // The files are read at build time and re-checked at most once a second; keep them.
        std::mem::forget(dir);
    });
    ZONE.lock().unwrap().clone().unwrap()
}

fn ips(node: &str, hints: common::Hints) -> Result<Vec<String>, i32> {
    zone();
    ours(Some(node), None, hints).map(|rows| rows.iter().map(|r| r.ip.to_string()).collect())
}

fn stream(flags: i32, family: i32) -> common::Hints {
    Some((flags, family, SOCK_STREAM, 0))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn dns_answers_of_both_families_are_returned() {
    let got = ips("www.example.com.", stream(0, AF_UNSPEC)).unwrap();
    assert_eq!(sorted(got), ["198.18.2.1", "198.18.2.2", "2001:db8::1"]);
    assert_eq!(
        ips("www.example.com.", stream(0, AF_INET)).unwrap(),
        ["198.18.2.1", "198.18.2.2"]
    );
    assert_eq!(
        ips("www.example.com.", stream(0, AF_INET6)).unwrap(),
        ["2001:db8::1"]
    );
    // The search list, Kubernetes style: `web` is the service in the pod's namespace.
    assert_eq!(ips("web", stream(0, AF_INET)).unwrap(), ["198.18.1.10"]);
}

#[test]
fn negative_answers_and_failures_map_to_glibcs_codes() {
    assert_eq!(
        ips("nosuch.example.com.", stream(0, AF_UNSPEC)),
        Err(EAI_NONAME)
    );
    assert_eq!(
        ips("v6only.example.com.", stream(0, AF_INET)),
        Err(EAI_NODATA)
    );
    assert_eq!(
        ips("broken.example.com.", stream(0, AF_UNSPEC)),
        Err(EAI_AGAIN)
    );
    assert_eq!(
        ips("silent.example.com.", stream(0, AF_INET)),
        Err(EAI_AGAIN)
    );
}

#[test]
fn canonname_is_the_end_of_the_cname_chain() {
    zone();
    let rows = ours(Some("ext"), None, stream(AI_CANONNAME, AF_INET)).unwrap();
    assert_eq!(rows[0].canonname.as_deref(), Some("www.example.com"));
    assert!(rows[1..].iter().all(|r| r.canonname.is_none()));
    let got: Vec<String> = rows.iter().map(|r| r.ip.to_string()).collect();
    assert_eq!(sorted(got), ["198.18.2.1", "198.18.2.2"]);
}

#[test]
fn v4_mapping_follows_glibc() {
    let mapped = stream(AI_V4MAPPED, AF_INET6);
    // No IPv6 answer: the IPv4 ones come back mapped.
    assert_eq!(ips("web", mapped).unwrap(), ["::ffff:198.18.1.10"]);
    // IPv6 answers exist: only those, unless AI_ALL.
    assert_eq!(ips("www.example.com.", mapped).unwrap(), ["2001:db8::1"]);
    let all = ips("www.example.com.", stream(AI_V4MAPPED | AI_ALL, AF_INET6)).unwrap();
    assert_eq!(
        sorted(all),
        ["2001:db8::1", "::ffff:198.18.2.1", "::ffff:198.18.2.2"]
    );
    // Neither family: the name exists, so NODATA; unknown names stay EAI_NONAME.
    assert_eq!(ips("nothing.example.com.", mapped), Err(EAI_NODATA));
    assert_eq!(ips("nosuch.example.com.", mapped), Err(EAI_NONAME));
}

#[test]
fn hosts_file_names_never_reach_the_nameserver() {
    let zone = zone();
    assert_eq!(ips("pinned", stream(0, AF_INET)).unwrap(), ["198.18.5.5"]);
    let asked = zone.asked.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|(name, _)| name.starts_with("pinned")),
        "{asked:?}"
    );
}

fn stats() -> NodecacheStats {
    let mut out = NodecacheStats::default();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { nodecache::nodecache_stats(&mut out) }, 0);
    out
}

#[test]
fn stats_show_queries_hits_and_flush() {
    zone();
    let name = "cached.default.svc.cluster.local.";
    let before = stats();
    assert_eq!(ips(name, stream(0, AF_INET)), Err(EAI_NONAME));
    let after_miss = stats();
    assert!(after_miss.queries_sent > before.queries_sent);
    assert_eq!(ips(name, stream(0, AF_INET)), Err(EAI_NONAME));
    let after_hit = stats();
    assert!(after_hit.cache_hits > after_miss.cache_hits);
    // SAFETY: no arguments.
    unsafe { nodecache::nodecache_cache_flush() };
    assert_eq!(ips(name, stream(0, AF_INET)), Err(EAI_NONAME));
    assert!(
        stats().queries_sent > after_hit.queries_sent,
        "a flush makes the name ask again"
    );
}

#[test]
fn gethostbyname_reports_h_errno() {
    zone();
    // SAFETY: valid C strings; results are read before the next call on this thread.
    unsafe {
        let entry = nodecache::gethostbyname(c"web".as_ptr());
        assert!(!entry.is_null());
        assert_eq!(
            CStr::from_ptr((*entry).h_name).to_str(),
            Ok("web.default.svc.cluster.local")
        );
        let first = std::slice::from_raw_parts((*(*entry).h_addr_list).cast::<u8>(), 4);
        assert_eq!(
            IpAddr::from(<[u8; 4]>::try_from(first).unwrap()).to_string(),
            "198.18.1.10"
        );
        for (name, expected) in [
            (c"v6only.example.com.", NO_DATA),
            (c"nosuch.example.com.", HOST_NOT_FOUND),
            (c"broken.example.com.", TRY_AGAIN),
        ] {
            assert!(nodecache::gethostbyname(name.as_ptr()).is_null());
            assert_eq!(*h_errno_location(), expected, "{name:?}");
        }
        let six = nodecache::gethostbyname2(c"v6only.example.com.".as_ptr(), AF_INET6);
        assert!(!six.is_null());
        assert_eq!((*six).h_length, 16);
    }
}

unsafe extern "C" {
    #[link_name = "__h_errno_location"]
    fn h_errno_location() -> *mut i32;
}
