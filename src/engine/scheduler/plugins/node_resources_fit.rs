//! NodeResourcesFit: the pod's requests must fit in what the node has left
//! (cpu, memory, ephemeral storage, extended resources, pod count); the
//! LeastAllocated strategy scores emptier nodes higher.

use super::ScorePlugin;
use crate::engine::scheduler::framework::{Code, NodeInfo, PodInfo, Reason, Status, MAX_NODE_SCORE};
use crate::engine::scheduler::resources::{PodRequests, Resources};

pub const NAME: &str = "NodeResourcesFit";
/// Weight in the default profile (LeastAllocated, cpu and memory weighted 1 each).
pub const WEIGHT: i64 = 1;

/// One resource the node lacks (`InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insufficient {
    pub reason: Reason,
    /// The request exceeds the node's whole allocatable: no eviction helps.
    pub unresolvable: bool,
    /// The resource (`pods`, `cpu`, …), what the pod asks of it, what the
    /// node's pods use and what the node has: the kubelet's admission says them.
    pub resource: Reason,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
}

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    let missing = insufficient_resources(&pod.requests, node);
    if missing.is_empty() {
        return Status::SUCCESS;
    }
    let code = if missing.iter().any(|m| m.unresolvable) { Code::UnschedulableAndUnresolvable } else { Code::Unschedulable };
    Status { code, reasons: missing.into_iter().map(|m| m.reason).collect() }
}

/// Whether the pod fits, without building reasons (the common case).
#[inline]
pub fn fits(pod: &PodRequests, node: &NodeInfo) -> bool {
    let alloc = &node.allocatable;
    let used = &node.requested;
    let r = &pod.requests;
    node.pod_count < alloc.pods
        && r.milli_cpu <= alloc.milli_cpu - used.milli_cpu
        && r.memory <= alloc.memory - used.memory
        && r.ephemeral_storage <= alloc.ephemeral_storage - used.ephemeral_storage
        && r.scalar.iter().all(|(name, &amount)| amount <= alloc.scalar(name) - used.scalar(name))
}

/// What `fitsRequest` reports, in its order: pods, cpu, memory,
/// ephemeral-storage, then extended resources by name.
pub fn insufficient_resources(pod: &PodRequests, node: &NodeInfo) -> Vec<Insufficient> {
    insufficient_against(&pod.requests, &node.allocatable, node.pod_count, &node.requested)
}

/// As [`insufficient_resources`], for requests against what a node has
/// and what its pods use, given explicitly (preemption asks "what if
/// these pods were gone?"; the kubelet's admission counts the pods it
/// admitted).
pub fn insufficient_against(r: &Resources, alloc: &Resources, pod_count: i64, used: &Resources) -> Vec<Insufficient> {
    let short = |reason: Reason, resource: Reason, requested: i64, used: i64, capacity: i64| Insufficient {
        reason,
        unresolvable: requested > capacity,
        resource,
        requested,
        used,
        capacity,
    };
    let mut out = Vec::new();
    if pod_count + 1 > alloc.pods {
        out.push(Insufficient { unresolvable: false, ..short(Reason::Borrowed("Too many pods"), Reason::Borrowed("pods"), 1, pod_count, alloc.pods) });
    }
    if r.milli_cpu == 0 && r.memory == 0 && r.ephemeral_storage == 0 && r.scalar.is_empty() {
        return out;
    }
    if r.milli_cpu > 0 && r.milli_cpu > alloc.milli_cpu - used.milli_cpu {
        out.push(short(Reason::Borrowed("Insufficient cpu"), Reason::Borrowed("cpu"), r.milli_cpu, used.milli_cpu, alloc.milli_cpu));
    }
    if r.memory > 0 && r.memory > alloc.memory - used.memory {
        out.push(short(Reason::Borrowed("Insufficient memory"), Reason::Borrowed("memory"), r.memory, used.memory, alloc.memory));
    }
    if r.ephemeral_storage > 0 && r.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage {
        out.push(short(Reason::Borrowed("Insufficient ephemeral-storage"), Reason::Borrowed("ephemeral-storage"), r.ephemeral_storage, used.ephemeral_storage, alloc.ephemeral_storage));
    }
    for (name, &amount) in r.scalar.iter() {
        if amount == 0 {
            continue;
        }
        let allocatable = alloc.scalar(name);
        if amount > allocatable - used.scalar(name) {
            out.push(short(Reason::Owned(format!("Insufficient {name}")), Reason::Owned(name.clone()), amount, used.scalar(name), allocatable));
        }
    }
    out
}

