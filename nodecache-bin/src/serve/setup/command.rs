//! Running the node's own tools (`ip`, `iptables`, `ip6tables`) and turning their failures
//! into one-line [`SetupError`]s that carry the tool's stderr.

use std::process::{Command, Output};

use super::SetupError;

/// Runs the setup commands, on the host or inside a named network namespace.
///
/// In production `netns` is `None` and the programs run as they are (the DaemonSet pod has
/// `hostNetwork: true`, so its namespace is the node's). Tests set `netns` to a namespace they
/// created, and every command becomes `ip netns exec NAME program args…`, so the unit tests
/// can exercise [`super::NodeSetup`] without touching the host's interfaces or rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct Runner {
    /// Network namespace to run the commands in (`ip netns exec`); `None` = this process's.
    pub(crate) netns: Option<String>,
}

/// What a command printed when it exited 0.
#[derive(Debug)]
pub(crate) struct Success {
    /// Standard output, lossily decoded.
    pub(crate) stdout: String,
}

impl Runner {
    /// Runs `program args…`; `Ok` only when it exits 0.
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> Result<Success, SetupError> {
        let output = self.output(program, args)?;
        if output.status.success() {
            return Ok(Success {
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            });
        }
        Err(command_error(program, args, &output))
    }

    /// Runs `program args…` as a yes/no question (`iptables -C`, `ip link show`): `Ok(true)`
    /// on exit 0, `Ok(false)` on exit `no_code`, an error on anything else (the tool itself
    /// failed: missing table, no permission, lock timeout).
    pub(crate) fn check(
        &self,
        program: &str,
        args: &[&str],
        no_code: i32,
    ) -> Result<bool, SetupError> {
        let output = self.output(program, args)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(code) if code == no_code => Ok(false),
            _ => Err(command_error(program, args, &output)),
        }
    }

    fn output(&self, program: &str, args: &[&str]) -> Result<Output, SetupError> {
        let mut command = match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, program]);
                command
            }
            None => Command::new(program),
        };
        command.args(args);
        // LC_ALL=C: the error texts we recognise ("Unknown device type") are the C locale's.
        command.env("LC_ALL", "C");
        command.output().map_err(|io| SetupError::Spawn {
            program: program.to_owned(),
            io,
        })
    }
}

/// A [`SetupError::Command`] for a failed run, stderr folded onto one line.
fn command_error(program: &str, args: &[&str], output: &Output) -> SetupError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    SetupError::Command {
        program: program.to_owned(),
        args: args.join(" "),
        status: output.status.code(),
        stderr,
    }
}
