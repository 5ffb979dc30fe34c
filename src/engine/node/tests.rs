//! Kubelet scenarios on a booted default cluster (no scheduler involved: pods
//! are bound with the binding subresource as the scheduler would).

use k8s_openapi::api::core::v1::{Event, Node};
use crate::engine::api::pod::Pod;
use serde_json::{json, Value};

use crate::engine::api::{ids, meta, Object};
use crate::engine::apiserver::{DeleteOptions, Query};
use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::node::Kubelet;
use crate::engine::sim::clock::VirtualTime;

pub(crate) fn cluster() -> Cluster {
    Cluster::new(Profile::new(ProfileKind::Default), 7)
}

pub(crate) fn run_pod(c: &mut Cluster, spec: Value, node: &str) -> String {
    let name = spec["metadata"]["name"].as_str().unwrap_or("p").to_string();
    let mut v = spec;
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Pod");
    let pod: Pod = serde_json::from_value(v).expect("pod json");
    c.sim.api.create(Object::Pod(Box::new(pod))).expect("create");
    c.sim.api.bind("default", &name, node).expect("bind");
    name
}

pub(crate) fn get_pod(c: &Cluster, name: &str) -> Option<Pod> {
    match c.sim.api.get(ids::pods(), "default", name).ok().as_deref() {
        Some(Object::Pod(p)) => Some(*p.clone()),
        _ => None,
    }
}

pub(crate) fn get_node(c: &Cluster, name: &str) -> Node {
    match c.sim.api.get(ids::nodes(), "", name).ok().as_deref() {
        Some(Object::Node(n)) => *n.clone(),
        _ => panic!("node {name} missing"),
    }
}

/// (seconds since `since`, reason, message) of events about `name`, oldest first.
pub(crate) fn events(c: &Cluster, name: &str, since: VirtualTime) -> Vec<(u64, String, String)> {
    let (items, _) = c.sim.api.list(&Query::all(ids::events())).expect("list events");
    let mut out: Vec<(VirtualTime, String, String, String)> = items
        .iter()
        .filter_map(|o| match &**o {
            Object::Event(e) if e.involved_object.name.as_deref() == Some(name) => Some((**e).clone()),
            _ => None,
        })
        .map(|e: Event| {
            let micro = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime| meta::virtual_of(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0));
            let t = e.first_timestamp.as_ref().map(meta::virtual_of).or(e.event_time.as_ref().map(micro)).unwrap_or_default();
            (t, e.metadata.name.clone().unwrap_or_default(), e.reason.unwrap_or_default(), e.message.unwrap_or_default())
        })
        .collect();
    out.sort();
    out.into_iter().map(|(t, _, r, m)| (t.millis_since(since) / 1000, r, m)).collect()
}

fn reasons(evs: &[(u64, String, String)]) -> Vec<&str> {
    evs.iter().map(|(_, r, _)| r.as_str()).collect()
}

pub(crate) fn phase(p: &Pod) -> String {
    p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()
}

fn state(p: &Pod, i: usize) -> Value {
    let s = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|v| v.get(i)).cloned();
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn condition(p: &Pod, type_: &str) -> String {
    p.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == type_)).map(|c| c.status.clone()).unwrap_or_default()
}

/// Container logs as the node's kubelet serves them.
fn logs(c: &Cluster, node: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<String, String> {
    kubelet(c, node).logs(c.sim.world.machine(node).expect("machine"), "default", pod, container, previous)
}

fn kubelet<'a>(c: &'a Cluster, node: &str) -> &'a Kubelet {
    c.sim.component(&format!("kubelet/{node}")).and_then(|k| k.as_any().downcast_ref::<Kubelet>()).expect("kubelet")
}

#[test]
fn nodes_register_ready_with_lease() {
    let c = cluster();
    for name in ["control-plane", "worker-1", "worker-2", "worker-3"] {
        let node = get_node(&c, name);
        let status = node.status.clone().unwrap();
        let ready = status.conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("True", Some("KubeletReady")), "{name}");
        assert_eq!(status.node_info.as_ref().unwrap().kubelet_version, "v1.33.1");
        assert_eq!(status.node_info.as_ref().unwrap().container_runtime_version, "containerd://2.1.1");
        assert_eq!(status.capacity.as_ref().unwrap()["pods"].0, "110");
        let labels = node.metadata.labels.clone().unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], name);
        let lease = c.sim.api.get(ids::leases(), "kube-node-lease", name).expect("lease");
        let Object::Lease(l) = &*lease else { panic!() };
        assert_eq!(l.spec.as_ref().unwrap().lease_duration_seconds, Some(40));
    }
    let cp = get_node(&c, "control-plane");
    assert_eq!(cp.spec.unwrap().taints.unwrap()[0].key, "node-role.kubernetes.io/control-plane");
    assert!(cp.metadata.labels.unwrap().contains_key("node-role.kubernetes.io/control-plane"));
    let evs = events(&c, "worker-1", VirtualTime::ZERO);
    let rs = reasons(&evs);
    assert!(rs.starts_with(&["Starting", "NodeAllocatableEnforced", "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"]), "{rs:?}");
    assert!(rs.contains(&"NodeReady"), "{rs:?}");
}

#[test]
fn minikube_node_runs_docker() {
    let c = Cluster::new(Profile::new(ProfileKind::Minikube), 3);
    let node = get_node(&c, "minikube");
    assert_eq!(node.status.unwrap().node_info.unwrap().container_runtime_version, "docker://28.1.1");
    assert_eq!(node.metadata.labels.unwrap()["minikube.k8s.io/name"], "minikube");
}

#[test]
fn pod_goes_from_container_creating_to_running_with_events_in_order() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    c.sim.run_for_ms(500);
    let p = get_pod(&c, "web").unwrap();
    assert_eq!(phase(&p), "Pending");
    assert_eq!(state(&p, 0)["state"]["waiting"]["reason"], "ContainerCreating");
    assert_eq!(p.status.as_ref().unwrap().host_ip.as_deref(), Some("172.18.0.3"));
    c.sim.run_for_ms(15_000);
    let p = get_pod(&c, "web").unwrap();
    assert_eq!(phase(&p), "Running");
    assert_eq!(condition(&p, "Ready"), "True");
    assert_eq!(condition(&p, "PodReadyToStartContainers"), "True");
    let s = state(&p, 0);
    assert!(s["state"]["running"]["startedAt"].is_string());
    assert_eq!(s["image"], "docker.io/library/nginx:latest");
    assert!(s["containerID"].as_str().unwrap().starts_with("containerd://"));
    // An address from worker-1's pod CIDR (kube-system's add-ons may hold the first ones).
    assert!(p.status.as_ref().unwrap().pod_ip.as_deref().is_some_and(|ip| ip.starts_with("10.244.1.")));
    let evs = events(&c, "web", t0);
    assert_eq!(reasons(&evs), vec!["Pulling", "Pulled", "Created", "Started"]);
    assert_eq!(evs[0].2, "Pulling image \"nginx\"");
    let pulled_in = evs[1].2.strip_prefix("Successfully pulled image \"nginx\" in ").and_then(|r| r.split('s').next()).and_then(|n| n.parse::<f64>().ok());
    assert!(pulled_in.is_some_and(|s| (6.0..8.0).contains(&s)), "{}", evs[1].2);
    assert!(evs[1].2.ends_with("including waiting). Image size: 72188133 bytes."), "{}", evs[1].2);
    assert_eq!(evs[2].2, "Created container: nginx");
    assert_eq!(evs[3].2, "Started container nginx");
    // A 72 MB pull at 12 MB/s after a ~1 s sandbox: Started 7–10 s after binding.
    assert!((7..=10).contains(&evs[3].0), "{evs:?}");
    let logs = logs(&c, "worker-1", "web", None, false).unwrap();
    assert!(logs.starts_with("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty"), "{logs}");

    // A second pod with a tagged image already present skips the pull.
    let t1 = c.now();
    run_pod(&mut c, json!({"metadata": {"name": "web2"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}]}}), "worker-1");
    c.sim.run_for_ms(5_000);
    let evs = events(&c, "web2", t1);
    assert_eq!(evs[0].2, "Container image \"nginx:latest\" already present on machine");
    assert_eq!(phase(&get_pod(&c, "web2").unwrap()), "Running");
}

