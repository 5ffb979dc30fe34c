//! The scheduler's cache: every node with what the pods assigned to it use,
//! kept incrementally from the informers and from the scheduler's own
//! assumptions (a pod counts on its node from the moment it is bound, before
//! the watch confirms it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use std::rc::Rc;

use k8s_openapi::api::core::v1::Pod;

use super::framework::{pod_host_ports, pod_priority, HostPort, NodeInfo};
use super::resources::{pod_requests, PodRequests};
use crate::engine::api::{Object, ObjectKey};

/// What an assigned pod takes from its node.
#[derive(Clone, Debug)]
pub struct AssignedPod {
    pub node: Rc<str>,
    /// The node's slot while the node is in the cache.
    slot: Option<usize>,
    pub requests: PodRequests,
    pub ports: Vec<HostPort>,
    pub priority: i32,
    /// Counted for spreading: has a controller owner and is not terminating.
    owner: Option<Rc<str>>,
    pub terminating: bool,
}

impl AssignedPod {
    pub fn from_pod(pod: &Pod, node: &str) -> Self {
        Self::with_requests(pod, Rc::from(node), pod_requests(pod))
    }

    /// As [`AssignedPod::from_pod`], reusing requests already computed and
    /// the cache's copy of the node name.
    pub fn with_requests(pod: &Pod, node: Rc<str>, requests: PodRequests) -> Self {
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let owner = if terminating {
            None
        } else {
            pod.metadata
                .owner_references
                .as_ref()
                .and_then(|o| o.iter().find(|r| r.controller == Some(true)))
                .map(|r| Rc::from(r.uid.as_str()))
        };
        AssignedPod { node, slot: None, requests, ports: pod_host_ports(pod), priority: pod_priority(pod), owner, terminating }
    }
}

/// Per-owner pod counts by node slot, for default spreading.
struct OwnerCounts {
    by_slot: Vec<u32>,
    total: u64,
}

#[derive(Default)]
pub struct Cache {
    slots: Vec<Option<NodeInfo>>,
    free_slots: Vec<usize>,
    by_name: HashMap<Rc<str>, usize>,
    /// Slots in node-tree order: zones taken round-robin, nodes of a zone in
    /// the order they were added.
    order: Vec<usize>,
    added: Vec<usize>,
    order_dirty: bool,
    pods: HashMap<ObjectKey, AssignedPod>,
    /// Assigned pods by node name, including nodes not (or no longer) cached.
    /// (Looked up by name only; each node's set iterates in key order.)
    pods_by_node: HashMap<Rc<str>, BTreeSet<ObjectKey>>,
    owners: HashMap<Rc<str>, OwnerCounts>,
}

impl Cache {
    pub fn node_count(&self) -> usize {
        self.by_name.len()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name.get(name).and_then(|&s| self.slots.get(s)).and_then(Option::as_ref)
    }

