//! InterPodAffinity: required pod affinity and anti-affinity filter nodes
//! (the incoming pod's terms, and the required anti-affinity of pods
//! already running, which is symmetric); preferred terms, and the running
//! pods' terms about the incoming pod, score them.
//!
//! Counting is by topology domain (`topologyKey` → value): PreFilter counts
//! the matching pods per domain once, so Filter is a lookup per node. The
//! matching pods come from the cache's selector index rather than a scan of
//! every pod.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::{CycleState, Handle, ScoreContext, ScorePlugin};
use crate::engine::scheduler::cache::{Cache, SelectorId};
use crate::engine::scheduler::framework::{no_labels, pod_labels, AffinityTerm, NamespaceSelector, NodeInfo, PodAffinityInfo, PodInfo, Status, MAX_NODE_SCORE};
use crate::engine::scheduler::listers::Listers;

pub const NAME: &str = "InterPodAffinity";
/// Weight in the default profile.
pub const WEIGHT: i64 = 2;
/// `HardPodAffinityWeight` default: what a running pod's required affinity
/// term adds to the score of a domain for a pod it matches.
pub const HARD_POD_AFFINITY_WEIGHT: i64 = 1;
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const REASON_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

/// Matching pods per topology domain: key → value → count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyCounts(FxHashMap<String, FxHashMap<String, i64>>);

impl TopologyCounts {
    pub fn get(&self, key: &str, value: &str) -> i64 {
        self.0.get(key).and_then(|m| m.get(value)).copied().unwrap_or(0)
    }

    /// Adds `n` to the node's domain for `key` (nothing if the node lacks
    /// the label); entries that fall to zero are removed.
    pub fn update(&mut self, node_labels: &BTreeMap<String, String>, key: &str, n: i64) {
        let Some(value) = node_labels.get(key) else { return };
        let values = self.0.entry(key.to_string()).or_default();
        let slot = values.entry(value.clone()).or_insert(0);
        *slot += n;
        if *slot == 0 {
            values.remove(value);
            if values.is_empty() {
                self.0.remove(key);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any of the node's label pairs has a positive count.
    fn any_positive(&self, node_labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().any(|(k, values)| node_labels.get(k).is_some_and(|v| values.get(v).is_some_and(|c| *c > 0)))
    }
}

/// What PreFilter computed for one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterState {
    /// Domains holding a running pod whose required anti-affinity matches the incoming pod.
    pub existing_anti_affinity: TopologyCounts,
    /// Domains holding pods that match every required affinity term.
    pub affinity: TopologyCounts,
    /// Domains holding pods that match a required anti-affinity term.
    pub anti_affinity: TopologyCounts,
    pub required_affinity: Rc<Vec<AffinityTerm>>,
    pub required_anti_affinity: Rc<Vec<AffinityTerm>>,
    /// The incoming pod's namespace labels (running pods' namespace selectors match them).
    pub namespace_labels: BTreeMap<String, String>,
}

/// The incoming pod's terms with namespace selectors turned into names.
pub fn merged_terms(listers: &Listers, terms: &[AffinityTerm]) -> Vec<AffinityTerm> {
    terms
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.merge_namespace_selector(listers.namespaces());
            t
        })
        .collect()
}

/// The namespaces whose pods a (merged) term of the incoming pod can match.
fn term_namespaces(cache: &Cache, term: &AffinityTerm) -> Vec<String> {
    let mut out = term.namespaces.clone();
    if term.namespace_selector == NamespaceSelector::Everything {
        out.extend(cache.pod_namespaces().map(str::to_string));
        out.sort_stable();
        out.dedup();
    }
    out
}

/// Selector-index entries counting the pods a (merged) term matches.
pub fn term_selectors(cache: &mut Cache, term: &AffinityTerm) -> Vec<SelectorId> {
    let namespaces = term_namespaces(cache, term);
    namespaces.iter().filter_map(|ns| cache.ensure_selector(ns, &term.selector)).collect()
}

/// `podMatchesAllAffinityTerms` (an empty list matches nothing).
fn matches_all(terms: &[AffinityTerm], namespace: &str, labels: &BTreeMap<String, String>) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(namespace, labels, no_labels()))
}

