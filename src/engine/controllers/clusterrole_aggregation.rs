//! The ClusterRole aggregation controller
//! (pkg/controller/clusterroleaggregation): a ClusterRole with an
//! `aggregationRule` (the bootstrap `admin`, `edit` and `view`, or a user's)
//! gets as its rules those of every ClusterRole its selectors match. For each
//! selector in turn, the matching roles in name order (itself left out), each
//! rule added unless an equal one is already there. Any change to any
//! ClusterRole queues every aggregated one, so a new role labelled
//! `rbac.authorization.k8s.io/aggregate-to-view: "true"` reaches `view`, and
//! through `view`'s own label `edit`, and then `admin`. It writes only when
//! the rules differ, and writes the rules alone.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, ResourceId};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{Cache, Changes, Reconciler, WorkLoop};

#[derive(Default)]
pub struct ClusterRoleAggregationController {
    work: WorkLoop,
}

impl ClusterRoleAggregationController {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The rules `name`'s selectors gather, or `None` when it aggregates nothing.
pub fn aggregated_rules(cache: &Cache, name: &str) -> Result<Option<Vec<PolicyRule>>, ApiError> {
    let roles = cache.of(ids::cluster_roles());
    let Some(Object::ClusterRole(role)) = roles.get_by_parts("", name).map(|o| &**o) else { return Ok(None) };
    let Some(rule) = &role.aggregation_rule else { return Ok(None) };
    let mut rules: Vec<PolicyRule> = Vec::new();
    for selector in rule.cluster_role_selectors.iter().flatten() {
        let selector = Selector::from_api(selector);
        if selector.selects_nothing {
            // `LabelSelectorAsSelector` fails: the sync does, and is retried.
            return Err(ApiError::bad_request(format!("clusterrole {name:?}: invalid aggregation selector")));
        }
        // The cache reads in key order, which for cluster-scoped objects is name order.
        for other in roles.items() {
            let Object::ClusterRole(other) = &**other else { continue };
            if other.metadata.name.as_deref() == Some(name) || !selector.matches(other.metadata.labels.as_ref()) {
                continue;
            }
            for r in other.rules.iter().flatten() {
                if !rules.iter().any(|have| same_rule(have, r)) {
                    rules.push(r.clone());
                }
            }
        }
    }
    Ok(Some(rules))
}

/// `equality.Semantic.DeepEqual`: an empty list and a missing one are equal.
fn same_rule(a: &PolicyRule, b: &PolicyRule) -> bool {
    fn list(l: &Option<Vec<String>>) -> &[String] {
        l.as_deref().unwrap_or_default()
    }
    a.verbs == b.verbs
        && list(&a.api_groups) == list(&b.api_groups)
        && list(&a.resources) == list(&b.resources)
        && list(&a.resource_names) == list(&b.resource_names)
        && list(&a.non_resource_urls) == list(&b.non_resource_urls)
}

fn same_rules(a: &[PolicyRule], b: &[PolicyRule]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_rule(x, y))
}

