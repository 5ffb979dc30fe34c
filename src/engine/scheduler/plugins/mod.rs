//! The plugins of 1.33's `default-scheduler` profile, in the profile's
//! order, one file each with a pure core and table tests.
//!
//! - PreEnqueue: SchedulingGates.
//! - PreFilter + Filter: NodeUnschedulable, NodeName, TaintToleration,
//!   NodeAffinity, NodePorts, NodeResourcesFit, VolumeRestrictions,
//!   NodeVolumeLimits, VolumeBinding, VolumeZone, PodTopologySpread,
//!   InterPodAffinity. PreFilter computes per-pod state into the
//!   [`CycleState`] once, or says Skip (the plugin then passes every node);
//!   Filter is a function of (state, pod, node).
//! - PostFilter: DefaultPreemption.
//! - PreScore + Score + NormalizeScore, with the profile's weights:
//!   TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1,
//!   PodTopologySpread 2, InterPodAffinity 2, NodeResourcesBalancedAllocation 1,
//!   ImageLocality 1.
//! - Reserve + PreBind: VolumeBinding; Bind: DefaultBinder.

pub mod balanced_allocation;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod node_volume_limits;
pub mod pod_topology_spread;
pub mod scheduling_gates;
pub mod taint_toleration;
pub mod volume_binding;
pub mod volume_restrictions;
pub mod volume_zone;

use std::collections::BTreeSet;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use super::cache::Cache;
use super::framework::{Code, NodeInfo, PodInfo, Status};
use super::listers::Listers;
use crate::engine::api::{Object, ObjectKey};

/// What filters and scores may read beyond the pod and the node: the
/// scheduler's cache (other pods, indexes) and its informers.
#[derive(Clone, Copy)]
pub struct Handle<'a> {
    pub cache: &'a Cache,
    pub listers: &'a Listers,
}

/// What PreFilter computed for one attempt. `None` in a plugin's slot means
/// the plugin said Skip: its Filter passes every node.
#[derive(Clone, Debug, Default)]
pub struct CycleState {
    /// PreFilterResult: the only nodes worth filtering, and which plugins said so.
    pub node_names: Option<BTreeSet<String>>,
    pub node_names_by: Vec<&'static str>,
    pub volume_restrictions: Option<volume_restrictions::State>,
    pub volume_limits: bool,
    pub volume_binding: Option<Rc<volume_binding::State>>,
    pub volume_zone: Option<volume_zone::State>,
    pub spread: Option<pod_topology_spread::FilterState>,
    pub affinity: Option<inter_pod_affinity::FilterState>,
    /// Prepared for PreScore: the soft spread constraints and the preferred
    /// pod (anti-)affinity terms, with their selector-index entries.
    pub spread_score: Option<Rc<Vec<pod_topology_spread::Constraint>>>,
    pub affinity_preferred: Option<Rc<Vec<inter_pod_affinity::PreparedTerm>>>,
}

impl CycleState {
    /// Whether every stateful filter skipped (the fast path may be used).
    pub fn all_skipped(&self) -> bool {
        self.volume_restrictions.is_none()
            && !self.volume_limits
            && self.volume_binding.is_none()
            && self.volume_zone.is_none()
            && self.spread.is_none()
            && self.affinity.is_none()
    }

    /// `AddPod` of the PreFilter extensions: `other` now counts on `node`.
    pub fn add_pod(&mut self, h: &Handle, pod: &PodInfo, other: &Object, node: &NodeInfo) {
        self.update_with_pod(h, pod, other, node, 1);
    }

    /// `RemovePod` of the PreFilter extensions.
    pub fn remove_pod(&mut self, h: &Handle, pod: &PodInfo, other: &Object, node: &NodeInfo) {
        self.update_with_pod(h, pod, other, node, -1);
    }

    fn update_with_pod(&mut self, h: &Handle, pod: &PodInfo, other: &Object, node: &NodeInfo, sign: i64) {
        let Object::Pod(other) = other else { return };
        if let Some(s) = &mut self.spread {
            s.update_with_pod(pod, other, node, sign);
        }
        if let Some(s) = &mut self.affinity {
            s.update_with_pod(h, pod, other, node, sign);
        }
    }
}

