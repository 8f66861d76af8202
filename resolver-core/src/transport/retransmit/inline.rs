//! A list of small `Copy` items kept inline up to `N` and on the heap beyond: the per-server
//! tables of one question. Zones and resolv.conf list a few servers (resolv.conf at most 3,
//! `MAXNS` in glibc's `resolv.h`), so an ordinary question allocates nothing for them; the
//! daemon's config does not bound servers per zone, hence the heap fallback.

use std::ops::{Deref, DerefMut};

/// Items kept inline up to `N`, then on the heap.
#[derive(Debug, Clone)]
pub(in crate::transport) enum InlineList<T: Copy + Default, const N: usize> {
    /// Up to `N` items: `items[..len]`.
    Inline {
        /// The slots; those at `len` and beyond are unused.
        items: [T; N],
        /// Slots in use.
        len: usize,
    },
    /// More than `N` items.
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> InlineList<T, N> {
    /// An empty list.
    pub(in crate::transport) fn new() -> Self {
        InlineList::Inline {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// `count` copies of `value`.
    pub(in crate::transport) fn filled(count: usize, value: T) -> Self {
        if count <= N {
            InlineList::Inline {
                items: [value; N],
                len: count,
            }
        } else {
            InlineList::Heap(vec![value; count])
        }
    }

    /// Appends `item`, moving the list to the heap when the inline slots are full.
    pub(in crate::transport) fn push(&mut self, item: T) {
        match self {
            InlineList::Inline { items, len } => {
                if let Some(slot) = items.get_mut(*len) {
                    *slot = item;
                    *len += 1;
                } else {
                    let mut heap = Vec::with_capacity(N * 2);
                    heap.extend_from_slice(items);
                    heap.push(item);
                    *self = InlineList::Heap(heap);
                }
            }
            InlineList::Heap(heap) => heap.push(item),
        }
    }
}

impl<T: Copy + Default, const N: usize> Deref for InlineList<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            InlineList::Inline { items, len } => items.get(..*len).unwrap_or_default(),
            InlineList::Heap(heap) => heap,
        }
    }
}

impl<T: Copy + Default, const N: usize> DerefMut for InlineList<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            InlineList::Inline { items, len } => items.get_mut(..*len).unwrap_or_default(),
            InlineList::Heap(heap) => heap,
        }
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
}
