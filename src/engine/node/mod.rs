//! Node agents: kubelet, kube-proxy and the simulated container runtime.

pub mod images;
pub mod runtime;
pub mod shell;

use std::any::Any;

use crate::engine::cluster::NodeSpec;
use crate::engine::sim::{Component, Ctx};

pub struct Kubelet {
    name: String,
    pub spec: NodeSpec,
}

impl Kubelet {
    pub fn new(spec: NodeSpec) -> Self {
        Kubelet { name: format!("kubelet/{}", spec.name), spec }
    }
}

impl Component for Kubelet {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&mut self, _ctx: &mut Ctx) {}
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct KubeProxy {
    name: String,
}

impl KubeProxy {
    pub fn new(node: &str) -> Self {
        KubeProxy { name: format!("kube-proxy/{node}") }
    }
}

impl Component for KubeProxy {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&mut self, _ctx: &mut Ctx) {}
    fn as_any(&self) -> &dyn Any {
        self
    }
}
