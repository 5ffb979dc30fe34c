//! VolumeBinding: a pod's PersistentVolumeClaims decide where it may run.
//!
//! - PreFilter: every claim must exist and not be lost or deleting; a claim
//!   of an `Immediate` class must already be bound (the PV controller binds
//!   those); bound local volumes pinned to hostnames narrow the nodes.
//! - Filter: bound volumes' node affinity must match the node; each
//!   unbound `WaitForFirstConsumer` claim needs an Available volume that
//!   matches it (class, size, access modes, volume mode, selector, node
//!   affinity) or a class that can provision on the node.
//! - Reserve/PreBind: the scheduler writes its choice — the volume's
//!   `claimRef`, or the claim's `volume.kubernetes.io/selected-node` for
//!   the provisioner — then waits (up to 600 s) until every claim is bound
//!   before the pod is bound.

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};

use super::{node_affinity, CycleState, Handle};
use crate::engine::api::meta::controller_of;
use crate::engine::storage::{self, matching};
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status, LABEL_HOSTNAME};
use crate::engine::selector::Selector;

pub const NAME: &str = "VolumeBinding";
pub const REASON_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
pub const REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const REASON_NOT_ENOUGH_SPACE: &str = "node(s) did not have enough free storage";
pub const REASON_PV_NOT_EXIST: &str = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
pub const REASON_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
pub use crate::engine::storage::{claim_class, volume_class, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE};
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// `VolumeBindingArgs.BindTimeoutSeconds` default.
pub const BIND_TIMEOUT_MS: u64 = 600_000;
/// How often PreBind looks at the claims while it waits.
pub const BIND_POLL_MS: u64 = 1_000;

/// What PreFilter found out about the pod's claims.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub bound: Vec<PersistentVolumeClaim>,
    /// Unbound claims of `WaitForFirstConsumer` classes.
    pub delayed: Vec<PersistentVolumeClaim>,
    /// Candidate volumes for the delayed claims, by class.
    pub volumes_by_class: BTreeMap<String, Vec<PersistentVolume>>,
}

/// What binding the pod's volumes on one node takes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodVolumes {
    /// (volume with its claimRef set, claim) pairs.
    pub static_bindings: Vec<(PersistentVolume, PersistentVolumeClaim)>,
    /// Claims the class's provisioner is to provision on this node.
    pub dynamic_provisions: Vec<PersistentVolumeClaim>,
}

impl PodVolumes {
    pub fn is_empty(&self) -> bool {
        self.static_bindings.is_empty() && self.dynamic_provisions.is_empty()
    }
}

fn claim_volume_name(pvc: &PersistentVolumeClaim) -> &str {
    pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("")
}

fn claim_key(pvc: &PersistentVolumeClaim) -> String {
    format!("{}/{}", pvc.metadata.namespace.as_deref().unwrap_or(""), pvc.metadata.name.as_deref().unwrap_or(""))
}

/// Bound as far as the scheduler is concerned: a volume name and the PV
/// controller's `bind-completed` mark (or the Bound phase it sets with it).
pub fn is_fully_bound(pvc: &PersistentVolumeClaim) -> bool {
    !claim_volume_name(pvc).is_empty()
        && (pvc.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANN_BIND_COMPLETED))
            || pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
}

/// `CheckNodeAffinity`: the volume's required node affinity matches the node's labels.
pub fn volume_fits_node(pv: &PersistentVolume, labels: &BTreeMap<String, String>) -> bool {
    match pv.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref()) {
        None => true,
        Some(required) => required.node_selector_terms.iter().any(|t| node_affinity::term_matches(t, labels, "")),
    }
}

/// `FindMatchingVolume` on the scheduler's path (node given).
pub fn find_matching_volume<'v>(
    pvc: &PersistentVolumeClaim,
    volumes: &'v [PersistentVolume],
    node: &NodeInfo,
    excluded: &BTreeSet<String>,
) -> Option<&'v PersistentVolume> {
    let refs: Vec<&PersistentVolume> = volumes.iter().collect();
    let node = matching::NodeRef { name: &node.name, labels: node.labels() };
    matching::find_matching_volume(pvc, &refs, Some(node), excluded, true)
}

