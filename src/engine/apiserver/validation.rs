//! Validation with Kubernetes' field paths and messages. Each kind's checks
//! run in the order the real validators run them, so several causes come
//! back in the order a 1.33 server lists them.

mod autoscaling;
pub mod certificates;
mod endpoints;
mod go_json;
mod job_policies;
pub(crate) mod names;
mod networking;
mod pod;
mod policy;
mod rbac;
pub use pod::volume_source_names;
pub(super) mod service;
pub mod storage;
mod workloads;

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::engine::api::{Cause, Object};

pub use names::{config_map_key, dns1035_label, dns1123_label, dns1123_subdomain, label_value, qualified_name, wildcard_dns1123_subdomain};

/// A field path as validation walks down to a field (`spec.containers[0].name`),
/// written out only when an error names it: most objects are valid, and
/// a path made for every field checked was most of a pod's validation.
/// Shown as the `format!` it replaces wrote it.
#[derive(Clone, Copy, Debug)]
pub enum Path<'a> {
    Root(&'a str),
    /// `{parent}.{name}`
    Field(&'a Path<'a>, &'a str),
    /// `{parent}[{index}]`
    Index(&'a Path<'a>, usize),
    /// `{parent}[{key}]`
    Key(&'a Path<'a>, &'a str),
}

impl<'a> Path<'a> {
    pub fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(root) => f.write_str(root),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key}]"),
        }
    }
}

/// Collected field errors, formatted as `field.Error.ErrorBody()` does.
#[derive(Default, Debug)]
pub struct Errors(pub Vec<Cause>);

impl Errors {
    fn push<F: fmt::Display + ?Sized>(&mut self, field: &F, message: String) {
        self.0.push(Cause { field: field.to_string(), message });
    }
    pub fn required<F: fmt::Display + ?Sized>(&mut self, field: &F, detail: &str) {
        self.push(field, with_detail("Required value".to_string(), detail));
    }
    /// `value` is already formatted (see [`quote`], [`go_map`]).
    pub fn invalid<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str, detail: &str) {
        self.push(field, with_detail(format!("Invalid value: {value}"), detail));
    }
    pub fn invalid_str<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str, detail: &str) {
        self.invalid(field, &quote(value), detail);
    }
    pub fn invalid_int<F: fmt::Display + ?Sized>(&mut self, field: &F, value: i64, detail: &str) {
        self.invalid(field, &value.to_string(), detail);
    }
    pub fn duplicate<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str) {
        self.push(field, format!("Duplicate value: {value}"));
    }
    pub fn not_found<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str) {
        self.push(field, format!("Not found: {value}"));
    }
    /// `value` is already formatted (Go's `%#v` of a non-string).
    pub fn unsupported_value<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str, supported: &[&str]) {
        let supported: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        self.push(field, format!("Unsupported value: {value}: supported values: {}", supported.join(", ")));
    }
    pub fn unsupported<F: fmt::Display + ?Sized>(&mut self, field: &F, value: &str, supported: &[&str]) {
        let supported: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        self.push(field, with_detail(format!("Unsupported value: {}", quote(value)), &format!("supported values: {}", supported.join(", "))));
    }
    pub fn forbidden<F: fmt::Display + ?Sized>(&mut self, field: &F, detail: &str) {
        self.push(field, with_detail("Forbidden".to_string(), detail));
    }
    pub fn too_long<F: fmt::Display + ?Sized>(&mut self, field: &F, max_bytes: usize) {
        self.push(field, format!("Too long: may not be more than {max_bytes} bytes"));
    }
    pub fn extend(&mut self, other: Errors) {
        self.0.extend(other.0);
    }
    /// An enum field: empty is `Required value`, anything else outside `supported` is `Unsupported value`.
    pub fn one_of<F: fmt::Display + ?Sized>(&mut self, field: &F, value: Option<&str>, supported: &[&str]) {
        match value.unwrap_or("") {
            "" => self.required(field, ""),
            v if supported.contains(&v) => {}
            v => self.unsupported(field, v, supported),
        }
    }
    pub fn non_negative<F: fmt::Display + ?Sized>(&mut self, field: &F, value: i64) {
        if value < 0 {
            self.invalid_int(field, value, "must be greater than or equal to 0");
        }
    }
}

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() {
        head
    } else {
        format!("{head}: {detail}")
    }
}

