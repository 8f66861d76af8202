//! `dig` run in a namespace, its output parsed: status, flags, OPT, question and records.

use std::net::SocketAddr;
use std::time::Duration;

use crate::{Netns, Result};

/// Bound for one `dig` run (dig's own retries included).
const DIG_TIMEOUT: Duration = Duration::from_secs(15);

/// One record line of dig's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigRecord {
    /// Owner name as printed (with the trailing dot, case as received).
    pub name: String,
    /// TTL.
    pub ttl: u32,
    /// Type mnemonic ("A", "SOA" …).
    pub rtype: String,
    /// RDATA as printed.
    pub rdata: String,
}

/// What `dig` printed for one query.
#[derive(Debug, Clone, Default)]
pub struct DigAnswer {
    /// The status ("NOERROR", "SERVFAIL" …); empty when no reply came.
    pub status: String,
    /// Header flags ("qr", "rd", "ra", "tc" …).
    pub flags: Vec<String>,
    /// The reply carried an OPT record.
    pub has_opt: bool,
    /// The `flags:` of the EDNS line ("do" …).
    pub edns_flags: Vec<String>,
    /// The UDP size of the reply's OPT record.
    pub edns_udp: Option<u16>,
    /// The question as printed (";name. IN A" without the leading semicolon).
    pub question: String,
    /// Answer section.
    pub answers: Vec<DigRecord>,
    /// Authority section.
    pub authority: Vec<DigRecord>,
    /// dig said it retried over TCP after a truncated UDP reply.
    pub retried_tcp: bool,
    /// The whole output, for messages.
    pub output: String,
}

impl DigAnswer {
    /// Parses dig's default output.
    pub fn parse(output: &str) -> Self {
        let mut answer = DigAnswer {
            output: output.to_owned(),
            ..DigAnswer::default()
        };
        let mut section = "";
        for line in output.lines() {
            if line.contains("Truncated, retrying in TCP mode") {
                answer.retried_tcp = true;
            }
            if let Some(rest) = line.split_once("status: ").map(|(_, r)| r) {
                answer.status = rest.split(',').next().unwrap_or_default().trim().to_owned();
            } else if let Some(rest) = line.strip_prefix(";; flags: ") {
                let flags = rest.split(';').next().unwrap_or_default();
                answer.flags = flags.split_whitespace().map(str::to_owned).collect();
            } else if let Some(rest) = line.strip_prefix("; EDNS: ") {
                answer.has_opt = true;
                for part in rest.split(';') {
                    let part = part.trim();
                    if let Some(size) = part.strip_prefix("udp: ") {
                        answer.edns_udp = size.trim().parse().ok();
                    }
                    if let Some(flags) = part.split("flags:").nth(1) {
                        answer.edns_flags = flags.split_whitespace().map(str::to_owned).collect();
                    }
                }
            } else if let Some(name) = line
                .strip_prefix(";; ")
                .and_then(|l| l.strip_suffix(" SECTION:"))
            {
                section = match name {
                    "QUESTION" => "question",
                    "ANSWER" => "answer",
                    "AUTHORITY" => "authority",
                    _ => "",
                };
            } else if line.trim().is_empty() || line.starts_with(";;") {
                if line.trim().is_empty() {
                    section = "";
                }
            } else if section == "question" {
                answer.question = line
                    .trim_start_matches(';')
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
            } else if let Some(record) = parse_record(line) {
                match section {
                    "answer" => answer.answers.push(record),
                    "authority" => answer.authority.push(record),
                    _ => {}
                }
            }
        }
        answer
    }

    /// The RDATA of every answer record of type `rtype`.
    pub fn rdata(&self, rtype: &str) -> Vec<String> {
        self.answers
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.rdata.clone())
            .collect()
    }

    /// True when the header flags include `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

fn parse_record(line: &str) -> Option<DigRecord> {
    let mut words = line.split_whitespace();
    let name = words.next()?.to_owned();
    let ttl = words.next()?.parse().ok()?;
    let _class = words.next()?;
    let rtype = words.next()?.to_owned();
    let rdata = words.collect::<Vec<_>>().join(" ");
    Some(DigRecord {
        name,
        ttl,
        rtype,
        rdata,
    })
}

/// Runs `dig @server -p port args…` in `ns` (one try, 2 s wait, unless `args` say otherwise)
/// and parses its output. A dig that gets no reply is not an error: `status` is empty.
pub fn dig(ns: &Netns, server: SocketAddr, args: &[&str]) -> Result<DigAnswer> {
    let mut full = vec![
        format!("@{}", server.ip()),
        "-p".to_owned(),
        server.port().to_string(),
        "+tries=1".to_owned(),
        "+time=2".to_owned(),
    ];
    full.extend(args.iter().map(|a| (*a).to_owned()));
    let output = ns.exec("dig", &full, DIG_TIMEOUT)?;
    Ok(DigAnswer::parse(&output.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_answer() {
        let output = "
; <<>> DiG 9.18 <<>> @127.0.0.1 -p 5353 WwW.example.com
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags: do; udp: 1232
;; QUESTION SECTION:
;WwW.example.com.\t\tIN\tA

;; ANSWER SECTION:
WwW.example.com.\t30\tIN\tA\t198.18.2.1

;; Query time: 0 msec
";
        let answer = DigAnswer::parse(output);
        assert_eq!(answer.status, "NOERROR");
        assert_eq!(answer.flags, ["qr", "rd", "ra"]);
        assert!(answer.has_opt);
        assert_eq!(answer.edns_flags, ["do"]);
        assert_eq!(answer.edns_udp, Some(1232));
        assert_eq!(answer.question, "WwW.example.com. IN A");
        assert_eq!(answer.rdata("A"), ["198.18.2.1"]);
        assert_eq!(answer.answers[0].ttl, 30);
        assert!(!answer.retried_tcp);
    }
}
