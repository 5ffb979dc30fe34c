//! What the DaemonSet controller keeps of one daemon set between syncs, so
//! a sync revisits only the nodes whose Node or daemon pods changed (and the
//! few with work left), not every node in the cluster: the claimed pods by
//! the node they are for, each node's placement, and each node's share of
//! the status counts and of the rolling update's totals. Upstream's sync
//! reads every node; the outcome here is the same because a node whose
//! inputs did not change contributes the same counts and no actions.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use crate::engine::api::{Object, ObjectKey};
use crate::engine::sim::clock::VirtualTime;

use super::daemon_set::{by_age, is_updated, split_updated};
use super::util;

/// One node's share of a sync's totals, and whether the sync must look at
/// it (it has pods to create, delete or replace).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct NodeSummary {
    pub desired: i32,
    pub current: i32,
    pub misscheduled: i32,
    pub ready: i32,
    pub available: i32,
    pub updated: i32,
    /// Rolling update without surge: the node counts as unavailable.
    pub unavailable: i32,
    /// Rolling update with surge: the node is surging (or has too many pods).
    pub surging: i32,
    /// Rolling update with surge: the node's pod is available.
    pub surge_available: i32,
    /// The sync may act on the node (`manage` or `rollingUpdate`).
    pub actionable: bool,
    /// A ready pod not yet available (minReadySeconds): its counts change with time alone.
    pub volatile: bool,
}

impl NodeSummary {
    fn add(&mut self, other: &NodeSummary, sign: i32) {
        self.desired += sign * other.desired;
        self.current += sign * other.current;
        self.misscheduled += sign * other.misscheduled;
        self.ready += sign * other.ready;
        self.available += sign * other.available;
        self.updated += sign * other.updated;
        self.unavailable += sign * other.unavailable;
        self.surging += sign * other.surging;
        self.surge_available += sign * other.surge_available;
    }

    #[cfg(debug_assertions)]
    fn counts(&self) -> [i32; 9] {
        [self.desired, self.current, self.misscheduled, self.ready, self.available, self.updated, self.unavailable, self.surging, self.surge_available]
    }
}

/// What a node's summary depends on beyond its own placement and pods.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct SummaryInputs {
    pub hash: String,
    pub generation: Option<i64>,
    pub min_ready: i32,
    pub surge: bool,
    pub rolling: bool,
}

/// A node's placement and daemon pods as one sync sees them.
pub struct NodeEntry<'a> {
    pub name: String,
    /// `None` when the node does not exist.
    pub placement: Option<(bool, bool)>,
    /// Claimed pods for the node, leaving out finished pods being deleted (`getNodesToDaemonPods`).
    pub pods: Vec<&'a Pod>,
}

/// Works out one node's summary (the per-node part of `manage`,
/// `rollingUpdate` and `updateDaemonSetStatus`).
pub fn summarise(placement: Option<(bool, bool)>, pods: &[&Pod], inputs: &SummaryInputs, now: VirtualTime) -> NodeSummary {
    let mut s = NodeSummary::default();
    let available = |p: &Pod| util::is_available(p, inputs.min_ready, now);
    if let Some((run, _)) = placement {
        if run {
            s.desired = 1;
            if let Some(&oldest) = pods.iter().min_by(|a, b| by_age(a, b)) {
                s.current = 1;
                if util::is_ready(oldest) {
                    s.ready = 1;
                    s.available = available(oldest) as i32;
                }
                s.updated = is_updated(oldest, &inputs.hash, inputs.generation) as i32;
            }
        } else if !pods.is_empty() {
            s.misscheduled = 1;
        }
    }
    s.actionable = manage_acts(placement, pods, inputs.surge);
    if !pods.is_empty() {
        match split_updated(pods, &inputs.hash, inputs.generation) {
            None => {
                s.unavailable = 1;
                s.surging = 1;
            }
            Some((new, old)) => {
                s.unavailable = match (new, old) {
                    (None, None) | (Some(_), Some(_)) => 1,
                    (Some(p), None) | (None, Some(p)) => !available(p) as i32,
                };
                if let Some(p) = old.or(new) {
                    s.surge_available = available(p) as i32;
                }
                if let (Some(new), Some(_)) = (new, old) {
                    s.surging = !available(new) as i32;
                }
                s.actionable |= inputs.rolling && old.is_some();
            }
        }
    }
    s.volatile = inputs.min_ready > 0 && pods.iter().any(|p| util::is_ready(p) && !available(p));
    s
}

