//! The garbage collector (`pkg/controller/garbagecollector`): deletes
//! objects whose owners are gone (background), deletes an owner's
//! dependents before the owner when it carries the `foregroundDeletion`
//! finalizer, and strips ownerReferences from dependents when the owner
//! carries the `orphan` finalizer.
//!
//! The ownership graph is the shared informers' owner-uid index; only kinds
//! that own or are owned in this engine are watched. An owner missing from
//! the caches is confirmed with a live read before anything is deleted.
//! Custom resources join as `GarbageCollector.Sync` finds them in discovery:
//! at the start and then every 30 s, a resource served since the last look
//! gets a monitor (an informer) and one no longer served loses it.

use std::any::Any;
use std::collections::BTreeSet;
use std::rc::Rc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::engine::api::{ids, resource, resource_for_kind, ApiError, Object, ObjectKey, Reason, ResourceId, RESOURCES};
use crate::engine::apiserver::events::{EventRecorder, WARNING};
use crate::engine::apiserver::{DeleteOptions, Propagation, WatchEventType};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::{Cache, Changes, Controller};

pub const FOREGROUND: &str = crate::engine::apiserver::FOREGROUND_FINALIZER;
pub const ORPHAN: &str = crate::engine::apiserver::ORPHAN_FINALIZER;

/// How often the collector asks discovery for new resources
/// (kube-controller-manager's `garbageCollector.Sync(..., 30*time.Second)`).
pub const DISCOVERY_SYNC_PERIOD_MS: u64 = 30_000;

/// The kinds the collector watches (asked on every controller-manager run):
/// as `GetDeletableResources` finds them, every kind that can be listed,
/// watched and deleted, so an owner reference on any of them is acted on.
/// Events are left out (nothing here owns them, and they are most of a busy
/// cluster's writes), and Leases (README: a node's Lease outlives its Node).
pub fn watched() -> &'static [ResourceId] {
    static WATCHED: std::sync::OnceLock<Vec<ResourceId>> = std::sync::OnceLock::new();
    WATCHED.get_or_init(|| {
        let skipped = [ids::events(), ids::events_v1(), ids::leases(), ids::component_statuses()];
        (0..RESOURCES.len()).map(|i| ResourceId(i as u16)).filter(|rid| !skipped.contains(rid)).collect()
    })
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Work {
    /// Delete the object if its owners are gone, or finish a foreground deletion.
    AttemptToDelete(ResourceId, ObjectKey),
    /// Strip ownerReferences to this owner from its dependents.
    Orphan(ResourceId, ObjectKey),
}

pub struct GarbageCollector {
    queue: WorkQueue<Work>,
    primed: bool,
    recorder: EventRecorder,
    /// Dependents seen referring to an owner in another namespace, with that
    /// owner's uid: the graph builder reports each once, as the reference
    /// joins the graph (again after a restart).
    invalid_namespace_refs: BTreeSet<(String, String)>,
    /// The references found since the last run, to report as it ends.
    to_report: Vec<(ObjectReference, String)>,
    /// The custom resources it monitors, as its last discovery sync found
    /// them served, in id order.
    custom_monitors: Vec<ResourceId>,
    /// When its discovery sync loop started (it looks again every
    /// `DISCOVERY_SYNC_PERIOD_MS` from there).
    discovery_started: Option<VirtualTime>,
}

impl Default for GarbageCollector {
    fn default() -> Self {
        Self::new()
    }
}

fn has_finalizer(obj: &Object, name: &str) -> bool {
    obj.meta().finalizers.iter().flatten().any(|f| f == name)
}

fn deleting_dependents(obj: &Object) -> bool {
    obj.meta().deletion_timestamp.is_some() && has_finalizer(obj, FOREGROUND)
}

impl GarbageCollector {
    pub fn new() -> Self {
        GarbageCollector { queue: WorkQueue::default(), primed: false, recorder: EventRecorder::new("garbage-collector-controller", None), invalid_namespace_refs: BTreeSet::new(), to_report: Vec::new(), custom_monitors: Vec::new(), discovery_started: None }
    }

