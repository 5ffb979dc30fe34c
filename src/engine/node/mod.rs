//! Node agents: the kubelet, kube-proxy and the simulated container runtime
//! they drive.
//!
//! - [`kubelet`]: registration, Lease, node status, pod workers, probes, logs.
//! - [`runtime`]: the node's containerd/Docker: images, sandboxes, processes.
//! - [`images`]: the registry's catalogue and the pull-failure naming rule.
//! - [`shell`]: how container commands (`sleep`, `echo`, `sh -c …`) behave.
//! - [`node_status`] and [`pod_status`]: the objects the kubelet writes.
//! - [`kube_proxy`]: kube-proxy (inert for now).
//! - [`static_pods`]: the kubelet's manifest directory and mirror pods.
//! - [`programs`]: the cluster's own binaries in containers (ports, and
//!   the components whose pods fail while they are stopped).

pub mod images;
pub mod kube_proxy;
pub mod kubelet;
pub mod node_status;
pub mod pod_status;
pub mod programs;
pub mod runtime;
pub mod shell;
pub mod static_pods;

#[cfg(test)]
pub(crate) mod tests;

pub use kube_proxy::KubeProxy;
pub use kubelet::Kubelet;
