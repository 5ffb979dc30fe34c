//! The recorder of the events.k8s.io API's library (client-go's
//! `tools/events`), which the scheduler and kube-proxy use. Its Events, as
//! the core API shows them after the server's conversion, have an
//! `eventTime` to the microsecond, an action, a reporting controller and
//! instance (`default-scheduler-<host>`), an empty `source` and no first or
//! last time or count.
//!
//! The same Event again (same type, action, reason, object, object version
//! and related object; the note is not compared) makes no new Event. The
//! second time, the first Event gets a `series` of count 2; after that the
//! recorder only counts, and writes the series when it ends (no repeat for
//! six minutes, checked every six minutes) and every thirty minutes while it
//! goes on. An Event seen once is forgotten at the first check six minutes
//! after it.

use std::hash::Hasher;

use rustc_hash::FxHashMap;

use k8s_openapi::api::core::v1::{Event, EventSeries, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, meta, Object};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::store::Value;

use super::events::{event_name, object_reference};
use super::ApiServer;

/// `finishTime`: a series with no repeat for this long has ended, and the
/// check for it runs this often.
const FINISH_MS: u64 = 360_000;
/// `refreshTime`: how often a running series is written.
const REFRESH_MS: u64 = 1_800_000;

#[derive(Debug)]
pub struct EventsApiRecorder {
    controller: String,
    instance: String,
    /// The `eventCache`, by the hash of each Event's key.
    cache: FxHashMap<u64, Isomorphic>,
    /// How many cached Events have a series (only those need a timed write).
    series: usize,
    /// When the recorder started (its two loops run then and every period
    /// after), and the next run of each.
    started: Option<VirtualTime>,
    next_finish: VirtualTime,
    next_refresh: VirtualTime,
    /// Cached Events in the order they were first recorded: the loops
    /// visit them in this order, the same on every platform.
    recorded: u64,
}

#[derive(Debug)]
struct Isomorphic {
    /// A second hash of the key, from another hash function: a hit must
    /// match both.
    check: u64,
    /// The Event as the store keeps it (written again if it is gone).
    event: Value,
    event_time: VirtualTime,
    series: Option<Series>,
    order: u64,
}

#[derive(Clone, Copy, Debug)]
struct Series {
    count: i32,
    last_observed: VirtualTime,
}

impl EventsApiRecorder {
    /// `NewRecorder(scheme, controller)` in a process on `host`.
    pub fn new(controller: &str, host: &str) -> Self {
        EventsApiRecorder {
            controller: controller.to_string(),
            instance: format!("{controller}-{host}"),
            cache: FxHashMap::default(),
            series: 0,
            started: None,
            next_finish: VirtualTime::ZERO,
            next_refresh: VirtualTime::ZERO,
            recorded: 0,
        }
    }

    /// `Eventf(regarding, related, type, reason, action, note)`.
    #[allow(clippy::too_many_arguments)]
    pub fn eventf(&mut self, api: &mut ApiServer, regarding: &Object, related: Option<&Object>, type_: &str, reason: &str, action: &str, note: String) {
        self.event_ref(api, object_reference(regarding), related.map(object_reference), type_, reason, action, note);
    }

    /// As [`EventsApiRecorder::eventf`], about a reference.
    #[allow(clippy::too_many_arguments)]
    pub fn event_ref(&mut self, api: &mut ApiServer, regarding: ObjectReference, related: Option<ObjectReference>, type_: &str, reason: &str, action: &str, note: String) {
        let now = api.now();
        self.run_due(api, now);
        let (hash, check) = key_hashes(type_, action, reason, &regarding, related.as_ref());
        if let Some(cached) = self.cache.get_mut(&hash).filter(|c| c.check == check) {
            match cached.series.as_mut() {
                Some(series) => {
                    series.count += 1;
                    series.last_observed = now;
                }
                None => {
                    cached.series = Some(Series { count: 2, last_observed: now });
                    self.series += 1;
                    write_series(api, cached);
                }
            }
            return;
        }
        let Some(event) = self.create(api, regarding, related, type_, reason, action, note) else { return };
        self.recorded += 1;
        let entry = Isomorphic { check, event, event_time: now, series: None, order: self.recorded };
        if let Some(replaced) = self.cache.insert(hash, entry) {
            // Another key under the same hash (about 1 in 10^19): the older is forgotten.
            self.series -= usize::from(replaced.series.is_some());
        }
    }

