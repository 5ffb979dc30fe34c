//! The controller manager's shared informers, as client-go's
//! `SharedInformerFactory`: one list+watch per resource however many
//! controllers read it, with the indexes the controllers look things up by
//! (owner uid, controller uid, orphans per namespace, object uid, a pod's
//! node), so a sync never scans every pod in the cluster.

use std::collections::{BTreeMap, BTreeSet};
use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::engine::api::{meta, resource_for_kind, KeyRef, Object, ObjectKey, ResourceId, SharedKey};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use crate::engine::apiserver::{Query, WatchEvent, WatchEventType};
use crate::engine::informer::Informer;
use crate::engine::keys_by_name::{file_under, remove_from, KeysByName};
use crate::engine::sim::leftovers::Release;
use crate::engine::sim::Ctx;

/// One resource's informer and its indexes.
pub struct Indexed {
    informer: Informer,
    /// Owner uid (any ownerReference) → dependents.
    ///
    /// The key sets and maps here hold one key per object, shared
    /// ([`SharedKey`]): five copies of its namespace and name were about
    /// 300 bytes a pod.
    by_owner: KeysByName<SharedKey>,
    /// Controller uid → namespace → objects it controls (held here, so a
    /// controller's sync reads its objects without a lookup in the whole
    /// cache), by name: in key order, and a change finds its object by
    /// comparing names alone (a controller's objects share a namespace).
    by_controller: FxHashMap<String, BTreeMap<Rc<str>, HeldByName>>,
    /// Namespace → objects without a controller (candidates for adoption).
    orphans: BTreeMap<Rc<str>, HeldByName>,
    /// Object uid (the one its [`IndexEntry`] holds) → key.
    by_uid: FxHashMap<Rc<str>, SharedKey>,
    /// Namespace → keys, so per-namespace reads skip other namespaces.
    by_namespace: KeysByName<SharedKey>,
    /// Node name → the pods bound to it (pods only), for node lifecycle.
    by_node: KeysByName<SharedKey>,
    /// What each cached object was indexed under, to unindex it on change.
    indexed_as: FxHashMap<SharedKey, IndexEntry>,
}

/// Objects of one namespace by name.
type HeldByName = BTreeMap<Rc<str>, Rc<Object>>;

/// What an object was indexed as: the version indexed (also held in
/// `by_controller` or `orphans`), whose uid, owners and controller its
/// index entries name. Its own copies of those uids were about 110 bytes
/// a pod.
struct IndexEntry {
    indexed: Rc<Object>,
}

/// The node `obj` is bound to, if it is a bound pod.
fn node_of(obj: &Object) -> Option<&str> {
    match obj {
        Object::Pod(p) => p.node_name(),
        _ => None,
    }
}

/// An object's owners' uids, in order.
fn owner_uids(obj: &Object) -> impl Iterator<Item = &str> {
    obj.meta().owner_references.iter().flatten().map(|o| o.uid.as_str())
}

impl IndexEntry {
    fn uid(&self) -> &str {
        self.indexed.meta().uid.as_deref().unwrap_or_default()
    }

    /// Whether `obj` is indexed under the same uid, owners and controller.
    fn matches(&self, obj: &Object) -> bool {
        let (m, held) = (obj.meta(), self.indexed.meta());
        m.uid.as_deref().unwrap_or_default() == self.uid()
            && owner_uids(obj).eq(owner_uids(&self.indexed))
            && controller_place(m.owner_references.as_ref()) == controller_place(held.owner_references.as_ref())
    }

    /// The controller's uid.
    fn controller(&self) -> Option<&String> {
        controller_uid(&self.indexed)
    }
}

/// The uid of `obj`'s controller (`meta::controller_of`'s).
fn controller_uid(obj: &Object) -> Option<&String> {
    meta::controller_of(obj.meta().owner_references.as_ref()).map(|o| &o.uid)
}

/// Where `meta::controller_of` finds the controller among `owners`.
fn controller_place(owners: Option<&Vec<OwnerReference>>) -> Option<u32> {
    owners?.iter().position(|o| o.controller == Some(true)).and_then(|i| u32::try_from(i).ok())
}

