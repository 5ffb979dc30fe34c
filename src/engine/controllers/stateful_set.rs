//! The StatefulSet controller (`pkg/controller/statefulset`): pods with
//! stable names `<set>-<ordinal>`, created in order and each waiting for its
//! predecessor to be Running and Ready (`OrderedReady`) or all at once
//! (`Parallel`), removed from the highest ordinal down. Each pod gets a
//! claim `<template>-<set>-<ordinal>` per `volumeClaimTemplates` entry,
//! created before the pod and kept (or, per
//! `persistentVolumeClaimRetentionPolicy`, handed to the garbage collector)
//! when the pod goes. Template changes roll out from the highest ordinal
//! down to `partition` (RollingUpdate) or wait for pods to be deleted
//! (OnDelete); every template is kept as a ControllerRevision.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSetStatus};
use crate::engine::api::shared_spec::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, PodTemplateSpec, Volume};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{NORMAL, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::pod_control::{can_adopt, PodControl};
use super::{history, util};
use super::{Cache, Changes, Reconciler, WorkLoop};

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// `(parent, ordinal)` of a pod named `<parent>-<ordinal>` (`getParentNameAndOrdinal`).
pub fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, digits) = name.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, digits.parse::<i32>().unwrap_or(-1)))
}

fn ordinal_of(pod: &Pod) -> i32 {
    parent_and_ordinal(pod.metadata.name.as_deref().unwrap_or("")).map_or(-1, |(_, o)| o)
}

fn name_of(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or("")
}

fn is_member_of(set: &StatefulSet, pod: &Pod) -> bool {
    parent_and_ordinal(pod.metadata.name.as_deref().unwrap_or("")).is_some_and(|(p, _)| p == name_of(set))
}

fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", name_of(set))
}

pub fn claim_name(template: &PersistentVolumeClaim, set: &str, ordinal: i32) -> String {
    format!("{}-{set}-{ordinal}", template.metadata.name.as_deref().unwrap_or(""))
}

fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start).unwrap_or(0)
}

fn replicas(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0)
}

fn in_ordinal_range(set: &StatefulSet, ordinal: i32) -> bool {
    ordinal >= start_ordinal(set) && ordinal < start_ordinal(set) + replicas(set)
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase())
}

/// The API server has it (a pod about to be created has no phase).
fn is_created(pod: &Pod) -> bool {
    phase(pod).is_some()
}

fn running_and_ready(pod: &Pod) -> bool {
    phase(pod) == Some("Running") && util::is_ready(pod)
}

fn running_and_available(pod: &Pod, min_ready: i32, now: VirtualTime) -> bool {
    util::is_available(pod, min_ready, now)
}

fn healthy(pod: &Pod) -> bool {
    running_and_ready(pod) && !util::is_terminating(pod)
}

fn revision_of(pod: &Pod) -> &str {
    pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)).map_or("", String::as_str)
}

/// `identityMatches`.
fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    match parent_and_ordinal(name) {
        Some((parent, ordinal)) => {
            ordinal >= 0
                && parent == name_of(set)
                && name == pod_name(set, ordinal)
                && pod.metadata.namespace == set.metadata.namespace
                && pod.metadata.labels.as_ref().and_then(|l| l.get(POD_NAME_LABEL)).map(String::as_str) == Some(name)
        }
        None => false,
    }
}

fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    set.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or(&[])
}

/// Every claim template is mounted as its claim (`storageMatches`).
fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let ordinal = ordinal_of(pod);
    if ordinal < 0 {
        return false;
    }
    let volumes: BTreeMap<&str, &Volume> = crate::engine::sort::insert_all(pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).map(|v| (pod.volume_name(&v.name), v)));
    claim_templates(set).iter().all(|t| {
        volumes.get(t.metadata.name.as_deref().unwrap_or("")).and_then(|v| v.persistent_volume_claim.as_ref()).map(|c| c.claim_name.as_str())
            == Some(claim_name(t, name_of(set), ordinal).as_str())
    })
}

/// The claims a pod of this ordinal uses (`getPersistentVolumeClaims`), in template order.
fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let selector_labels = set.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    claim_templates(set)
        .iter()
        .map(|t| {
            let mut claim = t.clone();
            claim.metadata.name = Some(claim_name(t, name_of(set), ordinal));
            claim.metadata.namespace = set.metadata.namespace.clone();
            let labels = claim.metadata.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(selector_labels.clone());
            if labels.is_empty() {
                claim.metadata.labels = None;
            }
            claim.status = None;
            (t.metadata.name.clone().unwrap_or_default(), claim)
        })
        .collect()
}

/// Claim volumes first, then the template's other volumes (`updateStorage`).
fn update_storage(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let claims = claims_for(set, ordinal);
    let spec = pod.spec_mut();
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(name, claim)| Volume {
            name: name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource { claim_name: claim.metadata.name.clone().unwrap_or_default(), read_only: None }),
            ..Default::default()
        })
        .collect();
    volumes.extend(current.into_iter().filter(|v| !claims.iter().any(|(n, _)| *n == v.name)));
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
}

fn update_identity(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let name = pod_name(set, ordinal);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = set.metadata.namespace.clone();
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name);
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
}

/// A new member from `template` (`newStatefulSetPod` + `setPodRevision`).
fn new_pod(set: &StatefulSet, owner: OwnerReference, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let mut pod = util::pod_from_template(template, &ns, &format!("{}-", name_of(set)), owner);
    update_identity(set, &mut pod, ordinal);
    let name = pod.metadata.name.clone();
    let spec = pod.spec_mut();
    spec.hostname = name;
    spec.subdomain = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
    update_storage(set, &mut pod, ordinal);
    pod.metadata.labels.get_or_insert_with(BTreeMap::new).insert(REVISION_LABEL.into(), revision.to_string());
    pod
}

