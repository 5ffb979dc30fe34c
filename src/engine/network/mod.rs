//! The network: connections, not packets. A request is resolved hop by hop
//! at one virtual instant:
//!
//! ```text
//! source pod / node / host ─► destination IP:port
//!   ─► the source node's Service rules, as kube-proxy last programmed them
//!      (ClusterIP, ClientIP affinity, internalTrafficPolicy)
//!   ─► routing: node address (NodePort, externalTrafficPolicy, hostPort)
//!      or pod address (its node's pod CIDR)
//!   ─► NetworkPolicy (egress at the source, ingress at the destination)
//!   ─► the container listening on the port ─► its application
//! ```
//!
//! Each hop fails with the symptom a real cluster shows: connection refused
//! (REJECT, nothing listening), timeout (DROP, a policy, no route out of the
//! cluster), no route to host (a dead node, a vanished pod IP).
//!
//! Layout:
//! - [`address`]: IPs, CIDRs and which node owns an address.
//! - [`rules`]: a node's Service rules (written by kube-proxy, in the machine).
//! - [`path`]: `connect`, the hop-by-hop resolution.
//! - [`exchange`]: delivering a payload to the application, and calls the
//!   application makes in turn.
//! - [`resolver`]: a pod's stub resolver talking to the cluster DNS.
//! - [`dns`], [`http`], [`redis_proto`]: the protocols.
//! - [`policy`] and [`policy_agent`]: NetworkPolicy, programmed and enforced.
//! - [`apps`]: the applications, one file per family.
//! - [`pod_clients`]: processes in pods that are API clients (CoreDNS,
//!   ingress-nginx), run with the whole world at hand.
//! - [`talkers`]: requests made by container processes (load loops).
//! - [`tools`]: `curl`, `wget`, `nc`, `nslookup`, `ping`, `redis-cli`.
//! - [`in_containers`]: shells in containers with the whole world at hand
//!   (`kubectl exec`, typed lines, main processes that use the network),
//!   the tools plugged into them.
//! - [`traffic`]: the traffic generator and its report.
//! - [`addons`] and [`internet`]: CoreDNS at bootstrap; manifests that
//!   well-known URLs serve (ingress-nginx).
//!
//! Determinism: every choice (endpoint, ephemeral port) comes from the
//! network's own RNG, seeded from the cluster's seed; nothing here reads a
//! wall clock; maps are ordered.

pub mod addons;
pub mod address;
pub mod apps;
pub mod dns;
pub mod exchange;
pub mod in_containers;
pub mod http;
pub mod ingress;
pub mod internet;
pub mod path;
pub mod policy;
pub mod policy_agent;
pub mod pod_clients;
pub mod redis_proto;
pub mod resolver;
pub mod rules;
pub mod talkers;
pub mod tools;
pub mod traffic;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use address::AddressPlan;

use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// Delivers everything due by `now`: the traffic generator's requests and
/// the requests container processes make. Returns how many were sent.
pub fn deliver_due(world: &mut World, now: VirtualTime) -> usize {
    in_containers::deliver_due(world, now) + traffic::deliver_due(world, now) + talkers::deliver_due(world, now)
}

/// Who opens a connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// A container in a pod (its network namespace).
    Pod { node: String, uid: String, namespace: String, name: String, ip: String },
    /// A node's own network namespace (`minikube ssh`, hostNetwork).
    Node(String),
    /// The machine the cluster runs on (the learner's laptop).
    Host,
}

impl Origin {
    pub fn node(&self) -> Option<&str> {
        match self {
            Origin::Pod { node, .. } | Origin::Node(node) => Some(node),
            Origin::Host => None,
        }
    }
}

/// Why a connection could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// RST or ICMP port unreachable: nothing listens, or a REJECT rule.
    Refused,
    /// Packets dropped: a NetworkPolicy, a Local policy without local
    /// endpoints, an address outside the cluster.
    TimedOut,
    /// EHOSTUNREACH: the node is off, or nobody has the address.
    NoRoute,
}

impl ConnectError {
    /// How long the client waits before it knows (kernel timings).
    pub fn wait_ms(self) -> u64 {
        match self {
            ConnectError::Refused => 1,
            ConnectError::NoRoute => 3_060,
            // tcp_syn_retries = 6: 1+2+4+8+16+32+64 s.
            ConnectError::TimedOut => 127_000,
        }
    }
}

/// Where a connection landed: a container's port in a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    pub node: String,
    pub uid: String,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub container_id: String,
    pub pod_ip: String,
    pub port: i32,
    /// The peer address the server sees (after SNAT).
    pub client_ip: String,
    pub client_port: u16,
    /// The Service chain that chose the pod (`default/web:http`).
    pub via: Option<String>,
}

/// A container whose process is an API client, to be run with the world.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerRef {
    pub node: String,
    pub uid: String,
    pub container: String,
    pub id: String,
}

/// The network's own state: the address plan, its RNG, and what runs
/// across machines (traffic generators, client processes, policies).
pub struct Network {
    pub plan: AddressPlan,
    rng: fastrand::Rng,
    next_port: u16,
    pub traffic: traffic::Traffic,
    /// Containers whose processes talk to the API server.
    pub clients: BTreeSet<ContainerRef>,
    /// A client container started since the clients host last ran.
    pub wake_clients: bool,
    pub talkers: talkers::Talkers,
    /// Main processes waiting for the network to evaluate their commands.
    pub scripts: in_containers::Scripts,
    pub policies: policy::PolicyTable,
    /// The pod whose application answered the last HTTP exchange.
    pub responder: Option<String>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("plan", &self.plan).field("clients", &self.clients).finish()
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::new(0)
    }
}

/// Mixed into the cluster seed so the network's choices do not disturb the
/// other random streams.
const SEED_SALT: u64 = 0x6e65_7477_6f72_6b21;

impl Network {
    pub fn new(seed: u64) -> Self {
        Network {
            plan: AddressPlan::default(),
            rng: fastrand::Rng::with_seed(seed ^ SEED_SALT),
            next_port: 32_768,
            traffic: traffic::Traffic::default(),
            clients: BTreeSet::new(),
            wake_clients: false,
            talkers: talkers::Talkers::default(),
            scripts: in_containers::Scripts::default(),
            policies: policy::PolicyTable::default(),
            responder: None,
        }
    }

    pub fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// The next instant something crosses the network on its own.
    pub fn next_event(&self) -> Option<VirtualTime> {
        [self.traffic.next_event(), self.talkers.next_event(), self.scripts.next_event()].into_iter().flatten().min()
    }

    /// An ephemeral source port, as the kernel hands them out (32768–60999).
    pub fn ephemeral_port(&mut self) -> u16 {
        let port = self.next_port;
        self.next_port = if self.next_port >= 60_999 { 32_768 } else { self.next_port + 1 + self.rng.u16(..7) };
        port
    }
}
