//! Cluster profiles and assembly: the API server with its built-in objects
//! and the installer's add-ons, the control-plane components (and their
//! static pod manifests on the control-plane node) and one kubelet and
//! kube-proxy per node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::Object;
use crate::engine::bootstrap::static_pods::{KubeadmConfig, COMPONENT_MANIFESTS};
use crate::engine::bootstrap::{rbac, AddonInstaller};
use crate::engine::controllers::ControllerManager;
use crate::engine::metrics::{self, server::MetricsServer};
use crate::engine::network::addons;
use crate::engine::network::pod_clients::PodClients;
use crate::engine::network::policy_agent::PolicyAgent;
use crate::engine::node::{KubeProxy, Kubelet};
use crate::engine::scheduler::Scheduler;
use crate::engine::apiserver::admission::allocation::ServiceRange;
use crate::engine::apiserver::ApiServer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Host, Sim};
use crate::engine::storage::provisioner;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// `control-plane` (tainted NoSchedule) and `worker-1..3`.
    Default,
    /// One node, `minikube`, control-plane role and untainted.
    Minikube,
}

impl ProfileKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "default" => Some(ProfileKind::Default),
            "minikube" => Some(ProfileKind::Minikube),
            _ => None,
        }
    }
}

/// One node's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub max_pods: i64,
    pub control_plane: bool,
    /// `node-role.kubernetes.io/control-plane:NoSchedule`.
    pub tainted: bool,
    /// The node's pod CIDR, e.g. `10.244.1.0/24`.
    pub pod_cidr: String,
    /// The node's InternalIP.
    pub address: String,
    /// When its kubelet first starts: kind joins its workers once the
    /// control plane is up (`kubeadm join`).
    pub join_after_ms: u64,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub kind: ProfileKind,
    /// What kubectl's connection errors name.
    pub server: String,
    pub nodes: Vec<NodeSpec>,
}

const GIB: i64 = 1024 * 1024 * 1024;
/// When kind's workers run `kubeadm join`: after the control plane, its
/// CNI and its storage are up, so the add-ons land on the control plane.
pub const WORKER_JOIN_MS: u64 = 20_000;

impl Profile {
    /// The node the control plane runs on (the API server's): the first.
    pub fn control_plane(&self) -> &str {
        self.nodes.first().map_or("", |n| n.name.as_str())
    }

    pub fn new(kind: ProfileKind) -> Self {
        match kind {
            ProfileKind::Minikube => Profile {
                kind,
                server: "192.168.49.2:8443".to_string(),
                nodes: vec![NodeSpec {
                    name: "minikube".into(),
                    cpu_millis: 2000,
                    memory_bytes: 4 * GIB,
                    max_pods: 110,
                    control_plane: true,
                    tainted: false,
                    pod_cidr: "10.244.0.0/24".into(),
                    address: "192.168.49.2".into(),
                    join_after_ms: 0,
                }],
            },
            ProfileKind::Default => {
                let mut nodes = vec![NodeSpec {
                    name: "control-plane".into(),
                    cpu_millis: 2000,
                    memory_bytes: 4 * GIB,
                    max_pods: 110,
                    control_plane: true,
                    tainted: true,
                    pod_cidr: "10.244.0.0/24".into(),
                    address: "172.18.0.2".into(),
                    join_after_ms: 0,
                }];
                for i in 1..=3 {
                    nodes.push(NodeSpec {
                        name: format!("worker-{i}"),
                        cpu_millis: 4000,
                        memory_bytes: 8 * GIB,
                        max_pods: 110,
                        control_plane: false,
                        tainted: false,
                        pod_cidr: format!("10.244.{i}.0/24"),
                        address: format!("172.18.0.{}", i + 2),
                        join_after_ms: WORKER_JOIN_MS,
                    });
                }
                Profile { kind, server: "172.18.0.2:6443".to_string(), nodes }
            }
        }
    }

    /// `count` identical worker nodes behind one tainted control plane, for benchmarks.
    pub fn scaled(count: usize) -> Self {
        let mut profile = Profile::new(ProfileKind::Default);
        profile.nodes.truncate(1);
        for i in 1..=count {
            profile.nodes.push(NodeSpec {
                name: format!("worker-{i}"),
                cpu_millis: 32_000,
                memory_bytes: 128 * GIB,
                max_pods: 110,
                control_plane: false,
                tainted: false,
                pod_cidr: format!("10.{}.{}.0/24", 64 + i / 256, i % 256),
                address: format!("172.{}.{}.{}", 19 + i / 65536, (i / 256) % 256, i % 256),
                join_after_ms: 0,
            });
        }
        profile
    }
}

