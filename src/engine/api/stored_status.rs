//! A stored pod's status: k8s-openapi's `PodStatus` packed when it has the
//! shape kubelets and schedulers write.
//!
//! Every running pod's status holds five conditions, a phase, its node's
//! and its own address, a QoS class and a status for each container. In
//! k8s-openapi's structs that is about 2.7 KB a pod (a condition is 144
//! bytes before its type and status texts, a container status about 700
//! before its texts), and a busy cluster's memory is mostly pods. Packed,
//! the conditions' types and statuses, the phase and the QoS class are
//! numbers, the addresses four bytes, the times seconds, a container's
//! name, image and image ID texts shared by every pod that has them, and
//! its states in the forms a kubelet writes while it starts and runs it
//! are packed too.
//!
//! A status with anything outside that shape (a condition type or phase
//! no component writes, a fractional time, an address written unusually,
//! a message on the pod) is kept whole, as is a container status with a
//! field this simulation's kubelets do not write; so packing never changes
//! what is stored. Readers that run for every pod read the packed fields
//! ([`StoredStatus::phase`], [`StoredStatus::condition`],
//! [`StoredStatus::pod_ip`], [`StoredStatus::containers`], …); others
//! dereference to the `PodStatus`, which is unpacked once for this version
//! and kept with it.

use std::cell::{OnceCell, RefCell};
use std::net::Ipv4Addr;
use std::ops::Deref;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{ContainerState, ContainerStateRunning, ContainerStateWaiting, ContainerStatus, ContainerUser, HostIP, PodCondition, PodIP, PodStatus, VolumeMountStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::pod::TOKEN_VOLUME_PLACEHOLDER;

/// A pod's status as stored (see the module's comment).
pub struct StoredStatus {
    /// Set when packed.
    packed: Option<Packed>,
    /// Set when kept whole (`packed` is then `None`).
    whole: Option<Box<PodStatus>>,
    /// A packed status unpacked for a reader, kept with it.
    unpacked: OnceCell<Box<PodStatus>>,
}

/// What a [`StoredStatus`] holds.
enum View<'a> {
    Packed(&'a Packed),
    Whole(&'a PodStatus),
}

/// The values a phase, a condition's type or status, or a QoS class take,
/// each packed as its place here (0 is unset).
const PHASES: &[&str] = &["Pending", "Running", "Succeeded", "Failed", "Unknown"];
const CONDITION_TYPES: &[&str] = &[
    "PodScheduled",
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "DisruptionTarget",
    "PodResizePending",
    "PodResizeInProgress",
];
const CONDITION_STATUSES: &[&str] = &["True", "False", "Unknown"];
const QOS_CLASSES: &[&str] = &["Guaranteed", "Burstable", "BestEffort"];

/// `Some(place + 1)` of `text` among `values`, 0 for no text; `None` when
/// the text is not one of them.
fn pack_word(text: Option<&str>, values: &[&str]) -> Option<u8> {
    match text {
        None => Some(0),
        Some(text) => values.iter().position(|v| *v == text).and_then(|i| u8::try_from(i + 1).ok()),
    }
}

fn word(packed: u8, values: &'static [&'static str]) -> Option<&'static str> {
    values.get(usize::from(packed).checked_sub(1)?).copied()
}

/// A time in whole seconds; `NO_TIME` for none.
const NO_TIME: i64 = i64::MIN;

fn pack_time(time: Option<&Time>) -> Option<i64> {
    match time {
        None => Some(NO_TIME),
        Some(Time(t)) if t.subsec_nanosecond() == 0 && t.as_second() != NO_TIME => Some(t.as_second()),
        Some(_) => None,
    }
}

fn time(packed: i64) -> Option<Time> {
    if packed == NO_TIME {
        return None;
    }
    Timestamp::from_second(packed).ok().map(Time)
}

