//! Events' leases, soonest first, kept in blocks of a fixed size.
//!
//! A busy cluster holds a lease for every Event of the last hour: at
//! 150,000 pods that is about 750,000 of them. One `VecDeque` doubled its
//! room as it grew, so up to half of it stood empty (42 MB where the
//! leases take 30); blocks leave at most one partly empty.

use std::collections::VecDeque;

/// Leases a block holds (an Event's is 40 bytes: 80 KB a block).
const BLOCK: usize = 2048;

/// A first-in, first-out queue in blocks of [`BLOCK`].
pub struct EventLeases<Lease> {
    /// Each full but the last; the first loses leases from its front.
    blocks: VecDeque<VecDeque<Lease>>,
}

impl<Lease> Default for EventLeases<Lease> {
    fn default() -> Self {
        EventLeases { blocks: VecDeque::new() }
    }
}

impl<Lease> EventLeases<Lease> {
    pub fn push_back(&mut self, lease: Lease) {
        match self.blocks.back_mut() {
            Some(last) if last.len() < BLOCK => last.push_back(lease),
            _ => {
                let mut block = VecDeque::with_capacity(BLOCK);
                block.push_back(lease);
                self.blocks.push_back(block);
            }
        }
    }

    pub fn front(&self) -> Option<&Lease> {
        self.blocks.front().and_then(VecDeque::front)
    }

    pub fn pop_front(&mut self) -> Option<Lease> {
        let first = self.blocks.front_mut()?;
        let lease = first.pop_front();
        if first.is_empty() {
            self.blocks.pop_front();
        }
        lease
    }

    pub fn clear(&mut self) {
        self.blocks.clear();
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Lease> {
        self.blocks.iter_mut().flat_map(VecDeque::iter_mut)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.blocks.iter().map(VecDeque::len).sum()
    }
}

impl<Lease> Extend<Lease> for EventLeases<Lease> {
    fn extend<I: IntoIterator<Item = Lease>>(&mut self, leases: I) {
        for lease in leases {
            self.push_back(lease);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_leave_in_the_order_they_came_across_blocks() {
        let mut leases: EventLeases<(u64, String)> = EventLeases::default();
        let mut model: VecDeque<(u64, String)> = VecDeque::new();
        let mut next = 1u64;
        // Pushes and pops interleaved, across several block boundaries,
        // emptying the queue once on the way.
        for round in 0..6 {
            for _ in 0..(BLOCK + 37 * round) {
                leases.push_back((next, format!("pod.{next:016x}")));
                model.push_back((next, format!("pod.{next:016x}")));
                next += 1;
            }
            let pops = if round == 3 { model.len() } else { BLOCK / 2 + 11 * round };
            for _ in 0..pops {
                assert_eq!(leases.pop_front(), model.pop_front());
            }
            assert_eq!(leases.len(), model.len());
            assert_eq!(leases.front(), model.front());
            // Every block but the last is full; the first may have lost its front.
            assert!(leases.blocks.iter().skip(1).rev().skip(1).all(|b| b.len() == BLOCK));
        }
        for lease in leases.iter_mut() {
            lease.0 = 0;
        }
        assert_eq!(leases.iter_mut().map(|l| l.0).sum::<u64>(), 0);
        assert_eq!(leases.iter_mut().count(), model.len());
        leases.clear();
        assert!(leases.front().is_none() && leases.pop_front().is_none());
    }
}
