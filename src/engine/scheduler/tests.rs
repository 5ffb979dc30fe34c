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
        sim.add(Box::new(Scheduler::on_host("control-plane")));
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

    /// A ReplicaSet object (no controller runs here: it only gives default
    /// spreading its selector).
    fn replica_set(&mut self, name: &str, uid: &str, labels: Value) {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels.clone()}, "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
        self.sim.api.create(Object::from_json(ids::replica_sets(), rs).unwrap()).unwrap();
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
        p.node_name.clone()
    }

    fn events(&self, pod: &str, reason: &str) -> Vec<(String, i32, String)> {
        let (events, _) = self.sim.api.list(&Query::all(ids::events())).unwrap();
        events
            .iter()
            .filter_map(|e| match &**e {
                Object::Event(ev) if ev.involved_object.name.as_deref() == Some(pod) && ev.reason.as_deref() == Some(reason) => Some((
                    ev.message.clone().unwrap_or_default(),
                    // As kubectl counts: the series', else the count, else once.
                    ev.series.as_ref().and_then(|s| s.count).or(ev.count).unwrap_or(1),
                    // As `kubectl describe` shows who reported it.
                    ev.source.as_ref().and_then(|s| s.component.clone()).filter(|c| !c.is_empty()).or(ev.reporting_component.clone()).unwrap_or_default(),
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
    assert!(decision.node_scores(0).any(|s| s.plugin == "NodeResourcesFit"));
    assert!(decision.skipped_plugins.contains(&"NodeAffinity"));
    let cp = decision.nodes.iter().find(|v| &*v.node == "control-plane").expect("control plane verdict");
    let FilterVerdict::Failed(rejection) = &cp.filter else { panic!("the control plane was rejected: {:?}", cp.filter) };
    assert_eq!(
        (rejection.plugin, rejection.code, &rejection.reasons[..]),
        (
            "TaintToleration",
            super::framework::Code::UnschedulableAndUnresolvable,
            &["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }".to_string()][..]
        )
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
    // The first attempt's condition write gave the pod a new version, and an
    // Event about another version is another Event.
    let counts = |w: &World| w.events("big", "FailedScheduling").iter().map(|e| e.1).collect::<Vec<i32>>();
    assert_eq!(counts(&w), vec![1, 1], "retried once after 5 minutes");
    w.run_ms(5 * 60_000);
    let mut after = counts(&w);
    after.sort();
    assert_eq!(after, vec![1, 2], "the second Event of this version starts a series");
}

#[test]
fn spreads_pods_of_one_owner_across_nodes() {
    let mut w = World::new();
    for i in 1..=3 {
        w.node(node_json(&format!("node-{i}"), "32", json!({})));
    }
    // Default spreading counts the pods the owning ReplicaSet selects.
    w.replica_set("web-abc", "rs-uid-1", json!({"app": "web"}));
    let owner = json!({"metadata": {"labels": {"app": "web"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-uid-1", "controller": true}]}});
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
    assert!(d.node_scores(0).any(|s| s.plugin == "PodTopologySpread"));
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
                if let Some(s) = p.spec_mut_if_any() {
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

fn create(w: &mut World, group: &str, plural: &str, obj: Value) {
    let rid = crate::engine::api::find_resource(group, plural).unwrap();
    w.sim.api.create(Object::from_json(rid, obj).unwrap()).unwrap();
}

fn force_delete(w: &mut World, pod: &str) {
    w.sim.api.delete(ids::pods(), "default", pod, &DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }).unwrap();
}

fn pod_object(w: &World, pod: &str) -> crate::engine::api::pod::Pod {
    match &*w.sim.api.get(ids::pods(), "default", pod).unwrap() {
        Object::Pod(p) => *p.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn preempts_the_cheapest_victims_and_nominates_their_node() {
    let mut w = World::new();
    w.node(node_json("node-a", "4", json!({})));
    w.node(node_json("node-b", "4", json!({})));
    w.priority_class("low", 10, "PreemptLowerPriority");
    w.priority_class("high", 1000, "PreemptLowerPriority");
    let low = |node: &str, app: &str| json!({"metadata": {"labels": {"app": app}}, "spec": {"nodeName": node, "priorityClassName": "low"}});
    w.pod(pod_json("a1", "3", low("node-a", "db")));
    w.pod(pod_json("b1", "2", low("node-b", "web")));
    w.pod(pod_json("b2", "1500m", low("node-b", "web")));
    // The db pod's budget allows no disruption: node-a would break it.
    create(&mut w, "policy", "poddisruptionbudgets", json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "db", "namespace": "default"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}));
    w.run_ms(100);
    w.pod(pod_json("vip", "2", json!({"spec": {"priorityClassName": "high"}})));
    w.run_ms(100);
    assert_eq!(w.node_of("vip"), None);
    let vip = pod_object(&w, "vip");
    assert_eq!(vip.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()), Some("node-b"));
    assert_eq!(w.events("vip", "FailedScheduling")[0].0, "0/2 nodes are available: 2 Insufficient cpu.");
    // Only b2 goes: b1 alone leaves room (the more important victims are reprieved first).
    let b2 = pod_object(&w, "b2");
    assert!(b2.metadata.deletion_timestamp.is_some());
    let target = b2.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "DisruptionTarget")).cloned();
    assert_eq!(target.as_ref().and_then(|c| c.reason.as_deref()), Some("PreemptionByScheduler"));
    assert!(pod_object(&w, "b1").metadata.deletion_timestamp.is_none());
    assert!(pod_object(&w, "a1").metadata.deletion_timestamp.is_none());
    let uid = vip.metadata.uid.clone().unwrap_or_default();
    assert_eq!(w.events("b2", "Preempted"), vec![(format!("Preempted by pod {uid} on node node-b"), 1, "default-scheduler".to_string())]);
    let d = w.scheduler().decision(&ObjectKey::new("default", "vip")).unwrap();
    let p = d.preemption.as_ref().unwrap();
    assert_eq!(p.nominated.as_deref(), Some("node-b"));
    let a = p.candidates.iter().find(|c| &*c.node == "node-a").unwrap();
    assert_eq!(a.pdb_violations, 1);
    // While the victim terminates the pod waits; once it is gone the pod takes its nominated node.
    w.run_ms(10_000);
    assert_eq!(w.node_of("vip"), None);
    force_delete(&mut w, "b2");
    w.run_ms(2_000);
    assert_eq!(w.node_of("vip").as_deref(), Some("node-b"));
    assert!(w.scheduler().decision(&ObjectKey::new("default", "vip")).unwrap().nominated_node_first);
}

#[test]
fn required_anti_affinity_keeps_replicas_apart_and_is_symmetric() {
    let mut w = World::new();
    for i in 1..=3 {
        w.node(node_json(&format!("node-{i}"), "4", json!({})));
    }
    let anti = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}});
    for i in 0..4 {
        w.pod(pod_json(&format!("web-{i}"), "100m", anti.clone()));
    }
    w.run_ms(1_000);
    let mut nodes: Vec<String> = (0..4).filter_map(|i| w.node_of(&format!("web-{i}"))).collect();
    nodes.sort();
    assert_eq!(nodes, vec!["node-1", "node-2", "node-3"]);
    let pending = (0..4).map(|i| format!("web-{i}")).find(|p| w.node_of(p).is_none()).unwrap();
    assert_eq!(
        w.events(&pending, "FailedScheduling")[0].0,
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    // A plain pod matching their selector is kept away by the running pods' rule.
    w.pod(pod_json("plain", "100m", json!({"metadata": {"labels": {"app": "web"}}})));
    w.run_ms(1_000);
    assert_eq!(w.node_of("plain"), None);
    assert!(w.events("plain", "FailedScheduling")[0].0.starts_with("0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."));
    // The explanation says which rule and what would help.
    let e = super::explain::explain(&w.sim.api, Some(w.scheduler()), "default", &pending).unwrap();
    let text = super::explain::to_text(&e);
    assert!(text.contains("InterPodAffinity: node(s) didn't match pod anti-affinity rules"), "{text}");
    assert!(text.contains("add a node in a new kubernetes.io/hostname domain"), "{text}");
}

#[test]
fn the_explanation_groups_a_hundred_nodes_by_their_verdicts() {
    let mut w = World::new();
    for i in 0..100 {
        let extra = match i {
            0..40 => json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            40..99 => json!({"metadata": {"labels": {"disktype": "hdd"}}}),
            _ => json!({"metadata": {"labels": {"disktype": "ssd"}}}),
        };
        w.node(node_json(&format!("node-{i:03}"), "4", extra));
    }
    w.pod(pod_json("db", "100m", json!({"spec": {"nodeSelector": {"disktype": "ssd"}}})));
    w.run_ms(500);
    assert_eq!(w.node_of("db").as_deref(), Some("node-099"));
    let e = super::explain::explain(&w.sim.api, Some(w.scheduler()), "default", "db").unwrap();
    let rows = &e.attempt.as_ref().unwrap().rows;
    let shape: Vec<(usize, bool, bool)> = rows.iter().map(|r| (r.nodes.len(), r.feasible, r.chosen)).collect();
    assert_eq!(shape, vec![(1, true, true), (59, false, false), (40, false, false)]);
    assert_eq!(&*rows[0].nodes[0], "node-099");
    let text = super::explain::to_text(&e);
    assert!(text.contains("node-040, node-041 … node-098 (59 nodes)   NodeAffinity: node(s) didn't match Pod's node affinity/selector"), "{text}");
    assert!(text.contains("(40 nodes)   TaintToleration: node(s) had untolerated taint {dedicated: gpu}"), "{text}");
}

#[test]
fn node_affinity_naming_a_node_filters_only_that_node() {
    let pinned = |node: &str| json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}}});
    let mut w = World::default_profile();
    w.pod(pod_json("agent", "100m", pinned("worker-2")));
    w.pod(pod_json("big", "8", pinned("worker-1")));
    w.run_ms(500);
    assert_eq!(w.node_of("agent").as_deref(), Some("worker-2"));
    let d = w.scheduler().decision(&ObjectKey::new("default", "agent")).expect("decision kept");
    assert_eq!((d.nodes_total, d.evaluated, d.feasible), (4, 1, 1));
    let e = super::explain::explain(&w.sim.api, Some(w.scheduler()), "default", "agent").unwrap();
    let rows = &e.attempt.as_ref().unwrap().rows;
    let shape: Vec<(String, bool, Option<String>)> = rows.iter().map(|r| (r.label(), r.chosen, r.not_considered.clone())).collect();
    let reason = "node(s) didn't satisfy plugin(s) [NodeAffinity]".to_string();
    assert_eq!(shape, vec![("worker-2".to_string(), true, None), ("control-plane, worker-1, worker-3".to_string(), false, Some(reason))]);
    // The other nodes count under PreFilter's reason, as upstream's absent nodes do.
    assert_eq!(w.node_of("big"), None);
    let failed = w.events("big", "FailedScheduling");
    assert!(failed.first().is_some_and(|(m, _, _)| m.starts_with("0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity].")), "{failed:?}");
}

#[test]
fn nodes_a_pin_leaves_out_are_counted_and_the_first_recorded() {
    let pinned = |nodes: &[&str]| json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": nodes}]}]}}}}});
    let mut w = World::new();
    for i in 0..150 {
        w.node(node_json(&format!("node-{i:03}"), "4", json!({})));
    }
    w.pod(pod_json("agent", "100m", pinned(&["node-120"])));
    w.pod(pod_json("big", "8", pinned(&["node-007"])));
    // Naming two nodes (in the opposite of node-tree order) evaluates both, and neither is recorded as absent.
    // Each is a term of its own: validation allows one name in an `In` on `metadata.name`.
    let pair = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-140"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-003"]}]}]}}}}});
    w.pod(pod_json("pair", "100m", pair));
    w.run_ms(500);
    assert_eq!(w.node_of("agent").as_deref(), Some("node-120"));
    let d = w.scheduler().decision(&ObjectKey::new("default", "agent")).expect("decision kept");
    assert_eq!((d.nodes_total, d.evaluated, d.feasible, d.nodes.len(), d.omitted), (150, 1, 1, 100, 50));
    let absent: Vec<&str> = d.nodes.iter().skip(1).map(|v| &*v.node).collect();
    let expected: Vec<String> = (0..150).filter(|&i| i != 120).take(99).map(|i| format!("node-{i:03}")).collect();
    assert_eq!(absent, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(d.nodes.iter().skip(1).all(|v| matches!(&v.filter, super::decision::FilterVerdict::NotConsidered { reason } if &**reason == "node(s) didn't satisfy plugin(s) [NodeAffinity]")));
    let failed = w.events("big", "FailedScheduling");
    assert!(failed.first().is_some_and(|(m, _, _)| m.starts_with("0/150 nodes are available: 1 Insufficient cpu, 149 node(s) didn't satisfy plugin(s) [NodeAffinity].")), "{failed:?}");
    let pair = w.scheduler().decision(&ObjectKey::new("default", "pair")).expect("decision kept");
    assert_eq!((pair.evaluated, pair.feasible, pair.omitted), (2, 2, 50));
    assert!(pair.nodes.iter().skip(2).all(|v| v.node.as_ref() != "node-003" && v.node.as_ref() != "node-140"));
}