    fn create(&self, api: &mut ApiServer, regarding: ObjectReference, related: Option<ObjectReference>, type_: &str, reason: &str, action: &str, note: String) -> Option<Value> {
        let now = api.now();
        // Events about cluster-scoped objects live in "default".
        let namespace = regarding.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".to_string());
        let event = Event {
            metadata: ObjectMeta { name: Some(event_name(api, regarding.name.as_deref().unwrap_or_default())), namespace: Some(namespace), ..Default::default() },
            involved_object: regarding,
            related,
            reason: Some(reason.to_string()),
            // The note, which the core API calls the message (omitted when empty).
            message: Some(note).filter(|n| !n.is_empty()),
            action: Some(action.to_string()),
            event_time: Some(meta::api_micro_time(now)),
            reporting_component: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            // The core API's `source` is a struct, shown empty.
            source: Some(EventSource::default()),
            type_: Some(type_.to_string()),
            ..Default::default()
        };
        let created = api.create(Object::Event(Box::new(event))).ok()?;
        Some(super::events::stored_version(api, &created).unwrap_or(Value::Object(created)))
    }

    /// Runs the two loops' turns that are due by `now`, each as of its own time.
    pub fn run_due(&mut self, api: &mut ApiServer, now: VirtualTime) {
        let Some(started) = self.started else {
            // Both loops run at once at start-up, over an empty cache.
            self.started = Some(now);
            self.next_finish = now.plus_millis(FINISH_MS);
            self.next_refresh = now.plus_millis(REFRESH_MS);
            return;
        };
        while self.next_finish.min(self.next_refresh) <= now {
            if self.series == 0 {
                // Without a series no turn writes, and the last finishing
                // turn due forgets all that the earlier ones would.
                let since = now.millis_since(started);
                if self.next_finish <= now {
                    let last = started.plus_millis(since / FINISH_MS * FINISH_MS);
                    self.finish(api, last);
                    self.next_finish = last.plus_millis(FINISH_MS);
                }
                self.next_refresh = self.next_refresh.max(started.plus_millis((since / REFRESH_MS + 1).saturating_mul(REFRESH_MS)));
                break;
            }
            let at = self.next_finish.min(self.next_refresh);
            if self.next_finish == at {
                self.finish(api, at);
                self.next_finish = at.plus_millis(FINISH_MS);
            }
            if self.next_refresh == at {
                self.refresh(api);
                self.next_refresh = at.plus_millis(REFRESH_MS);
            }
        }
    }

    /// When a loop's next turn has a series to write, if any.
    pub fn next_write(&self) -> Option<VirtualTime> {
        (self.series > 0).then(|| self.next_finish.min(self.next_refresh))
    }

    /// `finishSeries` at `at`: a series with no repeat for six minutes is
    /// written a last time and forgotten, and so is an Event seen once
    /// (without a write) six minutes after it.
    fn finish(&mut self, api: &mut ApiServer, at: VirtualTime) {
        let ended = |cached: &Isomorphic| cached.series.map_or(cached.event_time, |s| s.last_observed).plus_millis(FINISH_MS) < at;
        for hash in self.in_order(ended) {
            let Some(mut cached) = self.cache.remove(&hash) else { continue };
            if cached.series.is_some() {
                self.series -= 1;
                write_series(api, &mut cached);
            }
        }
    }

    /// `refreshExistingEventSeries`: every series is written.
    fn refresh(&mut self, api: &mut ApiServer) {
        for hash in self.in_order(|cached| cached.series.is_some()) {
            if let Some(cached) = self.cache.get_mut(&hash) {
                write_series(api, cached);
            }
        }
    }

    /// The keys of the cached Events `pick` takes, in the order they were
    /// first recorded.
    fn in_order(&self, pick: impl Fn(&Isomorphic) -> bool) -> Vec<u64> {
        let mut picked: Vec<(u64, u64)> = self.cache.iter().filter(|(_, c)| pick(c)).map(|(hash, c)| (c.order, *hash)).collect();
        picked.sort_unstable();
        picked.into_iter().map(|(_, hash)| hash).collect()
    }

    /// A restarted process starts with an empty cache.
    pub fn reset(&mut self) {
        *self = EventsApiRecorder { controller: std::mem::take(&mut self.controller), instance: std::mem::take(&mut self.instance), ..EventsApiRecorder::new("", "") };
    }
}

