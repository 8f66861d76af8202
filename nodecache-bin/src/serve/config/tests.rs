//! Unit tests: every flag and key through the real command-line parser and the real TOML
//! parser, with temporary resolv.conf and config files (never the machine's /etc/resolv.conf).

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser as _;

use super::error::{ConfigError, ValueProblem};
use super::{Admission, ServeConfig, ZoneUpstream};
use crate::cli::{Cli, Command, ServeArgs};

/// A temporary file holding `text`.
fn temp_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write temp file");
    file
}

/// A resolv.conf naming 127.0.0.1 and 127.0.0.2 (port 53).
fn resolv_conf() -> tempfile::NamedTempFile {
    temp_file("search svc.cluster.local\nnameserver 127.0.0.1\nnameserver 127.0.0.2\n")
}

/// `nodecache serve <args>` as clap parses it, with `--resolv-conf` added first.
fn args(resolv: &tempfile::NamedTempFile, extra: &[&str]) -> ServeArgs {
    let resolv_path = resolv.path().to_str().expect("utf-8 temp path").to_owned();
    let mut argv = vec!["nodecache", "serve", "--resolv-conf", &resolv_path];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv)
        .expect("clap accepts the flags")
        .command
    {
        Command::Serve(args) => *args,
        other => panic!("not serve: {other:?}"),
    }
}

fn config(extra: &[&str]) -> Result<ServeConfig, ConfigError> {
    let resolv = resolv_conf();
    ServeConfig::from_args(&args(&resolv, extra))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address")
}

#[test]
fn defaults_listen_on_5353_and_forward_root_to_resolv_conf() {
    let config = config(&[]).expect("defaults are valid");
    assert_eq!(config.listen, vec![addr("127.0.0.1:5353")]);
    assert_eq!(config.metrics, addr("127.0.0.1:9253"));
    assert_eq!(
        config.upstreams,
        vec![ZoneUpstream {
            zone: ".".to_owned(),
            servers: vec![addr("127.0.0.1:53"), addr("127.0.0.2:53")],
            force_tcp: false,
        }]
    );
    assert_eq!(config.cache, ServeConfig::default().cache);
}

#[test]
fn good_flags_parse_to_the_expected_values() {
    let config = config(&[
        "--listen=127.0.0.10:53",
        "--listen=[::1]:53",
        "--upstream=cluster.local=198.18.0.53,[::1]:5300",
        "--upstream=Example.COM.=198.18.0.54:5353",
        "--force-tcp=cluster.local.",
        "--metrics=127.0.0.1:0",
        "--cache-size=9984",
        "--cache-max-bytes=64M",
        "--cache-admission=always",
        "--min-ttl=5",
        "--max-ttl=1h",
        "--max-negative-ttl=30s",
        "--serve-stale=false",
        "--stale-ttl=5m",
        "--prefetch-hits=0",
        "--prefetch-percent=100",
        "--upstream-timeout=1500ms",
        "--upstream-first-retransmit=100ms",
        "--upstream-max-pps=1024",
        "--pool-max-connections=20",
        "--pool-max-pipeline=1",
        "--pool-max-queue=7",
        "--pool-idle-timeout=3s",
        "--tcp-max-connections=99",
        "--tcp-idle-timeout=2m",
        "--workers=1024",
        "--setup-interface=nodelocaldns",
        "--setup-iptables",
        "--skip-teardown",
        "--sync-interval=10s",
        "--drain-timeout=0",
    ])
    .expect("valid flags");
    assert_eq!(config.listen, vec![addr("127.0.0.10:53"), addr("[::1]:53")]);
    let cluster = &config.upstreams[0];
    assert_eq!(cluster.zone, "cluster.local.");
    assert_eq!(
        cluster.servers,
        vec![addr("198.18.0.53:53"), addr("[::1]:5300")]
    );
    assert!(cluster.force_tcp);
    assert_eq!(config.upstreams[1].zone, "example.com.");
    assert_eq!(config.upstreams[1].servers, vec![addr("198.18.0.54:5353")]);
    assert!(!config.upstreams[1].force_tcp);
    assert_eq!(
        config.upstreams[2].zone, ".",
        "the default . is still added"
    );
    assert_eq!(config.metrics, addr("127.0.0.1:0"));
    assert_eq!(config.cache.size, 9984);
    assert_eq!(config.cache.max_bytes, 64_000_000);
    assert_eq!(config.cache.admission, Admission::Always);
    assert_eq!(config.cache.min_ttl, Duration::from_secs(5));
    assert_eq!(config.cache.max_ttl, Duration::from_secs(3600));
    assert_eq!(config.cache.max_negative_ttl, Duration::from_secs(30));
    assert!(!config.cache.serve_stale);
    assert_eq!(config.cache.stale_ttl, Duration::from_secs(300));
    assert_eq!(config.cache.prefetch_hits, 0);
    assert_eq!(config.cache.prefetch_percent, 100);
    assert_eq!(config.upstream_timeout, Duration::from_millis(1500));
    assert_eq!(config.upstream_first_retransmit, Duration::from_millis(100));
    assert_eq!(config.upstream_max_pps, Some(1024));
    assert_eq!(config.pool.max_connections, 20);
    assert_eq!(config.pool.max_pipeline, 1);
    assert_eq!(config.pool.max_queue, 7);
    assert_eq!(config.pool.idle_timeout, Duration::from_secs(3));
    assert_eq!(config.client_tcp.max_connections, 99);
    assert_eq!(config.client_tcp.idle_timeout, Duration::from_secs(120));
    assert_eq!(config.workers, 1024);
    assert_eq!(config.setup_interface.as_deref(), Some("nodelocaldns"));
    assert!(config.setup_iptables);
    assert!(config.skip_teardown);
    assert_eq!(config.sync_interval, Duration::from_secs(10));
    assert_eq!(config.drain_timeout, Duration::ZERO);
}

