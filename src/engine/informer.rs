//! A reflector with its cache, as client-go's informers: list, then watch;
//! on a broken watch (API server stopped, watch closed) forget the watch and
//! list again later, reporting the differences as events so handlers see a
//! consistent stream.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::engine::api::{KeyRef, Object, ObjectKey, SharedKey};
use crate::engine::apiserver::{ApiServer, ComponentId, Query, WatchEvent, WatchEventType, WatchId};
use crate::engine::sim::leftovers::Release;
use crate::engine::sim::Ctx;
use crate::engine::sort::SortStable;

/// How long a reflector waits before listing again after a failure.
pub const RELIST_BACKOFF_MS: u64 = 1_000;

/// Watch events one sync takes at most; the rest wait for the component's
/// next run at the same instant. A component run so stays bounded when tens
/// of thousands of objects change at once (the page draws frames between
/// runs), while a small cluster never has this many events waiting.
pub const MAX_EVENTS_PER_SYNC: usize = 2_000;

/// Objects of a list one sync hands out at most: fewer than a watch's
/// events, since each is new to the component (a scheduler caches each
/// pod it is handed), and a page's frame waits for the whole run.
pub const MAX_LISTED_PER_SYNC: usize = 500;

pub struct Informer {
    query: Query,
    watch: Option<WatchId>,
    items: Items,
    synced: bool,
    /// Lists taken so far: a relist may replace objects (a pod deleted and
    /// created again under its name) with no Deleted event.
    lists: u64,
    /// What the last list changed and the component has not been handed
    /// yet: a list of tens of thousands of objects (a component started
    /// on a big cluster) reaches it over several runs at one instant, as
    /// a DeltaFIFO's items reach client-go's handlers, and the cache has
    /// synced once all of it has.
    backlog: VecDeque<WatchEvent>,
    /// The watch's owner, and how many of its watches had ended when this
    /// one was last polled or opened (`None`: not since the last reset),
    /// for [`crate::engine::apiserver::ApiServer::nothing_to_poll_on`].
    ended_seen: Option<(ComponentId, u64)>,
}

impl Informer {
    pub fn new(query: Query) -> Self {
        Informer { query, watch: None, items: Items::default(), synced: false, lists: 0, backlog: VecDeque::new(), ended_seen: None }
    }

    /// Whether a sync would do nothing but poll its open watch: nothing
    /// listed waits to be handed out. Its owner may pass over the sync when
    /// the API server also has nothing for it
    /// ([`crate::engine::apiserver::ApiServer::nothing_to_poll`]).
    pub fn idle(&self) -> bool {
        self.backlog.is_empty() && self.watch.is_some()
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
        self.items.held(key)
    }

    /// The key the cache holds `key`'s object under, for indexes built
    /// beside the cache to share rather than copy (about 100 bytes an
    /// object); `key` itself, made shared, when the cache holds none.
    pub fn share_key(&self, key: ObjectKey) -> SharedKey {
        match self.items.by_key.get_key_value(&key as &dyn KeyRef) {
            Some((held, _)) => held.clone(),
            None => SharedKey::new(key),
        }
    }

    /// As [`Informer::get`], without building a key.
    pub fn get_by_parts(&self, namespace: &str, name: &str) -> Option<&Rc<Object>> {
        self.items.held(&(namespace, name))
    }

    /// Every cached object, in key order.
    pub fn items(&self) -> impl Iterator<Item = &Rc<Object>> {
        InSlots { slots: &self.items.slots, order: self.items.order.values() }
    }

