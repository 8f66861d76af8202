//! Domain names on the wire (RFC 1035 §3.1, §4.1.4): walking labels through compression
//! pointers, comparing names without allocating, and turning one into text.
//!
//! Every read is bounds-checked. Loops are impossible by construction: a pointer must point
//! strictly before the start of the label run that contains it, so each jump goes further back
//! and the walk ends (the jump count and the 255-octet limit are belt and braces).

use super::WireError;

/// Longest name on the wire, length octets and root included (RFC 1035 §2.3.4).
const MAX_WIRE_NAME: usize = 255;
/// More jumps than a legal name can need (each jump must land on at least one label).
const MAX_JUMPS: usize = 127;

/// Reads the labels of the name that starts at `start`, one at a time.
#[derive(Debug)]
pub(super) struct Labels<'a> {
    msg: &'a [u8],
    /// Where the next length octet is read.
    pos: usize,
    /// Where the current run of labels began: the next pointer must target below it.
    run_start: usize,
    /// Position just after the name in the original stream, once known.
    end: Option<usize>,
    jumps: usize,
    wire_len: usize,
    finished: bool,
}

impl<'a> Labels<'a> {
    pub(super) fn new(msg: &'a [u8], start: usize) -> Self {
        Labels {
            msg,
            pos: start,
            run_start: start,
            end: None,
            jumps: 0,
            wire_len: 0,
            finished: false,
        }
    }

    /// The next label, `None` at the root label, or why the name is malformed.
    pub(super) fn next_label(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let len = *self.msg.get(self.pos).ok_or(WireError::ShortMessage)?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    self.wire_len += 1;
                    self.end.get_or_insert(self.pos + 1);
                    self.finished = true;
                    return Ok(None);
                }
                0x00 => {
                    let len = usize::from(len);
                    self.wire_len += len + 1;
                    // The root octet still has to fit after this label.
                    if self.wire_len + 1 > MAX_WIRE_NAME {
                        return Err(WireError::BadName);
                    }
                    let first = self.pos + 1;
                    let label = self
                        .msg
                        .get(first..first + len)
                        .ok_or(WireError::ShortMessage)?;
                    self.pos = first + len;
                    return Ok(Some(label));
                }
                0xC0 => {
                    let low = *self.msg.get(self.pos + 1).ok_or(WireError::ShortMessage)?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                    self.end.get_or_insert(self.pos + 2);
                    self.jumps += 1;
                    if target >= self.run_start || self.jumps > MAX_JUMPS {
                        return Err(WireError::BadPointer);
                    }
                    self.pos = target;
                    self.run_start = target;
                }
                // 0b01 and 0b10: extended label types (RFC 6891 §5) are not in use.
                _ => return Err(WireError::BadName),
            }
        }
    }

    /// Position just after the name in the stream it started in; valid once the walk returned `None`.
    pub(super) fn end(&self) -> usize {
        self.end.unwrap_or(self.pos)
    }
}

/// Validates the name at `start` and returns the position after it.
pub(super) fn skip_name(msg: &[u8], start: usize) -> Result<usize, WireError> {
    let mut labels = Labels::new(msg, start);
    while labels.next_label()?.is_some() {}
    Ok(labels.end())
}

/// Compares the name at `start` with presentation text (one trailing dot allowed, no escapes),
/// ASCII case-insensitively (RFC 4343 §3). Returns the match and the position after the name;
/// the whole name is always validated.
pub(super) fn eq_text(msg: &[u8], start: usize, text: &str) -> Result<(bool, usize), WireError> {
    let text = text.strip_suffix('.').unwrap_or(text);
    let mut expected = (!text.is_empty()).then(|| text.split('.'));
    let mut labels = Labels::new(msg, start);
    let mut equal = true;
    loop {
        let got = labels.next_label()?;
        let want = expected.as_mut().and_then(Iterator::next);
        match (got, want) {
            (None, None) => break,
            (Some(g), Some(w)) => equal &= g.eq_ignore_ascii_case(w.as_bytes()),
            (None, Some(_)) => {
                equal = false;
                break;
            }
            (Some(_), None) => equal = false,
        }
    }
    Ok((equal, labels.end()))
}

/// Compares two names of the same message, ASCII case-insensitively.
pub(super) fn eq_wire(msg: &[u8], a: usize, b: usize) -> Result<bool, WireError> {
    if a == b {
        return skip_name(msg, a).map(|_| true);
    }
    let mut left = Labels::new(msg, a);
    let mut right = Labels::new(msg, b);
    loop {
        match (left.next_label()?, right.next_label()?) {
            (None, None) => return Ok(true),
            (Some(l), Some(r)) if l.eq_ignore_ascii_case(r) => {}
            _ => return Ok(false),
        }
    }
}

/// The name at `start` in presentation form without the trailing dot (`""` for the root).
/// Octets that would be ambiguous in text are escaped as RFC 1035 §5.1 says: `\.`, `\\`,
/// and `\DDD` for anything outside printable ASCII.
pub(super) fn to_text(msg: &[u8], start: usize) -> Result<String, WireError> {
    let mut out = String::new();
    let mut labels = Labels::new(msg, start);
    while let Some(label) = labels.next_label()? {
        if !out.is_empty() {
            out.push('.');
        }
        for &byte in label {
            match byte {
                b'.' | b'\\' => {
                    out.push('\\');
                    out.push(char::from(byte));
                }
                0x21..=0x7E => out.push(char::from(byte)),
                _ => {
                    out.push('\\');
                    out.push(char::from(b'0' + byte / 100));
                    out.push(char::from(b'0' + byte / 10 % 10));
                    out.push(char::from(b'0' + byte % 10));
                }
            }
        }
    }
    Ok(out)
}

