//! The Job controller (`pkg/controller/job`): runs pods until `completions`
//! succeed (or, without completions, until one succeeds and the rest
//! finish), `parallelism` at a time; replaces failed pods after an
//! exponential back-off (10 s doubling, at most 10 min, as the controller's
//! `MaxJobPodFailureBackOff`); gives up past `backoffLimit` or
//! `activeDeadlineSeconds`, or when a `podFailurePolicy` rule says so.
//!
//! Finished pods are counted exactly once through the
//! `batch.kubernetes.io/job-tracking` finalizer and
//! `status.uncountedTerminatedPods`. Terminal conditions come in two steps,
//! as in 1.33: `FailureTarget` or `SuccessCriteriaMet` first, then `Failed`
//! or `Complete` once no pod is left terminating. Indexed jobs give each
//! pod a completion index (annotation, label, hostname, env) and track
//! `completedIndexes`. Pod events reach a job after the controller's 1 s
//! batching period.

use crate::engine::sort::SortStable;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus, PodFailurePolicy, UncountedTerminatedPods};
use crate::engine::api::shared_spec::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, EnvVar, EnvVarSource, ObjectFieldSelector};
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{NORMAL, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::pod_control::{Expectations, PodControl};
use super::util;
use super::{Cache, Changes, Reconciler, WorkLoop};

pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
const INDEX_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-failure-count";
const INDEX_IGNORED_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-ignored-failure-count";
/// The `managedBy` value that leaves a Job to this controller.
const JOB_CONTROLLER_NAME: &str = "kubernetes.io/job-controller";
const POD_FAILURE_BACKOFF_MS: u64 = 10_000;
const MAX_POD_FAILURE_BACKOFF_MS: u64 = 600_000;
/// Pod events reach a Job this long after they happen (`syncJobBatchPeriod`).
const SYNC_BATCH_MS: u64 = 1_000;
/// Most pods created or deleted in one sync (`MaxPodCreateDeletePerSync`).
const MAX_CREATE_DELETE: usize = 500;
/// Orphaned pods whose finalizer is removed per run.
const ORPHANS_PER_RUN: usize = 256;

/// Failures since the last success, for the replacement back-off (`backoffRecord`).
#[derive(Clone, Copy, Default)]
struct Backoff {
    failures: u32,
    last_failure: Option<VirtualTime>,
}

impl Backoff {
    /// How long pod creation must still wait.
    fn remaining_ms(&self, now: VirtualTime) -> u64 {
        match self.last_failure {
            Some(last) => remaining_after_failures(self.failures, last, now),
            None => 0,
        }
    }
}

/// The back-off left after `failures` failures, the last at `last` (`getRemainingTimeForFailuresCount`).
fn remaining_after_failures(failures: u32, last: VirtualTime, now: VirtualTime) -> u64 {
    if failures == 0 {
        return 0;
    }
    let mut delay = POD_FAILURE_BACKOFF_MS;
    for _ in 1..failures {
        delay = delay.saturating_mul(2);
        if delay >= MAX_POD_FAILURE_BACKOFF_MS {
            delay = MAX_POD_FAILURE_BACKOFF_MS;
            break;
        }
    }
    delay.saturating_sub(now.millis_since(last))
}

pub struct JobController {
    work: WorkLoop,
    pods: PodControl,
    expectations: Expectations,
    backoff: HashMap<ObjectKey, Backoff>,
    /// Pods whose job is gone or finished and that still carry the finalizer.
    orphans: BTreeSet<ObjectKey>,
    /// The generation each job was last seen with.
    generations: HashMap<ObjectKey, i64>,
}

impl Default for JobController {
    fn default() -> Self {
        Self::new()
    }
}

fn condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status.conditions.iter().flatten().find(|c| c.type_ == type_)
}

fn condition_true(status: &JobStatus, type_: &str) -> bool {
    condition(status, type_).is_some_and(|c| c.status == "True")
}

pub fn is_finished(job: &Job) -> bool {
    job.status.as_ref().is_some_and(|s| condition_true(s, "Complete") || condition_true(s, "Failed"))
}

fn new_condition(type_: &str, status: &str, reason: &str, message: &str, now: VirtualTime) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(meta::api_time(now)),
        last_transition_time: Some(meta::api_time(now)),
    }
}

/// `ensureJobConditionStatus`: whether the list changed.
fn ensure_condition(status: &mut JobStatus, type_: &str, value: &str, reason: &str, message: &str, now: VirtualTime) -> bool {
    if value == "False" && status.conditions.as_ref().is_none_or(|cs| cs.iter().all(|c| c.type_ != type_)) {
        // Going from no condition to False says nothing.
        return false;
    }
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value || c.reason.as_deref() != Some(reason) || c.message.as_deref() != Some(message) {
            *c = new_condition(type_, value, reason, message, now);
            return true;
        }
        return false;
    }
    if value != "False" {
        conditions.push(new_condition(type_, value, reason, message, now));
        return true;
    }
    false
}

fn has_tracking(p: &Pod) -> bool {
    p.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

fn only_replace_failed(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.pod_replacement_policy.as_deref()) == Some("Failed") || spec.is_some_and(|s| s.pod_failure_policy.is_some())
}

/// Counted as failed: the Failed phase, or (unless only failed pods are
/// replaced) deleted before succeeding, as orphans may never report a phase.
fn pod_failed(p: &Pod, job: &Job) -> bool {
    if util::pod_phase(p) == "Failed" {
        return true;
    }
    !only_replace_failed(job) && p.metadata.deletion_timestamp.is_some() && util::pod_phase(p) != "Succeeded"
}

fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// A pod's completion index, if it has a valid one.
pub fn completion_index(p: &Pod) -> Option<i32> {
    let v = p.metadata.annotations.as_ref()?.get(COMPLETION_INDEX)?;
    v.parse::<i32>().ok().filter(|i| *i >= 0)
}

/// When a pod finished (`getFinishedTime`): the last exit once every
/// container has exited, else when it stopped being ready, else its
/// deletion less the grace period, else its creation.
fn finished_at(p: &Pod, now: VirtualTime) -> VirtualTime {
    let status = p.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or(&[]);
    let exits: Option<Vec<VirtualTime>> =
        statuses.iter().map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref().map(meta::virtual_of)).collect();
    if let Some(last) = exits.and_then(|e| e.into_iter().max()) {
        return last;
    }
    let not_ready = status.into_iter().flat_map(|s| s.conditions.iter().flatten()).find(|c| c.type_ == "Ready" && c.status == "False");
    if let Some(t) = not_ready.and_then(|c| c.last_transition_time.as_ref()) {
        return meta::virtual_of(t);
    }
    if let Some(t) = p.metadata.deletion_timestamp.as_ref() {
        let grace = p.metadata.deletion_grace_period_seconds.unwrap_or(0).max(0) as u64;
        return VirtualTime::from_millis(meta::virtual_of(t).as_millis().saturating_sub(grace * 1000));
    }
    p.metadata.creation_timestamp.as_ref().map(meta::virtual_of).unwrap_or(now)
}

fn has_backoff_limit_per_index(job: &Job) -> bool {
    is_indexed(job) && job.spec.as_ref().is_some_and(|s| s.backoff_limit_per_index.is_some())
}

/// A count annotation; missing, malformed or out-of-range values count as 0.
fn count_annotation(p: &Pod, key: &str) -> u32 {
    let value = p.metadata.annotations.as_ref().and_then(|a| a.get(key));
    value.and_then(|v| v.parse::<i64>().ok()).filter(|v| (0..=i32::MAX as i64).contains(v)).map_or(0, |v| v as u32)
}

/// Whether this pod's failure uses up its index's last try (`isIndexFailed`).
fn is_index_failed(job: &Job, p: &Pod) -> bool {
    if !pod_failed(p, job) {
        return false;
    }
    let spec = job.spec.as_ref();
    let (_, counts, action) = match_failure_policy(spec.and_then(|s| s.pod_failure_policy.as_ref()), p);
    if action == Some("FailIndex") {
        return true;
    }
    let limit = spec.and_then(|s| s.backoff_limit_per_index).unwrap_or(0).max(0) as u32;
    counts && count_annotation(p, INDEX_FAILURE_COUNT) >= limit
}