/// A string as Go's `%q` prints it.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `map[string]string` as Go's `%#v` prints it.
pub fn go_map(map: Option<&BTreeMap<String, String>>) -> String {
    match map {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// A `metav1.LabelSelector` as Go's `%#v` prints it.
pub fn go_label_selector(selector: &LabelSelector) -> String {
    let expressions = match &selector.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    let values = match &r.values {
                        None => "[]string(nil)".to_string(),
                        Some(v) => format!("[]string{{{}}}", v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")),
                    };
                    format!("v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}", quote(&r.key), quote(&r.operator))
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!("v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{expressions}}}", go_map(selector.match_labels.as_ref()))
}

/// Which name format a kind's `metadata.name` follows.
#[derive(Clone, Copy)]
pub enum NameRule {
    Subdomain,
    Label,
    Dns1035,
    /// RBAC objects: anything usable as a URL path segment.
    PathSegment,
}

fn name_rule(obj: &Object) -> NameRule {
    match obj {
        Object::Namespace(_) | Object::StatefulSet(_) => NameRule::Label,
        Object::Service(_) => NameRule::Dns1035,
        Object::Role(_) | Object::ClusterRole(_) | Object::RoleBinding(_) | Object::ClusterRoleBinding(_) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

fn name_messages(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    // A generateName may end in a dash; the generated suffix completes it.
    let masked;
    let name = if prefix && name.len() > 1 && name.ends_with('-') {
        masked = [&name[..name.len() - 1], "a"].concat();
        masked.as_str()
    } else {
        name
    };
    match rule {
        NameRule::Subdomain => dns1123_subdomain(name),
        NameRule::Label => dns1123_label(name),
        NameRule::Dns1035 => dns1035_label(name),
        NameRule::PathSegment => names::path_segment_name(name, prefix),
    }
}

pub fn validate_labels<F: fmt::Display + ?Sized>(labels: Option<&BTreeMap<String, String>>, field: &F, errs: &mut Errors) {
    for (key, value) in labels.into_iter().flatten() {
        for msg in qualified_name(key) {
            errs.invalid_str(field, key, &msg);
        }
        for msg in names::label_value(value) {
            errs.invalid_str(field, value, &msg);
        }
    }
}

const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

pub fn validate_annotations<F: fmt::Display + ?Sized>(annotations: Option<&BTreeMap<String, String>>, field: &F, errs: &mut Errors) {
    let Some(annotations) = annotations else { return };
    for key in annotations.keys() {
        for msg in qualified_name(&key.to_lowercase()) {
            errs.invalid_str(field, key, &msg);
        }
    }
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT);
    }
}

fn validate_object_meta(meta: &ObjectMeta, namespaced: bool, rule: NameRule, errs: &mut Errors) {
    if let Some(generate_name) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        for msg in name_messages(rule, generate_name, true) {
            errs.invalid_str("metadata.generateName", generate_name, &msg);
        }
    }
    match meta.name.as_deref().filter(|n| !n.is_empty()) {
        None => errs.required("metadata.name", "name or generateName is required"),
        Some(name) => {
            for msg in name_messages(rule, name, false) {
                errs.invalid_str("metadata.name", name, &msg);
            }
        }
    }
    if namespaced {
        match meta.namespace.as_deref().filter(|n| !n.is_empty()) {
            None => errs.required("metadata.namespace", ""),
            Some(ns) => {
                for msg in dns1123_label(ns) {
                    errs.invalid_str("metadata.namespace", ns, &msg);
                }
            }
        }
    } else if meta.namespace.as_deref().is_some_and(|n| !n.is_empty()) {
        errs.forbidden("metadata.namespace", "not allowed on this type");
    }
    errs.non_negative("metadata.generation", meta.generation.unwrap_or(0));
    validate_labels(meta.labels.as_ref(), "metadata.labels", errs);
    validate_annotations(meta.annotations.as_ref(), "metadata.annotations", errs);
    validate_owner_references(meta, errs);
    let finalizers = meta.finalizers.as_deref().unwrap_or_default();
    for finalizer in finalizers {
        for msg in qualified_name(finalizer) {
            errs.invalid_str("metadata.finalizers", finalizer, &msg);
        }
    }
    if finalizers.iter().any(|f| f == "orphan") && finalizers.iter().any(|f| f == "foregroundDeletion") {
        let list: Vec<String> = finalizers.iter().map(|f| quote(f)).collect();
        errs.invalid("metadata.finalizers", &format!("[]string{{{}}}", list.join(", ")), "finalizer orphan and foregroundDeletion cannot be both set");
    }
    validate_kube_finalizer_names(meta, errs);
}

/// `legacyValidateEvent` for an Event without `eventTime` (the core/v1
/// shape): its namespace must be its involved object's, or for a
/// cluster-scoped object empty or `default`.
fn validate_legacy_event_namespace(event: &k8s_openapi::api::core::v1::Event, errs: &mut Errors) {
    if event.event_time.is_some() {
        return;
    }
    let involved = event.involved_object.namespace.as_deref().unwrap_or("");
    let namespace = event.metadata.namespace.as_deref().unwrap_or("");
    let matches = if involved.is_empty() { namespace.is_empty() || namespace == "default" } else { namespace == involved };
    if !matches {
        errs.invalid_str("involvedObject.namespace", involved, "does not match event.namespace");
    }
}

/// `helper.IsStandardFinalizerName`.
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// `validateKubeFinalizerName`: a finalizer with no domain prefix must be
/// one of the standard ones.
fn validate_kube_finalizer_name<F: fmt::Display + ?Sized>(finalizer: &str, field: &F, errs: &mut Errors) {
    if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
        errs.invalid_str(field, finalizer, "name is neither a standard finalizer name nor is it fully qualified");
    }
}

/// The core API's `ValidateObjectMeta` and `ValidateObjectMetaUpdate` check
/// each of `metadata.finalizers` so, after apimachinery's checks.
fn validate_kube_finalizer_names(meta: &ObjectMeta, errs: &mut Errors) {
    let path = Path::Root("metadata");
    let path = path.field("finalizers");
    for (i, finalizer) in meta.finalizers.iter().flatten().enumerate() {
        validate_kube_finalizer_name(finalizer, &path.index(i), errs);
    }
}

/// `ValidateNamespace`'s `spec.finalizers` (create only: an update keeps the
/// stored spec, and the finalize subresource is the namespace controller's).
fn validate_namespace_finalizers(ns: &k8s_openapi::api::core::v1::Namespace, errs: &mut Errors) {
    let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.as_deref()).unwrap_or_default();
    for finalizer in finalizers {
        for msg in qualified_name(finalizer) {
            errs.invalid_str("spec.finalizers", finalizer, &msg);
        }
        validate_kube_finalizer_name(finalizer, "spec.finalizers", errs);
    }
}

