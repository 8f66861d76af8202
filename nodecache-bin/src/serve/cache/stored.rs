//! One cached answer: the upstream's message without its OPT record, where its TTLs are, and
//! when it was stored; and the reply built from it by copying and patching.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::serve::message::reply::{append_opt, reply_flags};
use crate::serve::message::{
    HEADER_LEN, ParsedQuery, ResponseLayout, flags, offset, read_u16, read_u32, write_u16,
    write_u32,
};
use crate::serve::metrics::Metrics;

/// RFC 8767 §5: "a resolver SHOULD ... [not] attempt to refresh the data ... for a period
/// after a failed lookup ... the failure recheck timer ... 30 seconds": during it, an expired
/// entry whose refresh failed is served stale at once.
pub(crate) const FAILURE_RECHECK: Duration = Duration::from_secs(30);

/// An answer ready to be served: from the cache, or built once for a miss.
#[derive(Debug)]
pub(crate) struct StoredAnswer {
    /// The upstream message (OPT record and anything after it removed, ARCOUNT fixed),
    /// then the offset of every TTL field in it, two native-endian bytes each. One buffer
    /// rather than two: callgrind and dhat, issue 6: one allocation less per cache miss,
    /// and one cold free less per evicted entry. A `Vec` so that an evicted answer's buffer
    /// can be refilled by a new one (see [`StoredAnswer::build`]).
    bytes: Vec<u8>,
    /// Length of the message at the front of `bytes`.
    message_len: usize,
    /// Offset just past the question.
    question_end: usize,
    /// Seconds the entry lives (after the config's clamps); served TTLs never exceed it.
    entry_ttl: u32,
    /// When the upstream answered.
    stored_at: Instant,
    /// NXDOMAIN or NODATA.
    negative: bool,
    /// The upstream set AD.
    authentic_data: bool,
    /// The upstream set TC (such answers are never cached, but the reply must say so).
    truncated: bool,
    /// Fresh hits so far (drives prefetch).
    hits: AtomicU32,
    /// A prefetch of this entry has been started (only one per entry).
    prefetch_started: AtomicBool,
    /// When a refresh of this (expired) entry last failed, as milliseconds after
    /// `stored_at` plus one; 0 = never.
    refresh_failed_at: AtomicU64,
    /// Present when the entry is held by the cache: its share of the byte budget.
    charge: Option<Charge>,
}

/// How the TTLs of a reply are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TtlView {
    /// Each TTL is min(record TTL, entry TTL) minus the age in seconds, never below 0.
    Fresh {
        /// Whole seconds since the upstream answered.
        age: u32,
    },
    /// Every TTL is this value (RFC 8767 §4: stale answers carry a short TTL).
    Stale {
        /// The TTL to write.
        ttl: u32,
    },
}

impl StoredAnswer {
    /// Builds the stored form of `message`, walked as `layout`: the OPT record and every
    /// record after it are cut off (an upstream's OPT belongs to its exchange with us, and
    /// cutting at it keeps every compression pointer valid, since pointers only point back),
    /// and ARCOUNT is set to the records kept.
    ///
    /// An answer that left the cache (see [`super::spare`]) is refilled instead of a new
    /// allocation made when no one else holds it, and its buffer too when it fits
    /// (callgrind, issue 6: a miss that evicts saves a malloc and a free, or two of each:
    /// ~200 instructions).
    pub(crate) fn build(
        message: &[u8],
        layout: &ResponseLayout,
        entry_ttl: u32,
        negative: bool,
        now: Instant,
    ) -> Arc<StoredAnswer> {
        let (end, arcount) = match (&layout.opt, layout.opt_index) {
            (Some(opt), Some(index)) => (opt.start, Some(index)),
            _ => (layout.end, None),
        };
        let upstream_flags = read_u16(message, offset::FLAGS).unwrap_or(0);
        let message = message.get(..end).unwrap_or_default();
        // The offsets are in message order, so those of the records kept are a prefix.
        let offsets: &[u16] = &layout.ttl_offsets;
        let kept = offsets.partition_point(|&at| usize::from(at) + 4 <= message.len());
        let offsets = offsets.get(..kept).unwrap_or_default();
        let needed = message.len() + offsets.len() * 2;
        let mut spare = super::spare::take(needed);
        let mut bytes = match spare.as_mut().and_then(Arc::get_mut) {
            Some(shell) if super::spare::fits(shell.bytes.capacity(), needed) => {
                let mut bytes = std::mem::take(&mut shell.bytes);
                bytes.clear();
                bytes
            }
            _ => Vec::with_capacity(needed),
        };
        bytes.extend_from_slice(message);
        for at in offsets {
            bytes.extend_from_slice(&at.to_ne_bytes());
        }
        if let Some(arcount) = arcount {
            write_u16(&mut bytes, offset::ARCOUNT, arcount);
        }
        let answer = StoredAnswer {
            bytes,
            message_len: message.len(),
            question_end: layout.question_end,
            entry_ttl,
            stored_at: now,
            negative,
            authentic_data: upstream_flags & flags::AD != 0,
            truncated: layout.truncated,
            hits: AtomicU32::new(0),
            prefetch_started: AtomicBool::new(false),
            refresh_failed_at: AtomicU64::new(0),
            charge: None,
        };
        // A spare is held nowhere else (`release` made sure), so its block is refilled.
        if let Some(mut shell) = spare
            && let Some(unshared) = Arc::get_mut(&mut shell)
        {
            *unshared = answer;
            return shell;
        }
        Arc::new(answer)
    }

