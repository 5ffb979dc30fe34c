//! `kubectl describe`: kubectl 1.33's describers (staging/src/k8s.io/kubectl/
//! pkg/describe/describe.go) for pods, deployments, replica sets, nodes,
//! services, namespaces, config maps and secrets (storage kinds in
//! `storage.rs`; StatefulSets, DaemonSets, Jobs and CronJobs in
//! `workloads.rs`; resource quotas in `quota.rs`; priority classes), and its generic
//! describer for every other kind. Text is written with tabs and aligned by
//! Go's tabwriter, as kubectl does, so column blocks line up the same way.

mod autoscaling;
mod limits;
mod network;
mod pdb;
mod quota;
pub(super) mod rbac;
mod storage;
mod workloads;

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, ContainerState, ContainerStatus, Event, PodTemplateSpec, Toleration, Volume};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::engine::api::{ids, meta, resource, Object, Reason};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::printers::tables::{age, age_or_invalid, format_label_selector, format_labels, selector_string};
use crate::engine::kubectl::printers::tabwriter::DESCRIBE;
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::selector::{FieldSelector, Selector};
use crate::engine::sim::clock::VirtualTime;

use super::get::{event_interval, resolve, sort_events};
use crate::engine::quantity::{parse_stored, Quantity};

/// kubectl shortens annotation values longer than this.
const MAX_ANNOTATION_LEN: usize = 140;

pub fn run(s: &mut Session) -> Result {
    let args = s.args.positionals.clone();
    let all_namespaces = s.args.flag("all-namespaces");
    let namespace = s.namespace();
    let from_files = crate::engine::kubectl::manifest::file_sources_given(s);
    if from_files {
        return describe_from_files(s, &args);
    }
    let Some(first) = args.first() else {
        return Err(Error::Message("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nSee 'kubectl describe -h' for help and examples".to_string()));
    };
    crate::engine::kubectl::targets::check_names_and_selectors(s, &args, false)?;
    let mut targets: Vec<(crate::engine::api::ResourceId, Option<String>)> = Vec::new();
    if first.contains('/') {
        for arg in &args {
            let (kind, name) = arg.split_once('/').ok_or_else(|| {
                Error::Message("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'".to_string())
            })?;
            targets.push((resolve(kind)?, Some(name.to_string())));
        }
    } else {
        let mut ids = Vec::new();
        for word in first.split(',').filter(|w| !w.is_empty()) {
            ids.push(resolve(word)?);
        }
        for id in ids {
            if args.len() > 1 {
                targets.extend(args[1..].iter().map(|n| (id, Some(n.clone()))));
            } else {
                targets.push((id, None));
            }
        }
    }
    let labels = match s.args.value("selector") {
        Some(text) => Selector::parse(text).map_err(|e| Error::Message(format!("error: {e}")))?,
        None => Selector::everything(),
    };
    let show_events = s.args.value("show-events").is_none_or(|v| v == "true");
    let mut objects: Vec<Rc<Object>> = Vec::new();
    let mut errors = Vec::new();
    for (id, name) in &targets {
        match name {
            Some(name) => match s.cluster.sim.api.get(*id, &namespace, name) {
                Ok(o) => objects.push(o),
                // Unknown: a ComponentStatus's unknown name.
                Err(e) if matches!(e.reason, Reason::NotFound | Reason::Unknown) => errors.push(e),
                Err(e) => return Err(Error::Api(e)),
            },
            None => {
                let rt = resource(*id);
                let query = if all_namespaces || !rt.namespaced { Query::all(*id) } else { Query::in_namespace(*id, &namespace) };
                let (items, _) = s.cluster.sim.api.list(&query.with_labels(labels.clone())).map_err(|e| crate::engine::kubectl::targets::enhance_list_error(s, *id, e))?;
                objects.extend(items);
            }
        }
    }
    let now = s.cluster.now();
    // kubectl's DescribeMatchingResources: `describe TYPE NAME` naming no
    // object describes every one of that type in the namespace whose name
    // starts with NAME, each followed by a blank line; the NotFound stands
    // only when none does.
    let single_type = targets.first().map(|(id, _)| *id).filter(|_| args.len() == 2 && !first.contains('/') && !first.contains(','));
    if let (Some(id), true) = (single_type, objects.is_empty() && errors.len() == 1 && errors.iter().all(|e| e.reason == Reason::NotFound)) {
        let prefix = &args[1];
        let query = if resource(id).namespaced { Query::in_namespace(id, &namespace) } else { Query::all(id) };
        let (items, _) = s.cluster.sim.api.list(&query).map_err(|e| crate::engine::kubectl::targets::enhance_list_error(s, id, e))?;
        let matching: Vec<Rc<Object>> = items.into_iter().filter(|o| o.meta().name.as_deref().is_some_and(|n| n.starts_with(prefix.as_str()))).collect();
        if !matching.is_empty() {
            for obj in &matching {
                let text = describe_object(s, obj, show_events, now);
                s.out.push_str(&text);
                s.out.push('\n');
            }
            return Ok(());
        }
    }
    for (i, obj) in objects.iter().enumerate() {
        let text = describe_object(s, obj, show_events, now);
        if i > 0 {
            s.out.push_str("\n\n");
        }
        s.out.push_str(&text);
    }
    if objects.is_empty() && errors.is_empty() {
        // kubectl names the namespace even when only cluster-scoped kinds were asked for.
        if !all_namespaces {
            s.err.push_str(&format!("No resources found in {namespace} namespace.\n"));
        } else {
            s.err.push_str("No resources found\n");
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        let line = s.format_api_error(e);
        s.err.push_str(&line);
        s.err.push('\n');
    }
    Err(Error::Silent)
}

/// `describe -f FILE` or `-k DIR`: the objects the files name, each read
/// from the server in its own namespace, in the files' order; a missing
/// one's NotFound after the others (the builder's `ContinueOnError`).
fn describe_from_files(s: &mut Session, args: &[String]) -> Result {
    let (found, failures) = crate::engine::kubectl::targets::resolve(s, args, false)?;
    let show_events = s.args.value("show-events").is_none_or(|v| v == "true");
    let now = s.cluster.now();
    let mut errors = Vec::new();
    let mut described = 0;
    for target in found {
        match s.cluster.sim.api.get(target.rid, &target.namespace, &target.name) {
            Ok(obj) => {
                let text = describe_object(s, &obj, show_events, now);
                if described > 0 {
                    s.out.push_str("\n\n");
                }
                s.out.push_str(&text);
                described += 1;
            }
            Err(e) if matches!(e.reason, Reason::NotFound) => errors.push(e),
            Err(e) => return Err(Error::Api(e)),
        }
    }
    for e in &errors {
        let line = s.format_api_error(e);
        s.err.push_str(&line);
        s.err.push('\n');
    }
    crate::engine::kubectl::manifest::finish_as_aggregate(s, failures)?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Silent)
    }
}

/// The describe text for one object, aligned.
pub fn describe_object(s: &Session, obj: &Object, show_events: bool, now: VirtualTime) -> String {
    let events = if show_events && has_events(obj) { Some(events_for(s, obj)) } else { None };
    let mut w = Writer::default();
    match obj {
        Object::Pod(pod) => describe_pod(&mut w, pod, now),
        Object::Deployment(_) => describe_deployment(&mut w, s, obj),
        Object::ReplicaSet(_) => describe_replica_set(&mut w, s, obj),
        Object::ReplicationController(rc) => describe_replication_controller(&mut w, s, rc),
        Object::Node(_) => describe_node(&mut w, s, obj, now),
        Object::Service(_) => describe_service(&mut w, s, obj),
        Object::Namespace(_) => describe_namespace(&mut w, s, obj),
        Object::PodDisruptionBudget(p) => pdb::describe(&mut w, p),
        Object::ResourceQuota(q) => quota::describe_quota(&mut w, q),
        Object::LimitRange(lr) => limits::describe_limit_range(&mut w, lr),
        Object::StatefulSet(set) => workloads::describe_stateful_set(&mut w, s, obj, set),
        Object::DaemonSet(ds) => workloads::describe_daemon_set(&mut w, s, obj, ds),
        Object::Job(job) => workloads::describe_job(&mut w, obj, job),
        Object::CronJob(cj) => workloads::describe_cron_job(&mut w, cj),
        Object::ConfigMap(cm) => {
            header(&mut w, obj);
            w.line(0, "\nData\n====");
            for (k, v) in cm.data.iter().flatten() {
                w.line(0, &format!("{k}:\n----"));
                w.line(0, v);
                // kubectl 1.33 ends each value with a blank line.
                w.line(0, "");
            }
            w.line(0, "\nBinaryData\n====");
            for (k, v) in cm.binary_data.iter().flatten() {
                w.line(0, &format!("{k}: {} bytes", v.0.len()));
            }
            w.line(0, "");
        }
        Object::Secret(secret) => {
            header(&mut w, obj);
            w.line(0, &format!("\nType:\t{}", secret.type_.as_deref().unwrap_or("")));
            w.line(0, "\nData\n====");
            for (k, v) in secret.data.iter().flatten() {
                if k == "token" && secret.type_.as_deref() == Some("kubernetes.io/service-account-token") {
                    w.line(0, &format!("{k}:\t{}", String::from_utf8_lossy(&v.0)));
                } else {
                    w.line(0, &format!("{k}:\t{} bytes", v.0.len()));
                }
            }
        }
        Object::ServiceAccount(sa) => describe_service_account(&mut w, s, obj, sa),
        Object::PersistentVolume(pv) => storage::describe_persistent_volume(&mut w, pv, now),
        Object::PersistentVolumeClaim(pvc) => storage::describe_persistent_volume_claim(&mut w, s, pvc, now),
        Object::StorageClass(sc) => storage::describe_storage_class(&mut w, sc),
        Object::Ingress(ing) => network::describe_ingress(&mut w, s, ing),
        Object::IngressClass(ic) => network::describe_ingress_class(&mut w, ic),
        Object::NetworkPolicy(np) => network::describe_network_policy(&mut w, np),
        Object::Endpoints(ep) => network::describe_endpoints(&mut w, obj, ep),
        Object::EndpointSlice(slice) => network::describe_endpoint_slice(&mut w, obj, slice),
        Object::HorizontalPodAutoscaler(hpa) => autoscaling::describe_horizontal_pod_autoscaler(&mut w, hpa),
        Object::PriorityClass(pc) => describe_priority_class(&mut w, pc),
        Object::CertificateSigningRequest(csr) => describe_certificate_signing_request(&mut w, csr),
        Object::Role(r) => rbac::describe_role(&mut w, &r.metadata, r.rules.as_deref()),
        Object::ClusterRole(r) => rbac::describe_role(&mut w, &r.metadata, r.rules.as_deref()),
        Object::RoleBinding(b) => rbac::describe_binding(&mut w, &b.metadata, &b.role_ref, b.subjects.as_deref()),
        Object::ClusterRoleBinding(b) => rbac::describe_binding(&mut w, &b.metadata, &b.role_ref, b.subjects.as_deref()),
        _ => describe_generic(&mut w, obj),
    }
    if let Some(events) = events {
        describe_events(&mut w, &events, now);
    }
    DESCRIBE.format(&w.text)
}

