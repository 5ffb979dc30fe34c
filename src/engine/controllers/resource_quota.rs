//! The resource quota controller (`pkg/controller/resourcequota`): keeps
//! each ResourceQuota's `status.hard` at its `spec.hard` and `status.used`
//! at what the namespace's objects use, counted by the evaluators the API
//! server's admission plugin uses (`engine::resource_quota`). A quota is
//! synced when it is created or its `spec.hard` changes, when an object it
//! counts changes (the controller's replenishment: a deleted or finished
//! pod frees its share at once), and every five minutes
//! (`--resource-quota-sync-period`).

use std::collections::BTreeSet;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::{Query, WatchEventType};
use crate::engine::resource_quota;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{Cache, Changes, Reconciler, WorkLoop};

/// `--resource-quota-sync-period`'s default.
const RESYNC_MS: u64 = 5 * 60 * 1000;

/// The kinds whose changes queue their namespace's quotas; a quota counting
/// another kind (`count/<resource>.<group>`) is recounted at its resync.
fn replenished() -> [ResourceId; 13] {
    [
        ids::pods(),
        ids::services(),
        ids::persistent_volume_claims(),
        ids::config_maps(),
        ids::secrets(),
        ids::replication_controllers(),
        ids::resource_quotas(),
        ids::deployments(),
        ids::replica_sets(),
        ids::stateful_sets(),
        ids::daemon_sets(),
        ids::jobs(),
        ids::cron_jobs(),
    ]
}

#[derive(Default)]
pub struct ResourceQuotaController {
    work: WorkLoop,
}

impl ResourceQuotaController {
    pub fn new() -> Self {
        Self::default()
    }

    /// The status the namespace's objects give the quota now.
    fn status_now(ctx: &mut Ctx, cache: &Cache, quota: &ResourceQuota) -> Result<ResourceQuotaStatus, ApiError> {
        let namespace = quota.metadata.namespace.clone().unwrap_or_default();
        let watched = replenished();
        let mut objects: Vec<Rc<Object>> = Vec::new();
        for rid in resource_quota::counted_resources(quota) {
            if watched.contains(&rid) {
                objects.extend(cache.of(rid).in_namespace(&namespace).cloned());
            } else {
                let (items, _) = ctx.api.list(&Query::in_namespace(rid, &namespace))?;
                objects.extend(items);
            }
        }
        let used = resource_quota::calculate(quota, objects.iter().map(|o| &**o), ctx.now);
        let hard = quota.spec.as_ref().and_then(|s| s.hard.clone()).unwrap_or_default();
        Ok(ResourceQuotaStatus { hard: Some(hard), used: Some(used.into_iter().map(|(n, q)| (n, Quantity(q.canonical()))).collect()) })
    }
}

