//! The RBAC objects a fresh cluster has: the API server's bootstrap policy
//! (its `rbac/bootstrap-roles` post-start hook: `bootstrappolicy`'s cluster
//! roles, controller roles and namespaced roles, with their bindings),
//! kubeadm's own (the admin kubeconfig's group, upload-config and
//! bootstrap-token phases) and minikube's `minikube-rbac`.
//!
//! They ship in the page, so they are kept as a terse table
//! (`rbac_policy.txt`) read at boot rather than as manifests: one line per
//! object or rule, lists comma-separated. A section (`[apiserver]`,
//! `[kubeadm]`, `[minikube]`) is what one creator makes; the API server's
//! objects carry the bootstrap label and the auto-update annotation.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{AggregationRule, ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::engine::api::Object;
use crate::engine::apiserver::ApiServer;

const POLICY: &str = include_str!("rbac_policy.txt");

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const AGGREGATE_TO: &str = "rbac.authorization.k8s.io/aggregate-to-";
const CONTROLLER_PREFIX: &str = "system:controller:";

/// Who creates a section's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creator {
    /// The API server's post-start hook, before any other component runs.
    ApiServer,
    /// `kubeadm init`, once the API server answers.
    Kubeadm,
    /// minikube, after `kubeadm init`.
    Minikube,
}

impl Creator {
    fn section(self) -> &'static str {
        match self {
            Creator::ApiServer => "apiserver",
            Creator::Kubeadm => "kubeadm",
            Creator::Minikube => "minikube",
        }
    }

    /// Each creator's uids come from a stream of their own, drawn from the
    /// cluster's seed: creating these objects leaves the API server's other
    /// random draws (every later object's uid and generated name) as they were.
    fn uid_stream(self) -> u64 {
        match self {
            Creator::ApiServer => 0x7262_6163_0000_0001,
            Creator::Kubeadm => 0x7262_6163_0000_0002,
            Creator::Minikube => 0x7262_6163_0000_0003,
        }
    }
}

/// A line of the table that does not read.
#[derive(Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RBAC policy line {}: {}", self.line, self.message)
    }
}

/// Creates `creator`'s objects through the API server, in order; returns
/// what failed.
pub fn create(api: &mut ApiServer, creator: Creator) -> Vec<String> {
    let objects = match objects(POLICY, creator) {
        Ok(objects) => objects,
        Err(e) => return vec![e.to_string()],
    };
    api.with_own_draws(creator.uid_stream(), |api| {
        objects.into_iter().filter_map(|obj| api.create(obj).err().map(|e| e.message)).collect()
    })
}

/// The objects of `creator`'s section of `text`.
pub fn objects(text: &str, creator: Creator) -> Result<Vec<Object>, PolicyError> {
    let mut parser = Parser { creator, in_section: false, out: Vec::new(), rules: None, controllers: Vec::new() };
    for (i, line) in text.lines().enumerate() {
        parser.line(line).map_err(|message| PolicyError { line: i + 1, message })?;
    }
    parser.finish_rules();
    Ok(parser.out)
}

