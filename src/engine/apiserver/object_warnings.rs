//! The warnings a 1.33 API server gives for the kinds other than pods as
//! they are written, each strategy's `WarningsOnCreate` and
//! `WarningsOnUpdate` (kubectl prints them on stderr as `Warning: ...`).
//! Like the pods' (`pod_warnings.rs`, which gives a workload's template
//! warnings), they never refuse anything:
//!
//! - Jobs and CronJobs: a name that is no DNS label, an Indexed Job past
//!   the soft limits (pkg/api/job/warnings.go), then the template's; a
//!   CronJob updated with `TZ` in its schedule
//!   (pkg/registry/batch/{job,cronjob}/strategy.go);
//! - StatefulSets: their claim templates' fractional byte quantities;
//! - PersistentVolumes and PersistentVolumeClaims: the beta storage-class
//!   annotation, a Recycle reclaim policy, deprecated node labels and
//!   volume plugins, fractional byte quantities
//!   (pkg/api/persistentvolume/util.go, pkg/api/persistentvolumeclaim/util.go);
//! - StorageClasses, CSIStorageCapacities (pkg/api/storage/util.go) and
//!   RuntimeClasses (pkg/api/node/util.go): deprecated node labels;
//! - Services: the deprecated topology annotation, IP addresses and CIDRs
//!   in non-standard forms (apimachinery's `GetWarningsForIP` and
//!   `GetWarningsForCIDR`), and external IPs or an external name that the
//!   type ignores (pkg/api/service/warnings.go);
//! - NetworkPolicies: their ipBlocks' CIDRs in non-standard forms, and
//!   Endpoints and EndpointSlices their addresses, unless one of the
//!   controllers wrote them (its `managed-by` label), an EndpointSlice of
//!   the FQDN type on create (pkg/registry/{networking/networkpolicy,
//!   core/endpoint,discovery/endpointslice}/strategy.go);
//! - Ingresses: the class annotation without `spec.ingressClassName`, on
//!   create only (pkg/registry/networking/ingress/strategy.go);
//! - Nodes: the unused `spec.externalID`, pod CIDRs in non-standard forms
//!   (pkg/registry/core/node/strategy.go);
//! - ServiceAccounts: the enforce-mountable-secrets annotation, by the
//!   request that sets it (pkg/registry/core/serviceaccount/strategy.go).
//!
//! A Job's or CronJob's warnings on update come only when the generation
//! changes, as a template's do; an Ingress's and an EndpointSlice's type
//! only on create; a ServiceAccount's when the update adds the
//! annotation; the others' on every update, as their strategies compute
//! them from the new object alone.

use k8s_openapi::api::core::v1::{Endpoints, Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::node::v1::RuntimeClass;
use k8s_openapi::api::storage::v1::{CSIStorageCapacity, StorageClass};
use std::net::IpAddr;

use super::pod_warnings::{deprecated_node_label, fractional_bytes, node_selector_term};
use super::validation::service::ip_of;
use crate::engine::api::Object;

/// The strategy's `WarningsOnCreate` (`old` is `None`) or
/// `WarningsOnUpdate` for a written object that passed validation, pods'
/// and templates' included.
pub fn on_write(obj: &Object, old: Option<&Object>) -> Vec<String> {
    let generation_changed = old.is_none_or(|old| obj.meta().generation != old.meta().generation);
    let mut warnings = Vec::new();
    match obj {
        Object::Job(job) => {
            if old.is_none() {
                job_name(job.metadata.name.as_deref(), &mut warnings);
            }
            if let (true, Some(spec)) = (generation_changed, job.spec.as_deref()) {
                indexed_job_limits("spec", spec, &mut warnings);
            }
            warnings.extend(super::pod_warnings::on_write(obj, old));
        }
        Object::CronJob(cron_job) => {
            if old.is_none() {
                job_name(cron_job.metadata.name.as_deref(), &mut warnings);
            }
            let spec = cron_job.spec.as_ref();
            if let (true, Some(job_spec)) = (generation_changed, spec.and_then(|s| s.job_template.spec.as_ref())) {
                indexed_job_limits("spec.jobTemplate.spec", job_spec, &mut warnings);
            }
            warnings.extend(super::pod_warnings::on_write(obj, old));
            // Validation refuses a new TZ in a schedule; one kept from an
            // older cluster is only warned about (the path is 1.33's own).
            if old.is_some() && spec.is_some_and(|s| s.schedule.contains("TZ")) {
                warnings.push("cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details".to_string());
            }
        }
        Object::StatefulSet(set) => {
            warnings.extend(super::pod_warnings::on_write(obj, old));
            // On update, whatever the generation, and under a path that
            // names the claim's `Spec` as 1.33's strategy does.
            let claim_path = if old.is_none() { "" } else { ".Spec" };
            for (i, claim) in set.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()).enumerate() {
                if let Some(spec) = &claim.spec {
                    claim_spec(&format!("spec.volumeClaimTemplates[{i}]{claim_path}"), spec, &mut warnings);
                }
            }
        }
        Object::PersistentVolume(pv) => persistent_volume(pv, &mut warnings),
        Object::PersistentVolumeClaim(pvc) => persistent_volume_claim(pvc, &mut warnings),
        Object::StorageClass(class) => storage_class(class, &mut warnings),
        Object::CSIStorageCapacity(capacity) => storage_capacity(capacity, &mut warnings),
        Object::RuntimeClass(class) => runtime_class(class, &mut warnings),
        Object::Service(service) => service_warnings(service, &mut warnings),
        Object::NetworkPolicy(policy) => network_policy(policy, &mut warnings),
        Object::Endpoints(endpoints) => endpoints_addresses(endpoints, &mut warnings),
        Object::EndpointSlice(slice) => endpoint_slice(slice, old.is_none(), &mut warnings),
        Object::Ingress(ingress) => {
            if old.is_none() {
                ingress_class_annotation(ingress, &mut warnings);
            }
        }
        Object::Node(node) => node_warnings(node, &mut warnings),
        Object::ServiceAccount(account) => mountable_secrets_annotation(account, old, &mut warnings),
        _ => warnings.extend(super::pod_warnings::on_write(obj, old)),
    }
    warnings
}