/// PreFilter: `Ok(None)` (Skip) when neither the pod nor any running pod
/// has a required term that concerns it.
pub fn pre_filter(cache: &mut Cache, listers: &Listers, pod: &PodInfo) -> Result<Option<FilterState>, Status> {
    let (required_affinity, required_anti_affinity) = match &pod.affinity {
        Some(a) => (merged_terms(listers, &a.required_affinity), merged_terms(listers, &a.required_anti_affinity)),
        None => (Vec::new(), Vec::new()),
    };
    if required_affinity.is_empty() && required_anti_affinity.is_empty() && !cache.has_pods_with_required_anti_affinity() {
        return Ok(None);
    }
    let namespace_labels = listers.namespace_labels(pod.namespace).clone();
    let mut existing = TopologyCounts::default();
    for (_, p) in cache.pods_with_required_anti_affinity() {
        let (Some(node), Some(a)) = (cache.node(&p.node), &p.affinity) else { continue };
        for term in &a.required_anti_affinity {
            if term.matches(pod.namespace, pod.labels, &namespace_labels) {
                existing.update(node.labels(), &term.topology_key, 1);
            }
        }
    }
    if existing.is_empty() && required_affinity.is_empty() && required_anti_affinity.is_empty() {
        return Ok(None);
    }
    let mut affinity = TopologyCounts::default();
    if required_affinity.len() == 1 {
        let term = &required_affinity[0];
        for id in term_selectors(cache, term) {
            add_selector_counts(cache, id, &term.topology_key, 1, &mut affinity);
        }
    } else if !required_affinity.is_empty() {
        // A pod counts only if it matches every term: check pods one by one.
        for node in cache.nodes() {
            for (_, p) in cache.pods_on(&node.name) {
                if matches_all(&required_affinity, p.namespace(), p.labels()) {
                    for t in &required_affinity {
                        affinity.update(node.labels(), &t.topology_key, 1);
                    }
                }
            }
        }
    }
    let mut anti_affinity = TopologyCounts::default();
    for term in &required_anti_affinity {
        for id in term_selectors(cache, term) {
            add_selector_counts(cache, id, &term.topology_key, 1, &mut anti_affinity);
        }
    }
    Ok(Some(FilterState {
        existing_anti_affinity: existing,
        affinity,
        anti_affinity,
        required_affinity: Rc::new(required_affinity),
        required_anti_affinity: Rc::new(required_anti_affinity),
        namespace_labels,
    }))
}

fn add_selector_counts(cache: &Cache, id: SelectorId, key: &str, sign: i64, into: &mut TopologyCounts) {
    let Some(counts) = cache.selector(id) else { return };
    for (slot, n) in counts.occupied() {
        if let Some(node) = cache.node_at(slot) {
            into.update(node.labels(), key, sign * n as i64);
        }
    }
}

