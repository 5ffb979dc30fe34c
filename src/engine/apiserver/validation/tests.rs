//! Table tests: manifests after defaulting, and the causes a 1.33 server
//! answers with, in its order.

use serde_json::{json, Value};

use super::*;
use crate::engine::api::resource_for_kind;
use crate::engine::apiserver::defaults;

fn object(manifest: Value) -> Object {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = manifest["kind"].as_str().unwrap_or_default().to_string();
    let rid = resource_for_kind(&api_version, &kind).unwrap_or_else(|| panic!("{kind} is served"));
    let mut obj = Object::from_json(rid, manifest).unwrap_or_else(|e| panic!("{kind} decodes: {e}"));
    if obj.meta().namespace.is_none() && crate::engine::api::resource(rid).namespaced {
        obj.meta_mut().namespace = Some("default".to_string());
    }
    defaults::apply(&mut obj);
    obj
}

fn causes(manifest: Value) -> Vec<String> {
    validate_create(&object(manifest)).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
}

fn pod_with(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn object_names() {
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx"}]}))).len(),
        0,
        "a valid pod has no causes"
    );
    let mut bad = pod_with(json!({"containers": [{"name": "a", "image": "nginx"}]}));
    bad["metadata"]["name"] = json!("My_Pod");
    assert_eq!(causes(bad), vec![format!("metadata.name: Invalid value: \"My_Pod\": {SUBDOMAIN_MSG}")]);

    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
    assert_eq!(causes(ns), vec![format!("metadata.name: Invalid value: \"a.b\": {LABEL_MSG}")]);

    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}});
    assert_eq!(
        causes(svc),
        vec!["metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string()]
    );

    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    assert_eq!(causes(nameless), vec!["metadata.name: Required value: name or generateName is required".to_string()]);

    let generated = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-abcde", "generateName": "web-"}});
    assert!(causes(generated).is_empty(), "a generateName may end in a dash");
}

#[test]
fn labels_and_annotations() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "-bad", "a/b/c": "x"}}});
    assert_eq!(
        causes(cm),
        vec![
            "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string(),
            "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string(),
        ]
    );
    let big = "x".repeat(300 * 1024);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"big": big}}});
    assert_eq!(causes(cm), vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]);
}

#[test]
fn pod_spec_messages() {
    assert_eq!(causes(pod_with(json!({"containers": []}))), vec!["spec.containers: Required value".to_string()]);
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx"}, {"name": "a"}]}))),
        vec!["spec.containers[1].image: Required value".to_string(), "spec.containers[1].name: Duplicate value: \"a\"".to_string()]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx", "ports": [{"containerPort": 70000}]}]}))),
        vec!["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string()]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx"}], "restartPolicy": "Sometimes"}))),
        vec!["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".to_string()]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]}))),
        vec!["spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1".to_string()]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "Web", "image": "nginx", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}))),
        vec![
            format!("spec.containers[0].name: Invalid value: \"Web\": {LABEL_MSG}"),
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"".to_string(),
        ]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx", "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 80}}}]}))),
        vec!["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1".to_string()]
    );
    assert_eq!(
        causes(pod_with(json!({"containers": [{"name": "a", "image": "nginx",
            "livenessProbe": {"terminationGracePeriodSeconds": 0, "tcpSocket": {"port": 80}},
            "readinessProbe": {"terminationGracePeriodSeconds": 5, "tcpSocket": {"port": 80}}}]}))),
        vec![
            "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0".to_string(),
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes".to_string(),
        ]
    );
}

fn deployment(selector: Value, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}})
}

#[test]
fn deployment_messages() {
    assert!(causes(deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "x"}))).is_empty());
    assert_eq!(
        causes(deployment(json!({}), json!({"app": "x"}))),
        vec![
            "spec.selector: Required value".to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`".to_string(),
        ]
    );
    assert_eq!(
        causes(deployment(json!({"matchLabels": {"app": "y"}}), json!({"app": "x"}))),
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`".to_string()]
    );
    let mut negative = deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "x"}));
    negative["spec"]["replicas"] = json!(-1);
    negative["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    assert_eq!(
        causes(negative),
        vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"".to_string(),
        ]
    );
}

