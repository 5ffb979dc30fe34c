//! The scheduler's cache: every node with what the pods assigned to it use,
//! kept incrementally from the informers and from the scheduler's own
//! assumptions (a pod counts on its node from the moment it is bound, before
//! the watch confirms it).
//!
//! Besides per-node accounting it keeps the indexes the plugins need so that
//! no plugin scans every pod per attempt: pods matching a label selector per
//! node (spreading and pod affinity count with them), the pods that declare
//! pod (anti-)affinity, how many nodes hold each image, and which claims
//! assigned pods use.

use std::collections::{BTreeMap, BTreeSet};
use rustc_hash::FxHashMap;

use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::framework::{pod_host_ports, pod_labels, pod_priority, HostPort, NodeInfo, PodAffinityInfo};
use super::resources::{scheduled_requests, PodRequests};
use crate::engine::api::{KeyRef, Object, ObjectKey, SharedKey};
use crate::engine::selector::{Op, Selector};

/// What an assigned pod takes from its node.
#[derive(Clone, Debug)]
pub struct AssignedPod {
    pub node: Rc<str>,
    /// The node's slot while the node is in the cache.
    slot: Option<usize>,
    pub requests: PodRequests,
    pub ports: Vec<HostPort>,
    pub priority: i32,
    pub terminating: bool,
    /// The pod as last seen (shared with the informer).
    pub object: Rc<Object>,
    /// Its pod (anti-)affinity, parsed once, if it declares any.
    pub affinity: Option<Rc<PodAffinityInfo>>,
}

/// Whether the pod still counts what it was recorded with: the same spec
/// and no resources reported in its status (the usual case, two pointer
/// reads), or the same requests worked out again (an in-place resize
/// changes the spec's or the status's resources).
fn same_requests(recorded: &AssignedPod, pod: &Pod) -> bool {
    let same_spec = match (&recorded.pod().spec, &pod.spec) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    if same_spec && !pod.status.as_deref().is_some_and(|s| s.reports_container_resources()) {
        return true;
    }
    recorded.requests == scheduled_requests(pod)
}

impl AssignedPod {
    pub fn new(object: Rc<Object>, node: Rc<str>) -> Self {
        let requests = match &*object {
            Object::Pod(p) => scheduled_requests(p),
            _ => PodRequests::default(),
        };
        Self::with_requests(object, node, requests)
    }

    /// As [`AssignedPod::new`], reusing requests already computed.
    pub fn with_requests(object: Rc<Object>, node: Rc<str>, requests: PodRequests) -> Self {
        let (ports, priority, terminating, affinity) = match &*object {
            Object::Pod(p) => (pod_host_ports(p), pod_priority(p), p.metadata.deletion_timestamp.is_some(), PodAffinityInfo::of(p).map(Rc::new)),
            _ => (Vec::new(), 0, false, None),
        };
        AssignedPod { node, slot: None, requests, ports, priority, terminating, object, affinity }
    }

    pub fn pod(&self) -> &Pod {
        match &*self.object {
            Object::Pod(p) => p,
            _ => empty_pod(),
        }
    }

    pub fn namespace(&self) -> &str {
        self.pod().metadata.namespace.as_deref().unwrap_or("")
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        pod_labels(self.pod())
    }
}

#[cold]
fn empty_pod() -> &'static Pod {
    // Per thread, as a pod's `Rc`s are; one small leak for the life of the thread.
    thread_local!(static EMPTY: &'static Pod = Box::leak(Box::default()));
    EMPTY.with(|pod| *pod)
}

/// Pods matching one label selector in one namespace, per node slot.
#[derive(Clone, Debug)]
pub struct SelectorCounts {
    pub namespace: String,
    pub selector: Selector,
    /// Matching pods that are not terminating (what spreading counts).
    live: SlotCounts,
    /// Matching terminating pods (pod affinity still counts them).
    terminating: SlotCounts,
    total: u64,
}

/// How many pods are on each node slot that has any, in slot order. A
/// selector's pods are on a few of the cluster's nodes (a Deployment's
/// 100 replicas among 5,000), and a count for every slot was 20 KB a
/// selector at 5,000 nodes, 30 MB for 1,500 Deployments.
#[derive(Clone, Debug, Default)]
pub struct SlotCounts(Vec<(u32, u32)>);

impl SlotCounts {
    fn find(&self, slot: usize) -> Result<usize, usize> {
        match u32::try_from(slot) {
            Ok(slot) => self.0.binary_search_by_key(&slot, |&(s, _)| s),
            Err(_) => Err(self.0.len()),
        }
    }

    pub fn get(&self, slot: usize) -> u32 {
        self.find(slot).map_or(0, |i| self.0[i].1)
    }