impl FilterState {
    /// `satisfyPodAffinity`: every term's topology label is on the node and
    /// its domain holds a matching pod — or no pod matches anywhere and the
    /// pod matches its own terms (the first of a group).
    pub fn satisfies_affinity(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        let labels = node.labels();
        let mut pods_exist = true;
        for term in self.required_affinity.iter() {
            match labels.get(&term.topology_key) {
                Some(v) => {
                    if self.affinity.get(&term.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
                None => return false,
            }
        }
        pods_exist || (self.affinity.is_empty() && matches_all(&self.required_affinity, pod.namespace, pod.labels))
    }

    /// `satisfyPodAntiAffinity`: no term's domain on this node holds a matching pod.
    pub fn satisfies_anti_affinity(&self, node: &NodeInfo) -> bool {
        let labels = node.labels();
        self.required_anti_affinity
            .iter()
            .all(|t| labels.get(&t.topology_key).is_none_or(|v| self.anti_affinity.get(&t.topology_key, v) <= 0))
    }

    /// `satisfyExistingPodsAntiAffinity`.
    pub fn satisfies_existing_anti_affinity(&self, node: &NodeInfo) -> bool {
        self.existing_anti_affinity.is_empty() || !self.existing_anti_affinity.any_positive(node.labels())
    }

    /// PreFilter extension AddPod/RemovePod: `other` joins or leaves `node`.
    pub fn update_with_pod(&mut self, _h: &Handle, pod: &PodInfo, other: &Pod, node: &NodeInfo, sign: i64) {
        let labels = node.labels();
        if let Some(info) = PodAffinityInfo::of(other) {
            for term in &info.required_anti_affinity {
                if term.matches(pod.namespace, pod.labels, &self.namespace_labels) {
                    self.existing_anti_affinity.update(labels, &term.topology_key, sign);
                }
            }
        }
        let ns = other.metadata.namespace.as_deref().unwrap_or("");
        let other_labels = pod_labels(other);
        if matches_all(&self.required_affinity, ns, other_labels) {
            for t in self.required_affinity.iter() {
                self.affinity.update(labels, &t.topology_key, sign);
            }
        }
        for t in self.required_anti_affinity.iter() {
            if t.matches(ns, other_labels, no_labels()) {
                self.anti_affinity.update(labels, &t.topology_key, sign);
            }
        }
    }
}

pub fn filter(_h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
    let Some(s) = &state.affinity else { return Status::SUCCESS };
    if !s.satisfies_affinity(pod, node) {
        return Status::unresolvable(REASON_AFFINITY);
    }
    if !s.satisfies_anti_affinity(node) {
        return Status::unschedulable(REASON_ANTI_AFFINITY);
    }
    if !s.satisfies_existing_anti_affinity(node) {
        return Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
    }
    Status::SUCCESS
}

/// One of the incoming pod's preferred terms, ready for PreScore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedTerm {
    pub topology_key: String,
    /// The term's weight, negative for anti-affinity.
    pub weight: i64,
    pub selectors: Vec<SelectorId>,
}

/// The selector-index entries PreScore reads for the pod's preferred terms
/// (made before scoring, while the cache may still grow its index).
pub fn prepare_preferred(cache: &mut Cache, listers: &Listers, pod: &PodInfo) -> Vec<PreparedTerm> {
    let Some(a) = &pod.affinity else { return Vec::new() };
    let mut out = Vec::new();
    for (terms, sign) in [(&a.preferred_affinity, 1), (&a.preferred_anti_affinity, -1)] {
        for wt in terms {
            let mut term = wt.term.clone();
            term.merge_namespace_selector(listers.namespaces());
            out.push(PreparedTerm { topology_key: term.topology_key.clone(), weight: sign * wt.weight as i64, selectors: term_selectors(cache, &term) });
        }
    }
    out
}

/// Score: the sum of weights of the domains the node belongs to, from the
/// incoming pod's preferred terms and from running pods' terms about it.
#[derive(Default)]
pub struct AffinityScore {
    topology_score: FxHashMap<String, FxHashMap<String, i64>>,
}

impl AffinityScore {
    fn add(&mut self, node_labels: &BTreeMap<String, String>, key: &str, n: i64) -> bool {
        let Some(v) = node_labels.get(key) else { return false };
        *self.topology_score.entry(key.to_string()).or_default().entry(v.clone()).or_insert(0) += n;
        true
    }
}

impl ScorePlugin for AffinityScore {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn pre_score(&mut self, pod: &PodInfo, ctx: &ScoreContext) -> bool {
        self.topology_score.clear();
        let preferred: &[PreparedTerm] = ctx.state.affinity_preferred.as_deref().map(Vec::as_slice).unwrap_or(&[]);
        let has_constraints = !preferred.is_empty();
        if !has_constraints && !ctx.cache.has_pods_with_affinity() {
            return false;
        }
        let mut any = false;
        for term in preferred {
            for &id in &term.selectors {
                let Some(counts) = ctx.cache.selector(id) else { continue };
                for (slot, n) in counts.occupied() {
                    let Some(node) = ctx.cache.node_at(slot) else { continue };
                    let labels = node.labels();
                    if !labels.is_empty() {
                        any |= self.add(labels, &term.topology_key, term.weight * n as i64);
                    }
                }
            }
        }
        let ns_labels = ctx.listers.namespace_labels(pod.namespace);
        for (_, p) in ctx.cache.pods_with_affinity() {
            let (Some(node), Some(a)) = (ctx.cache.node(&p.node), &p.affinity) else { continue };
            let labels = node.labels();
            if labels.is_empty() {
                continue;
            }
            for t in &a.required_affinity {
                if t.matches(pod.namespace, pod.labels, ns_labels) {
                    any |= self.add(labels, &t.topology_key, HARD_POD_AFFINITY_WEIGHT);
                }
            }
            for (terms, sign) in [(&a.preferred_affinity, 1), (&a.preferred_anti_affinity, -1)] {
                for wt in terms.iter() {
                    if wt.term.matches(pod.namespace, pod.labels, ns_labels) {
                        any |= self.add(labels, &wt.term.topology_key, sign * wt.weight as i64);
                    }
                }
            }
        }
        any
    }
    fn score(&self, _pod: &PodInfo, node: &NodeInfo, _ctx: &ScoreContext) -> i64 {
        let labels = node.labels();
        self.topology_score.iter().map(|(k, values)| labels.get(k).and_then(|v| values.get(v)).copied().unwrap_or(0)).sum()
    }
    fn normalize(&self, _nodes: &[&NodeInfo], scores: &mut [i64]) {
        normalize_min_max(scores);
    }
}

/// `MaxNodeScore * (s - min) / (max - min)`, all 0 when every score is equal.
pub fn normalize_min_max(scores: &mut [i64]) {
    let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else { return };
    let diff = max - min;
    for s in scores.iter_mut() {
        *s = if diff > 0 { (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64 } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::cache::AssignedPod;
    use crate::engine::scheduler::framework::LABEL_HOSTNAME;
    use crate::engine::scheduler::plugins::testing::{info, node_object, pod, pod_object};
    use serde_json::json;

    /// Three nodes in two zones; pods placed by (name, node, labels, affinity).
    fn world(pods: &[(&str, &str, serde_json::Value, serde_json::Value)]) -> Cache {
        let mut c = Cache::default();
        for (name, zone) in [("a", "z1"), ("b", "z1"), ("c", "z2")] {
            c.upsert_node(node_object(json!({"metadata": {"name": name, "labels": {LABEL_HOSTNAME: name, "zone": zone}}})));
        }
        c.refresh_order();
        for (name, node, labels, affinity) in pods {
            let p = pod_object(json!({"metadata": {"name": name, "labels": labels},
                "spec": {"containers": [{"name": "c"}], "affinity": affinity}}));
            c.add_pod(crate::engine::api::SharedKey::new(crate::engine::api::ObjectKey::new("default", *name)), AssignedPod::new(p, Rc::from(*node)));
        }
        c
    }

    fn verdicts(c: &mut Cache, incoming: &crate::engine::api::pod::Pod) -> Vec<(String, Status)> {
        let listers = Listers::default();
        let i = info(incoming);
        let state = CycleState { affinity: pre_filter(c, &listers, &i).unwrap(), ..Default::default() };
        let h = Handle { cache: c, listers: &listers };
        c.nodes().map(|n| (n.name.to_string(), filter(&h, &state, &i, n))).collect()
    }

    fn anti(key: &str, app: &str) -> serde_json::Value {
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}})
    }

