//! The disruption controller (`pkg/controller/disruption`): keeps every
//! PodDisruptionBudget's status current — `expectedPods`, `desiredHealthy`,
//! `currentHealthy`, `disruptionsAllowed`, `disruptedPods` and the
//! `DisruptionAllowed` condition — from the pods its selector picks and
//! the scale of their controllers. The eviction subresource reads that
//! status; pods it evicted stay in `disruptedPods` (not counted healthy)
//! until they are deleted or 2 minutes pass.
//!
//! It also clears `DisruptionTarget` conditions left on pods that were not
//! deleted within 2 minutes (an eviction whose delete never happened).

use std::any::Any;
use std::collections::BTreeMap;

use crate::engine::api::pod::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::meta::{api_time, controller_of, virtual_of};
use crate::engine::api::{ids, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::eviction::update_disruption_allowed_condition;
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, primed, WorkQueue};
use super::{Cache, Changes, Controller};

/// How long an evicted pod may take to be deleted before it counts again (`DeletionTimeout`).
pub const DELETION_TIMEOUT_MS: u64 = 2 * 60 * 1000;
/// How long a `DisruptionTarget` condition may stay on a pod that is not deleted.
pub const STALE_POD_DISRUPTION_TIMEOUT_MS: u64 = 2 * 60 * 1000;

fn pdb_resource() -> ResourceId {
    ids::pod_disruption_budgets()
}

