//! kube-scheduler: the `default-scheduler` profile of 1.33.
//!
//! Each run brings the node and pod caches up to date from the informers,
//! moves queued pods the changes may help, then schedules pods one at a
//! time: filter (walking the nodes from a rotating start until enough
//! feasible ones are found), score, pick the best (ties at random), assume
//! the pod on that node and bind it through the API. A pod no node takes
//! gets a `FailedScheduling` event and a `PodScheduled=False` condition
//! carrying 1.33's aggregated message, and waits in the unschedulable pool.
//!
//! Every attempt leaves a [`Decision`] (per node: the filter verdict and the
//! scores per plugin) so the UI can explain it.

pub mod cache;
pub mod decision;
pub mod framework;
pub mod plugins;
pub mod queue;
pub mod resources;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Pod, PodCondition};

use crate::engine::api::{ids, meta, Object, ObjectKey, Reason as ApiReason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{Query, WatchEventType};
use crate::engine::informer::Informer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

use cache::{AssignedPod, Cache};
use decision::{Decision, DecisionLog, FilterVerdict, NodeVerdict, PluginScore};
use framework::{Code, NodeInfo, PodInfo, Status};
use plugins::{ScoreContext, ScorePlugin, FILTERS};
use queue::{Place, SchedulingQueue};

pub const SCHEDULER_NAME: &str = "default-scheduler";
/// Pods tried per run before yielding to the rest of the simulation (the
/// run continues at the same instant).
const PODS_PER_RUN: usize = 1_000;
/// `minFeasibleNodesToFind`.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;
/// Events carry at most this much text (`NoteLengthLimit`).
const EVENT_MESSAGE_LIMIT: usize = 1024;
const GATED_MESSAGE: &str = "Scheduling is blocked due to non-empty scheduling gates";

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

/// Counters for the UI and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    pub attempts: u64,
    pub bound: u64,
    pub unschedulable: u64,
    pub errors: u64,
}

pub struct Scheduler {
    nodes: Informer,
    pods: Informer,
    cache: Cache,
    queue: SchedulingQueue,
    recorder: EventRecorder,
    score_plugins: Vec<Box<dyn ScorePlugin>>,
    next_start_node_index: usize,
    started_at: Option<VirtualTime>,
    decisions: DecisionLog,
    stats: SchedulerStats,
    eval: Evaluation,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            nodes: Informer::new(Query::all(ids::nodes())),
            pods: Informer::new(Query::all(ids::pods())),
            cache: Cache::default(),
            queue: SchedulingQueue::default(),
            recorder: EventRecorder::new(SCHEDULER_NAME, None),
            score_plugins: plugins::score_plugins(),
            next_start_node_index: 0,
            started_at: None,
            decisions: DecisionLog::default(),
            stats: SchedulerStats::default(),
            eval: Evaluation::default(),
        }
    }
}

/// One score plugin's results for the current pod, in `feasible` order.
#[derive(Default)]
struct PluginScores {
    name: &'static str,
    weight: i64,
    /// False when the plugin skipped this pod (PreScore `Skip`).
    active: bool,
    raw: Vec<i64>,
    normalized: Vec<i64>,
}

/// What filtering and scoring concluded for one pod. Kept between pods so
/// its buffers are reused.
#[derive(Default)]
struct Evaluation {
    nodes_total: usize,
    feasible: Vec<usize>,
    /// (node slot, filter index, status) for each node that failed.
    failures: Vec<(usize, usize, Status)>,
    scores: Vec<PluginScores>,
    /// Whether `scores` and `totals` were computed (two or more feasible nodes).
    scored: bool,
    totals: Vec<i64>,
    /// Index into `feasible`.
    chosen: Option<usize>,
}

impl Evaluation {
    fn reset(&mut self, nodes_total: usize) {
        self.nodes_total = nodes_total;
        self.feasible.clear();
        self.failures.clear();
        self.scored = false;
        self.totals.clear();
        self.chosen = None;
    }
}

enum Outcome {
    Bind { node: Rc<str>, message: String, requests: resources::PodRequests },
    Fail { message: String, rejectors: u32, error: bool },
}

impl Scheduler {
    pub fn new() -> Self {
        Scheduler::default()
    }

