//! Shapes for the structure-aware targets: JSON trees whose keys are
//! Kubernetes field names, and words people type into kubectl.

#![allow(dead_code)]

use arbitrary::{Result, Unstructured};
use serde_json::{json, Map, Value};

pub const FIELDS: &[&str] = &[
    "metadata", "name", "namespace", "labels", "annotations", "spec", "status", "replicas", "selector", "matchLabels",
    "matchExpressions", "key", "operator", "values", "template", "containers", "initContainers", "image", "command", "args",
    "ports", "containerPort", "protocol", "resources", "requests", "limits", "cpu", "memory", "env", "value", "valueFrom",
    "volumes", "volumeMounts", "mountPath", "strategy", "type", "rollingUpdate", "maxSurge", "maxUnavailable", "completions",
    "parallelism", "backoffLimit", "restartPolicy", "nodeName", "tolerations", "effect", "tolerationSeconds", "affinity",
    "nodeSelector", "data", "stringData", "finalizers", "ownerReferences", "uid", "generateName", "schedule", "jobTemplate",
    "clusterIP", "targetPort", "nodePort", "terminationGracePeriodSeconds", "livenessProbe", "httpGet", "path", "port",
    "periodSeconds", "serviceName", "volumeClaimTemplates", "accessModes", "storage", "minReadySeconds", "paused",
];

const STRINGS: &[&str] = &["", "nginx", "web", "100m", "1Gi", "TCP", "Always", "apps/v1", "-1", "25%", "a=b", "x.y/z", "Exists", "NoExecute"];

pub fn string(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 2)? {
        Ok(u.choose(STRINGS)?.to_string())
    } else {
        let s: String = u.arbitrary()?;
        Ok(s.chars().take(24).collect())
    }
}

pub fn tree(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let choice = if depth == 0 { u.int_in_range(0..=4)? } else { u.int_in_range(0..=6)? };
    Ok(match choice {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(u.int_in_range(-5..=5)?),
        4 => json!(string(u)?),
        5 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array((0..n).map(|_| tree(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=5)?;
            let mut map = Map::new();
            for _ in 0..n {
                let key = if u.ratio(3, 4)? { u.choose(FIELDS)?.to_string() } else { string(u)? };
                map.insert(key, tree(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// An object of a real kind with arbitrary fields below it.
pub fn object(u: &mut Unstructured) -> Result<Value> {
    let kinds = miniplane::engine::api::RESOURCES;
    let kind = u.choose(kinds)?;
    let name: String = if u.ratio(7, 8)? { format!("o{}", u.int_in_range(0..=9)?) } else { string(u)? };
    let mut obj = json!({"apiVersion": kind.api_version(), "kind": kind.kind, "metadata": {"name": name}, "spec": tree(u, 4)?});
    if u.ratio(1, 3)? {
        if let Some(map) = obj.as_object_mut() {
            let key = u.choose(FIELDS)?.to_string();
            map.insert(key, tree(u, 3)?);
        }
    }
    Ok(obj)
}

pub const KUBECTL_WORDS: &[&str] = &[
    "get", "describe", "apply", "create", "delete", "scale", "rollout", "status", "undo", "history", "restart", "logs", "label",
    "annotate", "taint", "cordon", "uncordon", "drain", "wait", "patch", "run", "expose", "set", "image", "events", "version",
    "api-resources", "explain", "deployment", "job", "cronjob", "configmap", "secret", "generic", "service", "clusterip", "pods",
    "po", "deploy", "rs", "nodes", "svc", "ns", "all", "web", "minikube", "web=nginx", "x=y", "-n", "kube-system", "-A", "-o",
    "yaml", "json", "wide", "name", "jsonpath={.items[*].metadata.name}", "jsonpath={range .items[*]}{.metadata.name}{end}",
    "custom-columns=N:.metadata.name", "-l", "app=web", "app in (a,b),!x", "--replicas=3", "--replicas=-1", "--image=nginx",
    "--cascade=orphan", "--for=delete", "--for=condition=Ready", "--timeout=1s", "--type=json", "--type=merge", "-p",
    "{\"spec\":{\"replicas\":2}}", "[{\"op\":\"remove\",\"path\":\"/spec/replicas\"}]", "--grace-period=0", "--force", "--", "sh",
    "-c", "echo hi", "node-role.kubernetes.io/control-plane:NoSchedule-", "a=b:NoExecute", "deploy/web", "pod/", "--from-literal=k=v",
    "--field-selector=status.phase=Running", "--sort-by=.metadata.name", "-L", "app", "--show-labels", "-f", "-", "--dry-run=client",
    "--to-revision=99", "-c", "nginx", "--tail=-5", "--port=80", "--restart=Never", "--schedule=*/1 * * * *", "=",
];

pub fn kubectl_words(u: &mut Unstructured) -> Result<Vec<String>> {
    let n = u.int_in_range(0..=8)?;
    (0..n).map(|_| if u.ratio(4, 5)? { Ok(u.choose(KUBECTL_WORDS)?.to_string()) } else { string(u) }).collect()
}