/// An IPv4 address written as `Ipv4Addr` writes it (so it reads back the
/// same): four decimal parts, none with a leading zero.
fn pack_ip(text: &str) -> Option<Ipv4Addr> {
    if text.split('.').any(|part| part.len() > 1 && part.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// An address and its list (`podIP` and `podIPs`, `hostIP` and `hostIPs`)
/// in the forms a kubelet writes: both unset, or the list holding the
/// address alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Addresses {
    None,
    One(Ipv4Addr),
}

impl Addresses {
    fn pack<'a>(ip: Option<&str>, listed: Option<impl ExactSizeIterator<Item = &'a str>>) -> Option<Addresses> {
        match (ip, listed) {
            (None, None) => Some(Addresses::None),
            (Some(ip), Some(mut listed)) => {
                let only = listed.len() == 1 && listed.next() == Some(ip);
                only.then(|| pack_ip(ip)).flatten().map(Addresses::One)
            }
            _ => None,
        }
    }

    fn ip(self) -> Option<Ipv4Addr> {
        match self {
            Addresses::None => None,
            Addresses::One(ip) => Some(ip),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PackedCondition {
    type_: u8,
    status: u8,
    last_transition: i64,
    /// What a condition seldom has: a reason, a message, a probe time.
    more: Option<Box<ConditionMore>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ConditionMore {
    reason: Option<String>,
    message: Option<String>,
    last_probe: i64,
    observed_generation: Option<i64>,
}

impl PackedCondition {
    fn pack(c: &PodCondition) -> Option<PackedCondition> {
        let type_ = pack_word(Some(&c.type_), CONDITION_TYPES)?;
        let status = pack_word(Some(&c.status), CONDITION_STATUSES)?;
        let last_transition = pack_time(c.last_transition_time.as_ref())?;
        let last_probe = pack_time(c.last_probe_time.as_ref())?;
        let plain = c.reason.is_none() && c.message.is_none() && last_probe == NO_TIME && c.observed_generation.is_none();
        let more = (!plain).then(|| Box::new(ConditionMore { reason: c.reason.clone(), message: c.message.clone(), last_probe, observed_generation: c.observed_generation }));
        Some(PackedCondition { type_, status, last_transition, more })
    }

    /// Whether `c` is the condition this packs.
    fn holds(&self, c: &PodCondition) -> bool {
        let more = self.more.as_deref();
        word(self.type_, CONDITION_TYPES) == Some(c.type_.as_str())
            && word(self.status, CONDITION_STATUSES) == Some(c.status.as_str())
            && pack_time(c.last_transition_time.as_ref()) == Some(self.last_transition)
            && pack_time(c.last_probe_time.as_ref()) == Some(more.map_or(NO_TIME, |m| m.last_probe))
            && c.reason.as_deref() == more.and_then(|m| m.reason.as_deref())
            && c.message.as_deref() == more.and_then(|m| m.message.as_deref())
            && c.observed_generation == more.and_then(|m| m.observed_generation)
    }

    fn unpack(&self) -> PodCondition {
        let more = self.more.as_deref();
        PodCondition {
            type_: word(self.type_, CONDITION_TYPES).unwrap_or_default().to_string(),
            status: word(self.status, CONDITION_STATUSES).unwrap_or_default().to_string(),
            last_transition_time: time(self.last_transition),
            last_probe_time: more.and_then(|m| time(m.last_probe)),
            reason: more.and_then(|m| m.reason.clone()),
            message: more.and_then(|m| m.message.clone()),
            observed_generation: more.and_then(|m| m.observed_generation),
        }
    }
}

/// A condition as read from a stored status, packed or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition<'a> {
    pub type_: &'a str,
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
    pub last_transition_time: Option<Time>,
}

impl<'a> Condition<'a> {
    fn of(c: &'a PodCondition) -> Self {
        Condition { type_: &c.type_, status: &c.status, reason: c.reason.as_deref(), message: c.message.as_deref(), last_transition_time: c.last_transition_time.clone() }
    }

    fn of_packed(c: &'a PackedCondition) -> Self {
        let more = c.more.as_deref();
        Condition {
            type_: word(c.type_, CONDITION_TYPES).unwrap_or_default(),
            status: word(c.status, CONDITION_STATUSES).unwrap_or_default(),
            reason: more.and_then(|m| m.reason.as_deref()),
            message: more.and_then(|m| m.message.as_deref()),
            last_transition_time: time(c.last_transition),
        }
    }
}

/// A packed status's fields other than its lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    phase: u8,
    qos_class: u8,
    host: Addresses,
    pod: Addresses,
    start_time: i64,
}

impl Head {
    /// `None` when a field has another shape, or a field no packed status
    /// holds is set.
    fn pack(s: &PodStatus) -> Option<Head> {
        let PodStatus {
            conditions: _,
            container_statuses: _,
            init_container_statuses: _,
            ephemeral_container_statuses,
            host_ip,
            host_ips,
            message,
            nominated_node_name,
            observed_generation,
            phase,
            pod_ip,
            pod_ips,
            qos_class,
            reason,
            resize,
            resource_claim_statuses,
            start_time,
        } = s;
        let rare = ephemeral_container_statuses.is_some() || message.is_some() || nominated_node_name.is_some() || observed_generation.is_some() || reason.is_some() || resize.is_some() || resource_claim_statuses.is_some();
        if rare {
            return None;
        }
        Some(Head {
            phase: pack_word(phase.as_deref(), PHASES)?,
            qos_class: pack_word(qos_class.as_deref(), QOS_CLASSES)?,
            host: Addresses::pack(host_ip.as_deref(), host_ips.as_deref().map(|l| l.iter().map(|h| h.ip.as_str())))?,
            pod: Addresses::pack(pod_ip.as_deref(), pod_ips.as_deref().map(|l| l.iter().map(|p| p.ip.as_str())))?,
            start_time: pack_time(start_time.as_ref())?,
        })
    }
}

/// What every reader of a container's status asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerSummary<'a> {
    pub name: &'a str,
    pub init: bool,
    pub ready: bool,
    pub restart_count: i32,
    pub container_id: Option<&'a str>,
}

impl<'a> ContainerSummary<'a> {
    fn of(c: &'a ContainerStatus, init: bool) -> Self {
        ContainerSummary { name: &c.name, init, ready: c.ready, restart_count: c.restart_count, container_id: c.container_id.as_deref() }
    }
}

thread_local! {
    /// Names, images and image IDs: the same few texts in every pod's status.
    static CONTAINER_TEXTS: RefCell<crate::engine::store::shared_texts::SharedTexts> = RefCell::default();
}

fn shared_text(text: &str) -> Rc<str> {
    CONTAINER_TEXTS.with(|texts| texts.borrow_mut().share(text))
}

/// A container's state in the forms a kubelet writes while it starts and
/// runs it; any other (a terminated container, a message) kept whole.
#[derive(Clone, Debug, PartialEq)]
enum PackedState {
    Unset,
    Empty,
    Waiting { reason: Option<Rc<str>> },
    Running { started_at: i64 },
    Other(Box<ContainerState>),
}

impl PackedState {
    fn pack(state: Option<ContainerState>) -> PackedState {
        match state {
            None => PackedState::Unset,
            Some(ContainerState { running: None, terminated: None, waiting: None }) => PackedState::Empty,
            Some(ContainerState { running: None, terminated: None, waiting: Some(ContainerStateWaiting { reason, message: None }) }) => PackedState::Waiting { reason: reason.as_deref().map(shared_text) },
            Some(ContainerState { running: Some(ContainerStateRunning { started_at }), terminated: None, waiting: None }) if pack_time(started_at.as_ref()).is_some() => {
                PackedState::Running { started_at: pack_time(started_at.as_ref()).unwrap_or(NO_TIME) }
            }
            Some(other) => PackedState::Other(Box::new(other)),
        }
    }

    fn holds(&self, state: Option<&ContainerState>) -> bool {
        match (self, state) {
            (PackedState::Unset, None) => true,
            (PackedState::Empty, Some(ContainerState { running: None, terminated: None, waiting: None })) => true,
            (PackedState::Waiting { reason }, Some(ContainerState { running: None, terminated: None, waiting: Some(ContainerStateWaiting { reason: theirs, message: None }) })) => reason.as_deref() == theirs.as_deref(),
            (PackedState::Running { started_at }, Some(ContainerState { running: Some(ContainerStateRunning { started_at: theirs }), terminated: None, waiting: None })) => pack_time(theirs.as_ref()) == Some(*started_at),
            (PackedState::Other(other), Some(state)) => **other == *state,
            _ => false,
        }
    }

    fn unpack(&self) -> Option<ContainerState> {
        match self {
            PackedState::Unset => None,
            PackedState::Empty => Some(ContainerState::default()),
            PackedState::Waiting { reason } => Some(ContainerState { waiting: Some(ContainerStateWaiting { reason: reason.as_deref().map(str::to_string), message: None }), ..Default::default() }),
            PackedState::Running { started_at } => Some(ContainerState { running: Some(ContainerStateRunning { started_at: time(*started_at) }), ..Default::default() }),
            PackedState::Other(other) => Some((**other).clone()),
        }
    }
}

/// A container's status with its repeated texts shared and its states
/// packed; one with a field a kubelet of this simulation does not write
/// (resources, a stop signal) kept whole.
#[derive(Clone, Debug, PartialEq)]
enum PackedContainer {
    Packed(Box<ContainerFields>),
    Whole(Box<ContainerStatus>),
}

#[derive(Clone, Debug, PartialEq)]
struct ContainerFields {
    name: Rc<str>,
    image: Rc<str>,
    image_id: Rc<str>,
    container_id: Option<Box<str>>,
    restart_count: i32,
    ready: bool,
    started: Option<bool>,
    state: PackedState,
    last_state: PackedState,
    user: Option<ContainerUser>,
    volume_mounts: Option<PackedMounts>,
}

/// A container's volume-mount statuses: the list shared with every
/// container whose list is the same but for its pod's token volume's name
/// (`kube-api-access-<suffix>`, drawn per pod), which is kept beside it.
/// About 190 bytes a pod as k8s-openapi's list and its texts.
#[derive(Clone, Debug, PartialEq)]
struct PackedMounts {
    list: Rc<[MountFields]>,
    /// The name of the one mount whose name in `list` is empty; `None` when
    /// `list` holds every name as written.
    own_name: Option<Box<str>>,
}

/// A [`VolumeMountStatus`] in a shared list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MountFields {
    name: String,
    mount_path: String,
    read_only: Option<bool>,
    recursive_read_only: Option<String>,
}

