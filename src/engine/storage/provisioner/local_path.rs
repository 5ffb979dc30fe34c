//! Rancher's local-path-provisioner (`rancher.io/local-path`, as kind ships
//! it in the `local-path-storage` namespace): for a claim whose pod the
//! scheduler placed on a node, a directory
//! `/var/local-path-provisioner/pvc-<uid>_<namespace>_<claim>` on that node,
//! offered as a hostPath volume pinned to the node by node affinity.
//!
//! The real provisioner creates and removes the directory with a short-lived
//! helper pod; here that takes the same few seconds without the pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolume, PersistentVolumeSpec,
    VolumeNodeAffinity,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::storage::data::{self, DataLocation};

use super::{Backend, DeleteOutcome, ProvisionRequest};

const BASE_PATH: &str = "/var/local-path-provisioner";
const NODE_ANNOTATION: &str = "local.path.provisioner/selected-node";
const NODE_LABEL: &str = "kubernetes.io/hostname";

#[derive(Default)]
pub struct LocalPath {
    /// The provisioner pod's name, its host name (known once it runs).
    pod: String,
}

impl LocalPath {
    pub fn new() -> Self {
        LocalPath::default()
    }
}

impl Backend for LocalPath {
    fn provisioner_name(&self) -> &'static str {
        "rancher.io/local-path"
    }

    fn hostname(&self) -> &str {
        &self.pod
    }

    fn restart(&mut self, _rng: &mut fastrand::Rng) {}

    fn set_hostname(&mut self, hostname: &str) {
        self.pod = hostname.to_string();
    }

    fn provision_ms(&self) -> u64 {
        3_000
    }

    fn delete_ms(&self) -> u64 {
        3_000
    }

    fn provision(&self, request: &ProvisionRequest) -> Result<(PersistentVolume, DataLocation), String> {
        let claim = request.claim;
        let spec = claim.spec.clone().unwrap_or_default();
        if spec.selector.is_some() {
            return Err("claim.Spec.Selector is not supported".into());
        }
        if spec.access_modes.iter().flatten().any(|m| m != "ReadWriteOnce" && m != "ReadWriteOncePod") {
            return Err("NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes".into());
        }
        let Some(node) = request.node else { return Err("configuration error, no node was specified".into()) };
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let folder = format!(
            "{}_{}_{}",
            request.volume_name,
            claim.metadata.namespace.as_deref().unwrap_or(""),
            claim.metadata.name.as_deref().unwrap_or("")
        );
        let base = request.class.parameters.as_ref().and_then(|p| p.get("nodePath")).map(String::as_str).unwrap_or(BASE_PATH);
        let path = format!("{}/{folder}", base.trim_end_matches('/'));
        let hostname = node.metadata.labels.as_ref().and_then(|l| l.get(NODE_LABEL)).cloned().unwrap_or_else(|| node_name.clone());
        let storage = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned();
        let volume = PersistentVolume {
            metadata: ObjectMeta {
                name: Some(request.volume_name.clone()),
                annotations: Some(BTreeMap::from([(NODE_ANNOTATION.to_string(), node_name.clone())])),
                ..Default::default()
            },
            spec: Some(PersistentVolumeSpec {
                persistent_volume_reclaim_policy: Some(request.class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into())),
                access_modes: spec.access_modes.clone(),
                volume_mode: Some("Filesystem".into()),
                capacity: storage.map(|q| BTreeMap::from([("storage".to_string(), q)])),
                host_path: Some(HostPathVolumeSource { path: path.clone(), type_: Some("DirectoryOrCreate".into()) }),
                node_affinity: Some(VolumeNodeAffinity {
                    required: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: NODE_LABEL.into(),
                                operator: "In".into(),
                                values: Some(vec![hostname]),
                            }]),
                            match_fields: None,
                        }],
                    }),
                }),
                ..Default::default()
            }),
            status: None,
        };
        Ok((volume, DataLocation { node: node_name, path }))
    }

    fn delete(&self, volume: &PersistentVolume) -> DeleteOutcome {
        let name = volume.metadata.name.as_deref().unwrap_or("");
        let spec = volume.spec.clone().unwrap_or_default();
        let path = match (&spec.host_path, &spec.local) {
            (Some(h), None) => h.path.clone(),
            (None, Some(l)) => l.path.clone(),
            _ => return DeleteOutcome::Failed(format!("failed to delete volume {name}: no path set")),
        };
        if spec.node_affinity.as_ref().and_then(|a| a.required.as_ref()).is_none() {
            return DeleteOutcome::Failed(format!("failed to delete volume {name}: no NodeAffinity set"));
        }
        match data::pinned_node(volume) {
            Some(node) => DeleteOutcome::Deleted(Some(DataLocation { node: node.to_string(), path })),
            None => DeleteOutcome::Failed(format!("failed to delete volume {name}: cannot find affinited node")),
        }
    }

    fn reschedules_on_missing_node(&self) -> bool {
        true
    }
}