    /// Makes `answer` ready to be kept as a spare: its budget charge is given back now, as
    /// dropping it would. `None` (and the answer dropped as usual) when a reply holds it.
    pub(super) fn release(mut answer: Arc<StoredAnswer>) -> Option<Arc<StoredAnswer>> {
        Arc::get_mut(&mut answer)?.charge = None;
        Some(answer)
    }

    /// Capacity of the buffer (what a spare can take without reallocating).
    pub(super) fn buffer_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Bytes this entry is charged against the cache's budget: the message and its TTL
    /// table (one buffer), the struct (the `Arc`'s allocation), and an allowance for the key
    /// and the cache's map and list nodes.
    pub(crate) fn footprint(&self) -> usize {
        /// Key (up to 256 bytes, typically ~40), LRU node links and map slot, `Arc` counts.
        const ENTRY_OVERHEAD: usize = 128;
        self.bytes.capacity() + size_of::<Self>() + ENTRY_OVERHEAD
    }

    /// The stored message.
    fn message(&self) -> &[u8] {
        self.bytes.get(..self.message_len).unwrap_or_default()
    }

    /// The offsets of the message's TTL fields.
    fn ttl_offsets(&self) -> impl Iterator<Item = usize> {
        let table = self.bytes.get(self.message_len..).unwrap_or_default();
        let (pairs, _) = table.as_chunks::<2>();
        pairs
            .iter()
            .map(|&pair| usize::from(u16::from_ne_bytes(pair)))
    }

    /// Attaches the budget charge taken for this entry (released when it is dropped).
    pub(super) fn set_charge(&mut self, charge: Charge) {
        self.charge = Some(charge);
    }

    /// The entry's lifetime in seconds.
    pub(crate) fn entry_ttl(&self) -> u32 {
        self.entry_ttl
    }

