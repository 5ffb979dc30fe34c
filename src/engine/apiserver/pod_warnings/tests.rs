//! Cases from pkg/api/pod/warnings_test.go (kubernetes v1.33), each with
//! the warnings it expects in their order.

use super::*;
use serde_json::json;

fn spec(value: serde_json::Value) -> PodSpec {
    serde_json::from_value(value).expect("a pod spec")
}

fn meta(annotations: serde_json::Value) -> ObjectMeta {
    serde_json::from_value(json!({ "annotations": annotations })).expect("object meta")
}

fn template_warnings(value: serde_json::Value) -> Vec<String> {
    for_spec("", None, &spec(value))
}

#[test]
fn deprecated_node_labels_in_selectors_affinity_and_spread_constraints() {
    let s = spec(json!({
        "containers": [],
        "nodeSelector": {"beta.kubernetes.io/arch": "true", "kubernetes.io/os": "linux"},
        "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "foo", "operator": "Exists"}, {"key": "beta.kubernetes.io/os", "operator": "Exists"}]}
            ]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "preference": {"matchExpressions": [{"key": "failure-domain.beta.kubernetes.io/zone", "operator": "Exists"}]}}
            ]
        }},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "failure-domain.beta.kubernetes.io/region", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}},
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}
        ]
    }));
    assert_eq!(
        for_spec("spec.template", None, &s),
        [
            r#"spec.template.spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead"#,
            r#"spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].key: beta.kubernetes.io/os is deprecated since v1.14; use "kubernetes.io/os" instead"#,
            r#"spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
            r#"spec.template.spec.topologySpreadConstraints[0].topologyKey: failure-domain.beta.kubernetes.io/region is deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
            "spec.template.spec.topologySpreadConstraints[1].labelSelector: a null labelSelector results in matching no pod",
        ]
    );
}

#[test]
fn deprecated_annotations_and_seccomp_annotations_without_fields() {
    let m = meta(json!({
        "scheduler.alpha.kubernetes.io/critical-pod": "true",
        "security.alpha.kubernetes.io/sysctls": "a=b",
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/foo": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/bar": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/foo": "runtime/default"
    }));
    let s = spec(json!({"containers": [
        {"name": "foo"},
        {"name": "bar", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}
    ]}));
    assert_eq!(
        for_spec("", Some(&m), &s),
        [
            r#"metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead"#,
            r#"metadata.annotations[security.alpha.kubernetes.io/sysctls]: non-functional in v1.11+; use the "sysctls" field instead"#,
            r#"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
            r#"metadata.annotations[container.seccomp.security.alpha.kubernetes.io/foo]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
        ],
        "a pod's AppArmor annotations are warned about as they are synced, not here"
    );
    assert_eq!(
        for_spec("spec.template", Some(&m), &s)[4],
        r#"spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/foo]: deprecated since v1.30; use the "appArmorProfile" field instead"#
    );
}

#[test]
fn removed_volume_plugins_and_fractional_claim_sizes() {
    assert_eq!(
        template_warnings(json!({"containers": [], "volumes": [
            {"name": "a", "photonPersistentDisk": {"pdID": "x"}},
            {"name": "b", "gitRepo": {"repository": "r"}},
            {"name": "c", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "x"}}},
            {"name": "d", "flocker": {"datasetName": "x"}},
            {"name": "e", "storageos": {"volumeName": "x"}},
            {"name": "f", "quobyte": {"registry": "r", "volume": "v"}},
            {"name": "g", "glusterfs": {"endpoints": "e", "path": "p"}},
            {"name": "h", "ephemeral": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "200Mi"}, "limits": {"storage": "1.5"}}}}}},
            {"name": "i", "cephfs": {"monitors": ["m"]}},
            {"name": "j", "rbd": {"monitors": ["m"], "image": "i"}}
        ]})),
        [
            "spec.volumes[0].photonPersistentDisk: deprecated in v1.11, non-functional in v1.16+",
            "spec.volumes[1].gitRepo: deprecated in v1.11",
            "spec.volumes[2].scaleIO: deprecated in v1.16, non-functional in v1.22+",
            "spec.volumes[3].flocker: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[4].storageOS: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[5].quobyte: deprecated in v1.22, non-functional in v1.25+",
            "spec.volumes[6].glusterfs: deprecated in v1.25, non-functional in v1.26+",
            r#"spec.volumes[7].ephemeral.volumeClaimTemplate.spec.resources.limits[storage]: fractional byte value "1500m" is invalid, must be an integer"#,
            "spec.volumes[8].cephfs: deprecated in v1.28, non-functional in v1.31+",
            "spec.volumes[9].rbd: deprecated in v1.28, non-functional in v1.31+",
        ]
    );
}

