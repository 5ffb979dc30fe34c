//! The kubelet: registers its Node, renews its Lease, reports node status,
//! and runs the pods bound to it through the node's container runtime.
//!
//! Timings follow 1.33's defaults: Lease renewed every 10 s
//! (`leaseDurationSeconds` 40), node status computed every 10 s
//! (`nodeStatusUpdateFrequency`) and posted when it changed or every 5 min
//! (`nodeStatusReportFrequency`); image pulls are serialised per node;
//! crashed containers restart after a back-off of 10 s doubling to 5 min,
//! forgotten after 10 min of running; image pulls back off the same way.

mod admission;
mod file_source;
mod resize;

use std::collections::{BTreeMap, BTreeSet};
use rustc_hash::FxHashMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Node, ObjectReference, PodSpec, PodStatus, Probe};
use crate::engine::api::pod::{Pod, StoredStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::container_config;
use super::env;
use super::exec;
use super::identity::ProcStatus;
use super::images::{self, ImageName};
use super::node_status::{self, MachineIds, Readiness, LEASE_NAMESPACE};
use super::object_cache::{self, ObjectCache};
use super::pod_status::{self, is_sidecar, restart_policy, should_restart, Inputs, Waiting};
use super::programs;
use super::runtime::{random_hex, ContainerSetup, Flavor, LogLine, Runtime, RuntimeContainer, Sandbox};
use super::volumes::{self, PodVolumes, VolumeContext};
use crate::engine::api::{ids, meta, KeyRef, Object, ObjectKey, Reason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, Query, WatchEvent, WatchEventType};
use crate::engine::cluster::NodeSpec;
use crate::engine::informer::Informer;
use crate::engine::scheduler::resources::Resources;
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
/// A sync that made a sandbox or started a container and then failed is
/// followed by the next within the PLEG's relist period: the relist sees
/// what changed and the pod worker syncs again.
const RESYNC_AFTER_ERROR_MS: u64 = 1_000;
/// Grace given to containers of pods that vanished from the API.
const ORPHAN_GRACE_MS: u64 = 2_000;
/// A pod worker that failed retries after 10 s plus up to half again (`backOffPeriod`).
const WORKER_BACKOFF_MS: u64 = 10_000;
/// A pod worker resyncs every minute plus up to half again (`syncFrequency`).
const RESYNC_MS: u64 = 60_000;

/// The kubelet's flowcontrol back-off, per key.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    duration_ms: u64,
    last_update: VirtualTime,
}

fn backoff_expired(entry: &Backoff, event_time: VirtualTime) -> bool {
    event_time.millis_since(entry.last_update) > 2 * BACKOFF_MAX_MS
}

/// `IsInBackOffSince`: whether the back-off that began at `event_time` has yet to end.
fn in_backoff_since(map: &BTreeMap<String, Backoff>, key: &str, event_time: VirtualTime, now: VirtualTime) -> bool {
    map.get(key).is_some_and(|entry| !backoff_expired(entry, event_time) && now < event_time.plus_millis(entry.duration_ms))
}

fn backoff_next(map: &mut BTreeMap<String, Backoff>, key: &str, event_time: VirtualTime, now: VirtualTime) {
    let duration_ms = match map.get(key) {
        Some(e) if !backoff_expired(e, event_time) => (e.duration_ms * 2).min(BACKOFF_MAX_MS),
        _ => BACKOFF_INITIAL_MS,
    };
    map.insert(key.to_string(), Backoff { duration_ms, last_update: now });
}

/// Go's `time.Duration` formatting, as kubelet messages print durations.
/// Written digit by digit: every image pull's Event prints two.
pub fn go_duration(ms: u64) -> String {
    use crate::engine::digits::push_digits;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::with_capacity(16);
    if ms < 1000 {
        push_digits(&mut out, ms.into(), 10);
        out.push_str("ms");
        return out;
    }
    let (h, m, s, rem) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        push_digits(&mut out, h.into(), 10);
        out.push('h');
    }
    if h > 0 || m > 0 {
        push_digits(&mut out, m.into(), 10);
        out.push('m');
    }
    push_digits(&mut out, s.into(), 10);
    if rem > 0 {
        // Milliseconds as three digits, without their trailing zeros.
        let digits = [rem / 100, rem / 10 % 10, rem % 10];
        let kept = if digits[2] != 0 { 3 } else if digits[1] != 0 { 2 } else { 1 };
        out.push('.');
        for d in &digits[..kept] {
            out.push(char::from(b'0' + *d as u8));
        }
    }
    out.push('s');
    out
}

/// `format!("{text:?}")` for a text, as kubelet messages quote image
/// references: printable ASCII without quotes or backslashes (every
/// reference the kubelet pulls) is joined as it is, anything else goes
/// through `Debug`'s escapes.
fn quoted(text: &str) -> String {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
        ["\"", text, "\""].concat()
    } else {
        format!("{text:?}")
    }
}

#[derive(Clone, Debug)]
enum StepKind {
    /// Creating the pod sandbox and its network.
    Sandbox,
    /// Boxed: the other steps are small, and every pod worker holds one.
    Pull(Box<Pull>),
    Create,
    Start,
}

#[derive(Clone, Debug)]
struct Pull {
    image: ImageName,
    queued_at: VirtualTime,
    pull_ms: u64,
    failure: Option<String>,
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
    /// What is under way or waited for; `None` while all of it is empty,
    /// as it is for most of a pod's life (see [`Worker::tidy`]).
    steps: Option<Box<WorkerSteps>>,
    /// Containers told to stop for the pod's deletion.
    killing: bool,
    /// When the kill began: a sidecar stopped after the main containers
    /// gets what is left of the grace period.
    kill_started: VirtualTime,
    delete_sent: bool,
    /// A sandbox was found dead (after a reboot) and reported.
    sandbox_changed_reported: bool,
    /// The pod's volumes on the node.
    volumes: PodVolumes,
    /// The pod spec whose ConfigMap and Secret references are registered
    /// (they are read from the spec alone; a pod's versions share it).
    registered_spec: Option<Rc<PodSpec>>,
    /// A status the pod carries that generating it again gives back, while
    /// nothing the generation reads has changed (see [`StatusMemo`]).
    /// Cleared whenever `waiting` changes.
    status_memo: Option<StatusMemo>,
    /// The pod's entry in [`State::quiet`], by its key there (null: none).
    quiet_at: *const Object,
    /// A `SyncPod` is doing the runtime's work (sandbox, pulls, creates,
    /// starts): it set the pod's status when it began, and sets none from
    /// what that work does until the work ends (see [`Kubelet::status_after_sync`]).
    runtime_sync_open: bool,
    /// The open sync's runtime work made a sandbox or started a container,
    /// which the PLEG's next relist sees.
    runtime_changed: bool,
    /// Admission refused the pod: it is `Failed` and nothing of it runs.
    rejected: bool,
    /// The pod has ended (`Succeeded` or `Failed`): it no longer counts
    /// against what admission finds the node running.
    ended: bool,
    /// What the pod requests, as admission counts it against the node.
    requests: Resources,
    /// An in-place resize's allocation and conditions; `None` for a pod
    /// whose resources never changed.
    resize: Option<Box<resize::Resize>>,
}

/// After a sync failed to start a container (its image could not be had
/// or its config built), the pod worker's next sync and the waiting reason
/// the status shows from then: the kubelet keeps each sync's outcome (its
/// `reasonCache`) and the next sync's status shows it, so `ErrImagePull`
/// and `ImagePullBackOff` take turns, each shown until the sync after.
#[derive(Debug)]
struct StartRetry {
    at: VirtualTime,
    /// When the sync failed: containers that fail in the same sync share
    /// its retry, as the pod worker retries the pod.
    failed_at: VirtualTime,
    /// The image the container had: a pod updated with another image is
    /// synced at once, as the update reaches the pod worker.
    image: Option<String>,
    shows: Waiting,
}

/// A pod worker's fields that are set while its containers are being
/// started, waited for or backed off, and empty once they run: boxed
/// beside the worker, and let go when empty, as a pod worker holds them
/// for its whole life (152 bytes inline, 8 boxed).
#[derive(Debug, Default)]
struct WorkerSteps {
    step: Option<Step>,
    waiting: BTreeMap<String, Waiting>,
    /// What was prepared for a container between its Create and Start steps.
    prepared: BTreeMap<String, (ContainerSetup, Vec<(String, String)>)>,
    /// Containers a sync failed to start (see [`StartRetry`]).
    start_retry: BTreeMap<String, StartRetry>,
    /// Running containers killed to be restarted (their definition changed,
    /// or a probe failed): each is started again once it exits, whatever
    /// the restart policy (see [`Kubelet::kill_running`]).
    replacing: BTreeSet<String>,
}

impl WorkerSteps {
    fn is_empty(&self) -> bool {
        self.step.is_none() && self.waiting.is_empty() && self.prepared.is_empty() && self.start_retry.is_empty() && self.replacing.is_empty()
    }
}

impl Worker {
    /// Whether admission counts the pod as running on the node: admitted,
    /// not ended, and not done terminating (its deletion sent).
    fn counts(&self) -> bool {
        !self.rejected && !self.ended && !self.delete_sent
    }

    fn steps(&self) -> Option<&WorkerSteps> {
        self.steps.as_deref()
    }

    fn steps_mut(&mut self) -> &mut WorkerSteps {
        self.steps.get_or_insert_with(Default::default)
    }

    fn step(&self) -> Option<&Step> {
        self.steps()?.step.as_ref()
    }

    /// Lets the steps go once nothing in them is left.
    fn tidy(&mut self) {
        if self.steps.as_ref().is_some_and(|s| s.is_empty()) {
            self.steps = None;
        }
    }
}

/// A pod status that is its own regeneration: the status a sync found the
/// pod carrying and generated the same, or the one it wrote. Generating
/// again from that status (its conditions' transition times and start
/// time all there), the same spec and the same sandbox, without probes or
/// deletion and with the same waiting reasons, gives it back: the next
/// sync of a pod carrying that very status need not generate it to find
/// nothing to write. The `Rc`s are held so their addresses stay theirs.
#[derive(Debug)]
struct StatusMemo {
    status: Rc<StoredStatus>,
    spec: Option<Rc<PodSpec>>,
    /// The sandbox's stamp, if there was one (see [`Sandbox::stamp`]).
    /// Stamps start at 1; a memo is not made for a stamp of 0, so the
    /// option takes no room of its own.
    sandbox: Option<std::num::NonZeroU64>,
}

impl StatusMemo {
    fn holds(&self, pod: &Pod, sandbox: Option<u64>) -> bool {
        let same = |a: &Option<Rc<PodSpec>>, b: &Option<Rc<PodSpec>>| match (a, b) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        pod.status.as_ref().is_some_and(|s| Rc::ptr_eq(s, &self.status)) && same(&pod.spec, &self.spec) && self.sandbox.map(std::num::NonZeroU64::get) == sandbox
    }
}

/// The kubelet's `HashContainer`: what of a container's definition, when
/// changed, restarts it (its name and image, as since 1.31; only the image
/// of a pod's container can change). FNV-1a, as the kubelet's.
fn container_hash(c: &Container) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in c.name.bytes().chain([0]).chain(c.image.as_deref().unwrap_or("").bytes()) {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// Removes `key` from one of a worker's per-container maps. A `BTreeMap`
/// keeps its root node when its last entry goes, and these maps stay empty
/// for most of a pod's life once its containers run, so an emptied map
/// gives its node back (for `prepared` a node is about 3 KB).
fn remove_releasing<V>(map: &mut BTreeMap<String, V>, key: &str) -> Option<V> {
    let value = map.remove(key);
    if map.is_empty() {
        *map = BTreeMap::new();
    }
    value
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
    /// A liveness or startup failure had the container killed: no more
    /// probes of it.
    on_hold: bool,
}

/// A pod sync that asked for nothing (no write, no event, no random draw)
/// and what it saw. Until the pod object, its sandbox or what pods share
/// (images, cached ConfigMaps and Secrets, the node's network) changes, or
/// timed work of its own falls due, syncing it again changes nothing: a full
/// sync passes it over and only asks again for its wake-up. A change to its
/// sandbox removes the entry (the runtime notes which sandboxes it lets
/// anyone change, see [`Runtime::take_touched`]).
struct QuietSync {
    pod: Rc<Object>,
    /// The earliest wake-up the sync asked for.
    wake: Option<VirtualTime>,
    /// When the pod's own timed work (its wake-up, the projected volumes'
    /// periodic refresh) is next due.
    until: VirtualTime,
    /// The sandbox's digest when the sync ran, to check in debug builds
    /// that the runtime noted every change since (0 in release builds).
    sandbox: u64,
    shared: SharedInputs,
}

/// The quiet entries by their pod version's address, in address order: a
/// node's few dozen in a list as long as they are (a hash table of 32
/// entries had room for 64, each 80 bytes: 5 KB a node).
#[derive(Default)]
struct QuietTable(Vec<(*const Object, QuietSync)>);

impl QuietTable {
    fn find(&self, at: *const Object) -> Result<usize, usize> {
        self.0.binary_search_by(|(entry, _)| entry.cmp(&at))
    }

    fn get(&self, at: &*const Object) -> Option<&QuietSync> {
        self.find(*at).ok().map(|i| &self.0[i].1)
    }

    fn remove(&mut self, at: &*const Object) -> Option<QuietSync> {
        self.find(*at).ok().map(|i| self.0.remove(i).1)
    }

    fn insert(&mut self, at: *const Object, q: QuietSync) {
        match self.find(at) {
            Ok(i) => self.0[i].1 = q,
            Err(i) => self.0.insert(i, (at, q)),
        }
    }

    fn keys(&self) -> impl Iterator<Item = &*const Object> {
        self.0.iter().map(|(at, _)| at)
    }

    fn values(&self) -> impl Iterator<Item = &QuietSync> {
        self.0.iter().map(|(_, q)| q)
    }
}

impl QuietSync {
    /// The wake-up a sync of the pod would ask for again, if the entry
    /// still holds at `now` with these shared inputs.
    fn wake_if_holds(&self, now: VirtualTime, shared: SharedInputs) -> Option<Option<VirtualTime>> {
        (now < self.until && self.shared == shared).then_some(self.wake)
    }
}

/// Whether any of the pod's containers has a startup or readiness probe,
/// whose findings go into its status.
fn has_status_probes(pod: &Pod) -> bool {
    pod.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten())).any(|c| c.startup_probe.is_some() || c.readiness_probe.is_some())
}

/// A pod a kubelet run syncs: the version itself, or, for a version
/// remembered as quiet, its address (see [`State::quiet`]) and, if its
/// entry let it be passed over when listed, the wake-up the entry asks for.
enum Due {
    Pod(Rc<Object>),
    Quiet(*const Object, Option<Option<VirtualTime>>),
}

/// What every pod sync on the node reads besides its own pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SharedInputs {
    images: u64,
    configmaps: u64,
    secrets: u64,
    network_ready: bool,
}

