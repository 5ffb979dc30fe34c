//! The ReplicaSet controller (`pkg/controller/replicaset`), which also runs
//! ReplicationControllers as Kubernetes does: keep `spec.replicas` active
//! pods matching the selector, adopting orphans and releasing pods that no
//! longer match, and report what it sees in status.

use crate::engine::sort::SortStable;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::collections::{BTreeMap, BTreeSet};
use rustc_hash::FxHashMap;
use std::iter::Peekable;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::{ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationControllerCondition, ReplicationControllerStatus};
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, ApiError, KeyRef, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::WatchEventType;
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::pod_control::{can_adopt, Expectations, PodControl};
use super::util;
use super::{Cache, Changes, Reconciler, WorkLoop};

/// Most pods created or deleted in one sync (`BurstReplicas`).
const BURST_REPLICAS: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ReplicaSet,
    ReplicationController,
}

impl Kind {
    fn resource(self) -> ResourceId {
        match self {
            Kind::ReplicaSet => ids::replica_sets(),
            Kind::ReplicationController => ids::replication_controllers(),
        }
    }
    fn kind_name(self) -> &'static str {
        match self {
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
        }
    }
}

/// What the controller needs of a ReplicaSet or ReplicationController.
struct View<'a> {
    uid: String,
    replicas: i32,
    min_ready_seconds: i32,
    selector: Selector,
    template: Option<&'a PodTemplateSpec>,
    generation: Option<i64>,
    deleting: bool,
    status: Status,
}

/// The status fields both kinds share.
#[derive(Clone, Debug, Default, PartialEq)]
struct Status {
    replicas: i32,
    fully_labeled: i32,
    ready: i32,
    available: i32,
    observed_generation: Option<i64>,
    /// `ReplicaFailure`: (status, reason, message, lastTransitionTime)
    failure: Option<(String, String, String, Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>)>,
}

fn view(obj: &Object) -> Option<View<'_>> {
    match obj {
        Object::ReplicaSet(rs) => {
            let spec = rs.spec.as_ref()?;
            let no_status = Default::default();
            let st = rs.status.as_ref().unwrap_or(&no_status);
            let failure = st.conditions.iter().flatten().find(|c| c.type_ == "ReplicaFailure").map(|c| {
                (c.status.clone(), c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default(), c.last_transition_time.clone())
            });
            Some(View {
                uid: rs.metadata.uid.clone().unwrap_or_default(),
                replicas: spec.replicas.unwrap_or(1),
                min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
                selector: Selector::from_api(&spec.selector),
                template: spec.template.as_ref(),
                generation: rs.metadata.generation,
                deleting: rs.metadata.deletion_timestamp.is_some(),
                status: Status {
                    replicas: st.replicas,
                    fully_labeled: st.fully_labeled_replicas.unwrap_or(0),
                    ready: st.ready_replicas.unwrap_or(0),
                    available: st.available_replicas.unwrap_or(0),
                    observed_generation: st.observed_generation,
                    failure,
                },
            })
        }
        Object::ReplicationController(rc) => {
            let spec = rc.spec.as_ref()?;
            let no_status = Default::default();
            let st = rc.status.as_ref().unwrap_or(&no_status);
            let failure = st.conditions.iter().flatten().find(|c| c.type_ == "ReplicaFailure").map(|c| {
                (c.status.clone(), c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default(), c.last_transition_time.clone())
            });
            // An RC without a selector selects its template's labels (API defaulting).
            let selector_map = spec
                .selector
                .clone()
                .or_else(|| spec.template.as_ref().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()))
                .unwrap_or_default();
            let mut selector = Selector::from_map(&selector_map);
            if selector_map.is_empty() {
                selector.selects_nothing = true;
            }
            Some(View {
                uid: rc.metadata.uid.clone().unwrap_or_default(),
                replicas: spec.replicas.unwrap_or(1),
                min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
                selector,
                template: spec.template.as_ref(),
                generation: rc.metadata.generation,
                deleting: rc.metadata.deletion_timestamp.is_some(),
                status: Status {
                    replicas: st.replicas,
                    fully_labeled: st.fully_labeled_replicas.unwrap_or(0),
                    ready: st.ready_replicas.unwrap_or(0),
                    available: st.available_replicas.unwrap_or(0),
                    observed_generation: st.observed_generation,
                    failure,
                },
            })
        }
        _ => None,
    }
}