/// The failure counts a pod replacing `replaced` carries (`getNewIndexFailureCounts`).
fn next_index_failure_counts(job: &Job, replaced: Option<&Pod>) -> (u32, u32) {
    let Some(p) = replaced else { return (0, 0) };
    let (mut counted, mut ignored) = (count_annotation(p, INDEX_FAILURE_COUNT), count_annotation(p, INDEX_IGNORED_FAILURE_COUNT));
    if match_failure_policy(job.spec.as_ref().and_then(|s| s.pod_failure_policy.as_ref()), p).1 {
        counted += 1;
    } else {
        ignored += 1;
    }
    (counted, ignored)
}

/// `matchSuccessPolicy`: the condition message of the first rule the succeeded indexes meet.
fn match_success_policy(job: &Job, succeeded: &BTreeSet<i32>) -> Option<String> {
    let spec = job.spec.as_ref()?;
    let policy = spec.success_policy.as_ref()?;
    if succeeded.is_empty() {
        return None;
    }
    let completions = spec.completions.unwrap_or(0);
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = if let Some(text) = rule.succeeded_indexes.as_deref() {
            let required = parse_indexes(text, completions);
            if required.is_empty() {
                continue;
            }
            let contains = required.intersection(succeeded).count();
            contains == required.len() || rule.succeeded_count.is_some_and(|c| contains as i64 >= c as i64)
        } else {
            rule.succeeded_count.is_some_and(|c| succeeded.len() as i64 >= c as i64)
        };
        if matched {
            return Some(format!("Matched rules at index {index}"));
        }
    }
    None
}

/// Whether another controller manages this Job (`managedByExternalController`).
fn managed_elsewhere(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.managed_by.as_deref()).is_some_and(|m| m != JOB_CONTROLLER_NAME)
}

/// What a pod failure policy says of a failed pod (`matchPodFailurePolicy`):
/// the job's failure message if it fails the job, whether the failure
/// counts, and the action that matched.
fn match_failure_policy<'a>(policy: Option<&'a PodFailurePolicy>, pod: &Pod) -> (Option<String>, bool, Option<&'a str>) {
    let Some(policy) = policy else { return (None, true, None) };
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let status = pod.status_for_call();
    for (index, rule) in policy.rules.iter().enumerate() {
        let action = rule.action.as_str();
        if let Some(req) = &rule.on_exit_codes {
            let matching = |statuses: &Option<Vec<ContainerStatus>>| -> Option<(String, i32)> {
                statuses.iter().flatten().find_map(|c| {
                    let t = c.state.as_ref()?.terminated.as_ref()?;
                    let named = req.container_name.as_deref().is_none_or(|n| n == c.name);
                    let listed = req.values.contains(&t.exit_code);
                    let operator_ok = if req.operator == "In" { listed } else { !listed };
                    (named && t.exit_code != 0 && operator_ok).then(|| (c.name.clone(), t.exit_code))
                })
            };
            if let Some((container, code)) = matching(&status.container_statuses).or_else(|| matching(&status.init_container_statuses)) {
                match action {
                    "Ignore" => return (None, false, Some(action)),
                    "Count" | "FailIndex" => return (None, true, Some(action)),
                    "FailJob" => {
                        let msg = format!("Container {container} for pod {ns}/{name} failed with exit code {code} matching FailJob rule at index {index}");
                        return (Some(msg), true, Some(action));
                    }
                    _ => {}
                }
            }
        } else if let Some(patterns) = &rule.on_pod_conditions {
            let matched = status.conditions.iter().flatten().find(|c| patterns.iter().any(|p| p.type_ == c.type_ && p.status == c.status));
            if let Some(cond) = matched {
                match action {
                    "Ignore" => return (None, false, Some(action)),
                    "Count" | "FailIndex" => return (None, true, Some(action)),
                    "FailJob" => {
                        let msg = format!("Pod {ns}/{name} has condition {} matching FailJob rule at index {index}", cond.type_);
                        return (Some(msg), true, Some(action));
                    }
                    _ => {}
                }
            }
        }
    }
    (None, true, None)
}

/// Container restarts of running pods against the limit, for `OnFailure` (`pastBackoffLimitOnFailure`).
fn past_backoff_limit_on_failure(job: &Job, pods: &[&Pod]) -> bool {
    let spec = job.spec.clone().unwrap_or_default();
    if spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) != Some("OnFailure") {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter(|p| matches!(util::pod_phase(p), "Running" | "Pending"))
        .flat_map(|p| p.status.iter().flat_map(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten())))
        .map(|c| c.restart_count)
        .sum();
    let limit = spec.backoff_limit.unwrap_or(6);
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// `0-2,4` as a set of indexes below `completions` (`parseIndexesFromString`).
pub fn parse_indexes(text: &str, completions: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) else { continue };
        for i in a.max(0)..=b.min(completions.saturating_sub(1)) {
            out.insert(i);
        }
    }
    out
}

/// The set as intervals, `0-2,4,5` (`orderedIntervals.String`: a run of
/// two is written as two numbers).
pub fn format_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(i32, i32)> = None;
    for &i in indexes {
        run = match run {
            Some((a, b)) if i == b + 1 => Some((a, i)),
            Some((a, b)) => {
                parts.push(interval_text(a, b));
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }
    if let Some((a, b)) = run {
        parts.push(interval_text(a, b));
    }
    parts.join(",")
}

fn interval_text(first: i32, last: i32) -> String {
    match last - first {
        0 => first.to_string(),
        1 => format!("{first},{last}"),
        _ => format!("{first}-{last}"),
    }
}

/// What one sync worked out about a job (`syncJobCtx`).
struct JobCtx<'a> {
    pods: Vec<&'a Pod>,
    uncounted_succeeded: BTreeSet<String>,
    uncounted_failed: BTreeSet<String>,
    terminating: i32,
    ready: i32,
    finished: Option<JobCondition>,
    prev_succeeded_indexes: BTreeSet<i32>,
    succeeded_indexes: BTreeSet<i32>,
    /// With a backoff limit per index: the indexes out of tries.
    failed_indexes: Option<BTreeSet<i32>>,
    /// With a backoff limit per index: the last failed pod of each index
    /// waiting for its replacement, kept until the replacement carries
    /// its failure count (`podsWithDelayedDeletionPerIndex`).
    delayed: BTreeMap<i32, &'a Pod>,
}

impl JobController {
    pub fn new() -> Self {
        JobController {
            work: WorkLoop::default(),
            pods: PodControl::new("job-controller"),
            expectations: Expectations::default(),
            backoff: HashMap::new(),
            orphans: BTreeSet::new(),
            generations: HashMap::new(),
        }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes, now: VirtualTime) {
        for ev in changes.of(ids::jobs()) {
            let key = ObjectKey::of(&ev.object);
            let Object::Job(job) = &*ev.object else { continue };
            if ev.kind == WatchEventType::Deleted {
                self.backoff.remove(&key);
                self.expectations.forget(&key);
                self.generations.remove(&key);
                self.orphan_pods_of(cache, job);
                continue;
            }
            if is_finished(job) {
                self.orphan_pods_of(cache, job);
            }
            // A spec change syncs at once; status writes wait for the batching period.
            let generation = job.metadata.generation.unwrap_or(0);
            if self.generations.insert(key.clone(), generation) == Some(generation) {
                self.work.queue.add_at(key, now.plus_millis(SYNC_BATCH_MS));
            } else {
                self.work.queue.add(key);
            }
        }
        let jobs = cache.of(ids::jobs());
        for ev in changes.of(ids::pods()) {
            let Object::Pod(p) = &*ev.object else { continue };
            let Some(owner) = meta::controller_of(p.metadata.owner_references.as_ref()).filter(|r| r.kind == "Job") else { continue };
            let key = ObjectKey::new(p.metadata.namespace.clone().unwrap_or_default(), owner.name.clone());
            let job = jobs.get(&key).filter(|j| j.meta().uid.as_deref() == Some(owner.uid.as_str()));
            let live = matches!(job.map(|j| &**j), Some(Object::Job(j)) if !is_finished(j));
            if !live {
                if has_tracking(p) && ev.kind != WatchEventType::Deleted {
                    self.orphans.insert(ObjectKey::of(&ev.object));
                }
                continue;
            }
            match ev.kind {
                WatchEventType::Added if p.metadata.deletion_timestamp.is_none() => self.expectations.creation_observed(&key),
                _ if ev.kind == WatchEventType::Deleted || util::is_terminating(p) => {
                    self.expectations.deletion_observed(&key, p.metadata.uid.as_deref().unwrap_or(""))
                }
                _ => {}
            }
            self.work.queue.add_at(key, now.plus_millis(SYNC_BATCH_MS));
        }
    }