thread_local! {
    static MOUNT_LISTS: RefCell<crate::engine::store::shared_texts::Shared<[MountFields]>> = RefCell::default();
}

impl PackedMounts {
    fn pack(mounts: Vec<VolumeMountStatus>) -> PackedMounts {
        // The token volume's name is kept beside the list when exactly one
        // mount has such a name and none has an empty one (which stands for it).
        let is_token = |m: &VolumeMountStatus| m.name.starts_with(TOKEN_VOLUME_PLACEHOLDER);
        let separable = mounts.iter().filter(|m| is_token(m)).count() == 1 && mounts.iter().all(|m| !m.name.is_empty());
        let mut own_name = None;
        let fields: Vec<MountFields> = mounts
            .into_iter()
            .map(|m| {
                let name = if separable && is_token(&m) {
                    own_name = Some(m.name.into_boxed_str());
                    String::new()
                } else {
                    m.name
                };
                MountFields { name, mount_path: m.mount_path, read_only: m.read_only, recursive_read_only: m.recursive_read_only }
            })
            .collect();
        let list = MOUNT_LISTS.with(|lists| lists.borrow_mut().share_with(&fields, |f| Rc::from(f)));
        PackedMounts { list, own_name }
    }

    /// The name of the mount at `m` in the list.
    fn name<'a>(&'a self, m: &'a MountFields) -> &'a str {
        match &self.own_name {
            Some(own) if m.name.is_empty() => own,
            _ => &m.name,
        }
    }

    fn holds(&self, mounts: &[VolumeMountStatus]) -> bool {
        self.list.len() == mounts.len()
            && self.list.iter().zip(mounts).all(|(m, theirs)| {
                self.name(m) == theirs.name && m.mount_path == theirs.mount_path && m.read_only == theirs.read_only && m.recursive_read_only == theirs.recursive_read_only
            })
    }

    fn unpack(&self) -> Vec<VolumeMountStatus> {
        self.list
            .iter()
            .map(|m| VolumeMountStatus { name: self.name(m).to_string(), mount_path: m.mount_path.clone(), read_only: m.read_only, recursive_read_only: m.recursive_read_only.clone() })
            .collect()
    }
}

/// Whether a container status has a field this simulation's kubelets do
/// not write (such a status is kept whole).
fn has_rare_fields(c: &ContainerStatus) -> bool {
    c.allocated_resources.is_some() || c.allocated_resources_status.is_some() || c.resources.is_some() || c.stop_signal.is_some()
}

