//! `nodecache serve` reads UDP queries in batches (recvmmsg) and sends the replies of cache
//! hits in batches (sendmmsg): 64 queries queued at once from one client socket must each
//! get its own reply (ID, question case, rcode, records), misses and hits alike, with
//! truncation decided per query inside a batch. The daemon is stopped (SIGSTOP) while the
//! client writes, so all 64 wait in its socket and are read as full batches. The misses of
//! one batch go upstream together, through one pooled socket.

mod serve_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use testbed::{Corpus, Daemon, Expected, Node, require_programs};

use serve_common::{ask_nsd, records, start_daemon};

/// Queries per burst: two full batches of the daemon's 32.
const BURST: u16 = 64;

/// The client: sends every query of argv[2:] (`ID NAME TYPE EDNS`, EDNS 0 for none, else
/// the UDP size to offer) from one socket, prints `sent`, then prints one line per reply:
/// `ID RCODE TC QNAME A,A,...` (A records of the answer section, sorted). A client in Python
/// because the test needs the pod namespace and a raw socket; no DNS library.
const CLIENT: &str = r#"
import socket, struct, sys, time
port = int(sys.argv[1])
queries = [q.split() for q in sys.argv[2:]]
def name_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"
def read_name(msg, at):
    labels, jumped, end = [], False, at
    while True:
        n = msg[at]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = at + 2
            at, jumped = ((n & 0x3F) << 8) | msg[at + 1], True
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else at + 1)
        labels.append(msg[at + 1:at + 1 + n].decode())
        at += 1 + n
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
types = {"A": 1, "AAAA": 28}
for qid, name, qtype, edns in queries:
    msg = struct.pack(">HHHHHH", int(qid), 0x0100, 1, 0, 0, 1 if int(edns) else 0)
    msg += name_wire(name) + struct.pack(">HH", types[qtype], 1)
    if int(edns):
        msg += b"\0" + struct.pack(">HHIH", 41, int(edns), 0, 0)
    s.sendto(msg, ("127.0.0.1", port))
print("sent", flush=True)
s.settimeout(0.2)
deadline = time.time() + 10
got = 0
while got < len(queries) and time.time() < deadline:
    try:
        msg = s.recv(65535)
    except socket.timeout:
        continue
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    qname, at = read_name(msg, 12)
    at += 4
    addrs = []
    for _ in range(an):
        _, at = read_name(msg, at)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[at:at + 10])
        at += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(".".join(str(b) for b in msg[at:at + 4]))
        at += rdlen
    print(qid, flags & 0xF, 1 if flags & 0x0200 else 0, qname, ",".join(sorted(addrs)) or "-")
    got += 1
"#;

/// One question of the burst, cycled through: name as sent (0x20 case), type, EDNS size.
const QUESTIONS: &[(&str, &str, u16)] = &[
    ("WwW.ExAmPlE.cOm", "A", 1232),
    ("www.example.com", "AAAA", 0),
    ("web.default.svc.cluster.local", "A", 0),
    ("nope.example.com", "A", 1232),
    // 40 A records: truncated without EDNS, whole with a 4096-octet offer.
    (Corpus::BIG_NAME, "A", 0),
    (Corpus::BIG_NAME, "A", 4096),
];

/// A reply as the client printed it.
#[derive(Debug)]
struct Reply {
    rcode: u16,
    truncated: bool,
    qname: String,
    addrs: BTreeSet<String>,
}

fn parse_replies(stdout: &str) -> BTreeMap<u16, Reply> {
    let mut replies = BTreeMap::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [id, rcode, tc, qname, addrs] = fields[..] else {
            panic!("bad client line {line:?}");
        };
        let reply = Reply {
            rcode: rcode.parse().expect("rcode"),
            truncated: tc == "1",
            qname: qname.to_owned(),
            addrs: addrs
                .split(',')
                .filter(|a| *a != "-")
                .map(str::to_owned)
                .collect(),
        };
        let id: u16 = id.parse().expect("id");
        assert!(
            replies.insert(id, reply).is_none(),
            "ID {id} answered twice"
        );
    }
    replies
}

