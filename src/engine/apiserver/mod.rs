//! The API server: the only writer of the store.
//!
//! Every request goes through the same path: availability (the API server and
//! etcd must be running), then for writes admission → defaulting → validation
//! → compare-and-swap in the store → watch fan-out. Components and kubectl use
//! the same methods; nothing reaches the store any other way.

pub mod admission;
pub mod authorization;
pub mod component_status;
pub mod custom;
pub mod custom_schema;
pub mod custom_rules;
pub mod decode;
pub mod defaults;
pub mod patch;
pub mod events;
pub mod events_api;
mod event_leases;
pub mod eviction;
pub mod token_request;
pub mod validation;
pub mod pod_warnings;
pub mod object_warnings;
mod shared_specs;

pub use authorization::Client;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use rustc_hash::FxHashMap;
use std::rc::Rc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use crate::engine::api::pod::Pod;
use crate::engine::keys_by_name::{file_under, remove_from, KeysByName};
use crate::engine::api::{self, ids, resource, ApiError, Object, Reason, ResourceId};
use crate::engine::selector::{FieldSelector, Selector};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::store::{self, Snapshot, Store, StoreError};

/// Which component owns a watch (an index into the cluster's component list).
pub type ComponentId = usize;
pub type WatchId = u64;

/// The most events a watch may hold before the API server closes it, as a
/// real server drops a watcher that does not keep up.
const WATCH_QUEUE_LIMIT: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Clone, Debug)]
pub struct WatchEvent {
    pub kind: WatchEventType,
    pub object: Rc<Object>,
}

/// What to list or watch.
#[derive(Clone, Debug)]
pub struct Query {
    pub resource: ResourceId,
    /// `None`: all namespaces (or a cluster-scoped resource).
    pub namespace: Option<String>,
    pub labels: Selector,
    pub fields: FieldSelector,
}

impl Query {
    pub fn all(resource: ResourceId) -> Self {
        Query { resource, namespace: None, labels: Selector::everything(), fields: FieldSelector::default() }
    }
    pub fn in_namespace(resource: ResourceId, namespace: &str) -> Self {
        Query { namespace: Some(namespace.to_string()), ..Query::all(resource) }
    }
    pub fn with_fields(mut self, fields: FieldSelector) -> Self {
        self.fields = fields;
        self
    }
    pub fn with_labels(mut self, labels: Selector) -> Self {
        self.labels = labels;
        self
    }
    fn matches(&self, obj: &Object) -> bool {
        if let Some(ns) = &self.namespace {
            if resource(self.resource).namespaced && obj.meta().namespace.as_deref() != Some(ns.as_str()) {
                return false;
            }
        }
        self.labels.matches(obj.meta().labels.as_ref()) && self.fields.matches(obj)
    }
    /// As [`Query::matches`], on a stored value: a compact Event is
    /// matched without being typed again.
    fn matches_stored(&self, value: &store::Value) -> bool {
        let store::Value::Event(event) = value else { return self.matches(&value.object()) };
        let namespace_matches = match &self.namespace {
            Some(ns) if resource(self.resource).namespaced => event.namespace() == Some(ns.as_str()),
            _ => true,
        };
        // A compact Event has no labels.
        let matches = namespace_matches && self.labels.matches(None) && self.fields.matches_with(|field| event.field_value(field));
        debug_assert_eq!(matches, self.matches(&value.object()), "a compact Event matches as the typed one does");
        matches
    }
}

struct Watch {
    owner: ComponentId,
    query: Query,
    /// Events with the instant they reach the watcher, in commit order.
    queue: VecDeque<(VirtualTime, WatchEvent)>,
}

/// Added latency of the API server and of etcd, in virtual milliseconds
/// (`slow apiserver 2s`, `slow etcd 500ms`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    pub apiserver_ms: u64,
    pub etcd_ms: u64,
}

impl Latency {
    /// What one request costs: every request here reaches etcd (writes,
    /// and reads, which the model serves from etcd rather than a watch cache).
    pub fn request_ms(&self) -> u64 {
        self.apiserver_ms.saturating_add(self.etcd_ms)
    }
}

/// At most this many snapshot files are kept on the etcd host.
pub const MAX_SNAPSHOT_FILES: usize = 32;

/// The garbage collector's finalizers a propagation policy sets.
pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

#[derive(Clone, Debug)]
pub enum Deleted {
    /// Gone from the store.
    Now(Rc<Object>),
    /// Marked with a deletionTimestamp; finalizers or a grace period remain.
    Pending(Rc<Object>),
}

impl Deleted {
    pub fn object(&self) -> &Rc<Object> {
        match self {
            Deleted::Now(o) | Deleted::Pending(o) => o,
        }
    }
}

pub struct ApiServer {
    store: Store,
    running: bool,
    etcd_running: bool,
    /// Open watches by id, found by hash: every poll and every watcher an
    /// event fans out to looks one up, among thousands (each kubelet's).
    /// Never iterated for anything whose order shows.
    watches: FxHashMap<WatchId, Watch>,
    by_resource: BTreeMap<ResourceId, BTreeSet<WatchId>>,
    pods_by_node: FxHashMap<String, BTreeSet<WatchId>>,
    /// Each component's open watches, so stopping one does not scan every watch.
    watches_of: FxHashMap<ComponentId, BTreeSet<WatchId>>,
    /// Stored pods' keys by `spec.nodeName`, so a kubelet's list of its
    /// node's pods does not read every pod in the cluster.
    /// The keys are the store's own, shared.
    stored_pods_on_node: KeysByName<Rc<str>>,
    next_watch: WatchId,
    ready: BTreeSet<ComponentId>,
    rng: fastrand::Rng,
    /// The seed `rng` started from, for streams of draws of their own.
    seed: u64,
    now: VirtualTime,
    /// `192.168.49.2:8443`, as kubectl's connection errors name it.
    pub host: String,
    /// Number of writes accepted, for benchmarks.
    pub writes: u64,
    /// `--service-cluster-ip-range`, which the profile's kubeadm configuration sets.
    pub service_range: admission::allocation::ServiceRange,
    /// The component whose request is being served (`None`: kubectl, the user).
    caller: Option<ComponentId>,
    /// Who the client (kubectl) is, for authorizing its requests; `None`
    /// for the page's own reads.
    client: Option<Rc<Client>>,
    /// The client whose authorized request is being served (admission
    /// asks which subresource its update goes to).
    served_client: Option<Rc<Client>>,
    /// Components that cannot reach the API server (their node is partitioned).
    cut_off: BTreeSet<ComponentId>,
    latency: Latency,
    /// Watchers with events that become visible later: (when, watcher).
    delayed: BTreeSet<(VirtualTime, ComponentId)>,
    /// Requests from outside the components (kubectl) that reached the server.
    client_requests: std::cell::Cell<u64>,
    /// Warnings for the client's requests (the `Warning` headers kubectl
    /// prints), until it takes them; components' requests get none kept.
    client_warnings: std::cell::RefCell<Vec<String>>,
    /// `etcdctl snapshot save` files, by path, on the etcd host.
    snapshots: BTreeMap<String, Rc<Snapshot>>,
    /// Events' leases, soonest first: (expiry, key, the write's revision).
    /// Every write of an Event attaches a fresh lease of [`EVENT_TTL_SECS`]
    /// (`--event-ttl`); one that a later write replaced is skipped.
    /// The key is held as the store keeps it (an Event's head shared,
    /// its stamp a number), not as a text of its own.
    event_leases: event_leases::EventLeases<(VirtualTime, crate::engine::store::EventKey, i64)>,
    /// The pods of one controller share one spec when theirs are equal.
    pod_specs: shared_specs::SharedSpecs,
    /// The status the last created pod was stored with: a created pod whose
    /// status is equal (its template's pods' usually are) shares it.
    last_created_status: Option<Rc<api::pod::StoredStatus>>,
    /// The last binding's status before and after: the next pod bound in
    /// the same second with an equal status shares the result.
    last_bound_status: Option<BoundStatus>,
    /// The watches one write fans out to, kept between writes so that
    /// every write does not allocate its list afresh.
    fan_out_targets: Vec<WatchId>,
    /// Which components the ComponentStatus registry probes answer.
    serving_healthz: component_status::Serving,
    /// Per component (by id, the slots' dense numbering): what its watches
    /// hold, so a component can tell in one look that polling each of them
    /// would find nothing (see [`ApiServer::nothing_to_poll`]).
    watch_ledgers: Vec<WatchLedger>,
    /// The custom resources the established definitions serve.
    custom_served: Rc<api::custom::Served>,
    /// A definition was written since the CRD controllers last ran.
    custom_dirty: bool,
    /// The CRD controllers are running (their own writes only mark dirty).
    custom_syncing: bool,
    /// A served definition is being deleted: its objects' deletions matter.
    custom_terminating: bool,
}

/// One component's watches, in brief.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct WatchLedger {
    /// Those with events queued (visible or not yet), each once: a
    /// component watches a few dozen things at most.
    queued: Vec<WatchId>,
    /// How many of them have ended (closed by the server, or all at once).
    ended: u64,
}

/// Components numbered past this keep no ledger (tests name watchers
/// freely); they always poll.
const WATCH_LEDGER_LIMIT: ComponentId = 1 << 20;

/// A binding's status change: `pending` (the pod's status before) became
/// `bound` (with `PodScheduled` at `at`).
#[derive(Debug)]
struct BoundStatus {
    pending: Option<Rc<api::pod::StoredStatus>>,
    at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    bound: Rc<api::pod::StoredStatus>,
}

/// How long etcd keeps an Event after its last write: the API server's
/// `--event-ttl`, 1 h by default.
pub const EVENT_TTL_SECS: u64 = 3600;

