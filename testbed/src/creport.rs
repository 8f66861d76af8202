//! What the C test programs print (tests/c/resolve.c, timing.c, threads.c), parsed.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::RunOutput;

/// The outcome of `resolve NAME`: sorted distinct addresses, the canonical name, and a status
/// line with the EAI code's symbolic name.
#[derive(Debug, Clone)]
pub struct CLookup {
    /// The distinct addresses returned.
    pub addrs: BTreeSet<IpAddr>,
    /// `ai_canonname` of the first node, when set.
    pub canon: Option<String>,
    /// `ok`, or the EAI name (`EAI_NONAME`, `EAI_AGAIN` …) without the strerror text.
    pub status: String,
    /// The command's output, for messages.
    pub output: RunOutput,
}

impl CLookup {
    /// Parses `resolve`'s stdout; an unknown line or a missing status line is an error.
    pub fn parse(output: RunOutput) -> Result<Self, String> {
        let mut addrs = BTreeSet::new();
        let mut canon = None;
        let mut status = None;
        for line in output.stdout.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("status: ") {
                let code = rest.split_whitespace().next().unwrap_or_default();
                status = Some(code.to_owned());
            } else if let Some(name) = line.strip_prefix("canon: ") {
                canon = Some(name.to_owned());
            } else if let Ok(addr) = line.trim().parse::<IpAddr>() {
                addrs.insert(addr);
            } else {
                return Err(format!("`{}`: unexpected line {line:?}", output.command));
            }
        }
        let status = status.ok_or_else(|| {
            format!(
                "`{}`: no status line (exit {:?}); stderr: {}",
                output.command,
                output.code(),
                output.stderr.trim()
            )
        })?;
        Ok(Self {
            addrs,
            canon,
            status,
            output,
        })
    }

    /// True when the name resolved.
    pub fn found(&self) -> bool {
        self.status == "ok"
    }

    /// "found 2" or the EAI name, for tables.
    pub fn outcome(&self) -> String {
        if self.found() {
            format!("found {}", self.addrs.len())
        } else {
            self.status.clone()
        }
    }

    /// Same status and, when found, the same address set.
    pub fn same_answer(&self, other: &Self) -> bool {
        self.status == other.status && (!self.found() || self.addrs == other.addrs)
    }
}

/// The `summary: key=value …` line of `timing` and `threads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSummary {
    fields: Vec<(String, String)>,
}

impl CSummary {
    /// Finds and parses the last `summary:` line of `stdout`.
    pub fn parse(stdout: &str) -> Option<Self> {
        let line = stdout.lines().rev().find(|l| l.starts_with("summary:"))?;
        let fields = line
            .trim_start_matches("summary:")
            .split_whitespace()
            .filter_map(|word| {
                let (key, value) = word.split_once('=')?;
                Some((key.to_owned(), value.to_owned()))
            })
            .collect();
        Some(Self { fields })
    }

    /// A field's text.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A numeric field.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    fn output(stdout: &str) -> RunOutput {
        let mut out = crate::run(Command::new("true"), Duration::from_secs(5)).expect("true runs");
        out.stdout = stdout.to_owned();
        out
    }

    #[test]
    fn resolve_output_parses() {
        let cases: &[(&str, &str, &[&str], Option<&str>)] = &[
            (
                "198.18.2.1\n2001:db8::1\ncanon: www.example.com\nstatus: ok\n",
                "ok",
                &["198.18.2.1", "2001:db8::1"],
                Some("www.example.com"),
            ),
            (
                "status: EAI_NONAME (Name or service not known)\n",
                "EAI_NONAME",
                &[],
                None,
            ),
        ];
        for (stdout, status, addrs, canon) in cases {
            let r = CLookup::parse(output(stdout)).expect("parses");
            assert_eq!(r.status, *status);
            let want: BTreeSet<IpAddr> = addrs.iter().map(|a| a.parse().expect("ip")).collect();
            assert_eq!(r.addrs, want);
            assert_eq!(r.canon.as_deref(), *canon);
        }
        assert!(CLookup::parse(output("198.18.2.1\n")).is_err(), "no status");
        assert!(CLookup::parse(output("junk\nstatus: ok\n")).is_err());
    }

    #[test]
    fn same_answer_compares_status_then_addresses() {
        let a = CLookup::parse(output("198.18.2.1\nstatus: ok\n")).expect("a");
        let b = CLookup::parse(output("198.18.2.1\ncanon: x\nstatus: ok\n")).expect("b");
        let c = CLookup::parse(output("198.18.2.2\nstatus: ok\n")).expect("c");
        let d = CLookup::parse(output("status: EAI_NONAME (x)\n")).expect("d");
        let e = CLookup::parse(output("status: EAI_AGAIN (x)\n")).expect("e");
        assert!(a.same_answer(&b));
        assert!(!a.same_answer(&c));
        assert!(!a.same_answer(&d));
        assert!(!d.same_answer(&e));
        assert!(d.same_answer(&d.clone()));
    }

    #[test]
    fn summary_fields() {
        let s = CSummary::parse(
            "noise\nsummary: lookups=500 failures=0 p50_ns=812 p99_us=4 fork_child=ok\n",
        )
        .expect("summary");
        assert_eq!(s.number("lookups"), Some(500));
        assert_eq!(s.number("p50_ns"), Some(812));
        assert_eq!(s.get("fork_child"), Some("ok"));
        assert_eq!(s.number("fork_child"), None);
        assert_eq!(s.get("missing"), None);
        assert!(CSummary::parse("nothing").is_none());
    }
}
