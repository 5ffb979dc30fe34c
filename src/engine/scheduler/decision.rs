//! Explanations of scheduling decisions for the UI and `explain`: per pod,
//! the last attempt's verdict for each node evaluated (which filter
//! rejected it and why, what else would have, or its score per plugin),
//! preemption's candidates and victims, and what would let a pending pod
//! schedule, kept for a bounded number of pods.

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use rustc_hash::FxHashMap;
use std::rc::Rc;

use super::framework::Code;
use crate::engine::api::ObjectKey;
use crate::engine::sim::clock::VirtualTime;

/// Most pods whose last decision is remembered.
pub const DECISIONS_KEPT: usize = 10_000;
/// Most node verdicts kept across all remembered decisions (memory bound).
pub const VERDICTS_KEPT: usize = 300_000;
/// Most node verdicts recorded per decision: in large clusters the best
/// scored nodes first (the chosen one leading), then rejected ones.
pub const NODES_PER_DECISION: usize = 100;
/// Scored nodes recorded when more nodes were evaluated than fit in
/// [`NODES_PER_DECISION`].
pub const SCORED_NODES_PER_LARGE_DECISION: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterVerdict {
    Passed,
    /// (Boxed: most verdicts a decision keeps are the scored nodes', and
    /// a large cluster writes 20 of them per attempt into its log.)
    Failed(Box<Rejection>),
    /// PreFilter narrowed the nodes to others (`node(s) didn't satisfy plugin(s) [...]`).
    /// (The reason is the same for every such node of a decision: shared.)
    NotConsidered { reason: Rc<str> },
}

/// The filter that rejected a node, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub plugin: &'static str,
    pub code: Code,
    pub reasons: Vec<String>,
    /// The filters after the rejecting one that would also reject the node
    /// (the scheduler stops at the first; this is for the explanation),
    /// with their reasons.
    pub also_failing: Vec<(&'static str, Vec<String>)>,
}

/// One score plugin's view of a node: its raw score, the score after the
/// plugin's normalisation (0..=100) and after the profile's weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    pub plugin: &'static str,
    pub raw: i64,
    pub normalized: i64,
    pub weighted: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVerdict {
    pub node: Rc<str>,
    pub filter: FilterVerdict,
    /// Sum of the weighted scores, if the node was scored (its plugin
    /// scores are in [`Decision::scores`]).
    pub total: Option<i64>,
}

/// A node preemption could free, and whom it would evict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateNote {
    pub node: Rc<str>,
    /// (pod, priority), most important first.
    pub victims: Vec<(ObjectKey, i32)>,
    pub pdb_violations: usize,
}

/// What DefaultPreemption did in this attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreemptionNote {
    /// Why the pod may not preempt, if it may not.
    pub not_eligible: Option<String>,
    pub candidates: Vec<CandidateNote>,
    /// The node nominated, whose victims were evicted.
    pub nominated: Option<Rc<str>>,
    /// Per node that offered no candidate: why (as the message counts it).
    pub rejected: Vec<(Rc<str>, String)>,
}

/// How the attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Result {
    /// Bound (or binding) to `chosen`.
    Scheduled,
    /// Waiting in PreBind for its volumes to bind before binding to `chosen`.
    WaitingForVolumes,
    Unschedulable,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub pod: ObjectKey,
    pub time: VirtualTime,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub result: Result,
    /// Nodes in the cluster when the pod was tried.
    pub nodes_total: usize,
    /// Nodes filtered before enough feasible ones were found.
    pub evaluated: usize,
    pub feasible: usize,
    /// A PreFilter that rejected the pod outright: (plugin, reason).
    pub pre_filter_rejection: Option<(&'static str, String)>,
    /// Filter plugins whose PreFilter said Skip (they passed every node),
    /// one bit per plugin in filter order.
    pub skipped_filter_mask: u32,
    /// Score plugins that had nothing to say about this pod (PreScore Skip).
    pub skipped_plugins: Vec<&'static str>,
    /// The pod's nominated node was tried first and fit.
    pub nominated_node_first: bool,
    pub nodes: Vec<NodeVerdict>,
    /// The score plugins that scored this pod, with their weights, in
    /// profile order (shared between decisions while it stays the same).
    pub score_plugins: Rc<[(&'static str, i64)]>,
    /// (raw, normalised) score per plugin of `score_plugins` for each of the
    /// first `scores.len() / score_plugins.len()` verdicts of `nodes` (the
    /// scored ones, which lead): one list per decision rather than one per
    /// node.
    pub scores: Vec<(i64, i64)>,
    /// Evaluated nodes left out of `nodes` to bound memory.
    pub omitted: usize,
    pub chosen: Option<Rc<str>>,
    /// How many feasible nodes shared the best total (the choice among
    /// them was random).
    pub tied: usize,
    pub preemption: Option<PreemptionNote>,
    /// The preemption an earlier attempt made for this pod (the attempt
    /// that nominated the node it later went to), kept for the explanation.
    pub earlier_preemption: Option<(u32, PreemptionNote)>,
    /// In plain words, what would let a pod that did not fit schedule.
    pub hints: Vec<String>,
    /// The Scheduled or FailedScheduling event message.
    pub message: String,
}

impl Decision {
    /// The plugin scores of the verdict at `index` in `nodes`, in profile
    /// order: none when the node was filtered out or was the only feasible
    /// node.
    pub fn node_scores(&self, index: usize) -> impl Iterator<Item = PluginScore> + '_ {
        let width = self.score_plugins.len();
        let row = if width == 0 { &[][..] } else { self.scores.get(index * width..(index + 1) * width).unwrap_or(&[]) };
        row.iter().zip(self.score_plugins.iter()).map(|(&(raw, normalized), &(plugin, weight))| PluginScore { plugin, raw, normalized, weighted: normalized * weight })
    }

    /// Filter plugins whose PreFilter said Skip, in filter order.
    pub fn skipped_filters(&self) -> Vec<&'static str> {
        super::plugins::FILTERS.iter().enumerate().filter(|(i, _)| self.skipped_filter_mask & (1 << i) != 0).map(|(_, f)| f.name).collect()
    }
}

