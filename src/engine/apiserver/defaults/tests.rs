//! Table tests: a manifest, defaulted, compared with what a 1.33 API server
//! stores for it (the `spec` as `kubectl get -o json` shows it).

use serde_json::{json, Value};

use super::*;
use crate::engine::api::resource_for_kind;

fn defaulted(manifest: Value) -> Value {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = manifest["kind"].as_str().unwrap_or_default().to_string();
    let rid = resource_for_kind(&api_version, &kind).unwrap_or_else(|| panic!("{kind} is served"));
    let mut obj = Object::from_json(rid, manifest).unwrap_or_else(|e| panic!("{kind} decodes: {e}"));
    apply(&mut obj);
    let once = obj.clone();
    apply(&mut obj);
    assert_eq!(once, obj, "defaulting {kind} twice changes nothing");
    obj.to_json()
}

fn nginx_container() -> Value {
    json!({"name": "nginx", "image": "nginx"})
}

const DEFAULTED_NGINX: &str = r#"{
    "image": "nginx",
    "imagePullPolicy": "Always",
    "name": "nginx",
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File"
}"#;

fn defaulted_template_spec() -> Value {
    json!({
        "containers": [serde_json::from_str::<Value>(DEFAULTED_NGINX).unwrap_or_default()],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30
    })
}

#[test]
fn pod_spec_defaults() {
    let pod = defaulted(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"containers": [{
            "name": "web", "image": "nginx:1.27",
            "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "500m"}},
            "livenessProbe": {"httpGet": {"port": 80}},
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
        }]}
    }));
    let mut expected = defaulted_template_spec();
    expected["enableServiceLinks"] = json!(true);
    expected["containers"] = json!([{
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
        "image": "nginx:1.27",
        "imagePullPolicy": "IfNotPresent",
        "livenessProbe": {
            "failureThreshold": 3,
            "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1
        },
        "name": "web",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"
    }]);
    assert_eq!(pod["spec"], expected);
}

#[test]
fn image_pull_policy_follows_the_tag() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("registry.k8s.io/pause:3.10", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"),
        ("Nginx", "IfNotPresent"),
        ("", "IfNotPresent"),
    ];
    for (image, policy) in cases {
        assert_eq!(pull_policy_for(image), policy, "{image}");
    }
}

#[test]
fn volumes_get_modes_and_an_empty_dir_when_sourceless() {
    let pod = defaulted(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "v"},
        "spec": {"containers": [nginx_container()], "volumes": [
            {"name": "scratch"},
            {"name": "cfg", "configMap": {"name": "app"}},
            {"name": "sec", "secret": {"secretName": "app"}},
            {"name": "host", "hostPath": {"path": "/var/log"}}
        ]}
    }));
    assert_eq!(
        pod["spec"]["volumes"],
        json!([
            {"emptyDir": {}, "name": "scratch"},
            {"configMap": {"defaultMode": 420, "name": "app"}, "name": "cfg"},
            {"name": "sec", "secret": {"defaultMode": 420, "secretName": "app"}},
            {"hostPath": {"path": "/var/log", "type": ""}, "name": "host"}
        ])
    );
}

#[test]
fn deployment_defaults() {
    let d = defaulted(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [nginx_container()]}}
        }
    }));
    assert_eq!(
        d["spec"],
        json!({
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "web"}}, "spec": defaulted_template_spec()}
        })
    );
}

#[test]
fn recreate_strategy_gets_no_rolling_parameters() {
    let d = defaulted(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [nginx_container()]}}}
    }));
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn daemon_set_and_stateful_set_defaults() {
    let ds = defaulted(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"template": {"spec": {"containers": [nginx_container()]}}}
    }));
    assert_eq!(ds["spec"]["updateStrategy"], json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}));
    assert_eq!(ds["spec"]["revisionHistoryLimit"], json!(10));

    let sts = defaulted(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "template": {"spec": {"containers": [nginx_container()]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
        }
    }));
    let spec = &sts["spec"];
    assert_eq!(spec["podManagementPolicy"], json!("OrderedReady"));
    assert_eq!(spec["updateStrategy"], json!({"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}));
    assert_eq!(spec["persistentVolumeClaimRetentionPolicy"], json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    assert_eq!(spec["replicas"], json!(1));
    assert_eq!(spec["revisionHistoryLimit"], json!(10));
    assert_eq!(
        spec["volumeClaimTemplates"][0],
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"creationTimestamp": null, "name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"}
        })
    );
}

