//! VolumeZone: a bound volume labelled with a zone or region keeps the pod
//! on nodes in that zone or region (nodes without any topology label, as in
//! a single-zone cluster, accept every volume).

use std::collections::BTreeSet;

use super::volume_binding::{claim_class, claim_not_found, pod_claims};
use super::{CycleState, Handle};
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status};

pub const NAME: &str = "VolumeZone";
pub const REASON: &str = "node(s) had no available volume zone";
/// The topology labels a volume may carry, beta ones first, as 1.33 lists them.
pub const TOPOLOGY_LABELS: [&str; 4] = [
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

/// One volume's required topology: label key and allowed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeTopology {
    pub volume: String,
    pub key: String,
    pub values: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub topologies: Vec<VolumeTopology>,
}

fn to_ga(key: &str) -> &str {
    match key {
        "failure-domain.beta.kubernetes.io/zone" => "topology.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region" => "topology.kubernetes.io/region",
        other => other,
    }
}

/// PreFilter: the zone/region labels of the pod's bound volumes; `Ok(None)`
/// (Skip) when there are none.
pub fn pre_filter(h: &Handle, pod: &PodInfo) -> Result<Option<State>, Status> {
    let mut topologies = Vec::new();
    for (name, _) in pod_claims(pod) {
        let Some(pvc) = h.listers.claim(pod.namespace, &name) else { return Err(Status::unresolvable(claim_not_found(&name))) };
        let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("");
        if volume.is_empty() {
            let class_name = claim_class(pvc);
            if class_name.is_empty() {
                return Err(Status::unresolvable("PersistentVolumeClaim had no pv name and storageClass name"));
            }
            let Some(class) = h.listers.storage_class(class_name) else {
                return Err(Status::unresolvable(format!("storageclass.storage.k8s.io \"{class_name}\" not found")));
            };
            match class.volume_binding_mode.as_deref() {
                None => return Err(Status::unresolvable(format!("VolumeBindingMode not set for StorageClass \"{class_name}\""))),
                Some("WaitForFirstConsumer") => continue,
                Some(_) => return Err(Status::unresolvable("PersistentVolume had no name")),
            }
        }
        let Some(pv) = h.listers.volume(volume) else { return Err(Status::unresolvable(format!("persistentvolume \"{volume}\" not found"))) };
        let labels = pv.metadata.labels.as_ref();
        for key in TOPOLOGY_LABELS {
            if let Some(v) = labels.and_then(|l| l.get(key)) {
                topologies.push(VolumeTopology { volume: volume.to_string(), key: key.to_string(), values: v.split("__").map(str::to_string).collect() });
            }
        }
    }
    Ok((!topologies.is_empty()).then_some(State { topologies }))
}

pub fn fits(state: &State, labels: &std::collections::BTreeMap<String, String>) -> bool {
    if !TOPOLOGY_LABELS.iter().any(|k| labels.contains_key(*k)) {
        return true;
    }
    state.topologies.iter().all(|t| labels.get(&t.key).or_else(|| labels.get(to_ga(&t.key))).is_some_and(|v| t.values.contains(v)))
}

pub fn filter(_h: &Handle, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
    let Some(s) = &state.volume_zone else { return Status::SUCCESS };
    if fits(s, node.labels()) {
        Status::SUCCESS
    } else {
        Status::unresolvable(REASON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn table() {
        let state = State { topologies: vec![VolumeTopology { volume: "pv".into(), key: "failure-domain.beta.kubernetes.io/zone".into(), values: ["a".to_string(), "b".to_string()].into() }] };
        let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert!(fits(&state, &labels(&[])), "a node without topology labels takes anything");
        assert!(fits(&state, &labels(&[("topology.kubernetes.io/zone", "b")])), "beta volume label, GA node label");
        assert!(!fits(&state, &labels(&[("topology.kubernetes.io/zone", "c")])));
        assert!(!fits(&state, &labels(&[("topology.kubernetes.io/region", "r")])), "a region label but no zone");
    }
}
