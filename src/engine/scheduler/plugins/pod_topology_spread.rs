//! PodTopologySpread: a pod's `topologySpreadConstraints` keep matching
//! pods within `maxSkew` of each other across topology domains.
//! `DoNotSchedule` constraints filter (skew = pods in the node's domain + 1
//! if the pod matches itself − the global minimum over eligible domains,
//! the minimum taken as 0 while fewer than `minDomains` domains exist);
//! `ScheduleAnyway` constraints score. `nodeAffinityPolicy` (default Honor)
//! and `nodeTaintsPolicy` (default Ignore) decide which nodes' domains count;
//! `matchLabelKeys` adds the pod's own values of those keys to the selector.
//!
//! Pods that declare no constraints get 1.33's system defaults: spread
//! softly over hostnames (maxSkew 3) and zones (maxSkew 5), counting the
//! pods selected by the Services, ReplicationController, ReplicaSet or
//! StatefulSet that select the pod.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::{node_affinity, taint_toleration, CycleState, Handle, ScoreContext, ScorePlugin};
use crate::engine::api::meta::controller_of;
use crate::engine::api::Object;
use crate::engine::scheduler::cache::{Cache, SelectorId, SlotCounts};
use crate::engine::scheduler::framework::{pod_labels, selector_or_nothing, NodeInfo, PodInfo, Status, LABEL_HOSTNAME, LABEL_ZONE, MAX_NODE_SCORE};
use crate::engine::scheduler::listers::{Kind, Listers};
use crate::engine::selector::Selector;

pub const NAME: &str = "PodTopologySpread";
/// Weight in the default profile.
pub const WEIGHT: i64 = 2;
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
pub const REASON_MISSING_LABEL: &str = "node(s) didn't match pod topology spread constraints (missing required label)";
/// 1.33's system default constraints (`ScheduleAnyway`).
pub const SYSTEM_DEFAULTS: [(&str, i64); 2] = [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)];

/// Topology keys the node info caches, so that the hot path compares no strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Hostname,
    Zone,
    Other,
}

impl KeyKind {
    pub fn of(key: &str) -> Self {
        match key {
            LABEL_HOSTNAME => KeyKind::Hostname,
            LABEL_ZONE => KeyKind::Zone,
            _ => KeyKind::Other,
        }
    }
}

/// One constraint, parsed, with its selector-index entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub max_skew: i64,
    pub topology_key: String,
    pub key_kind: KeyKind,
    pub selector: Selector,
    /// `None` when the selector counts nothing (unset, or empty: an empty
    /// selector counts no pods, as `countPodsMatchSelector` has it).
    pub selector_id: Option<SelectorId>,
    pub min_domains: i64,
    pub honor_node_affinity: bool,
    pub honor_node_taints: bool,
}

impl Constraint {
    /// Whether the node's domain counts for this pod (`matchNodeInclusionPolicies`).
    pub fn includes(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        if self.honor_node_affinity && !node_affinity::fits(pod.node_selector, pod.required_affinity.as_deref(), node.labels(), &node.name) {
            return false;
        }
        !(self.honor_node_taints && taint_toleration::first_untolerated(&node.hard_taints, pod.tolerations).is_some())
    }

    fn live_count(&self, cache: &Cache, slot: usize) -> i64 {
        self.selector_id.and_then(|id| cache.selector(id)).map_or(0, |c| c.live_at(slot) as i64)
    }

    /// The node's value for this constraint's key.
    fn value<'n>(&self, node: &'n NodeInfo) -> Option<&'n str> {
        match self.key_kind {
            KeyKind::Zone => node.zone.as_deref(),
            KeyKind::Hostname if !node.has_hostname_label => None,
            _ => node.labels().get(&self.topology_key).map(String::as_str),
        }
    }

    fn has_key(&self, node: &NodeInfo) -> bool {
        match self.key_kind {
            KeyKind::Zone => node.zone.is_some(),
            KeyKind::Hostname => node.has_hostname_label,
            KeyKind::Other => node.labels().contains_key(&self.topology_key),
        }
    }
}

fn has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints.iter().all(|c| c.has_key(node))
}

