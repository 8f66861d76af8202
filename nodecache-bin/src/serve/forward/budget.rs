//! The upstream packet budget: a token bucket across all upstreams (AWS VPC resolvers drop
//! beyond 1024 packets/s per ENI, NOTES "node-cache"). Every datagram or TCP message sent
//! costs a token; the bucket refills at `max_pps` per second and holds one second's worth.
//!
//! Prefetches are optional work, so they are refused first: they may only spend a token if
//! half the bucket is still left afterwards, which keeps that half in reserve for clients.

use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

use super::Priority;

/// Bucket state: tokens (fractional, refilled continuously) and when they were counted.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket of `max_pps` packets per second.
#[derive(Debug)]
pub(super) struct Budget {
    per_second: f64,
    bucket: Mutex<Bucket>,
}

impl Budget {
    /// A full bucket of `max_pps` tokens (at least one).
    pub(super) fn new(max_pps: u32) -> Budget {
        let per_second = f64::from(max_pps.max(1));
        Budget {
            per_second,
            bucket: Mutex::new(Bucket {
                tokens: per_second,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes one token for a packet sent on behalf of `priority`; false when over budget.
    pub(super) fn try_take(&self, priority: Priority) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.updated = now;
        let floor = match priority {
            Priority::Client => 1.0,
            // At least half the bucket must be left after a prefetch spends its token.
            Priority::Prefetch => self.per_second / 2.0 + 1.0,
        };
        if bucket.tokens >= floor {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetches_keep_half_for_clients() {
        let budget = Budget::new(10);
        let prefetches = (0..11)
            .filter(|_| budget.try_take(Priority::Prefetch))
            .count();
        assert_eq!(prefetches, 5);
        let clients = (0..11)
            .filter(|_| budget.try_take(Priority::Client))
            .count();
        // Refill during the test is at most a token or so.
        assert!((5..=6).contains(&clients), "{clients}");
        assert!(!budget.try_take(Priority::Prefetch));
    }
}
