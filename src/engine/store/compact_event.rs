//! An Event as the store keeps it. Events are written once, bumped now and
//! then (`count`) and rarely read, and there are several per pod, so the
//! store keeps them without k8s-openapi's wide struct (1,000 bytes before
//! its strings): repeated texts shared, numbers and uids as numbers, the
//! recorder's name (`<object>.<hex>`) as its suffix. Reading one gives back
//! the typed Event exactly as it was written; an Event with anything this
//! form does not hold (labels, finalizers, …) is stored as the typed object
//! instead. Both recorders' shapes fit: `tools/record`'s (first and last
//! times, a count) and the events.k8s.io one's (an `eventTime` to the
//! microsecond, an action, now and then a series or a related object).

use crate::engine::digits::push_digits;
use std::borrow::Cow;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Event, EventSeries, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use rustc_hash::FxHashMap;

use super::shared_texts::{PruneSchedule, Shared, SharedTexts};

/// An optional text, shared with every other value that holds it.
type Text = Option<Rc<str>>;

#[derive(Clone, Debug, PartialEq)]
pub struct CompactEvent {
    numbers: Numbers,
    subject: Rc<Subject>,
    wording: Rc<Wording>,
    origin: Rc<Origin>,
}

/// An Event's name, uid, resource versions, times and count: packed as
/// plain numbers when each is in the form a recorder writes it (nearly
/// every Event), else as written. Packed, a compact Event and its `Rc` fit
/// in 112 bytes where these fields alone took 168.
#[derive(Clone, Debug, PartialEq)]
enum Numbers {
    Packed(Packed),
    Written(Box<Written>),
}

#[derive(Clone, Debug, PartialEq)]
struct Written {
    name: Name,
    uid: Uid,
    resource_version: Number,
    /// `involvedObject.resourceVersion`.
    involved_resource_version: Number,
    creation_timestamp: Option<Time>,
    first_timestamp: Option<Time>,
    last_timestamp: Option<Time>,
    count: Option<i32>,
    event_time: Option<MicroTime>,
    /// A repeated events.k8s.io Event's, and a preemption's victim's
    /// preemptor: rare, so only here.
    series: Option<EventSeries>,
    related: Option<ObjectReference>,
}

/// [`Written`] when its name is `<involvedObject.name>.<hex>`, its
/// resource version a decimal, its uid a UUID or unset, the involved
/// object's resource version a decimal or unset, and its times whole
/// seconds or unset.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Packed {
    name_clock: u64,
    uid: (u64, u64),
    resource_version: u64,
    involved_resource_version: u64,
    /// `creationTimestamp`, `firstTimestamp`, `lastTimestamp`, in Unix
    /// seconds (32 bits reach 2106; a time outside is kept as written);
    /// with [`SET_EVENT_TIME`], the second holds `eventTime`'s whole
    /// seconds instead (an events.k8s.io Event has no `firstTimestamp`)
    /// and `micros` the rest. Narrower than `i64`s, so a compact Event and
    /// its `Rc` fit the allocator's 112-byte class.
    seconds: [u32; 3],
    /// `eventTime`'s microseconds past its second.
    micros: u32,
    count: i32,
    /// Which of the unsettable ones are set: the three times (bits 0-2),
    /// the count, the uid, the involved object's resource version and
    /// `eventTime`.
    set: u8,
}

const SET_COUNT: u8 = 1 << 3;
const SET_UID: u8 = 1 << 4;
const SET_INVOLVED_RESOURCE_VERSION: u8 = 1 << 5;
const SET_EVENT_TIME: u8 = 1 << 6;