/// The kubelet process' memory, lost when it stops.
struct State {
    started: bool,
    recorder: EventRecorder,
    pods: Informer,
    registered: bool,
    node_uid: Option<String>,
    /// `spec.unschedulable` as the last status sync saw it
    /// (`lastNodeUnschedulable`), for the NodeSchedulable events.
    last_unschedulable: bool,
    next_lease: VirtualTime,
    next_status: VirtualTime,
    last_report: Option<VirtualTime>,
    /// Boxed: a worker is a few hundred bytes, and the table's empty
    /// slots need not be as wide.
    /// Keyed by the pod's UID, shared with the ConfigMap and Secret
    /// managers' entries for the pod. Hashed, not ordered: a pod sync looks
    /// its worker up about ten times, and in an ordered map each lookup
    /// compared the UID with several others. Nothing that depends on order
    /// iterates it unsorted.
    workers: FxHashMap<Rc<str>, Box<Worker>>,
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
    /// Pods from the machine's manifest directory, by UID.
    static_pods: BTreeMap<String, file_source::StaticPod>,
    /// Manifests that could not be read (file, text), reported once.
    refused_manifests: BTreeSet<(String, String)>,
    /// The last pull error per back-off key, for the ImagePullBackOff message.
    pull_errors: BTreeMap<String, String>,
    configmaps: ObjectCache,
    secrets: ObjectCache,
    /// The kubelet's Service lister (for service-link variables).
    services: Informer,
    /// Pods whose last sync changed nothing, by the address of the pod
    /// version that sync read (the entry holds that version, so the address
    /// cannot be another's): a full sync of every pod looks each up here, and a
    /// UID-keyed map compared long strings. Iterated only where the order
    /// does not matter (dropping every entry, debug builds' checks).
    quiet: QuietTable,
    /// (Each pod's entry in `quiet` is found from its worker, `Worker::quiet_at`.)
    /// The entries dropped from `quiet` during this run: a full sync lists
    /// a quiet pod by its address alone, and syncs the version kept here if
    /// its entry goes before its turn.
    quiet_dropped: Vec<QuietSync>,
    /// The pods a full sync must look at, each as its version in view:
    /// every pod in view whose version has no entry in `quiet` is here (and
    /// some that have one). A full sync that may trust it (see
    /// `indexed_shared`) syncs these alone, not every pod of the node: most
    /// of a busy node's many full syncs are for one pod's timed step while
    /// the others wait. (Every entry in `quiet` is for a version in view:
    /// a pod's new version or deletion drops its entry.)
    unsettled: BTreeMap<ObjectKey, Rc<Object>>,
    /// `quiet`'s entries by when they stop holding (`QuietSync::until`);
    /// an entry's pair leaves with it, or here once it stopped holding.
    quiet_until: BTreeSet<(VirtualTime, *const Object)>,
    /// `quiet`'s entries by the wake-up they ask for; an entry's pair leaves with it.
    quiet_wakes: BTreeSet<(VirtualTime, *const Object)>,
    /// The shared inputs of the last full sync that looked at every pod,
    /// while every entry made since was made with them: only then does an
    /// entry not in `quiet_until`'s past hold, and `unsettled` suffice.
    indexed_shared: Option<SharedInputs>,
    /// The mirror pods among the pod informer's items, kept from its
    /// events: finding them by reading every pod at each full sync read
    /// every pod's metadata.
    mirrors: BTreeSet<ObjectKey>,
    /// The last orphan cleanup found nothing, and since then no pod has
    /// left the kubelet's view (a Deleted event, a relist, a static pod's
    /// change): sandboxes and workers are only made for pods in view, so
    /// none can be an orphan and the cleanup is passed over.
    orphans_settled: bool,
    /// The pod informer's lists at the last orphan cleanup.
    orphan_check_lists: u64,
    /// Status writes and deletions of pods asked of the API server.
    pod_requests: u64,
    /// Pod syncs passed over as quiet (checked in debug builds).
    quiet_passes: u64,
    /// Full syncs that looked at the unsettled pods alone.
    unsettled_syncs: u64,
    /// How many of the kubelet's watches had ended when it last polled
    /// them (`None`: not yet polled), for
    /// [`crate::engine::apiserver::ApiServer::nothing_to_poll`].
    watches_ended: Option<u64>,
}

impl State {
    /// Takes the entry at `at` out of `quiet` and of its indexes: the one
    /// way an entry leaves.
    fn take_quiet(&mut self, at: *const Object) -> Option<QuietSync> {
        let q = self.quiet.remove(&at)?;
        self.quiet_until.remove(&(q.until, at));
        if let Some(wake) = q.wake {
            self.quiet_wakes.remove(&(wake, at));
        }
        Some(q)
    }

    fn new(node: &str) -> Self {
        State {
            started: false,
            recorder: EventRecorder::new("kubelet", Some(node)),
            pods: Informer::new(Query::all(ids::pods()).with_fields(FieldSelector::node_name(node))),
            registered: false,
            node_uid: None,
            last_unschedulable: false,
            next_lease: VirtualTime::ZERO,
            next_status: VirtualTime::ZERO,
            last_report: None,
            workers: FxHashMap::default(),
            pull_free_at: VirtualTime::ZERO,
            crash_backoff: BTreeMap::new(),
            pull_backoff: BTreeMap::new(),
            probes: BTreeMap::new(),
            next_full_sync: VirtualTime::ZERO,
            pulls_queued: BTreeSet::new(),
            static_pods: BTreeMap::new(),
            refused_manifests: BTreeSet::new(),
            pull_errors: BTreeMap::new(),
            configmaps: ObjectCache::configmaps(),
            secrets: ObjectCache::secrets(),
            services: Informer::new(Query::all(ids::services())),
            quiet: QuietTable::default(),
            quiet_dropped: Vec::new(),
            unsettled: BTreeMap::new(),
            quiet_until: BTreeSet::new(),
            quiet_wakes: BTreeSet::new(),
            indexed_shared: None,
            mirrors: BTreeSet::new(),
            orphans_settled: false,
            orphan_check_lists: 0,
            pod_requests: 0,
            quiet_passes: 0,
            unsettled_syncs: 0,
            watches_ended: None,
        }
    }
}

pub struct Kubelet {
    name: String,
    pub spec: NodeSpec,
    /// The node's machine, lent by the world while the kubelet runs (it
    /// lives in [`World`]); between runs, an empty one kept to swap with
    /// it, so no machine is made or dropped per run.
    machine: Box<Machine>,
    state: State,
    process_running: bool,
    /// Allocatable, for the node size (cpu millis, memory bytes) it was worked out for.
    allocatable_cache: std::cell::Cell<Option<((i64, i64), (i128, i128, i128))>>,
}

fn node_ref(node: &str) -> ObjectReference {
    // The kubelet names its node by name, with the name as UID.
    ObjectReference { kind: Some("Node".into()), name: Some(node.into()), uid: Some(node.into()), ..Default::default() }
}

fn container_ref(pod: &Pod, container: &str, init: bool) -> ObjectReference {
    let ephemeral = !init && pod.spec.as_ref().and_then(|s| s.ephemeral_containers.as_ref()).is_some_and(|e| e.iter().any(|c| c.name == container));
    let list = if init { "initContainers" } else if ephemeral { "ephemeralContainers" } else { "containers" };
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        // Joined, not formatted: every container Event names it.
        field_path: Some(["spec.", list, "{", container, "}"].concat()),
        ..Default::default()
    }
}

/// Writes the kubelet's pod status (the `/status` subresource) over the
/// stored pod's, keeping the conditions others wrote since (DisruptionTarget,
/// PodScheduled); nothing when the stored pod is another with the same
/// name, or already says the same. The new version is the stored one's
/// metadata and spec with this status: the stored status is not copied.
/// Returns the status written, if it was.
fn put_status(ctx: &mut Ctx, pod: &Pod, mut status: PodStatus) -> Option<Rc<StoredStatus>> {
    let (ns, name) = (pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or(""));
    let Ok(current) = ctx.api.get(ids::pods(), ns, name) else { return None };
    let Object::Pod(stored) = &*current else { return None };
    if stored.metadata.uid != pod.metadata.uid {
        return None;
    }
    let generated: Vec<_> = status.conditions.take().unwrap_or_default().into_iter().filter(|c| pod_status::KUBELET_CONDITIONS.contains(&c.type_.as_str())).collect();
    // `mergePodStatus`: the conditions others own (DisruptionTarget,
    // readiness gates') come first, in their stored order, then the
    // kubelet's, PodScheduled last as `generateAPIPodStatus` lists it.
    let mut scheduled = None;
    let mut conditions = Vec::with_capacity(generated.len() + 2);
    for c in stored.status.iter().flat_map(|s| s.conditions_except(pod_status::KUBELET_CONDITIONS)) {
        if c.type_ == "PodScheduled" {
            scheduled = Some(c);
        } else {
            conditions.push(c);
        }
    }
    // `generateAPIPodStatus` always reports the pod scheduled: one bound by
    // its own nodeName, which no scheduler marked, gets PodScheduled from
    // the kubelet's first write. A rejected pod's status has no conditions
    // of its own, so it gets none.
    if scheduled.is_none() && !generated.is_empty() {
        scheduled = Some(k8s_openapi::api::core::v1::PodCondition { type_: "PodScheduled".into(), status: "True".into(), last_transition_time: Some(meta::api_time(ctx.now)), ..Default::default() });
    }
    conditions.extend(generated);
    conditions.extend(scheduled);
    status.conditions = (!conditions.is_empty()).then_some(conditions);
    let status = StoredStatus::new(status);
    if stored.status.as_deref() == Some(&status) {
        return None;
    }
    let status = Rc::new(status);
    let next = Pod { metadata: stored.metadata.clone(), spec: stored.spec.clone(), status: Some(status.clone()), node_name: stored.node_name.clone(), token_volume: stored.token_volume.clone(), affinity_node: stored.affinity_node.clone() };
    // Read and written in one step of the simulation: no conflict can come between.
    ctx.api.update_status(Object::Pod(Box::new(next))).ok().map(|_| status)
}

/// `name_namespace(uid)`, as kubelet messages name pods.
/// A probe's or hook's port: a number, or the name of one of the container's ports (0 if none has it).
fn container_port(c: &Container, port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(p) => *p,
        IntOrString::String(name) => c.ports.iter().flatten().find(|p| p.name.as_deref() == Some(name.as_str())).map_or(0, |p| p.container_port),
    }
}

fn pod_ended(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed"))
}

/// A pod's requests as admission counts them (the scheduler's sum, kept
/// by spec).
fn admission_requests(pod: &Pod) -> Resources {
    crate::engine::scheduler::resources::pod_requests(pod).requests
}

/// The active deadline handler's reason and message.
const DEADLINE_EXCEEDED: (&str, &str) = ("DeadlineExceeded", "Pod was active on the node longer than the specified deadline");

/// When a pod's `activeDeadlineSeconds` runs out, counted from the start
/// time its status holds.
fn active_deadline(pod: &Pod) -> Option<VirtualTime> {
    let seconds = pod.spec.as_ref()?.active_deadline_seconds?;
    let start = pod.status.as_ref()?.start_time.as_ref()?;
    Some(meta::virtual_of(start).plus_millis(u64::try_from(seconds).ok()?.saturating_mul(1000)))
}

/// Where a container's termination message comes from, unless it is the
/// default file and policy (shared by every container with those).
fn termination_message_of(c: &Container) -> Option<Rc<super::runtime::TerminationMessage>> {
    let path = c.termination_message_path.as_deref().unwrap_or(super::runtime::TERMINATION_MESSAGE_PATH);
    let fallback_to_logs = c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError");
    if path == super::runtime::TERMINATION_MESSAGE_PATH && !fallback_to_logs {
        return None;
    }
    Some(Rc::new(super::runtime::TerminationMessage { path: path.to_string(), fallback_to_logs }))
}

/// `verifyRunAsNonRoot`: a container that must not run as root is not
/// created when its user is root, or cannot be told apart from root.
fn verify_run_as_non_root(pod: &Pod, c: &Container, image: &ImageName) -> Result<(), String> {
    let pod_context = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let own = c.security_context.as_ref();
    let non_root = own.and_then(|s| s.run_as_non_root).or_else(|| pod_context.and_then(|s| s.run_as_non_root));
    if non_root != Some(true) {
        return Ok(());
    }
    let user = own.and_then(|s| s.run_as_user).or_else(|| pod_context.and_then(|s| s.run_as_user));
    match user {
        Some(0) => Err(format!("container's runAsUser breaks non-root policy (pod: {:?}, container: {})", pod_desc(pod), c.name)),
        Some(_) => Ok(()),
        None if images::image_uid(image) == 0 => Err(format!("container has runAsNonRoot and image will run as root (pod: {:?}, container: {})", pod_desc(pod), c.name)),
        None => Ok(()),
    }
}

