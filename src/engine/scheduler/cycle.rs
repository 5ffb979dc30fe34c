//! The scheduling cycle for one pod: PreFilter, Filter (with nominated
//! pods), PostFilter (preemption), PreScore/Score/Normalize, host
//! selection; then the decision is recorded and the pod goes on to
//! Reserve/PreBind/Bind (`binding.rs`) or back to the queue.

use crate::engine::sort::SortStable;
use std::borrow::Cow;
use std::rc::Rc;

use k8s_openapi::api::core::v1::PodCondition;

use super::cache::Cache;
use super::decision::{self, CandidateNote, Decision, FilterVerdict, NodeVerdict, PreemptionNote, Rejection};
use super::framework::{Code, NodeInfo, PodInfo, Status};
use super::listers::Listers;
use super::plugins::{self, default_preemption as preemption, plugin_bit, CycleState, Handle, PreFilterRejection, ScoreContext, ScorePlugin, FILTERS};
use super::{reason_histogram, set_pod_scheduled_false, truncate_message, Nominator, Scheduler, SCHEDULER_NAME};
use crate::engine::api::{ids, meta, Object, ObjectKey};
use crate::engine::apiserver::events::{object_reference, reference_to, NORMAL, WARNING};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

/// `minFeasibleNodesToFind`.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// How many nodes to evaluate before stopping (adaptive
/// `percentageOfNodesToScore`: 50% minus 1% per 125 nodes, at least 5%, and
/// never fewer than 100 nodes).
pub fn num_feasible_nodes_to_find(all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND {
        return all;
    }
    let percentage = 50usize.saturating_sub(all / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE);
    (all * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// One score plugin's results for the current pod, in `feasible` order.
#[derive(Default)]
pub struct PluginScores {
    pub name: &'static str,
    pub weight: i64,
    /// False when the plugin skipped this pod (PreScore `Skip`).
    pub active: bool,
    pub raw: Vec<i64>,
    pub normalized: Vec<i64>,
}

/// What filtering and scoring concluded for one pod. Kept between pods so
/// its buffers are reused.
#[derive(Default)]
pub struct Evaluation {
    pub nodes_total: usize,
    pub feasible: Vec<usize>,
    /// (node slot, filter index, status) for each node that failed.
    pub failures: Vec<(usize, usize, Status)>,
    /// How many nodes PreFilter ruled out by name (every node it did not
    /// name: those not marked in `named_slots`), and the reason they count
    /// under.
    pub absent: usize,
    pub absent_reason: String,
    pub scores: Vec<PluginScores>,
    /// Whether `scores` and `totals` were computed (two or more feasible nodes).
    pub scored: bool,
    pub totals: Vec<i64>,
    /// Index into `feasible`.
    pub chosen: Option<usize>,
    pub tied: usize,
    pub nominated_first: bool,
    pub pre_filter: Option<PreFilterRejection>,
    /// A filter's error (not a verdict): the attempt fails with it.
    pub error: Option<String>,
    pub state: CycleState,
    /// The feasible nodes' buffer, kept empty between pods so that scoring
    /// allocates nothing per pod.
    feasible_nodes: Vec<&'static NodeInfo>,
    /// Per node slot, whether PreFilter named the node; empty when it named
    /// none (every node is considered). Reused between pods.
    named_slots: Vec<bool>,
}

impl Evaluation {
    /// Whether PreFilter named the node at `slot` (when it named some).
    fn named(&self, slot: usize) -> bool {
        self.named_slots.get(slot).copied().unwrap_or(false)
    }

    /// The nodes PreFilter ruled out by name, in node-tree order.
    fn absent_slots<'a>(&'a self, cache: &'a Cache) -> impl Iterator<Item = usize> + 'a {
        let any = self.absent > 0;
        cache.order().iter().copied().filter(move |&slot| any && !self.named(slot))
    }

    fn reset(&mut self, nodes_total: usize) {
        self.nodes_total = nodes_total;
        self.feasible.clear();
        self.failures.clear();
        self.absent = 0;
        self.absent_reason.clear();
        self.named_slots.clear();
        self.scored = false;
        self.totals.clear();
        self.chosen = None;
        self.tied = 0;
        self.nominated_first = false;
        self.pre_filter = None;
        self.error = None;
        self.state = CycleState::default();
    }

    /// Every node's status code as PostFilter reads it.
    fn status_of(&self, cache: &Cache, node: &str) -> Option<Code> {
        if let Some(r) = &self.pre_filter {
            return Some(r.status.code);
        }
        let slot = cache.node(node)?.slot;
        if self.absent > 0 && !self.named(slot) {
            return Some(Code::UnschedulableAndUnresolvable);
        }
        self.failures.iter().find(|(s, _, _)| *s == slot).map(|(_, _, st)| st.code)
    }
}

/// `RunFilterPluginsWithNominatedPods`: with pods nominated to the node at
/// the pod's priority or higher counted as running there, then (if that
/// passes) without them.
pub fn filter_with_nominated(h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo, nominator: &Nominator) -> Option<(usize, Status)> {
    if !nominator.is_empty() {
        let uid = pod.uid();
        let mut nominated = nominator
            .on_node(&node.name)
            .iter()
            .filter(|n| n.priority >= pod.priority && !matches!(&*n.object, Object::Pod(p) if p.metadata.uid.as_deref() == Some(uid)))
            .peekable();
        if nominated.peek().is_some() {
            let mut copy = node.clone();
            let mut state_copy = state.clone();
            for n in nominated {
                copy.add_pod(&n.key, &n.object);
                state_copy.add_pod(h, pod, &n.object, &copy);
            }
            if let Some(r) = plugins::run_filters(h, &state_copy, pod, &copy) {
                return Some(r);
            }
        }
    }
    plugins::run_filters(h, state, pod, node)
}

/// Filters and scores one pod into `eval`, without touching the API.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    cache: &mut Cache,
    listers: &Listers,
    nominator: &Nominator,
    score_plugins: &mut [Box<dyn ScorePlugin>],
    spread_memo: &mut plugins::pod_topology_spread::DefaultConstraintsMemo,
    next_start_node_index: &mut usize,
    info: &PodInfo,
    rng: &mut fastrand::Rng,
    eval: &mut Evaluation,
) {
    cache.refresh_order();
    let total = cache.node_count();
    eval.reset(total);
    if total == 0 {
        return;
    }
    let state = match plugins::run_pre_filters(cache, listers, info) {
        Ok(s) => s,
        Err(r) => {
            eval.pre_filter = Some(r);
            return;
        }
    };
    let h = Handle { cache, listers };
    // A pod nominated by an earlier preemption tries that node first.
    let nominated = info.pod.status.as_ref().and_then(|s| s.nominated_node_name()).filter(|n| !n.is_empty());
    if let Some(node) = nominated.and_then(|n| cache.node(n)) {
        let allowed = state.node_names.as_ref().is_none_or(|names| names.contains(&*node.name));
        if allowed && filter_with_nominated(&h, &state, info, node, nominator).is_none() {
            eval.feasible.push(node.slot);
            eval.chosen = Some(0);
            eval.nominated_first = true;
            eval.state = state;
            return;
        }
    }
    let order: Cow<[usize]> = match &state.node_names {
        None => Cow::Borrowed(cache.order()),
        Some(names) => {
            // PreFilterResult (a DaemonSet pod's node affinity names its one
            // node): only the named nodes are filtered, in node-tree order;
            // marking their slots by name spares comparing every node's name.
            // The others are absent: counted, and listed only when a decision
            // records them.
            eval.named_slots.resize(cache.slot_count(), false);
            let mut first = None;
            let mut marked = 0;
            for node in names.iter().filter_map(|n| cache.node(n)) {
                if let Some(mark) = eval.named_slots.get_mut(node.slot).filter(|m| !**m) {
                    *mark = true;
                    marked += 1;
                    first = Some(node.slot);
                }
            }
            // One named node (a DaemonSet pod's) is its own order: no walk
            // over every node to find it.
            let kept: Vec<usize> = match (marked, first) {
                (1, Some(slot)) => vec![slot],
                _ => cache.order().iter().copied().filter(|&slot| eval.named(slot)).collect(),
            };
            eval.absent = cache.order().len().saturating_sub(kept.len());
            eval.absent_reason = format!("node(s) didn't satisfy plugin(s) [{}]", {
                let mut by = state.node_names_by.clone();
                by.sort_stable();
                by.dedup();
                by.join(" ")
            });
            Cow::Owned(kept)
        }
    };
    let candidates = order.len();
    if candidates > 0 {
        let wanted = num_feasible_nodes_to_find(candidates);
        let start = *next_start_node_index % candidates;
        // A pod that names no node, selects no labels, binds no host ports
        // and that no stateful plugin concerns passes every filter but
        // NodeResourcesFit on an untainted, schedulable node: check only that there.
        let plain_pod = state.all_skipped()
            && nominator.is_empty()
            && info.node_name.is_none()
            && info.node_selector.is_none()
            && info.required_affinity.is_none()
            && info.host_ports.is_empty();
        let mut processed = 0;
        // From `start` round to just before it (without a division per node).
        for &slot in order[start..].iter().chain(&order[..start]) {
            if eval.feasible.len() >= wanted {
                break;
            }
            let Some(node) = cache.node_at(slot) else { continue };
            processed += 1;
            if plain_pod && !node.unschedulable && node.hard_taints.is_empty() && plugins::node_resources_fit::fits(&info.requests, node) {
                eval.feasible.push(slot);
                continue;
            }
            match filter_with_nominated(&h, &state, info, node, nominator) {
                None => eval.feasible.push(slot),
                Some((index, status)) if status.code == Code::Error => {
                    eval.error = Some(format!("running \"{}\" filter plugin: {}", FILTERS[index].name, status.message()));
                    eval.state = state;
                    return;
                }
                Some((index, status)) => eval.failures.push((slot, index, status)),
            }
        }
        *next_start_node_index = (start + processed) % candidates;
    }
    match eval.feasible.len() {
        0 => {
            eval.state = state;
            return;
        }
        1 => {
            // A single feasible node is taken without scoring, as 1.33 does.
            eval.chosen = Some(0);
            eval.state = state;
            return;
        }
        _ => {}
    }
    let mut state = state;
    // PreScore state that grows the selector index is made now, before the
    // plugins read the cache.
    state.spread_score = Some(spread_memo.score_constraints(cache, listers, info));
    if info.affinity.as_ref().is_some_and(|a| !a.preferred_affinity.is_empty() || !a.preferred_anti_affinity.is_empty()) {
        state.affinity_preferred = Some(Rc::new(plugins::inter_pod_affinity::prepare_preferred(cache, listers, info)));
    }
    let cache: &Cache = cache;
    let mut feasible = relend(std::mem::take(&mut eval.feasible_nodes));
    feasible.extend(eval.feasible.iter().filter_map(|&s| cache.node_at(s)));
    let ctx = ScoreContext { feasible: &feasible, cache, listers, state: &state };
    eval.totals.resize(feasible.len(), 0);
    eval.scores.resize_with(score_plugins.len(), PluginScores::default);
    for (plugin, out) in score_plugins.iter_mut().zip(eval.scores.iter_mut()) {
        out.name = plugin.name();
        out.weight = plugin.weight();
        out.raw.clear();
        out.normalized.clear();
        out.active = plugin.pre_score(info, &ctx);
        if !out.active || plugin.all_zero() {
            // (An all-zero plugin leaves its score lists empty: read as 0.)
            continue;
        }
        plugin.score_all(info, &ctx, &mut out.raw);
        out.normalized.extend_from_slice(&out.raw);
        plugin.normalize(&feasible, &mut out.normalized);
        for (t, s) in eval.totals.iter_mut().zip(&out.normalized) {
            *t += s * out.weight;
        }
    }
    eval.scored = true;
    // selectHost: the highest total, ties broken by reservoir sampling.
    let totals = &eval.totals;
    let mut best = 0;
    let mut ties = 1u64;
    for i in 1..totals.len() {
        if totals[i] > totals[best] {
            best = i;
            ties = 1;
        } else if totals[i] == totals[best] {
            ties += 1;
            if rng.u64(..ties) == 0 {
                best = i;
            }
        }
    }
    eval.chosen = Some(best);
    eval.tied = ties as usize;
    eval.state = state;
    eval.feasible_nodes = relend(feasible);
}

/// Empties a vector of references and hands its allocation on for
/// references of another lifetime (collecting in place keeps the buffer).
fn relend<'a, 'b, T>(mut refs: Vec<&'a T>) -> Vec<&'b T> {
    refs.clear();
    refs.into_iter().filter_map(|_| None).collect()
}

/// How many feasible nodes a decision records: in small clusters every
/// evaluated node is recorded; in large ones the best scored few, then the
/// ones filters rejected.
fn scored_nodes_recorded(eval: &Evaluation) -> usize {
    let evaluated = eval.feasible.len() + eval.failures.len();
    if evaluated + eval.absent <= decision::NODES_PER_DECISION {
        decision::NODES_PER_DECISION
    } else {
        decision::SCORED_NODES_PER_LARGE_DECISION
    }
}

/// How many scored verdicts the attempt's decision holds.
fn scored_verdicts(eval: &Evaluation) -> usize {
    if eval.scored {
        scored_nodes_recorded(eval).min(eval.feasible.len())
    } else {
        0
    }
}

/// The lists a decision is filled into, sized exactly (see
/// [`decision::DecisionLog::verdict_list`]).
struct DecisionLists {
    nodes: Vec<NodeVerdict>,
    score_plugins: Rc<[(&'static str, i64)]>,
    scores: Vec<(i64, i64)>,
}

/// How many verdicts the attempt's decision holds. Decisions are kept long
/// (up to `VERDICTS_KEPT` verdicts), so their lists are sized exactly.
fn decision_size(eval: &Evaluation) -> usize {
    let scored = scored_nodes_recorded(eval).min(eval.feasible.len());
    (scored + eval.failures.len() + eval.absent).min(decision::NODES_PER_DECISION)
}

/// What PostFilter (preemption) concluded.
pub struct PostFilter {
    /// The `preemption: …` part of the FailedScheduling message, if any.
    pub message: Option<String>,
    /// The nominated node to write: `Some("")` clears it, `None` leaves it.
    pub nominate: Option<String>,
    pub note: PreemptionNote,
}

enum Outcome {
    Bind { node: Rc<str>, message: String },
    Fail { message: String, rejectors: u32, error: bool, nominate: Option<String> },
}

impl Scheduler {
    pub(super) fn schedule_one(&mut self, ctx: &mut Ctx, key: ObjectKey) {
        let Some(queued) = self.queue.get(&key) else { return };
        let object = queued.pod.clone();
        let attempt = queued.attempts;
        let Object::Pod(pod) = &*object else {
            self.queue.remove(&key);
            return;
        };
        if Self::assigned(pod).is_some() || pod.metadata.deletion_timestamp.is_some() {
            self.queue.remove(&key);
            return;
        }
        self.stats.attempts += 1;
        self.cache.sweep_selectors();
        let info = PodInfo::new(pod);
        let mut eval = std::mem::take(&mut self.eval);
        evaluate(&mut self.cache, &self.listers, &self.nominator, &mut self.score_plugins, &mut self.spread_memo, &mut self.next_start_node_index, &info, ctx.rng, &mut eval);
        let post = if eval.chosen.is_none() && eval.error.is_none() && eval.nodes_total > 0 { Some(self.post_filter(ctx, &info, &eval)) } else { None };
        let verdicts = self.decisions.verdict_list(decision_size(&eval));
        let score_plugins = self.decisions.score_plugins(eval.scores.iter().filter(|p| eval.scored && p.active).map(|p| (p.name, p.weight)));
        let scores = self.decisions.score_list(scored_verdicts(&eval) * score_plugins.len());
        let lists = DecisionLists { nodes: verdicts, score_plugins, scores };
        let (outcome, decision) = self.conclude(ctx.now, &key, &info, attempt, &eval, post, lists);
        self.decisions.insert(decision);
        let state = std::mem::take(&mut eval.state);
        self.eval = eval;
        match outcome {
            Outcome::Bind { node, message } => self.reserve_and_bind(ctx, key, &object, &info, node, message, &state),
            Outcome::Fail { message, rejectors, error, nominate } => self.fail(ctx, &key, &object, &message, rejectors, error, nominate.as_deref()),
        }
    }

    /// DefaultPreemption's PostFilter, including `prepareCandidate`'s API
    /// work when it nominates a node.
    fn post_filter(&mut self, ctx: &mut Ctx, info: &PodInfo, eval: &Evaluation) -> PostFilter {
        let mut note = PreemptionNote::default();
        let nominated = info.pod.status.as_ref().and_then(|s| s.nominated_node_name()).filter(|n| !n.is_empty());
        let nominated_status = nominated.and_then(|n| eval.status_of(&self.cache, n));
        let h = self.handle();
        if let Err(msg) = preemption::eligible(&h, info, nominated_status) {
            note.not_eligible = Some(msg.to_string());
            return PostFilter { message: Some(msg.to_string()), nominate: None, note };
        }
        let total = eval.nodes_total;
        let potential: Vec<&NodeInfo> = match &eval.pre_filter {
            Some(r) if r.status.code == Code::Unschedulable => self.cache.nodes().collect(),
            Some(_) => Vec::new(),
            None => eval.failures.iter().filter(|(_, _, s)| s.code == Code::Unschedulable).filter_map(|(slot, _, _)| self.cache.node_at(*slot)).collect(),
        };
        let not_helpful = |rejected: &[(Rc<str>, Status)]| {
            let mut reasons: Vec<String> = rejected.iter().flat_map(|(_, s)| s.reasons.iter().map(|r| r.to_string())).collect();
            reasons.extend(std::iter::repeat_n(preemption::NOT_HELPFUL.to_string(), total.saturating_sub(rejected.len())));
            format!("0/{total} nodes are available: {}", reason_histogram(reasons.iter().map(String::as_str)))
        };
        if potential.is_empty() {
            return PostFilter { message: Some(not_helpful(&[])), nominate: Some(String::new()), note };
        }
        let budgets = preemption::budgets(&h);
        let offset = ctx.rng.usize(..potential.len());
        let nominator = &self.nominator;
        let fits = |st: &CycleState, node: &NodeInfo| filter_with_nominated(&h, st, info, node, nominator).map_or(Status::SUCCESS, |(_, s)| s);
        let (candidates, rejected) = preemption::dry_run(&h, &eval.state, info, &potential, offset, &budgets, &fits);
        note.rejected = rejected.iter().map(|(n, s)| (n.clone(), s.message())).collect();
        note.candidates = candidates
            .iter()
            .map(|c| CandidateNote { node: c.node.clone(), victims: c.victims.iter().map(|v| (v.key.clone(), v.priority)).collect(), pdb_violations: c.pdb_violations })
            .collect();
        let Some(best) = preemption::pick_one(&candidates) else {
            return PostFilter { message: Some(not_helpful(&rejected)), nominate: Some(String::new()), note };
        };
        let chosen = candidates[best].clone();
        note.nominated = Some(chosen.node.clone());
        self.prepare_candidate(ctx, info, &chosen);
        PostFilter { message: None, nominate: Some(chosen.node.to_string()), note }
    }

    /// `prepareCandidate`: mark each victim `DisruptionTarget`, delete it
    /// gracefully with a `Preempted` event, and clear the nomination of
    /// lower-priority pods nominated to the same node.
    fn prepare_candidate(&mut self, ctx: &mut Ctx, info: &PodInfo, candidate: &preemption::Candidate) {
        self.stats.preemptions += 1;
        let now = meta::api_time(ctx.now);
        let uid = info.uid().to_string();
        for v in &candidate.victims {
            let condition = PodCondition {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
                reason: Some(preemption::REASON_PREEMPTION_BY_SCHEDULER.into()),
                message: Some(format!("{SCHEDULER_NAME}: preempting to accommodate a higher priority pod")),
                last_transition_time: Some(now.clone()),
                last_probe_time: None,
                observed_generation: None,
            };
            let _ = ctx.api.modify(ids::pods(), &v.key.namespace, &v.key.name, true, |obj| {
                let Object::Pod(p) = obj else { return false };
                let conditions = p.status_mut().conditions.get_or_insert_with(Vec::new);
                match conditions.iter_mut().find(|c| c.type_ == "DisruptionTarget") {
                    Some(c) if c.status == "True" && c.reason == condition.reason => false,
                    Some(c) => {
                        *c = condition.clone();
                        true
                    }
                    None => {
                        conditions.push(condition.clone());
                        true
                    }
                }
            });
            if ctx.api.delete(ids::pods(), &v.key.namespace, &v.key.name, &DeleteOptions::default()).is_ok() {
                let preemptor = reference_to(ids::pods(), &info.pod.metadata);
                self.recorder.event_ref(ctx.api, object_reference(&v.object), Some(preemptor), NORMAL, "Preempted", "Preempting", format!("Preempted by pod {uid} on node {}", candidate.node));
                if ctx.logging() {
                    ctx.log(format!("preempted {} on {} for {}", v.key, candidate.node, info.key()));
                }
            }
        }
        let lower: Vec<ObjectKey> = self.nominator.on_node(&candidate.node).iter().filter(|n| n.priority < info.priority).map(|n| n.key.clone()).collect();
        for key in lower {
            self.nominator.remove(&key);
            let _ = ctx.api.modify(ids::pods(), &key.namespace, &key.name, true, |obj| {
                let Object::Pod(p) = obj else { return false };
                let s = p.status_mut();
                if s.nominated_node_name.is_none() {
                    return false;
                }
                s.nominated_node_name = None;
                true
            });
        }
        self.nominator.set(info.key(), Rc::new(Object::Pod(Box::new(info.pod.clone()))), &candidate.node);
    }

    /// What to do with the pod, and the decision to remember.
    #[allow(clippy::too_many_arguments)]
    fn conclude(&self, now: VirtualTime, key: &ObjectKey, info: &PodInfo, attempt: u32, eval: &Evaluation, post: Option<PostFilter>, verdicts: DecisionLists) -> (Outcome, Decision) {
        let h = self.handle();
        if let Some(error) = &eval.error {
            let mut d = self.build_decision(key, info, now, attempt, eval, None, error.clone(), verdicts);
            d.result = decision::Result::Error;
            return (Outcome::Fail { message: error.clone(), rejectors: 0, error: true, nominate: Some(String::new()) }, d);
        }
        let Some(chosen) = eval.chosen else {
            let (message, rejectors, error) = if eval.nodes_total == 0 {
                ("no nodes available to schedule pods".to_string(), 0, true)
            } else {
                let mut message = self.fit_error_message(eval);
                if let Some(suffix) = post.as_ref().and_then(|p| p.message.as_deref()) {
                    message.push_str(&format!(" preemption: {suffix}."));
                }
                let mut rejectors = eval.failures.iter().fold(0u32, |m, (_, i, _)| m | (1 << i));
                if let Some(r) = &eval.pre_filter {
                    rejectors |= plugin_bit(r.plugin);
                }
                for p in &eval.state.node_names_by {
                    rejectors |= plugin_bit(p);
                }
                (message, rejectors, false)
            };
            let mut d = self.build_decision(key, info, now, attempt, eval, None, message.clone(), verdicts);
            d.result = if error { decision::Result::Error } else { decision::Result::Unschedulable };
            d.hints = super::hints::hints(&h, info, eval, &d, post.as_ref().map(|p| &p.note));
            let nominate = post.as_ref().and_then(|p| p.nominate.clone());
            d.preemption = post.map(|p| p.note);
            return (Outcome::Fail { message, rejectors, error, nominate }, d);
        };
        let chosen = eval.feasible.get(chosen).and_then(|&slot| self.cache.node_at(slot)).map(|n| n.name.clone());
        let message = match &chosen {
            Some(node) => {
                let (ns, slash) = if key.namespace.is_empty() { ("", "") } else { (&key.namespace[..], "/") };
                ["Successfully assigned ", ns, slash, &key.name[..], " to ", &node[..]].concat()
            }
            None => "internal error: the chosen node left the cache".to_string(),
        };
        let d = self.build_decision(key, info, now, attempt, eval, chosen.clone(), message.clone(), verdicts);
        match chosen {
            Some(node) => (Outcome::Bind { node, message }, d),
            None => (Outcome::Fail { message, rejectors: 0, error: true, nominate: None }, d),
        }
    }

    /// After an attempt that found no node: event, condition (and nominated
    /// node), queue.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fail(&mut self, ctx: &mut Ctx, key: &ObjectKey, object: &Object, message: &str, rejectors: u32, error: bool, nominate: Option<&str>) {
        self.recorder.eventf(ctx.api, object, None, WARNING, "FailedScheduling", "Scheduling", truncate_message(message));
        let reason = if error { "SchedulerError" } else { "Unschedulable" };
        set_pod_scheduled_false(ctx, key, reason, message, nominate);
        if nominate == Some("") {
            self.nominator.remove(key);
        }
        if ctx.logging() {
            ctx.log(format!("{key}: {message}"));
        }
        if error {
            self.stats.errors += 1;
            self.queue.errored(key, ctx.now);
        } else {
            self.stats.unschedulable += 1;
            self.queue.unschedulable(key, rejectors, ctx.now);
        }
    }

    /// `FitError.Error()`: `0/N nodes are available: <reasons>.` — the
    /// PreFilter's message when it rejected the pod, else the histogram of
    /// filter reasons (nodes PreFilter ruled out count under their reason).
    pub(super) fn fit_error_message(&self, eval: &Evaluation) -> String {
        let mut message = format!("0/{} nodes are available:", eval.nodes_total);
        if let Some(r) = &eval.pre_filter {
            message.push_str(&format!(" {}.", r.status.message()));
            return message;
        }
        let absent = std::iter::repeat_n(eval.absent_reason.as_str(), eval.absent);
        let histogram = reason_histogram(eval.failures.iter().flat_map(|(_, _, s)| s.reasons.iter().map(|r| r.as_ref())).chain(absent));
        if !histogram.is_empty() {
            message.push_str(&format!(" {histogram}."));
        }
        message
    }

    #[allow(clippy::too_many_arguments)]
    /// The decision to remember; `lists` are empty lists with room for
    /// exactly [`decision_size`] verdicts and their scores.
    fn build_decision(&self, key: &ObjectKey, info: &PodInfo, now: VirtualTime, attempt: u32, eval: &Evaluation, chosen: Option<Rc<str>>, message: String, lists: DecisionLists) -> Decision {
        let DecisionLists { mut nodes, score_plugins, mut scores } = lists;
        let limit = decision::NODES_PER_DECISION;
        let evaluated = eval.feasible.len() + eval.failures.len();
        let feasible_limit = scored_nodes_recorded(eval);
        // The best `feasible_limit` by total (ties by evaluation order),
        // kept sorted without ranking every feasible node.
        let mut ranked: Vec<usize> = Vec::with_capacity(feasible_limit.min(eval.feasible.len()) + 1);
        if eval.scored {
            let totals = &eval.totals[..eval.feasible.len().min(eval.totals.len())];
            // Every node ranked so far comes earlier than the next, so a
            // node enters a full list only with a total above its last's.
            let mut floor = None;
            for (i, &total) in totals.iter().enumerate() {
                if floor.is_some_and(|f| total <= f) {
                    continue;
                }
                let at = ranked.partition_point(|&r| totals[r] >= total);
                ranked.insert(at, i);
                ranked.truncate(feasible_limit);
                if ranked.len() == feasible_limit {
                    floor = ranked.last().map(|&last| totals[last]);
                }
            }
        } else {
            ranked.extend(0..eval.feasible.len().min(feasible_limit));
        }
        // The chosen node is always recorded first.
        if let Some(c) = eval.chosen {
            ranked.retain(|&i| i != c);
            ranked.insert(0, c);
            ranked.truncate(feasible_limit);
        }
        nodes.clear();
        scores.clear();
        for &i in &ranked {
            let Some(node) = eval.feasible.get(i).and_then(|&s| self.cache.node_at(s)) else { continue };
            if eval.scored {
                scores.extend(eval.scores.iter().filter(|p| p.active).map(|p| (p.raw.get(i).copied().unwrap_or(0), p.normalized.get(i).copied().unwrap_or(0))));
            }
            nodes.push(NodeVerdict { node: node.name.clone(), filter: FilterVerdict::Passed, total: if eval.scored { eval.totals.get(i).copied() } else { None } });
        }
        // Rejected nodes: the explanation also names the later filters that
        // would reject them (bounded by the per-decision node limit).
        let h = self.handle();
        for (slot, index, status) in &eval.failures {
            if nodes.len() >= limit {
                break;
            }
            let Some(node) = self.cache.node_at(*slot) else { continue };
            let also_failing = FILTERS
                .iter()
                .skip(index + 1)
                .filter_map(|f| {
                    let s = (f.filter)(&h, &eval.state, info, node);
                    s.is_rejected().then(|| (f.name, s.reasons.iter().map(|r| r.to_string()).collect()))
                })
                .collect();
            nodes.push(NodeVerdict {
                node: node.name.clone(),
                filter: FilterVerdict::Failed(Box::new(Rejection {
                    plugin: FILTERS.get(*index).map(|f| f.name).unwrap_or(""),
                    code: status.code,
                    reasons: status.reasons.iter().map(|r| r.to_string()).collect(),
                    also_failing,
                })),
                total: None,
            });
        }
        if nodes.len() < limit && eval.absent > 0 {
            let reason: Rc<str> = Rc::from(eval.absent_reason.as_str());
            for slot in eval.absent_slots(&self.cache) {
                if nodes.len() >= limit {
                    break;
                }
                let Some(node) = self.cache.node_at(slot) else { continue };
                nodes.push(NodeVerdict { node: node.name.clone(), filter: FilterVerdict::NotConsidered { reason: reason.clone() }, total: None });
            }
        }
        let recorded = nodes.len();
        let s = &eval.state;
        let mut skipped_filter_mask = 0;
        if eval.pre_filter.is_none() {
            for (on, name) in [
                (s.volume_restrictions.is_some(), plugins::volume_restrictions::NAME),
                (s.volume_limits, plugins::node_volume_limits::NAME),
                (s.volume_binding.is_some(), plugins::volume_binding::NAME),
                (s.volume_zone.is_some(), plugins::volume_zone::NAME),
                (s.spread.is_some(), plugins::pod_topology_spread::NAME),
                (s.affinity.is_some(), plugins::inter_pod_affinity::NAME),
            ] {
                if !on {
                    skipped_filter_mask |= plugin_bit(name);
                }
            }
        }
        Decision {
            pod: key.clone(),
            time: now,
            attempt,
            result: decision::Result::Scheduled,
            nodes_total: eval.nodes_total,
            evaluated,
            feasible: eval.feasible.len(),
            pre_filter_rejection: eval.pre_filter.as_ref().map(|r| (r.plugin, r.status.message())),
            skipped_filter_mask,
            skipped_plugins: if eval.scored { eval.scores.iter().filter(|p| !p.active).map(|p| p.name).collect() } else { Vec::new() },
            nominated_node_first: eval.nominated_first,
            nodes,
            score_plugins,
            scores,
            omitted: (evaluated + eval.absent).saturating_sub(recorded),
            chosen,
            tied: eval.tied,
            preemption: None,
            earlier_preemption: None,
            hints: Vec::new(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::relend;

    #[test]
    fn relend_keeps_the_buffer() {
        let one = 1;
        let mut refs = Vec::with_capacity(64);
        refs.push(&one);
        let buffer = refs.as_ptr() as usize;
        let again: Vec<&i32> = relend(refs);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), 64);
        assert_eq!(again.as_ptr() as usize, buffer);
    }
}
