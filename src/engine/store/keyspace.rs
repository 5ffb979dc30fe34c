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
//! the keys created since. An Event's key is kept as its object's part,
//! shared by that object's Events, and its stamp as a number (see
//! [`EventKey`]); its text is made when it is read. Every other key is
//! found by hash too, with its order kept beside in an ordered set: reading or updating a pod searched
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
/// pod, a ValidatingAdmissionPolicy for every write), and most clusters
/// hold none, where the search compared the prefix with a dozen long keys.
pub const COUNTED_PREFIXES: [&str; 3] =
    ["/registry/resourcequotas/", "/registry/limitranges/", "/registry/validatingadmissionpolicies.admissionregistration.k8s.io/"];

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

/// A core Event's key as the keyspace keeps it. Nearly every Event is
/// named `<object>.<16 hex digits>` (the recorders' stamp): such a key is
/// its head (`/registry/events/<namespace>/<object>`, one text shared by
/// every Event of that object) and the stamp as a number, where its own
/// text took about 96 bytes, for each of the five or more Events of every
/// pod. Any other key is its whole text as the head, with a stamp of 0
/// (no stamp written with 16 digits is 0). The form is the key's text's
/// own, so two keys are equal when their heads and stamps are.
#[derive(Clone, Debug)]
pub struct EventKey {
    head: Rc<str>,
    stamp: u64,
}

/// The digits of a stamp, after the `.`.
const STAMP_DIGITS: usize = 16;

/// `key` as (head, stamp): the stamp when `key` ends in `.` and 16
/// lowercase hex digits that are not all zeros, else (`key`, 0).
fn split_event_key(key: &str) -> (&str, u64) {
    let bytes = key.as_bytes();
    let Some(dot) = bytes.len().checked_sub(STAMP_DIGITS + 1) else { return (key, 0) };
    if dot == 0 || bytes[dot] != b'.' {
        return (key, 0);
    }
    let mut stamp = 0u64;
    for &b in &bytes[dot + 1..] {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return (key, 0),
        };
        stamp = (stamp << 4) | u64::from(digit);
    }
    // `.` is one byte: `dot` is a character boundary.
    if stamp == 0 {
        (key, 0)
    } else {
        (&key[..dot], stamp)
    }
}

/// What follows a key's head: `.` and the stamp's 16 digits, or nothing
/// for a stamp of 0. (The bytes, and how many of them are the suffix.)
fn stamp_suffix(stamp: u64) -> ([u8; STAMP_DIGITS + 1], usize) {
    let mut out = [b'.'; STAMP_DIGITS + 1];
    if stamp == 0 {
        return (out, 0);
    }
    for (i, slot) in out[1..].iter_mut().enumerate() {
        let digit = ((stamp >> (4 * (STAMP_DIGITS - 1 - i))) & 0xf) as u8;
        *slot = if digit < 10 { b'0' + digit } else { b'a' + digit - 10 };
    }
    (out, STAMP_DIGITS + 1)
}

/// Byte order of the texts of two keys given as (head, stamp).
fn text_order(a: (&str, u64), b: (&str, u64)) -> std::cmp::Ordering {
    let (sa, la) = stamp_suffix(a.1);
    let (sb, lb) = stamp_suffix(b.1);
    a.0.as_bytes().iter().chain(&sa[..la]).cmp(b.0.as_bytes().iter().chain(&sb[..lb]))
}

impl EventKey {
    fn parts(&self) -> (&str, u64) {
        (&self.head, self.stamp)
    }

    /// The key's text (the head itself when it has no stamp).
    pub fn text(&self) -> Rc<str> {
        if self.stamp == 0 {
            return self.head.clone();
        }
        let (suffix, len) = stamp_suffix(self.stamp);
        let mut text = String::with_capacity(self.head.len() + len);
        text.push_str(&self.head);
        // The suffix is ASCII.
        text.extend(suffix[..len].iter().map(|&b| char::from(b)));
        Rc::from(text)
    }

