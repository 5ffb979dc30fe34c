//! External provisioners, as sig-storage-lib-external-provisioner runs them:
//! a process outside the controller manager that watches claims and volumes
//! through the API server only. It provisions a volume for a claim whose
//! `volume.kubernetes.io/storage-provisioner` annotation (set by the
//! PersistentVolume controller) names it (for a WaitForFirstConsumer class,
//! once the scheduler has picked a node), creates the PersistentVolume
//! `pvc-<claim uid>` pre-bound to the claim, and deletes the volumes it made
//! once they are Released with the Delete policy.
//!
//! Each provisioner is a stoppable component (`storage-provisioner` on
//! minikube, `local-path-provisioner` on the kind-like profile) whose
//! process lives in its pod's container: it starts once that container
//! runs (its host name is the pod's) and is gone when the container stops.
//! Stopped, its container fails at once each time the kubelet restarts it,
//! claims wait in Pending and released volumes stay Released; started
//! again, it runs from the container's next restart (after the kubelet's
//! back-off), lists everything and catches up.
//!
//! `hostpath` and `local_path` are the two backends.

pub mod hostpath;
pub mod local_path;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

use crate::engine::api::{ids, Object, ObjectKey, Reason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, Query, WatchEventType};
use crate::engine::controllers::queue::WorkQueue;
use crate::engine::informer::Informer;
use crate::engine::node::programs;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

use super::data::{self, DataLocation};
use super::{claim_class, claim_volume_name, is_wait_for_first_consumer, reclaim_policy, volume_phase, ANN_BETA_STORAGE_PROVISIONER, ANN_DYNAMICALLY_PROVISIONED, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER};

/// How often a provisioner waiting for its container looks again.
const WAIT_FOR_CONTAINER_MS: u64 = 2_000;
/// The library's informer resync period.
const RESYNC_MS: u64 = 15 * 60_000;
/// Failed claims and volumes come back after 15 s, doubling to 1000 s...
const RETRY_BASE_MS: u64 = 15_000;
const RETRY_MAX_MS: u64 = 1_000_000;
/// ...and are given up after this many failures (`FailedProvisionThreshold`).
const FAILURE_THRESHOLD: u32 = 15;

/// What a provisioner is asked to make.
pub struct ProvisionRequest<'a> {
    pub claim: &'a PersistentVolumeClaim,
    pub class: &'a StorageClass,
    /// The scheduler's pick for a WaitForFirstConsumer claim.
    pub node: Option<&'a Node>,
    /// `pvc-<claim uid>`.
    pub volume_name: String,
}

pub enum DeleteOutcome {
    Deleted(Option<DataLocation>),
    /// Not this provisioner instance's volume: left for another.
    Ignored,
    Failed(String),
}

/// One provisioner implementation (the library's `Provisioner` interface).
pub trait Backend {
    /// The name storage classes use, e.g. `k8s.io/minikube-hostpath`.
    fn provisioner_name(&self) -> &'static str;
    /// The process's host name, part of its event source.
    fn hostname(&self) -> &str;
    /// The process started: forget per-process state.
    fn restart(&mut self, rng: &mut fastrand::Rng);
    /// The host name the process found in its container (its pod's name,
    /// or its node's on the host network).
    fn set_hostname(&mut self, _hostname: &str) {}
    /// How long provisioning and deleting take (the real ones run a helper
    /// pod or create a directory).
    fn provision_ms(&self) -> u64;
    fn delete_ms(&self) -> u64;
    /// The volume, or why it cannot be made (in the provisioner's words).
    fn provision(&self, request: &ProvisionRequest) -> Result<(PersistentVolume, DataLocation), String>;
    fn delete(&self, volume: &PersistentVolume) -> DeleteOutcome;
    /// Whether a missing selected node sends the claim back to the
    /// scheduler (library v7+) or is an error to retry (older ones).
    fn reschedules_on_missing_node(&self) -> bool;
}

/// A random version-4 UUID, as `uuid.NewUUID()` gives one.
pub fn uuid(rng: &mut fastrand::Rng) -> String {
    let a = rng.u64(..);
    let b = rng.u64(..);
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Claim(ObjectKey),
    Volume(String),
}

/// Work started and finishing at a later instant.
enum Operation {
    Provision { claim: ObjectKey, volume: PersistentVolume, location: DataLocation },
    Delete { volume: PersistentVolume },
}

