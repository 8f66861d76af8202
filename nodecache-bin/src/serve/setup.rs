//! Node setup like node-cache (SPEC §5): the dummy interface holding the listen IPs and the
//! iptables NOTRACK/ACCEPT rules, re-checked every sync interval, removed on exit unless
//! `--skip-teardown` (and never while another instance still uses them).
//! SKELETON: the setup work fills this in.

use crate::serve::config::ServeConfig;

/// Why node setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SetupError {
    /// Placeholder.
    #[error("node setup is not implemented yet")]
    Unsupported,
}

/// What this instance set up on the node.
#[derive(Debug, Default)]
pub(crate) struct NodeSetup {}

impl NodeSetup {
    /// Before binding: creates the interface holding the listen IPs, if asked.
    pub(crate) fn prepare(config: &ServeConfig) -> Result<NodeSetup, SetupError> {
        if config.setup_interface.is_some() || config.setup_iptables {
            return Err(SetupError::Unsupported);
        }
        Ok(NodeSetup {})
    }

    /// After the listeners serve: installs the iptables rules, if asked.
    pub(crate) fn install_rules(&mut self) -> Result<(), SetupError> {
        Ok(())
    }

    /// Every sync interval: puts back anything removed behind our back.
    pub(crate) fn resync(&mut self) -> Result<(), SetupError> {
        Ok(())
    }

    /// On exit: removes what `prepare` and `install_rules` added, unless `--skip-teardown`
    /// or another instance still uses it.
    pub(crate) fn teardown(self) {}
}