/// Whether `manage` would create or delete anything on the node.
fn manage_acts(placement: Option<(bool, bool)>, pods: &[&Pod], surge: bool) -> bool {
    match placement {
        Some((run, _)) if pods.is_empty() => run,
        Some((run, true)) => {
            let mut running = 0;
            for p in pods.iter().filter(|p| !util::is_terminating(p)) {
                match util::pod_phase(p) {
                    "Failed" | "Succeeded" => return true,
                    _ => running += 1,
                }
            }
            running > 1 || (surge && run && running == 0)
        }
        Some((_, false)) => pods.iter().any(|p| !util::is_terminating(p)),
        // Unscheduled pods for a node that no longer exists are removed.
        None => pods.iter().any(|p| util::node_name(p).is_empty() && !util::is_terminating(p)),
    }
}

/// One daemon set's remembered pods, placements and per-node summaries.
#[derive(Default)]
pub struct SetState {
    /// The set's uid and generation the claim and placements are for.
    pub template: (Option<String>, Option<i64>),
    /// The template's ControllerRevision patch, made once for that uid and
    /// generation (a template changes only with a new generation) instead
    /// of serialising the template on every sync.
    pub template_patch: Option<serde_json::Value>,
    /// What the summaries were worked out for.
    pub inputs: Option<SummaryInputs>,
    /// Claimed pods, with the node each is for.
    pub pod_node: BTreeMap<ObjectKey, Option<String>>,
    /// Node → claimed pods for it.
    pub node_pods: BTreeMap<String, BTreeSet<ObjectKey>>,
    /// Pods to claim again at the next sync: they changed, or they are
    /// orphans that match (adoption may still happen) or pods of ours that
    /// no longer match (their release is not seen yet).
    pub dirty_pods: BTreeSet<ObjectKey>,
    /// Nodes to summarise again at the next sync.
    pub dirty_nodes: BTreeSet<String>,
    /// Existing nodes: the resourceVersion the placement was worked out at, and the placement ([`super::daemon_set::should_run`]).
    pub placement: BTreeMap<String, (String, (bool, bool))>,
    pub summaries: BTreeMap<String, NodeSummary>,
    /// The sum of every node's summary.
    pub totals: NodeSummary,
    /// Nodes whose summary is actionable or volatile: looked at on every sync.
    pub watched: BTreeSet<String>,
}

impl SetState {
    /// Records a claimed pod and the node it is for; both nodes (old and new) are summarised again.
    pub fn claim(&mut self, key: &ObjectKey, node: Option<&str>) {
        let node = node.map(str::to_string);
        if let Some(old) = self.pod_node.insert(key.clone(), node.clone()) {
            if old != node {
                self.unlink(key, old);
            }
        }
        if let Some(n) = node {
            self.dirty_nodes.insert(n.clone());
            self.node_pods.entry(n).or_default().insert(key.clone());
        }
    }

    /// Forgets a pod that is no longer ours; whether it was.
    pub fn unclaim(&mut self, key: &ObjectKey) -> bool {
        match self.pod_node.remove(key) {
            Some(old) => {
                self.unlink(key, old);
                true
            }
            None => false,
        }
    }

    fn unlink(&mut self, key: &ObjectKey, node: Option<String>) {
        let Some(n) = node else { return };
        if let Some(set) = self.node_pods.get_mut(&n) {
            set.remove(key);
            if set.is_empty() {
                self.node_pods.remove(&n);
            }
        }
        self.dirty_nodes.insert(n);
    }

    /// Stores a node's new summary, keeping the totals and the watched set.
    pub fn set_summary(&mut self, name: &str, summary: NodeSummary) {
        if let Some(old) = self.summaries.get(name) {
            let old = *old;
            self.totals.add(&old, -1);
        }
        self.totals.add(&summary, 1);
        if summary.actionable || summary.volatile {
            self.watched.insert(name.to_string());
        } else {
            self.watched.remove(name);
        }
        if summary == NodeSummary::default() && !self.placement.contains_key(name) && !self.node_pods.contains_key(name) {
            self.summaries.remove(name);
        } else {
            self.summaries.insert(name.to_string(), summary);
        }
    }

