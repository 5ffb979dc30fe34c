//! The PersistentVolume controller (kube-controller-manager's
//! `persistentvolume-binder`, pkg/controller/volume/persistentvolume).
//!
//! Claims and volumes point at each other: `claim.spec.volumeName` and
//! `volume.spec.claimRef`. The controller completes that pair in a fixed
//! order (volume's claimRef, volume's phase, claim's volumeName and
//! annotations, claim's phase) and repairs it from any state it finds, so
//! an interrupted binding finishes on the next sync:
//! - an unbound claim gets the smallest matching Available volume, or a
//!   volume pre-bound to it; failing that, the default class
//!   (retroactively), then an external provisioner is asked for one
//!   (`ExternalProvisioning`), unless its class waits for the first
//!   consumer and the scheduler has not picked a node yet;
//! - a volume whose claim is gone is Released and reclaimed: Retain keeps
//!   it, Delete removes it (in-tree hostPath under /tmp here; volumes of
//!   external provisioners are theirs to delete), Recycle scrubs it;
//! - a bound claim whose volume disappears is Lost.
//!
//! Every claim and volume is synced again every 15 s
//! (`--pvclaimbinder-sync-period`), so waiting claims repeat their events.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus, PersistentVolumeStatus};
use k8s_openapi::api::storage::v1::StorageClass;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::validation::quote;
use crate::engine::apiserver::{DeleteOptions, WatchEventType};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;
use crate::engine::storage::matching::{check_volume_satisfies_claim, find_best_match_for_claim, volume_mode_mismatch};
use crate::engine::storage::{
    self, claim_class, claim_has_class, claim_phase, claim_ref, claim_volume_name, data, has_annotation, is_volume_bound_to_claim,
    reclaim_policy, volume_phase, ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
};

use super::pods_by_claim::{uses_claim, PodsByClaim};
use super::queue::{drain, WorkQueue};
use super::{util, Cache, Changes, Controller};

/// `--pvclaimbinder-sync-period`.
const RESYNC_MS: u64 = 15_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Claim(ObjectKey),
    Volume(String),
}

fn internal(message: String) -> ApiError {
    ApiError::new(Reason::InternalError, message)
}

fn as_claim(obj: &Object) -> Option<&PersistentVolumeClaim> {
    match obj {
        Object::PersistentVolumeClaim(c) => Some(c),
        _ => None,
    }
}

fn as_volume(obj: &Object) -> Option<&PersistentVolume> {
    match obj {
        Object::PersistentVolume(v) => Some(v),
        _ => None,
    }
}

fn name_of_volume(volume: &PersistentVolume) -> &str {
    volume.metadata.name.as_deref().unwrap_or("")
}

fn claim_key(claim: &PersistentVolumeClaim) -> ObjectKey {
    ObjectKey::new(claim.metadata.namespace.clone().unwrap_or_default(), claim.metadata.name.clone().unwrap_or_default())
}

