//! An Event as the store keeps it. Events are written once, bumped now and
//! then (`count`) and rarely read, and there are several per pod, so the
//! store keeps them without k8s-openapi's wide struct (1,000 bytes before
//! its strings): repeated texts shared, numbers and uids as numbers, the
//! recorder's name (`<object>.<hex>`) as its suffix. Reading one gives back
//! the typed Event exactly as it was written; an Event with anything this
//! form does not hold (labels, a series, a related object, …) is stored as
//! the typed object instead.

use std::rc::Rc;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::shared_texts::{Shared, SharedTexts};

/// An optional text, shared with every other value that holds it.
type Text = Option<Rc<str>>;

#[derive(Clone, Debug, PartialEq)]
pub struct CompactEvent {
    name: Name,
    uid: Uid,
    resource_version: Number,
    creation_timestamp: Option<Time>,
    subject: Rc<Subject>,
    /// `involvedObject.fieldPath` (a container).
    field_path: Text,
    /// `involvedObject.resourceVersion`.
    involved_resource_version: Number,
    reason: Text,
    message: Text,
    origin: Rc<Origin>,
    first_timestamp: Option<Time>,
    last_timestamp: Option<Time>,
    count: Option<i32>,
}

/// The object an Event is about and the namespace the Event is in: the
/// same for all of a pod's Events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Subject {
    namespace: Text,
    api_version: Text,
    kind: Text,
    name: Text,
    involved_namespace: Text,
    uid: Text,
}

/// Who reported an Event and its type: the same for every Event of one
/// recorder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Origin {
    /// Whether `source` is set at all (its two fields may both be unset).
    has_source: bool,
    source_component: Text,
    source_host: Text,
    type_: Text,
    reporting_component: Text,
    reporting_instance: Text,
}

/// What compact Events share, kept by the store.
#[derive(Debug, Default)]
pub struct Sharing {
    texts: SharedTexts,
    subjects: Shared<Subject>,
    origins: Shared<Origin>,
}

/// A text that is usually a decimal number (a resource version).
#[derive(Clone, Debug, PartialEq)]
enum Number {
    Decimal(u64),
    Text(Text),
}

/// A uid, usually a lowercase UUID.
#[derive(Clone, Debug, PartialEq)]
enum Uid {
    Uuid(u64, u64),
    Text(Text),
}

/// The recorder names an Event after its object and a hex clock.
#[derive(Clone, Debug, PartialEq)]
enum Name {
    /// `<involvedObject.name>.<hex>`.
    AfterObject(u64),
    Text(Text),
}

fn share(texts: &mut SharedTexts, text: &Option<String>) -> Text {
    text.as_deref().map(|t| texts.share(t))
}

fn unshare(text: &Text) -> Option<String> {
    text.as_deref().map(str::to_string)
}

impl Number {
    fn of(text: &Option<String>, texts: &mut SharedTexts) -> Number {
        match text.as_deref().and_then(canonical_decimal) {
            Some(n) => Number::Decimal(n),
            None => Number::Text(share(texts, text)),
        }
    }
    fn text(&self) -> Option<String> {
        match self {
            Number::Decimal(n) => Some(n.to_string()),
            Number::Text(t) => unshare(t),
        }
    }
}

/// `text` as a number, if printing the number gives `text` back.
fn canonical_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// `text` as a number, if printing it in lowercase hex gives `text` back.
fn canonical_hex(text: &str) -> Option<u64> {
    let canonical = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) && (text == "0" || !text.starts_with('0'));
    canonical.then(|| u64::from_str_radix(text, 16).ok()).flatten()
}

impl Uid {
    fn of(text: &Option<String>, texts: &mut SharedTexts) -> Uid {
        match text.as_deref().and_then(uuid_bits) {
            Some((high, low)) => Uid::Uuid(high, low),
            None => Uid::Text(share(texts, text)),
        }
    }
    fn text(&self) -> Option<String> {
        match self {
            Uid::Uuid(high, low) => Some(format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                high >> 32,
                (high >> 16) & 0xffff,
                high & 0xffff,
                low >> 48,
                low & 0xffff_ffff_ffff
            )),
            Uid::Text(t) => unshare(t),
        }
    }
}

/// A lowercase `8-4-4-4-12` UUID as two numbers.
fn uuid_bits(text: &str) -> Option<(u64, u64)> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits: u128 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        bits = (bits << 4) | u128::from(digit);
    }
    Some(((bits >> 64) as u64, bits as u64))
}

impl Name {
    fn of(name: &Option<String>, object: Option<&str>, texts: &mut SharedTexts) -> Name {
        let suffix = name.as_deref().and_then(|n| n.strip_prefix(object.unwrap_or_default())).and_then(|rest| rest.strip_prefix('.'));
        match suffix.and_then(canonical_hex) {
            Some(clock) => Name::AfterObject(clock),
            None => Name::Text(share(texts, name)),
        }
    }
    fn text(&self, object: &Text) -> Option<String> {
        match self {
            Name::AfterObject(clock) => Some(format!("{}.{clock:x}", object.as_deref().unwrap_or_default())),
            Name::Text(t) => unshare(t),
        }
    }
}