/// `describeCertificateSigningRequest`: the requester and signer, then
/// the subject and alternative names read from `spec.request`.
fn describe_certificate_signing_request(w: &mut Writer, csr: &k8s_openapi::api::certificates::v1::CertificateSigningRequest) {
    let list = |w: &mut Writer, name: &str, values: &[String]| {
        if !values.is_empty() {
            w.line(0, &format!("\t{name}:\t{}", values.join("\n\t\t")));
        }
    };
    let request = crate::engine::certificates::parse_request(&csr.spec.request.0).unwrap_or_default();
    w.line(0, &format!("Name:\t{}", csr.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Labels:\t{}", format_labels(csr.metadata.labels.as_ref())));
    w.line(0, &format!("Annotations:\t{}", format_labels(csr.metadata.annotations.as_ref())));
    w.line(0, &format!("CreationTimestamp:\t{}", csr.metadata.creation_timestamp.as_ref().map(rfc1123z).unwrap_or_default()));
    w.line(0, &format!("Requesting User:\t{}", csr.spec.username.as_deref().unwrap_or("")));
    if !csr.spec.signer_name.is_empty() {
        w.line(0, &format!("Signer:\t{}", csr.spec.signer_name));
    }
    if let Some(seconds) = csr.spec.expiration_seconds {
        w.line(0, &format!("Requested Duration:\t{}", crate::engine::kubectl::printers::human_duration(seconds.max(0) as u64 * 1000)));
    }
    w.line(0, &format!("Status:\t{}", crate::engine::kubectl::printers::tables::csr_condition(csr)));
    w.line(0, "Subject:");
    w.line(0, &format!("\tCommon Name:\t{}", request.common_name));
    w.line(0, &format!("\tSerial Number:\t{}", request.serial_number));
    list(w, "Organization", &request.organizations);
    list(w, "Organizational Unit", &request.organizational_units);
    list(w, "Country", &request.countries);
    list(w, "Locality", &request.localities);
    list(w, "Province", &request.provinces);
    list(w, "StreetAddress", &request.street_addresses);
    list(w, "PostalCode", &request.postal_codes);
    if !(request.dns_names.is_empty() && request.email_addresses.is_empty() && request.ip_addresses.is_empty() && request.uris.is_empty()) {
        w.line(0, "Subject Alternative Names:");
        list(w, "DNS Names", &request.dns_names);
        list(w, "Email Addresses", &request.email_addresses);
        list(w, "URIs", &request.uris);
        list(w, "IP Addresses", &request.ip_addresses);
    }
}

/// `describePriorityClass`: no labels, and the annotations on one line as
/// `labels.FormatLabels` writes them.
fn describe_priority_class(w: &mut Writer, pc: &k8s_openapi::api::scheduling::v1::PriorityClass) {
    w.line(0, &format!("Name:\t{}", pc.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Value:\t{}", pc.value));
    w.line(0, &format!("GlobalDefault:\t{}", pc.global_default.unwrap_or(false)));
    w.line(0, &format!("PreemptionPolicy:\t{}", pc.preemption_policy.as_deref().unwrap_or("")));
    w.line(0, &format!("Description:\t{}", pc.description.as_deref().unwrap_or("")));
    w.line(0, &format!("Annotations:\t{}", format_labels(pc.metadata.annotations.as_ref())));
}

/// A pod template as `DescribePodTemplate` writes it, unaligned (what
/// `kubectl rollout history --revision` and `undo --dry-run` print).
pub fn pod_template_text(template: &PodTemplateSpec) -> String {
    let mut w = Writer::default();
    describe_pod_template(&mut w, template);
    w.text
}

/// `ServiceAccountDescriber`: its pull and mountable secrets (a name no
/// Secret in the namespace has marked `(not found)`) and the token Secrets
/// annotated with its name and uid, the three rows in their headers' order.
fn describe_service_account(w: &mut Writer, s: &Session, obj: &Object, sa: &k8s_openapi::api::core::v1::ServiceAccount) {
    header(w, obj);
    let namespace = sa.metadata.namespace.as_deref().unwrap_or("");
    let name = sa.metadata.name.as_deref().unwrap_or("");
    let uid = sa.metadata.uid.as_deref().unwrap_or("");
    let mut tokens = Vec::new();
    // A failed list leaves every name found, as kubectl tolerates it.
    let mut existing: Option<std::collections::BTreeSet<String>> = None;
    if let Ok((secrets, _)) = s.cluster.sim.api.list(&Query::in_namespace(ids::secrets(), namespace)) {
        let mut names = std::collections::BTreeSet::new();
        for secret in &secrets {
            let Object::Secret(secret) = &**secret else { continue };
            let secret_name = secret.metadata.name.clone().unwrap_or_default();
            if secret.type_.as_deref() == Some("kubernetes.io/service-account-token") {
                let annotation = |key: &str| secret.metadata.annotations.as_ref().and_then(|a| a.get(key)).map_or("", String::as_str);
                if annotation("kubernetes.io/service-account.name") == name && annotation("kubernetes.io/service-account.uid") == uid {
                    tokens.push(secret_name.clone());
                }
            }
            names.insert(secret_name);
        }
        existing = Some(names);
    }
    let pull: Vec<String> = sa.image_pull_secrets.iter().flatten().map(|r| r.name.clone()).collect();
    let mountable: Vec<String> = sa.secrets.iter().flatten().map(|r| r.name.clone().unwrap_or_default()).collect();
    let missing = |secret: &str| existing.as_ref().is_some_and(|names| !names.contains(secret));
    for (header, names, may_be_missing) in
        [("Image pull secrets:", &pull, true), ("Mountable secrets: ", &mountable, true), ("Tokens:            ", &tokens, false)]
    {
        if names.is_empty() {
            w.line(0, &format!("{header}\t<none>"));
        }
        for (i, secret) in names.iter().enumerate() {
            let prefix = if i == 0 { header } else { "                   " };
            let not_found = if may_be_missing && missing(secret) { " (not found)" } else { "" };
            w.line(0, &format!("{prefix}\t{secret}{not_found}"));
        }
    }
}

/// Kinds whose describers show no events.
fn has_events(obj: &Object) -> bool {
    !matches!(
        obj,
        Object::Namespace(_)
            | Object::Secret(_)
            | Object::NetworkPolicy(_)
            | Object::ResourceQuota(_)
            | Object::LimitRange(_)
            | Object::Role(_)
            | Object::ClusterRole(_)
            | Object::RoleBinding(_)
            | Object::ClusterRoleBinding(_)
    )
}

/// kubectl's `PrefixWriter`: lines indented two spaces per level.
#[derive(Default)]
struct Writer {
    text: String,
}

impl Writer {
    fn line(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
        self.text.push_str(text);
        self.text.push('\n');
    }
    fn raw(&mut self, text: &str) {
        self.text.push_str(text);
    }
}

fn rfc1123z(t: &Time) -> String {
    t.0.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

fn header(w: &mut Writer, obj: &Object) {
    let m = obj.meta();
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
}

/// `printLabelsMultilineWithIndent`: one `key=value` a line, `<none>` when empty.
fn labels_multiline(w: &mut Writer, indent: &str, title: &str, labels: Option<&BTreeMap<String, String>>) {
    w.raw(&format!("{indent}{title}:\t"));
    match labels {
        Some(l) if !l.is_empty() => {
            for (i, (k, v)) in l.iter().enumerate() {
                if i > 0 {
                    w.raw(&format!("{indent}\t"));
                }
                w.raw(&format!("{k}={v}\n"));
            }
        }
        _ => w.raw("<none>\n"),
    }
}

/// `printAnnotationsMultiline`: long or multi-line values go below their key, shortened.
fn annotations_multiline(w: &mut Writer, title: &str, annotations: Option<&BTreeMap<String, String>>) {
    w.raw(&format!("{title}:\t"));
    let entries: Vec<(&String, &String)> =
        annotations.into_iter().flatten().filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration").collect();
    if entries.is_empty() {
        w.raw("<none>\n");
        return;
    }
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            w.raw("\t");
        }
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.raw(&format!("{key}:\n"));
            for line in value.split('\n') {
                w.raw(&format!("\t  {}\n", shorten(line, MAX_ANNOTATION_LEN - 2)));
            }
        } else {
            w.raw(&format!("{key}: {value}\n"));
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() > max {
        let cut = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s.to_string()
    }
}

fn tolerations_multiline(w: &mut Writer, indent: &str, title: &str, tolerations: &[Toleration]) {
    w.raw(&format!("{indent}{title}:\t"));
    if tolerations.is_empty() {
        w.raw("<none>\n");
        return;
    }
    let mut sorted = tolerations.to_vec();
    sorted.sort_stable_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in sorted.iter().enumerate() {
        if i > 0 {
            w.raw(&format!("{indent}\t"));
        }
        let key = t.key.clone().unwrap_or_default();
        let value = t.value.clone().unwrap_or_default();
        let effect = t.effect.clone().unwrap_or_default();
        let mut text = key.clone();
        if !value.is_empty() {
            text.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            text.push_str(&format!(":{effect}"));
        }
        if t.operator.as_deref() == Some("Exists") && value.is_empty() {
            text.push_str(if key.is_empty() && effect.is_empty() { "op=Exists" } else { " op=Exists" });
        }
        if let Some(secs) = t.toleration_seconds {
            text.push_str(&format!(" for {secs}s"));
        }
        w.raw(&format!("{text}\n"));
    }
}

fn controlled_by(obj: &Object) -> Option<String> {
    meta::controller_of(obj.meta().owner_references.as_ref()).map(|o| format!("{}/{}", o.kind, o.name))
}

fn describe_pod(w: &mut Writer, pod: &Pod, now: VirtualTime) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let m = &pod.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    if let Some(p) = spec.priority {
        w.line(0, &format!("Priority:\t{p}"));
    }
    if let Some(pc) = spec.priority_class_name.as_deref().filter(|p| !p.is_empty()) {
        w.line(0, &format!("Priority Class Name:\t{pc}"));
    }
    if let Some(rc) = spec.runtime_class_name.as_deref().filter(|p| !p.is_empty()) {
        w.line(0, &format!("Runtime Class Name:\t{rc}"));
    }
    if let Some(sa) = spec.service_account_name.as_deref().filter(|p| !p.is_empty()) {
        w.line(0, &format!("Service Account:\t{sa}"));
    }
    match pod.bound_node() {
        Some(node) => w.line(0, &format!("Node:\t{node}/{}", status.host_ip.as_deref().unwrap_or(""))),
        None => w.line(0, "Node:\t<none>"),
    }
    if let Some(start) = &status.start_time {
        w.line(0, &format!("Start Time:\t{}", rfc1123z(start)));
    }
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    let phase = status.phase.clone().unwrap_or_default();
    match &m.deletion_timestamp {
        Some(ts) if phase != "Failed" && phase != "Succeeded" => {
            w.line(0, &format!("Status:\tTerminating (lasts {})", age_or_invalid(ts, now)));
            w.line(0, &format!("Termination Grace Period:\t{}s", m.deletion_grace_period_seconds.unwrap_or(0)));
        }
        _ => w.line(0, &format!("Status:\t{phase}")),
    }
    if let Some(r) = status.reason.as_deref().filter(|r| !r.is_empty()) {
        w.line(0, &format!("Reason:\t{r}"));
    }
    if let Some(msg) = status.message.as_deref().filter(|r| !r.is_empty()) {
        w.line(0, &format!("Message:\t{msg}"));
    }
    if let Some(seccomp) = spec.security_context.as_ref().and_then(|c| c.seccomp_profile.as_ref()) {
        w.line(0, &format!("SeccompProfile:\t{}", seccomp.type_));
        if seccomp.type_ == "Localhost" {
            w.line(0, &format!("LocalhostProfile:\t{}", seccomp.localhost_profile.as_deref().unwrap_or("")));
        }
    }
    w.line(0, &format!("IP:\t{}", status.pod_ip.as_deref().unwrap_or("")));
    match status.pod_ips.as_ref().filter(|ips| !ips.is_empty()) {
        None => w.line(0, "IPs:\t<none>"),
        Some(ips) => {
            w.line(0, "IPs:");
            for ip in ips {
                w.line(1, &format!("IP:\t{}", ip.ip));
            }
        }
    }
    if let Some(c) = controlled_by(&Object::Pod(Box::new(pod.clone()))) {
        w.line(0, &format!("Controlled By:\t{c}"));
    }
    if let Some(n) = status.nominated_node_name.as_deref().filter(|n| !n.is_empty()) {
        w.line(0, &format!("NominatedNodeName:\t{n}"));
    }
    if let Some(init) = spec.init_containers.as_ref().filter(|c| !c.is_empty()) {
        describe_containers(w, "Init Containers", init, status.init_container_statuses.as_deref(), "", Some(pod));
    }
    describe_containers(w, "Containers", &spec.containers, Some(status.container_statuses.as_deref().unwrap_or(&[])), "", Some(pod));
    if let Some(ephemeral) = spec.ephemeral_containers.as_ref().filter(|c| !c.is_empty()) {
        let as_containers: Vec<Container> = ephemeral.iter().map(crate::engine::node::kubelet::ephemeral_as_container).collect();
        describe_containers(w, "Ephemeral Containers", &as_containers, Some(status.ephemeral_container_statuses.as_deref().unwrap_or(&[])), "", Some(pod));
    }
    if let Some(gates) = spec.readiness_gates.as_ref().filter(|g| !g.is_empty()) {
        w.line(0, "Readiness Gates:\n  Type\tStatus");
        for g in gates {
            let st = status.conditions.iter().flatten().find(|c| c.type_ == g.condition_type).map(|c| c.status.clone()).unwrap_or_else(|| "<none>".into());
            w.line(1, &format!("{} \t{} ", g.condition_type, st));
        }
    }
    if let Some(conds) = status.conditions.as_ref().filter(|c| !c.is_empty()) {
        w.line(0, "Conditions:\n  Type\tStatus");
        for c in conds {
            w.line(1, &format!("{} \t{} ", c.type_, c.status));
        }
    }
    describe_volumes(w, spec.volumes.as_deref().unwrap_or(&[]), pod.token_volume.as_deref(), "");
    let qos = status.qos_class.clone().unwrap_or_else(|| qos_class(pod));
    w.line(0, &format!("QoS Class:\t{qos}"));
    labels_multiline(w, "", "Node-Selectors", spec.node_selector.as_ref());
    tolerations_multiline(w, "", "Tolerations", spec.tolerations.as_deref().unwrap_or(&[]));
    topology_spread_constraints(w, spec.topology_spread_constraints.as_deref().unwrap_or(&[]), "");
}

/// `describeTopologySpreadConstraints`: nothing without constraints, else
/// one a line sorted by topology key.
fn topology_spread_constraints(w: &mut Writer, constraints: &[k8s_openapi::api::core::v1::TopologySpreadConstraint], space: &str) {
    if constraints.is_empty() {
        return;
    }
    let mut sorted = constraints.to_vec();
    sorted.sort_stable_by(|a, b| a.topology_key.cmp(&b.topology_key));
    w.raw(&format!("{space}Topology Spread Constraints:\t"));
    for (i, c) in sorted.iter().enumerate() {
        if i > 0 {
            w.raw(&format!("{space}\t"));
        }
        let mut text = format!("{}:{} when max skew {} is exceeded", c.topology_key, c.when_unsatisfiable, c.max_skew);
        if let Some(selector) = &c.label_selector {
            text.push_str(&format!(" for selector {}", format_label_selector(Some(selector))));
        }
        w.raw(&format!("{text}\n"));
    }
}

/// The QoS class the API server would have set.
fn qos_class(pod: &Pod) -> String {
    let containers = pod.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let r = c.resources.clone().unwrap_or_default();
        let requests = r.requests.unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        if !requests.is_empty() || !limits.is_empty() {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let l = limits.get(res);
            let q = requests.get(res).or(l);
            if l.is_none() || q.map(|x| &x.0) != l.map(|x| &x.0) {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort".into()
    } else if guaranteed {
        "Guaranteed".into()
    } else {
        "Burstable".into()
    }
}

fn describe_containers(w: &mut Writer, label: &str, containers: &[Container], statuses: Option<&[ContainerStatus]>, space: &str, pod: Option<&Pod>) {
    w.line(0, &format!("{space}{label}:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in containers {
        let status = statuses.and_then(|st| st.iter().find(|x| x.name == c.name));
        w.line(1, &format!("{name_indent}{}:", c.name));
        if let Some(st) = status {
            w.line(2, &format!("Container ID:\t{}", st.container_id.as_deref().unwrap_or("")));
        }
        w.line(2, &format!("Image:\t{}", c.image.as_deref().unwrap_or("")));
        if let Some(st) = status {
            w.line(2, &format!("Image ID:\t{}", st.image_id));
        }
        let ports = c.ports.clone().unwrap_or_default();
        let port_text: Vec<String> = ports.iter().map(|p| format!("{}/{}", p.container_port, p.protocol.as_deref().unwrap_or("TCP"))).collect();
        let host_text: Vec<String> = ports.iter().map(|p| format!("{}/{}", p.host_port.unwrap_or(0), p.protocol.as_deref().unwrap_or("TCP"))).collect();
        if port_text.len() > 1 {
            w.line(2, &format!("Ports:\t{}", port_text.join(", ")));
        } else {
            w.line(2, &format!("Port:\t{}", port_text.first().cloned().unwrap_or_else(|| "<none>".into())));
        }
        if host_text.len() > 1 {
            w.line(2, &format!("Host Ports:\t{}", host_text.join(", ")));
        } else {
            w.line(2, &format!("Host Port:\t{}", host_text.first().cloned().unwrap_or_else(|| "<none>".into())));
        }
        for (title, words) in [("Command", &c.command), ("Args", &c.args)] {
            if let Some(words) = words.as_ref().filter(|w| !w.is_empty()) {
                w.line(2, &format!("{title}:"));
                for word in words {
                    for part in word.split('\n') {
                        w.line(3, part);
                    }
                }
            }
        }
        if let Some(st) = status {
            describe_state(w, "State", st.state.as_ref());
            if let Some(last) = st.last_state.as_ref().filter(|l| l.terminated.is_some()) {
                describe_state(w, "Last State", Some(last));
            }
            w.line(2, &format!("Ready:\t{}", if st.ready { "True" } else { "False" }));
            w.line(2, &format!("Restart Count:\t{}", st.restart_count));
        }
        let resources = c.resources.clone().unwrap_or_default();
        for (title, list) in [("Limits", resources.limits), ("Requests", resources.requests)] {
            if let Some(list) = list.filter(|l| !l.is_empty()) {
                w.line(2, &format!("{title}:"));
                for (name, q) in &list {
                    w.line(3, &format!("{name}:\t{}", q.0));
                }
            }
        }
        for (title, probe) in [("Liveness", &c.liveness_probe), ("Readiness", &c.readiness_probe), ("Startup", &c.startup_probe)] {
            if let Some(p) = probe {
                w.line(2, &format!("{title}:\t{}", describe_probe(p)));
            }
        }
        if let Some(from) = c.env_from.as_ref().filter(|e| !e.is_empty()) {
            w.line(2, "Environment Variables from:");
            for e in from {
                let (name, kind, optional) = if let Some(cm) = &e.config_map_ref {
                    (cm.name.clone(), "ConfigMap", cm.optional.unwrap_or(false))
                } else if let Some(sec) = &e.secret_ref {
                    (sec.name.clone(), "Secret", sec.optional.unwrap_or(false))
                } else {
                    (String::new(), "", false)
                };
                match e.prefix.as_deref().filter(|p| !p.is_empty()) {
                    None => w.line(3, &format!("{name}\t{kind}\tOptional: {optional}")),
                    Some(p) => w.line(3, &format!("{name}\t{kind} with prefix '{p}'\tOptional: {optional}")),
                }
            }
        }
        let env = c.env.clone().unwrap_or_default();
        w.line(2, &format!("Environment:{}", if env.is_empty() { "\t<none>" } else { "" }));
        for e in &env {
            match &e.value_from {
                None => {
                    for (i, part) in e.value.clone().unwrap_or_default().split('\n').enumerate() {
                        if i == 0 {
                            w.line(3, &format!("{}:\t{part}", e.name));
                        } else {
                            w.line(3, &format!("\t{part}"));
                        }
                    }
                }
                Some(from) => {
                    if let Some(f) = &from.field_ref {
                        let value = pod.map(|p| field_ref_value(p, &f.field_path)).unwrap_or_default();
                        w.line(3, &format!("{}:\t{value} ({}:{})", e.name, f.api_version.as_deref().unwrap_or("v1"), f.field_path));
                    } else if let Some(r) = &from.resource_field_ref {
                        let mut value = container_resource_value(r, c).unwrap_or_default();
                        if value == "0" && (r.resource == "limits.cpu" || r.resource == "limits.memory") {
                            value = "node allocatable".to_string();
                        }
                        w.line(3, &format!("{}:\t{value} ({})", e.name, r.resource));
                    } else if let Some(k) = &from.secret_key_ref {
                        w.line(3, &format!("{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}", e.name, k.key, k.name, k.optional.unwrap_or(false)));
                    } else if let Some(k) = &from.config_map_key_ref {
                        w.line(3, &format!("{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}", e.name, k.key, k.name, k.optional.unwrap_or(false)));
                    }
                }
            }
        }
        let mut mounts = c.volume_mounts.clone().unwrap_or_default();
        w.line(2, &format!("Mounts:{}", if mounts.is_empty() { "\t<none>" } else { "" }));
        mounts.sort_stable_by(|a, b| a.mount_path.cmp(&b.mount_path));
        for mnt in &mounts {
            let mut flags = vec![if mnt.read_only.unwrap_or(false) { "ro".to_string() } else { "rw".to_string() }];
            if let Some(sub) = mnt.sub_path.as_deref().filter(|s| !s.is_empty()) {
                flags.push(format!("path={sub:?}"));
            }
            let name = pod.map_or(mnt.name.as_str(), |p| p.volume_name(&mnt.name));
            w.line(3, &format!("{} from {} ({})", mnt.mount_path, name, flags.join(",")));
        }
        if let Some(devices) = c.volume_devices.as_ref().filter(|d| !d.is_empty()) {
            // kubectl reuses the mounts' `<none>` here: a container with
            // devices and no mounts prints `Devices:  <none>` above its list.
            w.line(2, &format!("Devices:{}", if mounts.is_empty() { "\t<none>" } else { "" }));
            let mut devices = devices.clone();
            devices.sort_stable_by(|a, b| a.device_path.cmp(&b.device_path));
            for device in &devices {
                w.line(3, &format!("{} from {}", device.device_path, device.name));
            }
        }
    }
}

/// `EnvValueRetriever`: kubectl's scheme registers no field label
/// conversions, so `ConvertFieldLabel` passes only metadata.name and
/// metadata.namespace; every other path (spec.nodeName, status.podIP,
/// metadata.uid, labels) shows blank, as `NODE_NAME:   (v1:spec.nodeName)`.
fn field_ref_value(pod: &Pod, path: &str) -> String {
    match path {
        "metadata.name" => pod.metadata.name.clone().unwrap_or_default(),
        "metadata.namespace" => pod.metadata.namespace.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// kubectl's `ExtractContainerResourceValue`: the container's own request or
/// limit (zero when unset) over the divisor (1 when unset or zero), rounded
/// up; `None` for a resource it does not know.
fn container_resource_value(selector: &k8s_openapi::api::core::v1::ResourceFieldSelector, c: &Container) -> Option<String> {
    let divisor = selector.divisor.as_ref().and_then(parse_stored).filter(|d| !d.is_zero()).unwrap_or_else(|| Quantity::parse("1").unwrap_or_else(|_| Quantity::zero()));
    let (list_name, name) = selector.resource.split_once('.')?;
    let resources = c.resources.clone().unwrap_or_default();
    let list = match list_name {
        "limits" => resources.limits,
        "requests" => resources.requests,
        _ => return None,
    };
    let amount = list.as_ref().and_then(|l| l.get(name)).and_then(parse_stored).unwrap_or_else(Quantity::zero);
    // Go converts both to float64 and takes the ceiling.
    let ratio = match name {
        "cpu" => amount.milli_value() as f64 / divisor.milli_value() as f64,
        "memory" | "ephemeral-storage" => amount.value() as f64 / divisor.value() as f64,
        _ if name.starts_with("hugepages-") => amount.value() as f64 / divisor.value() as f64,
        _ => return None,
    };
    Some((ratio.ceil() as i64).to_string())
}

fn describe_state(w: &mut Writer, title: &str, state: Option<&ContainerState>) {
    let state = state.cloned().unwrap_or_default();
    if let Some(r) = &state.running {
        w.line(2, &format!("{title}:\tRunning"));
        w.line(3, &format!("Started:\t{}", r.started_at.as_ref().map(rfc1123z).unwrap_or_default()));
    } else if let Some(wt) = &state.waiting {
        w.line(2, &format!("{title}:\tWaiting"));
        if let Some(r) = wt.reason.as_deref().filter(|r| !r.is_empty()) {
            w.line(3, &format!("Reason:\t{r}"));
        }
    } else if let Some(t) = &state.terminated {
        w.line(2, &format!("{title}:\tTerminated"));
        if let Some(r) = t.reason.as_deref().filter(|r| !r.is_empty()) {
            w.line(3, &format!("Reason:\t{r}"));
        }
        if let Some(m) = t.message.as_deref().filter(|r| !r.is_empty()) {
            w.line(3, &format!("Message:\t{m}"));
        }
        w.line(3, &format!("Exit Code:\t{}", t.exit_code));
        if let Some(sig) = t.signal.filter(|s| *s > 0) {
            w.line(3, &format!("Signal:\t{sig}"));
        }
        w.line(3, &format!("Started:\t{}", t.started_at.as_ref().map(rfc1123z).unwrap_or_default()));
        w.line(3, &format!("Finished:\t{}", t.finished_at.as_ref().map(rfc1123z).unwrap_or_default()));
    } else {
        w.line(2, &format!("{title}:\tWaiting"));
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn describe_probe(p: &k8s_openapi::api::core::v1::Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    );
    if let Some(exec) = &p.exec {
        return format!("exec [{}] {attrs}", exec.command.clone().unwrap_or_default().join(" "));
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.clone().unwrap_or_else(|| "HTTP".into()).to_lowercase();
        let host = h.host.clone().unwrap_or_default();
        let port = int_or_string(&h.port);
        return format!("http-get {scheme}://{host}:{port}{} {attrs}", h.path.clone().unwrap_or_default());
    }
    if let Some(t) = &p.tcp_socket {
        return format!("tcp-socket {}:{} {attrs}", t.host.clone().unwrap_or_default(), int_or_string(&t.port));
    }
    if let Some(g) = &p.grpc {
        return format!("grpc <pod>:{} {} {attrs}", g.port, g.service.clone().unwrap_or_default());
    }
    format!("unknown {attrs}")
}

/// `token`: the pod's token volume name kept beside its spec
/// ([`Pod::token_volume`]), shown for the placeholder.
fn describe_volumes(w: &mut Writer, volumes: &[Volume], token: Option<&str>, space: &str) {
    if volumes.is_empty() {
        w.line(0, &format!("{space}Volumes:\t<none>"));
        return;
    }
    w.line(0, &format!("{space}Volumes:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        w.line(1, &format!("{name_indent}{}:", crate::engine::api::pod::shown_volume_name(&v.name, token)));
        if let Some(h) = &v.host_path {
            w.line(2, "Type:\tHostPath (bare host directory volume)");
            w.line(2, &format!("Path:\t{}", h.path));
            w.line(2, &format!("HostPathType:\t{}", h.type_.clone().unwrap_or_else(|| "<none>".into())));
        } else if let Some(e) = &v.empty_dir {
            w.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)");
            w.line(2, &format!("Medium:\t{}", e.medium.clone().unwrap_or_default()));
            let limit = e.size_limit.as_ref().map(|q| q.0.clone()).filter(|q| q != "0").unwrap_or_else(|| "<unset>".into());
            w.line(2, &format!("SizeLimit:\t{limit}"));
        } else if let Some(sec) = &v.secret {
            w.line(2, "Type:\tSecret (a volume populated by a Secret)");
            w.line(2, &format!("SecretName:\t{}", sec.secret_name.clone().unwrap_or_default()));
            w.line(2, &format!("Optional:\t{}", sec.optional.unwrap_or(false)));
        } else if let Some(cm) = &v.config_map {
            w.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)");
            w.line(2, &format!("Name:\t{}", cm.name));
            w.line(2, &format!("Optional:\t{}", cm.optional.unwrap_or(false)));
        } else if let Some(pvc) = &v.persistent_volume_claim {
            w.line(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)");
            w.line(2, &format!("ClaimName:\t{}", pvc.claim_name));
            w.line(2, &format!("ReadOnly:\t{}", pvc.read_only.unwrap_or(false)));
        } else if let Some(p) = &v.projected {
            w.line(2, "Type:\tProjected (a volume that contains injected data from multiple sources)");
            for src in p.sources.iter().flatten() {
                if let Some(sec) = &src.secret {
                    w.line(2, &format!("SecretName:\t{}", sec.name));
                    w.line(2, &format!("Optional:\t{}", sec.optional.unwrap_or(false)));
                } else if src.downward_api.is_some() {
                    w.line(2, "DownwardAPI:\ttrue");
                } else if let Some(cm) = &src.config_map {
                    w.line(2, &format!("ConfigMapName:\t{}", cm.name));
                    w.line(2, &format!("Optional:\t{}", cm.optional.unwrap_or(false)));
                } else if let Some(t) = &src.service_account_token {
                    w.line(2, &format!("TokenExpirationSeconds:\t{}", t.expiration_seconds.unwrap_or(3600)));
                }
            }
        } else if let Some(d) = &v.downward_api {
            w.line(2, "Type:\tDownwardAPI (a volume populated by information about the pod)");
            w.line(2, "Items:");
            for item in d.items.iter().flatten() {
                if let Some(f) = &item.field_ref {
                    w.line(3, &format!("{} -> {}", f.field_path, item.path));
                }
                if let Some(r) = &item.resource_field_ref {
                    w.line(3, &format!("{} -> {}", r.resource, item.path));
                }
            }
        } else if let Some(nfs) = &v.nfs {
            w.line(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)");
            w.line(2, &format!("Server:\t{}", nfs.server));
            w.line(2, &format!("Path:\t{}", nfs.path));
            w.line(2, &format!("ReadOnly:\t{}", nfs.read_only.unwrap_or(false)));
        } else if let Some(git) = &v.git_repo {
            w.line(2, "Type:\tGitRepo (a volume that is pulled from git when the pod is created)");
            w.line(2, &format!("Repository:\t{}", git.repository));
            w.line(2, &format!("Revision:\t{}", git.revision.as_deref().unwrap_or("")));
        } else if let Some(gce) = &v.gce_persistent_disk {
            w.line(2, "Type:\tGCEPersistentDisk (a Persistent Disk resource in Google Compute Engine)");
            w.line(2, &format!("PDName:\t{}", gce.pd_name));
            w.line(2, &format!("FSType:\t{}", gce.fs_type.as_deref().unwrap_or("")));
            w.line(2, &format!("Partition:\t{}", gce.partition.unwrap_or(0)));
            w.line(2, &format!("ReadOnly:\t{}", gce.read_only.unwrap_or(false)));
        } else if let Some(aws) = &v.aws_elastic_block_store {
            w.line(2, "Type:\tAWSElasticBlockStore (a Persistent Disk resource in AWS)");
            w.line(2, &format!("VolumeID:\t{}", aws.volume_id));
            w.line(2, &format!("FSType:\t{}", aws.fs_type.as_deref().unwrap_or("")));
            w.line(2, &format!("Partition:\t{}", aws.partition.unwrap_or(0)));
            w.line(2, &format!("ReadOnly:\t{}", aws.read_only.unwrap_or(false)));
        } else if let Some(gluster) = &v.glusterfs {
            w.line(2, "Type:\tGlusterfs (a Glusterfs mount on the host that shares a pod's lifetime)");
            w.line(2, &format!("EndpointsName:\t{}", gluster.endpoints));
            w.line(2, &format!("Path:\t{}", gluster.path));
            w.line(2, &format!("ReadOnly:\t{}", gluster.read_only.unwrap_or(false)));
        } else if let Some(ephemeral) = &v.ephemeral {
            w.line(2, "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)");
            if let Some(template) = &ephemeral.volume_claim_template {
                ephemeral_claim_template(w, template);
            }
        } else if let Some(fc) = &v.fc {
            w.line(2, "Type:\tFC (a Fibre Channel disk)");
            w.line(2, &format!("TargetWWNs:\t{}", fc.target_wwns.clone().unwrap_or_default().join(", ")));
            w.line(2, &format!("LUN:\t{}", fc.lun.map_or_else(|| "<none>".to_string(), |l| l.to_string())));
            w.line(2, &format!("FSType:\t{}", fc.fs_type.as_deref().unwrap_or("")));
            w.line(2, &format!("ReadOnly:\t{}", fc.read_only.unwrap_or(false)));
        } else if let Some(azure) = &v.azure_file {
            w.line(2, "Type:\tAzureFile (an Azure File Service mount on the host and bind mount to the pod)");
            w.line(2, &format!("SecretName:\t{}", azure.secret_name));
            w.line(2, &format!("ShareName:\t{}", azure.share_name));
            w.line(2, &format!("ReadOnly:\t{}", azure.read_only.unwrap_or(false)));
        } else if let Some(csi) = &v.csi {
            w.line(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)");
            w.line(2, &format!("Driver:\t{}", csi.driver));
            w.line(2, &format!("FSType:\t{}", csi.fs_type.as_deref().unwrap_or("")));
            w.line(2, &format!("ReadOnly:\t{}", csi.read_only.unwrap_or(false)));
            csi_volume_attributes(w, csi.volume_attributes.as_ref());
        } else if let Some(image) = &v.image {
            w.line(2, "Type:\tImage (a container image or OCI artifact)");
            w.line(2, &format!("Reference:\t{}", image.reference.as_deref().unwrap_or("")));
            w.line(2, &format!("PullPolicy:\t{}", image.pull_policy.as_deref().unwrap_or("")));
        } else {
            w.line(1, "<unknown>");
        }
    }
}

/// `printCSIPersistentVolumeAttributesMultilineIndent`: each of its writes
/// starts with LEVEL_2's four spaces, even mid-line, so a value cell begins
/// with them and a continuation line's first cell is eight spaces; `<none>`
/// is written bare.
fn csi_volume_attributes(w: &mut Writer, attributes: Option<&BTreeMap<String, String>>) {
    const PREFIX: &str = "    ";
    w.raw(&format!("{PREFIX}VolumeAttributes:\t"));
    let Some(attributes) = attributes.filter(|a| !a.is_empty()) else {
        w.raw("<none>\n");
        return;
    };
    for (i, (key, value)) in attributes.iter().enumerate() {
        if i > 0 {
            w.raw(&format!("{PREFIX}{PREFIX}\t"));
        }
        let line = format!("{key}={value}");
        w.raw(&format!("{PREFIX}{}\n", go_truncated(&line, MAX_ANNOTATION_LEN)));
    }
}

/// `s` cut to `max` bytes plus `...` when longer, as Go's `s[:max]`, stepping
/// back to a character boundary where Go would split one.
fn go_truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let end = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    format!("{}...", &s[..end])
}

/// `printEphemeralVolumeSource`: the claim template printed by
/// `printPersistentVolumeClaim` (not a full claim) through a writer nested
/// at LEVEL_2, which puts four spaces before every write, mid-line too:
/// hence `Labels:\t    <none>` and continuation lines of eight spaces.
fn ephemeral_claim_template(w: &mut Writer, template: &k8s_openapi::api::core::v1::PersistentVolumeClaimTemplate) {
    const PREFIX: &str = "    ";
    let meta = template.metadata.clone().unwrap_or_default();
    let spec = &template.spec;
    let annotations = meta.annotations.clone().unwrap_or_default();
    // `GetPersistentVolumeClaimClass`: the beta annotation wins over the field.
    let class = annotations.get("volume.beta.kubernetes.io/storage-class").cloned().or_else(|| spec.storage_class_name.clone()).unwrap_or_default();
    w.raw(&format!("{PREFIX}StorageClass:\t{class}\n"));
    w.raw(&format!("{PREFIX}Volume:\t{}\n", spec.volume_name.as_deref().unwrap_or("")));
    w.raw(&format!("{PREFIX}Labels:\t"));
    match meta.labels.as_ref().filter(|l| !l.is_empty()) {
        None => w.raw(&format!("{PREFIX}<none>\n")),
        Some(labels) => {
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    w.raw(&format!("{PREFIX}{PREFIX}\t"));
                }
                w.raw(&format!("{PREFIX}{key}={value}\n"));
            }
        }
    }
    w.raw(&format!("{PREFIX}Annotations:\t"));
    let entries: Vec<(&String, &String)> = annotations.iter().filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration").collect();
    if entries.is_empty() {
        w.raw(&format!("{PREFIX}<none>\n"));
    }
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            w.raw(&format!("{PREFIX}\t"));
        }
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.raw(&format!("{PREFIX}{key}:\n"));
            for line in value.split('\n') {
                w.raw(&format!("{PREFIX}\t  {}\n", shorten(line, MAX_ANNOTATION_LEN - 2)));
            }
        } else {
            w.raw(&format!("{PREFIX}{key}: {value}\n"));
        }
    }
    // Capacity comes from a claim's status, which a template has none of:
    // blank, or the zero quantity's "0" when the template names a volume.
    let bound = spec.volume_name.as_deref().is_some_and(|v| !v.is_empty());
    w.raw(&format!("{PREFIX}Capacity:\t{}\n", if bound { "0" } else { "" }));
    w.raw(&format!("{PREFIX}Access Modes:\t\n"));
    if let Some(mode) = &spec.volume_mode {
        w.raw(&format!("{PREFIX}VolumeMode:\t{mode}\n"));
    }
    if let Some(source) = &spec.data_source {
        w.raw(&format!("{PREFIX}DataSource:\n"));
        if let Some(group) = &source.api_group {
            w.raw(&format!("{PREFIX}  APIGroup:\t{group}\n"));
        }
        w.raw(&format!("{PREFIX}  Kind:\t{}\n", source.kind));
        w.raw(&format!("{PREFIX}  Name:\t{}\n", source.name));
    }
}

fn describe_pod_template(w: &mut Writer, template: &PodTemplateSpec) {
    w.line(0, "Pod Template:");
    let meta = template.metadata.clone().unwrap_or_default();
    let spec = template.spec.clone().unwrap_or_default();
    labels_multiline(w, "", "  Labels", meta.labels.as_ref());
    if meta.annotations.as_ref().is_some_and(|a| !a.is_empty()) {
        annotations_multiline(w, "  Annotations", meta.annotations.as_ref());
    }
    if let Some(sa) = spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(1, &format!("Service Account:\t{sa}"));
    }
    if let Some(init) = spec.init_containers.as_ref().filter(|c| !c.is_empty()) {
        describe_containers(w, "Init Containers", init, None, "  ", None);
    }
    describe_containers(w, "Containers", &spec.containers, None, "  ", None);
    describe_volumes(w, spec.volumes.as_deref().unwrap_or(&[]), None, "  ");
    topology_spread_constraints(w, spec.topology_spread_constraints.as_deref().unwrap_or(&[]), "  ");
    if let Some(pc) = spec.priority_class_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(1, &format!("Priority Class Name:\t{pc}"));
    }
    labels_multiline(w, "", "  Node-Selectors", spec.node_selector.as_ref());
    tolerations_multiline(w, "", "  Tolerations", spec.tolerations.as_deref().unwrap_or(&[]));
}