fn validate_owner_references(meta: &ObjectMeta, errs: &mut Errors) {
    let mut first_controller: Option<String> = None;
    for reference in meta.owner_references.iter().flatten() {
        let field = "metadata.ownerReferences";
        let version = reference.api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.invalid_str(&format!("{field}.apiVersion"), &reference.api_version, "version must not be empty");
        }
        if reference.kind.is_empty() {
            errs.invalid_str(&format!("{field}.kind"), &reference.kind, "kind must not be empty");
        }
        if reference.name.is_empty() {
            errs.invalid_str(&format!("{field}.name"), &reference.name, "name must not be empty");
        }
        if reference.uid.is_empty() {
            errs.invalid_str(&format!("{field}.uid"), &reference.uid, "uid must not be empty");
        }
        if reference.controller == Some(true) {
            let current = [reference.kind.as_str(), "/", &reference.name].concat();
            match &first_controller {
                Some(first) => errs.invalid(
                    field,
                    "[]v1.OwnerReference{...}",
                    &format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"),
                ),
                None => first_controller = Some(current),
            }
        }
    }
}

fn validate_object_meta_update(meta: &ObjectMeta, old: &ObjectMeta, errs: &mut Errors) {
    validate_meta_against_stored(meta, old, errs);
    validate_labels(meta.labels.as_ref(), "metadata.labels", errs);
    validate_annotations(meta.annotations.as_ref(), "metadata.annotations", errs);
    validate_owner_references(meta, errs);
    validate_kube_finalizer_names(meta, errs);
}

/// The checks of a metadata update that compare it with the stored one
/// (finalizers while deleting, generation, name, namespace).
fn validate_meta_against_stored(meta: &ObjectMeta, old: &ObjectMeta, errs: &mut Errors) {
    if old.deletion_timestamp.is_some() {
        let old_finalizers: Vec<&String> = old.finalizers.iter().flatten().collect();
        let mut extra: Vec<&String> = meta.finalizers.iter().flatten().filter(|f| !old_finalizers.contains(f)).collect();
        extra.sort_stable();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| quote(f)).collect();
            errs.forbidden(
                "metadata.finalizers",
                &format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}", list.join(", ")),
            );
        }
    }
    if meta.generation.unwrap_or(0) < old.generation.unwrap_or(0) {
        errs.invalid_int("metadata.generation", meta.generation.unwrap_or(0), "must not be decremented");
    }
    if meta.name != old.name {
        errs.invalid_str("metadata.name", meta.name.as_deref().unwrap_or(""), "field is immutable");
    }
    if meta.namespace != old.namespace {
        errs.invalid_str("metadata.namespace", meta.namespace.as_deref().unwrap_or(""), "field is immutable");
    }
}

