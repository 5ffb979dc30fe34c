//! The event log's rows: Kubernetes Events and component activity lines,
//! merged by time, filtered, and capped so the page never draws thousands.

use crate::engine::sort::SortStable;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use crate::engine::api::{ids, meta, resource, Object};
use crate::engine::cluster::Cluster;
use crate::engine::kubectl::printers;
use crate::engine::store::{ChangeKind, Value};

use super::topology::stored;

/// The most rows the log draws; older ones are summarised as a count.
pub const MAX_ROWS: usize = 400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKind {
    Event {
        /// `Normal` or `Warning`.
        type_: String,
        reason: String,
        namespace: String,
        /// `pod/web-1`, as `kubectl events` names it.
        object: String,
        count: i32,
        source: String,
    },
    Activity {
        component: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Virtual milliseconds of the last occurrence.
    pub time_ms: u64,
    pub kind: RowKind,
    pub message: String,
}

impl Row {
    /// `12s` since it last happened, as kubectl's LAST SEEN.
    pub fn age(&self, now_ms: u64) -> String {
        printers::human_duration(now_ms.saturating_sub(self.time_ms))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Empty: every namespace.
    pub namespace: String,
    /// Substring of the object (`pod/web`), case-insensitive.
    pub object: String,
    /// Substring of the component or event source, case-insensitive.
    pub component: String,
    pub show_events: bool,
    pub show_activity: bool,
}

impl Filter {
    pub fn everything() -> Self {
        Filter { show_events: true, show_activity: true, ..Default::default() }
    }

    fn accepts_activity(&self, component: &str, message: &str) -> bool {
        if !self.show_activity {
            return false;
        }
        if self.object.is_empty() && self.component.is_empty() && self.namespace.is_empty() {
            return true;
        }
        let row = Row { time_ms: 0, kind: RowKind::Activity { component: component.to_string() }, message: message.to_string() };
        self.accepts(&row)
    }

    /// Whether only the kind switches are set (no text or namespace to match).
    fn is_plain(&self) -> bool {
        self.object.is_empty() && self.component.is_empty() && self.namespace.is_empty()
    }

    fn accepts(&self, row: &Row) -> bool {
        let object = self.object.to_ascii_lowercase();
        let component = self.component.to_ascii_lowercase();
        match &row.kind {
            RowKind::Event { namespace, object: obj, source, .. } => {
                if self.object.is_empty() && self.component.is_empty() && self.namespace.is_empty() {
                    return self.show_events;
                }
                self.show_events
                    && (self.namespace.is_empty() || *namespace == self.namespace)
                    && (object.is_empty() || obj.to_ascii_lowercase().contains(&object))
                    && (component.is_empty() || source.to_ascii_lowercase().contains(&component))
            }
            RowKind::Activity { component: c } => {
                self.show_activity
                    && (component.is_empty() || c.to_ascii_lowercase().contains(&component))
                    // Activity lines name objects as namespace/name in their text.
                    && (object.is_empty() || row.message.to_ascii_lowercase().contains(object.rsplit('/').next().unwrap_or("")))
                    && (self.namespace.is_empty() || row.message.contains(&format!("{}/", self.namespace)) || !row.message.contains('/'))
            }
        }
    }
}

/// The log as shown: the newest `MAX_ROWS` rows passing `filter`, oldest
/// first, and how many more matched. Filters on borrowed data and builds
/// rows only for what is shown, so thousands of events stay cheap.
pub fn build(cluster: &Cluster, filter: &Filter) -> (Vec<Row>, usize) {
    enum Source<'a> {
        Event(&'a k8s_openapi::api::core::v1::Event),
        Activity(&'a crate::engine::sim::Activity),
    }
    let events = if filter.show_events { stored(cluster, ids::events()) } else { Vec::new() };
    // (time, order, source): events in name order before activity at one instant.
    let mut matched: Vec<(u64, usize, Source)> = Vec::new();
    for obj in &events {
        let Object::Event(ev) = &**obj else { continue };
        let row = event_row(ev, false);
        if filter.accepts(&row) {
            matched.push((row.time_ms, matched.len(), Source::Event(ev)));
        }
    }
    if filter.show_activity {
        for line in cluster.sim.activity.lines() {
            let row = Row { time_ms: line.time.as_millis(), kind: RowKind::Activity { component: String::new() }, message: String::new() };
            if filter.accepts_activity(&line.component, &line.message) {
                matched.push((row.time_ms, matched.len(), Source::Activity(line)));
            }
        }
    }
    matched.sort_stable_by_key(|(t, order, _)| (*t, *order));
    let hidden = matched.len().saturating_sub(MAX_ROWS);
    let rows = matched[hidden..]
        .iter()
        .map(|(_, _, source)| match source {
            Source::Event(ev) => event_row(ev, true),
            Source::Activity(line) => {
                Row { time_ms: line.time.as_millis(), kind: RowKind::Activity { component: line.component.clone() }, message: line.message.clone() }
            }
        })
        .collect();
    (rows, hidden)
}

/// An Event as a row; without `full`, only what filtering reads.
fn event_row(ev: &k8s_openapi::api::core::v1::Event, full: bool) -> Row {
    let involved = &ev.involved_object;
    let kind = involved.kind.as_deref().unwrap_or_default().to_ascii_lowercase();
    Row {
        time_ms: event_time_ms(ev),
        kind: RowKind::Event {
            type_: if full { ev.type_.clone().unwrap_or_else(|| "Normal".into()) } else { String::new() },
            reason: if full { ev.reason.clone().unwrap_or_default() } else { String::new() },
            namespace: ev.metadata.namespace.clone().unwrap_or_default(),
            object: format!("{kind}/{}", involved.name.as_deref().unwrap_or_default()),
            count: ev.count.unwrap_or(1),
            source: ev.source.as_ref().and_then(|s| s.component.clone()).or_else(|| ev.reporting_component.clone()).unwrap_or_default(),
        },
        message: if full { ev.message.clone().unwrap_or_default() } else { String::new() },
    }
}

/// A cheap summary that changes whenever the log's input changes.
pub fn fingerprint(cluster: &Cluster) -> (u64, i64) {
    (cluster.sim.activity.total(), cluster.sim.api.store().revision())
}

/// The log kept current from the store's change log: Events indexed by when
/// they were last seen, so drawing the newest rows reads only those rows,
/// however many Events the cluster holds. Draws what [`build`] draws.
/// Events are held in the store's form (compact) and typed as they are read.
#[derive(Default)]
pub struct LogModel {
    revision: i64,
    by_time: BTreeSet<(u64, Rc<str>)>,
    events: HashMap<Rc<str>, (u64, Value)>,
}

impl LogModel {
    pub fn build(cluster: &Cluster) -> Self {
        let mut model = LogModel::default();
        let store = cluster.sim.api.store();
        model.revision = store.revision();
        for (key, entry) in store.range(&events_prefix()) {
            model.put(key.clone(), entry.value.clone());
        }
        model
    }

    /// Applies the Events written since the last update.
    pub fn update(&mut self, cluster: &Cluster) {
        let store = cluster.sim.api.store();
        if store.revision() == self.revision {
            return;
        }
        let Ok(changes) = store.changes_since(self.revision, &events_prefix()) else {
            *self = LogModel::build(cluster);
            return;
        };
        self.revision = store.revision();
        for change in changes {
            match change.kind {
                ChangeKind::Put => self.put(change.key, change.value),
                ChangeKind::Delete => self.remove(&change.key),
            }
        }
    }

    fn put(&mut self, key: Rc<str>, value: Value) {
        self.remove(&key);
        // Read from the stored form: typing a compact Event only for its time would rebuild all of it.
        let time = match &value {
            Value::Event(compact) => compact.last_seen().map_or(0, |t| meta::virtual_of(&t).as_millis()),
            Value::Object(object) => match &**object {
                Object::Event(ev) => event_time_ms(ev),
                _ => return,
            },
        };
        self.by_time.insert((time, key.clone()));
        self.events.insert(key, (time, value));
    }

    fn remove(&mut self, key: &Rc<str>) {
        if let Some((time, _)) = self.events.remove(key) {
            self.by_time.remove(&(time, key.clone()));
        }
    }

    /// The log as shown, as [`build`] makes it: newest first while reading,
    /// so only the rows drawn (and, with a text filter, the ones counted) are read.
    pub fn rows(&self, cluster: &Cluster, filter: &Filter) -> (Vec<Row>, usize) {
        // Both sides know how many they have left, so the rows not drawn
        // are counted without walking them (a big cluster keeps hundreds
        // of thousands of Events).
        let mut events = self.by_time.iter().rev().take(if filter.show_events { usize::MAX } else { 0 });
        let mut activity = cluster.sim.activity.lines().rev().take(if filter.show_activity { usize::MAX } else { 0 });
        let (mut next_event, mut next_line) = (events.next(), activity.next());
        let mut newest_first = Vec::new();
        let mut matched = 0usize;
        loop {
            // At one instant, Events come before activity; reading backwards, activity first.
            let take_event = match (&next_event, next_line) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((time, _)), Some(line)) => *time > line.time.as_millis(),
            };
            let row = if take_event {
                // `take_event` holds only while an Event is waiting.
                let Some((_, key)) = next_event.take() else { break };
                next_event = events.next();
                let Some((_, value)) = self.events.get(key) else { continue };
                // Typed only here: counting the rest below reads none.
                let object = value.object();
                let Object::Event(ev) = &*object else { continue };
                if !filter.accepts(&event_row(ev, false)) {
                    continue;
                }
                (newest_first.len() < MAX_ROWS).then(|| event_row(ev, true))
            } else {
                // Likewise an activity line.
                let Some(line) = next_line.take() else { break };
                next_line = activity.next();
                if !filter.accepts_activity(&line.component, &line.message) {
                    continue;
                }
                (newest_first.len() < MAX_ROWS).then(|| Row {
                    time_ms: line.time.as_millis(),
                    kind: RowKind::Activity { component: line.component.clone() },
                    message: line.message.clone(),
                })
            };
            matched += 1;
            if let Some(row) = row {
                newest_first.push(row);
            } else if filter.is_plain() {
                // Every remaining row matches: count them without reading them.
                let events_left = usize::from(next_event.is_some()) + events.len();
                let lines_left = usize::from(next_line.is_some()) + activity.len();
                matched += events_left + lines_left;
                break;
            }
        }
        newest_first.reverse();
        (newest_first, matched - MAX_ROWS.min(matched))
    }
}

fn events_prefix() -> String {
    format!("/registry/{}/", resource(ids::events()).qualified_plural())
}

fn event_time_ms(ev: &k8s_openapi::api::core::v1::Event) -> u64 {
    let micro = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime| (t.0.as_second() - meta::EPOCH_SECONDS).max(0) as u64 * 1000;
    if let Some(t) = ev.series.as_ref().and_then(|s| s.last_observed_time.as_ref()) {
        return micro(t);
    }
    ev.last_timestamp
        .as_ref()
        .or(ev.first_timestamp.as_ref())
        .map(|t| meta::virtual_of(t).as_millis())
        .or_else(|| ev.event_time.as_ref().map(micro))
        .unwrap_or(0)
}

/// Namespaces and components seen in the log, for the filter pickers.
pub fn filter_choices(cluster: &Cluster) -> (Vec<String>, Vec<String>) {
    let namespaces = stored(cluster, ids::namespaces()).iter().filter_map(|o| o.meta().name.clone()).collect();
    let components = cluster.sim.component_states().into_iter().map(|c| c.name).collect();
    (namespaces, components)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};

    #[test]
    fn shows_component_activity_and_filters_it() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        cluster.sim.stop("scheduler").unwrap();
        let (rows, _) = build(&cluster, &Filter::everything());
        assert!(rows.iter().any(|r| r.message == "scheduler stopped"), "{rows:?}");
        let only_kubelet = Filter { component: "kubelet".into(), ..Filter::everything() };
        let (rows, _) = build(&cluster, &only_kubelet);
        assert!(rows.iter().all(|r| r.message != "scheduler stopped"));
        assert!(rows.iter().all(|r| match &r.kind {
            RowKind::Activity { component } => component.starts_with("kubelet"),
            RowKind::Event { source, .. } => source.contains("kubelet"),
        }));
        let no_activity = Filter { show_activity: false, ..Filter::everything() };
        let (rows, _) = build(&cluster, &no_activity);
        assert!(rows.iter().all(|r| matches!(r.kind, RowKind::Event { .. })));
    }

    #[test]
    fn the_kept_log_shows_what_a_full_build_shows() {
        use crate::engine::kubectl::{self, NoFiles};
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 2);
        let mut model = LogModel::build(&cluster);
        let filters = [
            Filter::everything(),
            Filter { show_activity: false, ..Filter::everything() },
            Filter { show_events: false, ..Filter::everything() },
            Filter { object: "pod/web".into(), ..Filter::everything() },
            Filter { component: "kubelet".into(), namespace: "default".into(), ..Filter::everything() },
        ];
        let web = crate::view::templates::DEPLOYMENT.replace("replicas: 3", "replicas: 40");
        assert_eq!(kubectl::run(&mut cluster, "apply -f -", Some(&web), &NoFiles).exit_code, 0);
        for step in 0..30 {
            cluster.sim.run_until(cluster.now().plus_millis(900));
            if step == 12 {
                assert_eq!(kubectl::run(&mut cluster, "delete pod --all", None, &NoFiles).exit_code, 0);
            }
            model.update(&cluster);
            for filter in &filters {
                assert_eq!(model.rows(&cluster, filter), build(&cluster, filter), "step {step}, {filter:?}");
            }
        }
        let (rows, hidden) = model.rows(&cluster, &Filter::everything());
        assert_eq!(rows.len(), MAX_ROWS);
        assert!(hidden > 0);
    }
}