/// Writes the cached Event's series (client-go's patch of that field
/// alone); if the Event is gone, creates it again with its series.
fn write_series(api: &mut ApiServer, cached: &mut Isomorphic) {
    let Some(series) = cached.series else { return };
    let written = EventSeries { count: Some(series.count), last_observed_time: Some(meta::api_micro_time(series.last_observed)) };
    let (namespace, name) = cached.event.namespace_and_name();
    let patched = api.modify(ids::events(), &namespace, &name, false, |obj| match obj {
        Object::Event(ev) if ev.series.as_ref() != Some(&written) => {
            ev.series = Some(written.clone());
            true
        }
        _ => false,
    });
    let stored = match patched {
        Ok(updated) => updated,
        Err(e) if e.reason == crate::engine::api::Reason::NotFound => {
            let Object::Event(ev) = &*cached.event.object() else { return };
            let mut again = (**ev).clone();
            again.metadata = ObjectMeta { name: again.metadata.name.take(), namespace: again.metadata.namespace.take(), ..Default::default() };
            again.series = Some(written);
            match api.create(Object::Event(Box::new(again))) {
                Ok(created) => created,
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    if let Some(newer) = super::events::stored_version(api, &stored) {
        cached.event = newer;
    }
}

/// Two independent hashes of an Event's key (`getKey`): the recorder's
/// controller and instance are its own, so they are left out.
fn key_hashes(type_: &str, action: &str, reason: &str, regarding: &ObjectReference, related: Option<&ObjectReference>) -> (u64, u64) {
    fn write(h: &mut impl Hasher, type_: &str, action: &str, reason: &str, regarding: &ObjectReference, related: Option<&ObjectReference>) {
        let mut text = |t: &str| {
            h.write_usize(t.len());
            h.write(t.as_bytes());
        };
        for t in [type_, action, reason] {
            text(t);
        }
        let empty = ObjectReference::default();
        for r in [regarding, related.unwrap_or(&empty)] {
            for t in [&r.api_version, &r.kind, &r.namespace, &r.name, &r.uid, &r.resource_version, &r.field_path] {
                text(t.as_deref().unwrap_or_default());
            }
        }
    }
    let mut fx = rustc_hash::FxHasher::default();
    write(&mut fx, type_, action, reason, regarding, related);
    let mut sip = std::hash::DefaultHasher::new();
    write(&mut sip, type_, action, reason, regarding, related);
    (fx.finish(), sip.finish())
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::events::{NORMAL, WARNING};

    fn api() -> ApiServer {
        let mut api = ApiServer::new(7, "192.168.49.2:8443");
        let namespace = Object::from_json(ids::namespaces(), serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}));
        api.create(namespace.expect("a Namespace decodes")).expect("the namespace is created");
        api
    }

    fn pod(resource_version: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("a1b2c3d4-0000-4000-8000-000000000001".into()),
            resource_version: Some(resource_version.into()),
            field_path: None,
        }
    }

    fn events(api: &ApiServer) -> Vec<Event> {
        let (list, _) = api.list(&crate::engine::apiserver::Query::all(ids::events())).expect("events list");
        list.iter().filter_map(|o| if let Object::Event(ev) = &**o { Some((**ev).clone()) } else { None }).collect()
    }

    fn series(ev: &Event) -> Option<(i32, u64)> {
        let s = ev.series.as_ref()?;
        let last = s.last_observed_time.as_ref()?;
        Some((s.count?, (last.0.as_millisecond() - meta::EPOCH_SECONDS * 1000) as u64))
    }

    fn at(api: &mut ApiServer, recorder: &mut EventsApiRecorder, ms: u64) {
        api.set_now(VirtualTime::from_millis(ms));
        recorder.run_due(api, api.now());
    }

    fn failed(api: &mut ApiServer, recorder: &mut EventsApiRecorder, resource_version: &str, note: &str) {
        recorder.event_ref(api, pod(resource_version), None, WARNING, "FailedScheduling", "Scheduling", note.to_string());
    }

    #[test]
    fn an_event_has_the_events_api_shape() {
        let mut api = api();
        let mut recorder = EventsApiRecorder::new("default-scheduler", "minikube");
        at(&mut api, &mut recorder, 1_250);
        recorder.event_ref(&mut api, pod("5"), None, NORMAL, "Scheduled", "Binding", "Successfully assigned default/web to minikube".into());
        let all = events(&api);
        assert_eq!(all.len(), 1);
        let ev = &all[0];
        assert_eq!(ev.event_time, Some(meta::api_micro_time(VirtualTime::from_millis(1_250))));
        assert_eq!(ev.action.as_deref(), Some("Binding"));
        assert_eq!(ev.reporting_component.as_deref(), Some("default-scheduler"));
        assert_eq!(ev.reporting_instance.as_deref(), Some("default-scheduler-minikube"));
        assert_eq!(ev.source, Some(EventSource::default()));
        assert_eq!((ev.first_timestamp.as_ref(), ev.last_timestamp.as_ref(), ev.count, ev.series.as_ref()), (None, None, None, None));
        assert!(ev.metadata.name.as_deref().is_some_and(|n| n.starts_with("web.")));
        // An empty note is no message.
        recorder.event_ref(&mut api, ObjectReference { kind: Some("Node".into()), name: Some("minikube".into()), ..Default::default() }, None, NORMAL, "Starting", "StartKubeProxy", String::new());
        let node = events(&api).into_iter().find(|e| e.reason.as_deref() == Some("Starting")).expect("the node's Event");
        assert_eq!((node.message, node.metadata.namespace.as_deref()), (None, Some("default")));
    }

    #[test]
    fn a_repeat_starts_a_series_that_is_counted_then_written_when_it_ends() {
        let mut api = api();
        let mut recorder = EventsApiRecorder::new("default-scheduler", "minikube");
        at(&mut api, &mut recorder, 0);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        at(&mut api, &mut recorder, 10_000);
        // Another note, the same key: the note is not compared.
        failed(&mut api, &mut recorder, "5", "0/2 nodes are available");
        let all = events(&api);
        assert_eq!(all.len(), 1);
        assert_eq!(series(&all[0]), Some((2, 10_000)));
        assert_eq!(all[0].message.as_deref(), Some("0/1 nodes are available"));
        at(&mut api, &mut recorder, 20_000);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        at(&mut api, &mut recorder, 30_000);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        assert_eq!(series(&events(&api)[0]), Some((2, 10_000)), "counted, not written");
        assert_eq!(recorder.next_write(), Some(VirtualTime::from_millis(FINISH_MS)));
        // Six minutes from start the series is 5 m 30 s old: it goes on.
        at(&mut api, &mut recorder, FINISH_MS);
        assert_eq!(series(&events(&api)[0]), Some((2, 10_000)));
        // At twelve minutes it has ended: written, then forgotten.
        at(&mut api, &mut recorder, 2 * FINISH_MS);
        assert_eq!(series(&events(&api)[0]), Some((4, 30_000)));
        assert_eq!(recorder.next_write(), None);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        assert_eq!(events(&api).len(), 2, "a forgotten key makes a new Event");
    }

    #[test]
    fn another_object_version_is_another_event() {
        let mut api = api();
        let mut recorder = EventsApiRecorder::new("default-scheduler", "minikube");
        at(&mut api, &mut recorder, 0);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        failed(&mut api, &mut recorder, "6", "0/1 nodes are available");
        failed(&mut api, &mut recorder, "6", "0/1 nodes are available");
        let mut all: Vec<Option<(i32, u64)>> = events(&api).iter().map(series).collect();
        all.sort();
        assert_eq!(all, vec![None, Some((2, 0))]);
    }

    #[test]
    fn a_running_series_is_written_every_thirty_minutes_and_again_if_deleted() {
        let mut api = api();
        let mut recorder = EventsApiRecorder::new("default-scheduler", "minikube");
        at(&mut api, &mut recorder, 0);
        let mut t = 0;
        while t < REFRESH_MS {
            failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
            t += 60_000;
            at(&mut api, &mut recorder, t);
        }
        // 30 repeats by 29 minutes; the refresh at 30 minutes wrote them.
        assert_eq!(series(&events(&api)[0]), Some((30, REFRESH_MS - 60_000)));
        let name = events(&api)[0].metadata.name.clone().expect("a name");
        api.delete(ids::events(), "default", &name, &crate::engine::apiserver::DeleteOptions::default()).expect("deleted");
        at(&mut api, &mut recorder, REFRESH_MS + 2 * FINISH_MS);
        let again = events(&api);
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].metadata.name.as_deref(), series(&again[0])), (Some(name.as_str()), Some((30, REFRESH_MS - 60_000))));
        assert_eq!(recorder.next_write(), None);
    }

    #[test]
    fn turns_long_past_are_caught_up_at_once() {
        let mut api = api();
        let mut recorder = EventsApiRecorder::new("default-scheduler", "minikube");
        at(&mut api, &mut recorder, 0);
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        // A week later, one pass forgets it.
        at(&mut api, &mut recorder, 7 * 24 * 3_600_000 + 1);
        assert!(recorder.cache.is_empty());
        assert_eq!(recorder.next_finish, VirtualTime::from_millis(7 * 24 * 3_600_000 / FINISH_MS * FINISH_MS + FINISH_MS));
        failed(&mut api, &mut recorder, "5", "0/1 nodes are available");
        // The first Event's hour is long over; this one starts afresh.
        let all = events(&api);
        assert_eq!((all.len(), series(&all[0])), (1, None));
        assert_eq!(recorder.cache.len(), 1);
    }
}
