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

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;
use k8s_openapi::api::core::v1::ContainerImage;
use k8s_openapi::jiff::{tz::TimeZone, Timestamp};

use super::container_fs::{self as cfs, Files, Mounts, RootFs, View, ViewMut};
use super::filesystem::{Fs, Kind};
use super::identity::{self, ProcessUser};
use super::images::{self, Base, ImageName};
use crate::engine::network::address::format_ip;
use super::shell::{self, Effect, End, Program};
use super::volumes::SharedByHash;
use crate::engine::api::meta::EPOCH_SECONDS;
use crate::engine::network::apps::AppState;
use crate::engine::sim::clock::VirtualTime;

thread_local! {
    /// Image names by a hash of their texts.
    static SHARED_IMAGES: std::cell::RefCell<SharedByHash<ImageName>> = const { std::cell::RefCell::new(SharedByHash::new(1024)) };
}

/// The same image name as another container's, shared rather than copied
/// (the containers of a template all run one image).
fn shared_image(image: ImageName) -> Rc<ImageName> {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(image.repository.as_bytes());
    h.write_u8(0xff);
    h.write(image.tag.as_bytes());
    h.write_u8(0xff);
    if let Some(d) = &image.digest {
        h.write(d.as_bytes());
    }
    let h = h.finish();
    SHARED_IMAGES.with(|shared| shared.borrow_mut().share(h, image, |found, image| found == image, Rc::new))
}

/// Lines kept per container; older ones are dropped as log rotation would.
pub const LOG_LINES_LIMIT: usize = 1_000;
/// Loop iterations materialised per advance; a long gap skips ahead.
const REPEAT_LIMIT: u64 = LOG_LINES_LIMIT as u64;
/// Walks one advance makes while processes' programs are worked out
/// further (a chunk each): bounds the work of one long stretch of time.
const WALKS_PER_ADVANCE: usize = 64;
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
            Flavor::Containerd => images::at_digest("", &name.canonical_repository(), name),
            Flavor::Docker => images::at_digest("docker-pullable://", &name.short_repository(), name),
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
    /// Shared with the process's timeline when the line had no marks to fill.
    pub text: Rc<str>,
}

/// A container's log, at most [`LOG_LINES_LIMIT`] lines. The lines its
/// process prints as it starts (all at its start instant) are kept as one
/// list of texts shared with every container that printed the same texts
/// (the pods of a template started in the same second), with their instant
/// beside it; the lines after them are the container's own.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// The first lines' texts, once all of them are in.
    head: Rc<[Rc<str>]>,
    /// When the first lines were printed.
    head_time: VirtualTime,
    /// Lines of `head` dropped by rotation.
    head_dropped: usize,
    /// The lines after `head` (and the first lines while they come in).
    tail: VecDeque<LogLine>,
    /// How many first lines are yet to come before they become `head`.
    awaited: usize,
}

thread_local! {
    /// First-line lists by a hash of their texts' addresses.
    static SHARED_HEADS: std::cell::RefCell<SharedByHash<[Rc<str>]>> = const { std::cell::RefCell::new(SharedByHash::new(1024)) };
}

impl Log {
    /// An empty log whose first `first_lines` lines, if they all come at
    /// one instant, are kept as a shared list.
    fn awaiting(first_lines: usize) -> Self {
        Log { awaited: first_lines, tail: VecDeque::with_capacity(first_lines), ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.head.len() - self.head_dropped + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = LogLine> + '_ {
        let time = self.head_time;
        self.head[self.head_dropped..].iter().map(move |text| LogLine { time, text: text.clone() }).chain(self.tail.iter().cloned())
    }

    /// The newest line, to change (a partial line continued): the first
    /// lines become the container's own if it is one of them.
    pub fn back_mut(&mut self) -> Option<&mut LogLine> {
        if self.tail.is_empty() && self.head_dropped < self.head.len() {
            let time = self.head_time;
            self.tail = self.head[self.head_dropped..].iter().map(|text| LogLine { time, text: text.clone() }).collect();
            self.head = Rc::from(Vec::new());
            self.head_dropped = 0;
        }
        self.tail.back_mut()
    }

    /// Drops the oldest line.
    fn pop_front(&mut self) {
        if self.head_dropped < self.head.len() {
            self.head_dropped += 1;
        } else {
            self.tail.pop_front();
        }
    }

    fn push_back(&mut self, line: LogLine) {
        self.tail.push_back(line);
        if self.awaited == 0 {
            return;
        }
        self.awaited -= 1;
        if self.awaited > 0 {
            return;
        }
        // The first lines are in: shared if they came at one instant.
        let time = self.tail.front().map(|l| l.time);
        if !self.head.is_empty() || self.head_dropped > 0 || self.tail.iter().any(|l| Some(l.time) != time) {
            return;
        }
        let Some(time) = time else { return };
        let texts: Vec<Rc<str>> = self.tail.iter().map(|l| l.text.clone()).collect();
        let h = {
            use std::hash::Hasher;
            let mut h = rustc_hash::FxHasher::default();
            for t in &texts {
                h.write_usize(Rc::as_ptr(t) as *const u8 as usize);
            }
            h.finish()
        };
        self.head = SHARED_HEADS.with(|shared| shared.borrow_mut().share(h, texts, |found, texts| *found == **texts, Rc::from));
        self.head_time = time;
        self.tail = VecDeque::new();
    }
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
    /// The command uses the network, which the kubelet cannot reach: the
    /// process waits until the network evaluates it (at its start instant)
    /// and replaces `program` with the result. Boxed: few processes wait.
    pub deferred: Option<Box<DeferredProgram>>,
    /// What it takes of the machine beyond its image's resting use (a
    /// `stress` run's workers). Boxed: few processes have one.
    pub hog: Option<Box<Hog>>,
}

/// Memory and CPU a process holds while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hog {
    /// Bytes it allocates and touches.
    pub memory_bytes: u64,
    /// Millicores it burns, its CPU limit's throttling applied.
    pub cpu_millis: u64,
    /// Its allocation passes its memory limit: the cgroup's OOM killer
    /// ends it (its program's exit), reported as `OOMKilled`.
    pub oom_killed: bool,
}

/// A main process's command, kept for the network to evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeferredProgram {
    /// An exec-form command line.
    Exec(Vec<String>),
    /// An image's own script with its positional parameters.
    Script { script: String, positional: Vec<String> },
}

#[derive(Clone, Debug)]
pub struct RuntimeContainer {
    /// 64 hex digits, without the `containerd://` scheme.
    pub id: HexId,
    pub name: String,
    /// The restart count this instance was created with.
    pub attempt: i32,
    /// The definition it was started from ([`ContainerSetup::spec_hash`]).
    pub spec_hash: u32,
    /// Shared with every container of the same image (see [`shared_image`]).
    pub image: Rc<ImageName>,
    pub created_at: VirtualTime,
    pub started_at: Option<VirtualTime>,
    /// Boxed: most instances run, and an exit is wide.
    pub exit: Option<Box<Exit>>,
    process: ProcessSpec,
    termination: Option<Rc<TerminationMessage>>,
    /// The network evaluates the process's command and may extend its
    /// program later (the same steps first): the steps applied are kept
    /// to line up with it. Other processes forget them once applied.
    extensible: bool,
    applied: usize,
    repeats_done: u64,
    stop_requested: Option<VirtualTime>,
    stop_deadline: Option<VirtualTime>,
    pub http_requests: u32,
    pub logs: Log,
    /// Lines dropped from the front of `logs` by rotation.
    pub logs_dropped: u64,
    /// The image's files and this container's changes.
    pub root: RootFs,
    /// What the kubelet and the runtime mounted, in `/proc/mounts` order.
    pub mounts: Mounts,
    /// The process environment, in order.
    pub env: Environment,
    /// Shared with every container that has the same (see
    /// `volumes::shared_content`), as is `command_line`.
    pub workdir: Rc<str>,
    pub base: Base,
    /// PID 1's command line, as `ps` shows it.
    pub command_line: Rc<str>,
    /// Who its processes run as.
    pub user: Rc<ProcessUser>,
    /// The next PID an exec'd process gets.
    pub next_pid: u32,
    /// The main process waits on an attached terminal (`stdin: true`).
    pub interactive: bool,
    /// Effects of the timeline applied; the time up to which they were.
    applied_until: Option<VirtualTime>,
    /// The application the process runs and its in-memory state (the
    /// network serves requests through it); fresh for every instance.
    pub app: AppState,
    /// CPU the process has spent, as the cgroup accounts it.
    pub cpu: CpuUsage,
    /// (hostPort, containerPort) pairs the CNI's portmap set up for it.
    pub host_ports: Vec<(i32, i32)>,
}

/// A container's process environment, kept for its life: each name and
/// value is shared with every other container that has it (most come from
/// the image and the cluster's Services), and the list itself with every
/// container whose variables are the same but for `HOSTNAME` (the pods of
/// one template: the runtime sets `HOSTNAME` to the pod's name), whose
/// value is kept beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// The variables in order; `HOSTNAME`'s value here is empty, the real
    /// one being `hostname`.
    vars: Rc<[(Rc<str>, Rc<str>)]>,
    /// `HOSTNAME`'s value, if the list has the variable.
    hostname: Option<Rc<str>>,
}

