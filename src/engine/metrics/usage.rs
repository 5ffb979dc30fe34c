//! What a container's cgroup reports to the kubelet's summary API: CPU
//! time (the work its requests cost, `CpuUsage::work_us`, plus what the
//! process burns idle) and a memory working set (the image's resident
//! baseline plus what serving has grown).

use crate::engine::node::runtime::RuntimeContainer;
use crate::engine::sim::clock::VirtualTime;

const MI: u64 = 1024 * 1024;

/// (repository suffix, idle millicores, resident MiB) for the images whose
/// processes are known; what a real node shows for them at rest.
const BASELINES: &[(&str, u64, u64)] = &[
    ("kube-apiserver", 45, 230),
    ("etcd", 22, 38),
    ("kube-controller-manager", 14, 48),
    ("kube-scheduler", 3, 21),
    ("kube-proxy", 1, 16),
    ("coredns", 2, 14),
    ("kindnetd", 1, 11),
    ("local-path-provisioner", 1, 9),
    ("storage-provisioner", 1, 8),
    ("metrics-server", 4, 18),
    ("controller", 3, 90),
    ("hpa-example", 1, 10),
    ("nginx", 0, 3),
    ("nginx-slim", 0, 2),
    ("httpd", 1, 6),
    ("redis", 2, 3),
    ("mongo", 5, 70),
    ("busybox", 0, 0),
    ("alpine", 0, 0),
];

/// Idle CPU and resident memory for anything else.
const DEFAULT_BASELINE: (u64, u64) = (1, 4);

fn baseline(c: &RuntimeContainer) -> (u64, u64) {
    baseline_of(&c.image)
}

fn baseline_of(image: &crate::engine::node::images::ImageName) -> (u64, u64) {
    let repo = image.canonical_repository();
    let last = repo.rsplit('/').next().unwrap_or(&repo).to_string();
    BASELINES.iter().find(|(name, _, _)| *name == last).map_or(DEFAULT_BASELINE, |(_, cpu, mem)| (*cpu, *mem))
}

/// What a process of this image holds in memory at rest.
pub fn resting_bytes(image: &crate::engine::node::images::ImageName) -> u64 {
    baseline_of(image).1 * MI
}

/// The container's cumulative CPU time at `now`, in microseconds: its work
/// plus the idle baseline (and a load generator's busy workers) over its life.
pub fn cpu_us(c: &RuntimeContainer, now: VirtualTime) -> u64 {
    let (idle_millis, _) = baseline(c);
    let busy_millis = c.hog().map_or(0, |h| h.cpu_millis);
    let up_ms = c.started_at.map_or(0, |s| now.millis_since(s));
    // One millicore for one millisecond is one microsecond of CPU time.
    c.cpu.work_us.saturating_add((idle_millis + busy_millis).saturating_mul(up_ms))
}

/// The container's working set: the image's resident size, a little more
/// for each request it served (caches, buffers) up to 8 MiB, and a few
/// hundred KiB that differ by container (its id decides, so runs repeat).
pub fn memory_bytes(c: &RuntimeContainer) -> u64 {
    let (_, resident_mi) = baseline(c);
    let grown = (c.http_requests as u64).saturating_mul(2 * 1024).min(8 * MI);
    let jitter = c.id.digits().take(4).fold(0u64, |acc, b| acc.wrapping_mul(31).wrapping_add(b as u64)) % (512 * 1024);
    let held = c.hog().map_or(0, |h| h.memory_bytes);
    resident_mi * MI + held + grown + jitter
}

/// What a node's own processes (systemd, the kubelet, the runtime) use
/// besides its containers.
pub const NODE_SYSTEM_CPU_MILLIS: u64 = 60;
pub const NODE_SYSTEM_MEMORY_BYTES: u64 = 420 * MI;
