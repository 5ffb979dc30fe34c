//! Pod and pod template validation (`ValidatePodSpec`, `ValidatePodUpdate`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Affinity, Container, ExecAction, GRPCAction, HTTPGetAction, Lifecycle, SleepAction, TCPSocketAction, DownwardAPIVolumeFile, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, TopologySpreadConstraint, EnvFromSource, EnvVar, KeyToPath, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Volume, VolumeProjection};
use crate::engine::api::pod::{shown_volume_name, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{dns1123_label, dns1123_subdomain, port_name, port_number};
use super::{quote, validate_annotations, validate_labels, Errors, Path};
use crate::engine::quantity::Quantity;

pub fn validate_pod_template(template: &PodTemplateSpec, path: &str, errs: &mut Errors) {
    let path = &Path::Root(path);
    let meta = template.metadata.clone().unwrap_or_default();
    validate_labels(meta.labels.as_ref(), &path.field("labels"), errs);
    validate_annotations(meta.annotations.as_ref(), &path.field("annotations"), errs);
    let node_name = template.spec.as_ref().and_then(|s| s.node_name.as_deref());
    pod_spec_at(template.spec.as_ref(), node_name, None, None, &path.field("spec"), errs);
    if template.spec.as_ref().is_some_and(|s| s.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty())) {
        errs.forbidden(&format!("{path}.spec.ephemeralContainers"), "ephemeral containers not allowed in pod template");
    }
}

/// `node_name` is the spec's `nodeName`: a stored pod keeps it beside its
/// spec ([`Pod::node_name`]), a template inside. `token` is the pod's
/// token volume name kept beside its spec ([`Pod::token_volume`]), which
/// the spec's volumes and mounts name as the placeholder.
/// `affinity_node` is the node a DaemonSet pod's pin names, kept beside
/// its spec ([`Pod::affinity_node`]).
pub fn validate_pod_spec(spec: Option<&PodSpec>, node_name: Option<&str>, token: Option<&str>, affinity_node: Option<&str>, path: &str, errs: &mut Errors) {
    pod_spec_at(spec, node_name, token, affinity_node, &Path::Root(path), errs);
}

fn pod_spec_at(spec: Option<&PodSpec>, node_name: Option<&str>, token: Option<&str>, affinity_node: Option<&str>, path: &Path, errs: &mut Errors) {
    let spec = crate::engine::api::pod_spec_or_empty(spec);
    if spec.termination_grace_period_seconds.is_none() {
        errs.required(&path.field("terminationGracePeriodSeconds"), "");
    }
    let volumes = validate_volumes(spec.volumes.as_deref().unwrap_or_default(), token, &path.field("volumes"), errs);
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("");
    let grace = spec.termination_grace_period_seconds;
    // As ValidatePodSpec: the containers, then the init containers.
    validate_containers(&spec.containers, &volumes, token, grace, restart_policy, &path.field("containers"), errs);
    validate_init_containers(spec, &volumes, token, restart_policy, &path.field("initContainers"), errs);
    if let Some(ephemeral) = spec.ephemeral_containers.as_deref() {
        validate_ephemeral_containers(ephemeral, spec, &volumes, token, restart_policy, &path.field("ephemeralContainers"), errs);
    }
    errs.one_of(&path.field("restartPolicy"), Some(restart_policy), &["Always", "OnFailure", "Never"]);
    errs.one_of(&path.field("dnsPolicy"), spec.dns_policy.as_deref(), &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]);
    validate_labels(spec.node_selector.as_ref(), &path.field("nodeSelector"), errs);
    if let Some(affinity) = &spec.affinity {
        validate_affinity(affinity, affinity_node, &path.field("affinity"), errs);
    }
    if let Some(constraints) = spec.topology_spread_constraints.as_deref() {
        validate_topology_spread_constraints(constraints, &path.field("topologySpreadConstraints"), errs);
    }
    if let Some(name) = spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        for msg in dns1123_subdomain(name) {
            errs.invalid_str(&path.field("serviceAccountName"), name, &msg);
        }
    }
    if let Some(node) = node_name.filter(|s| !s.is_empty()) {
        for msg in dns1123_subdomain(node) {
            errs.invalid_str(&path.field("nodeName"), node, &msg);
        }
    }
    if let Some(deadline) = spec.active_deadline_seconds {
        if !(1..=i32::MAX as i64).contains(&deadline) {
            errs.invalid_int(&path.field("activeDeadlineSeconds"), deadline, "must be between 1 and 2147483647, inclusive");
        }
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value.as_deref().filter(|s| !s.is_empty()) {
            for msg in dns1123_label(v) {
                errs.invalid_str(&path.field(field), v, &msg);
            }
        }
    }
    validate_tolerations(spec, &path.field("tolerations"), errs);
    if let Some(class) = spec.priority_class_name.as_deref().filter(|s| !s.is_empty()) {
        for msg in dns1123_subdomain(class) {
            errs.invalid_str(&path.field("priorityClassName"), class, &msg);
        }
    }
    if let Some(class) = spec.runtime_class_name.as_deref() {
        for msg in dns1123_subdomain(class) {
            errs.invalid_str(&path.field("runtimeClassName"), class, &msg);
        }
    }
    if let Some(policy) = spec.preemption_policy.as_deref() {
        errs.one_of(&path.field("preemptionPolicy"), Some(policy), &["PreemptLowerPriority", "Never"]);
    }
    if let Some(overhead) = spec.overhead.as_ref() {
        validate_overhead(overhead, &path.field("overhead"), errs);
    }
}

/// Pod-only create checks (`ValidatePodCreate`).
pub fn validate_pod_create_extras(pod: &Pod, errs: &mut Errors) {
    let Some(spec) = &pod.spec else { return };
    if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.forbidden("spec.ephemeralContainers", "cannot be set on create");
    }
    let gated = spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty());
    if gated && pod.bound_node().is_some() {
        errs.forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared");
    }
}

/// The names of the volumes that validated, for mounts to refer to.
fn validate_volumes(volumes: &[Volume], token: Option<&str>, path: &Path, errs: &mut Errors) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, volume) in volumes.iter().enumerate() {
        let name = shown_volume_name(&volume.name, token);
        let item = path.index(i);
        let mut local = Errors::default();
        let sources = volume_sources(volume);
        match sources.len() {
            0 => local.required(&item, "must specify a volume type"),
            1 => {}
            _ => {
                for source in &sources[1..] {
                    local.forbidden(&item.field(source), "may not specify more than 1 volume type");
                }
            }
        }
        if let Some(secret) = &volume.secret {
            let source = item.field("secret");
            if secret.secret_name.as_deref().is_none_or(str::is_empty) {
                local.required(&source.field("secretName"), "");
            }
            validate_file_mode(secret.default_mode, &source.field("defaultMode"), &mut local);
            let items = source.field("items");
            for (j, key_to_path) in secret.items.iter().flatten().enumerate() {
                validate_key_to_path(key_to_path, &items.index(j), &mut local);
            }
        }
        if let Some(downward) = &volume.downward_api {
            let source = item.field("downwardAPI");
            validate_file_mode(downward.default_mode, &source.field("defaultMode"), &mut local);
            for file in downward.items.iter().flatten() {
                validate_downward_api_file(file, &source, &mut local);
            }
        }
        if let Some(cm) = &volume.config_map {
            let source = item.field("configMap");
            if cm.name.is_empty() {
                local.required(&source.field("name"), "");
            }
            validate_file_mode(cm.default_mode, &source.field("defaultMode"), &mut local);
            let items = source.field("items");
            for (j, key_to_path) in cm.items.iter().flatten().enumerate() {
                validate_key_to_path(key_to_path, &items.index(j), &mut local);
            }
        }
        if let Some(projected) = &volume.projected {
            let source = item.field("projected");
            validate_file_mode(projected.default_mode, &source.field("defaultMode"), &mut local);
            validate_projection_sources(projected.sources.as_deref().unwrap_or_default(), &source, &mut local);
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            if claim.claim_name.is_empty() {
                local.required(&format!("{item}.persistentVolumeClaim.claimName"), "");
            }
        }
        if let Some(host) = &volume.host_path {
            if host.path.is_empty() {
                local.required(&format!("{item}.hostPath.path"), "");
            }
        }
        let name_path = item.field("name");
        if name.is_empty() {
            local.required(&name_path, "");
        } else {
            for msg in dns1123_label(name) {
                local.invalid_str(&name_path, name, &msg);
            }
        }
        if names.contains(name) {
            local.duplicate(&name_path, &quote(name));
        }
        if local.0.is_empty() {
            names.insert(name.to_string());
        } else {
            errs.extend(local);
        }
    }
    names
}

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn validate_file_mode(mode: Option<i32>, field: &Path, errs: &mut Errors) {
    if let Some(mode) = mode.filter(|m| !(0..=0o777).contains(m)) {
        errs.invalid_int(field, mode.into(), FILE_MODE_ERROR);
    }
}

