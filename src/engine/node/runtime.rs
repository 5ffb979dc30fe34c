//! The simulated container runtime of one node (containerd or Docker via
//! cri-dockerd): its image store, pod sandboxes with their IPs, and
//! containers whose processes follow a [`Program`] timeline.
//!
//! The runtime is the node's machine state: it survives a kubelet restart
//! (containers keep running while the kubelet is down) and, like a real
//! runtime's on-disk metadata, a reboot too — except that after a power
//! cycle every container that was running is found exited with code 255
//! (reason `Unknown`) and every sandbox is not ready.
//!
//! Processes are evaluated lazily: [`RuntimeContainer::advance`] applies
//! whatever the program did up to a given instant (log lines, files, exit).
//!
//! Signals: a process started from a shell command or a bare program
//! (`sleep 3600`) runs as PID 1 and ignores SIGTERM, so stopping it waits
//! out the grace period and ends with exit code 137, as on a real node.
//! Catalogue servers stop at once with exit code 0 unless the catalogue says
//! they ignore SIGTERM (the book's Node.js kubia images).

use std::collections::{BTreeMap, VecDeque};

use k8s_openapi::jiff::{tz::TimeZone, Timestamp};

use super::images::{self, ImageName};
use super::shell::{Effect, End, Program, DATE_MARK};
use crate::engine::api::meta::EPOCH_SECONDS;
use crate::engine::sim::clock::VirtualTime;

/// Lines kept per container; older ones are dropped as log rotation would.
pub const LOG_LINES_LIMIT: usize = 1_000;
/// Loop iterations materialised per advance; a long gap skips ahead.
const REPEAT_LIMIT: u64 = LOG_LINES_LIMIT as u64;
/// Container instances kept per container name (the current and the previous one).
const INSTANCES_KEPT: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Containerd,
    Docker,
}

