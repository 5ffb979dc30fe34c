//! The resource metrics pipeline: metrics-server (`server.rs`) scrapes each
//! node's containers every 15 s and keeps, in its own process, the usage of
//! the last window; the API server's aggregation layer serves that as
//! `metrics.k8s.io/v1beta1` PodMetrics and NodeMetrics (`api`), which
//! `kubectl top` and the HPA controller read. `usage.rs` is what a
//! container's cgroup reports: the CPU its work cost plus an idle baseline,
//! and a memory working set per image.

pub mod server;
pub mod usage;

use std::collections::BTreeMap;

use crate::engine::api::{ApiError, Reason};
use crate::engine::apiserver::ApiServer;
use crate::engine::network::apps::AppState;
use crate::engine::node::programs;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// The program name of metrics-server's container (and its component).
pub const PROGRAM: &str = "metrics-server";

/// One container's usage over a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerMetrics {
    pub name: String,
    /// Cores, in nanocores as the API serves them.
    pub cpu_nanos: u64,
    /// Working set, in bytes.
    pub memory_bytes: u64,
}

/// A pod's usage: `PodMetrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodMetrics {
    pub namespace: String,
    pub name: String,
    /// The end of the window (the newest scrape).
    pub timestamp: VirtualTime,
    pub window_ms: u64,
    pub containers: Vec<ContainerMetrics>,
}

/// `Quantity.MilliValue()` of nanocores: rounded up.
pub fn millis_of(nanos: u64) -> u64 {
    nanos.div_ceil(1_000_000)
}

impl ContainerMetrics {
    pub fn cpu_millis(&self) -> u64 {
        millis_of(self.cpu_nanos)
    }
}

impl PodMetrics {
    /// The pod's CPU as kubectl adds it: nanocores summed, then rounded up.
    pub fn cpu_millis(&self) -> u64 {
        millis_of(self.containers.iter().map(|c| c.cpu_nanos).sum())
    }
    pub fn memory_bytes(&self) -> u64 {
        self.containers.iter().map(|c| c.memory_bytes).sum()
    }
}

/// A node's usage: `NodeMetrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMetrics {
    pub name: String,
    pub timestamp: VirtualTime,
    pub window_ms: u64,
    pub cpu_nanos: u64,
    pub memory_bytes: u64,
}

impl NodeMetrics {
    pub fn cpu_millis(&self) -> u64 {
        millis_of(self.cpu_nanos)
    }
}

/// What metrics-server holds in memory: the last window of every pod and node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// By (namespace, name).
    pub pods: BTreeMap<(String, String), PodMetrics>,
    pub nodes: BTreeMap<String, NodeMetrics>,
}

/// Why the metrics API did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The API server itself refused (stopped).
    Api(ApiError),
    /// The APIService `v1beta1.metrics.k8s.io` has no running backend.
    NoBackend,
}

impl Unavailable {
    /// How client-go words the failure of `get pods.metrics.k8s.io`.
    pub fn message(&self, resource: &str) -> String {
        match self {
            Unavailable::Api(e) => e.message.clone(),
            Unavailable::NoBackend => format!("the server is currently unable to handle the request (get {resource}.metrics.k8s.io)"),
        }
    }
}

/// The metrics API as kube-apiserver serves it: proxied to the running
/// metrics-server container, whose memory holds the windows. No running
/// container (stopped, crashing, not yet started) means the APIService is
/// unavailable.
pub fn read(api: &ApiServer, world: &World) -> Result<std::rc::Rc<Snapshot>, Unavailable> {
    if let Err(e) = api.serving() {
        return Err(Unavailable::Api(e));
    }
    let Some(instance) = programs::find_running(world, PROGRAM) else { return Err(Unavailable::NoBackend) };
    let container = world
        .machine(&instance.node)
        .and_then(|m| m.runtime.sandbox(&instance.pod_uid))
        .and_then(|s| s.containers.iter().find(|c| c.id == instance.container_id));
    match container.map(|c| &c.app) {
        Some(AppState::MetricsServer(snapshot)) => Ok(snapshot.clone()),
        _ => Err(Unavailable::NoBackend),
    }
}

/// `ApiError` for a pod without metrics, as metrics-server words it.
pub fn pod_not_found(namespace: &str, name: &str) -> ApiError {
    ApiError::new(Reason::NotFound, format!("podmetrics.metrics.k8s.io \"{namespace}/{name}\" not found"))
}
