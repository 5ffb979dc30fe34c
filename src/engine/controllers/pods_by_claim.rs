//! An index of pods by the claims their volumes use, as the volume
//! controllers' pod informers keep it (`common.PodPVCIndex`), so a claim's
//! users are found without scanning every pod. A pod's volumes never change,
//! so a pod is indexed once when it appears and dropped when it goes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::api::{ids, Object, ObjectKey};
use crate::engine::apiserver::{WatchEvent, WatchEventType};
use crate::engine::storage::pod_claim_names;

use super::Cache;

#[derive(Default)]
pub struct PodsByClaim {
    /// Claim key → names of the pods in its namespace that use it.
    by_claim: BTreeMap<ObjectKey, BTreeSet<String>>,
    /// Pod key → the claims it was indexed under.
    claims_of: HashMap<ObjectKey, Vec<ObjectKey>>,
}

impl PodsByClaim {
    pub fn clear(&mut self) {
        self.by_claim.clear();
        self.claims_of.clear();
    }

    /// Indexes every cached pod (after a restart).
    pub fn rebuild(&mut self, cache: &Cache) {
        self.clear();
        for pod in cache.of(ids::pods()).items() {
            self.add(pod);
        }
    }

    fn add(&mut self, obj: &Object) {
        let Object::Pod(pod) = obj else { return };
        let key = ObjectKey::of(obj);
        let claims: Vec<ObjectKey> = pod_claim_names(pod).into_iter().map(|c| ObjectKey::new(key.namespace.clone(), c)).collect();
        if claims.is_empty() {
            return;
        }
        for claim in &claims {
            self.by_claim.entry(claim.clone()).or_default().insert(key.name.clone());
        }
        self.claims_of.insert(key, claims);
    }

    fn remove(&mut self, key: &ObjectKey) {
        let Some(claims) = self.claims_of.remove(key) else { return };
        for claim in claims {
            if let Some(set) = self.by_claim.get_mut(&claim) {
                set.remove(&key.name);
                if set.is_empty() {
                    self.by_claim.remove(&claim);
                }
            }
        }
    }

    /// Applies what the pod informer delivered. A relist can report a pod
    /// replaced under the same name as modified, so every change re-indexes.
    pub fn apply(&mut self, events: &[WatchEvent]) {
        for ev in events {
            let key = ObjectKey::of(&ev.object);
            self.remove(&key);
            if ev.kind != WatchEventType::Deleted {
                self.add(&ev.object);
            }
        }
    }

    /// The pods using a claim, by name.
    pub fn pods_of<'a>(&'a self, claim: &ObjectKey) -> impl Iterator<Item = &'a String> + 'a {
        self.by_claim.get(claim).into_iter().flatten()
    }

    /// The claims a pod's volumes use, as indexed.
    pub fn claims_of(&self, pod: &ObjectKey) -> &[ObjectKey] {
        self.claims_of.get(pod).map_or(&[], Vec::as_slice)
    }
}
