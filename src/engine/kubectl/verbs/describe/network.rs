//! kubectl 1.33's describers for Ingresses, IngressClasses and
//! NetworkPolicies (describe.go: `describeIngressV1`,
//! `describeIngressClassV1`, `describeNetworkPolicy`).

use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressClass, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::{ids, Object};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::printers::tables::format_label_selector;
use crate::engine::kubectl::Session;

use super::{annotations_multiline, format_slice_endpoints, labels_multiline, Writer};

/// `serviceBackendStringer`: `name:port`.
fn backend_name(b: &IngressBackend) -> Option<String> {
    let svc = b.service.as_ref()?;
    let port = svc.port.as_ref().map(|p| match (p.number, &p.name) {
        (Some(n), _) if n != 0 => n.to_string(),
        (_, Some(name)) => name.clone(),
        _ => String::new(),
    });
    Some(format!("{}:{}", svc.name, port.unwrap_or_default()))
}

/// `describeBackendV1`: the backend and its Service's ready endpoints.
fn describe_backend(s: &Session, ns: &str, b: &IngressBackend) -> String {
    if let Some(svc_backend) = &b.service {
        let name = backend_name(b).unwrap_or_default();
        let svc = match s.cluster.sim.api.get(ids::services(), ns, &svc_backend.name) {
            Ok(o) => o,
            Err(e) => return format!("{name} (<error: {}>)", e.message),
        };
        let Object::Service(svc) = &*svc else { return name };
        let wanted = svc_backend.port.as_ref();
        let mut port_name = String::new();
        for sp in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            let by_number = wanted.and_then(|p| p.number).is_some_and(|n| n != 0 && n == sp.port);
            let by_name = wanted.and_then(|p| p.name.as_deref()).is_some_and(|n| !n.is_empty() && sp.name.as_deref() == Some(n));
            if by_number || by_name {
                port_name = sp.name.clone().unwrap_or_default();
            }
        }
        let slices: Vec<EndpointSlice> = s
            .cluster
            .sim
            .api
            .list(&Query::in_namespace(ids::endpoint_slices(), ns))
            .map(|(items, _)| items)
            .unwrap_or_default()
            .iter()
            .filter_map(|o| match &**o {
                Object::EndpointSlice(es) if es.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) == Some(&svc_backend.name) => Some((**es).clone()),
                _ => None,
            })
            .collect();
        return format!("{name} ({})", format_slice_endpoints(&slices, &port_name));
    }
    if let Some(r) = &b.resource {
        return format!("APIGroup: {}, Kind: {}, Name: {}", r.api_group.clone().unwrap_or_else(|| "<none>".into()), r.kind, r.name);
    }
    String::new()
}

pub(super) fn describe_ingress(w: &mut Writer, s: &Session, ing: &Ingress) {
    let m = &ing.metadata;
    let ns = m.namespace.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    w.line(0, &format!("Namespace:\t{ns}"));
    let address: Vec<String> = ing
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.ip.or(i.hostname))
        .collect();
    w.line(0, &format!("Address:\t{}", address.join(",")));
    let spec = ing.spec.clone().unwrap_or_default();
    w.line(0, &format!("Ingress Class:\t{}", spec.ingress_class_name.clone().unwrap_or_else(|| "<none>".into())));
    let default_backend = spec.default_backend.as_ref().map_or_else(|| "<default>".to_string(), |b| describe_backend(s, &ns, b));
    w.line(0, &format!("Default backend:\t{default_backend}"));
    if let Some(tls) = spec.tls.as_ref().filter(|t| !t.is_empty()) {
        w.line(0, "TLS:");
        for t in tls {
            let hosts = t.hosts.clone().unwrap_or_default().join(",");
            match t.secret_name.as_deref().filter(|n| !n.is_empty()) {
                None => w.line(1, &format!("SNI routes {hosts}")),
                Some(secret) => w.line(1, &format!("{secret} terminates {hosts}")),
            }
        }
    }
    w.line(0, "Rules:\n  Host\tPath\tBackends");
    w.line(1, "----\t----\t--------");
    let mut count = 0;
    for rule in spec.rules.iter().flatten() {
        let Some(http) = &rule.http else { continue };
        count += 1;
        let host = rule.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| "*".into());
        w.line(1, &format!("{host}\t"));
        for p in &http.paths {
            w.line(2, &format!("\t{} \t{}", p.path.as_deref().unwrap_or(""), describe_backend(s, &ns, &p.backend)));
        }
    }
    if count == 0 {
        w.line(1, &format!("*\t*\t{default_backend}"));
    }
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
}

