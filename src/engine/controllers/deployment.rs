//! The Deployment controller (`pkg/controller/deployment`): one ReplicaSet
//! per pod template, named `<deployment>-<pod-template-hash>`, rolled by
//! the RollingUpdate or Recreate strategy, scaled proportionally, pruned to
//! `revisionHistoryLimit`, with the Progressing and Available conditions.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus, ReplicaSetSpec};
use crate::engine::api::shared_spec::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, WatchEventType};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::util;
use super::{Cache, Changes, Reconciler, WorkLoop};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Deployment annotations never copied onto its ReplicaSets.
const SKIP_COPY: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"];

/// Progressing condition reasons and their messages, as `deploymentutil` words them.
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const RS_CREATE_ERROR: &str = "ReplicaSetCreateError";

/// The pod-template-hash: FNV-1a (32 bit) over the template and the
/// collision count, its decimal digits mapped into Kubernetes' safe
/// alphabet as `rand.SafeEncodeString` does, e.g. `66644bb776`.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= *b as u32;
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    // Through the JSON value, as objects are encoded everywhere else, so the
    // page carries one typed encoder of pod templates; the text is the same
    // (k8s-openapi writes fields in the order a JSON map sorts them).
    let json = serde_json::to_value(template).unwrap_or_default();
    feed(serde_json::to_string(&json).unwrap_or_default().as_bytes());
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        feed(&bytes);
    }
    hash.to_string().bytes().map(|b| ALPHABET[b as usize % ALPHABET.len()] as char).collect()
}

/// Templates equal but for the pod-template-hash label (`EqualIgnoreHash`).
/// Nothing is copied to compare: every Deployment sync compares its
/// template with each of its ReplicaSets'. A missing metadata reads as the
/// default one, and labels as empty, once the hash label is left out.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    fn labels_but_hash(m: &ObjectMeta) -> impl Iterator<Item = (&String, &String)> {
        m.labels.iter().flatten().filter(|(k, _)| k.as_str() != POD_TEMPLATE_HASH)
    }
    fn meta_equal(a: &ObjectMeta, b: &ObjectMeta) -> bool {
        // Every field named, so a field added to `ObjectMeta` is not missed.
        let ObjectMeta {
            annotations,
            creation_timestamp,
            deletion_grace_period_seconds,
            deletion_timestamp,
            finalizers,
            generate_name,
            generation,
            labels: _,
            managed_fields,
            name,
            namespace,
            owner_references,
            resource_version,
            self_link,
            uid,
        } = a;
        *annotations == b.annotations
            && *creation_timestamp == b.creation_timestamp
            && *deletion_grace_period_seconds == b.deletion_grace_period_seconds
            && *deletion_timestamp == b.deletion_timestamp
            && *finalizers == b.finalizers
            && *generate_name == b.generate_name
            && *generation == b.generation
            && *managed_fields == b.managed_fields
            && *name == b.name
            && *namespace == b.namespace
            && *owner_references == b.owner_references
            && *resource_version == b.resource_version
            && *self_link == b.self_link
            && *uid == b.uid
            && labels_but_hash(a).eq(labels_but_hash(b))
    }
    let no_meta = ObjectMeta::default();
    a.spec == b.spec && meta_equal(a.metadata.as_ref().unwrap_or(&no_meta), b.metadata.as_ref().unwrap_or(&no_meta))
}

/// Whether bringing an existing new ReplicaSet's annotations up to date
/// (`set_new_rs_annotations` with `exists`) changes them: a Deployment
/// annotation it lacks or has otherwise, or a revision missing or older.
fn new_rs_annotations_change(d: &Deployment, rs_meta: &ObjectMeta, new_revision: &str) -> bool {
    let copied_differ = d.metadata.annotations.iter().flatten().any(|(k, v)| !SKIP_COPY.contains(&k.as_str()) && annotation(rs_meta, k) != Some(v.as_str()));
    let old = annotation(rs_meta, REVISION);
    let old_n: i64 = old.and_then(|r| r.parse().ok()).unwrap_or(0);
    let new_n: i64 = new_revision.parse().unwrap_or(0);
    copied_differ || old.is_none() || old_n < new_n
}

/// An int-or-percent against `total`, percentages rounded up or down.
fn scaled(value: Option<&IntOrString>, default_percent: i32, total: i32, round_up: bool) -> i32 {
    let percent = match value {
        Some(IntOrString::Int(n)) => return *n,
        Some(IntOrString::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => p,
            None => return s.parse::<i32>().unwrap_or(0),
        },
        None => default_percent as i64,
    };
    let product = percent * total as i64;
    (if round_up { (product + 99).div_euclid(100) } else { product.div_euclid(100) }) as i32
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn is_recreate(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) == Some("Recreate")
}

fn is_paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

/// `(maxSurge, maxUnavailable)` resolved against the replicas (`ResolveFenceposts`).
fn fenceposts(d: &Deployment) -> (i32, i32) {
    let desired = replicas(d);
    let rolling = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let surge = scaled(rolling.and_then(|r| r.max_surge.as_ref()), 25, desired, true);
    let unavailable = scaled(rolling.and_then(|r| r.max_unavailable.as_ref()), 25, desired, false);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

fn max_surge(d: &Deployment) -> i32 {
    if is_recreate(d) {
        0
    } else {
        fenceposts(d).0
    }
}

fn max_unavailable(d: &Deployment) -> i32 {
    if is_recreate(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// The progress deadline, unless it is "never" (`math.MaxInt32`).
fn progress_deadline(d: &Deployment) -> Option<i32> {
    let s = d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).unwrap_or(600);
    (s != i32::MAX).then_some(s)
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn rs_status(rs: &ReplicaSet) -> (i32, i32, i32) {
    rs.status.as_ref().map_or((0, 0, 0), |s| (s.replicas, s.ready_replicas.unwrap_or(0), s.available_replicas.unwrap_or(0)))
}

fn annotation<'a>(obj: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    obj.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

fn revision(rs: &ReplicaSet) -> i64 {
    annotation(&rs.metadata, REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn created(rs: &ReplicaSet) -> (Option<VirtualTime>, String) {
    (util::time_of(rs.metadata.creation_timestamp.as_ref()), rs.metadata.name.clone().unwrap_or_default())
}

fn rs_name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or("")
}

fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

/// `SetDeploymentCondition`: same status and reason is no change; a new
/// reason with the same status keeps the transition time; the condition
/// moves to the end of the list.
fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(current) = condition(status, &cond.type_) {
        if current.status == cond.status && current.reason == cond.reason {
            return;
        }
        if current.status == cond.status {
            cond.last_transition_time = current.last_transition_time.clone();
        }
    }
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|c| c.type_ != cond.type_);
    conditions.push(cond);
}

fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
        if c.is_empty() {
            status.conditions = None;
        }
    }
}

fn new_condition(type_: &str, status: &str, reason: &str, message: String, now: VirtualTime) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(meta::api_time(now)),
        last_transition_time: Some(meta::api_time(now)),
    }
}

/// A Deployment or ReplicaSet a sync works on: the version the cache
/// handed out, then the one each of the sync's writes stored, shared with
/// the cache and the store rather than copied (a sync used to copy the
/// Deployment and each of its ReplicaSets, pod templates and all, at its
/// start and after each write).
#[derive(Clone)]
struct Held<T: HeldKind>(Rc<Object>, PhantomData<T>);

