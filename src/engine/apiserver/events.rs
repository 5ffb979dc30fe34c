//! The event recorder every component uses, as client-go's: an Event object
//! per (object, reason, message), whose `count` and `lastTimestamp` grow when
//! the same thing happens again.

use rustc_hash::FxHashMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, meta, resource, Object};

use super::ApiServer;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// client-go keeps this many aggregation keys before forgetting old ones.
const CACHE_LIMIT: usize = 4096;

#[derive(Debug)]
pub struct EventRecorder {
    component: String,
    host: Option<String>,
    /// Aggregation key (see [`aggregation_key`]) → the Event's `namespace/name`.
    /// One string each way: a kubelet's recorder holds an entry per
    /// container event of every pod on its node.
    cache: FxHashMap<Box<str>, Box<str>>,
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

/// What client-go aggregates an Event by: the involved object (with the
/// container's field path), the reason and the message, as one string
/// (the lengths up front keep it unambiguous).
fn aggregation_key(involved: &ObjectReference, reason: &str, message: &str) -> Box<str> {
    let uid = involved.uid.as_deref().unwrap_or_default();
    let field_path = involved.field_path.as_deref().unwrap_or_default();
    // `{uid.len()}.{field_path.len()}.{reason.len()}.{uid}{field_path}{reason}{message}`,
    // sized exactly (the box keeps the allocation as it is).
    let lengths = [uid.len(), field_path.len(), reason.len()];
    let size = lengths.iter().map(|&n| decimal_digits(n as u128) + 1).sum::<usize>() + uid.len() + field_path.len() + reason.len() + message.len();
    let mut key = String::with_capacity(size);
    for n in lengths {
        push_digits(&mut key, n as u128, 10);
        key.push('.');
    }
    for part in [uid, field_path, reason, message] {
        key.push_str(part);
    }
    key.into_boxed_str()
}

fn decimal_digits(mut n: u128) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Appends `n` in `radix` (10 or 16, lowercase), as `{}` and `{:x}` write it.
fn push_digits(out: &mut String, mut n: u128, radix: u128) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = DIGITS[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[at..] {
        out.push(char::from(b));
    }
}

impl EventRecorder {
    /// `component` is the event source (`kubelet`, `default-scheduler`,
    /// `deployment-controller`); `host` is set for node agents.
    pub fn new(component: &str, host: Option<&str>) -> Self {
        EventRecorder { component: component.to_string(), host: host.map(str::to_string), cache: FxHashMap::default(), attempts: 0 }
    }

    pub fn record(&mut self, api: &mut ApiServer, involved: &Object, type_: &str, reason: &str, message: impl Into<String>) {
        self.record_ref(api, object_reference(involved), type_, reason, message.into());
    }

    /// Records against a reference; `field_path` names a container
    /// (`spec.containers{nginx}`) for kubelet events.
    pub fn record_ref(&mut self, api: &mut ApiServer, involved: ObjectReference, type_: &str, reason: &str, message: String) {
        self.attempts += 1;
        let key = aggregation_key(&involved, reason, &message);
        let now = api.now();
        let stamp = meta::api_time(now);
        if let Some(at) = self.cache.get(&key).cloned() {
            let (namespace, name) = at.split_once('/').unwrap_or(("", &at));
            let updated = api.modify(ids::events(), namespace, name, false, |obj| {
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
        let object = involved.name.as_deref().unwrap_or_default();
        let mut name = String::with_capacity(object.len() + 1 + 32);
        name.push_str(object);
        name.push('.');
        push_digits(&mut name, nanos, 16);
        let mut at = String::with_capacity(namespace.len() + 1 + name.len());
        at.push_str(&namespace);
        at.push('/');
        at.push_str(&name);
        let at = at.into_boxed_str();
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
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone().unwrap_or_default()),
            ..Default::default()
        };
        if api.create(Object::Event(Box::new(event))).is_ok() {
            if self.cache.len() >= CACHE_LIMIT {
                self.cache.clear();
            }
            self.cache.insert(key, at);
        }
    }

    /// How many events were asked for so far.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Forget aggregation state (a restarted process starts empty).
    pub fn reset(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_written_as_format_writes_them() {
        for n in [0u128, 7, 10, 255, 4096, 1_764_460_800_123_456_789, u128::from(u64::MAX), u128::MAX] {
            let (mut decimal, mut hex) = (String::new(), String::new());
            push_digits(&mut decimal, n, 10);
            push_digits(&mut hex, n, 16);
            assert_eq!(decimal, n.to_string());
            assert_eq!(hex, format!("{n:x}"));
            assert_eq!(decimal_digits(n), decimal.len());
        }
    }

    #[test]
    fn the_aggregation_key_is_the_lengths_then_the_texts() {
        let involved = ObjectReference { uid: Some("u-1".into()), field_path: Some("spec.containers{web}".into()), ..Default::default() };
        let key = aggregation_key(&involved, "Started", "Started container web");
        assert_eq!(&*key, "3.20.7.u-1spec.containers{web}StartedStarted container web");
        assert_eq!(&*aggregation_key(&ObjectReference::default(), "", ""), "0.0.0.");
    }
}
