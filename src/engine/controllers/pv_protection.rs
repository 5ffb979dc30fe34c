//! The PV protection controller (pkg/controller/volume/pvprotection).
//! Admission gives every volume the `kubernetes.io/pv-protection`
//! finalizer; a deleted volume keeps it, and stays Terminating, while it is
//! Bound to a claim. A volume that lost the finalizer while alive gets it back.

use std::any::Any;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::WatchEventType;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;
use crate::engine::storage::{volume_phase, PV_PROTECTION_FINALIZER};

use super::queue::{drain, primed, WorkQueue};
use super::{Cache, Changes, Controller};

#[derive(Default)]
pub struct PvProtectionController {
    queue: WorkQueue,
    primed: bool,
}

impl PvProtectionController {
    pub fn new() -> Self {
        Self::default()
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::PersistentVolume(volume)) = cache.of(ids::persistent_volumes()).get(key).map(|o| &**o) else { return Ok(None) };
        let has = volume.metadata.finalizers.iter().flatten().any(|f| f == PV_PROTECTION_FINALIZER);
        let deleting = volume.metadata.deletion_timestamp.is_some();
        let remove = deleting && has && volume_phase(volume) != "Bound";
        let add = !deleting && !has;
        if !remove && !add {
            return Ok(None);
        }
        let uid = volume.metadata.uid.clone();
        let result = ctx.api.modify(ids::persistent_volumes(), "", &key.name, false, |obj| {
            let m = obj.meta_mut();
            if m.uid != uid {
                return false;
            }
            let finalizers = m.finalizers.get_or_insert_with(Vec::new);
            let had = finalizers.iter().any(|f| f == PV_PROTECTION_FINALIZER);
            if remove && had {
                finalizers.retain(|f| f != PV_PROTECTION_FINALIZER);
            } else if add && !had && m.deletion_timestamp.is_none() {
                finalizers.push(PV_PROTECTION_FINALIZER.to_string());
            } else {
                return false;
            }
            if m.finalizers.as_ref().is_some_and(Vec::is_empty) {
                m.finalizers = None;
            }
            true
        });
        match result {
            Ok(_) => Ok(None),
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Controller for PvProtectionController {
    fn name(&self) -> &str {
        "persistentvolume-protection-controller"
    }

    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::persistent_volumes()]
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let watches = self.watches();
        if !primed(&mut self.primed, &mut self.queue, cache, &watches, ids::persistent_volumes()) {
            return;
        }
        for ev in changes.of(ids::persistent_volumes()) {
            if ev.kind != WatchEventType::Deleted {
                self.queue.add(ObjectKey::of(&ev.object));
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
    }

    fn reset(&mut self) {
        self.queue.clear();
        self.primed = false;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
