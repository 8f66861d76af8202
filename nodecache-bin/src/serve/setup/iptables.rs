//! The iptables rules node-cache installs for its listen IPs (kubernetes/dns
//! `cmd/node-cache/app/cache_app.go`, NOTES "Kubernetes node-cache"), through `iptables` /
//! `ip6tables`.
//!
//! Why they exist: with kube-proxy in iptables mode every DNS packet would otherwise create a
//! conntrack entry, and UDP conntrack races (and a full conntrack table) drop DNS packets —
//! the 5 s timeouts NodeLocal DNSCache was made to remove. `NOTRACK` in the raw table keeps
//! the packets out of conntrack; `ACCEPT` in the filter table keeps a restrictive INPUT/OUTPUT
//! policy from dropping them (untracked packets never match `--ctstate ESTABLISHED`).

use std::fmt;
use std::net::IpAddr;

use super::SetupError;
use super::command::Runner;

/// How long iptables may wait for the xtables lock (`-w SECONDS`) before failing, so that a
/// stuck kube-proxy cannot hang the daemon's resync.
const LOCK_WAIT_SECONDS: &str = "5";

/// Which end of the packet the rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `-d IP --dport PORT`: packets to us.
    Destination,
    /// `-s IP --sport PORT`: packets from us.
    Source,
}

/// One rule: `-t TABLE -I CHAIN -p PROTO {-d|-s} IP {--dport|--sport} PORT -m comment
/// --comment "nodecache: …" -j TARGET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    table: &'static str,
    chain: &'static str,
    protocol: &'static str,
    end: End,
    ip: IpAddr,
    port: u16,
    target: &'static str,
    comment: &'static str,
}

