//! PersistentVolumeClaim validation (`ValidatePersistentVolumeClaimSpec`):
//! what a claim a user or a StatefulSet's claim template writes must hold.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::names::dns1123_subdomain;
use super::Errors;
use crate::engine::quantity::Quantity;

const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

pub fn validate_persistent_volume_claim(pvc: &PersistentVolumeClaim, errs: &mut Errors) {
    let spec = pvc.spec.clone().unwrap_or_default();
    let modes = spec.access_modes.clone().unwrap_or_default();
    if modes.is_empty() {
        errs.required("spec.accessModes", "at least 1 access mode is required");
    }
    for mode in &modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errs.unsupported("spec.accessModes", mode, ACCESS_MODES);
        }
    }
    if modes.iter().any(|m| m == "ReadWriteOncePod") && modes.len() > 1 {
        errs.forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes");
    }
    let storage = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
    match storage {
        None => errs.required("spec.resources[storage]", ""),
        Some(q) => {
            if let Ok(value) = Quantity::parse(q.0.trim()) {
                if value.nanos() <= 0 {
                    errs.invalid_str("spec.resources[storage]", &q.0, "must be greater than zero");
                }
            }
        }
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        for msg in dns1123_subdomain(class) {
            errs.invalid_str("spec.storageClassName", class, &msg);
        }
    }
    if let Some(mode) = spec.volume_mode.as_deref() {
        errs.one_of("spec.volumeMode", Some(mode), &["Block", "Filesystem"]);
    }
}
