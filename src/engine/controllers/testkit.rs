//! Test support: an API server and simulation with the controller manager,
//! and a stand-in kubelet that binds pods to a node, reports them Running
//! and Ready after a delay, and finishes graceful deletions.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, Namespace, NamespaceSpec, PodCondition, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, meta, Object, ObjectKey};
use crate::engine::apiserver::{ApiServer, DeleteOptions, Query};
use crate::engine::informer::Informer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx, Sim};

use super::ControllerManager;

/// Pods get Running and Ready this long after the fake kubelet first sees them.
pub const START_MS: u64 = 2_000;
/// Terminating pods are gone this long after their deletion was requested.
pub const STOP_MS: u64 = 1_000;

/// Pods of this image never start.
pub const BROKEN_IMAGE: &str = "broken";

pub struct FakeKubelet {
    pods: Informer,
    started: BTreeMap<ObjectKey, VirtualTime>,
    stopping: BTreeMap<ObjectKey, VirtualTime>,
    ips: u64,
    /// Whether pods are bound to `node-1` (else they stay unscheduled).
    pub bind: bool,
}

impl FakeKubelet {
    pub fn new() -> Self {
        FakeKubelet { pods: Informer::new(Query::all(ids::pods())), started: BTreeMap::new(), stopping: BTreeMap::new(), ips: 0, bind: true }
    }
}

impl Component for FakeKubelet {
    fn name(&self) -> &str {
        "fake-kubelet"
    }
    fn run(&mut self, ctx: &mut Ctx) {
        self.pods.sync(ctx);
        let pods: Vec<_> = self.pods.items().cloned().collect();
        for obj in pods {
            let Object::Pod(pod) = &*obj else { continue };
            let key = ObjectKey::of(&obj);
            let first_seen = *self.started.entry(key.clone()).or_insert(ctx.now);
            if pod.metadata.deletion_timestamp.is_some() {
                let since = *self.stopping.entry(key.clone()).or_insert(ctx.now);
                let due = since.plus_millis(STOP_MS);
                if ctx.now < due {
                    ctx.wake_at(due);
                } else {
                    let opts = DeleteOptions { grace_period_seconds: Some(0), ..Default::default() };
                    let _ = ctx.api.delete(ids::pods(), &key.namespace, &key.name, &opts);
                }
                continue;
            }
            let running = pod.status.as_ref().and_then(|s| s.phase()).is_some_and(|p| p != "Pending");
            let broken = pod.spec.iter().flat_map(|s| &s.containers).any(|c| c.image.as_deref() == Some(BROKEN_IMAGE));
            if running || broken {
                continue;
            }
            let due = first_seen.plus_millis(START_MS);
            if ctx.now < due {
                ctx.wake_at(due);
                continue;
            }
            if self.bind && pod.node_name().is_none() {
                let _ = ctx.api.bind(&key.namespace, &key.name, "node-1");
            }
            let now = meta::api_time(ctx.now);
            self.ips += 1;
            let ip_seq = self.ips;
            let _ = ctx.api.modify(ids::pods(), &key.namespace, &key.name, true, |o| {
                let Object::Pod(p) = o else { return false };
                let status = p.status_mut();
                status.phase = Some("Running".into());
                status.pod_ip = Some(format!("10.244.1.{}", 2 + (ip_seq % 250)));
                let conditions = status.conditions.get_or_insert_with(Vec::new);
                conditions.retain(|c| c.type_ != "Ready");
                conditions.push(PodCondition { type_: "Ready".into(), status: "True".into(), last_transition_time: Some(now.clone()), ..Default::default() });
                true
            });
        }
        let live: BTreeSet<ObjectKey> = self.pods.items().map(|o| ObjectKey::of(o)).collect();
        self.started.retain(|k, _| live.contains(k));
        self.stopping.retain(|k, _| live.contains(k));
    }
    fn on_stop(&mut self) {
        self.pods.reset();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An API server with the `default` namespace, the controller manager and
/// a fake kubelet.
pub fn sim() -> Sim {
    sim_with(ControllerManager::standard())
}

pub fn sim_with(manager: ControllerManager) -> Sim {
    let mut api = ApiServer::new(7, "127.0.0.1:6443");
    for name in ["default", "kube-system"] {
        let ns = Namespace {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
            status: None,
        };
        api.create(Object::Namespace(Box::new(ns))).expect("namespace");
    }
    let mut sim = Sim::new(7, api);
    sim.add(Box::new(manager));
    sim.add(Box::new(FakeKubelet::new()));
    // Admission wants each namespace's `default` ServiceAccount before pods.
    sim.settle();
    sim
}

pub fn template(app: &str, image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(BTreeMap::from([("app".to_string(), app.to_string())])), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container { name: app.to_string(), image: Some(image.to_string()), ..Default::default() }],
            ..Default::default()
        }),
    }
}

pub fn pods(sim: &Sim, namespace: &str) -> Vec<crate::engine::api::pod::Pod> {
    let (items, _) = sim.api.list(&Query::in_namespace(ids::pods(), namespace)).expect("list");
    items
        .iter()
        .filter_map(|o| match &**o {
            Object::Pod(p) => Some((**p).clone()),
            _ => None,
        })
        .collect()
}

pub fn live_pods(sim: &Sim, namespace: &str) -> Vec<crate::engine::api::pod::Pod> {
    pods(sim, namespace).into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

/// `(reason, message)` of every event about `name`, oldest first.
pub fn events_for(sim: &Sim, name: &str) -> Vec<(String, String)> {
    let (items, _) = sim.api.list(&Query::all(ids::events())).expect("list");
    let mut out: Vec<(String, String, String)> = items
        .iter()
        .filter_map(|o| match &**o {
            Object::Event(e) if e.involved_object.name.as_deref() == Some(name) => Some((
                e.metadata.name.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, r, m)| (r, m)).collect()
}
