//! ResourceQuota's evaluation, shared by the API server's admission plugin
//! and the quota controller, as 1.33 has it (`pkg/quota/v1/evaluator/core`,
//! the admission plugin's `checkRequest`): what an object uses of a quota's
//! resources, which objects a quota's scopes select, and the refusals'
//! wording.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, ResourceQuota};

use crate::engine::api::pod::Pod;
use crate::engine::api::{find_resource, ids, resource, Object, ResourceId};
use crate::engine::quantity::{parse_stored, Format, Quantity};
use crate::engine::sim::clock::VirtualTime;

/// Amounts by resource name, in name order.
pub type Usage = BTreeMap<String, Quantity>;

/// The pods' compute resources a quota may name without a prefix rule.
const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

/// What a container must state when a quota limits it (`validationSet`).
const MUST_SPECIFY: &[&str] = &["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

/// Native resources: no extended resource can have these names.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `requests.<extended resource>`, which quota counts for pods.
fn is_extended_for_quota(name: &str) -> bool {
    name.strip_prefix("requests.").is_some_and(|r| !is_native(r) && !r.starts_with("requests."))
}

/// The resource whose objects the quota resource `name` counts, if any.
pub fn resource_of(name: &str) -> Option<ResourceId> {
    if POD_RESOURCES.contains(&name) || name.starts_with("hugepages-") || name.starts_with("requests.hugepages-") || is_extended_for_quota(name) {
        return Some(ids::pods());
    }
    match name {
        "services" | "services.nodeports" | "services.loadbalancers" => return Some(ids::services()),
        "persistentvolumeclaims" | "requests.storage" => return Some(ids::persistent_volume_claims()),
        "configmaps" => return Some(ids::config_maps()),
        "secrets" => return Some(ids::secrets()),
        "replicationcontrollers" => return Some(ids::replication_controllers()),
        "resourcequotas" => return Some(ids::resource_quotas()),
        _ => {}
    }
    if let Some(rest) = name.split_once(".storageclass.storage.k8s.io/").map(|(_, r)| r) {
        return matches!(rest, "requests.storage" | "persistentvolumeclaims").then(ids::persistent_volume_claims);
    }
    let counted = name.strip_prefix("count/")?;
    let (plural, group) = counted.split_once('.').unwrap_or((counted, ""));
    find_resource(group, plural).filter(|rid| resource(*rid).namespaced)
}

/// `count/<plural>[.<group>]`, the object count name of a resource.
fn object_count_name(rid: ResourceId) -> String {
    let rt = resource(rid);
    if rt.group.is_empty() {
        format!("count/{}", rt.plural)
    } else {
        format!("count/{}.{}", rt.plural, rt.group)
    }
}

/// Go's `Quantity.Add`: a sum onto zero takes the other's format.
pub fn add(a: &Quantity, b: &Quantity) -> Quantity {
    let format = if a.is_zero() { b.format } else { a.format };
    Quantity::from_nanos(a.nanos().saturating_add(b.nanos()), format)
}

/// `quota.Add`: every name of either, summed where both have it.
pub fn add_usage(a: &Usage, b: &Usage) -> Usage {
    let mut sum = a.clone();
    for (name, q) in b {
        let next = match sum.get(name) {
            Some(have) => add(have, q),
            None => q.clone(),
        };
        sum.insert(name.clone(), next);
    }
    sum
}

fn mask(usage: &Usage, names: &BTreeSet<String>) -> Usage {
    usage.iter().filter(|(n, _)| names.contains(*n)).map(|(n, q)| (n.clone(), q.clone())).collect()
}

/// `prettyPrint`: `name=amount` in name order, joined by commas.
pub fn pretty(usage: &Usage) -> String {
    usage.iter().map(|(n, q)| format!("{n}={}", q.canonical())).collect::<Vec<_>>().join(",")
}

fn one() -> Quantity {
    Quantity::from_nanos(1_000_000_000, Format::DecimalSI)
}

/// A resource list of the API as amounts (what cannot be read is left out:
/// decoding checked every stored quantity).
pub fn usage_of(list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>) -> Usage {
    list.into_iter().flatten().filter_map(|(n, q)| Some((n.clone(), parse_stored(q)?))).collect()
}

fn add_into(into: &mut Usage, from: &Usage) {
    *into = add_usage(into, from);
}

/// `maxResourceList`: each name at the larger of the two.
fn max_into(into: &mut Usage, from: &Usage) {
    for (name, q) in from {
        match into.get(name) {
            Some(have) if have.nanos() >= q.nanos() => {}
            _ => {
                into.insert(name.clone(), q.clone());
            }
        }
    }
}

/// `resourcehelper.PodRequests`/`PodLimits`: the containers' sum, a sidecar
/// added to it and to what the init containers after it run beside, at
/// least the largest init container with the sidecars before it; then the
/// pod's overhead.
fn pod_total(pod: &Pod, pick: impl Fn(&Container) -> Usage) -> Usage {
    let Some(spec) = pod.spec.as_deref() else { return Usage::new() };
    let mut total = Usage::new();
    for c in &spec.containers {
        add_into(&mut total, &pick(c));
    }
    let mut sidecars = Usage::new();
    let mut init = Usage::new();
    for c in spec.init_containers.iter().flatten() {
        let own = pick(c);
        let with_sidecars = if c.restart_policy.as_deref() == Some("Always") {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            add_usage(&own, &sidecars)
        };
        max_into(&mut init, &with_sidecars);
    }
    max_into(&mut total, &init);
    add_into(&mut total, &usage_of(spec.overhead.as_ref()));
    total
}

/// `podComputeUsageHelper`: what requests and limits count as.
fn compute_usage(requests: &Usage, limits: &Usage) -> Usage {
    let mut usage = Usage::new();
    usage.insert("pods".into(), one());
    for (name, q) in requests {
        if matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-") {
            usage.insert(name.clone(), q.clone());
            usage.insert(format!("requests.{name}"), q.clone());
        } else if !is_native(name) {
            usage.insert(format!("requests.{name}"), q.clone());
        }
    }
    for (name, q) in limits {
        if matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage") {
            usage.insert(format!("limits.{name}"), q.clone());
        }
    }
    usage
}

