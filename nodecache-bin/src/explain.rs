//! `nodecache explain NAME`: both query sequences with reasons; sends nothing.

use std::fmt::Write;

use resolver_core::name;
use resolver_core::policy::{AskReason, ExplainStep, SearchMode};

use crate::cli::{EXIT_USAGE, ExplainArgs};

pub(crate) fn run(args: &ExplainArgs) -> u8 {
    let resolver = args.config.builder().cache(false).build();
    let config = resolver.system_config();
    let policy = resolver.policy();
    let steps = match policy.explain(&args.name) {
        Ok(steps) => steps,
        Err(error) => {
            eprintln!("nodecache: {}: invalid name: {error}", args.name);
            return EXIT_USAGE;
        }
    };
    let mode = match policy.mode() {
        SearchMode::Kubernetes => "kubernetes",
        SearchMode::Glibc => "glibc",
    };
    let zone = policy
        .cluster_zone()
        .map(|z| format!(", cluster zone {z}"))
        .unwrap_or_default();
    print!(
        "{}",
        render(
            &args.name,
            config.resolv.ndots,
            mode,
            &zone,
            config.resolv.no_aaaa,
            &steps
        )
    );
    0
}

/// The report: header, glibc's sequence, nodecache's sequence, what was skipped and why.
fn render(
    input: &str,
    ndots: u8,
    mode: &str,
    zone: &str,
    no_aaaa: bool,
    steps: &[ExplainStep],
) -> String {
    let mut out = String::new();
    let dots = name::count_dots(input);
    let _ = writeln!(
        out,
        "name {input}: {dots} dot(s), ndots {ndots}; search mode {mode}{zone}"
    );
    let glibc: Vec<&ExplainStep> = steps.iter().filter(|s| s.glibc_asks).collect();
    let ours: Vec<&ExplainStep> = steps.iter().filter(|s| s.nodecache_asks).collect();
    let per_name = if no_aaaa { 1 } else { 2 };
    let _ = writeln!(
        out,
        "\nglibc sends A and AAAA in parallel for each name until one answers ({} names, up to {} queries):",
        glibc.len(),
        glibc.len() * per_name
    );
    write_sequence(&mut out, &glibc, |step| {
        step.glibc_reason.as_ref().or(step.ask_reason.as_ref())
    });
    let _ = writeln!(
        out,
        "\nnodecache sends A, then AAAA unless A was NXDOMAIN, one name at a time ({} names, up to {} queries):",
        ours.len(),
        ours.len() * per_name
    );
    write_sequence(&mut out, &ours, |step| step.ask_reason.as_ref());
    let skipped: Vec<&ExplainStep> = steps.iter().filter(|s| !s.nodecache_asks).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nskipped by nodecache:");
        for step in skipped {
            let why = step
                .skipped
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "      {:<50} {why}", step.name);
        }
    }
    out
}

/// Numbered lines `  1. name   reason`.
fn write_sequence(
    out: &mut String,
    steps: &[&ExplainStep],
    reason: impl Fn(&ExplainStep) -> Option<&AskReason>,
) {
    for (i, step) in steps.iter().enumerate() {
        let why = reason(step).map(ToString::to_string).unwrap_or_default();
        let _ = writeln!(out, "  {:>2}. {:<50} {why}", i + 1, step.name);
    }
}
