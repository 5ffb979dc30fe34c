//! kubectl 1.33's describers for StatefulSets, DaemonSets, Jobs and CronJobs
//! (`describeStatefulSet`, `describeDaemonSet`, `describeJob`,
//! `describeCronJob` in kubectl's `pkg/describe`).

use crate::engine::api::shared_spec::{DaemonSet, Job, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, JobTemplateSpec};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use crate::engine::api::{meta, Object};
use crate::engine::kubectl::printers::human_duration;
use crate::engine::kubectl::printers::tables::{format_labels, selector_string};
use crate::engine::kubectl::Session;

use super::{annotations_multiline, controlled_by, describe_pod_template, int_or_string, labels_multiline, pod_phases, rfc1123z, Writer};

fn pods_status(w: &mut Writer, s: &Session, obj: &Object) {
    let m = obj.meta();
    let (running, waiting, succeeded, failed) = pod_phases(s, m.namespace.as_deref().unwrap_or(""), m.uid.as_deref().unwrap_or(""));
    w.line(0, &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"));
}

/// `GetPersistentVolumeClaimClass`: the beta annotation, else the field.
fn claim_class(pvc: &PersistentVolumeClaim) -> String {
    if let Some(class) = pvc.metadata.annotations.as_ref().and_then(|a| a.get("volume.beta.kubernetes.io/storage-class")) {
        return class.clone();
    }
    pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone()).unwrap_or_default()
}

fn describe_claim_templates(w: &mut Writer, templates: &[PersistentVolumeClaim]) {
    if templates.is_empty() {
        w.line(0, "Volume Claims:\t<none>");
        return;
    }
    w.line(0, "Volume Claims:");
    for pvc in templates {
        w.line(1, &format!("Name:\t{}", pvc.metadata.name.as_deref().unwrap_or("")));
        w.line(1, &format!("StorageClass:\t{}", claim_class(pvc)));
        labels_multiline(w, "  ", "Labels", pvc.metadata.labels.as_ref());
        labels_multiline(w, "  ", "Annotations", pvc.metadata.annotations.as_ref());
        let spec = pvc.spec.clone().unwrap_or_default();
        let capacity = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).map(|q| q.0.clone());
        w.line(1, &format!("Capacity:\t{}", capacity.unwrap_or_else(|| "<default>".into())));
        w.line(1, &format!("Access Modes:\t[{}]", spec.access_modes.unwrap_or_default().join(" ")));
    }
}

pub(super) fn describe_stateful_set(w: &mut Writer, s: &Session, obj: &Object, set: &StatefulSet) {
    let spec = set.spec.clone().unwrap_or_default();
    let m = &set.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("CreationTimestamp:\t{}", m.creation_timestamp.as_ref().map(rfc1123z).unwrap_or_default()));
    w.line(0, &format!("Selector:\t{}", selector_string(&spec.selector)));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    let total = set.status.as_ref().map_or(0, |s| s.replicas);
    w.line(0, &format!("Replicas:\t{} desired | {total} total", spec.replicas.unwrap_or(1)));
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    w.line(0, &format!("Update Strategy:\t{}", strategy.type_.clone().unwrap_or_default()));
    if let Some(partition) = strategy.rolling_update.as_ref().and_then(|r| r.partition) {
        w.line(1, &format!("Partition:\t{partition}"));
        if let Some(max) = strategy.rolling_update.as_ref().and_then(|r| r.max_unavailable.as_ref()) {
            w.line(1, &format!("MaxUnavailable:\t{}", int_or_string(max)));
        }
    }
    pods_status(w, s, obj);
    describe_pod_template(w, &spec.template);
    describe_claim_templates(w, spec.volume_claim_templates.as_deref().unwrap_or(&[]));
}

pub(super) fn describe_daemon_set(w: &mut Writer, s: &Session, obj: &Object, ds: &DaemonSet) {
    let spec = ds.spec.clone().unwrap_or_default();
    let st = ds.status.clone().unwrap_or_default();
    let m = &ds.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("Selector:\t{}", selector_string(&spec.selector)));
    let node_selector = spec.template.spec.as_ref().and_then(|s| s.node_selector.as_ref());
    w.line(0, &format!("Node-Selector:\t{}", format_labels(node_selector)));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Desired Number of Nodes Scheduled: {}", st.desired_number_scheduled));
    w.line(0, &format!("Current Number of Nodes Scheduled: {}", st.current_number_scheduled));
    w.line(0, &format!("Number of Nodes Scheduled with Up-to-date Pods: {}", st.updated_number_scheduled.unwrap_or(0)));
    w.line(0, &format!("Number of Nodes Scheduled with Available Pods: {}", st.number_available.unwrap_or(0)));
    w.line(0, &format!("Number of Nodes Misscheduled: {}", st.number_misscheduled));
    pods_status(w, s, obj);
    describe_pod_template(w, &spec.template);
}

/// `capIndexesListOrNone`: the list up to the first comma past 50 characters.
fn cap_indexes(indexes: &str, soft_limit: usize) -> String {
    if indexes.is_empty() {
        return "<none>".into();
    }
    match indexes.char_indices().find(|(i, c)| *i >= soft_limit && *c == ',') {
        Some((i, _)) => format!("{}...", &indexes[..=i]),
        None => indexes.to_string(),
    }
}

