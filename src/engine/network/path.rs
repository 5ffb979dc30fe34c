//! `connect`: one connection resolved hop by hop at one instant.

use super::address::Place;
use super::rules::{usable, EndpointRule, Proto, ServicePortRule};
use super::{policy, ConnectError, Landing, Origin};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// How a Service chain was left: to an endpoint or nowhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Translation {
    /// DNAT to this endpoint.
    To { ip: String, port: i32, chain: String },
    /// No rule for the address: the packet goes on unchanged.
    Untouched,
    /// The chain rejects (no endpoints at all).
    Reject,
    /// The chain drops (a Local policy with no endpoint on this node).
    Drop,
}

/// Picks an endpoint in a chain as iptables would: ClientIP affinity first,
/// else uniformly at random among the usable ones.
pub fn choose(world: &mut World, node: &str, rule: &ServicePortRule, client_ip: &str, local: bool, now: VirtualTime) -> Translation {
    let candidates: Vec<EndpointRule> = usable(rule, node, local).into_iter().cloned().collect();
    if candidates.is_empty() {
        let any = !rule.endpoints.is_empty() && rule.endpoints.iter().any(|e| e.ready || (e.serving && e.terminating));
        return if local && any { Translation::Drop } else { Translation::Reject };
    }
    if let Some(timeout_s) = rule.affinity_timeout_s {
        let key = (rule.name.clone(), client_ip.to_string());
        let remembered = world.machine(node).and_then(|m| m.proxy.affinity.get(&key).cloned());
        if let Some((addr, seen)) = remembered {
            let fresh = now.millis_since(seen) <= timeout_s.saturating_mul(1000);
            if let Some(ep) = candidates.iter().find(|e| format!("{}:{}", e.ip, e.port) == addr).filter(|_| fresh) {
                if let Some(m) = world.machine_mut(node) {
                    m.proxy.affinity.insert(key, (addr, now));
                }
                return Translation::To { ip: ep.ip.clone(), port: ep.port, chain: rule.name.clone() };
            }
        }
        let pick = world.net.rng().usize(..candidates.len());
        let ep = &candidates[pick];
        if let Some(m) = world.machine_mut(node) {
            m.proxy.affinity.insert(key, (format!("{}:{}", ep.ip, ep.port), now));
        }
        return Translation::To { ip: ep.ip.clone(), port: ep.port, chain: rule.name.clone() };
    }
    let pick = if candidates.len() == 1 { 0 } else { world.net.rng().usize(..candidates.len()) };
    let ep = &candidates[pick];
    Translation::To { ip: ep.ip.clone(), port: ep.port, chain: rule.name.clone() }
}

/// The source node's OUTPUT-chain translation: ClusterIPs and external IPs.
pub fn translate_outbound(world: &mut World, node: &str, client_ip: &str, ip: &str, port: i32, proto: Proto, now: VirtualTime) -> Translation {
    let Some(machine) = world.machine(node) else { return Translation::Untouched };
    let key = (ip.to_string(), port, proto);
    if let Some(rule) = machine.proxy.cluster_ips.get(&key).cloned() {
        return choose(world, node, &rule, client_ip, rule.internal_local, now);
    }
    if let Some(rule) = machine.proxy.external_ips.get(&key).cloned() {
        return choose(world, node, &rule, client_ip, false, now);
    }
    if machine.proxy.service_ips.contains_key(ip) {
        // A Service address on a port it does not serve: nothing answers.
        return Translation::Drop;
    }
    Translation::Untouched
}

