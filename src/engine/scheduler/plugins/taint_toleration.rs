//! TaintToleration: a node's NoSchedule and NoExecute taints keep off pods
//! that do not tolerate them; PreferNoSchedule taints lower the score.

use super::{default_normalize, tolerated_by_any, ScorePlugin};
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status, MAX_NODE_SCORE};
use k8s_openapi::api::core::v1::{Taint, Toleration};

pub const NAME: &str = "TaintToleration";
/// Weight in the default profile.
pub const WEIGHT: i64 = 3;

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    if node.hard_taints.is_empty() {
        return Status::SUCCESS;
    }
    match first_untolerated(&node.hard_taints, pod.tolerations) {
        None => Status::SUCCESS,
        Some(taint) => Status::unresolvable(reason(taint)),
    }
}

/// `node(s) had untolerated taint {key: value}`, as 1.33 words it.
pub fn reason(taint: &Taint) -> String {
    format!("node(s) had untolerated taint {{{}: {}}}", taint.key, taint.value.as_deref().unwrap_or(""))
}

/// The first NoSchedule/NoExecute taint, in the node's order, that no
/// toleration matches.
pub fn first_untolerated<'t>(taints: &'t [Taint], tolerations: &[Toleration]) -> Option<&'t Taint> {
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tolerated_by_any(tolerations, t))
}

/// How many PreferNoSchedule taints the pod does not tolerate (only
/// tolerations with an empty or PreferNoSchedule effect count).
pub fn intolerable_prefer_no_schedule(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|t| {
            !tolerations
                .iter()
                .filter(|tol| tol.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
                .any(|tol| super::tolerates(tol, t))
        })
        .count() as i64
}

pub struct TaintTolerationScore;

impl ScorePlugin for TaintTolerationScore {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo, _ctx: &super::ScoreContext) -> i64 {
        let taints = node.soft_taints();
        if taints.is_empty() {
            return 0;
        }
        intolerable_prefer_no_schedule(taints, pod.tolerations)
    }
    fn score_all(&self, pod: &PodInfo, ctx: &super::ScoreContext, out: &mut Vec<i64>) {
        if ctx.cache.soft_tainted_nodes() == 0 {
            // No node has a PreferNoSchedule taint: every node scores 0,
            // known without reading any node.
            out.resize(ctx.feasible.len(), 0);
            return;
        }
        out.extend(ctx.feasible.iter().map(|n| self.score(pod, n, ctx)));
    }
    fn normalize(&self, _nodes: &[&NodeInfo], scores: &mut [i64]) {
        default_normalize(MAX_NODE_SCORE, true, scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::framework::Code;
    use crate::engine::scheduler::plugins::testing::{empty_ctx, info, node, pod};
    use serde_json::json;

    #[test]
    fn filter_table() {
        let control_plane = node(json!({"spec": {"taints": [
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}));
        let gpu = node(json!({"spec": {"taints": [
            {"key": "soft", "effect": "PreferNoSchedule"},
            {"key": "gpu", "value": "true", "effect": "NoExecute"}]}}));
        let plain = pod(json!({}));
        let tolerates_cp = pod(json!({"metadata": {"name": "t"}, "spec": {"containers": [{"name": "c"}],
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}));
        let cases = [
            (&plain, &control_plane, Some("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")),
            (&tolerates_cp, &control_plane, None),
            (&plain, &gpu, Some("node(s) had untolerated taint {gpu: true}")),
            (&plain, &node(json!({})), None),
        ];
        for (i, (p, n, expected)) in cases.into_iter().enumerate() {
            let status = filter(&info(p), n);
            match expected {
                None => assert!(status.is_success(), "case {i}"),
                Some(reason) => {
                    assert_eq!(status.code, Code::UnschedulableAndUnresolvable, "case {i}");
                    assert_eq!(status.reasons, vec![reason.to_string()], "case {i}");
                }
            }
        }
    }

    #[test]
    fn score_all_reads_nodes_only_while_one_has_a_soft_taint() {
        use crate::engine::scheduler::cache::Cache;
        use crate::engine::scheduler::plugins::testing::node_object;
        let named = |name: &str, taints: serde_json::Value| node_object(json!({"metadata": {"name": name}, "spec": {"taints": taints}}));
        let mut cache = Cache::default();
        cache.upsert_node(named("a", json!([])));
        cache.upsert_node(named("b", json!([{"key": "k", "effect": "PreferNoSchedule"}])));
        assert_eq!(cache.soft_tainted_nodes(), 1);
        let plain = pod(json!({}));
        let score = |cache: &Cache| {
            let feasible: Vec<&NodeInfo> = ["a", "b"].iter().filter_map(|n| cache.node(n)).collect();
            let listers = Default::default();
            let state = Default::default();
            let ctx = super::super::ScoreContext { feasible: &feasible, cache, listers: &listers, state: &state };
            let mut out = Vec::new();
            TaintTolerationScore.score_all(&info(&plain), &ctx, &mut out);
            out
        };
        assert_eq!(score(&cache), vec![0, 1]);
        // The taint goes: no node is read, every node scores 0.
        cache.upsert_node(named("b", json!([{"key": "k", "effect": "NoSchedule"}])));
        assert_eq!(cache.soft_tainted_nodes(), 0);
        assert_eq!(score(&cache), vec![0, 0]);
        cache.upsert_node(named("a", json!([{"key": "k", "effect": "PreferNoSchedule"}])));
        assert_eq!((cache.soft_tainted_nodes(), score(&cache)), (1, vec![1, 0]));
        cache.remove_node("a");
        assert_eq!(cache.soft_tainted_nodes(), 0);
    }

    #[test]
    fn score_counts_prefer_no_schedule() {
        let n = node(json!({"spec": {"taints": [
            {"key": "a", "effect": "PreferNoSchedule"},
            {"key": "b", "effect": "PreferNoSchedule"},
            {"key": "c", "effect": "NoSchedule"}]}}));
        let plain = pod(json!({}));
        let tolerant = pod(json!({"metadata": {"name": "t"}, "spec": {"containers": [{"name": "c"}],
            "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists", "effect": "NoSchedule"}]}}));
        assert_eq!(TaintTolerationScore.score(&info(&plain), &n, empty_ctx()), 2);
        assert_eq!(TaintTolerationScore.score(&info(&tolerant), &n, empty_ctx()), 1);
        let mut scores = vec![2, 1, 0];
        TaintTolerationScore.normalize(&[], &mut scores);
        assert_eq!(scores, vec![0, 50, 100]);
    }
}
