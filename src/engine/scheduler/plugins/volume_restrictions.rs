//! VolumeRestrictions: a disk that can be attached once (GCE PD unless
//! every user mounts it read-only, AWS EBS, iSCSI and RBD likewise) keeps
//! a second pod off the node that uses it; a `ReadWriteOncePod` claim
//! already used by a pod keeps every other pod unschedulable.

use k8s_openapi::api::core::v1::Volume;

use super::volume_binding::claim_not_found;
use super::{CycleState, Handle};
use crate::engine::api::Object;
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status};

pub const NAME: &str = "VolumeRestrictions";
pub const REASON_DISK_CONFLICT: &str = "node(s) had no available disk";
pub const REASON_READ_WRITE_ONCE_POD: &str = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

/// What PreFilter found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Whether the pod has a volume of a kind that conflicts per node.
    pub check_disks: bool,
    /// Pods already using one of the pod's `ReadWriteOncePod` claims.
    pub conflicting_claim_users: u32,
}

/// A volume kind that can be attached to one node (or writable by one pod) only.
pub fn needs_disk_check(v: &Volume) -> bool {
    v.gce_persistent_disk.is_some() || v.aws_elastic_block_store.is_some() || v.rbd.is_some() || v.iscsi.is_some()
}

/// `isVolumeConflict`: the same disk mounted writable twice.
pub fn volumes_conflict(v: &Volume, existing: &[Volume]) -> bool {
    existing.iter().any(|e| {
        if let (Some(a), Some(b)) = (&v.gce_persistent_disk, &e.gce_persistent_disk) {
            if a.pd_name == b.pd_name && !(a.read_only == Some(true) && b.read_only == Some(true)) {
                return true;
            }
        }
        if let (Some(a), Some(b)) = (&v.aws_elastic_block_store, &e.aws_elastic_block_store) {
            if a.volume_id == b.volume_id {
                return true;
            }
        }
        if let (Some(a), Some(b)) = (&v.iscsi, &e.iscsi) {
            if a.iqn == b.iqn && !(a.read_only == Some(true) && b.read_only == Some(true)) {
                return true;
            }
        }
        if let (Some(a), Some(b)) = (&v.rbd, &e.rbd) {
            let overlap = a.monitors.iter().any(|m| b.monitors.contains(m));
            if overlap && a.pool == b.pool && a.image == b.image && !(a.read_only == Some(true) && b.read_only == Some(true)) {
                return true;
            }
        }
        false
    })
}

/// PreFilter: looks up the pod's claims (a missing one ends the attempt)
/// and counts the users of its `ReadWriteOncePod` ones. `Ok(None)` (Skip)
/// when there is nothing to check.
pub fn pre_filter(h: &Handle, pod: &PodInfo) -> Result<Option<State>, Status> {
    let volumes = pod.pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or(&[]);
    let mut state = State { check_disks: volumes.iter().any(needs_disk_check), conflicting_claim_users: 0 };
    for v in volumes {
        let Some(c) = &v.persistent_volume_claim else { continue };
        let Some(pvc) = h.listers.claim(pod.namespace, &c.claim_name) else {
            return Err(Status::unresolvable(claim_not_found(&c.claim_name)));
        };
        let modes = pvc.spec.as_ref().and_then(|s| s.access_modes.as_deref()).unwrap_or(&[]);
        if modes.iter().any(|m| m == "ReadWriteOncePod") {
            state.conflicting_claim_users += h.cache.claim_users(&format!("{}/{}", pod.namespace, c.claim_name));
        }
    }
    if !state.check_disks && state.conflicting_claim_users == 0 {
        return Ok(None);
    }
    Ok(Some(state))
}

pub fn filter(h: &Handle, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
    let Some(s) = &state.volume_restrictions else { return Status::SUCCESS };
    if s.check_disks {
        let volumes = pod.pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or(&[]);
        for (_, other) in h.cache.pods_seen_by(node) {
            let Object::Pod(other) = &**other else { continue };
            let existing = other.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or(&[]);
            if volumes.iter().filter(|v| needs_disk_check(v)).any(|v| volumes_conflict(v, existing)) {
                return Status::unschedulable(REASON_DISK_CONFLICT);
            }
        }
    }
    if s.conflicting_claim_users > 0 {
        return Status::unschedulable(REASON_READ_WRITE_ONCE_POD);
    }
    Status::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vol(v: serde_json::Value) -> Volume {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn disk_conflict_table() {
        let pd = |name: &str, ro: bool| vol(json!({"name": "v", "gcePersistentDisk": {"pdName": name, "readOnly": ro}}));
        let ebs = |id: &str| vol(json!({"name": "v", "awsElasticBlockStore": {"volumeID": id}}));
        let rbd = |mons: &[&str], image: &str| vol(json!({"name": "v", "rbd": {"monitors": mons, "image": image, "pool": "rbd"}}));
        let cases = [
            (pd("a", false), vec![pd("a", false)], true),
            (pd("a", true), vec![pd("a", true)], false),
            (pd("a", true), vec![pd("a", false)], true),
            (pd("a", false), vec![pd("b", false)], false),
            (ebs("vol-1"), vec![ebs("vol-1")], true),
            (ebs("vol-1"), vec![ebs("vol-2")], false),
            (rbd(&["m1", "m2"], "img"), vec![rbd(&["m2"], "img")], true),
            (rbd(&["m1"], "img"), vec![rbd(&["m2"], "img")], false),
        ];
        for (i, (v, existing, want)) in cases.iter().enumerate() {
            assert_eq!(volumes_conflict(v, existing), *want, "case {i}");
        }
    }
}
