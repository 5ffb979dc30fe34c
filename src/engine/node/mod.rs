//! Node agents: the kubelet, kube-proxy and the simulated container runtime
//! they drive.
//!
//! - [`kubelet`]: registration, Lease, node status, pod workers, probes, logs.
//! - [`env`]: a container's environment (ConfigMaps, Secrets, fields, service links).
//! - [`volumes`]: the volume manager: pods' volumes on the node's disk, container mounts.
//! - [`object_cache`]: the kubelet's watch-based ConfigMap and Secret managers.
//! - [`runtime`]: the node's containerd/Docker: images, sandboxes, processes.
//! - [`images`]: the registry's catalogue and the rules that fail pulls.
//! - [`rootfs`]: the files each image ships.
//! - [`filesystem`] and [`container_fs`]: files on a node's disk and a container's view of them.
//! - [`shell`] and [`commands`]: how container commands (`sleep`, `echo`, `sh -c …`, `ls`) behave.
//! - [`exec`]: commands run inside a running container.
//! - [`identity`]: the user and groups a container's processes run as.
//! - [`node_status`] and [`pod_status`]: the objects the kubelet writes.
//! - [`kube_proxy`]: kube-proxy (inert for now).
//! - [`static_pods`]: the kubelet's manifest directory and mirror pods.
//! - [`programs`]: the cluster's own binaries in containers (ports, and
//!   the components whose pods fail while they are stopped).

pub mod awk;
pub mod commands;
pub mod container_config;
pub mod container_fs;
pub mod env;
pub mod exec;
pub mod filesystem;
pub mod find;
pub mod identity;
pub mod jq;
pub mod images;
pub mod kube_proxy;
pub mod kubelet;
pub mod node_status;
pub mod object_cache;
pub mod pi;
pub mod pod_status;
pub mod posix_regex;
pub mod programs;
pub mod rootfs;
pub mod runtime;
pub mod sed;
pub mod shell;
pub mod static_pods;
pub mod stress;
pub mod volumes;

#[cfg(test)]
pub(crate) mod tests;

pub use kube_proxy::KubeProxy;
pub use kubelet::Kubelet;