impl CompactEvent {
    /// The compact form of `event`, if it holds only what this form keeps.
    pub fn of(event: &Event, sharing: &mut Sharing) -> Option<CompactEvent> {
        // Every field named, so a field this form does not keep cannot be
        // dropped unnoticed.
        let Event {
            action,
            count,
            event_time,
            first_timestamp,
            involved_object,
            last_timestamp,
            message,
            metadata,
            reason,
            related,
            reporting_component,
            reporting_instance,
            series,
            source,
            type_,
        } = event;
        let ObjectMeta {
            annotations,
            creation_timestamp,
            deletion_grace_period_seconds,
            deletion_timestamp,
            finalizers,
            generate_name,
            generation,
            labels,
            managed_fields,
            name,
            namespace,
            owner_references,
            resource_version,
            self_link,
            uid,
        } = metadata;
        let unkept = action.is_some()
            || event_time.is_some()
            || related.is_some()
            || series.is_some()
            || annotations.is_some()
            || deletion_grace_period_seconds.is_some()
            || deletion_timestamp.is_some()
            || finalizers.is_some()
            || generate_name.is_some()
            || generation.is_some()
            || labels.is_some()
            || managed_fields.is_some()
            || owner_references.is_some()
            || self_link.is_some();
        if unkept {
            return None;
        }
        let texts = &mut sharing.texts;
        let ObjectReference {
            api_version,
            field_path,
            kind,
            name: involved_name,
            namespace: involved_namespace,
            resource_version: involved_resource_version,
            uid: involved_uid,
        } = involved_object;
        let subject = Subject {
            namespace: share(texts, namespace),
            api_version: share(texts, api_version),
            kind: share(texts, kind),
            name: share(texts, involved_name),
            involved_namespace: share(texts, involved_namespace),
            uid: share(texts, involved_uid),
        };
        let (source_component, source_host) = match source {
            Some(EventSource { component, host }) => (share(texts, component), share(texts, host)),
            None => (None, None),
        };
        let origin = Origin {
            has_source: source.is_some(),
            source_component,
            source_host,
            type_: share(texts, type_),
            reporting_component: share(texts, reporting_component),
            reporting_instance: share(texts, reporting_instance),
        };
        let compact = CompactEvent {
            name: Name::of(name, involved_name.as_deref(), texts),
            uid: Uid::of(uid, texts),
            resource_version: Number::of(resource_version, texts),
            creation_timestamp: creation_timestamp.clone(),
            field_path: share(texts, field_path),
            involved_resource_version: Number::of(involved_resource_version, texts),
            reason: share(texts, reason),
            message: share(texts, message),
            first_timestamp: first_timestamp.clone(),
            last_timestamp: last_timestamp.clone(),
            count: *count,
            subject: sharing.subjects.share_with(&subject, |s| Rc::new(s.clone())),
            origin: sharing.origins.share_with(&origin, |o| Rc::new(o.clone())),
        };
        debug_assert_eq!(&compact.event(), event, "the compact form gives the Event back");
        Some(compact)
    }

    /// The typed Event, as it was written.
    pub fn event(&self) -> Event {
        let (subject, origin) = (&self.subject, &self.origin);
        Event {
            metadata: ObjectMeta {
                name: self.name.text(&subject.name),
                namespace: unshare(&subject.namespace),
                uid: self.uid.text(),
                resource_version: self.resource_version.text(),
                creation_timestamp: self.creation_timestamp.clone(),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: unshare(&subject.api_version),
                field_path: unshare(&self.field_path),
                kind: unshare(&subject.kind),
                name: unshare(&subject.name),
                namespace: unshare(&subject.involved_namespace),
                resource_version: self.involved_resource_version.text(),
                uid: unshare(&subject.uid),
            },
            reason: unshare(&self.reason),
            message: unshare(&self.message),
            source: origin.has_source.then(|| EventSource { component: unshare(&origin.source_component), host: unshare(&origin.source_host) }),
            first_timestamp: self.first_timestamp.clone(),
            last_timestamp: self.last_timestamp.clone(),
            count: self.count,
            type_: unshare(&origin.type_),
            reporting_component: unshare(&origin.reporting_component),
            reporting_instance: unshare(&origin.reporting_instance),
            action: None,
            event_time: None,
            related: None,
            series: None,
        }
    }

    /// When the Event was last seen: `lastTimestamp`, else `firstTimestamp`
    /// (this form holds no `eventTime`).
    pub fn last_seen(&self) -> Option<&Time> {
        self.last_timestamp.as_ref().or(self.first_timestamp.as_ref())
    }

    pub fn namespace(&self) -> Option<&str> {
        self.subject.namespace.as_deref()
    }

