//! Which volume a claim gets: `FindMatchingVolume` from
//! k8s.io/component-helpers/storage/volume and the PV controller's search by
//! access modes (`persistentVolumeOrderedIndex.findByClaim`). Pure functions,
//! shared by the PersistentVolume controller and the scheduler.

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};

use crate::engine::apiserver::validation::quote;
use crate::engine::scheduler::plugins::node_affinity::term_matches;
use crate::engine::selector::Selector;

use super::{
    claim_access_modes, claim_class, is_volume_bound_to_claim, requested_storage, volume_access_modes, volume_capacity, volume_class,
    volume_phase,
};

/// A node a volume may have to be reachable from (scheduler path only).
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

fn volume_mode(mode: Option<&str>) -> &str {
    mode.unwrap_or("Filesystem")
}

/// `CheckVolumeModeMismatches`: an unset mode counts as Filesystem.
pub fn volume_mode_mismatch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let requested = volume_mode(claim.spec.as_ref().and_then(|s| s.volume_mode.as_deref()));
    let offered = volume_mode(volume.spec.as_ref().and_then(|s| s.volume_mode.as_deref()));
    requested != offered
}

/// `CheckAccessModes`: the volume offers every mode the claim asks for.
pub fn check_access_modes(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let offered = volume_access_modes(volume);
    claim_access_modes(claim).iter().all(|m| offered.contains(m))
}

/// `CheckNodeAffinity`: a volume without required node affinity fits every node.
pub fn node_affinity_matches(volume: &PersistentVolume, node: NodeRef) -> bool {
    let Some(required) = volume.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref()) else {
        return true;
    };
    required.node_selector_terms.iter().any(|t| term_matches(t, node.labels, node.name))
}

/// `checkVolumeSatisfyClaim`: why a volume the claim asked for by name does
/// not fit it, in the PV controller's words.
pub fn check_volume_satisfies_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Result<(), String> {
    if volume.metadata.deletion_timestamp.is_some() {
        return Err(format!("the volume is marked for deletion {}", quote(volume.metadata.name.as_deref().unwrap_or(""))));
    }
    if volume_capacity(volume).value() < requested_storage(claim).value() {
        return Err("requested PV is too small".into());
    }
    if volume_class(volume) != claim_class(claim) {
        return Err("storageClassName does not match".into());
    }
    if volume_mode_mismatch(claim, volume) {
        return Err("incompatible volumeMode".into());
    }
    if !check_access_modes(claim, volume) {
        return Err("incompatible accessMode".into());
    }
    Ok(())
}

fn selector_matches(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    match claim.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        None => true,
        Some(selector) => Selector::from_api(selector).matches(volume.metadata.labels.as_ref()),
    }
}

/// `FindMatchingVolume`: a volume pre-bound to the claim wins; otherwise the
/// smallest Available volume of the claim's class whose capacity, volume
/// mode, selector (and, on the scheduler path, node affinity and access
/// modes) fit. With `delay_binding` and no node (the controller's path for
/// WaitForFirstConsumer claims) only pre-bound volumes are returned. Ties on
/// capacity go to the first volume by name.
pub fn find_matching_volume<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &[&'a PersistentVolume],
    node: Option<NodeRef>,
    excluded: &BTreeSet<String>,
    delay_binding: bool,
) -> Option<&'a PersistentVolume> {
    let requested = requested_storage(claim);
    let class = claim_class(claim);
    let mut sorted: Vec<&'a PersistentVolume> = volumes.to_vec();
    sorted.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut smallest: Option<&'a PersistentVolume> = None;
    for &volume in &sorted {
        if excluded.contains(volume.metadata.name.as_deref().unwrap_or("")) {
            continue;
        }
        let bound_to_this = is_volume_bound_to_claim(volume, claim);
        if super::claim_ref(volume).is_some() && !bound_to_this {
            continue;
        }
        let capacity = volume_capacity(volume);
        if capacity < requested {
            continue;
        }
        if volume_mode_mismatch(claim, volume) {
            continue;
        }
        if volume.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let node_ok = node.is_none_or(|n| node_affinity_matches(volume, n));
        if bound_to_this {
            // A pre-bound volume that does not fit the node fits nowhere here.
            return node_ok.then_some(volume);
        }
        if node.is_none() && delay_binding {
            continue;
        }
        if volume_phase(volume) != "Available" || !selector_matches(claim, volume) || volume_class(volume) != class || !node_ok {
            continue;
        }
        if node.is_some() && !check_access_modes(claim, volume) {
            continue;
        }
        if smallest.is_none_or(|s| volume_capacity(s) > capacity) {
            smallest = Some(volume);
        }
    }
    smallest
}