/// The kubelet sets a pod's status when a sync begins, then does the
/// runtime's work (sandbox, pull, create, start) in that one sync: while the
/// image is pulled the pod shows `ContainerCreating` with no IP and its
/// sandbox not ready, and the next status, after the start, is `Running`
/// with the IP, the sandbox's condition turning true with the others.
#[test]
fn a_pod_pulling_its_image_shows_its_first_status_until_it_runs() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    let mut seen: Vec<(String, Option<String>, String, String)> = Vec::new();
    for _ in 0..60 {
        c.sim.run_for_ms(250);
        let p = get_pod(&c, "web").unwrap();
        let status = p.status.as_deref().cloned().unwrap_or_default();
        let waiting = state(&p, 0)["state"]["waiting"]["reason"].as_str().unwrap_or("").to_string();
        let now = (phase(&p), status.pod_ip.clone(), condition(&p, "PodReadyToStartContainers"), waiting);
        if seen.last() != Some(&now) {
            seen.push(now);
        }
    }
    assert_eq!(
        seen,
        vec![
            ("Pending".to_string(), None, "False".to_string(), "ContainerCreating".to_string()),
            ("Running".to_string(), seen.last().and_then(|s| s.1.clone()), "True".to_string(), String::new()),
        ]
    );
    assert!(seen[1].1.is_some(), "{seen:?}");
    let p = get_pod(&c, "web").unwrap();
    let conditions = p.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let changed = |t: &str| conditions.iter().find(|c| c.type_ == t).and_then(|c| c.last_transition_time.clone());
    assert_eq!(changed("PodReadyToStartContainers"), changed("Ready"));

    // A readiness probe changes nothing here: no container runs yet.
    run_pod(&mut c, json!({"metadata": {"name": "probed"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "readinessProbe": {"tcpSocket": {"port": 80}}}]}}), "worker-2");
    let mut pending_with_ip = false;
    let mut running = false;
    for _ in 0..80 {
        c.sim.run_for_ms(250);
        let p = get_pod(&c, "probed").unwrap();
        pending_with_ip |= phase(&p) == "Pending" && p.status.as_ref().is_some_and(|s| s.pod_ip.is_some());
        running |= phase(&p) == "Running";
    }
    assert!(running && !pending_with_ip, "running {running}, pending with an IP {pending_with_ip}");
}

/// Pods starting side by side: a full sync for one pod's timed step passes
/// over the others while they wait, looking only at the pods that are not
/// quiet (debug builds still sync each passed-over pod and assert the sync
/// changes nothing), and every pod ends Running with the events it would
/// have had anyway.
#[test]
fn full_syncs_pass_over_quiet_pods() {
    let mut c = cluster();
    let t0 = c.now();
    for i in 0..6 {
        run_pod(&mut c, json!({"metadata": {"name": format!("web-{i}")}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    }
    let before = kubelet(&c, "worker-1").quiet_passes();
    let unsettled_before = kubelet(&c, "worker-1").unsettled_syncs();
    c.sim.run_for_ms(30_000);
    assert!(kubelet(&c, "worker-1").quiet_passes() > before, "no sync was passed over");
    assert!(kubelet(&c, "worker-1").unsettled_syncs() > unsettled_before, "no full sync looked at the unsettled pods alone");
    for i in 0..6 {
        let name = format!("web-{i}");
        assert_eq!(phase(&get_pod(&c, &name).unwrap()), "Running", "{name}");
        assert_eq!(reasons(&events(&c, &name, t0)), vec!["Pulling", "Pulled", "Created", "Started"], "{name}");
    }
}

/// What `kubectl get pods` shows for the pod's first container: its
/// waiting or terminated reason, or `Running`.
fn shown_state(p: &Pod) -> String {
    let s = state(p, 0);
    let st = &s["state"];
    st["waiting"]["reason"].as_str().or(st["terminated"]["reason"].as_str()).unwrap_or(if st["running"].is_object() { "Running" } else { "" }).to_string()
}

/// A crashing container restarts at once the first time; after that each
/// sync in the back-off (10 s, then 20 s, 40 s) fails, and the restart
/// comes with the first of the pod worker's retries (10 to 15 s apart)
/// once the back-off has passed. The status shows the exit (`Error`)
/// until the retry after it, then `CrashLoopBackOff`.
#[test]
fn crash_loop_restarts_at_the_first_retry_after_each_back_off() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "crash"}, "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "echo boom; exit 1"]}]}}), "worker-2");
    let mut starts: Vec<u64> = Vec::new();
    let mut last_id = String::new();
    // (ms since t0, what the status shows) at each change.
    let mut shown: Vec<(u64, String)> = Vec::new();
    let t0 = c.now();
    for _ in 0..2_000 {
        c.sim.run_for_ms(100);
        let p = get_pod(&c, "crash").unwrap();
        let ms = c.now().millis_since(t0);
        let id = state(&p, 0)["containerID"].as_str().unwrap_or("").to_string();
        if !id.is_empty() && id != last_id {
            last_id = id;
            starts.push(ms);
        }
        let now = shown_state(&p);
        if shown.last().map(|s| &s.1) != Some(&now) {
            shown.push((ms, now));
        }
    }
    let gaps: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    // Each restart also re-pulls busybox (policy Always) and creates the
    // container: up to 2.5 s more.
    assert!(gaps.len() >= 4, "{starts:?}");
    for (gap, (backoff, retries)) in gaps.iter().zip([(0u64, 0u64), (10_000, 15_000), (20_000, 30_000), (40_000, 60_000)]) {
        assert!((backoff..retries + 2_500).contains(gap), "{starts:?}");
    }
    let crash_loops: Vec<usize> = (0..shown.len()).filter(|&i| shown[i].1 == "CrashLoopBackOff").collect();
    assert!(crash_loops.len() >= 3, "{shown:?}");
    // 10 to 15 s after the exit, give or take the sampling, and the
    // first crash's quick restart: its Error shows from the first exit.
    for i in crash_loops {
        let (before, at) = (&shown[i - 1], shown[i].0);
        assert_eq!(before.1, "Error", "{shown:?}");
        assert!((9_900..=16_500).contains(&(at - before.0)), "{shown:?}");
    }
    let p = get_pod(&c, "crash").unwrap();
    let s = state(&p, 0);
    assert_eq!(s["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(s["lastState"]["terminated"]["exitCode"], 1);
    let evs = events(&c, "crash", t0);
    let uid = p.metadata.uid.clone().unwrap();
    let backoff = format!("Back-off restarting failed container app in pod crash_default({uid})");
    assert!(evs.iter().any(|e| e.1 == "BackOff" && e.2 == backoff), "{evs:?}");
    // At least one a sync: the second back-off alone takes two.
    assert!(event_count(&c, "crash", &backoff) >= 4);
    let logs = logs(&c, "worker-2", "crash", Some("app"), true).unwrap();
    assert_eq!(logs, "boom\n");
}

#[test]
fn crash_loop_shows_waiting_reason_and_message() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "crash"}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}}), "worker-2");
    let mut first = None;
    for _ in 0..400 {
        c.sim.run_for_ms(100);
        let p = get_pod(&c, "crash").unwrap();
        if shown_state(&p) == "CrashLoopBackOff" {
            first = Some(p);
            break;
        }
    }
    let p = first.expect("CrashLoopBackOff within 40 s");
    let s = state(&p, 0);
    let msg = s["state"]["waiting"]["message"].as_str().unwrap();
    assert!(msg.starts_with("back-off 10s restarting failed container=app pod=crash_default("), "{msg}");
    assert_eq!(s["lastState"]["terminated"]["reason"], "Completed");
    assert_eq!(s["restartCount"], 1);
}

