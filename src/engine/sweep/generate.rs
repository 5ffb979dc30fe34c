//! The random runs: workloads and faults written as the script lines a
//! user would type, so a failing run is a script anyone can replay.
//!
//! Workloads come from [`WORKLOADS`] (Deployments, ReplicaSets, Jobs,
//! StatefulSets, DaemonSets), one entry per kind: how to create
//! one, and which of scale, rollout and delete it takes. Faults are every
//! stop and start the page offers, power, partitions, slowness, restarts,
//! and now and then an etcd restore from a snapshot saved earlier in the
//! run; each one started is ended in the run's tail, after which the
//! cluster has [`CONVERGE_MS`] to reach its desired state.
//!
//! Sizes stay within what the cluster can hold with two nodes down, so
//! convergence is always possible: a run that does not converge found a bug.

use std::collections::BTreeSet;

use crate::engine::cluster::Profile;

/// Virtual time the cluster gets after the last fault ends.
pub const CONVERGE_MS: u64 = 15 * 60_000;

/// One kind of workload the sweep drives.
pub struct WorkloadKind {
    /// kubectl's resource name (`deployment`).
    pub resource: &'static str,
    /// The manifest for a new one.
    pub manifest: fn(&Workload) -> String,
    /// Whether `kubectl scale` applies.
    pub scales: bool,
    /// Whether it rolls out a new template (`kubectl set image`, `rollout undo|restart`).
    pub rolls_out: bool,
    /// Whether its pods ask for a node each (`replicas` of them).
    pub long_running: bool,
}

/// A workload the run has created.
#[derive(Clone, Debug)]
pub struct Workload {
    pub kind: usize,
    pub name: String,
    pub replicas: u32,
    pub cpu_millis: u32,
    pub image: &'static str,
}

const IMAGES: &[&str] = &["nginx:1.27", "nginx:1.28", "httpd:2.4"];
const CPU_CHOICES: &[u32] = &[50, 100, 200];

fn requests(w: &Workload) -> String {
    format!("        resources:\n          requests:\n            cpu: {}m\n            memory: 32Mi\n", w.cpu_millis)
}

fn deployment(w: &Workload) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {n}\nspec:\n  replicas: {r}\n  selector:\n    matchLabels:\n      app: {n}\n  template:\n    metadata:\n      labels:\n        app: {n}\n    spec:\n      containers:\n      - name: app\n        image: {i}\n{q}",
        n = w.name,
        r = w.replicas,
        i = w.image,
        q = requests(w)
    )
}

fn replica_set(w: &Workload) -> String {
    format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: {n}\nspec:\n  replicas: {r}\n  selector:\n    matchLabels:\n      app: {n}\n  template:\n    metadata:\n      labels:\n        app: {n}\n    spec:\n      containers:\n      - name: app\n        image: {i}\n{q}",
        n = w.name,
        r = w.replicas,
        i = w.image,
        q = requests(w)
    )
}

fn job(w: &Workload) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {n}\nspec:\n  completions: {r}\n  parallelism: 2\n  backoffLimit: 20\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: work\n        image: busybox:1.36\n        command: [\"sleep\", \"20\"]\n{q}",
        n = w.name,
        r = w.replicas,
        q = requests(w)
    )
}

fn stateful_set(w: &Workload) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {n}\nspec:\n  replicas: {r}\n  serviceName: {n}\n  selector:\n    matchLabels:\n      app: {n}\n  template:\n    metadata:\n      labels:\n        app: {n}\n    spec:\n      containers:\n      - name: app\n        image: {i}\n{q}",
        n = w.name,
        r = w.replicas,
        i = w.image,
        q = requests(w)
    )
}

fn daemon_set(w: &Workload) -> String {
    format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: {n}\nspec:\n  selector:\n    matchLabels:\n      app: {n}\n  template:\n    metadata:\n      labels:\n        app: {n}\n    spec:\n      containers:\n      - name: app\n        image: {i}\n{q}",
        n = w.name,
        i = w.image,
        q = requests(w)
    )
}

/// Every kind of workload the sweep runs, one entry each.
pub const WORKLOADS: &[WorkloadKind] = &[
    WorkloadKind { resource: "deployment", manifest: deployment, scales: true, rolls_out: true, long_running: true },
    WorkloadKind { resource: "replicaset", manifest: replica_set, scales: true, rolls_out: false, long_running: true },
    WorkloadKind { resource: "job", manifest: job, scales: false, rolls_out: false, long_running: false },
    WorkloadKind { resource: "statefulset", manifest: stateful_set, scales: true, rolls_out: true, long_running: true },
    WorkloadKind { resource: "daemonset", manifest: daemon_set, scales: false, rolls_out: true, long_running: true },
];

