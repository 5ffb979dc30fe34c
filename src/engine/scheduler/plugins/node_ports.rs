//! NodePorts: a pod's host ports must be free on the node.

use crate::engine::scheduler::framework::{HostPort, NodeInfo, PodInfo, Status};

pub const NAME: &str = "NodePorts";
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    if fits(&pod.host_ports, &node.used_ports) {
        Status::SUCCESS
    } else {
        Status::unschedulable(REASON)
    }
}

pub fn fits(wanted: &[HostPort], used: &[HostPort]) -> bool {
    wanted.iter().all(|w| !used.iter().any(|u| u.conflicts(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(protocol: &str, ip: &str, port: i32) -> HostPort {
        HostPort { protocol: protocol.into(), ip: ip.into(), port }
    }

    #[test]
    fn table() {
        let used = vec![hp("TCP", "0.0.0.0", 80), hp("UDP", "10.0.0.1", 53)];
        let cases = [
            (vec![], true),
            (vec![hp("TCP", "0.0.0.0", 8080)], true),
            (vec![hp("TCP", "0.0.0.0", 80)], false),
            (vec![hp("TCP", "10.0.0.9", 80)], false),
            (vec![hp("UDP", "0.0.0.0", 80)], true),
            (vec![hp("UDP", "10.0.0.2", 53)], true),
            (vec![hp("UDP", "10.0.0.1", 53)], false),
            (vec![hp("UDP", "0.0.0.0", 53)], false),
        ];
        for (i, (wanted, expected)) in cases.iter().enumerate() {
            assert_eq!(fits(wanted, &used), *expected, "case {i}");
        }
    }
}