#[test]
fn sizes_accept_iec_and_si_units() {
    for (text, bytes) in [
        ("32MiB", 32 << 20),
        ("32mi", 32 << 20),
        ("64M", 64_000_000),
        ("64MB", 64_000_000),
        ("1048576", 1_048_576),
        ("2GiB", 2 << 30),
        ("8k", 8_000),
        ("8KiB", 8192),
    ] {
        let flag = format!("--cache-max-bytes={text}");
        let config = config(&[&flag]).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(config.cache.max_bytes, bytes, "{text}");
    }
}

/// Each bad command line, the flag its error must name, and the problem.
#[rustfmt::skip]
const BAD_FLAGS: &[(&[&str], &str, ValueProblem)] = &[
    (&["--listen=localhost:53"], "--listen", ValueProblem::NotAnAddress),
    (&["--listen=127.0.0.1"], "--listen", ValueProblem::NotAnAddress),
    (&["--listen=127.0.0.1:0"], "--listen", ValueProblem::PortZero),
    (&["--listen=127.0.0.1:53", "--listen=127.0.0.1:53"], "--listen", ValueProblem::DuplicateAddress),
    (&["--upstream=.=256.0.0.1"], "--upstream", ValueProblem::NotAServer),
    (&["--upstream=198.18.0.53"], "--upstream", ValueProblem::NotAnUpstream),
    (&["--upstream=.="], "--upstream", ValueProblem::NoServers),
    (&["--upstream=.=,"], "--upstream", ValueProblem::NoServers),
    (&["--upstream=bad zone=198.18.0.53"], "--upstream", ValueProblem::NotAZone),
    (&["--upstream=a..b=198.18.0.53"], "--upstream", ValueProblem::NotAZone),
    (&["--upstream=x=198.18.0.53:0"], "--upstream", ValueProblem::PortZero),
    (&["--upstream=x=198.18.0.1", "--upstream=X.=198.18.0.2"], "--upstream", ValueProblem::DuplicateZone),
    (&["--upstream=.=127.0.0.1:5353"], "--upstream", ValueProblem::Loop),
    (&["--listen=0.0.0.0:53", "--upstream=.=127.0.0.9"], "--upstream", ValueProblem::Loop),
    (&["--force-tcp=cluster.local"], "--force-tcp", ValueProblem::UnknownZone),
    (&["--metrics=127.0.0.1:5353"], "--metrics", ValueProblem::CollidesWithListen),
    (&["--metrics=nowhere"], "--metrics", ValueProblem::NotAnAddress),
    (&["--cache-size=0"], "--cache-size", ValueProblem::OutOfRange { min: 1, max: 100_000_000 }),
    (&["--cache-size=-1"], "--cache-size", ValueProblem::NotANumber),
    (&["--cache-max-bytes=12 parsecs"], "--cache-max-bytes", ValueProblem::NotASize),
    (&["--cache-max-bytes=0"], "--cache-max-bytes", ValueProblem::Zero),
    (&["--cache-admission=lfu"], "--cache-admission", ValueProblem::NotAnAdmission),
    (&["--min-ttl=5 minutes"], "--min-ttl", ValueProblem::NotADuration),
    (&["--max-ttl=1.5s"], "--max-ttl", ValueProblem::NotADuration),
    (&["--serve-stale=yes"], "--serve-stale", ValueProblem::NotABool),
    (&["--prefetch-percent=101"], "--prefetch-percent", ValueProblem::OutOfRange { min: 0, max: 100 }),
    (&["--upstream-timeout=0s"], "--upstream-timeout", ValueProblem::Zero),
    (&["--pool-max-connections=0"], "--pool-max-connections", ValueProblem::OutOfRange { min: 1, max: 1024 }),
    (&["--pool-max-pipeline=0"], "--pool-max-pipeline", ValueProblem::OutOfRange { min: 1, max: 65_535 }),
    (&["--pool-max-queue=0"], "--pool-max-queue", ValueProblem::OutOfRange { min: 1, max: 1_000_000 }),
    (&["--pool-idle-timeout=0"], "--pool-idle-timeout", ValueProblem::Zero),
    (&["--tcp-max-connections=0"], "--tcp-max-connections", ValueProblem::OutOfRange { min: 1, max: 1_000_000 }),
    (&["--workers=0"], "--workers", ValueProblem::OutOfRange { min: 1, max: 1024 }),
    (&["--workers=1025"], "--workers", ValueProblem::OutOfRange { min: 1, max: 1024 }),
    (&["--setup-interface=a/b"], "--setup-interface", ValueProblem::NotAnInterface),
    (&["--setup-interface=sixteen-chars-xx"], "--setup-interface", ValueProblem::NotAnInterface),
    (&["--sync-interval=0"], "--sync-interval", ValueProblem::Zero),
];

