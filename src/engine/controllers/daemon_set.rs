//! The DaemonSet controller (`pkg/controller/daemon`): one pod on every node
//! its nodeSelector, node affinity and taints allow, with the tolerations
//! the controller adds itself. Pods are placed by the default scheduler
//! through a required node affinity on `metadata.name`, as 1.33 does. A
//! node that becomes eligible gets its pod; a node that stops being
//! eligible loses it. Template changes roll out with RollingUpdate
//! (maxUnavailable or maxSurge) or wait for deletions (OnDelete); every
//! template is kept as a ControllerRevision.

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, BTreeSet};
use rustc_hash::FxHashMap;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSetSpec, DaemonSetStatus};
use crate::engine::api::shared_spec::DaemonSet;
use k8s_openapi::api::core::v1::{Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodTemplateSpec, Toleration};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::{ids, meta, ApiError, KeyRef, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::admission::TEMPLATE_GENERATION;
use crate::engine::apiserver::events::{NORMAL, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::scheduler::plugins::{node_affinity, taint_toleration};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::deployment::template_hash;
use super::pod_control::{can_adopt, Expectations, PodControl};
use super::daemon_set_state::{summarise, NodeEntry, NodeSummary, SetState, SummaryInputs};
use super::{history, util};
use super::{Cache, Changes, Reconciler, WorkLoop};

/// The pod label holding the revision hash (`DefaultDaemonSetUniqueLabelKey`).
pub const HASH_LABEL: &str = "controller-revision-hash";
/// The pod label holding the template generation (`DaemonSetTemplateGenerationKey`).
pub const GENERATION_LABEL: &str = "pod-template-generation";
/// Most pods created or deleted in one sync (`BurstReplicas`).
const BURST_REPLICAS: usize = 250;
/// Back-off before deleting a failed daemon pod again: 1 s doubling to 15 min.
const FAILED_POD_BACKOFF_MS: u64 = 1_000;
const MAX_FAILED_POD_BACKOFF_MS: u64 = 900_000;

/// The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`).
pub fn add_daemon_tolerations(spec: &mut k8s_openapi::api::core::v1::PodSpec) {
    let mut wanted: Vec<(&str, &str)> = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let toleration = Toleration { key: Some(key.into()), operator: Some("Exists".into()), effect: Some(effect.into()), value: None, toleration_seconds: None };
        // `AddOrUpdateTolerationInPodSpec`: an equal one stays, one for the same key and effect is replaced.
        match tolerations.iter_mut().find(|t| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect)) {
            Some(existing) => *existing = toleration,
            None => tolerations.push(toleration),
        }
    }
}

/// A required node affinity for exactly this node (`ReplaceDaemonSetPodNodeNameNodeAffinity`).
pub fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement { key: "metadata.name".into(), operator: "In".into(), values: Some(vec![node.into()]) }]),
    };
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    match node_affinity.required_during_scheduling_ignored_during_execution.as_mut() {
        Some(required) => required.node_selector_terms = vec![term],
        None => node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector { node_selector_terms: vec![term] }),
    }
    affinity
}

/// The node a daemon pod is for: its `nodeName`, else its node affinity (`GetTargetNodeName`).
pub fn target_node(pod: &Pod) -> Option<String> {
    target_node_of(pod).map(str::to_string)
}

/// [`target_node`], borrowed from the pod.
fn target_node_of(pod: &Pod) -> Option<&str> {
    if let Some(n) = pod.bound_node() {
        return Some(n);
    }
    if let Some(n) = pod.affinity_node() {
        return Some(n);
    }
    let spec = pod.spec.as_ref()?;
    let terms = &spec.affinity.as_ref()?.node_affinity.as_ref()?.required_during_scheduling_ignored_during_execution.as_ref()?.node_selector_terms;
    terms.iter().flat_map(|t| t.match_fields.iter().flatten()).find(|r| r.key == "metadata.name" && r.operator == "In").and_then(|r| r.values.as_ref()?.first().map(String::as_str))
}

/// Whether a daemon pod should run on the node, and whether one already
/// there may keep running (`NodeShouldRunDaemonPod`).
pub fn should_run(node: &Node, template: &PodTemplateSpec) -> (bool, bool) {
    // Borrowed, not cloned: this runs for every node on every sync.
    let spec = crate::engine::api::pod_spec_or_empty(template.spec.as_ref());
    let name = node.metadata.name.as_deref().unwrap_or("");
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty() && n != name) {
        return (false, false);
    }
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let required = spec.affinity.as_ref().and_then(|a| a.node_affinity.as_ref()).and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    if !node_affinity::fits(spec.node_selector.as_ref(), required, labels, name) {
        return (false, false);
    }
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[]);
    if taints.is_empty() {
        return (true, true);
    }
    // Only the tolerations matter here, with the daemon ones added.
    let mut tolerating = k8s_openapi::api::core::v1::PodSpec { host_network: spec.host_network, tolerations: spec.tolerations.clone(), ..Default::default() };
    add_daemon_tolerations(&mut tolerating);
    let tolerations = tolerating.tolerations.unwrap_or_default();
    if taint_toleration::first_untolerated(taints, &tolerations).is_some() {
        // A pod already there may stay unless a NoExecute taint says otherwise.
        let evicting = taints.iter().filter(|t| t.effect == "NoExecute").any(|t| !crate::engine::scheduler::plugins::tolerated_by_any(&tolerations, t));
        return (false, !evicting);
    }
    (true, true)
}

fn generation_of(ds: &DaemonSet) -> Option<i64> {
    ds.metadata.annotations.as_ref().and_then(|a| a.get(TEMPLATE_GENERATION)).and_then(|v| v.parse().ok())
}

/// At the current template: the hash label matches, or the generation does (`IsPodUpdated`).
pub(super) fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    (!hash.is_empty() && label(HASH_LABEL) == Some(hash)) || generation.is_some_and(|g| label(GENERATION_LABEL) == Some(g.to_string().as_str()))
}

/// An int-or-percent of `total`, percentages rounded up (`GetScaledValueFromIntOrPercent`).
fn scaled_up(value: Option<&IntOrString>, total: i32) -> i32 {
    match value {
        None => 0,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => ((p * total as i64 + 99).div_euclid(100)) as i32,
            None => 0,
        },
    }
}

