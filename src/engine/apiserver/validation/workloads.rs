//! Workload validation (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`).

use std::collections::BTreeMap;

use crate::engine::api::shared_spec::{DaemonSet, Deployment, Job, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, JobSpec};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::job_policies;
use super::pod::validate_pod_template;
use super::{go_label_selector, go_map, quote, validate_labels, Errors};
use crate::engine::selector::Selector;

fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty) && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

fn template_labels(template: &PodTemplateSpec) -> Option<&BTreeMap<String, String>> {
    template.metadata.as_ref().and_then(|m| m.labels.as_ref())
}

pub(super) fn validate_label_selector(selector: &LabelSelector, path: &str, errs: &mut Errors) {
    validate_labels(selector.match_labels.as_ref(), &format!("{path}.matchLabels"), errs);
    for (i, expr) in selector.match_expressions.iter().flatten().enumerate() {
        let item = format!("{path}.matchExpressions[{i}]");
        let values = expr.values.as_ref().map_or(0, Vec::len);
        match expr.operator.as_str() {
            "In" | "NotIn" => {
                if values == 0 {
                    errs.required(&format!("{item}.values"), "must be specified when `operator` is 'In' or 'NotIn'");
                }
            }
            "Exists" | "DoesNotExist" => {
                if values > 0 {
                    errs.forbidden(&format!("{item}.values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
                }
            }
            other => errs.invalid_str(&format!("{item}.operator"), other, "not a valid selector operator"),
        }
        for msg in super::qualified_name(&expr.key) {
            errs.invalid_str(&format!("{item}.key"), &expr.key, &msg);
        }
        // `AllowInvalidLabelValueInSelector` is false for a new object.
        for (j, value) in expr.values.iter().flatten().enumerate() {
            for msg in super::label_value(value) {
                errs.invalid_str(&format!("{item}.values[{j}]"), value, &msg);
            }
        }
    }
}

/// The selector checks Deployments, ReplicaSets and StatefulSets share. A
/// selector with no terms stands for a missing one: it is required and,
/// selecting nothing, matches no template.
fn validate_required_selector(selector: &LabelSelector, template: &PodTemplateSpec, path: &str, errs: &mut Errors) {
    if selector_is_empty(selector) {
        errs.required(&format!("{path}.selector"), "");
    } else {
        validate_label_selector(selector, &format!("{path}.selector"), errs);
    }
    check_selector_matches_template(selector, template, path, errs);
}

fn check_selector_matches_template(selector: &LabelSelector, template: &PodTemplateSpec, path: &str, errs: &mut Errors) {
    let labels = template_labels(template);
    let matches = !selector_is_empty(selector) && Selector::from_api(selector).matches(labels);
    if !matches {
        errs.invalid(&format!("{path}.template.metadata.labels"), &go_map(labels), "`selector` does not match template `labels`");
    }
}

fn restart_always_only(template: &PodTemplateSpec, path: &str, errs: &mut Errors) {
    let policy = template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("");
    if policy != "Always" {
        errs.unsupported(&format!("{path}.template.spec.restartPolicy"), policy, &["Always"]);
    }
}

fn no_active_deadline(template: &PodTemplateSpec, path: &str, kind: &str, errs: &mut Errors) {
    if let Some(deadline) = template.spec.as_ref().and_then(|s| s.active_deadline_seconds) {
        errs.invalid_int(&format!("{path}.template.spec.activeDeadlineSeconds"), deadline, &format!("activeDeadlineSeconds in {kind} is not Supported"));
    }
}

/// `ValidatePodTemplateSpecForReplicaSet`, after the selector checks.
fn validate_replica_template(template: &PodTemplateSpec, errs: &mut Errors) {
    validate_pod_template(template, "spec.template", errs);
    restart_always_only(template, "spec", errs);
    no_active_deadline(template, "spec", "ReplicaSet", errs);
}

/// An IntOrString as Go's `%#v` prints it.
pub(super) fn go_int_or_string(value: Option<&IntOrString>) -> String {
    match value {
        None => "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".to_string(),
        Some(IntOrString::Int(i)) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        Some(IntOrString::String(s)) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}", quote(s)),
    }
}

/// `ValidatePositiveIntOrPercent` and the percent bound; returns the value
/// (a percent counts as its number) for the both-zero check. A bad percent
/// is shown as the whole `IntOrString`: its `String` method has a pointer
/// receiver, so the field error prints the value with `%#v`.
pub(super) fn validate_int_or_percent(value: Option<&IntOrString>, path: &str, errs: &mut Errors) -> i64 {
    match value {
        Some(IntOrString::Int(i)) => {
            errs.non_negative(path, *i as i64);
            *i as i64
        }
        Some(IntOrString::String(s)) => {
            let number = s.strip_suffix('%').filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
            match number.and_then(|n| n.parse::<i64>().ok()) {
                Some(n) => n,
                None => {
                    errs.invalid(
                        path,
                        &go_int_or_string(value),
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    );
                    0
                }
            }
        }
        None => 0,
    }
}

pub(super) fn not_more_than_100_percent(value: Option<&IntOrString>, path: &str, errs: &mut Errors) {
    if let Some(IntOrString::String(s)) = value {
        if let Some(n) = s.strip_suffix('%').and_then(|n| n.parse::<i64>().ok()) {
            if n > 100 {
                errs.invalid(path, &go_int_or_string(value), "must not be greater than 100%");
            }
        }
    }
}

pub fn validate_deployment(d: &Deployment, errs: &mut Errors) {
    let spec = d.spec.clone().unwrap_or_default();
    errs.non_negative("spec.replicas", spec.replicas.unwrap_or(1) as i64);
    validate_required_selector(&spec.selector, &spec.template, "spec", errs);
    validate_replica_template(&spec.template, errs);
    let strategy = spec.strategy.clone().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or("") {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                errs.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
            }
        }
        "RollingUpdate" => match &strategy.rolling_update {
            None => errs.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"),
            Some(rolling) => {
                let path = "spec.strategy.rollingUpdate";
                let unavailable = validate_int_or_percent(rolling.max_unavailable.as_ref(), &format!("{path}.maxUnavailable"), errs);
                let surge = validate_int_or_percent(rolling.max_surge.as_ref(), &format!("{path}.maxSurge"), errs);
                if unavailable == 0 && surge == 0 {
                    errs.invalid(
                        &format!("{path}.maxUnavailable"),
                        &go_int_or_string(rolling.max_unavailable.as_ref()),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100_percent(rolling.max_unavailable.as_ref(), &format!("{path}.maxUnavailable"), errs);
            }
        },
        other => errs.unsupported("spec.strategy", other, &["Recreate", "RollingUpdate"]),
    }
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0) as i64);
    if let Some(limit) = spec.revision_history_limit {
        errs.non_negative("spec.revisionHistoryLimit", limit as i64);
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        errs.non_negative("spec.progressDeadlineSeconds", deadline as i64);
        if deadline <= spec.min_ready_seconds.unwrap_or(0) {
            errs.invalid_int("spec.progressDeadlineSeconds", deadline as i64, "must be greater than minReadySeconds");
        }
    }
}

