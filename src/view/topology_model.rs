//! The topology kept current from the store's change log: an update costs
//! what changed since the last one, not what exists, so a 50,000-pod cluster
//! costs a frame no more than a small one. Node views that did not change
//! keep their `Rc`, so the UI redraws only the nodes that did.
//!
//! A fresh model ([`TopologyModel::build`]) and one updated after every
//! change draw the same view (tested below); when the change log was
//! compacted past the model's revision, it rebuilds.

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::topology::{
    node_allocatable, node_readiness, node_taints, pod_requests, pod_view_with, ComponentView, NodeView, PodView, Readiness, TopologyView,
};
use crate::engine::api::{ids, meta, resource, Object, ResourceId};
use crate::engine::cluster::Cluster;
use crate::engine::store::ChangeKind;

/// The most unscheduled pods listed one by one; the rest are counted.
pub const UNSCHEDULED_LISTED: usize = 2_000;
/// Pods kept per pending reason for the summary.
const GROUP_SAMPLE: usize = 40;

/// Pods waiting for a node, grouped by why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingGroup {
    /// `Unschedulable: 0/4 nodes are available: 4 Insufficient cpu.`
    pub reason: String,
    pub count: usize,
    /// The first pods of the group, in name order.
    pub sample: Vec<PodView>,
}

/// A node or pod a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchHit {
    Node { name: String, readiness: Readiness },
    Pod { namespace: String, name: String, node: Option<String>, status: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<SearchHit>,
    /// Matches beyond the ones listed.
    pub more: usize,
}

struct PodEntry {
    object: Rc<Object>,
    view: PodView,
    /// What it adds to its node's requests (zero once finished).
    requests: (i64, i64),
    /// The ReplicaSet that controls it, whose owner names its view.
    replica_set: Option<(String, String)>,
    /// Why it waits, while it has no node.
    pending: Option<String>,
}

struct NodeEntry {
    object: Option<Rc<Object>>,
    /// Capacity the profile declares, shown until the Node reports its own.
    declared: Option<(i64, i64, bool)>,
    pods: BTreeSet<Rc<str>>,
    requested: (i64, i64),
    components: Vec<ComponentView>,
    /// Cut off from the API server (`partition node/<name>`).
    partitioned: bool,
    view: Option<Rc<NodeView>>,
}

pub struct TopologyModel {
    revision: i64,
    switches: u64,
    pods: HashMap<Rc<str>, PodEntry>,
    nodes: HashMap<String, NodeEntry>,
    /// Display order: nodes the profile declares, then others by name.
    order: Vec<String>,
    declared: usize,
    /// `Deployment/web › ReplicaSet/web-5d4f8` by ReplicaSet.
    owners: HashMap<(String, String), String>,
    by_replica_set: HashMap<(String, String), BTreeSet<Rc<str>>>,
    /// Pods with no node, and pods bound to a node that does not exist.
    loose: BTreeSet<Rc<str>>,
    orphans: BTreeMap<String, BTreeSet<Rc<str>>>,
    groups: BTreeMap<String, BTreeSet<Rc<str>>>,
    control_plane: Vec<ComponentView>,
    /// Latency added to the API server's and etcd's answers (ms).
    slowness: (u64, u64),
    pending_changed: bool,
    changed: bool,
    view: Rc<TopologyView>,
}

fn prefix(rid: ResourceId) -> String {
    format!("/registry/{}/", resource(rid).qualified_plural())
}

impl TopologyModel {
    /// The model of the cluster as it is now.
    pub fn build(cluster: &Cluster) -> Self {
        let mut model = TopologyModel {
            revision: 0,
            switches: cluster.sim.switches(),
            pods: HashMap::new(),
            nodes: HashMap::new(),
            order: Vec::new(),
            declared: 0,
            owners: HashMap::new(),
            by_replica_set: HashMap::new(),
            loose: BTreeSet::new(),
            orphans: BTreeMap::new(),
            groups: BTreeMap::new(),
            control_plane: Vec::new(),
            slowness: (0, 0),
            pending_changed: true,
            changed: true,
            view: Rc::new(TopologyView::default()),
        };
        for spec in &cluster.profile.nodes {
            model.declare(&spec.name, Some((spec.cpu_millis, spec.memory_bytes, spec.control_plane)));
        }
        for name in cluster.sim.node_names() {
            model.declare(name, None);
        }
        model.declared = model.order.len();
        model.refresh_components(cluster);
        let store = cluster.sim.api.store();
        model.revision = store.revision();
        for (_, entry) in store.range(&prefix(ids::nodes())) {
            model.put_node(entry.value.object());
        }
        for (key, entry) in store.range(&prefix(ids::pods())) {
            model.put_pod(cluster, key.clone(), entry.value.object());
        }
        model
    }