impl Indexed {
    fn new(resource: ResourceId) -> Self {
        Indexed {
            informer: Informer::new(Query::all(resource)),
            by_owner: KeysByName::default(),
            by_controller: FxHashMap::default(),
            orphans: BTreeMap::new(),
            by_uid: FxHashMap::default(),
            by_namespace: KeysByName::default(),
            by_node: KeysByName::default(),
            indexed_as: FxHashMap::default(),
        }
    }

    /// Its objects and indexes, taken out (the process stopped).
    fn take_tables(&mut self) -> Vec<Box<dyn Release>> {
        vec![
            Box::new(self.informer.take_items()),
            Box::new(std::mem::take(&mut self.by_owner)),
            Box::new(std::mem::take(&mut self.by_controller)),
            Box::new(std::mem::take(&mut self.orphans)),
            Box::new(std::mem::take(&mut self.by_uid)),
            Box::new(std::mem::take(&mut self.by_namespace)),
            Box::new(std::mem::take(&mut self.by_node)),
            Box::new(std::mem::take(&mut self.indexed_as)),
        ]
    }

    fn reset(&mut self) {
        self.informer.reset();
        self.by_owner.clear();
        self.by_controller.clear();
        self.orphans.clear();
        self.by_uid.clear();
        self.by_namespace.clear();
        self.by_node.clear();
        self.indexed_as.clear();
    }

    fn unindex(&mut self, key: &ObjectKey) {
        let key_ref = key as &dyn KeyRef;
        let Some(entry) = self.indexed_as.remove(key_ref) else { return };
        remove_from(&mut self.by_namespace, &key.namespace, key_ref);
        if self.by_uid.get(entry.uid()).is_some_and(|k| *k.0 == *key) {
            self.by_uid.remove(entry.uid());
        }
        for owner in owner_uids(&entry.indexed) {
            remove_from(&mut self.by_owner, owner, key_ref);
        }
        // The held version is the one indexed, so its node is the one the key is filed under.
        let held = match entry.controller() {
            Some(c) => {
                let namespaces = self.by_controller.get_mut(c);
                let held = namespaces.and_then(|n| remove_held(n, &key.namespace, &key.name));
                if self.by_controller.get(c).is_some_and(BTreeMap::is_empty) {
                    self.by_controller.remove(c);
                }
                held
            }
            None => remove_held(&mut self.orphans, &key.namespace, &key.name),
        };
        if let Some(node) = held.as_deref().and_then(node_of) {
            remove_from(&mut self.by_node, node, key_ref);
        }
    }

    fn index(&mut self, key: ObjectKey, obj: &Rc<Object>) {
        let m = obj.meta();
        let uid: Rc<str> = Rc::from(m.uid.as_deref().unwrap_or_default());
        // The informer holds the object (it applied the event first): its key is shared.
        let key = self.informer.share_key(key);
        let controller = controller_uid(obj).cloned();
        if let Some(node) = node_of(obj) {
            file_under(&mut self.by_node, node, key.clone());
        }
        if !uid.is_empty() {
            self.by_uid.insert(uid.clone(), key.clone());
        }
        let (namespace, name) = (&key.0.namespace, &key.0.name);
        file_under(&mut self.by_namespace, namespace, key.clone());
        for owner in owner_uids(obj) {
            file_under(&mut self.by_owner, owner, key.clone());
        }
        match controller {
            Some(c) => self.by_controller.entry(c).or_default().entry(namespace.clone()).or_default().insert(name.clone(), obj.clone()),
            None => self.orphans.entry(namespace.clone()).or_default().insert(name.clone(), obj.clone()),
        };
        self.indexed_as.insert(key, IndexEntry { indexed: obj.clone() });
    }