fn write_status(obj: &mut Object, s: &Status) {
    match obj {
        Object::ReplicaSet(rs) => {
            let conditions: Vec<ReplicaSetCondition> = s
                .failure
                .iter()
                .map(|(status, reason, message, t)| ReplicaSetCondition {
                    type_: "ReplicaFailure".into(),
                    status: status.clone(),
                    reason: Some(reason.clone()),
                    message: Some(message.clone()),
                    last_transition_time: t.clone(),
                })
                .collect();
            let old = rs.status.take().unwrap_or_default();
            rs.status = Some(ReplicaSetStatus {
                replicas: s.replicas,
                fully_labeled_replicas: util::nonzero(s.fully_labeled),
                ready_replicas: util::nonzero(s.ready),
                available_replicas: util::nonzero(s.available),
                observed_generation: s.observed_generation,
                conditions: if conditions.is_empty() { None } else { Some(conditions) },
                ..old
            });
        }
        Object::ReplicationController(rc) => {
            let conditions: Vec<ReplicationControllerCondition> = s
                .failure
                .iter()
                .map(|(status, reason, message, t)| ReplicationControllerCondition {
                    type_: "ReplicaFailure".into(),
                    status: status.clone(),
                    reason: Some(reason.clone()),
                    message: Some(message.clone()),
                    last_transition_time: t.clone(),
                })
                .collect();
            rc.status = Some(ReplicationControllerStatus {
                replicas: s.replicas,
                fully_labeled_replicas: util::nonzero(s.fully_labeled),
                ready_replicas: util::nonzero(s.ready),
                available_replicas: util::nonzero(s.available),
                observed_generation: s.observed_generation,
                conditions: if conditions.is_empty() { None } else { Some(conditions) },
            });
        }
        _ => {}
    }
}

/// What a sync reads of one pod it controls, for the set's selector and
/// template labels.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PodFlags {
    active: bool,
    matches: bool,
    fully_labeled: bool,
    ready: bool,
    ready_since: Option<VirtualTime>,
}

impl PodFlags {
    fn of(pod: &Pod, selector: &Selector, template_labels: Option<&BTreeMap<String, String>>) -> Self {
        PodFlags {
            active: util::is_active(pod),
            matches: selector.matches(pod.metadata.labels.as_ref()),
            fully_labeled: util::has_all_labels(pod, template_labels),
            ready: util::is_ready(pod),
            ready_since: util::ready_since(pod),
        }
    }

    /// `util::is_available` of the pod these flags were read from.
    fn available(&self, min_ready_seconds: i32, now: VirtualTime) -> bool {
        self.ready && util::available_since(self.ready_since, min_ready_seconds, now)
    }

    /// `util::available_at` of the pod these flags were read from.
    fn available_at(&self, min_ready_seconds: i32) -> Option<VirtualTime> {
        util::available_after(self.ready_since, min_ready_seconds)
    }
}

/// The flags of every pod a set controlled at its last sync, with the pod
/// version they were read from, in key order. Every change of a pod the
/// set controls queues a sync, which re-reads only the pods whose version
/// changed: a status write of one pod no longer costs a pass of label and
/// condition lookups over all of the set's pods.
struct Tally {
    uid: String,
    selector: Selector,
    template_labels: Option<BTreeMap<String, String>>,
    pods: Vec<(Rc<Object>, PodFlags)>,
    /// The last sync found nothing to do but what it read: no pods to
    /// create, delete, release or adopt, nothing awaited, no error. Until
    /// the set or a flag of its pods changes, a sync would do nothing.
    settled: bool,
    /// A short hash of each pod's name → its place in `pods`, made when a
    /// settled set's pod first changes and dropped when `pods` is rebuilt:
    /// a binary search by key reads three or four pointers per probe, and
    /// every binding and status write of the set's pods looks its pod up.
    /// Names whose hashes collide are found by the binary search.
    places: FxHashMap<u32, u32>,
}

impl Tally {
    fn new(v: &View, template_labels: Option<&BTreeMap<String, String>>) -> Self {
        Tally {
            uid: v.uid.clone(),
            selector: v.selector.clone(),
            template_labels: template_labels.cloned(),
            pods: Vec::new(),
            settled: false,
            places: FxHashMap::default(),
        }
    }

    /// Where `object`'s pod is in `pods`, if it is there.
    fn place_of(&mut self, object: &Object) -> Option<usize> {
        if self.places.is_empty() {
            self.places.reserve(self.pods.len());
            for (i, (held, _)) in self.pods.iter().enumerate() {
                self.places.insert(name_hash(held), i as u32);
            }
        }
        let hinted = self.places.get(&name_hash(object)).map(|&i| i as usize);
        if let Some(i) = hinted.filter(|&i| self.pods.get(i).is_some_and(|(held, _)| key_order(held, object) == Ordering::Equal)) {
            return Some(i);
        }
        self.pods.binary_search_by(|(held, _)| key_order(held, object)).ok()
    }