fn namespaced(obj: &Object) -> bool {
    crate::engine::api::resource(obj.resource_id()).namespaced
}

pub fn validate_create(obj: &Object) -> Vec<Cause> {
    let mut errs = Errors::default();
    validate_object_meta(obj.meta(), namespaced(obj), name_rule(obj), &mut errs);
    validate_kind(obj, &mut errs);
    if let Object::Pod(p) = obj {
        pod::validate_pod_create_extras(p, &mut errs);
    }
    match obj {
        Object::CustomResourceDefinition(crd) => errs.0.extend(super::custom::validate_crd(crd)),
        Object::Custom(o) => errs.0.extend(super::custom::validate_custom(o)),
        _ => {}
    }
    if let Object::PriorityClass(pc) = obj {
        validate_priority_class(pc, &mut errs);
    }
    if let Object::Ingress(ing) = obj {
        networking::validate_ingress_create(ing, &mut errs);
    }
    if let Object::Namespace(ns) = obj {
        validate_namespace_finalizers(ns, &mut errs);
    }
    if let Object::Event(event) = obj {
        validate_legacy_event_namespace(event, &mut errs);
    }
    if let Object::CertificateSigningRequest(csr) = obj {
        certificates::validate(csr, None, certificates::CsrWrite::Create, &mut errs);
    }
    errs.0
}

/// The highest value a PriorityClass not among the system ones may have
/// (`HighestUserDefinablePriority`).
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// The system PriorityClasses (name, value), none of them the global default.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i32); 2] = [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

/// `ValidatePriorityClass` (create only: an update is checked by
/// `ValidatePriorityClassUpdate` alone).
fn validate_priority_class(pc: &k8s_openapi::api::scheduling::v1::PriorityClass, errs: &mut Errors) {
    let name = pc.metadata.name.as_deref().unwrap_or("");
    if name.starts_with("system-") {
        // `IsKnownSystemPriorityClass`
        let global_default = pc.global_default.unwrap_or(false);
        let problem = match SYSTEM_PRIORITY_CLASSES.iter().find(|(known, _)| *known == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((known, value)) if *value != pc.value => Some(format!("value of {known} PriorityClass must be {value}")),
            Some((known, _)) if global_default => Some(format!("globalDefault of {known} PriorityClass must be false")),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            errs.forbidden("metadata.name", &format!("priority class names with 'system-' prefix are reserved for system use only. error: {problem}"));
        }
    } else if pc.value > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.forbidden("value", &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"));
    }
    if pc.preemption_policy.is_some() {
        errs.one_of("preemptionPolicy", pc.preemption_policy.as_deref(), &["PreemptLowerPriority", "Never"]);
    }
}

/// The checks on an object's own content, shared by create and update.
fn validate_kind(obj: &Object, errs: &mut Errors) {
    match obj {
        Object::Pod(p) => pod::validate_pod_spec(p.spec.as_deref(), p.node_name(), p.token_volume.as_deref(), p.affinity_node.as_deref(), "spec", errs),
        Object::PodTemplate(t) => {
            if let Some(template) = &t.template {
                pod::validate_pod_template(template, "template", errs);
            }
        }
        Object::Deployment(d) => workloads::validate_deployment(d, errs),
        Object::ReplicaSet(rs) => workloads::validate_replica_set(rs, errs),
        Object::ReplicationController(rc) => workloads::validate_replication_controller(rc, errs),
        Object::DaemonSet(ds) => workloads::validate_daemon_set(ds, errs),
        Object::StatefulSet(sts) => workloads::validate_stateful_set(sts, errs),
        Object::Job(job) => workloads::validate_job(job, errs),
        Object::CronJob(cj) => workloads::validate_cron_job(cj, errs),
        Object::Service(svc) => service::validate_service(svc, errs),
        Object::Endpoints(ep) => endpoints::validate_endpoints(ep, errs),
        Object::EndpointSlice(slice) => endpoints::validate_endpoint_slice(slice, errs),
        Object::ConfigMap(cm) => validate_config_map(cm, errs),
        Object::Secret(secret) => validate_secret(secret, errs),
        Object::PersistentVolumeClaim(pvc) => storage::validate_claim(pvc, errs),
        Object::PersistentVolume(pv) => storage::validate_volume(pv, errs),
        Object::StorageClass(sc) => storage::validate_storage_class(sc, errs),
        Object::HorizontalPodAutoscaler(hpa) => autoscaling::validate_horizontal_pod_autoscaler(hpa, errs),
        Object::LimitRange(lr) => policy::validate_limit_range(lr, errs),
        Object::ResourceQuota(quota) => policy::validate_resource_quota(quota, errs),
        Object::PodDisruptionBudget(pdb) => policy::validate_pod_disruption_budget(pdb, errs),
        Object::Ingress(ing) => networking::validate_ingress(ing, errs),
        Object::NetworkPolicy(np) => networking::validate_network_policy(np, errs),
        Object::RuntimeClass(class) => pod::validate_runtime_class(class, errs),
        Object::IngressClass(class) => networking::validate_ingress_class(class, errs),
        Object::ValidatingAdmissionPolicy(p) => super::admission::validating_policy::validate_policy(p, errs),
        Object::ValidatingAdmissionPolicyBinding(b) => super::admission::validating_policy::validate_binding(b, errs),
        Object::Node(node) => {
            validate_node_taints(node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or_default(), errs);
            validate_node_pod_cidrs(&node_pod_cidrs(node), errs);
        }
        Object::Role(role) => rbac::validate_role(role.rules.as_ref(), errs),
        Object::ClusterRole(role) => rbac::validate_cluster_role(role.rules.as_ref(), role.aggregation_rule.as_ref(), errs),
        Object::RoleBinding(binding) => rbac::validate_binding(&binding.role_ref, binding.subjects.as_ref(), true, errs),
        Object::ClusterRoleBinding(binding) => rbac::validate_binding(&binding.role_ref, binding.subjects.as_ref(), false, errs),
        _ => {}
    }
}

