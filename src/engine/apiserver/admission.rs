//! Admission plugins a 1.33 API server enables by default, where a learner
//! can see their effect, followed by each kind's create/update strategy (the
//! registry's `PrepareForCreate` and the Service REST allocations).
//!
//! The real request path decodes and defaults an object before admission, so
//! `admit_create` defaults first; the API server defaults again afterwards,
//! which is harmless because defaulting is idempotent.

pub mod allocation;
mod limit_ranger;
mod runtime_class;
pub mod validating_policy;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMapProjection, DownwardAPIProjection, DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, PodCondition, PodSpec, ProjectedVolumeSource, ServiceAccountTokenProjection, Toleration, Volume, VolumeMount, VolumeProjection};
use crate::engine::api::pod::Pod;

use crate::engine::api::{find_resource, ids, ApiError, Object, Reason};
use crate::engine::storage;

use crate::engine::quantity::{parse_stored, Quantity};
use super::{defaults, ApiServer};

/// Where the ServiceAccount plugin mounts the API credentials.
pub const SERVICE_ACCOUNT_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The annotation the kubelet puts on mirror pods of static pods.
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

pub fn admit_create(api: &mut ApiServer, obj: &mut Object) -> Result<(), ApiError> {
    defaults::apply(obj);
    drop_image_volumes(obj, false);
    match obj {
        Object::Pod(pod) => {
            limit_ranger::default_pod(api, pod);
            service_account(api, pod)?;
            priority(api, pod)?;
            default_toleration_seconds(pod.spec_mut());
            runtime_class::admit(api, pod)?;
            prepare_pod_for_create(pod);
        }
        Object::Job(job) => {
            let (metadata, spec) = job.metadata_and_spec_mut();
            if spec.manual_selector != Some(true) {
                generate_job_selector(metadata, spec);
            }
            job.status = Some(Default::default());
        }
        Object::Service(svc) => {
            allocation::allocate_for_create(api, svc).map_err(|causes| super::invalid_error(&Object::Service(svc.clone()), causes))?;
            svc.status = Some(k8s_openapi::api::core::v1::ServiceStatus {
                load_balancer: Some(Default::default()),
                conditions: None,
            });
        }
        Object::Node(node) => taint_nodes_by_condition(node),
        Object::Namespace(ns) => {
            let finalizers = ns.spec.get_or_insert_with(Default::default).finalizers.get_or_insert_with(Vec::new);
            if !finalizers.iter().any(|f| f == "kubernetes") {
                finalizers.push("kubernetes".to_string());
            }
            ns.status = Some(k8s_openapi::api::core::v1::NamespaceStatus { phase: Some("Active".to_string()), conditions: None });
        }
        Object::Ingress(ing) => default_ingress_class(api, ing),
        Object::PersistentVolumeClaim(pvc) => {
            default_storage_class(api, pvc);
            add_finalizer(&mut pvc.metadata, "kubernetes.io/pvc-protection");
            pvc.status = None;
        }
        Object::PersistentVolume(pv) => {
            add_finalizer(&mut pv.metadata, "kubernetes.io/pv-protection");
            // The strategy starts every volume Pending, stamped with when.
            pv.status = Some(k8s_openapi::api::core::v1::PersistentVolumeStatus {
                phase: Some("Pending".to_string()),
                last_phase_transition_time: Some(crate::engine::api::meta::api_time(api.now())),
                ..Default::default()
            });
        }
        // Users cannot create status: each strategy resets it.
        Object::Deployment(d) => d.status = Some(Default::default()),
        Object::ReplicaSet(rs) => rs.status = Some(Default::default()),
        Object::StatefulSet(sts) => {
            drop_stateful_set_max_unavailable(sts, false);
            sts.status = Some(k8s_openapi::api::apps::v1::StatefulSetStatus { available_replicas: Some(0), ..Default::default() })
        }
        Object::DaemonSet(ds) => {
            ds.status = Some(Default::default());
            let generation = template_generation(&ds.metadata).max(1);
            set_template_generation(&mut ds.metadata, generation);
        }
        Object::ReplicationController(rc) => rc.status = Some(Default::default()),
        Object::CronJob(cj) => cj.status = Some(Default::default()),
        Object::ResourceQuota(q) => q.status = Some(Default::default()),
        Object::ValidatingAdmissionPolicy(p) => validating_policy::default_policy(p, 1),
        Object::ValidatingAdmissionPolicyBinding(b) => validating_policy::default_binding(b),
        _ => {}
    }
    Ok(())
}