    /// The last scheduling attempt's explanation for a pod, if remembered.
    pub fn decision(&self, pod: &ObjectKey) -> Option<&Decision> {
        self.decisions.get(pod)
    }

    pub fn stats(&self) -> SchedulerStats {
        self.stats
    }

    /// Pods waiting in any of the queues.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    fn responsible_for(pod: &Pod) -> bool {
        pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).is_none_or(|n| n.is_empty() || n == SCHEDULER_NAME)
    }

    fn assigned(pod: &Pod) -> Option<&str> {
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
    }

    fn terminal(pod: &Pod) -> bool {
        matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
    }

    fn handle_node_events(&mut self, ctx: &mut Ctx) {
        let events = self.nodes.sync(ctx);
        for ev in events {
            let Object::Node(node) = &*ev.object else { continue };
            let name = node.metadata.name.clone().unwrap_or_default();
            match ev.kind {
                WatchEventType::Deleted => {
                    self.cache.remove_node(&name);
                }
                _ => {
                    let old = self.cache.upsert_node(ev.object.clone());
                    let changed = match &old {
                        None => true,
                        Some(old) => self.cache.node(&name).is_some_and(|new| scheduling_relevant_change(old, new)),
                    };
                    if changed {
                        self.move_for_node(&name, old.as_ref(), ctx.now);
                    }
                }
            }
        }
    }

    /// Queueing hints for a node added or changed: an unschedulable pod
    /// moves if a plugin that rejected it would now pass on this node
    /// where it did not before.
    fn move_for_node(&mut self, name: &str, old: Option<&NodeInfo>, now: VirtualTime) {
        let Some(node) = self.cache.node(name) else { return };
        let cache = &self.cache;
        self.queue.move_unschedulable(now, |q| {
            let Object::Pod(pod) = &*q.pod else { return false };
            let mut info = PodInfo::new(pod);
            info.owner_counts = info.owner_uid.and_then(|u| cache.owner_counts(u));
            FILTERS.iter().enumerate().any(|(i, f)| {
                q.rejectors & (1 << i) != 0
                    && (f.filter)(&info, node).is_success()
                    && old.is_none_or(|o| !(f.filter)(&info, o).is_success())
            })
        });
    }

    /// An assigned pod went away (deleted or finished): pods rejected for
    /// resources or ports may fit now.
    fn move_for_freed_pod(&mut self, now: VirtualTime) {
        let mask = plugin_bit(plugins::node_resources_fit::NAME) | plugin_bit(plugins::node_ports::NAME);
        self.queue.move_unschedulable(now, |q| q.rejectors & mask != 0);
    }

    fn handle_pod_events(&mut self, ctx: &mut Ctx) {
        let events = self.pods.sync(ctx);
        for ev in events {
            let Object::Pod(pod) = &*ev.object else { continue };
            let key = ObjectKey::of(&ev.object);
            let deleted = ev.kind == WatchEventType::Deleted;
            if let Some(node) = Self::assigned(pod) {
                self.queue.remove(&key);
                if deleted || Self::terminal(pod) {
                    if self.cache.remove_pod(&key).is_some() {
                        self.move_for_freed_pod(ctx.now);
                    }
                } else if !self.cache.has_pod_on(&key, node, pod.metadata.deletion_timestamp.is_some()) {
                    // (A confirmation of what was assumed needs no work; an
                    // in-place resize of a running pod is not tracked yet.)
                    self.cache.add_pod(key, AssignedPod::from_pod(pod, node));
                }
                continue;
            }
            // Unassigned: the binding we assumed may have failed or the pod is new.
            if self.cache.pod(&key).is_some() && self.queue.get(&key).is_none_or(|q| q.place != Place::InFlight) {
                self.cache.remove_pod(&key);
            }
            if deleted || pod.metadata.deletion_timestamp.is_some() || !Self::responsible_for(pod) || Self::terminal(pod) {
                self.queue.remove(&key);
                continue;
            }
            if self.queue.add(key.clone(), ev.object.clone(), ctx.now) {
                self.mark_gated(ctx, &key, pod);
            }
        }
    }

    /// PreEnqueue (SchedulingGates): a gated pod waits outside the queue with
    /// `PodScheduled=False, reason SchedulingGated`.
    fn mark_gated(&mut self, ctx: &mut Ctx, key: &ObjectKey, pod: &Pod) {
        let already = pod_scheduled_condition(pod).is_some_and(|c| c.reason.as_deref() == Some("SchedulingGated"));
        if !already {
            set_pod_scheduled_false(ctx, key, "SchedulingGated", GATED_MESSAGE);
        }
    }

    /// Filters and scores for one pod into `eval`, without touching the API
    /// (the cache's node order must be fresh).
    fn evaluate(
        cache: &Cache,
        score_plugins: &mut [Box<dyn ScorePlugin>],
        next_start_node_index: &mut usize,
        info: &PodInfo,
        rng: &mut fastrand::Rng,
        eval: &mut Evaluation,
    ) {
        let order = cache.order();
        let total = order.len();
        eval.reset(total);
        if total == 0 {
            return;
        }
        let wanted = num_feasible_nodes_to_find(total);
        let start = *next_start_node_index % total;
        // A pod that names no node, selects no labels and binds no host
        // ports passes every filter but NodeResourcesFit on an untainted,
        // schedulable node: check only that there.
        let plain_pod = info.node_name.is_none()
            && info.node_selector.is_none()
            && info.required_affinity.is_none()
            && info.host_ports.is_empty();
        let mut processed = 0;
        for i in 0..total {
            if eval.feasible.len() >= wanted {
                break;
            }
            let slot = order[(start + i) % total];
            let Some(node) = cache.node_at(slot) else { continue };
            processed += 1;
            if plain_pod && !node.unschedulable && node.hard_taints.is_empty() && plugins::node_resources_fit::fits(&info.requests, node) {
                eval.feasible.push(slot);
                continue;
            }
            let mut verdict = None;
            for (index, f) in FILTERS.iter().enumerate() {
                let status = (f.filter)(info, node);
                if !status.is_success() {
                    verdict = Some((index, status));
                    break;
                }
            }
            match verdict {
                None => eval.feasible.push(slot),
                Some((index, status)) => eval.failures.push((slot, index, status)),
            }
        }
        *next_start_node_index = (start + processed) % total;
        match eval.feasible.len() {
            0 => return,
            1 => {
                // A single feasible node is taken without scoring, as 1.33 does.
                eval.chosen = Some(0);
                return;
            }
            _ => {}
        }
        let feasible: Vec<&NodeInfo> = eval.feasible.iter().filter_map(|&s| cache.node_at(s)).collect();
        let ctx = ScoreContext { feasible: &feasible, cache };
        eval.totals.resize(feasible.len(), 0);
        eval.scores.resize_with(score_plugins.len(), PluginScores::default);
        for (plugin, out) in score_plugins.iter_mut().zip(eval.scores.iter_mut()) {
            out.name = plugin.name();
            out.weight = plugin.weight();
            out.raw.clear();
            out.normalized.clear();
            out.active = plugin.pre_score(info, &ctx);
            if !out.active {
                continue;
            }
            plugin.score_all(info, &feasible, &mut out.raw);
            out.normalized.extend_from_slice(&out.raw);
            plugin.normalize(&mut out.normalized);
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
    }

    fn schedule_one(&mut self, ctx: &mut Ctx, key: ObjectKey) {
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
        self.cache.refresh_order();
        let mut info = PodInfo::new(pod);
        info.owner_counts = info.owner_uid.and_then(|u| self.cache.owner_counts(u));
        let mut eval = std::mem::take(&mut self.eval);
        Self::evaluate(&self.cache, &mut self.score_plugins, &mut self.next_start_node_index, &info, ctx.rng, &mut eval);
        let (outcome, decision) = self.conclude(ctx.now, &key, &info, attempt, &eval);
        self.decisions.insert(decision);
        self.eval = eval;
        drop(info);
        match outcome {
            Outcome::Bind { node, message, requests } => self.bind(ctx, key, &object, pod, node, message, requests),
            Outcome::Fail { message, rejectors, error } => self.fail(ctx, &key, &object, &message, rejectors, error),
        }
    }

    /// What to do with the pod, and the decision to remember.
    fn conclude(&self, now: VirtualTime, key: &ObjectKey, info: &PodInfo, attempt: u32, eval: &Evaluation) -> (Outcome, Decision) {
        let Some(chosen) = eval.chosen else {
            let (message, rejectors) = if eval.nodes_total == 0 {
                ("no nodes available to schedule pods".to_string(), 0)
            } else {
                (self.fit_error_message(info, eval), eval.failures.iter().fold(0u32, |m, (_, i, _)| m | (1 << i)))
            };
            let decision = self.build_decision(key, now, attempt, eval, None, message.clone());
            return (Outcome::Fail { message, rejectors, error: eval.nodes_total == 0 }, decision);
        };
        let chosen = eval.feasible.get(chosen).and_then(|&slot| self.cache.node_at(slot)).map(|n| n.name.clone());
        let message = match &chosen {
            Some(node) => format!("Successfully assigned {key} to {node}"),
            None => "internal error: the chosen node left the cache".to_string(),
        };
        let decision = self.build_decision(key, now, attempt, eval, chosen.clone(), message.clone());
        match chosen {
            Some(node) => (Outcome::Bind { node, message, requests: info.requests.clone() }, decision),
            None => (Outcome::Fail { message, rejectors: 0, error: true }, decision),
        }
    }

    /// Assumes the pod on the node, then binds it through the API.
    #[allow(clippy::too_many_arguments)]
    fn bind(
        &mut self,
        ctx: &mut Ctx,
        key: ObjectKey,
        object: &Object,
        pod: &Pod,
        node_name: Rc<str>,
        message: String,
        requests: resources::PodRequests,
    ) {
        // Assume: the pod counts on the node before the API confirms it.
        self.cache.add_pod(key.clone(), AssignedPod::with_requests(pod, node_name.clone(), requests));
        match ctx.api.bind(&key.namespace, &key.name, &node_name) {
            Ok(_) => {
                self.queue.done(&key);
                self.stats.bound += 1;
                if ctx.logging() {
                    ctx.log(message.clone());
                }
                self.recorder.record(ctx.api, object, NORMAL, "Scheduled", message);
            }
            Err(err) => {
                self.cache.remove_pod(&key);
                if err.reason == ApiReason::NotFound {
                    self.queue.remove(&key);
                    return;
                }
                self.stats.errors += 1;
                let message = format!("binding rejected: running Bind plugin \"DefaultBinder\": {}", err.message);
                self.recorder.record(ctx.api, object, WARNING, "FailedScheduling", truncate_message(&message));
                if ctx.logging() {
                    ctx.log(format!("{key}: {message}"));
                }
                self.queue.errored(&key, ctx.now);
            }
        }
    }

    /// After an attempt that found no node: event, condition, queue.
    fn fail(&mut self, ctx: &mut Ctx, key: &ObjectKey, object: &Object, message: &str, rejectors: u32, error: bool) {
        self.recorder.record(ctx.api, object, WARNING, "FailedScheduling", truncate_message(message));
        let reason = if error { "SchedulerError" } else { "Unschedulable" };
        set_pod_scheduled_false(ctx, key, reason, message);
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

    /// `FitError.Error()`: `0/N nodes are available: <histogram>.` plus the
    /// preemption plugin's verdict.
    fn fit_error_message(&self, pod: &PodInfo, eval: &Evaluation) -> String {
        let mut message = format!("0/{} nodes are available:", eval.nodes_total);
        let histogram = reason_histogram(eval.failures.iter().flat_map(|(_, _, s)| s.reasons.iter().map(|r| r.as_ref())));
        if !histogram.is_empty() {
            message.push_str(&format!(" {histogram}."));
        }
        if let Some(preemption) = self.preemption_message(pod, eval) {
            message.push_str(&format!(" preemption: {preemption}."));
        }
        message
    }

    /// What DefaultPreemption's PostFilter reports when it finds no victims.
    /// `None` when evicting lower-priority pods would make room (1.33 then
    /// preempts and adds nothing to the message; eviction itself is not
    /// simulated yet).
    fn preemption_message(&self, pod: &PodInfo, eval: &Evaluation) -> Option<String> {
        let never = pod.pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never");
        if never {
            return Some("not eligible due to preemptionPolicy=Never.".to_string());
        }
        let mut reasons: Vec<String> = Vec::new();
        for (slot, _, status) in &eval.failures {
            if status.code == Code::UnschedulableAndUnresolvable {
                reasons.push("Preemption is not helpful for scheduling".to_string());
                continue;
            }
            let Some(node) = self.cache.node_at(*slot) else { continue };
            let victims: Vec<&AssignedPod> = self.cache.pods_on(&node.name).map(|(_, p)| p).filter(|p| p.priority < pod.priority).collect();
            if victims.is_empty() {
                reasons.push("No preemption victims found for incoming pod".to_string());
                continue;
            }
            // Dry run: the node without every lower-priority pod.
            let mut trial = node.clone();
            for v in &victims {
                trial.requested.subtract(&v.requests.requests);
                trial.pod_count -= 1;
                for port in &v.ports {
                    if let Some(i) = trial.used_ports.iter().position(|p| p == port) {
                        trial.used_ports.swap_remove(i);
                    }
                }
            }
            match FILTERS.iter().map(|f| (f.filter)(pod, &trial)).find(|s| !s.is_success()) {
                Some(s) => reasons.extend(s.reasons.iter().map(|r| r.to_string())),
                None => return None,
            }
        }
        let histogram = reason_histogram(reasons.iter().map(String::as_str));
        Some(format!("0/{} nodes are available: {}", eval.nodes_total, histogram))
    }

    fn build_decision(
        &self,
        key: &ObjectKey,
        now: VirtualTime,
        attempt: u32,
        eval: &Evaluation,
        chosen: Option<Rc<str>>,
        message: String,
    ) -> Decision {
        let limit = decision::NODES_PER_DECISION;
        // In small clusters every evaluated node is recorded; in large ones
        // the best scored few, then the ones filters rejected.
        let feasible_limit = if eval.feasible.len() + eval.failures.len() <= limit { limit } else { decision::SCORED_NODES_PER_LARGE_DECISION };
        // The best `feasible_limit` by total (ties by evaluation order),
        // kept sorted without ranking every feasible node.
        let mut ranked: Vec<usize> = Vec::with_capacity(feasible_limit.min(eval.feasible.len()) + 1);
        if eval.scored {
            let better = |a: usize, b: usize| (std::cmp::Reverse(eval.totals[a]), a) < (std::cmp::Reverse(eval.totals[b]), b);
            for i in 0..eval.feasible.len().min(eval.totals.len()) {
                if ranked.len() == feasible_limit && ranked.last().is_some_and(|&last| !better(i, last)) {
                    continue;
                }
                let at = ranked.partition_point(|&r| better(r, i));
                ranked.insert(at, i);
                ranked.truncate(feasible_limit);
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
        let mut nodes = Vec::with_capacity(ranked.len().min(limit));
        for &i in &ranked {
            let Some(node) = eval.feasible.get(i).and_then(|&s| self.cache.node_at(s)) else { continue };
            let scores = if eval.scored {
                eval.scores
                    .iter()
                    .filter(|p| p.active)
                    .map(|p| {
                        let normalized = p.normalized.get(i).copied().unwrap_or(0);
                        PluginScore { plugin: p.name, raw: p.raw.get(i).copied().unwrap_or(0), normalized, weighted: normalized * p.weight }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            nodes.push(NodeVerdict {
                node: node.name.clone(),
                filter: FilterVerdict::Passed,
                scores,
                total: if eval.scored { eval.totals.get(i).copied() } else { None },
            });
        }
        for (slot, index, status) in &eval.failures {
            if nodes.len() >= limit {
                break;
            }
            let Some(node) = self.cache.node_at(*slot) else { continue };
            nodes.push(NodeVerdict {
                node: node.name.clone(),
                filter: FilterVerdict::Failed {
                    plugin: FILTERS.get(*index).map(|f| f.name).unwrap_or(""),
                    code: status.code,
                    reasons: status.reasons.iter().map(|r| r.to_string()).collect(),
                },
                scores: Vec::new(),
                total: None,
            });
        }
        let recorded = nodes.len();
        Decision {
            pod: key.clone(),
            time: now,
            attempt,
            nodes_total: eval.nodes_total,
            evaluated: eval.feasible.len() + eval.failures.len(),
            feasible: eval.feasible.len(),
            skipped_plugins: if eval.scored { eval.scores.iter().filter(|p| !p.active).map(|p| p.name).collect() } else { Vec::new() },
            nodes,
            omitted: (eval.feasible.len() + eval.failures.len()).saturating_sub(recorded),
            chosen,
            message,
        }
    }

    fn next_wake(&self, ctx: &mut Ctx) {
        if self.queue.has_ready() {
            ctx.wake_at(ctx.now);
        } else if let Some(t) = self.queue.next_timed_move(self.started_at.unwrap_or(ctx.now)) {
            ctx.wake_at(t);
        }
    }
}

/// Node changes that can change a filter's verdict (heartbeats and
/// condition updates cannot).
fn scheduling_relevant_change(old: &NodeInfo, new: &NodeInfo) -> bool {
    old.allocatable != new.allocatable
        || old.unschedulable != new.unschedulable
        || old.labels() != new.labels()
        || old.hard_taints != new.hard_taints
        || old.soft_taints != new.soft_taints
}

fn plugin_bit(name: &str) -> u32 {
    plugins::filter_index(name).map_or(0, |i| 1 << i)
}

/// `"<count> <reason>"` per distinct reason, sorted as strings (so "10 …"
/// sorts before "2 …", as Go's `sort.Strings` does), joined by ", ".
pub fn reason_histogram<'a>(reasons: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r).or_insert(0) += 1;
    }
    let mut parts: Vec<String> = counts.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    parts.join(", ")
}

fn truncate_message(message: &str) -> String {
    if message.len() <= EVENT_MESSAGE_LIMIT {
        return message.to_string();
    }
    let mut cut = EVENT_MESSAGE_LIMIT - 4;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} ...", &message[..cut])
}

fn pod_scheduled_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "PodScheduled")
}

/// Writes `PodScheduled=False` with a reason and message, as the scheduler's
/// `updatePod` does: only when something changed, keeping the transition
/// time while the status stays False.
fn set_pod_scheduled_false(ctx: &mut Ctx, key: &ObjectKey, reason: &str, message: &str) {
    let now = meta::api_time(ctx.now);
    let _ = ctx.api.modify(ids::pods(), &key.namespace, &key.name, true, |obj| {
        let Object::Pod(pod) = obj else { return false };
        if Scheduler::assigned(pod).is_some() {
            return false;
        }
        let status = pod.status.get_or_insert_with(Default::default);
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let existing = conditions.iter_mut().find(|c| c.type_ == "PodScheduled");
        match existing {
            Some(c) if c.status == "False" && c.reason.as_deref() == Some(reason) && c.message.as_deref() == Some(message) => false,
            Some(c) => {
                if c.status != "False" {
                    c.last_transition_time = Some(now.clone());
                }
                c.status = "False".to_string();
                c.reason = Some(reason.to_string());
                c.message = Some(message.to_string());
                true
            }
            None => {
                conditions.push(PodCondition {
                    type_: "PodScheduled".to_string(),
                    status: "False".to_string(),
                    reason: Some(reason.to_string()),
                    message: Some(message.to_string()),
                    last_transition_time: Some(now.clone()),
                    last_probe_time: None,
                    observed_generation: None,
                });
                true
            }
        }
    });
}

impl Component for Scheduler {
    fn name(&self) -> &str {
        "scheduler"
    }

    fn run(&mut self, ctx: &mut Ctx) {
        if self.started_at.is_none() {
            self.started_at = Some(ctx.now);
        }
        self.handle_node_events(ctx);
        self.handle_pod_events(ctx);
        if !self.nodes.has_synced() || !self.pods.has_synced() {
            return;
        }
        self.queue.flush(ctx.now);
        let mut budget = PODS_PER_RUN;
        while budget > 0 {
            let Some(key) = self.queue.pop() else { break };
            self.schedule_one(ctx, key);
            budget -= 1;
        }
        self.next_wake(ctx);
    }

    fn on_stop(&mut self) {
        *self = Scheduler::default();
    }

    fn informers(&self) -> Vec<&Informer> {
        vec![&self.nodes, &self.pods]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
