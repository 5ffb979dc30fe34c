//! The pod garbage collector (`pkg/controller/podgc`): every 20 s it removes
//! pods bound to a node that has been gone for the 40 s quarantine (marking
//! them Failed with a `DisruptionTarget` condition first, as 1.33 does), and
//! unscheduled pods already being deleted. This is how a node that leaves
//! the cluster loses its pods, DaemonSet pods included.

use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodCondition;

use crate::engine::api::{ids, meta, Object, ResourceId};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{util, Cache, Changes, Controller};

const CHECK_PERIOD_MS: u64 = 20_000;
const QUARANTINE_MS: u64 = 40_000;
/// Pods removed per check, so one check stays short.
const PER_CHECK: usize = 500;

#[derive(Default)]
pub struct PodGarbageCollector {
    primed: bool,
    next_check: Option<VirtualTime>,
    /// Nodes pods are bound to that the informer does not know, since when.
    missing_since: BTreeMap<String, VirtualTime>,
}

impl PodGarbageCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&mut self, ctx: &mut Ctx, cache: &Cache) {
        let nodes = cache.of(ids::nodes());
        let now = ctx.now;
        let mut doomed: Vec<(String, String, Option<String>, bool)> = Vec::new();
        let mut still_missing: BTreeMap<String, VirtualTime> = BTreeMap::new();
        for o in cache.of(ids::pods()).items() {
            let Object::Pod(p) = &**o else { continue };
            let node = util::node_name(p);
            // Only a doomed pod's names are copied: a check reads every pod.
            let names = || (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default(), p.metadata.uid.clone());
            if node.is_empty() {
                if util::is_terminating(p) {
                    let (ns, name, uid) = names();
                    doomed.push((ns, name, uid, false));
                }
                continue;
            }
            if nodes.get_by("", node).is_some() {
                continue;
            }
            let since = *self.missing_since.get(node).unwrap_or(&now);
            still_missing.insert(node.to_string(), since);
            // Past the quarantine, and still gone when asked directly.
            if now.millis_since(since) >= QUARANTINE_MS && ctx.api.get(ids::nodes(), "", node).is_err() {
                let (ns, name, uid) = names();
                doomed.push((ns, name, uid, true));
            }
        }
        self.missing_since = still_missing;
        for (ns, name, uid, orphaned) in doomed.into_iter().take(PER_CHECK) {
            if orphaned {
                let stamp = meta::api_time(now);
                let _ = ctx.api.modify(ids::pods(), &ns, &name, true, |o| {
                    let Object::Pod(p) = o else { return false };
                    if p.metadata.uid != uid {
                        return false;
                    }
                    let status = p.status_mut();
                    if !matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed")) {
                        status.phase = Some("Failed".into());
                    }
                    let conditions = status.conditions.get_or_insert_with(Vec::new);
                    conditions.retain(|c| c.type_ != "DisruptionTarget");
                    conditions.push(PodCondition {
                        type_: "DisruptionTarget".into(),
                        status: "True".into(),
                        reason: Some("DeletionByPodGC".into()),
                        message: Some("PodGC: node no longer exists".into()),
                        last_transition_time: Some(stamp.clone()),
                        ..Default::default()
                    });
                    true
                });
            }
            let opts = DeleteOptions { grace_period_seconds: Some(0), precondition_uid: uid, ..Default::default() };
            if ctx.api.delete(ids::pods(), &ns, &name, &opts).is_ok() {
                ctx.log(format!("garbage collected pod {ns}/{name}"));
            }
        }
    }
}

impl Controller for PodGarbageCollector {
    fn name(&self) -> &str {
        "pod-garbage-collector"
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::pods(), ids::nodes()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, _changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            self.next_check = Some(ctx.now.plus_millis(CHECK_PERIOD_MS));
        }
        let due = self.next_check.unwrap_or(ctx.now);
        if ctx.now >= due {
            self.check(ctx, cache);
            self.next_check = Some(ctx.now.plus_millis(CHECK_PERIOD_MS));
        }
        if let Some(t) = self.next_check {
            ctx.wake_at(t);
        }
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