#[test]
fn selector_is_immutable() {
    let old = object(deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "x"})));
    let new = object(deployment(json!({"matchLabels": {"app": "y"}}), json!({"app": "y"})));
    let found: Vec<String> = validate_update(&new, &old).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
    assert_eq!(
        found,
        vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable".to_string()]
    );
}

#[test]
fn job_restart_policy_must_end() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "uid": "u-1"},
                     "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}},
                              "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "pi", "image": "perl"}]}}}});
    assert_eq!(causes(job), vec!["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"".to_string()]);
}

#[test]
fn service_messages() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}});
    assert_eq!(causes(svc), vec!["spec.ports: Required value".to_string()]);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"ports": [{"name": "http", "port": 80}, {"port": 80}, {"name": "big", "port": 70000}]}});
    assert_eq!(
        causes(svc),
        vec![
            "spec.ports[1].name: Required value".to_string(),
            "spec.ports[2].port: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string(),
            "spec.ports[2].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string(),
            "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}".to_string(),
        ]
    );
}

#[test]
fn config_map_keys() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"bad key": "v", "..x": "v"}});
    assert_eq!(
        causes(cm),
        vec![
            "data[..x]: Invalid value: \"..x\": must not start with '..'".to_string(),
            "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string(),
        ]
    );
}

#[test]
fn pod_updates_may_change_only_some_fields() {
    let old = object(pod_with(json!({"containers": [{"name": "a", "image": "nginx"}]})));
    let mut image_only = old.clone();
    if let Object::Pod(p) = &mut image_only {
        if let Some(c) = p.spec_mut_if_any().and_then(|s| s.containers.first_mut()) {
            c.image = Some("nginx:1.27".to_string());
        }
    }
    assert!(validate_update(&image_only, &old).is_empty());
    let mut restart = old.clone();
    if let Object::Pod(p) = &mut restart {
        if let Some(s) = p.spec_mut_if_any() {
            s.restart_policy = Some("Never".to_string());
        }
    }
    let found = validate_update(&restart, &old);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field, "spec");
    assert!(found[0].message.starts_with("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
    assert!(found[0].message.contains("RestartPolicy"));
}

#[test]
fn go_quoting() {
    assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    assert_eq!(go_map(None), "map[string]string(nil)");
}

#[test]
fn storage_messages() {
    let claim = |spec: Value| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": spec});
    assert_eq!(
        causes(claim(json!({}))),
        vec!["spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"]
    );
    assert_eq!(
        causes(claim(json!({"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}, "storageClassName": "Fast"}))),
        vec![
            "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes".to_string(),
            "spec.resources[storage]: Invalid value: \"0\": must be greater than zero".to_string(),
            format!("spec.storageClassName: Invalid value: \"Fast\": {SUBDOMAIN_MSG}"),
        ]
    );
    let volume = |spec: Value| json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v"}, "spec": spec});
    assert_eq!(
        causes(volume(json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/mnt/disk"}}))),
        vec!["spec.nodeAffinity: Required value: Local volume requires node affinity"]
    );
    assert_eq!(
        causes(volume(json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Recycle",
            "hostPath": {"path": "/"}}))),
        vec!["spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'"]
    );
    assert_eq!(
        causes(volume(json!({"accessModes": ["ReadWriteOnce"], "nfs": {"server": "nfs.local", "path": "exports"}}))),
        vec![
            "spec.capacity: Required value",
            "spec.capacity: Unsupported value: core.ResourceList(nil): supported values: \"storage\"",
            "spec.nfs.path: Invalid value: \"exports\": must be an absolute path",
        ]
    );
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "s"}, "provisioner": ""});
    assert_eq!(causes(class), vec!["provisioner: Required value"]);
}

#[test]
fn storage_class_and_claim_updates() {
    let class = |provisioner: &str, mode: &str| {
        object(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "s"},
            "provisioner": provisioner, "volumeBindingMode": mode}))
    };
    let errs: Vec<String> = validate_update(&class("b.io/x", "WaitForFirstConsumer"), &class("a.io/x", "Immediate"))
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        errs,
        vec!["provisioner: Forbidden: updates to provisioner are forbidden.", "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable"]
    );
    let claim = |class: Option<&str>, volume: Option<&str>| {
        let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
        if let Some(c) = class {
            spec["storageClassName"] = json!(c);
        }
        if let Some(v) = volume {
            spec["volumeName"] = json!(v);
        }
        object(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": spec}))
    };
    // The controller may set a first volumeName and a missing class.
    assert!(validate_update(&claim(Some("standard"), Some("pv")), &claim(None, None)).is_empty());
    let changed = validate_update(&claim(Some("other"), None), &claim(Some("standard"), None));
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].field, "spec");
}