struct Parser {
    creator: Creator,
    in_section: bool,
    out: Vec<Object>,
    /// Where the rule lines go: the last role read (its place in `out`).
    rules: Option<usize>,
    /// The controller roles read, for `CTLB`.
    controllers: Vec<String>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            self.finish_rules();
            if !matches!(name, "apiserver" | "kubeadm" | "minikube") {
                return Err(format!("unknown section {name:?}"));
            }
            self.in_section = name == self.creator.section();
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let head = words.next().unwrap_or_default();
        let words: Vec<&str> = words.collect();
        match head {
            "-" | "~" | "ev" => {
                let rule = match head {
                    "-" => resource_rule(&words)?,
                    "~" => url_rule(&words)?,
                    _ if words.is_empty() => resource_rule(&["create,patch,update", "-,events.k8s.io", "events"])?,
                    _ => return Err("ev takes no words".into()),
                };
                if self.rules.is_none() {
                    return Err("a rule outside a role".into());
                }
                if self.in_section {
                    if let Some(rules) = self.rules.and_then(|i| self.out.get_mut(i)).and_then(rules_of) {
                        rules.push(rule);
                    }
                }
                return Ok(());
            }
            _ => self.finish_rules(),
        }
        let object = match (head, words.as_slice()) {
            ("CR", [name, flags @ ..]) => {
                let mut meta = self.meta(name, None);
                let mut selectors = Vec::new();
                for flag in flags {
                    if let Some(to) = flag.strip_prefix('+').and_then(aggregate_label) {
                        meta.labels.get_or_insert_with(BTreeMap::new).insert(to, "true".into());
                    } else if let Some(to) = flag.strip_prefix("agg:").and_then(aggregate_label) {
                        selectors.push(LabelSelector { match_labels: Some(BTreeMap::from([(to, "true".to_string())])), match_expressions: None });
                    } else {
                        return Err(format!("unknown ClusterRole flag {flag:?}"));
                    }
                }
                if name.starts_with(CONTROLLER_PREFIX) {
                    self.controllers.push(name.to_string());
                }
                let aggregation_rule = (!selectors.is_empty()).then(|| AggregationRule { cluster_role_selectors: Some(selectors) });
                Object::ClusterRole(Box::new(ClusterRole { metadata: meta, aggregation_rule, rules: None }))
            }
            ("R", [namespace, name]) => Object::Role(Box::new(Role { metadata: self.meta(name, Some(namespace)), rules: None })),
            ("CRB", [name, role, subjects @ ..]) => Object::ClusterRoleBinding(Box::new(ClusterRoleBinding {
                metadata: self.meta(name, None),
                role_ref: role_ref("ClusterRole", role),
                subjects: parse_subjects(subjects)?,
            })),
            ("RB", [namespace, name, role, subjects @ ..]) => Object::RoleBinding(Box::new(RoleBinding {
                metadata: self.meta(name, Some(namespace)),
                role_ref: role_ref("Role", role),
                subjects: parse_subjects(subjects)?,
            })),
            ("CTLB", []) => {
                if self.in_section {
                    for role in std::mem::take(&mut self.controllers) {
                        let account = format!("SA:kube-system/{}", &role[CONTROLLER_PREFIX.len()..]);
                        let binding = ClusterRoleBinding {
                            metadata: self.meta(&role, None),
                            role_ref: role_ref("ClusterRole", &role),
                            subjects: parse_subjects(&[account.as_str()])?,
                        };
                        self.out.push(Object::ClusterRoleBinding(Box::new(binding)));
                    }
                }
                return Ok(());
            }
            _ => return Err(format!("cannot read {line:?}")),
        };
        if self.in_section {
            self.out.push(object);
            if matches!(head, "CR" | "R") {
                self.rules = Some(self.out.len() - 1);
            }
        } else if matches!(head, "CR" | "R") {
            // Rules of another section's role are read (and checked) too.
            self.rules = Some(usize::MAX);
        }
        Ok(())
    }

    /// The rules read go with their role; a role with none keeps `rules` unset.
    fn finish_rules(&mut self) {
        self.rules = None;
    }

    fn meta(&self, name: &str, namespace: Option<&str>) -> ObjectMeta {
        let bootstrap = self.creator == Creator::ApiServer;
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespace.map(str::to_string),
            labels: bootstrap.then(|| BTreeMap::from([("kubernetes.io/bootstrapping".to_string(), "rbac-defaults".to_string())])),
            annotations: bootstrap.then(|| BTreeMap::from([("rbac.authorization.kubernetes.io/autoupdate".to_string(), "true".to_string())])),
            ..Default::default()
        }
    }
}