fn pod_desc(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

/// The pod shares its node's network namespace (and address).
fn host_network(pod: &Pod) -> bool {
    pod.spec.as_ref().and_then(|s| s.host_network) == Some(true)
}

fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<(&'a Container, bool)> {
    let spec = pod.spec.as_ref()?;
    if let Some(c) = spec.containers.iter().find(|c| c.name == name) {
        return Some((c, false));
    }
    spec.init_containers.iter().flatten().find(|c| c.name == name).map(|c| (c, true))
}

/// An ephemeral container as the kubelet runs it: a `Container` with the
/// same fields (the kubelet converts `EphemeralContainerCommon` likewise).
pub(crate) fn ephemeral_as_container(e: &k8s_openapi::api::core::v1::EphemeralContainer) -> Container {
    Container {
        name: e.name.clone(),
        image: e.image.clone(),
        command: e.command.clone(),
        args: e.args.clone(),
        working_dir: e.working_dir.clone(),
        env: e.env.clone(),
        env_from: e.env_from.clone(),
        volume_mounts: e.volume_mounts.clone(),
        volume_devices: e.volume_devices.clone(),
        image_pull_policy: e.image_pull_policy.clone(),
        security_context: e.security_context.clone(),
        stdin: e.stdin,
        stdin_once: e.stdin_once,
        tty: e.tty,
        termination_message_path: e.termination_message_path.clone(),
        termination_message_policy: e.termination_message_policy.clone(),
        ..Default::default()
    }
}

fn find_ephemeral(pod: &Pod, name: &str) -> Option<Container> {
    pod.spec.as_ref()?.ephemeral_containers.as_ref()?.iter().find(|c| c.name == name).map(ephemeral_as_container)
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

impl Kubelet {
    pub fn new(spec: NodeSpec) -> Self {
        Kubelet {
            name: format!("kubelet/{}", spec.name),
            state: State::new(&spec.name),
            machine: Box::new(Machine::vacant()),
            spec,
            process_running: true,
            allocatable_cache: std::cell::Cell::new(None),
        }
    }

    /// The machine this kubelet's node runs on, fresh from the factory.
    pub fn machine_for(spec: &NodeSpec) -> Machine {
        let mut machine = Machine::new(Runtime::new(Flavor::for_node(&spec.name), &spec.pod_cidr, spec.control_plane));
        let (capacity, _) = node_status::resources(spec);
        let kib = |k: &str| capacity.get(k).and_then(|q| crate::engine::quantity::Quantity::parse(&q.0).ok()).map_or(0, |q| (q.value() / 1024).max(0) as u64);
        machine.disk_kb = kib("ephemeral-storage");
        machine.memory_kb = kib("memory");
        machine
    }

    /// Node allocatable as (cpu millis, memory bytes, ephemeral-storage bytes).
    /// Every pod sync reads it: it is worked out again only when the node's
    /// size changes (it is formatted as quantities and parsed back).
    fn allocatable(&self) -> (i128, i128, i128) {
        let size = (self.spec.cpu_millis, self.spec.memory_bytes);
        if let Some((_, value)) = self.allocatable_cache.get().filter(|(at, _)| *at == size) {
            return value;
        }
        let (_, alloc) = node_status::resources(&self.spec);
        let q = |k: &str| alloc.get(k).and_then(|q| crate::engine::quantity::Quantity::parse(&q.0).ok());
        let value =
            (q("cpu").map_or(0, |q| q.milli_value() as i128), q("memory").map_or(0, |q| q.value() as i128), q("ephemeral-storage").map_or(0, |q| q.value() as i128));
        self.allocatable_cache.set(Some((size, value)));
        value
    }

    /// Checks an exec request as the kubelet does: the pod must be one it
    /// runs and the container running. The error is what the API server
    /// relays (`container not found ("web")`), or the dial error when the
    /// kubelet cannot be reached.
    pub fn exec_target(&self, machine: &Machine, namespace: &str, pod: &str, container: &str) -> Result<String, String> {
        if !self.process_running {
            let how = if machine.powered { "connect: connection refused" } else { "connect: no route to host" };
            return Err(format!("error dialing backend: dial tcp {}:10250: {how}", self.spec.address));
        }
        let Some(Object::Pod(p)) = self.state.pods.get(&ObjectKey::new(namespace, pod)).map(|o| &**o) else {
            return Err(format!("container not found ({container:?})"));
        };
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let running = machine.runtime.sandbox(&uid).and_then(|s| s.latest(container)).is_some_and(|c| c.is_running());
        if running {
            Ok(uid)
        } else {
            Err(format!("container not found ({container:?})"))
        }
    }

    /// Container logs, as `kubectl logs` gets them through the kubelet. The
    /// error is the message kubectl prints after `Error from server (BadRequest): `
    /// (or `Error from server: ` when the kubelet cannot be reached).
    pub fn logs(&self, machine: &Machine, namespace: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<String, String> {
        self.log_lines(machine, namespace, pod, container, previous).map(|lines| lines.iter().map(|l| format!("{}\n", l.text)).collect())
    }

    /// Container log lines with their times, for `kubectl logs` with
    /// `--timestamps`, `--since` and `-f`. Also whether the container is
    /// still running (more lines may come).
    pub fn log_lines(&self, machine: &Machine, namespace: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<Vec<LogLine>, String> {
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
        if find_container(p, &container_name).is_none() && find_ephemeral(p, &container_name).is_none() {
            return Err(format!("container {container_name} is not valid for pod {pod}"));
        }
        // A mirror pod's containers are its static pod's.
        let uid = super::static_pods::mirror_hash(p).map(str::to_string).or_else(|| p.metadata.uid.clone()).unwrap_or_default();
        let sandbox = machine.runtime.sandbox(&uid);
        let status = p.status.as_ref();
        let cstatus = status
            .and_then(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()).chain(s.ephemeral_container_statuses.iter().flatten()).find(|c| c.name == container_name).cloned());
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
        Ok(chosen.logs.iter().collect())
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
        match ctx.api.create(Object::Node(Box::new(node.clone()))) {
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
        let current = match ctx.api.get(ids::nodes(), "", &node_name) {
            Ok(current) => current,
            Err(e) => {
                // A running kubelet registers once (`registrationCompleted`):
                // when its Node is deleted it only fails to update its status,
                // until it restarts and registers again.
                ctx.log(format!("Error updating node status, will retry: error getting node \"{node_name}\": {}", e.message));
                return;
            }
        };
        let Object::Node(current) = &*current else { return };
        self.record_schedulable_change(ctx, current);
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
        let mut node: Node = *current.clone();
        node.status = Some(new_status);
        if ctx.api.update_status(Object::Node(Box::new(node))).is_ok() {
            self.state.last_report = Some(now);
            if was_ready != is_ready {
                let what = if is_ready.as_deref() == Some("True") { "NodeReady" } else { "NodeNotReady" };
                self.state.recorder.record_ref(ctx.api, node_ref(&node_name), NORMAL, what, format!("Node {node_name} status is now: {what}"));
                ctx.log(format!("node {node_name} status is now {what}"));
            }
        }
    }

    /// `recordNodeSchedulableEvent`, the last node status setter: a cordon or
    /// uncordon seen since the last sync is told as an event.
    fn record_schedulable_change(&mut self, ctx: &mut Ctx, node: &Node) {
        let unschedulable = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
        if unschedulable == self.state.last_unschedulable {
            return;
        }
        self.state.last_unschedulable = unschedulable;
        let node_name = self.spec.name.clone();
        let what = if unschedulable { "NodeNotSchedulable" } else { "NodeSchedulable" };
        self.state.recorder.record_ref(ctx.api, node_ref(&node_name), NORMAL, what, format!("Node {node_name} status is now: {what}"));
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
            // The lease controller creates a Lease only once it can own it
            // by its Node (`setNodeOwnerFunc`): with the Node deleted, none.
            if e.reason == Reason::NotFound {
                if let Ok(node_object) = ctx.api.get(ids::nodes(), "", &node) {
                    let uid = node_object.meta().uid.clone();
                    let _ = ctx.api.create(Object::Lease(Box::new(node_status::lease(&node, uid.as_deref(), now))));
                }
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
        let changed = w.steps().and_then(|s| s.waiting.get(container)) != Some(&new);
        w.steps_mut().waiting.insert(container.to_string(), new);
        w.status_memo = None;
        changed
    }

    /// Notes the sync's failure to start container `c` for `reason` (the
    /// sync goes on with the pod's other containers): the pod worker syncs
    /// again within the PLEG's relist if this sync made a sandbox or
    /// started a container, else after its back-off of 10 to 15 s, and the
    /// status shows the reason from then.
    fn retry_start(&mut self, ctx: &mut Ctx, uid: &str, c: &Container, reason: &str, message: String) {
        let now = ctx.now;
        let Some(w) = self.state.workers.get_mut(uid) else { return };
        let shared = w.steps().and_then(|s| s.start_retry.values().find(|r| r.failed_at == now)).map(|r| r.at);
        let at = shared.unwrap_or_else(|| {
            let after = if w.runtime_changed { RESYNC_AFTER_ERROR_MS } else { WORKER_BACKOFF_MS + ctx.rng.u64(..WORKER_BACKOFF_MS / 2) };
            now.plus_millis(after)
        });
        let retry = StartRetry { at, failed_at: now, image: c.image.clone(), shows: Waiting { reason: reason.to_string(), message: Some(message) } };
        w.steps_mut().start_retry.insert(c.name.clone(), retry);
        ctx.wake_at(at);
    }

    /// Whether container `c` waits for the pod worker's retry after a sync
    /// failed to start it (asking to be woken then). Once the retry is
    /// due, the sync is this one: its status shows what the last sync left.
    fn waits_for_start_retry(&mut self, ctx: &mut Ctx, uid: &str, c: &Container) -> bool {
        let Some(steps) = self.state.workers.get_mut(uid).and_then(|w| w.steps.as_mut()) else { return false };
        let Some(retry) = steps.start_retry.get(&c.name) else { return false };
        if retry.at > ctx.now && retry.image == c.image {
            ctx.wake_at(retry.at);
            return true;
        }
        if let Some(due) = remove_releasing(&mut steps.start_retry, &c.name) {
            self.set_waiting(uid, &c.name, &due.shows.reason, due.shows.message);
        }
        false
    }

    /// Begins starting a container: the image first.
    fn begin_start(&mut self, ctx: &mut Ctx, pod: &Pod, c: &Container, init: bool) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = ctx.now;
        let spec_image = c.image.clone().unwrap_or_default();
        let image = match images::parse_image(&spec_image) {
            Ok(i) => i,
            Err(msg) => {
                self.record_container(ctx, pod, &c.name, init, WARNING, "InspectFailed", msg.clone());
                self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: InvalidImageName".into());
                self.retry_start(ctx, &uid, c, "InvalidImageName", msg);
                return;
            }
        };
        let policy = pull_policy(c);
        let present = self.machine.runtime.has_image(&image);
        if policy == "Never" && !present {
            let msg = format!("Container image {spec_image:?} is not present with pull policy of Never");
            self.record_container(ctx, pod, &c.name, init, WARNING, "ErrImageNeverPull", msg.clone());
            self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: ErrImageNeverPull".into());
            self.retry_start(ctx, &uid, c, "ErrImageNeverPull", msg);
            return;
        }
        if present && policy != "Always" {
            self.record_container(ctx, pod, &c.name, init, NORMAL, "Pulled", ["Container image ", &quoted(&spec_image), " already present on machine"].concat());
            let until = now.plus_millis(150 + ctx.rng.u64(..250));
            if let Some(w) = self.state.workers.get_mut(&*uid) {
                w.steps_mut().step = Some(Step { container: c.name.clone(), init, until, kind: StepKind::Create });
            }
            ctx.wake_at(until);
            return;
        }
        let key = [&*uid, "_", &*spec_image].concat();
        if let Some(entry) = self.state.pull_backoff.get(&key).copied() {
            let end = entry.last_update.plus_millis(entry.duration_ms);
            if now < end {
                let msg = format!("Back-off pulling image {spec_image:?}");
                // 1.32+ carries the last pull error in the waiting message.
                let waiting = match self.state.pull_errors.get(&key) {
                    Some(err) => format!("{msg}: ErrImagePull: {err}"),
                    None => msg.clone(),
                };
                // Each pod sync in the back-off says so again, and fails.
                self.record_container(ctx, pod, &c.name, init, NORMAL, "BackOff", msg);
                self.record_container(ctx, pod, &c.name, init, WARNING, "Failed", "Error: ImagePullBackOff".into());
                self.retry_start(ctx, &uid, c, "ImagePullBackOff", waiting);
                return;
            }
        }
        self.state.pull_errors.remove(&key);
        // Pull secrets come from the kubelet's Secret manager.
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for r in pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()).filter(|r| !r.name.is_empty()) {
            match self.state.secrets.get(&ns, &r.name) {
                Ok(obj) => found.push(obj),
                Err(_) => missing.push(r.name.clone()),
            }
        }
        if !missing.is_empty() {
            self.state.recorder.record(
                ctx.api,
                &Object::Pod(Box::new(pod.clone())),
                WARNING,
                "FailedToRetrieveImagePullSecret",
                &format!("Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.", missing.join(", ")),
            );
        }
        let credentials = container_config::pull_credentials(&found);
        self.record_container(ctx, pod, &c.name, init, NORMAL, "Pulling", ["Pulling image ", &quoted(&spec_image)].concat());
        let failure = images::pull_failure(&image, self.machine.runtime.flavor == Flavor::Docker, &credentials);
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
        if let Some(w) = self.state.workers.get_mut(&*uid) {
            w.steps_mut().step = Some(Step { container: c.name.clone(), init, until, kind: StepKind::Pull(Box::new(Pull { image, queued_at: now, pull_ms, failure })) });
        }
        if ctx.logging() {
            ctx.log(format!("pulling image {spec_image} for {}/{}", pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or("")));
        }
        ctx.wake_at(until);
    }

    /// A container exited and wants restarting: restart it, or wait out its back-off.
    /// Returns whether a start began.
    fn restart_or_backoff(&mut self, ctx: &mut Ctx, pod: &Pod, c: &Container, init: bool, finished: VirtualTime) -> bool {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let replaced = self.state.workers.get_mut(&*uid).and_then(|w| w.steps.as_mut()).is_some_and(|s| s.replacing.remove(&c.name));
        if let Some(w) = self.state.workers.get_mut(&*uid) {
            w.tidy();
            // A container that exited is seen by the next sync, which sets
            // the status (showing the exit) before starting it again; one
            // killed to be restarted is started by the sync that killed it.
            if !replaced {
                w.runtime_sync_open = false;
                w.runtime_changed = false;
            }
        }
        // The kubelet keys the back-off by the container's definition too:
        // another image starts afresh.
        let key = [&*uid, "/", &c.name, "/", c.image.as_deref().unwrap_or("")].concat();
        // `doBackOff` counts from the newest exit the sync saw when it
        // began: for a container it killed to restart, the one before.
        let since = if replaced { self.machine.runtime.sandbox(&uid).and_then(|s| s.previous(&c.name)).and_then(|p| p.exit.as_ref()).map(|e| e.at) } else { Some(finished) };
        if let Some(since) = since {
            if in_backoff_since(&self.state.crash_backoff, &key, since, ctx.now) {
                // Each sync in the back-off says so, and fails; the restart
                // comes with the first of the pod worker's retries (10 to
                // 15 s apart) after the back-off ends.
                let duration = self.state.crash_backoff.get(&key).map_or(BACKOFF_INITIAL_MS, |b| b.duration_ms);
                let msg = format!("back-off {} restarting failed container={} pod={}", go_duration(duration), c.name, pod_desc(pod));
                self.record_container(ctx, pod, &c.name, init, WARNING, "BackOff", format!("Back-off restarting failed container {} in pod {}", c.name, pod_desc(pod)));
                self.retry_start(ctx, &uid, c, "CrashLoopBackOff", msg);
                return false;
            }
            backoff_next(&mut self.state.crash_backoff, &key, since, ctx.now);
        }
        self.begin_start(ctx, pod, c, init);
        self.state.workers.get(&*uid).is_some_and(|w| w.step().is_some())
    }

    /// `computePodActions` kills a running container that has to go: its
    /// definition (its image) is not the spec's, or it failed its liveness
    /// or startup probe. With `restart`, `SyncPod` starts it again in the
    /// same call, after the kill, whatever the restart policy: the status it
    /// set before stays until then; a container that exits at once is
    /// started here. Returns whether a start began.
    #[allow(clippy::too_many_arguments)]
    fn kill_running(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, c: &Container, init: bool, message: String, grace_s: u64, restart: bool) -> bool {
        let Some(w) = self.state.workers.get_mut(uid) else { return false };
        if restart {
            if !w.steps_mut().replacing.insert(c.name.clone()) {
                // Told to stop already: wait for it.
                return false;
            }
            w.runtime_sync_open = true;
            w.runtime_changed = true;
        }
        self.record_container(ctx, pod, &c.name, init, NORMAL, "Killing", message);
        if self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).is_none() {
            return false;
        }
        self.stop_container(ctx, pod, uid, &c.name, init, grace_s);
        let Some(rc) = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)) else { return false };
        if !rc.is_running() {
            return restart && self.restart_or_backoff(ctx, pod, c, init, ctx.now);
        }
        if let Some(t) = self.machine.runtime.next_change() {
            ctx.wake_at(t);
        }
        false
    }

    /// [`Kubelet::kill_running`] for a new definition.
    fn replace_changed(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, c: &Container, init: bool, message: String) -> bool {
        let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).max(0) as u64;
        self.kill_running(ctx, pod, uid, c, init, message, grace, true)
    }

    fn finish_step(&mut self, ctx: &mut Ctx, pod: &Pod, step: Step) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = ctx.now;
        // Borrowed from the pod (not the kubelet): a Container is about 2 KB.
        let ephemeral;
        let c = match find_container(pod, &step.container) {
            Some((c, _)) => c,
            None => match find_ephemeral(pod, &step.container) {
                Some(e) => {
                    ephemeral = e;
                    &ephemeral
                }
                None => {
                    if matches!(step.kind, StepKind::Sandbox) {
                        self.finish_sandbox(ctx, pod);
                    }
                    return;
                }
            },
        };
        let spec_image = c.image.clone().unwrap_or_default();
        match step.kind {
            StepKind::Sandbox => self.finish_sandbox(ctx, pod),
            StepKind::Pull(pull) => {
                let Pull { image, queued_at, pull_ms, failure } = *pull;
                let key = [&*uid, "_", &*spec_image].concat();
                match failure {
                    Some(err) => {
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", format!("Failed to pull image {spec_image:?}: {err}"));
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", "Error: ErrImagePull".into());
                        self.state.pull_errors.insert(key.clone(), err.clone());
                        backoff_next(&mut self.state.pull_backoff, &key, now, now);
                        self.retry_start(ctx, &uid, c, "ErrImagePull", err);
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
                            ["Successfully pulled image ", &quoted(&spec_image), " in ", &go_duration(pull_ms), " (", &go_duration(total), " including waiting). Image size: ", &crate::engine::digits::decimal(size), " bytes."].concat(),
                        );
                        let until = now.plus_millis(150 + ctx.rng.u64(..250));
                        if let Some(w) = self.state.workers.get_mut(&*uid) {
                            w.steps_mut().step = Some(Step { container: c.name.clone(), init: step.init, until, kind: StepKind::Create });
                        }
                        ctx.wake_at(until);
                    }
                }
            }
            StepKind::Create => {
                match self.container_config(ctx, pod, c) {
                    Ok(prepared) => {
                        if let Some(w) = self.state.workers.get_mut(&*uid) {
                            w.steps_mut().prepared.insert(c.name.clone(), prepared);
                        }
                    }
                    Err(msg) => {
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", format!("Error: {msg}"));
                        self.retry_start(ctx, &uid, c, "CreateContainerConfigError", msg);
                        return;
                    }
                }
                self.record_container(ctx, pod, &c.name, step.init, NORMAL, "Created", ["Created container: ", &c.name].concat());
                let until = now.plus_millis(50 + ctx.rng.u64(..150));
                if let Some(w) = self.state.workers.get_mut(&*uid) {
                    w.steps_mut().step = Some(Step { container: c.name.clone(), init: step.init, until, kind: StepKind::Start });
                }
                ctx.wake_at(until);
            }
            StepKind::Start => {
                let Ok(image) = images::parse_image(&spec_image) else { return };
                let sandbox = self.machine.runtime.sandbox(&uid);
                let ip = sandbox.map(|s| s.ip.clone()).unwrap_or_default();
                let attempt = sandbox.and_then(|s| s.latest(&c.name)).map_or_else(|| self.previous_restart_count(pod, &c.name), |l| l.attempt + 1);
                let Some((mut setup, kubelet_env)) = self.state.workers.get_mut(&*uid).and_then(|w| remove_releasing(&mut w.steps.as_mut()?.prepared, &c.name)) else { return };
                let (process, interactive) = container_config::process_for(pod, c, &image, &setup, &kubelet_env, &self.machine.disk, &ip, now);
                setup.interactive = interactive;
                setup.spec_hash = container_hash(c);
                let process = programs::unless_stopped(process, &image, &self.machine.stopped_programs);
                let result = self.machine.runtime.start_container(&uid, &c.name, attempt, image, setup, process, now, ctx.rng);
                self.machine.advance(now);
                if let Some(w) = self.state.workers.get_mut(&*uid) {
                    if let Some(s) = w.steps.as_mut() {
                        remove_releasing(&mut s.waiting, &c.name);
                        remove_releasing(&mut s.start_retry, &c.name);
                    }
                    w.runtime_changed = true;
                    w.tidy();
                    w.status_memo = None;
                    // A sync that starts an init container ends there; the
                    // next, seeing it run, sets the status and goes on.
                    if step.init {
                        w.runtime_sync_open = false;
                    }
                }
                match result {
                    Ok(_) => {
                        if let Ok(image) = images::parse_image(&spec_image) {
                            crate::engine::network::exchange::attach_app(&mut self.machine.runtime, &uid, c, &image);
                        }
                        self.record_container(ctx, pod, &c.name, step.init, NORMAL, "Started", ["Started container ", &c.name].concat());
                        if ctx.logging() {
                            ctx.log(format!("started container {} in {}/{}", c.name, pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or("")));
                        }
                        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
                            self.post_start(ctx, pod, &uid, c, step.init, hook);
                        }
                    }
                    Err(msg) => {
                        self.record_container(ctx, pod, &c.name, step.init, WARNING, "Failed", format!("Error: {msg}"));
                        // The reason cache keeps `ErrRunContainer` with the
                        // runtime's message: the container shows Waiting
                        // (RunContainerError) over its StartError exit.
                        self.set_waiting(&uid, &c.name, "RunContainerError", Some(msg));
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
            .and_then(|s| s.containers().find(|c| c.name == name))
            .filter(|c| c.container_id.is_some())
            .map_or(0, |c| c.restart_count + 1)
    }

    fn finish_sandbox(&mut self, ctx: &mut Ctx, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ip = if host_network(pod) {
            self.machine.runtime.run_host_sandbox(&uid, &ns, &name, &self.spec.address, ctx.now, ctx.rng)
        } else {
            self.machine.runtime.run_sandbox(&uid, &ns, &name, ctx.now, ctx.rng)
        };
        if let Some(w) = self.state.workers.get_mut(&*uid) {
            w.runtime_changed = true;
        }
        // The node's own resolver, for dnsPolicy Default.
        let gateway = self.spec.address.rsplit_once('.').map_or_else(String::new, |(net, _)| [net, ".1"].concat());
        volumes::write_pod_files(&mut self.machine.disk, pod, &ip, &gateway, ctx.now);
    }

    /// `generateContainerConfig`: the container's environment and mounts.
    fn container_config(&mut self, ctx: &mut Ctx, pod: &Pod, c: &Container) -> Result<(ContainerSetup, Vec<(String, String)>), String> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let image = images::parse_image(c.image.as_deref().unwrap_or("")).map_err(|e| e.to_string())?;
        let pod_ip = self.machine.runtime.sandbox(&uid).map(|s| s.ip.clone()).unwrap_or_default();
        let services = self.state.services.has_synced().then(|| self.state.services.items().cloned().collect::<Vec<_>>());
        let allocatable = self.allocatable();
        let (configmaps, secrets) = (&self.state.configmaps, &self.state.secrets);
        let mut cm_lookup = |name: &str| configmaps.get(&ns, name);
        let mut secret_lookup = |name: &str| secrets.get(&ns, name);
        let mut sources = env::Sources { configmap: &mut cm_lookup, secret: &mut secret_lookup, services, pod_ip: &pod_ip, host_ip: &self.spec.address, allocatable };
        let kubelet_env = env::make_environment(pod, c, &mut sources)?;
        verify_run_as_non_root(pod, c, &image)?;
        // A pod on the host's network has the node's host name.
        let hostname = if host_network(pod) {
            self.spec.name.clone()
        } else {
            pod.spec.as_ref().and_then(|s| s.hostname.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default())
        };
        let mut root = container_config::root_fs(c, &image);
        let user = container_config::process_user(pod, c, &image, &root);
        let command_line = container_config::command_line(c, &image, &kubelet_env);
        let no_volumes = PodVolumes::default();
        let volumes = self.state.workers.get(&*uid).map_or(&no_volumes, |w| &w.volumes);
        let pod_seccomp = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()?.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
        let proc_status = ProcStatus {
            command: &command_line,
            user: &user,
            context: c.security_context.as_ref(),
            pod_seccomp,
            node_cpus: u32::try_from(self.spec.cpu_millis / 1000).unwrap_or(1),
            node_memory_kb: self.machine.memory_kb,
            rss_kb: crate::engine::metrics::usage::resting_bytes(&image) / 1024,
        }
        .render_shared();
        let mounts = volumes::container_mounts(pod, c, volumes, &mut self.machine.disk, &mut root, &kubelet_env, &proc_status, ctx.now)?;
        let setup = ContainerSetup {
            root,
            mounts,
            env: container_config::environment(&image, &hostname, &kubelet_env),
            workdir: container_config::workdir(c, &image),
            base: Some(images::base_of(&image)),
            command_line,
            interactive: false,
            spec_hash: 0,
            termination: termination_message_of(c),
            user,
        };
        Ok((setup, kubelet_env))
    }

    /// The volume manager's part of a pod sync: mount what is missing,
    /// refresh projected volumes on the periodic resync. Returns whether
    /// every volume is mounted.
    fn sync_volumes(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) -> bool {
        let Some(mut state) = self.state.workers.get_mut(uid).map(|w| std::mem::take(&mut w.volumes)) else { return false };
        let now = ctx.now;
        let allocatable = self.allocatable();
        let (failed, done) = {
            let mut vc = VolumeContext {
                configmaps: &self.state.configmaps,
                secrets: &self.state.secrets,
                api: ctx.api,
                disk: &mut self.machine.disk,
                now,
                rng: ctx.rng,
                node: &self.spec.name,
                host_ip: &self.spec.address,
                allocatable,
            };
            let mut failed = volumes::mount_all(&mut state, pod, &mut vc);
            let done = state.all_mounted(pod);
            if done && state.next_refresh.is_some_and(|t| t <= now) {
                failed.extend(volumes::refresh(&mut state, pod, &mut vc));
                state.next_refresh = None;
            }
            (failed, done)
        };
        if done && state.next_refresh.is_none() {
            state.next_refresh = Some(now.plus_millis(RESYNC_MS + ctx.rng.u64(..RESYNC_MS / 2)));
        }
        if let Some(t) = state.next_retry().filter(|_| !done) {
            ctx.wake_at(t);
        }
        if let Some(t) = state.next_refresh {
            ctx.wake_at(t);
        }
        if let Some(w) = self.state.workers.get_mut(uid) {
            w.volumes = state;
        }
        for (_, message) in failed {
            self.state.recorder.record(ctx.api, &Object::Pod(Box::new(pod.clone())), WARNING, "FailedMount", &message);
        }
        done
    }

    fn sync_pod(&mut self, ctx: &mut Ctx, obj: &Rc<Object>) {
        let Object::Pod(pod) = &**obj else { return };
        let Some(uid) = pod.metadata.uid.as_deref() else { return };
        let now = ctx.now;
        // The UID as the worker's key holds it, shared with the ConfigMap
        // and Secret managers.
        let uid: Rc<str> = match self.state.workers.get_key_value(uid) {
            Some((key, _)) => key.clone(),
            None => {
                let key: Rc<str> = Rc::from(uid);
                let ended = pod_ended(pod);
                // A resized pod is admitted again with what was allocated
                // to it (`UpdatePodFromAllocation`), not its spec's wish.
                let restored = resize::restored(pod);
                let requests = match &restored {
                    Some(r) => {
                        let mut allocated = pod.clone();
                        allocated.spec = Some(r.allocated.clone());
                        admission_requests(&allocated)
                    }
                    None => admission_requests(pod),
                };
                // A pod that has ended is not admitted again (a restarted kubelet finds it so).
                let rejection = if ended || file_source::is_mirror_object(obj) { None } else { self.admit(ctx, pod, &requests) };
                self.state.workers.insert(key.clone(), Box::new(Worker {
                    start_time: now,
                    steps: None,
                    killing: false,
                    kill_started: VirtualTime::ZERO,
                    delete_sent: false,
                    sandbox_changed_reported: false,
                    volumes: PodVolumes::default(),
                    registered_spec: None,
                    status_memo: None,
                    quiet_at: std::ptr::null(),
                    runtime_sync_open: false,
                    runtime_changed: false,
                    rejected: rejection.is_some(),
                    ended,
                    requests,
                    resize: restored.filter(|_| rejection.is_none()),
                }));
                if let Some((reason, message)) = rejection {
                    self.reject(ctx, pod, &reason, message);
                    return;
                }
                key
            }
        };
        if self.state.workers.get(&*uid).is_some_and(|w| w.rejected) && pod.metadata.deletion_timestamp.is_none() {
            return;
        }
        // The ConfigMap and Secret managers watch what the pod references;
        // the same spec references the same objects (a status write keeps it).
        let registered = self.state.workers.get(&*uid).and_then(|w| w.registered_spec.as_ref()).zip(pod.spec.as_ref()).is_some_and(|(r, s)| Rc::ptr_eq(r, s));
        let mut previous_spec = None;
        if !registered {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let (maps, secrets) = object_cache::references(pod);
            self.state.configmaps.register(&uid, &ns, &maps);
            self.state.secrets.register(&uid, &ns, &secrets);
            if let Some(w) = self.state.workers.get_mut(&*uid) {
                previous_spec = std::mem::replace(&mut w.registered_spec, pod.spec.clone());
            }
        }
        // A spec that changed may carry new resources; a resize under way
        // is seen to at every sync. Other syncs pass by.
        if previous_spec.is_some() || self.state.workers.get(&*uid).is_some_and(|w| w.resize.is_some()) {
            self.sync_resize(ctx, pod, &uid, previous_spec);
        }
        self.state.configmaps.sync_new(ctx);
        self.state.secrets.sync_new(ctx);
        if pod.metadata.deletion_timestamp.is_some() {
            self.sync_terminating(ctx, pod, &uid);
            self.write_status(ctx, pod, &uid);
            return;
        }
        match active_deadline(pod) {
            Some(at) if at <= now => {
                self.sync_past_deadline(ctx, pod, &uid);
                return;
            }
            Some(at) => ctx.wake_at(at),
            None => {}
        }
        // Finish an operation that is due; wait for one in flight.
        let step_until = self.state.workers.get(&*uid).and_then(|w| w.step()).map(|s| s.until);
        if let Some(until) = step_until {
            if until > now {
                ctx.wake_at(until);
                self.status_after_sync(ctx, pod, &uid);
                return;
            }
            if let Some(step) = self.state.workers.get_mut(&*uid).and_then(|w| w.steps.as_mut()?.step.take()) {
                self.finish_step(ctx, pod, step);
            }
        }
        let terminal = pod_ended(pod);
        if let Some(w) = self.state.workers.get_mut(&*uid) {
            w.ended = terminal;
        }
        let volumes_ready = terminal || self.sync_volumes(ctx, pod, &uid);
        if volumes_ready && self.state.workers.get(&*uid).is_some_and(|w| w.step().is_none()) {
            self.decide(ctx, pod, &uid);
        }
        self.run_probes(ctx, pod, &uid);
        self.status_after_sync(ctx, pod, &uid);
    }

    /// The kubelet's `SyncPod` generates and sets the pod's status from what
    /// the runtime showed when the sync began, and only then does the
    /// runtime's work: the sandbox, and each container's pull, create and
    /// start, one after the other in that one call. Here that work is the
    /// worker's steps, each taking its time; while they follow one another,
    /// no status is set from what they did (a pod pulling its image shows
    /// `ContainerCreating` without an IP, as on a real node), and the
    /// status after the last is the next sync's. A pod with startup or
    /// readiness probes and a container running still has its status set
    /// after every step: the prober sets a running container's readiness
    /// as it finds it, whatever the pod worker is doing.
    fn status_after_sync(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let Some(w) = self.state.workers.get(uid) else { return };
        // A container being killed to be replaced is the sync's work too.
        let in_flight = w.step().is_some() || w.steps().is_some_and(|s| !s.replacing.is_empty());
        if in_flight && w.runtime_sync_open && !self.probes_running(pod, uid) {
            return;
        }
        if let Some(w) = self.state.workers.get_mut(uid) {
            if !in_flight || !w.runtime_sync_open {
                // A sync begins its runtime work, or the sync is over: what
                // an earlier one made or started is the PLEG's news no more.
                w.runtime_changed = false;
            }
            w.runtime_sync_open = in_flight;
        }
        self.write_status(ctx, pod, uid);
    }

    /// Whether a container of the pod runs and the pod has startup or
    /// readiness probes, whose findings can change its status at any time.
    fn probes_running(&self, pod: &Pod, uid: &str) -> bool {
        has_status_probes(pod) && self.machine.runtime.sandbox(uid).is_some_and(|s| s.containers.iter().any(|c| c.is_running()))
    }

    /// `computePodActions`: what to do next for a pod with nothing in flight.
    fn decide(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let now = ctx.now;
        let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
        let policy = restart_policy(pod).to_string();
        let phase = pod.status.as_ref().and_then(|s| s.phase()).map(str::to_string);
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
                self.state.recorder.record(ctx.api, &Object::Pod(Box::new(pod.clone())), NORMAL, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
            }
            let until = now.plus_millis(800 + ctx.rng.u64(..700));
            if let Some(w) = self.state.workers.get_mut(uid) {
                // A sandbox is made at the start of a sync, after its status.
                w.runtime_sync_open = false;
                w.sandbox_changed_reported = true;
                w.steps_mut().step = Some(Step { container: String::new(), init: false, until, kind: StepKind::Sandbox });
            }
            ctx.wake_at(until);
            return;
        }
        // With every regular container exited for good, `computePodActions`
        // kills the pod (KillPod) and starts no sidecar again: the sidecars
        // stop with the pod's grace period, and the pod ends after them.
        let regular_done = !spec.containers.is_empty()
            && self.machine.runtime.sandbox(uid).is_some_and(|s| spec.containers.iter().all(|c| s.latest(&c.name).and_then(|l| l.exit.as_ref()).is_some_and(|e| !should_restart(&policy, e.code))));
        if regular_done {
            let grace_s = spec.termination_grace_period_seconds.unwrap_or(30).max(0) as u64;
            let to_stop: Vec<String> = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| is_sidecar(c))
                .filter(|c| self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).is_some_and(|l| l.is_running() && !l.is_stopping()))
                .map(|c| c.name.clone())
                .collect();
            for name in to_stop {
                self.record_container(ctx, pod, &name, true, NORMAL, "Killing", format!("Stopping container {name}"));
                self.stop_container(ctx, pod, uid, &name, true, grace_s);
            }
            self.machine.advance(now);
            if let Some(next) = self.machine.runtime.next_change() {
                ctx.wake_at(next);
            }
            return;
        }
        // Init containers, in order.
        for c in spec.init_containers.iter().flatten() {
            let latest = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).map(|l| (l.is_running(), l.exit.clone(), l.spec_hash));
            match latest {
                Some((true, _, hash)) if is_sidecar(c) => {
                    if hash != container_hash(c) {
                        // Only a sidecar is restarted for a new definition;
                        // the next init containers wait for it.
                        self.replace_changed(ctx, pod, uid, c, true, format!("Init container {} definition changed", c.name));
                        return;
                    }
                    continue;
                }
                Some((true, _, _)) => return,
                Some((false, Some(exit), _)) if exit.code == 0 && !is_sidecar(c) => continue,
                Some((false, Some(exit), _)) => {
                    if policy == "Never" && !is_sidecar(c) {
                        return;
                    }
                    if self.waits_for_start_retry(ctx, uid, c) {
                        return;
                    }
                    if !self.restart_or_backoff(ctx, pod, c, true, exit.at) {
                        return;
                    }
                    return;
                }
                Some((false, None, _)) => return,
                None => {
                    if self.waits_for_start_retry(ctx, uid, c) {
                        return;
                    }
                    self.begin_start(ctx, pod, c, true);
                    return;
                }
            }
        }
        for c in &spec.containers {
            let latest = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).map(|l| (l.is_running(), l.exit.clone(), l.spec_hash));
            match latest {
                Some((true, _, hash)) => {
                    let changed = hash != container_hash(c);
                    if changed && self.replace_changed(ctx, pod, uid, c, false, format!("Container {} definition changed, will be restarted", c.name)) {
                        return;
                    }
                }
                Some((false, None, _)) => continue,
                Some((false, Some(exit), _)) => {
                    let replacing = self.state.workers.get(uid).and_then(|w| w.steps()).is_some_and(|s| s.replacing.contains(&c.name));
                    if !replacing && !should_restart(&policy, exit.code) {
                        continue;
                    }
                    if self.waits_for_start_retry(ctx, uid, c) {
                        continue;
                    }
                    if self.restart_or_backoff(ctx, pod, c, false, exit.at) {
                        return;
                    }
                }
                None => {
                    if self.waits_for_start_retry(ctx, uid, c) {
                        continue;
                    }
                    self.begin_start(ctx, pod, c, false);
                    if self.state.workers.get(uid).is_some_and(|w| w.step().is_some()) {
                        return;
                    }
                }
            }
        }
        // `computePodActions`: an ephemeral container is started once, when
        // it has no status, and never restarted.
        for e in spec.ephemeral_containers.iter().flatten() {
            if self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&e.name)).is_some() {
                continue;
            }
            let c = ephemeral_as_container(e);
            if self.waits_for_start_retry(ctx, uid, &c) {
                continue;
            }
            self.begin_start(ctx, pod, &c, false);
            if self.state.workers.get(uid).is_some_and(|w| w.step().is_some()) {
                return;
            }
        }
    }

    /// `handlePodResourcesResize` and the resize half of `SyncPod`: a pod
    /// whose resources differ from its allocation is allocated them if
    /// `canResizePod` finds room (the pod then shows `PodResizeInProgress`
    /// until its containers run with them, a second later, restarting
    /// those whose resize policy asks it), or is left `PodResizePending`.
    /// A deferred resize is tried again at the pod's resyncs.
    fn sync_resize(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, previous_spec: Option<Rc<PodSpec>>) {
        let now = ctx.now;
        let Some(spec) = pod.spec.clone() else { return };
        let Some(w) = self.state.workers.get_mut(uid) else { return };
        if w.rejected || w.ended || pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        let mut state = match (w.resize.take(), previous_spec.clone()) {
            (Some(state), _) => state,
            (None, Some(previous)) if !resize::same_resources(&previous, &spec) => Box::new(resize::Resize::new(previous)),
            _ => return,
        };
        w.status_memo = None;
        let changed = previous_spec.is_some();
        if resize::same_resources(&state.allocated, &spec) {
            state.pending = None;
            state.retry_at = None;
            state.allocated = spec.clone();
        } else if changed || state.retry_at.is_none_or(|at| at <= now) {
            let requests = admission_requests(pod);
            match self.can_resize(ctx, pod, uid, &requests) {
                Ok(()) => {
                    state.pending = None;
                    state.retry_at = None;
                    state.allocated = spec.clone();
                    if let Some(w) = self.state.workers.get_mut(uid) {
                        w.requests = requests;
                    }
                }
                Err((reason, message)) => {
                    state.set_pending(reason, message, now);
                    state.retry_at = Some(now.plus_millis(RESYNC_MS));
                }
            }
        }
        if let Some(at) = state.retry_at {
            ctx.wake_at(at);
        }
        if state.actuating() {
            match state.actuate_at {
                Some(at) if at <= now => self.actuate(ctx, pod, uid, &mut state),
                Some(at) => ctx.wake_at(at),
                None => {
                    state.set_in_progress(now);
                    let at = now.plus_millis(RESYNC_AFTER_ERROR_MS);
                    state.actuate_at = Some(at);
                    ctx.wake_at(at);
                }
            }
        }
        if !state.actuating() {
            state.in_progress = None;
            state.actuate_at = None;
        }
        if let Some(w) = self.state.workers.get_mut(uid) {
            w.resize = Some(state);
        }
    }

    /// The runtime's resize (`doPodResizeAction`): each running container
    /// gets its allocated resources; one whose resize policy restarts it
    /// for a changed resource is killed and started again instead.
    fn actuate(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, state: &mut resize::Resize) {
        let allocated = state.allocated.clone();
        for c in resize::resizable(&allocated) {
            let running = state.actuated.get(&c.name).cloned().unwrap_or_default();
            let wanted = c.resources.clone().unwrap_or_default();
            if running == wanted {
                continue;
            }
            if resize::needs_restart(c, &running) {
                let init = !pod.spec.as_ref().is_some_and(|s| s.containers.iter().any(|r| r.name == c.name));
                self.replace_changed(ctx, pod, uid, c, init, format!("Container {} resize requires restart", c.name));
            } else if let Some(running) = self.machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(&c.name)) {
                // `UpdateContainerResources`: the running container's cgroup takes the new limits.
                running.mounts.replace_private("/sys/fs/cgroup", volumes::cgroup_tree(Some(&wanted), super::runtime::wall_secs(ctx.now)));
                running.cpu.limit_millis = super::runtime::cpu_limit_millis(Some(&wanted));
            }
            state.actuated.insert(c.name.clone(), wanted);
        }
    }

    /// `canResizePod`: the pod's new requests against the node's
    /// allocatable (`Infeasible` past it), then against what the other
    /// admitted pods hold (`Deferred`, with admission's message).
    fn can_resize(&self, ctx: &mut Ctx, pod: &Pod, uid: &str, requests: &Resources) -> Result<(), (&'static str, String)> {
        let node = ctx.api.get(ids::nodes(), "", &self.spec.name).ok();
        let node = node.as_deref().and_then(|o| if let Object::Node(n) = o { Some(&**n) } else { None });
        let Some(node) = node else { return Ok(()) };
        let allocatable = crate::engine::scheduler::resources::node_allocatable(node);
        if requests.memory > allocatable.memory {
            return Err(("Infeasible", format!("Node didn't have enough capacity: memory, requested: {}, capacity: {}", requests.memory, allocatable.memory)));
        }
        if requests.milli_cpu > allocatable.milli_cpu {
            return Err(("Infeasible", format!("Node didn't have enough capacity: cpu, requested: {}, capacity: {}", requests.milli_cpu, allocatable.milli_cpu)));
        }
        let others = || self.state.workers.iter().filter(|(key, w)| &***key != uid && w.counts()).map(|(_, w)| w);
        let mut requested = Resources::default();
        for w in others() {
            requested.add(&w.requests);
        }
        let load = admission::Load { requested, pods: others().count() as i64, ports: Vec::new() };
        match admission::admit(pod, Some(node), self.machine.runtime.flavor, requests, load, file_source::is_static(pod)) {
            Ok(()) => Ok(()),
            Err((_, message)) => Err(("Deferred", message)),
        }
    }

    /// `canAdmitPod`: the pods admitted before this one that have not
    /// ended (nor finished terminating) are what the node runs; its own
    /// Node object says what it has.
    fn admit(&self, ctx: &mut Ctx, pod: &Pod, requests: &Resources) -> Option<admission::Rejection> {
        let node = ctx.api.get(ids::nodes(), "", &self.spec.name).ok();
        let node = node.as_deref().and_then(|o| if let Object::Node(n) = o { Some(&**n) } else { None });
        let counted = || self.state.workers.values().filter(|w| w.counts());
        let mut requested = Resources::default();
        for w in counted() {
            requested.add(&w.requests);
        }
        let pods = counted().count() as i64;
        let mut ports = Vec::new();
        if !crate::engine::scheduler::framework::pod_host_ports(pod).is_empty() {
            for obj in self.state.pods.items() {
                let Object::Pod(other) = &**obj else { continue };
                let admitted = other.metadata.uid.as_deref().and_then(|u| self.state.workers.get(u)).is_some_and(|w| w.counts());
                if admitted {
                    ports.extend(crate::engine::scheduler::framework::pod_host_ports(other));
                }
            }
        }
        let load = admission::Load { requested, pods, ports };
        admission::admit(pod, node, self.machine.runtime.flavor, requests, load, file_source::is_static(pod)).err()
    }

    /// `rejectPod`: a Warning Event with the reason and message, and the
    /// pod `Failed` with them ("Pod was rejected: …").
    fn reject(&mut self, ctx: &mut Ctx, pod: &Pod, reason: &str, message: String) {
        let about = crate::engine::apiserver::events::reference_to(ids::pods(), &pod.metadata);
        self.state.recorder.record_ref(ctx.api, about, WARNING, reason, message.clone());
        let status = PodStatus {
            phase: Some("Failed".into()),
            reason: Some(reason.to_string()),
            message: Some(format!("Pod was rejected: {message}")),
            qos_class: pod.status.as_ref().and_then(|s| s.qos_class.clone()),
            start_time: Some(meta::api_time(ctx.now)),
            ..Default::default()
        };
        self.state.pod_requests += 1;
        put_status(ctx, pod, status);
    }

    /// A pod past its `activeDeadlineSeconds` (the active deadline
    /// handler's `ShouldEvict`): the kubelet says so, sets it `Failed` with
    /// reason `DeadlineExceeded`, and stops its containers as for a
    /// deletion; nothing is started again.
    fn sync_past_deadline(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let first = self.state.workers.get(uid).is_some_and(|w| !w.killing);
        if first {
            let about = crate::engine::apiserver::events::reference_to(ids::pods(), &pod.metadata);
            self.state.recorder.record_ref(ctx.api, about, NORMAL, DEADLINE_EXCEEDED.0, DEADLINE_EXCEEDED.1.to_string());
            if let Some(s) = self.state.workers.get_mut(uid).and_then(|w| w.steps.as_mut()) {
                s.start_retry.clear();
            }
        }
        self.sync_terminating(ctx, pod, uid);
        self.write_status(ctx, pod, uid);
    }

    fn sync_terminating(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let grace_s = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(0) as u64;
        let already = self.state.workers.get(uid).is_some_and(|w| w.killing);
        if already {
            // A second delete that shortened the grace period: the pod worker
            // kills again with it, counted from now (a longer one changes nothing).
            if let Some(sandbox) = self.machine.runtime.sandbox_mut(uid) {
                for c in sandbox.containers.iter_mut().filter(|c| c.is_running() && c.is_stopping()) {
                    c.stop(ctx.now, grace_s.max(1) * 1000);
                }
            }
        } else {
            if let Some(w) = self.state.workers.get_mut(uid) {
                w.killing = true;
                w.kill_started = ctx.now;
                if let Some(s) = w.steps.as_mut() {
                    s.step = None;
                }
                w.tidy();
            }
            let running: Vec<(String, bool)> = self
                .machine
                .runtime
                .sandbox(uid)
                .map(|s| s.containers.iter().filter(|c| c.is_running()).map(|c| (c.name.clone(), find_container(pod, &c.name).is_some_and(|(_, i)| i))).collect())
                .unwrap_or_default();
            for (name, init) in running {
                self.record_container(ctx, pod, &name, init, NORMAL, "Killing", format!("Stopping container {name}"));
                // Sidecars wait their turn (below).
                if !(init && find_container(pod, &name).is_some_and(|(c, _)| is_sidecar(c))) {
                    self.stop_container(ctx, pod, uid, &name, init, grace_s);
                }
            }
        }
        self.stop_sidecars_in_turn(ctx, pod, uid, grace_s);
        let still_running = self.machine.runtime.sandbox(uid).is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
        if still_running {
            if let Some(t) = self.machine.runtime.next_change() {
                ctx.wake_at(t);
            }
            return;
        }
        self.machine.runtime.stop_sandbox(uid);
    }

    /// `terminationOrdering` (kuberuntime_termination_order.go): a sidecar
    /// is signalled once every main container and every sidecar declared
    /// after it has exited, so sidecars stop in reverse order; it gets what
    /// is left of the grace period (whole seconds), at least 2 s.
    fn stop_sidecars_in_turn(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, grace_s: u64) {
        let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
        let Some(sandbox) = self.machine.runtime.sandbox(uid) else { return };
        let running = |name: &str| sandbox.latest(name).is_some_and(RuntimeContainer::is_running);
        if spec.containers.iter().any(|c| running(&c.name)) {
            return;
        }
        let sidecars: Vec<&Container> = spec.init_containers.iter().flatten().filter(|c| is_sidecar(c)).collect();
        let mut due = Vec::new();
        for (i, c) in sidecars.iter().enumerate() {
            let waits = sidecars[i + 1..].iter().any(|later| running(&later.name));
            if !waits && sandbox.latest(&c.name).is_some_and(|l| l.is_running() && !l.is_stopping()) {
                due.push(c.name.clone());
            }
        }
        let started = self.state.workers.get(uid).map_or(ctx.now, |w| w.kill_started);
        let waited_s = ctx.now.millis_since(started) / 1000;
        let left_s = grace_s.saturating_sub(waited_s).max(2);
        for name in due {
            self.stop_container(ctx, pod, uid, &name, true, left_s);
        }
        self.machine.advance(ctx.now);
    }

    /// The postStart hook, run once the container started. A failed hook
    /// gets the container killed (`FailedPostStartHook`) and the sync
    /// fails: the status shows `PostStartHookError` until the pod worker's
    /// retry, which restarts it as its restart policy says.
    fn post_start(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, c: &Container, init: bool, hook: &LifecycleHandler) {
        let (_, failed) = self.run_lifecycle_hook(pod, uid, c, hook, ctx.now);
        let Some(message) = failed else { return };
        // The message stays out of the Event, so that secrets do not leak from the server.
        self.record_container(ctx, pod, &c.name, init, WARNING, "FailedPostStartHook", "PostStartHook failed".into());
        self.record_container(ctx, pod, &c.name, init, NORMAL, "Killing", "FailedPostStartHook".into());
        let grace_s = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).max(0) as u64;
        self.stop_container(ctx, pod, uid, &c.name, init, grace_s);
        self.retry_start(ctx, uid, c, "PostStartHookError", message);
        self.machine.advance(ctx.now);
    }

    /// Runs a lifecycle handler in container `c` now (the lifecycle
    /// package's `Run`): how long it took, and its message when it failed.
    fn run_lifecycle_hook(&mut self, pod: &Pod, uid: &str, c: &Container, handler: &LifecycleHandler, now: VirtualTime) -> (u64, Option<String>) {
        let name = &c.name;
        if let Some(hook) = &handler.exec {
            let argv = hook.command.clone().unwrap_or_default();
            // Go's %v of the command: [sh -c echo hi].
            let shown = format!("[{}]", argv.join(" "));
            let failed = |error: String, output: &str| {
                format!("Exec lifecycle hook ({shown}) for Container {name:?} in Pod {:?} failed - error: {error}, message: {output:?}", pod_desc(pod))
            };
            return match crate::engine::network::in_containers::exec_on_own_node(&mut self.machine, &self.name, uid, name, &argv, now) {
                Ok(out) if out.status == 0 => (out.slept_ms, None),
                Ok(out) => {
                    // The runtime's ExecSync error names the command and its stderr; the message is stdout then stderr.
                    let error = format!("command '{}' exited with {}: {}", argv.join(" "), out.status, out.stderr);
                    (out.slept_ms, Some(failed(error, &format!("{}{}", out.stdout, out.stderr))))
                }
                Err(exec::ExecError::Start(e)) => {
                    (0, Some(failed(format!("rpc error: code = Unknown desc = failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: {}: unknown", e.message()), "")))
                }
                Err(exec::ExecError::NotRunning) => (0, Some(failed("container not running".into(), ""))),
            };
        }
        if let Some(http) = &handler.http_get {
            let Some(sandbox) = self.machine.runtime.sandbox(uid) else { return (0, None) };
            let ip = sandbox.ip.clone();
            let port = container_port(c, &http.port);
            let serving = sandbox.latest(name).is_some_and(|rc| rc.serves(port));
            if serving {
                return (0, None);
            }
            let host = http.host.clone().filter(|h| !h.is_empty()).unwrap_or(ip);
            let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
            let path = http.path.clone().unwrap_or_default();
            let url_path = if path.starts_with('/') { path.clone() } else { format!("/{path}") };
            let error = format!("Get \"{scheme}://{host}:{port}{url_path}\": dial tcp {host}:{port}: connect: connection refused");
            return (0, Some(format!("HTTP lifecycle hook ({path}) for Container {name:?} in Pod {:?} failed - error: {error}", pod_desc(pod))));
        }
        if let Some(sleep) = &handler.sleep {
            return (u64::try_from(sleep.seconds).unwrap_or(0).saturating_mul(1000), None);
        }
        // A tcpSocket handler is kept for old manifests and does nothing.
        (0, None)
    }

    /// Stops a running container as `killContainer` does: its preStop hook
    /// first (its time comes out of the grace period), then SIGTERM, and
    /// SIGKILL when what is left of the grace period (at least 2 s) ends.
    fn stop_container(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, name: &str, init: bool, grace_s: u64) {
        let now = ctx.now;
        let pre_stop = find_container(pod, name).and_then(|(c, _)| Some((c, c.lifecycle.as_ref()?.pre_stop.as_ref()?)));
        if let Some((c, hook)) = pre_stop {
            let (took_ms, failed) = self.run_lifecycle_hook(pod, uid, c, hook, now);
            if failed.is_some() {
                // The message stays out of the Event, so that secrets do not leak from the server.
                self.record_container(ctx, pod, name, init, WARNING, "FailedPreStopHook", "PreStopHook failed".into());
            }
            let grace_ms = grace_s * 1000;
            let hook_ms = took_ms.min(grace_ms);
            let left_ms = (grace_ms - hook_ms).max(2_000);
            if let Some(rc) = self.machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(name)) {
                rc.stop_after_hook(now, hook_ms, left_ms);
            }
            return;
        }
        if let Some(rc) = self.machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(name)) {
            rc.stop(now, grace_s.max(1) * 1000);
        }
    }

    fn probe_outcome(&mut self, pod: &Pod, uid: &str, c: &Container, probe: &Probe, now: VirtualTime) -> Result<(), String> {
        if let Some(probe_exec) = &probe.exec {
            let argv = probe_exec.command.clone().unwrap_or_default();
            // Network programs in a probe reach what the kubelet's own node holds.
            return match crate::engine::network::in_containers::exec_on_own_node(&mut self.machine, &self.name, uid, &c.name, &argv, now) {
                Ok(out) if out.status == 0 => Ok(()),
                Ok(out) if out.combined.is_empty() => Err(format!("command {argv:?} exited with {}", out.status)),
                Ok(out) => Err(out.combined.trim_end_matches('\n').to_string()),
                Err(exec::ExecError::Start(e)) => Err(format!("OCI runtime exec failed: exec failed: unable to start container process: {}: unknown", e.message())),
                Err(exec::ExecError::NotRunning) => Err("container not running".into()),
            };
        }
        let machine = &mut *self.machine;
        let Some(sandbox) = machine.runtime.sandbox_mut(uid) else { return Err("no sandbox".into()) };
        let ip = sandbox.ip.clone();
        let Some(rc) = sandbox.latest_mut(&c.name) else { return Err("no container".into()) };
        let resolve = |port: &IntOrString| container_port(c, port);
        if let Some(http) = &probe.http_get {
            let port = resolve(&http.port);
            let host = http.host.clone().unwrap_or_else(|| ip.clone());
            let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
            let path = http.path.clone().unwrap_or_default();
            let path = if path.starts_with('/') { path } else { format!("/{path}") };
            if !rc.serves(port) {
                return Err(format!("Get \"{scheme}://{host}:{port}{path}\": dial tcp {host}:{port}: connect: connection refused"));
            }
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            let code = crate::engine::network::exchange::http_probe(rc, &machine.disk, port, &path, &host, &pod_name, now).unwrap_or_else(|| rc.http_request());
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
        Ok(())
    }

    fn run_probes(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let now = ctx.now;
        // Borrowed: this runs on every pod sync.
        let containers: &[Container] = pod.spec.as_ref().map_or(&[], |s| s.containers.as_slice());
        if containers.iter().all(|c| c.startup_probe.is_none() && c.liveness_probe.is_none() && c.readiness_probe.is_none()) {
            return;
        }
        for c in containers {
            let Some((id, started_at)) = self.machine.runtime.sandbox(uid).and_then(|s| s.latest(&c.name)).filter(|l| l.is_running()).map(|l| (l.id.to_string(), l.started_at.unwrap_or(now))) else {
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
                    on_hold: false,
                });
                if state.container_id != id {
                    *state = ProbeState {
                        container_id: id.clone(),
                        next_at: started_at.plus_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64).max(now),
                        successes: 0,
                        failures: 0,
                        ok: kind == ProbeKind::Liveness,
                        on_hold: false,
                    };
                }
                if state.on_hold {
                    continue;
                }
                if state.ok && kind == ProbeKind::Startup {
                    continue;
                }
                if state.next_at > now {
                    ctx.wake_at(state.next_at);
                    continue;
                }
                let outcome = self.probe_outcome(pod, uid, c, probe, now);
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
                            // A failed liveness or startup probe has the
                            // container killed: the prober holds off until
                            // the container is another.
                            state.on_hold = kind != ProbeKind::Readiness;
                        }
                        self.record_container(ctx, pod, &c.name, false, WARNING, "Unhealthy", format!("{} probe failed: {msg}", kind.title()));
                        if failed_out && kind != ProbeKind::Readiness {
                            let what = if kind == ProbeKind::Liveness { "liveness" } else { "startup" };
                            let restart = restart_policy(pod) != "Never";
                            let then = if restart { ", will be restarted" } else { "" };
                            let grace = probe
                                .termination_grace_period_seconds
                                .or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
                                .unwrap_or(30)
                                .max(0) as u64;
                            self.kill_running(ctx, pod, uid, c, false, format!("Container {} failed {what} probe{then}", c.name), grace, restart);
                            break;
                        }
                    }
                }
            }
        }
    }

    fn write_status(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str) {
        let Some(worker) = self.state.workers.get(uid) else { return };
        let no_waiting = BTreeMap::new();
        let sandbox = self.machine.runtime.sandbox(uid);
        let mut ready = BTreeMap::new();
        let mut started = BTreeMap::new();
        // A container without startup and readiness probes is started and
        // ready once running (what the maps say when they lack it): most
        // pods have none, and their syncs build no maps.
        let containers = || pod.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()));
        let probed = has_status_probes(pod);
        for c in containers().filter(|_| probed) {
            let id = sandbox.and_then(|s| s.latest(&c.name)).map(|l| l.id.to_string()).unwrap_or_default();
            let probe_ok = |kind: ProbeKind| self.state.probes.get(&(uid.to_string(), c.name.clone(), kind)).is_some_and(|p| p.container_id == id && p.ok);
            let is_started = c.startup_probe.is_none() || probe_ok(ProbeKind::Startup);
            started.insert(c.name.clone(), is_started);
            ready.insert(c.name.clone(), is_started && (c.readiness_probe.is_none() || probe_ok(ProbeKind::Readiness)));
        }
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let evicted = active_deadline(pod).is_some_and(|at| at <= ctx.now).then_some(DEADLINE_EXCEEDED);
        // Without probes, deletion or a deadline, what generating reads
        // besides the pod is the sandbox and the waiting reasons (see StatusMemo).
        let memo_applies = !probed && !deleting && evicted.is_none() && !file_source::is_static(pod) && worker.resize.is_none();
        let stamp = sandbox.map(Sandbox::stamp);
        let deleted_and_stopped = deleting && !sandbox.is_some_and(|s| s.containers.iter().any(|c| c.is_running()));
        let inputs = Inputs {
            pod,
            sandbox,
            flavor: self.machine.runtime.flavor,
            host_ip: &self.spec.address,
            start_time: worker.start_time,
            waiting: worker.steps().map_or(&no_waiting, |s| &s.waiting),
            ready: &ready,
            started: &started,
            terminated_for_deletion: deleted_and_stopped && worker.killing,
            evicted,
            resize: worker.resize.as_deref().map(|r| (r.conditions().cloned().collect(), &r.actuated)),
            now: ctx.now,
        };
        if memo_applies && worker.status_memo.as_ref().is_some_and(|m| m.holds(pod, stamp)) {
            if cfg!(debug_assertions) {
                assert!(pod.status.as_deref().is_some_and(|s| *s == pod_status::generate(&inputs)), "a pod's remembered status is not what generating it gives");
            }
            return;
        }
        let status = pod_status::generate(&inputs);
        if file_source::is_static(pod) {
            let gone = deleted_and_stopped && worker.killing;
            self.write_static_status(ctx, pod, uid, status, gone);
            return;
        }
        let finished_deleting = deleted_and_stopped && worker.killing && !worker.delete_sent;
        // A pod the API already holds Succeeded or Failed stays so: the
        // kubelet never moves a pod out of a terminal phase (it takes the
        // API's phase over its own), even if its runtime no longer knows the
        // containers (a restored etcd brought the pod back).
        let api_terminal = matches!(pod.status.as_ref().and_then(|s| s.phase()), Some("Succeeded") | Some("Failed"));
        let regresses = api_terminal && !matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed"));
        let memo = if pod.status.as_deref().is_some_and(|s| *s == status) {
            pod.status.clone()
        } else if !regresses {
            self.state.pod_requests += 1;
            put_status(ctx, pod, status)
        } else {
            None
        };
        if let Some(w) = self.state.workers.get_mut(uid) {
            w.status_memo = memo.filter(|_| memo_applies && stamp != Some(0)).map(|status| StatusMemo { status, spec: pod.spec.clone(), sandbox: stamp.and_then(std::num::NonZeroU64::new) });
        }
        if finished_deleting {
            let (ns, name) = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
            let opts = DeleteOptions { grace_period_seconds: Some(0), precondition_uid: pod.metadata.uid.clone(), ..Default::default() };
            self.state.pod_requests += 1;
            if ctx.api.delete(ids::pods(), &ns, &name, &opts).is_ok() {
                if let Some(w) = self.state.workers.get_mut(uid) {
                    w.delete_sent = true;
                }
            }
        }
    }

    /// Sandboxes whose pods are gone from the API: stop, then remove them.
    /// Sandboxes and pod workers whose pod is neither in the API server's
    /// view nor a static pod.
    fn orphans(&self) -> (Vec<String>, Vec<String>) {
        let known: BTreeSet<&str> =
            self.state.pods.items().filter_map(|o| o.meta().uid.as_deref()).chain(self.state.static_pods.keys().map(String::as_str)).collect();
        let orphans: Vec<String> = self.machine.runtime.sandboxes().map(|(uid, _)| uid).filter(|uid| !known.contains(uid.as_str())).cloned().collect();
        let mut workers: Vec<String> = self.state.workers.keys().filter(|uid| !known.contains(&***uid)).map(|uid| uid.to_string()).collect();
        // In UID order, as they are removed in this order.
        workers.sort_unstable();
        (orphans, workers)
    }

    fn cleanup_orphans(&mut self, ctx: &mut Ctx) {
        if !self.state.pods.has_synced() {
            return;
        }
        let (orphans, workers) = self.orphans();
        self.state.orphans_settled = orphans.is_empty() && workers.is_empty();
        self.state.orphan_check_lists = self.state.pods.lists();
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
                // The pod's directory (emptyDirs, projected volumes) goes with it.
                volumes::remove_pod(&mut self.machine.disk, &uid);
            }
        }
        for uid in workers {
            self.forget_quiet(&uid);
            self.state.workers.remove(&*uid);
            self.state.configmaps.unregister(&uid);
            self.state.secrets.unregister(&uid);
            self.state.probes.retain(|(u, _, _), _| *u != uid);
            let prefix = format!("{uid}/");
            self.state.crash_backoff.retain(|k, _| !k.starts_with(&prefix));
            let prefix = format!("{uid}_");
            self.state.pull_backoff.retain(|k, _| !k.starts_with(&prefix));
            self.state.pull_errors.retain(|k, _| !k.starts_with(&prefix));
        }
    }
}