    /// Applies what changed since the last update. Cheap when nothing did.
    pub fn update(&mut self, cluster: &Cluster) {
        if cluster.sim.switches() != self.switches {
            self.switches = cluster.sim.switches();
            self.refresh_components(cluster);
        }
        let store = cluster.sim.api.store();
        if store.revision() == self.revision {
            return;
        }
        let since = self.revision;
        let changes = |rid| store.changes_since(since, &prefix(rid));
        let (Ok(nodes), Ok(replica_sets), Ok(pods)) = (changes(ids::nodes()), changes(ids::replica_sets()), changes(ids::pods())) else {
            *self = TopologyModel::build(cluster);
            return;
        };
        self.revision = store.revision();
        for change in nodes {
            match change.kind {
                ChangeKind::Put => self.put_node(change.value.object()),
                ChangeKind::Delete => self.delete_node(&change.value.object()),
            }
        }
        for change in replica_sets {
            let object = change.value.object();
            let m = object.meta();
            let key = (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
            self.owners.remove(&key);
            let owned: Vec<Rc<str>> = self.by_replica_set.get(&key).map(|s| s.iter().cloned().collect()).unwrap_or_default();
            for pod in owned {
                if let Some(object) = self.pods.get(&pod).map(|e| e.object.clone()) {
                    self.put_pod(cluster, pod, object);
                }
            }
        }
        for change in pods {
            match change.kind {
                ChangeKind::Put => self.put_pod(cluster, change.key, change.value.object()),
                ChangeKind::Delete => self.remove_pod(&change.key),
            }
        }
    }

    /// The view to draw; the same `Rc` while nothing changed.
    pub fn view(&mut self) -> Rc<TopologyView> {
        if !self.changed {
            return self.view.clone();
        }
        self.changed = false;
        let mut nodes = Vec::with_capacity(self.order.len());
        for name in &self.order {
            let Some(entry) = self.nodes.get_mut(name) else { continue };
            let view = match &entry.view {
                Some(v) => v.clone(),
                None => {
                    let v = Rc::new(node_view(name, entry, &self.pods));
                    entry.view = Some(v.clone());
                    v
                }
            };
            nodes.push(view);
        }
        let (unscheduled, pending) = if self.pending_changed {
            self.pending_changed = false;
            let listed: Vec<PodView> = self.unscheduled_keys().take(UNSCHEDULED_LISTED).filter_map(|k| self.pods.get(k)).map(|e| e.view.clone()).collect();
            let groups = self
                .groups
                .iter()
                .map(|(reason, keys)| PendingGroup {
                    reason: reason.clone(),
                    count: keys.len(),
                    sample: keys.iter().take(GROUP_SAMPLE).filter_map(|k| self.pods.get(k)).map(|e| e.view.clone()).collect(),
                })
                .collect();
            (Rc::new(listed), Rc::new(groups))
        } else {
            (self.view.unscheduled.clone(), self.view.pending_groups.clone())
        };
        let unscheduled_count = self.loose.len() + self.orphans.values().map(BTreeSet::len).sum::<usize>();
        self.view = Rc::new(TopologyView {
            control_plane: self.control_plane.clone(),
            nodes,
            unscheduled,
            unscheduled_count,
            pending_groups: pending,
            pod_count: self.pods.len(),
            apiserver_slow_ms: self.slowness.0,
            etcd_slow_ms: self.slowness.1,
        });
        self.view.clone()
    }

    /// Nodes and pods whose name contains `query` (any case), or whose
    /// labels match it when it is a `key=value` or `key` selector word.
    pub fn search(&self, query: &str, limit: usize) -> SearchResults {
        let query = query.trim();
        let mut results = SearchResults { query: query.to_string(), ..Default::default() };
        if query.is_empty() {
            return results;
        }
        let needle = query.to_ascii_lowercase();
        let label = query.split_once('=').map(|(k, v)| (k.trim().trim_end_matches('!'), v.trim().trim_start_matches('=')));
        let matches = |name: &str, labels: Option<&BTreeMap<String, String>>| match label {
            Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|value| value == v),
            None => name.to_ascii_lowercase().contains(&needle) || labels.is_some_and(|l| l.contains_key(query)),
        };
        let mut total = 0;
        for name in &self.order {
            let Some(entry) = self.nodes.get(name) else { continue };
            if matches(name, entry.object.as_ref().and_then(|o| o.meta().labels.as_ref())) {
                total += 1;
                if results.hits.len() < limit {
                    let readiness = entry.object.as_deref().and_then(as_node).map(node_readiness).unwrap_or(Readiness::NotRegistered);
                    results.hits.push(SearchHit::Node { name: name.clone(), readiness });
                }
            }
        }
        let mut pods: Vec<&Rc<str>> = self.pods.iter().filter(|(_, e)| matches(&e.view.name, e.object.meta().labels.as_ref())).map(|(k, _)| k).collect();
        pods.sort_stable();
        total += pods.len();
        for key in pods {
            if results.hits.len() >= limit {
                break;
            }
            let v = &self.pods[key].view;
            results.hits.push(SearchHit::Pod { namespace: v.namespace.clone(), name: v.name.clone(), node: v.node.clone(), status: v.status.clone() });
        }
        results.more = total - results.hits.len();
        results
    }

