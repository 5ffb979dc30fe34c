//! `kubectl create -f` and the `create <kind>` generators.
//! Generated objects match kubectl 1.33's generators field for field.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, JobSpec, JobStatus, JobTemplateSpec};
use crate::engine::api::shared_spec::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, Namespace, NamespaceSpec, NamespaceStatus, PodSpec, PodTemplateSpec, ResourceRequirements,
    Secret, Service, ServiceAccount, ServicePort, ServiceSpec, ServiceStatus, LoadBalancerStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use serde_json::Value;

use crate::engine::api::{resource, ApiError, Object, Reason, ResourceType};
use crate::engine::apiserver::decode;
use crate::engine::kubectl::manifest::{self, DryRun};
use crate::engine::kubectl::printers::{self, OutputFormat};
use crate::engine::kubectl::verbs::apply::{last_applied_json, print_each, report, with_annotation, write_output_format, Printed, LAST_APPLIED};
use crate::engine::kubectl::{Error, FileEntry, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    match command.as_str() {
        "create" => from_files(s),
        "create deployment" => deployment(s),
        "create namespace" => namespace(s),
        "create service clusterip" => service(s, "ClusterIP"),
        "create service nodeport" => service(s, "NodePort"),
        "create service loadbalancer" => service(s, "LoadBalancer"),
        "create service externalname" => service(s, "ExternalName"),
        "create configmap" => configmap(s),
        "create secret generic" => secret(s),
        "create secret docker-registry" => docker_registry_secret(s),
        // kubectl checks the pair with crypto/tls, which is not modelled.
        "create secret tls" => Err(Error::Message(
            "error: create secret tls is not available in this simulation: kubectl checks the certificate and key with Go's crypto/tls, which it does not model; apply a Secret of type kubernetes.io/tls with tls.crt and tls.key instead".to_string(),
        )),
        "create token" => super::create_token::run(s),
        "create job" => job(s),
        "create cronjob" => cronjob(s),
        "create serviceaccount" => serviceaccount(s),
        "create poddisruptionbudget" => pod_disruption_budget(s),
        "create priorityclass" => priority_class(s),
        "create quota" => quota(s),
        "create ingress" => super::create_ingress::run(s),
        "create role" => super::create_rbac::role(s),
        "create clusterrole" => super::create_rbac::cluster_role(s),
        "create rolebinding" => super::create_rbac::role_binding(s),
        "create clusterrolebinding" => super::create_rbac::cluster_role_binding(s),
        other => Err(Error::Message(format!("error: \"kubectl {other}\" is not available in this simulation"))),
    }
}

/// `kubectl create -f`.
fn from_files(s: &mut Session) -> Result {
    if s.args.values("filename").is_empty() && !s.args.has("kustomize") {
        if let Some(arg) = s.args.positionals.first() {
            return Err(Error::Message(format!("error: unknown command \"{arg}\" for \"kubectl create\"")));
        }
        return Err(Error::Message(
            "error: must specify one of -f and -k\n\nSee 'kubectl create -h' for help and examples".to_string(),
        ));
    }
    manifest::check_sources(s, None)?;
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let save_config = s.args.flag("save-config");
    let mut failures = Vec::new();
    let mut printed = Vec::new();
    let mut count = 0;
    for item in manifest::load(s) {
        let info = match item {
            Ok(info) => info,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        count += 1;
        let value = if save_config { with_annotation(&info.value, LAST_APPLIED, &last_applied_json(&info.value)) } else { info.value.clone() };
        if dry == DryRun::Client {
            report(s, &format, &mut printed, Printed::Read { rid: info.rid, name: info.name.clone(), value }, "created", dry);
            continue;
        }
        let result = decode::decode_object(info.rid, &value).and_then(|obj| s.cluster.sim.api.create_with(obj, dry == DryRun::Server));
        match result {
            Ok(obj) => report(s, &format, &mut printed, Printed::Stored(obj), "created", dry),
            Err(e) => failures.push(manifest::with_source("creating", &info.source, e)),
        }
    }
    if count == 0 && failures.is_empty() {
        return Err(Error::Message("error: no objects passed to create".to_string()));
    }
    print_each(s, &format, &printed)?;
    manifest::finish(s, failures)
}

/// The one NAME a generator takes.
pub(super) fn one_name(s: &Session) -> std::result::Result<String, Error> {
    match s.args.positionals.as_slice() {
        [name] => Ok(name.clone()),
        other => Err(Error::Message(format!(
            "error: exactly one NAME is required, got {}\nSee 'kubectl {} -h' for help and examples",
            other.len(),
            s.args.command
        ))),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(crate::engine::sort::insert_all(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))))
}

/// `creationTimestamp: null` wherever an ObjectMeta is, as Go prints a
/// generated object's zero timestamps.
fn with_null_timestamps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "metadata" {
                    if let Value::Object(meta) = v {
                        meta.entry("creationTimestamp").or_insert(Value::Null);
                    }
                }
                with_null_timestamps(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(with_null_timestamps),
        _ => {}
    }
}

/// Sends a generated object (or prints it, for `--dry-run=client`), as
/// every `create <kind>` does. `wrap` is the command's own error prefix.
pub fn submit_generated(s: &mut Session, obj: Object, wrap: Option<&str>, operation: &str) -> Result {
    submit_generated_as(s, obj, wrap, operation, SaveConfig::Always, |_| {})
}

