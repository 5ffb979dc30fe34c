//! The columns a 1.33 API server's table printers give each kind (what
//! `kubectl get` shows), from pkg/printers/internalversion/printers.go.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Container;
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, Time};

use crate::engine::api::{meta::virtual_of, Object};
use crate::engine::selector::Selector;
use serde_json::Value;
use super::jsonpath;
use crate::engine::sim::clock::VirtualTime;

use super::human_duration;

/// One object's row and the headers of its kind's table.
pub struct Row {
    pub headers: Vec<&'static str>,
    pub cells: Vec<String>,
    /// Which cell is the object's name (kind prefixes go there); events have none.
    pub name_column: Option<usize>,
}

/// apiextensions-apiserver's table convertor: NAME, then the served
/// version's `additionalPrinterColumns` (those of priority 0 only, unless
/// wide), each cell the first value its JSONPath finds, typed as the
/// column says (`cellForJSONValue`; a `date` as an age); no column at
/// all is one `Age` column.
fn custom_row(obj: &Object, rid: crate::engine::api::ResourceId, wide: bool, now: VirtualTime) -> Row {
    let name = obj.meta().name.clone().unwrap_or_default();
    let version = crate::engine::api::resource(rid).version;
    let columns = crate::engine::apiserver::custom::definition_of(rid)
        .and_then(|crd| crd.spec.versions.iter().find(|v| v.name == version).map(|v| v.additional_printer_columns.clone().unwrap_or_default()))
        .unwrap_or_default();
    if columns.is_empty() {
        return Row { headers: vec!["NAME", "AGE"], cells: vec![name, age(obj.meta().creation_timestamp.as_ref(), now)], name_column: Some(0) };
    }
    let data = obj.to_json();
    let mut headers = vec!["NAME"];
    let mut cells = vec![name];
    for column in columns.iter().filter(|c| wide || c.priority.unwrap_or(0) == 0) {
        headers.push(crate::engine::api::custom::static_text(&column.name.to_uppercase()));
        let found = jsonpath::Template::parse(&format!("{{{}}}", column.json_path)).ok().and_then(|t| {
            let results = t.find_results(&data, true).ok()?;
            results.first()?.first().map(|v| v.as_ref().clone())
        });
        cells.push(match found {
            None | Some(Value::Null) => "<none>".to_string(),
            Some(value) => custom_cell(&column.type_, &value, now),
        });
    }
    Row { headers, cells, name_column: Some(0) }
}

/// `cellForJSONValue`, as kubectl prints the cell (`<none>` for nil).
fn custom_cell(type_: &str, value: &Value, now: VirtualTime) -> String {
    match (type_, value) {
        ("string", v) => jsonpath::go_sprint(v),
        ("integer", Value::Number(n)) => n.as_i64().map(|i| i.to_string()).unwrap_or_else(|| (n.as_f64().unwrap_or(0.0) as i64).to_string()),
        ("number", Value::Number(n)) => jsonpath::go_sprint(&Value::Number(n.clone())),
        ("boolean", Value::Bool(b)) => b.to_string(),
        ("date", Value::String(text)) => match crate::engine::api::go_time::parse(crate::engine::api::go_time::Layout::Rfc3339, text) {
            Ok(t) => age(Some(&Time(t)), now),
            Err(_) => "<invalid>".to_string(),
        },
        _ => "<none>".to_string(),
    }
}

/// `translateTimestampSince`: the age of an API time at `now`.
pub fn age(t: Option<&Time>, now: VirtualTime) -> String {
    match t {
        None => "<unknown>".to_string(),
        Some(t) => human_duration(now.millis_since(virtual_of(t))),
    }
}

/// `translateTimestampSince` for a time that may lie ahead (a pod's
/// `deletionTimestamp` is when its grace period ends): `HumanDuration` of a
/// duration below -1 s is `<invalid>`, of one up to a second ahead `0s`.
pub fn age_or_invalid(t: &Time, now: VirtualTime) -> String {
    let at = virtual_of(t);
    // Go's int(d.Seconds()) truncates toward zero.
    if at > now && at.millis_since(now) / 1000 > 1 {
        return "<invalid>".to_string();
    }
    human_duration(now.millis_since(at))
}

fn micro_age(t: Option<&MicroTime>, now: VirtualTime) -> String {
    match t {
        None => "<unknown>".to_string(),
        Some(t) => age(Some(&Time(t.0)), now),
    }
}

fn none_if_empty(s: impl Into<String>) -> String {
    let s = s.into();
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    }
}

/// `labels.FormatLabels`: `a=b,c=d`, or `<none>`.
pub fn format_labels(labels: Option<&BTreeMap<String, String>>) -> String {
    let text = labels.map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).unwrap_or_default();
    none_if_empty(text)
}

/// `metav1.FormatLabelSelector`: requirements sorted by key, `<none>` when empty.
pub fn format_label_selector(selector: Option<&LabelSelector>) -> String {
    let Some(selector) = selector else { return "<none>".to_string() };
    let text = selector_string(selector);
    if text.is_empty() {
        "<none>".to_string()
    } else {
        text
    }
}

/// `LabelSelectorAsSelector(...).String()`: empty for an empty selector.
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut parsed = Selector::from_api(selector);
    parsed.requirements.sort_stable_by(|a, b| a.key.cmp(&b.key));
    for r in &mut parsed.requirements {
        r.values.sort_stable();
    }
    parsed.to_string()
}

fn containers_cells(containers: &[Container]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers.iter().map(|c| c.image.as_deref().unwrap_or("")).collect();
    (names.join(","), images.join(","))
}