    /// (slot, count) for the slots with a pod, in slot order.
    pub fn entries(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// Calls `f` with the counts as a list by slot (shorter than the slot
    /// table when the last slots hold none), for a loop that reads the
    /// count of many nodes: a lookup apiece in the sparse list cost the
    /// scheduler about 4 % of its rate at 5,000 nodes. The list is one
    /// kept zeroed for the thread, filled and cleared again around `f`.
    pub fn with_dense<R>(&self, f: impl FnOnce(&[u32]) -> R) -> R {
        thread_local! {
            static DENSE: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let len = self.0.last().map_or(0, |&(slot, _)| slot as usize + 1);
        let fill = |dense: &mut Vec<u32>, with_counts: bool| {
            if dense.len() < len {
                dense.resize(len, 0);
            }
            for &(slot, n) in &self.0 {
                if let Some(at) = dense.get_mut(slot as usize) {
                    *at = if with_counts { n } else { 0 };
                }
            }
        };
        DENSE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut dense) => {
                fill(&mut dense, true);
                let result = f(&dense[..len.min(dense.len())]);
                fill(&mut dense, false);
                result
            }
            // In use further up the stack: a list of its own.
            Err(_) => {
                let mut own = Vec::new();
                fill(&mut own, true);
                f(&own)
            }
        })
    }

    fn add(&mut self, slot: usize) {
        match self.find(slot) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => {
                if let Ok(slot) = u32::try_from(slot) {
                    self.0.insert(i, (slot, 1));
                }
            }
        }
    }

    /// Takes one pod off `slot`; whether there was one.
    fn remove(&mut self, slot: usize) -> bool {
        let Ok(i) = self.find(slot) else { return false };
        self.0[i].1 -= 1;
        if self.0[i].1 == 0 {
            self.0.remove(i);
        }
        true
    }
}

impl SelectorCounts {
    /// Non-terminating matching pods on the slots that have any.
    pub fn live_counts(&self) -> &SlotCounts {
        &self.live
    }
    pub fn live_at(&self, slot: usize) -> u32 {
        self.live.get(slot)
    }
    /// Matching pods on any node, terminating or not.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Slots with at least one matching pod (terminating or not), in slot
    /// order, with how many.
    pub fn occupied(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        let (mut live, mut terminating) = (self.live.0.iter().peekable(), self.terminating.0.iter().peekable());
        std::iter::from_fn(move || {
            let (slot, n) = match (live.peek(), terminating.peek()) {
                (Some(&&(a, x)), Some(&&(b, y))) if a == b => {
                    live.next();
                    terminating.next();
                    (a, x + y)
                }
                (Some(&&(a, x)), Some(&&(b, _))) if a < b => {
                    live.next();
                    (a, x)
                }
                (_, Some(&&(b, y))) => {
                    terminating.next();
                    (b, y)
                }
                (Some(&&(a, x)), None) => {
                    live.next();
                    (a, x)
                }
                (None, None) => return None,
            };
            Some((slot as usize, n))
        })
    }

    /// Counts a pod in or out; returns whether the entry went from
    /// counting nothing to counting something (1), the reverse (-1), or
    /// neither (0).
    fn adjust(&mut self, slot: usize, terminating: bool, sign: i64) -> isize {
        let counts = if terminating { &mut self.terminating } else { &mut self.live };
        if sign > 0 {
            counts.add(slot);
            self.total += 1;
            isize::from(self.total == 1)
        } else if counts.remove(slot) {
            self.total -= 1;
            -isize::from(self.total == 0)
        } else {
            0
        }
    }
}

pub type SelectorId = usize;

/// The label pair a selector is filed under: a pod can only match it if it
/// carries that pair.
fn index_pair(selector: &Selector) -> Option<(&str, &str)> {
    selector.requirements.iter().find_map(|r| match (&r.op, r.values.as_slice()) {
        (Op::Equals, [v]) | (Op::In, [v]) => Some((r.key.as_str(), v.as_str())),
        _ => None,
    })
}

#[derive(Default)]
struct SelectorIndex {
    entries: Vec<Option<SelectorCounts>>,
    free: Vec<usize>,
    by_key: FxHashMap<String, SelectorId>,
    /// namespace → label key → label value → selectors filed under that pair.
    by_label: FxHashMap<String, FxHashMap<String, FxHashMap<String, Vec<SelectorId>>>>,
    /// Selectors with no equality requirement, per namespace.
    unindexed: FxHashMap<String, Vec<SelectorId>>,
    /// Entries that count at least one pod.
    in_use: usize,
}

impl SelectorIndex {
    fn key(namespace: &str, selector: &Selector) -> String {
        format!("{namespace}\u{0}{selector}")
    }

    fn candidates<'a>(&'a self, namespace: &str, labels: &'a BTreeMap<String, String>) -> impl Iterator<Item = SelectorId> + 'a {
        let by_key = self.by_label.get(namespace);
        let indexed = labels.iter().flat_map(move |(k, v)| by_key.and_then(|m| m.get(k.as_str())).and_then(|m| m.get(v.as_str())).into_iter().flatten().copied());
        indexed.chain(self.unindexed.get(namespace).into_iter().flatten().copied())
    }

    fn remove(&mut self, id: SelectorId) {
        let Some(entry) = self.entries.get_mut(id).and_then(Option::take) else { return };
        self.by_key.remove(&Self::key(&entry.namespace, &entry.selector));
        match index_pair(&entry.selector) {
            Some((k, v)) => {
                if let Some(list) = self.by_label.get_mut(&entry.namespace).and_then(|m| m.get_mut(k)).and_then(|m| m.get_mut(v)) {
                    list.retain(|&x| x != id);
                }
            }
            None => {
                if let Some(list) = self.unindexed.get_mut(&entry.namespace) {
                    list.retain(|&x| x != id);
                }
            }
        }
        self.free.push(id);
    }
}