    fn unscheduled_keys(&self) -> impl Iterator<Item = &Rc<str>> {
        self.loose.iter().chain(self.orphans.values().flatten())
    }

    fn declare(&mut self, name: &str, declared: Option<(i64, i64, bool)>) {
        if let Some(entry) = self.nodes.get_mut(name) {
            if entry.declared.is_none() {
                entry.declared = declared;
            }
            return;
        }
        self.order.push(name.to_string());
        self.nodes.insert(
            name.to_string(),
            NodeEntry { object: None, declared, pods: BTreeSet::new(), requested: (0, 0), components: Vec::new(), partitioned: false, view: None },
        );
    }

    fn refresh_components(&mut self, cluster: &Cluster) {
        let states = cluster.sim.component_states();
        self.control_plane = states.iter().filter(|s| !s.name.contains('/')).map(|s| ComponentView { name: s.name.clone(), running: s.running }).collect();
        let mut by_node: HashMap<&str, Vec<ComponentView>> = HashMap::new();
        for s in &states {
            if let Some((_, node)) = s.name.split_once('/') {
                by_node.entry(node).or_default().push(ComponentView { name: s.name.clone(), running: s.running });
            }
        }
        for (name, entry) in &mut self.nodes {
            let components = by_node.remove(name.as_str()).unwrap_or_default();
            let partitioned = cluster.sim.is_partitioned(name);
            if entry.components != components || entry.partitioned != partitioned {
                entry.components = components;
                entry.partitioned = partitioned;
                entry.view = None;
            }
        }
        let latency = cluster.sim.api.latency();
        self.slowness = (latency.apiserver_ms, latency.etcd_ms);
        self.changed = true;
    }

    fn put_node(&mut self, object: Rc<Object>) {
        let Some(name) = object.meta().name.clone() else { return };
        if !self.nodes.contains_key(&name) {
            self.declare(&name, None);
            let extras = &mut self.order[self.declared..];
            extras.sort_stable();
        }
        if let Some(entry) = self.nodes.get_mut(&name) {
            entry.object = Some(object);
            entry.view = None;
        }
        // Pods bound to it before it existed now sit on it.
        if let Some(keys) = self.orphans.remove(&name) {
            self.pending_changed = true;
            if let Some(entry) = self.nodes.get_mut(&name) {
                entry.pods.extend(keys);
            }
        }
        self.changed = true;
    }