/// Where a command's `--save-config` writes the last-applied annotation.
/// The `create` generators write it before a client dry run prints; `run`,
/// `expose` and `autoscale` print a client dry run's object first; `create
/// service` registers the flag but never reads it.
#[derive(Clone, Copy, PartialEq)]
pub enum SaveConfig {
    Always,
    NotOnClientDryRun,
    Never,
}

/// The typed object as Go encodes it: a namespace only when `-n` gave one.
fn client_json(s: &Session, obj: &Object) -> Value {
    let mut v = obj.to_json();
    if resource(obj.resource_id()).namespaced && !s.args.has("namespace") {
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
    }
    with_null_timestamps(&mut v);
    v
}

/// `--save-config`, as `CreateOrUpdateAnnotation` writes it: the object
/// without the annotation (its emptied map left out), compact, in Go's
/// field order. Nothing without the flag. `run`, `expose` and `autoscale`
/// ([`SaveConfig::NotOnClientDryRun`]) write it before the object has a
/// namespace, even with `-n`; the `create` generators after theirs.
pub fn save_config(s: &Session, obj: &mut Object, save: SaveConfig, printed: &dyn Fn(&mut Value)) {
    if !s.args.flag("save-config") || save == SaveConfig::Never {
        return;
    }
    let kind = resource(obj.resource_id()).kind;
    let mut v = client_json(s, obj);
    printed(&mut v);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        if save == SaveConfig::NotOnClientDryRun {
            meta.remove("namespace");
        }
        let emptied = meta.get_mut("annotations").and_then(Value::as_object_mut).is_some_and(|a| {
            a.remove(LAST_APPLIED);
            a.is_empty()
        });
        if emptied {
            meta.remove("annotations");
        }
    }
    let text = format!("{}\n", printers::json::to_json_in_field_order(&v, false, &|path, key| go_field_rank(kind, path, key)));
    obj.meta_mut().annotations.get_or_insert_with(BTreeMap::new).insert(LAST_APPLIED.to_string(), text);
}

/// [`submit_generated`] with where `--save-config` applies, and `printed`
/// adjusting what `--dry-run=client` prints (Go fields a typed object
/// cannot hold, such as a `null` list).
pub fn submit_generated_as(s: &mut Session, mut obj: Object, wrap: Option<&str>, operation: &str, save: SaveConfig, printed: impl Fn(&mut Value)) -> Result {
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let rt = resource(obj.resource_id());
    if rt.namespaced {
        obj.meta_mut().namespace = Some(s.namespace());
    }
    let client_view = |obj: &Object| {
        let mut v = client_json(s, obj);
        printed(&mut v);
        v
    };
    let saves = match save {
        SaveConfig::Always => true,
        SaveConfig::NotOnClientDryRun => dry != DryRun::Client,
        SaveConfig::Never => false,
    };
    if saves {
        save_config(s, &mut obj, save, &printed);
    }
    if dry == DryRun::Client {
        let v = client_view(&obj);
        match format {
            None => s.out.push_str(&format!("{} {operation}{}\n", printers::qualified_name(&obj), dry.suffix())),
            Some(OutputFormat::Name) => s.out.push_str(&format!("{}\n", printers::qualified_name(&obj))),
            Some(OutputFormat::Json) => {
                s.out.push_str(&printers::json::to_json_in_field_order(&v, true, &|path, key| go_field_rank(rt.kind, path, key)));
                s.out.push('\n');
            }
            Some(OutputFormat::JsonPath(expr)) => s.out.push_str(&printers::render_jsonpath(&expr, false, &v, printers::allow_missing_template_keys(s)).map_err(Error::Message)?),
            Some(OutputFormat::JsonPathAsJson(expr)) => s.out.push_str(&printers::render_jsonpath(&expr, true, &v, printers::allow_missing_template_keys(s)).map_err(Error::Message)?),
            Some(OutputFormat::GoTemplate(t)) => {
                // kubectl marshals the typed object: its fields in Go's order.
                let raw = printers::json::to_json_in_field_order(&v, false, &|path, key| go_field_rank(rt.kind, path, key));
                let (text, error) = printers::render_go_template(&t, &v, printers::allow_missing_template_keys(s), &raw);
                s.out.push_str(&text);
                if let Some(e) = error {
                    return Err(Error::Message(e));
                }
            }
            Some(_) => s.out.push_str(&printers::to_yaml(&v)),
        }
        return Ok(());
    }
    match s.cluster.sim.api.create_with(obj, dry == DryRun::Server) {
        Ok(created) => {
            let mut printed = Vec::new();
            report(s, &format, &mut printed, Printed::Stored(created), operation, dry);
            print_each(s, &format, &printed)
        }
        Err(e) => Err(wrap_create_error(s, e, wrap, rt)),
    }
}