#[test]
fn job_and_cron_job_defaults() {
    let job = defaulted(json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
        "spec": {"template": {"spec": {"containers": [nginx_container()], "restartPolicy": "Never"}}}
    }));
    let spec = &job["spec"];
    assert_eq!(spec["backoffLimit"], json!(6));
    assert_eq!(spec["completions"], json!(1));
    assert_eq!(spec["parallelism"], json!(1));
    assert_eq!(spec["completionMode"], json!("NonIndexed"));
    assert_eq!(spec["suspend"], json!(false));
    assert_eq!(spec["podReplacementPolicy"], json!("TerminatingOrFailed"));
    assert_eq!(spec["manualSelector"], json!(false));
    assert_eq!(spec["template"]["spec"]["restartPolicy"], json!("Never"));

    let cj = defaulted(json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [nginx_container()], "restartPolicy": "OnFailure"}}}}}
    }));
    let spec = &cj["spec"];
    assert_eq!(spec["concurrencyPolicy"], json!("Allow"));
    assert_eq!(spec["suspend"], json!(false));
    assert_eq!(spec["successfulJobsHistoryLimit"], json!(3));
    assert_eq!(spec["failedJobsHistoryLimit"], json!(1));
    // The job template's own fields stay as written; its pod template is defaulted.
    assert_eq!(spec["jobTemplate"]["spec"].get("backoffLimit"), None);
    assert_eq!(spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"], json!("ClusterFirst"));
}

#[test]
fn service_defaults() {
    let svc = defaulted(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}
    }));
    assert_eq!(
        svc["spec"],
        json!({
            "internalTrafficPolicy": "Cluster",
            "ports": [
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 443, "protocol": "TCP", "targetPort": "https"}
            ],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP"
        })
    );
    let node_port = defaulted(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "ports": [{"port": 80}], "sessionAffinity": "ClientIP"}
    }));
    assert_eq!(node_port["spec"]["externalTrafficPolicy"], json!("Cluster"));
    assert_eq!(node_port["spec"]["sessionAffinityConfig"], json!({"clientIP": {"timeoutSeconds": 10800}}));
}

#[test]
fn namespace_secret_pvc_and_rc_defaults() {
    let ns = defaulted(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}));
    assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "dev"}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));

    let secret = defaulted(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}));
    assert_eq!(secret["type"], json!("Opaque"));

    let pvc = defaulted(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], json!("Filesystem"));
    assert_eq!(pvc["status"]["phase"], json!("Pending"));

    let rc = defaulted(json!({
        "apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
        "spec": {"template": {"metadata": {"labels": {"app": "rc"}}, "spec": {"containers": [nginx_container()]}}}
    }));
    assert_eq!(rc["spec"]["selector"], json!({"app": "rc"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "rc"}));
    assert_eq!(rc["spec"]["replicas"], json!(1));
}

#[test]
fn limit_range_items_fill_defaults_from_max_and_min() {
    let lr = defaulted(json!({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}}]}
    }));
    assert_eq!(
        lr["spec"]["limits"][0],
        json!({
            "default": {"cpu": "1"},
            "defaultRequest": {"cpu": "1", "memory": "64Mi"},
            "max": {"cpu": "1"},
            "min": {"memory": "64Mi"},
            "type": "Container"
        })
    );
}

#[test]
fn deprecated_service_account_field_mirrors_the_name() {
    let pod = defaulted(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"serviceAccount": "builder", "containers": [nginx_container()]}
    }));
    assert_eq!(pod["spec"]["serviceAccountName"], json!("builder"));
    assert_eq!(pod["spec"]["serviceAccount"], json!("builder"));
}
