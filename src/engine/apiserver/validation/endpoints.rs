//! Endpoints (`ValidateEndpoints`) and EndpointSlice
//! (`pkg/apis/discovery/validation`) validation: addresses, hostnames, ports.

use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::names::{dns1123_label, port_number};
use super::service::{ip_of, non_special_ip};
use super::Errors;

const VALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

pub fn validate_endpoints(ep: &Endpoints, errs: &mut Errors) {
    for (i, subset) in ep.subsets.iter().flatten().enumerate() {
        let item = format!("subsets[{i}]");
        let addresses = subset.addresses.as_deref().unwrap_or_default();
        let not_ready = subset.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            errs.required(&item, "must specify `addresses` or `notReadyAddresses`");
        }
        for (j, address) in addresses.iter().enumerate() {
            validate_address(address, &format!("{item}.addresses[{j}]"), errs);
        }
        for (j, address) in not_ready.iter().enumerate() {
            validate_address(address, &format!("{item}.notReadyAddresses[{j}]"), errs);
        }
        let ports = subset.ports.as_deref().unwrap_or_default();
        for (j, port) in ports.iter().enumerate() {
            let field = format!("{item}.ports[{j}]");
            let name = port.name.as_deref().unwrap_or_default();
            if ports.len() > 1 && name.is_empty() {
                errs.required(&format!("{field}.name"), "");
            } else if !name.is_empty() {
                for msg in dns1123_label(name) {
                    errs.invalid_str(&format!("{field}.name"), name, &msg);
                }
            }
            for msg in port_number(port.port as i64) {
                errs.invalid_int(&format!("{field}.port"), port.port as i64, &msg);
            }
            errs.one_of(&format!("{field}.protocol"), port.protocol.as_deref(), &["SCTP", "TCP", "UDP"]);
        }
    }
}

/// `validateEndpointAddress`: the IP is checked as an IP, then as an
/// endpoint's IP (`ValidateEndpointIP`), each with its own words.
fn validate_address(address: &EndpointAddress, field: &str, errs: &mut Errors) {
    let ip_field = format!("{field}.ip");
    let ip = ip_of(&address.ip);
    if ip.is_none() {
        errs.invalid_str(&ip_field, &address.ip, VALID_IP);
    }
    if let Some(hostname) = address.hostname.as_deref().filter(|h| !h.is_empty()) {
        for msg in dns1123_label(hostname) {
            errs.invalid_str(&format!("{field}.hostname"), hostname, &msg);
        }
    }
    match ip {
        None => errs.invalid_str(&ip_field, &address.ip, "must be a valid IP address"),
        Some(addr) => non_special_ip(&address.ip, addr, &ip_field, errs),
    }
}

pub fn validate_endpoint_slice(slice: &EndpointSlice, errs: &mut Errors) {
    let address_type = slice.address_type.as_str();
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        let field = format!("endpoints[{i}].addresses");
        if endpoint.addresses.is_empty() {
            errs.required(&field, "must contain at least 1 address");
        }
        for (j, address) in endpoint.addresses.iter().enumerate() {
            let item = format!("{field}[{j}]");
            let ip = ip_of(address);
            match address_type {
                "IPv4" => match ip.map(|ip| (ip, ip_v4(ip))) {
                    Some((ip, true)) => non_special_ip(address, ip, &item, errs),
                    _ => errs.invalid_str(&item, address, "must be a valid IPv4 address"),
                },
                "IPv6" => match ip.map(|ip| (ip, ip_v4(ip))) {
                    Some((ip, false)) => non_special_ip(address, ip, &item, errs),
                    _ => errs.invalid_str(&item, address, "must be a valid IPv6 address"),
                },
                _ => {}
            }
        }
        if let Some(hostname) = endpoint.hostname.as_deref() {
            for msg in dns1123_label(hostname) {
                errs.invalid_str(&format!("endpoints[{i}].hostname"), hostname, &msg);
            }
        }
    }
    errs.one_of("addressType", Some(address_type), &["FQDN", "IPv4", "IPv6"]);
}

/// Go's `ip.To4() != nil`: IPv4, or IPv4 mapped into IPv6.
fn ip_v4(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(_) => true,
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}
