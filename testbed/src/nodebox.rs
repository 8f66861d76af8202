//! A node in a box (issue 5): a pod, the node's host network with `nodecache serve` on the
//! node-local address, and the upstream DNS, each its own namespace:
//!
//! ```text
//!   pod (eth0 198.18.2.2/24)  <── veth ──>  host (pod0 198.18.2.1/24, lo 169.254.20.10/32,
//!   resolv.conf: nameserver 169.254.20.10        up0 198.18.0.1/24)  <── veth ──>  upstream
//!   ndots:5, three search domains                nodecache serve                  (eth0 198.18.0.53/24)
//!                                                                                  nsd -d, the Corpus
//! ```
//!
//! Loss can be put on either hop ([`Hop`]), NSD stopped and started, and the queries that reach
//! NSD counted with tcpdump ([`NodeBox::capture_upstream`]). [`dnsperf`] drives load from the
//! pod. Everything is removed when the box is dropped.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use crate::node::kubernetes_resolv_conf;
use crate::{Capture, Corpus, Daemon, Error, Loss, Netns, Nsd, Result, RunOutput};

/// The node-local address pods use as their nameserver (node-cache's convention).
pub const NODE_LOCAL_ADDR: Ipv4Addr = Ipv4Addr::new(169, 254, 20, 10);
/// The pod's address.
pub const BOX_POD_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
/// The host's address on the pod side.
pub const BOX_HOST_POD_SIDE: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// The host's address on the upstream side.
pub const BOX_HOST_UPSTREAM_SIDE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The upstream DNS server (NSD).
pub const BOX_UPSTREAM_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 53);
/// The daemon's admin address in the host namespace.
pub const BOX_ADMIN: &str = "169.254.20.10:9253";

/// Where packet loss goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// Queries from the pod to the daemon (dropped as they arrive in the host namespace).
    PodToDaemon,
    /// Queries from the daemon to NSD (dropped as they arrive in the upstream namespace).
    DaemonToUpstream,
}

/// The box. Field order is drop order: processes first, namespaces last.
#[derive(Debug)]
pub struct NodeBox {
    nsd: Nsd,
    upstream: Netns,
    host: Netns,
    pod: Netns,
}

impl NodeBox {
    /// A box whose NSD serves the [`Corpus`].
    pub fn new() -> Result<Self> {
        Self::with_zone(&Corpus.zone())
    }

    /// A box whose NSD serves `zone` (a root zone's text).
    pub fn with_zone(zone: &str) -> Result<Self> {
        let pod = Netns::new()?;
        let host = Netns::new()?;
        let upstream = Netns::new()?;
        pod.ip(&[
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            "pod0",
            "netns",
            host.name(),
        ])?;
        host.ip(&[
            "link",
            "add",
            "up0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            upstream.name(),
        ])?;
        pod.ip(&["addr", "add", &format!("{BOX_POD_ADDR}/24"), "dev", "eth0"])?;
        host.ip(&[
            "addr",
            "add",
            &format!("{BOX_HOST_POD_SIDE}/24"),
            "dev",
            "pod0",
        ])?;
        host.ip(&[
            "addr",
            "add",
            &format!("{BOX_HOST_UPSTREAM_SIDE}/24"),
            "dev",
            "up0",
        ])?;
        host.ip(&["addr", "add", &format!("{NODE_LOCAL_ADDR}/32"), "dev", "lo"])?;
        upstream.ip(&[
            "addr",
            "add",
            &format!("{BOX_UPSTREAM_ADDR}/24"),
            "dev",
            "eth0",
        ])?;
        pod.ip(&["link", "set", "eth0", "up"])?;
        host.ip(&["link", "set", "pod0", "up"])?;
        host.ip(&["link", "set", "up0", "up"])?;
        upstream.ip(&["link", "set", "eth0", "up"])?;
        pod.ip(&[
            "route",
            "add",
            &format!("{NODE_LOCAL_ADDR}/32"),
            "via",
            &BOX_HOST_POD_SIDE.to_string(),
        ])?;
        pod.write_etc("resolv.conf", &kubernetes_resolv_conf(&[NODE_LOCAL_ADDR]))?;
        pod.write_etc("hosts", "127.0.0.1\tlocalhost\n")?;
        pod.write_etc("nsswitch.conf", "hosts: files dns\n")?;
        // The host's own resolv.conf names NSD: a daemon started without --upstream uses it.
        host.write_etc("resolv.conf", &format!("nameserver {BOX_UPSTREAM_ADDR}\n"))?;
        let nsd = Nsd::start_in(&upstream, &[BOX_UPSTREAM_ADDR], zone)?;
        Ok(Self {
            nsd,
            upstream,
            host,
            pod,
        })
    }

    /// The pod's namespace (clients run here).
    pub fn pod(&self) -> &Netns {
        &self.pod
    }

    /// The host namespace (the daemon runs here).
    pub fn host(&self) -> &Netns {
        &self.host
    }

    /// The upstream's namespace (NSD).
    pub fn upstream(&self) -> &Netns {
        &self.upstream
    }

    /// NSD, to stop and start.
    pub fn nsd(&mut self) -> &mut Nsd {
        &mut self.nsd
    }