    pub fn node_at(&self, slot: usize) -> Option<&NodeInfo> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// Nodes in node-tree order (the order filtering walks them); call
    /// [`Cache::refresh_order`] after changes first.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.order.iter().filter_map(|&s| self.slots.get(s).and_then(Option::as_ref))
    }

    /// Node slots in node-tree order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    #[cfg(test)]
    pub fn ordered_nodes(&mut self) -> Vec<&NodeInfo> {
        self.refresh_order();
        self.nodes().collect()
    }

    /// Rebuilds the node-tree order if nodes came, went or changed zone.
    pub fn refresh_order(&mut self) {
        if !self.order_dirty {
            return;
        }
        let mut zones: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut zone_order: Vec<String> = Vec::new();
        for &slot in &self.added {
            let Some(n) = self.slots.get(slot).and_then(Option::as_ref) else { continue };
            let labels = n.labels();
            let region = labels.get("topology.kubernetes.io/region").map(String::as_str).unwrap_or("");
            let zone = labels.get("topology.kubernetes.io/zone").map(String::as_str).unwrap_or("");
            let key = format!("{region}:\u{0}:{zone}");
            let list = zones.entry(key.clone()).or_default();
            if list.is_empty() {
                zone_order.push(key);
            }
            list.push(slot);
        }
        self.order.clear();
        let mut index = 0;
        loop {
            let mut any = false;
            for z in &zone_order {
                if let Some(&slot) = zones.get(z).and_then(|l| l.get(index)) {
                    self.order.push(slot);
                    any = true;
                }
            }
            if !any {
                break;
            }
            index += 1;
        }
        self.order_dirty = false;
    }

    /// Adds or replaces a node. Returns the previous version, if any.
    pub fn upsert_node(&mut self, obj: Rc<Object>) -> Option<NodeInfo> {
        let Object::Node(node) = &*obj else { return None };
        let name = node.metadata.name.as_deref().unwrap_or("");
        if let Some(&slot) = self.by_name.get(name) {
            let info = self.slots.get_mut(slot).and_then(Option::as_mut)?;
            let old = info.clone();
            let zone_before = (old.labels().get("topology.kubernetes.io/region").cloned(), old.zone.clone());
            info.set_node(obj);
            let zone_after = (info.labels().get("topology.kubernetes.io/region").cloned(), info.zone.clone());
            if zone_before != zone_after {
                self.order_dirty = true;
            }
            return Some(old);
        }
        let slot = self.free_slots.pop().unwrap_or(self.slots.len());
        let info = NodeInfo::new(slot, obj)?;
        let name = info.name.clone();
        if slot == self.slots.len() {
            self.slots.push(Some(info));
        } else if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(info);
        }
        self.by_name.insert(name.clone(), slot);
        self.added.push(slot);
        self.order_dirty = true;
        // Pods already known on this node count again.
        let keys: Vec<ObjectKey> = self.pods_by_node.get(&name).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for key in keys {
            if let Some(mut p) = self.pods.remove(&key) {
                p.slot = Some(slot);
                self.account(&p, 1);
                self.pods.insert(key, p);
            }
        }
        None
    }

    pub fn remove_node(&mut self, name: &str) -> Option<NodeInfo> {
        let slot = self.by_name.remove(name)?;
        let keys: Vec<ObjectKey> = self.pods_by_node.get(name).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for key in keys {
            if let Some(mut p) = self.pods.remove(&key) {
                self.account(&p, -1);
                p.slot = None;
                self.pods.insert(key, p);
            }
        }
        let info = self.slots.get_mut(slot).and_then(Option::take);
        self.free_slots.push(slot);
        self.added.retain(|&s| s != slot);
        self.order_dirty = true;
        info
    }

    pub fn pod(&self, key: &ObjectKey) -> Option<&AssignedPod> {
        self.pods.get(key)
    }

    /// Whether the pod is recorded on `node` in the same terminating state
    /// (the watch confirming what the scheduler assumed).
    pub fn has_pod_on(&self, key: &ObjectKey, node: &str, terminating: bool) -> bool {
        self.pods.get(key).is_some_and(|p| &*p.node == node && p.terminating == terminating)
    }

    /// Records a pod on its node (bound, or assumed while binding).
    /// Replaces an earlier record of the same pod.
    pub fn add_pod(&mut self, key: ObjectKey, mut pod: AssignedPod) {
        self.remove_pod(&key);
        if let Some(owner) = &pod.owner {
            if let Some((interned, _)) = self.owners.get_key_value(owner) {
                pod.owner = Some(interned.clone());
            }
        }
        pod.slot = self.by_name.get(&pod.node).copied();
        self.account(&pod, 1);
        self.pods_by_node.entry(pod.node.clone()).or_default().insert(key.clone());
        self.pods.insert(key, pod);
    }

    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<AssignedPod> {
        let pod = self.pods.remove(key)?;
        self.account(&pod, -1);
        if let Some(set) = self.pods_by_node.get_mut(&pod.node) {
            set.remove(key);
            if set.is_empty() {
                self.pods_by_node.remove(&pod.node);
            }
        }
        Some(pod)
    }

    /// Pods recorded on a node, in key order.
    pub fn pods_on(&self, node: &str) -> impl Iterator<Item = (&ObjectKey, &AssignedPod)> {
        self.pods_by_node.get(node).into_iter().flatten().filter_map(|k| self.pods.get(k).map(|p| (k, p)))
    }

    /// Per node slot, the pods of `owner` (for spreading).
    pub fn owner_counts(&self, owner: &str) -> Option<&[u32]> {
        self.owners.get(owner).map(|o| o.by_slot.as_slice())
    }

    fn account(&mut self, pod: &AssignedPod, sign: i64) {
        let Some(slot) = pod.slot else { return };
        let Some(info) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        let r = &pod.requests;
        if sign > 0 {
            info.requested.add(&r.requests);
            info.non_zero_milli_cpu += r.non_zero_milli_cpu;
            info.non_zero_memory += r.non_zero_memory;
            info.pod_count += 1;
            info.used_ports.extend(pod.ports.iter().cloned());
        } else {
            info.requested.subtract(&r.requests);
            info.non_zero_milli_cpu -= r.non_zero_milli_cpu;
            info.non_zero_memory -= r.non_zero_memory;
            info.pod_count -= 1;
            for port in &pod.ports {
                if let Some(i) = info.used_ports.iter().position(|p| p == port) {
                    info.used_ports.swap_remove(i);
                }
            }
        }
        if let Some(owner) = &pod.owner {
            let slots = self.slots.len();
            let counts = self.owners.entry(owner.clone()).or_insert_with(|| OwnerCounts { by_slot: Vec::new(), total: 0 });
            if counts.by_slot.len() < slots {
                counts.by_slot.resize(slots, 0);
            }
            if let Some(c) = counts.by_slot.get_mut(slot) {
                if sign > 0 {
                    *c += 1;
                    counts.total += 1;
                } else if *c > 0 {
                    *c -= 1;
                    counts.total -= 1;
                }
            }
            if counts.total == 0 {
                self.owners.remove(owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, zone: Option<&str>) -> Rc<Object> {
        let mut labels = serde_json::json!({"kubernetes.io/hostname": name});
        if let Some(z) = zone {
            labels["topology.kubernetes.io/zone"] = z.into();
        }
        let n = serde_json::json!({"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}});
        Rc::new(Object::Node(serde_json::from_value(n).unwrap()))
    }

    fn pod(name: &str, cpu: &str, owner: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": true}]},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
        }))
        .unwrap()
    }

    #[test]
    fn accounts_pods_across_node_churn() {
        let mut c = Cache::default();
        c.upsert_node(node("a", Some("z1")));
        c.upsert_node(node("b", Some("z1")));
        c.upsert_node(node("c", Some("z2")));
        let order: Vec<String> = c.ordered_nodes().iter().map(|n| n.name.to_string()).collect();
        assert_eq!(order, vec!["a", "c", "b"], "zones round-robin");
        let key = ObjectKey::new("default", "p1");
        c.add_pod(key.clone(), AssignedPod::from_pod(&pod("p1", "500m", "u1"), "a"));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        assert_eq!(c.owner_counts("u1").unwrap()[c.node("a").unwrap().slot], 1);
        // Pod known before its node: counted when the node arrives.
        c.add_pod(ObjectKey::new("default", "p2"), AssignedPod::from_pod(&pod("p2", "1", "u1"), "d"));
        c.upsert_node(node("d", None));
        assert_eq!(c.node("d").unwrap().requested.milli_cpu, 1000);
        c.remove_node("a");
        assert!(c.node("a").is_none());
        c.upsert_node(node("a", Some("z1")));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        c.remove_pod(&key);
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 0);
        assert_eq!(c.node("a").unwrap().pod_count, 0);
    }
}
