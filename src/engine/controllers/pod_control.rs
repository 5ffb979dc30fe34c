//! What every pod-making controller shares, as `pkg/controller` shares
//! `PodControlInterface`, `ControllerExpectations` and the
//! `ControllerRefManager`: creating pods in slow-start batches with the
//! owner's `SuccessfulCreate`/`FailedCreate` events, deleting them with
//! `SuccessfulDelete`/`FailedDelete`, remembering what was asked but not yet
//! seen in the informer, and adopting or releasing pods by controllerRef.

use std::collections::BTreeSet;
use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, resource, ApiError, Object, ObjectKey, Reason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::util;

/// Expectations not met by then are forgotten (`ExpectationsTimeout`).
const EXPECTATIONS_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// Creates and deletes pods on behalf of an owner, recording its events.
pub struct PodControl {
    pub recorder: EventRecorder,
}

impl PodControl {
    /// `component` is the event source, e.g. `replicaset-controller`.
    pub fn new(component: &str) -> Self {
        PodControl { recorder: EventRecorder::new(component, None) }
    }

    pub fn reset(&mut self) {
        self.recorder.reset();
    }

    /// Creates one pod for `owner` (`CreatePods`).
    pub fn create(&mut self, ctx: &mut Ctx, owner: &Object, pod: Pod) -> Result<Rc<Object>, ApiError> {
        match ctx.api.create(Object::Pod(Box::new(pod))) {
            Ok(stored) => {
                let name = util::name_of(&stored).to_string();
                let m = owner.meta();
                if ctx.logging() {
                    ctx.log(format!("created pod {}/{name} for {} {}", m.namespace.as_deref().unwrap_or(""), resource(owner.resource_id()).kind, m.name.as_deref().unwrap_or("")));
                }
                self.recorder.record(ctx.api, owner, NORMAL, "SuccessfulCreate", ["Created pod: ", name.as_str()].concat());
                Ok(stored)
            }
            Err(e) => {
                if e.reason != Reason::ConnectionRefused {
                    self.recorder.record(ctx.api, owner, WARNING, "FailedCreate", format!("Error creating: {}", e.message));
                }
                Err(e)
            }
        }
    }

    /// Creates `count` pods made by `make(i)` in batches of 1, 2, 4, …
    /// stopping at the first error, so a quota or admission failure costs
    /// one request rather than hundreds (`slowStartBatch`). Returns how many
    /// were created and the error that stopped it.
    pub fn create_batch(&mut self, ctx: &mut Ctx, owner: &Object, count: usize, mut make: impl FnMut(usize) -> Pod) -> (usize, Option<ApiError>) {
        let mut created = 0;
        let mut batch = 1;
        while created < count {
            for _ in 0..batch.min(count - created) {
                if let Err(e) = self.create(ctx, owner, make(created)) {
                    return (created, Some(e));
                }
                created += 1;
            }
            batch *= 2;
        }
        (created, None)
    }

    /// Deletes `pod` (`DeletePod`), preconditioned on its uid. A pod already
    /// gone is `NotFound` with no event.
    pub fn delete(&mut self, ctx: &mut Ctx, owner: &Object, pod: &Pod) -> Result<(), ApiError> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let opts = DeleteOptions { precondition_uid: pod.metadata.uid.clone(), ..Default::default() };
        match ctx.api.delete(ids::pods(), &ns, &name, &opts) {
            Ok(_) => {
                let m = owner.meta();
                ctx.log(format!("deleted pod {ns}/{name} of {} {}", resource(owner.resource_id()).kind, m.name.as_deref().unwrap_or("")));
                self.recorder.record(ctx.api, owner, NORMAL, "SuccessfulDelete", format!("Deleted pod: {name}"));
                Ok(())
            }
            Err(e) => {
                if !matches!(e.reason, Reason::NotFound | Reason::ConnectionRefused) {
                    self.recorder.record(ctx.api, owner, WARNING, "FailedDelete", format!("Error deleting: {}", e.message));
                }
                Err(e)
            }
        }
    }

    /// Makes `owner` the controller of an orphan (`AdoptPod`); the adopted
    /// pod, or `None` when it changed meanwhile.
    pub fn adopt(&self, ctx: &mut Ctx, owner: &Object, pod: &Pod) -> Option<Pod> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let owner_ref = util::controller_ref(owner);
        let pod_uid = pod.metadata.uid.clone();
        let adopted = ctx.api.modify(ids::pods(), &ns, &name, false, |o| {
            let m = o.meta_mut();
            if m.uid != pod_uid || m.deletion_timestamp.is_some() || meta::controller_of(m.owner_references.as_ref()).is_some() {
                return false;
            }
            let refs = m.owner_references.get_or_insert_with(Vec::new);
            refs.retain(|r| r.uid != owner_ref.uid);
            refs.push(owner_ref.clone());
            true
        });
        match adopted.ok().as_deref() {
            Some(Object::Pod(p)) if meta::controller_of(p.metadata.owner_references.as_ref()).is_some_and(|r| r.uid == owner_ref.uid) => Some(*p.clone()),
            _ => None,
        }
    }

    /// Drops `owner_uid`'s reference from a pod that no longer matches (`ReleasePod`).
    pub fn release(&self, ctx: &mut Ctx, pod: &Pod, owner_uid: &str) {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pod_uid = pod.metadata.uid.clone();
        let _ = ctx.api.modify(ids::pods(), &ns, &name, false, |o| {
            let m = o.meta_mut();
            if m.uid != pod_uid {
                return false;
            }
            let Some(refs) = m.owner_references.as_mut() else { return false };
            let before = refs.len();
            refs.retain(|r| r.uid != owner_uid);
            let changed = refs.len() != before;
            if refs.is_empty() {
                m.owner_references = None;
            }
            changed
        });
    }
}

