//! Resource quantities and pod requests, as the scheduler accounts them.
//!
//! A pod's request is what `resourcehelper.PodRequests` computes in 1.33:
//! the larger of (regular containers + restartable init containers) and the
//! peak of any init container (plus the sidecars started before it), plus
//! the pod overhead. The "non-zero" variant gives containers that set no cpu
//! or memory request 100m and 200Mi, so that scoring spreads best-effort pods.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, Node, PodSpec};
use rustc_hash::FxHashMap;
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::engine::quantity;

/// cpu given to a container without a cpu request, for scoring only.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// memory given to a container without a memory request, for scoring only.
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A quantity in milli-units (cpu), 0 when malformed.
pub fn milli_value(q: &Quantity) -> i64 {
    quantity::milli_value_of(q)
}

/// A quantity in whole units (bytes, counts), 0 when malformed.
pub fn value(q: &Quantity) -> i64 {
    quantity::value_of(q)
}

/// Amounts of every resource the scheduler accounts. Extended resources
/// (`nvidia.com/gpu`, `hugepages-2Mi`, ...) live in `scalar`, by name.
/// In this order and 40 bytes, so that a node's allocatable and the first
/// three of its requested fit one cache line (see `NodeInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Only meaningful for a node's allocatable (`pods`).
    pub pods: i64,
    pub scalar: Scalars,
}

/// Extended resources by name, boxed since nearly every node and pod has
/// none: an empty set is no box, never an empty one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scalars(Option<Box<BTreeMap<String, i64>>>);

impl Scalars {
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &i64)> {
        self.0.iter().flat_map(|m| m.iter())
    }

    pub fn get(&self, name: &str) -> Option<i64> {
        self.0.as_ref().and_then(|m| m.get(name)).copied()
    }

    /// Keeps the names `keep` accepts (a set left empty is no box).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let Some(map) = self.0.as_mut() else { return };
        map.retain(|name, _| keep(name));
        if map.is_empty() {
            self.0 = None;
        }
    }

    /// Sets `name` to `change(its amount, or 0)`.
    fn update(&mut self, name: &str, change: impl FnOnce(i64) -> i64) {
        let map = self.0.get_or_insert_with(Default::default);
        let slot = match map.get_mut(name) {
            Some(slot) => slot,
            None => map.entry(name.to_string()).or_insert(0),
        };
        *slot = change(*slot);
    }

    /// Takes `amount` from `name` if it is set, forgetting it at zero.
    fn take(&mut self, name: &str, amount: i64) {
        let Some(map) = self.0.as_mut() else { return };
        if let Some(slot) = map.get_mut(name) {
            *slot = slot.saturating_sub(amount);
            if *slot == 0 {
                map.remove(name);
            }
        }
        if map.is_empty() {
            self.0 = None;
        }
    }
}

impl Resources {
    fn add_named(&mut self, name: &str, amount: i64) {
        match name {
            "cpu" => self.milli_cpu = self.milli_cpu.saturating_add(amount),
            "memory" => self.memory = self.memory.saturating_add(amount),
            "ephemeral-storage" => self.ephemeral_storage = self.ephemeral_storage.saturating_add(amount),
            "pods" => self.pods = self.pods.saturating_add(amount),
            other => self.scalar.update(other, |slot| slot.saturating_add(amount)),
        }
    }

    /// From a resource list (`requests`, `allocatable`): cpu in millis, the rest in units.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        let mut out = Resources::default();
        for (name, q) in list {
            let amount = if name == "cpu" { milli_value(q) } else { value(q) };
            out.add_named(name, amount);
        }
        out
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, &amount) in other.scalar.iter() {
            self.scalar.update(name, |slot| slot.saturating_add(amount));
        }
    }

    pub fn subtract(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, &amount) in other.scalar.iter() {
            self.scalar.take(name, amount);
        }
    }

    /// Element-wise maximum (an init container's peak against the rest).
    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (name, &amount) in other.scalar.iter() {
            self.scalar.update(name, |slot| slot.max(amount));
        }
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).unwrap_or(0)
    }
}

/// What a pod asks for: the real requests (fit) and the non-zero cpu and
/// memory (least-allocated scoring).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    pub requests: Resources,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
}

/// A container's requests as written.
fn container_requests(c: &Container) -> Resources {
    c.resources.as_ref().and_then(|r| r.requests.as_ref()).map(Resources::from_list).unwrap_or_default()
}

/// The cpu and memory that scoring counts: the non-zero variant of the
/// requests, summed and peaked as the requests themselves are.
#[derive(Clone, Copy, Default)]
struct NonZero {
    milli_cpu: i64,
    memory: i64,
}