/// `validateNodeTaints`, as `ValidateNode` calls it on create and update:
/// under `metadata.taints` (its path, not the field's), each key a label
/// name, each value a label value, each effect one of the three, and no
/// two taints with one key and effect.
fn validate_node_taints(taints: &[k8s_openapi::api::core::v1::Taint], errs: &mut Errors) {
    const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    let path = Path::Root("metadata");
    let path = path.field("taints");
    for (i, taint) in taints.iter().enumerate() {
        let item = path.index(i);
        for msg in qualified_name(&taint.key) {
            errs.invalid_str(&item.field("key"), &taint.key, &msg);
        }
        let value = taint.value.as_deref().unwrap_or("");
        let msgs = label_value(value);
        if !msgs.is_empty() {
            errs.invalid_str(&item.field("value"), value, &msgs.join(";"));
        }
        errs.one_of(&item.field("effect"), Some(&taint.effect), &EFFECTS);
        if taints[..i].iter().any(|t| t.key == taint.key && t.effect == taint.effect) {
            // `field.Duplicate` of the internal `core.Taint`, printed with `%#v`.
            let time_added = if taint.time_added.is_some() { "(*v1.Time)(0xc000a1c0f0)" } else { "(*v1.Time)(nil)" };
            let shown = format!("core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{time_added}}}", quote(&taint.key), quote(value), quote(&taint.effect));
            errs.duplicate(&item, &format!("{shown}: taints must be unique by key and effect pair"));
        }
    }
}

/// A node's pod CIDRs as the API server holds them: `podCIDRs`, or the
/// single `podCIDR` a client set alone (`Convert_v1_NodeSpec_To_core_NodeSpec`).
fn node_pod_cidrs(node: &k8s_openapi::api::core::v1::Node) -> Vec<String> {
    let spec = node.spec.as_ref();
    match spec.and_then(|s| s.pod_cidrs.clone()).filter(|c| !c.is_empty()) {
        Some(cidrs) => cidrs,
        None => spec.and_then(|s| s.pod_cidr.clone()).filter(|c| !c.is_empty()).into_iter().collect(),
    }
}

/// `ValidateNode`'s pod CIDRs: each a CIDR; two or more only as one IPv4
/// and one IPv6 (`IsDualStackCIDRStrings`, whose parse error is an
/// internal error beside the family error), without duplicates.
fn validate_node_pod_cidrs(cidrs: &[String], errs: &mut Errors) {
    const VALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
    let parsed: Vec<Option<service::Cidr>> = cidrs.iter().map(|c| service::cidr(c)).collect();
    for (i, (text, block)) in cidrs.iter().zip(&parsed).enumerate() {
        if block.is_none() {
            errs.invalid_str(&format!("spec.podCIDRs[{i}]"), text, VALID_CIDR);
        }
    }
    if cidrs.len() < 2 {
        return;
    }
    let mut dual_stack = false;
    if let Some(i) = parsed.iter().position(Option::is_none) {
        // `netutils.ParseCIDRs`' error, as `field.InternalError` words it.
        errs.push("spec.podCIDRs", format!("Internal error: invalid PodCIDRs. failed to check with dual stack with error:invalid CIDR[{i}]: <nil> (invalid CIDR address: {})", cidrs[i]));
    } else {
        let v4 = parsed.iter().flatten().filter(|c| c.v4).count();
        dual_stack = v4 > 0 && v4 < parsed.len();
    }
    if !dual_stack || cidrs.len() > 2 {
        let quoted: Vec<String> = cidrs.iter().map(|c| quote(c)).collect();
        errs.invalid("spec.podCIDRs", &format!("[]string{{{}}}", quoted.join(", ")), "may specify no more than one CIDR for each IP family");
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, text) in cidrs.iter().enumerate() {
        if !seen.insert(text) {
            errs.duplicate(&format!("spec.podCIDRs[{i}]"), &quote(text));
        }
    }
}