#[test]
fn init_containers_run_first_in_order() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "init"}, "spec": {
            "initContainers": [{"name": "wait", "image": "busybox", "command": ["sh", "-c", "echo waiting; sleep 5"]}],
            "containers": [{"name": "web", "image": "nginx"}]}}),
        "worker-1",
    );
    c.sim.run_for_ms(3_000);
    let p = get_pod(&c, "init").unwrap();
    assert_eq!(phase(&p), "Pending");
    assert_eq!(condition(&p, "Initialized"), "False");
    assert_eq!(state(&p, 0)["state"]["waiting"]["reason"], "PodInitializing");
    c.sim.run_for_ms(20_000);
    let p = get_pod(&c, "init").unwrap();
    assert_eq!(phase(&p), "Running");
    assert_eq!(condition(&p, "Initialized"), "True");
    let init = serde_json::to_value(&p.status.as_ref().unwrap().init_container_statuses).unwrap();
    assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
    let evs = events(&c, "init", t0);
    let started: Vec<&str> = evs.iter().filter(|e| e.1 == "Started").map(|e| e.2.as_str()).collect();
    assert_eq!(started, vec!["Started container wait", "Started container web"]);
}

#[test]
fn restart_policy_never_with_exit_1_fails_the_pod() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "once"}, "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox", "command": ["sh", "-c", "sleep 2; exit 1"]}]}}), "worker-3");
    c.sim.run_for_ms(10_000);
    let p = get_pod(&c, "once").unwrap();
    assert_eq!(phase(&p), "Failed");
    let s = state(&p, 0);
    assert_eq!(s["state"]["terminated"]["reason"], "Error");
    assert_eq!(s["state"]["terminated"]["exitCode"], 1);
    assert_eq!(s["restartCount"], 0);
    c.sim.run_for_ms(30_000);
    assert_eq!(state(&get_pod(&c, "once").unwrap(), 0)["restartCount"], 0);
    assert_eq!(condition(&get_pod(&c, "once").unwrap(), "PodReadyToStartContainers"), "False");
}

/// The docs' memory walkthrough: `stress` allocating past the container's
/// memory limit is OOM-killed (137, `OOMKilled`) and restarted; within the
/// limit it runs, and the kubelet's summary shows what it holds.
#[test]
fn a_load_past_its_memory_limit_is_oom_killed_and_one_within_runs() {
    let mut c = cluster();
    let stress = |name: &str, bytes: &str, limit: &str, policy: &str| {
        json!({"metadata": {"name": name}, "spec": {"restartPolicy": policy, "containers": [{
            "name": "ctr", "image": "polinux/stress", "command": ["stress"],
            "args": ["--vm", "1", "--vm-bytes", bytes, "--vm-hang", "1"],
            "resources": {"requests": {"memory": "50Mi"}, "limits": {"memory": limit}}}]}})
    };
    run_pod(&mut c, stress("past", "250M", "100Mi", "Never"), "worker-1");
    run_pod(&mut c, stress("within", "150M", "200Mi", "Always"), "worker-2");
    run_pod(&mut c, stress("again", "250M", "100Mi", "Always"), "worker-3");
    c.sim.run_for_ms(20_000);
    let p = get_pod(&c, "past").unwrap();
    assert_eq!(phase(&p), "Failed");
    let s = state(&p, 0);
    assert_eq!((s["state"]["terminated"]["reason"].clone(), s["state"]["terminated"]["exitCode"].clone()), (json!("OOMKilled"), json!(137)), "{s}");
    assert_eq!(logs(&c, "worker-1", "past", None, false).unwrap(), "stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n");

    let p = get_pod(&c, "within").unwrap();
    assert_eq!(shown_state(&p), "Running");
    let runtime = &c.sim.world.machine("worker-2").expect("a machine").runtime;
    let held: Vec<u64> = runtime
        .sandboxes()
        .flat_map(|(_, sandbox)| sandbox.containers.iter())
        .filter(|rc| rc.is_running() && rc.hog().is_some())
        .map(crate::engine::metrics::usage::memory_bytes)
        .collect();
    assert_eq!(held.len(), 1);
    assert!(held[0] >= 150 << 20 && held[0] < 160 << 20, "{held:?}");

    let s = state(&get_pod(&c, "again").unwrap(), 0);
    assert!(s["restartCount"].as_i64().unwrap_or(0) >= 1, "{s}");
    assert_eq!(s["lastState"]["terminated"]["reason"], "OOMKilled", "{s}");
}

/// The docs' lifecycle walkthrough: the postStart hook runs in the
/// container once it started and leaves its file there.
#[test]
fn a_post_start_hook_runs_in_the_started_container() {
    let mut c = cluster();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "lifecycle-demo"}, "spec": {"containers": [{"name": "web", "image": "nginx",
            "lifecycle": {"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo Hello from the postStart handler > /usr/share/message"]}}}}]}}),
        "worker-1",
    );
    c.sim.run_for_ms(20_000);
    assert_eq!(shown_state(&get_pod(&c, "lifecycle-demo").unwrap()), "Running");
    assert_eq!(exec_in(&mut c, "worker-1", "lifecycle-demo", "web", &["cat", "/usr/share/message"]).stdout, "Hello from the postStart handler\n");
}

/// A failing postStart hook: `FailedPostStartHook` without its output (it
/// may hold secrets), the container killed and restarted, and the status
/// waiting with the hook's message until the next sync.
#[test]
fn a_failing_post_start_hook_kills_the_container_and_says_why() {
    let mut c = cluster();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "badhook"}, "spec": {"containers": [{"name": "web", "image": "nginx",
            "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo oops >&2; exit 3"]}}}}]}}),
        "worker-1",
    );
    let t0 = c.now();
    c.sim.run_for_ms(15_000);
    let evs = events(&c, "badhook", t0);
    let hook: Vec<&str> = evs.iter().filter(|e| e.1 == "FailedPostStartHook" || e.1 == "Killing").map(|e| e.2.as_str()).collect();
    assert_eq!(&hook[..2], ["PostStartHook failed", "FailedPostStartHook"], "{evs:?}");
    let s = state(&get_pod(&c, "badhook").unwrap(), 0);
    assert!(s["restartCount"].as_i64().unwrap_or(0) >= 1, "{s}");
    assert_eq!(s["state"]["waiting"]["reason"], "PostStartHookError", "{s}");
    let message = s["state"]["waiting"]["message"].as_str().unwrap_or_default().to_string();
    let pod_desc = format!("badhook_default({})", get_pod(&c, "badhook").unwrap().metadata.uid.unwrap_or_default());
    assert_eq!(
        message,
        format!("Exec lifecycle hook ([sh -c echo oops >&2; exit 3]) for Container \"web\" in Pod \"{pod_desc}\" failed - error: command 'sh -c echo oops >&2; exit 3' exited with 3: oops\n, message: \"oops\\n\"")
    );
}

