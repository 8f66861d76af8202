//! `NODECACHE_LOG=info|debug`: one line per event on stderr.
//!
//! Lines are formatted into a stack buffer and written with one `write(2)` to fd 2, so logging
//! never allocates, never takes stdio's lock and never interleaves within a line. When the
//! variable is unset (or any other value) nothing is ever written.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Level {
    /// Bypass decisions, failures, caught panics.
    Info = 1,
    /// Every call and every question asked.
    Debug = 2,
}

const UNREAD: u8 = u8::MAX;
const OFF: u8 = 0;

static LEVEL: AtomicU8 = AtomicU8::new(UNREAD);

/// Parses the value of `NODECACHE_LOG`.
fn parse_level(value: Option<&std::ffi::OsStr>) -> u8 {
    match value.and_then(|v| v.to_str()).map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("debug") => Level::Debug as u8,
        Some(v) if v.eq_ignore_ascii_case("info") => Level::Info as u8,
        _ => OFF,
    }
}

/// True when lines of `level` are written. Reads the environment once per process.
#[inline]
pub(crate) fn enabled(level: Level) -> bool {
    let mut current = LEVEL.load(Ordering::Relaxed);
    if current == UNREAD {
        current = parse_level(std::env::var_os("NODECACHE_LOG").as_deref());
        LEVEL.store(current, Ordering::Relaxed);
    }
    current >= level as u8
}

/// A line being built on the stack; text past its capacity is cut (the line says so).
struct LineBuffer {
    bytes: [u8; 512],
    len: usize,
    truncated: bool,
}

impl fmt::Write for LineBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Keep one byte for the newline.
        let room = self.bytes.len() - 1 - self.len;
        let take = text.len().min(room);
        if take < text.len() {
            self.truncated = true;
        }
        if let (Some(dest), Some(src)) = (
            self.bytes.get_mut(self.len..self.len + take),
            text.as_bytes().get(..take),
        ) {
            dest.copy_from_slice(src);
            self.len += take;
        }
        Ok(())
    }
}

/// Writes one line `nodecache[pid]: <args>` to stderr.
pub(crate) fn write_line(args: fmt::Arguments<'_>) {
    let mut line = LineBuffer {
        bytes: [0; 512],
        len: 0,
        truncated: false,
    };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let _ = write!(line, "nodecache[{pid}]: ");
    let _ = line.write_fmt(args);
    if line.truncated {
        let keep = line.bytes.len() - 5;
        line.len = line.len.min(keep);
        let _ = line.write_str("...");
    }
    if let Some(end) = line.bytes.get_mut(line.len) {
        *end = b'\n';
        line.len += 1;
    }
    let mut written = 0;
    while let Some(rest) = line.bytes.get(written..line.len) {
        if rest.is_empty() {
            break;
        }
        // SAFETY: `rest` is a valid initialised buffer of `rest.len()` bytes.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            break;
        }
        written += n as usize;
    }
}

/// Logs at `Info` or `Debug` when enabled: `shim_log!(Debug, "x = {}", x)`.
macro_rules! shim_log {
    ($level:ident, $($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            $crate::log::write_line(format_args!($($arg)*));
        }
    };
}
pub(crate) use shim_log;

/// Called by [`ffi_boundary!`](crate::ffi_boundary) after catching a panic.
#[doc(hidden)]
pub fn panic_caught() {
    shim_log!(
        Info,
        "caught a panic inside the shim; this call goes to libc"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn levels_parse_and_anything_else_is_off() {
        let cases = [
            (Some("debug"), Level::Debug as u8),
            (Some("DEBUG"), Level::Debug as u8),
            (Some("info"), Level::Info as u8),
            (Some(" info\n"), Level::Info as u8),
            (Some("trace"), OFF),
            (Some(""), OFF),
            (None, OFF),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_level(value.map(OsStr::new)), expected, "{value:?}");
        }
    }

    #[test]
    fn long_lines_are_cut_within_the_buffer() {
        let mut line = LineBuffer {
            bytes: [0; 512],
            len: 0,
            truncated: false,
        };
        let long = "x".repeat(2000);
        let _ = line.write_str(&long);
        assert!(line.truncated);
        assert_eq!(line.len, 511);
    }
}
