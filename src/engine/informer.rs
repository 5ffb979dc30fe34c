//! A reflector with its cache, as client-go's informers: list, then watch;
//! on a broken watch (API server stopped, watch closed) forget the watch and
//! list again later, reporting the differences as events so handlers see a
//! consistent stream.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::engine::api::{KeyRef, Object, ObjectKey};
use crate::engine::apiserver::{ApiServer, Query, WatchEvent, WatchEventType, WatchId};
use crate::engine::sim::Ctx;

/// How long a reflector waits before listing again after a failure.
pub const RELIST_BACKOFF_MS: u64 = 1_000;

/// Watch events one sync takes at most; the rest wait for the component's
/// next run at the same instant. A component run so stays bounded when tens
/// of thousands of objects change at once (the page draws frames between
/// runs), while a small cluster never has this many events waiting.
pub const MAX_EVENTS_PER_SYNC: usize = 2_000;

pub struct Informer {
    query: Query,
    watch: Option<WatchId>,
    /// The cached objects, each in its slot; a deleted object's slot is
    /// taken again by the next new one.
    slots: Vec<Option<Rc<Object>>>,
    free: Vec<usize>,
    /// Each key's slot, found by hash: most watch events replace an object
    /// already held, and a search down an ordered tree of every key (each
    /// probe reading two strings through their pointers) cost far more
    /// than a hash of the event's namespace and name.
    by_key: FxHashMap<SharedKey, usize>,
    /// Each key's slot in key order, for reads in order.
    order: BTreeMap<SharedKey, usize>,
    synced: bool,
    /// Lists taken so far: a relist may replace objects (a pod deleted and
    /// created again under its name) with no Deleted event.
    lists: u64,
}

impl Informer {
    pub fn new(query: Query) -> Self {
        Informer { query, watch: None, slots: Vec::new(), free: Vec::new(), by_key: FxHashMap::default(), order: BTreeMap::new(), synced: false, lists: 0 }
    }

    /// Whether the cache has been filled from a list at least once since the
    /// last restart (`HasSynced`).
    pub fn has_synced(&self) -> bool {
        self.synced
    }

    /// Lists taken since the informer was made.
    pub fn lists(&self) -> u64 {
        self.lists
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Rc<Object>> {
        self.held(key)
    }

    fn held(&self, key: &dyn KeyRef) -> Option<&Rc<Object>> {
        self.by_key.get(key).and_then(|&slot| self.slots.get(slot)).and_then(Option::as_ref)
    }

    /// Every cached object, in key order.
    pub fn items(&self) -> impl Iterator<Item = &Rc<Object>> {
        InSlots { slots: &self.slots, order: self.order.values() }
    }

    /// The objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        let from: &dyn KeyRef = &(namespace, "");
        self.order
            .range::<dyn KeyRef, _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded))
            .take_while(move |(k, _)| k.0.namespace == namespace)
            .filter_map(|(_, &slot)| self.slots.get(slot).and_then(Option::as_ref))
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether the cache has seen every change the API server sent it: the
    /// watch is open and drained. Only then must it equal the store.
    pub fn caught_up(&self, api: &ApiServer) -> bool {
        self.synced && self.watch.is_some_and(|id| api.watch_drained(id))
    }

    /// Fills the cache without an API server (plugin table tests).
    #[cfg(test)]
    pub fn seed(&mut self, objects: impl IntoIterator<Item = Rc<Object>>) {
        for o in objects {
            let key = ObjectKey::of(&o);
            self.put(&key, o);
        }
        self.synced = true;
    }

    /// Stops watching but keeps the cache (an object that can no longer
    /// change, such as an immutable ConfigMap).
    pub fn stop_watching(&mut self, api: &mut crate::engine::apiserver::ApiServer) {
        if let Some(id) = self.watch.take() {
            api.close_watch(id);
        }
    }

    /// The process ended while the API server lives on: its watch is closed.
    pub fn close(&mut self, api: &mut crate::engine::apiserver::ApiServer) {
        self.stop_watching(api);
        self.reset();
    }

    /// The process restarted: the cache and the watch are gone.
    pub fn reset(&mut self) {
        self.watch = None;
        self.clear();
        self.synced = false;
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.by_key.clear();
        self.order.clear();
    }

    /// Holds `object` under `key`, replacing what was held there.
    fn put(&mut self, key: &dyn KeyRef, object: Rc<Object>) {
        if let Some(&slot) = self.by_key.get(key) {
            if let Some(held) = self.slots.get_mut(slot) {
                *held = Some(object);
                return;
            }
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(object);
                slot
            }
            None => {
                self.slots.push(Some(object));
                self.slots.len() - 1
            }
        };
        let (namespace, name) = key.parts();
        let key = SharedKey(Rc::new(ObjectKey::new(namespace, name)));
        self.order.insert(key.clone(), slot);
        self.by_key.insert(key, slot);
    }

    fn remove(&mut self, key: &dyn KeyRef) {
        if let Some((key, slot)) = self.by_key.remove_entry(key) {
            self.order.remove(&key);
            if let Some(held) = self.slots.get_mut(slot) {
                *held = None;
                self.free.push(slot);
            }
        }
    }

    /// Brings the cache up to date and returns what changed, in order.
    /// On failure asks the component to run again after a back-off.
    pub fn sync(&mut self, ctx: &mut Ctx) -> Vec<WatchEvent> {
        if let Some(id) = self.watch {
            match ctx.api.poll_at_most(id, MAX_EVENTS_PER_SYNC) {
                Ok(events) => {
                    for ev in &events {
                        // Most events change an object already held: its
                        // key is looked up borrowed, and built only for a new one.
                        let parts = ev.object.key_parts();
                        match ev.kind {
                            WatchEventType::Deleted => self.remove(&parts),
                            _ => self.put(&parts, ev.object.clone()),
                        }
                    }
                    return events;
                }
                Err(_) => self.watch = None,
            }
        }
        match ctx.api.list_and_watch(ctx.me, self.query.clone()) {
            Ok((list, watch)) => {
                self.watch = Some(watch);
                let mut fresh: BTreeMap<ObjectKey, Rc<Object>> = BTreeMap::new();
                for obj in list {
                    fresh.insert(ObjectKey::of(&obj), obj);
                }
                let mut events = Vec::new();
                for (key, &slot) in &self.order {
                    if !fresh.contains_key(&*key.0) {
                        if let Some(Some(old)) = self.slots.get(slot) {
                            events.push(WatchEvent { kind: WatchEventType::Deleted, object: old.clone() });
                        }
                    }
                }
                for (key, obj) in &fresh {
                    match self.get(key) {
                        None => events.push(WatchEvent { kind: WatchEventType::Added, object: obj.clone() }),
                        Some(old) if old.meta().resource_version != obj.meta().resource_version => {
                            events.push(WatchEvent { kind: WatchEventType::Modified, object: obj.clone() })
                        }
                        Some(_) => {}
                    }
                }
                self.clear();
                for (key, obj) in fresh {
                    self.put(&key, obj);
                }
                self.synced = true;
                self.lists += 1;
                events
            }
            Err(_) => {
                ctx.wake_after_ms(RELIST_BACKOFF_MS);
                Vec::new()
            }
        }
    }
}