/// The faults in force while a run is generated, so it can end them.
#[derive(Default)]
struct Faults {
    stopped: BTreeSet<String>,
    powered_off: BTreeSet<String>,
    partitioned: BTreeSet<String>,
    slow: BTreeSet<&'static str>,
}

impl Faults {
    fn nodes_down(&self) -> BTreeSet<String> {
        let mut nodes: BTreeSet<String> = self.powered_off.union(&self.partitioned).cloned().collect();
        nodes.extend(self.stopped.iter().filter_map(|c| c.strip_prefix("kubelet/")).map(str::to_string));
        nodes
    }
    fn any(&self) -> bool {
        !(self.stopped.is_empty() && self.powered_off.is_empty() && self.partitioned.is_empty() && self.slow.is_empty())
    }
}

/// One command of a generated run (several lines for a heredoc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// Starts or ends a fault.
    pub fault: bool,
}

pub struct Generator {
    rng: fastrand::Rng,
    nodes: Vec<String>,
    /// The control plane's stoppable components (`apiserver`, `etcd`,
    /// `scheduler`, `controller-manager`, the volume provisioner…).
    control_plane: Vec<String>,
    /// CPU millis the workloads may request in all.
    cpu_budget: u32,
    workloads: Vec<Workload>,
    faults: Faults,
    next_id: u32,
    /// Snapshots saved so far, with the workloads they hold.
    snapshots: Vec<Vec<Workload>>,
}

impl Generator {
    pub fn new(seed: u64, profile: &Profile) -> Self {
        // Whatever the profile's control plane runs, every piece can be stopped.
        let control_plane = crate::engine::cluster::Cluster::unbooted(profile.clone(), seed)
            .sim
            .component_states()
            .into_iter()
            .map(|c| c.name)
            .filter(|n| !n.contains('/'))
            .collect();
        let schedulable: Vec<_> = profile.nodes.iter().filter(|n| !n.tainted).collect();
        let smallest = schedulable.iter().map(|n| n.cpu_millis).min().unwrap_or(1000).max(0) as u32;
        // What one node can hold, with room for surges and fragments.
        let cpu_budget = smallest * 3 / 5;
        Generator {
            rng: fastrand::Rng::with_seed(seed ^ 0x7377_6565_7000),
            nodes: profile.nodes.iter().map(|n| n.name.clone()).collect(),
            control_plane,
            cpu_budget,
            workloads: Vec::new(),
            faults: Faults::default(),
            next_id: 0,
            snapshots: Vec::new(),
        }
    }

    fn cpu_in_use(&self) -> u32 {
        self.workloads.iter().filter(|w| WORKLOADS[w.kind].long_running).map(|w| w.cpu_millis * w.replicas).sum::<u32>()
            + self.workloads.iter().filter(|w| !WORKLOADS[w.kind].long_running).map(|w| w.cpu_millis * 2).sum::<u32>()
    }

    /// `steps` random commands, then the tail that ends every fault and waits.
    pub fn run(&mut self, steps: usize) -> Vec<Chunk> {
        let mut out = Vec::new();
        for i in 0..steps {
            let roll = self.rng.u32(..100);
            let chunk = if i == 0 || roll < 35 {
                self.workload_step()
            } else if roll < 70 {
                self.fault_step()
            } else {
                None
            };
            out.push(chunk.unwrap_or_else(|| self.sleep_step()));
        }
        out.extend(self.tail());
        out
    }

    fn sleep_step(&mut self) -> Chunk {
        let roll = self.rng.u32(..100);
        let text = if roll < 50 {
            format!("sleep {}s", self.rng.u32(1..=20))
        } else if roll < 85 {
            format!("sleep {}s", self.rng.u32(20..=90))
        } else {
            format!("sleep {}m", self.rng.u32(2..=7))
        };
        Chunk { text, fault: false }
    }

