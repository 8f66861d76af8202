//! Files are replaced by rename, as kubelet and editors do, so that every change is visible
//! in the inode whatever the file system's timestamp granularity. No test sleeps:
//! `refresh_now` forces the check.

use std::net::SocketAddr;

use tempfile::TempDir;

use super::*;
use crate::config::HostsSources;

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn paths(&self) -> ConfigPaths {
        let path = |name: &str| self.dir.path().join(name);
        ConfigPaths {
            resolv_conf: path("resolv.conf"),
            hosts: path("hosts"),
            nsswitch: path("nsswitch.conf"),
            host_conf: path("host.conf"),
        }
    }

    fn write(&self, name: &str, text: &str) {
        let temporary = self.dir.path().join(format!(".{name}.new"));
        fs::write(&temporary, text).expect("write");
        fs::rename(&temporary, self.dir.path().join(name)).expect("rename");
    }

    fn remove(&self, name: &str) {
        let path = self.dir.path().join(name);
        if path.is_dir() {
            fs::remove_dir(path).expect("remove dir");
        } else {
            fs::remove_file(path).expect("remove");
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn load(&self) -> WatchedConfig {
        WatchedConfig::load_with_env(self.paths(), None, None)
    }
}

fn servers(config: &SystemConfig) -> Vec<SocketAddr> {
    config.resolv.nameservers.clone()
}

fn v4(s: &str) -> SocketAddr {
    SocketAddr::new(s.parse().unwrap(), 53)
}

fn has_host(config: &SystemConfig, name: &str) -> bool {
    config.hosts.lookup(name).is_some()
}

#[test]
fn missing_files_mean_glibc_defaults() {
    let fixture = Fixture::new();
    let config = fixture.load().current();
    assert_eq!(*config.resolv, ResolvConf::default());
    assert!(config.hosts.is_empty());
    assert_eq!(*config.nsswitch, NsswitchHosts::default());
    assert_eq!(config.generation, 0);
}

#[test]
fn load_reads_every_file_and_the_environment() {
    let fixture = Fixture::new();
    fixture.write(
        "resolv.conf",
        "nameserver 10.96.0.10\nsearch a.svc.cluster.local\noptions ndots:5",
    );
    fixture.write("hosts", "127.0.0.1 localhost\n::1 localhost\n");
    fixture.write("host.conf", "multi on\n");
    fixture.write("nsswitch.conf", "hosts: files myhostname dns\n");
    let watched = WatchedConfig::load_with_env(
        fixture.paths(),
        Some("x.test".into()),
        Some("ndots:2".into()),
    );
    let config = watched.current();
    assert_eq!(servers(&config), vec![v4("10.96.0.10")]);
    assert_eq!(config.resolv.search, vec!["x.test".to_string()]);
    assert_eq!(config.resolv.ndots, 2);
    assert_eq!(
        config.hosts.lookup("localhost").map(|e| e.addrs.len()),
        Some(2)
    );
    assert_eq!(
        config.nsswitch.sources,
        HostsSources::NotMine {
            what: "myhostname".into()
        }
    );
}

#[test]
fn a_change_is_seen_after_refresh_now_and_bumps_the_generation() {
    let fixture = Fixture::new();
    fixture.write("resolv.conf", "nameserver 10.0.0.1\nsearch file.test");
    let watched = WatchedConfig::load_with_env(fixture.paths(), Some("env.test".into()), None);
    let before = watched.current();
    fixture.write("resolv.conf", "nameserver 10.0.0.2\nsearch file.test");
    // Within the check interval the fast path does not look at the files.
    assert!(Arc::ptr_eq(&before, &watched.current()));
    let after = watched.refresh_now();
    assert_eq!(servers(&after), vec![v4("10.0.0.2")]);
    // LOCALDOMAIN still wins after the reload.
    assert_eq!(after.resolv.search, vec!["env.test".to_string()]);
    assert_eq!(after.generation, 1);
    assert!(
        Arc::ptr_eq(&after.hosts, &before.hosts),
        "unchanged parts are shared"
    );
    assert!(Arc::ptr_eq(&after, &watched.current()));
}

#[test]
fn the_same_content_does_not_bump_the_generation() {
    let fixture = Fixture::new();
    fixture.write("resolv.conf", "nameserver 10.0.0.1");
    fixture.write("hosts", "1.2.3.4 a");
    let watched = fixture.load();
    let before = watched.current();
    fixture.write("resolv.conf", "nameserver 10.0.0.1\n# comment only");
    fixture.write("hosts", "1.2.3.4 a\n");
    let after = watched.refresh_now();
    assert_eq!(after.generation, 0);
    assert!(Arc::ptr_eq(&before, &after));
}

#[test]
fn no_reload_freezes_resolv_conf_but_not_hosts() {
    let fixture = Fixture::new();
    fixture.write("resolv.conf", "nameserver 10.0.0.1\noptions no-reload");
    let watched = fixture.load();
    fixture.write("resolv.conf", "nameserver 10.0.0.2");
    fixture.write("hosts", "1.2.3.4 new-host");
    let config = watched.refresh_now();
    assert_eq!(servers(&config), vec![v4("10.0.0.1")]);
    assert!(has_host(&config, "new-host"));
}

#[test]
fn no_reload_from_res_options_counts_too() {
    let fixture = Fixture::new();
    fixture.write("resolv.conf", "nameserver 10.0.0.1");
    let watched = WatchedConfig::load_with_env(fixture.paths(), None, Some("no-reload".into()));
    fixture.write("resolv.conf", "nameserver 10.0.0.2");
    assert_eq!(servers(&watched.refresh_now()), vec![v4("10.0.0.1")]);
}

#[test]
fn an_unreadable_file_keeps_the_last_good_version() {
    let fixture = Fixture::new();
    fixture.write("hosts", "1.2.3.4 kept");
    let watched = fixture.load();
    // A directory can be stat()ed but not read, even by root.
    fixture.remove("hosts");
    fs::create_dir(fixture.path("hosts")).expect("mkdir");
    let config = watched.refresh_now();
    assert!(has_host(&config, "kept"));
    assert_eq!(config.generation, 0);
    fixture.remove("hosts");
    fixture.write("hosts", "1.2.3.4 back");
    let config = watched.refresh_now();
    assert!(has_host(&config, "back") && !has_host(&config, "kept"));
}

#[test]
fn an_unreadable_file_at_load_counts_as_missing() {
    let fixture = Fixture::new();
    fs::create_dir(fixture.path("resolv.conf")).expect("mkdir");
    assert_eq!(*fixture.load().current().resolv, ResolvConf::default());
}

#[test]
fn a_deleted_file_counts_as_empty() {
    let fixture = Fixture::new();
    fixture.write("hosts", "1.2.3.4 gone");
    fixture.write("nsswitch.conf", "hosts: dns");
    let watched = fixture.load();
    fixture.remove("hosts");
    fixture.remove("nsswitch.conf");
    let config = watched.refresh_now();
    assert!(config.hosts.is_empty());
    assert_eq!(*config.nsswitch, NsswitchHosts::default());
    assert_eq!(config.generation, 1);
}

#[test]
fn host_conf_decides_how_many_hosts_lines_count() {
    let fixture = Fixture::new();
    fixture.write("hosts", "127.0.0.1 localhost\n::1 localhost\n");
    let watched = fixture.load();
    // No host.conf: glibc's default is `multi off`.
    let count = |config: &SystemConfig| config.hosts.lookup("localhost").map(|e| e.addrs.len());
    assert_eq!(count(&watched.current()), Some(1));
    fixture.write("host.conf", "multi on");
    let config = watched.refresh_now();
    assert_eq!(count(&config), Some(2));
    assert_eq!(config.generation, 1);
}

#[test]
fn host_conf_is_read_when_a_lookup_first_needs_multi() {
    let fixture = Fixture::new();
    fixture.write(
        "hosts",
        "127.0.0.1 localhost\n::1 localhost\n198.18.0.1 single\n",
    );
    let watched = fixture.load();
    let config = watched.current();
    let count = |name: &str| config.hosts.lookup(name).map(|e| e.addrs.len());
    assert_eq!(count("single"), Some(1));
    // Written after the load and after a lookup of a name on one line: neither read it, so
    // the first lookup that needs `multi` (the index, built by the second lookup) sees it.
    fixture.write("host.conf", "multi on\n");
    assert_eq!(count("localhost"), Some(2));
}

#[test]
fn the_fast_path_checks_files_once_the_interval_is_over() {
    let fixture = Fixture::new();
    fixture.write("hosts", "1.2.3.4 old");
    let watched = fixture.load();
    fixture.write("hosts", "1.2.3.4 new");
    // Pretend the interval is over instead of sleeping.
    watched.next_check_nanos.store(0, Ordering::Relaxed);
    assert!(has_host(&watched.current(), "new"));
    assert!(watched.next_check_nanos.load(Ordering::Relaxed) >= nanos(CHECK_INTERVAL));
}

/// Run with `cargo test --release -p resolver-core --lib fast_path_cost -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, not a check"]
fn fast_path_cost() {
    let fixture = Fixture::new();
    let watched = fixture.load();
    let rounds = 2_000_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(watched.current());
    }
    println!("current(): {:?} per call", start.elapsed() / rounds);
}