/// Go's declaration order for the fields of a generated (typed) object
/// that `-o json` and `--save-config` print: the kinds `go_types` knows
/// (workloads, Pods, Services, Ingresses, PodDisruptionBudgets) through
/// it, then the top level of the other kinds kubectl generates, every
/// ObjectMeta, a ResourceQuota's spec and status and the roles' rules and
/// aggregation rule (the bindings are `go_types`'). Other objects' keys print sorted, as a map's are.
fn go_field_rank(kind: &str, path: &[&str], key: &str) -> Option<usize> {
    if let Some(rank) = printers::go_types::field_rank(kind, path, key) {
        return Some(rank);
    }
    const TOP: &[&str] = &[
        "kind", "apiVersion", "metadata", "spec", "status", "value", "globalDefault", "description", "preemptionPolicy", "immutable", "data",
        "stringData", "binaryData", "type", "subjects", "roleRef", "rules", "aggregationRule",
    ];
    const META: &[&str] = &[
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    ];
    const QUOTA: &[&str] = &["hard", "scopes", "scopeSelector", "used"];
    const POLICY_RULE: &[&str] = &["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"];
    const LABEL_SELECTOR: &[&str] = &["matchLabels", "matchExpressions"];
    let rbac = matches!(kind, "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding");
    let fields = match path {
        [] => TOP,
        [.., "metadata"] => META,
        ["spec"] | ["status"] if kind == "ResourceQuota" => QUOTA,
        ["rules"] if rbac => POLICY_RULE,
        ["aggregationRule", "clusterRoleSelectors"] if rbac => LABEL_SELECTOR,
        _ => return None,
    };
    fields.iter().position(|f| *f == key)
}

/// `error: failed to create deployment: deployments.apps "x" already exists`.
fn wrap_create_error(s: &Session, e: ApiError, wrap: Option<&str>, rt: &ResourceType) -> Error {
    let Some(prefix) = wrap else { return Error::Api(e) };
    let detail = if e.reason == Reason::ConnectionRefused {
        let host = s.server();
        let (group, version, plural) = (rt.group, rt.version, rt.plural);
        let base = if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") };
        // A cluster-scoped kind (a ClusterRoleBinding) is posted outside any namespace.
        let scope = if rt.namespaced { format!("namespaces/{}/", s.namespace()) } else { String::new() };
        format!("Post \"https://{host}/{base}/{scope}{plural}?fieldManager=kubectl-create&fieldValidation=Strict\": dial tcp {host}: connect: connection refused")
    } else {
        e.message
    };
    Error::Message(format!("error: {prefix}{detail}"))
}

fn required(s: &Session, flag: &str) -> std::result::Result<String, Error> {
    s.args.value(flag).map(str::to_string).ok_or_else(|| Error::Message(format!("error: required flag(s) \"{flag}\" not set")))
}

fn int_flag(s: &Session, flag: &str, default: i32) -> std::result::Result<i32, Error> {
    match s.args.value(flag) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| Error::Message(format!("error: invalid argument \"{v}\" for \"--{flag}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax\nSee 'kubectl {} --help' for usage.", s.args.command))),
    }
}

/// The container name `create deployment` derives from an image reference.
fn container_name_for(image: &str) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split(':').next().unwrap_or(base);
    let base = base.split('@').next().unwrap_or(base);
    base.replace('_', "-")
}

fn deployment(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let images = s.args.values("image").to_vec();
    if images.is_empty() {
        return Err(Error::Message("error: required flag(s) \"image\" not set".to_string()));
    }
    let replicas = int_flag(s, "replicas", 1)?;
    let port = int_flag(s, "port", -1)?;
    let mut containers: Vec<Container> = Vec::new();
    for image in &images {
        let mut cname = container_name_for(image);
        if containers.iter().any(|c| c.name == cname) {
            cname = format!("{cname}-{}", s.cluster.sim.api.random_suffix(5));
        }
        containers.push(Container { name: cname, image: Some(image.clone()), resources: Some(ResourceRequirements::default()), ..Default::default() });
    }
    if port >= 0 {
        if let Some(c) = containers.first_mut() {
            c.ports = Some(vec![ContainerPort { container_port: port, ..Default::default() }]);
        }
    }
    // `-- COMMAND [args...]` becomes the first container's command.
    if !s.args.after_dash.is_empty() {
        if let Some(c) = containers.first_mut() {
            c.command = Some(s.args.after_dash.clone());
        }
    }
    let app = labels(&[("app", &name)]);
    let d = Deployment {
        metadata: ObjectMeta { name: Some(name.clone()), labels: app.clone(), ..Default::default() },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: app.clone(), ..Default::default() },
            strategy: Some(DeploymentStrategy::default()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: app, ..Default::default() }),
                spec: Some(PodSpec { containers, ..Default::default() }),
            },
            ..Default::default()
        }),
        status: Some(DeploymentStatus::default()),
    };
    submit_generated(s, Object::Deployment(Box::new(d.into())), Some("failed to create deployment: "), "created")
}

fn namespace(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let ns = Namespace {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        spec: Some(NamespaceSpec::default()),
        status: Some(NamespaceStatus::default()),
    };
    submit_generated(s, Object::Namespace(Box::new(ns)), None, "created")
}