    /// The objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        let from: &dyn KeyRef = &(namespace, "");
        let in_namespace = self.items.order.range::<dyn KeyRef, _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded)).take_while(move |(k, _)| &*k.0.namespace == namespace);
        InSlots { slots: &self.items.slots, order: in_namespace.map(|(_, slot)| slot) }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
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
            self.items.put(&key, o);
        }
        self.synced = true;
    }

    /// Stops watching but keeps the cache (an object that can no longer
    /// change, such as an immutable ConfigMap).
    pub fn stop_watching(&mut self, api: &mut crate::engine::apiserver::ApiServer) {
        self.ended_seen = None;
        if let Some(id) = self.watch.take() {
            api.close_watch(id);
        }
    }

    /// The process ended while the API server lives on: its watch is closed.
    pub fn close(&mut self, api: &mut crate::engine::apiserver::ApiServer) {
        self.stop_watching(api);
        self.reset();
    }

    /// The cache's objects, taken out (the process stopped; see [`Informer::reset`]).
    pub fn take_items(&mut self) -> Items {
        std::mem::take(&mut self.items)
    }

    /// The process restarted: the cache and the watch are gone.
    pub fn reset(&mut self) {
        self.watch = None;
        self.ended_seen = None;
        self.items.clear();
        self.backlog.clear();
        self.synced = false;
    }

    /// Brings the cache up to date and returns what changed, in order.
    /// On failure asks the component to run again after a back-off.
    pub fn sync(&mut self, ctx: &mut Ctx) -> Vec<WatchEvent> {
        if !self.backlog.is_empty() {
            return self.deliver_backlog(ctx);
        }
        if let Some(id) = self.watch {
            // Most syncs of a component's many informers find their watch
            // empty: the API server's ledger tells so without the poll
            // (debug builds poll anyway and check).
            let nothing = self.ended_seen.is_some_and(|(owner, seen)| owner == ctx.me && ctx.api.nothing_to_poll_on(owner, id, seen));
            if nothing && !cfg!(debug_assertions) {
                return Vec::new();
            }
            match ctx.api.poll_at_most(id, MAX_EVENTS_PER_SYNC) {
                Ok(events) => {
                    debug_assert!(!nothing || events.is_empty(), "a watch the API server's ledger had as empty held events");
                    for ev in &events {
                        self.apply(ev);
                    }
                    self.ended_seen = Some((ctx.me, ctx.api.watches_ended(ctx.me)));
                    return events;
                }
                Err(_) => self.watch = None,
            }
        }
        match ctx.api.list_and_watch(ctx.me, self.query.clone()) {
            Ok((list, watch)) => {
                self.watch = Some(watch);
                self.ended_seen = Some((ctx.me, ctx.api.watches_ended(ctx.me)));
                if self.items.is_empty() {
                    // The first list (a component started): everything is
                    // new, in key order, with no second map of keys to build.
                    let mut list = list;
                    // The store's order is the keys' but for a namespace
                    // that prefixes another ("a" and "a-b"): sort only then.
                    if !list.is_sorted_by(|a, b| a.key_parts() <= b.key_parts()) {
                        list.sort_stable_by(|a, b| a.key_parts().cmp(&b.key_parts()));
                    }
                    self.backlog.extend(list.into_iter().map(|object| WatchEvent { kind: WatchEventType::Added, object }));
                } else {
                    let mut fresh: BTreeMap<ObjectKey, Rc<Object>> = BTreeMap::new();
                    for obj in list {
                        fresh.insert(ObjectKey::of(&obj), obj);
                    }
                    for (key, old) in self.items.iter() {
                        if !fresh.contains_key(key) {
                            self.backlog.push_back(WatchEvent { kind: WatchEventType::Deleted, object: old.clone() });
                        }
                    }
                    for (key, obj) in fresh {
                        match self.items.held(&key) {
                            None => self.backlog.push_back(WatchEvent { kind: WatchEventType::Added, object: obj }),
                            Some(old) if old.meta().resource_version != obj.meta().resource_version => {
                                self.backlog.push_back(WatchEvent { kind: WatchEventType::Modified, object: obj })
                            }
                            Some(_) => {}
                        }
                    }
                }
                self.synced = false;
                self.lists += 1;
                self.deliver_backlog(ctx)
            }
            Err(_) => {
                ctx.wake_after_ms(RELIST_BACKOFF_MS);
                Vec::new()
            }
        }
    }

    /// Hands out the next part of what a list changed, into the cache too.
    fn deliver_backlog(&mut self, ctx: &mut Ctx) -> Vec<WatchEvent> {
        let take = self.backlog.len().min(MAX_LISTED_PER_SYNC);
        let events: Vec<WatchEvent> = self.backlog.drain(..take).collect();
        for ev in &events {
            self.apply(ev);
        }
        if self.backlog.is_empty() {
            self.synced = true;
        } else {
            ctx.wake_at(ctx.now);
        }
        events
    }

    fn apply(&mut self, ev: &WatchEvent) {
        // Most events change an object already held: its key is looked up
        // borrowed, and built only for a new one.
        let parts = ev.object.key_parts();
        match ev.kind {
            WatchEventType::Deleted => self.items.remove(&parts),
            _ => self.items.put(&parts, ev.object.clone()),
        }
    }
}

/// An informer's objects, each in its slot; a deleted object's slot is
/// taken again by the next new one.
#[derive(Default)]
pub struct Items {
    slots: Vec<Option<Rc<Object>>>,
    free: Vec<usize>,
    /// Each key's slot, found by hash: most watch events replace an object
    /// already held, and a search down an ordered tree of every key (each
    /// probe reading two strings through their pointers) cost far more
    /// than a hash of the event's namespace and name.
    by_key: FxHashMap<SharedKey, usize>,
    /// Each key's slot in key order, for reads in order.
    order: BTreeMap<SharedKey, usize>,
}

impl Items {
    fn held(&self, key: &dyn KeyRef) -> Option<&Rc<Object>> {
        self.by_key.get(key).and_then(|&slot| self.slots.get(slot)).and_then(Option::as_ref)
    }

