//! The store's keys and their entries, in key order to every reader.
//!
//! Core Events (`/registry/events/…`) are most of a busy cluster's keys: a
//! pod's start records six or more, each written once, bumped now and then,
//! expired after an hour, and seldom listed. In one ordered map with every
//! other key, each new Event's key was placed by a search that compared it
//! with dozens of others, each a long text behind a pointer (at 5,000 nodes
//! that search was about 6 % of the start phase's time). So Events
//! are found by hash here, and put in key order only when a read asks for
//! them in order: the first such read sorts them, and later ones merge in
//! the keys created since. Every other key is found by hash too, with its
//! order kept beside in an ordered set: reading or updating a pod searched
//! the ordered map, comparing its key with a few dozen others, each behind
//! its own pointer (a cache miss apiece in a large cluster); now only
//! creating and deleting a key places it in order. A reader sees one
//! keyspace in key order, as before.

use std::cell::RefCell;
use std::collections::hash_map;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::Entry;
use crate::engine::sort::SortStable;

/// Where core Events' keys begin; no other key begins so.
pub const EVENTS_PREFIX: &str = "/registry/events/";

fn is_event(key: &str) -> bool {
    key.starts_with(EVENTS_PREFIX)
}

/// Kinds whose keys are counted, so that asking whether there are any is
/// not a search: the API server's admission asks at every create (a
/// ResourceQuota for every namespaced object, a LimitRange for every
/// pod), and most clusters hold none, where the search compared the
/// prefix with a dozen long keys.
pub const COUNTED_PREFIXES: [&str; 2] = ["/registry/resourcequotas/", "/registry/limitranges/"];

/// Which of [`COUNTED_PREFIXES`] `key` is under.
fn counted(key: &str) -> Option<usize> {
    COUNTED_PREFIXES.iter().position(|p| key.starts_with(p))
}

#[derive(Clone, Debug, Default)]
pub struct Keyspace {
    ordered: OrderedMap,
    events: EventMap,
    /// The Events' keys in order, kept from the first read that asked for
    /// them in order (a cluster no one lists Events of keeps no order).
    event_order: RefCell<Option<EventOrder>>,
}

/// Every key but core Events': entries by hash, keys in order beside
/// (the same texts, shared).
#[derive(Clone, Debug, Default)]
struct OrderedMap {
    entries: FxHashMap<Rc<str>, Entry>,
    order: BTreeSet<Rc<str>>,
    /// How many keys are under each of [`COUNTED_PREFIXES`].
    counts: [usize; COUNTED_PREFIXES.len()],
}

impl OrderedMap {
    fn insert(&mut self, key: Rc<str>, entry: Entry) {
        match self.entries.entry(key) {
            hash_map::Entry::Occupied(mut held) => {
                held.insert(entry);
            }
            hash_map::Entry::Vacant(slot) => {
                if let Some(i) = counted(slot.key()) {
                    self.counts[i] += 1;
                }
                self.order.insert(slot.key().clone());
                slot.insert(entry);
            }
        }
    }

    fn remove_entry(&mut self, key: &str) -> Option<(Rc<str>, Entry)> {
        let removed = self.entries.remove_entry(key)?;
        if let Some(i) = counted(key) {
            self.counts[i] -= 1;
        }
        self.order.remove(key);
        Some(removed)
    }

    /// The entries whose keys are within the bounds, in key order.
    fn range<'a>(&'a self, from: Bound<&'a str>, to: Bound<&'a str>) -> impl Iterator<Item = (&'a Rc<str>, &'a Entry)> + 'a {
        self.order.range::<str, _>((from, to)).filter_map(|k| self.entries.get_key_value(&**k))
    }
}

/// Events by key, in shards chosen by the key's hash: a table grows by
/// doubling, and the natively used allocator keeps what it ever held, so
/// one table of 900,000 Events left its outgrown halves (tens of MB)
/// behind; a shard's outgrown tables are small enough to be reused.
#[derive(Clone, Debug)]
struct EventMap {
    shards: Vec<FxHashMap<Rc<str>, Entry>>,
}

const EVENT_SHARDS: usize = 64;

