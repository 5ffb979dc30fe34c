//! The volume expand controller (`pkg/controller/volume/expand`). A bound
//! claim whose storage request grows past its `status.capacity` is the
//! controller's to expand only when an in-tree expandable plugin serves its
//! volume; no volume here has one (hostPath and local are not expandable,
//! and no CSI driver runs), so `FindExpandablePluginBySpec` fails and the
//! controller records a Warning `ExternalExpanding` and leaves the claim to
//! an external resizer, which neither kind nor minikube runs: the claim
//! keeps its old capacity.

use std::collections::BTreeMap;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::quantity::{parse_stored, Quantity};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;
use crate::engine::storage::{claim_phase, claim_volume_name, is_volume_bound_to_claim, requested_storage};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::{Cache, Changes, Reconciler, WorkLoop};

/// `util.AnnPreResizeCapacity`: set by an in-tree expansion the node has not finished.
const ANN_PRE_RESIZE_CAPACITY: &str = "volume.alpha.kubernetes.io/pre-resize-capacity";

/// A claim's `status.capacity` storage (zero when missing).
fn claim_capacity(claim: &PersistentVolumeClaim) -> Quantity {
    claim.status.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).and_then(parse_stored).unwrap_or_else(Quantity::zero)
}

/// The request and capacity the informer last delivered for a claim: its
/// update handler compares them with the new ones.
struct Sizes {
    requested: Quantity,
    capacity: Quantity,
}

fn sizes(claim: &PersistentVolumeClaim) -> Sizes {
    Sizes { requested: requested_storage(claim), capacity: claim_capacity(claim) }
}

pub struct VolumeExpandController {
    work: WorkLoop,
    recorder: EventRecorder,
    last_seen: BTreeMap<ObjectKey, Sizes>,
    /// Whether `last_seen` holds every cached claim since the (re)start.
    filled: bool,
}

impl Default for VolumeExpandController {
    fn default() -> Self {
        Self::new()
    }
}

impl VolumeExpandController {
    pub fn new() -> Self {
        VolumeExpandController { work: WorkLoop::default(), recorder: EventRecorder::new("volume_expand", None), last_seen: BTreeMap::new(), filled: false }
    }

    /// `syncHandler`.
    fn sync_claim(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::PersistentVolumeClaim(claim)) = cache.of(ids::persistent_volume_claims()).get(key).map(|o| &**o) else { return Ok(None) };
        // Only bound claims are queued (`enqueuePVC`); the restart's queues all.
        if claim_phase(claim) != "Bound" || claim_volume_name(claim).is_empty() {
            return Ok(None);
        }
        // `getPersistentVolume` reads the volume from the API server.
        let volume = ctx.api.get(ids::persistent_volumes(), "", claim_volume_name(claim))?;
        let Object::PersistentVolume(volume) = &*volume else { return Ok(None) };
        if !is_volume_bound_to_claim(volume, claim) || volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).and_then(|r| r.uid.as_deref()).is_none() {
            return Ok(None);
        }
        let pre_resize = volume.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANN_PRE_RESIZE_CAPACITY));
        if requested_storage(claim) <= claim_capacity(claim) && !pre_resize {
            return Ok(None);
        }
        // No in-tree plugin expands any volume here: FindExpandablePluginBySpec errs.
        self.recorder.record(ctx.api, &Object::PersistentVolumeClaim(claim.clone()), WARNING, "ExternalExpanding", "waiting for an external controller to expand this PVC");
        Ok(None)
    }
}

impl Reconciler for VolumeExpandController {
    fn name(&self) -> &str {
        "volume_expand"
    }
    fn kind(&self) -> ResourceId {
        ids::persistent_volume_claims()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::persistent_volume_claims()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    /// The informer's handlers: a claim is queued when added and when an
    /// update grows its request or its capacity, and only while Bound.
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        if !self.filled {
            // After a (re)start every claim was queued once already; what
            // the cache holds now is what later updates compare with.
            self.filled = true;
            for o in cache.of(ids::persistent_volume_claims()).items() {
                if let Object::PersistentVolumeClaim(claim) = &**o {
                    self.last_seen.insert(ObjectKey::of(o), sizes(claim));
                }
            }
            return;
        }
        for ev in changes.of(ids::persistent_volume_claims()) {
            let key = ObjectKey::of(&ev.object);
            let Object::PersistentVolumeClaim(claim) = &*ev.object else { continue };
            if ev.kind == WatchEventType::Deleted {
                self.last_seen.remove(&key);
                continue;
            }
            let new = sizes(claim);
            let grew = match (ev.kind, self.last_seen.get(&key)) {
                (WatchEventType::Modified, Some(old)) => new.requested > old.requested || new.capacity > old.capacity,
                _ => true,
            };
            if grew && claim_phase(claim) == "Bound" {
                self.work.queue.add(key.clone());
            }
            self.last_seen.insert(key, new);
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync_claim(ctx, cache, key)
    }
    fn forget(&mut self) {
        self.recorder.reset();
        self.last_seen.clear();
        self.filled = false;
    }
}
