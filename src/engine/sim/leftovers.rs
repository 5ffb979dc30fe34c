//! What a stopped process held, freed a part at a time between component
//! runs. A scheduler's cache of 50,000 pods takes tens of milliseconds to
//! free at once, which the page would spend inside the click that stopped
//! it; the memory is unreachable from the moment the process stops, so when
//! it is freed changes nothing a learner or a transcript sees.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Entries freed after each component run, across all leftovers.
pub const RELEASED_PER_RUN: usize = 2_000;

/// A collection that can be emptied a few entries at a time.
pub trait Release {
    /// Drops up to `budget` entries; returns how many it dropped.
    fn release(&mut self, budget: usize) -> usize;
    fn is_released(&self) -> bool;
}

impl<K: Ord, V> Release for BTreeMap<K, V> {
    fn release(&mut self, budget: usize) -> usize {
        let mut dropped = 0;
        while dropped < budget && self.pop_last().is_some() {
            dropped += 1;
        }
        dropped
    }
    fn is_released(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V, S: BuildHasher> Release for HashMap<K, V, S> {
    fn release(&mut self, budget: usize) -> usize {
        self.extract_if(|_, _| true).take(budget).count()
    }
    fn is_released(&self) -> bool {
        self.is_empty()
    }
}

/// Leftovers waiting to be freed, oldest first.
#[derive(Default)]
pub struct Leftovers(Vec<Box<dyn Release>>);

impl Leftovers {
    pub fn add(&mut self, parts: Vec<Box<dyn Release>>) {
        self.0.extend(parts.into_iter().filter(|p| !p.is_released()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Frees up to `budget` entries, oldest leftovers first.
    pub fn release(&mut self, mut budget: usize) {
        while budget > 0 {
            let Some(first) = self.0.first_mut() else { return };
            budget = budget.saturating_sub(first.release(budget).max(1));
            if first.is_released() {
                self.0.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_a_part_at_a_time_oldest_first() {
        let mut leftovers = Leftovers::default();
        let tree: BTreeMap<u32, String> = (0..5).map(|i| (i, i.to_string())).collect();
        let table: HashMap<u32, String> = (0..3).map(|i| (i, i.to_string())).collect();
        leftovers.add(vec![Box::new(tree), Box::new(BTreeMap::<u8, u8>::new()), Box::new(table)]);
        assert_eq!(leftovers.0.len(), 2, "an empty part is not kept");
        leftovers.release(4);
        assert_eq!(leftovers.0.len(), 2);
        leftovers.release(2);
        assert_eq!(leftovers.0.len(), 1, "the tree's last entry went, then one of the table's");
        leftovers.release(10);
        assert!(leftovers.is_empty());
        leftovers.release(10);
    }
}