impl Default for EventMap {
    fn default() -> Self {
        EventMap { shards: (0..EVENT_SHARDS).map(|_| FxHashMap::default()).collect() }
    }
}

impl EventMap {
    fn shard(&self, key: &str) -> usize {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write(key.as_bytes());
        // The high bits: FxHash mixes its last word into them.
        (h.finish() >> 58) as usize % EVENT_SHARDS
    }

    fn of(&self, key: &str) -> &FxHashMap<Rc<str>, Entry> {
        &self.shards[self.shard(key)]
    }

    fn of_mut(&mut self, key: &str) -> &mut FxHashMap<Rc<str>, Entry> {
        let shard = self.shard(key);
        &mut self.shards[shard]
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }

    fn contains_key(&self, key: &str) -> bool {
        self.of(key).contains_key(key)
    }

    fn get_key_value(&self, key: &str) -> Option<(&Rc<str>, &Entry)> {
        self.of(key).get_key_value(key)
    }

    /// In no particular order.
    fn iter(&self) -> impl Iterator<Item = (&Rc<str>, &Entry)> {
        self.shards.iter().flatten()
    }
}

/// The Events' keys as of the last ordered read, and those created since.
#[derive(Clone, Debug, Default)]
pub struct EventOrder {
    /// In key order; may still hold keys deleted since (dropped when next
    /// read), and a key deleted and created again is also in `created`.
    sorted: Vec<Rc<str>>,
    /// Created since the last ordered read, in no order.
    created: Vec<Rc<str>>,
    /// Whether a key was deleted since the last ordered read.
    deleted: bool,
}

impl Keyspace {
    pub fn len(&self) -> usize {
        self.ordered.entries.len() + self.events.len()
    }