/// A StorageClass, claim and pod for volume binding tests.
fn volume_world(provisioner: &str) -> World {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({})));
    w.node(node_json("node-2", "4", json!({})));
    create(&mut w, "storage.k8s.io", "storageclasses", json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local"}, "provisioner": provisioner, "volumeBindingMode": "WaitForFirstConsumer"}));
    create(&mut w, "", "persistentvolumeclaims", json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}));
    w
}

fn claim_of(w: &World) -> k8s_openapi::api::core::v1::PersistentVolumeClaim {
    let rid = crate::engine::api::find_resource("", "persistentvolumeclaims").unwrap();
    match &*w.sim.api.get(rid, "default", "data").unwrap() {
        Object::PersistentVolumeClaim(c) => *c.clone(),
        _ => unreachable!(),
    }
}

fn with_claim(name: &str) -> Value {
    pod_json(name, "100m", json!({"spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}))
}

#[test]
fn binds_wait_for_first_consumer_volumes_before_the_pod() {
    let mut w = volume_world("kubernetes.io/no-provisioner");
    create(&mut w, "", "persistentvolumes", json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-2"},
        "spec": {"storageClassName": "local", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}}}));
    let pv_rid = crate::engine::api::find_resource("", "persistentvolumes").unwrap();
    w.sim.api.modify(pv_rid, "", "pv-2", true, |o| {
        if let Object::PersistentVolume(v) = o {
            v.status.get_or_insert_with(Default::default).phase = Some("Available".into());
        }
        true
    }).unwrap();
    w.pod(with_claim("app"));
    w.run_ms(500);
    // PreBind wrote the claimRef; the pod waits for the PV controller.
    assert_eq!(w.node_of("app"), None);
    let pv = match &*w.sim.api.get(pv_rid, "", "pv-2").unwrap() {
        Object::PersistentVolume(v) => v.clone(),
        _ => unreachable!(),
    };
    assert_eq!(pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).and_then(|r| r.name.as_deref()), Some("data"));
    assert_eq!(w.scheduler().waiting_for_volumes(&ObjectKey::new("default", "app")), Some("node-2"));
    // What the PV controller does: bind the claim.
    let pvc_rid = crate::engine::api::find_resource("", "persistentvolumeclaims").unwrap();
    w.sim.api.modify(pvc_rid, "default", "data", false, |o| {
        if let Object::PersistentVolumeClaim(c) = o {
            c.spec.get_or_insert_with(Default::default).volume_name = Some("pv-2".into());
            c.metadata.annotations.get_or_insert_with(Default::default).insert("pv.kubernetes.io/bind-completed".into(), "yes".into());
        }
        true
    }).unwrap();
    w.run_ms(2_000);
    assert_eq!(w.node_of("app").as_deref(), Some("node-2"));
    assert_eq!(w.events("app", "Scheduled")[0].0, "Successfully assigned default/app to node-2");
}

