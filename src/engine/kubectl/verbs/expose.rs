//! `kubectl expose`: a Service for each object named (`TYPE NAME`,
//! `TYPE/NAME` or `-f`), as kubectl 1.33's `RunExpose` and
//! `createService` build it. With `-f` the object is the file's, not the
//! server's. Like kubectl, what one object filled in (its selector, its
//! ports, its labels) stays for the objects after it.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{LoadBalancerStatus, PodSpec, Service, ServicePort, ServiceSpec, ServiceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::{resource, Object, ResourceId};
use crate::engine::apiserver::decode;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::printers::OutputFormat;
use crate::engine::kubectl::targets::{self, Target};
use crate::engine::kubectl::verbs::apply::write_output_format;
use crate::engine::kubectl::verbs::create::{submit_generated_as, SaveConfig};
use crate::engine::kubectl::verbs::run::apply_overrides;
use crate::engine::kubectl::{Error, Result, Session};

/// `validation.DNS1035LabelMaxLength`: a longer object name is cut to it.
const NAME_MAX: usize = 63;

/// The flags `createService` reads, kept as kubectl keeps them: texts one
/// object's introspection may fill for the next.
#[derive(Default)]
struct Options {
    selector: String,
    labels: String,
    port: String,
    /// Several ports found on an object, joined with commas.
    ports: String,
    /// Port → protocols, as found on the last object that had any.
    protocols: BTreeMap<String, Vec<String>>,
    protocol: String,
    target_port: String,
    name: String,
    default_name: String,
    external_ip: String,
    service_type: String,
    load_balancer_ip: String,
    session_affinity: String,
    cluster_ip: String,
}

