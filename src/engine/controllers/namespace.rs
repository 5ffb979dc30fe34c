//! The namespace controller (`pkg/controller/namespace`): a namespace with
//! a deletionTimestamp has its content deleted, reports progress in its
//! status conditions, then loses the `kubernetes` finalizer and goes.

use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::NamespaceCondition;

use crate::engine::api::{ids, meta, resource, ApiError, Object, ObjectKey, Reason, ResourceId, RESOURCES};
use crate::engine::apiserver::{DeleteOptions, Propagation, Query, WatchEventType};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::{Cache, Changes, Controller};

/// A vanished namespace whose content is still going is looked at again this soon.
const CONTENT_REMAINING_RETRY_MS: u64 = 2_000;
/// `namespaceDeletionGracePeriod`: a deleted namespace (or its update) is
/// synced this long after it is seen, for HA API servers to observe it.
const DELETION_GRACE_PERIOD_MS: u64 = 5_000;
/// `finalizerEstimateSeconds`: the wait assumed for content held by finalizers.
const FINALIZER_ESTIMATE_SECONDS: u64 = 15;
/// `nsControllerRateLimiter`'s per-namespace back-off after a failed sync:
/// 5 ms doubling, at most a minute.
const FAILURE_BACKOFF_BASE_MS: u64 = 5;
const FAILURE_BACKOFF_MAX_MS: u64 = 60_000;

pub struct NamespaceController {
    queue: WorkQueue,
    primed: bool,
    /// Failed syncs in a row, per namespace (the rate limiter's count).
    failures: BTreeMap<String, u32>,
}

/// What deleting a namespace's content left: the objects per resource, the
/// finalizers holding them, how long to wait for them (`estimate`, in
/// seconds) and the resources whose objects stay for no known reason.
#[derive(Default)]
struct ContentLeft {
    remaining: BTreeMap<String, usize>,
    finalizers: BTreeMap<String, usize>,
    estimate: u64,
    unexpected: Vec<String>,
}

impl Default for NamespaceController {
    fn default() -> Self {
        Self::new()
    }
}

impl NamespaceController {
    pub fn new() -> Self {
        NamespaceController { queue: WorkQueue::default(), primed: false, failures: BTreeMap::new() }
    }

    /// `AddRateLimited` after a failed sync of `ns_name`.
    fn back_off(&mut self, ns_name: &str, now: VirtualTime) -> VirtualTime {
        let failures = self.failures.entry(ns_name.to_string()).or_insert(0);
        let delay = FAILURE_BACKOFF_BASE_MS.saturating_mul(1u64 << (*failures).min(30)).min(FAILURE_BACKOFF_MAX_MS);
        *failures += 1;
        now.plus_millis(delay)
    }

    fn sync_one(&mut self, ctx: &mut Ctx, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let ns_name = key.name.clone();
        let ns = match ctx.api.get(ids::namespaces(), "", &ns_name) {
            Ok(o) => Some(o),
            Err(e) if e.reason == Reason::NotFound => None,
            Err(e) => return Err(e),
        };
        // A namespace that is gone still has its content removed, should
        // the API server have let it go without waiting.
        if ns.as_ref().is_some_and(|n| n.meta().deletion_timestamp.is_none()) {
            return Ok(None);
        }
        let deleted_at = ns.as_ref().and_then(|n| n.meta().deletion_timestamp.as_ref().map(meta::virtual_of));
        let left = self.delete_content(ctx, &ns_name, deleted_at)?;
        let Some(ns) = ns else {
            return Ok((!left.remaining.is_empty()).then(|| ctx.now.plus_millis(CONTENT_REMAINING_RETRY_MS)));
        };
        self.update_conditions(ctx, &ns, &left)?;
        if !left.unexpected.is_empty() {
            // An error, not an estimate: tried again after the back-off.
            return Ok(Some(self.back_off(&ns_name, ctx.now)));
        }
        self.failures.remove(ns_name.as_ref());
        if !left.remaining.is_empty() {
            // `ResourcesRemainingError`: looked at again after half the estimate, plus a second.
            return Ok(Some(ctx.now.plus_millis((left.estimate / 2 + 1) * 1_000)));
        }
        // Empty: drop our finalizer through `namespaces/finalize`; the API
        // server removes the namespace once no finalizer is left.
        let remaining_finalizers: Vec<String> = match &*ns {
            Object::Namespace(n) => n.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default().into_iter().filter(|f| f != "kubernetes").collect(),
            _ => Vec::new(),
        };
        match ctx.api.finalize_namespace(&ns_name, ns.meta().uid.as_deref(), remaining_finalizers) {
            Ok(_) => ctx.log(format!("namespace {ns_name} finalized")),
            Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => {}
            Err(e) => return Err(e),
        }
        Ok(None)
    }

