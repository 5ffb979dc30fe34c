//! The PVC protection controller (pkg/controller/volume/pvcprotection).
//! Admission gives every claim the `kubernetes.io/pvc-protection`
//! finalizer; when the claim is deleted, this controller removes the
//! finalizer only once no scheduled pod uses the claim any more, so a claim
//! in use stays Terminating. A claim that lost the finalizer while alive
//! gets it back.

use std::any::Any;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::WatchEventType;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;
use crate::engine::storage::PVC_PROTECTION_FINALIZER;

use super::pods_by_claim::{uses_claim, PodsByClaim};
use super::queue::{drain, primed, WorkQueue};
use super::{util, Cache, Changes, Controller};

fn has_finalizer(claim: &PersistentVolumeClaim) -> bool {
    claim.metadata.finalizers.iter().flatten().any(|f| f == PVC_PROTECTION_FINALIZER)
}

/// Being deleted and still held by the finalizer.
fn is_deletion_candidate(claim: &PersistentVolumeClaim) -> bool {
    claim.metadata.deletion_timestamp.is_some() && has_finalizer(claim)
}

fn needs_finalizer(claim: &PersistentVolumeClaim) -> bool {
    claim.metadata.deletion_timestamp.is_none() && !has_finalizer(claim)
}

#[derive(Default)]
pub struct PvcProtectionController {
    queue: WorkQueue,
    pods: PodsByClaim,
    primed: bool,
}

impl PvcProtectionController {
    pub fn new() -> Self {
        Self::default()
    }

    fn claim(cache: &Cache, key: &ObjectKey) -> Option<PersistentVolumeClaim> {
        match cache.of(ids::persistent_volume_claims()).get(key).map(|o| &**o) {
            Some(Object::PersistentVolumeClaim(c)) => Some(*c.clone()),
            _ => None,
        }
    }

    /// Whether a scheduled pod uses the claim: the kubelet may be running it,
    /// and it never starts a pod whose claim is being deleted.
    fn in_use(&self, cache: &Cache, key: &ObjectKey) -> bool {
        let pods = cache.of(ids::pods());
        self.pods.pods_of(key).any(|name| {
            matches!(pods.get(&ObjectKey::new(key.namespace.clone(), name.clone())).map(|o| &**o),
                Some(Object::Pod(p)) if !util::node_name(p).is_empty() && uses_claim(p, &key.name))
        })
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(claim) = Self::claim(cache, key) else { return Ok(None) };
        let remove = is_deletion_candidate(&claim) && !self.in_use(cache, key);
        let add = needs_finalizer(&claim);
        if !remove && !add {
            return Ok(None);
        }
        let uid = claim.metadata.uid.clone();
        let result = ctx.api.modify(ids::persistent_volume_claims(), &key.namespace, &key.name, false, |obj| {
            let m = obj.meta_mut();
            if m.uid != uid {
                return false;
            }
            let finalizers = m.finalizers.get_or_insert_with(Vec::new);
            let had = finalizers.iter().any(|f| f == PVC_PROTECTION_FINALIZER);
            if remove && had {
                finalizers.retain(|f| f != PVC_PROTECTION_FINALIZER);
            } else if add && !had && m.deletion_timestamp.is_none() {
                finalizers.push(PVC_PROTECTION_FINALIZER.to_string());
            } else {
                return false;
            }
            if m.finalizers.as_ref().is_some_and(Vec::is_empty) {
                m.finalizers = None;
            }
            true
        });
        match result {
            Ok(_) => {
                if remove {
                    ctx.log(format!("removed the protection finalizer of claim {key}: no pod uses it"));
                }
                Ok(None)
            }
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Controller for PvcProtectionController {
    fn name(&self) -> &str {
        "persistentvolumeclaim-protection-controller"
    }

    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::persistent_volume_claims(), ids::pods()]
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let was_primed = self.primed;
        let watches = self.watches();
        if !primed(&mut self.primed, &mut self.queue, cache, &watches, ids::persistent_volume_claims()) {
            return;
        }
        if !was_primed {
            self.pods.rebuild(cache);
        } else {
            for ev in changes.of(ids::persistent_volume_claims()) {
                if ev.kind != WatchEventType::Deleted {
                    self.queue.add(ObjectKey::of(&ev.object));
                }
            }
            // A pod that went away, finished being scheduled or stopped may
            // have been the last user of a claim being deleted.
            let pod_events = changes.of(ids::pods());
            for ev in pod_events {
                let Object::Pod(pod) = &*ev.object else { continue };
                if ev.kind != WatchEventType::Deleted && util::node_name(pod).is_empty() {
                    continue;
                }
                for claim in self.pods.claims_of(pod) {
                    if Self::claim(cache, claim).is_some_and(|c| is_deletion_candidate(&c)) {
                        self.queue.add(claim.clone());
                    }
                }
            }
            self.pods.apply(pod_events);
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
    }

    fn reset(&mut self) {
        self.queue.clear();
        self.pods.clear();
        self.primed = false;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::DeleteOptions;
    use crate::engine::controllers::testkit;

    #[test]
    fn a_claim_in_use_stays_until_its_last_pod_is_gone() {
        let mut sim = testkit::sim();
        let claim = serde_json::json!({"metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}});
        let claim = Object::PersistentVolumeClaim(serde_json::from_value(claim).expect("claim"));
        sim.api.create(claim).expect("created");
        let pod = serde_json::json!({"metadata": {"name": "user", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}});
        sim.api.create(Object::Pod(serde_json::from_value(pod).expect("pod"))).expect("created");
        sim.run_for_ms(3_000);
        let get = |sim: &crate::engine::sim::Sim| sim.api.get(ids::persistent_volume_claims(), "default", "data");
        assert_eq!(get(&sim).expect("claim").meta().finalizers, Some(vec![PVC_PROTECTION_FINALIZER.to_string()]));
        sim.api.delete(ids::persistent_volume_claims(), "default", "data", &DeleteOptions::default()).expect("delete accepted");
        sim.run_for_ms(1_000);
        assert!(get(&sim).expect("still there").meta().deletion_timestamp.is_some(), "held while the pod runs");
        sim.api.delete(ids::pods(), "default", "user", &DeleteOptions::default()).expect("pod deleted");
        sim.run_for_ms(testkit::STOP_MS + 100);
        assert!(get(&sim).is_err(), "released once the pod is gone");
    }
}
