//! The API's object model: every kind a 1.33 API server stores, as a typed
//! `k8s-openapi` value inside one `Object` enum, plus the resource table that
//! discovery (`kubectl api-resources`), REST mapping and the store keys use.

pub mod custom;
mod error;
pub mod from_value;
pub mod go_base64;
pub mod go_time;
pub mod meta;
pub mod pod;
pub mod shared_spec;
pub mod stored_status;

pub use error::{ApiError, Cause, Reason};
pub use from_value::DecodeError;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::Resource as _;
use serde_json::Value;
use std::rc::Rc;

/// Index of a resource in [`RESOURCES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId(pub u16);

/// One served resource, as discovery describes it.
#[derive(Debug)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The URL segment, e.g. `deployments`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// `kubectl get all` includes it.
    pub in_all: bool,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            [self.group, "/", self.version].concat()
        }
    }
    /// `deployments.apps`, or `pods` for the core group: what kubectl prints
    /// before an object's name (`deployment.apps/x`) uses the singular form.
    pub fn qualified_singular(&self) -> String {
        if self.group.is_empty() {
            self.singular.to_string()
        } else {
            [self.singular, ".", self.group].concat()
        }
    }
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            [self.plural, ".", self.group].concat()
        }
    }
}

macro_rules! kinds {
    ($( $variant:ident => $ty:ty, $singular:literal, $namespaced:literal, $in_all:literal, [$($short:literal),*] ;)*) => {
        /// A stored object of any served kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Object { $( $variant(Box<$ty>), )* Custom(Box<custom::CustomObject>) }

        /// Every stored resource, ordered by group then plural as discovery lists them.
        pub static RESOURCES: &[ResourceType] = &[ $(
            ResourceType {
                group: <$ty>::GROUP,
                version: <$ty>::VERSION,
                kind: <$ty>::KIND,
                plural: <$ty>::URL_PATH_SEGMENT,
                singular: $singular,
                short_names: &[$($short),*],
                namespaced: $namespaced,
                in_all: $in_all,
            }
        ),* ];

        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        enum Variant { $( $variant ),* }
        const VARIANTS: &[Variant] = &[ $( Variant::$variant ),* ];

        impl Object {
            pub fn resource_id(&self) -> ResourceId {
                match self { $( Object::$variant(_) => ResourceId(Variant::$variant as u16), )* Object::Custom(o) => o.resource }
            }
            pub fn meta(&self) -> &ObjectMeta {
                match self { $( Object::$variant(o) => &o.metadata, )* Object::Custom(o) => &o.metadata }
            }
            pub fn meta_mut(&mut self) -> &mut ObjectMeta {
                match self { $( Object::$variant(o) => &mut o.metadata, )* Object::Custom(o) => &mut o.metadata }
            }
            /// The object as JSON with `apiVersion` and `kind`, keys sorted as
            /// kubectl prints them.
            pub fn to_json(&self) -> Value {
                let mut value = match self { $( Object::$variant(o) => encode(o), )* Object::Custom(o) => o.to_json() };
                match self {
                    Object::Event(_) => event_fields_go_always_writes(&mut value),
                    // Never stored, so never given a creation time, which
                    // Go's `metav1.Time` writes as `null`.
                    Object::ComponentStatus(_) => {
                        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                            meta.entry("creationTimestamp").or_insert(Value::Null);
                        }
                    }
                    Object::Pod(_) => nested_creation_timestamps(&mut value, &[&["spec"]], &[]),
                    Object::PodTemplate(_) => nested_creation_timestamps(&mut value, &[], &[&["template"]]),
                    Object::Deployment(_) | Object::ReplicaSet(_) | Object::ReplicationController(_) | Object::DaemonSet(_) | Object::Job(_) => {
                        nested_creation_timestamps(&mut value, &[], &[&["spec", "template"]])
                    }
                    Object::StatefulSet(_) => {
                        nested_creation_timestamps(&mut value, &[], &[&["spec", "template"]]);
                        let claims = value.pointer_mut("/spec/volumeClaimTemplates").and_then(Value::as_array_mut);
                        for claim in claims.into_iter().flatten() {
                            nested_creation_timestamps(claim, &[], &[&[]]);
                        }
                    }
                    Object::CronJob(_) => nested_creation_timestamps(&mut value, &[], &[&["spec", "jobTemplate"], &["spec", "jobTemplate", "spec", "template"]]),
                    // autoscaling/v2's status is a struct, written even when empty, and
                    // its `currentMetrics` has no `omitempty`: `null` until the first sync.
                    Object::HorizontalPodAutoscaler(_) => {
                        if let Some(fields) = value.as_object_mut() {
                            let status = fields.entry("status").or_insert_with(|| Value::Object(serde_json::Map::new()));
                            if let Some(status) = status.as_object_mut() {
                                status.entry("currentMetrics").or_insert(Value::Null);
                                status.entry("desiredReplicas").or_insert(Value::from(0));
                            }
                        }
                    }
                    // `endpoints` has no `omitempty`, and an empty list comes back from
                    // storage as Go's nil slice: a slice without endpoints reads `null`.
                    Object::EndpointSlice(_) => {
                        if let Some(endpoints) = value.get_mut("endpoints").filter(|e| e.as_array().is_some_and(Vec::is_empty)) {
                            *endpoints = Value::Null;
                        }
                    }
                    // `rules` has no `omitempty`: an aggregated ClusterRole's is `null`.
                    Object::Role(_) | Object::ClusterRole(_) => {
                        if let Some(fields) = value.as_object_mut() {
                            fields.entry("rules").or_insert(Value::Null);
                        }
                    }
                    _ => {}
                }
                value
            }
            /// Decode JSON of the given resource. Unknown fields are ignored
            /// here; strict decoding is [`crate::engine::apiserver::decode`]'s job.
            pub fn from_json(resource: ResourceId, value: Value) -> Result<Object, DecodeError> {
                Object::from_value(resource, &value)
            }
            /// As [`Object::from_json`], from a borrowed value; a type error
            /// carries the path of the field it is about.
            pub fn from_value(resource: ResourceId, value: &Value) -> Result<Object, DecodeError> {
                let Some(variant) = VARIANTS.get(resource.0 as usize).copied() else {
                    return match custom::custom_type(resource) {
                        Some(_) => custom::CustomObject::from_value(resource, value).map(|o| Object::Custom(Box::new(o))),
                        None => Err(DecodeError { message: "unknown resource".into(), path: Vec::new() }),
                    };
                };
                Ok(match variant { $( Variant::$variant => Object::$variant(decode(value)?) ),* })
            }
        }
    };
}