impl Flavor {
    /// minikube's default runtime is Docker; kubeadm/kind-style nodes use containerd.
    pub fn for_node(name: &str) -> Self {
        if name == "minikube" || name.starts_with("minikube-m") {
            Flavor::Docker
        } else {
            Flavor::Containerd
        }
    }
    pub fn version(self) -> &'static str {
        match self {
            Flavor::Containerd => "containerd://2.1.1",
            Flavor::Docker => "docker://28.1.1",
        }
    }
    pub fn id_scheme(self) -> &'static str {
        match self {
            Flavor::Containerd => "containerd",
            Flavor::Docker => "docker",
        }
    }
    /// `image` as container statuses show it.
    pub fn status_image(self, name: &ImageName) -> String {
        match self {
            Flavor::Containerd => name.canonical(),
            Flavor::Docker => name.short(),
        }
    }
    /// `imageID` as container statuses show it.
    pub fn status_image_id(self, name: &ImageName) -> String {
        match self {
            Flavor::Containerd => format!("{}@{}", name.canonical_repository(), images::digest_of(name)),
            Flavor::Docker => format!("docker-pullable://{}@{}", name.short_repository(), images::digest_of(name)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedImage {
    pub name: ImageName,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time: VirtualTime,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub at: VirtualTime,
    pub code: i32,
    /// `Completed`, `Error`, `Unknown`, `StartError`.
    pub reason: String,
    pub message: Option<String>,
}

/// What a container's process is and how it reacts.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub program: Program,
    /// Ports it accepts connections on.
    pub serves: Vec<i32>,
    pub stops_on_sigterm: bool,
    pub fails_after_requests: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct RuntimeContainer {
    /// 64 hex digits, without the `containerd://` scheme.
    pub id: String,
    pub name: String,
    /// The restart count this instance was created with.
    pub attempt: i32,
    pub image: ImageName,
    pub created_at: VirtualTime,
    pub started_at: Option<VirtualTime>,
    pub exit: Option<Exit>,
    process: ProcessSpec,
    applied: usize,
    repeats_done: u64,
    stop_requested: Option<VirtualTime>,
    stop_deadline: Option<VirtualTime>,
    pub http_requests: u32,
    pub logs: VecDeque<LogLine>,
    pub files: BTreeMap<String, String>,
    /// Lines dropped from the front of `logs` by rotation.
    pub logs_dropped: u64,
}

impl RuntimeContainer {
    pub fn is_running(&self) -> bool {
        self.started_at.is_some() && self.exit.is_none()
    }

    pub fn serves(&self, port: i32) -> bool {
        self.is_running() && self.process.serves.contains(&port)
    }

    /// The next instant something happens by itself (the process exits,
    /// the grace period ends), for the kubelet's wake-up.
    pub fn next_change(&self) -> Option<VirtualTime> {
        if !self.is_running() {
            return None;
        }
        let start = self.started_at?;
        let natural = match self.process.program.end {
            End::Exit { at_ms, .. } => Some(start.plus_millis(at_ms)),
            End::Never => None,
        };
        let stopped = if self.process.stops_on_sigterm { self.stop_requested } else { self.stop_deadline };
        [natural, stopped].into_iter().flatten().min()
    }

    /// Asks the process to stop (SIGTERM), with SIGKILL after `grace_ms`.
    pub fn stop(&mut self, now: VirtualTime, grace_ms: u64) {
        if !self.is_running() {
            return;
        }
        let deadline = now.plus_millis(grace_ms);
        if self.stop_requested.is_none() {
            self.stop_requested = Some(now);
        }
        self.stop_deadline = Some(self.stop_deadline.map_or(deadline, |d| d.min(deadline)));
        self.advance(now);
    }

    /// Applies what the process did up to `now`.
    pub fn advance(&mut self, now: VirtualTime) {
        let Some(start) = self.started_at else { return };
        if self.exit.is_some() {
            return;
        }
        let natural_exit = match self.process.program.end {
            End::Exit { at_ms, code } => Some((start.plus_millis(at_ms), code)),
            End::Never => None,
        };
        let signal_exit = if self.process.stops_on_sigterm {
            self.stop_requested.map(|t| (t, 0))
        } else {
            self.stop_deadline.map(|t| (t, 137))
        };
        let exit = match (natural_exit, signal_exit) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
        .filter(|(t, _)| *t <= now);
        let limit = exit.map_or(now, |(t, _)| t);
        while let Some(step) = self.process.program.timeline.get(self.applied) {
            let at = start.plus_millis(step.at_ms);
            if at > limit {
                break;
            }
            let effect = step.effect.clone();
            self.apply(at, effect);
            self.applied += 1;
        }
        if self.applied >= self.process.program.timeline.len() {
            if let Some(rep) = self.process.program.repeat.clone() {
                let first = start.plus_millis(rep.start_ms);
                if limit >= first {
                    let due = limit.millis_since(first) / rep.period_ms + 1;
                    if due > self.repeats_done.saturating_add(REPEAT_LIMIT) {
                        self.repeats_done = due - REPEAT_LIMIT;
                    }
                    while self.repeats_done < due {
                        let base = first.plus_millis(self.repeats_done.saturating_mul(rep.period_ms));
                        for step in &rep.body {
                            let at = base.plus_millis(step.at_ms);
                            if at <= limit {
                                self.apply(at, step.effect.clone());
                            }
                        }
                        self.repeats_done += 1;
                    }
                }
            }
        }
        if let Some((at, code)) = exit {
            let reason = if code == 0 { "Completed" } else { "Error" };
            self.exit = Some(Exit { at, code, reason: reason.to_string(), message: None });
        }
    }

    fn apply(&mut self, at: VirtualTime, effect: Effect) {
        match effect {
            Effect::Log(text) => {
                let text = if text.contains(DATE_MARK) { text.replace(DATE_MARK, &date_output(at)) } else { text };
                self.push_log(at, text);
            }
            Effect::WriteFile(path, content) => {
                self.files.insert(path, content);
            }
            Effect::RemoveFile(path) => {
                self.files.remove(&path);
            }
        }
    }

    pub fn push_log(&mut self, time: VirtualTime, text: String) {
        if self.logs.len() >= LOG_LINES_LIMIT {
            self.logs.pop_front();
            self.logs_dropped += 1;
        }
        self.logs.push_back(LogLine { time, text });
    }

    /// One HTTP request to the process: its status code.
    pub fn http_request(&mut self) -> u16 {
        self.http_requests = self.http_requests.saturating_add(1);
        match self.process.fails_after_requests {
            Some(n) if self.http_requests > n => 500,
            _ => 200,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sandbox {
    pub id: String,
    pub namespace: String,
    pub pod: String,
    pub ip: String,
    pub created_at: VirtualTime,
    /// False once stopped or after a reboot.
    pub ready: bool,
    /// Every kept instance, oldest first.
    pub containers: Vec<RuntimeContainer>,
}

impl Sandbox {
    /// The newest instance of a container.
    pub fn latest(&self, name: &str) -> Option<&RuntimeContainer> {
        self.containers.iter().rev().find(|c| c.name == name)
    }
    pub fn latest_mut(&mut self, name: &str) -> Option<&mut RuntimeContainer> {
        self.containers.iter_mut().rev().find(|c| c.name == name)
    }
    /// The instance before the newest one.
    pub fn previous(&self, name: &str) -> Option<&RuntimeContainer> {
        self.containers.iter().rev().filter(|c| c.name == name).nth(1)
    }
}

#[derive(Debug)]
pub struct Runtime {
    pub flavor: Flavor,
    images: BTreeMap<String, CachedImage>,
    /// Sandboxes by pod UID.
    sandboxes: BTreeMap<String, Sandbox>,
    cidr_base: u32,
    cidr_hosts: u32,
    next_ip: u32,
}

impl Runtime {
    /// A runtime with no images, sandboxes or addresses.
    pub fn vacant() -> Self {
        Runtime { flavor: Flavor::Containerd, images: BTreeMap::new(), sandboxes: BTreeMap::new(), cidr_base: 0, cidr_hosts: 0, next_ip: 1 }
    }

    pub fn new(flavor: Flavor, pod_cidr: &str, control_plane: bool) -> Self {
        let (base, prefix) = parse_cidr(pod_cidr).unwrap_or((0x0af4_0000, 24));
        let hosts = if prefix >= 31 { 1 } else { (1u64 << (32 - prefix)).saturating_sub(2).min(u32::MAX as u64) as u32 };
        let mut rt = Runtime { flavor, images: BTreeMap::new(), sandboxes: BTreeMap::new(), cidr_base: base, cidr_hosts: hosts, next_ip: 1 };
        // What kubeadm/minikube leave on a node before any workload runs.
        let mut preloaded = vec![("registry.k8s.io/pause:3.10", 320_368u64), ("registry.k8s.io/kube-proxy:v1.33.1", 30_938_946)];
        if control_plane {
            preloaded.extend([
                ("registry.k8s.io/etcd:3.5.21-0", 58_938_593),
                ("registry.k8s.io/kube-apiserver:v1.33.1", 30_071_307),
                ("registry.k8s.io/kube-controller-manager:v1.33.1", 27_646_507),
                ("registry.k8s.io/kube-scheduler:v1.33.1", 21_785_428),
                ("registry.k8s.io/coredns/coredns:v1.12.0", 20_939_036),
            ]);
        }
        for (image, size) in preloaded {
            if let Ok(name) = images::parse_image(image) {
                rt.add_image(name, size);
            }
        }
        rt
    }

    pub fn has_image(&self, name: &ImageName) -> bool {
        self.images.contains_key(&name.canonical())
    }

    pub fn add_image(&mut self, name: ImageName, size_bytes: u64) {
        self.images.insert(name.canonical(), CachedImage { name, size_bytes });
    }

    /// Images on the node, largest first (as the kubelet reports them).
    pub fn images(&self) -> Vec<&CachedImage> {
        let mut all: Vec<&CachedImage> = self.images.values().collect();
        all.sort_by(|a, b| b.size_bytes.cmp(&a.size_bytes).then_with(|| a.name.canonical().cmp(&b.name.canonical())));
        all
    }

    pub fn sandbox(&self, uid: &str) -> Option<&Sandbox> {
        self.sandboxes.get(uid)
    }

    pub fn sandbox_mut(&mut self, uid: &str) -> Option<&mut Sandbox> {
        self.sandboxes.get_mut(uid)
    }

    pub fn sandboxes(&self) -> impl Iterator<Item = (&String, &Sandbox)> {
        self.sandboxes.iter()
    }

    /// Creates (or re-creates) a pod's sandbox with a fresh IP from the node's pod CIDR.
    pub fn run_sandbox(&mut self, uid: &str, namespace: &str, pod: &str, now: VirtualTime, rng: &mut fastrand::Rng) -> String {
        let ip = self.allocate_ip();
        let id = random_hex(rng, 64);
        let containers = self.sandboxes.remove(uid).map(|s| s.containers).unwrap_or_default();
        self.sandboxes.insert(
            uid.to_string(),
            Sandbox { id, namespace: namespace.to_string(), pod: pod.to_string(), ip: ip.clone(), created_at: now, ready: true, containers },
        );
        ip
    }

    /// Stops a sandbox: its network goes, its exited containers stay for logs.
    pub fn stop_sandbox(&mut self, uid: &str) {
        if let Some(s) = self.sandboxes.get_mut(uid) {
            s.ready = false;
        }
    }

    pub fn remove_sandbox(&mut self, uid: &str) {
        self.sandboxes.remove(uid);
    }

    fn allocate_ip(&mut self) -> String {
        let in_use: std::collections::BTreeSet<&str> = self.sandboxes.values().filter(|s| s.ready).map(|s| s.ip.as_str()).collect();
        // host-local IPAM hands out addresses in order after the gateway (.1).
        for _ in 0..self.cidr_hosts.max(1) {
            self.next_ip = if self.next_ip >= self.cidr_hosts { 2.min(self.cidr_hosts) } else { self.next_ip + 1 };
            let ip = format_ip(self.cidr_base.wrapping_add(self.next_ip));
            if !in_use.contains(ip.as_str()) {
                return ip;
            }
        }
        format_ip(self.cidr_base.wrapping_add(self.next_ip))
    }

    /// Creates and starts a container in a pod's sandbox. `Err` carries the
    /// runtime's message when the process cannot start (StartError).
    #[allow(clippy::too_many_arguments)]
    pub fn start_container(
        &mut self,
        uid: &str,
        name: &str,
        attempt: i32,
        image: ImageName,
        process: Result<ProcessSpec, String>,
        now: VirtualTime,
        rng: &mut fastrand::Rng,
    ) -> Result<String, String> {
        let flavor = self.flavor;
        let Some(sandbox) = self.sandboxes.get_mut(uid) else {
            return Err("sandbox not found".into());
        };
        let id = random_hex(rng, 64);
        let (started_at, exit, process) = match process {
            Ok(p) => (Some(now), None, p),
            Err(why) => {
                let message = match flavor {
                    Flavor::Containerd => format!("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {why}: unknown"),
                    Flavor::Docker => format!("failed to start container \"{id}\": Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {why}: unknown"),
                };
                let exit = Exit { at: now, code: 128, reason: "StartError".into(), message: Some(message) };
                let idle = ProcessSpec { program: Program::forever(vec![]), serves: vec![], stops_on_sigterm: true, fails_after_requests: None };
                (None, Some(exit), idle)
            }
        };
        let failed = exit.as_ref().and_then(|e| e.message.clone());
        let container = RuntimeContainer {
            id: id.clone(),
            name: name.to_string(),
            attempt,
            image,
            created_at: now,
            started_at,
            exit,
            process,
            applied: 0,
            repeats_done: 0,
            stop_requested: None,
            stop_deadline: None,
            http_requests: 0,
            logs: VecDeque::new(),
            files: BTreeMap::new(),
            logs_dropped: 0,
        };
        sandbox.containers.push(container);
        // Keep only the newest instances of this name (container GC).
        let count = sandbox.containers.iter().filter(|c| c.name == name).count();
        if count > INSTANCES_KEPT {
            if let Some(pos) = sandbox.containers.iter().position(|c| c.name == name) {
                sandbox.containers.remove(pos);
            }
        }
        if let Some(c) = sandbox.containers.last_mut() {
            c.advance(now);
        }
        match failed {
            Some(message) => Err(message),
            None => Ok(id),
        }
    }

    /// Brings every process up to `now`.
    pub fn advance(&mut self, now: VirtualTime) {
        for sandbox in self.sandboxes.values_mut() {
            for c in &mut sandbox.containers {
                c.advance(now);
            }
        }
    }

    /// The earliest instant a process changes by itself.
    pub fn next_change(&self) -> Option<VirtualTime> {
        self.sandboxes.values().flat_map(|s| s.containers.iter()).filter_map(RuntimeContainer::next_change).min()
    }

    /// After a power cycle: processes that were running are found dead, as
    /// containerd reports them on recovery; sandboxes have lost their network.
    pub fn recover_after_power_loss(&mut self, lost_at: VirtualTime, now: VirtualTime) {
        for sandbox in self.sandboxes.values_mut() {
            sandbox.ready = false;
            for c in &mut sandbox.containers {
                c.advance(lost_at);
                if c.exit.is_none() {
                    let at = if c.started_at.is_some() { now } else { c.created_at };
                    c.exit = Some(Exit { at, code: 255, reason: "Unknown".into(), message: None });
                }
            }
        }
    }
}

fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mut value: u32 = 0;
    let mut parts = 0;
    for octet in ip.split('.') {
        value = (value << 8) | octet.parse::<u8>().ok()? as u32;
        parts += 1;
    }
    if parts != 4 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((value & mask, len))
}

fn format_ip(v: u32) -> String {
    format!("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

pub fn random_hex(rng: &mut fastrand::Rng, len: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..len).map(|_| HEX[rng.usize(..16)] as char).collect()
}

fn wall(t: VirtualTime) -> k8s_openapi::jiff::Zoned {
    let ms = EPOCH_SECONDS as i128 * 1000 + t.as_millis() as i128;
    Timestamp::from_millisecond(ms as i64).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC)
}

/// What busybox/coreutils `date` prints: `Thu Jan  1 00:00:05 UTC 2026`.
pub fn date_output(t: VirtualTime) -> String {
    wall(t).strftime("%a %b %e %H:%M:%S UTC %Y").to_string()
}

/// Fills a catalogue start-up line's placeholders.
pub fn render_startup_line(line: &str, t: VirtualTime, hostname: &str, ip: &str) -> String {
    if !line.contains('{') {
        return line.to_string();
    }
    let z = wall(t);
    line.replace("{time}", &z.strftime("%Y/%m/%d %H:%M:%S").to_string())
        .replace("{apache_time}", &z.strftime("%a %b %d %H:%M:%S%.6f %Y").to_string())
        .replace("{redis_time}", &z.strftime("%d %b %Y %H:%M:%S%.3f").to_string())
        .replace("{iso_time}", &z.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string())
        .replace("{date}", &date_output(t))
        .replace("{hostname}", hostname)
        .replace("{ip}", ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::shell::{compile_script, Context};
    use crate::engine::node::images::Toolkit;

    fn spec(script: &str) -> ProcessSpec {
        let env = BTreeMap::new();
        let program = compile_script(script, vec![], Context { env: &env, hostname: "p", toolkit: Toolkit::Busybox, files: BTreeMap::new() });
        ProcessSpec { program, serves: vec![], stops_on_sigterm: false, fails_after_requests: None }
    }

    #[test]
    fn allocates_pod_ips_in_order_from_the_cidr() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng), "10.244.1.2");
        assert_eq!(rt.run_sandbox("b", "default", "b", VirtualTime::ZERO, &mut rng), "10.244.1.3");
    }

    #[test]
    fn processes_run_lazily_and_stop_on_signals() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut rng = fastrand::Rng::with_seed(1);
        rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng);
        let img = images::parse_image("busybox").unwrap();
        rt.start_container("a", "c", 0, img.clone(), Ok(spec("while true; do echo hi; sleep 5; done")), VirtualTime::ZERO, &mut rng).unwrap();
        rt.advance(VirtualTime::from_secs(12));
        let c = rt.sandbox("a").unwrap().latest("c").unwrap();
        assert_eq!(c.logs.len(), 3);
        rt.sandbox_mut("a").unwrap().latest_mut("c").unwrap().stop(VirtualTime::from_secs(12), 30_000);
        rt.advance(VirtualTime::from_secs(60));
        let c = rt.sandbox("a").unwrap().latest("c").unwrap();
        assert_eq!(c.exit.as_ref().map(|e| (e.at, e.code)), Some((VirtualTime::from_secs(42), 137)));
        assert_eq!(c.logs.len(), 9);
    }

    #[test]
    fn dates_print_like_date() {
        assert_eq!(date_output(VirtualTime::from_secs(5)), "Thu Jan  1 00:00:05 UTC 2026");
    }
}