/// Appends `name` (presentation text, no escapes, one trailing dot allowed) in uncompressed
/// wire form. Rejects the empty name, empty labels, labels over 63 octets and names over
/// 255 octets on the wire (RFC 1035 §2.3.4).
pub(super) fn encode(buf: &mut Vec<u8>, name: &str) -> Result<(), WireError> {
    let body = name.strip_suffix('.').unwrap_or(name);
    // Each label costs its length plus one octet, and the root one more: body + 2.
    if body.is_empty() || body.len() + 2 > MAX_WIRE_NAME {
        return Err(WireError::InvalidName);
    }
    for label in body.split('.') {
        let len = u8::try_from(label.len()).map_err(|_| WireError::InvalidName)?;
        if len == 0 || len > 63 {
            return Err(WireError::InvalidName);
        }
        buf.push(len);
        buf.extend_from_slice(label.as_bytes());
    }
    buf.push(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 filler octets (a header), then `www.Example.com` at 12 and `mail` + pointer at 29.
    fn sample() -> Vec<u8> {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(b"\x03www\x07Example\x03com\x00");
        msg.extend_from_slice(b"\x04mail\xC0\x10");
        msg
    }

    #[test]
    fn walks_plain_and_compressed_names() {
        let msg = sample();
        assert_eq!(skip_name(&msg, 12), Ok(29));
        assert_eq!(skip_name(&msg, 29), Ok(msg.len()));
        assert_eq!(to_text(&msg, 12).as_deref(), Ok("www.Example.com"));
        assert_eq!(to_text(&msg, 29).as_deref(), Ok("mail.Example.com"));
        assert_eq!(eq_text(&msg, 12, "WWW.example.COM."), Ok((true, 29)));
        assert_eq!(eq_text(&msg, 12, "www.example"), Ok((false, 29)));
        assert_eq!(eq_text(&msg, 12, "www.example.com.org"), Ok((false, 29)));
        assert_eq!(eq_text(&msg, 29, "mail.example.com"), Ok((true, msg.len())));
        // 34 is the pointer inside `mail.Example.com`: the name `Example.com` at 16 again.
        assert_eq!(eq_wire(&msg, 16, 34), Ok(true));
        assert_eq!(eq_wire(&msg, 12, 29), Ok(false));
    }

    #[test]
    fn rejects_malformed_names() {
        let cases: &[(&[u8], WireError)] = &[
            (b"\x03ww", WireError::ShortMessage),
            (b"\x03www", WireError::ShortMessage),
            (b"\xC0", WireError::ShortMessage),
            // Pointer to itself, and forward.
            (b"\xC0\x00", WireError::BadPointer),
            (b"\xC0\x05\x00\x00\x00\x00", WireError::BadPointer),
            // Two pointers bouncing between each other: a at 0 -> 2, b at 2 -> 0.
            (b"\x01a\xC0\x00", WireError::BadPointer),
            (b"\x40abc", WireError::BadName),
            (b"\x80abc", WireError::BadName),
        ];
        for (msg, want) in cases {
            assert_eq!(skip_name(msg, 0), Err(*want), "{msg:?}");
            assert_eq!(to_text(msg, 0).map(|_| ()), Err(*want), "{msg:?}");
        }
    }

    #[test]
    fn pointer_loop_after_backward_jump_is_caught() {
        // Label run at 2 ("b") then a pointer at 4 back to 2: strictly backward from the
        // pointer, but not below the run it belongs to, so it would loop.
        let msg = b"\x01a\x01b\xC0\x02";
        assert_eq!(skip_name(msg, 0), Err(WireError::BadPointer));
    }

    #[test]
    fn name_longer_than_255_octets_is_rejected() {
        let mut msg = Vec::new();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(skip_name(&msg, 0), Err(WireError::BadName));
        // 4 × 64 = 256 > 255 with the root too; 3 × 64 + 61 + 1 + 1 = 255 fits.
        let mut ok = Vec::new();
        for _ in 0..3 {
            ok.push(63);
            ok.extend_from_slice(&[b'a'; 63]);
        }
        ok.push(61);
        ok.extend_from_slice(&[b'a'; 61]);
        ok.push(0);
        assert_eq!(ok.len(), 255);
        assert_eq!(skip_name(&ok, 0), Ok(255));
    }

    #[test]
    fn escapes_special_octets_in_text() {
        let msg = b"\x03a.b\x02\\\x01\x02\x20z\x00";
        assert_eq!(to_text(msg, 0).as_deref(), Ok("a\\.b.\\\\\\001.\\032z"));
    }

    #[test]
    fn encodes_names() {
        let long_label = "a".repeat(64);
        let max_name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(61));
        let too_long = format!("{max_name}a");
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("example.com", Some(b"\x07example\x03com\x00")),
            ("example.com.", Some(b"\x07example\x03com\x00")),
            ("a", Some(b"\x01a\x00")),
            ("", None),
            (".", None),
            ("a..b", None),
            (".a", None),
            ("a.b..", None),
            (&long_label, None),
            (&too_long, None),
        ];
        for (name, want) in cases {
            let mut buf = Vec::new();
            let got = encode(&mut buf, name).map(|()| buf);
            assert_eq!(got.ok().as_deref(), *want, "{name}");
        }
        let mut buf = Vec::new();
        assert_eq!(encode(&mut buf, &max_name), Ok(()));
        assert_eq!(buf.len(), 255);
    }
}
