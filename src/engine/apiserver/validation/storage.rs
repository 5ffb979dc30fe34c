//! Validation of PersistentVolumes, PersistentVolumeClaims and
//! StorageClasses, in the order and words of pkg/apis/core/validation and
//! pkg/apis/storage/validation (1.33).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelector, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec, TypedLocalObjectReference,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use crate::engine::quantity::{parse_stored, Quantity};

use super::{dns1123_subdomain, qualified_name, quote, Errors};

const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];

/// Every access mode is known, and ReadWriteOncePod stands alone.
fn validate_access_modes(modes: &[String], path: &str, errs: &mut Errors) {
    let (mut rwop, mut other) = (false, false);
    for mode in modes {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errs.unsupported(path, mode, ACCESS_MODES);
        } else if mode == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.forbidden(path, "may not use ReadWriteOncePod with other access modes");
    }
}

fn validate_class_name(name: &str, path: &str, errs: &mut Errors) {
    for msg in dns1123_subdomain(name) {
        errs.invalid_str(path, name, &msg);
    }
}

/// `ValidatePositiveQuantityValue`.
fn validate_positive(q: &ApiQuantity, path: &str, errs: &mut Errors) {
    if parse_stored(q).is_some_and(|v| v.nanos() <= 0) {
        let shown = parse_stored(q).map(|v| v.canonical()).unwrap_or_else(|| q.0.clone());
        errs.invalid_str(path, &shown, "must be greater than zero");
    }
}

fn validate_data_source(source: &TypedLocalObjectReference, path: &str, errs: &mut Errors) {
    if source.name.is_empty() {
        errs.required(&format!("{path}.name"), "");
    }
    if source.kind.is_empty() {
        errs.required(&format!("{path}.kind"), "");
    }
    let group = source.api_group.as_deref().unwrap_or("");
    if group.is_empty() && source.kind != "PersistentVolumeClaim" {
        errs.invalid_str(path, &source.kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup");
    }
    if !group.is_empty() {
        for msg in dns1123_subdomain(group) {
            errs.invalid_str(&format!("{path}.apiGroup"), group, &msg);
        }
    }
}

/// `ValidatePersistentVolumeClaimSpec` (claims and claim templates).
pub fn validate_claim_spec(spec: &PersistentVolumeClaimSpec, path: &str, errs: &mut Errors) {
    let modes = spec.access_modes.as_deref().unwrap_or(&[]);
    if modes.is_empty() {
        errs.required(&format!("{path}.accessModes"), "at least 1 access mode is required");
    }
    if let Some(selector) = &spec.selector {
        super::workloads::validate_label_selector(selector, &format!("{path}.selector"), errs);
    }
    validate_access_modes(modes, &format!("{path}.accessModes"), errs);
    let storage_path = format!("{path}.resources[storage]");
    match spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")) {
        None => errs.required(&storage_path, ""),
        Some(q) => validate_positive(q, &storage_path, errs),
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        validate_class_name(class, &format!("{path}.storageClassName"), errs);
    }
    if let Some(mode) = &spec.volume_mode {
        if !VOLUME_MODES.contains(&mode.as_str()) {
            errs.unsupported(&format!("{path}.volumeMode"), mode, VOLUME_MODES);
        }
    }
    if let Some(source) = &spec.data_source {
        validate_data_source(source, &format!("{path}.dataSource"), errs);
    }
}

pub fn validate_claim(pvc: &PersistentVolumeClaim, errs: &mut Errors) {
    validate_claim_spec(&pvc.spec.clone().unwrap_or_default(), "spec", errs);
}

/// `ValidateNodeSelector` as volume node affinity uses it.
fn validate_node_selector(selector: &NodeSelector, path: &str, errs: &mut Errors) {
    let terms_path = format!("{path}.nodeSelectorTerms");
    if selector.node_selector_terms.is_empty() {
        errs.required(&terms_path, "must have at least one node selector term");
        return;
    }
    for (i, term) in selector.node_selector_terms.iter().enumerate() {
        let term_path = format!("{terms_path}[{i}]");
        let term_path = super::Path::Root(&term_path);
        super::pod::validate_node_selector_term(term, None, true, &term_path, errs);
    }
}