/// Oldest first, running before pending among equals (`podByCreationTimestampAndPhase`).
pub(super) fn by_age(a: &&Pod, b: &&Pod) -> std::cmp::Ordering {
    let created = |p: &Pod| util::time_of(p.metadata.creation_timestamp.as_ref());
    let pending = |p: &Pod| util::pod_phase(p) != "Running";
    created(a).cmp(&created(b)).then_with(|| pending(a).cmp(&pending(b))).then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// What a sync reads of a daemon pod: identity, labels, owners, deletion,
/// phase, the node it is for, creation and readiness (with its transition
/// time, for availability).
fn pod_fingerprint(pod: &Pod) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pod.metadata.name.hash(&mut h);
    pod.metadata.labels.hash(&mut h);
    for o in pod.metadata.owner_references.iter().flatten() {
        (&o.uid, &o.kind, &o.name, o.controller).hash(&mut h);
    }
    pod.metadata.deletion_timestamp.as_ref().map(|t| meta::virtual_of(t).as_millis()).hash(&mut h);
    pod.metadata.creation_timestamp.as_ref().map(|t| meta::virtual_of(t).as_millis()).hash(&mut h);
    util::pod_phase(pod).hash(&mut h);
    util::node_name(pod).hash(&mut h);
    target_node_of(pod).hash(&mut h);
    let ready = pod.status.as_ref().and_then(|s| s.condition("Ready"));
    ready.map(|c| (c.status, c.last_transition_time.as_ref().map(|t| meta::virtual_of(t).as_millis()))).hash(&mut h);
    h.finish()
}

/// Whether a node update leaves what the controller reads of a node as it
/// was (`shouldIgnoreNodeUpdate`): labels, spec (taints), and its
/// conditions' statuses. Compared in place, as each heartbeat passes here.
fn same_for_daemons(seen: &Object, node: &Node) -> bool {
    let Object::Node(seen) = seen else { return false };
    seen.metadata.labels == node.metadata.labels && seen.spec == node.spec && condition_statuses(seen).eq(condition_statuses(node))
}

fn condition_statuses(node: &Node) -> impl Iterator<Item = (&str, &str)> {
    node.status.iter().flat_map(|s| s.conditions.iter().flatten()).map(|c| (c.type_.as_str(), c.status.as_str()))
}

#[derive(Clone, Copy)]
struct Backoff {
    until: VirtualTime,
    delay_ms: u64,
}

pub struct DaemonSetController {
    work: WorkLoop,
    pods: PodControl,
    expectations: Expectations,
    /// The last version of each node seen (shared with the watch, not copied).
    nodes_seen: FxHashMap<String, Rc<Object>>,
    failed_backoff: FxHashMap<(ObjectKey, String), Backoff>,
    /// Per daemon set: its claimed pods by node and each node's summary ([`SetState`]).
    states: FxHashMap<ObjectKey, SetState>,
    /// Which set holds each claimed pod, so a pod that leaves it is looked at again.
    held_by: FxHashMap<ObjectKey, ObjectKey>,
    /// What a sync read of each daemon pod when last seen ([`pod_fingerprint`]), by pod uid.
    pods_seen: FxHashMap<String, u64>,
}

impl Default for DaemonSetController {
    fn default() -> Self {
        Self::new()
    }
}

