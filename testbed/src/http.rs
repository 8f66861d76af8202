//! A tiny web server in a namespace (`python3 -m http.server`), for fetching a page from a
//! server found by name (the shim's curl test).

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::netns::ADMIN_TIMEOUT;
use crate::process::{describe, poll_until, run, wait_timeout};
use crate::{Error, Netns, Result};

/// How long the server gets to start answering.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Poll step for readiness (each poll runs curl).
const READY_STEP: Duration = Duration::from_millis(20);

/// `python3 -m http.server --bind ADDR PORT` serving one `index.html` from a temporary
/// directory. Killed on drop.
#[derive(Debug)]
pub struct HttpServer {
    child: Child,
    addr: Ipv4Addr,
    port: u16,
    _dir: tempfile::TempDir,
}

impl HttpServer {
    /// Starts the server in `ns` on `addr:port` (the address must be on one of `ns`'s
    /// interfaces) serving `body` as `/`; returns once it answers (checked with curl from `ns`).
    pub fn start(ns: &Netns, addr: Ipv4Addr, port: u16, body: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nodecache-http-")
            .tempdir()
            .map_err(|e| Error::io("creating the web root", e))?;
        let index = dir.path().join("index.html");
        std::fs::write(&index, body)
            .map_err(|e| Error::io(format!("writing {}", index.display()), e))?;
        let mut cmd = ns.command("python3");
        cmd.args(["-m", "http.server", "--bind", &addr.to_string()])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let command = describe(&cmd);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning `{command}`"), e))?;
        let mut server = Self {
            child,
            addr,
            port,
            _dir: dir,
        };
        let netns = ns.name().to_owned();
        let url = server.url_for(&addr.to_string());
        let mut exited = None;
        let ready = poll_until(READY_TIMEOUT, READY_STEP, || {
            if let Ok(Some(status)) = server.child.try_wait() {
                exited = Some(status);
                return true;
            }
            fetch_in(&netns, &url).is_ok_and(|page| page == body)
        });
        match (exited, ready) {
            (Some(status), _) => Err(Error::NotReady {
                daemon: "python3 -m http.server",
                detail: format!("exited ({status})"),
            }),
            (None, false) => Err(Error::NotReady {
                daemon: "python3 -m http.server",
                detail: format!("{url} not served within {READY_TIMEOUT:?}"),
            }),
            (None, true) => Ok(server),
        }
    }

    /// `http://<host>:<port>/`.
    pub fn url_for(&self, host: &str) -> String {
        format!("http://{host}:{}/", self.port)
    }

    /// The address it listens on.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = wait_timeout(&mut self.child, ADMIN_TIMEOUT);
    }
}

/// The page at `url`, fetched with curl in namespace `netns` (no proxy, 2 s bound).
fn fetch_in(netns: &str, url: &str) -> Result<String> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns, "curl", "-sS", "--noproxy", "*"])
        .args(["--max-time", "2", url]);
    Ok(run(cmd, ADMIN_TIMEOUT)?.ok()?.stdout)
}
