//! Reading a whole small file (configuration, `/proc`) in as few system calls as it takes.
//!
//! `std::fs::read_to_string` and `File::read_to_end` first ask the kernel for a size hint
//! (`statx`, then `lseek` for the position) and, for files that report size 0 like everything
//! in `/proc`, grow the buffer from a 32-octet probe (five `read`s for a 500-octet
//! `/proc/net/fib_trie`). A cold lookup reads seven such files, so that was ~30 of its ~90
//! system calls (issue 6). Here the caller passes the size it already knows (from the
//! `fstat` it does anyway, or 0), the buffer starts one octet larger than that (at least
//! [`MIN_BUFFER`]), and a regular file takes exactly two `read`s: the content and the end.

use std::fs::File;
use std::io::{self, Read};

/// Smallest first buffer: a page, what one `read` of a `/proc` seq_file returns at most.
pub const MIN_BUFFER: usize = 4096;

/// Reads `file` to its end, `expected` (its size as `fstat` reported it, 0 when unknown)
/// sizing the first buffer. A file that grew meanwhile is read to its end all the same.
pub fn read_whole(file: &mut File, expected: u64) -> io::Result<Vec<u8>> {
    let first = usize::try_from(expected)
        .unwrap_or(usize::MAX)
        .saturating_add(1)
        .max(MIN_BUFFER);
    let mut bytes = vec![0u8; first];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(len.saturating_mul(2), 0);
        }
        let Some(free) = bytes.get_mut(len..) else {
            break;
        };
        match file.read(free) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(len);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn reads_files_smaller_and_larger_than_the_hint() {
        let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
        let text: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&text).expect("write");
        for hint in [0, 10, 10_000, 20_000] {
            let mut file = File::open(tmp.path()).expect("open");
            assert_eq!(
                read_whole(&mut file, hint).expect("read"),
                text,
                "hint {hint}"
            );
        }
        let empty = tempfile::NamedTempFile::new().expect("temp file");
        let mut file = File::open(empty.path()).expect("open");
        assert!(read_whole(&mut file, 0).expect("read").is_empty());
    }

    #[test]
    fn reads_proc_files_that_report_size_zero() {
        let mut file = File::open("/proc/self/status").expect("open");
        assert_eq!(file.metadata().expect("fstat").len(), 0);
        let text = read_whole(&mut file, 0).expect("read");
        assert!(text.starts_with(b"Name:"));
    }
}
