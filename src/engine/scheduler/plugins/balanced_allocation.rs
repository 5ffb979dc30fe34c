//! NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory
//! would be used in equal shares after placing the pod.

use super::ScorePlugin;
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, MAX_NODE_SCORE};

pub const NAME: &str = "NodeResourcesBalancedAllocation";
/// Weight in the default profile.
pub const WEIGHT: i64 = 1;

/// `(1 - std) * 100` over the cpu and memory fractions (each capped at 1);
/// resources the node has none of are left out.
pub fn balanced_score(requested: [i64; 2], allocatable: [i64; 2]) -> i64 {
    let mut fractions = [0.0f64; 2];
    let mut count = 0;
    for (r, a) in requested.into_iter().zip(allocatable) {
        if a != 0 {
            fractions[count] = (r as f64 / a as f64).min(1.0);
            count += 1;
        }
    }
    // With two resources the standard deviation is half their difference.
    let std = if count == 2 { ((fractions[0] - fractions[1]) / 2.0).abs() } else { 0.0 };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

pub struct BalancedAllocation;

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    /// Best-effort pods are not scored (1.33), lest they all pile on one node.
    fn pre_score(&mut self, pod: &PodInfo, _ctx: &super::ScoreContext) -> bool {
        pod.requests.requests.milli_cpu != 0 || pod.requests.requests.memory != 0
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo, _ctx: &super::ScoreContext) -> i64 {
        let r = &pod.requests.requests;
        balanced_score(
            [node.requested.milli_cpu + r.milli_cpu, node.requested.memory + r.memory],
            [node.allocatable.milli_cpu, node.allocatable.memory],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ([1000, 1 << 30], [4000, 4 << 30], 100), // 25% and 25%
            ([3000, 0], [4000, 4 << 30], 62),        // 75% and 0%: std 0.375
            ([8000, 0], [4000, 4 << 30], 50),        // capped at 100% and 0%
            ([1000, 0], [4000, 0], 100),             // memory unknown: one fraction
        ];
        for (requested, allocatable, expected) in cases {
            assert_eq!(balanced_score(requested, allocatable), expected, "{requested:?} of {allocatable:?}");
        }
    }
}