/// A preStop hook runs before SIGTERM and its time comes out of the grace
/// period; one longer than the grace period is cut short there.
#[test]
fn a_pre_stop_hook_delays_the_stop_within_the_grace_period() {
    let mut c = cluster();
    let pod = |name: &str, grace: i64, hook: Value| {
        json!({"metadata": {"name": name}, "spec": {"terminationGracePeriodSeconds": grace, "containers": [{"name": "web", "image": "nginx", "lifecycle": {"preStop": hook}}]}})
    };
    run_pod(&mut c, pod("graceful", 30, json!({"exec": {"command": ["sh", "-c", "sleep 8"]}})), "worker-1");
    // An exec hook: a sleep action longer than the grace period is refused by validation.
    run_pod(&mut c, pod("cut-short", 5, json!({"exec": {"command": ["sleep", "20"]}})), "worker-2");
    c.sim.run_for_ms(20_000);
    for name in ["graceful", "cut-short"] {
        assert_eq!(shown_state(&get_pod(&c, name).unwrap()), "Running");
        c.sim.api.delete(ids::pods(), "default", name, &Default::default()).expect("deletes");
    }
    let (mut graceful, mut cut_short) = (None, None);
    let mut waited = 0;
    while (graceful.is_none() || cut_short.is_none()) && waited < 60_000 {
        c.sim.run_for_ms(100);
        waited += 100;
        if graceful.is_none() && get_pod(&c, "graceful").is_none() {
            graceful = Some(waited);
        }
        if cut_short.is_none() && get_pod(&c, "cut-short").is_none() {
            cut_short = Some(waited);
        }
    }
    // 8 s of hook, then nginx stops on SIGTERM; the other's 20 s hook is cut at its 5 s grace period.
    assert!(graceful.is_some_and(|t| (8_000..9_500).contains(&t)), "{graceful:?}");
    assert!(cut_short.is_some_and(|t| (5_000..6_500).contains(&t)), "{cut_short:?}");
}

/// `runAsNonRoot` with an image that runs as root (and no `runAsUser`), or
/// with `runAsUser: 0`, is not created; a non-root user is.
#[test]
fn run_as_non_root_refuses_a_root_user() {
    let mut c = cluster();
    let pod = |name: &str, context: Value| json!({"metadata": {"name": name}, "spec": {"securityContext": context, "containers": [{"name": "web", "image": "busybox", "command": ["sleep", "3600"]}]}});
    run_pod(&mut c, pod("image-root", json!({"runAsNonRoot": true})), "worker-1");
    run_pod(&mut c, pod("user-root", json!({"runAsNonRoot": true, "runAsUser": 0})), "worker-2");
    run_pod(&mut c, pod("user-1000", json!({"runAsNonRoot": true, "runAsUser": 1000})), "worker-3");
    c.sim.run_for_ms(20_000);
    let waiting = |name: &str| {
        let p = get_pod(&c, name).unwrap();
        let desc = format!("{name}_default({})", p.metadata.uid.clone().unwrap_or_default());
        let s = state(&p, 0);
        (s["state"]["waiting"]["reason"].as_str().unwrap_or_default().to_string(), s["state"]["waiting"]["message"].as_str().unwrap_or_default().replace(&desc, "POD"))
    };
    assert_eq!(waiting("image-root"), ("CreateContainerConfigError".into(), "container has runAsNonRoot and image will run as root (pod: \"POD\", container: web)".into()));
    assert_eq!(waiting("user-root"), ("CreateContainerConfigError".into(), "container's runAsUser breaks non-root policy (pod: \"POD\", container: web)".into()));
    assert_eq!(shown_state(&get_pod(&c, "user-1000").unwrap()), "Running");
}

/// The docs' "Determine the Reason for Pod Failure": what a container
/// writes to its termination message file is its terminated state's
/// message; `FallbackToLogsOnError` reports the end of a failed one's log.
#[test]
fn a_termination_message_comes_from_its_file_or_the_log_on_error() {
    let mut c = cluster();
    let pod = |name: &str, container: Value| json!({"metadata": {"name": name}, "spec": {"restartPolicy": "Never", "containers": [container]}});
    run_pod(&mut c, pod("termmsg", json!({"name": "c", "image": "busybox", "command": ["sh", "-c", "echo Sleep expired > /dev/termination-log; exit 2"]})), "worker-1");
    run_pod(&mut c, pod("fallback", json!({"name": "c", "image": "busybox", "terminationMessagePolicy": "FallbackToLogsOnError", "command": ["sh", "-c", "echo one; echo something broke; exit 3"]})), "worker-2");
    run_pod(&mut c, pod("own-path", json!({"name": "c", "image": "busybox", "terminationMessagePath": "/tmp/why", "command": ["sh", "-c", "echo done > /tmp/why"]})), "worker-3");
    run_pod(&mut c, pod("quiet", json!({"name": "c", "image": "busybox", "command": ["sh", "-c", "echo not a message; exit 1"]})), "worker-3");
    c.sim.run_for_ms(20_000);
    let message = |name: &str| state(&get_pod(&c, name).unwrap(), 0)["state"]["terminated"]["message"].clone();
    assert_eq!(message("termmsg"), json!("Sleep expired\n"));
    assert_eq!(message("fallback"), json!("one\nsomething broke\n"));
    assert_eq!(message("own-path"), json!("done\n"));
    assert_eq!(message("quiet"), Value::Null, "the log is read only under FallbackToLogsOnError");
}

/// A pod past its `activeDeadlineSeconds` is ended by the kubelet:
/// `Failed`, `DeadlineExceeded`, its containers stopped and not restarted.
#[test]
fn a_pod_past_its_active_deadline_is_failed_and_stopped() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "deadline"}, "spec": {"activeDeadlineSeconds": 15, "containers": [{"name": "c", "image": "nginx"}]}}), "worker-1");
    let t0 = c.now();
    c.sim.run_for_ms(12_000);
    assert_eq!(phase(&get_pod(&c, "deadline").unwrap()), "Running");
    c.sim.run_for_ms(10_000);
    let p = get_pod(&c, "deadline").unwrap();
    let status = p.status.clone().unwrap();
    assert_eq!((phase(&p).as_str(), status.reason.as_deref(), status.message.as_deref()), ("Failed", Some("DeadlineExceeded"), Some("Pod was active on the node longer than the specified deadline")));
    assert!(state(&p, 0)["state"]["terminated"].is_object(), "{}", state(&p, 0));
    let evs = events(&c, "deadline", t0);
    assert!(evs.iter().any(|e| e.1 == "DeadlineExceeded"), "{evs:?}");
    c.sim.run_for_ms(60_000);
    let p = get_pod(&c, "deadline").unwrap();
    assert_eq!((phase(&p).as_str(), state(&p, 0)["restartCount"].as_i64()), ("Failed", Some(0)));
}

#[test]
fn completed_pod_succeeds() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "hello"}, "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox", "command": ["echo", "hello world"]}]}}), "worker-3");
    c.sim.run_for_ms(10_000);
    let p = get_pod(&c, "hello").unwrap();
    assert_eq!(phase(&p), "Succeeded");
    assert_eq!(logs(&c, "worker-3", "hello", None, false).unwrap(), "hello world\n");
    let ready = p.status.unwrap().conditions.clone().unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));
}