/// A budget's selector; unset selects nothing, `{}` selects every pod in the namespace.
fn selector_of(pdb: &PodDisruptionBudget) -> Option<Selector> {
    pdb.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_api)
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true)`.
pub fn scaled_value(v: &IntOrString, total: i32) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return Err(format!("invalid value for IntOrString: invalid value \"{s}\": strconv.Atoi: parsing \"{s}\": invalid syntax"));
            };
            Ok(((p * total as i64) as f64 / 100.0).ceil() as i32)
        }
    }
}

/// `%v` of a `*metav1.LabelSelector` (its generated `String()`).
pub fn label_selector_string(s: &LabelSelector) -> String {
    let labels: String = s.match_labels.iter().flatten().map(|(k, v)| format!("{k}: {v},")).collect();
    let exprs: String = s
        .match_expressions
        .iter()
        .flatten()
        .map(|e| format!("LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},", e.key, e.operator, e.values.clone().unwrap_or_default().join(" ")))
        .collect();
    format!("&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")
}

/// What the status should be, from the pods and their controllers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Computed {
    pub expected: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub disrupted: BTreeMap<String, Time>,
    /// When the earliest still-pending disruption expires.
    pub recheck: Option<VirtualTime>,
    pub unmanaged: Vec<String>,
}

pub struct DisruptionController {
    queue: WorkQueue,
    /// Pods whose `DisruptionTarget` condition may go stale.
    stale: WorkQueue,
    primed: bool,
    recorder: EventRecorder,
}

impl Default for DisruptionController {
    fn default() -> Self {
        Self::new()
    }
}

impl DisruptionController {
    pub fn new() -> Self {
        DisruptionController { queue: WorkQueue::default(), stale: WorkQueue::default(), primed: false, recorder: EventRecorder::new("controllermanager", None) }
    }

    /// `getExpectedScale`: the sum of the scales of the pods' controllers;
    /// pods without a controller are listed apart.
    fn expected_scale(cache: &Cache, pods: &[&Pod]) -> Result<(i32, Vec<String>), String> {
        let mut scales: BTreeMap<String, i32> = BTreeMap::new();
        let mut unmanaged = Vec::new();
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let Some(owner) = controller_of(pod.metadata.owner_references.as_ref()) else {
                unmanaged.push(name);
                continue;
            };
            if scales.contains_key(&owner.uid) {
                continue;
            }
            let ns = pod.metadata.namespace.as_deref().unwrap_or("");
            match Self::find_scale(cache, owner, ns) {
                Some((uid, scale)) => {
                    scales.insert(uid, scale);
                }
                None => return Err(format!("found no controllers for pod \"{name}\"")),
            }
        }
        Ok((scales.values().sum(), unmanaged))
    }

    /// The finders: ReplicationController; ReplicaSet (or the Deployment
    /// controlling it); StatefulSet.
    fn find_scale(cache: &Cache, owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference, ns: &str) -> Option<(String, i32)> {
        let group = owner.api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        let get = |rid: ResourceId, name: &str| cache.of(rid).get(&ObjectKey::new(ns, name)).cloned();
        match (owner.kind.as_str(), group) {
            ("ReplicationController", "") => match get(ids::replication_controllers(), &owner.name).as_deref() {
                Some(Object::ReplicationController(rc)) if rc.metadata.uid.as_deref() == Some(&owner.uid) => {
                    Some((owner.uid.clone(), rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)))
                }
                _ => None,
            },
            ("ReplicaSet", "apps" | "extensions") => {
                let rs_obj = get(ids::replica_sets(), &owner.name)?;
                let Object::ReplicaSet(rs) = &*rs_obj else { return None };
                if rs.metadata.uid.as_deref() != Some(&owner.uid) {
                    return None;
                }
                match controller_of(rs.metadata.owner_references.as_ref()) {
                    Some(d) if d.kind == "Deployment" => match get(ids::deployments(), &d.name).as_deref() {
                        Some(Object::Deployment(dep)) if dep.metadata.uid.as_deref() == Some(&d.uid) => {
                            Some((d.uid.clone(), dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)))
                        }
                        _ => None,
                    },
                    _ => Some((owner.uid.clone(), rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1))),
                }
            }
            ("StatefulSet", "apps") => match get(ids::stateful_sets(), &owner.name).as_deref() {
                Some(Object::StatefulSet(ss)) if ss.metadata.uid.as_deref() == Some(&owner.uid) => {
                    Some((owner.uid.clone(), ss.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `trySync`'s arithmetic, pure.
    pub fn compute(cache: &Cache, pdb: &PodDisruptionBudget, pods: &[&Pod], now: VirtualTime) -> Result<Computed, String> {
        let spec = pdb.spec.clone().unwrap_or_default();
        let (mut expected, mut desired, mut unmanaged) = (0, 0, Vec::new());
        if let Some(max) = &spec.max_unavailable {
            let (e, u) = Self::expected_scale(cache, pods)?;
            expected = e;
            unmanaged = u;
            desired = (expected - scaled_value(max, expected)?).max(0);
        } else if let Some(min) = &spec.min_available {
            match min {
                IntOrString::Int(i) => {
                    desired = *i;
                    expected = pods.len() as i32;
                }
                IntOrString::String(_) => {
                    let (e, u) = Self::expected_scale(cache, pods)?;
                    expected = e;
                    unmanaged = u;
                    desired = scaled_value(min, expected)?;
                }
            }
        }
        // buildDisruptedPodMap: evictions still expected to complete.
        let mut disrupted = BTreeMap::new();
        let mut recheck: Option<VirtualTime> = None;
        let recorded = pdb.status.as_ref().and_then(|s| s.disrupted_pods.clone()).unwrap_or_default();
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let name = pod.metadata.name.clone().unwrap_or_default();
            let Some(at) = recorded.get(&name) else { continue };
            let expires = virtual_of(at).plus_millis(DELETION_TIMEOUT_MS);
            if expires > now {
                recheck = Some(recheck.map_or(expires, |r: VirtualTime| r.min(expires)));
                disrupted.insert(name, at.clone());
            }
        }
        let current = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or("")))
            .filter(|p| pod_ready(p))
            .count() as i32;
        Ok(Computed { expected, desired_healthy: desired, current_healthy: current, disrupted, recheck, unmanaged })
    }

    fn pods_for<'c>(cache: &'c Cache, pdb: &'c PodDisruptionBudget) -> Vec<&'c Pod> {
        let ns = pdb.metadata.namespace.as_deref().unwrap_or("");
        let Some(selector) = selector_of(pdb) else { return Vec::new() };
        cache
            .of(ids::pods())
            .in_namespace(ns)
            .filter_map(|o| match &**o {
                Object::Pod(p) if selector.matches(p.metadata.labels.as_ref()) => Some(&**p),
                _ => None,
            })
            .collect()
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ()> {
        let Some(obj) = cache.of(pdb_resource()).get(key).cloned() else { return Ok(None) };
        let Object::PodDisruptionBudget(pdb) = &*obj else { return Ok(None) };
        let pods = Self::pods_for(cache, pdb);
        if pods.is_empty() {
            self.recorder.record(ctx.api, &obj, NORMAL, "NoPods", "No matching pods found");
        }
        let now_time = api_time(ctx.now);
        let status = match Self::compute(cache, pdb, &pods, ctx.now) {
            Ok(c) => {
                if !c.unmanaged.is_empty() {
                    let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()).map(label_selector_string).unwrap_or_else(|| "nil".into());
                    self.recorder.record(
                        ctx.api,
                        &obj,
                        WARNING,
                        "UnmanagedPods",
                        format!("Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."),
                    );
                }
                let allowed = if c.expected <= 0 { 0 } else { (c.current_healthy - c.desired_healthy).max(0) };
                let mut next = pdb.clone();
                next.status = Some(PodDisruptionBudgetStatus {
                    current_healthy: c.current_healthy,
                    desired_healthy: c.desired_healthy,
                    expected_pods: c.expected,
                    disruptions_allowed: allowed,
                    disrupted_pods: (!c.disrupted.is_empty()).then_some(c.disrupted.clone()),
                    observed_generation: pdb.metadata.generation,
                    conditions: pdb.status.as_ref().and_then(|s| s.conditions.clone()),
                });
                update_disruption_allowed_condition(&mut next, &now_time);
                Ok((next, c.recheck))
            }
            Err(e) => {
                self.recorder.record(ctx.api, &obj, WARNING, "CalculateExpectedPodCountFailed", format!("Failed to calculate the number of expected pods: {e}"));
                Err(e)
            }
        };
        let (next, recheck) = match status {
            Ok(x) => x,
            Err(e) => {
                // failSafe: no disruptions until the status can be computed.
                let mut next = pdb.clone();
                let s = next.status.get_or_insert_with(Default::default);
                s.disruptions_allowed = 0;
                let conditions = s.conditions.get_or_insert_with(Vec::new);
                match conditions.iter_mut().find(|c| c.type_ == "DisruptionAllowed") {
                    Some(c) => {
                        if c.status != "False" {
                            c.last_transition_time = now_time.clone();
                        }
                        c.status = "False".into();
                        c.reason = "SyncFailed".into();
                        c.message = e;
                    }
                    None => conditions.push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                        type_: "DisruptionAllowed".into(),
                        status: "False".into(),
                        reason: "SyncFailed".into(),
                        message: e,
                        last_transition_time: now_time.clone(),
                        observed_generation: pdb.metadata.generation,
                    }),
                }
                (next, None)
            }
        };
        if next.status != pdb.status {
            ctx.api.update_status(Object::PodDisruptionBudget(next)).map_err(|_| ())?;
        }
        Ok(recheck)
    }

    /// `syncStalePodDisruption`: a `DisruptionTarget` condition older than 2
    /// minutes on a pod that is not deleting is set to False.
    fn sync_stale(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ()> {
        let Some(obj) = cache.of(ids::pods()).get(key) else { return Ok(None) };
        let Object::Pod(pod) = &**obj else { return Ok(None) };
        let Some(since) = stale_since(pod) else { return Ok(None) };
        let due = since.plus_millis(STALE_POD_DISRUPTION_TIMEOUT_MS);
        if due > ctx.now {
            return Ok(Some(due));
        }
        ctx.api
            .modify(ids::pods(), &key.namespace, &key.name, true, |o| {
                let Object::Pod(p) = o else { return false };
                let Some(c) = p.status_mut_if_any().and_then(|s| s.conditions.as_mut()).and_then(|cs| cs.iter_mut().find(|c| c.type_ == "DisruptionTarget")) else { return false };
                if c.status == "False" {
                    return false;
                }
                c.status = "False".into();
                true
            })
            .map_err(|_| ())?;
        Ok(None)
    }
}

/// When a non-terminating, non-finished pod got a `DisruptionTarget=True`
/// condition that may go stale (not the kubelet's own).
fn stale_since(pod: &Pod) -> Option<VirtualTime> {
    if pod.metadata.deletion_timestamp.is_some() || matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed")) {
        return None;
    }
    let c = pod.status.as_ref()?.condition("DisruptionTarget")?;
    if c.status != "True" || c.reason == Some("TerminationByKubelet") {
        return None;
    }
    Some(c.last_transition_time.as_ref().map(virtual_of).unwrap_or(VirtualTime::ZERO))
}

impl Controller for DisruptionController {
    fn name(&self) -> &str {
        "disruption-controller"
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![pdb_resource(), ids::pods(), ids::replica_sets(), ids::deployments(), ids::stateful_sets(), ids::replication_controllers()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let watches = self.watches();
        let was_primed = self.primed;
        if !primed(&mut self.primed, &mut self.queue, cache, &watches, pdb_resource()) {
            return;
        }
        if !was_primed {
            for o in cache.of(ids::pods()).items() {
                if let Object::Pod(p) = &**o {
                    if stale_since(p).is_some() {
                        self.stale.add(ObjectKey::of(o));
                    }
                }
            }
        }
        for ev in changes.of(pdb_resource()) {
            self.queue.add(ObjectKey::of(&ev.object));
        }
        let budgets = cache.of(pdb_resource());
        for ev in changes.of(ids::pods()) {
            let Object::Pod(pod) = &*ev.object else { continue };
            let ns = pod.metadata.namespace.as_deref().unwrap_or("");
            let matching: Vec<ObjectKey> = budgets
                .in_namespace(ns)
                .filter(|o| matches!(&***o, Object::PodDisruptionBudget(p) if selector_of(p).is_some_and(|s| s.matches(pod.metadata.labels.as_ref()))))
                .map(|o| ObjectKey::of(o))
                .collect();
            if matching.len() > 1 && ev.kind != crate::engine::apiserver::WatchEventType::Deleted {
                let msg = format!("Pod \"{}\"/\"{}\" matches multiple PodDisruptionBudgets.  Chose \"{}\" arbitrarily.", ns, pod.metadata.name.as_deref().unwrap_or(""), matching[0].name);
                self.recorder.record(ctx.api, &ev.object, WARNING, "MultiplePodDisruptionBudgets", msg);
            }
            if let Some(first) = matching.into_iter().next() {
                self.queue.add(first);
            }
            if stale_since(pod).is_some() {
                self.stale.add(ObjectKey::of(&ev.object));
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
        let mut stale = std::mem::take(&mut self.stale);
        drain(&mut stale, ctx, |ctx, key| self.sync_stale(ctx, cache, key));
        self.stale = stale;
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.stale.clear();
        self.primed = false;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit;
    use serde_json::json;

    #[test]
    fn scaled_values_round_up() {
        assert_eq!(scaled_value(&IntOrString::Int(2), 5), Ok(2));
        assert_eq!(scaled_value(&IntOrString::String("50%".into()), 3), Ok(2));
        assert_eq!(scaled_value(&IntOrString::String("34%".into()), 3), Ok(2));
        assert!(scaled_value(&IntOrString::String("two".into()), 3).is_err());
    }

    #[test]
    fn selector_prints_as_go_does() {
        let s: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "web"}})).unwrap();
        assert_eq!(label_selector_string(&s), "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}");
    }

    #[test]
    fn status_follows_ready_pods_and_evictions() {
        let mut sim = testkit::sim();
        let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}});
        sim.api.create(Object::from_json(pdb_resource(), pdb).unwrap()).unwrap();
        for i in 0..3 {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{i}"), "namespace": "default", "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
            sim.api.create(Object::from_json(ids::pods(), pod).unwrap()).unwrap();
        }
        sim.run_for_ms(5_000);
        let status = |sim: &crate::engine::sim::Sim| match &*sim.api.get(pdb_resource(), "default", "web").unwrap() {
            Object::PodDisruptionBudget(p) => p.status.clone().unwrap_or_default(),
            _ => Default::default(),
        };
        let s = status(&sim);
        assert_eq!((s.expected_pods, s.desired_healthy, s.current_healthy, s.disruptions_allowed), (3, 2, 3, 1));
        let c = &s.conditions.unwrap()[0];
        assert_eq!((c.type_.as_str(), c.status.as_str(), c.reason.as_str()), ("DisruptionAllowed", "True", "SufficientPods"));
        // An eviction takes the one allowed disruption; the next is refused.
        sim.api.evict("default", "web-0", &Default::default()).unwrap();
        let refused = sim.api.evict("default", "web-1", &Default::default()).unwrap_err();
        assert_eq!(refused.message, "Cannot evict pod as it would violate the pod's disruption budget.");
        sim.run_for_ms(100);
        let s = status(&sim);
        assert_eq!((s.current_healthy, s.disruptions_allowed), (2, 0));
        assert_eq!(s.conditions.unwrap()[0].reason, "InsufficientPods");
        // Once the evicted pod is gone the budget is recomputed from what is left.
        sim.run_for_ms(5_000);
        let s = status(&sim);
        assert_eq!((s.expected_pods, s.current_healthy, s.disruptions_allowed), (2, 2, 0));
        assert!(s.disrupted_pods.is_none());
    }
}