pub(super) fn describe_ingress_class(w: &mut Writer, ic: &IngressClass) {
    let m = &ic.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    let spec = ic.spec.clone().unwrap_or_default();
    w.line(0, &format!("Controller:\t{}", spec.controller.unwrap_or_default()));
    if let Some(p) = spec.parameters {
        w.line(0, "Parameters:");
        if let Some(g) = p.api_group {
            w.line(1, &format!("APIGroup:\t{g}"));
        }
        w.line(1, &format!("Kind:\t{}", p.kind));
        w.line(1, &format!("Name:\t{}", p.name));
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn ports_lines(w: &mut Writer, ports: Option<&Vec<NetworkPolicyPort>>, indent: &str, title: &str) {
    match ports.filter(|p| !p.is_empty()) {
        None => w.line(0, &format!("{indent}{title}: <any> (traffic allowed to all ports)")),
        Some(list) => {
            for port in list {
                let proto = port.protocol.clone().unwrap_or_else(|| "TCP".into());
                let number = port.port.as_ref().map_or_else(|| "<nil>".to_string(), int_or_string);
                // A range (`endPort`) is its own line, whichever direction.
                match port.end_port {
                    None => w.line(0, &format!("{indent}{title}: {number}/{proto}")),
                    Some(end) => w.line(0, &format!("{indent}To Port Range: {number}-{end}/{proto}")),
                }
            }
        }
    }
}

fn peers_lines(w: &mut Writer, peers: Option<&Vec<NetworkPolicyPeer>>, indent: &str, title: &str, any: &str) {
    match peers.filter(|p| !p.is_empty()) {
        None => w.line(0, &format!("{indent}{title}: {any}")),
        Some(list) => {
            for peer in list {
                w.line(0, &format!("{indent}{title}:"));
                match (&peer.pod_selector, &peer.namespace_selector, &peer.ip_block) {
                    (Some(pods), Some(nss), _) => {
                        w.line(1, &format!("{indent}NamespaceSelector: {}", format_label_selector(Some(nss))));
                        w.line(1, &format!("{indent}PodSelector: {}", format_label_selector(Some(pods))));
                    }
                    (Some(pods), None, _) => w.line(1, &format!("{indent}PodSelector: {}", format_label_selector(Some(pods)))),
                    (None, Some(nss), _) => w.line(1, &format!("{indent}NamespaceSelector: {}", format_label_selector(Some(nss)))),
                    (None, None, Some(block)) => {
                        w.line(1, &format!("{indent}IPBlock:"));
                        w.line(2, &format!("{indent}CIDR: {}", block.cidr));
                        w.line(2, &format!("{indent}Except: {}", block.except.clone().unwrap_or_default().join(", ")));
                    }
                    (None, None, None) => {}
                }
            }
        }
    }
}

pub(super) fn describe_network_policy(w: &mut Writer, np: &NetworkPolicy) {
    let m = &np.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    let created = m.creation_timestamp.as_ref().map(|t| t.0.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()).unwrap_or_else(|| "0001-01-01 00:00:00 +0000 UTC".into());
    w.line(0, &format!("Created on:\t{created}"));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    let spec = np.spec.clone().unwrap_or_default();
    w.line(0, "Spec:");
    let selector = spec.pod_selector.clone().unwrap_or_default();
    let empty = selector.match_labels.as_ref().is_none_or(|l| l.is_empty()) && selector.match_expressions.as_ref().is_none_or(|e| e.is_empty());
    if empty {
        w.raw("  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)\n");
    } else {
        w.raw(&format!("  PodSelector:     {}\n", format_label_selector(Some(&selector))));
    }
    let (ingress, egress) = match &spec.policy_types {
        Some(types) if !types.is_empty() => (types.iter().any(|t| t == "Ingress"), types.iter().any(|t| t == "Egress")),
        _ => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
    };
    let indent = "    ";
    if ingress {
        w.line(1, "Allowing ingress traffic:");
        match spec.ingress.as_ref().filter(|r| !r.is_empty()) {
            None => w.line(0, &format!("{indent}<none> (Selected pods are isolated for ingress connectivity)")),
            Some(rules) => {
                for (i, rule) in rules.iter().enumerate() {
                    ports_lines(w, rule.ports.as_ref(), indent, "To Port");
                    peers_lines(w, rule.from.as_ref(), indent, "From", "<any> (traffic not restricted by source)");
                    if i + 1 != rules.len() {
                        w.line(0, &format!("{indent}----------"));
                    }
                }
            }
        }
    } else {
        w.line(1, "Not affecting ingress traffic");
    }
    if egress {
        w.line(1, "Allowing egress traffic:");
        match spec.egress.as_ref().filter(|r| !r.is_empty()) {
            None => w.line(0, &format!("{indent}<none> (Selected pods are isolated for egress connectivity)")),
            Some(rules) => {
                for (i, rule) in rules.iter().enumerate() {
                    ports_lines(w, rule.ports.as_ref(), indent, "To Port");
                    peers_lines(w, rule.to.as_ref(), indent, "To", "<any> (traffic not restricted by destination)");
                    if i + 1 != rules.len() {
                        w.line(0, &format!("{indent}----------"));
                    }
                }
            }
        }
    } else {
        w.line(1, "Not affecting egress traffic");
    }
    w.line(1, &format!("Policy Types: {}", spec.policy_types.clone().unwrap_or_default().join(", ")));
}

/// `describeEndpoints`: each subset's ready and not-ready addresses and its
/// ports, a blank line after each.
pub(super) fn describe_endpoints(w: &mut Writer, obj: &Object, endpoints: &k8s_openapi::api::core::v1::Endpoints) {
    super::header(w, obj);
    w.line(0, "Subsets:");
    for subset in endpoints.subsets.iter().flatten() {
        let ips = |addresses: Option<&Vec<k8s_openapi::api::core::v1::EndpointAddress>>| {
            let joined = addresses.into_iter().flatten().map(|a| a.ip.as_str()).collect::<Vec<_>>().join(",");
            if joined.is_empty() { "<none>".to_string() } else { joined }
        };
        w.line(1, &format!("Addresses:\t{}", ips(subset.addresses.as_ref())));
        w.line(1, &format!("NotReadyAddresses:\t{}", ips(subset.not_ready_addresses.as_ref())));
        if let Some(ports) = subset.ports.as_ref().filter(|p| !p.is_empty()) {
            w.line(1, "Ports:");
            w.line(2, "Name\tPort\tProtocol");
            w.line(2, "----\t----\t--------");
            for port in ports {
                let name = port.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("<unset>");
                w.line(2, &format!("{name}\t{}\t{}", port.port, port.protocol.as_deref().unwrap_or("")));
            }
        }
        w.line(0, "");
    }
}

/// `describeEndpointSliceV1`: the address type, the ports, and each
/// endpoint with its readiness, hostname, target, node and zone.
pub(super) fn describe_endpoint_slice(w: &mut Writer, obj: &Object, slice: &EndpointSlice) {
    super::header(w, obj);
    w.line(0, &format!("AddressType:\t{}", slice.address_type));
    match slice.ports.as_ref().filter(|p| !p.is_empty()) {
        None => w.line(0, "Ports: <unset>"),
        Some(ports) => {
            w.line(0, "Ports:");
            w.line(1, "Name\tPort\tProtocol");
            w.line(1, "----\t----\t--------");
            for port in ports {
                let name = port.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("<unset>");
                let number = port.port.map_or_else(|| "<unset>".to_string(), |p| p.to_string());
                w.line(1, &format!("{name}\t{number}\t{}", port.protocol.as_deref().unwrap_or("")));
            }
        }
    }
    if slice.endpoints.is_empty() {
        w.line(0, "Endpoints: <none>");
        return;
    }
    w.line(0, "Endpoints:");
    for endpoint in &slice.endpoints {
        let addresses = endpoint.addresses.join(", ");
        w.line(1, &format!("- Addresses:\t{}", if addresses.is_empty() { "<none>" } else { &addresses }));
        w.line(2, "Conditions:");
        let ready = endpoint.conditions.as_ref().and_then(|c| c.ready).map_or_else(|| "<unset>".to_string(), |r| r.to_string());
        w.line(3, &format!("Ready:\t{ready}"));
        w.line(2, &format!("Hostname:\t{}", endpoint.hostname.as_deref().unwrap_or("<unset>")));
        if let Some(target) = &endpoint.target_ref {
            w.line(2, &format!("TargetRef:\t{}/{}", target.kind.as_deref().unwrap_or(""), target.name.as_deref().unwrap_or("")));
        }
        w.line(2, &format!("NodeName:\t{}", endpoint.node_name.as_deref().unwrap_or("<unset>")));
        w.line(2, &format!("Zone:\t{}", endpoint.zone.as_deref().unwrap_or("<unset>")));
    }
}
