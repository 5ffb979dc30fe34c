//! The event recorder every component uses, as client-go's: an Event object
//! per (object, reason, message), whose `count` and `lastTimestamp` grow when
//! the same thing happens again.

use std::collections::HashMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, meta, resource, Object};
use crate::engine::store::SharedTexts;

use super::ApiServer;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// client-go keeps this many aggregation keys before forgetting old ones.
const CACHE_LIMIT: usize = 4096;

#[derive(Debug)]
pub struct EventRecorder {
    component: String,
    host: Option<String>,
    /// Where the Event for each aggregation key is. A kubelet's recorder
    /// holds an entry per container event of every pod on its node, so the
    /// keys' texts are shared: a pod's uid is in each of its events' keys,
    /// a message like `Started container nginx` in every pod's.
    cache: HashMap<AggregationKey, EventAt>,
    texts: SharedTexts,
    /// Events asked to be recorded, written or not.
    attempts: u64,
}

/// A reference to `obj` as events name it.
pub fn object_reference(obj: &Object) -> ObjectReference {
    let rt = resource(obj.resource_id());
    let m = obj.meta();
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

/// What client-go aggregates an Event by: the involved object's uid (an
/// unset one as empty) with the container's field path, the reason and the
/// message.
#[derive(Debug, PartialEq, Eq, Hash)]
struct AggregationKey {
    uid: Rc<str>,
    field_path: Rc<str>,
    reason: Rc<str>,
    message: Rc<str>,
}

/// The Event a key was recorded as: its namespace, and its name, which is
/// the involved object's name and the recorder's clock (`<object>.<hex>`).
#[derive(Debug)]
struct EventAt {
    namespace: Rc<str>,
    object: Rc<str>,
    clock: u128,
}

fn event_name(object: &str, clock: u128) -> String {
    format!("{object}.{clock:x}")
}

impl EventRecorder {
    /// `component` is the event source (`kubelet`, `default-scheduler`,
    /// `deployment-controller`); `host` is set for node agents.
    pub fn new(component: &str, host: Option<&str>) -> Self {
        EventRecorder { component: component.to_string(), host: host.map(str::to_string), cache: HashMap::new(), texts: SharedTexts::default(), attempts: 0 }
    }

    pub fn record(&mut self, api: &mut ApiServer, involved: &Object, type_: &str, reason: &str, message: impl Into<String>) {
        self.record_ref(api, object_reference(involved), type_, reason, message.into());
    }

    /// Records against a reference; `field_path` names a container
    /// (`spec.containers{nginx}`) for kubelet events.
    pub fn record_ref(&mut self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: String) {
        self.attempts += 1;
        let key = AggregationKey {
            uid: self.texts.share(involved.uid.as_deref().unwrap_or_default()),
            field_path: self.texts.share(involved.field_path.as_deref().unwrap_or_default()),
            reason: self.texts.share(reason),
            message: self.texts.share(&message),
        };
        let now = api.now();
        let stamp = meta::api_time(now);
        if let Some(at) = self.cache.get(&key) {
            let (namespace, name) = (at.namespace.clone(), event_name(&at.object, at.clock));
            let updated = api.modify(ids::events(), &namespace, &name, false, |obj| {
                if let Object::Event(ev) = obj {
                    ev.count = Some(ev.count.unwrap_or(1) + 1);
                    ev.last_timestamp = Some(stamp.clone());
                }
                true
            });
            if updated.is_ok() {
                return;
            }
            self.cache.remove(&key);
        }
        // Events about cluster-scoped objects live in "default", as in Kubernetes.
        let namespace = involved.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".to_string());
        // Unique across every recorder at this instant, as client-go's
        // nanosecond clock makes it: the store's revision orders all writes.
        let nanos = (meta::EPOCH_SECONDS as u128 * 1_000_000_000) + now.as_millis() as u128 * 1_000_000 + (api.store().revision() as u128 % 1_000_000);
        let object = self.texts.share(involved.name.as_deref().unwrap_or_default());
        let name = event_name(&object, nanos);
        let event = Event {
            metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.clone()), ..Default::default() },
            involved_object: involved,
            reason: Some(reason.to_string()),
            message: Some(message),
            source: Some(EventSource { component: Some(self.component.clone()), host: self.host.clone() }),
            first_timestamp: Some(stamp.clone()),
            last_timestamp: Some(stamp),
            count: Some(1),
            type_: Some(type_.to_string()),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone().unwrap_or_default()),
            ..Default::default()
        };
        if api.create(Object::Event(Box::new(event))).is_ok() {
            if self.cache.len() >= CACHE_LIMIT {
                self.cache.clear();
            }
            self.cache.insert(key, EventAt { namespace: self.texts.share(&namespace), object, clock: nanos });
        }
    }

    /// How many events were asked for so far.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Forget aggregation state (a restarted process starts empty).
    pub fn reset(&mut self) {
        self.cache.clear();
        self.texts = SharedTexts::default();
    }
}