fn rules_of(obj: &mut Object) -> Option<&mut Vec<PolicyRule>> {
    match obj {
        Object::ClusterRole(r) => Some(r.rules.get_or_insert_with(Vec::new)),
        Object::Role(r) => Some(r.rules.get_or_insert_with(Vec::new)),
        _ => None,
    }
}

fn aggregate_label(to: &str) -> Option<String> {
    matches!(to, "admin" | "edit" | "view").then(|| format!("{AGGREGATE_TO}{to}"))
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(|s| if s == "-" { String::new() } else { s.to_string() }).collect()
}

fn verbs(text: &str) -> Vec<String> {
    let names = match text {
        "R" => "get,list,watch",
        "W" => "create,delete,deletecollection,patch,update",
        "RW" => "create,delete,deletecollection,get,list,patch,update,watch",
        other => other,
    };
    list(names)
}

fn resource_rule(words: &[&str]) -> Result<PolicyRule, String> {
    let (v, groups, resources, names) = match words {
        [v, g, r] => (v, g, r, None),
        [v, g, r, n] => (v, g, r, Some(list(n))),
        _ => return Err("a rule is: verbs groups resources [names]".into()),
    };
    Ok(PolicyRule { api_groups: Some(list(groups)), resources: Some(list(resources)), resource_names: names, non_resource_urls: None, verbs: verbs(v) })
}

fn url_rule(words: &[&str]) -> Result<PolicyRule, String> {
    let [v, urls] = words else { return Err("a URL rule is: verbs urls".into()) };
    Ok(PolicyRule { api_groups: None, resources: None, resource_names: None, non_resource_urls: Some(list(urls)), verbs: verbs(v) })
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: RBAC_GROUP.into(), kind: kind.into(), name: name.into() }
}