/// A filter plugin: its name and its verdict function.
pub struct FilterPlugin {
    pub name: &'static str,
    pub filter: fn(&Handle, &CycleState, &PodInfo, &NodeInfo) -> Status,
}

/// Filters in the order 1.33's default profile runs them; the first failure
/// decides a node's status.
pub const FILTERS: &[FilterPlugin] = &[
    FilterPlugin { name: node_unschedulable::NAME, filter: |_, _, p, n| node_unschedulable::filter(p, n) },
    FilterPlugin { name: node_name::NAME, filter: |_, _, p, n| node_name::filter(p, n) },
    FilterPlugin { name: taint_toleration::NAME, filter: |_, _, p, n| taint_toleration::filter(p, n) },
    FilterPlugin { name: node_affinity::NAME, filter: |_, _, p, n| node_affinity::filter(p, n) },
    FilterPlugin { name: node_ports::NAME, filter: |_, _, p, n| node_ports::filter(p, n) },
    FilterPlugin { name: node_resources_fit::NAME, filter: |_, _, p, n| node_resources_fit::filter(p, n) },
    FilterPlugin { name: volume_restrictions::NAME, filter: volume_restrictions::filter },
    FilterPlugin { name: node_volume_limits::NAME, filter: node_volume_limits::filter },
    FilterPlugin { name: volume_binding::NAME, filter: volume_binding::filter },
    FilterPlugin { name: volume_zone::NAME, filter: volume_zone::filter },
    FilterPlugin { name: pod_topology_spread::NAME, filter: pod_topology_spread::filter },
    FilterPlugin { name: inter_pod_affinity::NAME, filter: inter_pod_affinity::filter },
];

/// Index of a filter plugin in [`FILTERS`], for compact bookkeeping.
pub fn filter_index(name: &str) -> Option<usize> {
    FILTERS.iter().position(|f| f.name == name)
}

/// One bit per filter plugin (a rejector set).
pub fn plugin_bit(name: &str) -> u32 {
    filter_index(name).map_or(0, |i| 1 << i)
}

/// The first filter that rejects the node, with its status.
pub fn run_filters(h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Option<(usize, Status)> {
    for (index, f) in FILTERS.iter().enumerate() {
        let status = (f.filter)(h, state, pod, node);
        if !status.is_success() {
            return Some((index, status));
        }
    }
    None
}

/// Every filter's verdict on the node (for explanations: the scheduler
/// itself stops at the first failure).
pub fn run_all_filters(h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Vec<Status> {
    FILTERS.iter().map(|f| (f.filter)(h, state, pod, node)).collect()
}

/// What PreFilter concluded when it rejects the pod outright.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreFilterRejection {
    pub plugin: &'static str,
    pub status: Status,
}

/// Runs every PreFilter in profile order, as `RunPreFilterPlugins` does:
/// an UnschedulableAndUnresolvable or Error status ends the attempt at
/// once; an Unschedulable one is remembered while the others still run;
/// node-name results are intersected.
pub fn run_pre_filters(cache: &mut Cache, listers: &Listers, pod: &PodInfo) -> Result<CycleState, PreFilterRejection> {
    let mut state = CycleState::default();
    let mut unschedulable: Option<PreFilterRejection> = None;
    // An Unschedulable status is kept while the others run; anything worse ends PreFilter.
    let mut check = |result: Result<(), Status>, plugin: &'static str| -> Result<(), PreFilterRejection> {
        match result {
            Ok(()) => Ok(()),
            Err(s) if s.code == Code::Unschedulable => {
                unschedulable.get_or_insert(PreFilterRejection { plugin, status: s });
                Ok(())
            }
            Err(status) => Err(PreFilterRejection { plugin, status }),
        }
    };
    // NodeAffinity: `matchFields` on metadata.name names the only candidates.
    match node_affinity::pre_filter(pod) {
        Ok(Some(names)) => restrict(&mut state, node_affinity::NAME, names)?,
        Ok(None) => {}
        Err(s) => check(Err(s), node_affinity::NAME)?,
    }
    let volumes = pod.pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or(&[]);
    if pod.has_claims || volumes.iter().any(volume_restrictions::needs_disk_check) {
        let h = Handle { cache, listers };
        check(volume_restrictions::pre_filter(&h, pod).map(|s| state.volume_restrictions = s), volume_restrictions::NAME)?;
        state.volume_limits = node_volume_limits::pre_filter(pod);
        match volume_binding::pre_filter(&h, pod) {
            Ok(Some((s, names))) => {
                state.volume_binding = Some(Rc::new(s));
                if let Some(names) = names {
                    restrict(&mut state, volume_binding::NAME, names)?;
                }
            }
            Ok(None) => {}
            Err(s) => check(Err(s), volume_binding::NAME)?,
        }
        check(volume_zone::pre_filter(&h, pod).map(|s| state.volume_zone = s), volume_zone::NAME)?;
    }
    let spread = pod_topology_spread::pre_filter(cache, listers, pod);
    check(spread.map(|s| state.spread = s), pod_topology_spread::NAME)?;
    let affinity = inter_pod_affinity::pre_filter(cache, listers, pod);
    check(affinity.map(|s| state.affinity = s), inter_pod_affinity::NAME)?;
    match unschedulable {
        Some(r) => Err(r),
        None => Ok(state),
    }
}

