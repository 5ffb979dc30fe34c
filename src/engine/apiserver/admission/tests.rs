//! Requests through the whole create path, checking what admission and the
//! create strategies add.

use serde_json::{json, Value};

use super::*;
use crate::engine::api::resource_for_kind;

fn object(manifest: Value) -> Object {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = manifest["kind"].as_str().unwrap_or_default().to_string();
    let rid = resource_for_kind(&api_version, &kind).unwrap_or_else(|| panic!("{kind} is served"));
    Object::from_json(rid, manifest).unwrap_or_else(|e| panic!("{kind} decodes: {e}"))
}

/// An API server with the `default` namespace and its `default` service
/// account, as a booted cluster has them.
fn server() -> ApiServer {
    let mut api = ApiServer::new(7, "192.168.49.2:8443");
    create(&mut api, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
    create(&mut api, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}}));
    api
}

fn create(api: &mut ApiServer, manifest: Value) -> Value {
    match api.create(object(manifest)) {
        Ok(stored) => stored.to_json(),
        Err(e) => panic!("create failed: {e}"),
    }
}

fn create_err(api: &mut ApiServer, manifest: Value) -> ApiError {
    match api.create(object(manifest)) {
        Ok(_) => panic!("create should fail"),
        Err(e) => e,
    }
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
}

#[test]
fn pod_gets_service_account_credentials_tolerations_priority_and_status() {
    let mut api = server();
    let stored = create(&mut api, pod("web"));
    let spec = &stored["spec"];
    assert_eq!(spec["serviceAccountName"], json!("default"));
    assert_eq!(spec["serviceAccount"], json!("default"));
    assert_eq!(spec["priority"], json!(0));
    assert_eq!(spec["preemptionPolicy"], json!("PreemptLowerPriority"));
    assert_eq!(spec["enableServiceLinks"], json!(true));
    let volume_name = spec["volumes"][0]["name"].as_str().unwrap_or_default().to_string();
    assert!(volume_name.starts_with("kube-api-access-") && volume_name.len() == "kube-api-access-".len() + 5, "{volume_name}");
    assert_eq!(
        spec["volumes"][0]["projected"],
        json!({
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
            ]
        })
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": volume_name, "readOnly": true}])
    );
    assert_eq!(
        spec["tolerations"],
        json!([
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
        ])
    );
    assert_eq!(stored["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
}

#[test]
fn missing_service_account_is_forbidden() {
    let mut api = server();
    let mut manifest = pod("x");
    manifest["spec"]["serviceAccountName"] = json!("foo");
    let err = create_err(&mut api, manifest);
    assert_eq!(err.reason, Reason::Forbidden);
    assert_eq!(err.message, "pods \"x\" is forbidden: error looking up service account default/foo: serviceaccount \"foo\" not found");
}

#[test]
fn automount_opt_out_and_existing_toleration() {
    let mut api = server();
    let mut manifest = pod("quiet");
    manifest["spec"]["automountServiceAccountToken"] = json!(false);
    manifest["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
    let stored = create(&mut api, manifest);
    assert_eq!(stored["spec"].get("volumes"), None);
    assert_eq!(stored["spec"]["tolerations"], json!([{"operator": "Exists"}]));
}

#[test]
fn priority_classes_resolve() {
    let mut api = server();
    create(&mut api, json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000}));
    let mut manifest = pod("important");
    manifest["spec"]["priorityClassName"] = json!("high");
    let stored = create(&mut api, manifest);
    assert_eq!(stored["spec"]["priority"], json!(1000));

    let mut manifest = pod("lost");
    manifest["spec"]["priorityClassName"] = json!("nope");
    let err = create_err(&mut api, manifest);
    assert_eq!(err.message, "pods \"lost\" is forbidden: no PriorityClass with name nope was found");

    create(
        &mut api,
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "normal"}, "value": 10, "globalDefault": true, "preemptionPolicy": "Never"}),
    );
    let stored = create(&mut api, pod("plain"));
    assert_eq!(stored["spec"]["priorityClassName"], json!("normal"));
    assert_eq!(stored["spec"]["priority"], json!(10));
    assert_eq!(stored["spec"]["preemptionPolicy"], json!("Never"));
}

#[test]
fn qos_classes() {
    let mut api = server();
    let mut guaranteed = pod("g");
    guaranteed["spec"]["containers"][0]["resources"] = json!({"limits": {"cpu": "1", "memory": "1Gi"}});
    assert_eq!(create(&mut api, guaranteed)["status"]["qosClass"], json!("Guaranteed"));
    let mut burstable = pod("b");
    burstable["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "100m"}});
    assert_eq!(create(&mut api, burstable)["status"]["qosClass"], json!("Burstable"));
}

#[test]
fn limit_ranger_fills_resources_and_annotates() {
    let mut api = server();
    create(
        &mut api,
        json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
               "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m"}}]}}),
    );
    let stored = create(&mut api, pod("limited"));
    assert_eq!(
        stored["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}})
    );
    assert_eq!(
        stored["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        json!("LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app")
    );
    assert_eq!(stored["status"]["qosClass"], json!("Burstable"));
}

#[test]
fn limit_ranger_enforces_minimum() {
    let mut api = server();
    create(
        &mut api,
        json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
               "spec": {"limits": [{"type": "Container", "min": {"cpu": "200m"}}]}}),
    );
    let mut manifest = pod("small");
    manifest["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "50m"}});
    let err = create_err(&mut api, manifest);
    assert_eq!(err.message, "pods \"small\" is forbidden: minimum cpu usage per Container is 200m, but request is 50m");
}