/// The kinds a [`Held`] holds.
trait HeldKind: Sized + 'static {
    fn typed(obj: &Object) -> Option<&Self>;
    /// What a `Held` of the wrong kind reads as (never made: see `Held::of`).
    fn none() -> &'static Self;
}

impl HeldKind for Deployment {
    fn typed(obj: &Object) -> Option<&Self> {
        match obj {
            Object::Deployment(d) => Some(d),
            _ => None,
        }
    }
    fn none() -> &'static Self {
        // Kept for the thread's life: what a `Held` without its object reads.
        thread_local! { static NONE: &'static Deployment = Box::leak(Box::default()); }
        NONE.with(|none| *none)
    }
}

impl HeldKind for ReplicaSet {
    fn typed(obj: &Object) -> Option<&Self> {
        match obj {
            Object::ReplicaSet(rs) => Some(rs),
            _ => None,
        }
    }
    fn none() -> &'static Self {
        // Kept for the thread's life: what a `Held` without its object reads.
        thread_local! { static NONE: &'static ReplicaSet = Box::leak(Box::default()); }
        NONE.with(|none| *none)
    }
}

impl<T: HeldKind> Held<T> {
    /// `stored`, if it is of kind `T`.
    fn of(stored: &Rc<Object>) -> Option<Self> {
        T::typed(stored).is_some().then(|| Held(stored.clone(), PhantomData))
    }

    /// Holds what a write of this object stored.
    fn set(&mut self, stored: Rc<Object>) {
        if T::typed(&stored).is_some() {
            self.0 = stored;
        }
    }
}

impl<T: HeldKind> std::ops::Deref for Held<T> {
    type Target = T;
    fn deref(&self) -> &T {
        T::typed(&self.0).unwrap_or_else(|| T::none())
    }
}

/// The deployment's ReplicaSets, the new one (template matches) apart.
struct Sets {
    new: Option<Held<ReplicaSet>>,
    old: Vec<Held<ReplicaSet>>,
}

impl Sets {
    fn all(&self) -> Vec<&ReplicaSet> {
        self.old.iter().chain(self.new.iter()).map(|rs| &**rs).collect()
    }
}

pub struct DeploymentController {
    work: WorkLoop,
    recorder: EventRecorder,
}

impl Default for DeploymentController {
    fn default() -> Self {
        Self::new()
    }
}

impl DeploymentController {
    pub fn new() -> Self {
        DeploymentController { work: WorkLoop::default(), recorder: EventRecorder::new("deployment-controller", None) }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::deployments()) {
            if ev.kind != WatchEventType::Deleted {
                self.work.queue.add(ObjectKey::of(&ev.object));
            }
        }
        let deployments = cache.of(ids::deployments());
        for ev in changes.of(ids::replica_sets()) {
            let m = ev.object.meta();
            let ns = m.namespace.clone().unwrap_or_default();
            match meta::controller_of(m.owner_references.as_ref()) {
                Some(owner) if owner.kind == "Deployment" => {
                    let key = ObjectKey::new(ns, owner.name.clone());
                    if deployments.get(&key).is_some_and(|d| d.meta().uid.as_deref() == Some(owner.uid.as_str())) {
                        self.work.queue.add(key);
                    }
                }
                Some(_) => {}
                None if ev.kind != WatchEventType::Deleted => {
                    for d in deployments.in_namespace(&ns) {
                        if let Object::Deployment(dep) = &**d {
                            if Selector::from_optional_api(dep.spec.as_ref().map(|s| &s.selector)).matches(m.labels.as_ref()) {
                                self.work.queue.add(ObjectKey::of(d));
                            }
                        }
                    }
                }
                None => {}
            }
        }
        // Recreate waits for old pods to be gone; their deletion wakes it.
        let sets = cache.of(ids::replica_sets());
        for ev in changes.of(ids::pods()) {
            if ev.kind != WatchEventType::Deleted {
                continue;
            }
            let m = ev.object.meta();
            let Some(rs_ref) = meta::controller_of(m.owner_references.as_ref()).filter(|r| r.kind == "ReplicaSet") else { continue };
            let Some(rs) = sets.get_by_uid(&rs_ref.uid) else { continue };
            let Some(d_ref) = meta::controller_of(rs.meta().owner_references.as_ref()).filter(|r| r.kind == "Deployment") else { continue };
            let key = ObjectKey::new(m.namespace.clone().unwrap_or_default(), d_ref.name.clone());
            if let Some(Object::Deployment(d)) = deployments.get(&key).map(|d| &**d) {
                if is_recreate(d) {
                    self.work.queue.add(key);
                }
            }
        }
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(mut d) = cache.of(ids::deployments()).get(key).and_then(Held::<Deployment>::of) else {
            return Ok(None);
        };
        let selector = Selector::from_optional_api(d.spec.as_ref().map(|s| &s.selector));
        if selector.is_empty() {
            self.recorder.record(ctx.api, &d.0, WARNING, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
            if d.status.as_ref().and_then(|s| s.observed_generation) < d.metadata.generation {
                let mut status = d.status.clone().unwrap_or_default();
                status.observed_generation = d.metadata.generation;
                self.write_status(ctx, &mut d, status)?;
            }
            return Ok(None);
        }
        let list = self.claim_replica_sets(ctx, cache, &d, &selector)?;
        if d.metadata.deletion_timestamp.is_some() {
            let sets = self.split(&d, list);
            self.sync_status_only(ctx, &mut d, &sets)?;
            return Ok(None);
        }
        self.check_paused_conditions(ctx, &mut d)?;
        if is_paused(&d) {
            return self.sync_scale(ctx, &mut d, list);
        }
        if self.is_scaling_event(&d, &list) {
            return self.sync_scale(ctx, &mut d, list);
        }
        if is_recreate(&d) {
            self.rollout_recreate(ctx, cache, &mut d, list)
        } else {
            self.rollout_rolling(ctx, &mut d, list)
        }
    }

