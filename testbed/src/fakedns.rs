//! Hand-written fake DNS peers for the faults a real server will not produce on demand, run
//! as small Python 3 programs inside a namespace (python3 is a test-suite requirement):
//!
//! - [`SlowUpstream`]: an upstream that answers every query correctly but only after a fixed
//!   delay (NSD answers at once; the issue's "upstream answering slowly (2 s)" needs this).
//! - [`Spoofer`]: an off-path attacker's forged answers, sent with raw sockets to the ports
//!   the daemon's upstream queries come from (no real server forges answers).
//!
//! Everything else in the tests talks to NSD.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::process::poll_until;
use crate::{Error, Netns, Result};

/// Bound for a fake to report that it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Poll step while waiting for readiness.
const READY_STEP: Duration = Duration::from_millis(10);

/// The slow upstream: asyncio UDP and TCP servers on ADDR:53 answering every question with
/// one A record (198.18.3.3, TTL 30) after DELAY seconds; each answer is its own timer, so
/// thousands can be pending at once. Prints `ready` once bound and counts queries in
/// `queries N` lines on exit (SIGTERM).
const SLOW_UPSTREAM_PY: &str = r#"
import asyncio, signal, struct, sys
addr, delay = sys.argv[1], float(sys.argv[2])
count = 0

def answer(query):
    if len(query) < 12:
        return None
    qid, flags, qd = struct.unpack('>HHH', query[:6])
    if qd != 1 or flags & 0x8000:
        return None
    pos = 12
    while pos < len(query) and query[pos] != 0:
        pos += 1 + query[pos]
    end = pos + 5
    if end > len(query):
        return None
    question = query[12:end]
    qtype = struct.unpack('>H', query[pos + 1:pos + 3])[0]
    header = struct.pack('>HHHHHH', qid, 0x8180 | (flags & 0x0100), 1, 1 if qtype == 1 else 0, 0, 0)
    rr = struct.pack('>HHHIH', 0xC00C, 1, 1, 30, 4) + bytes([198, 18, 3, 3]) if qtype == 1 else b''
    return header + question + rr

class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, peer):
        global count
        count += 1
        reply = answer(data)
        if reply is not None:
            asyncio.get_running_loop().call_later(delay, self.transport.sendto, reply, peer)

async def tcp_client(reader, writer):
    global count
    try:
        while True:
            length = struct.unpack('>H', await reader.readexactly(2))[0]
            query = await reader.readexactly(length)
            count += 1
            reply = answer(query)
            if reply is not None:
                def send(reply=reply):
                    if not writer.is_closing():
                        writer.write(struct.pack('>H', len(reply)) + reply)
                asyncio.get_running_loop().call_later(delay, send)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass

async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Udp, local_addr=(addr, 53))
    server = await asyncio.start_server(tcp_client, addr, 53, backlog=1024)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    print('ready', flush=True)
    await stop
    print('queries', count, flush=True)

asyncio.run(main())
"#;