/// Opens a connection from `from` to `ip:port`.
pub fn connect(world: &mut World, from: &Origin, ip: &str, port: i32, proto: Proto, now: VirtualTime) -> Result<Landing, ConnectError> {
    let (client_ip, src_node) = match from {
        Origin::Pod { ip, node, .. } => (ip.clone(), Some(node.clone())),
        Origin::Node(node) => (world.net.plan.node_ip(node).unwrap_or_default().to_string(), Some(node.clone())),
        Origin::Host => (world.net.plan.host_ip.clone(), None),
    };
    if let Some(node) = &src_node {
        if !world.machine(node).is_some_and(|m| m.powered) {
            return Err(ConnectError::NoRoute);
        }
    }
    let client_port = world.net.ephemeral_port();
    if ip.starts_with("127.") {
        return match from {
            Origin::Pod { node, uid, .. } => loopback(world, node, uid, port, client_port, now),
            Origin::Node(node) => {
                let address = world.net.plan.node_ip(node).unwrap_or_default().to_string();
                connect(world, from, &address, port, proto, now)
            }
            Origin::Host => Err(ConnectError::Refused),
        };
    }
    let mut dst_ip = ip.to_string();
    let mut dst_port = port;
    let mut via = None;
    let mut seen_client = client_ip.clone();
    if let Some(node) = &src_node {
        match translate_outbound(world, node, &client_ip, ip, port, proto, now) {
            Translation::To { ip, port, chain } => {
                dst_ip = ip;
                dst_port = port;
                via = Some(chain);
            }
            Translation::Reject => return Err(ConnectError::Refused),
            Translation::Drop => return Err(ConnectError::TimedOut),
            Translation::Untouched => {}
        }
    }
    // Arriving at a node's own address: NodePorts and hostPorts.
    let mut via_node = false;
    if let Place::Node(target) = world.net.plan.place(&dst_ip) {
        via_node = true;
        if !world.machine(&target).is_some_and(|m| m.powered) {
            return Err(if src_node.as_deref() == Some(target.as_str()) { ConnectError::Refused } else { ConnectError::NoRoute });
        }
        let rule = world.machine(&target).and_then(|m| m.proxy.node_ports.get(&(dst_port, proto)).cloned());
        // An externalTrafficPolicy: Local chain first sends traffic from this node's own pods
        // (the pod CIDR, as kubeadm configures kube-proxy's local detector) and from the node
        // itself (`--src-type LOCAL`) to the Cluster chain: only outside traffic is kept local.
        let short_circuited = match from {
            Origin::Pod { node, .. } | Origin::Node(node) => *node == target,
            Origin::Host => false,
        };
        match rule {
            Some(rule) => match choose(world, &target, &rule, &client_ip, rule.external_local && !short_circuited, now) {
                Translation::To { ip, port, chain } => {
                    if !rule.external_local {
                        // Cluster policy masquerades: the pod sees the node that forwarded.
                        let ep_node = match world.net.plan.place(&ip) {
                            Place::PodNetwork(n) => Some(n),
                            _ => None,
                        };
                        seen_client = if ep_node.as_deref() == Some(target.as_str()) {
                            world.net.plan.pod_gateway(&target).unwrap_or_default()
                        } else {
                            world.net.plan.node_ip(&target).unwrap_or_default().to_string()
                        };
                    }
                    dst_ip = ip;
                    dst_port = port;
                    via = Some(chain);
                }
                Translation::Reject | Translation::Untouched => return Err(ConnectError::Refused),
                Translation::Drop => return Err(ConnectError::TimedOut),
            },
            None => match host_port(world, &target, dst_port, now) {
                Some((ip, port)) => {
                    dst_ip = ip;
                    dst_port = port;
                }
                None => return on_host_network(world, from, &target, &seen_client, &dst_ip, dst_port, proto, client_port, via, now),
            },
        }
    }
    let pod_node = match world.net.plan.place(&dst_ip) {
        Place::PodNetwork(node) => node,
        Place::Node(_) | Place::Host => return Err(ConnectError::Refused),
        // Nothing routes ClusterIPs or the outside world here.
        Place::ServiceNetwork | Place::Elsewhere => return Err(ConnectError::TimedOut),
    };
    if src_node.is_none() && !via_node {
        // The host has no route into the pod network.
        return Err(ConnectError::TimedOut);
    }
    let Some(machine) = world.machine_mut(&pod_node) else { return Err(ConnectError::NoRoute) };
    if !machine.powered {
        return Err(ConnectError::NoRoute);
    }
    machine.advance(now);
    let Some((uid, sandbox)) = machine.runtime.sandboxes_mut().find(|(_, s)| s.ready && s.ip == dst_ip) else {
        return Err(ConnectError::NoRoute);
    };
    let uid = uid.clone();
    let (namespace, pod, pod_ip) = (sandbox.namespace.to_string(), sandbox.pod.clone(), sandbox.ip.clone());
    let listener = sandbox.containers.iter().rev().find_map(|c| c.serves(dst_port).then(|| (c.name.clone(), c.id.to_string())));
    let from_pod = match from {
        Origin::Pod { namespace, name, .. } => Some((namespace.as_str(), name.as_str())),
        _ => None,
    };
    // Pods cannot block access from their resident node (its own processes,
    // hostNetwork pods, traffic it masquerades onto the pod's bridge), as
    // the NetworkPolicy documentation says of every implementation.
    let from_resident_node = world.net.plan.node_ip(&pod_node) == Some(seen_client.as_str()) || world.net.plan.pod_gateway(&pod_node).as_deref() == Some(seen_client.as_str());
    if !from_resident_node && !policy::allows(world, from_pod, &seen_client, (&namespace, &pod), &dst_ip, dst_port, proto) {
        return Err(ConnectError::TimedOut);
    }
    let Some((container, container_id)) = listener else { return Err(ConnectError::Refused) };
    Ok(Landing { node: pod_node, uid, namespace, pod, container, container_id, pod_ip, port: dst_port, client_ip: seen_client, client_port, via })
}