pub fn validate_update(obj: &Object, old: &Object) -> Vec<Cause> {
    let mut errs = Errors::default();
    validate_object_meta_update(obj.meta(), old.meta(), &mut errs);
    match obj {
        Object::CustomResourceDefinition(crd) => errs.0.extend(super::custom::validate_crd(crd)),
        Object::Custom(o) => errs.0.extend(super::custom::validate_custom(o)),
        _ => {}
    }
    match (obj, old) {
        (Object::Pod(p), Object::Pod(old_pod)) => {
            // Pods validate their spec again, then what may change.
            pod::validate_pod_spec(p.spec.as_deref(), p.node_name(), p.token_volume.as_deref(), p.affinity_node.as_deref(), "spec", &mut errs);
            pod::validate_pod_update(p, old_pod, &mut errs);
        }
        // `ValidateServiceUpdate`, `ValidateConfigMapUpdate` and
        // `ValidateSecretUpdate` check what may not change before the object itself.
        (Object::Service(_), Object::Service(_))
        | (Object::ConfigMap(_), Object::ConfigMap(_))
        | (Object::Secret(_), Object::Secret(_))
        | (Object::IngressClass(_), Object::IngressClass(_)) => {
            validate_immutable_fields(obj, old, &mut errs);
            validate_kind(obj, &mut errs);
        }
        // `ValidateCertificateSigningRequestUpdate`: the request again, with what the stored one already breaks tolerated.
        (Object::CertificateSigningRequest(csr), Object::CertificateSigningRequest(old_csr)) => {
            certificates::validate(csr, Some(old_csr), certificates::CsrWrite::Update, &mut errs);
        }
        // `ValidateRuntimeClassUpdate`: the metadata and the handler, which may not change.
        (Object::RuntimeClass(class), Object::RuntimeClass(old_class)) => {
            if class.handler != old_class.handler {
                errs.invalid_str("handler", &class.handler, "field is immutable");
            }
        }
        _ => {
            // A CronJob's update rules differ from its create rules (TZ in an old schedule, no name limit).
            if !matches!(obj, Object::CronJob(_)) {
                validate_kind(obj, &mut errs);
            }
            validate_immutable_fields(obj, old, &mut errs);
        }
    }
    dedup(errs.0)
}

/// A write of a CSR's `status` or `approval` subresource
/// (`ValidateCertificateSigningRequestStatusUpdate`, `…ApprovalUpdate`).
pub fn validate_csr_write(
    csr: &k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    old: &k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    write: certificates::CsrWrite,
) -> Vec<Cause> {
    let mut errs = Errors::default();
    certificates::validate(csr, Some(old), write, &mut errs);
    validate_object_meta_update(&csr.metadata, &old.metadata, &mut errs);
    dedup(errs.0)
}

/// A write of `pods/resize` (`podResizeStrategy.ValidateUpdate`): the
/// metadata update and the spec, then `ValidatePodResize`.
pub fn validate_resize(pod: &crate::engine::api::pod::Pod, old: &crate::engine::api::pod::Pod) -> Vec<Cause> {
    let mut errs = Errors::default();
    validate_object_meta_update(&pod.metadata, &old.metadata, &mut errs);
    pod::validate_pod_spec(pod.spec.as_deref(), pod.node_name(), pod.token_volume.as_deref(), pod.affinity_node.as_deref(), "spec", &mut errs);
    pod::validate_pod_resize(pod, old, &mut errs);
    dedup(errs.0)
}

