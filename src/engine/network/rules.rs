//! A node's Service rules, as kube-proxy last programmed them into the
//! kernel (iptables mode): one chain per Service port with its endpoints.
//! The rules belong to the machine, not to kube-proxy: a stopped kube-proxy
//! leaves them as they were, and a power cut wipes them.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::engine::sim::clock::VirtualTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn parse(text: &str) -> Proto {
        match text {
            "UDP" => Proto::Udp,
            "SCTP" => Proto::Sctp,
            _ => Proto::Tcp,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }
}

/// One endpoint in a Service port's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRule {
    pub ip: String,
    pub port: i32,
    pub node: Option<String>,
    /// `namespace/name` of the pod behind it, for reports.
    pub pod: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// The chain of one Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortRule {
    /// `namespace/name:port-name`, the chain's comment.
    pub name: String,
    pub namespace: String,
    pub service: String,
    pub endpoints: Vec<EndpointRule>,
    /// `sessionAffinity: ClientIP` with its timeout.
    pub affinity_timeout_s: Option<u64>,
    /// `externalTrafficPolicy: Local` (NodePorts and load balancer IPs).
    pub external_local: bool,
    /// `internalTrafficPolicy: Local` (the ClusterIP).
    pub internal_local: bool,
}

/// Which endpoints a connection may use, as kube-proxy's `CategorizeEndpoints`:
/// ready ones (local only under a Local policy); if none is ready anywhere,
/// serving endpoints that are terminating.
pub fn usable<'a>(rule: &'a ServicePortRule, node: &str, local: bool) -> Vec<&'a EndpointRule> {
    let allowed = |e: &&EndpointRule| !local || e.node.as_deref() == Some(node);
    let ready: Vec<&EndpointRule> = rule.endpoints.iter().filter(|e| e.ready).filter(allowed).collect();
    if !ready.is_empty() {
        return ready;
    }
    rule.endpoints.iter().filter(|e| e.serving && e.terminating).filter(allowed).collect()
}

/// Everything programmed on one node.
#[derive(Clone, Debug, Default)]
pub struct ProxyRules {
    /// When kube-proxy last wrote them; `None` before its first sync.
    pub synced_at: Option<VirtualTime>,
    /// (ClusterIP, port, protocol) → chain.
    pub cluster_ips: BTreeMap<(String, i32, Proto), Rc<ServicePortRule>>,
    /// Every ClusterIP with rules, whatever the port.
    pub service_ips: BTreeMap<String, ()>,
    /// (nodePort, protocol) → chain, on every node address.
    pub node_ports: BTreeMap<(i32, Proto), Rc<ServicePortRule>>,
    /// (external or load-balancer IP, port, protocol) → chain.
    pub external_ips: BTreeMap<(String, i32, Proto), Rc<ServicePortRule>>,
    /// The kernel's `recent` lists for ClientIP affinity:
    /// (chain, client IP) → (endpoint IP:port, last seen).
    pub affinity: BTreeMap<(String, String), (String, VirtualTime)>,
}

impl ProxyRules {
    pub fn chain_count(&self) -> usize {
        self.cluster_ips.len() + self.node_ports.len() + self.external_ips.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str, node: &str, ready: bool, terminating: bool) -> EndpointRule {
        EndpointRule { ip: ip.into(), port: 80, node: Some(node.into()), pod: None, ready, serving: ready || terminating, terminating }
    }

    fn rule(endpoints: Vec<EndpointRule>) -> ServicePortRule {
        ServicePortRule {
            name: "default/web".into(),
            namespace: "default".into(),
            service: "web".into(),
            endpoints,
            affinity_timeout_s: None,
            external_local: false,
            internal_local: false,
        }
    }

    #[test]
    fn ready_endpoints_first_then_terminating_ones() {
        let r = rule(vec![ep("10.244.1.2", "w1", true, false), ep("10.244.2.2", "w2", false, true)]);
        let ips: Vec<&str> = usable(&r, "w1", false).iter().map(|e| e.ip.as_str()).collect();
        assert_eq!(ips, ["10.244.1.2"]);
        let r = rule(vec![ep("10.244.1.2", "w1", false, false), ep("10.244.2.2", "w2", false, true)]);
        let ips: Vec<&str> = usable(&r, "w1", false).iter().map(|e| e.ip.as_str()).collect();
        assert_eq!(ips, ["10.244.2.2"]);
    }

    #[test]
    fn local_policy_keeps_only_this_nodes_endpoints() {
        let r = rule(vec![ep("10.244.1.2", "w1", true, false), ep("10.244.2.2", "w2", true, false)]);
        assert_eq!(usable(&r, "w2", true).len(), 1);
        assert!(usable(&r, "w3", true).is_empty());
        assert_eq!(usable(&r, "w3", false).len(), 2);
    }
}