pub fn admit_update(api: &mut ApiServer, obj: &mut Object, old: &Object) -> Result<(), ApiError> {
    defaults::apply_update(obj, old);
    drop_image_volumes(obj, pod_template_of(old).is_some_and(|(_, spec)| has_image_volumes(spec)) || matches!(old, Object::Pod(p) if p.spec.as_deref().is_some_and(has_image_volumes)));
    match (obj, old) {
        // The stored spec, kept (a metadata patch): it had these on create.
        (Object::Pod(pod), Object::Pod(old_pod)) if pod.keeps_spec_of(old_pod) => {}
        (Object::Pod(pod), Object::Pod(old_pod)) => {
            let spec = pod.spec_mut();
            let old_spec = old_pod.spec.clone().unwrap_or_default();
            // The Priority plugin set these on create; an update that drops them keeps them.
            if spec.priority.is_none() {
                spec.priority = old_spec.priority;
            }
            if spec.preemption_policy.is_none() {
                spec.preemption_policy = old_spec.preemption_policy.clone();
            }
            default_toleration_seconds(spec);
        }
        (Object::Service(svc), Object::Service(old_svc)) => {
            allocation::allocate_for_update(api, svc, old_svc)
                .map_err(|causes| super::invalid_error(&Object::Service(svc.clone()), causes))?;
        }
        (Object::Namespace(ns), Object::Namespace(old_ns)) => {
            // Finalizers change only through the finalize subresource.
            ns.spec = old_ns.spec.clone();
        }
        (Object::StatefulSet(sts), Object::StatefulSet(old_sts)) => {
            drop_stateful_set_max_unavailable(sts, has_max_unavailable(old_sts));
        }
        (Object::DaemonSet(ds), Object::DaemonSet(old_ds)) => {
            // The template generation counts template changes; users cannot set it.
            let old_generation = template_generation(&old_ds.metadata);
            let changed = ds.spec.as_ref().map(|s| &s.template) != old_ds.spec.as_ref().map(|s| &s.template);
            set_template_generation(&mut ds.metadata, if changed { old_generation + 1 } else { old_generation });
        }
        (Object::ValidatingAdmissionPolicy(p), Object::ValidatingAdmissionPolicy(old_p)) => {
            // The status controller observes the generation the write makes.
            validating_policy::default_policy(p, 0);
            let generation = old_p.metadata.generation.unwrap_or(1) + i64::from(p.spec != old_p.spec);
            validating_policy::default_policy(p, generation);
        }
        (Object::ValidatingAdmissionPolicyBinding(b), _) => validating_policy::default_binding(b),
        _ => {}
    }
    Ok(())
}

/// Validating admission of a create, after the object's own validation
/// passed (ResourceQuota, the last plugin, is [`resource_quota`]).
pub fn validate_create(api: &ApiServer, obj: &Object) -> Result<(), ApiError> {
    limit_ranger::validate(api, obj, None)?;
    pod_security(api, obj, None)?;
    if let Object::Pod(pod) = obj {
        runtime_class::validate(api, pod)?;
    }
    if let Object::PriorityClass(pc) = obj {
        one_global_default(api, pc, false)?;
    }
    if let Object::CertificateSigningRequest(csr) = obj {
        certificate_subject_restriction(csr)?;
    }
    validating_policy::admit(api, &validating_policy::Request { operation: "CREATE", object: Some(obj), old_object: None, subresource: "" })
}

/// CertificateSubjectRestriction: no request to the kube-apiserver-client
/// signer may ask for the `system:masters` group.
fn certificate_subject_restriction(csr: &k8s_openapi::api::certificates::v1::CertificateSigningRequest) -> Result<(), ApiError> {
    use crate::engine::certificates as certs;
    if csr.spec.signer_name != certs::KUBE_APISERVER_CLIENT {
        return Ok(());
    }
    let request = certs::parse_request(&csr.spec.request.0).map_err(|e| ApiError::new(crate::engine::api::Reason::InternalError, format!("failed to parse CSR: {e}")))?;
    if request.organizations.iter().any(|o| o == "system:masters") {
        let name = csr.metadata.name.as_deref().unwrap_or("");
        return Err(ApiError::new(
            crate::engine::api::Reason::Forbidden,
            format!("certificatesigningrequests.certificates.k8s.io \"{name}\" is forbidden: use of {} signer with system:masters group is not allowed", certs::KUBE_APISERVER_CLIENT),
        ));
    }
    Ok(())
}

/// Validating admission, after the object's own validation passed.
pub fn validate_update(api: &ApiServer, obj: &Object, old: &Object) -> Result<(), ApiError> {
    limit_ranger::validate(api, obj, Some(old))?;
    pod_security(api, obj, Some(old))?;
    if let Object::PriorityClass(pc) = obj {
        one_global_default(api, pc, true)?;
    }
    if let (Object::PersistentVolumeClaim(pvc), Object::PersistentVolumeClaim(old_pvc)) = (obj, old) {
        persistent_volume_claim_resize(api, pvc, old_pvc)?;
    }
    validating_policy::admit(api, &validating_policy::Request { operation: "UPDATE", object: Some(obj), old_object: Some(old), subresource: api.served_update_subresource() })
}