fn storage_request(pvc: &PersistentVolumeClaim) -> i64 {
    storage::requested_storage(pvc).value()
}

fn quantity_value(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> Option<i64> {
    crate::engine::quantity::parse_stored(q).map(|q| q.value())
}

/// `GetBindVolumeToClaim`: the volume with its `claimRef` pointing at the
/// claim, marked `bound-by-controller` unless the user pre-bound it.
pub fn bind_volume_to_claim(pv: &PersistentVolume, pvc: &PersistentVolumeClaim) -> PersistentVolume {
    let mut out = pv.clone();
    let pre_bound = storage::is_volume_bound_to_claim(pv, pvc);
    let spec = out.spec.get_or_insert_with(Default::default);
    let same = spec.claim_ref.as_ref().is_some_and(|r| {
        r.name.as_deref() == pvc.metadata.name.as_deref() && r.namespace.as_deref() == pvc.metadata.namespace.as_deref() && r.uid.as_deref() == pvc.metadata.uid.as_deref()
    });
    if !same {
        spec.claim_ref = Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("PersistentVolumeClaim".into()),
            name: pvc.metadata.name.clone(),
            namespace: pvc.metadata.namespace.clone(),
            uid: pvc.metadata.uid.clone(),
            resource_version: pvc.metadata.resource_version.clone(),
            field_path: None,
        });
    }
    if !pre_bound {
        out.metadata.annotations.get_or_insert_with(Default::default).entry(ANN_BOUND_BY_CONTROLLER.into()).or_insert_with(|| "yes".into());
    }
    out
}

/// The claim names the pod's volumes use, in volume order, with whether each
/// is a generic ephemeral volume's.
pub fn pod_claims(pod: &PodInfo) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for v in pod.pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if let Some(c) = &v.persistent_volume_claim {
            out.push((c.claim_name.clone(), false));
        } else if v.ephemeral.is_some() {
            out.push((format!("{}-{}", pod.name(), v.name), true));
        }
    }
    out
}

/// `persistentvolumeclaim "x" not found`, as the lister's error reads.
pub fn claim_not_found(name: &str) -> String {
    format!("persistentvolumeclaim \"{name}\" not found")
}

/// The ephemeral volume's claim must belong to the pod.
pub fn ephemeral_claim_check(pod: &PodInfo, pvc: &PersistentVolumeClaim) -> Result<(), String> {
    let owner = controller_of(pvc.metadata.owner_references.as_ref());
    if owner.is_some_and(|o| o.uid == pod.uid()) {
        return Ok(());
    }
    Err(format!("PVC {}/{} was not created for pod {}/{} (pod is not owner)", pod.namespace, pvc.metadata.name.as_deref().unwrap_or(""), pod.namespace, pod.name()))
}

/// The only nodes a pod may use (`None`: any node).
pub type EligibleNodes = Option<BTreeSet<String>>;

