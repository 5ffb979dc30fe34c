//! The scheduler against a real API server and simulation loop.

use std::rc::Rc;

use serde_json::{json, Value};

use super::decision::FilterVerdict;
use super::Scheduler;
use crate::engine::api::{ids, Object, ObjectKey};
use crate::engine::apiserver::{ApiServer, DeleteOptions, Query};
use crate::engine::sim::Sim;

const GI: i64 = 1 << 30;

struct World {
    sim: Sim,
}

fn node_json(name: &str, cpu: &str, extra: Value) -> Value {
    let mut n = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
            "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    });
    merge(&mut n, extra);
    n
}

fn merge(into: &mut Value, extra: Value) {
    match (into, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn pod_json(name: &str, cpu: &str, extra: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    });
    merge(&mut p, extra);
    p
}

impl World {
    fn new() -> Self {
        let mut api = ApiServer::new(7, "172.18.0.2:6443");
        let ns = json!({"metadata": {"name": "default"}});
        api.create(Object::from_json(ids::namespaces(), ns).unwrap()).unwrap();
        // The controller manager would create it; pods are refused without it.
        let sa = json!({"metadata": {"name": "default", "namespace": "default"}});
        api.create(Object::from_json(ids::service_accounts(), sa).unwrap()).unwrap();
        let mut sim = Sim::new(7, api);
        sim.add(Box::new(Scheduler::new()));
        World { sim }
    }

    /// The default profile's shape: a tainted control plane and three 4-cpu workers.
    fn default_profile() -> Self {
        let mut w = World::new();
        w.node(node_json(
            "control-plane",
            "2",
            json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
        ));
        for i in 1..=3 {
            w.node(node_json(&format!("worker-{i}"), "4", json!({})));
        }
        w
    }

    /// A Ready node: created, then rid of the `not-ready` taint the
    /// TaintNodesByCondition admission gives every new node, as the node
    /// lifecycle controller does once the node reports Ready.
    fn node(&mut self, n: Value) {
        let created = self.sim.api.create(Object::from_json(ids::nodes(), n).unwrap()).unwrap();
        let name = created.meta().name.clone().unwrap();
        self.sim
            .api
            .modify(ids::nodes(), "", &name, false, |obj| {
                let Object::Node(node) = obj else { return false };
                let spec = node.spec.get_or_insert_with(Default::default);
                let taints: Vec<_> = spec.taints.take().unwrap_or_default().into_iter().filter(|t| t.key != "node.kubernetes.io/not-ready").collect();
                spec.taints = if taints.is_empty() { None } else { Some(taints) };
                true
            })
            .unwrap();
    }