impl Packed {
    fn of(w: &Written) -> Option<Packed> {
        let Name::AfterObject(name_clock) = w.name else { return None };
        let Number::Decimal(resource_version) = w.resource_version else { return None };
        let mut set = 0;
        let uid = match w.uid {
            Uid::Uuid(high, low) => {
                set |= SET_UID;
                (high, low)
            }
            Uid::Text(None) => (0, 0),
            Uid::Text(Some(_)) => return None,
        };
        let involved_resource_version = match w.involved_resource_version {
            Number::Decimal(n) => {
                set |= SET_INVOLVED_RESOURCE_VERSION;
                n
            }
            Number::Text(None) => 0,
            Number::Text(Some(_)) => return None,
        };
        let mut seconds = [0; 3];
        for (i, time) in [&w.creation_timestamp, &w.first_timestamp, &w.last_timestamp].into_iter().enumerate() {
            if let Some(Time(t)) = time {
                let whole = u32::try_from(t.as_second()).ok()?;
                if Timestamp::from_second(i64::from(whole)).ok() != Some(*t) {
                    return None;
                }
                seconds[i] = whole;
                set |= 1 << i;
            }
        }
        let count = match w.count {
            Some(n) => {
                set |= SET_COUNT;
                n
            }
            None => 0,
        };
        if w.series.is_some() || w.related.is_some() {
            return None;
        }
        let mut micros = 0;
        if let Some(MicroTime(t)) = &w.event_time {
            let all = t.as_microsecond();
            let whole = u32::try_from(all.div_euclid(1_000_000)).ok()?;
            micros = u32::try_from(all.rem_euclid(1_000_000)).ok()?;
            if set & (1 << 1) != 0 || Timestamp::from_microsecond(all).ok() != Some(*t) {
                return None;
            }
            seconds[1] = whole;
            set |= SET_EVENT_TIME;
        }
        Some(Packed { name_clock, uid, resource_version, involved_resource_version, seconds, micros, count, set })
    }

    /// Creation, first or last time (0, 1, 2).
    fn time(&self, i: usize) -> Option<Time> {
        (self.set & (1 << i) != 0 && !(i == 1 && self.set & SET_EVENT_TIME != 0)).then(|| Timestamp::from_second(i64::from(self.seconds[i])).ok().map(Time)).flatten()
    }

    fn written(&self) -> Written {
        let has = |bit: u8| self.set & bit != 0;
        let time = |i: usize| self.time(i);
        Written {
            name: Name::AfterObject(self.name_clock),
            uid: if has(SET_UID) { Uid::Uuid(self.uid.0, self.uid.1) } else { Uid::Text(None) },
            resource_version: Number::Decimal(self.resource_version),
            involved_resource_version: if has(SET_INVOLVED_RESOURCE_VERSION) { Number::Decimal(self.involved_resource_version) } else { Number::Text(None) },
            creation_timestamp: time(0),
            first_timestamp: time(1),
            last_timestamp: time(2),
            count: has(SET_COUNT).then_some(self.count),
            event_time: has(SET_EVENT_TIME).then(|| Timestamp::from_microsecond(i64::from(self.seconds[1]) * 1_000_000 + i64::from(self.micros)).ok().map(MicroTime)).flatten(),
            series: None,
            related: None,
        }
    }
}

impl Numbers {
    fn of(written: Written) -> Numbers {
        match Packed::of(&written) {
            Some(packed) => Numbers::Packed(packed),
            None => Numbers::Written(Box::new(written)),
        }
    }

    fn get(&self) -> std::borrow::Cow<'_, Written> {
        match self {
            Numbers::Packed(packed) => std::borrow::Cow::Owned(packed.written()),
            Numbers::Written(written) => std::borrow::Cow::Borrowed(written),
        }
    }
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
    /// An events.k8s.io Event's action (`Binding`, `Scheduling`): one of a
    /// few per recorder.
    action: Text,
}

/// What an Event says: the same for every pod of a template that reaches
/// one step (`Started`, `Started container nginx`), so kept once for them
/// all rather than as three texts in each Event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Wording {
    /// `involvedObject.fieldPath` (a container).
    field_path: Text,
    reason: Text,
    message: Text,
}

/// What compact Events share, kept by the store.
#[derive(Debug, Default)]
pub struct Sharing {
    texts: SharedTexts,
    /// Subjects by the involved object's uid: found by hashing the uid
    /// alone and comparing the other fields, so neither the object's name
    /// nor its uid (texts of that one object) joins the shared texts.
    subjects_by_uid: SubjectsByUid,
    /// Subjects without a uid, shared as a whole.
    subjects: Shared<Subject>,
    origins: Shared<Origin>,
    wordings: Shared<Wording>,
    /// The origins last used, most recent first: a recorder writes its
    /// Events in runs, and comparing a few short texts spares hashing them.
    recent_origins: Vec<Rc<Origin>>,
    /// Origins by one hash of their texts as an Event carries them: a
    /// cluster of many nodes interleaves its kubelets' Events, so the
    /// recent few miss, and sharing each text before finding the origin
    /// hashed six texts in tables of every text. Weak, so an origin no
    /// Event holds is still pruned from `origins`.
    origins_by_texts: FxHashMap<u64, std::rc::Weak<Origin>>,
    origins_by_texts_prune: PruneSchedule,
}

