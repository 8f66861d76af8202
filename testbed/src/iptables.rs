//! Packet loss and blackholes with iptables, on the receiving side.
//!
//! SPEC §6: loss goes in the receiving namespace's INPUT chain. A DROP in OUTPUT makes the
//! sender's `send()` fail at once (EPERM), which a resolver sees as an error, not as loss.

use std::net::Ipv4Addr;
use std::process::Command;

use crate::netns::ADMIN_TIMEOUT;
use crate::process::run;
use crate::{Netns, Result};

/// One iptables rule in a namespace (filter table), deleted again on drop.
#[derive(Debug)]
pub struct IptablesRule {
    netns: String,
    chain: String,
    spec: Vec<String>,
}

impl IptablesRule {
    /// Appends `-A <chain> <spec…>` in `ns`.
    pub fn append(ns: &Netns, chain: &str, spec: &[&str]) -> Result<Self> {
        let rule = Self {
            netns: ns.name().to_owned(),
            chain: chain.to_owned(),
            spec: spec.iter().map(|s| (*s).to_owned()).collect(),
        };
        rule.iptables("-A")?;
        Ok(rule)
    }

    /// How many packets the rule has matched so far (from `iptables -L -v -x`'s counters).
    pub fn packets(&self) -> Result<u64> {
        // `-S` prints the rule the way it was added; `-C` only says whether it exists. The
        // counters come from `-v -x -L <chain> <n>`, so find the rule's number first.
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.netns,
            "iptables",
            "-w",
            "-S",
            &self.chain,
        ]);
        let listing = run(cmd, ADMIN_TIMEOUT)?.ok()?;
        let wanted = self.spec.join(" ");
        // `-S` lines are `-P INPUT ACCEPT` (policy) then `-A INPUT …` in rule order.
        let position = listing
            .stdout
            .lines()
            .filter(|l| l.starts_with("-A "))
            .position(|l| normalized_matches(l, &wanted));
        let Some(index) = position else {
            return Ok(0);
        };
        let number = (index + 1).to_string();
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.netns,
            "iptables",
            "-w",
            "-L",
            &self.chain,
        ]);
        cmd.args([number.as_str(), "-v", "-x", "-n"]);
        let line = run(cmd, ADMIN_TIMEOUT)?.ok()?;
        Ok(line
            .stdout
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    fn iptables(&self, action: &str) -> Result<()> {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.netns,
            "iptables",
            "-w",
            action,
            &self.chain,
        ]);
        cmd.args(&self.spec);
        run(cmd, ADMIN_TIMEOUT)?.ok().map(drop)
    }
}

/// True when an `iptables -S` line is the rule given by `spec`.
fn normalized_matches(line: &str, spec: &str) -> bool {
    significant_words(line) == significant_words(spec)
}

/// The words of a rule that identify it: without the `-A CHAIN` prefix of `-S` output and the
/// implicit `-m udp` / `-m tcp` iptables adds after `-p`, with probabilities rounded (iptables
/// prints them with ten decimals) and `/32` suffixes removed.
fn significant_words(rule: &str) -> Vec<String> {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let next = words.get(i + 1).copied();
        match (*word, next) {
            ("-A", _) | ("-m", Some("udp" | "tcp")) => i += 1,
            ("--probability", Some(p)) => {
                let rounded = p.parse::<f64>().map_or(p.to_owned(), |p| format!("{p:.3}"));
                out.push(format!("--probability={rounded}"));
                i += 1;
            }
            (w, _) => out.push(w.trim_end_matches("/32").to_owned()),
        }
        i += 1;
    }
    out
}

impl Drop for IptablesRule {
    fn drop(&mut self) {
        // Best effort: the rule also disappears with its namespace.
        let _ = self.iptables("-D");
    }
}

/// Random loss of UDP packets to port 53 arriving in a namespace (its DNS server's side):
/// `iptables -A INPUT -p udp --dport 53 -m statistic --mode random --probability P -j DROP`.
/// TCP is not affected: a TCP retransmission would hide the loss anyway.
#[derive(Debug)]
pub struct Loss {
    rule: IptablesRule,
    probability: f64,
}

impl Loss {
    /// Drops each incoming UDP packet to port 53 in `ns` with `probability` (0.0–1.0).
    pub fn udp_input(ns: &Netns, probability: f64) -> Result<Self> {
        let p = format!("{probability}");
        let rule = IptablesRule::append(
            ns,
            "INPUT",
            &[
                "-p",
                "udp",
                "--dport",
                "53",
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &p,
                "-j",
                "DROP",
            ],
        )?;
        Ok(Self { rule, probability })
    }

    /// The configured drop probability.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// How many packets were dropped so far.
    pub fn dropped(&self) -> Result<u64> {
        self.rule.packets()
    }
}

/// Every packet to one address of a namespace is dropped on arrival: a server that never
/// answers, not one that refuses (no ICMP port unreachable reaches the client).
#[derive(Debug)]
pub struct Blackhole {
    rule: IptablesRule,
    addr: Ipv4Addr,
}

impl Blackhole {
    /// `iptables -A INPUT -d <addr> -j DROP` in `ns`.
    pub fn address(ns: &Netns, addr: Ipv4Addr) -> Result<Self> {
        let dest = addr.to_string();
        let rule = IptablesRule::append(ns, "INPUT", &["-d", &dest, "-j", "DROP"])?;
        Ok(Self { rule, addr })
    }

    /// The blackholed address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// How many packets were dropped so far.
    pub fn dropped(&self) -> Result<u64> {
        self.rule.packets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_lines_match_the_spec_they_came_from() {
        let cases = [
            (
                "-A INPUT -p udp -m udp --dport 53 -m statistic --mode random --probability 0.04999999981 -j DROP",
                "-p udp --dport 53 -m statistic --mode random --probability 0.05 -j DROP",
                true,
            ),
            (
                "-A INPUT -p udp -m udp --dport 53 -m statistic --mode random --probability 0.10000000009 -j DROP",
                "-p udp --dport 53 -m statistic --mode random --probability 0.05 -j DROP",
                false,
            ),
            (
                "-A INPUT -d 198.18.0.99/32 -j DROP",
                "-d 198.18.0.99 -j DROP",
                true,
            ),
            (
                "-A INPUT -d 198.18.0.98/32 -j DROP",
                "-d 198.18.0.99 -j DROP",
                false,
            ),
        ];
        for (line, spec, expected) in cases {
            assert_eq!(normalized_matches(line, spec), expected, "{line} vs {spec}");
        }
    }
}
