//! Who a request comes from, and what the RBAC authorizer makes of it:
//! the rule matching of `plugin/pkg/auth/authorizer/rbac` (1.33) over the
//! stored Roles, ClusterRoles and their bindings.
//!
//! Only the client's (kubectl's) requests are authorized: the components'
//! are not (each runs with a bootstrap role that allows what it does).

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};

/// `system:masters`: the group the API server allows everything
/// before any authorizer is asked.
pub const PRIVILEGED_GROUP: &str = "system:masters";
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// An authenticated user (`user.Info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
    pub uid: Option<String>,
}

impl User {
    pub fn new(name: &str, groups: &[&str]) -> Self {
        User { name: name.to_string(), groups: groups.iter().map(|g| g.to_string()).collect(), uid: None }
    }

    /// `system:serviceaccount:<namespace>:<name>` split, when it is one.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        split_service_account(&self.name)
    }
}

/// `serviceaccount.SplitUsername`: both parts non-empty, no further colon.
pub fn split_service_account(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    if namespace.is_empty() || name.is_empty() || name.contains(':') {
        return None;
    }
    Some((namespace, name))
}

/// What a request asks to do (`authorizer.Attributes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// A non-resource request's path (`/healthz`); `None` for a resource.
    pub path: Option<&'a str>,
}

impl Request<'_> {
    /// The API server's words for a refusal (`forbiddenMessage`).
    pub fn forbidden_message(&self, user: &str) -> String {
        if let Some(path) = self.path {
            return format!("User \"{user}\" cannot {} path \"{path}\"", self.verb);
        }
        let mut resource = self.resource.to_string();
        if !self.subresource.is_empty() {
            resource.push('/');
            resource.push_str(self.subresource);
        }
        if self.namespace.is_empty() {
            format!("User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" at the cluster scope", self.verb, self.group)
        } else {
            format!("User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" in the namespace \"{}\"", self.verb, self.group, self.namespace)
        }
    }
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.as_deref().unwrap_or_default().iter().any(|g| g == "*" || g == group)
}

/// `ResourceMatches`: `*`, the exact `resource/subresource`, or `*/subresource`.
fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.as_deref().unwrap_or_default().iter().any(|r| {
        r == "*" || r == combined || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => names.iter().any(|n| n == name),
    }
}

/// `NonResourceURLMatches`: `*`, exact, or a prefix ending in `*`.
fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.as_deref().unwrap_or_default().iter().any(|u| {
        u == "*" || u == path || u.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
    })
}

/// `RuleAllows`.
pub fn rule_allows(request: &Request, rule: &PolicyRule) -> bool {
    match request.path {
        Some(path) => verb_matches(rule, request.verb) && non_resource_url_matches(rule, path),
        None => {
            let combined;
            let combined = if request.subresource.is_empty() {
                request.resource
            } else {
                combined = format!("{}/{}", request.resource, request.subresource);
                &combined
            };
            verb_matches(rule, request.verb)
                && api_group_matches(rule, request.group)
                && resource_matches(rule, combined, request.subresource)
                && resource_name_matches(rule, request.name)
        }
    }
}

/// `appliesToUser`: a ServiceAccount subject without a namespace means
/// the binding's own.
pub fn subject_applies(user: &User, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.iter().any(|g| *g == subject.name),
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(binding_namespace);
            !namespace.is_empty() && user.service_account() == Some((namespace, subject.name.as_str()))
        }
        _ => false,
    }
}

/// One binding the authorizer walks: its namespace (`""` for a
/// ClusterRoleBinding), subjects and role.
pub struct Binding<'a> {
    pub namespace: &'a str,
    pub subjects: &'a [Subject],
    pub role_ref: &'a RoleRef,
}

/// Where bindings' roles are found: `Err` is the lister's NotFound text
/// (`clusterrole.rbac.authorization.k8s.io "x" not found`).
pub trait Roles {
    fn rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Result<Vec<PolicyRule>, String>;
}

