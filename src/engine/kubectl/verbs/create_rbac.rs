//! `kubectl create role|clusterrole|rolebinding|clusterrolebinding`, as
//! kubectl 1.33's create_role.go, create_clusterrole.go,
//! create_rolebinding.go and create_clusterrolebinding.go check their flags
//! and build the object.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{AggregationRule, ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::create::{generator_complete, one_name, submit_generated};
use crate::engine::api::{ApiError, Object};
use crate::engine::apiserver::validation::quote;
use crate::engine::kubectl::discovery::resource_for;
use crate::engine::kubectl::{Error, Result, Session};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The verbs kubectl knows for resources; another only gets a warning.
const RESOURCE_VERBS: &[&str] =
    &["*", "get", "delete", "list", "create", "update", "patch", "watch", "proxy", "deletecollection", "use", "bind", "escalate", "impersonate"];

/// The verbs a non-resource URL can take; another is an error.
const NON_RESOURCE_VERBS: &[&str] = &["*", "get", "post", "put", "delete", "patch", "head", "options"];

/// kubectl's `specialVerbs`: verbs that only apply to these (group, resource)s.
fn special_verb_resources(verb: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match verb {
        "use" => Some(&[("policy", "podsecuritypolicies"), ("extensions", "podsecuritypolicies")]),
        "bind" | "escalate" => Some(&[(RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles")]),
        "impersonate" => Some(&[("", "users"), ("", "serviceaccounts"), ("", "groups"), ("authentication.k8s.io", "userextras")]),
        _ => None,
    }
}

fn message(text: &str) -> Error {
    Error::Message(format!("error: {text}"))
}

/// One `--resource` value, `resource.group/subresource`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ResourceArg {
    group: String,
    resource: String,
    subresource: String,
}

/// What `create role` and `create clusterrole` share, after `Complete`.
struct RuleOptions {
    name: String,
    verbs: Vec<String>,
    resources: Vec<ResourceArg>,
    resource_names: Vec<String>,
    /// Discovery answers (the API server is up): kubectl reads it to map
    /// resources, and without it maps none.
    discovery_served: bool,
    /// Said before anything is printed: unknown verbs, ambiguous short names.
    warnings: Vec<String>,
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_string());
    }
}

/// `CreateRoleOptions.Complete`: verbs deduplicated (`*` stands for them
/// all), `--resource` split into resource, group and subresource (a bare
/// `*` stands for every resource), resource names deduplicated, then the
/// generator's `--dry-run`, `-o` and `--validate`.
fn complete_rule_options(s: &Session, verbs: Vec<String>, resources: Vec<String>) -> std::result::Result<RuleOptions, Error> {
    let name = one_name(s)?;
    let mut unique_verbs = Vec::new();
    for verb in &verbs {
        if verb == "*" {
            unique_verbs = vec!["*".to_string()];
            break;
        }
        push_unique(&mut unique_verbs, verb);
    }
    let mut parsed = Vec::new();
    for arg in &resources {
        let (resource_group, subresource) = arg.split_once('/').unwrap_or((arg, ""));
        let (resource, group) = resource_group.split_once('.').unwrap_or((resource_group, ""));
        let all = resource == "*" && !resource_group.contains('.') && !arg.contains('/');
        let parsed_arg = ResourceArg { group: group.to_string(), resource: resource.to_string(), subresource: subresource.to_string() };
        if all {
            parsed = vec![parsed_arg];
            break;
        }
        parsed.push(parsed_arg);
    }
    let mut resource_names = Vec::new();
    for n in s.args.values("resource-name") {
        push_unique(&mut resource_names, n);
    }
    generator_complete(s)?;
    let discovery_served = s.cluster.sim.api.serving().is_ok();
    Ok(RuleOptions { name, verbs: unique_verbs, resources: parsed, resource_names, discovery_served, warnings: Vec::new() })
}

impl RuleOptions {
    fn warn_nonstandard_verbs(&mut self) {
        for verb in &self.verbs {
            if !RESOURCE_VERBS.contains(&verb.as_str()) {
                self.warnings.push(format!("'{verb}' is not a standard resource verb"));
            }
        }
    }