    /// What a field selector compares for `field`, as
    /// [`crate::engine::selector::field_value`] reads it from the Event.
    pub fn field_value(&self, field: &str) -> Option<String> {
        let (subject, origin) = (&self.subject, &self.origin);
        match field {
            "metadata.name" => self.name.text(&subject.name),
            "metadata.namespace" => unshare(&subject.namespace),
            "involvedObject.kind" => unshare(&subject.kind),
            "involvedObject.name" => unshare(&subject.name),
            "involvedObject.namespace" => unshare(&subject.involved_namespace),
            "involvedObject.uid" => unshare(&subject.uid),
            "involvedObject.apiVersion" => unshare(&subject.api_version),
            "involvedObject.fieldPath" => unshare(&self.field_path),
            "involvedObject.resourceVersion" => self.involved_resource_version.text(),
            "reason" => unshare(&self.reason),
            "type" => unshare(&origin.type_),
            "reportingComponent" => unshare(&origin.reporting_component),
            "source" => if origin.has_source { unshare(&origin.source_component) } else { None },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(value: serde_json::Value) -> Event {
        serde_json::from_value(value).expect("an Event decodes")
    }

    fn recorded() -> Event {
        event(json!({
            "metadata": {"name": "web-7d9c-x2x4q.188a1b2c3d4e5f60", "namespace": "default", "uid": "0f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b",
                "resourceVersion": "1234", "creationTimestamp": "2026-01-01T00:01:05Z"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-7d9c-x2x4q", "namespace": "default",
                "uid": "a1b2c3d4-0000-4000-8000-000000000001", "resourceVersion": "1200", "fieldPath": "spec.containers{nginx}"},
            "reason": "Started", "message": "Started container nginx",
            "source": {"component": "kubelet", "host": "minikube-m02"},
            "firstTimestamp": "2026-01-01T00:01:05Z", "lastTimestamp": "2026-01-01T00:01:05Z", "count": 1, "type": "Normal",
            "reportingComponent": "kubelet", "reportingInstance": "minikube-m02"
        }))
    }

    #[test]
    fn a_recorded_event_comes_back_exactly_and_shares_its_texts() {
        let mut sharing = Sharing::default();
        let ev = recorded();
        let a = CompactEvent::of(&ev, &mut sharing).expect("a recorder's Event has a compact form");
        assert_eq!(a.event(), ev);
        assert_eq!(a.name, Name::AfterObject(0x188a_1b2c_3d4e_5f60));
        assert!(matches!(a.uid, Uid::Uuid(..)));
        assert_eq!(a.resource_version, Number::Decimal(1234));
        let b = CompactEvent::of(&ev, &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(a.reason.as_ref().unwrap(), b.reason.as_ref().unwrap()));
        assert!(Rc::ptr_eq(&a.subject, &b.subject) && Rc::ptr_eq(&a.origin, &b.origin));
        assert_eq!(a.field_value("involvedObject.fieldPath").as_deref(), Some("spec.containers{nginx}"));
        assert_eq!(a.field_value("metadata.name").as_deref(), Some("web-7d9c-x2x4q.188a1b2c3d4e5f60"));
        assert_eq!(a.field_value("source").as_deref(), Some("kubelet"));
    }

    #[test]
    fn the_compact_form_is_a_fraction_of_the_typed_one() {
        let (compact, typed) = (std::mem::size_of::<CompactEvent>(), std::mem::size_of::<Event>());
        eprintln!("compact Event {compact} bytes, typed {typed} bytes before their strings");
        assert!(compact * 4 <= typed, "{compact} against {typed}");
    }

    #[test]
    fn unusual_texts_are_kept_as_written() {
        let mut sharing = Sharing::default();
        let odd = [
            json!({"metadata": {"name": "web.0188", "namespace": "default", "uid": "0F1E2D3C-4B5A-4987-8A6B-5C4D3E2F1A0B", "resourceVersion": "007"},
                "involvedObject": {"name": "web", "resourceVersion": ""}, "source": {}}),
            json!({"metadata": {"name": "other.1a", "uid": "not-a-uuid"}, "involvedObject": {"name": "web"}, "count": 3}),
            json!({"metadata": {"name": ".ff"}, "involvedObject": {}}),
            json!({"metadata": {}, "involvedObject": {"resourceVersion": "18446744073709551616"}}),
        ];
        for value in odd {
            let ev = event(value);
            let compact = CompactEvent::of(&ev, &mut sharing).expect("compact");
            assert_eq!(compact.event(), ev);
        }
    }

    #[test]
    fn events_with_more_than_the_form_keeps_stay_typed() {
        let mut sharing = Sharing::default();
        let mut labelled = recorded();
        labelled.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        assert!(CompactEvent::of(&labelled, &mut sharing).is_none());
        let mut with_action = recorded();
        with_action.action = Some("Binding".into());
        assert!(CompactEvent::of(&with_action, &mut sharing).is_none());
    }
}
