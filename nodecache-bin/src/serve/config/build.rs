//! Merging the sources into a [`ServeConfig`] and the checks that involve several settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::error::{ConfigError, ValueProblem};
use super::sources::{Origin, RawLayer, RawUpstream, Setting};
use super::values;
use super::{ServeConfig, ZoneUpstream};

/// Most worker threads (far beyond any node's cores; a typo like 10000 is refused).
const MAX_WORKERS: u64 = 1024;

/// Builds the configuration: defaults, then the file, then the flags.
pub(super) fn build(
    flags: RawLayer,
    file: Option<(PathBuf, RawLayer)>,
) -> Result<ServeConfig, ConfigError> {
    let mut config = ServeConfig::default();
    let (file_origin, file) = match file {
        Some((path, layer)) => (Origin::File(path), layer),
        None => (Origin::File(PathBuf::new()), RawLayer::default()),
    };

    // Single values: the file's, then the flags' on top.
    for (origin, layer) in [(&file_origin, &file), (&Origin::Flag, &flags)] {
        for (&setting, text) in &layer.values {
            apply(&mut config, setting, text).map_err(|problem| ConfigError::Value {
                name: origin.name(setting.key()),
                value: text.clone(),
                problem,
            })?;
        }
    }

    // Lists are replaced as a whole by the source that gives them.
    let (listen_origin, listen) = match (&flags.listen, &file.listen) {
        (Some(listen), _) => (&Origin::Flag, Some(listen)),
        (None, Some(listen)) => (&file_origin, Some(listen)),
        (None, None) => (&Origin::Flag, None),
    };
    if let Some(listen) = listen {
        config.listen = parse_listen(listen_origin, listen)?;
    }

    let (allow_origin, allow_from) = match (&flags.allow_from, &file.allow_from) {
        (Some(list), _) => (&Origin::Flag, Some(list)),
        (None, Some(list)) => (&file_origin, Some(list)),
        (None, None) => (&Origin::Flag, None),
    };
    if let Some(list) = allow_from {
        config.allow_from = crate::serve::acl::parse_list(list.iter().map(String::as_str))
            .map_err(|(value, error)| ConfigError::Value {
                name: allow_origin.name("allow_from"),
                value,
                problem: ValueProblem::NotARange(error),
            })?;
    }

    // Zones: the flags' entry for a zone replaces the file's entry for that zone.
    let mut zones = parse_upstreams(&file_origin, &file.upstreams)?;
    for (zone, origin) in parse_upstreams(&Origin::Flag, &flags.upstreams)? {
        zones.retain(|(existing, _)| existing.zone != zone.zone);
        zones.push((zone, origin));
    }
    check_loops(&config.listen, &zones)?;
    let mut upstreams: Vec<ZoneUpstream> = zones.into_iter().map(|(zone, _)| zone).collect();
    if !upstreams.iter().any(|zone| zone.zone == ".") {
        upstreams.push(root_from_resolv_conf(&config)?);
    }
    for text in &flags.force_tcp {
        let name = Origin::Flag.name("force_tcp");
        let bad = |problem| ConfigError::Value {
            name: name.clone(),
            value: text.clone(),
            problem,
        };
        let zone = values::zone(text).map_err(bad)?;
        let entry = upstreams
            .iter_mut()
            .find(|entry| entry.zone == zone)
            .ok_or_else(|| bad(ValueProblem::UnknownZone))?;
        entry.force_tcp = true;
    }
    config.upstreams = upstreams;

    check_relations(&config)?;
    Ok(config)
}

