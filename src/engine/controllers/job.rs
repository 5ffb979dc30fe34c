//! The Job controller (`pkg/controller/job`): runs pods until
//! `completions` succeed (or, without completions, until one succeeds and
//! the rest finish), replaces failed ones after an exponential back-off,
//! gives up past `backoffLimit` or `activeDeadlineSeconds`, and tracks
//! finished pods with the `batch.kubernetes.io/job-tracking` finalizer so
//! none is counted twice or lost. Non-indexed completion mode only.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, WatchEventType};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, primed, WorkQueue};
use super::util;
use super::{Cache, Changes, Controller};

pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Replacement pods after failures wait 10 s, doubling, up to 10 min.
const POD_FAILURE_BACKOFF_MS: u64 = 10_000;
const MAX_POD_FAILURE_BACKOFF_MS: u64 = 600_000;
const BURST: usize = 500;
/// `ExpectationsTimeout`: pods the controller made or removed but never saw
/// stop being waited for after this long.
const EXPECTATIONS_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// Creations and deletions sent but not yet seen in the pod cache
/// (`ControllerExpectations`): until they are, the cache undercounts or
/// overcounts the job's pods, and acting on it would make or remove too many.
#[derive(Clone, Debug)]
struct PodExpectations {
    adds: i64,
    deletes: BTreeSet<String>,
    since: VirtualTime,
}

/// Failures since the last success, for the replacement back-off.
#[derive(Clone, Copy, Default)]
struct Backoff {
    failures: u32,
    last_failure: VirtualTime,
}

pub struct JobController {
    queue: WorkQueue,
    recorder: EventRecorder,
    backoff: HashMap<ObjectKey, Backoff>,
    /// Pods counted in a job's status whose tracking finalizer this
    /// controller removed, until its cache shows the removal
    /// (`finalizerExpectations`): a cache that lags must not count them twice.
    counted: HashMap<ObjectKey, BTreeSet<String>>,
    expectations: HashMap<ObjectKey, PodExpectations>,
    primed: bool,
}

impl Default for JobController {
    fn default() -> Self {
        Self::new()
    }
}

fn condition_true(status: &JobStatus, type_: &str) -> bool {
    status.conditions.iter().flatten().any(|c| c.type_ == type_ && c.status == "True")
}

fn add_condition(status: &mut JobStatus, type_: &str, reason: &str, message: &str, now: VirtualTime) -> bool {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status == "True" && c.reason.as_deref() == Some(reason) {
            return false;
        }
        *c = JobCondition { status: "True".into(), reason: Some(reason.into()), message: Some(message.into()), last_probe_time: Some(meta::api_time(now)), last_transition_time: Some(meta::api_time(now)), type_: type_.into() };
        return true;
    }
    conditions.push(JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(meta::api_time(now)),
        last_transition_time: Some(meta::api_time(now)),
    });
    true
}

/// Counted as failed: the Failed phase, or deleted before succeeding
/// (orphans that never get to report a phase).
fn pod_failed(p: &Pod) -> bool {
    util::pod_phase(p) == "Failed" || (p.metadata.deletion_timestamp.is_some() && util::pod_phase(p) != "Succeeded")
}

fn pod_finished(p: &Pod) -> bool {
    util::pod_phase(p) == "Succeeded" || pod_failed(p)
}

