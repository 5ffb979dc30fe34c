//! The event recorder of the kubelet and the controllers, as client-go's
//! `tools/record`: an Event object per (object, reason, message), whose
//! `count` and `lastTimestamp` grow when the same thing happens again, with
//! similar Events combined and each object's limited (its
//! `EventCorrelator`). The scheduler and kube-proxy record through the
//! events.k8s.io library instead (`events_api.rs`).

use std::rc::Rc;

use rustc_hash::FxHashMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, meta, resource, ApiError, Object};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::store::Value;

use super::ApiServer;
use crate::engine::digits::{decimal_digits, push_digits};

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// client-go keeps this many aggregation keys before forgetting old ones.
const CACHE_LIMIT: usize = 4096;

/// Entries a [`ByHash`] keeps in a sorted list before it becomes a table.
const SORTED_MAX: usize = 256;

/// A map from a 64-bit hash: a list sorted by hash while small, a hash
/// table once larger. A kubelet's recorder holds one entry per container
/// event of each pod on its node, a few hundred, where a table's
/// power-of-two room and control bytes took about 40 % more (30 KB a
/// kubelet's three tables, 110 MB at 5,000 nodes); the controller
/// manager's hold thousands, which a sorted list would insert into slowly.
/// Its entries are read by hash only, never in order.
enum ByHash<V> {
    Sorted(Vec<(u64, V)>),
    Table(FxHashMap<u64, V>),
}

impl<V> Default for ByHash<V> {
    fn default() -> Self {
        ByHash::Sorted(Vec::new())
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for ByHash<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ByHash::Sorted(list) => f.debug_map().entries(list.iter().map(|(k, v)| (k, v))).finish(),
            ByHash::Table(table) => f.debug_map().entries(table.iter()).finish(),
        }
    }
}

/// Where `key` is in `list` (sorted by key), or where it would go. The
/// keys are hashes, spread evenly over `u64`, so a key's place is close
/// to its share of the range: the search starts there and walks (a
/// binary search's probes each touched another part of a list that is
/// seldom in the cache).
fn place<V>(list: &[(u64, V)], key: u64) -> Result<usize, usize> {
    let guess = ((u128::from(key) * list.len() as u128) >> 64) as usize;
    let mut at = guess.min(list.len());
    while at > 0 && list[at - 1].0 >= key {
        at -= 1;
    }
    while at < list.len() && list[at].0 < key {
        at += 1;
    }
    match list.get(at) {
        Some((k, _)) if *k == key => Ok(at),
        _ => Err(at),
    }
}

impl<V> ByHash<V> {
    fn len(&self) -> usize {
        match self {
            ByHash::Sorted(list) => list.len(),
            ByHash::Table(table) => table.len(),
        }
    }

    fn clear(&mut self) {
        *self = ByHash::default();
    }

    fn get(&self, key: u64) -> Option<&V> {
        match self {
            ByHash::Sorted(list) => place(list, key).ok().map(|i| &list[i].1),
            ByHash::Table(table) => table.get(&key),
        }
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        match self {
            ByHash::Sorted(list) => place(list, key).ok().map(|i| &mut list[i].1),
            ByHash::Table(table) => table.get_mut(&key),
        }
    }