fn requests_of(c: &Container) -> Usage {
    usage_of(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

fn limits_of(c: &Container) -> Usage {
    usage_of(c.resources.as_ref().and_then(|r| r.limits.as_ref()))
}

/// `QuotaV1Pod`: a pod counts against compute quota until it has ended or
/// its deletion's grace period has passed.
fn pod_counts(pod: &Pod, now: VirtualTime) -> bool {
    if matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed")) {
        return false;
    }
    match (&pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) {
        (Some(at), Some(grace)) => now <= crate::engine::api::meta::virtual_of(at).plus_secs(grace.max(0) as u64),
        _ => true,
    }
}

/// Everything the object uses, by its kind's evaluator.
pub fn usage(obj: &Object, now: VirtualTime) -> Usage {
    let mut usage = Usage::new();
    usage.insert(object_count_name(obj.resource_id()), one());
    match obj {
        Object::Pod(pod) => {
            if pod_counts(pod, now) {
                let usage_now = compute_usage(&pod_total(pod, requests_of), &pod_total(pod, limits_of));
                add_into(&mut usage, &usage_now);
            }
        }
        Object::Service(svc) => {
            usage.insert("services".into(), one());
            let spec = svc.spec.as_ref();
            let kind = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
            let ports = spec.and_then(|s| s.ports.as_ref()).map_or(0, Vec::len) as i128;
            let node_ports = match kind {
                "NodePort" => ports,
                "LoadBalancer" if spec.and_then(|s| s.allocate_load_balancer_node_ports) != Some(false) => ports,
                _ => 0,
            };
            usage.insert("services.nodeports".into(), Quantity::from_nanos(node_ports * 1_000_000_000, Format::DecimalSI));
            usage.insert("services.loadbalancers".into(), Quantity::from_nanos(i128::from(kind == "LoadBalancer") * 1_000_000_000, Format::DecimalSI));
        }
        Object::PersistentVolumeClaim(pvc) => {
            usage.insert("persistentvolumeclaims".into(), one());
            let class = pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone()).filter(|c| !c.is_empty());
            if let Some(class) = &class {
                usage.insert(format!("{class}.storageclass.storage.k8s.io/persistentvolumeclaims"), one());
            }
            let storage = pvc.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).and_then(parse_stored);
            if let Some(storage) = storage {
                if let Some(class) = &class {
                    usage.insert(format!("{class}.storageclass.storage.k8s.io/requests.storage"), storage.clone());
                }
                usage.insert("requests.storage".into(), storage);
            }
        }
        Object::ConfigMap(_) => {
            usage.insert("configmaps".into(), one());
        }
        Object::Secret(_) => {
            usage.insert("secrets".into(), one());
        }
        Object::ReplicationController(_) => {
            usage.insert("replicationcontrollers".into(), one());
        }
        Object::ResourceQuota(_) => {
            usage.insert("resourcequotas".into(), one());
        }
        _ => {}
    }
    usage
}