#[test]
fn stateful_set_claim_templates_provide_volumes() {
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx", "replicas": 3, "minReadySeconds": 10,
        "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"terminationGracePeriodSeconds": 10, "containers": [{
            "name": "nginx", "image": "registry.k8s.io/nginx-slim:0.8", "ports": [{"containerPort": 80, "name": "web"}],
            "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "my-storage-class",
            "resources": {"requests": {"storage": "1Gi"}}}}]}});
    assert_eq!(causes(sts.clone()), Vec::<String>::new());
    // As in 1.33, the pod spec itself is left to pod creation.
    let mut no_image = sts.clone();
    no_image["spec"]["template"]["spec"]["containers"][0]["image"] = json!(null);
    assert_eq!(causes(no_image), Vec::<String>::new());
    let mut bad = sts;
    bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    bad["spec"]["ordinals"] = json!({"start": -1});
    assert_eq!(
        causes(bad),
        vec![
            "spec.ordinals.start: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`".to_string(),
        ]
    );
}

#[test]
fn cron_job_schedules_and_time_zones() {
    let cj = |schedule: &str, tz: Option<&str>| {
        let mut v = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"}, "spec": {"schedule": schedule,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
        if let Some(tz) = tz {
            v["spec"]["timeZone"] = json!(tz);
        }
        causes(v)
    };
    assert_eq!(cj("*/1 * * * *", None), Vec::<String>::new());
    assert_eq!(cj("@hourly", Some("Europe/Paris")), Vec::<String>::new());
    assert_eq!(cj("* * * *", None), vec!["spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]".to_string()]);
    assert_eq!(cj("61 * * * *", None), vec!["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61".to_string()]);
    assert_eq!(
        cj("TZ=UTC * * * * *", None),
        vec!["spec.schedule: Invalid value: \"TZ=UTC * * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead".to_string()]
    );
    assert_eq!(cj("* * * * *", Some("Mars/Base")), vec!["spec.timeZone: Invalid value: \"Mars/Base\": unknown time zone Mars/Base".to_string()]);
    assert_eq!(cj("* * * * *", Some("")), vec!["spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string".to_string()]);
    assert_eq!(cj("* * * * *", Some("../etc/passwd")), vec!["spec.timeZone: Invalid value: \"../etc/passwd\": unknown time zone ../etc/passwd".to_string()]);
}

#[test]
fn volume_source_names_are_the_serialized_keys_in_their_order() {
    use k8s_openapi::api::core::v1::Volume;
    let every_source: Volume = serde_json::from_value(json!({
        "name": "v",
        "awsElasticBlockStore": {"volumeID": "x"}, "azureDisk": {"diskName": "x", "diskURI": "x"},
        "azureFile": {"secretName": "x", "shareName": "x"}, "cephfs": {"monitors": []}, "cinder": {"volumeID": "x"},
        "configMap": {}, "csi": {"driver": "x"}, "downwardAPI": {}, "emptyDir": {}, "ephemeral": {}, "fc": {},
        "flexVolume": {"driver": "x"}, "flocker": {}, "gcePersistentDisk": {"pdName": "x"},
        "gitRepo": {"repository": "x"}, "glusterfs": {"endpoints": "x", "path": "x"}, "hostPath": {"path": "/x"},
        "image": {}, "iscsi": {"iqn": "x", "lun": 0, "targetPortal": "x"}, "nfs": {"path": "x", "server": "x"},
        "persistentVolumeClaim": {"claimName": "x"}, "photonPersistentDisk": {"pdID": "x"},
        "portworxVolume": {"volumeID": "x"}, "projected": {}, "quobyte": {"registry": "x", "volume": "x"},
        "rbd": {"image": "x", "monitors": []}, "scaleIO": {"gateway": "x", "secretRef": {}, "system": "x"},
        "secret": {}, "storageos": {}, "vsphereVolume": {"volumePath": "x"}
    }))
    .expect("every source decodes");
    let serialized = serde_json::to_value(&every_source).expect("serializes");
    let keys: Vec<&str> = serialized.as_object().expect("an object").keys().map(String::as_str).filter(|k| *k != "name").collect();
    assert_eq!(keys.len(), 30);
    assert_eq!(volume_source_names(&every_source).collect::<Vec<_>>(), keys);
    let only_name = Volume { name: "v".into(), ..Default::default() };
    assert_eq!(volume_source_names(&only_name).count(), 0);
    let two = Volume { name: "v".into(), secret: Some(Default::default()), empty_dir: Some(Default::default()), ..Default::default() };
    assert_eq!(volume_source_names(&two).collect::<Vec<_>>(), ["emptyDir", "secret"]);
}

