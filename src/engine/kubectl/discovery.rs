//! What the API server's discovery lists (`kubectl api-resources`), and
//! kubectl's REST mapping of a partial resource (`deploy`, `deployments.apps`,
//! `Pods`) onto it, as `create role` resolves its `--resource` values.

use crate::engine::api::RESOURCES;
use crate::engine::apiserver::validation::quote;
use crate::engine::sort::SortStable;

/// One resource in discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discovered {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    pub kind: &'static str,
    /// The verbs its storage serves, sorted as discovery lists them.
    pub verbs: &'static [&'static str],
    pub categories: &'static [&'static str],
}

/// What a generic registry store serves: every verb.
const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// The verbs a resource's storage serves: most are a generic registry
/// store; a namespace's has no collection delete, component statuses are
/// read-only and the bindings and reviews are create-only.
fn verbs_of(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "namespaces") => &["create", "delete", "get", "list", "patch", "update", "watch"],
        ("", "componentstatuses") => &["get", "list"],
        ("", "bindings") | ("authentication.k8s.io", _) | ("authorization.k8s.io", _) => &["create"],
        _ => ALL_VERBS,
    }
}

/// The categories a resource's storage names: `all` for the workloads and
/// their Services (`kubectl get all`), `api-extensions` for the kinds that
/// extend the API.
fn categories_of(group: &str, in_all: bool) -> &'static [&'static str] {
    if in_all {
        &["all"]
    } else if matches!(group, "admissionregistration.k8s.io" | "apiextensions.k8s.io" | "apiregistration.k8s.io") {
        &["api-extensions"]
    } else {
        &[]
    }
}

/// What a 1.33 API server's discovery lists: the stored resources plus the
/// create-only review and binding resources, the core group first.
pub fn discovered() -> Vec<Discovered> {
    let mut list: Vec<Discovered> = RESOURCES
        .iter()
        .map(|r| Discovered {
            group: r.group,
            version: r.version,
            plural: r.plural,
            short_names: r.short_names,
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: verbs_of(r.group, r.plural),
            categories: categories_of(r.group, r.in_all),
        })
        .collect();
    let extra: &[(&'static str, &'static str, &'static str, bool, &'static str)] = &[
        ("", "v1", "bindings", true, "Binding"),
        ("authentication.k8s.io", "v1", "selfsubjectreviews", false, "SelfSubjectReview"),
        ("authentication.k8s.io", "v1", "tokenreviews", false, "TokenReview"),
        ("authorization.k8s.io", "v1", "localsubjectaccessreviews", true, "LocalSubjectAccessReview"),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", false, "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "v1", "selfsubjectrulesreviews", false, "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "v1", "subjectaccessreviews", false, "SubjectAccessReview"),
    ];
    for &(group, version, plural, namespaced, kind) in extra {
        list.push(Discovered { group, version, plural, short_names: &[], namespaced, kind, verbs: verbs_of(group, plural), categories: &[] });
    }
    // The custom resources the established definitions serve.
    for served in &crate::engine::api::custom::served().resources {
        let r = crate::engine::api::resource(served.id);
        let categories = crate::engine::api::custom::static_list(&served.categories);
        list.push(Discovered { group: r.group, version: r.version, plural: r.plural, short_names: r.short_names, namespaced: r.namespaced, kind: r.kind, verbs: ALL_VERBS, categories });
    }
    // Discovery lists groups ("" first) and, within one, resources by name;
    // kubectl then sorts stably by group.
    list.sort_stable_by(|a, b| a.group.cmp(b.group).then(a.plural.cmp(b.plural)));
    list
}

/// A resource the REST mapper found nothing for (`NoResourceMatchError`),
/// named as it was asked for after short-name expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoMatch {
    pub group: String,
    pub resource: String,
}

impl NoMatch {
    /// As kubectl's `CheckErr` words it: no `error:` prefix.
    pub fn message(&self) -> String {
        if self.group.is_empty() {
            format!("the server doesn't have a resource type {}", quote(&self.resource))
        } else {
            format!("the server doesn't have a resource type {} in group {}", quote(&self.resource), quote(&self.group))
        }
    }
}