/// A Job's or CronJob's name becomes its pods' names and hostnames.
fn job_name(name: Option<&str>, warnings: &mut Vec<String>) {
    let errors = super::validation::names::dns1123_label(name.unwrap_or(""));
    if !errors.is_empty() {
        warnings.push(format!(
            "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [{}]",
            errors.join(" ")
        ));
    }
}

/// `WarningsForJobSpec`'s own part: an Indexed Job whose failed indexes
/// may be too many to track.
fn indexed_job_limits(path: &str, spec: &k8s_openapi::api::batch::v1::JobSpec, warnings: &mut Vec<String>) {
    const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
    const PARALLELISM_SOFT_LIMIT: i32 = 10_000;
    if spec.completion_mode.as_deref() == Some("Indexed")
        && spec.completions.unwrap_or(0) > COMPLETIONS_SOFT_LIMIT
        && spec.parallelism.unwrap_or(0) > PARALLELISM_SOFT_LIMIT
    {
        warnings.push(format!("{path}: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"));
    }
}

const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

fn beta_storage_class(annotations: Option<&std::collections::BTreeMap<String, String>>, warnings: &mut Vec<String>) {
    if annotations.is_some_and(|a| a.contains_key(BETA_STORAGE_CLASS_ANNOTATION)) {
        warnings.push(format!(r#"metadata.annotations[{BETA_STORAGE_CLASS_ANNOTATION}]: deprecated since v1.8; use "storageClassName" attribute instead"#));
    }
}

/// `GetWarningsForPersistentVolumeClaimSpec`: storage that is not a whole
/// number of bytes.
fn claim_spec(path: &str, spec: &PersistentVolumeClaimSpec, warnings: &mut Vec<String>) {
    let resources = spec.resources.as_ref();
    fractional_bytes(resources.and_then(|r| r.requests.as_ref()), "storage", &format!("{path}.resources.requests"), warnings);
    fractional_bytes(resources.and_then(|r| r.limits.as_ref()), "storage", &format!("{path}.resources.limits"), warnings);
}

/// `GetWarningsForPersistentVolumeClaim`.
fn persistent_volume_claim(pvc: &PersistentVolumeClaim, warnings: &mut Vec<String>) {
    beta_storage_class(pvc.metadata.annotations.as_ref(), warnings);
    if let Some(spec) = &pvc.spec {
        claim_spec("spec", spec, warnings);
    }
}

/// `GetWarningsForPersistentVolume`.
fn persistent_volume(pv: &PersistentVolume, warnings: &mut Vec<String>) {
    beta_storage_class(pv.metadata.annotations.as_ref(), warnings);
    let Some(spec) = &pv.spec else { return };
    if spec.persistent_volume_reclaim_policy.as_deref() == Some("Recycle") {
        warnings.push("spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.".to_string());
    }
    let terms = spec.node_affinity.as_ref().and_then(|a| a.required.as_ref()).map(|r| r.node_selector_terms.as_slice()).unwrap_or(&[]);
    for (i, term) in terms.iter().enumerate() {
        node_selector_term(term, &format!("spec.nodeAffinity.required.nodeSelectorTerms[{i}]"), warnings);
    }
    let removed_plugins = [
        (spec.cephfs.is_some(), "cephfs", "deprecated in v1.28, non-functional in v1.31+"),
        (spec.photon_persistent_disk.is_some(), "photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+"),
        (spec.scale_io.is_some(), "scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
        (spec.storageos.is_some(), "storageOS", "deprecated in v1.22, non-functional in v1.25+"),
        (spec.glusterfs.is_some(), "glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
        (spec.rbd.is_some(), "rbd", "deprecated in v1.28, non-functional in v1.31+"),
    ];
    for (used, field, message) in removed_plugins {
        if used {
            warnings.push(format!("spec.{field}: {message}"));
        }
    }
}

/// `GetWarningsForStorageClass`: the path names the expression, not its key.
fn storage_class(class: &StorageClass, warnings: &mut Vec<String>) {
    for (i, topology) in class.allowed_topologies.iter().flatten().enumerate() {
        for (j, expression) in topology.match_label_expressions.iter().flatten().enumerate() {
            if let Some(message) = deprecated_node_label(&expression.key) {
                warnings.push(format!("allowedTopologies[{i}].matchLabelExpressions[{j}]: {message}"));
            }
        }
    }
}

/// `GetWarningsForCSIStorageCapacity` (Go visits the labels in map order;
/// here they are sorted).
fn storage_capacity(capacity: &CSIStorageCapacity, warnings: &mut Vec<String>) {
    let Some(topology) = &capacity.node_topology else { return };
    for (i, expression) in topology.match_expressions.iter().flatten().enumerate() {
        if let Some(message) = deprecated_node_label(&expression.key) {
            warnings.push(format!("nodeTopology.matchExpressions[{i}]: {} is {message}", expression.key));
        }
    }
    for label in topology.match_labels.iter().flat_map(|labels| labels.keys()) {
        if let Some(message) = deprecated_node_label(label) {
            warnings.push(format!("nodeTopology.matchLabels.{label}: {message}"));
        }
    }
}

/// `GetWarningsForRuntimeClass`: one warning per deprecated key, each
/// naming only the selector.
fn runtime_class(class: &RuntimeClass, warnings: &mut Vec<String>) {
    let selector = class.scheduling.as_ref().and_then(|s| s.node_selector.as_ref());
    for key in selector.into_iter().flat_map(|s| s.keys()) {
        if let Some(message) = deprecated_node_label(key) {
            warnings.push(format!("scheduling.nodeSelector: {message}"));
        }
    }
}

/// Go's `net.IP.String()`: an IPv4-mapped IPv6 address prints as IPv4.
fn go_ip_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `GetWarningsForIP` (apimachinery's util/validation/ip.go) for a value
/// validation accepted: IPv4 parts with leading zeros or an IPv4-mapped
/// IPv6 address, or an IPv6 address not in RFC 5952's form.
pub fn ip_warning(path: &str, value: &str) -> Option<String> {
    let sloppy = ip_of(value)?;
    match value.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let canonical = v6.to_string();
            (canonical != value).then(|| format!("{path}: IPv6 address {value:?} should be in RFC 5952 canonical format ({canonical:?})"))
        }
        Ok(IpAddr::V4(_)) => None,
        _ => Some(format!("{path}: non-standard IP address {value:?} will be considered invalid in a future Kubernetes release: use {:?}", go_ip_string(sloppy))),
    }
}

/// `GetWarningsForCIDR` for a value validation accepted: bits set past the
/// prefix length, a form Go's `netip.ParsePrefix` refuses (leading zeros,
/// IPv4-mapped IPv6), or IPv6 not in RFC 5952's form.
pub fn cidr_warnings(path: &str, value: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some((address, bits_text)) = value.split_once('/') else { return warnings };
    let (Some(ip), Ok(bits)) = (ip_of(address), bits_text.parse::<u32>()) else { return warnings };
    let (full, width) = match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    if bits > width {
        return warnings;
    }
    let host_bits = width - bits;
    let network_bits = if host_bits >= 128 { 0 } else { full >> host_bits << host_bits };
    let network = match ip {
        IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(u32::try_from(network_bits).unwrap_or(0))),
        IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(network_bits)),
    };
    // `IPNet.String()` writes an IPv4-mapped network as IPv4, with its
    // prefix length counted in IPv4 bits.
    let mapped = matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
    let network_text = format!("{}/{}", go_ip_string(network), if mapped { bits.saturating_sub(96) } else { bits });
    if network_bits != full {
        warnings.push(format!("{path}: CIDR value {value:?} is ambiguous in this context (should be {network_text:?} or {:?}?)", format!("{}/{width}", go_ip_string(ip))));
    }
    let strict = address.parse::<IpAddr>().ok().filter(|_| bits_text == "0" || !bits_text.starts_with('0'));
    if strict.is_none() || mapped {
        warnings.push(format!("{path}: non-standard CIDR value {value:?} will be considered invalid in a future Kubernetes release: use {network_text:?}"));
    }
    if let (true, Some(IpAddr::V6(v6))) = (warnings.is_empty(), strict) {
        let canonical = format!("{v6}/{bits}");
        if canonical != value {
            warnings.push(format!("{path}: IPv6 CIDR value {value:?} should be in RFC 5952 canonical format ({canonical:?})"));
        }
    }
    warnings
}

const DEPRECATED_TOPOLOGY_HINTS: &str = "service.kubernetes.io/topology-aware-hints";
const TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";

/// `GetWarningsForService`.
fn service_warnings(service: &Service, warnings: &mut Vec<String>) {
    if service.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(DEPRECATED_TOPOLOGY_HINTS)) {
        warnings.push(format!("annotation {DEPRECATED_TOPOLOGY_HINTS} is deprecated, please use {TOPOLOGY_MODE} instead"));
    }
    let Some(spec) = &service.spec else { return };
    let ip_set = spec.cluster_ip.as_deref().is_some_and(|ip| !ip.is_empty() && ip != "None");
    if ip_set {
        for (i, ip) in spec.cluster_ips.iter().flatten().enumerate() {
            warnings.extend(ip_warning(&format!("spec.clusterIPs[{i}]"), ip));
        }
    }
    let external_ips = spec.external_ips.as_deref().unwrap_or(&[]);
    for (i, ip) in external_ips.iter().enumerate() {
        warnings.extend(ip_warning(&format!("spec.externalIPs[{i}]"), ip));
    }
    if let Some(ip) = spec.load_balancer_ip.as_deref().filter(|ip| !ip.is_empty()) {
        warnings.extend(ip_warning("spec.loadBalancerIP", ip));
    }
    for (i, range) in spec.load_balancer_source_ranges.iter().flatten().enumerate() {
        warnings.extend(cidr_warnings(&format!("spec.loadBalancerSourceRanges[{i}]"), range));
    }
    let external_name_type = spec.type_.as_deref() == Some("ExternalName");
    if external_name_type && !external_ips.is_empty() {
        warnings.push(r#"spec.externalIPs is ignored when spec.type is "ExternalName""#.to_string());
    }
    if !external_name_type && spec.external_name.as_deref().is_some_and(|n| !n.is_empty()) {
        warnings.push(r#"spec.externalName is ignored when spec.type is not "ExternalName""#.to_string());
    }
}

/// `networkPolicyWarnings`: each ipBlock's CIDR, then its exceptions,
/// the ingress rules' peers before the egress rules'.
fn network_policy(policy: &NetworkPolicy, warnings: &mut Vec<String>) {
    let Some(spec) = &policy.spec else { return };
    let ingress_peers = spec.ingress.iter().flatten().enumerate().flat_map(|(i, rule)| {
        rule.from.iter().flatten().enumerate().map(move |(j, peer)| (format!("spec.ingress[{i}].from[{j}]"), peer))
    });
    let egress_peers = spec.egress.iter().flatten().enumerate().flat_map(|(i, rule)| {
        rule.to.iter().flatten().enumerate().map(move |(j, peer)| (format!("spec.egress[{i}].to[{j}]"), peer))
    });
    for (path, peer) in ingress_peers.chain(egress_peers) {
        let Some(block) = &peer.ip_block else { continue };
        warnings.extend(cidr_warnings(&format!("{path}.ipBlock.cidr"), &block.cidr));
        for (k, except) in block.except.iter().flatten().enumerate() {
            warnings.extend(cidr_warnings(&format!("{path}.ipBlock.except[{k}]"), except));
        }
    }
}

fn labelled(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str, value: &str) -> bool {
    meta.labels.as_ref().and_then(|labels| labels.get(key)).is_some_and(|v| v == value)
}

/// `endpointsWarnings`: the Endpoints controller's own objects are
/// trusted (it writes canonical addresses), anyone else's are checked.
fn endpoints_addresses(endpoints: &Endpoints, warnings: &mut Vec<String>) {
    use crate::engine::controllers::endpoints::{ENDPOINTS_MANAGED_BY, ENDPOINTS_MANAGED_BY_LABEL};
    if labelled(&endpoints.metadata, ENDPOINTS_MANAGED_BY_LABEL, ENDPOINTS_MANAGED_BY) {
        return;
    }
    for (i, subset) in endpoints.subsets.iter().flatten().enumerate() {
        for (j, address) in subset.addresses.iter().flatten().enumerate() {
            warnings.extend(ip_warning(&format!("subsets[{i}].addresses[{j}].ip"), &address.ip));
        }
        for (j, address) in subset.not_ready_addresses.iter().flatten().enumerate() {
            warnings.extend(ip_warning(&format!("subsets[{i}].notReadyAddresses[{j}].ip"), &address.ip));
        }
    }
}

/// `warnOnDeprecatedAddressType` (on create; its path names a `spec` the
/// kind does not have, as 1.33's does) and `warnOnBadIPs`, which trusts
/// the two EndpointSlice controllers' own slices.
fn endpoint_slice(slice: &EndpointSlice, created: bool, warnings: &mut Vec<String>) {
    use crate::engine::controllers::endpoints::{MANAGED_BY, MANAGED_BY_LABEL};
    use crate::engine::controllers::endpointslice_mirroring::MIRRORING_MANAGED_BY;
    if created && slice.address_type == "FQDN" {
        warnings.push("spec.addressType: FQDN endpoints are deprecated".to_string());
    }
    if labelled(&slice.metadata, MANAGED_BY_LABEL, MANAGED_BY) || labelled(&slice.metadata, MANAGED_BY_LABEL, MIRRORING_MANAGED_BY) {
        return;
    }
    // A hostname of an FQDN slice is no IP: `GetWarningsForIP` passes it by.
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        for (j, address) in endpoint.addresses.iter().enumerate() {
            warnings.extend(ip_warning(&format!("endpoints[{i}].addresses[{j}]"), address));
        }
    }
}

const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// The Ingress strategy's `WarningsOnCreate` (its `WarningsOnUpdate` has none).
fn ingress_class_annotation(ingress: &Ingress, warnings: &mut Vec<String>) {
    let annotated = ingress.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(INGRESS_CLASS_ANNOTATION));
    if annotated && ingress.spec.as_ref().is_none_or(|s| s.ingress_class_name.is_none()) {
        warnings.push(format!("annotation {INGRESS_CLASS_ANNOTATION:?} is deprecated, please use 'spec.ingressClassName' instead"));
    }
}

