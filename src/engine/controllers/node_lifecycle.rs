//! The node lifecycle controller (events from `node-controller`) and, as in
//! 1.33's separate taint-eviction controller (`taint-eviction-controller`),
//! NoExecute taint-based eviction.
//!
//! Every `node-monitor-period` (5 s) each node's health is checked: a node
//! whose Lease and Ready heartbeat have not moved for `node-monitor-grace-period`
//! (50 s since 1.32, 40 s before) gets its conditions set to Unknown
//! (`NodeStatusUnknown`, "Kubelet stopped posting node status."), a
//! `NodeNotReady` event, its pods marked not Ready, and the
//! `node.kubernetes.io/unreachable` NoSchedule and NoExecute taints (or
//! `not-ready` when the kubelet itself reports Ready=False). Pods that do not
//! tolerate a NoExecute taint are deleted; pods tolerating it for
//! `tolerationSeconds` (300 s from the DefaultTolerationSeconds admission
//! plugin) are deleted when that runs out. When the node reports Ready again
//! the taints go and pending evictions are cancelled. A cordoned node
//! (`spec.unschedulable`) gets the `node.kubernetes.io/unschedulable`
//! NoSchedule taint as soon as the controller sees it, and loses it when
//! uncordoned.
//!
//! Pods are read from the controller manager's shared pod informer and its
//! index by node, as the real controller reads the shared informer
//! factory's: no second cache of every pod.
//!
//! Simplification: the per-zone eviction rate limits (0.1 node/s, and the
//! "full disruption" mode that stops evicting when every node is down) are
//! not modelled.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, ObjectReference, PodCondition, Taint, Toleration};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use super::{Cache, Changes, Controller};
use crate::engine::api::{ids, meta, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, Query, WatchEvent, WatchEventType};
use crate::engine::informer::Informer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

pub const NODE_MONITOR_PERIOD_MS: u64 = 5_000;
pub const NODE_MONITOR_GRACE_PERIOD_MS: u64 = 50_000;
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const NODE_CONDITIONS: &[&str] = &["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"];

#[derive(Debug)]
struct Health {
    /// When this controller last saw the node's heartbeat or Lease move.
    probe_time: VirtualTime,
    heartbeat: Option<Time>,
    renew: Option<MicroTime>,
    /// Ready status seen at the previous pass.
    ready: Option<String>,
}

#[derive(Debug)]
struct ScheduledEviction {
    uid: String,
    fire_at: VirtualTime,
}

pub struct NodeLifecycleController {
    nodes: Informer,
    leases: Informer,
    recorder: EventRecorder,
    eviction_recorder: EventRecorder,
    health: BTreeMap<String, Health>,
    /// The nodes seen, with their uids (for the RemovingNode event).
    known: BTreeMap<String, Option<String>>,
    next_monitor: VirtualTime,
    evictions: BTreeMap<ObjectKey, ScheduledEviction>,
    /// Nodes with NoExecute taints and those taints, kept from node events
    /// so a pass does not read every node.
    no_execute: BTreeMap<String, Vec<Taint>>,
}

impl Default for NodeLifecycleController {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeLifecycleController {
    pub fn new() -> Self {
        NodeLifecycleController {
            nodes: Informer::new(Query::all(ids::nodes())),
            leases: Informer::new(Query::in_namespace(ids::leases(), "kube-node-lease")),
            recorder: EventRecorder::new("node-controller", None),
            eviction_recorder: EventRecorder::new("taint-eviction-controller", None),
            health: BTreeMap::new(),
            known: BTreeMap::new(),
            next_monitor: VirtualTime::ZERO,
            evictions: BTreeMap::new(),
            no_execute: BTreeMap::new(),
        }
    }

