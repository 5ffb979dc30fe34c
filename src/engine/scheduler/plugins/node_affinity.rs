//! NodeAffinity: `spec.nodeSelector` and required node affinity filter
//! nodes; preferred node affinity terms add their weights to the score.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};

use super::{default_normalize, ScorePlugin};
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status, MAX_NODE_SCORE};

pub const NAME: &str = "NodeAffinity";
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";
/// Weight in the default profile.
pub const WEIGHT: i64 = 2;

/// `errReasonConflict`: every term names nodes and no node is in all of them.
pub const REASON_CONFLICT: &str = "pod affinity terms conflict";

/// PreFilter: required terms whose every alternative pins `metadata.name`
/// (`matchFields` with `In`) name the only nodes worth filtering.
pub fn pre_filter(pod: &PodInfo) -> Result<Option<BTreeSet<String>>, Status> {
    let Some(required) = pod.required_affinity.as_deref() else { return Ok(None) };
    if required.node_selector_terms.is_empty() {
        return Ok(None);
    }
    let mut names: Option<BTreeSet<String>> = None;
    for term in &required.node_selector_terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in term.match_fields.iter().flatten() {
            if r.key == "metadata.name" && r.operator == "In" {
                let set: BTreeSet<String> = crate::engine::sort::insert_all(r.values.iter().flatten().cloned());
                term_names = Some(match term_names {
                    None => set,
                    Some(prev) => crate::engine::sort::insert_all(prev.intersection(&set).cloned()),
                });
            }
        }
        let Some(term_names) = term_names else { return Ok(None) };
        names.get_or_insert_with(BTreeSet::new).extend(term_names);
    }
    match names {
        Some(n) if n.is_empty() => Err(Status::unresolvable(REASON_CONFLICT)),
        other => Ok(other),
    }
}

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    if pod.node_selector.is_none() && pod.required_affinity.is_none() {
        return Status::SUCCESS;
    }
    if fits(pod.node_selector, pod.required_affinity.as_deref(), node.labels(), &node.name) {
        Status::SUCCESS
    } else {
        Status::unresolvable(REASON)
    }
}

pub fn fits(
    selector: Option<&BTreeMap<String, String>>,
    required: Option<&NodeSelector>,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> bool {
    if let Some(selector) = selector {
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    match required {
        None => true,
        Some(ns) => ns.node_selector_terms.iter().any(|t| term_matches(t, labels, node_name)),
    }
}

/// Terms are ORed; within a term every expression and field must match; an
/// empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && matches!(r.operator.as_str(), "In" | "NotIn") && requirement_matches(r, Some(node_name)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => !values.is_empty() && value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        "Gt" | "Lt" => {
            let [bound] = values else { return false };
            let (Some(v), Ok(bound)) = (value, bound.parse::<i64>()) else { return false };
            let Ok(v) = v.parse::<i64>() else { return false };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Sum of the weights of the preferred terms the node matches.
pub fn preferred_score(pod: &PodInfo, labels: &BTreeMap<String, String>, node_name: &str) -> i64 {
    pod.preferred_affinity
        .iter()
        .filter(|p| p.weight != 0 && term_matches(&p.preference, labels, node_name))
        .map(|p| p.weight as i64)
        .sum()
}

pub struct NodeAffinityScore;

impl ScorePlugin for NodeAffinityScore {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn pre_score(&mut self, pod: &PodInfo, _ctx: &super::ScoreContext) -> bool {
        !pod.preferred_affinity.is_empty()
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo, _ctx: &super::ScoreContext) -> i64 {
        preferred_score(pod, node.labels(), &node.name)
    }
    fn normalize(&self, _nodes: &[&NodeInfo], scores: &mut [i64]) {
        default_normalize(MAX_NODE_SCORE, false, scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::plugins::testing::{empty_ctx, info, node, pod};
    use serde_json::json;

    #[test]
    fn filter_table() {
        let n = node(json!({"metadata": {"name": "w1", "labels": {"disk": "ssd", "gen": "5"}}}));
        let spec = |extra: serde_json::Value| {
            let mut s = json!({"containers": [{"name": "c"}]});
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                s[k] = v;
            }
            pod(json!({"metadata": {"name": "p"}, "spec": s}))
        };
        let required = |terms: serde_json::Value| {
            spec(json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}))
        };
        let cases = [
            (spec(json!({})), true),
            (spec(json!({"nodeSelector": {"disk": "ssd"}})), true),
            (spec(json!({"nodeSelector": {"disk": "hdd"}})), false),
            (required(json!([{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd", "nvme"]}]}])), true),
            (required(json!([{"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}])), false),
            (required(json!([{"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}])), true),
            (required(json!([{"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}])), true),
            (required(json!([{"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]}])), false),
            (required(json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w1"]}]}])), true),
            (required(json!([{}])), false),
            (required(json!([{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]},
                             {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}])), true),
        ];
        for (i, (p, expected)) in cases.iter().enumerate() {
            let status = filter(&info(p), &n);
            assert_eq!(status.is_success(), *expected, "case {i}");
            if !expected {
                assert_eq!(status.reasons, vec![REASON]);
            }
        }
    }

    #[test]
    fn preferred_terms_sum_weights() {
        let n = node(json!({"metadata": {"name": "w1", "labels": {"disk": "ssd", "zone": "a"}}}));
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], "affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
                {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}},
                {"weight": 3, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}
            ]}}}}));
        assert_eq!(NodeAffinityScore.score(&info(&p), &n, empty_ctx()), 13);
    }

    #[test]
    fn pre_filter_narrows_to_named_nodes() {
        let with_terms = |terms: serde_json::Value| {
            pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}}))
        };
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
        let field = |op: &str, values: &[&str]| json!({"key": "metadata.name", "operator": op, "values": values});
        let cases = [
            (with_terms(json!([{"matchFields": [field("In", &["a", "b"])]}])), Ok(names(&["a", "b"]))),
            (with_terms(json!([{"matchFields": [field("In", &["a", "b"]), field("In", &["b", "c"])]}])), Ok(names(&["b"]))),
            (with_terms(json!([{"matchFields": [field("In", &["a"])]}, {"matchFields": [field("In", &["c"])]}])), Ok(names(&["a", "c"]))),
            // A term without a name pin lets every node through.
            (with_terms(json!([{"matchFields": [field("In", &["a"])]}, {"matchExpressions": [{"key": "x", "operator": "Exists"}]}])), Ok(None)),
            (with_terms(json!([{"matchFields": [field("In", &["a"]), field("In", &["b"])]}])), Err(Status::unresolvable(REASON_CONFLICT))),
            (pod(json!({})), Ok(None)),
        ];
        for (i, (p, want)) in cases.iter().enumerate() {
            assert_eq!(&pre_filter(&info(p)), want, "case {i}");
        }
    }
}
