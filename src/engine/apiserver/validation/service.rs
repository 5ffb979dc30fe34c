//! Service validation (`ValidateService`, `ValidateServiceUpdate`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{dns1123_label, dns1123_subdomain, port_name, port_number};
use super::{quote, validate_labels, Errors};

const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

pub fn validate_service(svc: &Service, errs: &mut Errors) {
    let spec = svc.spec.clone().unwrap_or_default();
    let service_type = spec.type_.clone().unwrap_or_default();
    let headless = spec.cluster_ip.as_deref() == Some("None");
    let ports = spec.ports.clone().unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        errs.required("spec.ports", "");
    }
    match service_type.as_str() {
        "" => errs.required("spec.type", ""),
        t if TYPES.contains(&t) => {}
        t => errs.unsupported("spec.type", t, &TYPES),
    }
    if service_type == "ExternalName" {
        match spec.external_name.as_deref().filter(|n| !n.is_empty()) {
            None => errs.required("spec.externalName", ""),
            Some(name) => {
                let trimmed = name.strip_suffix('.').unwrap_or(name);
                let msgs = dns1123_subdomain(trimmed);
                if !msgs.is_empty() {
                    errs.invalid_str("spec.externalName", trimmed, &msgs.join(","));
                } else if !trimmed.contains('.') {
                    errs.invalid_str("spec.externalName", trimmed, "should be a domain with at least two segments separated by dots");
                }
            }
        }
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
    if !matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.is_some_and(|p| p != 0) {
                errs.forbidden(&format!("spec.ports[{i}].nodePort"), &format!("may not be used when `type` is '{service_type}'"));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let Some(node_port) = port.node_port.filter(|p| *p != 0) else { continue };
        let protocol = port.protocol.clone().unwrap_or_default();
        if !node_ports.insert((protocol.clone(), node_port)) {
            errs.duplicate(
                &format!("spec.ports[{i}].nodePort"),
                &format!("core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:0, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:{node_port}}}", quote(&protocol)),
            );
        }
    }
    validate_labels(spec.selector.as_ref(), "spec.selector", errs);
    if let Some(affinity) = spec.session_affinity.as_deref() {
        errs.one_of("spec.sessionAffinity", Some(affinity), &["ClientIP", "None"]);
    }
    for (i, ip) in spec.cluster_ips.iter().flatten().enumerate() {
        if ip == "None" || ip.is_empty() {
            continue;
        }
        if ip.parse::<std::net::IpAddr>().is_err() {
            errs.invalid_str(&format!("spec.clusterIPs[{i}]"), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
        }
    }
    if service_type == "ExternalName" && spec.cluster_ip.as_deref().is_some_and(|ip| !ip.is_empty()) {
        errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
    }
    if let Some(policy) = spec.external_traffic_policy.as_deref() {
        if !matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
            errs.invalid_str("spec.externalTrafficPolicy", policy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'");
        } else {
            errs.one_of("spec.externalTrafficPolicy", Some(policy), &["Cluster", "Local"]);
        }
    }
    if let Some(policy) = spec.internal_traffic_policy.as_deref() {
        errs.one_of("spec.internalTrafficPolicy", Some(policy), &["Cluster", "Local"]);
    }
}

pub fn validate_service_update(svc: &Service, old: &Service, errs: &mut Errors) {
    let spec = svc.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    let needs_ip = |t: Option<&str>| t != Some("ExternalName");
    if needs_ip(spec.type_.as_deref()) && needs_ip(old_spec.type_.as_deref()) {
        let new_ips = spec.cluster_ips.clone().unwrap_or_default();
        let old_ips = old_spec.cluster_ips.clone().unwrap_or_default();
        if new_ips.first() != old_ips.first() {
            let shown: Vec<String> = new_ips.iter().map(|ip| quote(ip)).collect();
            errs.invalid(
                "spec.clusterIPs[0]",
                &format!("[]string{{{}}}", shown.join(", ")),
                "may not change once set",
            );
        }
    }
}