impl ApiServer {
    pub fn new(seed: u64, host: &str) -> Self {
        // A new cluster serves no custom resource yet.
        api::custom::install(&Rc::default());
        ApiServer {
            store: Store::default(),
            running: true,
            etcd_running: true,
            watches: FxHashMap::default(),
            by_resource: BTreeMap::new(),
            pods_by_node: FxHashMap::default(),
            watches_of: FxHashMap::default(),
            stored_pods_on_node: KeysByName::default(),
            watch_ledgers: Vec::new(),
            next_watch: 1,
            ready: BTreeSet::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x6170_6973_6572_7665),
            seed,
            now: VirtualTime::ZERO,
            host: host.to_string(),
            writes: 0,
            service_range: admission::allocation::ServiceRange::default(),
            caller: None,
            client: None,
            served_client: None,
            cut_off: BTreeSet::new(),
            latency: Latency::default(),
            delayed: BTreeSet::new(),
            client_requests: std::cell::Cell::new(0),
            client_warnings: std::cell::RefCell::new(Vec::new()),
            snapshots: BTreeMap::new(),
            event_leases: event_leases::EventLeases::default(),
            pod_specs: shared_specs::SharedSpecs::default(),
            last_created_status: None,
            last_bound_status: None,
            fan_out_targets: Vec::new(),
            serving_healthz: Default::default(),
            custom_served: Rc::default(),
            custom_dirty: false,
            custom_syncing: false,
            custom_terminating: false,
        }
    }

    /// How many created pods took a spec already stored for another pod of
    /// their controller (for tests and benchmarks).
    pub fn shared_pod_specs(&self) -> u64 {
        self.pod_specs.shared
    }

    /// A warning for the request being served, kept for the client (a
    /// component's client logs warnings, which no one here reads).
    pub fn warn(&self, text: String) {
        // A client that never takes them (the page's own requests) does not
        // make them pile up.
        const KEPT: usize = 64;
        let mut kept = self.client_warnings.borrow_mut();
        if self.caller.is_none() && kept.len() < KEPT {
            kept.push(text);
        }
    }

    /// The warnings the client's requests got since it last took them.
    pub fn take_client_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.client_warnings.borrow_mut())
    }

    /// The deprecation warning a request on a deprecated kind gets (the
    /// API server's `deprecation` handler, from each type's lifecycle).
    fn warn_if_deprecated(&self, resource_id: ResourceId) {
        if !self.serving_client() {
            return;
        }
        if resource_id == ids::endpoints() {
            self.warn("v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice".to_string());
        } else if resource(resource_id).kind == "ComponentStatus" {
            self.warn("v1 ComponentStatus is deprecated in v1.19+".to_string());
        }
    }

    /// Whether the request being served is the client's (kubectl's).
    pub fn serving_client(&self) -> bool {
        self.caller.is_none()
    }

    /// Whose requests follow (the simulator sets it around each component run).
    pub fn set_caller(&mut self, caller: Option<ComponentId>) {
        self.caller = caller;
    }

    /// Cuts a component off the API server (a network partition) or lets
    /// it through again. Its watches break at once; its requests time out.
    pub fn set_cut_off(&mut self, id: ComponentId, cut: bool) {
        if cut {
            if self.cut_off.insert(id) {
                self.close_watches_of(id);
            }
        } else {
            self.cut_off.remove(&id);
        }
    }

    pub fn is_cut_off(&self, id: ComponentId) -> bool {
        self.cut_off.contains(&id)
    }

    pub fn latency(&self) -> Latency {
        self.latency
    }

    pub fn set_latency(&mut self, latency: Latency) {
        self.latency = latency;
    }

    /// Requests kubectl (not a component) made that reached the server.
    pub fn client_requests(&self) -> u64 {
        self.client_requests.get()
    }

    /// When the next delayed watch event becomes visible.
    pub fn next_delivery(&self) -> Option<VirtualTime> {
        self.delayed.first().map(|(t, _)| *t)
    }

    /// Makes `owner`'s ledger when it opens a watch (none past
    /// [`WATCH_LEDGER_LIMIT`]); every other change finds it made.
    fn open_watch_ledger(&mut self, owner: ComponentId) {
        if owner < WATCH_LEDGER_LIMIT && self.watch_ledgers.len() <= owner {
            self.watch_ledgers.resize(owner + 1, WatchLedger::default());
        }
    }

    /// How many of the calling component's watches have ended so far: what
    /// it hands back to [`ApiServer::nothing_to_poll`] on its next run.
    pub fn watches_ended(&self, owner: ComponentId) -> u64 {
        self.watch_ledgers.get(owner).map_or(0, |l| l.ended)
    }

    /// Whether a poll of each of `owner`'s watches would now find nothing,
    /// as [`ApiServer::poll_at_most`] would answer for the calling component:
    /// the server runs, the caller reaches it, nothing is queued on any of
    /// its watches, and none has ended since it saw `ended_seen`
    /// ([`ApiServer::watches_ended`]). A kubelet of 5,000 asks this once a
    /// run instead of polling its four or five watches one by one.
    pub fn nothing_to_poll(&self, owner: ComponentId, ended_seen: u64) -> bool {
        self.unchanged_ledger(owner, ended_seen).is_some_and(|l| l.queued.is_empty())
    }

    /// As [`ApiServer::nothing_to_poll`], for `owner`'s watch `id` alone:
    /// a poll of it would find nothing. (`ended_seen` tells that it is
    /// still open: none of the owner's watches ended since.)
    pub fn nothing_to_poll_on(&self, owner: ComponentId, id: WatchId, ended_seen: u64) -> bool {
        self.unchanged_ledger(owner, ended_seen).is_some_and(|l| !l.queued.contains(&id))
    }

    /// `owner`'s ledger, when a poll by the calling component would reach
    /// the server and none of `owner`'s watches ended since `ended_seen`.
    fn unchanged_ledger(&self, owner: ComponentId, ended_seen: u64) -> Option<&WatchLedger> {
        let reachable = self.running && self.check_caller().is_ok();
        self.watch_ledgers.get(owner).filter(|l| reachable && l.ended == ended_seen)
    }

    /// Whether watch `id` is open and every event it was sent has been read:
    /// its owner's cache is caught up with the store.
    pub fn watch_drained(&self, id: WatchId) -> bool {
        self.running && self.watches.get(&id).is_some_and(|w| w.queue.is_empty())
    }

    /// `etcdctl snapshot save FILE`: the keyspace at this revision.
    pub fn save_snapshot(&mut self, file: &str) -> Result<i64, String> {
        if !self.etcd_running {
            return Err("context deadline exceeded".into());
        }
        if !self.snapshots.contains_key(file) && self.snapshots.len() >= MAX_SNAPSHOT_FILES {
            return Err(format!("open {file}.part: no space left on device"));
        }
        let snapshot = self.store.snapshot();
        let revision = snapshot.revision();
        self.snapshots.insert(file.to_string(), Rc::new(snapshot));
        Ok(revision)
    }

    pub fn snapshot_file(&self, file: &str) -> Option<&Snapshot> {
        self.snapshots.get(file).map(|s| &**s)
    }

    /// Restores etcd's data from a snapshot file and restarts etcd on it:
    /// the store goes back to the snapshot's revision (plus `bump`). The
    /// API server's watch cache starts again from the restored data, so
    /// every watch ends and every client lists again.
    pub fn restore_snapshot(&mut self, file: &str, bump: i64) -> Result<i64, String> {
        let Some(snapshot) = self.snapshots.get(file).cloned() else {
            return Err(format!("open {file}: no such file or directory"));
        };
        self.store.restore(&snapshot, bump);
        self.reindex_pods_on_node();
        self.end_every_watch();
        // etcd restores the leases and renews each for its whole TTL.
        self.event_leases.clear();
        let expiry = self.now.plus_secs(EVENT_TTL_SECS);
        for rid in (0..api::RESOURCES.len() as u16).map(ResourceId).filter(|r| is_event(*r)) {
            let leases: Vec<_> = self.store.range(&Self::prefix(rid, None)).filter_map(|(k, e)| self.store.event_key(&k).map(|held| (expiry, held, e.mod_revision))).collect();
            self.event_leases.extend(leases);
        }
        self.resync_custom_resources();
        Ok(self.store.revision())
    }

    /// Every watcher sees its connection end, so its reflector lists again.
    fn end_every_watch(&mut self) {
        let owners: Vec<ComponentId> = self.watches.values().map(|w| w.owner).collect();
        for &owner in &owners {
            if let Some(ledger) = self.watch_ledgers.get_mut(owner) {
                ledger.ended += 1;
                ledger.queued.clear();
            }
        }
        self.ready.extend(owners);
        self.watches.clear();
        self.by_resource.clear();
        self.pods_by_node.clear();
        self.watches_of.clear();
        self.delayed.clear();
    }

    pub fn set_now(&mut self, now: VirtualTime) {
        self.now = now;
        self.expire_events();
    }

    /// Deletes the Events whose lease has run out, as etcd does when it
    /// revokes a lease: each a delete at a new revision, which watchers see
    /// as `DELETED`. Not an API request: it does not count in `writes`.
    fn expire_events(&mut self) {
        if !self.etcd_running {
            return;
        }
        while self.event_leases.front().is_some_and(|(at, _, _)| *at <= self.now) {
            let Some((_, held, revision)) = self.event_leases.pop_front() else { break };
            let key = held.text();
            let Some(old) = self.store.get(&key).filter(|e| e.mod_revision == revision).map(|e| e.value.object()) else { continue };
            if let Ok((gone, deleted_at)) = self.store.delete_if(&key, Some(revision)) {
                let gone = Rc::new(with_resource_version((*gone).clone(), deleted_at));
                self.fan_out(Some(&old), &gone, WatchEventType::Deleted);
            }
        }
    }

    /// An Event was written at `revision`: its lease runs from now.
    fn lease_event(&mut self, rid: ResourceId, key: &str, revision: i64) {
        if !is_event(rid) {
            return;
        }
        if let Some(held) = self.store.event_key(key) {
            self.event_leases.push_back((self.now.plus_secs(EVENT_TTL_SECS), held, revision));
        }
    }
    pub fn now(&self) -> VirtualTime {
        self.now
    }
    pub fn is_running(&self) -> bool {
        self.running
    }
    pub fn is_etcd_running(&self) -> bool {
        self.etcd_running
    }
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stopping the API server breaks every watch; clients must re-list.
    pub fn set_running(&mut self, running: bool) {
        self.running = running;
        if !running {
            // Watchers see their connection close at once, as a real client
            // does, so their reflectors start retrying the list.
            self.end_every_watch();
        }
    }
    pub fn set_etcd_running(&mut self, running: bool) {
        if running && !self.etcd_running {
            // A starting etcd renews every lease for its whole TTL.
            let expiry = self.now.plus_secs(EVENT_TTL_SECS);
            for lease in self.event_leases.iter_mut() {
                lease.0 = expiry;
            }
        }
        self.etcd_running = running;
    }

    /// Components with watch events visible by now that they have not been woken for.
    pub fn take_ready(&mut self) -> BTreeSet<ComponentId> {
        while let Some(&(t, id)) = self.delayed.first() {
            if t > self.now {
                break;
            }
            self.delayed.pop_first();
            self.ready.insert(id);
        }
        std::mem::take(&mut self.ready)
    }

    /// Whether some component has watch events it has not run for.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Random lowercase alphanumerics from Kubernetes' name-suffix alphabet.
    pub fn random_suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len).map(|_| ALPHABET[self.rng.usize(..ALPHABET.len())] as char).collect()
    }

    /// Runs `f` with the server's random draws (uids, generated names)
    /// taken from a stream of their own, seeded from the server's seed and
    /// `stream`: objects made in `f` leave every later draw as it was.
    pub fn with_own_draws<T>(&mut self, stream: u64, f: impl FnOnce(&mut Self) -> T) -> T {
        let own = fastrand::Rng::with_seed(self.seed ^ stream);
        let saved = std::mem::replace(&mut self.rng, own);
        let out = f(self);
        self.rng = saved;
        out
    }

    /// A uid drawn from a stream of its own (see [`ApiServer::with_own_draws`]).
    pub fn uid_of_stream(&mut self, stream: u64) -> String {
        self.with_own_draws(stream, |api| api.new_uid())
    }

    fn new_uid(&mut self) -> String {
        let a = self.rng.u64(..);
        let b = self.rng.u64(..);
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
        crate::engine::digits::uuid(a, b)
    }

    /// A partitioned caller's requests never arrive.
    fn check_caller(&self) -> Result<(), ApiError> {
        match self.caller {
            Some(c) if self.cut_off.contains(&c) => Err(ApiError::new(Reason::Timeout, format!("dial tcp {}: i/o timeout", self.host))),
            _ => Ok(()),
        }
    }

    /// Whether the process answers at all (aggregated APIs need no etcd).
    pub fn serving(&self) -> Result<(), ApiError> {
        if self.running {
            Ok(())
        } else {
            Err(ApiError::connection_refused())
        }
    }

    fn check_reachable(&self) -> Result<(), ApiError> {
        self.check_caller()?;
        if !self.running {
            return Err(ApiError::connection_refused());
        }
        if !self.etcd_running {
            return Err(ApiError::new(Reason::InternalError, "etcdserver: request timed out"));
        }
        self.count_client_request();
        Ok(())
    }

    /// Counts a request that reached the server, if it is the client's
    /// (kubectl waits out each one's latency).
    fn count_client_request(&self) {
        if self.caller.is_none() {
            self.client_requests.set(self.client_requests.get() + 1);
        }
    }

    /// Reads need the API server; with etcd gone they time out too.
    fn check_readable(&self) -> Result<(), ApiError> {
        self.check_reachable()
    }

    pub fn key(resource_id: ResourceId, namespace: &str, name: &str) -> String {
        // `/registry/<plural[.group]>/[<namespace>/]<name>`, written piece by
        // piece: every request makes one.
        let rt = resource(resource_id);
        // "/registry/", and a '.' and two '/' at most.
        let mut key = String::with_capacity(13 + rt.plural.len() + rt.group.len() + namespace.len() + name.len());
        key.push_str("/registry/");
        key.push_str(rt.plural);
        if !rt.group.is_empty() {
            key.push('.');
            key.push_str(rt.group);
        }
        key.push('/');
        if rt.namespaced {
            key.push_str(namespace);
            key.push('/');
        }
        key.push_str(name);
        key
    }

    fn prefix(resource_id: ResourceId, namespace: Option<&str>) -> String {
        let rt = resource(resource_id);
        let plural = rt.qualified_plural();
        let namespace = namespace.filter(|_| rt.namespaced);
        // `/registry/{plural}/` and `{namespace}/`, sized once: every list and watch poll asks.
        let mut prefix = String::with_capacity("/registry/".len() + plural.len() + 1 + namespace.map_or(0, |ns| ns.len() + 1));
        for part in ["/registry/", &plural, "/"] {
            prefix.push_str(part);
        }
        if let Some(ns) = namespace {
            prefix.push_str(ns);
            prefix.push('/');
        }
        prefix
    }

    /// A create's `AlreadyExists`; the registry's store says so when the
    /// object in the way is being deleted (`object is being deleted: …`).
    fn already_exists(&self, key: &str, qualified: &str, name: &str) -> ApiError {
        let mut error = ApiError::already_exists(qualified, name);
        if self.store.get(key).is_some_and(|e| e.value.object().meta().deletion_timestamp.is_some()) {
            error.message = format!("object is being deleted: {}", error.message);
        }
        error
    }

    pub fn get(&self, resource_id: ResourceId, namespace: &str, name: &str) -> Result<Rc<Object>, ApiError> {
        self.check_readable()?;
        self.authorize_client_on("get", resource_id, "", namespace, name)?;
        self.warn_if_deprecated(resource_id);
        if component_status::is_component_status(resource_id) {
            return self.component_status(name);
        }
        self.store
            .get(&Self::key(resource_id, namespace, name))
            .map(|e| e.value.object())
            .ok_or_else(|| ApiError::not_found(&resource(resource_id).qualified_plural(), name))
    }

    /// The object a PATCH of it (or of its `subresource`) applies to,
    /// authorized as that patch: kubectl sends the patch without reading
    /// the object first, so a user who may patch but not get is let in,
    /// and one who may not patch is refused before a missing object is.
    pub fn get_to_patch(&self, resource_id: ResourceId, namespace: &str, name: &str, subresource: &str) -> Result<Rc<Object>, ApiError> {
        self.check_readable()?;
        self.authorize_client_on("patch", resource_id, subresource, namespace, name)?;
        self.store
            .get(&Self::key(resource_id, namespace, name))
            .map(|e| e.value.object())
            .ok_or_else(|| ApiError::not_found(&resource(resource_id).qualified_plural(), name))
    }

    /// A read of an object's subresource (`kubectl get --subresource`):
    /// RBAC authorizes `resource/subresource` (not the object's own
    /// resource), then a kind that does not serve it is the router's 404.
    /// The object itself is returned: `status` serves it whole, and the
    /// caller makes a `scale` its Scale.
    pub fn get_subresource(&self, resource_id: ResourceId, namespace: &str, name: &str, subresource: &str) -> Result<Rc<Object>, ApiError> {
        self.check_readable()?;
        self.authorize_client_on("get", resource_id, subresource, namespace, name)?;
        let kind = resource(resource_id).kind;
        let served = match subresource {
            "status" if resource_id.0 as usize >= api::RESOURCES.len() => custom::has_status(resource_id),
            "status" => serves_status(kind),
            "scale" if resource_id.0 as usize >= api::RESOURCES.len() => custom::scale_of(resource_id).is_some(),
            "scale" => matches!(kind, "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"),
            _ => false,
        };
        if !served {
            return Err(ApiError::new(Reason::NotFound, "the server could not find the requested resource"));
        }
        self.warn_if_deprecated(resource_id);
        self.store
            .get(&Self::key(resource_id, namespace, name))
            .map(|e| e.value.object())
            .ok_or_else(|| ApiError::not_found(&resource(resource_id).qualified_plural(), name))
    }

    /// The objects matching `query`, in key order, and the revision they were read at.
    pub fn list(&self, query: &Query) -> Result<(Vec<Rc<Object>>, i64), ApiError> {
        self.check_readable()?;
        self.authorize_client_on("list", query.resource, "", query.namespace.as_deref().unwrap_or_default(), "")?;
        self.warn_if_deprecated(query.resource);
        let kind = resource(query.resource).kind;
        query.fields.check_supported(kind).map_err(ApiError::bad_request)?;
        if component_status::is_component_status(query.resource) {
            return Ok((self.list_component_statuses(query), self.store.revision()));
        }
        let prefix = Self::prefix(query.resource, query.namespace.as_deref());
        if query.resource == ids::pods() {
            if let Some(node) = query.fields.node_name_term().filter(|n| !n.is_empty()) {
                // In key order, as the range below.
                let items = self
                    .stored_pods_on_node
                    .get(node)
                    .into_iter()
                    .flatten()
                    .filter(|k| k.starts_with(&prefix))
                    .filter_map(|k| self.store.get(&**k))
                    .filter(|e| query.matches_stored(&e.value))
                    .map(|e| e.value.object())
                    .collect();
                return Ok((items, self.store.revision()));
            }
        }
        let items = self
            .store
            .range(&prefix)
            .filter(|(_, e)| query.matches_stored(&e.value))
            .map(|(_, e)| e.value.object())
            .collect();
        Ok((items, self.store.revision()))
    }

    fn pod_node(obj: &Object) -> Option<&str> {
        match obj {
            Object::Pod(p) => p.node_name(),
            _ => None,
        }
    }

    /// Keeps [`Self::stored_pods_on_node`] in step with one pod write.
    fn index_pod_node(&mut self, old: Option<&Object>, new: &Object, kind: WatchEventType) {
        let before = old.and_then(Self::pod_node);
        let after = if kind == WatchEventType::Deleted { None } else { Self::pod_node(new) };
        if before == after {
            return;
        }
        let m = new.meta();
        let (namespace, name) = (m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""));
        // The write just logged is this pod's (a binding, above all): its
        // key is the store's own, taken without formatting or a search.
        let key = match self.store.key_written_at(self.store.revision()).filter(|k| is_pod_key(k, namespace, name)) {
            Some(key) => key,
            None => {
                let key = Self::key(ids::pods(), namespace, name);
                self.store.shared_key(&key).unwrap_or_else(|| Rc::from(key))
            }
        };
        if let Some(node) = before {
            remove_from(&mut self.stored_pods_on_node, node, &*key);
        }
        if let Some(node) = after {
            file_under(&mut self.stored_pods_on_node, node, key);
        }
    }

    /// Builds [`Self::stored_pods_on_node`] again from the store (after a restore).
    fn reindex_pods_on_node(&mut self) {
        let prefix = Self::prefix(ids::pods(), None);
        let mut index = KeysByName::default();
        for (key, e) in self.store.range(&prefix) {
            if let Some(node) = Self::pod_node(&e.value.object()) {
                file_under(&mut index, node, key.clone());
            }
        }
        self.stored_pods_on_node = index;
    }

    /// Opens a watch for `owner` that sees every change after now.
    pub fn watch(&mut self, owner: ComponentId, query: Query) -> Result<WatchId, ApiError> {
        self.check_readable()?;
        component_status::check_watchable(query.resource)?;
        let id = self.next_watch;
        self.next_watch += 1;
        if query.resource == ids::pods() {
            if let Some(node) = query.fields.node_name_term() {
                self.pods_by_node.entry(node.to_string()).or_default().insert(id);
            } else {
                self.by_resource.entry(query.resource).or_default().insert(id);
            }
        } else {
            self.by_resource.entry(query.resource).or_default().insert(id);
        }
        self.open_watch_ledger(owner);
        self.watches.insert(id, Watch { owner, query, queue: VecDeque::new() });
        self.watches_of.entry(owner).or_default().insert(id);
        Ok(id)
    }

    /// List, then watch from the list's revision: what a reflector does.
    pub fn list_and_watch(&mut self, owner: ComponentId, query: Query) -> Result<(Vec<Rc<Object>>, WatchId), ApiError> {
        let (items, _) = self.list(&query)?;
        let id = self.watch(owner, query)?;
        Ok((items, id))
    }

    /// Takes the events a watch has queued. `Gone` once the watch was closed
    /// (the API server stopped, or the watcher fell too far behind).
    pub fn poll(&mut self, id: WatchId) -> Result<Vec<WatchEvent>, ApiError> {
        self.poll_at_most(id, usize::MAX)
    }

    /// As [`ApiServer::poll`], but takes at most `max` events; when more are
    /// visible, the watcher is ready again, so it runs again at this instant.
    pub fn poll_at_most(&mut self, id: WatchId, max: usize) -> Result<Vec<WatchEvent>, ApiError> {
        self.check_caller()?;
        if !self.running {
            return Err(ApiError::connection_refused());
        }
        let now = self.now;
        match self.watches.get_mut(&id) {
            Some(w) => {
                let visible = w.queue.iter().take_while(|(t, _)| *t <= now).take(max.saturating_add(1)).count();
                if visible > max {
                    self.ready.insert(w.owner);
                }
                let taken: Vec<WatchEvent> = w.queue.drain(..visible.min(max)).map(|(_, ev)| ev).collect();
                let (owner, emptied) = (w.owner, !taken.is_empty() && w.queue.is_empty());
                if let Some(ledger) = self.watch_ledgers.get_mut(owner).filter(|_| emptied) {
                    ledger.queued.retain(|&q| q != id);
                }
                Ok(taken)
            }
            None => Err(ApiError::new(Reason::Gone, "watch closed")),
        }
    }

    pub fn close_watch(&mut self, id: WatchId) {
        if let Some(w) = self.watches.remove(&id) {
            if let Some(ledger) = self.watch_ledgers.get_mut(w.owner) {
                ledger.queued.retain(|&q| q != id);
                ledger.ended += 1;
            }
            if let Some(set) = self.watches_of.get_mut(&w.owner) {
                set.remove(&id);
                if set.is_empty() {
                    self.watches_of.remove(&w.owner);
                }
            }
            if let Some(node) = w.query.fields.node_name_term() {
                if let Some(set) = self.pods_by_node.get_mut(node) {
                    set.remove(&id);
                }
            }
            if let Some(set) = self.by_resource.get_mut(&w.query.resource) {
                set.remove(&id);
            }
        }
    }

    /// Closes every watch a component holds (its process ended).
    pub fn close_watches_of(&mut self, owner: ComponentId) {
        let ids: Vec<WatchId> = self.watches_of.get(&owner).map(|set| set.iter().copied().collect()).unwrap_or_default();
        for id in ids {
            self.close_watch(id);
        }
        self.ready.remove(&owner);
    }

    pub fn create(&mut self, obj: Object) -> Result<Rc<Object>, ApiError> {
        self.create_with(obj, false)
    }

    /// Create; with `dry_run` everything but the store write happens.
    pub fn create_with(&mut self, mut obj: Object, dry_run: bool) -> Result<Rc<Object>, ApiError> {
        if self.authorizing() {
            self.serving()?;
            self.authorize_client_on("create", obj.resource_id(), "", request_namespace(&obj), "")?;
            self.check_escalation(&obj, None)?;
            if let (Object::CertificateSigningRequest(csr), Some(user)) = (&mut obj, self.client_user()) {
                stamp_requestor(csr, user);
            }
            return self.as_authorized(|api| api.create_with(obj, dry_run));
        }
        self.check_reachable()?;
        keep_node_name_outside_spec(&mut obj);
        merge_string_data(&mut obj);
        let rid = obj.resource_id();
        let rt = resource(rid);
        // No route: the request never reaches a handler that would warn.
        if component_status::is_component_status(rid) {
            return Err(component_status::method_not_allowed());
        }
        self.warn_if_deprecated(rid);
        self.check_custom_create(&obj)?;
        {
            let meta = obj.meta_mut();
            if rt.namespaced {
                if meta.namespace.as_deref().is_none_or(str::is_empty) {
                    meta.namespace = Some("default".to_string());
                }
            } else {
                meta.namespace = None;
            }
            if meta.resource_version.as_deref().is_some_and(|rv| !rv.is_empty()) {
                return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
            }
        }
        // The mutating admission plugins run before the registry makes a
        // name from `generateName`, so their refusals name the object by
        // its prefix (`pods "web-7c4d8-" is forbidden`), as
        // `admission.NewForbidden` does. The suffix is drawn here all the
        // same; a pod gets its name once its mutating plugins are done.
        let mut generated_name = None;
        if obj.meta().name.as_deref().is_none_or(str::is_empty) {
            if let Some(prefix) = obj.meta().generate_name.clone().filter(|p| !p.is_empty()) {
                let suffix = self.random_suffix(5);
                generated_name = Some([generated_name_base(&prefix), &suffix].concat());
            }
        }
        let namespace = obj.meta().namespace.clone().unwrap_or_default();
        if rt.namespaced && rid != ids::namespaces() {
            match self.store.get(&Self::key(ids::namespaces(), "", &namespace)) {
                None => return Err(ApiError::not_found("namespaces", &namespace)),
                Some(e) if e.value.object().meta().deletion_timestamp.is_some() => {
                    let meta = obj.meta();
                    let requested_name = meta.name.as_deref().filter(|n| !n.is_empty()).or(meta.generate_name.as_deref()).unwrap_or_default();
                    return Err(ApiError::new(
                        Reason::Forbidden,
                        format!(
                            "{} \"{requested_name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                            rt.qualified_plural(),
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        // A Service's allocations, made here during admission, happen in
        // the registry after the name is made.
        if !matches!(obj, Object::Pod(_)) {
            if let Some(name) = generated_name.take() {
                obj.meta_mut().name = Some(name);
            }
        }
        // The uid exists before the create strategy runs: a Job's generated
        // selector is built from it.
        let uid = self.new_uid();
        obj.meta_mut().uid = Some(uid.clone());
        admission::admit_create(self, &mut obj)?;
        if let Some(name) = generated_name {
            obj.meta_mut().name = Some(name);
        }
        defaults::apply(&mut obj);
        // The pod strategy's PrepareForCreate warns of AppArmor annotations
        // before validation; WarningsOnCreate follows a valid object, before
        // the validating admission plugins.
        let warned = self.serving_client();
        if let (true, Object::Pod(pod)) = (warned, &obj) {
            for warning in pod_warnings::app_armor_annotations(&pod.metadata, crate::engine::api::pod_spec_or_empty(pod.spec.as_deref())) {
                self.warn(warning);
            }
        }
        match &mut obj {
            Object::CustomResourceDefinition(crd) => custom::prepare_crd_create(crd),
            // With a status subresource, a create's status is dropped.
            Object::Custom(o) if custom::has_status(rid) => {
                o.content.remove("status");
            }
            _ => {}
        }
        let mut causes = validation::validate_create(&obj);
        if let Object::Custom(o) = &obj {
            // A create has no old value: its transition rules do not run, and nothing ratchets.
            causes.extend(custom::validate_custom_rules(o, None, &causes).causes);
        }
        if !causes.is_empty() {
            return Err(invalid_error(&obj, causes));
        }
        if warned {
            for warning in object_warnings::on_write(&obj, None) {
                self.warn(warning);
            }
        }
        admission::validate_create(self, &obj)?;
        // ResourceQuota, the last validating admission plugin.
        let charges = admission::resource_quota(self, &obj)?;
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = Self::key(rid, &namespace, &name);
        // A real write finds an existing key in its compare-and-swap below.
        if dry_run && self.store.get(&key).is_some() {
            return Err(self.already_exists(&key, &rt.qualified_plural(), &name));
        }
        let now = self.now;
        {
            let meta = obj.meta_mut();
            meta.uid = Some(uid);
            meta.creation_timestamp = Some(api::meta::api_time(now));
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.generation = if tracks_generation(rid) { Some(1) } else { None };
            meta.self_link = None;
        }
        if dry_run {
            return Ok(Rc::new(obj));
        }
        admission::charge_quotas(self, &namespace, charges)?;
        if let Object::Pod(pod) = &mut obj {
            // Admitted and valid: the token volume's name and a DaemonSet
            // pin's node go beside the spec, and the spec is shared with the
            // controller's other pods.
            pod.take_token_volume_from_spec();
            pod.take_affinity_node_from_spec();
            self.pod_specs.share(pod);
            match (&self.last_created_status, &pod.status) {
                (Some(last), Some(status)) if last == status => pod.status = Some(last.clone()),
                _ => self.last_created_status = pod.status.clone(),
            }
        }
        let (stored, revision) = self
            .store
            .put_if(&key, Some(0), |rev| with_resource_version(obj, rev))
            .map_err(|_| self.already_exists(&key, &rt.qualified_plural(), &name))?;
        self.writes += 1;
        self.lease_event(rid, &key, revision);
        self.fan_out(None, &stored, WatchEventType::Added);
        Ok(stored)
    }

    /// Replaces an object (PUT). The status of kinds with a status
    /// subresource is kept from the stored object; a `resourceVersion` in
    /// `obj` is a precondition.
    pub fn update(&mut self, obj: Object) -> Result<Rc<Object>, ApiError> {
        self.update_with(obj, false, false)
    }

    /// Writes only the status (the `/status` subresource).
    pub fn update_status(&mut self, obj: Object) -> Result<Rc<Object>, ApiError> {
        self.update_with(obj, true, false)
    }

    pub fn update_with(&mut self, mut obj: Object, status_only: bool, dry_run: bool) -> Result<Rc<Object>, ApiError> {
        if self.authorizing() {
            self.serving()?;
            let (verb, subresource) = self.client_update(status_only);
            let name = obj.meta().name.as_deref().unwrap_or_default();
            self.authorize_client_on(verb, obj.resource_id(), subresource, request_namespace(&obj), name)?;
            if !status_only && matches!(obj, Object::Role(_) | Object::ClusterRole(_) | Object::RoleBinding(_) | Object::ClusterRoleBinding(_)) {
                let namespace = if resource(obj.resource_id()).namespaced { request_namespace(&obj) } else { "" };
                if let Some(entry) = self.store.get(&Self::key(obj.resource_id(), namespace, name)) {
                    self.check_escalation(&obj, Some(&entry.value.object()))?;
                }
            }
            return self.as_authorized(|api| api.update_with(obj, status_only, dry_run));
        }
        self.check_reachable()?;
        keep_node_name_outside_spec(&mut obj);
        merge_string_data(&mut obj);
        let rid = obj.resource_id();
        if component_status::is_component_status(rid) {
            return Err(component_status::method_not_allowed());
        }
        self.warn_if_deprecated(rid);
        let rt = resource(rid);
        if rt.namespaced {
            if obj.meta().namespace.as_deref().is_none_or(str::is_empty) {
                obj.meta_mut().namespace = Some("default".to_string());
            }
        } else {
            obj.meta_mut().namespace = None;
        }
        let namespace = obj.meta().namespace.clone().unwrap_or_default();
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = Self::key(rid, &namespace, &name);
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found(&rt.qualified_plural(), &name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        if let (Object::Pod(pod), Object::Pod(stored)) = (&mut obj, &*old) {
            // A writer that sent the whole spec (kubectl) sends the token
            // volume's name inside it; it goes beside the spec again.
            if stored.token_volume.is_some() {
                pod.take_token_volume_from_spec();
            }
            if stored.affinity_node.is_some() {
                pod.take_affinity_node_from_spec();
            }
        }
        if let Some(rv) = obj.meta().resource_version.as_deref().filter(|rv| !rv.is_empty()) {
            if rv.parse::<i64>().ok() != Some(current) {
                return Err(ApiError::conflict(&rt.qualified_plural(), &name));
            }
        }
        if let Some(uid) = obj.meta().uid.as_deref().filter(|u| !u.is_empty()) {
            if Some(uid) != old.meta().uid.as_deref() {
                return Err(ApiError::conflict(&rt.qualified_plural(), &name));
            }
        }
        let mut obj = if status_only {
            status_onto(obj, &old)
        } else {
            copy_status(&mut obj, &old);
            obj
        };
        // A CSR's spec never changes after create (`csrStrategy.PrepareForUpdate`);
        // a status write's new conditions are given their times (`populateConditionTimestamps`).
        if let (Object::CertificateSigningRequest(csr), Object::CertificateSigningRequest(stored)) = (&mut obj, &*old) {
            if status_only {
                let now = self.now;
                populate_condition_times(csr.status.iter_mut().flat_map(|s| s.conditions.iter_mut().flatten()), stored, now);
            } else {
                csr.spec = stored.spec.clone();
            }
        }
        preserve_system_meta(obj.meta_mut(), old.meta());
        if status_only {
            stamp_volume_phase_transition(&mut obj, &old, self.now);
        }
        if let (Object::CustomResourceDefinition(crd), Object::CustomResourceDefinition(stored), false) = (&mut obj, &*old, status_only) {
            custom::prepare_crd_update(crd, stored);
        }
        if !status_only {
            admission::admit_update(self, &mut obj, &old)?;
            defaults::apply_update(&mut obj, &old);
            if tracks_generation(rid) {
                let generation = old.meta().generation.unwrap_or(1);
                obj.meta_mut().generation = Some(if spec_changed(&obj, &old) { generation + 1 } else { generation });
            }
        }
        // A status write keeps the stored spec, so only its metadata is checked.
        debug_assert!(!status_only || !spec_changed(&obj, &old), "a status write of {key} changed its spec");
        let mut causes = if status_only { validation::validate_status_update(&obj, &old) } else { validation::validate_update(&obj, &old) };
        let mut ratcheted = Vec::new();
        // The status strategy runs the rules too (a status rule is checked on a status write).
        if let (Object::Custom(o), Object::Custom(old_custom)) = (&obj, &*old) {
            let outcome = custom::validate_custom_rules(o, Some(old_custom), &causes);
            causes.extend(outcome.causes);
            ratcheted = outcome.warnings;
        }
        if !causes.is_empty() {
            return Err(invalid_error(&obj, causes));
        }
        for warning in ratcheted {
            self.warn(warning);
        }
        if !status_only {
            if self.serving_client() {
                for warning in object_warnings::on_write(&obj, Some(&*old)) {
                    self.warn(warning);
                }
            }
            admission::validate_update(self, &obj, &old)?;
        }
        if dry_run {
            return Ok(Rc::new(obj));
        }
        let finalized = obj.meta().deletion_timestamp.is_some()
            && obj.meta().finalizers.as_ref().is_none_or(Vec::is_empty)
            && !has_spec_finalizers(&obj)
            && !is_graceful_pending(&obj);
        if finalized {
            let (gone, _) = self.store.delete_if(&key, Some(current)).map_err(|_| ApiError::conflict(&rt.qualified_plural(), &name))?;
            self.writes += 1;
            let gone = Rc::new(with_resource_version((*gone).clone(), self.store.revision()));
            self.fan_out(Some(&old), &gone, WatchEventType::Deleted);
            return Ok(gone);
        }
        let (stored, revision) = self
            .store
            .put_if(&key, Some(current), |rev| with_resource_version(obj, rev))
            .map_err(|_| ApiError::conflict(&rt.qualified_plural(), &name))?;
        self.writes += 1;
        self.lease_event(rid, &key, revision);
        self.fan_out(Some(&old), &stored, WatchEventType::Modified);
        Ok(stored)
    }

    /// `PATCH pods/<name>/resize` with the patched pod (`podResizeStrategy`):
    /// the stored pod with only its containers' resources and resize
    /// policies taken from `obj` (its metadata and status as stored), then
    /// `ValidatePodResize`. A pod whose containers were added, removed or
    /// renamed keeps them as sent, for validation to refuse.
    pub fn resize_pod(&mut self, obj: Object, dry_run: bool) -> Result<Rc<Object>, ApiError> {
        self.write_pod_subresource(obj, dry_run, "resize", resized_pod)
    }

    /// `PATCH pods/<name>/ephemeralcontainers` with the patched pod
    /// (`podEphemeralContainersStrategy`): the stored pod with only its
    /// ephemeral containers taken from `obj`, defaulted, then
    /// `ValidatePodEphemeralContainersUpdate`.
    pub fn update_ephemeral_containers(&mut self, obj: Object, dry_run: bool) -> Result<Rc<Object>, ApiError> {
        self.write_pod_subresource(obj, dry_run, "ephemeralcontainers", with_ephemeral_containers)
    }

    /// A write to a pod's subresource: authorized as that subresource, the
    /// sent pod checked against the stored version, `update` making the pod
    /// to store from the sent and the stored one (what the subresource's
    /// strategy keeps) with its validation's causes; a write that changes
    /// nothing is not made.
    fn write_pod_subresource(&mut self, obj: Object, dry_run: bool, subresource: &'static str, update: fn(&api::pod::Pod, &api::pod::Pod) -> (api::pod::Pod, Vec<api::Cause>)) -> Result<Rc<Object>, ApiError> {
        if self.authorizing() {
            self.serving()?;
            let (verb, _) = self.client_update(false);
            let name = obj.meta().name.as_deref().unwrap_or_default();
            self.authorize_client_on(verb, obj.resource_id(), subresource, request_namespace(&obj), name)?;
            return self.as_authorized(|api| api.write_pod_subresource(obj, dry_run, subresource, update));
        }
        self.check_reachable()?;
        let namespace = obj.meta().namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".to_string());
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = Self::key(ids::pods(), &namespace, &name);
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found("pods", &name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        let (Object::Pod(sent), Object::Pod(stored)) = (&obj, &*old) else {
            return Err(ApiError::not_found("pods", &name));
        };
        if let Some(rv) = sent.metadata.resource_version.as_deref().filter(|rv| !rv.is_empty()) {
            if rv.parse::<i64>().ok() != Some(current) {
                return Err(ApiError::conflict("pods", &name));
            }
        }
        let (next, causes) = update(sent, stored);
        let unchanged = next == **stored;
        let obj = Object::Pod(Box::new(next));
        if !causes.is_empty() {
            return Err(invalid_error(&obj, causes));
        }
        // Nothing the subresource may change changed: nothing is written.
        if unchanged {
            return Ok(old.clone());
        }
        if dry_run {
            return Ok(Rc::new(obj));
        }
        let (stored, _) = self
            .store
            .put_if(&key, Some(current), |rev| with_resource_version(obj, rev))
            .map_err(|_| ApiError::conflict("pods", &name))?;
        self.writes += 1;
        self.fan_out(Some(&old), &stored, WatchEventType::Modified);
        Ok(stored)
    }

    /// `PUT certificatesigningrequests/<name>/approval` (kubectl
    /// certificate approve and deny): the stored request with only the
    /// conditions sent (`csrApprovalStrategy`), each given its times, and
    /// the CertificateApproval admission plugin: the client must hold
    /// `approve` on the request's signer (`signers`, by its name or
    /// `<domain>/*`).
    pub fn update_approval(&mut self, obj: Object, dry_run: bool) -> Result<Rc<Object>, ApiError> {
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = Self::key(ids::certificate_signing_requests(), "", &name);
        let plural = resource(ids::certificate_signing_requests()).qualified_plural();
        if self.authorizing() {
            self.serving()?;
            self.authorize_client_on("update", ids::certificate_signing_requests(), "approval", "", &name)?;
            if let Some(Object::CertificateSigningRequest(stored)) = self.store.get(&key).map(|e| e.value.object()).as_deref() {
                if !self.may_approve(&stored.spec.signer_name) {
                    return Err(ApiError::new(
                        Reason::Forbidden,
                        format!("{plural} \"{name}\" is forbidden: user not permitted to approve requests with signerName \"{}\"", stored.spec.signer_name),
                    ));
                }
            }
            return self.as_authorized(|api| api.update_approval(obj, dry_run));
        }
        self.check_reachable()?;
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found(&plural, &name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        let (Object::CertificateSigningRequest(sent), Object::CertificateSigningRequest(stored)) = (&obj, &*old) else {
            return Err(ApiError::not_found(&plural, &name));
        };
        if let Some(rv) = sent.metadata.resource_version.as_deref().filter(|rv| !rv.is_empty()) {
            if rv.parse::<i64>().ok() != Some(current) {
                return Err(ApiError::conflict(&plural, &name));
            }
        }
        let mut next = (**stored).clone();
        let mut conditions = sent.status.as_ref().and_then(|s| s.conditions.clone());
        populate_condition_times(conditions.iter_mut().flatten(), stored, self.now);
        next.status.get_or_insert_with(Default::default).conditions = conditions;
        let causes = validation::validate_csr_write(&next, stored, validation::certificates::CsrWrite::Approval);
        let obj = Object::CertificateSigningRequest(Box::new(next));
        if !causes.is_empty() {
            return Err(invalid_error(&obj, causes));
        }
        if dry_run {
            return Ok(Rc::new(obj));
        }
        let (written, _) = self
            .store
            .put_if(&key, Some(current), |rev| with_resource_version(obj, rev))
            .map_err(|_| ApiError::conflict(&plural, &name))?;
        self.writes += 1;
        self.fan_out(Some(&old), &written, WatchEventType::Modified);
        Ok(written)
    }

    /// `IsAuthorizedForSignerName`: the client may `approve` for the
    /// signer by its name or by `<domain>/*`.
    fn may_approve(&self, signer: &str) -> bool {
        let Some(user) = self.client_user() else { return true };
        let asks = |name: &str| {
            let request = crate::engine::rbac::Request { verb: "approve", group: "certificates.k8s.io", resource: "signers", subresource: "", namespace: "", name, path: None };
            self.authorize(user, &request).allowed
        };
        asks(signer) || signer.split_once('/').is_some_and(|(domain, _)| asks(&format!("{domain}/*")))
    }

    /// Reads, changes and writes an object, retrying on conflicts as
    /// client-go's `RetryOnConflict` does. `change` returns `false` to skip the write.
    pub fn modify(
        &mut self,
        resource_id: ResourceId,
        namespace: &str,
        name: &str,
        status_only: bool,
        mut change: impl FnMut(&mut Object) -> bool,
    ) -> Result<Rc<Object>, ApiError> {
        for _ in 0..5 {
            let current = self.get(resource_id, namespace, name)?;
            let mut next = (*current).clone();
            if !change(&mut next) {
                return Ok(current);
            }
            match self.update_with(next, status_only, false) {
                Err(e) if e.reason == Reason::Conflict => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(&resource(resource_id).qualified_plural(), name))
    }

    /// `POST pods/<name>/binding`: assigns a pod to a node and marks it
    /// PodScheduled, as the binding subresource does.
    pub fn bind(&mut self, namespace: &str, name: &str, node: &str) -> Result<Rc<Object>, ApiError> {
        self.check_reachable()?;
        let key = Self::key(ids::pods(), namespace, name);
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found("pods", name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        let Object::Pod(pod) = &*old else {
            return Err(ApiError::not_found("pods", name));
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Err(ApiError::conflict_message(format!(
                "Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is being deleted, cannot be assigned to a host"
            )));
        }
        if let Some(existing) = pod.bound_node() {
            return Err(ApiError::conflict_message(format!(
                "Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{existing}\""
            )));
        }
        // The spec stays shared with the pending version: only the name is new.
        let mut pod = pod.clone();
        pod.set_node_name(Some(node.to_string()));
        let at = api::meta::api_time(self.now);
        // The pods a scheduler binds in one second mostly had equal statuses
        // (their template's, as created), so they share the bound one too.
        let memo = self.last_bound_status.as_ref().filter(|m| m.at == at && api::pod::shared_or_equal(&m.pending, &pod.status));
        if let Some(memo) = memo {
            pod.status = Some(memo.bound.clone());
        } else {
            let pending = pod.status.clone();
            let status = pod.status_mut();
            let conditions = status.conditions.get_or_insert_with(Vec::new);
            conditions.retain(|c| c.type_ != "PodScheduled");
            // Room for exactly one more: a bound pod's only condition is usually
            // this one, and a pushed-to empty list would keep room for four
            // (480 bytes a pod, alive until every cache has seen the kubelet's
            // first status).
            conditions.reserve_exact(1);
            conditions.push(k8s_openapi::api::core::v1::PodCondition {
                type_: "PodScheduled".to_string(),
                status: "True".to_string(),
                last_transition_time: Some(at.clone()),
                ..Default::default()
            });
            let bound = pod.status.clone().unwrap_or_default();
            self.last_bound_status = Some(BoundStatus { pending, at, bound });
        }
        let (stored, _) = self
            .store
            .put_if(&key, Some(current), |rev| with_resource_version(Object::Pod(pod), rev))
            .map_err(|_| ApiError::conflict("pods", name))?;
        self.writes += 1;
        self.fan_out(Some(&old), &stored, WatchEventType::Modified);
        Ok(stored)
    }

    /// `PUT namespaces/<name>/finalize`: the only way to change a
    /// namespace's `spec.finalizers`. A terminating namespace whose
    /// finalizers are all gone is removed.
    pub fn finalize_namespace(&mut self, name: &str, uid: Option<&str>, finalizers: Vec<String>) -> Result<Rc<Object>, ApiError> {
        self.check_reachable()?;
        let key = Self::key(ids::namespaces(), "", name);
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found("namespaces", name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        if uid.is_some() && old.meta().uid.as_deref() != uid {
            return Err(ApiError::conflict("namespaces", name));
        }
        let mut next = (*old).clone();
        if let Object::Namespace(ns) = &mut next {
            ns.spec.get_or_insert_with(Default::default).finalizers = Some(finalizers);
        }
        let gone = next.meta().deletion_timestamp.is_some()
            && next.meta().finalizers.as_ref().is_none_or(Vec::is_empty)
            && !has_spec_finalizers(&next);
        if gone {
            let (_, revision) = self.store.delete_if(&key, Some(current)).map_err(|_| ApiError::conflict("namespaces", name))?;
            self.writes += 1;
            let gone = Rc::new(with_resource_version(next, revision));
            self.fan_out(Some(&old), &gone, WatchEventType::Deleted);
            return Ok(gone);
        }
        let (stored, _) = self
            .store
            .put_if(&key, Some(current), |rev| with_resource_version(next, rev))
            .map_err(|_| ApiError::conflict("namespaces", name))?;
        self.writes += 1;
        self.fan_out(Some(&old), &stored, WatchEventType::Modified);
        Ok(stored)
    }

    pub fn delete(&mut self, resource_id: ResourceId, namespace: &str, name: &str, opts: &DeleteOptions) -> Result<Deleted, ApiError> {
        if self.authorizing() {
            self.serving()?;
            self.authorize_client_on("delete", resource_id, "", namespace, name)?;
            return self.as_authorized(|api| api.delete(resource_id, namespace, name, opts));
        }
        self.check_reachable()?;
        if component_status::is_component_status(resource_id) {
            return Err(component_status::method_not_allowed());
        }
        self.warn_if_deprecated(resource_id);
        let rt = resource(resource_id);
        // The NamespaceLifecycle admission plugin's immortal namespaces.
        if resource_id == ids::namespaces() && matches!(name, "default" | "kube-system" | "kube-public") {
            return Err(ApiError::new(Reason::Forbidden, format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")));
        }
        // The PriorityClass REST's Delete refuses the system classes, present or not.
        if resource_id == ids::priority_classes() && validation::SYSTEM_PRIORITY_CLASSES.iter().any(|(system, _)| *system == name) {
            return Err(ApiError::new(Reason::Forbidden, format!("{} \"{name}\" is forbidden: this is a system priority class and cannot be deleted", rt.qualified_plural())));
        }
        let namespace = if rt.namespaced { namespace } else { "" };
        let key = Self::key(resource_id, namespace, name);
        let Some(entry) = self.store.get(&key) else {
            return Err(ApiError::not_found(&rt.qualified_plural(), name));
        };
        let old = entry.value.object();
        let current = entry.mod_revision;
        if let Some(uid) = &opts.precondition_uid {
            if old.meta().uid.as_ref() != Some(uid) {
                return Err(ApiError::conflict(&rt.qualified_plural(), name));
            }
        }
        if let Some(rv) = &opts.precondition_resource_version {
            if rv.parse::<i64>().ok() != Some(current) {
                return Err(ApiError::conflict(&rt.qualified_plural(), name));
            }
        }
        // The registry's delete validation: the validating admission plugins.
        admission::validating_policy::admit(self, &admission::validating_policy::Request { operation: "DELETE", object: None, old_object: Some(&old), subresource: "" })?;
        let mut next = (*old).clone();
        let already_deleting = old.meta().deletion_timestamp.is_some();
        // The definition's REST Delete: the cleanup finalizer and a
        // `Terminating` condition, so its objects go before it does.
        if let (Object::CustomResourceDefinition(crd), false) = (&mut next, already_deleting) {
            let finalizers = crd.metadata.finalizers.get_or_insert_with(Vec::new);
            if !finalizers.iter().any(|f| f == custom::CLEANUP_FINALIZER) {
                finalizers.push(custom::CLEANUP_FINALIZER.to_string());
            }
        }
        // The namespace REST's Delete: the first request only marks it
        // (a deletionTimestamp, no grace period, phase Terminating) and sets
        // the garbage collector's finalizers; while its spec finalizers
        // remain, a repeat changes nothing.
        if let Object::Namespace(ns) = &mut next {
            if !already_deleting {
                ns.metadata.deletion_timestamp = Some(api::meta::api_time(self.now));
                ns.status.get_or_insert_with(Default::default).phase = Some("Terminating".to_string());
                set_collector_finalizers(&mut ns.metadata, opts.propagation);
                return self.store_pending_deletion(&key, current, &rt, name, &old, next, opts.dry_run);
            }
            if has_spec_finalizers(&next) {
                return Ok(Deleted::Pending(old));
            }
        }
        // rest.BeforeDelete: a negative grace period is read as 1 s; only a
        // pod is deleted gracefully; one already waiting out its grace period
        // may only have it shortened, counted from when its deletion began.
        let requested = opts.grace_period_seconds.map(|g| if g < 0 { 1 } else { g });
        let mut graceful_seconds = None;
        if let Object::Pod(pod) = &next {
            match (&pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) {
                (None, _) => graceful_seconds = Some(pod_grace_period(pod, requested)),
                (Some(_), None | Some(0)) => {}
                (Some(deadline), Some(existing)) => match requested {
                    Some(shorter) if shorter < existing => {
                        let began = deadline.0.as_second() - existing;
                        let moved = Timestamp::from_second(began + shorter).unwrap_or(deadline.0);
                        let meta = next.meta_mut();
                        meta.deletion_timestamp = Some(Time(moved));
                        meta.deletion_grace_period_seconds = Some(shorter);
                        graceful_seconds = Some(shorter);
                    }
                    // Graceful deletion is pending: the finalizers are not touched either.
                    _ => return Ok(Deleted::Pending(old)),
                },
            }
        }
        let meta = next.meta_mut();
        if !already_deleting {
            if let Some(grace) = graceful_seconds {
                meta.deletion_timestamp = Some(api::meta::api_time(self.now.plus_secs(grace as u64)));
                meta.deletion_grace_period_seconds = Some(grace);
            }
        }
        set_collector_finalizers(meta, opts.propagation);
        let pending_finalizers = meta.finalizers.as_ref().is_some_and(|f| !f.is_empty());
        match graceful_seconds {
            // markAsDeleting: held by finalizers, it is marked now (or keeps
            // an earlier mark) with no grace period.
            None if pending_finalizers => {
                let now = api::meta::api_time(self.now);
                if meta.deletion_timestamp.as_ref().is_none_or(|t| t.0 > now.0) {
                    meta.deletion_timestamp = Some(now);
                }
                meta.deletion_grace_period_seconds = Some(0);
            }
            Some(grace) if pending_finalizers || grace > 0 => {}
            _ => return self.delete_now(&key, current, &rt, name, &old, opts.dry_run),
        }
        // The first deletion is a change controllers must see through
        // their observed generation (BeforeDelete, markAsDeleting).
        if !already_deleting && meta.generation.is_some_and(|g| g > 0) {
            meta.generation = meta.generation.map(|g| g + 1);
        }
        if *next.meta() == *old.meta() {
            return Ok(Deleted::Pending(old));
        }
        self.store_pending_deletion(&key, current, &rt, name, &old, next, opts.dry_run)
    }

    /// Writes an object marked for deletion that finalizers or a grace period keep.
    #[allow(clippy::too_many_arguments)]
    fn store_pending_deletion(&mut self, key: &str, current: i64, rt: &api::ResourceType, name: &str, old: &Rc<Object>, next: Object, dry_run: bool) -> Result<Deleted, ApiError> {
        if dry_run {
            return Ok(Deleted::Pending(Rc::new(next)));
        }
        let (stored, _) = self
            .store
            .put_if(key, Some(current), |rev| with_resource_version(next, rev))
            .map_err(|_| ApiError::conflict(&rt.qualified_plural(), name))?;
        self.writes += 1;
        self.fan_out(Some(old), &stored, WatchEventType::Modified);
        Ok(Deleted::Pending(stored))
    }

    /// Removes an object from the store at once.
    fn delete_now(&mut self, key: &str, current: i64, rt: &api::ResourceType, name: &str, old: &Rc<Object>, dry_run: bool) -> Result<Deleted, ApiError> {
        if dry_run {
            return Ok(Deleted::Now(old.clone()));
        }
        let (gone, revision) = self.store.delete_if(key, Some(current)).map_err(|e| match e {
            StoreError::KeyNotFound => ApiError::not_found(&rt.qualified_plural(), name),
            _ => ApiError::conflict(&rt.qualified_plural(), name),
        })?;
        self.writes += 1;
        let gone = Rc::new(with_resource_version((*gone).clone(), revision));
        self.fan_out(Some(old), &gone, WatchEventType::Deleted);
        Ok(Deleted::Now(gone))
    }

    fn fan_out(&mut self, old: Option<&Rc<Object>>, new: &Rc<Object>, kind: WatchEventType) {
        let rid = new.resource_id();
        if rid == ids::pods() {
            self.index_pod_node(old.map(|o| &**o), new, kind);
        }
        let mut targets = std::mem::take(&mut self.fan_out_targets);
        targets.clear();
        targets.extend(self.by_resource.get(&rid).into_iter().flatten().copied());
        if rid == ids::pods() {
            // The new version's node, then the old one's if another.
            let now_on = Self::pod_node(new);
            let was_on = old.and_then(|o| Self::pod_node(o)).filter(|&n| Some(n) != now_on);
            for n in [now_on, was_on].into_iter().flatten() {
                if let Some(set) = self.pods_by_node.get(n) {
                    targets.extend(set.iter().copied());
                }
            }
        }
        let mut overflowed = Vec::new();
        let delay = self.latency.request_ms();
        let visible_at = self.now.plus_millis(delay);
        for &id in &targets {
            let Some(w) = self.watches.get_mut(&id) else { continue };
            let now_matches = w.query.matches(new);
            let was_matching = old.is_some_and(|o| w.query.matches(o));
            let event_kind = match kind {
                WatchEventType::Deleted if was_matching || now_matches => WatchEventType::Deleted,
                WatchEventType::Deleted => continue,
                WatchEventType::Added if now_matches => WatchEventType::Added,
                WatchEventType::Added => continue,
                WatchEventType::Modified => match (was_matching, now_matches) {
                    (true, true) => WatchEventType::Modified,
                    (false, true) => WatchEventType::Added,
                    (true, false) => WatchEventType::Deleted,
                    (false, false) => continue,
                },
            };
            w.queue.push_back((visible_at, WatchEvent { kind: event_kind, object: new.clone() }));
            if w.queue.len() == 1 {
                if let Some(ledger) = self.watch_ledgers.get_mut(w.owner) {
                    ledger.queued.push(id);
                }
            }
            if delay == 0 {
                self.ready.insert(w.owner);
            } else {
                self.delayed.insert((visible_at, w.owner));
            }
            if w.queue.len() > WATCH_QUEUE_LIMIT {
                overflowed.push(id);
            }
        }
        self.fan_out_targets = targets;
        for id in overflowed {
            self.close_watch(id);
        }
        if matches!(**new, Object::CustomResourceDefinition(_) | Object::Custom(_)) {
            self.note_custom_write(new);
        }
    }
}

/// The longest `generateName` the server keeps before its 5-character
/// suffix (`names.MaxGeneratedNameLength`), so generated names stay
/// within 63 characters.
pub const MAX_GENERATED_NAME_LENGTH: usize = 58;

/// A `generateName` cut to [`MAX_GENERATED_NAME_LENGTH`] bytes, as
/// `SimpleNameGenerator` cuts it (a cut inside a multi-byte character
/// moves back to its start; validation refuses such names anyway).
fn generated_name_base(prefix: &str) -> &str {
    let mut end = prefix.len().min(MAX_GENERATED_NAME_LENGTH);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    &prefix[..end]
}

fn with_resource_version(mut obj: Object, revision: i64) -> Object {
    obj.meta_mut().resource_version = Some(revision.to_string());
    if let Object::Pod(pod) = &mut obj {
        // A writer that changed the status in place left it whole.
        if let Some(status) = pod.status.as_mut().filter(|s| s.packs_whole()) {
            Rc::make_mut(status).repack();
        }
    }
    obj
}

/// Fields of metadata that only the server sets, carried over on update.
fn preserve_system_meta(meta: &mut ObjectMeta, old: &ObjectMeta) {
    meta.uid = old.uid.clone();
    meta.creation_timestamp = old.creation_timestamp.clone();
    meta.generation = old.generation;
    meta.generate_name = meta.generate_name.take().or_else(|| old.generate_name.clone());
    if old.deletion_timestamp.is_some() {
        meta.deletion_timestamp = old.deletion_timestamp.clone();
        meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
    } else {
        meta.deletion_timestamp = None;
        meta.deletion_grace_period_seconds = None;
    }
}

/// The PersistentVolume status strategy: a phase change is stamped with
/// `lastPhaseTransitionTime` unless the writer set a newer one.
fn stamp_volume_phase_transition(obj: &mut Object, old: &Object, now: VirtualTime) {
    let (Object::PersistentVolume(new), Object::PersistentVolume(old)) = (obj, old) else { return };
    let old_status = old.status.clone().unwrap_or_default();
    let status = new.status.get_or_insert_with(Default::default);
    if status.phase == old_status.phase {
        if status.last_phase_transition_time.is_none() {
            status.last_phase_transition_time = old_status.last_phase_transition_time;
        }
    } else if status.last_phase_transition_time.is_none() || status.last_phase_transition_time == old_status.last_phase_transition_time {
        status.last_phase_transition_time = Some(api::meta::api_time(now));
    }
}

/// A namespace's `spec.finalizers` hold it in Terminating until the
/// namespace controller has emptied it and calls finalize.
fn has_spec_finalizers(obj: &Object) -> bool {
    match obj {
        Object::Namespace(ns) => ns.spec.as_ref().and_then(|s| s.finalizers.as_ref()).is_some_and(|f| !f.is_empty()),
        _ => false,
    }
}

/// A pod written by code that set `nodeName` inside its spec keeps it
/// beside the spec, as every stored pod does ([`Pod::node_name`]).
fn keep_node_name_outside_spec(obj: &mut Object) {
    if let Object::Pod(pod) = obj {
        pod.take_node_name_from_spec();
    }
}

/// A Secret's `stringData` is write-only: decoding the request moves each
/// entry into `data`, over a key of the same name, and it is never stored
/// (`Convert_v1_Secret_To_core_Secret`), so validation and every reader see
/// the merged `data`.
fn merge_string_data(obj: &mut Object) {
    if let Object::Secret(secret) = obj {
        if let Some(string_data) = secret.string_data.take().filter(|d| !d.is_empty()) {
            let data = secret.data.get_or_insert_with(BTreeMap::new);
            for (key, value) in string_data {
                data.insert(key, k8s_openapi::ByteString(value.into_bytes()));
            }
        }
    }
}

/// A pod waiting out its grace period is removed by its kubelet, not by
/// dropping its last finalizer.
fn is_graceful_pending(obj: &Object) -> bool {
    matches!(obj, Object::Pod(_)) && obj.meta().deletion_grace_period_seconds.is_some_and(|g| g > 0)
}

/// The pod strategy's `CheckGracefulDelete`: the request's grace period,
/// else the pod's `terminationGracePeriodSeconds`; an unscheduled or
/// finished pod goes at once.
fn pod_grace_period(pod: &Pod, requested: Option<i64>) -> i64 {
    let scheduled = pod.bound_node().is_some();
    let phase = pod.status.as_ref().and_then(|s| s.phase());
    if !scheduled || matches!(phase, Some("Succeeded") | Some("Failed")) {
        return 0;
    }
    requested.unwrap_or_else(|| pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30)).max(0)
}

/// `deletionFinalizersForGarbageCollection`: a propagation policy puts the
/// garbage collector's finalizer it asks for (`orphan`,
/// `foregroundDeletion`) in place of the other, and background removes
/// both; with no policy the object's own stay.
fn set_collector_finalizers(meta: &mut ObjectMeta, propagation: Option<Propagation>) {
    let wanted = match propagation {
        None => return,
        Some(Propagation::Orphan) => Some(ORPHAN_FINALIZER),
        Some(Propagation::Foreground) => Some(FOREGROUND_FINALIZER),
        Some(Propagation::Background) => None,
    };
    let current = meta.finalizers.as_deref().unwrap_or_default();
    let mut finalizers: Vec<String> = current.iter().filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER).cloned().collect();
    finalizers.extend(wanted.map(str::to_string));
    let same_set = finalizers.iter().all(|f| current.contains(f)) && current.iter().all(|f| finalizers.contains(f));
    if !same_set {
        meta.finalizers = if finalizers.is_empty() { None } else { Some(finalizers) };
    }
}

/// Kinds whose strategy sets `metadata.generation` and bumps it on spec changes.
/// The namespace a write of `obj` is addressed to: its own, else `default`
/// (as the server defaults it; a cluster-scoped kind's is ignored).
fn request_namespace(obj: &Object) -> &str {
    obj.meta().namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
}

pub fn tracks_generation(rid: ResourceId) -> bool {
    // Every custom object has a generation (the custom resource strategy).
    rid.0 as usize >= api::RESOURCES.len() || matches!(
        api::resource(rid).kind,
        "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "ReplicationController"
            | "HorizontalPodAutoscaler"
            | "PodDisruptionBudget"
            | "NetworkPolicy"
            | "Ingress"
            | "CustomResourceDefinition"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
    )
}

macro_rules! status_kinds {
    ($($variant:ident),*; shared spec: $($shared:ident),*) => {
        /// What a status write stores: the stored object `old` with
        /// `obj`'s status. Writers mostly change only the status of a copy
        /// of `old` (every kubelet status write), so `obj` itself is kept
        /// when its metadata and spec already equal `old`'s (each of these
        /// kinds has only those and its status), sparing a second copy.
        fn status_onto(obj: Object, old: &Object) -> Object {
            match (obj, old) {
                // A pod's versions share their spec: compared by address first.
                (Object::Pod(new), Object::Pod(stored)) => {
                    if new.metadata == stored.metadata && new.same_spec(stored) {
                        Object::Pod(new)
                    } else {
                        Object::Pod(Box::new(Pod { metadata: stored.metadata.clone(), spec: stored.spec.clone(), status: new.status, node_name: stored.node_name.clone(), token_volume: stored.token_volume.clone(), affinity_node: stored.affinity_node.clone() }))
                    }
                }
                $( (Object::$variant(new), Object::$variant(stored)) => {
                    if new.metadata == stored.metadata && new.spec == stored.spec {
                        Object::$variant(new)
                    } else {
                        let mut merged = stored.clone();
                        merged.status = new.status;
                        Object::$variant(merged)
                    }
                } )*
                // Versions that share their spec: compared by address first,
                // and a copy of the stored version copies no spec.
                $( (Object::$shared(new), Object::$shared(stored)) => {
                    if new.metadata == stored.metadata && api::pod::shared_or_equal(&new.spec, &stored.spec) {
                        Object::$shared(new)
                    } else {
                        let mut merged = stored.clone();
                        merged.status = new.status;
                        Object::$shared(merged)
                    }
                } )*
                (Object::Custom(new), Object::Custom(stored)) => {
                    let mut merged = stored.clone();
                    match new.content.get("status") {
                        Some(status) => merged.content.insert("status".to_string(), status.clone()),
                        None => merged.content.remove("status"),
                    };
                    Object::Custom(merged)
                }
                (obj, old) => {
                    let mut merged = old.clone();
                    copy_status(&mut merged, &obj);
                    merged
                }
            }
        }
        /// Copies `from`'s status into `to` (both the same kind).
        fn copy_status(to: &mut Object, from: &Object) {
            match (to, from) {
                (Object::Pod(t), Object::Pod(f)) => t.status = f.status.clone(),
                $( (Object::$variant(t), Object::$variant(f)) => t.status = f.status.clone(), )*
                $( (Object::$shared(t), Object::$shared(f)) => t.status = f.status.clone(), )*
                // Only a version with a status subresource keeps its status from a main write.
                (Object::Custom(t), Object::Custom(f)) if custom::has_status(t.resource) => {
                    match f.content.get("status") {
                        Some(status) => t.content.insert("status".to_string(), status.clone()),
                        None => t.content.remove("status"),
                    };
                }
                _ => {}
            }
        }
        /// Whether the kind serves a `/status` subresource.
        pub fn has_status_subresource(obj: &Object) -> bool {
            if let Object::Custom(o) = obj {
                return custom::has_status(o.resource);
            }
            matches!(obj, Object::Pod(_) $( | Object::$variant(_) )* $( | Object::$shared(_) )*)
        }
        /// [`has_status_subresource`] by the kind's name.
        fn serves_status(kind: &str) -> bool {
            matches!(kind, "Pod" $( | stringify!($variant) )* $( | stringify!($shared) )*)
        }
        fn spec_changed(a: &Object, b: &Object) -> bool {
            match (a, b) {
                (Object::Pod(x), Object::Pod(y)) => !x.same_spec(y),
                $( (Object::$variant(x), Object::$variant(y)) => x.spec != y.spec, )*
                $( (Object::$shared(x), Object::$shared(y)) => !api::pod::shared_or_equal(&x.spec, &y.spec), )*
                // The custom resource strategy: anything but metadata (and the
                // status, with a status subresource) is the spec.
                (Object::Custom(x), Object::Custom(y)) => {
                    let with_status = !custom::has_status(x.resource);
                    let rest = |o: &api::custom::CustomObject| o.content.iter().filter(|(k, _)| with_status || k.as_str() != "status").map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
                    rest(x) != rest(y)
                }
                _ => a.to_json().get("spec") != b.to_json().get("spec"),
            }
        }
    };
}

status_kinds!(
    Node, Namespace, Service, PersistentVolumeClaim, PersistentVolume, ReplicationController, ResourceQuota,
    CronJob, HorizontalPodAutoscaler, PodDisruptionBudget, Ingress, CertificateSigningRequest, CustomResourceDefinition;
    shared spec: Deployment, ReplicaSet, DaemonSet, StatefulSet, Job
);

/// The CSR strategy's `PrepareForCreate`: the request's user replaces
/// whatever identity the manifest gave, and a new request carries no
/// status (so none is created already approved).
fn stamp_requestor(csr: &mut k8s_openapi::api::certificates::v1::CertificateSigningRequest, user: &crate::engine::rbac::User) {
    csr.spec.username = Some(user.name.clone()).filter(|n| !n.is_empty());
    csr.spec.uid = user.uid.clone().filter(|u| !u.is_empty());
    csr.spec.groups = Some(user.groups.clone()).filter(|g| !g.is_empty());
    csr.spec.extra = None;
    csr.status = Some(Default::default());
}

/// `populateConditionTimestamps`: a condition without a `lastUpdateTime`
/// gets now; without a `lastTransitionTime`, the stored one of a condition
/// of its type and status, else now.
fn populate_condition_times<'a>(
    conditions: impl Iterator<Item = &'a mut k8s_openapi::api::certificates::v1::CertificateSigningRequestCondition>,
    stored: &k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    now: VirtualTime,
) {
    let stored_conditions = stored.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
    for c in conditions {
        if c.last_update_time.is_none() {
            c.last_update_time = Some(api::meta::api_time(now));
        }
        if c.last_transition_time.is_none() {
            let kept = stored_conditions.iter().find(|o| o.type_ == c.type_ && o.status == c.status).and_then(|o| o.last_transition_time.clone());
            c.last_transition_time = Some(kept.unwrap_or_else(|| api::meta::api_time(now)));
        }
    }
}

/// An `Invalid` error naming the object as kubectl prints it.
pub fn invalid_error(obj: &Object, causes: Vec<api::Cause>) -> ApiError {
    let rt = resource(obj.resource_id());
    let qualified = if rt.group.is_empty() { rt.kind.to_string() } else { format!("{}.{}", rt.kind, rt.group) };
    ApiError::invalid(rt.kind, &qualified, obj.meta().name.as_deref().unwrap_or(""), causes)
}

/// The kinds etcd keeps under a lease of `--event-ttl`: `v1` and
/// `events.k8s.io/v1` Events.
fn is_event(rid: ResourceId) -> bool {
    resource(rid).kind == "Event"
}

/// Whether `key` is the store's key of the pod `namespace/name`
/// (`/registry/pods/<namespace>/<name>`, as [`ApiServer::key`] makes it).
fn is_pod_key(key: &str, namespace: &str, name: &str) -> bool {
    key.strip_prefix("/registry/pods/").and_then(|rest| rest.strip_prefix(namespace)).and_then(|rest| rest.strip_prefix('/')) == Some(name)
}


/// `podResizeStrategy`: the stored pod with the sent containers' resources
/// and resize policies (the sent containers whole when their names differ,
/// for validation to refuse), and `ValidatePodResize`'s causes.
fn resized_pod(sent: &api::pod::Pod, stored: &api::pod::Pod) -> (api::pod::Pod, Vec<api::Cause>) {
    let mut next = stored.clone();
    let sent_spec = api::pod_spec_or_empty(sent.spec.as_deref());
    let stored_spec = api::pod_spec_or_empty(stored.spec.as_deref());
    let same_names = |a: &[k8s_openapi::api::core::v1::Container], b: &[k8s_openapi::api::core::v1::Container]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name);
    let shaped = same_names(&sent_spec.containers, &stored_spec.containers)
        && same_names(sent_spec.init_containers.as_deref().unwrap_or_default(), stored_spec.init_containers.as_deref().unwrap_or_default());
    if shaped {
        let spec = next.spec_mut();
        for (c, from) in spec.containers.iter_mut().zip(&sent_spec.containers) {
            c.resources = from.resources.clone();
            c.resize_policy = from.resize_policy.clone();
        }
        for (c, from) in spec.init_containers.iter_mut().flatten().zip(sent_spec.init_containers.iter().flatten()) {
            c.resources = from.resources.clone();
            c.resize_policy = from.resize_policy.clone();
        }
    } else {
        next.spec_mut().containers = sent_spec.containers.clone();
        next.spec_mut().init_containers = sent_spec.init_containers.clone();
    }
    let causes = validation::validate_resize(&next, stored);
    (next, causes)
}

/// `podEphemeralContainersStrategy`: the stored pod with the sent
/// ephemeral containers, defaulted, and
/// `ValidatePodEphemeralContainersUpdate`'s causes.
fn with_ephemeral_containers(sent: &api::pod::Pod, stored: &api::pod::Pod) -> (api::pod::Pod, Vec<api::Cause>) {
    let mut next = stored.clone();
    let mut ephemeral = api::pod_spec_or_empty(sent.spec.as_deref()).ephemeral_containers.clone().filter(|e| !e.is_empty());
    defaults::default_ephemeral_containers(ephemeral.iter_mut().flatten());
    next.spec_mut().ephemeral_containers = ephemeral;
    let causes = validation::validate_ephemeral_update(&next, stored);
    (next, causes)
}

#[cfg(test)]
mod event_ttl_tests {
    use serde_json::json;

    use super::*;

    fn event(api: &mut ApiServer, name: &str) -> Rc<Object> {
        let manifest = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}, "reason": "Started", "message": "Started container app"});
        let obj = Object::from_json(ids::events(), manifest).expect("an Event decodes");
        api.create(obj).expect("the Event is created")
    }

    #[test]
    fn events_expire_an_hour_after_their_last_write_and_watchers_see_them_deleted() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        let namespace = Object::from_json(ids::namespaces(), json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
        api.create(namespace.expect("a Namespace decodes")).expect("the namespace is created");
        event(&mut api, "first");
        api.set_now(VirtualTime::from_secs(1_800));
        let second = event(&mut api, "second");
        let watch = api.watch(1, Query::all(ids::events())).expect("watch opens");
        api.set_now(VirtualTime::from_secs(3_599));
        assert_eq!(api.list(&Query::all(ids::events())).map(|(l, _)| l.len()), Ok(2));
        // The second Event is written again: its lease starts over.
        let mut renewed = (*second).clone();
        renewed.meta_mut().resource_version = None;
        api.update(renewed).expect("the Event is updated");
        let before = api.store().revision();
        api.set_now(VirtualTime::from_secs(3_600));
        assert!(api.get(ids::events(), "default", "first").is_err(), "the first Event expired");
        assert!(api.get(ids::events(), "default", "second").is_ok(), "the renewed one stays");
        assert_eq!(api.store().revision(), before + 1, "the expiry is a delete at a new revision");
        api.set_now(VirtualTime::from_secs(3_599 + 3_599));
        let events = api.poll(watch).expect("watch polls");
        let kinds: Vec<(WatchEventType, String)> = events.iter().map(|e| (e.kind, e.object.meta().name.clone().unwrap_or_default())).collect();
        assert_eq!(kinds, vec![(WatchEventType::Modified, "second".into()), (WatchEventType::Deleted, "first".into())]);
        assert_eq!(events[1].object.meta().resource_version, Some(before.saturating_add(1).to_string()));
        api.set_now(VirtualTime::from_secs(3_599 + 3_600));
        assert_eq!(api.list(&Query::all(ids::events())).map(|(l, _)| l.len()), Ok(0));
    }

    #[test]
    fn a_bounded_poll_leaves_the_rest_and_its_watcher_ready() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        let namespace = Object::from_json(ids::namespaces(), json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
        api.create(namespace.expect("a Namespace decodes")).expect("the namespace is created");
        let watch = api.watch(3, Query::all(ids::events())).expect("watch opens");
        for name in ["a", "b", "c", "d", "e"] {
            event(&mut api, name);
        }
        assert!(api.take_ready().contains(&3), "events make the watcher ready");
        let names = |events: Vec<WatchEvent>| events.iter().map(|e| e.object.meta().name.clone().unwrap_or_default()).collect::<Vec<_>>();
        assert_eq!(api.poll_at_most(watch, 2).map(names), Ok(vec!["a".to_string(), "b".to_string()]));
        assert!(api.take_ready().contains(&3), "events left: ready again at once");
        assert_eq!(api.poll_at_most(watch, 3).map(names), Ok(vec!["c".to_string(), "d".to_string(), "e".to_string()]));
        assert!(!api.take_ready().contains(&3), "drained exactly: not ready");
        assert!(api.watch_drained(watch));
    }

    #[test]
    fn nothing_to_poll_while_no_watch_of_the_component_holds_or_lost_anything() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        let namespace = Object::from_json(ids::namespaces(), json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
        api.create(namespace.expect("a Namespace decodes")).expect("the namespace is created");
        assert!(!api.nothing_to_poll(3, 0), "a component that never watched polls");
        let events = api.watch(3, Query::all(ids::events())).expect("watch opens");
        let namespaces = api.watch(3, Query::all(ids::namespaces())).expect("watch opens");
        let other = api.watch(4, Query::all(ids::events())).expect("watch opens");
        assert!(api.nothing_to_poll(3, 0));
        event(&mut api, "a");
        event(&mut api, "b");
        assert!(!api.nothing_to_poll(3, 0), "two events queued");
        assert!(!api.nothing_to_poll_on(3, events, 0), "on the Events' watch");
        assert!(api.nothing_to_poll_on(3, namespaces, 0), "none on the namespaces' watch");
        assert_eq!(api.poll_at_most(events, 1).map(|e| e.len()), Ok(1));
        assert!(!api.nothing_to_poll(3, 0), "one left");
        assert_eq!(api.poll(events).map(|e| e.len()), Ok(1));
        assert!(api.nothing_to_poll(3, 0), "both read; the namespaces' watch got nothing");
        assert!(!api.nothing_to_poll(4, 0), "the other component has not read its two");
        api.set_caller(Some(3));
        api.set_cut_off(3, true);
        assert!(!api.nothing_to_poll(3, 0), "cut off: a poll would fail");
        api.set_cut_off(3, false);
        api.set_caller(None);
        // A watch the server ends with events still queued.
        event(&mut api, "c");
        api.close_watch(namespaces);
        api.close_watch(events);
        assert_eq!(api.watches_ended(3), 2);
        assert!(!api.nothing_to_poll(3, 0), "its watches ended since it last looked");
        assert!(api.nothing_to_poll(3, 2), "and nothing is queued on what is left");
        assert!(!api.nothing_to_poll_on(3, events, 0), "a watch that may have ended is polled");
        assert_eq!(api.poll(other).map(|e| e.len()), Ok(3));
        assert!(api.nothing_to_poll(4, 0));
        api.set_running(false);
        assert!(!api.nothing_to_poll(4, 0), "a stopped server answers nothing");
        api.set_running(true);
        assert_eq!(api.watches_ended(4), 1, "stopping the server ended its watch");
    }
}

#[cfg(test)]
mod pods_on_node_tests {
    use super::*;

    fn pod(name: &str, node: Option<&str>) -> Object {
        let mut spec = serde_json::json!({"containers": [{"name": "app", "image": "nginx"}]});
        if let Some(n) = node {
            spec["nodeName"] = n.into();
        }
        Object::from_json(ids::pods(), serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec})).unwrap()
    }

    fn names_on(api: &ApiServer, node: &str) -> Vec<String> {
        let query = Query::all(ids::pods()).with_fields(FieldSelector::parse(&format!("spec.nodeName={node}")).unwrap());
        let (items, _) = api.list(&query).unwrap();
        let indexed: Vec<String> = items.iter().filter_map(|o| o.meta().name.clone()).collect();
        // The index answers as a scan of every pod would.
        let scanned: Vec<String> = api.store.range(&ApiServer::prefix(ids::pods(), None)).filter(|(_, e)| query.matches(&e.value.object())).filter_map(|(_, e)| e.value.object().meta().name.clone()).collect();
        assert_eq!(indexed, scanned);
        indexed
    }

    #[test]
    fn a_node_lists_its_pods_through_binds_deletes_and_restores() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        api.create(Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})).unwrap()).unwrap();
        api.create(Object::from_json(ids::service_accounts(), serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}})).unwrap()).unwrap();
        api.create(pod("b", Some("n1"))).unwrap();
        api.create(pod("a", None)).unwrap();
        api.create(pod("c", Some("n2"))).unwrap();
        assert_eq!(names_on(&api, "n1"), ["b"]);
        api.bind("default", "a", "n1").unwrap();
        assert_eq!(names_on(&api, "n1"), ["a", "b"]);
        api.save_snapshot("snap.db").unwrap();
        api.delete(ids::pods(), "default", "b", &DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }).unwrap();
        assert_eq!(names_on(&api, "n1"), ["a"]);
        assert_eq!(names_on(&api, "n2"), ["c"]);
        api.restore_snapshot("snap.db", 0).unwrap();
        assert_eq!(names_on(&api, "n1"), ["a", "b"]);
        assert!(names_on(&api, "n3").is_empty());
    }

    #[test]
    fn a_bound_pod_keeps_no_spare_room_for_conditions() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        api.create(Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})).unwrap()).unwrap();
        api.create(Object::from_json(ids::service_accounts(), serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}})).unwrap()).unwrap();
        api.create(pod("a", None)).unwrap();
        let bound = api.bind("default", "a", "n1").unwrap();
        let Object::Pod(p) = &*bound else { panic!("not a pod") };
        let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref()).unwrap();
        assert_eq!(conditions.iter().map(|c| (c.type_.as_str(), c.status.as_str())).collect::<Vec<_>>(), [("PodScheduled", "True")]);
        assert_eq!(conditions.capacity(), 1);
    }
}