#[test]
fn a_burst_of_64_queries_from_one_socket_gets_64_matching_replies_miss_and_hit() {
    if !require_programs(
        "a_burst_of_64_queries_from_one_socket_gets_64_matching_replies_miss_and_hit",
        &["python3"],
    ) {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    let expected_www: BTreeSet<String> = records(&ask_nsd(&node, &["www.example.com", "A"]))
        .into_iter()
        .map(|(_, rdata)| rdata)
        .collect();
    assert!(!expected_www.is_empty());
    let Some(Expected::Addrs(big)) = Corpus.expected(Corpus::BIG_NAME) else {
        panic!("the corpus has the big name");
    };
    let big_count = big.len();

    // Round one: the cache is empty (every question a miss, repeats coalesced upstream);
    // round two: every question a hit, answered and sent in batches.
    for round in ["miss", "hit"] {
        let mut args = vec!["-c".to_owned(), CLIENT.to_owned(), "5353".to_owned()];
        let mut sent = BTreeMap::new();
        for i in 0..BURST {
            let question = QUESTIONS[usize::from(i) % QUESTIONS.len()];
            let id = 0x4000 + i;
            args.push(format!("{id} {} {} {}", question.0, question.1, question.2));
            sent.insert(id, question);
        }
        let text = send_while_stopped(&node, &daemon, &args);
        let replies = parse_replies(&text);
        assert_eq!(
            replies.len(),
            usize::from(BURST),
            "{round}: every query answered {}\n{text}\ndaemon:\n{}",
            replies.len(),
            daemon.stderr()
        );
        for (id, reply) in &replies {
            let &(name, qtype, edns) = sent.get(id).expect("a reply to a query we sent");
            let what = format!("{round} {id} {name} {qtype} edns {edns}: {reply:?}");
            assert_eq!(reply.qname, name, "{what}: question echoed with its case");
            match (name, qtype, edns) {
                ("nope.example.com", ..) => assert_eq!(reply.rcode, 3, "{what}"),
                (_, "A", 0) if name == Corpus::BIG_NAME => {
                    assert!(reply.truncated, "{what}: TC without EDNS");
                }
                (_, "A", _) if name == Corpus::BIG_NAME => {
                    assert!(!reply.truncated, "{what}");
                    assert_eq!(reply.addrs.len(), big_count, "{what}");
                }
                ("WwW.ExAmPlE.cOm", "A", _) => {
                    assert_eq!(reply.rcode, 0, "{what}");
                    assert_eq!(reply.addrs, expected_www, "{what}");
                }
                _ => assert_eq!(reply.rcode, 0, "{what}"),
            }
        }
    }
}

/// The misses of one receive batch go upstream as one burst: their queries leave through one
/// pooled socket (one sendmmsg), so NSD sees them all from one source port, where a socket
/// drawn per query spreads 32 of them over ~20 of the pool's ports.
#[test]
fn the_misses_of_one_batch_reach_the_upstream_from_one_port() {
    if !require_programs(
        "the_misses_of_one_batch_reach_the_upstream_from_one_port",
        &["python3"],
    ) {
        return;
    }
    // One full receive batch of distinct names: no coalescing, no cache hit.
    const MISSES: u16 = 32;
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    let capture = node.capture().expect("capture");
    let mut args = vec!["-c".to_owned(), CLIENT.to_owned(), "5353".to_owned()];
    for i in 0..MISSES {
        args.push(format!("{} burst{i}.example.com A 1232", 0x5000 + i));
    }
    // Stopped while the client writes: the daemon reads all of them in one batch.
    let text = send_while_stopped(&node, &daemon, &args);
    let replies = parse_replies(&text);
    assert_eq!(
        replies.len(),
        usize::from(MISSES),
        "every miss answered\n{text}\ndaemon:\n{}",
        daemon.stderr()
    );
    let upstream: Vec<_> = capture
        .finish()
        .expect("capture")
        .into_iter()
        .filter(|q| q.qname.to_ascii_lowercase().starts_with("burst"))
        .collect();
    let names: BTreeSet<String> = upstream
        .iter()
        .map(|q| q.qname.to_ascii_lowercase())
        .collect();
    assert_eq!(names.len(), usize::from(MISSES), "each miss asked upstream");
    let ports: BTreeSet<u16> = upstream.iter().map(|q| q.src.port()).collect();
    assert_eq!(ports.len(), 1, "one burst, one socket: {upstream:?}");
}

/// Runs the client with `args` while the daemon is stopped (SIGSTOP), so every query waits in
/// the daemon's socket, then lets the daemon go on (SIGCONT); returns the client's reply
/// lines. The client gives up by itself 10 s after sending.
fn send_while_stopped(node: &Node, daemon: &Daemon, args: &[String]) -> String {
    daemon.signal("STOP").expect("SIGSTOP");
    let client = node
        .pod()
        .command("python3")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut client = match client {
        Ok(client) => client,
        Err(error) => {
            let _ = daemon.signal("CONT");
            panic!("python3 runs: {error}");
        }
    };
    // Every query is in the daemon's socket once the client says so.
    let mut stdout = BufReader::new(client.stdout.take().expect("piped"));
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    daemon.signal("CONT").expect("SIGCONT");
    assert_eq!(line.trim(), "sent");
    let mut text = String::new();
    let _ = stdout.read_to_string(&mut text);
    let _ = client.wait();
    text
}