fn service(s: &mut Session, kind: &str) -> Result {
    let name = one_name(s)?;
    let cluster_ip = s.args.value("clusterip").map(str::to_string);
    if cluster_ip.as_deref() == Some("None") && kind != "ClusterIP" {
        return Err(Error::Message("error: ClusterIP=None can only be used with ClusterIP service type".to_string()));
    }
    let tcp = s.args.values("tcp").iter().flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>()).collect::<Vec<_>>();
    if tcp.is_empty() && cluster_ip.as_deref() != Some("None") && kind != "ExternalName" {
        return Err(Error::Message("error: at least one tcp port specifier must be provided".to_string()));
    }
    let external_name = s.args.value("external-name").map(str::to_string);
    if kind == "ExternalName" && external_name.as_deref().is_none_or(str::is_empty) {
        return Err(Error::Message("error: required flag(s) \"external-name\" not set".to_string()));
    }
    let node_port = int_flag(s, "node-port", 0)?;
    let mut ports = Vec::new();
    for spec in &tcp {
        let (port, target) = spec.split_once(':').unwrap_or((spec.as_str(), spec.as_str()));
        let port_num: i32 = port.parse().map_err(|_| Error::Message(format!("error: strconv.Atoi: parsing {port:?}: invalid syntax")))?;
        let target = match target.parse::<i32>() {
            Ok(n) => IntOrString::Int(n),
            Err(_) => IntOrString::String(target.to_string()),
        };
        let port_name = if spec.contains(':') { spec.replace(':', "-") } else { port.to_string() };
        ports.push(ServicePort {
            name: Some(port_name),
            port: port_num,
            target_port: Some(target),
            protocol: Some("TCP".to_string()),
            node_port: (kind == "NodePort" && node_port > 0).then_some(node_port),
            ..Default::default()
        });
    }
    let app = labels(&[("app", &name)]);
    let svc = Service {
        metadata: ObjectMeta { name: Some(name.clone()), labels: app.clone(), ..Default::default() },
        spec: Some(ServiceSpec {
            ports: (!ports.is_empty()).then_some(ports),
            selector: app,
            type_: Some(kind.to_string()),
            cluster_ip,
            external_name,
            ..Default::default()
        }),
        status: Some(ServiceStatus { load_balancer: Some(LoadBalancerStatus::default()), ..Default::default() }),
    };
    let wrap = format!("failed to create {kind} service: ");
    submit_generated_as(s, Object::Service(Box::new(svc)), Some(&wrap), "created", SaveConfig::Never, |_| {})
}

/// apimachinery's `ParseToLabelSelector`: equalities as `matchLabels`, set
/// and existence tests as `matchExpressions`, in the parsed order.
pub(super) fn parse_to_label_selector(text: &str) -> std::result::Result<(BTreeMap<String, String>, Vec<LabelSelectorRequirement>), String> {
    use crate::engine::selector::Op;
    let parsed = crate::engine::selector::Selector::parse(text).map_err(|e| format!("couldn't parse the selector string {text:?}: {e}"))?;
    let mut match_labels = BTreeMap::new();
    let mut expressions = Vec::new();
    for r in parsed.requirements {
        let operator = match r.op {
            Op::Equals | Op::DoubleEquals => {
                match_labels.insert(r.key, r.values.into_iter().next().unwrap_or_default());
                continue;
            }
            Op::NotEquals => return Err("\"!=\" is not a valid label selector operator".into()),
            Op::GreaterThan => return Err("\"gt\" isn't supported in label selectors".into()),
            Op::LessThan => return Err("\"lt\" isn't supported in label selectors".into()),
            Op::NotIn => "NotIn",
            Op::In => "In",
            Op::Exists => "Exists",
            Op::DoesNotExist => "DoesNotExist",
        };
        let values = (!r.values.is_empty()).then_some(r.values);
        expressions.push(LabelSelectorRequirement { key: r.key, operator: operator.into(), values });
    }
    Ok((match_labels, expressions))
}

/// `kubectl create poddisruptionbudget NAME --selector=… --min-available=N|--max-unavailable=N`.
fn pod_disruption_budget(s: &mut Session) -> Result {
    use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus};
    let name = one_name(s)?;
    let selector = s.args.value("selector").unwrap_or("").to_string();
    let min = s.args.value("min-available").unwrap_or("").to_string();
    let max = s.args.value("max-unavailable").unwrap_or("").to_string();
    if selector.is_empty() {
        return Err(Error::Message("error: a selector must be specified".into()));
    }
    if min.is_empty() && max.is_empty() {
        return Err(Error::Message("error: one of min-available or max-unavailable must be specified".into()));
    }
    if !min.is_empty() && !max.is_empty() {
        return Err(Error::Message("error: min-available and max-unavailable cannot be both specified".into()));
    }
    let valid = |v: &str| {
        let digits = v.strip_suffix('%').unwrap_or(v);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !min.is_empty() && !valid(&min) {
        return Err(Error::Message("error: invalid format specified for min-available".into()));
    }
    if !max.is_empty() && !valid(&max) {
        return Err(Error::Message("error: invalid format specified for max-unavailable".into()));
    }
    let (match_labels, expressions) = parse_to_label_selector(&selector).map_err(|e| Error::Message(format!("error: {e}")))?;
    let int_or = |v: &str| match v.parse::<i32>() {
        Ok(n) => IntOrString::Int(n),
        Err(_) => IntOrString::String(v.to_string()),
    };
    let pdb = PodDisruptionBudget {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        spec: Some(PodDisruptionBudgetSpec {
            min_available: (!min.is_empty()).then(|| int_or(&min)),
            max_unavailable: (!max.is_empty()).then(|| int_or(&max)),
            selector: Some(LabelSelector {
                match_labels: (!match_labels.is_empty()).then_some(match_labels),
                match_expressions: (!expressions.is_empty()).then_some(expressions),
            }),
            ..Default::default()
        }),
        status: Some(PodDisruptionBudgetStatus::default()),
    };
    submit_generated(s, Object::PodDisruptionBudget(Box::new(pdb)), Some("failed to create poddisruptionbudgets: "), "created")
}