#[test]
fn bad_flags_give_one_line_naming_the_flag_and_value() {
    for (flags, name, problem) in BAD_FLAGS {
        let error = config(flags).expect_err(&format!("{flags:?} must be refused"));
        assert_eq!(error.value_problem(), Some(*problem), "{flags:?}: {error}");
        let message = error.to_string();
        assert!(!message.contains('\n'), "{flags:?}: two lines: {message}");
        assert!(
            message.starts_with(name),
            "{flags:?}: does not name {name}: {message}"
        );
        let value = flags.last().and_then(|f| f.split_once('=')).map(|(_, v)| v);
        if let Some(value) = value {
            assert!(
                message.contains(value),
                "{flags:?}: value missing: {message}"
            );
        }
    }
}

#[test]
fn ttl_and_retransmit_order_is_checked() {
    let error = config(&["--min-ttl=10m", "--max-ttl=5m"]).expect_err("min > max");
    assert!(matches!(error, ConfigError::TtlOrder { .. }), "{error}");
    assert!(error.to_string().contains("--min-ttl"), "{error}");
    let error = config(&["--upstream-timeout=1s", "--upstream-first-retransmit=2s"])
        .expect_err("first retransmit after the timeout");
    assert!(
        matches!(error, ConfigError::RetransmitOrder { .. }),
        "{error}"
    );
}

#[test]
fn resolv_conf_without_nameserver_is_no_upstream_for_root() {
    let empty = temp_file("search example.com\n");
    let error = ServeConfig::from_args(&args(&empty, &[])).expect_err("no nameserver");
    assert!(matches!(error, ConfigError::NoUpstream(_)), "{error}");
    assert!(
        error.to_string().contains("no upstream for \".\""),
        "{error}"
    );
    // An explicit `.` needs no resolv.conf nameserver.
    let config = ServeConfig::from_args(&args(&empty, &["--upstream=.=198.18.0.53"]))
        .expect("explicit root");
    assert_eq!(config.upstreams[0].servers, vec![addr("198.18.0.53:53")]);
}

