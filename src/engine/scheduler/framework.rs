//! The scheduling framework's vocabulary: plugin statuses, the per-attempt
//! view of a pod and the cached view of a node that every plugin reads.
//!
//! A scheduling attempt runs the extension points of 1.33's framework in
//! order: PreFilter (once per pod: computes state into the `CycleState`, or
//! says Skip), Filter (per node), PostFilter (preemption, when no node
//! fits), PreScore and Score (per feasible node), NormalizeScore, then
//! Reserve, PreBind and Bind for the chosen node.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Node, NodeSelector, PodAffinityTerm, PreferredSchedulingTerm, Taint, Toleration, WeightedPodAffinityTerm};
use crate::engine::api::pod::Pod;

use super::resources::{node_allocatable, pod_requests, PodRequests, Resources};
use crate::engine::api::{Object, ObjectKey};
use crate::engine::selector::Selector;

/// Highest score a plugin gives a node (`framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";

/// A plugin's verdict, as `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Success,
    /// The node may fit later, or after preemption.
    Unschedulable,
    /// Preemption would not help on this node.
    UnschedulableAndUnresolvable,
    /// Something went wrong (not a verdict about the node): the attempt fails.
    Error,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
            Code::Error => "Error",
        }
    }
}

pub type Reason = Cow<'static, str>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    /// The texts counted in the FailedScheduling histogram.
    pub reasons: Vec<Reason>,
}

impl Status {
    pub const SUCCESS: Status = Status { code: Code::Success, reasons: Vec::new() };

    pub fn unschedulable(reason: impl Into<Reason>) -> Self {
        Status { code: Code::Unschedulable, reasons: vec![reason.into()] }
    }
    pub fn unresolvable(reason: impl Into<Reason>) -> Self {
        Status { code: Code::UnschedulableAndUnresolvable, reasons: vec![reason.into()] }
    }
    pub fn error(message: impl Into<Reason>) -> Self {
        Status { code: Code::Error, reasons: vec![message.into()] }
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    /// Unschedulable or UnschedulableAndUnresolvable (`IsRejected`).
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }
    /// The reasons joined as `Status.Message()` joins them.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// A host port a container binds, as `HostPortInfo` keys it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

pub const ANY_IP: &str = "0.0.0.0";

impl HostPort {
    /// Two bindings clash on the same protocol and port when either is on
    /// every address or both name the same address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == ANY_IP || other.ip == ANY_IP || self.ip == other.ip)
    }
}

/// The host ports a pod's containers ask for (port 0 binds nothing).
pub fn pod_host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let port = p.host_port.unwrap_or(0);
            if port <= 0 {
                continue;
            }
            let ip = p.host_ip.as_deref().filter(|ip| !ip.is_empty()).unwrap_or(ANY_IP);
            let protocol = p.protocol.as_deref().filter(|p| !p.is_empty()).unwrap_or("TCP");
            out.push(HostPort { protocol: protocol.to_string(), ip: ip.to_string(), port });
        }
    }
    out
}

/// The pod's priority (`spec.priority`, set by admission from its class).
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

pub fn no_labels() -> &'static BTreeMap<String, String> {
    &NO_LABELS
}

pub fn pod_labels(pod: &Pod) -> &BTreeMap<String, String> {
    pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
}

/// Which namespaces a pod affinity term's `namespaceSelector` selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceSelector {
    /// Unset: only `namespaces` (or the pod's own) count.
    Nothing,
    /// `{}`: every namespace.
    Everything,
    Some(Selector),
}

impl NamespaceSelector {
    pub fn matches(&self, namespace_labels: &BTreeMap<String, String>) -> bool {
        match self {
            NamespaceSelector::Nothing => false,
            NamespaceSelector::Everything => true,
            NamespaceSelector::Some(s) => s.matches(Some(namespace_labels)),
        }
    }
}

/// `framework.AffinityTerm`: a pod (anti-)affinity term with its
/// namespaces resolved and its selectors parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffinityTerm {
    pub namespaces: Vec<String>,
    pub namespace_selector: NamespaceSelector,
    pub selector: Selector,
    pub topology_key: String,
}

