//! Defaulting as a 1.33 API server applies it when it decodes a request
//! (the generated `SetDefaults_*` functions of each API group). Every function
//! here is idempotent: it runs again on updates and on objects that already
//! carry their defaults.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSetSpec, DaemonSetUpdateStrategy, DeploymentSpec, DeploymentStrategy, RollingUpdateDaemonSet,
    RollingUpdateDeployment, RollingUpdateStatefulSetStrategy, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::batch::v1::{CronJobSpec, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction, LifecycleHandler, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::pod::Pod;
use crate::engine::api::Object;

/// The mode (0644) Kubernetes gives files of secret, configMap, projected
/// and downwardAPI volumes.
pub const DEFAULT_VOLUME_MODE: i32 = 420;

/// Sets `slot` unless it holds a value; an empty string counts as unset, as
/// Go's zero value does.
fn set_str(slot: &mut Option<String>, value: &str) {
    if slot.as_deref().is_none_or(str::is_empty) {
        *slot = Some(value.to_string());
    }
}

fn set<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// As [`apply`], for an update of `old`. A pod that keeps its stored spec
/// (a controller's metadata patch, a deletion) keeps it shared rather than
/// copied for defaulting that would change nothing: defaulting is
/// idempotent, and the stored spec was defaulted when it was written.
pub fn apply_update(obj: &mut Object, old: &Object) {
    if let (Object::Pod(pod), Object::Pod(stored)) = (&*obj, old) {
        if pod.keeps_spec_of(stored) {
            debug_assert!(
                {
                    let mut copy = Object::Pod(Box::new(Pod { spec: pod.spec.as_deref().cloned().map(Into::into), ..Default::default() }));
                    apply(&mut copy);
                    matches!(&copy, Object::Pod(p) if p.spec == pod.spec)
                },
                "a stored pod spec is defaulted"
            );
            return;
        }
    }
    apply(obj)
}

pub fn apply(obj: &mut Object) {
    match obj {
        Object::CustomResourceDefinition(crd) => super::custom::default_crd(crd),
        Object::Custom(o) => {
            super::custom::prune_and_default(o);
        }
        Object::Pod(pod) => {
            let spec = pod.spec_mut();
            default_pod_spec(spec);
            default_pod_only(spec);
        }
        Object::PodTemplate(t) => {
            if let Some(template) = &mut t.template {
                default_pod_template(template);
            }
        }
        Object::ReplicationController(rc) => {
            let spec = rc.spec.get_or_insert_with(Default::default);
            if let Some(template) = &mut spec.template {
                default_pod_template(template);
                // An RC without selector or labels takes its template's labels.
                if let Some(labels) = template.metadata.as_ref().and_then(|m| m.labels.clone()) {
                    if spec.selector.as_ref().is_none_or(BTreeMap::is_empty) {
                        spec.selector = Some(labels.clone());
                    }
                    if rc.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
                        rc.metadata.labels = Some(labels);
                    }
                }
            }
            set(&mut spec.replicas, 1);
        }
        Object::Deployment(d) => default_deployment(d.spec_mut()),
        Object::ReplicaSet(rs) => {
            let spec = rs.spec_mut();
            set(&mut spec.replicas, 1);
            if let Some(template) = &mut spec.template {
                default_pod_template(template);
            }
        }
        Object::DaemonSet(ds) => default_daemon_set(ds.spec_mut()),
        Object::StatefulSet(sts) => default_stateful_set(sts.spec_mut()),
        Object::Job(job) => {
            let (metadata, spec) = job.metadata_and_spec_mut();
            default_job_spec(spec);
            // A Job without labels takes its template's labels.
            if metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
                if let Some(labels) = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()) {
                    if !labels.is_empty() {
                        metadata.labels = Some(labels);
                    }
                }
            }
        }
        Object::CronJob(cj) => default_cron_job(cj.spec.get_or_insert_with(Default::default)),
        Object::Service(svc) => default_service(svc.spec.get_or_insert_with(Default::default)),
        Object::Namespace(ns) => {
            let name = ns.metadata.name.clone().unwrap_or_default();
            if !name.is_empty() {
                ns.metadata.labels.get_or_insert_with(BTreeMap::new).insert("kubernetes.io/metadata.name".to_string(), name);
            }
            set_str(&mut ns.status.get_or_insert_with(Default::default).phase, "Active");
        }
        Object::Secret(secret) => set_str(&mut secret.type_, "Opaque"),
        Object::PersistentVolumeClaim(pvc) => default_pvc(pvc),
        Object::PersistentVolume(pv) => {
            let spec = pv.spec.get_or_insert_with(Default::default);
            set_str(&mut spec.persistent_volume_reclaim_policy, "Retain");
            set_str(&mut spec.volume_mode, "Filesystem");
            if let Some(host_path) = &mut spec.host_path {
                set(&mut host_path.type_, String::new());
            }
            set_str(&mut pv.status.get_or_insert_with(Default::default).phase, "Pending");
        }
        Object::Endpoints(ep) => {
            for subset in ep.subsets.iter_mut().flatten() {
                for port in subset.ports.iter_mut().flatten() {
                    set_str(&mut port.protocol, "TCP");
                }
            }
        }
        Object::EndpointSlice(slice) => {
            for port in slice.ports.iter_mut().flatten() {
                set(&mut port.name, String::new());
                set_str(&mut port.protocol, "TCP");
            }
            // An endpoint's conditions are a struct, not a pointer, in Go:
            // without any it still reads back as `conditions: {}`.
            for endpoint in &mut slice.endpoints {
                endpoint.conditions.get_or_insert_with(Default::default);
            }
        }
        Object::LimitRange(lr) => {
            for item in lr.spec.iter_mut().flat_map(|s| s.limits.iter_mut()) {
                if item.type_ != "Container" {
                    continue;
                }
                let default = item.default.get_or_insert_with(BTreeMap::new);
                for (k, v) in item.max.iter().flatten() {
                    default.entry(k.clone()).or_insert_with(|| v.clone());
                }
                let default = default.clone();
                let default_request = item.default_request.get_or_insert_with(BTreeMap::new);
                for (k, v) in default.iter().chain(item.min.iter().flatten()) {
                    default_request.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        Object::HorizontalPodAutoscaler(hpa) => {
            let spec = hpa.spec.get_or_insert_with(Default::default);
            set(&mut spec.min_replicas, 1);
            if spec.metrics.as_ref().is_none_or(Vec::is_empty) {
                spec.metrics = Some(vec![cpu_utilization_metric(DEFAULT_CPU_UTILIZATION)]);
            }
            // `SetDefaults_HorizontalPodAutoscalerBehavior`: a given behavior
            // gets every unset rule (the scale-down window stays unset: the
            // controller's --horizontal-pod-autoscaler-downscale-stabilization applies).
            if let Some(behavior) = spec.behavior.as_mut() {
                use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules};
                let policy = |type_: &str, value: i32| HPAScalingPolicy { type_: type_.to_string(), value, period_seconds: 15 };
                let up = behavior.scale_up.get_or_insert_with(HPAScalingRules::default);
                set_str(&mut up.select_policy, "Max");
                if up.policies.is_none() {
                    up.policies = Some(vec![policy("Pods", 4), policy("Percent", 100)]);
                }
                set(&mut up.stabilization_window_seconds, 0);
                let down = behavior.scale_down.get_or_insert_with(HPAScalingRules::default);
                set_str(&mut down.select_policy, "Max");
                if down.policies.is_none() {
                    down.policies = Some(vec![policy("Percent", 100)]);
                }
            }
        }
        Object::NetworkPolicy(np) => {
            let spec = np.spec.get_or_insert_with(Default::default);
            if spec.policy_types.as_ref().is_none_or(Vec::is_empty) {
                let mut types = vec!["Ingress".to_string()];
                if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                    types.push("Egress".to_string());
                }
                spec.policy_types = Some(types);
            }
            let ports = spec
                .ingress
                .iter_mut()
                .flatten()
                .flat_map(|r| r.ports.iter_mut().flatten())
                .chain(spec.egress.iter_mut().flatten().flat_map(|r| r.ports.iter_mut().flatten()));
            for port in ports {
                set_str(&mut port.protocol, "TCP");
            }
        }
        Object::PriorityClass(pc) => set_str(&mut pc.preemption_policy, "PreemptLowerPriority"),
        Object::StorageClass(sc) => {
            set_str(&mut sc.reclaim_policy, "Delete");
            set_str(&mut sc.volume_binding_mode, "Immediate");
        }
        Object::RoleBinding(rb) => default_subjects(rb.subjects.iter_mut().flatten()),
        Object::ClusterRoleBinding(crb) => default_subjects(crb.subjects.iter_mut().flatten()),
        _ => {}
    }
}

