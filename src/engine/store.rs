//! The etcd model: a revisioned key-value store.
//!
//! One global revision counts every write; each key remembers the revision
//! that created it and the one that last modified it. Watches read the change
//! log from a revision; compaction drops old log entries, after which a watch
//! from before the compacted revision fails with `Compacted`, as etcd's does.
//! `put_if` is the compare-and-swap that `resourceVersion` preconditions use.

mod compact_event;
mod keyspace;
pub use keyspace::{EventKey, COUNTED_PREFIXES};
pub(crate) mod shared_texts;

use std::collections::VecDeque;
use std::rc::Rc;

use keyspace::Keyspace;

pub use compact_event::CompactEvent;
use compact_event::Sharing;

use crate::engine::api::Object;

/// How many change-log entries are kept before the oldest are compacted.
/// Each entry holds an old version of an object, so this bounds memory;
/// components watch through the API server's fan-out, not this log.
pub const DEFAULT_LOG_LIMIT: usize = 10_000;

#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Value,
    pub create_revision: i64,
    pub mod_revision: i64,
}

/// A stored version of an object: the typed object, shared by every cache
/// that holds it, or an Event in its compact form ([`CompactEvent`]), typed
/// again where it is read.
#[derive(Clone, Debug)]
pub enum Value {
    Object(Rc<Object>),
    Event(Rc<CompactEvent>),
}

impl Value {
    /// The stored object, typed.
    pub fn object(&self) -> Rc<Object> {
        match self {
            Value::Object(object) => object.clone(),
            Value::Event(event) => Rc::new(Object::Event(Box::new(event.event()))),
        }
    }

    /// For an Event: whether it is about the object `uid` (its container
    /// `field_path`) with `reason` and `message`, an unset text reading as
    /// empty (what an event recorder aggregates Events by).
    pub fn event_aggregates_as(&self, uid: &str, field_path: &str, reason: &str, message: &str) -> bool {
        match self {
            Value::Event(event) => event.aggregates_as(uid, field_path, reason, message),
            Value::Object(object) => match &**object {
                Object::Event(ev) => {
                    let text = |t: &Option<String>, value: &str| t.as_deref().unwrap_or_default() == value;
                    let involved = &ev.involved_object;
                    text(&involved.uid, uid) && text(&involved.field_path, field_path) && text(&ev.reason, reason) && text(&ev.message, message)
                }
                _ => false,
            },
        }
    }

    /// For an Event: whether it is about the object `uid` with `reason`
    /// and a message that begins with `prefix` (a combined Event, whatever
    /// its container or its latest message).
    pub fn event_combines(&self, uid: &str, reason: &str, prefix: &str) -> bool {
        match self {
            Value::Event(event) => event.combines(uid, reason, prefix),
            Value::Object(object) => match &**object {
                Object::Event(ev) => {
                    ev.involved_object.uid.as_deref().unwrap_or_default() == uid
                        && ev.reason.as_deref().unwrap_or_default() == reason
                        && ev.message.as_deref().unwrap_or_default().starts_with(prefix)
                }
                _ => false,
            },
        }
    }