    fn workload_step(&mut self) -> Option<Chunk> {
        let roll = self.rng.u32(..100);
        if self.workloads.is_empty() || roll < 30 {
            return self.create();
        }
        let index = self.rng.usize(..self.workloads.len());
        let w = self.workloads[index].clone();
        let kind = &WORKLOADS[w.kind];
        let text = match self.rng.u32(..100) {
            r if r < 40 && kind.scales => {
                let replicas = self.rng.u32(0..=5);
                let extra = (replicas.saturating_sub(w.replicas)) * w.cpu_millis;
                if self.cpu_in_use() + extra > self.cpu_budget {
                    return None;
                }
                self.workloads[index].replicas = replicas;
                format!("kubectl scale {} {} --replicas={replicas}", kind.resource, w.name)
            }
            r if r < 75 && kind.rolls_out => match self.rng.u32(..3) {
                0 => format!("kubectl rollout restart {}/{}", kind.resource, w.name),
                1 => format!("kubectl rollout undo {}/{}", kind.resource, w.name),
                _ => {
                    let image = IMAGES[self.rng.usize(..IMAGES.len())];
                    self.workloads[index].image = image;
                    format!("kubectl set image {}/{} app={image}", kind.resource, w.name)
                }
            },
            r if r < 90 => format!("kubectl get {} -o wide", kind.resource),
            _ => {
                self.workloads.remove(index);
                format!("kubectl delete {} {}", kind.resource, w.name)
            }
        };
        Some(Chunk { text, fault: false })
    }

    fn create(&mut self) -> Option<Chunk> {
        let kind = self.rng.usize(..WORKLOADS.len());
        self.next_id += 1;
        let prefix: String = WORKLOADS[kind].resource.chars().take(3).collect();
        let w = Workload {
            kind,
            name: format!("{prefix}-{}", self.next_id),
            replicas: self.rng.u32(1..=4),
            cpu_millis: CPU_CHOICES[self.rng.usize(..CPU_CHOICES.len())],
            image: IMAGES[self.rng.usize(..2)],
        };
        let mut w = w;
        if !WORKLOADS[kind].scales && WORKLOADS[kind].long_running {
            // A DaemonSet: one pod on each node, so one on the node left holding the rest.
            w.replicas = 1;
        }
        let cost = if WORKLOADS[kind].long_running { w.replicas * w.cpu_millis } else { 2 * w.cpu_millis };
        if self.cpu_in_use() + cost > self.cpu_budget {
            return None;
        }
        let text = format!("kubectl apply -f - <<EOF\n{}EOF", (WORKLOADS[kind].manifest)(&w));
        self.workloads.push(w);
        Some(Chunk { text, fault: false })
    }

    fn fault_step(&mut self) -> Option<Chunk> {
        // End one in two faults in force; otherwise start one.
        if self.faults.any() && self.rng.bool() {
            return self.end_fault();
        }
        let node = self.nodes[self.rng.usize(..self.nodes.len())].clone();
        let down = self.faults.nodes_down();
        // At most two nodes out at once: the rest must hold every workload.
        let node_free = down.contains(&node) || down.len() < 2;
        let text = match self.rng.u32(..100) {
            r if r < 14 => {
                let c = self.control_plane.get(self.rng.usize(..self.control_plane.len().max(1)))?.clone();
                if !self.faults.stopped.insert(c.clone()) {
                    return None;
                }
                format!("stop {c}")
            }
            r if r < 30 && node_free => {
                let c = format!("kubelet/{node}");
                if self.faults.powered_off.contains(&node) || !self.faults.stopped.insert(c.clone()) {
                    return None;
                }
                format!("stop {c}")
            }
            r if r < 38 => {
                let c = format!("kube-proxy/{node}");
                if self.faults.powered_off.contains(&node) || !self.faults.stopped.insert(c.clone()) {
                    return None;
                }
                format!("stop {c}")
            }
            r if r < 52 && node_free => {
                if !self.faults.powered_off.insert(node.clone()) {
                    return None;
                }
                format!("stop node/{node}")
            }
            r if r < 70 && node_free => {
                if !self.faults.partitioned.insert(node.clone()) {
                    return None;
                }
                format!("partition node/{node}")
            }
            r if r < 82 => {
                let target = if self.rng.bool() { "apiserver" } else { "etcd" };
                self.faults.slow.insert(target);
                let ms = [100, 500, 1000, 2000, 5000][self.rng.usize(..5)];
                format!("slow {target} {ms}ms")
            }
            r if r < 88 => {
                if self.faults.powered_off.contains(&node) || self.faults.stopped.contains(&format!("kubelet/{node}")) {
                    return None;
                }
                format!("restart kubelet/{node}")
            }
            r if r < 91 => {
                let c = self.control_plane.get(self.rng.usize(..self.control_plane.len().max(1)))?.clone();
                if self.faults.stopped.contains(&c) {
                    return None;
                }
                format!("restart {c}")
            }
            r if r < 95 => {
                // Not a fault by itself: what a later restore goes back to.
                if self.faults.stopped.contains("etcd") {
                    return None;
                }
                self.snapshots.push(self.workloads.clone());
                return Some(Chunk { text: format!("etcdctl snapshot save snap-{}.db", self.snapshots.len()), fault: false });
            }
            _ => {
                if self.snapshots.is_empty() {
                    return None;
                }
                let k = self.rng.usize(..self.snapshots.len());
                // The workloads go back to what the snapshot holds.
                self.workloads = self.snapshots[k].clone();
                if self.rng.bool() {
                    format!("etcdutl snapshot restore snap-{}.db --bump-revision 1000000 --mark-compacted", k + 1)
                } else {
                    format!("etcdctl snapshot restore snap-{}.db", k + 1)
                }
            }
        };
        Some(Chunk { text, fault: true })
    }