/// A label selector that is unset selects nothing, as `LabelSelectorAsSelector(nil)`.
pub fn selector_or_nothing(s: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>) -> Selector {
    match s {
        Some(s) => Selector::from_api(s),
        None => Selector { requirements: Vec::new(), selects_nothing: true },
    }
}

impl AffinityTerm {
    pub fn new(pod_namespace: &str, term: &PodAffinityTerm) -> Self {
        let explicit = term.namespaces.clone().unwrap_or_default();
        let namespaces = if explicit.is_empty() && term.namespace_selector.is_none() { vec![pod_namespace.to_string()] } else { explicit };
        let namespace_selector = match &term.namespace_selector {
            None => NamespaceSelector::Nothing,
            Some(s) => {
                let parsed = Selector::from_api(s);
                if parsed.is_empty() {
                    NamespaceSelector::Everything
                } else {
                    NamespaceSelector::Some(parsed)
                }
            }
        };
        AffinityTerm { namespaces, namespace_selector, selector: selector_or_nothing(term.label_selector.as_ref()), topology_key: term.topology_key.clone() }
    }

    /// `AffinityTerm.Matches`: the pod is in one of the term's namespaces
    /// (or one its namespace selector picks, given that namespace's labels)
    /// and its labels match the selector.
    pub fn matches(&self, namespace: &str, labels: &BTreeMap<String, String>, namespace_labels: &BTreeMap<String, String>) -> bool {
        (self.namespaces.iter().any(|n| n == namespace) || self.namespace_selector.matches(namespace_labels)) && self.selector.matches(Some(labels))
    }

    /// For the incoming pod's terms, a namespace selector is turned into
    /// the namespaces it selects now (`mergeAffinityTermNamespacesIfNotEmpty`);
    /// `{}` keeps matching every namespace.
    pub fn merge_namespace_selector<'n>(&mut self, namespaces: impl Iterator<Item = (&'n str, &'n BTreeMap<String, String>)>) {
        let NamespaceSelector::Some(selector) = &self.namespace_selector else { return };
        for (name, labels) in namespaces {
            if selector.matches(Some(labels)) && !self.namespaces.iter().any(|n| n == name) {
                self.namespaces.push(name.to_string());
            }
        }
        self.namespace_selector = NamespaceSelector::Nothing;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

/// A pod's pod-affinity and pod-anti-affinity, parsed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityInfo {
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

impl PodAffinityInfo {
    /// `None` when the pod declares no pod (anti-)affinity at all.
    pub fn of(pod: &Pod) -> Option<Self> {
        let affinity = pod.spec.as_ref()?.affinity.as_ref()?;
        if affinity.pod_affinity.is_none() && affinity.pod_anti_affinity.is_none() {
            return None;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let required = |terms: Option<&Vec<PodAffinityTerm>>| terms.into_iter().flatten().map(|t| AffinityTerm::new(ns, t)).collect::<Vec<_>>();
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| {
            terms.into_iter().flatten().map(|t| WeightedAffinityTerm { term: AffinityTerm::new(ns, &t.pod_affinity_term), weight: t.weight }).collect::<Vec<_>>()
        };
        let a = affinity.pod_affinity.as_ref();
        let anti = affinity.pod_anti_affinity.as_ref();
        let info = PodAffinityInfo {
            required_affinity: required(a.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())),
            required_anti_affinity: required(anti.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())),
            preferred_affinity: preferred(a.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())),
            preferred_anti_affinity: preferred(anti.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())),
        };
        (!info.is_empty()).then_some(info)
    }

    pub fn is_empty(&self) -> bool {
        self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty()
    }
}

/// `normalizedImageName`: an image without a tag means `:latest`.
pub fn normalized_image_name(name: &str) -> Cow<'_, str> {
    let colon = name.rfind(':');
    let slash = name.rfind('/');
    match (colon, slash) {
        (Some(c), Some(s)) if c > s => Cow::Borrowed(name),
        (Some(_), None) => Cow::Borrowed(name),
        _ => Cow::Owned(format!("{name}:latest")),
    }
}