// On the page each kind's decoder and encoder stay functions of their own,
// called from the match over kinds rather than inlined into it: the browser
// compiles a function the first time it runs, and one function holding all
// 53 kinds' code would be compiled whole at the first object decoded.
#[cfg_attr(target_arch = "wasm32", inline(never))]
fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Result<Box<T>, DecodeError> {
    from_value::from_value(value).map(Box::new)
}

#[cfg_attr(target_arch = "wasm32", inline(never))]
fn encode<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// A nested `ObjectMeta` (a pod template's, a job template's, a claim
/// template's) is never given a creation time, and Go's `metav1.Time` has
/// no `omitempty` that could leave a zero struct out: 1.33 writes
/// `creationTimestamp: null` there (dropped only in 1.34). `templates` are
/// the paths of templates, each written whole with its `metadata`;
/// `pod_specs` the paths of pod specs whose ephemeral volumes' claim
/// templates get the same (a template's own pod spec is covered with it).
fn nested_creation_timestamps(value: &mut Value, pod_specs: &[&[&str]], templates: &[&[&str]]) {
    fn at<'v>(value: &'v mut Value, path: &[&str]) -> Option<&'v mut serde_json::Map<String, Value>> {
        path.iter().try_fold(value, |v, key| v.get_mut(*key))?.as_object_mut()
    }
    fn stamp(template: &mut serde_json::Map<String, Value>) {
        let meta = template.entry("metadata").or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
    }
    fn ephemeral_claims(spec: &mut serde_json::Map<String, Value>) {
        let volumes = spec.get_mut("volumes").and_then(Value::as_array_mut);
        for volume in volumes.into_iter().flatten() {
            if let Some(claim) = volume.pointer_mut("/ephemeral/volumeClaimTemplate").and_then(Value::as_object_mut) {
                stamp(claim);
            }
        }
    }
    for path in pod_specs {
        if let Some(spec) = at(value, path) {
            ephemeral_claims(spec);
        }
    }
    for path in templates {
        if let Some(template) = at(value, path) {
            stamp(template);
            if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
                ephemeral_claims(spec);
            }
        }
    }
}