/// `validateKeyToPath`: an item of a ConfigMap or Secret volume or projection.
fn validate_key_to_path(key_to_path: &KeyToPath, path: &Path, errs: &mut Errors) {
    if key_to_path.key.is_empty() {
        errs.required(&path.field("key"), "");
    }
    if key_to_path.path.is_empty() {
        errs.required(&path.field("path"), "");
    }
    validate_local_non_reserved_path(&key_to_path.path, &path.field("path"), errs);
    validate_file_mode(key_to_path.mode, &path.field("mode"), errs);
}

/// `validateLocalDescendingPath`: relative, and no `..` element.
fn validate_local_descending_path(target: &str, field: &Path, errs: &mut Errors) {
    if target.starts_with('/') {
        errs.invalid_str(field, target, "must be a relative path");
    }
    // One error is enough, even for `../../..`.
    if target.split('/').any(|element| element == "..") {
        errs.invalid_str(field, target, "must not contain '..'");
    }
}

/// `ValidateLocalNonReservedPath`: also no name beginning with `..` (the
/// atomic writer's `..data` and its timestamped directories).
fn validate_local_non_reserved_path(target: &str, field: &Path, errs: &mut Errors) {
    validate_local_descending_path(target, field, errs);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.invalid_str(field, target, "must not start with '..'");
    }
}

