//! The test bed's error type.

use std::time::Duration;

/// Why building or driving the test bed failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A program could not be started or talked to.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, as printed by std.
        status: String,
        /// What it wrote on stderr (trimmed).
        stderr: String,
    },
    /// A command or a wait did not finish in time.
    #[error("`{what}` did not finish within {after:?}")]
    Timeout {
        /// The command line or the condition waited for.
        what: String,
        /// The bound that was exceeded.
        after: Duration,
    },
    /// A daemon (nsd, tcpdump) exited or never became ready.
    #[error("{daemon} not ready: {detail}")]
    NotReady {
        /// Which daemon.
        daemon: &'static str,
        /// What was seen (exit status, log tail).
        detail: String,
    },
    /// A tool ran but its output was not what it should print.
    #[error("{tool}: unexpected output: {detail}")]
    BadOutput {
        /// Which tool.
        tool: &'static str,
        /// Exit status and output.
        detail: String,
    },
    /// A file the tests need (a build artifact) is not there.
    #[error("missing {what}: build it with `{hint}`")]
    Missing {
        /// What is missing, with the places searched.
        what: String,
        /// The command that makes it.
        hint: String,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the error is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}