impl PackedContainer {
    fn pack(c: ContainerStatus) -> PackedContainer {
        if has_rare_fields(&c) {
            return PackedContainer::Whole(Box::new(c));
        }
        PackedContainer::Packed(Box::new(ContainerFields {
            name: shared_text(&c.name),
            image: shared_text(&c.image),
            image_id: shared_text(&c.image_id),
            container_id: c.container_id.map(String::into_boxed_str),
            restart_count: c.restart_count,
            ready: c.ready,
            started: c.started,
            state: PackedState::pack(c.state),
            last_state: PackedState::pack(c.last_state),
            user: c.user,
            volume_mounts: c.volume_mounts.map(PackedMounts::pack),
        }))
    }

    /// Whether `c` is the status this packs.
    fn holds(&self, c: &ContainerStatus) -> bool {
        match self {
            PackedContainer::Whole(whole) => **whole == *c,
            PackedContainer::Packed(p) => {
                !has_rare_fields(c)
                    && *p.name == *c.name
                    && *p.image == *c.image
                    && *p.image_id == *c.image_id
                    && p.container_id.as_deref() == c.container_id.as_deref()
                    && p.restart_count == c.restart_count
                    && p.ready == c.ready
                    && p.started == c.started
                    && p.state.holds(c.state.as_ref())
                    && p.last_state.holds(c.last_state.as_ref())
                    && p.user == c.user
                    && match (&p.volume_mounts, &c.volume_mounts) {
                        (Some(packed), Some(theirs)) => packed.holds(theirs),
                        (None, None) => true,
                        _ => false,
                    }
            }
        }
    }

    fn unpack(&self) -> ContainerStatus {
        match self {
            PackedContainer::Whole(whole) => (**whole).clone(),
            PackedContainer::Packed(p) => ContainerStatus {
                name: p.name.to_string(),
                image: p.image.to_string(),
                image_id: p.image_id.to_string(),
                container_id: p.container_id.as_deref().map(str::to_string),
                restart_count: p.restart_count,
                ready: p.ready,
                started: p.started,
                state: p.state.unpack(),
                last_state: p.last_state.unpack(),
                user: p.user.clone(),
                volume_mounts: p.volume_mounts.as_ref().map(PackedMounts::unpack),
                ..Default::default()
            },
        }
    }

    fn summary(&self, init: bool) -> ContainerSummary<'_> {
        match self {
            PackedContainer::Whole(whole) => ContainerSummary::of(whole, init),
            PackedContainer::Packed(p) => ContainerSummary { name: &p.name, init, ready: p.ready, restart_count: p.restart_count, container_id: p.container_id.as_deref() },
        }
    }
}

