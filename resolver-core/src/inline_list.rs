//! A list kept inline up to `N` items and on the heap beyond: for the small per-question
//! tables that would otherwise be a `Vec` each (one allocation per question). Zones and
//! resolv.conf list a few servers (resolv.conf at most 3, `MAXNS` in glibc's `resolv.h`), and
//! an answer has a few records, so the ordinary case allocates nothing; nothing bounds them,
//! hence the heap fallback.

use std::ops::{Deref, DerefMut};

/// Items kept inline up to `N`, then on the heap. Reads and writes go through the slice it
/// derefs to; only the items in use count (equality, `Debug`).
#[derive(Clone)]
pub enum InlineList<T, const N: usize> {
    /// Up to `N` items: `items[..len]` (the slots beyond hold defaults).
    Inline {
        /// The slots.
        items: [T; N],
        /// Slots in use.
        len: usize,
    },
    /// More than `N` items.
    Heap(Vec<T>),
}

impl<T: Default, const N: usize> InlineList<T, N> {
    /// An empty list.
    pub fn new() -> Self {
        InlineList::Inline {
            items: std::array::from_fn(|_| T::default()),
            len: 0,
        }
    }

    /// `count` default items.
    pub fn defaults(count: usize) -> Self {
        if count <= N {
            InlineList::Inline {
                items: std::array::from_fn(|_| T::default()),
                len: count,
            }
        } else {
            InlineList::Heap(std::iter::repeat_with(T::default).take(count).collect())
        }
    }

    /// `count` copies of `value`.
    pub fn filled(count: usize, value: T) -> Self
    where
        T: Clone,
    {
        let mut list = Self::defaults(count);
        list.fill(value);
        list
    }

    /// Appends `item`, moving the list to the heap when the inline slots are full.
    pub fn push(&mut self, item: T) {
        match self {
            InlineList::Inline { items, len } => {
                if let Some(slot) = items.get_mut(*len) {
                    *slot = item;
                    *len += 1;
                } else {
                    let mut heap = Vec::with_capacity(N * 2);
                    heap.extend(items.iter_mut().map(std::mem::take));
                    heap.push(item);
                    *self = InlineList::Heap(heap);
                }
            }
            InlineList::Heap(heap) => heap.push(item),
        }
    }
}

impl<T: Default, const N: usize> Default for InlineList<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Deref for InlineList<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            InlineList::Inline { items, len } => items.get(..*len).unwrap_or_default(),
            InlineList::Heap(heap) => heap,
        }
    }
}

impl<T, const N: usize> DerefMut for InlineList<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            InlineList::Inline { items, len } => items.get_mut(..*len).unwrap_or_default(),
            InlineList::Heap(heap) => heap,
        }
    }
}

impl<T: PartialEq, const N: usize> PartialEq for InlineList<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq, const N: usize> Eq for InlineList<T, N> {}

impl<T: std::fmt::Debug, const N: usize> std::fmt::Debug for InlineList<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_past_the_inline_slots_keeping_order() {
        let mut list: InlineList<usize, 2> = InlineList::new();
        assert!(list.is_empty());
        for item in 0..5 {
            list.push(item);
            assert_eq!(&*list, &(0..=item).collect::<Vec<_>>()[..]);
        }
        assert!(matches!(list, InlineList::Heap(_)));
        list[0] = 9;
        assert_eq!(list.first(), Some(&9));
        assert_eq!(&*InlineList::<u8, 2>::filled(2, 7), &[7, 7]);
        assert_eq!(&*InlineList::<u8, 2>::filled(3, 7), &[7, 7, 7]);
        assert!(matches!(
            InlineList::<u8, 2>::filled(2, 7),
            InlineList::Inline { .. }
        ));
    }

    #[test]
    fn items_that_are_not_copy_move_to_the_heap_and_only_used_slots_compare() {
        let mut list: InlineList<String, 1> = InlineList::defaults(1);
        list.push("b".to_owned());
        assert_eq!(&*list, &[String::new(), "b".to_owned()][..]);
        let mut short: InlineList<u8, 4> = InlineList::new();
        short.push(1);
        let mut other: InlineList<u8, 4> = InlineList::filled(3, 5);
        other[0] = 1;
        assert_ne!(short, other);
        assert_eq!(short, InlineList::filled(1, 1));
        assert_eq!(format!("{short:?}"), "[1]");
    }
}
