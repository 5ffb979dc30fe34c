//! The Service REST storage's allocations: IP families, cluster IPs from the
//! service CIDR and node ports from the node-port range. What is in use is
//! read from the stored Services, so nothing leaks when a request fails.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};

use crate::engine::api::{ids, Cause, Object};
use crate::engine::store::Value;

use super::super::ApiServer;

/// `--service-node-port-range`.
pub const NODE_PORT_MIN: i32 = 30000;
pub const NODE_PORT_MAX: i32 = 32767;

/// `--service-cluster-ip-range`: kubeadm's `10.96.0.0/12` (minikube), or
/// kind's `10.96.0.0/16`; cluster IPs are allocated from it alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRange {
    pub cidr: String,
    base: u32,
    prefix_len: u32,
}

impl Default for ServiceRange {
    fn default() -> Self {
        ServiceRange::parse("10.96.0.0/12").unwrap_or(ServiceRange { cidr: "10.96.0.0/12".into(), base: 0x0a60_0000, prefix_len: 12 })
    }
}

impl ServiceRange {
    /// An IPv4 CIDR with a prefix of 8 to 30 bits; `None` otherwise.
    pub fn parse(cidr: &str) -> Option<ServiceRange> {
        let (address, prefix) = cidr.split_once('/')?;
        let prefix_len: u32 = prefix.parse().ok().filter(|p| (8..=30).contains(p))?;
        let base = u32::from(address.parse::<Ipv4Addr>().ok()?) & (u32::MAX << (32 - prefix_len));
        Some(ServiceRange { cidr: cidr.to_string(), base, prefix_len })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix_len)
    }

    /// The first addresses of the range are kept for static assignment
    /// (`kubernetes` is .1, `kube-dns` is .10); dynamic ones come from above.
    fn dynamic_offset(&self) -> u32 {
        (self.size() / 16).clamp(16, 256)
    }
}

/// Likewise, the lowest node ports are kept for static assignment.
fn dynamic_port_offset() -> i32 {
    ((NODE_PORT_MAX - NODE_PORT_MIN + 1) / 32).clamp(16, 128)
}

fn in_use(api: &ApiServer, except: Option<(&str, &str)>) -> (BTreeSet<u32>, BTreeSet<i32>) {
    let mut ips = BTreeSet::new();
    let mut ports = BTreeSet::new();
    let prefix = ApiServer::prefix(ids::services(), None);
    for (_, entry) in api.store.range(&prefix) {
        let Value::Object(object) = &entry.value else { continue };
        let Object::Service(svc) = &**object else { continue };
        let key = (svc.metadata.namespace.as_deref().unwrap_or(""), svc.metadata.name.as_deref().unwrap_or(""));
        if except == Some(key) {
            continue;
        }
        let Some(spec) = &svc.spec else { continue };
        for ip in spec.cluster_ips.iter().flatten().chain(spec.cluster_ip.iter()) {
            if let Ok(addr) = ip.parse::<Ipv4Addr>() {
                ips.insert(u32::from(addr));
            }
        }
        for port in spec.ports.iter().flatten() {
            if let Some(p) = port.node_port.filter(|p| *p > 0) {
                ports.insert(p);
            }
        }
        if let Some(p) = spec.health_check_node_port.filter(|p| *p > 0) {
            ports.insert(p);
        }
    }
    (ips, ports)
}

fn needs_cluster_ip(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() != Some("ExternalName")
}

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ip.as_deref() == Some("None") || spec.cluster_ips.as_ref().and_then(|c| c.first()).map(String::as_str) == Some("None")
}