/// A DNS server that answers correctly, but late: see [`SLOW_UPSTREAM_PY`]. Killed on drop.
#[derive(Debug)]
pub struct SlowUpstream {
    child: Option<Child>,
    stdout_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SlowUpstream {
    /// Adds `addr`/32 to `ns`'s `dev` and serves UDP and TCP on `addr`:53 there, every answer
    /// `delay` after its query; returns once it listens.
    pub fn start(ns: &Netns, dev: &str, addr: Ipv4Addr, delay: Duration) -> Result<Self> {
        ns.ip(&["addr", "add", &format!("{addr}/32"), "dev", dev])?;
        let (child, stdout_path, dir) = spawn_python(
            ns,
            "slow-upstream",
            SLOW_UPSTREAM_PY,
            &[addr.to_string(), format!("{}", delay.as_secs_f64())],
        )?;
        let mut fake = Self {
            child: Some(child),
            stdout_path,
            _dir: dir,
        };
        fake.wait_for("ready")?;
        Ok(fake)
    }

    /// Everything the fake printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Stops the fake (SIGTERM) and returns how many queries it received.
    pub fn stop(mut self) -> Option<u64> {
        let child = self.child.take()?;
        let _ = crate::process::send_signal(child.id(), "TERM");
        let mut child = child;
        let _ = crate::process::wait_timeout(&mut child, READY_TIMEOUT);
        let _ = child.kill();
        let _ = child.wait();
        self.output()
            .lines()
            .find_map(|line| line.strip_prefix("queries "))
            .and_then(|n| n.trim().parse().ok())
    }

    fn wait_for(&mut self, line: &str) -> Result<()> {
        wait_for_line(&mut self.child, &self.stdout_path, line, "slow upstream")
    }
}

impl Drop for SlowUpstream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (bounded) until the fake's stdout has a line `line`; fails if it exits first.
fn wait_for_line(
    child: &mut Option<Child>,
    stdout_path: &PathBuf,
    line: &str,
    what: &'static str,
) -> Result<()> {
    let mut exited = false;
    let ready = poll_until(READY_TIMEOUT, READY_STEP, || {
        if let Some(Ok(Some(_))) = child.as_mut().map(Child::try_wait) {
            exited = true;
            return true;
        }
        std::fs::read_to_string(stdout_path)
            .is_ok_and(|text| text.lines().any(|l| l.trim() == line))
    });
    if ready && !exited {
        return Ok(());
    }
    Err(Error::NotReady {
        daemon: what,
        detail: format!(
            "{}; output:\n{}",
            if exited {
                "exited"
            } else {
                "not ready in time"
            },
            std::fs::read_to_string(stdout_path).unwrap_or_default()
        ),
    })
}

/// Writes `script` to a temporary directory and starts `python3 script args…` in `ns`, its
/// stdout and stderr in one file there.
fn spawn_python(
    ns: &Netns,
    name: &str,
    script: &str,
    args: &[String],
) -> Result<(Child, PathBuf, tempfile::TempDir)> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("nodecache-{name}-"))
        .tempdir()
        .map_err(|e| Error::io("creating a fake's directory", e))?;
    let script_path = dir.path().join(format!("{name}.py"));
    std::fs::write(&script_path, script)
        .map_err(|e| Error::io(format!("writing {}", script_path.display()), e))?;
    let stdout_path = dir.path().join("output.log");
    let stdout = File::create(&stdout_path)
        .map_err(|e| Error::io(format!("creating {}", stdout_path.display()), e))?;
    let stderr = stdout
        .try_clone()
        .map_err(|e| Error::io("duplicating a log handle", e))?;
    let mut cmd = ns.command("python3");
    cmd.arg(&script_path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let child = cmd
        .spawn()
        .map_err(|e| Error::io("spawning python3 in a namespace", e))?;
    Ok((child, stdout_path, dir))
}

/// The spoofer: sniffs (AF_PACKET) the daemon's UDP queries arriving on DEV for the zone
/// SUFFIX and, for each, at once sends forged answers claiming the name is at 198.18.66.6,
/// each wrong in exactly one way the daemon must check (RFC 5452 §9.1):
///
/// - `source`: right port, ID and question, but from FAKE_SRC:53 instead of the server;
/// - `id`: from the server's address and port, right question, every ID but the real one
///   in a burst of 64 (what a blind spoofer does);
/// - `question`: from the server, right ID, but the question of another name.
/// - `case` (only with 0x20 on): from the server, right ID, the name lower-cased.
///
/// Raw IPv4 sockets (IP_HDRINCL) set any source address. Prints `ready`, then on SIGTERM
/// `forged N` (answers sent) and `queries N` (queries seen).
const SPOOFER_PY: &str = r#"
import os, random, signal, socket, struct, sys
dev, fake_src = sys.argv[1], sys.argv[3]
suffix = b''.join(bytes([len(l)]) + l.encode() for l in sys.argv[2].strip('.').split('.')) + b'\0'

