//! kube-controller-manager: one component that runs every controller.
//! Each controller lives in its own file and talks to the cluster only
//! through the shared informers and API requests, as in Kubernetes:
//! informers feed a work queue of keys, and a sync handles one key at a
//! time, idempotently, recomputing status from what it sees.

pub mod cache;
pub mod clusterrole_aggregation;
pub mod cron_job;
pub mod daemon_set;
pub mod daemon_set_state;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice_mirroring;
pub mod ephemeral_volume;
pub mod garbage_collector;
pub mod history;
pub mod horizontal_pod_autoscaler;
pub mod job;
pub mod namespace;
pub mod node_lifecycle;
pub mod persistent_volume;
pub mod pods_by_claim;
pub mod pv_protection;
pub mod pvc_protection;
pub mod pod_control;
pub mod pod_gc;
pub mod queue;
pub mod replicaset;
pub mod resource_quota;
pub mod serviceaccount;
pub mod tokens;
pub mod stateful_set;
pub mod ttl_after_finished;
pub mod certificates;
#[cfg(test)]
mod testkit;
pub mod util;
pub mod volume_expand;

use std::any::Any;
use std::collections::BTreeSet;

use crate::engine::api::{ApiError, ObjectKey, Reason, ResourceId};
use crate::engine::informer::Informer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

pub use cache::{Cache, Changes};

/// One control loop inside the controller manager.
pub trait Controller {
    /// `deployment-controller`, as its events' source says.
    fn name(&self) -> &str;
    /// Resources whose shared informers this controller reads.
    fn watches(&self) -> Vec<ResourceId> {
        Vec::new()
    }
    /// Custom resources whose shared informers it reads now, beyond
    /// `watches` (the garbage collector's monitors, found by discovery).
    fn custom_watches(&self) -> &[ResourceId] {
        &[]
    }
    /// Sync what changed. `changes` holds what the shared informers
    /// delivered since the last run; `cache` is their state after it.
    /// Controllers that keep their own informers implement [`Controller::run`] instead.
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let _ = (cache, changes);
        self.run(ctx);
    }
    /// Sync what changed; ask `ctx` for a wake-up when work is timed.
    fn run(&mut self, _ctx: &mut Ctx) {}
    /// The process restarted: forget caches and queues.
    fn reset(&mut self);
    /// Caches of its own, beside the shared informers.
    fn informers(&self) -> Vec<&Informer> {
        Vec::new()
    }
    fn as_any(&self) -> &dyn Any;
}

/// The work queue and priming state of a [`Reconciler`].
#[derive(Default)]
pub struct WorkLoop {
    pub queue: queue::WorkQueue,
    primed: bool,
}

impl WorkLoop {
    pub fn clear(&mut self) {
        self.queue.clear();
        self.primed = false;
    }
}

/// A controller in Kubernetes' usual shape: informer events only queue
/// keys, and a worker reconciles one key at a time, idempotently. Every
/// such controller shares one prologue ([`queue::primed`]) and drain.
pub trait Reconciler: 'static {
    /// The event source, e.g. `statefulset-controller`.
    fn name(&self) -> &str;
    /// The kind whose objects are the queue's keys; all are queued after a (re)start.
    fn kind(&self) -> ResourceId;
    /// Every resource whose shared informer it reads.
    fn watches(&self) -> Vec<ResourceId>;
    fn work(&mut self) -> &mut WorkLoop;
    /// Queues the keys that what changed concerns.
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, now: VirtualTime);
    /// Syncs one key; may ask to be called again at an instant.
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError>;
    /// Work that is not one key's, after the queue was drained.
    fn after_drain(&mut self, _ctx: &mut Ctx, _cache: &Cache) {}
    /// The process restarted: forget everything but the queue, which [`WorkLoop::clear`] empties.
    fn forget(&mut self);
}

