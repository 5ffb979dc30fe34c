//! The default plugins of a 1.33 `default-scheduler` profile that this
//! scheduler runs, in the profile's order.
//!
//! Filters are pure functions of (pod, node). Score plugins may prepare
//! per-attempt state in `pre_score` (and return `false` to skip, as the
//! real PreScore's `Skip` status), score each feasible node, then normalise
//! the scores to 0..=100 before the weight is applied.
//!
//! Not yet run: InterPodAffinity, PodTopologySpread's filter (pod-declared
//! constraints), volume plugins, ImageLocality. A new plugin is one file
//! plus an entry in `FILTERS` or `score_plugins()`.

pub mod balanced_allocation;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use super::cache::Cache;
use super::framework::{NodeInfo, PodInfo, Status};

/// A filter plugin: its name and its verdict function.
pub struct FilterPlugin {
    pub name: &'static str,
    pub filter: fn(&PodInfo, &NodeInfo) -> Status,
}

/// Filters in the order 1.33's default profile runs them; the first failure
/// decides a node's status.
pub const FILTERS: &[FilterPlugin] = &[
    FilterPlugin { name: node_unschedulable::NAME, filter: node_unschedulable::filter },
    FilterPlugin { name: node_name::NAME, filter: node_name::filter },
    FilterPlugin { name: taint_toleration::NAME, filter: taint_toleration::filter },
    FilterPlugin { name: node_affinity::NAME, filter: node_affinity::filter },
    FilterPlugin { name: node_ports::NAME, filter: node_ports::filter },
    FilterPlugin { name: node_resources_fit::NAME, filter: node_resources_fit::filter },
];

/// Index of a filter plugin in [`FILTERS`], for compact bookkeeping.
pub fn filter_index(name: &str) -> Option<usize> {
    FILTERS.iter().position(|f| f.name == name)
}

/// What a score plugin sees of the cluster beyond the node it scores.
pub struct ScoreContext<'a> {
    /// The nodes that passed filtering, in evaluation order.
    pub feasible: &'a [&'a NodeInfo],
    /// Every node, for plugins that count across topology domains.
    pub cache: &'a Cache,
}

pub trait ScorePlugin {
    fn name(&self) -> &'static str;
    /// The profile's weight for this plugin.
    fn weight(&self) -> i64;
    /// Prepares state for this pod; `false` skips the plugin for it.
    fn pre_score(&mut self, _pod: &PodInfo, _ctx: &ScoreContext) -> bool {
        true
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64;
    /// Scores every node into `out` (one dynamic call per pod, not per node).
    fn score_all(&self, pod: &PodInfo, nodes: &[&NodeInfo], out: &mut Vec<i64>) {
        out.extend(nodes.iter().map(|n| self.score(pod, n)));
    }
    /// Brings raw scores (in `feasible` order) to 0..=100.
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// Score plugins with the default profile's weights.
pub fn score_plugins() -> Vec<Box<dyn ScorePlugin>> {
    vec![
        Box::new(taint_toleration::TaintTolerationScore),
        Box::new(node_affinity::NodeAffinityScore),
        Box::new(node_resources_fit::LeastAllocated),
        Box::new(pod_topology_spread::DefaultSpreading::default()),
        Box::new(balanced_allocation::BalancedAllocation),
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

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for plugin table tests.
    use std::rc::Rc;

    use k8s_openapi::api::core::v1::{Node, Pod};

    use super::super::framework::{NodeInfo, PodInfo};
    use crate::engine::api::Object;

    pub fn node(json: serde_json::Value) -> NodeInfo {
        let mut value = json;
        if value.get("metadata").is_none() {
            value["metadata"] = serde_json::json!({"name": "n1"});
        }
        let node: Node = serde_json::from_value(value).expect("test node");
        NodeInfo::new(0, Rc::new(Object::Node(node))).expect("a node")
    }

    pub fn pod(json: serde_json::Value) -> Pod {
        let mut value = json;
        if value.get("metadata").is_none() {
            value["metadata"] = serde_json::json!({"name": "p", "namespace": "default"});
        }
        if value.get("spec").is_none() {
            value["spec"] = serde_json::json!({"containers": [{"name": "c"}]});
        }
        serde_json::from_value(value).expect("test pod")
    }

    pub fn info(pod: &Pod) -> PodInfo<'_> {
        PodInfo::new(pod)
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
