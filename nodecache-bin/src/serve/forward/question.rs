//! The question as the forwarder keys and sends it, with its name held inline: a name is at
//! most 255 octets (RFC 1035 §2.3.4), so making a question from a parsed query and keying
//! the in-flight map by it allocate nothing (dhat: the boxed name and its copy as the
//! in-flight key were two of a miss's allocations).
//!
//! The name's octets are hashed once, when the question is made, under a per-process random
//! seed (clients choose the names: RFC-less but classic hash flooding); every map the
//! question goes into (the in-flight shards and map, the loop guard) then hashes that 64-bit
//! digest instead of the name (callgrind: the name was hashed six times per miss before;
//! with this and the inline name, `InFlight::join` and `finish` together went from ~950 to
//! ~570 instructions per miss, the loop guard's register from ~170 to ~130).

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::OnceLock;

use crate::serve::message::{MAX_NAME_WIRE_LEN, QueryName};

/// A question as the daemon keys and forwards it. Hashes as its [`key`](Question::key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    /// The name in wire form (length-prefixed labels ending with the root's zero octet),
    /// uncompressed, ASCII lower-cased (RFC 4343: comparisons are case-insensitive).
    pub(crate) name: QuestionName,
    /// QTYPE.
    pub(crate) qtype: u16,
    /// QCLASS.
    pub(crate) qclass: u16,
}

/// A name in wire form of at most 255 octets, inline. Compares as its octets, hashes as
/// their seeded digest.
#[derive(Clone)]
pub(crate) struct QuestionName {
    bytes: [u8; MAX_NAME_WIRE_LEN],
    /// Octets in use (at most [`MAX_NAME_WIRE_LEN`]).
    len: u8,
    /// [`digest`] of the octets in use.
    digest: u64,
}

/// The seeded hash of a name's octets (seed drawn once per process).
fn digest(wire: &[u8]) -> u64 {
    static SEED: OnceLock<foldhash::quality::RandomState> = OnceLock::new();
    SEED.get_or_init(foldhash::quality::RandomState::default)
        .hash_one(wire)
}

impl QuestionName {
    /// `wire` as a question name; `None` if it is longer than 255 octets. (The daemon makes
    /// its questions from parsed queries, see the `From` impl; tests from octets.)
    #[cfg(test)]
    pub(crate) fn new(wire: &[u8]) -> Option<QuestionName> {
        let mut name = QuestionName {
            bytes: [0; MAX_NAME_WIRE_LEN],
            len: u8::try_from(wire.len()).ok()?,
            digest: digest(wire),
        };
        name.bytes.get_mut(..wire.len())?.copy_from_slice(wire);
        Some(name)
    }
}

impl Question {
    /// The question's 64-bit key: the name's seeded digest with the type and class folded
    /// in. What every map a question goes into hashes, picks its shard by and (the loop
    /// guard) remembers: a miss ran the question through a seeded hasher seven times, now
    /// each map hashes one word (callgrind: ~50 instructions per miss). Unpredictable without the
    /// process's seed, like the digest; and for one name, distinct (type, class) pairs give
    /// distinct keys (multiplying by an odd constant is a bijection on 64-bit words), so
    /// two different questions share a key with probability about 2^-64.
    pub(crate) fn key(&self) -> u64 {
        const ODD: u64 = 0x9e37_79b9_7f4a_7c15;
        let kind = (u64::from(self.qtype) << 16) | u64::from(self.qclass);
        self.name.digest ^ kind.wrapping_mul(ODD)
    }
}

impl Hash for Question {
    /// The key only: equal questions have equal keys.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.key());
    }
}

impl From<&QueryName> for QuestionName {
    /// A parsed query's name (at most 255 octets by [`QueryName`]'s own bound).
    ///
    /// Built in place, its digest taken from the parsed octets (the same ones): made in a
    /// local array and moved into the struct, its 264 octets were copied three times per
    /// miss (callgrind: ~15 instructions less per miss).
    fn from(name: &QueryName) -> QuestionName {
        let wire = name.as_wire();
        let mut name = QuestionName {
            bytes: [0; MAX_NAME_WIRE_LEN],
            len: u8::try_from(wire.len()).unwrap_or(u8::MAX),
            digest: digest(wire.get(..MAX_NAME_WIRE_LEN).unwrap_or(wire)),
        };
        for (slot, octet) in name.bytes.iter_mut().zip(wire) {
            *slot = *octet;
        }
        name
    }
}

impl Deref for QuestionName {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl PartialEq for QuestionName {
    fn eq(&self, other: &QuestionName) -> bool {
        // Unequal digests prove unequal names; equal ones are checked octet for octet.
        self.digest == other.digest && **self == **other
    }
}

impl Eq for QuestionName {}

impl Hash for QuestionName {
    /// The digest only: equal names have equal digests.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest);
    }
}

impl fmt::Debug for QuestionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QuestionName")
            .field(&String::from_utf8_lossy(self))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn names_compare_and_hash_by_their_octets_only() {
        let a = QuestionName::new(b"\x01a\x00").expect("short");
        let mut b = QuestionName::new(b"\x01b\x00").expect("short");
        assert_ne!(a, b);
        assert_eq!(&*a, b"\x01a\x00");
        // Leftover octets past the length do not count.
        b = QuestionName::new(b"\x01a\x00").expect("short");
        let longer = QuestionName::new(b"\x01a\x00\x00").expect("short");
        assert_eq!(a, b);
        assert_ne!(a, longer);
        let hasher = foldhash::quality::RandomState::default();
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        assert_ne!(
            hasher.hash_one(&a),
            hasher.hash_one(QuestionName::new(b"\x01c\x00").expect("short"))
        );
        assert_eq!(QuestionName::new(&[1; 255]).map(|n| n.len()), Some(255));
        assert!(QuestionName::new(&[1; 256]).is_none());
        let (parsed, _) = QueryName::parse(b"\x03WWW\x01a\x00", 0).expect("name");
        let parsed = QuestionName::from(&parsed);
        assert_eq!(&*parsed, b"\x03www\x01a\x00");
        // Made either way, one name is one key.
        let made = QuestionName::new(b"\x03www\x01a\x00").expect("short");
        assert_eq!(parsed, made);
        assert_eq!(hasher.hash_one(&parsed), hasher.hash_one(&made));
        // Question keys: equal questions, equal keys; another type or class, another key.
        let question = |qtype, qclass| Question {
            name: made.clone(),
            qtype,
            qclass,
        };
        assert_eq!(question(1, 1).key(), question(1, 1).key());
        assert_ne!(question(1, 1).key(), question(28, 1).key());
        assert_ne!(question(1, 1).key(), question(1, 3).key());
        assert_ne!(question(1, 1).key(), question(256, 0).key());
        let other = Question {
            name: QuestionName::new(b"\x01b\x00").expect("short"),
            qtype: 1,
            qclass: 1,
        };
        assert_ne!(question(1, 1).key(), other.key());
    }
}