/// The variable whose value each container has its own of.
pub const OWN_VARIABLE: &str = "HOSTNAME";

thread_local! {
    /// Variable lists by a hash of their texts' addresses.
    static SHARED_ENVS: std::cell::RefCell<SharedByHash<[(Rc<str>, Rc<str>)]>> = const { std::cell::RefCell::new(SharedByHash::new(1024)) };
}

impl Environment {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every variable, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| match &self.hostname {
            Some(own) if &**k == OWN_VARIABLE => (&**k, &**own),
            _ => (&**k, &**v),
        })
    }

    /// The same variables with `hostname` as `HOSTNAME`'s value, if the
    /// list has the variable.
    pub fn with_own_hostname(&self, hostname: &str) -> Environment {
        Environment { vars: self.vars.clone(), hostname: self.hostname.as_ref().map(|_| Rc::from(hostname)) }
    }

    /// A copy a process can change (a shell's exports).
    pub fn to_map(&self) -> IndexMap<String, String> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
}

#[cfg(test)]
impl From<IndexMap<String, String>> for Environment {
    fn from(env: IndexMap<String, String>) -> Self {
        Environment::of_distinct(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl Environment {
    /// The variables set one after another, as inserting them into an
    /// ordered map does: a name set again keeps its first place and takes
    /// the last value; then each of `defaults` whose name none set. The
    /// texts are borrowed until shared, so a container whose variables
    /// another already has copies none of them.
    pub fn of_settings<'a>(settings: impl IntoIterator<Item = (&'a str, std::borrow::Cow<'a, str>)>, defaults: &[(&'a str, &'a str)]) -> Self {
        let settings = settings.into_iter();
        // Sized once: the table grew four times for every container started.
        let expected = settings.size_hint().0 + defaults.len();
        let mut vars: Vec<(&'a str, std::borrow::Cow<'a, str>)> = Vec::with_capacity(expected);
        let mut places: rustc_hash::FxHashMap<&'a str, usize> = rustc_hash::FxHashMap::with_capacity_and_hasher(expected, Default::default());
        for (name, value) in settings {
            match places.get(name) {
                Some(&at) => {
                    if let Some(slot) = vars.get_mut(at) {
                        slot.1 = value;
                    }
                }
                None => {
                    places.insert(name, vars.len());
                    vars.push((name, value));
                }
            }
        }
        for &(name, value) in defaults {
            if !places.contains_key(name) {
                vars.push((name, std::borrow::Cow::Borrowed(value)));
            }
        }
        Environment::of_distinct(vars.iter().map(|(k, v)| (*k, &**v)))
    }

    /// Variables whose names are all different, in order.
    fn of_distinct<'a>(env: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        use std::hash::Hasher;
        let shared = super::volumes::shared_content;
        let mut hostname = None;
        let vars: Vec<(Rc<str>, Rc<str>)> = env
            .map(|(k, v)| {
                if k == OWN_VARIABLE {
                    hostname = Some(Rc::from(v));
                    (shared(k), shared(""))
                } else {
                    (shared(k), shared(v))
                }
            })
            .collect();
        // The texts are shared, so equal lists mostly hold the same
        // addresses; one that does not is only kept apart.
        let mut h = rustc_hash::FxHasher::default();
        for (k, v) in &vars {
            h.write_usize(Rc::as_ptr(k) as *const u8 as usize);
            h.write_usize(Rc::as_ptr(v) as *const u8 as usize);
        }
        let h = h.finish();
        let vars = SHARED_ENVS.with(|shared| shared.borrow_mut().share(h, vars, |found, vars| *found == **vars, Rc::from));
        Environment { vars, hostname }
    }
}

/// What the kubelet prepared for a container besides its process.
#[derive(Clone, Debug, Default)]
pub struct ContainerSetup {
    pub root: RootFs,
    pub mounts: Mounts,
    pub env: Environment,
    pub workdir: String,
    pub base: Option<Base>,
    pub command_line: String,
    pub interactive: bool,
    /// The kubelet's hash of the container's definition (its name and
    /// image), kept with the instance as the `io.kubernetes.container.hash`
    /// label is.
    pub spec_hash: u32,
    /// Where its termination message is read from, when not the default.
    pub termination: Option<Rc<TerminationMessage>>,
    /// Who its processes run as (shared by the containers that run as the same).
    pub user: Rc<ProcessUser>,
}

/// A container's `terminationMessagePath` and `terminationMessagePolicy`,
/// kept only when they are not `/dev/termination-log` and `File`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminationMessage {
    pub path: String,
    /// `FallbackToLogsOnError`: a failed container with no message file
    /// reports the end of its log.
    pub fallback_to_logs: bool,
}

/// The default `terminationMessagePath`.
pub const TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// The most of a termination message file the kubelet reads.
const TERMINATION_MESSAGE_BYTES: usize = 4096;
/// The end of the log `FallbackToLogsOnError` reports: lines, then bytes.
const TERMINATION_LOG_LINES: usize = 80;
const TERMINATION_LOG_BYTES: usize = 2048;

/// A container's CPU accounting (its cgroup's `cpu.stat`), read by whoever
/// reports usage (metrics): work done per request plus an idle baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuUsage {
    /// Microseconds of CPU spent serving requests since the process started.
    pub work_us: u64,
    /// Until when already-queued work keeps the process busy.
    pub busy_until: VirtualTime,
    /// The cgroup's CPU quota in millicores (`resources.limits.cpu`).
    pub limit_millis: Option<u64>,
}

/// The CPU limit in millicores (`resources.limits.cpu`), if there is one:
/// what a container's cgroup quota and its [`CpuUsage::limit_millis`] follow.
pub fn cpu_limit_millis(resources: Option<&k8s_openapi::api::core::v1::ResourceRequirements>) -> Option<u64> {
    let limit = resources?.limits.as_ref()?.get("cpu")?;
    u64::try_from(crate::engine::quantity::milli_value_of(limit)).ok().filter(|m| *m > 0)
}

impl CpuUsage {
    /// Queues `cost_us` of work arriving at `now`; returns when it is done.
    /// Under a quota the work runs at the quota's speed and queues behind
    /// earlier work; without one it runs on a core of its own.
    pub fn run(&mut self, now: VirtualTime, cost_us: u64) -> VirtualTime {
        self.work_us = self.work_us.saturating_add(cost_us);
        match self.limit_millis.filter(|l| *l > 0 && *l < 1000) {
            Some(limit) => {
                let wall_ms = (cost_us.saturating_mul(1000) / limit).div_ceil(1000);
                let start = self.busy_until.max(now);
                self.busy_until = start.plus_millis(wall_ms);
                self.busy_until
            }
            None => now.plus_millis(cost_us.div_ceil(1000)),
        }
    }
}

impl RuntimeContainer {
    pub fn is_running(&self) -> bool {
        self.started_at.is_some() && self.exit.is_none()
    }