pub fn run(s: &mut Session) -> Result {
    DryRun::from_session(s)?;
    let yaml = matches!(write_output_format(s)?, Some(OutputFormat::Yaml));
    let flag = |name: &str| s.args.value(name).unwrap_or("").to_string();
    let mut o = Options {
        selector: flag("selector"),
        labels: flag("labels"),
        port: flag("port"),
        protocol: flag("protocol"),
        target_port: flag("target-port"),
        name: flag("name"),
        external_ip: flag("external-ip"),
        service_type: flag("type"),
        load_balancer_ip: flag("load-balancer-ip"),
        session_affinity: flag("session-affinity"),
        cluster_ip: flag("cluster-ip"),
        ..Default::default()
    };
    let mut failures = Vec::new();
    let mut printed = 0;
    for item in exposed(s)? {
        let (rid, object) = match item {
            Ok(found) => found,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let start = s.out.len();
        let result = service_for(&mut o, rid, &object).and_then(|svc| {
            let svc = apply_overrides(s, Object::Service(Box::new(svc)))?;
            submit_generated_as(s, svc, None, "exposed", SaveConfig::NotOnClientDryRun, |_| {})
        });
        match result {
            Ok(()) => {
                // One YAML printer for every object: `---` before each after the first.
                if yaml && printed > 0 {
                    s.out.insert_str(start, "---\n");
                }
                printed += 1;
            }
            Err(Error::Message(text)) => failures.push(Failure::Text(text.strip_prefix("error: ").unwrap_or(&text).to_string())),
            Err(Error::Api(e)) => failures.push(Failure::Api(e)),
            Err(other) => return Err(other),
        }
    }
    manifest::finish(s, failures)
}

/// The objects to expose, in the builder's order: the `-f` files' own
/// objects, or the server's for `TYPE NAME…` and `TYPE/NAME…`.
fn exposed(s: &Session) -> std::result::Result<Vec<std::result::Result<(ResourceId, Rc<Object>), Failure>>, Error> {
    let words = &s.args.positionals;
    let tuples = words.iter().any(|w| w.contains('/'));
    if manifest::file_sources_given(s) {
        if !words.is_empty() {
            return Err(Error::Message(if tuples {
                "error: resource/name arguments cannot be provided when a path is specified".to_string()
            } else {
                "error: when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well".to_string()
            }));
        }
        let mut out = Vec::new();
        for item in manifest::load_with(s, false) {
            out.push(item.and_then(|info| match decode::decode_typed(info.rid, &info.value) {
                Ok(object) => Ok((info.rid, Rc::new(object))),
                Err(e) => Err(Failure::Text(format!("unable to decode {:?}: {e}", info.source))),
            }));
        }
        return Ok(out);
    }
    let Some(first) = words.first() else {
        return Err(Error::Message(targets::NO_RESOURCES.to_string()));
    };
    let namespace = s.namespace();
    let target = |rid: ResourceId, name: &str| Target {
        rid,
        namespace: if resource(rid).namespaced { namespace.clone() } else { String::new() },
        name: name.to_string(),
        source: String::new(),
    };
    let mut named = Vec::new();
    if tuples {
        for w in words {
            let Some((kind, name)) = w.split_once('/') else {
                return Err(Error::Message("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'".to_string()));
            };
            named.push(target(targets::resolve_type(kind)?, name));
        }
    } else {
        let types = first.split(',').map(targets::resolve_type).collect::<std::result::Result<Vec<_>, _>>()?;
        if words.len() == 1 {
            return Err(Error::Message("error: resource(s) were provided, but no name was specified".to_string()));
        }
        for rid in types {
            for name in &words[1..] {
                named.push(target(rid, name));
            }
        }
    }
    Ok(named.iter().map(|t| targets::fetch(s, t).map(|object| (t.rid, object))).collect())
}

/// One visit of `RunExpose`: introspection where a flag left a blank, then
/// `createService`.
fn service_for(o: &mut Options, rid: ResourceId, object: &Object) -> std::result::Result<Service, Error> {
    let fail = |text: String| Error::Message(format!("error: {text}"));
    let rt = resource(rid);
    if !matches!(object, Object::ReplicationController(_) | Object::Service(_) | Object::Pod(_) | Object::Deployment(_) | Object::ReplicaSet(_)) {
        let group_kind = if rt.group.is_empty() { rt.kind.to_string() } else { format!("{}.{}", rt.kind, rt.group) };
        return Err(fail(format!("cannot expose a {group_kind}")));
    }
    let name = object.meta().name.clone().unwrap_or_default();
    o.default_name = name.chars().take(NAME_MAX).collect();
    if o.selector.is_empty() {
        o.selector = selector_of(object).map_err(|e| fail(format!("couldn't retrieve selectors via --selector flag or introspection: {e}")))?;
    }
    let headless = o.cluster_ip == "None";
    if o.port.is_empty() {
        let ports = ports_of(object);
        match ports.len() {
            0 if !headless => return Err(fail("couldn't find port via --port flag or introspection".to_string())),
            0 => {}
            1 => o.port = ports[0].clone(),
            _ => o.ports = ports.join(","),
        }
    }
    let protocols = protocols_of(object);
    if !protocols.is_empty() {
        o.protocols = protocols;
    }
    if o.labels.is_empty() {
        o.labels = make_labels(object.meta().labels.as_ref());
    }
    create_service(o).map_err(fail)
}

/// The Service `kubectl run --expose` creates (`RunOptions.generateService`):
/// named after the pod, selecting `--labels` (else `run=NAME`), labelled
/// with `--labels`, one TCP port `--port` targeting the same port.
pub(super) fn service_for_run(name: &str, labels: &str, port: &str) -> std::result::Result<Service, String> {
    let selector = if labels.is_empty() { format!("run={name}") } else { labels.to_string() };
    create_service(&Options { selector, labels: labels.to_string(), port: port.to_string(), name: name.to_string(), default_name: name.to_string(), ..Default::default() })
}

/// kubectl's `createService`.
fn create_service(o: &Options) -> std::result::Result<Service, String> {
    if o.selector.is_empty() {
        return Err("selector must be specified".to_string());
    }
    let selector = parse_labels(&o.selector)?;
    let labels = if o.labels.is_empty() { None } else { Some(parse_labels(&o.labels)?) };
    let name = if o.name.is_empty() { o.default_name.clone() } else { o.name.clone() };
    if name.is_empty() {
        return Err("name must be specified".to_string());
    }
    let port_string = if o.ports.is_empty() { &o.port } else { &o.ports };
    let mut ports = Vec::new();
    if !port_string.is_empty() {
        let listed: Vec<&str> = port_string.split(',').collect();
        for (i, text) in listed.iter().enumerate() {
            let port = go_atoi(text)?;
            let port_name = (listed.len() > 1).then(|| format!("port-{}", i + 1));
            let mut protocol = o.protocol.clone();
            if protocol.is_empty() {
                protocol = "TCP".to_string();
                if let Some(found) = o.protocols.get(*text) {
                    if let [one] = found.as_slice() {
                        protocol = one.clone();
                    } else {
                        for each in found {
                            ports.push(service_port(Some(format!("port-{}-{}", i + 1, each.to_lowercase())), port, each));
                        }
                        continue;
                    }
                }
            }
            ports.push(service_port(port_name, port, &protocol));
        }
    }
    let target = (!o.target_port.is_empty()).then(|| match o.target_port.parse::<i32>() {
        Ok(n) => IntOrString::Int(n),
        Err(_) => IntOrString::String(o.target_port.clone()),
    });
    for p in &mut ports {
        p.target_port = Some(target.clone().unwrap_or(IntOrString::Int(p.port)));
    }
    let mut spec = ServiceSpec { selector: Some(selector), ports: (!ports.is_empty()).then_some(ports), ..Default::default() };
    if !o.external_ip.is_empty() {
        spec.external_ips = Some(vec![o.external_ip.clone()]);
    }
    if !o.service_type.is_empty() {
        spec.type_ = Some(o.service_type.clone());
    }
    if spec.type_.as_deref() == Some("LoadBalancer") && !o.load_balancer_ip.is_empty() {
        spec.load_balancer_ip = Some(o.load_balancer_ip.clone());
    }
    match o.session_affinity.as_str() {
        "" => {}
        "None" | "ClientIP" => spec.session_affinity = Some(o.session_affinity.clone()),
        other => return Err(format!("unknown session affinity: {other}")),
    }
    if !o.cluster_ip.is_empty() {
        spec.cluster_ip = Some(o.cluster_ip.clone());
    }
    Ok(Service {
        metadata: ObjectMeta { name: Some(name), labels, ..Default::default() },
        spec: Some(spec),
        status: Some(ServiceStatus { load_balancer: Some(LoadBalancerStatus::default()), ..Default::default() }),
    })
}

fn service_port(name: Option<String>, port: i32, protocol: &str) -> ServicePort {
    ServicePort { name, port, protocol: Some(protocol.to_string()), ..Default::default() }
}

/// Go's `strconv.Atoi` for a port, and its `int32` conversion.
pub(super) fn go_atoi(text: &str) -> std::result::Result<i32, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {text:?}: invalid syntax"));
    }
    match text.parse::<i64>() {
        Ok(n) => Ok(n as i32),
        Err(_) => Err(format!("strconv.Atoi: parsing {text:?}: value out of range")),
    }
}

