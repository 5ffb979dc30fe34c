//! Once every fault has ended and the cluster had its time, every
//! controller's desired state is reached: nodes Ready and untainted,
//! Deployments and ReplicaSets at their replicas with every pod available
//! from the newest template, Jobs finished, nothing terminating or
//! unscheduled, no orphans, every cache caught up with the store, and the
//! machines running exactly the pods the store binds to them.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::PodTemplateSpec;

use super::informers;
use super::pods;
use super::Observation;
use crate::engine::api::{ids, meta, Object};

const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// What is not converged yet, each as a sentence; empty when converged.
pub fn problems(obs: &Observation) -> Vec<String> {
    let mut out = Vec::new();
    let now = obs.now();
    // Nodes.
    let nodes = obs.stored(ids::nodes());
    for name in obs.node_names() {
        let Some(Object::Node(node)) = nodes.iter().find(|n| n.meta().name.as_deref() == Some(name.as_str())).map(|o| &**o) else {
            out.push(format!("node {name} is not registered"));
            continue;
        };
        let ready = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready")).map(|c| c.status.as_str());
        if ready != Some("True") {
            out.push(format!("node {name} is not Ready ({})", ready.unwrap_or("no condition")));
        }
        for taint in node.spec.as_ref().and_then(|s| s.taints.as_ref()).into_iter().flatten() {
            if taint.key.starts_with("node.kubernetes.io/") {
                out.push(format!("node {name} still has the taint {}:{}", taint.key, taint.effect));
            }
        }
    }
    // Every owner that exists, by uid.
    let mut owners: BTreeSet<String> = BTreeSet::new();
    // A mirror pod's controller is its Node.
    for rid in [ids::deployments(), ids::replica_sets(), ids::jobs(), ids::stateful_sets(), ids::daemon_sets(), ids::replication_controllers(), ids::cron_jobs(), ids::nodes()] {
        owners.extend(obs.stored(rid).iter().filter_map(|o| o.meta().uid.clone()));
    }
    // Pods.
    let pods_stored = obs.pods();
    let mut by_controller: BTreeMap<String, Vec<&crate::engine::api::pod::Pod>> = BTreeMap::new();
    let mut bound: BTreeMap<String, String> = BTreeMap::new();
    for obj in &pods_stored {
        let Object::Pod(pod) = &**obj else { continue };
        let key = pods::key(pod);
        if pods::terminating(pod) {
            out.push(format!("pod {key} is still terminating"));
            continue;
        }
        match pods::node_of(pod) {
            Some(node) => {
                bound.insert(pod.metadata.uid.clone().unwrap_or_default(), node.to_string());
            }
            None => out.push(format!("pod {key} is not scheduled")),
        }
        if let Some(owner) = pods::controller_uid(pod) {
            if !owners.contains(owner) {
                out.push(format!("pod {key} outlived its controller (uid {owner})"));
            }
            by_controller.entry(owner.to_string()).or_default().push(pod);
        }
    }
    let live = |uid: &str| -> Vec<&crate::engine::api::pod::Pod> { by_controller.get(uid).cloned().unwrap_or_default() };
    // ReplicaSets.
    let mut rs_of_deployment: BTreeMap<String, Vec<(String, Option<PodTemplateSpec>, i32)>> = BTreeMap::new();
    for obj in obs.stored(ids::replica_sets()) {
        let Object::ReplicaSet(rs) = &*obj else { continue };
        let name = format!("{}/{}", rs.metadata.namespace.as_deref().unwrap_or(""), rs.metadata.name.as_deref().unwrap_or(""));
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if let Some(owner) = meta::controller_of(rs.metadata.owner_references.as_ref()) {
            if !owners.contains(&owner.uid) {
                out.push(format!("replicaset {name} outlived its deployment"));
            }
            rs_of_deployment.entry(owner.uid.clone()).or_default().push((uid.clone(), rs.spec.as_ref().and_then(|s| s.template.clone()), want));
        }
        let pods = live(&uid);
        let min_ready = rs.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0).max(0) as u64 * 1000;
        let available = pods.iter().filter(|p| pods::available(p, min_ready, now)).count();
        let status = rs.status.as_ref();
        if pods.len() != want as usize || available != want as usize {
            out.push(format!("replicaset {name} wants {want} pods, has {} ({available} available)", pods.len()));
        }
        if status.map_or(0, |s| s.replicas) != want || status.and_then(|s| s.ready_replicas).unwrap_or(0) != want {
            out.push(format!("replicaset {name} reports {} replicas, {} ready, of {want}", status.map_or(0, |s| s.replicas), status.and_then(|s| s.ready_replicas).unwrap_or(0)));
        }
        if status.and_then(|s| s.observed_generation) < rs.metadata.generation {
            out.push(format!("replicaset {name} has not observed generation {}", rs.metadata.generation.unwrap_or(0)));
        }
    }
    // Deployments.
    for obj in obs.stored(ids::deployments()) {
        let Object::Deployment(d) = &*obj else { continue };
        if d.metadata.deletion_timestamp.is_some() {
            out.push(format!("deployment {} is still being deleted", d.metadata.name.as_deref().unwrap_or("")));
            continue;
        }
        let name = format!("{}/{}", d.metadata.namespace.as_deref().unwrap_or(""), d.metadata.name.as_deref().unwrap_or(""));
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.as_ref();
        let reported = |f: Option<i32>| f.unwrap_or(0);
        let (replicas, updated, ready, available) = (
            reported(status.and_then(|s| s.replicas)),
            reported(status.and_then(|s| s.updated_replicas)),
            reported(status.and_then(|s| s.ready_replicas)),
            reported(status.and_then(|s| s.available_replicas)),
        );
        if (replicas, updated, ready, available) != (want, want, want, want) {
            out.push(format!("deployment {name} reports {replicas} replicas, {updated} updated, {ready} ready, {available} available, of {want}"));
        }
        if status.and_then(|s| s.observed_generation) < d.metadata.generation {
            out.push(format!("deployment {name} has not observed generation {}", d.metadata.generation.unwrap_or(0)));
        }
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let wanted_template = d.spec.as_ref().map(|s| s.template.clone());
        for (rs_uid, template, rs_replicas) in rs_of_deployment.get(&uid).into_iter().flatten() {
            let mut template = template.clone();
            if let Some(labels) = template.as_mut().and_then(|t| t.metadata.as_mut()).and_then(|m| m.labels.as_mut()) {
                labels.remove(POD_TEMPLATE_HASH);
            }
            let current = template == wanted_template;
            let pods = live(rs_uid).len();
            if !current && (pods > 0 || *rs_replicas > 0) {
                out.push(format!("deployment {name} still runs {pods} pods of an old template"));
            }
        }
    }
    // StatefulSets: every ordinal Ready from the newest revision.
    for obj in obs.stored(ids::stateful_sets()) {
        let Object::StatefulSet(set) = &*obj else { continue };
        let name = format!("{}/{}", set.metadata.namespace.as_deref().unwrap_or(""), set.metadata.name.as_deref().unwrap_or(""));
        if set.metadata.deletion_timestamp.is_some() {
            out.push(format!("statefulset {name} is still being deleted"));
            continue;
        }
        let want = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let pods = live(set.metadata.uid.as_deref().unwrap_or(""));
        let ready = pods.iter().filter(|p| pods::available(p, 0, now)).count();
        if pods.len() != want as usize || ready != want as usize {
            out.push(format!("statefulset {name} wants {want} pods, has {} ({ready} ready)", pods.len()));
        }
        let status = set.status.as_ref();
        let (replicas, ready_reported, updated) = (status.map_or(0, |s| s.replicas), status.and_then(|s| s.ready_replicas).unwrap_or(0), status.and_then(|s| s.updated_replicas).unwrap_or(0));
        if (replicas, ready_reported, updated) != (want, want, want) {
            out.push(format!("statefulset {name} reports {replicas} replicas, {ready_reported} ready, {updated} updated, of {want}"));
        }
        if status.and_then(|s| s.current_revision.as_ref()) != status.and_then(|s| s.update_revision.as_ref()) {
            out.push(format!("statefulset {name} has not finished rolling out"));
        }
        if status.and_then(|s| s.observed_generation) < set.metadata.generation {
            out.push(format!("statefulset {name} has not observed generation {}", set.metadata.generation.unwrap_or(0)));
        }
    }
    // DaemonSets: one Ready pod of the newest template on every node it wants.
    for obj in obs.stored(ids::daemon_sets()) {
        let Object::DaemonSet(ds) = &*obj else { continue };
        let name = format!("{}/{}", ds.metadata.namespace.as_deref().unwrap_or(""), ds.metadata.name.as_deref().unwrap_or(""));
        if ds.metadata.deletion_timestamp.is_some() {
            out.push(format!("daemonset {name} is still being deleted"));
            continue;
        }
        let Some(status) = ds.status.as_ref() else {
            out.push(format!("daemonset {name} has no status"));
            continue;
        };
        let desired = status.desired_number_scheduled;
        let counts = (status.current_number_scheduled, status.number_ready, status.updated_number_scheduled.unwrap_or(0), status.number_available.unwrap_or(0));
        if counts != (desired, desired, desired, desired) || status.number_misscheduled != 0 {
            out.push(format!(
                "daemonset {name} reports {} scheduled, {} ready, {} updated, {} available, {} misscheduled, of {desired}",
                counts.0, counts.1, counts.2, counts.3, status.number_misscheduled
            ));
        }
        let pods = live(ds.metadata.uid.as_deref().unwrap_or(""));
        let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &pods {
            *per_node.entry(pods::node_of(p).unwrap_or("")).or_default() += 1;
        }
        if let Some((node, n)) = per_node.iter().find(|(_, n)| **n > 1) {
            out.push(format!("daemonset {name} runs {n} pods on {node}"));
        }
        if pods.len() != desired.max(0) as usize {
            out.push(format!("daemonset {name} has {} pods, wants {desired}", pods.len()));
        }
        if status.observed_generation < ds.metadata.generation {
            out.push(format!("daemonset {name} has not observed generation {}", ds.metadata.generation.unwrap_or(0)));
        }
    }
    // Jobs.
    for obj in obs.stored(ids::jobs()) {
        let Object::Job(job) = &*obj else { continue };
        let finished = job.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        });
        if !finished && job.metadata.deletion_timestamp.is_none() {
            out.push(format!("job {} has not finished", job.metadata.name.as_deref().unwrap_or("")));
        }
    }
    // Caches.
    let sim = &obs.cluster.sim;
    for component in sim.components() {
        if sim.is_running(component.name()) != Some(true) {
            continue;
        }
        for informer in component.informers() {
            if !informer.caught_up(obs.api()) {
                out.push(format!("{} has not caught up with its {} watch", component.name(), crate::engine::api::resource(informer.query().resource).qualified_plural()));
            } else if let Some(diff) = informers::differs(obs, informer) {
                out.push(format!("{}: {diff}", component.name()));
            }
        }
    }
    // Machines against the store.
    let running = obs.running_pods();
    let running_uids: BTreeSet<(String, String)> = running.iter().map(|r| (r.uid.clone(), r.node.clone())).collect();
    for r in &running {
        if bound.get(&r.uid) != Some(&r.node) {
            out.push(format!("{} still runs pod {}/{} (uid {}), which the store does not bind there", r.node, r.namespace, r.name, r.uid));
        }
    }
    for obj in &pods_stored {
        let Object::Pod(pod) = &**obj else { continue };
        if pods::phase(pod) != "Running" || pods::terminating(pod) {
            continue;
        }
        let (Some(uid), Some(node)) = (pod.metadata.uid.clone(), pods::node_of(pod)) else { continue };
        if !running_uids.contains(&(uid, node.to_string())) {
            out.push(format!("pod {} is Running in the store but nothing runs it on {node}", pods::key(pod)));
        }
    }
    out
}