/// Merges a PreFilterResult: the nodes left are those every plugin named.
fn restrict(state: &mut CycleState, plugin: &'static str, names: BTreeSet<String>) -> Result<(), PreFilterRejection> {
    let merged = match state.node_names.take() {
        None => names,
        Some(prev) => crate::engine::sort::insert_all(prev.intersection(&names).cloned()),
    };
    state.node_names_by.push(plugin);
    let empty = merged.is_empty();
    state.node_names = Some(merged);
    if !empty {
        return Ok(());
    }
    let message = if state.node_names_by.len() == 1 {
        format!("node(s) didn't satisfy plugin {plugin}")
    } else {
        format!("node(s) didn't satisfy plugin(s) [{}] simultaneously", state.node_names_by.join(" "))
    };
    Err(PreFilterRejection { plugin, status: Status::unresolvable(message) })
}

/// What a score plugin sees of the cluster beyond the node it scores.
pub struct ScoreContext<'a> {
    /// The nodes that passed filtering, in evaluation order.
    pub feasible: &'a [&'a NodeInfo],
    /// Every node and pod, for plugins that count across topology domains.
    pub cache: &'a Cache,
    pub listers: &'a Listers,
    pub state: &'a CycleState,
}

pub trait ScorePlugin {
    fn name(&self) -> &'static str;
    /// The profile's weight for this plugin.
    fn weight(&self) -> i64;
    /// Prepares state for this pod; `false` skips the plugin for it.
    fn pre_score(&mut self, _pod: &PodInfo, _ctx: &ScoreContext) -> bool {
        true
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo, ctx: &ScoreContext) -> i64;
    /// Scores every feasible node into `out` (one dynamic call per pod, not per node).
    fn score_all(&self, pod: &PodInfo, ctx: &ScoreContext, out: &mut Vec<i64>) {
        out.extend(ctx.feasible.iter().map(|n| self.score(pod, n, ctx)));
    }
    /// Brings raw scores (in `feasible` order) to 0..=100.
    fn normalize(&self, _nodes: &[&NodeInfo], _scores: &mut [i64]) {}
    /// After PreScore: every node is known to score 0 (nothing to compute).
    fn all_zero(&self) -> bool {
        false
    }
}

/// Score plugins with the default profile's weights, in its order.
pub fn score_plugins() -> Vec<Box<dyn ScorePlugin>> {
    vec![
        Box::new(taint_toleration::TaintTolerationScore),
        Box::new(node_affinity::NodeAffinityScore),
        Box::new(node_resources_fit::LeastAllocated),
        Box::new(pod_topology_spread::SpreadScore::default()),
        Box::new(inter_pod_affinity::AffinityScore::default()),
        Box::new(balanced_allocation::BalancedAllocation),
        Box::new(image_locality::ImageLocality::default()),
    ]
}

