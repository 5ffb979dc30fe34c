//! The Node object and Lease a 1.33 kubelet registers and keeps up to date.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeFeatures, NodeRuntimeHandler,
    NodeRuntimeHandlerFeatures, NodeSpec as ApiNodeSpec, NodeStatus, NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::runtime::{Flavor, Runtime};
use crate::engine::api::meta::{api_micro_time, api_time};
use crate::engine::cluster::NodeSpec;
use crate::engine::sim::clock::VirtualTime;

pub const KUBELET_VERSION: &str = "v1.33.1";
/// `nodeLeaseDurationSeconds`.
pub const LEASE_DURATION_SECONDS: i32 = 40;
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The kubelet's images report is capped (`nodeStatusMaxImages`).
const MAX_IMAGES_REPORTED: usize = 50;
const MINIKUBE_VERSION: &str = "v1.36.0";
const MINIKUBE_COMMIT: &str = "f8f52f5de11fc6ad8244afac475e1d0f96841df1";

/// Identifiers read from the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineIds {
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
}

pub fn is_minikube(spec: &NodeSpec) -> bool {
    Flavor::for_node(&spec.name) == Flavor::Docker
}

fn quantity(s: impl Into<String>) -> Quantity {
    Quantity(s.into())
}

fn cpu_quantity(millis: i64) -> Quantity {
    if millis % 1000 == 0 {
        quantity((millis / 1000).to_string())
    } else {
        quantity(format!("{millis}m"))
    }
}

/// Capacity and allocatable as the kubelet computes them: minikube reserves
/// nothing; a kubeadm/kind node keeps the default 100Mi hard-eviction
/// threshold out of allocatable memory.
pub fn resources(spec: &NodeSpec) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    type Kept = ((i64, i64, i64, bool), (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>));
    thread_local! {
        /// The last node size's: every status update reports them, and a
        /// cluster's nodes mostly share one size.
        static LAST: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
    }
    let size = (spec.memory_bytes, spec.cpu_millis, spec.max_pods, is_minikube(spec));
    crate::engine::kept::last_or_make(&LAST, |kept| *kept == size, || size, || resources_of(spec))
}

fn resources_of(spec: &NodeSpec) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let memory_ki = spec.memory_bytes.max(0) / 1024;
    let storage_ki: i64 = if is_minikube(spec) { 61_202_244 } else { 102_626_232 };
    let mut capacity = BTreeMap::new();
    capacity.insert("cpu".to_string(), cpu_quantity(spec.cpu_millis.max(0)));
    capacity.insert("ephemeral-storage".to_string(), quantity(format!("{storage_ki}Ki")));
    capacity.insert("hugepages-1Gi".to_string(), quantity("0"));
    capacity.insert("hugepages-2Mi".to_string(), quantity("0"));
    capacity.insert("memory".to_string(), quantity(format!("{memory_ki}Ki")));
    capacity.insert("pods".to_string(), quantity(spec.max_pods.max(0).to_string()));
    let mut allocatable = capacity.clone();
    if !is_minikube(spec) {
        allocatable.insert("memory".to_string(), quantity(format!("{}Ki", (memory_ki - 102_400).max(0))));
    }
    (capacity, allocatable)
}

/// The Node as the kubelet first creates it.
pub fn initial_node(spec: &NodeSpec, now: VirtualTime) -> Node {
    let mut labels = crate::engine::sort::insert_all::<BTreeMap<_, _>, _>([
        ("beta.kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("kubernetes.io/hostname".to_string(), spec.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
    ]);
    if spec.control_plane {
        labels.insert("node-role.kubernetes.io/control-plane".into(), String::new());
        labels.insert("node.kubernetes.io/exclude-from-external-load-balancers".into(), String::new());
    }
    let flavor = Flavor::for_node(&spec.name);
    if flavor == Flavor::Docker {
        let stamp = api_time(now).0.strftime("%Y_%m_%dT%H_%M_%S_0700").to_string();
        labels.insert("minikube.k8s.io/commit".into(), MINIKUBE_COMMIT.into());
        labels.insert("minikube.k8s.io/name".into(), "minikube".into());
        labels.insert("minikube.k8s.io/primary".into(), (spec.name == "minikube").to_string());
        labels.insert("minikube.k8s.io/updated_at".into(), stamp);
        labels.insert("minikube.k8s.io/version".into(), MINIKUBE_VERSION.into());
    }
    let socket = match flavor {
        Flavor::Containerd => "unix:///run/containerd/containerd.sock",
        Flavor::Docker => "unix:///var/run/cri-dockerd.sock",
    };
    let annotations = crate::engine::sort::insert_all::<BTreeMap<_, _>, _>([
        ("kubeadm.alpha.kubernetes.io/cri-socket".to_string(), socket.to_string()),
        ("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string()),
        ("volumes.kubernetes.io/controller-managed-attach-detach".to_string(), "true".to_string()),
    ]);
    let taints = spec.tainted.then(|| {
        vec![Taint { key: "node-role.kubernetes.io/control-plane".into(), effect: "NoSchedule".into(), value: None, time_added: None }]
    });
    Node {
        metadata: ObjectMeta { name: Some(spec.name.clone()), labels: Some(labels), annotations: Some(annotations), ..Default::default() },
        spec: Some(ApiNodeSpec {
            pod_cidr: Some(spec.pod_cidr.clone()),
            pod_cidrs: Some(vec![spec.pod_cidr.clone()]),
            taints,
            ..Default::default()
        }),
        status: None,
    }
}

/// Whether the node can run pods, with the kubelet's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The runtime's network (CNI) is not up yet after boot.
    NetworkNotReady,
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, previous: Option<&NodeStatus>, now: VirtualTime) -> NodeCondition {
    let previous = previous.and_then(|p| p.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    let transition = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(api_time(now)),
    };
    NodeCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_heartbeat_time: Some(api_time(now)),
        last_transition_time: transition,
    }
}