    /// Queues what an object's state asks of the collector.
    fn observe(&mut self, cache: &Cache, rid: ResourceId, obj: &Object) {
        let m = obj.meta();
        if m.deletion_timestamp.is_some() {
            if has_finalizer(obj, ORPHAN) {
                self.queue.add(Work::Orphan(rid, ObjectKey::of(obj)));
            }
            if has_finalizer(obj, FOREGROUND) {
                self.queue.add(Work::AttemptToDelete(rid, ObjectKey::of(obj)));
                return;
            }
        }
        // Owners absent from the caches, deleting their dependents first or
        // found under other coordinates (`addDependentToOwners`: another
        // namespace, name or kind) need a closer look; everything else is
        // left alone cheaply.
        let mut needs_look = false;
        for r in m.owner_references.iter().flatten() {
            let Some((owner_rid, owner)) = cache.find_owner(r) else {
                needs_look = true;
                continue;
            };
            let om = owner.meta();
            let owner_namespace = om.namespace.as_deref().unwrap_or("");
            let namespace = m.namespace.as_deref().unwrap_or("");
            if !owner_namespace.is_empty() && owner_namespace != namespace {
                self.report_invalid_namespace(rid, m, r);
                needs_look = true;
            } else if om.deletion_timestamp.is_some() || om.name.as_deref() != Some(r.name.as_str()) || resource(owner_rid).kind != r.kind {
                needs_look = true;
            }
        }
        if needs_look {
            self.queue.add(Work::AttemptToDelete(rid, ObjectKey::of(obj)));
        }
    }

    /// `reportInvalidNamespaceOwnerRef`: a dependent naming an owner that
    /// lives in another namespace gets a Warning, once.
    fn report_invalid_namespace(&mut self, rid: ResourceId, m: &ObjectMeta, r: &OwnerReference) {
        let uid = m.uid.clone().unwrap_or_default();
        if !self.invalid_namespace_refs.insert((uid.clone(), r.uid.clone())) {
            return;
        }
        let namespace = m.namespace.clone().unwrap_or_default();
        let owner = format!("[{}/{}, namespace: {namespace}, name: {}, uid: {}]", r.api_version, r.kind, r.name, r.uid);
        // A namespace name needs no escaping in Go's `%q`.
        let message = format!("ownerRef {owner} does not exist in namespace \"{namespace}\"");
        let res = resource(rid);
        let api_version = if res.group.is_empty() { res.version.to_string() } else { format!("{}/{}", res.group, res.version) };
        let reference = ObjectReference { api_version: Some(api_version), kind: Some(res.kind.to_string()), name: m.name.clone(), namespace: m.namespace.clone().filter(|n| !n.is_empty()), uid: Some(uid), ..Default::default() };
        self.to_report.push((reference, message));
    }

    /// `Sync`: at each tick of its period, monitors exactly the custom
    /// resources discovery lists now. A change seen between ticks waits
    /// for the next one (a wake-up then); none asks for nothing.
    fn sync_discovery(&mut self, ctx: &mut Ctx, cache: &Cache) {
        let Some(started) = self.discovery_started else { return };
        let served = crate::engine::api::custom::served();
        let mut found: Vec<ResourceId> = served.resources.iter().map(|r| r.id).collect();
        found.sort();
        found.dedup();
        if found == self.custom_monitors {
            return;
        }
        let into_period = ctx.now.millis_since(started) % DISCOVERY_SYNC_PERIOD_MS;
        if into_period == 0 {
            let added: Vec<ResourceId> = found.iter().copied().filter(|rid| !self.custom_monitors.contains(rid)).collect();
            self.custom_monitors = found;
            // The first look comes with priming, which looked at every object already.
            if ctx.now > started {
                self.relook_at_dependents_of(cache, &added);
            }
        } else {
            ctx.wake_at(ctx.now.plus_millis(DISCOVERY_SYNC_PERIOD_MS - into_period));
        }
    }

    /// A cached object owned by an object of a newly monitored kind may
    /// have lost that owner while nothing watched it: 1.33 finds out by
    /// retrying the owner's virtual node in the graph until a read says it
    /// is gone; here the dependents are looked at again once the kind's
    /// monitor starts.
    fn relook_at_dependents_of(&mut self, cache: &Cache, kinds: &[ResourceId]) {
        if kinds.is_empty() {
            return;
        }
        let monitored: Vec<ResourceId> = self.monitored().collect();
        for rid in monitored {
            for o in cache.of(rid).items() {
                let of_kinds = o.meta().owner_references.iter().flatten().any(|r| resource_for_kind(&r.api_version, &r.kind).is_some_and(|owner| kinds.contains(&owner)));
                if of_kinds {
                    self.queue.add(Work::AttemptToDelete(rid, ObjectKey::of(o)));
                }
            }
        }
    }