    /// NXDOMAIN or NODATA.
    pub(crate) fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whole seconds since the upstream answered, at `now`.
    pub(crate) fn age(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.stored_at).as_secs()).unwrap_or(u32::MAX)
    }

    /// Records that refreshing this entry from the upstreams failed at `now` (it was served
    /// stale instead).
    pub(crate) fn mark_refresh_failed(&self, now: Instant) {
        let since = now.saturating_duration_since(self.stored_at).as_millis();
        let stamp = u64::try_from(since)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1);
        self.refresh_failed_at.store(stamp, Ordering::Relaxed);
    }

    /// True when a refresh failed less than [`FAILURE_RECHECK`] before `now`.
    pub(crate) fn refresh_failed_recently(&self, now: Instant) -> bool {
        let stamp = self.refresh_failed_at.load(Ordering::Relaxed);
        let Some(failed_ms) = stamp.checked_sub(1) else {
            return false;
        };
        let now_ms = now.saturating_duration_since(self.stored_at).as_millis();
        now_ms.saturating_sub(u128::from(failed_ms)) < FAILURE_RECHECK.as_millis()
    }

    /// Counts a fresh hit; returns the hits so far, this one included.
    pub(super) fn count_hit(&self) -> u32 {
        self.hits.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }

    /// True for the first caller only: that caller starts the prefetch.
    pub(super) fn claim_prefetch(&self) -> bool {
        !self.prefetch_started.swap(true, Ordering::Relaxed)
    }

    /// Writes the reply to `query` (received as `client_msg`) into `out`: a copy of the
    /// stored message with the client's ID, reply flags (RD and CD from the client, AD only
    /// when the client asked for it with AD or DO, RFC 6840 §5.7–5.8), the client's question
    /// bytes over ours (same name but for case, so the same length: 0x20 clients compare
    /// case), TTLs per `view`, and our OPT record when the client sent EDNS.
    pub(crate) fn write_reply(
        &self,
        client_msg: &[u8],
        query: &ParsedQuery,
        view: TtlView,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let message = self.message();
        out.extend_from_slice(message);
        write_u16(out, offset::ID, query.id);
        let wants_ad = query.flags & flags::AD != 0 || query.edns.is_some_and(|e| e.dnssec_ok);
        let upstream_rcode = read_u16(message, offset::FLAGS).unwrap_or(0) & flags::RCODE_MASK;
        let mut reply = reply_flags(query.flags, self.authentic_data && wants_ad, upstream_rcode);
        if self.truncated {
            reply |= flags::TC;
        }
        write_u16(out, offset::FLAGS, reply);
        if let (Some(ours), Some(theirs)) = (
            out.get_mut(HEADER_LEN..self.question_end),
            client_msg.get(HEADER_LEN..query.question_end),
        ) && ours.len() == theirs.len()
        {
            ours.copy_from_slice(theirs);
        }
        for at in self.ttl_offsets() {
            let ttl = match view {
                TtlView::Fresh { age } => read_u32(out, at)
                    .unwrap_or(0)
                    .min(self.entry_ttl)
                    .saturating_sub(age),
                TtlView::Stale { ttl } => ttl,
            };
            write_u32(out, at, ttl);
        }
        if let Some(edns) = query.edns {
            append_opt(out, edns.dnssec_ok, 0);
        }
    }
}

/// The cache's byte budget and the metrics it keeps right.
#[derive(Debug)]
pub(super) struct Ledger {
    /// Bytes charged now.
    pub(super) bytes: AtomicUsize,
    /// Hard bound on `bytes`.
    pub(super) max_bytes: usize,
    /// Where `cache_bytes`, `cache_entries_*` and `cache_evictions` go.
    pub(super) metrics: Arc<Metrics>,
}

impl Ledger {
    /// Takes `bytes` from the budget for an entry; `None` when that would exceed the bound
    /// (the entry is then not cached).
    pub(super) fn charge(self: &Arc<Self>, bytes: usize, negative: bool) -> Option<Charge> {
        let previous = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes)
                    .filter(|&total| total <= self.max_bytes)
            })
            .ok()?;
        self.publish(previous + bytes);
        let entries = if negative {
            &self.metrics.cache_entries_denial
        } else {
            &self.metrics.cache_entries_success
        };
        entries.inc();
        Some(Charge {
            bytes,
            negative,
            ledger: Arc::clone(self),
        })
    }

    /// Mirrors the byte count into the `cache_bytes` gauge.
    fn publish(&self, bytes: usize) {
        self.metrics
            .cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

/// One cached entry's share of the budget; dropping it (the entry left the cache and no
/// reply holds it any more) gives the bytes back and keeps the entry gauges right.
/// Evictions are counted where they happen, in [`super::AnswerCache::store`].
#[derive(Debug)]
pub(super) struct Charge {
    /// Bytes taken from the budget.
    bytes: usize,
    /// Counted in `cache_entries_denial` rather than `cache_entries_success`.
    negative: bool,
    /// Where the bytes go back to.
    ledger: Arc<Ledger>,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let previous = self.ledger.bytes.fetch_sub(self.bytes, Ordering::Relaxed);
        self.ledger.publish(previous.saturating_sub(self.bytes));
        let metrics = &self.ledger.metrics;
        if self.negative {
            metrics.cache_entries_denial.dec();
        } else {
            metrics.cache_entries_success.dec();
        }
    }
}