impl<R: Reconciler> Controller for R {
    fn name(&self) -> &str {
        Reconciler::name(self)
    }
    fn watches(&self) -> Vec<ResourceId> {
        Reconciler::watches(self)
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let watches = Reconciler::watches(self);
        let kind = self.kind();
        let work = self.work();
        if !queue::primed(&mut work.primed, &mut work.queue, cache, &watches, kind) {
            return;
        }
        self.enqueue(cache, changes, ctx.now);
        let mut pending = std::mem::take(&mut self.work().queue);
        queue::drain(&mut pending, ctx, |ctx, key| match self.reconcile(ctx, cache, key) {
            // The object went meanwhile: its deletion arrives as an event.
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            other => other,
        });
        // Keys queued while draining join the rest.
        let added = std::mem::replace(&mut self.work().queue, pending);
        self.work().queue.absorb(added);
        self.after_drain(ctx, cache);
        self.work().queue.schedule_wake(ctx);
    }
    fn reset(&mut self) {
        self.work().clear();
        self.forget();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct ControllerManager {
    controllers: Vec<Box<dyn Controller>>,
    cache: Cache,
    /// `--leader-elect=true`: the controllers start only once it holds
    /// the `kube-system/kube-controller-manager` Lease.
    elector: Option<crate::engine::leader_election::LeaderElector>,
}

impl ControllerManager {
    pub fn new(controllers: Vec<Box<dyn Controller>>) -> Self {
        let mut cache = Cache::default();
        let wanted: BTreeSet<ResourceId> = crate::engine::sort::insert_all(controllers.iter().flat_map(|c| c.watches()));
        for rid in wanted {
            cache.ensure(rid);
        }
        ControllerManager { controllers, cache, elector: None }
    }

    /// The controllers a 1.33 kube-controller-manager runs that this engine models.
    pub fn standard() -> Self {
        Self::new(vec![
            // First, so a namespace's `default` ServiceAccount exists before
            // any controller of this same instant creates pods in it.
            Box::new(serviceaccount::NamespaceDefaults::new(serviceaccount::Publishes::DefaultServiceAccount)),
            Box::new(serviceaccount::NamespaceDefaults::new(serviceaccount::Publishes::RootCa)),
            Box::new(tokens::TokensController::new()),
            Box::new(replicaset::ReplicaSetController::new(replicaset::Kind::ReplicaSet)),
            Box::new(replicaset::ReplicaSetController::new(replicaset::Kind::ReplicationController)),
            Box::new(deployment::DeploymentController::new()),
            Box::new(stateful_set::StatefulSetController::new()),
            Box::new(daemon_set::DaemonSetController::new()),
            Box::new(job::JobController::new()),
            Box::new(cron_job::CronJobController::new()),
            Box::new(ttl_after_finished::TtlAfterFinishedController::new()),
            Box::new(endpoints::EndpointsController::new(endpoints::Publishes::Endpoints)),
            Box::new(endpoints::EndpointsController::new(endpoints::Publishes::EndpointSlices)),
            Box::new(endpointslice_mirroring::EndpointSliceMirroringController::new()),
            Box::new(garbage_collector::GarbageCollector::new()),
            Box::new(namespace::NamespaceController::new()),
            Box::new(node_lifecycle::NodeLifecycleController::new()),
            Box::new(disruption::DisruptionController::new()),
            Box::new(ephemeral_volume::EphemeralVolumeController::new()),
            Box::new(persistent_volume::PersistentVolumeController::new()),
            Box::new(pvc_protection::PvcProtectionController::new()),
            Box::new(pv_protection::PvProtectionController::new()),
            Box::new(volume_expand::VolumeExpandController::new()),
            Box::new(pod_gc::PodGarbageCollector::new()),
            Box::new(horizontal_pod_autoscaler::HorizontalPodAutoscalerController::new()),
            Box::new(resource_quota::ResourceQuotaController::new()),
            Box::new(clusterrole_aggregation::ClusterRoleAggregationController::new()),
            Box::new(certificates::CsrApprovingController::new()),
            Box::new(certificates::CsrSigningController::new()),
        ])
    }

    /// Elects a leader through the `kube-system/kube-controller-manager`
    /// Lease before starting the controllers; a stopped one does not
    /// release it (no `ReleaseOnCancel`), so its next start waits it out.
    pub fn with_leader_election(mut self, host: &str) -> Self {
        self.elector = Some(crate::engine::leader_election::LeaderElector::new("kube-controller-manager", host, crate::engine::leader_election::Recorder::Core(crate::engine::apiserver::events::EventRecorder::new("kube-controller-manager", None)), 0x6c65_6164_6572_0002, false));
        self
    }

    pub fn controller(&self, name: &str) -> Option<&dyn Controller> {
        self.controllers.iter().find(|c| c.name() == name).map(|c| &**c)
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }
}

impl Component for ControllerManager {
    fn name(&self) -> &str {
        "controller-manager"
    }
    fn run(&mut self, ctx: &mut Ctx) {
        // Its informers and controllers start once it leads.
        if let Some(elector) = &mut self.elector {
            if !elector.lead(ctx) {
                return;
            }
        }
        let changes = self.cache.sync(ctx);
        for c in &mut self.controllers {
            c.sync(ctx, &self.cache, &changes);
        }
        let custom: BTreeSet<ResourceId> = self.controllers.iter().flat_map(|c| c.custom_watches().iter().copied()).collect();
        if self.cache.keep_custom(&custom, ctx.api) {
            // A new informer lists on the next run, at this same instant.
            ctx.wake_at(ctx.now);
        }
    }
    fn leftovers(&mut self) -> Vec<Box<dyn crate::engine::sim::leftovers::Release>> {
        self.cache.leftovers()
    }
    fn on_terminate(&mut self, ctx: &mut Ctx) {
        if let Some(elector) = &mut self.elector {
            elector.stopped(ctx.api, ctx.now);
        }
    }
    fn on_stop(&mut self) {
        self.cache.reset();
        for c in &mut self.controllers {
            c.reset();
        }
    }
    fn informers(&self) -> Vec<&Informer> {
        let mut out = self.cache.informers();
        for c in &self.controllers {
            out.extend(c.informers());
        }
        out
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