    fn starts_with(&self, prefix: &str) -> bool {
        match prefix.strip_prefix(&*self.head) {
            None => self.head.starts_with(prefix),
            Some(rest) => {
                let (suffix, len) = stamp_suffix(self.stamp);
                suffix[..len].starts_with(rest.as_bytes())
            }
        }
    }
}

/// An [`EventKey`] looked up by its (head, stamp) without making one.
trait EventKeyRef {
    fn parts(&self) -> (&str, u64);
}

impl EventKeyRef for EventKey {
    fn parts(&self) -> (&str, u64) {
        EventKey::parts(self)
    }
}

impl EventKeyRef for (&str, u64) {
    fn parts(&self) -> (&str, u64) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn EventKeyRef + 'a> for EventKey {
    fn borrow(&self) -> &(dyn EventKeyRef + 'a) {
        self
    }
}

impl PartialEq for dyn EventKeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn EventKeyRef + '_ {}

impl std::hash::Hash for dyn EventKeyRef + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (head, stamp) = self.parts();
        head.hash(state);
        stamp.hash(state);
    }
}

impl PartialEq for EventKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for EventKey {}

/// As its (head, stamp), through [`EventKeyRef`]'s, which lookups use.
impl std::hash::Hash for EventKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self as &dyn EventKeyRef).hash(state);
    }
}

/// In the byte order of the keys' texts.
impl Ord for EventKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        text_order(self.parts(), other.parts())
    }
}

impl PartialOrd for EventKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Events by key, in shards chosen by the key's hash: a table grows by
/// doubling, and the natively used allocator keeps what it ever held, so
/// one table of 900,000 Events left its outgrown halves (tens of MB)
/// behind; a shard's outgrown tables are small enough to be reused.
#[derive(Clone, Debug)]
struct EventMap {
    shards: Vec<FxHashMap<EventKey, Entry>>,
    /// Each head the keys hold, once, with how many keys hold it.
    heads: FxHashMap<Rc<str>, usize>,
}

const EVENT_SHARDS: usize = 64;

impl Default for EventMap {
    fn default() -> Self {
        EventMap { shards: (0..EVENT_SHARDS).map(|_| FxHashMap::default()).collect(), heads: FxHashMap::default() }
    }
}

impl EventMap {
    fn shard((head, stamp): (&str, u64)) -> usize {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write(head.as_bytes());
        h.write_u64(stamp);
        // The high bits: FxHash mixes its last word into them.
        (h.finish() >> 58) as usize % EVENT_SHARDS
    }

    fn of(&self, parts: (&str, u64)) -> &FxHashMap<EventKey, Entry> {
        &self.shards[Self::shard(parts)]
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }

    /// The stored key and entry of the Event key `key`.
    fn find(&self, key: &str) -> Option<(&EventKey, &Entry)> {
        let parts = split_event_key(key);
        self.of(parts).get_key_value(&parts as &dyn EventKeyRef)
    }

    fn get_by_key(&self, key: &EventKey) -> Option<&Entry> {
        self.of(key.parts()).get(key as &dyn EventKeyRef)
    }

    fn contains(&self, key: &EventKey) -> bool {
        self.get_by_key(key).is_some()
    }

    /// The key `text` (whose head is `head`) with the head's shared text,
    /// or `text` itself when it is the head and not held yet.
    fn key_for(&self, text: &Rc<str>, (head, stamp): (&str, u64)) -> EventKey {
        let head = match self.heads.get_key_value(head) {
            Some((held, _)) => held.clone(),
            None if stamp == 0 => text.clone(),
            None => Rc::from(head),
        };
        EventKey { head, stamp }
    }

    /// Counts a key stored under `head`.
    fn hold(heads: &mut FxHashMap<Rc<str>, usize>, head: &Rc<str>) {
        *heads.entry(head.clone()).or_insert(0) += 1;
    }

    /// Counts a key of `head` gone, and forgets the head with its last key.
    fn release(&mut self, head: &str) {
        if let Some(n) = self.heads.get_mut(head) {
            *n -= 1;
            if *n == 0 {
                self.heads.remove(head);
            }
        }
    }