    fn delete_node(&mut self, object: &Object) {
        let Some(name) = object.meta().name.as_deref() else { return };
        let Some(entry) = self.nodes.get_mut(name) else { return };
        entry.object = None;
        entry.view = None;
        if self.order[..self.declared].iter().all(|n| n != name) {
            // A node no profile declared is gone with its object; its pods are orphans.
            self.order.retain(|n| n != name);
            if let Some(entry) = self.nodes.remove(name) {
                if !entry.pods.is_empty() {
                    self.orphans.entry(name.to_string()).or_default().extend(entry.pods);
                    self.pending_changed = true;
                }
            }
        }
        self.changed = true;
    }

    fn owner_of(&mut self, cluster: &Cluster, namespace: &str, replica_set: &str) -> String {
        let key = (namespace.to_string(), replica_set.to_string());
        if let Some(owner) = self.owners.get(&key) {
            return owner.clone();
        }
        let rs = cluster.sim.api.store().get(&crate::engine::apiserver::ApiServer::key(ids::replica_sets(), namespace, replica_set)).map(|e| e.value.object());
        let parent = rs.as_ref().and_then(|rs| meta::controller_of(rs.meta().owner_references.as_ref()).cloned());
        let owner = match parent {
            Some(p) => format!("{}/{} › ReplicaSet/{}", p.kind, p.name, replica_set),
            None => format!("ReplicaSet/{replica_set}"),
        };
        self.owners.insert(key, owner.clone());
        owner
    }

    fn put_pod(&mut self, cluster: &Cluster, key: Rc<str>, object: Rc<Object>) {
        self.remove_pod(&key);
        let Object::Pod(pod) = &*object else { return };
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let replica_set = meta::controller_of(pod.metadata.owner_references.as_ref()).filter(|o| o.kind == "ReplicaSet").map(|o| o.name.clone());
        let owner = replica_set.as_ref().map(|rs| self.owner_of(cluster, &namespace, rs));
        let view = pod_view_with(pod, owner);
        let replica_set = replica_set.map(|rs| (namespace, rs));
        if let Some(rs) = &replica_set {
            self.by_replica_set.entry(rs.clone()).or_default().insert(key.clone());
        }
        let mut entry = PodEntry { view, requests: (0, 0), replica_set, pending: None, object: object.clone() };
        match entry.view.node.clone() {
            Some(node) => {
                let phase = pod.status.as_ref().and_then(|s| s.phase()).unwrap_or("Pending");
                if phase != "Succeeded" && phase != "Failed" {
                    entry.requests = pod_requests(pod);
                }
                match self.nodes.get_mut(&node) {
                    Some(n) => {
                        n.pods.insert(key.clone());
                        n.requested.0 += entry.requests.0;
                        n.requested.1 += entry.requests.1;
                        n.view = None;
                    }
                    None => {
                        self.orphans.entry(node.clone()).or_default().insert(key.clone());
                        entry.pending = Some(format!("Bound to node {node}, which does not exist"));
                    }
                }
            }
            None => {
                self.loose.insert(key.clone());
                entry.pending = Some(pending_reason(pod));
            }
        }
        if let Some(reason) = &entry.pending {
            self.groups.entry(reason.clone()).or_default().insert(key.clone());
            self.pending_changed = true;
        }
        self.pods.insert(key, entry);
        self.changed = true;
    }

    fn remove_pod(&mut self, key: &Rc<str>) {
        let Some(entry) = self.pods.remove(key) else { return };
        self.changed = true;
        if let Some(rs) = &entry.replica_set {
            if let Some(set) = self.by_replica_set.get_mut(rs) {
                set.remove(key);
                if set.is_empty() {
                    self.by_replica_set.remove(rs);
                }
            }
        }
        if let Some(reason) = &entry.pending {
            self.pending_changed = true;
            if let Some(set) = self.groups.get_mut(reason) {
                set.remove(key);
                if set.is_empty() {
                    self.groups.remove(reason);
                }
            }
        }
        match &entry.view.node {
            None => {
                self.loose.remove(key);
            }
            Some(node) => {
                if let Some(n) = self.nodes.get_mut(node) {
                    if n.pods.remove(key) {
                        n.requested.0 -= entry.requests.0;
                        n.requested.1 -= entry.requests.1;
                        n.view = None;
                        return;
                    }
                }
                if let Some(set) = self.orphans.get_mut(node) {
                    set.remove(key);
                    if set.is_empty() {
                        self.orphans.remove(node);
                    }
                }
            }
        }
    }
}