    fn orphan_pods_of(&mut self, cache: &Cache, job: &Job) {
        let uid = job.metadata.uid.clone().unwrap_or_default();
        for o in cache.of(ids::pods()).controlled_by(&uid) {
            if let Object::Pod(p) = &*o {
                if has_tracking(p) {
                    self.orphans.insert(ObjectKey::of(&o));
                }
            }
        }
    }

    /// Drops the tracking finalizer; `Ok(false)` when the pod is gone.
    fn remove_tracking(&self, ctx: &mut Ctx, p: &Pod) -> Result<bool, ApiError> {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        let uid = p.metadata.uid.clone();
        match ctx.api.modify(ids::pods(), &ns, &name, false, |o| {
            let m = o.meta_mut();
            if m.uid != uid {
                return false;
            }
            let Some(f) = m.finalizers.as_mut() else { return false };
            let before = f.len();
            f.retain(|x| x != TRACKING_FINALIZER);
            let changed = before != f.len();
            if f.is_empty() {
                m.finalizers = None;
            }
            changed
        }) {
            Ok(_) => Ok(true),
            Err(e) if e.reason == Reason::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn sync_job(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::Job(shared)) = cache.of(ids::jobs()).get(key).map(|o| &**o) else {
            self.backoff.remove(key);
            self.expectations.forget(key);
            return Ok(None);
        };
        if managed_elsewhere(shared) {
            return Ok(None);
        }
        if is_finished(shared) {
            self.backoff.remove(key);
            return Ok(None);
        }
        let mut job = shared.clone();
        let now = ctx.now;
        let job_obj = Object::Job(job.clone());
        let spec = job.spec.clone().unwrap_or_default();
        let old_status = job.status.clone().unwrap_or_default();
        let mut status = old_status.clone();
        let uncounted = status.uncounted_terminated_pods.get_or_insert_with(UncountedTerminatedPods::default).clone();
        let satisfied = self.expectations.satisfied(key, now);
        let owned = cache.of(ids::pods()).controlled_by(job.metadata.uid.as_deref().unwrap_or(""));
        let pods: Vec<&Pod> = owned.iter().filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None }).collect();
        let completions = spec.completions;
        let indexed = is_indexed(&job);
        let mut jc = JobCtx {
            pods: pods.clone(),
            uncounted_succeeded: uncounted.succeeded.iter().flatten().cloned().collect(),
            uncounted_failed: uncounted.failed.iter().flatten().cloned().collect(),
            terminating: pods.iter().filter(|p| util::is_terminating(p) && !matches!(util::pod_phase(p), "Succeeded" | "Failed")).count() as i32,
            ready: pods.iter().filter(|p| util::is_active(p) && util::is_ready(p)).count() as i32,
            finished: None,
            prev_succeeded_indexes: BTreeSet::new(),
            succeeded_indexes: BTreeSet::new(),
            failed_indexes: None,
            delayed: BTreeMap::new(),
        };
        let active_pods: Vec<&Pod> = pods.iter().copied().filter(|p| util::is_active(p)).collect();
        let mut active = active_pods.len() as i32;
        let valid_index = |p: &Pod| !indexed || completion_index(p).is_some_and(|i| i < completions.unwrap_or(0));
        let uncounted_check = |p: &Pod, set: &BTreeSet<String>| has_tracking(p) && !set.contains(p.metadata.uid.as_deref().unwrap_or("")) && valid_index(p);
        let new_succeeded: Vec<&Pod> = pods.iter().copied().filter(|p| uncounted_check(p, &jc.uncounted_succeeded) && util::pod_phase(p) == "Succeeded").collect();
        let new_failed: Vec<&Pod> = pods.iter().copied().filter(|p| uncounted_check(p, &jc.uncounted_failed) && pod_failed(p, &job)).collect();
        let policy = spec.pod_failure_policy.as_ref();
        let counted_failures = new_failed.iter().filter(|p| match_failure_policy(policy, p).1).count() as i32;
        let mut succeeded = status.succeeded.unwrap_or(0) + new_succeeded.len() as i32 + jc.uncounted_succeeded.len() as i32;
        let failed = status.failed.unwrap_or(0) + counted_failures + jc.uncounted_failed.len() as i32;
        let suspended = spec.suspend.unwrap_or(false);
        if status.start_time.is_none() && !suspended {
            status.start_time = Some(meta::api_time(now));
        }
        let backoff = self.next_backoff(key, &new_succeeded, &new_failed, now);
        let mut requeue: Option<VirtualTime> = None;
        if !satisfied {
            // Creations or deletions that may never be seen: look again when they stop being waited for.
            requeue = self.expectations.expires_at(key);
        }
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        if let Some(c) = condition(&status, "SuccessCriteriaMet").filter(|c| c.status == "True") {
            jc.finished = Some(c.clone());
        }
        if jc.finished.is_none() {
            if let Some(c) = condition(&status, "FailureTarget").filter(|c| c.status == "True") {
                jc.finished = Some(new_condition("Failed", "True", c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or(""), now));
            } else if let Some(message) = pods.iter().filter(|p| pod_failed(p, &job)).find_map(|p| match_failure_policy(policy, p).0) {
                jc.finished = Some(new_condition("FailureTarget", "True", "PodFailurePolicy", &message, now));
            }
        }
        if jc.finished.is_none() {
            let deadline = spec.active_deadline_seconds.zip(status.start_time.as_ref()).map(|(s, t)| meta::virtual_of(t).plus_secs(s.max(0) as u64));
            if failed > backoff_limit || past_backoff_limit_on_failure(&job, &pods) {
                jc.finished = Some(new_condition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now));
            } else if deadline.is_some_and(|d| d <= now) && !suspended {
                jc.finished = Some(new_condition("FailureTarget", "True", "DeadlineExceeded", "Job was active longer than specified deadline", now));
            } else if let Some(d) = deadline.filter(|_| !suspended) {
                requeue = Some(d);
            }
        }
        if indexed {
            let c = completions.unwrap_or(0);
            jc.prev_succeeded_indexes = parse_indexes(status.completed_indexes.as_deref().unwrap_or(""), c);
            jc.succeeded_indexes = jc.prev_succeeded_indexes.clone();
            for p in &pods {
                if util::pod_phase(p) == "Succeeded" && has_tracking(p) {
                    if let Some(i) = completion_index(p).filter(|i| *i < c) {
                        jc.succeeded_indexes.insert(i);
                    }
                }
            }
            succeeded = jc.succeeded_indexes.len() as i32;
            if has_backoff_limit_per_index(&job) {
                let mut failed_indexes = parse_indexes(status.failed_indexes.as_deref().unwrap_or(""), c);
                for p in &pods {
                    if let Some(i) = completion_index(p).filter(|i| *i < c && has_tracking(p) && is_index_failed(&job, p)) {
                        failed_indexes.insert(i);
                    }
                }
                if jc.finished.is_none() {
                    let failed_count = failed_indexes.len() as i32;
                    if spec.max_failed_indexes.is_some_and(|m| failed_count > m) {
                        let message = "Job has exceeded the specified maximal number of failed indexes";
                        jc.finished = Some(new_condition("FailureTarget", "True", "MaxFailedIndexesExceeded", message, now));
                    } else if failed_count > 0 && failed_count + succeeded >= c {
                        jc.finished = Some(new_condition("FailureTarget", "True", "FailedIndexes", "Job has failed indexes", now));
                    }
                }
                jc.failed_indexes = Some(failed_indexes);
                jc.delayed = delayed_per_index(&job, &jc, &active_pods, now);
            }
            if jc.finished.is_none() {
                if let Some(message) = match_success_policy(&job, &jc.succeeded_indexes) {
                    jc.finished = Some(new_condition("SuccessCriteriaMet", "True", "SuccessPolicy", &message, now));
                }
            }
        }
        let mut suspend_changed = false;
        let mut failure: Option<ApiError> = None;
        if jc.finished.is_some() {
            let (deleted, deleted_ready, err) = self.delete_pods(ctx, &job_obj, key, &active_pods, false);
            if deleted != active || !satisfied {
                // Pods or finalizers may remain that the informer has not shown yet.
                jc.finished = None;
            }
            active -= deleted;
            jc.terminating += deleted;
            jc.ready -= deleted_ready;
            failure = err;
        } else {
            let mut managed = false;
            if satisfied && job.metadata.deletion_timestamp.is_none() {
                match self.manage(ctx, &job, &job_obj, key, &mut jc, &active_pods, succeeded, backoff) {
                    Ok((now_active, wait)) => {
                        active = now_active;
                        if let Some(w) = wait {
                            requeue = Some(requeue.map_or(w, |r| r.min(w)));
                        }
                    }
                    Err((now_active, e)) => {
                        active = now_active;
                        failure = Some(e);
                    }
                }
                managed = true;
            }
            let complete = match completions {
                None => succeeded > 0 && active == 0,
                Some(c) => succeeded >= c && active == 0,
            };
            if complete {
                jc.finished = Some(new_condition("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", now));
            } else if managed {
                if suspended {
                    if ensure_condition(&mut status, "Suspended", "True", "JobSuspended", "Job suspended", now) {
                        suspend_changed = true;
                        self.pods.recorder.record(ctx.api, &job_obj, NORMAL, "Suspended", "Job suspended");
                    }
                } else if ensure_condition(&mut status, "Suspended", "False", "JobResumed", "Job resumed", now) {
                    suspend_changed = true;
                    self.pods.recorder.record(ctx.api, &job_obj, NORMAL, "Resumed", "Job resumed");
                    // A resumed job's deadline counts from now.
                    status.start_time = Some(meta::api_time(now));
                }
            }
        }
        let mut needs_flush = suspend_changed
            || util::nonzero(active) != old_status.active
            || Some(jc.ready) != old_status.ready
            || Some(jc.terminating) != old_status.terminating;
        status.active = util::nonzero(active);
        status.ready = Some(jc.ready);
        status.terminating = Some(jc.terminating);
        job.status = Some(status);
        let tracked = self.track_and_remove_finalizers(ctx, &mut job, &mut jc, &mut needs_flush);
        if tracked.is_ok() {
            self.backoff.insert(key.clone(), backoff);
        }
        tracked?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(requeue)
    }

    /// The back-off record after these newly finished pods (`newBackoffRecord`).
    fn next_backoff(&self, key: &ObjectKey, succeeded: &[&Pod], failed: &[&Pod], now: VirtualTime) -> Backoff {
        let mut b = self.backoff.get(key).copied().unwrap_or_default();
        let mut failed_at: Vec<VirtualTime> = failed.iter().map(|p| finished_at(p, now)).collect();
        failed_at.sort_stable();
        if succeeded.is_empty() {
            if let Some(last) = failed_at.last() {
                b.failures += failed_at.len() as u32;
                b.last_failure = Some(*last);
            }
            return b;
        }
        let last_success = succeeded.iter().map(|p| finished_at(p, now)).max().unwrap_or(now);
        let after: Vec<&VirtualTime> = failed_at.iter().filter(|t| **t > last_success).collect();
        Backoff { failures: after.len() as u32, last_failure: after.last().map(|t| **t) }
    }

    /// How long index `i` must still wait after its last failure (`getRemainingTimePerIndex`).
    fn index_wait(&self, jc: &JobCtx, i: i32, now: VirtualTime) -> u64 {
        let Some(last) = jc.delayed.get(&i) else { return 0 };
        let failures = count_annotation(last, INDEX_FAILURE_COUNT) + count_annotation(last, INDEX_IGNORED_FAILURE_COUNT) + 1;
        remaining_after_failures(failures, finished_at(last, now), now)
    }

    /// Brings the active pods to what the spec wants (`manageJob`): the
    /// active count after it, and when to look again if the back-off holds
    /// creation back.
    #[allow(clippy::too_many_arguments)]
    fn manage(
        &mut self,
        ctx: &mut Ctx,
        job: &Job,
        job_obj: &Object,
        key: &ObjectKey,
        jc: &mut JobCtx,
        active_pods: &[&Pod],
        succeeded: i32,
        backoff: Backoff,
    ) -> Result<(i32, Option<VirtualTime>), (i32, ApiError)> {
        let spec = job.spec.clone().unwrap_or_default();
        let mut active = active_pods.len() as i32;
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let suspended = spec.suspend.unwrap_or(false);
        let want = match spec.completions {
            _ if suspended => 0,
            None if succeeded > 0 => active,
            None => parallelism,
            Some(c) => (c - succeeded).min(parallelism).max(0),
        };
        let remove_at_least = (active - want).max(0) as usize;
        let mut victims = pods_for_removal(job, active_pods, remove_at_least, ctx.now);
        if !suspended {
            // A suspended Job removes all its pods at once; otherwise one burst at a time.
            victims.truncate(MAX_CREATE_DELETE);
        }
        if suspended || !victims.is_empty() {
            let (removed, removed_ready, err) = self.delete_pods(ctx, job_obj, key, &victims, true);
            jc.terminating += removed;
            jc.ready -= removed_ready;
            active -= removed;
            return match err {
                Some(e) => Err((active, e)),
                None => Ok((active, None)),
            };
        }
        let terminating = if only_replace_failed(job) { jc.terminating } else { 0 };
        let diff = want - terminating - active;
        if diff <= 0 {
            return Ok((active, None));
        }
        let per_index = has_backoff_limit_per_index(job);
        // With a backoff limit per index each index waits out its own back-off.
        let wait = if per_index { 0 } else { backoff.remaining_ms(ctx.now) };
        if wait > 0 {
            return Ok((active, Some(ctx.now.plus_millis(wait.max(SYNC_BATCH_MS)))));
        }
        let mut count = (diff as usize).min(MAX_CREATE_DELETE);
        let indexes: Vec<i32> = if is_indexed(job) {
            let mut pending = first_pending_indexes(job, jc, active_pods, count);
            if per_index {
                let waits: Vec<(i32, u64)> = pending.iter().map(|i| (*i, self.index_wait(jc, *i, ctx.now))).collect();
                pending = waits.iter().filter(|(_, w)| *w == 0).map(|(i, _)| *i).collect();
                if pending.is_empty() {
                    let soonest = waits.iter().map(|(_, w)| *w).min().unwrap_or(0);
                    return Ok((active, (soonest > 0).then(|| ctx.now.plus_millis(soonest))));
                }
            }
            count = pending.len();
            pending
        } else {
            Vec::new()
        };
        let failure_counts: Vec<(u32, u32)> = indexes.iter().map(|i| next_index_failure_counts(job, jc.delayed.get(i).copied())).collect();
        if count == 0 {
            return Ok((active, None));
        }
        self.expectations.expect_creations(key, count, ctx.now);
        let name = job.metadata.name.clone().unwrap_or_default();
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let owner = util::controller_ref(job_obj);
        let mut template = spec.template.clone();
        if is_indexed(job) {
            add_completion_index_env(&mut template);
        }
        let (created, err) = self.pods.create_batch(ctx, job_obj, count, |i| {
            let mut t = template.clone();
            let mut prefix = format!("{name}-");
            if let Some(ix) = indexes.get(i) {
                let m = t.metadata.get_or_insert_with(Default::default);
                m.annotations.get_or_insert_with(BTreeMap::new).insert(COMPLETION_INDEX.into(), ix.to_string());
                m.labels.get_or_insert_with(BTreeMap::new).insert(COMPLETION_INDEX.into(), ix.to_string());
                if let Some(s) = t.spec.as_mut() {
                    s.hostname = Some(format!("{name}-{ix}"));
                }
                prefix = generate_name_with_index(&name, *ix);
                if per_index {
                    let (counted, ignored) = failure_counts.get(i).copied().unwrap_or_default();
                    let annotations = t.metadata.get_or_insert_with(Default::default).annotations.get_or_insert_with(BTreeMap::new);
                    annotations.insert(INDEX_FAILURE_COUNT.into(), counted.to_string());
                    if ignored > 0 {
                        annotations.insert(INDEX_IGNORED_FAILURE_COUNT.into(), ignored.to_string());
                    }
                }
            }
            let mut pod = util::pod_from_template(&t, &ns, &prefix, owner.clone());
            let finalizers = pod.metadata.finalizers.get_or_insert_with(Vec::new);
            if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
                finalizers.push(TRACKING_FINALIZER.into());
            }
            pod
        });
        self.expectations.creation_failed(key, count - created);
        active += created as i32;
        match err {
            // A terminating namespace refuses every create; nothing to retry.
            Some(e) if e.reason != Reason::Forbidden => Err((active, e)),
            _ => Ok((active, None)),
        }
    }

    /// Deletes pods (`deleteJobPods`, or `deleteActivePods` keeping the
    /// finalizer): how many went, how many of them were ready, and the
    /// first error.
    fn delete_pods(&mut self, ctx: &mut Ctx, job_obj: &Object, key: &ObjectKey, pods: &[&Pod], drop_finalizer: bool) -> (i32, i32, Option<ApiError>) {
        let mut deleted = 0;
        let mut ready = 0;
        let mut error = None;
        if drop_finalizer {
            let uids = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
            self.expectations.expect_deletions(key, uids, ctx.now);
        }
        for p in pods {
            let mut result = Ok(());
            if drop_finalizer && has_tracking(p) {
                result = self.remove_tracking(ctx, p).map(|_| ());
            }
            if result.is_ok() {
                result = self.pods.delete(ctx, job_obj, p);
            }
            match result {
                Ok(()) => deleted += 1,
                Err(e) if e.reason == Reason::NotFound => deleted += 1,
                Err(e) => {
                    self.expectations.deletion_observed(key, p.metadata.uid.as_deref().unwrap_or(""));
                    error.get_or_insert(e);
                }
            }
            if util::is_ready(p) {
                ready += 1;
            }
        }
        (deleted, ready, error)
    }

    /// Counts finished pods into status before releasing their finalizers,
    /// so none is counted twice or lost, then sets the terminal condition
    /// once nothing is left uncounted or terminating
    /// (`trackJobStatusAndRemoveFinalizers`).
    fn track_and_remove_finalizers(&mut self, ctx: &mut Ctx, job: &mut Job, jc: &mut JobCtx, needs_flush: &mut bool) -> Result<(), ApiError> {
        let now = ctx.now;
        let spec = job.spec.clone().unwrap_or_default();
        let indexed = is_indexed(job);
        let completions = spec.completions.unwrap_or(0);
        let deleting = job.metadata.deletion_timestamp.is_some();
        let mut status = job.status.take().unwrap_or_default();
        let mut with_finalizer: BTreeSet<String> = crate::engine::sort::insert_all(jc.pods.iter().filter(|p| has_tracking(p)).filter_map(|p| p.metadata.uid.clone()));
        *needs_flush |= clean_uncounted(&mut status, &with_finalizer);
        let mut to_release: Vec<&Pod> = Vec::new();
        let mut new_indexes: BTreeSet<i32> = BTreeSet::new();
        let mut pods = jc.pods.clone();
        if indexed {
            pods.sort_stable_by_key(|p| completion_index(p).unwrap_or(i32::MAX));
        }
        let finishing_failed = jc.finished.as_ref().is_some_and(|c| c.type_ != "SuccessCriteriaMet");
        for p in pods {
            if !has_tracking(p) {
                continue;
            }
            let uid = p.metadata.uid.clone().unwrap_or_default();
            let failed = pod_failed(p, job);
            let awaits_replacement = completion_index(p).and_then(|i| jc.delayed.get(&i)).is_some_and(|d| d.metadata.uid == p.metadata.uid);
            let releasable = deleting || jc.finished.is_some() || util::pod_phase(p) == "Succeeded" || (failed && !awaits_replacement);
            if !releasable {
                continue;
            }
            to_release.push(p);
            let uncounted = status.uncounted_terminated_pods.get_or_insert_with(Default::default);
            if util::pod_phase(p) == "Succeeded" && !jc.uncounted_failed.contains(&uid) {
                if indexed {
                    if let Some(ix) = completion_index(p).filter(|i| *i < completions && !jc.prev_succeeded_indexes.contains(i)) {
                        new_indexes.insert(ix);
                        *needs_flush = true;
                    }
                } else if !jc.uncounted_succeeded.contains(&uid) {
                    *needs_flush = true;
                    uncounted.succeeded.get_or_insert_with(Vec::new).push(uid.clone());
                }
            } else if failed || finishing_failed {
                let index_ok = !indexed || completion_index(p).is_some_and(|i| i < completions);
                if !jc.uncounted_failed.contains(&uid) && index_ok && match_failure_policy(spec.pod_failure_policy.as_ref(), p).1 {
                    *needs_flush = true;
                    uncounted.failed.get_or_insert_with(Vec::new).push(uid.clone());
                }
            }
        }
        if indexed {
            jc.succeeded_indexes.extend(new_indexes);
            let text = format_indexes(&jc.succeeded_indexes);
            let current = status.completed_indexes.clone().unwrap_or_default();
            if text != current {
                *needs_flush = true;
            }
            status.completed_indexes = (!text.is_empty()).then_some(text);
            status.succeeded = util::nonzero(jc.succeeded_indexes.len() as i32);
            let failed_text = jc.failed_indexes.as_ref().map(format_indexes);
            if status.failed_indexes != failed_text {
                status.failed_indexes = failed_text;
                *needs_flush = true;
            }
        }
        if let Some(c) = jc.finished.clone() {
            if c.type_ == "FailureTarget" {
                status.conditions.get_or_insert_with(Vec::new).push(c.clone());
                *needs_flush = true;
                jc.finished = Some(new_condition("Failed", "True", c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or(""), now));
            } else if c.type_ == "SuccessCriteriaMet" {
                if !condition_true(&status, "SuccessCriteriaMet") {
                    status.conditions.get_or_insert_with(Vec::new).push(c.clone());
                    *needs_flush = true;
                }
                jc.finished = Some(new_condition("Complete", "True", c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or(""), now));
            }
        }
        // First make the uncounted pods known, then let them go.
        job.status = Some(status);
        if *needs_flush {
            self.write_status(ctx, job)?;
            *needs_flush = false;
        }
        let mut release_error = None;
        for p in to_release {
            match self.remove_tracking(ctx, p) {
                Ok(_) => {
                    with_finalizer.remove(p.metadata.uid.as_deref().unwrap_or(""));
                }
                Err(e) => {
                    release_error.get_or_insert(e);
                }
            }
        }
        let mut status = job.status.take().unwrap_or_default();
        *needs_flush |= clean_uncounted(&mut status, &with_finalizer);
        let mut finished_now = false;
        if let Some(c) = jc.finished.clone() {
            let uncounted = status.uncounted_terminated_pods.as_ref().map_or(0, |u| u.succeeded.as_ref().map_or(0, Vec::len) + u.failed.as_ref().map_or(0, Vec::len));
            if uncounted == 0 && jc.terminating == 0 && release_error.is_none() {
                ensure_condition(&mut status, &c.type_, "True", c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or(""), now);
                if c.type_ == "Complete" {
                    status.completion_time = Some(meta::api_time(now));
                }
                finished_now = true;
                *needs_flush = true;
            }
        }
        job.status = Some(status);
        if *needs_flush {
            self.write_status(ctx, job)?;
        }
        if finished_now {
            let job_obj = Object::Job(Box::new(job.clone()));
            match jc.finished.as_ref() {
                Some(c) if c.type_ == "Complete" => {
                    let over = spec.completions.is_some_and(|want| job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0) > want);
                    if over {
                        self.pods.recorder.record(ctx.api, &job_obj, WARNING, "TooManySucceededPods", "Too many succeeded pods running after completion count reached");
                    }
                    self.pods.recorder.record(ctx.api, &job_obj, NORMAL, "Completed", "Job completed");
                }
                Some(c) => {
                    self.pods.recorder.record(ctx.api, &job_obj, WARNING, c.reason.as_deref().unwrap_or(""), c.message.clone().unwrap_or_default());
                }
                None => {}
            }
        }
        match release_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn write_status(&mut self, ctx: &mut Ctx, job: &mut Job) -> Result<(), ApiError> {
        let stored = ctx.api.update_status(Object::Job(Box::new(job.clone())))?;
        if let Object::Job(j) = &*stored {
            *job = *j.clone();
        }
        Ok(())
    }

    /// Strips the finalizer of pods whose job is finished or gone (`syncOrphanPod`).
    fn release_orphans(&mut self, ctx: &mut Ctx, cache: &Cache) {
        let keys: Vec<ObjectKey> = self.orphans.iter().take(ORPHANS_PER_RUN).cloned().collect();
        let jobs = cache.of(ids::jobs());
        for key in keys {
            self.orphans.remove(&key);
            let Some(Object::Pod(p)) = cache.of(ids::pods()).get(&key).map(|o| &**o) else { continue };
            if let Some(owner) = meta::controller_of(p.metadata.owner_references.as_ref()) {
                if owner.kind != "Job" {
                    continue;
                }
                let job_key = ObjectKey::new(key.namespace.clone(), owner.name.clone());
                // Pods of a live job, or of a job another controller manages, keep their finalizer.
                let kept = matches!(jobs.get(&job_key).map(|o| &**o), Some(Object::Job(j)) if j.metadata.uid.as_deref() == Some(owner.uid.as_str()) && (!is_finished(j) || managed_elsewhere(j)));
                if kept {
                    continue;
                }
            }
            if self.remove_tracking(ctx, p).is_err() {
                self.orphans.insert(key);
            }
        }
        if !self.orphans.is_empty() {
            ctx.wake_at(ctx.now);
        }
    }
}