/// PreFilter. `Ok(None)` (Skip) for a pod without claims; otherwise the
/// state, and the nodes bound local volumes pin the pod to.
pub fn pre_filter(h: &Handle, pod: &PodInfo) -> Result<Option<(State, EligibleNodes)>, Status> {
    let claims = pod_claims(pod);
    if claims.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for (name, ephemeral) in &claims {
        let Some(pvc) = h.listers.claim(pod.namespace, name) else {
            if *ephemeral {
                return Err(Status::unresolvable(format!("waiting for ephemeral volume controller to create the persistentvolumeclaim \"{name}\"")));
            }
            return Err(Status::unresolvable(claim_not_found(name)));
        };
        if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Lost") {
            return Err(Status::unresolvable(format!("persistentvolumeclaim \"{name}\" bound to non-existent persistentvolume \"{}\"", claim_volume_name(pvc))));
        }
        if pvc.metadata.deletion_timestamp.is_some() {
            return Err(Status::unresolvable(format!("persistentvolumeclaim \"{name}\" is being deleted")));
        }
        if *ephemeral {
            ephemeral_claim_check(pod, pvc).map_err(Status::unresolvable)?;
        }
        found.push(pvc.clone());
    }
    let mut state = State { bound: Vec::new(), delayed: Vec::new(), volumes_by_class: BTreeMap::new() };
    for pvc in found {
        if is_fully_bound(&pvc) {
            state.bound.push(pvc);
            continue;
        }
        let class = claim_class(&pvc);
        let delayed = if class.is_empty() {
            false
        } else {
            match h.listers.storage_class(class) {
                None => false,
                Some(sc) => match sc.volume_binding_mode.as_deref() {
                    None => return Err(Status::error(format!("VolumeBindingMode not set for StorageClass \"{class}\""))),
                    Some(mode) => mode == "WaitForFirstConsumer",
                },
            }
        };
        if delayed && claim_volume_name(&pvc).is_empty() {
            state.delayed.push(pvc);
        } else {
            return Err(Status::unresolvable(REASON_UNBOUND_IMMEDIATE));
        }
    }
    for pvc in &state.delayed {
        let class = claim_class(pvc).to_string();
        if let std::collections::btree_map::Entry::Vacant(slot) = state.volumes_by_class.entry(class) {
            let class = slot.key();
            let volumes: Vec<PersistentVolume> = h.listers.volumes().filter(|v| volume_class(v) == *class).cloned().collect();
            slot.insert(volumes);
        }
    }
    let nodes = eligible_nodes(h, &state.bound);
    Ok(Some((state, nodes)))
}

/// `GetEligibleNodes`: bound volumes pinned to hostnames (`In` on
/// `kubernetes.io/hostname`) name the only nodes the pod can use.
fn eligible_nodes(h: &Handle, bound: &[PersistentVolumeClaim]) -> Option<BTreeSet<String>> {
    let mut eligible: Option<BTreeSet<String>> = None;
    for pvc in bound {
        let pv = h.listers.volume(claim_volume_name(pvc))?;
        let names = local_volume_node_names(pv);
        if names.is_empty() {
            continue;
        }
        eligible = Some(match eligible {
            None => names,
            Some(prev) => prev.intersection(&names).cloned().collect(),
        });
    }
    eligible
}

/// `GetLocalPersistentVolumeNodeNames`.
pub fn local_volume_node_names(pv: &PersistentVolume) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(required) = pv.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref()) else { return out };
    for term in &required.node_selector_terms {
        let mut nodes: Option<BTreeSet<String>> = None;
        for e in term.match_expressions.iter().flatten() {
            if e.key == LABEL_HOSTNAME && e.operator == "In" {
                let values: BTreeSet<String> = crate::engine::sort::insert_all(e.values.iter().flatten().cloned());
                nodes = Some(match nodes {
                    None => values,
                    Some(prev) => prev.intersection(&values).cloned().collect(),
                });
            }
        }
        out.extend(nodes.unwrap_or_default());
    }
    out
}