/// `mergeLabelSetWithSelector`: the pod's values for `matchLabelKeys`
/// become equality requirements ahead of the selector's own.
fn merge_match_label_keys(keys: &[String], pod_labels: &BTreeMap<String, String>, selector: Selector) -> Selector {
    if selector.selects_nothing {
        return selector;
    }
    let extra: BTreeMap<String, String> = crate::engine::sort::insert_all(keys.iter().filter_map(|k| pod_labels.get(k).map(|v| (k.clone(), v.clone()))));
    if extra.is_empty() {
        return selector;
    }
    let mut merged = Selector::from_map(&extra);
    merged.requirements.extend(selector.requirements);
    merged
}

/// `helper.DefaultSelector`: the selectors of the Services selecting the
/// pod, merged with its controller's (ReplicationController, ReplicaSet or
/// StatefulSet) selector.
pub fn default_selector(pod: &Pod, listers: &Listers) -> Selector {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let labels = pod_labels(pod);
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    for svc in listers.services(ns) {
        // Services with no selector select nothing.
        let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref()) else { continue };
        if Selector::from_map(sel).matches(Some(labels)) {
            set.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let mut selector = Selector::from_map(&set);
    let Some(owner) = controller_of(pod.metadata.owner_references.as_ref()) else { return selector };
    let kind = match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("v1", "ReplicationController") => Kind::ReplicationController,
        ("apps/v1", "ReplicaSet") => Kind::ReplicaSet,
        ("apps/v1", "StatefulSet") => Kind::StatefulSet,
        _ => return selector,
    };
    match listers.controller(kind, ns, &owner.name).map(|o| &**o) {
        Some(Object::ReplicationController(rc)) => {
            if let Some(sel) = rc.spec.as_ref().and_then(|s| s.selector.as_ref()) {
                set.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
                selector = Selector::from_map(&set);
            }
        }
        Some(Object::ReplicaSet(rs)) => {
            if let Some(spec) = &rs.spec {
                selector.requirements.extend(Selector::from_api(&spec.selector).requirements);
            }
        }
        Some(Object::StatefulSet(ss)) => {
            if let Some(spec) = &ss.spec {
                selector.requirements.extend(Selector::from_api(&spec.selector).requirements);
            }
        }
        _ => {}
    }
    selector.requirements.sort_stable_by(|a, b| a.key.cmp(&b.key));
    selector
}