/// Moves pods whose finalizer is gone from the uncounted lists into the
/// counters (`cleanUncountedPodsWithoutFinalizers`); whether anything moved.
fn clean_uncounted(status: &mut JobStatus, with_finalizer: &BTreeSet<String>) -> bool {
    let uncounted = status.uncounted_terminated_pods.get_or_insert_with(Default::default);
    let mut changed = false;
    let mut moved = (0, 0);
    for (list, count) in [(&mut uncounted.succeeded, &mut moved.0), (&mut uncounted.failed, &mut moved.1)] {
        if let Some(uids) = list.as_mut() {
            let before = uids.len();
            uids.retain(|u| with_finalizer.contains(u));
            *count = (before - uids.len()) as i32;
            if uids.is_empty() {
                *list = None;
            }
        }
    }
    if moved.0 > 0 {
        status.succeeded = util::nonzero(status.succeeded.unwrap_or(0) + moved.0);
        changed = true;
    }
    if moved.1 > 0 {
        status.failed = util::nonzero(status.failed.unwrap_or(0) + moved.1);
        changed = true;
    }
    changed
}

/// Up to `count` indexes below `completions` that no active pod, success
/// or failed index covers, nor (when only failed pods are replaced) a
/// terminating pod (`firstPendingIndexes`).
fn first_pending_indexes(job: &Job, jc: &JobCtx, active_pods: &[&Pod], count: usize) -> Vec<i32> {
    let completions = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(0);
    let mut taken: BTreeSet<i32> = crate::engine::sort::insert_all(active_pods.iter().filter_map(|p| completion_index(p)));
    if only_replace_failed(job) {
        taken.extend(jc.pods.iter().filter(|p| util::is_terminating(p)).filter_map(|p| completion_index(p)));
    }
    let failed = jc.failed_indexes.as_ref();
    (0..completions)
        .filter(|i| !jc.succeeded_indexes.contains(i) && !taken.contains(i) && !failed.is_some_and(|f| f.contains(i)))
        .take(count)
        .collect()
}

