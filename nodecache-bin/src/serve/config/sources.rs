//! Where settings come from: the command line and the `--config` TOML file, both reduced to
//! the same raw form (setting → text) so one parser serves both and flags can win over the
//! file setting by setting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use crate::cli::ServeArgs;

/// Every single-valued setting. The flag is `--` + the key with `-` for `_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Setting {
    /// `--metrics`.
    Metrics,
    /// `--cache-size`.
    CacheSize,
    /// `--cache-max-bytes`.
    CacheMaxBytes,
    /// `--cache-admission`.
    CacheAdmission,
    /// `--min-ttl`.
    MinTtl,
    /// `--max-ttl`.
    MaxTtl,
    /// `--max-negative-ttl`.
    MaxNegativeTtl,
    /// `--serve-stale`.
    ServeStale,
    /// `--stale-ttl`.
    StaleTtl,
    /// `--stale-max-age`.
    StaleMaxAge,
    /// `--upstream-0x20`.
    Upstream0x20,
    /// `--prefetch-hits`.
    PrefetchHits,
    /// `--prefetch-percent`.
    PrefetchPercent,
    /// `--upstream-timeout`.
    UpstreamTimeout,
    /// `--upstream-first-retransmit`.
    UpstreamFirstRetransmit,
    /// `--upstream-max-pps`.
    UpstreamMaxPps,
    /// `--pool-max-connections`.
    PoolMaxConnections,
    /// `--pool-max-pipeline`.
    PoolMaxPipeline,
    /// `--pool-max-queue`.
    PoolMaxQueue,
    /// `--pool-idle-timeout`.
    PoolIdleTimeout,
    /// `--tcp-max-connections`.
    TcpMaxConnections,
    /// `--tcp-idle-timeout`.
    TcpIdleTimeout,
    /// `--workers`.
    Workers,
    /// `--setup-interface`.
    SetupInterface,
    /// `--setup-iptables`.
    SetupIptables,
    /// `--skip-teardown`.
    SkipTeardown,
    /// `--sync-interval`.
    SyncInterval,
    /// `--drain-timeout`.
    DrainTimeout,
    /// `--resolv-conf`.
    ResolvConf,
}

impl Setting {
    /// The TOML key.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Setting::Metrics => "metrics",
            Setting::CacheSize => "cache_size",
            Setting::CacheMaxBytes => "cache_max_bytes",
            Setting::CacheAdmission => "cache_admission",
            Setting::MinTtl => "min_ttl",
            Setting::MaxTtl => "max_ttl",
            Setting::MaxNegativeTtl => "max_negative_ttl",
            Setting::ServeStale => "serve_stale",
            Setting::StaleTtl => "stale_ttl",
            Setting::StaleMaxAge => "stale_max_age",
            Setting::Upstream0x20 => "upstream_0x20",
            Setting::PrefetchHits => "prefetch_hits",
            Setting::PrefetchPercent => "prefetch_percent",
            Setting::UpstreamTimeout => "upstream_timeout",
            Setting::UpstreamFirstRetransmit => "upstream_first_retransmit",
            Setting::UpstreamMaxPps => "upstream_max_pps",
            Setting::PoolMaxConnections => "pool_max_connections",
            Setting::PoolMaxPipeline => "pool_max_pipeline",
            Setting::PoolMaxQueue => "pool_max_queue",
            Setting::PoolIdleTimeout => "pool_idle_timeout",
            Setting::TcpMaxConnections => "tcp_max_connections",
            Setting::TcpIdleTimeout => "tcp_idle_timeout",
            Setting::Workers => "workers",
            Setting::SetupInterface => "setup_interface",
            Setting::SetupIptables => "setup_iptables",
            Setting::SkipTeardown => "skip_teardown",
            Setting::SyncInterval => "sync_interval",
            Setting::DrainTimeout => "drain_timeout",
            Setting::ResolvConf => "resolv_conf",
        }
    }
}

/// Where a raw value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The command line.
    Flag,
    /// The `--config` file.
    File(PathBuf),
}

impl Origin {
    /// `--cache-size`, or `cache_size in FILE`.
    pub(crate) fn name(&self, key: &str) -> String {
        match self {
            Origin::Flag => format!("--{}", key.replace('_', "-")),
            Origin::File(path) => format!("{key} in {}", path.display()),
        }
    }
}