fn default_subjects<'a>(subjects: impl Iterator<Item = &'a mut k8s_openapi::api::rbac::v1::Subject>) {
    for subject in subjects {
        if subject.api_group.as_deref().is_none_or(str::is_empty) {
            match subject.kind.as_str() {
                "User" | "Group" => subject.api_group = Some("rbac.authorization.k8s.io".to_string()),
                // Go's empty group, which `omitempty` leaves out of the object.
                "ServiceAccount" => subject.api_group = None,
                _ => {}
            }
        }
    }
}

fn default_deployment(spec: &mut DeploymentSpec) {
    set(&mut spec.replicas, 1);
    let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
        set(&mut rolling.max_unavailable, IntOrString::String("25%".to_string()));
        set(&mut rolling.max_surge, IntOrString::String("25%".to_string()));
    }
    set(&mut spec.revision_history_limit, 10);
    set(&mut spec.progress_deadline_seconds, 600);
    default_pod_template(&mut spec.template);
}

fn default_daemon_set(spec: &mut DaemonSetSpec) {
    let strategy = spec.update_strategy.get_or_insert_with(DaemonSetUpdateStrategy::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
        set(&mut rolling.max_unavailable, IntOrString::Int(1));
        set(&mut rolling.max_surge, IntOrString::Int(0));
    }
    set(&mut spec.revision_history_limit, 10);
    default_pod_template(&mut spec.template);
}