    /// Stores `entry` under `key`; the key as kept, if it is new.
    fn insert(&mut self, key: &Rc<str>, entry: Entry) -> Option<EventKey> {
        let parts = split_event_key(key);
        let shard = Self::shard(parts);
        if let Some(held) = self.shards[shard].get_mut(&parts as &dyn EventKeyRef) {
            *held = entry;
            return None;
        }
        let key = self.key_for(key, parts);
        Self::hold(&mut self.heads, &key.head);
        self.shards[shard].insert(key.clone(), entry);
        Some(key)
    }

    fn remove_entry(&mut self, key: &str) -> Option<(Rc<str>, Entry)> {
        let parts = split_event_key(key);
        let (key, entry) = self.shards[Self::shard(parts)].remove_entry(&parts as &dyn EventKeyRef)?;
        self.release(&key.head);
        Some((key.text(), entry))
    }

    /// In no particular order.
    fn iter(&self) -> impl Iterator<Item = (&EventKey, &Entry)> {
        self.shards.iter().flatten()
    }
}

/// The Events' keys as of the last ordered read, and those created since.
#[derive(Clone, Debug, Default)]
pub struct EventOrder {
    /// In key order; may still hold keys deleted since (dropped when next
    /// read), and a key deleted and created again is also in `created`.
    sorted: Vec<EventKey>,
    /// Created since the last ordered read, in no order.
    created: Vec<EventKey>,
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

    pub fn get(&self, key: &str) -> Option<&Entry> {
        if is_event(key) {
            self.events.find(key).map(|(_, e)| e)
        } else {
            self.ordered.entries.get(key)
        }
    }

    /// The store's own text of `key`, to share rather than copy (an
    /// Event's is made from its head and stamp).
    pub fn shared_key(&self, key: &str) -> Option<Rc<str>> {
        if is_event(key) {
            self.events.find(key).map(|(k, _)| k.text())
        } else {
            self.ordered.entries.get_key_value(key).map(|(k, _)| k.clone())
        }
    }

    /// The stored core Event key `key` as the keyspace keeps it, to hold
    /// without a text of its own (`None` for any other key).
    pub fn event_key(&self, key: &str) -> Option<EventKey> {
        is_event(key).then(|| self.events.find(key)).flatten().map(|(k, _)| k.clone())
    }

    /// The entry under `key` to change in place, with the store's key.
    pub fn get_mut(&mut self, key: &str) -> Option<(Rc<str>, &mut Entry)> {
        if is_event(key) {
            let parts = split_event_key(key);
            let shard = EventMap::shard(parts);
            let (stored, _) = self.events.shards[shard].get_key_value(&parts as &dyn EventKeyRef)?;
            let stored = stored.text();
            return Some((stored, self.events.shards[shard].get_mut(&parts as &dyn EventKeyRef)?));
        }
        let table = &mut self.ordered.entries;
        let stored = table.get_key_value(key)?.0.clone();
        Some((stored, table.get_mut(key)?))
    }

    /// Where `key` goes if it is absent; else the entry there.
    pub fn vacant(&mut self, key: Rc<str>) -> Result<Vacant<'_>, &Entry> {
        if is_event(&key) {
            let parts = split_event_key(&key);
            let event_key = self.events.key_for(&key, parts);
            let EventMap { shards, heads } = &mut self.events;
            match shards[EventMap::shard(parts)].entry(event_key) {
                hash_map::Entry::Occupied(existing) => Err(&*existing.into_mut()),
                hash_map::Entry::Vacant(slot) => Ok(Vacant::Event(slot, heads, self.event_order.get_mut(), key)),
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
            if let Some(created) = self.events.insert(&key, entry) {
                if let Some(order) = self.event_order.get_mut() {
                    order.created.push(created);
                }
            }
        } else {
            self.ordered.insert(key, entry);
        }
    }