fn containers_hold(packed: Option<&[PackedContainer]>, whole: Option<&[ContainerStatus]>) -> bool {
    match (packed, whole) {
        (None, None) => true,
        (Some(packed), Some(whole)) => packed.len() == whole.len() && packed.iter().zip(whole).all(|(p, c)| p.holds(c)),
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Packed {
    head: Head,
    conditions: Option<Box<[PackedCondition]>>,
    container_statuses: Option<Box<[PackedContainer]>>,
    init_container_statuses: Option<Box<[PackedContainer]>>,
}

impl Packed {
    /// The status packed, or back as it was when it has another shape.
    fn pack(s: PodStatus) -> Result<Packed, PodStatus> {
        let Some(head) = Head::pack(&s) else { return Err(s) };
        let conditions = match &s.conditions {
            None => None,
            Some(list) => {
                // Of its exact length: a collect through `Option` does not
                // know it, and grew the list and shrank it again.
                let mut packed = Vec::with_capacity(list.len());
                for c in list {
                    match PackedCondition::pack(c) {
                        Some(c) => packed.push(c),
                        None => return Err(s),
                    }
                }
                Some(packed.into_boxed_slice())
            }
        };
        let containers = |list: Option<Vec<ContainerStatus>>| list.map(|list| list.into_iter().map(PackedContainer::pack).collect());
        Ok(Packed { head, conditions, container_statuses: containers(s.container_statuses), init_container_statuses: containers(s.init_container_statuses) })
    }

    /// Whether `s` is the status this packs, compared without making either.
    fn holds(&self, s: &PodStatus) -> bool {
        let conditions_equal = match (&self.conditions, &s.conditions) {
            (None, None) => true,
            (Some(packed), Some(list)) => packed.len() == list.len() && packed.iter().zip(list).all(|(p, c)| p.holds(c)),
            _ => false,
        };
        conditions_equal
            && Head::pack(s).is_some_and(|head| head == self.head)
            && containers_hold(self.container_statuses.as_deref(), s.container_statuses.as_deref())
            && containers_hold(self.init_container_statuses.as_deref(), s.init_container_statuses.as_deref())
    }

    fn unpack(&self) -> PodStatus {
        let head = &self.head;
        let host_ip = head.host.ip().map(|ip| ip.to_string());
        let pod_ip = head.pod.ip().map(|ip| ip.to_string());
        PodStatus {
            conditions: self.conditions.as_ref().map(|list| list.iter().map(PackedCondition::unpack).collect()),
            container_statuses: self.container_statuses.as_ref().map(|list| list.iter().map(PackedContainer::unpack).collect()),
            init_container_statuses: self.init_container_statuses.as_ref().map(|list| list.iter().map(PackedContainer::unpack).collect()),
            host_ips: host_ip.clone().map(|ip| vec![HostIP { ip }]),
            host_ip,
            pod_ips: pod_ip.clone().map(|ip| vec![PodIP { ip }]),
            pod_ip,
            phase: word(head.phase, PHASES).map(str::to_string),
            qos_class: word(head.qos_class, QOS_CLASSES).map(str::to_string),
            start_time: time(head.start_time),
            ..PodStatus::default()
        }
    }
}

impl StoredStatus {
    /// Packed when it has the usual shape, else kept whole.
    pub fn new(status: PodStatus) -> Self {
        match Packed::pack(status) {
            Ok(packed) => StoredStatus { packed: Some(packed), whole: None, unpacked: OnceCell::new() },
            Err(status) => StoredStatus { packed: None, whole: Some(Box::new(status)), unpacked: OnceCell::new() },
        }
    }

    fn view(&self) -> View<'_> {
        match (&self.packed, &self.whole) {
            (_, Some(whole)) => View::Whole(whole),
            (Some(packed), None) => View::Packed(packed),
            // Not made: one of the two is always set.
            (None, None) => View::Whole(self.unpacked.get_or_init(Box::default)),
        }
    }

    /// The status to change in place: unpacked and kept whole until it is
    /// packed again ([`StoredStatus::repack`]).
    pub fn whole_mut(&mut self) -> &mut PodStatus {
        let whole = match (self.packed.take(), self.whole.take()) {
            (_, Some(whole)) => whole,
            (Some(packed), None) => self.unpacked.take().unwrap_or_else(|| Box::new(packed.unpack())),
            (None, None) => Box::default(),
        };
        self.whole.insert(whole)
    }

    /// Packs a status a writer changed in place, if it has the usual shape.
    pub fn repack(&mut self) {
        if let Some(whole) = self.whole.take() {
            *self = StoredStatus::new(*whole);
        }
    }

    /// The k8s-openapi status, without keeping an unpacked copy.
    pub fn into_whole(self) -> PodStatus {
        match (self.packed, self.whole) {
            (_, Some(whole)) => *whole,
            (Some(packed), None) => self.unpacked.into_inner().map_or_else(|| packed.unpack(), |b| *b),
            (None, None) => PodStatus::default(),
        }
    }

    /// The k8s-openapi status, made for this call alone when packed.
    pub fn to_whole(&self) -> std::borrow::Cow<'_, PodStatus> {
        match (self.view(), self.unpacked.get()) {
            (View::Whole(whole), _) => std::borrow::Cow::Borrowed(whole),
            (View::Packed(_), Some(unpacked)) => std::borrow::Cow::Borrowed(unpacked),
            (View::Packed(packed), None) => std::borrow::Cow::Owned(packed.unpack()),
        }
    }

    pub fn is_packed(&self) -> bool {
        matches!(self.view(), View::Packed(_))
    }

    /// Whether this is kept whole but would pack ([`StoredStatus::repack`]).
    pub fn packs_whole(&self) -> bool {
        match self.view() {
            View::Packed(_) => false,
            View::Whole(whole) => Head::pack(whole).is_some() && whole.conditions.iter().flatten().all(|c| PackedCondition::pack(c).is_some()),
        }
    }

    pub fn phase(&self) -> Option<&str> {
        match self.view() {
            View::Packed(packed) => word(packed.head.phase, PHASES),
            View::Whole(whole) => whole.phase.as_deref(),
        }
    }

    /// The first condition of this type, as `podutil.GetPodCondition` finds it.
    pub fn condition(&self, type_: &str) -> Option<Condition<'_>> {
        self.conditions().find(|c| c.type_ == type_)
    }

    pub fn conditions(&self) -> impl Iterator<Item = Condition<'_>> {
        let (packed, whole) = self.condition_lists();
        packed.iter().map(Condition::of_packed).chain(whole.iter().map(Condition::of))
    }

    /// The conditions, packed or whole (the other list empty).
    fn condition_lists(&self) -> (&[PackedCondition], &[PodCondition]) {
        match self.view() {
            View::Packed(packed) => (packed.conditions.as_deref().unwrap_or_default(), &[]),
            View::Whole(whole) => (&[], whole.conditions.as_deref().unwrap_or_default()),
        }
    }

    /// The conditions of types other than `types`, as k8s-openapi's, each
    /// made (or copied) for the caller.
    pub fn conditions_except<'a>(&'a self, types: &'a [&str]) -> impl Iterator<Item = PodCondition> + 'a {
        let (packed, whole) = self.condition_lists();
        let kept = |type_: &str| !types.contains(&type_);
        packed.iter().filter(move |c| kept(word(c.type_, CONDITION_TYPES).unwrap_or_default())).map(PackedCondition::unpack).chain(whole.iter().filter(move |c| kept(&c.type_)).cloned())
    }

    /// The k8s-openapi status when it is kept whole (or already unpacked):
    /// a packed status's fields other than those read here are all unset.
    pub fn whole(&self) -> Option<&PodStatus> {
        match self.view() {
            View::Packed(_) => self.unpacked.get().map(|b| &**b),
            View::Whole(whole) => Some(whole),
        }
    }

    pub fn pod_ip(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.view() {
            View::Packed(packed) => packed.head.pod.ip().map(|ip| std::borrow::Cow::Owned(ip.to_string())),
            View::Whole(whole) => whole.pod_ip.as_deref().map(std::borrow::Cow::Borrowed),
        }
    }

    pub fn host_ip(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.view() {
            View::Packed(packed) => packed.head.host.ip().map(|ip| std::borrow::Cow::Owned(ip.to_string())),
            View::Whole(whole) => whole.host_ip.as_deref().map(std::borrow::Cow::Borrowed),
        }
    }

    pub fn start_time(&self) -> Option<Time> {
        match self.view() {
            View::Packed(packed) => time(packed.head.start_time),
            View::Whole(whole) => whole.start_time.clone(),
        }
    }

    /// Never set on a packed status.
    pub fn nominated_node_name(&self) -> Option<&str> {
        self.whole()?.nominated_node_name.as_deref()
    }

    pub fn qos_class(&self) -> Option<&str> {
        match self.view() {
            View::Packed(packed) => word(packed.head.qos_class, QOS_CLASSES),
            View::Whole(whole) => whole.qos_class.as_deref(),
        }
    }

    /// Whether a container status reports the resources its container
    /// runs with (a kubelet writes them for a resized pod): the scheduler
    /// then counts them too. Cheap for the usual packed status.
    pub fn reports_container_resources(&self) -> bool {
        match self.view() {
            View::Packed(p) => p.container_statuses.iter().chain(p.init_container_statuses.iter()).flatten().any(|c| matches!(c, PackedContainer::Whole(c) if c.resources.is_some())),
            View::Whole(w) => w.container_statuses.iter().chain(w.init_container_statuses.iter()).flatten().any(|c| c.resources.is_some()),
        }
    }

    /// The containers' statuses, then the init containers'.
    pub fn containers(&self) -> impl Iterator<Item = ContainerSummary<'_>> {
        fn list<T>(l: Option<&[T]>) -> &[T] {
            l.unwrap_or_default()
        }
        let ((packed, packed_init), (whole, whole_init)) = match self.view() {
            View::Packed(p) => ((list(p.container_statuses.as_deref()), list(p.init_container_statuses.as_deref())), (&[][..], &[][..])),
            View::Whole(w) => ((&[][..], &[][..]), (list(w.container_statuses.as_deref()), list(w.init_container_statuses.as_deref()))),
        };
        let packed = packed.iter().map(|c| c.summary(false)).chain(packed_init.iter().map(|c| c.summary(true)));
        let whole = whole.iter().map(|c| ContainerSummary::of(c, false)).chain(whole_init.iter().map(|c| ContainerSummary::of(c, true)));
        packed.chain(whole)
    }
}

