//! `kubectl describe` of Roles, ClusterRoles and their bindings
//! (`RoleDescriber`, `ClusterRoleDescriber`, `RoleBindingDescriber`,
//! `ClusterRoleBindingDescriber`): a role's rules broken down to one verb of
//! one resource each, verbs of one resource gathered again
//! (`rbac.BreakdownRule`, `rbac.CompactRules`) and sorted by the rule's Go
//! `String()`, so `namespaces/status` comes before `namespaces`.

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{annotations_multiline, labels_multiline, Writer};

/// Go's `%v` of a `[]string`.
pub(in crate::engine::kubectl::verbs) fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

fn one(s: &str) -> Vec<String> {
    vec![s.to_string()]
}

fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in rule.api_groups.iter().flatten() {
        for resource in rule.resources.iter().flatten() {
            for verb in &rule.verbs {
                let names: Vec<Option<&String>> = match rule.resource_names.as_deref() {
                    Some(names) if !names.is_empty() => names.iter().map(Some).collect(),
                    _ => vec![None],
                };
                for name in names {
                    out.push(PolicyRule {
                        api_groups: Some(one(group)),
                        resources: Some(one(resource)),
                        verbs: one(verb),
                        resource_names: name.map(|n| one(n)),
                        non_resource_urls: None,
                    });
                }
            }
        }
    }
    // Non-resource URLs combine with verbs alone.
    for url in rule.non_resource_urls.iter().flatten() {
        for verb in &rule.verbs {
            out.push(PolicyRule { non_resource_urls: Some(one(url)), verbs: one(verb), ..Default::default() });
        }
    }
    out
}

/// The rules `describe` lists: broken down, one-resource rules' verbs
/// gathered in the order met, sorted by `PolicyRule.String()`.
pub(in crate::engine::kubectl::verbs) fn compact_rules(rules: &[PolicyRule]) -> Vec<PolicyRule> {
    let mut compacted: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules.iter().flat_map(breakdown) {
        if rule.non_resource_urls.is_some() {
            compacted.push(rule);
            continue;
        }
        match simple.iter_mut().find(|s| s.api_groups == rule.api_groups && s.resources == rule.resources && s.resource_names == rule.resource_names) {
            Some(existing) => {
                for verb in rule.verbs {
                    if !existing.verbs.contains(&verb) {
                        existing.verbs.push(verb);
                    }
                }
            }
            None => simple.push(rule),
        }
    }
    compacted.extend(simple);
    let key = |r: &PolicyRule| {
        let list = |l: &Option<Vec<String>>| go_list(l.as_deref().unwrap_or_default());
        format!(
            "&PolicyRule{{Verbs:{},APIGroups:{},Resources:{},ResourceNames:{},NonResourceURLs:{},}}",
            go_list(&r.verbs),
            list(&r.api_groups),
            list(&r.resources),
            list(&r.resource_names),
            list(&r.non_resource_urls)
        )
    };
    let mut keyed: Vec<(String, PolicyRule)> = compacted.into_iter().map(|r| (key(&r), r)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// `CombineResourceGroup`: `deployments.apps/scale`.
pub(in crate::engine::kubectl::verbs) fn resource_group(rule: &PolicyRule) -> String {
    let Some(resource) = rule.resources.as_deref().and_then(|r| r.first()) else { return String::new() };
    let (base, sub) = match resource.split_once('/') {
        Some((base, sub)) => (base, Some(sub)),
        None => (resource.as_str(), None),
    };
    let mut out = base.to_string();
    if let Some(group) = rule.api_groups.as_deref().and_then(|g| g.first()).filter(|g| !g.is_empty()) {
        out.push('.');
        out.push_str(group);
    }
    if let Some(sub) = sub {
        out.push('/');
        out.push_str(sub);
    }
    out
}

fn name_labels_annotations(w: &mut Writer, meta: &ObjectMeta) {
    w.line(0, &format!("Name:\t{}", meta.name.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "Annotations", meta.annotations.as_ref());
}

pub(super) fn describe_role(w: &mut Writer, meta: &ObjectMeta, rules: Option<&[PolicyRule]>) {
    name_labels_annotations(w, meta);
    w.line(0, "PolicyRule:");
    w.line(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs");
    w.line(1, "---------\t-----------------\t--------------\t-----");
    for r in compact_rules(rules.unwrap_or_default()) {
        let list = |l: &Option<Vec<String>>| go_list(l.as_deref().unwrap_or_default());
        w.line(1, &format!("{}\t{}\t{}\t{}", resource_group(&r), list(&r.non_resource_urls), list(&r.resource_names), go_list(&r.verbs)));
    }
}

pub(super) fn describe_binding(w: &mut Writer, meta: &ObjectMeta, role: &RoleRef, subjects: Option<&[Subject]>) {
    name_labels_annotations(w, meta);
    w.line(0, "Role:");
    w.line(1, &format!("Kind:\t{}", role.kind));
    w.line(1, &format!("Name:\t{}", role.name));
    w.line(0, "Subjects:");
    w.line(1, "Kind\tName\tNamespace");
    w.line(1, "----\t----\t---------");
    for s in subjects.unwrap_or_default() {
        w.line(1, &format!("{}\t{}\t{}", s.kind, s.name, s.namespace.as_deref().unwrap_or("")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &str, groups: &str, resources: &str) -> PolicyRule {
        let l = |s: &str| s.split(',').map(|x| if x == "-" { String::new() } else { x.to_string() }).collect::<Vec<_>>();
        PolicyRule { verbs: l(verbs), api_groups: Some(l(groups)), resources: Some(l(resources)), ..Default::default() }
    }

    #[test]
    fn rules_break_down_gather_and_sort_as_kubectl_does() {
        let rules = [rule("get,list,watch", "-", "namespaces,namespaces/status"), rule("create", "apps", "deployments/scale"), rule("get", "-", "namespaces")];
        let rows: Vec<(String, String)> = compact_rules(&rules).iter().map(|r| (resource_group(r), go_list(&r.verbs))).collect();
        assert_eq!(
            rows,
            [
                ("deployments.apps/scale".to_string(), "[create]".to_string()),
                ("namespaces/status".to_string(), "[get list watch]".to_string()),
                ("namespaces".to_string(), "[get list watch]".to_string()),
            ]
        );
    }
}