    /// The stored object's namespace and name.
    pub fn namespace_and_name(&self) -> (String, String) {
        match self {
            Value::Event(event) => (event.namespace().unwrap_or_default().to_string(), event.name().unwrap_or_default()),
            Value::Object(object) => {
                let meta = object.meta();
                (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
            }
        }
    }

    /// How the store keeps `object`: Events compact when they fit the form.
    fn of(object: &Rc<Object>, sharing: &mut Sharing) -> Value {
        match &**object {
            Object::Event(event) => match CompactEvent::of(event, sharing) {
                Some(compact) => Value::Event(Rc::new(compact)),
                None => Value::Object(object.clone()),
            },
            _ => Value::Object(object.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Put,
    Delete,
}

#[derive(Clone, Debug)]
pub struct Change {
    pub revision: i64,
    pub key: Rc<str>,
    pub kind: ChangeKind,
    /// The new value for a put; the last value for a delete.
    pub value: Value,
    /// Whether the put created the key.
    pub created: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The compare-and-swap saw another mod revision.
    RevisionMismatch { current: i64 },
    KeyNotFound,
    /// The requested revision was compacted away.
    Compacted { compacted: i64 },
}

#[derive(Debug)]
pub struct Store {
    revision: i64,
    entries: Keyspace,
    log: VecDeque<Change>,
    log_limit: usize,
    compacted: i64,
    /// Every restore from a snapshot, oldest first: the one event after
    /// which the revision may go down.
    restores: Vec<Restore>,
    /// What the compact Events share.
    shared: Sharing,
}

/// The keyspace at one revision, as `etcdctl snapshot save` writes it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    entries: Keyspace,
    log: VecDeque<Change>,
    revision: i64,
    compacted: i64,
}

impl Snapshot {
    pub fn revision(&self) -> i64 {
        self.revision
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// (FNV-1a hash, bytes) of the keys and values, as a status line shows them.
    pub fn digest(&self) -> (u32, u64) {
        let mut hash: u32 = 0x811c_9dc5;
        let mut size: u64 = 0;
        for (key, entry) in self.entries.range("") {
            let value = serde_json::to_vec(&entry.value.object().to_json()).unwrap_or_default();
            for byte in key.as_bytes().iter().chain(&value) {
                hash ^= u32::from(*byte);
                hash = hash.wrapping_mul(0x0100_0193);
            }
            size += (key.len() + value.len()) as u64;
        }
        (hash, size)
    }
}

/// One restore: the revision before it, the snapshot's, and the bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restore {
    pub revision_before: i64,
    pub snapshot_revision: i64,
    /// `--bump-revision`: the restored store continues from `snapshot_revision + bump`.
    pub bump: i64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_LOG_LIMIT)
    }
}

impl Store {
    pub fn new(log_limit: usize) -> Self {
        Store { revision: 1, entries: Keyspace::default(), log: VecDeque::new(), log_limit: log_limit.max(1), compacted: 0, restores: Vec::new(), shared: Sharing::default() }
    }

    /// The whole keyspace with its history, at the current revision.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { entries: self.entries.clone(), log: self.log.clone(), revision: self.revision, compacted: self.compacted }
    }

    /// Replaces the keyspace with `snapshot`, as a restored data directory
    /// does: the revision goes back to the snapshot's, or, with `bump`
    /// (`--bump-revision`, which etcdutl only accepts with
    /// `--mark-compacted`), on to the snapshot's plus `bump`, compacted
    /// there so no one can read a revision the snapshot never had.
    pub fn restore(&mut self, snapshot: &Snapshot, bump: i64) {
        let bump = bump.max(0);
        self.restores.push(Restore { revision_before: self.revision, snapshot_revision: snapshot.revision, bump });
        self.entries = snapshot.entries.clone();
        self.log = snapshot.log.clone();
        self.revision = snapshot.revision.saturating_add(bump);
        self.compacted = if bump > 0 { self.revision } else { snapshot.compacted };
        if bump > 0 {
            self.log.clear();
        }
    }

    /// Every restore so far, oldest first.
    pub fn restores(&self) -> &[Restore] {
        &self.restores
    }

    /// The revision of the last write.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn compacted_revision(&self) -> i64 {
        self.compacted
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// The store's own copy of `key`, to share rather than copy.
    pub fn shared_key(&self, key: &str) -> Option<Rc<str>> {
        self.entries.shared_key(key)
    }

    /// The stored core Event key `key`, to hold for later without a text
    /// of its own (the keyspace keeps none for it); `None` for any other key.
    pub fn event_key(&self, key: &str) -> Option<EventKey> {
        self.entries.event_key(key)
    }

    /// The store's own key of the write at `revision`, if it was the last
    /// write: shared without searching the keyspace again.
    pub fn key_written_at(&self, revision: i64) -> Option<Rc<str>> {
        self.log.back().filter(|c| c.revision == revision).map(|c| c.key.clone())
    }

    /// The value written at `revision`, if it was the last write.
    pub fn value_written_at(&self, revision: i64) -> Option<&Value> {
        self.log.back().filter(|c| c.revision == revision && c.kind == ChangeKind::Put).map(|c| &c.value)
    }