    fn end_fault(&mut self) -> Option<Chunk> {
        let mut ends: Vec<String> = Vec::new();
        ends.extend(self.faults.stopped.iter().map(|c| format!("start {c}")));
        ends.extend(self.faults.powered_off.iter().map(|n| format!("start node/{n}")));
        ends.extend(self.faults.partitioned.iter().map(|n| format!("heal node/{n}")));
        ends.extend(self.faults.slow.iter().map(|t| format!("slow {t} 0s")));
        let text = ends.get(self.rng.usize(..ends.len().max(1)))?.clone();
        self.forget(&text);
        Some(Chunk { text, fault: true })
    }

    fn forget(&mut self, end: &str) {
        let mut words = end.split_whitespace();
        match (words.next(), words.next()) {
            (Some("start"), Some(target)) => match target.strip_prefix("node/") {
                Some(node) => {
                    self.faults.powered_off.remove(node);
                    // Power brings the node's agents back with it.
                    self.faults.stopped.remove(&format!("kubelet/{node}"));
                    self.faults.stopped.remove(&format!("kube-proxy/{node}"));
                }
                None => {
                    self.faults.stopped.remove(target);
                }
            },
            (Some("heal"), Some(target)) => {
                self.faults.partitioned.remove(target.trim_start_matches("node/"));
            }
            (Some("slow"), Some(target)) => {
                self.faults.slow.remove(if target == "etcd" { "etcd" } else { "apiserver" });
            }
            _ => {}
        }
    }

    /// Ends every fault in force (etcd and the API server first, nodes
    /// before their agents), then gives the cluster its time.
    fn tail(&mut self) -> Vec<Chunk> {
        let mut ends = Vec::new();
        for t in std::mem::take(&mut self.faults.slow) {
            ends.push(format!("slow {t} 0s"));
        }
        for c in ["etcd", "apiserver"].into_iter().map(str::to_string).chain(self.control_plane.clone()) {
            if self.faults.stopped.remove(&c) {
                ends.push(format!("start {c}"));
            }
        }
        for n in std::mem::take(&mut self.faults.partitioned) {
            ends.push(format!("heal node/{n}"));
        }
        for n in std::mem::take(&mut self.faults.powered_off) {
            ends.push(format!("start node/{n}"));
            self.faults.stopped.remove(&format!("kubelet/{n}"));
            self.faults.stopped.remove(&format!("kube-proxy/{n}"));
        }
        for c in std::mem::take(&mut self.faults.stopped) {
            ends.push(format!("start {c}"));
        }
        let mut out: Vec<Chunk> = ends.into_iter().map(|text| Chunk { text, fault: true }).collect();
        out.push(Chunk { text: format!("sleep {}m", CONVERGE_MS / 60_000), fault: false });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::ProfileKind;

    #[test]
    fn runs_parse_as_scripts_and_end_every_fault() {
        for seed in 0..50 {
            let chunks = Generator::new(seed, &Profile::new(ProfileKind::Default)).run(60);
            let text: String = chunks.iter().map(|c| format!("{}\n", c.text)).collect();
            let commands = crate::engine::script::parse(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
            assert_eq!(commands.len(), chunks.len());
            assert!(chunks.last().is_some_and(|c| c.text == "sleep 15m"));
        }
    }

    #[test]
    fn the_same_seed_writes_the_same_run() {
        let profile = Profile::new(ProfileKind::Default);
        assert_eq!(Generator::new(3, &profile).run(40), Generator::new(3, &profile).run(40));
        assert_ne!(Generator::new(3, &profile).run(40), Generator::new(4, &profile).run(40));
    }
}