/// `kubectl create priorityclass NAME [--value=N] [--global-default] [--description=…] [--preemption-policy=…]`.
fn priority_class(s: &mut Session) -> Result {
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    let name = one_name(s)?;
    let value = int_flag(s, "value", 0)?;
    let pc = PriorityClass {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        value,
        global_default: s.args.flag("global-default").then_some(true),
        description: s.args.value("description").filter(|d| !d.is_empty()).map(str::to_string),
        preemption_policy: Some(s.args.value("preemption-policy").unwrap_or("PreemptLowerPriority").to_string()),
    };
    submit_generated(s, Object::PriorityClass(Box::new(pc)), Some("failed to create priorityclass: "), "created")
}

/// `kubectl create quota NAME [--hard=res=qty,…] [--scopes=Scope,…]`
/// (create_quota.go): Complete's checks (NAME, `--dry-run`, `-o`), then
/// Validate's (an empty NAME), then the flags' values as `createQuota` parses them.
fn quota(s: &mut Session) -> Result {
    use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec, ResourceQuotaStatus};
    let name = one_name(s)?;
    generator_complete(s)?;
    if name.is_empty() {
        return Err(Error::Message("error: name must be specified".to_string()));
    }
    let hard = resource_list(s.args.value("hard").unwrap_or("")).map_err(Error::Message)?;
    let scopes = quota_scopes(s.args.value("scopes").unwrap_or("")).map_err(Error::Message)?;
    let quota = ResourceQuota {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        spec: Some(ResourceQuotaSpec { hard, scopes, ..Default::default() }),
        status: Some(ResourceQuotaStatus::default()),
    };
    submit_generated(s, Object::ResourceQuota(Box::new(quota)), Some("failed to create quota: "), "created")
}

/// A generator's `Complete` after its NAME: `--dry-run`, then `-o` (a
/// generator prints no tables), then `--validate` (`GetValidationDirective`).
pub(super) fn generator_complete(s: &Session) -> std::result::Result<(), Error> {
    DryRun::from_session(s)?;
    write_output_format(s)?;
    if let Some(v) = s.args.value("validate") {
        let boolean = crate::engine::kubectl::args::parse_go_bool(v).is_some();
        if !boolean && !matches!(v, "strict" | "warn" | "ignore") {
            return Err(Error::Message(format!(
                "error: invalid - validate option \"{v}\"; must be one of: strict (or true), warn, ignore (or false)"
            )));
        }
    }
    Ok(())
}

/// `populateResourceListV1`: `res=qty` pairs split on `,` and `=`, each
/// quantity as `resource.ParseQuantity` reads it (no spaces trimmed) and
/// written as Go's `Quantity` marshals it; nothing for an empty flag.
pub(super) fn resource_list(spec: &str) -> std::result::Result<Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, String> {
    use crate::engine::quantity::{normalize, QuantityError};
    if spec.is_empty() {
        return Ok(None);
    }
    let mut list = BTreeMap::new();
    for statement in spec.split(',') {
        let parts: Vec<&str> = statement.split('=').collect();
        let [resource, value] = parts.as_slice() else {
            return Err(format!("error: Invalid argument syntax {statement}, expected <resource>=<value>"));
        };
        let text = if value.trim() != *value { Err(QuantityError::FormatWrong) } else { normalize(value) };
        let text = text.map_err(|e| format!("error: {e}"))?;
        list.insert(resource.to_string(), k8s_openapi::apimachinery::pkg::api::resource::Quantity(text));
    }
    Ok(Some(list))
}

/// `parseScopes`: any non-empty names (the API server checks them).
fn quota_scopes(spec: &str) -> std::result::Result<Option<Vec<String>>, String> {
    if spec.is_empty() {
        return Ok(None);
    }
    let mut scopes = Vec::new();
    for scope in spec.split(',') {
        if scope.is_empty() {
            return Err("error: invalid resource quota scope \"\"".to_string());
        }
        scopes.push(scope.to_string());
    }
    Ok(Some(scopes))
}

fn configmap(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let mut payload = Payload::new(PayloadKind::ConfigMap, &name);
    let sources = Sources::read(s)?;
    payload.add_files(s, &sources.files)?;
    payload.add_literals(&sources.literals)?;
    payload.add_env_files(s, &sources.env_files)?;
    let (data, binary) = payload.split_text();
    let mut cm = ConfigMap {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        data: (!data.is_empty()).then_some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
        ..Default::default()
    };
    if s.args.flag("append-hash") {
        let hash = config_map_hash(&cm);
        cm.metadata.name = cm.metadata.name.map(|n| format!("{n}-{hash}"));
    }
    submit_generated(s, Object::ConfigMap(Box::new(cm)), Some("failed to create configmap: "), "created")
}