/// The status the kubelet reports now; transition times carry over from `previous`.
pub fn status(spec: &NodeSpec, ids: &MachineIds, runtime: &Runtime, readiness: &Readiness, previous: Option<&NodeStatus>, now: VirtualTime) -> NodeStatus {
    let (capacity, allocatable) = resources(spec);
    let (ready_status, ready_reason, ready_message) = match readiness {
        Readiness::Ready => ("True", "KubeletReady", "kubelet is posting ready status"),
        Readiness::NetworkNotReady => (
            "False",
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        ),
    };
    let conditions = vec![
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", previous, now),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", previous, now),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", previous, now),
        condition("Ready", ready_status, ready_reason, ready_message, previous, now),
    ];
    let flavor = runtime.flavor;
    let images = runtime.reported_images(|| {
        runtime
            .images()
            .into_iter()
            .take(MAX_IMAGES_REPORTED)
            .map(|img| {
                let (repo, tagged) = match flavor {
                    Flavor::Containerd => (img.name.canonical_repository(), img.name.canonical()),
                    Flavor::Docker => (img.name.short_repository(), img.name.short()),
                };
                let digest = super::images::at_digest("", &repo, &img.name);
                ContainerImage { names: Some(vec![digest, tagged]), size_bytes: Some(img.size_bytes as i64) }
            })
            .collect()
    });
    let (os_image, runtime_handlers, features) = match flavor {
        Flavor::Docker => ("Ubuntu 22.04.5 LTS", None, None),
        Flavor::Containerd => {
            let features = || Some(NodeRuntimeHandlerFeatures { recursive_read_only_mounts: Some(true), user_namespaces: Some(true) });
            (
                "Debian GNU/Linux 12 (bookworm)",
                Some(vec![
                    NodeRuntimeHandler { name: Some("runc".into()), features: features() },
                    NodeRuntimeHandler { name: Some(String::new()), features: features() },
                ]),
                Some(NodeFeatures { supplemental_groups_policy: Some(true) }),
            )
        }
    };
    NodeStatus {
        addresses: Some(vec![
            NodeAddress { type_: "InternalIP".into(), address: spec.address.clone() },
            NodeAddress { type_: "Hostname".into(), address: spec.name.clone() },
        ]),
        allocatable: Some(allocatable),
        capacity: Some(capacity),
        conditions: Some(conditions),
        daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }) }),
        features,
        images: Some(images),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".into(),
            boot_id: ids.boot_id.clone(),
            container_runtime_version: flavor.version().into(),
            kernel_version: "6.8.0-60-generic".into(),
            // DisableNodeKubeProxyVersion is on by default in 1.33: the kubelet leaves it empty.
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.into(),
            machine_id: ids.machine_id.clone(),
            operating_system: "linux".into(),
            os_image: os_image.into(),
            swap: None,
            system_uuid: ids.system_uuid.clone(),
        }),
        runtime_handlers,
        ..Default::default()
    }
}

/// Whether two statuses differ in anything but heartbeat times (what makes
/// the kubelet post before `nodeStatusReportFrequency`).
pub fn differs(a: &NodeStatus, b: &NodeStatus) -> bool {
    // Field by field, every field named (a field added to the type must be
    // compared here), without copying either status.
    let NodeStatus { addresses, allocatable, capacity, conditions, config, daemon_endpoints, features, images, node_info, phase, runtime_handlers, volumes_attached, volumes_in_use } = a;
    let same_condition = |x: &NodeCondition, y: &NodeCondition| {
        let NodeCondition { last_heartbeat_time: _, last_transition_time: _, message, reason, status, type_ } = x;
        *message == y.message && *reason == y.reason && *status == y.status && *type_ == y.type_
    };
    let same_conditions = match (conditions, &b.conditions) {
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_condition(x, y)),
        (x, y) => x.is_none() && y.is_none(),
    };
    !(same_conditions
        && *addresses == b.addresses
        && *allocatable == b.allocatable
        && *capacity == b.capacity
        && *config == b.config
        && *daemon_endpoints == b.daemon_endpoints
        && *features == b.features
        && *images == b.images
        && *node_info == b.node_info
        && *phase == b.phase
        && *runtime_handlers == b.runtime_handlers
        && *volumes_attached == b.volumes_attached
        && *volumes_in_use == b.volumes_in_use)
}