/// The PV controller's search (`findByClaim`): volumes are grouped by their
/// set of access modes; groups offering every mode the claim asks for are
/// tried fewest modes first, so a ReadWriteOnce claim takes a
/// ReadWriteOnce volume before a ReadWriteOnce+ReadWriteMany one.
pub fn find_best_match_for_claim<'a>(claim: &PersistentVolumeClaim, volumes: &[&'a PersistentVolume], delay_binding: bool) -> Option<&'a PersistentVolume> {
    let mut groups: BTreeMap<Vec<&str>, Vec<&'a PersistentVolume>> = BTreeMap::new();
    for &volume in volumes {
        let mut modes: Vec<&str> = volume_access_modes(volume).iter().map(String::as_str).collect();
        modes.sort_stable();
        modes.dedup();
        groups.entry(modes).or_default().push(volume);
    }
    let wanted = claim_access_modes(claim);
    let mut candidates: Vec<(&Vec<&str>, &Vec<&'a PersistentVolume>)> =
        groups.iter().filter(|(modes, _)| wanted.iter().all(|w| modes.contains(&w.as_str()))).collect();
    candidates.sort_stable_by_key(|(modes, _)| modes.len());
    let none = BTreeSet::new();
    candidates.into_iter().find_map(|(_, group)| find_matching_volume(claim, group, None, &none, delay_binding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pv(name: &str, size: &str, modes: &[&str], class: &str, phase: &str) -> PersistentVolume {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"size": size}},
            "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": class,
                "hostPath": {"path": format!("/data/{name}")}},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    fn claim(size: &str, modes: &[&str], class: &str) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "default", "uid": "claim-uid"},
            "spec": {"accessModes": modes, "resources": {"requests": {"storage": size}}, "storageClassName": class}
        }))
        .unwrap()
    }

    fn best<'a>(c: &PersistentVolumeClaim, vols: &'a [PersistentVolume], delay: bool) -> Option<&'a str> {
        let refs: Vec<&PersistentVolume> = vols.iter().collect();
        find_best_match_for_claim(c, &refs, delay).and_then(|v| v.metadata.name.as_deref())
    }

    #[test]
    fn matches_by_class_capacity_modes_and_phase() {
        let rwo = &["ReadWriteOnce"];
        let vols = [
            pv("small", "1Gi", rwo, "manual", "Available"),
            pv("big", "10Gi", rwo, "manual", "Available"),
            pv("mid", "5Gi", rwo, "manual", "Available"),
            pv("other-class", "2Gi", rwo, "fast", "Available"),
            pv("released", "3Gi", rwo, "manual", "Released"),
            pv("rox-only", "3Gi", &["ReadOnlyMany"], "manual", "Available"),
        ];
        let table = [
            // (request, modes, class, expected)
            ("500Mi", rwo.as_slice(), "manual", Some("small")),
            ("2Gi", rwo.as_slice(), "manual", Some("mid")),
            ("6Gi", rwo.as_slice(), "manual", Some("big")),
            ("11Gi", rwo.as_slice(), "manual", None),
            ("1Gi", rwo.as_slice(), "fast", Some("other-class")),
            ("1Gi", rwo.as_slice(), "", None),
            ("1Gi", &["ReadOnlyMany"], "manual", Some("rox-only")),
            ("1Gi", &["ReadWriteMany"], "manual", None),
        ];
        for (request, modes, class, expected) in table {
            assert_eq!(best(&claim(request, modes, class), &vols, false), expected, "{request} {modes:?} {class}");
        }
    }

    #[test]
    fn prefers_the_fewest_extra_access_modes_over_size() {
        let vols = [pv("both", "1Gi", &["ReadWriteOnce", "ReadWriteMany"], "", "Available"), pv("rwo", "10Gi", &["ReadWriteOnce"], "", "Available")];
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], ""), &vols, false), Some("rwo"));
        assert_eq!(best(&claim("1Gi", &["ReadWriteMany"], ""), &vols, false), Some("both"));
    }

    #[test]
    fn selector_filters_by_volume_labels() {
        let vols = [pv("a", "1Gi", &["ReadWriteOnce"], "", "Available"), pv("b", "2Gi", &["ReadWriteOnce"], "", "Available")];
        let mut c = claim("1Gi", &["ReadWriteOnce"], "");
        c.spec.as_mut().unwrap().selector = Some(serde_json::from_value(json!({"matchLabels": {"size": "2Gi"}})).unwrap());
        assert_eq!(best(&c, &vols, false), Some("b"));
        c.spec.as_mut().unwrap().selector =
            Some(serde_json::from_value(json!({"matchExpressions": [{"key": "size", "operator": "In", "values": ["3Gi"]}]})).unwrap());
        assert_eq!(best(&c, &vols, false), None);
    }

    #[test]
    fn volume_mode_must_agree() {
        let mut block = pv("block", "1Gi", &["ReadWriteOnce"], "", "Available");
        block.spec.as_mut().unwrap().volume_mode = Some("Block".into());
        let vols = [block];
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], ""), &vols, false), None);
        let mut c = claim("1Gi", &["ReadWriteOnce"], "");
        c.spec.as_mut().unwrap().volume_mode = Some("Block".into());
        assert_eq!(best(&c, &vols, false), Some("block"));
    }

    #[test]
    fn pre_bound_volumes_win_and_others_bound_elsewhere_are_skipped() {
        let mut mine = pv("mine", "5Gi", &["ReadWriteOnce"], "other", "Bound");
        mine.spec.as_mut().unwrap().claim_ref = Some(serde_json::from_value(json!({"name": "data", "namespace": "default"})).unwrap());
        let mut theirs = pv("theirs", "1Gi", &["ReadWriteOnce"], "", "Available");
        theirs.spec.as_mut().unwrap().claim_ref = Some(serde_json::from_value(json!({"name": "else", "namespace": "default"})).unwrap());
        let free = pv("free", "1Gi", &["ReadWriteOnce"], "", "Available");
        let vols = [theirs, free, mine];
        // Pre-bound by name: class and phase do not matter.
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], ""), &vols, false), Some("mine"));
        // A claimRef with another uid is another claim of the same name.
        let mut stale = vols.clone();
        stale[2].spec.as_mut().unwrap().claim_ref.as_mut().unwrap().uid = Some("old-uid".into());
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], ""), &stale, false), Some("free"));
    }

    #[test]
    fn delayed_binding_only_takes_pre_bound_volumes() {
        let vols = [pv("free", "1Gi", &["ReadWriteOnce"], "local", "Available")];
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], "local"), &vols, true), None);
        let mut prebound = vols.clone();
        prebound[0].spec.as_mut().unwrap().claim_ref =
            Some(serde_json::from_value(json!({"name": "data", "namespace": "default", "uid": "claim-uid"})).unwrap());
        assert_eq!(best(&claim("1Gi", &["ReadWriteOnce"], "local"), &prebound, true), Some("free"));
    }

    #[test]
    fn scheduler_path_checks_node_affinity() {
        let mut local = pv("local", "1Gi", &["ReadWriteOnce"], "local", "Available");
        local.spec.as_mut().unwrap().node_affinity = Some(
            serde_json::from_value(json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-1"]}]}]}}))
            .unwrap(),
        );
        let vols = [&local];
        let labels1 = BTreeMap::from([("kubernetes.io/hostname".to_string(), "worker-1".to_string())]);
        let labels2 = BTreeMap::from([("kubernetes.io/hostname".to_string(), "worker-2".to_string())]);
        let c = claim("1Gi", &["ReadWriteOnce"], "local");
        let none = BTreeSet::new();
        let on = |labels, name| find_matching_volume(&c, &vols, Some(NodeRef { name, labels }), &none, true).and_then(|v| v.metadata.name.as_deref());
        assert_eq!(on(&labels1, "worker-1"), Some("local"));
        assert_eq!(on(&labels2, "worker-2"), None);
        let excluded = BTreeSet::from(["local".to_string()]);
        assert!(find_matching_volume(&c, &vols, Some(NodeRef { name: "worker-1", labels: &labels1 }), &excluded, true).is_none());
    }

    #[test]
    fn explains_why_a_named_volume_does_not_fit() {
        let v = pv("v", "1Gi", &["ReadWriteOnce"], "manual", "Available");
        assert_eq!(check_volume_satisfies_claim(&v, &claim("2Gi", &["ReadWriteOnce"], "manual")), Err("requested PV is too small".into()));
        assert_eq!(check_volume_satisfies_claim(&v, &claim("1Gi", &["ReadWriteOnce"], "fast")), Err("storageClassName does not match".into()));
        assert_eq!(check_volume_satisfies_claim(&v, &claim("1Gi", &["ReadWriteMany"], "manual")), Err("incompatible accessMode".into()));
        assert_eq!(check_volume_satisfies_claim(&v, &claim("1Gi", &["ReadWriteOnce"], "manual")), Ok(()));
    }
}
