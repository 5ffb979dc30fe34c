//! The scheduling queue, as 1.33's `PriorityQueue`:
//!
//! - activeQ: pods ready to be tried, highest priority first, then the
//!   oldest queue timestamp;
//! - backoffQ: pods moved out of the unschedulable pool by a cluster event,
//!   waiting out their backoff (1 s doubling per attempt, at most 10 s);
//!   when activeQ is empty they are popped early (SchedulerPopFromBackoffQ,
//!   on by default in 1.33) — except pods that failed with an error, which
//!   always wait;
//! - unschedulable pool: pods no node could take, until an event that may
//!   help them, or 5 minutes.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::engine::api::{KeyRef, Object, ObjectKey};
use crate::engine::sim::clock::VirtualTime;

pub const INITIAL_BACKOFF_MS: u64 = 1_000;
pub const MAX_BACKOFF_MS: u64 = 10_000;
/// `podMaxInUnschedulablePodsDuration`.
pub const MAX_UNSCHEDULABLE_MS: u64 = 5 * 60 * 1_000;
/// The queue's table is not shrunk below this capacity.
const MIN_SHRINK_CAPACITY: usize = 64;

/// How often the leftover unschedulable pods are checked.
pub const UNSCHEDULABLE_FLUSH_MS: u64 = 30_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Active,
    Backoff,
    /// Failed with an error (not a verdict): waits out its backoff.
    ErrorBackoff,
    Unschedulable,
    /// Blocked by `spec.schedulingGates`.
    Gated,
    /// Popped and being scheduled.
    InFlight,
}

#[derive(Clone, Debug)]
pub struct QueuedPod {
    pub pod: Rc<Object>,
    pub priority: i32,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// When the pod (re-)entered the queue; orders equal priorities.
    pub timestamp: VirtualTime,
    pub backoff_until: VirtualTime,
    /// Filter plugins that rejected the pod in its last attempt (bit per
    /// plugin index), for deciding which events may help it.
    pub rejectors: u32,
    pub place: Place,
    seq: u64,
}

type ActiveKey = (Reverse<i32>, VirtualTime, u64, ObjectKey);
type BackoffKey = (VirtualTime, u64, ObjectKey);

#[derive(Default)]
pub struct SchedulingQueue {
    pods: FxHashMap<ObjectKey, QueuedPod>,
    active: BTreeSet<ActiveKey>,
    /// Ordered by 1-second window of backoff expiry, then priority and age,
    /// as 1.33 orders its backoffQ.
    backoff: BTreeSet<(u64, Reverse<i32>, VirtualTime, u64, ObjectKey)>,
    error_backoff: BTreeSet<BackoffKey>,
    unschedulable: BTreeSet<ObjectKey>,
    seq: u64,
}

/// `1 s * 2^(attempts-1)`, at most 10 s.
pub fn backoff_ms(attempts: u32) -> u64 {
    let mut d = INITIAL_BACKOFF_MS;
    for _ in 1..attempts {
        d = d.saturating_mul(2);
        if d > MAX_BACKOFF_MS {
            return MAX_BACKOFF_MS;
        }
    }
    d.min(MAX_BACKOFF_MS)
}

fn priority_of(pod: &Object) -> i32 {
    match pod {
        Object::Pod(p) => p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
        _ => 0,
    }
}

fn gated(pod: &Object) -> bool {
    match pod {
        Object::Pod(p) => p.spec.as_ref().and_then(|s| s.scheduling_gates.as_ref()).is_some_and(|g| !g.is_empty()),
        _ => false,
    }
}