/// How many origins [`Sharing::recent_origins`] remembers.
const RECENT_ORIGINS: usize = 8;

#[derive(Debug, Default)]
struct SubjectsByUid {
    by_uid: FxHashMap<Rc<str>, Rc<Subject>>,
    prune: PruneSchedule,
}

/// An Event's subject as written, borrowed.
struct SubjectRef<'a> {
    namespace: Option<&'a str>,
    api_version: Option<&'a str>,
    kind: Option<&'a str>,
    name: Option<&'a str>,
    involved_namespace: Option<&'a str>,
    uid: Option<&'a str>,
}

impl Subject {
    /// Whether this subject, found by `s`'s UID, is the one `s` describes
    /// (its UID is the key it was found by).
    fn is_besides_uid(&self, s: &SubjectRef) -> bool {
        self.name.as_deref() == s.name
            && self.namespace.as_deref() == s.namespace
            && self.involved_namespace.as_deref() == s.involved_namespace
            && self.kind.as_deref() == s.kind
            && self.api_version.as_deref() == s.api_version
    }
}

impl Sharing {
    /// The shared subject `s` describes.
    fn subject(&mut self, s: &SubjectRef) -> Rc<Subject> {
        let texts = &mut self.texts;
        let mut made = |name: Text, uid: Text| Subject {
            namespace: s.namespace.map(|t| texts.share(t)),
            api_version: s.api_version.map(|t| texts.share(t)),
            kind: s.kind.map(|t| texts.share(t)),
            name,
            involved_namespace: s.involved_namespace.map(|t| texts.share(t)),
            uid,
        };
        let Some(uid) = s.uid.filter(|u| !u.is_empty()) else {
            let subject = made(s.name.map(self_text), s.uid.map(self_text));
            return self.subjects.share_with(&subject, |v| Rc::new(v.clone()));
        };
        let map = &mut self.subjects_by_uid;
        if let Some(found) = map.by_uid.get(uid) {
            debug_assert_eq!(found.uid.as_deref(), Some(uid));
            if found.is_besides_uid(s) {
                return found.clone();
            }
        }
        let by_uid = &mut map.by_uid;
        map.prune.before_adding(by_uid.len(), || {
            by_uid.retain(|_, v| Rc::strong_count(v) > 1);
            by_uid.len()
        });
        let uid: Rc<str> = Rc::from(uid);
        let subject = Rc::new(made(s.name.map(self_text), Some(uid.clone())));
        map.by_uid.insert(uid, subject.clone());
        subject
    }

    /// The shared origin of an Event.
    #[allow(clippy::too_many_arguments)]
    fn origin(&mut self, has_source: bool, source_component: Option<&str>, source_host: Option<&str>, type_: Option<&str>, reporting_component: Option<&str>, reporting_instance: Option<&str>, action: Option<&str>) -> Rc<Origin> {
        // The texts that tell recorders apart first: a kubelet's origins
        // differ from its neighbours' only in the node's name.
        let same = |o: &Origin| {
            o.source_host.as_deref() == source_host
                && o.reporting_instance.as_deref() == reporting_instance
                && o.has_source == has_source
                && o.action.as_deref() == action
                && o.type_.as_deref() == type_
                && o.source_component.as_deref() == source_component
                && o.reporting_component.as_deref() == reporting_component
        };
        if let Some(at) = self.recent_origins.iter().position(|o| same(o)) {
            let found = self.recent_origins[at].clone();
            self.recent_origins[..=at].rotate_right(1);
            return found;
        }
        let by_texts = {
            use std::hash::{Hash, Hasher};
            let mut hasher = rustc_hash::FxHasher::default();
            (has_source, source_component, source_host, type_, reporting_component, reporting_instance, action).hash(&mut hasher);
            hasher.finish()
        };
        let found = self.origins_by_texts.get(&by_texts).and_then(std::rc::Weak::upgrade).filter(|o| same(o));
        if let Some(found) = found {
            self.remember_recent(found.clone());
            return found;
        }
        let texts = &mut self.texts;
        let origin = Origin {
            has_source,
            source_component: source_component.map(|t| texts.share(t)),
            source_host: source_host.map(|t| texts.share(t)),
            type_: type_.map(|t| texts.share(t)),
            reporting_component: reporting_component.map(|t| texts.share(t)),
            reporting_instance: reporting_instance.map(|t| texts.share(t)),
            action: action.map(|t| texts.share(t)),
        };
        let shared = self.origins.share_with(&origin, |o| Rc::new(o.clone()));
        let by = &mut self.origins_by_texts;
        self.origins_by_texts_prune.before_adding(by.len(), || {
            by.retain(|_, o| o.strong_count() > 0);
            by.len()
        });
        self.origins_by_texts.insert(by_texts, Rc::downgrade(&shared));
        self.remember_recent(shared.clone());
        shared
    }