pub fn ready_status(status: Option<&NodeStatus>) -> Option<String> {
    status?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready").map(|c| c.status.clone())
}

/// The node's Lease in `kube-node-lease`, owned by its Node.
pub fn lease(node: &str, node_uid: Option<&str>, now: VirtualTime) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node.to_string()),
            namespace: Some(LEASE_NAMESPACE.to_string()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference { api_version: "v1".into(), kind: "Node".into(), name: node.to_string(), uid: uid.to_string(), ..Default::default() }]
            }),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            renew_time: Some(api_micro_time(now)),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `differs` answers, by copying both statuses without their times.
    fn differs_by_copies(a: &NodeStatus, b: &NodeStatus) -> bool {
        let strip = |s: &NodeStatus| {
            let mut s = s.clone();
            for c in s.conditions.iter_mut().flatten() {
                c.last_heartbeat_time = None;
                c.last_transition_time = None;
            }
            s
        };
        strip(a) != strip(b)
    }

    #[test]
    fn a_node_size_reported_again_has_the_resources_worked_out_afresh() {
        let spec = |name: &str, cpu_millis: i64, memory_bytes: i64| crate::engine::cluster::NodeSpec {
            name: name.into(),
            cpu_millis,
            memory_bytes,
            max_pods: 110,
            control_plane: false,
            tainted: false,
            pod_cidr: "10.244.1.0/24".into(),
            address: "172.18.0.3".into(),
            join_after_ms: 0,
        };
        let sizes = [spec("kind-worker", 2000, 4 << 30), spec("kind-worker2", 2000, 4 << 30), spec("minikube", 2000, 4 << 30), spec("kind-worker", 4000, 4 << 30), spec("kind-worker", 4000, 8 << 30), spec("kind-worker", 2000, 4 << 30)];
        for s in &sizes {
            assert_eq!(resources(s), resources_of(s), "{}", s.name);
        }
        assert_ne!(resources(&sizes[0]).1, resources(&sizes[2]).1, "minikube keeps no eviction threshold out");
    }

    #[test]
    fn statuses_differ_in_anything_but_their_conditions_times() {
        let time = |secs: u64| Some(api_time(VirtualTime::from_secs(secs)));
        let condition = |type_: &str, status: &str, at: u64| NodeCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some("KubeletReady".into()),
            message: Some("kubelet is posting ready status".into()),
            last_heartbeat_time: time(at),
            last_transition_time: time(at),
        };
        let base = NodeStatus {
            conditions: Some(vec![condition("MemoryPressure", "False", 10), condition("Ready", "True", 10)]),
            phase: None,
            addresses: Some(vec![NodeAddress { type_: "InternalIP".into(), address: "192.168.49.2".into() }]),
            ..Default::default()
        };
        let mut variants = vec![base.clone(), NodeStatus::default()];
        let mut later = base.clone();
        later.conditions = Some(vec![condition("MemoryPressure", "False", 50), condition("Ready", "True", 60)]);
        variants.push(later);
        let mut not_ready = base.clone();
        not_ready.conditions = Some(vec![condition("MemoryPressure", "False", 10), condition("Ready", "False", 10)]);
        variants.push(not_ready);
        let mut fewer = base.clone();
        fewer.conditions = Some(vec![condition("MemoryPressure", "False", 10)]);
        variants.push(fewer);
        let mut none = base.clone();
        none.conditions = None;
        variants.push(none);
        let mut moved = base.clone();
        moved.addresses = Some(vec![NodeAddress { type_: "InternalIP".into(), address: "192.168.49.3".into() }]);
        variants.push(moved);
        let mut images = base.clone();
        images.images = Some(vec![ContainerImage { names: Some(vec!["nginx".into()]), size_bytes: Some(1) }]);
        variants.push(images);
        let mut reason = base.clone();
        if let Some(c) = reason.conditions.as_mut().and_then(|c| c.last_mut()) {
            c.reason = None;
        }
        variants.push(reason);
        for a in &variants {
            for b in &variants {
                assert_eq!(differs(a, b), differs_by_copies(a, b), "{a:?} against {b:?}");
            }
        }
        assert!(!differs(&variants[0], &variants[2]), "heartbeats alone");
    }
}