impl NonZero {
    /// A container's: its requests, with the defaults for a missing cpu or memory request.
    fn of(c: &Container, r: &Resources) -> Self {
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        NonZero {
            milli_cpu: if requests.is_some_and(|m| m.contains_key("cpu")) { r.milli_cpu } else { DEFAULT_MILLI_CPU_REQUEST },
            memory: if requests.is_some_and(|m| m.contains_key("memory")) { r.memory } else { DEFAULT_MEMORY_REQUEST },
        }
    }

    fn add(&mut self, other: NonZero) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
    }

    fn max_with(&mut self, other: NonZero) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
    }
}

/// The pod's requests and their non-zero variant, in one pass with each
/// container's quantities parsed once (the scheduler reads a pod's
/// requests at every attempt).
pub fn pod_requests(pod: &Pod) -> PodRequests {
    let Some(spec) = pod.spec.as_ref() else { return PodRequests::default() };
    KEPT_REQUESTS.with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some((_, requests)) = kept.get(&Rc::as_ptr(spec)) {
            return requests.clone();
        }
        let requests = spec_requests(spec);
        if kept.len() >= KEPT_SPECS {
            kept.clear();
        }
        kept.insert(Rc::as_ptr(spec), (Rc::clone(spec), requests.clone()));
        requests
    })
}

/// The requests the scheduler counts for a pod on a node (`PodRequests`
/// with `UseStatusResources`, as 1.33 sets it with InPlacePodVerticalScaling
/// on): for a pod whose kubelet reports its containers' resources, each
/// container counts the larger of its spec's and its status's requests,
/// or its status's alone while the resize is `Infeasible`. Other pods
/// count their spec's, kept by spec.
pub fn scheduled_requests(pod: &Pod) -> PodRequests {
    if !pod.status.as_deref().is_some_and(|s| s.reports_container_resources()) {
        return pod_requests(pod);
    }
    let (Some(spec), Some(status)) = (pod.spec.as_deref(), pod.status.as_deref()) else { return pod_requests(pod) };
    let status: &k8s_openapi::api::core::v1::PodStatus = status;
    let infeasible = status.conditions.iter().flatten().any(|c| c.type_ == "PodResizePending" && c.reason.as_deref() == Some("Infeasible"));
    let mut effective = spec.clone();
    let reported = |name: &str, init: bool| {
        let list = if init { status.init_container_statuses.as_ref() } else { status.container_statuses.as_ref() };
        list.into_iter().flatten().find(|s| s.name == name).and_then(|s| s.resources.as_ref()).map(|r| r.requests.clone().unwrap_or_default())
    };
    let containers = effective.containers.iter_mut().map(|c| (c, false)).chain(effective.init_containers.iter_mut().flatten().map(|c| (c, true)));
    for (c, init) in containers {
        let Some(reported) = reported(&c.name, init) else { continue };
        let requests = c.resources.get_or_insert_with(Default::default).requests.get_or_insert_with(Default::default);
        if infeasible {
            *requests = reported;
            continue;
        }
        for (name, q) in reported {
            if requests.get(&name).is_none_or(|have| milli_value(&q) > milli_value(have)) {
                requests.insert(name, q);
            }
        }
    }
    spec_requests(&effective)
}

/// How many specs' requests [`pod_requests`] keeps. The pods of one
/// template share their spec, and a node's kubelet and the scheduler meet
/// the pods of many templates in turn: a single kept spec missed nearly
/// every time in a cluster of many Deployments.
const KEPT_SPECS: usize = 1024;

thread_local! {
    /// Requests by spec address, each with its spec held so the address
    /// stays its own (a shared spec is never changed in place while held).
    static KEPT_REQUESTS: RefCell<FxHashMap<*const PodSpec, (Rc<PodSpec>, PodRequests)>> = RefCell::new(FxHashMap::default());
}