    fn contains_key(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    fn remove(&mut self, key: u64) -> Option<V> {
        match self {
            ByHash::Sorted(list) => place(list, key).ok().map(|i| list.remove(i).1),
            ByHash::Table(table) => table.remove(&key),
        }
    }

    /// The entry under `key`, made with `make` if there is none.
    fn get_or_insert_with(&mut self, key: u64, make: impl FnOnce() -> V) -> &mut V {
        if let ByHash::Sorted(list) = self {
            if list.len() >= SORTED_MAX && place(list, key).is_err() {
                let table: FxHashMap<u64, V> = std::mem::take(list).into_iter().collect();
                *self = ByHash::Table(table);
            }
        }
        match self {
            ByHash::Sorted(list) => {
                let i = match place(list, key) {
                    Ok(i) => i,
                    Err(i) => {
                        // Grown by a quarter, not doubled: most lists stay small.
                        if list.len() == list.capacity() {
                            list.reserve_exact((list.len() / 4).max(4));
                        }
                        list.insert(i, (key, make()));
                        i
                    }
                };
                &mut list[i].1
            }
            ByHash::Table(table) => table.entry(key).or_insert_with(make),
        }
    }

    fn insert(&mut self, key: u64, value: V) {
        match self.get_mut(key) {
            Some(held) => *held = value,
            None => {
                self.get_or_insert_with(key, move || value);
            }
        }
    }

    #[cfg(test)]
    fn into_values(self) -> Vec<V> {
        match self {
            ByHash::Sorted(list) => list.into_iter().map(|(_, v)| v).collect(),
            ByHash::Table(table) => table.into_values().collect(),
        }
    }
}

#[derive(Debug)]
pub struct EventRecorder {
    component: String,
    host: Option<String>,
    /// The Events recorded, by the hash of their aggregation key (see
    /// [`AggregationKey`]), each as the store keeps it: that version holds
    /// every text of its key, so no key text is kept here (a kubelet's
    /// recorder holds an entry per container event of every pod on its
    /// node). A hit is compared with the key, so only an equal key aggregates.
    cache: ByHash<Value>,
    /// Entries whose key's hash another key holds in `cache` (rare): by
    /// the whole key.
    collided: FxHashMap<Box<str>, Value>,
    /// Events asked to be recorded, written or not.
    attempts: u64,
    /// client-go's `EventCorrelator`.
    correlator: Correlator,
}

/// The `EventCorrelator` before the counting above: similar Events (one
/// object, type and reason, other messages) are combined into one from the
/// tenth within ten minutes, and a source may write 25 Events about one
/// object, then one every five minutes. Its tables are keyed by hashes
/// (this process's own): a kubelet keeps a record for each of its pods'
/// reasons, and texts there would cost more than the Events they spare.
#[derive(Debug, Default)]
struct Correlator {
    /// The `EventAggregator`'s records, by the hash of the object, type
    /// and reason (the recorder's source and reporter are its own).
    similar: ByHash<Similar>,
    /// The combined Event of each such key, as the store keeps it, with the
    /// counts not written because the object's budget was spent.
    combined: FxHashMap<u64, (Value, i32)>,
    /// The `EventSourceObjectSpamFilter`'s token buckets, by the object's hash.
    budgets: ByHash<Budget>,
    /// Counts not written because the object's budget was spent, by the
    /// Event's key hash: client-go's logger counted them, so the next write
    /// that passes carries them.
    unwritten: FxHashMap<u64, i32>,
}

/// If the same kind of Event (one object, type and reason) comes with this
/// many messages within [`SIMILAR_WINDOW_MS`], it is combined
/// (`defaultAggregateMaxEvents`).
const SIMILAR_MAX: usize = 10;
/// `defaultAggregateIntervalInSeconds`.
const SIMILAR_WINDOW_MS: u64 = 600_000;
/// `EventAggregatorByReasonMessageFunc`'s prefix.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";
/// `defaultSpamBurst`.
const SPAM_BURST: f64 = 25.0;
/// `defaultSpamQPS`: a token every 300 s.
const SPAM_REFILL_MS: f64 = 300_000.0;

/// An `aggregateRecord`: when the last similar Event came and its distinct
/// messages (hashed). Nearly every record holds one message (a pod's
/// `Pulled`, `Created`, `Started`), so the others are boxed apart: a record
/// is 24 bytes.
#[derive(Debug)]
struct Similar {
    last: VirtualTime,
    first: u64,
    more: Option<Box<Vec<u64>>>,
}

impl Similar {
    fn new(last: VirtualTime, message: u64) -> Self {
        Similar { last, first: message, more: None }
    }

    fn len(&self) -> usize {
        1 + self.more.as_ref().map_or(0, |m| m.len())
    }

    fn holds(&self, message: u64) -> bool {
        self.first == message || self.more.as_ref().is_some_and(|m| m.contains(&message))
    }

    fn add(&mut self, message: u64) {
        self.more.get_or_insert_with(Default::default).push(message);
    }