    fn apply(&mut self, events: &[WatchEvent]) {
        for ev in events {
            // Most changes (a status write, a binding) keep every index key
            // but the node: only the held object is replaced, found by the
            // borrowed key, and a binding moves the key to its node.
            let parts = ev.object.key_parts();
            let indexed = if ev.kind == WatchEventType::Deleted { None } else { self.indexed_as.get_mut(&parts as &dyn KeyRef) };
            if let Some(entry) = indexed.filter(|e| e.matches(&ev.object)) {
                let held = match entry.controller() {
                    Some(c) => self.by_controller.get_mut(c).and_then(|n| n.get_mut(parts.0)),
                    None => self.orphans.get_mut(parts.0),
                };
                if let Some(slot) = held.and_then(|m| m.get_mut(parts.1)) {
                    let old = std::mem::replace(slot, ev.object.clone());
                    entry.indexed = ev.object.clone();
                    let node = node_of(&ev.object);
                    if node_of(&old) != node {
                        if let Some(was) = node_of(&old) {
                            remove_from(&mut self.by_node, was, &parts as &dyn KeyRef);
                        }
                        // (A binding, once a pod: the key is looked up only then.)
                        let key = self.indexed_as.get_key_value(&parts as &dyn KeyRef).map(|(k, _)| k.clone());
                        if let Some((node, key)) = node.zip(key) {
                            file_under(&mut self.by_node, node, key);
                        }
                    }
                    continue;
                }
            }
            let key = ObjectKey::of(&ev.object);
            self.unindex(&key);
            if ev.kind != WatchEventType::Deleted {
                self.index(key, &ev.object);
            }
        }
    }

    pub fn has_synced(&self) -> bool {
        self.informer.has_synced()
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Rc<Object>> {
        self.informer.get(key)
    }

    /// As [`Cache::get`], by borrowed parts.
    pub fn get_by_parts(&self, namespace: &str, name: &str) -> Option<&Rc<Object>> {
        self.informer.get_by_parts(namespace, name)
    }

    pub fn get_by_uid(&self, uid: &str) -> Option<&Rc<Object>> {
        self.by_uid.get(uid).and_then(|k| self.informer.get(&k.0))
    }

    /// Every cached object, in key order.
    pub fn items(&self) -> impl Iterator<Item = &Rc<Object>> {
        self.informer.items()
    }

    pub fn len(&self) -> usize {
        self.informer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.informer.is_empty()
    }

    /// Objects in one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        self.by_namespace.get(namespace).into_iter().flatten().filter_map(|k| self.informer.get(&k.0))
    }

    /// Pods bound to `node`, in key order.
    pub fn on_node<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        self.by_node.get(node).into_iter().flatten().filter_map(|k| self.informer.get(&k.0))
    }

    /// Objects whose controller is `uid`, in key order.
    pub fn controlled_by(&self, uid: &str) -> Vec<Rc<Object>> {
        self.controlled_iter(uid).cloned().collect()
    }

    /// Objects whose controller is `uid`, in key order, borrowed from the cache.
    pub fn controlled_iter<'a>(&'a self, uid: &str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        self.by_controller.get(uid).into_iter().flat_map(BTreeMap::values).flat_map(BTreeMap::values)
    }

    /// How many objects `uid` controls.
    pub fn controlled_count(&self, uid: &str) -> usize {
        self.by_controller.get(uid).map_or(0, |n| n.values().map(BTreeMap::len).sum())
    }

    /// Objects with any ownerReference to `uid`, in key order.
    pub fn owned_by(&self, uid: &str) -> Vec<Rc<Object>> {
        self.lookup(self.by_owner.get(uid))
    }

    pub fn owned_by_count(&self, uid: &str) -> usize {
        self.by_owner.get(uid).map_or(0, BTreeSet::len)
    }

    /// Objects without a controller in a namespace, in name order.
    pub fn orphans_in(&self, namespace: &str) -> Vec<Rc<Object>> {
        self.orphans.get(namespace).into_iter().flat_map(|m| m.values().cloned()).collect()
    }

    fn lookup(&self, keys: Option<&BTreeSet<SharedKey>>) -> Vec<Rc<Object>> {
        keys.into_iter().flatten().filter_map(|k| self.informer.get(&k.0).cloned()).collect()
    }
}

/// Takes `name` out of namespace `at`, and the namespace with its last object.
fn remove_held(namespaces: &mut BTreeMap<Rc<str>, HeldByName>, at: &str, name: &str) -> Option<Rc<Object>> {
    let map = namespaces.get_mut(at)?;
    let held = map.remove(name);
    if map.is_empty() {
        namespaces.remove(at);
    }
    held
}

/// Whether `rid` names a custom resource (filed after the built-in table).
pub fn is_custom(rid: ResourceId) -> bool {
    rid.0 as usize >= crate::engine::api::RESOURCES.len()
}

/// Every shared informer the controllers asked for.
#[derive(Default)]
pub struct Cache {
    informers: BTreeMap<ResourceId, Indexed>,
}