pub fn validate_replica_set(rs: &ReplicaSet, errs: &mut Errors) {
    let spec = rs.spec.clone().unwrap_or_default();
    errs.non_negative("spec.replicas", spec.replicas.unwrap_or(1) as i64);
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0) as i64);
    let template = spec.template.clone().unwrap_or_default();
    validate_required_selector(&spec.selector, &template, "spec", errs);
    validate_replica_template(&template, errs);
}

pub fn validate_replication_controller(rc: &ReplicationController, errs: &mut Errors) {
    let spec = rc.spec.clone().unwrap_or_default();
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0) as i64);
    let selector = spec.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        errs.required("spec.selector", "");
    }
    errs.non_negative("spec.replicas", spec.replicas.unwrap_or(1) as i64);
    let Some(template) = &spec.template else {
        errs.required("spec.template", "");
        return;
    };
    if !selector.is_empty() && !Selector::from_map(&selector).matches(template_labels(template)) {
        errs.invalid("spec.template.metadata.labels", &go_map(template_labels(template)), "`selector` does not match template `labels`");
    }
    validate_pod_template(template, "spec.template", errs);
    restart_always_only(template, "spec", errs);
    no_active_deadline(template, "spec", "ReplicationController", errs);
}

pub fn validate_daemon_set(ds: &DaemonSet, errs: &mut Errors) {
    let spec = ds.spec.clone().unwrap_or_default();
    validate_label_selector(&spec.selector, "spec.selector", errs);
    check_selector_matches_template(&spec.selector, &spec.template, "spec", errs);
    validate_pod_template(&spec.template, "spec.template", errs);
    restart_always_only(&spec.template, "spec", errs);
    no_active_deadline(&spec.template, "spec", "DaemonSet", errs);
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0) as i64);
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or("") {
        "OnDelete" => {}
        "RollingUpdate" => {
            if let Some(rolling) = &strategy.rolling_update {
                let path = "spec.updateStrategy.rollingUpdate";
                let unavailable = validate_int_or_percent(rolling.max_unavailable.as_ref(), &format!("{path}.maxUnavailable"), errs);
                let surge = validate_int_or_percent(rolling.max_surge.as_ref(), &format!("{path}.maxSurge"), errs);
                if unavailable == 0 && surge == 0 {
                    errs.invalid(
                        &format!("{path}.maxUnavailable"),
                        &go_int_or_string(rolling.max_unavailable.as_ref()),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
            } else {
                errs.required("spec.updateStrategy.rollingUpdate", "");
            }
        }
        other => errs.unsupported("spec.updateStrategy", other, &["OnDelete", "RollingUpdate"]),
    }
    if let Some(limit) = spec.revision_history_limit {
        errs.non_negative("spec.revisionHistoryLimit", limit as i64);
    }
}

pub fn validate_stateful_set(sts: &StatefulSet, errs: &mut Errors) {
    let spec = sts.spec.clone().unwrap_or_default();
    match spec.pod_management_policy.as_deref().unwrap_or("") {
        "" => errs.required("spec.podManagementPolicy", ""),
        "OrderedReady" | "Parallel" => {}
        other => errs.invalid_str("spec.podManagementPolicy", other, "must be 'OrderedReady' or 'Parallel'"),
    }
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or("") {
        "" => errs.required("spec.updateStrategy", ""),
        "OnDelete" => {
            if let Some(rolling) = &strategy.rolling_update {
                // field.Invalid prints the pointer's value with %#v; the
                // strategy dropped maxUnavailable (its gate is off in 1.33).
                let value = format!("apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:(*intstr.IntOrString)(nil)}}", rolling.partition.unwrap_or(0));
                errs.invalid("spec.updateStrategy.rollingUpdate", &value, "only allowed for updateStrategy 'RollingUpdate'");
            }
        }
        "RollingUpdate" => {
            if let Some(partition) = strategy.rolling_update.as_ref().and_then(|r| r.partition) {
                errs.non_negative("spec.updateStrategy.rollingUpdate.partition", partition as i64);
            }
        }
        other => {
            // A set rolling update would print as its pointer's address.
            let rolling = if strategy.rolling_update.is_some() { "(*apps.RollingUpdateStatefulSetStrategy)(0xc000...)" } else { "(*apps.RollingUpdateStatefulSetStrategy)(nil)" };
            let value = format!("apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{rolling}}}", quote(other));
            errs.invalid("spec.updateStrategy", &value, "must be 'RollingUpdate' or 'OnDelete'")
        }
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let path = "spec.persistentVolumeClaimRetentionPolicy";
        errs.one_of(&format!("{path}.whenDeleted"), policy.when_deleted.as_deref(), &["Retain", "Delete"]);
        errs.one_of(&format!("{path}.whenScaled"), policy.when_scaled.as_deref(), &["Retain", "Delete"]);
    }
    errs.non_negative("spec.replicas", spec.replicas.unwrap_or(1) as i64);
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0) as i64);
    if let Some(ordinals) = &spec.ordinals {
        errs.non_negative("spec.ordinals.start", ordinals.start.unwrap_or(0) as i64);
    }
    if selector_is_empty(&spec.selector) {
        errs.required("spec.selector", "");
    } else {
        validate_label_selector(&spec.selector, "spec.selector", errs);
    }
    check_selector_matches_template(&spec.selector, &spec.template, "spec", errs);
    // 1.33 checks only the template's labels and annotations here, not its
    // pod spec: the volumes a claim template provides would not be found. A
    // pod the template cannot make fails when the controller creates it.
    let template_meta = spec.template.metadata.clone().unwrap_or_default();
    validate_labels(template_meta.labels.as_ref(), "spec.template.labels", errs);
    super::validate_annotations(template_meta.annotations.as_ref(), "spec.template.annotations", errs);
    restart_always_only(&spec.template, "spec", errs);
    if spec.template.spec.as_ref().is_some_and(|s| s.active_deadline_seconds.is_some()) {
        errs.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported");
    }
}