/// For each index with no active pod, no success and tries left, its
/// latest failed pod (`getPodsWithDelayedDeletionPerIndex`).
fn delayed_per_index<'a>(job: &Job, jc: &JobCtx<'a>, active_pods: &[&Pod], now: VirtualTime) -> BTreeMap<i32, &'a Pod> {
    let completions = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(0);
    let active: BTreeSet<i32> = crate::engine::sort::insert_all(active_pods.iter().filter_map(|p| completion_index(p)));
    let failed = jc.failed_indexes.as_ref();
    let mut out: BTreeMap<i32, &Pod> = BTreeMap::new();
    for p in jc.pods.iter().copied() {
        let uid = p.metadata.uid.as_deref().unwrap_or("");
        if !has_tracking(p) || jc.uncounted_failed.contains(uid) || !pod_failed(p, job) {
            continue;
        }
        let Some(i) = completion_index(p).filter(|i| *i < completions) else { continue };
        if jc.succeeded_indexes.contains(&i) || failed.is_some_and(|f| f.contains(&i)) || active.contains(&i) {
            continue;
        }
        let total = |q: &Pod| count_annotation(q, INDEX_FAILURE_COUNT) + count_annotation(q, INDEX_IGNORED_FAILURE_COUNT);
        let later = |prev: &Pod| total(prev) <= total(p) && finished_at(p, now) >= finished_at(prev, now);
        if out.get(&i).is_none_or(|prev| later(prev)) {
            out.insert(i, p);
        }
    }
    out
}