#[test]
fn overlapping_paths_in_one_volume_and_across_projected_sources() {
    assert_eq!(
        template_warnings(json!({"containers": [], "volumes": [
            {"name": "Test", "configMap": {"name": "foo", "items": [{"key": "foo", "path": "test"}, {"key": "bar", "path": "test/app"}]}},
            {"name": "Test", "secret": {"secretName": "foo", "items": [{"key": "foo", "path": "test"}, {"key": "bar", "path": "test"}]}},
            {"name": "Test", "downwardAPI": {"items": [{"path": "test/", "fieldRef": {"fieldPath": "metadata.name"}}, {"path": "testing", "fieldRef": {"fieldPath": "metadata.name"}}]}}
        ]})),
        [
            r#"volume "Test" (ConfigMap "foo"): overlapping paths: "test/app" with "test""#,
            r#"volume "Test" (Secret "foo"): overlapping paths: "test" with "test""#,
        ]
    );
    // "overlapping paths in projected volume - multiple sources"
    assert_eq!(
        template_warnings(json!({"containers": [], "volumes": [{"name": "foo", "projected": {"sources": [
            {"clusterTrustBundle": {"signerName": "Test", "path": "test/test"}},
            {"downwardAPI": {"items": [{"path": "test", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"secret": {"name": "Test", "items": [{"key": "foo", "path": "test"}]}},
            {"serviceAccountToken": {"path": "test"}}
        ]}}]})),
        [
            r#"volume "foo" (Projected): overlapping paths: "test" (DownwardAPI) with "test/test" (ClusterTrustBundle "Test")"#,
            r#"volume "foo" (Projected): overlapping paths: "test" (Secret "Test") with "test/test" (ClusterTrustBundle "Test")"#,
            r#"volume "foo" (Projected): overlapping paths: "test" (Secret "Test") with "test" (DownwardAPI)"#,
            r#"volume "foo" (Projected): overlapping paths: "test" (ServiceAccountToken) with "test/test" (ClusterTrustBundle "Test")"#,
            r#"volume "foo" (Projected): overlapping paths: "test" (ServiceAccountToken) with "test" (DownwardAPI)"#,
            r#"volume "foo" (Projected): overlapping paths: "test" (ServiceAccountToken) with "test" (Secret "Test")"#,
        ]
    );
    assert_eq!(
        template_warnings(json!({"containers": [], "volumes": [{"name": "foo", "projected": {"sources": [{}]}}]})),
        [r#"volume "foo" (Projected) has no sources provided"#]
    );
}

#[test]
fn duplicate_host_aliases_pull_secrets_and_env() {
    assert_eq!(
        template_warnings(json!({
            "hostAliases": [{"ip": "1.1.1.1"}, {"ip": "1.1.1.1"}, {"ip": "1.1.1.1"}],
            "imagePullSecrets": [{"name": "a"}, {"name": "a"}, {"name": ""}],
            "initContainers": [{"name": "i", "env": [
                {"name": "a", "value": "a"}, {"name": "a", "value": "a"}, {"name": "a", "value": "$(a)"},
                {"name": "a", "valueFrom": {}}, {"name": "a", "value": "$(a) $(a)"}
            ]}],
            "containers": []
        })),
        [
            r#"spec.hostAliases[1].ip: duplicate ip "1.1.1.1""#,
            r#"spec.hostAliases[2].ip: duplicate ip "1.1.1.1""#,
            r#"spec.imagePullSecrets[1].name: duplicate name "a""#,
            r#"spec.imagePullSecrets[2].name: invalid empty name """#,
            r#"spec.initContainers[0].env[1]: hides previous definition of "a", which may be dropped when using apply"#,
            r#"spec.initContainers[0].env[2]: hides previous definition of "a", which may be dropped when using apply"#,
            r#"spec.initContainers[0].env[3]: hides previous definition of "a", which may be dropped when using apply"#,
        ]
    );
}

#[test]
fn fractional_memory_and_ephemeral_storage() {
    assert_eq!(
        template_warnings(json!({
            "overhead": {"memory": "1m", "ephemeral-storage": "1m"},
            "containers": [{"name": "c", "resources": {
                "limits": {"memory": "1m", "ephemeral-storage": "1m", "cpu": "1m"},
                "requests": {"memory": "1m", "ephemeral-storage": "1m"}
            }}]
        })),
        [
            r#"spec.overhead[memory]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.overhead[ephemeral-storage]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.limits[memory]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.requests[memory]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.limits[ephemeral-storage]: fractional byte value "1m" is invalid, must be an integer"#,
            r#"spec.containers[0].resources.requests[ephemeral-storage]: fractional byte value "1m" is invalid, must be an integer"#,
        ]
    );
}

#[test]
fn ports_grace_period_and_null_affinity_selectors() {
    assert_eq!(
        template_warnings(json!({
            "terminationGracePeriodSeconds": -1,
            "affinity": {
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "k"}]},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {"topologyKey": "k"}}]}
            },
            "containers": [
                {"name": "a", "ports": [
                    {"containerPort": 80, "protocol": "UDP", "hostIP": "10.0.0.1"},
                    {"containerPort": 80, "protocol": "TCP"},
                    {"containerPort": 80, "protocol": "TCP"}
                ]},
                {"name": "b", "ports": [
                    {"containerPort": 80, "protocol": "TCP", "hostPort": 8080},
                    {"containerPort": 80, "protocol": "TCP", "hostPort": 8080, "hostIP": "10.0.0.1"}
                ]}
            ]
        })),
        [
            "spec.containers[0].ports[0]: hostIP set without hostPort: {Name: HostPort:0 ContainerPort:80 Protocol:UDP HostIP:10.0.0.1}",
            "spec.containers[0].ports[2]: duplicate port definition with spec.containers[0].ports[1]",
            "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[1]",
            "spec.containers[1].ports[0]: overlapping port definition with spec.containers[0].ports[2]",
            "spec.containers[1].ports[1]: overlapping port definition with spec.containers[0].ports[1]",
            "spec.containers[1].ports[1]: overlapping port definition with spec.containers[0].ports[2]",
            "spec.containers[1].ports[1]: dangerously ambiguous port definition with spec.containers[1].ports[0]",
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1",
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod",
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector: a null labelSelector results in matching no pod",
        ]
    );
}

