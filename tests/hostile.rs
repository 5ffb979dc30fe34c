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

#[test]
fn malformed_quantities_are_refused_with_apimachinerys_words() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 7);
    let pod = |requests: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: q\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests: {requests}\n");
    let out = apply(&mut cluster, &pod("{memory: 12 gigs}"));
    assert_eq!(
        out.stderr,
        "Error from server (BadRequest): error when creating \"STDIN\": Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"
    );
    for bad in ["{cpu: 1GG}", "{cpu: [1]}", "{cpu: {a: b}}", "{memory: \"\"}", "{memory: \"--1\"}", "{memory: \"1.2.3\"}", "{cpu: \"99999999999999999999999999999999999999999\"}", "{cpu: \"\\u0000\"}"] {
        let out = apply(&mut cluster, &pod(bad));
        assert_ne!(out.exit_code, 0, "{bad}");
        assert!(out.stderr.starts_with("Error from server (BadRequest)"), "{bad}: {}", out.stderr);
    }
    // Huge but valid numbers are stored canonically, never overflowing.
    for (i, (written, stored)) in [("{cpu: 0.5, memory: 1.5Gi}", "500m 1536Mi"), ("{cpu: 1e3, memory: 9999999999Ei}", "1k 9223372036854775807")].into_iter().enumerate() {
        let out = apply(&mut cluster, &pod(written).replace("name: q", &format!("name: q{i}")));
        assert_eq!(out.exit_code, 0, "{written}: {}", out.stderr);
        let line = format!("kubectl get pod q{i} -o jsonpath='{{.spec.containers[0].resources.requests.cpu}} {{.spec.containers[0].resources.requests.memory}}'");
        let got = kubectl::run(&mut cluster, &line, None, &NoFiles);
        assert_eq!(got.stdout, stored, "{written}: {}", got.stderr);
    }
    assert_still_works(&mut cluster);
}

#[test]
fn malformed_cron_schedules_and_time_zones_get_field_errors() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 8);
    let cron = |schedule: &str, tz: &str| {
        format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  schedule: {schedule:?}\n{tz}  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: c\n            image: busybox\n")
    };
    let cases = [
        ("* * * *", "", "spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]"),
        ("70 * * * *", "", "spec.schedule: Invalid value: \"70 * * * *\": end of range (70) above maximum (59): 70"),
        ("*/0 * * * *", "", "spec.schedule: Invalid value: \"*/0 * * * *\": step of range should be a positive number: */0"),
        ("@every forever", "", "spec.schedule: Invalid value: \"@every forever\": failed to parse duration @every forever: time: invalid duration \"forever\""),
        ("TZ=Mars/Base * * * * *", "", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("* * * * *", "  timeZone: Mars/Olympus\n", "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"),
        ("* * * * *", "  timeZone: \"../../etc/passwd\"\n", "spec.timeZone: Invalid value: \"../../etc/passwd\": unknown time zone ../../etc/passwd"),
        ("99999999999999999999999 * * * *", "", "spec.schedule: Invalid value"),
        ("1-2-3-4 ,,, --- /// * *", "", "spec.schedule: Invalid value"),
        ("\u{1F600} * * * *", "", "spec.schedule: Invalid value"),
    ];
    for (schedule, tz, message) in cases {
        let out = apply(&mut cluster, &cron(schedule, tz));
        assert_ne!(out.exit_code, 0, "{schedule}");
        assert!(out.stderr.starts_with("The CronJob \"c\" is invalid: "), "{schedule}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{schedule}: {}", out.stderr);
    }
    // Valid but never-matching schedules are accepted and simply never fire.
    let out = apply(&mut cluster, &cron("0 0 31 2 *", ""));
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    cluster.sim.run_for_ms(120_000);
    assert_still_works(&mut cluster);
}