    /// Whether any key is under `prefix`, one of [`COUNTED_PREFIXES`]
    /// (any other prefix: found by a search).
    pub fn holds_any_under(&self, prefix: &str) -> bool {
        match COUNTED_PREFIXES.iter().position(|p| *p == prefix) {
            Some(i) => self.ordered.counts[i] > 0,
            None => self.range(prefix).next().is_some(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.entries.is_empty() && self.events.is_empty()
    }

    /// The hash table that holds `key` if it is stored: its Event shard, or
    /// the table of every other key.
    fn table(&self, key: &str) -> &FxHashMap<Rc<str>, Entry> {
        if is_event(key) {
            self.events.of(key)
        } else {
            &self.ordered.entries
        }
    }

    fn table_mut(&mut self, key: &str) -> &mut FxHashMap<Rc<str>, Entry> {
        if is_event(key) {
            self.events.of_mut(key)
        } else {
            &mut self.ordered.entries
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.table(key).get(key)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&Rc<str>, &Entry)> {
        self.table(key).get_key_value(key)
    }

    /// The entry under `key` to change in place, with the store's key.
    pub fn get_mut(&mut self, key: &str) -> Option<(Rc<str>, &mut Entry)> {
        let table = self.table_mut(key);
        let stored = table.get_key_value(key)?.0.clone();
        Some((stored, table.get_mut(key)?))
    }

    /// Where `key` goes if it is absent; else the entry there.
    pub fn vacant(&mut self, key: Rc<str>) -> Result<Vacant<'_>, &Entry> {
        if is_event(&key) {
            match self.events.of_mut(&key).entry(key) {
                hash_map::Entry::Occupied(existing) => Err(&*existing.into_mut()),
                hash_map::Entry::Vacant(slot) => Ok(Vacant::Event(slot, self.event_order.get_mut())),
            }
        } else {
            let OrderedMap { entries, order, counts } = &mut self.ordered;
            match entries.entry(key) {
                hash_map::Entry::Occupied(existing) => Err(&*existing.into_mut()),
                hash_map::Entry::Vacant(slot) => Ok(Vacant::Ordered(slot, order, counts)),
            }
        }
    }

    /// Writes `entry` under `key`, in place of any entry there.
    pub fn insert(&mut self, key: Rc<str>, entry: Entry) {
        if is_event(&key) {
            let order = self.event_order.get_mut();
            if self.events.of_mut(&key).insert(key.clone(), entry).is_none() {
                if let Some(order) = order {
                    order.created.push(key);
                }
            }
        } else {
            self.ordered.insert(key, entry);
        }
    }

    pub fn remove_entry(&mut self, key: &str) -> Option<(Rc<str>, Entry)> {
        if is_event(key) {
            let removed = self.events.of_mut(key).remove_entry(key)?;
            if let Some(order) = self.event_order.get_mut() {
                order.deleted = true;
            }
            Some(removed)
        } else {
            self.ordered.remove_entry(key)
        }
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn range<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a Rc<str>, &'a Entry)> + 'a {
        let starts = move |(k, _): &(&Rc<str>, &Entry)| k.starts_with(prefix);
        // Events' keys are one block in key order: what the prefix takes of
        // the ordered map before it, the Events, what it takes after it.
        let (before, events, after) = if prefix.starts_with(EVENTS_PREFIX) {
            (None, self.events_in_order(prefix), None)
        } else if EVENTS_PREFIX.starts_with(prefix) {
            let before = self.ordered.range(Bound::Included(prefix), Bound::Excluded(EVENTS_PREFIX));
            let after = self.ordered.range(Bound::Included(EVENTS_PREFIX), Bound::Unbounded).take_while(starts);
            (Some(before), self.events_in_order(EVENTS_PREFIX), Some(after))
        } else {
            (Some(self.ordered.range(Bound::Included(prefix), Bound::Unbounded)), Vec::new(), None)
        };
        before.into_iter().flatten().take_while(starts).chain(events).chain(after.into_iter().flatten())
    }

    /// Every entry whose key starts with `prefix`, in no set order (the
    /// hash tables' own, which differs between the native and the page's
    /// builds): for counts and sums only. It reads each entry where it lies,
    /// where an ordered read finds each key's entry by hash.
    pub fn scan_unordered<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        let starts = move |(k, e): (&Rc<str>, &'a Entry)| k.starts_with(prefix).then_some(e);
        let events = (prefix.starts_with(EVENTS_PREFIX) || EVENTS_PREFIX.starts_with(prefix)).then(|| self.events.iter().filter_map(starts));
        let others = (!prefix.starts_with(EVENTS_PREFIX)).then(|| self.ordered.entries.iter().filter_map(starts));
        others.into_iter().flatten().chain(events.into_iter().flatten())
    }

    /// The Events whose keys start with `prefix` (itself under
    /// [`EVENTS_PREFIX`]), in key order.
    fn events_in_order<'a>(&'a self, prefix: &str) -> Vec<(&'a Rc<str>, &'a Entry)> {
        if self.events.is_empty() {
            return Vec::new();
        }
        let Ok(mut order) = self.event_order.try_borrow_mut() else {
            // Not reached (no read runs inside another); ordered afresh.
            return self.events_sorted_afresh(prefix);
        };
        let order = order.get_or_insert_with(|| {
            let mut sorted: Vec<Rc<str>> = self.events.iter().map(|(k, _)| k.clone()).collect();
            sorted.sort_stable();
            EventOrder { sorted, created: Vec::new(), deleted: false }
        });
        order.bring_up_to_date(&self.events);
        let from = order.sorted.partition_point(|k| **k < *prefix);
        order.sorted[from..].iter().take_while(|k| k.starts_with(prefix)).filter_map(|k| self.events.get_key_value(&**k)).collect()
    }

    fn events_sorted_afresh<'a>(&'a self, prefix: &str) -> Vec<(&'a Rc<str>, &'a Entry)> {
        let mut found: Vec<(&'a Rc<str>, &'a Entry)> = self.events.iter().filter(|(k, _)| k.starts_with(prefix)).collect();
        found.sort_stable_by(|a, b| a.0.cmp(b.0));
        found
    }
}

/// A key's place, found absent.
pub enum Vacant<'a> {
    Ordered(hash_map::VacantEntry<'a, Rc<str>, Entry>, &'a mut BTreeSet<Rc<str>>, &'a mut [usize; COUNTED_PREFIXES.len()]),
    Event(hash_map::VacantEntry<'a, Rc<str>, Entry>, &'a mut Option<EventOrder>),
}

impl Vacant<'_> {
    pub fn key(&self) -> &Rc<str> {
        match self {
            Vacant::Ordered(slot, _, _) => slot.key(),
            Vacant::Event(slot, _) => slot.key(),
        }
    }