/// [`pod_requests`] of a spec, worked out.
fn spec_requests(spec: &PodSpec) -> PodRequests {
    let mut sum = Resources::default();
    let mut sum_nz = NonZero::default();
    for c in &spec.containers {
        let r = container_requests(c);
        sum_nz.add(NonZero::of(c, &r));
        sum.add(&r);
    }
    // Sidecars (init containers that keep running) add to the steady state;
    // each ordinary init container runs alone beside the sidecars before it.
    let (mut sidecars, mut sidecars_nz) = (Resources::default(), NonZero::default());
    let (mut init_peak, mut init_peak_nz) = (Resources::default(), NonZero::default());
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        let nz = NonZero::of(c, &r);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            init_peak.max_with(&sidecars);
            sidecars_nz.add(nz);
            init_peak_nz.max_with(sidecars_nz);
        } else {
            let mut peak = sidecars.clone();
            peak.add(&r);
            init_peak.max_with(&peak);
            let mut peak_nz = sidecars_nz;
            peak_nz.add(nz);
            init_peak_nz.max_with(peak_nz);
        }
    }
    sum.add(&sidecars);
    sum.max_with(&init_peak);
    sum_nz.add(sidecars_nz);
    sum_nz.max_with(init_peak_nz);
    if let Some(overhead) = spec.overhead.as_ref() {
        let overhead = Resources::from_list(overhead);
        sum_nz.add(NonZero { milli_cpu: overhead.milli_cpu, memory: overhead.memory });
        sum.add(&overhead);
    }
    sum.pods = 0;
    PodRequests { requests: sum, non_zero_milli_cpu: sum_nz.milli_cpu, non_zero_memory: sum_nz.memory }
}

/// A node's `status.allocatable`, falling back to `capacity` as the scheduler does
/// when a kubelet reports no allocatable.
pub fn node_allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    let Some(list) = status.and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref())) else { return Resources::default() };
    // Nodes of one size report equal lists: the last one's sum is kept
    // (every pod's admission reads its node's).
    crate::engine::kept::last_or_make(&LAST_ALLOCATABLE, |kept| kept == list, || list.clone(), || Resources::from_list(list))
}

