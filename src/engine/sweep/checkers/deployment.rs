//! A rolling update keeps its `maxUnavailable` promise: while no fault
//! touches a Deployment's pods, the number of its available pods never
//! drops to below `replicas - maxUnavailable`.
//!
//! A drop is what the promise governs (a scale-up or a new Deployment
//! starts below it and climbs). A scale-down is no rolling update: the
//! deployment controller's proportional scaling takes pods from the old
//! and new ReplicaSets at once, available or not, so a Deployment whose
//! `replicas` went down is excused for a while, as a fault would be. A fault touches a Deployment's pods when
//! one of the nodes they run on is powered off, partitioned, or has its
//! kubelet stopped (or restarted), or when the node controller holds the
//! node not Ready or it has just become Ready again (a control-plane
//! outage longer than the grace period does that to every node: no
//! kubelet could report), or etcd was
//! restored, or the program its pods run is a component that was stopped
//! (a volume provisioner: its containers crash). Its effects last a while after it ends (the node
//! controller's monitor, graceful terminations), so a Deployment stays
//! touched for [`TOUCH_LINGERS_MS`]; and while the API server or etcd is
//! down no effect can reach the store, so that time stands still until
//! they are back (a node rebooted during an etcd outage shows its pods
//! restarting only once the kubelet can write again).

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::api::shared_spec::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pods;
use super::{Checker, Observation};
use crate::engine::api::{ids, Object};
use crate::engine::sim::clock::VirtualTime;

pub const TOUCH_LINGERS_MS: u64 = 120_000;

#[derive(Default)]
pub struct MaxUnavailablePromise {
    /// Deployment uid → available pods at the last check.
    available: BTreeMap<String, i64>,
    /// Deployment uid → the end of the last fault touching its pods.
    touched_until: BTreeMap<String, VirtualTime>,
    /// Deployment uid → `spec.replicas` at the last check.
    replicas: BTreeMap<String, i32>,
    /// Node → when a fault was last in force on it.
    faulted_at: BTreeMap<String, VirtualTime>,
    disruptions: BTreeMap<String, u64>,
    restores_seen: usize,
    restored_at: Option<VirtualTime>,
    /// The first check: what happened before (nodes booting) is no fault.
    watching_since: Option<VirtualTime>,
}

/// `intstr.GetScaledValueFromIntOrPercent`, rounding as the deployment
/// controller's fenceposts do: surge up, unavailable down.
fn scaled(value: Option<&IntOrString>, total: i64, round_up: bool, default_percent: i64) -> i64 {
    match value {
        Some(IntOrString::Int(n)) => i64::from(*n),
        Some(IntOrString::String(s)) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(default_percent);
            let exact = total * percent;
            if round_up { (exact + 99) / 100 } else { exact / 100 }
        }
        None => {
            let exact = total * default_percent;
            if round_up { (exact + 99) / 100 } else { exact / 100 }
        }
    }
}

/// The least number of available pods a rolling update promises.
pub fn promised_floor(d: &Deployment) -> Option<i64> {
    let spec = d.spec.as_ref()?;
    let strategy = spec.strategy.as_ref();
    if strategy.and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate") != "RollingUpdate" {
        return None;
    }
    let replicas = i64::from(spec.replicas.unwrap_or(1));
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let surge = scaled(rolling.and_then(|r| r.max_surge.as_ref()), replicas, true, 25);
    let mut unavailable = scaled(rolling.and_then(|r| r.max_unavailable.as_ref()), replicas, false, 25);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Some((replicas - unavailable).max(0))
}

