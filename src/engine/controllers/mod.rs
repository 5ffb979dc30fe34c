//! kube-controller-manager: one component that runs every controller.
//! Each controller lives in its own file and talks to the cluster only
//! through the shared informers and API requests, as in Kubernetes:
//! informers feed a work queue of keys, and a sync handles one key at a
//! time, idempotently, recomputing status from what it sees.

pub mod cache;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod garbage_collector;
pub mod job;
pub mod namespace;
pub mod node_lifecycle;
pub mod queue;
pub mod replicaset;
pub mod serviceaccount;
#[cfg(test)]
mod testkit;
pub mod util;

use std::any::Any;
use std::collections::BTreeSet;

use crate::engine::api::ResourceId;
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
    fn as_any(&self) -> &dyn Any;
}

pub struct ControllerManager {
    controllers: Vec<Box<dyn Controller>>,
    cache: Cache,
}

impl ControllerManager {
    pub fn new(controllers: Vec<Box<dyn Controller>>) -> Self {
        let mut cache = Cache::default();
        let wanted: BTreeSet<ResourceId> = controllers.iter().flat_map(|c| c.watches()).collect();
        for rid in wanted {
            cache.ensure(rid);
        }
        ControllerManager { controllers, cache }
    }

    /// The controllers a 1.33 kube-controller-manager runs that this engine models.
    pub fn standard() -> Self {
        Self::new(vec![
            // First, so a namespace's `default` ServiceAccount exists before
            // any controller of this same instant creates pods in it.
            Box::new(serviceaccount::NamespaceDefaults::new(serviceaccount::Publishes::DefaultServiceAccount)),
            Box::new(serviceaccount::NamespaceDefaults::new(serviceaccount::Publishes::RootCa)),
            Box::new(replicaset::ReplicaSetController::new(replicaset::Kind::ReplicaSet)),
            Box::new(replicaset::ReplicaSetController::new(replicaset::Kind::ReplicationController)),
            Box::new(deployment::DeploymentController::new()),
            Box::new(job::JobController::new()),
            Box::new(endpoints::EndpointsController::new(endpoints::Publishes::Endpoints)),
            Box::new(endpoints::EndpointsController::new(endpoints::Publishes::EndpointSlices)),
            Box::new(garbage_collector::GarbageCollector::new()),
            Box::new(namespace::NamespaceController::new()),
            Box::new(node_lifecycle::NodeLifecycleController::new()),
            Box::new(disruption::DisruptionController::new()),
        ])
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
        let changes = self.cache.sync(ctx);
        for c in &mut self.controllers {
            c.sync(ctx, &self.cache, &changes);
        }
    }
    fn on_stop(&mut self) {
        self.cache.reset();
        for c in &mut self.controllers {
            c.reset();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
