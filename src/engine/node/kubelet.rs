//! The kubelet: registers its Node, renews its Lease, reports node status,
//! and runs the pods bound to it through the node's container runtime.
//!
//! Timings follow 1.33's defaults: Lease renewed every 10 s
//! (`leaseDurationSeconds` 40), node status computed every 10 s
//! (`nodeStatusUpdateFrequency`) and posted when it changed or every 5 min
//! (`nodeStatusReportFrequency`); image pulls are serialised per node;
//! crashed containers restart after a back-off of 10 s doubling to 5 min,
//! forgotten after 10 min of running; image pulls back off the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, Node, ObjectReference, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::images::{self, DefaultProcess, ImageName, Toolkit};
use super::node_status::{self, MachineIds, Readiness, LEASE_NAMESPACE};
use super::pod_status::{self, is_sidecar, restart_policy, should_restart, Inputs, Waiting};
use super::runtime::{random_hex, render_startup_line, Flavor, ProcessSpec, Runtime};
use super::shell::{self, Context, Program, UnknownProgram};
use crate::engine::api::{ids, meta, Object, ObjectKey, Reason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, Query, WatchEventType};
use crate::engine::cluster::NodeSpec;
use crate::engine::informer::Informer;
use crate::engine::selector::FieldSelector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;
use crate::engine::world::Machine;

pub const LEASE_RENEW_MS: u64 = 10_000;
pub const STATUS_UPDATE_MS: u64 = 10_000;
pub const STATUS_REPORT_MS: u64 = 300_000;
/// After boot the CNI plugin needs a while before the node is Ready.
pub const NETWORK_READY_AFTER_BOOT_MS: u64 = 12_000;
const BACKOFF_INITIAL_MS: u64 = 10_000;
const BACKOFF_MAX_MS: u64 = 300_000;
/// How soon the kubelet notices a failed pull and shows ImagePullBackOff.
const RESYNC_AFTER_ERROR_MS: u64 = 1_000;
/// Grace given to containers of pods that vanished from the API.
const ORPHAN_GRACE_MS: u64 = 2_000;

/// The kubelet's flowcontrol back-off, per key.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    duration_ms: u64,
    last_update: VirtualTime,
}

fn backoff_expired(entry: &Backoff, event_time: VirtualTime) -> bool {
    event_time.millis_since(entry.last_update) > 2 * BACKOFF_MAX_MS
}

/// `IsInBackOffSince`: when the back-off that began at `event_time` ends, if it has not.
fn in_backoff_since(map: &BTreeMap<String, Backoff>, key: &str, event_time: VirtualTime, now: VirtualTime) -> Option<VirtualTime> {
    let entry = map.get(key)?;
    if backoff_expired(entry, event_time) {
        return None;
    }
    let end = event_time.plus_millis(entry.duration_ms);
    (now < end).then_some(end)
}

fn backoff_next(map: &mut BTreeMap<String, Backoff>, key: &str, event_time: VirtualTime, now: VirtualTime) {
    let duration_ms = match map.get(key) {
        Some(e) if !backoff_expired(e, event_time) => (e.duration_ms * 2).min(BACKOFF_MAX_MS),
        _ => BACKOFF_INITIAL_MS,
    };
    map.insert(key.to_string(), Backoff { duration_ms, last_update: now });
}

/// Go's `time.Duration` formatting, as kubelet messages print durations.
pub fn go_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, rem) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let secs = if rem == 0 { format!("{s}s") } else { format!("{s}.{}s", format!("{rem:03}").trim_end_matches('0')) };
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

#[derive(Clone, Debug)]
enum StepKind {
    /// Creating the pod sandbox and its network.
    Sandbox,
    Pull { image: ImageName, queued_at: VirtualTime, pull_ms: u64, failure: Option<String> },
    Create,
    Start,
}

#[derive(Clone, Debug)]
struct Step {
    /// Container name (empty for the sandbox).
    container: String,
    init: bool,
    until: VirtualTime,
    kind: StepKind,
}

#[derive(Debug)]
struct Worker {
    start_time: VirtualTime,
    step: Option<Step>,
    waiting: BTreeMap<String, Waiting>,
    /// Containers told to stop for the pod's deletion.
    killing: bool,
    delete_sent: bool,
    /// A sandbox was found dead (after a reboot) and reported.
    sandbox_changed_reported: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

#[derive(Clone, Debug)]
struct ProbeState {
    container_id: String,
    next_at: VirtualTime,
    successes: i32,
    failures: i32,
    ok: bool,
}

/// The kubelet process' memory, lost when it stops.
struct State {
    started: bool,
    recorder: EventRecorder,
    pods: Informer,
    registered: bool,
    node_uid: Option<String>,
    next_lease: VirtualTime,
    next_status: VirtualTime,
    last_report: Option<VirtualTime>,
    workers: BTreeMap<String, Worker>,
    pull_free_at: VirtualTime,
    crash_backoff: BTreeMap<String, Backoff>,
    pull_backoff: BTreeMap<String, Backoff>,
    probes: BTreeMap<(String, String, ProbeKind), ProbeState>,
    /// When timed work (a pull, a start, a probe, a back-off, the lease)
    /// is next due; before then only pods that changed are synced.
    next_full_sync: VirtualTime,
    /// Images with a successful pull already queued: a pull behind it finds
    /// the layers present and only fetches the manifest.
    pulls_queued: BTreeSet<String>,
}

impl State {
    fn new(node: &str) -> Self {
        State {
            started: false,
            recorder: EventRecorder::new("kubelet", Some(node)),
            pods: Informer::new(Query::all(ids::pods()).with_fields(FieldSelector::node_name(node))),
            registered: false,
            node_uid: None,
            next_lease: VirtualTime::ZERO,
            next_status: VirtualTime::ZERO,
            last_report: None,
            workers: BTreeMap::new(),
            pull_free_at: VirtualTime::ZERO,
            crash_backoff: BTreeMap::new(),
            pull_backoff: BTreeMap::new(),
            probes: BTreeMap::new(),
            next_full_sync: VirtualTime::ZERO,
            pulls_queued: BTreeSet::new(),
        }
    }
}

pub struct Kubelet {
    name: String,
    pub spec: NodeSpec,
    /// The node's machine, lent by the world while the kubelet runs
    /// (vacant in between: it lives in [`World`]).
    machine: Machine,
    state: State,
    process_running: bool,
}

fn node_ref(node: &str) -> ObjectReference {
    // The kubelet names its node by name, with the name as UID.
    ObjectReference { kind: Some("Node".into()), name: Some(node.into()), uid: Some(node.into()), ..Default::default() }
}

fn container_ref(pod: &Pod, container: &str, init: bool) -> ObjectReference {
    let list = if init { "initContainers" } else { "containers" };
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        field_path: Some(format!("spec.{list}{{{container}}}")),
        ..Default::default()
    }
}