    fn index_nodes(&mut self, events: &[WatchEvent]) {
        for ev in events {
            let Object::Node(n) = &*ev.object else { continue };
            let Some(name) = n.metadata.name.clone() else { continue };
            let taints: Vec<Taint> = n.spec.as_ref().and_then(|s| s.taints.as_ref()).into_iter().flatten().filter(|t| t.effect == "NoExecute").cloned().collect();
            if ev.kind == WatchEventType::Deleted || taints.is_empty() {
                self.no_execute.remove(&name);
            } else {
                self.no_execute.insert(name, taints);
            }
        }
    }

    fn node_event(&mut self, ctx: &mut Ctx, node: &Node, type_: &str, reason: &str, message: String) {
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: node.metadata.name.clone(),
            uid: node.metadata.uid.clone(),
            ..Default::default()
        };
        self.recorder.record_ref(ctx.api, reference, type_, reason, message);
    }

    fn monitor(&mut self, ctx: &mut Ctx, cache: &Cache) {
        let now = ctx.now;
        // Shared, not copied: every node is read every monitor period.
        let nodes: Vec<std::rc::Rc<Object>> = self.nodes.items().filter(|o| matches!(&***o, Object::Node(_))).cloned().collect();
        let nodes: Vec<&Node> = nodes.iter().filter_map(|o| if let Object::Node(n) = &**o { Some(&**n) } else { None }).collect();
        let names: BTreeSet<String> = crate::engine::sort::insert_all(nodes.iter().filter_map(|n| n.metadata.name.clone()));
        let gone: Vec<String> = self.known.keys().filter(|n| !names.contains(*n)).cloned().collect();
        for gone in gone {
            let uid = self.known.remove(&gone).flatten();
            self.health.remove(&gone);
            let node = Node { metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { name: Some(gone.clone()), uid, ..Default::default() }, ..Default::default() };
            self.node_event(ctx, &node, NORMAL, "RemovingNode", format!("Node {gone} event: Removing Node {gone} from Controller"));
        }
        for node in nodes {
            let Some(name) = node.metadata.name.clone() else { continue };
            if self.known.insert(name.clone(), node.metadata.uid.clone()).is_none() {
                self.node_event(ctx, node, NORMAL, "RegisteredNode", format!("Node {name} event: Registered Node {name} in Controller"));
            }
            let ready_cond = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready")).cloned();
            let heartbeat = ready_cond.as_ref().and_then(|c| c.last_heartbeat_time.as_ref()).cloned();
            let renew = match self.leases.get(&ObjectKey::new("kube-node-lease", name.clone())).map(|o| &**o) {
                Some(Object::Lease(l)) => l.spec.as_ref().and_then(|s| s.renew_time.clone()),
                _ => None,
            };
            let health = self.health.entry(name.clone()).or_insert(Health { probe_time: now, heartbeat: heartbeat.clone(), renew: renew.clone(), ready: None });
            if health.heartbeat != heartbeat || health.renew != renew {
                health.probe_time = now;
                health.heartbeat = heartbeat;
                health.renew = renew;
            }
            let observed_ready = ready_cond.as_ref().map(|c| c.status.clone());
            let stale = now.millis_since(health.probe_time) > NODE_MONITOR_GRACE_PERIOD_MS;
            let previous_ready = health.ready.clone();
            let mut current_ready = observed_ready.clone();
            if stale && observed_ready.as_deref() != Some("Unknown") {
                let updated = ctx.api.modify(ids::nodes(), "", &name, true, |obj| {
                    let Object::Node(n) = obj else { return false };
                    let status = n.status.get_or_insert_with(Default::default);
                    let conditions = status.conditions.get_or_insert_with(Vec::new);
                    let mut changed = false;
                    for type_ in NODE_CONDITIONS {
                        match conditions.iter_mut().find(|c| c.type_ == *type_) {
                            Some(c) if c.status != "Unknown" => {
                                c.status = "Unknown".into();
                                c.reason = Some("NodeStatusUnknown".into());
                                c.message = Some("Kubelet stopped posting node status.".into());
                                c.last_transition_time = Some(meta::api_time(now));
                                changed = true;
                            }
                            Some(_) => {}
                            None => {
                                conditions.push(k8s_openapi::api::core::v1::NodeCondition {
                                    type_: type_.to_string(),
                                    status: "Unknown".into(),
                                    reason: Some("NodeStatusNeverUpdated".into()),
                                    message: Some("Kubelet never posted node status.".into()),
                                    last_heartbeat_time: Some(meta::api_time(now)),
                                    last_transition_time: Some(meta::api_time(now)),
                                });
                                changed = true;
                            }
                        }
                    }
                    changed
                });
                if updated.is_ok() {
                    current_ready = Some("Unknown".into());
                    ctx.log(format!("node {name} stopped posting status for {}s: conditions Unknown", NODE_MONITOR_GRACE_PERIOD_MS / 1000));
                }
            }
            let was_ready = previous_ready.as_deref().or(observed_ready.as_deref()) == Some("True");
            if was_ready && current_ready.as_deref() != Some("True") {
                self.node_event(ctx, node, NORMAL, "NodeNotReady", format!("Node {name} status is now: NodeNotReady"));
                self.mark_pods_not_ready(ctx, cache, &name);
            }
            if let Some(h) = self.health.get_mut(&name) {
                h.ready = current_ready.clone();
            }
            self.reconcile_taints(ctx, &name, current_ready.as_deref());
        }
    }

