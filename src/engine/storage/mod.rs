//! Storage as the PersistentVolume controller, the provisioners, the
//! scheduler's volume plugins and kubectl share it: the annotations and
//! finalizers that tie claims to volumes, class and access-mode helpers
//! (k8s.io/component-helpers/storage/volume), the matching of a claim to a
//! volume, where a volume's data lives, and the external provisioners.
//!
//! Layout:
//! - `matching`: `FindMatchingVolume` and the PV controller's access-mode
//!   search, pure and table-tested.
//! - `data`: where a volume's files live (a node's disk) and removing them.
//! - `provisioner`: the external provisioners as stoppable components
//!   (minikube's `storage-provisioner`, kind's `local-path-provisioner`).

pub mod data;
pub mod matching;
pub mod provisioner;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};
use crate::engine::api::pod::Pod;
use k8s_openapi::api::storage::v1::StorageClass;

use crate::engine::api::meta::virtual_of;
use crate::engine::quantity::{parse_stored, Quantity};

/// On a claim: the binding has been set up once (its value does not matter).
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// On a claim or volume: the controller, not the user, made the binding.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// On a claim: the node the scheduler picked for a WaitForFirstConsumer claim.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// On a volume: the provisioner that created it.
pub const ANN_DYNAMICALLY_PROVISIONED: &str = "pv.kubernetes.io/provisioned-by";
/// On a claim: which provisioner should create its volume.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The class before `storageClassName` existed; still read first.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
pub const ANN_IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
pub const ANN_BETA_IS_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";

fn annotation<'a>(annotations: Option<&'a BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    annotations.and_then(|a| a.get(key)).map(String::as_str)
}

pub fn has_annotation(annotations: Option<&BTreeMap<String, String>>, key: &str) -> bool {
    annotation(annotations, key).is_some()
}

/// Whether a claim names a class at all (the beta annotation counts).
pub fn claim_has_class(claim: &PersistentVolumeClaim) -> bool {
    has_annotation(claim.metadata.annotations.as_ref(), ANN_BETA_STORAGE_CLASS)
        || claim.spec.as_ref().is_some_and(|s| s.storage_class_name.is_some())
}

/// The class a claim asks for; empty for none.
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    if let Some(class) = annotation(claim.metadata.annotations.as_ref(), ANN_BETA_STORAGE_CLASS) {
        return class;
    }
    claim.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()).unwrap_or("")
}

/// The class a volume belongs to; empty for none.
pub fn volume_class(volume: &PersistentVolume) -> &str {
    if let Some(class) = annotation(volume.metadata.annotations.as_ref(), ANN_BETA_STORAGE_CLASS) {
        return class;
    }
    volume.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()).unwrap_or("")
}

pub fn is_default_class(class: &StorageClass) -> bool {
    let a = class.metadata.annotations.as_ref();
    annotation(a, ANN_IS_DEFAULT_CLASS) == Some("true") || annotation(a, ANN_BETA_IS_DEFAULT_CLASS) == Some("true")
}

/// The default class when several are marked: the newest, then the first by name.
pub fn default_class<'a>(classes: impl IntoIterator<Item = &'a StorageClass>) -> Option<&'a StorageClass> {
    let created = |c: &StorageClass| c.metadata.creation_timestamp.as_ref().map(virtual_of);
    classes.into_iter().filter(|c| is_default_class(c)).min_by(|a, b| {
        created(b).cmp(&created(a)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
    })
}

pub fn is_wait_for_first_consumer(class: &StorageClass) -> bool {
    class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
}

/// `RWO,ROX,RWX,RWOP`, always in that order and each once.
pub fn access_modes_string(modes: &[String]) -> String {
    let mut out = Vec::new();
    for (mode, short) in [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")] {
        if modes.iter().any(|m| m == mode) {
            out.push(short);
        }
    }
    out.join(",")
}

pub fn claim_access_modes(claim: &PersistentVolumeClaim) -> &[String] {
    claim.spec.as_ref().and_then(|s| s.access_modes.as_deref()).unwrap_or(&[])
}

pub fn volume_access_modes(volume: &PersistentVolume) -> &[String] {
    volume.spec.as_ref().and_then(|s| s.access_modes.as_deref()).unwrap_or(&[])
}

/// The storage a claim requests (zero when missing or malformed).
pub fn requested_storage(claim: &PersistentVolumeClaim) -> Quantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(parse_stored)
        .unwrap_or_else(Quantity::zero)
}

/// A volume's storage capacity (zero when missing or malformed).
pub fn volume_capacity(volume: &PersistentVolume) -> Quantity {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(parse_stored)
        .unwrap_or_else(Quantity::zero)
}

pub fn claim_volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("")
}

pub fn claim_ref(volume: &PersistentVolume) -> Option<&ObjectReference> {
    volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref())
}

pub fn volume_phase(volume: &PersistentVolume) -> &str {
    volume.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

pub fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

pub fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()).unwrap_or("")
}

/// `IsVolumeBoundToClaim`: the volume's claimRef names the claim (and its
/// uid, when the claimRef has one).
pub fn is_volume_bound_to_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = claim_ref(volume) else { return false };
    if r.name != claim.metadata.name || r.namespace.as_deref().unwrap_or("") != claim.metadata.namespace.as_deref().unwrap_or("") {
        return false;
    }
    match r.uid.as_deref().filter(|u| !u.is_empty()) {
        Some(uid) => claim.metadata.uid.as_deref() == Some(uid),
        None => true,
    }
}

/// A claimRef to `claim`, as `reference.GetReference` builds it.
pub fn reference_to(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        name: claim.metadata.name.clone(),
        namespace: claim.metadata.namespace.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The claims a pod's volumes use: `persistentVolumeClaim` volumes and the
/// `<pod>-<volume>` claims of generic ephemeral volumes.
pub fn pod_claim_names(pod: &Pod) -> Vec<String> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if let Some(c) = &v.persistent_volume_claim {
            out.push(c.claim_name.clone());
        } else if v.ephemeral.is_some() {
            out.push(format!("{pod_name}-{}", v.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, created_s: i64, default: bool) -> StorageClass {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "creationTimestamp": format!("2026-01-01T00:00:{created_s:02}Z"),
                "annotations": if default { serde_json::json!({ANN_IS_DEFAULT_CLASS: "true"}) } else { serde_json::json!({}) }},
            "provisioner": "x"
        }))
        .unwrap()
    }

    #[test]
    fn default_class_is_the_newest_then_first_by_name() {
        let classes = [class("b", 10, true), class("a", 10, true), class("c", 5, true), class("d", 20, false)];
        assert_eq!(default_class(&classes).and_then(|c| c.metadata.name.as_deref()), Some("a"));
        let classes = [class("old", 1, true), class("new", 30, true)];
        assert_eq!(default_class(&classes).and_then(|c| c.metadata.name.as_deref()), Some("new"));
        assert!(default_class(&[class("x", 1, false)]).is_none());
    }

    #[test]
    fn access_modes_print_in_fixed_order() {
        let modes: Vec<String> = ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"].iter().map(|s| s.to_string()).collect();
        assert_eq!(access_modes_string(&modes), "RWO,RWX");
        assert_eq!(access_modes_string(&[]), "");
    }
}
