//! The cluster's own programs when they run in containers: the control
//! plane's static pods, kube-proxy, the CNI and the storage provisioners.
//!
//! Their images are known here by repository: the ports each binary
//! listens on (so the kubelet's probes find them) and, for the processes
//! that are also components of the simulation (`kube-proxy`,
//! `storage-provisioner`, `local-path-provisioner`, `metrics-server`), the program name a
//! machine marks as stopped. A stopped program cannot stay up: its running
//! containers exit with code 1 and every restart the kubelet makes exits
//! at once, so the pod shows `Error` and then `CrashLoopBackOff` until the
//! component is started again.

use std::collections::BTreeSet;

use crate::engine::world::World;

use super::images::ImageName;
use super::runtime::ProcessSpec;
use super::shell::{End, Program};

struct SystemImage {
    /// Canonical repository (`registry.k8s.io/kube-proxy`).
    repository: &'static str,
    /// The component it is, if the simulation runs it as one.
    program: Option<&'static str>,
    ports: &'static [i32],
}

const SYSTEM_IMAGES: &[SystemImage] = &[
    SystemImage { repository: "registry.k8s.io/etcd", program: None, ports: &[2379, 2380, 2381] },
    SystemImage { repository: "registry.k8s.io/kube-apiserver", program: None, ports: &[6443] },
    SystemImage { repository: "registry.k8s.io/kube-controller-manager", program: None, ports: &[10257] },
    SystemImage { repository: "registry.k8s.io/kube-scheduler", program: None, ports: &[10259] },
    SystemImage { repository: "registry.k8s.io/kube-proxy", program: Some("kube-proxy"), ports: &[10249, 10256] },
    SystemImage { repository: "docker.io/kindest/kindnetd", program: None, ports: &[] },
    SystemImage { repository: "docker.io/kindest/local-path-provisioner", program: Some("local-path-provisioner"), ports: &[] },
    SystemImage { repository: "docker.io/rancher/local-path-provisioner", program: Some("local-path-provisioner"), ports: &[] },
    SystemImage { repository: "gcr.io/k8s-minikube/storage-provisioner", program: Some("storage-provisioner"), ports: &[] },
    SystemImage { repository: "registry.k8s.io/metrics-server/metrics-server", program: Some("metrics-server"), ports: &[10250] },
];

fn find(image: &ImageName) -> Option<&'static SystemImage> {
    let repository = image.canonical_repository();
    SYSTEM_IMAGES.iter().find(|s| s.repository == repository)
}

/// The simulated component an image's process is, if any.
pub fn program_of(image: &ImageName) -> Option<&'static str> {
    find(image).and_then(|s| s.program)
}

/// The ports a cluster binary listens on: its defaults, or the port its
/// `--secure-port` flag names (the API server's 6443 or minikube's 8443).
pub fn listening_ports(image: &ImageName, argv: &[String]) -> Vec<i32> {
    let Some(system) = find(image) else { return Vec::new() };
    let flagged: Option<i32> = argv.iter().find_map(|a| a.strip_prefix("--secure-port=")).and_then(|p| p.parse().ok());
    match flagged {
        Some(port) if system.repository.ends_with("/kube-apiserver") => vec![port],
        _ => system.ports.to_vec(),
    }
}

/// What a container of `image` runs when its program is stopped on this
/// machine: a process that fails at once. Otherwise `process` unchanged.
pub fn unless_stopped(process: Result<ProcessSpec, String>, image: &ImageName, stopped: &BTreeSet<String>) -> Result<ProcessSpec, String> {
    match program_of(image) {
        Some(program) if stopped.contains(program) => Ok(ProcessSpec {
            program: Program { timeline: Vec::new(), repeat: None, resume: None, end: End::Exit { at_ms: 0, code: 1 } },
            serves: Vec::new(),
            stops_on_sigterm: true,
            fails_after_requests: None,
            deferred: None,
            hog: None,
        }),
        _ => process,
    }
}

/// A container running a cluster program: where it is and what its
/// process sees as its host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub node: String,
    pub pod_uid: String,
    pub container_id: String,
    /// The pod's name, or the node's for a pod on the host's network.
    pub hostname: String,
}

/// Whether the node holds an image of `program`: a container runs only an
/// image its node has pulled, and none is ever removed, so a node without
/// it needs no look at its sandboxes (50 a node on a big cluster).
fn holds_image_of(runtime: &crate::engine::node::runtime::Runtime, program: &str) -> bool {
    let repositories = SYSTEM_IMAGES.iter().filter(|s| s.program == Some(program)).map(|s| s.repository);
    let held = |repository: &str| runtime.image_names().any(|name| name.strip_prefix(repository).is_some_and(|rest| rest.starts_with([':', '@'])));
    repositories.into_iter().any(held)
}

/// The first running container of `program` on a powered machine, in node order.
pub fn find_running(world: &World, program: &str) -> Option<Instance> {
    for (node, machine) in world.machines().filter(|(_, m)| m.powered && holds_image_of(&m.runtime, program)) {
        for (uid, sandbox) in machine.runtime.sandboxes() {
            if let Some(c) = sandbox.containers.iter().find(|c| c.is_running() && program_of(&c.image) == Some(program)) {
                let hostname = if sandbox.host_network { node.clone() } else { sandbox.pod.clone() };
                return Some(Instance { node: node.clone(), pod_uid: uid.clone(), container_id: c.id.to_string(), hostname });
            }
        }
    }
    None
}

/// Whether that container still runs (its machine powered, its process up).
pub fn still_running(world: &World, instance: &Instance) -> bool {
    world.machine(&instance.node).is_some_and(|m| {
        m.powered
            && m.runtime.sandbox(&instance.pod_uid).and_then(|s| s.containers.iter().find(|c| c.id == instance.container_id)).is_some_and(|c| c.is_running())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::images::parse_image;

    #[test]
    fn cluster_images_name_their_programs_and_ports() {
        let proxy = parse_image("registry.k8s.io/kube-proxy:v1.33.1").unwrap();
        assert_eq!(program_of(&proxy), Some("kube-proxy"));
        let api = parse_image("registry.k8s.io/kube-apiserver:v1.33.1").unwrap();
        assert_eq!(program_of(&api), None);
        assert_eq!(listening_ports(&api, &["kube-apiserver".into(), "--secure-port=8443".into()]), vec![8443]);
        assert_eq!(listening_ports(&parse_image("registry.k8s.io/etcd:3.5.21-0").unwrap(), &[]), vec![2379, 2380, 2381]);
        assert!(listening_ports(&parse_image("nginx").unwrap(), &[]).is_empty());
        let provisioner = parse_image("gcr.io/k8s-minikube/storage-provisioner:v5").unwrap();
        assert_eq!(program_of(&provisioner), Some("storage-provisioner"));
    }

    #[test]
    fn a_stopped_program_exits_at_once() {
        let proxy = parse_image("registry.k8s.io/kube-proxy:v1.33.1").unwrap();
        let running = Ok(ProcessSpec { program: Program::forever(vec![]), serves: vec![10249], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None });
        let stopped = BTreeSet::from(["kube-proxy".to_string()]);
        let spec = unless_stopped(running.clone(), &proxy, &stopped).unwrap();
        assert!(matches!(spec.program.end, End::Exit { at_ms: 0, code: 1 }));
        let spec = unless_stopped(running, &proxy, &BTreeSet::new()).unwrap();
        assert!(matches!(spec.program.end, End::Never));
    }
}