    /// `validateResource`: each resource must be named and known to
    /// discovery (up to a `*`, which ends the check), and a special verb
    /// must be one its resources allow (which also lets an unknown one
    /// through, e.g. `impersonate` on `users`). Discovery that does not
    /// answer is kubectl's connection error.
    fn validate_resources(&mut self) -> std::result::Result<(), Error> {
        for r in &self.resources {
            if r.resource.is_empty() {
                return Err(message("resource must be specified if apiGroup/subresource specified"));
            }
            if r.resource == "*" {
                return Ok(());
            }
            if !self.discovery_served {
                return Err(Error::Api(ApiError::connection_refused()));
            }
            let mapped = resource_for(&r.group, &r.resource, &mut self.warnings);
            let (group, resource) = mapped.clone().unwrap_or_else(|_| (r.group.clone(), r.resource.clone()));
            let mut unknown = mapped.err();
            for verb in &self.verbs {
                let Some(allowed) = special_verb_resources(verb) else { continue };
                if !allowed.iter().any(|(g, res)| *g == group && *res == resource) {
                    return Err(message(&format!("can not perform '{verb}' on '{resource}' in group '{group}'")));
                }
                unknown = None;
            }
            if let Some(e) = unknown {
                return Err(Error::Message(e.message()));
            }
        }
        Ok(())
    }

    /// `generateResourcePolicyRules`: one rule per API group, groups in
    /// sorted order, each resource mapped through discovery where it can be
    /// (kept as given where not, or when discovery does not answer), then
    /// one rule for the non-resource URLs.
    fn policy_rules(&mut self, non_resource_urls: &[String]) -> Vec<PolicyRule> {
        let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &self.resources {
            let mapped = if self.discovery_served { resource_for(&r.group, &r.resource, &mut self.warnings).ok() } else { None };
            let (group, mut resource) = mapped.unwrap_or_else(|| (r.group.clone(), r.resource.clone()));
            if !r.subresource.is_empty() {
                resource = format!("{resource}/{}", r.subresource);
            }
            push_unique(by_group.entry(group).or_default(), &resource);
        }
        let resource_names = (!self.resource_names.is_empty()).then(|| self.resource_names.clone());
        let mut rules: Vec<PolicyRule> = by_group
            .into_iter()
            .map(|(group, resources)| PolicyRule {
                verbs: self.verbs.clone(),
                api_groups: Some(vec![group]),
                resources: Some(resources),
                resource_names: resource_names.clone(),
                non_resource_urls: None,
            })
            .collect();
        if !non_resource_urls.is_empty() {
            rules.push(PolicyRule { verbs: self.verbs.clone(), non_resource_urls: Some(non_resource_urls.to_vec()), ..Default::default() });
        }
        rules
    }
}

/// Says the warnings (to stderr, before anything else), then runs `print`,
/// keeping the terminal's view in that order.
fn with_warnings(s: &mut Session, warnings: &[String], print: impl FnOnce(&mut Session) -> Result) -> Result {
    for w in warnings {
        s.say(true, &format!("Warning: {w}\n"));
    }
    let printed_from = s.out.len();
    let result = print(s);
    if let Some(terminal) = s.interleaved.as_mut() {
        terminal.push_str(s.out.get(printed_from..).unwrap_or(""));
    }
    result
}

fn string_slice(s: &Session, flag: &str) -> std::result::Result<Vec<String>, Error> {
    s.args.string_slice(flag).map_err(Error::Usage)
}

/// `kubectl create role NAME --verb=… --resource=… [--resource-name=…]`.
pub fn role(s: &mut Session) -> Result {
    let verbs = string_slice(s, "verb")?;
    let resources = string_slice(s, "resource")?;
    let mut o = complete_rule_options(s, verbs, resources)?;
    let checked = validate_role(&mut o);
    let warnings = std::mem::take(&mut o.warnings);
    with_warnings(s, &warnings, |_| checked)?;
    let rules = o.policy_rules(&[]);
    let role = Role { metadata: ObjectMeta { name: Some(o.name), ..Default::default() }, rules: Some(rules) };
    with_warnings(s, &o.warnings, |s| submit_generated(s, Object::Role(Box::new(role)), None, "created"))
}