pub fn validate_stateful_set_update(sts: &StatefulSet, old: &StatefulSet, errs: &mut Errors) {
    let mut spec = sts.spec.as_deref().cloned().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    spec.replicas = old_spec.replicas;
    spec.template = old_spec.template.clone();
    spec.update_strategy = old_spec.update_strategy.clone();
    spec.min_ready_seconds = old_spec.min_ready_seconds;
    spec.ordinals = old_spec.ordinals.clone();
    spec.revision_history_limit = old_spec.revision_history_limit;
    spec.persistent_volume_claim_retention_policy = old_spec.persistent_volume_claim_retention_policy.clone();
    if spec != *old_spec {
        errs.forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

pub fn immutable_selector(new: Option<&LabelSelector>, old: Option<&LabelSelector>, errs: &mut Errors) {
    if new != old {
        let shown = new.map_or("null".to_string(), go_label_selector);
        errs.invalid("spec.selector", &shown, "field is immutable");
    }
}

/// `validateJobSpec`: what a Job and a CronJob's job template share.
fn validate_job_spec(spec: &JobSpec, path: &str, errs: &mut Errors) {
    for (field, value) in [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished.map(i64::from)),
    ] {
        if let Some(v) = value {
            errs.non_negative(&format!("{path}.{field}"), v);
        }
    }
    if let Some(mode) = spec.completion_mode.as_deref() {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.unsupported(&format!("{path}.completionMode"), mode, &["NonIndexed", "Indexed"]);
        }
        if mode == "Indexed" && spec.completions.is_none() {
            errs.required(&format!("{path}.completions"), "when completion mode is Indexed");
        }
    }
    job_policies::validate_index_limits(spec, path, errs);
    job_policies::validate_policies(spec, path, errs);
    validate_pod_template(&spec.template, &format!("{path}.template"), errs);
    let policy = spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("");
    match policy {
        "" | "Always" => errs.required(&format!("{path}.template.spec.restartPolicy"), "valid values: \"OnFailure\", \"Never\""),
        "Never" => {}
        "OnFailure" if spec.pod_failure_policy.is_none() => {}
        "OnFailure" => errs.invalid_str(&format!("{path}.template.spec.restartPolicy"), "OnFailure", "only \"Never\" is supported when podFailurePolicy is specified"),
        other => errs.unsupported(&format!("{path}.template.spec.restartPolicy"), other, &["OnFailure", "Never"]),
    }
}

