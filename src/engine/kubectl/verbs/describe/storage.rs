//! kubectl 1.33's describers for PersistentVolumes, PersistentVolumeClaims
//! and StorageClasses (describe.go: `describePersistentVolume`,
//! `describePersistentVolumeClaim`, `describeStorageClass`).

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use crate::engine::api::pod::Pod;
use k8s_openapi::api::storage::v1::StorageClass;

use crate::engine::api::{ids, Object};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::printers::tables::{age_or_invalid, format_labels};
use crate::engine::kubectl::Session;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::storage::{self, access_modes_string};

use super::{annotations_multiline, labels_multiline, Writer};

/// A quantity as `Quantity.String()` prints it; zero when missing.
fn quantity(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> String {
    match q.and_then(|q| crate::engine::quantity::parse_stored(q)) {
        Some(parsed) => parsed.canonical(),
        None => "0".to_string(),
    }
}

/// Go's `%v` of a string slice: `[a b]`, `[]` when empty.
fn go_list(items: Option<&Vec<String>>) -> String {
    format!("[{}]", items.map(|v| v.join(" ")).unwrap_or_default())
}

pub(super) fn describe_persistent_volume(w: &mut Writer, pv: &PersistentVolume, now: VirtualTime) {
    let m = &pv.metadata;
    let spec = pv.spec.clone().unwrap_or_default();
    let status = pv.status.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Finalizers:\t{}", go_list(m.finalizers.as_ref())));
    w.line(0, &format!("StorageClass:\t{}", storage::volume_class(pv)));
    match &m.deletion_timestamp {
        Some(ts) => w.line(0, &format!("Status:\tTerminating (lasts {})", age_or_invalid(ts, now))),
        None => w.line(0, &format!("Status:\t{}", status.phase.clone().unwrap_or_default())),
    }
    let claim = spec
        .claim_ref
        .as_ref()
        .map(|r| format!("{}/{}", r.namespace.as_deref().unwrap_or(""), r.name.as_deref().unwrap_or("")))
        .unwrap_or_default();
    w.line(0, &format!("Claim:\t{claim}"));
    w.line(0, &format!("Reclaim Policy:\t{}", spec.persistent_volume_reclaim_policy.clone().unwrap_or_default()));
    w.line(0, &format!("Access Modes:\t{}", access_modes_string(spec.access_modes.as_deref().unwrap_or(&[]))));
    if let Some(mode) = &spec.volume_mode {
        w.line(0, &format!("VolumeMode:\t{mode}"));
    }
    w.line(0, &format!("Capacity:\t{}", quantity(spec.capacity.as_ref().and_then(|c| c.get("storage")))));
    match spec.node_affinity.as_ref().and_then(|a| a.required.as_ref()) {
        None => w.line(0, "Node Affinity:\t<none>"),
        Some(required) => {
            w.line(0, "Node Affinity:\t");
            if required.node_selector_terms.is_empty() {
                w.line(1, "Required Terms:\t<none>");
            } else {
                w.line(1, "Required Terms:\t");
                for (i, term) in required.node_selector_terms.iter().enumerate() {
                    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
                    if exprs.is_empty() {
                        w.line(2, &format!("Term {i}:\t<none>"));
                        continue;
                    }
                    for (j, e) in exprs.iter().enumerate() {
                        let mut text = format!("{} {}", e.key, e.operator.to_lowercase());
                        if let Some(values) = e.values.as_ref().filter(|v| !v.is_empty()) {
                            text.push_str(&format!(" [{}]", values.join(", ")));
                        }
                        if j == 0 {
                            w.line(2, &format!("Term {i}:\t{text}"));
                        } else {
                            w.line(2, &format!("\t{text}"));
                        }
                    }
                }
            }
        }
    }
    w.line(0, &format!("Message:\t{}", status.message.clone().unwrap_or_default()));
    w.line(0, "Source:");
    if let Some(h) = &spec.host_path {
        w.line(2, "Type:\tHostPath (bare host directory volume)");
        w.line(2, &format!("Path:\t{}", h.path));
        w.line(2, &format!("HostPathType:\t{}", h.type_.clone().unwrap_or_else(|| "<none>".into())));
    } else if let Some(nfs) = &spec.nfs {
        w.line(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)");
        w.line(2, &format!("Server:\t{}", nfs.server));
        w.line(2, &format!("Path:\t{}", nfs.path));
        w.line(2, &format!("ReadOnly:\t{}", nfs.read_only.unwrap_or(false)));
    } else if let Some(local) = &spec.local {
        w.line(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)");
        w.line(2, &format!("Path:\t{}", local.path));
    } else if let Some(csi) = &spec.csi {
        w.line(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)");
        w.line(2, &format!("Driver:\t{}", csi.driver));
        w.line(2, &format!("FSType:\t{}", csi.fs_type.clone().unwrap_or_default()));
        w.line(2, &format!("VolumeHandle:\t{}", csi.volume_handle));
        w.line(2, &format!("ReadOnly:\t{}", csi.read_only.unwrap_or(false)));
        super::csi_volume_attributes(w, csi.volume_attributes.as_ref());
    } else {
        w.line(1, "<unknown>");
    }
}

/// `getPodsForPVC`: pods in the namespace with a volume naming the claim
/// (once per such volume), then pods that own it (ephemeral volumes).
fn pods_for_claim(s: &Session, pvc: &PersistentVolumeClaim) -> Vec<Pod> {
    let namespace = pvc.metadata.namespace.clone().unwrap_or_default();
    let name = pvc.metadata.name.clone().unwrap_or_default();
    let Ok((items, _)) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), &namespace)) else { return Vec::new() };
    let all: Vec<&Pod> = items.iter().filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None }).collect();
    let mut pods: Vec<Pod> = Vec::new();
    for pod in &all {
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            if v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == name) {
                pods.push((*pod).clone());
            }
        }
    }
    for owner in pvc.metadata.owner_references.iter().flatten().filter(|o| o.kind == "Pod") {
        if let Some(pod) = all.iter().find(|p| p.metadata.uid.as_deref() == Some(owner.uid.as_str())) {
            if !pods.iter().any(|p| p.metadata.uid == pod.metadata.uid) {
                pods.push((*pod).clone());
            }
        }
    }
    pods
}