/// PersistentVolumeClaimResize: a claim may only grow once bound, and only
/// if its class allows expansion.
fn persistent_volume_claim_resize(
    api: &ApiServer,
    pvc: &k8s_openapi::api::core::v1::PersistentVolumeClaim,
    old: &k8s_openapi::api::core::v1::PersistentVolumeClaim,
) -> Result<(), ApiError> {
    if storage::requested_storage(pvc) <= storage::requested_storage(old) {
        return Ok(());
    }
    let name = pvc.metadata.name.clone().unwrap_or_default();
    if storage::claim_phase(old) != "Bound" {
        return Err(forbidden("persistentvolumeclaims", &name, "Only bound persistent volume claims can be expanded"));
    }
    let class = storage::claim_class(pvc);
    let allowed = !class.is_empty()
        && class == storage::claim_class(old)
        && find_resource("storage.k8s.io", "storageclasses")
            .and_then(|rid| api.store.get(&ApiServer::key(rid, "", class)).map(|e| e.value.object()))
            .is_some_and(|o| matches!(&*o, Object::StorageClass(sc) if sc.allow_volume_expansion == Some(true)));
    if !allowed {
        return Err(forbidden(
            "persistentvolumeclaims",
            &name,
            "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        ));
    }
    Ok(())
}

/// PodSecurity (validating, before ResourceQuota): a pod its namespace's
/// enforce level forbids is refused; a pod or a workload's pod template
/// that breaks the warn level is warned about; a namespace's policy labels
/// must parse, and raising its enforce level warns about the pods already
/// there that would break it. The audit level's annotations go to an audit
/// log, which this API server does not keep.
pub fn pod_security(api: &ApiServer, obj: &Object, old: Option<&Object>) -> Result<(), ApiError> {
    use crate::engine::pod_security::{self as psa, Level};
    match obj {
        Object::Namespace(ns) => {
            let (policy, errors) = psa::policy_of(ns.metadata.labels.as_ref());
            let old_ns = match old {
                Some(Object::Namespace(old_ns)) => old_ns,
                _ => {
                    return if errors.is_empty() { Ok(()) } else { Err(super::invalid_error(obj, errors)) };
                }
            };
            let (old_policy, old_errors) = psa::policy_of(old_ns.metadata.labels.as_ref());
            if !errors.is_empty() && (old_errors.is_empty() || errors != old_errors) {
                return Err(super::invalid_error(obj, errors));
            }
            let (enforce, was) = (policy.enforce, old_policy.enforce);
            let loosened = enforce.version == was.version && enforce.level <= was.level;
            if enforce == was || enforce.level == Level::Privileged || loosened {
                return Ok(());
            }
            let namespace = ns.metadata.name.as_deref().unwrap_or("");
            for warning in pods_breaking(api, namespace, enforce) {
                api.warn(warning);
            }
            Ok(())
        }
        Object::Pod(pod) => {
            if let Some(Object::Pod(old_pod)) = old {
                if !significant_pod_update(pod, old_pod) {
                    return Ok(());
                }
            }
            let Some((policy, _)) = namespace_policy(api, obj) else { return Ok(()) };
            if policy.fully_privileged() {
                return Ok(());
            }
            let no_spec = PodSpec::default();
            let spec = pod.spec.as_deref().unwrap_or(&no_spec);
            let enforced = psa::evaluate(policy.enforce, &pod.metadata, spec);
            if !enforced.is_empty() {
                let why = format!("violates PodSecurity \"{}\": {}", policy.enforce, psa::details(&enforced));
                return Err(forbidden("pods", &pod_name(pod), why));
            }
            warn_pod_security(api, policy.warn, &pod.metadata, spec);
            Ok(())
        }
        _ => {
            // A workload's template only gets warnings (and audit lines),
            // which only the client sees; a write of its scale subresource
            // is not looked at (`ValidatePodController`).
            if !api.serving_client() || api.served_update_subresource() == "scale" {
                return Ok(());
            }
            let Some((meta, spec)) = pod_template_of(obj) else { return Ok(()) };
            let Some((policy, errors)) = namespace_policy(api, obj) else { return Ok(()) };
            if errors.is_empty() && policy.warn.level == Level::Privileged && policy.audit.level == Level::Privileged {
                return Ok(());
            }
            let meta = meta.cloned().unwrap_or_default();
            warn_pod_security(api, policy.warn, &meta, spec);
            Ok(())
        }
    }
}

fn warn_pod_security(api: &ApiServer, warn: crate::engine::pod_security::LevelVersion, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, spec: &PodSpec) {
    let broken = crate::engine::pod_security::evaluate(warn, meta, spec);
    if !broken.is_empty() {
        api.warn(format!("would violate PodSecurity \"{warn}\": {}", crate::engine::pod_security::details(&broken)));
    }
}

/// The Pod Security policy of an object's namespace, if it has labels for
/// one (a namespace without is privileged, and not looked at further).
fn namespace_policy(api: &ApiServer, obj: &Object) -> Option<(crate::engine::pod_security::Policy, Vec<crate::engine::api::Cause>)> {
    let namespace = obj.meta().namespace.as_deref()?;
    let entry = api.store.get(&ApiServer::key(ids::namespaces(), "", namespace))?;
    let stored = entry.value.object();
    let Object::Namespace(ns) = &*stored else { return None };
    let labels = ns.metadata.labels.as_ref();
    if !crate::engine::pod_security::has_policy_labels(labels) {
        return None;
    }
    Some(crate::engine::pod_security::policy_of(labels))
}

/// The pod template of the kinds PodSecurity looks into, with its metadata.
fn pod_template_of(obj: &Object) -> Option<(Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>, &PodSpec)> {
    let template = match obj {
        Object::PodTemplate(t) => t.template.as_ref()?,
        Object::ReplicationController(rc) => rc.spec.as_ref()?.template.as_ref()?,
        Object::ReplicaSet(rs) => rs.spec.as_ref()?.template.as_ref()?,
        Object::Deployment(d) => &d.spec.as_ref()?.template,
        Object::DaemonSet(ds) => &ds.spec.as_ref()?.template,
        Object::StatefulSet(sts) => &sts.spec.as_ref()?.template,
        Object::Job(job) => &job.spec.as_ref()?.template,
        Object::CronJob(cj) => &cj.spec.as_ref()?.job_template.spec.as_ref()?.template,
        _ => return None,
    };
    Some((template.metadata.as_ref(), template.spec.as_ref()?))
}

/// A pod update PodSecurity looks at again: containers added or removed,
/// or an image changed (`isSignificantPodUpdate`).
fn significant_pod_update(pod: &Pod, old: &Pod) -> bool {
    let (Some(spec), Some(old_spec)) = (pod.spec.as_deref(), old.spec.as_deref()) else { return true };
    let same_images = |a: &[k8s_openapi::api::core::v1::Container], b: &[k8s_openapi::api::core::v1::Container]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.image == y.image)
    };
    if !same_images(&spec.containers, &old_spec.containers)
        || !same_images(spec.init_containers.as_deref().unwrap_or(&[]), old_spec.init_containers.as_deref().unwrap_or(&[]))
    {
        return true;
    }
    let old_ephemeral = old_spec.ephemeral_containers.as_deref().unwrap_or(&[]);
    spec.ephemeral_containers.iter().flatten().any(|c| !old_ephemeral.iter().any(|o| o.name == c.name && o.image == c.image))
}