pub fn validate_job(job: &Job, errs: &mut Errors) {
    let spec = job.spec.clone().unwrap_or_default();
    if spec.manual_selector != Some(true) {
        validate_generated_selector(job, &spec, errs);
    }
    validate_job_spec(&spec, "spec", errs);
    if let (Some("Indexed"), Some(c)) = (spec.completion_mode.as_deref(), spec.completions.filter(|c| *c > 0)) {
        // Pod hostnames are `<job>-<index>`.
        let name = job.metadata.name.as_deref().unwrap_or("");
        let hostname = format!("{name}-{}", c - 1);
        if !super::dns1123_label(&hostname).is_empty() {
            errs.invalid_str("metadata.name", name, &format!("will not able to create pod with invalid DNS label: {hostname}"));
        }
    }
    match &spec.selector {
        None => errs.required("spec.selector", ""),
        Some(selector) => validate_label_selector(selector, "spec.selector", errs),
    }
    if let Some(selector) = &spec.selector {
        if !Selector::from_api(selector).matches(template_labels(&spec.template)) {
            errs.invalid("spec.template.metadata.labels", &go_map(template_labels(&spec.template)), "`selector` does not match template `labels`");
        }
    }
}

fn validate_generated_selector(job: &Job, spec: &JobSpec, errs: &mut Errors) {
    let Some(labels) = template_labels(&spec.template) else {
        errs.required("spec.template.metadata.labels", "");
        return;
    };
    let Some(selector) = &spec.selector else { return };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    if uid.is_empty() {
        errs.required("metadata.uid", "");
    }
    for (label, expected) in [
        ("controller-uid", &uid),
        ("job-name", &name),
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
    ] {
        let field = format!("spec.template.metadata.labels[{label}]");
        match labels.get(label) {
            None => errs.required(&field, ""),
            Some(actual) if actual != expected => errs.invalid(&field, &go_map(Some(labels)), &format!("must be '{expected}'")),
            Some(_) => {}
        }
    }
    let expected = BTreeMap::from([("batch.kubernetes.io/controller-uid".to_string(), uid)]);
    if !Selector::from_api(selector).matches(Some(&expected)) {
        errs.invalid("spec.selector", &go_label_selector(selector), "`selector` not auto-generated");
    }
}

