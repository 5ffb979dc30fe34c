//! Values many stored values repeat (a namespace, an Event's reason, its
//! source, the object it is about), kept once and shared.

use std::collections::HashSet;
use std::hash::Hash;
use std::rc::Rc;

use rustc_hash::FxBuildHasher;

/// Below this many values the set is never pruned.
pub(crate) const PRUNE_FLOOR: usize = 4096;

/// When a table of shared values next drops the values no one holds any
/// more: once it has doubled since the last pruning, so the pruning costs a
/// constant amount per value added.
#[derive(Debug)]
pub struct PruneSchedule {
    at: usize,
}

impl Default for PruneSchedule {
    fn default() -> Self {
        PruneSchedule { at: PRUNE_FLOOR }
    }
}

impl PruneSchedule {
    /// Before a value is added to a table of `len`: runs `prune` when it is
    /// due (it returns how many values are left).
    pub fn before_adding(&mut self, len: usize, prune: impl FnOnce() -> usize) {
        if len >= self.at {
            self.at = (prune() * 2).max(PRUNE_FLOOR);
        }
    }
}

/// A set of shared values, pruned on a [`PruneSchedule`].
#[derive(Debug)]
pub struct Shared<T: ?Sized> {
    values: HashSet<Rc<T>, FxBuildHasher>,
    prune: PruneSchedule,
}

/// Shared texts.
pub type SharedTexts = Shared<str>;

impl<T: ?Sized> Default for Shared<T> {
    fn default() -> Self {
        Shared { values: HashSet::default(), prune: PruneSchedule::default() }
    }
}

impl<T: ?Sized + Hash + Eq> Shared<T> {
    /// The shared copy of `value`; `make` makes one when there is none.
    pub fn share_with(&mut self, value: &T, make: impl FnOnce(&T) -> Rc<T>) -> Rc<T> {
        if let Some(shared) = self.values.get(value) {
            return shared.clone();
        }
        let values = &mut self.values;
        self.prune.before_adding(values.len(), || {
            values.retain(|v| Rc::strong_count(v) > 1);
            values.len()
        });
        let shared = make(value);
        self.values.insert(shared.clone());
        shared
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

impl Shared<str> {
    /// The shared copy of `text`.
    pub fn share(&mut self, text: &str) -> Rc<str> {
        self.share_with(text, |t| Rc::from(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_one_copy_and_forgets_unused_ones_when_pruning() {
        let mut texts = SharedTexts::default();
        let a = texts.share("Scheduled");
        let b = texts.share("Scheduled");
        assert!(Rc::ptr_eq(&a, &b));
        for i in 1..PRUNE_FLOOR {
            texts.share(&format!("message {i}"));
        }
        assert_eq!(texts.len(), PRUNE_FLOOR);
        // The next new text prunes: only the one still held stays.
        texts.share("Started");
        assert_eq!(texts.len(), 2);
        assert!(Rc::ptr_eq(&a, &texts.share("Scheduled")));
    }
}