/// `name_namespace(uid)`, as kubelet messages name pods.
fn pod_desc(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<(&'a Container, bool)> {
    let spec = pod.spec.as_ref()?;
    if let Some(c) = spec.containers.iter().find(|c| c.name == name) {
        return Some((c, false));
    }
    spec.init_containers.iter().flatten().find(|c| c.name == name).map(|c| (c, true))
}

/// The pull policy the API server defaults: Always for `:latest` or no tag.
fn pull_policy(c: &Container) -> String {
    if let Some(p) = c.image_pull_policy.clone().filter(|p| !p.is_empty()) {
        return p;
    }
    let image = c.image.as_deref().unwrap_or("");
    let tagged = image.rsplit('/').next().is_some_and(|last| last.contains(':')) || image.contains('@');
    if !tagged || image.ends_with(":latest") {
        "Always".into()
    } else {
        "IfNotPresent".into()
    }
}

/// Plain env values (references to ConfigMaps and Secrets resolve to empty).
fn container_env(c: &Container) -> BTreeMap<String, String> {
    c.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())).collect()
}

/// Kubernetes' `$(VAR)` expansion in command and args.
fn expand_k8s_vars(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find(')') {
            Some(j) if env.contains_key(&after[..j]) => {
                out.push_str(env.get(&after[..j]).map_or("", String::as_str));
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a container runs, by the rules in the runtime's module comment.
fn process_for(c: &Container, image: &ImageName, hostname: &str, ip: &str, now: VirtualTime) -> Result<ProcessSpec, String> {
    let env = container_env(c);
    let declared: Vec<i32> = c.ports.iter().flatten().map(|p| p.container_port).collect();
    let catalogue = images::lookup(image);
    let toolkit = catalogue.as_ref().map_or(Toolkit::Coreutils, |i| i.toolkit);
    let command: Option<Vec<String>> = c.command.as_ref().filter(|v| !v.is_empty()).map(|v| v.iter().map(|s| expand_k8s_vars(s, &env)).collect());
    let args: Option<Vec<String>> = c.args.as_ref().filter(|v| !v.is_empty()).map(|v| v.iter().map(|s| expand_k8s_vars(s, &env)).collect());
    let ctx = || Context { env: &env, hostname, toolkit, files: BTreeMap::new() };
    let serving = |program: Program, extra: &[i32], stops: bool, fails: Option<u32>| {
        let mut serves: Vec<i32> = extra.to_vec();
        serves.extend(declared.iter().copied());
        serves.sort_unstable();
        serves.dedup();
        ProcessSpec { program, serves, stops_on_sigterm: stops, fails_after_requests: fails }
    };
    let run_argv = |argv: Vec<String>| match shell::compile_exec(&argv, ctx()) {
        Ok(program) => Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: false, fails_after_requests: None }),
        Err(UnknownProgram(p)) if toolkit == Toolkit::Busybox => Err(format!("exec: \"{p}\": executable file not found in $PATH")),
        // An application binary the model cannot know: treat it as the image's server.
        Err(UnknownProgram(_)) => Ok(serving(Program::forever(vec![]), &[], true, None)),
    };
    if let Some(mut argv) = command {
        argv.extend(args.unwrap_or_default());
        return run_argv(argv);
    }
    match catalogue.map(|i| (i.process, i.ports, i.stops_on_sigterm, i.fails_after_requests)) {
        Some((DefaultProcess::Server(lines), ports, stops, fails)) => {
            let lines = lines.iter().map(|l| render_startup_line(l, now, hostname, ip)).collect();
            Ok(serving(Program::forever(lines), ports, stops, fails))
        }
        Some((DefaultProcess::Script { script, default_args }, _, stops, _)) => {
            if matches!(script, "sh" | "bash") {
                // The image's CMD is a shell; args replace it.
                return match args {
                    Some(argv) => run_argv(argv),
                    None => run_argv(vec![script.to_string()]),
                };
            }
            let mut positional = vec!["sh".to_string()];
            positional.extend(args.unwrap_or_else(|| default_args.iter().map(|s| s.to_string()).collect()));
            let program = shell::compile_script(script, positional, ctx());
            Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: stops, fails_after_requests: None })
        }
        None => match args {
            Some(argv) => run_argv(argv),
            None => Ok(serving(Program::forever(vec![]), &[], true, None)),
        },
    }
}

impl Kubelet {
    pub fn new(spec: NodeSpec) -> Self {
        Kubelet {
            name: format!("kubelet/{}", spec.name),
            state: State::new(&spec.name),
            machine: Machine::vacant(),
            spec,
            process_running: true,
        }
    }

    /// The machine this kubelet's node runs on, fresh from the factory.
    pub fn machine_for(spec: &NodeSpec) -> Machine {
        Machine::new(Runtime::new(Flavor::for_node(&spec.name), &spec.pod_cidr, spec.control_plane))
    }