impl DaemonSetController {
    pub fn new() -> Self {
        DaemonSetController {
            work: WorkLoop::default(),
            pods: PodControl::new("daemonset-controller"),
            expectations: Expectations::default(),
            nodes_seen: FxHashMap::default(),
            failed_backoff: FxHashMap::default(),
            states: FxHashMap::default(),
            held_by: FxHashMap::default(),
            pods_seen: FxHashMap::default(),
        }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::daemon_sets()) {
            let key = ObjectKey::of(&ev.object);
            if ev.kind == WatchEventType::Deleted {
                self.expectations.forget(&key);
                self.failed_backoff.retain(|(k, _), _| *k != key);
                self.states.remove(&key);
                self.held_by.retain(|_, set| *set != key);
            } else {
                self.work.queue.add(key);
            }
        }
        let sets = cache.of(ids::daemon_sets());
        for ev in changes.of(ids::pods()) {
            let Object::Pod(pod) = &*ev.object else { continue };
            // Borrowed: every pod event of the cluster comes here, nearly all of other owners.
            let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
            let pod_parts = (ns, pod.metadata.name.as_deref().unwrap_or_default());
            let mut dirty_for: Vec<ObjectKey> = Vec::new();
            match meta::controller_of(pod.metadata.owner_references.as_ref()) {
                Some(owner) if owner.kind == "DaemonSet" => {
                    let key = ObjectKey::new(ns, owner.name.clone());
                    if sets.get(&key).is_some_and(|s| s.meta().uid.as_deref() == Some(owner.uid.as_str())) {
                        match ev.kind {
                            WatchEventType::Added if pod.metadata.deletion_timestamp.is_none() => self.expectations.creation_observed(&key),
                            _ if ev.kind == WatchEventType::Deleted || util::is_terminating(pod) => {
                                self.expectations.deletion_observed(&key, pod.metadata.uid.as_deref().unwrap_or(""))
                            }
                            _ => {}
                        }
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        let mut unchanged = false;
                        if ev.kind == WatchEventType::Deleted {
                            self.pods_seen.remove(&uid);
                        } else {
                            // An update that changes nothing a sync reads (most
                            // of a pod's status) leaves the set's outcome as it
                            // was: no sync.
                            let print = pod_fingerprint(pod);
                            unchanged = ev.kind == WatchEventType::Modified && self.pods_seen.get(&uid) == Some(&print);
                            if !unchanged {
                                self.pods_seen.insert(uid, print);
                            }
                        }
                        if !unchanged {
                            self.work.queue.add(key.clone());
                            dirty_for.push(key);
                        }
                    }
                }
                Some(_) => {}
                None if ev.kind != WatchEventType::Deleted => {
                    for o in sets.in_namespace(ns) {
                        if let Object::DaemonSet(ds) = &**o {
                            if Selector::from_optional_api(ds.spec.as_ref().map(|s| &s.selector)).matches(pod.metadata.labels.as_ref()) {
                                self.work.queue.add(ObjectKey::of(o));
                                dirty_for.push(ObjectKey::of(o));
                            }
                        }
                    }
                }
                None => {}
            }
            // A pod that left the set that held it is looked at there too.
            if let Some(holder) = self.held_by.get(&pod_parts as &dyn KeyRef) {
                dirty_for.push(holder.clone());
            }
            if dirty_for.is_empty() {
                continue;
            }
            let pod_key = ObjectKey::of(&ev.object);
            for set in dirty_for {
                if let Some(state) = self.states.get_mut(&set) {
                    state.dirty_pods.insert(pod_key.clone());
                }
            }
        }
        // A node that joins, leaves, or changes what may run on it: every daemon set looks again, at that node.
        let mut changed_nodes: Vec<String> = Vec::new();
        for ev in changes.of(ids::nodes()) {
            let Object::Node(node) = &*ev.object else { continue };
            let name = node.metadata.name.as_deref().unwrap_or_default();
            if ev.kind == WatchEventType::Deleted {
                if self.nodes_seen.remove(name).is_some() {
                    changed_nodes.push(name.to_string());
                }
                continue;
            }
            let changed = match self.nodes_seen.get_mut(name) {
                // The newest version is kept even when nothing changed, so
                // no older one stays alive for this map alone.
                Some(seen) => {
                    let changed = !same_for_daemons(seen, node);
                    *seen = ev.object.clone();
                    changed
                }
                None => {
                    self.nodes_seen.insert(name.to_string(), ev.object.clone());
                    true
                }
            };
            if changed {
                changed_nodes.push(name.to_string());
            }
        }
        if !changed_nodes.is_empty() {
            for o in sets.items() {
                self.work.queue.add(ObjectKey::of(o));
            }
            for state in self.states.values_mut() {
                state.dirty_nodes.extend(changed_nodes.iter().cloned());
            }
        }
    }

    /// Claims the pods that changed since the last sync, adopting matching
    /// orphans and releasing pods that no longer match (`getDaemonPods`,
    /// for the pods whose answer may have changed: the others' stands);
    /// returns the pods adopted now.
    fn claim_pods(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, ds: &DaemonSet, obj: &Object, state: &mut SetState) -> BTreeMap<ObjectKey, Rc<Object>> {
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let selector = Selector::from_optional_api(ds.spec.as_ref().map(|s| &s.selector));
        let pods = cache.of(ids::pods());
        let mut controlled: Vec<&Pod> = Vec::new();
        let mut orphans: Vec<&Pod> = Vec::new();
        for k in std::mem::take(&mut state.dirty_pods) {
            let pod = match pods.get(&k).map(|o| &**o) {
                Some(Object::Pod(p)) => p,
                _ => {
                    self.unclaim(state, &k);
                    continue;
                }
            };
            match meta::controller_of(pod.metadata.owner_references.as_ref()) {
                Some(c) if c.uid == uid => controlled.push(pod),
                Some(_) => {
                    self.unclaim(state, &k);
                }
                None => orphans.push(pod),
            }
        }
        // Upstream's order: the set's own pods, then the orphans, each in key order.
        let mut adoptable = Vec::new();
        for p in controlled.into_iter().chain(orphans) {
            let k = ObjectKey::new(p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default());
            let matches = selector.matches(p.metadata.labels.as_ref());
            let ours = meta::controller_of(p.metadata.owner_references.as_ref()).is_some();
            match (ours, matches) {
                (true, true) => {
                    state.claim(&k, target_node_of(p));
                    self.held_by.insert(k, key.clone());
                }
                (true, false) => {
                    self.pods.release(ctx, p, &uid);
                    self.unclaim(state, &k);
                    state.dirty_pods.insert(k);
                }
                (false, true) => {
                    self.unclaim(state, &k);
                    if ds.metadata.deletion_timestamp.is_none() && p.metadata.deletion_timestamp.is_none() {
                        adoptable.push(p);
                    }
                    state.dirty_pods.insert(k);
                }
                (false, false) => {
                    self.unclaim(state, &k);
                }
            }
        }
        let mut adopted = BTreeMap::new();
        if !adoptable.is_empty() && can_adopt(ctx, ids::daemon_sets(), key, &uid) {
            for p in adoptable {
                if let Some(pod) = self.pods.adopt(ctx, obj, p) {
                    let k = ObjectKey::new(pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
                    state.claim(&k, target_node_of(&pod));
                    state.dirty_pods.remove(&k);
                    self.held_by.insert(k.clone(), key.clone());
                    adopted.insert(k, Rc::new(Object::Pod(Box::new(pod))));
                }
            }
        }
        adopted
    }

    fn unclaim(&mut self, state: &mut SetState, pod: &ObjectKey) {
        if state.unclaim(pod) {
            self.held_by.remove(pod);
        }
    }

    /// The current revision (created or renumbered as needed) and the old ones (`constructHistory`).
    fn construct_history(&mut self, ctx: &mut Ctx, cache: &Cache, ds: &DaemonSet, obj: &Object, template: &PodTemplateSpec, patch: &serde_json::Value) -> Result<(ControllerRevision, Vec<ControllerRevision>), ApiError> {
        let revisions = history::owned_revisions(cache, ds.metadata.uid.as_deref().unwrap_or(""));
        let (current, old): (Vec<ControllerRevision>, Vec<ControllerRevision>) =
            revisions.into_iter().partition(|r| r.data.as_ref().map(|d| &d.0) == Some(patch));
        let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
        let current = match current.into_iter().max_by_key(|r| r.revision) {
            Some(cur) if cur.revision < next => history::renumber(ctx, &cur, next)?,
            Some(cur) => cur,
            None => self.snapshot(ctx, ds, obj, template, patch.clone(), next)?,
        };
        Ok((current, old))
    }

    /// A new revision of the template, named `<ds>-<hash>` (`snapshot`).
    fn snapshot(&mut self, ctx: &mut Ctx, ds: &DaemonSet, obj: &Object, template: &PodTemplateSpec, patch: serde_json::Value, number: i64) -> Result<ControllerRevision, ApiError> {
        let mut collision = ds.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        for _ in 0..100 {
            let hash = template_hash(template, (collision > 0).then_some(collision));
            let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
            labels.insert(HASH_LABEL.into(), hash.clone());
            let revision = ControllerRevision {
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    name: Some(format!("{}-{hash}", ds.metadata.name.as_deref().unwrap_or(""))),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    annotations: ds.metadata.annotations.clone(),
                    owner_references: Some(vec![util::controller_ref(obj)]),
                    ..Default::default()
                },
                data: Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(patch.clone())),
                revision: number,
            };
            match ctx.api.create(Object::ControllerRevision(Box::new(revision.clone()))) {
                Ok(stored) => {
                    if let Object::ControllerRevision(r) = &*stored {
                        return Ok(*r.clone());
                    }
                }
                Err(e) if e.reason == Reason::AlreadyExists => {
                    let existing = ctx.api.get(ids::controller_revisions(), &ns, revision.metadata.name.as_deref().unwrap_or(""))?;
                    if let Object::ControllerRevision(r) = &*existing {
                        if r.data == revision.data {
                            return Ok(*r.clone());
                        }
                    }
                    // A hash collision: count it so the next name differs.
                    collision += 1;
                    let name = ds.metadata.name.clone().unwrap_or_default();
                    let _ = ctx.api.modify(ids::daemon_sets(), &ns, &name, true, |o| {
                        if let Object::DaemonSet(d) = o {
                            d.status.get_or_insert_with(Default::default).collision_count = Some(collision);
                        }
                        true
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::new(Reason::InternalError, "too many ControllerRevision hash collisions"))
    }

    fn sync_set(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(obj) = cache.of(ids::daemon_sets()).get(key).cloned() else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Object::DaemonSet(ds) = &*obj else { return Ok(None) };
        let mut state = self.states.remove(key).unwrap_or_default();
        let result = self.sync_with(ctx, cache, key, ds, &obj, &mut state);
        self.states.insert(key.clone(), state);
        result
    }

    fn sync_with(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, ds: &DaemonSet, obj: &Rc<Object>, state: &mut SetState) -> Result<Option<VirtualTime>, ApiError> {
        let no_spec = DaemonSetSpec::default();
        let spec = ds.spec.as_deref().unwrap_or(&no_spec);
        if Selector::from_api(&spec.selector).is_empty() {
            self.pods.recorder.record(ctx.api, obj, WARNING, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.");
            return Ok(None);
        }
        let identity = (ds.metadata.uid.clone(), ds.metadata.generation);
        if state.template != identity {
            // A new set or template: claim every pod and place on every node afresh.
            for k in state.pod_node.keys() {
                if self.held_by.get(k) == Some(key) {
                    self.held_by.remove(k);
                }
            }
            *state = SetState { template: identity, ..Default::default() };
            let pods = cache.of(ids::pods());
            let uid = ds.metadata.uid.as_deref().unwrap_or("");
            state.dirty_pods.extend(pods.controlled_by(uid).iter().chain(pods.orphans_in(&key.namespace).iter()).map(|o| ObjectKey::of(o)));
            state.dirty_nodes.extend(cache.of(ids::nodes()).items().map(|o| o.meta().name.clone().unwrap_or_default()));
        }
        let adopted = self.claim_pods(ctx, cache, key, ds, obj, state);
        #[cfg(debug_assertions)]
        {
            // The kept claim is what claiming every pod afresh would give.
            let selector = Selector::from_api(&spec.selector);
            let mut fresh: BTreeMap<ObjectKey, Option<String>> = BTreeMap::new();
            for o in cache.of(ids::pods()).controlled_by(ds.metadata.uid.as_deref().unwrap_or("")) {
                if let Object::Pod(p) = &*o {
                    if selector.matches(p.metadata.labels.as_ref()) {
                        fresh.insert(ObjectKey::of(&o), target_node(p));
                    }
                }
            }
            for (k, o) in &adopted {
                if let Object::Pod(p) = &**o {
                    fresh.insert(k.clone(), target_node(p));
                }
            }
            assert_eq!(fresh, state.pod_node, "daemon set {key}: kept claim differs from a fresh one");
        }
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let patch = state.template_patch.get_or_insert_with(|| history::template_patch(&spec.template));
        debug_assert_eq!(*patch, history::template_patch(&spec.template), "daemon set {key}: the kept template patch is not the template's");
        let (current, old) = self.construct_history(ctx, cache, ds, obj, &spec.template, patch)?;
        let hash = current.metadata.labels.as_ref().and_then(|l| l.get(HASH_LABEL)).cloned().unwrap_or_default();
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let inputs = SummaryInputs {
            hash: hash.clone(),
            generation: generation_of(ds),
            min_ready: spec.min_ready_seconds.unwrap_or(0),
            surge: allows_surge(ds),
            rolling: strategy.type_.as_deref() == Some("RollingUpdate"),
        };
        let view = Self::summarise_nodes(ctx.now, cache, &spec.template, &inputs, state, &adopted);
        let mut requeue: Option<VirtualTime> = None;
        if !self.expectations.satisfied(key, ctx.now) {
            self.write_status(ctx, ds, &state.totals, false)?;
            return Ok(None);
        }
        let result = self.manage(ctx, key, ds, obj, &view, &hash, &mut requeue);
        if result.is_ok() && self.expectations.satisfied(key, ctx.now) {
            if inputs.rolling {
                self.rolling_update(ctx, key, ds, obj, &view, &state.totals, &hash)?;
            }
            let keep = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
            if old.len() > keep {
                let pods = cache.of(ids::pods());
                let all: Vec<&Pod> = state
                    .pod_node
                    .keys()
                    .filter_map(|k| adopted.get(k).or_else(|| pods.get(k)))
                    .filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None })
                    .collect();
                self.cleanup_history(ctx, ds, &old, &all)?;
            }
        }
        result?;
        let ready_not_available = self.write_status(ctx, ds, &state.totals, true)?;
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        if min_ready > 0 && ready_not_available {
            let at = ctx.now.plus_secs(min_ready as u64);
            requeue = Some(requeue.map_or(at, |r| r.min(at)));
        }
        if min_ready > 0 {
            // A pod that turns ready wakes its set minReadySeconds and a
            // second later (`updatePod`), whichever pod on its node it is:
            // a surge's new pod must be seen available for the old one to go.
            let pods = cache.of(ids::pods());
            for name in state.watched.iter().filter(|n| state.summaries.get(*n).is_some_and(|s| s.volatile)) {
                for p in state.pods_on(name, |k| pods.get(k), &adopted) {
                    if let Some(at) = util::available_at(p, min_ready).filter(|at| util::is_ready(p) && *at > ctx.now) {
                        let at = at.plus_secs(1);
                        requeue = Some(requeue.map_or(at, |r| r.min(at)));
                    }
                }
            }
        }
        Ok(requeue)
    }

    /// Summarises again the nodes that changed (and those watched: with
    /// work left, or whose availability changes with time); returns the
    /// nodes the sync acts on, in name order.
    fn summarise_nodes<'a>(now: VirtualTime, cache: &'a Cache, template: &PodTemplateSpec, inputs: &SummaryInputs, state: &mut SetState, adopted: &'a BTreeMap<ObjectKey, Rc<Object>>) -> Vec<NodeEntry<'a>> {
        if state.inputs.as_ref() != Some(inputs) {
            let all: Vec<String> = state.placement.keys().chain(state.node_pods.keys()).cloned().collect();
            state.dirty_nodes.extend(all);
            state.inputs = Some(inputs.clone());
        }
        let nodes = cache.of(ids::nodes());
        let pods = cache.of(ids::pods());
        let mut visit = std::mem::take(&mut state.dirty_nodes);
        visit.extend(state.watched.iter().cloned());
        for name in &visit {
            let node = match nodes.get(&ObjectKey::new("", name.as_str())).map(|o| &**o) {
                Some(Object::Node(n)) => Some(&**n),
                _ => None,
            };
            let placement = match node {
                Some(node) => {
                    let version = node.metadata.resource_version.as_deref().unwrap_or("");
                    match state.placement.get_mut(name) {
                        Some((seen, answer)) if seen == version => Some(*answer),
                        Some((seen, answer)) => {
                            *answer = should_run(node, template);
                            version.clone_into(seen);
                            Some(*answer)
                        }
                        None => {
                            let answer = should_run(node, template);
                            state.placement.insert(name.clone(), (version.to_string(), answer));
                            Some(answer)
                        }
                    }
                }
                None => {
                    state.placement.remove(name);
                    None
                }
            };
            let on_node = state.pods_on(name, |k| pods.get(k), adopted);
            let summary = summarise(placement, &on_node, inputs, now);
            state.set_summary(name, summary);
        }
        #[cfg(debug_assertions)]
        {
            let mut fresh = BTreeMap::new();
            let names: BTreeSet<String> = crate::engine::sort::insert_all(nodes.items().map(|o| o.meta().name.clone().unwrap_or_default()).chain(state.node_pods.keys().cloned()));
            for name in names {
                let placement = match nodes.get(&ObjectKey::new("", name.as_str())).map(|o| &**o) {
                    Some(Object::Node(n)) => Some(should_run(n, template)),
                    _ => None,
                };
                let on_node = state.pods_on(&name, |k| pods.get(k), adopted);
                fresh.insert(name, summarise(placement, &on_node, inputs, now));
            }
            state.check_totals(&fresh);
        }
        state
            .watched
            .iter()
            .filter(|name| state.summaries.get(*name).is_some_and(|s| s.actionable))
            .map(|name| NodeEntry {
                name: name.clone(),
                placement: state.placement.get(name).map(|(_, p)| *p),
                pods: state.pods_on(name, |k| pods.get(k), adopted),
            })
            .collect()
    }

    /// Creates the missing daemon pods and deletes the ones that must go (`manage` + `podsShouldBeOnNode`).
    #[allow(clippy::too_many_arguments)]
    /// `view` holds the nodes whose summary is actionable, in name order;
    /// on every other node this would do nothing.
    fn manage(&mut self, ctx: &mut Ctx, key: &ObjectKey, ds: &DaemonSet, obj: &Object, view: &[NodeEntry], hash: &str, requeue: &mut Option<VirtualTime>) -> Result<(), ApiError> {
        let min_ready_seconds = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let surge = allows_surge(ds);
        let mut to_create: Vec<String> = Vec::new();
        let mut to_delete: Vec<&Pod> = Vec::new();
        for entry in view {
            let Some((run, keep)) = entry.placement else { continue };
            let name = entry.name.as_str();
            let on_node = Some(&entry.pods).filter(|p| !p.is_empty());
            match (run, keep, on_node) {
                (true, _, None) => to_create.push(name.to_string()),
                (_, true, Some(daemon_pods)) => {
                    let mut running: Vec<&Pod> = Vec::new();
                    for p in daemon_pods.iter().copied().filter(|p| !util::is_terminating(p)) {
                        match util::pod_phase(p) {
                            "Failed" => {
                                let bkey = (key.clone(), name.to_string());
                                let now = ctx.now;
                                if let Some(b) = self.failed_backoff.get(&bkey).filter(|b| b.until > now) {
                                    *requeue = Some(requeue.map_or(b.until, |r| r.min(b.until)));
                                    continue;
                                }
                                let delay = self.failed_backoff.get(&bkey).map_or(FAILED_POD_BACKOFF_MS, |b| (b.delay_ms * 2).min(MAX_FAILED_POD_BACKOFF_MS));
                                self.failed_backoff.insert(bkey, Backoff { until: now.plus_millis(delay), delay_ms: delay });
                                let msg = format!("Found failed daemon pod {}/{} on node {name}, will try to kill it", key.namespace, p.metadata.name.as_deref().unwrap_or(""));
                                self.pods.recorder.record(ctx.api, obj, WARNING, "FailedDaemonPod", msg);
                                to_delete.push(p);
                            }
                            "Succeeded" => {
                                let msg = format!("Found succeeded daemon pod {}/{} on node {name}, will try to delete it", key.namespace, p.metadata.name.as_deref().unwrap_or(""));
                                self.pods.recorder.record(ctx.api, obj, NORMAL, "SucceededDaemonPod", msg);
                                to_delete.push(p);
                            }
                            _ => running.push(p),
                        }
                    }
                    running.sort_stable_by(by_age);
                    if !surge {
                        to_delete.extend(running.iter().skip(1).copied());
                    } else if running.is_empty() {
                        if run {
                            to_create.push(name.to_string());
                        }
                    } else if running.len() > 1 {
                        // Surging allows one old and one new pod while the new one is not yet available.
                        let generation = generation_of(ds);
                        let mut newest: Option<&Pod> = None;
                        let mut oldest_old: Option<&Pod> = None;
                        for p in running {
                            if is_updated(p, hash, generation) {
                                if newest.is_none() {
                                    newest = Some(p);
                                    continue;
                                }
                            } else if oldest_old.is_none() {
                                oldest_old = Some(p);
                                continue;
                            }
                            to_delete.push(p);
                        }
                        if let (Some(new), Some(old)) = (newest, oldest_old) {
                            if !util::is_ready(old) || util::is_available(new, min_ready_seconds, ctx.now) {
                                to_delete.push(old);
                            }
                        }
                    }
                }
                (_, false, Some(daemon_pods)) => to_delete.extend(daemon_pods.iter().copied().filter(|p| !util::is_terminating(p))),
                _ => {}
            }
        }
        // Unscheduled pods meant for a node that no longer exists are never scheduled; remove them.
        for entry in view.iter().filter(|e| e.placement.is_none()) {
            to_delete.extend(entry.pods.iter().copied().filter(|p| util::node_name(p).is_empty() && !util::is_terminating(p)));
        }
        self.sync_nodes(ctx, key, ds, obj, &to_delete, &to_create, hash)
    }

    /// Creates pods for `nodes` and deletes `victims`, within the burst (`syncNodes`).
    #[allow(clippy::too_many_arguments)]
    fn sync_nodes(&mut self, ctx: &mut Ctx, key: &ObjectKey, ds: &DaemonSet, obj: &Object, victims: &[&Pod], nodes: &[String], hash: &str) -> Result<(), ApiError> {
        let create = &nodes[..nodes.len().min(BURST_REPLICAS)];
        let delete = &victims[..victims.len().min(BURST_REPLICAS)];
        if create.is_empty() && delete.is_empty() {
            return Ok(());
        }
        self.expectations.expect_creations(key, create.len(), ctx.now);
        let mut template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let labels = template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new);
        if let Some(g) = generation_of(ds) {
            labels.insert(GENERATION_LABEL.into(), g.to_string());
        }
        if !hash.is_empty() {
            labels.insert(HASH_LABEL.into(), hash.to_string());
        }
        add_daemon_tolerations(template.spec.get_or_insert_with(Default::default));
        let ns = key.namespace.clone();
        let prefix = format!("{}-", key.name);
        let owner = util::controller_ref(obj);
        let (created, error) = self.pods.create_batch(ctx, obj, create.len(), |i| {
            let mut pod = util::pod_from_template(&template, &ns, &prefix, owner.clone());
            let spec = pod.spec_mut();
            spec.affinity = Some(pin_to_node(spec.affinity.take(), &create[i]));
            pod
        });
        self.expectations.creation_failed(key, create.len() - created);
        let uids = delete.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        if !delete.is_empty() {
            self.expectations.expect_deletions(key, uids, ctx.now);
        }
        let mut first_error = error.filter(|e| e.reason != Reason::Forbidden);
        for p in delete {
            if let Err(e) = self.pods.delete(ctx, obj, p) {
                self.expectations.deletion_observed(key, p.metadata.uid.as_deref().unwrap_or(""));
                if e.reason != Reason::NotFound {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Replaces out-of-date pods within maxUnavailable, or surges new ones
    /// within maxSurge (`rollingUpdate`). `view` holds every node with an
    /// out-of-date pod; the counts over all nodes come from `totals`.
    #[allow(clippy::too_many_arguments)]
    fn rolling_update(&mut self, ctx: &mut Ctx, key: &ObjectKey, ds: &DaemonSet, obj: &Object, view: &[NodeEntry], totals: &NodeSummary, hash: &str) -> Result<(), ApiError> {
        let spec = ds.spec.as_ref();
        let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let now = ctx.now;
        let generation = generation_of(ds);
        let desired = totals.desired;
        let rolling = spec.and_then(|s| s.update_strategy.as_ref()).and_then(|s| s.rolling_update.clone()).unwrap_or_default();
        let mut max_surge = scaled_up(rolling.max_surge.as_ref(), desired);
        let mut max_unavailable = scaled_up(rolling.max_unavailable.as_ref(), desired);
        if max_surge == 0 && max_unavailable == 0 {
            max_unavailable = 1;
        }
        if !allows_surge(ds) {
            max_surge = 0;
        }
        // The one new and one old live pod on a node, or None when there are more (`findUpdatedPodsOnNode`).
        let with_pods = view.iter().filter(|e| !e.pods.is_empty());
        // Upstream takes a candidate only while the count so far is under
        // the limit, and then as many as the total leaves room for: the
        // first `room` candidates in node order either way.
        if max_surge == 0 {
            let mut replace: Vec<&Pod> = Vec::new();
            let mut candidates: Vec<&Pod> = Vec::new();
            for entry in with_pods {
                if let Some((None, Some(old))) = split_updated(&entry.pods, hash, generation) {
                    if !util::is_available(old, min_ready, now) {
                        replace.push(old);
                    } else {
                        candidates.push(old);
                    }
                }
            }
            let room = (max_unavailable - totals.unavailable).max(0) as usize;
            replace.extend(candidates.into_iter().take(room));
            return self.sync_nodes(ctx, key, ds, obj, &replace, &[], hash);
        }
        let mut delete: Vec<&Pod> = Vec::new();
        let mut misplaced: Vec<&Pod> = Vec::new();
        let mut allowed: Vec<String> = Vec::new();
        let mut candidates: Vec<String> = Vec::new();
        for entry in with_pods {
            let Some((new, old)) = split_updated(&entry.pods, hash, generation) else { continue };
            let name = &entry.name;
            let eligible = entry.placement.is_some_and(|p| p.0);
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) => {
                    if !util::is_available(old, min_ready, now) {
                        if eligible {
                            allowed.push(name.clone());
                        } else {
                            delete.push(old);
                        }
                    } else if !eligible {
                        misplaced.push(old);
                    } else {
                        candidates.push(name.clone());
                    }
                }
                (Some(new), Some(old)) => {
                    if util::is_available(new, min_ready, now) {
                        delete.push(old);
                    }
                }
            }
        }
        // With surge the owner expects every pod available: a misplaced
        // pod goes only once a pod elsewhere is available in its place.
        let deletable = (totals.surge_available - desired).max(0) as usize;
        delete.extend(misplaced.into_iter().take(deletable));
        let room = (max_surge - totals.surging).max(0) as usize;
        allowed.extend(candidates.into_iter().take(room));
        self.sync_nodes(ctx, key, ds, obj, &delete, &allowed, hash)
    }

    /// Deletes old revisions no pod uses beyond `revisionHistoryLimit` (`cleanupHistory`).
    fn cleanup_history(&mut self, ctx: &mut Ctx, ds: &DaemonSet, old: &[ControllerRevision], pods: &[&Pod]) -> Result<(), ApiError> {
        let keep = ds.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0) as usize;
        if old.len() <= keep {
            return Ok(());
        }
        let mut to_kill = old.len() - keep;
        let live: BTreeSet<&str> = crate::engine::sort::insert_all(pods.iter().filter_map(|p| p.metadata.labels.as_ref()?.get(HASH_LABEL).map(String::as_str)));
        let mut sorted: Vec<&ControllerRevision> = old.iter().collect();
        sorted.sort_stable_by_key(|r| r.revision);
        for r in sorted {
            if to_kill == 0 {
                break;
            }
            if r.metadata.labels.as_ref().and_then(|l| l.get(HASH_LABEL)).is_some_and(|h| live.contains(h.as_str())) {
                continue;
            }
            history::delete(ctx, r)?;
            to_kill -= 1;
        }
        Ok(())
    }

    /// Stores the status from the kept per-node counts
    /// (`updateDaemonSetStatus`); whether some ready pod is not yet available.
    fn write_status(&mut self, ctx: &mut Ctx, ds: &DaemonSet, totals: &NodeSummary, observed: bool) -> Result<bool, ApiError> {
        let old = ds.status.clone().unwrap_or_default();
        let next = DaemonSetStatus {
            current_number_scheduled: totals.current,
            desired_number_scheduled: totals.desired,
            number_misscheduled: totals.misscheduled,
            number_ready: totals.ready,
            number_available: util::nonzero(totals.available),
            number_unavailable: util::nonzero(totals.desired - totals.available),
            updated_number_scheduled: util::nonzero(totals.updated),
            observed_generation: if observed { ds.metadata.generation } else { old.observed_generation },
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
        };
        if next != old {
            let uid = ds.metadata.uid.clone();
            let ns = ds.metadata.namespace.clone().unwrap_or_default();
            let name = ds.metadata.name.clone().unwrap_or_default();
            ctx.api.modify(ids::daemon_sets(), &ns, &name, true, |o| {
                if o.meta().uid != uid {
                    return false;
                }
                if let Object::DaemonSet(d) = o {
                    d.status = Some(next.clone());
                }
                true
            })?;
        }
        Ok(totals.ready != totals.available)
    }
}

/// The one new and one old live pod on a node, or None when there are
/// more, for the main loop to clean up (`findUpdatedPodsOnNode`).
pub(super) fn split_updated<'p>(node_pods: &[&'p Pod], hash: &str, generation: Option<i64>) -> Option<(Option<&'p Pod>, Option<&'p Pod>)> {
    let mut new = None;
    let mut old = None;
    for p in node_pods.iter().copied().filter(|p| !util::is_terminating(p)) {
        let slot = if is_updated(p, hash, generation) { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(p);
    }
    Some((new, old))
}

/// Whether the update strategy surges (`AllowsSurge`).
fn allows_surge(ds: &DaemonSet) -> bool {
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) != Some("RollingUpdate") {
        return false;
    }
    scaled_up(strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_surge.as_ref()), 1) > 0
}

