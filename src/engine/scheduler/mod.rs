//! kube-scheduler: the `default-scheduler` profile of 1.33.
//!
//! Each run brings the caches up to date from the informers, moves queued
//! pods the changes may help (queueing hints), then schedules pods one at a
//! time (`cycle.rs`): PreFilter, Filter (walking the nodes from a rotating
//! start until enough feasible ones are found), PostFilter (preemption)
//! when none fits, Score, pick the best (ties at random), then Reserve,
//! PreBind (volume binding, which may wait) and Bind (`binding.rs`). A pod
//! no node takes gets a `FailedScheduling` event and a `PodScheduled=False`
//! condition carrying 1.33's aggregated message, and waits in the
//! unschedulable pool.
//!
//! Every attempt leaves a [`Decision`] (per node: each filter's verdict and
//! each score plugin's raw, normalised and weighted score; preemption; what
//! would let the pod schedule) so the UI and `explain` can show it.

pub mod binding;
pub mod cache;
pub mod cycle;
pub mod decision;
pub mod explain;
pub mod framework;
pub mod hints;
pub mod listers;
pub mod plugins;
pub mod queue;
pub mod resources;

#[cfg(test)]
mod tests;

use crate::engine::leader_election::{LeaderElector, Recorder};
use crate::engine::sort::SortStable;
use std::any::Any;
use std::collections::BTreeMap;
use rustc_hash::FxHashMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::PodCondition;
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, KeyRef, Object, ObjectKey};
use crate::engine::apiserver::events_api::EventsApiRecorder;
use crate::engine::apiserver::WatchEventType;
use crate::engine::apiserver::Query;
use crate::engine::informer::Informer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

use cache::{AssignedPod, Cache};
use decision::{Decision, DecisionLog};
use framework::{pod_priority, NodeInfo, PodInfo};
use listers::{Kind, Listers};
use plugins::{plugin_bit, Handle, ScorePlugin, FILTERS};
use queue::{Place, SchedulingQueue};

pub use cycle::num_feasible_nodes_to_find;

pub const SCHEDULER_NAME: &str = "default-scheduler";
/// Pods tried per run before yielding to the rest of the simulation (the
/// run continues at the same instant).
const PODS_PER_RUN: usize = 1_000;
/// Events carry at most this much text (`NoteLengthLimit`).
const EVENT_MESSAGE_LIMIT: usize = 1024;

/// Counters for the UI and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    pub attempts: u64,
    pub bound: u64,
    pub unschedulable: u64,
    pub errors: u64,
    pub preemptions: u64,
}

/// A pod nominated to a node by preemption, waiting for its victims to go.
#[derive(Clone, Debug)]
pub struct NominatedPod {
    pub key: ObjectKey,
    pub priority: i32,
    pub object: Rc<Object>,
}

/// The pods nominated per node (`nominator`), from `status.nominatedNodeName`
/// of unassigned pods and from the scheduler's own preemptions.
#[derive(Default)]
pub struct Nominator {
    by_node: FxHashMap<String, Vec<NominatedPod>>,
    by_pod: FxHashMap<ObjectKey, String>,
}