fn conditions_with_reason<'a>(w: &mut Writer, conds: impl Iterator<Item = (&'a str, &'a str, &'a str)>) {
    let conds: Vec<_> = conds.collect();
    if conds.is_empty() {
        return;
    }
    w.line(0, "Conditions:\n  Type\tStatus\tReason");
    w.line(1, "----\t------\t------");
    for (t, s, r) in conds {
        w.line(1, &format!("{t} \t{s}\t{r}"));
    }
}

/// Replica sets in the namespace that `owner_uid` controls.
fn owned_replica_sets(s: &Session, namespace: &str, owner_uid: &str) -> Vec<crate::engine::api::shared_spec::ReplicaSet> {
    let Ok((items, _)) = s.cluster.sim.api.list(&Query::in_namespace(ids::replica_sets(), namespace)) else { return Vec::new() };
    items
        .iter()
        .filter_map(|o| match &**o {
            Object::ReplicaSet(rs) if meta::controller_of(rs.metadata.owner_references.as_ref()).is_some_and(|r| r.uid == owner_uid) => Some((**rs).clone()),
            _ => None,
        })
        .collect()
}

fn describe_deployment(w: &mut Writer, s: &Session, obj: &Object) {
    let Object::Deployment(d) = obj else { return };
    let spec = d.spec.clone().unwrap_or_default();
    let st = d.status.clone().unwrap_or_default();
    let m = &d.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("CreationTimestamp:\t{}", m.creation_timestamp.as_ref().map(rfc1123z).unwrap_or_default()));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Selector:\t{}", selector_string(&spec.selector)));
    w.line(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable",
            spec.replicas.unwrap_or(1),
            st.updated_replicas.unwrap_or(0),
            st.replicas.unwrap_or(0),
            st.available_replicas.unwrap_or(0),
            st.unavailable_replicas.unwrap_or(0)
        ),
    );
    let strategy = spec.strategy.clone().unwrap_or_default();
    w.line(0, &format!("StrategyType:\t{}", strategy.type_.clone().unwrap_or_default()));
    w.line(0, &format!("MinReadySeconds:\t{}", spec.min_ready_seconds.unwrap_or(0)));
    if let Some(ru) = &strategy.rolling_update {
        let unavailable = ru.max_unavailable.as_ref().map(int_or_string).unwrap_or_else(|| "25%".into());
        let surge = ru.max_surge.as_ref().map(int_or_string).unwrap_or_else(|| "25%".into());
        w.line(0, &format!("RollingUpdateStrategy:\t{unavailable} max unavailable, {surge} max surge"));
    }
    describe_pod_template(w, &spec.template);
    conditions_with_reason(w, st.conditions.iter().flatten().map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref().unwrap_or(""))));
    let namespace = m.namespace.clone().unwrap_or_default();
    let mut rss = owned_replica_sets(s, &namespace, m.uid.as_deref().unwrap_or(""));
    rss.sort_stable_by(|a, b| a.metadata.creation_timestamp.as_ref().map(|t| t.0).cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    // The new replica set is the one whose template matches the deployment's (ignoring the hash label).
    let strip_hash = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.remove("pod-template-hash");
        }
        t
    };
    let wanted = strip_hash(&spec.template);
    let new_index = rss.iter().position(|rs| rs.spec.as_ref().and_then(|s| s.template.as_ref()).map(strip_hash).as_ref() == Some(&wanted));
    let describe_rs = |rs: &crate::engine::api::shared_spec::ReplicaSet| {
        format!(
            "{} ({}/{} replicas created)",
            rs.metadata.name.as_deref().unwrap_or(""),
            rs.status.as_ref().map(|s| s.replicas).unwrap_or(0),
            rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
        )
    };
    let old: Vec<String> = rss
        .iter()
        .enumerate()
        // `GetAllReplicaSetsInChunks`' second list: every old replica set,
        // those scaled to zero too.
        .filter(|(i, _)| Some(*i) != new_index)
        .map(|(_, rs)| describe_rs(rs))
        .collect();
    let new = new_index.and_then(|i| rss.get(i)).map(describe_rs);
    if !old.is_empty() || new.is_some() {
        w.line(0, &format!("OldReplicaSets:\t{}", if old.is_empty() { "<none>".to_string() } else { old.join(", ") }));
        w.line(0, &format!("NewReplicaSet:\t{}", new.unwrap_or_else(|| "<none>".into())));
    }
}