/// `FindPodVolumes`: the bindings the node would need, or why it cannot
/// have them. `Err` is an error, not a verdict.
pub fn find_pod_volumes(h: &Handle, state: &State, node: &NodeInfo) -> Result<(PodVolumes, Vec<&'static str>), String> {
    let labels = node.labels();
    let mut volumes = PodVolumes::default();
    let mut reasons = Vec::new();
    for pvc in &state.bound {
        let Some(pv) = h.listers.volume(claim_volume_name(pvc)) else {
            reasons.push(REASON_PV_NOT_EXIST);
            return Ok((volumes, reasons));
        };
        if !volume_fits_node(pv, labels) {
            reasons.push(REASON_NODE_CONFLICT);
            return Ok((volumes, reasons));
        }
    }
    if state.delayed.is_empty() {
        return Ok((volumes, reasons));
    }
    let mut to_match = Vec::new();
    let mut to_provision = Vec::new();
    for pvc in &state.delayed {
        match pvc.metadata.annotations.as_ref().and_then(|a| a.get(ANN_SELECTED_NODE)) {
            Some(selected) if selected.as_str() != &*node.name => {
                reasons.push(REASON_BIND_CONFLICT);
                return Ok((volumes, reasons));
            }
            Some(_) => to_provision.push(pvc),
            None => to_match.push(pvc),
        }
    }
    let mut satisfied = true;
    if !to_match.is_empty() {
        // Smallest requests first, so they take the smallest volumes.
        to_match.sort_stable_by_key(|pvc| storage_request(pvc));
        let mut chosen = BTreeSet::new();
        for pvc in to_match {
            let candidates = state.volumes_by_class.get(claim_class(pvc)).map(Vec::as_slice).unwrap_or(&[]);
            match find_matching_volume(pvc, candidates, node, &chosen) {
                Some(pv) => {
                    chosen.insert(pv.metadata.name.clone().unwrap_or_default());
                    volumes.static_bindings.push((bind_volume_to_claim(pv, pvc), pvc.clone()));
                }
                None => {
                    satisfied = false;
                    to_provision.push(pvc);
                }
            }
        }
    }
    let mut sufficient = true;
    if !to_provision.is_empty() {
        let (ok, enough, provisions) = check_provisions(h, &to_provision, node)?;
        satisfied = ok;
        sufficient = enough;
        volumes.dynamic_provisions = provisions;
    }
    if !satisfied {
        reasons.push(REASON_BIND_CONFLICT);
    }
    if !sufficient {
        reasons.push(REASON_NOT_ENOUGH_SPACE);
    }
    Ok((volumes, reasons))
}

/// `checkVolumeProvisions`: (provisioning possible, enough space, claims).
fn check_provisions(h: &Handle, claims: &[&PersistentVolumeClaim], node: &NodeInfo) -> Result<(bool, bool, Vec<PersistentVolumeClaim>), String> {
    let mut out = Vec::new();
    for pvc in claims {
        let class_name = claim_class(pvc);
        if class_name.is_empty() {
            return Err(format!("no class for claim \"{}\"", claim_key(pvc)));
        }
        let Some(class) = h.listers.storage_class(class_name) else {
            return Err(format!("failed to find storage class \"{class_name}\""));
        };
        if class.provisioner.is_empty() || class.provisioner == NO_PROVISIONER {
            return Ok((false, true, Vec::new()));
        }
        if !topology_terms_match(class.allowed_topologies.as_deref().unwrap_or(&[]), node.labels()) {
            return Ok((false, true, Vec::new()));
        }
        if !has_enough_capacity(h, &class.provisioner, pvc, class_name, node) {
            return Ok((true, false, Vec::new()));
        }
        out.push((*pvc).clone());
    }
    Ok((true, true, out))
}

/// `MatchTopologySelectorTerms`: no terms match every node; a term matches
/// when each of its expressions has the node's value among its values.
pub fn topology_terms_match(terms: &[k8s_openapi::api::core::v1::TopologySelectorTerm], labels: &BTreeMap<String, String>) -> bool {
    if terms.is_empty() {
        return true;
    }
    terms.iter().any(|t| {
        let exprs = t.match_label_expressions.as_deref().unwrap_or(&[]);
        !exprs.is_empty() && exprs.iter().all(|e| labels.get(&e.key).is_some_and(|v| e.values.contains(v)))
    })
}

/// Storage capacity tracking: only for CSI drivers that opt in; then some
/// CSIStorageCapacity of the class that the node can reach must hold the claim.
fn has_enough_capacity(h: &Handle, provisioner: &str, pvc: &PersistentVolumeClaim, class: &str, node: &NodeInfo) -> bool {
    let has_request = pvc.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()).is_some_and(|r| r.contains_key("storage"));
    if !has_request || !h.listers.csi_driver_tracks_capacity(provisioner) {
        return true;
    }
    let size = storage_request(pvc);
    h.listers.storage_capacities().any(|c| {
        let limit = c.maximum_volume_size.as_ref().or(c.capacity.as_ref()).and_then(quantity_value);
        c.storage_class_name == class
            && limit.is_some_and(|l| l >= size)
            && c.node_topology.as_ref().is_some_and(|t| Selector::from_api(t).matches(Some(node.labels())))
    })
}

