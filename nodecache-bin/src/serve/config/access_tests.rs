//! Unit tests of the settings added for issue 5: `allow_from`, `stale_max_age` and
//! `upstream_0x20`, through the real command-line and TOML parsers (temporary files only).

use std::io::Write as _;
use std::time::Duration;

use clap::Parser as _;

use super::ServeConfig;
use super::error::{ConfigError, ValueProblem};
use crate::cli::{Cli, Command};
use crate::serve::acl::{Acl, CidrError, DEFAULT_ALLOW_FROM};

fn temp_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write temp file");
    file
}

/// `nodecache serve --resolv-conf <temp> extra…` parsed and built.
fn config(extra: &[&str]) -> Result<ServeConfig, ConfigError> {
    let resolv = temp_file("nameserver 127.0.0.1\n");
    let resolv_path = resolv.path().to_str().expect("utf-8").to_owned();
    let mut argv = vec!["nodecache", "serve", "--resolv-conf", &resolv_path];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).expect("clap parses").command {
        Command::Serve(args) => ServeConfig::from_args(&args),
        other => panic!("not serve: {other:?}"),
    }
}

fn allows(config: &ServeConfig, ip: &str) -> bool {
    Acl::from_config(config).allows(ip.parse().expect("test address"))
}

#[test]
fn defaults_are_the_private_ranges_a_day_of_stale_and_no_0x20() {
    let config = config(&[]).expect("defaults");
    assert_eq!(config.allow_from.len(), DEFAULT_ALLOW_FROM.len());
    assert!(allows(&config, "10.244.0.5") && allows(&config, "169.254.20.10"));
    assert!(!allows(&config, "198.18.2.2"));
    assert_eq!(config.cache.stale_ttl, Duration::from_secs(30));
    assert_eq!(config.cache.stale_max_age, Duration::from_secs(86_400));
    assert!(!config.upstream_0x20);
}

#[test]
fn flags_set_the_new_settings() {
    let config = config(&[
        "--allow-from=198.18.0.0/15,fd00::/8",
        "--allow-from=127.0.0.1",
        "--stale-max-age=3d",
        "--stale-ttl=10s",
        "--upstream-0x20=true",
    ])
    .expect("valid");
    assert!(allows(&config, "198.19.1.1") && allows(&config, "fd00::9"));
    assert!(allows(&config, "127.0.0.1") && !allows(&config, "127.0.0.2"));
    assert!(
        !allows(&config, "10.0.0.1"),
        "an explicit list replaces the default"
    );
    assert_eq!(config.cache.stale_max_age, Duration::from_secs(3 * 86_400));
    assert_eq!(config.cache.stale_ttl, Duration::from_secs(10));
    assert!(config.upstream_0x20);
    let both = self::config(&["--allow-from=default,198.18.0.0/15"]).expect("valid");
    assert!(allows(&both, "198.18.2.2") && allows(&both, "192.168.1.1"));
}

#[test]
fn the_file_sets_them_and_flags_win() {
    let file = temp_file(
        "allow_from = [\"198.18.0.0/15\"]\nstale_max_age = \"2h\"\nupstream_0x20 = true\n",
    );
    let path = file.path().to_str().expect("utf-8").to_owned();
    let from_file = config(&["--config", &path]).expect("valid");
    assert!(allows(&from_file, "198.18.2.2") && !allows(&from_file, "10.0.0.1"));
    assert_eq!(from_file.cache.stale_max_age, Duration::from_secs(7200));
    assert!(from_file.upstream_0x20);
    let overridden = config(&["--config", &path, "--allow-from=10.0.0.0/8"]).expect("valid");
    assert!(!allows(&overridden, "198.18.2.2") && allows(&overridden, "10.0.0.1"));
    let single = temp_file("allow_from = \"default\"\n");
    let single_path = single.path().to_str().expect("utf-8").to_owned();
    let default_again = config(&["--config", &single_path]).expect("valid");
    assert_eq!(default_again.allow_from, ServeConfig::default().allow_from);
}

#[test]
fn bad_values_name_the_flag_and_the_entry() {
    let cases: &[(&[&str], &str, &str, ValueProblem)] = &[
        (
            &["--allow-from=10.0.0.0/8,10.1.2.3/8"],
            "--allow-from",
            "10.1.2.3/8",
            ValueProblem::NotARange(CidrError::HostBitsSet),
        ),
        (
            &["--allow-from=everyone"],
            "--allow-from",
            "everyone",
            ValueProblem::NotARange(CidrError::Syntax),
        ),
        (
            &["--stale-max-age=forever"],
            "--stale-max-age",
            "forever",
            ValueProblem::NotADuration,
        ),
        (
            &["--upstream-0x20=yes"],
            "--upstream-0x20",
            "yes",
            ValueProblem::NotABool,
        ),
    ];
    for (flags, name, value, problem) in cases {
        let error = config(flags).expect_err("refused");
        let text = error.to_string();
        assert!(
            text.starts_with(name) && text.contains(value) && !text.contains('\n'),
            "{text}"
        );
        assert!(
            matches!(&error, ConfigError::Value { problem: p, .. } if p == problem),
            "{error:?}"
        );
    }
}

#[test]
fn describe_reads_back_the_new_settings() {
    let original = config(&[
        "--allow-from=default,198.18.0.0/15,2001:db8::/32",
        "--stale-max-age=36h",
        "--upstream-0x20=true",
    ])
    .expect("valid");
    let text = original.describe();
    let file = temp_file(&text);
    let path = file.path().to_str().expect("utf-8").to_owned();
    let again = config(&["--config", &path]).expect("describe output reads back");
    assert_eq!(again.allow_from, original.allow_from, "{text}");
    assert_eq!(again.cache, original.cache, "{text}");
    assert_eq!(again.upstream_0x20, original.upstream_0x20, "{text}");
}