    fn remember_recent(&mut self, origin: Rc<Origin>) {
        if self.recent_origins.len() == RECENT_ORIGINS {
            self.recent_origins.pop();
        }
        self.recent_origins.insert(0, origin);
    }
}

/// Where a shared message holds the name of the object its Event is about
/// (see [`CompactEvent::of`]). An Event whose message has this character
/// of its own is kept typed.
const OBJECT_NAME_MARK: char = '\0';
const MARK_TEXT: &str = "\0";

/// A text of one object or one Event, kept as it is rather than shared.
fn self_text(text: &str) -> Rc<str> {
    Rc::from(text)
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
            Number::Decimal(n) => Some(crate::engine::digits::decimal(*n)),
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
            Uid::Uuid(high, low) => Some(crate::engine::digits::uuid(*high, *low)),
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
            Name::AfterObject(clock) => {
                let object = object.as_deref().unwrap_or_default();
                let mut text = String::with_capacity(object.len() + 17);
                text.push_str(object);
                text.push('.');
                push_digits(&mut text, u128::from(*clock), 16);
                Some(text)
            }
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
        let unkept = annotations.is_some()
            || message.as_deref().is_some_and(|m| m.contains(OBJECT_NAME_MARK))
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
        let ObjectReference {
            api_version,
            field_path,
            kind,
            name: involved_name,
            namespace: involved_namespace,
            resource_version: involved_resource_version,
            uid: involved_uid,
        } = involved_object;
        let subject = sharing.subject(&SubjectRef {
            namespace: namespace.as_deref(),
            api_version: api_version.as_deref(),
            kind: kind.as_deref(),
            name: involved_name.as_deref(),
            involved_namespace: involved_namespace.as_deref(),
            uid: involved_uid.as_deref(),
        });
        let (source_component, source_host) = match source {
            Some(EventSource { component, host }) => (component.as_deref(), host.as_deref()),
            None => (None, None),
        };
        let origin = sharing.origin(source.is_some(), source_component, source_host, type_.as_deref(), reporting_component.as_deref(), reporting_instance.as_deref(), action.as_deref());
        let texts = &mut sharing.texts;
        // A message that names its object ("Successfully assigned
        // default/web-1 to node-2") is shared with the mark in the name's
        // place: by every pod bound to one node.
        let message = match (message.as_deref(), involved_name.as_deref()) {
            // (`contains` first: it searches without building the searcher
            // `split_once` builds, which cost more than the rest of packing
            // an Event that does not name its object, nearly every one.)
            (Some(m), Some(object)) if !object.is_empty() && m.contains(object) => match m.split_once(object) {
                Some((before, after)) => Some(texts.share(&[before, MARK_TEXT, after].concat())),
                None => Some(texts.share(m)),
            },
            (m, _) => m.map(|t| texts.share(t)),
        };
        let numbers = Numbers::of(Written {
            name: Name::of(name, involved_name.as_deref(), texts),
            uid: Uid::of(uid, texts),
            resource_version: Number::of(resource_version, texts),
            involved_resource_version: Number::of(involved_resource_version, texts),
            creation_timestamp: creation_timestamp.clone(),
            first_timestamp: first_timestamp.clone(),
            last_timestamp: last_timestamp.clone(),
            count: *count,
            event_time: event_time.clone(),
            series: series.clone(),
            related: related.clone(),
        });
        let wording = Wording { field_path: share(texts, field_path), reason: share(texts, reason), message };
        let wording = sharing.wordings.share_with(&wording, |w| Rc::new(w.clone()));
        let compact = CompactEvent { numbers, subject, wording, origin };
        debug_assert_eq!(&compact.event(), event, "the compact form gives the Event back");
        Some(compact)
    }

    /// The typed Event, as it was written.
    pub fn event(&self) -> Event {
        let (subject, origin) = (&self.subject, &self.origin);
        let numbers = self.numbers.get();
        Event {
            metadata: ObjectMeta {
                name: numbers.name.text(&subject.name),
                namespace: unshare(&subject.namespace),
                uid: numbers.uid.text(),
                resource_version: numbers.resource_version.text(),
                creation_timestamp: numbers.creation_timestamp.clone(),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: unshare(&subject.api_version),
                field_path: unshare(&self.wording.field_path),
                kind: unshare(&subject.kind),
                name: unshare(&subject.name),
                namespace: unshare(&subject.involved_namespace),
                resource_version: numbers.involved_resource_version.text(),
                uid: unshare(&subject.uid),
            },
            reason: unshare(&self.wording.reason),
            message: self.message().map(Cow::into_owned),
            source: origin.has_source.then(|| EventSource { component: unshare(&origin.source_component), host: unshare(&origin.source_host) }),
            first_timestamp: numbers.first_timestamp.clone(),
            last_timestamp: numbers.last_timestamp.clone(),
            count: numbers.count,
            type_: unshare(&origin.type_),
            reporting_component: unshare(&origin.reporting_component),
            reporting_instance: unshare(&origin.reporting_instance),
            action: unshare(&origin.action),
            event_time: numbers.event_time.clone(),
            related: numbers.related.clone(),
            series: numbers.series.clone(),
        }
    }

    /// When the Event was last seen: its series' last time, else
    /// `lastTimestamp`, `firstTimestamp` or `eventTime` (to the second).
    pub fn last_seen(&self) -> Option<Time> {
        let numbers = self.numbers.get();
        let micro = |t: &MicroTime| Timestamp::from_second(t.0.as_second()).ok().map(Time);
        let series = numbers.series.as_ref().and_then(|s| s.last_observed_time.as_ref());
        series.and_then(micro).or_else(|| numbers.last_timestamp.clone()).or_else(|| numbers.first_timestamp.clone()).or_else(|| numbers.event_time.as_ref().and_then(micro))
    }

    pub fn namespace(&self) -> Option<&str> {
        self.subject.namespace.as_deref()
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<String> {
        self.numbers.get().name.text(&self.subject.name)
    }

    /// `message`, with its object's name in the mark's place.
    fn message(&self) -> Option<Cow<'_, str>> {
        let text = self.wording.message.as_deref()?;
        Some(match text.split_once(OBJECT_NAME_MARK) {
            Some((before, after)) => Cow::Owned([before, self.subject.name.as_deref().unwrap_or_default(), after].concat()),
            None => Cow::Borrowed(text),
        })
    }

    /// Whether [`CompactEvent::message`] is `value` (an unset one is empty).
    fn message_is(&self, value: &str) -> bool {
        let Some(text) = self.wording.message.as_deref() else { return value.is_empty() };
        match text.split_once(OBJECT_NAME_MARK) {
            Some((before, after)) => value
                .strip_prefix(before)
                .and_then(|rest| rest.strip_prefix(self.subject.name.as_deref().unwrap_or_default()))
                .is_some_and(|rest| rest == after),
            None => text == value,
        }
    }

    /// Whether the Event is about the object `uid` (its container
    /// `field_path`) with `reason` and `message`, an unset text reading as
    /// empty: what an event recorder aggregates Events by.
    pub fn aggregates_as(&self, uid: &str, field_path: &str, reason: &str, message: &str) -> bool {
        let is = |text: &Text, value: &str| text.as_deref().unwrap_or_default() == value;
        let wording = &self.wording;
        is(&self.subject.uid, uid) && is(&wording.field_path, field_path) && is(&wording.reason, reason) && self.message_is(message)
    }

    /// See [`super::Value::event_combines`].
    pub fn combines(&self, uid: &str, reason: &str, prefix: &str) -> bool {
        let is = |text: &Text, value: &str| text.as_deref().unwrap_or_default() == value;
        is(&self.subject.uid, uid) && is(&self.wording.reason, reason) && self.message().unwrap_or_default().starts_with(prefix)
    }

    /// What a field selector compares for `field`, as
    /// [`crate::engine::selector::field_value`] reads it from the Event.
    pub fn field_value(&self, field: &str) -> Option<String> {
        let (subject, origin) = (&self.subject, &self.origin);
        match field {
            "metadata.name" => self.name(),
            "metadata.namespace" => unshare(&subject.namespace),
            "involvedObject.kind" => unshare(&subject.kind),
            "involvedObject.name" => unshare(&subject.name),
            "involvedObject.namespace" => unshare(&subject.involved_namespace),
            "involvedObject.uid" => unshare(&subject.uid),
            "involvedObject.apiVersion" => unshare(&subject.api_version),
            "involvedObject.fieldPath" => unshare(&self.wording.field_path),
            "involvedObject.resourceVersion" => self.numbers.get().involved_resource_version.text(),
            "reason" => unshare(&self.wording.reason),
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
        let Numbers::Packed(packed) = &a.numbers else { panic!("a recorder's Event packs its numbers: {:?}", a.numbers) };
        assert_eq!(packed.name_clock, 0x188a_1b2c_3d4e_5f60);
        assert_eq!(packed.resource_version, 1234);
        let numbers = a.numbers.get();
        assert_eq!(numbers.name, Name::AfterObject(0x188a_1b2c_3d4e_5f60));
        assert!(matches!(numbers.uid, Uid::Uuid(..)));
        assert_eq!(numbers.resource_version, Number::Decimal(1234));
        let b = CompactEvent::of(&ev, &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(&a.wording, &b.wording), "the same step of the same container shares its wording");
        assert!(Rc::ptr_eq(&a.subject, &b.subject) && Rc::ptr_eq(&a.origin, &b.origin));
        // Another container's, or another reason's, has its own; its texts
        // are still shared with the first.
        let mut sidecar = ev.clone();
        sidecar.involved_object.field_path = Some("spec.containers{sidecar}".into());
        let c = CompactEvent::of(&sidecar, &mut sharing).expect("compact");
        assert!(!Rc::ptr_eq(&a.wording, &c.wording));
        assert!(Rc::ptr_eq(a.wording.reason.as_ref().unwrap(), c.wording.reason.as_ref().unwrap()));
        assert_eq!(c.event(), sidecar);
        assert_eq!(a.field_value("involvedObject.fieldPath").as_deref(), Some("spec.containers{nginx}"));
        assert_eq!(a.field_value("metadata.name").as_deref(), Some("web-7d9c-x2x4q.188a1b2c3d4e5f60"));
        assert_eq!(a.field_value("source").as_deref(), Some("kubelet"));
    }

    #[test]
    fn texts_of_one_object_are_not_shared_but_its_subject_is() {
        let mut sharing = Sharing::default();
        let mut scheduled = recorded();
        scheduled.message = Some("Successfully assigned default/web-7d9c-x2x4q to minikube-m02".into());
        scheduled.reason = Some("Scheduled".into());
        let a = CompactEvent::of(&scheduled, &mut sharing).expect("compact");
        assert_eq!(a.event(), scheduled);
        let shared_before = sharing.texts.len();
        for text in ["web-7d9c-x2x4q", "a1b2c3d4-0000-4000-8000-000000000001", "Successfully assigned default/web-7d9c-x2x4q to minikube-m02"] {
            sharing.texts.share(text);
        }
        assert_eq!(sharing.texts.len(), shared_before + 3, "the pod's name, its uid and the message naming it were not shared texts");
        // Another pod bound to the same node shares the message, its name in
        // the mark's place; each reads back its own.
        let mut neighbour = scheduled.clone();
        neighbour.involved_object.name = Some("web-7d9c-q8z7m".into());
        neighbour.involved_object.uid = Some("a1b2c3d4-0000-4000-8000-000000000002".into());
        neighbour.metadata.name = Some("web-7d9c-q8z7m.188a1b2c3d4e5f61".into());
        neighbour.message = Some("Successfully assigned default/web-7d9c-q8z7m to minikube-m02".into());
        let n = CompactEvent::of(&neighbour, &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(&a.wording, &n.wording), "the message naming each pod is one wording");
        assert_eq!((a.event(), n.event()), (scheduled.clone(), neighbour.clone()));
        let message = neighbour.message.as_deref().unwrap_or_default();
        assert!(n.aggregates_as("a1b2c3d4-0000-4000-8000-000000000002", "spec.containers{nginx}", "Scheduled", message));
        for wrong in ["", "Successfully assigned default/web-7d9c-x2x4q to minikube-m02", "Successfully assigned default/web-7d9c-q8z7m to minikube-m0", "Successfully assigned default/web-7d9c-q8z7m to minikube-m022"] {
            assert!(!n.aggregates_as("a1b2c3d4-0000-4000-8000-000000000002", "spec.containers{nginx}", "Scheduled", wrong), "{wrong}");
        }
        assert!(n.combines("a1b2c3d4-0000-4000-8000-000000000002", "Scheduled", "Successfully assigned default/web-7d9c-q8"));
        // A message with the mark's own character is not one this form keeps.
        let mut marked = neighbour.clone();
        marked.message = Some("odd\0message".into());
        assert!(CompactEvent::of(&marked, &mut sharing).is_none());
        // The pod's next Event finds its subject by uid; a message that does
        // not name the pod is shared.
        let started = recorded();
        let b = CompactEvent::of(&started, &mut sharing).expect("compact");
        let c = CompactEvent::of(&started, &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(&a.subject, &b.subject));
        assert!(Rc::ptr_eq(&b.wording, &c.wording));
        // Another object under the same uid (a recreated name, a hand-written
        // Event) gets a subject of its own, and comes back as written.
        let mut other = recorded();
        other.involved_object.name = Some("web-other".into());
        other.metadata.name = Some("web-other.17".into());
        let d = CompactEvent::of(&other, &mut sharing).expect("compact");
        assert!(!Rc::ptr_eq(&a.subject, &d.subject));
        assert_eq!(d.event(), other);
        assert_eq!(a.event(), scheduled);
    }

    #[test]
    fn origins_are_found_again_among_the_recent_and_beyond() {
        let mut sharing = Sharing::default();
        let host = |i: usize| {
            let mut ev = recorded();
            ev.source = Some(EventSource { component: Some("kubelet".into()), host: Some(format!("node-{i}")) });
            ev.reporting_instance = Some(format!("node-{i}"));
            ev
        };
        let first = CompactEvent::of(&host(0), &mut sharing).expect("compact");
        for i in 1..=2 * RECENT_ORIGINS {
            let ev = host(i);
            assert_eq!(CompactEvent::of(&ev, &mut sharing).expect("compact").event(), ev);
        }
        let again = CompactEvent::of(&host(0), &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(&first.origin, &again.origin), "shared past the recent ones");
        let recent = CompactEvent::of(&host(0), &mut sharing).expect("compact");
        assert!(Rc::ptr_eq(&first.origin, &recent.origin));
        assert_eq!(sharing.recent_origins.len(), RECENT_ORIGINS);
        assert_eq!(sharing.origins_by_texts.len(), 2 * RECENT_ORIGINS + 1, "each origin found by its texts' hash");
    }

    #[test]
    fn origins_no_event_holds_are_pruned_whatever_finds_them_by_their_texts() {
        let mut sharing = Sharing::default();
        let many = 3 * crate::engine::store::shared_texts::PRUNE_FLOOR;
        for i in 0..many {
            let mut ev = recorded();
            ev.source = Some(EventSource { component: Some("kubelet".into()), host: Some(format!("node-{i}")) });
            drop(CompactEvent::of(&ev, &mut sharing).expect("compact"));
        }
        assert!(sharing.origins.len() < many / 2, "{} origins kept", sharing.origins.len());
        assert!(sharing.origins_by_texts.len() < many / 2, "{} origins found by texts", sharing.origins_by_texts.len());
    }

    #[test]
    fn the_compact_form_is_a_fraction_of_the_typed_one() {
        let (compact, typed) = (std::mem::size_of::<CompactEvent>(), std::mem::size_of::<Event>());
        eprintln!("compact Event {compact} bytes, typed {typed} bytes before their strings");
        assert!(compact * 4 <= typed, "{compact} against {typed}");
    }

    #[test]
    fn numbers_pack_when_each_is_as_a_recorder_writes_it() {
        let mut sharing = Sharing::default();
        let sparse = event(json!({"metadata": {"name": "web.1f", "resourceVersion": "9"}, "involvedObject": {"name": "web"},
            "lastTimestamp": "2026-01-01T00:00:07Z"}));
        let compact = CompactEvent::of(&sparse, &mut sharing).expect("compact");
        assert!(matches!(compact.numbers, Numbers::Packed(_)), "unset uid, times and count still pack");
        assert_eq!(compact.event(), sparse);
        assert_eq!(compact.last_seen(), sparse.last_timestamp);
        let mut fraction = recorded();
        fraction.first_timestamp = Some(Time(Timestamp::from_millisecond(1_767_225_600_250).expect("a time")));
        let compact = CompactEvent::of(&fraction, &mut sharing).expect("compact");
        assert!(matches!(compact.numbers, Numbers::Written(_)), "a time with a fraction of a second is kept as written");
        assert_eq!(compact.event(), fraction);
        assert_eq!(compact.last_seen(), fraction.last_timestamp);
        let mut no_rv = recorded();
        no_rv.metadata.resource_version = None;
        let compact = CompactEvent::of(&no_rv, &mut sharing).expect("compact");
        assert!(matches!(compact.numbers, Numbers::Written(_)));
        assert_eq!(compact.event(), no_rv);
    }

    #[test]
    fn a_compact_event_and_its_rc_fit_in_112_bytes() {
        // 112 is one of the allocator's size classes (128 and 160 the next
        // ones up); only 64-bit targets are measured.
        if std::mem::size_of::<usize>() == 8 {
            assert!(std::mem::size_of::<CompactEvent>() + 2 * std::mem::size_of::<usize>() <= 112, "{}", std::mem::size_of::<CompactEvent>());
        }
    }

    #[test]
    fn packed_times_reach_their_ends_and_others_are_kept_as_written() {
        let mut sharing = Sharing::default();
        let at = |seconds: i64| Time(Timestamp::from_second(seconds).expect("a time"));
        let micro = |micros: i64| MicroTime(Timestamp::from_microsecond(micros).expect("a time"));
        for (seconds, packs) in [(0, true), (i64::from(u32::MAX), true), (-1, false), (i64::from(u32::MAX) + 1, false)] {
            let mut ev = recorded();
            ev.last_timestamp = Some(at(seconds));
            let compact = CompactEvent::of(&ev, &mut sharing).expect("compact");
            assert_eq!(matches!(compact.numbers, Numbers::Packed(_)), packs, "last seen at {seconds}");
            assert_eq!(compact.event(), ev);
        }
        for (micros, packs) in [(1_767_225_600_123_456, true), (0, true), (999_999, true), (-1, false), ((i64::from(u32::MAX) + 1) * 1_000_000, false)] {
            let mut ev = scheduled();
            ev.event_time = Some(micro(micros));
            let compact = CompactEvent::of(&ev, &mut sharing).expect("compact");
            assert_eq!(matches!(compact.numbers, Numbers::Packed(_)), packs, "event time {micros}");
            assert_eq!(compact.event(), ev);
        }
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
        let mut finalized = recorded();
        finalized.metadata.finalizers = Some(vec!["example.com/keep".into()]);
        assert!(CompactEvent::of(&finalized, &mut sharing).is_none());
    }

    fn scheduled() -> Event {
        event(json!({
            "metadata": {"name": "web-7d9c-x2x4q.188a1b2c3d4e5f60", "namespace": "default", "uid": "0f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b",
                "resourceVersion": "1234", "creationTimestamp": "2026-01-01T00:01:05Z"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-7d9c-x2x4q", "namespace": "default",
                "uid": "a1b2c3d4-0000-4000-8000-000000000001", "resourceVersion": "1200"},
            "reason": "Scheduled", "message": "Successfully assigned default/web-7d9c-x2x4q to minikube-m02", "source": {},
            "eventTime": "2026-01-01T00:01:05.250000Z", "action": "Binding", "type": "Normal",
            "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-minikube"
        }))
    }

    #[test]
    fn an_events_api_event_packs_its_event_time_and_keeps_a_series_or_related_object_as_written() {
        let mut sharing = Sharing::default();
        let ev = scheduled();
        let compact = CompactEvent::of(&ev, &mut sharing).expect("an events.k8s.io Event has a compact form");
        assert!(matches!(compact.numbers, Numbers::Packed(_)), "its eventTime packs: {:?}", compact.numbers);
        assert_eq!(compact.event(), ev);
        assert_eq!(compact.last_seen(), Some(Time(Timestamp::from_second(1_767_225_665).expect("a time"))));
        let mut repeated = scheduled();
        repeated.series = Some(EventSeries { count: Some(2), last_observed_time: ev.event_time.clone() });
        let mut preempted = scheduled();
        preempted.related = Some(ObjectReference { kind: Some("Pod".into()), name: Some("urgent".into()), ..Default::default() });
        let mut both_times = scheduled();
        both_times.first_timestamp = Some(Time(Timestamp::from_second(1_767_225_665).expect("a time")));
        for ev in [repeated, preempted, both_times] {
            let compact = CompactEvent::of(&ev, &mut sharing).expect("compact");
            assert!(matches!(compact.numbers, Numbers::Written(_)));
            assert_eq!(compact.event(), ev);
        }
        let mut other_action = scheduled();
        other_action.action = Some("Scheduling".into());
        let a = CompactEvent::of(&scheduled(), &mut sharing).expect("compact");
        let b = CompactEvent::of(&other_action, &mut sharing).expect("compact");
        assert!(!Rc::ptr_eq(&a.origin, &b.origin));
        assert_eq!(b.event(), other_action);
    }
}