/// The most recent decision per pod, oldest forgotten first.
#[derive(Default)]
pub struct DecisionLog {
    /// (Boxed: the map replaces an entry per attempt, and the tombstones
    /// that leaves make it rehash in place every few thousand; moving small
    /// entries then is cheaper than moving whole decisions.)
    by_pod: FxHashMap<ObjectKey, (u64, Box<Decision>)>,
    order: VecDeque<(u64, ObjectKey)>,
    verdicts: usize,
    seq: u64,
    /// The node list of the last decision let go, emptied, for the next
    /// one to fill: each attempt in a large cluster records 20 or more
    /// verdicts, and refilling a list spares the allocator a large request
    /// (and a search of its free lists) per pod.
    spare: Vec<NodeVerdict>,
    /// The score list of the last decision let go, for the same reason.
    spare_scores: Vec<(i64, i64)>,
    /// The score plugins of the last decision, handed out again while the
    /// next decision's are the same.
    score_plugins: Option<Rc<[(&'static str, i64)]>>,
    /// The empty list, for decisions that scored no node.
    no_score_plugins: Option<Rc<[(&'static str, i64)]>>,
}

impl DecisionLog {
    pub fn get(&self, pod: &ObjectKey) -> Option<&Decision> {
        self.by_pod.get(pod).map(|(_, d)| &**d)
    }

    pub fn get_mut(&mut self, pod: &ObjectKey) -> Option<&mut Decision> {
        self.by_pod.get_mut(pod).map(|(_, d)| &mut **d)
    }

    pub fn len(&self) -> usize {
        self.by_pod.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }

    pub fn insert(&mut self, mut decision: Decision) {
        // One lookup per decision kept and one per decision let go: a large
        // cluster's log is a big map, and each lookup a miss in the caches.
        self.seq += 1;
        let seq = self.seq;
        let key = decision.pod.clone();
        self.verdicts += decision.nodes.len();
        let replaced = match self.by_pod.entry(decision.pod.clone()) {
            Entry::Occupied(mut held) => {
                let old = &held.get().1;
                if decision.preemption.as_ref().is_none_or(|p| p.nominated.is_none()) {
                    decision.earlier_preemption = match &old.preemption {
                        Some(p) if p.nominated.is_some() => Some((old.attempt, p.clone())),
                        _ => old.earlier_preemption.clone(),
                    };
                }
                Some(std::mem::replace(held.get_mut(), (seq, Box::new(decision))).1)
            }
            Entry::Vacant(slot) => {
                slot.insert((seq, Box::new(decision)));
                None
            }
        };
        if let Some(old) = replaced {
            self.verdicts -= old.nodes.len();
            self.recycle(old.nodes, old.scores);
        }
        self.order.push_back((seq, key));
        while self.by_pod.len() > DECISIONS_KEPT || self.verdicts > VERDICTS_KEPT || self.order.len() > 2 * DECISIONS_KEPT {
            let Some((seq, key)) = self.order.pop_front() else { break };
            if let Entry::Occupied(held) = self.by_pod.entry(key) {
                if held.get().0 == seq {
                    let (_, d) = held.remove();
                    self.verdicts -= d.nodes.len();
                    self.recycle(d.nodes, d.scores);
                }
            }
        }
    }

    /// An empty node list to fill with exactly `len` verdicts: the last one
    /// let go when it is large enough (cut to size in place), a new one
    /// otherwise. Decisions are kept long, so none keeps spare capacity.
    pub fn verdict_list(&mut self, len: usize) -> Vec<NodeVerdict> {
        if self.spare.capacity() >= len {
            let mut list = std::mem::take(&mut self.spare);
            list.shrink_to(len);
            return list;
        }
        Vec::with_capacity(len)
    }

    /// An empty score list for exactly `len` entries, as [`Self::verdict_list`].
    pub fn score_list(&mut self, len: usize) -> Vec<(i64, i64)> {
        if len == 0 {
            return Vec::new();
        }
        if self.spare_scores.capacity() >= len {
            let mut list = std::mem::take(&mut self.spare_scores);
            list.shrink_to(len);
            return list;
        }
        Vec::with_capacity(len)
    }

    /// The score plugins (name, weight) as a shared list: the last one when
    /// it is the same.
    pub fn score_plugins(&mut self, plugins: impl Iterator<Item = (&'static str, i64)> + Clone) -> Rc<[(&'static str, i64)]> {
        if plugins.clone().next().is_none() {
            return self.no_score_plugins.get_or_insert_with(|| Rc::from(Vec::new())).clone();
        }
        if let Some(last) = &self.score_plugins {
            if last.iter().copied().eq(plugins.clone()) {
                return last.clone();
            }
        }
        let list: Rc<[(&'static str, i64)]> = plugins.collect();
        self.score_plugins = Some(list.clone());
        list
    }

    fn recycle(&mut self, mut nodes: Vec<NodeVerdict>, mut scores: Vec<(i64, i64)>) {
        nodes.clear();
        self.spare = nodes;
        if scores.capacity() > 0 {
            scores.clear();
            self.spare_scores = scores;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(pod: &str, nodes: Vec<NodeVerdict>) -> Decision {
        Decision {
            pod: ObjectKey::new("default", pod),
            time: VirtualTime::from_millis(0),
            attempt: 1,
            result: Result::Scheduled,
            nodes_total: nodes.len(),
            evaluated: nodes.len(),
            feasible: nodes.len(),
            pre_filter_rejection: None,
            skipped_filter_mask: 0,
            skipped_plugins: Vec::new(),
            nominated_node_first: false,
            nodes,
            score_plugins: Rc::from(Vec::new()),
            scores: Vec::new(),
            omitted: 0,
            chosen: None,
            tied: 0,
            preemption: None,
            earlier_preemption: None,
            hints: Vec::new(),
            message: String::new(),
        }
    }

    fn verdicts(mut list: Vec<NodeVerdict>, n: usize) -> Vec<NodeVerdict> {
        for i in 0..n {
            list.push(NodeVerdict { node: Rc::from(format!("n{i}")), filter: FilterVerdict::Passed, total: Some(0) });
        }
        list
    }

    #[test]
    fn scores_are_read_per_scored_verdict() {
        let mut log = DecisionLog::default();
        let plugins = log.score_plugins([("A", 1), ("B", 2)].into_iter());
        let mut scores = log.score_list(4);
        scores.extend([(5, 50), (6, 60), (7, 70), (8, 80)]);
        let mut d = decision("p", verdicts(Vec::new(), 3));
        d.score_plugins = plugins.clone();
        d.scores = scores;
        let row = |i| d.node_scores(i).map(|s| (s.plugin, s.raw, s.normalized, s.weighted)).collect::<Vec<_>>();
        assert_eq!(row(0), [("A", 5, 50, 50), ("B", 6, 60, 120)]);
        assert_eq!(row(1), [("A", 7, 70, 70), ("B", 8, 80, 160)]);
        assert!(row(2).is_empty(), "a verdict past the scored ones has no scores");
        // The same plugins share one list; no plugins, the empty one.
        assert!(Rc::ptr_eq(&plugins, &log.score_plugins([("A", 1), ("B", 2)].into_iter())));
        assert!(!Rc::ptr_eq(&plugins, &log.score_plugins([("A", 1)].into_iter())));
        let none = log.score_plugins(std::iter::empty());
        assert!(none.is_empty());
        assert!(Rc::ptr_eq(&none, &log.score_plugins(std::iter::empty())));
        assert_eq!(decision("q", verdicts(Vec::new(), 1)).node_scores(0).count(), 0);
    }

    #[test]
    fn bounded_and_refilling_the_lists_it_lets_go() {
        let mut log = DecisionLog::default();
        for i in 0..DECISIONS_KEPT + 5 {
            let list = log.verdict_list(3);
            assert_eq!(list.capacity(), 3, "sized exactly");
            log.insert(decision(&format!("p{i}"), verdicts(list, 3)));
        }
        assert_eq!(log.len(), DECISIONS_KEPT);
        assert!(log.get(&ObjectKey::new("default", "p0")).is_none(), "the oldest went first");
        assert_eq!(log.get(&ObjectKey::new("default", format!("p{}", DECISIONS_KEPT + 4))).map(|d| d.nodes.len()), Some(3));
        // The last list let go is handed out again when its size fits, empty.
        let buffer = log.spare.as_ptr() as usize;
        let again = log.verdict_list(3);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr() as usize, buffer);
        // A larger list is cut to size; a smaller one is not used.
        log.recycle(again, Vec::new());
        assert_eq!(log.verdict_list(2).capacity(), 2);
        log.recycle(Vec::with_capacity(2), Vec::new());
        assert_eq!(log.verdict_list(5).capacity(), 5);
        assert_eq!(log.spare.capacity(), 2, "kept for a later decision");
    }
}