/// How many pods of a namespace PodSecurity checks against a new enforce level.
const NAMESPACE_MAX_PODS_TO_CHECK: usize = 3000;

/// The warnings for the pods of `namespace` that `enforce` would refuse
/// (`EvaluatePodsInNamespace`): one line per distinct set of reasons, named
/// by its first pod in name order with a count of the others.
fn pods_breaking(api: &ApiServer, namespace: &str, enforce: crate::engine::pod_security::LevelVersion) -> Vec<String> {
    let listed = list_in(api, ids::pods(), Some(namespace));
    let pods: Vec<&Pod> = listed.iter().filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None }).collect();
    // A pod of each controller first, then the rest, as the plugin checks them.
    let mut seen_controllers = BTreeSet::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for pod in pods {
        let controller = pod.metadata.owner_references.iter().flatten().find(|r| r.controller == Some(true)).map(|r| r.uid.as_str());
        match controller {
            Some(uid) if !seen_controllers.insert(uid) => rest.push(pod),
            _ => first.push(pod),
        }
    }
    first.extend(rest);
    let total = first.len();
    let checked = total.min(NAMESPACE_MAX_PODS_TO_CHECK);
    // reasons → (first pod name, count), in the order first met.
    let mut by_reasons: Vec<(String, String, usize)> = Vec::new();
    for pod in &first[..checked] {
        let no_spec = PodSpec::default();
        let broken = crate::engine::pod_security::evaluate(enforce, &pod.metadata, pod.spec.as_deref().unwrap_or(&no_spec));
        if broken.is_empty() {
            continue;
        }
        let reasons = crate::engine::pod_security::reasons(&broken);
        let name = pod_name(pod);
        match by_reasons.iter_mut().find(|(r, _, _)| *r == reasons) {
            Some((_, first_name, count)) => {
                if name < *first_name {
                    *first_name = name;
                }
                *count += 1;
            }
            None => by_reasons.push((reasons, name, 1)),
        }
    }
    let mut warnings = Vec::new();
    if checked < total {
        warnings.push(format!("new PodSecurity enforce level only checked against the first {checked} of {total} existing pods"));
    }
    if !by_reasons.is_empty() {
        warnings.push(format!("existing pods in namespace \"{namespace}\" violate the new PodSecurity enforce level \"{enforce}\""));
    }
    let mut pod_warnings: Vec<String> = by_reasons
        .into_iter()
        .map(|(reasons, name, count)| match count {
            1 => format!("{name}: {reasons}"),
            2 => format!("{name} (and 1 other pod): {reasons}"),
            n => format!("{name} (and {} other pods): {reasons}", n - 1),
        })
        .collect();
    pod_warnings.sort();
    warnings.extend(pod_warnings);
    warnings
}

fn has_image_volumes(spec: &PodSpec) -> bool {
    spec.volumes.iter().flatten().any(|v| v.image.is_some())
}

/// `dropImageVolumes` (`dropDisabledFields`, pods and every pod template):
/// 1.33 keeps the ImageVolume gate (beta) off, so `image` volumes and the
/// containers' mounts of them are dropped, unless the stored object had
/// some already. The pod is stored, and runs, without them.
fn drop_image_volumes(obj: &mut Object, in_use: bool) {
    let has = match &*obj {
        Object::Pod(pod) => pod.spec.as_deref().is_some_and(has_image_volumes),
        other => pod_template_of(other).is_some_and(|(_, spec)| has_image_volumes(spec)),
    };
    if in_use || !has {
        return;
    }
    let spec = match obj {
        Object::Pod(pod) => Some(pod.spec_mut()),
        Object::PodTemplate(t) => t.template.as_mut().and_then(|t| t.spec.as_mut()),
        Object::ReplicationController(rc) => rc.spec.as_mut().and_then(|s| s.template.as_mut()).and_then(|t| t.spec.as_mut()),
        Object::ReplicaSet(rs) => rs.spec_mut().template.as_mut().and_then(|t| t.spec.as_mut()),
        Object::Deployment(d) => d.spec_mut().template.spec.as_mut(),
        Object::DaemonSet(ds) => ds.spec_mut().template.spec.as_mut(),
        Object::StatefulSet(sts) => sts.spec_mut().template.spec.as_mut(),
        Object::Job(job) => job.spec_mut().template.spec.as_mut(),
        Object::CronJob(cj) => cj.spec.as_mut().and_then(|s| s.job_template.spec.as_mut()).and_then(|j| j.template.spec.as_mut()),
        _ => None,
    };
    let Some(spec) = spec else { return };
    let dropped: Vec<String> = spec.volumes.iter().flatten().filter(|v| v.image.is_some()).map(|v| v.name.clone()).collect();
    if let Some(volumes) = spec.volumes.as_mut() {
        volumes.retain(|v| v.image.is_none());
    }
    if spec.volumes.as_ref().is_some_and(Vec::is_empty) {
        spec.volumes = None;
    }
    let keep = |mounts: &mut Option<Vec<k8s_openapi::api::core::v1::VolumeMount>>| {
        if let Some(list) = mounts.as_mut() {
            list.retain(|m| !dropped.contains(&m.name));
            if list.is_empty() {
                *mounts = None;
            }
        }
    };
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        keep(&mut c.volume_mounts);
    }
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        keep(&mut c.volume_mounts);
    }
}