#[test]
fn resolv_conf_naming_ourselves_is_a_loop() {
    let resolv = resolv_conf();
    let error = ServeConfig::from_args(&args(&resolv, &["--listen=127.0.0.1:53"]))
        .expect_err("resolv.conf names 127.0.0.1:53, which we listen on");
    assert!(
        matches!(error, ConfigError::ResolvConfLoop { .. }),
        "{error}"
    );
}

#[test]
fn missing_resolv_conf_is_reported_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("resolv.conf");
    let argv = [
        "nodecache",
        "serve",
        "--resolv-conf",
        missing.to_str().expect("utf-8"),
    ];
    let Command::Serve(args) = Cli::try_parse_from(argv).expect("clap").command else {
        panic!("not serve");
    };
    let error = ServeConfig::from_args(&args).expect_err("missing file");
    assert!(
        matches!(error, ConfigError::ResolvConfUnreadable { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("resolv.conf"), "{error}");
}

const FILE: &str = r#"
listen = ["127.0.0.1:5300", "127.0.0.2:5300"]
metrics = "127.0.0.1:9999"
cache_size = 500
cache_max_bytes = "1MiB"
cache_admission = "always"
min_ttl = 2
max_ttl = "10m"
serve_stale = false
workers = 3
upstream_max_pps = 0
setup_interface = ""

[[upstream]]
zone = "cluster.local"
servers = ["198.18.0.53"]
force_tcp = true

[[upstream]]
zone = "."
servers = ["198.18.0.60", "198.18.0.61:5353"]
"#;

#[test]
fn file_values_apply_and_flags_win_over_them() {
    let file = temp_file(FILE);
    let path = file.path().to_str().expect("utf-8").to_owned();
    let resolv = resolv_conf();
    let from_file = ServeConfig::from_args(&args(&resolv, &["--config", &path])).expect("file");
    assert_eq!(
        from_file.listen,
        vec![addr("127.0.0.1:5300"), addr("127.0.0.2:5300")]
    );
    assert_eq!(from_file.metrics, addr("127.0.0.1:9999"));
    assert_eq!(from_file.cache.size, 500);
    assert_eq!(from_file.cache.max_bytes, 1 << 20);
    assert_eq!(from_file.cache.admission, Admission::Always);
    assert_eq!(
        ServeConfig::default().cache.admission,
        Admission::SecondAsk,
        "the default"
    );
    assert_eq!(from_file.cache.min_ttl, Duration::from_secs(2));
    assert_eq!(from_file.cache.max_ttl, Duration::from_secs(600));
    assert!(!from_file.cache.serve_stale);
    assert_eq!(from_file.workers, 3);
    assert_eq!(from_file.upstream_max_pps, None);
    assert_eq!(from_file.setup_interface, None);
    assert_eq!(
        from_file.upstreams.len(),
        2,
        "the file's . replaces resolv.conf's"
    );
    assert!(from_file.upstreams[0].force_tcp);
    assert_eq!(
        from_file.upstreams[1].servers,
        vec![addr("198.18.0.60:53"), addr("198.18.0.61:5353")]
    );

    let overridden = ServeConfig::from_args(&args(
        &resolv,
        &[
            "--config",
            &path,
            "--listen=127.0.0.3:53",
            "--cache-size=42",
            "--serve-stale=true",
            "--upstream=.=198.18.0.70",
        ],
    ))
    .expect("flags over file");
    assert_eq!(overridden.listen, vec![addr("127.0.0.3:53")]);
    assert_eq!(overridden.cache.size, 42);
    assert!(overridden.cache.serve_stale);
    assert_eq!(
        overridden.cache.max_ttl,
        Duration::from_secs(600),
        "untouched keys stay"
    );
    let root = overridden
        .upstreams
        .iter()
        .find(|z| z.zone == ".")
        .expect(". zone");
    assert_eq!(root.servers, vec![addr("198.18.0.70:53")]);
    assert!(
        overridden
            .upstreams
            .iter()
            .any(|z| z.zone == "cluster.local." && z.force_tcp)
    );
}

#[test]
fn file_errors_name_the_key_or_line() {
    let resolv = resolv_conf();
    let run = |text: &str| {
        let file = temp_file(text);
        let path = file.path().to_str().expect("utf-8").to_owned();
        ServeConfig::from_args(&args(&resolv, &["--config", &path])).expect_err(text)
    };
    let typo = run("cache_size = 5\ncache_sise = 10\n");
    assert!(
        matches!(typo, ConfigError::ConfigSyntax { line: 2, .. }),
        "{typo}"
    );
    assert!(typo.to_string().contains("cache_sise"), "{typo}");
    let syntax = run("workers = 2\n\nlisten = [\"127.0.0.1:53\"\n");
    assert!(
        matches!(syntax, ConfigError::ConfigSyntax { .. }),
        "{syntax}"
    );
    assert!(syntax.to_string().contains("line "), "{syntax}");
    let bad_value = run("workers = 0\n");
    assert!(
        bad_value.to_string().starts_with("workers in "),
        "{bad_value}"
    );
    let unknown_in_zone =
        run("[[upstream]]\nzone = \".\"\nservers = [\"198.18.0.1\"]\nforce = true\n");
    assert!(
        unknown_in_zone.to_string().contains("force"),
        "{unknown_in_zone}"
    );
    let dup = run(
        "[[upstream]]\nzone = \"a\"\nservers = \"198.18.0.1\"\n[[upstream]]\nzone = \"A.\"\nservers = \"198.18.0.2\"\n",
    );
    assert_eq!(
        dup.value_problem(),
        Some(ValueProblem::DuplicateZone),
        "{dup}"
    );
    for error in [&typo, &syntax, &bad_value, &unknown_in_zone, &dup] {
        assert!(!error.to_string().contains('\n'), "two lines: {error}");
    }
}

#[test]
fn missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nodecache.toml");
    let resolv = resolv_conf();
    let error = ServeConfig::from_args(&args(
        &resolv,
        &["--config", missing.to_str().expect("utf-8")],
    ))
    .expect_err("missing config");
    assert!(error.is_config_file(), "{error}");
    assert!(error.to_string().starts_with("--config "), "{error}");
}