/// The retention policy as `(whenDeleted, whenScaled)`, Retain when unset.
fn retention(set: &StatefulSet) -> (bool, bool) {
    let policy = set.spec.as_ref().and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let delete = |v: Option<&String>| v.is_some_and(|v| v == "Delete");
    (delete(policy.and_then(|p| p.when_deleted.as_ref())), delete(policy.and_then(|p| p.when_scaled.as_ref())))
}

fn ref_matches(r: &OwnerReference, kind: &str, api_version: &str, name: &str) -> bool {
    r.kind == kind && r.api_version == api_version && r.name == name
}

/// The ownerReferences a claim should carry under the retention policy
/// (`updateClaimOwnerRefForSetAndPod`): none to keep it, the set's to have
/// it go with the set, the pod's to have it go with a scaled-down pod.
fn desired_claim_owners(claim: &PersistentVolumeClaim, set: &Object, set_spec: &StatefulSet, pod: &Pod, pod_ref: Option<OwnerReference>) -> Vec<OwnerReference> {
    let set_name = name_of(set_spec);
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    let mut refs: Vec<OwnerReference> = claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| !ref_matches(r, "StatefulSet", "apps/v1", set_name) && !ref_matches(r, "Pod", "v1", pod_name))
        .cloned()
        .collect();
    let other_controller = refs.iter().any(|r| r.controller == Some(true));
    let (when_deleted, when_scaled) = retention(set_spec);
    if other_controller && (when_deleted || when_scaled) {
        return refs;
    }
    let scaled_down = !in_ordinal_range(set_spec, ordinal_of(pod));
    let mut add_set = false;
    let mut add_pod = false;
    match (when_scaled, when_deleted) {
        (false, false) => {}
        (false, true) => add_set = true,
        (true, false) => add_pod = scaled_down,
        (true, true) => {
            add_pod = scaled_down;
            add_set = !scaled_down;
        }
    }
    if add_set {
        refs.push(util::controller_ref(set));
    }
    if add_pod {
        if let Some(r) = pod_ref {
            refs.push(r);
        }
    }
    refs
}