impl crate::engine::sim::Component for Kubelet {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, ctx: &mut Ctx) {
        // A node that joins later has no kubelet service running until then.
        let join_at = VirtualTime::from_millis(self.spec.join_after_ms);
        if ctx.now < join_at {
            ctx.wake_at(join_at);
            return;
        }
        let Some(machine) = ctx.world.lend(&self.spec.name) else { return };
        let vacant = std::mem::replace(&mut self.machine, machine);
        self.run_on_machine(ctx);
        let machine = std::mem::replace(&mut self.machine, vacant);
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
            let last_run = machine.last_run;
            let Machine { runtime, disk, .. } = &mut *machine;
            runtime.recover_after_power_loss(last_run, ctx.now, disk);
            machine.booted_at = ctx.now;
            let boot = random_hex(ctx.rng, 32);
            if let Some(ids) = machine.ids.as_mut() {
                ids.boot_id = format!("{}-{}-{}-{}-{}", &boot[0..8], &boot[8..12], &boot[12..16], &boot[16..20], &boot[20..32]);
            }
        }
    }

    fn informers(&self) -> Vec<&Informer> {
        vec![&self.state.pods]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// What a pod sync asks of others: API writes and deletions, events, and
/// random draws (every timed step draws its duration).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Requests {
    writes: u64,
    pod_requests: u64,
    events: u64,
    rng: u64,
}