impl Nominator {
    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }

    pub fn on_node(&self, node: &str) -> &[NominatedPod] {
        self.by_node.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn node_of(&self, key: &ObjectKey) -> Option<&str> {
        self.by_pod.get(key).map(String::as_str)
    }

    /// Whether the pod is nominated, by its borrowed key.
    pub fn contains(&self, key: &dyn KeyRef) -> bool {
        !self.by_pod.is_empty() && self.by_pod.contains_key(key)
    }

    pub fn set(&mut self, key: ObjectKey, object: Rc<Object>, node: &str) {
        self.remove(&key);
        let priority = match &*object {
            Object::Pod(p) => pod_priority(p),
            _ => 0,
        };
        self.by_node.entry(node.to_string()).or_default().push(NominatedPod { key: key.clone(), priority, object });
        self.by_pod.insert(key, node.to_string());
    }

    pub fn remove(&mut self, key: &ObjectKey) {
        let Some(node) = self.by_pod.remove(key) else { return };
        if let Some(list) = self.by_node.get_mut(&node) {
            list.retain(|n| &n.key != key);
            if list.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }
}

pub struct Scheduler {
    nodes: Informer,
    pods: Informer,
    listers: Listers,
    cache: Cache,
    queue: SchedulingQueue,
    /// The node whose hostname the scheduler's process has (its static
    /// pod's, on the host's network), named in its Events' reporting instance.
    host: String,
    recorder: EventsApiRecorder,
    score_plugins: Vec<Box<dyn ScorePlugin>>,
    next_start_node_index: usize,
    started_at: Option<VirtualTime>,
    decisions: DecisionLog,
    stats: SchedulerStats,
    eval: cycle::Evaluation,
    nominator: Nominator,
    /// Pods in PreBind, waiting for their volumes to bind.
    waiting: BTreeMap<ObjectKey, binding::WaitingBind>,
    spread_memo: plugins::pod_topology_spread::DefaultConstraintsMemo,
    /// `--leader-elect=true`: schedules only while it holds the
    /// `kube-system/kube-scheduler` Lease.
    elector: Option<LeaderElector>,
}

impl Scheduler {
    /// The scheduler of a cluster whose control plane runs on `host`.
    pub fn on_host(host: &str) -> Self {
        Scheduler {
            host: host.to_string(),
            nodes: Informer::new(Query::all(ids::nodes())),
            pods: Informer::new(Query::all(ids::pods())),
            listers: Listers::default(),
            cache: Cache::default(),
            queue: SchedulingQueue::default(),
            recorder: EventsApiRecorder::new(SCHEDULER_NAME, host),
            score_plugins: plugins::score_plugins(),
            next_start_node_index: 0,
            started_at: None,
            decisions: DecisionLog::default(),
            stats: SchedulerStats::default(),
            eval: cycle::Evaluation::default(),
            nominator: Nominator::default(),
            waiting: BTreeMap::new(),
            spread_memo: Default::default(),
            elector: None,
        }
    }

    /// Elects a leader through the `kube-system/kube-scheduler` Lease
    /// before scheduling, releasing it when stopped (kube-scheduler's
    /// `ReleaseOnCancel`); its Event comes from the first profile's
    /// scheduler name, through the events.k8s.io API.
    pub fn with_leader_election(mut self) -> Self {
        let recorder = Recorder::EventsApi(EventsApiRecorder::new(SCHEDULER_NAME, &self.host));
        self.elector = Some(LeaderElector::new("kube-scheduler", &self.host, recorder, 0x6c65_6164_6572_0001, true));
        self
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

    /// Where a queued pod waits (`None` when it is not queued).
    pub fn queue_place(&self, pod: &ObjectKey) -> Option<Place> {
        self.queue.get(pod).map(|q| q.place)
    }

    /// Whether the pod is in PreBind, waiting for its volumes.
    pub fn waiting_for_volumes(&self, pod: &ObjectKey) -> Option<&str> {
        self.waiting.get(pod).map(|w| &*w.node)
    }

    fn handle(&self) -> Handle<'_> {
        Handle { cache: &self.cache, listers: &self.listers }
    }

    fn responsible_for(pod: &Pod) -> bool {
        pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).is_none_or(|n| n.is_empty() || n == SCHEDULER_NAME)
    }

    fn assigned(pod: &Pod) -> Option<&str> {
        pod.bound_node()
    }

    fn terminal(pod: &Pod) -> bool {
        matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed"))
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
    /// moves if a stateless filter that rejected it would now pass on this
    /// node where it did not before, or if a plugin that counts across
    /// nodes (pod affinity, spreading, volumes) rejected it.
    fn move_for_node(&mut self, name: &str, old: Option<&NodeInfo>, now: VirtualTime) {
        let Some(node) = self.cache.node(name) else { return };
        let h = Handle { cache: &self.cache, listers: &self.listers };
        let state = plugins::CycleState::default();
        let topology_changed = old.is_none_or(|o| o.labels() != node.labels() || o.hard_taints != node.hard_taints);
        let across = stateful_bits();
        self.queue.move_unschedulable(now, |q| {
            if topology_changed && q.rejectors & across != 0 {
                return true;
            }
            let Object::Pod(pod) = &*q.pod else { return false };
            let info = PodInfo::new(pod);
            FILTERS.iter().enumerate().take(STATELESS_FILTERS).any(|(i, f)| {
                q.rejectors & (1 << i) != 0
                    && (f.filter)(&h, &state, &info, node).is_success()
                    && old.is_none_or(|o| !(f.filter)(&h, &state, &info, o).is_success())
            })
        });
    }

    /// An assigned pod came, went or changed: pods rejected for what it
    /// takes (resources, ports, disks, claims) or for what it counts in
    /// (affinity, spreading) may fit now.
    fn move_for_assigned_pod(&mut self, now: VirtualTime, freed: bool) {
        let mut mask = plugin_bit(plugins::inter_pod_affinity::NAME) | plugin_bit(plugins::pod_topology_spread::NAME);
        if freed {
            mask |= plugin_bit(plugins::node_resources_fit::NAME)
                | plugin_bit(plugins::node_ports::NAME)
                | plugin_bit(plugins::volume_restrictions::NAME)
                | plugin_bit(plugins::node_volume_limits::NAME);
        }
        if self.queue.unschedulable_keys().next().is_some() {
            self.queue.move_unschedulable(now, |q| q.rejectors & mask != 0);
        }
    }

    fn handle_pod_events(&mut self, ctx: &mut Ctx) {
        let events = self.pods.sync(ctx);
        for ev in events {
            let Object::Pod(pod) = &*ev.object else { continue };
            let deleted = ev.kind == WatchEventType::Deleted;
            if let Some(node) = Self::assigned(pod) {
                // Most assigned pods' events confirm what the cache holds
                // (above all, the binding this scheduler just made): with
                // the pod neither queued nor nominated, the path below would
                // only keep the newer version, which this does with one
                // lookup by the borrowed key.
                let parts = ev.object.key_parts();
                let borrowed = &parts as &dyn KeyRef;
                if !deleted
                    && !Self::terminal(pod)
                    && !self.queue.contains(borrowed)
                    && !self.nominator.contains(borrowed)
                    && self.cache.confirm(borrowed, node, pod, &ev.object)
                {
                    continue;
                }
            }
            let key = ObjectKey::of(&ev.object);
            if let Some(node) = Self::assigned(pod) {
                self.queue.remove(&key);
                self.nominator.remove(&key);
                if deleted || Self::terminal(pod) {
                    if self.cache.remove_pod(&key).is_some() {
                        self.move_for_assigned_pod(ctx.now, true);
                    }
                } else if self.cache.has_pod_on(&key, node, pod) {
                    // A confirmation of what was assumed: only the object is
                    // newer. (An in-place resize is not tracked yet.)
                    self.cache.refresh_object(&key, &ev.object);
                } else {
                    // Added, or its labels or terminating state changed: it
                    // still holds its resources (a terminating pod until it
                    // is gone), so only what counts pods may change.
                    self.cache.add_pod(self.pods.share_key(key), AssignedPod::new(ev.object.clone(), Rc::from(node)));
                    self.move_for_assigned_pod(ctx.now, false);
                }
                continue;
            }
            // Unassigned: the binding we assumed may have failed or the pod is new.
            if self.cache.pod(&key).is_some() && self.queue.get(&key).is_none_or(|q| q.place != Place::InFlight) {
                self.cache.remove_pod(&key);
            }
            if deleted || pod.metadata.deletion_timestamp.is_some() || !Self::responsible_for(pod) || Self::terminal(pod) {
                self.queue.remove(&key);
                self.nominator.remove(&key);
                if self.waiting.contains_key(&key) {
                    self.abandon_binding(&key);
                }
                continue;
            }
            match pod.status.as_ref().and_then(|s| s.nominated_node_name()).filter(|n| !n.is_empty()) {
                Some(node) => self.nominator.set(key.clone(), ev.object.clone(), node),
                None => self.nominator.remove(&key),
            }
            if self.queue.add(key.clone(), ev.object.clone(), ctx.now) {
                self.mark_gated(ctx, &key, pod);
            }
        }
    }

    /// Claims, volumes, classes and CSI objects changed: pods the volume
    /// plugins rejected get another try; so do all pods when namespaces or
    /// the objects default spreading reads change.
    fn handle_lister_events(&mut self, ctx: &mut Ctx) {
        let events = self.listers.sync(ctx);
        let volume_mask = plugin_bit(plugins::volume_binding::NAME)
            | plugin_bit(plugins::volume_restrictions::NAME)
            | plugin_bit(plugins::node_volume_limits::NAME)
            | plugin_bit(plugins::volume_zone::NAME);
        let mut mask = 0;
        for (kind, _) in &events {
            mask |= match kind {
                Kind::Claim | Kind::Volume | Kind::StorageClass | Kind::CsiNode | Kind::CsiDriver | Kind::StorageCapacity => volume_mask,
                Kind::Namespace => plugin_bit(plugins::inter_pod_affinity::NAME),
                _ => 0,
            };
        }
        if mask != 0 && self.queue.unschedulable_keys().next().is_some() {
            self.queue.move_unschedulable(ctx.now, |q| q.rejectors & mask != 0);
        }
    }

    /// PreEnqueue (SchedulingGates): a gated pod waits outside the queue with
    /// `PodScheduled=False, reason SchedulingGated`.
    fn mark_gated(&mut self, ctx: &mut Ctx, key: &ObjectKey, pod: &Pod) {
        let reason = plugins::scheduling_gates::REASON;
        let already = pod_scheduled_condition(pod).is_some_and(|c| c.reason.as_deref() == Some(reason));
        if !already {
            set_pod_scheduled_false(ctx, key, reason, plugins::scheduling_gates::MESSAGE, None);
        }
    }

    fn next_wake(&self, ctx: &mut Ctx) {
        if self.queue.has_ready() {
            ctx.wake_at(ctx.now);
        } else if let Some(t) = self.queue.next_timed_move(self.started_at.unwrap_or(ctx.now)) {
            ctx.wake_at(t);
        }
        if let Some(t) = self.next_binding_check(ctx.now) {
            ctx.wake_at(t);
        }
        if let Some(t) = self.recorder.next_write() {
            ctx.wake_at(t);
        }
    }
}

/// Filters that read nothing but the pod and the node (the first six).
const STATELESS_FILTERS: usize = 6;

/// Filter plugins that count across nodes: any node change may help them.
fn stateful_bits() -> u32 {
    FILTERS.iter().enumerate().skip(STATELESS_FILTERS).fold(0, |m, (i, _)| m | (1 << i))
}

/// Node changes that can change a filter's verdict (heartbeats and
/// condition updates cannot).
fn scheduling_relevant_change(old: &NodeInfo, new: &NodeInfo) -> bool {
    old.allocatable != new.allocatable
        || old.unschedulable != new.unschedulable
        || old.labels() != new.labels()
        || old.hard_taints != new.hard_taints
        || old.soft_taints() != new.soft_taints()
}

/// `"<count> <reason>"` per distinct reason, sorted as strings (so "10 …"
/// sorts before "2 …", as Go's `sort.Strings` does), joined by ", ".
pub fn reason_histogram<'a>(reasons: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r).or_insert(0) += 1;
    }
    let mut parts: Vec<String> = counts.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort_stable();
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

