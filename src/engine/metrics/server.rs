//! metrics-server: a stoppable component whose process is its pod's
//! container in `kube-system`. Every `--metric-resolution` (15 s) it
//! scrapes each node's kubelet (the containers of the node's runtime,
//! through `usage.rs`), turns the cumulative CPU of the last two scrapes
//! into a rate over that window, and keeps the result in the container's
//! memory, where the aggregated metrics API reads it. A container seen for
//! the first time counts from its start (as metrics-server does for a
//! container started since the previous scrape), so a pod has metrics one
//! resolution after it starts; a node after two scrapes.
//!
//! Stopped, its container fails at once each time the kubelet restarts it;
//! the metrics API is then unavailable, and started again it begins with
//! empty memory.

use crate::engine::sort::SortStable;
use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{usage, ContainerMetrics, NodeMetrics, PodMetrics, Snapshot, PROGRAM};
use crate::engine::network::apps::AppState;
use crate::engine::node::programs::{self, Instance};
use crate::engine::node::runtime::HexId;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

/// `--metric-resolution=15s`.
pub const RESOLUTION_MS: u64 = 15_000;
/// How often a process waiting for its container looks again.
const WAIT_FOR_CONTAINER_MS: u64 = 2_000;
/// Nodes scraped in one run: a scrape of a thousand nodes goes on over
/// runs at its instant (the page draws between runs), and the metrics API
/// keeps the previous window until every node is in.
const NODES_PER_RUN: usize = 100;

#[cfg(test)]
thread_local! {
    /// A test's smaller batch, so a 4-node cluster scrapes over several runs.
    static NODES_PER_RUN_IN_TEST: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

fn nodes_per_run() -> usize {
    #[cfg(test)]
    if let Some(n) = NODES_PER_RUN_IN_TEST.with(|n| n.get()) {
        return n;
    }
    NODES_PER_RUN
}

/// One container's cumulative CPU at a scrape.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: VirtualTime,
    cpu_us: u64,
}

/// The rate of `cpu_us` of CPU time over `span_ms`, in nanocores.
fn nanocores(cpu_us: u64, span_ms: u64) -> u64 {
    (cpu_us as u128 * 1_000_000 / span_ms.max(1) as u128).min(u64::MAX as u128) as u64
}

#[derive(Default)]
pub struct MetricsServer {
    instance: Option<Instance>,
    /// The previous scrape's samples, by container id.
    previous: BTreeMap<HexId, Sample>,
    /// The previous scrape's node totals (CPU time of the node), by node.
    previous_nodes: BTreeMap<String, Sample>,
    last_scrape: Option<VirtualTime>,
    next_scrape: Option<VirtualTime>,
    /// The scrape under way at this instant, when it needs several runs.
    scraping: Option<Scrape>,
}

/// A scrape's results so far, and the last node it scraped.
struct Scrape {
    at: VirtualTime,
    snapshot: Snapshot,
    samples: BTreeMap<HexId, Sample>,
    node_samples: BTreeMap<String, Sample>,
    last_node: Option<String>,
}