POISON = bytes([198, 18, 66, 6])
forged = queries = 0
def done(*_):
    print('forged', forged, flush=True)
    print('queries', queries, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, done)

def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff

def packet(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, udp_len)
    udp = struct.pack('!HHHH', sport, dport, udp_len, 0)
    csum = checksum(pseudo + udp + payload) or 0xffff
    udp = struct.pack('!HHHH', sport, dport, udp_len, csum)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + udp_len, random.getrandbits(16), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp + payload

def forge(qid, question):
    header = struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0)
    return header + question + struct.pack('!HHHIH', 0xC00C, 1, 1, 3600, 4) + POISON

sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
sniff.bind((dev, 0))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
print('ready', flush=True)
while True:
    frame = sniff.recv(65535)
    if len(frame) < 28 or frame[9] != 17:
        continue
    ihl = (frame[0] & 0x0f) * 4
    src, dst = socket.inet_ntoa(frame[12:16]), socket.inet_ntoa(frame[16:20])
    sport, dport = struct.unpack('!HH', frame[ihl:ihl + 4])
    dns = frame[ihl + 8:]
    if dport != 53 or len(dns) < 17 or dns[2] & 0x80:
        continue
    pos = 12
    while pos < len(dns) and dns[pos] != 0:
        pos += 1 + dns[pos]
    question = dns[12:pos + 5]
    name = dns[12:pos + 1].lower()
    if not name.endswith(suffix):
        continue
    queries += 1
    qid = struct.unpack('!H', dns[:2])[0]
    server = dst
    out = [packet(fake_src, src, 53, sport, forge(qid, question))]
    for i in range(1, 65):
        out.append(packet(server, src, 53, sport, forge((qid + i * 997) & 0xffff, question)))
    other = b'\x05other' + question[1 + question[0]:]
    out.append(packet(server, src, 53, sport, forge(qid, other)))
    if question[:pos + 1 - 12] != question[:pos + 1 - 12].lower():
        out.append(packet(server, src, 53, sport, forge(qid, question.lower())))
    for p in out:
        try:
            raw.sendto(p, (src, 0))
            forged += 1
        except OSError:
            pass
"#;

/// Forged answers for every daemon query it sees (see [`SPOOFER_PY`]). Killed on drop.
#[derive(Debug)]
pub struct Spoofer {
    child: Option<Child>,
    stdout_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// The address the spoofer claims [`SPOOFER_PY`]'s `source` forgeries come from.
pub const SPOOF_SOURCE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 99);
/// The address every forged answer carries.
pub const POISON_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 66, 6);

impl Spoofer {
    /// Starts the spoofer in `ns` (the upstream's namespace), sniffing `dev` for queries for
    /// names at or below `zone` (`wild.test`).
    pub fn start(ns: &Netns, dev: &str, zone: &str) -> Result<Self> {
        let (child, stdout_path, dir) = spawn_python(
            ns,
            "spoofer",
            SPOOFER_PY,
            &[
                dev.to_owned(),
                // The script turns it into wire form and compares names in that form.
                zone.to_owned(),
                SPOOF_SOURCE.to_string(),
            ],
        )?;
        let mut spoofer = Self {
            child: Some(child),
            stdout_path,
            _dir: dir,
        };
        wait_for_line(&mut spoofer.child, &spoofer.stdout_path, "ready", "spoofer")?;
        Ok(spoofer)
    }

    /// Stops the spoofer; returns (forged answers sent, queries seen).
    pub fn stop(mut self) -> (u64, u64) {
        if let Some(mut child) = self.child.take() {
            let _ = crate::process::send_signal(child.id(), "TERM");
            let _ = crate::process::wait_timeout(&mut child, READY_TIMEOUT);
            let _ = child.kill();
            let _ = child.wait();
        }
        let text = std::fs::read_to_string(&self.stdout_path).unwrap_or_default();
        let number = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0)
        };
        (number("forged "), number("queries "))
    }
}

impl Drop for Spoofer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
