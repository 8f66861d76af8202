//! Domain names on the wire: the question name of a query (uncompressed, copied lower-cased
//! into a stack buffer) and skipping over possibly compressed names in responses.

/// Longest name in wire form, the root label included (RFC 1035 §2.3.4: 255 octets).
pub(crate) const MAX_NAME_WIRE_LEN: usize = 255;

/// Longest label (RFC 1035 §2.3.4: 63 octets).
const MAX_LABEL_LEN: u8 = 63;

/// The two top bits of a length octet that mark a compression pointer (RFC 1035 §4.1.4).
const POINTER_BITS: u8 = 0xc0;

/// A question name in wire form, ASCII lower-cased (RFC 4343: names compare without case),
/// held on the stack so parsing a query does not allocate.
#[derive(Clone, Copy)]
pub(crate) struct QueryName {
    bytes: [u8; MAX_NAME_WIRE_LEN],
    /// Bytes used; at least 1 (the root label).
    len: u8,
}

impl std::fmt::Debug for QueryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("QueryName")
            .field(&String::from_utf8_lossy(self.as_wire()))
            .finish()
    }
}

impl QueryName {
    /// The wire form: length-prefixed labels ending with the root's zero octet.
    pub(crate) fn as_wire(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The root name, to be filled in place by [`QueryName::read`].
    pub(crate) const ROOT: QueryName = QueryName {
        bytes: [0; MAX_NAME_WIRE_LEN],
        len: 1,
    };

    /// Reads the uncompressed name starting at `start`; returns it and the offset just past
    /// it. `None` for a compression pointer (a query's question is the first name of the
    /// message, so there is nothing earlier it could point to), a label over 63 octets, a
    /// name over 255 octets, or a name running off the end.
    pub(crate) fn parse(msg: &[u8], start: usize) -> Option<(QueryName, usize)> {
        let mut name = QueryName::ROOT;
        let end = name.read(msg, start)?;
        Some((name, end))
    }

    /// [`QueryName::parse`] into `self` (left as it was on `None`): a parsed query's name is
    /// read where it stays, not built aside and moved (255 octets) through two `Option`s.
    pub(crate) fn read(&mut self, msg: &[u8], start: usize) -> Option<usize> {
        // First the label structure, then one lower-casing copy of the whole name: a loop
        // per label cost more than the copy itself (callgrind, issue 6: ~100 instructions
        // less per query).
        let mut pos = start;
        loop {
            let label_len = *msg.get(pos)?;
            if label_len > MAX_LABEL_LEN {
                // 0x40 and 0x80 prefixes are reserved/obsolete (RFC 6891 §5), 0xc0 a pointer.
                return None;
            }
            pos = pos.checked_add(1 + usize::from(label_len))?;
            if pos - start > MAX_NAME_WIRE_LEN {
                return None;
            }
            if label_len == 0 {
                break;
            }
        }
        let wire = msg.get(start..pos)?;
        let len = u8::try_from(wire.len()).ok()?;
        let slot = self.bytes.get_mut(..wire.len())?;
        // Length octets are below 64 and so never ASCII letters: folding the whole name,
        // length octets included, changes only the letters.
        for (dst, src) in slot.iter_mut().zip(wire) {
            *dst = src.to_ascii_lowercase();
        }
        self.len = len;
        Some(pos)
    }
}

/// Skips the possibly compressed name starting at `start`; returns the offset just past it
/// (past the pointer, for a compressed name). Pointers are not followed: only the name's
/// extent in this place matters here.
pub(crate) fn skip_name(msg: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    // Each label is at least one octet and a name at most 255, so this bounds the loop.
    for _ in 0..=MAX_NAME_WIRE_LEN {
        let label_len = *msg.get(pos)?;
        if label_len & POINTER_BITS == POINTER_BITS {
            msg.get(pos + 1)?;
            return Some(pos + 2);
        }
        if label_len > MAX_LABEL_LEN {
            return None;
        }
        pos = pos.checked_add(1 + usize::from(label_len))?;
        if label_len == 0 {
            return (pos <= msg.len()).then_some(pos);
        }
        if pos - start > MAX_NAME_WIRE_LEN {
            return None;
        }
    }
    None
}
