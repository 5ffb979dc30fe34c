//! The ephemeral volume controller (`pkg/controller/volume/ephemeral`):
//! for each generic ephemeral volume of a pod (`volumes[].ephemeral`) it
//! creates the claim `<pod>-<volume>` from the volume's claim template,
//! owned by the pod (`controller` and `blockOwnerDeletion`), so the
//! scheduler's volume binding and the kubelet find it and the garbage
//! collector deletes it with the pod. A claim of that name the pod does not
//! own is left alone and reported as a Warning `FailedBinding` on the pod.
//! Pods are queued when added (their spec never changes), and again when
//! the claim one of them wants is deleted.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::engine::api::pod::Pod;
use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::{Cache, Changes, Controller};

/// `ephemeral.VolumeClaimName`: the claim of a pod's ephemeral volume.
pub fn volume_claim_name(pod_name: &str, volume: &Volume) -> String {
    [pod_name, "-", &volume.name].concat()
}

/// `ephemeral.VolumeIsForPod`: the claim must be controlled by the pod.
pub fn volume_is_for_pod(pod: &Pod, claim: &PersistentVolumeClaim) -> Result<(), String> {
    let owned = claim.metadata.owner_references.iter().flatten().any(|r| r.controller == Some(true) && r.uid.as_str() == pod.metadata.uid.as_deref().unwrap_or(""));
    if owned {
        return Ok(());
    }
    let namespace = claim.metadata.namespace.as_deref().unwrap_or("");
    Err(format!(
        "PVC {namespace}/{} was not created for pod {}/{} (pod is not owner)",
        claim.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    ))
}

fn ephemeral_volumes(pod: &Pod) -> impl Iterator<Item = &Volume> {
    pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).filter(|v| v.ephemeral.is_some())
}

pub struct EphemeralVolumeController {
    queue: WorkQueue,
    recorder: EventRecorder,
    /// The claim each ephemeral volume of a known pod wants → that pod's
    /// name (the pod informer's PVC index, for these pods only).
    pods_by_claim: BTreeMap<ObjectKey, String>,
    primed: bool,
}

impl Default for EphemeralVolumeController {
    fn default() -> Self {
        Self::new()
    }
}

impl EphemeralVolumeController {
    pub fn new() -> Self {
        EphemeralVolumeController { queue: WorkQueue::default(), recorder: EventRecorder::new("ephemeral_volume", None), pods_by_claim: BTreeMap::new(), primed: false }
    }

    /// `enqueuePod`: a pod with an ephemeral volume that is not being deleted.
    fn enqueue_pod(&mut self, pod: &Pod) {
        if pod.metadata.deletion_timestamp.is_some() || ephemeral_volumes(pod).next().is_none() {
            return;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let name = pod.metadata.name.as_deref().unwrap_or("");
        self.queue.add(ObjectKey::new(namespace.to_string(), name.to_string()));
    }

    fn index(&mut self, pod: &Pod) {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let name = pod.metadata.name.as_deref().unwrap_or("");
        for v in ephemeral_volumes(pod) {
            self.pods_by_claim.insert(ObjectKey::new(namespace.to_string(), volume_claim_name(name, v)), name.to_string());
        }
    }

    fn unindex(&mut self, pod: &Pod) {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
        let name = pod.metadata.name.as_deref().unwrap_or("");
        for v in ephemeral_volumes(pod) {
            let key = ObjectKey::new(namespace.to_string(), volume_claim_name(name, v));
            if self.pods_by_claim.get(&key).is_some_and(|p| p == name) {
                self.pods_by_claim.remove(&key);
            }
        }
    }

    /// `syncHandler`: each volume in turn; the first that fails is reported
    /// on the pod and the pod is retried with back-off.
    fn sync_pod(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(obj) = cache.of(ids::pods()).get(key).cloned() else { return Ok(None) };
        let Object::Pod(pod) = &*obj else { return Ok(None) };
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        for v in ephemeral_volumes(pod) {
            if let Err(why) = self.handle_volume(ctx, cache, pod, v) {
                self.recorder.record(ctx.api, &obj, WARNING, "FailedBinding", format!("ephemeral volume {}: {why}", v.name));
                return Err(ApiError::new(Reason::Invalid, why));
            }
        }
        Ok(None)
    }

    /// `handleVolume`: the claim exists and is the pod's, or is created.
    fn handle_volume(&mut self, ctx: &mut Ctx, cache: &Cache, pod: &Pod, volume: &Volume) -> Result<(), String> {
        let Some(template) = volume.ephemeral.as_ref().and_then(|e| e.volume_claim_template.as_ref()) else { return Ok(()) };
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let claim_name = volume_claim_name(&pod_name, volume);
        if let Some(Object::PersistentVolumeClaim(claim)) = cache.of(ids::persistent_volume_claims()).get(&ObjectKey::new(namespace.clone(), claim_name.clone())).map(|o| &**o) {
            return volume_is_for_pod(pod, claim);
        }
        let template_meta = template.metadata.clone().unwrap_or_default();
        let claim = PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(claim_name.clone()),
                namespace: Some(namespace),
                owner_references: Some(vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    name: pod_name,
                    uid: pod.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                annotations: template_meta.annotations,
                labels: template_meta.labels,
                ..Default::default()
            },
            spec: Some(template.spec.clone()),
            status: None,
        };
        match ctx.api.create(Object::PersistentVolumeClaim(Box::new(claim))) {
            Ok(_) => {
                ctx.log(format!("created claim {claim_name} for the ephemeral volume {} of pod {}", volume.name, pod.metadata.name.as_deref().unwrap_or("")));
                Ok(())
            }
            Err(e) => Err(format!("create PVC {claim_name}: {}", e.message)),
        }
    }
}

