//! In-place pod resize on the node (1.33's `handlePodResourcesResize`,
//! `canResizePod` and the runtime's `computePodResizeAction`): a pod whose
//! containers' CPU or memory changed through `pods/resize` is allocated the
//! new resources if the node has room for them, beside the other pods'
//! allocations, and its containers then run with them; one that can never
//! fit is `Infeasible`, one that fits only once others leave `Deferred`.
//! Nothing of this is kept for a pod never resized.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, ResourceRequirements};

use crate::engine::api::meta::api_time;
use crate::engine::sim::clock::VirtualTime;

pub const PENDING: &str = "PodResizePending";
pub const IN_PROGRESS: &str = "PodResizeInProgress";

/// A resized pod's allocation and resize conditions (the allocation
/// manager's checkpoint and the status manager's `podResizeConditions`).
#[derive(Debug)]
pub(in crate::engine::node) struct Resize {
    /// The spec whose containers' resources are allocated.
    pub allocated: Rc<PodSpec>,
    /// What each running container was given by the runtime (the status's
    /// `resources`), by container name.
    pub actuated: BTreeMap<String, ResourceRequirements>,
    pub pending: Option<PodCondition>,
    pub in_progress: Option<PodCondition>,
    /// When the runtime has applied the allocation (the sync after the one
    /// that made it).
    pub actuate_at: Option<VirtualTime>,
    /// When a pending resize is tried again (the pod worker's next resync).
    pub retry_at: Option<VirtualTime>,
}

impl Resize {
    /// The first resize of a pod admitted with `allocated`.
    pub fn new(allocated: Rc<PodSpec>) -> Self {
        let actuated = resizable(&allocated).map(|c| (c.name.clone(), c.resources.clone().unwrap_or_default())).collect();
        Resize { allocated, actuated, pending: None, in_progress: None, actuate_at: None, retry_at: None }
    }

    /// `SetPodResizePendingCondition` (`updatedPodResizeCondition`): probed
    /// now, its transition kept while its reason is.
    pub fn set_pending(&mut self, reason: &str, message: String, now: VirtualTime) {
        self.pending = Some(condition(PENDING, self.pending.as_ref(), reason, message, now));
    }

    pub fn set_in_progress(&mut self, now: VirtualTime) {
        if self.in_progress.is_none() {
            self.in_progress = Some(condition(IN_PROGRESS, None, "", String::new(), now));
        }
    }

    /// Whether the allocation differs from what the containers run with
    /// (`isPodResizeInProgress`).
    pub fn actuating(&self) -> bool {
        resizable(&self.allocated).any(|c| self.actuated.get(&c.name).is_none_or(|r| !same_cpu_memory(r, c.resources.as_ref())))
    }

    /// The resize conditions the kubelet's status carries, before its own
    /// (`determinePodResizeStatus`).
    pub fn conditions(&self) -> impl Iterator<Item = &PodCondition> {
        self.pending.iter().chain(self.in_progress.iter())
    }
}

/// What a restarted kubelet finds of a resized pod (1.33 reads its
/// allocation checkpoint): the resources its status reports as what the
/// containers run with, allocated unless a resize was pending, in which
/// case the spec's are tried again at the first sync.
pub fn restored(pod: &crate::engine::api::pod::Pod) -> Option<Box<Resize>> {
    let status = pod.status.as_deref().filter(|s| s.reports_container_resources())?;
    let status: &k8s_openapi::api::core::v1::PodStatus = status;
    let spec = pod.spec.clone()?;
    let reported = |name: &str| status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten()).find(|c| c.name == name).and_then(|c| c.resources.clone());
    let actuated: BTreeMap<String, ResourceRequirements> = resizable(&spec).filter_map(|c| reported(&c.name).map(|r| (c.name.clone(), r))).collect();
    let pending = status.conditions.iter().flatten().find(|c| c.type_ == PENDING).cloned();
    let allocated = if pending.is_some() {
        let mut allocated = (*spec).clone();
        let sidecars = allocated.init_containers.iter_mut().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
        for c in allocated.containers.iter_mut().chain(sidecars) {
            if let Some(r) = actuated.get(&c.name) {
                c.resources = Some(r.clone());
            }
        }
        Rc::new(allocated)
    } else {
        spec
    };
    Some(Box::new(Resize { allocated, actuated, pending, in_progress: None, actuate_at: None, retry_at: None }))
}

