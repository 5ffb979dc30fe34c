use super::*;

fn object(yaml: &str) -> Object {
    let value: serde_json::Value = serde_yaml::from_str(yaml).expect("test yaml");
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let rid = crate::engine::api::resource_for_kind(api_version, value["kind"].as_str().unwrap_or_default()).expect("known kind");
    crate::engine::apiserver::decode::decode_object(rid, &value).expect("decodes")
}

#[test]
fn ip_warnings_follow_apimachinery() {
    // The cases of TestGetWarningsForIP (util/validation/ip_test.go).
    assert_eq!(ip_warning("spec.clusterIPs[0]", "192.12.2.2"), None);
    assert_eq!(ip_warning("spec.clusterIPs[0]", "2001:db8::2"), None);
    assert_eq!(
        ip_warning("spec.clusterIPs[0]", "192.012.2.2").as_deref(),
        Some(r#"spec.clusterIPs[0]: non-standard IP address "192.012.2.2" will be considered invalid in a future Kubernetes release: use "192.12.2.2""#)
    );
    assert_eq!(
        ip_warning("spec.clusterIPs[0]", "::ffff:192.12.2.2").as_deref(),
        Some(r#"spec.clusterIPs[0]: non-standard IP address "::ffff:192.12.2.2" will be considered invalid in a future Kubernetes release: use "192.12.2.2""#)
    );
    assert_eq!(
        ip_warning("spec.loadBalancerIP", "2001:db8:0:0::2").as_deref(),
        Some(r#"spec.loadBalancerIP: IPv6 address "2001:db8:0:0::2" should be in RFC 5952 canonical format ("2001:db8::2")"#)
    );
    assert_eq!(ip_warning("spec.loadBalancerIP", "not an ip"), None);
}

#[test]
fn cidr_warnings_follow_apimachinery() {
    // The cases of TestGetWarningsForCIDR.
    let path = "spec.loadBalancerSourceRanges[0]";
    assert!(cidr_warnings(path, "192.12.2.0/24").is_empty());
    assert!(cidr_warnings(path, "2001:db8::/64").is_empty());
    assert_eq!(cidr_warnings(path, "192.12.2.8/24"), [r#"spec.loadBalancerSourceRanges[0]: CIDR value "192.12.2.8/24" is ambiguous in this context (should be "192.12.2.0/24" or "192.12.2.8/32"?)"#]);
    assert_eq!(
        cidr_warnings(path, "192.012.2.0/24"),
        [r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "192.012.2.0/24" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#]
    );
    assert_eq!(
        cidr_warnings(path, "192.012.2.8/24"),
        [
            r#"spec.loadBalancerSourceRanges[0]: CIDR value "192.012.2.8/24" is ambiguous in this context (should be "192.12.2.0/24" or "192.12.2.8/32"?)"#,
            r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "192.012.2.8/24" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#,
        ]
    );
    assert_eq!(
        cidr_warnings(path, "::ffff:192.12.2.0/120"),
        [r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "::ffff:192.12.2.0/120" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#]
    );
    assert_eq!(
        cidr_warnings(path, "2001:db8:0:0::/64"),
        [r#"spec.loadBalancerSourceRanges[0]: IPv6 CIDR value "2001:db8:0:0::/64" should be in RFC 5952 canonical format ("2001:db8::/64")"#]
    );
    assert_eq!(
        cidr_warnings(path, "2001:db8::1/64"),
        [r#"spec.loadBalancerSourceRanges[0]: CIDR value "2001:db8::1/64" is ambiguous in this context (should be "2001:db8::/64" or "2001:db8::1/128"?)"#]
    );
    assert!(cidr_warnings(path, "0.0.0.0/0").is_empty());
    assert!(cidr_warnings(path, "garbage").is_empty());
    assert!(cidr_warnings(path, "10.0.0.0/99").is_empty());
}

#[test]
fn a_cron_job_kept_with_tz_in_its_schedule_is_warned_about_on_update() {
    let yaml = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, generation: 1}\nspec:\n  schedule: 'CRON_TZ=UTC 0 1 * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n";
    let old = object(yaml);
    let warnings = on_write(&old, Some(&old));
    assert_eq!(warnings, ["cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"]);
}

#[test]
fn an_indexed_job_past_the_soft_limits_is_warned_about_when_its_generation_changes() {
    let job = |generation: i64| {
        object(&format!("apiVersion: batch/v1\nkind: Job\nmetadata: {{name: wide, generation: {generation}}}\nspec:\n  completionMode: Indexed\n  completions: 100001\n  parallelism: 10001\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: busybox}}]\n"))
    };
    let message = "spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail";
    assert_eq!(on_write(&job(1), None), [message]);
    assert_eq!(on_write(&job(2), Some(&job(1))), [message]);
    assert!(on_write(&job(1), Some(&job(1))).is_empty());
}

#[test]
fn a_csi_storage_capacity_names_its_deprecated_labels() {
    let capacity = object("apiVersion: storage.k8s.io/v1\nkind: CSIStorageCapacity\nmetadata: {name: cap, namespace: default}\nstorageClassName: fast\nnodeTopology:\n  matchLabels: {beta.kubernetes.io/os: linux}\n  matchExpressions:\n  - {key: failure-domain.beta.kubernetes.io/zone, operator: In, values: [a]}\n");
    assert_eq!(
        on_write(&capacity, None),
        [
            r#"nodeTopology.matchExpressions[0]: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
            r#"nodeTopology.matchLabels.beta.kubernetes.io/os: deprecated since v1.14; use "kubernetes.io/os" instead"#,
        ]
    );
}