    /// `MarkPodsNotReady`: the pods of an unresponsive node stop being Ready.
    fn mark_pods_not_ready(&mut self, ctx: &mut Ctx, cache: &Cache, node: &str) {
        let now = ctx.now;
        // The node's pods from the index, in key order: not every pod in the cluster.
        let pods: Vec<Pod> = cache
            .of(ids::pods())
            .on_node(node)
            .filter_map(|o| if let Object::Pod(p) = &**o { Some((**p).clone()) } else { None })
            .filter(|p| p.node_name() == Some(node))
            .collect();
        for pod in pods {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let result = ctx.api.modify(ids::pods(), &ns, &name, true, |obj| {
                let Object::Pod(p) = obj else { return false };
                let Some(c) = p.status_mut_if_any().and_then(|s| s.conditions.as_mut()).and_then(|cs| cs.iter_mut().find(|c| c.type_ == "Ready")) else {
                    return false;
                };
                if c.status == "False" {
                    return false;
                }
                c.status = "False".into();
                c.last_transition_time = Some(meta::api_time(now));
                true
            });
            if let Ok(updated) = result {
                if updated.meta().resource_version != pod.metadata.resource_version {
                    self.recorder.record(ctx.api, &updated, WARNING, "NodeNotReady", "Node is not ready");
                }
            }
        }
    }