    /// The node's claimed pods as a sync reads them: the cached pod, or
    /// the one adopted in this sync (those come last, as upstream appends
    /// them), without finished pods already being deleted.
    pub fn pods_on<'a>(&self, node: &str, cached: impl Fn(&ObjectKey) -> Option<&'a Rc<Object>>, adopted: &'a BTreeMap<ObjectKey, Rc<Object>>) -> Vec<&'a Pod> {
        let keys = self.node_pods.get(node).into_iter().flatten();
        let (fresh, held): (Vec<&ObjectKey>, Vec<&ObjectKey>) = keys.partition(|k| adopted.contains_key(*k));
        held.into_iter()
            .filter_map(&cached)
            .chain(fresh.into_iter().filter_map(|k| adopted.get(k)))
            .filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None })
            .filter(|p| !(matches!(util::pod_phase(p), "Succeeded" | "Failed") && util::is_terminating(p)))
            .collect()
    }

    /// Checks the kept totals against a summary of every node worked out
    /// afresh (debug builds), so a change the incremental sync missed
    /// fails loudly in tests instead of drifting.
    #[cfg(debug_assertions)]
    pub fn check_totals(&self, fresh: &BTreeMap<String, NodeSummary>) {
        let mut sum = NodeSummary::default();
        for s in fresh.values() {
            sum.add(s, 1);
        }
        assert_eq!(sum.counts(), self.totals.counts(), "daemon set totals drifted from a fresh count");
        for (name, s) in fresh {
            if s.actionable || s.volatile {
                assert!(self.watched.contains(name), "node {name} needs a look but is not watched");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use crate::engine::api::meta;
    use crate::engine::controllers::daemon_set::HASH_LABEL;

    fn pod(name: &str, hash: &str, ready_since: Option<u64>) -> Pod {
        let conditions = ready_since.map(|s| vec![PodCondition { type_: "Ready".into(), status: "True".into(), last_transition_time: Some(meta::api_time(VirtualTime::from_secs(s))), ..Default::default() }]);
        Pod {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("kube-system".into()), labels: Some(BTreeMap::from([(HASH_LABEL.into(), hash.into())])), ..Default::default() },
            spec: Some(PodSpec::default().into()),
            status: Some(std::rc::Rc::new(PodStatus { phase: Some("Running".into()), conditions, ..Default::default() }.into())),
            node_name: Some("n1".into()),
            token_volume: None,
            affinity_node: None,
        }
    }

    fn inputs(min_ready: i32) -> SummaryInputs {
        SummaryInputs { hash: "new".into(), generation: None, min_ready, surge: false, rolling: true }
    }

    #[test]
    fn a_node_without_its_pod_is_actionable_and_one_with_it_is_not() {
        let now = VirtualTime::from_secs(100);
        let empty = summarise(Some((true, true)), &[], &inputs(0), now);
        assert_eq!((empty.desired, empty.current, empty.actionable), (1, 0, true));
        let p = pod("a", "new", Some(10));
        let settled = summarise(Some((true, true)), &[&p], &inputs(0), now);
        assert_eq!((settled.desired, settled.current, settled.ready, settled.available, settled.updated), (1, 1, 1, 1, 1));
        assert!(!settled.actionable && !settled.volatile);
        // A second pod is one too many; an out-of-date one is for the rolling update.
        let q = pod("b", "new", None);
        assert!(summarise(Some((true, true)), &[&p, &q], &inputs(0), now).actionable);
        let old = pod("c", "old", Some(10));
        let outdated = summarise(Some((true, true)), &[&old], &inputs(0), now);
        assert!(outdated.actionable);
        assert_eq!(outdated.updated, 0);
        // Not wanted there: misscheduled, and its pod goes.
        let unwanted = summarise(Some((false, false)), &[&p], &inputs(0), now);
        assert_eq!((unwanted.desired, unwanted.misscheduled, unwanted.actionable), (0, 1, true));
    }

    #[test]
    fn a_ready_pod_waiting_out_min_ready_seconds_is_volatile() {
        let p = pod("a", "new", Some(95));
        let early = summarise(Some((true, true)), &[&p], &inputs(10), VirtualTime::from_secs(100));
        assert!(early.volatile);
        assert_eq!((early.ready, early.available, early.unavailable), (1, 0, 1));
        let later = summarise(Some((true, true)), &[&p], &inputs(10), VirtualTime::from_secs(105));
        assert!(!later.volatile);
        assert_eq!((later.available, later.unavailable), (1, 0));
    }

    #[test]
    fn totals_follow_each_nodes_latest_summary() {
        let mut state = SetState::default();
        let k = ObjectKey::new("kube-system", "a");
        state.claim(&k, Some("n1"));
        assert!(state.dirty_nodes.contains("n1"));
        state.dirty_nodes.clear();
        // The pod moves to another node: both are looked at again.
        state.claim(&k, Some("n2"));
        assert_eq!(state.dirty_nodes.iter().map(String::as_str).collect::<Vec<_>>(), ["n1", "n2"]);
        assert!(!state.node_pods.contains_key("n1"));
        let want = NodeSummary { desired: 1, actionable: true, ..Default::default() };
        state.set_summary("n1", want);
        state.set_summary("n2", NodeSummary { desired: 1, current: 1, ..Default::default() });
        assert_eq!((state.totals.desired, state.totals.current), (2, 1));
        assert!(state.watched.contains("n1") && !state.watched.contains("n2"));
        state.set_summary("n1", NodeSummary::default());
        assert_eq!((state.totals.desired, state.totals.current), (1, 1));
        assert!(state.watched.is_empty());
        assert!(!state.summaries.contains_key("n1"), "a node with nothing left is forgotten");
        assert!(state.unclaim(&k));
        assert!(!state.unclaim(&k));
    }
}