    /// The termination message the kubelet reports for an exited container:
    /// the file at its message path (its first 4 KiB), else, for a failure
    /// under `FallbackToLogsOnError`, the end of its log.
    fn termination_message(&self, disk: &Fs) -> Option<String> {
        let exit = self.exit.as_ref()?;
        let (path, fallback) = self.termination.as_deref().map_or((TERMINATION_MESSAGE_PATH, false), |t| (t.path.as_str(), t.fallback_to_logs));
        let view = View { root: &self.root, mounts: &self.mounts, disk, user: &identity::ROOT };
        let mut text = cfs::read_file(&view, "/", path).unwrap_or_default();
        if text.len() > TERMINATION_MESSAGE_BYTES {
            let mut cut = TERMINATION_MESSAGE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        if text.is_empty() && fallback && exit.code != 0 && self.started_at.is_some() {
            let lines: Vec<LogLine> = self.logs.iter().collect();
            let tail = &lines[lines.len().saturating_sub(TERMINATION_LOG_LINES)..];
            let mut joined: String = tail.iter().map(|l| format!("{}\n", l.text)).collect();
            if joined.len() > TERMINATION_LOG_BYTES {
                let mut from = joined.len() - TERMINATION_LOG_BYTES;
                while !joined.is_char_boundary(from) {
                    from += 1;
                }
                joined = joined.split_off(from);
            }
            text = joined;
        }
        (!text.is_empty()).then_some(text)
    }

    /// What its process holds beyond its image's resting use, if anything.
    pub fn hog(&self) -> Option<&Hog> {
        self.process.hog.as_deref()
    }

    pub fn serves(&self, port: i32) -> bool {
        self.is_running() && self.process.serves.contains(&port)
    }

    /// The process listens on `port` too (a port its own flags name).
    pub fn listen(&mut self, port: i32) {
        if !self.process.serves.contains(&port) {
            self.process.serves.push(port);
        }
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
        // Where the program is worked out further, which may find its end.
        let resumed = self.resume_at();
        [natural, stopped, resumed].into_iter().flatten().min()
    }

    /// When the process reaches the end of what its program was worked out
    /// to and goes on from where its shell stopped (see [`shell::resume`]).
    fn resume_at(&self) -> Option<VirtualTime> {
        let resume = self.process.program.resume.as_ref()?;
        if self.extensible || self.exit.is_some() {
            return None;
        }
        Some(self.started_at?.plus_millis(resume.at_ms))
    }

    /// The earliest instant from which moving the process on does more
    /// than note how far it got (see [`RuntimeContainer::take_due`]): its
    /// program's next step, a repeat's next period, its exit. `None`:
    /// nothing until something changes it.
    fn next_due(&self) -> Option<VirtualTime> {
        let start = self.started_at?;
        if let Some(exit) = &self.exit {
            // An exit set from outside leaves the steps before it to apply.
            return self.applied_until.is_none_or(|u| u < exit.at).then_some(VirtualTime::ZERO);
        }
        let program = &self.process.program;
        let natural = match program.end {
            End::Exit { at_ms, .. } => Some(start.plus_millis(at_ms)),
            End::Never => None,
        };
        let signal = if self.process.stops_on_sigterm { self.stop_requested } else { self.stop_deadline };
        let step = match program.timeline.get(self.applied) {
            Some(step) => Some(start.plus_millis(step.at_ms)),
            None => program.repeat.as_ref().map(|rep| start.plus_millis(rep.start_ms).plus_millis(self.repeats_done.saturating_mul(rep.period_ms))).or_else(|| self.resume_at()),
        };
        [natural, signal, step].into_iter().flatten().min()
    }

    /// Asks the process to stop (SIGTERM), with SIGKILL after `grace_ms`.
    /// Whether it was asked to stop and has not yet.
    pub fn is_stopping(&self) -> bool {
        self.is_running() && self.stop_requested.is_some()
    }

    pub fn stop(&mut self, now: VirtualTime, grace_ms: u64) {
        if !self.is_running() {
            return;
        }
        let deadline = now.plus_millis(grace_ms);
        if self.stop_requested.is_none() {
            self.stop_requested = Some(now);
        }
        self.stop_deadline = Some(self.stop_deadline.map_or(deadline, |d| d.min(deadline)));
        // Effects up to now were applied when the runtime advanced; a
        // process that stops at once ends here.
        let _ = self.take_due(now, None);
    }

    /// Stops the process after a preStop hook that takes `hook_ms`:
    /// SIGTERM when the hook ends, SIGKILL `grace_ms` after that.
    pub fn stop_after_hook(&mut self, now: VirtualTime, hook_ms: u64, grace_ms: u64) {
        if !self.is_running() {
            return;
        }
        let term = now.plus_millis(hook_ms);
        let deadline = term.plus_millis(grace_ms);
        if self.stop_requested.is_none() {
            self.stop_requested = Some(term);
        }
        self.stop_deadline = Some(self.stop_deadline.map_or(deadline, |d| d.min(deadline)));
        let _ = self.take_due(now, None);
    }

    /// Moves the process up to `now`: what it did since last time, in
    /// order, and its exit if it ended. With the node's disk, a program
    /// whose timeline was all applied and which stopped being worked out
    /// before `now` is worked out further, against its files as they are.
    fn take_due(&mut self, now: VirtualTime, disk: Option<&Fs>) -> Vec<(VirtualTime, Effect)> {
        let Some(start) = self.started_at else { return Vec::new() };
        let natural_exit = match self.process.program.end {
            End::Exit { at_ms, code } => Some((start.plus_millis(at_ms), code)),
            End::Never => None,
        };
        let signal_exit = if self.process.stops_on_sigterm {
            self.stop_requested.map(|t| (t, 0))
        } else {
            self.stop_deadline.map(|t| (t, 137))
        };
        let exit = match &self.exit {
            Some(e) => Some((e.at, e.code)),
            None => match (natural_exit, signal_exit) {
                (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                (a, b) => a.or(b),
            }
            .filter(|(t, _)| *t <= now),
        };
        let limit = exit.map_or(now, |(t, _)| t.min(now));
        // The program's own end is the OOM killer's when its hog outgrew the limit.
        let oom_killed = self.process.hog.as_ref().is_some_and(|h| h.oom_killed) && exit.is_some() && exit == natural_exit;
        let reason = |code: i32| if oom_killed { "OOMKilled" } else if code == 0 { "Completed" } else { "Error" };
        let mut due = Vec::new();
        if self.applied_until.is_some_and(|u| u >= limit) {
            if self.exit.is_none() {
                if let Some((at, code)) = exit {
                    self.exit = Some(Box::new(Exit { at, code, reason: reason(code).to_string(), message: None }));
                }
            }
            return due;
        }
        if let Some(disk) = disk {
            self.resume_if_due(limit, disk);
        }
        self.applied_until = Some(limit);
        while let Some(step) = self.process.program.timeline.get(self.applied) {
            let at = start.plus_millis(step.at_ms);
            if at > limit {
                break;
            }
            due.push((at, step.effect.clone()));
            self.applied += 1;
        }
        if self.applied >= self.process.program.timeline.len() {
            // What the steps did is in the log and the files now.
            if self.applied > 0 && !self.extensible {
                self.process.program.timeline = Vec::new();
                self.applied = 0;
            }
            if let Some(rep) = self.process.program.repeat.clone() {
                let first = start.plus_millis(rep.start_ms);
                if limit >= first {
                    let due_count = limit.millis_since(first) / rep.period_ms + 1;
                    if due_count > self.repeats_done.saturating_add(REPEAT_LIMIT) {
                        self.repeats_done = due_count - REPEAT_LIMIT;
                    }
                    while self.repeats_done < due_count {
                        let base = first.plus_millis(self.repeats_done.saturating_mul(rep.period_ms));
                        for step in &rep.body {
                            let at = base.plus_millis(step.at_ms);
                            if at <= limit {
                                due.push((at, step.effect.clone()));
                            }
                        }
                        self.repeats_done += 1;
                    }
                }
            }
        }
        if self.exit.is_none() {
            if let Some((at, code)) = exit {
                self.exit = Some(Box::new(Exit { at, code, reason: reason(code).to_string(), message: None }));
            }
        }
        due
    }

    /// Works the program out further when its timeline is all applied and
    /// the process has reached where its shell stopped by `limit`.
    fn resume_if_due(&mut self, limit: VirtualTime, disk: &Fs) {
        let Some(at) = self.resume_at().filter(|at| *at <= limit) else { return };
        if self.applied < self.process.program.timeline.len() {
            return;
        }
        let Some(resume) = self.process.program.resume.take() else { return };
        let view = View { root: &self.root, mounts: &self.mounts, disk, user: &self.user };
        let mut overlay = cfs::Overlay::new(&view, wall_secs(at));
        let next = shell::resume(&resume, &mut overlay);
        let program = &mut self.process.program;
        program.timeline = next.timeline;
        program.resume = next.resume;
        program.end = next.end;
        if next.repeat.is_some() {
            program.repeat = next.repeat;
        }
        self.applied = 0;
    }

    /// Whether the process's program is to be worked out further by `now`
    /// (another walk then applies what it does next).
    fn resumes_by(&self, now: VirtualTime) -> bool {
        self.applied >= self.process.program.timeline.len() && self.resume_at().is_some_and(|at| at <= now)
    }

    /// Applies one thing the process did, against its files on `disk`.
    fn apply(&mut self, at: VirtualTime, effect: Effect, disk: &mut Fs) {
        let now_secs = wall_secs(at);
        let workdir = self.workdir.clone();
        let read = |root: &RootFs, mounts: &Mounts, disk: &Fs, path: &str| -> String {
            let view = View { root, mounts, disk, user: &identity::ROOT };
            cfs::read_file(&view, &workdir, path).unwrap_or_default()
        };
        match effect {
            Effect::Log(text) => {
                let marked = text.contains(shell::DATE_MARK) || text.contains(shell::FILE_MARK_OPEN);
                let text = if marked { shell::fill_marks(&text, &date_output(at), &mut |p| read(&self.root, &self.mounts, disk, p)).into() } else { text };
                self.push_log(at, text);
            }
            Effect::Put(path, inode) => {
                let mut inode = *inode;
                if let Kind::File(content) = &inode.kind {
                    let content = content.text();
                    if content.contains(shell::DATE_MARK) || content.contains(shell::FILE_MARK_OPEN) {
                        let filled = shell::fill_marks(&content, &date_output(at), &mut |p| read(&self.root, &self.mounts, disk, p));
                        inode.kind = Kind::File(filled.as_str().into());
                    }
                }
                let mut view = ViewMut { root: &mut self.root, mounts: &mut self.mounts, disk, now: now_secs, user: &identity::ROOT };
                let _ = view.put(&path, inode);
            }
            Effect::Attributes(path, inode) => {
                let mut view = ViewMut { root: &mut self.root, mounts: &mut self.mounts, disk, now: now_secs, user: &identity::ROOT };
                let _ = view.put_attributes(&path, *inode);
            }
            Effect::Delete(path) => {
                let mut view = ViewMut { root: &mut self.root, mounts: &mut self.mounts, disk, now: now_secs, user: &identity::ROOT };
                let _ = view.delete(&path);
            }
            Effect::Cat { paths, busybox } => {
                let mut lines = Vec::new();
                {
                    let view = View { root: &self.root, mounts: &self.mounts, disk, user: &self.user };
                    for p in &paths {
                        match cfs::read_file(&view, &workdir, p) {
                            Ok(content) => lines.extend(content.strip_suffix('\n').unwrap_or(&content).split('\n').map(str::to_string)),
                            Err(e) => lines.push(shell::cat_error(p, busybox, e)),
                        }
                    }
                }
                for l in lines {
                    self.push_log(at, l);
                }
            }
        }
    }

    /// The command the network is to evaluate, while the process waits for it.
    pub fn deferred(&self) -> Option<&DeferredProgram> {
        self.process.deferred.as_deref()
    }

    /// The network evaluated a deferred process: it runs `program` from its
    /// start. A later evaluation extends the earlier one (the same effects
    /// first), so what was applied stays applied.
    pub fn replace_program(&mut self, program: Program) {
        if self.exit.is_none() {
            self.process.deferred = None;
            self.process.program = program;
            self.applied_until = None;
        }
    }

    /// Ends an interactive main process (its shell ran `exit`).
    pub fn exit_now(&mut self, now: VirtualTime, code: i32) {
        if self.is_running() {
            self.exit = Some(Box::new(Exit { at: now, code, reason: if code == 0 { "Completed".into() } else { "Error".into() }, message: None }));
        }
    }

    /// A process id for a process started inside the container (`kubectl exec`).
    pub fn spawn_pid(&mut self) -> u32 {
        let pid = self.next_pid;
        self.next_pid = self.next_pid.saturating_add(6);
        pid
    }

    /// The container's files, for reading.
    pub fn view<'a>(&'a self, disk: &'a Fs) -> View<'a> {
        View { root: &self.root, mounts: &self.mounts, disk, user: &self.user }
    }

    /// The container's files, for writing at `now`.
    pub fn view_mut<'a>(&'a mut self, disk: &'a mut Fs, now: VirtualTime) -> ViewMut<'a> {
        ViewMut { root: &mut self.root, mounts: &mut self.mounts, disk, now: wall_secs(now), user: &self.user }
    }

    pub fn push_log(&mut self, time: VirtualTime, text: impl Into<Rc<str>>) {
        let text = text.into();
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
    pub id: HexId,
    /// One text for every sandbox in the namespace, on any node (see
    /// `volumes::shared_content`): a sandbox is then 160 bytes, one of the
    /// allocator's size classes (192 the next one up).
    pub namespace: Rc<str>,
    pub pod: String,
    pub ip: String,
    pub created_at: VirtualTime,
    /// False once stopped or after a reboot.
    pub ready: bool,
    /// It shares the node's network namespace (`hostNetwork`).
    pub host_network: bool,
    /// Every kept instance, oldest first.
    pub containers: Vec<RuntimeContainer>,
    /// Renewed whenever the runtime hands the sandbox out for change (see
    /// [`Sandbox::stamp`]).
    stamp: u64,
    /// What the last walk of its processes found (see [`Runtime::advance`]).
    idle: Idle,
    /// Handed out for change since that walk.
    dirty: bool,
}

/// Sandbox stamps, unique in the process (only ever compared for equality).
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

fn fresh_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

impl Sandbox {
    /// Equal stamps mean the same sandbox, unchanged in what a pod sync
    /// reads: every change the runtime notes as touched (see
    /// [`Runtime::take_touched`]) renews it, and a new sandbox gets its own.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

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

    /// A digest of what a pod sync reads from the sandbox (its network and
    /// each instance's life: id, attempt, start, exit, stop asked): equal
    /// digests mean the kubelet would see the same pod. Cheap, as a full
    /// sync asks it of every pod.
    pub fn sync_digest(&self) -> u64 {
        fn mix(h: u64, v: u64) -> u64 {
            (h.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
        }
        fn text(h: u64, s: &str) -> u64 {
            s.as_bytes().chunks(8).fold(mix(h, s.len() as u64), |h, c| {
                let mut word = [0u8; 8];
                word[..c.len()].copy_from_slice(c);
                mix(h, u64::from_le_bytes(word))
            })
        }
        let time = |t: Option<VirtualTime>| t.map_or(u64::MAX, |t| t.as_millis());
        let mut h = self.id.words().into_iter().fold(0, mix);
        h = text(h, &self.ip);
        h = mix(h, self.ready as u64 | (self.host_network as u64) << 1 | (self.containers.len() as u64) << 2);
        for c in &self.containers {
            h = c.id.words().into_iter().fold(h, mix);
            h = mix(h, c.attempt as u64);
            h = mix(h, time(c.started_at));
            h = mix(h, time(c.stop_requested));
            h = mix(h, time(c.stop_deadline));
            if let Some(e) = &c.exit {
                h = mix(h, e.at.as_millis());
                h = mix(h, e.code as u64);
                h = text(h, &e.reason);
                h = text(h, e.message.as_deref().unwrap_or(""));
            }
        }
        h
    }
}

#[derive(Debug)]
pub struct Runtime {
    pub flavor: Flavor,
    images: BTreeMap<String, CachedImage>,
    /// Sandboxes by pod UID, boxed: a B-tree leaf has eleven slots, and a
    /// node with a few pods (its DaemonSets') would fill one with mostly
    /// empty sandbox-sized slots.
    sandboxes: BTreeMap<String, Box<Sandbox>>,
    /// Pods whose sandbox may have changed since the kubelet last took the
    /// list ([`Runtime::take_touched`]): every way to change a sandbox goes
    /// through the runtime, which notes the pod here, so the kubelet need
    /// not look at every sandbox to tell which pods to sync again.
    touched: Vec<String>,
    /// Any sandbox may have changed (a fresh runtime, or more changes
    /// than `touched` keeps while no kubelet takes them).
    touched_all: bool,
    /// Bumped whenever an image is added.
    image_revision: u64,
    /// The node status's image list, for the image revision and flavor it
    /// was made for: a node reports its images every status update, and
    /// they change only when one is pulled.
    reported_images: std::cell::RefCell<Option<(u64, Flavor, Rc<[ContainerImage]>)>>,
    /// Until when no process has anything due, and the earliest change by
    /// itself ([`Runtime::next_change`]), as the last full advance found
    /// them; `None` once a sandbox is handed out for change.
    idle: Option<Idle>,
    cidr_base: u32,
    cidr_hosts: u32,
    next_ip: u32,
    /// Containers started whose processes are API clients, for the network
    /// to pick up (uid, container name, container id).
    pub started_clients: Vec<(String, String, String)>,
    /// Containers started whose processes loop over network requests, for
    /// the network to run (uid, container name, container id, start, loop).
    pub started_talkers: Vec<(String, String, String, VirtualTime, crate::engine::network::talkers::Loop)>,
    /// Containers started whose processes wait for the network to evaluate
    /// them (uid, container name, container id, start, command).
    pub started_scripts: Vec<(String, String, String, VirtualTime, DeferredProgram)>,
}

impl Runtime {
    /// A runtime with no images, sandboxes or addresses.
    pub fn vacant() -> Self {
        Runtime { flavor: Flavor::Containerd, images: BTreeMap::new(), sandboxes: BTreeMap::new(), touched: Vec::new(), touched_all: true, image_revision: 0, reported_images: Default::default(), idle: None, cidr_base: 0, cidr_hosts: 0, next_ip: 1, started_clients: Vec::new(), started_talkers: Vec::new(), started_scripts: Vec::new() }
    }

    pub fn new(flavor: Flavor, pod_cidr: &str, control_plane: bool) -> Self {
        let (base, prefix) = parse_cidr(pod_cidr).unwrap_or((0x0af4_0000, 24));
        let hosts = if prefix >= 31 { 1 } else { (1u64 << (32 - prefix)).saturating_sub(2).min(u32::MAX as u64) as u32 };
        let mut rt = Runtime { flavor, images: BTreeMap::new(), sandboxes: BTreeMap::new(), touched: Vec::new(), touched_all: true, image_revision: 0, reported_images: Default::default(), idle: None, cidr_base: base, cidr_hosts: hosts, next_ip: 1, started_clients: Vec::new(), started_talkers: Vec::new(), started_scripts: Vec::new() };
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
        // The installer's add-ons come preloaded too: kind's node image
        // carries kindnet and local-path-provisioner, minikube's preload
        // tarball its storage-provisioner.
        match flavor {
            Flavor::Containerd => preloaded.extend([
                ("docker.io/kindest/kindnetd:v20250512-df8de77b", 44_375_501),
                ("docker.io/kindest/local-path-provisioner:v20250214-acbabc1a", 22_541_737),
                ("docker.io/kindest/local-path-helper:v20241212-8ac705d0", 3_084_671),
            ]),
            Flavor::Docker => preloaded.push(("gcr.io/k8s-minikube/storage-provisioner:v5", 31_465_472)),
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
        let image = CachedImage { name, size_bytes };
        match self.images.insert(image.name.canonical(), image) {
            None => self.image_revision += 1,
            // The same canonical name written another way: what the node
            // reports may differ though no image was added.
            Some(old) if self.images.get(&old.name.canonical()) != Some(&old) => *self.reported_images.get_mut() = None,
            Some(_) => {}
        }
    }

    /// The canonical names (`repository:tag` or `repository@digest`, the
    /// repository in full) of the images on the node, in name order.
    pub fn image_names(&self) -> impl Iterator<Item = &str> {
        self.images.keys().map(String::as_str)
    }

    /// Changes whenever an image is added.
    pub fn image_revision(&self) -> u64 {
        self.image_revision
    }

    /// The node status's image list: `make`'s, made again only once an
    /// image was added or the flavor changed since it was last made.
    /// Nodes with the same images share the one list kept.
    pub fn reported_images(&self, make: impl FnOnce() -> Vec<ContainerImage>) -> Vec<ContainerImage> {
        thread_local! {
            static LAST_MADE: std::cell::RefCell<Option<Rc<[ContainerImage]>>> = const { std::cell::RefCell::new(None) };
        }
        let mut kept = self.reported_images.borrow_mut();
        match &*kept {
            Some((revision, flavor, images)) if *revision == self.image_revision && *flavor == self.flavor => images.to_vec(),
            _ => {
                let images = make();
                let shared = LAST_MADE.with(|last| {
                    let mut last = last.borrow_mut();
                    match &*last {
                        Some(list) if **list == *images => Rc::clone(list),
                        _ => {
                            let list: Rc<[ContainerImage]> = Rc::from(images.as_slice());
                            *last = Some(Rc::clone(&list));
                            list
                        }
                    }
                });
                *kept = Some((self.image_revision, self.flavor, shared));
                images
            }
        }
    }

    /// Images on the node, largest first (as the kubelet reports them).
    pub fn images(&self) -> Vec<&CachedImage> {
        // The map is in canonical-name order (its key is the canonical
        // name), so a stable sort by size leaves equal sizes in name order
        // without making each name again per comparison.
        let mut all: Vec<&CachedImage> = self.images.values().collect();
        all.sort_stable_by(|a, b| b.size_bytes.cmp(&a.size_bytes));
        debug_assert!(
            all.windows(2).all(|w| w[0].size_bytes > w[1].size_bytes || (w[0].size_bytes == w[1].size_bytes && w[0].name.canonical() < w[1].name.canonical())),
            "images largest first, then by canonical name"
        );
        all
    }

    pub fn sandbox(&self, uid: &str) -> Option<&Sandbox> {
        self.sandboxes.get(uid).map(|s| &**s)
    }

    pub fn sandbox_mut(&mut self, uid: &str) -> Option<&mut Sandbox> {
        let sandbox = self.sandboxes.get_mut(uid)?;
        note_touched(&mut self.touched, &mut self.touched_all, uid);
        sandbox.stamp = fresh_stamp();
        sandbox.dirty = true;
        self.idle = None;
        Some(&mut **sandbox)
    }

    pub fn sandboxes(&self) -> impl Iterator<Item = (&String, &Sandbox)> {
        self.sandboxes.iter().map(|(uid, sandbox)| (uid, &**sandbox))
    }

    /// Every sandbox, to change: each one the caller is handed counts as touched.
    pub fn sandboxes_mut(&mut self) -> impl Iterator<Item = (&String, &mut Sandbox)> {
        self.idle = None;
        let (touched, all) = (&mut self.touched, &mut self.touched_all);
        self.sandboxes.iter_mut().map(move |(uid, sandbox)| {
            note_touched(touched, all, uid);
            sandbox.stamp = fresh_stamp();
            sandbox.dirty = true;
            (uid, &mut **sandbox)
        })
    }

    /// The pods whose sandbox may have changed since the last call, or
    /// `None` when any may have.
    pub fn take_touched(&mut self) -> Option<Vec<String>> {
        if std::mem::take(&mut self.touched_all) {
            self.touched.clear();
            return None;
        }
        Some(std::mem::take(&mut self.touched))
    }

    /// Whether a sandbox changed since the last [`Runtime::take_touched`].
    pub fn any_touched(&self) -> bool {
        self.touched_all || !self.touched.is_empty()
    }

    /// Creates (or re-creates) a pod's sandbox with a fresh IP from the node's pod CIDR.
    pub fn run_sandbox(&mut self, uid: &str, namespace: &str, pod: &str, now: VirtualTime, rng: &mut fastrand::Rng) -> String {
        // Allocated while the sandbox it replaces still holds its address.
        let ip = self.allocate_ip();
        self.put_sandbox(uid, namespace, pod, &ip, false, now, rng);
        ip
    }

    /// Creates (or re-creates) the sandbox of a `hostNetwork` pod: it shares
    /// the node's network namespace, so its address is the node's.
    pub fn run_host_sandbox(&mut self, uid: &str, namespace: &str, pod: &str, host_ip: &str, now: VirtualTime, rng: &mut fastrand::Rng) -> String {
        self.put_sandbox(uid, namespace, pod, host_ip, true, now, rng);
        host_ip.to_string()
    }

    /// A new ready sandbox for the pod, keeping the containers of the one it replaces.
    #[allow(clippy::too_many_arguments)]
    fn put_sandbox(&mut self, uid: &str, namespace: &str, pod: &str, ip: &str, host_network: bool, now: VirtualTime, rng: &mut fastrand::Rng) {
        note_touched(&mut self.touched, &mut self.touched_all, uid);
        self.idle = None;
        let id = HexId::random(rng);
        let containers = self.sandboxes.remove(uid).map(|s| s.containers).unwrap_or_default();
        self.sandboxes.insert(
            uid.to_string(),
            Box::new(Sandbox { id, namespace: super::volumes::shared_content(namespace), pod: pod.to_string(), ip: ip.to_string(), created_at: now, ready: true, host_network, containers, stamp: fresh_stamp(), idle: Idle::NEVER, dirty: true }),
        );
    }

    /// The running containers of a cluster program fail at `now` with exit
    /// code 1: its component was stopped (see `node::programs`).
    pub fn crash_program(&mut self, program: &str, now: VirtualTime, disk: &mut Fs) {
        self.advance(now, disk);
        for (uid, sandbox) in self.sandboxes.iter_mut() {
            let mut crashed = false;
            for c in &mut sandbox.containers {
                if c.is_running() && super::programs::program_of(&c.image) == Some(program) {
                    c.exit = Some(Box::new(Exit { at: now, code: 1, reason: "Error".into(), message: None }));
                    crashed = true;
                }
            }
            if crashed {
                note_touched(&mut self.touched, &mut self.touched_all, uid);
                sandbox.stamp = fresh_stamp();
                sandbox.dirty = true;
                self.idle = None;
            }
        }
    }

    /// Stops a sandbox: its network goes, its exited containers stay for logs.
    pub fn stop_sandbox(&mut self, uid: &str) {
        if let Some(s) = self.sandboxes.get_mut(uid).filter(|s| s.ready) {
            s.ready = false;
            note_touched(&mut self.touched, &mut self.touched_all, uid);
            s.stamp = fresh_stamp();
            s.dirty = true;
            self.idle = None;
        }
    }

    pub fn remove_sandbox(&mut self, uid: &str) {
        if self.sandboxes.remove(uid).is_some() {
            note_touched(&mut self.touched, &mut self.touched_all, uid);
            self.idle = None;
        }
    }

    fn allocate_ip(&mut self) -> String {
        // host-local IPAM hands out addresses in order after the gateway (.1).
        // The next address is nearly always free: the addresses in use are
        // gathered into a set only once it is not.
        let mut in_use: Option<std::collections::BTreeSet<&str>> = None;
        for _ in 0..self.cidr_hosts.max(1) {
            self.next_ip = if self.next_ip >= self.cidr_hosts { 2.min(self.cidr_hosts) } else { self.next_ip + 1 };
            let ip = format_ip(self.cidr_base.wrapping_add(self.next_ip));
            let taken = match &in_use {
                Some(set) => set.contains(ip.as_str()),
                None => {
                    let taken = self.sandboxes.values().any(|s| s.ready && s.ip == ip);
                    if taken {
                        in_use = Some(crate::engine::sort::insert_all(self.sandboxes.values().filter(|s| s.ready).map(|s| s.ip.as_str())));
                    }
                    taken
                }
            };
            if !taken {
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
        setup: ContainerSetup,
        process: Result<ProcessSpec, String>,
        now: VirtualTime,
        rng: &mut fastrand::Rng,
    ) -> Result<String, String> {
        let flavor = self.flavor;
        let Some(sandbox) = self.sandboxes.get_mut(uid) else {
            return Err("sandbox not found".into());
        };
        note_touched(&mut self.touched, &mut self.touched_all, uid);
        sandbox.stamp = fresh_stamp();
        sandbox.dirty = true;
        self.idle = None;
        let id = HexId::random(rng);
        let (started_at, exit, process) = match process {
            Ok(p) => (Some(now), None, p),
            Err(why) => {
                let message = match flavor {
                    Flavor::Containerd => format!("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {why}: unknown"),
                    Flavor::Docker => format!("failed to start container \"{id}\": Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {why}: unknown"),
                };
                let exit = Exit { at: now, code: 128, reason: "StartError".into(), message: Some(message) };
                let idle = ProcessSpec { program: Program::forever(vec![]), serves: vec![], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None };
                (None, Some(exit), idle)
            }
        };
        let failed = exit.as_ref().and_then(|e| e.message.clone());
        let base = setup.base.unwrap_or_else(|| images::base_of(&image));
        // The lines a process prints as it starts are known now: the log
        // (kept for the container's life) gets room for exactly those.
        let first_lines = process.program.timeline.iter().take_while(|t| t.at_ms == 0).filter(|t| matches!(t.effect, Effect::Log(_))).count().min(LOG_LINES_LIMIT);
        let container = RuntimeContainer {
            id,
            name: name.to_string(),
            attempt,
            spec_hash: setup.spec_hash,
            termination: setup.termination.clone(),
            image: shared_image(image),
            created_at: now,
            started_at,
            exit: exit.map(Box::new),
            extensible: process.deferred.is_some(),
            process,
            applied: 0,
            repeats_done: 0,
            stop_requested: None,
            stop_deadline: None,
            http_requests: 0,
            logs: Log::awaiting(first_lines),
            logs_dropped: 0,
            root: setup.root,
            mounts: setup.mounts,
            env: setup.env,
            workdir: super::volumes::shared_content(if setup.workdir.is_empty() { "/" } else { &setup.workdir }),
            base,
            command_line: super::volumes::shared_content(&setup.command_line),
            user: setup.user,
            next_pid: 7,
            interactive: setup.interactive,
            applied_until: None,
            app: AppState::None,
            cpu: CpuUsage::default(),
            host_ports: Vec::new(),
        };
        // A pod's instances are few and each is large: grow one at a time.
        sandbox.containers.reserve_exact(1);
        sandbox.containers.push(container);
        // Keep only the newest instances of this name (container GC).
        let count = sandbox.containers.iter().filter(|c| c.name == name).count();
        if count > INSTANCES_KEPT {
            if let Some(pos) = sandbox.containers.iter().position(|c| c.name == name) {
                sandbox.containers.remove(pos);
            }
        }
        match failed {
            Some(message) => Err(message),
            None => Ok(id.to_string()),
        }
    }

    /// Brings every process up to `now`, applying what they did in time
    /// order (containers of a pod share volumes; hostPath data is shared
    /// across pods). Only sandboxes handed out for change since their last
    /// walk, or with something due by `now`, are walked: the others' walk
    /// would only note how far each process got (debug builds walk them
    /// and check).
    pub fn advance(&mut self, now: VirtualTime, disk: &mut Fs) {
        if self.idle.is_some_and(|idle| now.as_millis() < idle.until) {
            if cfg!(debug_assertions) {
                let idle = self.idle;
                let touched = (self.touched.clone(), self.touched_all);
                self.walk(now, disk);
                assert!(self.idle == idle && (self.touched.clone(), self.touched_all) == touched, "the runtime passed over a walk that had something due");
            }
            return;
        }
        // A program worked out further in a walk is applied, and worked
        // out again, in the next (a long stretch of time: one walk per
        // stretch of its loop; a loop that never sleeps ends in a few).
        for _ in 0..WALKS_PER_ADVANCE {
            if !self.walk(now, disk) {
                break;
            }
        }
    }

    /// Brings the sandboxes that need it up to `now` (see [`Runtime::advance`]);
    /// whether a process is to be worked out further by `now`.
    fn walk(&mut self, now: VirtualTime, disk: &mut Fs) -> bool {
        let mut due: Vec<(VirtualTime, usize, usize, usize, Effect)> = Vec::new();
        // Containers that exited in this walk: their termination messages
        // are read once what they wrote is on the disk.
        let mut ended: Vec<(usize, usize)> = Vec::new();
        let mut seq = 0;
        let mut all = Idle::NEVER;
        let mut again = false;
        for (si, (uid, sandbox)) in self.sandboxes.iter_mut().enumerate() {
            let pending = sandbox.dirty || sandbox.idle.until <= now.as_millis();
            if pending || cfg!(debug_assertions) {
                let (effects, mut exited) = (due.len(), false);
                let mut idle = Idle::NEVER;
                for (ci, c) in sandbox.containers.iter_mut().enumerate() {
                    // Of what a pod sync reads, moving a process on changes only its exit.
                    let had_exited = c.exit.is_some();
                    for (at, effect) in c.take_due(now, Some(disk)) {
                        due.push((at, si, ci, seq, effect));
                        seq += 1;
                    }
                    again |= c.resumes_by(now);
                    if c.exit.is_some() != had_exited {
                        note_touched(&mut self.touched, &mut self.touched_all, uid);
                        exited = true;
                        ended.push((si, ci));
                    }
                    idle.note(c.next_due(), c.next_change());
                }
                if exited {
                    sandbox.stamp = fresh_stamp();
                }
                debug_assert!(pending || (due.len() == effects && !exited && idle == sandbox.idle), "the runtime passed over a sandbox that had something due");
                sandbox.idle = idle;
                sandbox.dirty = false;
            }
            all.until = all.until.min(sandbox.idle.until);
            all.next_change = all.next_change.min(sandbox.idle.next_change);
        }
        // Applying the effects changes files and logs, not what is due.
        self.idle = Some(all);
        if due.is_empty() && ended.is_empty() {
            return again;
        }
        due.sort_stable_by(|a, b| (a.0, a.3).cmp(&(b.0, b.3)));
        let mut sandboxes: Vec<&mut Sandbox> = self.sandboxes.values_mut().map(|s| &mut **s).collect();
        for (at, si, ci, _, effect) in due {
            if let Some(c) = sandboxes.get_mut(si).and_then(|s| s.containers.get_mut(ci)) {
                c.apply(at, effect, disk);
            }
        }
        for (si, ci) in ended {
            if let Some(c) = sandboxes.get_mut(si).and_then(|s| s.containers.get_mut(ci)) {
                if let Some(message) = c.termination_message(disk) {
                    if let Some(exit) = c.exit.as_mut() {
                        exit.message = Some(match exit.message.take() {
                            Some(own) if !own.is_empty() => format!("{own}: {message}"),
                            _ => message,
                        });
                    }
                }
            }
        }
        again
    }

    /// The earliest instant a process changes by itself.
    pub fn next_change(&self) -> Option<VirtualTime> {
        let walked = |s: &Box<Sandbox>| s.containers.iter().filter_map(RuntimeContainer::next_change).min();
        let at = match self.idle {
            Some(idle) => {
                debug_assert_eq!(idle.next_change_at(), self.sandboxes.values().filter_map(walked).min(), "the runtime's idle note is behind its processes");
                return idle.next_change_at();
            }
            None => self.sandboxes.values().filter_map(|s| if s.dirty { walked(s) } else { s.idle.next_change_at() }).min(),
        };
        debug_assert_eq!(at, self.sandboxes.values().filter_map(walked).min(), "a sandbox's idle note is behind its processes");
        at
    }

    /// After a power cycle: processes that were running are found dead, as
    /// containerd reports them on recovery; sandboxes have lost their network.
    pub fn recover_after_power_loss(&mut self, lost_at: VirtualTime, now: VirtualTime, disk: &mut Fs) {
        self.advance(lost_at, disk);
        self.touched_all = true;
        self.idle = None;
        for sandbox in self.sandboxes.values_mut() {
            sandbox.ready = false;
            sandbox.stamp = fresh_stamp();
            sandbox.dirty = true;
            for c in &mut sandbox.containers {
                if c.exit.is_none() {
                    let at = if c.started_at.is_some() { now } else { c.created_at };
                    c.exit = Some(Box::new(Exit { at, code: 255, reason: "Unknown".into(), message: None }));
                }
            }
        }
    }
}

/// What a walk of processes found, in virtual milliseconds (`u64::MAX`:
/// never): a sandbox carries its own, the runtime the earliest of all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Idle {
    /// No process has anything due before this instant.
    until: u64,
    /// The earliest instant a process changes by itself.
    next_change: u64,
}

impl Idle {
    const NEVER: Idle = Idle { until: u64::MAX, next_change: u64::MAX };

    fn note(&mut self, due: Option<VirtualTime>, change: Option<VirtualTime>) {
        self.until = due.map_or(self.until, |t| self.until.min(t.as_millis()));
        self.next_change = change.map_or(self.next_change, |t| self.next_change.min(t.as_millis()));
    }

    fn next_change_at(&self) -> Option<VirtualTime> {
        (self.next_change != u64::MAX).then(|| VirtualTime::from_millis(self.next_change))
    }
}

/// Most pods' sandboxes change a few times in their life: a longer list
/// means no kubelet is taking it, and then any may have changed.
const TOUCHED_KEPT: usize = 4096;

fn note_touched(touched: &mut Vec<String>, all: &mut bool, uid: &str) {
    if *all {
        return;
    }
    if touched.len() >= TOUCHED_KEPT {
        touched.clear();
        *all = true;
        return;
    }
    touched.push(uid.to_string());
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

/// A container's or sandbox's id: 64 hex digits kept as 32 bytes and
/// written out when read (shown, compared with a text); it orders as its
/// text does. Drawn from the random source exactly as [`random_hex`]
/// draws 64 digits (both through [`random_digit`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HexId([u8; 32]);

impl HexId {
    fn random(rng: &mut fastrand::Rng) -> Self {
        let mut bytes = [0u8; 32];
        for b in &mut bytes {
            let high = random_digit(rng);
            let low = random_digit(rng);
            *b = high << 4 | low;
        }
        HexId(bytes)
    }

    /// The hex digits, as ASCII bytes.
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().flat_map(|b| [HEX_DIGITS[(b >> 4) as usize], HEX_DIGITS[(b & 15) as usize]])
    }

    /// `<scheme>://<id>`, as a container status names the container;
    /// joined, not formatted: every status of every container writes it.
    pub fn uri(&self, scheme: &str) -> String {
        let mut uri = String::with_capacity(scheme.len() + 3 + 64);
        uri.push_str(scheme);
        uri.push_str("://");
        uri.extend(self.digits().map(char::from));
        uri
    }

    /// The id as 64 words' worth of hashing input, for digests.
    fn words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (i, c) in self.0.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            w[i] = u64::from_le_bytes(word);
        }
        w
    }
}

impl std::fmt::Display for HexId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = [0u8; 64];
        for (t, d) in text.iter_mut().zip(self.digits()) {
            *t = d;
        }
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

impl std::fmt::Debug for HexId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl PartialEq<str> for HexId {
    fn eq(&self, other: &str) -> bool {
        other.len() == 64 && self.digits().eq(other.bytes())
    }
}

impl PartialEq<String> for HexId {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// One hex digit's value (0-15), one draw of the random source.
fn random_digit(rng: &mut fastrand::Rng) -> u8 {
    rng.usize(..16) as u8
}

pub fn random_hex(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| HEX_DIGITS[random_digit(rng) as usize] as char).collect()
}

/// Unix seconds of a virtual instant.
pub fn wall_secs(t: VirtualTime) -> i64 {
    EPOCH_SECONDS + (t.as_millis() / 1000) as i64
}

fn wall(t: VirtualTime) -> k8s_openapi::jiff::Zoned {
    let ms = EPOCH_SECONDS as i128 * 1000 + t.as_millis() as i128;
    Timestamp::from_millisecond(ms as i64).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC)
}

/// A file's modification time as GNU diff's `---`/`+++` lines print it:
/// `2026-01-01 00:01:00.000000000 +0000`.
pub fn diff_file_time(t: VirtualTime) -> String {
    format!("{}.{:03}000000 +0000", wall(t).strftime("%Y-%m-%d %H:%M:%S"), t.as_millis() % 1000)
}

/// What busybox/coreutils `date` prints: `Thu Jan  1 00:00:05 UTC 2026`.
pub fn date_output(t: VirtualTime) -> String {
    wall(t).strftime("%a %b %e %H:%M:%S UTC %Y").to_string()
}

/// What a catalogue process' start-up lines put in for their marks, each formatted
/// once for all the lines that have it (nginx prints eight with `{time}`).
pub struct StartupMarks<'a> {
    t: VirtualTime,
    hostname: &'a str,
    ip: &'a str,
    zoned: std::cell::OnceCell<k8s_openapi::jiff::Zoned>,
    /// `{time}`, `{apache_time}`, `{redis_time}`, `{iso_time}`, `{date}`.
    times: [std::cell::OnceCell<String>; 5],
}

impl<'a> StartupMarks<'a> {
    pub fn new(t: VirtualTime, hostname: &'a str, ip: &'a str) -> Self {
        StartupMarks { t, hostname, ip, zoned: std::cell::OnceCell::new(), times: Default::default() }
    }

    fn time(&self, i: usize) -> &str {
        self.times[i].get_or_init(|| {
            let z = self.zoned.get_or_init(|| wall(self.t));
            match i {
                0 => z.strftime("%Y/%m/%d %H:%M:%S").to_string(),
                1 => z.strftime("%a %b %d %H:%M:%S%.6f %Y").to_string(),
                2 => z.strftime("%d %b %Y %H:%M:%S%.3f").to_string(),
                3 => z.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
                _ => date_output(self.t),
            }
        })
    }

    /// `line` with its placeholders filled in, in one pass: the same as
    /// replacing each mark in turn ([`Self::render_by_replacing`]), as the
    /// marks cannot overlap (each has its one `{` first) and no value
    /// but a hostname could hold a `{` (times are digits, names and
    /// punctuation; an IP address digits and dots), so no replacement
    /// makes a mark a later one would fill. A hostname with a `{` (not a
    /// DNS name: not seen) goes the long way.
    pub fn render(&self, line: &str) -> String {
        const MARKS: [&str; 7] = ["{time}", "{apache_time}", "{redis_time}", "{iso_time}", "{date}", "{hostname}", "{ip}"];
        if self.hostname.contains('{') {
            return self.render_by_replacing(line);
        }
        let mut out = String::with_capacity(line.len() + 32);
        let mut rest = line;
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            match MARKS.iter().position(|mark| tail.starts_with(mark)) {
                Some(i) => {
                    out.push_str(match i {
                        5 => self.hostname,
                        6 => self.ip,
                        _ => self.time(i),
                    });
                    rest = &tail[MARKS[i].len()..];
                }
                None => {
                    out.push('{');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        debug_assert_eq!(out, self.render_by_replacing(line), "a start-up line rendered in one pass");
        out
    }

    /// `line` with each mark replaced in turn, in this order.
    fn render_by_replacing(&self, line: &str) -> String {
        if !line.contains('{') {
            return line.to_string();
        }
        let mut out = line.to_string();
        for (i, mark) in ["{time}", "{apache_time}", "{redis_time}", "{iso_time}", "{date}"].into_iter().enumerate() {
            if out.contains(mark) {
                out = out.replace(mark, self.time(i));
            }
        }
        for (mark, value) in [("{hostname}", self.hostname), ("{ip}", self.ip)] {
            if out.contains(mark) {
                out = out.replace(mark, value);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::commands::{PodIdentity, SystemInfo};
    use crate::engine::node::container_fs::Overlay;
    use crate::engine::node::rootfs;
    use crate::engine::node::shell::{compile_script, Host};
    use crate::engine::node::filesystem::Inode;

    #[test]
    fn a_sandbox_fits_in_160_bytes() {
        // 160 is one of the allocator's size classes (192 the next one up);
        // only 64-bit targets are measured.
        if std::mem::size_of::<usize>() == 8 {
            assert!(std::mem::size_of::<Sandbox>() <= 160, "{}", std::mem::size_of::<Sandbox>());
        }
    }

    #[test]
    fn the_reported_image_list_is_made_again_once_the_images_change() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let made = std::cell::Cell::new(0);
        let report = |rt: &Runtime| {
            rt.reported_images(|| {
                made.set(made.get() + 1);
                rt.images().iter().map(|i| ContainerImage { names: Some(vec![images::digest_of(&i.name)]), size_bytes: Some(i.size_bytes as i64) }).collect()
            })
        };
        let first = report(&rt);
        assert_eq!(report(&rt), first);
        assert_eq!(made.get(), 1, "kept while no image is added");
        rt.add_image(images::parse_image("nginx:1.27").unwrap(), 10);
        let second = report(&rt);
        assert_eq!((made.get(), second.len()), (2, first.len() + 1));
        rt.add_image(images::parse_image("nginx:1.27").unwrap(), 10);
        assert_eq!(report(&rt), second);
        assert_eq!(made.get(), 2, "the same image again changes nothing");
        // The same canonical name with a digest: reported otherwise, though no image was added.
        rt.add_image(images::parse_image("nginx:1.27@sha256:0123").unwrap(), 10);
        let third = report(&rt);
        assert_eq!(made.get(), 3);
        assert_ne!(third, second);
        rt.flavor = Flavor::Docker;
        report(&rt);
        assert_eq!(made.get(), 4, "made again for another flavor");
    }

    #[test]
    fn an_id_as_a_status_names_it_is_its_scheme_and_digits() {
        let mut rng = fastrand::Rng::with_seed(7);
        let id = HexId::random(&mut rng);
        assert_eq!(id.uri("containerd"), format!("containerd://{id}"));
        assert_eq!(id.uri("docker").len(), "docker://".len() + 64);
    }

    fn spec(script: &str) -> ProcessSpec {
        spec_in(script, &setup(), &Fs::new())
    }

    fn spec_in(script: &str, setup: &ContainerSetup, disk: &Fs) -> ProcessSpec {
        let view = View { root: &setup.root, mounts: &setup.mounts, disk, user: &setup.user };
        let mut overlay = Overlay::new(&view, 0);
        let info = SystemInfo { hostname: "p".into(), base: Base::Busybox, kernel: String::new(), now: None, processes: vec![], mounts: vec![], tty: false, pod: PodIdentity::default() };
        let program = compile_script(script, vec![], Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None }, "/");
        ProcessSpec { program, serves: vec![], stops_on_sigterm: false, fails_after_requests: None, deferred: None, hog: None }
    }

    fn setup() -> ContainerSetup {
        let image = images::parse_image("busybox").unwrap();
        ContainerSetup { root: RootFs::new(rootfs::image_root(&image), false), ..Default::default() }
    }

    #[test]
    fn first_lines_are_shared_and_rotate_and_continue_as_their_own() {
        let line = |t: u64, text: &Rc<str>| LogLine { time: VirtualTime::from_secs(t), text: text.clone() };
        let texts: Vec<Rc<str>> = ["a", "b", "c"].into_iter().map(Rc::from).collect();
        let (mut one, mut two) = (Log::awaiting(3), Log::awaiting(3));
        for t in &texts {
            one.push_back(line(5, t));
            two.push_back(line(7, t));
        }
        assert!(Rc::ptr_eq(&one.head, &two.head) && one.tail.is_empty());
        let shown = |log: &Log| log.iter().map(|l| (l.time.as_millis() / 1000, l.text.to_string())).collect::<Vec<_>>();
        let s = |t: u64, x: &str| (t, x.to_string());
        assert_eq!(shown(&two), vec![s(7, "a"), s(7, "b"), s(7, "c")]);
        one.push_back(line(9, &Rc::from("d")));
        one.pop_front();
        assert_eq!((shown(&one), one.len()), (vec![s(5, "b"), s(5, "c"), s(9, "d")], 3));
        // A partial last line continued: the first lines become its own.
        two.back_mut().unwrap().text = Rc::from("c+");
        assert_eq!(shown(&two), vec![s(7, "a"), s(7, "b"), s(7, "c+")]);
        assert_eq!(shown(&one), vec![s(5, "b"), s(5, "c"), s(9, "d")]);
        // First lines at different instants stay the container's own.
        let mut apart = Log::awaiting(2);
        apart.push_back(line(1, &texts[0]));
        apart.push_back(line(2, &texts[1]));
        assert!(apart.head.is_empty());
        assert_eq!((shown(&apart), apart.is_empty()), (vec![s(1, "a"), s(2, "b")], false));
        for _ in 0..3 {
            apart.pop_front();
            one.pop_front();
        }
        assert!(apart.is_empty() && one.is_empty() && one.iter().next().is_none());
    }

    #[test]
    fn environments_share_their_list_but_for_the_hostname() {
        let map = |host: &str| -> IndexMap<String, String> {
            [("PATH", "/bin"), ("HOSTNAME", host), ("A", "1"), ("HOME", "/root")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let (a, b) = (Environment::from(map("web-1")), Environment::from(map("web-2")));
        assert!(Rc::ptr_eq(&a.vars, &b.vars));
        assert_eq!(a.to_map(), map("web-1"));
        assert_eq!(b.to_map(), map("web-2"));
        assert_eq!((a.get("HOSTNAME"), b.get("HOSTNAME"), a.get("A"), a.get("B")), (Some("web-1"), Some("web-2"), Some("1"), None));
        assert_ne!(a, b);
        assert_eq!(a, Environment::from(map("web-1")));
        // Without the variable, and with other values: kept apart.
        let mut other = map("web-1");
        other.shift_remove("HOSTNAME");
        let c = Environment::from(other.clone());
        assert_eq!((c.to_map(), c.get("HOSTNAME")), (other, None));
        assert!(!Rc::ptr_eq(&a.vars, &c.vars));
        let mut changed = map("web-1");
        changed.insert("A".into(), "2".into());
        assert_eq!(Environment::from(changed.clone()).to_map(), changed);
        assert_eq!(Environment::default().iter().count(), 0);
    }

    #[test]
    fn startup_lines_render_in_one_pass_as_by_replacing() {
        let t = VirtualTime::from_millis(93_100);
        let marks = StartupMarks::new(t, "web-7d4b9c-x2x9z", "10.244.1.7");
        for line in [
            "",
            "plain",
            "{time} [notice] 1#1: start worker processes",
            "{{time}} {time}{date}{iso_time} {redis_time}|{apache_time}",
            "host {hostname} at {ip}:80 {hostname}",
            "{unknown} {time {hostname",
            "ends with {",
            "é{ip}ü{time}",
            "{version} stays",
        ] {
            assert_eq!(marks.render(line), marks.render_by_replacing(line), "{line:?}");
        }
        let odd = StartupMarks::new(t, "a{ip}b", "10.0.0.1");
        assert_eq!(odd.render("{hostname}"), "a10.0.0.1b");
    }

    #[test]
    fn allocates_pod_ips_in_order_from_the_cidr() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng), "10.244.1.2");
        assert_eq!(rt.run_sandbox("b", "default", "b", VirtualTime::ZERO, &mut rng), "10.244.1.3");
    }

    #[test]
    fn passes_over_addresses_in_use_after_the_range_wraps() {
        // A /29 has six hosts: .2 to .6 after the gateway, then back to .2.
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/29", false);
        let mut rng = fastrand::Rng::with_seed(1);
        let mut got = Vec::new();
        for pod in ["a", "b", "c", "d", "e"] {
            got.push(rt.run_sandbox(pod, "default", pod, VirtualTime::ZERO, &mut rng));
        }
        assert_eq!(got, ["10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"]);
        // .3 and .5 are given back; the next two wrap past the rest in use.
        rt.stop_sandbox("b");
        rt.stop_sandbox("d");
        assert_eq!(rt.run_sandbox("f", "default", "f", VirtualTime::ZERO, &mut rng), "10.244.1.3");
        assert_eq!(rt.run_sandbox("g", "default", "g", VirtualTime::ZERO, &mut rng), "10.244.1.5");
        // Every address in use: the one the walk ended on, as before.
        assert_eq!(rt.run_sandbox("h", "default", "h", VirtualTime::ZERO, &mut rng), "10.244.1.6");
    }

    #[test]
    fn notes_every_sandbox_handed_out_for_change() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut rng = fastrand::Rng::with_seed(1);
        // A fresh runtime: any sandbox may be new to whoever asks.
        assert_eq!(rt.take_touched(), None);
        assert!(!rt.any_touched());
        rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng);
        rt.run_sandbox("b", "default", "b", VirtualTime::ZERO, &mut rng);
        assert_eq!(rt.take_touched(), Some(vec!["a".to_string(), "b".to_string()]));
        // Reading changes nothing; asking to change does.
        let _ = rt.sandbox("a");
        assert!(!rt.any_touched());
        let _ = rt.sandbox_mut("b");
        assert_eq!(rt.take_touched(), Some(vec!["b".to_string()]));
        // Stopping a stopped sandbox changes nothing a pod sync reads.
        rt.stop_sandbox("a");
        rt.stop_sandbox("a");
        assert_eq!(rt.take_touched(), Some(vec!["a".to_string()]));
        // Only the sandboxes an iteration hands out count.
        let _ = rt.sandboxes_mut().find(|(uid, _)| uid.as_str() == "a");
        assert_eq!(rt.take_touched(), Some(vec!["a".to_string()]));
        // Nobody taking the notes: past the bound, any may have changed.
        for _ in 0..=TOUCHED_KEPT {
            let _ = rt.sandbox_mut("a");
        }
        assert_eq!(rt.take_touched(), None);
        assert_eq!(rt.take_touched(), Some(vec![]));
    }

    #[test]
    fn processes_run_lazily_and_stop_on_signals() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut disk = Fs::new();
        let mut rng = fastrand::Rng::with_seed(1);
        rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng);
        let img = images::parse_image("busybox").unwrap();
        rt.start_container("a", "c", 0, img.clone(), setup(), Ok(spec("while true; do echo hi; sleep 5; done")), VirtualTime::ZERO, &mut rng).unwrap();
        rt.advance(VirtualTime::from_secs(12), &mut disk);
        let c = rt.sandbox("a").unwrap().latest("c").unwrap();
        assert_eq!(c.logs.len(), 3);
        rt.sandbox_mut("a").unwrap().latest_mut("c").unwrap().stop(VirtualTime::from_secs(12), 30_000);
        rt.advance(VirtualTime::from_secs(60), &mut disk);
        let c = rt.sandbox("a").unwrap().latest("c").unwrap();
        assert_eq!(c.exit.as_ref().map(|e| (e.at, e.code)), Some((VirtualTime::from_secs(42), 137)));
        assert_eq!(c.logs.len(), 9);
    }