    /// Container logs, as `kubectl logs` gets them through the kubelet. The
    /// error is the message kubectl prints after `Error from server (BadRequest): `
    /// (or `Error from server: ` when the kubelet cannot be reached).
    pub fn logs(&self, machine: &Machine, namespace: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<String, String> {
        let object = self.state.pods.get(&ObjectKey::new(namespace, pod));
        let pod_obj = match object.map(|o| &**o) {
            Some(Object::Pod(p)) => Some(p),
            _ => None,
        };
        let container_name = match (container, pod_obj) {
            (Some(c), _) => c.to_string(),
            (None, Some(p)) => p.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).unwrap_or_default(),
            (None, None) => String::new(),
        };
        if !self.process_running {
            let how = if machine.powered { "connect: connection refused" } else { "connect: no route to host" };
            return Err(format!(
                "Get \"https://{}:10250/containerLogs/{namespace}/{pod}/{container_name}\": dial tcp {}:10250: {how}",
                self.spec.address, self.spec.address
            ));
        }
        let Some(p) = pod_obj else {
            return Err(format!("pod \"{pod}\" not found"));
        };
        if find_container(p, &container_name).is_none() {
            return Err(format!("container {container_name} is not valid for pod {pod}"));
        }
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let sandbox = machine.runtime.sandbox(&uid);
        let status = p.status.as_ref();
        let cstatus = status
            .and_then(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()).find(|c| c.name == container_name).cloned());
        let latest = sandbox.and_then(|s| s.latest(&container_name));
        let chosen = if previous {
            match sandbox.and_then(|s| if latest.is_some_and(|c| c.exit.is_some()) && cstatus.as_ref().is_some_and(|c| c.state.as_ref().is_some_and(|st| st.waiting.is_some())) { s.latest(&container_name) } else { s.previous(&container_name) }) {
                Some(c) => c,
                None => return Err(format!("previous terminated container \"{container_name}\" in pod \"{pod}\" not found")),
            }
        } else {
            match latest {
                Some(c) => c,
                None => {
                    let reason = cstatus.as_ref().and_then(|c| c.state.as_ref()).and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone());
                    return Err(match reason.as_deref() {
                        Some("ErrImagePull") => format!("container \"{container_name}\" in pod \"{pod}\" is waiting to start: image can't be pulled"),
                        Some("ImagePullBackOff") => format!("container \"{container_name}\" in pod \"{pod}\" is waiting to start: trying and failing to pull image"),
                        Some(r) => format!("container \"{container_name}\" in pod \"{pod}\" is waiting to start: {r}"),
                        None => format!("container \"{container_name}\" in pod \"{pod}\" is waiting to start - no logs yet"),
                    });
                }
            }
        };
        let mut out = String::new();
        for line in &chosen.logs {
            out.push_str(&line.text);
            out.push('\n');
        }
        Ok(out)
    }

    fn readiness(&self, now: VirtualTime) -> Readiness {
        if now.millis_since(self.machine.booted_at) >= NETWORK_READY_AFTER_BOOT_MS {
            Readiness::Ready
        } else {
            Readiness::NetworkNotReady
        }
    }

    fn ensure_machine(&mut self, ctx: &mut Ctx) {
        if self.machine.ids.is_none() {
            let uuid = |rng: &mut fastrand::Rng| {
                let h = random_hex(rng, 32);
                format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
            };
            let machine_id = random_hex(ctx.rng, 32);
            let system_uuid = uuid(ctx.rng);
            let boot_id = uuid(ctx.rng);
            self.machine.ids = Some(MachineIds { machine_id, system_uuid, boot_id });
            // The cluster's nodes were booted before the simulation began.
            self.machine.booted_at = ctx.now;
        }
    }

    fn start_up(&mut self, ctx: &mut Ctx) {
        self.state.started = true;
        let node = self.spec.name.clone();
        ctx.log(format!("Starting kubelet {}", node_status::KUBELET_VERSION));
        self.state.recorder.record_ref(ctx.api, node_ref(&node), NORMAL, "Starting", "Starting kubelet.".into());
        self.state.recorder.record_ref(ctx.api, node_ref(&node), NORMAL, "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods".into());
        for cond in ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"] {
            self.state.recorder.record_ref(ctx.api, node_ref(&node), NORMAL, cond, format!("Node {node} status is now: {cond}"));
        }
        self.state.next_lease = ctx.now;
        self.state.next_status = ctx.now;
    }

    fn register(&mut self, ctx: &mut Ctx) {
        let Some(ids) = self.machine.ids.clone() else { return };
        let now = ctx.now;
        let readiness = self.readiness(now);
        let mut node = node_status::initial_node(&self.spec, now);
        node.status = Some(node_status::status(&self.spec, &ids, &self.machine.runtime, &readiness, None, now));
        let node_name = self.spec.name.clone();
        match ctx.api.create(Object::Node(node.clone())) {
            Ok(stored) => {
                self.state.registered = true;
                self.state.node_uid = stored.meta().uid.clone();
                self.state.last_report = Some(now);
                ctx.log(format!("Successfully registered node {node_name}"));
                if readiness == Readiness::Ready {
                    self.state.recorder.record_ref(ctx.api, node_ref(&node_name), NORMAL, "NodeReady", format!("Node {node_name} status is now: NodeReady"));
                }
            }
            Err(e) if e.reason == Reason::AlreadyExists => {
                // Re-registration: the Node is ours; reconcile and report.
                match ctx.api.get(ids::nodes(), "", &node_name) {
                    Ok(existing) => {
                        self.state.registered = true;
                        self.state.node_uid = existing.meta().uid.clone();
                        if let Object::Node(n) = &*existing {
                            let old_boot = n.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.boot_id.clone());
                            if old_boot.is_some_and(|b| !b.is_empty() && b != ids.boot_id) {
                                self.state.recorder.record_ref(
                                    ctx.api,
                                    node_ref(&node_name),
                                    WARNING,
                                    "Rebooted",
                                    format!("Node {node_name} has been rebooted, boot id: {}", ids.boot_id),
                                );
                            }
                        }
                        self.post_status(ctx, true);
                    }
                    Err(_) => ctx.wake_after_ms(1_000),
                }
            }
            Err(_) => ctx.wake_after_ms(1_000),
        }
    }

    /// Computes the node status and posts it if it changed or is due.
    fn post_status(&mut self, ctx: &mut Ctx, force: bool) {
        let Some(ids) = self.machine.ids.clone() else { return };
        let now = ctx.now;
        let node_name = self.spec.name.clone();
        let Ok(current) = ctx.api.get(ids::nodes(), "", &node_name) else {
            if ctx.api.is_running() && ctx.api.is_etcd_running() {
                // Our Node was deleted: register again.
                self.state.registered = false;
            }
            return;
        };
        let Object::Node(current) = &*current else { return };
        let readiness = self.readiness(now);
        let previous = current.status.as_ref();
        let new_status = node_status::status(&self.spec, &ids, &self.machine.runtime, &readiness, previous, now);
        let changed = previous.is_none_or(|p| node_status::differs(p, &new_status));
        let due = self.state.last_report.is_none_or(|t| now.millis_since(t) >= STATUS_REPORT_MS);
        if !(changed || due || force) {
            return;
        }
        let was_ready = node_status::ready_status(previous);
        let is_ready = node_status::ready_status(Some(&new_status));
        let mut node: Node = current.clone();
        node.status = Some(new_status);
        if ctx.api.update_status(Object::Node(node)).is_ok() {
            self.state.last_report = Some(now);
            if was_ready != is_ready {
                let what = if is_ready.as_deref() == Some("True") { "NodeReady" } else { "NodeNotReady" };
                self.state.recorder.record_ref(ctx.api, node_ref(&node_name), NORMAL, what, format!("Node {node_name} status is now: {what}"));
                ctx.log(format!("node {node_name} status is now {what}"));
            }
        }
    }

    fn renew_lease(&mut self, ctx: &mut Ctx) {
        let node = self.spec.name.clone();
        let now = ctx.now;
        let renewed = ctx.api.modify(ids::leases(), LEASE_NAMESPACE, &node, false, |obj| {
            if let Object::Lease(l) = obj {
                let spec = l.spec.get_or_insert_with(Default::default);
                spec.renew_time = Some(meta::api_micro_time(now));
                spec.holder_identity = Some(node.clone());
                spec.lease_duration_seconds = Some(node_status::LEASE_DURATION_SECONDS);
            }
            true
        });
        if let Err(e) = renewed {
            if e.reason == Reason::NotFound {
                let _ = ctx.api.create(Object::Lease(node_status::lease(&node, self.state.node_uid.as_deref(), now)));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_container(&mut self, ctx: &mut Ctx, pod: &Pod, container: &str, init: bool, type_: &str, reason: &str, message: String) {
        self.state.recorder.record_ref(ctx.api, container_ref(pod, container, init), type_, reason, message);
    }

    fn set_waiting(&mut self, uid: &str, container: &str, reason: &str, message: Option<String>) -> bool {
        let Some(w) = self.state.workers.get_mut(uid) else { return false };
        let new = Waiting { reason: reason.to_string(), message };
        let changed = w.waiting.get(container) != Some(&new);
        w.waiting.insert(container.to_string(), new);
        changed
    }

    /// Begins starting a container: the image first.
    fn begin_start(&mut self, ctx: &mut Ctx, pod: &Pod, c: &Container, init: bool) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = ctx.now;
        let spec_image = c.image.clone().unwrap_or_default();
        let image = match images::parse_image(&spec_image) {
            Ok(i) => i,
            Err(msg) => {
                if self.set_waiting(&uid, &c.name, "InvalidImageName", Some(msg.clone())) {
                    self.record_container(ctx, pod, &c.name, init, WARNING, "InspectFailed", msg);
                    self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: InvalidImageName".into());
                }
                return;
            }
        };
        let policy = pull_policy(c);
        let present = self.machine.runtime.has_image(&image);
        if policy == "Never" && !present {
            let msg = format!("Container image {spec_image:?} is not present with pull policy of Never");
            if self.set_waiting(&uid, &c.name, "ErrImageNeverPull", Some(msg.clone())) {
                self.record_container(ctx, pod, &c.name, init, WARNING, "ErrImageNeverPull", msg);
                self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: ErrImageNeverPull".into());
            }
            return;
        }
        if present && policy != "Always" {
            self.record_container(ctx, pod, &c.name, init, NORMAL, "Pulled", format!("Container image {spec_image:?} already present on machine"));
            let until = now.plus_millis(150 + ctx.rng.u64(..250));
            if let Some(w) = self.state.workers.get_mut(&uid) {
                w.step = Some(Step { container: c.name.clone(), init, until, kind: StepKind::Create });
            }
            ctx.wake_at(until);
            return;
        }
        let key = format!("{uid}_{spec_image}");
        if let Some(entry) = self.state.pull_backoff.get(&key).copied() {
            let end = entry.last_update.plus_millis(entry.duration_ms);
            if now < end {
                let msg = format!("Back-off pulling image {spec_image:?}");
                if self.set_waiting(&uid, &c.name, "ImagePullBackOff", Some(msg.clone())) {
                    self.record_container(ctx, pod, &c.name, init, NORMAL, "BackOff", msg);
                    self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: ImagePullBackOff".into());
                }
                ctx.wake_at(end);
                return;
            }
        }
        self.record_container(ctx, pod, &c.name, init, NORMAL, "Pulling", format!("Pulling image {spec_image:?}"));
        let has_secrets = pod.spec.as_ref().and_then(|s| s.image_pull_secrets.as_ref()).is_some_and(|v| !v.is_empty());
        let failure = images::pull_failure(&image, self.machine.runtime.flavor == Flavor::Docker, has_secrets);
        let present = present || self.state.pulls_queued.contains(&image.canonical());
        if failure.is_none() {
            self.state.pulls_queued.insert(image.canonical());
        }
        let pull_ms = match (&failure, present) {
            (Some(_), _) => 400 + ctx.rng.u64(..600),
            // Layers already here: only the manifest is fetched.
            (None, true) => 300 + ctx.rng.u64(..400),
            (None, false) => images::pull_duration_ms(images::size_of(&image)) + ctx.rng.u64(..800),
        };
        let begin = self.state.pull_free_at.max(now);
        let until = begin.plus_millis(pull_ms);
        self.state.pull_free_at = until;
        if let Some(w) = self.state.workers.get_mut(&uid) {
            w.step = Some(Step { container: c.name.clone(), init, until, kind: StepKind::Pull { image, queued_at: now, pull_ms, failure } });
        }
        ctx.log(format!("pulling image {spec_image} for {}/{}", pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or("")));
        ctx.wake_at(until);
    }

    /// A container exited and wants restarting: restart it, or wait out its back-off.
    /// Returns whether a start began.
    fn restart_or_backoff(&mut self, ctx: &mut Ctx, pod: &Pod, c: &Container, init: bool, finished: VirtualTime) -> bool {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let key = format!("{uid}/{}", c.name);
        if let Some(end) = in_backoff_since(&self.state.crash_backoff, &key, finished, ctx.now) {
            let duration = self.state.crash_backoff.get(&key).map_or(BACKOFF_INITIAL_MS, |b| b.duration_ms);
            let msg = format!("back-off {} restarting failed container={} pod={}", go_duration(duration), c.name, pod_desc(pod));
            if self.set_waiting(&uid, &c.name, "CrashLoopBackOff", Some(msg)) {
                self.record_container(ctx, pod, &c.name, init, WARNING, "BackOff", format!("Back-off restarting failed container {} in pod {}", c.name, pod_desc(pod)));
            }
            ctx.wake_at(end);
            return false;
        }
        backoff_next(&mut self.state.crash_backoff, &key, finished, ctx.now);
        self.begin_start(ctx, pod, c, init);
        self.state.workers.get(&uid).is_some_and(|w| w.step.is_some())
    }

    fn finish_step(&mut self, ctx: &mut Ctx, pod: &Pod, step: Step) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = ctx.now;
        let Some((c, _)) = find_container(pod, &step.container).map(|(c, i)| (c.clone(), i)) else {
            if matches!(step.kind, StepKind::Sandbox) {
                self.finish_sandbox(ctx, pod);
            }
            return;
        };
        let spec_image = c.image.clone().unwrap_or_default();
        match step.kind {
            StepKind::Sandbox => self.finish_sandbox(ctx, pod),
            StepKind::Pull { image, queued_at, pull_ms, failure } => {
                let key = format!("{uid}_{spec_image}");
                match failure {
                    Some(err) => {
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", format!("Failed to pull image {spec_image:?}: {err}"));
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", "Error: ErrImagePull".into());
                        self.set_waiting(&uid, &c.name, "ErrImagePull", Some(err));
                        backoff_next(&mut self.state.pull_backoff, &key, now, now);
                        ctx.wake_after_ms(RESYNC_AFTER_ERROR_MS);
                    }
                    None => {
                        let size = images::size_of(&image);
                        self.machine.runtime.add_image(image, size);
                        self.state.pull_backoff.remove(&key);
                        let total = now.millis_since(queued_at);
                        self.record_container(
                            ctx,
                            pod,
                            &c.name,
                            step.init,
                            NORMAL,
                            "Pulled",
                            format!("Successfully pulled image {spec_image:?} in {} ({} including waiting). Image size: {size} bytes.", go_duration(pull_ms), go_duration(total)),
                        );
                        let until = now.plus_millis(150 + ctx.rng.u64(..250));
                        if let Some(w) = self.state.workers.get_mut(&uid) {
                            w.step = Some(Step { container: c.name.clone(), init: step.init, until, kind: StepKind::Create });
                        }
                        ctx.wake_at(until);
                    }
                }
            }
            StepKind::Create => {
                self.record_container(ctx, pod, &c.name, step.init, NORMAL, "Created", format!("Created container: {}", c.name));
                let until = now.plus_millis(50 + ctx.rng.u64(..150));
                if let Some(w) = self.state.workers.get_mut(&uid) {
                    w.step = Some(Step { container: c.name.clone(), init: step.init, until, kind: StepKind::Start });
                }
                ctx.wake_at(until);
            }
            StepKind::Start => {
                let Ok(image) = images::parse_image(&spec_image) else { return };
                let sandbox = self.machine.runtime.sandbox(&uid);
                let ip = sandbox.map(|s| s.ip.clone()).unwrap_or_default();
                let attempt = sandbox.and_then(|s| s.latest(&c.name)).map_or_else(|| self.previous_restart_count(pod, &c.name), |l| l.attempt + 1);
                let hostname = pod.metadata.name.clone().unwrap_or_default();
                let process = process_for(&c, &image, &hostname, &ip, now);
                let result = self.machine.runtime.start_container(&uid, &c.name, attempt, image, process, now, ctx.rng);
                if let Some(w) = self.state.workers.get_mut(&uid) {
                    w.waiting.remove(&c.name);
                }
                match result {
                    Ok(_) => {
                        self.record_container(ctx, pod, &c.name, step.init, NORMAL, "Started", format!("Started container {}", c.name));
                        ctx.log(format!("started container {} in {}/{}", c.name, pod.metadata.namespace.as_deref().unwrap_or(""), hostname));
                    }
                    Err(msg) => {
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", format!("Error: {msg}"));
                    }
                }
                if let Some(next) = self.machine.runtime.next_change() {
                    ctx.wake_at(next);
                }
            }
        }
    }

    /// After a reboot the runtime lost the old instance; the count continues
    /// from what the pod status says, as the kubelet reads it from its log directory.
    fn previous_restart_count(&self, pod: &Pod, name: &str) -> i32 {
        pod.status
            .as_ref()
            .and_then(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()).find(|c| c.name == name))
            .filter(|c| c.container_id.is_some())
            .map_or(0, |c| c.restart_count + 1)
    }

    fn finish_sandbox(&mut self, ctx: &mut Ctx, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.machine.runtime.run_sandbox(&uid, &ns, &name, ctx.now, ctx.rng);
    }

    fn sync_pod(&mut self, ctx: &mut Ctx, obj: &Rc<Object>) {
        let Object::Pod(pod) = &**obj else { return };
        let Some(uid) = pod.metadata.uid.clone() else { return };
        let now = ctx.now;
        self.state.workers.entry(uid.clone()).or_insert_with(|| Worker {
            start_time: now,
            step: None,
            waiting: BTreeMap::new(),
            killing: false,
            delete_sent: false,
            sandbox_changed_reported: false,
        });
        if pod.metadata.deletion_timestamp.is_some() {
            self.sync_terminating(ctx, pod, &uid);
            self.write_status(ctx, pod, &uid);
            return;
        }
        // Finish an operation that is due; wait for one in flight.
        let step = self.state.workers.get(&uid).and_then(|w| w.step.clone());
        if let Some(step) = step {
            if step.until > now {
                ctx.wake_at(step.until);
                self.write_status(ctx, pod, &uid);
                return;
            }
            if let Some(w) = self.state.workers.get_mut(&uid) {
                w.step = None;
            }
            self.finish_step(ctx, pod, step);
        }
        if self.state.workers.get(&uid).is_some_and(|w| w.step.is_none()) {
            self.decide(ctx, pod, &uid);
        }
        self.run_probes(ctx, pod, &uid);
        self.write_status(ctx, pod, &uid);
    }

    /// `computePodActions`: what to do next for a pod with nothing in flight.
    fn decide(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let now = ctx.now;
        let default_spec;
        let spec = match pod.spec.as_ref() {
            Some(s) => s,
            None => {
                default_spec = k8s_openapi::api::core::v1::PodSpec::default();
                &default_spec
            }
        };
        let policy = restart_policy(pod).to_string();
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        let sandbox_ready = self.machine.runtime.sandbox(uid).is_some_and(|s| s.ready);
        let any_running = self.machine.runtime.sandbox(uid).is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
        if matches!(phase.as_deref(), Some("Succeeded") | Some("Failed")) {
            if !any_running {
                self.machine.runtime.stop_sandbox(uid);
            }
            return;
        }
        if !sandbox_ready {
            // A pod that has finished for good is not started again.
            let all_done = self.machine.runtime.sandbox(uid).is_some_and(|s| {
                spec.containers.iter().all(|c| s.latest(&c.name).and_then(|l| l.exit.as_ref()).is_some_and(|e| !should_restart(&policy, e.code)))
            });
            if all_done {
                return;
            }
            let had_sandbox = self.machine.runtime.sandbox(uid).is_some();
            if had_sandbox && self.state.workers.get(uid).is_some_and(|w| !w.sandbox_changed_reported) {
                self.state.recorder.record(ctx.api, &Object::Pod(pod.clone()), NORMAL, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
            }
            let until = now.plus_millis(800 + ctx.rng.u64(..700));
            if let Some(w) = self.state.workers.get_mut(uid) {
                w.sandbox_changed_reported = true;
                w.step = Some(Step { container: String::new(), init: false, until, kind: StepKind::Sandbox });
            }
            ctx.wake_at(until);
            return;
        }
        // Init containers, in order.
        for c in spec.init_containers.iter().flatten() {
            let latest = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).map(|l| (l.is_running(), l.exit.clone()));
            match latest {
                Some((true, _)) if is_sidecar(c) => continue,
                Some((true, _)) => return,
                Some((false, Some(exit))) if exit.code == 0 && !is_sidecar(c) => continue,
                Some((false, Some(exit))) => {
                    if policy == "Never" && !is_sidecar(c) {
                        return;
                    }
                    if !self.restart_or_backoff(ctx, pod, c, true, exit.at) {
                        return;
                    }
                    return;
                }
                Some((false, None)) => return,
                None => {
                    self.begin_start(ctx, pod, c, true);
                    return;
                }
            }
        }
        for c in &spec.containers {
            let latest = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).map(|l| (l.is_running(), l.exit.clone()));
            match latest {
                Some((true, _)) | Some((false, None)) => continue,
                Some((false, Some(exit))) => {
                    if !should_restart(&policy, exit.code) {
                        continue;
                    }
                    if self.restart_or_backoff(ctx, pod, c, false, exit.at) {
                        return;
                    }
                }
                None => {
                    let blocked = self.state.workers.get(uid).and_then(|w| w.waiting.get(&c.name)).is_some_and(|w| {
                        matches!(w.reason.as_str(), "InvalidImageName" | "ErrImageNeverPull")
                    });
                    if blocked {
                        continue;
                    }
                    self.begin_start(ctx, pod, c, false);
                    if self.state.workers.get(uid).is_some_and(|w| w.step.is_some()) {
                        return;
                    }
                }
            }
        }
    }

    fn sync_terminating(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let now = ctx.now;
        let grace_s = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(0) as u64;
        let already = self.state.workers.get(uid).is_some_and(|w| w.killing);
        if !already {
            if let Some(w) = self.state.workers.get_mut(uid) {
                w.killing = true;
                w.step = None;
            }
            let running: Vec<(String, bool)> = self
                .machine
                .runtime
                .sandbox(uid)
                .map(|s| s.containers.iter().filter(|c| c.is_running()).map(|c| (c.name.clone(), find_container(pod, &c.name).is_some_and(|(_, i)| i))).collect())
                .unwrap_or_default();
            for (name, init) in running {
                self.record_container(ctx, pod, &name, init, NORMAL, "Killing", format!("Stopping container {name}"));
                if let Some(c) = self.machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(&name)) {
                    c.stop(now, grace_s.max(1) * 1000);
                }
            }
        }
        let still_running = self.machine.runtime.sandbox(uid).is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
        if still_running {
            if let Some(t) = self.machine.runtime.next_change() {
                ctx.wake_at(t);
            }
            return;
        }
        self.machine.runtime.stop_sandbox(uid);
    }

    fn probe_outcome(&mut self, pod: &Pod, uid: &str, c: &Container, probe: &Probe) -> Result<(), String> {
        let Some(sandbox) = self.machine.runtime.sandbox_mut(uid) else { return Err("no sandbox".into()) };
        let ip = sandbox.ip.clone();
        let Some(rc) = sandbox.latest_mut(&c.name) else { return Err("no container".into()) };
        let resolve = |port: &IntOrString| -> i32 {
            match port {
                IntOrString::Int(p) => *p,
                IntOrString::String(name) => c.ports.iter().flatten().find(|p| p.name.as_deref() == Some(name.as_str())).map_or(0, |p| p.container_port),
            }
        };
        if let Some(http) = &probe.http_get {
            let port = resolve(&http.port);
            let host = http.host.clone().unwrap_or_else(|| ip.clone());
            let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
            let path = http.path.clone().unwrap_or_default();
            let path = if path.starts_with('/') { path } else { format!("/{path}") };
            if !rc.serves(port) {
                return Err(format!("Get \"{scheme}://{host}:{port}{path}\": dial tcp {host}:{port}: connect: connection refused"));
            }
            let code = rc.http_request();
            return if code < 400 { Ok(()) } else { Err(format!("HTTP probe failed with statuscode: {code}")) };
        }
        if let Some(tcp) = &probe.tcp_socket {
            let port = resolve(&tcp.port);
            let host = tcp.host.clone().unwrap_or_else(|| ip.clone());
            return if rc.serves(port) { Ok(()) } else { Err(format!("dial tcp {host}:{port}: connect: connection refused")) };
        }
        if let Some(grpc) = &probe.grpc {
            return if rc.serves(grpc.port) {
                Ok(())
            } else {
                Err(format!("timeout: failed to connect service \"{ip}:{}\" within 1s: context deadline exceeded", grpc.port))
            };
        }
        if let Some(exec) = &probe.exec {
            let argv = exec.command.clone().unwrap_or_default();
            let env = container_env(c);
            let toolkit = images::lookup(&rc.image).map_or(Toolkit::Coreutils, |i| i.toolkit);
            let hostname = pod.metadata.name.clone().unwrap_or_default();
            let (code, output) = shell::run_once(&argv, Context { env: &env, hostname: &hostname, toolkit, files: rc.files.clone() });
            return if code == 0 { Ok(()) } else if output.is_empty() { Err(format!("command {argv:?} exited with {code}")) } else { Err(output) };
        }
        Ok(())
    }

    fn run_probes(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let now = ctx.now;
        let containers = pod.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
        for c in &containers {
            let Some((id, started_at)) = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).filter(|l| l.is_running()).map(|l| (l.id.clone(), l.started_at.unwrap_or(now))) else {
                continue;
            };
            let startup_pending = c.startup_probe.is_some()
                && !self.state.probes.get(&(uid.to_string(), c.name.clone(), ProbeKind::Startup)).is_some_and(|p| p.container_id == id && p.ok);
            for (kind, probe) in [(ProbeKind::Startup, &c.startup_probe), (ProbeKind::Liveness, &c.liveness_probe), (ProbeKind::Readiness, &c.readiness_probe)] {
                let Some(probe) = probe else { continue };
                if kind != ProbeKind::Startup && startup_pending {
                    continue;
                }
                let key = (uid.to_string(), c.name.clone(), kind);
                let period = probe.period_seconds.unwrap_or(10).max(1) as u64 * 1000;
                let state = self.state.probes.entry(key.clone()).or_insert_with(|| ProbeState {
                    container_id: String::new(),
                    next_at: now,
                    successes: 0,
                    failures: 0,
                    ok: false,
                });
                if state.container_id != id {
                    *state = ProbeState {
                        container_id: id.clone(),
                        next_at: started_at.plus_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64).max(now),
                        successes: 0,
                        failures: 0,
                        ok: kind == ProbeKind::Liveness,
                    };
                }
                if state.ok && kind == ProbeKind::Startup {
                    continue;
                }
                if state.next_at > now {
                    ctx.wake_at(state.next_at);
                    continue;
                }
                let outcome = self.probe_outcome(pod, uid, c, probe);
                let Some(state) = self.state.probes.get_mut(&key) else { continue };
                state.next_at = now.plus_millis(period);
                ctx.wake_at(state.next_at);
                match outcome {
                    Ok(()) => {
                        state.failures = 0;
                        state.successes += 1;
                        if state.successes >= probe.success_threshold.unwrap_or(1).max(1) {
                            state.ok = true;
                        }
                    }
                    Err(msg) => {
                        state.successes = 0;
                        state.failures += 1;
                        let failed_out = state.failures >= probe.failure_threshold.unwrap_or(3).max(1);
                        if failed_out {
                            state.ok = false;
                        }
                        self.record_container(ctx, pod, &c.name, false, WARNING, "Unhealthy", format!("{} probe failed: {msg}", kind.title()));
                        if failed_out && kind != ProbeKind::Readiness {
                            let what = if kind == ProbeKind::Liveness { "liveness" } else { "startup" };
                            self.record_container(ctx, pod, &c.name, false, NORMAL, "Killing", format!("Container {} failed {what} probe, will be restarted", c.name));
                            let grace = probe
                                .termination_grace_period_seconds
                                .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
                                .unwrap_or(30)
                                .max(1) as u64;
                            if let Some(rc) = self.machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(&c.name)) {
                                rc.stop(now, grace * 1000);
                            }
                            if let Some(t) = self.machine.runtime.next_change() {
                                ctx.wake_at(t);
                            }
                            break;
                        }
                    }
                }
            }
        }
    }

    fn write_status(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let Some(worker) = self.state.workers.get(uid) else { return };
        let sandbox = self.machine.runtime.sandbox(uid);
        let mut ready = BTreeMap::new();
        let mut started = BTreeMap::new();
        for c in pod.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten())) {
            let id = sandbox.and_then(|s| s.latest(&c.name)).map(|l| l.id.clone()).unwrap_or_default();
            let probe_ok = |kind: ProbeKind| self.state.probes.get(&(uid.to_string(), c.name.clone(), kind)).is_some_and(|p| p.container_id == id && p.ok);
            let is_started = c.startup_probe.is_none() || probe_ok(ProbeKind::Startup);
            started.insert(c.name.clone(), is_started);
            ready.insert(c.name.clone(), is_started && (c.readiness_probe.is_none() || probe_ok(ProbeKind::Readiness)));
        }
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let stopped = !sandbox.is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
        let inputs = Inputs {
            pod,
            sandbox,
            flavor: self.machine.runtime.flavor,
            host_ip: &self.spec.address,
            start_time: worker.start_time,
            waiting: &worker.waiting,
            ready: &ready,
            started: &started,
            terminated_for_deletion: deleting && stopped && worker.killing,
            now: ctx.now,
        };
        let status = pod_status::generate(&inputs);
        let finished_deleting = deleting && stopped && worker.killing && !worker.delete_sent;
        if pod.status.as_ref() != Some(&status) {
            let (ns, name) = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
            let expected_uid = pod.metadata.uid.clone();
            let _ = ctx.api.modify(ids::pods(), &ns, &name, true, |obj| match obj {
                Object::Pod(p) if p.metadata.uid == expected_uid => {
                    // Keep conditions others wrote since (DisruptionTarget, PodScheduled).
                    let mut status = status.clone();
                    let mut conditions: Vec<_> = status.conditions.take().unwrap_or_default().into_iter().filter(|c| pod_status::KUBELET_CONDITIONS.contains(&c.type_.as_str())).collect();
                    for c in p.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
                        if !pod_status::KUBELET_CONDITIONS.contains(&c.type_.as_str()) {
                            conditions.push(c.clone());
                        }
                    }
                    status.conditions = Some(conditions);
                    let changed = p.status.as_ref() != Some(&status);
                    p.status = Some(status);
                    changed
                }
                _ => false,
            });
        }
        if finished_deleting {
            let (ns, name) = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
            let opts = DeleteOptions { grace_period_seconds: Some(0), precondition_uid: pod.metadata.uid.clone(), ..Default::default() };
            if ctx.api.delete(ids::pods(), &ns, &name, &opts).is_ok() {
                if let Some(w) = self.state.workers.get_mut(uid) {
                    w.delete_sent = true;
                }
            }
        }
    }

    /// Sandboxes whose pods are gone from the API: stop, then remove them.
    fn cleanup_orphans(&mut self, ctx: &mut Ctx) {
        if !self.state.pods.has_synced() {
            return;
        }
        let known: std::collections::BTreeSet<String> =
            self.state.pods.items().filter_map(|o| o.meta().uid.clone()).collect();
        let orphans: Vec<String> = self.machine.runtime.sandboxes().map(|(uid, _)| uid.clone()).filter(|uid| !known.contains(uid)).collect();
        for uid in orphans {
            let now = ctx.now;
            if let Some(s) = self.machine.runtime.sandbox_mut(&uid) {
                for c in s.containers.iter_mut() {
                    c.stop(now, ORPHAN_GRACE_MS);
                }
            }
            let running = self.machine.runtime.sandbox(&uid).is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
            if running {
                if let Some(t) = self.machine.runtime.next_change() {
                    ctx.wake_at(t);
                }
            } else {
                self.machine.runtime.remove_sandbox(&uid);
            }
        }
        let workers: Vec<String> = self.state.workers.keys().filter(|uid| !known.contains(*uid)).cloned().collect();
        for uid in workers {
            self.state.workers.remove(&uid);
            self.state.probes.retain(|(u, _, _), _| *u != uid);
            let prefix = format!("{uid}/");
            self.state.crash_backoff.retain(|k, _| !k.starts_with(&prefix));
            let prefix = format!("{uid}_");
            self.state.pull_backoff.retain(|k, _| !k.starts_with(&prefix));
        }
    }
}