fn needs_node_ports(spec: &ServiceSpec) -> bool {
    match spec.type_.as_deref() {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

/// `initIPFamilyFields` on a single-stack IPv4 cluster: the policy and
/// families a Service gets, and the requests such a cluster refuses before
/// anything is allocated (each group of errors alone, as the registry
/// returns them).
fn init_ip_families(spec: &mut ServiceSpec) -> Result<(), Vec<Cause>> {
    if !needs_cluster_ip(spec) {
        return Ok(());
    }
    let headless_without_selector = is_headless(spec) && spec.selector.as_ref().is_none_or(|s| s.is_empty());
    if spec.ip_family_policy.is_none() {
        let policy = if headless_without_selector { "RequireDualStack" } else { "SingleStack" };
        spec.ip_family_policy = Some(policy.to_string());
    }
    // The loose pre-validation, `ValidateServiceClusterIPsRelatedFields`'s family and policy checks.
    let mut causes = Vec::new();
    let invalid = |field: String, value: &str, detail: &str| Cause { field, message: format!("Invalid value: \"{value}\": {detail}") };
    let families = spec.ip_families.clone().unwrap_or_default();
    for (i, family) in families.iter().enumerate() {
        if family != "IPv4" && family != "IPv6" {
            causes.push(Cause { field: format!("spec.ipFamilies[{i}]"), message: format!("Unsupported value: \"{family}\": supported values: \"IPv4\", \"IPv6\"") });
        }
        if families[..i].contains(family) {
            causes.push(Cause { field: format!("spec.ipFamilies[{i}]"), message: format!("Duplicate value: \"{family}\"") });
        }
    }
    let policy = spec.ip_family_policy.clone().unwrap_or_default();
    if !matches!(policy.as_str(), "SingleStack" | "PreferDualStack" | "RequireDualStack") {
        causes.push(Cause {
            field: "spec.ipFamilyPolicy".to_string(),
            message: format!("Unsupported value: \"{policy}\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\""),
        });
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let cluster_ips = spec.cluster_ips.clone().unwrap_or_default();
    if policy == "SingleStack" {
        if cluster_ips.len() == 2 {
            causes.push(invalid("spec.ipFamilyPolicy".to_string(), &policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"));
        }
        if families.len() == 2 {
            causes.push(invalid("spec.ipFamilyPolicy".to_string(), &policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
        }
    }
    // A family is inferred from each cluster IP the request names.
    for (i, ip) in cluster_ips.iter().enumerate() {
        if ip == "None" {
            break;
        }
        if i >= families.len() && ip.parse::<std::net::Ipv6Addr>().is_ok() {
            causes.push(Cause { field: format!("spec.clusterIPs[{i}]"), message: format!("Invalid value: {}: IPv6 is not configured on this cluster", ip_list_value(&cluster_ips)) });
        }
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    if headless_without_selector {
        // Such a service only mirrors endpoints, so it may span every family.
        let families = spec.ip_families.get_or_insert_with(Vec::new);
        if families.is_empty() {
            families.push("IPv4".to_string());
        }
        if families.len() < 2 && policy != "SingleStack" {
            let other = if families[0] == "IPv6" { "IPv4" } else { "IPv6" };
            families.push(other.to_string());
        }
        return Ok(());
    }
    if policy == "RequireDualStack" {
        causes.push(invalid("spec.ipFamilyPolicy".to_string(), &policy, "this cluster is not configured for dual-stack services"));
    }
    for (i, family) in families.iter().enumerate() {
        if family != "IPv4" {
            causes.push(invalid(format!("spec.ipFamilies[{i}]"), family, "not configured on this cluster"));
        }
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    if families.is_empty() {
        spec.ip_families = Some(vec!["IPv4".to_string()]);
    }
    Ok(())
}

fn sync_cluster_ips(spec: &mut ServiceSpec) {
    let first = spec.cluster_ips.as_ref().and_then(|c| c.first()).cloned();
    match (spec.cluster_ip.clone().filter(|s| !s.is_empty()), first) {
        (Some(ip), None) => spec.cluster_ips = Some(vec![ip]),
        (None, Some(ip)) => spec.cluster_ip = Some(ip),
        _ => {}
    }
}

fn ip_list_value(ips: &[String]) -> String {
    let quoted: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

fn allocate_cluster_ip(api: &mut ApiServer, spec: &mut ServiceSpec, used: &BTreeSet<u32>) -> Result<(), Vec<Cause>> {
    if !needs_cluster_ip(spec) {
        return Ok(());
    }
    sync_cluster_ips(spec);
    if is_headless(spec) {
        return Ok(());
    }
    let requested = spec.cluster_ip.clone().filter(|s| !s.is_empty());
    let range = api.service_range.clone();
    let size = range.size();
    if let Some(ip) = requested {
        // An address that does not parse is validation's to report.
        let Ok(addr) = ip.parse::<Ipv4Addr>() else { return Ok(()) };
        let value = u32::from(addr);
        let field = "spec.clusterIPs".to_string();
        let list = ip_list_value(spec.cluster_ips.as_deref().unwrap_or_default());
        if value < range.base + 1 || value >= range.base + size - 1 {
            return Err(vec![Cause {
                field,
                message: format!(
                    "Invalid value: {list}: failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                    range.cidr
                ),
            }]);
        }
        if used.contains(&value) {
            return Err(vec![Cause {
                field,
                message: format!("Invalid value: {list}: failed to allocate IP {ip}: provided IP is already allocated"),
            }]);
        }
        return Ok(());
    }
    // A random start in the dynamic band, then the next free address; the
    // static band only when the dynamic one is full.
    let offset = range.dynamic_offset();
    let usable = size - 2;
    let dynamic = usable - offset;
    let start = api.rng.u32(0..dynamic);
    let candidates = (0..dynamic).map(|i| offset + 1 + (start + i) % dynamic).chain(1..=offset);
    for candidate in candidates {
        let value = range.base + candidate;
        if !used.contains(&value) {
            let ip = Ipv4Addr::from(value).to_string();
            spec.cluster_ip = Some(ip.clone());
            spec.cluster_ips = Some(vec![ip]);
            return Ok(());
        }
    }
    Err(vec![Cause {
        field: "spec.clusterIPs".to_string(),
        message: "Internal error: failed to allocate a serviceIP: range is full".to_string(),
    }])
}

fn next_free_port(api: &mut ApiServer, used: &BTreeSet<i32>) -> Option<i32> {
    let size = NODE_PORT_MAX - NODE_PORT_MIN + 1;
    let offset = dynamic_port_offset();
    let dynamic = size - offset;
    let start = api.rng.i32(0..dynamic);
    let candidates = (0..dynamic).map(|i| NODE_PORT_MIN + offset + (start + i) % dynamic).chain(NODE_PORT_MIN..NODE_PORT_MIN + offset);
    candidates.into_iter().find(|p| !used.contains(p))
}

fn allocate_node_ports(api: &mut ApiServer, spec: &mut ServiceSpec, used: &mut BTreeSet<i32>, mine: &BTreeSet<i32>) -> Result<(), Vec<Cause>> {
    if !needs_node_ports(spec) {
        return Ok(());
    }
    let mut causes = Vec::new();
    let ports = spec.ports.get_or_insert_with(Vec::new);
    // Ports the request names are claimed first, so a generated one never takes them.
    for (i, port) in ports.iter().enumerate() {
        let Some(p) = port.node_port.filter(|p| *p != 0) else { continue };
        let field = format!("spec.ports[{i}].nodePort");
        if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&p) {
            causes.push(Cause {
                field,
                message: format!(
                    "Invalid value: {p}: provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"
                ),
            });
        } else if used.contains(&p) && !mine.contains(&p) {
            causes.push(Cause { field, message: format!("Invalid value: {p}: provided port is already allocated") });
        } else {
            used.insert(p);
        }
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    for port in ports.iter_mut() {
        if port.node_port.is_none_or(|p| p == 0) {
            let Some(p) = next_free_port(api, used) else {
                return Err(vec![Cause {
                    field: "spec.ports".to_string(),
                    message: "Internal error: failed to allocate a nodePort: range is full".to_string(),
                }]);
            };
            used.insert(p);
            port.node_port = Some(p);
        }
    }
    let needs_health_check = spec.type_.as_deref() == Some("LoadBalancer") && spec.external_traffic_policy.as_deref() == Some("Local");
    if needs_health_check && spec.health_check_node_port.is_none_or(|p| p == 0) {
        if let Some(p) = next_free_port(api, used) {
            used.insert(p);
            spec.health_check_node_port = Some(p);
        }
    }
    Ok(())
}

pub fn allocate_for_create(api: &mut ApiServer, svc: &mut Service) -> Result<(), Vec<Cause>> {
    let spec = svc.spec.get_or_insert_with(Default::default);
    init_ip_families(spec)?;
    let (ips, mut ports) = in_use(api, None);
    allocate_cluster_ip(api, spec, &ips)?;
    allocate_node_ports(api, spec, &mut ports, &BTreeSet::new())
}

/// `patchAllocatedValues`: values the server allocated stay when an update
/// leaves them out (node ports matched by port name, as the registry maps them).
fn patch_allocated_values(spec: &mut ServiceSpec, old_spec: &ServiceSpec) {
    if needs_cluster_ip(spec) && needs_cluster_ip(old_spec) {
        if spec.cluster_ip.as_deref().is_none_or(str::is_empty) {
            spec.cluster_ip = old_spec.cluster_ip.clone();
        }
        if spec.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
            spec.cluster_ips = old_spec.cluster_ips.clone();
        }
    }
    if needs_node_port(spec) && needs_node_port(old_spec) {
        for port in spec.ports.iter_mut().flatten() {
            if port.node_port.is_none_or(|p| p == 0) {
                let previous = old_spec.ports.iter().flatten().find(|o| o.name.as_deref().unwrap_or_default() == port.name.as_deref().unwrap_or_default());
                port.node_port = previous.and_then(|o| o.node_port);
            }
        }
    }
    if needs_health_check_node_port(spec) && needs_health_check_node_port(old_spec) && spec.health_check_node_port.is_none_or(|p| p == 0) {
        spec.health_check_node_port = old_spec.health_check_node_port;
    }
}

/// `needsNodePort` of the registry: the type alone decides.
fn needs_node_port(spec: &ServiceSpec) -> bool {
    matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"))
}

fn needs_health_check_node_port(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() == Some("LoadBalancer") && spec.external_traffic_policy.as_deref() == Some("Local")
}

/// `ExternallyAccessible`: a NodePort or LoadBalancer Service, or a ClusterIP one with external IPs.
fn externally_accessible(spec: &ServiceSpec) -> bool {
    match spec.type_.as_deref() {
        Some("NodePort" | "LoadBalancer") => true,
        Some("ClusterIP") => spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()),
        _ => false,
    }
}

/// `normalizeClusterIPs`: keeps `clusterIPs` in step with `clusterIP` when a
/// client changed only the singular field, so validation sees the change.
fn normalize_cluster_ips(spec: &mut ServiceSpec, old_spec: &ServiceSpec) {
    let old_ip = old_spec.cluster_ip.clone().unwrap_or_default();
    let old_ips = old_spec.cluster_ips.clone().unwrap_or_default();
    let new_ip = spec.cluster_ip.clone().unwrap_or_default();
    // An old client patched something else and sent no clusterIPs.
    if !old_ips.is_empty() && spec.cluster_ips.as_ref().is_none_or(Vec::is_empty) && old_ip == new_ip {
        spec.cluster_ips = Some(old_ips.clone());
    }
    if old_ip != new_ip {
        let same_plural = spec.cluster_ips.clone().unwrap_or_default() == old_ips;
        if !old_ip.is_empty() && new_ip.is_empty() {
            // Clearing the singular clears the plural on the client's behalf.
            if same_plural {
                spec.cluster_ips = None;
            }
        } else if same_plural {
            spec.cluster_ips = Some(vec![new_ip]);
        }
    }
}

/// `dropTypeDependentFields`: a type change clears what the new type does not
/// use, when the client did not also change it (validation refuses that);
/// what was allocated is released with it.
fn drop_type_dependent_fields(spec: &mut ServiceSpec, old_spec: &ServiceSpec) {
    if needs_cluster_ip(old_spec) && !needs_cluster_ip(spec) {
        if spec.cluster_ip == old_spec.cluster_ip && spec.cluster_ips.clone().unwrap_or_default() == old_spec.cluster_ips.clone().unwrap_or_default() {
            spec.cluster_ip = None;
            spec.cluster_ips = None;
        }
        if spec.ip_families.clone().unwrap_or_default() == old_spec.ip_families.clone().unwrap_or_default() {
            spec.ip_families = None;
        }
        if spec.ip_family_policy.clone().unwrap_or_default() == old_spec.ip_family_policy.clone().unwrap_or_default() {
            spec.ip_family_policy = None;
        }
    }
    let node_ports = |s: &ServiceSpec| -> BTreeSet<i32> { crate::engine::sort::insert_all(s.ports.iter().flatten().filter_map(|p| p.node_port).filter(|p| *p != 0)) };
    if needs_node_port(old_spec) && !needs_node_port(spec) && node_ports(old_spec).is_superset(&node_ports(spec)) {
        for port in spec.ports.iter_mut().flatten() {
            port.node_port = None;
        }
    }
    if needs_health_check_node_port(old_spec) && !needs_health_check_node_port(spec) && spec.health_check_node_port.unwrap_or(0) == old_spec.health_check_node_port.unwrap_or(0) {
        spec.health_check_node_port = None;
    }
    let was_load_balancer = old_spec.type_.as_deref() == Some("LoadBalancer");
    let is_load_balancer = spec.type_.as_deref() == Some("LoadBalancer");
    if was_load_balancer && !is_load_balancer {
        if spec.allocate_load_balancer_node_ports.is_some() && spec.allocate_load_balancer_node_ports == old_spec.allocate_load_balancer_node_ports {
            spec.allocate_load_balancer_node_ports = None;
        }
        if spec.load_balancer_class == old_spec.load_balancer_class {
            spec.load_balancer_class = None;
        }
    }
    if externally_accessible(old_spec) && !externally_accessible(spec) && spec.external_traffic_policy.clone().unwrap_or_default() == old_spec.external_traffic_policy.clone().unwrap_or_default() {
        spec.external_traffic_policy = None;
    }
}

pub fn allocate_for_update(api: &mut ApiServer, svc: &mut Service, old: &Service) -> Result<(), Vec<Cause>> {
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let spec = svc.spec.get_or_insert_with(Default::default);
    let old_spec = old.spec.clone().unwrap_or_default();
    patch_allocated_values(spec, &old_spec);
    normalize_cluster_ips(spec, &old_spec);
    drop_type_dependent_fields(spec, &old_spec);
    if needs_cluster_ip(spec) && needs_cluster_ip(&old_spec) {
        if spec.ip_families.as_ref().is_none_or(Vec::is_empty) {
            spec.ip_families = old_spec.ip_families.clone();
        }
        if spec.ip_family_policy.is_none() {
            spec.ip_family_policy = old_spec.ip_family_policy.clone();
        }
    }
    let is_load_balancer = spec.type_.as_deref() == Some("LoadBalancer");
    init_ip_families(spec)?;
    let (ips, mut ports) = in_use(api, Some((namespace.as_str(), name.as_str())));
    // Only a Service that had no cluster IP gets one; a changed one is validation's to refuse.
    if !needs_cluster_ip(&old_spec) {
        allocate_cluster_ip(api, spec, &ips)?;
    }
    let mine: BTreeSet<i32> = crate::engine::sort::insert_all(old_spec.ports.iter().flatten().filter_map(|p| p.node_port));
    allocate_node_ports(api, spec, &mut ports, &mine)?;
    // A load balancer's status goes with the type.
    if !is_load_balancer {
        if let Some(status) = svc.status.as_mut() {
            status.load_balancer = Some(Default::default());
        }
    }
    Ok(())
}
