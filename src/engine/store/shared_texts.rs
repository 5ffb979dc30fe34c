//! Texts many stored values repeat (a namespace, an Event's reason, its
//! source, the object it is about), kept once and shared.

use std::collections::HashSet;
use std::rc::Rc;

/// Below this many texts the set is never pruned.
const PRUNE_FLOOR: usize = 4096;

/// A set of shared texts. A text no value holds any more is dropped when
/// the set has doubled since the last pruning, so the pruning costs a
/// constant amount per text added.
#[derive(Debug)]
pub struct SharedTexts {
    texts: HashSet<Rc<str>>,
    prune_at: usize,
}

impl Default for SharedTexts {
    fn default() -> Self {
        SharedTexts { texts: HashSet::new(), prune_at: PRUNE_FLOOR }
    }
}

impl SharedTexts {
    /// The shared copy of `text`.
    pub fn share(&mut self, text: &str) -> Rc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        if self.texts.len() >= self.prune_at {
            self.texts.retain(|t| Rc::strong_count(t) > 1);
            self.prune_at = (self.texts.len() * 2).max(PRUNE_FLOOR);
        }
        let shared: Rc<str> = Rc::from(text);
        self.texts.insert(shared.clone());
        shared
    }

    pub fn len(&self) -> usize {
        self.texts.len()
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
