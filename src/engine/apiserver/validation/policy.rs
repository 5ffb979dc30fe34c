//! LimitRange and ResourceQuota validation, as 1.33's
//! `pkg/apis/core/validation` words it (`ValidateLimitRange`,
//! `ValidateResourceQuotaSpec`), and PodDisruptionBudget validation
//! (`pkg/apis/policy/validation`). Go walks their resource maps in random
//! order; here each map is walked in key order.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::workloads::{not_more_than_100_percent, validate_int_or_percent, validate_label_selector};
use super::{qualified_name, quote, Errors, Path};
use crate::engine::quantity::{go_struct, parse_stored, Quantity};

/// `resource.MaxMilliValue`: the largest value whose thousandths fit an int64.
const MAX_MILLI_VALUE: i64 = i64::MAX / 1000;

/// `helper.IsStandardResourceName`.
fn is_standard_resource_name(name: &str) -> bool {
    matches!(
        name,
        "cpu" | "memory"
            | "ephemeral-storage"
            | "requests.cpu"
            | "requests.memory"
            | "requests.ephemeral-storage"
            | "limits.cpu"
            | "limits.memory"
            | "limits.ephemeral-storage"
            | "pods"
            | "resourcequotas"
            | "services"
            | "replicationcontrollers"
            | "secrets"
            | "persistentvolumeclaims"
            | "configmaps"
            | "services.nodeports"
            | "services.loadbalancers"
            | "storage"
            | "requests.storage"
    ) || is_quota_huge_page(name)
}

/// `helper.IsQuotaHugePageResourceName`.
fn is_quota_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// `helper.IsNativeResource`: no domain, or a `kubernetes.io` one.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `helper.IsExtendedResourceName`.
fn is_extended_resource_name(name: &str) -> bool {
    !is_native_resource(name) && !name.starts_with("requests.") && qualified_name(&format!("requests.{name}")).is_empty()
}

/// `helper.IsOvercommitAllowed`.
fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !name.starts_with("hugepages-")
}

/// `validateResourceName`.
fn validate_resource_name(name: &str, path: &Path, errs: &mut Errors) {
    let messages = qualified_name(name);
    if !messages.is_empty() {
        for message in messages {
            errs.invalid_str(path, name, &message);
        }
        return;
    }
    if !name.contains('/') && !is_standard_resource_name(name) {
        errs.invalid_str(path, name, "must be a standard resource type or fully qualified");
    }
}