/// Everything the plugins read about the pod being scheduled, computed once
/// per attempt so that per-node work stays small.
pub struct PodInfo<'a> {
    pub pod: &'a Pod,
    pub requests: PodRequests,
    pub host_ports: Vec<HostPort>,
    pub tolerations: &'a [Toleration],
    pub node_selector: Option<&'a BTreeMap<String, String>>,
    /// (Copied only for a DaemonSet pod, whose pin's node is kept beside
    /// its shared spec: [`Pod::required_node_affinity`].)
    pub required_affinity: Option<Cow<'a, NodeSelector>>,
    pub preferred_affinity: &'a [PreferredSchedulingTerm],
    /// `spec.nodeName` if set (the scheduler normally skips such pods).
    pub node_name: Option<&'a str>,
    pub priority: i32,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// Pod (anti-)affinity, with the incoming pod's namespace selectors merged.
    pub affinity: Option<PodAffinityInfo>,
    /// Whether any volume refers to a PersistentVolumeClaim (directly or ephemeral).
    pub has_claims: bool,
}

impl<'a> PodInfo<'a> {
    pub fn new(pod: &'a Pod) -> Self {
        let spec = pod.spec.as_ref();
        let affinity = spec.and_then(|s| s.affinity.as_ref()).and_then(|a| a.node_affinity.as_ref());
        let has_claims = spec
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some()));
        PodInfo {
            pod,
            requests: pod_requests(pod),
            host_ports: pod_host_ports(pod),
            tolerations: spec.and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]),
            node_selector: spec.and_then(|s| s.node_selector.as_ref()).filter(|m| !m.is_empty()),
            required_affinity: pod.required_node_affinity(),
            preferred_affinity: affinity
                .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
                .unwrap_or(&[]),
            node_name: pod.bound_node(),
            priority: pod_priority(pod),
            namespace: pod.metadata.namespace.as_deref().unwrap_or(""),
            labels: pod_labels(pod),
            affinity: PodAffinityInfo::of(pod),
            has_claims,
        }
    }

    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }

    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or("")
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.namespace, self.name())
    }

    /// Declared topology spread constraints, if any.
    pub fn spread_constraints(&self) -> &'a [k8s_openapi::api::core::v1::TopologySpreadConstraint] {
        self.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_deref()).unwrap_or(&[])
    }

    /// Images of init and regular containers, as the kubelet reports them.
    pub fn images(&self) -> impl Iterator<Item = &'a str> {
        let spec = self.pod.spec.as_ref();
        let init = spec.and_then(|s| s.init_containers.as_deref()).unwrap_or(&[]);
        let regular = spec.map(|s| s.containers.as_slice()).unwrap_or(&[]);
        init.iter().chain(regular).filter_map(|c| c.image.as_deref())
    }

    pub fn container_count(&self) -> usize {
        let spec = self.pod.spec.as_ref();
        spec.map_or(0, |s| s.containers.len() + s.init_containers.as_ref().map_or(0, Vec::len))
    }
}

/// The scheduler's view of one node: the node object plus what the pods
/// placed on it use, kept up to date incrementally.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct NodeInfo {
    // Filtering a plain pod, and the resource, taint and hostname-spread
    // scores, read only the first two cache lines of every node: the
    // taints' length, the counts, flags and slot, then `allocatable` and
    // the start of `requested`.
    /// NoSchedule and NoExecute taints, in the node's order (kept here so
    /// filtering an untainted node never touches the node object).
    pub hard_taints: Vec<Taint>,
    pub pod_count: i64,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
    pub unschedulable: bool,
    pub has_hostname_label: bool,
    /// Whether `soft_taints` has any, so that an untainted node's list is
    /// never read (see [`NodeInfo::soft_taints`]).
    has_soft_taints: bool,
    /// Position in the cache's node table, stable while the node exists.
    pub slot: usize,
    pub allocatable: Resources,
    /// Sum of the real requests of the pods on the node.
    pub requested: Resources,
    /// PreferNoSchedule taints; set with `has_soft_taints` in `set_node` only.
    soft_taints: Vec<Taint>,
    pub zone: Option<String>,
    pub name: Rc<str>,
    node: Rc<Object>,
    pub used_ports: Vec<HostPort>,
    /// Image name → size in bytes, from `status.images`.
    pub images: Rc<BTreeMap<String, i64>>,
    /// Set on copies made to ask "what if": pods treated as gone from the
    /// node (preemption victims) and pods treated as placed on it
    /// (nominated pods).
    pub overlay: Option<Box<Overlay>>,
}