#[test]
fn job_selector_is_generated_from_the_uid() {
    let mut api = server();
    let stored = create(
        &mut api,
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
               "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}}),
    );
    let uid = stored["metadata"]["uid"].clone();
    assert!(uid.is_string());
    assert_eq!(stored["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi"
    });
    assert_eq!(stored["spec"]["template"]["metadata"]["labels"], labels);
    assert_eq!(stored["metadata"]["labels"], labels);
}

#[test]
fn services_get_cluster_ips_and_node_ports() {
    let mut api = server();
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let stored = create(&mut api, svc);
    let spec = &stored["spec"];
    let ip: std::net::Ipv4Addr = spec["clusterIP"].as_str().unwrap_or_default().parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let value = u32::from(ip);
    assert!((0x0a60_0100..0x0a6f_ffff).contains(&value), "{ip} is in the dynamic band of 10.96.0.0/12");
    assert_eq!(spec["clusterIPs"], json!([ip.to_string()]));
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], json!("SingleStack"));
    let node_port = spec["ports"][0]["nodePort"].as_i64().unwrap_or(0);
    assert!((30000..=32767).contains(&node_port));
    assert_eq!(stored["status"], json!({"loadBalancer": {}}));

    let taken = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "copy"},
                       "spec": {"clusterIP": ip.to_string(), "ports": [{"port": 80}]}});
    let err = create_err(&mut api, taken);
    assert_eq!(
        err.message,
        format!("Service \"copy\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated")
    );
    let outside = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "far"},
                         "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}});
    let err = create_err(&mut api, outside);
    assert_eq!(
        err.causes[0].message,
        "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
    );

    let headless = create(
        &mut api,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]}}),
    );
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4"]));

    // An update that leaves the allocated values out keeps them.
    let mut update = stored.clone();
    update["spec"].as_object_mut().map(|s| {
        s.remove("clusterIP");
        s.remove("clusterIPs");
    });
    update["spec"]["ports"][0].as_object_mut().map(|p| p.remove("nodePort"));
    let updated = api.update(object(update)).map(|o| o.to_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updated["spec"]["clusterIP"], json!(ip.to_string()));
    assert_eq!(updated["spec"]["ports"][0]["nodePort"], json!(node_port));
}

#[test]
fn namespace_and_claims_get_their_finalizers() {
    let mut api = server();
    let ns = create(&mut api, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}));
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    let pvc = create(
        &mut api,
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    );
    assert_eq!(pvc["metadata"]["finalizers"], json!(["kubernetes.io/pvc-protection"]));
    assert_eq!(pvc["status"], json!({"phase": "Pending"}));
}

#[test]
fn the_lists_admission_adds_to_are_sized_exactly() {
    // The binding copies the spec, sized exactly as any clone is; lists
    // with room to spare here would take other blocks than the copy's.
    let mut api = server();
    let stored = api.create(object(pod("web"))).unwrap_or_else(|e| panic!("create failed: {e}"));
    let Object::Pod(p) = &*stored else { panic!("a pod") };
    let spec = p.spec.as_deref().unwrap_or_else(|| panic!("a spec"));
    let volumes = spec.volumes.as_ref().map_or((0, 0), |v| (v.len(), v.capacity()));
    let tolerations = spec.tolerations.as_ref().map_or((0, 0), |t| (t.len(), t.capacity()));
    let mounts = spec.containers[0].volume_mounts.as_ref().map_or((0, 0), |m| (m.len(), m.capacity()));
    assert_eq!([volumes, tolerations, mounts], [(1, 1), (2, 2), (1, 1)]);
}

fn labelled_namespace(api: &mut ApiServer, name: &str, labels: Value) {
    create(api, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}));
    create(api, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}));
}

fn pod_in(namespace: &str, name: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": {"containers": [container]}})
}

fn restricted_container() -> Value {
    json!({
        "name": "app", "image": "nginx",
        "securityContext": {
            "allowPrivilegeEscalation": false, "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
        }
    })
}