    /// The flags that put a daemon on the node-local address with NSD upstream, answering
    /// the pod (198.18.2.2 is outside the daemon's default `allow_from`) and the default
    /// ranges.
    pub fn daemon_args() -> Vec<String> {
        vec![
            "--allow-from".into(),
            "default,198.18.0.0/15".into(),
            "--listen".into(),
            format!("{NODE_LOCAL_ADDR}:53"),
            "--upstream".into(),
            format!(".={BOX_UPSTREAM_ADDR}"),
            "--metrics".into(),
            BOX_ADMIN.into(),
        ]
    }

    /// Starts `binary serve` in the host namespace with [`NodeBox::daemon_args`] plus
    /// `extra` (a later flag of the same name wins for single-valued settings).
    pub fn start_daemon(&self, binary: &Path, extra: &[&str]) -> Result<Daemon> {
        self.start_daemon_env(binary, &[], extra)
    }

    /// Like [`NodeBox::start_daemon`] with extra environment variables for the daemon (e.g.
    /// `NODECACHE_RUN_DIR`, so parallel boxes do not share `/run/nodecache`).
    pub fn start_daemon_env(
        &self,
        binary: &Path,
        env: &[(&str, &str)],
        extra: &[&str],
    ) -> Result<Daemon> {
        let base = Self::daemon_args();
        let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        Daemon::start_binary_env(&self.host, binary, env, &args)
    }

    /// Random loss of UDP DNS queries on `hop` (SPEC §6: a DROP on the receiving side).
    pub fn loss(&self, hop: Hop, probability: f64) -> Result<Loss> {
        match hop {
            Hop::PodToDaemon => Loss::udp_input(&self.host, probability),
            Hop::DaemonToUpstream => Loss::udp_input(&self.upstream, probability),
        }
    }

    /// Captures the queries that reach NSD (tcpdump on the upstream's eth0); marker queries
    /// go from the host namespace.
    pub fn capture_upstream(&self) -> Result<Capture> {
        Capture::start(&self.upstream, "eth0", &self.host, BOX_UPSTREAM_ADDR)
    }
}

/// What dnsperf reported.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsperfReport {
    /// Queries sent.
    pub sent: u64,
    /// Queries answered.
    pub completed: u64,
    /// Queries never answered (dnsperf's timeout).
    pub lost: u64,
    /// Answers by rcode name (`NOERROR`, `SERVFAIL`, …).
    pub rcodes: Vec<(String, u64)>,
    /// Answered queries per second.
    pub qps: f64,
    /// dnsperf's whole output, for failure messages.
    pub output: String,
}

impl DnsperfReport {
    /// Answers with `rcode`.
    pub fn rcode(&self, rcode: &str) -> u64 {
        self.rcodes
            .iter()
            .find(|(name, _)| name == rcode)
            .map_or(0, |(_, n)| *n)
    }

    /// Parses dnsperf's summary (`Queries sent:`, `Queries completed:`, `Queries lost:`,
    /// `Response codes: NOERROR 100 (100.00%), …`, `Queries per second:`).
    pub fn parse(output: &str) -> Option<Self> {
        let number = |key: &str| -> Option<u64> {
            let line = output.lines().find(|l| l.trim_start().starts_with(key))?;
            line.trim_start()
                .strip_prefix(key)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let rcodes = output
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("Response codes:"))
            .map(|list| {
                list.split(',')
                    .filter_map(|item| {
                        let mut words = item.split_whitespace();
                        let name = words.next()?.to_owned();
                        let count = words.next()?.parse().ok()?;
                        Some((name, count))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let qps = output
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("Queries per second:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        Some(Self {
            sent: number("Queries sent:")?,
            completed: number("Queries completed:")?,
            lost: number("Queries lost:")?,
            rcodes,
            qps,
            output: output.to_owned(),
        })
    }
}

/// Runs dnsperf in `ns` against `server`:53 with the queries of `query_file` (one
/// `name type` per line, looped), at most `max_qps` per second, for `duration`; `timeout` is
/// dnsperf's per-query timeout (a query unanswered by then counts as lost).
pub fn dnsperf(
    ns: &Netns,
    server: Ipv4Addr,
    query_file: &Path,
    max_qps: u32,
    duration: Duration,
    timeout: Duration,
) -> Result<DnsperfReport> {
    let args = [
        "-s".to_owned(),
        server.to_string(),
        "-d".to_owned(),
        query_file.display().to_string(),
        "-Q".to_owned(),
        max_qps.to_string(),
        "-l".to_owned(),
        format!("{}", duration.as_secs_f64()),
        "-t".to_owned(),
        format!("{}", timeout.as_secs_f64()),
        "-c".to_owned(),
        "4".to_owned(),
    ];
    let bound = duration + timeout + Duration::from_secs(30);
    let out: RunOutput = ns.exec("dnsperf", &args, bound)?;
    DnsperfReport::parse(&out.stdout).ok_or_else(|| Error::BadOutput {
        tool: "dnsperf",
        detail: format!(
            "no summary (exit {:?}):\n{}{}",
            out.code(),
            out.stdout,
            out.stderr
        ),
    })
}