/// `validateDownwardAPIVolumeFile`. Its errors name the volume source, not
/// the item (`downwardAPI.path`), as 1.33 names them.
fn validate_downward_api_file(file: &DownwardAPIVolumeFile, source: &Path, errs: &mut Errors) {
    if file.path.is_empty() {
        errs.required(&source.field("path"), "");
    }
    validate_local_non_reserved_path(&file.path, &source.field("path"), errs);
    match (&file.field_ref, &file.resource_field_ref) {
        (Some(field_ref), resource) => {
            validate_object_field_selector(field_ref, VOLUME_FIELD_PATHS, &source.field("fieldRef"), errs);
            if resource.is_some() {
                errs.invalid_str(source, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously");
            }
        }
        (None, Some(resource)) => validate_resource_field_selector(resource, true, &source.field("resourceFieldRef"), errs),
        (None, None) => errs.required(source, "one of fieldRef and resourceFieldRef is required"),
    }
    validate_file_mode(file.mode, &source.field("mode"), errs);
}

/// `validVolumeDownwardAPIFieldPathExpressions`, sorted as `sets.List` lists them.
const VOLUME_FIELD_PATHS: &[&str] = &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

/// `validEnvDownwardAPIFieldPathExpressions`, sorted.
const ENV_FIELD_PATHS: &[&str] = &["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"];

/// `validContainerResourceFieldPathExpressions`, sorted.
const CONTAINER_RESOURCE_PATHS: &[&str] = &["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"];

/// `fieldpath.SplitMaybeSubscriptedPath`: `metadata.labels['app']` is
/// `metadata.labels` and `app`.
fn split_subscripted_path(path: &str) -> Option<(&str, &str)> {
    let (head, subscript) = path.strip_suffix("']")?.split_once("['")?;
    (!head.is_empty()).then_some((head, subscript))
}

/// `podshelper.ConvertDownwardAPIFieldLabel`: the field paths a pod has,
/// or its error.
fn downward_field_label(version: &str, label: &str) -> Result<(), String> {
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    if let Some((head, _)) = split_subscripted_path(label) {
        return match head {
            "metadata.annotations" | "metadata.labels" => Ok(()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations" | "metadata.labels" | "metadata.name" | "metadata.namespace" | "metadata.uid" | "spec.nodeName" | "spec.restartPolicy" | "spec.serviceAccountName" | "spec.schedulerName" | "status.phase" | "status.hostIP" | "status.hostIPs" | "status.podIP" | "status.podIPs" | "spec.host" => Ok(()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// `validateObjectFieldSelector`. A subscript names a label or annotation
/// key, which must be a qualified name (an annotation's in lower case).
fn validate_object_field_selector(selector: &k8s_openapi::api::core::v1::ObjectFieldSelector, supported: &[&str], path: &Path, errs: &mut Errors) {
    let version = selector.api_version.as_deref().unwrap_or("");
    if version.is_empty() {
        return errs.required(&path.field("apiVersion"), "");
    }
    let field_path = selector.field_path.as_str();
    if field_path.is_empty() {
        return errs.required(&path.field("fieldPath"), "");
    }
    if let Err(err) = downward_field_label(version, field_path) {
        return errs.invalid_str(&path.field("fieldPath"), field_path, &format!("error converting fieldPath: {err}"));
    }
    // `spec.host` is the old name of `spec.nodeName`.
    let internal = if field_path == "spec.host" { "spec.nodeName" } else { field_path };
    match split_subscripted_path(internal) {
        Some(("metadata.annotations", key)) => {
            let key = key.to_lowercase();
            for msg in super::names::qualified_name(&key) {
                errs.invalid_str(path, &key, &msg);
            }
        }
        Some((_, key)) => {
            for msg in super::names::qualified_name(key) {
                errs.invalid_str(path, key, &msg);
            }
        }
        None if !supported.contains(&internal) => errs.unsupported(&path.field("fieldPath"), internal, supported),
        None => {}
    }
}

/// `validateContainerResourceFieldSelector` and
/// `validateContainerResourceDivisor`. A volume's selector must name its
/// container; hugepages resources are taken by prefix.
fn validate_resource_field_selector(selector: &k8s_openapi::api::core::v1::ResourceFieldSelector, volume: bool, path: &Path, errs: &mut Errors) {
    let resource = selector.resource.as_str();
    if volume && selector.container_name.as_deref().is_none_or(str::is_empty) {
        errs.required(&path.field("containerName"), "");
    } else if resource.is_empty() {
        errs.required(&path.field("resource"), "");
    } else if !CONTAINER_RESOURCE_PATHS.contains(&resource) && !resource.starts_with("requests.hugepages-") && !resource.starts_with("limits.hugepages-") {
        errs.unsupported(&path.field("resource"), resource, CONTAINER_RESOURCE_PATHS);
    }
    let Some(divisor) = selector.divisor.as_ref().and_then(|d| Quantity::parse(&d.0).ok()).filter(|d| !d.is_zero()) else { return };
    let divisor = divisor.canonical();
    const SIZES: &[&str] = &["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
    let (supported, words) = match resource {
        "limits.cpu" | "requests.cpu" => (&["1m", "1"][..], "only divisor's values 1m and 1 are supported with the cpu resource"),
        "limits.memory" | "requests.memory" => (SIZES, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" => (SIZES, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"),
        r if r.starts_with("requests.hugepages-") || r.starts_with("limits.hugepages-") => (SIZES, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource"),
        _ => return,
    };
    if !supported.contains(&divisor.as_str()) {
        errs.invalid_str(&path.field("divisor"), resource, words);
    }
}

/// `validateProjectionSources`: each source's checks, and no path written
/// twice across sources.
fn validate_projection_sources(sources: &[VolumeProjection], projected: &Path, errs: &mut Errors) {
    let mut all_paths = BTreeSet::new();
    let sources_path = projected.field("sources");
    for (i, source) in sources.iter().enumerate() {
        let mut count = 0;
        let source_path = sources_path.index(i);
        let mut key_to_paths = |kind: &str, name: &str, items: &[KeyToPath], errs: &mut Errors| {
            let kind_path = source_path.field(kind);
            if name.is_empty() {
                errs.required(&kind_path.field("name"), "");
            }
            let items_path = kind_path.field("items");
            for (j, key_to_path) in items.iter().enumerate() {
                validate_key_to_path(key_to_path, &items_path.index(j), errs);
                if !key_to_path.path.is_empty() && !all_paths.insert(key_to_path.path.clone()) {
                    errs.invalid_str(projected, name, "conflicting duplicate paths");
                }
            }
        };
        if let Some(secret) = &source.secret {
            count += 1;
            key_to_paths("secret", &secret.name, secret.items.as_deref().unwrap_or_default(), errs);
        }
        if let Some(config_map) = &source.config_map {
            count += 1;
            key_to_paths("configMap", &config_map.name, config_map.items.as_deref().unwrap_or_default(), errs);
        }
        if let Some(downward) = &source.downward_api {
            count += 1;
            let downward_path = source_path.field("downwardAPI");
            for file in downward.items.iter().flatten() {
                validate_downward_api_file(file, &downward_path, errs);
                if !file.path.is_empty() && !all_paths.insert(file.path.clone()) {
                    errs.invalid_str(projected, &file.path, "conflicting duplicate paths");
                }
            }
        }
        if let Some(token) = &source.service_account_token {
            count += 1;
            let expiration = token.expiration_seconds.unwrap_or(3600);
            let expiration_path = source_path.field("serviceAccountToken");
            if expiration < 10 * 60 {
                errs.invalid_int(&expiration_path.field("expirationSeconds"), expiration, "may not specify a duration less than 10 minutes");
            }
            if expiration > 1 << 32 {
                errs.invalid_int(&expiration_path.field("expirationSeconds"), expiration, "may not specify a duration larger than 2^32 seconds");
            }
            // 1.33 names the projected volume's `path` here, not the source's.
            if token.path.is_empty() {
                errs.required(&projected.field("path"), "");
            } else {
                validate_local_non_reserved_path(&token.path, &projected.field("path"), errs);
            }
        }
        if source.cluster_trust_bundle.is_some() {
            count += 1;
        }
        if count > 1 {
            errs.forbidden(&source_path, "may not specify more than 1 volume type per source");
        }
    }
}

fn volume_sources(volume: &Volume) -> Vec<&'static str> {
    volume_source_names(volume).collect()
}

/// The sources a volume names, by their field names in the API and in the
/// order the serialized object's keys sort in (the order the errors list
/// them). Every field is named so a new source cannot be missed.
pub fn volume_source_names(volume: &Volume) -> impl Iterator<Item = &'static str> {
    let Volume {
        name: _,
        aws_elastic_block_store,
        azure_disk,
        azure_file,
        cephfs,
        cinder,
        config_map,
        csi,
        downward_api,
        empty_dir,
        ephemeral,
        fc,
        flex_volume,
        flocker,
        gce_persistent_disk,
        git_repo,
        glusterfs,
        host_path,
        image,
        iscsi,
        nfs,
        persistent_volume_claim,
        photon_persistent_disk,
        portworx_volume,
        projected,
        quobyte,
        rbd,
        scale_io,
        secret,
        storageos,
        vsphere_volume,
    } = volume;
    [
        ("awsElasticBlockStore", aws_elastic_block_store.is_some()),
        ("azureDisk", azure_disk.is_some()),
        ("azureFile", azure_file.is_some()),
        ("cephfs", cephfs.is_some()),
        ("cinder", cinder.is_some()),
        ("configMap", config_map.is_some()),
        ("csi", csi.is_some()),
        ("downwardAPI", downward_api.is_some()),
        ("emptyDir", empty_dir.is_some()),
        ("ephemeral", ephemeral.is_some()),
        ("fc", fc.is_some()),
        ("flexVolume", flex_volume.is_some()),
        ("flocker", flocker.is_some()),
        ("gcePersistentDisk", gce_persistent_disk.is_some()),
        ("gitRepo", git_repo.is_some()),
        ("glusterfs", glusterfs.is_some()),
        ("hostPath", host_path.is_some()),
        ("image", image.is_some()),
        ("iscsi", iscsi.is_some()),
        ("nfs", nfs.is_some()),
        ("persistentVolumeClaim", persistent_volume_claim.is_some()),
        ("photonPersistentDisk", photon_persistent_disk.is_some()),
        ("portworxVolume", portworx_volume.is_some()),
        ("projected", projected.is_some()),
        ("quobyte", quobyte.is_some()),
        ("rbd", rbd.is_some()),
        ("scaleIO", scale_io.is_some()),
        ("secret", secret.is_some()),
        ("storageos", storageos.is_some()),
        ("vsphereVolume", vsphere_volume.is_some()),
    ]
    .into_iter()
    .filter_map(|(source, present)| present.then_some(source))
}

fn validate_init_containers(spec: &PodSpec, volumes: &BTreeSet<String>, token: Option<&str>, restart_policy: &str, path: &Path, errs: &mut Errors) {
    let mut names: BTreeSet<&str> = crate::engine::sort::insert_all(spec.containers.iter().map(|c| c.name.as_str()));
    for (i, container) in spec.init_containers.iter().flatten().enumerate() {
        let item = path.index(i);
        validate_container_common(container, volumes, token, restart_policy, &item, errs);
        let restartable = container.restart_policy.as_deref() == Some("Always");
        if let Some(policy) = container.restart_policy.as_deref() {
            errs.one_of(&item.field("restartPolicy"), Some(policy), &["Always"]);
        }
        if names.contains(container.name.as_str()) {
            errs.duplicate(&item.field("name"), &quote(&container.name));
        } else if !container.name.is_empty() {
            names.insert(container.name.as_str());
        }
        if !restartable {
            let forbidden = "may not be set for init containers without restartPolicy=Always";
            if container.lifecycle.is_some() {
                errs.forbidden(&item.field("lifecycle"), forbidden);
            }
            for (field, probe) in
                [("livenessProbe", &container.liveness_probe), ("readinessProbe", &container.readiness_probe), ("startupProbe", &container.startup_probe)]
            {
                if probe.is_some() {
                    errs.forbidden(&item.field(field), forbidden);
                }
            }
        } else {
            if let Some(lifecycle) = &container.lifecycle {
                validate_lifecycle(lifecycle, spec.termination_grace_period_seconds, &item.field("lifecycle"), errs);
            }
            validate_probes(container, &item, errs);
        }
    }
}

/// `validateEphemeralContainers`: each as a container, named uniquely
/// among all of the pod's containers, targeting a regular or init
/// container, and without the fields the workload relies on (ports,
/// probes, lifecycle, resources: `validateFieldAllowList`) or sub-paths.
fn validate_ephemeral_containers(ephemeral: &[k8s_openapi::api::core::v1::EphemeralContainer], spec: &PodSpec, volumes: &BTreeSet<String>, token: Option<&str>, restart_policy: &str, path: &Path, errs: &mut Errors) {
    let others: BTreeSet<&str> = spec.containers.iter().chain(spec.init_containers.iter().flatten()).map(|c| c.name.as_str()).collect();
    let mut all = others.clone();
    const NOT_ALLOWED: &str = "cannot be set for an Ephemeral Container";
    for (i, e) in ephemeral.iter().enumerate() {
        let item = path.index(i);
        let c = crate::engine::node::kubelet::ephemeral_as_container(e);
        validate_container_common(&c, volumes, token, restart_policy, &item, errs);
        let image = e.image.as_deref().unwrap_or("");
        if image.trim() != image {
            errs.invalid_str(&item.field("image"), image, "must not have leading or trailing whitespace");
        }
        if !all.insert(e.name.as_str()) {
            errs.duplicate(&item.field("name"), &quote(&e.name));
        }
        if let Some(target) = e.target_container_name.as_deref().filter(|t| !t.is_empty()) {
            if !others.contains(target) {
                errs.not_found(&item.field("targetContainerName"), &quote(target));
            }
        }
        let resources_set = e.resources.as_ref().is_some_and(|r| r.limits.as_ref().is_some_and(|l| !l.is_empty()) || r.requests.as_ref().is_some_and(|l| !l.is_empty()) || r.claims.as_ref().is_some_and(|l| !l.is_empty()));
        for (field, set) in [
            ("ports", e.ports.as_ref().is_some_and(|p| !p.is_empty())),
            ("resources", resources_set),
            ("resizePolicy", e.resize_policy.as_ref().is_some_and(|p| !p.is_empty())),
            ("restartPolicy", e.restart_policy.as_deref().is_some_and(|p| !p.is_empty())),
            ("livenessProbe", e.liveness_probe.is_some()),
            ("readinessProbe", e.readiness_probe.is_some()),
            ("startupProbe", e.startup_probe.is_some()),
            ("lifecycle", e.lifecycle.is_some()),
        ] {
            if set {
                errs.forbidden(&item.field(field), NOT_ALLOWED);
            }
        }
        let mounts = item.field("volumeMounts");
        for (j, mount) in e.volume_mounts.iter().flatten().enumerate() {
            let mount_path = mounts.index(j);
            if mount.sub_path.as_deref().is_some_and(|p| !p.is_empty()) {
                errs.forbidden(&mount_path.field("subPath"), NOT_ALLOWED);
            }
            if mount.sub_path_expr.as_deref().is_some_and(|p| !p.is_empty()) {
                errs.forbidden(&mount_path.field("subPathExpr"), NOT_ALLOWED);
            }
        }
    }
}

/// The second half of `ValidatePodEphemeralContainersUpdate`: ephemeral
/// containers, once added, may be neither removed nor changed.
pub fn validate_ephemeral_containers_kept(pod: &Pod, old: &Pod, errs: &mut Errors) {
    let new = pod.spec.as_ref().and_then(|s| s.ephemeral_containers.as_deref()).unwrap_or_default();
    for previous in old.spec.as_ref().and_then(|s| s.ephemeral_containers.as_deref()).unwrap_or_default() {
        match new.iter().find(|e| e.name == previous.name) {
            None => errs.forbidden("spec.ephemeralContainers", &format!("existing ephemeral containers {} may not be removed\n", quote(&previous.name))),
            Some(e) if e != previous => errs.forbidden(&format!("spec.ephemeralContainers[{}]", previous.name), &format!("existing ephemeral containers {} may not be changed\n", quote(&previous.name))),
            Some(_) => {}
        }
    }
}

fn validate_containers(containers: &[Container], volumes: &BTreeSet<String>, token: Option<&str>, grace: Option<i64>, restart_policy: &str, path: &Path, errs: &mut Errors) {
    if containers.is_empty() {
        errs.required(path, "");
        return;
    }
    let mut names = BTreeSet::new();
    for (i, container) in containers.iter().enumerate() {
        let item = path.index(i);
        validate_container_common(container, volumes, token, restart_policy, &item, errs);
        if !names.insert(container.name.as_str()) {
            errs.duplicate(&item.field("name"), &quote(&container.name));
        }
        if let Some(lifecycle) = &container.lifecycle {
            validate_lifecycle(lifecycle, grace, &item.field("lifecycle"), errs);
        }
        validate_probes(container, &item, errs);
        if container.restart_policy.is_some() {
            errs.forbidden(&item.field("restartPolicy"), "may not be set for non-init containers");
        }
    }
    // Host ports must not collide across containers.
    let mut host_ports = BTreeSet::new();
    for (i, container) in containers.iter().enumerate() {
        for (j, port) in container.ports.iter().flatten().enumerate() {
            let Some(host_port) = port.host_port.filter(|p| *p != 0) else { continue };
            let key = format!("{}/{}/{}", port.host_ip.as_deref().unwrap_or(""), port.protocol.as_deref().unwrap_or("TCP"), host_port);
            if !host_ports.insert(key.clone()) {
                errs.duplicate(&format!("{path}[{i}].ports[{j}].hostPort"), &quote(&key));
            }
        }
    }
}

fn validate_container_common(container: &Container, volumes: &BTreeSet<String>, token: Option<&str>, restart_policy: &str, path: &Path, errs: &mut Errors) {
    let name_path = path.field("name");
    if container.name.is_empty() {
        errs.required(&name_path, "");
    } else {
        for msg in dns1123_label(&container.name) {
            errs.invalid_str(&name_path, &container.name, &msg);
        }
    }
    if container.image.as_deref().is_none_or(str::is_empty) {
        errs.required(&path.field("image"), "");
    }
    errs.one_of(&path.field("terminationMessagePolicy"), container.termination_message_policy.as_deref(), &["File", "FallbackToLogsOnError"]);
    validate_container_ports(container, &path.field("ports"), errs);
    validate_env(container.env.as_deref().unwrap_or_default(), &path.field("env"), errs);
    validate_env_from(container.env_from.as_deref().unwrap_or_default(), &path.field("envFrom"), errs);
    let mut mount_paths = BTreeSet::new();
    for (i, mount) in container.volume_mounts.iter().flatten().enumerate() {
        let item_parent = path.field("volumeMounts");
        let item = item_parent.index(i);
        let name = shown_volume_name(&mount.name, token);
        if name.is_empty() {
            errs.required(&item.field("name"), "");
        }
        if !volumes.contains(name) {
            errs.not_found(&item.field("name"), &quote(name));
        }
        if mount.mount_path.is_empty() {
            errs.required(&item.field("mountPath"), "");
        }
        if !mount_paths.insert(mount.mount_path.clone()) {
            errs.invalid_str(&item.field("mountPath"), &mount.mount_path, "must be unique");
        }
        // 1.33 names these `volumeMounts.subPath`, without the mount's index.
        let sub_path = mount.sub_path.as_deref().unwrap_or("");
        if !sub_path.is_empty() {
            validate_local_descending_path(sub_path, &item_parent.field("subPath"), errs);
        }
        if let Some(expr) = mount.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
            if !sub_path.is_empty() {
                errs.invalid_str(&item.field("subPathExpr"), expr, "subPathExpr and subPath are mutually exclusive");
            }
            validate_local_descending_path(expr, &item_parent.field("subPathExpr"), errs);
        }
    }
    errs.one_of(&path.field("imagePullPolicy"), container.image_pull_policy.as_deref(), &["Always", "IfNotPresent", "Never"]);
    if let Some(resources) = &container.resources {
        validate_resources(resources, &path.field("resources"), errs);
    }
    if let Some(policies) = container.resize_policy.as_deref() {
        validate_resize_policy(policies, restart_policy, &path.field("resizePolicy"), errs);
    }
}

/// `validateResizePolicy`: each resource named once, cpu or memory, with
/// `NotRequired` or `RestartContainer` (only `NotRequired` in a pod that
/// never restarts). With `InPlacePodVerticalScaling` on (1.33's default)
/// init containers may carry one too (`AllowSidecarResizePolicy`).
fn validate_resize_policy(policies: &[k8s_openapi::api::core::v1::ContainerResizePolicy], restart_policy: &str, path: &Path, errs: &mut Errors) {
    let mut seen = BTreeSet::new();
    for (i, p) in policies.iter().enumerate() {
        if !seen.insert(p.resource_name.as_str()) {
            errs.duplicate(&path.index(i), &quote(&p.resource_name));
        }
        match p.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.required(path, ""),
            other => errs.unsupported(path, other, &["cpu", "memory"]),
        }
        match p.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.required(path, ""),
            other => errs.unsupported(path, other, &["NotRequired", "RestartContainer"]),
        }
        if restart_policy == "Never" && p.restart_policy != "NotRequired" {
            errs.invalid_str(path, &p.restart_policy, "must be 'NotRequired' when `restartPolicy` is 'Never'");
        }
    }
}

/// `IsRelaxedEnvVarName` (the RelaxedEnvironmentVariableValidation gate is
/// on by default in 1.33).
fn env_var_name_errors(name: &str) -> Option<&'static str> {
    name.chars()
        .any(|c| !(' '..='~').contains(&c) || c == '=')
        .then_some("a valid environment variable name must consist only of printable ASCII characters other than '='")
}

/// `ValidateEnv` and `validateEnvVarValueFrom`.
fn validate_env(vars: &[EnvVar], path: &Path, errs: &mut Errors) {
    for (i, var) in vars.iter().enumerate() {
        let item = path.index(i);
        if var.name.is_empty() {
            errs.required(&item.field("name"), "");
        } else if let Some(msg) = env_var_name_errors(&var.name) {
            errs.invalid_str(&item.field("name"), &var.name, msg);
        }
        let Some(value_from) = &var.value_from else { continue };
        let from_path = item.field("valueFrom");
        let mut count = 0;
        if let Some(field_ref) = &value_from.field_ref {
            count += 1;
            validate_object_field_selector(field_ref, ENV_FIELD_PATHS, &from_path.field("fieldRef"), errs);
        }
        if let Some(resource_ref) = &value_from.resource_field_ref {
            count += 1;
            validate_resource_field_selector(resource_ref, false, &from_path.field("resourceFieldRef"), errs);
        }
        if let Some(key_ref) = &value_from.config_map_key_ref {
            count += 1;
            validate_key_selector(&key_ref.name, &key_ref.key, &from_path.field("configMapKeyRef"), errs);
        }
        if let Some(key_ref) = &value_from.secret_key_ref {
            count += 1;
            validate_key_selector(&key_ref.name, &key_ref.key, &from_path.field("secretKeyRef"), errs);
        }
        if count == 0 {
            errs.invalid_str(&from_path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
        } else if var.value.as_deref().is_some_and(|v| !v.is_empty()) {
            errs.invalid_str(&from_path, "", "may not be specified when `value` is not empty");
        } else if count > 1 {
            errs.invalid_str(&from_path, "", "may not have more than one field specified at a time");
        }
    }
}

/// `validateConfigMapKeySelector` and `validateSecretKeySelector`: both check
/// the name as a Secret name, even an empty one.
fn validate_key_selector(name: &str, key: &str, path: &Path, errs: &mut Errors) {
    for msg in dns1123_subdomain(name) {
        errs.invalid_str(&path.field("name"), name, &msg);
    }
    if key.is_empty() {
        errs.required(&path.field("key"), "");
    } else {
        for msg in super::config_map_key(key) {
            errs.invalid_str(&path.field("key"), key, &msg);
        }
    }
}

/// `ValidateEnvFrom`.
fn validate_env_from(sources: &[EnvFromSource], path: &Path, errs: &mut Errors) {
    for (i, source) in sources.iter().enumerate() {
        let item = path.index(i);
        if let Some(prefix) = source.prefix.as_deref().filter(|p| !p.is_empty()) {
            if let Some(msg) = env_var_name_errors(prefix) {
                errs.invalid_str(&item.field("prefix"), prefix, msg);
            }
        }
        let mut count = 0;
        for (field, name) in [
            ("configMapRef", source.config_map_ref.as_ref().map(|r| r.name.as_str())),
            ("secretRef", source.secret_ref.as_ref().map(|r| r.name.as_str())),
        ] {
            let Some(name) = name else { continue };
            count += 1;
            let name_path = item.field(field);
            if name.is_empty() {
                errs.required(&name_path.field("name"), "");
            } else {
                for msg in dns1123_subdomain(&mask_trailing_dash(name)) {
                    errs.invalid_str(&name_path.field("name"), name, &msg);
                }
            }
        }
        // These two name the list, not the item.
        if count == 0 {
            errs.invalid_str(path, "", "must specify one of: `configMapRef` or `secretRef`");
        } else if count > 1 {
            errs.invalid_str(path, "", "may not have more than one field specified at a time");
        }
    }
}

/// apimachinery's `maskTrailingDash`: a name checked as a prefix may end
/// in a dash.
fn mask_trailing_dash(name: &str) -> String {
    match name.strip_suffix('-') {
        Some(rest) if name.len() > 1 => format!("{rest}a"),
        _ => name.to_string(),
    }
}

fn validate_container_ports(container: &Container, path: &Path, errs: &mut Errors) {
    let mut names = BTreeSet::new();
    for (i, port) in container.ports.iter().flatten().enumerate() {
        let item = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.invalid_str(&item.field("name"), name, &msg);
                }
            } else if !names.insert(name) {
                errs.duplicate(&item.field("name"), &quote(name));
            }
        }
        if port.container_port == 0 {
            errs.required(&item.field("containerPort"), "");
        } else {
            for msg in port_number(port.container_port as i64) {
                errs.invalid_int(&item.field("containerPort"), port.container_port as i64, &msg);
            }
        }
        if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
            for msg in port_number(host_port as i64) {
                errs.invalid_int(&item.field("hostPort"), host_port as i64, &msg);
            }
        }
        errs.one_of(&item.field("protocol"), port.protocol.as_deref(), &["SCTP", "TCP", "UDP"]);
    }
}

fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// Extended resources (`vendor.com/gpu`) and hugepages cannot be overcommitted.
fn overcommit_allowed(name: &str) -> bool {
    !name.starts_with("hugepages-") && !(name.contains('/') && !name.starts_with("kubernetes.io/") && !name.starts_with("requests."))
}

fn validate_resource_name(name: &str, path: &Path, errs: &mut Errors) {
    if !name.contains('/') && !is_standard_container_resource(name) {
        errs.invalid_str(path, name, "must be a standard resource for containers");
    }
}

/// `ValidateResourceQuantityValue`, and for hugepages
/// `validateResourceQuantityHugePageValue`.
fn validate_quantity(name: &str, value: &str, path: &Path, errs: &mut Errors) -> Option<Quantity> {
    let q = Quantity::parse(value.trim()).ok()?;
    if q.is_negative() {
        errs.invalid_str(path, value, "must be greater than or equal to 0");
    }
    if name.contains('/') && !q.is_integer() {
        // The bad value is the `resource.Quantity` itself, printed with `%#v`.
        errs.invalid(path, &crate::engine::quantity::go_struct_as_parsed(value.trim()), "must be an integer");
    }
    if name.starts_with("hugepages-") && !huge_page_value_divisible(name, &q) {
        let shown = q.canonical();
        errs.invalid_str(path, &shown, &format!("{shown} is not positive integer multiple of {name}"));
    }
    Some(q)
}