/// The pod's constraints for one `whenUnsatisfiable` action (the system
/// defaults when it declares none), with selector-index entries made.
pub fn constraints(cache: &mut Cache, listers: &Listers, pod: &PodInfo, action: &str) -> Vec<Constraint> {
    let declared = pod.spread_constraints();
    let mut out: Vec<Constraint> = if !declared.is_empty() {
        declared
            .iter()
            .filter(|c| c.when_unsatisfiable == action)
            .map(|c| Constraint {
                max_skew: c.max_skew as i64,
                topology_key: c.topology_key.clone(),
                key_kind: KeyKind::of(&c.topology_key),
                selector: merge_match_label_keys(c.match_label_keys.as_deref().unwrap_or(&[]), pod.labels, selector_or_nothing(c.label_selector.as_ref())),
                selector_id: None,
                min_domains: c.min_domains.unwrap_or(1) as i64,
                honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            })
            .collect()
    } else if action == "ScheduleAnyway" {
        let selector = default_selector(pod.pod, listers);
        if selector.is_empty() {
            return Vec::new();
        }
        SYSTEM_DEFAULTS
            .iter()
            .map(|(key, skew)| Constraint {
                max_skew: *skew,
                topology_key: key.to_string(),
                key_kind: KeyKind::of(key),
                selector: selector.clone(),
                selector_id: None,
                min_domains: 1,
                honor_node_affinity: true,
                honor_node_taints: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    for c in &mut out {
        c.selector_id = if c.selector.is_empty() { None } else { cache.ensure_selector(pod.namespace, &c.selector) };
    }
    out
}

/// System default constraints already worked out per owning controller:
/// the pods of one ReplicaSet share them while the Services and
/// controllers, the pod's labels and the selector index stay as they were.
#[derive(Default)]
pub struct DefaultConstraintsMemo {
    by_owner: FxHashMap<String, OwnerDefaults>,
}

/// An owner's pod labels, the generations of what they were derived from,
/// and the constraints.
type OwnerDefaults = (BTreeMap<String, String>, (u64, u64), Rc<Vec<Constraint>>);

/// Most owners remembered; past that the memo starts over.
const MEMO_OWNERS: usize = 10_000;

impl DefaultConstraintsMemo {
    /// The pod's soft constraints (declared ones, or the system defaults).
    pub fn score_constraints(&mut self, cache: &mut Cache, listers: &Listers, pod: &PodInfo) -> Rc<Vec<Constraint>> {
        let owner = controller_of(pod.pod.metadata.owner_references.as_ref()).map(|o| o.uid.as_str());
        let (Some(owner), true) = (owner, pod.spread_constraints().is_empty()) else {
            return Rc::new(constraints(cache, listers, pod, "ScheduleAnyway"));
        };
        let generation = (listers.selector_inputs_generation(), cache.selector_generation());
        if let Some((labels, g, c)) = self.by_owner.get(owner) {
            if *g == generation && labels == pod.labels {
                return c.clone();
            }
        }
        let c = Rc::new(constraints(cache, listers, pod, "ScheduleAnyway"));
        if self.by_owner.len() >= MEMO_OWNERS {
            self.by_owner.clear();
        }
        self.by_owner.insert(owner.to_string(), (pod.labels.clone(), generation, c.clone()));
        c
    }
}

/// What PreFilter computed: per `DoNotSchedule` constraint, the matching
/// pods in each eligible domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterState {
    pub constraints: Vec<Constraint>,
    pub domain_counts: Vec<FxHashMap<String, i64>>,
}

impl FilterState {
    /// The global minimum for a constraint, 0 while there are fewer than
    /// `minDomains` eligible domains.
    pub fn min_match(&self, i: usize) -> i64 {
        let counts = &self.domain_counts[i];
        if (counts.len() as i64) < self.constraints[i].min_domains {
            return 0;
        }
        counts.values().copied().min().unwrap_or(i32::MAX as i64)
    }

    /// PreFilter extension AddPod/RemovePod.
    pub fn update_with_pod(&mut self, pod: &PodInfo, other: &Pod, node: &NodeInfo, sign: i64) {
        if other.metadata.namespace.as_deref().unwrap_or("") != pod.namespace || !has_all_keys(node, &self.constraints) {
            return;
        }
        let labels = pod_labels(other);
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selector.matches(Some(labels)) || !c.includes(pod, node) {
                continue;
            }
            let value = c.value(node).unwrap_or("").to_string();
            *self.domain_counts[i].entry(value).or_insert(0) += sign;
        }
    }

    /// The skew placing the pod on the node would give, per constraint.
    pub fn skews(&self, pod: &PodInfo, node: &NodeInfo) -> Vec<Option<(i64, i64)>> {
        self.constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let value = c.value(node)?;
                let self_match = i64::from(c.selector.matches(Some(pod.labels)));
                let skew = self.domain_counts[i].get(value).copied().unwrap_or(0) + self_match - self.min_match(i);
                Some((skew, c.max_skew))
            })
            .collect()
    }
}

/// PreFilter: `Ok(None)` (Skip) without `DoNotSchedule` constraints.
pub fn pre_filter(cache: &mut Cache, listers: &Listers, pod: &PodInfo) -> Result<Option<FilterState>, Status> {
    let constraints = constraints(cache, listers, pod, "DoNotSchedule");
    if constraints.is_empty() {
        return Ok(None);
    }
    let mut domain_counts = vec![FxHashMap::default(); constraints.len()];
    for node in cache.nodes() {
        if !has_all_keys(node, &constraints) {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if !c.includes(pod, node) {
                continue;
            }
            let value = c.value(node).unwrap_or("");
            *domain_counts[i].entry(value.to_string()).or_insert(0) += c.live_count(cache, node.slot);
        }
    }
    Ok(Some(FilterState { constraints, domain_counts }))
}

pub fn filter(_h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
    let Some(s) = &state.spread else { return Status::SUCCESS };
    for skew in s.skews(pod, node) {
        match skew {
            None => return Status::unresolvable(REASON_MISSING_LABEL),
            Some((skew, max)) if skew > max => return Status::unschedulable(REASON),
            Some(_) => {}
        }
    }
    Status::SUCCESS
}

/// Weight of a topology's counts, so that fine topologies (many hostnames)
/// are not drowned by coarse ones: ln(domains + 2).
pub fn topology_normalizing_weight(domains: usize) -> f64 {
    ((domains + 2) as f64).ln()
}