fn validate_absolute_path(value: &str, path: &str, errs: &mut Errors) {
    if !value.starts_with('/') {
        errs.invalid_str(path, value, "must be an absolute path");
    }
    if value.split('/').any(|part| part == "..") {
        errs.invalid_str(path, value, "must not contain '..'");
    }
}

/// The volume sources a PersistentVolume may name, in the validator's order.
fn volume_sources(spec: &PersistentVolumeSpec) -> Vec<&'static str> {
    let present = [
        ("hostPath", spec.host_path.is_some()),
        ("gcePersistentDisk", spec.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", spec.aws_elastic_block_store.is_some()),
        ("glusterfs", spec.glusterfs.is_some()),
        ("flocker", spec.flocker.is_some()),
        ("nfs", spec.nfs.is_some()),
        ("rbd", spec.rbd.is_some()),
        ("quobyte", spec.quobyte.is_some()),
        ("cephFS", spec.cephfs.is_some()),
        ("iscsi", spec.iscsi.is_some()),
        ("cinder", spec.cinder.is_some()),
        ("fc", spec.fc.is_some()),
        ("flexVolume", spec.flex_volume.is_some()),
        ("azureFile", spec.azure_file.is_some()),
        ("vsphereVolume", spec.vsphere_volume.is_some()),
        ("photonPersistentDisk", spec.photon_persistent_disk.is_some()),
        ("portworxVolume", spec.portworx_volume.is_some()),
        ("azureDisk", spec.azure_disk.is_some()),
        ("scaleIO", spec.scale_io.is_some()),
        ("local", spec.local.is_some()),
        ("storageos", spec.storageos.is_some()),
        ("csi", spec.csi.is_some()),
    ];
    present.into_iter().filter(|(_, p)| *p).map(|(name, _)| name).collect()
}

/// Go's `%#v` of a resource list, as an unsupported capacity prints it.
fn go_resource_list(list: Option<&BTreeMap<String, ApiQuantity>>) -> String {
    match list {
        None => "core.ResourceList(nil)".to_string(),
        Some(l) => {
            // Stored in canonical form when Go would not keep the text, so a
            // quantity written otherwise (`1000m`) shows its canonical form.
            let items: Vec<String> = l.iter().map(|(k, v)| format!("{}:{}", quote(k), crate::engine::quantity::go_struct_as_parsed(&v.0))).collect();
            format!("core.ResourceList{{{}}}", items.join(", "))
        }
    }
}