#[test]
fn field_paths_show_as_the_format_they_replace() {
    let root = Path::Root("spec");
    let containers = root.field("containers");
    let first = containers.index(0);
    let limits = first.field("resources");
    let limits = limits.field("limits");
    assert_eq!(root.to_string(), "spec");
    assert_eq!(first.field("name").to_string(), format!("{}.{}[{}].{}", "spec", "containers", 0, "name"));
    assert_eq!(containers.index(12).field("volumeMounts").index(3).to_string(), "spec.containers[12].volumeMounts[3]");
    assert_eq!(limits.key("example.com/gpu").to_string(), "spec.containers[0].resources.limits[example.com/gpu]");
    let mut errs = Errors::default();
    errs.required(&first.field("image"), "");
    errs.required("spec.image", "");
    assert_eq!(errs.0.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["spec.containers[0].image", "spec.image"]);
}

#[test]
fn node_taints_as_validate_node_taints_words_them() {
    let node = |taints: Value| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {"taints": taints}});
    assert!(causes(node(json!([{"key": "a", "value": "b", "effect": "NoExecute"}, {"key": "a", "effect": "NoSchedule"}]))).is_empty());
    assert_eq!(
        causes(node(json!([{"key": "x", "effect": "Bogus"}, {"key": "y"}, {"key": "y", "value": "2", "effect": "NoSchedule"}, {"key": "y", "effect": "NoSchedule"}]))),
        vec![
            "metadata.taints[0].effect: Unsupported value: \"Bogus\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"".to_string(),
            "metadata.taints[1].effect: Required value".to_string(),
            "metadata.taints[3]: Duplicate value: core.Taint{Key:\"y\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair".to_string(),
        ]
    );
}