/// What the shared informers delivered in one round, per resource.
#[derive(Default)]
pub struct Changes {
    events: BTreeMap<ResourceId, Vec<WatchEvent>>,
}

impl Changes {
    pub fn of(&self, resource: ResourceId) -> &[WatchEvent] {
        self.events.get(&resource).map_or(&[], Vec::as_slice)
    }
    pub fn is_empty(&self) -> bool {
        self.events.values().all(Vec::is_empty)
    }
}

impl Cache {
    pub fn ensure(&mut self, resource: ResourceId) {
        self.informers.entry(resource).or_insert_with(|| Indexed::new(resource));
    }

    /// The informer of `resource`. Controllers only ask for what they
    /// declared in `watches`, so a missing one is an empty stand-in.
    pub fn of(&self, resource: ResourceId) -> &Indexed {
        thread_local! {
            static EMPTY: &'static Indexed = Box::leak(Box::new(Indexed::new(ResourceId(0))));
        }
        match self.informers.get(&resource) {
            Some(i) => i,
            None => EMPTY.with(|e| *e),
        }
    }

    /// The cached object with this uid, among every informer.
    pub fn find_uid(&self, uid: &str) -> Option<(ResourceId, &Rc<Object>)> {
        self.informers.iter().find_map(|(rid, i)| i.get_by_uid(uid).map(|o| (*rid, o)))
    }

    /// The cached object an ownerReference points at: looked up first in
    /// the informer of the kind it names (uids are unique, so a hit there
    /// is the object `find_uid` finds), else among every informer.
    pub fn find_owner(&self, owner: &OwnerReference) -> Option<(ResourceId, &Rc<Object>)> {
        let named = resource_for_kind(&owner.api_version, &owner.kind)
            .and_then(|rid| self.informers.get(&rid).and_then(|i| i.get_by_uid(&owner.uid)).map(|o| (rid, o)));
        named.or_else(|| self.find_uid(&owner.uid))
    }

    /// Cached objects with an ownerReference to `uid`, of every kind.
    pub fn dependents_of(&self, uid: &str) -> Vec<(ResourceId, Rc<Object>)> {
        self.informers.iter().flat_map(|(rid, i)| i.owned_by(uid).into_iter().map(move |o| (*rid, o))).collect()
    }

    pub fn synced(&self, resources: &[ResourceId]) -> bool {
        resources.iter().all(|r| self.informers.get(r).is_some_and(Indexed::has_synced))
    }

    /// Brings every informer up to date.
    pub fn sync(&mut self, ctx: &mut Ctx) -> Changes {
        let mut changes = Changes::default();
        for (rid, indexed) in &mut self.informers {
            let events = indexed.informer.sync(ctx);
            indexed.apply(&events);
            if !events.is_empty() {
                changes.events.insert(*rid, events);
            }
        }
        changes
    }

    /// Every shared informer, in resource order.
    pub fn informers(&self) -> Vec<&Informer> {
        self.informers.values().map(|i| &i.informer).collect()
    }

    pub fn reset(&mut self) {
        for indexed in self.informers.values_mut() {
            indexed.reset();
        }
        // Custom resources' informers come back as a controller asks for them again.
        self.informers.retain(|rid, _| !is_custom(*rid));
    }

    /// Keeps informers for exactly these custom resources (the garbage
    /// collector's monitors, as its discovery sync last found them):
    /// one no longer wanted stops watching and goes. Returns whether one
    /// was added, to be listed on the next run.
    pub fn keep_custom(&mut self, wanted: &BTreeSet<ResourceId>, api: &mut crate::engine::apiserver::ApiServer) -> bool {
        let gone: Vec<ResourceId> = self.informers.keys().copied().filter(|rid| is_custom(*rid) && !wanted.contains(rid)).collect();
        for rid in gone {
            if let Some(mut indexed) = self.informers.remove(&rid) {
                indexed.informer.close(api);
            }
        }
        let mut added = false;
        for &rid in wanted {
            if !self.informers.contains_key(&rid) {
                self.ensure(rid);
                added = true;
            }
        }
        added
    }