fn describe_replica_set(w: &mut Writer, s: &Session, obj: &Object) {
    let Object::ReplicaSet(rs) = obj else { return };
    let spec = rs.spec.clone().unwrap_or_default();
    let st = rs.status.clone().unwrap_or_default();
    let m = &rs.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("Selector:\t{}", format_label_selector(Some(&spec.selector))));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    if let Some(c) = controlled_by(obj) {
        w.line(0, &format!("Controlled By:\t{c}"));
    }
    w.line(0, &format!("Replicas:\t{} current / {} desired", st.replicas, spec.replicas.unwrap_or(1)));
    let (running, waiting, succeeded, failed) = pod_phases(s, m.namespace.as_deref().unwrap_or(""), m.uid.as_deref().unwrap_or(""));
    w.line(0, &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"));
    describe_pod_template(w, &spec.template.clone().unwrap_or_default());
    conditions_with_reason(w, st.conditions.iter().flatten().map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref().unwrap_or(""))));
}

/// `describeReplicationController`: a ReplicaSet's text with a map selector
/// and no "Controlled By".
fn describe_replication_controller(w: &mut Writer, s: &Session, rc: &k8s_openapi::api::core::v1::ReplicationController) {
    let spec = rc.spec.clone().unwrap_or_default();
    let st = rc.status.clone().unwrap_or_default();
    let m = &rc.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("Selector:\t{}", format_labels(spec.selector.as_ref())));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Replicas:\t{} current / {} desired", st.replicas, spec.replicas.unwrap_or(1)));
    let (running, waiting, succeeded, failed) = pod_phases(s, m.namespace.as_deref().unwrap_or(""), m.uid.as_deref().unwrap_or(""));
    w.line(0, &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"));
    describe_pod_template(w, &spec.template.clone().unwrap_or_default());
    conditions_with_reason(w, st.conditions.iter().flatten().map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref().unwrap_or(""))));
}

