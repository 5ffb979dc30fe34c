//! Service validation (`ValidateService`, `ValidateServiceUpdate`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{dns1123_label, dns1123_subdomain, port_name, port_number};
use super::{quote, validate_labels, Errors};

const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// `ValidateService`, its checks in 1.33's order.
pub fn validate_service(svc: &Service, errs: &mut Errors) {
    let spec = svc.spec.clone().unwrap_or_default();
    let service_type = spec.type_.clone().unwrap_or_default();
    let cluster_ips = spec.cluster_ips.clone().unwrap_or_default();
    // `isHeadlessService` reads the plural field, which the strategy fills from the singular.
    let headless = (cluster_ips.len() == 1 && cluster_ips[0] == "None") || (cluster_ips.is_empty() && spec.cluster_ip.as_deref() == Some("None"));
    let ports = spec.ports.clone().unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        errs.required("spec.ports", "");
    }
    match service_type.as_str() {
        "LoadBalancer" | "NodePort" if headless => {
            errs.invalid_str("spec.clusterIPs[0]", "None", &format!("may not be set to 'None' for {service_type} services"));
        }
        "ExternalName" => {
            if !cluster_ips.is_empty() || spec.cluster_ip.as_deref().is_some_and(|ip| !ip.is_empty()) {
                errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
            }
            if spec.ip_families.as_ref().is_some_and(|f| !f.is_empty()) {
                errs.forbidden("spec.ipFamilies", "may not be set for ExternalName services");
            }
            if spec.ip_family_policy.is_some() {
                errs.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services");
            }
            let name = spec.external_name.as_deref().unwrap_or_default();
            let trimmed = name.strip_suffix('.').unwrap_or(name);
            if trimmed.is_empty() {
                errs.required("spec.externalName", "");
            } else {
                for msg in dns1123_subdomain(trimmed) {
                    errs.invalid_str("spec.externalName", trimmed, &msg);
                }
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    let require_names = ports.len() > 1;
    for (i, port) in ports.iter().enumerate() {
        let item = format!("spec.ports[{i}]");
        let name = port.name.clone().unwrap_or_default();
        if require_names && name.is_empty() {
            errs.required(&format!("{item}.name"), "");
        } else if !name.is_empty() {
            for msg in dns1123_label(&name) {
                errs.invalid_str(&format!("{item}.name"), &name, &msg);
            }
            if !names.insert(name.clone()) {
                errs.duplicate(&format!("{item}.name"), &quote(&name));
            }
        }
        for msg in port_number(port.port as i64) {
            errs.invalid_int(&format!("{item}.port"), port.port as i64, &msg);
        }
        errs.one_of(&format!("{item}.protocol"), port.protocol.as_deref(), &["SCTP", "TCP", "UDP"]);
        match &port.target_port {
            Some(IntOrString::Int(p)) => {
                for msg in port_number(*p as i64) {
                    errs.invalid_int(&format!("{item}.targetPort"), *p as i64, &msg);
                }
            }
            Some(IntOrString::String(s)) => {
                for msg in port_name(s) {
                    errs.invalid_str(&format!("{item}.targetPort"), s, &msg);
                }
            }
            None => {}
        }
    }
    validate_labels(spec.selector.as_ref(), "spec.selector", errs);
    let affinity = spec.session_affinity.as_deref().unwrap_or_default();
    errs.one_of("spec.sessionAffinity", Some(affinity), &["ClientIP", "None"]);
    if affinity == "ClientIP" {
        validate_client_ip_affinity(&spec, errs);
    } else if affinity == "None" && spec.session_affinity_config.is_some() {
        errs.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None");
    }
    if service_type != "ExternalName" {
        for (i, ip) in cluster_ips.iter().enumerate() {
            if i == 0 && ip == "None" {
                continue;
            }
            if ip_of(ip).is_none() {
                errs.invalid_str(&format!("spec.clusterIPs[{i}]"), ip, VALID_IP);
            }
        }
    }
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let field = format!("spec.externalIPs[{i}]");
        match ip_of(ip) {
            None => errs.invalid_str(&field, ip, VALID_IP),
            Some(addr) => non_special_ip(ip, addr, &field, errs),
        }
    }
    match service_type.as_str() {
        "" => errs.required("spec.type", ""),
        t if TYPES.contains(&t) => {}
        t => errs.unsupported("spec.type", t, &TYPES),
    }
    if service_type == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.is_some_and(|p| p != 0) {
                errs.forbidden(&format!("spec.ports[{i}].nodePort"), "may not be used when `type` is 'ClusterIP'");
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let Some(node_port) = port.node_port.filter(|p| *p != 0) else { continue };
        let protocol = port.protocol.clone().unwrap_or_default();
        if !node_ports.insert((protocol.clone(), node_port)) {
            errs.duplicate(&format!("spec.ports[{i}].nodePort"), &node_port.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = port.protocol.clone().unwrap_or_default();
        if !seen.insert((protocol.clone(), port.port)) {
            errs.duplicate(
                &format!("spec.ports[{i}]"),
                &format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    quote(&protocol),
                    port.port
                ),
            );
        }
    }
    let source_ranges = spec.load_balancer_source_ranges.clone().unwrap_or_default();
    if !source_ranges.is_empty() {
        // The field path is spelled so in 1.33's validation.
        if service_type != "LoadBalancer" {
            errs.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'");
        }
        for (i, range) in source_ranges.iter().enumerate() {
            let value = range.trim();
            if cidr(value).is_none() {
                errs.invalid_str(&format!("spec.LoadBalancerSourceRanges[{i}]"), value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
            }
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && service_type != "LoadBalancer" {
        errs.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'");
    }
    if spec.load_balancer_class.is_some() && service_type != "LoadBalancer" {
        errs.forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'");
    }
    let externally_accessible = match service_type.as_str() {
        "NodePort" | "LoadBalancer" => true,
        "ClusterIP" => spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()),
        _ => false,
    };
    match spec.external_traffic_policy.as_deref() {
        Some(policy) if !externally_accessible => errs.invalid_str("spec.externalTrafficPolicy", policy, "may only be set for externally-accessible services"),
        policy if externally_accessible => errs.one_of("spec.externalTrafficPolicy", policy, &["Cluster", "Local"]),
        _ => {}
    }
    // `NeedsHealthCheck`: only a LoadBalancer with the Local policy has a health check node port.
    let needs_health_check = service_type == "LoadBalancer" && spec.external_traffic_policy.as_deref() == Some("Local");
    match spec.health_check_node_port.unwrap_or(0) {
        0 if needs_health_check => errs.required("spec.healthCheckNodePort", ""),
        0 => {}
        port if !needs_health_check => {
            errs.invalid_int("spec.healthCheckNodePort", port.into(), "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")
        }
        port => {
            for msg in port_number(port.into()) {
                errs.invalid_int("spec.healthCheckNodePort", port.into(), &msg);
            }
        }
    }
    if let Some(policy) = spec.internal_traffic_policy.as_deref() {
        errs.one_of("spec.internalTrafficPolicy", Some(policy), &["Cluster", "Local"]);
    }
}

const VALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// An address as Go's `ParseIPSloppy` reads it (IPv4 parts may have leading zeros).
pub fn ip_of(text: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(&parts) {
        *octet = part.parse::<u8>().ok()?;
    }
    Some(std::net::IpAddr::from(octets))
}

/// A CIDR as `netutils.ParseCIDRSloppy` reads it: its network and prefix length.
pub(super) struct Cidr {
    pub(super) network: u128,
    pub(super) bits: u32,
    pub(super) v4: bool,
}

impl Cidr {
    pub(super) fn mask(&self) -> u128 {
        let width = if self.v4 { 32 } else { 128 };
        let all = if self.v4 { u128::from(u32::MAX) } else { u128::MAX };
        match width - self.bits {
            128 => 0,
            host_bits => (u128::MAX << host_bits) & all,
        }
    }
}

pub(super) fn cidr(text: &str) -> Option<Cidr> {
    let (ip, bits) = text.split_once('/')?;
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u32 = bits.parse().ok()?;
    let (address, v4) = match ip_of(ip)? {
        std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), true),
        std::net::IpAddr::V6(v6) => (u128::from(v6), false),
    };
    if bits > if v4 { 32 } else { 128 } {
        return None;
    }
    let mut block = Cidr { network: address, bits, v4 };
    block.network &= block.mask();
    Some(block)
}

/// `ValidateNonSpecialIP`: endpoints and external IPs may not be unspecified,
/// loopback or link-local addresses.
pub fn non_special_ip(text: &str, ip: std::net::IpAddr, field: &str, errs: &mut Errors) {
    use std::net::IpAddr;
    // Go treats an IPv4-mapped IPv6 address as the IPv4 address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (unspecified, loopback, link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => (v4.is_unspecified(), v4.is_loopback(), v4.is_link_local(), v4.octets()[..3] == [224, 0, 0]),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (v6.is_unspecified(), v6.is_loopback(), first & 0xffc0 == 0xfe80, first & 0xff0f == 0xff02)
        }
    };
    if unspecified {
        errs.invalid_str(field, text, &format!("may not be unspecified ({text})"));
    }
    if loopback {
        errs.invalid_str(field, text, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
    }
    if link_local {
        errs.invalid_str(field, text, "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
    }
    if link_local_multicast {
        errs.invalid_str(field, text, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
    }
}

/// `validateClientIPAffinityConfig`.
fn validate_client_ip_affinity(spec: &k8s_openapi::api::core::v1::ServiceSpec, errs: &mut Errors) {
    let when = "when session affinity type is ClientIP";
    let Some(config) = &spec.session_affinity_config else {
        errs.required("spec.sessionAffinityConfig", when);
        return;
    };
    let Some(client_ip) = &config.client_ip else {
        errs.required("spec.sessionAffinityConfig.clientIP", when);
        return;
    };
    let Some(timeout) = client_ip.timeout_seconds else {
        errs.required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", when);
        return;
    };
    if timeout <= 0 || timeout > MAX_CLIENT_IP_AFFINITY_SECONDS {
        errs.invalid_int("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout as i64, &format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"));
    }
}

/// `core.MaxClientIPServiceAffinitySeconds`.
const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;

/// `validateUpgradeDowngradeClusterIPs`: the primary cluster IP may not
/// change, nor be released, unless the Service is or becomes ExternalName.
pub fn validate_service_update(svc: &Service, old: &Service, errs: &mut Errors) {
    let spec = svc.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") || old_spec.type_.as_deref() == Some("ExternalName") {
        return;
    }
    let headless = |ips: &[String]| ips.len() == 1 && ips[0] == "None";
    let new_ips = spec.cluster_ips.clone().unwrap_or_default();
    let old_ips = old_spec.cluster_ips.clone().unwrap_or_default();
    if headless(&new_ips) && headless(&old_ips) {
        return;
    }
    let shown = |ips: &[String]| {
        let quoted: Vec<String> = ips.iter().map(|ip| quote(ip)).collect();
        format!("[]string{{{}}}", quoted.join(", "))
    };
    if old_ips.len() == new_ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != new_ips[i] {
                errs.invalid(&format!("spec.clusterIPs[{i}]"), &shown(&new_ips), "may not change once set");
            }
        }
    } else if old_ips.len() > new_ips.len() {
        if new_ips.is_empty() {
            let value = if spec.cluster_ips.is_none() { "[]string(nil)".to_string() } else { shown(&new_ips) };
            errs.invalid("spec.clusterIPs[0]", &value, "primary clusterIP can not be unset");
        }
        if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.invalid("spec.clusterIPs[0]", &shown(&new_ips), "may not change once set");
        }
    } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
        errs.invalid("spec.clusterIPs[0]", &shown(&new_ips), "may not change once set");
    }
}