fn as_node(object: &Object) -> Option<&k8s_openapi::api::core::v1::Node> {
    match object {
        Object::Node(n) => Some(n),
        _ => None,
    }
}

fn node_view(name: &str, entry: &NodeEntry, pods: &HashMap<Rc<str>, PodEntry>) -> NodeView {
    let node = entry.object.as_deref().and_then(as_node);
    let (mut cpu_alloc, mut mem_alloc) = node.map(node_allocatable).unwrap_or((0, 0));
    if cpu_alloc == 0 && mem_alloc == 0 {
        (cpu_alloc, mem_alloc) = entry.declared.map(|(c, m, _)| (c, m)).unwrap_or((0, 0));
    }
    let labels = node.and_then(|n| n.metadata.labels.as_ref());
    NodeView {
        name: name.to_string(),
        readiness: node.map(node_readiness).unwrap_or(Readiness::NotRegistered),
        control_plane: labels.is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane")) || entry.declared.is_some_and(|(_, _, cp)| cp),
        cordoned: node.and_then(|n| n.spec.as_ref()).and_then(|s| s.unschedulable).unwrap_or(false),
        taints: node.map(node_taints).unwrap_or_default(),
        cpu_requested_millis: entry.requested.0,
        cpu_allocatable_millis: cpu_alloc,
        memory_requested_bytes: entry.requested.1,
        memory_allocatable_bytes: mem_alloc,
        components: entry.components.clone(),
        partitioned: entry.partitioned,
        pods: entry.pods.iter().filter_map(|k| pods.get(k)).map(|e| e.view.clone()).collect(),
    }
}