fn secret(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let mut payload = Payload::new(PayloadKind::Secret, &name);
    let sources = Sources::read(s)?;
    payload.add_literals(&sources.literals)?;
    payload.add_files(s, &sources.files)?;
    payload.add_env_files(s, &sources.env_files)?;
    let data: BTreeMap<String, ByteString> = payload.entries.into_iter().map(|(k, v)| (k, ByteString(v))).collect();
    let mut secret = Secret {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        data: (!data.is_empty()).then_some(data),
        type_: s.args.value("type").map(str::to_string),
        ..Default::default()
    };
    if s.args.flag("append-hash") {
        let hash = secret_hash(&secret);
        secret.metadata.name = secret.metadata.name.map(|n| format!("{n}-{hash}"));
    }
    submit_generated(s, Object::Secret(Box::new(secret)), Some("failed to create secret "), "created")
}

/// `--from-file`, `--from-literal` and `--from-env-file` as kubectl's flags
/// read them (the file flags split at commas, literals kept whole).
struct Sources {
    files: Vec<String>,
    literals: Vec<String>,
    env_files: Vec<String>,
}

impl Sources {
    fn read(s: &Session) -> std::result::Result<Sources, Error> {
        let files = s.args.string_slice("from-file").map_err(Error::Usage)?;
        let env_files = s.args.string_slice("from-env-file").map_err(Error::Usage)?;
        let literals = s.args.values("from-literal").to_vec();
        if !env_files.is_empty() && (!files.is_empty() || !literals.is_empty()) {
            return Err(Error::Message("error: from-env-file cannot be combined with from-file or from-literal".to_string()));
        }
        Ok(Sources { files, literals, env_files })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum PayloadKind {
    ConfigMap,
    Secret,
}

/// A generated ConfigMap's or Secret's keys, added as kubectl's
/// `addKeyFrom…` functions add them, with their checks and words.
struct Payload<'a> {
    kind: PayloadKind,
    name: &'a str,
    entries: BTreeMap<String, Vec<u8>>,
}

impl<'a> Payload<'a> {
    fn new(kind: PayloadKind, name: &'a str) -> Self {
        Payload { kind, name, entries: BTreeMap::new() }
    }

    fn add(&mut self, key: &str, value: Vec<u8>) -> std::result::Result<(), Error> {
        let problems = crate::engine::apiserver::validation::config_map_key(key);
        let fail = |text: String| Err(Error::Message(format!("error: {text}")));
        match self.kind {
            PayloadKind::ConfigMap => {
                if !problems.is_empty() {
                    return fail(format!("{key:?} is not a valid key name for a ConfigMap: {}", problems.join(",")));
                }
                if let Some(existing) = self.entries.get(key) {
                    let place = if std::str::from_utf8(existing).is_ok() { "Data" } else { "BinaryData" };
                    return fail(format!("cannot add key {key:?}, another key by that name already exists in {place} for ConfigMap {:?}", self.name));
                }
            }
            PayloadKind::Secret => {
                if !problems.is_empty() {
                    return fail(format!("{key:?} is not valid key name for a Secret {}", problems.join(";")));
                }
                if self.entries.contains_key(key) {
                    return fail(format!("cannot add key {key}, another key by that name already exists"));
                }
            }
        }
        self.entries.insert(key.to_string(), value);
        Ok(())
    }

    /// `ParseLiteralSource`: `key=value`, the value after the first `=`.
    fn add_literals(&mut self, literals: &[String]) -> std::result::Result<(), Error> {
        for literal in literals {
            match literal.split_once('=') {
                Some((key, value)) if !key.is_empty() => self.add(key, value.as_bytes().to_vec())?,
                _ => return Err(Error::Message(format!("error: invalid literal source {literal}, expected key=value"))),
            }
        }
        Ok(())
    }