impl Kubelet {
    /// Pod syncs passed over as quiet since the kubelet started.
    pub fn quiet_passes(&self) -> u64 {
        self.state.quiet_passes
    }

    /// Full syncs since the kubelet started that looked at the unsettled pods alone.
    pub fn unsettled_syncs(&self) -> u64 {
        self.state.unsettled_syncs
    }

    fn requests(&self, ctx: &Ctx) -> Requests {
        Requests { writes: ctx.api.writes, pod_requests: self.state.pod_requests, events: self.state.recorder.attempts(), rng: ctx.rng.get_seed() }
    }

    fn sandbox_digest(&self, uid: &str) -> u64 {
        self.machine.runtime.sandbox(uid).map_or(0, |s| s.sync_digest())
    }

    /// The wake-up a quiet pod's sync would ask for again, if nothing it
    /// reads has changed since, and the sandbox digest it saw. Call
    /// [`Kubelet::forget_touched`] first. Found by the version's address
    /// alone: a pod passed over is not read at all.
    fn still_quiet(&self, obj: &Rc<Object>, now: VirtualTime, shared: SharedInputs) -> Option<(Option<VirtualTime>, u64)> {
        self.still_quiet_at(Rc::as_ptr(obj), now, shared)
    }

    /// [`Kubelet::still_quiet`] by the pod version's address.
    fn still_quiet_at(&self, at: *const Object, now: VirtualTime, shared: SharedInputs) -> Option<(Option<VirtualTime>, u64)> {
        let q = self.state.quiet.get(&at)?;
        debug_assert!(std::ptr::eq(Rc::as_ptr(&q.pod), at));
        q.wake_if_holds(now, shared).map(|wake| (wake, q.sandbox))
    }