/// Why a pod without a node waits, from its `PodScheduled` condition.
fn pending_reason(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_string();
    }
    let condition = pod.status.as_ref().and_then(|s| s.condition("PodScheduled"));
    match condition {
        Some(c) if c.status == "False" => match (c.reason, c.message) {
            (Some(reason), Some(message)) if !message.is_empty() => format!("{reason}: {message}"),
            (Some(reason), _) => reason.to_string(),
            (None, _) => "Not scheduled".to_string(),
        },
        _ => "Waiting for the scheduler".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};
    use crate::engine::kubectl::{self, NoFiles};
    use crate::engine::sim::clock::VirtualTime;

    fn kubectl(cluster: &mut Cluster, line: &str, stdin: Option<&str>) {
        let out = kubectl::run(cluster, line, stdin, &NoFiles);
        assert_eq!(out.exit_code, 0, "{line}: {out:?}");
    }

    const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 6\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n        resources:\n          requests:\n            cpu: 500m\n";
    const HUGE: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n  labels:\n    size: xl\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: \"64\"\n";
    const STRAY: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\nspec:\n  nodeName: worker-9\n  containers:\n  - name: c\n    image: nginx\n";

    #[test]
    fn an_updated_model_draws_what_a_fresh_one_draws() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 4);
        let mut live = TopologyModel::build(&cluster);
        let check = |cluster: &Cluster, live: &mut TopologyModel, when: &str| {
            live.update(cluster);
            let fresh = TopologyModel::build(cluster).view();
            assert_eq!(live.view(), fresh, "{when}");
        };
        kubectl(&mut cluster, "apply -f -", Some(WEB));
        check(&cluster, &mut live, "after apply");
        for step in 0..40 {
            let target = cluster.now().plus_millis(700);
            while !cluster.sim.run_until_bounded(target, 3) {
                check(&cluster, &mut live, &format!("inside step {step}"));
            }
            check(&cluster, &mut live, &format!("step {step}"));
            match step {
                5 => kubectl(&mut cluster, "scale deployment web --replicas=9", None),
                8 => kubectl(&mut cluster, "apply -f -", Some(HUGE)),
                10 => kubectl(&mut cluster, "apply -f -", Some(STRAY)),
                12 => cluster.sim.stop("node/worker-2").unwrap(),
                15 => kubectl(&mut cluster, "cordon worker-1", None),
                20 => kubectl(&mut cluster, "set image deployment/web nginx=nginx:1.28", None),
                25 => kubectl(&mut cluster, "delete pod huge", None),
                30 => kubectl(&mut cluster, "delete deployment web --cascade=orphan", None),
                _ => {}
            }
        }
        let view = live.view();
        assert!(view.nodes.iter().any(|n| n.cordoned), "{view:?}");
        let orphaned = view.nodes.iter().flat_map(|n| &n.pods).filter(|p| p.name.starts_with("web-")).count();
        let web = || view.nodes.iter().flat_map(|n| &n.pods).filter(|p| p.name.starts_with("web-"));
        assert!(orphaned > 0 && web().all(|p| !p.owner.starts_with("Deployment/")), "{view:?}");
        assert!(view.unscheduled.iter().any(|p| p.name == "stray"));
    }

    #[test]
    fn pending_pods_are_grouped_by_why_they_wait() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 4);
        cluster.sim.stop("scheduler").unwrap();
        kubectl(&mut cluster, "apply -f -", Some(WEB));
        kubectl(&mut cluster, "apply -f -", Some(STRAY));
        let mut model = TopologyModel::build(&cluster);
        let view = model.view();
        let groups: Vec<(&str, usize)> = view.pending_groups.iter().map(|g| (g.reason.as_str(), g.count)).collect();
        assert_eq!(groups, [("Bound to node worker-9, which does not exist", 1), ("Waiting for the scheduler", 6)]);
        cluster.sim.start("scheduler").unwrap();
        kubectl(&mut cluster, "apply -f -", Some(HUGE));
        cluster.sim.run_until(cluster.now().plus_secs(5));
        model.update(&cluster);
        let view = model.view();
        let huge = view.pending_groups.iter().find(|g| g.sample.iter().any(|p| p.name == "huge")).expect("huge waits");
        assert!(huge.reason.starts_with("Unschedulable: 0/4 nodes are available:"), "{}", huge.reason);
        assert_eq!(view.unscheduled_count, 2);
    }

    #[test]
    fn an_unchanged_model_hands_out_the_same_view_and_nodes() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 4);
        let mut model = TopologyModel::build(&cluster);
        let first = model.view();
        model.update(&cluster);
        assert!(Rc::ptr_eq(&first, &model.view()));
        kubectl(&mut cluster, "apply -f -", Some(HUGE));
        cluster.sim.stop("kubelet/worker-3").unwrap();
        model.update(&cluster);
        let second = model.view();
        assert!(!Rc::ptr_eq(&first, &second));
        // Only worker-3 (its kubelet stopped) was redrawn.
        for (a, b) in first.nodes.iter().zip(&second.nodes) {
            assert_eq!(Rc::ptr_eq(a, b), a.name != "worker-3", "{}", a.name);
        }
    }

    #[test]
    fn search_finds_nodes_and_pods_by_name_or_label() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 4);
        kubectl(&mut cluster, "apply -f -", Some(WEB));
        kubectl(&mut cluster, "apply -f -", Some(HUGE));
        cluster.sim.run_until(VirtualTime::from_secs(90));
        let mut model = TopologyModel::build(&cluster);
        let _ = model.view();
        let by_label = model.search("size=xl", 10);
        assert_eq!(by_label.hits, [SearchHit::Pod { namespace: "default".into(), name: "huge".into(), node: None, status: "Pending".into() }]);
        let web = model.search("WEB-", 4);
        assert_eq!((web.hits.len(), web.more), (4, 2));
        let nodes = model.search("worker-2", 10);
        assert_eq!(nodes.hits, [SearchHit::Node { name: "worker-2".into(), readiness: Readiness::Ready }]);
        let role = model.search("node-role.kubernetes.io/control-plane", 10);
        assert!(matches!(&role.hits[..], [SearchHit::Node { name, .. }] if name == "control-plane"), "{role:?}");
        assert!(model.search("  ", 10).hits.is_empty());
    }
}
