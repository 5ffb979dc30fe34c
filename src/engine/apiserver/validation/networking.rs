//! Ingress validation, as 1.33's `pkg/apis/networking/validation` words it
//! (`ValidateIngressSpec` and what it calls).

use k8s_openapi::api::networking::v1::{HTTPIngressPath, Ingress, IngressBackend};

use super::names::{dns1035_label, dns1123_subdomain, path_segment_name, port_name, port_number, wildcard_dns1123_subdomain};
use super::{quote, Errors, Path};

const SUPPORTED_PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];

/// Whether a host is an IP address (`netutils.ParseIPSloppy`).
fn is_ip(host: &str) -> bool {
    super::service::ip_of(host).is_some()
}

pub fn validate_ingress(ing: &Ingress, errs: &mut Errors) {
    let spec = ing.spec.clone().unwrap_or_default();
    let path = Path::Root("spec");
    let rules = spec.rules.as_deref().unwrap_or_default();
    if rules.is_empty() && spec.default_backend.is_none() {
        let value = if spec.rules.is_some() { "[]networking.IngressRule{}" } else { "[]networking.IngressRule(nil)" };
        errs.invalid(&path, value, "either `defaultBackend` or `rules` must be specified");
    }
    if let Some(backend) = &spec.default_backend {
        validate_backend(backend, &path.field("defaultBackend"), errs);
    }
    let rules_path = path.field("rules");
    for (i, rule) in rules.iter().enumerate() {
        let rule_path = rules_path.index(i);
        if let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) {
            let host_path = rule_path.field("host");
            if is_ip(host) {
                errs.invalid_str(&host_path, host, "must be a DNS name, not an IP address");
            }
            let messages = if host.contains('*') { wildcard_dns1123_subdomain(host) } else { dns1123_subdomain(host) };
            for message in messages {
                errs.invalid_str(&host_path, host, &message);
            }
        }
        if let Some(http) = &rule.http {
            let http_path = rule_path.field("http");
            let paths_path = http_path.field("paths");
            if http.paths.is_empty() {
                errs.required(&paths_path, "");
            }
            for (j, p) in http.paths.iter().enumerate() {
                validate_http_path(p, &paths_path.index(j), errs);
            }
        }
    }
    let tls_path = path.field("tls");
    for (i, tls) in spec.tls.iter().flatten().enumerate() {
        let item = tls_path.index(i);
        let hosts_path = item.field("hosts");
        for (j, host) in tls.hosts.iter().flatten().enumerate() {
            let messages = if host.contains('*') { wildcard_dns1123_subdomain(host) } else { dns1123_subdomain(host) };
            for message in messages {
                errs.invalid_str(&hosts_path.index(j), host, &message);
            }
        }
        if let Some(secret) = tls.secret_name.as_deref().filter(|s| !s.is_empty()) {
            for message in dns1123_subdomain(secret) {
                errs.invalid_str(&item.field("secretName"), secret, &message);
            }
        }
    }
    if let Some(class) = &spec.ingress_class_name {
        for message in dns1123_subdomain(class) {
            errs.invalid_str(&path.field("ingressClassName"), class, &message);
        }
    }
}

/// `ValidateIngressCreate`'s own check: the beta annotation and the field,
/// when both are given, must name the same class.
pub fn validate_ingress_create(ing: &Ingress, errs: &mut Errors) {
    let annotation = ing.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/ingress.class"));
    let field = ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_ref());
    if let (Some(annotation), Some(field)) = (annotation, field) {
        if annotation != field {
            errs.invalid_str("annotations.kubernetes.io/ingress.class", annotation, "must match `ingressClassName` when both are specified");
        }
    }
}

fn validate_http_path(p: &HTTPIngressPath, path: &Path, errs: &mut Errors) {
    let value = p.path.as_deref().unwrap_or("");
    let path_field = path.field("path");
    match p.path_type.as_str() {
        "" => {
            errs.required(&path.field("pathType"), "pathType must be specified");
            return;
        }
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.invalid_str(&path_field, value, "must be an absolute path");
            }
            if !value.is_empty() {
                for sequence in INVALID_PATH_SEQUENCES.iter().filter(|s| value.contains(*s)) {
                    errs.invalid_str(&path_field, value, &format!("must not contain '{sequence}'"));
                }
                for suffix in INVALID_PATH_SUFFIXES.iter().filter(|s| value.ends_with(*s)) {
                    errs.invalid_str(&path_field, value, &format!("cannot end with '{suffix}'"));
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.invalid_str(&path_field, value, "must be an absolute path");
            }
        }
        other => errs.unsupported(&path.field("pathType"), other, SUPPORTED_PATH_TYPES),
    }
    validate_backend(&p.backend, &path.field("backend"), errs);
}