impl Controller for EphemeralVolumeController {
    fn name(&self) -> &str {
        "ephemeral-volume-controller"
    }

    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::pods(), ids::persistent_volume_claims()]
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            // The informer's initial list: every pod is an add.
            self.primed = true;
            self.pods_by_claim.clear();
            for o in cache.of(ids::pods()).items() {
                if let Object::Pod(pod) = &**o {
                    self.index(pod);
                    self.enqueue_pod(pod);
                }
            }
        } else {
            for ev in changes.of(ids::pods()) {
                let Object::Pod(pod) = &*ev.object else { continue };
                match ev.kind {
                    // The spec cannot change: updates carry nothing to copy.
                    WatchEventType::Added => {
                        self.index(pod);
                        self.enqueue_pod(pod);
                    }
                    WatchEventType::Deleted => self.unindex(pod),
                    _ => {}
                }
            }
            // `onPVCDelete`: a deleted claim a pod's ephemeral volume wants is made again.
            for ev in changes.of(ids::persistent_volume_claims()) {
                if ev.kind != WatchEventType::Deleted {
                    continue;
                }
                let claim = ObjectKey::of(&ev.object);
                let Some(pod_name) = self.pods_by_claim.get(&claim) else { continue };
                let pod_key = ObjectKey::new(claim.namespace.clone(), pod_name.clone());
                if let Some(Object::Pod(pod)) = cache.of(ids::pods()).get(&pod_key).map(|o| &**o) {
                    self.enqueue_pod(pod);
                }
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_pod(ctx, cache, key));
        self.queue = queue;
    }

    fn reset(&mut self) {
        self.queue.clear();
        self.pods_by_claim.clear();
        self.recorder.reset();
        self.primed = false;
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit;

    fn pod_with_ephemeral_volume() -> Object {
        let pod = serde_json::json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}],
                "volumes": [{"name": "cache", "ephemeral": {"volumeClaimTemplate": {
                    "metadata": {"labels": {"tier": "cache"}, "annotations": {"note": "x"}, "name": "ignored"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}}}}]}});
        Object::Pod(serde_json::from_value(pod).expect("pod"))
    }

    #[test]
    fn the_claim_is_made_from_the_template_and_owned_by_the_pod() {
        let mut sim = testkit::sim();
        let pod = sim.api.create(pod_with_ephemeral_volume()).expect("created");
        sim.run_for_ms(1_000);
        let claim = sim.api.get(ids::persistent_volume_claims(), "default", "web-cache").expect("claim made");
        let Object::PersistentVolumeClaim(claim) = &*claim else { panic!("a claim") };
        let owner = claim.metadata.owner_references.as_ref().and_then(|r| r.first()).expect("an owner");
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Pod", "web", pod.meta().uid.as_deref().unwrap_or("")));
        assert_eq!((owner.controller, owner.block_owner_deletion), (Some(true), Some(true)));
        assert_eq!(claim.metadata.labels.as_ref().and_then(|l| l.get("tier")).map(String::as_str), Some("cache"));
        assert_eq!(claim.metadata.annotations.as_ref().and_then(|a| a.get("note")).map(String::as_str), Some("x"));
    }

    #[test]
    fn a_claim_the_pod_does_not_own_is_reported_and_left_alone() {
        let mut sim = testkit::sim();
        let claim = serde_json::json!({"metadata": {"name": "web-cache", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}});
        sim.api.create(Object::PersistentVolumeClaim(serde_json::from_value(claim).expect("claim"))).expect("created");
        sim.api.create(pod_with_ephemeral_volume()).expect("created");
        sim.run_for_ms(1_000);
        let events = testkit::events_for(&sim, "web");
        assert!(events.contains(&("FailedBinding".to_string(), "ephemeral volume cache: PVC default/web-cache was not created for pod default/web (pod is not owner)".to_string())), "{events:?}");
        let claim = sim.api.get(ids::persistent_volume_claims(), "default", "web-cache").expect("still there");
        assert!(claim.meta().owner_references.is_none());
    }
}
