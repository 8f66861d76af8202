//! Node setup like node-cache (SPEC §5, NOTES "Kubernetes node-cache"): a link holding the
//! listen IPs (`--setup-interface`) and the iptables NOTRACK/ACCEPT rules for them
//! (`--setup-iptables`), re-checked every sync interval, removed on exit unless
//! `--skip-teardown` — and never while another instance still uses them (SPEC §3).
//!
//! The daemon calls, in this order: [`NodeSetup::prepare`] before binding (the addresses must
//! exist to bind them), [`NodeSetup::install_rules`] once the listeners serve (node-cache's
//! order: traffic is steered to us only when we answer), [`NodeSetup::resync`] every
//! `sync_interval`, [`NodeSetup::teardown`] after draining. Every method runs `ip`/`iptables`
//! and blocks for milliseconds: call them outside the async workers (`spawn_blocking`).
//!
//! Files: `<run dir>/<key>.lock|.mutex|.state` (see `lock.rs`, `owned.rs`); the run directory
//! is `/run/nodecache`, or `$NODECACHE_RUN_DIR` when set (tests; hosts with another /run).

mod command;
mod error;
mod interface;
mod iptables;
mod lock;
mod owned;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::PathBuf;

use crate::serve::config::ServeConfig;
use command::Runner;
use interface::Link;
use iptables::Rule;
use lock::InstanceLock;
use owned::StateFile;

pub(crate) use error::SetupError;

/// Environment variable overriding the run directory (default [`DEFAULT_RUN_DIR`]).
pub(crate) const RUN_DIR_ENV: &str = "NODECACHE_RUN_DIR";
/// Where the lock and state files live: tmpfs, so a reboot forgets them with the rules.
pub(crate) const DEFAULT_RUN_DIR: &str = "/run/nodecache";

/// Where node setup acts: which namespace the tools run in and where the lock files live.
#[derive(Debug, Clone)]
pub(crate) struct SetupEnv {
    /// Run `ip`/`iptables` inside this network namespace (`ip netns exec`); tests only.
    pub(crate) netns: Option<String>,
    /// Lock and state files.
    pub(crate) run_dir: PathBuf,
}

impl SetupEnv {
    /// This process's namespace; the run directory from [`RUN_DIR_ENV`] or the default.
    pub(crate) fn from_process() -> SetupEnv {
        SetupEnv {
            netns: None,
            run_dir: std::env::var_os(RUN_DIR_ENV)
                .map_or_else(|| PathBuf::from(DEFAULT_RUN_DIR), PathBuf::from),
        }
    }
}

/// What this instance set up on the node. Inert (every method a no-op) when neither
/// `--setup-interface` nor `--setup-iptables` was given.
#[derive(Debug, Default)]
pub(crate) struct NodeSetup {
    active: Option<Active>,
}

/// The state of an instance that does node setup.
#[derive(Debug)]
struct Active {
    runner: Runner,
    lock: InstanceLock,
    state: StateFile,
    /// `--setup-interface`.
    interface: Option<String>,
    /// The listen IPs, each once.
    ips: Vec<IpAddr>,
    /// Every rule for every listen IP; empty without `--setup-iptables`.
    rules: Vec<Rule>,
    /// `install_rules` ran: from now on resync also puts rules back.
    rules_installed: bool,
    skip_teardown: bool,
}

impl NodeSetup {
    /// Before binding: creates the interface holding the listen IPs, if asked.
    pub(crate) fn prepare(config: &ServeConfig) -> Result<NodeSetup, SetupError> {
        NodeSetup::prepare_in(config, &SetupEnv::from_process())
    }

    /// [`NodeSetup::prepare`] with an explicit environment (tests: a namespace, a temp dir).
    pub(crate) fn prepare_in(
        config: &ServeConfig,
        env: &SetupEnv,
    ) -> Result<NodeSetup, SetupError> {
        if config.setup_interface.is_none() && !config.setup_iptables {
            return Ok(NodeSetup::default());
        }
        if let Some(name) = &config.setup_interface
            && !is_valid_link_name(name)
        {
            return Err(SetupError::InterfaceName { name: name.clone() });
        }
        let mut ips = Vec::new();
        for addr in &config.listen {
            if addr.ip().is_unspecified() {
                return Err(SetupError::WildcardAddress { addr: *addr });
            }
            if !ips.contains(&addr.ip()) {
                ips.push(addr.ip());
            }
        }
        let rules = if config.setup_iptables {
            config
                .listen
                .iter()
                .flat_map(|addr| iptables::rules_for(addr.ip(), addr.port(), config.metrics.port()))
                .fold(Vec::new(), |mut unique, rule| {
                    if !unique.contains(&rule) {
                        unique.push(rule);
                    }
                    unique
                })
        } else {
            Vec::new()
        };
        let key = lock::setup_key(config.setup_interface.as_deref(), &config.listen);
        let lock = InstanceLock::acquire(&env.run_dir, &key)?;
        let active = Active {
            runner: Runner {
                netns: env.netns.clone(),
            },
            lock,
            state: StateFile::new(&env.run_dir, &key),
            interface: config.setup_interface.clone(),
            ips,
            rules,
            rules_installed: false,
            skip_teardown: config.skip_teardown,
        };
        let prepared = active
            .lock
            .mutex()
            .and_then(|_mutex| active.ensure_interface(false));
        match prepared {
            Ok(()) => Ok(NodeSetup {
                active: Some(active),
            }),
            Err(error) => {
                // Leave nothing behind that this failed start created (unless another
                // instance uses it), whatever --skip-teardown says: this instance never served.
                active.remove_if_last();
                Err(error)
            }
        }
    }