pub(super) fn describe_persistent_volume_claim(w: &mut Writer, s: &Session, pvc: &PersistentVolumeClaim, now: VirtualTime) {
    let m = &pvc.metadata;
    let spec = pvc.spec.clone().unwrap_or_default();
    let status = pvc.status.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("StorageClass:\t{}", storage::claim_class(pvc)));
    match &m.deletion_timestamp {
        Some(ts) => w.line(0, &format!("Status:\tTerminating (lasts {})", age_or_invalid(ts, now))),
        None => w.line(0, &format!("Status:\t{}", status.phase.clone().unwrap_or_default())),
    }
    let volume = spec.volume_name.clone().unwrap_or_default();
    w.line(0, &format!("Volume:\t{volume}"));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Finalizers:\t{}", go_list(m.finalizers.as_ref())));
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity(status.capacity.as_ref().and_then(|c| c.get("storage"))), access_modes_string(status.access_modes.as_deref().unwrap_or(&[])))
    };
    w.line(0, &format!("Capacity:\t{capacity}"));
    w.line(0, &format!("Access Modes:\t{modes}"));
    if let Some(mode) = &spec.volume_mode {
        w.line(0, &format!("VolumeMode:\t{mode}"));
    }
    if let Some(source) = &spec.data_source {
        w.line(0, "DataSource:");
        if let Some(group) = &source.api_group {
            w.line(1, &format!("APIGroup:\t{group}"));
        }
        w.line(1, &format!("Kind:\t{}", source.kind));
        w.line(1, &format!("Name:\t{}", source.name));
    }
    let mut pods = pods_for_claim(s, pvc);
    pods.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    match pods.as_slice() {
        [] => w.line(0, "Used By:\t<none>"),
        _ => {
            for (i, pod) in pods.iter().enumerate() {
                let name = pod.metadata.name.as_deref().unwrap_or("");
                if i == 0 {
                    w.line(0, &format!("Used By:\t{name}"));
                } else {
                    w.line(0, &format!("\t{name}"));
                }
            }
        }
    }
    let conditions = status.conditions.clone().unwrap_or_default();
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage");
        w.line(1, "----\t------\t-----------------\t------------------\t------\t-------");
        for c in conditions {
            let time = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| t.map(super::rfc1123z).unwrap_or_else(super::zero_time);
            w.line(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}",
                    c.type_,
                    c.status,
                    time(c.last_probe_time.as_ref()),
                    time(c.last_transition_time.as_ref()),
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                ),
            );
        }
    }
}

/// `labels.FormatLabels` over any string map.
fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    format_labels(map)
}

pub(super) fn describe_storage_class(w: &mut Writer, sc: &StorageClass) {
    w.line(0, &format!("Name:\t{}", sc.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("IsDefaultClass:\t{}", if storage::is_default_class(sc) { "Yes" } else { "No" }));
    w.line(0, &format!("Annotations:\t{}", format_map(sc.metadata.annotations.as_ref())));
    w.line(0, &format!("Provisioner:\t{}", sc.provisioner));
    w.line(0, &format!("Parameters:\t{}", format_map(sc.parameters.as_ref())));
    let expansion = match sc.allow_volume_expansion {
        None => "<unset>",
        Some(true) => "True",
        Some(false) => "False",
    };
    w.line(0, &format!("AllowVolumeExpansion:\t{expansion}"));
    match sc.mount_options.as_ref().filter(|o| !o.is_empty()) {
        None => w.line(0, "MountOptions:\t<none>"),
        Some(options) => {
            w.line(0, "MountOptions:");
            for o in options {
                w.line(1, o);
            }
        }
    }
    if let Some(policy) = &sc.reclaim_policy {
        w.line(0, &format!("ReclaimPolicy:\t{policy}"));
    }
    if let Some(mode) = &sc.volume_binding_mode {
        w.line(0, &format!("VolumeBindingMode:\t{mode}"));
    }
    if let Some(topologies) = &sc.allowed_topologies {
        if topologies.is_empty() {
            w.line(0, "AllowedTopologies:\t<none>");
        } else {
            w.line(0, "AllowedTopologies:\t");
            for (i, term) in topologies.iter().enumerate() {
                let reqs = term.match_label_expressions.as_deref().unwrap_or(&[]);
                if reqs.is_empty() {
                    w.line(1, &format!("Term {i}:\t<none>"));
                }
                for (j, r) in reqs.iter().enumerate() {
                    let mut text = format!("{} in", r.key);
                    if !r.values.is_empty() {
                        text.push_str(&format!(" [{}]", r.values.join(", ")));
                    }
                    if j == 0 {
                        w.line(1, &format!("Term {i}:\t{text}"));
                    } else {
                        w.line(1, &format!("\t{text}"));
                    }
                }
            }
        }
    }
}
