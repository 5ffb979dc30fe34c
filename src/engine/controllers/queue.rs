//! A work queue of object keys, as client-go's rate-limited delaying queue:
//! a key is queued at most once, delayed keys wait for their instant, and a
//! key whose sync failed comes back after an exponential back-off.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use rustc_hash::FxHashMap;

use crate::engine::api::{ObjectKey, ResourceId};
use crate::engine::controllers::cache::Cache;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

/// client-go's `DefaultControllerRateLimiter` per-item back-off: 5 ms doubling to 1000 s.
const BACKOFF_BASE_MS: u64 = 5;
const BACKOFF_MAX_MS: u64 = 1_000_000;
/// Keys synced per run before the controller yields (it runs again at the
/// same instant), so one run stays short in a browser frame.
pub const SYNCS_PER_RUN: usize = 256;

pub struct WorkQueue<K = ObjectKey> {
    ready: VecDeque<K>,
    queued: BTreeSet<K>,
    delayed: BTreeMap<(VirtualTime, u64), K>,
    delayed_at: FxHashMap<K, VirtualTime>,
    seq: u64,
    failures: FxHashMap<K, u32>,
}

impl<K> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue { ready: VecDeque::new(), queued: BTreeSet::new(), delayed: BTreeMap::new(), delayed_at: FxHashMap::default(), seq: 0, failures: FxHashMap::default() }
    }
}

impl<K: Clone + Ord + std::hash::Hash> WorkQueue<K> {
    pub fn add(&mut self, key: K) {
        // Most adds find the key queued already (every pod of a set that
        // changed in one run queues the set): no copy of it then.
        if !self.queued.contains(&key) {
            self.queued.insert(key.clone());
            self.ready.push_back(key);
        }
    }

    /// Whether `key` waits in the ready queue (not a delayed one); `key`
    /// may be borrowed parts.
    pub fn is_queued<Q: ?Sized + Ord>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
    {
        self.queued.contains(key)
    }

    /// Queue `key` at `at` (the earliest request wins).
    pub fn add_at(&mut self, key: K, at: VirtualTime) {
        if self.queued.contains(&key) {
            return;
        }
        if let Some(existing) = self.delayed_at.get(&key) {
            if *existing <= at {
                return;
            }
        }
        self.seq += 1;
        self.delayed_at.insert(key.clone(), at);
        self.delayed.insert((at, self.seq), key);
    }

    /// The sync of `key` failed: try again after the key's back-off.
    pub fn retry(&mut self, key: K, now: VirtualTime) {
        let n = self.failures.entry(key.clone()).or_insert(0);
        let delay = BACKOFF_BASE_MS.saturating_mul(1u64 << (*n).min(30)).min(BACKOFF_MAX_MS);
        *n += 1;
        self.add_at(key, now.plus_millis(delay));
    }

    /// The sync of `key` succeeded: its back-off starts over.
    pub fn forget(&mut self, key: &K) {
        self.failures.remove(key);
    }

    /// The next key to sync, moving due delayed keys in first.
    pub fn pop(&mut self, now: VirtualTime) -> Option<K> {
        while let Some(((t, seq), _)) = self.delayed.first_key_value() {
            if *t > now {
                break;
            }
            let (t, seq) = (*t, *seq);
            if let Some(key) = self.delayed.remove(&(t, seq)) {
                if self.delayed_at.get(&key) == Some(&t) {
                    self.delayed_at.remove(&key);
                    self.add(key);
                }
            }
        }
        let key = self.ready.pop_front()?;
        self.queued.remove(&key);
        Some(key)
    }

    pub fn is_empty(&self) -> bool {
        self.ready.is_empty()
    }

    /// Ask the component to run when the next delayed key is due, or at
    /// once when ready keys remain.
    pub fn schedule_wake(&self, ctx: &mut Ctx) {
        if !self.ready.is_empty() {
            ctx.wake_at(ctx.now);
        } else if let Some(((t, _), _)) = self.delayed.first_key_value() {
            ctx.wake_at(*t);
        }
    }

    pub fn clear(&mut self) {
        *self = WorkQueue::default();
    }

    /// Takes over `other`'s ready and delayed keys.
    pub fn absorb(&mut self, other: WorkQueue<K>) {
        for key in other.ready {
            self.add(key);
        }
        for ((at, _), key) in other.delayed {
            self.add_at(key, at);
        }
    }

    pub fn len(&self) -> usize {
        self.ready.len() + self.delayed.len()
    }
}

/// Whether the caches `watches` names are filled. The first time they are
/// after a (re)start, every object of `kind` is queued once, as a
/// controller's initial resync does; until then the controller waits.
pub fn primed(primed: &mut bool, queue: &mut WorkQueue<ObjectKey>, cache: &Cache, watches: &[ResourceId], kind: ResourceId) -> bool {
    if !cache.synced(watches) {
        *primed = false;
        return false;
    }
    if !*primed {
        *primed = true;
        for o in cache.of(kind).items() {
            queue.add(ObjectKey::of(o));
        }
    }
    true
}

/// Drains up to [`SYNCS_PER_RUN`] keys through `sync`, which may ask for
/// the key again at an instant (a deadline to check); a failed sync is
/// retried with back-off. Returns after asking for the next wake-up.
pub fn drain<K: Clone + Ord + std::hash::Hash, E>(
    queue: &mut WorkQueue<K>,
    ctx: &mut Ctx,
    mut sync: impl FnMut(&mut Ctx, &K) -> Result<Option<VirtualTime>, E>,
) {
    for _ in 0..SYNCS_PER_RUN {
        let Some(key) = queue.pop(ctx.now) else { break };
        match sync(ctx, &key) {
            Ok(again) => {
                queue.forget(&key);
                if let Some(t) = again {
                    queue.add_at(key, t);
                }
            }
            Err(_) => queue.retry(key, ctx.now),
        }
    }
    queue.schedule_wake(ctx);
}