pub struct ExternalProvisioner {
    component: String,
    backend: Box<dyn Backend>,
    rng: fastrand::Rng,
    /// `<provisioner>_<hostname>_<uuid>`, the event source; new per start.
    identity: Option<String>,
    /// The container the process runs in: it works only while that runs.
    instance: Option<programs::Instance>,
    recorder: EventRecorder,
    claims: Informer,
    volumes: Informer,
    classes: Informer,
    queue: WorkQueue<Key>,
    failures: HashMap<Key, u32>,
    running: BTreeMap<(VirtualTime, u64), (Key, Operation)>,
    running_keys: HashMap<Key, (VirtualTime, u64)>,
    seq: u64,
    next_resync: Option<VirtualTime>,
    primed: bool,
}

fn typed<T: Clone>(obj: Option<&Rc<Object>>, pick: impl Fn(&Object) -> Option<&T>) -> Option<T> {
    obj.and_then(|o| pick(o)).cloned()
}

fn as_claim(o: &Object) -> Option<&PersistentVolumeClaim> {
    if let Object::PersistentVolumeClaim(c) = o {
        Some(c)
    } else {
        None
    }
}

fn as_volume(o: &Object) -> Option<&PersistentVolume> {
    if let Object::PersistentVolume(v) = o {
        Some(v)
    } else {
        None
    }
}

impl ExternalProvisioner {
    /// `component` is the switch's name; `seed` feeds the provisioner's own
    /// random identities, so they never disturb the simulation's RNG.
    pub fn new(component: &str, backend: Box<dyn Backend>, seed: u64) -> Self {
        ExternalProvisioner {
            component: component.to_string(),
            backend,
            rng: fastrand::Rng::with_seed(seed ^ 0x7072_6f76_6973_696f),
            identity: None,
            instance: None,
            recorder: EventRecorder::new("", None),
            claims: Informer::new(Query::all(ids::persistent_volume_claims())),
            volumes: Informer::new(Query::all(ids::persistent_volumes())),
            classes: Informer::new(Query::all(ids::storage_classes())),
            queue: WorkQueue::default(),
            failures: HashMap::new(),
            running: BTreeMap::new(),
            running_keys: HashMap::new(),
            seq: 0,
            next_resync: None,
            primed: false,
        }
    }