/// `ValidatePodEphemeralContainersUpdate`: the pod as a whole, then (a
/// static pod's mirror refused outright) the ephemeral containers kept.
pub fn validate_ephemeral_update(pod: &crate::engine::api::pod::Pod, old: &crate::engine::api::pod::Pod) -> Vec<Cause> {
    let mut errs = Errors::default();
    validate_object_meta_update(&pod.metadata, &old.metadata, &mut errs);
    pod::validate_pod_spec(pod.spec.as_deref(), pod.node_name(), pod.token_volume.as_deref(), pod.affinity_node.as_deref(), "spec", &mut errs);
    if old.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")) {
        let mut only = Errors::default();
        // `field.NewPath("")`, which the error prints as `[]`.
        only.forbidden("[]", "static pods do not support ephemeral containers");
        return only.0;
    }
    pod::validate_ephemeral_containers_kept(pod, old, &mut errs);
    dedup(errs.0)
}

/// A status write (`pods/status`, `replicasets/status` and the like),
/// whose metadata and spec are the stored ones. It checks the metadata
/// update only, as each kind's `Validate…StatusUpdate` does before its
/// status rules (none of which this model enforces): the spec is not
/// validated again. Every ReplicaSet and Deployment status write, one per
/// pod that becomes ready, validated its whole pod template again.
pub fn validate_status_update(obj: &Object, old: &Object) -> Vec<Cause> {
    // `ValidateCertificateSigningRequestStatusUpdate`: a signer's write is the one status rule modelled.
    if let (Object::CertificateSigningRequest(csr), Object::CertificateSigningRequest(old_csr)) = (obj, old) {
        return validate_csr_write(csr, old_csr, certificates::CsrWrite::Status);
    }
    let (meta, old_meta) = (obj.meta(), old.meta());
    // The stored metadata, which passed these checks when it was written,
    // is what a status write keeps: its labels, annotations and owners are
    // not checked again, key by key, on every kubelet status write.
    if meta.labels == old_meta.labels && meta.annotations == old_meta.annotations && meta.owner_references == old_meta.owner_references {
        let mut errs = Errors::default();
        validate_meta_against_stored(meta, old_meta, &mut errs);
        return dedup(errs.0);
    }
    let mut errs = Errors::default();
    validate_object_meta_update(meta, old_meta, &mut errs);
    dedup(errs.0)
}

/// The aggregate error a Status carries lists each message once.
fn dedup(causes: Vec<Cause>) -> Vec<Cause> {
    let mut seen = std::collections::BTreeSet::new();
    causes.into_iter().filter(|c| seen.insert((c.field.clone(), c.message.clone()))).collect()
}

fn validate_immutable_fields(obj: &Object, old: &Object, errs: &mut Errors) {
    match (obj, old) {
        (Object::Deployment(d), Object::Deployment(o)) => {
            workloads::immutable_selector(d.spec.as_ref().map(|s| &s.selector), o.spec.as_ref().map(|s| &s.selector), errs)
        }
        (Object::ReplicaSet(d), Object::ReplicaSet(o)) => {
            workloads::immutable_selector(d.spec.as_ref().map(|s| &s.selector), o.spec.as_ref().map(|s| &s.selector), errs)
        }
        (Object::DaemonSet(d), Object::DaemonSet(o)) => {
            workloads::immutable_selector(d.spec.as_ref().map(|s| &s.selector), o.spec.as_ref().map(|s| &s.selector), errs)
        }
        (Object::StatefulSet(d), Object::StatefulSet(o)) => workloads::validate_stateful_set_update(d, o, errs),
        (Object::CronJob(d), Object::CronJob(o)) => workloads::validate_cron_job_update(d, o, errs),
        // `ValidatePriorityClassUpdate`: value and preemptionPolicy are immutable.
        (Object::PriorityClass(d), Object::PriorityClass(o)) => {
            if d.value != o.value {
                errs.forbidden("value", "may not be changed in an update.");
            }
            if d.preemption_policy != o.preemption_policy {
                match d.preemption_policy.as_deref() {
                    Some(policy) => errs.invalid_str("preemptionPolicy", policy, "field is immutable"),
                    None => errs.invalid("preemptionPolicy", "null", "field is immutable"),
                }
            }
        }
        (Object::Job(d), Object::Job(o)) => workloads::validate_job_update(d, o, errs),
        // `ValidateNodeUpdate`: pod CIDRs may be set once, from none, and
        // then never changed (one error per changed entry, told once).
        (Object::Node(d), Object::Node(o)) => {
            let (new_cidrs, old_cidrs) = (node_pod_cidrs(d), node_pod_cidrs(o));
            if !old_cidrs.is_empty() && new_cidrs != old_cidrs {
                errs.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid");
            }
        }
        (Object::Service(d), Object::Service(o)) => service::validate_service_update(d, o, errs),
        (Object::IngressClass(d), Object::IngressClass(o)) => networking::validate_ingress_class_update(d, o, errs),
        (Object::ConfigMap(d), Object::ConfigMap(o)) => {
            if o.immutable == Some(true) {
                if d.immutable != Some(true) {
                    errs.forbidden("immutable", "field is immutable when `immutable` is set");
                }
                if d.data != o.data {
                    errs.forbidden("data", "field is immutable when `immutable` is set");
                }
                if d.binary_data != o.binary_data {
                    errs.forbidden("binaryData", "field is immutable when `immutable` is set");
                }
            }
        }
        (Object::Secret(d), Object::Secret(o)) => {
            if d.type_ != o.type_ {
                errs.invalid_str("type", d.type_.as_deref().unwrap_or(""), "field is immutable");
            }
            if o.immutable == Some(true) {
                if d.immutable != Some(true) {
                    errs.forbidden("immutable", "field is immutable when `immutable` is set");
                }
                if d.data != o.data {
                    errs.forbidden("data", "field is immutable when `immutable` is set");
                }
            }
        }
        (Object::PersistentVolumeClaim(d), Object::PersistentVolumeClaim(o)) => storage::validate_claim_update(d, o, errs),
        (Object::PersistentVolume(d), Object::PersistentVolume(o)) => storage::validate_volume_update(d, o, errs),
        (Object::StorageClass(d), Object::StorageClass(o)) => storage::validate_storage_class_update(d, o, errs),
        (Object::RoleBinding(d), Object::RoleBinding(o)) => rbac::validate_role_ref_unchanged(&d.role_ref, &o.role_ref, errs),
        (Object::ClusterRoleBinding(d), Object::ClusterRoleBinding(o)) => rbac::validate_role_ref_unchanged(&d.role_ref, &o.role_ref, errs),
        _ => {}
    }
}