#[test]
fn deletion_waits_for_the_grace_period_of_a_process_ignoring_sigterm() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "sleeper"}, "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}), "worker-1");
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    c.sim.run_for_ms(20_000);
    assert_eq!(phase(&get_pod(&c, "sleeper").unwrap()), "Running");
    let t0 = c.now();
    c.sim.api.delete(ids::pods(), "default", "sleeper", &DeleteOptions::default()).unwrap();
    c.sim.api.delete(ids::pods(), "default", "web", &DeleteOptions::default()).unwrap();
    c.sim.run_for_ms(1_000);
    assert!(get_pod(&c, "web").is_none(), "nginx stops on SIGTERM");
    let p = get_pod(&c, "sleeper").expect("still terminating");
    assert!(p.metadata.deletion_timestamp.is_some());
    let evs = events(&c, "sleeper", t0);
    assert_eq!(evs.last().map(|e| e.2.as_str()), Some("Stopping container c"));
    c.sim.run_for_ms(28_000);
    assert!(get_pod(&c, "sleeper").is_some());
    c.sim.run_for_ms(2_000);
    assert!(get_pod(&c, "sleeper").is_none(), "killed after 30 s");
}

/// How many times the kubelet recorded Events with this message about `name`.
fn event_count(c: &Cluster, name: &str, message: &str) -> i32 {
    let (items, _) = c.sim.api.list(&Query::all(ids::events())).expect("list events");
    items
        .iter()
        .filter_map(|o| match &**o {
            Object::Event(e) if e.involved_object.name.as_deref() == Some(name) && e.message.as_deref() == Some(message) => Some(e.count.unwrap_or(1)),
            _ => None,
        })
        .sum()
}

/// A pull that fails ends the pod's sync; the next sync's status shows
/// what it left: `ErrImagePull` about a second later (the PLEG saw the new
/// sandbox), then `ImagePullBackOff` and `ErrImagePull` in turn, each
/// until the pod worker's next sync 10 to 15 s on.
#[test]
fn image_pull_failure_shows_err_image_pull_and_back_off_in_turn() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(&mut c, json!({"metadata": {"name": "bad"}, "spec": {"containers": [{"name": "c", "image": "nginx:doesnotexist"}]}}), "worker-1");
    let err = "failed to pull and unpack image \"docker.io/library/nginx:doesnotexist\": failed to resolve reference \"docker.io/library/nginx:doesnotexist\": docker.io/library/nginx:doesnotexist: not found";
    let back_off = format!("Back-off pulling image \"nginx:doesnotexist\": ErrImagePull: {err}");
    // (ms since t0, waiting reason, its message) at each change.
    let mut shown: Vec<(u64, String, String)> = Vec::new();
    let mut first_failure = None;
    for _ in 0..700 {
        c.sim.run_for_ms(100);
        let ms = c.now().millis_since(t0);
        if first_failure.is_none() && event_count(&c, "bad", "Error: ErrImagePull") > 0 {
            first_failure = Some(ms);
        }
        let waiting = state(&get_pod(&c, "bad").unwrap(), 0)["state"]["waiting"].clone();
        let now = (waiting["reason"].as_str().unwrap_or("").to_string(), waiting["message"].as_str().unwrap_or("").to_string());
        if shown.last().map(|s| (&s.1, &s.2)) != Some((&now.0, &now.1)) {
            let expected_log = match now.0.as_str() {
                "ErrImagePull" => Some("image can't be pulled"),
                "ImagePullBackOff" => Some("trying and failing to pull image"),
                _ => None,
            };
            if let Some(log) = expected_log {
                assert_eq!(logs(&c, "worker-1", "bad", None, false).unwrap_err(), format!("container \"c\" in pod \"bad\" is waiting to start: {log}"));
            }
            shown.push((ms, now.0, now.1));
        }
    }
    let shown_reasons: Vec<&str> = shown.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(shown_reasons[..5], ["ContainerCreating", "ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"], "{shown:?}");
    for s in &shown[1..] {
        let message = if s.1 == "ErrImagePull" { err } else { back_off.as_str() };
        assert_eq!(s.2, message, "{shown:?}");
    }
    // The failure's Event is recorded at the failure; its reason is shown
    // with the next sync, a relist later.
    let failed = first_failure.expect("the pull failed");
    assert!((800..=1_200).contains(&(shown[1].0 - failed)), "ErrImagePull shown {} ms after the failure", shown[1].0 - failed);
    // Then each reason stays up to the pod worker's next sync (10 to 15 s,
    // plus the pull itself when that sync pulls again). Within 70 s the
    // back-off stays under 40 s, so each sync brings the other reason
    // (past that, two syncs in a back-off show ImagePullBackOff in a row).
    for pair in shown[1..].windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!((9_800..=16_300).contains(&gap), "{} shown for {gap} ms: {shown:?}", pair[0].1);
    }
    // Every sync in the back-off says so, with both Events; every pull
    // that fails says so with both of its own.
    let pulls = event_count(&c, "bad", "Pulling image \"nginx:doesnotexist\"");
    assert!(pulls >= 2, "{pulls} pulls");
    assert_eq!(event_count(&c, "bad", "Error: ErrImagePull"), pulls);
    assert_eq!(event_count(&c, "bad", &format!("Failed to pull image \"nginx:doesnotexist\": {err}")), pulls);
    let backoffs = event_count(&c, "bad", "Back-off pulling image \"nginx:doesnotexist\"");
    assert!(backoffs >= 2, "{backoffs} back-offs");
    assert_eq!(event_count(&c, "bad", "Error: ImagePullBackOff"), backoffs);
    let evs = events(&c, "bad", t0);
    assert_eq!(reasons(&evs[..5]), vec!["Pulling", "Failed", "Failed", "BackOff", "Failed"]);
}

/// A sync that cannot start a container for want of an image it may not
/// pull, a name no registry takes or a ConfigMap ends in the error: the
/// status shows the reason from the next sync (a relist after the one that
/// made the sandbox), and each sync after the pod worker's back-off (10 to
/// 15 s) tries again and records the error's Events again.
#[test]
fn a_failed_start_shows_at_the_next_sync_and_repeats_its_events() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(&mut c, json!({"metadata": {"name": "never"}, "spec": {"containers": [{"name": "c", "image": "redis:7.2", "imagePullPolicy": "Never"}]}}), "worker-1");
    run_pod(&mut c, json!({"metadata": {"name": "upper"}, "spec": {"containers": [{"name": "c", "image": "Nginx"}]}}), "worker-2");
    run_pod(
        &mut c,
        json!({"metadata": {"name": "config"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "command": ["sleep", "3600"],
            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "a"}}}]}]}}),
        "worker-3",
    );
    let cases = [("never", "ErrImageNeverPull"), ("upper", "InvalidImageName"), ("config", "CreateContainerConfigError")];
    // (first failure's Event, first status showing the reason), ms since t0.
    let mut seen = [(None, None); 3];
    for _ in 0..400 {
        c.sim.run_for_ms(100);
        let ms = c.now().millis_since(t0);
        for (i, (pod, reason)) in cases.iter().enumerate() {
            let error = if *reason == "CreateContainerConfigError" { "Error: configmap \"absent\" not found".to_string() } else { format!("Error: {reason}") };
            if seen[i].0.is_none() && event_count(&c, pod, &error) > 0 {
                seen[i].0 = Some(ms);
            }
            let shown = state(&get_pod(&c, pod).unwrap(), 0)["state"]["waiting"]["reason"] == *reason;
            if seen[i].1.is_none() && shown {
                seen[i].1 = Some(ms);
            }
            if seen[i].1.is_some() {
                assert!(shown, "{pod} stays {reason}");
            }
        }
    }
    for (i, (pod, reason)) in cases.iter().enumerate() {
        let (Some(failed), Some(shown)) = seen[i] else { panic!("{pod}: {:?}", seen[i]) };
        assert!((800..=1_200).contains(&(shown - failed)), "{pod}: {reason} shown {} ms after the failure", shown - failed);
    }
    // Failures about 1.5 s in, again a second later, then every 10 to 15 s.
    let never = event_count(&c, "never", "Error: ErrImageNeverPull");
    assert!((3..=5).contains(&never), "{never} ErrImageNeverPull syncs in 40 s");
    assert_eq!(event_count(&c, "never", "Container image \"redis:7.2\" is not present with pull policy of Never"), never);
    let upper = event_count(&c, "upper", "Error: InvalidImageName");
    assert!((3..=5).contains(&upper), "{upper} InvalidImageName syncs in 40 s");
    let config = event_count(&c, "config", "Error: configmap \"absent\" not found");
    assert!((3..=5).contains(&config), "{config} CreateContainerConfigError syncs in 40 s");
    // Each try had the image first: pulled once, then found present.
    let pulled = event_count(&c, "config", "Pulling image \"busybox:1.37\"");
    assert_eq!(pulled + event_count(&c, "config", "Container image \"busybox:1.37\" already present on machine"), config);
}