/// `IsHugePageResourceValueDivisible`: a whole number of pages of the size
/// the name gives.
fn huge_page_value_divisible(name: &str, q: &Quantity) -> bool {
    let Ok(page) = Quantity::parse(name.trim_start_matches("hugepages-")) else { return false };
    if page.nanos() <= 0 || page.milli_value() % 1000 != 0 {
        return false;
    }
    page.value() != 0 && q.value() % page.value() == 0
}

/// `ValidateContainerResourceRequirements`.
fn validate_resources(resources: &ResourceRequirements, path: &Path, errs: &mut Errors) {
    let empty = BTreeMap::new();
    let limits = resources.limits.as_ref().unwrap_or(&empty);
    let requests = resources.requests.as_ref().unwrap_or(&empty);
    let cpu_or_memory = |list: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| list.keys().any(|n| n == "cpu" || n == "memory");
    let huge_pages = |list: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| list.keys().any(|n| n.starts_with("hugepages-"));
    let mut limit_values = BTreeMap::new();
    for (name, value) in limits {
        let field_parent = path.field("limits");
        let field = field_parent.key(name);
        validate_resource_name(name, &field, errs);
        if let Some(q) = validate_quantity(name, &value.0, &field, errs) {
            limit_values.insert(name.clone(), q);
        }
    }
    for (name, value) in requests {
        let field_parent = path.field("requests");
        let field = field_parent.key(name);
        validate_resource_name(name, &field, errs);
        let Some(request) = validate_quantity(name, &value.0, &field, errs) else { continue };
        match limit_values.get(name) {
            Some(limit) if request.nanos() != limit.nanos() && !overcommit_allowed(name) => errs.invalid_str(
                &path.field("requests"),
                &request.canonical(),
                &format!("must be equal to {name} limit of {}", limit.canonical()),
            ),
            Some(limit) if request > *limit => errs.invalid_str(
                &path.field("requests"),
                &request.canonical(),
                &format!("must be less than or equal to {name} limit of {}", limit.canonical()),
            ),
            None if !overcommit_allowed(name) && !limits.contains_key(name) => {
                errs.required(&path.field("limits"), "Limit must be set for non overcommitable resources")
            }
            _ => {}
        }
    }
    if !cpu_or_memory(limits) && !cpu_or_memory(requests) && (huge_pages(limits) || huge_pages(requests)) {
        errs.forbidden(path, "HugePages require cpu or memory");
    }
}

/// `validateOverhead`: the overhead checked as a container's limits, under
/// `<path>.limits`.
fn validate_overhead(overhead: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>, path: &Path, errs: &mut Errors) {
    validate_resources(&ResourceRequirements { limits: Some(overhead.clone()), ..Default::default() }, path, errs);
}

/// `node/validation.ValidateRuntimeClass`'s checks of the class's own fields.
pub fn validate_runtime_class(class: &k8s_openapi::api::node::v1::RuntimeClass, errs: &mut Errors) {
    for msg in dns1123_label(&class.handler) {
        errs.invalid_str("handler", &class.handler, &msg);
    }
    if let Some(pod_fixed) = class.overhead.as_ref().and_then(|o| o.pod_fixed.as_ref()) {
        validate_overhead(pod_fixed, &Path::Root("overhead"), errs);
    }
    if let Some(scheduling) = &class.scheduling {
        let path = Path::Root("scheduling");
        validate_labels(scheduling.node_selector.as_ref(), &path.field("nodeSelector"), errs);
        validate_toleration_list(scheduling.tolerations.as_deref().unwrap_or_default(), &path.field("tolerations"), errs);
    }
}

fn validate_probes(container: &Container, path: &Path, errs: &mut Errors) {
    for (field, probe, success_must_be_one) in [
        ("livenessProbe", &container.liveness_probe, true),
        ("readinessProbe", &container.readiness_probe, false),
        ("startupProbe", &container.startup_probe, true),
    ] {
        if let Some(probe) = probe {
            validate_probe(probe, &path.field(field), success_must_be_one, errs);
        }
    }
}

/// The actions a probe or lifecycle hook may name (1.33's `commonHandler`).
struct Handler<'a> {
    exec: Option<&'a ExecAction>,
    http_get: Option<&'a HTTPGetAction>,
    tcp_socket: Option<&'a TCPSocketAction>,
    grpc: Option<&'a GRPCAction>,
    sleep: Option<&'a SleepAction>,
}

/// `validateLifecycle`: each hook is a handler; a `sleep` must fit in the
/// pod's grace period.
fn validate_lifecycle(lifecycle: &Lifecycle, grace: Option<i64>, path: &Path, errs: &mut Errors) {
    for (field, hook) in [("postStart", &lifecycle.post_start), ("preStop", &lifecycle.pre_stop)] {
        if let Some(hook) = hook {
            let handler = Handler { exec: hook.exec.as_ref(), http_get: hook.http_get.as_ref(), tcp_socket: hook.tcp_socket.as_ref(), grpc: None, sleep: hook.sleep.as_ref() };
            validate_handler(&handler, grace, &path.field(field), errs);
        }
    }
}