    #[test]
    fn writes_land_in_mounts_and_reads_happen_when_printed() {
        let mut rt = Runtime::new(Flavor::Containerd, "10.244.1.0/24", false);
        let mut disk = Fs::new();
        disk.mkdir_all("/vol", 0o777, 0);
        let mut rng = fastrand::Rng::with_seed(1);
        rt.run_sandbox("a", "default", "a", VirtualTime::ZERO, &mut rng);
        let img = images::parse_image("busybox").unwrap();
        let mut s = setup();
        s.mounts.push(cfs::Mount::disk("/data", "/vol", false));
        s.root.upper_mut().mkdir_all("/data", 0o755, 0);
        let process = spec_in("echo one > /data/f; sleep 5; echo two >> /data/f; while true; do cat /data/f; sleep 10; done", &s, &disk);
        rt.start_container("a", "c", 0, img, s, Ok(process), VirtualTime::ZERO, &mut rng).unwrap();
        rt.advance(VirtualTime::from_secs(6), &mut disk);
        assert_eq!(disk.get("/vol/f").and_then(Inode::content).as_deref(), Some("one\ntwo\n"));
        disk.write("/vol/f", "changed\n", 0o644, 0);
        rt.advance(VirtualTime::from_secs(16), &mut disk);
        let lines: Vec<String> = rt.sandbox("a").unwrap().latest("c").unwrap().logs.iter().map(|l| l.text.to_string()).collect();
        assert_eq!(lines, vec!["one", "two", "changed"]);
    }

    #[test]
    fn dates_print_like_date() {
        assert_eq!(date_output(VirtualTime::from_secs(5)), "Thu Jan  1 00:00:05 UTC 2026");
    }
}