/// `validateIngressBackend`: a service (name and one of port name or
/// number) or a resource, not both.
fn validate_backend(backend: &IngressBackend, path: &Path, errs: &mut Errors) {
    match (&backend.resource, &backend.service) {
        (Some(_), Some(_)) => errs.invalid(path, &quote(""), "cannot set both resource and service backends"),
        (Some(resource), None) => {
            let resource_path = path.field("resource");
            if let Some(group) = &resource.api_group {
                for message in dns1123_subdomain(group) {
                    errs.invalid_str(&resource_path.field("apiGroup"), group, &message);
                }
            }
            for (field, value, required) in [("kind", &resource.kind, "kind is required"), ("name", &resource.name, "name is required")] {
                if value.is_empty() {
                    errs.required(&resource_path.field(field), required);
                } else {
                    for message in path_segment_name(value, false) {
                        errs.invalid_str(&resource_path.field(field), value, &message);
                    }
                }
            }
        }
        (None, Some(service)) => {
            let service_path = path.field("service");
            if service.name.is_empty() {
                errs.required(&service_path.field("name"), "");
            } else {
                for message in dns1035_label(&service.name) {
                    errs.invalid_str(&service_path.field("name"), &service.name, &message);
                }
            }
            let port = service.port.clone().unwrap_or_default();
            let name = port.name.as_deref().unwrap_or("");
            let number = port.number.unwrap_or(0);
            let port_path = service_path.field("port");
            match (!name.is_empty(), number != 0) {
                (true, true) => errs.invalid(path, &quote(""), "cannot set both port name & port number"),
                (true, false) => {
                    for message in port_name(name) {
                        errs.invalid_str(&port_path.field("name"), name, &message);
                    }
                }
                (false, true) => {
                    for message in port_number(number as i64) {
                        errs.invalid_int(&port_path.field("number"), number as i64, &message);
                    }
                }
                (false, false) => errs.required(path, "port name or number is required"),
            }
        }
        (None, None) => errs.invalid(path, &quote(""), "resource or service backend is required"),
    }
}

/// `ValidateNetworkPolicySpec`: the pod selector, each rule's ports and
/// peers, the policy types.
pub fn validate_network_policy(policy: &k8s_openapi::api::networking::v1::NetworkPolicy, errs: &mut Errors) {
    let spec = policy.spec.clone().unwrap_or_default();
    if let Some(selector) = &spec.pod_selector {
        super::workloads::validate_label_selector(selector, "spec.podSelector", errs);
    }
    for (i, rule) in spec.ingress.iter().flatten().enumerate() {
        let at = format!("spec.ingress[{i}]");
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            validate_policy_port(port, &format!("{at}.ports[{j}]"), errs);
        }
        for (j, peer) in rule.from.iter().flatten().enumerate() {
            validate_policy_peer(peer, &format!("{at}.from[{j}]"), errs);
        }
    }
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        let at = format!("spec.egress[{i}]");
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            validate_policy_port(port, &format!("{at}.ports[{j}]"), errs);
        }
        for (j, peer) in rule.to.iter().flatten().enumerate() {
            validate_policy_peer(peer, &format!("{at}.to[{j}]"), errs);
        }
    }
    let types = spec.policy_types.as_deref().unwrap_or_default();
    if types.len() > 2 {
        let shown = types.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", ");
        errs.invalid("spec.policyTypes", &format!("[]networking.PolicyType{{{shown}}}"), "may not specify more than two policyTypes");
        return;
    }
    for (i, policy_type) in types.iter().enumerate() {
        if policy_type != "Ingress" && policy_type != "Egress" {
            errs.unsupported(&format!("spec.policyTypes[{i}]"), policy_type, &["Ingress", "Egress"]);
        }
    }
}