pub fn validate_job_update(job: &Job, old: &Job, errs: &mut Errors) {
    let spec = job.spec.clone().unwrap_or_default();
    let old_spec = old.spec.clone().unwrap_or_default();
    if spec.completions != old_spec.completions {
        let shown = spec.completions.map_or("null".to_string(), |c| c.to_string());
        if spec.completion_mode.as_deref() != Some("Indexed") {
            errs.invalid("spec.completions", &shown, "field is immutable");
        } else if spec.completions.is_some() && spec.completions != spec.parallelism {
            // Elastic Indexed Jobs scale completions and parallelism together.
            errs.invalid("spec.completions", &shown, "can only be modified in tandem with spec.parallelism");
        }
    }
    if spec.selector != old_spec.selector {
        immutable_selector(spec.selector.as_ref(), old_spec.selector.as_ref(), errs);
    }
    // A suspended Job that never started may change its scheduling directives; the rest of the template is fixed.
    if spec.template != old_spec.template {
        let mut allowed = spec.template.clone();
        if old_spec.suspend == Some(true) {
            if let (Some(new_pod), Some(old_pod)) = (allowed.spec.as_mut(), old_spec.template.spec.as_ref()) {
                new_pod.node_selector = old_pod.node_selector.clone();
                new_pod.tolerations = old_pod.tolerations.clone();
                new_pod.affinity = old_pod.affinity.clone();
                new_pod.scheduling_gates = old_pod.scheduling_gates.clone();
            }
            if let (Some(new_meta), Some(old_meta)) = (allowed.metadata.as_mut(), old_spec.template.metadata.as_ref()) {
                new_meta.labels = old_meta.labels.clone();
                new_meta.annotations = old_meta.annotations.clone();
            }
        }
        if allowed != old_spec.template {
            errs.invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable");
        }
    }
    if spec.completion_mode != old_spec.completion_mode {
        errs.invalid("spec.completionMode", &quote(spec.completion_mode.as_deref().unwrap_or("")), "field is immutable");
    }
    if spec.pod_failure_policy != old_spec.pod_failure_policy {
        errs.invalid("spec.podFailurePolicy", "batch.PodFailurePolicy{...}", "field is immutable");
    }
    if spec.backoff_limit_per_index != old_spec.backoff_limit_per_index {
        errs.invalid("spec.backoffLimitPerIndex", &spec.backoff_limit_per_index.map_or("null".to_string(), |v| v.to_string()), "field is immutable");
    }
    if spec.managed_by != old_spec.managed_by {
        errs.invalid("spec.managedBy", &spec.managed_by.as_deref().map_or("null".to_string(), quote), "field is immutable");
    }
    if spec.success_policy != old_spec.success_policy {
        errs.invalid("spec.successPolicy", "batch.SuccessPolicy{...}", "field is immutable");
    }
}

