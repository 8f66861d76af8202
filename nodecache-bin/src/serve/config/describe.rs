//! The effective configuration as TOML, one `key = value` per line (`serve --check`). The
//! output is itself a valid `--config` file that reads back to the same configuration.

use std::fmt::Write as _;

use super::ServeConfig;
use super::sources::Setting;
use super::values::{format_duration, format_size};

/// A TOML basic string (TOML 1.0 §String: `"` and `\` escaped, control characters as `\uXXXX`).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list<T: ToString>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(&item.to_string())).collect();
    format!("[{}]", items.join(", "))
}

/// See the module comment.
pub(super) fn describe(config: &ServeConfig) -> String {
    let cache = &config.cache;
    let duration = |d| quoted(&format_duration(d));
    let lines: Vec<(&str, String)> = vec![
        ("listen", quoted_list(&config.listen)),
        (Setting::Metrics.key(), quoted(&config.metrics.to_string())),
        ("allow_from", quoted_list(&config.allow_from)),
        (Setting::Workers.key(), config.workers.to_string()),
        (Setting::CacheSize.key(), cache.size.to_string()),
        (
            Setting::CacheMaxBytes.key(),
            quoted(&format_size(cache.max_bytes)),
        ),
        (
            Setting::CacheAdmission.key(),
            quoted(cache.admission.as_str()),
        ),
        (Setting::MinTtl.key(), duration(cache.min_ttl)),
        (Setting::MaxTtl.key(), duration(cache.max_ttl)),
        (
            Setting::MaxNegativeTtl.key(),
            duration(cache.max_negative_ttl),
        ),
        (Setting::ServeStale.key(), cache.serve_stale.to_string()),
        (Setting::StaleTtl.key(), duration(cache.stale_ttl)),
        (Setting::StaleMaxAge.key(), duration(cache.stale_max_age)),
        (Setting::PrefetchHits.key(), cache.prefetch_hits.to_string()),
        (
            Setting::PrefetchPercent.key(),
            cache.prefetch_percent.to_string(),
        ),
        (
            Setting::UpstreamTimeout.key(),
            duration(config.upstream_timeout),
        ),
        (
            Setting::UpstreamFirstRetransmit.key(),
            duration(config.upstream_first_retransmit),
        ),
        (
            Setting::Upstream0x20.key(),
            config.upstream_0x20.to_string(),
        ),
        (
            Setting::UpstreamMaxPps.key(),
            config.upstream_max_pps.unwrap_or(0).to_string(),
        ),
        (
            Setting::PoolMaxConnections.key(),
            config.pool.max_connections.to_string(),
        ),
        (
            Setting::PoolMaxPipeline.key(),
            config.pool.max_pipeline.to_string(),
        ),
        (
            Setting::PoolMaxQueue.key(),
            config.pool.max_queue.to_string(),
        ),
        (
            Setting::PoolIdleTimeout.key(),
            duration(config.pool.idle_timeout),
        ),
        (
            Setting::TcpMaxConnections.key(),
            config.client_tcp.max_connections.to_string(),
        ),
        (
            Setting::TcpIdleTimeout.key(),
            duration(config.client_tcp.idle_timeout),
        ),
        (
            Setting::SetupInterface.key(),
            quoted(config.setup_interface.as_deref().unwrap_or("")),
        ),
        (
            Setting::SetupIptables.key(),
            config.setup_iptables.to_string(),
        ),
        (
            Setting::SkipTeardown.key(),
            config.skip_teardown.to_string(),
        ),
        (Setting::SyncInterval.key(), duration(config.sync_interval)),
        (Setting::DrainTimeout.key(), duration(config.drain_timeout)),
        (
            Setting::ResolvConf.key(),
            quoted(&config.resolv_conf.display().to_string()),
        ),
    ];
    let mut out = String::new();
    for (key, value) in lines {
        let _ = writeln!(out, "{key} = {value}");
    }
    // Inline tables keep one zone per line; `upstream = [{…}, {…}]` is the same TOML as
    // `[[upstream]]` tables, but the key must then appear once, so all zones share one line.
    let zones: Vec<String> = config
        .upstreams
        .iter()
        .map(|zone| {
            format!(
                "{{ zone = {}, servers = {}, force_tcp = {} }}",
                quoted(&zone.zone),
                quoted_list(&zone.servers),
                zone.force_tcp
            )
        })
        .collect();
    let _ = writeln!(out, "upstream = [{}]", zones.join(", "));
    out
}
