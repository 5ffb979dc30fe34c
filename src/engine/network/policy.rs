//! NetworkPolicy enforcement. The pod network's policy agent (see
//! [`super::policy_agent`]) programs a table of policies, pod addresses
//! with their labels and named ports, and namespace labels; connections are
//! checked against it at the destination pod (ingress) and at the source
//! pod (egress), after Service translation, as CNI plugins do.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::address::cidr_contains;
use super::rules::Proto;
use crate::engine::selector::Selector;
use crate::engine::world::World;

/// A pod as the policy agent knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyPod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Named container ports: (name, port, protocol).
    pub ports: Vec<(String, i32, String)>,
}

/// What the agent last programmed.
#[derive(Clone, Debug, Default)]
pub struct PolicyTable {
    /// Policies by namespace.
    pub policies: BTreeMap<String, Vec<Rc<NetworkPolicy>>>,
    /// Pods by IP.
    pub pods: BTreeMap<String, Rc<PolicyPod>>,
    /// Pod IPs by (namespace, name).
    pub by_name: BTreeMap<(String, String), String>,
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl PolicyTable {
    pub fn is_empty(&self) -> bool {
        self.policies.values().all(Vec::is_empty)
    }
}

fn types_of(p: &NetworkPolicy) -> (bool, bool) {
    let spec = p.spec.as_ref();
    match spec.and_then(|s| s.policy_types.as_ref()) {
        Some(types) => (types.iter().any(|t| t == "Ingress"), types.iter().any(|t| t == "Egress")),
        None => (true, spec.is_some_and(|s| s.egress.is_some())),
    }
}

fn selects(p: &NetworkPolicy, pod: &PolicyPod) -> bool {
    let selector = p.spec.as_ref().and_then(|s| s.pod_selector.as_ref()).map(Selector::from_api).unwrap_or_else(Selector::everything);
    selector.matches(Some(&pod.labels))
}

/// Whether a peer clause admits the other end (`other` is the pod at the
/// other end when it is a pod, `ip` its address).
fn peer_matches(table: &PolicyTable, policy_ns: &str, peer: &NetworkPolicyPeer, other: Option<&PolicyPod>, ip: &str) -> bool {
    if let Some(block) = &peer.ip_block {
        return cidr_contains(&block.cidr, ip) && !block.except.iter().flatten().any(|e| cidr_contains(e, ip));
    }
    let Some(pod) = other else { return false };
    let ns_ok = match &peer.namespace_selector {
        Some(sel) => Selector::from_api(sel).matches(table.namespaces.get(&pod.namespace)),
        None => pod.namespace == policy_ns,
    };
    let pod_ok = peer.pod_selector.as_ref().is_none_or(|sel| Selector::from_api(sel).matches(Some(&pod.labels)));
    ns_ok && pod_ok
}

fn port_matches(port_rule: &NetworkPolicyPort, target: &PolicyPod, port: i32, proto: Proto) -> bool {
    let wanted = port_rule.protocol.as_deref().unwrap_or("TCP");
    if wanted != proto.name() {
        return false;
    }
    match &port_rule.port {
        None => true,
        Some(IntOrString::Int(p)) => match port_rule.end_port {
            Some(end) => port >= *p && port <= end,
            None => port == *p,
        },
        Some(IntOrString::String(name)) => target.ports.iter().any(|(n, p, pr)| n == name && *p == port && pr == wanted),
    }
}

fn ports_match(ports: Option<&Vec<NetworkPolicyPort>>, target: &PolicyPod, port: i32, proto: Proto) -> bool {
    match ports {
        None => true,
        Some(list) if list.is_empty() => true,
        Some(list) => list.iter().any(|p| port_matches(p, target, port, proto)),
    }
}

/// Ingress to `dst` from `src` (a pod, or just an address).
fn ingress_allowed(table: &PolicyTable, src: Option<&PolicyPod>, src_ip: &str, dst: &PolicyPod, port: i32, proto: Proto) -> bool {
    let mut isolated = false;
    for p in table.policies.get(&dst.namespace).into_iter().flatten() {
        if !types_of(p).0 || !selects(p, dst) {
            continue;
        }
        isolated = true;
        for rule in p.spec.iter().flat_map(|s| s.ingress.iter().flatten()) {
            let from_ok = match &rule.from {
                None => true,
                Some(peers) if peers.is_empty() => true,
                Some(peers) => peers.iter().any(|peer| peer_matches(table, &dst.namespace, peer, src, src_ip)),
            };
            if from_ok && ports_match(rule.ports.as_ref(), dst, port, proto) {
                return true;
            }
        }
    }
    !isolated
}

/// Egress from `src` to `dst` (a pod, or just an address).
fn egress_allowed(table: &PolicyTable, src: &PolicyPod, dst: Option<&PolicyPod>, dst_ip: &str, port: i32, proto: Proto) -> bool {
    let mut isolated = false;
    let target_for_ports = dst.cloned().unwrap_or_else(|| PolicyPod { namespace: String::new(), name: String::new(), labels: BTreeMap::new(), ports: vec![] });
    for p in table.policies.get(&src.namespace).into_iter().flatten() {
        if !types_of(p).1 || !selects(p, src) {
            continue;
        }
        isolated = true;
        for rule in p.spec.iter().flat_map(|s| s.egress.iter().flatten()) {
            let to_ok = match &rule.to {
                None => true,
                Some(peers) if peers.is_empty() => true,
                Some(peers) => peers.iter().any(|peer| peer_matches(table, &src.namespace, peer, dst, dst_ip)),
            };
            if to_ok && ports_match(rule.ports.as_ref(), &target_for_ports, port, proto) {
                return true;
            }
        }
    }
    !isolated
}

/// Whether the programmed policies let a connection through.
/// `from_pod` is the source pod (namespace, name) if a pod opened it;
/// `src_ip` the address the destination sees.
pub fn allows(world: &World, from_pod: Option<(&str, &str)>, src_ip: &str, to_pod: (&str, &str), dst_ip: &str, port: i32, proto: Proto) -> bool {
    let table = &world.net.policies;
    if table.is_empty() {
        return true;
    }
    let lookup = |ns: &str, name: &str| table.by_name.get(&(ns.to_string(), name.to_string())).and_then(|ip| table.pods.get(ip)).cloned();
    let src = from_pod.and_then(|(ns, n)| lookup(ns, n)).or_else(|| table.pods.get(src_ip).cloned());
    let Some(dst) = lookup(to_pod.0, to_pod.1).or_else(|| table.pods.get(dst_ip).cloned()) else { return true };
    if let Some(src) = &src {
        if from_pod.is_some() && !egress_allowed(table, src, Some(&dst), dst_ip, port, proto) {
            return false;
        }
    }
    ingress_allowed(table, src.as_deref(), src_ip, &dst, port, proto)
}

/// Egress from a pod to an address that is not a pod (outside the cluster).
pub fn allows_egress_out(world: &World, from_pod: (&str, &str), dst_ip: &str, port: i32, proto: Proto) -> bool {
    let table = &world.net.policies;
    if table.is_empty() {
        return true;
    }
    let Some(src) = table.by_name.get(&(from_pod.0.to_string(), from_pod.1.to_string())).and_then(|ip| table.pods.get(ip)).cloned() else { return true };
    egress_allowed(table, &src, None, dst_ip, port, proto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> Rc<PolicyPod> {
        Rc::new(PolicyPod {
            namespace: ns.into(),
            name: name.into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ports: vec![("http".into(), 80, "TCP".into())],
        })
    }

    fn policy(ns: &str, yaml: &str) -> Rc<NetworkPolicy> {
        let mut p: NetworkPolicy = serde_yaml::from_str(yaml).unwrap();
        p.metadata.namespace = Some(ns.into());
        Rc::new(p)
    }

    fn table(policies: Vec<Rc<NetworkPolicy>>) -> PolicyTable {
        let mut t = PolicyTable::default();
        for p in policies {
            t.policies.entry(p.metadata.namespace.clone().unwrap_or_default()).or_default().push(p);
        }
        t.namespaces.insert("default".into(), [("kubernetes.io/metadata.name".to_string(), "default".to_string())].into());
        t.namespaces.insert("prod".into(), [("team".to_string(), "a".to_string())].into());
        t
    }

    #[test]
    fn deny_all_then_allow_from_label() {
        let t = table(vec![
            policy("default", "metadata: {name: deny}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"),
            policy("default", "metadata: {name: allow}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: api}}\n    ports:\n    - port: 6379\n"),
        ]);
        let db = pod("default", "db", &[("app", "db")]);
        let api = pod("default", "api", &[("role", "api")]);
        let other = pod("default", "x", &[]);
        assert!(ingress_allowed(&t, Some(&api), "10.244.1.2", &db, 6379, Proto::Tcp));
        assert!(!ingress_allowed(&t, Some(&api), "10.244.1.2", &db, 80, Proto::Tcp));
        assert!(!ingress_allowed(&t, Some(&other), "10.244.1.3", &db, 6379, Proto::Tcp));
        assert!(!ingress_allowed(&t, Some(&api), "10.244.1.2", &other, 80, Proto::Tcp));
    }

    #[test]
    fn namespace_selectors_ip_blocks_and_named_ports() {
        let t = table(vec![policy(
            "default",
            "metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n    - ipBlock: {cidr: 172.18.0.0/16, except: [172.18.0.9/32]}\n    ports:\n    - port: http\n",
        )]);
        let web = pod("default", "web", &[]);
        let prod = pod("prod", "client", &[]);
        let same = pod("default", "client", &[]);
        assert!(ingress_allowed(&t, Some(&prod), "10.244.2.2", &web, 80, Proto::Tcp));
        assert!(!ingress_allowed(&t, Some(&same), "10.244.2.3", &web, 80, Proto::Tcp));
        assert!(ingress_allowed(&t, None, "172.18.0.3", &web, 80, Proto::Tcp));
        assert!(!ingress_allowed(&t, None, "172.18.0.9", &web, 80, Proto::Tcp));
        assert!(!ingress_allowed(&t, Some(&prod), "10.244.2.2", &web, 80, Proto::Udp));
    }

    #[test]
    fn egress_rules_isolate_the_source() {
        let t = table(vec![policy(
            "default",
            "metadata: {name: e}\nspec:\n  podSelector: {matchLabels: {app: locked}}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: 53\n      protocol: UDP\n",
        )]);
        let locked = pod("default", "locked", &[("app", "locked")]);
        let web = pod("default", "web", &[]);
        assert!(egress_allowed(&t, &locked, None, "10.244.0.3", 53, Proto::Udp));
        assert!(!egress_allowed(&t, &locked, Some(&web), "10.244.1.4", 80, Proto::Tcp));
        assert!(egress_allowed(&t, &web, Some(&locked), "10.244.1.5", 80, Proto::Tcp));
    }
}