/// A core Event's fields that Go's encoding writes even when unset: its
/// times are structs (`null` when zero), `source` a struct, the reporting
/// controller and instance strings without `omitempty`.
fn event_fields_go_always_writes(value: &mut Value) {
    let Some(fields) = value.as_object_mut() else { return };
    for (field, zero) in [
        ("eventTime", Value::Null),
        ("firstTimestamp", Value::Null),
        ("lastTimestamp", Value::Null),
        ("reportingComponent", Value::String(String::new())),
        ("reportingInstance", Value::String(String::new())),
        ("source", Value::Object(serde_json::Map::new())),
    ] {
        fields.entry(field).or_insert(zero);
    }
}

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;

kinds! {
    ComponentStatus => api::core::v1::ComponentStatus, "componentstatus", false, false, ["cs"];
    ConfigMap => api::core::v1::ConfigMap, "configmap", true, false, ["cm"];
    Endpoints => api::core::v1::Endpoints, "endpoints", true, false, ["ep"];
    Event => api::core::v1::Event, "event", true, false, ["ev"];
    LimitRange => api::core::v1::LimitRange, "limitrange", true, false, ["limits"];
    Namespace => api::core::v1::Namespace, "namespace", false, false, ["ns"];
    Node => api::core::v1::Node, "node", false, false, ["no"];
    PersistentVolumeClaim => api::core::v1::PersistentVolumeClaim, "persistentvolumeclaim", true, false, ["pvc"];
    PersistentVolume => api::core::v1::PersistentVolume, "persistentvolume", false, false, ["pv"];
    Pod => pod::Pod, "pod", true, true, ["po"];
    PodTemplate => api::core::v1::PodTemplate, "podtemplate", true, false, [];
    ReplicationController => api::core::v1::ReplicationController, "replicationcontroller", true, true, ["rc"];
    ResourceQuota => api::core::v1::ResourceQuota, "resourcequota", true, false, ["quota"];
    Secret => api::core::v1::Secret, "secret", true, false, [];
    ServiceAccount => api::core::v1::ServiceAccount, "serviceaccount", true, false, ["sa"];
    Service => api::core::v1::Service, "service", true, true, ["svc"];
    MutatingWebhookConfiguration => api::admissionregistration::v1::MutatingWebhookConfiguration, "mutatingwebhookconfiguration", false, false, [];
    ValidatingAdmissionPolicy => api::admissionregistration::v1::ValidatingAdmissionPolicy, "validatingadmissionpolicy", false, false, [];
    ValidatingAdmissionPolicyBinding => api::admissionregistration::v1::ValidatingAdmissionPolicyBinding, "validatingadmissionpolicybinding", false, false, [];
    ValidatingWebhookConfiguration => api::admissionregistration::v1::ValidatingWebhookConfiguration, "validatingwebhookconfiguration", false, false, [];
    CustomResourceDefinition => apiextensions::CustomResourceDefinition, "customresourcedefinition", false, false, ["crd", "crds"];
    APIService => apiregistration::APIService, "apiservice", false, false, [];
    ControllerRevision => api::apps::v1::ControllerRevision, "controllerrevision", true, false, [];
    DaemonSet => shared_spec::DaemonSet, "daemonset", true, true, ["ds"];
    Deployment => shared_spec::Deployment, "deployment", true, true, ["deploy"];
    ReplicaSet => shared_spec::ReplicaSet, "replicaset", true, true, ["rs"];
    StatefulSet => shared_spec::StatefulSet, "statefulset", true, true, ["sts"];
    HorizontalPodAutoscaler => api::autoscaling::v2::HorizontalPodAutoscaler, "horizontalpodautoscaler", true, true, ["hpa"];
    CronJob => api::batch::v1::CronJob, "cronjob", true, true, ["cj"];
    Job => shared_spec::Job, "job", true, true, [];
    CertificateSigningRequest => api::certificates::v1::CertificateSigningRequest, "certificatesigningrequest", false, false, ["csr"];
    Lease => api::coordination::v1::Lease, "lease", true, false, [];
    EndpointSlice => api::discovery::v1::EndpointSlice, "endpointslice", true, false, [];
    EventsV1 => api::events::v1::Event, "event", true, false, ["ev"];
    FlowSchema => api::flowcontrol::v1::FlowSchema, "flowschema", false, false, [];
    PriorityLevelConfiguration => api::flowcontrol::v1::PriorityLevelConfiguration, "prioritylevelconfiguration", false, false, [];
    IngressClass => api::networking::v1::IngressClass, "ingressclass", false, false, [];
    Ingress => api::networking::v1::Ingress, "ingress", true, false, ["ing"];
    IPAddress => api::networking::v1::IPAddress, "ipaddress", false, false, ["ip"];
    NetworkPolicy => api::networking::v1::NetworkPolicy, "networkpolicy", true, false, ["netpol"];
    ServiceCIDR => api::networking::v1::ServiceCIDR, "servicecidr", false, false, [];
    RuntimeClass => api::node::v1::RuntimeClass, "runtimeclass", false, false, [];
    PodDisruptionBudget => api::policy::v1::PodDisruptionBudget, "poddisruptionbudget", true, false, ["pdb"];
    ClusterRoleBinding => api::rbac::v1::ClusterRoleBinding, "clusterrolebinding", false, false, [];
    ClusterRole => api::rbac::v1::ClusterRole, "clusterrole", false, false, [];
    RoleBinding => api::rbac::v1::RoleBinding, "rolebinding", true, false, [];
    Role => api::rbac::v1::Role, "role", true, false, [];
    PriorityClass => api::scheduling::v1::PriorityClass, "priorityclass", false, false, ["pc"];
    CSIDriver => api::storage::v1::CSIDriver, "csidriver", false, false, [];
    CSINode => api::storage::v1::CSINode, "csinode", false, false, [];
    CSIStorageCapacity => api::storage::v1::CSIStorageCapacity, "csistoragecapacity", true, false, [];
    StorageClass => api::storage::v1::StorageClass, "storageclass", false, false, ["sc"];
    VolumeAttachment => api::storage::v1::VolumeAttachment, "volumeattachment", false, false, [];
}

