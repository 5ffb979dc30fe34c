//! The last result of a function whose result depends only on what it is
//! asked, kept with what it was asked: the engine asks several such
//! functions the same thing many times in a row (a node's pods mostly
//! share an image, a cluster's nodes a size).

use std::cell::RefCell;
use std::thread::LocalKey;

/// The value kept in `last` if its key `is` the one asked about, else
/// `make()`'s, kept with `key()`. Nothing is borrowed while `make` runs.
pub fn last_or_make<K: 'static, V: Clone + 'static>(last: &'static LocalKey<RefCell<Option<(K, V)>>>, is: impl FnOnce(&K) -> bool, key: impl FnOnce() -> K, make: impl FnOnce() -> V) -> V {
    if let Some(kept) = last.with(|last| last.borrow().as_ref().filter(|(k, _)| is(k)).map(|(_, v)| v.clone())) {
        return kept;
    }
    let made = make();
    last.with(|last| *last.borrow_mut() = Some((key(), made.clone())));
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_again_only_for_another_key() {
        thread_local! {
            static LAST: RefCell<Option<(u32, u32)>> = const { RefCell::new(None) };
        }
        let made = std::cell::Cell::new(0);
        let square = |n: u32| {
            last_or_make(&LAST, |k| *k == n, || n, || {
                made.set(made.get() + 1);
                n * n
            })
        };
        assert_eq!([square(3), square(3), square(4), square(3)], [9, 9, 16, 9]);
        assert_eq!(made.get(), 3);
    }
}
