//! "What would let it schedule", in plain words, for a pod no node took.
//!
//! Each rejected node's failing filters (the one that rejected it and the
//! later ones that would have) are turned into the smallest change that
//! would open that node; nodes needing the same change are grouped, the
//! changes opening the most nodes first.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use super::cycle::Evaluation;
use super::decision::{Decision, FilterVerdict, PreemptionNote};
use super::framework::{NodeInfo, PodInfo};
use super::plugins::{
    inter_pod_affinity, node_affinity, node_name, node_ports, node_resources_fit, node_unschedulable, pod_topology_spread, taint_toleration, volume_binding,
    volume_restrictions, volume_zone, Handle,
};

/// Most hints given.
const MAX_HINTS: usize = 6;

/// `1500m`, `2`; never negative.
pub fn format_cpu(millis: i64) -> String {
    let m = millis.max(0);
    if m % 1000 == 0 {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

/// `512Mi`, `2Gi`; never negative.
pub fn format_bytes(bytes: i64) -> String {
    let b = bytes.max(0);
    const KI: i64 = 1024;
    for (unit, size) in [("Ti", KI * KI * KI * KI), ("Gi", KI * KI * KI), ("Mi", KI * KI), ("Ki", KI)] {
        if b >= size && b % size == 0 {
            return format!("{}{unit}", b / size);
        }
    }
    if b >= KI * KI {
        return format!("{}Mi", b / (KI * KI));
    }
    format!("{b}")
}

fn free(node: &NodeInfo, resource: &str) -> String {
    let a = &node.allocatable;
    let u = &node.requested;
    match resource {
        "cpu" => format_cpu(a.milli_cpu - u.milli_cpu),
        "memory" => format_bytes(a.memory - u.memory),
        "ephemeral-storage" => format_bytes(a.ephemeral_storage - u.ephemeral_storage),
        other => format!("{}", (a.scalar(other) - u.scalar(other)).max(0)),
    }
}

fn free_amount(node: &NodeInfo, resource: &str) -> i64 {
    let a = &node.allocatable;
    let u = &node.requested;
    match resource {
        "cpu" => a.milli_cpu - u.milli_cpu,
        "memory" => a.memory - u.memory,
        "ephemeral-storage" => a.ephemeral_storage - u.ephemeral_storage,
        other => a.scalar(other) - u.scalar(other),
    }
}

/// The change that would make one filter pass on one node.
fn fix(_h: &Handle, pod: &PodInfo, node: &NodeInfo, plugin: &str, reasons: &[String]) -> String {
    match plugin {
        p if p == taint_toleration::NAME => match taint_toleration::first_untolerated(&node.hard_taints, pod.tolerations) {
            Some(t) => match t.value.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => format!("tolerate {}={v}:{}", t.key, t.effect),
                None => format!("tolerate {}:{}", t.key, t.effect),
            },
            None => "tolerate the node's taints".into(),
        },
        p if p == node_unschedulable::NAME => format!("uncordon {} (kubectl uncordon {})", node.name, node.name),
        p if p == node_name::NAME => format!("name {} in spec.nodeName, or leave spec.nodeName empty", node.name),
        p if p == node_affinity::NAME => match pod.node_selector {
            Some(sel) => {
                let missing: Vec<String> = sel.iter().filter(|(k, v)| node.labels().get(*k) != Some(*v)).map(|(k, v)| format!("{k}={v}")).collect();
                format!("add a node with {} (or label one: kubectl label node {} {})", missing.join(","), node.name, missing.join(" "))
            }
            None => "add a node that matches the pod's required node affinity (or relabel one)".into(),
        },
        p if p == node_ports::NAME => {
            let ports: Vec<String> = pod.host_ports.iter().filter(|w| node.used_ports.iter().any(|u| u.conflicts(w))).map(|w| format!("{}/{}", w.port, w.protocol)).collect();
            format!("free host port {} on {}, or ask for another hostPort", ports.join(", "), node.name)
        }
        p if p == node_resources_fit::NAME => {
            let mut wants = Vec::new();
            for r in reasons {
                if r == "Too many pods" {
                    wants.push(format!("room for one more pod on {} (it holds its maximum of {})", node.name, node.allocatable.pods));
                } else if let Some(resource) = r.strip_prefix("Insufficient ") {
                    let whole = match resource {
                        "cpu" => node.allocatable.milli_cpu,
                        "memory" => node.allocatable.memory,
                        "ephemeral-storage" => node.allocatable.ephemeral_storage,
                        other => node.allocatable.scalar(other),
                    };
                    let asked = match resource {
                        "cpu" => pod.requests.requests.milli_cpu,
                        "memory" => pod.requests.requests.memory,
                        "ephemeral-storage" => pod.requests.requests.ephemeral_storage,
                        other => pod.requests.requests.scalar(other),
                    };
                    if asked > whole {
                        wants.push(format!("a node with more {resource} (this one has {} in all)", free_whole(node, resource)));
                    } else if free_amount(node, resource) > 0 {
                        wants.push(format!("request at most {} {resource}", free(node, resource)));
                    } else {
                        wants.push(format!("free some {resource} on {}", node.name));
                    }
                }
            }
            wants.join(" and ")
        }
        p if p == inter_pod_affinity::NAME => match reasons.first().map(String::as_str) {
            Some(inter_pod_affinity::REASON_ANTI_AFFINITY) => {
                let keys: Vec<String> = pod.affinity.iter().flat_map(|a| a.required_anti_affinity.iter().map(|t| t.topology_key.clone())).collect();
                format!("add a node in a new {} domain (no pod the anti-affinity matches), or make the anti-affinity preferred", keys.first().cloned().unwrap_or_default())
            }
            Some(inter_pod_affinity::REASON_AFFINITY) => "run a pod that matches the required pod affinity first (in the same topology domain), or make the affinity preferred".into(),
            _ => "move the running pod whose anti-affinity keeps this pod away".into(),
        },
        p if p == pod_topology_spread::NAME => "add nodes in other topology domains, raise maxSkew, or use whenUnsatisfiable: ScheduleAnyway".into(),
        p if p == volume_binding::NAME => match reasons.first().map(String::as_str) {
            Some(volume_binding::REASON_NODE_CONFLICT) => "run it where its volume is (the volume's node affinity excludes this node)".into(),
            Some(volume_binding::REASON_BIND_CONFLICT) => "create a PersistentVolume that matches the claim (class, size, access modes) and this node, or use a StorageClass with a provisioner".into(),
            _ => "fix the pod's PersistentVolumeClaims".into(),
        },
        p if p == volume_zone::NAME => "run it in the volume's zone".into(),
        p if p == volume_restrictions::NAME => "stop the other pod using the same disk or ReadWriteOncePod claim".into(),
        _ => "attach fewer volumes, or use a node with room for more".into(),
    }
}

fn free_whole(node: &NodeInfo, resource: &str) -> String {
    let a = &node.allocatable;
    match resource {
        "cpu" => format_cpu(a.milli_cpu),
        "memory" => format_bytes(a.memory),
        "ephemeral-storage" => format_bytes(a.ephemeral_storage),
        other => format!("{}", a.scalar(other)),
    }
}

/// The hints for a failed attempt.
pub fn hints(h: &Handle, pod: &PodInfo, eval: &Evaluation, decision: &Decision, preemption: Option<&PreemptionNote>) -> Vec<String> {
    let mut out = Vec::new();
    if eval.nodes_total == 0 {
        out.push("add a node: the cluster has none".to_string());
        return out;
    }
    if let Some(p) = preemption {
        if let Some(node) = &p.nominated {
            let victims = p.candidates.iter().find(|c| c.node == *node).map_or(0, |c| c.victims.len());
            out.push(format!("nothing: it preempted {victims} lower-priority pod(s) on {node} and will run there once they finish terminating"));
            return out;
        }
        if let Some(reason) = &p.not_eligible {
            if reason == super::plugins::default_preemption::NOT_ELIGIBLE_TERMINATING {
                out.push("nothing: the pods it preempted are still terminating on its nominated node".to_string());
                return out;
            }
        }
    }
    if let Some((plugin, reason)) = &decision.pre_filter_rejection {
        let text = if reason == volume_binding::REASON_UNBOUND_IMMEDIATE {
            "its PersistentVolumeClaim must be bound first: create a matching PersistentVolume, or check the claim's StorageClass and its provisioner".to_string()
        } else if let Some(name) = reason.strip_prefix("persistentvolumeclaim \"").and_then(|r| r.strip_suffix("\" not found")) {
            format!("create the PersistentVolumeClaim \"{name}\" in namespace {}", pod.namespace)
        } else {
            format!("{plugin}: {reason}")
        };
        out.push(text);
        return out;
    }
    // Per node: the changes it needs, in filter order.
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut first_seen: Vec<String> = Vec::new();
    for v in &decision.nodes {
        let FilterVerdict::Failed(rejection) = &v.filter else { continue };
        let Some(node) = h.cache.node(&v.node) else { continue };
        let mut changes = vec![fix(h, pod, node, rejection.plugin, &rejection.reasons)];
        for (p, r) in &rejection.also_failing {
            changes.push(fix(h, pod, node, p, r));
        }
        changes.dedup();
        let text = changes.join(", and ");
        if !groups.contains_key(&text) {
            first_seen.push(text.clone());
        }
        groups.entry(text).or_default().push(v.node.to_string());
    }
    let mut ranked: Vec<(String, Vec<String>)> = first_seen.into_iter().filter_map(|t| groups.remove(&t).map(|n| (t, n))).collect();
    // Fewer changes first (a single change is the cheapest), then more nodes opened.
    ranked.sort_stable_by_key(|(t, n)| (t.matches(", and ").count(), std::cmp::Reverse(n.len())));
    for (text, nodes) in ranked.into_iter().take(MAX_HINTS) {
        let shown: Vec<&str> = nodes.iter().take(3).map(String::as_str).collect();
        let more = if nodes.len() > 3 { format!(" and {} more", nodes.len() - 3) } else { String::new() };
        out.push(format!("{text} — for {} ({}{more})", plural(nodes.len()), shown.join(", ")));
    }
    if let Some(p) = preemption {
        if p.not_eligible.as_deref() == Some(super::plugins::default_preemption::NOT_ELIGIBLE_NEVER) {
            out.push("its PriorityClass says preemptionPolicy: Never, so it will not evict lower-priority pods to make room".into());
        }
    }
    out
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 node".into()
    } else {
        format!("{n} nodes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubectl_writes_them() {
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_cpu(-5), "0");
        assert_eq!(format_bytes(2 << 30), "2Gi");
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(1000), "1000");
    }
}