const MAX_DATA_SIZE: usize = 1024 * 1024;

fn validate_data_key(key: &str, field: &str, errs: &mut Errors) {
    for msg in names::config_map_key(key) {
        errs.invalid_str(field, key, &msg);
    }
}

fn validate_config_map(cm: &k8s_openapi::api::core::v1::ConfigMap, errs: &mut Errors) {
    let mut total = 0usize;
    for (key, value) in cm.data.iter().flatten() {
        validate_data_key(key, &format!("data[{key}]"), errs);
        total += value.len();
    }
    for (key, value) in cm.binary_data.iter().flatten() {
        validate_data_key(key, &format!("binaryData[{key}]"), errs);
        if cm.data.as_ref().is_some_and(|d| d.contains_key(key)) {
            errs.invalid_str(&format!("data[{key}]"), key, "duplicate of key present in binaryData");
        }
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        errs.too_long("", MAX_DATA_SIZE);
    }
}

/// `ValidateSecret`, on the Secret as decoding left it: `stringData`
/// already merged into `data`, so its keys and values are checked as data.
fn validate_secret(secret: &k8s_openapi::api::core::v1::Secret, errs: &mut Errors) {
    let empty = BTreeMap::new();
    let data = secret.data.as_ref().unwrap_or(&empty);
    let mut total = 0usize;
    for (key, value) in data {
        validate_data_key(key, &format!("data[{key}]"), errs);
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        errs.too_long("data", MAX_DATA_SIZE);
    }
    match secret.type_.as_deref().unwrap_or("") {
        "kubernetes.io/service-account-token" => {
            let annotations = secret.metadata.annotations.as_ref();
            if annotations.and_then(|a| a.get("kubernetes.io/service-account.name")).is_none_or(String::is_empty) {
                errs.required("metadata.annotations[kubernetes.io/service-account.name]", "");
            }
        }
        kind @ ("kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson") => {
            let key = if kind == "kubernetes.io/dockercfg" { ".dockercfg" } else { ".dockerconfigjson" };
            match data.get(key) {
                None => errs.required(&format!("data[{key}]"), ""),
                Some(config) => {
                    if let Some(error) = go_json::unmarshal_map_error(&config.0) {
                        errs.invalid(&format!("data[{key}]"), "\"<secret contents redacted>\"", &error);
                    }
                }
            }
        }
        "kubernetes.io/basic-auth" => {
            // Either may be empty, but one must be there.
            if !data.contains_key("username") && !data.contains_key("password") {
                errs.required("data[username]", "");
                errs.required("data[password]", "");
            }
        }
        "kubernetes.io/ssh-auth" => {
            if data.get("ssh-privatekey").is_none_or(|key| key.0.is_empty()) {
                errs.required("data[ssh-privatekey]", "");
            }
        }
        "kubernetes.io/tls" => {
            if !data.contains_key("tls.crt") {
                errs.required("data[tls.crt]", "");
            }
            if !data.contains_key("tls.key") {
                errs.required("data[tls.key]", "");
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
