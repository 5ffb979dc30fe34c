//! Where a PersistentVolume's data lives, and removing it.
//!
//! A hostPath or local volume is a directory on a node's disk: the node its
//! `nodeAffinity` pins it to (`kubernetes.io/hostname In [node]`, as
//! local-path-provisioner writes it), or, for a volume without affinity, the
//! node of whoever created or deletes the directory (minikube's
//! storage-provisioner runs on the only node; the controller manager's
//! hostPath deleter on the control-plane node). The data outlives every pod
//! that mounts the volume and goes only when the volume is reclaimed with
//! the Delete policy.
//!
//! The directory is on the node's machine (`engine::world`): the kubelet
//! mounts it into the pods that use the volume, and what they write stays
//! there. [`create_backing_dir`] and [`remove_backing_data`] are the one
//! place that makes and deletes it.

use k8s_openapi::api::core::v1::PersistentVolume;

use crate::engine::sim::Ctx;

/// A directory on a node's disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLocation {
    pub node: String,
    pub path: String,
}

impl std::fmt::Display for DataLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.node, self.path)
    }
}

/// The node a volume's `nodeAffinity` pins it to, if it names exactly one.
pub fn pinned_node(volume: &PersistentVolume) -> Option<&str> {
    let terms = &volume.spec.as_ref()?.node_affinity.as_ref()?.required.as_ref()?.node_selector_terms;
    let [term] = terms.as_slice() else { return None };
    let exprs = term.match_expressions.as_deref()?;
    exprs.iter().find_map(|e| match (e.key.as_str(), e.operator.as_str(), e.values.as_deref()) {
        ("kubernetes.io/hostname", "In", Some([node])) => Some(node.as_str()),
        _ => None,
    })
}

/// Where the volume's files are: its hostPath or local path, on the node it
/// is pinned to or else on `default_node`. `None` for volumes whose data is
/// not on a node (NFS, CSI, cloud disks).
pub fn location_of(volume: &PersistentVolume, default_node: &str) -> Option<DataLocation> {
    let spec = volume.spec.as_ref()?;
    let path = spec.host_path.as_ref().map(|h| h.path.clone()).or_else(|| spec.local.as_ref().map(|l| l.path.clone()))?;
    let node = pinned_node(volume).unwrap_or(default_node).to_string();
    Some(DataLocation { node, path })
}

/// Creates the directory a new volume's data will live in (mode 0777, as
/// both provisioners make it).
pub fn create_backing_dir(ctx: &mut Ctx, location: &DataLocation) {
    let now = ctx.now;
    if let Some(machine) = ctx.world.machine_mut(&location.node) {
        machine.make_dir(&location.path, 0o777, now);
    }
    ctx.log(format!("created directory {location}"));
}

/// Removes a reclaimed volume's data from its node's disk: the Delete
/// reclaim policy's last step.
pub fn remove_backing_data(ctx: &mut Ctx, location: &DataLocation) {
    if let Some(machine) = ctx.world.machine_mut(&location.node) {
        machine.remove_dir(&location.path);
    }
    ctx.log(format!("removed the data of the volume at {location}"));
}