/// Containers that fail in the same sync are retried together, with the
/// pod; a pod updated with a name that can be pulled is synced at once.
#[test]
fn containers_failing_together_retry_together_and_a_fixed_image_goes_at_once() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "two"}, "spec": {"containers": [{"name": "a", "image": "Nginx"}, {"name": "b", "image": "Busybox"}]}}), "worker-1");
    let reason = |c: &Cluster, i: usize| state(&get_pod(c, "two").unwrap(), i)["state"]["waiting"]["reason"].as_str().unwrap_or("").to_string();
    let mut shown = None;
    for i in 0..100 {
        c.sim.run_for_ms(100);
        let (a, b) = (reason(&c, 0), reason(&c, 1));
        if a == "InvalidImageName" || b == "InvalidImageName" {
            assert_eq!((a.as_str(), b.as_str()), ("InvalidImageName", "InvalidImageName"), "both show at the same sync");
            shown = Some(i);
            break;
        }
    }
    assert!(shown.is_some(), "InvalidImageName within 10 s");
    c.sim.run_for_ms(30_000);
    let tries = |c: &Cluster, image: &str| {
        let (items, _) = c.sim.api.list(&Query::all(ids::events())).expect("list events");
        items
            .iter()
            .filter_map(|o| match &**o {
                Object::Event(e) if e.reason.as_deref() == Some("InspectFailed") && e.message.as_deref().is_some_and(|m| m.contains(image)) => Some(e.count.unwrap_or(1)),
                _ => None,
            })
            .sum::<i32>()
    };
    assert_eq!(tries(&c, "Nginx"), tries(&c, "Busybox"), "one retry for the pod");
    assert!(tries(&c, "Nginx") >= 3);
    // Fixing one image: the update syncs the pod, which pulls at once.
    let _ = c.sim.api.modify(ids::pods(), "default", "two", false, |o| {
        if let Object::Pod(p) = o {
            if let Some(spec) = p.spec.as_mut() {
                std::rc::Rc::make_mut(spec).containers[0].image = Some("nginx:1.27".into());
            }
        }
        true
    });
    c.sim.run_for_ms(500);
    assert_eq!(event_count(&c, "two", "Pulling image \"nginx:1.27\""), 1, "pulled within half a second of the update");
}

/// Sets the image of container `index` of the pod's `containers` (or
/// `initContainers`), as `kubectl set image` does.
fn set_image(c: &mut Cluster, pod: &str, init: bool, index: usize, image: &str) {
    let _ = c.sim.api.modify(ids::pods(), "default", pod, false, |o| {
        if let Object::Pod(p) = o {
            if let Some(spec) = p.spec.as_mut() {
                let spec = std::rc::Rc::make_mut(spec);
                let list = if init { spec.init_containers.get_or_insert_with(Vec::new) } else { &mut spec.containers };
                list[index].image = Some(image.into());
            }
        }
        true
    });
}

/// A running container whose image is changed is killed ("definition
/// changed") and started again with the new image by the same sync,
/// whatever the pod's restart policy; the status shows it running until
/// the new one runs.
#[test]
fn a_changed_image_restarts_the_container_whatever_the_restart_policy() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"restartPolicy": "Never", "containers": [{"name": "web", "image": "nginx:1.27"}]}}), "worker-1");
    c.sim.run_for_ms(20_000);
    let before = state(&get_pod(&c, "web").unwrap(), 0);
    assert!(before["state"]["running"].is_object(), "{before}");
    let t0 = c.now();
    let earlier = events(&c, "web", t0).len();
    set_image(&mut c, "web", false, 0, "nginx:1.28");
    for _ in 0..150 {
        c.sim.run_for_ms(100);
        let p = get_pod(&c, "web").unwrap();
        assert_eq!(shown_state(&p), "Running", "the status is set before the kill, and next after the start");
        assert_eq!(phase(&p), "Running");
    }
    // SyncPod kills it and pulls in one go.
    let evs = events(&c, "web", t0).split_off(earlier);
    // Created and Started count on the first start's Events.
    assert_eq!(reasons(&evs), ["Killing", "Pulling", "Pulled"], "{evs:?}");
    assert_eq!(event_count(&c, "web", "Started container web"), 2);
    assert_eq!(evs[0].2, "Container web definition changed, will be restarted");
    assert_eq!((evs[1].0, evs[1].2.as_str()), (0, "Pulling image \"nginx:1.28\""));
    let after = state(&get_pod(&c, "web").unwrap(), 0);
    assert_eq!(after["restartCount"], 1);
    assert_eq!(after["image"], "docker.io/library/nginx:1.28");
    assert_eq!(after["lastState"]["terminated"]["containerID"], before["containerID"]);
    assert_ne!(after["containerID"], before["containerID"]);
    // Nothing changed since: no second kill.
    c.sim.run_for_ms(30_000);
    assert_eq!(event_count(&c, "web", "Container web definition changed, will be restarted"), 1);
    assert_eq!(state(&get_pod(&c, "web").unwrap(), 0)["containerID"], after["containerID"]);
}

/// A sidecar's new image restarts the sidecar alone, with the message the
/// kubelet gives init containers; the app container keeps running.
#[test]
fn a_sidecars_changed_image_restarts_it_alone() {
    let mut c = cluster();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "side"}, "spec": {"initContainers": [{"name": "proxy", "image": "nginx:1.27", "restartPolicy": "Always"}],
            "containers": [{"name": "app", "image": "busybox:1.37", "command": ["sleep", "3600"]}]}}),
        "worker-2",
    );
    c.sim.run_for_ms(25_000);
    let p = get_pod(&c, "side").unwrap();
    let app = state(&p, 0);
    assert!(app["state"]["running"].is_object(), "{app}");
    let t0 = c.now();
    let earlier = events(&c, "side", t0).len();
    set_image(&mut c, "side", true, 0, "nginx:1.28");
    c.sim.run_for_ms(15_000);
    let evs = events(&c, "side", t0).split_off(earlier);
    assert_eq!(evs.first().map(|e| (e.1.as_str(), e.2.as_str())), Some(("Killing", "Init container proxy definition changed")), "{evs:?}");
    let p = get_pod(&c, "side").unwrap();
    let sidecar = serde_json::to_value(p.status.as_ref().unwrap().init_container_statuses.as_ref().unwrap()[0].clone()).unwrap();
    assert_eq!(sidecar["restartCount"], 1);
    assert_eq!(sidecar["image"], "docker.io/library/nginx:1.28");
    assert!(sidecar["state"]["running"].is_object(), "{sidecar}");
    let app_now = state(&p, 0);
    assert_eq!(app_now["containerID"], app["containerID"]);
    assert_eq!(app_now["restartCount"], 0);
}