    /// Writes `entry` there.
    pub fn insert(self, entry: Entry) {
        match self {
            Vacant::Ordered(slot, order, counts) => {
                if let Some(i) = counted(slot.key()) {
                    counts[i] += 1;
                }
                order.insert(slot.key().clone());
                slot.insert(entry);
            }
            Vacant::Event(slot, order) => {
                if let Some(order) = order {
                    order.created.push(slot.key().clone());
                }
                slot.insert(entry);
            }
        }
    }
}

impl EventOrder {
    /// Drops deleted keys, and merges the keys created since into order.
    fn bring_up_to_date(&mut self, events: &EventMap) {
        if self.deleted {
            self.sorted.retain(|k| events.contains_key(k));
            self.created.retain(|k| events.contains_key(k));
            self.deleted = false;
        }
        if self.created.is_empty() {
            return;
        }
        let mut created = std::mem::take(&mut self.created);
        created.sort_stable();
        let mut merged = Vec::with_capacity(self.sorted.len() + created.len());
        let (mut old, mut new) = (std::mem::take(&mut self.sorted).into_iter().peekable(), created.into_iter().peekable());
        loop {
            let next = match (old.peek(), new.peek()) {
                (Some(a), Some(b)) if a <= b => old.next(),
                (Some(_), Some(_)) | (None, Some(_)) => new.next(),
                (Some(_), None) => old.next(),
                (None, None) => break,
            };
            // A key deleted and created again is in both lists: once here.
            if let Some(key) = next.filter(|k| merged.last() != Some(k)) {
                merged.push(key);
            }
        }
        self.sorted = merged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use crate::engine::api::{ids, Object};
    use crate::engine::store::Value;

    fn entry(n: i64) -> Entry {
        let pod = Object::from_json(ids::pods(), serde_json::json!({"metadata": {"name": "p"}})).expect("a pod decodes");
        Entry { value: Value::Object(Rc::new(pod)), create_revision: n, mod_revision: n }
    }

    fn seen<'a>(items: impl Iterator<Item = (&'a Rc<str>, &'a Entry)>) -> Vec<(String, i64)> {
        items.map(|(k, e)| (k.to_string(), e.mod_revision)).collect()
    }

    /// Keys around the Events' block: namespaces and names that are
    /// prefixes of one another, keys just before and after the block.
    const KEYS: [&str; 17] = [
        "/registry/events/a/x.1",
        "/registry/events/a/x.10",
        "/registry/events/a/x.2",
        "/registry/events/a-b/y.1",
        "/registry/events/ab/z.1",
        "/registry/events/b/x.1",
        "/registry/events.k8s.io/a/x",
        "/registry/event/a/x",
        "/registry/eventsx/a/x",
        "/registry/endpoints/a/x",
        "/registry/pods/a/x",
        "/registry/pods/a-b/x",
        "/registry/namespaces/a",
        "/registry/resourcequotas/a/q",
        "/registry/resourcequotas/b/q",
        "/registry/limitranges/a/l",
        "/registry/f",
    ];

    const PREFIXES: [&str; 12] = [
        "",
        "/",
        "/registry/",
        "/registry/e",
        "/registry/event",
        "/registry/events",
        "/registry/events/",
        "/registry/events/a",
        "/registry/events/a/",
        "/registry/events/a/x.1",
        "/registry/pods/",
        "/zzz",
    ];