    /// A settled set's pod changed without changing its flags (a binding,
    /// a status write that leaves readiness as it was): the new version
    /// takes its place, and no sync is needed. False if one may be.
    fn keep_unchanged(&mut self, object: &Rc<Object>, pod: &Pod) -> bool {
        if !self.settled {
            return false;
        }
        let Some(i) = self.place_of(object) else { return false };
        if PodFlags::of(pod, &self.selector, self.template_labels.as_ref()) != self.pods[i].1 {
            return false;
        }
        self.pods[i].0 = object.clone();
        true
    }

    /// Whether flags read for this set still hold (same set, selector and template labels).
    fn fits(&self, v: &View, template_labels: Option<&BTreeMap<String, String>>) -> bool {
        self.uid == v.uid && self.selector == v.selector && self.template_labels.as_ref() == template_labels
    }
}

/// The flags kept for `pod`'s version, if it is the one read last time.
/// `previous` is in key order, as the cache hands out controlled pods;
/// entries before `pod` are pods the set no longer controls. Holding the
/// version keeps it alive, so the same address is the same version.
fn kept_flags(previous: &mut Peekable<std::vec::IntoIter<(Rc<Object>, PodFlags)>>, pod: &Rc<Object>) -> Option<PodFlags> {
    while let Some((old, flags)) = previous.peek() {
        if Rc::ptr_eq(old, pod) {
            let flags = *flags;
            previous.next();
            return Some(flags);
        }
        match key_order(old, pod) {
            Ordering::Less => {
                previous.next();
            }
            Ordering::Equal => {
                previous.next();
                return None;
            }
            Ordering::Greater => return None,
        }
    }
    None
}

/// Updates `kept` to the versions in `current` (the same pods, in key
/// order) where they changed; false, part-way, if a pod differs. A pod
/// whose version is the one kept is not read at all: most of a set's pods
/// did not change since its last sync, and reading each would be a cold
/// load per pod on every sync.
fn refresh_in_place<'a>(
    kept: &mut [(Rc<Object>, PodFlags)],
    current: impl Iterator<Item = &'a Rc<Object>>,
    selector: &Selector,
    template_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    for (slot, o) in kept.iter_mut().zip(current) {
        if Rc::ptr_eq(&slot.0, o) {
            continue;
        }
        let Object::Pod(p) = &**o else { return false };
        if key_order(&slot.0, o) != Ordering::Equal {
            return false;
        }
        *slot = (o.clone(), PodFlags::of(p, selector, template_labels));
    }
    true
}

/// A short hash of an object's name, for `Tally::places`.
fn name_hash(object: &Object) -> u32 {
    let mut hasher = rustc_hash::FxHasher::default();
    object.meta().name.as_deref().unwrap_or("").hash(&mut hasher);
    hasher.finish() as u32
}

/// `ObjectKey` order without building the keys.
fn key_order(a: &Object, b: &Object) -> Ordering {
    fn key(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (&str, &str) {
        (m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""))
    }
    key(a.meta()).cmp(&key(b.meta()))
}

pub struct ReplicaSetController {
    kind: Kind,
    name: String,
    work: WorkLoop,
    expectations: Expectations,
    pods: PodControl,
    /// Per set, what its last sync read of its pods (never iterated).
    tallies: FxHashMap<ObjectKey, Tally>,
}

impl ReplicaSetController {
    pub fn new(kind: Kind) -> Self {
        let name = match kind {
            Kind::ReplicaSet => "replicaset-controller",
            Kind::ReplicationController => "replication-controller",
        };
        ReplicaSetController { kind, name: name.to_string(), work: WorkLoop::default(), expectations: Expectations::default(), pods: PodControl::new(name), tallies: FxHashMap::default() }
    }

