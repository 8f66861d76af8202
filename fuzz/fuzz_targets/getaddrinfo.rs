//! The shim's getaddrinfo: what the export does between reading its C arguments and
//! returning (`resolver-ffi`'s `decide`, the list build, and here the free), over a resolver
//! whose files are fixed (pod-style resolv.conf, a hosts file) and whose nameserver is the
//! fuzz input: every question is answered with a response carrying that question and the
//! input's records. Nothing goes on the wire; a decision to hand the call to libc is not
//! carried out.
//!
//! Input: flags (u16 BE), family, socktype, protocol selectors, a byte whose bits 0 and 1
//! make the node and the service NULL, then `node NUL service NUL answer`. The answer is:
//! rcode byte, ANCOUNT, NSCOUNT, ARCOUNT bytes, then the records' bytes (names may point
//! back to the question at offset 12).
#![no_main]

use std::ffi::CString;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nodecache::fuzzing::{Hints, Outcome, getaddrinfo};
use resolver_core::transport::{Exchange, Transport, TransportConfig};
use resolver_core::wire::{self, QueryFlags};
use resolver_core::{Error, Resolver};

/// The nameserver: answers every question with the current input's records.
#[derive(Debug, Default)]
struct ScriptedAnswer {
    answer: Mutex<Vec<u8>>,
}

impl Transport for ScriptedAnswer {
    fn exchange(&self, qname: &str, qtype: u16, _: &TransportConfig) -> Result<Exchange, Error> {
        let script = self.answer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut response = Vec::new();
        if wire::encode_query(&mut response, 0, qname, qtype, QueryFlags::default()).is_err() {
            return Err(Error::Timeout(Duration::from_millis(1)));
        }
        let (head, records) = script.split_at(script.len().min(4));
        let byte = |i: usize| head.get(i).copied().unwrap_or(0);
        // QR, RD, RA and the script's rcode; one question; the script's counts.
        response[2] = 0x81;
        response[3] = 0x80 | (byte(0) & 0x0f);
        for (i, count) in [byte(1), byte(2), byte(3)].into_iter().enumerate() {
            response[6 + 2 * i] = 0;
            response[7 + 2 * i] = count;
        }
        response.extend_from_slice(records);
        Ok(Exchange {
            response,
            server: SocketAddr::from(([127, 0, 0, 53], 53)),
            over_tcp: false,
            queries_sent: 1,
            retransmits: 0,
            tcp_fallback: false,
        })
    }
}

static NAMESERVER: LazyLock<Arc<ScriptedAnswer>> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("nodecache-fuzz-gai-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("config file");
        path
    };
    let resolver = Resolver::builder()
        .resolv_conf(file(
            "resolv.conf",
            "nameserver 127.0.0.53\nsearch default.svc.cluster.local svc.cluster.local \
             cluster.local\noptions ndots:5\n",
        ))
        .hosts(file(
            "hosts",
            "127.0.0.1 localhost\n::1 localhost ip6-localhost\n198.18.5.5 pinned.example.com \
             pinned\n198.18.5.6 Pinned\nfe80::1 linklocal\n",
        ))
        .nsswitch(file("nsswitch.conf", "hosts: files dns\n"))
        .cache(false)
        .transport(Arc::clone(&*NAMESERVER_TRANSPORT) as Arc<dyn Transport>)
        .build();
    assert!(
        nodecache::install_resolver(resolver),
        "a resolver was built before the scripted one"
    );
    Arc::clone(&*NAMESERVER_TRANSPORT)
});

static NAMESERVER_TRANSPORT: LazyLock<Arc<ScriptedAnswer>> =
    LazyLock::new(|| Arc::new(ScriptedAnswer::default()));

fn select(byte: u8, table: &[libc::c_int]) -> libc::c_int {
    table
        .get(usize::from(byte))
        .copied()
        .unwrap_or(libc::c_int::from(byte))
}

fuzz_target!(|data: &[u8]| {
    let nameserver = &*NAMESERVER;
    let Some((head, rest)) = data.split_at_checked(6) else {
        return;
    };
    let hints = Hints {
        flags: libc::c_int::from(u16::from_be_bytes([head[0], head[1]])),
        family: select(head[2], &[libc::AF_UNSPEC, libc::AF_INET, libc::AF_INET6]),
        socktype: select(
            head[3],
            &[0, libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_RAW],
        ),
        protocol: select(head[4], &[0, libc::IPPROTO_TCP, libc::IPPROTO_UDP]),
    };
    let mut fields = rest.splitn(3, |&b| b == 0);
    let node = CString::new(fields.next().unwrap_or_default()).expect("no NUL");
    let service = CString::new(fields.next().unwrap_or_default()).expect("no NUL");
    *nameserver
        .answer
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = fields.next().unwrap_or_default().to_vec();
    let node = (head[5] & 1 == 0).then_some(node.as_c_str());
    let service = (head[5] & 2 == 0).then_some(service.as_c_str());
    let outcome = getaddrinfo(node, service, hints);
    assert_ne!(outcome, Outcome::NoResolver);
});