fn has_tracking(p: &Pod) -> bool {
    p.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

impl JobController {
    pub fn new() -> Self {
        JobController { queue: WorkQueue::default(), recorder: EventRecorder::new("job-controller", None), backoff: HashMap::new(), counted: HashMap::new(), expectations: HashMap::new(), primed: false }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::jobs()) {
            let key = ObjectKey::of(&ev.object);
            if ev.kind == WatchEventType::Deleted {
                self.backoff.remove(&key);
                self.counted.remove(&key);
                self.expectations.remove(&key);
            } else {
                self.queue.add(key);
            }
        }
        let jobs = cache.of(ids::jobs());
        for ev in changes.of(ids::pods()) {
            let m = ev.object.meta();
            if let Some(owner) = meta::controller_of(m.owner_references.as_ref()).filter(|r| r.kind == "Job") {
                let key = ObjectKey::new(m.namespace.clone().unwrap_or_default(), owner.name.clone());
                if jobs.get(&key).is_some_and(|j| j.meta().uid.as_deref() == Some(owner.uid.as_str())) {
                    if let Some(exp) = self.expectations.get_mut(&key) {
                        let terminating = m.deletion_timestamp.is_some();
                        match ev.kind {
                            WatchEventType::Added if !terminating => exp.adds -= 1,
                            WatchEventType::Deleted => {
                                exp.deletes.remove(m.uid.as_deref().unwrap_or(""));
                            }
                            _ if terminating => {
                                exp.deletes.remove(m.uid.as_deref().unwrap_or(""));
                            }
                            _ => {}
                        }
                    }
                    self.queue.add(key);
                } else if let Object::Pod(p) = &*ev.object {
                    // The job is gone: its pods must not keep the finalizer.
                    if has_tracking(p) && ev.kind != WatchEventType::Deleted {
                        self.queue.add(ObjectKey::new(format!("\u{0}pod/{}", key.namespace), m.name.clone().unwrap_or_default()));
                    }
                }
            }
        }
    }

    /// Whether every creation and deletion sent has been seen (or given up on).
    fn expectations_satisfied(&mut self, key: &ObjectKey, now: VirtualTime) -> bool {
        match self.expectations.get(key) {
            None => true,
            Some(e) if (e.adds <= 0 && e.deletes.is_empty()) || now.millis_since(e.since) > EXPECTATIONS_TIMEOUT_MS => {
                self.expectations.remove(key);
                true
            }
            Some(_) => false,
        }
    }

    fn remove_tracking(&self, ctx: &mut Ctx, p: &Pod) -> Result<(), ApiError> {
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
            Ok(_) => Ok(()),
            Err(e) if e.reason == Reason::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        // A pod whose job is gone: drop its finalizer.
        if let Some(ns) = key.namespace.strip_prefix("\u{0}pod/") {
            if let Some(Object::Pod(p)) = cache.of(ids::pods()).get(&ObjectKey::new(ns, key.name.clone())).map(|o| &**o) {
                self.remove_tracking(ctx, p)?;
            }
            return Ok(None);
        }
        let Some(Object::Job(job)) = cache.of(ids::jobs()).get(key).map(|o| (**o).clone()) else {
            return Ok(None);
        };
        let job_obj = Object::Job(job.clone());
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let pods: Vec<Pod> = cache
            .of(ids::pods())
            .controlled_by(&uid)
            .iter()
            .filter_map(|o| if let Object::Pod(p) = &**o { Some(p.clone()) } else { None })
            .collect();
        let old = job.status.clone().unwrap_or_default();
        let finished = condition_true(&old, "Complete") || condition_true(&old, "Failed");
        // Finished pods are counted once, then let go. A pod already counted
        // may still show its finalizer in a cache that lags behind.
        let counted = self.counted.entry(key.clone()).or_default();
        counted.retain(|uid| pods.iter().any(|p| p.metadata.uid.as_deref() == Some(uid.as_str()) && has_tracking(p)));
        let already = counted.clone();
        let is_counted = |p: &Pod| p.metadata.uid.as_ref().is_some_and(|u| already.contains(u));
        let newly: Vec<&Pod> = pods.iter().filter(|p| has_tracking(p) && pod_finished(p) && !is_counted(p)).collect();
        let new_succeeded = newly.iter().filter(|p| util::pod_phase(p) == "Succeeded").count() as i32;
        let new_failed = newly.len() as i32 - new_succeeded;
        if finished {
            for p in pods.iter().filter(|p| has_tracking(p)) {
                self.remove_tracking(ctx, p)?;
            }
            return Ok(None);
        }
        let spec = job.spec.clone().unwrap_or_default();
        let mut status = old.clone();
        let now = ctx.now;
        let succeeded = old.succeeded.unwrap_or(0) + new_succeeded;
        let failed = old.failed.unwrap_or(0) + new_failed;
        let entry = self.backoff.entry(key.clone()).or_default();
        if new_succeeded > 0 {
            entry.failures = 0;
        } else if new_failed > 0 {
            entry.failures += new_failed as u32;
            entry.last_failure = now;
        }
        let backoff = *entry;
        let suspended = spec.suspend.unwrap_or(false);
        if status.start_time.is_none() && !suspended {
            status.start_time = Some(meta::api_time(now));
        }
        let mut active: Vec<&Pod> = pods.iter().filter(|p| util::is_active(p)).collect();
        // Deleted but not yet stopped (`status.terminating`).
        let terminating = pods.iter().filter(|p| util::is_terminating(p) && !matches!(util::pod_phase(p), "Succeeded" | "Failed")).count() as i32;
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let on_failure = spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("OnFailure");
        let restarts: i32 = active.iter().map(|p| util::restarts(p)).sum();
        let past_backoff_on_failure = on_failure && if backoff_limit == 0 { restarts > 0 } else { restarts >= backoff_limit };
        let deadline = spec.active_deadline_seconds.zip(status.start_time.as_ref()).map(|(s, t)| meta::virtual_of(t).plus_secs(s.max(0) as u64));
        let mut requeue: Option<VirtualTime> = None;
        let mut failure: Option<(&str, &str)> = None;
        if (new_failed > 0 && failed > backoff_limit) || past_backoff_on_failure {
            failure = Some(("BackoffLimitExceeded", "Job has reached the specified backoff limit"));
        } else if deadline.is_some_and(|d| d <= now) && !suspended {
            failure = Some(("DeadlineExceeded", "Job was active longer than specified deadline"));
        } else if let Some(d) = deadline {
            requeue = Some(d);
        }
        let existing_target = old.conditions.iter().flatten().find(|c| c.type_ == "FailureTarget" && c.status == "True").cloned();
        let complete = match spec.completions {
            Some(c) => succeeded >= c,
            None => succeeded > 0 && active.is_empty(),
        };
        let success_met = condition_true(&old, "SuccessCriteriaMet") || (existing_target.is_none() && failure.is_none() && complete);
        if let Some(target) = existing_target.as_ref().map(|c| (c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default())) {
            self.delete_pods(ctx, &job_obj, &active)?;
            let stopping = active.len() as i32;
            active.clear();
            if terminating + stopping == 0 {
                add_condition(&mut status, "Failed", &target.0, &target.1, now);
                self.recorder.record(ctx.api, &job_obj, WARNING, &target.0, target.1.clone());
            }
        } else if let Some((reason, message)) = failure {
            // FailureTarget first; Failed once every pod has stopped.
            add_condition(&mut status, "FailureTarget", reason, message, now);
            self.delete_pods(ctx, &job_obj, &active)?;
            if terminating == 0 && active.is_empty() {
                add_condition(&mut status, "Failed", reason, message, now);
                self.recorder.record(ctx.api, &job_obj, WARNING, reason, message);
            }
            active.clear();
        } else if success_met {
            add_condition(&mut status, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", now);
            self.delete_pods(ctx, &job_obj, &active)?;
            let stopping = active.len() as i32;
            active.clear();
            if terminating + stopping == 0 {
                add_condition(&mut status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods", now);
                status.completion_time = Some(meta::api_time(now));
                self.recorder.record(ctx.api, &job_obj, NORMAL, "Completed", "Job completed");
            }
        } else {
            let want = if suspended {
                0
            } else {
                match spec.completions {
                    Some(c) => parallelism.min((c - succeeded).max(0)),
                    None if succeeded > 0 => active.len() as i32,
                    None => parallelism,
                }
            };
            let have = active.len() as i32;
            // Only with every earlier creation and deletion seen is `have` true.
            let settled = self.expectations_satisfied(key, now);
            if !settled {
                let expiry = self.expectations.get(key).map(|e| e.since.plus_millis(EXPECTATIONS_TIMEOUT_MS + 1));
                requeue = [requeue, expiry].into_iter().flatten().min();
            } else if have > want {
                // Newest first, as the pods least far along.
                let mut victims = active.clone();
                victims.sort_by(|a, b| util::deletion_order((a, 0), (b, 0), now));
                victims.truncate((have - want) as usize);
                let uids = victims.iter().filter_map(|p| p.metadata.uid.clone()).collect();
                self.expectations.insert(key.clone(), PodExpectations { adds: 0, deletes: uids, since: now });
                self.delete_pods(ctx, &job_obj, &victims)?;
                active.retain(|p| !victims.iter().any(|v| v.metadata.uid == p.metadata.uid));
            } else if have < want {
                let delay = if backoff.failures == 0 {
                    0
                } else {
                    POD_FAILURE_BACKOFF_MS.saturating_mul(1u64 << (backoff.failures - 1).min(20)).min(MAX_POD_FAILURE_BACKOFF_MS)
                };
                let ready_at = backoff.last_failure.plus_millis(delay);
                if backoff.failures > 0 && ready_at > now {
                    requeue = Some(requeue.map_or(ready_at, |r| r.min(ready_at)));
                } else {
                    let n = ((want - have) as usize).min(BURST);
                    self.expectations.insert(key.clone(), PodExpectations { adds: n as i64, deletes: BTreeSet::new(), since: now });
                    let made = self.create_pods(ctx, &job, &job_obj, n);
                    if let (Some(exp), Err((_, created))) = (self.expectations.get_mut(key), &made) {
                        // What was never created will never be seen.
                        exp.adds -= (n - created) as i64;
                    }
                    made.map_err(|(e, _)| e)?;
                }
            }
            if suspended && !condition_true(&old, "Suspended") {
                add_condition(&mut status, "Suspended", "JobSuspended", "Job suspended", now);
                self.recorder.record(ctx.api, &job_obj, NORMAL, "Suspended", "Job suspended");
            } else if !suspended && condition_true(&old, "Suspended") {
                if let Some(c) = status.conditions.as_mut().and_then(|cs| cs.iter_mut().find(|c| c.type_ == "Suspended")) {
                    c.status = "False".into();
                    c.reason = Some("JobResumed".into());
                    c.message = Some("Job resumed".into());
                    c.last_transition_time = Some(meta::api_time(now));
                    c.last_probe_time = Some(meta::api_time(now));
                }
                status.start_time = Some(meta::api_time(now));
                self.recorder.record(ctx.api, &job_obj, NORMAL, "Resumed", "Job resumed");
            }
        }
        status.active = util::nonzero(active.iter().filter(|p| util::is_active(p)).count() as i32);
        status.ready = Some(active.iter().filter(|p| util::is_ready(p)).count() as i32);
        status.terminating = Some(terminating);
        status.succeeded = util::nonzero(succeeded);
        status.failed = util::nonzero(failed);
        status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
        if status != old {
            let mut next = job.clone();
            next.status = Some(status);
            ctx.api.update_status(Object::Job(next))?;
        }
        // Counted in status now: the pods can go.
        let counted = self.counted.entry(key.clone()).or_default();
        counted.extend(newly.iter().filter_map(|p| p.metadata.uid.clone()));
        let release: Vec<&Pod> = pods.iter().filter(|p| has_tracking(p) && p.metadata.uid.as_ref().is_some_and(|u| counted.contains(u))).collect();
        for p in release {
            self.remove_tracking(ctx, p)?;
        }
        Ok(requeue)
    }

    /// Creates up to `n` pods; on failure, the error and how many were made.
    fn create_pods(&mut self, ctx: &mut Ctx, job: &Job, job_obj: &Object, n: usize) -> Result<(), (ApiError, usize)> {
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let name = job.metadata.name.clone().unwrap_or_default();
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let template = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let mut created = 0;
        let mut batch = 1;
        while created < n {
            for _ in 0..batch.min(n - created) {
                let mut pod = util::pod_from_template(&template, &ns, &format!("{name}-"), util::controller_ref(job_obj));
                let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
                for (k, v) in [("batch.kubernetes.io/controller-uid", &uid), ("batch.kubernetes.io/job-name", &name), ("controller-uid", &uid), ("job-name", &name)] {
                    labels.entry(k.to_string()).or_insert_with(|| v.clone());
                }
                pod.metadata.finalizers.get_or_insert_with(Vec::new).push(TRACKING_FINALIZER.into());
                match ctx.api.create(Object::Pod(pod)) {
                    Ok(stored) => {
                        created += 1;
                        let pod_name = util::name_of(&stored).to_string();
                        self.recorder.record(ctx.api, job_obj, NORMAL, "SuccessfulCreate", format!("Created pod: {pod_name}"));
                    }
                    Err(e) => {
                        if e.reason != Reason::ConnectionRefused {
                            self.recorder.record(ctx.api, job_obj, WARNING, "FailedCreate", format!("Error creating: {}", e.message));
                        }
                        return Err((e, created));
                    }
                }
            }
            batch *= 2;
        }
        Ok(())
    }

    fn delete_pods(&mut self, ctx: &mut Ctx, job_obj: &Object, pods: &[&Pod]) -> Result<(), ApiError> {
        for p in pods {
            if util::is_terminating(p) {
                continue;
            }
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let opts = DeleteOptions { precondition_uid: p.metadata.uid.clone(), ..Default::default() };
            match ctx.api.delete(ids::pods(), &ns, &name, &opts) {
                Ok(_) => self.recorder.record(ctx.api, job_obj, NORMAL, "SuccessfulDelete", format!("Deleted pod: {name}")),
                Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Controller for JobController {
    fn name(&self) -> &str {
        "job-controller"
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::jobs(), ids::pods()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        let watches = self.watches();
        if !primed(&mut self.primed, &mut self.queue, cache, &watches, ids::jobs()) {
            return;
        }
        self.handle_events(cache, changes);
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| match self.sync_one(ctx, cache, key) {
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            other => other,
        });
        self.queue = queue;
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.backoff.clear();
        self.counted.clear();
        self.expectations.clear();
        self.recorder.reset();
        self.primed = false;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit::{self, events_for, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn job(name: &str, completions: Option<i32>, parallelism: i32, backoff_limit: i32) -> Object {
        let mut t = template(name, "busybox");
        t.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        Object::Job(Job {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(JobSpec { completions, parallelism: Some(parallelism), backoff_limit: Some(backoff_limit), template: t, ..Default::default() }),
            status: None,
        })
    }

    fn status(sim: &Sim, name: &str) -> JobStatus {
        match &*sim.api.get(ids::jobs(), "default", name).expect("job") {
            Object::Job(j) => j.status.clone().unwrap_or_default(),
            _ => unreachable!(),
        }
    }

    /// What a kubelet reports when the pod's containers exit.
    fn finish(sim: &mut Sim, phase: &str) -> String {
        let pod = testkit::live_pods(sim, "default").into_iter().find(|p| !matches!(util::pod_phase(p), "Succeeded" | "Failed")).expect("a running pod");
        let name = pod.metadata.name.clone().unwrap();
        sim.api
            .modify(ids::pods(), "default", &name, true, |o| {
                if let Object::Pod(p) = o {
                    p.status.get_or_insert_with(Default::default).phase = Some(phase.into());
                }
                true
            })
            .expect("finish");
        name
    }

    fn conditions(st: &JobStatus) -> Vec<String> {
        st.conditions.iter().flatten().filter(|c| c.status == "True").map(|c| c.type_.clone()).collect()
    }

    #[test]
    fn runs_to_completion() {
        let mut sim = testkit::sim();
        sim.api.create(job("pi", Some(2), 1, 6)).expect("create");
        sim.run_for_ms(5_000);
        let pods = testkit::live_pods(&sim, "default");
        assert_eq!(pods.len(), 1);
        let labels = pods[0].metadata.labels.clone().unwrap();
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(pods[0].metadata.finalizers.as_deref(), Some(&[TRACKING_FINALIZER.to_string()][..]));
        let st = status(&sim, "pi");
        assert_eq!((st.active, st.ready, st.succeeded), (Some(1), Some(1), None));
        assert!(st.start_time.is_some());
        finish(&mut sim, "Succeeded");
        sim.run_for_ms(5_000);
        assert_eq!(status(&sim, "pi").succeeded, Some(1));
        finish(&mut sim, "Succeeded");
        sim.run_for_ms(5_000);
        let st = status(&sim, "pi");
        assert_eq!((st.active, st.succeeded, st.failed), (None, Some(2), None));
        assert_eq!(conditions(&st), vec!["SuccessCriteriaMet", "Complete"]);
        assert!(st.completion_time.is_some());
        assert!(testkit::pods(&sim, "default").iter().all(|p| p.metadata.finalizers.is_none()));
        let events = events_for(&sim, "pi");
        assert_eq!(events.iter().filter(|(r, _)| r == "SuccessfulCreate").count(), 2);
        assert_eq!(events.last(), Some(&("Completed".to_string(), "Job completed".to_string())));
    }

    #[test]
    fn gives_up_past_the_backoff_limit_after_backing_off() {
        let mut sim = testkit::sim();
        sim.api.create(job("flaky", Some(1), 1, 1)).expect("create");
        sim.run_for_ms(5_000);
        finish(&mut sim, "Failed");
        sim.run_for_ms(5_000);
        // The replacement waits out the 10 s back-off.
        assert_eq!(testkit::live_pods(&sim, "default").iter().filter(|p| util::is_active(p)).count(), 0);
        assert_eq!(status(&sim, "flaky").failed, Some(1));
        sim.run_for_ms(10_000);
        assert_eq!(testkit::live_pods(&sim, "default").iter().filter(|p| util::is_active(p)).count(), 1);
        finish(&mut sim, "Failed");
        sim.run_for_ms(5_000);
        let st = status(&sim, "flaky");
        assert_eq!(st.failed, Some(2));
        assert_eq!(conditions(&st), vec!["FailureTarget", "Failed"]);
        let failed = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
        assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert!(events_for(&sim, "flaky").contains(&("BackoffLimitExceeded".into(), "Job has reached the specified backoff limit".into())));
    }

    #[test]
    fn runs_pods_in_parallel() {
        let mut sim = testkit::sim();
        sim.api.create(job("batch", Some(5), 3, 6)).expect("create");
        sim.run_for_ms(5_000);
        assert_eq!(status(&sim, "batch").active, Some(3));
        for _ in 0..3 {
            finish(&mut sim, "Succeeded");
        }
        sim.run_for_ms(5_000);
        let st = status(&sim, "batch");
        assert_eq!((st.active, st.succeeded), (Some(2), Some(3)));
    }
}
