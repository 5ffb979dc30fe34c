//! NodeVolumeLimits (CSI): a node's CSINode says how many volumes of each
//! CSI driver it can attach; a pod whose new volumes would exceed that
//! count does not fit. Volumes already attached for other pods on the node
//! count once each, however many pods share them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use crate::engine::api::pod::Pod;
use k8s_openapi::api::storage::v1::CSINode;

use super::volume_binding::{claim_class, claim_not_found};
use super::{CycleState, Handle};
use crate::engine::api::Object;
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status};

pub const NAME: &str = "NodeVolumeLimits";
pub const REASON: &str = "node(s) exceed max volume count";

/// PreFilter: the plugin runs only for pods with claims (directly or ephemeral).
pub fn pre_filter(pod: &PodInfo) -> bool {
    pod.has_claims
}

/// `driver → limit` from the node's CSINode.
pub fn volume_limits(csi_node: Option<&CSINode>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for d in csi_node.map(|c| c.spec.drivers.as_slice()).unwrap_or(&[]) {
        if let Some(count) = d.allocatable.as_ref().and_then(|a| a.count) {
            out.insert(d.name.clone(), count as i64);
        }
    }
    out
}

/// (driver, volume handle) of a claim: from its bound CSI volume, or, while
/// unbound, its class's provisioner and `<namespace>-<claim>`.
fn csi_volume(h: &Handle, pvc: &PersistentVolumeClaim) -> Option<(String, String)> {
    let volume_name = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("");
    if !volume_name.is_empty() {
        if let Some(pv) = h.listers.volume(volume_name) {
            let csi = pv.spec.as_ref()?.csi.as_ref()?;
            return Some((csi.driver.clone(), csi.volume_handle.clone()));
        }
    }
    let class = h.listers.storage_class(claim_class(pvc))?;
    let handle = format!("{}-{}", pvc.metadata.namespace.as_deref().unwrap_or(""), pvc.metadata.name.as_deref().unwrap_or(""));
    Some((class.provisioner.clone(), handle))
}

/// `filterAttachableVolumes`: unique volume → driver. A new pod's missing
/// claim is an error; an existing pod's is skipped.
fn attachable_volumes(h: &Handle, pod: &Pod, new_pod: bool, into: &mut BTreeMap<String, String>) -> Result<(), Status> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        let claim = match (&v.persistent_volume_claim, &v.ephemeral) {
            (Some(c), _) => c.claim_name.clone(),
            (None, Some(_)) => format!("{pod_name}-{}", v.name),
            _ => continue,
        };
        let Some(pvc) = h.listers.claim(ns, &claim) else {
            if new_pod {
                return Err(Status::unresolvable(format!("looking up PVC {ns}/{claim}: {}", claim_not_found(&claim))));
            }
            continue;
        };
        if let Some((driver, handle)) = csi_volume(h, pvc) {
            if !driver.is_empty() && !handle.is_empty() {
                into.insert(format!("{driver}/{handle}"), driver);
            }
        }
    }
    Ok(())
}

pub fn filter(h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
    if !state.volume_limits {
        return Status::SUCCESS;
    }
    let mut new_volumes = BTreeMap::new();
    if let Err(s) = attachable_volumes(h, pod.pod, true, &mut new_volumes) {
        return s;
    }
    if new_volumes.is_empty() {
        return Status::SUCCESS;
    }
    let limits = volume_limits(h.listers.csi_node(&node.name));
    if limits.is_empty() {
        return Status::SUCCESS;
    }
    let mut attached = BTreeMap::new();
    for (_, other) in h.cache.pods_seen_by(node) {
        if let Object::Pod(other) = &**other {
            let _ = attachable_volumes(h, other, false, &mut attached);
        }
    }
    let mut attached_count: BTreeMap<&str, i64> = BTreeMap::new();
    for (unique, driver) in &attached {
        new_volumes.remove(unique);
        *attached_count.entry(driver.as_str()).or_insert(0) += 1;
    }
    let mut new_count: BTreeMap<&str, i64> = BTreeMap::new();
    for driver in new_volumes.values() {
        *new_count.entry(driver.as_str()).or_insert(0) += 1;
    }
    for (driver, count) in new_count {
        if let Some(limit) = limits.get(driver) {
            if attached_count.get(driver).copied().unwrap_or(0) + count > *limit {
                return Status::unschedulable(REASON);
            }
        }
    }
    Status::SUCCESS
}