    /// The ReplicaSets this deployment controls, adopting matching orphans
    /// and releasing ones that stopped matching.
    fn claim_replica_sets(&mut self, ctx: &mut Ctx, cache: &Cache, d: &Deployment, selector: &Selector) -> Result<Vec<Held<ReplicaSet>>, ApiError> {
        let sets = cache.of(ids::replica_sets());
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let mut out = Vec::new();
        let mut fresh_checked: Option<bool> = None;
        // Made only for an adoption: it needs the deployment as an Object.
        let mut owner_ref = None;
        let candidates = sets.controlled_by(&uid).into_iter().chain(sets.orphans_in(&ns));
        for o in candidates {
            let Object::ReplicaSet(rs) = &*o else { continue };
            let controlled = meta::controller_of(rs.metadata.owner_references.as_ref()).is_some();
            let matches = selector.matches(rs.metadata.labels.as_ref());
            let name = rs.metadata.name.clone().unwrap_or_default();
            match (controlled, matches) {
                (true, true) => out.extend(Held::of(&o)),
                (true, false) => {
                    if rs.metadata.deletion_timestamp.is_none() {
                        let _ = ctx.api.modify(ids::replica_sets(), &ns, &name, false, |o| {
                            let m = o.meta_mut();
                            let Some(refs) = m.owner_references.as_mut() else { return false };
                            let before = refs.len();
                            refs.retain(|r| r.uid != uid);
                            before != refs.len()
                        });
                    }
                }
                (false, true) if d.metadata.deletion_timestamp.is_none() && rs.metadata.deletion_timestamp.is_none() => {
                    let can_adopt = *fresh_checked.get_or_insert_with(|| {
                        ctx.api
                            .get(ids::deployments(), &ns, d.metadata.name.as_deref().unwrap_or(""))
                            .is_ok_and(|f| f.meta().uid.as_deref() == Some(uid.as_str()) && f.meta().deletion_timestamp.is_none())
                    });
                    if !can_adopt {
                        continue;
                    }
                    let owner_ref = owner_ref.get_or_insert_with(|| util::controller_ref(&Object::Deployment(Box::new(d.clone()))));
                    let adopted = ctx.api.modify(ids::replica_sets(), &ns, &name, false, |o| {
                        let m = o.meta_mut();
                        if meta::controller_of(m.owner_references.as_ref()).is_some() || m.deletion_timestamp.is_some() {
                            return false;
                        }
                        m.owner_references.get_or_insert_with(Vec::new).push(owner_ref.clone());
                        true
                    });
                    if let Ok(o) = adopted {
                        if meta::controller_of(o.meta().owner_references.as_ref()).is_some_and(|r| r.uid == uid) {
                            out.extend(Held::of(&o));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The new ReplicaSet is the oldest whose template equals the deployment's.
    fn split(&self, d: &Deployment, mut list: Vec<Held<ReplicaSet>>) -> Sets {
        list.sort_stable_by_key(|rs| created(rs));
        let no_template = PodTemplateSpec::default();
        let template = d.spec.as_ref().map_or(&no_template, |s| &s.template);
        let pos = list.iter().position(|rs| rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignore_hash(t, template)));
        let new = pos.map(|i| list.remove(i));
        Sets { new, old: list }
    }

    fn write_status(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, status: DeploymentStatus) -> Result<(), ApiError> {
        if d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let next = Deployment { metadata: d.metadata.clone(), spec: d.spec.clone(), status: Some(status) };
        let stored = ctx.api.update_status(Object::Deployment(Box::new(next)))?;
        d.set(stored);
        Ok(())
    }

    fn check_paused_conditions(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>) -> Result<(), ApiError> {
        if progress_deadline(d).is_none() {
            return Ok(());
        }
        // Read in place: nearly every sync changes nothing here.
        let paused_before = d.status.as_ref().and_then(|s| condition(s, "Progressing")).and_then(|c| c.reason.as_deref()) == Some(PAUSED);
        let paused = is_paused(d);
        let change = if paused && !paused_before {
            new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused".into(), ctx.now)
        } else if !paused && paused_before {
            new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed".into(), ctx.now)
        } else {
            return Ok(());
        };
        let mut next = d.status.clone().unwrap_or_default();
        set_condition(&mut next, change);
        self.write_status(ctx, d, next)
    }

    /// Some active ReplicaSet was sized for a different replica count.
    fn is_scaling_event(&self, d: &Deployment, list: &[Held<ReplicaSet>]) -> bool {
        let want = replicas(d).to_string();
        list.iter()
            .filter(|rs| rs_replicas(rs) > 0)
            .any(|rs| annotation(&rs.metadata, DESIRED_REPLICAS).is_some_and(|v| v != want))
    }

    /// Finds or (if asked) creates the new ReplicaSet and brings revision
    /// annotations up to date (`getAllReplicaSetsAndSyncRevision`).
    fn sync_revision(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, list: Vec<Held<ReplicaSet>>, create: bool) -> Result<Sets, ApiError> {
        let mut sets = self.split(d, list);
        let max_old = sets.old.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        let new_revision = (max_old + 1).to_string();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        if let Some(existing) = sets.new.take() {
            // Most syncs find the set's annotations and minReadySeconds as
            // they should be: the metadata is copied only when something
            // changes, and the whole set (its pod template) only to be written.
            let min_ready = d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let min_ready_changed = existing.spec.as_ref().is_some_and(|spec| spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0));
            let annotations_change = new_rs_annotations_change(d, &existing.metadata, &new_revision);
            if cfg!(debug_assertions) && !annotations_change {
                let mut annotated = ReplicaSet { metadata: existing.metadata.clone(), ..Default::default() };
                assert!(!self.set_new_rs_annotations(d, &mut annotated, &new_revision, true), "annotations of {} would change", rs_name(&existing));
            }
            let rs = if annotations_change || min_ready_changed {
                let mut annotated = ReplicaSet { metadata: existing.metadata.clone(), ..Default::default() };
                let changed = self.set_new_rs_annotations(d, &mut annotated, &new_revision, true);
                debug_assert_eq!(changed, annotations_change, "annotations of {}", rs_name(&existing));
                let mut rs = (*existing).clone();
                rs.metadata = annotated.metadata;
                if min_ready_changed {
                    if let Some(spec) = rs.spec_mut_if_any() {
                        spec.min_ready_seconds = min_ready;
                    }
                }
                let stored = ctx.api.update(Object::ReplicaSet(Box::new(rs)))?;
                Held::of(&stored).unwrap_or(existing)
            } else {
                existing
            };
            let rev = annotation(&rs.metadata, REVISION).unwrap_or("").to_string();
            self.set_deployment_revision(ctx, d, &rev)?;
            if progress_deadline(d).is_some() && d.status.as_ref().and_then(|s| condition(s, "Progressing")).is_none() {
                let mut next = d.status.clone().unwrap_or_default();
                set_condition(&mut next, new_condition("Progressing", "True", FOUND_NEW_RS, format!("Found new replica set \"{}\"", rs_name(&rs)), ctx.now));
                self.write_status(ctx, d, next)?;
            }
            sets.new = Some(rs);
            return Ok(sets);
        }
        if !create {
            return Ok(sets);
        }
        let template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let collision = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&template, collision);
        let name = format!("{}-{hash}", d.metadata.name.as_deref().unwrap_or(""));
        let mut new_template = template.clone();
        new_template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        labels.insert(POD_TEMPLATE_HASH.into(), hash);
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                labels: Some(labels),
                owner_references: Some(vec![util::controller_ref(&d.0)]),
                ..Default::default()
            },
            spec: Some(Rc::new(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector: LabelSelector { ..selector },
                template: Some(new_template.clone()),
            })),
            status: None,
        };
        let new_replicas = self.new_rs_new_replicas(d, &sets.old, 0);
        if let Some(spec) = rs.spec_mut_if_any() {
            spec.replicas = Some(new_replicas);
        }
        self.set_new_rs_annotations(d, &mut rs, &new_revision, false);
        let d_obj = d.0.clone();
        let created = match ctx.api.create(Object::ReplicaSet(Box::new(rs))) {
            Ok(stored) => match Held::of(&stored) {
                Some(held) => held,
                None => return Err(ApiError::new(Reason::InternalError, "unexpected object")),
            },
            Err(e) if e.reason == Reason::AlreadyExists => {
                // Ours already (a stale cache), or a hash collision: count it and retry.
                if let Ok(existing) = ctx.api.get(ids::replica_sets(), &ns, &name) {
                    if let Object::ReplicaSet(rs) = &*existing {
                        let ours = meta::controller_of(rs.metadata.owner_references.as_ref()).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                        if ours && rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignore_hash(t, &template)) {
                            sets.new = Held::of(&existing);
                            return Ok(sets);
                        }
                    }
                }
                let mut status = d.status.clone().unwrap_or_default();
                status.collision_count = Some(collision.unwrap_or(0).saturating_add(1));
                self.write_status(ctx, d, status)?;
                return Err(e);
            }
            Err(e) => {
                if e.reason != Reason::ConnectionRefused {
                    let msg = format!("Failed to create new replica set \"{name}\": {}", e.message);
                    if progress_deadline(d).is_some() {
                        let mut status = d.status.clone().unwrap_or_default();
                        set_condition(&mut status, new_condition("Progressing", "False", RS_CREATE_ERROR, msg.clone(), ctx.now));
                        let _ = self.write_status(ctx, d, status);
                    }
                    self.recorder.record(ctx.api, &d_obj, WARNING, RS_CREATE_ERROR, msg);
                }
                return Err(e);
            }
        };
        if new_replicas > 0 {
            self.recorder.record(ctx.api, &d_obj, NORMAL, "ScalingReplicaSet", format!("Scaled up replica set {name} from 0 to {new_replicas}"));
            ctx.log(format!("scaled up replica set {ns}/{name} from 0 to {new_replicas}"));
        }
        self.set_deployment_revision(ctx, d, &new_revision)?;
        if progress_deadline(d).is_some() {
            let mut status = d.status.clone().unwrap_or_default();
            set_condition(&mut status, new_condition("Progressing", "True", NEW_RS_CREATED, format!("Created new replica set \"{name}\""), ctx.now));
            self.write_status(ctx, d, status)?;
        }
        sets.new = Some(created);
        Ok(sets)
    }

    /// Copies the deployment's annotations, raises the revision (keeping
    /// the history) and, for a new set, the replica annotations.
    fn set_new_rs_annotations(&self, d: &Deployment, rs: &mut ReplicaSet, new_revision: &str, exists: bool) -> bool {
        let mut changed = false;
        let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        for (k, v) in d.metadata.annotations.iter().flatten() {
            if SKIP_COPY.contains(&k.as_str()) {
                continue;
            }
            if annotations.get(k) != Some(v) {
                annotations.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        let old = annotations.get(REVISION).cloned();
        let old_n: i64 = old.as_deref().and_then(|r| r.parse().ok()).unwrap_or(0);
        let new_n: i64 = new_revision.parse().unwrap_or(0);
        if old.is_none() || old_n < new_n {
            annotations.insert(REVISION.into(), new_revision.to_string());
            changed = true;
            if let Some(old) = old.filter(|o| !o.is_empty()) {
                let history = match annotations.get(REVISION_HISTORY).filter(|h| !h.is_empty()) {
                    Some(h) => format!("{h},{old}"),
                    None => old,
                };
                annotations.insert(REVISION_HISTORY.into(), history);
            }
        }
        if !exists {
            changed |= set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d));
        }
        if rs.metadata.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
            rs.metadata.annotations = None;
        }
        changed
    }

    fn set_deployment_revision(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, rev: &str) -> Result<(), ApiError> {
        if rev.is_empty() || annotation(&d.metadata, REVISION) == Some(rev) {
            return Ok(());
        }
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let name = d.metadata.name.clone().unwrap_or_default();
        let uid = d.metadata.uid.clone();
        let stored = ctx.api.modify(ids::deployments(), &ns, &name, false, |o| {
            if o.meta().uid != uid {
                return false;
            }
            o.meta_mut().annotations.get_or_insert_with(BTreeMap::new).insert(REVISION.into(), rev.to_string());
            true
        })?;
        d.set(stored);
        Ok(())
    }

    /// Replicas the new set should have now (`NewRSNewReplicas`): up to
    /// `replicas + maxSurge` pods across all sets.
    fn new_rs_new_replicas(&self, d: &Deployment, old: &[Held<ReplicaSet>], new_count: i32) -> i32 {
        let desired = replicas(d);
        if is_recreate(d) {
            return desired;
        }
        let current: i32 = old.iter().map(|rs| rs_replicas(rs)).sum::<i32>() + new_count;
        let max_total = desired + max_surge(d);
        if current >= max_total {
            return new_count;
        }
        new_count + (max_total - current).min(desired - new_count).max(0)
    }

    /// Sets a ReplicaSet's size and replica annotations; records the event.
    fn scale_rs(&mut self, ctx: &mut Ctx, d: &Deployment, rs: &mut Held<ReplicaSet>, size: i32) -> Result<bool, ApiError> {
        let old = rs_replicas(rs);
        let mut next = (**rs).clone();
        let mut changed = old != size;
        if let Some(spec) = next.spec_mut_if_any() {
            spec.replicas = Some(size);
        }
        changed |= set_replicas_annotations(&mut next, replicas(d), replicas(d) + max_surge(d));
        if !changed {
            return Ok(false);
        }
        let stored = ctx.api.update(Object::ReplicaSet(Box::new(next)))?;
        rs.set(stored);
        if old != size {
            let op = if old < size { "up" } else { "down" };
            let name = rs_name(rs).to_string();
            ctx.log(format!("scaled {op} replica set {}/{name} from {old} to {size}", rs.metadata.namespace.as_deref().unwrap_or("")));
            self.recorder.record(ctx.api, &Object::Deployment(Box::new(d.clone())), NORMAL, "ScalingReplicaSet", format!("Scaled {op} replica set {name} from {old} to {size}"));
        }
        Ok(old != size)
    }

    fn rollout_rolling(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, list: Vec<Held<ReplicaSet>>) -> Result<Option<VirtualTime>, ApiError> {
        let mut sets = self.sync_revision(ctx, d, list, true)?;
        // Scale up the new set within maxSurge.
        if let Some(mut new) = sets.new.take() {
            let desired = replicas(d);
            let current = rs_replicas(&new);
            let scaled_up = if current == desired {
                false
            } else if current > desired {
                self.scale_rs(ctx, d, &mut new, desired)?
            } else {
                let want = self.new_rs_new_replicas(d, &sets.old, current);
                self.scale_rs(ctx, d, &mut new, want)?
            };
            sets.new = Some(new);
            if scaled_up {
                return self.sync_rollout_status(ctx, d, &sets);
            }
        }
        if self.reconcile_old(ctx, d, &mut sets)? {
            return self.sync_rollout_status(ctx, d, &sets);
        }
        if self.complete(d, &sets) {
            self.cleanup(ctx, d, &sets)?;
        }
        self.sync_rollout_status(ctx, d, &sets)
    }

    /// Scales old sets down within maxUnavailable (`reconcileOldReplicaSets`).
    fn reconcile_old(&mut self, ctx: &mut Ctx, d: &Deployment, sets: &mut Sets) -> Result<bool, ApiError> {
        let old_count: i32 = sets.old.iter().map(|rs| rs_replicas(rs)).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let all_count: i32 = sets.all().iter().map(|rs| rs_replicas(rs)).sum();
        let min_available = replicas(d) - max_unavailable(d);
        let new_unavailable = sets.new.as_ref().map_or(0, |n| rs_replicas(n) - rs_status(n).2);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        sets.old.sort_stable_by_key(|rs| created(rs));
        // First the old sets' unhealthy replicas: they cost no availability.
        let mut cleaned = 0;
        for rs in sets.old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let size = rs_replicas(rs);
            let available = rs_status(rs).2;
            if size == 0 || size == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(size - available);
            self.scale_rs(ctx, d, rs, size - down)?;
            cleaned += down;
        }
        // Then as many available ones as availability allows.
        let available: i32 = sets.all().iter().map(|rs| rs_status(rs).2).sum();
        let mut scaled_down = 0;
        if available > min_available {
            let total = available - min_available;
            for rs in sets.old.iter_mut() {
                if scaled_down >= total {
                    break;
                }
                let size = rs_replicas(rs);
                if size == 0 {
                    continue;
                }
                let down = size.min(total - scaled_down);
                self.scale_rs(ctx, d, rs, size - down)?;
                scaled_down += down;
            }
        }
        Ok(cleaned + scaled_down > 0)
    }

    fn rollout_recreate(&mut self, ctx: &mut Ctx, cache: &Cache, d: &mut Held<Deployment>, list: Vec<Held<ReplicaSet>>) -> Result<Option<VirtualTime>, ApiError> {
        let mut sets = self.sync_revision(ctx, d, list.clone(), false)?;
        let mut scaled_down = false;
        for rs in sets.old.iter_mut() {
            if rs_replicas(rs) > 0 {
                scaled_down |= self.scale_rs(ctx, d, rs, 0)?;
            }
        }
        if scaled_down {
            return self.sync_rollout_status(ctx, d, &sets);
        }
        if self.old_pods_running(cache, &sets) {
            return self.sync_rollout_status(ctx, d, &sets);
        }
        if sets.new.is_none() {
            let old = sets.old.clone();
            sets = self.sync_revision(ctx, d, old, true)?;
        }
        if let Some(mut new) = sets.new.take() {
            self.scale_rs(ctx, d, &mut new, replicas(d))?;
            sets.new = Some(new);
        }
        if self.complete(d, &sets) {
            self.cleanup(ctx, d, &sets)?;
        }
        self.sync_rollout_status(ctx, d, &sets)
    }

    /// Recreate starts the new pods only when no old pod is left running or terminating.
    fn old_pods_running(&self, cache: &Cache, sets: &Sets) -> bool {
        if sets.old.iter().any(|rs| rs_status(rs).0 > 0) {
            return true;
        }
        let pods = cache.of(ids::pods());
        sets.old.iter().any(|rs| {
            pods.controlled_by(rs.metadata.uid.as_deref().unwrap_or("")).iter().any(|o| match &**o {
                Object::Pod(p) => !matches!(util::pod_phase(p), "Succeeded" | "Failed"),
                _ => false,
            })
        })
    }

    /// Scaling or a paused deployment: resize proportionally, no rollout.
    fn sync_scale(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, list: Vec<Held<ReplicaSet>>) -> Result<Option<VirtualTime>, ApiError> {
        let mut sets = self.sync_revision(ctx, d, list, false)?;
        self.scale(ctx, d, &mut sets)?;
        if is_paused(d) {
            self.cleanup(ctx, d, &sets)?;
        }
        self.sync_status_only(ctx, d, &sets)?;
        Ok(None)
    }

    fn scale(&mut self, ctx: &mut Ctx, d: &Deployment, sets: &mut Sets) -> Result<(), ApiError> {
        let desired = replicas(d);
        let active: Vec<usize> = (0..sets.old.len()).filter(|i| rs_replicas(&sets.old[*i]) > 0).collect();
        let new_active = sets.new.as_ref().is_some_and(|n| rs_replicas(n) > 0);
        let active_count = active.len() + usize::from(new_active);
        // One active (or none: the newest) set takes the whole size.
        if active_count <= 1 {
            let target = if new_active || (active_count == 0 && sets.new.is_some()) {
                sets.new.as_mut()
            } else if let Some(i) = active.first() {
                sets.old.get_mut(*i)
            } else {
                sets.old.iter_mut().max_by_key(|rs| created(rs))
            };
            if let Some(rs) = target {
                if rs_replicas(rs) != desired {
                    self.scale_rs(ctx, d, rs, desired)?;
                }
            }
            return Ok(());
        }
        // A saturated new set: the old ones go.
        if let Some(new) = &sets.new {
            let saturated = rs_replicas(new) == desired
                && annotation(&new.metadata, DESIRED_REPLICAS).is_some_and(|v| v == desired.to_string())
                && rs_status(new).2 == desired;
            if saturated {
                for i in active {
                    if let Some(rs) = sets.old.get_mut(i) {
                        self.scale_rs(ctx, d, rs, 0)?;
                    }
                }
                return Ok(());
            }
        }
        if is_recreate(d) {
            return Ok(());
        }
        // Proportional scaling across the active sets.
        let mut all: Vec<&mut Held<ReplicaSet>> = sets.old.iter_mut().chain(sets.new.iter_mut()).filter(|rs| rs_replicas(rs) > 0).collect();
        let current: i32 = all.iter().map(|rs| rs_replicas(rs)).sum();
        let allowed = if desired > 0 { desired + max_surge(d) } else { 0 };
        let to_add = allowed - current;
        if to_add > 0 {
            // Largest first; newer first among equals.
            all.sort_stable_by(|a, b| rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| created(b).cmp(&created(a))));
        } else {
            all.sort_stable_by(|a, b| rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| created(a).cmp(&created(b))));
        }
        let status_replicas = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let mut added = 0;
        let mut sizes: Vec<i32> = Vec::with_capacity(all.len());
        for rs in &all {
            let size = rs_replicas(rs);
            if to_add == 0 {
                sizes.push(size);
                continue;
            }
            let proportion = if size == 0 || to_add == added {
                0
            } else {
                let fraction = if desired == 0 {
                    -size
                } else {
                    let annotated = annotation(&rs.metadata, MAX_REPLICAS).and_then(|v| v.parse::<i32>().ok()).unwrap_or(status_replicas);
                    if annotated == 0 {
                        0
                    } else {
                        ((size as f64 * (desired + max_surge(d)) as f64) / annotated as f64).round() as i32 - size
                    }
                };
                let allowed = to_add - added;
                if to_add > 0 {
                    fraction.min(allowed)
                } else {
                    fraction.max(allowed)
                }
            };
            added += proportion;
            sizes.push(size + proportion);
        }
        let leftover = to_add - added;
        if leftover != 0 {
            if let Some(first) = sizes.first_mut() {
                *first = (*first + leftover).max(0);
            }
        }
        for (rs, size) in all.into_iter().zip(sizes) {
            self.scale_rs(ctx, d, rs, size)?;
        }
        Ok(())
    }

    /// Old sets beyond `revisionHistoryLimit`, oldest revision first, when
    /// they are scaled to zero and settled.
    fn cleanup(&mut self, ctx: &mut Ctx, d: &Deployment, sets: &Sets) -> Result<(), ApiError> {
        let limit = d.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0) as usize;
        let mut cleanable: Vec<&ReplicaSet> = sets.old.iter().map(|rs| &**rs).filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        if cleanable.len() <= limit {
            return Ok(());
        }
        let diff = cleanable.len() - limit;
        cleanable.sort_stable_by(|a, b| revision(a).cmp(&revision(b)).then_with(|| created(a).cmp(&created(b))));
        for rs in cleanable.into_iter().take(diff) {
            let st = rs.status.clone().unwrap_or_default();
            if st.replicas != 0 || rs_replicas(rs) != 0 || rs.metadata.generation > st.observed_generation {
                continue;
            }
            let ns = rs.metadata.namespace.as_deref().unwrap_or("");
            let opts = DeleteOptions { precondition_uid: rs.metadata.uid.clone(), ..Default::default() };
            match ctx.api.delete(ids::replica_sets(), ns, rs_name(rs), &opts) {
                Ok(_) => ctx.log(format!("deleted old replica set {ns}/{}", rs_name(rs))),
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `DeploymentComplete` against the freshly computed status.
    fn complete(&self, d: &Deployment, sets: &Sets) -> bool {
        let s = self.calculate_status(d, sets, VirtualTime::ZERO);
        let want = replicas(d);
        s.updated_replicas.unwrap_or(0) == want
            && s.replicas.unwrap_or(0) == want
            && s.available_replicas.unwrap_or(0) == want
            && s.observed_generation >= d.metadata.generation
    }

    fn calculate_status(&self, d: &Deployment, sets: &Sets, now: VirtualTime) -> DeploymentStatus {
        let all = sets.all();
        let available: i32 = all.iter().map(|rs| rs_status(rs).2).sum();
        let total: i32 = all.iter().map(|rs| rs_replicas(rs)).sum();
        let mut status = d.status.clone().unwrap_or_default();
        status.observed_generation = d.metadata.generation;
        status.replicas = util::nonzero(all.iter().map(|rs| rs_status(rs).0).sum());
        status.updated_replicas = util::nonzero(sets.new.as_ref().map_or(0, |n| rs_status(n).0));
        status.ready_replicas = util::nonzero(all.iter().map(|rs| rs_status(rs).1).sum());
        status.available_replicas = util::nonzero(available);
        status.unavailable_replicas = util::nonzero((total - available).max(0));
        if available >= replicas(d) - max_unavailable(d) {
            set_condition(&mut status, new_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into(), now));
        } else {
            set_condition(&mut status, new_condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.".into(), now));
        }
        status
    }

    fn sync_status_only(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, sets: &Sets) -> Result<(), ApiError> {
        let status = self.calculate_status(d, sets, ctx.now);
        self.write_status(ctx, d, status)
    }

    /// Status plus the Progressing condition; asks to come back at the
    /// progress deadline while the rollout is under way.
    fn sync_rollout_status(&mut self, ctx: &mut Ctx, d: &mut Held<Deployment>, sets: &Sets) -> Result<Option<VirtualTime>, ApiError> {
        let mut next = self.calculate_status(d, sets, ctx.now);
        let deadline = progress_deadline(d);
        if deadline.is_none() {
            remove_condition(&mut next, "Progressing");
        }
        let no_status = DeploymentStatus::default();
        let old = d.status.as_ref().unwrap_or(&no_status);
        let current = condition(old, "Progressing");
        let complete_before = next.replicas == next.updated_replicas && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        let new_name = sets.new.as_ref().map(|n| rs_name(n).to_string());
        let want = replicas(d);
        if let Some(deadline) = deadline.filter(|_| !complete_before) {
            let complete = next.updated_replicas.unwrap_or(0) == want
                && next.replicas.unwrap_or(0) == want
                && next.available_replicas.unwrap_or(0) == want
                && next.observed_generation >= d.metadata.generation;
            let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
            let new_old = next.replicas.unwrap_or(0) - next.updated_replicas.unwrap_or(0);
            let progressing = next.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
                || new_old < old_old
                || next.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
                || next.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0);
            let timed_out = match &current {
                None => false,
                Some(c) if c.reason.as_deref() == Some(NEW_RS_AVAILABLE) => false,
                Some(c) if c.reason.as_deref() == Some(TIMED_OUT) => true,
                Some(c) => c.last_update_time.as_ref().is_some_and(|t| meta::virtual_of(t).plus_secs(deadline as u64) < ctx.now),
            };
            if complete {
                let msg = match &new_name {
                    Some(n) => ["ReplicaSet \"", n, "\" has successfully progressed."].concat(),
                    None => "Deployment has successfully progressed.".to_string(),
                };
                set_condition(&mut next, new_condition("Progressing", "True", NEW_RS_AVAILABLE, msg, ctx.now));
            } else if progressing {
                let msg = match &new_name {
                    Some(n) => ["ReplicaSet \"", n, "\" is progressing."].concat(),
                    None => "Deployment is progressing.".to_string(),
                };
                let mut cond = new_condition("Progressing", "True", RS_UPDATED, msg, ctx.now);
                if let Some(c) = current.as_ref().filter(|c| c.status == "True") {
                    cond.last_transition_time = c.last_transition_time.clone();
                }
                // Progress refreshes lastUpdateTime even with the same reason.
                remove_condition(&mut next, "Progressing");
                set_condition(&mut next, cond);
            } else if timed_out {
                let msg = match &new_name {
                    Some(n) => format!("ReplicaSet \"{n}\" has timed out progressing."),
                    None => format!("Deployment \"{}\" has timed out progressing.", d.metadata.name.as_deref().unwrap_or("")),
                };
                set_condition(&mut next, new_condition("Progressing", "False", TIMED_OUT, msg, ctx.now));
            }
        }
        // A ReplicaSet that cannot create pods makes the deployment report it.
        let failure = sets.all().into_iter().find_map(|rs| {
            rs.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "ReplicaFailure" && c.status == "True").cloned()
        });
        match failure {
            Some(f) => set_condition(
                &mut next,
                DeploymentCondition {
                    type_: "ReplicaFailure".into(),
                    status: f.status,
                    reason: f.reason,
                    message: f.message,
                    last_update_time: Some(meta::api_time(ctx.now)),
                    last_transition_time: f.last_transition_time,
                },
            ),
            None => remove_condition(&mut next, "ReplicaFailure"),
        }
        let requeue = self.stuck_requeue(d, &next, ctx.now);
        if d.status.as_ref() != Some(&next) {
            self.write_status(ctx, d, next)?;
        }
        Ok(requeue)
    }

    /// When to look again for the progress deadline (`requeueStuckDeployment`).
    fn stuck_requeue(&self, d: &Deployment, status: &DeploymentStatus, now: VirtualTime) -> Option<VirtualTime> {
        let deadline = progress_deadline(d)?;
        let cond = condition(status, "Progressing")?;
        if matches!(cond.reason.as_deref(), Some(NEW_RS_AVAILABLE) | Some(TIMED_OUT)) {
            return None;
        }
        let want = replicas(d);
        if status.updated_replicas.unwrap_or(0) == want && status.replicas.unwrap_or(0) == want && status.available_replicas.unwrap_or(0) == want {
            return None;
        }
        let at = meta::virtual_of(cond.last_update_time.as_ref()?).plus_secs(deadline as u64).plus_millis(1000);
        Some(at.max(now.plus_millis(1)))
    }
}