pub struct Cluster {
    pub sim: Sim,
    pub profile: Profile,
    pub seed: u64,
    /// The namespace kubectl's kubeconfig context names, where a command
    /// without `-n` works (`kubectl config set-context --current
    /// --namespace=…`); empty for none, which kubectl reads as `default`.
    pub context_namespace: String,
    /// The learner's machine's files (`~` is `/root`): what terminal lines
    /// wrote there, read by the next ones and by kubectl's `-f`.
    pub learner: std::rc::Rc<crate::engine::node::container_fs::RootFs>,
    /// The `kubectl proxy` processes running on the learner's machine.
    pub learner_proxies: crate::engine::learner_proxy::LearnerProxies,
    /// The learner's terminal's shell between lines: its directory,
    /// variables and functions; rebuilt, as the files are, as a scene's
    /// lines replay.
    pub learner_shell: crate::engine::node::shell::ShellState,
}

/// How long a fresh cluster runs before it is handed over: every node has
/// registered and reported Ready.
pub const BOOT_MS: u64 = 60_000;

impl Cluster {
    /// A cluster of `profile` booted and settled, ready for commands.
    pub fn new(profile: Profile, seed: u64) -> Self {
        let mut cluster = Self::unbooted(profile, seed);
        cluster.sim.run_until(VirtualTime::from_millis(BOOT_MS));
        cluster
    }

    /// The cluster at virtual time zero, components registered but not yet run.
    pub fn unbooted(profile: Profile, seed: u64) -> Self {
        let mut api = ApiServer::new(seed, &profile.server);
        if let Some(range) = KubeadmConfig::for_profile(&profile).and_then(|c| ServiceRange::parse(c.service_subnet)) {
            api.service_range = range;
        }
        bootstrap_objects(&mut api);
        let _ = api.create(Object::StorageClass(Box::new(provisioner::standard_class(profile.kind))));
        addons::install_coredns(&mut api, profile.kind == ProfileKind::Minikube);
        let mut sim = Sim::new(seed, api);
        register_components(&mut sim, &profile, seed);
        host_components(&mut sim, &profile);
        Cluster { sim, profile, seed, context_namespace: "default".to_string(), learner: crate::engine::learner_home::fresh(), learner_proxies: Default::default(), learner_shell: crate::engine::learner_home::fresh_shell() }
    }

    pub fn now(&self) -> VirtualTime {
        self.sim.now()
    }
}

/// The control plane and the node agents, in a fixed order.
fn register_components(sim: &mut Sim, profile: &Profile, seed: u64) {
    let control_plane = profile.nodes.iter().find(|n| n.control_plane).or(profile.nodes.first()).map_or("control-plane", |n| n.name.as_str());
    // kubeadm's `--leader-elect=true` (minikube passes false).
    let leader_elect = KubeadmConfig::for_profile(profile).is_some_and(|c| c.leader_elect);
    if leader_elect {
        sim.add(Box::new(Scheduler::on_host(control_plane).with_leader_election()));
        sim.add(Box::new(ControllerManager::standard().with_leader_election(control_plane)));
    } else {
        sim.add(Box::new(Scheduler::on_host(control_plane)));
        sim.add(Box::new(ControllerManager::standard()));
    }
    sim.add(Box::new(provisioner::for_profile(profile, seed)));
    sim.add(Box::new(MetricsServer::new()));
    sim.add(Box::new(PodClients::default()));
    sim.add(Box::new(PolicyAgent::default()));
    let kubeadm = KubeadmConfig::for_profile(profile);
    for node in &profile.nodes {
        sim.add_node_name(&node.name);
        let mut machine = Kubelet::machine_for(node);
        machine.address = node.address.clone();
        machine.pod_cidr = node.pod_cidr.clone();
        if let Some(config) = kubeadm.as_ref().filter(|c| c.node_name == node.name) {
            machine.static_pod_manifests.extend(config.manifests());
        }
        sim.world.add_machine(&node.name, machine);
        sim.add(Box::new(Kubelet::new(node.clone())));
        sim.add(Box::new(KubeProxy::new(&node.name)));
    }
    sim.add(Box::new(AddonInstaller::new(profile)));
}

