//! kube-controller-manager: one component that runs every controller.
//! Each controller lives in its own file and talks to the cluster only
//! through informers and API requests.

use std::any::Any;

use crate::engine::sim::{Component, Ctx};

/// One control loop inside the controller manager.
pub trait Controller {
    /// `deployment-controller`, as its events' source says.
    fn name(&self) -> &str;
    /// Sync what changed; ask `ctx` for a wake-up when work is timed.
    fn run(&mut self, ctx: &mut Ctx);
    /// The process restarted: forget caches and queues.
    fn reset(&mut self);
    fn as_any(&self) -> &dyn Any;
}

pub struct ControllerManager {
    controllers: Vec<Box<dyn Controller>>,
}

impl ControllerManager {
    pub fn new(controllers: Vec<Box<dyn Controller>>) -> Self {
        ControllerManager { controllers }
    }

    /// The controllers a 1.33 kube-controller-manager runs that this engine models.
    pub fn standard() -> Self {
        Self::new(vec![])
    }

    pub fn controller(&self, name: &str) -> Option<&dyn Controller> {
        self.controllers.iter().find(|c| c.name() == name).map(|c| &**c)
    }
}

impl Component for ControllerManager {
    fn name(&self) -> &str {
        "controller-manager"
    }
    fn run(&mut self, ctx: &mut Ctx) {
        for c in &mut self.controllers {
            c.run(ctx);
        }
    }
    fn on_stop(&mut self) {
        for c in &mut self.controllers {
            c.reset();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