#[test]
fn selects_a_node_for_provisioning_and_gives_up_after_600_seconds() {
    let mut w = volume_world("example.com/nobody-runs-this");
    w.pod(with_claim("app"));
    w.run_ms(500);
    let pvc = claim_of(&w);
    let selected = pvc.metadata.annotations.as_ref().and_then(|a| a.get("volume.kubernetes.io/selected-node")).cloned();
    assert!(selected.as_deref().is_some_and(|n| n.starts_with("node-")), "{selected:?}");
    w.run_ms(590_000);
    assert!(w.events("app", "FailedScheduling").is_empty(), "still waiting in PreBind");
    w.run_ms(11_000);
    assert_eq!(w.node_of("app"), None);
    assert_eq!(w.events("app", "FailedScheduling")[0].0, "running PreBind plugin \"VolumeBinding\": binding volumes: context deadline exceeded");
    assert_eq!(w.condition("app").map(|c| c.1), Some("SchedulerError".to_string()));
}

#[test]
fn refuses_pods_whose_claims_cannot_bind_yet() {
    let mut w = World::new();
    w.node(node_json("node-1", "4", json!({})));
    create(&mut w, "storage.k8s.io", "storageclasses", json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "fast"}, "provisioner": "example.com/fast", "volumeBindingMode": "Immediate"}));
    create(&mut w, "", "persistentvolumeclaims", json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"storageClassName": "fast", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}));
    w.pod(with_claim("immediate"));
    w.pod(pod_json("missing", "100m", json!({"spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "nope"}}]}})));
    w.run_ms(500);
    assert_eq!(
        w.events("immediate", "FailedScheduling")[0].0,
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    assert_eq!(
        w.events("missing", "FailedScheduling")[0].0,
        "0/1 nodes are available: persistentvolumeclaim \"nope\" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
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
    // The owners exist, so default spreading counts the pods their
    // selectors match (as it did by owner before selectors were modelled).
    for i in 0..50 {
        w.replica_set(&format!("app-{i}"), &format!("uid-{i}"), json!({"app": format!("app-{i}")}));
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
