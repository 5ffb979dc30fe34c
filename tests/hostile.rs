//! Hostile input never crashes the engine and leaves the cluster working:
//! broken and malicious YAML, wrong types, random kubectl lines, bad scripts.

use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::{self, NoFiles};
use miniplane::engine::script;

fn apply(cluster: &mut Cluster, yaml: &str) -> kubectl::Output {
    kubectl::run(cluster, "kubectl apply -f -", Some(yaml), &NoFiles)
}

fn assert_still_works(cluster: &mut Cluster) {
    let out = kubectl::run(cluster, "kubectl get nodes", None, &NoFiles);
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Ready"), "{}", out.stdout);
    let name = format!("probe-{}", cluster.now().as_millis());
    let out = kubectl::run(cluster, &format!("kubectl create deployment {name} --image=nginx"), None, &NoFiles);
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    cluster.sim.run_for_ms(30_000);
    let out = kubectl::run(cluster, &format!("kubectl get deploy {name}"), None, &NoFiles);
    assert!(out.stdout.contains("1/1"), "{}", out.stdout);
}

#[test]
fn malicious_yaml_gets_errors_not_crashes() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 3);
    let laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n\
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    let deep = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let huge = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  k: \"{}\"\n", "x".repeat(4 * 1024 * 1024));
    let cases: Vec<String> = vec![
        laughs.to_string(),
        deep,
        huge,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: many\n".into(),
        "apiVersion: v1\nkind: Pod\nmetadata: [1, 2]\n".into(),
        "kind: Pod\n".into(),
        "---\n---\n".into(),
        "\u{0}\u{1}\u{2}garbage: [".into(),
        "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": 5}}".into(),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    ports:\n    - containerPort: 99999999999999999999\n".into(),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers: []\n".into(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"\"\n".into(),
        "key: value\n  bad indent: here\n".into(),
    ];
    for yaml in &cases {
        let out = apply(&mut cluster, yaml);
        assert_ne!(out.exit_code, 0, "refused: {}", &yaml.chars().take(80).collect::<String>());
        assert!(!out.stderr.is_empty());
    }
    assert_still_works(&mut cluster);
}

#[test]
fn random_kubectl_lines_never_crash() {
    const WORDS: &[&str] = &[
        "get", "describe", "apply", "create", "delete", "scale", "rollout", "status", "undo", "history", "restart", "logs",
        "label", "annotate", "taint", "cordon", "uncordon", "drain", "wait", "patch", "run", "expose", "set", "image",
        "pods", "po", "deploy", "deployment", "rs", "nodes", "svc", "ns", "all", "events", "minikube", "web", "x", "x=y",
        "-n", "-A", "-o", "yaml", "json", "wide", "name", "jsonpath={.items[*].metadata.name}", "jsonpath={", "-l", "a=b,c in (d)",
        "--replicas=3", "--replicas=-1", "--image=nginx", "--cascade=orphan", "--for=delete", "--timeout=1s", "--type=json",
        "-p", "{\"spec\":{\"replicas\":2}}", "[{\"op\":\"remove\",\"path\":\"/x\"}]", "--grace-period=0", "--force", "--",
        "sh", "-c", "echo hi", "node-role.kubernetes.io/control-plane:NoSchedule-", "a=b:NoExecute", "deploy/web", "pod/",
        "--field-selector=status.phase=Running", "--sort-by=.metadata.name", "-L", "app", "--show-labels", "-f", "-", "'",
        "\"", "\u{1F600}", "%s%n", "--dry-run=client", "--to-revision=99", "-c", "nginx", "--tail=-5", "''", "=",
    ];
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 5);
    kubectl::run(&mut cluster, "kubectl create deployment web --image=nginx --replicas=2", None, &NoFiles);
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..800 {
        let n = rng.usize(0..8);
        let line: Vec<&str> = (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
        let line = format!("kubectl {}", line.join(" "));
        let stdin = if rng.bool() { Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n") } else { None };
        let _ = kubectl::run(&mut cluster, &line, stdin, &NoFiles);
    }
    kubectl::run(&mut cluster, "kubectl uncordon control-plane worker-1 worker-2 worker-3", None, &NoFiles);
    kubectl::run(&mut cluster, "kubectl taint nodes worker-1 worker-2 worker-3 a- --overwrite", None, &NoFiles);
    assert_still_works(&mut cluster);
}

#[test]
fn malformed_scripts_are_refused_whole() {
    for bad in ["kubectl get pods\nfly away\n", "sleep forever", "stop", "kubectl apply -f - <<EOF\nkind: X\n", "sleep 99999h"] {
        assert!(script::parse(bad).is_err(), "{bad}");
    }
}
