//! Per-thread bounded free lists: objects a miss needs (pending-query boxes, answer buffers,
//! waiters, exchange states, stored answers) are kept by the thread that dropped them and
//! handed to its next miss, warm, instead of going through malloc and free (glibc keeps
//! only 7 free chunks per size per thread, and bursts of misses overflowed that into its
//! slow path).
//!
//! Per thread, so taking and keeping need no lock; an object dropped on another thread
//! than the one that took it joins that thread's list. A list reentered (a drop inside a
//! drop) or gone (thread teardown) is simply not used: the object is made or freed as usual.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A `thread_local!` list of kept objects.
pub(crate) type FreeList<T> = LocalKey<RefCell<Vec<T>>>;

/// The object this thread kept last, if any.
pub(crate) fn take<T: 'static>(list: &'static FreeList<T>) -> Option<T> {
    take_where(list, |_| true)
}

/// The most recently kept object that `fits`, if any.
pub(crate) fn take_where<T: 'static>(
    list: &'static FreeList<T>,
    fits: impl Fn(&T) -> bool,
) -> Option<T> {
    list.try_with(|kept| {
        let mut kept = kept.try_borrow_mut().ok()?;
        let index = kept.iter().rposition(fits)?;
        Some(kept.swap_remove(index))
    })
    .ok()
    .flatten()
}

/// Keeps `object` for this thread's next taker, unless `max` are kept already (then it is
/// dropped).
pub(crate) fn keep<T: 'static>(list: &'static FreeList<T>, object: T, max: usize) {
    let _ = list.try_with(|kept| {
        if let Ok(mut kept) = kept.try_borrow_mut()
            && kept.len() < max
        {
            kept.push(object);
        }
    });
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        static NUMBERS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn keeps_at_most_max_and_takes_the_latest_that_fits() {
        for n in 0..5 {
            keep(&NUMBERS, n, 3);
        }
        assert_eq!(take_where(&NUMBERS, |n| n % 2 == 0), Some(2));
        assert_eq!(take(&NUMBERS), Some(1));
        assert_eq!(take(&NUMBERS), Some(0));
        assert_eq!(take(&NUMBERS), None);
    }
}
