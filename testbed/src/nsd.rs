//! NSD, the authoritative server from Debian's package, run in the foreground in a namespace.

use std::fmt::Write as _;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::netns::ADMIN_TIMEOUT;
use crate::process::{describe, poll_until, run, send_signal, wait_timeout};
use crate::{Error, Netns, Result};

/// How long NSD gets to answer its first query (it reads the zone first), and to stop.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Poll step for readiness: each step runs `dig`, which itself takes a few ms.
const READY_STEP: Duration = Duration::from_millis(5);

/// `nsd -d` serving one zone file for the root zone "." on port 53 of the given addresses,
/// with everything it writes (config, zone, pid file, xfrd state, log) in a temporary directory.
/// Killed on drop.
#[derive(Debug)]
pub struct Nsd {
    netns: String,
    addrs: Vec<Ipv4Addr>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Nsd {
    /// Writes the config and `zone` (the text of the root zone) and starts NSD in `ns`, listening
    /// on `addrs` port 53; returns once it answers on every address.
    pub fn start_in(ns: &Netns, addrs: &[Ipv4Addr], zone: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nodecache-nsd-")
            .tempdir()
            .map_err(|e| Error::io("creating NSD's directory", e))?;
        let root = dir.path();
        write(&root.join("root.zone"), zone)?;
        write(&root.join("nsd.conf"), &config(root, addrs))?;
        let mut nsd = Self {
            netns: ns.name().to_owned(),
            addrs: addrs.to_vec(),
            dir,
            child: None,
        };
        nsd.start()?;
        Ok(nsd)
    }

    /// The addresses NSD listens on.
    pub fn addrs(&self) -> &[Ipv4Addr] {
        &self.addrs
    }

    /// The directory with `nsd.conf`, `root.zone` and `nsd.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What NSD logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default()
    }

    /// True while NSD runs (between [`Nsd::start`] and [`Nsd::stop`]).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts NSD (again) and waits until it answers on every address. No-op when running.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = File::create(self.dir.path().join("nsd.log"))
            .map_err(|e| Error::io("creating nsd.log", e))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, "nsd", "-d", "-c"])
            .arg(self.dir.path().join("nsd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let command = describe(&cmd);
        // `ip netns exec` execs nsd in place, so the child's pid is NSD's main process, which
        // forwards SIGTERM to its xfrd and server processes.
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning `{command}`"), e))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Stops NSD (SIGTERM, SIGKILL after 5 s) and waits until no address answers any more, so a
    /// following [`Nsd::start`] can bind again. No-op when stopped.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // If the signal cannot be sent NSD has already exited; the wait below tells.
        let _ = send_signal(child.id(), "TERM");
        let exited = wait_timeout(&mut child, READY_TIMEOUT)
            .map_err(|e| Error::io("waiting for nsd to exit", e))?;
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // NSD's server process may outlive the main one by a moment; wait until it is gone.
        let silent = poll_until(READY_TIMEOUT, READY_STEP, || {
            self.addrs.iter().all(|a| !self.answers(*a))
        });
        if silent {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: "nsd to stop answering".to_owned(),
                after: READY_TIMEOUT,
            })
        }
    }

    /// Polls (bounded) until every address answers a SOA query for ".".
    fn wait_ready(&mut self) -> Result<()> {
        let addrs = self.addrs.clone();
        let mut exited = None;
        let ready = poll_until(READY_TIMEOUT, READY_STEP, || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                exited = Some(status);
                return true;
            }
            addrs.iter().all(|a| self.answers(*a))
        });
        if let Some(status) = exited {
            self.child = None;
            return Err(Error::NotReady {
                daemon: "nsd",
                detail: format!("exited ({status}); log:\n{}", self.log()),
            });
        }
        if !ready {
            let _ = self.stop();
            return Err(Error::NotReady {
                daemon: "nsd",
                detail: format!("no answer within {READY_TIMEOUT:?}; log:\n{}", self.log()),
            });
        }
        Ok(())
    }

    /// True when `addr` gives an authoritative answer (one try, 1 s at most; a closed port is
    /// refused at once).
    fn answers(&self, addr: Ipv4Addr) -> bool {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.netns,
            "dig",
            "+norec",
            "+tries=1",
            "+time=1",
        ])
        .arg(format!("@{addr}"))
        .args([".", "SOA"]);
        run(cmd, ADMIN_TIMEOUT).is_ok_and(|out| out.stdout.contains("status: NOERROR"))
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = send_signal(child.id(), "TERM");
            if !matches!(wait_timeout(&mut child, READY_TIMEOUT), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// nsd.conf(5) for a throw-away server: no privilege drop, no chroot, no database, every state
/// file in `dir`, one server process, and response rate limiting off (NSD's default RRL of
/// 200 answers/s per /24 would drop the load tests' answers and look like packet loss).
fn config(dir: &Path, addrs: &[Ipv4Addr]) -> String {
    let d = |file: &str| -> PathBuf { dir.join(file) };
    let mut conf = String::from("server:\n");
    for addr in addrs {
        let _ = writeln!(conf, "  ip-address: {addr}");
    }
    let _ = write!(
        conf,
        "  port: 53
  username: \"\"
  chroot: \"\"
  zonesdir: \"{dir}\"
  database: \"\"
  zonelistfile: \"{zonelist}\"
  xfrdfile: \"{xfrd}\"
  xfrdir: \"{dir}\"
  pidfile: \"{pid}\"
  server-count: 1
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: \".\"
  zonefile: \"{zone}\"
",
        dir = dir.display(),
        zonelist = d("zone.list").display(),
        xfrd = d("xfrd.state").display(),
        pid = d("nsd.pid").display(),
        zone = d("root.zone").display(),
    );
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keeps_every_file_in_its_directory() {
        let dir = Path::new("/tmp/nodecache-nsd-x");
        let conf = config(
            dir,
            &[Ipv4Addr::new(198, 18, 0, 53), Ipv4Addr::new(198, 18, 0, 54)],
        );
        for wanted in [
            "ip-address: 198.18.0.53\n",
            "ip-address: 198.18.0.54\n",
            "rrl-ratelimit: 0\n",
            "username: \"\"\n",
            "database: \"\"\n",
            "name: \".\"\n",
        ] {
            assert!(conf.contains(wanted), "missing {wanted:?} in\n{conf}");
        }
        for line in conf.lines().filter(|l| l.contains('/')) {
            assert!(
                line.contains("/tmp/nodecache-nsd-x"),
                "file outside dir: {line}"
            );
        }
    }
}