    fn len(&self) -> usize {
        self.by_key.len()
    }

    fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.by_key.clear();
        self.order.clear();
    }

    /// Every key with its object, in key order.
    fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Rc<Object>)> {
        self.order.iter().filter_map(|(key, &slot)| self.slots.get(slot).and_then(Option::as_ref).map(|o| (&*key.0, o)))
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
        let key = SharedKey::interned(key);
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
}

/// Taken out of a stopped component, the objects go a few at a time.
impl Release for Items {
    fn release(&mut self, budget: usize) -> usize {
        let keys = self.order.release(budget).max(self.by_key.release(budget));
        let objects = budget.min(self.slots.len());
        self.slots.truncate(self.slots.len() - objects);
        if self.slots.is_empty() {
            self.free.clear();
        }
        keys.max(objects)
    }
    fn is_released(&self) -> bool {
        self.slots.is_empty() && self.order.is_released() && self.by_key.is_released()
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
    use crate::engine::cluster::{Cluster, Profile, ProfileKind};
    use crate::engine::sim::Component;
    use std::any::Any;

    /// Lists every ConfigMap and keeps what each run was handed.
    struct Lister {
        informer: Informer,
        runs: Vec<(usize, bool)>,
        seen: Vec<ObjectKey>,
    }

    impl Component for Lister {
        fn name(&self) -> &str {
            "lister"
        }
        fn run(&mut self, ctx: &mut Ctx) {
            let events = self.informer.sync(ctx);
            self.seen.extend(events.iter().map(|e| ObjectKey::of(&e.object)));
            self.runs.push((events.len(), self.informer.has_synced()));
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn pod(namespace: &str, name: &str) -> Rc<Object> {
        let p = serde_json::json!({"metadata": {"name": name, "namespace": namespace}});
        Rc::new(Object::from_json(crate::engine::api::ids::pods(), p).unwrap())
    }

    #[test]
    fn objects_are_read_in_key_order_and_by_namespace() {
        let mut informer = Informer::new(Query::all(crate::engine::api::ids::pods()));
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
        assert!(Rc::ptr_eq(informer.get(&ObjectKey::new("a", "y")).unwrap(), &newer));
        // A deleted object's slot is taken by the next new one, in its own place in the order.
        informer.items.remove(&("a", "z"));
        assert!(informer.get(&ObjectKey::new("a", "z")).is_none());
        assert_eq!(informer.items().size_hint(), (4, Some(4)));
        informer.seed([pod("c", "a")]);
        assert_eq!(keys(&mut informer.items()), ["/c", "a/y", "ab/a", "b/x", "c/a"]);
        assert_eq!(informer.items.slots.len(), 5);
        // Taken out, they are freed a few at a time.
        let mut taken = informer.take_items();
        assert!(informer.is_empty() && informer.items().next().is_none());
        assert_eq!(taken.release(3), 3);
        assert!(!taken.is_released());
        taken.release(3);
        assert!(taken.is_released());
    }

    #[test]
    fn a_big_list_reaches_its_component_over_runs_at_one_instant_in_key_order() {
        let mut c = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let total = MAX_LISTED_PER_SYNC * 2 + 10;
        // "a" prefixes "a-b": the store orders "a-b/…" first, keys "a" first.
        for namespace in ["a", "a-b"] {
            let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
            c.sim.api.create(Object::from_json(crate::engine::api::ids::namespaces(), ns).expect("a Namespace")).expect("created");
        }
        for i in 0..total {
            let namespace = ["a-b", "a"][i % 2];
            let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i:05}"), "namespace": namespace}});
            let obj = Object::from_json(crate::engine::api::ids::config_maps(), cm).expect("a ConfigMap");
            c.sim.api.create(obj).expect("created");
        }
        let before = c.sim.now();
        c.sim.add(Box::new(Lister { informer: Informer::new(Query::all(crate::engine::api::ids::config_maps())), runs: Vec::new(), seen: Vec::new() }));
        c.sim.run_for_ms(1);
        let lister = c.sim.component("lister").and_then(|l| l.as_any().downcast_ref::<Lister>()).expect("the lister");
        let listed: usize = lister.runs.iter().take(3).map(|r| r.0).sum();
        assert!(listed > total, "every ConfigMap, the cluster's own too: {:?}", lister.runs);
        assert_eq!(lister.runs[0], (MAX_LISTED_PER_SYNC, false));
        assert_eq!(lister.runs[1], (MAX_LISTED_PER_SYNC, false));
        assert!(lister.runs[2].1, "synced once all of it was handed out: {:?}", lister.runs);
        let mut sorted = lister.seen.clone();
        sorted.sort();
        assert_eq!(lister.seen, sorted);
        assert_eq!(lister.informer.len(), listed);
        assert_eq!(c.sim.now(), before.plus_millis(1));
    }
}