#[test]
fn malformed_job_policies_get_field_errors() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 10);
    let job = |extra: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n{extra}  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n")
    };
    let cases = [
        ("  backoffLimitPerIndex: 2\n", "spec.backoffLimitPerIndex: Invalid value: 2: requires indexed completion mode"),
        ("  completionMode: Indexed\n  completions: 3\n  maxFailedIndexes: 1\n", "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"),
        ("  completionMode: Indexed\n  completions: 3\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 5\n", "spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions"),
        ("  podFailurePolicy:\n    rules:\n    - action: Explode\n      onExitCodes: {operator: In, values: [1]}\n", "spec.podFailurePolicy.rules[0].action: Unsupported value: \"Explode\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\""),
        ("  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {operator: In, values: [3, 0, 3]}\n", "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator"),
        ("  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {operator: In, values: [3, 0, 3]}\n", "spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 3"),
        ("  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {operator: In, values: [3, 0, 3]}\n", "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{3, 0, 3}: must be ordered"),
        ("  podFailurePolicy:\n    rules:\n    - action: Ignore\n", "spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"),
        ("  podFailurePolicy:\n    rules:\n    - action: FailIndex\n      onPodConditions: [{type: DisruptionTarget}]\n", "spec.podFailurePolicy.rules[0].action: Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set"),
        ("  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onPodConditions: [{type: DisruptionTarget, status: Maybe}]\n", "spec.podFailurePolicy.rules[0].onPodConditions[0].status: Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\""),
        ("  completionMode: Indexed\n  completions: 3\n  successPolicy:\n    rules:\n    - succeededIndexes: \"2-1\"\n", "spec.successPolicy.rules[0].succeededIndexes: Invalid value: \"2-1\": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1"),
        ("  completionMode: Indexed\n  completions: 3\n  successPolicy:\n    rules:\n    - succeededIndexes: \"0-1\"\n      succeededCount: 5\n", "spec.successPolicy.rules[0].succeededCount: Invalid value: 5: must be less than or equal to 3 (the number of specified completions)"),
        ("  managedBy: nobody\n", "spec.managedBy: Invalid value: \"nobody\": must be a domain-prefixed path (such as \"acme.io/foo\")"),
        ("  podReplacementPolicy: Sometimes\n", "spec.podReplacementPolicy: Unsupported value: \"Sometimes\": supported values: \"Failed\", \"TerminatingOrFailed\""),
    ];
    for (extra, message) in cases {
        let out = apply(&mut cluster, &job(extra));
        assert_ne!(out.exit_code, 0, "{extra}");
        assert!(out.stderr.starts_with("The Job \"j\" is invalid: "), "{extra}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{extra}: {}", out.stderr);
    }
    assert_still_works(&mut cluster);
}

#[test]
fn malformed_claim_templates_are_reported_on_the_stateful_set() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 9);
    let set = |claim: &str| {
        format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  selector:\n    matchLabels: {{app: db}}\n  serviceName: db\n  template:\n    metadata:\n      labels: {{app: db}}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        volumeMounts:\n        - {{name: data, mountPath: /data}}\n  volumeClaimTemplates:\n{claim}")
    };
    // Decoding refuses a bad size outright, naming the StatefulSet.
    let out = apply(&mut cluster, &set("  - metadata: {name: data}\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: lots}}\n"));
    assert!(out.stderr.contains("StatefulSet in version \"v1\" cannot be handled as a StatefulSet: quantities must match"), "{}", out.stderr);
    // A claim the API server will not create is an event with its field path; no pod is made.
    let out = apply(&mut cluster, &set("  - metadata: {name: data}\n    spec:\n      accessModes: [ReadWriteSometimes]\n"));
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    cluster.sim.run_for_ms(5_000);
    let events = kubectl::run(&mut cluster, "kubectl get events --field-selector involvedObject.name=db -o jsonpath={.items[*].message}", None, &NoFiles);
    assert!(events.stdout.contains("create Claim data-db-0 for Pod db-0 in StatefulSet db failed error: PersistentVolumeClaim \"data-db-0\" is invalid: "), "{}", events.stdout);
    assert!(events.stdout.contains("spec.accessModes: Unsupported value: \"ReadWriteSometimes\""), "{}", events.stdout);
    assert!(events.stdout.contains("spec.resources[storage]: Required value"), "{}", events.stdout);
    let pods = kubectl::run(&mut cluster, "kubectl get pods -o name", None, &NoFiles);
    assert!(!pods.stdout.contains("db-0"), "{}", pods.stdout);
    // Nameless and absurd claim templates never panic either.
    for claim in ["  - metadata: {}\n", "  - {}\n", "  - metadata: {name: \"../x\"}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"] {
        kubectl::run(&mut cluster, "kubectl delete sts db", None, &NoFiles);
        let _ = apply(&mut cluster, &set(claim));
        cluster.sim.run_for_ms(3_000);
    }
    assert_still_works(&mut cluster);
}