/// Which active pods to delete (`activePodsForRemoval`): for indexed jobs
/// first those with a duplicate or out-of-range index, then the least far
/// along.
fn pods_for_removal<'a>(job: &Job, pods: &[&'a Pod], at_least: usize, now: VirtualTime) -> Vec<&'a Pod> {
    let mut remove: Vec<&Pod> = Vec::new();
    let mut left: Vec<&Pod> = Vec::new();
    if is_indexed(job) {
        let completions = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(0);
        let mut by_index: BTreeMap<i32, Vec<&Pod>> = BTreeMap::new();
        for p in pods {
            match completion_index(p).filter(|i| *i < completions) {
                Some(i) => by_index.entry(i).or_default().push(p),
                None => remove.push(p),
            }
        }
        for (_, mut same) in by_index {
            // Keep the one furthest along; the rest go.
            same.sort_stable_by(|a, b| util::deletion_order((a, 0), (b, 0), now));
            if let Some(keep) = same.pop() {
                left.push(keep);
            }
            remove.extend(same);
        }
    } else {
        left = pods.to_vec();
    }
    if remove.len() < at_least {
        left.sort_stable_by(|a, b| util::deletion_order((a, 0), (b, 0), now));
        let more = (at_least - remove.len()).min(left.len());
        remove.extend(left.into_iter().take(more));
    }
    remove
}

/// `JOB_COMPLETION_INDEX` from the pod's index annotation in every container.
/// An Indexed pod's `generateName`, `<job>-<index>-`, with the job name
/// cut so the index survives the server's cut to 58 characters
/// (`podGenerateNameWithIndex`).
fn generate_name_with_index(job_name: &str, index: i32) -> String {
    let append = format!("-{index}-");
    let max = crate::engine::apiserver::MAX_GENERATED_NAME_LENGTH;
    if job_name.len() + append.len() <= max {
        return format!("{job_name}{append}");
    }
    let keep = max.saturating_sub(append.len());
    let cut = job_name.char_indices().map(|(i, _)| i).chain(std::iter::once(job_name.len())).take_while(|i| *i <= keep).last().unwrap_or(0);
    format!("{}{append}", &job_name[..cut])
}

fn add_completion_index_env(template: &mut k8s_openapi::api::core::v1::PodTemplateSpec) {
    let Some(spec) = template.spec.as_mut() else { return };
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        let env = c.env.get_or_insert_with(Vec::new);
        if env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX") {
            continue;
        }
        env.push(EnvVar {
            name: "JOB_COMPLETION_INDEX".into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: format!("metadata.annotations['{COMPLETION_INDEX}']") }),
                ..Default::default()
            }),
        });
    }
}