    /// `ParseFileSource` and the file or directory it names.
    fn add_files(&mut self, s: &Session, sources: &[String]) -> std::result::Result<(), Error> {
        let fail = |text: String| Err(Error::Message(format!("error: {text}")));
        for source in sources {
            let (key, path) = match source.matches('=').count() {
                0 => (go_path_base(source), source.as_str()),
                1 if source.starts_with('=') => return fail(format!("key name for file path {} missing", &source[1..])),
                1 if source.ends_with('=') => return fail(format!("file path for key name {} missing", &source[..source.len() - 1])),
                1 => source.split_once('=').map(|(k, p)| (k.to_string(), p)).unwrap_or_default(),
                _ => return fail("key names or file paths cannot contain '='".to_string()),
            };
            match s.files.entry(path) {
                Err(reason) => return fail(format!("error reading {path}: {reason}")),
                Ok(FileEntry::File(bytes)) => self.add(&key, bytes)?,
                Ok(FileEntry::Dir(files)) => {
                    if source.contains('=') {
                        return fail("cannot give a key name for a directory path".to_string());
                    }
                    for (name, bytes) in files {
                        self.add(&name, bytes)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `AddFromEnvFile`: one `KEY=value` a line; blank lines and `#`
    /// comments skipped; a line without `=` takes the variable from the
    /// environment kubectl runs in, which here has none set.
    fn add_env_files(&mut self, s: &Session, paths: &[String]) -> std::result::Result<(), Error> {
        let fail = |text: String| Err(Error::Message(format!("error: {text}")));
        for path in paths {
            let bytes = match s.files.entry(path) {
                Err(reason) => return fail(format!("error reading {path}: {reason}")),
                Ok(FileEntry::Dir(_)) if self.kind == PayloadKind::ConfigMap => return fail("env config file cannot be a directory".to_string()),
                Ok(FileEntry::Dir(_)) => return fail("env secret file cannot be a directory".to_string()),
                Ok(FileEntry::File(bytes)) => bytes,
            };
            for (number, line) in scanner_lines(&bytes).into_iter().enumerate() {
                let Ok(text) = std::str::from_utf8(line) else {
                    let listed: Vec<String> = line.iter().map(u8::to_string).collect();
                    return fail(format!("env file {path} contains invalid utf8 bytes at line {}: [{}]", number + 1, listed.join(" ")));
                };
                let text = if number == 0 { text.strip_prefix('\u{feff}').unwrap_or(text) } else { text };
                let text = text.trim_start();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                let (key, value) = text.split_once('=').unwrap_or((text, ""));
                let problems = super::set::env_var_name_problems(key);
                if !problems.is_empty() {
                    return fail(format!("{key:?} is not a valid key name: {}", problems.join(";")));
                }
                self.add(key, value.as_bytes().to_vec())?;
            }
        }
        Ok(())
    }

    /// A ConfigMap's `data` (UTF-8 values) and `binaryData` (the rest).
    fn split_text(self) -> (BTreeMap<String, String>, BTreeMap<String, ByteString>) {
        let mut data = BTreeMap::new();
        let mut binary = BTreeMap::new();
        for (key, value) in self.entries {
            match String::from_utf8(value) {
                Ok(text) => {
                    data.insert(key, text);
                }
                Err(e) => {
                    binary.insert(key, ByteString(e.into_bytes()));
                }
            }
        }
        (data, binary)
    }
}

/// Go's `path.Base(filepath.ToSlash(p))`: the last element, trailing
/// slashes ignored; `/` for a path of slashes, `.` for an empty one.
fn go_path_base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { ".".to_string() } else { "/".to_string() };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// The lines `bufio.Scanner` gives: split at `\n`, a `\r` before it
/// dropped, no empty line after a final newline.
fn scanner_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

/// kubectl's `hash.ConfigMapHash`: the name's suffix for `--append-hash`.
fn config_map_hash(cm: &ConfigMap) -> String {
    // encoding/json of a map: keys sorted; `data` written even when null.
    let mut m = serde_json::Map::new();
    if let Some(binary) = cm.binary_data.as_ref().filter(|b| !b.is_empty()) {
        m.insert("binaryData".into(), serde_json::to_value(binary).unwrap_or(Value::Null));
    }
    m.insert("data".into(), serde_json::to_value(cm.data.clone().unwrap_or_default()).unwrap_or(Value::Null));
    if let Some(immutable) = cm.immutable {
        m.insert("immutable".into(), Value::Bool(immutable));
    }
    m.insert("kind".into(), "ConfigMap".into());
    m.insert("name".into(), cm.metadata.name.clone().unwrap_or_default().into());
    name_hash(&Value::Object(m))
}

/// kubectl's `hash.SecretHash`.
fn secret_hash(secret: &Secret) -> String {
    let mut m = serde_json::Map::new();
    m.insert("data".into(), serde_json::to_value(secret.data.clone().unwrap_or_default()).unwrap_or(Value::Null));
    if let Some(immutable) = secret.immutable {
        m.insert("immutable".into(), Value::Bool(immutable));
    }
    m.insert("kind".into(), "Secret".into());
    m.insert("name".into(), secret.metadata.name.clone().unwrap_or_default().into());
    m.insert("type".into(), secret.type_.clone().unwrap_or_default().into());
    name_hash(&Value::Object(m))
}

/// `encodeHash(hash(json))`: SHA-256's first ten hex digits, with `0`, `1`,
/// `3`, `a` and `e` turned into `g`, `h`, `k`, `m` and `t`.
pub(crate) fn name_hash(value: &Value) -> String {
    use sha2::{Digest, Sha256};
    let encoded = crate::engine::kubectl::printers::json::to_json_compact(value);
    let digest = Sha256::digest(encoded.as_bytes());
    digest
        .iter()
        .take(5)
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|nibble| match nibble {
            0 => 'g',
            1 => 'h',
            3 => 'k',
            10 => 'm',
            14 => 't',
            n => char::from_digit(u32::from(n), 16).unwrap_or('0'),
        })
        .collect()
}

/// `kubectl create secret docker-registry`: a `kubernetes.io/dockerconfigjson`
/// secret whose `.dockerconfigjson` holds one `auths` entry (as
/// create_secret_docker.go marshals it), or the given file.
fn docker_registry_secret(s: &mut Session) -> Result {
    use base64::Engine;
    let name = one_name(s)?;
    let text = |flag: &str| s.args.value(flag).unwrap_or("").to_string();
    let (username, password, email) = (text("docker-username"), text("docker-password"), text("docker-email"));
    let server = s.args.value("docker-server").unwrap_or("https://index.docker.io/v1/").to_string();
    let files = s.args.values("from-file");
    if files.is_empty() && (username.is_empty() || password.is_empty() || server.is_empty()) {
        return Err(Error::Message(
            "Error: either --from-file or the combination of --docker-username, --docker-password and --docker-server is required".to_string(),
        ));
    }
    let config = match files.last() {
        Some(source) => {
            let path = source.split_once('=').map_or(source.as_str(), |(_, p)| p);
            s.files.read(path).map_err(|e| Error::Message(format!("error: error reading {path}: {}", e.trim_start_matches("error: "))))?
        }
        None => {
            // Go's field order: username, password, email, auth.
            let quote = |v: &str| serde_json::Value::from(v).to_string();
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            let fields: Vec<String> = [("username", &username), ("password", &password), ("email", &email), ("auth", &auth)]
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("\"{k}\":{}", quote(v)))
                .collect();
            format!("{{\"auths\":{{{}:{{{}}}}}}}", quote(&server), fields.join(","))
        }
    };
    let secret = Secret {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        data: Some(BTreeMap::from([(".dockerconfigjson".to_string(), ByteString(config.into_bytes()))])),
        type_: Some("kubernetes.io/dockerconfigjson".to_string()),
        ..Default::default()
    };
    submit_generated(s, Object::Secret(Box::new(secret)), Some("failed to create secret "), "created")
}

fn job_pod_spec(name: &str, image: &str, command: &[String], restart: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta::default()),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: name.to_string(),
                image: Some(image.to_string()),
                command: (!command.is_empty()).then(|| command.to_vec()),
                resources: Some(ResourceRequirements::default()),
                ..Default::default()
            }],
            restart_policy: Some(restart.to_string()),
            ..Default::default()
        }),
    }
}