pub fn filter(h: &Handle, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
    let Some(s) = &state.volume_binding else { return Status::SUCCESS };
    match find_pod_volumes(h, s, node) {
        Ok((_, reasons)) if reasons.is_empty() => Status::SUCCESS,
        Ok((_, reasons)) => Status { code: crate::engine::scheduler::framework::Code::UnschedulableAndUnresolvable, reasons: reasons.into_iter().map(Into::into).collect() },
        Err(e) => Status::error(e),
    }
}

/// What `checkBindings` concludes while PreBind waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingCheck {
    Done,
    Waiting,
    Failed(String),
}

/// `checkBindings`: are the volumes and claims the scheduler wrote bound yet?
pub fn check_bindings(h: &Handle, volumes: &PodVolumes, node: &NodeInfo) -> BindingCheck {
    let labels = node.labels();
    for (pv, pvc) in &volumes.static_bindings {
        let name = pv.metadata.name.as_deref().unwrap_or("");
        let (Some(api_pv), Some(api_pvc)) = (h.listers.api_volume(name), h.listers.api_claim(pvc.metadata.namespace.as_deref().unwrap_or(""), pvc.metadata.name.as_deref().unwrap_or("")))
        else {
            return BindingCheck::Failed(format!("failed to check binding: volume or claim of {} is gone", claim_key(pvc)));
        };
        if older(api_pv.metadata.resource_version.as_deref(), pv.metadata.resource_version.as_deref()) {
            return BindingCheck::Waiting;
        }
        if !volume_fits_node(api_pv, labels) {
            return BindingCheck::Failed(format!("pv \"{name}\" node affinity doesn't match node \"{}\": no matching NodeSelectorTerms", node.name));
        }
        if api_pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none_or(|r| r.uid.as_deref().unwrap_or("").is_empty()) {
            return BindingCheck::Failed(format!("ClaimRef got reset for pv \"{name}\""));
        }
        if !is_fully_bound(api_pvc) {
            return BindingCheck::Waiting;
        }
    }
    for claim in &volumes.dynamic_provisions {
        let ns = claim.metadata.namespace.as_deref().unwrap_or("");
        let name = claim.metadata.name.as_deref().unwrap_or("");
        let Some(pvc) = h.listers.api_claim(ns, name) else {
            return BindingCheck::Failed(format!("failed to check provisioning pvc: persistentvolumeclaim \"{name}\" not found"));
        };
        if older(pvc.metadata.resource_version.as_deref(), claim.metadata.resource_version.as_deref()) {
            return BindingCheck::Waiting;
        }
        let selected = pvc.metadata.annotations.as_ref().and_then(|a| a.get(ANN_SELECTED_NODE));
        match selected {
            None if pvc.metadata.annotations.is_none() => return BindingCheck::Failed(format!("selectedNode annotation reset for PVC \"{name}\"")),
            Some(n) if n.as_str() == &*node.name => {}
            _ => return BindingCheck::Failed(format!("provisioning failed for PVC \"{name}\"")),
        }
        let volume = claim_volume_name(pvc);
        if !volume.is_empty() {
            let Some(pv) = h.listers.api_volume(volume) else { return BindingCheck::Waiting };
            if !volume_fits_node(pv, labels) {
                return BindingCheck::Failed(format!("pv \"{volume}\" node affinity doesn't match node \"{}\": no matching NodeSelectorTerms", node.name));
            }
        }
        if !is_fully_bound(pvc) {
            return BindingCheck::Waiting;
        }
    }
    BindingCheck::Done
}

