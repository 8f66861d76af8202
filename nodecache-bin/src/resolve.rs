//! `nodecache resolve NAME`: one lookup (or `--repeat N` cold lookups) through the core, as the
//! shim would do it; addresses on stdout, every question on stderr.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use resolver_core::lookup::QueryOutcome;
use resolver_core::resolver::{LookupAnswer, QueryEvent};
use resolver_core::wire::rtype;
use resolver_core::{Error, LookupOptions};

use crate::cli::ResolveArgs;

/// Exit code when the name does not resolve (NXDOMAIN or no address of the family).
const EXIT_NOT_FOUND: u8 = 2;
/// Exit code for any other failure (timeouts, SERVFAIL, configuration).
const EXIT_ERROR: u8 = 1;

pub(crate) fn run(args: &ResolveArgs) -> u8 {
    let resolver = args.config.builder().build();
    let options = LookupOptions {
        family: args.family.into(),
        addrconfig: true,
    };
    let mut latencies = Vec::with_capacity(args.repeat as usize);
    let mut first_answer: Option<Arc<LookupAnswer>> = None;
    let mut first_error: Option<Error> = None;
    let mut failures = 0u32;
    let stderr = std::io::stderr();
    for round in 0..args.repeat {
        // Every round starts cold: SPEC §3 "cold cache".
        resolver.flush_cache();
        let verbose = round == 0;
        let started = Instant::now();
        let result = resolver.lookup_with_events(&args.name, options, &mut |event| {
            if verbose {
                let _ = writeln!(stderr.lock(), "{}", describe(event));
            }
        });
        latencies.push(started.elapsed());
        match result {
            Ok(answer) => {
                first_answer.get_or_insert(answer);
            }
            Err(error) => {
                failures += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(answer) = &first_answer {
        let mut out = std::io::stdout().lock();
        for addr in &answer.addrs {
            let _ = writeln!(out, "{addr}");
        }
    }
    let stats = resolver.stats();
    if let Some(error) = &first_error {
        eprintln!("nodecache: {}: {error}", args.name);
    }
    if args.repeat > 1 {
        eprintln!("{}", summary(&mut latencies, failures));
        eprintln!(
            "stats: queries_sent={} retransmits={} tcp_fallbacks={}",
            stats.queries_sent, stats.retransmits, stats.tcp_fallbacks
        );
    }
    match (&first_error, failures) {
        (_, 0) => 0,
        (Some(error), _) if error.is_not_found() => EXIT_NOT_FOUND,
        _ => EXIT_ERROR,
    }
}

/// `summary: lookups=N failures=F p50_us=X p99_us=Y max_us=Z`, the line tests parse.
fn summary(latencies: &mut [Duration], failures: u32) -> String {
    latencies.sort_unstable();
    let percentile = |p: f64| -> u128 {
        if latencies.is_empty() {
            return 0;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1].as_micros()
    };
    format!(
        "summary: lookups={} failures={failures} p50_us={} p99_us={} max_us={}",
        latencies.len(),
        percentile(0.50),
        percentile(0.99),
        latencies.last().map_or(0, Duration::as_micros)
    )
}

fn type_name(qtype: u16) -> String {
    match qtype {
        rtype::A => "A".to_string(),
        rtype::AAAA => "AAAA".to_string(),
        other => format!("TYPE{other}"),
    }
}

/// One stderr line per question, e.g.
/// `query A web.default.svc.cluster.local -> 1 address (198.18.0.53:53 udp, 1 packet, 0.4 ms)`.
fn describe(event: &QueryEvent<'_>) -> String {
    let outcome = match event.outcome {
        QueryOutcome::Answer {
            addrs,
            canonical_name,
        } => {
            let mut text = format!(
                "{} address{}",
                addrs.len(),
                if addrs.len() == 1 { "" } else { "es" }
            );
            if let Some(cname) = canonical_name {
                text.push_str(&format!(" via CNAME {cname}"));
            }
            text
        }
        QueryOutcome::NoData => "NODATA".to_string(),
        QueryOutcome::NxDomain => "NXDOMAIN".to_string(),
        QueryOutcome::ServFail => "SERVFAIL".to_string(),
        QueryOutcome::Failed(kind) => format!("failed: {kind:?}"),
    };
    let how = if event.from_cache {
        "cached".to_string()
    } else {
        let server = event
            .server
            .map_or_else(|| "no server".to_string(), |s| s.to_string());
        format!(
            "{server} {}, {} packet{}, {:.1} ms",
            if event.over_tcp { "tcp" } else { "udp" },
            event.queries_sent,
            if event.queries_sent == 1 { "" } else { "s" },
            event.elapsed.as_secs_f64() * 1000.0
        )
    };
    format!(
        "query {} {} -> {outcome} ({how})",
        type_name(event.qtype),
        event.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(
            summary(&mut samples, 2),
            "summary: lookups=100 failures=2 p50_us=50 p99_us=99 max_us=100"
        );
        assert_eq!(
            summary(&mut [], 0),
            "summary: lookups=0 failures=0 p50_us=0 p99_us=0 max_us=0"
        );
    }
}