/// `CreateRoleOptions.Validate`.
fn validate_role(o: &mut RuleOptions) -> std::result::Result<(), Error> {
    if o.name.is_empty() {
        return Err(message("name must be specified"));
    }
    if o.verbs.is_empty() {
        return Err(message("at least one verb must be specified"));
    }
    o.warn_nonstandard_verbs();
    if o.resources.is_empty() {
        return Err(message("at least one resource must be specified"));
    }
    o.validate_resources()
}

/// `--aggregation-rule` as cliflag's `MapStringString` reads it: `k=v`
/// pairs split on `,`, key and value trimmed, empty pairs skipped.
fn aggregation_labels(s: &Session) -> std::result::Result<BTreeMap<String, String>, Error> {
    let mut labels = BTreeMap::new();
    for value in s.args.values("aggregation-rule") {
        for pair in value.split(',').filter(|p| !p.is_empty()) {
            let Some((key, val)) = pair.split_once('=') else {
                return Err(Error::Usage(format!("invalid argument {} for \"--aggregation-rule\" flag: malformed pair, expect string=string", quote(value))));
            };
            labels.insert(key.trim().to_string(), val.trim().to_string());
        }
    }
    Ok(labels)
}

/// `kubectl create clusterrole NAME --verb=… (--resource=… | --non-resource-url=…)`
/// or `--aggregation-rule=k=v,…` alone.
pub fn cluster_role(s: &mut Session) -> Result {
    let verbs = string_slice(s, "verb")?;
    let mut non_resource_urls = Vec::new();
    for url in string_slice(s, "non-resource-url")? {
        push_unique(&mut non_resource_urls, &url);
    }
    let resources = string_slice(s, "resource")?;
    let aggregation = aggregation_labels(s)?;
    let mut o = complete_rule_options(s, verbs, resources)?;
    let checked = validate_cluster_role(&mut o, &non_resource_urls, &aggregation);
    let warnings = std::mem::take(&mut o.warnings);
    with_warnings(s, &warnings, |_| checked)?;
    let mut cluster_role = ClusterRole { metadata: ObjectMeta { name: Some(o.name.clone()), ..Default::default() }, ..Default::default() };
    if aggregation.is_empty() {
        cluster_role.rules = Some(o.policy_rules(&non_resource_urls));
    } else {
        cluster_role.aggregation_rule = Some(AggregationRule {
            cluster_role_selectors: Some(vec![LabelSelector { match_labels: Some(aggregation), match_expressions: None }]),
        });
    }
    with_warnings(s, &o.warnings, |s| submit_generated(s, Object::ClusterRole(Box::new(cluster_role)), None, "created"))
}

/// `CreateClusterRoleOptions.Validate`: an aggregation rule stands alone;
/// otherwise verbs and resources or non-resource URLs (`/…`, a `*` only
/// at the end), whose verbs must be HTTP ones.
fn validate_cluster_role(o: &mut RuleOptions, non_resource_urls: &[String], aggregation: &BTreeMap<String, String>) -> std::result::Result<(), Error> {
    if o.name.is_empty() {
        return Err(message("name must be specified"));
    }
    if !aggregation.is_empty() {
        if !non_resource_urls.is_empty() || !o.verbs.is_empty() || !o.resources.is_empty() || !o.resource_names.is_empty() {
            return Err(message("aggregation rule must be specified without nonResourceURLs, verbs, resources or resourceNames"));
        }
        return Ok(());
    }
    if o.verbs.is_empty() {
        return Err(message("at least one verb must be specified"));
    }
    if o.resources.is_empty() && non_resource_urls.is_empty() {
        return Err(message("one of resource or nonResourceURL must be specified"));
    }
    if !o.resources.is_empty() {
        o.warn_nonstandard_verbs();
        o.validate_resources()?;
    }
    if !non_resource_urls.is_empty() {
        if let Some(verb) = o.verbs.iter().find(|v| !NON_RESOURCE_VERBS.contains(&v.as_str())) {
            return Err(message(&format!("invalid verb: '{verb}' for nonResourceURL")));
        }
        for url in non_resource_urls.iter().filter(|u| *u != "*") {
            if !url.starts_with('/') {
                return Err(message("nonResourceURL should start with /"));
            }
            let mut all_but_last = url.chars();
            all_but_last.next_back();
            if all_but_last.as_str().contains('*') {
                return Err(message("nonResourceURL only supports wildcard matches when '*' is at the end"));
            }
        }
    }
    Ok(())
}

