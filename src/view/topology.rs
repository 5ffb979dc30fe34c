//! What the topology panel draws: the control plane, every node with its
//! pods, and the lane of pods no node has taken. Read straight from the
//! store (an observer's view that still works while the API server is down).

use std::rc::Rc;

use k8s_openapi::api::core::v1::Node;
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, resource, Object, ResourceId};
use crate::engine::cluster::Cluster;
use crate::engine::kubectl::printers;
pub use super::topology_model::{PendingGroup, SearchHit, SearchResults, TopologyModel, UNSCHEDULED_LISTED};

/// A control-plane or node component with its switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentView {
    /// The simulator's name: `scheduler`, `kubelet/worker-1`, `node/worker-1`.
    pub name: String,
    pub running: bool,
}

impl ComponentView {
    /// The name with `/` written as `-`, as test ids spell it.
    pub fn test_name(&self) -> String {
        test_name(&self.name)
    }
    /// What the panel calls it.
    pub fn label(&self) -> &str {
        match self.name.split_once('/') {
            Some(("node", _)) => "power",
            Some((kind, _)) => kind,
            None => &self.name,
        }
    }
}

/// A component name as test ids spell it: `/` becomes `-`.
pub fn test_name(component: &str) -> String {
    component.replace('/', "-")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    Unknown,
    /// No Node object yet: the kubelet has not registered.
    NotRegistered,
}

impl Readiness {
    pub fn label(self) -> &'static str {
        match self {
            Readiness::Ready => "Ready",
            Readiness::NotReady => "NotReady",
            Readiness::Unknown => "Unknown",
            Readiness::NotRegistered => "Not registered",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    /// kubectl's STATUS column.
    pub status: String,
    /// `Deployment/web › ReplicaSet/web-5d4f8` (empty for a bare pod).
    pub owner: String,
    pub node: Option<String>,
    /// `1/2`
    pub ready: String,
    pub restarts: i32,
}

impl PodView {
    pub fn test_id(&self) -> String {
        format!("pod-{}-{}", self.namespace, self.name)
    }
    /// A broad colour class for the tile.
    pub fn tone(&self) -> &'static str {
        status_tone(&self.status)
    }
}

/// Colour family for a kubectl STATUS.
pub fn status_tone(status: &str) -> &'static str {
    match status {
        "Running" | "Completed" | "Succeeded" => "ok",
        "Pending" | "ContainerCreating" | "PodInitializing" | "Terminating" => "wait",
        s if s.starts_with("Init:") => "wait",
        "Unknown" => "unknown",
        _ => "bad",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub name: String,
    pub readiness: Readiness,
    pub control_plane: bool,
    pub cordoned: bool,
    /// `node-role.kubernetes.io/control-plane:NoSchedule`
    pub taints: Vec<String>,
    pub cpu_requested_millis: i64,
    pub cpu_allocatable_millis: i64,
    pub memory_requested_bytes: i64,
    pub memory_allocatable_bytes: i64,
    /// Power, kubelet, kube-proxy.
    pub components: Vec<ComponentView>,
    /// Cut off from the API server (`partition node/<name>`).
    pub partitioned: bool,
    pub pods: Vec<PodView>,
}

