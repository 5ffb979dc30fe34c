//! The kubelet's pod admission (`predicateAdmitHandler.Admit`): a pod bound
//! to the node, by the scheduler or by its own `spec.nodeName`, is checked
//! before its worker starts, and one the node cannot run is rejected:
//! `Failed`, with the check's reason (`OutOfcpu`, `NodeAffinity`, …) and
//! message.

use k8s_openapi::api::core::v1::Node;

use crate::engine::api::pod::Pod;
use crate::engine::node::runtime::Flavor;
use crate::engine::scheduler::framework::{pod_host_ports, HostPort};
use crate::engine::scheduler::plugins::node_resources_fit::{self, Insufficient};
use crate::engine::scheduler::plugins::{node_affinity, node_ports, tolerated_by_any};
use crate::engine::scheduler::resources::{node_allocatable, Resources};

/// What the node already runs, as admission counts it: the requests and
/// host ports of the pods admitted before that have not ended.
pub(in crate::engine::node) struct Load {
    pub requested: Resources,
    pub pods: i64,
    /// The host ports the admitted pods hold (gathered only for a pod that wants some).
    pub ports: Vec<HostPort>,
}

/// Why a pod is refused: the reason its status and Event carry, and the message.
pub(in crate::engine::node) type Rejection = (String, String);

/// `Admit` in its order: the OS label and field, the supplemental groups
/// policy, then the general filter (resources: pods, cpu, memory,
/// ephemeral-storage, extended; node affinity; host ports), then NoExecute
/// taints for pods that are not static. The first failure is the one
/// reported. Without its Node object the kubelet admits.
pub(in crate::engine::node) fn admit(pod: &Pod, node: Option<&Node>, flavor: Flavor, requests: &Resources, load: Load, is_static: bool) -> Result<(), Rejection> {
    let Some(node) = node else { return Ok(()) };
    let fail = |reason: &str, message: String| Err((reason.to_string(), message));
    if pod.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/os")).is_some_and(|os| os != "linux") {
        return fail("PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label".into());
    }
    let spec = pod.spec.as_ref();
    if spec.and_then(|s| s.os.as_ref()).is_some_and(|os| os.name != "linux") {
        return fail("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS".into());
    }
    let strict = spec.and_then(|s| s.security_context.as_ref()?.supplemental_groups_policy.as_deref()) == Some("Strict");
    if strict && flavor == Flavor::Docker {
        return fail("SupplementalGroupsPolicyNotSupported", "SupplementalGroupsPolicy=Strict is not supported in this node".into());
    }
    let allocatable = node_allocatable(node);
    // An extended resource the node does not advertise is a cluster-level
    // one: not the node's to check (`removeMissingExtendedResources`).
    let mut requests = requests.clone();
    requests.scalar.retain(|name| allocatable.scalar.get(name).is_some());
    if let Some(short) = node_resources_fit::insufficient_against(&requests, &allocatable, load.pods, &load.requested).into_iter().next() {
        let Insufficient { resource, requested, used, capacity, .. } = short;
        return fail(&format!("OutOf{resource}"), format!("Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"));
    }
    let predicate = |name: &str, reason: &str| fail(name, format!("Predicate {name} failed: {reason}"));
    let no_labels = Default::default();
    let labels = node.metadata.labels.as_ref().unwrap_or(&no_labels);
    let node_name = node.metadata.name.as_deref().unwrap_or("");
    if !node_affinity::fits(spec.and_then(|s| s.node_selector.as_ref()), pod.required_node_affinity().as_deref(), labels, node_name) {
        return predicate(node_affinity::NAME, node_affinity::REASON);
    }
    if !node_ports::fits(&pod_host_ports(pod), &load.ports) {
        return predicate(node_ports::NAME, node_ports::REASON);
    }
    let tolerations = spec.and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
    let untolerated = node.spec.iter().flat_map(|s| s.taints.iter().flatten()).filter(|t| t.effect == "NoExecute").any(|t| !tolerated_by_any(tolerations, t));
    if !is_static && untolerated {
        return predicate("TaintToleration", "node(s) had taints that the pod didn't tolerate");
    }
    Ok(())
}