/// `ValidateNetworkPolicyPort`.
fn validate_policy_port(port: &k8s_openapi::api::networking::v1::NetworkPolicyPort, at: &str, errs: &mut Errors) {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    if let Some(protocol) = port.protocol.as_deref().filter(|p| !matches!(*p, "TCP" | "UDP" | "SCTP")) {
        errs.unsupported(&format!("{at}.protocol"), protocol, &["TCP", "UDP", "SCTP"]);
    }
    match &port.port {
        Some(IntOrString::Int(number)) => {
            for msg in port_number(i64::from(*number)) {
                errs.invalid_int(&format!("{at}.port"), i64::from(*number), &msg);
            }
            if let Some(end) = port.end_port {
                // Go shows the port, not the end, beside this message.
                if end < *number {
                    errs.invalid_int(&format!("{at}.endPort"), i64::from(*number), "must be greater than or equal to `port`");
                }
                for msg in port_number(i64::from(end)) {
                    errs.invalid_int(&format!("{at}.endPort"), i64::from(end), &msg);
                }
            }
        }
        Some(IntOrString::String(name)) => {
            if let Some(end) = port.end_port {
                errs.invalid_int(&format!("{at}.endPort"), i64::from(end), "may not be specified when `port` is non-numeric");
            }
            for msg in port_name(name) {
                errs.invalid_str(&format!("{at}.port"), name, &msg);
            }
        }
        None => {
            if let Some(end) = port.end_port {
                errs.invalid_int(&format!("{at}.endPort"), i64::from(end), "may not be specified when `port` is not specified");
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer`: one kind of peer, or pod and namespace
/// selectors together.
fn validate_policy_peer(peer: &k8s_openapi::api::networking::v1::NetworkPolicyPeer, at: &str, errs: &mut Errors) {
    let mut peers = 0;
    if let Some(selector) = &peer.pod_selector {
        peers += 1;
        super::workloads::validate_label_selector(selector, &format!("{at}.podSelector"), errs);
    }
    if let Some(selector) = &peer.namespace_selector {
        peers += 1;
        super::workloads::validate_label_selector(selector, &format!("{at}.namespaceSelector"), errs);
    }
    if let Some(block) = &peer.ip_block {
        peers += 1;
        validate_ip_block(block, &format!("{at}.ipBlock"), errs);
    }
    if peers == 0 {
        errs.required(at, "must specify a peer");
    } else if peers > 1 && peer.ip_block.is_some() {
        errs.forbidden(at, "may not specify both ipBlock and another peer");
    }
}

const VALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// `ValidateIPBlock`: a CIDR, and exceptions strictly inside it.
fn validate_ip_block(block: &k8s_openapi::api::networking::v1::IPBlock, at: &str, errs: &mut Errors) {
    if block.cidr.is_empty() {
        errs.required(&format!("{at}.cidr"), "");
        return;
    }
    let Some(outer) = super::service::cidr(&block.cidr) else {
        errs.invalid_str(&format!("{at}.cidr"), &block.cidr, VALID_CIDR);
        return;
    };
    for (i, text) in block.except.iter().flatten().enumerate() {
        let field = format!("{at}.except[{i}]");
        let Some(inner) = super::service::cidr(text) else {
            errs.invalid_str(&field, text, VALID_CIDR);
            continue;
        };
        if !ip_net_contains(&outer, &inner) || outer.bits >= inner.bits {
            errs.invalid_str(&field, text, "must be a strict subset of `cidr`");
        }
    }
}

/// Go's `IPNet.Contains(except.IP)` as `ValidateIPBlock` calls it: an
/// IPv4-mapped IPv6 network or address is compared as IPv4 (`To4`), a
/// 128-bit mask by its last 32 bits then, so `::ffff:10.1.0.0/112` is
/// inside `10.0.0.0/8`; the prefix lengths are compared as written.
fn ip_net_contains(outer: &super::service::Cidr, inner: &super::service::Cidr) -> bool {
    const LOW_32: u128 = 0xffff_ffff;
    let mapped = |c: &super::service::Cidr| !c.v4 && c.network >> 32 == 0xffff;
    let (outer_v4, inner_v4) = (outer.v4 || mapped(outer), inner.v4 || mapped(inner));
    if outer_v4 != inner_v4 {
        return false;
    }
    let (network, mask) = if outer_v4 { (outer.network & LOW_32, outer.mask() & LOW_32) } else { (outer.network, outer.mask()) };
    let address = if inner_v4 { inner.network & LOW_32 } else { inner.network };
    network & mask == address & mask
}

/// `maxLenIngressClassController`.
const MAX_INGRESS_CLASS_CONTROLLER_LEN: usize = 250;

/// `validateIngressClassSpec`'s controller: a domain-prefixed path such as
/// `k8s.io/ingress-nginx`, at most 250 bytes.
pub fn validate_ingress_class(class: &k8s_openapi::api::networking::v1::IngressClass, errs: &mut Errors) {
    let controller = class.spec.as_ref().and_then(|s| s.controller.as_deref()).unwrap_or("");
    if controller.len() > MAX_INGRESS_CLASS_CONTROLLER_LEN {
        errs.too_long("spec.controller", MAX_INGRESS_CLASS_CONTROLLER_LEN);
    }
    super::job_policies::validate_domain_prefixed_path("spec.controller", controller, errs);
}

/// `validateIngressClassSpecUpdate`: the controller may not change.
pub fn validate_ingress_class_update(class: &k8s_openapi::api::networking::v1::IngressClass, old: &k8s_openapi::api::networking::v1::IngressClass, errs: &mut Errors) {
    let controller = |c: &k8s_openapi::api::networking::v1::IngressClass| c.spec.as_ref().and_then(|s| s.controller.clone()).unwrap_or_default();
    if controller(class) != controller(old) {
        errs.invalid_str("spec.controller", &controller(class), "field is immutable");
    }
}