/// kubectl's `mapper.ResourceFor(group, resource)`: the `(group, plural)` a
/// partial resource names. As kubectl builds its mapper, a short name is
/// expanded first (`shortcutExpander`, which warns when another group has
/// the same short name), then the lower-cased name is matched against each
/// resource's plural and singular (and the `<kind>list` names the discovery
/// mapper guesses for list kinds), in the group given or, failing an exact
/// one, a group it prefixes (`deploy.app`); the core group wins a tie.
pub fn resource_for(group: &str, resource: &str, warnings: &mut Vec<String>) -> Result<(String, String), NoMatch> {
    let resources = discovered();
    let (group, resource) = expand_short_name(&resources, group, resource, warnings);
    let lower = resource.to_lowercase();
    // The discovery mapper's plural → singular pairs of every group.
    let mappings: Vec<(&str, String, String)> = resources
        .iter()
        .flat_map(|r| {
            let kind = r.kind.to_lowercase();
            [(r.group, r.plural.to_string(), kind.clone()), (r.group, format!("{kind}lists"), format!("{kind}list"))]
        })
        .collect();
    let names = |(_, plural, singular): &&(&str, String, String)| !lower.is_empty() && (*plural == lower || *singular == lower);
    let found = if group.is_empty() {
        mappings.iter().find(names)
    } else {
        mappings.iter().filter(names).find(|(g, _, _)| *g == group).or_else(|| mappings.iter().filter(names).find(|(g, _, _)| g.starts_with(&group)))
    };
    match found {
        Some((g, plural, _)) => Ok((g.to_string(), plural.clone())),
        None => Err(NoMatch { group, resource }),
    }
}

/// `shortcutExpander.expandResourceShortcut`: a full plural or singular name
/// stays as it is; a short name becomes its resource, the first group's
/// (a warning names each other group's); with a group given and no exact
/// match, a short name in a group it prefixes.
fn expand_short_name(resources: &[Discovered], group: &str, resource: &str, warnings: &mut Vec<String>) -> (String, String) {
    let in_group = |r: &&Discovered| group.is_empty() || r.group == group;
    if resources.iter().filter(in_group).any(|r| r.plural == resource || r.kind.to_lowercase() == resource) {
        return (group.to_string(), resource.to_string());
    }
    let mut found: Option<&Discovered> = None;
    let mut warned: Vec<(&str, &str)> = Vec::new();
    for r in resources.iter().filter(in_group).filter(|r| r.short_names.contains(&resource)) {
        match found {
            None => found = Some(r),
            Some(first) if (first.group, first.plural) == (r.group, r.plural) => {}
            Some(_) => {
                if !warned.contains(&(r.group, r.plural)) {
                    let other = if r.group.is_empty() { r.plural.to_string() } else { format!("{}.{}", r.plural, r.group) };
                    warnings.push(format!("short name {} could also match lower priority resource {other}", quote(resource)));
                    warned.push((r.group, r.plural));
                }
            }
        }
    }
    if let Some(r) = found {
        return (r.group.to_string(), r.plural.to_string());
    }
    if !group.is_empty() {
        if let Some(r) = resources.iter().find(|r| r.group.starts_with(group) && r.short_names.contains(&resource)) {
            return (r.group.to_string(), r.plural.to_string());
        }
    }
    (group.to_string(), resource.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(group: &str, resource: &str) -> (Result<(String, String), NoMatch>, Vec<String>) {
        let mut warnings = Vec::new();
        (resource_for(group, resource, &mut warnings), warnings)
    }

    fn ok(group: &str, plural: &str) -> Result<(String, String), NoMatch> {
        Ok((group.to_string(), plural.to_string()))
    }

    #[test]
    fn maps_names_as_kubectls_rest_mapper() {
        assert_eq!(map("", "pods").0, ok("", "pods"));
        assert_eq!(map("", "Pods").0, ok("", "pods"));
        assert_eq!(map("", "po").0, ok("", "pods"));
        assert_eq!(map("", "deploy").0, ok("apps", "deployments"));
        assert_eq!(map("", "Deployment").0, ok("apps", "deployments"));
        assert_eq!(map("apps", "deployments").0, ok("apps", "deployments"));
        assert_eq!(map("app", "deploy").0, ok("apps", "deployments"));
        assert_eq!(map("storage", "sc").0, ok("storage.k8s.io", "storageclasses"));
        assert_eq!(map("", "deploymentlist").0, ok("apps", "deploymentlists"));
        assert_eq!(map("", "tokenreviews").0, ok("authentication.k8s.io", "tokenreviews"));
        assert_eq!(map("events.k8s.io", "ev").0, ok("events.k8s.io", "events"));
        // The shortcut expander compares short names as typed.
        assert_eq!(map("", "DEPLOY").0, Err(NoMatch { group: String::new(), resource: "DEPLOY".into() }));
        assert_eq!(map("extensions", "rs").0, Err(NoMatch { group: "extensions".into(), resource: "rs".into() }));
        assert!(map("", "").0.is_err());
    }

    #[test]
    fn warns_of_a_short_name_two_groups_share() {
        let (found, warnings) = map("", "ev");
        assert_eq!(found, ok("", "events"));
        assert_eq!(warnings, ["short name \"ev\" could also match lower priority resource events.events.k8s.io"]);
        assert!(map("", "events").1.is_empty());
    }

    #[test]
    fn words_a_missing_resource_as_kubectl() {
        assert_eq!(NoMatch { group: String::new(), resource: "foo".into() }.message(), "the server doesn't have a resource type \"foo\"");
        assert_eq!(NoMatch { group: "apps".into(), resource: "foo".into() }.message(), "the server doesn't have a resource type \"foo\" in group \"apps\"");
    }
}