fn resource_version(obj: &Object) -> i64 {
    obj.meta().resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn set_annotation(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str, value: &str) {
    meta.annotations.get_or_insert_with(BTreeMap::new).insert(key.to_string(), value.to_string());
}

/// Which deleter a released volume with the Delete policy gets
/// (`findDeletablePlugin`).
enum Deleter {
    /// An external provisioner owns the volume and deletes it.
    External,
    /// The in-tree hostPath deleter, which only removes paths under /tmp.
    HostPath(String),
    Missing(String),
}

fn deleter_for(volume: &PersistentVolume) -> Deleter {
    let name = name_of_volume(volume);
    let spec = volume.spec.clone().unwrap_or_default();
    if let Some(plugin) = volume.metadata.annotations.as_ref().and_then(|a| a.get(ANN_DYNAMICALLY_PROVISIONED)).filter(|p| !p.is_empty()) {
        return match plugin.as_str() {
            "kubernetes.io/host-path" => match &spec.host_path {
                Some(h) => Deleter::HostPath(h.path.clone()),
                None => Deleter::Missing("spec.PersistentVolumeSource.HostPath is nil".into()),
            },
            p if !p.starts_with("kubernetes.io/") => Deleter::External,
            p => Deleter::Missing(format!("no volume plugin matched name: {p}")),
        };
    }
    let cause = if let Some(h) = &spec.host_path {
        return Deleter::HostPath(h.path.clone());
    } else if spec.nfs.is_some() || spec.csi.is_some() {
        "no deletable volume plugin matched"
    } else {
        "no volume plugin matched"
    };
    Deleter::Missing(format!("error getting deleter volume plugin for volume {}: {cause}", quote(name)))
}

/// The hostPath deleter's guard (an unanchored `/tmp/.+`).
fn under_tmp(path: &str) -> bool {
    path.match_indices("/tmp/").any(|(i, _)| path.len() > i + "/tmp/".len())
}

pub struct PersistentVolumeController {
    queue: WorkQueue<Key>,
    recorder: EventRecorder,
    primed: bool,
    next_resync: Option<VirtualTime>,
    /// What this controller wrote, until the informers catch up, so a sync
    /// right after a write never acts on the older copy (the real
    /// controller keeps its own stores for the same reason).
    claims_written: HashMap<ObjectKey, Rc<Object>>,
    volumes_written: HashMap<String, Rc<Object>>,
    pods: PodsByClaim,
    /// Keys a sync asked to sync next, queued once the drain is over.
    follow_ups: Vec<Key>,
}

impl Default for PersistentVolumeController {
    fn default() -> Self {
        Self::new()
    }
}

impl PersistentVolumeController {
    pub fn new() -> Self {
        PersistentVolumeController {
            queue: WorkQueue::default(),
            recorder: EventRecorder::new("persistentvolume-controller", None),
            primed: false,
            next_resync: None,
            claims_written: HashMap::new(),
            volumes_written: HashMap::new(),
            pods: PodsByClaim::default(),
            follow_ups: Vec::new(),
        }
    }

    fn claim(&self, cache: &Cache, key: &ObjectKey) -> Option<PersistentVolumeClaim> {
        let cached = cache.of(ids::persistent_volume_claims()).get(key);
        let written = self.claims_written.get(key);
        let newest = match (cached, written) {
            (Some(c), Some(w)) if resource_version(w) > resource_version(c) => w,
            (Some(c), _) => c,
            (None, _) => return None,
        };
        as_claim(newest).cloned()
    }

    fn volume(&self, cache: &Cache, name: &str) -> Option<PersistentVolume> {
        let cached = cache.of(ids::persistent_volumes()).get(&ObjectKey::new("", name));
        let written = self.volumes_written.get(name);
        let newest = match (cached, written) {
            (Some(c), Some(w)) if resource_version(w) > resource_version(c) => w,
            (Some(c), _) => c,
            (None, _) => return None,
        };
        as_volume(newest).cloned()
    }

    fn volumes(&self, cache: &Cache) -> Vec<Rc<Object>> {
        cache
            .of(ids::persistent_volumes())
            .items()
            .map(|c| match self.volumes_written.get(c.meta().name.as_deref().unwrap_or("")) {
                Some(w) if resource_version(w) > resource_version(c) => w.clone(),
                _ => c.clone(),
            })
            .collect()
    }

    fn class(cache: &Cache, name: &str) -> Option<StorageClass> {
        match cache.of(ids::storage_classes()).get(&ObjectKey::new("", name)).map(|o| &**o) {
            Some(Object::StorageClass(sc)) => Some(*sc.clone()),
            _ => None,
        }
    }

    fn remember(&mut self, stored: &Rc<Object>) {
        match &**stored {
            Object::PersistentVolumeClaim(c) => {
                self.claims_written.insert(claim_key(c), stored.clone());
            }
            Object::PersistentVolume(v) => {
                self.volumes_written.insert(name_of_volume(v).to_string(), stored.clone());
            }
            _ => {}
        }
    }

    fn write_claim(&mut self, ctx: &mut Ctx, claim: PersistentVolumeClaim, status: bool) -> Result<PersistentVolumeClaim, ApiError> {
        let obj = Object::PersistentVolumeClaim(Box::new(claim));
        let stored = if status { ctx.api.update_status(obj)? } else { ctx.api.update(obj)? };
        self.remember(&stored);
        as_claim(&stored).cloned().ok_or_else(|| internal("claim update returned another kind".into()))
    }

    fn write_volume(&mut self, ctx: &mut Ctx, volume: PersistentVolume, status: bool) -> Result<PersistentVolume, ApiError> {
        let obj = Object::PersistentVolume(Box::new(volume));
        let stored = if status { ctx.api.update_status(obj)? } else { ctx.api.update(obj)? };
        self.remember(&stored);
        as_volume(&stored).cloned().ok_or_else(|| internal("volume update returned another kind".into()))
    }

    fn claim_event(&mut self, ctx: &mut Ctx, claim: &PersistentVolumeClaim, type_: &str, reason: &str, message: String) {
        self.recorder.record(ctx.api, &Object::PersistentVolumeClaim(Box::new(claim.clone())), type_, reason, message);
    }

    fn volume_event(&mut self, ctx: &mut Ctx, volume: &PersistentVolume, type_: &str, reason: &str, message: String) {
        self.recorder.record(ctx.api, &Object::PersistentVolume(Box::new(volume.clone())), type_, reason, message);
    }

    fn handle_events(&mut self, changes: &Changes) {
        // Volumes first: a volume and a claim created together should meet
        // with the volume already Available.
        for ev in changes.of(ids::persistent_volumes()) {
            let Some(volume) = as_volume(&ev.object) else { continue };
            let name = name_of_volume(volume).to_string();
            if self.volumes_written.get(&name).is_some_and(|w| resource_version(w) <= resource_version(&ev.object)) {
                self.volumes_written.remove(&name);
            }
            if ev.kind == WatchEventType::Deleted {
                self.volumes_written.remove(&name);
                // Its claim, if bound, is now Lost.
                if let Some(r) = claim_ref(volume) {
                    self.queue.add(Key::Claim(ObjectKey::new(r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default())));
                }
            } else {
                self.queue.add(Key::Volume(name));
            }
        }
        for ev in changes.of(ids::persistent_volume_claims()) {
            let Some(claim) = as_claim(&ev.object) else { continue };
            let key = claim_key(claim);
            if self.claims_written.get(&key).is_some_and(|w| resource_version(w) <= resource_version(&ev.object)) {
                self.claims_written.remove(&key);
            }
            if ev.kind == WatchEventType::Deleted {
                self.claims_written.remove(&key);
                // Release its volume now rather than at the next resync.
                let volume = claim_volume_name(claim);
                if !volume.is_empty() {
                    self.queue.add(Key::Volume(volume.to_string()));
                }
            } else {
                self.queue.add(Key::Claim(key));
            }
        }
        self.pods.apply(changes.of(ids::pods()));
    }

    fn resync(&mut self, cache: &Cache) {
        for v in cache.of(ids::persistent_volumes()).items() {
            self.queue.add(Key::Volume(v.meta().name.clone().unwrap_or_default()));
        }
        for c in cache.of(ids::persistent_volume_claims()).items() {
            self.queue.add(Key::Claim(ObjectKey::of(c)));
        }
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &Key) -> Result<Option<VirtualTime>, ApiError> {
        match key {
            Key::Claim(k) => {
                let Some(claim) = self.claim(cache, k) else { return Ok(None) };
                if has_annotation(claim.metadata.annotations.as_ref(), ANN_BIND_COMPLETED) {
                    self.sync_bound_claim(ctx, cache, claim)?;
                } else {
                    self.sync_unbound_claim(ctx, cache, claim)?;
                }
            }
            Key::Volume(name) => {
                let Some(volume) = self.volume(cache, name) else { return Ok(None) };
                self.sync_volume(ctx, cache, volume)?;
            }
        }
        Ok(None)
    }

    /// `IsDelayBindingMode`: the claim's class exists and waits for the first consumer.
    fn delays_binding(cache: &Cache, claim: &PersistentVolumeClaim) -> bool {
        let class = claim_class(claim);
        !class.is_empty() && Self::class(cache, class).is_some_and(|c| storage::is_wait_for_first_consumer(&c))
    }

    fn sync_unbound_claim(&mut self, ctx: &mut Ctx, cache: &Cache, claim: PersistentVolumeClaim) -> Result<(), ApiError> {
        let wanted = claim_volume_name(&claim).to_string();
        if wanted.is_empty() {
            let delay = Self::delays_binding(cache, &claim);
            let volumes = self.volumes(cache);
            let refs: Vec<&PersistentVolume> = volumes.iter().filter_map(|o| as_volume(o)).collect();
            if let Some(volume) = find_best_match_for_claim(&claim, &refs, delay).cloned() {
                return self.bind(ctx, volume, claim);
            }
            if self.assign_default_class(ctx, cache, &claim)? {
                return Ok(());
            }
            if delay && !has_annotation(claim.metadata.annotations.as_ref(), ANN_SELECTED_NODE) {
                self.emit_delay_binding_event(ctx, cache, &claim);
            } else if !claim_class(&claim).is_empty() {
                return self.provision_claim(ctx, cache, &claim);
            } else {
                self.claim_event(ctx, &claim, NORMAL, "FailedBinding", "no persistent volumes available for this claim and no storage class is set".into());
            }
            self.update_claim_status(ctx, claim, "Pending", None)?;
            return Ok(());
        }
        // The user asked for a volume by name.
        let Some(volume) = self.volume(cache, &wanted) else {
            self.update_claim_status(ctx, claim, "Pending", None)?;
            return Ok(());
        };
        if claim_ref(&volume).is_none() {
            match check_volume_satisfies_claim(&volume, &claim) {
                Err(why) => {
                    let message = format!("Cannot bind to requested volume {}: {why}", quote(&wanted));
                    self.claim_event(ctx, &claim, WARNING, "VolumeMismatch", message);
                    self.update_claim_status(ctx, claim, "Pending", None)?;
                    Ok(())
                }
                Ok(()) => self.bind(ctx, volume, claim),
            }
        } else if is_volume_bound_to_claim(&volume, &claim) {
            self.bind(ctx, volume, claim)
        } else {
            let message = format!("volume {} already bound to a different claim.", quote(&wanted));
            self.claim_event(ctx, &claim, WARNING, "FailedBinding", message);
            if has_annotation(claim.metadata.annotations.as_ref(), ANN_BOUND_BY_CONTROLLER) {
                let other = claim_ref(&volume).map(|r| format!("{}/{}", r.namespace.as_deref().unwrap_or(""), r.name.as_deref().unwrap_or(""))).unwrap_or_default();
                return Err(internal(format!(
                    "invalid binding of claim {} to volume {}: volume already claimed by {}",
                    quote(&claim_key(&claim).to_string()),
                    quote(&wanted),
                    quote(&other)
                )));
            }
            self.update_claim_status(ctx, claim, "Pending", None)?;
            Ok(())
        }
    }

    fn sync_bound_claim(&mut self, ctx: &mut Ctx, cache: &Cache, claim: PersistentVolumeClaim) -> Result<(), ApiError> {
        let name = claim_volume_name(&claim).to_string();
        if name.is_empty() {
            let message = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!";
            return self.update_claim_status_with_event(ctx, claim, "Lost", WARNING, "ClaimLost", message);
        }
        let Some(volume) = self.volume(cache, &name) else {
            let message = "Bound claim has lost its PersistentVolume. Data on the volume is lost!";
            return self.update_claim_status_with_event(ctx, claim, "Lost", WARNING, "ClaimLost", message);
        };
        match claim_ref(&volume) {
            None => self.bind(ctx, volume, claim),
            Some(r) if r.uid == claim.metadata.uid => self.bind(ctx, volume, claim),
            Some(_) => {
                let message = "Two claims are bound to the same volume, this one is bound incorrectly";
                self.update_claim_status_with_event(ctx, claim, "Lost", WARNING, "ClaimMisbound", message)
            }
        }
    }

    fn sync_volume(&mut self, ctx: &mut Ctx, cache: &Cache, volume: PersistentVolume) -> Result<(), ApiError> {
        let Some(r) = claim_ref(&volume).cloned() else {
            self.update_volume_phase(ctx, volume, "Available", "")?;
            return Ok(());
        };
        if r.uid.as_deref().unwrap_or("").is_empty() {
            // Pre-bound by its creator; the claim's sync binds it.
            self.update_volume_phase(ctx, volume, "Available", "")?;
            return Ok(());
        }
        let key = ObjectKey::new(r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default());
        let phase = volume_phase(&volume).to_string();
        let mut claim = self.claim(cache, &key);
        if claim.is_none() && phase != "Released" && phase != "Failed" {
            // Not cached yet (a provisioner or the scheduler may be ahead of
            // the informer): ask the API server before releasing anything.
            claim = self.live_claim(ctx, &key)?;
        }
        if claim.as_ref().is_some_and(|c| c.metadata.uid != r.uid) {
            claim = self.live_claim(ctx, &key)?.filter(|c| c.metadata.uid == r.uid);
        }
        let Some(claim) = claim else {
            let volume = if phase != "Released" && phase != "Failed" {
                ctx.log(format!("volume {} is released and reclaim policy {} will be executed", name_of_volume(&volume), reclaim_policy(&volume)));
                self.update_volume_phase(ctx, volume, "Released", "")?
            } else {
                volume
            };
            return self.reclaim_volume(ctx, cache, volume);
        };
        let bound_to = claim_volume_name(&claim).to_string();
        if bound_to.is_empty() {
            if volume_mode_mismatch(&claim, &volume) {
                let volume_message = format!(
                    "Cannot bind PersistentVolume to requested PersistentVolumeClaim {} due to incompatible volumeMode.",
                    quote(claim.metadata.name.as_deref().unwrap_or(""))
                );
                self.volume_event(ctx, &volume, WARNING, "VolumeMismatch", volume_message);
                let claim_message =
                    format!("Cannot bind PersistentVolume {} to requested PersistentVolumeClaim due to incompatible volumeMode.", quote(name_of_volume(&volume)));
                self.claim_event(ctx, &claim, WARNING, "VolumeMismatch", claim_message);
                return Ok(());
            }
            // Half bound (a provisioner's new volume, or the scheduler's
            // pre-binding): the claim's sync completes it.
            self.follow_ups.push(Key::Claim(key));
            return Ok(());
        }
        if bound_to == name_of_volume(&volume) {
            self.update_volume_phase(ctx, volume, "Bound", "")?;
            return Ok(());
        }
        // The claim went to another volume.
        if has_annotation(volume.metadata.annotations.as_ref(), ANN_DYNAMICALLY_PROVISIONED) && reclaim_policy(&volume) == "Delete" {
            let volume = if phase != "Released" && phase != "Failed" { self.update_volume_phase(ctx, volume, "Released", "")? } else { volume };
            return self.reclaim_volume(ctx, cache, volume);
        }
        self.unbind_volume(ctx, volume)
    }

    fn live_claim(&self, ctx: &mut Ctx, key: &ObjectKey) -> Result<Option<PersistentVolumeClaim>, ApiError> {
        match ctx.api.get(ids::persistent_volume_claims(), &key.namespace, &key.name) {
            Ok(obj) => Ok(as_claim(&obj).cloned()),
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `bind`: the four writes, each skipped when already done.
    fn bind(&mut self, ctx: &mut Ctx, volume: PersistentVolume, claim: PersistentVolumeClaim) -> Result<(), ApiError> {
        let volume = self.bind_volume_to_claim(ctx, volume, &claim)?;
        let volume = self.update_volume_phase(ctx, volume, "Bound", "")?;
        let claim = self.bind_claim_to_volume(ctx, claim, &volume)?;
        self.update_claim_status(ctx, claim, "Bound", Some(&volume))?;
        Ok(())
    }

    fn bind_volume_to_claim(&mut self, ctx: &mut Ctx, volume: PersistentVolume, claim: &PersistentVolumeClaim) -> Result<PersistentVolume, ApiError> {
        let by_controller = !is_volume_bound_to_claim(&volume, claim);
        let mut next = volume.clone();
        let mut dirty = false;
        let points_here = claim_ref(&volume).is_some_and(|r| {
            r.name == claim.metadata.name && r.namespace == claim.metadata.namespace && r.uid == claim.metadata.uid
        });
        if !points_here {
            next.spec.get_or_insert_with(Default::default).claim_ref = Some(storage::reference_to(claim));
            dirty = true;
        }
        if by_controller && !has_annotation(next.metadata.annotations.as_ref(), ANN_BOUND_BY_CONTROLLER) {
            set_annotation(&mut next.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
            dirty = true;
        }
        if !dirty {
            return Ok(volume);
        }
        ctx.log(format!("claim {} bound to volume {}", claim_key(claim), name_of_volume(&volume)));
        self.write_volume(ctx, next, false)
    }

    fn bind_claim_to_volume(&mut self, ctx: &mut Ctx, claim: PersistentVolumeClaim, volume: &PersistentVolume) -> Result<PersistentVolumeClaim, ApiError> {
        let name = name_of_volume(volume);
        let by_controller = claim_volume_name(&claim) != name;
        let mut next = claim.clone();
        let mut dirty = false;
        if by_controller {
            next.spec.get_or_insert_with(Default::default).volume_name = Some(name.to_string());
            dirty = true;
        }
        if by_controller && !has_annotation(next.metadata.annotations.as_ref(), ANN_BOUND_BY_CONTROLLER) {
            set_annotation(&mut next.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
            dirty = true;
        }
        if !has_annotation(next.metadata.annotations.as_ref(), ANN_BIND_COMPLETED) {
            set_annotation(&mut next.metadata, ANN_BIND_COMPLETED, "yes");
            dirty = true;
        }
        if !dirty {
            return Ok(claim);
        }
        self.write_claim(ctx, next, false)
    }

    fn update_claim_status(
        &mut self,
        ctx: &mut Ctx,
        claim: PersistentVolumeClaim,
        phase: &str,
        volume: Option<&PersistentVolume>,
    ) -> Result<PersistentVolumeClaim, ApiError> {
        let old = claim.status.clone().unwrap_or_default();
        let mut status: PersistentVolumeClaimStatus = old.clone();
        let mut dirty = false;
        if old.phase.as_deref() != Some(phase) {
            status.phase = Some(phase.to_string());
            dirty = true;
        }
        match volume {
            None => {
                if status.access_modes.take().is_some() {
                    dirty = true;
                }
                if status.capacity.take().is_some() {
                    dirty = true;
                }
            }
            Some(v) => {
                let spec = v.spec.clone().unwrap_or_default();
                if status.access_modes != spec.access_modes {
                    status.access_modes = spec.access_modes.clone();
                    dirty = true;
                }
                // Capacity is copied when the claim becomes Bound, not after.
                if old.phase.as_deref() != Some(phase) {
                    let Some(capacity) = spec.capacity.as_ref().and_then(|c| c.get("storage")) else {
                        return Err(internal(format!("PersistentVolume {} is without a storage capacity", quote(name_of_volume(v)))));
                    };
                    if old.capacity.as_ref().and_then(|c| c.get("storage")) != Some(capacity) {
                        status.capacity = spec.capacity.clone();
                        dirty = true;
                    }
                }
            }
        }
        if !dirty {
            return Ok(claim);
        }
        let mut next = claim;
        next.status = Some(status);
        self.write_claim(ctx, next, true)
    }

    fn update_claim_status_with_event(
        &mut self,
        ctx: &mut Ctx,
        claim: PersistentVolumeClaim,
        phase: &str,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        if claim_phase(&claim) == phase {
            return Ok(());
        }
        let claim = self.update_claim_status(ctx, claim, phase, None)?;
        self.claim_event(ctx, &claim, type_, reason, message.to_string());
        Ok(())
    }

    fn update_volume_phase(&mut self, ctx: &mut Ctx, volume: PersistentVolume, phase: &str, message: &str) -> Result<PersistentVolume, ApiError> {
        if volume_phase(&volume) == phase {
            return Ok(volume);
        }
        let mut next = volume;
        let status = next.status.get_or_insert_with(PersistentVolumeStatus::default);
        status.phase = Some(phase.to_string());
        status.message = (!message.is_empty()).then(|| message.to_string());
        self.write_volume(ctx, next, true)
    }

    fn update_volume_phase_with_event(
        &mut self,
        ctx: &mut Ctx,
        volume: PersistentVolume,
        phase: &str,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        if volume_phase(&volume) == phase {
            return Ok(());
        }
        let volume = self.update_volume_phase(ctx, volume, phase, message)?;
        self.volume_event(ctx, &volume, type_, reason, message.to_string());
        Ok(())
    }

    /// A volume bound by this controller to a claim that went elsewhere is
    /// freed; one pre-bound by its creator keeps the claim's name and loses
    /// only the uid.
    fn unbind_volume(&mut self, ctx: &mut Ctx, volume: PersistentVolume) -> Result<(), ApiError> {
        let mut next = volume;
        if has_annotation(next.metadata.annotations.as_ref(), ANN_BOUND_BY_CONTROLLER) {
            next.spec.get_or_insert_with(Default::default).claim_ref = None;
            if let Some(a) = next.metadata.annotations.as_mut() {
                a.remove(ANN_BOUND_BY_CONTROLLER);
                if a.is_empty() {
                    next.metadata.annotations = None;
                }
            }
        } else if let Some(r) = next.spec.as_mut().and_then(|s| s.claim_ref.as_mut()) {
            r.uid = None;
        }
        let next = self.write_volume(ctx, next, false)?;
        self.update_volume_phase(ctx, next, "Available", "")?;
        Ok(())
    }

    /// `assignDefaultStorageClass`: a claim created before any default
    /// class existed gets the default class once there is one.
    fn assign_default_class(&mut self, ctx: &mut Ctx, cache: &Cache, claim: &PersistentVolumeClaim) -> Result<bool, ApiError> {
        if claim_has_class(claim) {
            return Ok(false);
        }
        let classes: Vec<StorageClass> =
            cache.of(ids::storage_classes()).items().filter_map(|o| if let Object::StorageClass(sc) = &**o { Some((**sc).clone()) } else { None }).collect();
        let Some(class) = storage::default_class(&classes).and_then(|c| c.metadata.name.clone()) else { return Ok(false) };
        let mut next = claim.clone();
        next.spec.get_or_insert_with(Default::default).storage_class_name = Some(class);
        self.write_claim(ctx, next, false)?;
        Ok(true)
    }

    /// `emitEventForUnboundDelayBindingClaim`.
    fn emit_delay_binding_event(&mut self, ctx: &mut Ctx, cache: &Cache, claim: &PersistentVolumeClaim) {
        let key = claim_key(claim);
        let pods = cache.of(ids::pods());
        let waiting: Vec<String> = self
            .pods
            .pods_of(&key)
            .filter(|name| {
                matches!(pods.get(&ObjectKey::new(key.namespace.clone(), (*name).clone())).map(|o| &**o), Some(Object::Pod(p))
                    if util::node_name(p).is_empty() && !matches!(util::pod_phase(p), "Succeeded" | "Failed") && uses_claim(p, &key.name))
            })
            .cloned()
            .collect();
        let (reason, message) = match waiting.as_slice() {
            [] => ("WaitForFirstConsumer", "waiting for first consumer to be created before binding".to_string()),
            [one] => ("WaitForPodScheduled", format!("waiting for pod {one} to be scheduled")),
            many => ("WaitForPodScheduled", format!("waiting for pods {} to be scheduled", many.join(","))),
        };
        self.claim_event(ctx, claim, NORMAL, reason, message);
    }

    /// `provisionClaim`: in-tree provisioners are not modelled; an external
    /// provisioner is asked through the claim's storage-provisioner
    /// annotations and the controller then waits for its volume.
    fn provision_claim(&mut self, ctx: &mut Ctx, cache: &Cache, claim: &PersistentVolumeClaim) -> Result<(), ApiError> {
        let class_name = claim_class(claim);
        let Some(class) = Self::class(cache, class_name) else {
            let message = format!("storageclass.storage.k8s.io {} not found", quote(class_name));
            self.claim_event(ctx, claim, WARNING, "ProvisioningFailed", message);
            return Ok(());
        };
        let provisioner = class.provisioner.clone();
        if provisioner.starts_with("kubernetes.io/") {
            self.claim_event(ctx, claim, WARNING, "ProvisioningFailed", format!("no volume plugin matched name: {provisioner}"));
            return Ok(());
        }
        let annotations = claim.metadata.annotations.as_ref();
        let claim = if annotations.and_then(|a| a.get(ANN_STORAGE_PROVISIONER)) == Some(&provisioner) {
            claim.clone()
        } else {
            let mut next = claim.clone();
            set_annotation(&mut next.metadata, ANN_BETA_STORAGE_PROVISIONER, &provisioner);
            set_annotation(&mut next.metadata, ANN_STORAGE_PROVISIONER, &provisioner);
            self.write_claim(ctx, next, false)?
        };
        let message = format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. \
             If volume creation is delayed, please verify that the provisioner is running and correctly registered."
        );
        self.claim_event(ctx, &claim, NORMAL, "ExternalProvisioning", message);
        Ok(())
    }

    fn reclaim_volume(&mut self, ctx: &mut Ctx, cache: &Cache, volume: PersistentVolume) -> Result<(), ApiError> {
        match reclaim_policy(&volume) {
            "Retain" => Ok(()),
            "Delete" => self.delete_volume(ctx, cache, volume),
            "Recycle" => self.recycle_volume(ctx, cache, volume),
            _ => self.update_volume_phase_with_event(
                ctx,
                volume,
                "Failed",
                WARNING,
                "VolumeUnknownReclaimPolicy",
                "Volume has unrecognized PersistentVolumeReclaimPolicy",
            ),
        }
    }

    /// `isVolumeReleased`: bound with a uid to a claim that is gone (or now
    /// bound to another volume).
    fn is_released(&self, cache: &Cache, volume: &PersistentVolume) -> bool {
        let Some(r) = claim_ref(volume) else { return false };
        if r.uid.as_deref().unwrap_or("").is_empty() {
            return false;
        }
        let key = ObjectKey::new(r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default());
        match self.claim(cache, &key) {
            Some(c) if c.metadata.uid == r.uid => {
                let bound_to = claim_volume_name(&c);
                !bound_to.is_empty() && bound_to != name_of_volume(volume)
            }
            _ => true,
        }
    }

    /// The node whose disk holds a volume without node affinity that this
    /// controller deletes: the control plane's, where it runs.
    fn control_plane_node(cache: &Cache) -> String {
        cache
            .of(ids::nodes())
            .items()
            .find(|n| n.meta().labels.as_ref().is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane")))
            .and_then(|n| n.meta().name.clone())
            .unwrap_or_default()
    }

    /// `deleteVolumeOperation`.
    fn delete_volume(&mut self, ctx: &mut Ctx, cache: &Cache, volume: PersistentVolume) -> Result<(), ApiError> {
        let name = name_of_volume(&volume).to_string();
        // Read it again: an earlier attempt may have changed it.
        let current = match ctx.api.get(ids::persistent_volumes(), "", &name) {
            Ok(obj) => match as_volume(&obj) {
                Some(v) => v.clone(),
                None => return Ok(()),
            },
            Err(_) => return Ok(()),
        };
        if current.metadata.deletion_timestamp.is_some() || !self.is_released(cache, &current) {
            return Ok(());
        }
        let failure = match deleter_for(&current) {
            Deleter::External => return Ok(()),
            Deleter::HostPath(path) if under_tmp(&path) => {
                if let Some(location) = data::location_of(&current, &Self::control_plane_node(cache)) {
                    data::remove_backing_data(ctx, &location);
                }
                return match ctx.api.delete(ids::persistent_volumes(), "", &name, &DeleteOptions::default()) {
                    Ok(_) => Ok(()),
                    Err(e) if e.reason == Reason::NotFound => Ok(()),
                    Err(e) => Err(e),
                };
            }
            Deleter::HostPath(path) => format!("host_path deleter only supports /tmp/.+ but received provided {path}"),
            Deleter::Missing(message) => message,
        };
        // Failed stays until the next sync retries; the event is sent once.
        self.update_volume_phase_with_event(ctx, volume, "Failed", WARNING, "VolumeFailedDelete", &failure)
    }

    /// The deprecated Recycle policy: hostPath and NFS volumes are scrubbed
    /// and offered again. The scrub is immediate here, with no recycler pod.
    fn recycle_volume(&mut self, ctx: &mut Ctx, cache: &Cache, volume: PersistentVolume) -> Result<(), ApiError> {
        if !self.is_released(cache, &volume) {
            return Ok(());
        }
        let spec = volume.spec.clone().unwrap_or_default();
        if spec.host_path.is_none() && spec.nfs.is_none() {
            return self.update_volume_phase_with_event(ctx, volume, "Failed", WARNING, "VolumeFailedRecycle", "No recycler plugin found for the volume!");
        }
        if let Some(location) = data::location_of(&volume, &Self::control_plane_node(cache)) {
            data::remove_backing_data(ctx, &location);
        }
        self.volume_event(ctx, &volume, NORMAL, "VolumeRecycled", "Volume recycled".into());
        self.unbind_volume(ctx, volume)
    }
}

impl Controller for PersistentVolumeController {
    fn name(&self) -> &str {
        "persistentvolume-controller"
    }

    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::persistent_volume_claims(), ids::persistent_volumes(), ids::storage_classes(), ids::pods(), ids::nodes()]
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            self.pods.rebuild(cache);
            self.resync(cache);
            self.next_resync = Some(ctx.now.plus_millis(RESYNC_MS));
        } else {
            self.handle_events(changes);
        }
        if let Some(at) = self.next_resync {
            if at <= ctx.now {
                self.resync(cache);
                self.next_resync = Some(ctx.now.plus_millis(RESYNC_MS));
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
        if !self.follow_ups.is_empty() {
            for key in std::mem::take(&mut self.follow_ups) {
                self.queue.add(key);
            }
            ctx.wake_at(ctx.now);
        }
        let watched = !cache.of(ids::persistent_volume_claims()).is_empty() || !cache.of(ids::persistent_volumes()).is_empty();
        if let (Some(at), true) = (self.next_resync, watched) {
            ctx.wake_at(at);
        }
    }

    fn reset(&mut self) {
        self.queue.clear();
        self.recorder.reset();
        self.primed = false;
        self.next_resync = None;
        self.claims_written.clear();
        self.volumes_written.clear();
        self.pods.clear();
        self.follow_ups.clear();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::controllers::testkit::{self, events_for};
    use crate::engine::sim::Sim;

    fn create(sim: &mut Sim, value: serde_json::Value) {
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        let rid = crate::engine::api::resource_for_kind("v1", &kind).expect("core kind");
        let obj = Object::from_json(rid, value).expect("decodes");
        sim.api.create(obj).expect("created");
    }

    fn pv_json(name: &str, size: &str, claim_ref: Option<serde_json::Value>) -> serde_json::Value {
        let mut v = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                "hostPath": {"path": format!("/mnt/{name}")}}});
        if let Some(r) = claim_ref {
            v["spec"]["claimRef"] = r;
        }
        v
    }

    fn pvc_json(name: &str, size: &str) -> serde_json::Value {
        serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual", "resources": {"requests": {"storage": size}}}})
    }

    fn volume_state(sim: &Sim, name: &str) -> (String, String) {
        let obj = sim.api.get(ids::persistent_volumes(), "", name).expect("volume");
        let v = as_volume(&obj).expect("a volume");
        let claim = claim_ref(v).and_then(|r| r.name.clone()).unwrap_or_default();
        (volume_phase(v).to_string(), claim)
    }

    fn claim_state(sim: &Sim, name: &str) -> (String, String) {
        let obj = sim.api.get(ids::persistent_volume_claims(), "default", name).expect("claim");
        let c = as_claim(&obj).expect("a claim");
        (claim_phase(c).to_string(), claim_volume_name(c).to_string())
    }

    #[test]
    fn binds_the_smallest_fitting_volume_and_releases_it_when_the_claim_goes() {
        let mut sim = testkit::sim();
        create(&mut sim, pv_json("big", "10Gi", None));
        create(&mut sim, pv_json("small", "2Gi", None));
        create(&mut sim, pvc_json("data", "1Gi"));
        sim.run_for_ms(100);
        assert_eq!(claim_state(&sim, "data"), ("Bound".into(), "small".into()));
        assert_eq!(volume_state(&sim, "small"), ("Bound".into(), "data".into()));
        assert_eq!(volume_state(&sim, "big"), ("Available".into(), String::new()));
        sim.api.delete(ids::persistent_volume_claims(), "default", "data", &DeleteOptions::default()).expect("deleted");
        sim.run_for_ms(100);
        // Retain (the default for static volumes): Released, still naming the claim.
        assert_eq!(volume_state(&sim, "small"), ("Released".into(), "data".into()));
    }

    #[test]
    fn completes_a_binding_someone_else_started() {
        let mut sim = testkit::sim();
        create(&mut sim, pvc_json("data", "1Gi"));
        sim.run_for_ms(100);
        let obj = sim.api.get(ids::persistent_volume_claims(), "default", "data").expect("claim");
        let uid = obj.meta().uid.clone().unwrap_or_default();
        // As the scheduler's volume binder or a provisioner leaves it: the
        // volume points at the claim, the claim not yet at the volume.
        create(&mut sim, pv_json("pre", "1Gi", Some(serde_json::json!({"name": "data", "namespace": "default", "uid": uid}))));
        sim.run_for_ms(100);
        assert_eq!(claim_state(&sim, "data"), ("Bound".into(), "pre".into()));
        assert_eq!(volume_state(&sim, "pre"), ("Bound".into(), "data".into()));
    }

    #[test]
    fn a_claim_without_class_or_volume_waits_and_says_why_every_resync() {
        let mut sim = testkit::sim();
        let mut claim = pvc_json("data", "1Gi");
        claim["spec"]["storageClassName"] = serde_json::json!("");
        create(&mut sim, claim);
        sim.run_for_ms(31_000);
        let events = events_for(&sim, "data");
        assert_eq!(events, vec![("FailedBinding".to_string(), "no persistent volumes available for this claim and no storage class is set".to_string())]);
        let (items, _) = sim.api.list(&crate::engine::apiserver::Query::all(ids::events())).expect("events");
        let count = items.iter().find_map(|o| if let Object::Event(e) = &**o { e.count } else { None });
        assert_eq!(count, Some(3), "at creation and at two resyncs");
        assert_eq!(claim_state(&sim, "data"), ("Pending".into(), String::new()));
    }

    #[test]
    fn a_restarted_controller_finishes_from_what_it_finds() {
        let mut sim = testkit::sim();
        sim.stop("controller-manager").expect("stops");
        create(&mut sim, pv_json("v", "1Gi", None));
        create(&mut sim, pvc_json("data", "1Gi"));
        sim.run_for_ms(5_000);
        assert_eq!(claim_state(&sim, "data"), ("Pending".into(), String::new()));
        sim.start("controller-manager").expect("starts");
        sim.run_for_ms(100);
        assert_eq!(claim_state(&sim, "data"), ("Bound".into(), "v".into()));
    }

    #[test]
    fn hostpath_deleter_takes_only_paths_under_tmp() {
        assert!(under_tmp("/tmp/data"));
        assert!(under_tmp("/var/tmp/x"));
        assert!(!under_tmp("/tmp/"));
        assert!(!under_tmp("/mnt/data"));
    }

    #[test]
    fn picks_the_deleter_by_provisioner_then_source() {
        let pv = |v: serde_json::Value| -> PersistentVolume { serde_json::from_value(v).unwrap() };
        let external = pv(serde_json::json!({"metadata": {"name": "a", "annotations": {ANN_DYNAMICALLY_PROVISIONED: "rancher.io/local-path"}},
            "spec": {"hostPath": {"path": "/var/local-path-provisioner/a"}}}));
        assert!(matches!(deleter_for(&external), Deleter::External));
        let host = pv(serde_json::json!({"metadata": {"name": "b"}, "spec": {"hostPath": {"path": "/mnt/data"}}}));
        assert!(matches!(deleter_for(&host), Deleter::HostPath(p) if p == "/mnt/data"));
        let nfs = pv(serde_json::json!({"metadata": {"name": "c"}, "spec": {"nfs": {"server": "s", "path": "/"}}}));
        assert!(
            matches!(deleter_for(&nfs), Deleter::Missing(m) if m == "error getting deleter volume plugin for volume \"c\": no deletable volume plugin matched")
        );
        let local = pv(serde_json::json!({"metadata": {"name": "d"}, "spec": {"local": {"path": "/mnt/disk"}}}));
        assert!(matches!(deleter_for(&local), Deleter::Missing(m) if m.ends_with(": no volume plugin matched")));
    }
}
