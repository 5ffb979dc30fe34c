//! NodeName: a pod that names its node (`spec.nodeName`) fits only there.

use crate::engine::scheduler::framework::{NodeInfo, PodInfo, Status};

pub const NAME: &str = "NodeName";
pub const REASON: &str = "node(s) didn't match the requested node name";

pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
    if fits(pod.node_name, &node.name) {
        Status::SUCCESS
    } else {
        Status::unresolvable(REASON)
    }
}

pub fn fits(requested: Option<&str>, node: &str) -> bool {
    requested.is_none_or(|n| n == node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [(None, "a", true), (Some("a"), "a", true), (Some("b"), "a", false)];
        for (requested, node, expected) in cases {
            assert_eq!(fits(requested, node), expected, "{requested:?} on {node}");
        }
    }
}
