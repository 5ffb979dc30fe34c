//! Where the simulation's components run on the machines, so that stopping
//! one shows where a learner would look on a real cluster:
//!
//! - The control plane (`etcd`, `apiserver`, `controller-manager`,
//!   `scheduler`) runs as static pods of the control-plane node. Stopping
//!   one takes its manifest out of `/etc/kubernetes/manifests`, as one keeps
//!   a control-plane component down on a kubeadm node (with the kubelet
//!   running, a stopped container would be restarted at once): the kubelet
//!   kills the pod and deletes its mirror pod, which disappears from
//!   `kubectl get pods -n kube-system`. Starting it puts the manifest back
//!   and the kubelet starts a new pod. With the kubelet stopped nothing is
//!   reported, as in the Kubernetes Workshop's Exercise 2.05, and the
//!   kubelet catches up when it starts.
//! - `kube-proxy/<node>` and the storage provisioners run in pods made by
//!   the API (a DaemonSet, a Deployment, a bare pod). A process of theirs
//!   cannot stay down while the kubelet runs: stopping the component makes
//!   its containers exit, and each restart fails at once, so the pod goes
//!   to `CrashLoopBackOff` until the component is started again.

use std::collections::BTreeMap;

use super::Sim;

/// Where one component's process lives.
#[derive(Clone, Debug)]
pub enum Host {
    /// A static pod: `file` in the manifest directory of `node`.
    StaticPod { node: String, file: String },
    /// Containers running `program` on `node`, or on any node.
    Program { node: Option<String>, program: String },
}

#[derive(Debug, Default)]
pub struct Hosting {
    hosts: BTreeMap<String, Host>,
    /// Manifests taken out of the manifest directory, by component.
    parked: BTreeMap<String, String>,
}

impl Sim {
    /// Declares where a component runs (see the module comment).
    pub fn host_component(&mut self, component: &str, host: Host) {
        self.hosting.hosts.insert(component.to_string(), host);
    }

    /// Makes a component's stop or start visible on its machines.
    pub(super) fn reflect_on_machines(&mut self, component: &str, running: bool) {
        let Some(host) = self.hosting.hosts.get(component).cloned() else { return };
        let nodes: Vec<String> = match &host {
            Host::StaticPod { node, file } => {
                let Some(machine) = self.world.machine_mut(node) else { return };
                if running {
                    if let Some(text) = self.hosting.parked.remove(component) {
                        machine.static_pod_manifests.insert(file.clone(), text);
                    }
                } else if let Some(text) = machine.static_pod_manifests.remove(file) {
                    self.hosting.parked.insert(component.to_string(), text);
                }
                vec![node.clone()]
            }
            Host::Program { node, program } => {
                let nodes: Vec<String> = match node {
                    Some(n) => vec![n.clone()],
                    None => self.node_names.clone(),
                };
                let now = self.now;
                for n in &nodes {
                    let Some(machine) = self.world.machine_mut(n) else { continue };
                    if running {
                        machine.stopped_programs.remove(program);
                    } else {
                        machine.stopped_programs.insert(program.clone());
                        // A machine without power runs nothing to stop.
                        if machine.powered {
                            machine.runtime.crash_program(program, now, &mut machine.disk);
                        }
                    }
                }
                nodes
            }
        };
        // The kubelet notices at once (inotify, container events).
        for node in nodes {
            let kubelet = format!("kubelet/{node}");
            if let Some(id) = self.slot_named(&kubelet, |s| s.running) {
                self.schedule(id, self.now);
            }
        }
    }
}