#[test]
fn every_call_rereads_the_files() {
    let resolv = resolv_conf();
    let file = temp_file("cache_size = 1\n");
    let path = file.path().to_str().expect("utf-8").to_owned();
    let args = args(&resolv, &["--config", &path]);
    assert_eq!(ServeConfig::from_args(&args).expect("first").cache.size, 1);
    std::fs::write(file.path(), "cache_size = 2\n").expect("rewrite config");
    std::fs::write(resolv.path(), "nameserver 198.18.0.99\n").expect("rewrite resolv.conf");
    let reloaded = ServeConfig::from_args(&args).expect("second");
    assert_eq!(reloaded.cache.size, 2);
    assert_eq!(reloaded.upstreams[0].servers, vec![addr("198.18.0.99:53")]);
}

#[test]
fn describe_reads_back_to_the_same_configuration() {
    let resolv = resolv_conf();
    let original = ServeConfig::from_args(&args(
        &resolv,
        &[
            "--listen=127.0.0.10:53",
            "--upstream=cluster.local=198.18.0.53,[::1]:5300",
            "--force-tcp=cluster.local",
            "--cache-max-bytes=1000001",
            "--upstream-first-retransmit=250ms",
            "--setup-interface=nodelocaldns",
            "--upstream-max-pps=900",
        ],
    ))
    .expect("valid");
    let text = original.describe();
    for line in text.lines() {
        assert!(line.contains(" = "), "not key = value: {line}");
    }
    let file = temp_file(&text);
    let path = file.path().to_str().expect("utf-8").to_owned();
    let again = ServeConfig::from_args(&args(&resolv, &["--config", &path]))
        .unwrap_or_else(|e| panic!("describe output is not a valid config: {e}\n{text}"));
    assert_eq!(again, original, "{text}");
}