/// `validateHandler`: exactly one action, the second and later ones
/// refused at their own field, each action's fields checked.
fn validate_handler(handler: &Handler, grace: Option<i64>, path: &Path, errs: &mut Errors) {
    let mut count = 0;
    let mut one = |field: &str, errs: &mut Errors| {
        count += 1;
        if count > 1 {
            errs.forbidden(&path.field(field), "may not specify more than 1 handler type");
        }
        count == 1
    };
    if let Some(exec) = handler.exec {
        if one("exec", errs) && exec.command.as_ref().is_none_or(Vec::is_empty) {
            errs.required(&path.field("exec").field("command"), "");
        }
    }
    if let Some(http) = handler.http_get {
        if one("httpGet", errs) {
            validate_port_num_or_name(&http.port, &path.field("httpGet").field("port"), errs);
        }
    }
    if let Some(tcp) = handler.tcp_socket {
        if one("tcpSocket", errs) {
            validate_port_num_or_name(&tcp.port, &path.field("tcpSocket").field("port"), errs);
        }
    }
    if let Some(grpc) = handler.grpc {
        if one("grpc", errs) {
            for msg in port_number(i64::from(grpc.port)) {
                errs.invalid_int(&path.field("grpc").field("port"), i64::from(grpc.port), &msg);
            }
        }
    }
    if let Some(sleep) = handler.sleep {
        // PodLifecycleSleepActionAllowZero is on in 1.33: zero is allowed.
        if one("sleep", errs) {
            if let Some(grace) = grace.filter(|g| sleep.seconds < 0 || sleep.seconds > *g) {
                errs.invalid_int(&path.field("sleep"), sleep.seconds, &format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"));
            }
        }
    }
    if count == 0 {
        errs.required(path, "must specify a handler type");
    }
}

/// `ValidatePortNumOrName`.
fn validate_port_num_or_name(port: &IntOrString, path: &Path, errs: &mut Errors) {
    match port {
        IntOrString::Int(number) => {
            for msg in port_number(i64::from(*number)) {
                errs.invalid_int(path, i64::from(*number), &msg);
            }
        }
        IntOrString::String(name) => {
            for msg in port_name(name) {
                errs.invalid_str(path, name, &msg);
            }
        }
    }
}

fn validate_probe(probe: &Probe, path: &Path, success_must_be_one: bool, errs: &mut Errors) {
    let handler = Handler { exec: probe.exec.as_ref(), http_get: probe.http_get.as_ref(), tcp_socket: probe.tcp_socket.as_ref(), grpc: probe.grpc.as_ref(), sleep: None };
    validate_handler(&handler, None, path, errs);
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        errs.non_negative(&path.field(field), value.unwrap_or(0) as i64);
    }
    if let Some(grace) = probe.termination_grace_period_seconds.filter(|g| *g <= 0) {
        errs.invalid_int(&path.field("terminationGracePeriodSeconds"), grace, "must be greater than 0");
    }
    if success_must_be_one {
        if let Some(threshold) = probe.success_threshold.filter(|t| *t != 1) {
            errs.invalid_int(&path.field("successThreshold"), threshold as i64, "must be 1");
        }
    } else if let Some(grace) = probe.termination_grace_period_seconds {
        // Only a readiness probe may not restart the container at all.
        errs.invalid_int(&path.field("terminationGracePeriodSeconds"), grace, "must not be set for readinessProbes");
    }
}

/// `validateAffinity`: node affinity's selector terms and weights, and each
/// pod (anti-)affinity term's selectors, namespaces and topology key.
fn validate_affinity(affinity: &Affinity, affinity_node: Option<&str>, path: &Path, errs: &mut Errors) {
    if let Some(node) = &affinity.node_affinity {
        let path = path.field("nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let terms_path = path.field("requiredDuringSchedulingIgnoredDuringExecution");
            let terms_path = terms_path.field("nodeSelectorTerms");
            if required.node_selector_terms.is_empty() {
                errs.required(&terms_path, "must have at least one node selector term");
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                validate_node_selector_term(term, affinity_node, true, &terms_path.index(i), errs);
            }
        }
        let preferred_path = path.field("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, preferred) in node.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            let item = preferred_path.index(i);
            if !(1..=100).contains(&preferred.weight) {
                errs.invalid_int(&item.field("weight"), preferred.weight as i64, "must be in the range 1-100");
            }
            // Preferred terms may name values no label can have: they only weigh nodes.
            validate_node_selector_term(&preferred.preference, None, false, &item.field("preference"), errs);
        }
    }
    let pod_terms = [("podAffinity", affinity.pod_affinity.as_ref().map(|a| (&a.required_during_scheduling_ignored_during_execution, &a.preferred_during_scheduling_ignored_during_execution))), ("podAntiAffinity", affinity.pod_anti_affinity.as_ref().map(|a| (&a.required_during_scheduling_ignored_during_execution, &a.preferred_during_scheduling_ignored_during_execution)))];
    for (field, terms) in pod_terms {
        let Some((required, preferred)) = terms else { continue };
        let path = path.field(field);
        let required_path = path.field("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in required.iter().flatten().enumerate() {
            validate_pod_affinity_term(term, &required_path.index(i), errs);
        }
        let preferred_path = path.field("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, weighted) in preferred.iter().flatten().enumerate() {
            let item = preferred_path.index(i);
            if !(1..=100).contains(&weighted.weight) {
                errs.invalid_int(&item.field("weight"), weighted.weight as i64, "must be in the range 1-100");
            }
            validate_pod_affinity_term(&weighted.pod_affinity_term, &item.field("podAffinityTerm"), errs);
        }
    }
}