/// The crash back-off belongs to the container's definition: a crash-looping
/// container given another image starts at once, not when the old one's
/// back-off ends.
#[test]
fn a_new_image_leaves_the_old_crash_back_off_behind() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "crash"}, "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}]}}), "worker-3");
    // After the fourth start's exit the back-off is 40 s; the status shows
    // `CrashLoopBackOff` 10 to 15 s after that exit.
    let mut waited = 0;
    while !(event_count(&c, "crash", "Started container app") == 4 && shown_state(&get_pod(&c, "crash").unwrap()) == "CrashLoopBackOff") {
        c.sim.run_for_ms(100);
        waited += 100;
        assert!(waited < 120_000, "no fourth back-off in 2 minutes");
    }
    let starts = event_count(&c, "crash", "Started container app");
    set_image(&mut c, "crash", false, 0, "busybox:1.37");
    // The update syncs the pod: pull (about 1 to 2.5 s), create, start.
    c.sim.run_for_ms(4_000);
    assert_eq!(event_count(&c, "crash", "Pulling image \"busybox:1.37\""), 1);
    assert_eq!(event_count(&c, "crash", "Started container app"), starts + 1, "started with the new image at once");
}

#[test]
fn waiting_container_logs_error() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    c.sim.run_for_ms(200);
    assert_eq!(logs(&c, "worker-1", "web", None, false).unwrap_err(), "container \"nginx\" in pod \"web\" is waiting to start: ContainerCreating");
    assert_eq!(logs(&c, "worker-1", "web", Some("x"), false).unwrap_err(), "container x is not valid for pod web");
}

#[test]
fn liveness_probe_restarts_kubia_unhealthy() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "kubia-liveness"}, "spec": {"containers": [{"name": "kubia", "image": "luksa/kubia-unhealthy",
            "livenessProbe": {"httpGet": {"path": "/", "port": 8080}}}]}}),
        "worker-2",
    );
    c.sim.run_for_ms(150_000);
    let p = get_pod(&c, "kubia-liveness").unwrap();
    let s = state(&p, 0);
    assert_eq!(s["restartCount"], 1, "{s}");
    assert_eq!(s["lastState"]["terminated"]["exitCode"], 137);
    let evs = events(&c, "kubia-liveness", t0);
    let unhealthy = evs.iter().find(|e| e.1 == "Unhealthy").unwrap();
    assert_eq!(unhealthy.2, "Liveness probe failed: HTTP probe failed with statuscode: 500");
    assert!(evs.iter().any(|e| e.2 == "Container kubia failed liveness probe, will be restarted"));
}

/// A container killed for failing its liveness probe is started again by
/// the sync that killed it, once the grace period is over: the status
/// shows it running throughout, and exits minutes apart meet no crash
/// back-off. The prober holds off while the container is killed, so each
/// kill is one `Killing`. Under `restartPolicy: Never` it is killed and
/// not restarted, and the Event does not promise it.
#[test]
fn a_liveness_failure_kills_once_and_restarts_in_the_same_sync() {
    let mut c = cluster();
    let probe = json!({"httpGet": {"path": "/", "port": 8080}});
    run_pod(&mut c, json!({"metadata": {"name": "always"}, "spec": {"containers": [{"name": "kubia", "image": "luksa/kubia-unhealthy", "livenessProbe": probe}]}}), "worker-2");
    run_pod(
        &mut c,
        json!({"metadata": {"name": "never"}, "spec": {"restartPolicy": "Never", "containers": [{"name": "kubia", "image": "luksa/kubia-unhealthy", "livenessProbe": probe}]}}),
        "worker-3",
    );
    let mut shown = Vec::new();
    for _ in 0..520 {
        c.sim.run_for_ms(500);
        let now = shown_state(&get_pod(&c, "always").unwrap());
        if shown.last() != Some(&now) {
            shown.push(now);
        }
    }
    assert_eq!(shown.iter().filter(|s| *s != "ContainerCreating").collect::<Vec<_>>(), ["Running"], "{shown:?}");
    let restarts = state(&get_pod(&c, "always").unwrap(), 0)["restartCount"].as_i64().unwrap() as i32;
    assert!(restarts >= 2, "{restarts} restarts in 260 s");
    let killings = event_count(&c, "always", "Container kubia failed liveness probe, will be restarted");
    assert!(killings == restarts || killings == restarts + 1, "{killings} Killing Events for {restarts} restarts");
    assert!(!reasons(&events(&c, "always", VirtualTime::ZERO)).contains(&"BackOff"));
    let never = get_pod(&c, "never").unwrap();
    assert_eq!(phase(&never), "Failed");
    let s = state(&never, 0);
    assert_eq!((s["restartCount"].as_i64(), s["state"]["terminated"]["exitCode"].as_i64()), (Some(0), Some(137)), "{s}");
    assert_eq!(event_count(&c, "never", "Container kubia failed liveness probe"), 1);
}

#[test]
fn readiness_exec_probe_follows_files() {
    let mut c = cluster();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "ready"}, "spec": {"containers": [{"name": "c", "image": "busybox",
            "command": ["sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"],
            "readinessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 5}}]}}),
        "worker-2",
    );
    c.sim.run_for_ms(10_000);
    assert_eq!(condition(&get_pod(&c, "ready").unwrap(), "Ready"), "True");
    c.sim.run_for_ms(40_000);
    let p = get_pod(&c, "ready").unwrap();
    assert_eq!(condition(&p, "Ready"), "False");
    let evs = events(&c, "ready", VirtualTime::ZERO);
    assert!(evs.iter().any(|e| e.2 == "Readiness probe failed: cat: can't open '/tmp/healthy': No such file or directory"), "{evs:?}");
}

#[test]
fn kubelet_stop_keeps_containers_running_and_restart_reconciles() {
    let mut c = cluster();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    c.sim.run_for_ms(15_000);
    c.sim.stop("kubelet/worker-1").unwrap();
    c.sim.run_for_ms(30_000);
    assert!(c.sim.world.machine("worker-1").expect("machine").runtime.sandboxes().any(|(_, s)| s.containers.iter().any(|c| c.is_running())));
    assert!(logs(&c, "worker-1", "web", None, false).unwrap_err().contains("connect: connection refused"));
    c.sim.start("kubelet/worker-1").unwrap();
    c.sim.run_for_ms(2_000);
    let p = get_pod(&c, "web").unwrap();
    assert_eq!(phase(&p), "Running");
    assert_eq!(state(&p, 0)["restartCount"], 0);
}

#[test]
fn power_cycle_restarts_pods_with_a_new_sandbox() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(&mut c, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "worker-1");
    c.sim.run_for_ms(15_000);
    let ip_before = get_pod(&c, "web").unwrap().status.unwrap().pod_ip.clone();
    c.sim.stop("node/worker-1").unwrap();
    c.sim.run_for_ms(20_000);
    c.sim.start("node/worker-1").unwrap();
    c.sim.run_for_ms(30_000);
    let p = get_pod(&c, "web").unwrap();
    assert_eq!(phase(&p), "Running");
    let s = state(&p, 0);
    assert_eq!(s["restartCount"], 1, "{s}");
    assert_eq!(s["lastState"]["terminated"]["exitCode"], 255);
    assert_eq!(s["lastState"]["terminated"]["reason"], "Unknown");
    assert_ne!(p.status.unwrap().pod_ip, ip_before);
    let evs = events(&c, "web", t0);
    assert!(evs.iter().any(|e| e.1 == "SandboxChanged"), "{evs:?}");
    let node_events = events(&c, "worker-1", t0);
    assert!(node_events.iter().any(|e| e.1 == "Rebooted"), "{node_events:?}");
}