    /// Every entry whose key starts with `prefix`, in no set order: for
    /// counts and sums (the hash tables' order, which differs between the
    /// native and the page's builds).
    pub fn scan_unordered<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.scan_unordered(prefix)
    }

    /// Whether any key starts with `prefix`: without a search for the
    /// kinds the keyspace counts ([`COUNTED_PREFIXES`]).
    pub fn holds_any_under(&self, prefix: &str) -> bool {
        self.entries.holds_any_under(prefix)
    }

    /// Every entry whose key starts with `prefix`, in key order, with the
    /// key's text (an Event's is made for the read: see `keyspace`).
    pub fn range<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (Rc<str>, &'a Entry)> + 'a {
        self.entries.range(prefix)
    }

    /// Writes `value` under `key` if the key's mod revision is `expected`
    /// (`Some(0)` means "must not exist"; `None` writes unconditionally).
    /// `make` receives the new revision so the stored object can carry it;
    /// the object made is returned typed, whatever form the store keeps.
    pub fn put_if(
        &mut self,
        key: &str,
        expected: Option<i64>,
        make: impl FnOnce(i64) -> Object,
    ) -> Result<(Rc<Object>, i64), StoreError> {
        if expected == Some(0) {
            return self.create(key, make);
        }
        // One search of the keyspace for the common case, an update in place
        // (each search compares long keys sharing their `/registry/…` prefix).
        let current = self.entries.get_mut(key);
        let current_revision = current.as_ref().map_or(0, |(_, e)| e.mod_revision);
        if let Some(expected) = expected {
            if expected != current_revision {
                return Err(StoreError::RevisionMismatch { current: current_revision });
            }
        }
        let revision = self.revision + 1;
        let object = Rc::new(make(revision));
        let value = Value::of(&object, &mut self.shared);
        self.revision = revision;
        let (key, created) = match current {
            Some((stored_key, entry)) => {
                entry.value = value.clone();
                entry.mod_revision = revision;
                (stored_key, false)
            }
            None => {
                let key: Rc<str> = Rc::from(key);
                self.entries.insert(key.clone(), Entry { value: value.clone(), create_revision: revision, mod_revision: revision });
                (key, true)
            }
        };
        self.append(Change { revision, key, kind: ChangeKind::Put, value, created });
        Ok((object, revision))
    }

    /// `put_if` with `Some(0)`: writes `key` only if it does not exist, in
    /// one search of the keyspace (the search that finds it absent is the
    /// one that places it).
    fn create(&mut self, key: &str, make: impl FnOnce(i64) -> Object) -> Result<(Rc<Object>, i64), StoreError> {
        let slot = match self.entries.vacant(Rc::from(key)) {
            Err(existing) => return Err(StoreError::RevisionMismatch { current: existing.mod_revision }),
            Ok(slot) => slot,
        };
        let revision = self.revision + 1;
        let object = Rc::new(make(revision));
        let value = Value::of(&object, &mut self.shared);
        self.revision = revision;
        let key = slot.key().clone();
        slot.insert(Entry { value: value.clone(), create_revision: revision, mod_revision: revision });
        self.append(Change { revision, key, kind: ChangeKind::Put, value, created: true });
        Ok((object, revision))
    }

    /// Deletes `key` if its mod revision is `expected` (or unconditionally).
    pub fn delete_if(&mut self, key: &str, expected: Option<i64>) -> Result<(Rc<Object>, i64), StoreError> {
        let Some(entry) = self.entries.get(key) else {
            return Err(StoreError::KeyNotFound);
        };
        if let Some(expected) = expected {
            if expected != entry.mod_revision {
                return Err(StoreError::RevisionMismatch { current: entry.mod_revision });
            }
        }
        let (key, entry) = self.entries.remove_entry(key).ok_or(StoreError::KeyNotFound)?;
        self.revision += 1;
        let revision = self.revision;
        let object = entry.value.object();
        self.append(Change { revision, key, kind: ChangeKind::Delete, value: entry.value, created: false });
        Ok((object, revision))
    }

    /// The changes after `revision` whose keys start with `prefix`.
    pub fn changes_since(&self, revision: i64, prefix: &str) -> Result<Vec<Change>, StoreError> {
        if revision < self.compacted {
            return Err(StoreError::Compacted { compacted: self.compacted });
        }
        let start = self.log.partition_point(|c| c.revision <= revision);
        Ok(self.log.range(start..).filter(|c| c.key.starts_with(prefix)).cloned().collect())
    }

    /// Drops log entries up to and including `revision`.
    pub fn compact(&mut self, revision: i64) {
        while self.log.front().is_some_and(|c| c.revision <= revision) {
            self.log.pop_front();
        }
        self.compacted = self.compacted.max(revision.min(self.revision));
    }

    fn append(&mut self, change: Change) {
        self.log.push_back(change);
        if self.log.len() > self.log_limit {
            let drop_to = self.log.len() - self.log_limit;
            let revision = self.log[drop_to - 1].revision;
            self.compact(revision);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::{ids, Object};

    fn pod(name: &str) -> Object {
        Object::from_json(ids::pods(), serde_json::json!({"metadata": {"name": name}})).unwrap()
    }

    #[test]
    fn revisions_increase_and_cas_checks_mod_revision() {
        let mut s = Store::default();
        let (_, r1) = s.put_if("/pods/default/a", Some(0), |_| pod("a")).unwrap();
        assert_eq!(s.put_if("/pods/default/a", Some(0), |_| pod("a")).unwrap_err(), StoreError::RevisionMismatch { current: r1 });
        let (_, r2) = s.put_if("/pods/default/a", Some(r1), |_| pod("a")).unwrap();
        assert!(r2 > r1);
        assert_eq!(s.get("/pods/default/a").unwrap().create_revision, r1);
        assert_eq!(s.delete_if("/pods/default/a", Some(r1)).unwrap_err(), StoreError::RevisionMismatch { current: r2 });
        assert!(s.delete_if("/pods/default/a", Some(r2)).is_ok());
        assert_eq!(s.delete_if("/pods/default/a", None).unwrap_err(), StoreError::KeyNotFound);
    }

    #[test]
    fn range_and_watch_by_prefix() {
        let mut s = Store::default();
        let start = s.revision();
        s.put_if("/pods/a/x", None, |_| pod("x")).unwrap();
        s.put_if("/pods/b/y", None, |_| pod("y")).unwrap();
        s.put_if("/podsx/a/z", None, |_| pod("z")).unwrap();
        assert_eq!(s.range("/pods/").count(), 2);
        let changes = s.changes_since(start, "/pods/a/").unwrap();
        assert_eq!(changes.len(), 1);
        assert!(changes[0].created);
    }

    #[test]
    fn restore_rewinds_to_the_snapshot_or_bumps_past_it() {
        let mut s = Store::default();
        s.put_if("/k/a", None, |_| pod("a")).unwrap();
        let snap = s.snapshot();
        let at = s.revision();
        s.put_if("/k/b", None, |_| pod("b")).unwrap();
        s.delete_if("/k/a", None).unwrap();
        let before = s.revision();
        s.restore(&snap, 0);
        assert_eq!(s.revision(), at, "etcdutl's default: the revision goes back");
        assert!(s.get("/k/a").is_some() && s.get("/k/b").is_none());
        assert_eq!(s.restores(), &[Restore { revision_before: before, snapshot_revision: at, bump: 0 }]);
        // Writes continue from the snapshot's revision.
        let (_, r) = s.put_if("/k/c", None, |_| pod("c")).unwrap();
        assert_eq!(r, at + 1);
        s.restore(&snap, 1000);
        assert_eq!(s.revision(), at + 1000);
        assert!(matches!(s.changes_since(at, "/k/"), Err(StoreError::Compacted { .. })));
    }

    #[test]
    fn compaction_fails_old_watches() {
        let mut s = Store::new(2);
        for i in 0..5 {
            s.put_if(&format!("/k/{i}"), None, |_| pod("p")).unwrap();
        }
        assert!(matches!(s.changes_since(1, "/k/"), Err(StoreError::Compacted { .. })));
        assert_eq!(s.changes_since(s.revision() - 1, "/k/").unwrap().len(), 1);
    }
}