impl NodeView {
    pub fn powered(&self) -> bool {
        self.components.iter().find(|c| c.name.starts_with("node/")).is_none_or(|c| c.running)
    }
    /// Whether the node's kubelet process runs (a restart needs one).
    pub fn kubelet_running(&self) -> bool {
        self.components.iter().any(|c| c.name.starts_with("kubelet/") && c.running)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TopologyView {
    pub control_plane: Vec<ComponentView>,
    pub nodes: Vec<Rc<NodeView>>,
    /// Pods with no node: Pending and unscheduled (the first
    /// [`UNSCHEDULED_LISTED`] of them; `unscheduled_count` counts all).
    pub unscheduled: Rc<Vec<PodView>>,
    pub unscheduled_count: usize,
    /// The same pods grouped by why they wait.
    pub pending_groups: Rc<Vec<PendingGroup>>,
    pub pod_count: usize,
    /// Latency added to the API server's and etcd's answers, in milliseconds.
    pub apiserver_slow_ms: u64,
    pub etcd_slow_ms: u64,
}

fn prefix(rid: ResourceId) -> String {
    format!("/registry/{}/", resource(rid).qualified_plural())
}

/// Objects of one resource straight from the store, in key order.
pub fn stored(cluster: &Cluster, rid: ResourceId) -> Vec<Rc<Object>> {
    let prefix = prefix(rid);
    cluster.sim.api.store().range(&prefix).map(|(_, e)| e.value.object()).collect()
}

/// (count, newest mod revision) of one resource's objects: changes whenever
/// any of them is written, created or deleted, without building anything.
pub fn prefix_fingerprint(cluster: &Cluster, rid: ResourceId) -> (usize, i64) {
    let prefix = prefix(rid);
    cluster.sim.api.store().scan_unordered(&prefix).fold((0, 0), |(n, rev), e| (n + 1, rev.max(e.mod_revision)))
}

/// A cheap summary that changes whenever what the topology draws changes
/// (node leases renewing every few seconds do not count).
pub fn fingerprint(cluster: &Cluster) -> Vec<(usize, i64)> {
    let mut out: Vec<(usize, i64)> = [ids::pods(), ids::nodes(), ids::replica_sets()].into_iter().map(|rid| prefix_fingerprint(cluster, rid)).collect();
    out.extend(cluster.sim.component_states().iter().enumerate().map(|(i, c)| (i, c.running as i64)));
    let latency = cluster.sim.api.latency();
    out.push((cluster.sim.partitioned_nodes().len(), (latency.apiserver_ms as i64) << 20 | latency.etcd_ms as i64));
    out.extend(cluster.sim.partitioned_nodes().iter().map(|n| (n.len(), n.bytes().map(i64::from).sum())));
    out
}

/// Builds the whole view (see [`TopologyModel`] for one kept up to date).
pub fn build(cluster: &Cluster) -> TopologyView {
    (*TopologyModel::build(cluster).view()).clone()
}

/// A pod's tile, `owner` naming its controller chain (`Deployment/web ›
/// ReplicaSet/web-5d4f8`) when a ReplicaSet controls it.
pub(crate) fn pod_view_with(pod: &Pod, replica_set_owner: Option<String>) -> PodView {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let node = pod.bound_node().map(str::to_string);
    let owner = match (replica_set_owner, meta::controller_of(pod.metadata.owner_references.as_ref())) {
        (Some(owner), _) => owner,
        (None, Some(o)) => format!("{}/{}", o.kind, o.name),
        (None, None) => String::new(),
    };
    let containers = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let statuses = || pod.status.iter().flat_map(|s| s.containers()).filter(|c| !c.init);
    let ready_count = statuses().filter(|c| c.ready).count();
    let restarts = statuses().map(|c| c.restart_count).sum();
    PodView { status: printers::pod_status(pod), namespace, name, owner, node, ready: format!("{ready_count}/{containers}"), restarts }
}

pub(crate) fn node_readiness(node: &Node) -> Readiness {
    let ready = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready.map(|c| c.status.as_str()) {
        Some("True") => Readiness::Ready,
        Some("False") => Readiness::NotReady,
        _ => Readiness::Unknown,
    }
}

pub(crate) fn node_taints(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|taints| {
            taints
                .iter()
                .map(|t| match &t.value {
                    Some(v) if !v.is_empty() => format!("{}={}:{}", t.key, v, t.effect),
                    _ => format!("{}:{}", t.key, t.effect),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn node_allocatable(node: &Node) -> (i64, i64) {
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()));
    let Some(alloc) = alloc else { return (0, 0) };
    let cpu = alloc.get("cpu").and_then(|q| cpu_millis(&q.0)).unwrap_or(0);
    let mem = alloc.get("memory").and_then(|q| bytes(&q.0)).unwrap_or(0);
    (cpu, mem)
}

/// What a pod asks of its node: the sum of its containers' requests, or the
/// largest init container's if that is more (as the scheduler counts).
pub fn pod_requests(pod: &Pod) -> (i64, i64) {
    let Some(spec) = &pod.spec else { return (0, 0) };
    let of = |c: &k8s_openapi::api::core::v1::Container| {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let cpu = req.and_then(|r| r.get("cpu")).and_then(|q| cpu_millis(&q.0)).unwrap_or(0);
        let mem = req.and_then(|r| r.get("memory")).and_then(|q| bytes(&q.0)).unwrap_or(0);
        (cpu, mem)
    };
    let (mut cpu, mut mem) = spec.containers.iter().map(of).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    for init in spec.init_containers.iter().flatten() {
        let (c, m) = of(init);
        cpu = cpu.max(c);
        mem = mem.max(m);
    }
    (cpu, mem)
}

/// `250m` → 250, `1.5` → 1500, `2` → 2000.
pub fn cpu_millis(q: &str) -> Option<i64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v.ceil() as i64);
    }
    q.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| (v * 1000.0).ceil() as i64)
}