/// Counts the phases of the pods `owner_uid` controls.
fn pod_phases(s: &Session, namespace: &str, owner_uid: &str) -> (usize, usize, usize, usize) {
    let Ok((pods, _)) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), namespace)) else { return (0, 0, 0, 0) };
    let mut counts = (0, 0, 0, 0);
    for p in pods.iter() {
        let Object::Pod(pod) = &**p else { continue };
        if !meta::controller_of(pod.metadata.owner_references.as_ref()).is_some_and(|r| r.uid == owner_uid) {
            continue;
        }
        match pod.status.as_ref().and_then(|s| s.phase()) {
            Some("Running") => counts.0 += 1,
            Some("Succeeded") => counts.2 += 1,
            Some("Failed") => counts.3 += 1,
            // Unknown (a lost node's) counts nowhere, as getPodStatusForController's switch.
            Some("Pending") => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

fn describe_service(w: &mut Writer, s: &Session, obj: &Object) {
    let Object::Service(svc) = obj else { return };
    let spec = svc.spec.clone().unwrap_or_default();
    header(w, obj);
    w.line(0, &format!("Selector:\t{}", format_labels(spec.selector.as_ref())));
    w.line(0, &format!("Type:\t{}", spec.type_.clone().unwrap_or_default()));
    if let Some(p) = &spec.ip_family_policy {
        w.line(0, &format!("IP Family Policy:\t{p}"));
    }
    match spec.ip_families.as_ref().filter(|f| !f.is_empty()) {
        Some(f) => w.line(0, &format!("IP Families:\t{}", f.join(","))),
        None => w.line(0, "IP Families:\t<none>"),
    }
    w.line(0, &format!("IP:\t{}", spec.cluster_ip.clone().unwrap_or_default()));
    match spec.cluster_ips.as_ref().filter(|f| !f.is_empty()) {
        Some(ips) => w.line(0, &format!("IPs:\t{}", ips.join(","))),
        None => w.line(0, "IPs:\t<none>"),
    }
    if let Some(ext) = spec.external_ips.as_ref().filter(|e| !e.is_empty()) {
        w.line(0, &format!("External IPs:\t{}", ext.join(",")));
    }
    if let Some(ip) = spec.load_balancer_ip.as_deref().filter(|s| !s.is_empty()) {
        w.line(0, &format!("IP:\t{ip}"));
    }
    if let Some(name) = spec.external_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(0, &format!("External Name:\t{name}"));
    }
    let ingress: Vec<String> = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.ip.or(i.hostname))
        .collect();
    if !ingress.is_empty() {
        w.line(0, &format!("LoadBalancer Ingress:\t{}", ingress.join(", ")));
    }
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let slices: Vec<k8s_openapi::api::discovery::v1::EndpointSlice> = s
        .cluster
        .sim
        .api
        .list(&Query::in_namespace(ids::endpoint_slices(), &namespace))
        .map(|(items, _)| items)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match &**o {
            Object::EndpointSlice(es)
                if es.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")).map(String::as_str) == svc.metadata.name.as_deref() =>
            {
                Some((**es).clone())
            }
            _ => None,
        })
        .collect();
    for port in spec.ports.iter().flatten() {
        let name = port.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "<unset>".into());
        let proto = port.protocol.clone().unwrap_or_else(|| "TCP".into());
        w.line(0, &format!("Port:\t{name}\t{}/{proto}", port.port));
        let target = port.target_port.as_ref().map(int_or_string).unwrap_or_else(|| port.port.to_string());
        w.line(0, &format!("TargetPort:\t{target}/{proto}"));
        if let Some(np) = port.node_port.filter(|n| *n != 0) {
            w.line(0, &format!("NodePort:\t{name}\t{np}/{proto}"));
        }
        w.line(0, &format!("Endpoints:\t{}", format_slice_endpoints(&slices, port.name.as_deref().unwrap_or(""))));
    }
    w.line(0, &format!("Session Affinity:\t{}", spec.session_affinity.clone().unwrap_or_default()));
    if let Some(p) = spec.external_traffic_policy.as_deref().filter(|s| !s.is_empty()) {
        w.line(0, &format!("External Traffic Policy:\t{p}"));
    }
    if let Some(p) = &spec.internal_traffic_policy {
        w.line(0, &format!("Internal Traffic Policy:\t{p}"));
    }
    if let Some(hc) = spec.health_check_node_port.filter(|p| *p != 0) {
        w.line(0, &format!("HealthCheck NodePort:\t{hc}"));
    }
    if let Some(r) = spec.load_balancer_source_ranges.as_ref().filter(|r| !r.is_empty()) {
        w.line(0, &format!("LoadBalancer Source Ranges:\t{}", r.join(",")));
    }
}

