//! kube-scheduler.

use std::any::Any;

use crate::engine::sim::{Component, Ctx};

#[derive(Default)]
pub struct Scheduler {}

impl Scheduler {
    pub fn new() -> Self {
        Scheduler::default()
    }
}

impl Component for Scheduler {
    fn name(&self) -> &str {
        "scheduler"
    }
    fn run(&mut self, _ctx: &mut Ctx) {}
    fn as_any(&self) -> &dyn Any {
        self
    }
}