/// The node strategy's warnings: the unused `spec.externalID`, then the
/// pod CIDRs in non-standard forms. Its `spec.configSource` warning never
/// shows: the strategy drops that field on create, and so on every later
/// update.
fn node_warnings(node: &Node, warnings: &mut Vec<String>) {
    let Some(spec) = &node.spec else { return };
    if spec.external_id.as_deref().is_some_and(|id| !id.is_empty()) {
        warnings.push("spec.externalID: this field is deprecated, and is unused by Kubernetes".to_string());
    }
    // The internal type has only `podCIDRs`: a lone `podCIDR` converts into
    // its first entry.
    let lone = spec.pod_cidr.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>();
    let cidrs = spec.pod_cidrs.as_deref().filter(|c| !c.is_empty()).unwrap_or(&lone);
    for (i, cidr) in cidrs.iter().enumerate() {
        warnings.extend(cidr_warnings(&format!("spec.podCIDRs[{i}]"), cidr));
    }
}

const ENFORCE_MOUNTABLE_SECRETS: &str = "kubernetes.io/enforce-mountable-secrets";

/// `warnIfHasEnforceMountableSecretsAnnotation`: the annotation, whatever
/// its value, when this request is the one that sets it.
fn mountable_secrets_annotation(account: &k8s_openapi::api::core::v1::ServiceAccount, old: Option<&Object>, warnings: &mut Vec<String>) {
    let annotated = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| meta.annotations.as_ref().is_some_and(|a| a.contains_key(ENFORCE_MOUNTABLE_SECRETS));
    if annotated(&account.metadata) && !old.is_some_and(|old| annotated(old.meta())) {
        warnings.push(format!("metadata.annotations[{ENFORCE_MOUNTABLE_SECRETS}]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets"));
    }
}

#[cfg(test)]
mod tests;