/// The rules every binding that applies to `user` grants, in the order
/// the authorizer visits them (cluster bindings, then the namespace's),
/// and the errors met on the way (roles not found).
pub fn visit_rules(
    user: &User,
    bindings: &[Binding],
    roles: &dyn Roles,
    mut visit: impl FnMut(&PolicyRule) -> bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    for binding in bindings {
        if !binding.subjects.iter().any(|s| subject_applies(user, s, binding.namespace)) {
            continue;
        }
        match roles.rules(binding.role_ref, binding.namespace) {
            Ok(rules) => {
                for rule in &rules {
                    if !visit(rule) {
                        return errors;
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// The authorizer's answer: allowed, or not with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// `RBAC: <errors>` when roles could not be read; empty otherwise.
    pub reason: String,
}

/// `utilerrors.NewAggregate(...).Error()`: one message alone, several in
/// brackets, each text once.
pub fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The privileged group first, then RBAC over `bindings`.
pub fn authorize(user: &User, request: &Request, bindings: &[Binding], roles: &dyn Roles) -> Decision {
    if user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
        return Decision { allowed: true, reason: String::new() };
    }
    let mut allowed = false;
    let errors = visit_rules(user, bindings, roles, |rule| {
        allowed = rule_allows(request, rule);
        !allowed
    });
    let reason = if allowed || errors.is_empty() { String::new() } else { format!("RBAC: {}", aggregate(&errors)) };
    Decision { allowed, reason }
}

/// What `SelfSubjectRulesReview` answers: every rule that applies, and
/// whether some could not be read.
pub struct RulesReview {
    pub rules: Vec<PolicyRule>,
    pub evaluation_error: Option<String>,
}

/// The rules `user` has (`RulesFor`): the privileged group's "everything",
/// then RBAC's.
pub fn rules_for(user: &User, bindings: &[Binding], roles: &dyn Roles) -> RulesReview {
    let mut rules = Vec::new();
    if user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
        let all = || Some(vec!["*".to_string()]);
        rules.push(PolicyRule { verbs: vec!["*".into()], api_groups: all(), resources: all(), ..Default::default() });
        rules.push(PolicyRule { verbs: vec!["*".into()], non_resource_urls: all(), ..Default::default() });
    }
    let errors = visit_rules(user, bindings, roles, |rule| {
        rules.push(rule.clone());
        true
    });
    RulesReview { rules, evaluation_error: (!errors.is_empty()).then(|| aggregate(&errors)) }
}

/// `BreakdownRule`: `rule` as rules of one group, resource, verb (and
/// resource name) each, or one non-resource URL and verb each.
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| Some(vec![s.clone()]);
    let mut subrules = Vec::new();
    for group in rule.api_groups.iter().flatten() {
        for resource in rule.resources.iter().flatten() {
            for verb in &rule.verbs {
                let single = PolicyRule { api_groups: one(group), resources: one(resource), verbs: vec![verb.clone()], ..Default::default() };
                match rule.resource_names.as_deref() {
                    Some(names) if !names.is_empty() => {
                        subrules.extend(names.iter().map(|name| PolicyRule { resource_names: one(name), ..single.clone() }));
                    }
                    _ => subrules.push(single),
                }
            }
        }
    }
    for url in rule.non_resource_urls.iter().flatten() {
        for verb in &rule.verbs {
            subrules.push(PolicyRule { non_resource_urls: one(url), verbs: vec![verb.clone()], ..Default::default() });
        }
    }
    subrules
}

fn listed(list: &Option<Vec<String>>) -> &[String] {
    list.as_deref().unwrap_or_default()
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| set.contains(w))
}

/// `resourceCoversAll`: `*`, each resource itself, or `*/subresource`.
fn resources_cover(owned: &[String], wanted: &[String]) -> bool {
    if owned.iter().any(|r| r == "*") || has_all(owned, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        owned.contains(path)
            || path.split_once('/').is_some_and(|(_, subresource)| owned.iter().any(|r| r.strip_prefix("*/") == Some(subresource)))
    })
}

/// `nonResourceURLsCoversAll`: each URL exact or under a `prefix*`.
fn urls_cover(owned: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|path| owned.iter().any(|owner| owner == path || (owner.ends_with('*') && path.starts_with(owner.trim_end_matches('*')))))
}

/// `ruleCovers`: whether `owner` allows all a broken-down `sub` does.
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = owner.verbs.iter().any(|v| v == "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = listed(&owner.api_groups).iter().any(|g| g == "*") || has_all(listed(&owner.api_groups), listed(&sub.api_groups));
    let resources = resources_cover(listed(&owner.resources), listed(&sub.resources));
    let urls = urls_cover(listed(&owner.non_resource_urls), listed(&sub.non_resource_urls));
    let owner_names = listed(&owner.resource_names);
    let names = owner_names.is_empty() || (!listed(&sub.resource_names).is_empty() && has_all(owner_names, listed(&sub.resource_names)));
    verbs && groups && resources && names && urls
}

/// `Covers`: the broken-down parts of `wanted` that no rule of `owned`
/// covers (none when `owned` covers them all).
pub fn uncovered(owned: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<PolicyRule> {
    wanted.iter().flat_map(breakdown_rule).filter(|sub| !owned.iter().any(|owner| rule_covers(owner, sub))).collect()
}

/// The API server's `CompactRules`: rules of one group and one resource
/// and nothing else but verbs are merged, their verbs in order; the rest
/// are kept as they are.
pub fn compact_rules(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut compacted = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = listed(&rule.resource_names).is_empty()
            && listed(&rule.non_resource_urls).is_empty()
            && listed(&rule.api_groups).len() == 1
            && listed(&rule.resources).len() == 1;
        if !is_simple {
            compacted.push(rule);
            continue;
        }
        match simple.iter_mut().find(|s| s.api_groups == rule.api_groups && s.resources == rule.resources) {
            Some(existing) => existing.verbs.extend(rule.verbs),
            None => simple.push(PolicyRule { api_groups: rule.api_groups, resources: rule.resources, verbs: rule.verbs, ..Default::default() }),
        }
    }
    compacted.extend(simple);
    compacted
}

/// `CompactString`: the rule's non-empty lists, each as Go's `%q` of a
/// string slice (`{APIGroups:["apps"], Resources:["deployments"], Verbs:["create"]}`).
pub fn compact_string(rule: &PolicyRule) -> String {
    let quoted = |items: &[String]| format!("[{}]", items.iter().map(|s| crate::engine::apiserver::validation::quote(s)).collect::<Vec<_>>().join(" "));
    let parts: Vec<String> = [
        ("APIGroups", listed(&rule.api_groups)),
        ("Resources", listed(&rule.resources)),
        ("NonResourceURLs", listed(&rule.non_resource_urls)),
        ("ResourceNames", listed(&rule.resource_names)),
        ("Verbs", rule.verbs.as_slice()),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .map(|(name, items)| format!("{name}:{}", quoted(items)))
    .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests;