/// `localhost` inside a pod: its own containers share the network namespace.
fn loopback(world: &mut World, node: &str, uid: &str, port: i32, client_port: u16, now: VirtualTime) -> Result<Landing, ConnectError> {
    let machine = world.machine_mut(node).ok_or(ConnectError::Refused)?;
    machine.advance(now);
    let sandbox = machine.runtime.sandbox_mut(uid).ok_or(ConnectError::Refused)?;
    let (namespace, pod, pod_ip) = (sandbox.namespace.to_string(), sandbox.pod.clone(), sandbox.ip.clone());
    let (container, container_id) = sandbox
        .containers
        .iter()
        .rev()
        .find_map(|c| c.serves(port).then(|| (c.name.clone(), c.id.to_string())))
        .ok_or(ConnectError::Refused)?;
    Ok(Landing {
        node: node.to_string(),
        uid: uid.to_string(),
        namespace,
        pod,
        container,
        container_id,
        pod_ip,
        port,
        client_ip: "127.0.0.1".into(),
        client_port,
        via: None,
    })
}

/// A connection to a node's own address that no NodePort or hostPort rule
/// took: a socket on the node itself, which is where `hostNetwork` pods
/// listen. Their own node is not policed, but a pod's egress policy is
/// (the node is an address outside the pod network, matched by `ipBlock`).
#[allow(clippy::too_many_arguments)]
fn on_host_network(world: &mut World, from: &Origin, node: &str, client_ip: &str, ip: &str, port: i32, proto: Proto, client_port: u16, via: Option<String>, now: VirtualTime) -> Result<Landing, ConnectError> {
    if let Origin::Pod { namespace, name, .. } = from {
        if !policy::allows_egress_out(world, (namespace, name), ip, port, proto) {
            return Err(ConnectError::TimedOut);
        }
    }
    let machine = world.machine_mut(node).ok_or(ConnectError::Refused)?;
    machine.advance(now);
    let (uid, sandbox) = machine
        .runtime
        .sandboxes_mut()
        .filter(|(_, s)| s.ready && s.host_network)
        .find(|(_, s)| s.containers.iter().any(|c| c.serves(port)))
        .ok_or(ConnectError::Refused)?;
    let (container, container_id) = sandbox.containers.iter().rev().find_map(|c| c.serves(port).then(|| (c.name.clone(), c.id.to_string()))).ok_or(ConnectError::Refused)?;
    Ok(Landing {
        node: node.to_string(),
        uid: uid.clone(),
        namespace: sandbox.namespace.to_string(),
        pod: sandbox.pod.clone(),
        container,
        container_id,
        pod_ip: ip.to_string(),
        port,
        client_ip: client_ip.to_string(),
        client_port,
        via,
    })
}

/// A pod on `node` that declared `hostPort: port` (the CNI portmap plugin).
fn host_port(world: &mut World, node: &str, port: i32, now: VirtualTime) -> Option<(String, i32)> {
    let machine = world.machine_mut(node)?;
    machine.advance(now);
    // A hostNetwork pod's ports (which the API defaults as hostPorts) are
    // sockets on the node itself, not a mapping: `on_host_network` finds them.
    machine.runtime.sandboxes_mut().filter(|(_, s)| s.ready && !s.host_network).find_map(|(_, s)| {
        let ip = s.ip.clone();
        s.containers.iter_mut().find_map(|c| {
            let mapped = c.host_ports.iter().find(|(h, _)| *h == port).map(|(_, p)| *p)?;
            c.is_running().then(|| (ip.clone(), mapped))
        })
    })
}