impl Reconciler for ResourceQuotaController {
    fn name(&self) -> &str {
        "resourcequota-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::resource_quotas()
    }
    fn watches(&self) -> Vec<ResourceId> {
        replenished().to_vec()
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        let quotas = cache.of(ids::resource_quotas());
        if quotas.is_empty() {
            return;
        }
        for ev in changes.of(ids::resource_quotas()) {
            // Its own status writes (the admission plugin's charges, this
            // controller's counts) need no sync; a new `spec.hard` does.
            if let Object::ResourceQuota(q) = &*ev.object {
                let hard = q.spec.as_ref().and_then(|s| s.hard.as_ref());
                if ev.kind != WatchEventType::Deleted && q.status.as_ref().and_then(|s| s.hard.as_ref()) != hard {
                    self.work.queue.add(ObjectKey::of(&ev.object));
                }
            }
        }
        let mut namespaces: BTreeSet<&str> = BTreeSet::new();
        for rid in replenished() {
            // A quota's own writes change no count; only its coming and
            // going changes `resourcequotas`.
            let counted = changes.of(rid).iter().filter(|ev| rid != ids::resource_quotas() || ev.kind != WatchEventType::Modified);
            for ev in counted {
                namespaces.insert(ev.object.meta().namespace.as_deref().unwrap_or(""));
            }
        }
        for namespace in namespaces {
            for quota in quotas.in_namespace(namespace) {
                self.work.queue.add(ObjectKey::of(quota));
            }
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::ResourceQuota(quota)) = cache.of(ids::resource_quotas()).get(key).map(|o| &**o) else { return Ok(None) };
        let status = Self::status_now(ctx, cache, quota)?;
        if quota.status.as_ref() != Some(&status) {
            ctx.api.modify(ids::resource_quotas(), &key.namespace, &key.name, true, |o| {
                let Object::ResourceQuota(q) = o else { return false };
                if q.status.as_ref() == Some(&status) {
                    return false;
                }
                q.status = Some(status.clone());
                true
            })?;
        }
        Ok(Some(ctx.now.plus_millis(RESYNC_MS)))
    }
    fn forget(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::pod::Pod;
    use crate::engine::controllers::testkit;
    use serde_json::json;

    fn object(v: serde_json::Value) -> Object {
        let kind = v["kind"].as_str().unwrap_or("").to_string();
        match kind.as_str() {
            "Pod" => Object::Pod(Box::new(serde_json::from_value::<Pod>(v).expect("pod"))),
            _ => Object::ResourceQuota(Box::new(serde_json::from_value::<ResourceQuota>(v).expect("quota"))),
        }
    }

    fn quota(hard: serde_json::Value, scopes: &[&str]) -> Object {
        object(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small", "namespace": "default"}, "spec": {"hard": hard, "scopes": scopes}}))
    }

    fn pod(name: &str, resources: serde_json::Value) -> Object {
        object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx", "resources": resources}]}}))
    }

    fn status(sim: &crate::engine::sim::Sim) -> serde_json::Value {
        let q = sim.api.get(ids::resource_quotas(), "default", "small").expect("quota");
        q.to_json()["status"].clone()
    }

    /// The controller fills the status; admission then counts each new pod
    /// into it and refuses one past the limit with 1.33's message; a deleted
    /// pod's share comes back.
    #[test]
    fn pods_are_counted_refused_past_the_limit_and_freed() {
        let mut sim = testkit::sim();
        sim.api.create(quota(json!({"pods": "2", "requests.memory": "1Gi"}), &[])).expect("quota");
        sim.run_for_ms(1_000);
        assert_eq!(status(&sim), json!({"hard": {"pods": "2", "requests.memory": "1Gi"}, "used": {"pods": "0", "requests.memory": "0"}}));
        let sized = json!({"requests": {"memory": "512Mi"}});
        sim.api.create(pod("a", sized.clone())).expect("a");
        // Counted by admission itself, before the pod was stored.
        assert_eq!(status(&sim)["used"], json!({"pods": "1", "requests.memory": "512Mi"}));
        let refused = sim.api.create(pod("b", json!({"requests": {"memory": "600Mi"}}))).unwrap_err();
        assert_eq!(refused.message, "pods \"b\" is forbidden: exceeded quota: small, requested: requests.memory=600Mi, used: requests.memory=512Mi, limited: requests.memory=1Gi");
        sim.api.create(pod("b", sized.clone())).expect("b");
        let refused = sim.api.create(pod("c", json!({"requests": {"memory": "1Mi"}}))).unwrap_err();
        assert_eq!(refused.message, "pods \"c\" is forbidden: exceeded quota: small, requested: pods=1,requests.memory=1Mi, used: pods=2,requests.memory=1Gi, limited: pods=2,requests.memory=1Gi");
        let missing = sim.api.create(pod("d", json!({}))).unwrap_err();
        assert_eq!(missing.message, "pods \"d\" is forbidden: failed quota: small: must specify requests.memory for: app");
        let dry = sim.api.create_with(pod("c", sized.clone()), true);
        assert!(dry.is_err(), "a dry run is checked too");
        sim.api.delete(ids::pods(), "default", "a", &crate::engine::apiserver::DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }).expect("delete");
        sim.run_for_ms(1_000);
        assert_eq!(status(&sim)["used"], json!({"pods": "1", "requests.memory": "512Mi"}));
        sim.api.create(pod("c", sized)).expect("room again");
    }

    /// A quota whose status its controller has not counted yet limits nothing.
    #[test]
    fn a_quota_not_yet_counted_limits_nothing() {
        let mut sim = testkit::sim();
        sim.api.create(quota(json!({"pods": "0"}), &[])).expect("quota");
        assert_eq!(status(&sim), json!({}));
        sim.api.create(pod("early", json!({}))).expect("before the controller's count");
        sim.run_for_ms(1_000);
        assert_eq!(status(&sim)["used"], json!({"pods": "1"}));
        assert!(sim.api.create(pod("late", json!({}))).is_err());
    }

    /// A `BestEffort` quota counts only pods without requests or limits.
    #[test]
    fn scopes_select_the_pods_counted() {
        let mut sim = testkit::sim();
        sim.api.create(quota(json!({"pods": "1"}), &["BestEffort"])).expect("quota");
        sim.run_for_ms(1_000);
        sim.api.create(pod("sized", json!({"requests": {"cpu": "100m"}}))).expect("not best effort");
        sim.api.create(pod("plain", json!({}))).expect("first best-effort pod");
        assert!(sim.api.create(pod("plain2", json!({}))).is_err());
        sim.api.create(pod("sized2", json!({"limits": {"cpu": "100m"}}))).expect("still not best effort");
        sim.run_for_ms(1_000);
        assert_eq!(status(&sim)["used"], json!({"pods": "1"}));
    }

    /// A ReplicaSet whose pods the quota refuses says so in its Events.
    #[test]
    fn a_refused_pod_is_the_replica_sets_failed_create() {
        let mut sim = testkit::sim();
        sim.api.create(quota(json!({"cpu": "1"}), &[])).expect("quota");
        sim.run_for_ms(1_000);
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
        let rs = Object::from_json(ids::replica_sets(), rs).expect("replicaset");
        sim.api.create(rs).expect("rs");
        sim.run_for_ms(2_000);
        let events = testkit::events_for(&sim, "web");
        assert!(events.iter().any(|(r, m)| r == "FailedCreate" && m.ends_with("is forbidden: failed quota: small: must specify cpu for: nginx")), "{events:?}");
        assert!(testkit::pods(&sim, "default").is_empty());
        // Retried with the work queue's back-off (5 ms doubling), not at
        // once: the condition, set once, does not sync it again.
        let (items, _) = sim.api.list(&Query::all(ids::events())).expect("events");
        let tries: i32 = items.iter().filter_map(|o| match &**o {
            Object::Event(e) if e.reason.as_deref() == Some("FailedCreate") => Some(e.count.unwrap_or(1)),
            _ => None,
        }).sum();
        assert!((5..=15).contains(&tries), "{tries} failed creates in 2 s");
    }
}