    fn priority_class(&mut self, name: &str, value: i32, policy: &str) {
        let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "preemptionPolicy": policy});
        self.sim.api.create(Object::from_json(ids::priority_classes(), pc).unwrap()).unwrap();
    }

    fn pod(&mut self, p: Value) {
        self.sim.api.create(Object::from_json(ids::pods(), p).unwrap()).unwrap();
    }

    fn run_ms(&mut self, ms: u64) {
        self.sim.run_for_ms(ms);
    }

    fn node_of(&self, pod: &str) -> Option<String> {
        let obj = self.sim.api.get(ids::pods(), "default", pod).ok()?;
        let Object::Pod(p) = &*obj else { return None };
        p.spec.as_ref()?.node_name.clone()
    }

    fn events(&self, pod: &str, reason: &str) -> Vec<(String, i32, String)> {
        let (events, _) = self.sim.api.list(&Query::all(ids::events())).unwrap();
        events
            .iter()
            .filter_map(|e| match &**e {
                Object::Event(ev) if ev.involved_object.name.as_deref() == Some(pod) && ev.reason.as_deref() == Some(reason) => Some((
                    ev.message.clone().unwrap_or_default(),
                    ev.count.unwrap_or(0),
                    ev.source.as_ref().and_then(|s| s.component.clone()).unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }

    fn condition(&self, pod: &str) -> Option<(String, String, String)> {
        let obj = self.sim.api.get(ids::pods(), "default", pod).ok()?;
        let Object::Pod(p) = &*obj else { return None };
        let c = p.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "PodScheduled")?;
        Some((c.status.clone(), c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()))
    }

    fn scheduler(&self) -> &Scheduler {
        self.sim.component("scheduler").and_then(|c| c.as_any().downcast_ref::<Scheduler>()).expect("scheduler")
    }

    fn modify_node(&mut self, name: &str, change: impl Fn(&mut k8s_openapi::api::core::v1::Node)) {
        self.sim
            .api
            .modify(ids::nodes(), "", name, false, |obj| {
                if let Object::Node(n) = obj {
                    change(n);
                }
                true
            })
            .unwrap();
    }
}

#[test]
fn binds_and_records_scheduled_event() {
    let mut w = World::default_profile();
    w.pod(pod_json("web", "500m", json!({})));
    w.run_ms(100);
    let node = w.node_of("web").expect("bound");
    assert!(node.starts_with("worker-"), "{node}");
    let events = w.events("web", "Scheduled");
    assert_eq!(events, vec![(format!("Successfully assigned default/web to {node}"), 1, "default-scheduler".to_string())]);
    assert_eq!(w.condition("web").map(|c| c.0), Some("True".to_string()));
    let decision = w.scheduler().decision(&ObjectKey::new("default", "web")).expect("decision kept");
    assert_eq!(decision.chosen.as_deref(), Some(node.as_str()));
    assert_eq!(decision.nodes_total, 4);
    assert_eq!(decision.evaluated, 4);
    assert_eq!(decision.feasible, 3);
    // The chosen node leads, scored by every plugin but the skipped ones.
    assert_eq!(&*decision.nodes[0].node, node.as_str());
    assert!(decision.nodes[0].scores.iter().any(|s| s.plugin == "NodeResourcesFit"));
    assert!(decision.skipped_plugins.contains(&"NodeAffinity"));
    let cp = decision.nodes.iter().find(|v| &*v.node == "control-plane").expect("control plane verdict");
    assert_eq!(
        cp.filter,
        FilterVerdict::Failed {
            plugin: "TaintToleration",
            code: super::framework::Code::UnschedulableAndUnresolvable,
            reasons: vec!["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }".to_string()],
        }
    );
}

#[test]
fn failed_scheduling_messages_match_1_33() {
    struct Case {
        name: &'static str,
        setup: fn(&mut World),
        pod: Value,
        message: &'static str,
    }
    fn one_node(w: &mut World) {
        w.node(node_json("node-1", "4", json!({})));
    }
    let cases = [
        Case {
            name: "tainted control plane and too little cpu",
            setup: |w| {
                *w = World::default_profile();
                for i in 1..=3 {
                    w.pod(pod_json(&format!("hog-{i}"), "3", json!({"spec": {"nodeName": format!("worker-{i}")}})));
                }
            },
            pod: pod_json("big", "2", json!({})),
            message: "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.",
        },
        Case {
            name: "request larger than any node",
            setup: |w| *w = World::default_profile(),
            pod: pod_json("huge", "8", json!({})),
            message: "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
        },
        Case {
            name: "nodeSelector mismatch",
            setup: one_node,
            pod: pod_json("sel", "100m", json!({"spec": {"nodeSelector": {"disktype": "ssd"}}})),
            message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        },
        Case {
            name: "host port taken",
            setup: |w| {
                one_node(w);
                w.pod(pod_json("holder", "100m", json!({"spec": {"nodeName": "node-1",
                    "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 80}]}]}})));
            },
            pod: pod_json("ports", "100m", json!({"spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 80}]}]}})),
            message: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        },
        Case {
            name: "cordoned node",
            setup: |w| w.node(node_json("node-1", "4", json!({"spec": {"unschedulable": true}}))),
            pod: pod_json("cordon", "100m", json!({})),
            message: "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        },
        Case {
            name: "unreachable node",
            setup: |w| w.node(node_json("node-1", "4", json!({"spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]}}))),
            pod: pod_json("unreach", "100m", json!({})),
            message: "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        },
        Case {
            name: "preemptionPolicy Never",
            setup: |w| {
                one_node(w);
                w.priority_class("polite", 1000, "Never");
            },
            pod: pod_json("never", "5", json!({"spec": {"priorityClassName": "polite"}})),
            message: "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..",
        },
        Case {
            name: "lower-priority pods that would not free enough",
            setup: |w| {
                one_node(w);
                w.priority_class("high", 100, "PreemptLowerPriority");
                w.pod(pod_json("low", "1", json!({"spec": {"nodeName": "node-1"}})));
                w.pod(pod_json("same", "2500m", json!({"spec": {"nodeName": "node-1", "priorityClassName": "high"}})));
            },
            pod: pod_json("important", "2", json!({"spec": {"priorityClassName": "high"}})),
            message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.",
        },
    ];
    for case in cases {
        let mut w = World::new();
        (case.setup)(&mut w);
        let name = case.pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        w.pod(case.pod.clone());
        w.run_ms(100);
        assert_eq!(w.node_of(&name), None, "{}", case.name);
        let events = w.events(&name, "FailedScheduling");
        assert_eq!(events.len(), 1, "{}: {events:?}", case.name);
        assert_eq!(events[0].0, case.message, "{}", case.name);
        assert_eq!(events[0].2, "default-scheduler");
        assert_eq!(
            w.condition(&name),
            Some(("False".to_string(), "Unschedulable".to_string(), case.message.to_string())),
            "{}",
            case.name
        );
    }
}

#[test]
fn unschedulable_pod_is_retried_when_the_cluster_changes() {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({"spec": {"unschedulable": true}})));
    w.pod(pod_json("waiter", "100m", json!({})));
    w.run_ms(1_000);
    assert_eq!(w.node_of("waiter"), None);
    // A heartbeat-like change that helps nothing does not retry it.
    w.modify_node("node-1", |n| {
        n.metadata.annotations.get_or_insert_with(Default::default).insert("x".into(), "y".into());
    });
    w.run_ms(1_000);
    assert_eq!(w.events("waiter", "FailedScheduling")[0].1, 1);
    // Uncordoning moves it back and it binds.
    w.modify_node("node-1", |n| n.spec.get_or_insert_with(Default::default).unschedulable = None);
    w.run_ms(100);
    assert_eq!(w.node_of("waiter").as_deref(), Some("node-1"));

    // Freed resources: a pod blocked on cpu binds once the hog is deleted.
    w.pod(pod_json("hog", "3", json!({"spec": {"nodeName": "node-1"}})));
    w.pod(pod_json("blocked", "2", json!({})));
    w.run_ms(1_000);
    assert_eq!(w.node_of("blocked"), None);
    w.sim.api.delete(ids::pods(), "default", "hog", &DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }).unwrap();
    w.run_ms(100);
    assert_eq!(w.node_of("blocked").as_deref(), Some("node-1"));

    // A new node helps a pod that fit nowhere.
    w.pod(pod_json("wide", "8", json!({})));
    w.run_ms(1_000);
    assert_eq!(w.node_of("wide"), None);
    w.node(node_json("node-2", "16", json!({})));
    w.run_ms(100);
    assert_eq!(w.node_of("wide").as_deref(), Some("node-2"));
}

#[test]
fn unschedulable_pods_are_retried_after_five_minutes() {
    let mut w = World::new();
    w.node(node_json("node-1", "1", json!({})));
    w.pod(pod_json("big", "2", json!({})));
    w.run_ms(60_000);
    assert_eq!(w.events("big", "FailedScheduling")[0].1, 1);
    w.run_ms(5 * 60_000);
    assert_eq!(w.events("big", "FailedScheduling")[0].1, 2, "retried once after 5 minutes");
}

#[test]
fn spreads_pods_of_one_owner_across_nodes() {
    let mut w = World::new();
    for i in 1..=3 {
        w.node(node_json(&format!("node-{i}"), "32", json!({})));
    }
    // Pods of other owners already make node-1 busier on cpu; spreading and
    // least-allocated still both prefer balance across nodes.
    let owner = json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-uid-1", "controller": true}]}});
    for i in 0..9 {
        w.pod(pod_json(&format!("web-{i}"), "100m", owner.clone()));
    }
    w.run_ms(100);
    let mut per_node = std::collections::BTreeMap::new();
    for i in 0..9 {
        *per_node.entry(w.node_of(&format!("web-{i}")).expect("bound")).or_insert(0) += 1;
    }
    assert_eq!(per_node.values().copied().collect::<Vec<_>>(), vec![3, 3, 3], "{per_node:?}");
    let d = w.scheduler().decision(&ObjectKey::new("default", "web-8")).unwrap();
    assert!(d.nodes[0].scores.iter().any(|s| s.plugin == "PodTopologySpread"));
}

#[test]
fn skips_pods_it_is_not_responsible_for() {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({})));
    w.pod(pod_json("other", "100m", json!({"spec": {"schedulerName": "my-scheduler"}})));
    w.pod(pod_json("gated", "100m", json!({"spec": {"schedulingGates": [{"name": "example.com/wait"}]}})));
    w.run_ms(1_000);
    assert_eq!(w.node_of("other"), None);
    assert_eq!(w.node_of("gated"), None);
    assert!(w.events("other", "FailedScheduling").is_empty());
    assert_eq!(
        w.condition("gated"),
        Some(("False".into(), "SchedulingGated".into(), "Scheduling is blocked due to non-empty scheduling gates".into()))
    );
    // Removing the gate lets it through.
    w.sim
        .api
        .modify(ids::pods(), "default", "gated", false, |obj| {
            if let Object::Pod(p) = obj {
                if let Some(s) = p.spec.as_mut() {
                    s.scheduling_gates = None;
                }
            }
            true
        })
        .unwrap();
    w.run_ms(100);
    assert_eq!(w.node_of("gated").as_deref(), Some("node-1"));
}

#[test]
fn forgets_everything_on_stop_and_relists_on_start() {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({})));
    w.pod(pod_json("a", "3", json!({})));
    w.run_ms(100);
    assert_eq!(w.node_of("a").as_deref(), Some("node-1"));
    w.sim.stop("scheduler").unwrap();
    assert!(w.scheduler().decision(&ObjectKey::new("default", "a")).is_none());
    w.pod(pod_json("b", "2", json!({})));
    w.pod(pod_json("c", "500m", json!({})));
    w.run_ms(5_000);
    assert_eq!(w.node_of("b"), None);
    w.sim.start("scheduler").unwrap();
    w.run_ms(100);
    // The relisted cache knows "a" holds 3 cpu: "b" does not fit, "c" does.
    assert_eq!(w.node_of("b"), None);
    assert_eq!(w.node_of("c").as_deref(), Some("node-1"));
    assert_eq!(w.scheduler().cache().node("node-1").map(|n| n.requested.milli_cpu), Some(3500));
    assert_eq!(w.scheduler().cache().node("node-1").map(|n| n.requested.memory), Some(128 << 20));
    let _ = GI;
}

#[test]
fn survives_an_api_server_outage() {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({})));
    w.run_ms(100);
    w.sim.stop("apiserver").unwrap();
    w.run_ms(3_000);
    w.sim.start("apiserver").unwrap();
    w.pod(pod_json("late", "100m", json!({})));
    w.run_ms(3_000);
    assert_eq!(w.node_of("late").as_deref(), Some("node-1"));
}

#[test]
fn adaptive_node_sampling() {
    use super::num_feasible_nodes_to_find as n;
    assert_eq!(n(4), 4);
    assert_eq!(n(99), 99);
    assert_eq!(n(100), 100); // 49% of 100 is 49, raised to the minimum of 100
    assert_eq!(n(1_000), 420);
    assert_eq!(n(5_000), 500);
    assert_eq!(n(10_000), 500); // at least 5%
}

/// Throughput in a release build: `cargo test --release --lib scheduler_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn scheduler_throughput() {
    let nodes = 5_000;
    let pods = 50_000;
    let mut w = World::new();
    w.sim.activity.enabled = false;
    for i in 0..nodes {
        w.node(node_json(&format!("worker-{i}"), "32", json!({})));
    }
    w.sim.stop("scheduler").unwrap();
    for i in 0..pods {
        let owner = json!({"metadata": {"labels": {"app": format!("app-{}", i % 50)}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": format!("app-{}", i % 50), "uid": format!("uid-{}", i % 50), "controller": true}]}});
        w.pod(pod_json(&format!("p-{i}"), "10m", owner));
    }
    let start = std::time::Instant::now();
    let cpu_start = thread_cpu_seconds();
    w.sim.start("scheduler").unwrap();
    w.sim.settle();
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    let bound = w.scheduler().stats().bound;
    println!("scheduled {bound} of {pods} pods on {nodes} nodes in {secs:.2} s wall: {:.0} pods/s", bound as f64 / secs);
    if let Some(cpu) = cpu {
        println!("  {cpu:.2} s of CPU: {:.0} pods/s on an idle core", bound as f64 / cpu);
    }
    assert_eq!(bound, pods as u64);
    let _ = Rc::<str>::from("");
}

/// This thread's CPU time (Linux), so a busy machine does not hide the rate.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