/// `ValidateNodeSelectorRequirement` for each of a term's label expressions;
/// `label_values`: each value must be a label value (required terms: the
/// relaxation 1.33 gives an old object that already had a bad one cannot
/// arise here, since node affinity cannot change after creation).
fn validate_node_selector_expressions(expressions: &[NodeSelectorRequirement], label_values: bool, path: &Path, errs: &mut Errors) {
    for (j, req) in expressions.iter().enumerate() {
        let item = path.index(j);
        let values = req.values.as_ref().map_or(0, Vec::len);
        match req.operator.as_str() {
            "In" | "NotIn" if values == 0 => errs.required(&item.field("values"), "must be specified when `operator` is 'In' or 'NotIn'"),
            "Exists" | "DoesNotExist" if values > 0 => errs.forbidden(&item.field("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
            "Gt" | "Lt" if values != 1 => errs.required(&item.field("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"),
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
            other => errs.invalid_str(&item.field("operator"), other, "not a valid selector operator"),
        }
        for msg in super::qualified_name(&req.key) {
            errs.invalid_str(&item.field("key"), &req.key, &msg);
        }
        if label_values {
            let values_path = item.field("values");
            for (i, value) in req.values.iter().flatten().enumerate() {
                for msg in super::label_value(value) {
                    errs.invalid_str(&values_path.index(i), value, &msg);
                }
            }
        }
    }
}

/// `ValidateNodeSelectorTerm`: expressions on labels, fields on the node's
/// name only (`affinity_node` standing for a DaemonSet pin's placeholder).
pub(super) fn validate_node_selector_term(term: &NodeSelectorTerm, affinity_node: Option<&str>, label_values: bool, path: &Path, errs: &mut Errors) {
    validate_node_selector_expressions(term.match_expressions.as_deref().unwrap_or_default(), label_values, &path.field("matchExpressions"), errs);
    let fields = path.field("matchFields");
    for (j, req) in term.match_fields.iter().flatten().enumerate() {
        let item = fields.index(j);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errs.required(&item.field("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
                }
            }
            other => errs.invalid_str(&item.field("operator"), other, "not a valid selector operator"),
        }
        if req.key != "metadata.name" {
            errs.invalid_str(&item.field("key"), &req.key, "not a valid field selector key");
            continue;
        }
        let values_path = item.field("values");
        for (i, value) in values.iter().enumerate() {
            let value = match affinity_node {
                Some(node) if value == crate::engine::api::pod::AFFINITY_NODE_PLACEHOLDER => node,
                _ => value.as_str(),
            };
            for msg in dns1123_subdomain(value) {
                errs.invalid_str(&values_path.index(i), value, &msg);
            }
        }
    }
}

/// `validatePodAffinityTerm` (its selectors, namespaces and topology key).
fn validate_pod_affinity_term(term: &PodAffinityTerm, path: &Path, errs: &mut Errors) {
    if let Some(selector) = &term.label_selector {
        super::workloads::validate_label_selector(selector, &path.field("labelSelector").to_string(), errs);
    }
    if let Some(selector) = &term.namespace_selector {
        super::workloads::validate_label_selector(selector, &path.field("namespaceSelector").to_string(), errs);
    }
    for name in term.namespaces.iter().flatten() {
        for msg in dns1123_label(name) {
            // Its path says `namespace`, as `validatePodAffinityTerm` writes it.
            errs.invalid_str(&path.field("namespace"), name, &msg);
        }
    }
    validate_match_label_keys_and_mismatch_label_keys(term, path, errs);
    if term.topology_key.is_empty() {
        errs.required(&path.field("topologyKey"), "can not be empty");
    }
    for msg in super::qualified_name(&term.topology_key) {
        errs.invalid_str(&path.field("topologyKey"), &term.topology_key, &msg);
    }
}

/// `validateMatchLabelKeysAndMismatchLabelKeys`: each key a label name, only
/// with a label selector; a `matchLabelKeys` key the selector already
/// selects on (seen again after the API server merged the key into the
/// selector at creation: its path is the term's, indexed, as 1.33 writes
/// it); no key in both lists.
fn validate_match_label_keys_and_mismatch_label_keys(term: &PodAffinityTerm, path: &Path, errs: &mut Errors) {
    let match_keys = term.match_label_keys.as_deref().unwrap_or_default();
    let mismatch_keys = term.mismatch_label_keys.as_deref().unwrap_or_default();
    for (field, keys) in [("matchLabelKeys", match_keys), ("mismatchLabelKeys", mismatch_keys)] {
        if keys.is_empty() {
            continue;
        }
        let keys_path = path.field(field);
        if term.label_selector.is_none() {
            errs.forbidden(&keys_path, "must not be specified when labelSelector is not set");
            continue;
        }
        for (i, key) in keys.iter().enumerate() {
            for msg in super::qualified_name(key) {
                errs.invalid_str(&keys_path.index(i), key, &msg);
            }
        }
    }
    if let Some(selector) = &term.label_selector {
        // The index of each key is its last place in the list, as Go's map keeps it.
        let index_of = |key: &str| match_keys.iter().rposition(|k| k == key);
        let mut seen: std::collections::BTreeSet<&str> = selector.match_labels.iter().flatten().map(|(k, _)| k.as_str()).collect();
        for expression in selector.match_expressions.iter().flatten() {
            let key = expression.key.as_str();
            if let Some(i) = index_of(key).filter(|_| seen.contains(key)) {
                errs.invalid_str(&path.index(i), key, "exists in both matchLabelKeys and labelSelector");
            }
            seen.insert(key);
        }
    }
    let keys_path = path.field("matchLabelKeys");
    for (i, key) in match_keys.iter().enumerate() {
        if mismatch_keys.contains(key) {
            errs.invalid_str(&keys_path.index(i), key, "exists in both matchLabelKeys and mismatchLabelKeys");
        }
    }
}

/// `validateTopologySpreadConstraints`.
fn validate_topology_spread_constraints(constraints: &[TopologySpreadConstraint], path: &Path, errs: &mut Errors) {
    const NOT_POSITIVE: &str = "must be greater than zero";
    for (i, c) in constraints.iter().enumerate() {
        let item = path.index(i);
        if c.max_skew <= 0 {
            errs.invalid_int(&item.field("maxSkew"), c.max_skew as i64, NOT_POSITIVE);
        }
        if c.topology_key.is_empty() {
            errs.required(&item.field("topologyKey"), "can not be empty");
        }
        if !["DoNotSchedule", "ScheduleAnyway"].contains(&c.when_unsatisfiable.as_str()) {
            errs.unsupported(&item.field("whenUnsatisfiable"), &c.when_unsatisfiable, &["DoNotSchedule", "ScheduleAnyway"]);
        }
        // `ValidateSpreadConstraintNotRepeat`: against the later ones.
        if constraints[i + 1..].iter().any(|o| o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable) {
            errs.duplicate(&item.field("{topologyKey, whenUnsatisfiable}"), &quote(&format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable)));
        }
        if let Some(min_domains) = c.min_domains {
            if min_domains <= 0 {
                errs.invalid_int(&item.field("minDomains"), min_domains as i64, NOT_POSITIVE);
            }
            if c.when_unsatisfiable != "DoNotSchedule" {
                errs.invalid_int(&item.field("minDomains"), min_domains as i64, &format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}", c.when_unsatisfiable));
            }
        }
        for (field, policy) in [("nodeAffinityPolicy", &c.node_affinity_policy), ("nodeTaintsPolicy", &c.node_taints_policy)] {
            if let Some(policy) = policy.as_deref() {
                if !["Honor", "Ignore"].contains(&policy) {
                    errs.unsupported(&item.field(field), policy, &["Honor", "Ignore"]);
                }
            }
        }
        let keys = c.match_label_keys.as_deref().unwrap_or_default();
        if !keys.is_empty() {
            let keys_path = item.field("matchLabelKeys");
            if c.label_selector.is_none() {
                errs.forbidden(&keys_path, "must not be specified when labelSelector is not set");
            }
            let selector = c.label_selector.as_ref();
            for (j, key) in keys.iter().enumerate() {
                for msg in super::qualified_name(key) {
                    errs.invalid_str(&keys_path.index(j), key, &msg);
                }
                let in_selector = selector.is_some_and(|s| s.match_labels.as_ref().is_some_and(|l| l.contains_key(key)) || s.match_expressions.iter().flatten().any(|e| e.key == *key));
                if in_selector {
                    errs.invalid_str(&keys_path.index(j), key, "exists in both matchLabelKeys and labelSelector");
                }
            }
        }
        if let Some(selector) = &c.label_selector {
            super::workloads::validate_label_selector(selector, &item.field("labelSelector").to_string(), errs);
        }
    }
}

fn validate_tolerations(spec: &PodSpec, path: &Path, errs: &mut Errors) {
    validate_toleration_list(spec.tolerations.as_deref().unwrap_or_default(), path, errs);
}

/// `ValidateTolerations`.
fn validate_toleration_list(tolerations: &[k8s_openapi::api::core::v1::Toleration], path: &Path, errs: &mut Errors) {
    for (i, t) in tolerations.iter().enumerate() {
        let item = path.index(i);
        let key = t.key.as_deref().unwrap_or("");
        let operator = t.operator.as_deref().unwrap_or("");
        if !key.is_empty() {
            for msg in super::qualified_name(key) {
                errs.invalid_str(&item.field("key"), key, &msg);
            }
        }
        if key.is_empty() && operator != "Exists" {
            errs.invalid_str(&item.field("operator"), operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
        }
        if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
            errs.invalid_str(&item.field("effect"), t.effect.as_deref().unwrap_or(""), "effect must be 'NoExecute' when `tolerationSeconds` is set");
        }
        match operator {
            "" | "Equal" => {
                let msgs = super::names::label_value(t.value.as_deref().unwrap_or(""));
                if !msgs.is_empty() {
                    errs.invalid_str(&item.field("operator"), t.value.as_deref().unwrap_or(""), &msgs.join(";"));
                }
            }
            "Exists" => {
                if t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                    errs.invalid(&item.field("operator"), "core.Toleration{...}", "value must be empty when `operator` is 'Exists'");
                }
            }
            other => errs.unsupported(&item.field("operator"), other, &["Equal", "Exists"]),
        }
        if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
            errs.one_of(&item.field("effect"), Some(effect), &["NoSchedule", "PreferNoSchedule", "NoExecute"]);
        }
    }
}

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

pub fn validate_pod_update(pod: &Pod, old: &Pod, errs: &mut Errors) {
    // Borrowed: every status write of every pod comes through here, and
    // the spec rarely changes.
    let no_containers: Vec<Container> = Vec::new();
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    let old_spec = crate::engine::api::pod_spec_or_empty(old.spec.as_deref());
    for (field, new, previous) in [
        ("spec.containers", &spec.containers, &old_spec.containers),
        ("spec.initContainers", spec.init_containers.as_ref().unwrap_or(&no_containers), old_spec.init_containers.as_ref().unwrap_or(&no_containers)),
    ] {
        if new.len() != previous.len() {
            errs.forbidden(field, "pod updates may not add or remove containers");
            return;
        }
        for (i, c) in new.iter().enumerate() {
            let image = c.image.as_deref().unwrap_or("");
            if image.is_empty() {
                errs.required(&format!("{field}[{i}].image"), "");
            }
            if image.trim() != image {
                errs.invalid_str(&format!("{field}[{i}].image"), image, "must not have leading or trailing whitespace");
            }
        }
    }
    match (spec.active_deadline_seconds, old_spec.active_deadline_seconds) {
        (Some(new), previous) => {
            if !(0..=i32::MAX as i64).contains(&new) {
                errs.invalid_int("spec.activeDeadlineSeconds", new, "must be between 0 and 2147483647, inclusive");
                return;
            }
            if previous.is_some_and(|p| p < new) {
                errs.invalid_int("spec.activeDeadlineSeconds", new, "must be less than or equal to previous value");
                return;
            }
        }
        (None, Some(_)) => errs.invalid("spec.activeDeadlineSeconds", "null", "must not update from a positive integer to nil value"),
        (None, None) => {}
    }
    let no_tolerations = Vec::new();
    let old_tolerations = old_spec.tolerations.as_ref().unwrap_or(&no_tolerations);
    let new_tolerations = spec.tolerations.as_ref().unwrap_or(&no_tolerations);
    for (i, t) in old_tolerations.iter().enumerate() {
        let kept = new_tolerations.iter().any(|n| {
            n.key == t.key && n.operator == t.operator && n.value == t.value && n.effect == t.effect
                && (t.toleration_seconds.is_none() || n.toleration_seconds.is_some_and(|s| t.toleration_seconds.is_some_and(|o| s <= o)))
        });
        if !kept {
            errs.forbidden(&format!("spec.tolerations[{i}]"), "existing toleration can not be modified except its tolerationSeconds");
        }
    }
    if pod.same_spec(old) {
        return;
    }
    // Compared and shown whole, `nodeName` and the token volume's name
    // back in their places.
    let old_spec = &old.full_spec().unwrap_or_default();
    let mut munged = pod.full_spec().unwrap_or_default();
    for (c, previous) in munged.containers.iter_mut().zip(old_spec.containers.iter()) {
        c.image = previous.image.clone();
    }
    for (c, previous) in munged.init_containers.iter_mut().flatten().zip(old_spec.init_containers.iter().flatten()) {
        c.image = previous.image.clone();
    }
    munged.active_deadline_seconds = old_spec.active_deadline_seconds;
    munged.scheduling_gates = old_spec.scheduling_gates.clone();
    munged.tolerations = old_spec.tolerations.clone();
    if old_spec.termination_grace_period_seconds.is_some_and(|g| g < 0) && munged.termination_grace_period_seconds == Some(1) {
        munged.termination_grace_period_seconds = old_spec.termination_grace_period_seconds;
    }
    if munged != *old_spec {
        errs.forbidden("spec", &format!("pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{}", spec_diff(old_spec, &munged)));
    }
}