/// Resource ids of the kinds the engine's own components touch, looked up once.
pub mod ids {
    use super::ResourceId;
    // Found when the crate is compiled (a kind missing from the table does
    // not compile): hot paths ask for these on every sync and watch event.
    macro_rules! id { ($name:ident, $group:literal, $plural:literal) => {
        pub fn $name() -> ResourceId {
            const ID: ResourceId = super::resource_id_of($group, $plural);
            ID
        }
    } }
    id!(pods, "", "pods");
    id!(component_statuses, "", "componentstatuses");
    id!(nodes, "", "nodes");
    id!(namespaces, "", "namespaces");
    id!(events, "", "events");
    id!(services, "", "services");
    id!(endpoints, "", "endpoints");
    id!(config_maps, "", "configmaps");
    id!(secrets, "", "secrets");
    id!(persistent_volume_claims, "", "persistentvolumeclaims");
    id!(service_accounts, "", "serviceaccounts");
    id!(replication_controllers, "", "replicationcontrollers");
    id!(resource_quotas, "", "resourcequotas");
    id!(persistent_volumes, "", "persistentvolumes");
    id!(deployments, "apps", "deployments");
    id!(replica_sets, "apps", "replicasets");
    id!(daemon_sets, "apps", "daemonsets");
    id!(stateful_sets, "apps", "statefulsets");
    id!(controller_revisions, "apps", "controllerrevisions");
    id!(jobs, "batch", "jobs");
    id!(cron_jobs, "batch", "cronjobs");
    id!(certificate_signing_requests, "certificates.k8s.io", "certificatesigningrequests");
    id!(leases, "coordination.k8s.io", "leases");
    id!(events_v1, "events.k8s.io", "events");
    id!(endpoint_slices, "discovery.k8s.io", "endpointslices");
    id!(priority_classes, "scheduling.k8s.io", "priorityclasses");
    id!(runtime_classes, "node.k8s.io", "runtimeclasses");
    id!(storage_classes, "storage.k8s.io", "storageclasses");
    id!(pod_disruption_budgets, "policy", "poddisruptionbudgets");
    id!(limit_ranges, "", "limitranges");
    id!(horizontal_pod_autoscalers, "autoscaling", "horizontalpodautoscalers");
    id!(cluster_roles, "rbac.authorization.k8s.io", "clusterroles");
    id!(cluster_role_bindings, "rbac.authorization.k8s.io", "clusterrolebindings");
    id!(roles, "rbac.authorization.k8s.io", "roles");
    id!(role_bindings, "rbac.authorization.k8s.io", "rolebindings");
}