/// Sets one single-valued setting from its text.
fn apply(config: &mut ServeConfig, setting: Setting, text: &str) -> Result<(), ValueProblem> {
    let count = |min: u64, max: u64| -> Result<usize, ValueProblem> {
        let n = values::number(text, min, max)?;
        usize::try_from(n).map_err(|_| ValueProblem::OutOfRange { min, max })
    };
    let u32_count = |min: u64, max: u64| -> Result<u32, ValueProblem> {
        let n = values::number(text, min, max)?;
        u32::try_from(n).map_err(|_| ValueProblem::OutOfRange { min, max })
    };
    let positive = || -> Result<Duration, ValueProblem> {
        let duration = values::duration(text)?;
        if duration.is_zero() {
            return Err(ValueProblem::Zero);
        }
        Ok(duration)
    };
    let cache = &mut config.cache;
    match setting {
        Setting::Metrics => config.metrics = values::admin_addr(text)?,
        Setting::CacheSize => cache.size = count(1, 100_000_000)?,
        Setting::CacheMaxBytes => {
            cache.max_bytes = values::size(text)?;
            if cache.max_bytes == 0 {
                return Err(ValueProblem::Zero);
            }
        }
        Setting::CacheAdmission => cache.admission = values::admission(text)?,
        Setting::MinTtl => cache.min_ttl = values::duration(text)?,
        Setting::MaxTtl => cache.max_ttl = values::duration(text)?,
        Setting::MaxNegativeTtl => cache.max_negative_ttl = values::duration(text)?,
        Setting::ServeStale => cache.serve_stale = values::boolean(text)?,
        Setting::StaleTtl => cache.stale_ttl = values::duration(text)?,
        Setting::StaleMaxAge => cache.stale_max_age = values::duration(text)?,
        Setting::Upstream0x20 => config.upstream_0x20 = values::boolean(text)?,
        Setting::PrefetchHits => cache.prefetch_hits = u32_count(0, 1_000_000)?,
        Setting::PrefetchPercent => {
            cache.prefetch_percent = u8::try_from(values::number(text, 0, 100)?)
                .map_err(|_| ValueProblem::OutOfRange { min: 0, max: 100 })?;
        }
        Setting::UpstreamTimeout => config.upstream_timeout = positive()?,
        Setting::UpstreamFirstRetransmit => config.upstream_first_retransmit = positive()?,
        Setting::UpstreamMaxPps => {
            // 0 means no budget (the TOML file has no "none").
            let pps = u32_count(0, 10_000_000)?;
            config.upstream_max_pps = (pps != 0).then_some(pps);
        }
        Setting::PoolMaxConnections => config.pool.max_connections = count(1, 1024)?,
        // A DNS message ID is 16 bits (RFC 1035 §4.1.1): no more than 65535 outstanding.
        Setting::PoolMaxPipeline => config.pool.max_pipeline = count(1, 65_535)?,
        Setting::PoolMaxQueue => config.pool.max_queue = count(1, 1_000_000)?,
        Setting::PoolIdleTimeout => config.pool.idle_timeout = positive()?,
        Setting::TcpMaxConnections => config.client_tcp.max_connections = count(1, 1_000_000)?,
        Setting::TcpIdleTimeout => config.client_tcp.idle_timeout = positive()?,
        Setting::Workers => config.workers = count(1, MAX_WORKERS)?,
        Setting::SetupInterface => config.setup_interface = values::interface(text)?,
        Setting::SetupIptables => config.setup_iptables = values::boolean(text)?,
        Setting::SkipTeardown => config.skip_teardown = values::boolean(text)?,
        Setting::SyncInterval => config.sync_interval = positive()?,
        Setting::DrainTimeout => config.drain_timeout = values::duration(text)?,
        Setting::ResolvConf => {
            if text.is_empty() {
                return Err(ValueProblem::EmptyPath);
            }
            config.resolv_conf = PathBuf::from(text);
        }
    }
    Ok(())
}

fn parse_listen(origin: &Origin, texts: &[String]) -> Result<Vec<SocketAddr>, ConfigError> {
    let mut listen: Vec<SocketAddr> = Vec::with_capacity(texts.len());
    for text in texts {
        let bad = |problem| ConfigError::Value {
            name: origin.name("listen"),
            value: text.clone(),
            problem,
        };
        let addr = values::listen_addr(text).map_err(bad)?;
        if listen.contains(&addr) {
            return Err(bad(ValueProblem::DuplicateAddress));
        }
        listen.push(addr);
    }
    if listen.is_empty() {
        // `listen = []` in the file: nothing to serve on.
        return Err(ConfigError::Value {
            name: origin.name("listen"),
            value: String::new(),
            problem: ValueProblem::NotAnAddress,
        });
    }
    Ok(listen)
}

/// Parsed zones with where each came from (for the loop check's message).
type Zones = Vec<(ZoneUpstream, (Origin, String))>;