/// One `--upstream` or `[[upstream]]` entry before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawUpstream {
    /// The zone as written.
    pub(crate) zone: String,
    /// The servers as written.
    pub(crate) servers: Vec<String>,
    /// `force_tcp` from the file (flags use `--force-tcp ZONE` instead).
    pub(crate) force_tcp: bool,
    /// The original text, for error messages (`ZONE=ADDR,...` for flags).
    pub(crate) text: String,
}

/// Everything one source says, as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawLayer {
    /// Single-valued settings.
    pub(crate) values: BTreeMap<Setting, String>,
    /// Listen addresses (`None`: not given by this source).
    pub(crate) listen: Option<Vec<String>>,
    /// Client ranges answered (`None`: not given by this source).
    pub(crate) allow_from: Option<Vec<String>>,
    /// Zones.
    pub(crate) upstreams: Vec<RawUpstream>,
    /// `--force-tcp` zones.
    pub(crate) force_tcp: Vec<String>,
}

impl RawLayer {
    /// The command line's settings.
    pub(crate) fn from_flags(args: &ServeArgs) -> RawLayer {
        let mut values = BTreeMap::new();
        let optional = [
            (Setting::Metrics, &args.metrics),
            (Setting::CacheSize, &args.cache_size),
            (Setting::CacheMaxBytes, &args.cache_max_bytes),
            (Setting::CacheAdmission, &args.cache_admission),
            (Setting::MinTtl, &args.min_ttl),
            (Setting::MaxTtl, &args.max_ttl),
            (Setting::MaxNegativeTtl, &args.max_negative_ttl),
            (Setting::ServeStale, &args.serve_stale),
            (Setting::StaleTtl, &args.stale_ttl),
            (Setting::StaleMaxAge, &args.stale_max_age),
            (Setting::Upstream0x20, &args.upstream_0x20),
            (Setting::PrefetchHits, &args.prefetch_hits),
            (Setting::PrefetchPercent, &args.prefetch_percent),
            (Setting::UpstreamTimeout, &args.upstream_timeout),
            (
                Setting::UpstreamFirstRetransmit,
                &args.upstream_first_retransmit,
            ),
            (Setting::UpstreamMaxPps, &args.upstream_max_pps),
            (Setting::PoolMaxConnections, &args.pool_max_connections),
            (Setting::PoolMaxPipeline, &args.pool_max_pipeline),
            (Setting::PoolMaxQueue, &args.pool_max_queue),
            (Setting::PoolIdleTimeout, &args.pool_idle_timeout),
            (Setting::TcpMaxConnections, &args.tcp_max_connections),
            (Setting::TcpIdleTimeout, &args.tcp_idle_timeout),
            (Setting::Workers, &args.workers),
            (Setting::SetupInterface, &args.setup_interface),
            (Setting::SyncInterval, &args.sync_interval),
            (Setting::DrainTimeout, &args.drain_timeout),
            (Setting::ResolvConf, &args.resolv_conf),
        ];
        for (setting, value) in optional {
            if let Some(value) = value {
                values.insert(setting, value.clone());
            }
        }
        // Presence flags can only switch on; leaving them out keeps the file's value.
        for (setting, on) in [
            (Setting::SetupIptables, args.setup_iptables),
            (Setting::SkipTeardown, args.skip_teardown),
        ] {
            if on {
                values.insert(setting, "true".to_owned());
            }
        }
        let upstreams = args
            .upstream
            .iter()
            .map(|text| {
                let (zone, servers) = text.split_once('=').unwrap_or((text.as_str(), ""));
                RawUpstream {
                    zone: zone.to_owned(),
                    servers: servers.split(',').map(str::to_owned).collect(),
                    force_tcp: false,
                    text: text.clone(),
                }
            })
            .collect();
        RawLayer {
            values,
            listen: (!args.listen.is_empty()).then(|| args.listen.clone()),
            allow_from: (!args.allow_from.is_empty()).then(|| args.allow_from.clone()),
            upstreams,
            force_tcp: args.force_tcp.clone(),
        }
    }

    /// The settings of the TOML file at `path`.
    pub(crate) fn from_file(path: &Path) -> Result<RawLayer, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigUnreadable {
                path: path.to_owned(),
                source,
            })?;
        let file: FileConfig = toml::from_str(&text).map_err(|error| {
            let line = error.span().map_or(0, |span| {
                1 + text.get(..span.start).map_or(0, count_newlines)
            });
            ConfigError::ConfigSyntax {
                path: path.to_owned(),
                line,
                message: one_line(error.message()),
            }
        })?;
        Ok(file.into_layer())
    }
}

fn count_newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// Joins a multi-line message into one line (the error must stay one line).
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A TOML scalar as written: durations and sizes may be numbers or strings, so the file takes
/// any scalar and the shared parsers decide (and name the key when they refuse).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Text(s) => s,
        }
    }
}

