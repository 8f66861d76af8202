//! [`StoredKey`]: a key as a shard's map holds it, inline for ordinary names and boxed
//! beyond, so that most entries need no allocation of their own besides the shard's slab.

/// Key bytes held inline: a 2-byte tag and a name of up to 52 characters, enough for most
/// cluster names (`service.namespace.svc.cluster.local` and the like). 54 makes the enum
/// 56 bytes: the same as a boxed key's 16 plus the 32-byte heap chunk a ~30-byte key
/// takes, and one allocation and one free less per entry (dhat, issue 6: the daemon's
/// cache stored one 19-byte key box per miss, and freed one cold per eviction).
pub(super) const INLINE_KEY_LEN: usize = 54;

/// Key bytes: the tag then the folded name, as [`super::CacheKey::as_bytes`] gives them.
#[derive(Clone)]
pub(super) enum StoredKey {
    /// Up to [`INLINE_KEY_LEN`] bytes: `bytes[..len]`.
    Inline {
        /// Bytes of `bytes` in use.
        len: u8,
        /// The key, then zeros.
        bytes: [u8; INLINE_KEY_LEN],
    },
    /// A longer key.
    Boxed(Box<[u8]>),
}

impl StoredKey {
    /// The stored form of `key`.
    pub(super) fn new(key: &[u8]) -> StoredKey {
        let mut bytes = [0u8; INLINE_KEY_LEN];
        match (bytes.get_mut(..key.len()), u8::try_from(key.len())) {
            (Some(front), Ok(len)) => {
                front.copy_from_slice(key);
                StoredKey::Inline { len, bytes }
            }
            _ => StoredKey::Boxed(Box::from(key)),
        }
    }

    /// The key bytes.
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            StoredKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            StoredKey::Boxed(bytes) => bytes,
        }
    }

    /// Bytes held on the heap apart from the key itself (for the memory estimate).
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            StoredKey::Inline { .. } => 0,
            StoredKey::Boxed(bytes) => bytes.len(),
        }
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for StoredKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_inline_long_ones_boxed() {
        assert_eq!(
            size_of::<StoredKey>(),
            56,
            "the size the inline length was chosen for"
        );
        let long = vec![b'x'; INLINE_KEY_LEN + 1];
        for bytes in [&b""[..], b"\x00\x01a", &long[..INLINE_KEY_LEN], &long] {
            let key = StoredKey::new(bytes);
            assert_eq!(key.as_bytes(), bytes);
            let inline = bytes.len() <= INLINE_KEY_LEN;
            assert_eq!(
                matches!(key, StoredKey::Inline { .. }),
                inline,
                "{}",
                bytes.len()
            );
            assert_eq!(key.heap_bytes(), if inline { 0 } else { bytes.len() });
            assert!(key == StoredKey::new(bytes));
        }
        assert!(StoredKey::new(b"ab") != StoredKey::new(b"a"));
    }
}
