//! Resource quantities and pod requests, as the scheduler accounts them.
//!
//! A pod's request is what `resourcehelper.PodRequests` computes in 1.33:
//! the larger of (regular containers + restartable init containers) and the
//! peak of any init container (plus the sidecars started before it), plus
//! the pod overhead. The "non-zero" variant gives containers that set no cpu
//! or memory request 100m and 200Mi, so that scoring spreads best-effort pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::engine::quantity;

/// cpu given to a container without a cpu request, for scoring only.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// memory given to a container without a memory request, for scoring only.
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A quantity in milli-units (cpu), 0 when malformed.
pub fn milli_value(q: &Quantity) -> i64 {
    quantity::milli_value_of(q)
}

/// A quantity in whole units (bytes, counts), 0 when malformed.
pub fn value(q: &Quantity) -> i64 {
    quantity::value_of(q)
}

/// Amounts of every resource the scheduler accounts. Extended resources
/// (`nvidia.com/gpu`, `hugepages-2Mi`, ...) live in `scalar`, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Only meaningful for a node's allocatable (`pods`).
    pub pods: i64,
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    fn add_named(&mut self, name: &str, amount: i64) {
        match name {
            "cpu" => self.milli_cpu = self.milli_cpu.saturating_add(amount),
            "memory" => self.memory = self.memory.saturating_add(amount),
            "ephemeral-storage" => self.ephemeral_storage = self.ephemeral_storage.saturating_add(amount),
            "pods" => self.pods = self.pods.saturating_add(amount),
            other => {
                let slot = self.scalar.entry(other.to_string()).or_insert(0);
                *slot = slot.saturating_add(amount);
            }
        }
    }

    /// From a resource list (`requests`, `allocatable`): cpu in millis, the rest in units.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        let mut out = Resources::default();
        for (name, q) in list {
            let amount = if name == "cpu" { milli_value(q) } else { value(q) };
            out.add_named(name, amount);
        }
        out
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, amount) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_insert(0);
            *slot = slot.saturating_add(*amount);
        }
    }

    pub fn subtract(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, amount) in &other.scalar {
            if let Some(slot) = self.scalar.get_mut(name) {
                *slot = slot.saturating_sub(*amount);
                if *slot == 0 {
                    self.scalar.remove(name);
                }
            }
        }
    }

    /// Element-wise maximum (an init container's peak against the rest).
    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (name, amount) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_insert(0);
            *slot = (*slot).max(*amount);
        }
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).copied().unwrap_or(0)
    }
}

/// What a pod asks for: the real requests (fit) and the non-zero cpu and
/// memory (least-allocated scoring).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    pub requests: Resources,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
}

fn container_requests(c: &Container, non_zero: bool) -> Resources {
    let mut r = c.resources.as_ref().and_then(|r| r.requests.as_ref()).map(Resources::from_list).unwrap_or_default();
    if non_zero {
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        if !requests.is_some_and(|m| m.contains_key("cpu")) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !requests.is_some_and(|m| m.contains_key("memory")) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

fn pod_requests_with(pod: &Pod, non_zero: bool) -> Resources {
    let Some(spec) = pod.spec.as_ref() else { return Resources::default() };
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&container_requests(c, non_zero));
    }
    // Sidecars (init containers that keep running) add to the steady state;
    // each ordinary init container runs alone beside the sidecars before it.
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            init_peak.max_with(&sidecars);
        } else {
            let mut peak = sidecars.clone();
            peak.add(&r);
            init_peak.max_with(&peak);
        }
    }
    sum.add(&sidecars);
    sum.max_with(&init_peak);
    if let Some(overhead) = spec.overhead.as_ref() {
        sum.add(&Resources::from_list(overhead));
    }
    sum.pods = 0;
    sum
}

pub fn pod_requests(pod: &Pod) -> PodRequests {
    let requests = pod_requests_with(pod, false);
    let non_zero = pod_requests_with(pod, true);
    PodRequests { requests, non_zero_milli_cpu: non_zero.milli_cpu, non_zero_memory: non_zero.memory }
}

/// A node's `status.allocatable`, falling back to `capacity` as the scheduler does
/// when a kubelet reports no allocatable.
pub fn node_allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    status
        .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
        .map(Resources::from_list)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_requests_follow_init_container_rules() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                    {"name": "b"}
                ],
                "initContainers": [
                    {"name": "init", "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "1"}}}
                ]
            }
        }))
        .unwrap();
        let r = pod_requests(&pod);
        assert_eq!(r.requests.milli_cpu, 1000);
        assert_eq!(r.requests.memory, 64 << 20);
        assert_eq!(r.requests.scalar("nvidia.com/gpu"), 1);
        // b has no requests: 100m + 200Mi for scoring; the init peak still wins on cpu.
        assert_eq!(r.non_zero_milli_cpu, 1000);
        assert_eq!(r.non_zero_memory, (64 << 20) + DEFAULT_MEMORY_REQUEST);
    }
}