/// Where each component's process runs (see `sim::hosting`).
fn host_components(sim: &mut Sim, profile: &Profile) {
    if let Some(control_plane) = profile.nodes.iter().find(|n| n.control_plane) {
        for (component, file) in COMPONENT_MANIFESTS {
            sim.host_component(component, Host::StaticPod { node: control_plane.name.clone(), file: file.to_string() });
        }
    }
    for node in &profile.nodes {
        sim.host_component(&format!("kube-proxy/{}", node.name), Host::Program { node: Some(node.name.clone()), program: "kube-proxy".into() });
    }
    let provisioner = match profile.kind {
        ProfileKind::Minikube => "storage-provisioner",
        ProfileKind::Default => "local-path-provisioner",
    };
    sim.host_component(provisioner, Host::Program { node: None, program: provisioner.into() });
    sim.host_component(metrics::PROGRAM, Host::Program { node: None, program: metrics::PROGRAM.into() });
}

/// The `kubernetes` Service's endpoints, which the API server keeps itself
/// (its endpoint reconciler): an Endpoints the mirroring controller leaves
/// alone, and the EndpointSlice made from it, both at its advertised address.
fn kubernetes_service_endpoints(api: &mut ApiServer, port: i32) {
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints};
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
    let address = api.host.rsplit_once(':').map_or(api.host.as_str(), |(ip, _)| ip).to_string();
    let meta = |labels: [(&str, &str); 1]| ObjectMeta {
        name: Some("kubernetes".into()),
        namespace: Some("default".into()),
        labels: Some(labels.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    };
    let endpoints = Endpoints {
        metadata: meta([("endpointslice.kubernetes.io/skip-mirror", "true")]),
        subsets: Some(vec![EndpointSubset {
            addresses: Some(vec![EndpointAddress { ip: address.clone(), ..Default::default() }]),
            ports: Some(vec![EndpointPort { name: Some("https".into()), port, protocol: Some("TCP".into()), app_protocol: None }]),
            not_ready_addresses: None,
        }]),
    };
    let _ = api.create(Object::Endpoints(Box::new(endpoints)));
    let slice = EndpointSlice {
        metadata: meta([("kubernetes.io/service-name", "kubernetes")]),
        address_type: "IPv4".into(),
        endpoints: vec![Endpoint { addresses: vec![address], conditions: Some(EndpointConditions { ready: Some(true), ..Default::default() }), ..Default::default() }],
        ports: Some(vec![k8s_openapi::api::discovery::v1::EndpointPort { name: Some("https".into()), port: Some(port), protocol: Some("TCP".into()), app_protocol: None }]),
    };
    let _ = api.create(Object::EndpointSlice(Box::new(slice)));
}

/// What a new API server creates itself: the four system namespaces, the
/// `kubernetes` Service with its endpoints, the two system priority classes
/// and the RBAC bootstrap policy.
pub(crate) fn bootstrap_objects(api: &mut ApiServer) {
    for name in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                labels: Some(BTreeMap::from([("kubernetes.io/metadata.name".to_string(), name.to_string())])),
                ..Default::default()
            },
            spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".to_string()]) }),
            status: None,
        };
        let _ = api.create(Object::Namespace(Box::new(ns)));
    }
    let port = if api.host.ends_with(":8443") { 8443 } else { 6443 };
    let service = Service {
        metadata: ObjectMeta {
            name: Some("kubernetes".into()),
            namespace: Some("default".into()),
            labels: Some(crate::engine::sort::insert_all::<BTreeMap<_, _>, _>([
                ("component".to_string(), "apiserver".to_string()),
                ("provider".to_string(), "kubernetes".to_string()),
            ])),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("10.96.0.1".into()),
            cluster_ips: Some(vec!["10.96.0.1".into()]),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(port)),
                ..Default::default()
            }]),
            type_: Some("ClusterIP".into()),
            session_affinity: Some("None".into()),
            ..Default::default()
        }),
        status: None,
    };
    let _ = api.create(Object::Service(Box::new(service)));
    kubernetes_service_endpoints(api, port);
    for (name, value) in [("system-cluster-critical", 2_000_000_000), ("system-node-critical", 2_000_001_000)] {
        let pc = PriorityClass {
            metadata: ObjectMeta { name: Some(name.to_string()), ..Default::default() },
            value,
            description: Some(format!("Used for {} critical pods that must not be moved from their current node.", if name.contains("node") { "system" } else { "system" })),
            preemption_policy: Some("PreemptLowerPriority".into()),
            global_default: None,
        };
        let _ = api.create(Object::PriorityClass(Box::new(pc)));
    }
    // The `rbac/bootstrap-roles` post-start hook, before any client connects.
    let _ = rbac::create(api, rbac::Creator::ApiServer);
}