/// A DaemonSet's `spec.templateGeneration`, which apps/v1 carries as this annotation.
pub const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// The StatefulSet strategy's `dropStatefulSetDisabledFields`: 1.33 keeps
/// the MaxUnavailableStatefulSet gate (alpha) off, so a rolling update's
/// `maxUnavailable` is dropped unless the stored object already had one.
fn drop_stateful_set_max_unavailable(sts: &mut crate::engine::api::shared_spec::StatefulSet, in_use: bool) {
    if in_use || !has_max_unavailable(sts) {
        return;
    }
    if let Some(rolling) = sts.spec_mut().update_strategy.as_mut().and_then(|u| u.rolling_update.as_mut()) {
        rolling.max_unavailable = None;
    }
}

fn has_max_unavailable(sts: &crate::engine::api::shared_spec::StatefulSet) -> bool {
    sts.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.rolling_update.as_ref()).is_some_and(|r| r.max_unavailable.is_some())
}

fn template_generation(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> i64 {
    meta.annotations.as_ref().and_then(|a| a.get(TEMPLATE_GENERATION)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn set_template_generation(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, generation: i64) {
    meta.annotations.get_or_insert_with(BTreeMap::new).insert(TEMPLATE_GENERATION.to_string(), generation.to_string());
}

/// The Priority plugin's `validatePriorityClass`: a class may be marked the
/// global default only while no other class is (of several, the lowest
/// valued is named).
pub fn one_global_default(api: &ApiServer, pc: &k8s_openapi::api::scheduling::v1::PriorityClass, update: bool) -> Result<(), ApiError> {
    if pc.global_default != Some(true) {
        return Ok(());
    }
    let classes = list_in(api, ids::priority_classes(), None);
    let mut default: Option<&k8s_openapi::api::scheduling::v1::PriorityClass> = None;
    for o in &classes {
        if let Object::PriorityClass(other) = &**o {
            if other.global_default == Some(true) && default.is_none_or(|d| d.value > other.value) {
                default = Some(other);
            }
        }
    }
    let name = pc.metadata.name.as_deref().unwrap_or("");
    match default.and_then(|d| d.metadata.name.as_deref()) {
        Some(existing) if !update || existing != name => {
            Err(forbidden("priorityclasses.scheduling.k8s.io", name, format!("PriorityClass {existing} is already marked as default. Only one default can exist")))
        }
        _ => Ok(()),
    }
}

fn forbidden(qualified_plural: &str, name: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(Reason::Forbidden, format!("{qualified_plural} \"{name}\" is forbidden: {message}"))
}

/// The name a refusal gives a pod: before the registry makes one from
/// `generateName` (the mutating plugins), the prefix (`extractResourceName`).
fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().filter(|n| !n.is_empty()).or_else(|| pod.metadata.generate_name.clone()).unwrap_or_default()
}

fn add_finalizer(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, finalizer: &str) {
    let finalizers = meta.finalizers.get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|f| f == finalizer) {
        finalizers.push(finalizer.to_string());
    }
}

fn is_mirror_pod(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION))
}

/// The objects of one resource in one namespace (or cluster-wide), in key order.
/// Where the store keeps ResourceQuotas and LimitRanges: it counts their
/// keys, so a cluster without any is told so without a search.
const RESOURCE_QUOTAS_PREFIX: &str = crate::engine::store::COUNTED_PREFIXES[0];
const LIMIT_RANGES_PREFIX: &str = crate::engine::store::COUNTED_PREFIXES[1];

fn list_in(api: &ApiServer, resource_id: crate::engine::api::ResourceId, namespace: Option<&str>) -> Vec<std::rc::Rc<Object>> {
    let prefix = ApiServer::prefix(resource_id, namespace);
    api.store.range(&prefix).map(|(_, e)| e.value.object()).collect()
}

/// ResourceQuota, the last validating plugin: a new object is refused
/// (Forbidden) when a quota of its namespace has no room for it, or limits
/// cpu or memory that a container does not state; else each quota it
/// counts in, with its `status.used` then (see [`charge_quotas`]).
pub fn resource_quota(api: &ApiServer, obj: &Object) -> Result<Vec<(String, crate::engine::resource_quota::Usage)>, ApiError> {
    let rt = crate::engine::api::resource(obj.resource_id());
    if !rt.namespaced {
        return Ok(Vec::new());
    }
    if !api.store.holds_any_under(RESOURCE_QUOTAS_PREFIX) {
        return Ok(Vec::new());
    }
    let held = list_in(api, ids::resource_quotas(), obj.meta().namespace.as_deref());
    let quotas: Vec<&k8s_openapi::api::core::v1::ResourceQuota> = held
        .iter()
        .filter_map(|o| match &**o {
            Object::ResourceQuota(q) => Some(&**q),
            _ => None,
        })
        .collect();
    if quotas.is_empty() {
        return Ok(Vec::new());
    }
    crate::engine::resource_quota::admit(&quotas, obj, api.now()).map_err(|why| forbidden(&rt.qualified_plural(), obj.meta().name.as_deref().unwrap_or(""), why))
}

