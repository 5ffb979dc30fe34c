//! The pod garbage collector (`pkg/controller/podgc`): every 20 s it removes
//! pods bound to a node that has been gone for the 40 s quarantine (marking
//! them Failed with a `DisruptionTarget` condition first, as 1.33 does), and
//! unscheduled pods already being deleted. This is how a node that leaves
//! the cluster loses its pods, DaemonSet pods included. Pods being deleted
//! on a node that is not Ready and carries the
//! `node.kubernetes.io/out-of-service` taint (non-graceful node shutdown)
//! are marked Failed and deleted at once (`gcTerminating`), so a
//! StatefulSet can make its pod again elsewhere.

use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodCondition;

use crate::engine::api::{ids, meta, Object, ResourceId};
use crate::engine::sort::SortStable;
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{util, Cache, Changes, Controller};

const CHECK_PERIOD_MS: u64 = 20_000;
const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// Why a pod is collected.
#[derive(Clone, Copy, PartialEq)]
enum Doom {
    /// Unscheduled and being deleted (`gcUnscheduledTerminating`).
    Unscheduled,
    /// Being deleted on a node out of service (`gcTerminating`).
    OutOfService,
    /// Its node is gone (`gcOrphaned`).
    Orphaned,
}
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
        let mut doomed: Vec<(String, String, Option<String>, Doom)> = Vec::new();
        let mut still_missing: BTreeMap<String, VirtualTime> = BTreeMap::new();
        // Every pod's node is looked up: by hash in a set of the names, as
        // a B-tree search of the node keys compared strings ten times a pod.
        let known: rustc_hash::FxHashSet<&str> = nodes.items().filter_map(|n| n.meta().name.as_deref()).collect();
        for o in cache.of(ids::pods()).items() {
            let Object::Pod(p) = &**o else { continue };
            let node = util::node_name(p);
            // Only a doomed pod's names are copied: a check reads every pod.
            let names = || (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default(), p.metadata.uid.clone());
            if node.is_empty() {
                if util::is_terminating(p) {
                    let (ns, name, uid) = names();
                    doomed.push((ns, name, uid, Doom::Unscheduled));
                }
                continue;
            }
            if known.contains(node) {
                if util::is_terminating(p) && nodes.get_by_parts("", node).is_some_and(|n| out_of_service(n)) {
                    let (ns, name, uid) = names();
                    doomed.push((ns, name, uid, Doom::OutOfService));
                }
                continue;
            }
            let since = *self.missing_since.get(node).unwrap_or(&now);
            still_missing.insert(node.to_string(), since);
            // Past the quarantine, and still gone when asked directly.
            if now.millis_since(since) >= QUARANTINE_MS && ctx.api.get(ids::nodes(), "", node).is_err() {
                let (ns, name, uid) = names();
                doomed.push((ns, name, uid, Doom::Orphaned));
            }
        }
        self.missing_since = still_missing;
        // `gc` collects the out-of-service node's pods before the orphans.
        doomed.sort_stable_by_key(|d| d.3 != Doom::OutOfService);
        for (ns, name, uid, doom) in doomed.into_iter().take(PER_CHECK) {
            if doom == Doom::OutOfService {
                // `markFailedAndDeletePod`: the phase, and no condition.
                let _ = ctx.api.modify(ids::pods(), &ns, &name, true, |o| {
                    let Object::Pod(p) = o else { return false };
                    if p.metadata.uid != uid {
                        return false;
                    }
                    let status = p.status_mut();
                    if matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed")) {
                        return false;
                    }
                    status.phase = Some("Failed".into());
                    true
                });
            }
            if doom == Doom::Orphaned {
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

/// Not Ready (`IsNodeReady`) and tainted `node.kubernetes.io/out-of-service`
/// with any value and effect (`TaintKeyExists`).
fn out_of_service(node: &Object) -> bool {
    let Object::Node(n) = node else { return false };
    let tainted = n.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|ts| ts.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE));
    tainted && !n.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
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
