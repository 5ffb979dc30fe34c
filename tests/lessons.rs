//! The built-in lessons: each verifies (setup, then every check fails
//! before its step and holds after its reference solution), and the
//! tempting wrong answers to a step do not pass it.

use miniplane::engine::script;
use miniplane::lesson::{self, verify};

#[test]
fn every_builtin_lesson_verifies() {
    let mut failures = Vec::new();
    for (id, text) in lesson::builtin_sources() {
        let result = lesson::parse(text, Some(id)).map_err(|e| e.to_string()).and_then(|l| verify::verify(&l).map_err(|f| f.message));
        match result {
            Err(e) => failures.push(format!("lessons/{id}: {e}")),
            // "Show me" runs the solution and stops: what it printed is what
            // the learner compares with the text, so a built-in solution
            // waits long enough for its step to be done when it ends.
            Ok(report) => {
                for (index, step) in report.steps.iter().enumerate().filter(|(_, s)| s.held_after_ms > 0) {
                    failures.push(format!("lessons/{id}: step {} \"{}\": the check held only {} ms after the solution ended", index + 1, step.title, step.held_after_ms));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// (lesson, step from 0, what a learner might wrongly do, virtual time to wait afterwards)
const WRONG: &[(&str, usize, &str, u64)] = &[
    ("pod-life-cycle", 0, "stop kube-proxy/minikube\nsleep 60s\nkubectl get node\n", 120_000),
    ("pod-life-cycle", 1, "stop scheduler\nstop apiserver\n", 10_000),
    ("pod-life-cycle", 6, "kubectl describe pod\n", 60_000),
    ("replicaset-heals", 0, "kubectl create deployment simpleapp --image=dd43028/demo-repo:release1 --replicas=3\nkubectl get pods\n", 120_000),
    ("replicaset-heals", 2, "kubectl delete pod simpleapp\n", 60_000),
    ("rolling-update", 0, "kubectl set image deployments/kubernetes-bootcamp kubernetes-bootcamp=docker.io/jocatalin/kubernetes-bootcamp:v3\n", 120_000),
    ("rolling-update", 1, "kubectl get rs\nkubectl rollout history deployment/kubernetes-bootcamp --revision=1\n", 10_000),
    ("rolling-update", 2, "kubectl rollout undo deployments/kubernetes-bootcamp --to-revision=2\n", 120_000),
    ("orphans-and-adoption", 1, "kubectl delete rs -l app=kubernetes-bootcamp\nkubectl get rs\n", 120_000),
    ("orphans-and-adoption", 2, "kubectl delete deployment kubernetes-bootcamp --cascade=orphan\nkubectl delete rs -l app=kubernetes-bootcamp\n", 120_000),
    ("node-power-off", 0, "stop kubelet/worker-1\nsleep 60s\nkubectl get nodes\n", 60_000),
    ("node-power-off", 2, "sleep 2m\nkubectl get pods -o wide\n", 60_000),
    ("probes", 0, "kubectl run kubia-liveness --image=nginx\nkubectl describe pod kubia-liveness\n", 180_000),
    ("scheduling", 0, "kubectl describe pod kuard\nkubectl delete pod kuard\nkubectl apply -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata:\n  name: kuard\nspec:\n  containers:\n  - image: gcr.io/kuar-demo/kuard-amd64:blue\n    name: kuard\n    resources:\n      requests:\n        cpu: \"5\"\nEOF\n", 120_000),
    ("scheduling", 1, "kubectl describe pod kubia-gpu\nkubectl label node worker-2 gpu=false\n", 120_000),
    ("scheduling", 2, "kubectl describe pod cp-agent\nkubectl delete pod cp-agent\nkubectl apply -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata:\n  name: cp-agent\nspec:\n  nodeSelector:\n    node-role.kubernetes.io/control-plane: \"\"\n  tolerations:\n  - key: dedicated\n    operator: Exists\n  containers:\n  - image: busybox\n    name: agent\n    command: [\"sleep\", \"3600\"]\nEOF\n", 120_000),
    ("apiserver-down", 0, "stop etcd\nkubectl get pods\n", 10_000),
    ("apiserver-down", 2, "traffic start http://172.18.0.3:30081 --rate 10/s\nsleep 30s\ntraffic report\n", 30_000),
    ("statefulset-claims", 2, "kubectl delete statefulset web\nkubectl get pvc\n", 60_000),
    ("statefulset-claims", 2, "kubectl scale statefulset web --replicas 1\nkubectl delete pvc www-web-1 www-web-2 --wait=false\n", 60_000),
    ("daemonset", 1, "kubectl taint node worker-3 dedicated=db:NoSchedule\n", 60_000),
    ("jobs-and-cronjobs", 1, "kubectl create job fails --image=busybox:1.37 -- sh -c 'exit 1'\n", 120_000),
    ("configmaps-and-secrets", 3, "kubectl exec app -- printenv GREETING\nkubectl patch configmap app-config -p '{\"data\":{\"COLOR\":\"red\"}}'\n", 120_000),
    ("pageview-activity", 1, "curl http://192.168.49.2:30080\n", 10_000),
    ("pageview-activity", 3, "kubectl delete pod -l tier=frontend\n", 30_000),
    ("hpa-walkthrough", 0, "kubectl apply -f https://k8s.io/examples/application/php-apache.yaml\nkubectl autoscale deployment php-apache --cpu-percent=80 --min=1 --max=10\n", 120_000),
    ("hpa-walkthrough", 0, "kubectl apply -f https://k8s.io/examples/application/php-apache.yaml\nkubectl get hpa\n", 120_000),
    ("hpa-walkthrough", 1, "kubectl scale deployment php-apache --replicas=5\n", 120_000),
    ("hpa-walkthrough", 1, "kubectl run load-generator --image=busybox:1.28 --restart=Never -- sleep 3600\n", 180_000),
    ("hpa-walkthrough", 2, "kubectl delete pod load-generator --grace-period=0\nsleep 2m\nkubectl get hpa php-apache\n", 60_000),
    ("hpa-walkthrough", 2, "kubectl scale deployment php-apache --replicas=1\n", 180_000),
];

#[test]
fn wrong_answers_do_not_pass() {
    let mut failures = Vec::new();
    for (id, step, lines, wait_ms) in WRONG {
        let lesson = match lesson::builtin(id) {
            Some(Ok(l)) => l,
            other => panic!("lesson {id}: {other:?}"),
        };
        let mut run = verify::Run::start(&lesson).expect("setup");
        run.solve_up_to(*step).expect("earlier steps pass with their solutions");
        assert_eq!(run.progress.step, *step);
        let commands = script::parse(lines).expect("wrong lines parse");
        run.type_lines(&commands);
        if run.wait_for_pass(*wait_ms).is_ok() {
            failures.push(format!("{id} step {}: passed after {lines:?}", step + 1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The README's lesson example is complete: it parses and verifies.
#[test]
fn the_readme_example_verifies() {
    let readme = include_str!("../README.md");
    let start = readme.find("````markdown\n").expect("the README shows a lesson") + "````markdown\n".len();
    let end = start + readme[start..].find("\n````").expect("the example ends");
    let lesson = lesson::parse(&readme[start..=end], None).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(lesson.steps.len(), 2);
    verify::verify(&lesson).unwrap_or_else(|f| panic!("README example: {f}"));
}