fn default_stateful_set(spec: &mut StatefulSetSpec) {
    set_str(&mut spec.pod_management_policy, "OrderedReady");
    let strategy = spec.update_strategy.get_or_insert_with(StatefulSetUpdateStrategy::default);
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some("RollingUpdate".to_string());
        // Only an unset type brings a rollingUpdate block with it.
        set(&mut strategy.rolling_update, RollingUpdateStatefulSetStrategy::default());
    }
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        if let Some(rolling) = &mut strategy.rolling_update {
            set(&mut rolling.partition, 0);
        }
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    set_str(&mut retention.when_deleted, "Retain");
    set_str(&mut retention.when_scaled, "Retain");
    set(&mut spec.replicas, 1);
    set(&mut spec.revision_history_limit, 10);
    default_pod_template(&mut spec.template);
    for claim in spec.volume_claim_templates.iter_mut().flatten() {
        default_pvc(claim);
    }
}

pub fn default_job_spec(spec: &mut JobSpec) {
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    set(&mut spec.parallelism, 1);
    set(&mut spec.backoff_limit, if spec.backoff_limit_per_index.is_some() { i32::MAX } else { 6 });
    set_str(&mut spec.completion_mode, "NonIndexed");
    set(&mut spec.suspend, false);
    let replacement = if spec.pod_failure_policy.is_some() { "Failed" } else { "TerminatingOrFailed" };
    set_str(&mut spec.pod_replacement_policy, replacement);
    // Defaulted since 1.29 (#120206), rather than read as false where unset.
    set(&mut spec.manual_selector, false);
    if let Some(policy) = &mut spec.pod_failure_policy {
        for rule in &mut policy.rules {
            for pattern in rule.on_pod_conditions.iter_mut().flatten() {
                if pattern.status.is_empty() {
                    pattern.status = "True".to_string();
                }
            }
        }
    }
    default_pod_template(&mut spec.template);
}

fn default_cron_job(spec: &mut CronJobSpec) {
    set_str(&mut spec.concurrency_policy, "Allow");
    set(&mut spec.suspend, false);
    set(&mut spec.successful_jobs_history_limit, 3);
    set(&mut spec.failed_jobs_history_limit, 1);
    // The job template is a JobTemplateSpec: only its pod template is defaulted.
    if let Some(job_spec) = spec.job_template.spec.as_mut() {
        default_pod_template(&mut job_spec.template);
    }
}