impl Checker for MaxUnavailablePromise {
    fn name(&self) -> &'static str {
        "deployment-below-max-unavailable"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let now = obs.now();
        let watching_since = *self.watching_since.get_or_insert(now);
        // Which nodes had a fault in force, or one that came and went.
        let disruptions = obs.cluster.sim.disruptions().clone();
        // Programs the simulation runs as components (a volume provisioner):
        // stopped, or stopped and started since the last check, their pods crash.
        let program_faulted = |program: &str| obs.cluster.sim.is_running(program) == Some(false) || disruptions.get(program) != self.disruptions.get(program);
        for (node, faults) in obs.node_faults() {
            let came_and_went = ["kubelet/", "node/", "partition/"].iter().any(|p| {
                let key = format!("{p}{node}");
                disruptions.get(&key) != self.disruptions.get(&key)
            });
            if faults.iter().any(|f| *f != "kube-proxy stopped") || came_and_went {
                self.faulted_at.insert(node, now);
            }
        }
        let mut programs_touched: BTreeSet<String> = BTreeSet::new();
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            let runs_faulted_program = pod.spec.iter().flat_map(|s| s.containers.iter()).any(|c| {
                let image = crate::engine::node::images::parse_image(c.image.as_deref().unwrap_or(""));
                image.ok().and_then(|i| crate::engine::node::programs::program_of(&i)).is_some_and(program_faulted)
            });
            if runs_faulted_program {
                if let Some(rs) = pods::controller_uid(pod) {
                    programs_touched.insert(rs.to_string());
                }
            }
        }
        self.disruptions = disruptions;
        let recording = obs.api().is_running() && obs.api().is_etcd_running();
        if !recording {
            for at in self.faulted_at.values_mut() {
                if now.millis_since(*at) <= TOUCH_LINGERS_MS {
                    *at = now;
                }
            }
        }
        for obj in obs.stored(ids::nodes()) {
            let Object::Node(node) = &*obj else { continue };
            let Some(name) = node.metadata.name.clone() else { continue };
            let ready = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
            match ready {
                Some(c) if c.status == "True" => {
                    // Ready again, maybe only just: Unknown and back within one
                    // instant leaves pods marked not Ready, and its trace here.
                    if let Some(since) = c.last_transition_time.as_ref().map(crate::engine::api::meta::virtual_of).filter(|t| *t > watching_since) {
                        let at = self.faulted_at.entry(name).or_insert(since);
                        *at = (*at).max(since);
                    }
                }
                _ => {
                    self.faulted_at.insert(name, now);
                }
            }
        }
        let restores = obs.api().store().restores().len();
        if restores != self.restores_seen {
            self.restores_seen = restores;
            self.restored_at = Some(now);
        }
        let restore_lingers = self.restored_at.is_some_and(|t| now.millis_since(t) <= TOUCH_LINGERS_MS);

        // ReplicaSet uid → its Deployment's uid.
        let mut owner_of_rs: BTreeMap<String, String> = BTreeMap::new();
        for obj in obs.stored(ids::replica_sets()) {
            if let (Some(uid), Some(owner)) = (obj.meta().uid.clone(), crate::engine::api::meta::controller_of(obj.meta().owner_references.as_ref())) {
                owner_of_rs.insert(uid, owner.uid.clone());
            }
        }
        let deployments: Vec<Deployment> =
            obs.stored(ids::deployments()).iter().filter_map(|o| if let Object::Deployment(d) = &**o { Some((**d).clone()) } else { None }).collect();
        let min_ready: BTreeMap<String, u64> = deployments
            .iter()
            .filter_map(|d| Some((d.metadata.uid.clone()?, d.spec.as_ref()?.min_ready_seconds.unwrap_or(0).max(0) as u64 * 1000)))
            .collect();
        let mut available: BTreeMap<String, i64> = BTreeMap::new();
        let mut nodes_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            let Some(deployment) = pods::controller_uid(pod).and_then(|rs| owner_of_rs.get(rs)) else { continue };
            let Some(&min_ready_ms) = min_ready.get(deployment) else { continue };
            if let Some(node) = pods::node_of(pod) {
                nodes_of.entry(deployment.clone()).or_default().insert(node.to_string());
            }
            let entry = available.entry(deployment.clone()).or_default();
            if pods::available(pod, min_ready_ms, now) {
                *entry += 1;
            }
        }
        let mut seen = BTreeMap::new();
        for d in &deployments {
            let Some(uid) = d.metadata.uid.clone() else { continue };
            let count = available.get(&uid).copied().unwrap_or(0);
            let touched_now = restore_lingers
                || owner_of_rs.iter().any(|(rs, owner)| *owner == uid && programs_touched.contains(rs))
                || nodes_of.get(&uid).into_iter().flatten().any(|n| self.faulted_at.get(n).is_some_and(|t| now.millis_since(*t) <= TOUCH_LINGERS_MS));
            let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let scaled_down = self.replicas.insert(uid.clone(), replicas).is_some_and(|was| replicas < was);
            if touched_now || scaled_down {
                self.touched_until.insert(uid.clone(), now.plus_millis(TOUCH_LINGERS_MS));
            }
            let touched = self.touched_until.get(&uid).is_some_and(|t| *t >= now);
            let before = self.available.get(&uid).copied();
            seen.insert(uid.clone(), count);
            let (Some(floor), Some(before)) = (promised_floor(d), before) else { continue };
            let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
            if count < before && count < floor && !touched && !paused && d.metadata.deletion_timestamp.is_none() {
                return Err(format!(
                    "deployment {}/{}: {count} available pods, below the {floor} its rolling update promises (it had {before})",
                    d.metadata.namespace.as_deref().unwrap_or(""),
                    d.metadata.name.as_deref().unwrap_or("")
                ));
            }
        }
        self.replicas.retain(|uid, _| seen.contains_key(uid));
        self.available = seen;
        self.touched_until.retain(|_, t| *t >= now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, strategy: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"replicas": replicas, "selector": {}, "template": {}, "strategy": strategy}})).unwrap()
    }

    #[test]
    fn floors_round_as_the_controller() {
        assert_eq!(promised_floor(&deployment(4, json!({}))), Some(3));
        assert_eq!(promised_floor(&deployment(3, json!({}))), Some(3), "25% of 3 rounds down to 0");
        assert_eq!(promised_floor(&deployment(3, json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}))), Some(2));
        assert_eq!(promised_floor(&deployment(10, json!({"rollingUpdate": {"maxUnavailable": "50%"}}))), Some(5));
        assert_eq!(promised_floor(&deployment(3, json!({"type": "Recreate"}))), None);
    }
}
