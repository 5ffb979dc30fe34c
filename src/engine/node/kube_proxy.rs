//! kube-proxy. Service routing is not modelled yet; the process only
//! announces itself once its Node exists, as the real one does at start-up.

use std::any::Any;

use k8s_openapi::api::core::v1::ObjectReference;

use crate::engine::api::ids;
use crate::engine::apiserver::events::{EventRecorder, NORMAL};
use crate::engine::sim::{Component, Ctx};

/// How often kube-proxy looks for its Node before it has started.
const WAIT_FOR_NODE_MS: u64 = 1_000;

pub struct KubeProxy {
    name: String,
    node: String,
    started: bool,
    recorder: EventRecorder,
}

impl KubeProxy {
    pub fn new(node: &str) -> Self {
        KubeProxy { name: format!("kube-proxy/{node}"), node: node.to_string(), started: false, recorder: EventRecorder::new("kube-proxy", Some(node)) }
    }
}

impl Component for KubeProxy {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, ctx: &mut Ctx) {
        if self.started {
            return;
        }
        if ctx.api.get(ids::nodes(), "", &self.node).is_err() {
            ctx.wake_after_ms(WAIT_FOR_NODE_MS);
            return;
        }
        self.started = true;
        ctx.log(format!("kube-proxy started on {} (iptables mode)", self.node));
        let node_ref = ObjectReference { kind: Some("Node".into()), name: Some(self.node.clone()), uid: Some(self.node.clone()), ..Default::default() };
        self.recorder.record_ref(ctx.api, node_ref, NORMAL, "Starting", String::new());
    }

    fn on_stop(&mut self) {
        self.started = false;
        self.recorder.reset();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
