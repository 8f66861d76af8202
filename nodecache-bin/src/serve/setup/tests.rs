//! [`NodeSetup`] against the real `ip` and `iptables`, inside network namespaces the tests
//! create ([`SetupEnv::netns`]), with a temporary run directory. They need root (see
//! `testbed::require_netns`; `NODECACHE_SKIP_NETNS=1` skips them).
//!
//! The daemon-level counterpart (the binary with `--setup-*` flags and SIGTERM) needs the
//! serving `run()`; these drive the same code paths directly.

use std::time::Duration;

use testbed::{Netns, require_netns};

use super::*;

const LISTEN_IP: &str = "169.254.20.10";
const LINK: &str = "nodelocaldns";
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// A namespace and a run directory.
struct Bed {
    ns: Netns,
    run_dir: tempfile::TempDir,
}

impl Bed {
    fn new() -> Bed {
        Bed {
            ns: Netns::new().expect("netns"),
            run_dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn env(&self) -> SetupEnv {
        SetupEnv {
            netns: Some(self.ns.name().to_owned()),
            run_dir: self.run_dir.path().to_owned(),
        }
    }

    /// Our rules as `iptables-save` prints them.
    fn our_rules(&self) -> Vec<String> {
        let out = self
            .ns
            .exec::<&str>("iptables-save", &[], TOOL_TIMEOUT)
            .and_then(testbed::RunOutput::ok)
            .expect("iptables-save");
        out.stdout
            .lines()
            .filter(|line| line.contains("nodecache: "))
            .map(str::to_owned)
            .collect()
    }

    fn link_exists(&self, name: &str) -> bool {
        self.ns.ip(&["link", "show", "dev", name]).is_ok()
    }

    fn addresses(&self, name: &str) -> String {
        self.ns
            .ip(&["-o", "addr", "show", "dev", name])
            .map(|out| out.stdout)
            .unwrap_or_default()
    }

    /// An existing link named [`LINK`] that is not ours: one end of a veth pair.
    fn add_veth_link(&self) {
        self.ns
            .ip(&[
                "link", "add", LINK, "type", "veth", "peer", "name", "nld-peer",
            ])
            .expect("veth pair");
    }
}

fn config(interface: Option<&str>, iptables: bool) -> ServeConfig {
    ServeConfig {
        listen: vec![format!("{LISTEN_IP}:53").parse().unwrap()],
        metrics: "169.254.20.10:9253".parse().unwrap(),
        setup_interface: interface.map(str::to_owned),
        setup_iptables: iptables,
        ..ServeConfig::default()
    }
}

#[test]
fn without_a_dummy_driver_the_error_says_so_and_nothing_is_left() {
    if !require_netns("without_a_dummy_driver_the_error_says_so_and_nothing_is_left") {
        return;
    }
    let bed = Bed::new();
    let has_dummy = bed
        .ns
        .ip(&["link", "add", "probe0", "type", "dummy"])
        .is_ok();
    let result = NodeSetup::prepare_in(&config(Some(LINK), true), &bed.env());
    if has_dummy {
        // A kernel with CONFIG_DUMMY: the link is created, and removed again at teardown.
        let setup = result.expect("prepare with dummy support");
        assert!(bed.addresses(LINK).contains(LISTEN_IP));
        setup.teardown();
        assert!(!bed.link_exists(LINK));
        return;
    }
    let error = result.expect_err("this kernel has no dummy support");
    assert!(error.is_no_dummy_support(), "{error:?}");
    let message = error.to_string();
    println!("{message}");
    assert!(!message.contains('\n'), "{message}");
    for needed in [
        LINK,
        "no dummy interface support",
        "CONFIG_DUMMY",
        "yourself",
    ] {
        assert!(message.contains(needed), "{needed:?} not in: {message}");
    }
    assert!(!bed.link_exists(LINK));
    assert!(bed.our_rules().is_empty());
    assert!(!bed.run_dir.path().join("link-nodelocaldns.state").exists());
}

#[test]
fn an_existing_link_gets_the_listen_ip_until_teardown_and_keeps_its_own() {
    if !require_netns("an_existing_link_gets_the_listen_ip_until_teardown_and_keeps_its_own") {
        return;
    }
    let bed = Bed::new();
    bed.add_veth_link();
    bed.ns
        .ip(&["addr", "add", "169.254.20.99/32", "dev", LINK])
        .expect("an address of the administrator's");
    let setup = NodeSetup::prepare_in(&config(Some(LINK), false), &bed.env()).expect("prepare");
    let held = bed.addresses(LINK);
    assert!(held.contains(&format!("{LISTEN_IP}/32")), "{held}");
    assert!(
        bed.ns
            .ip(&["link", "show", "dev", LINK])
            .unwrap()
            .stdout
            .contains(",UP")
    );
    setup.teardown();
    let held = bed.addresses(LINK);
    assert!(!held.contains(LISTEN_IP), "{held}");
    assert!(held.contains("169.254.20.99"), "not ours, kept: {held}");
    assert!(bed.link_exists(LINK), "not ours, kept");
}

#[test]
fn rules_are_installed_once_and_removed_at_teardown_unless_skipped() {
    if !require_netns("rules_are_installed_once_and_removed_at_teardown_unless_skipped") {
        return;
    }
    let bed = Bed::new();
    let mut setup = NodeSetup::prepare_in(&config(None, true), &bed.env()).expect("prepare");
    assert!(bed.our_rules().is_empty(), "rules wait for install_rules");
    setup.install_rules().expect("install");
    setup.install_rules().expect("install again");
    let rules = bed.our_rules();
    assert_eq!(rules.len(), 12, "idempotent, 12 rules: {rules:#?}");
    for expected in [
        "-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53",
        "-A INPUT -d 169.254.20.10/32 -p tcp -m tcp --dport 53",
        "-A OUTPUT -s 169.254.20.10/32 -p udp -m udp --sport 53",
        "-A OUTPUT -d 169.254.20.10/32 -p tcp -m tcp --dport 9253",
    ] {
        assert!(
            rules.iter().any(|rule| rule.starts_with(expected)),
            "{expected} not in {rules:#?}"
        );
    }
    setup.teardown();
    assert!(bed.our_rules().is_empty(), "{:#?}", bed.our_rules());

    let skipping = ServeConfig {
        skip_teardown: true,
        ..config(None, true)
    };
    let mut setup = NodeSetup::prepare_in(&skipping, &bed.env()).expect("prepare");
    setup.install_rules().expect("install");
    setup.teardown();
    assert_eq!(bed.our_rules().len(), 12, "--skip-teardown keeps them");
}

#[test]
fn resync_puts_back_rules_and_addresses_removed_by_hand() {
    if !require_netns("resync_puts_back_rules_and_addresses_removed_by_hand") {
        return;
    }
    let bed = Bed::new();
    bed.add_veth_link();
    let mut setup = NodeSetup::prepare_in(&config(Some(LINK), true), &bed.env()).expect("prepare");
    setup.install_rules().expect("install");
    let installed = bed.our_rules();
    // Delete two rules by hand, the way an administrator (or a kube-proxy flush) would.
    for rule in installed.iter().take(2) {
        let mut args: Vec<&str> = vec!["-w", "-t"];
        let table = if rule.contains("NOTRACK") {
            "raw"
        } else {
            "filter"
        };
        args.push(table);
        let words = shell_words(rule.trim_start_matches("-A "));
        args.push("-D");
        args.extend(words.iter().map(String::as_str));
        bed.ns
            .exec("iptables", &args, TOOL_TIMEOUT)
            .and_then(testbed::RunOutput::ok)
            .unwrap_or_else(|e| panic!("deleting {rule}: {e}"));
    }
    bed.ns
        .ip(&["addr", "del", &format!("{LISTEN_IP}/32"), "dev", LINK])
        .expect("remove the address");
    assert_eq!(bed.our_rules().len(), installed.len() - 2);

    setup.resync().expect("resync");
    let mut now = bed.our_rules();
    let mut before = installed.clone();
    now.sort();
    before.sort();
    assert_eq!(now, before);
    assert!(bed.addresses(LINK).contains(LISTEN_IP));
    setup.teardown();
    assert!(bed.our_rules().is_empty());
    assert!(!bed.addresses(LINK).contains(LISTEN_IP));
}

#[test]
fn the_first_of_two_instances_to_stop_leaves_everything_to_the_second() {
    if !require_netns("the_first_of_two_instances_to_stop_leaves_everything_to_the_second") {
        return;
    }
    let bed = Bed::new();
    bed.add_veth_link();
    let both = config(Some(LINK), true);
    let mut old = NodeSetup::prepare_in(&both, &bed.env()).expect("old instance");
    old.install_rules().expect("old rules");
    // The surge pod starts beside the old one and finds everything in place.
    let mut new = NodeSetup::prepare_in(&both, &bed.env()).expect("new instance");
    new.install_rules().expect("new rules");
    assert_eq!(bed.our_rules().len(), 12, "no duplicates");

    old.teardown();
    assert_eq!(bed.our_rules().len(), 12, "kept for the new instance");
    assert!(bed.addresses(LINK).contains(LISTEN_IP));
    new.resync().expect("the survivor still owns the setup");

    // The new instance did not add the address itself, yet as the last one it removes it:
    // the state file says nodecache did.
    new.teardown();
    assert!(bed.our_rules().is_empty(), "{:#?}", bed.our_rules());
    assert!(!bed.addresses(LINK).contains(LISTEN_IP));
}

#[test]
fn bad_settings_fail_before_touching_the_node() {
    let run_dir = tempfile::tempdir().unwrap();
    let env = SetupEnv {
        // Never used: validation fails first.
        netns: Some("nodecache-no-such-netns".to_owned()),
        run_dir: run_dir.path().to_owned(),
    };
    for name in ["", "a-name-longer-than-15", "a/b", "a b", ".."] {
        let error = NodeSetup::prepare_in(&config(Some(name), false), &env).unwrap_err();
        assert!(error.is_usage(), "{name:?}: {error}");
    }
    let wildcard = ServeConfig {
        listen: vec!["0.0.0.0:53".parse().unwrap()],
        ..config(None, true)
    };
    let error = NodeSetup::prepare_in(&wildcard, &env).unwrap_err();
    assert!(
        matches!(error, SetupError::WildcardAddress { .. }),
        "{error}"
    );
    assert_eq!(std::fs::read_dir(run_dir.path()).unwrap().count(), 0);
    // No setup asked: inert, no lock file.
    let inert = NodeSetup::prepare_in(&ServeConfig::default(), &env).unwrap();
    inert.teardown();
    assert_eq!(std::fs::read_dir(run_dir.path()).unwrap().count(), 0);
}

/// Splits an `iptables-save` rule into words, honouring its double quotes (`--comment "a b"`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}