pub fn validate_volume(pv: &PersistentVolume, errs: &mut Errors) {
    let spec = pv.spec.clone().unwrap_or_default();
    let modes = spec.access_modes.as_deref().unwrap_or(&[]);
    if modes.is_empty() {
        errs.required("spec.accessModes", "");
    }
    validate_access_modes(modes, "spec.accessModes", errs);
    let capacity = spec.capacity.as_ref().filter(|c| !c.is_empty());
    if capacity.is_none() {
        errs.required("spec.capacity", "");
    }
    if capacity.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        errs.unsupported_value("spec.capacity", &go_resource_list(spec.capacity.as_ref()), &["storage"]);
    }
    for (name, q) in capacity.into_iter().flatten() {
        validate_positive(q, &format!("spec.capacity[{name}]"), errs);
    }
    if let Some(policy) = spec.persistent_volume_reclaim_policy.as_deref().filter(|p| !p.is_empty()) {
        if !["Delete", "Recycle", "Retain"].contains(&policy) {
            errs.unsupported("spec.persistentVolumeReclaimPolicy", policy, &["Delete", "Recycle", "Retain"]);
        }
    }
    let affinity_given = spec.node_affinity.is_some();
    if let Some(affinity) = &spec.node_affinity {
        match &affinity.required {
            Some(required) => validate_node_selector(required, "spec.nodeAffinity.required", errs),
            None => errs.required("spec.nodeAffinity.required", "must specify required node constraints"),
        }
    }
    let sources = volume_sources(&spec);
    for (i, source) in sources.iter().enumerate() {
        if i > 0 && *source != "flexVolume" {
            errs.forbidden(&format!("spec.{source}"), "may not specify more than 1 volume type");
            continue;
        }
        match *source {
            "hostPath" => {
                if let Some(h) = &spec.host_path {
                    if h.path.is_empty() {
                        errs.required("spec.hostPath.path", "");
                    } else if h.path.split('/').any(|p| p == "..") {
                        errs.invalid_str("spec.hostPath.path", &h.path, "must not contain '..'");
                    }
                    let types = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
                    if let Some(t) = h.type_.as_deref().filter(|t| !types.contains(t)) {
                        errs.unsupported("spec.hostPath.type", t, &types);
                    }
                }
            }
            "nfs" => {
                if let Some(nfs) = &spec.nfs {
                    if nfs.server.is_empty() {
                        errs.required("spec.nfs.server", "");
                    }
                    if nfs.path.is_empty() {
                        errs.required("spec.nfs.path", "");
                    } else if !nfs.path.starts_with('/') {
                        errs.invalid_str("spec.nfs.path", &nfs.path, "must be an absolute path");
                    }
                }
            }
            "local" => {
                if let Some(local) = &spec.local {
                    if local.path.is_empty() {
                        errs.required("spec.local.path", "");
                    } else {
                        validate_absolute_path(&local.path, "spec.local.path", errs);
                    }
                }
                if !affinity_given {
                    errs.required("spec.nodeAffinity", "Local volume requires node affinity");
                }
            }
            "csi" => {
                if let Some(csi) = &spec.csi {
                    if csi.driver.is_empty() {
                        errs.required("spec.csi.driver", "");
                    }
                    if csi.volume_handle.is_empty() {
                        errs.required("spec.csi.volumeHandle", "");
                    }
                }
            }
            _ => {}
        }
    }
    if sources.is_empty() {
        errs.required("spec", "must specify a volume type");
    }
    let root = spec.host_path.as_ref().is_some_and(|h| h.path.trim_end_matches('/').is_empty() && !h.path.is_empty());
    if root && spec.persistent_volume_reclaim_policy.as_deref() == Some("Recycle") {
        errs.forbidden("spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'");
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        validate_class_name(class, "spec.storageClassName", errs);
    }
    if let Some(mode) = &spec.volume_mode {
        if !VOLUME_MODES.contains(&mode.as_str()) {
            errs.unsupported("spec.volumeMode", mode, VOLUME_MODES);
        }
    }
}

/// The JSON of a volume's source fields, to compare old and new.
fn source_of(pv: &PersistentVolume) -> serde_json::Value {
    let mut spec = serde_json::to_value(pv.spec.clone().unwrap_or_default()).unwrap_or_default();
    if let Some(map) = spec.as_object_mut() {
        for key in [
            "accessModes",
            "capacity",
            "claimRef",
            "mountOptions",
            "nodeAffinity",
            "persistentVolumeReclaimPolicy",
            "storageClassName",
            "volumeAttributesClassName",
            "volumeMode",
        ] {
            map.remove(key);
        }
    }
    spec
}

pub fn validate_volume_update(pv: &PersistentVolume, old: &PersistentVolume, errs: &mut Errors) {
    if source_of(pv) != source_of(old) {
        errs.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation");
    }
    let mode = pv.spec.as_ref().and_then(|s| s.volume_mode.clone());
    if mode != old.spec.as_ref().and_then(|s| s.volume_mode.clone()) {
        errs.invalid("volumeMode", &mode.map_or("null".into(), |m| quote(&m)), "field is immutable");
    }
    let old_affinity = old.spec.as_ref().and_then(|s| s.node_affinity.as_ref());
    if old_affinity.is_some() && pv.spec.as_ref().and_then(|s| s.node_affinity.as_ref()) != old_affinity {
        errs.invalid("nodeAffinity", "core.VolumeNodeAffinity{...}", "field is immutable, except for updating from beta label to GA");
    }
}