    pub fn remove_entry(&mut self, key: &str) -> Option<(Rc<str>, Entry)> {
        if is_event(key) {
            let removed = self.events.remove_entry(key)?;
            if let Some(order) = self.event_order.get_mut() {
                order.deleted = true;
            }
            Some(removed)
        } else {
            self.ordered.remove_entry(key)
        }
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn range<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (Rc<str>, &'a Entry)> + 'a {
        let starts = move |(k, _): &(&Rc<str>, &Entry)| k.starts_with(prefix);
        let owned = |(k, e): (&Rc<str>, &'a Entry)| (k.clone(), e);
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
        before.into_iter().flatten().take_while(starts).map(owned).chain(events).chain(after.into_iter().flatten().map(owned))
    }

    /// Every entry whose key starts with `prefix`, in no set order (the
    /// hash tables' own, which differs between the native and the page's
    /// builds): for counts and sums only. It reads each entry where it lies,
    /// where an ordered read finds each key's entry by hash.
    pub fn scan_unordered<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        let events = (prefix.starts_with(EVENTS_PREFIX) || EVENTS_PREFIX.starts_with(prefix)).then(|| self.events.iter().filter_map(move |(k, e)| k.starts_with(prefix).then_some(e)));
        let others = (!prefix.starts_with(EVENTS_PREFIX)).then(|| self.ordered.entries.iter().filter_map(move |(k, e)| k.starts_with(prefix).then_some(e)));
        others.into_iter().flatten().chain(events.into_iter().flatten())
    }

    /// The Events whose keys start with `prefix` (itself under
    /// [`EVENTS_PREFIX`]), in key order, each with its key's text.
    fn events_in_order<'a>(&'a self, prefix: &str) -> Vec<(Rc<str>, &'a Entry)> {
        if self.events.is_empty() {
            return Vec::new();
        }
        let Ok(mut order) = self.event_order.try_borrow_mut() else {
            // Not reached (no read runs inside another); ordered afresh.
            return self.events_sorted_afresh(prefix);
        };
        let order = order.get_or_insert_with(|| {
            let mut sorted: Vec<EventKey> = self.events.iter().map(|(k, _)| k.clone()).collect();
            sorted.sort_stable();
            EventOrder { sorted, created: Vec::new(), deleted: false }
        });
        order.bring_up_to_date(&self.events);
        let from = order.sorted.partition_point(|k| text_order(k.parts(), (prefix, 0)).is_lt());
        order.sorted[from..].iter().take_while(|k| k.starts_with(prefix)).filter_map(|k| self.events.get_by_key(k).map(|e| (k.text(), e))).collect()
    }

    fn events_sorted_afresh<'a>(&'a self, prefix: &str) -> Vec<(Rc<str>, &'a Entry)> {
        let mut found: Vec<(&EventKey, &'a Entry)> = self.events.iter().filter(|(k, _)| k.starts_with(prefix)).collect();
        found.sort_stable_by(|a, b| a.0.cmp(b.0));
        found.into_iter().map(|(k, e)| (k.text(), e)).collect()
    }
}

/// A key's place, found absent.
pub enum Vacant<'a> {
    Ordered(hash_map::VacantEntry<'a, Rc<str>, Entry>, &'a mut BTreeSet<Rc<str>>, &'a mut [usize; COUNTED_PREFIXES.len()]),
    /// With the heads' counts, and the key's text as asked.
    Event(hash_map::VacantEntry<'a, EventKey, Entry>, &'a mut FxHashMap<Rc<str>, usize>, &'a mut Option<EventOrder>, Rc<str>),
}

impl Vacant<'_> {
    pub fn key(&self) -> &Rc<str> {
        match self {
            Vacant::Ordered(slot, _, _) => slot.key(),
            Vacant::Event(_, _, _, text) => text,
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
            Vacant::Event(slot, heads, order, _) => {
                EventMap::hold(heads, &slot.key().head);
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
            self.sorted.retain(|k| events.contains(k));
            self.created.retain(|k| events.contains(k));
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

    fn seen<'a>(items: impl Iterator<Item = (Rc<str>, &'a Entry)>) -> Vec<(String, i64)> {
        items.map(|(k, e)| (k.to_string(), e.mod_revision)).collect()
    }

    /// Keys around the Events' block: namespaces and names that are
    /// prefixes of one another, keys just before and after the block.
    const KEYS: [&str; 28] = [
        // Stamped as the recorders name Events (kept as head and stamp),
        // and near misses kept as text: a head alone, a zero stamp, 15
        // digits, an upper-case digit, a stamp-like part inside the head.
        "/registry/events/a/x.18a0000000000001",
        "/registry/events/a/x.18a0000000000002",
        "/registry/events/a/x.18a000000000000a",
        "/registry/events/a/x",
        "/registry/events/a/x.0000000000000000",
        "/registry/events/a/x.18a000000000000",
        "/registry/events/a/x.18A0000000000001",
        "/registry/events/a/x.18a0000000000001.18a0000000000002",
        "/registry/events/a/x.18a0000000000001x",
        "/registry/events/a-b/y.18a0000000000001",
        "/registry/events/a/.18a0000000000001",
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

    const PREFIXES: [&str; 18] = [
        "/registry/events/a/x.",
        "/registry/events/a/x.18a",
        "/registry/events/a/x.18a0000000000001",
        "/registry/events/a/x.18a00000000000010",
        "/registry/events/a/x.18a0000000000001.",
        "/registry/events/a/x.18a000000000000a",
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
                let counted: usize = keyspace.events.heads.values().sum();
                assert_eq!(counted, keyspace.events.len(), "each Event key's head is counted once");
                for (k, _) in keyspace.events.iter() {
                    let held = keyspace.events.heads.get_key_value(&*k.head).map(|(h, _)| h);
                    assert!(held.is_some_and(|h| Rc::ptr_eq(h, &k.head)), "{k:?} shares its head's text");
                }
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
                    let expected = seen(model.range::<str, _>((Bound::Included(prefix), Bound::Unbounded)).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, e)| (k.clone(), e)));
                    assert_eq!(seen(keyspace.range(prefix)), expected, "prefix {prefix:?}");
                    let mut scanned: Vec<i64> = keyspace.scan_unordered(prefix).map(|e| e.mod_revision).collect();
                    scanned.sort_unstable();
                    let mut listed: Vec<i64> = expected.iter().map(|(_, r)| *r).collect();
                    listed.sort_unstable();
                    assert_eq!(scanned, listed, "an unordered scan of {prefix:?} finds what the ordered read does");
                }
            }
            for prefix in PREFIXES {
                let expected = seen(model.range::<str, _>((Bound::Included(prefix), Bound::Unbounded)).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, e)| (k.clone(), e)));
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
    fn an_event_key_reads_back_as_its_text_and_orders_as_it() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        for _ in 0..200 {
            let stamp = match rng.u8(..3) {
                0 => rng.u64(..16),
                1 => rng.u64(..),
                _ => u64::MAX - rng.u64(..16),
            };
            let name = ["x", "x-y", "x.1", ""][rng.usize(..4)];
            keys.push(format!("/registry/events/a/{name}.{stamp:016x}"));
        }
        for key in &keys {
            let (head, stamp) = split_event_key(key);
            let kept = EventKey { head: Rc::from(head), stamp };
            assert_eq!(&*kept.text(), key.as_str());
            assert_eq!(stamp == 0, head == key.as_str(), "{key}");
            for prefix in PREFIXES.iter().copied().chain([key.as_str(), &key[..key.len() / 2]]) {
                assert_eq!(kept.starts_with(prefix), key.starts_with(prefix), "{key} {prefix}");
            }
        }
        for a in &keys {
            for b in &keys {
                let (ka, kb) = (split_event_key(a), split_event_key(b));
                assert_eq!(text_order(ka, kb), a.cmp(b), "{a} {b}");
                assert_eq!(ka == kb, a == b, "{a} {b}");
            }
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