    /// `localKeys.PopAny()`; Go's set gives any, this the oldest.
    fn pop_one(&mut self) {
        if let Some(more) = self.more.as_mut().filter(|m| !m.is_empty()) {
            self.first = more.remove(0);
        }
    }
}

/// A token bucket (`NewTokenBucketRateLimiterWithClock`), full at first.
#[derive(Debug)]
struct Budget {
    tokens: f64,
    at: VirtualTime,
}

fn hash_texts(parts: &[&str]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for part in parts {
        h.write_usize(part.len());
        h.write(part.as_bytes());
    }
    h.finish()
}

/// The object an Event is about, as the spam filter keys it (its source
/// being the recorder's own).
fn object_hash(involved: &ObjectReference) -> u64 {
    fn text(t: &Option<String>) -> &str {
        t.as_deref().unwrap_or_default()
    }
    hash_texts(&[text(&involved.kind), text(&involved.namespace), text(&involved.name), text(&involved.uid), text(&involved.api_version)])
}

impl Correlator {
    /// `EventAggregate`: whether this Event is to be written combined, and
    /// the similar key's hash.
    /// `object` is the Event's [`object_hash`].
    fn aggregate(&mut self, object: u64, type_: &str, reason: &str, message: &str, now: VirtualTime) -> (bool, u64) {
        let key = {
            use std::hash::Hasher;
            let mut h = rustc_hash::FxHasher::default();
            h.write_u64(object);
            h.write_u64(hash_texts(&[type_, reason]));
            h.finish()
        };
        let message = hash_texts(&[message]);
        if self.similar.len() >= CACHE_LIMIT && !self.similar.contains_key(key) {
            self.similar.clear();
        }
        let record = self.similar.get_or_insert_with(key, || Similar::new(now, message));
        if now.as_millis().saturating_sub(record.last.as_millis()) > SIMILAR_WINDOW_MS {
            *record = Similar::new(now, message);
        }
        if !record.holds(message) {
            record.add(message);
        }
        record.last = now;
        if record.len() < SIMILAR_MAX {
            return (false, key);
        }
        record.pop_one();
        (true, key)
    }

