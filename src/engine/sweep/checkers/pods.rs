//! Small readings of pods that several checkers share, written here from
//! the API's definitions rather than borrowed from the components.

use crate::engine::api::pod::Pod;

use crate::engine::api::meta;
use crate::engine::sim::clock::VirtualTime;

pub fn node_of(pod: &Pod) -> Option<&str> {
    pod.bound_node()
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase()).unwrap_or("Pending")
}

pub fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's Ready condition is True, and has been for `min_ready_ms`.
pub fn available(pod: &Pod, min_ready_ms: u64, now: VirtualTime) -> bool {
    if terminating(pod) || phase(pod) != "Running" {
        return false;
    }
    let Some(ready) = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready")) else {
        return false;
    };
    if ready.status != "True" {
        return false;
    }
    min_ready_ms == 0 || ready.last_transition_time.as_ref().is_some_and(|t| now.millis_since(meta::virtual_of(t)) >= min_ready_ms)
}

/// The uid of the pod's controller (its ReplicaSet, Job, StatefulSet…).
pub fn controller_uid(pod: &Pod) -> Option<&str> {
    meta::controller_of(pod.metadata.owner_references.as_ref()).map(|o| o.uid.as_str())
}

pub fn key(pod: &Pod) -> String {
    format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or(""))
}