impl Reconciler for JobController {
    fn name(&self) -> &str {
        "job-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::jobs()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::jobs(), ids::pods()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, now: VirtualTime) {
        self.handle_events(cache, changes, now);
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync_job(ctx, cache, key)
    }
    fn after_drain(&mut self, ctx: &mut Ctx, cache: &Cache) {
        self.release_orphans(ctx, cache);
    }
    fn forget(&mut self) {
        self.pods.reset();
        self.expectations.clear();
        self.backoff.clear();
        self.orphans.clear();
        self.generations.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit::{self, events_for, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::batch::v1::{JobSpec, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule, SuccessPolicy, SuccessPolicyRule};
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn job(name: &str, completions: Option<i32>, parallelism: i32, backoff_limit: i32) -> Job {
        let mut t = template(name, "busybox");
        t.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        Job {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(std::rc::Rc::new(JobSpec { completions, parallelism: Some(parallelism), backoff_limit: Some(backoff_limit), template: t, ..Default::default() })),
            status: None,
        }
    }

    fn status(sim: &Sim, name: &str) -> JobStatus {
        match &*sim.api.get(ids::jobs(), "default", name).expect("job") {
            Object::Job(j) => j.status.clone().unwrap_or_default(),
            _ => unreachable!(),
        }
    }

    fn running(sim: &Sim) -> Vec<Pod> {
        testkit::live_pods(sim, "default").into_iter().filter(|p| util::pod_phase(p) == "Running").collect()
    }

    /// What a kubelet reports when a pod's container exits with `code`.
    fn exit(sim: &mut Sim, name: &str, code: i32) {
        let at = meta::api_time(sim.now());
        sim.api
            .modify(ids::pods(), "default", name, true, |o| {
                if let Object::Pod(p) = o {
                    let s = p.status_mut();
                    s.phase = Some(if code == 0 { "Succeeded" } else { "Failed" }.into());
                    s.container_statuses = Some(vec![ContainerStatus {
                        name: "c".into(),
                        state: Some(ContainerState {
                            terminated: Some(ContainerStateTerminated { exit_code: code, finished_at: Some(at.clone()), ..Default::default() }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]);
                }
                true
            })
            .expect("exit");
    }

    fn exit_first(sim: &mut Sim, code: i32) -> String {
        let name = running(sim).first().and_then(|p| p.metadata.name.clone()).expect("a running pod");
        exit(sim, &name, code);
        name
    }

    fn true_conditions(st: &JobStatus) -> Vec<String> {
        st.conditions.iter().flatten().filter(|c| c.status == "True").map(|c| c.type_.clone()).collect()
    }

    #[test]
    fn runs_to_completion_counting_each_pod_once() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Job(Box::new(job("pi", Some(2), 1, 6)))).expect("create");
        sim.run_for_ms(5_000);
        let pods = testkit::live_pods(&sim, "default");
        assert_eq!(pods.len(), 1);
        let labels = pods[0].metadata.labels.clone().unwrap();
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(pods[0].metadata.finalizers.as_deref(), Some(&[TRACKING_FINALIZER.to_string()][..]));
        let st = status(&sim, "pi");
        assert_eq!((st.active, st.ready, st.succeeded, st.terminating), (Some(1), Some(1), None, Some(0)));
        assert!(st.start_time.is_some());
        exit_first(&mut sim, 0);
        sim.run_for_ms(5_000);
        assert_eq!(status(&sim, "pi").succeeded, Some(1));
        exit_first(&mut sim, 0);
        sim.run_for_ms(5_000);
        let st = status(&sim, "pi");
        assert_eq!((st.active, st.succeeded, st.failed), (None, Some(2), None));
        assert_eq!(true_conditions(&st), vec!["SuccessCriteriaMet", "Complete"]);
        let complete = st.conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Complete").unwrap();
        assert_eq!(complete.reason.as_deref(), Some("CompletionsReached"));
        assert!(st.completion_time.is_some());
        assert_eq!(st.uncounted_terminated_pods, Some(UncountedTerminatedPods::default()));
        assert!(testkit::pods(&sim, "default").iter().all(|p| p.metadata.finalizers.is_none()));
        let events = events_for(&sim, "pi");
        assert_eq!(events.iter().filter(|(r, _)| r == "SuccessfulCreate").count(), 2);
        assert_eq!(events.last(), Some(&("Completed".to_string(), "Job completed".to_string())));
    }

    #[test]
    fn suspending_removes_every_pod_and_resuming_brings_them_back() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Job(Box::new(job("batch", Some(6), 3, 6)))).expect("create");
        sim.run_for_ms(5_000);
        assert_eq!(running(&sim).len(), 3);
        let set_suspend = |sim: &mut Sim, on: bool| {
            sim.api
                .modify(ids::jobs(), "default", "batch", false, |o| {
                    if let Object::Job(j) = o {
                        j.spec_mut().suspend = Some(on);
                    }
                    true
                })
                .expect("suspend");
        };
        set_suspend(&mut sim, true);
        sim.run_for_ms(40_000);
        assert!(testkit::live_pods(&sim, "default").is_empty());
        let st = status(&sim, "batch");
        assert_eq!(true_conditions(&st), vec!["Suspended"]);
        assert_eq!((st.active, st.failed), (None, None), "suspension is no failure");
        set_suspend(&mut sim, false);
        sim.run_for_ms(5_000);
        assert_eq!(running(&sim).len(), 3);
        let events = events_for(&sim, "batch");
        assert!(events.contains(&("Suspended".into(), "Job suspended".into())));
        assert!(events.contains(&("Resumed".into(), "Job resumed".into())));
    }

    #[test]
    fn backs_off_exponentially_then_gives_up_past_the_limit() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Job(Box::new(job("flaky", Some(1), 1, 2)))).expect("create");
        sim.run_for_ms(3_000);
        exit_first(&mut sim, 1);
        sim.run_for_ms(5_000);
        // The replacement waits out 10 s from the failure.
        assert!(running(&sim).is_empty());
        assert_eq!(status(&sim, "flaky").failed, Some(1));
        sim.run_for_ms(8_000);
        assert_eq!(running(&sim).len(), 1);
        exit_first(&mut sim, 1);
        // The second replacement waits 20 s.
        sim.run_for_ms(15_000);
        assert!(running(&sim).is_empty());
        sim.run_for_ms(10_000);
        assert_eq!(running(&sim).len(), 1);
        exit_first(&mut sim, 1);
        sim.run_for_ms(5_000);
        let st = status(&sim, "flaky");
        assert_eq!(st.failed, Some(3));
        assert_eq!(true_conditions(&st), vec!["FailureTarget", "Failed"]);
        let failed = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
        assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert!(events_for(&sim, "flaky").contains(&("BackoffLimitExceeded".into(), "Job has reached the specified backoff limit".into())));
    }

    #[test]
    fn runs_pods_in_parallel_up_to_the_remaining_completions() {
        let mut sim = testkit::sim();
        sim.api.create(Object::Job(Box::new(job("batch", Some(5), 3, 6)))).expect("create");
        sim.run_for_ms(5_000);
        assert_eq!(status(&sim, "batch").active, Some(3));
        for _ in 0..3 {
            exit_first(&mut sim, 0);
        }
        sim.run_for_ms(5_000);
        let st = status(&sim, "batch");
        assert_eq!((st.active, st.succeeded), (Some(2), Some(3)));
    }

