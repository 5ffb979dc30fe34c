//! An index of pods by the claims their volumes use, as the volume
//! controllers' pod informers keep it (`common.PodPVCIndex`), so a claim's
//! users are found without scanning every pod. A pod's volumes never
//! change, so a pod is indexed once, by uid, when it first appears and
//! dropped when it goes; pods without claims cost a check and no allocation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, Object, ObjectKey};
use crate::engine::apiserver::{WatchEvent, WatchEventType};
use crate::engine::storage::pod_claim_names;

use super::Cache;

/// Whether any of the pod's volumes is a claim (or a generic ephemeral one).
pub fn uses_claims(pod: &Pod) -> bool {
    pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some())
}

/// Whether the pod's volumes name this claim.
pub fn uses_claim(pod: &Pod, claim: &str) -> bool {
    uses_claims(pod) && pod_claim_names(pod).iter().any(|c| c == claim)
}

#[derive(Default)]
pub struct PodsByClaim {
    /// Claim key → names of the pods in its namespace that use it.
    by_claim: BTreeMap<ObjectKey, BTreeSet<String>>,
    /// Pod uid → the claims it was indexed under.
    claims_of: HashMap<String, Vec<ObjectKey>>,
}

impl PodsByClaim {
    pub fn clear(&mut self) {
        self.by_claim.clear();
        self.claims_of.clear();
    }

    /// Indexes every cached pod (after a restart).
    pub fn rebuild(&mut self, cache: &Cache) {
        self.clear();
        for obj in cache.of(ids::pods()).items() {
            if let Object::Pod(pod) = &**obj {
                self.add(pod);
            }
        }
    }

    fn add(&mut self, pod: &Pod) {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        if !uses_claims(pod) || self.claims_of.contains_key(uid) {
            return;
        }
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let claims: Vec<ObjectKey> = pod_claim_names(pod).into_iter().map(|c| ObjectKey::new(namespace.clone(), c)).collect();
        for claim in &claims {
            self.by_claim.entry(claim.clone()).or_default().insert(name.clone());
        }
        self.claims_of.insert(uid.to_string(), claims);
    }

    fn remove(&mut self, pod: &Pod) {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        let Some(claims) = self.claims_of.remove(uid) else { return };
        let name = pod.metadata.name.as_deref().unwrap_or("");
        for claim in claims {
            if let Some(set) = self.by_claim.get_mut(&claim) {
                set.remove(name);
                if set.is_empty() {
                    self.by_claim.remove(&claim);
                }
            }
        }
    }

    /// Applies what the pod informer delivered.
    pub fn apply(&mut self, events: &[WatchEvent]) {
        for ev in events {
            let Object::Pod(pod) = &*ev.object else { continue };
            if ev.kind == WatchEventType::Deleted {
                self.remove(pod);
            } else {
                self.add(pod);
            }
        }
    }

    /// The names of the pods using a claim. Callers check the pod they find
    /// under a name still uses the claim (a pod may have been replaced by
    /// one of the same name while the informer was relisting).
    pub fn pods_of<'a>(&'a self, claim: &ObjectKey) -> impl Iterator<Item = &'a String> + 'a {
        self.by_claim.get(claim).into_iter().flatten()
    }

    /// The claims a pod's volumes use, as indexed.
    pub fn claims_of(&self, pod: &Pod) -> &[ObjectKey] {
        self.claims_of.get(pod.metadata.uid.as_deref().unwrap_or("")).map_or(&[], Vec::as_slice)
    }
}