pub fn resource(id: ResourceId) -> &'static ResourceType {
    match RESOURCES.get(id.0 as usize) {
        Some(rt) => rt,
        // A custom resource's type stays filed for the thread's life; an id
        // no one made reads as an empty type rather than a panic.
        None => custom::custom_type(id).unwrap_or(&UNKNOWN_TYPE),
    }
}

static UNKNOWN_TYPE: ResourceType = ResourceType { group: "", version: "", kind: "", plural: "", singular: "", short_names: &[], namespaced: false, in_all: false };

/// The table position of `group`/`plural`; a `const fn`, so the engine's
/// own ids ([`ids`]) are found when the crate compiles.
pub const fn find_resource(group: &str, plural: &str) -> Option<ResourceId> {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut i = 0;
    while i < RESOURCES.len() {
        if same(RESOURCES[i].group, group) && same(RESOURCES[i].plural, plural) {
            return Some(ResourceId(i as u16));
        }
        i += 1;
    }
    None
}

/// [`find_resource`] for a kind the table must list: evaluated in a
/// constant, a missing kind fails the build.
const fn resource_id_of(group: &str, plural: &str) -> ResourceId {
    match find_resource(group, plural) {
        Some(id) => id,
        None => panic!("the resource table does not list this kind"),
    }
}

/// The resource a manifest's `apiVersion` + `kind` names, if 1.33 serves it.
pub fn resource_for_kind(api_version: &str, kind: &str) -> Option<ResourceId> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.kind == kind)
        .map(|i| ResourceId(i as u16))
        .or_else(|| custom::served().resources.iter().find(|r| {
            let rt = resource(r.id);
            rt.group == group && rt.kind == kind && (rt.version == version || custom::serves_version(&r.crd, version))
        }).map(|r| r.id))
}

/// What kubectl resolves a resource argument (`po`, `pods`, `deploy`,
/// `deployments.apps`, `Deployment`) to. The core group wins ties, as in
/// kubectl's priority RESTMapper (so `events` is core/v1).
pub fn resolve_resource_arg(arg: &str) -> Option<ResourceId> {
    let lower = arg.to_ascii_lowercase();
    let names = |r: &ResourceType, name: &str| r.plural == name || r.singular == name || r.kind.eq_ignore_ascii_case(name) || r.short_names.contains(&name);
    // `ParseResourceArg`: two dots or more may name `resource.version.group`
    // (`deployments.v1.apps`, `pods.v1.`), tried before `resource.group`.
    if lower.matches('.').count() >= 2 {
        let mut parts = lower.splitn(3, '.');
        if let (Some(name), Some(version), Some(group)) = (parts.next(), parts.next(), parts.next()) {
            if let Some(i) = RESOURCES.iter().position(|r| r.group == group && r.version == version && names(r, name)) {
                return Some(ResourceId(i as u16));
            }
        }
    }
    let (name, group) = match lower.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (lower.clone(), None),
    };
    let name = name.as_str();
    let in_group = |r: &ResourceType| group.as_deref().is_none_or(|g| r.group == g || r.group.starts_with(&format!("{g}.")));
    RESOURCES
        .iter()
        .enumerate()
        .filter(|(_, r)| in_group(r))
        .find(|(_, r)| names(r, name))
        .map(|(i, _)| ResourceId(i as u16))
        .or_else(|| custom::served().resources.iter().map(|r| r.id).find(|id| in_group(resource(*id)) && names(resource(*id), name)))
}

/// A namespaced name, the key components and caches use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub namespace: Rc<str>,
    pub name: Rc<str>,
}

/// Ordered as the derived order would (namespace, then name), but two keys
/// holding one shared namespace text (nearly every pair: see
/// [`shared_namespace`]) skip comparing it: every search of a map keyed
/// by object keys compares a dozen.
impl Ord for ObjectKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let namespace = if Rc::ptr_eq(&self.namespace, &other.namespace) { std::cmp::Ordering::Equal } else { self.namespace.cmp(&other.namespace) };
        namespace.then_with(|| self.name.cmp(&other.name))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ObjectKey {
    pub fn new(namespace: impl AsRef<str>, name: impl Into<Rc<str>>) -> Self {
        ObjectKey { namespace: shared_namespace(namespace.as_ref()), name: name.into() }
    }
    pub fn of(obj: &Object) -> Self {
        let m = obj.meta();
        ObjectKey::new(m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default())
    }
}