/// `ValidatePersistentVolumeClaimUpdate` after the claim's own checks:
/// only a first `volumeName`, a storage class where there was none, and
/// (for bound claims) the storage request may change.
pub fn validate_claim_update(pvc: &PersistentVolumeClaim, old: &PersistentVolumeClaim, errs: &mut Errors) {
    let mut new_spec = pvc.spec.clone().unwrap_or_default();
    let mut old_spec = old.spec.clone().unwrap_or_default();
    if old_spec.volume_name.as_deref().is_none_or(str::is_empty) {
        old_spec.volume_name = new_spec.volume_name.clone();
    }
    let beta_class = old.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(crate::engine::storage::ANN_BETA_STORAGE_CLASS));
    if old_spec.storage_class_name.is_none() && !beta_class && new_spec.storage_class_name.is_some() {
        // A claim without a class may get one (the retroactive default).
        old_spec.storage_class_name = new_spec.storage_class_name.clone();
    }
    let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let requested = |spec: &PersistentVolumeClaimSpec| spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned();
    if bound {
        if let (Some(requests), Some(old_storage)) =
            (new_spec.resources.as_mut().and_then(|r| r.requests.as_mut()), requested(&old_spec))
        {
            requests.insert("storage".to_string(), old_storage);
        }
    }
    new_spec.volume_attributes_class_name = old_spec.volume_attributes_class_name.clone();
    if new_spec != old_spec {
        errs.forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
    }
    let size = |spec: &PersistentVolumeClaimSpec| requested(spec).and_then(|q| parse_stored(&q)).unwrap_or_else(Quantity::zero);
    let new_size = size(pvc.spec.as_ref().unwrap_or(&Default::default()));
    let old_size = size(old.spec.as_ref().unwrap_or(&Default::default()));
    if new_size < old_size {
        let status = old
            .status
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .and_then(parse_stored)
            .unwrap_or_else(Quantity::zero);
        if new_size <= status {
            errs.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity");
        }
    }
    let mode = pvc.spec.as_ref().and_then(|s| s.volume_mode.clone());
    if mode != old.spec.as_ref().and_then(|s| s.volume_mode.clone()) {
        errs.invalid("volumeMode", &mode.map_or("null".into(), |m| quote(&m)), "field is immutable");
    }
}

pub fn validate_storage_class(sc: &StorageClass, errs: &mut Errors) {
    if sc.provisioner.is_empty() {
        errs.required("provisioner", "");
    } else {
        for msg in qualified_name(&sc.provisioner.to_lowercase()) {
            errs.invalid_str("provisioner", &sc.provisioner.to_lowercase(), &msg);
        }
    }
    let params = sc.parameters.clone().unwrap_or_default();
    if params.len() > 512 {
        errs.too_long("parameters", 512);
    } else {
        for key in params.keys().filter(|k| k.is_empty()) {
            errs.invalid_str("parameters", key, "field can not be empty.");
        }
        let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > 256 * 1024 {
            errs.too_long("parameters", 256 * 1024);
        }
    }
    if let Some(policy) = sc.reclaim_policy.as_deref().filter(|p| !p.is_empty()) {
        if policy != "Delete" && policy != "Retain" {
            errs.unsupported("reclaimPolicy", policy, &["Delete", "Retain"]);
        }
    }
    match sc.volume_binding_mode.as_deref() {
        None => errs.required("volumeBindingMode", ""),
        Some("Immediate" | "WaitForFirstConsumer") => {}
        Some(other) => errs.unsupported("volumeBindingMode", other, &["Immediate", "WaitForFirstConsumer"]),
    }
    for (i, term) in sc.allowed_topologies.iter().flatten().enumerate() {
        let path = format!("allowedTopologies[{i}].matchLabelExpressions");
        let exprs = term.match_label_expressions.as_deref().unwrap_or(&[]);
        if exprs.is_empty() {
            errs.required(&path, "must have at least one label expression");
        }
        for (j, e) in exprs.iter().enumerate() {
            for msg in qualified_name(&e.key) {
                errs.invalid_str(&format!("{path}[{j}].key"), &e.key, &msg);
            }
            if e.values.is_empty() {
                errs.required(&format!("{path}[{j}].values"), "must specify as least one value");
            }
        }
    }
}

pub fn validate_storage_class_update(sc: &StorageClass, old: &StorageClass, errs: &mut Errors) {
    if sc.parameters != old.parameters {
        errs.forbidden("parameters", "updates to parameters are forbidden.");
    }
    if sc.provisioner != old.provisioner {
        errs.forbidden("provisioner", "updates to provisioner are forbidden.");
    }
    if sc.reclaim_policy != old.reclaim_policy {
        errs.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.");
    }
    if sc.volume_binding_mode != old.volume_binding_mode {
        let shown = sc.volume_binding_mode.as_deref().map_or("null".to_string(), quote);
        errs.invalid("volumeBindingMode", &shown, "field is immutable");
    }
}
