//! The event log's rows: Kubernetes Events and component activity lines,
//! merged by time, filtered, and capped so the page never draws thousands.

use crate::engine::api::{ids, meta, Object};
use crate::engine::cluster::Cluster;
use crate::engine::kubectl::printers;

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

    fn accepts(&self, row: &Row) -> bool {
        let object = self.object.to_ascii_lowercase();
        let component = self.component.to_ascii_lowercase();
        match &row.kind {
            RowKind::Event { namespace, object: obj, source, .. } => {
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
/// first, and how many more matched.
pub fn build(cluster: &Cluster, filter: &Filter) -> (Vec<Row>, usize) {
    let mut rows: Vec<Row> = Vec::new();
    if filter.show_events {
        for obj in stored(cluster, ids::events()) {
            let Object::Event(ev) = &*obj else { continue };
            let involved = &ev.involved_object;
            let kind = involved.kind.clone().unwrap_or_default().to_ascii_lowercase();
            let time = ev
                .last_timestamp
                .as_ref()
                .or(ev.first_timestamp.as_ref())
                .map(|t| meta::virtual_of(t).as_millis())
                .or_else(|| ev.event_time.as_ref().map(|t| (t.0.as_second() - meta::EPOCH_SECONDS).max(0) as u64 * 1000))
                .unwrap_or(0);
            rows.push(Row {
                time_ms: time,
                kind: RowKind::Event {
                    type_: ev.type_.clone().unwrap_or_else(|| "Normal".into()),
                    reason: ev.reason.clone().unwrap_or_default(),
                    namespace: ev.metadata.namespace.clone().unwrap_or_default(),
                    object: format!("{kind}/{}", involved.name.clone().unwrap_or_default()),
                    count: ev.count.unwrap_or(1),
                    source: ev.source.as_ref().and_then(|s| s.component.clone()).or_else(|| ev.reporting_component.clone()).unwrap_or_default(),
                },
                message: ev.message.clone().unwrap_or_default(),
            });
        }
    }
    if filter.show_activity {
        for line in cluster.sim.activity.lines() {
            rows.push(Row { time_ms: line.time.as_millis(), kind: RowKind::Activity { component: line.component.clone() }, message: line.message.clone() });
        }
    }
    // Stable: events (in name order) before activity at the same instant.
    rows.sort_by_key(|r| r.time_ms);
    rows.retain(|r| filter.accepts(r));
    let hidden = rows.len().saturating_sub(MAX_ROWS);
    rows.drain(..hidden);
    (rows, hidden)
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
        assert!(rows.iter().all(|r| !r.message.contains("scheduler")));
        let no_activity = Filter { show_activity: false, ..Filter::everything() };
        let (rows, _) = build(&cluster, &no_activity);
        assert!(rows.iter().all(|r| matches!(r.kind, RowKind::Event { .. })));
    }
}
