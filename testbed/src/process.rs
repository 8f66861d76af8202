//! Running commands with a bound on their run time, using only `std::process`.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// What a finished command produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The command line, for messages.
    pub command: String,
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output (lossy UTF-8).
    pub stdout: String,
    /// Its standard error (lossy UTF-8).
    pub stderr: String,
    /// Wall-clock time from spawn to exit, including `ip netns exec`'s own start-up.
    pub elapsed: Duration,
}

impl RunOutput {
    /// The exit code, `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// True on exit code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// `Ok(self)` on success, otherwise [`Error::Command`] with the stderr.
    pub fn ok(self) -> Result<Self> {
        if self.success() {
            Ok(self)
        } else {
            Err(Error::Command {
                command: self.command,
                status: self.status.to_string(),
                stderr: self.stderr.trim().to_owned(),
            })
        }
    }
}

/// The command line of `cmd` as one string, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `cmd` to completion with stdin closed and stdout/stderr captured. A command still
/// running after `timeout` is killed (SIGKILL) and reported as [`Error::Timeout`].
pub fn run(mut cmd: Command, timeout: Duration) -> Result<RunOutput> {
    let command = describe(&cmd);
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("spawning `{command}`"), e))?;
    // Both pipes are drained by threads so a chatty child never blocks on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = match wait_timeout(&mut child, timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            // Killing and reaping cannot meaningfully fail here: the child is ours and alive.
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Timeout {
                what: command,
                after: timeout,
            });
        }
        Err(e) => return Err(Error::io(format!("waiting for `{command}`"), e)),
    };
    let elapsed = start.elapsed();
    Ok(RunOutput {
        command,
        status,
        stdout: join_drain(stdout),
        stderr: join_drain(stderr),
        elapsed,
    })
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just ends the output early; the exit status still tells the story.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn join_drain(handle: Option<thread::JoinHandle<Vec<u8>>>) -> String {
    handle
        .and_then(|h| h.join().ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Waits for `child` to exit for at most `timeout`: `Ok(None)` if it is still running.
///
/// std has no timed wait, so this polls `try_wait` with a step that starts at 100 µs (short
/// commands are measured precisely) and grows to 5 ms; the loop is bounded by `timeout`.
pub(crate) fn wait_timeout(
    child: &mut Child,
    timeout: Duration,
) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    let mut step = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(step.min(deadline - now));
        step = (step * 2).min(Duration::from_millis(5));
    }
}

/// Sends `signal` (a name such as `TERM`) to process `pid` with the `kill` program.
pub(crate) fn send_signal(pid: u32, signal: &str) -> Result<()> {
    let mut cmd = Command::new("kill");
    cmd.arg("-s").arg(signal).arg(pid.to_string());
    run(cmd, Duration::from_secs(5))?.ok().map(drop)
}

/// Polls `condition` every `step` until it returns true or `timeout` passes; returns whether it
/// became true. The condition's own run time counts against the bound.
pub(crate) fn poll_until(
    timeout: Duration,
    step: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(step.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_captures_output_and_status() {
        let cases: &[(&str, Option<i32>, &str)] = &[
            ("echo hello", Some(0), "hello\n"),
            ("echo out; exit 3", Some(3), "out\n"),
            ("true", Some(0), ""),
        ];
        for (script, code, stdout) in cases {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(script);
            let out = run(cmd, Duration::from_secs(5)).expect("sh runs");
            assert_eq!(out.code(), *code, "{script}");
            assert_eq!(out.stdout, *stdout, "{script}");
        }
    }

    #[test]
    fn run_kills_a_command_past_its_timeout() {
        let mut cmd = Command::new("sleep");
        cmd.arg("10");
        let start = Instant::now();
        let err = run(cmd, Duration::from_millis(50)).expect_err("times out");
        assert!(err.is_timeout(), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn failed_command_reports_stderr() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo boom >&2; exit 1");
        let err = run(cmd, Duration::from_secs(5))
            .expect("runs")
            .ok()
            .expect_err("exit 1 is an error");
        assert!(err.to_string().contains("boom"), "{err}");
    }

    #[test]
    fn poll_until_is_bounded() {
        let mut calls = 0;
        assert!(!poll_until(
            Duration::from_millis(20),
            Duration::from_millis(5),
            || {
                calls += 1;
                false
            }
        ));
        assert!(calls >= 2);
        assert!(poll_until(
            Duration::from_secs(1),
            Duration::from_millis(1),
            || true
        ));
    }
}
