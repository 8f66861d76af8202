//! [`CacheKey`]: a tag and a case-folded name in a stack buffer, built without allocating.

use std::hash::{Hash, Hasher};
use std::num::NonZeroU16;

/// Longest key: a 2-byte tag plus a 253-character name, rounded up.
pub const MAX_KEY_LEN: usize = 256;

/// Longest name, in presentation form without the trailing dot: 255 octets on the wire
/// (RFC 1035 §2.3.4) minus the first length octet and the root label.
pub const MAX_NAME_LEN: usize = 253;

/// Bytes the tag takes at the front of the key.
const TAG_LEN: usize = 2;

/// A cache key on the stack: a 16-bit tag (the query type, or lookup flags) and the
/// lower-cased name without trailing dot. Building one does not allocate.
#[derive(Clone, Copy)]
pub struct CacheKey {
    /// Bytes used in `bytes`; never zero (the tag is always there). Non-zero lets
    /// `Option<CacheKey>` use it as the niche: no separate discriminant, same layout.
    len: NonZeroU16,
    bytes: [u8; MAX_KEY_LEN],
}

impl CacheKey {
    /// Key for `name` (case-folded, trailing dot removed) under `tag`. `None` when the name is
    /// too long to be a DNS name.
    ///
    /// Only ASCII letters are folded: DNS compares names case-insensitively for ASCII only
    /// (RFC 4343 §3); other bytes are kept as they are. Only one trailing dot is removed, so
    /// `"a."` and `"a"` share a key while a malformed `"a.."` does not collapse into them.
    #[inline]
    pub fn new(tag: u16, name: &str) -> Option<CacheKey> {
        let mut key = CacheKey::EMPTY;
        key.set(tag, name).then_some(key)
    }

    /// A key with tag 0 and the root name, to be filled in place with [`CacheKey::set`].
    pub const EMPTY: CacheKey = CacheKey {
        len: EMPTY_LEN,
        bytes: [0u8; MAX_KEY_LEN],
    };

    /// Makes this the key for `name` under `tag`, as [`CacheKey::new`] would build it, and
    /// returns true; returns false and leaves the key as it was when the name is too long.
    ///
    /// Refilling a key in place is the fastest way to build one on a hot path: `new` returns
    /// 258 bytes by value, and moving them costs more than building them (benches/cache.rs).
    #[inline]
    pub fn set(&mut self, tag: u16, name: &str) -> bool {
        // One pass that copies and folds (rather than a copy then an in-place fold): the
        // compiler vectorises it and it touches each byte once.
        self.fill(tag, name.as_bytes(), |slot, name| {
            for (dst, src) in slot.iter_mut().zip(name) {
                *dst = src.to_ascii_lowercase();
            }
        })
    }

    /// [`CacheKey::set`] for a name whose letters are already lower-case (the daemon's
    /// question names are folded as they are parsed): the bytes are copied as they are,
    /// not folded a second time (callgrind, issue 6: ~60 instructions less per query).
    /// Any bytes are taken, not only text; one trailing dot is removed as `set` does.
    #[inline]
    pub fn set_folded(&mut self, tag: u16, name: &[u8]) -> bool {
        self.fill(tag, name, <[u8]>::copy_from_slice)
    }

    /// Writes `tag` and `name` (one trailing dot removed) into the key, the name through
    /// `copy`; false, the key left as it was, when the name is too long. Bytes past the
    /// name are left as they are: nothing reads them.
    #[inline]
    fn fill(&mut self, tag: u16, name: &[u8], copy: impl FnOnce(&mut [u8], &[u8])) -> bool {
        let name = name.strip_suffix(b".").unwrap_or(name);
        let Some(len) = key_len(name) else {
            return false;
        };
        let (tag_bytes, rest) = self.bytes.split_at_mut(TAG_LEN);
        let Some(slot) = rest.get_mut(..name.len()) else {
            return false;
        };
        tag_bytes.copy_from_slice(&tag.to_be_bytes());
        copy(slot, name);
        self.len = len;
        true
    }

    /// The key bytes: the tag (big-endian) followed by the folded name.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len.get())]
    }

    /// The tag the key was built with.
    pub fn tag(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    /// The folded name (no trailing dot).
    pub fn name_bytes(&self) -> &[u8] {
        self.as_bytes().get(TAG_LEN..).unwrap_or_default()
    }
}

/// Length of [`CacheKey::EMPTY`]: the tag alone.
const EMPTY_LEN: NonZeroU16 = NonZeroU16::new(TAG_LEN as u16).unwrap();