    /// After the listeners serve: installs the iptables rules, if asked.
    pub(crate) fn install_rules(&mut self) -> Result<(), SetupError> {
        let Some(active) = &mut self.active else {
            return Ok(());
        };
        let _mutex = active.lock.mutex()?;
        active.rules_installed = true;
        active.ensure_rules(false)
    }

    /// Every sync interval: puts back anything removed behind our back, one log line per
    /// repair. Tries every item; returns the first failure.
    pub(crate) fn resync(&mut self) -> Result<(), SetupError> {
        let Some(active) = &self.active else {
            return Ok(());
        };
        let _mutex = active.lock.mutex()?;
        let interface = active.ensure_interface(true);
        let rules = if active.rules_installed {
            active.ensure_rules(true)
        } else {
            Ok(())
        };
        interface.and(rules)
    }

    /// On exit: removes what `prepare` and `install_rules` added, unless `--skip-teardown`
    /// or another instance still uses it.
    pub(crate) fn teardown(self) {
        let Some(active) = self.active else {
            return;
        };
        if active.skip_teardown {
            log(format_args!(
                "leaving {} in place (--skip-teardown)",
                active.what()
            ));
            return;
        }
        active.remove_if_last();
    }
}

impl Active {
    /// Makes sure the link exists, is up and holds every listen IP; records what it creates.
    fn ensure_interface(&self, repair: bool) -> Result<(), SetupError> {
        let Some(name) = &self.interface else {
            return Ok(());
        };
        let link = Link::new(&self.runner, name);
        let mut owned = self.state.load()?;
        if !link.exists()? {
            link.create_dummy()?;
            owned.link = Some(name.clone());
            owned.addrs.retain(|(_, on)| on != name);
            self.state.save(&owned)?;
            if repair {
                log(format_args!("re-created interface {name}"));
            }
        }
        link.set_up()?;
        let present = link.addresses()?;
        for &ip in self.ips.iter().filter(|ip| !present.contains(ip)) {
            link.add_address(ip)?;
            if !owned.addrs.contains(&(ip, name.clone())) {
                owned.addrs.push((ip, name.clone()));
                self.state.save(&owned)?;
            }
            if repair {
                log(format_args!("put back address {ip} on {name}"));
            }
        }
        Ok(())
    }

    /// Inserts every rule `-C` does not find.
    fn ensure_rules(&self, repair: bool) -> Result<(), SetupError> {
        let mut first_error = Ok(());
        for rule in &self.rules {
            let ensured = rule.is_present(&self.runner).and_then(|present| {
                if present {
                    return Ok(());
                }
                rule.insert(&self.runner)?;
                if repair {
                    log(format_args!("put back iptables rule: {rule}"));
                }
                Ok(())
            });
            if first_error.is_ok() {
                first_error = ensured;
            }
        }
        first_error
    }

    /// Tears down when no other instance holds the setup; logs why not otherwise.
    fn remove_if_last(self) {
        match self.lock.try_become_last() {
            Ok(true) => {}
            Ok(false) => {
                log(format_args!(
                    "another nodecache instance still uses {}: leaving it in place",
                    self.what()
                ));
                return;
            }
            Err(error) => {
                log(format_args!("not removing {}: {error}", self.what()));
                return;
            }
        }
        let _mutex = match self.lock.mutex() {
            Ok(mutex) => mutex,
            Err(error) => {
                log(format_args!("not removing {}: {error}", self.what()));
                return;
            }
        };
        self.remove();
    }

    /// Deletes our rules and whatever the state file says nodecache created. Best effort: a
    /// failure is logged and the rest still goes.
    fn remove(&self) {
        for rule in &self.rules {
            // Bounded: -D removes one copy; an administrator may have added a duplicate.
            for _ in 0..8 {
                match rule.is_present(&self.runner) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => {
                        log(format_args!("removing iptables rule: {error}"));
                        break;
                    }
                }
                if let Err(error) = rule.delete(&self.runner) {
                    log(format_args!("removing iptables rule: {error}"));
                    break;
                }
            }
        }
        let owned = match self.state.load() {
            Ok(owned) => owned,
            Err(error) => {
                log(format_args!("{error}: keeping any interface and addresses"));
                return;
            }
        };
        for (ip, on) in &owned.addrs {
            if owned.link.as_ref() == Some(on) {
                continue; // Goes with the link.
            }
            let link = Link::new(&self.runner, on);
            let held = link.addresses().is_ok_and(|held| held.contains(ip));
            if held && let Err(error) = link.remove_address(*ip) {
                log(format_args!("removing address {ip} from {on}: {error}"));
            }
        }
        if let Some(name) = &owned.link {
            let link = Link::new(&self.runner, name);
            if let Err(error) = link
                .exists()
                .and_then(|exists| if exists { link.delete() } else { Ok(()) })
            {
                log(format_args!("removing interface {name}: {error}"));
            }
        }
        if let Err(error) = self.state.save(&owned::Owned::default()) {
            log(format_args!("{error}"));
        }
    }

    /// "interface nodelocaldns and 24 iptables rules", for log lines.
    fn what(&self) -> String {
        match (&self.interface, self.rules.len()) {
            (Some(name), 0) => format!("interface {name}"),
            (Some(name), n) => format!("interface {name} and {n} iptables rules"),
            (None, n) => format!("{n} iptables rules"),
        }
    }
}

/// Linux's `dev_valid_name` (net/core/dev.c): 1 to IFNAMSIZ-1 (15) bytes, not `.` or `..`,
/// no `/`, `:` or whitespace.
fn is_valid_link_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// One line on stderr, prefixed like the daemon's other messages.
fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("nodecache serve: setup: {message}");
}