#[derive(Default)]
pub struct Cache {
    slots: Vec<Option<NodeInfo>>,
    free_slots: Vec<usize>,
    by_name: FxHashMap<Rc<str>, usize>,
    /// Slots in node-tree order: zones taken round-robin, nodes of a zone in
    /// the order they were added.
    order: Vec<usize>,
    added: Vec<usize>,
    order_dirty: bool,
    /// (Boxed: the table grows with the cluster's pods, and moving small
    /// entries when it doubles is cheaper than moving whole records.)
    /// A pod's key is one [`SharedKey`] in this table and the sets below.
    pods: FxHashMap<SharedKey, Box<AssignedPod>>,
    /// Assigned pods by node name, including nodes not (or no longer) cached.
    /// (Looked up by name only; each node's set iterates in key order.)
    pods_by_node: FxHashMap<Rc<str>, BTreeSet<SharedKey>>,
    selectors: SelectorIndex,
    /// Assigned pods that declare pod (anti-)affinity, and those with a
    /// required anti-affinity term (`HavePodsWithRequiredAntiAffinityList`).
    with_affinity: BTreeSet<SharedKey>,
    with_required_anti_affinity: BTreeSet<SharedKey>,
    /// How many nodes report each image name.
    image_nodes: FxHashMap<String, u32>,
    /// `namespace/claim` → assigned pods using it.
    claim_users: FxHashMap<String, u32>,
    /// Assigned pods per namespace.
    namespaces: BTreeMap<Rc<str>, u32>,
    /// Assigned pods carrying each label pair, per namespace (namespace →
    /// key → value → pods): a new selector that requires a pair no pod
    /// carries (a new ReplicaSet's `pod-template-hash`) starts at zero
    /// without a pass over every assigned pod.
    label_pairs: FxHashMap<String, FxHashMap<String, FxHashMap<String, u32>>>,
    /// Bumped whenever selector-index entries are dropped (their ids die).
    selector_generation: u64,
    /// Nodes with a `topology.kubernetes.io/zone` label.
    zoned_nodes: usize,
    /// Nodes with a PreferNoSchedule taint.
    soft_tainted_nodes: usize,
}

/// The claims a pod's volumes name, as `namespace/claim` (ephemeral volumes
/// use the claim the ephemeral controller creates, `<pod>-<volume>`).
pub fn pod_claim_keys(pod: &Pod) -> Vec<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if let Some(c) = &v.persistent_volume_claim {
            out.push(format!("{ns}/{}", c.claim_name));
        } else if v.ephemeral.is_some() {
            out.push(format!("{ns}/{name}-{}", v.name));
        }
    }
    out
}

impl Cache {
    pub fn node_count(&self) -> usize {
        self.by_name.len()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name.get(name).and_then(|&s| self.slots.get(s)).and_then(Option::as_ref)
    }