fn job(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let image = s.args.value("image").map(str::to_string).filter(|i| !i.is_empty());
    let from = s.args.value("from").map(str::to_string).filter(|f| !f.is_empty());
    if image.is_some() == from.is_some() {
        return Err(Error::Message("error: either --image or --from must be specified".to_string()));
    }
    let command = s.args.after_dash.clone();
    if let Some(from) = from {
        if !command.is_empty() {
            return Err(Error::Message("error: cannot specify --from and command".to_string()));
        }
        let job = job_from_cron_job(s, &name, &from)?;
        return submit_generated(s, Object::Job(Box::new(job)), Some("failed to create job: "), "created");
    }
    let image = image.unwrap_or_default();
    let job = Job {
        metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() },
        spec: Some(std::rc::Rc::new(JobSpec { template: job_pod_spec(&name, &image, &command, "Never"), ..Default::default() })),
        status: Some(JobStatus::default()),
    };
    submit_generated(s, Object::Job(Box::new(job)), Some("failed to create job: "), "created")
}

/// A Job from a CronJob's template, started by hand (`createJobFromCronJob`):
/// marked `cronjob.kubernetes.io/instantiate: manual` and owned by the
/// CronJob, without blocking its deletion.
fn job_from_cron_job(s: &Session, name: &str, from: &str) -> std::result::Result<Job, Error> {
    let (kind, cron_name) = from.split_once('/').unwrap_or((from, ""));
    let rid = crate::engine::api::resolve_resource_arg(kind)
        .ok_or_else(|| Error::Message(format!("error: the server doesn't have a resource type \"{kind}\"")))?;
    if cron_name.is_empty() {
        return Err(Error::Message("error: from must be an existing cronjob".to_string()));
    }
    let obj = s.cluster.sim.api.get(rid, &s.namespace(), cron_name).map_err(Error::Api)?;
    let Object::CronJob(cj) = &*obj else {
        let rt = resource(rid);
        return Err(Error::Message(format!("error: unknown object type *{}.{}", rt.version, rt.kind)));
    };
    let spec = cj.spec.clone().unwrap_or_default();
    let template_meta = spec.job_template.metadata.clone().unwrap_or_default();
    let mut annotations = BTreeMap::from([("cronjob.kubernetes.io/instantiate".to_string(), "manual".to_string())]);
    annotations.extend(template_meta.annotations.unwrap_or_default());
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            annotations: Some(annotations),
            labels: template_meta.labels,
            owner_references: Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "batch/v1".to_string(),
                kind: "CronJob".to_string(),
                name: cj.metadata.name.clone().unwrap_or_default(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            ..Default::default()
        },
        spec: spec.job_template.spec.clone().map(std::rc::Rc::new),
        status: Some(JobStatus::default()),
    })
}

fn cronjob(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let image = required(s, "image")?;
    let schedule = required(s, "schedule")?;
    let restart = s.args.value("restart").unwrap_or("OnFailure").to_string();
    let command = s.args.after_dash.clone();
    let cj = CronJob {
        metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() },
        spec: Some(CronJobSpec {
            schedule,
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta { name: Some(name.clone()), ..Default::default() }),
                spec: Some(JobSpec { template: job_pod_spec(&name, &image, &command, &restart), ..Default::default() }),
            },
            ..Default::default()
        }),
        status: Some(CronJobStatus::default()),
    };
    submit_generated(s, Object::CronJob(Box::new(cj)), Some("failed to create cronjob: "), "created")
}

fn serviceaccount(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let sa = ServiceAccount { metadata: ObjectMeta { name: Some(name), ..Default::default() }, ..Default::default() };
    submit_generated(s, Object::ServiceAccount(Box::new(sa)), Some("failed to create serviceaccount: "), "created")
}