    /// `EventSourceObjectSpamFilter.Filter` for the object whose
    /// [`object_hash`] is `object`: whether a token was left.
    fn admit(&mut self, object: u64, now: VirtualTime) -> bool {
        if self.budgets.len() >= CACHE_LIMIT && !self.budgets.contains_key(object) {
            self.budgets.clear();
        }
        let budget = self.budgets.get_or_insert_with(object, || Budget { tokens: SPAM_BURST, at: now });
        let elapsed = now.as_millis().saturating_sub(budget.at.as_millis()) as f64;
        budget.tokens = (budget.tokens + elapsed / SPAM_REFILL_MS).min(SPAM_BURST);
        budget.at = now;
        if budget.tokens >= 1.0 {
            budget.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Writes a recorded Event's repeat (client-go's patch): its count up by
/// `add`, its last time now, and, for a combined Event, its latest message.
fn repeat(api: &mut ApiServer, recorded: &Value, add: i32, message: Option<&str>) -> Result<Rc<Object>, ApiError> {
    let stamp = meta::api_time(api.now());
    let (namespace, name) = recorded.namespace_and_name();
    api.modify(ids::events(), &namespace, &name, false, |obj| {
        if let Object::Event(ev) = obj {
            ev.count = Some(ev.count.unwrap_or(1) + add);
            ev.last_timestamp = Some(stamp.clone());
            if let Some(message) = message {
                ev.message = Some(message.to_string());
            }
        }
        true
    })
}

/// `<object>.<hex nanoseconds>`, as client-go names an Event, unique
/// across every recorder at this instant: the store's revision, which
/// orders all writes, stands in for the nanoseconds a millisecond clock lacks.
pub(super) fn event_name(api: &ApiServer, object: &str) -> String {
    let nanos = (meta::EPOCH_SECONDS as u128 * 1_000_000_000) + api.now().as_millis() as u128 * 1_000_000 + (api.store().revision() as u128 % 1_000_000);
    let mut name = String::with_capacity(object.len() + 1 + 32);
    name.push_str(object);
    name.push('.');
    push_digits(&mut name, nanos, 16);
    name
}

/// The version of `written` the store keeps, shared rather than copied.
pub(super) fn stored_version(api: &ApiServer, written: &Object) -> Option<Value> {
    let revision = written.meta().resource_version.as_deref()?.parse().ok()?;
    api.store().value_written_at(revision).cloned()
}

/// A reference to `obj` as events name it.
pub fn object_reference(obj: &Object) -> ObjectReference {
    reference_to(obj.resource_id(), obj.meta())
}

/// A reference to the object of resource `rid` whose metadata is `m`.
pub fn reference_to(rid: crate::engine::api::ResourceId, m: &ObjectMeta) -> ObjectReference {
    let rt = resource(rid);
    ObjectReference {
        api_version: Some(rt.api_version()),
        kind: Some(rt.kind.to_string()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path: None,
    }
}

/// What client-go aggregates an Event by: the involved object (with the
/// container's field path), the reason and the message.
struct AggregationKey<'a> {
    uid: &'a str,
    field_path: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl<'a> AggregationKey<'a> {
    fn of(involved: &'a ObjectReference, reason: &'a str, message: &'a str) -> Self {
        AggregationKey { uid: involved.uid.as_deref().unwrap_or_default(), field_path: involved.field_path.as_deref().unwrap_or_default(), reason, message }
    }

    /// Hashed in this process only (the cache's own key).
    fn hash(&self) -> u64 {
        hash_texts(&[self.uid, self.field_path, self.reason, self.message])
    }

    /// Whether `recorded` is the Event this key names.
    fn names(&self, recorded: &Value) -> bool {
        recorded.event_aggregates_as(self.uid, self.field_path, self.reason, self.message)
    }

    /// The key as one string (the lengths up front keep it unambiguous):
    /// `{uid.len()}.{field_path.len()}.{reason.len()}.{uid}{field_path}{reason}{message}`,
    /// sized exactly (the box keeps the allocation as it is).
    fn text(&self) -> Box<str> {
        let parts = [self.uid, self.field_path, self.reason, self.message];
        let size = parts[..3].iter().map(|p| decimal_digits(p.len() as u128) + 1).sum::<usize>() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut key = String::with_capacity(size);
        for part in &parts[..3] {
            push_digits(&mut key, part.len() as u128, 10);
            key.push('.');
        }
        for part in parts {
            key.push_str(part);
        }
        key.into_boxed_str()
    }
}


impl EventRecorder {
    /// `component` is the event source (`kubelet`, `deployment-controller`);
    /// `host` is set for node agents. Its Events pass through client-go's
    /// `EventCorrelator`, as every `tools/record` recorder's do.
    pub fn new(component: &str, host: Option<&str>) -> Self {
        EventRecorder { component: component.to_string(), host: host.map(str::to_string), cache: ByHash::default(), collided: FxHashMap::default(), attempts: 0, correlator: Correlator::default() }
    }

    pub fn record(&mut self, api: &mut ApiServer, involved: &Object, type_: &str, reason: &str, message: impl Into<String>) {
        self.record_ref(api, object_reference(involved), type_, reason, message.into());
    }

    /// Records against a reference; `field_path` names a container
    /// (`spec.containers{nginx}`) for kubelet events. As client-go's
    /// `EventCorrelate`: aggregate similar Events, count repeats, then let
    /// the object's budget decide whether the API sees it.
    pub fn record_ref(&mut self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: String) {
        self.attempts += 1;
        let now = api.now();
        let object = object_hash(&involved);
        let (combined, similar) = self.correlator.aggregate(object, type_, reason, &message, now);
        let admitted = self.correlator.admit(object, now);
        if combined {
            self.record_combined(api, involved, type_, reason, &message, similar, admitted);
        } else {
            self.record_exact(api, involved, type_, reason, message, admitted);
        }
    }

    /// An Event counted under its whole key (the object, its container,
    /// the reason and the message).
    fn record_exact(&mut self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: String, admitted: bool) {
        let hash = {
            let key = AggregationKey::of(&involved, reason, &message);
            let hash = key.hash();
            if let Some(recorded) = self.find(&key, hash) {
                if !admitted {
                    *self.correlator.unwritten.entry(hash).or_default() += 1;
                    return;
                }
                let recorded = recorded.clone();
                let add = 1 + self.correlator.unwritten.remove(&hash).unwrap_or(0);
                if let Ok(updated) = repeat(api, &recorded, add, None) {
                    // Kept instead of the older version when it holds the
                    // same key (someone may have edited the Event's texts).
                    if let Some(newer) = stored_version(api, &updated).filter(|v| key.names(v)) {
                        self.replace(&key, hash, newer);
                    }
                    return;
                }
                self.remove(&key, hash);
            } else if !admitted {
                // client-go would remember it and carry its count into the
                // next one that passes; this starts that one afresh.
                return;
            }
            hash
        };
        let Some((recorded, created)) = self.create(api, involved, type_, reason, message, true) else { return };
        if self.cache.len() + self.collided.len() >= CACHE_LIMIT {
            self.cache.clear();
            self.collided.clear();
            self.correlator.unwritten.clear();
        }
        let Object::Event(ev) = &*created else { return };
        // The Event holds the key's texts as they were asked for.
        let key = AggregationKey::of(&ev.involved_object, reason, ev.message.as_deref().unwrap_or_default());
        debug_assert_eq!(key.hash(), hash, "the created Event holds its key's texts");
        self.insert(&key, hash, recorded);
    }

    /// An Event combined with its similar ones (`similar` is their key's
    /// hash): one Event whose count, last time and message each write
    /// updates.
    #[allow(clippy::too_many_arguments)]
    fn record_combined(&mut self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: &str, similar: u64, admitted: bool) {
        let text = [COMBINED_PREFIX, message].concat();
        let uid = involved.uid.clone().unwrap_or_default();
        let correlator = &mut self.correlator;
        if let Some((recorded, unwritten)) = correlator.combined.get_mut(&similar).filter(|(v, _)| v.event_combines(&uid, reason, COMBINED_PREFIX)) {
            if !admitted {
                *unwritten += 1;
                return;
            }
            let add = 1 + std::mem::take(unwritten);
            if let Ok(updated) = repeat(api, recorded, add, Some(&text)) {
                if let Some(newer) = stored_version(api, &updated).filter(|v| v.event_combines(&uid, reason, COMBINED_PREFIX)) {
                    *recorded = newer;
                }
                return;
            }
            correlator.combined.remove(&similar);
        } else if !admitted {
            return;
        }
        // client-go's combined Event names no reporting controller or
        // instance (both written empty: the fields are never omitted).
        let Some((recorded, _)) = self.create(api, involved, type_, reason, text, false) else { return };
        let correlator = &mut self.correlator;
        if correlator.combined.len() >= CACHE_LIMIT {
            correlator.combined.clear();
        }
        correlator.combined.insert(similar, (recorded, 0));
    }

    /// Writes a new Event with count 1: the version the store keeps, and
    /// the one the API server returned.
    fn create(&self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: String, reporting: bool) -> Option<(Value, Rc<Object>)> {
        let now = api.now();
        let stamp = meta::api_time(now);
        // Events about cluster-scoped objects live in "default", as in Kubernetes.
        let namespace = involved.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".to_string());
        let name = event_name(api, involved.name.as_deref().unwrap_or_default());
        let event = Event {
            metadata: ObjectMeta { name: Some(name), namespace: Some(namespace), ..Default::default() },
            involved_object: involved,
            reason: Some(reason.to_string()),
            message: Some(message),
            source: Some(EventSource { component: Some(self.component.clone()), host: self.host.clone() }),
            first_timestamp: Some(stamp.clone()),
            last_timestamp: Some(stamp),
            count: Some(1),
            type_: Some(type_.to_string()),
            reporting_component: Some(if reporting { self.component.clone() } else { String::new() }),
            reporting_instance: Some(if reporting { self.host.clone().unwrap_or_default() } else { String::new() }),
            ..Default::default()
        };
        let created = api.create(Object::Event(Box::new(event))).ok()?;
        let recorded = stored_version(api, &created).unwrap_or_else(|| Value::Object(created.clone()));
        Some((recorded, created))
    }

    /// The Event recorded under `key` (whose hash is `hash`).
    fn find(&self, key: &AggregationKey, hash: u64) -> Option<&Value> {
        match self.cache.get(hash) {
            Some(recorded) if key.names(recorded) => Some(recorded),
            _ if self.collided.is_empty() => None,
            _ => self.collided.get(&key.text()),
        }
    }

    /// Records `recorded` under `key`, which is not in the cache.
    fn insert(&mut self, key: &AggregationKey, hash: u64, recorded: Value) {
        match self.cache.get(hash) {
            Some(other) if !key.names(other) => {
                self.collided.insert(key.text(), recorded);
            }
            _ => {
                self.cache.insert(hash, recorded);
            }
        }
    }

    /// A newer version of the Event under `key`.
    fn replace(&mut self, key: &AggregationKey, hash: u64, newer: Value) {
        match self.cache.get_mut(hash) {
            Some(recorded) if key.names(recorded) => *recorded = newer,
            _ => {
                if let Some(recorded) = self.collided.get_mut(&key.text()) {
                    *recorded = newer;
                }
            }
        }
    }

    fn remove(&mut self, key: &AggregationKey, hash: u64) {
        match self.cache.get(hash) {
            Some(recorded) if key.names(recorded) => {
                self.cache.remove(hash);
            }
            _ => {
                self.collided.remove(&key.text());
            }
        }
    }

    /// How many events were asked for so far.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Forget aggregation state (a restarted process starts empty).
    pub fn reset(&mut self) {
        self.cache.clear();
        self.collided.clear();
        self.correlator = Correlator::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_with_default_namespace() -> ApiServer {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        let namespace = Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
        api.create(namespace.expect("a Namespace decodes")).expect("the namespace is created");
        api
    }

    fn pod_ref(uid: &str) -> ObjectReference {
        ObjectReference { kind: Some("Pod".into()), name: Some(format!("web-{uid}")), namespace: Some("default".into()), uid: Some(uid.into()), field_path: Some("spec.containers{web}".into()), ..Default::default() }
    }

    /// (name, count) of every Event, by name.
    fn counts(api: &ApiServer) -> Vec<(String, i32)> {
        let (list, _) = api.list(&crate::engine::apiserver::Query::all(ids::events())).expect("events list");
        let mut out: Vec<(String, i32)> = list
            .iter()
            .filter_map(|o| match &**o {
                Object::Event(ev) => Some((format!("{}:{}", ev.involved_object.uid.clone().unwrap_or_default(), ev.message.clone().unwrap_or_default()), ev.count.unwrap_or(0))),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_same_key_aggregates_and_any_other_makes_a_new_event() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("kubelet", Some("node-1"));
        for _ in 0..3 {
            recorder.record_ref(&mut api, pod_ref("a"), NORMAL, "BackOff", "Back-off restarting failed container web".into());
        }
        recorder.record_ref(&mut api, pod_ref("b"), NORMAL, "BackOff", "Back-off restarting failed container web".into());
        recorder.record_ref(&mut api, pod_ref("a"), NORMAL, "BackOff", "another message".into());
        let mut no_path = pod_ref("a");
        no_path.field_path = None;
        recorder.record_ref(&mut api, no_path.clone(), NORMAL, "BackOff", "another message".into());
        recorder.record_ref(&mut api, no_path, NORMAL, "BackOff", "another message".into());
        assert_eq!(
            counts(&api),
            vec![("a:Back-off restarting failed container web".into(), 3), ("a:another message".into(), 1), ("a:another message".into(), 2), ("b:Back-off restarting failed container web".into(), 1)]
        );
        assert_eq!(recorder.cache.len() + recorder.collided.len(), 4);
    }

    #[test]
    fn an_edited_event_still_aggregates_under_the_key_it_was_recorded_with() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("kubelet", Some("node-1"));
        recorder.record_ref(&mut api, pod_ref("a"), NORMAL, "Pulled", "pulled".into());
        let (list, _) = api.list(&crate::engine::apiserver::Query::all(ids::events())).expect("events list");
        let name = list[0].meta().name.clone().unwrap_or_default();
        api.modify(ids::events(), "default", &name, false, |obj| {
            if let Object::Event(ev) = obj {
                ev.message = Some("edited".into());
            }
            true
        })
        .expect("the Event is edited");
        for _ in 0..2 {
            recorder.record_ref(&mut api, pod_ref("a"), NORMAL, "Pulled", "pulled".into());
        }
        assert_eq!(counts(&api), vec![("a:edited".into(), 3)]);
    }

    #[test]
    fn a_map_by_hash_reads_as_a_map_whether_listed_or_tabled() {
        let mut map: ByHash<u64> = ByHash::default();
        let mut model: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
        let mut rng = fastrand::Rng::with_seed(5);
        for step in 0..6_000u64 {
            // Keys from a range that makes hits, misses and growth past
            // the sorted list's limit all common; a clear now and then.
            let key = rng.u64(0..700).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            match rng.u8(0..10) {
                0..=3 => {
                    map.insert(key, step);
                    model.insert(key, step);
                }
                4..=5 => {
                    *map.get_or_insert_with(key, || step) += 1;
                    *model.entry(key).or_insert(step) += 1;
                }
                6..=7 => assert_eq!(map.remove(key), model.remove(&key)),
                8 if step % 997 == 0 => {
                    map.clear();
                    model.clear();
                }
                _ => {
                    assert_eq!(map.get(key), model.get(&key));
                    assert_eq!(map.contains_key(key), model.contains_key(&key));
                }
            }
            assert_eq!(map.len(), model.len());
            if let Some(held) = map.get_mut(key) {
                assert_eq!(Some(&*held), model.get(&key));
            }
        }
        assert!(matches!(map, ByHash::Table(_)), "grew past the sorted list");
        let (mut values, mut expected) = (map.into_values(), model.into_values().collect::<Vec<_>>());
        values.sort_unstable();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }

    #[test]
    fn a_hash_is_placed_where_a_binary_search_would_put_it() {
        let mut rng = fastrand::Rng::with_seed(9);
        for len in [0usize, 1, 2, 3, 17, 256] {
            // Keys spread evenly, and keys all at one end of the range.
            for skewed in [false, true] {
                let mut list: Vec<(u64, ())> = (0..len).map(|_| (if skewed { rng.u64(0..1000) } else { rng.u64(..) }, ())).collect();
                list.sort_unstable_by_key(|(k, _)| *k);
                list.dedup_by_key(|(k, _)| *k);
                let probes = list.iter().map(|(k, _)| *k).chain([0, u64::MAX, 500]).chain((0..50).map(|_| rng.u64(..)));
                for key in probes {
                    assert_eq!(place(&list, key), list.binary_search_by_key(&key, |(k, _)| *k), "{key} in {len} (skewed: {skewed})");
                }
            }
        }
    }

    #[test]
    fn keys_whose_hashes_collide_are_told_apart() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("kubelet", Some("node-1"));
        for uid in ["a", "b"] {
            recorder.record_ref(&mut api, pod_ref(uid), NORMAL, "Pulled", "pulled".into());
        }
        // File both under one hash, as a collision would.
        let recorded: Vec<Value> = std::mem::take(&mut recorder.cache).into_values();
        let (a, b) = (pod_ref("a"), pod_ref("b"));
        let (key_a, key_b) = (AggregationKey::of(&a, "Pulled", "pulled"), AggregationKey::of(&b, "Pulled", "pulled"));
        let of = |key: &AggregationKey| recorded.iter().find(|v| key.names(v)).cloned().expect("recorded");
        recorder.insert(&key_a, 7, of(&key_a));
        recorder.insert(&key_b, 7, of(&key_b));
        assert_eq!((recorder.cache.len(), recorder.collided.len()), (1, 1));
        assert!(recorder.find(&key_a, 7).is_some_and(|v| key_a.names(v)));
        assert!(recorder.find(&key_b, 7).is_some_and(|v| key_b.names(v)));
        recorder.remove(&key_a, 7);
        assert!(recorder.find(&key_a, 7).is_none());
        assert!(recorder.find(&key_b, 7).is_some_and(|v| key_b.names(v)), "found among the collided once the first is gone");
        recorder.remove(&key_b, 7);
        assert_eq!((recorder.cache.len(), recorder.collided.len()), (0, 0));
    }

    /// (reason, message, count, reporting component) of every Event, oldest first.
    fn written(api: &ApiServer) -> Vec<(String, String, i32, Option<String>)> {
        let (list, _) = api.list(&crate::engine::apiserver::Query::all(ids::events())).expect("events list");
        let mut out: Vec<(i64, String, String, i32, Option<String>)> = list
            .iter()
            .filter_map(|o| match &**o {
                Object::Event(ev) => Some((
                    ev.metadata.resource_version.as_deref().and_then(|rv| rv.parse().ok()).unwrap_or(0),
                    ev.reason.clone().unwrap_or_default(),
                    ev.message.clone().unwrap_or_default(),
                    ev.count.unwrap_or(0),
                    ev.reporting_component.clone(),
                )),
                _ => None,
            })
            .collect();
        out.sort_by_key(|e| e.0);
        out.into_iter().map(|(_, r, m, c, rc)| (r, m, c, rc)).collect()
    }

    fn replica_set_ref() -> ObjectReference {
        ObjectReference { kind: Some("ReplicaSet".into()), api_version: Some("apps/v1".into()), name: Some("web-1".into()), namespace: Some("default".into()), uid: Some("rs-1".into()), ..Default::default() }
    }

    #[test]
    fn the_tenth_similar_event_and_those_after_it_are_combined_into_one() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("replicaset-controller", None);
        for i in 0..12 {
            recorder.record_ref(&mut api, replica_set_ref(), NORMAL, "SuccessfulCreate", format!("Created pod: web-1-{i}"));
        }
        recorder.record_ref(&mut api, replica_set_ref(), NORMAL, "SuccessfulDelete", "Deleted pod: web-1-0".into());
        let events = written(&api);
        assert_eq!(events.len(), 11, "nine Events, the combined one and the other reason's: {events:?}");
        for (i, (reason, message, count, reporting)) in events[..9].iter().enumerate() {
            assert_eq!((reason.as_str(), message.clone(), *count, reporting.as_deref()), ("SuccessfulCreate", format!("Created pod: web-1-{i}"), 1, Some("replicaset-controller")));
        }
        assert_eq!(events[9], ("SuccessfulCreate".into(), "(combined from similar events): Created pod: web-1-11".into(), 3, Some(String::new())));
        assert_eq!(events[10], ("SuccessfulDelete".into(), "Deleted pod: web-1-0".into(), 1, Some("replicaset-controller".into())));
    }

    #[test]
    fn similar_events_ten_minutes_apart_start_afresh() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("replicaset-controller", None);
        for i in 0..9 {
            recorder.record_ref(&mut api, replica_set_ref(), NORMAL, "SuccessfulCreate", format!("Created pod: a-{i}"));
        }
        api.set_now(VirtualTime::from_millis(SIMILAR_WINDOW_MS + 1));
        recorder.record_ref(&mut api, replica_set_ref(), NORMAL, "SuccessfulCreate", "Created pod: b".into());
        assert!(written(&api).iter().all(|(_, m, c, _)| !m.starts_with(COMBINED_PREFIX) && *c == 1));
    }

    #[test]
    fn a_source_writes_25_events_about_an_object_then_one_every_five_minutes() {
        let mut api = api_with_default_namespace();
        let mut recorder = EventRecorder::new("kubelet", Some("node-1"));
        for _ in 0..30 {
            recorder.record_ref(&mut api, pod_ref("a"), WARNING, "BackOff", "Back-off restarting failed container web".into());
        }
        assert_eq!(counts(&api), vec![("a:Back-off restarting failed container web".into(), 25)]);
        // Another object has its own budget.
        recorder.record_ref(&mut api, pod_ref("b"), NORMAL, "Pulled", "pulled".into());
        assert_eq!(counts(&api).len(), 2);
        // A token comes back after five minutes; the write carries the five counted meanwhile.
        api.set_now(VirtualTime::from_millis(299_000));
        recorder.record_ref(&mut api, pod_ref("a"), WARNING, "BackOff", "Back-off restarting failed container web".into());
        assert_eq!(counts(&api)[0].1, 25);
        api.set_now(VirtualTime::from_millis(300_000));
        recorder.record_ref(&mut api, pod_ref("a"), WARNING, "BackOff", "Back-off restarting failed container web".into());
        assert_eq!(counts(&api)[0].1, 32);
    }

    #[test]
    fn the_aggregation_key_is_the_lengths_then_the_texts() {
        let involved = ObjectReference { uid: Some("u-1".into()), field_path: Some("spec.containers{web}".into()), ..Default::default() };
        let key = AggregationKey::of(&involved, "Started", "Started container web").text();
        assert_eq!(&*key, "3.20.7.u-1spec.containers{web}StartedStarted container web");
        assert_eq!(&*AggregationKey::of(&ObjectReference::default(), "", "").text(), "0.0.0.");
    }
}
