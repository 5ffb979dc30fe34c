//! minikube's storage-provisioner (`k8s.io/minikube-hostpath`, the
//! `storage-provisioner` pod in kube-system, on the host network of the
//! only node): a directory `/tmp/hostpath-provisioner/<namespace>/<claim>`
//! per claim, offered as a hostPath volume reachable from any node.
//!
//! Each process run marks its volumes with a random
//! `hostPathProvisionerIdentity` and deletes only volumes carrying its own:
//! volumes made before a restart of the provisioner stay Released, as on
//! minikube.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{HostPathVolumeSource, PersistentVolume, PersistentVolumeSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::storage::data::DataLocation;

use super::{uuid, Backend, DeleteOutcome, ProvisionRequest};

const PV_DIR: &str = "/tmp/hostpath-provisioner";
const IDENTITY_ANNOTATION: &str = "hostPathProvisionerIdentity";

pub struct HostPath {
    /// The node the provisioner pod runs on, whose /tmp holds the data.
    node: String,
    identity: String,
}

impl HostPath {
    pub fn new(node: &str) -> Self {
        HostPath { node: node.to_string(), identity: String::new() }
    }
}

impl Backend for HostPath {
    fn provisioner_name(&self) -> &'static str {
        "k8s.io/minikube-hostpath"
    }

    fn hostname(&self) -> &str {
        &self.node
    }

    fn restart(&mut self, rng: &mut fastrand::Rng) {
        self.identity = uuid(rng);
    }

    fn provision_ms(&self) -> u64 {
        200
    }

    fn delete_ms(&self) -> u64 {
        200
    }

    fn provision(&self, request: &ProvisionRequest) -> Result<(PersistentVolume, DataLocation), String> {
        let claim = request.claim;
        let path = format!("{PV_DIR}/{}/{}", claim.metadata.namespace.as_deref().unwrap_or(""), claim.metadata.name.as_deref().unwrap_or(""));
        let spec = claim.spec.clone().unwrap_or_default();
        let storage = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned();
        let volume = PersistentVolume {
            metadata: ObjectMeta {
                name: Some(request.volume_name.clone()),
                annotations: Some(BTreeMap::from([(IDENTITY_ANNOTATION.to_string(), self.identity.clone())])),
                ..Default::default()
            },
            spec: Some(PersistentVolumeSpec {
                persistent_volume_reclaim_policy: Some(request.class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into())),
                access_modes: spec.access_modes.clone(),
                capacity: storage.map(|q| BTreeMap::from([("storage".to_string(), q)])),
                host_path: Some(HostPathVolumeSource { path: path.clone(), type_: None }),
                ..Default::default()
            }),
            status: None,
        };
        Ok((volume, DataLocation { node: self.node.clone(), path }))
    }

    fn delete(&self, volume: &PersistentVolume) -> DeleteOutcome {
        let Some(identity) = volume.metadata.annotations.as_ref().and_then(|a| a.get(IDENTITY_ANNOTATION)) else {
            return DeleteOutcome::Failed("identity annotation not found on PV".into());
        };
        if *identity != self.identity {
            return DeleteOutcome::Ignored;
        }
        let path = volume.spec.as_ref().and_then(|s| s.host_path.as_ref()).map(|h| h.path.clone()).unwrap_or_default();
        DeleteOutcome::Deleted(Some(DataLocation { node: self.node.clone(), path }))
    }

    fn reschedules_on_missing_node(&self) -> bool {
        false
    }
}
