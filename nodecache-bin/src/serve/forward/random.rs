//! Random numbers for query IDs, 0x20 case bits and socket choice, from the kernel's CSPRNG
//! (getrandom(2)) drawn 256 octets at a time per thread.
//!
//! RFC 5452 §9.2 asks for IDs (and ports) an off-path attacker cannot predict; buffering the
//! kernel's output keeps every octet as unpredictable as it was, and turns the one
//! getrandom(2) call per query (and another per 0x20 name) into one per ~100 queries.

use std::cell::RefCell;

/// Octets drawn from the kernel at once.
const POOL: usize = 256;

/// Unused random octets of this thread: `(octets, next unused)`.
struct Pool {
    octets: [u8; POOL],
    next: usize,
}

thread_local! {
    static POOL_OF_THREAD: RefCell<Pool> = const {
        RefCell::new(Pool {
            octets: [0; POOL],
            next: POOL,
        })
    };
}

/// Fills `out` with random octets.
pub(super) fn fill(out: &mut [u8]) {
    POOL_OF_THREAD.with_borrow_mut(|pool| {
        for byte in out {
            if pool.next >= POOL {
                // getrandom(2) on Linux only fails before the pool is initialised at boot
                // or with a bad buffer; a daemon never sees either. Should it fail, the old
                // octets are reused rather than zeros.
                let _ = getrandom::fill(&mut pool.octets);
                pool.next = 0;
            }
            *byte = pool.octets.get(pool.next).copied().unwrap_or_default();
            // Used octets are overwritten so none is ever handed out twice.
            if let Some(used) = pool.octets.get_mut(pool.next) {
                *used = 0;
            }
            pool.next += 1;
        }
    });
}

/// A random u16 (a query ID, RFC 5452 §4.3).
pub(super) fn u16() -> u16 {
    let mut bytes = [0u8; 2];
    fill(&mut bytes);
    u16::from_ne_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octets_vary_across_refills() {
        let mut first = [0u8; 300];
        let mut second = [0u8; 300];
        fill(&mut first);
        fill(&mut second);
        assert_ne!(first, second);
        assert!(first.iter().any(|&b| b != 0));
        let ids: std::collections::HashSet<u16> = (0..1000).map(|_| u16()).collect();
        assert!(ids.len() > 950, "{} distinct IDs of 1000", ids.len());
    }
}