    pub fn provisioner_name(&self) -> &'static str {
        self.backend.provisioner_name()
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.backend.restart(&mut self.rng);
        let identity = format!("{}_{}_{}", self.backend.provisioner_name(), self.backend.hostname(), uuid(&mut self.rng));
        self.recorder = EventRecorder::new(&identity, None);
        ctx.log(format!("Started provisioner controller {identity}!"));
        self.identity = Some(identity);
    }

    fn claim(&self, key: &ObjectKey) -> Option<PersistentVolumeClaim> {
        typed(self.claims.get(key), as_claim)
    }

    fn class(&self, name: &str) -> Option<StorageClass> {
        typed(self.classes.get(&ObjectKey::new("", name)), |o| if let Object::StorageClass(c) = o { Some(&**c) } else { None })
    }

    /// The selected node, read from the API server when needed (the
    /// library keeps no node informer unless given one).
    fn node(ctx: &mut Ctx, name: &str) -> Result<Option<Node>, String> {
        match ctx.api.get(ids::nodes(), "", name) {
            Ok(obj) => Ok(typed(Some(&obj), |o| if let Object::Node(n) = o { Some(&**n) } else { None })),
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            Err(e) => Err(e.message),
        }
    }

    fn claim_event(&mut self, ctx: &mut Ctx, claim: &PersistentVolumeClaim, type_: &str, reason: &str, message: String) {
        self.recorder.record(ctx.api, &Object::PersistentVolumeClaim(Box::new(claim.clone())), type_, reason, message);
    }

    /// The failure back-off; past the threshold the key waits for a change
    /// or the next resync.
    fn retry(&mut self, key: Key, now: VirtualTime) {
        let n = self.failures.entry(key.clone()).or_insert(0);
        *n += 1;
        if *n >= FAILURE_THRESHOLD {
            return;
        }
        let delay = RETRY_BASE_MS.saturating_mul(1 << (*n - 1).min(20)).min(RETRY_MAX_MS);
        self.queue.add_at(key, now.plus_millis(delay));
    }

    fn begin(&mut self, at: VirtualTime, key: Key, op: Operation) {
        self.seq += 1;
        self.running_keys.insert(key.clone(), (at, self.seq));
        self.running.insert((at, self.seq), (key, op));
    }

    /// `shouldProvision`.
    fn should_provision(&self, claim: &PersistentVolumeClaim) -> Result<bool, String> {
        if !claim_volume_name(claim).is_empty() {
            return Ok(false);
        }
        let annotations = claim.metadata.annotations.clone().unwrap_or_default();
        let asked = annotations.get(ANN_STORAGE_PROVISIONER).or_else(|| annotations.get(ANN_BETA_STORAGE_PROVISIONER));
        if asked.map(String::as_str) != Some(self.backend.provisioner_name()) {
            return Ok(false);
        }
        let class_name = claim_class(claim);
        let class = self.class(class_name).ok_or_else(|| format!("storageclass.storage.k8s.io \"{class_name}\" not found"))?;
        if is_wait_for_first_consumer(&class) {
            return Ok(annotations.get(ANN_SELECTED_NODE).is_some_and(|n| !n.is_empty()));
        }
        Ok(true)
    }

    fn sync_claim(&mut self, ctx: &mut Ctx, key: &ObjectKey) {
        let k = Key::Claim(key.clone());
        if self.running_keys.contains_key(&k) {
            return;
        }
        let Some(claim) = self.claim(key) else { return };
        match self.should_provision(&claim) {
            Err(_) => return self.retry(k, ctx.now),
            Ok(false) => return,
            Ok(true) => {}
        }
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        let volume_name = format!("pvc-{uid}");
        if self.volumes.get(&ObjectKey::new("", volume_name.clone())).is_some() {
            return;
        }
        let name = self.backend.provisioner_name();
        let block = claim.spec.as_ref().and_then(|s| s.volume_mode.as_deref()) == Some("Block");
        if block {
            self.claim_event(ctx, &claim, WARNING, "ProvisioningFailed", format!("{name} does not support block volume provisioning"));
            return;
        }
        let class_name = claim_class(&claim).to_string();
        let Some(class) = self.class(&class_name) else { return self.retry(k, ctx.now) };
        let selected = claim.metadata.annotations.as_ref().and_then(|a| a.get(ANN_SELECTED_NODE)).cloned();
        let node = match &selected {
            None => None,
            Some(n) => match Self::node(ctx, n) {
                Ok(Some(node)) => Some(node),
                Ok(None) if self.backend.reschedules_on_missing_node() => {
                    self.claim_event(ctx, &claim, WARNING, "ProvisioningFailed", format!("nodes \"{n}\" not found"));
                    self.send_back_to_scheduler(ctx, &claim);
                    return;
                }
                Ok(None) => {
                    let message = format!("failed to get target node: nodes \"{n}\" not found");
                    self.claim_event(ctx, &claim, WARNING, "ProvisioningFailed", message);
                    return self.retry(k, ctx.now);
                }
                Err(why) => {
                    let message = format!("failed to get target node: {why}");
                    self.claim_event(ctx, &claim, WARNING, "ProvisioningFailed", message);
                    return self.retry(k, ctx.now);
                }
            },
        };
        self.claim_event(ctx, &claim, NORMAL, "Provisioning", format!("External provisioner is provisioning volume for claim \"{key}\""));
        let request = ProvisionRequest { claim: &claim, class: &class, node: node.as_ref(), volume_name };
        match self.backend.provision(&request) {
            Err(why) => {
                let message = format!("failed to provision volume with StorageClass \"{class_name}\": {why}");
                self.claim_event(ctx, &claim, WARNING, "ProvisioningFailed", message);
                self.retry(k, ctx.now);
            }
            Ok((mut volume, location)) => {
                let spec = volume.spec.get_or_insert_with(Default::default);
                // Pre-bound to the claim; the PV controller completes the binding.
                spec.claim_ref = Some(super::reference_to(&claim));
                spec.storage_class_name = Some(class_name);
                volume
                    .metadata
                    .annotations
                    .get_or_insert_with(BTreeMap::new)
                    .insert(ANN_DYNAMICALLY_PROVISIONED.to_string(), name.to_string());
                let at = ctx.now.plus_millis(self.backend.provision_ms());
                self.begin(at, k, Operation::Provision { claim: key.clone(), volume, location });
            }
        }
    }

    /// `rescheduleProvisioning`: drop the selected node so the scheduler picks again.
    fn send_back_to_scheduler(&mut self, ctx: &mut Ctx, claim: &PersistentVolumeClaim) {
        let ns = claim.metadata.namespace.clone().unwrap_or_default();
        let name = claim.metadata.name.clone().unwrap_or_default();
        let uid = claim.metadata.uid.clone();
        let _ = ctx.api.modify(ids::persistent_volume_claims(), &ns, &name, false, |o| {
            if o.meta().uid != uid {
                return false;
            }
            o.meta_mut().annotations.as_mut().and_then(|a| a.remove(ANN_SELECTED_NODE)).is_some()
        });
    }

    /// `shouldDelete` for volumes this provisioner made.
    fn sync_volume(&mut self, ctx: &mut Ctx, name: &str) {
        let k = Key::Volume(name.to_string());
        if self.running_keys.contains_key(&k) {
            return;
        }
        let Some(volume) = typed(self.volumes.get(&ObjectKey::new("", name)), as_volume) else { return };
        let mine = volume.metadata.annotations.as_ref().and_then(|a| a.get(ANN_DYNAMICALLY_PROVISIONED)).map(String::as_str)
            == Some(self.backend.provisioner_name());
        if !mine || volume.metadata.deletion_timestamp.is_some() || volume_phase(&volume) != "Released" || reclaim_policy(&volume) != "Delete" {
            return;
        }
        let at = ctx.now.plus_millis(self.backend.delete_ms());
        self.begin(at, k, Operation::Delete { volume });
    }

    fn finish(&mut self, ctx: &mut Ctx, key: Key, op: Operation) {
        match op {
            Operation::Provision { claim, volume, location } => {
                data::create_backing_dir(ctx, &location);
                let name = volume.metadata.name.clone().unwrap_or_default();
                match ctx.api.create(Object::PersistentVolume(Box::new(volume))) {
                    Ok(_) => {}
                    Err(e) if e.reason == Reason::AlreadyExists => {}
                    Err(_) => return self.retry(key, ctx.now),
                }
                self.failures.remove(&key);
                // The event goes to the claim as it is now, if it is still there.
                let current = match ctx.api.get(ids::persistent_volume_claims(), &claim.namespace, &claim.name) {
                    Ok(obj) => as_claim(&obj).cloned(),
                    Err(_) => self.claim(&claim),
                };
                if let Some(c) = current {
                    self.claim_event(ctx, &c, NORMAL, "ProvisioningSucceeded", format!("Successfully provisioned volume {name}"));
                }
            }
            Operation::Delete { volume } => {
                let name = volume.metadata.name.clone().unwrap_or_default();
                match self.backend.delete(&volume) {
                    DeleteOutcome::Ignored => {}
                    DeleteOutcome::Failed(why) => {
                        self.recorder.record(ctx.api, &Object::PersistentVolume(Box::new(volume)), WARNING, "VolumeFailedDelete", why);
                        self.retry(key, ctx.now);
                    }
                    DeleteOutcome::Deleted(location) => {
                        if let Some(location) = location {
                            data::remove_backing_data(ctx, &location);
                        }
                        match ctx.api.delete(ids::persistent_volumes(), "", &name, &DeleteOptions::default()) {
                            Ok(_) => {
                                self.failures.remove(&key);
                            }
                            Err(e) if e.reason == Reason::NotFound => {}
                            Err(_) => self.retry(key, ctx.now),
                        }
                    }
                }
            }
        }
    }

    fn resync(&mut self) {
        let claims: Vec<Key> = self.claims.items().map(|c| Key::Claim(ObjectKey::of(c))).collect();
        let volumes: Vec<Key> = self.volumes.items().map(|v| Key::Volume(v.meta().name.clone().unwrap_or_default())).collect();
        for k in claims.into_iter().chain(volumes) {
            self.queue.add(k);
        }
    }
}