/// The ready `ip:port` pairs of a service port, as `describe service` lists them.
/// kubectl's `formatEndpointSlices`: `<none>` only when no slice exists; a
/// slice without ports lists its ready addresses bare, one with ports the
/// ready addresses of the named port; three at most.
fn format_slice_endpoints(slices: &[k8s_openapi::api::discovery::v1::EndpointSlice], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count: usize = 0;
    // One entry: the endpoint's first address, with the port when the slice has ports.
    let mut note = |ep: &k8s_openapi::api::discovery::v1::Endpoint, port: Option<i32>| {
        if list.len() == MAX {
            more = true;
        }
        if ep.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
            return;
        }
        if !more {
            let addr = ep.addresses.first().cloned().unwrap_or_default();
            list.push(match port {
                None => addr,
                Some(port) => {
                    let host = if addr.contains(':') { format!("[{addr}]") } else { addr };
                    format!("{host}:{port}")
                }
            });
        }
        count += 1;
    };
    for slice in slices {
        let ports = slice.ports.as_deref().unwrap_or_default();
        if ports.is_empty() {
            slice.endpoints.iter().for_each(|ep| note(ep, None));
            continue;
        }
        for port in ports.iter().filter(|p| p.name.as_deref().unwrap_or("") == port_name) {
            slice.endpoints.iter().for_each(|ep| note(ep, Some(port.port.unwrap_or(0))));
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count.saturating_sub(MAX))
    } else {
        joined
    }
}

fn describe_namespace(w: &mut Writer, s: &Session, obj: &Object) {
    let Object::Namespace(ns) = obj else { return };
    let m = &ns.metadata;
    let name = m.name.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{name}"));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Status:\t{}", ns.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()));
    let conditions = ns.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage");
        w.line(1, "----\t------\t------------------\t------\t-------");
        for c in conditions {
            // Go's zero time where a condition has none.
            let when = c.last_transition_time.as_ref().map_or_else(|| "Mon, 01 Jan 0001 00:00:00 +0000".to_string(), rfc1123z);
            w.line(1, &format!("{}\t{}\t{when}\t{}\t{}", c.type_, c.status, c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or("")));
        }
    }
    let count = |plural: &str| {
        crate::engine::api::find_resource("", plural)
            .and_then(|id| s.cluster.sim.api.list(&Query::in_namespace(id, &name)).ok())
            .map(|(items, _)| items)
            .unwrap_or_default()
    };
    w.line(0, "");
    let quotas = count("resourcequotas");
    let quotas: Vec<&k8s_openapi::api::core::v1::ResourceQuota> =
        quotas.iter().filter_map(|q| if let Object::ResourceQuota(q) = &**q { Some(&**q) } else { None }).collect();
    quota::describe_resource_quotas(w, &quotas);
    w.line(0, "");
    let ranges = count("limitranges");
    let ranges: Vec<&k8s_openapi::api::core::v1::LimitRange> =
        ranges.iter().filter_map(|r| if let Object::LimitRange(r) = &**r { Some(&**r) } else { None }).collect();
    limits::describe_limit_ranges(w, &ranges);
}