/// A fresh read of the owner, so nothing is adopted by a controller that
/// is being deleted or was replaced (`RecheckDeletionTimestamp`).
pub fn can_adopt(ctx: &mut Ctx, rid: crate::engine::api::ResourceId, key: &ObjectKey, uid: &str) -> bool {
    match ctx.api.get(rid, &key.namespace, &key.name) {
        Ok(fresh) => fresh.meta().uid.as_deref() == Some(uid) && fresh.meta().deletion_timestamp.is_none(),
        Err(_) => false,
    }
}

/// Creations and deletions a controller asked for but has not yet seen in
/// its informer, so it does not act twice (`ControllerExpectations`).
pub struct Expectations<K = ObjectKey> {
    pending: FxHashMap<K, Pending>,
}

struct Pending {
    adds: i64,
    deletes: BTreeSet<String>,
    since: VirtualTime,
}

impl<K> Default for Expectations<K> {
    fn default() -> Self {
        Expectations { pending: FxHashMap::default() }
    }
}

impl<K: Clone + Eq + Hash> Expectations<K> {
    /// `count` creations are on their way (`ExpectCreations`).
    pub fn expect_creations(&mut self, key: &K, count: usize, now: VirtualTime) {
        self.pending.insert(key.clone(), Pending { adds: count as i64, deletes: BTreeSet::new(), since: now });
    }

    /// These pods' deletions are on their way (`ExpectDeletions`, by uid).
    pub fn expect_deletions(&mut self, key: &K, uids: BTreeSet<String>, now: VirtualTime) {
        self.pending.insert(key.clone(), Pending { adds: 0, deletes: uids, since: now });
    }

    /// A creation asked for will not happen (it failed).
    pub fn creation_failed(&mut self, key: &K, count: usize) {
        if let Some(p) = self.pending.get_mut(key) {
            p.adds -= count as i64;
        }
    }

    /// The informer showed one of the creations (`key` may be borrowed parts).
    pub fn creation_observed<Q: ?Sized + Hash + Eq>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
    {
        if let Some(p) = self.pending.get_mut(key) {
            p.adds -= 1;
        }
    }

    /// The informer showed the pod going (or its deletion failed).
    pub fn deletion_observed<Q: ?Sized + Hash + Eq>(&mut self, key: &Q, uid: &str)
    where
        K: std::borrow::Borrow<Q>,
    {
        if let Some(p) = self.pending.get_mut(key) {
            p.deletes.remove(uid);
        }
    }

    /// Whether everything asked for was seen, or waited for too long (`SatisfiedExpectations`).
    pub fn satisfied(&mut self, key: &K, now: VirtualTime) -> bool {
        match self.pending.get(key) {
            None => true,
            Some(p) if (p.adds <= 0 && p.deletes.is_empty()) || now.millis_since(p.since) > EXPECTATIONS_TIMEOUT_MS => {
                self.pending.remove(key);
                true
            }
            Some(_) => false,
        }
    }

    /// When what is still awaited stops being waited for: a controller
    /// whose creations or deletions may never be seen (a watch that lost
    /// them, a restored etcd that never had them) wakes then rather than
    /// sleeping until something else happens.
    pub fn expires_at(&self, key: &K) -> Option<VirtualTime> {
        self.pending.get(key).map(|p| p.since.plus_millis(EXPECTATIONS_TIMEOUT_MS + 1))
    }

    pub fn forget(&mut self, key: &K) {
        self.pending.remove(key);
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }
}
