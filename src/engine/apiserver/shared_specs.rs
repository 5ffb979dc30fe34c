//! One spec for the pods of a template: a pod created by a controller
//! whose admitted spec equals the last one stored for a pod of the same
//! controller holds that one (`Rc`) instead of its own copy.
//!
//! The pods of a ReplicaSet (or Job, StatefulSet, DaemonSet) are made from
//! one template and go through the same admission, so their specs are
//! equal once the token volume's name, drawn per pod, and `nodeName` are
//! kept beside the spec ([`Pod::take_token_volume_from_spec`],
//! [`Pod::node_name`]). Sharing is decided by comparing the specs
//! themselves, so whatever admission read (LimitRanges, the ServiceAccount,
//! PriorityClasses, the mirror-pod annotation) a spec that differs is never
//! shared; a writer that changes a shared spec copies it first
//! (`Rc::make_mut`), as for the versions of one pod. What is shared changes
//! nothing anyone sees, only how many copies are kept.

use std::hash::{Hash, Hasher};
use std::rc::{Rc, Weak};

use k8s_openapi::api::core::v1::PodSpec;
use rustc_hash::{FxHashMap, FxHasher};

use crate::engine::api::pod::Pod;

/// Controllers remembered at most; past it the forgotten specs are let go
/// (and then every entry, if all are still held).
const MAX_OWNERS: usize = 4096;

#[derive(Default)]
pub struct SharedSpecs {
    /// The last spec stored for a pod of each controller, by a hash of the
    /// controller's uid (a collision only compares two specs that differ).
    /// Looked up only, never iterated for anything that shows.
    last: FxHashMap<u64, Weak<PodSpec>>,
    /// Pods that took a spec already stored, for tests and benchmarks.
    pub shared: u64,
}

impl SharedSpecs {
    /// Gives `pod` the spec stored last for its controller's pods if it is
    /// equal to its own; else remembers its own for the next.
    pub fn share(&mut self, pod: &mut Pod) {
        let Some(spec) = pod.spec.as_ref() else { return };
        let Some(owner) = pod.metadata.owner_references.iter().flatten().find(|o| o.controller == Some(true)) else { return };
        let mut hasher = FxHasher::default();
        owner.uid.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(last) = self.last.get(&key).and_then(Weak::upgrade) {
            if Rc::ptr_eq(&last, spec) {
                return;
            }
            if *last == **spec {
                pod.spec = Some(last);
                self.shared += 1;
                return;
            }
        }
        if self.last.len() >= MAX_OWNERS && !self.last.contains_key(&key) {
            self.last.retain(|_, spec| spec.strong_count() > 0);
            if self.last.len() >= MAX_OWNERS {
                self.last.clear();
            }
        }
        self.last.insert(key, Rc::downgrade(spec));
    }
}