fn default_service(spec: &mut ServiceSpec) {
    set_str(&mut spec.session_affinity, "None");
    if spec.session_affinity.as_deref() == Some("ClientIP") {
        let config = spec.session_affinity_config.get_or_insert_with(Default::default);
        let client_ip = config.client_ip.get_or_insert_with(Default::default);
        set(&mut client_ip.timeout_seconds, 10800);
    }
    set_str(&mut spec.type_, "ClusterIP");
    for port in spec.ports.iter_mut().flatten() {
        set_str(&mut port.protocol, "TCP");
        let unset = match &port.target_port {
            None => true,
            Some(IntOrString::Int(0)) => true,
            Some(IntOrString::String(s)) => s.is_empty(),
            Some(IntOrString::Int(_)) => false,
        };
        if unset {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
    let service_type = spec.type_.clone().unwrap_or_default();
    // Every externally-accessible Service (`ExternallyAccessible`), a ClusterIP one with external IPs too.
    let has_external_ips = spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty());
    if matches!(service_type.as_str(), "NodePort" | "LoadBalancer") || (service_type == "ClusterIP" && has_external_ips) {
        set_str(&mut spec.external_traffic_policy, "Cluster");
    }
    if matches!(service_type.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set_str(&mut spec.internal_traffic_policy, "Cluster");
    }
    if service_type == "LoadBalancer" {
        set(&mut spec.allocate_load_balancer_node_ports, true);
    }
}

fn default_pvc(pvc: &mut PersistentVolumeClaim) {
    default_pvc_spec(pvc.spec.get_or_insert_with(Default::default));
    set_str(&mut pvc.status.get_or_insert_with(Default::default).phase, "Pending");
}

fn default_pvc_spec(spec: &mut PersistentVolumeClaimSpec) {
    set_str(&mut spec.volume_mode, "Filesystem");
}

/// Every pod template (Deployment, ReplicaSet, Job...) gets the pod spec defaults.
pub fn default_pod_template(template: &mut PodTemplateSpec) {
    default_pod_spec(template.spec.get_or_insert_with(Default::default));
}

/// Defaults of a Pod that its templates do not get: requests copied from
/// limits and `enableServiceLinks`.
fn default_pod_only(spec: &mut PodSpec) {
    let containers = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten());
    for container in containers {
        if let Some(resources) = &mut container.resources {
            if let Some(limits) = &resources.limits {
                let requests = resources.requests.get_or_insert_with(BTreeMap::new);
                for (name, value) in limits {
                    requests.entry(name.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    set(&mut spec.enable_service_links, true);
}

pub fn default_pod_spec(spec: &mut PodSpec) {
    // `serviceAccount` is the deprecated spelling of `serviceAccountName`;
    // the API fills one from the other.
    if spec.service_account_name.as_deref().is_none_or(str::is_empty) {
        if let Some(deprecated) = spec.service_account.clone().filter(|s| !s.is_empty()) {
            spec.service_account_name = Some(deprecated);
        }
    }
    if let Some(name) = spec.service_account_name.clone().filter(|s| !s.is_empty()) {
        spec.service_account = Some(name);
    }
    set_str(&mut spec.dns_policy, "ClusterFirst");
    set_str(&mut spec.restart_policy, "Always");
    set(&mut spec.security_context, Default::default());
    set(&mut spec.termination_grace_period_seconds, 30);
    set_str(&mut spec.scheduler_name, "default-scheduler");
    let host_network = spec.host_network == Some(true);
    for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(container, host_network);
    }
    default_ephemeral_containers(spec.ephemeral_containers.iter_mut().flatten());
    for volume in spec.volumes.iter_mut().flatten() {
        default_volume(volume);
    }
}

pub fn default_ephemeral_containers<'a>(containers: impl Iterator<Item = &'a mut k8s_openapi::api::core::v1::EphemeralContainer>) {
    for container in containers {
        set_str(&mut container.image_pull_policy, pull_policy_for(container.image.as_deref().unwrap_or("")));
        set_str(&mut container.termination_message_path, "/dev/termination-log");
        set_str(&mut container.termination_message_policy, "File");
        for env in container.env.iter_mut().flatten() {
            default_env(env);
        }
    }
}

fn default_container(container: &mut Container, host_network: bool) {
    set_str(&mut container.image_pull_policy, pull_policy_for(container.image.as_deref().unwrap_or("")));
    set_str(&mut container.termination_message_path, "/dev/termination-log");
    set_str(&mut container.termination_message_policy, "File");
    set(&mut container.resources, ResourceRequirements::default());
    for port in container.ports.iter_mut().flatten() {
        default_container_port(port, host_network);
    }
    for probe in [&mut container.liveness_probe, &mut container.readiness_probe, &mut container.startup_probe]
        .into_iter()
        .flatten()
    {
        default_probe(probe);
    }
    if let Some(lifecycle) = &mut container.lifecycle {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop].into_iter().flatten() {
            default_handler(handler);
        }
    }
    for env in container.env.iter_mut().flatten() {
        default_env(env);
    }
}

fn default_container_port(port: &mut ContainerPort, host_network: bool) {
    set_str(&mut port.protocol, "TCP");
    // On the host network a container port is also its host port.
    if host_network && port.host_port.is_none_or(|p| p == 0) {
        port.host_port = Some(port.container_port);
    }
}

fn default_env(env: &mut EnvVar) {
    if let Some(field_ref) = env.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
        set_str(&mut field_ref.api_version, "v1");
    }
}

fn default_probe(probe: &mut Probe) {
    set(&mut probe.timeout_seconds, 1);
    set(&mut probe.period_seconds, 10);
    set(&mut probe.success_threshold, 1);
    set(&mut probe.failure_threshold, 3);
    if let Some(http) = &mut probe.http_get {
        default_http_get(http);
    }
    if let Some(grpc) = &mut probe.grpc {
        set(&mut grpc.service, String::new());
    }
}

fn default_handler(handler: &mut LifecycleHandler) {
    if let Some(http) = &mut handler.http_get {
        default_http_get(http);
    }
}

fn default_http_get(http: &mut HTTPGetAction) {
    set_str(&mut http.path, "/");
    set_str(&mut http.scheme, "HTTP");
}

fn default_volume(volume: &mut Volume) {
    // A volume naming no source is an emptyDir.
    if super::validation::volume_source_names(volume).next().is_none() {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(secret) = &mut volume.secret {
        set(&mut secret.default_mode, DEFAULT_VOLUME_MODE);
    }
    if let Some(config_map) = &mut volume.config_map {
        set(&mut config_map.default_mode, DEFAULT_VOLUME_MODE);
    }
    if let Some(downward) = &mut volume.downward_api {
        set(&mut downward.default_mode, DEFAULT_VOLUME_MODE);
        for item in downward.items.iter_mut().flatten() {
            if let Some(field_ref) = &mut item.field_ref {
                set_str(&mut field_ref.api_version, "v1");
            }
        }
    }
    if let Some(projected) = &mut volume.projected {
        set(&mut projected.default_mode, DEFAULT_VOLUME_MODE);
        for source in projected.sources.iter_mut().flatten() {
            if let Some(token) = &mut source.service_account_token {
                set(&mut token.expiration_seconds, 3600);
            }
            if let Some(downward) = &mut source.downward_api {
                for item in downward.items.iter_mut().flatten() {
                    if let Some(field_ref) = &mut item.field_ref {
                        set_str(&mut field_ref.api_version, "v1");
                    }
                }
            }
        }
    }
    if let Some(host_path) = &mut volume.host_path {
        set(&mut host_path.type_, String::new());
    }
    if let Some(ephemeral) = volume.ephemeral.as_mut().and_then(|e| e.volume_claim_template.as_mut()) {
        default_pvc_spec(&mut ephemeral.spec);
    }
}

/// `Always` for `:latest` or an untagged image, else `IfNotPresent`, as the
/// defaulter decides from the parsed image reference.
pub fn pull_policy_for(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The tag of an image reference: `latest` when it names neither tag nor
/// digest; `None` when it has a digest only or does not parse.
fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() || image.trim() != image {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_segment_start = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_segment_start..].rfind(':') {
        Some(i) => (&name[..last_segment_start + i], Some(&name[last_segment_start + i + 1..])),
        None => (name, None),
    };
    // The path after a registry host must be lowercase; a reference that breaks that does not parse.
    let path = match repository.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => rest,
        _ => repository,
    };
    if path.is_empty() || path.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) if !t.is_empty() => Some(t.to_string()),
        (_, Some(_)) => None,
        _ => Some("latest".to_string()),
    }
}

#[cfg(test)]
mod tests;

/// `autoscaling.DefaultCPUUtilization`: the target of an autoscaler given no metrics.
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// An autoscaler's metric on its pods' average CPU use as a percentage of
/// their requests (`kubectl autoscale --cpu-percent`, autoscaling/v1's
/// `targetCPUUtilizationPercentage`, and the default).
pub fn cpu_utilization_metric(percent: i32) -> k8s_openapi::api::autoscaling::v2::MetricSpec {
    use k8s_openapi::api::autoscaling::v2::{MetricSpec, MetricTarget, ResourceMetricSource};
    MetricSpec {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricSource {
            name: "cpu".to_string(),
            target: MetricTarget { type_: "Utilization".to_string(), average_utilization: Some(percent), ..Default::default() },
        }),
        ..Default::default()
    }
}