/// A cached object's key, one allocation shared by the hash map and the
/// ordered set; it hashes, compares and orders as its [`ObjectKey`], and
/// looks up by a borrowed [`KeyRef`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct SharedKey(Rc<ObjectKey>);

impl<'a> Borrow<dyn KeyRef + 'a> for SharedKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        &*self.0
    }
}

/// The objects in the slots a run of keys names, in the keys' order.
struct InSlots<'a, I> {
    slots: &'a [Option<Rc<Object>>],
    order: I,
}

impl<'a, I: Iterator<Item = &'a usize>> Iterator for InSlots<'a, I> {
    type Item = &'a Rc<Object>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(Some(object)) = self.slots.get(*self.order.next()?) {
                return Some(object);
            }
        }
    }

    /// A key's slot always holds its object: as many objects as keys.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::ids;

    fn pod(namespace: &str, name: &str) -> Rc<Object> {
        let p = serde_json::json!({"metadata": {"name": name, "namespace": namespace}});
        Rc::new(Object::from_json(ids::pods(), p).unwrap())
    }

    #[test]
    fn objects_are_read_in_key_order_and_by_namespace() {
        let mut informer = Informer::new(Query::all(ids::pods()));
        informer.seed([pod("b", "x"), pod("a", "z"), pod("a", "y"), pod("ab", "a"), pod("", "c")]);
        let keys = |i: &mut dyn Iterator<Item = &Rc<Object>>| i.map(|o| format!("{}/{}", o.key_parts().0, o.key_parts().1)).collect::<Vec<_>>();
        assert_eq!(keys(&mut informer.items()), ["/c", "a/y", "a/z", "ab/a", "b/x"]);
        assert_eq!(keys(&mut informer.in_namespace("a")), ["a/y", "a/z"]);
        assert_eq!(keys(&mut informer.in_namespace("")), ["/c"]);
        assert!(informer.in_namespace("aa").next().is_none());
        // A new version replaces the held one under its key.
        let newer = pod("a", "y");
        informer.seed([newer.clone()]);
        assert_eq!(informer.len(), 5);
        assert!(Rc::ptr_eq(informer.get(&ObjectKey::new("a", "y")).unwrap(), &newer));
        // A deleted object's slot is taken by the next new one, in its own place in the order.
        informer.remove(&("a", "z"));
        assert!(informer.get(&ObjectKey::new("a", "z")).is_none());
        assert_eq!(informer.items().size_hint(), (4, Some(4)));
        informer.seed([pod("c", "a")]);
        assert_eq!(keys(&mut informer.items()), ["/c", "a/y", "ab/a", "b/x", "c/a"]);
        assert_eq!(informer.slots.len(), 5);
    }
}