/// `--user`, `--group` and `--serviceaccount=namespace:name`, in that order.
fn subjects(s: &Session) -> std::result::Result<Option<Vec<Subject>>, Error> {
    let named = |kind: &str, name: &str| Subject { kind: kind.to_string(), api_group: Some(RBAC_GROUP.to_string()), name: name.to_string(), namespace: None };
    let mut subjects: Vec<Subject> = s.args.values("user").iter().map(|u| named("User", u)).collect();
    subjects.extend(s.args.values("group").iter().map(|g| named("Group", g)));
    for sa in s.args.values("serviceaccount") {
        let parts: Vec<&str> = sa.split(':').collect();
        let [namespace, name] = parts.as_slice() else {
            return Err(message("serviceaccount must be <namespace>:<name>"));
        };
        if namespace.is_empty() || name.is_empty() {
            return Err(message("serviceaccount must be <namespace>:<name>"));
        }
        subjects.push(Subject { kind: "ServiceAccount".to_string(), api_group: None, name: name.to_string(), namespace: Some(namespace.to_string()) });
    }
    Ok((!subjects.is_empty()).then_some(subjects))
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: RBAC_GROUP.to_string(), kind: kind.to_string(), name: name.to_string() }
}

/// `kubectl create rolebinding NAME (--role=R | --clusterrole=CR) [--user] [--group] [--serviceaccount]`.
pub fn role_binding(s: &mut Session) -> Result {
    let name = one_name(s)?;
    generator_complete(s)?;
    if name.is_empty() {
        return Err(message("name must be specified"));
    }
    let role = s.args.value("role").unwrap_or("");
    let cluster_role = s.args.value("clusterrole").unwrap_or("");
    if role.is_empty() == cluster_role.is_empty() {
        return Err(message("exactly one of clusterrole or role must be specified"));
    }
    let role_ref = if role.is_empty() { role_ref("ClusterRole", cluster_role) } else { role_ref("Role", role) };
    let binding = RoleBinding { metadata: ObjectMeta { name: Some(name), ..Default::default() }, role_ref, subjects: subjects(s)? };
    submit_generated(s, Object::RoleBinding(Box::new(binding)), Some("failed to create rolebinding: "), "created")
}

/// `kubectl create clusterrolebinding NAME --clusterrole=CR [--user] [--group] [--serviceaccount]`.
pub fn cluster_role_binding(s: &mut Session) -> Result {
    // cobra checks a required flag before the command runs.
    let Some(cluster_role) = s.args.value("clusterrole").map(str::to_string) else {
        return Err(message("required flag(s) \"clusterrole\" not set"));
    };
    let name = one_name(s)?;
    generator_complete(s)?;
    let binding = ClusterRoleBinding {
        // No name check here: an empty one is left out, for the API server to refuse.
        metadata: ObjectMeta { name: (!name.is_empty()).then_some(name), ..Default::default() },
        role_ref: role_ref("ClusterRole", &cluster_role),
        subjects: subjects(s)?,
    };
    submit_generated(s, Object::ClusterRoleBinding(Box::new(binding)), Some("failed to create clusterrolebinding: "), "created")
}

#[cfg(test)]
mod tests;