    #[test]
    fn reads_as_one_ordered_map_through_writes_deletes_and_ordered_reads() {
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..200 {
            let mut keyspace = Keyspace::default();
            let mut model: BTreeMap<Rc<str>, Entry> = BTreeMap::new();
            for step in 0..60 {
                let key = KEYS[rng.usize(..KEYS.len())];
                let n = (round * 100 + step) as i64;
                match rng.u8(..5) {
                    0 | 1 => {
                        let vacant = keyspace.vacant(Rc::from(key)).is_ok();
                        assert_eq!(vacant, !model.contains_key(key), "{key}");
                        if let Ok(slot) = keyspace.vacant(Rc::from(key)) {
                            assert_eq!(&**slot.key(), key);
                            slot.insert(entry(n));
                            model.insert(Rc::from(key), entry(n));
                        }
                    }
                    2 => {
                        keyspace.insert(Rc::from(key), entry(n));
                        model.insert(Rc::from(key), entry(n));
                    }
                    3 => {
                        let removed = keyspace.remove_entry(key).map(|(k, e)| (k.to_string(), e.mod_revision));
                        assert_eq!(removed, model.remove_entry(key).map(|(k, e)| (k.to_string(), e.mod_revision)));
                    }
                    _ => {
                        if let Some((stored, e)) = keyspace.get_mut(key) {
                            assert_eq!(&*stored, key);
                            e.mod_revision = n;
                        }
                        if let Some(e) = model.get_mut(key) {
                            e.mod_revision = n;
                        }
                    }
                }
                assert_eq!(keyspace.len(), model.len());
                assert_eq!(keyspace.ordered.entries.len(), keyspace.ordered.order.len(), "every key found by hash is in order");
                for prefix in COUNTED_PREFIXES {
                    let held = model.keys().any(|k| k.starts_with(prefix));
                    assert_eq!(keyspace.holds_any_under(prefix), held, "{prefix}");
                    assert_eq!(keyspace.clone().holds_any_under(prefix), held, "{prefix}, cloned (a snapshot)");
                }
                assert_eq!(keyspace.get(key).map(|e| e.mod_revision), model.get(key).map(|e| e.mod_revision));
                // Ordered reads now and then, so later writes meet a kept order.
                if rng.u8(..4) == 0 {
                    let prefix = PREFIXES[rng.usize(..PREFIXES.len())];
                    let expected = seen(model.range::<str, _>((Bound::Included(prefix), Bound::Unbounded)).take_while(|(k, _)| k.starts_with(prefix)));
                    assert_eq!(seen(keyspace.range(prefix)), expected, "prefix {prefix:?}");
                    let mut scanned: Vec<i64> = keyspace.scan_unordered(prefix).map(|e| e.mod_revision).collect();
                    scanned.sort_unstable();
                    let mut listed: Vec<i64> = expected.iter().map(|(_, r)| *r).collect();
                    listed.sort_unstable();
                    assert_eq!(scanned, listed, "an unordered scan of {prefix:?} finds what the ordered read does");
                }
            }
            for prefix in PREFIXES {
                let expected = seen(model.range::<str, _>((Bound::Included(prefix), Bound::Unbounded)).take_while(|(k, _)| k.starts_with(prefix)));
                assert_eq!(seen(keyspace.range(prefix)), expected, "prefix {prefix:?}");
                assert_eq!(seen(keyspace.clone().range(prefix)), expected, "a copy reads the same");
            }
        }
    }

    #[test]
    fn the_events_prefix_is_the_api_servers_key_for_core_events() {
        let key = crate::engine::apiserver::ApiServer::key(ids::events(), "default", "web.18a");
        assert!(is_event(&key), "{key}");
        assert_eq!(EVENTS_PREFIX, format!("/registry/{}/", crate::engine::api::resource(ids::events()).qualified_plural()));
        for other in [ids::pods(), ids::namespaces(), ids::nodes()] {
            assert!(!is_event(&crate::engine::apiserver::ApiServer::key(other, "default", "web.18a")));
        }
    }

    #[test]
    fn events_are_not_ordered_until_a_read_asks() {
        let mut keyspace = Keyspace::default();
        keyspace.insert(Rc::from("/registry/events/a/x.2"), entry(1));
        keyspace.insert(Rc::from("/registry/pods/a/x"), entry(2));
        assert!(keyspace.event_order.borrow().is_none());
        assert_eq!(keyspace.range("/registry/pods/").count(), 1);
        assert!(keyspace.event_order.borrow().is_none(), "a read of other keys leaves Events unordered");
        keyspace.insert(Rc::from("/registry/events/a/x.1"), entry(3));
        assert_eq!(seen(keyspace.range("/registry/events/")), vec![("/registry/events/a/x.1".into(), 3), ("/registry/events/a/x.2".into(), 1)]);
        assert!(keyspace.event_order.borrow().is_some());
    }
}