    /// The pod version at `at`, remembered as quiet now or earlier in this run.
    fn quiet_version(&self, at: *const Object) -> Option<Rc<Object>> {
        match self.state.quiet.get(&at) {
            Some(q) => Some(q.pod.clone()),
            None => self.state.quiet_dropped.iter().rev().find(|q| std::ptr::eq(Rc::as_ptr(&q.pod), at)).map(|q| q.pod.clone()),
        }
    }

    /// Drops the quiet entries of pods whose sandbox may have changed since last asked.
    fn forget_touched(&mut self) {
        self.forget_touched_except(None);
    }

    /// As [`Kubelet::forget_touched`], keeping `kept`'s entry.
    fn forget_touched_except(&mut self, kept: Option<&str>) {
        if !self.machine.runtime.any_touched() {
            return;
        }
        match self.machine.runtime.take_touched() {
            Some(uids) => {
                for uid in uids.iter().filter(|u| Some(u.as_str()) != kept) {
                    self.forget_quiet(uid);
                }
            }
            None => {
                let kept = kept.and_then(|uid| self.state.workers.get(uid)).map_or(std::ptr::null(), |w| w.quiet_at);
                let dropped: Vec<*const Object> = self.state.quiet.keys().copied().filter(|&at| at != kept).collect();
                for at in dropped {
                    if let Some(q) = self.state.take_quiet(at) {
                        self.note_dropped(q);
                    }
                }
                for w in self.state.workers.values_mut() {
                    if w.quiet_at != kept {
                        w.quiet_at = std::ptr::null();
                    }
                }
            }
        }
    }