impl Rule {
    /// `iptables` or `ip6tables`, by the address family.
    fn program(&self) -> &'static str {
        if self.ip.is_ipv4() {
            "iptables"
        } else {
            "ip6tables"
        }
    }

    /// The match and target words after `-t TABLE -X CHAIN`.
    fn spec(&self) -> Vec<String> {
        let (address, port) = match self.end {
            End::Destination => ("-d", "--dport"),
            End::Source => ("-s", "--sport"),
        };
        [
            "-p",
            self.protocol,
            address,
            &self.ip.to_string(),
            port,
            &self.port.to_string(),
            "-m",
            "comment",
            "--comment",
            &format!("nodecache: {}", self.comment),
            "-j",
            self.target,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Runs `iptables -w 5 -t TABLE ACTION CHAIN spec…`.
    fn args(&self, action: &'static str) -> Vec<String> {
        let mut args = [
            "-w",
            LOCK_WAIT_SECONDS,
            "-t",
            self.table,
            action,
            self.chain,
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(self.spec());
        args
    }

    /// Whether the rule is in its chain now (`-C`, which exits 1 when it is not).
    pub(crate) fn is_present(&self, runner: &Runner) -> Result<bool, SetupError> {
        let args = self.args("-C");
        runner.check(self.program(), &borrowed(&args), 1)
    }

    /// Prepends the rule (`-I`): ahead of anything kube-proxy or a CNI put in the chain, as
    /// node-cache does, so no earlier rule can DROP or track the DNS packets first.
    pub(crate) fn insert(&self, runner: &Runner) -> Result<(), SetupError> {
        let args = self.args("-I");
        runner.run(self.program(), &borrowed(&args)).map(drop)
    }

    /// Deletes one copy of the rule (`-D`).
    pub(crate) fn delete(&self, runner: &Runner) -> Result<(), SetupError> {
        let args = self.args("-D");
        runner.run(self.program(), &borrowed(&args)).map(drop)
    }
}

impl fmt::Display for Rule {
    /// `raw PREROUTING -p udp -d 169.254.20.10 --dport 53 … -j NOTRACK`, for log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.table, self.chain, self.spec().join(" "))
    }
}

fn borrowed(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The rules for one listen IP serving DNS on `dns_port`, with the admin listener (probes,
/// Prometheus) on `metrics_port`. The same set node-cache installs per `-localip`.
pub(crate) fn rules_for(ip: IpAddr, dns_port: u16, metrics_port: u16) -> Vec<Rule> {
    let rule = |table, chain, protocol, end, port, target, comment| Rule {
        table,
        chain,
        protocol,
        end,
        ip,
        port,
        target,
        comment,
    };
    let mut rules = Vec::new();
    for protocol in ["udp", "tcp"] {
        rules.extend([
            rule(
                "raw",
                "PREROUTING",
                protocol,
                End::Destination,
                dns_port,
                "NOTRACK",
                "skip conntrack for queries from pods",
            ),
            rule(
                "filter",
                "INPUT",
                protocol,
                End::Destination,
                dns_port,
                "ACCEPT",
                "accept queries",
            ),
            rule(
                "raw",
                "OUTPUT",
                protocol,
                End::Source,
                dns_port,
                "NOTRACK",
                "skip conntrack for answers",
            ),
            rule(
                "filter",
                "OUTPUT",
                protocol,
                End::Source,
                dns_port,
                "ACCEPT",
                "accept answers",
            ),
            // Host-network pods (and the node itself) send from the node: their queries leave
            // through OUTPUT, never PREROUTING.
            rule(
                "raw",
                "OUTPUT",
                protocol,
                End::Destination,
                dns_port,
                "NOTRACK",
                "skip conntrack for queries from the node",
            ),
        ]);
    }
    if metrics_port != dns_port {
        // Liveness/readiness probes and scrapes: node-cache NOTRACKs its health port too, so a
        // full conntrack table cannot fail the probes and get the pod restarted.
        rules.extend([
            rule(
                "raw",
                "OUTPUT",
                "tcp",
                End::Destination,
                metrics_port,
                "NOTRACK",
                "skip conntrack for probes",
            ),
            rule(
                "raw",
                "OUTPUT",
                "tcp",
                End::Source,
                metrics_port,
                "NOTRACK",
                "skip conntrack for probe answers",
            ),
        ]);
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listen_ip_gets_node_caches_rules_for_both_protocols_and_the_metrics_port() {
        let ip = IpAddr::from([169, 254, 20, 10]);
        let rules = rules_for(ip, 53, 9253);
        let shown: Vec<String> = rules.iter().map(ToString::to_string).collect();
        assert_eq!(rules.len(), 12, "{shown:#?}");
        for expected in [
            "raw PREROUTING -p udp -d 169.254.20.10 --dport 53",
            "raw PREROUTING -p tcp -d 169.254.20.10 --dport 53",
            "filter INPUT -p udp -d 169.254.20.10 --dport 53",
            "filter INPUT -p tcp -d 169.254.20.10 --dport 53",
            "raw OUTPUT -p udp -s 169.254.20.10 --sport 53",
            "filter OUTPUT -p tcp -s 169.254.20.10 --sport 53",
            "raw OUTPUT -p udp -d 169.254.20.10 --dport 53",
            "raw OUTPUT -p tcp -d 169.254.20.10 --dport 9253",
            "raw OUTPUT -p tcp -s 169.254.20.10 --sport 9253",
        ] {
            assert!(
                shown.iter().any(|rule| rule.starts_with(expected)),
                "{expected} missing from {shown:#?}"
            );
        }
        assert!(shown.iter().all(|r| r.contains("--comment nodecache: ")));
        assert!(rules.iter().all(|r| r.program() == "iptables"));
        let v6 = rules_for("fe80::a".parse().unwrap(), 53, 53);
        assert_eq!(
            v6.len(),
            10,
            "no separate metrics rules when the ports coincide"
        );
        assert!(v6.iter().all(|r| r.program() == "ip6tables"));
    }

    #[test]
    fn the_command_waits_for_the_xtables_lock_boundedly() {
        let rule = rules_for(IpAddr::from([169, 254, 20, 10]), 53, 9253).remove(0);
        let args = rule.args("-C");
        assert_eq!(args[..6], ["-w", "5", "-t", "raw", "-C", "PREROUTING"]);
    }
}