/// `128Mi`, `1G`, `1e3`, `500` → bytes.
pub fn bytes(q: &str) -> Option<i64> {
    let q = q.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("m", 1e-3),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| (v * factor).ceil() as i64);
        }
    }
    q.parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() < 9e18).map(|v| v.ceil() as i64)
}

/// `1.5Gi`, `512Mi`: how the node panel prints memory.
pub fn format_bytes(b: i64) -> String {
    const GI: f64 = 1073741824.0;
    const MI: f64 = 1048576.0;
    let b = b as f64;
    if b >= GI {
        let v = b / GI;
        if v.fract() == 0.0 {
            format!("{v:.0}Gi")
        } else {
            format!("{v:.1}Gi")
        }
    } else if b >= MI || b == 0.0 {
        format!("{:.0}Mi", b / MI)
    } else {
        format!("{:.0}Ki", b / 1024.0)
    }
}

/// `1500m` or `2` cores.
pub fn format_cpu(millis: i64) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};

    #[test]
    fn parses_quantities() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(cpu_millis("x"), None);
        assert_eq!(bytes("128Mi"), Some(128 * 1048576));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1e3"), Some(1000));
        assert_eq!(format_bytes(8 * 1073741824), "8Gi");
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(4000), "4");
    }

    #[test]
    fn draws_every_node_and_the_control_plane() {
        let cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let view = build(&cluster);
        let names: Vec<&str> = view.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["control-plane", "worker-1", "worker-2", "worker-3"]);
        let cp: Vec<&str> = view.control_plane.iter().map(|c| c.name.as_str()).collect();
        for c in ["apiserver", "etcd", "scheduler", "controller-manager", "local-path-provisioner"] {
            assert!(cp.contains(&c), "{c} in {cp:?}");
        }
        let worker = &view.nodes[1];
        let comps: Vec<String> = worker.components.iter().map(|c| c.test_name()).collect();
        assert_eq!(comps, ["node-worker-1", "kubelet-worker-1", "kube-proxy-worker-1"]);
        assert!(worker.cpu_allocatable_millis > 0);
    }

    #[test]
    fn partitions_and_slowness_show_and_change_the_fingerprint() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let before = fingerprint(&cluster);
        cluster.sim.partition("worker-2").unwrap();
        cluster.sim.set_latency("etcd", 2000).unwrap();
        assert_ne!(fingerprint(&cluster), before);
        let view = build(&cluster);
        assert!(view.nodes.iter().find(|n| n.name == "worker-2").is_some_and(|n| n.partitioned && n.kubelet_running()));
        assert!(view.nodes.iter().filter(|n| n.name != "worker-2").all(|n| !n.partitioned));
        assert_eq!((view.apiserver_slow_ms, view.etcd_slow_ms), (0, 2000));
    }

    #[test]
    fn a_pod_without_a_node_is_unscheduled_and_a_bound_one_sits_on_its_node() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let pod = |name: &str, node: Option<&str>| {
            let mut v = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}});
            if let Some(n) = node {
                v["spec"]["nodeName"] = serde_json::json!(n);
            }
            Object::from_json(ids::pods(), v).unwrap()
        };
        cluster.sim.api.create(pod("lonely", None)).unwrap();
        cluster.sim.api.create(pod("placed", Some("worker-2"))).unwrap();
        let view = build(&cluster);
        assert_eq!(view.unscheduled.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["lonely"]);
        assert_eq!(view.unscheduled[0].test_id(), "pod-default-lonely");
        let worker2 = view.nodes.iter().find(|n| n.name == "worker-2").unwrap();
        // Besides its kube-proxy and kindnet pods (kindnet asks 100m and 50Mi) and any CoreDNS replica (100m, 70Mi).
        let coredns = worker2.pods.iter().filter(|p| p.name.starts_with("coredns-")).count() as i64;
        assert_eq!(worker2.pods.iter().filter(|p| p.namespace == "default").count(), 1);
        assert_eq!(worker2.cpu_requested_millis, 100 + 100 + 100 * coredns);
        assert_eq!(worker2.memory_requested_bytes, (64 + 50 + 70 * coredns) * 1048576);
    }
}