fn condition(type_: &str, old: Option<&PodCondition>, reason: &str, message: String, now: VirtualTime) -> PodCondition {
    let transition = match old {
        Some(o) if o.reason.as_deref().unwrap_or("") == reason => o.last_transition_time.clone(),
        _ => Some(api_time(now)),
    };
    PodCondition {
        type_: type_.to_string(),
        status: "True".to_string(),
        last_probe_time: Some(api_time(now)),
        last_transition_time: transition,
        reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
        message: Some(message).filter(|m| !m.is_empty()),
        observed_generation: None,
    }
}

/// The containers a resize may change: the regular ones and the sidecars.
pub fn resizable(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.containers.iter().chain(spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always")))
}

/// Whether two specs give their resizable containers the same resources.
pub fn same_resources(a: &PodSpec, b: &PodSpec) -> bool {
    resizable(a).count() == resizable(b).count() && resizable(a).zip(resizable(b)).all(|(x, y)| x.name == y.name && x.resources == y.resources)
}

fn same_cpu_memory(running: &ResourceRequirements, wanted: Option<&ResourceRequirements>) -> bool {
    let empty = ResourceRequirements::default();
    let wanted = wanted.unwrap_or(&empty);
    running.requests == wanted.requests && running.limits == wanted.limits
}

/// `computePodResizeAction`'s restart rule: a container restarts when a
/// resource whose resize policy is `RestartContainer` changed (CPU by its
/// request or limit, memory by its limit).
pub fn needs_restart(c: &Container, running: &ResourceRequirements) -> bool {
    let policy = |name: &str| c.resize_policy.iter().flatten().find(|p| p.resource_name == name).is_some_and(|p| p.restart_policy == "RestartContainer");
    let value = |r: Option<&ResourceRequirements>, limits: bool, name: &str| {
        r.and_then(|r| if limits { r.limits.as_ref() } else { r.requests.as_ref() }).and_then(|m| m.get(name)).map(crate::engine::scheduler::resources::milli_value)
    };
    let wanted = c.resources.as_ref();
    let changed = |limits: bool, name: &str| value(wanted, limits, name) != value(Some(running), limits, name);
    (policy("cpu") && (changed(false, "cpu") || changed(true, "cpu"))) || (policy("memory") && changed(true, "memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ContainerResizePolicy;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn container(cpu: &str, memory: &str, memory_policy: &str) -> Container {
        let list = BTreeMap::from([("cpu".to_string(), Quantity(cpu.into())), ("memory".to_string(), Quantity(memory.into()))]);
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements { requests: Some(list.clone()), limits: Some(list), ..Default::default() }),
            resize_policy: Some(vec![ContainerResizePolicy { resource_name: "memory".into(), restart_policy: memory_policy.into() }]),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_resource_whose_policy_restarts_restarts_the_container() {
        let running = container("500m", "200Mi", "RestartContainer").resources.unwrap_or_default();
        assert!(!needs_restart(&container("800m", "200Mi", "RestartContainer"), &running), "cpu is NotRequired by default");
        assert!(needs_restart(&container("500m", "300Mi", "RestartContainer"), &running));
        assert!(!needs_restart(&container("500m", "300Mi", "NotRequired"), &running));
        assert!(!needs_restart(&container("0.5", "200Mi", "RestartContainer"), &running), "the same quantity written otherwise is no change");
    }

    #[test]
    fn a_pending_condition_keeps_its_transition_while_its_reason_holds() {
        let mut r = Resize::new(Rc::new(PodSpec { containers: vec![container("1", "1Gi", "NotRequired")], ..Default::default() }));
        assert!(!r.actuating());
        r.set_pending("Deferred", "m".into(), VirtualTime::ZERO.plus_millis(1_000));
        let first = r.pending.clone().and_then(|c| c.last_transition_time);
        r.set_pending("Deferred", "m".into(), VirtualTime::ZERO.plus_millis(5_000));
        assert_eq!(r.pending.clone().and_then(|c| c.last_transition_time), first);
        r.set_pending("Infeasible", "m".into(), VirtualTime::ZERO.plus_millis(9_000));
        assert_ne!(r.pending.clone().and_then(|c| c.last_transition_time), first);
    }
}