/// Writes the quotas' new `status.used`, as the admission plugin does
/// before the object is stored.
pub fn charge_quotas(api: &mut ApiServer, namespace: &str, charges: Vec<(String, crate::engine::resource_quota::Usage)>) -> Result<(), ApiError> {
    for (quota, used) in charges {
        api.modify(ids::resource_quotas(), namespace, &quota, true, |o| {
            let Object::ResourceQuota(q) = o else { return false };
            let used = used.iter().map(|(n, q)| (n.clone(), k8s_openapi::apimachinery::pkg::api::resource::Quantity(q.canonical()))).collect();
            q.status.get_or_insert_with(Default::default).used = Some(used);
            true
        })?;
    }
    Ok(())
}

/// ServiceAccount: defaults the account to `default`, requires it to exist,
/// mounts the projected API credentials into every container.
fn service_account(api: &mut ApiServer, pod: &mut Pod) -> Result<(), ApiError> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod_name(pod);
    let mirror = is_mirror_pod(pod);
    let spec = pod.spec_mut();
    if mirror {
        if spec.service_account_name.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(forbidden("pods", &name, "a mirror pod may not reference service accounts"));
        }
        return Ok(());
    }
    let account_name = match spec.service_account_name.clone().filter(|s| !s.is_empty()) {
        Some(n) => n,
        None => {
            spec.service_account_name = Some("default".to_string());
            spec.service_account = Some("default".to_string());
            "default".to_string()
        }
    };
    let key = ApiServer::key(ids::service_accounts(), &namespace, &account_name);
    let account = match api.store.get(&key).map(|e| e.value.object()) {
        Some(obj) => match &*obj {
            Object::ServiceAccount(sa) => sa.clone(),
            _ => return Err(ApiError::new(Reason::InternalError, "unexpected object in service account storage")),
        },
        None => {
            return Err(forbidden(
                "pods",
                &name,
                format!("error looking up service account {namespace}/{account_name}: serviceaccount \"{account_name}\" not found"),
            ))
        }
    };
    let automount = spec.automount_service_account_token.or(account.automount_service_account_token).unwrap_or(true);
    if automount {
        let suffix = api.random_suffix(5);
        mount_service_account_token(spec, &["kube-api-access-", suffix.as_str()].concat());
    }
    if spec.image_pull_secrets.as_ref().is_none_or(Vec::is_empty) {
        if let Some(secrets) = account.image_pull_secrets.filter(|s| !s.is_empty()) {
            spec.image_pull_secrets = Some(secrets);
        }
    }
    Ok(())
}