fn parse_upstreams(origin: &Origin, raw: &[RawUpstream]) -> Result<Zones, ConfigError> {
    let mut zones: Zones = Vec::with_capacity(raw.len());
    for entry in raw {
        let bad = |problem| ConfigError::Value {
            name: origin.name("upstream"),
            value: entry.text.clone(),
            problem,
        };
        if !entry.text.contains('=') {
            return Err(bad(ValueProblem::NotAnUpstream));
        }
        let zone = values::zone(&entry.zone).map_err(bad)?;
        let servers = entry
            .servers
            .iter()
            .map(|server| server.trim())
            .filter(|server| !server.is_empty())
            .map(values::server_addr)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        if servers.is_empty() {
            return Err(bad(ValueProblem::NoServers));
        }
        if zones.iter().any(|(existing, _)| existing.zone == zone) {
            return Err(bad(ValueProblem::DuplicateZone));
        }
        let upstream = ZoneUpstream {
            zone,
            servers,
            force_tcp: entry.force_tcp,
        };
        zones.push((upstream, (origin.clone(), entry.text.clone())));
    }
    Ok(zones)
}

/// True when a query sent to `server` would reach one of our own listen sockets. A wildcard
/// listen address (`0.0.0.0:53`) receives on every local address; the only ones known without
/// asking the kernel are the loopback ones, so those count as ours too.
fn is_own_address(listen: &[SocketAddr], server: SocketAddr) -> bool {
    listen.iter().any(|ours| {
        *ours == server
            || (ours.ip().is_unspecified()
                && ours.port() == server.port()
                && ours.is_ipv4() == server.is_ipv4()
                && server.ip().is_loopback())
    })
}

fn check_loops(listen: &[SocketAddr], zones: &Zones) -> Result<(), ConfigError> {
    for (zone, (origin, text)) in zones {
        if zone
            .servers
            .iter()
            .any(|&server| is_own_address(listen, server))
        {
            return Err(ConfigError::Value {
                name: origin.name("upstream"),
                value: text.clone(),
                problem: ValueProblem::Loop,
            });
        }
    }
    Ok(())
}

/// The `.` zone from resolv.conf's nameservers (re-read on every call, so SIGHUP sees edits).
fn root_from_resolv_conf(config: &ServeConfig) -> Result<ZoneUpstream, ConfigError> {
    let path = &config.resolv_conf;
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::ResolvConfUnreadable {
            path: path.clone(),
            source,
        })?;
    // `nameservers`, not `effective_nameservers`: the latter adds glibc's 127.0.0.1:53
    // fallback (res_init.c), which on a node is this daemon or nothing.
    let servers = resolver_core::config::ResolvConf::parse(&text).nameservers;
    if servers.is_empty() {
        return Err(ConfigError::NoUpstream(path.clone()));
    }
    if let Some(&server) = servers
        .iter()
        .find(|&&server| is_own_address(&config.listen, server))
    {
        return Err(ConfigError::ResolvConfLoop {
            path: path.clone(),
            server,
        });
    }
    Ok(ZoneUpstream {
        zone: ".".to_owned(),
        servers,
        force_tcp: false,
    })
}

/// Checks between settings once everything is merged.
fn check_relations(config: &ServeConfig) -> Result<(), ConfigError> {
    if config.cache.min_ttl > config.cache.max_ttl {
        return Err(ConfigError::TtlOrder {
            min: config.cache.min_ttl,
            max: config.cache.max_ttl,
        });
    }
    if config.upstream_first_retransmit > config.upstream_timeout {
        return Err(ConfigError::RetransmitOrder {
            first: config.upstream_first_retransmit,
            timeout: config.upstream_timeout,
        });
    }
    // SO_REUSEPORT would let the admin listener and a DNS TCP listener share one port, and
    // the kernel would hand DNS clients to the HTTP server and vice versa.
    let metrics = config.metrics;
    let overlaps = |ours: &SocketAddr| {
        ours.port() == metrics.port()
            && ours.is_ipv4() == metrics.is_ipv4()
            && (ours.ip() == metrics.ip()
                || ours.ip().is_unspecified()
                || metrics.ip().is_unspecified())
    };
    if config.listen.iter().any(overlaps) {
        return Err(ConfigError::Value {
            name: "--metrics".to_owned(),
            value: config.metrics.to_string(),
            problem: ValueProblem::CollidesWithListen,
        });
    }
    Ok(())
}