fn pod_owner_ref(pod: &Pod) -> Option<OwnerReference> {
    let uid = pod.metadata.uid.clone()?;
    Some(OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Counts over the members (`computeReplicaStatus`).
#[derive(Default)]
struct Counts {
    replicas: i32,
    ready: i32,
    available: i32,
    current: i32,
    updated: i32,
}

fn count(pods: &[&Pod], min_ready: i32, current: &str, update: &str, now: VirtualTime) -> Counts {
    let mut c = Counts::default();
    for p in pods {
        if is_created(p) {
            c.replicas += 1;
        }
        if running_and_ready(p) {
            c.ready += 1;
            if running_and_available(p, min_ready, now) {
                c.available += 1;
            }
        }
        if is_created(p) && !util::is_terminating(p) {
            let rev = revision_of(p);
            if rev == current {
                c.current += 1;
            }
            if rev == update {
                c.updated += 1;
            }
        }
    }
    c
}

/// Runs `step` over `count` members (`runForAll`): in order, stopping at
/// the first that asks to or fails, for an ordered set; otherwise in
/// slow-start batches of 1, 2, 4… that stop after a batch with an error.
fn run_for_all(count: usize, monotonic: bool, mut step: impl FnMut(usize) -> (bool, Option<ApiError>)) -> (bool, Option<ApiError>) {
    if monotonic {
        for i in 0..count {
            let (exit, err) = step(i);
            if exit || err.is_some() {
                return (true, err);
            }
        }
        return (false, None);
    }
    let mut next = 0;
    let mut batch = 1;
    while next < count {
        let end = (next + batch).min(count);
        let mut first_error = None;
        for i in next..end {
            if let (_, Some(e)) = step(i) {
                first_error.get_or_insert(e);
            }
        }
        if first_error.is_some() {
            return (true, first_error);
        }
        next = end;
        batch *= 2;
    }
    (false, None)
}

pub struct StatefulSetController {
    work: WorkLoop,
    pods: PodControl,
}

impl Default for StatefulSetController {
    fn default() -> Self {
        Self::new()
    }
}

/// What one sync of a set works with.
struct SetCtx<'a> {
    set: &'a StatefulSet,
    obj: &'a Object,
    owner: OwnerReference,
    current_rev: &'a ControllerRevision,
    update_rev: &'a ControllerRevision,
    current_template: PodTemplateSpec,
    update_template: PodTemplateSpec,
    monotonic: bool,
    min_ready: i32,
}

impl StatefulSetController {
    pub fn new() -> Self {
        StatefulSetController { work: WorkLoop::default(), pods: PodControl::new("statefulset-controller") }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::stateful_sets()) {
            if ev.kind != WatchEventType::Deleted {
                self.work.queue.add(ObjectKey::of(&ev.object));
            }
        }
        let sets = cache.of(ids::stateful_sets());
        for ev in changes.of(ids::pods()) {
            let Object::Pod(pod) = &*ev.object else { continue };
            let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
            match meta::controller_of(pod.metadata.owner_references.as_ref()) {
                Some(owner) if owner.kind == "StatefulSet" => {
                    let key = ObjectKey::new(ns, owner.name.clone());
                    if sets.get(&key).is_some_and(|s| s.meta().uid.as_deref() == Some(owner.uid.as_str())) {
                        self.work.queue.add(key);
                    }
                }
                Some(_) => {}
                None if ev.kind != WatchEventType::Deleted => {
                    for o in sets.in_namespace(ns) {
                        if let Object::StatefulSet(set) = &**o {
                            let selector = Selector::from_optional_api(set.spec.as_ref().map(|s| &s.selector));
                            if is_member_of(set, pod) && selector.matches(pod.metadata.labels.as_ref()) {
                                self.work.queue.add(ObjectKey::of(o));
                            }
                        }
                    }
                }
                None => {}
            }
        }
    }

    /// The set's pods: owned members that still match, plus adopted orphans (`getPodsForStatefulSet`).
    fn claim_pods(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, set: &StatefulSet, obj: &Object) -> Vec<Pod> {
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let selector = Selector::from_optional_api(set.spec.as_ref().map(|s| &s.selector));
        let pods = cache.of(ids::pods());
        let mut out = Vec::new();
        let mut adoptable = Vec::new();
        for o in pods.controlled_by(&uid).into_iter().chain(pods.orphans_in(&key.namespace)) {
            let Object::Pod(p) = &*o else { continue };
            let matches = selector.matches(p.metadata.labels.as_ref()) && is_member_of(set, p);
            let controlled = meta::controller_of(p.metadata.owner_references.as_ref()).is_some();
            match (controlled, matches) {
                (true, true) => out.push(*p.clone()),
                (true, false) => self.pods.release(ctx, p, &uid),
                (false, true) if set.metadata.deletion_timestamp.is_none() && p.metadata.deletion_timestamp.is_none() => adoptable.push(p.clone()),
                _ => {}
            }
        }
        if !adoptable.is_empty() && can_adopt(ctx, ids::stateful_sets(), key, &uid) {
            for p in adoptable {
                if let Some(adopted) = self.pods.adopt(ctx, obj, &p) {
                    out.push(adopted);
                }
            }
        }
        out
    }

    /// The current and update revisions, creating or renumbering the
    /// update revision as the template requires (`getStatefulSetRevisions`).
    fn revisions(&mut self, ctx: &mut Ctx, set: &StatefulSet, obj: &Object, revisions: &[ControllerRevision]) -> Result<(ControllerRevision, ControllerRevision, i32), ApiError> {
        let mut collision = set.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
        let spec = set.spec.clone().unwrap_or_default();
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
        let mut candidate = history::new_revision(obj, labels, history::template_patch(&spec.template), history::next_number(revisions), Some(collision));
        candidate.metadata.annotations = set.metadata.annotations.clone().filter(|a| !a.is_empty()).or_else(|| Some(BTreeMap::new()));
        let equal: Vec<&ControllerRevision> = revisions.iter().filter(|r| history::equal(r, &candidate)).collect();
        let update = match (equal.last(), revisions.last()) {
            (Some(e), Some(latest)) if history::equal(latest, e) => latest.clone(),
            (Some(e), _) => history::renumber(ctx, e, candidate.revision)?,
            (None, _) => history::create(ctx, obj, &candidate, labels, &mut collision)?,
        };
        let current_name = set.status.as_ref().and_then(|s| s.current_revision.clone()).unwrap_or_default();
        let current = revisions.iter().find(|r| r.metadata.name.as_deref() == Some(current_name.as_str())).cloned().unwrap_or_else(|| update.clone());
        Ok((current, update, collision))
    }

    /// Creates the pod's missing claims (`createPersistentVolumeClaims`).
    fn create_claims(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, pod: &Pod) -> Result<(), ApiError> {
        let claims = cache.of(ids::persistent_volume_claims());
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let set_name = name_of(sc.set);
        let mut errors: Vec<String> = Vec::new();
        for (_, claim) in claims_for(sc.set, ordinal_of(pod)) {
            let name = claim.metadata.name.clone().unwrap_or_default();
            let key = ObjectKey::new(claim.metadata.namespace.clone().unwrap_or_default(), name.clone());
            match claims.get(&key).map(|o| &**o) {
                Some(existing) => {
                    if existing.meta().deletion_timestamp.is_some() {
                        errors.push(format!("pvc {name} is being deleted"));
                    }
                }
                None => match ctx.api.create(Object::PersistentVolumeClaim(Box::new(claim))) {
                    Ok(_) => self.pods.recorder.record(ctx.api, sc.obj, NORMAL, "SuccessfulCreate", format!("create Claim {name} Pod {pod_name} in StatefulSet {set_name} success")),
                    Err(e) if e.reason == Reason::AlreadyExists => errors.push(format!("failed to create PVC {name}: {}", e.message)),
                    Err(e) => {
                        if e.reason != Reason::ConnectionRefused {
                            self.pods.recorder.record(
                                ctx.api,
                                sc.obj,
                                WARNING,
                                "FailedCreate",
                                format!("create Claim {name} for Pod {pod_name} in StatefulSet {set_name} failed error: {}", e.message),
                            );
                        }
                        if e.reason == Reason::ConnectionRefused {
                            return Err(e);
                        }
                        errors.push(format!("failed to create PVC {name}: {}", e.message));
                    }
                },
            }
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(ApiError::new(Reason::Invalid, errors.remove(0))),
            _ => Err(ApiError::new(Reason::Invalid, format!("[{}]", errors.join(", ")))),
        }
    }

    fn pod_event(&mut self, ctx: &mut Ctx, sc: &SetCtx, verb: &str, pod: &str, err: Option<&ApiError>) {
        if err.is_some_and(|e| e.reason == Reason::ConnectionRefused) {
            return;
        }
        let title = format!("{}{}", verb[..1].to_uppercase(), &verb[1..]);
        let set = name_of(sc.set);
        match err {
            None => self.pods.recorder.record(ctx.api, sc.obj, NORMAL, &format!("Successful{title}"), format!("{verb} Pod {pod} in StatefulSet {set} successful")),
            Some(e) => {
                self.pods.recorder.record(ctx.api, sc.obj, WARNING, &format!("Failed{title}"), format!("{verb} Pod {pod} in StatefulSet {set} failed error: {}", e.message))
            }
        }
    }

    /// Claims, then the pod, then the claims' owners (`CreateStatefulPod`).
    fn create_member(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, pod: &Pod) -> Result<(), ApiError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Err(e) = self.create_claims(ctx, cache, sc, pod) {
            self.pod_event(ctx, sc, "create", &name, Some(&e));
            return Err(e);
        }
        match ctx.api.create(Object::Pod(Box::new(pod.clone()))) {
            Ok(stored) => {
                ctx.log(format!("created pod {}/{name} for StatefulSet {}", pod.metadata.namespace.as_deref().unwrap_or(""), name_of(sc.set)));
                if let Object::Pod(created) = &*stored {
                    if let Err(e) = self.fix_claim_owners(ctx, cache, sc, created) {
                        self.pod_event(ctx, sc, "update", &name, Some(&e));
                        return Err(e);
                    }
                }
                self.pod_event(ctx, sc, "create", &name, None);
                Ok(())
            }
            Err(e) if e.reason == Reason::AlreadyExists => Err(e),
            Err(e) => {
                self.pod_event(ctx, sc, "create", &name, Some(&e));
                Err(e)
            }
        }
    }

    fn delete_member(&mut self, ctx: &mut Ctx, sc: &SetCtx, pod: &Pod) -> Result<(), ApiError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let result = ctx.api.delete(ids::pods(), &ns, &name, &Default::default()).map(|_| ());
        if result.is_ok() {
            ctx.log(format!("deleted pod {ns}/{name} of StatefulSet {}", name_of(sc.set)));
        }
        self.pod_event(ctx, sc, "delete", &name, result.as_ref().err());
        result
    }

    /// Whether the pod's claims carry the owners the retention policy asks for (`ClaimsMatchRetentionPolicy`).
    fn claims_match_policy(&self, cache: &Cache, sc: &SetCtx, pod: &Pod) -> bool {
        let claims = cache.of(ids::persistent_volume_claims());
        claims_for(sc.set, ordinal_of(pod)).iter().all(|(_, want)| {
            let key = ObjectKey::new(want.metadata.namespace.clone().unwrap_or_default(), want.metadata.name.clone().unwrap_or_default());
            match claims.get(&key).map(|o| &**o) {
                Some(Object::PersistentVolumeClaim(claim)) => {
                    let desired = desired_claim_owners(claim, sc.obj, sc.set, pod, pod_owner_ref(pod));
                    claim.metadata.owner_references.clone().unwrap_or_default() == desired
                }
                _ => true,
            }
        })
    }

    /// Sets the claims' owners for the retention policy (`UpdatePodClaimForRetentionPolicy`).
    fn fix_claim_owners(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, pod: &Pod) -> Result<(), ApiError> {
        let claims = cache.of(ids::persistent_volume_claims());
        for (_, want) in claims_for(sc.set, ordinal_of(pod)) {
            let ns = want.metadata.namespace.clone().unwrap_or_default();
            let name = want.metadata.name.clone().unwrap_or_default();
            // A claim created moments ago is not in the cache yet: read it.
            let current = match claims.get(&ObjectKey::new(ns.clone(), name.clone())) {
                Some(o) => o.clone(),
                None => match ctx.api.get(ids::persistent_volume_claims(), &ns, &name) {
                    Ok(o) => o,
                    Err(e) if e.reason == Reason::NotFound => continue,
                    Err(e) => return Err(e),
                },
            };
            let Object::PersistentVolumeClaim(claim) = &*current else { continue };
            let desired = desired_claim_owners(claim, sc.obj, sc.set, pod, pod_owner_ref(pod));
            if claim.metadata.owner_references.clone().unwrap_or_default() == desired {
                continue;
            }
            let written = ctx.api.modify(ids::persistent_volume_claims(), &ns, &name, false, |o| {
                o.meta_mut().owner_references = (!desired.is_empty()).then(|| desired.clone());
                true
            });
            match written {
                Ok(_) => {}
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => return Err(ApiError::new(e.reason, format!("could not update claim {name} for delete policy ownerRefs: {}", e.message))),
            }
        }
        Ok(())
    }

    /// A claim still owned by an earlier pod of this name blocks the new
    /// pod until the garbage collector removes it (`PodClaimIsStale`).
    fn claim_is_stale(&self, cache: &Cache, sc: &SetCtx, pod: &Pod) -> bool {
        if !retention(sc.set).1 {
            return false;
        }
        let claims = cache.of(ids::persistent_volume_claims());
        let pod_name = pod.metadata.name.as_deref().unwrap_or("");
        claims_for(sc.set, ordinal_of(pod)).iter().any(|(_, want)| {
            let key = ObjectKey::new(want.metadata.namespace.clone().unwrap_or_default(), want.metadata.name.clone().unwrap_or_default());
            claims.get(&key).is_some_and(|c| {
                c.meta().owner_references.iter().flatten().any(|r| ref_matches(r, "Pod", "v1", pod_name) && Some(&r.uid) != pod.metadata.uid.as_ref())
            })
        })
    }

    /// Makes the members match the spec (`updateStatefulSet`); the status
    /// counts, and the first error.
    fn update_members(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, pods: Vec<Pod>) -> (Counts, Option<ApiError>) {
        let now = ctx.now;
        let start = start_ordinal(sc.set);
        let want = replicas(sc.set);
        let current_name = sc.current_rev.metadata.name.clone().unwrap_or_default();
        let update_name = sc.update_rev.metadata.name.clone().unwrap_or_default();
        let mut members: Vec<Option<Pod>> = vec![None; want as usize];
        let mut condemned: Vec<Pod> = Vec::new();
        for p in pods {
            let ord = ordinal_of(&p);
            if in_ordinal_range(sc.set, ord) {
                members[(ord - start) as usize] = Some(p);
            } else if ord >= 0 {
                condemned.push(p);
            }
        }
        let spec = sc.set.spec.clone().unwrap_or_default();
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let rolling = strategy.type_.as_deref() == Some("RollingUpdate");
        let partition = strategy.rolling_update.as_ref().and_then(|r| r.partition);
        let status_current = sc.set.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0);
        // Ordinals below the partition are made at the current revision (`newVersionedStatefulSetPod`).
        let keep_current = |ordinal: i32| (rolling && strategy.rolling_update.is_none() && ordinal < start + status_current) || partition.is_some_and(|p| ordinal < start + p);
        let mut slots: Vec<Pod> = members
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.unwrap_or_else(|| {
                    let ordinal = start + i as i32;
                    if keep_current(ordinal) {
                        new_pod(sc.set, sc.owner.clone(), &sc.current_template, ordinal, &current_name)
                    } else {
                        new_pod(sc.set, sc.owner.clone(), &sc.update_template, ordinal, &update_name)
                    }
                })
            })
            .collect();
        condemned.sort_stable_by_key(|p| std::cmp::Reverse(ordinal_of(p)));
        let first_unhealthy: Option<String> =
            slots.iter().chain(condemned.iter().rev()).find(|p| !healthy(p)).and_then(|p| p.metadata.name.clone());
        let counts = |slots: &[Pod], condemned: &[Pod]| {
            let all: Vec<&Pod> = slots.iter().chain(condemned.iter()).collect();
            count(&all, sc.min_ready, &current_name, &update_name, now)
        };
        if sc.set.metadata.deletion_timestamp.is_some() {
            return (counts(&slots, &condemned), None);
        }
        let (exit, err) = run_for_all(slots.len(), sc.monotonic, |i| self.process_member(ctx, cache, sc, &mut slots[i]));
        if exit || err.is_some() {
            return (counts(&slots, &condemned), err);
        }
        let (exit, err) = run_for_all(condemned.len(), sc.monotonic, |i| {
            let p = &condemned[i];
            if self.claims_match_policy(cache, sc, p) {
                return (false, None);
            }
            match self.fix_claim_owners(ctx, cache, sc, p) {
                Ok(()) => (false, None),
                Err(e) => (true, Some(e)),
            }
        });
        if exit || err.is_some() {
            return (counts(&slots, &condemned), err);
        }
        // Scale down from the highest ordinal, each waiting for its
        // predecessors in OrderedReady; scaling comes before updates (`processCondemned`).
        let (exit, err) = run_for_all(condemned.len(), sc.monotonic, |i| {
            let p = &condemned[i];
            if util::is_terminating(p) {
                return (sc.monotonic, None);
            }
            let first = first_unhealthy.is_some() && p.metadata.name == first_unhealthy;
            if sc.monotonic && !first && (!running_and_ready(p) || !running_and_available(p, sc.min_ready, now)) {
                return (true, None);
            }
            (true, self.delete_member(ctx, sc, p).err())
        });
        if exit || err.is_some() {
            return (counts(&slots, &condemned), err);
        }
        let mut status = counts(&slots, &condemned);
        if !rolling {
            return (status, None);
        }
        // Roll out: the highest ordinal not at the update revision goes first, down to the partition.
        let update_min = partition.unwrap_or(0).max(0) as usize;
        for target in (update_min..slots.len()).rev() {
            let p = &slots[target];
            if revision_of(p) != update_name && !util::is_terminating(p) {
                let err = self.delete_member(ctx, sc, p).err().filter(|e| e.reason != Reason::NotFound);
                status.current -= 1;
                return (status, err);
            }
            if !healthy(p) {
                break;
            }
        }
        (status, None)
    }

    /// One member's turn (`processReplica`): whether an ordered set must stop here, and any error.
    fn process_member(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, slot: &mut Pod) -> (bool, Option<ApiError>) {
        let now = ctx.now;
        // A finished pod is removed; its replacement comes once it is gone.
        if matches!(phase(slot), Some("Failed") | Some("Succeeded")) {
            if !util::is_terminating(slot) {
                if let Err(e) = self.delete_member(ctx, sc, slot) {
                    return (true, Some(e));
                }
            }
            return (true, None);
        }
        if !is_created(slot) {
            if self.claim_is_stale(cache, sc, slot) {
                return (true, None);
            }
            if let Err(e) = self.create_member(ctx, cache, sc, slot) {
                return (true, Some(e));
            }
            if sc.monotonic {
                return (true, None);
            }
        }
        let pod = slot.clone();
        if phase(&pod) == Some("Pending") {
            if let Err(e) = self.create_claims(ctx, cache, sc, &pod).and_then(|_| self.fix_claim_owners(ctx, cache, sc, &pod)) {
                return (true, Some(e));
            }
        }
        if util::is_terminating(&pod) && sc.monotonic {
            return (true, None);
        }
        if sc.monotonic && (!running_and_ready(&pod) || !running_and_available(&pod, sc.min_ready, now)) {
            return (true, None);
        }
        let retention_ok = !is_created(&pod) || self.claims_match_policy(cache, sc, &pod);
        if identity_matches(sc.set, &pod) && storage_matches(sc.set, &pod) && retention_ok {
            return (false, None);
        }
        match self.update_member(ctx, cache, sc, &pod) {
            Ok(()) => (false, None),
            Err(e) => (true, Some(e)),
        }
    }

    /// Restores a member's identity, storage and claim owners (`UpdateStatefulPod`).
    fn update_member(&mut self, ctx: &mut Ctx, cache: &Cache, sc: &SetCtx, pod: &Pod) -> Result<(), ApiError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ordinal = ordinal_of(pod);
        let mut next = pod.clone();
        if !identity_matches(sc.set, &next) {
            update_identity(sc.set, &mut next, ordinal);
        }
        if !storage_matches(sc.set, &next) {
            update_storage(sc.set, &mut next, ordinal);
            if let Err(e) = self.create_claims(ctx, cache, sc, &next) {
                self.pod_event(ctx, sc, "update", &name, Some(&e));
                return Err(e);
            }
        }
        if !self.claims_match_policy(cache, sc, &next) {
            if let Err(e) = self.fix_claim_owners(ctx, cache, sc, &next) {
                self.pod_event(ctx, sc, "update", &name, Some(&e));
                return Err(e);
            }
        }
        let result = ctx.api.update(Object::Pod(Box::new(next))).map(|_| ());
        self.pod_event(ctx, sc, "update", &name, result.as_ref().err());
        result
    }

    fn sync_set(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(obj) = cache.of(ids::stateful_sets()).get(key).cloned() else { return Ok(None) };
        let Object::StatefulSet(set) = &*obj else { return Ok(None) };
        let spec = set.spec.clone().unwrap_or_default();
        if Selector::from_api(&spec.selector).is_empty() {
            return Ok(None);
        }
        let pods = self.claim_pods(ctx, cache, key, set, &obj);
        let revisions = history::owned_revisions(cache, set.metadata.uid.as_deref().unwrap_or(""));
        let (current_rev, update_rev, collision) = self.revisions(ctx, set, &obj, &revisions)?;
        let current_template = history::template_of(&current_rev).unwrap_or_else(|| spec.template.clone());
        let update_template = history::template_of(&update_rev).unwrap_or_else(|| spec.template.clone());
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let sc = SetCtx {
            set,
            obj: &obj,
            owner: util::controller_ref(&obj),
            current_rev: &current_rev,
            update_rev: &update_rev,
            current_template,
            update_template,
            monotonic: spec.pod_management_policy.as_deref() != Some("Parallel"),
            min_ready,
        };
        let live_revisions: Vec<String> = pods.iter().map(|p| revision_of(p).to_string()).collect();
        let (counts, error) = self.update_members(ctx, cache, &sc, pods);
        let written = self.write_status(ctx, set, &sc, &counts, collision);
        self.truncate_history(ctx, set, &revisions, &current_rev, &update_rev, &live_revisions)?;
        if let Some(e) = error {
            return Err(e);
        }
        written?;
        // Look again once pods that are ready may have become available.
        if min_ready > 0 && counts.available != replicas(set) {
            return Ok(Some(ctx.now.plus_secs(min_ready as u64)));
        }
        Ok(None)
    }

    fn write_status(&mut self, ctx: &mut Ctx, set: &StatefulSet, sc: &SetCtx, c: &Counts, collision: i32) -> Result<(), ApiError> {
        let old = set.status.clone().unwrap_or_default();
        let mut current_revision = sc.current_rev.metadata.name.clone();
        let update_revision = sc.update_rev.metadata.name.clone();
        let mut current = c.current;
        let rolling = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|s| s.type_.as_deref()) == Some("RollingUpdate");
        let want = replicas(set);
        // `completeRollingUpdate`: every pod updated and ready makes the update revision current.
        if rolling && c.updated == want && c.ready == want && c.replicas == want {
            current = c.updated;
            current_revision = update_revision.clone();
        }
        let next = StatefulSetStatus {
            observed_generation: set.metadata.generation,
            replicas: c.replicas,
            ready_replicas: util::nonzero(c.ready),
            available_replicas: Some(c.available),
            current_replicas: util::nonzero(current),
            updated_replicas: util::nonzero(c.updated),
            current_revision,
            update_revision,
            collision_count: Some(collision),
            conditions: old.conditions.clone(),
        };
        if next == old {
            return Ok(());
        }
        let uid = set.metadata.uid.clone();
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        let name = set.metadata.name.clone().unwrap_or_default();
        ctx.api.modify(ids::stateful_sets(), &ns, &name, true, |o| {
            if o.meta().uid != uid {
                return false;
            }
            if let Object::StatefulSet(s) = o {
                s.status = Some(next.clone());
            }
            true
        })?;
        Ok(())
    }

    /// Deletes the oldest revisions no pod uses beyond `revisionHistoryLimit` (`truncateHistory`).
    fn truncate_history(&mut self, ctx: &mut Ctx, set: &StatefulSet, revisions: &[ControllerRevision], current: &ControllerRevision, update: &ControllerRevision, live: &[String]) -> Result<(), ApiError> {
        let limit = set.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0) as usize;
        let is_live = |r: &ControllerRevision| {
            let name = r.metadata.name.as_deref().unwrap_or("");
            name == current.metadata.name.as_deref().unwrap_or("") || name == update.metadata.name.as_deref().unwrap_or("") || live.iter().any(|l| l == name)
        };
        let old: Vec<&ControllerRevision> = revisions.iter().filter(|r| !is_live(r)).collect();
        if old.len() <= limit {
            return Ok(());
        }
        for r in &old[..old.len() - limit] {
            history::delete(ctx, r)?;
        }
        Ok(())
    }
}

