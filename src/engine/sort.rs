//! Stable sorting through one shared routine in the page, and B-tree
//! collections filled without a sort of their own.
//!
//! Each `sort_by` with its own element type or comparator is a copy of the
//! standard library's stable sort, about 3.7 KB of wasm; the page carried 83
//! of them. In the page these methods sort a list of positions with the
//! comparator behind a `dyn` call, so one copy of the sort serves every list,
//! and then move the elements into that order. Natively they are the
//! standard sort, which is faster. Both are stable sorts with the same
//! comparator, so for a comparator that orders consistently (every one this
//! crate sorts with) the order is the same on both.

use std::cmp::Ordering;

/// `collect()` into a `BTreeMap`, `BTreeSet` or JSON object. Collecting
/// into a B-tree sorts the items first, and each iterator type collected
/// that way is one more copy of the stable sort in the page; so the page
/// inserts them one by one instead, which gives the same collection (for a
/// repeated key the later value wins either way). Natively it is `collect()`.
pub fn insert_all<C, A>(items: impl IntoIterator<Item = A>) -> C
where
    C: FromIterator<A> + Default + Extend<A>,
{
    #[cfg(target_arch = "wasm32")]
    {
        let mut out = C::default();
        out.extend(items);
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    items.into_iter().collect()
}

/// `sort`, `sort_by` and `sort_by_key`, stable, as the standard library's.
pub trait SortStable<T> {
    /// As `slice::sort`.
    fn sort_stable(&mut self)
    where
        T: Ord;
    /// As `slice::sort_by`.
    fn sort_stable_by<F: FnMut(&T, &T) -> Ordering>(&mut self, compare: F);
    /// As `slice::sort_by_key`.
    fn sort_stable_by_key<K: Ord, F: FnMut(&T) -> K>(&mut self, key: F);
}

impl<T> SortStable<T> for [T] {
    fn sort_stable(&mut self)
    where
        T: Ord,
    {
        self.sort_stable_by(T::cmp);
    }

    fn sort_stable_by<F: FnMut(&T, &T) -> Ordering>(&mut self, mut compare: F) {
        #[cfg(target_arch = "wasm32")]
        by_positions(self, &mut compare);
        #[cfg(not(target_arch = "wasm32"))]
        self.sort_by(|a, b| compare(a, b));
    }

    fn sort_stable_by_key<K: Ord, F: FnMut(&T) -> K>(&mut self, mut key: F) {
        self.sort_stable_by(|a, b| key(a).cmp(&key(b)));
    }
}

/// Sorts `items` stably by sorting their positions, then moving each item
/// to its place.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn by_positions<T>(items: &mut [T], compare: &mut dyn FnMut(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut order = positions(items.len());
    sort_positions(&mut order, &mut |a, b| compare(&items[a as usize], &items[b as usize]));
    permute(&mut order, &mut |a, b| items.swap(a, b));
}

fn positions(len: usize) -> Vec<u32> {
    // A list longer than u32 positions cannot be in memory on wasm32; natively
    // this path is only the tests'.
    (0..len).map(|i| i as u32).collect()
}

#[inline(never)]
fn sort_positions(order: &mut [u32], compare: &mut dyn FnMut(u32, u32) -> Ordering) {
    order.sort_by(|a, b| compare(*a, *b));
}

/// Rearranges a list so that place `i` holds what was at `order[i]`, by
/// following each cycle of the permutation with swaps; `order` ends as the
/// identity.
#[inline(never)]
fn permute(order: &mut [u32], swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut hole = start;
        loop {
            let next = order[hole] as usize;
            order[hole] = hole as u32;
            if next == start || next == hole {
                break;
            }
            swap(hole, next);
            hole = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The page's path orders as the standard stable sort does, equal
        /// keys keeping their first order.
        #[test]
        fn positions_sort_as_the_standard_stable_sort(items in proptest::collection::vec((0u8..6, any::<u16>()), 0..200)) {
            let mut expected = items.clone();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let mut ours = items.clone();
            by_positions(&mut ours, &mut |a, b| a.0.cmp(&b.0));
            prop_assert_eq!(ours, expected);
        }
    }

    #[test]
    fn the_methods_sort_as_the_standard_library() {
        let mut words = vec!["pear", "fig", "apple", "kiwi", "date"];
        words.sort_stable();
        assert_eq!(words, ["apple", "date", "fig", "kiwi", "pear"]);
        words.sort_stable_by_key(|w| w.len());
        assert_eq!(words, ["fig", "date", "kiwi", "pear", "apple"]);
        words.sort_stable_by(|a, b| b.cmp(a));
        assert_eq!(words, ["pear", "kiwi", "fig", "date", "apple"]);
    }

    #[test]
    fn inserting_collects_as_collect_does() {
        use std::collections::{BTreeMap, BTreeSet};
        let pairs = [("b", 1), ("a", 2), ("b", 3)];
        let mut inserted = BTreeMap::new();
        inserted.extend(pairs);
        assert_eq!(inserted, pairs.into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(insert_all::<BTreeMap<_, _>, _>(pairs), BTreeMap::from([("a", 2), ("b", 3)]));
        assert_eq!(insert_all::<BTreeSet<_>, _>([3, 1, 3]), BTreeSet::from([1, 3]));
    }

    #[test]
    fn strings_move_whole() {
        let mut names: Vec<String> = ["c", "a", "b", "a"].iter().map(|s| s.to_string()).collect();
        by_positions(&mut names, &mut |a, b| a.cmp(b));
        assert_eq!(names, ["a", "a", "b", "c"]);
    }
}
