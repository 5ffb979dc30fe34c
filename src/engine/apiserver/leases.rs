//! Events' leases, soonest first (every write of an Event attaches one of
//! `--event-ttl`, so they come in expiry order), kept in chunks of a fixed
//! size: one queue of every lease grew by doubling, each time copying
//! every lease into fresh pages and leaving the old block to the allocator
//! (hundreds of thousands of Events at 5,000 nodes).

use std::collections::VecDeque;
use std::rc::Rc;

use crate::engine::sim::clock::VirtualTime;

/// One lease: (expiry, the Event's key, the revision of the write it was
/// attached at). The key is the store's own, shared.
pub type Lease = (VirtualTime, Rc<str>, i64);

/// Leases a chunk holds (32 KiB).
const CHUNK: usize = 1024;

#[derive(Debug, Default)]
pub struct Leases {
    /// Oldest first; every chunk but the last is full when made, and only
    /// the first is ever taken from.
    chunks: VecDeque<VecDeque<Lease>>,
}

impl Leases {
    pub fn front(&self) -> Option<&Lease> {
        self.chunks.front().and_then(VecDeque::front)
    }

    pub fn pop_front(&mut self) -> Option<Lease> {
        let first = self.chunks.front_mut()?;
        let lease = first.pop_front();
        if first.is_empty() {
            self.chunks.pop_front();
        }
        lease
    }

    pub fn push_back(&mut self, lease: Lease) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push_back(lease),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(lease);
                self.chunks.push_back(chunk);
            }
        }
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Lease> {
        self.chunks.iter_mut().flat_map(VecDeque::iter_mut)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.chunks.iter().map(VecDeque::len).sum()
    }
}

impl Extend<Lease> for Leases {
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
    fn leases_come_out_in_the_order_they_went_in_across_chunks() {
        let mut leases = Leases::default();
        let key: Rc<str> = Rc::from("/registry/events/default/a.1");
        let n = 3 * CHUNK as i64 + 5;
        leases.extend((0..n).map(|i| (VirtualTime::ZERO, key.clone(), i)));
        assert_eq!(leases.len(), n as usize);
        for lease in leases.iter_mut() {
            lease.2 += 1;
        }
        for i in 0..(CHUNK as i64 + 3) {
            assert_eq!(leases.front().map(|l| l.2), Some(i + 1));
            assert_eq!(leases.pop_front().map(|l| l.2), Some(i + 1));
        }
        leases.push_back((VirtualTime::ZERO, key.clone(), -1));
        let rest: Vec<i64> = std::iter::from_fn(|| leases.pop_front()).map(|l| l.2).collect();
        let mut expected: Vec<i64> = (CHUNK as i64 + 4..=n).collect();
        expected.push(-1);
        assert_eq!(rest, expected);
        assert!(leases.front().is_none() && leases.chunks.is_empty());
    }
}
