//! PodTopologySpread with the system default constraints: pods of the same
//! owner (ReplicaSet, StatefulSet, ...) are spread across hostnames
//! (maxSkew 3) and zones (maxSkew 5), softly (ScheduleAnyway).
//!
//! The real plugin counts pods matched by the selectors of the services and
//! controllers selecting the pod; here the pod's controller owner stands for
//! that selector. Pod-declared constraints (and the filter for
//! DoNotSchedule) are not run yet.

use std::collections::BTreeMap;

use super::{node_affinity, ScoreContext, ScorePlugin};
use crate::engine::scheduler::framework::{NodeInfo, PodInfo, MAX_NODE_SCORE};

pub const NAME: &str = "PodTopologySpread";
/// Weight in the default profile.
pub const WEIGHT: i64 = 2;
const HOSTNAME_MAX_SKEW: i64 = 3;
const ZONE_MAX_SKEW: i64 = 5;

/// Weight of a topology's counts, so that fine topologies (many hostnames)
/// are not drowned by coarse ones: ln(domains + 2).
pub fn topology_normalizing_weight(domains: usize) -> f64 {
    ((domains + 2) as f64).ln()
}

pub fn score_for_count(count: i64, max_skew: i64, weight: f64) -> f64 {
    count as f64 * weight + (max_skew - 1) as f64
}

/// `100 * (max + min - s) / max`; all 100 when every node scored 0.
pub fn normalize_spread(scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    let min = scores.iter().copied().min().unwrap_or(0);
    for s in scores.iter_mut() {
        *s = if max == 0 { MAX_NODE_SCORE } else { MAX_NODE_SCORE * (max + min - *s) / max };
    }
}

#[derive(Default)]
pub struct DefaultSpreading {
    hostname_weight: f64,
    /// Pods of the owner per zone, for zones among the feasible nodes.
    zone_counts: BTreeMap<String, i64>,
    zone_weight: f64,
}

impl ScorePlugin for DefaultSpreading {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn pre_score(&mut self, pod: &PodInfo, ctx: &ScoreContext) -> bool {
        let own_constraints = pod.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_ref()).is_some_and(|c| !c.is_empty());
        if own_constraints || pod.owner_uid.is_none() || ctx.cache.node_count() == 0 {
            return false;
        }
        self.hostname_weight = topology_normalizing_weight(ctx.feasible.len());
        self.zone_counts.clear();
        // Zone domains are those of the feasible nodes (unlabelled nodes form
        // the "" domain, which counts toward the size but is never scored).
        let mut unlabelled = false;
        for n in ctx.feasible {
            match &n.zone {
                Some(z) => {
                    self.zone_counts.entry(z.clone()).or_insert(0);
                }
                None => unlabelled = true,
            }
        }
        self.zone_weight = topology_normalizing_weight(self.zone_counts.len() + usize::from(unlabelled));
        if !self.zone_counts.is_empty() {
            if let Some(counts) = pod.owner_counts {
                for n in ctx.cache.nodes() {
                    let Some(zone) = &n.zone else { continue };
                    // nodeAffinityPolicy Honor: only nodes the pod could use count.
                    if !node_affinity::fits(pod.node_selector, pod.required_affinity, n.labels(), &n.name) {
                        continue;
                    }
                    if let Some(c) = self.zone_counts.get_mut(zone) {
                        *c += counts.get(n.slot).copied().unwrap_or(0) as i64;
                    }
                }
            }
        }
        true
    }
    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let mut score = 0.0;
        if node.has_hostname_label {
            let count = pod.owner_counts.and_then(|c| c.get(node.slot)).copied().unwrap_or(0) as i64;
            score += score_for_count(count, HOSTNAME_MAX_SKEW, self.hostname_weight);
        }
        if let Some(count) = node.zone.as_ref().and_then(|z| self.zone_counts.get(z)) {
            score += score_for_count(*count, ZONE_MAX_SKEW, self.zone_weight);
        }
        // Scores are never negative: adding one half and truncating is Go's
        // math.Round here, without a libm call per node.
        (score + 0.5) as i64
    }
    fn normalize(&self, scores: &mut [i64]) {
        normalize_spread(scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_and_normalize_table() {
        // Three feasible nodes: weight ln(5) ≈ 1.609; counts 0, 1, 3 → 2, 3.6→4, 6.8→7.
        let w = topology_normalizing_weight(3);
        let raw: Vec<i64> = [0, 1, 3].iter().map(|&c| score_for_count(c, 3, w).round() as i64).collect();
        assert_eq!(raw, vec![2, 4, 7]);
        let mut s = raw.clone();
        normalize_spread(&mut s);
        // 100 * (7 + 2 - s) / 7
        assert_eq!(s, vec![100, 71, 28]);
        let mut zeros = vec![0, 0];
        normalize_spread(&mut zeros);
        assert_eq!(zeros, vec![100, 100]);
    }
}
