//! Golden tests for tables, checked against kubectl 1.33's printers.

use super::*;

#[test]
fn human_duration_matches_apimachinery() {
    let cases = [
        (0, "0s"),
        (45_000, "45s"),
        (119_000, "119s"),
        (120_000, "2m"),
        (190_000, "3m10s"),
        (600_000, "10m"),
        (179 * 60_000, "179m"),
        (3 * 3_600_000, "3h"),
        (7 * 3_600_000 + 30 * 60_000, "7h30m"),
        (8 * 3_600_000, "8h"),
        (47 * 3_600_000, "47h"),
        (51 * 3_600_000, "2d3h"),
        (8 * 86_400_000, "8d"),
        (800 * 86_400_000, "2y70d"),
    ];
    for (ms, want) in cases {
        assert_eq!(human_duration(ms), want, "{ms}");
    }
}

#[test]
fn a_time_two_seconds_ahead_or_more_is_invalid() {
    let at = crate::engine::api::meta::api_time(VirtualTime::from_secs(100));
    let cases = [(130_000, "30s"), (100_000, "0s"), (98_001, "0s"), (98_000, "<invalid>"), (60_000, "<invalid>")];
    for (now, want) in cases {
        assert_eq!(tables::age_or_invalid(&at, VirtualTime::from_millis(now)), want, "{now}");
    }
}

fn pod(status: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "app", "image": "busybox"}], "initContainers": [{"name": "init", "image": "busybox"}]},
        "status": status,
    }))
    .unwrap()
}

/// STATUS and RESTARTS as printPod (pkg/printers/internalversion) derives them.
#[test]
fn pod_status_follows_print_pod() {
    let now = VirtualTime::from_secs(600);
    let waiting_init = pod(serde_json::json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]}));
    assert_eq!(tables::pod_summary(&waiting_init, now).status, "Init:0/1");
    let crash = pod(serde_json::json!({"phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "init", "image": "busybox", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
        "containerStatuses": [{"name": "app", "image": "busybox", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:09:15Z"}}}]}));
    let s = tables::pod_summary(&crash, now);
    assert_eq!((s.ready.as_str(), s.status.as_str(), s.restarts.as_str()), ("0/1", "CrashLoopBackOff", "3 (45s ago)"));
    let done = pod(serde_json::json!({"phase": "Succeeded",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "containerStatuses": [{"name": "app", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}));
    assert_eq!(tables::pod_summary(&done, now).status, "Completed");
    let mut terminating = done.clone();
    terminating.status_mut_if_any().unwrap().phase = Some("Running".into());
    terminating.status_mut_if_any().unwrap().container_statuses = None;
    terminating.metadata.deletion_timestamp = terminating.metadata.creation_timestamp.clone();
    assert_eq!(tables::pod_summary(&terminating, now).status, "Terminating");
}

/// `kubectl get pods -o wide --show-labels -A` layout: NAMESPACE first, LABELS last.
#[test]
fn table_decorations_match_kubectl() {
    let mut p = pod(serde_json::json!({"phase": "Running", "podIPs": [{"ip": "10.244.1.4"}],
        "containerStatuses": [{"name": "app", "image": "busybox", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}],
        "conditions": [{"type": "Initialized", "status": "True"}]}));
    p.metadata.namespace = Some("default".into());
    p.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    p.spec_mut_if_any().unwrap().init_containers = None;
    p.set_node_name(Some("worker-1".into()));
    let objects = vec![Rc::new(Object::Pod(Box::new(p)))];
    let opts = TableOptions { wide: true, with_namespace: true, show_labels: true, label_columns: vec!["app".into()], ..Default::default() };
    assert_eq!(
        render_table(&objects, &opts, VirtualTime::from_secs(190)),
        "NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE     IP           NODE       NOMINATED NODE   READINESS GATES   APP   LABELS\n\
         default     p      1/1     Running   0          3m10s   10.244.1.4   worker-1   <none>           <none>            web   app=web\n"
    );
    let opts = TableOptions { with_kind: true, no_headers: true, ..Default::default() };
    assert_eq!(render_table(&objects, &opts, VirtualTime::from_secs(5)), "pod/p   1/1   Running   0     5s\n");
}

#[test]
fn nodes_show_readiness_roles_and_cordon() {
    let node: k8s_openapi::api::core::v1::Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "minikube", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {
            "kubeletVersion": "v1.33.1", "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
            "containerRuntimeVersion": "", "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}
    }))
    .unwrap();
    let objects = vec![Rc::new(Object::Node(Box::new(node)))];
    assert_eq!(
        render_table(&objects, &TableOptions::default(), VirtualTime::from_secs(3600)),
        "NAME       STATUS                     ROLES           AGE   VERSION\nminikube   Ready,SchedulingDisabled   control-plane   60m   v1.33.1\n"
    );
}

#[test]
fn structured_output_wraps_several_objects_in_a_list() {
    let ns: k8s_openapi::api::core::v1::Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "a"}})).unwrap();
    let objects = vec![Rc::new(Object::Namespace(Box::new(ns)))];
    assert_eq!(render_structured(&objects, &OutputFormat::Name, false, true).unwrap(), "namespace/a\n");
    assert_eq!(
        render_structured(&objects, &OutputFormat::Yaml, false, true).unwrap(),
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
    );
    assert_eq!(render_structured(&objects, &OutputFormat::JsonPath("{.metadata.name}".into()), true, true).unwrap(), "a");
    assert_eq!(
        custom_columns(&objects, "NAME:.metadata.name,LABELS:.metadata.labels", false).unwrap(),
        ("NAME   LABELS\na      <none>\n".to_string(), None)
    );
    assert!(parse_output_format(Some("bogus")).is_err());
}