fn describe_node(w: &mut Writer, s: &Session, obj: &Object, now: VirtualTime) {
    let Object::Node(node) = obj else { return };
    let m = &node.metadata;
    let name = m.name.clone().unwrap_or_default();
    let spec = node.spec.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{name}"));
    let mut roles: Vec<String> = m
        .labels
        .iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(r) if !r.is_empty() => Some(r.to_string()),
            _ if k == "kubernetes.io/role" && !v.is_empty() => Some(v.clone()),
            _ => None,
        })
        .collect();
    roles.sort_stable();
    roles.dedup();
    w.line(0, &format!("Roles:\t{}", if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("CreationTimestamp:\t{}", m.creation_timestamp.as_ref().map(rfc1123z).unwrap_or_default()));
    let mut taints = spec.taints.clone().unwrap_or_default();
    w.raw("Taints:\t");
    if taints.is_empty() {
        w.raw("<none>\n");
    }
    taints.sort_stable_by(|a, b| format!("{},{}", a.effect, a.key).cmp(&format!("{},{}", b.effect, b.key)));
    for (i, t) in taints.iter().enumerate() {
        if i > 0 {
            w.raw("\t");
        }
        match t.value.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => w.raw(&format!("{}={v}:{}\n", t.key, t.effect)),
            None => w.raw(&format!("{}:{}\n", t.key, t.effect)),
        }
    }
    w.line(0, &format!("Unschedulable:\t{}", spec.unschedulable.unwrap_or(false)));
    let lease = s.cluster.sim.api.get(ids::leases(), "kube-node-lease", &name).ok();
    let lease_spec = lease.as_deref().and_then(|l| match l {
        Object::Lease(l) => l.spec.clone(),
        _ => None,
    });
    let micro = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime>| {
        t.map(|t| rfc1123z(&Time(t.0))).unwrap_or_else(|| "<unset>".into())
    };
    w.line(0, "Lease:");
    w.line(1, &format!("HolderIdentity:\t{}", lease_spec.as_ref().and_then(|l| l.holder_identity.clone()).unwrap_or_else(|| "<unset>".into())));
    w.line(1, &format!("AcquireTime:\t{}", micro(lease_spec.as_ref().and_then(|l| l.acquire_time.as_ref()))));
    w.line(1, &format!("RenewTime:\t{}", micro(lease_spec.as_ref().and_then(|l| l.renew_time.as_ref()))));
    if let Some(conds) = status.conditions.as_ref().filter(|c| !c.is_empty()) {
        w.line(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage");
        w.line(1, "----\t------\t-----------------\t------------------\t------\t-------");
        for c in conds {
            w.line(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}",
                    c.type_,
                    c.status,
                    c.last_heartbeat_time.as_ref().map(rfc1123z).unwrap_or_else(zero_time),
                    c.last_transition_time.as_ref().map(rfc1123z).unwrap_or_else(zero_time),
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ),
            );
        }
    }
    w.line(0, "Addresses:");
    for a in status.addresses.iter().flatten() {
        w.line(1, &format!("{}:\t{}", a.type_, a.address));
    }
    for (title, list) in [("Capacity", &status.capacity), ("Allocatable", &status.allocatable)] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.line(0, &format!("{title}:"));
            for (res, q) in list {
                w.line(0, &format!("  {res}:\t{}", q.0));
            }
        }
    }
    let info = status.node_info.clone().unwrap_or_default();
    w.line(0, "System Info:");
    for (label, value) in [
        ("Machine ID", &info.machine_id),
        ("System UUID", &info.system_uuid),
        ("Boot ID", &info.boot_id),
        ("Kernel Version", &info.kernel_version),
        ("OS Image", &info.os_image),
        ("Operating System", &info.operating_system),
        ("Architecture", &info.architecture),
        ("Container Runtime Version", &info.container_runtime_version),
        ("Kubelet Version", &info.kubelet_version),
        ("Kube-Proxy Version", &info.kube_proxy_version),
    ] {
        w.line(0, &format!("  {label}:\t{value}"));
    }
    if let Some(cidr) = spec.pod_cidr.as_deref().filter(|c| !c.is_empty()) {
        w.line(0, &format!("PodCIDR:\t{cidr}"));
    }
    if let Some(cidrs) = spec.pod_cidrs.as_ref().filter(|c| !c.is_empty()) {
        w.line(0, &format!("PodCIDRs:\t{}", cidrs.join(",")));
    }
    if let Some(p) = spec.provider_id.as_deref().filter(|c| !c.is_empty()) {
        w.line(0, &format!("ProviderID:\t{p}"));
    }
    let pods: Vec<Pod> = s
        .cluster
        .sim
        .api
        .list(&Query::all(ids::pods()).with_fields(FieldSelector::node_name(&name)))
        .map(|(items, _)| items)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match &**o {
            Object::Pod(p) => Some((**p).clone()),
            _ => None,
        })
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed")))
        .collect();
    let allocatable = status.allocatable.clone().filter(|a| !a.is_empty()).or(status.capacity.clone()).unwrap_or_default();
    let alloc = |res: &str| allocatable.get(res).and_then(parse_stored).unwrap_or_else(Quantity::zero);
    let (alloc_cpu, alloc_mem, alloc_eph) = (alloc("cpu").milli_value(), alloc("memory").value(), alloc("ephemeral-storage").value());
    // `int64(float64(part) / float64(whole) * 100)`: truncated after a
    // float division, so 290m of 1 cpu is 28%, as kubectl shows it.
    let percent = |part: i64, whole: i64| if whole == 0 { 0 } else { (part as f64 / whole as f64 * 100.0) as i64 };
    w.line(0, &format!("Non-terminated Pods:\t({} in total)", pods.len()));
    w.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge");
    w.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---");
    let mut totals: BTreeMap<(&str, &str), Quantity> = BTreeMap::new();
    for pod in &pods {
        let (req, lim) = pod_requests_and_limits(pod);
        let get = |l: &BTreeMap<String, Quantity>, r: &str| l.get(r).copied().unwrap_or_else(Quantity::zero);
        let (cr, cl, mr, ml) = (get(&req, "cpu"), get(&lim, "cpu"), get(&req, "memory"), get(&lim, "memory"));
        w.line(
            1,
            &format!(
                "{}\t{}\t\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{}",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                pod.metadata.name.as_deref().unwrap_or(""),
                cr.canonical(),
                percent(cr.milli_value(), alloc_cpu),
                cl.canonical(),
                percent(cl.milli_value(), alloc_cpu),
                mr.canonical(),
                percent(mr.value(), alloc_mem),
                ml.canonical(),
                percent(ml.value(), alloc_mem),
                age(pod.metadata.creation_timestamp.as_ref(), now)
            ),
        );
        for (kind, list) in [("req", &req), ("lim", &lim)] {
            for res in ["cpu", "memory", "ephemeral-storage"] {
                if let Some(q) = list.get(res) {
                    let sum = totals.get(&(kind, res)).map_or(*q, |prev| go_add(prev, q));
                    totals.insert((kind, res), sum);
                }
            }
        }
    }
    w.line(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)");
    w.line(1, "Resource\tRequests\tLimits");
    w.line(1, "--------\t--------\t------");
    for (res, whole, milli) in [("cpu", alloc_cpu, true), ("memory", alloc_mem, false), ("ephemeral-storage", alloc_eph, false)] {
        let r = totals.get(&("req", res)).copied().unwrap_or_else(Quantity::zero);
        let l = totals.get(&("lim", res)).copied().unwrap_or_else(Quantity::zero);
        let amount = |q: Quantity| if milli { q.milli_value() } else { q.value() };
        w.line(1, &format!("{res}\t{} ({}%)\t{} ({}%)", r.canonical(), percent(amount(r), whole), l.canonical(), percent(amount(l), whole)));
    }
    let mut huge: Vec<&String> = allocatable.keys().filter(|k| k.starts_with("hugepages-")).collect();
    huge.sort_stable();
    for res in huge {
        w.line(1, &format!("{res}\t0 (0%)\t0 (0%)"));
    }
}

fn zero_time() -> String {
    "Mon, 01 Jan 0001 00:00:00 +0000".to_string()
}

type ResourceSums = BTreeMap<String, Quantity>;

/// `Quantity.Add`: the sum keeps the first quantity's format, unless that
/// one is zero.
fn go_add(sum: &Quantity, q: &Quantity) -> Quantity {
    let format = if sum.is_zero() { q.format } else { sum.format };
    Quantity::from_nanos(sum.nanos().saturating_add(q.nanos()), format)
}

/// kubectl's `addResourceList`.
fn add_resource_list(into: &mut ResourceSums, from: &ResourceSums) {
    for (name, q) in from {
        let sum = into.get(name).map_or(*q, |prev| go_add(prev, q));
        into.insert(name.clone(), sum);
    }
}

/// kubectl's `maxResourceList`.
fn max_resource_list(into: &mut ResourceSums, from: &ResourceSums) {
    for (name, q) in from {
        if into.get(name).is_none_or(|prev| q.nanos() > prev.nanos()) {
            into.insert(name.clone(), *q);
        }
    }
}