impl Component for ExternalProvisioner {
    fn name(&self) -> &str {
        &self.component
    }

    fn run(&mut self, ctx: &mut Ctx) {
        // The process is its pod's container: it runs once that container
        // runs and is gone when it stops (deleted pod, crash, power cut).
        if let Some(instance) = &self.instance {
            if !programs::still_running(ctx.world, instance) {
                ctx.log(format!("{} exited with its container", self.component));
                self.on_stop();
            }
        }
        if self.instance.is_none() {
            match programs::find_running(ctx.world, &self.component) {
                Some(instance) => {
                    self.backend.set_hostname(&instance.hostname);
                    self.instance = Some(instance);
                }
                None => {
                    ctx.wake_after_ms(WAIT_FOR_CONTAINER_MS);
                    return;
                }
            }
        }
        if self.identity.is_none() {
            self.start(ctx);
        }
        let claim_events = self.claims.sync(ctx);
        let volume_events = self.volumes.sync(ctx);
        self.classes.sync(ctx);
        if !(self.claims.has_synced() && self.volumes.has_synced() && self.classes.has_synced()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            self.resync();
            self.next_resync = Some(ctx.now.plus_millis(RESYNC_MS));
        } else {
            for ev in claim_events.iter().filter(|e| e.kind != WatchEventType::Deleted) {
                self.queue.add(Key::Claim(ObjectKey::of(&ev.object)));
            }
            for ev in volume_events.iter().filter(|e| e.kind != WatchEventType::Deleted) {
                self.queue.add(Key::Volume(ev.object.meta().name.clone().unwrap_or_default()));
            }
        }
        if self.next_resync.is_some_and(|t| t <= ctx.now) {
            self.resync();
            self.next_resync = Some(ctx.now.plus_millis(RESYNC_MS));
        }
        while let Some((&(at, seq), _)) = self.running.first_key_value() {
            if at > ctx.now {
                break;
            }
            let Some((key, op)) = self.running.remove(&(at, seq)) else { break };
            self.running_keys.remove(&key);
            self.finish(ctx, key, op);
        }
        for _ in 0..crate::engine::controllers::queue::SYNCS_PER_RUN {
            let Some(key) = self.queue.pop(ctx.now) else { break };
            match &key {
                Key::Claim(k) => self.sync_claim(ctx, k),
                Key::Volume(name) => self.sync_volume(ctx, name),
            }
        }
        self.queue.schedule_wake(ctx);
        if let Some((&(at, _), _)) = self.running.first_key_value() {
            ctx.wake_at(at);
        }
        if let Some(t) = self.next_resync {
            ctx.wake_at(t);
        }
    }