    /// The not-ready/unreachable NoSchedule and NoExecute taints follow the Ready condition.
    fn reconcile_taints(&mut self, ctx: &mut Ctx, node: &str, ready: Option<&str>) {
        let wanted: Option<&str> = match ready {
            Some("False") => Some(TAINT_NOT_READY),
            Some("Unknown") => Some(TAINT_UNREACHABLE),
            _ => None,
        };
        let now = ctx.now;
        // Nearly always the taints are already right: read the stored node
        // (shared, not copied) and write only when they are not, as the
        // write below would find for itself after copying the whole node.
        let settled = match ctx.api.get(ids::nodes(), "", node).as_deref() {
            Ok(Object::Node(n)) => retaint(n.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[]), wanted, now).is_none(),
            _ => false,
        };
        if settled {
            return;
        }
        let _ = ctx.api.modify(ids::nodes(), "", node, false, |obj| {
            let Object::Node(n) = obj else { return false };
            let spec = n.spec.get_or_insert_with(Default::default);
            let Some(taints) = retaint(spec.taints.as_deref().unwrap_or(&[]), wanted, now) else {
                return false;
            };
            spec.taints = if taints.is_empty() { None } else { Some(taints) };
            true
        });
    }

    /// `doNoScheduleTaintingPass`, run for every added or updated node: a
    /// cordoned node (`spec.unschedulable`) gets the
    /// `node.kubernetes.io/unschedulable:NoSchedule` taint, an uncordoned one
    /// loses it.
    fn taint_unschedulable(&mut self, ctx: &mut Ctx, events: &[WatchEvent]) {
        let now = ctx.now;
        for ev in events {
            if ev.kind == WatchEventType::Deleted {
                continue;
            }
            let Object::Node(n) = &*ev.object else { continue };
            let Some(name) = n.metadata.name.as_deref() else { continue };
            if unschedulable_retaint(n, now).is_none() {
                continue;
            }
            let _ = ctx.api.modify(ids::nodes(), "", name, false, |obj| {
                let Object::Node(n) = obj else { return false };
                let Some(taints) = unschedulable_retaint(n, now) else {
                    return false;
                };
                n.spec.get_or_insert_with(Default::default).taints = if taints.is_empty() { None } else { Some(taints) };
                true
            });
        }
    }

    /// The taint-eviction controller's pass over pods on NoExecute-tainted nodes.
    fn evict(&mut self, ctx: &mut Ctx, cache: &Cache) {
        let now = ctx.now;
        // Nearly always: no NoExecute taint anywhere and nothing pending.
        if self.no_execute.is_empty() && self.evictions.is_empty() {
            return;
        }
        let no_execute = &self.no_execute;
        let pods = cache.of(ids::pods());
        let mut still_wanted: BTreeSet<ObjectKey> = BTreeSet::new();
        let on_tainted = no_execute.keys().flat_map(|node| pods.on_node(node));
        for o in on_tainted {
            let Object::Pod(pod) = &**o else { continue };
            let Some(node) = pod.node_name.clone() else { continue };
            let Some(taints) = no_execute.get(&node) else { continue };
            let key = ObjectKey::new(pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
            if pod.metadata.deletion_timestamp.is_some() {
                // The controller acts on changes to tolerations and taints, and
                // a deletion is neither: a deleted pod keeps the eviction it was
                // waiting for (cancelled, with its event, once the pod is gone)
                // and is given none.
                if self.evictions.get(&key).is_some_and(|e| pod.metadata.uid.as_deref() == Some(e.uid.as_str())) {
                    still_wanted.insert(key);
                }
                continue;
            }
            let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
            // `GetMatchingTolerations`: each taint is tolerated by the first
            // toleration that matches it, and only that one's seconds count
            // (`getMinTolerationTime`: none set is forever, zero or less is now).
            let mut min_seconds: Option<i64> = None;
            let mut all_tolerated = true;
            for taint in taints {
                let Some(used) = tolerations.iter().find(|t| tolerates(t, taint)) else {
                    all_tolerated = false;
                    break;
                };
                if let Some(s) = used.toleration_seconds {
                    min_seconds = Some(min_seconds.map_or(s, |m| m.min(s)));
                }
            }
            if all_tolerated && min_seconds.is_none() {
                continue;
            }
            still_wanted.insert(key.clone());
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let delay_ms = if all_tolerated { min_seconds.unwrap_or(0).max(0) as u64 * 1000 } else { 0 };
            let entry = self.evictions.entry(key.clone()).or_insert(ScheduledEviction { uid: uid.clone(), fire_at: now.plus_millis(delay_ms) });
            if entry.uid != uid {
                // The pod it waited for is gone (its deletion cancels the
                // work, with the event) and this one of the same name is new.
                self.eviction_recorder.record_ref(ctx.api, pod_reference(&key), NORMAL, "TaintManagerEviction", format!("Cancelling deletion of Pod {key}"));
                *entry = ScheduledEviction { uid, fire_at: now.plus_millis(delay_ms) };
            } else if !all_tolerated && entry.fire_at > now {
                // A taint it does not tolerate: the waiting deletion is
                // cancelled, with its event, and the pod deleted at once.
                self.eviction_recorder.record_ref(ctx.api, pod_reference(&key), NORMAL, "TaintManagerEviction", format!("Cancelling deletion of Pod {key}"));
                entry.fire_at = now;
            }
            // A waiting eviction keeps the time it was given: `processPodOnNode`
            // leaves a work item created earlier in place, whatever the
            // tolerations now say, and `AddWork` never replaces one.
        }
        // Pods no longer on a tainted node, tolerating it for ever, or gone:
        // `cancelWorkWithEvent` says so for each waiting eviction.
        let cancelled: Vec<ObjectKey> = self.evictions.keys().filter(|k| !still_wanted.contains(*k)).cloned().collect();
        for key in cancelled {
            self.evictions.remove(&key);
            self.eviction_recorder.record_ref(ctx.api, pod_reference(&key), NORMAL, "TaintManagerEviction", format!("Cancelling deletion of Pod {key}"));
        }
        let due: Vec<(ObjectKey, String)> = self.evictions.iter().filter(|(_, e)| e.fire_at <= now).map(|(k, e)| (k.clone(), e.uid.clone())).collect();
        for (key, uid) in due {
            self.evictions.remove(&key);
            self.eviction_recorder.record_ref(ctx.api, pod_reference(&key), NORMAL, "TaintManagerEviction", format!("Marking for deletion Pod {key}"));
            let _ = ctx.api.modify(ids::pods(), &key.namespace, &key.name, true, |obj| {
                let Object::Pod(p) = obj else { return false };
                let conditions = p.status_mut().conditions.get_or_insert_with(Vec::new);
                if conditions.iter().any(|c| c.type_ == "DisruptionTarget") {
                    return false;
                }
                conditions.push(PodCondition {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                    reason: Some("DeletionByTaintManager".into()),
                    message: Some("Taint manager: deleting due to NoExecute taint".into()),
                    last_transition_time: Some(meta::api_time(now)),
                    ..Default::default()
                });
                true
            });
            let opts = DeleteOptions { precondition_uid: Some(uid), ..Default::default() };
            if ctx.api.delete(ids::pods(), &key.namespace, &key.name, &opts).is_ok() {
                ctx.log(format!("evicted pod {key}: NoExecute taint not tolerated"));
            }
        }
        if let Some(next) = self.evictions.values().map(|e| e.fire_at).min() {
            ctx.wake_at(next);
        }
    }
}