impl From<PodStatus> for StoredStatus {
    fn from(status: PodStatus) -> Self {
        StoredStatus::new(status)
    }
}

impl Default for StoredStatus {
    fn default() -> Self {
        StoredStatus::new(PodStatus::default())
    }
}

impl Clone for StoredStatus {
    /// Without the unpacked copy: the clone is made to be changed.
    fn clone(&self) -> Self {
        StoredStatus { packed: self.packed.clone(), whole: self.whole.clone(), unpacked: OnceCell::new() }
    }
}

impl Deref for StoredStatus {
    type Target = PodStatus;

    fn deref(&self) -> &PodStatus {
        match self.view() {
            View::Packed(packed) => self.unpacked.get_or_init(|| Box::new(packed.unpack())),
            View::Whole(whole) => whole,
        }
    }
}

impl PartialEq for StoredStatus {
    /// Packing is exact and every status of the usual shape is packed, so
    /// two packed statuses are equal when their packed forms are.
    fn eq(&self, other: &Self) -> bool {
        match (self.view(), other.view()) {
            (View::Packed(a), View::Packed(b)) => a == b,
            (View::Whole(a), View::Whole(b)) => a == b,
            _ => *self.to_whole() == *other.to_whole(),
        }
    }
}

impl PartialEq<PodStatus> for StoredStatus {
    fn eq(&self, other: &PodStatus) -> bool {
        match self.view() {
            View::Packed(packed) => packed.holds(other),
            View::Whole(whole) => *whole == *other,
        }
    }
}

impl std::fmt::Debug for StoredStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_whole().fmt(f)
    }
}