    /// Remembers pod `uid`'s quiet sync; only pods with a worker are.
    fn remember_quiet(&mut self, uid: &str, q: QuietSync) {
        let at = Rc::as_ptr(&q.pod);
        let Some(w) = self.state.workers.get_mut(uid) else { return };
        let slot = std::mem::replace(&mut w.quiet_at, at);
        if !slot.is_null() && slot != at {
            if let Some(old) = self.state.take_quiet(slot) {
                self.note_dropped(old);
            }
        }
        // Only a pod's own sync of the version in view remembers it.
        let state = &mut self.state;
        state.unsettled.remove(&q.pod.key_parts() as &dyn KeyRef);
        if state.indexed_shared != Some(q.shared) {
            state.indexed_shared = None;
        }
        state.take_quiet(at);
        state.quiet_until.insert((q.until, at));
        if let Some(wake) = q.wake {
            state.quiet_wakes.insert((wake, at));
        }
        state.quiet.insert(at, q);
    }

    /// An entry leaves `quiet`: its pod (the version in view) is looked at
    /// by the next full sync.
    fn note_dropped(&mut self, q: QuietSync) {
        self.unsettle(&q.pod);
        self.state.quiet_dropped.push(q);
    }

    fn unsettle(&mut self, pod: &Rc<Object>) {
        let parts = pod.key_parts();
        match self.state.unsettled.get_mut(&parts as &dyn KeyRef) {
            Some(held) => *held = pod.clone(),
            None => {
                self.state.unsettled.insert(ObjectKey::of(pod), pod.clone());
            }
        }
    }

    fn forget_quiet(&mut self, uid: &str) {
        let Some(w) = self.state.workers.get_mut(uid) else { return };
        let at = std::mem::replace(&mut w.quiet_at, std::ptr::null());
        if !at.is_null() {
            if let Some(old) = self.state.take_quiet(at) {
                self.note_dropped(old);
            }
        }
    }

    /// Syncs a pod, unless its last sync changed nothing and nothing it
    /// reads has changed since (see [`QuietSync`]). Debug builds sync it
    /// anyway and check that the sync indeed changes nothing.
    fn sync_pod_unless_quiet(&mut self, ctx: &mut Ctx, obj: &Rc<Object>, shared: SharedInputs) {
        self.forget_touched();
        if let Some((wake, sandbox)) = self.still_quiet(obj, ctx.now, shared) {
            self.state.quiet_passes += 1;
            if cfg!(debug_assertions) {
                // Only pods with a UID are remembered as quiet.
                let uid = obj.meta().uid.as_deref().unwrap_or("");
                assert_eq!(sandbox, self.sandbox_digest(uid), "a pod's sandbox changed and the runtime did not note it");
                let before = self.quiet_snapshot(ctx, uid);
                let outer = ctx.take_wake();
                self.sync_pod(ctx, obj);
                let asked = ctx.take_wake();
                // What the check's own sync touched is as the pass left it.
                self.forget_touched_except(Some(uid));
                let after = self.quiet_snapshot(ctx, uid);
                assert_eq!(before, after, "a pod sync the kubelet would pass over changed something");
                assert_eq!(asked, wake, "a pod sync the kubelet would pass over asks for another wake-up");
                for t in [outer, asked].into_iter().flatten() {
                    ctx.wake_at(t);
                }
            } else if let Some(t) = wake {
                ctx.wake_at(t);
            }
            return;
        }
        let Object::Pod(pod) = &**obj else { return };
        let Some(uid) = pod.metadata.uid.as_deref() else { return };
        let before = self.requests(ctx);
        let outer = ctx.take_wake();
        self.sync_pod(ctx, obj);
        let asked = ctx.take_wake();
        for t in [outer, asked].into_iter().flatten() {
            ctx.wake_at(t);
        }
        let quiet = self.requests(ctx) == before && pod.metadata.deletion_timestamp.is_none() && !file_source::is_static(pod);
        // What this sync did to sandboxes is seen: its own entry starts from here.
        self.forget_touched();
        let worker = self.state.workers.get_mut(uid).map(|w| {
            w.tidy();
            &**w
        });
        match worker.filter(|_| quiet) {
            Some(w) => {
                let refresh = w.volumes.next_refresh.unwrap_or(VirtualTime::from_millis(u64::MAX));
                let until = asked.map_or(refresh, |t| t.min(refresh));
                let sandbox = if cfg!(debug_assertions) { self.sandbox_digest(uid) } else { 0 };
                let q = QuietSync { pod: obj.clone(), wake: asked, until, sandbox, shared };
                self.remember_quiet(uid, q);
            }
            None => {
                self.forget_quiet(uid);
            }
        }
    }

    /// Everything a pod sync could change, for the debug check that a
    /// sync passed over would have changed nothing.
    fn quiet_snapshot(&self, ctx: &Ctx, uid: &str) -> String {
        let empty = WorkerSteps::default();
        let worker = self.state.workers.get(uid).map(|w| {
            let s = w.steps().unwrap_or(&empty);
            format!(
                "{:?} {:?} {} {} {} {} {} {:?} {:?} {:?} {:?}",
                s.step,
                s.waiting,
                w.runtime_sync_open,
                w.runtime_changed,
                w.killing,
                w.delete_sent,
                w.sandbox_changed_reported,
                w.volumes,
                s.prepared.keys().collect::<Vec<_>>(),
                s.start_retry,
                w.start_time
            )
        });
        let probes: Vec<_> = self.state.probes.iter().filter(|((u, _, _), _)| u == uid).collect();
        let crash: Vec<_> = self.state.crash_backoff.iter().filter(|(k, _)| k.starts_with(uid)).collect();
        let pull: Vec<_> = self.state.pull_backoff.iter().filter(|(k, _)| k.starts_with(uid)).collect();
        let errors: Vec<_> = self.state.pull_errors.iter().filter(|(k, _)| k.starts_with(uid)).collect();
        format!(
            "{:?} {worker:?} {probes:?} {crash:?} {pull:?} {errors:?} {} {:?} {} {}",
            self.requests(ctx),
            self.sandbox_digest(uid),
            self.state.pull_free_at,
            self.state.pulls_queued.len(),
            self.machine.runtime.image_revision()
        )
    }