/// `kubectl get quota`: printResourceQuota's columns from status.hard and
/// status.used, AGE last as in 1.33 (kubernetes#129419).
#[test]
fn quotas_list_status_by_resource_as_print_resource_quota() {
    let objects: Vec<Rc<Object>> = [
        r#"{"metadata": {"name": "empty", "namespace": "q", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"hard": {"pods": "2"}}, "status": {}}"#,
        r#"{"metadata": {"name": "exp", "namespace": "q", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"hard": {"x": "1e3"}, "scopes": ["Terminating", "NotBestEffort", "PriorityClass"]}, "status": {"hard": {"x": "1e3", "y": "2k", "z": "1Gi", "w": "5", "limits": "3", "limits.cpu": "2", "limitsx.cpu": "4"}, "used": {"x": "5", "y": "1e3", "z": "1536Mi", "w": "3", "other": "7", "limits.cpu": "1500m"}}}"#,
        r#"{"metadata": {"name": "small", "namespace": "q", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi"}, "scopes": ["NotTerminating", "BestEffort", "Bogus"]}, "status": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi", "requests.memory": "1Gi", "count/foo": "5"}, "used": {"pods": "1", "requests.cpu": "500m", "limits.memory": "512M", "requests.memory": "500m"}}}"#,
    ]
    .iter()
    .map(|text| Rc::new(Object::ResourceQuota(Box::new(serde_json::from_str(text).unwrap()))))
    .collect();
    assert_eq!(
        render_table(&objects, &TableOptions::default(), VirtualTime::from_secs(5)),
        "NAME    REQUEST                                                                      LIMIT                     AGE\nempty                                                                                                          5s\nexp     limits: 0/3, limitsx.cpu: 0/4, w: 3/5, x: 5/1e3, y: 1e3/2k, z: 1536Mi/1Gi    limits.cpu: 1500m/2       5s\nsmall   count/foo: 0/5, pods: 1/2, requests.cpu: 500m/1, requests.memory: 500m/1Gi   limits.memory: 512M/1Gi   5s\n"
    );
}
