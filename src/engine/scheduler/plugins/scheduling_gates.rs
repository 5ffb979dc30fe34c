//! SchedulingGates (PreEnqueue): a pod with `spec.schedulingGates` is not
//! queued for scheduling until every gate is removed; meanwhile it carries
//! `PodScheduled=False` with reason `SchedulingGated`, which
//! `kubectl get pods` shows as its STATUS.

use crate::engine::api::pod::Pod;

pub const NAME: &str = "SchedulingGates";
/// The PodScheduled condition's reason while gated.
pub const REASON: &str = "SchedulingGated";
/// The PodScheduled condition's message while gated.
pub const MESSAGE: &str = "Scheduling is blocked due to non-empty scheduling gates";

/// The gate names, in the pod's order; empty when the pod may be queued.
pub fn gates(pod: &Pod) -> Vec<&str> {
    pod.spec.as_ref().and_then(|s| s.scheduling_gates.as_ref()).into_iter().flatten().map(|g| g.name.as_str()).collect()
}

/// PreEnqueue's verdict text when gated (`waiting for scheduling gates: [a b]`).
pub fn pre_enqueue(pod: &Pod) -> Option<String> {
    let gates = gates(pod);
    (!gates.is_empty()).then(|| format!("waiting for scheduling gates: [{}]", gates.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::plugins::testing::pod;
    use serde_json::json;

    #[test]
    fn table() {
        let open = pod(json!({}));
        let gated = pod(json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "c"}],
            "schedulingGates": [{"name": "example.com/quota"}, {"name": "example.com/review"}]}}));
        assert_eq!(pre_enqueue(&open), None);
        assert_eq!(pre_enqueue(&gated).as_deref(), Some("waiting for scheduling gates: [example.com/quota example.com/review]"));
    }
}