impl MetricsServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scrapes the next nodes; the whole window once every node is in.
    fn scrape(&mut self, ctx: &mut Ctx) -> Option<Snapshot> {
        let now = ctx.now;
        let mut scrape = self.scraping.take().filter(|s| s.at == now).unwrap_or_else(|| Scrape {
            at: now,
            snapshot: Snapshot::default(),
            samples: BTreeMap::new(),
            node_samples: BTreeMap::new(),
            last_node: None,
        });
        let Scrape { snapshot, samples, node_samples, last_node, .. } = &mut scrape;
        let resume_after = last_node.take();
        let mut machines = ctx.world.machines().skip_while(|(node, _)| resume_after.as_ref().is_some_and(|last| *node <= last)).peekable();
        for (node, machine) in machines.by_ref().take(nodes_per_run().max(1)) {
            *last_node = Some(node.clone());
            if !machine.powered {
                continue;
            }
            let mut node_cpu_us: u64 = usage::NODE_SYSTEM_CPU_MILLIS.saturating_mul(now.millis_since(machine.booted_at));
            let mut node_memory = usage::NODE_SYSTEM_MEMORY_BYTES;
            for (_, sandbox) in machine.runtime.sandboxes() {
                let mut containers = Vec::new();
                let mut window_ms = None;
                let mut complete = true;
                for c in sandbox.containers.iter().filter(|c| c.is_running()) {
                    let sample = Sample { at: now, cpu_us: usage::cpu_us(c, now) };
                    let memory = usage::memory_bytes(c);
                    node_cpu_us = node_cpu_us.saturating_add(sample.cpu_us);
                    node_memory = node_memory.saturating_add(memory);
                    samples.insert(c.id, sample);
                    let started = c.started_at.unwrap_or(now);
                    let before = match self.previous.get(&c.id) {
                        Some(p) => Some(*p),
                        // Started since the previous scrape: it counts from its start.
                        None if self.last_scrape.is_some_and(|l| started >= l) => Some(Sample { at: started, cpu_us: 0 }),
                        None => None,
                    };
                    match before.filter(|b| now > b.at) {
                        Some(b) => {
                            let span = now.millis_since(b.at);
                            window_ms.get_or_insert(span);
                            let cpu_nanos = nanocores(sample.cpu_us.saturating_sub(b.cpu_us), span);
                            containers.push(ContainerMetrics { name: c.name.clone(), cpu_nanos, memory_bytes: memory });
                        }
                        None => complete = false,
                    }
                }
                if complete && !containers.is_empty() {
                    let key = (sandbox.namespace.to_string(), sandbox.pod.clone());
                    containers.sort_stable_by(|a, b| a.name.cmp(&b.name));
                    snapshot.pods.insert(
                        key,
                        PodMetrics { namespace: sandbox.namespace.to_string(), name: sandbox.pod.clone(), timestamp: now, window_ms: window_ms.unwrap_or(RESOLUTION_MS), containers },
                    );
                }
            }
            let sample = Sample { at: now, cpu_us: node_cpu_us };
            if let Some(b) = self.previous_nodes.get(node).filter(|b| now > b.at) {
                let span = now.millis_since(b.at);
                snapshot.nodes.insert(
                    node.clone(),
                    NodeMetrics { name: node.clone(), timestamp: now, window_ms: span, cpu_nanos: nanocores(sample.cpu_us.saturating_sub(b.cpu_us), span), memory_bytes: node_memory },
                );
            }
            node_samples.insert(node.clone(), sample);
        }
        if machines.peek().is_some() {
            self.scraping = Some(scrape);
            return None;
        }
        self.previous = scrape.samples;
        self.previous_nodes = scrape.node_samples;
        self.last_scrape = Some(now);
        Some(scrape.snapshot)
    }

    /// Keeps the window in the process's memory (its container).
    fn store(ctx: &mut Ctx, instance: &Instance, snapshot: Snapshot) {
        let container = ctx
            .world
            .machine_mut(&instance.node)
            .and_then(|m| m.runtime.sandbox_mut(&instance.pod_uid))
            .and_then(|s| s.containers.iter_mut().find(|c| c.id == instance.container_id));
        if let Some(c) = container {
            c.app = AppState::MetricsServer(Rc::new(snapshot));
        }
    }
}

impl Component for MetricsServer {
    fn name(&self) -> &str {
        PROGRAM
    }

    fn run(&mut self, ctx: &mut Ctx) {
        if let Some(instance) = &self.instance {
            if !programs::still_running(ctx.world, instance) {
                ctx.log("metrics-server exited with its container".to_string());
                self.on_stop();
            }
        }
        let instance = match &self.instance {
            Some(i) => i.clone(),
            None => match programs::find_running(ctx.world, PROGRAM) {
                Some(i) => {
                    self.instance = Some(i.clone());
                    self.next_scrape = Some(ctx.now);
                    i
                }
                None => {
                    ctx.wake_after_ms(WAIT_FOR_CONTAINER_MS);
                    return;
                }
            },
        };
        let due = self.next_scrape.unwrap_or(ctx.now);
        if ctx.now >= due {
            let Some(snapshot) = self.scrape(ctx) else {
                ctx.wake_at(ctx.now);
                return;
            };
            Self::store(ctx, &instance, snapshot);
            self.next_scrape = Some(ctx.now.plus_millis(RESOLUTION_MS));
        }
        // Look at the container at least as often as a waiting process would.
        let next = self.next_scrape.unwrap_or(ctx.now).min(ctx.now.plus_millis(WAIT_FOR_CONTAINER_MS));
        ctx.wake_at(next);
    }

    fn on_stop(&mut self) {
        *self = Self::default();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Cluster, Profile, ProfileKind};
    use crate::engine::script;

    /// The metrics API 90 s after a Deployment is made, scraping
    /// `per_run` nodes a run (None: the usual batch).
    fn metrics_after_a_minute(per_run: Option<usize>) -> Snapshot {
        NODES_PER_RUN_IN_TEST.with(|n| n.set(per_run));
        let mut c = Cluster::new(Profile::new(ProfileKind::Default), 3);
        let lines = "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml\nkubectl create deployment web --image=nginx --replicas=5";
        let commands = script::parse(lines).expect("the script parses");
        script::run(&mut c, &commands, &crate::engine::kubectl::NoFiles);
        c.sim.run_for_ms(90_000);
        NODES_PER_RUN_IN_TEST.with(|n| n.set(None));
        crate::engine::metrics::read(&c.sim.api, &c.sim.world).map(|s| (*s).clone()).unwrap_or_default()
    }

    #[test]
    fn a_scrape_spread_over_runs_gives_the_same_window() {
        let whole = metrics_after_a_minute(None);
        let spread = metrics_after_a_minute(Some(1));
        assert!(whole.pods.len() >= 5 && whole.nodes.len() >= 2, "{whole:?}");
        assert_eq!(whole, spread);
    }
}
