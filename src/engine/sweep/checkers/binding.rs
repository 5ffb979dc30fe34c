//! A pod is bound to one node for its whole life, and its containers run
//! on that node only. The two halves are checked on different evidence:
//! the store (a pod's `spec.nodeName` never changes once set) and the
//! machines (a pod uid never has containers running on two machines).
//!
//! A restore may rewind a binding made after the snapshot was taken; the
//! pod can then be bound again elsewhere, and its old machine runs it
//! until its kubelet learns of the change. That is what etcd restores do
//! to a real cluster, so such a pod is only held to the convergence check.

use std::collections::{BTreeMap, BTreeSet};

use super::pods;
use super::{Checker, Observation};
use crate::engine::api::Object;

#[derive(Default)]
pub struct OneNodePerPod {
    /// uid → (node, revision at which the binding was first seen).
    bound: BTreeMap<String, (String, i64)>,
    /// Pods whose binding a restore rewound.
    rewound: BTreeSet<String>,
    restores_seen: usize,
}

impl Checker for OneNodePerPod {
    fn name(&self) -> &'static str {
        "pod-on-two-nodes"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let restores = obs.api().store().restores();
        for restore in restores.iter().skip(self.restores_seen) {
            let rewound: Vec<String> = self.bound.iter().filter(|(_, (_, rev))| *rev > restore.snapshot_revision).map(|(uid, _)| uid.clone()).collect();
            for uid in rewound {
                self.bound.remove(&uid);
                self.rewound.insert(uid);
            }
        }
        self.restores_seen = restores.len();
        let revision = obs.api().store().revision();
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            let (Some(uid), Some(node)) = (pod.metadata.uid.as_deref(), pods::node_of(pod)) else { continue };
            match self.bound.get(uid) {
                Some((first, _)) if first != node => {
                    return Err(format!("pod {} (uid {uid}) was bound to {first}, now to {node}", pods::key(pod)));
                }
                Some(_) => {}
                None => {
                    self.bound.insert(uid.to_string(), (node.to_string(), revision));
                }
            }
        }
        let mut machines: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let running = obs.running_pods();
        for r in &running {
            machines.entry(r.uid.as_str()).or_default().push(r.node.as_str());
        }
        for (uid, nodes) in machines {
            if nodes.len() > 1 && !self.rewound.contains(uid) {
                let name = running.iter().find(|r| r.uid == uid).map(|r| format!("{}/{}", r.namespace, r.name)).unwrap_or_default();
                return Err(format!("pod {name} (uid {uid}) has containers running on {}", nodes.join(" and ")));
            }
        }
        Ok(())
    }
}