    /// Every informer's objects and indexes, for the simulation to free a
    /// part at a time (the process stopped; [`Cache::reset`] follows).
    pub fn leftovers(&mut self) -> Vec<Box<dyn Release>> {
        self.informers.values_mut().flat_map(Indexed::take_tables).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::ids;
    use serde_json::json;

    fn pod(name: &str, node: Option<&str>, controller: Option<&str>) -> Rc<Object> {
        let mut p = json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        if let Some(node) = node {
            p["spec"]["nodeName"] = json!(node);
        }
        if let Some(c) = controller {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": c, "uid": c, "controller": true}]);
        }
        Rc::new(Object::from_json(ids::pods(), p).unwrap())
    }

    fn event(kind: WatchEventType, object: &Rc<Object>) -> WatchEvent {
        WatchEvent { kind, object: object.clone() }
    }

    fn names<'a>(i: impl Iterator<Item = &'a Rc<Object>>) -> Vec<String> {
        i.map(|o| o.meta().name.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn pods_are_found_by_the_node_they_are_bound_to() {
        let mut cache = Indexed::new(ids::pods());
        let (a, b) = (pod("a", None, Some("rs-1")), pod("b", None, None));
        cache.informer.seed([a.clone(), b.clone()]);
        cache.apply(&[event(WatchEventType::Added, &a), event(WatchEventType::Added, &b)]);
        assert!(cache.by_node.is_empty());
        // A binding keeps every other index key: the key moves to the node.
        let (a1, b1) = (pod("a", Some("n1"), Some("rs-1")), pod("b", Some("n1"), None));
        cache.informer.seed([a1.clone(), b1.clone()]);
        cache.apply(&[event(WatchEventType::Modified, &b1), event(WatchEventType::Modified, &a1)]);
        assert_eq!(names(cache.on_node("n1")), ["a", "b"]);
        assert!(Rc::ptr_eq(&cache.controlled_by("rs-1")[0], &a1));
        // A change of controller re-indexes the pod, node included.
        let a2 = pod("a", Some("n1"), Some("rs-2"));
        cache.informer.seed([a2.clone()]);
        cache.apply(&[event(WatchEventType::Modified, &a2)]);
        assert_eq!(names(cache.on_node("n1")), ["a", "b"]);
        assert!(cache.controlled_by("rs-1").is_empty());
        // Deleted pods leave their node; the last one takes the node's entry.
        cache.apply(&[event(WatchEventType::Deleted, &a2)]);
        assert_eq!(names(cache.on_node("n1")), ["b"]);
        cache.apply(&[event(WatchEventType::Deleted, &b1)]);
        assert!(cache.by_node.is_empty());
        assert!(cache.indexed_as.is_empty());
    }

    #[test]
    fn an_owner_is_found_by_its_reference_whatever_kind_it_names() {
        let mut cache = Cache::default();
        cache.ensure(ids::pods());
        cache.ensure(ids::replica_sets());
        let rs = Rc::new(
            Object::from_json(ids::replica_sets(), json!({"metadata": {"name": "web", "namespace": "default", "uid": "rs-1"}, "spec": {"selector": {}}}))
                .unwrap(),
        );
        let owned = pod("a", None, None);
        for (rid, obj) in [(ids::replica_sets(), &rs), (ids::pods(), &owned)] {
            let indexed = cache.informers.get_mut(&rid).unwrap();
            indexed.informer.seed([obj.clone()]);
            indexed.apply(&[event(WatchEventType::Added, obj)]);
        }
        let reference = |api_version: &str, kind: &str, uid: &str| OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: "web".into(),
            uid: uid.into(),
            ..Default::default()
        };
        let found = |r: &OwnerReference| cache.find_owner(r).map(|(rid, o)| (rid, o.meta().uid.clone()));
        assert_eq!(found(&reference("apps/v1", "ReplicaSet", "rs-1")), Some((ids::replica_sets(), Some("rs-1".into()))));
        // A reference naming another kind (or none served) still finds the uid.
        assert_eq!(found(&reference("apps/v1", "Deployment", "rs-1")), Some((ids::replica_sets(), Some("rs-1".into()))));
        assert_eq!(found(&reference("v1", "Pod", "rs-1")), Some((ids::replica_sets(), Some("rs-1".into()))));
        assert_eq!(found(&reference("example.com/v1", "Widget", "uid-a")), Some((ids::pods(), Some("uid-a".into()))));
        assert_eq!(found(&reference("apps/v1", "ReplicaSet", "gone")), None);
    }
}