impl SchedulingQueue {
    pub fn len(&self) -> usize {
        self.pods.len()
    }
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
    pub fn get(&self, key: &ObjectKey) -> Option<&QueuedPod> {
        self.pods.get(key)
    }
    /// Whether the pod is queued, by its borrowed key.
    pub fn contains(&self, key: &dyn KeyRef) -> bool {
        self.pods.contains_key(key)
    }
    pub fn active_len(&self) -> usize {
        self.active.len()
    }
    pub fn unschedulable_keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.unschedulable.iter()
    }
    /// Anything that can be popped right now.
    pub fn has_ready(&self) -> bool {
        !self.active.is_empty() || !self.backoff.is_empty()
    }

    fn detach(&mut self, key: &ObjectKey) {
        let Some(q) = self.pods.get(key) else { return };
        match q.place {
            Place::Active => {
                self.active.remove(&(Reverse(q.priority), q.timestamp, q.seq, key.clone()));
            }
            Place::Backoff => {
                self.backoff.remove(&(q.backoff_until.as_millis() / 1000, Reverse(q.priority), q.timestamp, q.seq, key.clone()));
            }
            Place::ErrorBackoff => {
                self.error_backoff.remove(&(q.backoff_until, q.seq, key.clone()));
            }
            Place::Unschedulable => {
                self.unschedulable.remove(key);
            }
            Place::Gated | Place::InFlight => {}
        }
    }

    fn attach(&mut self, key: ObjectKey, place: Place) {
        self.seq += 1;
        let seq = self.seq;
        let Some(q) = self.pods.get_mut(&key) else { return };
        q.place = place;
        q.seq = seq;
        match place {
            Place::Active => {
                self.active.insert((Reverse(q.priority), q.timestamp, seq, key));
            }
            Place::Backoff => {
                self.backoff.insert((q.backoff_until.as_millis() / 1000, Reverse(q.priority), q.timestamp, seq, key));
            }
            Place::ErrorBackoff => {
                self.error_backoff.insert((q.backoff_until, seq, key));
            }
            Place::Unschedulable => {
                self.unschedulable.insert(key);
            }
            Place::Gated | Place::InFlight => {}
        }
    }

    /// A new pending pod. Returns whether it is held by scheduling gates.
    pub fn add(&mut self, key: ObjectKey, pod: Rc<Object>, now: VirtualTime) -> bool {
        if self.pods.contains_key(&key) {
            return self.update(key, pod, now);
        }
        let is_gated = gated(&pod);
        let q = QueuedPod {
            priority: priority_of(&pod),
            pod,
            attempts: 0,
            timestamp: now,
            backoff_until: now,
            rejectors: 0,
            place: Place::Gated,
            seq: 0,
        };
        self.pods.insert(key.clone(), q);
        self.attach(key, if is_gated { Place::Gated } else { Place::Active });
        is_gated
    }

    /// A newer version of a queued pod. A change to what scheduling reads
    /// (spec, labels) gives an unschedulable pod another try; status-only
    /// changes (our own condition writes) do not. Returns whether it is gated.
    pub fn update(&mut self, key: ObjectKey, pod: Rc<Object>, now: VirtualTime) -> bool {
        let Some(q) = self.pods.get(&key) else { return self.add(key, pod, now) };
        let relevant = match (&*q.pod, &*pod) {
            (Object::Pod(old), Object::Pod(new)) => !old.same_spec(new) || old.metadata.labels != new.metadata.labels,
            _ => true,
        };
        let place = q.place;
        let is_gated = gated(&pod);
        let priority = priority_of(&pod);
        self.detach(&key);
        if let Some(q) = self.pods.get_mut(&key) {
            q.pod = pod;
            q.priority = priority;
        }
        let next = match place {
            Place::InFlight => Place::InFlight,
            _ if is_gated => Place::Gated,
            Place::Gated => Place::Active,
            Place::Unschedulable if relevant => self.after_move(&key, now),
            other => other,
        };
        self.attach(key, next);
        is_gated
    }

    pub fn remove(&mut self, key: &ObjectKey) -> Option<QueuedPod> {
        self.detach(key);
        let removed = self.pods.remove(key);
        // A hash table keeps its capacity as it empties: after a burst of
        // creations is bound, the table sized for the whole burst (about
        // 200 bytes a pod) stayed to the end. It shrinks once a quarter
        // full, to twice what it holds, so each shrink follows at least as
        // many removals as it rehashes. `pods` is never iterated, so its
        // order cannot show.
        if self.pods.capacity() > MIN_SHRINK_CAPACITY && self.pods.len() * 4 < self.pods.capacity() {
            self.pods.shrink_to(self.pods.len() * 2);
        }
        removed
    }

    /// The next pod to try: activeQ first, else the backoffQ (1.33 pops it
    /// early when nothing else waits).
    pub fn pop(&mut self) -> Option<ObjectKey> {
        let key = if let Some(first) = self.active.pop_first() {
            first.3
        } else if let Some(first) = self.backoff.pop_first() {
            first.4
        } else {
            return None;
        };
        if let Some(q) = self.pods.get_mut(&key) {
            q.place = Place::InFlight;
            q.attempts += 1;
        }
        Some(key)
    }

    /// Where a pod moved by an event goes: backoffQ while backing off, else activeQ.
    fn after_move(&self, key: &ObjectKey, now: VirtualTime) -> Place {
        match self.pods.get(key) {
            Some(q) if q.backoff_until > now => Place::Backoff,
            _ => Place::Active,
        }
    }

    /// The attempt found no node: park the pod until an event may help.
    pub fn unschedulable(&mut self, key: &ObjectKey, rejectors: u32, now: VirtualTime) {
        let Some(q) = self.pods.get_mut(key) else { return };
        q.timestamp = now;
        q.backoff_until = now.plus_millis(backoff_ms(q.attempts));
        q.rejectors = rejectors;
        self.attach(key.clone(), Place::Unschedulable);
    }

    /// The attempt failed with an error (binding refused, API unreachable).
    pub fn errored(&mut self, key: &ObjectKey, now: VirtualTime) {
        let Some(q) = self.pods.get_mut(key) else { return };
        q.timestamp = now;
        q.backoff_until = now.plus_millis(backoff_ms(q.attempts));
        q.rejectors = 0;
        self.attach(key.clone(), Place::ErrorBackoff);
    }

    /// The pod was bound; it leaves the queue.
    pub fn done(&mut self, key: &ObjectKey) {
        self.remove(key);
    }

    /// Moves the unschedulable pods `may_help` picks (in key order) to
    /// backoffQ or activeQ. Returns how many moved.
    pub fn move_unschedulable(&mut self, now: VirtualTime, mut may_help: impl FnMut(&QueuedPod) -> bool) -> usize {
        let keys: Vec<ObjectKey> =
            self.unschedulable.iter().filter(|k| self.pods.get(*k).is_some_and(&mut may_help)).cloned().collect();
        for key in &keys {
            self.detach(key);
            let place = self.after_move(key, now);
            self.attach(key.clone(), place);
        }
        keys.len()
    }

    /// Timed moves: error backoffs that expired go to activeQ; pods
    /// unschedulable for 5 minutes get another try.
    pub fn flush(&mut self, now: VirtualTime) {
        while let Some(first) = self.error_backoff.first().cloned() {
            if first.0 > now {
                break;
            }
            self.error_backoff.pop_first();
            self.attach(first.2, Place::Active);
        }
        let stale: Vec<ObjectKey> = self
            .unschedulable
            .iter()
            .filter(|k| self.pods.get(*k).is_some_and(|q| now.millis_since(q.timestamp) >= MAX_UNSCHEDULABLE_MS))
            .cloned()
            .collect();
        for key in stale {
            self.detach(&key);
            let place = self.after_move(&key, now);
            self.attach(key, place);
        }
    }

    /// The next instant a timed move is due, if any.
    pub fn next_timed_move(&self, started: VirtualTime) -> Option<VirtualTime> {
        let error = self.error_backoff.first().map(|f| f.0);
        let oldest = self.unschedulable.iter().filter_map(|k| self.pods.get(k)).map(|q| q.timestamp).min();
        // The leftover check runs every 30 s from start, as the real one ticks.
        let leftover = oldest.map(|t| {
            let due = t.plus_millis(MAX_UNSCHEDULABLE_MS).as_millis();
            let since = due.saturating_sub(started.as_millis());
            let ticks = since.div_ceil(UNSCHEDULABLE_FLUSH_MS);
            VirtualTime::from_millis(started.as_millis() + ticks * UNSCHEDULABLE_FLUSH_MS)
        });
        match (error, leftover) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, priority: i32) -> Rc<Object> {
        Rc::new(Object::Pod(
            serde_json::from_value(serde_json::json!({"metadata": {"name": name, "namespace": "default"},
                "spec": {"containers": [{"name": "c"}], "priority": priority}}))
            .unwrap(),
        ))
    }

    #[test]
    fn backoff_doubles_to_ten_seconds() {
        let got: Vec<u64> = (1..=6).map(backoff_ms).collect();
        assert_eq!(got, vec![1000, 2000, 4000, 8000, 10000, 10000]);
    }

    #[test]
    fn pops_by_priority_then_age() {
        let mut q = SchedulingQueue::default();
        let t0 = VirtualTime::ZERO;
        q.add(ObjectKey::new("default", "low"), pod("low", 0), t0);
        q.add(ObjectKey::new("default", "high"), pod("high", 100), t0.plus_millis(5));
        q.add(ObjectKey::new("default", "low2"), pod("low2", 0), t0.plus_millis(1));
        let order: Vec<String> = std::iter::from_fn(|| q.pop()).map(|k| k.name.to_string()).collect();
        assert_eq!(order, vec!["high", "low", "low2"]);
    }

    #[test]
    fn unschedulable_pods_wait_for_events_or_five_minutes() {
        let mut q = SchedulingQueue::default();
        let key = ObjectKey::new("default", "p");
        q.add(key.clone(), pod("p", 0), VirtualTime::ZERO);
        assert_eq!(q.pop(), Some(key.clone()));
        q.unschedulable(&key, 1, VirtualTime::ZERO);
        assert_eq!(q.pop(), None);
        q.flush(VirtualTime::from_secs(299));
        assert_eq!(q.pop(), None);
        assert_eq!(q.next_timed_move(VirtualTime::ZERO), Some(VirtualTime::from_secs(300)));
        // An event that may help moves it to backoffQ, popped at once when activeQ is empty.
        q.move_unschedulable(VirtualTime::from_millis(500), |p| p.rejectors & 1 != 0);
        assert_eq!(q.get(&key).unwrap().place, Place::Backoff);
        assert_eq!(q.pop(), Some(key.clone()));
        q.unschedulable(&key, 1, VirtualTime::from_secs(1));
        q.flush(VirtualTime::from_secs(301));
        assert_eq!(q.get(&key).unwrap().place, Place::Active);
    }

    #[test]
    fn errors_wait_out_their_backoff() {
        let mut q = SchedulingQueue::default();
        let key = ObjectKey::new("default", "p");
        q.add(key.clone(), pod("p", 0), VirtualTime::ZERO);
        q.pop();
        q.errored(&key, VirtualTime::ZERO);
        assert_eq!(q.pop(), None);
        assert_eq!(q.next_timed_move(VirtualTime::ZERO), Some(VirtualTime::from_secs(1)));
        q.flush(VirtualTime::from_secs(1));
        assert_eq!(q.pop(), Some(key.clone()));
        q.errored(&key, VirtualTime::from_secs(1));
        assert_eq!(q.next_timed_move(VirtualTime::ZERO), Some(VirtualTime::from_secs(3)));
    }
}
