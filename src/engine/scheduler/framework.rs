//! The scheduling framework's vocabulary: plugin statuses, the per-attempt
//! view of a pod and the cached view of a node that every plugin reads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Node, NodeSelector, Pod, PreferredSchedulingTerm, Taint, Toleration};

use super::resources::{node_allocatable, pod_requests, PodRequests, Resources};
use crate::engine::api::Object;

/// Highest score a plugin gives a node (`framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// A plugin's verdict, as `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Success,
    /// The node may fit later, or after preemption.
    Unschedulable,
    /// Preemption would not help on this node.
    UnschedulableAndUnresolvable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
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
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
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

/// Everything the plugins read about the pod being scheduled, computed once
/// per attempt so that per-node work stays small.
pub struct PodInfo<'a> {
    pub pod: &'a Pod,
    pub requests: PodRequests,
    pub host_ports: Vec<HostPort>,
    pub tolerations: &'a [Toleration],
    pub node_selector: Option<&'a BTreeMap<String, String>>,
    pub required_affinity: Option<&'a NodeSelector>,
    pub preferred_affinity: &'a [PreferredSchedulingTerm],
    /// `spec.nodeName` if set (the scheduler normally skips such pods).
    pub node_name: Option<&'a str>,
    pub priority: i32,
    /// The controller that owns the pod, whose pods default spreading counts.
    pub owner_uid: Option<&'a str>,
    /// Per node slot, how many pods of the same owner run there.
    pub owner_counts: Option<&'a [u32]>,
}

impl<'a> PodInfo<'a> {
    pub fn new(pod: &'a Pod) -> Self {
        let spec = pod.spec.as_ref();
        let affinity = spec.and_then(|s| s.affinity.as_ref()).and_then(|a| a.node_affinity.as_ref());
        let owner_uid = pod
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.iter().find(|r| r.controller == Some(true)))
            .map(|r| r.uid.as_str());
        PodInfo {
            pod,
            requests: pod_requests(pod),
            host_ports: pod_host_ports(pod),
            tolerations: spec.and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]),
            node_selector: spec.and_then(|s| s.node_selector.as_ref()).filter(|m| !m.is_empty()),
            required_affinity: affinity.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            preferred_affinity: affinity
                .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
                .unwrap_or(&[]),
            node_name: spec.and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty()),
            priority: pod_priority(pod),
            owner_uid,
            owner_counts: None,
        }
    }

    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }
}

/// The scheduler's view of one node: the node object plus what the pods
/// placed on it use, kept up to date incrementally.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// Position in the cache's node table, stable while the node exists.
    pub slot: usize,
    pub name: Rc<str>,
    node: Rc<Object>,
    pub allocatable: Resources,
    /// Sum of the real requests of the pods on the node.
    pub requested: Resources,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
    pub pod_count: i64,
    pub used_ports: Vec<HostPort>,
    pub unschedulable: bool,
    pub has_hostname_label: bool,
    pub zone: Option<String>,
    /// NoSchedule and NoExecute taints, in the node's order (kept here so
    /// filtering an untainted node never touches the node object).
    pub hard_taints: Vec<Taint>,
    /// PreferNoSchedule taints.
    pub soft_taints: Vec<Taint>,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

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
            zone: None,
            hard_taints: Vec::new(),
            soft_taints: Vec::new(),
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

    pub fn taints(&self) -> &[Taint] {
        self.node().spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
    }
}

#[cold]
fn unreachable_node() -> &'static Node {
    static EMPTY: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Node::default)
}
