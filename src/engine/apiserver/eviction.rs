//! `POST pods/<name>/eviction`: a delete that honours PodDisruptionBudgets,
//! as 1.33's `EvictionREST`.
//!
//! A pod that is Pending, finished or already deleting is deleted at once.
//! Otherwise the one budget selecting it (more than one is refused) must
//! allow a disruption: the API server takes one from `disruptionsAllowed`
//! and records the pod in `disruptedPods` (so the disruption controller
//! does not count it while it goes), or answers 429 TooManyRequests, which
//! `kubectl drain` retries every 5 s. An unready pod may go without taking
//! from the budget while the budget is met, or whenever the budget's
//! `unhealthyPodEvictionPolicy` is `AlwaysAllow`. The evicted pod gets the
//! `DisruptionTarget` condition before its graceful deletion.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodCondition;
use crate::engine::api::pod::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{ApiServer, DeleteOptions, Deleted, Query};
use crate::engine::api::{ids, meta, ApiError, Object, Reason};
use crate::engine::selector::Selector;

pub const TOO_MANY_REQUESTS: &str = "Cannot evict pod as it would violate the pod's disruption budget.";
pub const MULTIPLE_BUDGETS: &str = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
/// Condition set on a PodDisruptionBudget's status.
pub const CONDITION_DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
pub const REASON_SUFFICIENT_PODS: &str = "SufficientPods";
pub const REASON_INSUFFICIENT_PODS: &str = "InsufficientPods";

fn pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `canIgnorePDB`.
fn can_ignore_budget(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed") | Some("Pending")) || pod.metadata.deletion_timestamp.is_some()
}

/// A budget's selector; an unset selector selects nothing.
pub fn budget_selector(pdb: &PodDisruptionBudget) -> Option<Selector> {
    pdb.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_api)
}

/// `UpdateDisruptionAllowedCondition`: `DisruptionAllowed` True/SufficientPods
/// while disruptions are allowed, else False/InsufficientPods; the transition
/// time moves only when the status does.
pub fn update_disruption_allowed_condition(pdb: &mut PodDisruptionBudget, now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) {
    let status = pdb.status.get_or_insert_with(Default::default);
    let (value, reason) = if status.disruptions_allowed > 0 { ("True", REASON_SUFFICIENT_PODS) } else { ("False", REASON_INSUFFICIENT_PODS) };
    let observed = status.observed_generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == CONDITION_DISRUPTION_ALLOWED) {
        Some(c) => {
            if c.status != value {
                c.status = value.into();
                c.last_transition_time = now.clone();
            }
            c.reason = reason.into();
            c.message = String::new();
            c.observed_generation = observed;
        }
        None => conditions.push(Condition {
            type_: CONDITION_DISRUPTION_ALLOWED.into(),
            status: value.into(),
            reason: reason.into(),
            message: String::new(),
            last_transition_time: now.clone(),
            observed_generation: observed,
        }),
    }
}

impl ApiServer {
    /// The eviction subresource. `Ok` carries the deleted (or deleting) pod.
    pub fn evict(&mut self, namespace: &str, name: &str, opts: &DeleteOptions) -> Result<Deleted, ApiError> {
        if self.authorizing() {
            self.serving()?;
            self.authorize_client_on("create", ids::pods(), "eviction", namespace, name)?;
            return self.as_authorized(|api| api.evict(namespace, name, opts));
        }
        let obj = self.get(ids::pods(), namespace, name)?;
        let Object::Pod(pod) = &*obj else { return Err(ApiError::not_found("pods", name)) };
        if can_ignore_budget(pod) {
            return self.mark_and_delete(namespace, name, opts);
        }
        let pdb_rid = ids::pod_disruption_budgets();
        let (budgets, _) = self.list(&Query::in_namespace(pdb_rid, namespace))?;
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let matching: Vec<PodDisruptionBudget> = budgets
            .iter()
            .filter_map(|o| match &**o {
                Object::PodDisruptionBudget(p) => Some(&**p),
                _ => None,
            })
            .filter(|p| budget_selector(p).is_some_and(|s| s.matches(Some(&labels))))
            .cloned()
            .collect();
        if matching.len() > 1 {
            // A bare Status with code 500 and no reason, as 1.33's eviction REST returns it.
            return Err(ApiError::new(Reason::Unknown, MULTIPLE_BUDGETS));
        }
        if let Some(pdb) = matching.first() {
            let status = pdb.status.clone().unwrap_or_default();
            // An unready pod does not count towards the budget: it goes
            // without taking a disruption while the budget is met, or
            // always under `unhealthyPodEvictionPolicy: AlwaysAllow`.
            let always_allow = pdb.spec.as_ref().and_then(|s| s.unhealthy_pod_eviction_policy.as_deref()) == Some("AlwaysAllow");
            let unready_may_go = !pod_ready(pod) && (always_allow || (status.current_healthy >= status.desired_healthy && status.desired_healthy > 0));
            if !unready_may_go {
                self.take_disruption(pdb, name, opts.dry_run)?;
            }
        }
        self.mark_and_delete(namespace, name, opts)
    }