    #[test]
    fn deadline_stops_the_job_and_its_pods() {
        let mut sim = testkit::sim();
        let mut j = job("slow", Some(1), 1, 6);
        j.spec_mut().active_deadline_seconds = Some(20);
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(30_000);
        let st = status(&sim, "slow");
        assert_eq!(true_conditions(&st), vec!["FailureTarget", "Failed"]);
        assert_eq!(st.conditions.unwrap()[1].reason.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(st.failed, Some(1));
        assert!(testkit::live_pods(&sim, "default").is_empty());
        assert!(events_for(&sim, "slow").contains(&("DeadlineExceeded".into(), "Job was active longer than specified deadline".into())));
    }

    #[test]
    fn indexed_jobs_give_each_pod_an_index() {
        let mut sim = testkit::sim();
        let mut j = job("idx", Some(3), 2, 6);
        j.spec_mut().completion_mode = Some("Indexed".into());
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        let mut pods = running(&sim);
        pods.sort_stable_by_key(|p| completion_index(p));
        assert_eq!(pods.iter().map(|p| completion_index(p)).collect::<Vec<_>>(), vec![Some(0), Some(1)]);
        let p = &pods[1];
        assert!(p.metadata.name.as_ref().unwrap().starts_with("idx-1-"));
        assert_eq!(p.metadata.labels.as_ref().unwrap()[COMPLETION_INDEX], "1");
        assert_eq!(p.spec.as_ref().unwrap().hostname.as_deref(), Some("idx-1"));
        let env = p.spec.as_ref().unwrap().containers[0].env.clone().unwrap();
        assert_eq!(env[0].name, "JOB_COMPLETION_INDEX");
        exit(&mut sim, p.metadata.name.as_deref().unwrap(), 0);
        sim.run_for_ms(5_000);
        let st = status(&sim, "idx");
        assert_eq!((st.completed_indexes.as_deref(), st.succeeded), (Some("1"), Some(1)));
        let third = running(&sim).into_iter().filter_map(|p| completion_index(&p)).collect::<BTreeSet<_>>();
        assert_eq!(third, BTreeSet::from([0, 2]));
        for _ in 0..2 {
            exit_first(&mut sim, 0);
        }
        sim.run_for_ms(5_000);
        let st = status(&sim, "idx");
        assert_eq!(st.completed_indexes.as_deref(), Some("0-2"));
        assert!(true_conditions(&st).contains(&"Complete".to_string()));
    }

    #[test]
    fn pod_failure_policy_fails_or_ignores() {
        let mut sim = testkit::sim();
        let mut j = job("policy", Some(2), 1, 6);
        j.spec_mut().pod_failure_policy = Some(PodFailurePolicy {
            rules: vec![
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement { operator: "In".into(), values: vec![2], container_name: None }),
                    on_pod_conditions: None,
                },
                PodFailurePolicyRule {
                    action: "FailJob".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement { operator: "In".into(), values: vec![42], container_name: None }),
                    on_pod_conditions: None,
                },
            ],
        });
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        exit_first(&mut sim, 2);
        sim.run_for_ms(15_000);
        // Ignored: not counted against the limit (the replacement still waits out the back-off).
        assert_eq!(status(&sim, "policy").failed, None);
        assert_eq!(running(&sim).len(), 1);
        let name = exit_first(&mut sim, 42);
        sim.run_for_ms(5_000);
        let st = status(&sim, "policy");
        assert_eq!(true_conditions(&st), vec!["FailureTarget", "Failed"]);
        let failed = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
        assert_eq!(failed.reason.as_deref(), Some("PodFailurePolicy"));
        assert_eq!(failed.message, Some(format!("Container c for pod default/{name} failed with exit code 42 matching FailJob rule at index 1")));
    }

    fn indexed(name: &str, completions: i32) -> Job {
        let mut j = job(name, Some(completions), completions, 6);
        j.spec_mut().completion_mode = Some("Indexed".into());
        j
    }

    fn running_index(sim: &Sim, index: i32) -> Option<Pod> {
        running(sim).into_iter().find(|p| completion_index(p) == Some(index))
    }

    fn exit_index(sim: &mut Sim, index: i32, code: i32) {
        let name = running_index(sim, index).and_then(|p| p.metadata.name).expect("a running pod of the index");
        exit(sim, &name, code);
    }

    #[test]
    fn a_backoff_limit_per_index_fails_only_that_index() {
        let mut sim = testkit::sim();
        let mut j = indexed("per-index", 3);
        j.spec_mut().backoff_limit_per_index = Some(1);
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        assert_eq!(status(&sim, "per-index").failed_indexes.as_deref(), Some(""));
        let first = running_index(&sim, 0).unwrap();
        assert_eq!(first.metadata.annotations.as_ref().unwrap()[INDEX_FAILURE_COUNT], "0");
        exit_index(&mut sim, 0, 1);
        sim.run_for_ms(5_000);
        // The failed pod keeps its finalizer until its replacement carries the count.
        assert!(running_index(&sim, 0).is_none());
        assert!(testkit::pods(&sim, "default").iter().any(|p| p.metadata.uid == first.metadata.uid && has_tracking(p)));
        sim.run_for_ms(8_000);
        let second = running_index(&sim, 0).expect("replaced after 10 s");
        assert_eq!(second.metadata.annotations.as_ref().unwrap()[INDEX_FAILURE_COUNT], "1");
        assert!(testkit::pods(&sim, "default").iter().all(|p| p.metadata.uid != first.metadata.uid || !has_tracking(p)));
        exit_index(&mut sim, 0, 1);
        exit_index(&mut sim, 1, 0);
        sim.run_for_ms(5_000);
        let st = status(&sim, "per-index");
        assert_eq!((st.failed_indexes.as_deref(), st.completed_indexes.as_deref(), st.failed), (Some("0"), Some("1"), Some(2)));
        assert!(running_index(&sim, 0).is_none(), "a failed index gets no more pods");
        exit_index(&mut sim, 2, 0);
        sim.run_for_ms(5_000);
        let st = status(&sim, "per-index");
        assert_eq!(true_conditions(&st), vec!["FailureTarget", "Failed"]);
        let failed = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
        assert_eq!((failed.reason.as_deref(), failed.message.as_deref()), (Some("FailedIndexes"), Some("Job has failed indexes")));
    }

    #[test]
    fn max_failed_indexes_fails_the_job_early() {
        let mut sim = testkit::sim();
        let mut j = indexed("fragile", 4);
        let spec = j.spec_mut();
        spec.backoff_limit_per_index = Some(0);
        spec.max_failed_indexes = Some(1);
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        exit_index(&mut sim, 0, 1);
        sim.run_for_ms(3_000);
        assert_eq!(status(&sim, "fragile").failed_indexes.as_deref(), Some("0"));
        assert!(status(&sim, "fragile").conditions.is_none());
        exit_index(&mut sim, 3, 1);
        sim.run_for_ms(40_000);
        let st = status(&sim, "fragile");
        assert_eq!(st.failed_indexes.as_deref(), Some("0,3"));
        let failed = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
        assert_eq!(failed.reason.as_deref(), Some("MaxFailedIndexesExceeded"));
        assert!(testkit::live_pods(&sim, "default").iter().all(|p| !util::is_active(p)));
    }

    #[test]
    fn a_success_policy_ends_the_job_early() {
        let mut sim = testkit::sim();
        let mut j = indexed("leader", 3);
        j.spec_mut().success_policy =
            Some(SuccessPolicy { rules: vec![SuccessPolicyRule { succeeded_indexes: Some("0".into()), succeeded_count: None }] });
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        exit_index(&mut sim, 0, 0);
        sim.run_for_ms(40_000);
        let st = status(&sim, "leader");
        assert_eq!(true_conditions(&st), vec!["SuccessCriteriaMet", "Complete"]);
        let complete = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Complete").unwrap();
        assert_eq!((complete.reason.as_deref(), complete.message.as_deref()), (Some("SuccessPolicy"), Some("Matched rules at index 0")));
        assert!(testkit::live_pods(&sim, "default").iter().all(|p| !util::is_active(p)), "the other indexes are stopped");
    }

    #[test]
    fn jobs_managed_elsewhere_are_left_alone() {
        let mut sim = testkit::sim();
        let mut j = job("external", Some(1), 1, 6);
        j.spec_mut().managed_by = Some("example.com/queue".into());
        sim.api.create(Object::Job(Box::new(j))).expect("create");
        sim.run_for_ms(5_000);
        assert!(testkit::pods(&sim, "default").is_empty());
        assert_eq!(status(&sim, "external"), JobStatus::default());
    }

    #[test]
    fn long_job_names_are_cut_before_the_index() {
        assert_eq!(generate_name_with_index("short", 3), "short-3-");
        let long = "a".repeat(60);
        let name = generate_name_with_index(&long, 12);
        assert_eq!(name, format!("{}-12-", "a".repeat(54)));
        assert_eq!(name.len(), 58);
    }

    #[test]
    fn index_sets_print_as_intervals() {
        let set = parse_indexes("0-2,4,7-8", 8);
        assert_eq!(set, BTreeSet::from([0, 1, 2, 4, 7]));
        assert_eq!(format_indexes(&set), "0-2,4,7");
        assert_eq!(format_indexes(&BTreeSet::new()), "");
        assert_eq!(format_indexes(&BTreeSet::from([0, 1, 3, 5, 6, 7])), "0,1,3,5-7");
        assert_eq!(parse_indexes("0,1,3,5-7", 8), BTreeSet::from([0, 1, 3, 5, 6, 7]));
        assert!(parse_indexes("x,-,3-1", 5).is_empty());
    }
}
