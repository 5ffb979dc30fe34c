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

/// How soon a namespace whose content is still going is looked at again.
const CONTENT_REMAINING_RETRY_MS: u64 = 2_000;

pub struct NamespaceController {
    queue: WorkQueue,
    primed: bool,
}

impl Default for NamespaceController {
    fn default() -> Self {
        Self::new()
    }
}

impl NamespaceController {
    pub fn new() -> Self {
        NamespaceController { queue: WorkQueue::default(), primed: false }
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
        let (remaining, finalizers) = self.delete_content(ctx, &ns_name)?;
        let Some(ns) = ns else {
            return Ok((!remaining.is_empty()).then(|| ctx.now.plus_millis(CONTENT_REMAINING_RETRY_MS)));
        };
        self.update_conditions(ctx, &ns, &remaining, &finalizers)?;
        if !remaining.is_empty() {
            return Ok(Some(ctx.now.plus_millis(CONTENT_REMAINING_RETRY_MS)));
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

    /// Deletes every namespaced object in the namespace; returns what is
    /// left per resource and the finalizers holding objects back.
    fn delete_content(&mut self, ctx: &mut Ctx, ns: &str) -> Result<(BTreeMap<String, usize>, BTreeMap<String, usize>), ApiError> {
        let mut remaining = BTreeMap::new();
        let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
        for (i, rt) in RESOURCES.iter().enumerate() {
            if !rt.namespaced {
                continue;
            }
            let rid = ResourceId(i as u16);
            let (items, _) = ctx.api.list(&Query::in_namespace(rid, ns))?;
            if items.is_empty() {
                continue;
            }
            let mut left = 0;
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
                left += 1;
                for f in m.finalizers.iter().flatten() {
                    *finalizers.entry(f.clone()).or_default() += 1;
                }
            }
            if left > 0 {
                // status_condition_utils.go writes "%s.%s" of resource and
                // group: a core resource keeps the dot (`pods.`).
                let rt = resource(rid);
                remaining.insert(format!("{}.{}", rt.plural, rt.group), left);
            }
        }
        Ok((remaining, finalizers))
    }

    fn update_conditions(&mut self, ctx: &mut Ctx, ns: &Object, remaining: &BTreeMap<String, usize>, finalizers: &BTreeMap<String, usize>) -> Result<(), ApiError> {
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
            cond("NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization".into()),
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
        if !self.primed {
            self.primed = true;
            for o in cache.of(ids::namespaces()).items() {
                if o.meta().deletion_timestamp.is_some() {
                    self.queue.add(ObjectKey::of(o));
                }
            }
        }
        for ev in changes.of(ids::namespaces()) {
            if ev.kind == WatchEventType::Deleted || ev.object.meta().deletion_timestamp.is_some() {
                self.queue.add(ObjectKey::of(&ev.object));
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, key));
        self.queue = queue;
    }
    fn reset(&mut self) {
        self.queue.clear();
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
        sim.run_for_ms(500);
        let Object::Namespace(ns) = &*sim.api.get(ids::namespaces(), "", "team").expect("terminating") else { unreachable!() };
        let status = ns.status.clone().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Terminating"));
        let remaining = status.conditions.unwrap().into_iter().find(|c| c.type_ == "NamespaceContentRemaining").unwrap();
        assert_eq!(remaining.message.as_deref(), Some("Some resources are remaining: pods. has 2 resource instances"));
        sim.run_for_ms(10_000);
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
        sim.run_for_ms(10_000);
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