pub fn validate_cron_job(cj: &CronJob, errs: &mut Errors) {
    validate_cron_job_spec(cj, None, errs);
    if let Some(name) = cj.metadata.name.as_deref() {
        // Job names add an 11-character suffix and must stay valid labels.
        if name.len() > 52 {
            errs.invalid_str("metadata.name", name, "must be no more than 52 characters");
        }
    }
}

pub fn validate_cron_job_update(cj: &CronJob, old: &CronJob, errs: &mut Errors) {
    validate_cron_job_spec(cj, Some(old), errs);
}

/// `validateCronJobSpec`: the schedule as robfig/cron parses it, the time zone, the rest.
fn validate_cron_job_spec(cj: &CronJob, old: Option<&CronJob>, errs: &mut Errors) {
    let spec = cj.spec.clone().unwrap_or_default();
    let old_spec = old.and_then(|o| o.spec.clone());
    if spec.schedule.is_empty() {
        errs.required("spec.schedule", "");
    } else {
        if let Err(e) = crate::engine::cron::parse_standard(&spec.schedule) {
            errs.invalid_str("spec.schedule", &spec.schedule, &e);
        }
        let tz_allowed = old_spec.as_ref().is_some_and(|o| o.schedule.contains("TZ"));
        if tz_allowed && spec.schedule.contains("TZ") && spec.time_zone.is_some() {
            errs.invalid_str("spec.schedule", &spec.schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule");
        } else if !tz_allowed && spec.schedule.contains("TZ") {
            errs.invalid_str("spec.schedule", &spec.schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
        }
    }
    if let Some(limit) = spec.starting_deadline_seconds {
        errs.non_negative("spec.startingDeadlineSeconds", limit);
    }
    if old_spec.as_ref().is_none_or(|o| o.time_zone != spec.time_zone) {
        validate_time_zone(spec.time_zone.as_deref(), errs);
    }
    match spec.concurrency_policy.as_deref().unwrap_or("") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.required("spec.concurrencyPolicy", ""),
        other => errs.unsupported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"]),
    }
    let template = spec.job_template.spec.clone().unwrap_or_default();
    validate_job_spec(&template, "spec.jobTemplate.spec", errs);
    if let Some(selector) = &template.selector {
        errs.invalid("spec.jobTemplate.spec.selector", &go_label_selector(selector), "`selector` will be auto-generated");
    }
    if template.manual_selector == Some(true) {
        errs.unsupported("spec.jobTemplate.spec.manualSelector", "true", &["nil", "false"]);
    }
    for (field, value) in [
        ("successfulJobsHistoryLimit", spec.successful_jobs_history_limit),
        ("failedJobsHistoryLimit", spec.failed_jobs_history_limit),
    ] {
        if let Some(v) = value {
            errs.non_negative(&format!("spec.{field}"), v as i64);
        }
    }
}

/// `validateTimeZone`: an IANA name the database knows.
fn validate_time_zone(time_zone: Option<&str>, errs: &mut Errors) {
    let Some(tz) = time_zone else { return };
    if tz.is_empty() {
        errs.invalid_str("spec.timeZone", tz, "timeZone must be nil or non-empty string");
        return;
    }
    let part_ok = |p: &str| {
        p != "." && p != ".." && !p.starts_with('-') && (1..=14).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric() || b".-_+".contains(&c))
    };
    if !tz.split('/').all(part_ok) {
        errs.invalid_str("spec.timeZone", tz, &format!("unknown time zone {tz}"));
        return;
    }
    if tz.eq_ignore_ascii_case("Local") {
        errs.invalid_str("spec.timeZone", tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones");
    }
    if let Err(e) = crate::engine::cron::load_location(tz) {
        errs.invalid_str("spec.timeZone", tz, &e);
    }
}