    /// Deletes every namespaced object in the namespace
    /// (`deleteAllContentForGroupVersionResource`); returns what is left.
    fn delete_content(&mut self, ctx: &mut Ctx, ns: &str, deleted_at: Option<VirtualTime>) -> Result<ContentLeft, ApiError> {
        let mut left = ContentLeft::default();
        // The built-in resources, then the custom ones the cluster serves.
        let custom = crate::engine::api::custom::served();
        let rids = (0..RESOURCES.len()).map(|i| ResourceId(i as u16)).chain(custom.resources.iter().map(|r| r.id));
        for rid in rids {
            if !resource(rid).namespaced {
                continue;
            }
            let (items, _) = ctx.api.list(&Query::in_namespace(rid, ns))?;
            if items.is_empty() {
                continue;
            }
            // `estimateGracefulTermination`: the longest grace period of the
            // pods not yet finished, none once that long has passed since
            // the namespace was deleted.
            let mut estimate = 0;
            if rid == ids::pods() {
                for obj in &items {
                    let Object::Pod(pod) = &**obj else { continue };
                    let phase = pod.status.as_ref().and_then(|s| s.phase());
                    if matches!(phase, Some("Succeeded" | "Failed")) {
                        continue;
                    }
                    let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).map_or(0, |g| u64::try_from(g).unwrap_or(0));
                    estimate = estimate.max(grace);
                }
                if deleted_at.is_none_or(|at| ctx.now.millis_since(at) >= estimate * 1_000) {
                    estimate = 0;
                }
            }
            let mut count = 0;
            let mut held = 0;
            for obj in &items {
                let m = obj.meta();
                let name = m.name.clone().unwrap_or_default();
                if m.deletion_timestamp.is_none() {
                    let opts = DeleteOptions { propagation: Some(Propagation::Background), precondition_uid: m.uid.clone(), ..Default::default() };
                    match ctx.api.delete(rid, ns, &name, &opts) {
                        Ok(crate::engine::apiserver::Deleted::Now(_)) => continue,
                        Ok(_) => {}
                        Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => {}
                        Err(e) => return Err(e),
                    }
                }
                count += 1;
                if m.finalizers.as_ref().is_some_and(|f| !f.is_empty()) {
                    held += 1;
                }
                for f in m.finalizers.iter().flatten() {
                    *left.finalizers.entry(f.clone()).or_default() += 1;
                }
            }
            if count == 0 {
                continue;
            }
            // status_condition_utils.go writes "%s.%s" of resource and
            // group: a core resource keeps the dot (`pods.`).
            let rt = resource(rid);
            left.remaining.insert(format!("{}.{}", rt.plural, rt.group), count);
            if estimate > 0 {
                left.estimate = left.estimate.max(estimate);
            } else if held > 0 {
                left.estimate = left.estimate.max(FINALIZER_ESTIMATE_SECONDS);
            } else {
                // Nothing explains why they stay (a pod past its grace
                // period whose kubelet is away): the sync fails.
                left.unexpected.push(format!("unexpected items still remain in namespace: {ns} for gvr: {}/{}, Resource={}", rt.group, rt.version, rt.plural));
            }
        }
        Ok(left)
    }

    fn update_conditions(&mut self, ctx: &mut Ctx, ns: &Object, left: &ContentLeft) -> Result<(), ApiError> {
        let (remaining, finalizers) = (&left.remaining, &left.finalizers);
        let cond = |type_: &str, status: &str, reason: &str, message: String| NamespaceCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: None,
        };
        let mut wanted = vec![
            cond("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered".into()),
            cond("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions", "All legacy kube types successfully parsed".into()),
            if left.unexpected.is_empty() {
                cond("NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization".into())
            } else {
                // `makeDeleteContentCondition`: the errors sorted.
                let mut errors = left.unexpected.clone();
                errors.sort();
                cond("NamespaceDeletionContentFailure", "True", "ContentDeletionFailed", format!("Failed to delete all resource types, {} remaining: {}", errors.len(), errors.join(", ")))
            },
        ];
        if remaining.is_empty() {
            wanted.push(cond("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed".into()));
        } else {
            let list: Vec<String> = remaining.iter().map(|(r, n)| format!("{r} has {n} resource instances")).collect();
            wanted.push(cond("NamespaceContentRemaining", "True", "SomeResourcesRemain", format!("Some resources are remaining: {}", list.join(", "))));
        }
        if finalizers.is_empty() {
            wanted.push(cond("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers", "All content-preserving finalizers finished".into()));
        } else {
            let list: Vec<String> = finalizers.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
            wanted.push(cond("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", format!("Some content in the namespace has finalizers remaining: {}", list.join(", "))));
        }
        let now = meta::api_time(ctx.now);
        let name = ns.meta().name.clone().unwrap_or_default();
        ctx.api.modify(ids::namespaces(), "", &name, true, |o| {
            let Object::Namespace(n) = o else { return false };
            let status = n.status.get_or_insert_with(Default::default);
            let current = status.conditions.clone().unwrap_or_default();
            let mut next = Vec::new();
            for mut w in wanted.clone() {
                match current.iter().find(|c| c.type_ == w.type_) {
                    Some(c) if c.status == w.status && c.reason == w.reason && c.message == w.message => next.push(c.clone()),
                    Some(c) if c.status == w.status => {
                        w.last_transition_time = c.last_transition_time.clone();
                        next.push(w);
                    }
                    _ => {
                        w.last_transition_time = Some(now.clone());
                        next.push(w);
                    }
                }
            }
            if next == current && status.phase.as_deref() == Some("Terminating") {
                return false;
            }
            status.phase = Some("Terminating".into());
            status.conditions = Some(next);
            true
        })?;
        Ok(())
    }
}

