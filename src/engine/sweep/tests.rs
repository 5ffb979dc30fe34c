//! The checkers must be able to fail: each is shown a cluster in which its
//! invariant is broken (by means a user has, such as force deletion or
//! binding a pod by hand), and must say so.

use super::checked::CheckedRun;
use super::checkers::{self, converged, Checker};
use super::observe::Observation;
use super::*;
use crate::engine::kubectl;

fn cluster() -> Cluster {
    Cluster::new(Profile::new(ProfileKind::Default), 11)
}

fn kubectl(c: &mut Cluster, line: &str, stdin: Option<&str>) {
    let out = kubectl::run(c, line, stdin, &NoFiles);
    assert_eq!(out.exit_code, 0, "{line}: {}", out.stderr);
}

fn first_violation(checker: &mut dyn Checker, c: &Cluster) -> Option<String> {
    checker.check(&Observation::new(c)).err()
}

#[test]
fn a_few_seeds_hold_every_invariant() {
    let opts = Options { seeds: 2, first_seed: 1, steps: 25, profile: ProfileKind::Default };
    for seed in opts.first_seed..opts.first_seed + opts.seeds {
        let report = run_seed(seed, &opts);
        assert!(report.failure.is_none(), "{}", describe(&report));
    }
}

#[test]
fn capacity_checker_sees_a_node_overcommitted_by_hand() {
    let mut c = cluster();
    let mut checker = checkers::capacity::RequestsFitAllocatable;
    assert_eq!(first_violation(&mut checker, &c), None);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  nodeName: worker-1\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: \"5\"\n";
    // A running kubelet refuses the pod (OutOfcpu); with it stopped, the
    // pod stays bound there, and the node is overcommitted.
    c.sim.stop("kubelet/worker-1").unwrap();
    kubectl(&mut c, "apply -f -", Some(pod));
    let found = first_violation(&mut checker, &c).expect("overcommitted");
    // Besides the big pod, worker-1 runs its DaemonSets' pods (kindnet asks for 100m).
    assert!(found.starts_with("node worker-1: pods request ") && found.contains("m CPU, allocatable is 4000m"), "{found}");
}

#[test]
fn statefulset_checker_sees_an_ordinal_running_twice_after_a_force_delete() {
    let mut c = cluster();
    let set = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  serviceName: web\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n";
    kubectl(&mut c, "apply -f -", Some(set));
    // Labels the set does not select, so its controller does not adopt
    // (and, at 0 replicas, delete) the hand-made pods.
    let pod = |node: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\n  labels:\n    app: by-hand\nspec:\n  nodeName: {node}\n  containers:\n  - name: nginx\n    image: nginx\n");
    kubectl(&mut c, "apply -f -", Some(&pod("worker-1")));
    c.sim.run_for_ms(20_000);
    let mut checker = checkers::statefulset::AtMostOnePerOrdinal;
    assert_eq!(first_violation(&mut checker, &c), None);
    // The kubelet is down, so nothing stops the old containers; a force
    // delete lets a second web-0 start elsewhere.
    c.sim.stop("kubelet/worker-1").unwrap();
    kubectl(&mut c, "delete pod web-0 --force --grace-period=0", None);
    kubectl(&mut c, "apply -f -", Some(&pod("worker-2")));
    c.sim.run_for_ms(20_000);
    let found = first_violation(&mut checker, &c).expect("two copies");
    assert!(found.contains("default/web-0 runs 2 times at once"), "{found}");
    // A partitioned node's copy is out of reach: no violation then.
    c.sim.partition("worker-1").unwrap();
    assert_eq!(first_violation(&mut checker, &c), None);
}

#[test]
fn deployment_checker_sees_pods_taken_below_the_promise() {
    let mut c = cluster();
    kubectl(&mut c, "create deployment web --image=nginx --replicas=3", None);
    c.sim.run_for_ms(30_000);
    let mut checker = checkers::deployment::MaxUnavailablePromise::default();
    assert_eq!(first_violation(&mut checker, &c), None);
    // No fault is in force: the drop is nobody's promise kept.
    kubectl(&mut c, "delete pod -l app=web --wait=false", None);
    let found = first_violation(&mut checker, &c).expect("below the promise");
    assert!(found.contains("deployment default/web: 0 available pods, below the 3"), "{found}");
}

