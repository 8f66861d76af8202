//! tcpdump in a namespace, with a marker query that proves every packet has been read.

mod packet;

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

pub use packet::Transport;
use packet::{PacketParser, WireQuery};

use crate::netns::ADMIN_TIMEOUT;
use crate::process::{describe, run, send_signal, wait_timeout};
use crate::{Error, Netns, Result};

/// Name of the query [`Capture::finish`] sends last.
const END_MARKER: &str = "nodecache-capture-marker.invalid";
/// Name of the queries [`Capture::mark`] sends between segments.
const SEGMENT_MARKER: &str = "nodecache-capture-segment.invalid";
/// Bound for tcpdump to start, and for the end marker to come through.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(5);

/// A DNS query seen by a [`Capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedQuery {
    /// UDP or TCP.
    pub transport: Transport,
    /// Sender's address and port.
    pub src: SocketAddr,
    /// Server's address and port (always port 53).
    pub dst: SocketAddr,
    /// Query name without the trailing dot.
    pub qname: String,
    /// Query type mnemonic: "A", "AAAA", "SRV" …
    pub qtype: String,
    /// How many [`Capture::mark`] calls came before this query (0 before the first).
    pub segment: usize,
}

/// `tcpdump -i <iface> -n -l --immediate-mode -x port 53` running in a namespace.
///
/// Started only once tcpdump says "listening on", so no packet sent afterwards is missed.
/// [`Capture::finish`] sends a marker query from the marker namespace and reads until tcpdump
/// has printed it, so every packet sent before `finish` is in the result.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    parser: PacketParser,
    queries: Vec<CapturedQuery>,
    segment: usize,
    marker_netns: String,
    marker_server: Ipv4Addr,
}

impl Capture {
    /// Starts tcpdump on `iface` in `ns`. Marker queries are sent from `marker_from` to
    /// `marker_server` port 53 with dig; that path must cross `iface`.
    pub fn start(
        ns: &Netns,
        iface: &str,
        marker_from: &Netns,
        marker_server: Ipv4Addr,
    ) -> Result<Self> {
        let mut cmd = ns.command("tcpdump");
        cmd.args(["-i", iface, "-n", "-l", "--immediate-mode", "-x"])
            // With the default 256 KiB snapshot, parallel tests on 2 CPUs saw "3 packets
            // dropped by kernel": in immediate mode libpcap's ring (TPACKET_V2, 2 MiB by default)
            // has room for only a few snapshot-sized frames when the device offloads (veth).
            // A 64 KiB snapshot (the largest IP packet) in a 16 MiB ring removed the drops.
            .args(["-s", "65535", "-B", "16384", "port", "53"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let command = describe(&cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning `{command}`"), e))?;
        let lines = forward_lines(child.stdout.take());
        let stderr = forward_lines(child.stderr.take());
        let mut capture = Self {
            child,
            lines,
            stderr,
            parser: PacketParser::default(),
            queries: Vec::new(),
            segment: 0,
            marker_netns: marker_from.name().to_owned(),
            marker_server,
        };
        capture.wait_listening()?;
        Ok(capture)
    }

    /// Starts a new segment: sends a segment marker query, so the queries sent after this call
    /// get `segment` one higher than those before. Returns the new segment number.
    pub fn mark(&mut self) -> Result<usize> {
        self.send_marker(SEGMENT_MARKER)?;
        self.segment += 1;
        Ok(self.segment)
    }

    /// Sends the end marker, reads until tcpdump has shown it (bounded), stops tcpdump and
    /// returns every query sent to port 53, markers excluded, in wire order.
    pub fn finish(mut self) -> Result<Vec<CapturedQuery>> {
        self.send_marker(END_MARKER)?;
        let deadline = Instant::now() + CAPTURE_TIMEOUT;
        let mut segment = 0;
        let mut done = false;
        while !done {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::Timeout {
                        what: format!("capture end marker {END_MARKER}"),
                        after: CAPTURE_TIMEOUT,
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.not_ready("exited before the end marker"));
                }
            };
            for query in self.parser.feed_line(&line) {
                match query.qname.as_str() {
                    END_MARKER => done = true,
                    SEGMENT_MARKER => segment += 1,
                    _ if !done => self.queries.push(captured(query, segment)),
                    _ => {}
                }
            }
        }
        self.stop()?;
        Ok(std::mem::take(&mut self.queries))
    }

    /// Waits for tcpdump's "listening on" line on stderr.
    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + CAPTURE_TIMEOUT;
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains("listening on") => return Ok(()),
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::NotReady {
                        daemon: "tcpdump",
                        detail: format!("no \"listening on\" within {CAPTURE_TIMEOUT:?}: {seen}"),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::NotReady {
                        daemon: "tcpdump",
                        detail: format!("exited: {seen}"),
                    });
                }
            }
        }
    }

    /// One query with dig, no retry: it only has to appear on the wire, an answer is not needed
    /// (it may be dropped by a [`crate::Loss`] rule after tcpdump saw it).
    fn send_marker(&self, name: &str) -> Result<()> {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.marker_netns,
            "dig",
            "+tries=1",
            "+time=1",
        ])
        .arg(format!("@{}", self.marker_server))
        .arg(format!("{name}."))
        .arg("A");
        run(cmd, ADMIN_TIMEOUT).map(drop)
    }

    /// Stops tcpdump with SIGTERM and checks its exit statistics: packets "dropped by kernel"
    /// mean the capture is incomplete.
    fn stop(&mut self) -> Result<()> {
        let _ = send_signal(self.child.id(), "TERM");
        if !matches!(wait_timeout(&mut self.child, CAPTURE_TIMEOUT), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let stats: Vec<String> = self.stderr.try_iter().collect();
        let dropped = stats
            .iter()
            .filter_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .sum::<u64>();
        if dropped > 0 {
            return Err(Error::NotReady {
                daemon: "tcpdump",
                detail: format!("{dropped} packets dropped by kernel: capture incomplete"),
            });
        }
        Ok(())
    }

    fn not_ready(&mut self, what: &str) -> Error {
        let stderr: Vec<String> = self.stderr.try_iter().collect();
        Error::NotReady {
            daemon: "tcpdump",
            detail: format!("{what}: {}", stderr.join("\n")),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Still running only when finish() was not called or failed.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn captured(q: WireQuery, segment: usize) -> CapturedQuery {
    CapturedQuery {
        transport: q.transport,
        src: q.src,
        dst: q.dst,
        qname: q.qname,
        qtype: q.qtype,
        segment,
    }
}

/// Sends each line read from `pipe` on a channel, from a thread that ends at EOF.
fn forward_lines<R: Read + Send + 'static>(pipe: Option<R>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}