thread_local! {
    static LAST_ALLOCATABLE: RefCell<Option<(BTreeMap<String, Quantity>, Resources)>> = const { RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resized_pod_counts_the_larger_of_its_spec_and_status_requests_unless_infeasible() {
        use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodStatus, ResourceRequirements};
        let cpu = |q: &str| Some(BTreeMap::from([("cpu".to_string(), Quantity(q.into()))]));
        let container = |q: &str| Container { name: "c".into(), resources: Some(ResourceRequirements { requests: cpu(q), ..Default::default() }), ..Default::default() };
        let pod = |spec: &str, status: Option<&str>, infeasible: bool| {
            let mut p = Pod { spec: Some(Rc::new(PodSpec { containers: vec![container(spec)], ..Default::default() })), ..Default::default() };
            let statuses = status.map(|q| vec![ContainerStatus { name: "c".into(), resources: Some(ResourceRequirements { requests: cpu(q), ..Default::default() }), ..Default::default() }]);
            let conditions = infeasible.then(|| vec![PodCondition { type_: "PodResizePending".into(), status: "True".into(), reason: Some("Infeasible".into()), ..Default::default() }]);
            p.status = Some(Rc::new(PodStatus { container_statuses: statuses, conditions, ..Default::default() }.into()));
            p
        };
        assert_eq!(scheduled_requests(&pod("500m", None, false)).requests.milli_cpu, 500, "a pod never resized counts its spec");
        assert_eq!(scheduled_requests(&pod("500m", Some("800m"), false)).requests.milli_cpu, 800, "a downsize not yet actuated");
        assert_eq!(scheduled_requests(&pod("900m", Some("800m"), false)).requests.milli_cpu, 900, "an upsize allocated");
        assert_eq!(scheduled_requests(&pod("9000", Some("800m"), true)).requests.milli_cpu, 800, "an infeasible upsize");
    }

    #[test]
    fn extended_resources_taken_back_to_zero_leave_no_set_behind() {
        let gpus = Resources::from_list(&BTreeMap::from([("nvidia.com/gpu".to_string(), Quantity("2".into())), ("cpu".to_string(), Quantity("1".into()))]));
        assert_eq!((gpus.scalar("nvidia.com/gpu"), gpus.milli_cpu), (2, 1000));
        let mut node = Resources::default();
        node.add(&gpus);
        node.add(&gpus);
        assert_eq!(node.scalar("nvidia.com/gpu"), 4);
        node.subtract(&gpus);
        node.subtract(&gpus);
        assert_eq!(node, Resources::default());
        assert!(node.scalar.is_empty());
        // A request of zero is still named, as the map kept it.
        let zero = Resources::from_list(&BTreeMap::from([("example.com/dongle".to_string(), Quantity("0".into()))]));
        assert!(!zero.scalar.is_empty());
        assert_eq!(zero.scalar.iter().collect::<Vec<_>>(), vec![(&"example.com/dongle".to_string(), &0)]);
    }

    /// The two passes `pod_requests` made before it parsed each container
    /// once: the reference it must agree with.
    fn container_requests_with(c: &Container, non_zero: bool) -> Resources {
        let mut r = container_requests(c);
        if non_zero {
            let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
            if !requests.is_some_and(|m| m.contains_key("cpu")) {
                r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
            }
            if !requests.is_some_and(|m| m.contains_key("memory")) {
                r.memory = DEFAULT_MEMORY_REQUEST;
            }
        }
        r
    }

    fn pod_requests_with(pod: &Pod, non_zero: bool) -> Resources {
        let Some(spec) = pod.spec.as_ref() else { return Resources::default() };
        let mut sum = Resources::default();
        for c in &spec.containers {
            sum.add(&container_requests_with(c, non_zero));
        }
        let mut sidecars = Resources::default();
        let mut init_peak = Resources::default();
        for c in spec.init_containers.iter().flatten() {
            let r = container_requests_with(c, non_zero);
            if c.restart_policy.as_deref() == Some("Always") {
                sidecars.add(&r);
                init_peak.max_with(&sidecars);
            } else {
                let mut peak = sidecars.clone();
                peak.add(&r);
                init_peak.max_with(&peak);
            }
        }
        sum.add(&sidecars);
        sum.max_with(&init_peak);
        if let Some(overhead) = spec.overhead.as_ref() {
            sum.add(&Resources::from_list(overhead));
        }
        sum.pods = 0;
        sum
    }

    #[test]
    fn one_pass_agrees_with_the_requests_and_their_non_zero_variant() {
        let mut rng = fastrand::Rng::with_seed(7);
        let cpus = ["", "0", "50m", "250m", "1", "1.5", "3"];
        let mems = ["", "0", "64Mi", "100Mi", "1Gi", "300M"];
        let container = |rng: &mut fastrand::Rng, name: String, sidecar: bool| {
            let mut requests = serde_json::Map::new();
            let cpu = cpus[rng.usize(..cpus.len())];
            let memory = mems[rng.usize(..mems.len())];
            if !cpu.is_empty() {
                requests.insert("cpu".into(), cpu.into());
            }
            if !memory.is_empty() {
                requests.insert("memory".into(), memory.into());
            }
            if rng.u8(..4) == 0 {
                requests.insert("nvidia.com/gpu".into(), "1".into());
            }
            let mut c = serde_json::json!({"name": name});
            if !requests.is_empty() || rng.bool() {
                c["resources"] = serde_json::json!({"requests": requests});
            }
            if sidecar {
                c["restartPolicy"] = "Always".into();
            }
            c
        };
        for round in 0..500 {
            let containers: Vec<_> = (0..rng.usize(1..4)).map(|i| container(&mut rng, format!("c{i}"), false)).collect();
            let inits: Vec<_> = (0..rng.usize(0..4))
                .map(|i| {
                    let sidecar = rng.bool();
                    container(&mut rng, format!("i{i}"), sidecar)
                })
                .collect();
            let mut spec = serde_json::json!({"containers": containers});
            if !inits.is_empty() {
                spec["initContainers"] = serde_json::json!(inits);
            }
            if rng.u8(..3) == 0 {
                spec["overhead"] = serde_json::json!({"cpu": "120m", "memory": "32Mi"});
            }
            let pod: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": format!("p{round}")}, "spec": spec})).unwrap();
            let got = pod_requests(&pod);
            let non_zero = pod_requests_with(&pod, true);
            assert_eq!(got.requests, pod_requests_with(&pod, false), "{spec}");
            assert_eq!((got.non_zero_milli_cpu, got.non_zero_memory), (non_zero.milli_cpu, non_zero.memory), "{spec}");
        }
        assert_eq!(pod_requests(&Pod::default()), PodRequests::default());
    }

    #[test]
    fn pod_requests_follow_init_container_rules() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                    {"name": "b"}
                ],
                "initContainers": [
                    {"name": "init", "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "1"}}}
                ]
            }
        }))
        .unwrap();
        let r = pod_requests(&pod);
        assert_eq!(r.requests.milli_cpu, 1000);
        assert_eq!(r.requests.memory, 64 << 20);
        assert_eq!(r.requests.scalar("nvidia.com/gpu"), 1);
        // b has no requests: 100m + 200Mi for scoring; the init peak still wins on cpu.
        assert_eq!(r.non_zero_milli_cpu, 1000);
        assert_eq!(r.non_zero_memory, (64 << 20) + DEFAULT_MEMORY_REQUEST);
    }
}