/// The quota's resource names that objects of `rid` can use
/// (`MatchingResources`).
fn matching(names: impl IntoIterator<Item = String>, rid: ResourceId) -> BTreeSet<String> {
    names.into_iter().filter(|n| resource_of(n) == Some(rid)).collect()
}

/// A quota's scopes, from `scopes` and `scopeSelector`, as (scope,
/// operator, values).
fn scope_selectors(quota: &ResourceQuota) -> Vec<(String, String, Vec<String>)> {
    let spec = quota.spec.as_ref();
    let mut out: Vec<(String, String, Vec<String>)> = spec.and_then(|s| s.scopes.as_ref()).into_iter().flatten().map(|s| (s.clone(), "Exists".to_string(), Vec::new())).collect();
    for e in spec.and_then(|s| s.scope_selector.as_ref()).and_then(|s| s.match_expressions.as_ref()).into_iter().flatten() {
        out.push((e.scope_name.clone(), e.operator.clone(), e.values.clone().unwrap_or_default()));
    }
    out
}

fn pod_scope_matches(pod: &Pod, scope: &str, operator: &str, values: &[String]) -> bool {
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    let terminating = spec.active_deadline_seconds.is_some_and(|s| s >= 0);
    let best_effort = crate::engine::apiserver::admission::pod_qos_class(spec) == "BestEffort";
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "PriorityClass" => {
            let class = spec.priority_class_name.as_deref().unwrap_or("");
            match operator {
                "Exists" => !class.is_empty(),
                "In" => values.iter().any(|v| v == class),
                "NotIn" => !values.iter().any(|v| v == class),
                // The selector always has the pod's class, empty or not.
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => {
            let affinity = spec.affinity.as_ref();
            let terms = affinity.and_then(|a| a.pod_affinity.as_ref()).into_iter().flat_map(|a| {
                a.required_during_scheduling_ignored_during_execution.iter().flatten().chain(a.preferred_during_scheduling_ignored_during_execution.iter().flatten().map(|w| &w.pod_affinity_term))
            });
            let anti = affinity.and_then(|a| a.pod_anti_affinity.as_ref()).into_iter().flat_map(|a| {
                a.required_during_scheduling_ignored_during_execution.iter().flatten().chain(a.preferred_during_scheduling_ignored_during_execution.iter().flatten().map(|w| &w.pod_affinity_term))
            });
            terms.chain(anti).any(|t| t.namespace_selector.is_some() || t.namespaces.as_ref().is_some_and(|n| !n.is_empty()))
        }
        _ => false,
    }
}

/// Whether the quota's scopes select the object: every scope must; an
/// object other than a pod is selected only by a quota without scopes.
pub fn selects(quota: &ResourceQuota, obj: &Object) -> bool {
    let scopes = scope_selectors(quota);
    match obj {
        Object::Pod(pod) => scopes.iter().all(|(scope, operator, values)| pod_scope_matches(pod, scope, operator, values)),
        _ => scopes.is_empty(),
    }
}

/// The amounts a quota enforces (`status.hard`, set by its controller).
pub fn hard_of(quota: &ResourceQuota) -> Usage {
    usage_of(quota.status.as_ref().and_then(|s| s.hard.as_ref()))
}

/// What a quota has counted (`status.used`).
pub fn used_of(quota: &ResourceQuota) -> Usage {
    usage_of(quota.status.as_ref().and_then(|s| s.used.as_ref()))
}

/// `Constraints`: with cpu or memory limited, every container states it.
fn pod_constraints(pod: &Pod, restricted: &BTreeSet<String>) -> Result<(), String> {
    let required: BTreeSet<&str> = restricted.iter().map(String::as_str).filter(|n| MUST_SPECIFY.contains(n)).collect();
    if required.is_empty() {
        return Ok(());
    }
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let stated = compute_usage(&requests_of(c), &limits_of(c));
        for name in required.iter().filter(|n| !stated.contains_key(**n)) {
            missing.entry(name).or_default().insert(c.name.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing.iter().map(|(name, containers)| format!("{name} for: {}", containers.iter().cloned().collect::<Vec<_>>().join(","))).collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// The admission plugin's check of a new object against its namespace's
/// quotas (in name order): the first refusal's message, or each quota's
/// `status.used` with the object counted, for the quotas it counts in.
/// As `checkRequest`: every quota that selects the object is checked for
/// the containers' stated resources and a counted status first, then each
/// for room.
pub fn admit(quotas: &[&ResourceQuota], obj: &Object, now: VirtualTime) -> Result<Vec<(String, Usage)>, String> {
    let rid = obj.resource_id();
    let mut pertinent = Vec::new();
    for quota in quotas {
        let name = quota.metadata.name.clone().unwrap_or_default();
        let restricted = matching(hard_of(quota).into_keys(), rid);
        if restricted.is_empty() || !selects(quota, obj) {
            continue;
        }
        if let Object::Pod(pod) = obj {
            pod_constraints(pod, &restricted).map_err(|why| format!("failed quota: {name}: {why}"))?;
        }
        let used = used_of(quota);
        if restricted.iter().any(|r| !used.contains_key(r)) {
            let names: Vec<&str> = restricted.iter().map(String::as_str).collect();
            return Err(format!("status unknown for quota: {name}, resources: {}", names.join(",")));
        }
        pertinent.push((name, quota));
    }
    let delta: Usage = usage(obj, now).into_iter().filter(|(_, q)| !q.is_zero()).collect();
    if pertinent.is_empty() || delta.is_empty() {
        return Ok(Vec::new());
    }
    let mut charged = Vec::new();
    for (name, quota) in pertinent {
        let hard = hard_of(quota);
        let used = used_of(quota);
        let requested: Usage = delta.iter().filter(|(n, _)| hard.contains_key(*n)).map(|(n, q)| (n.clone(), q.clone())).collect();
        let new_used = add_usage(&used, &requested);
        let exceeded: BTreeSet<String> = requested.keys().filter(|r| hard.get(*r).is_some_and(|h| new_used.get(*r).is_some_and(|u| u.nanos() > h.nanos()))).cloned().collect();
        if !exceeded.is_empty() {
            return Err(format!(
                "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                pretty(&mask(&requested, &exceeded)),
                pretty(&mask(&used, &exceeded)),
                pretty(&mask(&hard, &exceeded))
            ));
        }
        charged.push((name, new_used));
    }
    Ok(charged)
}

/// The resources whose objects a quota's hard names count.
pub fn counted_resources(quota: &ResourceQuota) -> BTreeSet<ResourceId> {
    quota.spec.as_ref().and_then(|s| s.hard.as_ref()).into_iter().flatten().filter_map(|(n, _)| resource_of(n)).collect()
}

/// The quota controller's count (`CalculateUsage`): every name of
/// `spec.hard` at zero, plus what each selected object uses of them.
pub fn calculate<'a>(quota: &ResourceQuota, objects: impl Iterator<Item = &'a Object>, now: VirtualTime) -> Usage {
    let names: BTreeSet<String> = quota.spec.as_ref().and_then(|s| s.hard.as_ref()).into_iter().flatten().map(|(n, _)| n.clone()).collect();
    let mut used: Usage = names.iter().map(|n| (n.clone(), Quantity::from_nanos(0, Format::DecimalSI))).collect();
    for obj in objects.filter(|o| selects(quota, o)) {
        let counted = mask(&usage(obj, now), &names);
        used = add_usage(&used, &counted);
    }
    used
}