impl Reconciler for ClusterRoleAggregationController {
    fn name(&self) -> &str {
        "clusterrole-aggregation-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::cluster_roles()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::cluster_roles()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        // Unusual, as upstream says: any change to any ClusterRole queues
        // every aggregated one.
        if changes.of(ids::cluster_roles()).is_empty() {
            return;
        }
        for o in cache.of(ids::cluster_roles()).items() {
            if matches!(&**o, Object::ClusterRole(r) if r.aggregation_rule.is_some()) {
                self.work.queue.add(ObjectKey::of(o));
            }
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(rules) = aggregated_rules(cache, &key.name)? else { return Ok(None) };
        let Some(Object::ClusterRole(role)) = cache.of(ids::cluster_roles()).get(key).map(|o| &**o) else { return Ok(None) };
        if same_rules(&rules, role.rules.as_deref().unwrap_or_default()) {
            return Ok(None);
        }
        // An apply of the rules alone (field manager
        // clusterrole-aggregation-controller, forced): nothing else changes.
        ctx.api.modify(ids::cluster_roles(), "", &key.name, false, |obj| {
            let Object::ClusterRole(r) = obj else { return false };
            if same_rules(&rules, r.rules.as_deref().unwrap_or_default()) {
                return false;
            }
            r.rules = (!rules.is_empty()).then(|| rules.clone());
            true
        })?;
        Ok(None)
    }
    fn forget(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::DeleteOptions;
    use crate::engine::bootstrap::rbac::{self, Creator};
    use crate::engine::controllers::{testkit, ControllerManager};
    use k8s_openapi::api::rbac::v1::ClusterRole;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    fn sim() -> crate::engine::sim::Sim {
        let mut sim = testkit::sim_with(ControllerManager::new(vec![Box::new(ClusterRoleAggregationController::new())]));
        for ns in ["kube-public"] {
            let ns = k8s_openapi::api::core::v1::Namespace { metadata: ObjectMeta { name: Some(ns.into()), ..Default::default() }, ..Default::default() };
            sim.api.create(Object::Namespace(Box::new(ns))).expect("namespace");
        }
        assert!(rbac::create(&mut sim.api, Creator::ApiServer).is_empty());
        sim.settle();
        sim
    }

    fn rules(sim: &crate::engine::sim::Sim, name: &str) -> Vec<PolicyRule> {
        match &*sim.api.get(ids::cluster_roles(), "", name).expect("role") {
            Object::ClusterRole(r) => r.rules.clone().unwrap_or_default(),
            _ => unreachable!(),
        }
    }

    fn rule(verbs: &[&str], resources: &[&str]) -> PolicyRule {
        let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule { api_groups: Some(vec!["example.com".into()]), resources: Some(strings(resources)), verbs: strings(verbs), ..Default::default() }
    }

    #[test]
    fn bootstrap_admin_edit_and_view_get_their_rules() {
        let sim = sim();
        let view = rules(&sim, "view");
        let edit = rules(&sim, "edit");
        let admin = rules(&sim, "admin");
        assert_eq!(view, rules(&sim, "system:aggregate-to-view"));
        // edit: its own aggregate-to-edit role first (by name, `system:…` before `view`), then view's.
        let gathered = |names: [&str; 2]| {
            let mut out: Vec<PolicyRule> = Vec::new();
            for r in names.iter().flat_map(|n| rules(&sim, n)) {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
            out
        };
        assert_eq!(edit, gathered(["system:aggregate-to-edit", "view"]));
        // admin: edit's rules first (edit comes before system:aggregate-to-admin by name).
        assert_eq!(admin, gathered(["edit", "system:aggregate-to-admin"]));
        assert!(admin.iter().any(|r| r.resources.iter().flatten().any(|x| x == "rolebindings")));
        assert!(!edit.iter().any(|r| r.resources.iter().flatten().any(|x| x == "rolebindings")));
        // Nothing else is aggregated, and a settled cluster writes no more.
        assert!(rules(&sim, "cluster-admin").len() == 2);
    }

    #[test]
    fn a_labelled_role_adds_its_rules_and_takes_them_away() {
        let mut sim = sim();
        let before = rules(&sim, "view");
        let revision = sim.api.store().revision();
        sim.settle();
        assert_eq!(sim.api.store().revision(), revision, "settled: nothing more to write");
        let widgets = ClusterRole {
            metadata: ObjectMeta {
                name: Some("widgets-view".into()),
                labels: Some(BTreeMap::from([("rbac.authorization.k8s.io/aggregate-to-view".to_string(), "true".to_string())])),
                ..Default::default()
            },
            // The second rule repeats the first: it is added once.
            rules: Some(vec![rule(&["get", "list", "watch"], &["widgets"]), rule(&["get", "list", "watch"], &["widgets"])]),
            aggregation_rule: None,
        };
        sim.api.create(Object::ClusterRole(Box::new(widgets))).expect("create");
        sim.settle();
        let view = rules(&sim, "view");
        assert_eq!(view.len(), before.len() + 1);
        assert_eq!(view.last(), Some(&rule(&["get", "list", "watch"], &["widgets"])));
        for through in ["edit", "admin"] {
            assert!(rules(&sim, through).contains(&rule(&["get", "list", "watch"], &["widgets"])), "{through}");
        }
        sim.api.delete(ids::cluster_roles(), "", "widgets-view", &DeleteOptions::default()).expect("delete");
        sim.settle();
        assert_eq!(rules(&sim, "view"), before);
        assert!(!rules(&sim, "admin").contains(&rule(&["get", "list", "watch"], &["widgets"])));
    }

    #[test]
    fn a_user_aggregated_role_is_filled_too() {
        let mut sim = sim();
        let monitoring = ClusterRole {
            metadata: ObjectMeta { name: Some("monitoring".into()), ..Default::default() },
            aggregation_rule: Some(k8s_openapi::api::rbac::v1::AggregationRule {
                cluster_role_selectors: Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(BTreeMap::from([("kubernetes.io/bootstrapping".to_string(), "rbac-defaults".to_string())])),
                    match_expressions: None,
                }]),
            }),
            rules: None,
        };
        sim.api.create(Object::ClusterRole(Box::new(monitoring))).expect("create");
        sim.settle();
        // admin comes first by name, then cluster-admin.
        let monitoring = rules(&sim, "monitoring");
        let admin = rules(&sim, "admin");
        assert_eq!(monitoring[..admin.len()], admin[..]);
        assert_eq!(monitoring[admin.len()..admin.len() + 2], rules(&sim, "cluster-admin")[..]);
    }
}