/// Length of the key for `name` (without its trailing dot); `None` when the name is too long.
#[inline]
fn key_len(name: &[u8]) -> Option<NonZeroU16> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    // At most 2 + 253, so the conversion cannot fail; `?` keeps the code panic-free.
    NonZeroU16::new(u16::try_from(TAG_LEN + name.len()).ok()?)
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CacheKey {}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CacheKey")
            .field(&self.tag())
            .field(&String::from_utf8_lossy(self.name_bytes()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tag_then_folded_name() {
        // (tag, name, expected name bytes)
        let cases: &[(u16, &str, &[u8])] = &[
            (1, "www.example.com", b"www.example.com"),
            (1, "WWW.Example.COM", b"www.example.com"),
            (28, "www.example.com.", b"www.example.com"),
            (0x0102, "MiXeD-Case_1.Svc.", b"mixed-case_1.svc"),
            (1, ".", b""),
            (1, "", b""),
            // Only one trailing dot goes: "a.." is not the same name as "a".
            (1, "a..", b"a."),
            // Non-ASCII bytes are kept (RFC 4343 folds ASCII only).
            (1, "Ä.example", "Ä.example".as_bytes()),
        ];
        for &(tag, name, want) in cases {
            let key = CacheKey::new(tag, name).expect(name);
            assert_eq!(key.tag(), tag, "{name}");
            assert_eq!(key.name_bytes(), want, "{name}");
            let mut full = tag.to_be_bytes().to_vec();
            full.extend_from_slice(want);
            assert_eq!(key.as_bytes(), &full[..], "{name}");
        }
    }

    #[test]
    fn equal_when_names_differ_only_in_case_or_trailing_dot() {
        let cases = [
            ("example.com", "EXAMPLE.COM.", true),
            ("Kube-DNS.kube-system", "kube-dns.KUBE-SYSTEM", true),
            ("example.com", "example.org", false),
            ("example.com", "example.co", false),
        ];
        for (a, b, same) in cases {
            let ka = CacheKey::new(1, a).unwrap();
            let kb = CacheKey::new(1, b).unwrap();
            assert_eq!(ka == kb, same, "{a} vs {b}");
        }
        // Same name, different tag: different keys.
        assert_ne!(CacheKey::new(1, "a"), CacheKey::new(28, "a"));
    }

    #[test]
    fn length_limit_is_253_without_the_trailing_dot() {
        let longest = "a".repeat(MAX_NAME_LEN);
        let key = CacheKey::new(1, &longest).unwrap();
        assert_eq!(key.as_bytes().len(), MAX_NAME_LEN + TAG_LEN);
        assert!(CacheKey::new(1, &format!("{longest}.")).is_some());
        assert!(CacheKey::new(1, &format!("{longest}a")).is_none());
        assert!(CacheKey::new(1, &"a".repeat(10_000)).is_none());
    }

    #[test]
    fn set_refills_in_place_like_new() {
        let mut key = CacheKey::EMPTY;
        assert_eq!(key.as_bytes(), [0, 0]);
        // Long name first, then shorter ones: leftovers of the longer name must not count.
        let names = [
            "Very-Long-Service.Namespace.svc.cluster.local.",
            "B.c",
            "a",
            ".",
        ];
        for (tag, name) in (1u16..).zip(names) {
            assert!(key.set(tag, name), "{name}");
            assert_eq!(key, CacheKey::new(tag, name).unwrap(), "{name}");
            assert_eq!(key.as_bytes(), CacheKey::new(tag, name).unwrap().as_bytes());
        }
        let before = key;
        assert!(!key.set(9, &"a".repeat(MAX_NAME_LEN + 1)));
        assert_eq!(key, before, "a rejected name leaves the key unchanged");
        assert_eq!(key.tag(), 4);
    }

    #[test]
    fn set_folded_matches_set_on_folded_names() {
        let mut key = CacheKey::EMPTY;
        for name in ["www.example.com", "a.", "a..", ".", "", "x\u{e4}.example"] {
            assert!(key.set_folded(7, name.as_bytes()), "{name}");
            assert_eq!(key, CacheKey::new(7, name).unwrap(), "{name}");
        }
        // Bytes that are not text are taken as they are; the length limit holds.
        assert!(key.set_folded(1, b"\x03\xff\xfe\x00"));
        assert_eq!(key.name_bytes(), b"\x03\xff\xfe\x00");
        let before = key;
        assert!(!key.set_folded(1, &[b'a'; MAX_NAME_LEN + 1]));
        assert_eq!(key, before, "a rejected name leaves the key unchanged");
        assert!(key.set_folded(1, &[b'a'; MAX_NAME_LEN]));
    }

    #[test]
    fn debug_shows_tag_and_name() {
        let key = CacheKey::new(28, "Example.com").unwrap();
        assert_eq!(format!("{key:?}"), r#"CacheKey(28, "example.com")"#);
    }
}