fn bool_word(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// The row `kubectl get` prints for `obj`.
pub fn row(obj: &Object, wide: bool, now: VirtualTime) -> Row {
    let name = obj.meta().name.clone().unwrap_or_default();
    let created = obj.meta().creation_timestamp.as_ref();
    let age_cell = age(created, now);
    let named = |headers: Vec<&'static str>, cells: Vec<String>| Row { headers, cells, name_column: Some(0) };
    match obj {
        Object::Pod(pod) => pod_row(pod, wide, now),
        Object::Custom(custom) => custom_row(obj, custom.resource, wide, now),
        Object::Node(node) => {
            let status = node.status.clone().unwrap_or_default();
            let mut states: Vec<String> = Vec::new();
            if let Some(ready) = status.conditions.iter().flatten().find(|c| c.type_ == "Ready") {
                states.push(if ready.status == "True" { "Ready".into() } else { "NotReady".into() });
            }
            if states.is_empty() {
                states.push("Unknown".into());
            }
            if node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
                states.push("SchedulingDisabled".into());
            }
            let mut roles: Vec<String> = Vec::new();
            for (k, v) in node.metadata.labels.iter().flatten() {
                if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                    if !role.is_empty() {
                        roles.push(role.to_string());
                    }
                } else if k == "kubernetes.io/role" && !v.is_empty() {
                    roles.push(v.clone());
                }
            }
            roles.sort_stable();
            roles.dedup();
            let info = status.node_info.clone().unwrap_or_default();
            let mut cells = vec![name, states.join(","), none_if_empty(roles.join(",")), age_cell, info.kubelet_version.clone()];
            let mut headers = vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
            if wide {
                let address = |t: &str| {
                    status.addresses.iter().flatten().find(|a| a.type_ == t).map(|a| a.address.clone()).unwrap_or_else(|| "<none>".into())
                };
                let unknown = |s: &str| if s.is_empty() { "<unknown>".to_string() } else { s.to_string() };
                headers.extend(["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]);
                cells.extend([
                    address("InternalIP"),
                    address("ExternalIP"),
                    unknown(&info.os_image),
                    unknown(&info.kernel_version),
                    unknown(&info.container_runtime_version),
                ]);
            }
            named(headers, cells)
        }
        Object::Namespace(ns) => {
            let phase = ns.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            named(vec!["NAME", "STATUS", "AGE"], vec![name, phase, age_cell])
        }
        Object::Deployment(d) => {
            let spec = d.spec.clone().unwrap_or_default();
            let st = d.status.clone().unwrap_or_default();
            let mut headers = vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
            let mut cells = vec![
                name,
                format!("{}/{}", st.ready_replicas.unwrap_or(0), spec.replicas.unwrap_or(0)),
                st.updated_replicas.unwrap_or(0).to_string(),
                st.available_replicas.unwrap_or(0).to_string(),
                age_cell,
            ];
            if wide {
                let (names, images) = containers_cells(spec.template.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[]));
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, selector_string(&spec.selector)]);
            }
            named(headers, cells)
        }
        Object::ReplicaSet(rs) => {
            let spec = rs.spec.clone().unwrap_or_default();
            let st = rs.status.clone().unwrap_or_default();
            let mut headers = vec!["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
            let mut cells = vec![
                name,
                spec.replicas.unwrap_or(0).to_string(),
                st.replicas.to_string(),
                st.ready_replicas.unwrap_or(0).to_string(),
                age_cell,
            ];
            if wide {
                let containers = spec.template.as_ref().and_then(|t| t.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or(&[]);
                let (names, images) = containers_cells(containers);
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, format_label_selector(Some(&spec.selector))]);
            }
            named(headers, cells)
        }
        Object::ReplicationController(rc) => {
            let spec = rc.spec.clone().unwrap_or_default();
            let st = rc.status.clone().unwrap_or_default();
            let mut headers = vec!["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
            let mut cells = vec![
                name,
                spec.replicas.unwrap_or(0).to_string(),
                st.replicas.to_string(),
                st.ready_replicas.unwrap_or(0).to_string(),
                age_cell,
            ];
            if wide {
                let containers = spec.template.as_ref().and_then(|t| t.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or(&[]);
                let (names, images) = containers_cells(containers);
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, format_labels(spec.selector.as_ref())]);
            }
            named(headers, cells)
        }
        Object::StatefulSet(sts) => {
            let spec = sts.spec.clone().unwrap_or_default();
            let st = sts.status.clone().unwrap_or_default();
            let mut headers = vec!["NAME", "READY", "AGE"];
            let mut cells = vec![name, format!("{}/{}", st.ready_replicas.unwrap_or(0), spec.replicas.unwrap_or(1)), age_cell];
            if wide {
                let (names, images) = containers_cells(spec.template.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[]));
                headers.extend(["CONTAINERS", "IMAGES"]);
                cells.extend([names, images]);
            }
            named(headers, cells)
        }
        Object::DaemonSet(ds) => {
            let spec = ds.spec.clone().unwrap_or_default();
            let st = ds.status.clone().unwrap_or_default();
            let pod_spec = spec.template.spec.clone().unwrap_or_default();
            let mut headers = vec!["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"];
            let mut cells = vec![
                name,
                st.desired_number_scheduled.to_string(),
                st.current_number_scheduled.to_string(),
                st.number_ready.to_string(),
                st.updated_number_scheduled.unwrap_or(0).to_string(),
                st.number_available.unwrap_or(0).to_string(),
                format_labels(pod_spec.node_selector.as_ref()),
                age_cell,
            ];
            if wide {
                let (names, images) = containers_cells(&pod_spec.containers);
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, format_label_selector(Some(&spec.selector))]);
            }
            named(headers, cells)
        }
        Object::Job(job) => {
            let spec = job.spec.clone().unwrap_or_default();
            let st = job.status.clone().unwrap_or_default();
            let succeeded = st.succeeded.unwrap_or(0);
            let completions = match spec.completions {
                Some(c) => format!("{succeeded}/{c}"),
                None => match spec.parallelism.unwrap_or(0) {
                    p if p > 1 => format!("{succeeded}/1 of {p}"),
                    _ => format!("{succeeded}/1"),
                },
            };
            let duration = match (&st.start_time, &st.completion_time) {
                (None, _) => String::new(),
                (Some(start), None) => human_duration(now.millis_since(virtual_of(start))),
                (Some(start), Some(end)) => human_duration(virtual_of(end).millis_since(virtual_of(start))),
            };
            let has = |t: &str| st.conditions.iter().flatten().any(|c| c.type_ == t && c.status == "True");
            let status = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else if job.metadata.deletion_timestamp.is_some() {
                "Terminating"
            } else if has("Suspended") {
                "Suspended"
            } else if has("FailureTarget") {
                "FailureTarget"
            } else if has("SuccessCriteriaMet") {
                "SuccessCriteriaMet"
            } else {
                "Running"
            };
            let mut headers = vec!["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"];
            let mut cells = vec![name, status.to_string(), completions, duration, age_cell];
            if wide {
                let (names, images) = containers_cells(spec.template.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[]));
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, format_label_selector(spec.selector.as_ref())]);
            }
            named(headers, cells)
        }
        Object::CronJob(cj) => {
            let spec = cj.spec.clone().unwrap_or_default();
            let st = cj.status.clone().unwrap_or_default();
            let last = st.last_schedule_time.as_ref().map(|t| age(Some(t), now)).unwrap_or_else(|| "<none>".into());
            let suspend = spec.suspend.map(bool_word).unwrap_or_else(|| "<unset>".into());
            let mut headers = vec!["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"];
            let mut cells = vec![
                name,
                spec.schedule.clone(),
                spec.time_zone.clone().unwrap_or_else(|| "<none>".into()),
                suspend,
                st.active.as_ref().map(Vec::len).unwrap_or(0).to_string(),
                last,
                age_cell,
            ];
            if wide {
                let job_spec = spec.job_template.spec.clone().unwrap_or_default();
                let (names, images) = containers_cells(job_spec.template.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[]));
                headers.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                cells.extend([names, images, format_label_selector(job_spec.selector.as_ref())]);
            }
            named(headers, cells)
        }
        Object::Service(svc) => {
            let spec = svc.spec.clone().unwrap_or_default();
            let svc_type = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
            let external_ips = spec.external_ips.clone().unwrap_or_default();
            let external = match svc_type.as_str() {
                "ClusterIP" | "NodePort" => none_if_empty(external_ips.join(",")),
                "LoadBalancer" => {
                    let mut ips: Vec<String> = svc
                        .status
                        .as_ref()
                        .and_then(|s| s.load_balancer.as_ref())
                        .and_then(|lb| lb.ingress.clone())
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|i| i.ip.filter(|x| !x.is_empty()).or(i.hostname))
                        .collect();
                    ips.sort_stable();
                    ips.dedup();
                    let mut lb = ips.join(",");
                    if !wide && lb.len() > 16 {
                        lb = format!("{}...", &lb[..13]);
                    }
                    if !external_ips.is_empty() {
                        let mut all: Vec<String> = if lb.is_empty() { vec![] } else { lb.split(',').map(str::to_string).collect() };
                        all.extend(external_ips);
                        all.join(",")
                    } else if lb.is_empty() {
                        "<pending>".into()
                    } else {
                        lb
                    }
                }
                "ExternalName" => spec.external_name.clone().unwrap_or_default(),
                _ => "<unknown>".into(),
            };
            let ports: Vec<String> = spec
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
                    match p.node_port {
                        Some(np) if np > 0 => format!("{}:{}/{}", p.port, np, proto),
                        _ => format!("{}/{}", p.port, proto),
                    }
                })
                .collect();
            let mut headers = vec!["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"];
            let mut cells = vec![
                name,
                svc_type,
                none_if_empty(spec.cluster_ip.clone().unwrap_or_default()),
                external,
                none_if_empty(ports.join(",")),
                age_cell,
            ];
            if wide {
                headers.push("SELECTOR");
                cells.push(format_labels(spec.selector.as_ref()));
            }
            named(headers, cells)
        }
        Object::Endpoints(ep) => {
            // The server's `formatEndpoints`: `<none>` only without subsets (a
            // subset of not-ready addresses prints an empty cell), each port's
            // addresses in turn, three at most.
            let subsets = ep.subsets.as_deref().unwrap_or_default();
            let text = if subsets.is_empty() {
                "<none>".to_string()
            } else {
                const MAX: usize = 3;
                let mut list: Vec<String> = Vec::new();
                let mut more = false;
                let mut count = 0;
                for subset in subsets {
                    let addresses = subset.addresses.as_deref().unwrap_or_default();
                    let ports = subset.ports.as_deref().unwrap_or_default();
                    count += addresses.len() * ports.len().max(1);
                    if ports.is_empty() {
                        for addr in addresses {
                            if list.len() == MAX {
                                more = true;
                                break;
                            }
                            list.push(addr.ip.clone());
                        }
                        continue;
                    }
                    for port in ports {
                        for addr in addresses {
                            if list.len() == MAX {
                                more = true;
                                break;
                            }
                            let host = if addr.ip.contains(':') { format!("[{}]", addr.ip) } else { addr.ip.clone() };
                            list.push(format!("{host}:{}", port.port));
                        }
                    }
                }
                let joined = list.join(",");
                if more { format!("{joined} + {} more...", count.saturating_sub(MAX)) } else { joined }
            };
            named(vec!["NAME", "ENDPOINTS", "AGE"], vec![name, text, age_cell])
        }
        Object::EndpointSlice(es) => {
            // formatDiscoveryPorts: a port without a number shows its name, or `*`.
            let ports: Vec<String> = es
                .ports
                .iter()
                .flatten()
                .map(|p| p.port.map(|x| x.to_string()).or_else(|| p.name.clone()).unwrap_or_else(|| "*".to_string()))
                .collect();
            let addresses: Vec<String> = es.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()).collect();
            named(vec!["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], vec![name, es.address_type.clone(), list_with_more(&ports), list_with_more(&addresses), age_cell])
        }
        Object::ConfigMap(cm) => {
            let count = cm.data.as_ref().map(BTreeMap::len).unwrap_or(0) + cm.binary_data.as_ref().map(BTreeMap::len).unwrap_or(0);
            named(vec!["NAME", "DATA", "AGE"], vec![name, count.to_string(), age_cell])
        }
        Object::Secret(secret) => {
            let count = secret.data.as_ref().map(BTreeMap::len).unwrap_or(0);
            named(vec!["NAME", "TYPE", "DATA", "AGE"], vec![name, secret.type_.clone().unwrap_or_default(), count.to_string(), age_cell])
        }
        Object::ServiceAccount(sa) => {
            let count = sa.secrets.as_ref().map(Vec::len).unwrap_or(0);
            named(vec!["NAME", "SECRETS", "AGE"], vec![name, count.to_string(), age_cell])
        }
        Object::Event(ev) => {
            let first = if ev.first_timestamp.is_some() { age(ev.first_timestamp.as_ref(), now) } else { micro_age(ev.event_time.as_ref(), now) };
            let mut last = if ev.last_timestamp.is_some() { age(ev.last_timestamp.as_ref(), now) } else { first.clone() };
            let mut count = ev.count.unwrap_or(0);
            if let Some(series) = &ev.series {
                last = micro_age(series.last_observed_time.as_ref(), now);
                count = series.count.unwrap_or(0);
            } else if count == 0 {
                count = 1;
            }
            let io = &ev.involved_object;
            let kind = io.kind.clone().unwrap_or_default().to_lowercase();
            let target = match io.name.as_deref() {
                Some(n) if !n.is_empty() => format!("{kind}/{n}"),
                _ => kind,
            };
            let message = ev.message.clone().unwrap_or_default().trim().to_string();
            let type_ = ev.type_.clone().unwrap_or_default();
            let reason = ev.reason.clone().unwrap_or_default();
            if wide {
                let source = ev.source.clone().unwrap_or_default();
                let component = source.component.filter(|c| !c.is_empty()).or(ev.reporting_component.clone()).unwrap_or_default();
                let host = source.host.filter(|c| !c.is_empty()).or(ev.reporting_instance.clone()).unwrap_or_default();
                let source = if host.is_empty() { component } else { format!("{component}, {host}") };
                Row {
                    headers: vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"],
                    cells: vec![last, type_, reason, target, io.field_path.clone().unwrap_or_default(), source, message, first, count.to_string(), name],
                    name_column: Some(9),
                }
            } else {
                Row { headers: vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], cells: vec![last, type_, reason, target, message], name_column: None }
            }
        }
        Object::Lease(lease) => {
            let holder = lease.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default();
            named(vec!["NAME", "HOLDER", "AGE"], vec![name, holder, age_cell])
        }
        Object::Ingress(ing) => {
            let spec = ing.spec.clone().unwrap_or_default();
            let rules = spec.rules.clone().unwrap_or_default();
            // formatHosts: the first three hosts; any rule after the third
            // host (with a host or not) makes it `+ N more...`, N counting rules.
            let mut shown: Vec<&str> = Vec::new();
            let mut more = false;
            for rule in &rules {
                if shown.len() == 3 {
                    more = true;
                }
                if !more {
                    if let Some(h) = rule.host.as_deref().filter(|h| !h.is_empty()) {
                        shown.push(h);
                    }
                }
            }
            let host_text = if shown.is_empty() {
                "*".to_string()
            } else if more {
                format!("{} + {} more...", shown.join(","), rules.len().saturating_sub(3))
            } else {
                shown.join(",")
            };
            let mut addrs: Vec<String> = ing
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.clone())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.ip.filter(|x| !x.is_empty()).or(i.hostname))
                .collect();
            addrs.sort_stable();
            addrs.dedup();
            let mut address = addrs.join(",");
            if !wide && address.len() > 16 {
                address = format!("{}...", &address[..13]);
            }
            let ports = if spec.tls.as_ref().is_some_and(|t| !t.is_empty()) { "80, 443" } else { "80" };
            named(
                vec!["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
                vec![name, spec.ingress_class_name.clone().unwrap_or_else(|| "<none>".into()), host_text, address, ports.into(), age_cell],
            )
        }
        Object::IngressClass(ic) => {
            let spec = ic.spec.clone().unwrap_or_default();
            let params = spec
                .parameters
                .as_ref()
                .map(|p| {
                    let group = p.api_group.clone().unwrap_or_else(|| "k8s.io".into());
                    format!("{}.{}/{}", p.kind, group, p.name)
                })
                .unwrap_or_else(|| "<none>".into());
            named(vec!["NAME", "CONTROLLER", "PARAMETERS", "AGE"], vec![name, spec.controller.clone().unwrap_or_default(), params, age_cell])
        }
        Object::NetworkPolicy(np) => {
            let sel = np.spec.as_ref().and_then(|s| s.pod_selector.as_ref()).map(selector_string).unwrap_or_default();
            named(vec!["NAME", "POD-SELECTOR", "AGE"], vec![name, none_if_empty(sel), age_cell])
        }
        Object::PersistentVolumeClaim(pvc) => {
            let spec = pvc.spec.clone().unwrap_or_default();
            let st = pvc.status.clone().unwrap_or_default();
            let volume = spec.volume_name.clone().unwrap_or_default();
            let (capacity, modes) = if volume.is_empty() {
                (String::new(), String::new())
            } else {
                (storage_quantity(st.capacity.as_ref()), access_modes(st.access_modes.as_deref().unwrap_or(&[])))
            };
            let phase = if pvc.metadata.deletion_timestamp.is_some() { "Terminating".to_string() } else { st.phase.clone().unwrap_or_default() };
            let mut headers = vec!["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"];
            let mut cells = vec![
                name,
                phase,
                volume,
                capacity,
                modes,
                crate::engine::storage::claim_class(pvc).to_string(),
                spec.volume_attributes_class_name.clone().unwrap_or_else(|| "<unset>".into()),
                age_cell,
            ];
            if wide {
                headers.push("VOLUMEMODE");
                cells.push(spec.volume_mode.clone().unwrap_or_else(|| "<unset>".into()));
            }
            named(headers, cells)
        }
        Object::PersistentVolume(pv) => {
            let spec = pv.spec.clone().unwrap_or_default();
            let st = pv.status.clone().unwrap_or_default();
            let claim = spec
                .claim_ref
                .as_ref()
                .map(|c| format!("{}/{}", c.namespace.clone().unwrap_or_default(), c.name.clone().unwrap_or_default()))
                .unwrap_or_default();
            let phase = if pv.metadata.deletion_timestamp.is_some() { "Terminating".to_string() } else { st.phase.clone().unwrap_or_default() };
            let mut headers =
                vec!["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"];
            let mut cells = vec![
                name,
                storage_quantity(spec.capacity.as_ref()),
                access_modes(spec.access_modes.as_deref().unwrap_or(&[])),
                spec.persistent_volume_reclaim_policy.clone().unwrap_or_default(),
                phase,
                claim,
                crate::engine::storage::volume_class(pv).to_string(),
                spec.volume_attributes_class_name.clone().unwrap_or_else(|| "<unset>".into()),
                st.reason.clone().unwrap_or_default(),
                age_cell,
            ];
            if wide {
                headers.push("VOLUMEMODE");
                cells.push(spec.volume_mode.clone().unwrap_or_else(|| "<unset>".into()));
            }
            named(headers, cells)
        }
        Object::StorageClass(sc) => {
            let is_default = sc.metadata.annotations.as_ref().is_some_and(|a| {
                a.get("storageclass.kubernetes.io/is-default-class").map(String::as_str) == Some("true")
                    || a.get("storageclass.beta.kubernetes.io/is-default-class").map(String::as_str) == Some("true")
            });
            let shown = if is_default { format!("{name} (default)") } else { name };
            named(
                vec!["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
                vec![
                    shown,
                    sc.provisioner.clone(),
                    sc.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                    sc.volume_binding_mode.clone().unwrap_or_else(|| "Immediate".into()),
                    sc.allow_volume_expansion.unwrap_or(false).to_string(),
                    age_cell,
                ],
            )
        }
        Object::HorizontalPodAutoscaler(hpa) => {
            let spec = hpa.spec.clone().unwrap_or_default();
            let st = hpa.status.clone().unwrap_or_default();
            let target = &spec.scale_target_ref;
            let reference = format!("{}/{}", target.kind, target.name);
            let targets = hpa_targets(hpa);
            named(
                vec!["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
                vec![
                    name,
                    reference,
                    targets,
                    spec.min_replicas.unwrap_or(1).to_string(),
                    spec.max_replicas.to_string(),
                    st.current_replicas.unwrap_or(0).to_string(),
                    age_cell,
                ],
            )
        }
        Object::PriorityClass(pc) => named(
            vec!["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
            vec![
                name,
                pc.value.to_string(),
                pc.global_default.unwrap_or(false).to_string(),
                age_cell,
                pc.preemption_policy.clone().unwrap_or_else(|| "PreemptLowerPriority".into()),
            ],
        ),
        Object::ControllerRevision(cr) => {
            let controller = crate::engine::api::meta::controller_of(cr.metadata.owner_references.as_ref())
                .map(|o| {
                    let group = o.api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
                    let kind = if group.is_empty() { o.kind.to_lowercase() } else { format!("{}.{}", o.kind, group).to_lowercase() };
                    format!("{kind}/{}", o.name)
                })
                .unwrap_or_else(|| "<none>".into());
            named(vec!["NAME", "CONTROLLER", "REVISION", "AGE"], vec![name, controller, cr.revision.to_string(), age_cell])
        }
        Object::PodDisruptionBudget(pdb) => {
            let spec = pdb.spec.clone().unwrap_or_default();
            let int_or = |v: &Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| match v {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => i.to_string(),
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => s.clone(),
                None => "N/A".to_string(),
            };
            let allowed = pdb.status.as_ref().map(|s| s.disruptions_allowed).unwrap_or(0);
            named(
                vec!["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
                vec![name, int_or(&spec.min_available), int_or(&spec.max_unavailable), allowed.to_string(), age_cell],
            )
        }
        Object::RoleBinding(rb) => binding_row(name, &rb.role_ref, rb.subjects.as_deref(), age_cell, wide),
        Object::ClusterRoleBinding(rb) => binding_row(name, &rb.role_ref, rb.subjects.as_deref(), age_cell, wide),
        // Their registries convert with rest.NewDefaultTableConvertor.
        Object::Role(_) | Object::ClusterRole(_) | Object::LimitRange(_) | Object::CustomResourceDefinition(_) | Object::CSIStorageCapacity(_) => {
            named(vec!["NAME", "CREATED AT"], vec![name, created.map(rfc3339).unwrap_or_default()])
        }
        Object::ResourceQuota(q) => {
            // printResourceQuota: status.hard by resource name against
            // status.used (`0` when absent); `limits.*` in LIMIT, the rest in REQUEST.
            let status = q.status.clone().unwrap_or_default();
            let used = status.used.unwrap_or_default();
            let mut requests = Vec::new();
            let mut limits = Vec::new();
            for (res, hard) in status.hard.iter().flatten() {
                let u = used.get(res).map_or("0", |q| q.0.as_str());
                let text = format!("{res}: {u}/{}", hard.0);
                if res.split_once('.').is_some_and(|(first, _)| first == "limits") {
                    limits.push(text);
                } else {
                    requests.push(text);
                }
            }
            // 1.33 prints AGE last (kubernetes#129419).
            named(vec!["NAME", "REQUEST", "LIMIT", "AGE"], vec![name, requests.join(", "), limits.join(", "), age_cell])
        }
        Object::MutatingWebhookConfiguration(m) => {
            named(vec!["NAME", "WEBHOOKS", "AGE"], vec![name, m.webhooks.as_ref().map(Vec::len).unwrap_or(0).to_string(), age_cell])
        }
        Object::ValidatingWebhookConfiguration(v) => {
            named(vec!["NAME", "WEBHOOKS", "AGE"], vec![name, v.webhooks.as_ref().map(Vec::len).unwrap_or(0).to_string(), age_cell])
        }
        Object::RuntimeClass(rc) => named(vec!["NAME", "HANDLER", "AGE"], vec![name, rc.handler.clone(), age_cell]),
        Object::CSIDriver(d) => {
            let spec = d.spec.clone();
            let modes = none_if_empty(spec.volume_lifecycle_modes.clone().unwrap_or_default().join(","));
            named(
                vec!["NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"],
                vec![
                    name,
                    spec.attach_required.unwrap_or(true).to_string(),
                    spec.pod_info_on_mount.unwrap_or(false).to_string(),
                    spec.storage_capacity.unwrap_or(false).to_string(),
                    // printCSIDriver: `<unset>` only without the list.
                    spec.token_requests.as_ref().map(|t| t.iter().map(|t| t.audience.clone()).collect::<Vec<_>>().join(",")).unwrap_or_else(|| "<unset>".into()),
                    spec.requires_republish.unwrap_or(false).to_string(),
                    modes,
                    age_cell,
                ],
            )
        }
        Object::CSINode(n) => named(vec!["NAME", "DRIVERS", "AGE"], vec![name, n.spec.drivers.len().to_string(), age_cell]),
        Object::ComponentStatus(cs) => {
            let (status, message, error) = cs
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "Healthy")
                .map(|c| {
                    let healthy = if c.status == "True" { "Healthy" } else { "Unhealthy" };
                    (healthy.to_string(), c.message.clone().unwrap_or_default(), c.error.clone().unwrap_or_default())
                })
                .unwrap_or_else(|| ("Unknown".into(), String::new(), String::new()));
            named(vec!["NAME", "STATUS", "MESSAGE", "ERROR"], vec![name, status, message, error])
        }
        Object::PodTemplate(pt) => {
            // printPodTemplate: no AGE column.
            let template = pt.template.clone().unwrap_or_default();
            let (names, images) = containers_cells(template.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[]));
            let pod_labels = format_labels(template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            named(vec!["NAME", "CONTAINERS", "IMAGES", "POD LABELS"], vec![name, names, images, pod_labels])
        }
        Object::CertificateSigningRequest(csr) => {
            let spec = &csr.spec;
            let signer = if spec.signer_name.is_empty() { "<none>".to_string() } else { spec.signer_name.clone() };
            let duration = spec.expiration_seconds.map(|s| human_duration(u64::try_from(s).unwrap_or(0) * 1000)).unwrap_or_else(|| "<none>".into());
            named(
                vec!["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"],
                vec![name, age_cell, signer, spec.username.clone().unwrap_or_default(), duration, csr_condition(csr)],
            )
        }
        Object::APIService(svc) => {
            // kube-aggregator's REST.ConvertToTable.
            let service = svc
                .spec
                .as_ref()
                .and_then(|s| s.service.as_ref())
                .map(|r| format!("{}/{}", r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default()))
                .unwrap_or_else(|| "Local".into());
            let available = svc
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Available"))
                .map(|c| match c.reason.as_deref() {
                    Some(reason) if c.status != "True" && !reason.is_empty() => format!("{} ({reason})", c.status),
                    _ => c.status.clone(),
                })
                .unwrap_or_else(|| "Unknown".into());
            named(vec!["NAME", "SERVICE", "AVAILABLE", "AGE"], vec![name, service, available, age_cell])
        }
        Object::ValidatingAdmissionPolicy(p) => {
            let spec = p.spec.clone().unwrap_or_default();
            let param_kind = spec
                .param_kind
                .as_ref()
                .map(|k| format!("{}/{}", k.api_version.clone().unwrap_or_default(), k.kind.clone().unwrap_or_default()))
                .unwrap_or_else(|| "<unset>".into());
            named(vec!["NAME", "VALIDATIONS", "PARAMKIND", "AGE"], vec![name, spec.validations.as_ref().map(Vec::len).unwrap_or(0).to_string(), param_kind, age_cell])
        }
        Object::ValidatingAdmissionPolicyBinding(b) => {
            let spec = b.spec.clone().unwrap_or_default();
            let param = match &spec.param_ref {
                Some(r) => match (r.name.as_deref().filter(|n| !n.is_empty()), r.namespace.as_deref().filter(|n| !n.is_empty())) {
                    (Some(n), Some(ns)) => format!("{ns}/{n}"),
                    // A name without a namespace may be cluster-scoped: `*/`.
                    (Some(n), None) => format!("*/{n}"),
                    (None, _) => r.selector.as_ref().map(selector_string).unwrap_or_else(|| "<unset>".into()),
                },
                None => "<unset>".into(),
            };
            named(vec!["NAME", "POLICYNAME", "PARAMREF", "AGE"], vec![name, spec.policy_name.clone().unwrap_or_default(), param, age_cell])
        }
        Object::FlowSchema(fs) => {
            let spec = fs.spec.clone().unwrap_or_default();
            let distinguisher = spec.distinguisher_method.as_ref().map(|d| d.type_.clone()).unwrap_or_else(|| "<none>".into());
            // The Dangling condition's status, `?` without one.
            let missing = fs
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_.as_deref() == Some("Dangling")))
                .map(|c| c.status.clone().unwrap_or_default())
                .unwrap_or_else(|| "?".into());
            named(
                vec!["NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL"],
                vec![name, spec.priority_level_configuration.name.clone(), spec.matching_precedence.unwrap_or(0).to_string(), distinguisher, age_cell, missing],
            )
        }
        Object::PriorityLevelConfiguration(plc) => {
            let spec = plc.spec.clone().unwrap_or_default();
            let none = || "<none>".to_string();
            let (shares, queues, hand_size, queue_length) = match &spec.limited {
                Some(limited) => {
                    let shares = limited.nominal_concurrency_shares.unwrap_or(0).to_string();
                    match limited.limit_response.as_ref().and_then(|r| r.queuing.as_ref()) {
                        Some(q) => (shares, q.queues.unwrap_or(0).to_string(), q.hand_size.unwrap_or(0).to_string(), q.queue_length_limit.unwrap_or(0).to_string()),
                        None => (shares, none(), none(), none()),
                    }
                }
                None => (none(), none(), none(), none()),
            };
            named(
                vec!["NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT", "AGE"],
                vec![name, spec.type_.clone(), shares, queues, hand_size, queue_length, age_cell],
            )
        }
        Object::ServiceCIDR(cidr) => {
            let cidrs = cidr.spec.as_ref().and_then(|s| s.cidrs.clone()).unwrap_or_default().join(",");
            named(vec!["NAME", "CIDRS", "AGE"], vec![name, cidrs, age_cell])
        }
        Object::IPAddress(ip) => {
            // printIPAddress fills an age cell its two columns do not show.
            let parent = ip
                .spec
                .as_ref()
                .map(|s| {
                    let r = &s.parent_ref;
                    let mut text = match r.group.as_deref().filter(|g| !g.is_empty()) {
                        Some(group) => format!("{}.{group}", r.resource).to_lowercase(),
                        None => r.resource.to_lowercase(),
                    };
                    if let Some(ns) = r.namespace.as_deref().filter(|n| !n.is_empty()) {
                        text.push('/');
                        text.push_str(ns);
                    }
                    text.push('/');
                    text.push_str(&r.name);
                    text
                })
                .unwrap_or_else(|| "<none>".into());
            named(vec!["NAME", "PARENTREF"], vec![name, parent])
        }
        Object::VolumeAttachment(va) => {
            let spec = &va.spec;
            let attached = va.status.as_ref().is_some_and(|s| s.attached);
            named(
                vec!["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"],
                vec![name, spec.attacher.clone(), spec.source.persistent_volume_name.clone().unwrap_or_default(), spec.node_name.clone(), attached.to_string(), age_cell],
            )
        }
        _ => named(vec!["NAME", "AGE"], vec![name, age_cell]),
    }
}