/// The namespace's text, shared with the last key made in the same
/// namespace: keys are made per watch event, and nearly all of a busy
/// cluster's are in one or two namespaces.
fn shared_namespace(namespace: &str) -> Rc<str> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Rc<str>>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(shared) if **shared == *namespace => shared.clone(),
            _ => {
                let made: Rc<str> = Rc::from(namespace);
                *last = Some(made.clone());
                made
            }
        }
    })
}

/// An [`ObjectKey`] as borrowed parts, to look up maps keyed by
/// `ObjectKey` without building one (two strings) per watch event:
/// `map.get(&(namespace, name) as &dyn KeyRef)`. It orders, compares and
/// hashes as the `ObjectKey` of the same parts.
pub trait KeyRef {
    fn parts(&self) -> (&str, &str);
}

impl KeyRef for ObjectKey {
    fn parts(&self) -> (&str, &str) {
        (&self.namespace, &self.name)
    }
}

impl KeyRef for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

/// An object's key, one allocation shared by the maps and sets that file
/// it (an informer's hash and ordered maps, the controllers' indexes); it
/// hashes, compares and orders as its [`ObjectKey`], and looks up by a
/// borrowed [`KeyRef`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SharedKey(pub Rc<ObjectKey>);

/// As its [`ObjectKey`]; one shared key meets itself without a compare
/// (a set's search for the key it holds).
impl Ord for SharedKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Rc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for SharedKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl SharedKey {
    pub fn new(key: ObjectKey) -> Self {
        SharedKey(Rc::new(key))
    }

    /// The one key every holder of `key` shares: a pod is held by the
    /// scheduler's, the controller manager's and its kubelet's informers,
    /// a Service by every node's kube-proxy and kubelet.
    pub fn interned(key: &dyn KeyRef) -> SharedKey {
        INTERNED_KEYS.with(|cell| {
            let mut interned = cell.borrow_mut();
            let InternedKeys { keys, prune } = &mut *interned;
            if let Some(found) = keys.get(key) {
                return found.clone();
            }
            prune.before_adding(keys.len(), || {
                keys.retain(|k| Rc::strong_count(&k.0) > 1);
                keys.len()
            });
            let (namespace, name) = key.parts();
            let made = SharedKey::new(ObjectKey::new(namespace, name));
            keys.insert(made.clone());
            made
        })
    }
}

/// The keys [`SharedKey::interned`] gave, dropped once no one else holds
/// them (when the set has doubled since it last looked).
#[derive(Default)]
struct InternedKeys {
    keys: std::collections::HashSet<SharedKey, rustc_hash::FxBuildHasher>,
    prune: crate::engine::store::shared_texts::PruneSchedule,
}

thread_local! {
    static INTERNED_KEYS: std::cell::RefCell<InternedKeys> = std::cell::RefCell::default();
}

impl<'a> std::borrow::Borrow<dyn KeyRef + 'a> for SharedKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        &*self.0
    }
}

impl<'a> std::borrow::Borrow<dyn KeyRef + 'a> for ObjectKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}

impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl std::hash::Hash for dyn KeyRef + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As the derived `Hash` of `ObjectKey`: namespace, then name.
        let (namespace, name) = self.parts();
        namespace.hash(state);
        name.hash(state);
    }
}