/// The projected volume the ServiceAccount plugin adds: a bound token, the
/// cluster CA and the pod's namespace.
pub fn token_volume_source() -> ProjectedVolumeSource {
    ProjectedVolumeSource {
        default_mode: Some(defaults::DEFAULT_VOLUME_MODE),
        sources: Some(vec![
            VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    // One hour and seven seconds: the marker of a token the kubelet refreshes.
                    expiration_seconds: Some(3607),
                    path: "token".to_string(),
                    audience: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: "kube-root-ca.crt".to_string(),
                    items: Some(vec![KeyToPath { key: "ca.crt".to_string(), path: "ca.crt".to_string(), mode: None }]),
                    optional: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                downward_api: Some(DownwardAPIProjection {
                    items: Some(vec![DownwardAPIVolumeFile {
                        path: "namespace".to_string(),
                        field_ref: Some(ObjectFieldSelector {
                            api_version: Some("v1".to_string()),
                            field_path: "metadata.namespace".to_string(),
                        }),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            },
        ]),
    }
}

fn mount_service_account_token(spec: &mut PodSpec, generated_name: &str) {
    let existing = spec.volumes.iter().flatten().find(|v| v.name.starts_with("kube-api-access-")).map(|v| v.name.clone());
    let has_volume = existing.is_some();
    let volume_name = existing.unwrap_or_else(|| generated_name.to_string());
    let mount = VolumeMount {
        name: volume_name.clone(),
        read_only: Some(true),
        mount_path: SERVICE_ACCOUNT_MOUNT_PATH.to_string(),
        ..Default::default()
    };
    let mut needs_volume = false;
    let containers = spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut());
    for container in containers {
        let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
        // A mount of its own at the credentials path opts a container out.
        if !mounts.iter().any(|m| m.mount_path == SERVICE_ACCOUNT_MOUNT_PATH) {
            // Sized exactly (see `exact_push`).
            exact_push(mounts, mount.clone());
            needs_volume = true;
        }
    }
    if !has_volume && needs_volume {
        exact_push(spec.volumes.get_or_insert_with(Vec::new), Volume {
            name: volume_name,
            projected: Some(token_volume_source()),
            ..Default::default()
        });
    }
}

/// Priority: resolves `priorityClassName` (or the global default class)
/// into `priority` and `preemptionPolicy`.
fn priority(api: &ApiServer, pod: &mut Pod) -> Result<(), ApiError> {
    let name = pod_name(pod);
    let spec = pod.spec_mut();
    let classes = list_in(api, ids::priority_classes(), None);
    let (value, policy) = match spec.priority_class_name.clone().filter(|s| !s.is_empty()) {
        Some(class_name) => {
            let found = classes.iter().find_map(|o| match &**o {
                Object::PriorityClass(pc) if pc.metadata.name.as_deref() == Some(class_name.as_str()) => Some(pc.clone()),
                _ => None,
            });
            let Some(pc) = found else {
                return Err(forbidden("pods", &name, format!("no PriorityClass with name {class_name} was found")));
            };
            (pc.value, pc.preemption_policy.clone())
        }
        None => {
            // The oldest global default wins when several claim it, as the plugin sorts them.
            let default_class = classes
                .iter()
                .filter_map(|o| match &**o {
                    Object::PriorityClass(pc) if pc.global_default == Some(true) => Some(pc.clone()),
                    _ => None,
                })
                .min_by_key(|pc| (pc.value, pc.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second())));
            match default_class {
                Some(pc) => {
                    spec.priority_class_name = pc.metadata.name.clone();
                    (pc.value, pc.preemption_policy.clone())
                }
                None => (0, Some("PreemptLowerPriority".to_string())),
            }
        }
    };
    if let Some(given) = spec.priority {
        if given != value {
            return Err(forbidden(
                "pods",
                &name,
                format!("the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"),
            ));
        }
    }
    spec.priority = Some(value);
    if let Some(policy) = policy {
        if let Some(given) = spec.preemption_policy.as_deref().filter(|p| *p != policy) {
            return Err(forbidden(
                "pods",
                &name,
                format!("the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"),
            ));
        }
        spec.preemption_policy = Some(policy);
    }
    Ok(())
}

/// TaintNodesByCondition: a new node is `node.kubernetes.io/not-ready:NoSchedule`
/// until the node lifecycle controller sees it Ready, so nothing is
/// scheduled to it before its network works.
fn taint_nodes_by_condition(node: &mut k8s_openapi::api::core::v1::Node) {
    let taints = node.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new);
    if !taints.iter().any(|t| t.key == "node.kubernetes.io/not-ready" && t.effect == "NoSchedule") {
        taints.push(k8s_openapi::api::core::v1::Taint { key: "node.kubernetes.io/not-ready".into(), effect: "NoSchedule".into(), value: None, time_added: None });
    }
}

/// Appends to a list of the pod's spec keeping it sized exactly: a push
/// onto an empty list keeps room for four. The binding copies the spec
/// (sized exactly, as any clone), and while the pending version's lists
/// were larger their freed blocks could not take the copy's, so every
/// binding took fresh memory for them.
fn exact_push<T>(list: &mut Vec<T>, item: T) {
    list.reserve_exact(1);
    list.push(item);
}

/// DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node
/// for five minutes before they are evicted.
fn default_toleration_seconds(spec: &mut PodSpec) {
    const NOT_READY: &str = "node.kubernetes.io/not-ready";
    const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    let tolerates = |key: &str, t: &Toleration| {
        let key_matches = t.key.as_deref().is_none_or(|k| k.is_empty() || k == key);
        let effect_matches = t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "NoExecute");
        key_matches && effect_matches
    };
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let missing = [NOT_READY, UNREACHABLE].map(|key| !tolerations.iter().any(|t| tolerates(key, t)));
    // Sized exactly (see `exact_push`).
    tolerations.reserve_exact(missing.iter().filter(|&&m| m).count());
    for (key, missing) in [NOT_READY, UNREACHABLE].into_iter().zip(missing) {
        if missing {
            tolerations.push(Toleration {
                key: Some(key.to_string()),
                operator: Some("Exists".to_string()),
                effect: Some("NoExecute".to_string()),
                toleration_seconds: Some(300),
                value: None,
            });
        }
    }
}

/// DefaultIngressClass: an Ingress that names no class (neither
/// `ingressClassName` nor the `kubernetes.io/ingress.class` annotation)
/// gets the IngressClass annotated as default, the newest if several are
/// (the first by name among those created in the same second).
fn default_ingress_class(api: &ApiServer, ing: &mut k8s_openapi::api::networking::v1::Ingress) {
    let spec = ing.spec.get_or_insert_with(Default::default);
    if spec.ingress_class_name.is_some() || ing.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/ingress.class")) {
        return;
    }
    let Some(classes) = find_resource("networking.k8s.io", "ingressclasses") else { return };
    let listed = list_in(api, classes, None);
    let newest = listed
        .iter()
        .filter_map(|o| match &**o {
            Object::IngressClass(c) if c.metadata.annotations.as_ref().and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class")).is_some_and(|v| v == "true") => Some(&c.metadata),
            _ => None,
        })
        // Key order is name order: a later class wins only when strictly newer.
        .fold(None, |best: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>, m| match best {
            Some(b) if b.creation_timestamp.as_ref().map(|t| t.0) >= m.creation_timestamp.as_ref().map(|t| t.0) => Some(b),
            _ => Some(m),
        });
    if let Some(name) = newest.and_then(|m| m.name.clone()) {
        spec.ingress_class_name = Some(name);
    }
}

/// DefaultStorageClass: a claim that names no class (neither
/// `storageClassName` nor the beta annotation) gets the default one, the
/// newest if several are marked.
fn default_storage_class(api: &ApiServer, pvc: &mut k8s_openapi::api::core::v1::PersistentVolumeClaim) {
    if storage::claim_has_class(pvc) {
        return;
    }
    let Some(classes) = find_resource("storage.k8s.io", "storageclasses") else { return };
    let listed = list_in(api, classes, None);
    let all = listed.iter().filter_map(|o| match &**o {
        Object::StorageClass(sc) => Some(&**sc),
        _ => None,
    });
    if let Some(name) = storage::default_class(all).and_then(|c| c.metadata.name.clone()) {
        pvc.spec.get_or_insert_with(Default::default).storage_class_name = Some(name);
    }
}