    /// `checkAndDecrement`.
    fn take_disruption(&mut self, pdb: &PodDisruptionBudget, pod: &str, dry_run: bool) -> Result<(), ApiError> {
        let pdb_name = pdb.metadata.name.clone().unwrap_or_default();
        let status = pdb.status.clone().unwrap_or_default();
        if status.observed_generation.unwrap_or(0) < pdb.metadata.generation.unwrap_or(0) {
            return Err(ApiError::new(Reason::TooManyRequests, TOO_MANY_REQUESTS));
        }
        if status.disruptions_allowed < 0 {
            return Err(ApiError::new(Reason::Forbidden, format!("poddisruptionbudgets.policy \"{pdb_name}\" is forbidden: pdb disruptions allowed is negative")));
        }
        if status.disrupted_pods.as_ref().map_or(0, BTreeMap::len) > 2000 {
            return Err(ApiError::new(
                Reason::Forbidden,
                format!("poddisruptionbudgets.policy \"{pdb_name}\" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller"),
            ));
        }
        if status.disruptions_allowed == 0 {
            return Err(ApiError::new(Reason::TooManyRequests, TOO_MANY_REQUESTS));
        }
        if dry_run {
            return Ok(());
        }
        let now = meta::api_time(self.now());
        let rid = ids::pod_disruption_budgets();
        let ns = pdb.metadata.namespace.clone().unwrap_or_default();
        let expected_rv = pdb.metadata.resource_version.clone();
        let mut refused = None;
        self.modify(rid, &ns, &pdb_name, true, |obj| {
            let Object::PodDisruptionBudget(p) = obj else { return false };
            if p.metadata.resource_version != expected_rv && p.status.as_ref().is_some_and(|s| s.disruptions_allowed == 0) {
                refused = Some(ApiError::new(Reason::TooManyRequests, TOO_MANY_REQUESTS));
                return false;
            }
            let s = p.status.get_or_insert_with(Default::default);
            s.disruptions_allowed -= 1;
            s.disrupted_pods.get_or_insert_with(BTreeMap::new).insert(pod.to_string(), now.clone());
            if s.disruptions_allowed == 0 {
                update_disruption_allowed_condition(p, &now);
            }
            true
        })?;
        match refused {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `addConditionAndDeletePod`: `DisruptionTarget` (EvictionByEvictionAPI), then delete.
    fn mark_and_delete(&mut self, namespace: &str, name: &str, opts: &DeleteOptions) -> Result<Deleted, ApiError> {
        if !opts.dry_run {
            let now = meta::api_time(self.now());
            self.modify(ids::pods(), namespace, name, true, |obj| {
                let Object::Pod(p) = obj else { return false };
                let conditions = p.status_mut().conditions.get_or_insert_with(Vec::new);
                let wanted = PodCondition {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                    reason: Some("EvictionByEvictionAPI".into()),
                    message: Some("Eviction API: evicting".into()),
                    last_transition_time: Some(now.clone()),
                    last_probe_time: None,
                    observed_generation: None,
                };
                match conditions.iter_mut().find(|c| c.type_ == "DisruptionTarget") {
                    Some(c) if c.status == "True" && c.reason == wanted.reason && c.message == wanted.message => false,
                    Some(c) => {
                        let keep_time = c.status == "True";
                        let time = c.last_transition_time.clone();
                        *c = wanted;
                        if keep_time {
                            c.last_transition_time = time;
                        }
                        true
                    }
                    None => {
                        conditions.push(wanted);
                        true
                    }
                }
            })?;
        }
        self.delete(ids::pods(), namespace, name, opts)
    }
}
