//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only pods
//! that tolerate `node.kubernetes.io/unschedulable:NoSchedule`.

use k8s_openapi::api::core::v1::Taint;

use super::tolerated_by_any;
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status};

pub const NAME: &str = "NodeUnschedulable";
pub const REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    if fits(node.unschedulable, pod) {
        Status::SUCCESS
    } else {
        Status::unresolvable(REASON)
    }
}

pub fn fits(unschedulable: bool, pod: &PodInfo) -> bool {
    if !unschedulable {
        return true;
    }
    let taint = Taint { key: TAINT_KEY.to_string(), value: None, effect: "NoSchedule".to_string(), time_added: None };
    tolerated_by_any(pod.tolerations, &taint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::framework::Code;
    use crate::engine::scheduler::plugins::testing::{info, node, pod};
    use serde_json::json;

    #[test]
    fn table() {
        let plain = pod(json!({}));
        let tolerant = pod(json!({"metadata": {"name": "t"}, "spec": {"containers": [{"name": "c"}],
            "tolerations": [{"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]}}));
        let cordoned = node(json!({"spec": {"unschedulable": true}}));
        let open = node(json!({}));
        let cases = [
            (&plain, &open, Code::Success),
            (&plain, &cordoned, Code::UnschedulableAndUnresolvable),
            (&tolerant, &cordoned, Code::Success),
        ];
        for (i, (p, n, code)) in cases.into_iter().enumerate() {
            let status = filter(&info(p), n);
            assert_eq!(status.code, code, "case {i}");
            if code != Code::Success {
                assert_eq!(status.reasons, vec![REASON]);
            }
        }
    }
}