    /// One more than the highest node slot.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub fn node_at(&self, slot: usize) -> Option<&NodeInfo> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// Nodes in node-tree order (the order filtering walks them); call
    /// [`Cache::refresh_order`] after changes first.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.order.iter().filter_map(|&s| self.slots.get(s).and_then(Option::as_ref))
    }

    /// Node slots in node-tree order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    #[cfg(test)]
    pub fn ordered_nodes(&mut self) -> Vec<&NodeInfo> {
        self.refresh_order();
        self.nodes().collect()
    }

    /// Rebuilds the node-tree order if nodes came, went or changed zone.
    pub fn refresh_order(&mut self) {
        if !self.order_dirty {
            return;
        }
        let mut zones: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut zone_order: Vec<String> = Vec::new();
        for &slot in &self.added {
            let Some(n) = self.slots.get(slot).and_then(Option::as_ref) else { continue };
            let labels = n.labels();
            let region = labels.get("topology.kubernetes.io/region").map(String::as_str).unwrap_or("");
            let zone = labels.get("topology.kubernetes.io/zone").map(String::as_str).unwrap_or("");
            let key = format!("{region}:\u{0}:{zone}");
            let list = zones.entry(key.clone()).or_default();
            if list.is_empty() {
                zone_order.push(key);
            }
            list.push(slot);
        }
        self.order.clear();
        let mut index = 0;
        loop {
            let mut any = false;
            for z in &zone_order {
                if let Some(&slot) = zones.get(z).and_then(|l| l.get(index)) {
                    self.order.push(slot);
                    any = true;
                }
            }
            if !any {
                break;
            }
            index += 1;
        }
        self.order_dirty = false;
    }

    fn count_images(&mut self, images: &BTreeMap<String, i64>, sign: i64) {
        for name in images.keys() {
            if sign > 0 {
                *self.image_nodes.entry(name.clone()).or_insert(0) += 1;
            } else if let Some(c) = self.image_nodes.get_mut(name) {
                *c -= 1;
                if *c == 0 {
                    self.image_nodes.remove(name);
                }
            }
        }
    }

    /// How many nodes carry a zone label.
    pub fn zoned_nodes(&self) -> usize {
        self.zoned_nodes
    }

    /// How many nodes carry a PreferNoSchedule taint.
    pub fn soft_tainted_nodes(&self) -> usize {
        self.soft_tainted_nodes
    }

    /// How many nodes report an image (`ImageStateSummary.NumNodes`).
    pub fn image_node_count(&self, name: &str) -> u32 {
        self.image_nodes.get(name).copied().unwrap_or(0)
    }

    /// Adds or replaces a node. Returns the previous version, if any.
    pub fn upsert_node(&mut self, obj: Rc<Object>) -> Option<NodeInfo> {
        let Object::Node(node) = &*obj else { return None };
        let name = node.metadata.name.as_deref().unwrap_or("");
        if let Some(&slot) = self.by_name.get(name) {
            let info = self.slots.get_mut(slot).and_then(Option::as_mut)?;
            let old = info.clone();
            let zone_before = (old.labels().get("topology.kubernetes.io/region").cloned(), old.zone.clone());
            info.set_node(obj);
            let zone_after = (info.labels().get("topology.kubernetes.io/region").cloned(), info.zone.clone());
            let zoned_change = info.zone.is_some() as isize - old.zone.is_some() as isize;
            let images_changed = !Rc::ptr_eq(&old.images, &info.images);
            let new_images = info.images.clone();
            if zone_before != zone_after {
                self.order_dirty = true;
            }
            self.zoned_nodes = (self.zoned_nodes as isize + zoned_change).max(0) as usize;
            self.soft_tainted_nodes = (self.soft_tainted_nodes + usize::from(!info.soft_taints().is_empty())).saturating_sub(usize::from(!old.soft_taints().is_empty()));
            if images_changed {
                self.count_images(&old.images, -1);
                self.count_images(&new_images, 1);
            }
            return Some(old);
        }
        let slot = self.free_slots.pop().unwrap_or(self.slots.len());
        let info = NodeInfo::new(slot, obj)?;
        let name = info.name.clone();
        let images = info.images.clone();
        self.zoned_nodes += usize::from(info.zone.is_some());
        self.soft_tainted_nodes += usize::from(!info.soft_taints().is_empty());
        if slot == self.slots.len() {
            self.slots.push(Some(info));
        } else if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(info);
        }
        self.count_images(&images, 1);
        self.by_name.insert(name.clone(), slot);
        self.added.push(slot);
        self.order_dirty = true;
        // Pods already known on this node count again.
        let keys: Vec<SharedKey> = self.pods_by_node.get(&name).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for key in keys {
            if let Some(mut p) = self.pods.remove(&key) {
                p.slot = Some(slot);
                self.account(&p, 1);
                self.pods.insert(key, p);
            }
        }
        None
    }

    pub fn remove_node(&mut self, name: &str) -> Option<NodeInfo> {
        let slot = self.by_name.remove(name)?;
        let keys: Vec<SharedKey> = self.pods_by_node.get(name).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for key in keys {
            if let Some(mut p) = self.pods.remove(&key) {
                self.account(&p, -1);
                p.slot = None;
                self.pods.insert(key, p);
            }
        }
        let info = self.slots.get_mut(slot).and_then(Option::take);
        if let Some(info) = &info {
            let images = info.images.clone();
            self.count_images(&images, -1);
            self.zoned_nodes -= usize::from(info.zone.is_some());
            self.soft_tainted_nodes = self.soft_tainted_nodes.saturating_sub(usize::from(!info.soft_taints().is_empty()));
        }
        self.free_slots.push(slot);
        self.added.retain(|&s| s != slot);
        self.order_dirty = true;
        info
    }

    pub fn pod(&self, key: &ObjectKey) -> Option<&AssignedPod> {
        self.pods.get(key as &dyn KeyRef).map(|p| &**p)
    }

    /// Whether the pod is recorded on `node` in the same terminating state
    /// with the same labels (the watch confirming what the scheduler assumed).
    pub fn has_pod_on(&self, key: &ObjectKey, node: &str, pod: &Pod) -> bool {
        self.pods.get(key as &dyn KeyRef).is_some_and(|p| {
            &*p.node == node && p.terminating == pod.metadata.deletion_timestamp.is_some() && p.pod().metadata.labels == pod.metadata.labels && same_requests(p, pod)
        })
    }

    /// [`Cache::has_pod_on`] then [`Cache::refresh_object`] in one lookup
    /// by the borrowed key: whether the pod was recorded as it is (and its
    /// newer version is now kept).
    pub fn confirm(&mut self, key: &dyn KeyRef, node: &str, pod: &Pod, object: &Rc<Object>) -> bool {
        let Some(p) = self.pods.get_mut(key) else { return false };
        if &*p.node != node || p.terminating != pod.metadata.deletion_timestamp.is_some() || p.pod().metadata.labels != pod.metadata.labels || !same_requests(p, pod) {
            return false;
        }
        if !Rc::ptr_eq(&p.object, object) {
            p.object = object.clone();
        }
        true
    }

    /// The watch confirmed what was recorded: keep its version of the pod
    /// (sharing it with the informer, so the older version is freed).
    pub fn refresh_object(&mut self, key: &ObjectKey, object: &Rc<Object>) {
        if let Some(p) = self.pods.get_mut(key as &dyn KeyRef) {
            if !Rc::ptr_eq(&p.object, object) {
                p.object = object.clone();
            }
        }
    }

    /// The assigned pods' records, taken out (the scheduler stopped).
    pub fn take_pods(&mut self) -> Vec<Box<dyn crate::engine::sim::leftovers::Release>> {
        vec![Box::new(std::mem::take(&mut self.pods)), Box::new(std::mem::take(&mut self.pods_by_node))]
    }

    /// Records a pod on its node (bound, or assumed while binding).
    /// Replaces an earlier record of the same pod. The key is the one the
    /// scheduler's pod informer holds, when it has one: shared, not copied.
    pub fn add_pod(&mut self, key: SharedKey, mut pod: AssignedPod) {
        self.remove_pod(&key.0);
        pod.slot = self.by_name.get(&pod.node).copied();
        self.account(&pod, 1);
        self.index_pod(&key, &pod, 1);
        self.pods_by_node.entry(pod.node.clone()).or_default().insert(key.clone());
        self.pods.insert(key, Box::new(pod));
    }

    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<AssignedPod> {
        let (key, pod) = self.pods.remove_entry(key as &dyn KeyRef)?;
        let pod = *pod;
        self.account(&pod, -1);
        self.index_pod(&key, &pod, -1);
        if let Some(set) = self.pods_by_node.get_mut(&pod.node) {
            set.remove(&key);
            if set.is_empty() {
                self.pods_by_node.remove(&pod.node);
            }
        }
        Some(pod)
    }

    /// Pods recorded on a node, in key order.
    pub fn pods_on(&self, node: &str) -> impl Iterator<Item = (&ObjectKey, &AssignedPod)> {
        self.pods_by_node.get(node).into_iter().flatten().filter_map(|k| self.pods.get(k).map(|p| (&*k.0, &**p)))
    }

    /// The pods on a node as a "what if" copy of it sees them: without the
    /// ones its overlay removed, with the ones it added.
    pub fn pods_seen_by<'a>(&'a self, node: &'a NodeInfo) -> impl Iterator<Item = (&'a ObjectKey, &'a Rc<Object>)> + 'a {
        let overlay = node.overlay.as_deref();
        let removed = move |k: &ObjectKey| overlay.is_some_and(|o| o.removed.contains(k));
        let base = self.pods_on(&node.name).filter(move |(k, _)| !removed(k)).map(|(k, p)| (k, &p.object));
        base.chain(overlay.into_iter().flat_map(|o| o.added.iter().map(|(k, p)| (k, p))))
    }

    /// Assigned pods that declare pod (anti-)affinity, in key order.
    pub fn pods_with_affinity(&self) -> impl Iterator<Item = (&ObjectKey, &AssignedPod)> {
        self.with_affinity.iter().filter_map(|k| self.pods.get(k).map(|p| (&*k.0, &**p)))
    }

    /// Assigned pods with a required anti-affinity term, in key order.
    pub fn pods_with_required_anti_affinity(&self) -> impl Iterator<Item = (&ObjectKey, &AssignedPod)> {
        self.with_required_anti_affinity.iter().filter_map(|k| self.pods.get(k).map(|p| (&*k.0, &**p)))
    }

    pub fn has_pods_with_affinity(&self) -> bool {
        !self.with_affinity.is_empty()
    }

    pub fn has_pods_with_required_anti_affinity(&self) -> bool {
        !self.with_required_anti_affinity.is_empty()
    }

    /// Assigned pods using a claim (`namespace/claim`), on any node.
    pub fn claim_users(&self, claim: &str) -> u32 {
        self.claim_users.get(claim).copied().unwrap_or(0)
    }

    /// Namespaces that have assigned pods.
    pub fn pod_namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(|n| &**n)
    }

    /// The index entry counting pods that match `selector` in `namespace`,
    /// created (with one pass over the assigned pods) on first use. `None`
    /// for a selector that selects nothing.
    pub fn ensure_selector(&mut self, namespace: &str, selector: &Selector) -> Option<SelectorId> {
        if selector.selects_nothing {
            return None;
        }
        let key = SelectorIndex::key(namespace, selector);
        if let Some(&id) = self.selectors.by_key.get(&key) {
            return Some(id);
        }
        let mut entry = SelectorCounts { namespace: namespace.to_string(), selector: selector.clone(), live: SlotCounts::default(), terminating: SlotCounts::default(), total: 0 };
        if self.may_match_any(namespace, selector) {
            for (k, p) in &self.pods {
                if &*k.0.namespace != namespace {
                    continue;
                }
                let Some(slot) = p.slot else { continue };
                if selector.matches(Some(p.labels())) {
                    entry.adjust(slot, p.terminating, 1);
                }
            }
        }
        self.selectors.in_use += usize::from(entry.total > 0);
        let id = match self.selectors.free.pop() {
            Some(id) => {
                self.selectors.entries[id] = Some(entry);
                id
            }
            None => {
                self.selectors.entries.push(Some(entry));
                self.selectors.entries.len() - 1
            }
        };
        self.selectors.by_key.insert(key, id);
        match index_pair(selector) {
            Some((k, v)) => self
                .selectors
                .by_label
                .entry(namespace.to_string())
                .or_default()
                .entry(k.to_string())
                .or_default()
                .entry(v.to_string())
                .or_default()
                .push(id),
            None => self.selectors.unindexed.entry(namespace.to_string()).or_default().push(id),
        }
        Some(id)
    }

    /// False when the selector requires a label value that no assigned pod
    /// in the namespace carries, so that it matches none of them.
    fn may_match_any(&self, namespace: &str, selector: &Selector) -> bool {
        let Some(keys) = self.label_pairs.get(namespace) else { return false };
        !selector.requirements.iter().any(|r| {
            matches!(r.op, Op::Equals | Op::DoubleEquals | Op::In) && r.values.iter().all(|v| keys.get(r.key.as_str()).and_then(|values| values.get(v.as_str())).is_none())
        })
    }

    fn count_label_pairs(&mut self, namespace: &str, labels: &BTreeMap<String, String>, sign: i64) {
        if labels.is_empty() {
            return;
        }
        if sign > 0 {
            let keys = match self.label_pairs.get_mut(namespace) {
                Some(keys) => keys,
                None => self.label_pairs.entry(namespace.to_string()).or_default(),
            };
            for (k, v) in labels {
                let values = match keys.get_mut(k.as_str()) {
                    Some(values) => values,
                    None => keys.entry(k.clone()).or_default(),
                };
                match values.get_mut(v.as_str()) {
                    Some(c) => *c += 1,
                    None => {
                        values.insert(v.clone(), 1);
                    }
                }
            }
            return;
        }
        let Some(keys) = self.label_pairs.get_mut(namespace) else { return };
        for (k, v) in labels {
            let Some(values) = keys.get_mut(k.as_str()) else { continue };
            if let Some(c) = values.get_mut(v.as_str()) {
                *c -= 1;
                if *c == 0 {
                    values.remove(v.as_str());
                }
            }
            if values.is_empty() {
                keys.remove(k.as_str());
            }
        }
        if keys.is_empty() {
            self.label_pairs.remove(namespace);
        }
    }

    pub fn selector(&self, id: SelectorId) -> Option<&SelectorCounts> {
        self.selectors.entries.get(id).and_then(Option::as_ref)
    }

    /// Forgets index entries that count nothing once they outnumber the
    /// ones in use (a workload scaled to zero, a one-off selector). Called
    /// between attempts, never while an attempt holds entry ids.
    pub fn sweep_selectors(&mut self) {
        let all = self.selectors.by_key.len();
        if all < 256 {
            return;
        }
        debug_assert_eq!(self.selectors.in_use, self.selectors.entries.iter().flatten().filter(|e| e.total > 0).count(), "entries in use, counted as they change");
        if all < 2 * self.selectors.in_use {
            return;
        }
        let idle: Vec<SelectorId> = self.selectors.entries.iter().enumerate().filter(|(_, e)| e.as_ref().is_some_and(|e| e.total == 0)).map(|(i, _)| i).collect();
        if !idle.is_empty() {
            self.selector_generation += 1;
        }
        for id in idle {
            self.selectors.remove(id);
        }
    }

    /// Changes when selector-index ids may have been reused.
    pub fn selector_generation(&self) -> u64 {
        self.selector_generation
    }

    /// Selector counts, affinity sets and claim users follow every pod
    /// whether or not its node is cached.
    fn index_pod(&mut self, key: &SharedKey, pod: &AssignedPod, sign: i64) {
        let namespace = &key.0.namespace;
        self.count_label_pairs(namespace, pod.labels(), sign);
        if sign > 0 {
            match self.namespaces.get_mut(namespace) {
                Some(c) => *c += 1,
                None => {
                    self.namespaces.insert(namespace.clone(), 1);
                }
            }
        } else if let Some(c) = self.namespaces.get_mut(namespace) {
            *c -= 1;
            if *c == 0 {
                self.namespaces.remove(namespace);
            }
        }
        if pod.affinity.is_some() {
            if sign > 0 {
                self.with_affinity.insert(key.clone());
            } else {
                self.with_affinity.remove(key);
            }
        }
        if pod.affinity.as_ref().is_some_and(|a| !a.required_anti_affinity.is_empty()) {
            if sign > 0 {
                self.with_required_anti_affinity.insert(key.clone());
            } else {
                self.with_required_anti_affinity.remove(key);
            }
        }
        for claim in pod_claim_keys(pod.pod()) {
            if sign > 0 {
                *self.claim_users.entry(claim).or_insert(0) += 1;
            } else if let Some(c) = self.claim_users.get_mut(&claim) {
                *c -= 1;
                if *c == 0 {
                    self.claim_users.remove(&claim);
                }
            }
        }
    }

    fn account(&mut self, pod: &AssignedPod, sign: i64) {
        let Some(slot) = pod.slot else { return };
        let Some(info) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        let r = &pod.requests;
        if sign > 0 {
            info.requested.add(&r.requests);
            info.non_zero_milli_cpu += r.non_zero_milli_cpu;
            info.non_zero_memory += r.non_zero_memory;
            info.pod_count += 1;
            info.used_ports.extend(pod.ports.iter().cloned());
        } else {
            info.requested.subtract(&r.requests);
            info.non_zero_milli_cpu -= r.non_zero_milli_cpu;
            info.non_zero_memory -= r.non_zero_memory;
            info.pod_count -= 1;
            for port in &pod.ports {
                if let Some(i) = info.used_ports.iter().position(|p| p == port) {
                    info.used_ports.swap_remove(i);
                }
            }
        }
        let labels = pod.labels();
        if labels.is_empty() && self.selectors.unindexed.is_empty() {
            return;
        }
        let namespace = pod.namespace();
        // Matches are few: keep them on the stack (a pod add is a hot path).
        let mut matched = [0usize; 16];
        let mut n = 0;
        let mut overflow = Vec::new();
        for id in self.selectors.candidates(namespace, labels) {
            if self.selectors.entries.get(id).and_then(Option::as_ref).is_some_and(|e| e.selector.matches(Some(labels))) {
                if n < matched.len() {
                    matched[n] = id;
                    n += 1;
                } else {
                    overflow.push(id);
                }
            }
        }
        for id in matched[..n].iter().chain(overflow.iter()) {
            if let Some(e) = self.selectors.entries.get_mut(*id).and_then(Option::as_mut) {
                let change = e.adjust(slot, pod.terminating, sign);
                self.selectors.in_use = self.selectors.in_use.saturating_add_signed(change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, zone: Option<&str>) -> Rc<Object> {
        let mut labels = serde_json::json!({"kubernetes.io/hostname": name});
        if let Some(z) = zone {
            labels["topology.kubernetes.io/zone"] = z.into();
        }
        let n = serde_json::json!({"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "images": [{"names": ["nginx:1.27"], "sizeBytes": 70000000}]}});
        Rc::new(Object::Node(serde_json::from_value(n).unwrap()))
    }

    fn pod(name: &str, cpu: &str, app: &str) -> Rc<Object> {
        Rc::new(Object::Pod(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
            }))
            .unwrap(),
        ))
    }

    #[test]
    fn a_confirmation_keeps_the_newer_version_only_when_nothing_counted_changed() {
        let mut c = Cache::default();
        c.upsert_node(node("a", None));
        let key = ObjectKey::new("default", "p1");
        let first = pod("p1", "500m", "web");
        c.add_pod(SharedKey::new(key.clone()), AssignedPod::new(first.clone(), Rc::from("a")));
        let newer = pod("p1", "500m", "web");
        let relabelled = pod("p1", "500m", "db");
        let (Object::Pod(p), Object::Pod(r)) = (&*newer, &*relabelled) else { panic!("pods") };
        let parts = ("default", "p1");
        assert!(!c.confirm(&parts as &dyn KeyRef, "b", p, &newer), "another node");
        assert!(!c.confirm(&parts as &dyn KeyRef, "a", r, &relabelled), "labels changed");
        assert!(Rc::ptr_eq(&c.pod(&key).unwrap().object, &first), "kept as it was");
        assert!(!c.confirm(&("default", "p2") as &dyn KeyRef, "a", p, &newer), "not recorded");
        assert!(c.confirm(&parts as &dyn KeyRef, "a", p, &newer));
        assert!(Rc::ptr_eq(&c.pod(&key).unwrap().object, &newer), "the newer version kept");
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500, "counted once");
    }

    #[test]
    fn selector_counts_keep_only_the_slots_that_hold_pods() {
        let mut counts = SelectorCounts { namespace: "default".into(), selector: Selector::parse("app=web").unwrap(), live: SlotCounts::default(), terminating: SlotCounts::default(), total: 0 };
        assert_eq!(counts.adjust(4_999, false, 1), 1, "the first pod");
        for (slot, terminating) in [(7, false), (7, false), (4_999, true), (3, true), (7, true)] {
            assert_eq!(counts.adjust(slot, terminating, 1), 0);
        }
        assert_eq!(counts.live_counts().entries(), &[(7, 2), (4_999, 1)]);
        let dense = counts.live_counts().with_dense(|d| (d.len(), d[7], d[4_999], d.iter().sum::<u32>()));
        assert_eq!(dense, (5_000, 2, 1, 3));
        let nested = counts.live_counts().with_dense(|outer| counts.terminating.with_dense(|inner| (outer[7], inner[7], inner[3])));
        assert_eq!(nested, (2, 1, 1), "a second list while the first is in use");
        counts.terminating.with_dense(|d| assert_eq!(d.iter().sum::<u32>(), 3));
        assert!(counts.live_counts().with_dense(|d| d.iter().sum::<u32>() == 3), "cleared after use");
        assert_eq!(counts.occupied().collect::<Vec<_>>(), vec![(3, 1), (7, 3), (4_999, 2)]);
        assert_eq!((counts.live_at(7), counts.live_at(3), counts.live_at(8), counts.total()), (2, 0, 0, 6));
        assert_eq!(counts.adjust(8, false, -1), 0, "no pod there to take off");
        for (slot, terminating) in [(7, false), (7, false), (3, true), (7, true), (4_999, true)] {
            assert_eq!(counts.adjust(slot, terminating, -1), 0);
        }
        assert_eq!(counts.live_counts().entries(), &[(4_999, 1)], "a slot left with none is dropped");
        assert_eq!(counts.adjust(4_999, false, -1), -1, "the last pod");
        assert_eq!(counts.occupied().count(), 0);
    }

    #[test]
    fn accounts_pods_across_node_churn() {
        let mut c = Cache::default();
        c.upsert_node(node("a", Some("z1")));
        c.upsert_node(node("b", Some("z1")));
        c.upsert_node(node("c", Some("z2")));
        let order: Vec<String> = c.ordered_nodes().iter().map(|n| n.name.to_string()).collect();
        assert_eq!(order, vec!["a", "c", "b"], "zones round-robin");
        assert_eq!(c.image_node_count("nginx:1.27"), 3);
        let web = c.ensure_selector("default", &Selector::parse("app=web").unwrap()).unwrap();
        let key = ObjectKey::new("default", "p1");
        c.add_pod(SharedKey::new(key.clone()), AssignedPod::new(pod("p1", "500m", "web"), Rc::from("a")));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        let slot_a = c.node("a").unwrap().slot;
        assert_eq!(c.selector(web).unwrap().live_at(slot_a), 1);
        // Pod known before its node: counted when the node arrives.
        c.add_pod(SharedKey::new(ObjectKey::new("default", "p2")), AssignedPod::new(pod("p2", "1", "web"), Rc::from("d")));
        c.upsert_node(node("d", None));
        assert_eq!(c.node("d").unwrap().requested.milli_cpu, 1000);
        assert_eq!(c.selector(web).unwrap().total(), 2);
        // A selector created late counts the pods already there.
        let late = c.ensure_selector("default", &Selector::parse("app in (web,db)").unwrap()).unwrap();
        assert_eq!(c.selector(late).unwrap().total(), 2);
        c.remove_node("a");
        assert!(c.node("a").is_none());
        assert_eq!(c.selector(web).unwrap().total(), 1);
        assert_eq!(c.image_node_count("nginx:1.27"), 3);
        c.upsert_node(node("a", Some("z1")));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        c.remove_pod(&key);
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 0);
        assert_eq!(c.node("a").unwrap().pod_count, 0);
        assert_eq!(c.selector(web).unwrap().total(), 1);
        assert_eq!(c.selector(late).unwrap().total(), 1);
    }

    #[test]
    fn new_selectors_count_pods_already_assigned() {
        let mut c = Cache::default();
        c.upsert_node(node("a", None));
        c.add_pod(SharedKey::new(ObjectKey::new("default", "p1")), AssignedPod::new(pod("p1", "100m", "web"), Rc::from("a")));
        c.add_pod(SharedKey::new(ObjectKey::new("default", "p2")), AssignedPod::new(pod("p2", "100m", "db"), Rc::from("a")));
        let count = |c: &mut Cache, ns: &str, s: &str| c.ensure_selector(ns, &Selector::parse(s).unwrap()).and_then(|id| c.selector(id)).map(|e| e.total());
        assert_eq!(count(&mut c, "default", "app=web"), Some(1));
        assert_eq!(count(&mut c, "default", "app in (web,db)"), Some(2));
        assert_eq!(count(&mut c, "default", "app=web,tier=front"), Some(0), "a pair no pod carries");
        assert_eq!(count(&mut c, "default", "app!=web"), Some(1));
        assert_eq!(count(&mut c, "default", "tier notin (front)"), Some(2));
        assert_eq!(count(&mut c, "other", "app=web"), Some(0), "another namespace");
        c.remove_pod(&ObjectKey::new("default", "p1"));
        assert_eq!(count(&mut c, "default", "app in (web)"), Some(0), "the last pod with the pair left");
        assert_eq!(count(&mut c, "default", "app"), Some(1));
    }

    #[test]
    fn idle_selectors_are_swept_once_they_outnumber_those_in_use() {
        let mut c = Cache::default();
        c.upsert_node(node("a", None));
        c.add_pod(SharedKey::new(ObjectKey::new("default", "p1")), AssignedPod::new(pod("p1", "100m", "web"), Rc::from("a")));
        let web = c.ensure_selector("default", &Selector::parse("app=web").unwrap()).unwrap();
        for i in 0..300 {
            c.ensure_selector("default", &Selector::parse(&format!("app=idle-{i}")).unwrap());
        }
        let generation = c.selector_generation();
        c.sweep_selectors();
        assert_eq!(c.selector_generation(), generation + 1);
        assert_eq!(c.selectors.by_key.len(), 1, "only the entry in use is kept");
        assert_eq!(c.selector(web).unwrap().total(), 1);
        c.remove_pod(&ObjectKey::new("default", "p1"));
        assert_eq!(c.selectors.in_use, 0);
    }
}