/// kubectl's `PodRequestsAndLimits` (`k8s.io/kubectl/pkg/util/resource`):
/// the containers' sum, sidecars (restartable init containers) added to
/// it, the largest of the init containers (each with the sidecars started
/// before it) where that is more, and the pod's overhead (added to a limit
/// only where the pod has a non-zero one). A container whose status reports
/// its resources (a resized pod's) requests the larger of its spec's and
/// its status's, or its status's alone while the resize is `Infeasible`
/// (`determineContainerReqs`).
fn pod_requests_and_limits(pod: &Pod) -> (ResourceSums, ResourceSums) {
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    let list = |from: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| -> ResourceSums {
        from.into_iter().flatten().filter_map(|(name, q)| parse_stored(q).map(|q| (name.clone(), q))).collect()
    };
    let status = pod.status.as_deref().filter(|s| s.reports_container_resources()).map(|s| -> &k8s_openapi::api::core::v1::PodStatus { s });
    let infeasible = status.is_some_and(|s| s.conditions.iter().flatten().any(|c| c.type_ == "PodResizePending" && c.reason.as_deref() == Some("Infeasible")));
    let requests_of = |c: &k8s_openapi::api::core::v1::Container| -> ResourceSums {
        let own = list(c.resources.as_ref().and_then(|r| r.requests.as_ref()));
        let reported = status.and_then(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()).find(|cs| cs.name == c.name)).and_then(|cs| cs.resources.as_ref());
        match reported {
            Some(r) if infeasible => list(r.requests.as_ref()),
            Some(r) => {
                let mut larger = own;
                max_resource_list(&mut larger, &list(r.requests.as_ref()));
                larger
            }
            None => own,
        }
    };
    let mut sums = [ResourceSums::new(), ResourceSums::new()];
    for c in &spec.containers {
        let r = c.resources.as_ref();
        add_resource_list(&mut sums[0], &requests_of(c));
        add_resource_list(&mut sums[1], &list(r.and_then(|r| r.limits.as_ref())));
    }
    for (i, sum) in sums.iter_mut().enumerate() {
        let mut sidecars = ResourceSums::new();
        let mut init = ResourceSums::new();
        for c in spec.init_containers.iter().flatten() {
            let r = c.resources.as_ref();
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let own = if i == 0 && sidecar { requests_of(c) } else { list(r.and_then(|r| if i == 0 { r.requests.as_ref() } else { r.limits.as_ref() })) };
            let with_sidecars = if sidecar {
                add_resource_list(sum, &own);
                add_resource_list(&mut sidecars, &own);
                sidecars.clone()
            } else {
                let mut tmp = own;
                add_resource_list(&mut tmp, &sidecars);
                tmp
            };
            max_resource_list(&mut init, &with_sidecars);
        }
        max_resource_list(sum, &init);
    }
    let [mut req, mut lim] = sums;
    let overhead = list(spec.overhead.as_ref());
    add_resource_list(&mut req, &overhead);
    for (name, q) in &overhead {
        if let Some(limit) = lim.get(name).filter(|l| !l.is_zero()) {
            let sum = go_add(limit, q);
            lim.insert(name.clone(), sum);
        }
    }
    (req, lim)
}

/// kubectl's generic describer: every field of the object, nested by level.
fn describe_generic(w: &mut Writer, obj: &Object) {
    header(w, obj);
    let value = obj.to_json();
    if let Value::Object(map) = value {
        unstructured(w, 0, &map, "");
    }
}

fn unstructured(w: &mut Writer, level: usize, content: &serde_json::Map<String, Value>, prefix: &str) {
    const SKIP: &[&str] = &[".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels", ".metadata.annotations"];
    for (field, value) in content {
        let path = format!("{prefix}.{field}");
        if SKIP.contains(&path.as_str()) {
            continue;
        }
        match value {
            Value::Object(m) => {
                w.line(level, &format!("{}:", smart_label(field)));
                unstructured(w, level + 1, m, &path);
            }
            Value::Array(items) => {
                w.line(level, &format!("{}:", smart_label(field)));
                for item in items {
                    match item {
                        Value::Object(m) => unstructured(w, level + 1, m, &path),
                        other => w.line(level + 1, &crate::engine::kubectl::printers::jsonpath::go_sprint(other)),
                    }
                }
            }
            other => w.line(level, &format!("{}:\t{}", smart_label(field), crate::engine::kubectl::printers::jsonpath::go_sprint(other))),
        }
    }
}

/// `smartLabelFor`: `apiVersion` → `API Version`, `creationTimestamp` → `Creation Timestamp`.
fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    let chars: Vec<char> = field.chars().collect();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && ((c.is_uppercase() && chars[i - 1].is_lowercase())
                || (c.is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase()) && chars[i - 1].is_uppercase()));
        if boundary && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
        .into_iter()
        .map(|p| {
            let upper = p.to_uppercase();
            if ["API", "URL", "UID", "OSB", "GUID"].contains(&upper.as_str()) {
                upper
            } else {
                let mut cs = p.chars();
                cs.next().map(|f| f.to_uppercase().collect::<String>() + cs.as_str()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The object's events (`searchEvents`): matched by kind, name, namespace
/// and uid, so an event naming no uid is not shown; a node's also by its
/// name as uid (kubelets name nodes by name where controllers use the uid).
fn events_for(s: &Session, obj: &Object) -> Vec<Event> {
    let m = obj.meta();
    let kind = resource(obj.resource_id()).kind;
    let name = m.name.clone().unwrap_or_default();
    let mut uid = m.uid.clone().unwrap_or_default();
    // A mirror pod's events are its static pod's, as kubectl looks them up.
    if let Object::Pod(p) = obj {
        if let Some(hash) = p.metadata.annotations.as_ref().and_then(|a| a.get(crate::engine::apiserver::admission::MIRROR_POD_ANNOTATION)) {
            uid = hash.clone();
        }
    }
    let fields = FieldSelector { terms: vec![("involvedObject.name".into(), true, name.clone()), ("involvedObject.kind".into(), true, kind.into())] };
    let Ok((items, _)) = s.cluster.sim.api.list(&Query::all(ids::events()).with_fields(fields)) else { return Vec::new() };
    let mut events: Vec<Event> = items
        .iter()
        .filter_map(|o| match &**o {
            Object::Event(e) => Some((**e).clone()),
            _ => None,
        })
        .filter(|e| {
            let io = &e.involved_object;
            io.namespace.clone().unwrap_or_default() == m.namespace.clone().unwrap_or_default()
                && (uid.is_empty() || io.uid.as_deref() == Some(uid.as_str()) || (kind == "Node" && io.uid.as_deref() == Some(name.as_str())))
        })
        .collect();
    sort_events(&mut events);
    events
}

fn describe_events(w: &mut Writer, events: &[Event], now: VirtualTime) {
    if events.is_empty() {
        w.line(0, "Events:\t<none>");
        return;
    }
    // kubectl flushes its tabwriter here, so the table aligns on its own.
    let aligned = DESCRIBE.format(&std::mem::take(&mut w.text));
    w.text = aligned;
    w.line(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in events {
        let source = e.source.as_ref().and_then(|s| s.component.clone()).filter(|c| !c.is_empty()).or(e.reporting_component.clone()).unwrap_or_default();
        w.line(
            1,
            &format!(
                "{}\t{}\t{}\t{}\t{}",
                e.type_.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                event_interval(e, now),
                source,
                e.message.as_deref().unwrap_or("").trim()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-7d4b9c8f6d-x2x9k", "namespace": "default", "creationTimestamp": "2026-01-01T00:01:00Z",
                "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6d"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6d", "uid": "u1", "controller": true}]},
            "spec": {
                "containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
                "nodeName": "minikube", "priority": 0, "serviceAccountName": "default",
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]
            },
            "status": {
                "phase": "Running", "hostIP": "192.168.49.2", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}],
                "startTime": "2026-01-01T00:01:00Z", "qosClass": "BestEffort",
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True"}, {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "nginx", "image": "nginx:1.25", "imageID": "docker-pullable://nginx@sha256:abc", "containerID": "docker://123",
                    "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": "2026-01-01T00:01:05Z"}}}]
            }
        }))
        .unwrap()
    }

    /// Layout of `kubectl describe pod` from kubectl 1.33 on minikube.
    #[test]
    fn describes_a_running_pod_as_kubectl_1_33() {
        let mut w = Writer::default();
        describe_pod(&mut w, &pod(), VirtualTime::from_secs(120));
        let event: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-7d4b9c8f6d-x2x9k"},
            "type": "Normal", "reason": "Scheduled", "source": {"component": "default-scheduler"},
            "message": "Successfully assigned default/web-7d4b9c8f6d-x2x9k to minikube",
            "firstTimestamp": "2026-01-01T00:01:00Z", "lastTimestamp": "2026-01-01T00:01:00Z", "count": 1
        }))
        .unwrap();
        describe_events(&mut w, &[event], VirtualTime::from_secs(120));
        let expected = "Name:             web-7d4b9c8f6d-x2x9k
Namespace:        default
Priority:         0
Service Account:  default
Node:             minikube/192.168.49.2
Start Time:       Thu, 01 Jan 2026 00:01:00 +0000
Labels:           app=web
                  pod-template-hash=7d4b9c8f6d
Annotations:      <none>
Status:           Running
IP:               10.244.0.5
IPs:
  IP:           10.244.0.5
Controlled By:  ReplicaSet/web-7d4b9c8f6d
Containers:
  nginx:
    Container ID:   docker://123
    Image:          nginx:1.25
    Image ID:       docker-pullable://nginx@sha256:abc
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Thu, 01 Jan 2026 00:01:05 +0000
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-abcde (ro)
Conditions:
  Type                        Status
  PodReadyToStartContainers   True 
  Initialized                 True 
  Ready                       True 
  ContainersReady             True 
  PodScheduled                True 
Volumes:
  kube-api-access-abcde:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    Optional:                false
    DownwardAPI:             true
QoS Class:                   BestEffort
Node-Selectors:              <none>
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  60s   default-scheduler  Successfully assigned default/web-7d4b9c8f6d-x2x9k to minikube
";
        assert_eq!(DESCRIBE.format(&w.text), expected);
    }

    #[test]
    fn smart_labels_split_camel_case() {
        assert_eq!(smart_label("apiVersion"), "API Version");
        assert_eq!(smart_label("creationTimestamp"), "Creation Timestamp");
        assert_eq!(smart_label("uid"), "UID");
        assert_eq!(smart_label("holderIdentity"), "Holder Identity");
    }

    #[test]
    fn resource_field_refs_divide_and_round_up_as_kubectl() {
        let container: Container = serde_json::from_value(serde_json::json!({
            "name": "c", "resources": {"limits": {"cpu": "500m", "memory": "100Mi"}, "requests": {"cpu": "250m"}}
        }))
        .unwrap();
        let value = |resource: &str, divisor: Option<&str>| {
            let selector: k8s_openapi::api::core::v1::ResourceFieldSelector =
                serde_json::from_value(serde_json::json!({"resource": resource, "divisor": divisor})).unwrap();
            container_resource_value(&selector, &container)
        };
        assert_eq!(value("limits.cpu", Some("1m")).as_deref(), Some("500"));
        assert_eq!(value("limits.cpu", None).as_deref(), Some("1"));
        assert_eq!(value("requests.cpu", Some("0")).as_deref(), Some("1"));
        assert_eq!(value("limits.memory", Some("1Mi")).as_deref(), Some("100"));
        assert_eq!(value("requests.memory", None).as_deref(), Some("0"));
        assert_eq!(value("limits.ephemeral-storage", None).as_deref(), Some("0"));
        assert_eq!(value("limits.hugepages-2Mi", None).as_deref(), Some("0"));
        assert_eq!(value("limits.nvidia.com/gpu", None), None);
    }
}