    /// Brings the pod, Service, ConfigMap and Secret caches up to date;
    /// returns what changed among the node's pods. When the API server has
    /// nothing for any of the kubelet's watches, none has ended, and no
    /// reflector has a list to hand out, each sync would only poll an empty
    /// watch: they are passed over (debug builds sync anyway and check).
    /// Most of a big cluster's kubelet runs are timers, with nothing to read.
    fn sync_informers(&mut self, ctx: &mut Ctx) -> Vec<WatchEvent> {
        let state = &mut self.state;
        let nothing_new = state.watches_ended.is_some_and(|seen| ctx.api.nothing_to_poll(ctx.me, seen))
            && state.pods.idle()
            && state.services.idle()
            && state.configmaps.idle()
            && state.secrets.idle();
        if nothing_new && !cfg!(debug_assertions) {
            return Vec::new();
        }
        let revisions = (state.configmaps.revision(), state.secrets.revision());
        let events = state.pods.sync(ctx);
        let services = state.services.sync(ctx);
        state.configmaps.sync(ctx);
        state.secrets.sync(ctx);
        // Reached with `nothing_new` only in debug builds.
        debug_assert!(
            !nothing_new || (events.is_empty() && services.is_empty() && revisions == (state.configmaps.revision(), state.secrets.revision())),
            "a kubelet's informers had something new when the API server had nothing for them"
        );
        state.watches_ended = Some(ctx.api.watches_ended(ctx.me));
        events
    }

    /// A pod whose version changed has no entry in `quiet` yet; the entry
    /// of the version it replaces (or of a pod gone) is dropped.
    fn note_unsettled(&mut self, events: &[WatchEvent]) {
        for ev in events {
            let uid = ev.object.meta().uid.as_deref().unwrap_or("");
            let gone = ev.kind == WatchEventType::Deleted;
            if let Some(w) = self.state.workers.get_mut(uid).filter(|w| !w.quiet_at.is_null() && (gone || w.quiet_at != Rc::as_ptr(&ev.object))) {
                let at = std::mem::replace(&mut w.quiet_at, std::ptr::null());
                self.state.take_quiet(at);
            }
            if gone {
                self.state.unsettled.remove(&ev.object.key_parts() as &dyn KeyRef);
            } else {
                self.unsettle(&ev.object);
            }
        }
    }

    /// A full sync of the unsettled pods alone, with the network ready and
    /// every entry in `quiet` made with `shared`. It does what a full sync
    /// of every pod in key order does: a pod whose entry holds is passed
    /// over and its wake-up asked for, and one whose entry goes before its
    /// turn is synced at its turn (it is unsettled from then on).
    fn sync_unsettled(&mut self, ctx: &mut Ctx, shared: SharedInputs) {
        let now = ctx.now;
        self.state.unsettled_syncs += 1;
        self.forget_touched();
        // Entries that stopped holding: their pods are looked at.
        while let Some(&(until, at)) = self.state.quiet_until.first().filter(|(until, _)| *until <= now) {
            self.state.quiet_until.remove(&(until, at));
            if let Some(pod) = self.state.quiet.get(&at).filter(|q| q.until == until).map(|q| q.pod.clone()) {
                self.unsettle(&pod);
            }
        }
        if cfg!(debug_assertions) {
            for o in self.state.pods.items() {
                if !file_source::is_mirror_object(o) && self.still_quiet(o, now, shared).is_none() {
                    let held = self.state.unsettled.get(&o.key_parts() as &dyn KeyRef);
                    assert!(held.is_some_and(|h| Rc::ptr_eq(h, o)), "pod {} neither quiet nor unsettled as its version in view", ObjectKey::of(o));
                }
            }
            let in_view = |o: &Rc<Object>| {
                let parts = o.key_parts();
                self.state.pods.get_by_parts(parts.0, parts.1).is_some_and(|held| Rc::ptr_eq(held, o))
            };
            assert!(self.state.quiet.values().all(|q| in_view(&q.pod)), "a quiet entry for a version not in view");
            assert!(self.state.unsettled.values().all(in_view), "an unsettled pod not as it is in view");
            let state = &self.state;
            assert!(state.quiet_wakes.iter().all(|(wake, at)| state.quiet.get(at).is_some_and(|q| q.wake == Some(*wake))), "a wake-up of an entry gone");
            assert!(state.quiet_until.iter().all(|(until, at)| state.quiet.get(at).is_some_and(|q| q.until == *until)), "an end of an entry gone");
            assert_eq!(state.quiet_wakes.len(), state.quiet.values().filter(|q| q.wake.is_some()).count(), "an entry's wake-up not indexed");
        }
        // Drops before any pod's turn are synced at their turns.
        let mut seen_dropped = self.state.quiet_dropped.len();
        let mut cursor: Option<ObjectKey> = None;
        let mut looked_at = 0usize;
        loop {
            self.forget_touched();
            // An entry that goes after its pod's turn was passed over, as a
            // walk of every pod would have: its wake-up is asked for.
            if let Some(turn) = &cursor {
                for q in &self.state.quiet_dropped[seen_dropped..] {
                    let passed = (&q.pod.key_parts() as &dyn KeyRef) < (turn as &dyn KeyRef);
                    if let Some(wake) = q.wake.filter(|_| passed && q.wake_if_holds(now, shared).is_some()) {
                        ctx.wake_at(wake);
                    }
                }
            }
            seen_dropped = self.state.quiet_dropped.len();
            let next = match &cursor {
                None => self.state.unsettled.first_key_value(),
                Some(turn) => self.state.unsettled.range::<dyn KeyRef, _>((std::ops::Bound::Excluded(turn as &dyn KeyRef), std::ops::Bound::Unbounded)).next(),
            };
            let Some((key, pod)) = next.map(|(k, p)| (k.clone(), p.clone())) else { break };
            if file_source::is_mirror_object(&pod) {
                // Mirrors are never synced.
                self.state.unsettled.remove(&key);
                cursor = Some(key);
                continue;
            }
            cursor = Some(key);
            looked_at += 1;
            self.sync_pod_unless_quiet(ctx, &pod, shared);
        }
        // The wake-ups of the entries passed over: the earliest that holds
        // (every pair names its entry: they leave together).
        let state = &self.state;
        if let Some(&(wake, _)) = state.quiet_wakes.iter().find(|(_, at)| state.quiet.get(at).is_some_and(|q| q.wake_if_holds(now, shared).is_some())) {
            ctx.wake_at(wake);
        }
        if cfg!(debug_assertions) {
            // A pod passed over is synced anyway, and must change nothing.
            let holding: Vec<Rc<Object>> = self.state.pods.items().filter(|o| !file_source::is_mirror_object(o)).cloned().collect();
            for o in holding {
                self.forget_touched();
                if self.still_quiet(&o, now, shared).is_some() {
                    self.sync_pod_unless_quiet(ctx, &o, shared);
                }
            }
        } else {
            self.state.quiet_passes += self.state.pods.len().saturating_sub(looked_at) as u64;
        }
    }

    fn run_on_machine(&mut self, ctx: &mut Ctx) {
        self.ensure_machine(ctx);
        let now = ctx.now;
        if !self.state.started {
            self.start_up(ctx);
        }
        self.machine.advance(now);
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
        let events = self.sync_informers(ctx);
        self.note_mirrors(&events);
        self.note_unsettled(&events);
        for ev in &events {
            if ev.kind == WatchEventType::Deleted {
                ctx.log(format!("pod {} removed from the API", ObjectKey::of(&ev.object)));
            }
        }
        let static_changed = self.read_manifests(ctx);
        let full_sync = now >= self.state.next_full_sync;
        // Pods wait for the node's network before their sandboxes can be
        // set up; pods on the host's network do not.
        let network_ready = self.readiness(now) == Readiness::Ready;
        let shared = SharedInputs {
            images: self.machine.runtime.image_revision(),
            configmaps: self.state.configmaps.revision(),
            secrets: self.state.secrets.revision(),
            network_ready,
        };
        // A pod whose own object changed is synced at once, as its pod
        // worker would be; every pod is synced when timed work is due.
        let indexed = full_sync && network_ready && self.state.indexed_shared == Some(shared);
        if indexed {
            self.sync_unsettled(ctx, shared);
        }
        let mut pods: Vec<Due> = if indexed {
            Vec::new()
        } else if full_sync {
            // A pod remembered as quiet is listed by its address alone (it
            // is no mirror: mirrors are never synced), so passing it over
            // reads nothing of the pod, and with what its entry says now
            // (`now` and `shared` hold for the whole run), so passing it
            // over needs no second look at the entry.
            let quiet = &self.state.quiet;
            self.state
                .pods
                .items()
                .filter_map(|o| match quiet.get(&Rc::as_ptr(o)) {
                    Some(q) => Some(Due::Quiet(Rc::as_ptr(o), q.wake_if_holds(now, shared))),
                    None => (!file_source::is_mirror_object(o)).then(|| Due::Pod(o.clone())),
                })
                .collect()
        } else {
            let changed: BTreeSet<ObjectKey> = crate::engine::sort::insert_all(events.iter().map(|ev| ObjectKey::of(&ev.object)));
            let mut changed: Vec<Rc<Object>> = changed.iter().filter_map(|k| self.state.pods.get(k).cloned()).collect();
            Self::drop_mirrors(&mut changed);
            changed.into_iter().map(Due::Pod).collect()
        };
        pods.extend(self.static_pods_to_sync(full_sync, &events, &static_changed).into_iter().map(Due::Pod));
        for due in pods {
            let pod = match due {
                Due::Pod(pod) => pod,
                Due::Quiet(at, listed_wake) => {
                    // As `sync_pod_unless_quiet` passes it over, without
                    // the pod (debug builds go on to that way, which
                    // decides the same and checks it).
                    if network_ready {
                        self.forget_touched();
                        // The entry is as listed unless dropped since: every
                        // drop is in `quiet_dropped`, and only a pod's own
                        // sync remembers it again. (One dropped and back is
                        // looked at again by `sync_pod_unless_quiet`.)
                        let kept = !self.state.quiet_dropped.iter().any(|q| std::ptr::eq(Rc::as_ptr(&q.pod), at));
                        let pass = listed_wake.filter(|_| kept);
                        debug_assert!(pass.is_none() || pass == self.still_quiet_at(at, now, shared).map(|(wake, _)| wake), "a quiet pod's entry changed after it was listed");
                        if let Some(wake) = pass.filter(|_| !cfg!(debug_assertions)) {
                            self.state.quiet_passes += 1;
                            if let Some(t) = wake {
                                ctx.wake_at(t);
                            }
                            continue;
                        }
                    }
                    let Some(pod) = self.quiet_version(at) else {
                        debug_assert!(false, "a pod listed as quiet is neither remembered nor dropped during this run");
                        continue;
                    };
                    pod
                }
            };
            if network_ready || matches!(&*pod, Object::Pod(p) if host_network(p)) {
                self.sync_pod_unless_quiet(ctx, &pod, shared);
            }
        }
        self.state.quiet_dropped.clear();
        if full_sync && network_ready && !indexed {
            // Every pod was looked at with these inputs: what did not hold
            // was synced, and is remembered again with them or unsettled.
            self.state.indexed_shared = Some(shared);
        }
        if !network_ready {
            ctx.wake_at(self.machine.booted_at.plus_millis(NETWORK_READY_AFTER_BOOT_MS));
        }
        if full_sync || !events.is_empty() || !static_changed.is_empty() {
            self.sync_mirror_pods(ctx);
        }
        let pod_left = events.iter().any(|ev| ev.kind == WatchEventType::Deleted)
            || !static_changed.is_empty()
            || self.state.pods.lists() != self.state.orphan_check_lists;
        if pod_left || !self.state.orphans_settled {
            self.cleanup_orphans(ctx);
        } else if cfg!(debug_assertions) {
            let (sandboxes, workers) = self.orphans();
            assert!(sandboxes.is_empty() && workers.is_empty(), "an orphan cleanup passed over would find {sandboxes:?} and {workers:?}");
        }
        if let Some(t) = self.machine.runtime.next_change() {
            ctx.wake_at(t);
        }
        let asked = ctx.pending_wake().unwrap_or(VirtualTime::from_millis(u64::MAX));
        self.state.next_full_sync = if full_sync { asked } else { self.state.next_full_sync.min(asked) };
        self.state.quiet_dropped.clear();
    }
}

#[cfg(test)]
mod text_tests {
    use super::{go_duration, quoted};

    /// Go's duration as it was formatted before it was written digit by digit.
    fn go_duration_formatted(ms: u64) -> String {
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

    #[test]
    fn durations_are_written_as_go_formats_them() {
        let edges = [0, 1, 9, 10, 999, 1000, 1001, 1010, 1100, 1234, 59_999, 60_000, 60_001, 61_500, 3_599_999, 3_600_000, 3_600_010, 86_400_000, 90_061_001, u64::MAX];
        for ms in edges.into_iter().chain((0..200_000).step_by(7)).chain((0..5_000_000).step_by(997)) {
            assert_eq!(go_duration(ms), go_duration_formatted(ms), "{ms} ms");
        }
        assert_eq!(go_duration(1_500), "1.5s");
        assert_eq!(go_duration(3_723_040), "1h2m3.04s");
    }

    #[test]
    fn texts_are_quoted_as_debug_quotes_them() {
        for text in ["nginx:1.27", "", "registry.k8s.io/pause:3.10", "a\"b", "back\\slash", "tab\there", "new\nline", "é", "\u{7f}", "it's", "~ {}"] {
            assert_eq!(quoted(text), format!("{text:?}"), "{text}");
        }
    }
}

#[cfg(test)]
mod quiet_table_tests {
    use super::*;

    #[test]
    fn quiet_entries_are_found_by_address_in_a_list_of_their_number() {
        let shared = SharedInputs { images: 0, configmaps: 0, secrets: 0, network_ready: true };
        let pods: Vec<Rc<Object>> = (0..5).map(|_| Rc::new(Object::Pod(Box::default()))).collect();
        let entry = |pod: &Rc<Object>, until: u64| QuietSync { pod: pod.clone(), wake: None, until: VirtualTime::from_secs(until), sandbox: 0, shared };
        let mut table = QuietTable::default();
        for (i, pod) in pods.iter().enumerate().rev() {
            table.insert(Rc::as_ptr(pod), entry(pod, i as u64));
        }
        table.insert(Rc::as_ptr(&pods[2]), entry(&pods[2], 20));
        let keys: Vec<*const Object> = table.keys().copied().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "in address order, one entry a version");
        assert_eq!(keys.len(), 5);
        assert_eq!(table.get(&Rc::as_ptr(&pods[2])).map(|q| q.until), Some(VirtualTime::from_secs(20)), "replaced");
        assert_eq!(table.remove(&Rc::as_ptr(&pods[4])).map(|q| q.until), Some(VirtualTime::from_secs(4)));
        assert!(table.get(&Rc::as_ptr(&pods[4])).is_none() && table.remove(&Rc::as_ptr(&pods[4])).is_none());
        assert_eq!(table.values().count(), 4);
    }
}