#[test]
fn a_pods_app_armor_annotation_is_warned_about_unless_its_fields_say_it() {
    let m = meta(json!({
        "container.apparmor.security.beta.kubernetes.io/a": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/c": "localhost/",
    }));
    let s = spec(json!({
        "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "a"}, {"name": "b", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}, {"name": "c"}]
    }));
    assert_eq!(
        app_armor_annotations(&m, &s),
        [r#"metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]: deprecated since v1.30; use the "appArmorProfile" field instead"#]
    );
}

#[test]
fn a_pod_is_warned_about_on_create_only_and_a_workload_when_its_generation_changes() {
    let pod: Object = Object::Pod(serde_json::from_value(json!({
        "metadata": {"name": "a.b"},
        "spec": {"containers": [], "nodeSelector": {"beta.kubernetes.io/os": "linux"}}
    })).expect("a pod"));
    let warnings = on_write(&pod, None);
    assert_eq!(warnings.len(), 2);
    assert!(warnings[0].starts_with("metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [a lowercase RFC 1123 label"), "{}", warnings[0]);
    assert!(on_write(&pod, Some(&pod)).is_empty());

    let deployment = |generation: i64| -> Object {
        Object::Deployment(serde_json::from_value(json!({
            "metadata": {"name": "d", "generation": generation},
            "spec": {"selector": {}, "template": {"spec": {"containers": [], "volumes": [{"name": "g", "gitRepo": {"repository": "r"}}]}}}
        })).expect("a deployment"))
    };
    assert_eq!(on_write(&deployment(1), None), ["spec.template.spec.volumes[0].gitRepo: deprecated in v1.11"]);
    assert!(on_write(&deployment(1), Some(&deployment(1))).is_empty());
    assert_eq!(on_write(&deployment(2), Some(&deployment(1))).len(), 1);

    let cron_job: Object = Object::CronJob(serde_json::from_value(json!({
        "metadata": {"name": "c"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [], "terminationGracePeriodSeconds": -1}}}}}
    })).expect("a cron job"));
    assert_eq!(on_write(&cron_job, None), ["spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1"]);
}
