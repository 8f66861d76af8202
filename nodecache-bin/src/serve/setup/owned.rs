//! What nodecache itself created on the node (a link, addresses), kept in `<key>.state` in the
//! run directory.
//!
//! Teardown must remove exactly what nodecache added and nothing an administrator made. Memory
//! alone is not enough: in a rolling update the old instance creates the link, the new one
//! finds it already there, the old one exits leaving it for the new one (see `lock.rs`), and
//! the new one — the last — must then remove a link it did not create. So the record lives in a
//! file every instance of the setup reads and updates (under the setup mutex). iptables rules
//! need no record: ours carry a `nodecache:` comment and are all removed by the last instance.

use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::SetupError;

/// The contents of a state file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Owned {
    /// The link nodecache created with `ip link add NAME type dummy`.
    pub(crate) link: Option<String>,
    /// Addresses nodecache added, with the link that holds them.
    pub(crate) addrs: Vec<(IpAddr, String)>,
}

/// Where one setup's state file is.
#[derive(Debug, Clone)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// `<run_dir>/<key>.state`.
    pub(crate) fn new(run_dir: &Path, key: &str) -> StateFile {
        StateFile {
            path: run_dir.join(format!("{key}.state")),
        }
    }

    /// The record; empty when the file does not exist. Lines it does not understand are
    /// skipped (a record from a newer version, or a damaged file, must not stop the daemon).
    pub(crate) fn load(&self) -> Result<Owned, SetupError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(io) if io.kind() == ErrorKind::NotFound => return Ok(Owned::default()),
            Err(io) => return Err(self.error(io)),
        };
        let mut owned = Owned::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("link"), Some(name), None) => owned.link = Some(name.to_owned()),
                (Some("addr"), Some(ip), Some(link)) => {
                    if let Ok(ip) = ip.parse() {
                        owned.addrs.push((ip, link.to_owned()));
                    }
                }
                _ => {}
            }
        }
        Ok(owned)
    }

    /// Replaces the record (write to a temporary file, then rename: a crash never leaves half
    /// a record); an empty record removes the file.
    pub(crate) fn save(&self, owned: &Owned) -> Result<(), SetupError> {
        if owned.link.is_none() && owned.addrs.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(io) if io.kind() != ErrorKind::NotFound => Err(self.error(io)),
                _ => Ok(()),
            };
        }
        let mut text = String::new();
        if let Some(link) = &owned.link {
            text.push_str(&format!("link {link}\n"));
        }
        for (ip, link) in &owned.addrs {
            text.push_str(&format!("addr {ip} {link}\n"));
        }
        let temporary = self.path.with_extension("state.new");
        std::fs::write(&temporary, text).map_err(|io| self.error(io))?;
        std::fs::rename(&temporary, &self.path).map_err(|io| self.error(io))
    }

    fn error(&self, io: std::io::Error) -> SetupError {
        SetupError::State {
            path: self.path.clone(),
            io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_a_round_trip_and_an_empty_one_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::new(dir.path(), "k");
        assert_eq!(state.load().unwrap(), Owned::default());
        let owned = Owned {
            link: Some("nodelocaldns".into()),
            addrs: vec![
                ("169.254.20.10".parse().unwrap(), "nodelocaldns".into()),
                ("fd00::a".parse().unwrap(), "nodelocaldns".into()),
            ],
        };
        state.save(&owned).unwrap();
        assert_eq!(state.load().unwrap(), owned);
        state.save(&Owned::default()).unwrap();
        assert!(!dir.path().join("k.state").exists());
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("k.state"),
            "addr not-an-ip x\nlink\nfuture thing\naddr 169.254.20.10 eth9\n",
        )
        .unwrap();
        let owned = StateFile::new(dir.path(), "k").load().unwrap();
        assert_eq!(owned.link, None);
        assert_eq!(
            owned.addrs,
            vec![("169.254.20.10".parse().unwrap(), "eth9".into())]
        );
    }
}