    fn on_stop(&mut self) {
        self.identity = None;
        self.instance = None;
        self.claims.reset();
        self.volumes.reset();
        self.classes.reset();
        self.queue.clear();
        self.failures.clear();
        self.running.clear();
        self.running_keys.clear();
        self.next_resync = None;
        self.primed = false;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The provisioner a profile's cluster runs: minikube's storage-provisioner
/// on its only node, or kind's local-path-provisioner.
pub fn for_profile(profile: &crate::engine::cluster::Profile, seed: u64) -> ExternalProvisioner {
    use crate::engine::cluster::ProfileKind;
    match profile.kind {
        ProfileKind::Minikube => {
            let node = profile.nodes.first().map_or("minikube", |n| n.name.as_str());
            ExternalProvisioner::new("storage-provisioner", Box::new(hostpath::HostPath::new(node)), seed)
        }
        ProfileKind::Default => ExternalProvisioner::new("local-path-provisioner", Box::new(local_path::LocalPath::new()), seed),
    }
}

/// The default StorageClass `standard` each profile's installer applies
/// with `kubectl apply` (hence the last-applied annotation): minikube's
/// storageclass addon, or kind's default storage manifest.
pub fn standard_class(kind: crate::engine::cluster::ProfileKind) -> StorageClass {
    use crate::engine::cluster::ProfileKind;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let (applied, labels, provisioner, binding) = match kind {
        ProfileKind::Minikube => (
            r#"{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"},"labels":{"addonmanager.kubernetes.io/mode":"EnsureExists"},"name":"standard"},"provisioner":"k8s.io/minikube-hostpath"}"#,
            Some(BTreeMap::from([("addonmanager.kubernetes.io/mode".to_string(), "EnsureExists".to_string())])),
            "k8s.io/minikube-hostpath",
            "Immediate",
        ),
        ProfileKind::Default => (
            r#"{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"},"name":"standard"},"provisioner":"rancher.io/local-path","reclaimPolicy":"Delete","volumeBindingMode":"WaitForFirstConsumer"}"#,
            None,
            "rancher.io/local-path",
            "WaitForFirstConsumer",
        ),
    };
    StorageClass {
        metadata: ObjectMeta {
            name: Some("standard".into()),
            annotations: Some(crate::engine::sort::insert_all::<BTreeMap<_, _>, _>([
                ("kubectl.kubernetes.io/last-applied-configuration".to_string(), format!("{applied}\n")),
                (super::ANN_IS_DEFAULT_CLASS.to_string(), "true".to_string()),
            ])),
            labels,
            ..Default::default()
        },
        provisioner: provisioner.to_string(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some(binding.into()),
        ..Default::default()
    }
}
