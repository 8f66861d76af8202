//! Reading a whole small file (configuration, `/proc`) in as few system calls as it takes.
//!
//! `std::fs::read_to_string` and `File::read_to_end` first ask the kernel for a size hint
//! (`statx`, then `lseek` for the position) and, for files that report size 0 like everything
//! in `/proc`, grow the buffer from a 32-octet probe (five `read`s for a 500-octet
//! `/proc/net/fib_trie`). A cold lookup reads seven such files, so that was ~30 of its ~90
//! system calls (issue 6). Here the caller passes the size it already knows (from the
//! `fstat` it does anyway, or 0), reads go through a page-sized buffer on the stack, and a
//! regular file up to a page takes one `read` when its size is known (the content: when a
//! read that asked for more stops short exactly there, the read that would return 0 is not
//! made) and two when it is not (the content and the end). Stopping at the known size misses
//! nothing a later look would not: a regular file's read stops short only at its end, so a
//! file that grew before the read returns more and is read to its end, and one that changes
//! afterwards has another size or mtime than the `fstat` its reader keeps for the next check.
//!
//! The stack buffer rather than a heap one: with musl's mallocng a fresh 4 KiB allocation is
//! a group of its own, `mmap`ed and faulted in on every call and `munmap`ed when freed.

use std::fs::File;
use std::io::{self, Read};

/// Bytes asked for per `read`: a page, what one `read` of a `/proc` seq_file returns at most.
pub const CHUNK: usize = 4096;

/// Reads `file` to its end, or to `expected` octets (its size as `fstat` reported it, 0 when
/// unknown), which also sizes the result up front (module docs). A file that grew meanwhile
/// is read to its end all the same.
pub fn read_whole(file: &mut File, expected: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    let mut chunk = [0u8; CHUNK];
    read_rest(file, expected, &mut chunk, &mut bytes)?;
    Ok(bytes)
}

/// Appends the rest of `file` to `bytes` through `chunk`, up to its end (module docs).
fn read_rest(
    file: &mut File,
    expected: u64,
    chunk: &mut [u8; CHUNK],
    bytes: &mut Vec<u8>,
) -> io::Result<()> {
    loop {
        match file.read(chunk) {
            Ok(0) => break,
            Ok(read) => {
                bytes.extend_from_slice(chunk.get(..read).unwrap_or_default());
                if at_known_end(bytes.len(), expected, read < CHUNK) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// After a read that ended with `len` octets in all: whether that is the end of the file,
/// known without another read: the file's size (`expected`, 0 when unknown) was reached by a
/// read that returned less than it asked for (`short`), which a regular file does at its end
/// only.
fn at_known_end(len: usize, expected: u64, short: bool) -> bool {
    short && expected > 0 && u64::try_from(len).is_ok_and(|len| len == expected)
}

/// Calls `with` on the whole content of `file` and returns what it returns. A file that fits
/// in one page is handed over from the stack buffer it was read into, with no heap allocation
/// at all (the parsers of a cold lookup only look at the text); a longer one is read on into
/// a heap buffer as [`read_whole`] does. Reads: one per started page plus the end, as there.
pub fn with_whole<R>(
    file: &mut File,
    expected: u64,
    with: impl FnOnce(&[u8]) -> R,
) -> io::Result<R> {
    let mut chunk = [0u8; CHUNK];
    let mut filled = 0;
    while let Some(rest) = chunk.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        let asked = rest.len();
        match file.read(rest) {
            Ok(0) => return Ok(with(chunk.get(..filled).unwrap_or_default())),
            Ok(read) => {
                filled += read;
                if at_known_end(filled, expected, read < asked) {
                    return Ok(with(chunk.get(..filled).unwrap_or_default()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // A full page: more may follow.
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).max(2 * CHUNK));
    bytes.extend_from_slice(&chunk);
    read_rest(file, expected, &mut chunk, &mut bytes)?;
    Ok(with(&bytes))
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
    fn a_file_that_grew_after_its_fstat_is_read_to_its_end() {
        let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
        tmp.write_all(b"first line\n").expect("write");
        let mut file = File::open(tmp.path()).expect("open");
        let sized = file.metadata().expect("fstat").len();
        tmp.write_all(b"second line\n").expect("write");
        let text = read_whole(&mut file, sized).expect("read");
        assert_eq!(text, b"first line\nsecond line\n");
        let mut file = File::open(tmp.path()).expect("open");
        let seen = with_whole(&mut file, sized, <[u8]>::to_vec).expect("read");
        assert_eq!(seen, b"first line\nsecond line\n");
        // Sized at exactly a page, grown to three before the read: a full first read is not
        // the end.
        let mut paged = tempfile::NamedTempFile::new().expect("temp file");
        paged.write_all(&[b'x'; CHUNK]).expect("write");
        let mut file = File::open(paged.path()).expect("open");
        let sized = file.metadata().expect("fstat").len();
        paged.write_all(&[b'y'; 2 * CHUNK]).expect("write");
        assert_eq!(read_whole(&mut file, sized).expect("read").len(), 3 * CHUNK);
        let mut file = File::open(paged.path()).expect("open");
        let seen = with_whole(&mut file, sized, <[u8]>::len).expect("read");
        assert_eq!(seen, 3 * CHUNK);
    }

    #[test]
    fn hands_over_files_below_and_above_a_page() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
            let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
            let text: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            tmp.write_all(&text).expect("write");
            for hint in [0, len as u64] {
                let mut file = File::open(tmp.path()).expect("open");
                let seen = with_whole(&mut file, hint, <[u8]>::to_vec).expect("read");
                assert_eq!(seen, text, "length {len}, hint {hint}");
            }
        }
    }

    #[test]
    fn reads_proc_files_that_report_size_zero() {
        let mut file = File::open("/proc/self/status").expect("open");
        assert_eq!(file.metadata().expect("fstat").len(), 0);
        let text = read_whole(&mut file, 0).expect("read");
        assert!(text.starts_with(b"Name:"));
    }
}