/// kubectl's `parseLabels`, for `--selector`, `--labels` and what
/// introspection found.
pub(super) fn parse_labels(spec: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in spec.split(',') {
        let parts: Vec<&str> = pair.split('=').collect();
        let [key, value] = parts.as_slice() else {
            return Err(format!("unexpected label spec: {pair}"));
        };
        if key.is_empty() {
            return Err("unexpected empty label key".to_string());
        }
        labels.insert(key.to_string(), value.to_string());
    }
    Ok(labels)
}

/// `MakeLabels`: `k=v,…` (Go's map order is random; every reader parses it
/// back into a map).
fn make_labels(labels: Option<&BTreeMap<String, String>>) -> String {
    labels.into_iter().flatten().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// `MapBasedSelectorForObject`.
fn selector_of(object: &Object) -> std::result::Result<String, String> {
    let from_selector = |selector: Option<&LabelSelector>, kind: &str| {
        let Some(selector) = selector.filter(|sel| sel.match_labels.as_ref().is_some_and(|m| !m.is_empty())) else {
            return Err(format!("invalid {kind}: no selectors, therefore cannot be exposed"));
        };
        if let Some(expressions) = selector.match_expressions.as_ref().filter(|e| !e.is_empty()) {
            let printed: Vec<String> = expressions
                .iter()
                .map(|e| format!("{{Key:{} Operator:{} Values:[{}]}}", e.key, e.operator, e.values.as_deref().unwrap_or_default().join(" ")))
                .collect();
            return Err(format!("couldn't convert expressions - \"[{}]\" to map-based selector format", printed.join(" ")));
        }
        Ok(make_labels(selector.match_labels.as_ref()))
    };
    match object {
        Object::ReplicationController(rc) => Ok(make_labels(rc.spec.as_ref().and_then(|spec| spec.selector.as_ref()))),
        Object::Pod(pod) => match pod.metadata.labels.as_ref().filter(|l| !l.is_empty()) {
            Some(labels) => Ok(make_labels(Some(labels))),
            None => Err("the pod has no labels and cannot be exposed".to_string()),
        },
        Object::Service(svc) => match svc.spec.as_ref().and_then(|spec| spec.selector.as_ref()) {
            Some(selector) => Ok(make_labels(Some(selector))),
            None => Err("the service has no pod selector set".to_string()),
        },
        Object::Deployment(d) => from_selector(d.spec.as_ref().map(|spec| &spec.selector), "deployment"),
        Object::ReplicaSet(r) => from_selector(r.spec.as_ref().map(|spec| &spec.selector), "replicaset"),
        _ => Err("cannot extract pod selector".to_string()),
    }
}

/// The pod spec a workload's pods are made from.
fn pod_spec_of(object: &Object) -> Option<&PodSpec> {
    match object {
        Object::ReplicationController(rc) => rc.spec.as_ref()?.template.as_ref()?.spec.as_ref(),
        Object::Pod(pod) => pod.spec.as_deref(),
        Object::Deployment(d) => d.spec.as_ref()?.template.spec.as_ref(),
        Object::ReplicaSet(r) => r.spec.as_ref()?.template.as_ref()?.spec.as_ref(),
        _ => None,
    }
}

/// (port, protocol) for each port the object declares, in order.
fn declared_ports(object: &Object) -> Vec<(i32, String)> {
    let protocol = |p: Option<&String>| p.filter(|p| !p.is_empty()).cloned().unwrap_or_else(|| "TCP".to_string());
    if let Object::Service(svc) = object {
        return svc.spec.iter().flat_map(|spec| spec.ports.iter().flatten()).map(|p| (p.port, protocol(p.protocol.as_ref()))).collect();
    }
    pod_spec_of(object)
        .into_iter()
        .flat_map(|spec| spec.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| (p.container_port, protocol(p.protocol.as_ref())))
        .collect()
}

/// `PortsForObject`: each port once, in order.
fn ports_of(object: &Object) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (port, _) in declared_ports(object) {
        let text = port.to_string();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// `MultiProtocolsForObject`: every port's protocols, one for each time a
/// port is declared (kubectl does not remove repeats).
fn protocols_of(object: &Object) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (port, protocol) in declared_ports(object) {
        out.entry(port.to_string()).or_default().push(protocol);
    }
    out
}