/// Sets desired-replicas and max-replicas; whether anything changed.
fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired.to_string()), (MAX_REPLICAS, max.to_string())] {
        if annotations.get(k) != Some(&v) {
            annotations.insert(k.to_string(), v);
            changed = true;
        }
    }
    changed
}

impl Reconciler for DeploymentController {
    fn name(&self) -> &str {
        "deployment-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::deployments()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::deployments(), ids::replica_sets(), ids::pods()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        self.handle_events(cache, changes);
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync_one(ctx, cache, key)
    }
    fn forget(&mut self) {
        self.recorder.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::controllers::testkit::{self, events_for, live_pods, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};

    fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
        k8s_openapi::api::apps::v1::Deployment {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), name.into())])), ..Default::default() },
                template: template(name, image),
                ..Default::default()
            }),
            status: None,
        }
        .into()
    }

    #[test]
    fn templates_are_equal_but_for_the_hash_label() {
        // What `EqualIgnoreHash` does: copy both metadata, drop the label, compare.
        fn by_copies(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
            fn strip(m: Option<&ObjectMeta>) -> Option<ObjectMeta> {
                let mut m = m.cloned().unwrap_or_default();
                if let Some(labels) = m.labels.as_mut() {
                    labels.remove(POD_TEMPLATE_HASH);
                    if labels.is_empty() {
                        m.labels = None;
                    }
                }
                (m != ObjectMeta::default()).then_some(m)
            }
            a.spec == b.spec && strip(a.metadata.as_ref()) == strip(b.metadata.as_ref())
        }
        let labels = |pairs: &[(&str, &str)]| Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
        let with = |labels: Option<BTreeMap<String, String>>, annotations: Option<BTreeMap<String, String>>| {
            let mut t = template("web", "nginx");
            t.metadata = Some(ObjectMeta { labels, annotations, ..Default::default() });
            t
        };
        let mut no_meta = template("web", "nginx");
        no_meta.metadata = None;
        let other_image = template("web", "nginx:1.27");
        let templates = [
            no_meta,
            with(None, None),
            with(labels(&[]), None),
            with(labels(&[(POD_TEMPLATE_HASH, "abc")]), None),
            with(labels(&[(POD_TEMPLATE_HASH, "xyz")]), None),
            with(labels(&[("app", "web")]), None),
            with(labels(&[("app", "web"), (POD_TEMPLATE_HASH, "abc")]), None),
            with(labels(&[("app", "web"), ("tier", "a")]), None),
            with(labels(&[("app", "web"), (POD_TEMPLATE_HASH, "abc")]), labels(&[("note", "x")])),
            with(labels(&[("app", "web")]), labels(&[("note", "x")])),
            with(None, labels(&[])),
            template("web", "nginx"),
            other_image,
        ];
        for a in &templates {
            for b in &templates {
                assert_eq!(equal_ignore_hash(a, b), by_copies(a, b), "{a:?} against {b:?}");
            }
        }
    }

    fn get(sim: &Sim, name: &str) -> Deployment {
        match &*sim.api.get(ids::deployments(), "default", name).expect("deployment") {
            Object::Deployment(d) => *d.clone(),
            _ => unreachable!(),
        }
    }

    fn replica_sets(sim: &Sim) -> Vec<ReplicaSet> {
        let (items, _) = sim.api.list(&Query::in_namespace(ids::replica_sets(), "default")).expect("list");
        items.iter().filter_map(|o| if let Object::ReplicaSet(r) = &**o { Some((**r).clone()) } else { None }).collect()
    }

    fn edit(sim: &mut Sim, name: &str, f: impl Fn(&mut Deployment)) {
        sim.api
            .modify(ids::deployments(), "default", name, false, |o| {
                if let Object::Deployment(d) = o {
                    f(d);
                }
                true
            })
            .expect("edit");
    }

    fn set_image(sim: &mut Sim, name: &str, image: &str) {
        edit(sim, name, |d| {
            if let Some(c) = d.spec_mut_if_any().and_then(|s| s.template.spec.as_mut()).and_then(|s| s.containers.first_mut()) {
                c.image = Some(image.into());
            }
        });
    }

    /// The hash of the deployment's template as stored (defaulted by the API server).
    fn stored_hash(sim: &Sim, name: &str) -> String {
        template_hash(&get(sim, name).spec.unwrap().template, None)
    }

    fn cond(d: &Deployment, type_: &str) -> (String, String, String) {
        let c = d.status.as_ref().and_then(|s| condition(s, type_)).cloned().unwrap_or_default();
        (c.status, c.reason.unwrap_or_default(), c.message.unwrap_or_default())
    }

    #[test]
    fn template_hash_text_is_the_templates_own_encoding() {
        // The hash is taken over the JSON value's text; it must be the text
        // serde writes for the typed template (what Kubernetes hashes), field
        // order included, for a template using many fields.
        let template: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web", "Tier": "front"}, "annotations": {"b": "1", "a": "2"}},
            "spec": {
                "hostIPC": true, "hostNetwork": false, "hostPID": true, "hostUsers": false, "hostname": "h",
                "setHostnameAsFQDN": true, "shareProcessNamespace": true, "subdomain": "s",
                "terminationGracePeriodSeconds": 5, "dnsPolicy": "ClusterFirst", "nodeSelector": {"disk": "ssd"},
                "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}},
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1,
                    "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}}]}},
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}],
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
                "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
                "containers": [{
                    "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP", "hostIP": "0.0.0.0"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
                    "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P_"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
                    "livenessProbe": {"httpGet": {"path": "/", "port": "http", "httpHeaders": [{"name": "X", "value": "y"}]},
                        "initialDelaySeconds": 3, "periodSeconds": 10},
                    "readinessProbe": {"tcpSocket": {"port": 80}},
                    "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                    "securityContext": {"readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true, "subPath": "x"}],
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
                }],
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "c", "readOnly": true}},
                    {"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420, "items": [{"key": "k", "path": "p"}]}},
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                    {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
                    {"name": "proj", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                        {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}}
                ]
            }
        }))
        .expect("template");
        let typed = serde_json::to_string(&template).expect("typed text");
        let through_value = serde_json::to_string(&serde_json::to_value(&template).expect("value")).expect("value text");
        assert_eq!(typed, through_value);
    }

    #[test]
    fn hash_uses_the_safe_alphabet() {
        let h = template_hash(&template("web", "nginx"), None);
        assert!((8..=10).contains(&h.len()), "{h}");
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{h}");
        assert_ne!(h, template_hash(&template("web", "nginx"), Some(1)));
        assert_eq!(h, template_hash(&template("web", "nginx"), None));
    }

    #[test]
    fn creates_a_replica_set_and_becomes_available() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Deployment(Box::new(deployment("web", 3, "nginx:1.27")))).expect("create");
        sim.run_for_ms(10_000);
        let sets = replica_sets(&sim);
        assert_eq!(sets.len(), 1);
        let rs = &sets[0];
        let hash = stored_hash(&sim, "web");
        assert_eq!(rs_name(rs), format!("web-{hash}"));
        let ann = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!((ann[REVISION].as_str(), ann[DESIRED_REPLICAS].as_str(), ann[MAX_REPLICAS].as_str()), ("1", "3", "4"));
        assert_eq!(rs.spec.as_ref().unwrap().selector.match_labels.as_ref().unwrap()[POD_TEMPLATE_HASH], hash);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 3);
        assert!(pods.iter().all(|p| p.metadata.labels.as_ref().unwrap()[POD_TEMPLATE_HASH] == hash));
        assert!(pods.iter().all(|p| p.metadata.name.as_ref().unwrap().starts_with(&format!("web-{hash}-"))));
        let d = get(&sim, "web");
        let st = d.status.clone().unwrap();
        assert_eq!((st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas, st.unavailable_replicas), (Some(3), Some(3), Some(3), Some(3), None));
        assert_eq!(st.observed_generation, Some(1));
        assert_eq!(annotation(&d.metadata, REVISION), Some("1"));
        assert_eq!(cond(&d, "Available"), ("True".into(), "MinimumReplicasAvailable".into(), "Deployment has minimum availability.".into()));
        assert_eq!(cond(&d, "Progressing"), ("True".into(), NEW_RS_AVAILABLE.into(), format!("ReplicaSet \"web-{hash}\" has successfully progressed.")));
        let types: Vec<_> = st.conditions.unwrap().iter().map(|c| c.type_.clone()).collect();
        assert_eq!(types, vec!["Available", "Progressing"]);
        assert_eq!(events_for(&sim, "web"), vec![("ScalingReplicaSet".to_string(), format!("Scaled up replica set web-{hash} from 0 to 3"))]);
    }

    #[test]
    fn rolling_update_respects_surge_and_unavailability() {
        let mut sim = testkit::sim();
        let mut d = deployment("web", 4, "nginx:1.27");
        d.spec_mut().strategy = Some(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment { max_surge: Some(IntOrString::Int(1)), max_unavailable: Some(IntOrString::Int(1)) }),
        });
        sim.api.create(Object::Deployment(Box::new(d))).expect("create");
        sim.run_for_ms(10_000);
        set_image(&mut sim, "web", "nginx:1.28");
        let new_hash = stored_hash(&sim, "web");
        for _ in 0..300 {
            sim.run_for_ms(100);
            let sets = replica_sets(&sim);
            let desired: i32 = sets.iter().map(rs_replicas).sum();
            assert!(desired <= 5, "at most replicas + maxSurge: {desired}");
            let ready = live_pods(&sim, "default").iter().filter(|p| util::is_ready(p)).count();
            assert!(ready >= 3, "at least replicas - maxUnavailable ready: {ready}");
        }
        let sets = replica_sets(&sim);
        assert_eq!(sets.len(), 2);
        let new = sets.iter().find(|r| rs_name(r).ends_with(&new_hash)).expect("new rs");
        let old = sets.iter().find(|r| !rs_name(r).ends_with(&new_hash)).expect("old rs");
        assert_eq!((rs_replicas(new), rs_replicas(old)), (4, 0));
        assert_eq!(annotation(&new.metadata, REVISION), Some("2"));
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 4);
        assert!(pods.iter().all(|p| p.metadata.labels.as_ref().unwrap()[POD_TEMPLATE_HASH] == new_hash));
        let d = get(&sim, "web");
        assert_eq!(annotation(&d.metadata, REVISION), Some("2"));
        assert_eq!(cond(&d, "Progressing").1, NEW_RS_AVAILABLE);
        let events = events_for(&sim, "web");
        assert!(events.contains(&("ScalingReplicaSet".into(), format!("Scaled up replica set web-{new_hash} from 0 to 1"))), "{events:?}");
        assert!(events.iter().any(|(_, m)| m.starts_with("Scaled down replica set ") && m.ends_with(" from 4 to 3")), "{events:?}");
    }

    #[test]
    fn recreate_stops_old_pods_before_starting_new_ones() {
        let mut sim = testkit::sim();
        let mut d = deployment("web", 3, "nginx:1.27");
        d.spec_mut().strategy = Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None });
        sim.api.create(Object::Deployment(Box::new(d))).expect("create");
        sim.run_for_ms(10_000);
        let old_hash = stored_hash(&sim, "web");
        set_image(&mut sim, "web", "nginx:1.28");
        let new_hash = stored_hash(&sim, "web");
        for _ in 0..200 {
            sim.run_for_ms(100);
            let pods = testkit::pods(&sim, "default");
            let old = pods.iter().filter(|p| p.metadata.labels.as_ref().unwrap()[POD_TEMPLATE_HASH] == old_hash).count();
            assert!(old == 0 || old == pods.len(), "old and new pods together");
        }
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 3);
        assert!(pods.iter().all(|p| p.metadata.labels.as_ref().unwrap()[POD_TEMPLATE_HASH] == new_hash));
        assert_eq!(get(&sim, "web").status.unwrap().available_replicas, Some(3));
    }

    #[test]
    fn rollback_reuses_the_old_replica_set() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Deployment(Box::new(deployment("web", 2, "nginx:1.27")))).expect("create");
        sim.run_for_ms(10_000);
        let first = format!("web-{}", stored_hash(&sim, "web"));
        set_image(&mut sim, "web", "nginx:1.28");
        sim.run_for_ms(30_000);
        set_image(&mut sim, "web", "nginx:1.27");
        sim.run_for_ms(30_000);
        let sets = replica_sets(&sim);
        assert_eq!(sets.len(), 2);
        let rs = sets.iter().find(|r| rs_name(r) == first).expect("first rs");
        assert_eq!(rs_replicas(rs), 2);
        assert_eq!(annotation(&rs.metadata, REVISION), Some("3"));
        assert_eq!(annotation(&rs.metadata, REVISION_HISTORY), Some("1"));
        assert_eq!(annotation(&get(&sim, "web").metadata, REVISION), Some("3"));
    }

    #[test]
    fn scaling_and_history_limit() {
        let mut sim = testkit::sim();
        let mut d = deployment("web", 2, "v1");
        d.spec_mut().revision_history_limit = Some(1);
        sim.api.create(Object::Deployment(Box::new(d))).expect("create");
        sim.run_for_ms(10_000);
        edit(&mut sim, "web", |d| d.spec_mut().replicas = Some(5));
        sim.run_for_ms(10_000);
        let hash = stored_hash(&sim, "web");
        assert!(events_for(&sim, "web").contains(&("ScalingReplicaSet".into(), format!("Scaled up replica set web-{hash} from 2 to 5"))));
        assert_eq!(live_pods(&sim, "default").len(), 5);
        for image in ["v2", "v3", "v4"] {
            set_image(&mut sim, "web", image);
            sim.run_for_ms(40_000);
        }
        let sets = replica_sets(&sim);
        assert_eq!(sets.len(), 2, "{:?}", sets.iter().map(rs_name).collect::<Vec<_>>());
        assert_eq!(live_pods(&sim, "default").len(), 5);
    }

    #[test]
    fn paused_deployment_does_not_roll_out() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Deployment(Box::new(deployment("web", 2, "v1")))).expect("create");
        sim.run_for_ms(10_000);
        edit(&mut sim, "web", |d| d.spec_mut().paused = Some(true));
        set_image(&mut sim, "web", "v2");
        sim.run_for_ms(10_000);
        assert_eq!(replica_sets(&sim).len(), 1);
        assert_eq!(cond(&get(&sim, "web"), "Progressing"), ("Unknown".into(), PAUSED.into(), "Deployment is paused".into()));
        edit(&mut sim, "web", |d| d.spec_mut().paused = None);
        sim.run_for_ms(30_000);
        assert_eq!(replica_sets(&sim).len(), 2);
        assert_eq!(cond(&get(&sim, "web"), "Progressing").1, NEW_RS_AVAILABLE);
    }

    #[test]
    fn progress_deadline_is_reported() {
        let mut manager_sim = testkit::sim();
        let sim = &mut manager_sim;
        let mut d = deployment("web", 2, "v1");
        d.spec_mut().progress_deadline_seconds = Some(10);
        sim.api.create(Object::Deployment(Box::new(d))).expect("create");
        sim.run_for_ms(10_000);
        set_image(sim, "web", "broken");
        let hash = stored_hash(sim, "web");
        // The fake kubelet never starts pods of a `broken` image.
        sim.run_for_ms(30_000);
        let d = get(sim, "web");
        assert_eq!(cond(&d, "Progressing"), ("False".into(), TIMED_OUT.into(), format!("ReplicaSet \"web-{hash}\" has timed out progressing.")));
        assert_eq!(cond(&d, "Available").0, "True");
    }
}