impl Controller for NamespaceController {
    fn name(&self) -> &str {
        "namespace-controller"
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::namespaces()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        // `enqueueNamespace`: a namespace being deleted is synced
        // `namespaceDeletionGracePeriod` after each add or update seen.
        let after_grace = ctx.now.plus_millis(DELETION_GRACE_PERIOD_MS);
        if !self.primed {
            self.primed = true;
            for o in cache.of(ids::namespaces()).items() {
                if o.meta().deletion_timestamp.is_some() {
                    self.queue.add_at(ObjectKey::of(o), after_grace);
                }
            }
        }
        for ev in changes.of(ids::namespaces()) {
            if ev.kind == WatchEventType::Deleted {
                self.failures.remove(ev.object.meta().name.as_deref().unwrap_or_default());
                self.queue.add(ObjectKey::of(&ev.object));
            } else if ev.object.meta().deletion_timestamp.is_some() {
                self.queue.add_at(ObjectKey::of(&ev.object), after_grace);
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, key));
        self.queue = queue;
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.failures.clear();
        self.primed = false;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::serviceaccount::ROOT_CA_NAME;
    use crate::engine::controllers::testkit::{self, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
    use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    fn setup(finalizers: Option<Vec<String>>) -> Sim {
        let mut sim = testkit::sim();
        sim.api
            .create(Object::Namespace(Box::new(Namespace {
                metadata: ObjectMeta { name: Some("team".into()), finalizers, ..Default::default() },
                spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
                status: None,
            })))
            .expect("namespace");
        let rs = ReplicaSet {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("team".into()), ..Default::default() },
            spec: Some(ReplicaSetSpec {
                replicas: Some(2),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), "web".into())])), ..Default::default() },
                template: Some(template("web", "nginx")),
                min_ready_seconds: None,
            }),
            status: None,
        };
        sim.api.create(Object::ReplicaSet(Box::new(rs.into()))).expect("rs");
        sim.run_for_ms(10_000);
        assert!(sim.api.get(ids::service_accounts(), "team", "default").is_ok());
        let cm = sim.api.get(ids::config_maps(), "team", ROOT_CA_NAME).expect("root ca");
        let Object::ConfigMap(cm) = &*cm else { unreachable!() };
        assert!(cm.data.as_ref().unwrap()["ca.crt"].starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(testkit::live_pods(&sim, "team").len(), 2);
        sim
    }

    fn left(sim: &Sim, rid: ResourceId) -> usize {
        sim.api.list(&Query::in_namespace(rid, "team")).expect("list").0.len()
    }

    #[test]
    fn terminating_namespace_is_emptied_then_finalized() {
        let mut sim = setup(Some(vec!["example.com/hold".into()]));
        sim.api.delete(ids::namespaces(), "", "team", &DeleteOptions::default()).expect("delete");
        sim.run_for_ms(4_900);
        let Object::Namespace(ns) = &*sim.api.get(ids::namespaces(), "", "team").expect("terminating") else { unreachable!() };
        assert!(ns.status.as_ref().unwrap().conditions.is_none(), "the controller waits out namespaceDeletionGracePeriod");
        assert_eq!(testkit::live_pods(&sim, "team").len(), 2);
        sim.run_for_ms(200);
        let Object::Namespace(ns) = &*sim.api.get(ids::namespaces(), "", "team").expect("terminating") else { unreachable!() };
        let status = ns.status.clone().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Terminating"));
        let remaining = status.conditions.unwrap().into_iter().find(|c| c.type_ == "NamespaceContentRemaining").unwrap();
        assert_eq!(remaining.message.as_deref(), Some("Some resources are remaining: pods. has 2 resource instances"));
        sim.run_for_ms(30_000);
        for rid in [ids::pods(), ids::replica_sets(), ids::config_maps(), ids::service_accounts()] {
            assert_eq!(left(&sim, rid), 0);
        }
        assert!(sim.api.get(ids::namespaces(), "", "team").is_ok(), "held by its own finalizer");
        sim.api
            .modify(ids::namespaces(), "", "team", false, |o| {
                o.meta_mut().finalizers = None;
                true
            })
            .expect("release");
        sim.run_for_ms(1_000);
        assert!(sim.api.get(ids::namespaces(), "", "team").is_err());
    }

    #[test]
    fn content_of_a_vanished_namespace_is_removed() {
        let mut sim = setup(None);
        sim.api.delete(ids::namespaces(), "", "team", &DeleteOptions::default()).expect("delete");
        sim.run_for_ms(30_000);
        assert_eq!(left(&sim, ids::pods()), 0);
        assert_eq!(left(&sim, ids::replica_sets()), 0);
    }

    #[test]
    fn defaults_come_back() {
        let mut sim = setup(None);
        sim.api.delete(ids::service_accounts(), "team", "default", &DeleteOptions::default()).expect("delete sa");
        sim.api
            .modify(ids::config_maps(), "team", crate::engine::controllers::serviceaccount::ROOT_CA_NAME, false, |o| {
                if let Object::ConfigMap(cm) = o {
                    cm.data = None;
                }
                true
            })
            .expect("edit");
        sim.run_for_ms(1_000);
        assert!(sim.api.get(ids::service_accounts(), "team", "default").is_ok());
        let Object::ConfigMap(cm) = &*sim.api.get(ids::config_maps(), "team", crate::engine::controllers::serviceaccount::ROOT_CA_NAME).expect("cm") else { unreachable!() };
        assert!(cm.data.as_ref().is_some_and(|d| d.contains_key("ca.crt")));
    }
}