impl crate::engine::sim::Component for Kubelet {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, ctx: &mut Ctx) {
        let Some(machine) = ctx.world.lend(&self.spec.name) else { return };
        self.machine = machine;
        self.run_on_machine(ctx);
        let machine = std::mem::replace(&mut self.machine, Machine::vacant());
        ctx.world.put_back(&self.spec.name, machine);
    }

    fn on_stop(&mut self) {
        self.process_running = false;
        self.state = State::new(&self.spec.name);
    }

    fn on_start(&mut self, ctx: &mut Ctx) {
        self.process_running = true;
        let Some(machine) = ctx.world.machine_mut(&self.spec.name) else { return };
        if machine.power_lost {
            machine.power_lost = false;
            machine.runtime.recover_after_power_loss(machine.last_run, ctx.now);
            machine.booted_at = ctx.now;
            let boot = random_hex(ctx.rng, 32);
            if let Some(ids) = machine.ids.as_mut() {
                ids.boot_id = format!("{}-{}-{}-{}-{}", &boot[0..8], &boot[8..12], &boot[12..16], &boot[16..20], &boot[20..32]);
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Kubelet {
    fn run_on_machine(&mut self, ctx: &mut Ctx) {
        self.ensure_machine(ctx);
        let now = ctx.now;
        if !self.state.started {
            self.start_up(ctx);
        }
        self.machine.runtime.advance(now);
        self.machine.last_run = now;
        if !self.state.registered {
            self.register(ctx);
        }
        if self.state.registered {
            if now >= self.state.next_lease {
                self.renew_lease(ctx);
                self.state.next_lease = now.plus_millis(LEASE_RENEW_MS);
            }
            if now >= self.state.next_status {
                self.post_status(ctx, false);
                self.state.next_status = now.plus_millis(STATUS_UPDATE_MS);
                // Until the node is first Ready the kubelet reports as soon as
                // readiness changes (its fast status update at start-up).
                let ready_at = self.machine.booted_at.plus_millis(NETWORK_READY_AFTER_BOOT_MS);
                if ready_at > now {
                    self.state.next_status = self.state.next_status.min(ready_at);
                }
            }
            ctx.wake_at(self.state.next_lease.min(self.state.next_status));
        } else {
            ctx.wake_after_ms(1_000);
        }
        let events = self.state.pods.sync(ctx);
        for ev in &events {
            if ev.kind == WatchEventType::Deleted {
                ctx.log(format!("pod {} removed from the API", ObjectKey::of(&ev.object)));
            }
        }
        // Pods wait for the node's network before their sandboxes can be set up.
        let full_sync = now >= self.state.next_full_sync;
        if self.readiness(now) == Readiness::Ready {
            // A pod whose own object changed is synced at once, as its pod
            // worker would be; every pod is synced when timed work is due.
            let pods: Vec<Rc<Object>> = if full_sync {
                self.state.pods.items().cloned().collect()
            } else {
                let changed: BTreeSet<ObjectKey> = events.iter().map(|ev| ObjectKey::of(&ev.object)).collect();
                changed.iter().filter_map(|k| self.state.pods.get(k).cloned()).collect()
            };
            for pod in pods {
                self.sync_pod(ctx, &pod);
            }
        } else {
            ctx.wake_at(self.machine.booted_at.plus_millis(NETWORK_READY_AFTER_BOOT_MS));
        }
        self.cleanup_orphans(ctx);
        if let Some(t) = self.machine.runtime.next_change() {
            ctx.wake_at(t);
        }
        let asked = ctx.pending_wake().unwrap_or(VirtualTime::from_millis(u64::MAX));
        self.state.next_full_sync = if full_sync { asked } else { self.state.next_full_sync.min(asked) };
    }
}