/// What a "what if" copy of a node changes about its pods.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    pub removed: Vec<ObjectKey>,
    pub added: Vec<(ObjectKey, Rc<Object>)>,
}

impl NodeInfo {
    /// `obj` must be a Node; anything else yields `None`.
    pub fn new(slot: usize, obj: Rc<Object>) -> Option<Self> {
        let Object::Node(node) = &*obj else { return None };
        let name: Rc<str> = Rc::from(node.metadata.name.as_deref().unwrap_or(""));
        let mut info = NodeInfo {
            slot,
            name,
            allocatable: Resources::default(),
            requested: Resources::default(),
            non_zero_milli_cpu: 0,
            non_zero_memory: 0,
            pod_count: 0,
            used_ports: Vec::new(),
            unschedulable: false,
            has_hostname_label: false,
            has_soft_taints: false,
            zone: None,
            hard_taints: Vec::new(),
            soft_taints: Vec::new(),
            images: Rc::new(BTreeMap::new()),
            overlay: None,
            node: obj.clone(),
        };
        info.set_node(obj);
        Some(info)
    }

    /// Takes a new version of the node object, keeping pod accounting.
    pub fn set_node(&mut self, obj: Rc<Object>) {
        if let Object::Node(node) = &*obj {
            self.allocatable = node_allocatable(node);
            self.unschedulable = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
            let labels = node.metadata.labels.as_ref();
            self.has_hostname_label = labels.is_some_and(|l| l.contains_key(LABEL_HOSTNAME));
            self.zone = labels.and_then(|l| l.get(LABEL_ZONE)).cloned();
            let taints = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[]);
            self.hard_taints = taints.iter().filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute").cloned().collect();
            self.soft_taints = taints.iter().filter(|t| t.effect == "PreferNoSchedule").cloned().collect();
            self.has_soft_taints = !self.soft_taints.is_empty();
            let images = node_images(node);
            if *self.images != images {
                self.images = Rc::new(images);
            }
            self.node = obj;
        }
    }

    pub fn node(&self) -> &Node {
        match &*self.node {
            Object::Node(n) => n,
            // `new` and `set_node` only ever store nodes.
            _ => unreachable_node(),
        }
    }

    pub fn object(&self) -> &Rc<Object> {
        &self.node
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.node().metadata.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    /// The PreferNoSchedule taints, read from the record's first line
    /// alone when there are none (TaintToleration scores every node).
    pub fn soft_taints(&self) -> &[Taint] {
        if self.has_soft_taints {
            &self.soft_taints
        } else {
            &[]
        }
    }

    pub fn taints(&self) -> &[Taint] {
        self.node().spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
    }

    /// Counts a pod in this copy's accounting (nominated pods, reprieved victims).
    pub fn add_pod(&mut self, key: &ObjectKey, pod: &Rc<Object>) {
        let Object::Pod(p) = &**pod else { return };
        let r = pod_requests(p);
        self.requested.add(&r.requests);
        self.non_zero_milli_cpu += r.non_zero_milli_cpu;
        self.non_zero_memory += r.non_zero_memory;
        self.pod_count += 1;
        self.used_ports.extend(pod_host_ports(p));
        let overlay = self.overlay.get_or_insert_with(Default::default);
        if let Some(i) = overlay.removed.iter().position(|k| k == key) {
            overlay.removed.swap_remove(i);
        } else {
            overlay.added.push((key.clone(), pod.clone()));
        }
    }

    /// Takes a pod out of this copy's accounting (preemption victims).
    pub fn remove_pod(&mut self, key: &ObjectKey, pod: &Rc<Object>) {
        let Object::Pod(p) = &**pod else { return };
        let r = pod_requests(p);
        self.requested.subtract(&r.requests);
        self.non_zero_milli_cpu -= r.non_zero_milli_cpu;
        self.non_zero_memory -= r.non_zero_memory;
        self.pod_count -= 1;
        for port in pod_host_ports(p) {
            if let Some(i) = self.used_ports.iter().position(|u| *u == port) {
                self.used_ports.swap_remove(i);
            }
        }
        let overlay = self.overlay.get_or_insert_with(Default::default);
        if let Some(i) = overlay.added.iter().position(|(k, _)| k == key) {
            overlay.added.swap_remove(i);
        } else {
            overlay.removed.push(key.clone());
        }
    }
}

