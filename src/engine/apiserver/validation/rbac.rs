//! RBAC validation (`pkg/apis/rbac/validation`, 1.33): each rule needs
//! verbs and either resources with their groups or non-resource URLs (the
//! latter only in a ClusterRole), a binding's `roleRef` names a Role or
//! ClusterRole of the RBAC group and never changes, and each subject is a
//! User, Group or ServiceAccount as the API server knows them.

use k8s_openapi::api::rbac::v1::{AggregationRule, PolicyRule, RoleRef, Subject};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{dns1123_subdomain, label_value, names, qualified_name, quote, Errors, Path};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `[]string{"a", "b"}`: Go's `%#v` of a string slice.
fn go_string_slice(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", items.join(", "))
}

fn filled(list: Option<&Vec<String>>) -> &[String] {
    list.map_or(&[], Vec::as_slice)
}

/// `ValidatePolicyRule`.
fn validate_policy_rule(rule: &PolicyRule, namespaced: bool, path: &Path, errs: &mut Errors) {
    if rule.verbs.is_empty() {
        errs.required(&path.field("verbs"), "verbs must contain at least one value");
    }
    let urls = filled(rule.non_resource_urls.as_ref());
    let (groups, resources, names) = (filled(rule.api_groups.as_ref()), filled(rule.resources.as_ref()), filled(rule.resource_names.as_ref()));
    if !urls.is_empty() {
        let field = path.field("nonResourceURLs");
        if namespaced {
            errs.invalid(&field, &go_string_slice(urls), "namespaced rules cannot apply to non-resource URLs");
        }
        if !groups.is_empty() || !resources.is_empty() || !names.is_empty() {
            errs.invalid(&field, &go_string_slice(urls), "rules cannot apply to both regular resources and non-resource URLs");
        }
        return;
    }
    if groups.is_empty() {
        errs.required(&path.field("apiGroups"), "resource rules must supply at least one api group");
    }
    if resources.is_empty() {
        errs.required(&path.field("resources"), "resource rules must supply at least one resource");
    }
}

fn validate_rules(rules: Option<&Vec<PolicyRule>>, namespaced: bool, errs: &mut Errors) {
    let root = Path::Root("rules");
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        validate_policy_rule(rule, namespaced, &root.index(i), errs);
    }
}

/// `ValidateRole`'s own checks (the metadata is checked by the caller).
pub(super) fn validate_role(rules: Option<&Vec<PolicyRule>>, errs: &mut Errors) {
    validate_rules(rules, true, errs);
}

/// `ValidateClusterRole`: the rules, then the aggregation rule's selectors
/// (each a valid label selector, which `LabelSelectorAsSelector` must also
/// accept).
pub(super) fn validate_cluster_role(rules: Option<&Vec<PolicyRule>>, aggregation: Option<&AggregationRule>, errs: &mut Errors) {
    validate_rules(rules, false, errs);
    let Some(aggregation) = aggregation else { return };
    let selectors = aggregation.cluster_role_selectors.as_deref().unwrap_or_default();
    if selectors.is_empty() {
        errs.required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil");
    }
    for (i, selector) in selectors.iter().enumerate() {
        let path = format!("aggregationRule.clusterRoleSelectors[{i}]");
        super::workloads::validate_label_selector(selector, &path, errs);
        // `ValidateLabelSelectorRequirement`'s value checks, which a new
        // ClusterRole does not skip.
        for (j, expr) in selector.match_expressions.iter().flatten().enumerate() {
            for (k, value) in expr.values.iter().flatten().enumerate() {
                for msg in label_value(value) {
                    errs.invalid_str(&format!("{path}.matchExpressions[{j}].values[{k}]"), value, &msg);
                }
            }
        }
        if !converts_to_selector(selector) {
            // The failed conversion's nil selector, shown as `null`.
            errs.invalid_str(&path, "null", "invalid label selector.");
        }
    }
}

/// Whether `LabelSelectorAsSelector` accepts `selector`: every key a
/// qualified name, every value a label value, each operator known and
/// given values as it requires.
fn converts_to_selector(selector: &LabelSelector) -> bool {
    let labels_valid = selector.match_labels.iter().flatten().all(|(key, value)| qualified_name(key).is_empty() && label_value(value).is_empty());
    let expressions_valid = selector.match_expressions.iter().flatten().all(|expr| {
        let values = expr.values.as_deref().unwrap_or_default();
        let arity = match expr.operator.as_str() {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        arity && qualified_name(&expr.key).is_empty() && values.iter().all(|v| label_value(v).is_empty())
    });
    labels_valid && expressions_valid
}

/// The role reference checks `ValidateRoleBinding` and
/// `ValidateClusterRoleBinding` share; `kinds` are those the binding may name.
fn validate_role_ref(role_ref: &RoleRef, kinds: &[&str], errs: &mut Errors) {
    if role_ref.api_group != RBAC_GROUP {
        errs.unsupported("roleRef.apiGroup", &role_ref.api_group, &[RBAC_GROUP]);
    }
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.unsupported("roleRef.kind", &role_ref.kind, kinds);
    }
    if role_ref.name.is_empty() {
        errs.required("roleRef.name", "");
    } else {
        for msg in names::path_segment_name(&role_ref.name, false) {
            errs.invalid_str("roleRef.name", &role_ref.name, &msg);
        }
    }
}

/// `validateRoleBindingSubject`.
fn validate_subject(subject: &Subject, namespaced: bool, path: &Path, errs: &mut Errors) {
    if subject.name.is_empty() {
        errs.required(&path.field("name"), "");
    }
    let group = subject.api_group.as_deref().unwrap_or("");
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                for msg in dns1123_subdomain(&subject.name) {
                    errs.invalid_str(&path.field("name"), &subject.name, &msg);
                }
            }
            if !group.is_empty() {
                errs.unsupported(&path.field("apiGroup"), group, &[""]);
            }
            if !namespaced && subject.namespace.as_deref().is_none_or(str::is_empty) {
                errs.required(&path.field("namespace"), "");
            }
        }
        kind @ ("User" | "Group") => {
            if subject.name.is_empty() {
                let what = if kind == "User" { "user name cannot be empty" } else { "group name cannot be empty" };
                errs.invalid_str(&path.field("name"), "", what);
            }
            if group != RBAC_GROUP {
                errs.unsupported(&path.field("apiGroup"), group, &[RBAC_GROUP]);
            }
        }
        other => errs.unsupported(&path.field("kind"), other, &["ServiceAccount", "User", "Group"]),
    }
}

/// `ValidateRoleBinding` (`namespaced`) or `ValidateClusterRoleBinding`.
pub(super) fn validate_binding(role_ref: &RoleRef, subjects: Option<&Vec<Subject>>, namespaced: bool, errs: &mut Errors) {
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    validate_role_ref(role_ref, kinds, errs);
    let root = Path::Root("subjects");
    for (i, subject) in subjects.into_iter().flatten().enumerate() {
        validate_subject(subject, namespaced, &root.index(i), errs);
    }
}

/// `Validate…RoleBindingUpdate`: a binding's role is fixed once created
/// (delete and recreate it to bind another).
pub(super) fn validate_role_ref_unchanged(role_ref: &RoleRef, old: &RoleRef, errs: &mut Errors) {
    if role_ref != old {
        // The internal `rbac.RoleRef`, printed with `%#v`.
        let shown = format!("rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}", quote(&role_ref.api_group), quote(&role_ref.kind), quote(&role_ref.name));
        errs.invalid("roleRef", &shown, "cannot change roleRef");
    }
}