impl Reconciler for DaemonSetController {
    fn name(&self) -> &str {
        "daemonset-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::daemon_sets()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::daemon_sets(), ids::pods(), ids::nodes(), ids::controller_revisions()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        self.handle_events(cache, changes);
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync_set(ctx, cache, key)
    }
    fn forget(&mut self) {
        self.pods.reset();
        self.expectations.clear();
        self.nodes_seen.clear();
        self.failed_backoff.clear();
        self.states.clear();
        self.held_by.clear();
        self.pods_seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::cluster::{Cluster, Profile, ProfileKind};
    use crate::engine::controllers::testkit::template;
    use k8s_openapi::api::apps::v1::{DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    fn cluster() -> Cluster {
        Cluster::new(Profile::new(ProfileKind::Default), 1)
    }

    fn daemon_set(name: &str) -> DaemonSet {
        DaemonSet {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(std::rc::Rc::new(DaemonSetSpec {
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), name.into())])), ..Default::default() },
                template: template(name, "fluentd:v1.16"),
                ..Default::default()
            })),
            status: None,
        }
    }

    fn pods(c: &Cluster) -> Vec<Pod> {
        let (items, _) = c.sim.api.list(&Query::in_namespace(ids::pods(), "default")).expect("list");
        items.iter().filter_map(|o| if let Object::Pod(p) = &**o { Some((**p).clone()) } else { None }).filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
    }

    fn nodes_of(c: &Cluster) -> Vec<String> {
        let mut n: Vec<String> = pods(c).iter().map(|p| util::node_name(p).to_string()).collect();
        n.sort_stable();
        n
    }

    fn status(c: &Cluster, name: &str) -> DaemonSetStatus {
        match &*c.sim.api.get(ids::daemon_sets(), "default", name).expect("ds") {
            Object::DaemonSet(d) => d.status.clone().unwrap_or_default(),
            _ => unreachable!(),
        }
    }

    fn edit(c: &mut Cluster, name: &str, f: impl Fn(&mut DaemonSetSpec)) {
        c.sim
            .api
            .modify(ids::daemon_sets(), "default", name, false, |o| {
                if let Object::DaemonSet(d) = o {
                    f(d.spec_mut());
                }
                true
            })
            .expect("edit");
    }

    fn label_node(c: &mut Cluster, node: &str, value: Option<&str>) {
        c.sim
            .api
            .modify(ids::nodes(), "", node, false, |o| {
                let labels = o.meta_mut().labels.get_or_insert_with(BTreeMap::new);
                match value {
                    Some(v) => labels.insert("disk".into(), v.into()),
                    None => labels.remove("disk"),
                };
                true
            })
            .expect("label");
    }

    fn image(p: &Pod) -> String {
        p.spec.as_ref().unwrap().containers[0].image.clone().unwrap_or_default()
    }

    #[test]
    fn runs_one_pod_per_untainted_node_through_the_scheduler() {
        let mut c = cluster();
        c.sim.api.create(Object::DaemonSet(Box::new(daemon_set("agent")))).expect("create");
        c.sim.run_for_ms(20_000);
        assert_eq!(nodes_of(&c), vec!["worker-1", "worker-2", "worker-3"]);
        let p = &pods(&c)[0];
        assert_eq!(target_node(p).as_deref(), Some(util::node_name(p)));
        let tolerations: Vec<String> = p.spec.as_ref().unwrap().tolerations.iter().flatten().filter_map(|t| t.key.clone()).collect();
        assert_eq!(tolerations[..6], ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"]);
        let labels = p.metadata.labels.clone().unwrap();
        assert_eq!(labels[GENERATION_LABEL], "1");
        let st = status(&c, "agent");
        assert_eq!((st.desired_number_scheduled, st.current_number_scheduled, st.number_ready, st.number_available, st.updated_number_scheduled, st.number_misscheduled), (3, 3, 3, Some(3), Some(3), 0));
        assert_eq!(st.observed_generation, Some(1));
        // Tolerating the control-plane taint adds its node.
        edit(&mut c, "agent", |s| {
            s.template.spec.as_mut().unwrap().tolerations = Some(vec![Toleration { key: Some("node-role.kubernetes.io/control-plane".into()), operator: Some("Exists".into()), effect: Some("NoSchedule".into()), ..Default::default() }]);
        });
        c.sim.run_for_ms(60_000);
        assert_eq!(nodes_of(&c), vec!["control-plane", "worker-1", "worker-2", "worker-3"]);
        assert_eq!(status(&c, "agent").desired_number_scheduled, 4);
    }

    #[test]
    fn nodes_gain_and_lose_pods_as_they_become_eligible() {
        let mut c = cluster();
        let mut ds = daemon_set("agent");
        ds.spec_mut().template.spec.as_mut().unwrap().node_selector = Some(BTreeMap::from([("disk".into(), "ssd".into())]));
        c.sim.api.create(Object::DaemonSet(Box::new(ds))).expect("create");
        c.sim.run_for_ms(10_000);
        assert!(pods(&c).is_empty());
        label_node(&mut c, "worker-2", Some("ssd"));
        c.sim.run_for_ms(10_000);
        assert_eq!(nodes_of(&c), vec!["worker-2"]);
        label_node(&mut c, "worker-2", None);
        c.sim.run_for_ms(40_000);
        assert!(pods(&c).is_empty());
        assert_eq!(status(&c, "agent").desired_number_scheduled, 0);
    }

    #[test]
    fn a_node_that_leaves_loses_its_pod() {
        let mut c = cluster();
        c.sim.api.create(Object::DaemonSet(Box::new(daemon_set("agent")))).expect("create");
        c.sim.run_for_ms(20_000);
        c.sim.stop("node/worker-3").expect("power off");
        c.sim.api.delete(ids::nodes(), "", "worker-3", &Default::default()).expect("delete node");
        c.sim.run_for_ms(90_000);
        assert_eq!(nodes_of(&c), vec!["worker-1", "worker-2"]);
        assert_eq!(status(&c, "agent").desired_number_scheduled, 2);
    }

    #[test]
    fn rolling_update_keeps_at_most_one_node_unavailable() {
        let mut c = cluster();
        c.sim.api.create(Object::DaemonSet(Box::new(daemon_set("agent")))).expect("create");
        c.sim.run_for_ms(20_000);
        edit(&mut c, "agent", |s| s.template.spec.as_mut().unwrap().containers[0].image = Some("fluentd:v1.17".into()));
        for _ in 0..120 {
            c.sim.run_for_ms(500);
            let ready = pods(&c).iter().filter(|p| util::is_ready(p)).count();
            assert!(ready >= 2, "maxUnavailable 1: {ready} ready");
        }
        assert!(pods(&c).iter().all(|p| image(p) == "fluentd:v1.17"));
        assert_eq!(pods(&c).len(), 3);
        let st = status(&c, "agent");
        assert_eq!((st.updated_number_scheduled, st.number_available), (Some(3), Some(3)));
        let (revs, _) = c.sim.api.list(&Query::in_namespace(ids::controller_revisions(), "default")).expect("list");
        assert_eq!(revs.len(), 2);
    }

    #[test]
    fn max_surge_starts_the_new_pod_before_stopping_the_old() {
        let mut c = cluster();
        let mut ds = daemon_set("agent");
        ds.spec_mut().update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet { max_surge: Some(IntOrString::Int(1)), max_unavailable: Some(IntOrString::Int(0)) }),
        });
        c.sim.api.create(Object::DaemonSet(Box::new(ds))).expect("create");
        c.sim.run_for_ms(20_000);
        edit(&mut c, "agent", |s| s.template.spec.as_mut().unwrap().containers[0].image = Some("fluentd:v1.17".into()));
        let mut saw_four = false;
        for _ in 0..120 {
            c.sim.run_for_ms(500);
            let ready = pods(&c).iter().filter(|p| util::is_ready(p)).count();
            assert!(ready >= 3, "no node without a ready pod: {ready}");
            saw_four |= pods(&c).len() == 4;
        }
        assert!(saw_four, "a surge pod ran beside an old one");
        assert!(pods(&c).iter().all(|p| image(p) == "fluentd:v1.17"));
    }

    #[test]
    fn a_surge_with_min_ready_seconds_moves_on_once_the_new_pod_is_available() {
        let mut c = cluster();
        let mut ds = daemon_set("agent");
        let spec = ds.spec_mut();
        spec.min_ready_seconds = Some(5);
        spec.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet { max_surge: Some(IntOrString::Int(1)), max_unavailable: Some(IntOrString::Int(0)) }),
        });
        c.sim.api.create(Object::DaemonSet(Box::new(ds))).expect("create");
        c.sim.run_for_ms(30_000);
        edit(&mut c, "agent", |s| s.template.spec.as_mut().unwrap().containers[0].image = Some("fluentd:v1.17".into()));
        // Nothing but the new pods' readiness wakes the set: without the
        // wake-up minReadySeconds after it, both pods stay on the first node.
        c.sim.run_for_ms(180_000);
        let live = pods(&c);
        assert_eq!(live.len(), 3);
        assert!(live.iter().all(|p| image(p) == "fluentd:v1.17"));
    }

    #[test]
    fn on_delete_waits_for_pods_to_go() {
        let mut c = cluster();
        let mut ds = daemon_set("agent");
        ds.spec_mut().update_strategy = Some(DaemonSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None });
        c.sim.api.create(Object::DaemonSet(Box::new(ds))).expect("create");
        c.sim.run_for_ms(20_000);
        edit(&mut c, "agent", |s| s.template.spec.as_mut().unwrap().containers[0].image = Some("fluentd:v1.17".into()));
        c.sim.run_for_ms(20_000);
        assert!(pods(&c).iter().all(|p| image(p) == "fluentd:v1.16"));
        assert_eq!(status(&c, "agent").updated_number_scheduled, None);
        let victim = pods(&c).into_iter().find(|p| util::node_name(p) == "worker-1").and_then(|p| p.metadata.name).unwrap();
        c.sim.api.delete(ids::pods(), "default", &victim, &Default::default()).expect("delete");
        c.sim.run_for_ms(40_000);
        let updated: Vec<String> = pods(&c).iter().filter(|p| image(p) == "fluentd:v1.17").map(|p| util::node_name(p).to_string()).collect();
        assert_eq!(updated, vec!["worker-1"]);
    }

    #[test]
    fn host_network_pods_tolerate_an_unavailable_network() {
        let mut spec = template("x", "y").spec.unwrap();
        spec.host_network = Some(true);
        add_daemon_tolerations(&mut spec);
        add_daemon_tolerations(&mut spec);
        let keys: Vec<String> = spec.tolerations.unwrap().into_iter().filter_map(|t| t.key).collect();
        assert_eq!(keys.len(), 7);
        assert_eq!(keys[6], "node.kubernetes.io/network-unavailable");
        let a = pin_to_node(None, "n1");
        let pinned = pin_to_node(Some(a), "n2");
        let terms = pinned.node_affinity.unwrap().required_during_scheduling_ignored_during_execution.unwrap().node_selector_terms;
        assert_eq!(terms.len(), 1);
        assert_eq!(terms[0].match_fields.as_ref().unwrap()[0].values.as_deref(), Some(&["n2".to_string()][..]));
    }
}