#[test]
fn topology_spread_and_affinity_in_validate_pod_spec_order() {
    let container = json!([{"name": "a", "image": "nginx"}]);
    let spread = json!([{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 0}, {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}]);
    let affinity = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}]}});
    assert_eq!(
        causes(pod_with(json!({"containers": container, "topologySpreadConstraints": spread, "affinity": affinity}))),
        vec![
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_string(),
            "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero".to_string(),
            "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value: \"{zone, ScheduleAnyway}\"".to_string(),
            "spec.topologySpreadConstraints[0].minDomains: Invalid value: 0: must be greater than zero".to_string(),
            "spec.topologySpreadConstraints[0].minDomains: Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway".to_string(),
        ]
    );
    // A DaemonSet pod's pin, its node kept beside the spec, is a valid node name.
    let pinned = json!({"containers": container, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-1"]}]}]}}}});
    let mut obj = object(pod_with(pinned));
    if let Object::Pod(p) = &mut obj {
        p.take_affinity_node_from_spec();
        assert_eq!(p.affinity_node.as_deref(), Some("worker-1"));
    }
    assert!(validate_create(&obj).is_empty());
}

/// `ValidatePodResize` on the stored pod and the pod the resize strategy
/// makes of it (only the containers' resources and resize policies taken).
fn resize_causes(old: Value, resources: Value, memory_policy: Option<&str>) -> Vec<String> {
    let Object::Pod(mut old) = object(pod_with(old)) else { panic!("a pod") };
    if let Some(policy) = memory_policy {
        old.spec_mut().containers[0].resize_policy = Some(vec![k8s_openapi::api::core::v1::ContainerResizePolicy { resource_name: "memory".into(), restart_policy: policy.into() }]);
    }
    let mut new = (*old).clone();
    new.spec_mut().containers[0].resources = serde_json::from_value(resources).ok();
    validate_resize(&new, &old).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
}

#[test]
fn resize_keeps_the_qos_class_and_what_may_not_shrink() {
    let guaranteed = json!({"containers": [{"name": "a", "image": "nginx", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]});
    assert_eq!(resize_causes(guaranteed.clone(), json!({"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}}), None), Vec::<String>::new());
    // The class shown is the stored status's: none was written here.
    assert_eq!(
        resize_causes(guaranteed.clone(), json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}), None),
        vec!["spec: Invalid value: \"\": Pod QOS Class may not change as a result of resizing"]
    );
    assert_eq!(
        resize_causes(guaranteed.clone(), json!({"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}), None),
        vec!["spec.containers[0].resources.limits[memory]: Forbidden: memory limits cannot be decreased unless resizePolicy is RestartContainer"]
    );
    assert_eq!(resize_causes(guaranteed, json!({"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}), Some("RestartContainer")), Vec::<String>::new());
    let burstable = json!({"containers": [{"name": "a", "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}]});
    assert_eq!(
        resize_causes(burstable.clone(), json!({"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}), None),
        vec!["spec.containers[0].resources.limits[memory]: Forbidden: memory limits cannot be added unless resizePolicy is RestartContainer"]
    );
    assert_eq!(
        resize_causes(burstable, json!({"requests": {"cpu": "100m", "ephemeral-storage": "1Gi"}}), None),
        vec!["spec: Forbidden: only cpu and memory resources are mutable"]
    );
}

/// `ValidatePodEphemeralContainersUpdate`: the pod's spec with its
/// ephemeral containers (`validateEphemeralContainers`: the allow list,
/// unique names, a target among the regular and init containers, no
/// sub-path), then none removed or changed, and never for a mirror pod.
#[test]
fn ephemeral_containers_update() {
    let pod = |ephemeral: Value, annotations: Value| {
        let mut manifest = pod_with(json!({"containers": [{"name": "app", "image": "nginx"}], "ephemeralContainers": ephemeral}));
        manifest["metadata"]["annotations"] = annotations;
        match object(manifest) {
            Object::Pod(p) => *p,
            _ => panic!("a pod"),
        }
    };
    let messages = |new: &crate::engine::api::pod::Pod, old: &crate::engine::api::pod::Pod| validate_ephemeral_update(new, old).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect::<Vec<_>>();
    let none = pod(json!([]), json!({}));
    let debugger = json!({"name": "dbg", "image": "busybox", "targetContainerName": "app"});
    let added = pod(json!([debugger]), json!({}));
    assert!(messages(&added, &none).is_empty(), "{:?}", messages(&added, &none));
    let not_allowed = pod(
        json!([{"name": "app", "image": "busybox", "targetContainerName": "gone", "ports": [{"containerPort": 80}], "lifecycle": {"preStop": {"sleep": {"seconds": 1}}}, "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "x"}]}]),
        json!({}),
    );
    assert_eq!(
        messages(&not_allowed, &none),
        vec![
            "spec.ephemeralContainers[0].volumeMounts[0].name: Not found: \"v\"".to_string(),
            "spec.ephemeralContainers[0].name: Duplicate value: \"app\"".to_string(),
            "spec.ephemeralContainers[0].targetContainerName: Not found: \"gone\"".to_string(),
            "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container".to_string(),
            "spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container".to_string(),
            "spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container".to_string(),
        ]
    );
    let changed = pod(json!([{"name": "dbg", "image": "busybox:1.36", "targetContainerName": "app"}]), json!({}));
    assert_eq!(messages(&changed, &added), vec!["spec.ephemeralContainers[dbg]: Forbidden: existing ephemeral containers \"dbg\" may not be changed\n".to_string()]);
    assert_eq!(messages(&none, &added), vec!["spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be removed\n".to_string()]);
    let mirror = json!({"kubernetes.io/config.mirror": "abc"});
    assert_eq!(messages(&pod(json!([debugger]), mirror.clone()), &pod(json!([]), mirror)), vec!["[]: Forbidden: static pods do not support ephemeral containers".to_string()]);
}