    fn aff(key: &str, app: &str) -> serde_json::Value {
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}})
    }

    #[test]
    fn filter_table() {
        let ok = Status::SUCCESS;
        let anti_fail = Status::unschedulable(REASON_ANTI_AFFINITY);
        let aff_fail = Status::unresolvable(REASON_AFFINITY);
        let existing_fail = Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
        struct Case {
            name: &'static str,
            running: Vec<(&'static str, &'static str, serde_json::Value, serde_json::Value)>,
            incoming: serde_json::Value,
            want: [Status; 3],
        }
        let cases = vec![
            Case {
                name: "anti-affinity on hostname avoids the node with a replica",
                running: vec![("web-1", "a", json!({"app": "web"}), json!(null))],
                incoming: json!({"metadata": {"name": "web-2", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": anti(LABEL_HOSTNAME, "web")}}),
                want: [anti_fail.clone(), ok.clone(), ok.clone()],
            },
            Case {
                name: "anti-affinity on zone avoids the whole zone",
                running: vec![("web-1", "a", json!({"app": "web"}), json!(null))],
                incoming: json!({"metadata": {"name": "web-2", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": anti("zone", "web")}}),
                want: [anti_fail.clone(), anti_fail.clone(), ok.clone()],
            },
            Case {
                name: "a running pod's anti-affinity is symmetric",
                running: vec![("db-1", "b", json!({"app": "db"}), anti(LABEL_HOSTNAME, "web"))],
                incoming: json!({"metadata": {"name": "web", "labels": {"app": "web"}}}),
                want: [ok.clone(), existing_fail.clone(), ok.clone()],
            },
            Case {
                name: "affinity goes where the matching pod is",
                running: vec![("cache-1", "c", json!({"app": "cache"}), json!(null))],
                incoming: json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": aff("zone", "cache")}}),
                want: [aff_fail.clone(), aff_fail.clone(), ok.clone()],
            },
            Case {
                name: "affinity to itself lets the first pod of a group anywhere",
                running: vec![],
                incoming: json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": aff("zone", "web")}}),
                want: [ok.clone(), ok.clone(), ok.clone()],
            },
            Case {
                name: "affinity to a missing pod fits nowhere",
                running: vec![],
                incoming: json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": aff("zone", "cache")}}),
                want: [aff_fail.clone(), aff_fail.clone(), aff_fail.clone()],
            },
            Case {
                name: "affinity needs the topology label on the node",
                running: vec![("cache-1", "c", json!({"app": "cache"}), json!(null))],
                incoming: json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": aff("rack", "cache")}}),
                want: [aff_fail.clone(), aff_fail.clone(), aff_fail.clone()],
            },
        ];
        for case in cases {
            let mut c = world(&case.running);
            let got: Vec<Status> = verdicts(&mut c, &pod(case.incoming.clone())).into_iter().map(|(_, s)| s).collect();
            assert_eq!(got, case.want.to_vec(), "{}", case.name);
        }
    }

    #[test]
    fn skips_pods_nothing_concerns() {
        let mut c = world(&[("web-1", "a", json!({"app": "web"}), json!(null))]);
        let listers = Listers::default();
        let p = pod(json!({"metadata": {"name": "x", "labels": {"app": "web"}}}));
        assert_eq!(pre_filter(&mut c, &listers, &info(&p)), Ok(None));
    }

    #[test]
    fn score_prefers_domains_by_weight() {
        let mut c = world(&[
            ("cache-1", "a", json!({"app": "cache"}), json!(null)),
            ("db-1", "c", json!({"app": "db"}), json!(null)),
        ]);
        let listers = Listers::default();
        let p = pod(json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}], "affinity": {
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 80, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 30, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": LABEL_HOSTNAME}}]}}}}));
        let i = info(&p);
        let state = CycleState { affinity_preferred: Some(Rc::new(prepare_preferred(&mut c, &listers, &i))), ..Default::default() };
        let nodes: Vec<&NodeInfo> = c.nodes().collect();
        let ctx = ScoreContext { feasible: &nodes, cache: &c, listers: &listers, state: &state };
        let mut plugin = AffinityScore::default();
        assert!(plugin.pre_score(&i, &ctx));
        let mut raw = Vec::new();
        plugin.score_all(&i, &ctx, &mut raw);
        // a and b share zone z1 with the cache (+80); c holds the db (-30).
        assert_eq!(raw, vec![80, 80, -30], "nodes a, b, c");
        plugin.normalize(&nodes, &mut raw);
        assert_eq!(raw, vec![100, 100, 0]);
    }

    #[test]
    fn running_pods_terms_score_the_incoming_pod() {
        let mut c = world(&[(
            "front-1",
            "b",
            json!({"app": "front"}),
            json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "api"}}, "topologyKey": LABEL_HOSTNAME}}]}}),
        )]);
        let listers = Listers::default();
        let p = pod(json!({"metadata": {"name": "api", "labels": {"app": "api"}}}));
        let i = info(&p);
        let state = CycleState::default();
        let nodes: Vec<&NodeInfo> = c.nodes().collect();
        let ctx = ScoreContext { feasible: &nodes, cache: &c, listers: &listers, state: &state };
        let mut plugin = AffinityScore::default();
        assert!(plugin.pre_score(&i, &ctx));
        let raw: Vec<i64> = nodes.iter().map(|n| plugin.score(&i, n, &ctx)).collect();
        assert_eq!(raw, vec![0, 50, 0]);
        let _ = &mut c;
    }
}