/// The pod strategy's `PrepareForCreate`: status starts Pending with its QoS
/// class, and each pod (anti-)affinity term's label keys join its selector.
fn prepare_pod_for_create(pod: &mut Pod) {
    mutate_pod_affinity(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let mut status = k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Pending".to_string()),
        qos_class: Some(pod_qos_class(&spec).to_string()),
        ..Default::default()
    };
    if spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()) {
        status.conditions = Some(vec![PodCondition {
            type_: "PodScheduled".to_string(),
            status: "False".to_string(),
            reason: Some("SchedulingGated".to_string()),
            message: Some("Scheduling is blocked due to non-empty scheduling gates".to_string()),
            ..Default::default()
        }]);
    }
    pod.status = Some(std::rc::Rc::new(status.into()));
}

/// `mutatePodAffinity` (MatchLabelKeysInPodAffinity, on in 1.33): each pod
/// (anti-)affinity term with a label selector gets `key In (value)` for each
/// `matchLabelKeys` key and `key NotIn (value)` for each `mismatchLabelKeys`
/// key the pod has a label for, so the scheduler matches on them.
fn mutate_pod_affinity(pod: &mut Pod) {
    let has_keys = |t: &k8s_openapi::api::core::v1::PodAffinityTerm| t.label_selector.is_some() && (t.match_label_keys.as_ref().is_some_and(|k| !k.is_empty()) || t.mismatch_label_keys.as_ref().is_some_and(|k| !k.is_empty()));
    let Some(affinity) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else { return };
    let terms = |required: Option<&Vec<k8s_openapi::api::core::v1::PodAffinityTerm>>, preferred: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>| required.into_iter().flatten().any(has_keys) || preferred.into_iter().flatten().any(|w| has_keys(&w.pod_affinity_term));
    let wanted = affinity.pod_affinity.as_ref().is_some_and(|a| terms(a.required_during_scheduling_ignored_during_execution.as_ref(), a.preferred_during_scheduling_ignored_during_execution.as_ref()))
        || affinity.pod_anti_affinity.as_ref().is_some_and(|a| terms(a.required_during_scheduling_ignored_during_execution.as_ref(), a.preferred_during_scheduling_ignored_during_execution.as_ref()));
    if !wanted {
        return;
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let apply = |term: &mut k8s_openapi::api::core::v1::PodAffinityTerm| {
        let Some(selector) = term.label_selector.as_mut() else { return };
        for (keys, operator) in [(&term.match_label_keys, "In"), (&term.mismatch_label_keys, "NotIn")] {
            for key in keys.iter().flatten() {
                if let Some(value) = labels.get(key) {
                    selector.match_expressions.get_or_insert_with(Vec::new).push(k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement { key: key.clone(), operator: operator.to_string(), values: Some(vec![value.clone()]) });
                }
            }
        }
    };
    let Some(affinity) = pod.spec_mut().affinity.as_mut() else { return };
    // Preferred terms first, then required, as the strategy walks them.
    if let Some(a) = affinity.pod_affinity.as_mut() {
        a.preferred_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(|w| apply(&mut w.pod_affinity_term));
        a.required_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(&apply);
    }
    if let Some(a) = affinity.pod_anti_affinity.as_mut() {
        a.preferred_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(|w| apply(&mut w.pod_affinity_term));
        a.required_during_scheduling_ignored_during_execution.iter_mut().flatten().for_each(&apply);
    }
}

/// The pod's QoS class from its containers' CPU and memory requests and limits.
pub fn pod_qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    for container in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let resources = container.resources.as_ref();
        for (name, q) in resources.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            let name = match name.as_str() {
                "cpu" => "cpu",
                "memory" => "memory",
                _ => continue,
            };
            if let Some(q) = parse_stored(q).filter(|q| q.nanos() > 0) {
                let sum = requests.get(name).map_or(q, |prev| prev.add(&q));
                requests.insert(name, sum);
            }
        }
        let mut found = (false, false);
        for (name, q) in resources.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            let name = match name.as_str() {
                "cpu" => "cpu",
                "memory" => "memory",
                _ => continue,
            };
            if let Some(q) = parse_stored(q).filter(|q| q.nanos() > 0) {
                if name == "cpu" {
                    found.0 = true;
                } else {
                    found.1 = true;
                }
                let sum = limits.get(name).map_or(q, |prev| prev.add(&q));
                limits.insert(name, sum);
            }
        }
        if !(found.0 && found.1) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        guaranteed = requests.iter().all(|(name, req)| limits.get(name).is_some_and(|lim| lim.nanos() == req.nanos()));
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The Job strategy's generated selector: the Job's uid, and the labels
/// that carry it on the pod template.
fn generate_job_selector(
    meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: &mut k8s_openapi::api::batch::v1::JobSpec,
) {
    let name = meta.name.clone().unwrap_or_default();
    let uid = meta.uid.clone().unwrap_or_default();
    let labels = spec.template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new);
    for key in ["job-name", "batch.kubernetes.io/job-name"] {
        labels.entry(key.to_string()).or_insert_with(|| name.clone());
    }
    for key in ["controller-uid", "batch.kubernetes.io/controller-uid"] {
        labels.entry(key.to_string()).or_insert_with(|| uid.clone());
    }
    let selector = spec.selector.get_or_insert_with(Default::default);
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .entry("batch.kubernetes.io/controller-uid".to_string())
        .or_insert(uid);
}

#[cfg(test)]
mod tests;