/// `Toleration.ToleratesTaint`: an empty effect matches every effect, an
/// empty key with `Exists` matches every key.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        if effect != taint.effect {
            return false;
        }
    }
    if let Some(key) = t.key.as_deref().filter(|k| !k.is_empty()) {
        if key != taint.key {
            return false;
        }
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

pub fn tolerated_by_any(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// `DefaultNormalizeScore`: scale to 0..=max by the highest score; with
/// `reverse`, high raw scores become low ones.
pub fn default_normalize(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = max_priority * *s / max;
        *s = if reverse { max_priority - scaled } else { scaled };
    }
}

/// The key a pod is known by in the cache.
pub fn pod_key(pod: &Object) -> ObjectKey {
    ObjectKey::of(pod)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for plugin table tests.
    use std::rc::Rc;

    use k8s_openapi::api::core::v1::Node;
    use crate::engine::api::pod::Pod;

    use super::super::framework::{NodeInfo, PodInfo};
    use crate::engine::api::Object;

    pub fn node(json: serde_json::Value) -> NodeInfo {
        let mut value = json;
        if value.get("metadata").is_none() {
            value["metadata"] = serde_json::json!({"name": "n1"});
        }
        let node: Node = serde_json::from_value(value).expect("test node");
        NodeInfo::new(0, Rc::new(Object::Node(Box::new(node)))).expect("a node")
    }

    pub fn node_object(json: serde_json::Value) -> Rc<Object> {
        Rc::new(Object::Node(serde_json::from_value(json).expect("test node")))
    }

    pub fn pod(json: serde_json::Value) -> Pod {
        let mut value = json;
        if value.get("metadata").is_none() {
            value["metadata"] = serde_json::json!({"name": "p", "namespace": "default"});
        }
        if value["metadata"].get("namespace").is_none() {
            value["metadata"]["namespace"] = "default".into();
        }
        if value.get("spec").is_none() {
            value["spec"] = serde_json::json!({"containers": [{"name": "c"}]});
        }
        serde_json::from_value(value).expect("test pod")
    }

    pub fn pod_object(json: serde_json::Value) -> Rc<Object> {
        Rc::new(Object::Pod(Box::new(pod(json))))
    }

    pub fn info(pod: &Pod) -> PodInfo<'_> {
        PodInfo::new(pod)
    }

    /// A score context over an empty cluster, for plugins that read none of it.
    pub fn empty_ctx() -> &'static super::ScoreContext<'static> {
        let cache: &'static super::Cache = Box::leak(Box::default());
        let listers: &'static super::Listers = Box::leak(Box::default());
        let state: &'static super::CycleState = Box::leak(Box::default());
        Box::leak(Box::new(super::ScoreContext { feasible: &[], cache, listers, state }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerations_match_as_kubernetes_does() {
        let taint = Taint { key: "k".into(), value: Some("v".into()), effect: "NoSchedule".into(), time_added: None };
        let tol = |key: Option<&str>, op: Option<&str>, value: Option<&str>, effect: Option<&str>| Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        };
        let cases = [
            (tol(Some("k"), Some("Equal"), Some("v"), Some("NoSchedule")), true),
            (tol(Some("k"), None, Some("v"), None), true),
            (tol(Some("k"), Some("Equal"), Some("w"), None), false),
            (tol(Some("k"), Some("Exists"), None, None), true),
            (tol(None, Some("Exists"), None, None), true),
            (tol(Some("k"), Some("Exists"), None, Some("NoExecute")), false),
            (tol(Some("other"), Some("Exists"), None, None), false),
            (tol(Some("k"), Some("Gt"), Some("v"), None), false),
        ];
        for (i, (t, expected)) in cases.iter().enumerate() {
            assert_eq!(tolerates(t, &taint), *expected, "case {i}");
        }
    }

    #[test]
    fn default_normalize_scales_and_reverses() {
        let mut s = vec![0, 5, 10];
        default_normalize(100, false, &mut s);
        assert_eq!(s, vec![0, 50, 100]);
        let mut s = vec![0, 1, 2];
        default_normalize(100, true, &mut s);
        assert_eq!(s, vec![100, 50, 0]);
        let mut s = vec![0, 0];
        default_normalize(100, true, &mut s);
        assert_eq!(s, vec![100, 100]);
        let mut s = vec![0, 0];
        default_normalize(100, false, &mut s);
        assert_eq!(s, vec![0, 0]);
    }
}