/// `"a"` or `["a", "b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// One `[[upstream]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    zone: String,
    servers: OneOrMany,
    #[serde(default)]
    force_tcp: bool,
}

/// The `--config` file's schema. Unknown keys are an error naming the key (a typo must not
/// silently fall back to a default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<OneOrMany>,
    allow_from: Option<OneOrMany>,
    #[serde(default)]
    upstream: Vec<FileUpstream>,
    metrics: Option<Scalar>,
    cache_size: Option<Scalar>,
    cache_max_bytes: Option<Scalar>,
    cache_admission: Option<Scalar>,
    min_ttl: Option<Scalar>,
    max_ttl: Option<Scalar>,
    max_negative_ttl: Option<Scalar>,
    serve_stale: Option<Scalar>,
    stale_ttl: Option<Scalar>,
    stale_max_age: Option<Scalar>,
    upstream_0x20: Option<Scalar>,
    prefetch_hits: Option<Scalar>,
    prefetch_percent: Option<Scalar>,
    upstream_timeout: Option<Scalar>,
    upstream_first_retransmit: Option<Scalar>,
    upstream_max_pps: Option<Scalar>,
    pool_max_connections: Option<Scalar>,
    pool_max_pipeline: Option<Scalar>,
    pool_max_queue: Option<Scalar>,
    pool_idle_timeout: Option<Scalar>,
    tcp_max_connections: Option<Scalar>,
    tcp_idle_timeout: Option<Scalar>,
    workers: Option<Scalar>,
    setup_interface: Option<Scalar>,
    setup_iptables: Option<Scalar>,
    skip_teardown: Option<Scalar>,
    sync_interval: Option<Scalar>,
    drain_timeout: Option<Scalar>,
    resolv_conf: Option<Scalar>,
}

impl FileConfig {
    fn into_layer(self) -> RawLayer {
        let scalars = [
            (Setting::Metrics, self.metrics),
            (Setting::CacheSize, self.cache_size),
            (Setting::CacheMaxBytes, self.cache_max_bytes),
            (Setting::CacheAdmission, self.cache_admission),
            (Setting::MinTtl, self.min_ttl),
            (Setting::MaxTtl, self.max_ttl),
            (Setting::MaxNegativeTtl, self.max_negative_ttl),
            (Setting::ServeStale, self.serve_stale),
            (Setting::StaleTtl, self.stale_ttl),
            (Setting::StaleMaxAge, self.stale_max_age),
            (Setting::Upstream0x20, self.upstream_0x20),
            (Setting::PrefetchHits, self.prefetch_hits),
            (Setting::PrefetchPercent, self.prefetch_percent),
            (Setting::UpstreamTimeout, self.upstream_timeout),
            (
                Setting::UpstreamFirstRetransmit,
                self.upstream_first_retransmit,
            ),
            (Setting::UpstreamMaxPps, self.upstream_max_pps),
            (Setting::PoolMaxConnections, self.pool_max_connections),
            (Setting::PoolMaxPipeline, self.pool_max_pipeline),
            (Setting::PoolMaxQueue, self.pool_max_queue),
            (Setting::PoolIdleTimeout, self.pool_idle_timeout),
            (Setting::TcpMaxConnections, self.tcp_max_connections),
            (Setting::TcpIdleTimeout, self.tcp_idle_timeout),
            (Setting::Workers, self.workers),
            (Setting::SetupInterface, self.setup_interface),
            (Setting::SetupIptables, self.setup_iptables),
            (Setting::SkipTeardown, self.skip_teardown),
            (Setting::SyncInterval, self.sync_interval),
            (Setting::DrainTimeout, self.drain_timeout),
            (Setting::ResolvConf, self.resolv_conf),
        ];
        let values = scalars
            .into_iter()
            .filter_map(|(setting, value)| Some((setting, value?.into_text())))
            .collect();
        let upstreams = self
            .upstream
            .into_iter()
            .map(|entry| {
                let servers = entry.servers.into_vec();
                RawUpstream {
                    text: format!("{}={}", entry.zone, servers.join(",")),
                    zone: entry.zone,
                    servers,
                    force_tcp: entry.force_tcp,
                }
            })
            .collect();
        RawLayer {
            values,
            listen: self.listen.map(OneOrMany::into_vec),
            allow_from: self.allow_from.map(OneOrMany::into_vec),
            upstreams,
            force_tcp: Vec::new(),
        }
    }
}