#[test]
fn deployment_checker_excuses_drops_a_fault_explains() {
    let mut c = cluster();
    kubectl(&mut c, "create deployment web --image=nginx --replicas=3", None);
    c.sim.run_for_ms(30_000);
    let mut checker = checkers::deployment::MaxUnavailablePromise::default();
    assert_eq!(first_violation(&mut checker, &c), None);
    for node in ["worker-1", "worker-2", "worker-3"] {
        c.sim.stop(&format!("node/{node}")).unwrap();
    }
    for _ in 0..20 {
        c.sim.run_for_ms(10_000);
        assert_eq!(first_violation(&mut checker, &c), None);
    }
}

#[test]
fn convergence_names_what_is_not_reached() {
    let mut c = cluster();
    kubectl(&mut c, "create deployment broken --image=nginx:doesnotexist", None);
    c.sim.run_for_ms(120_000);
    let problems = converged::problems(&Observation::new(&c));
    assert!(problems.iter().any(|p| p.contains("deployment default/broken reports 1 replicas, 1 updated, 0 ready, 0 available, of 1")), "{problems:?}");
    let mut c = cluster();
    kubectl(&mut c, "create deployment web --image=nginx --replicas=2", None);
    c.sim.run_for_ms(60_000);
    assert_eq!(converged::problems(&Observation::new(&c)), Vec::<String>::new());
}

#[test]
fn revision_checker_follows_a_restore_and_nothing_else() {
    let mut c = cluster();
    let mut checker = checkers::revision::RevisionNeverGoesBack::default();
    assert_eq!(first_violation(&mut checker, &c), None);
    c.sim.api.save_snapshot("snap.db").unwrap();
    kubectl(&mut c, "create deployment web --image=nginx", None);
    c.sim.run_for_ms(10_000);
    assert_eq!(first_violation(&mut checker, &c), None);
    let restored = c.sim.api.restore_snapshot("snap.db", 0).unwrap();
    assert!(restored < c.sim.api.store().revision() + 1);
    assert_eq!(first_violation(&mut checker, &c), None, "a restore may rewind");
    c.sim.run_for_ms(10_000);
    assert_eq!(first_violation(&mut checker, &c), None);
}

#[test]
fn a_partition_under_a_deployment_keeps_every_invariant() {
    let script = "kubectl create deployment web --image=nginx --replicas=3\nsleep 30s\npartition node/worker-1\nsleep 7m\nheal node/worker-1\nsleep 5m\n";
    let (transcript, failure) = run_checked(ProfileKind::Default, 1, script, &NoFiles, false);
    assert_eq!(failure, None, "{transcript}");
}

#[test]
fn checked_runs_stop_at_the_first_violation() {
    let mut run = CheckedRun::new(cluster());
    let commands = script::parse("kubectl create deployment web --image=nginx --replicas=3\nsleep 30s\nkubectl delete pod -l app=web --wait=false\n").unwrap();
    assert!(run.run(&commands[0], &NoFiles).is_ok());
    assert!(run.run(&commands[1], &NoFiles).is_ok());
    let v = run.run(&commands[2], &NoFiles).expect_err("a violation");
    assert_eq!((v.step, v.line, v.invariant.as_str()), (3, 3, "deployment-below-max-unavailable"));
}

#[test]
fn shrinking_keeps_only_what_the_failure_needs() {
    let chunks: Vec<Chunk> = [
        "kubectl create deployment web --image=nginx --replicas=3",
        "sleep 5s",
        "kubectl create deployment other --image=nginx",
        "sleep 30s",
        "kubectl get pods",
        "kubectl delete pod -l app=web --wait=false",
        "sleep 5s",
    ]
    .iter()
    .map(|t| Chunk { text: t.to_string(), fault: false })
    .collect();
    let (_, failure) = run_checked(ProfileKind::Default, 1, &script_text(&chunks), &NoFiles, false);
    let failure = failure.expect("fails");
    let shrunk = shrink(ProfileKind::Default, 1, &chunks, &failure);
    let texts: Vec<&str> = shrunk.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, vec!["kubectl create deployment web --image=nginx --replicas=3", "sleep 30s", "kubectl delete pod -l app=web --wait=false"]);
}