    /// Every resource it watches now: the built-in ones, then its custom monitors.
    fn monitored(&self) -> impl Iterator<Item = ResourceId> + '_ {
        watched().iter().copied().chain(self.custom_monitors.iter().copied())
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        let monitored: Vec<ResourceId> = self.monitored().collect();
        for rid in monitored {
            for ev in changes.of(rid) {
                match ev.kind {
                    WatchEventType::Deleted => {
                        let uid = ev.object.meta().uid.clone().unwrap_or_default();
                        for (dep_rid, dep) in cache.dependents_of(&uid) {
                            self.queue.add(Work::AttemptToDelete(dep_rid, ObjectKey::of(&dep)));
                        }
                        // An owner waiting for this dependent can now finish.
                        for r in ev.object.meta().owner_references.iter().flatten() {
                            if let Some((owner_rid, owner)) = cache.find_uid(&r.uid) {
                                if deleting_dependents(owner) {
                                    self.queue.add(Work::AttemptToDelete(owner_rid, ObjectKey::of(owner)));
                                }
                            }
                        }
                    }
                    _ => self.observe(cache, rid, &ev.object),
                }
            }
        }
    }

    fn process(&mut self, ctx: &mut Ctx, cache: &Cache, work: &Work) -> Result<Option<VirtualTime>, ApiError> {
        match work {
            Work::AttemptToDelete(rid, key) => self.attempt_to_delete(ctx, cache, *rid, key),
            Work::Orphan(rid, key) => self.orphan_dependents(ctx, cache, *rid, key),
        }
        .map(|_| None)
    }

    fn attempt_to_delete(&mut self, ctx: &mut Ctx, cache: &Cache, rid: ResourceId, key: &ObjectKey) -> Result<(), ApiError> {
        let obj = match ctx.api.get(rid, &key.namespace, &key.name) {
            Ok(o) => o,
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let uid = obj.meta().uid.clone().unwrap_or_default();
        if obj.meta().deletion_timestamp.is_some() {
            if has_finalizer(&obj, FOREGROUND) {
                return self.process_deleting_dependents(ctx, cache, rid, &obj, &uid);
            }
            return Ok(());
        }
        let refs = obj.meta().owner_references.clone().unwrap_or_default();
        if refs.is_empty() {
            return Ok(());
        }
        let mut solid = 0;
        let mut remove: Vec<String> = Vec::new();
        let mut waiting = 0;
        for r in &refs {
            let Some(owner_rid) = resource_for_kind(&r.api_version, &r.kind) else {
                // An owner kind this cluster does not serve: leave the dependent be.
                solid += 1;
                continue;
            };
            if resource(owner_rid).namespaced && !resource(rid).namespaced {
                // namespacedOwnerOfClusterScopedObjectErr: an owner reference
                // has no namespace to look in, so the item is left as it is.
                return Ok(());
            }
            let ns = if resource(owner_rid).namespaced { &*key.namespace } else { "" };
            match ctx.api.get(owner_rid, ns, &r.name) {
                Ok(owner) if owner.meta().uid.as_deref() == Some(r.uid.as_str()) => {
                    if deleting_dependents(&owner) {
                        waiting += 1;
                        remove.push(r.uid.clone());
                    } else {
                        solid += 1;
                    }
                }
                Ok(_) => remove.push(r.uid.clone()),
                Err(e) if e.reason == Reason::NotFound => remove.push(r.uid.clone()),
                Err(e) => return Err(e),
            }
        }
        if solid > 0 {
            if remove.is_empty() {
                return Ok(());
            }
            // Another owner still holds it: only the dead references go.
            let dep_uid = uid.clone();
            ctx.api.modify(rid, &key.namespace, &key.name, false, |o| {
                let m = o.meta_mut();
                if m.uid.as_deref() != Some(dep_uid.as_str()) {
                    return false;
                }
                let Some(list) = m.owner_references.as_mut() else { return false };
                let before = list.len();
                list.retain(|r| !remove.contains(&r.uid));
                before != list.len()
            })?;
            return Ok(());
        }
        let propagation = if waiting > 0 && !cache.dependents_of(&uid).is_empty() {
            Propagation::Foreground
        } else if has_finalizer(&obj, ORPHAN) {
            Propagation::Orphan
        } else if has_finalizer(&obj, FOREGROUND) {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        let opts = DeleteOptions { propagation: Some(propagation), precondition_uid: Some(uid), ..Default::default() };
        match ctx.api.delete(rid, &key.namespace, &key.name, &opts) {
            Ok(_) => {
                ctx.log(format!("garbage collected {} {key}", resource(rid).kind));
                Ok(())
            }
            Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Foreground deletion: the owner goes once no dependent that blocks
    /// owner deletion is left.
    fn process_deleting_dependents(&mut self, ctx: &mut Ctx, cache: &Cache, rid: ResourceId, obj: &Rc<Object>, uid: &str) -> Result<(), ApiError> {
        let dependents = cache.dependents_of(uid);
        let blocking = dependents
            .iter()
            .filter(|(_, d)| d.meta().owner_references.iter().flatten().any(|r| r.uid == uid && r.block_owner_deletion == Some(true)))
            .count();
        if blocking == 0 {
            let key = ObjectKey::of(obj);
            let owner_uid = uid.to_string();
            ctx.api.modify(rid, &key.namespace, &key.name, false, |o| {
                if o.meta().uid.as_deref() != Some(owner_uid.as_str()) {
                    return false;
                }
                let Some(f) = o.meta_mut().finalizers.as_mut() else { return false };
                let before = f.len();
                f.retain(|x| x != FOREGROUND);
                before != f.len()
            })?;
            return Ok(());
        }
        for (dep_rid, dep) in dependents {
            if !deleting_dependents(&dep) && dep.meta().deletion_timestamp.is_none() {
                self.queue.add(Work::AttemptToDelete(dep_rid, ObjectKey::of(&dep)));
            }
        }
        Ok(())
    }

    /// Orphan deletion: dependents lose their reference to the owner, then
    /// the owner loses its `orphan` finalizer and goes.
    fn orphan_dependents(&mut self, ctx: &mut Ctx, cache: &Cache, rid: ResourceId, key: &ObjectKey) -> Result<(), ApiError> {
        let obj = match ctx.api.get(rid, &key.namespace, &key.name) {
            Ok(o) => o,
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if obj.meta().deletion_timestamp.is_none() || !has_finalizer(&obj, ORPHAN) {
            return Ok(());
        }
        let uid = obj.meta().uid.clone().unwrap_or_default();
        for (dep_rid, dep) in cache.dependents_of(&uid) {
            let dk = ObjectKey::of(&dep);
            let result = ctx.api.modify(dep_rid, &dk.namespace, &dk.name, false, |o| {
                let m = o.meta_mut();
                let Some(list) = m.owner_references.as_mut() else { return false };
                let before = list.len();
                list.retain(|r| r.uid != uid);
                let changed = before != list.len();
                if list.is_empty() {
                    m.owner_references = None;
                }
                changed
            });
            match result {
                Ok(_) => {}
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        ctx.api.modify(rid, &key.namespace, &key.name, false, |o| {
            if o.meta().uid.as_deref() != Some(uid.as_str()) {
                return false;
            }
            let Some(f) = o.meta_mut().finalizers.as_mut() else { return false };
            let before = f.len();
            f.retain(|x| x != ORPHAN);
            before != f.len()
        })?;
        ctx.log(format!("orphaned the dependents of {} {key}", resource(rid).kind));
        Ok(())
    }
}

impl Controller for GarbageCollector {
    fn name(&self) -> &str {
        "garbage-collector-controller"
    }
    fn watches(&self) -> Vec<ResourceId> {
        watched().to_vec()
    }
    fn custom_watches(&self) -> &[ResourceId] {
        &self.custom_monitors
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(watched()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            // After a (re)start the whole graph is new: look at everything once.
            self.primed = true;
            self.discovery_started.get_or_insert(ctx.now);
            let monitored: Vec<ResourceId> = self.monitored().collect();
            for rid in monitored {
                for o in cache.of(rid).items() {
                    self.observe(cache, rid, o);
                }
            }
        } else {
            self.handle_events(cache, changes);
        }
        self.sync_discovery(ctx, cache);
        for (reference, message) in std::mem::take(&mut self.to_report) {
            self.recorder.record_ref(ctx.api, reference, WARNING, "OwnerRefInvalidNamespace", message);
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, work| self.process(ctx, cache, work));
        // Work queued while processing (dependents to delete) joins the rest.
        let mut added = std::mem::replace(&mut self.queue, queue);
        while let Some(w) = added.pop(VirtualTime::from_millis(u64::MAX)) {
            self.queue.add(w);
        }
        self.queue.schedule_wake(ctx);
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.primed = false;
        self.invalid_namespace_refs.clear();
        self.to_report.clear();
        self.custom_monitors.clear();
        self.discovery_started = None;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::controllers::testkit::{self, live_pods, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use std::collections::BTreeMap;

    fn deploy(sim: &mut Sim, name: &str, replicas: i32) {
        let d = Deployment {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), name.into())])), ..Default::default() },
                template: template(name, "nginx"),
                ..Default::default()
            }),
            status: None,
        };
        sim.api.create(Object::Deployment(Box::new(d.into()))).expect("create");
        sim.run_for_ms(10_000);
        assert_eq!(live_pods(sim, "default").len(), replicas as usize);
    }

    fn count(sim: &Sim, rid: ResourceId) -> usize {
        sim.api.list(&Query::in_namespace(rid, "default")).expect("list").0.len()
    }

    fn delete(sim: &mut Sim, rid: ResourceId, name: &str, propagation: Propagation) {
        sim.api.delete(rid, "default", name, &DeleteOptions { propagation: Some(propagation), ..Default::default() }).expect("delete");
    }

    #[test]
    fn background_deletion_removes_dependents() {
        let mut sim = testkit::sim();
        deploy(&mut sim, "web", 3);
        delete(&mut sim, ids::deployments(), "web", Propagation::Background);
        sim.run_for_ms(10_000);
        assert_eq!(count(&sim, ids::replica_sets()), 0);
        assert_eq!(count(&sim, ids::pods()), 0);
    }

    #[test]
    fn orphan_deletion_keeps_pods_without_owner_references() {
        let mut sim = testkit::sim();
        deploy(&mut sim, "web", 2);
        let rs = sim.api.list(&Query::in_namespace(ids::replica_sets(), "default")).expect("list").0[0].clone();
        let rs_name = rs.meta().name.clone().unwrap();
        delete(&mut sim, ids::deployments(), "web", Propagation::Orphan);
        sim.run_for_ms(5_000);
        assert_eq!(count(&sim, ids::deployments()), 0);
        assert_eq!(count(&sim, ids::replica_sets()), 1);
        delete(&mut sim, ids::replica_sets(), &rs_name, Propagation::Orphan);
        sim.run_for_ms(5_000);
        assert_eq!(count(&sim, ids::replica_sets()), 0);
        let pods = live_pods(&sim, "default");
        assert_eq!(pods.len(), 2);
        assert!(pods.iter().all(|p| p.metadata.owner_references.as_ref().is_none_or(|r| r.is_empty())));
    }

    #[test]
    fn foreground_deletion_removes_pods_before_the_owner() {
        let mut sim = testkit::sim();
        deploy(&mut sim, "web", 3);
        delete(&mut sim, ids::deployments(), "web", Propagation::Foreground);
        let mut saw_owner_waiting = false;
        for _ in 0..100 {
            sim.run_for_ms(100);
            let owner = sim.api.get(ids::deployments(), "default", "web").ok();
            let pods = count(&sim, ids::pods());
            match owner {
                Some(d) => {
                    assert!(d.meta().deletion_timestamp.is_some());
                    saw_owner_waiting |= pods > 0;
                }
                None => assert_eq!(pods, 0, "the owner went before its pods"),
            }
        }
        assert!(saw_owner_waiting);
        assert_eq!(count(&sim, ids::deployments()), 0);
        assert_eq!(count(&sim, ids::replica_sets()), 0);
    }

    #[test]
    fn dependents_of_a_missing_owner_are_collected_after_restart() {
        let mut sim = testkit::sim();
        deploy(&mut sim, "web", 2);
        sim.stop("controller-manager").expect("stop");
        // With the collector down, the owner goes without cascading.
        sim.api.delete(ids::deployments(), "default", "web", &DeleteOptions::default()).expect("delete");
        sim.run_for_ms(5_000);
        assert_eq!(count(&sim, ids::replica_sets()), 1);
        sim.start("controller-manager").expect("start");
        sim.run_for_ms(10_000);
        assert_eq!(count(&sim, ids::replica_sets()), 0);
        assert_eq!(count(&sim, ids::pods()), 0);
    }
}
