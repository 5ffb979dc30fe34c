//! The requests of the pods bound to a node never exceed its allocatable
//! CPU, memory and pod count. A pod holds its requests from binding until
//! it has finished (Succeeded or Failed) or is gone, terminating included.

use std::collections::BTreeMap;

use crate::engine::api::pod::Pod;

use super::pods;
use super::{Checker, Observation};
use crate::engine::api::{ids, Object};
use crate::engine::quantity::{parse_stored, Quantity};

pub struct RequestsFitAllocatable;

/// (cpu millis, memory bytes): the larger of the sum of the containers'
/// requests and any one init container's, plus the pod's overhead.
fn requests(pod: &Pod) -> (i128, i128) {
    let Some(spec) = pod.spec.as_ref() else { return (0, 0) };
    let get = |c: &k8s_openapi::api::core::v1::Container, what: &str| -> Option<Quantity> {
        c.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|m| m.get(what)).and_then(parse_stored)
    };
    let mut cpu: i128 = spec.containers.iter().filter_map(|c| get(c, "cpu")).map(|q| i128::from(q.milli_value())).sum();
    let mut memory: i128 = spec.containers.iter().filter_map(|c| get(c, "memory")).map(|q| i128::from(q.value())).sum();
    for c in spec.init_containers.iter().flatten() {
        cpu = cpu.max(get(c, "cpu").map_or(0, |q| i128::from(q.milli_value())));
        memory = memory.max(get(c, "memory").map_or(0, |q| i128::from(q.value())));
    }
    if let Some(overhead) = spec.overhead.as_ref() {
        cpu += overhead.get("cpu").and_then(parse_stored).map_or(0, |q| i128::from(q.milli_value()));
        memory += overhead.get("memory").and_then(parse_stored).map_or(0, |q| i128::from(q.value()));
    }
    (cpu, memory)
}

impl Checker for RequestsFitAllocatable {
    fn name(&self) -> &'static str {
        "requests-exceed-allocatable"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let mut used: BTreeMap<String, (i128, i128, i128)> = BTreeMap::new();
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            let Some(node) = pods::node_of(pod) else { continue };
            if matches!(pods::phase(pod), "Succeeded" | "Failed") {
                continue;
            }
            let (cpu, memory) = requests(pod);
            let entry = used.entry(node.to_string()).or_default();
            entry.0 += cpu;
            entry.1 += memory;
            entry.2 += 1;
        }
        for obj in obs.stored(ids::nodes()) {
            let Object::Node(node) = &*obj else { continue };
            let Some(name) = node.metadata.name.as_deref() else { continue };
            let Some(&(cpu, memory, count)) = used.get(name) else { continue };
            let Some(allocatable) = node.status.as_ref().and_then(|s| s.allocatable.as_ref()) else { continue };
            let limit = |what: &str, millis: bool| allocatable.get(what).and_then(parse_stored).map(|q| if millis { i128::from(q.milli_value()) } else { i128::from(q.value()) });
            if let Some(max) = limit("cpu", true).filter(|max| cpu > *max) {
                return Err(format!("node {name}: pods request {cpu}m CPU, allocatable is {max}m"));
            }
            if let Some(max) = limit("memory", false).filter(|max| memory > *max) {
                return Err(format!("node {name}: pods request {memory} bytes of memory, allocatable is {max}"));
            }
            if let Some(max) = limit("pods", false).filter(|max| count > *max) {
                return Err(format!("node {name}: {count} pods, allocatable is {max}"));
            }
        }
        Ok(())
    }
}