/// Every name of every image the node reports, with its size.
fn node_images(node: &Node) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for image in node.status.as_ref().and_then(|s| s.images.as_ref()).into_iter().flatten() {
        for name in image.names.iter().flatten() {
            out.insert(name.clone(), image.size_bytes.unwrap_or(0));
        }
    }
    out
}

#[cold]
fn unreachable_node() -> &'static Node {
    static EMPTY: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Node::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_filtering_and_scoring_read_is_in_a_node_records_first_two_lines() {
        use std::mem::{offset_of, size_of};
        let requested = offset_of!(NodeInfo, requested);
        // The plain filter and the scores read up to requested memory and ephemeral storage.
        assert!(requested + offset_of!(Resources, ephemeral_storage) + size_of::<i64>() <= 128);
        assert!(offset_of!(NodeInfo, allocatable) + offset_of!(Resources, pods) + size_of::<i64>() <= 128);
        for hot in [offset_of!(NodeInfo, hard_taints), offset_of!(NodeInfo, pod_count), offset_of!(NodeInfo, unschedulable), offset_of!(NodeInfo, has_soft_taints), offset_of!(NodeInfo, non_zero_memory), offset_of!(NodeInfo, slot)] {
            assert!(hot < 64);
        }
        assert_eq!(std::mem::align_of::<Option<NodeInfo>>(), 64);
    }

    #[test]
    fn image_names_are_normalized_as_1_33() {
        let cases = [
            ("nginx", "nginx:latest"),
            ("nginx:1.27", "nginx:1.27"),
            ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost:5000/app:v1", "localhost:5000/app:v1"),
        ];
        for (input, want) in cases {
            assert_eq!(normalized_image_name(input), want, "{input}");
        }
    }

    #[test]
    fn affinity_terms_resolve_namespaces_as_1_33() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "team-a", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c"}], "affinity": {"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": LABEL_HOSTNAME},
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": LABEL_HOSTNAME, "namespaceSelector": {}},
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": LABEL_HOSTNAME, "namespaces": ["other"]},
                    {"topologyKey": LABEL_HOSTNAME}
                ]}}}
        }))
        .unwrap();
        let info = PodAffinityInfo::of(&pod).unwrap();
        let terms = &info.required_anti_affinity;
        let web = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let none = BTreeMap::new();
        // Unset namespaces and selector: the pod's own namespace only.
        assert!(terms[0].matches("team-a", &web, &none));
        assert!(!terms[0].matches("team-b", &web, &none));
        // `namespaceSelector: {}` selects every namespace.
        assert!(terms[1].matches("team-b", &web, &none));
        // Explicit namespaces replace the pod's own.
        assert!(!terms[2].matches("team-a", &web, &none));
        assert!(terms[2].matches("other", &web, &none));
        // No label selector selects nothing.
        assert!(!terms[3].matches("team-a", &web, &none));
    }
}