    /// The owner of `pod` of this controller's kind, by controllerRef: its
    /// namespace, name and uid, borrowed (every pod event asks).
    fn owner_of<'a>(&self, pod: &'a Pod) -> Option<(&'a str, &'a str, &'a str)> {
        let owner = meta::controller_of(pod.metadata.owner_references.as_ref())?;
        if owner.kind != self.kind.kind_name() {
            return None;
        }
        Some((pod.metadata.namespace.as_deref().unwrap_or_default(), &owner.name, &owner.uid))
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        let rid = self.kind.resource();
        for ev in changes.of(rid) {
            let key = ObjectKey::of(&ev.object);
            if ev.kind == WatchEventType::Deleted {
                self.expectations.forget(&key);
                self.tallies.remove(&key);
            } else {
                self.work.queue.add(key);
            }
        }
        let owners = cache.of(rid);
        for ev in changes.of(ids::pods()) {
            let Object::Pod(pod) = &*ev.object else { continue };
            match self.owner_of(pod) {
                Some((namespace, name, uid)) => {
                    if owners.get_by_parts(namespace, name).is_some_and(|o| o.meta().uid.as_deref() == Some(uid)) {
                        let parts = (namespace, name);
                        let key: &dyn KeyRef = &parts;
                        match ev.kind {
                            WatchEventType::Added if pod.metadata.deletion_timestamp.is_none() => self.expectations.creation_observed(key),
                            _ if ev.kind == WatchEventType::Deleted || util::is_terminating(pod) => {
                                self.expectations.deletion_observed(key, pod.metadata.uid.as_deref().unwrap_or_default())
                            }
                            WatchEventType::Modified if !self.work.queue.is_queued(key) => {
                                if self.tallies.get_mut(key).is_some_and(|t| t.keep_unchanged(&ev.object, pod)) {
                                    continue;
                                }
                            }
                            _ => {}
                        }
                        if !self.work.queue.is_queued(key) {
                            self.work.queue.add(ObjectKey::new(namespace, name));
                        }
                    }
                }
                None if meta::controller_of(pod.metadata.owner_references.as_ref()).is_none() && ev.kind != WatchEventType::Deleted => {
                    // An orphan: every ReplicaSet whose selector matches may adopt it.
                    let ns = pod.metadata.namespace.clone().unwrap_or_default();
                    for owner in owners.in_namespace(&ns) {
                        if view(owner).is_some_and(|v| v.selector.matches(pod.metadata.labels.as_ref())) {
                            self.work.queue.add(ObjectKey::of(owner));
                        }
                    }
                }
                None => {}
            }
        }
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let rid = self.kind.resource();
        let Some(obj) = cache.of(rid).get(key).cloned() else {
            self.expectations.forget(key);
            self.tallies.remove(key);
            return Ok(None);
        };
        let Some(v) = view(&obj) else { return Ok(None) };
        let needs_sync = self.expectations.satisfied(key, ctx.now) && !v.deleting;
        let pods = cache.of(ids::pods());
        let template_labels = v.template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.as_ref());
        let mut tally = match self.tallies.remove(key) {
            Some(t) if t.fits(&v, template_labels) => t,
            _ => Tally::new(&v, template_labels),
        };
        let controlled = || pods.controlled_iter(&v.uid).filter_map(|o| if let Object::Pod(p) = &**o { Some((o, &**p)) } else { None });
        // Bring the tally up to date: in place while the set holds the same
        // pods (a status write replaced some of their versions), so the pods
        // that did not change are not touched at all; else merged afresh.
        let in_place = tally.pods.len() == pods.controlled_count(&v.uid) && refresh_in_place(&mut tally.pods, pods.controlled_iter(&v.uid), &v.selector, template_labels);
        if !in_place {
            tally.places.clear();
            let mut previous = std::mem::take(&mut tally.pods).into_iter().peekable();
            tally.pods = controlled()
                .map(|(o, p)| (o.clone(), kept_flags(&mut previous, o).unwrap_or_else(|| PodFlags::of(p, &v.selector, template_labels))))
                .collect();
        }
        if cfg!(debug_assertions) {
            let mut kept = tally.pods.iter();
            for (o, p) in controlled() {
                let held = kept.next();
                assert!(held.is_some_and(|(held, _)| Rc::ptr_eq(o, held)), "the tally of {key:?} is out of step with the cache");
                let flags = held.map(|(_, flags)| *flags);
                assert_eq!(flags, Some(PodFlags::of(p, &v.selector, template_labels)), "kept flags of pod {:?} differ from a fresh read", p.metadata.name);
            }
            assert!(kept.next().is_none(), "the tally of {key:?} holds pods the set no longer controls");
        }
        let mut settled = false;
        let result = self.sync_tallied(ctx, cache, key, &obj, &v, &tally.pods, needs_sync, &mut settled);
        tally.settled = settled && matches!(result, Ok(None));
        self.tallies.insert(key.clone(), tally);
        result
    }

    /// The rest of a sync, over the set's pods as its tally holds them
    /// (the versions the cache holds, in key order, with their flags): the
    /// second pass goes over the tally, not over the cache's tree again.
    #[allow(clippy::too_many_arguments)]
    fn sync_tallied(
        &mut self,
        ctx: &mut Ctx,
        cache: &Cache,
        key: &ObjectKey,
        obj: &Rc<Object>,
        v: &View,
        tallied: &[(Rc<Object>, PodFlags)],
        needs_sync: bool,
        settled: &mut bool,
    ) -> Result<Option<VirtualTime>, ApiError> {
        let rid = self.kind.resource();
        let pods = cache.of(ids::pods());
        let template_labels = v.template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.as_ref());
        let mut released = false;
        // Borrowed from the informer, and not read unless a deletion must
        // choose among them: the flags say the rest, and a sync must not
        // copy every pod, nor load each one.
        let mut active: Vec<&Rc<Object>> = Vec::with_capacity(tallied.len());
        let mut active_flags: Vec<PodFlags> = Vec::with_capacity(tallied.len());
        for (o, flags) in tallied {
            if !flags.active {
                continue;
            }
            if flags.matches {
                active.push(o);
                active_flags.push(*flags);
            } else if let Object::Pod(p) = &**o {
                self.pods.release(ctx, p, &v.uid);
                released = true;
            }
        }
        let mut adoptable: Vec<Pod> = Vec::new();
        if !v.deleting {
            for o in pods.orphans_in(&key.namespace) {
                let Object::Pod(p) = &*o else { continue };
                if util::is_active(p) && v.selector.matches(p.metadata.labels.as_ref()) {
                    adoptable.push((**p).clone());
                }
            }
        }
        let mut adopted: Vec<Pod> = Vec::new();
        if !adoptable.is_empty() && can_adopt(ctx, rid, key, &v.uid) {
            adopted = adoptable.iter().filter_map(|p| self.pods.adopt(ctx, obj, p)).collect();
        }
        for p in &adopted {
            active_flags.push(PodFlags::of(p, &v.selector, template_labels));
        }
        let active_count = active.len() + adopted.len();
        let mut failure: Option<ApiError> = None;
        *settled = needs_sync && !released && adoptable.is_empty() && active_count as i64 == v.replicas.max(0) as i64;
        if needs_sync {
            if let Err(e) = self.manage_replicas(ctx, cache, key, obj, v, &active, &adopted) {
                failure = Some(e);
            }
        }
        // Status is recomputed from what the informer sees.
        let mut next = Status {
            replicas: active_count as i32,
            fully_labeled: active_flags.iter().filter(|f| f.fully_labeled).count() as i32,
            ready: active_flags.iter().filter(|f| f.ready).count() as i32,
            available: active_flags.iter().filter(|f| f.available(v.min_ready_seconds, ctx.now)).count() as i32,
            observed_generation: v.generation,
            failure: v.status.failure.clone(),
        };
        match &failure {
            // `calculateStatus` sets the condition only when there is none:
            // each failed create names another pod, and a condition
            // rewritten with it would sync the ReplicaSet again at once.
            Some(e) if e.reason != Reason::ConnectionRefused => {
                if next.failure.is_none() {
                    let reason = if (active_count as i64) < v.replicas.max(0) as i64 { "FailedCreate" } else { "FailedDelete" };
                    next.failure = Some(("True".into(), reason.into(), e.message.clone(), Some(meta::api_time(ctx.now))));
                }
            }
            Some(_) => {}
            None => {
                if needs_sync {
                    next.failure = None;
                }
            }
        }
        if next != v.status {
            let written = ctx.api.modify(rid, &key.namespace, &key.name, true, |o| {
                if o.meta().uid.as_deref() != Some(v.uid.as_str()) {
                    return false;
                }
                write_status(o, &next);
                true
            });
            match written {
                Err(e) if e.reason == Reason::NotFound => return Ok(None),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        // Ready pods not yet available become so after minReadySeconds.
        let next_available = active_flags
            .iter()
            .filter(|f| f.ready && !f.available(v.min_ready_seconds, ctx.now))
            .filter_map(|f| f.available_at(v.min_ready_seconds))
            .min();
        // Waiting for creations or deletions that may never be seen: wake
        // when the expectations expire.
        let expiry = self.expectations.expires_at(key);
        Ok([next_available, expiry].into_iter().flatten().min())
    }

    /// `active` are the set's own active pods, `adopted` those it adopted in this sync.
    #[allow(clippy::too_many_arguments)]
    fn manage_replicas(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, obj: &Object, v: &View, active: &[&Rc<Object>], adopted: &[Pod]) -> Result<(), ApiError> {
        let diff = (active.len() + adopted.len()) as i64 - v.replicas.max(0) as i64;
        if diff < 0 {
            let want = ((-diff) as usize).min(BURST_REPLICAS);
            let Some(template) = v.template else { return Ok(()) };
            let owner_ref = util::controller_ref(obj);
            self.expectations.expect_creations(key, want, ctx.now);
            let prefix = format!("{}-", key.name);
            let (created, error) = self.pods.create_batch(ctx, obj, want, |_| util::pod_from_template(template, &key.namespace, &prefix, owner_ref.clone()));
            self.expectations.creation_failed(key, want - created);
            if let Some(e) = error {
                return Err(e);
            }
        } else if diff > 0 {
            let n = (diff as usize).min(BURST_REPLICAS);
            let active: Vec<&Pod> = active.iter().filter_map(|o| if let Object::Pod(p) = &***o { Some(&**p) } else { None }).chain(adopted).collect();
            let victims = self.pods_to_delete(cache, v, &active, n, ctx.now);
            let uids: BTreeSet<String> = crate::engine::sort::insert_all(victims.iter().filter_map(|p| p.metadata.uid.clone()));
            self.expectations.expect_deletions(key, uids, ctx.now);
            let mut error = None;
            for p in victims {
                if let Err(e) = self.pods.delete(ctx, obj, &p) {
                    self.expectations.deletion_observed(key, p.metadata.uid.as_deref().unwrap_or(""));
                    if e.reason != Reason::NotFound {
                        error = Some(e);
                    }
                }
            }
            if let Some(e) = error {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The `n` pods to delete first, ranked as Kubernetes ranks them; pods
    /// sharing a node with more of their siblings go first.
    fn pods_to_delete(&self, cache: &Cache, v: &View, active: &[&Pod], n: usize, now: VirtualTime) -> Vec<Pod> {
        if n >= active.len() {
            return active.iter().map(|p| (*p).clone()).collect();
        }
        // Related pods: this set's and its siblings' under the same controller.
        let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
        let owners = cache.of(self.kind.resource());
        let pods = cache.of(ids::pods());
        let owner_uid = owners
            .get_by_uid(&v.uid)
            .and_then(|o| meta::controller_of(o.meta().owner_references.as_ref()).map(|r| r.uid.clone()));
        let related_sets: Vec<String> = match owner_uid {
            Some(u) => owners.controlled_by(&u).iter().filter_map(|o| o.meta().uid.clone()).collect(),
            None => vec![v.uid.clone()],
        };
        for set in &related_sets {
            for o in pods.controlled_by(set) {
                if let Object::Pod(p) = &*o {
                    if util::is_active(p) {
                        *per_node.entry(util::node_name(p).to_string()).or_default() += 1;
                    }
                }
            }
        }
        let rank = |p: &Pod| {
            let node = util::node_name(p);
            if node.is_empty() {
                0
            } else {
                per_node.get(node).copied().unwrap_or(0)
            }
        };
        let mut ranked: Vec<(&Pod, usize)> = active.iter().map(|p| (*p, rank(p))).collect();
        ranked.sort_stable_by(|a, b| util::deletion_order(*a, *b, now));
        ranked.into_iter().take(n).map(|(p, _)| p.clone()).collect()
    }
}

impl Reconciler for ReplicaSetController {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ResourceId {
        self.kind.resource()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![self.kind.resource(), ids::pods()]
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
        self.expectations.clear();
        self.pods.reset();
        self.tallies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::DeleteOptions;
    use crate::engine::controllers::testkit::{self, events_for, live_pods, template};
    use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    fn tally_pod(name: &str, node: Option<&str>, ready: bool) -> (Rc<Object>, Pod) {
        let mut p = serde_json::json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        if let Some(node) = node {
            p["spec"]["nodeName"] = serde_json::json!(node);
        }
        let o = Rc::new(Object::from_json(ids::pods(), p).unwrap());
        let Object::Pod(pod) = &*o else { unreachable!() };
        let pod = (**pod).clone();
        (o, pod)
    }

    #[test]
    fn a_settled_set_keeps_a_pod_change_that_leaves_its_flags() {
        let selector = Selector::from_map(&BTreeMap::from([("app".to_string(), "web".to_string())]));
        let (a, a_pod) = tally_pod("a", None, false);
        let (b, b_pod) = tally_pod("b", None, false);
        let flags = |p: &Pod| PodFlags::of(p, &selector, None);
        let mut tally = Tally { uid: "rs".into(), selector: selector.clone(), template_labels: None, pods: vec![(a.clone(), flags(&a_pod)), (b.clone(), flags(&b_pod))], settled: false, places: FxHashMap::default() };
        let (b_bound, b_bound_pod) = tally_pod("b", Some("n1"), false);
        assert!(!tally.keep_unchanged(&b_bound, &b_bound_pod), "an unsettled set syncs");
        tally.settled = true;
        // A binding leaves the flags: the new version is kept in place.
        assert!(tally.keep_unchanged(&b_bound, &b_bound_pod));
        assert!(Rc::ptr_eq(&tally.pods[1].0, &b_bound));
        // Readiness changes a flag: the set syncs, and the tally is left for it.
        let (b_ready, b_ready_pod) = tally_pod("b", Some("n1"), true);
        assert!(!tally.keep_unchanged(&b_ready, &b_ready_pod));
        assert!(Rc::ptr_eq(&tally.pods[1].0, &b_bound));
        // A pod the tally does not hold syncs too.
        let (c, c_pod) = tally_pod("c", Some("n1"), false);
        assert!(!tally.keep_unchanged(&c, &c_pod));
    }

    #[test]
    fn a_pod_is_found_in_its_tally_by_its_name_whatever_the_places_say() {
        let selector = Selector::from_map(&BTreeMap::from([("app".to_string(), "web".to_string())]));
        let names = ["web-a", "web-b", "web-c", "web-d", "web-e"];
        let pods: Vec<(Rc<Object>, PodFlags)> = names
            .iter()
            .map(|n| {
                let (o, p) = tally_pod(n, None, false);
                (o, PodFlags::of(&p, &selector, None))
            })
            .collect();
        let mut tally = Tally { uid: "rs".into(), selector, template_labels: None, pods, settled: true, places: FxHashMap::default() };
        for (i, n) in names.iter().enumerate() {
            assert_eq!(tally.place_of(&tally_pod(n, Some("n1"), false).0), Some(i));
        }
        assert_eq!(tally.places.len(), names.len());
        assert_eq!(tally.place_of(&tally_pod("web-f", None, false).0), None);
        // A hash shared by two names points at one of them; the other is
        // still found (by key), and so is every pod after places go stale.
        let c = name_hash(&tally.pods[2].0);
        tally.places.insert(c, 0);
        assert_eq!(tally.place_of(&tally_pod("web-c", None, false).0), Some(2));
        for place in tally.places.values_mut() {
            *place = 4;
        }
        assert_eq!(tally.place_of(&tally_pod("web-b", None, false).0), Some(1));
        assert_eq!(tally.place_of(&tally_pod("web-e", None, false).0), Some(4));
    }

    fn replica_set(name: &str, replicas: i32) -> Object {
        Object::ReplicaSet(Box::new(ReplicaSet {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), name.into())])), ..Default::default() },
                template: Some(template(name, "nginx")),
                min_ready_seconds: None,
            }),
            status: None,
        }.into()))
    }

    fn rs_status(sim: &crate::engine::sim::Sim, name: &str) -> ReplicaSetStatus {
        match &*sim.api.get(ids::replica_sets(), "default", name).expect("rs") {
            Object::ReplicaSet(rs) => rs.status.clone().unwrap_or_default(),
            _ => unreachable!(),
        }
    }

    fn scale(sim: &mut crate::engine::sim::Sim, name: &str, replicas: i32) {
        sim.api
            .modify(ids::replica_sets(), "default", name, false, |o| {
                if let Object::ReplicaSet(rs) = o {
                    rs.spec_mut().replicas = Some(replicas);
                }
                true
            })
            .expect("scale");
    }

    #[test]
    fn creates_owned_pods_and_reports_status() {
        let mut sim = testkit::sim();
        sim.api.create(replica_set("web", 3)).expect("create");
        sim.run_for_ms(10_000);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 3);
        for p in &pods {
            let name = p.metadata.name.clone().unwrap();
            assert!(name.starts_with("web-") && name.len() == 9, "{name}");
            let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
            assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller, owner.block_owner_deletion), ("ReplicaSet", "web", Some(true), Some(true)));
            assert_eq!(p.metadata.labels.as_ref().unwrap()["app"], "web");
        }
        let st = rs_status(&sim, "web");
        assert_eq!((st.replicas, st.fully_labeled_replicas, st.ready_replicas, st.available_replicas, st.observed_generation), (3, Some(3), Some(3), Some(3), Some(1)));
        let events = events_for(&sim, "web");
        assert_eq!(events.iter().filter(|(r, m)| r == "SuccessfulCreate" && m.starts_with("Created pod: web-")).count(), 3);
    }

    #[test]
    fn heals_a_deleted_pod_and_scales() {
        let mut sim = testkit::sim();
        sim.api.create(replica_set("web", 3)).expect("create");
        sim.run_for_ms(10_000);
        let victim = live_pods(&sim, "default")[0].metadata.name.clone().unwrap();
        sim.api.delete(ids::pods(), "default", &victim, &DeleteOptions::default()).expect("delete");
        sim.run_for_ms(10_000);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 3);
        assert!(pods.iter().all(|p| p.metadata.name.as_deref() != Some(victim.as_str())));

        scale(&mut sim, "web", 5);
        sim.run_for_ms(10_000);
        assert_eq!(live_pods(&sim, "default").len(), 5);
        assert_eq!(rs_status(&sim, "web").ready_replicas, Some(5));

        scale(&mut sim, "web", 1);
        sim.run_for_ms(10_000);
        assert_eq!(testkit::pods(&sim, "default").len(), 1);
        let st = rs_status(&sim, "web");
        assert_eq!((st.replicas, st.observed_generation), (1, Some(3)));
        assert_eq!(events_for(&sim, "web").iter().filter(|(r, _)| r == "SuccessfulDelete").count(), 4);
    }

    #[test]
    fn scale_down_removes_unready_pods_first() {
        let mut sim = testkit::sim();
        sim.api.create(replica_set("web", 2)).expect("create");
        sim.run_for_ms(10_000);
        // A third pod that never gets ready is the one to go.
        scale(&mut sim, "web", 3);
        sim.run_for_ms(100);
        let newest = live_pods(&sim, "default")
            .into_iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase()) != Some("Running"))
            .and_then(|p| p.metadata.name)
            .expect("pending pod");
        scale(&mut sim, "web", 2);
        sim.run_for_ms(100);
        let names: Vec<_> = live_pods(&sim, "default").into_iter().filter_map(|p| p.metadata.name).collect();
        assert_eq!(names.len(), 2);
        assert!(!names.contains(&newest));
    }

    #[test]
    fn adopts_matching_orphans_and_releases_relabelled_pods() {
        let mut sim = testkit::sim();
        let orphan = util::pod_from_template(&template("web", "nginx"), "default", "", util::controller_ref(&replica_set("x", 1)));
        let mut orphan = orphan;
        orphan.metadata.owner_references = None;
        orphan.metadata.name = Some("stray".into());
        sim.api.create(Object::Pod(Box::new(orphan))).expect("pod");
        sim.api.create(replica_set("web", 2)).expect("create");
        sim.run_for_ms(10_000);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 2);
        let stray = pods.iter().find(|p| p.metadata.name.as_deref() == Some("stray")).expect("adopted");
        assert_eq!(meta::controller_of(stray.metadata.owner_references.as_ref()).map(|r| r.name.as_str()), Some("web"));

        sim.api
            .modify(ids::pods(), "default", "stray", false, |o| {
                o.meta_mut().labels = Some(BTreeMap::from([("app".into(), "debug".into())]));
                true
            })
            .expect("relabel");
        sim.run_for_ms(10_000);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 3);
        let stray = pods.iter().find(|p| p.metadata.name.as_deref() == Some("stray")).expect("kept");
        assert!(stray.metadata.owner_references.as_ref().is_none_or(|r| r.is_empty()));
    }

    #[test]
    fn resumes_after_controller_manager_restart() {
        let mut sim = testkit::sim();
        sim.api.create(replica_set("web", 2)).expect("create");
        sim.run_for_ms(10_000);
        sim.stop("controller-manager").expect("stop");
        scale(&mut sim, "web", 4);
        sim.run_for_ms(10_000);
        assert_eq!(live_pods(&sim, "default").len(), 2);
        sim.start("controller-manager").expect("start");
        sim.run_for_ms(10_000);
        assert_eq!(live_pods(&sim, "default").len(), 4);
        assert_eq!(rs_status(&sim, "web").available_replicas, Some(4));
    }

    #[test]
    fn reports_failed_creates() {
        // Alone, so no namespace controller empties the terminating namespace.
        let manager = crate::engine::controllers::ControllerManager::new(vec![Box::new(ReplicaSetController::new(Kind::ReplicaSet))]);
        let mut sim = testkit::sim_with(manager);
        // kube-system may not be deleted: a namespace of the test's own.
        let namespace: k8s_openapi::api::core::v1::Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "team"}})).expect("namespace");
        sim.api.create(Object::Namespace(Box::new(namespace))).expect("create namespace");
        let mut rs = replica_set("web", 2);
        if let Object::ReplicaSet(r) = &mut rs {
            r.metadata.namespace = Some("team".into());
        }
        sim.api.create(rs).expect("create");
        sim.api
            .delete(ids::namespaces(), "", "team", &DeleteOptions { propagation: Some(crate::engine::apiserver::Propagation::Orphan), ..Default::default() })
            .expect("terminate namespace");
        sim.run_for_ms(1_000);
        // The event itself cannot be written in a terminating namespace; the condition can.
        let rs = match &*sim.api.get(ids::replica_sets(), "team", "web").expect("rs") {
            Object::ReplicaSet(rs) => rs.clone(),
            _ => unreachable!(),
        };
        let conditions = rs.status.and_then(|s| s.conditions).unwrap_or_default();
        let failure = conditions.iter().find(|c| c.type_ == "ReplicaFailure").expect("ReplicaFailure");
        assert_eq!((failure.status.as_str(), failure.reason.as_deref()), ("True", Some("FailedCreate")));
        assert!(failure.message.as_deref().is_some_and(|m| m.contains("because it is being terminated")), "{failure:?}");
    }
}
