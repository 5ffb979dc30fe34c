//! IPv4 addresses and the cluster's address plan: which node owns an IP,
//! either as its own address or inside its pod CIDR.

use std::collections::BTreeMap;

/// Parses a dotted IPv4 address.
pub fn parse_ip(text: &str) -> Option<u32> {
    let mut value: u32 = 0;
    let mut parts = 0;
    for octet in text.split('.') {
        if octet.is_empty() || octet.len() > 3 || !octet.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value = (value << 8) | octet.parse::<u8>().ok()? as u32;
        parts += 1;
    }
    (parts == 4).then_some(value)
}

/// Dotted quad, written digit by digit: every pod sandbox gets an address.
pub fn format_ip(v: u32) -> String {
    let mut out = String::with_capacity(15);
    for (i, octet) in v.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        crate::engine::digits::push_digits(&mut out, octet.into(), 10);
    }
    out
}

/// `10.244.1.0/24` → (base, prefix length).
pub fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((parse_ip(ip)? & mask, len))
}

pub fn cidr_contains(cidr: &str, ip: &str) -> bool {
    match (parse_cidr(cidr), parse_ip(ip)) {
        (Some((base, len)), Some(ip)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            ip & mask == base
        }
        _ => false,
    }
}

/// The Service CIDR (kubeadm's and minikube's default), where ClusterIPs live.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
/// The cluster DNS Service's address.
pub const CLUSTER_DNS_IP: &str = "10.96.0.10";
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Where an address lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A node's own address.
    Node(String),
    /// Inside a node's pod CIDR.
    PodNetwork(String),
    /// A ClusterIP range address (only kube-proxy's rules give it meaning).
    ServiceNetwork,
    /// The host the cluster's nodes run on (the learner's machine).
    Host,
    Elsewhere,
}

/// The static address plan of the cluster's machines.
#[derive(Clone, Debug, Default)]
pub struct AddressPlan {
    nodes_by_ip: BTreeMap<u32, String>,
    /// Pod CIDR base → (prefix length, node).
    cidrs: BTreeMap<u32, (u32, String)>,
    node_ips: BTreeMap<String, String>,
    /// The gateway address the host has on the nodes' network.
    pub host_ip: String,
}

impl AddressPlan {
    pub fn add_node(&mut self, node: &str, address: &str, pod_cidr: &str) {
        if let Some(ip) = parse_ip(address) {
            self.nodes_by_ip.insert(ip, node.to_string());
            self.node_ips.insert(node.to_string(), address.to_string());
            if self.host_ip.is_empty() {
                // kind's and minikube's Docker networks give the host `.1`.
                self.host_ip = format_ip((ip & 0xffff_ff00) | 1);
            }
        }
        if let Some((base, len)) = parse_cidr(pod_cidr) {
            self.cidrs.insert(base, (len, node.to_string()));
        }
    }

    pub fn node_ip(&self, node: &str) -> Option<&str> {
        self.node_ips.get(node).map(String::as_str)
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&String, &String)> {
        self.node_ips.iter()
    }

    /// The pod CIDR's gateway (`.1`) on a node: the address masqueraded
    /// traffic to a local pod comes from.
    pub fn pod_gateway(&self, node: &str) -> Option<String> {
        self.cidrs.iter().find(|(_, (_, n))| n == node).map(|(base, _)| format_ip(base | 1))
    }

    pub fn place(&self, ip: &str) -> Place {
        let Some(v) = parse_ip(ip) else { return Place::Elsewhere };
        if let Some(node) = self.nodes_by_ip.get(&v) {
            return Place::Node(node.clone());
        }
        if ip == self.host_ip {
            return Place::Host;
        }
        if let Some((base, (len, node))) = self.cidrs.range(..=v).next_back() {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            if v & mask == *base {
                return Place::PodNetwork(node.clone());
            }
        }
        if cidr_contains(SERVICE_CIDR, ip) {
            return Place::ServiceNetwork;
        }
        Place::Elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_dotted_quads() {
        for v in [0, 1, 9, 10, 99, 100, 255, 256, 0x0af4_0102, 0x0a00_0a64, 0xc0a8_0001, u32::MAX].into_iter().chain((0..u32::MAX).step_by(65_537)) {
            assert_eq!(format_ip(v), format!("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff));
        }
    }

    #[test]
    fn places_addresses() {
        let mut plan = AddressPlan::default();
        plan.add_node("control-plane", "172.18.0.2", "10.244.0.0/24");
        plan.add_node("worker-1", "172.18.0.3", "10.244.1.0/24");
        assert_eq!(plan.place("172.18.0.3"), Place::Node("worker-1".into()));
        assert_eq!(plan.place("10.244.1.7"), Place::PodNetwork("worker-1".into()));
        assert_eq!(plan.place("10.244.0.9"), Place::PodNetwork("control-plane".into()));
        assert_eq!(plan.place("10.244.2.9"), Place::Elsewhere);
        assert_eq!(plan.place("10.96.0.10"), Place::ServiceNetwork);
        assert_eq!(plan.place("172.18.0.1"), Place::Host);
        assert_eq!(plan.place("not an ip"), Place::Elsewhere);
        assert_eq!(plan.pod_gateway("worker-1").as_deref(), Some("10.244.1.1"));
        assert!(parse_ip("1.2.3").is_none());
        assert!(parse_ip("1.2.3.256").is_none());
    }
}