/// `extractCSRStatus`: Denied over Approved over Pending, then `,Failed`
/// and `,Issued`.
pub(crate) fn csr_condition(csr: &k8s_openapi::api::certificates::v1::CertificateSigningRequest) -> String {
    let conditions = csr.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
    let has = |t: &str| conditions.iter().any(|c| c.type_ == t);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if csr.status.as_ref().and_then(|s| s.certificate.as_ref()).is_some_and(|c| !c.0.is_empty()) {
        status.push_str(",Issued");
    }
    status
}

/// `listWithMoreString`: the first three, `+ N more...` past them, `<unset>` for none.
fn list_with_more(items: &[String]) -> String {
    const MAX: usize = 3;
    let shown = items.iter().take(MAX).cloned().collect::<Vec<_>>().join(",");
    if items.len() > MAX {
        format!("{shown} + {} more...", items.len() - MAX)
    } else if shown.is_empty() {
        "<unset>".to_string()
    } else {
        shown
    }
}

/// RFC 3339 at second precision, as `CREATED AT` columns print.
pub fn rfc3339(t: &Time) -> String {
    t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn binding_row(
    name: String,
    role_ref: &k8s_openapi::api::rbac::v1::RoleRef,
    subjects: Option<&[k8s_openapi::api::rbac::v1::Subject]>,
    age_cell: String,
    wide: bool,
) -> Row {
    let mut headers = vec!["NAME", "ROLE", "AGE"];
    let mut cells = vec![name, format!("{}/{}", role_ref.kind, role_ref.name), age_cell];
    if wide {
        let mut users = Vec::new();
        let mut groups = Vec::new();
        let mut sas = Vec::new();
        for s in subjects.unwrap_or(&[]) {
            match s.kind.as_str() {
                "User" => users.push(s.name.clone()),
                "Group" => groups.push(s.name.clone()),
                "ServiceAccount" => sas.push(format!("{}/{}", s.namespace.clone().unwrap_or_default(), s.name)),
                _ => {}
            }
        }
        headers.extend(["USERS", "GROUPS", "SERVICEACCOUNTS"]);
        cells.extend([users.join(", "), groups.join(", "), sas.join(", ")]);
    }
    Row { headers, cells, name_column: Some(0) }
}

/// `helper.GetAccessModesAsString`: `RWO,ROX,RWX,RWOP` in that order.
fn access_modes(modes: &[String]) -> String {
    crate::engine::storage::access_modes_string(modes)
}

/// The `storage` entry of a resource list as `Quantity.String()` prints it ("0" when missing).
fn storage_quantity(list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>) -> String {
    list.and_then(|l| l.get("storage"))
        .and_then(|q| crate::engine::quantity::parse_stored(q))
        .map(|q| q.canonical())
        .unwrap_or_else(|| "0".into())
}

/// `formatHPAMetrics`: each metric as `name: current/target`, at most two,
/// then `+ N more...`.
fn hpa_targets(hpa: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler) -> String {
    let metrics = hpa.spec.as_ref().and_then(|s| s.metrics.clone()).unwrap_or_default();
    let current = hpa.status.as_ref().and_then(|s| s.current_metrics.clone()).unwrap_or_default();
    if metrics.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 2;
    let mut parts = Vec::new();
    let mut counted = 0;
    let mut more = false;
    let unknown = || "<unknown>".to_string();
    for (i, m) in metrics.iter().enumerate() {
        let status = current.get(i);
        match m.type_.as_str() {
            "Resource" | "ContainerResource" => {
                let (name, target, cur) = match (&m.resource, &m.container_resource) {
                    (Some(r), _) => (r.name.clone(), &r.target, status.and_then(|c| c.resource.as_ref()).map(|c| &c.current)),
                    (None, Some(r)) => (r.name.clone(), &r.target, status.and_then(|c| c.container_resource.as_ref()).map(|c| &c.current)),
                    _ => continue,
                };
                if let Some(value) = &target.average_value {
                    let now = cur.and_then(|c| c.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_else(unknown);
                    parts.push(format!("{name}: {now}/{}", value.0));
                } else {
                    let now = cur.and_then(|c| c.average_utilization).map(|u| format!("{u}%")).unwrap_or_else(unknown);
                    let target = target.average_utilization.map(|u| format!("{u}%")).unwrap_or_else(|| "<auto>".into());
                    parts.push(format!("{name}: {now}/{target}"));
                }
            }
            "Pods" => {
                let target = m.pods.as_ref().and_then(|p| p.target.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_default();
                let now = status.and_then(|c| c.pods.as_ref()).and_then(|p| p.current.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_else(unknown);
                parts.push(format!("{now}/{target}"));
            }
            "Object" => {
                let target = m.object.as_ref().map(|o| &o.target);
                let now = status.and_then(|c| c.object.as_ref()).map(|o| &o.current);
                let (t, c) = match target.and_then(|t| t.average_value.as_ref()) {
                    Some(avg) => (format!("{} (avg)", avg.0), now.and_then(|c| c.average_value.as_ref()).map(|q| q.0.clone())),
                    None => (target.and_then(|t| t.value.as_ref()).map(|q| q.0.clone()).unwrap_or_default(), now.and_then(|c| c.value.as_ref()).map(|q| q.0.clone())),
                };
                parts.push(format!("{}/{t}", c.unwrap_or_else(unknown)));
            }
            "External" => {
                let target = m.external.as_ref().map(|o| &o.target);
                let now = status.and_then(|c| c.external.as_ref()).map(|o| &o.current);
                let (t, c) = match target.and_then(|t| t.average_value.as_ref()) {
                    Some(avg) => (format!("{} (avg)", avg.0), now.and_then(|c| c.average_value.as_ref()).map(|q| q.0.clone())),
                    None => (target.and_then(|t| t.value.as_ref()).map(|q| q.0.clone()).unwrap_or_default(), now.and_then(|c| c.value.as_ref()).map(|q| q.0.clone())),
                };
                parts.push(format!("{}/{t}", c.unwrap_or_else(unknown)));
            }
            _ => parts.push("<unknown type>".into()),
        }
        if parts.len() > MAX {
            parts.truncate(MAX);
            more = true;
            break;
        }
        counted += 1;
    }
    let joined = parts.join(", ");
    if more {
        format!("{joined} + {} more...", metrics.len() - counted)
    } else {
        joined
    }
}

/// The READY, STATUS and RESTARTS cells of a pod, as `printPod` computes them.
pub struct PodSummary {
    pub ready: String,
    pub status: String,
    pub restarts: String,
}

/// `printPod`'s reasoning over init containers, containers and deletion.
pub fn pod_summary(pod: &Pod, now: VirtualTime) -> PodSummary {
    let spec = pod.spec.clone().unwrap_or_default();
    // Made for this row alone: a table lists every pod.
    let status = pod.status_for_call();
    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let mut total = spec.containers.len();
    let mut ready = 0;
    let mut last_restart: Option<VirtualTime> = None;
    let mut last_sidecar_restart: Option<VirtualTime> = None;
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = status.reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| phase.clone());
    if status.conditions.iter().flatten().any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated")) {
        reason = "SchedulingGated".into();
    }
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let is_sidecar = |name: &str| init_specs.iter().any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"));
    total += init_specs.iter().filter(|c| c.restart_policy.as_deref() == Some("Always")).count();
    let later = |a: Option<VirtualTime>, b: Option<VirtualTime>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    };
    let finished_at = |cs: &k8s_openapi::api::core::v1::ContainerStatus| {
        cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()).map(virtual_of)
    };
    let mut initializing = false;
    let init_statuses = status.init_container_statuses.clone().unwrap_or_default();
    for (i, cs) in init_statuses.iter().enumerate() {
        restarts += cs.restart_count as i64;
        last_restart = later(last_restart, finished_at(cs));
        let sidecar = is_sidecar(&cs.name);
        if sidecar {
            sidecar_restarts += cs.restart_count as i64;
            last_sidecar_restart = later(last_sidecar_restart, finished_at(cs));
        }
        let state = cs.state.clone().unwrap_or_default();
        if state.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar && cs.started == Some(true) {
            if cs.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = &state.terminated {
            reason = match t.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match t.signal {
                    Some(sig) if sig != 0 => format!("Init:Signal:{sig}"),
                    _ => format!("Init:ExitCode:{}", t.exit_code),
                },
            };
        } else if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty() && r != "PodInitializing") {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{}/{}", i, init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = status.conditions.iter().flatten().any(|c| c.type_ == "Initialized" && c.status == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for cs in status.container_statuses.iter().flatten().rev() {
            restarts += cs.restart_count as i64;
            last_restart = later(last_restart, finished_at(cs));
            let state = cs.state.clone().unwrap_or_default();
            if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty()) {
                reason = r;
            } else if let Some(t) = &state.terminated {
                reason = match t.reason.as_deref() {
                    Some(r) if !r.is_empty() => r.to_string(),
                    _ => match t.signal {
                        Some(sig) if sig != 0 => format!("Signal:{sig}"),
                        _ => format!("ExitCode:{}", t.exit_code),
                    },
                };
            } else if cs.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if pod_ready { "Running".into() } else { "NotReady".into() };
        }
    }
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".into();
    } else if pod.metadata.deletion_timestamp.is_some() && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now.millis_since(t))),
        _ => restarts.to_string(),
    };
    PodSummary { ready: format!("{ready}/{total}"), status: reason, restarts: restarts_text }
}