impl Object {
    /// The object's `(namespace, name)`, borrowed, as [`ObjectKey::of`] makes them.
    pub fn key_parts(&self) -> (&str, &str) {
        let m = self.meta();
        (m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""))
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// `spec`, or the empty spec a pod (or pod template) without one reads as:
/// borrowed, so callers on hot paths neither clone a spec nor build a
/// default one per call.
pub fn pod_spec_or_empty(spec: Option<&api::core::v1::PodSpec>) -> &api::core::v1::PodSpec {
    static EMPTY: std::sync::OnceLock<api::core::v1::PodSpec> = std::sync::OnceLock::new();
    spec.unwrap_or_else(|| EMPTY.get_or_init(Default::default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_holder_of_a_key_gets_the_one_interned_key() {
        let first = SharedKey::interned(&("default", "interned-web-1"));
        let again = SharedKey::interned(&ObjectKey::new("default", "interned-web-1"));
        assert!(Rc::ptr_eq(&first.0, &again.0));
        let elsewhere = SharedKey::interned(&("other", "interned-web-1"));
        assert!(!Rc::ptr_eq(&first.0, &elsewhere.0));
        assert_eq!(elsewhere.0.parts(), ("other", "interned-web-1"));
        // Unheld keys are dropped once the set has grown enough to look.
        for i in 0..3 * crate::engine::store::shared_texts::PRUNE_FLOOR {
            drop(SharedKey::interned(&("default", format!("unheld-{i}").as_str())));
        }
        let held = INTERNED_KEYS.with(|k| k.borrow().keys.len());
        assert!(held < 3 * crate::engine::store::shared_texts::PRUNE_FLOOR, "{held} kept");
        assert!(Rc::ptr_eq(&SharedKey::interned(&("default", "interned-web-1")).0, &first.0), "a held key is kept");
    }

    #[test]
    fn resource_ids_found_at_compile_time_are_the_table_positions() {
        let named = [
            (ids::pods(), "", "pods"),
            (ids::nodes(), "", "nodes"),
            (ids::persistent_volume_claims(), "", "persistentvolumeclaims"),
            (ids::replica_sets(), "apps", "replicasets"),
            (ids::leases(), "coordination.k8s.io", "leases"),
            (ids::endpoint_slices(), "discovery.k8s.io", "endpointslices"),
            (ids::horizontal_pod_autoscalers(), "autoscaling", "horizontalpodautoscalers"),
        ];
        for (id, group, plural) in named {
            assert_eq!(Some(id), find_resource(group, plural), "{group}/{plural}");
            assert_eq!((resource(id).group, resource(id).plural), (group, plural));
        }
    }

    #[test]
    fn borrowed_key_parts_find_what_object_keys_find() {
        use std::collections::{BTreeMap, HashMap};
        let keys = [ObjectKey::new("b", "x"), ObjectKey::new("a", "zz"), ObjectKey::new("", "a"), ObjectKey::new("a", "z")];
        let ordered: BTreeMap<ObjectKey, usize> = keys.iter().cloned().zip(0..).collect();
        let hashed: HashMap<ObjectKey, usize> = keys.iter().cloned().zip(0..).collect();
        for (i, key) in keys.iter().enumerate() {
            let parts = (&*key.namespace, &*key.name);
            assert_eq!(ordered.get(&parts as &dyn KeyRef), Some(&i));
            assert_eq!(hashed.get(&parts as &dyn KeyRef), Some(&i));
        }
        assert_eq!(ordered.get(&("a", "y") as &dyn KeyRef), None);
        assert_eq!(hashed.get(&("ax", "") as &dyn KeyRef), None, "the namespace and name stay apart when hashed");
    }

    #[test]
    fn resolves_kubectl_resource_arguments() {
        let check = |arg: &str, plural: &str| {
            let id = resolve_resource_arg(arg).unwrap_or_else(|| panic!("{arg} resolves"));
            assert_eq!(resource(id).plural, plural, "{arg}");
        };
        check("po", "pods");
        check("pods", "pods");
        check("Pod", "pods");
        check("deploy", "deployments");
        check("deployments.apps", "deployments");
        check("ev", "events");
        check("rs", "replicasets");
        check("no", "nodes");
        assert!(resolve_resource_arg("widgets").is_none());
        assert_eq!(resource(ids::events()).group, "");
    }

    #[test]
    fn refuses_versions_1_33_no_longer_serves() {
        assert!(resource_for_kind("apps/v1", "Deployment").is_some());
        assert!(resource_for_kind("extensions/v1beta1", "Deployment").is_none());
        assert!(resource_for_kind("batch/v2alpha1", "CronJob").is_none());
    }

    #[test]
    fn json_round_trip_keeps_kind_and_version() {
        let id = ids::pods();
        let v = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}});
        let obj = Object::from_json(id, v).unwrap();
        assert_eq!(obj.resource_id(), id);
        let back = obj.to_json();
        assert_eq!(back["kind"], "Pod");
        assert_eq!(back["apiVersion"], "v1");
    }
}