impl Reconciler for StatefulSetController {
    fn name(&self) -> &str {
        "statefulset-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::stateful_sets()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::stateful_sets(), ids::pods(), ids::controller_revisions(), ids::persistent_volume_claims()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        self.handle_events(cache, changes);
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync_set(ctx, cache, key)
    }
    fn forget(&mut self) {
        self.pods.reset();
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::controllers::testkit::{self, events_for, live_pods, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::apps::v1::{RollingUpdateStatefulSetStrategy, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy};
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    fn set(name: &str, replicas: i32, claims: bool) -> StatefulSet {
        let claim = PersistentVolumeClaim {
            metadata: ObjectMeta { name: Some("www".into()), ..Default::default() },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements { requests: Some(BTreeMap::from([("storage".into(), Quantity("1Gi".into()))])), limits: None }),
                ..Default::default()
            }),
            status: None,
        };
        StatefulSet {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(std::rc::Rc::new(StatefulSetSpec {
                replicas: Some(replicas),
                service_name: Some("nginx".into()),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), name.into())])), ..Default::default() },
                template: template(name, "nginx:1.27"),
                volume_claim_templates: claims.then(|| vec![claim]),
                ..Default::default()
            })),
            status: None,
        }
    }

    fn get(sim: &Sim, name: &str) -> StatefulSet {
        match &*sim.api.get(ids::stateful_sets(), "default", name).expect("sts") {
            Object::StatefulSet(s) => *s.clone(),
            _ => unreachable!(),
        }
    }

    fn edit(sim: &mut Sim, name: &str, f: impl Fn(&mut StatefulSetSpec)) {
        sim.api
            .modify(ids::stateful_sets(), "default", name, false, |o| {
                if let Object::StatefulSet(s) = o {
                    f(s.spec_mut());
                }
                true
            })
            .expect("edit");
    }

    fn names(sim: &Sim) -> Vec<String> {
        live_pods(sim, "default").into_iter().filter_map(|p| p.metadata.name).collect()
    }

    fn claims(sim: &Sim) -> Vec<PersistentVolumeClaim> {
        let (items, _) = sim.api.list(&Query::in_namespace(ids::persistent_volume_claims(), "default")).expect("list");
        items.iter().filter_map(|o| if let Object::PersistentVolumeClaim(c) = &**o { Some((**c).clone()) } else { None }).collect()
    }

    fn image_of(p: &Pod) -> String {
        p.spec.as_ref().unwrap().containers[0].image.clone().unwrap_or_default()
    }

    #[test]
    fn ordered_ready_creates_pods_one_at_a_time() {
        let mut sim = testkit::sim();
        sim.api.create(Object::StatefulSet(Box::new(set("web", 3, false)))).expect("create");
        sim.run_for_ms(1_000);
        assert_eq!(names(&sim), vec!["web-0"]);
        sim.run_for_ms(2_100);
        assert_eq!(names(&sim), vec!["web-0", "web-1"]);
        sim.run_for_ms(10_000);
        assert_eq!(names(&sim), vec!["web-0", "web-1", "web-2"]);
        let pod = live_pods(&sim, "default").remove(1);
        let labels = pod.metadata.labels.clone().unwrap();
        assert_eq!(labels[POD_NAME_LABEL], "web-1");
        assert_eq!(labels[POD_INDEX_LABEL], "1");
        let s = get(&sim, "web");
        let st = s.status.clone().unwrap();
        assert_eq!(labels[REVISION_LABEL], st.update_revision.clone().unwrap());
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(pod.spec.as_ref().unwrap().hostname.as_deref(), Some("web-1"));
        assert_eq!(pod.spec.as_ref().unwrap().subdomain.as_deref(), Some("nginx"));
        assert_eq!((st.replicas, st.ready_replicas, st.available_replicas, st.current_replicas, st.updated_replicas), (3, Some(3), Some(3), Some(3), Some(3)));
        assert_eq!(st.current_revision, st.update_revision);
        assert_eq!((st.collision_count, st.observed_generation), (Some(0), Some(1)));
        let events = events_for(&sim, "web");
        assert_eq!(
            events.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(),
            vec!["create Pod web-0 in StatefulSet web successful", "create Pod web-1 in StatefulSet web successful", "create Pod web-2 in StatefulSet web successful"]
        );
        // Scale down goes from the top, one at a time.
        edit(&mut sim, "web", |s| s.replicas = Some(1));
        sim.run_for_ms(500);
        assert_eq!(testkit::pods(&sim, "default").iter().filter(|p| p.metadata.deletion_timestamp.is_some()).filter_map(|p| p.metadata.name.clone()).collect::<Vec<_>>(), vec!["web-2"]);
        sim.run_for_ms(10_000);
        assert_eq!(names(&sim), vec!["web-0"]);
        assert!(events_for(&sim, "web").contains(&("SuccessfulDelete".into(), "delete Pod web-1 in StatefulSet web successful".into())));
    }

    #[test]
    fn parallel_creates_every_pod_at_once() {
        let mut sim = testkit::sim();
        let mut s = set("web", 3, false);
        s.spec_mut().pod_management_policy = Some("Parallel".into());
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        sim.run_for_ms(500);
        assert_eq!(names(&sim), vec!["web-0", "web-1", "web-2"]);
    }

    #[test]
    fn min_ready_seconds_spaces_the_pods() {
        let mut sim = testkit::sim();
        let mut s = set("web", 2, false);
        s.spec_mut().min_ready_seconds = Some(10);
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        // The set looks again minReadySeconds after each sync; web-0, ready
        // at 2 s, is not yet available at 10 s, so web-1 comes at 20 s, as
        // the 20 s spacing of a real cluster shows.
        sim.run_for_ms(19_000);
        assert_eq!(names(&sim), vec!["web-0"]);
        sim.run_for_ms(2_000);
        assert_eq!(names(&sim), vec!["web-0", "web-1"]);
    }

    #[test]
    fn claims_are_created_kept_on_scale_down_and_reused() {
        let mut sim = testkit::sim();
        sim.api.create(Object::StatefulSet(Box::new(set("web", 3, true)))).expect("create");
        sim.run_for_ms(15_000);
        let made: Vec<String> = claims(&sim).into_iter().filter_map(|c| c.metadata.name).collect();
        assert_eq!(made, vec!["www-web-0", "www-web-1", "www-web-2"]);
        let claim = &claims(&sim)[0];
        assert_eq!(claim.metadata.labels.as_ref().unwrap()["app"], "web");
        assert!(claim.metadata.owner_references.is_none());
        let pod = &live_pods(&sim, "default")[0];
        let volume = &pod.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        assert_eq!((volume.name.as_str(), volume.persistent_volume_claim.as_ref().unwrap().claim_name.as_str()), ("www", "www-web-0"));
        let events = events_for(&sim, "web");
        assert_eq!(events[0], ("SuccessfulCreate".into(), "create Claim www-web-0 Pod web-0 in StatefulSet web success".into()));
        assert_eq!(events[1], ("SuccessfulCreate".into(), "create Pod web-0 in StatefulSet web successful".into()));
        edit(&mut sim, "web", |s| s.replicas = Some(1));
        sim.run_for_ms(15_000);
        assert_eq!(names(&sim), vec!["web-0"]);
        assert_eq!(claims(&sim).len(), 3);
        edit(&mut sim, "web", |s| s.replicas = Some(3));
        sim.run_for_ms(15_000);
        assert_eq!(names(&sim), vec!["web-0", "web-1", "web-2"]);
        assert_eq!(claims(&sim).len(), 3);
        let claim_events = events_for(&sim, "web").into_iter().filter(|(_, m)| m.starts_with("create Claim")).count();
        assert_eq!(claim_events, 3, "claims are reused, not made again");
    }

    #[test]
    fn when_scaled_delete_hands_claims_to_the_garbage_collector() {
        let mut sim = testkit::sim();
        let mut s = set("web", 2, true);
        s.spec_mut().persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy { when_deleted: Some("Retain".into()), when_scaled: Some("Delete".into()) });
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        sim.run_for_ms(10_000);
        assert_eq!(claims(&sim).len(), 2);
        edit(&mut sim, "web", |s| s.replicas = Some(1));
        sim.run_for_ms(15_000);
        let left: Vec<String> = claims(&sim).into_iter().filter(|c| c.metadata.deletion_timestamp.is_none()).filter_map(|c| c.metadata.name).collect();
        assert_eq!(left, vec!["www-web-0"]);
    }

    #[test]
    fn when_deleted_delete_makes_the_set_own_its_claims() {
        let mut sim = testkit::sim();
        let mut s = set("web", 1, true);
        s.spec_mut().persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy { when_deleted: Some("Delete".into()), when_scaled: Some("Retain".into()) });
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        sim.run_for_ms(5_000);
        let owner = claims(&sim)[0].metadata.owner_references.clone().unwrap();
        assert_eq!((owner[0].kind.as_str(), owner[0].name.as_str(), owner[0].controller), ("StatefulSet", "web", Some(true)));
    }

    #[test]
    fn rolling_update_respects_the_partition_and_keeps_revisions() {
        let mut sim = testkit::sim();
        sim.api.create(Object::StatefulSet(Box::new(set("web", 3, false)))).expect("create");
        sim.run_for_ms(15_000);
        let first = get(&sim, "web").status.unwrap().current_revision.unwrap();
        edit(&mut sim, "web", |s| {
            s.update_strategy = Some(StatefulSetUpdateStrategy { type_: Some("RollingUpdate".into()), rolling_update: Some(RollingUpdateStatefulSetStrategy { partition: Some(1), max_unavailable: None }) });
            s.template.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.28".into());
        });
        sim.run_for_ms(30_000);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.iter().map(image_of).collect::<Vec<_>>(), vec!["nginx:1.27", "nginx:1.28", "nginx:1.28"]);
        let st = get(&sim, "web").status.unwrap();
        assert_eq!(st.current_revision.as_deref(), Some(first.as_str()));
        assert_ne!(st.update_revision.as_deref(), Some(first.as_str()));
        assert_eq!((st.current_replicas, st.updated_replicas), (Some(1), Some(2)));
        let (revs, _) = sim.api.list(&Query::in_namespace(ids::controller_revisions(), "default")).expect("list");
        let numbers: Vec<i64> = revs.iter().filter_map(|o| if let Object::ControllerRevision(r) = &**o { Some(r.revision) } else { None }).collect();
        assert_eq!(numbers.len(), 2);
        assert!(numbers.contains(&1) && numbers.contains(&2));
        // Partition 0 finishes the rollout and makes the update revision current.
        edit(&mut sim, "web", |s| s.update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(0));
        sim.run_for_ms(20_000);
        assert!(live_pods(&sim, "default").iter().all(|p| image_of(p) == "nginx:1.28"));
        let st = get(&sim, "web").status.unwrap();
        assert_eq!(st.current_revision, st.update_revision);
        assert_eq!(st.current_replicas, Some(3));
    }

    #[test]
    fn on_delete_waits_for_pods_to_be_deleted() {
        let mut sim = testkit::sim();
        let mut s = set("web", 2, false);
        s.spec_mut().update_strategy = Some(StatefulSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None });
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        sim.run_for_ms(10_000);
        edit(&mut sim, "web", |s| s.template.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.28".into()));
        sim.run_for_ms(10_000);
        assert!(live_pods(&sim, "default").iter().all(|p| image_of(p) == "nginx:1.27"));
        sim.api.delete(ids::pods(), "default", "web-1", &Default::default()).expect("delete");
        sim.run_for_ms(10_000);
        let images: Vec<String> = live_pods(&sim, "default").iter().map(image_of).collect();
        assert_eq!(images, vec!["nginx:1.27", "nginx:1.28"]);
    }

    #[test]
    fn a_claim_the_api_refuses_is_reported_on_the_set() {
        let mut sim = testkit::sim();
        let mut s = set("web", 1, true);
        s.spec_mut().volume_claim_templates.as_mut().unwrap()[0].spec.as_mut().unwrap().resources = None;
        sim.api.create(Object::StatefulSet(Box::new(s))).expect("create");
        sim.run_for_ms(3_000);
        assert!(names(&sim).is_empty());
        let events = events_for(&sim, "web");
        let (_, claim_msg) = events.iter().find(|(r, m)| r == "FailedCreate" && m.starts_with("create Claim")).expect("claim event");
        assert!(claim_msg.starts_with("create Claim www-web-0 for Pod web-0 in StatefulSet web failed error: PersistentVolumeClaim \"www-web-0\" is invalid: spec.resources[storage]: Required value"), "{claim_msg}");
        let (_, pod_msg) = events.iter().find(|(r, m)| r == "FailedCreate" && m.starts_with("create Pod")).expect("pod event");
        assert!(pod_msg.starts_with("create Pod web-0 in StatefulSet web failed error: failed to create PVC www-web-0: PersistentVolumeClaim"), "{pod_msg}");
    }

    #[test]
    fn pod_names_parse_as_parent_and_ordinal() {
        assert_eq!(parent_and_ordinal("web-0"), Some(("web", 0)));
        assert_eq!(parent_and_ordinal("my-web-12"), Some(("my-web", 12)));
        assert_eq!(parent_and_ordinal("web"), None);
        assert_eq!(parent_and_ordinal("web-"), None);
        assert_eq!(parent_and_ordinal("web-x1"), None);
        assert_eq!(parent_and_ordinal("web-99999999999"), Some(("web", -1)));
    }
}