/// A short account of what changed, in the spirit of the `cmp.Diff` the real
/// message carries: one `-`/`+` pair per changed top-level field.
fn spec_diff(old: &PodSpec, new: &PodSpec) -> String {
    let old_json = serde_json::to_value(old).unwrap_or_default();
    let new_json = serde_json::to_value(new).unwrap_or_default();
    let empty = serde_json::Map::new();
    let old_fields = old_json.as_object().unwrap_or(&empty);
    let new_fields = new_json.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = crate::engine::sort::insert_all(old_fields.keys().chain(new_fields.keys()));
    let mut lines = vec!["  core.PodSpec{".to_string()];
    for key in keys {
        let (a, b) = (old_fields.get(key), new_fields.get(key));
        if a == b {
            continue;
        }
        let mut go_name: Vec<char> = key.chars().collect();
        if let Some(first) = go_name.first_mut() {
            *first = first.to_ascii_uppercase();
        }
        let go_name: String = go_name.into_iter().collect();
        let show = |v: Option<&serde_json::Value>| v.map_or("nil".to_string(), |v| v.to_string());
        lines.push(format!("- \t{go_name}: {},", show(a)));
        lines.push(format!("+ \t{go_name}: {},", show(b)));
    }
    lines.push("  }".to_string());
    lines.join("\n")
}

/// The mirror pod annotation a static pod's API object carries.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// `ValidatePodResize` (`pods/resize`): the spec validated again, then
/// what a resize may change: the CPU and memory requests and limits of
/// the regular and sidecar containers, never removed, the memory limit not
/// lowered (nor added) unless that container restarts for memory, and the
/// pod's QoS class kept. `pod` holds the old spec with the new resources
/// and resize policies (`dropNonResizeUpdates`).
pub fn validate_pod_resize(pod: &Pod, old: &Pod, errs: &mut Errors) {
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    let old_spec = crate::engine::api::pod_spec_or_empty(old.spec.as_deref());
    let pod_level = |s: &PodSpec| s.resources.as_ref().is_some_and(|r| r.requests.as_ref().is_some_and(|m| !m.is_empty()) || r.limits.as_ref().is_some_and(|m| !m.is_empty()));
    if pod_level(old_spec) || pod_level(spec) {
        *errs = Errors::default();
        errs.forbidden("", "pods with pod-level resources cannot be resized");
        return;
    }
    if old.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION)) {
        *errs = Errors::default();
        errs.forbidden("", "static pods cannot be resized");
        return;
    }
    if old_spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        *errs = Errors::default();
        errs.forbidden("", "windows pods cannot be resized");
        return;
    }
    // `GetPodQOS` of the stored pod (its status's class) against the class
    // the new resources make; the value shown is the status's, kept.
    let old_class = old.status.as_ref().and_then(|s| s.qos_class()).map(str::to_string).unwrap_or_else(|| crate::engine::apiserver::admission::pod_qos_class(old_spec).to_string());
    if old_class != crate::engine::apiserver::admission::pod_qos_class(spec) {
        let shown = pod.status.as_ref().and_then(|s| s.qos_class()).unwrap_or("");
        errs.invalid_str("spec", shown, "Pod QOS Class may not change as a result of resizing");
    }
    let same_shape = |new: &[Container], previous: &[Container]| new.len() == previous.len() && new.iter().zip(previous).all(|(a, b)| a.name == b.name);
    let no_containers: Vec<Container> = Vec::new();
    let inits = spec.init_containers.as_ref().unwrap_or(&no_containers);
    let old_inits = old_spec.init_containers.as_ref().unwrap_or(&no_containers);
    if !same_shape(&spec.containers, &old_spec.containers) || !same_shape(inits, old_inits) {
        if errs.0.is_empty() {
            errs.forbidden("spec", "only cpu and memory resources are mutable");
        }
        return;
    }
    for (i, (c, previous)) in inits.iter().zip(old_inits).enumerate().filter(|(_, (_, p))| is_restartable(p)) {
        validate_container_resize(c, previous, &format!("spec.initContainers[{i}].resources"), errs);
    }
    for (i, (c, previous)) in spec.containers.iter().zip(&old_spec.containers).enumerate() {
        validate_container_resize(c, previous, &format!("spec.containers[{i}].resources"), errs);
    }
    for (c, previous) in spec.containers.iter().zip(&old_spec.containers) {
        if without_cpu_memory_changes(c, previous) != *previous {
            errs.forbidden("spec", "only cpu and memory resources are mutable");
        }
    }
    for (c, previous) in inits.iter().zip(old_inits) {
        if is_restartable(previous) {
            if without_cpu_memory_changes(c, previous) != *previous {
                errs.forbidden("spec", "only cpu and memory resources for sidecar containers are mutable");
            }
        } else if c != previous {
            errs.forbidden("spec", "resources for non-sidecar init containers are immutable");
        }
    }
}

fn is_restartable(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// `validateContainerResize`: requests and limits are not removed, and
/// a memory limit is not lowered or added unless the container's memory
/// resize policy is `RestartContainer` (1.33).
fn validate_container_resize(c: &Container, previous: &Container, path: &str, errs: &mut Errors) {
    let lists = |c: &Container| {
        let r = c.resources.as_ref();
        (r.and_then(|r| r.requests.clone()).unwrap_or_default(), r.and_then(|r| r.limits.clone()).unwrap_or_default())
    };
    let (requests, limits) = lists(c);
    let (old_requests, old_limits) = lists(previous);
    let removed = |new: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>, old: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| old.keys().any(|k| !new.contains_key(k));
    if removed(&requests, &old_requests) {
        errs.forbidden(&format!("{path}.requests"), "resource requests cannot be removed");
    }
    if removed(&limits, &old_limits) {
        errs.forbidden(&format!("{path}.limits"), "resource limits cannot be removed");
    }
    let memory_policy = c.resize_policy.iter().flatten().find(|p| p.resource_name == "memory").map_or("", |p| p.restart_policy.as_str());
    if memory_policy == "NotRequired" || memory_policy.is_empty() {
        let value = |m: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>| m.get("memory").and_then(|q| Quantity::parse(&q.0).ok());
        match (value(&limits), limits.contains_key("memory"), value(&old_limits), old_limits.contains_key("memory")) {
            (Some(new), _, Some(old), _) if new < old => {
                errs.forbidden(&format!("{path}.limits[memory]"), "memory limits cannot be decreased unless resizePolicy is RestartContainer");
            }
            (_, true, _, false) => errs.forbidden(&format!("{path}.limits[memory]"), "memory limits cannot be added unless resizePolicy is RestartContainer"),
            _ => {}
        }
    }
}

/// `dropCPUMemoryResourcesFromContainer`: the container with its CPU and
/// memory requests and limits put back as they were (and its resources'
/// other parts as the new ones), to find any other change.
fn without_cpu_memory_changes(c: &Container, previous: &Container) -> Container {
    type List = BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>;
    let munge = |new: Option<&List>, old: Option<&List>| -> Option<List> {
        let old = old?;
        let mut munged = new.cloned().unwrap_or_default();
        munged.remove("cpu");
        munged.remove("memory");
        for name in ["cpu", "memory"] {
            if let Some(q) = old.get(name) {
                munged.insert(name.to_string(), q.clone());
            }
        }
        Some(munged)
    };
    let new = c.resources.as_ref();
    let old = previous.resources.as_ref();
    let limits = munge(new.and_then(|r| r.limits.as_ref()), old.and_then(|r| r.limits.as_ref()));
    let requests = munge(new.and_then(|r| r.requests.as_ref()), old.and_then(|r| r.requests.as_ref()));
    let mut munged = c.clone();
    // An empty `resources` and none are the same to the API (both decode to the zero value).
    munged.resources = if limits.is_none() && requests.is_none() && previous.resources.as_ref().is_none_or(|r| *r == Default::default()) { previous.resources.clone() } else { Some(k8s_openapi::api::core::v1::ResourceRequirements { limits, requests, ..Default::default() }) };
    munged
}