fn parse_subjects(words: &[&str]) -> Result<Option<Vec<Subject>>, String> {
    let subjects = words
        .iter()
        .map(|w| match w.split_once(':') {
            Some(("G", name)) if !name.is_empty() => Ok(Subject { api_group: Some(RBAC_GROUP.into()), kind: "Group".into(), name: name.into(), namespace: None }),
            Some(("U", name)) if !name.is_empty() => Ok(Subject { api_group: Some(RBAC_GROUP.into()), kind: "User".into(), name: name.into(), namespace: None }),
            Some(("SA", account)) => match account.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
                    Ok(Subject { api_group: None, kind: "ServiceAccount".into(), name: name.into(), namespace: Some(ns.into()) })
                }
                _ => Err(format!("a ServiceAccount subject is SA:namespace/name, not {w:?}")),
            },
            _ => Err(format!("unknown subject {w:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The API server's `system:node` binding has no subjects at all.
    Ok((!subjects.is_empty()).then_some(subjects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{bootstrap_objects, Profile, ProfileKind};

    fn names(objects: &[Object], kind: &str) -> Vec<String> {
        objects
            .iter()
            .filter(|o| crate::engine::api::resource(o.resource_id()).kind == kind)
            .map(|o| o.meta().name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_policy_reads_and_the_api_server_accepts_it() {
        let server = objects(POLICY, Creator::ApiServer).expect("reads");
        for kind in [ProfileKind::Default, ProfileKind::Minikube] {
            let profile = Profile::new(kind);
            let mut api = ApiServer::new(1, &profile.server);
            // The API server's own section is created with the other bootstrap objects.
            bootstrap_objects(&mut api);
            for obj in &server {
                let m = obj.meta();
                let name = m.name.as_deref().unwrap_or_default();
                assert!(api.get(obj.resource_id(), m.namespace.as_deref().unwrap_or_default(), name).is_ok(), "{name}");
            }
            for creator in [Creator::Kubeadm, Creator::Minikube] {
                let errors = create(&mut api, creator);
                assert!(errors.is_empty(), "{creator:?}: {errors:?}");
            }
        }
        let roles = names(&server, "ClusterRole");
        for name in ["cluster-admin", "admin", "edit", "view", "system:node", "system:controller:clusterrole-aggregation-controller"] {
            assert!(roles.contains(&name.to_string()), "{name}");
        }
        // Every controller role has its binding, and nothing but 1.33's controllers.
        let bindings = names(&server, "ClusterRoleBinding");
        for role in roles.iter().filter(|r| r.starts_with(CONTROLLER_PREFIX)) {
            assert!(bindings.contains(role), "{role}");
        }
        assert!(!roles.iter().any(|r| r.contains("resource-claim") || r.contains("volumeattributesclass")));
        assert_eq!(names(&server, "Role").len(), 7);
        assert_eq!(names(&objects(POLICY, Creator::Minikube).expect("reads"), "ClusterRoleBinding"), ["minikube-rbac"]);
    }

    #[test]
    fn labels_annotations_and_aggregation() {
        let server = objects(POLICY, Creator::ApiServer).expect("reads");
        let Some(Object::ClusterRole(edit)) = server.iter().find(|o| o.meta().name.as_deref() == Some("edit")) else { panic!("edit") };
        let labels = edit.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("kubernetes.io/bootstrapping").map(String::as_str), Some("rbac-defaults"));
        assert_eq!(labels.get("rbac.authorization.k8s.io/aggregate-to-admin").map(String::as_str), Some("true"));
        assert!(edit.rules.is_none());
        let selector = &edit.aggregation_rule.as_ref().and_then(|a| a.cluster_role_selectors.clone()).unwrap_or_default()[0];
        assert_eq!(selector.match_labels.as_ref().and_then(|m| m.get("rbac.authorization.k8s.io/aggregate-to-edit")).map(String::as_str), Some("true"));
        let kubeadm = objects(POLICY, Creator::Kubeadm).expect("reads");
        assert!(kubeadm.iter().all(|o| o.meta().labels.is_none() && o.meta().annotations.is_none()));
    }

    #[test]
    fn bad_tables_are_errors_not_panics() {
        for (text, line) in [
            ("[apiserver]\n- get - pods", 2),
            ("[apiserver]\nCR x\n- get - ", 3),
            ("[apiserver]\nCR x +everyone", 2),
            ("[apiserver]\nCRB x y Q:z", 2),
            ("[apiserver]\nCRB x y SA:nobody", 2),
            ("[apiserver]\nRB ns", 2),
            ("[cloud]", 1),
            ("[apiserver]\nCR x\n~ get", 3),
            ("[apiserver]\nCR x\nev now", 3),
            ("[apiserver]\nCTLB extra", 2),
            ("\u{0}", 1),
        ] {
            let err = objects(text, Creator::ApiServer).expect_err(text);
            assert_eq!(err.line, line, "{text}: {err}");
        }
        // Another section's mistakes are found too.
        assert!(objects("[kubeadm]\nCRB x y Q:z", Creator::ApiServer).is_err());
    }

    #[test]
    fn uids_come_from_their_own_stream() {
        let profile = Profile::new(ProfileKind::Default);
        let mut with = ApiServer::new(9, &profile.server);
        let mut without = ApiServer::new(9, &profile.server);
        bootstrap_objects(&mut with);
        bootstrap_objects(&mut without);
        // Made again (each refused as existing, after its uid was drawn) and kubeadm's.
        assert_eq!(create(&mut with, Creator::ApiServer).len(), objects(POLICY, Creator::ApiServer).expect("reads").len());
        assert!(create(&mut with, Creator::Kubeadm).is_empty());
        let uid = |api: &mut ApiServer| {
            let ns = k8s_openapi::api::core::v1::Namespace { metadata: ObjectMeta { name: Some("a".into()), ..Default::default() }, ..Default::default() };
            api.create(Object::Namespace(Box::new(ns))).expect("ns").meta().uid.clone()
        };
        assert_eq!(uid(&mut with), uid(&mut without));
    }
}
