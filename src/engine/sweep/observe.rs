//! What the checkers may look at: the store, the machines' runtimes, the
//! components' caches and which faults are in force. Read only; the one
//! place that knows where each of these lives.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::engine::api::{ids, Object, ResourceId};
use crate::engine::apiserver::admission::MIRROR_POD_ANNOTATION;
use crate::engine::apiserver::ApiServer;
use crate::engine::cluster::Cluster;
use crate::engine::sim::clock::VirtualTime;

/// A pod's containers running on a machine, as its runtime has them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunningPod {
    pub node: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// A read-only view of the cluster for one check.
pub struct Observation<'a> {
    pub cluster: &'a Cluster,
}

impl<'a> Observation<'a> {
    pub fn new(cluster: &'a Cluster) -> Self {
        Observation { cluster }
    }

    pub fn now(&self) -> VirtualTime {
        self.cluster.now()
    }

    pub fn api(&self) -> &ApiServer {
        &self.cluster.sim.api
    }

    /// Every stored object of one resource, in key order, straight from etcd.
    pub fn stored(&self, rid: ResourceId) -> Vec<Rc<Object>> {
        let prefix = format!("/registry/{}/", crate::engine::api::resource(rid).qualified_plural());
        self.api().store().range(&prefix).map(|(_, e)| e.value.object()).collect()
    }

    pub fn pods(&self) -> Vec<Rc<Object>> {
        self.stored(ids::pods())
    }

    pub fn node_names(&self) -> &[String] {
        self.cluster.sim.node_names()
    }

    pub fn powered(&self, node: &str) -> bool {
        self.cluster.sim.is_powered(node)
    }

    pub fn partitioned(&self, node: &str) -> bool {
        self.cluster.sim.is_partitioned(node)
    }

    /// Reachable from the control plane: powered and not partitioned.
    pub fn reachable(&self, node: &str) -> bool {
        self.powered(node) && !self.partitioned(node)
    }

    /// Pods with a container running right now, on every powered machine
    /// (the Sim's world holds them, whatever the kubelet processes do).
    /// A machine that is off runs nothing, whatever its runtime remembers.
    ///
    /// A static pod runs under the uid its kubelet hashed from its manifest;
    /// it is reported under its mirror pod's uid (the mirror names the hash
    /// in `kubernetes.io/config.mirror`), as that is the pod the store has.
    pub fn running_pods(&self) -> Vec<RunningPod> {
        let now = self.now();
        let mirrors: BTreeMap<String, String> = self
            .pods()
            .iter()
            .filter_map(|o| {
                let m = o.meta();
                let hash = m.annotations.as_ref()?.get(MIRROR_POD_ANNOTATION)?;
                Some((hash.clone(), m.uid.clone()?))
            })
            .collect();
        let mut out = BTreeSet::new();
        for node in self.node_names() {
            if !self.powered(node) {
                continue;
            }
            let Some(machine) = self.cluster.sim.world.machine(node) else { continue };
            for (uid, sandbox) in machine.runtime.sandboxes() {
                let running = sandbox.containers.iter().any(|c| c.is_running() && c.next_change().is_none_or(|t| t > now));
                if running {
                    let uid = mirrors.get(uid).unwrap_or(uid).clone();
                    out.insert(RunningPod { node: node.clone(), namespace: sandbox.namespace.to_string(), name: sandbox.pod.clone(), uid });
                }
            }
        }
        out.into_iter().collect()
    }

    /// Which faults are in force on each node: power off, a stopped
    /// kubelet, a partition.
    pub fn node_faults(&self) -> BTreeMap<String, Vec<&'static str>> {
        let mut out = BTreeMap::new();
        for node in self.node_names() {
            let mut faults = Vec::new();
            if !self.powered(node) {
                faults.push("power off");
            }
            if self.partitioned(node) {
                faults.push("partition");
            }
            if self.cluster.sim.is_running(&format!("kubelet/{node}")) == Some(false) {
                faults.push("kubelet stopped");
            }
            if self.cluster.sim.is_running(&format!("kube-proxy/{node}")) == Some(false) {
                faults.push("kube-proxy stopped");
            }
            out.insert(node.clone(), faults);
        }
        out
    }

    /// Whether nothing is broken: every component runs, every node is on
    /// and connected, and nothing is slowed down.
    pub fn all_clear(&self) -> bool {
        self.cluster.sim.component_states().iter().all(|c| c.running)
            && self.cluster.sim.partitioned_nodes().is_empty()
            && self.api().latency().request_ms() == 0
    }
}