fn pod_row(pod: &Pod, wide: bool, now: VirtualTime) -> Row {
    let summary = pod_summary(pod, now);
    let mut headers = vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
    let mut cells = vec![
        pod.metadata.name.clone().unwrap_or_default(),
        summary.ready,
        summary.status,
        summary.restarts,
        age(pod.metadata.creation_timestamp.as_ref(), now),
    ];
    if wide {
        let spec = pod.spec.clone().unwrap_or_default();
        let status = pod.status_for_call();
        let ip = status.pod_ips.as_ref().and_then(|ips| ips.first()).map(|i| i.ip.clone()).unwrap_or_default();
        let gates = spec.readiness_gates.clone().unwrap_or_default();
        let gates_text = if gates.is_empty() {
            "<none>".to_string()
        } else {
            let ok = gates
                .iter()
                .filter(|g| status.conditions.iter().flatten().find(|c| c.type_ == g.condition_type).is_some_and(|c| c.status == "True"))
                .count();
            format!("{ok}/{}", gates.len())
        };
        headers.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
        cells.extend([
            none_if_empty(ip),
            none_if_empty(pod.node_name.clone().unwrap_or_default()),
            none_if_empty(status.nominated_node_name.clone().unwrap_or_default()),
            gates_text,
        ]);
    }
    Row { headers, cells, name_column: Some(0) }
}