/// `validateContainerResourceName`.
fn validate_container_resource_name(name: &str, path: &Path, errs: &mut Errors) {
    validate_resource_name(name, path, errs);
    if !name.contains('/') {
        if !(matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")) {
            errs.invalid_str(path, name, "must be a standard resource for containers");
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errs.invalid_str(path, name, "doesn't follow extended resource name standard");
    }
}

fn validate_limit_range_resource_name(limit_type: &str, name: &str, path: &Path, errs: &mut Errors) {
    match limit_type {
        "Pod" | "Container" => validate_container_resource_name(name, path, errs),
        _ => validate_resource_name(name, path, errs),
    }
}

/// A quantity's value and the text `String()` gives, as a field error shows them.
struct Shown {
    value: Quantity,
    text: String,
    go: String,
}

fn shown(q: &ApiQuantity) -> Option<Shown> {
    let value = parse_stored(q)?;
    Some(Shown { text: value.canonical(), go: go_struct(q.0.trim()), value })
}

/// Go's `%f`.
fn go_float(value: f64) -> String {
    format!("{value:.6}")
}

pub fn validate_limit_range(lr: &LimitRange, errs: &mut Errors) {
    let limits = Path::Root("spec.limits");
    let mut types = BTreeSet::new();
    for (i, limit) in lr.spec.iter().flat_map(|s| s.limits.iter()).enumerate() {
        let item = limits.index(i);
        let type_path = item.field("type");
        let limit_type = limit.type_.as_str();
        let type_messages = qualified_name(limit_type);
        if !type_messages.is_empty() {
            for message in type_messages {
                errs.invalid_str(&type_path, limit_type, &message);
            }
        } else if !limit_type.contains('/') && !matches!(limit_type, "Pod" | "Container" | "PersistentVolumeClaim") {
            errs.invalid_str(&type_path, limit_type, "must be a standard limit type or fully qualified");
        }
        if !types.insert(limit_type) {
            errs.duplicate(&type_path, &quote(limit_type));
        }

        let mut keys = BTreeSet::new();
        let mut read = |field: &str, list: &Option<BTreeMap<String, ApiQuantity>>, errs: &mut Errors| -> BTreeMap<String, Shown> {
            let path = item.field(field);
            let mut out = BTreeMap::new();
            for (name, q) in list.iter().flatten() {
                validate_limit_range_resource_name(limit_type, name, &path.key(name), errs);
                keys.insert(name.clone());
                if let Some(s) = shown(q) {
                    out.insert(name.clone(), s);
                }
            }
            out
        };
        let max = read("max", &limit.max, errs);
        let min = read("min", &limit.min, errs);
        let (defaults, default_requests) = if limit_type == "Pod" {
            if limit.default.as_ref().is_some_and(|d| !d.is_empty()) {
                errs.forbidden(&item.field("default"), "may not be specified when `type` is 'Pod'");
            }
            if limit.default_request.as_ref().is_some_and(|d| !d.is_empty()) {
                errs.forbidden(&item.field("defaultRequest"), "may not be specified when `type` is 'Pod'");
            }
            (BTreeMap::new(), BTreeMap::new())
        } else {
            let defaults = read("default", &limit.default, errs);
            (defaults, read("defaultRequest", &limit.default_request, errs))
        };
        if limit_type == "PersistentVolumeClaim" {
            let has = |list: &Option<BTreeMap<String, ApiQuantity>>| list.as_ref().is_some_and(|l| l.contains_key("storage"));
            if !has(&limit.min) && !has(&limit.max) {
                errs.required(&item.field("limits"), "either minimum or maximum storage value is required, but neither was provided");
            }
        }
        let ratios = read("maxLimitRequestRatio", &limit.max_limit_request_ratio, errs);

        for k in &keys {
            let (min_q, max_q, default_q, default_request_q, ratio) = (min.get(k), max.get(k), defaults.get(k), default_requests.get(k), ratios.get(k));
            if let (Some(mn), Some(mx)) = (min_q, max_q) {
                if mn.value > mx.value {
                    errs.invalid(&item.field("min").key(k), &mn.go, &format!("min value {} is greater than max value {}", mn.text, mx.text));
                }
            }
            if let (Some(dr), Some(mn)) = (default_request_q, min_q) {
                if mn.value > dr.value {
                    errs.invalid(&item.field("defaultRequest").key(k), &dr.go, &format!("min value {} is greater than default request value {}", mn.text, dr.text));
                }
            }
            if let (Some(dr), Some(mx)) = (default_request_q, max_q) {
                if dr.value > mx.value {
                    errs.invalid(&item.field("defaultRequest").key(k), &dr.go, &format!("default request value {} is greater than max value {}", dr.text, mx.text));
                }
            }
            if let (Some(dr), Some(d)) = (default_request_q, default_q) {
                if dr.value > d.value {
                    errs.invalid(&item.field("defaultRequest").key(k), &dr.go, &format!("default request value {} is greater than default limit value {}", dr.text, d.text));
                }
            }
            if let (Some(d), Some(mn)) = (default_q, min_q) {
                if mn.value > d.value {
                    errs.invalid(&item.field("default").key(k), &mn.go, &format!("min value {} is greater than default value {}", mn.text, d.text));
                }
            }
            if let (Some(d), Some(mx)) = (default_q, max_q) {
                if d.value > mx.value {
                    errs.invalid(&item.field("default").key(k), &mx.go, &format!("default value {} is greater than max value {}", d.text, mx.text));
                }
            }
            if let Some(r) = ratio {
                if r.value.nanos() < 1_000_000_000 {
                    errs.invalid(&item.field("maxLimitRequestRatio").key(k), &r.go, &format!("ratio {} is less than 1", r.text));
                }
                if let (Some(mn), Some(mx)) = (min_q, max_q) {
                    let (mut ratio_value, mut min_value, mut max_value) = (r.value.value() as f64, mn.value.value(), mx.value.value());
                    if r.value.value() < MAX_MILLI_VALUE && min_value < MAX_MILLI_VALUE && max_value < MAX_MILLI_VALUE {
                        ratio_value = r.value.milli_value() as f64 / 1000.0;
                        min_value = mn.value.milli_value();
                        max_value = mx.value.milli_value();
                    }
                    let ratio_limit = max_value as f64 / min_value as f64;
                    if ratio_value > ratio_limit {
                        errs.invalid(&item.field("maxLimitRequestRatio").key(k), &r.go, &format!("ratio {} is greater than max/min = {}", r.text, go_float(ratio_limit)));
                    }
                }
            }
            // Resources that cannot be overcommitted need the default limit and request equal.
            if let (false, Some(d), Some(dr)) = (is_overcommit_allowed(k), default_q, default_request_q) {
                if d.value.nanos() != dr.value.nanos() {
                    errs.invalid(&item.field("defaultRequest").key(k), &dr.go, &format!("default value {} must equal to defaultRequest value {} in {k}", d.text, dr.text));
                }
            }
        }
    }
}

/// `helper.IsStandardQuotaResourceName`.
fn is_standard_quota_resource_name(name: &str) -> bool {
    matches!(
        name,
        "cpu" | "memory"
            | "ephemeral-storage"
            | "requests.cpu"
            | "requests.memory"
            | "requests.storage"
            | "requests.ephemeral-storage"
            | "limits.cpu"
            | "limits.memory"
            | "limits.ephemeral-storage"
            | "pods"
            | "resourcequotas"
            | "services"
            | "replicationcontrollers"
            | "secrets"
            | "persistentvolumeclaims"
            | "configmaps"
            | "services.nodeports"
            | "services.loadbalancers"
    ) || is_quota_huge_page(name)
}

/// `helper.IsIntegerResourceName`: object counts and extended resources.
fn is_integer_resource_name(name: &str) -> bool {
    matches!(
        name,
        "pods" | "resourcequotas" | "services" | "replicationcontrollers" | "secrets" | "configmaps" | "persistentvolumeclaims" | "services.nodeports" | "services.loadbalancers"
    ) || is_extended_resource_name(name)
}

/// `helper.IsStandardResourceQuotaScope` with the scopes 1.33 enables by
/// default (VolumeAttributesClass is behind a gate that is off).
fn is_standard_scope(scope: &str) -> bool {
    matches!(scope, "Terminating" | "NotTerminating" | "BestEffort" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity")
}

/// `helper.IsResourceQuotaScopeValidForResource`.
fn scope_valid_for_resource(scope: &str, resource: &str) -> bool {
    let pod_count = resource == "pods";
    let pod_compute = matches!(resource, "cpu" | "memory" | "limits.cpu" | "limits.memory" | "requests.cpu" | "requests.memory");
    match scope {
        "Terminating" | "NotTerminating" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity" => pod_count || pod_compute,
        "BestEffort" => pod_count,
        _ => true,
    }
}

/// A `[]string` (or a named string slice) as Go's `%#v` prints it.
fn go_strings(type_name: &str, values: Option<&Vec<String>>) -> String {
    match values {
        None => format!("[]{type_name}(nil)"),
        Some(v) => format!("[]{type_name}{{{}}}", v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")),
    }
}

/// Whether a set of scopes holds both of a pair that cannot go together.
fn conflicting(scopes: &BTreeSet<&str>) -> usize {
    [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")].iter().filter(|(a, b)| scopes.contains(a) && scopes.contains(b)).count()
}

/// `ValidateResourceQuotaSpec`: resource names and values, scopes and the
/// scope selector.
pub fn validate_resource_quota(quota: &ResourceQuota, errs: &mut Errors) {
    let spec = quota.spec.clone().unwrap_or_default();
    let root = Path::Root("spec");
    let hard_path = root.field("hard");
    let hard = spec.hard.clone().unwrap_or_default();
    for (name, value) in &hard {
        let path = hard_path.key(name);
        validate_resource_name(name, &path, errs);
        if !name.contains('/') && !is_standard_quota_resource_name(name) {
            errs.invalid_str(&path, name, "must be a standard resource for quota");
        }
        if let Some(q) = parse_stored(value) {
            if q.is_negative() {
                errs.invalid_str(&path, &q.canonical(), "must be greater than or equal to 0");
            }
            if is_integer_resource_name(name) && q.milli_value() % 1000 != 0 {
                errs.invalid(&path, &go_struct(value.0.trim()), "must be an integer");
            }
        }
    }
    let scopes = spec.scopes.clone().unwrap_or_default();
    if !scopes.is_empty() {
        let path = root.field("scopes");
        let shown = go_strings("core.ResourceQuotaScope", spec.scopes.as_ref());
        let mut set = BTreeSet::new();
        for scope in &scopes {
            if !is_standard_scope(scope) {
                errs.invalid(&path, &shown, "unsupported scope");
            }
            for name in hard.keys() {
                if is_standard_quota_resource_name(name) && !scope_valid_for_resource(scope, name) {
                    errs.invalid(&path, &shown, "unsupported scope applied to resource");
                }
            }
            set.insert(scope.as_str());
        }
        for _ in 0..conflicting(&set) {
            errs.invalid(&path, &shown, "conflicting scopes");
        }
    }
    if let Some(selector) = &spec.scope_selector {
        let selector_path = root.field("scopeSelector");
        let path = selector_path.field("matchExpressions");
        let expressions = selector.match_expressions.as_deref().unwrap_or_default();
        let shown_selector = {
            let items: Vec<String> = expressions
                .iter()
                .map(|e| {
                    format!(
                        "core.ScopedResourceSelectorRequirement{{ScopeName:{}, Operator:{}, Values:{}}}",
                        quote(&e.scope_name),
                        quote(&e.operator),
                        go_strings("string", e.values.as_ref())
                    )
                })
                .collect();
            let list = match &selector.match_expressions {
                None => "[]core.ScopedResourceSelectorRequirement(nil)".to_string(),
                Some(_) => format!("[]core.ScopedResourceSelectorRequirement{{{}}}", items.join(", ")),
            };
            format!("core.ScopeSelector{{MatchExpressions:{list}}}")
        };
        let mut set = BTreeSet::new();
        for e in expressions {
            if !is_standard_scope(&e.scope_name) {
                errs.invalid_str(&path.field("scopeName"), &e.scope_name, "unsupported scope");
            }
            for name in hard.keys() {
                if is_standard_quota_resource_name(name) && !scope_valid_for_resource(&e.scope_name, name) {
                    errs.invalid(&path, &shown_selector, "unsupported scope applied to resource");
                }
            }
            if matches!(e.scope_name.as_str(), "BestEffort" | "NotBestEffort" | "Terminating" | "NotTerminating" | "CrossNamespacePodAffinity") && e.operator != "Exists" {
                errs.invalid_str(
                    &path.field("operator"),
                    &e.operator,
                    "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
                );
            }
            let values = e.values.as_ref().map_or(0, Vec::len);
            match e.operator.as_str() {
                "In" | "NotIn" if values == 0 => errs.required(&path.field("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"),
                "Exists" | "DoesNotExist" if values != 0 => {
                    errs.invalid(&path.field("values"), &go_strings("string", e.values.as_ref()), "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector")
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => errs.invalid_str(&path.field("operator"), other, "not a valid selector operator"),
            }
            set.insert(e.scope_name.as_str());
        }
        for _ in 0..conflicting(&set) {
            errs.invalid(&path, &go_strings("core.ResourceQuotaScope", spec.scopes.as_ref()), "conflicting scopes");
        }
    }
}

/// `ValidatePodDisruptionBudgetSpec`, on create and on every update (a
/// policy/v1 budget's spec may change).
pub fn validate_pod_disruption_budget(pdb: &PodDisruptionBudget, errs: &mut Errors) {
    let Some(spec) = &pdb.spec else { return };
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        // The internal spec printed with `%#v`: its pointers show as
        // addresses, which differ on every request.
        let pointer = |set: bool, ty: &str, address: &str| if set { format!("(*{ty})({address})") } else { format!("(*{ty})(nil)") };
        let shown = format!(
            "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, Selector:{}, MaxUnavailable:{}, UnhealthyPodEvictionPolicy:{}}}",
            pointer(true, "intstr.IntOrString", "0xc000a1c0f0"),
            pointer(spec.selector.is_some(), "v1.LabelSelector", "0xc000b3e2d0"),
            pointer(true, "intstr.IntOrString", "0xc000a1c108"),
            pointer(spec.unhealthy_pod_eviction_policy.is_some(), "policy.UnhealthyPodEvictionPolicyType", "0xc000c52a10"),
        );
        errs.invalid("spec", &shown, "minAvailable and maxUnavailable cannot be both set");
    }
    for (value, path) in [(&spec.min_available, "spec.minAvailable"), (&spec.max_unavailable, "spec.maxUnavailable")] {
        if value.is_some() {
            validate_int_or_percent(value.as_ref(), path, errs);
            not_more_than_100_percent(value.as_ref(), path, errs);
        }
    }
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, "spec.selector", errs);
    }
    if let Some(policy) = spec.unhealthy_pod_eviction_policy.as_deref() {
        if policy != "AlwaysAllow" && policy != "IfHealthyBudget" {
            errs.unsupported("spec.unhealthyPodEvictionPolicy", policy, &["AlwaysAllow", "IfHealthyBudget"]);
        }
    }
}

#[cfg(test)]
mod pdb_tests {
    use super::*;
    use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn messages(spec: PodDisruptionBudgetSpec) -> Vec<String> {
        let pdb = PodDisruptionBudget { spec: Some(spec), ..Default::default() };
        let mut errs = Errors::default();
        validate_pod_disruption_budget(&pdb, &mut errs);
        errs.0.into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    #[test]
    fn a_budget_sets_one_bound_within_100_percent() {
        let both = messages(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(-1)),
            max_unavailable: Some(IntOrString::String("120%".into())),
            ..Default::default()
        });
        assert_eq!(both, vec![
            "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000a1c0f0), Selector:(*v1.LabelSelector)(nil), MaxUnavailable:(*intstr.IntOrString)(0xc000a1c108), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable cannot be both set".to_string(),
            "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%".to_string(),
        ]);
        let bad = messages(PodDisruptionBudgetSpec { min_available: Some(IntOrString::String("half".into())), unhealthy_pod_eviction_policy: Some("Sometimes".into()), ..Default::default() });
        assert_eq!(bad, vec![
            "spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"half\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')".to_string(),
            "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Sometimes\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"".to_string(),
        ]);
        assert!(messages(PodDisruptionBudgetSpec { max_unavailable: Some(IntOrString::String("100%".into())), ..Default::default() }).is_empty());
    }
}