pub fn score_for_count(count: i64, max_skew: i64, weight: f64) -> f64 {
    count as f64 * weight + (max_skew - 1) as f64
}

/// Score: fewer matching pods in the node's domains score higher.
#[derive(Default)]
pub struct SpreadScore {
    constraints: Rc<Vec<Constraint>>,
    /// By node slot: feasible nodes missing a topology key (scored 0).
    ignored: Vec<bool>,
    any_ignored: bool,
    /// Per constraint (hostname ones are counted per node at Score time):
    /// pods per domain, for the domains of feasible nodes.
    counts: Vec<FxHashMap<String, i64>>,
    weights: Vec<f64>,
    /// Scratch, per constraint: domains seen, a node without the key seen,
    /// a node with the key seen.
    sizes: Vec<usize>,
    empty_domain: Vec<bool>,
    read: Vec<bool>,
}

impl SpreadScore {
    fn is_ignored(&self, slot: usize) -> bool {
        self.any_ignored && self.ignored.get(slot).copied().unwrap_or(false)
    }
}

impl ScorePlugin for SpreadScore {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn pre_score(&mut self, pod: &PodInfo, ctx: &ScoreContext) -> bool {
        let Some(constraints) = ctx.state.spread_score.clone() else { return false };
        if constraints.is_empty() || ctx.cache.node_count() == 0 {
            return false;
        }
        self.constraints = constraints.clone();
        // Only pods' own constraints need every key on a node; system
        // defaults let nodes without a zone still spread by hostname.
        let require_all = !pod.spread_constraints().is_empty();
        let n = constraints.len();
        self.any_ignored = false;
        self.ignored.clear();
        self.counts.resize_with(n, FxHashMap::default);
        self.counts.iter_mut().for_each(FxHashMap::clear);
        self.sizes.clear();
        self.sizes.resize(n, 0);
        self.empty_domain.clear();
        self.empty_domain.resize(n, false);
        self.read.clear();
        self.read.resize(n, false);
        let mut ignored_count = 0;
        // Without zone labels anywhere every feasible node is in the "" zone.
        let zones_unknown = ctx.cache.zoned_nodes() == 0;
        let per_node = require_all || constraints.iter().any(|c| c.key_kind == KeyKind::Other || (c.key_kind == KeyKind::Zone && !zones_unknown));
        if per_node {
            for node in ctx.feasible {
                if require_all && !has_all_keys(node, &constraints) {
                    if self.ignored.len() <= node.slot {
                        self.ignored.resize(node.slot + 1, false);
                    }
                    self.ignored[node.slot] = true;
                    self.any_ignored = true;
                    ignored_count += 1;
                    continue;
                }
                for (i, c) in constraints.iter().enumerate() {
                    if c.key_kind == KeyKind::Hostname {
                        continue;
                    }
                    match c.value(node) {
                        None => self.empty_domain[i] = true,
                        Some(value) => {
                            self.read[i] = true;
                            if !self.counts[i].contains_key(value) {
                                self.counts[i].insert(value.to_string(), 0);
                                self.sizes[i] += 1;
                            }
                        }
                    }
                }
            }
        } else if !ctx.feasible.is_empty() {
            for (i, c) in constraints.iter().enumerate() {
                if c.key_kind == KeyKind::Zone {
                    self.empty_domain[i] = true;
                }
            }
        }
        for i in 0..n {
            if self.empty_domain[i] && !self.counts[i].contains_key("") {
                self.counts[i].insert(String::new(), 0);
                self.sizes[i] += 1;
            }
        }
        self.weights.clear();
        for (i, c) in constraints.iter().enumerate() {
            let size = if c.key_kind == KeyKind::Hostname { ctx.feasible.len() - ignored_count } else { self.sizes[i] };
            self.weights.push(topology_normalizing_weight(size));
        }
        if self.read.iter().any(|r| *r) {
            for node in ctx.cache.nodes() {
                if require_all && !has_all_keys(node, &constraints) {
                    continue;
                }
                for (i, c) in constraints.iter().enumerate() {
                    if !self.read[i] || !c.includes(pod, node) {
                        continue;
                    }
                    let value = c.value(node).unwrap_or("");
                    if let Some(count) = self.counts[i].get_mut(value) {
                        *count += c.live_count(ctx.cache, node.slot);
                    }
                }
            }
        }
        true
    }
    fn score(&self, _pod: &PodInfo, node: &NodeInfo, ctx: &ScoreContext) -> i64 {
        if self.is_ignored(node.slot) {
            return 0;
        }
        let mut score = 0.0;
        for (i, c) in self.constraints.iter().enumerate() {
            // Hostname domains are single nodes: their counts are read here.
            let count = match c.key_kind {
                KeyKind::Hostname if node.has_hostname_label => c.live_count(ctx.cache, node.slot),
                KeyKind::Hostname => continue,
                _ => match c.value(node) {
                    Some(v) => self.counts[i].get(v).copied().unwrap_or(0),
                    None => continue,
                },
            };
            score += score_for_count(count, c.max_skew, self.weights[i]);
        }
        // Scores are never negative: adding one half and truncating is Go's
        // math.Round here, without a libm call per node.
        (score + 0.5) as i64
    }
    /// As `score` per node, with each constraint's counts looked up once.
    fn score_all(&self, _pod: &PodInfo, ctx: &ScoreContext, out: &mut Vec<i64>) {
        // (kind, hostname counts by slot, maxSkew - 1, weight) per constraint.
        let none = SlotCounts::default();
        let plan: Vec<(KeyKind, &SlotCounts, f64, f64)> = self
            .constraints
            .iter()
            .zip(&self.weights)
            .map(|(c, w)| {
                let counts = if c.key_kind == KeyKind::Hostname { c.selector_id.and_then(|id| ctx.cache.selector(id)).map_or(&none, |s| s.live_counts()) } else { &none };
                (c.key_kind, counts, (c.max_skew - 1) as f64, *w)
            })
            .collect();
        out.reserve(ctx.feasible.len());
        // The common case (the system default constraints on a cluster
        // without zone labels, or one hostname constraint): a zone
        // constraint adds nothing on a node without a zone, so the score is
        // the hostname constraint's alone, as the general loop below sums it.
        let zones_unknown = ctx.cache.zoned_nodes() == 0;
        let mut contributing = plan.iter().filter(|(kind, ..)| !(zones_unknown && *kind == KeyKind::Zone));
        let only_host = match (contributing.next(), contributing.next(), self.any_ignored) {
            (Some(&(KeyKind::Hostname, _, skew, weight)), None, false) => Some((skew, weight)),
            _ => None,
        };
        // The first hostname constraint's counts (the system defaults have
        // one) are read from a list by slot; any other's by a search.
        let first_host = plan.iter().position(|(kind, ..)| *kind == KeyKind::Hostname);
        first_host.map_or(&none, |i| plan[i].1).with_dense(|first_host_counts| {
            if let Some((skew, weight)) = only_host {
                out.extend(ctx.feasible.iter().map(|node| {
                    if !node.has_hostname_label {
                        return 0;
                    }
                    let count = first_host_counts.get(node.slot).copied().unwrap_or(0) as i64;
                    // 0.0 + x is x for every x the sum can hold (never -0.0).
                    (count as f64 * weight + skew + 0.5) as i64
                }));
                return;
            }
            for node in ctx.feasible {
                if self.is_ignored(node.slot) {
                    out.push(0);
                    continue;
                }
                let mut score = 0.0;
                for (i, (kind, host, skew, weight)) in plan.iter().enumerate() {
                    let count = match kind {
                        KeyKind::Hostname if node.has_hostname_label && Some(i) == first_host => first_host_counts.get(node.slot).copied().unwrap_or(0) as i64,
                        KeyKind::Hostname if node.has_hostname_label => host.get(node.slot) as i64,
                        KeyKind::Hostname => continue,
                        KeyKind::Zone => match &node.zone {
                            Some(z) => self.counts[i].get(z.as_str()).copied().unwrap_or(0),
                            None => continue,
                        },
                        KeyKind::Other => match self.constraints[i].value(node) {
                            Some(v) => self.counts[i].get(v).copied().unwrap_or(0),
                            None => continue,
                        },
                    };
                    score += count as f64 * weight + skew;
                }
                out.push((score + 0.5) as i64);
            }
        });
    }
    fn normalize(&self, nodes: &[&NodeInfo], scores: &mut [i64]) {
        if !self.any_ignored {
            normalize_spread(scores, &[]);
            return;
        }
        let ignored: Vec<bool> = nodes.iter().map(|n| self.is_ignored(n.slot)).collect();
        normalize_spread(scores, &ignored);
    }
}