/// Runs a command in a running container, as `kubectl exec` would.
fn exec_in(c: &mut Cluster, node: &str, pod: &str, container: &str, argv: &[&str]) -> crate::engine::node::shell::Outcome {
    let uid = get_pod(c, pod).and_then(|p| p.metadata.uid).expect("pod uid");
    let now = c.now();
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let machine = c.sim.world.machine_mut(node).expect("machine");
    crate::engine::node::exec::exec(machine, &uid, container, &argv, false, "", now, None).expect("runs")
}

fn create(c: &mut Cluster, v: Value) {
    let obj = crate::engine::api::Object::from_json(
        crate::engine::api::resolve_resource_arg(v["kind"].as_str().unwrap_or("")).expect("kind"),
        v,
    )
    .expect("object json");
    c.sim.api.create(obj).expect("create");
}

#[test]
fn env_comes_from_configmaps_secrets_and_services() {
    let mut c = cluster();
    create(&mut c, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"}, "data": {"URL": "db:5432"}}));
    create(&mut c, json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "default"}, "data": {"PASSWORD": "czNjcjN0"}}));
    run_pod(
        &mut c,
        json!({"metadata": {"name": "app"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "command": ["sleep", "3600"],
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "DB_"}],
            "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "PASSWORD"}}},
                    {"name": "LINK", "value": "postgres://$(DB_URL)"}]}]}}),
        "worker-1",
    );
    c.sim.run_for_ms(10_000);
    let out = exec_in(&mut c, "worker-1", "app", "c", &["env"]);
    for want in ["DB_URL=db:5432\n", "PASSWORD=s3cr3t\n", "LINK=postgres://db:5432\n", "KUBERNETES_SERVICE_HOST=10.96.0.1\n", "HOSTNAME=app\n"] {
        assert!(out.stdout.contains(want), "{want} in {}", out.stdout);
    }
}

#[test]
fn missing_config_blocks_the_container_until_it_exists() {
    let mut c = cluster();
    let t0 = c.now();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "app"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "command": ["sleep", "3600"],
            "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "x"}}}]}]}}),
        "worker-1",
    );
    c.sim.run_for_ms(5_000);
    let p = get_pod(&c, "app").unwrap();
    assert_eq!(state(&p, 0)["state"]["waiting"]["reason"], "CreateContainerConfigError");
    assert_eq!(state(&p, 0)["state"]["waiting"]["message"], "configmap \"later\" not found");
    assert!(events(&c, "app", t0).iter().any(|e| e.2 == "Error: configmap \"later\" not found"));
    create(&mut c, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later", "namespace": "default"}, "data": {"x": "1"}}));
    c.sim.run_for_ms(16_000);
    assert_eq!(phase(&get_pod(&c, "app").unwrap()), "Running");
    assert_eq!(exec_in(&mut c, "worker-1", "app", "c", &["printenv", "X"]).stdout, "1\n");
}

#[test]
fn volume_updates_reach_files_but_not_subpaths_or_env() {
    let mut c = cluster();
    create(&mut c, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "one"}}));
    run_pod(
        &mut c,
        json!({"metadata": {"name": "app"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "command": ["sleep", "3600"],
            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}],
            "volumeMounts": [{"name": "v", "mountPath": "/cfg"}, {"name": "v", "mountPath": "/single", "subPath": "a"}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}}),
        "worker-2",
    );
    c.sim.run_for_ms(10_000);
    assert_eq!(exec_in(&mut c, "worker-2", "app", "c", &["cat", "/cfg/a"]).stdout, "one");
    let _ = c.sim.api.modify(crate::engine::api::ids::config_maps(), "default", "cfg", false, |o| {
        if let crate::engine::api::Object::ConfigMap(cm) = o {
            cm.data = Some([("a".to_string(), "two".to_string())].into_iter().collect());
        }
        true
    });
    c.sim.run_for_ms(95_000);
    assert_eq!(exec_in(&mut c, "worker-2", "app", "c", &["cat", "/cfg/a"]).stdout, "two", "the periodic sync refreshed it");
    assert_eq!(exec_in(&mut c, "worker-2", "app", "c", &["cat", "/single"]).stdout, "one", "a subPath keeps its file");
    assert_eq!(exec_in(&mut c, "worker-2", "app", "c", &["printenv", "A"]).stdout, "one\n", "env is fixed at start");
}

#[test]
fn emptydir_outlives_restarts_but_not_the_pod_and_hostpath_stays() {
    let mut c = cluster();
    run_pod(
        &mut c,
        json!({"metadata": {"name": "w"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37",
            "command": ["sh", "-c", "echo run >> /scratch/log; echo kept > /host/f; sleep 5; exit 1"],
            "volumeMounts": [{"name": "s", "mountPath": "/scratch"}, {"name": "h", "mountPath": "/host"}]}],
            "volumes": [{"name": "s", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/srv/data", "type": "DirectoryOrCreate"}}]}}),
        "worker-3",
    );
    c.sim.run_for_ms(30_000);
    let uid = get_pod(&c, "w").and_then(|p| p.metadata.uid).unwrap();
    let disk = &c.sim.world.machine("worker-3").unwrap().disk;
    let log = disk.get(&format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/s/log")).and_then(|i| i.content().map(std::borrow::Cow::into_owned)).unwrap();
    assert!(log.matches("run").count() >= 2, "written by every restart: {log}");
    c.sim.api.delete(crate::engine::api::ids::pods(), "default", "w", &DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }).unwrap();
    c.sim.run_for_ms(10_000);
    let disk = &c.sim.world.machine("worker-3").unwrap().disk;
    assert!(disk.get(&format!("/var/lib/kubelet/pods/{uid}")).is_none(), "the pod's directory went with it");
    assert_eq!(disk.get("/srv/data/f").and_then(|i| i.content()).as_deref(), Some("kept\n"), "hostPath data is the node's");
}

#[test]
fn containers_keep_their_config_while_the_api_server_is_stopped() {
    let mut c = cluster();
    create(&mut c, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "one"}}));
    run_pod(
        &mut c,
        json!({"metadata": {"name": "app"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "command": ["sh", "-c", "sleep 20; exit 1"],
            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}],
            "volumeMounts": [{"name": "v", "mountPath": "/cfg"}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}}),
        "worker-1",
    );
    c.sim.run_for_ms(10_000);
    assert_eq!(phase(&get_pod(&c, "app").unwrap()), "Running");
    let uid = get_pod(&c, "app").and_then(|p| p.metadata.uid).unwrap();
    c.sim.stop("apiserver").unwrap();
    // Its second exit (about 40 s in) is backed off 10 s, and the restart
    // comes with the pod worker's first retry after (10 to 15 s).
    c.sim.run_for_ms(52_000);
    // The container crashed and was restarted from the kubelet's cached config.
    let sandbox_restarts = c.sim.world.machine("worker-1").unwrap().runtime.sandbox(&uid).and_then(|s| s.latest("c")).map(|l| l.attempt).unwrap();
    assert!(sandbox_restarts >= 1, "restarted while the API server was away");
    let argv: Vec<String> = vec!["printenv".into(), "A".into()];
    let now = c.now();
    let machine = c.sim.world.machine_mut("worker-1").unwrap();
    let out = crate::engine::node::exec::exec(machine, &uid, "c", &argv, false, "", now, None).unwrap();
    assert_eq!(out.stdout, "one\n");
}