pub(super) fn describe_job(w: &mut Writer, obj: &Object, job: &Job) {
    let spec = job.spec.clone().unwrap_or_default();
    let st = job.status.clone().unwrap_or_default();
    let m = &job.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    w.line(0, &format!("Selector:\t{}", spec.selector.as_ref().map(selector_string).unwrap_or_default()));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    if let Some(c) = controlled_by(obj) {
        w.line(0, &format!("Controlled By:\t{c}"));
    }
    if let Some(p) = spec.parallelism {
        w.line(0, &format!("Parallelism:\t{p}"));
    }
    match spec.completions {
        Some(c) => w.line(0, &format!("Completions:\t{c}")),
        None => w.line(0, "Completions:\t<unset>"),
    }
    if let Some(mode) = &spec.completion_mode {
        w.line(0, &format!("Completion Mode:\t{mode}"));
    }
    if let Some(suspend) = spec.suspend {
        w.line(0, &format!("Suspend:\t{suspend}"));
    }
    if let Some(limit) = spec.backoff_limit {
        w.line(0, &format!("Backoff Limit:\t{limit}"));
    }
    if let Some(ttl) = spec.ttl_seconds_after_finished {
        w.line(0, &format!("TTL Seconds After Finished:\t{ttl}"));
    }
    if let Some(t) = &st.start_time {
        w.line(0, &format!("Start Time:\t{}", rfc1123z(t)));
    }
    if let Some(t) = &st.completion_time {
        w.line(0, &format!("Completed At:\t{}", rfc1123z(t)));
    }
    if let (Some(start), Some(end)) = (&st.start_time, &st.completion_time) {
        w.line(0, &format!("Duration:\t{}", human_duration(meta::virtual_of(end).millis_since(meta::virtual_of(start)))));
    }
    if let Some(d) = spec.active_deadline_seconds {
        w.line(0, &format!("Active Deadline Seconds:\t{d}s"));
    }
    let (active, succeeded, failed) = (st.active.unwrap_or(0), st.succeeded.unwrap_or(0), st.failed.unwrap_or(0));
    match st.ready {
        None => w.line(0, &format!("Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed")),
        Some(ready) => w.line(0, &format!("Pods Statuses:\t{active} Active ({ready} Ready) / {succeeded} Succeeded / {failed} Failed")),
    }
    if spec.completion_mode.as_deref() == Some("Indexed") {
        w.line(0, &format!("Completed Indexes:\t{}", cap_indexes(st.completed_indexes.as_deref().unwrap_or(""), 50)));
    }
    describe_pod_template(w, &spec.template);
}

fn bool_or_unset(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
}

fn describe_job_template(w: &mut Writer, template: &JobTemplateSpec) {
    let spec = template.spec.clone().unwrap_or_default();
    match &spec.selector {
        Some(sel) => w.line(0, &format!("Selector:\t{}", selector_string(sel))),
        None => w.line(0, "Selector:\t<unset>"),
    }
    match spec.parallelism {
        Some(p) => w.line(0, &format!("Parallelism:\t{p}")),
        None => w.line(0, "Parallelism:\t<unset>"),
    }
    match spec.completions {
        Some(c) => w.line(0, &format!("Completions:\t{c}")),
        None => w.line(0, "Completions:\t<unset>"),
    }
    if let Some(d) = spec.active_deadline_seconds {
        w.line(0, &format!("Active Deadline Seconds:\t{d}s"));
    }
    describe_pod_template(w, &spec.template);
}

pub(super) fn describe_cron_job(w: &mut Writer, cj: &CronJob) {
    let spec = cj.spec.clone().unwrap_or_default();
    let st = cj.status.clone().unwrap_or_default();
    let m = &cj.metadata;
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("Schedule:\t{}", spec.schedule));
    w.line(0, &format!("Concurrency Policy:\t{}", spec.concurrency_policy.clone().unwrap_or_default()));
    w.line(0, &format!("Suspend:\t{}", bool_or_unset(spec.suspend)));
    let limit = |v: Option<i32>| v.map_or("<unset>".to_string(), |n| n.to_string());
    w.line(0, &format!("Successful Job History Limit:\t{}", limit(spec.successful_jobs_history_limit)));
    w.line(0, &format!("Failed Job History Limit:\t{}", limit(spec.failed_jobs_history_limit)));
    match spec.starting_deadline_seconds {
        Some(d) => w.line(0, &format!("Starting Deadline Seconds:\t{d}s")),
        None => w.line(0, "Starting Deadline Seconds:\t<unset>"),
    }
    describe_job_template(w, &spec.job_template);
    match &st.last_schedule_time {
        Some(t) => w.line(0, &format!("Last Schedule Time:\t{}", rfc1123z(t))),
        None => w.line(0, "Last Schedule Time:\t<unset>"),
    }
    let active: Vec<String> = st.active.iter().flatten().filter_map(|r| r.name.clone()).collect();
    w.line(0, &format!("Active Jobs:\t{}", if active.is_empty() { "<none>".to_string() } else { active.join(", ") }));
}

#[cfg(test)]
mod tests {
    use super::cap_indexes;

    #[test]
    fn long_index_lists_are_cut_after_a_comma() {
        assert_eq!(cap_indexes("", 50), "<none>");
        assert_eq!(cap_indexes("0-3,5", 50), "0-3,5");
        let long = (0..40).map(|i| (i * 2).to_string()).collect::<Vec<_>>().join(",");
        let cut = cap_indexes(&long, 50);
        assert!(cut.ends_with(",...") && cut.len() < long.len(), "{cut}");
    }
}