#[cfg(test)]
mod shared_spec_tests {
    use super::*;

    fn pod(name: &str, owner: &str, image: &str) -> Object {
        Object::from_json(ids::pods(), serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": format!("uid-{owner}"), "controller": true}
            ]},
            "spec": {"containers": [{"name": "app", "image": image}]}
        }))
        .unwrap()
    }

    fn spec_of(obj: &Object) -> (Rc<k8s_openapi::api::core::v1::PodSpec>, Option<String>) {
        let Object::Pod(p) = obj else { panic!("not a pod") };
        (p.spec.clone().unwrap(), p.token_volume.clone())
    }

    #[test]
    fn the_pods_of_a_controller_share_one_spec_and_show_their_own_token_volume() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        api.create(Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})).unwrap()).unwrap();
        api.create(Object::from_json(ids::service_accounts(), serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}})).unwrap()).unwrap();
        let a = api.create(pod("a", "rs1", "nginx")).unwrap();
        let b = api.create(pod("b", "rs1", "nginx")).unwrap();
        let c = api.create(pod("c", "rs2", "nginx")).unwrap();
        let d = api.create(pod("d", "rs1", "nginx:1.27")).unwrap();
        let ((sa, ta), (sb, tb), (sc, _), (sd, _)) = (spec_of(&a), spec_of(&b), spec_of(&c), spec_of(&d));
        assert!(Rc::ptr_eq(&sa, &sb), "one controller's equal specs are one");
        assert!(!Rc::ptr_eq(&sa, &sc), "another controller's are its own");
        assert!(!Rc::ptr_eq(&sa, &sd) && *sa != *sd, "a different spec is not shared");
        assert_eq!(api.shared_pod_specs(), 1);
        let (ta, tb) = (ta.unwrap(), tb.unwrap());
        assert!(ta.starts_with("kube-api-access-") && tb.starts_with("kube-api-access-") && ta != tb);
        let json = b.to_json();
        assert_eq!(json["spec"]["volumes"][0]["name"], serde_json::json!(tb));
        assert_eq!(json["spec"]["containers"][0]["volumeMounts"][0]["name"], serde_json::json!(tb));
        // A whole-spec update (as kubectl sends) keeps it beside the spec.
        let mut sent = Object::from_json(ids::pods(), json).unwrap();
        sent.meta_mut().labels = Some([("tier".to_string(), "front".to_string())].into());
        let updated = api.update(sent).unwrap();
        let Object::Pod(p) = &*updated else { panic!("not a pod") };
        assert_eq!(p.token_volume.as_deref(), Some(tb.as_str()));
        assert_eq!(**p.spec.as_ref().unwrap(), *sb);
        // A change to a shared spec is the changed pod's alone.
        let mut changed = (*b).clone();
        if let Object::Pod(p) = &mut changed {
            p.spec_mut().containers[0].image = Some("nginx:1.28".into());
            p.metadata.resource_version = None;
        }
        api.update(changed).unwrap();
        let Object::Pod(p) = &*api.get(ids::pods(), "default", "a").unwrap() else { panic!("not a pod") };
        assert_eq!(p.spec.as_ref().unwrap().containers[0].image.as_deref(), Some("nginx"));
    }

    fn daemon_pod(name: &str, node: &str) -> Object {
        Object::from_json(ids::pods(), serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "uid-agent", "controller": true}
            ]},
            "spec": {"containers": [{"name": "agent", "image": "busybox"}], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}}
        }))
        .unwrap()
    }

    #[test]
    fn the_pods_of_a_daemon_set_share_one_spec_and_show_their_own_node() {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        api.create(Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})).unwrap()).unwrap();
        api.create(Object::from_json(ids::service_accounts(), serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}})).unwrap()).unwrap();
        let a = api.create(daemon_pod("agent-a", "n1")).unwrap();
        let b = api.create(daemon_pod("agent-b", "n2")).unwrap();
        let (Object::Pod(pa), Object::Pod(pb)) = (&*a, &*b) else { panic!("not pods") };
        assert!(Rc::ptr_eq(pa.spec.as_ref().unwrap(), pb.spec.as_ref().unwrap()), "pinned to other nodes, one spec");
        assert_eq!((pa.affinity_node(), pb.affinity_node()), (Some("n1"), Some("n2")));
        let pin = |o: &Object| o.to_json()["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"].clone();
        assert_eq!(pin(&b), serde_json::json!(["n2"]));
        assert_eq!(pin(&Object::Pod(Box::new(Pod::from(pb.clone().into_openapi())))), serde_json::json!(["n2"]));
        let required = pb.required_node_affinity().unwrap();
        assert_eq!(required.node_selector_terms[0].match_fields.as_ref().unwrap()[0].values.as_deref(), Some(&["n2".to_string()][..]));
        // A whole-spec update (as kubectl sends) keeps the node beside the spec;
        // another node in the pin is a change to the spec, refused as 1.33 does.
        let sent = Object::from_json(ids::pods(), b.to_json()).unwrap();
        let Object::Pod(p) = &*api.update(sent).unwrap() else { panic!("not a pod") };
        assert_eq!(p.affinity_node(), Some("n2"));
        assert_eq!(**p.spec.as_ref().unwrap(), **pa.spec.as_ref().unwrap());
        let mut moved = b.to_json();
        moved["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"] = serde_json::json!(["n3"]);
        moved["metadata"]["resourceVersion"] = serde_json::Value::Null;
        let err = api.update(Object::from_json(ids::pods(), moved).unwrap()).unwrap_err();
        assert!(err.message.contains("pod updates may not change fields"), "{}", err.message);
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_name_the_resource_its_group_and_namespace() {
        assert_eq!(ApiServer::key(ids::pods(), "bench", "web-1"), "/registry/pods/bench/web-1");
        assert_eq!(ApiServer::key(ids::deployments(), "default", "web"), "/registry/deployments.apps/default/web");
        assert_eq!(ApiServer::key(ids::nodes(), "ignored", "node-1"), "/registry/nodes/node-1");
        assert_eq!(ApiServer::key(ids::namespaces(), "", "bench"), "/registry/namespaces/bench");
    }

    #[test]
    fn pod_keys_are_recognised_as_the_api_server_makes_them() {
        let key = ApiServer::key(ids::pods(), "bench", "app-1-x");
        assert!(is_pod_key(&key, "bench", "app-1-x"));
        assert!(!is_pod_key(&key, "bench", "app-1"));
        assert!(!is_pod_key(&key, "ben", "ch/app-1-x"));
        assert!(!is_pod_key(&ApiServer::key(ids::services(), "bench", "app-1-x"), "bench", "app-1-x"));
    }
}