impl serde::Serialize for StoredStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_whole().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerStateTerminated, LinuxContainerUser};

    fn at(secs: i64) -> Option<Time> {
        Some(Time(Timestamp::from_second(secs).unwrap()))
    }

    fn condition(type_: &str, status: &str, secs: i64) -> PodCondition {
        PodCondition { type_: type_.into(), status: status.into(), last_transition_time: at(secs), ..Default::default() }
    }

    /// A running pod's status, as a kubelet writes it.
    fn running() -> PodStatus {
        PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![
                condition("PodReadyToStartContainers", "True", 1_767_225_610),
                condition("Initialized", "True", 1_767_225_605),
                condition("Ready", "True", 1_767_225_612),
                condition("ContainersReady", "True", 1_767_225_612),
                condition("PodScheduled", "True", 1_767_225_600),
            ]),
            host_ip: Some("172.18.0.3".into()),
            host_ips: Some(vec![HostIP { ip: "172.18.0.3".into() }]),
            pod_ip: Some("10.244.1.7".into()),
            pod_ips: Some(vec![PodIP { ip: "10.244.1.7".into() }]),
            qos_class: Some("BestEffort".into()),
            start_time: at(1_767_225_601),
            container_statuses: Some(vec![ContainerStatus {
                name: "web".into(),
                image: "docker.io/library/nginx:1.27".into(),
                ready: true,
                started: Some(true),
                state: Some(ContainerState { running: Some(ContainerStateRunning { started_at: at(1_767_225_611) }), ..Default::default() }),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    /// Statuses of other shapes: each must be kept whole, and read back as written.
    fn unusual() -> Vec<PodStatus> {
        let changes: [fn(&mut PodStatus); 10] = [
            |s| s.nominated_node_name = Some("worker-1".into()),
            |s| s.conditions.get_or_insert_default().push(condition("example.com/gate", "True", 1_767_225_600)),
            |s| s.conditions.get_or_insert_default()[0].status = "Maybe".into(),
            |s| s.phase = Some("Waiting".into()),
            |s| {
                s.pod_ip = Some("10.244.01.7".into());
                s.pod_ips = Some(vec![PodIP { ip: "10.244.01.7".into() }]);
            },
            |s| s.pod_ips = Some(vec![PodIP { ip: "10.244.1.7".into() }, PodIP { ip: "fd00::7".into() }]),
            |s| s.pod_ips = None,
            |s| {
                s.host_ip = Some("fd00::3".into());
                s.host_ips = Some(vec![HostIP { ip: "fd00::3".into() }]);
            },
            |s| s.start_time = Some(Time(Timestamp::from_second(1_767_225_601).unwrap() + k8s_openapi::jiff::SignedDuration::from_millis(5))),
            |s| s.message = Some("evicted".into()),
        ];
        changes
            .iter()
            .map(|change| {
                let mut s = running();
                change(&mut s);
                s
            })
            .collect()
    }

    /// Statuses of the usual shape besides the running one: each must pack.
    fn usual() -> Vec<PodStatus> {
        let mut out = vec![running(), PodStatus::default(), PodStatus { phase: Some("Pending".into()), ..Default::default() }];
        // Volume-mount statuses: the token volume's name kept beside a
        // shared list, or the list as written when that name is not one.
        let mount = |name: &str, path: &str| VolumeMountStatus { name: name.into(), mount_path: path.into(), read_only: Some(true), recursive_read_only: Some("Disabled".into()) };
        let token_path = "/var/run/secrets/kubernetes.io/serviceaccount";
        for mounts in [
            vec![mount("data", "/data"), mount("kube-api-access-x7k2p", token_path)],
            vec![mount("data", "/data"), mount("kube-api-access-b9q4w", token_path)],
            vec![mount("kube-api-access-x7k2p", token_path), mount("kube-api-access-b9q4w", "/other")],
            vec![mount("", "/data"), mount("kube-api-access-x7k2p", token_path)],
            vec![mount("", "/data")],
            vec![],
        ] {
            let mut s = running();
            if let Some(c) = s.container_statuses.as_mut().and_then(|c| c.first_mut()) {
                c.volume_mounts = Some(mounts);
            }
            out.push(s);
        }
        let mut s = running();
        s.conditions.as_mut().unwrap()[2] = PodCondition {
            reason: Some("ContainersNotReady".into()),
            message: Some("containers with unready status: [web]".into()),
            ..condition("Ready", "False", 1_767_225_612)
        };
        out.push(s);
        let mut s = running();
        s.conditions = Some(Vec::new());
        out.push(s);
        let mut s = running();
        s.conditions.as_mut().unwrap()[4].last_transition_time = None;
        s.conditions.as_mut().unwrap()[4].last_probe_time = at(1_767_225_600);
        s.conditions.as_mut().unwrap()[4].observed_generation = Some(3);
        out.push(s);
        let mut s = running();
        s.pod_ip = None;
        s.pod_ips = None;
        s.qos_class = Some("Guaranteed".into());
        out.push(s);
        // Containers as they start, end and restart, and one with a field
        // packing leaves whole.
        let waiting = ContainerStatus {
            name: "web".into(),
            image: "nginx".into(),
            started: Some(false),
            state: Some(ContainerState { waiting: Some(ContainerStateWaiting { reason: Some("ContainerCreating".into()), message: None }), ..Default::default() }),
            last_state: Some(ContainerState::default()),
            ..Default::default()
        };
        let ended = ContainerState {
            terminated: Some(ContainerStateTerminated { exit_code: 1, reason: Some("Error".into()), finished_at: at(1_767_225_700), container_id: Some("containerd://0a1b".into()), ..Default::default() }),
            ..Default::default()
        };
        let restarted = ContainerStatus {
            restart_count: 2,
            container_id: Some("containerd://0a1b".into()),
            image_id: "docker.io/library/busybox@sha256:0f3e".into(),
            user: Some(ContainerUser { linux: Some(LinuxContainerUser { uid: 0, gid: 0, supplemental_groups: Some(vec![0, 10]) }) }),
            volume_mounts: Some(vec![VolumeMountStatus { name: "data".into(), mount_path: "/data".into(), read_only: Some(true), recursive_read_only: Some("Disabled".into()) }]),
            state: Some(ended.clone()),
            last_state: Some(ended),
            ..waiting.clone()
        };
        let signalled = ContainerStatus { stop_signal: Some("SIGTERM".into()), ..waiting.clone() };
        let unset = ContainerStatus { state: None, last_state: None, ..waiting.clone() };
        let messaged = ContainerStatus {
            state: Some(ContainerState { waiting: Some(ContainerStateWaiting { reason: Some("ErrImagePull".into()), message: Some("not found".into()) }), ..Default::default() }),
            ..waiting.clone()
        };
        for (containers, init) in [(vec![waiting.clone()], None), (vec![restarted.clone(), signalled], Some(vec![unset, messaged])), (vec![], Some(vec![restarted]))] {
            let mut s = running();
            s.container_statuses = Some(containers);
            s.init_container_statuses = init;
            out.push(s);
        }
        out
    }

    #[test]
    fn the_usual_shapes_pack_and_read_back_as_written() {
        for status in usual() {
            let stored = StoredStatus::new(status.clone());
            assert!(stored.is_packed(), "{status:?}");
            assert_eq!(*stored, status);
            assert!(stored == status, "compared packed with whole");
            assert_eq!(stored.clone().into_whole(), status);
            assert_eq!(stored.phase(), status.phase.as_deref());
            assert_eq!(stored.qos_class(), status.qos_class.as_deref());
            assert_eq!(stored.pod_ip().as_deref(), status.pod_ip.as_deref());
            assert_eq!(stored.host_ip().as_deref(), status.host_ip.as_deref());
            assert_eq!(stored.start_time(), status.start_time);
            let containers: Vec<_> = stored.containers().collect();
            let expected: Vec<_> = status.container_statuses.iter().flatten().map(|c| ContainerSummary::of(c, false)).chain(status.init_container_statuses.iter().flatten().map(|c| ContainerSummary::of(c, true))).collect();
            assert_eq!(containers, expected);
            let read: Vec<_> = stored.conditions().collect();
            let written: Vec<_> = status.conditions.iter().flatten().map(Condition::of).collect();
            assert_eq!(read, written);
            let others: Vec<_> = stored.conditions_except(&["Ready", "PodScheduled"]).collect();
            let expected: Vec<_> = status.conditions.iter().flatten().filter(|c| c.type_ != "Ready" && c.type_ != "PodScheduled").cloned().collect();
            assert_eq!(others, expected);
            assert_eq!(serde_json::to_value(&stored).unwrap(), serde_json::to_value(&status).unwrap());
        }
    }

    #[test]
    fn pods_of_a_template_share_one_list_of_mount_statuses() {
        let mount = |name: &str| VolumeMountStatus { name: name.into(), mount_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(), read_only: Some(true), recursive_read_only: Some("Disabled".into()) };
        let packed_mounts = |token: &str| {
            let mut c = running().container_statuses.unwrap_or_default().remove(0);
            c.volume_mounts = Some(vec![mount(token)]);
            match PackedContainer::pack(c) {
                PackedContainer::Packed(p) => p.volume_mounts,
                PackedContainer::Whole(_) => None,
            }
        };
        let (Some(a), Some(b)) = (packed_mounts("kube-api-access-x7k2p"), packed_mounts("kube-api-access-b9q4w")) else { panic!("packed") };
        assert!(Rc::ptr_eq(&a.list, &b.list));
        assert_eq!((a.own_name.as_deref(), b.own_name.as_deref()), (Some("kube-api-access-x7k2p"), Some("kube-api-access-b9q4w")));
        assert_eq!(b.unpack(), vec![mount("kube-api-access-b9q4w")]);
    }

    #[test]
    fn other_shapes_are_kept_whole() {
        for status in unusual() {
            let stored = StoredStatus::new(status.clone());
            assert!(!stored.is_packed(), "{status:?}");
            assert!(!stored.packs_whole());
            assert_eq!(*stored, status);
            assert!(stored == status);
            assert_eq!(stored.phase(), status.phase.as_deref());
            assert_eq!(stored.pod_ip().as_deref(), status.pod_ip.as_deref());
            assert_eq!(stored.nominated_node_name(), status.nominated_node_name.as_deref());
        }
    }

    #[test]
    fn statuses_are_equal_exactly_when_what_they_hold_is() {
        let all: Vec<PodStatus> = usual().into_iter().chain(unusual()).collect();
        for a in &all {
            for b in &all {
                let (stored_a, stored_b) = (StoredStatus::new(a.clone()), StoredStatus::new(b.clone()));
                assert_eq!(stored_a == stored_b, a == b, "{a:?}\n{b:?}");
                assert_eq!(stored_a == *b, a == b, "{a:?}\n{b:?}");
            }
        }
    }

    #[test]
    fn a_status_changed_in_place_packs_again() {
        let mut stored = StoredStatus::new(running());
        let _ = stored.phase.as_deref();
        assert!(stored.whole().is_some(), "read whole, it is kept unpacked");
        assert!(stored.clone().whole().is_none(), "a copy leaves the unpacked status behind");
        stored.whole_mut().phase = Some("Succeeded".into());
        assert!(!stored.is_packed() && stored.packs_whole());
        stored.repack();
        assert!(stored.is_packed() && stored.whole().is_none());
        assert_eq!(stored.phase(), Some("Succeeded"));
        stored.whole_mut().nominated_node_name = Some("worker-2".into());
        stored.repack();
        assert!(!stored.is_packed(), "a field a packed status cannot hold keeps it whole");
        assert_eq!(stored.nominated_node_name(), Some("worker-2"));
    }

    #[test]
    fn a_settled_clusters_pods_keep_their_statuses_packed() {
        use crate::engine::api::{ids, Object};
        use crate::engine::apiserver::Query;
        use crate::engine::cluster::{Cluster, Profile, ProfileKind};
        use crate::engine::kubectl::{self, NoFiles};
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 7);
        for line in ["kubectl create deployment web --image=nginx --replicas=4", "kubectl expose deployment web --port=80"] {
            let out = kubectl::run(&mut cluster, line, None, &NoFiles);
            assert_eq!(out.exit_code, 0, "{}", out.combined());
        }
        cluster.sim.run_for_ms(60_000);
        let (pods, _) = cluster.sim.api.list(&Query::all(ids::pods())).unwrap();
        let mut running = 0;
        for pod in &pods {
            let Object::Pod(pod) = &**pod else { continue };
            let status = pod.status.as_deref().unwrap();
            assert!(status.is_packed(), "{:?}: {status:?}", pod.metadata.name);
            running += usize::from(status.phase() == Some("Running"));
            if pod.metadata.name.as_deref().is_some_and(|n| n.starts_with("web-")) {
                // What every component read of it, it read without unpacking it.
                assert!(status.whole().is_none(), "{:?} was unpacked", pod.metadata.name);
            }
        }
        assert!(running >= 4, "{running} running");
    }
}