fn pod_reference(key: &ObjectKey) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(key.name.to_string()),
        namespace: Some(key.namespace.to_string()),
        ..Default::default()
    }
}

/// Whether a toleration tolerates a taint (`ToleratesTaint`).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        if effect != taint.effect {
            return false;
        }
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => key == taint.key && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
    }
}

impl Controller for NodeLifecycleController {
    fn name(&self) -> &str {
        "node-lifecycle-controller"
    }

    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::pods()]
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, _changes: &Changes) {
        let node_events = self.nodes.sync(ctx);
        self.index_nodes(&node_events);
        self.taint_unschedulable(ctx, &node_events);
        self.leases.sync(ctx);
        if !self.nodes.has_synced() {
            return;
        }
        if ctx.now >= self.next_monitor {
            self.monitor(ctx, cache);
            self.next_monitor = ctx.now.plus_millis(NODE_MONITOR_PERIOD_MS);
        }
        ctx.wake_at(self.next_monitor);
        if cache.synced(&[ids::pods()]) {
            self.evict(ctx, cache);
        }
    }

    fn reset(&mut self) {
        self.nodes.reset();
        self.leases.reset();
        self.recorder.reset();
        self.eviction_recorder.reset();
        self.health.clear();
        self.known.clear();
        self.next_monitor = VirtualTime::ZERO;
        self.evictions.clear();
        self.no_execute.clear();
    }

    fn informers(&self) -> Vec<&Informer> {
        vec![&self.nodes, &self.leases]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A node's taints with the unschedulable NoSchedule taint following
/// `spec.unschedulable`; `None` when they already do. An added taint is
/// stamped with `timeAdded`, as `SwapNodeControllerTaint` stamps it.
fn unschedulable_retaint(node: &Node, now: VirtualTime) -> Option<Vec<Taint>> {
    let spec = node.spec.as_ref();
    let wanted = spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let current = spec.and_then(|s| s.taints.as_deref()).unwrap_or(&[]);
    let is_ours = |t: &Taint| t.key == TAINT_UNSCHEDULABLE && t.effect == "NoSchedule";
    if current.iter().any(is_ours) == wanted {
        return None;
    }
    let mut taints: Vec<Taint> = current.iter().filter(|t| !is_ours(t)).cloned().collect();
    if wanted {
        taints.push(Taint { key: TAINT_UNSCHEDULABLE.to_string(), effect: "NoSchedule".to_string(), value: None, time_added: Some(meta::api_time(now)) });
    }
    Some(taints)
}

/// A node's taints with the not-ready/unreachable ones following `wanted`;
/// `None` when they already do.
fn retaint(current: &[Taint], wanted: Option<&str>, now: VirtualTime) -> Option<Vec<Taint>> {
    let stale = |t: &Taint| (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE) && Some(t.key.as_str()) != wanted;
    let missing: Vec<(&str, &str)> = wanted
        .into_iter()
        .flat_map(|key| ["NoSchedule", "NoExecute"].map(|effect| (key, effect)))
        .filter(|&(key, effect)| !current.iter().any(|t| t.key == key && t.effect == effect))
        .collect();
    // Every node at every monitor pass: copy the taints only to change them.
    if missing.is_empty() && !current.iter().any(stale) {
        return None;
    }
    let mut taints: Vec<Taint> = current.iter().filter(|t| !stale(t)).cloned().collect();
    taints.extend(missing.into_iter().map(|(key, effect)| Taint { key: key.to_string(), effect: effect.to_string(), value: None, time_added: Some(meta::api_time(now)) }));
    Some(taints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::tests::{cluster, events, get_node, get_pod, phase, run_pod};
    use serde_json::json;

    fn taint_keys(node: &Node) -> Vec<(String, String)> {
        node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default().into_iter().map(|t| (t.key, t.effect)).collect()
    }

    #[test]
    fn tolerations_match_taints() {
        let taint = Taint { key: TAINT_UNREACHABLE.into(), effect: "NoExecute".into(), ..Default::default() };
        let t = Toleration { key: Some(TAINT_UNREACHABLE.into()), operator: Some("Exists".into()), effect: Some("NoExecute".into()), toleration_seconds: Some(300), ..Default::default() };
        assert!(tolerates(&t, &taint));
        let other = Toleration { key: Some(TAINT_NOT_READY.into()), operator: Some("Exists".into()), ..Default::default() };
        assert!(!tolerates(&other, &taint));
        let all = Toleration { operator: Some("Exists".into()), ..Default::default() };
        assert!(tolerates(&all, &taint));
    }

    #[test]
    fn stopped_kubelet_makes_node_unknown_then_evicts_after_tolerations() {
        let mut c = cluster();
        let tolerations = json!([
            {"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ]);
        run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}], "tolerations": tolerations}}), "worker-1");
        // Admission gives every pod 300 s; this one asks to leave at once.
        let at_once = json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]);
        run_pod(&mut c, json!({"metadata": {"name": "bare"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}], "tolerations": at_once}}), "worker-1");
        c.sim.run_for_ms(20_000);
        assert_eq!(phase(&get_pod(&c, "web").unwrap()), "Running");
        let t0 = c.now();
        c.sim.stop("kubelet/worker-1").unwrap();
        c.sim.run_for_ms(40_000);
        let ready = |c: &crate::engine::cluster::Cluster| {
            get_node(c, "worker-1").status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap()
        };
        assert_eq!(ready(&c).status, "True", "still within the grace period");
        c.sim.run_for_ms(30_000);
        let r = ready(&c);
        assert_eq!((r.status.as_str(), r.reason.as_deref(), r.message.as_deref()), ("Unknown", Some("NodeStatusUnknown"), Some("Kubelet stopped posting node status.")));
        let unknown_at = meta::virtual_of(r.last_transition_time.as_ref().unwrap()).millis_since(t0) / 1000;
        // Last heartbeat up to 10 s before the stop, 50 s grace, 5 s monitor period.
        assert!((40..=65).contains(&unknown_at), "{unknown_at}");
        let node = get_node(&c, "worker-1");
        assert_eq!(
            taint_keys(&node),
            vec![(TAINT_UNREACHABLE.to_string(), "NoSchedule".to_string()), (TAINT_UNREACHABLE.to_string(), "NoExecute".to_string())]
        );
        let node_events = events(&c, "worker-1", t0);
        assert!(node_events.iter().any(|e| e.1 == "NodeNotReady" && e.2 == "Node worker-1 status is now: NodeNotReady"), "{node_events:?}");
        let web = get_pod(&c, "web").unwrap();
        let pod_ready = web.status.unwrap().conditions.clone().unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(pod_ready.status, "False");
        assert!(events(&c, "web", t0).iter().any(|e| e.1 == "NodeNotReady" && e.2 == "Node is not ready"));
        // The pod tolerating 0 s is marked for deletion at once; it stays
        // Terminating because no kubelet is there to finish it.
        let bare = get_pod(&c, "bare").unwrap();
        assert!(bare.metadata.deletion_timestamp.is_some());
        assert!(events(&c, "bare", t0).iter().any(|e| e.1 == "TaintManagerEviction" && e.2 == "Marking for deletion Pod default/bare"));
        // 300 s after the taint, the tolerating pod goes too.
        let tainted_at = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .and_then(|ts| ts.iter().find(|t| t.effect == "NoExecute"))
            .and_then(|t| t.time_added.as_ref())
            .map(meta::virtual_of)
            .unwrap();
        c.sim.run_until(tainted_at.plus_secs(295));
        assert!(get_pod(&c, "web").unwrap().metadata.deletion_timestamp.is_none());
        c.sim.run_until(tainted_at.plus_secs(302));
        let web = get_pod(&c, "web").unwrap();
        assert!(web.metadata.deletion_timestamp.is_some());
        let disruption = web.status.unwrap().conditions.clone().unwrap().into_iter().find(|c| c.type_ == "DisruptionTarget").unwrap();
        assert_eq!(disruption.reason.as_deref(), Some("DeletionByTaintManager"));
        // The kubelet returns: the node is Ready again, taints go, and the
        // kubelet finishes the deletions.
        c.sim.start("kubelet/worker-1").unwrap();
        c.sim.run_for_ms(15_000);
        assert_eq!(ready(&c).status, "True");
        assert!(taint_keys(&get_node(&c, "worker-1")).is_empty());
        assert!(get_pod(&c, "web").is_none());
        assert!(get_pod(&c, "bare").is_none());
    }

    #[test]
    fn recovery_before_eviction_cancels_it() {
        let mut c = cluster();
        let tolerations = json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]);
        run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}], "tolerations": tolerations}}), "worker-2");
        c.sim.run_for_ms(20_000);
        let t0 = c.now();
        c.sim.stop("node/worker-2").unwrap();
        c.sim.run_for_ms(120_000);
        assert!(taint_keys(&get_node(&c, "worker-2")).iter().any(|(k, e)| k == TAINT_UNREACHABLE && e == "NoExecute"));
        c.sim.start("node/worker-2").unwrap();
        c.sim.run_for_ms(40_000);
        assert!(taint_keys(&get_node(&c, "worker-2")).is_empty());
        let web = get_pod(&c, "web").unwrap();
        assert!(web.metadata.deletion_timestamp.is_none());
        assert_eq!(phase(&web), "Running");
        assert!(events(&c, "web", t0).iter().any(|e| e.2 == "Cancelling deletion of Pod default/web"));
    }
}
