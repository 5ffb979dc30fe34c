//! What the traffic panel shows: the generator's target and totals, and a
//! per-second chart of successes (split by the pod that answered) and
//! failures over the last minute.

use crate::engine::sort::SortStable;
use crate::engine::cluster::Cluster;
use crate::engine::network::traffic::Traffic;
use crate::engine::sim::clock::VirtualTime;

/// Seconds the chart spans.
pub const CHART_SECONDS: u64 = 60;
/// Pods the legend names; the rest are drawn as "other pods".
pub const LEGEND_PODS: usize = 8;

/// One second of the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Column {
    /// Seconds before now (0 is the current second).
    pub age: u64,
    /// Successes per legend pod (same order as `pods`), then "other".
    pub ok_by_pod: Vec<u32>,
    pub failed: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficView {
    /// Whether a generator has run at all.
    pub present: bool,
    pub running: bool,
    /// `GET http://… from …, 10 requests/s`.
    pub title: String,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    /// Pods that answered, most requests first (legend order).
    pub pods: Vec<(String, u64)>,
    /// The newest failure reason, if any.
    pub last_failure: Option<String>,
    /// Oldest first.
    pub columns: Vec<Column>,
    /// The largest column total, for scaling.
    pub peak: u32,
    /// Suggestions for the form: URLs a learner is likely to aim at.
    pub suggestions: Vec<String>,
}

/// A cheap fingerprint of what the panel depends on.
pub fn fingerprint(cluster: &Cluster) -> (u64, bool, u64) {
    let t = &cluster.sim.world.net.traffic;
    match &t.current {
        // The chart scrolls every second while traffic runs.
        Some(g) => (g.stats.sent, g.stopped.is_none(), if g.stopped.is_none() { cluster.sim.now().as_secs() } else { 0 }),
        None => (0, false, 0),
    }
}

pub fn build(traffic: &Traffic, now: VirtualTime, suggestions: Vec<String>) -> TrafficView {
    let Some(g) = &traffic.current else { return TrafficView { suggestions, ..Default::default() } };
    let s = &g.stats;
    let mut pods: Vec<(String, u64)> = s.by_pod.iter().map(|(p, n)| (p.clone(), *n)).collect();
    pods.sort_stable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let legend: Vec<String> = pods.iter().take(LEGEND_PODS).map(|(p, _)| p.clone()).collect();
    let end = g.stopped.unwrap_or(now).as_secs();
    let start = end.saturating_sub(CHART_SECONDS - 1);
    let mut columns = Vec::new();
    let mut peak = 0;
    for second in start..=end {
        let mut col = Column { age: end - second, ok_by_pod: vec![0; legend.len() + 1], failed: 0 };
        if let Some(b) = s.buckets.iter().rev().find(|b| b.second == second) {
            col.failed = b.failed;
            for (pod, n) in &b.by_pod {
                let slot = legend.iter().position(|l| l == pod).unwrap_or(legend.len());
                col.ok_by_pod[slot] += n;
            }
        }
        peak = peak.max(col.failed + col.ok_by_pod.iter().sum::<u32>());
        columns.push(col);
    }
    TrafficView {
        present: true,
        running: g.stopped.is_none(),
        title: format!("GET {} from {}, {} requests/s", g.url, g.source.describe(), g.rate_per_s),
        sent: s.sent,
        ok: s.ok,
        failed: s.failed,
        pods,
        last_failure: s.failures.back().map(|(t, why)| format!("{t} {why}")),
        columns,
        peak,
        suggestions,
    }
}

/// URLs worth offering: every NodePort on the first node, and each
/// ClusterIP Service's name (from a node, it is reachable by address).
pub fn suggestions(cluster: &Cluster) -> Vec<String> {
    use crate::engine::api::{ids, Object};
    use crate::engine::apiserver::Query;
    let Ok((services, _)) = cluster.sim.api.list(&Query::all(ids::services())) else { return vec![] };
    let node_ip = cluster.profile.nodes.iter().find(|n| !n.tainted).or(cluster.profile.nodes.first()).map(|n| n.address.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for o in services.iter().take(50) {
        let Object::Service(svc) = &**o else { continue };
        if svc.metadata.namespace.as_deref() == Some("kube-system") || svc.metadata.name.as_deref() == Some("kubernetes") {
            continue;
        }
        for p in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            if let Some(np) = p.node_port {
                out.push(format!("http://{node_ip}:{np}/"));
            }
        }
    }
    out.truncate(10);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};

    #[test]
    fn chart_counts_each_second_by_pod() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 1);
        let empty = build(&cluster.sim.world.net.traffic, cluster.sim.now(), vec![]);
        assert!(!empty.present);
        let now = cluster.sim.now();
        let start = |c: &mut Cluster, words: &[&str]| {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            crate::engine::network::traffic::command(&c.sim.api, &mut c.sim.world, now, &words)
        };
        start(&mut cluster, &["start", "http://192.168.49.2:30999/", "--rate", "4/s"]).unwrap();
        cluster.sim.run_for_ms(3_000);
        let view = build(&cluster.sim.world.net.traffic, cluster.sim.now(), vec![]);
        assert!(view.present && view.running);
        assert_eq!(view.columns.len(), CHART_SECONDS as usize);
        assert_eq!(view.sent, 13);
        assert_eq!(view.failed, 13, "nothing listens on that NodePort");
        assert_eq!(view.columns.last().map(|c| c.failed), Some(1));
        assert_eq!(view.columns.iter().map(|c| c.failed).sum::<u32>(), 13);
        assert_eq!(view.peak, 4);
        assert!(view.last_failure.unwrap().ends_with("connection refused"));
    }
}