/// Writes `PodScheduled=False` with a reason and message, and the nominated
/// node when `nominated` says to (`Some("")` clears it), as the scheduler's
/// `updatePod` does: only when something changed, keeping the transition
/// time while the status stays False.
fn set_pod_scheduled_false(ctx: &mut Ctx, key: &ObjectKey, reason: &str, message: &str, nominated: Option<&str>) {
    let now = meta::api_time(ctx.now);
    let _ = ctx.api.modify(ids::pods(), &key.namespace, &key.name, true, |obj| {
        let Object::Pod(pod) = obj else { return false };
        if Scheduler::assigned(pod).is_some() {
            return false;
        }
        let status = pod.status_mut();
        let mut changed = false;
        if let Some(n) = nominated {
            let current = status.nominated_node_name.as_deref().unwrap_or("");
            if current != n {
                status.nominated_node_name = (!n.is_empty()).then(|| n.to_string());
                changed = true;
            }
        }
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let existing = conditions.iter_mut().find(|c| c.type_ == "PodScheduled");
        match existing {
            Some(c) if c.status == "False" && c.reason.as_deref() == Some(reason) && c.message.as_deref() == Some(message) => changed,
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
        self.recorder.run_due(ctx.api, ctx.now);
        self.handle_node_events(ctx);
        self.handle_lister_events(ctx);
        self.handle_pod_events(ctx);
        if !self.nodes.has_synced() || !self.pods.has_synced() || !self.listers.has_synced() {
            return;
        }
        // Its caches sync first; scheduling waits for the Lease.
        if let Some(elector) = &mut self.elector {
            if !elector.lead(ctx) {
                return;
            }
        }
        self.check_bindings(ctx);
        self.queue.flush(ctx.now);
        let mut budget = PODS_PER_RUN;
        while budget > 0 {
            let Some(key) = self.queue.pop() else { break };
            self.schedule_one(ctx, key);
            budget -= 1;
        }
        self.next_wake(ctx);
    }

    fn leftovers(&mut self) -> Vec<Box<dyn crate::engine::sim::leftovers::Release>> {
        let mut parts = self.cache.take_pods();
        parts.push(Box::new(self.pods.take_items()));
        parts
    }

    fn on_terminate(&mut self, ctx: &mut Ctx) {
        if let Some(elector) = &mut self.elector {
            elector.stopped(ctx.api, ctx.now);
        }
    }

    fn on_stop(&mut self) {
        let elector = self.elector.take();
        *self = Scheduler::on_host(&self.host);
        self.elector = elector;
    }

    fn informers(&self) -> Vec<&Informer> {
        vec![&self.nodes, &self.pods]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