/// `leastRequestedScore`: the share of the resource left after placing the pod.
pub fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// LeastAllocated over cpu and memory (weight 1 each), with non-zero requests.
pub fn least_allocated_score(pod: &PodRequests, node: &NodeInfo) -> i64 {
    let mut total = 0;
    let mut weights = 0;
    let resources = [
        (node.allocatable.milli_cpu, node.non_zero_milli_cpu + pod.non_zero_milli_cpu),
        (node.allocatable.memory, node.non_zero_memory + pod.non_zero_memory),
    ];
    for (capacity, requested) in resources {
        if capacity == 0 {
            continue;
        }
        total += least_requested(requested, capacity);
        weights += 1;
    }
    // (Each share is 0..=100: halving the sum of two is a shift.)
    match weights {
        0 => 0,
        1 => total,
        _ => total / 2,
    }
}

pub struct LeastAllocated;

impl ScorePlugin for LeastAllocated {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo, _ctx: &super::ScoreContext) -> i64 {
        least_allocated_score(&pod.requests, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::plugins::testing::{empty_ctx, info, node, pod};
    use serde_json::json;

    fn worker(cpu: &str, memory: &str, pods: &str) -> NodeInfo {
        node(json!({"status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods, "example.com/foo": "2"}}}))
    }

    fn requesting(requests: serde_json::Value) -> crate::engine::api::pod::Pod {
        pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]}}))
    }

    #[test]
    fn filter_table() {
        let mut busy = worker("2", "4Gi", "3");
        busy.requested.milli_cpu = 1500;
        busy.requested.memory = 1 << 30;
        busy.pod_count = 2;
        let mut full = worker("2", "4Gi", "2");
        full.pod_count = 2;
        let cases: Vec<(serde_json::Value, &NodeInfo, Code, Vec<&str>)> = vec![
            (json!({"cpu": "500m"}), &busy, Code::Success, vec![]),
            (json!({"cpu": "600m"}), &busy, Code::Unschedulable, vec!["Insufficient cpu"]),
            (json!({"cpu": "3"}), &busy, Code::UnschedulableAndUnresolvable, vec!["Insufficient cpu"]),
            (json!({"cpu": "1", "memory": "4Gi"}), &busy, Code::Unschedulable, vec!["Insufficient cpu", "Insufficient memory"]),
            (json!({"cpu": "100m"}), &full, Code::Unschedulable, vec!["Too many pods"]),
            (json!({"example.com/foo": "3"}), &busy, Code::UnschedulableAndUnresolvable, vec!["Insufficient example.com/foo"]),
            (json!({"nvidia.com/gpu": "1"}), &busy, Code::UnschedulableAndUnresolvable, vec!["Insufficient nvidia.com/gpu"]),
            (json!({"ephemeral-storage": "1Gi"}), &busy, Code::UnschedulableAndUnresolvable, vec!["Insufficient ephemeral-storage"]),
        ];
        for (i, (requests, n, code, reasons)) in cases.into_iter().enumerate() {
            let p = requesting(requests);
            let status = filter(&info(&p), n);
            assert_eq!(status.code, code, "case {i}");
            assert_eq!(status.reasons, reasons, "case {i}");
        }
    }

    #[test]
    fn least_allocated_table() {
        // 4 cpu / 8Gi node with 1 cpu and 2Gi requested; the pod asks 1 cpu and 2Gi:
        // cpu (4-2)/4 = 50, memory (8-4)/8 = 50.
        let mut n = worker("4", "8Gi", "110");
        n.non_zero_milli_cpu = 1000;
        n.non_zero_memory = 2 << 30;
        let p = requesting(json!({"cpu": "1", "memory": "2Gi"}));
        assert_eq!(LeastAllocated.score(&info(&p), &n, empty_ctx()), 50);
        // A best-effort pod counts as 100m and 200Mi.
        let empty = worker("1", "1000Mi", "110");
        let be = pod(json!({}));
        assert_eq!(LeastAllocated.score(&info(&be), &empty, empty_ctx()), (90 + 80) / 2);
        assert_eq!(least_requested(5, 4), 0);
        assert_eq!(least_requested(0, 0), 0);
    }
}