#[test]
fn pod_security_enforce_refuses_a_pod_and_passes_one_that_complies() {
    let mut api = server();
    labelled_namespace(&mut api, "secure", json!({"pod-security.kubernetes.io/enforce": "baseline"}));
    let err = create_err(&mut api, pod_in("secure", "host", json!({"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]})));
    assert_eq!(err.reason, Reason::Forbidden);
    assert_eq!(
        err.message,
        "pods \"host\" is forbidden: violates PodSecurity \"baseline:latest\": hostPort (container \"app\" uses hostPort 8080)"
    );
    // Baseline lets a plain pod in; its warn level (following enforce) has nothing to say.
    create(&mut api, pod_in("secure", "plain", json!({"name": "app", "image": "nginx"})));
    assert!(api.take_client_warnings().is_empty());
    // A namespace without labels is privileged: the same pod is let in.
    create(&mut api, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host"}, "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}));

    labelled_namespace(&mut api, "strict", json!({"pod-security.kubernetes.io/enforce": "restricted"}));
    create(&mut api, pod_in("strict", "good", restricted_container()));
    let err = create_err(&mut api, pod_in("strict", "plain", json!({"name": "app", "image": "nginx"})));
    assert!(err.message.starts_with("pods \"plain\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"), "{}", err.message);
}

#[test]
fn pod_security_warns_the_client_only_and_checks_workload_templates() {
    let mut api = server();
    labelled_namespace(&mut api, "watched", json!({"pod-security.kubernetes.io/warn": "baseline"}));
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "watched"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"hostNetwork": true, "containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]}}}
    });
    create(&mut api, deployment);
    assert_eq!(
        api.take_client_warnings(),
        ["would violate PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true), privileged (container \"app\" must not set securityContext.privileged=true)"]
    );
    // A component's request (the ReplicaSet controller's pod) is let in with no warning kept.
    api.set_caller(Some(3));
    create(&mut api, pod_in("watched", "by-controller", json!({"name": "app", "image": "nginx", "securityContext": {"privileged": true}})));
    api.set_caller(None);
    assert!(api.take_client_warnings().is_empty());
}

#[test]
fn pod_security_labels_must_parse_and_raising_enforce_names_the_pods_that_break_it() {
    let mut api = server();
    let err = create_err(&mut api, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bad", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}}));
    assert_eq!(err.reason, Reason::Invalid);
    assert_eq!(
        err.message,
        "Namespace \"bad\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted"
    );

    labelled_namespace(&mut api, "team", json!({}));
    for name in ["b", "a", "c"] {
        create(&mut api, pod_in("team", name, json!({"name": "app", "image": "nginx"})));
    }
    create(&mut api, pod_in("team", "good", restricted_container()));
    let stored = api.get(ids::namespaces(), "", "team").expect("namespace");
    let mut labelled = (*stored).clone();
    labelled.meta_mut().labels.get_or_insert_with(Default::default).insert("pod-security.kubernetes.io/enforce".into(), "restricted".into());
    api.update(labelled).expect("labels a namespace");
    assert_eq!(
        api.take_client_warnings(),
        [
            "existing pods in namespace \"team\" violate the new PodSecurity enforce level \"restricted:latest\"",
            "a (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
    // An existing pod whose image changes is checked again; a label change is not.
    let stored = api.get(ids::pods(), "team", "a").expect("pod");
    let mut relabelled = (*stored).clone();
    relabelled.meta_mut().labels = Some([("tier".to_string(), "web".to_string())].into());
    api.update(relabelled).expect("a metadata change passes");
    let stored = api.get(ids::pods(), "team", "a").expect("pod");
    let mut new_image = (*stored).clone();
    if let Object::Pod(p) = &mut new_image {
        p.spec_mut().containers[0].image = Some("nginx:1.28".into());
    }
    assert_eq!(api.update(new_image).map_err(|e| e.reason), Err(Reason::Forbidden));
}

#[test]
fn the_counted_prefixes_are_where_quotas_and_limit_ranges_are_kept() {
    assert_eq!(ApiServer::prefix(ids::resource_quotas(), None), RESOURCE_QUOTAS_PREFIX);
    let limit_ranges = find_resource("", "limitranges").expect("limitranges is served");
    assert_eq!(ApiServer::prefix(limit_ranges, None), LIMIT_RANGES_PREFIX);
}

#[test]
fn a_quota_deleted_no_longer_refuses() {
    let mut api = server();
    create(&mut api, json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "none", "namespace": "default"}, "spec": {"hard": {"configmaps": "0"}}}));
    // As the quota controller would: what the quota allows, and uses.
    api.modify(ids::resource_quotas(), "default", "none", true, |o| {
        let Object::ResourceQuota(q) = o else { return false };
        let zero = || [("configmaps".to_string(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("0".into()))].into_iter().collect();
        q.status = Some(k8s_openapi::api::core::v1::ResourceQuotaStatus { hard: Some(zero()), used: Some(zero()) });
        true
    })
    .expect("the quota's status is written");
    let configmap = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}});
    assert_eq!(create_err(&mut api, configmap.clone()).reason, Reason::Forbidden);
    api.delete(ids::resource_quotas(), "default", "none", &crate::engine::apiserver::DeleteOptions::default()).expect("the quota is deleted");
    assert_eq!(create(&mut api, configmap)["metadata"]["name"], "c");
}