/// `100 * (max + min - s) / max` over the nodes not ignored (those get 0);
/// all 100 when every node scored 0.
pub fn normalize_spread(scores: &mut [i64], ignored: &[bool]) {
    if ignored.is_empty() {
        let (mut min, mut max) = (i64::MAX, 0);
        for &s in scores.iter() {
            min = min.min(s);
            max = max.max(s);
        }
        if max == 0 {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
            return;
        }
        let normalized = |s: i64| MAX_NODE_SCORE * (max + min - s) / max;
        // Scores span a few values (pod counts per domain): each value is
        // divided once, and every node looks its result up.
        const SPAN: usize = 64;
        if let Some(span) = max.checked_sub(min).and_then(|d| usize::try_from(d).ok()).filter(|&d| d < SPAN) {
            let mut table = [0i64; SPAN];
            for (k, t) in table.iter_mut().enumerate().take(span + 1) {
                *t = normalized(min + k as i64);
            }
            for s in scores.iter_mut() {
                *s = table[(*s - min) as usize];
            }
            return;
        }
        for s in scores.iter_mut() {
            *s = normalized(*s);
        }
        return;
    }
    let considered = || scores.iter().zip(ignored.iter().chain(std::iter::repeat(&false))).filter(|(_, i)| !**i).map(|(s, _)| *s);
    let max = considered().max().unwrap_or(0);
    let min = considered().min().unwrap_or(0);
    for (i, s) in scores.iter_mut().enumerate() {
        if ignored.get(i).copied().unwrap_or(false) {
            *s = 0;
        } else if max == 0 {
            *s = MAX_NODE_SCORE;
        } else {
            *s = MAX_NODE_SCORE * (max + min - *s) / max;
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::ObjectKey;
    use crate::engine::scheduler::cache::AssignedPod;
    use crate::engine::scheduler::plugins::testing::{info, node_object, pod, pod_object};
    use serde_json::json;

    /// Nodes (name, zone, extra labels, taints) and pods (name, node, labels).
    fn world(nodes: &[(&str, Option<&str>, serde_json::Value)], pods: &[(&str, &str, serde_json::Value)]) -> Cache {
        let mut c = Cache::default();
        for (name, zone, spec) in nodes {
            let mut labels = json!({LABEL_HOSTNAME: name});
            if let Some(z) = zone {
                labels[LABEL_ZONE] = json!(z);
            }
            c.upsert_node(node_object(json!({"metadata": {"name": name, "labels": labels}, "spec": spec})));
        }
        c.refresh_order();
        for (name, node, labels) in pods {
            let p = pod_object(json!({"metadata": {"name": name, "labels": labels}}));
            c.add_pod(crate::engine::api::SharedKey::new(ObjectKey::new("default", *name)), AssignedPod::new(p, Rc::from(*node)));
        }
        c
    }

    fn incoming(constraints: serde_json::Value, extra_spec: serde_json::Value) -> crate::engine::api::pod::Pod {
        let mut spec = json!({"containers": [{"name": "c"}], "topologySpreadConstraints": constraints});
        for (k, v) in extra_spec.as_object().cloned().unwrap_or_default() {
            spec[k] = v;
        }
        pod(json!({"metadata": {"name": "new", "labels": {"app": "web", "version": "v2"}}, "spec": spec}))
    }

    fn verdicts(c: &mut Cache, p: &crate::engine::api::pod::Pod) -> Vec<(String, Status)> {
        let listers = Listers::default();
        let i = info(p);
        let state = CycleState { spread: pre_filter(c, &listers, &i).unwrap(), ..Default::default() };
        let h = Handle { cache: c, listers: &listers };
        let mut out: Vec<(String, Status)> = c.nodes().map(|n| (n.name.to_string(), filter(&h, &state, &i, n))).collect();
        out.sort_stable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn zone_constraint(extra: serde_json::Value) -> serde_json::Value {
        let mut c = json!({"maxSkew": 1, "topologyKey": LABEL_ZONE, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            c[k] = v;
        }
        json!([c])
    }

    #[test]
    fn filter_table() {
        let ok = Status::SUCCESS;
        let skew = Status::unschedulable(REASON);
        let missing = Status::unresolvable(REASON_MISSING_LABEL);
        let three_nodes = [("a", Some("z1"), json!({})), ("b", Some("z1"), json!({})), ("c", Some("z2"), json!({}))];
        struct Case {
            name: &'static str,
            nodes: Vec<(&'static str, Option<&'static str>, serde_json::Value)>,
            pods: Vec<(&'static str, &'static str, serde_json::Value)>,
            constraints: serde_json::Value,
            spec: serde_json::Value,
            want: Vec<Status>,
        }
        let web = json!({"app": "web"});
        let cases = vec![
            Case {
                name: "maxSkew 1: the emptier zone only",
                nodes: three_nodes.to_vec(),
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({})),
                spec: json!({}),
                want: vec![skew.clone(), skew.clone(), ok.clone()],
            },
            Case {
                name: "balanced zones take the pod anywhere",
                nodes: three_nodes.to_vec(),
                pods: vec![("w1", "a", web.clone()), ("w2", "c", web.clone())],
                constraints: zone_constraint(json!({})),
                spec: json!({}),
                want: vec![ok.clone(), ok.clone(), ok.clone()],
            },
            Case {
                name: "maxSkew 2 tolerates one more",
                nodes: three_nodes.to_vec(),
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({"maxSkew": 2})),
                spec: json!({}),
                want: vec![ok.clone(), ok.clone(), ok.clone()],
            },
            Case {
                name: "other pods do not count",
                nodes: three_nodes.to_vec(),
                pods: vec![("db", "a", json!({"app": "db"}))],
                constraints: zone_constraint(json!({})),
                spec: json!({}),
                want: vec![ok.clone(), ok.clone(), ok.clone()],
            },
            Case {
                name: "a node without the key never fits",
                nodes: vec![("a", Some("z1"), json!({})), ("d", None, json!({}))],
                pods: vec![],
                constraints: zone_constraint(json!({})),
                spec: json!({}),
                want: vec![ok.clone(), missing.clone()],
            },
            Case {
                name: "minDomains above the domains there are: the minimum is 0",
                nodes: three_nodes.to_vec(),
                pods: vec![("w1", "a", web.clone()), ("w2", "c", web.clone())],
                constraints: zone_constraint(json!({"minDomains": 3})),
                spec: json!({}),
                want: vec![skew.clone(), skew.clone(), skew.clone()],
            },
            Case {
                name: "nodeAffinityPolicy Honor: zones the pod cannot use do not count toward the minimum",
                nodes: vec![("a", Some("z1"), json!({})), ("c", Some("z2"), json!({}))],
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({})),
                spec: json!({"nodeSelector": {LABEL_ZONE: "z1"}}),
                want: vec![ok.clone(), ok.clone()],
            },
            Case {
                name: "nodeAffinityPolicy Ignore: every zone counts",
                nodes: vec![("a", Some("z1"), json!({})), ("c", Some("z2"), json!({}))],
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({"nodeAffinityPolicy": "Ignore"})),
                spec: json!({"nodeSelector": {LABEL_ZONE: "z1"}}),
                want: vec![skew.clone(), ok.clone()],
            },
            Case {
                name: "nodeTaintsPolicy Honor: an untolerated tainted zone does not count",
                nodes: vec![("a", Some("z1"), json!({})), ("c", Some("z2"), json!({"taints": [{"key": "dedicated", "effect": "NoSchedule"}]}))],
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({"nodeTaintsPolicy": "Honor"})),
                spec: json!({}),
                want: vec![ok.clone(), ok.clone()],
            },
            Case {
                name: "nodeTaintsPolicy Ignore (default): the tainted zone's 0 is the minimum",
                nodes: vec![("a", Some("z1"), json!({})), ("c", Some("z2"), json!({"taints": [{"key": "dedicated", "effect": "NoSchedule"}]}))],
                pods: vec![("w1", "a", web.clone())],
                constraints: zone_constraint(json!({})),
                spec: json!({}),
                want: vec![skew.clone(), ok.clone()],
            },
            Case {
                name: "matchLabelKeys: only pods of the same version count",
                nodes: three_nodes.to_vec(),
                pods: vec![("old", "a", json!({"app": "web", "version": "v1"}))],
                constraints: zone_constraint(json!({"matchLabelKeys": ["version"]})),
                spec: json!({}),
                want: vec![ok.clone(), ok.clone(), ok.clone()],
            },
        ];
        for case in cases {
            let mut c = world(&case.nodes, &case.pods);
            let p = incoming(case.constraints.clone(), case.spec.clone());
            let got: Vec<Status> = verdicts(&mut c, &p).into_iter().map(|(_, s)| s).collect();
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    #[test]
    fn schedule_anyway_constraints_do_not_filter() {
        let mut c = world(&[("a", Some("z1"), json!({})), ("c", Some("z2"), json!({}))], &[("w1", "a", json!({"app": "web"}))]);
        let p = incoming(zone_constraint(json!({"whenUnsatisfiable": "ScheduleAnyway"})), json!({}));
        let listers = Listers::default();
        assert_eq!(pre_filter(&mut c, &listers, &info(&p)), Ok(None));
    }

    #[test]
    fn scores_prefer_the_emptier_domains() {
        let mut c = world(
            &[("a", Some("z1"), json!({})), ("b", Some("z1"), json!({})), ("c", Some("z2"), json!({}))],
            &[("w1", "a", json!({"app": "web"})), ("w2", "a", json!({"app": "web"})), ("w3", "b", json!({"app": "web"}))],
        );
        let listers = Listers::default();
        let p = incoming(zone_constraint(json!({"whenUnsatisfiable": "ScheduleAnyway"})), json!({}));
        let i = info(&p);
        let state = CycleState { spread_score: Some(Rc::new(constraints(&mut c, &listers, &i, "ScheduleAnyway"))), ..Default::default() };
        let nodes: Vec<&NodeInfo> = c.nodes().collect();
        let ctx = ScoreContext { feasible: &nodes, cache: &c, listers: &listers, state: &state };
        let mut plugin = SpreadScore::default();
        assert!(plugin.pre_score(&i, &ctx));
        let mut raw = Vec::new();
        plugin.score_all(&i, &ctx, &mut raw);
        // Two zones: weight ln(4); z1 holds 3 pods → round(3 * 1.386) = 4, z2 → 0.
        let names: Vec<&str> = nodes.iter().map(|n| &*n.name).collect();
        let by_name: BTreeMap<&str, i64> = names.iter().copied().zip(raw.iter().copied()).collect();
        assert_eq!(by_name, BTreeMap::from([("a", 4), ("b", 4), ("c", 0)]));
        plugin.normalize(&nodes, &mut raw);
        let by_name: BTreeMap<&str, i64> = names.iter().copied().zip(raw.iter().copied()).collect();
        assert_eq!(by_name, BTreeMap::from([("a", 0), ("b", 0), ("c", 100)]));
    }

    #[test]
    fn normalize_table() {
        let mut s = vec![2, 4, 7];
        normalize_spread(&mut s, &[]);
        // 100 * (7 + 2 - s) / 7
        assert_eq!(s, vec![100, 71, 28]);
        let mut zeros = vec![0, 0];
        normalize_spread(&mut zeros, &[]);
        assert_eq!(zeros, vec![100, 100]);
        let mut with_ignored = vec![2, 9, 4];
        normalize_spread(&mut with_ignored, &[false, true, false]);
        assert_eq!(with_ignored, vec![100, 0, 50]);
        let w = topology_normalizing_weight(3);
        assert_eq!((score_for_count(1, 3, w) + 0.5) as i64, 4);
    }

    #[test]
    fn normalizing_narrow_and_wide_spans_divides_alike() {
        let direct = |scores: &[i64]| {
            let (min, max) = (*scores.iter().min().unwrap(), *scores.iter().max().unwrap());
            scores.iter().map(|s| MAX_NODE_SCORE * (max + min - s) / max).collect::<Vec<_>>()
        };
        for scores in [vec![7, 9, 7, 8, 70], vec![3, 3, 3], vec![0, 63, 5], vec![0, 64, 5], vec![1000, 1001, 1063, 1064], vec![1, 1 << 40]] {
            let mut s = scores.clone();
            normalize_spread(&mut s, &[]);
            assert_eq!(s, direct(&scores), "{scores:?}");
        }
    }
}
