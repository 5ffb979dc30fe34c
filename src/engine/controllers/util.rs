//! Pod and ownership helpers the workload controllers share, as
//! `pkg/controller/controller_utils.go` and `pkg/api/v1/pod` provide them.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use crate::engine::api::{meta, resource, Object};
use crate::engine::sim::clock::VirtualTime;

/// An ownerReference naming `owner` as controller, as workload controllers set it.
pub fn controller_ref(owner: &Object) -> OwnerReference {
    let rt = resource(owner.resource_id());
    let m = owner.meta();
    OwnerReference {
        api_version: rt.api_version(),
        kind: rt.kind.to_string(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A pod for `template`, named `<prefix><5 random chars>` by the API server.
pub fn pod_from_template(template: &PodTemplateSpec, namespace: &str, generate_name: &str, owner: OwnerReference) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    let mut spec = template.spec.clone();
    // A template may name its node; the stored pod keeps it beside its spec.
    let node_name = spec.as_mut().and_then(|s| s.node_name.take());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: spec.map(Rc::new),
        status: None,
        node_name,
        token_volume: None,
        affinity_node: None,
    }
}

pub fn pod_phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase()).unwrap_or("Pending")
}

/// Not terminating, not finished: it counts toward the replicas.
pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !matches!(pod_phase(pod), "Succeeded" | "Failed")
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn ready_condition(pod: &Pod) -> Option<crate::engine::api::stored_status::Condition<'_>> {
    pod.status.as_ref()?.condition("Ready")
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod last became ready.
pub fn ready_since(pod: &Pod) -> Option<VirtualTime> {
    ready_condition(pod).filter(|c| c.status == "True").and_then(|c| c.last_transition_time).as_ref().map(meta::virtual_of)
}

/// Ready for at least `min_ready_seconds` at `now` (`podutil.IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: VirtualTime) -> bool {
    is_ready(pod) && available_since(ready_since(pod), min_ready_seconds, now)
}

/// Whether a ready pod, ready since `ready_since`, is available at `now`.
pub fn available_since(ready_since: Option<VirtualTime>, min_ready_seconds: i32, now: VirtualTime) -> bool {
    min_ready_seconds <= 0 || ready_since.is_some_and(|t| t.plus_secs(min_ready_seconds as u64) <= now)
}

/// When a ready pod becomes available, if it is not yet.
pub fn available_at(pod: &Pod, min_ready_seconds: i32) -> Option<VirtualTime> {
    available_after(ready_since(pod), min_ready_seconds)
}

/// When a pod ready since `ready_since` becomes available, if it waits for that.
pub fn available_after(ready_since: Option<VirtualTime>, min_ready_seconds: i32) -> Option<VirtualTime> {
    if min_ready_seconds <= 0 {
        return None;
    }
    ready_since.map(|t| t.plus_secs(min_ready_seconds as u64))
}

pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
}

pub fn node_name(pod: &Pod) -> &str {
    pod.node_name().unwrap_or("")
}

/// Whether every label of `template` is on the pod (`fullyLabeledReplicas`).
pub fn has_all_labels(pod: &Pod, template: Option<&BTreeMap<String, String>>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    template.into_iter().flatten().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

pub fn time_of(t: Option<&Time>) -> Option<VirtualTime> {
    t.map(meta::virtual_of)
}

/// `(now - t)` in nanoseconds, as Go's `time.Sub`, for log-scale ranking.
fn log_rank(t: VirtualTime, now: VirtualTime) -> i64 {
    let d = now.as_millis() as i128 - t.as_millis() as i128;
    if d <= 0 {
        -1
    } else {
        ((d * 1_000_000) as f64).log2() as i64
    }
}

/// Order of deletion when scaling down (`ActivePodsWithRanks.Less` with
/// LogarithmicScaleDown and PodDeletionCost): unassigned before assigned;
/// Pending before Unknown before Running; not ready before ready; lower
/// deletion cost first; more pods of the same owner on its node first;
/// recently ready before long ready; more restarts first; newer first.
/// `rank` is the number of related pods on the pod's node.
pub fn deletion_order(a: (&Pod, usize), b: (&Pod, usize), now: VirtualTime) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (pa, ra) = a;
    let (pb, rb) = b;
    let assigned = |p: &Pod| !node_name(p).is_empty();
    if assigned(pa) != assigned(pb) {
        return if !assigned(pa) { Less } else { Greater };
    }
    let phase_rank = |p: &Pod| match pod_phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    if phase_rank(pa) != phase_rank(pb) {
        return phase_rank(pa).cmp(&phase_rank(pb));
    }
    if is_ready(pa) != is_ready(pb) {
        return if !is_ready(pa) { Less } else { Greater };
    }
    let cost = |p: &Pod| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0)
    };
    if cost(pa) != cost(pb) {
        return cost(pa).cmp(&cost(pb));
    }
    if ra != rb {
        return rb.cmp(&ra);
    }
    let by_uid = || pa.metadata.uid.cmp(&pb.metadata.uid);
    if is_ready(pa) && is_ready(pb) {
        if let (Some(ta), Some(tb)) = (ready_since(pa), ready_since(pb)) {
            if ta != tb {
                let diff = log_rank(ta, now) - log_rank(tb, now);
                return if diff == 0 { by_uid() } else { diff.cmp(&0) };
            }
        }
    }
    if restarts(pa) != restarts(pb) {
        return restarts(pb).cmp(&restarts(pa));
    }
    let ca = time_of(pa.metadata.creation_timestamp.as_ref());
    let cb = time_of(pb.metadata.creation_timestamp.as_ref());
    if ca != cb {
        return match (ca, cb) {
            (None, _) => Less,
            (_, None) => Greater,
            (Some(ta), Some(tb)) => {
                let diff = log_rank(ta, now) - log_rank(tb, now);
                if diff == 0 {
                    by_uid()
                } else {
                    diff.cmp(&0)
                }
            }
        };
    }
    by_uid()
}

/// Go's `omitempty` on an int32 status field: zero is left out.
pub fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// The object's name, empty if unset.
pub fn name_of(obj: &Object) -> &str {
    obj.meta().name.as_deref().unwrap_or("")
}