/// Whether the informer's version is older than the one the scheduler wrote.
fn older(seen: Option<&str>, written: Option<&str>) -> bool {
    let parse = |v: Option<&str>| v.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    parse(seen) < parse(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::Object;
    use crate::engine::scheduler::cache::Cache;
    use crate::engine::scheduler::listers::Listers;
    use crate::engine::scheduler::plugins::testing::{info, node, pod};
    use serde_json::{json, Value};
    use std::rc::Rc;

    fn class(name: &str, mode: &str, provisioner: &str) -> Rc<Object> {
        Rc::new(Object::StorageClass(
            serde_json::from_value(json!({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode})).unwrap(),
        ))
    }

    fn claim(name: &str, class: &str, size: &str, extra: Value) -> Rc<Object> {
        let mut c = json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
            "status": {"phase": "Pending"}});
        merge(&mut c, extra);
        Rc::new(Object::PersistentVolumeClaim(serde_json::from_value(c).unwrap()))
    }

    fn volume(name: &str, class: &str, size: &str, host: Option<&str>, extra: Value) -> Rc<Object> {
        let mut v = json!({"metadata": {"name": name}, "spec": {"storageClassName": class, "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/x"}}, "status": {"phase": "Available"}});
        if let Some(h) = host {
            v["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [h]}]}]}});
        }
        merge(&mut v, extra);
        Rc::new(Object::PersistentVolume(serde_json::from_value(v).unwrap()))
    }

    fn merge(into: &mut Value, extra: Value) {
        match (into, extra) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (slot, v) => *slot = v,
        }
    }

    fn using(claims: &[&str]) -> crate::engine::api::pod::Pod {
        let volumes: Vec<Value> = claims.iter().map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}})).collect();
        pod(json!({"metadata": {"name": "p", "uid": "pod-uid"}, "spec": {"containers": [{"name": "c"}], "volumes": volumes}}))
    }

    fn host(name: &str) -> crate::engine::scheduler::framework::NodeInfo {
        node(json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}))
    }

    #[test]
    fn pre_filter_table() {
        let objects = vec![
            class("fast", "Immediate", "example.com/fast"),
            class("local", "WaitForFirstConsumer", "rancher.io/local-path"),
            claim("unbound-immediate", "fast", "1Gi", json!({})),
            claim("bound", "fast", "1Gi", json!({"spec": {"volumeName": "pv-bound"}, "status": {"phase": "Bound"}})),
            claim("lost", "fast", "1Gi", json!({"spec": {"volumeName": "gone"}, "status": {"phase": "Lost"}})),
            claim("wffc", "local", "1Gi", json!({})),
            volume("pv-bound", "fast", "1Gi", Some("n1"), json!({"spec": {"claimRef": {"name": "bound", "namespace": "default"}}, "status": {"phase": "Bound"}})),
        ];
        let listers = Listers::with_objects(objects);
        let cache = Cache::default();
        let h = Handle { cache: &cache, listers: &listers };
        let run = |claims: &[&str]| {
            let p = using(claims);
            pre_filter(&h, &info(&p)).map(|r| r.map(|(s, names)| (s.bound.len(), s.delayed.len(), names)))
        };
        assert_eq!(run(&[]), Ok(None), "no claims: Skip");
        assert_eq!(run(&["missing"]), Err(Status::unresolvable("persistentvolumeclaim \"missing\" not found")));
        assert_eq!(run(&["unbound-immediate"]), Err(Status::unresolvable(REASON_UNBOUND_IMMEDIATE)));
        assert_eq!(run(&["lost"]), Err(Status::unresolvable("persistentvolumeclaim \"lost\" bound to non-existent persistentvolume \"gone\"")));
        let n1: BTreeSet<String> = ["n1".to_string()].into();
        assert_eq!(run(&["bound"]), Ok(Some((1, 0, Some(n1)))), "a bound local volume pins the pod to its node");
        assert_eq!(run(&["wffc"]), Ok(Some((0, 1, None))));
    }

    #[test]
    fn filter_table() {
        let objects = vec![
            class("local", "WaitForFirstConsumer", "rancher.io/local-path"),
            class("manual", "WaitForFirstConsumer", NO_PROVISIONER),
            claim("wffc", "local", "1Gi", json!({})),
            claim("static", "manual", "2Gi", json!({})),
            claim("picked", "local", "1Gi", json!({"metadata": {"annotations": {ANN_SELECTED_NODE: "n2"}}})),
            claim("bound", "manual", "1Gi", json!({"spec": {"volumeName": "pv-n1"}, "status": {"phase": "Bound"}})),
            claim("dangling", "manual", "1Gi", json!({"spec": {"volumeName": "nowhere"}, "status": {"phase": "Bound"}})),
            volume("pv-n1", "manual", "1Gi", Some("n1"), json!({"spec": {"claimRef": {"name": "bound", "namespace": "default", "uid": "uid-bound"}}, "status": {"phase": "Bound"}})),
            volume("small-n1", "manual", "1Gi", Some("n1"), json!({})),
            volume("big-n1", "manual", "5Gi", Some("n1"), json!({})),
            volume("big-n2", "manual", "2Gi", Some("n2"), json!({})),
        ];
        let listers = Listers::with_objects(objects);
        let cache = Cache::default();
        let h = Handle { cache: &cache, listers: &listers };
        let verdict = |claims: &[&str], node_name: &str| {
            let p = using(claims);
            let i = info(&p);
            let state = match pre_filter(&h, &i) {
                Ok(Some((s, _))) => CycleState { volume_binding: Some(Rc::new(s)), ..Default::default() },
                other => panic!("{other:?}"),
            };
            filter(&h, &state, &i, &host(node_name))
        };
        let conflict = |r: &'static str| Status { code: crate::engine::scheduler::framework::Code::UnschedulableAndUnresolvable, reasons: vec![r.into()] };
        assert!(verdict(&["wffc"], "n1").is_success(), "a class with a provisioner provisions anywhere");
        assert!(verdict(&["static"], "n1").is_success(), "the 5Gi volume on n1 holds 2Gi");
        assert!(verdict(&["static"], "n2").is_success(), "the 2Gi volume on n2 fits exactly");
        assert_eq!(verdict(&["static"], "n3"), conflict(REASON_BIND_CONFLICT), "no volume reaches n3 and the class cannot provision");
        assert_eq!(verdict(&["picked"], "n1"), conflict(REASON_BIND_CONFLICT), "the provisioner already works for n2");
        assert!(verdict(&["picked"], "n2").is_success());
        assert!(verdict(&["bound"], "n1").is_success());
        assert_eq!(verdict(&["bound"], "n2"), conflict(REASON_NODE_CONFLICT));
        assert_eq!(verdict(&["dangling"], "n1"), conflict(REASON_PV_NOT_EXIST));
    }

    #[test]
    fn finds_the_smallest_matching_volume_and_binds_it() {
        let pvc = match &*claim("c", "manual", "2Gi", json!({})) {
            Object::PersistentVolumeClaim(c) => c.clone(),
            _ => unreachable!(),
        };
        let vols: Vec<PersistentVolume> = [
            volume("tiny", "manual", "1Gi", None, json!({})),
            volume("huge", "manual", "10Gi", None, json!({})),
            volume("right", "manual", "3Gi", None, json!({})),
            volume("other-class", "fast", "2Gi", None, json!({})),
            volume("released", "manual", "2Gi", None, json!({"status": {"phase": "Released"}})),
        ]
        .iter()
        .map(|o| match &**o {
            Object::PersistentVolume(v) => (**v).clone(),
            _ => unreachable!(),
        })
        .collect();
        let n = host("n1");
        let chosen = find_matching_volume(&pvc, &vols, &n, &BTreeSet::new()).map(|v| v.metadata.name.clone().unwrap_or_default());
        assert_eq!(chosen.as_deref(), Some("right"));
        let bound = bind_volume_to_claim(&vols[2], &pvc);
        let r = bound.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).unwrap();
        assert_eq!((r.name.as_deref(), r.namespace.as_deref(), r.uid.as_deref()), (Some("c"), Some("default"), Some("uid-c")));
        assert_eq!(bound.metadata.annotations.as_ref().and_then(|a| a.get(ANN_BOUND_BY_CONTROLLER)).map(String::as_str), Some("yes"));
    }
}
