//! The CronJob controller (`pkg/controller/cronjob`, v2): at each time its
//! schedule names (in its `timeZone`), a CronJob creates a Job named
//! `<cronjob>-<scheduled time in minutes since the epoch>`, unless it is
//! suspended, the start is later than `startingDeadlineSeconds` allows, or
//! `concurrencyPolicy: Forbid` finds the last one still running (`Replace`
//! deletes it instead). Finished jobs beyond the history limits are deleted.
//! The controller sleeps until the next scheduled time (plus 100 ms, as
//! Kubernetes pads it).

use crate::engine::sort::SortStable;
use k8s_openapi::api::batch::v1::{CronJob, JobStatus};
use crate::engine::api::shared_spec::Job;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::engine::api::meta::EPOCH_SECONDS;
use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::{DeleteOptions, Propagation, WatchEventType};
use crate::engine::cron::{self, Schedule};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{util, Cache, Changes, Reconciler, WorkLoop};

pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Padding added to every wake-up for clock skew (`nextScheduleDelta`).
const NEXT_SCHEDULE_DELTA_MS: i64 = 100;

/// Unix milliseconds of a virtual instant.
fn unix_ms(t: VirtualTime) -> i64 {
    EPOCH_SECONDS * 1000 + t.as_millis() as i64
}

/// The virtual instant of unix milliseconds (never before zero).
fn virtual_at(ms: i64) -> VirtualTime {
    VirtualTime::from_millis((ms - EPOCH_SECONDS * 1000).max(0) as u64)
}

fn time_secs(t: &Time) -> i64 {
    t.0.as_second()
}

fn api_time_secs(secs: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
}

/// `(Complete|Failed, true)` when the job has finished.
fn finished_status(job: &Job) -> Option<&'static str> {
    job.status.as_ref()?.conditions.iter().flatten().find_map(|c| {
        (c.status == "True").then_some(())?;
        match c.type_.as_str() {
            "Complete" => Some("Complete"),
            "Failed" => Some("Failed"),
            _ => None,
        }
    })
}

#[derive(PartialEq)]
enum Missed {
    None,
    Few,
    Many,
}

/// `mostRecentScheduleTime`: the time counted from, the latest scheduled
/// time not after `now` (if any), and how many were missed.
fn most_recent(cj: &CronJob, now_ms: i64, sched: &Schedule, with_deadline: bool) -> Result<(i64, Option<i64>, Missed), (i64, String)> {
    let created = cj.metadata.creation_timestamp.as_ref().map_or(0, time_secs);
    let status = cj.status.clone().unwrap_or_default();
    let mut earliest = status.last_schedule_time.as_ref().map_or(created, time_secs);
    if with_deadline {
        if let Some(deadline) = cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds) {
            // Go compares instants with sub-second precision; start counting at the next whole second.
            let limit_ms = now_ms - deadline.saturating_mul(1000);
            if limit_ms > earliest * 1000 {
                earliest = limit_ms.div_euclid(1000);
            }
        }
    }
    let Some(t1) = sched.next(earliest) else { return Ok((earliest, None, Missed::None)) };
    let Some(t2) = sched.next(t1) else { return Ok((earliest, None, Missed::None)) };
    if now_ms < t1 * 1000 {
        return Ok((earliest, None, Missed::None));
    }
    if now_ms < t2 * 1000 {
        return Ok((earliest, Some(t1), Missed::None));
    }
    let between = t2 - t1;
    if between < 1 {
        return Err((earliest, "time difference between two schedules is less than 1 second".to_string()));
    }
    let elapsed = (now_ms - t1 * 1000) / 1000;
    let missed = elapsed / between + 1;
    let mut recent = None;
    let mut t = sched.next(t1 + (missed - 2) * between);
    let mut guard = 0;
    while let Some(at) = t.filter(|at| at * 1000 <= now_ms) {
        recent = Some(at);
        t = sched.next(at);
        guard += 1;
        if guard > 1000 {
            break;
        }
    }
    let kind = if missed > 100 { Missed::Many } else { Missed::Few };
    Ok((earliest, recent, kind))
}

/// When to look again: the next scheduled time after the latest one (`nextScheduleTimeDuration`).
fn next_wake(cj: &CronJob, now_ms: i64, sched: &Schedule) -> Option<VirtualTime> {
    let from = match most_recent(cj, now_ms, sched, false) {
        Err(_) => now_ms / 1000,
        Ok((_, Some(recent), _)) => recent,
        Ok((earliest, None, Missed::None)) => earliest,
        Ok((_, None, _)) => now_ms / 1000,
    };
    let next = sched.next(from)?;
    Some(virtual_at((next * 1000 + NEXT_SCHEDULE_DELTA_MS).max(now_ms + 1)))
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The Job for one scheduled time (`getJobFromTemplate2`).
pub fn job_for(cj: &CronJob, owner: &Object, scheduled_secs: i64) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let template_meta = spec.job_template.metadata.clone().unwrap_or_default();
    let mut annotations = template_meta.annotations.unwrap_or_default();
    let tz = cron::load_location(spec.time_zone.as_deref().unwrap_or("")).unwrap_or_else(|_| crate::engine::time_zones::Zone::utc());
    if let Ok(ts) = k8s_openapi::jiff::Timestamp::from_second(scheduled_secs) {
        let zoned = ts.to_zoned(k8s_openapi::jiff::tz::TimeZone::fixed(tz.offset(ts)));
        let stamp = if zoned.offset().seconds() == 0 { zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string() } else { zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string() };
        annotations.insert(SCHEDULED_TIMESTAMP.into(), stamp);
    }
    Job {
        metadata: ObjectMeta {
            name: Some(format!("{}-{}", cj.metadata.name.as_deref().unwrap_or(""), scheduled_secs.div_euclid(60))),
            namespace: cj.metadata.namespace.clone(),
            labels: template_meta.labels.filter(|l| !l.is_empty()),
            annotations: Some(annotations),
            owner_references: Some(vec![util::controller_ref(owner)]),
            ..Default::default()
        },
        spec: spec.job_template.spec.clone().map(std::rc::Rc::new),
        status: None,
    }
}

pub struct CronJobController {
    work: WorkLoop,
    recorder: EventRecorder,
}

impl Default for CronJobController {
    fn default() -> Self {
        Self::new()
    }
}

impl CronJobController {
    pub fn new() -> Self {
        CronJobController { work: WorkLoop::default(), recorder: EventRecorder::new("cronjob-controller", None) }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::cron_jobs()) {
            if ev.kind != WatchEventType::Deleted {
                self.work.queue.add(ObjectKey::of(&ev.object));
            }
        }
        let cron_jobs = cache.of(ids::cron_jobs());
        for ev in changes.of(ids::jobs()) {
            let m = ev.object.meta();
            let Some(owner) = meta::controller_of(m.owner_references.as_ref()).filter(|r| r.kind == "CronJob") else { continue };
            let key = ObjectKey::new(m.namespace.clone().unwrap_or_default(), owner.name.clone());
            if cron_jobs.get(&key).is_some_and(|c| c.meta().uid.as_deref() == Some(owner.uid.as_str())) {
                self.work.queue.add(key);
            }
        }
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(obj) = cache.of(ids::cron_jobs()).get(key).cloned() else { return Ok(None) };
        let Object::CronJob(cj) = &*obj else { return Ok(None) };
        let mut cj = cj.clone();
        let uid = cj.metadata.uid.clone().unwrap_or_default();
        let jobs: Vec<Job> = cache.of(ids::jobs()).controlled_by(&uid).iter().filter_map(|o| if let Object::Job(j) = &**o { Some((**j).clone()) } else { None }).collect();
        let cleaned = self.cleanup_finished(ctx, &obj, &mut cj, &jobs);
        let (requeue, changed, error) = self.sync_cron_job(ctx, &obj, &mut cj, &jobs);
        if cleaned || changed {
            ctx.api.update_status(Object::CronJob(cj))?;
        }
        if requeue.is_some() {
            return Ok(requeue);
        }
        match error {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// Deletes the oldest finished jobs beyond the history limits (`cleanupFinishedJobs`).
    fn cleanup_finished(&mut self, ctx: &mut Ctx, owner: &Object, cj: &mut CronJob, jobs: &[Job]) -> bool {
        let spec = cj.spec.clone().unwrap_or_default();
        if spec.successful_jobs_history_limit.is_none() && spec.failed_jobs_history_limit.is_none() {
            return false;
        }
        let mut changed = false;
        for (status, limit) in [("Complete", spec.successful_jobs_history_limit), ("Failed", spec.failed_jobs_history_limit)] {
            let Some(limit) = limit else { continue };
            let mut finished: Vec<&Job> = jobs.iter().filter(|j| finished_status(j) == Some(status)).collect();
            let excess = finished.len() as i64 - limit.max(0) as i64;
            if excess <= 0 {
                continue;
            }
            // Oldest start first; jobs never started last (`byJobStartTime`).
            finished.sort_stable_by(|a, b| {
                let start = |j: &Job| j.status.as_ref().and_then(|s| s.start_time.as_ref()).map(time_secs);
                match (start(a), start(b)) {
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (x, y) if x == y => a.metadata.name.cmp(&b.metadata.name),
                    (x, y) => x.cmp(&y),
                }
            });
            for j in finished.into_iter().take(excess as usize) {
                changed |= self.delete_job(ctx, owner, cj, j);
            }
        }
        changed
    }

    /// Deletes a job with its pods in the background and drops it from `active` (`deleteJob`).
    fn delete_job(&mut self, ctx: &mut Ctx, owner: &Object, cj: &mut CronJob, job: &Job) -> bool {
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let name = job.metadata.name.clone().unwrap_or_default();
        let opts = DeleteOptions { propagation: Some(Propagation::Background), ..Default::default() };
        if let Err(e) = ctx.api.delete(ids::jobs(), &ns, &name, &opts) {
            if e.reason != Reason::ConnectionRefused {
                self.recorder.record(ctx.api, owner, WARNING, "FailedDelete", format!("Deleted job: {}", e.message));
            }
            return false;
        }
        if let Some(active) = cj.status.as_mut().and_then(|s| s.active.as_mut()) {
            active.retain(|r| r.uid != job.metadata.uid);
        }
        self.recorder.record(ctx.api, owner, NORMAL, "SuccessfulDelete", format!("Deleted job {name}"));
        true
    }

    /// `syncCronJob`: when to look again, whether status changed, and an error to retry on.
    fn sync_cron_job(&mut self, ctx: &mut Ctx, owner: &Object, cj: &mut CronJob, jobs: &[Job]) -> (Option<VirtualTime>, bool, Option<ApiError>) {
        let now_ms = unix_ms(ctx.now);
        let mut changed = false;
        let status = cj.status.get_or_insert_with(Default::default);
        for j in jobs {
            let in_active = status.active.iter().flatten().any(|r| r.uid == j.metadata.uid);
            let finished = finished_status(j);
            if !in_active && finished.is_none() {
                let name = j.metadata.name.clone().unwrap_or_default();
                self.recorder.record(ctx.api, owner, WARNING, "UnexpectedJob", format!("Saw a job that the controller did not create or forgot: {name}"));
            } else if in_active && finished.is_some() {
                if let Some(active) = status.active.as_mut() {
                    active.retain(|r| r.uid != j.metadata.uid);
                }
                let name = j.metadata.name.clone().unwrap_or_default();
                self.recorder.record(ctx.api, owner, NORMAL, "SawCompletedJob", format!("Saw completed job: {name}, condition: {}", finished.unwrap_or("")));
                changed = true;
            } else if finished == Some("Complete") {
                let done = j.status.as_ref().and_then(|s: &JobStatus| s.completion_time.clone());
                if let Some(done) = done {
                    if status.last_successful_time.as_ref().is_none_or(|last| time_secs(&done) > time_secs(last)) {
                        status.last_successful_time = Some(done);
                        changed = true;
                    }
                }
            }
        }
        // Active jobs that went missing.
        let known: Vec<Option<String>> = jobs.iter().map(|j| j.metadata.uid.clone()).collect();
        let missing: Vec<ObjectReference> = status.active.iter().flatten().filter(|r| !known.contains(&r.uid)).cloned().collect();
        for r in missing {
            let ns = r.namespace.clone().unwrap_or_default();
            let name = r.name.clone().unwrap_or_default();
            match ctx.api.get(ids::jobs(), &ns, &name) {
                Err(e) if e.reason == Reason::NotFound => {
                    self.recorder.record(ctx.api, owner, NORMAL, "MissingJob", format!("Active job went missing: {name}"));
                    if let Some(active) = status.active.as_mut() {
                        active.retain(|x| x.uid != r.uid);
                    }
                    changed = true;
                }
                Err(e) => return (None, changed, Some(e)),
                Ok(_) => {}
            }
        }
        if status.active.as_ref().is_some_and(Vec::is_empty) {
            status.active = None;
        }
        if cj.metadata.deletion_timestamp.is_some() {
            return (None, changed, None);
        }
        let spec = cj.spec.clone().unwrap_or_default();
        if let Some(tz) = spec.time_zone.as_deref() {
            if let Err(e) = cron::load_location(tz) {
                self.recorder.record(ctx.api, owner, WARNING, "UnknownTimeZone", format!("invalid timeZone: {tz:?}: {e}"));
                return (None, changed, None);
            }
        }
        if spec.suspend == Some(true) {
            return (None, changed, None);
        }
        if spec.schedule.contains("TZ") {
            self.recorder.record(
                ctx.api,
                owner,
                WARNING,
                "UnsupportedSchedule",
                format!("CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", spec.schedule),
            );
        }
        let sched = match cron::parse_for(&spec.schedule, spec.time_zone.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                self.recorder.record(ctx.api, owner, WARNING, "UnparseableSchedule", format!("unparseable schedule: {:?} : {e}", spec.schedule));
                return (None, changed, None);
            }
        };
        let scheduled = match most_recent(cj, now_ms, &sched, true) {
            Err((_, e)) => {
                self.recorder.record(ctx.api, owner, WARNING, "InvalidSchedule", format!("invalid schedule: {} : {e}", spec.schedule));
                return (None, changed, None);
            }
            Ok((_, recent, missed)) => {
                if recent.is_some() && missed == Missed::Many {
                    self.recorder.record(ctx.api, owner, WARNING, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
                }
                recent
            }
        };
        let Some(scheduled) = scheduled else {
            return (next_wake(cj, now_ms, &sched), changed, None);
        };
        if let Some(deadline) = spec.starting_deadline_seconds {
            if (scheduled + deadline) * 1000 < now_ms {
                let when = api_time_secs(scheduled).0.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
                self.recorder.record(ctx.api, owner, WARNING, "MissSchedule", format!("Missed scheduled time to start a job: {when}"));
                return (next_wake(cj, now_ms, &sched), changed, None);
            }
        }
        let job_name = format!("{}-{}", cj.metadata.name.as_deref().unwrap_or(""), scheduled.div_euclid(60));
        let status = cj.status.get_or_insert_with(Default::default);
        let already = status.active.iter().flatten().any(|r| r.name.as_deref() == Some(job_name.as_str()))
            || status.last_schedule_time.as_ref().is_some_and(|t| time_secs(t) == scheduled);
        if already {
            return (next_wake(cj, now_ms, &sched), changed, None);
        }
        let policy = spec.concurrency_policy.clone().unwrap_or_else(|| "Allow".into());
        let running = status.active.as_ref().is_some_and(|a| !a.is_empty());
        if policy == "Forbid" && running {
            self.recorder.record(ctx.api, owner, NORMAL, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
            return (next_wake(cj, now_ms, &sched), changed, None);
        }
        if policy == "Replace" {
            let active: Vec<ObjectReference> = status.active.clone().unwrap_or_default();
            for r in active {
                let ns = r.namespace.clone().unwrap_or_default();
                let name = r.name.clone().unwrap_or_default();
                let job = match ctx.api.get(ids::jobs(), &ns, &name) {
                    Ok(o) => o,
                    Err(e) => {
                        self.recorder.record(ctx.api, owner, WARNING, "FailedGet", format!("Get job: {}", e.message));
                        return (None, changed, Some(e));
                    }
                };
                let Object::Job(job) = &*job else { continue };
                if !self.delete_job(ctx, owner, cj, job) {
                    return (None, changed, Some(ApiError::new(Reason::InternalError, format!("could not replace job {ns}/{name}"))));
                }
                changed = true;
            }
        }
        let request = job_for(cj, owner, scheduled);
        let created = match ctx.api.create(Object::Job(Box::new(request.clone()))) {
            Ok(stored) => match &*stored {
                Object::Job(j) => {
                    self.recorder.record(ctx.api, owner, NORMAL, "SuccessfulCreate", format!("Created job {}", j.metadata.name.as_deref().unwrap_or("")));
                    ctx.log(format!("created job {}/{} for CronJob {}", j.metadata.namespace.as_deref().unwrap_or(""), j.metadata.name.as_deref().unwrap_or(""), cj.metadata.name.as_deref().unwrap_or("")));
                    j.clone()
                }
                _ => return (None, changed, None),
            },
            Err(e) if e.reason == Reason::AlreadyExists => {
                let ns = request.metadata.namespace.clone().unwrap_or_default();
                match ctx.api.get(ids::jobs(), &ns, &job_name).map(|o| (*o).clone()) {
                    Ok(Object::Job(existing)) => {
                        let ours = meta::controller_of(existing.metadata.owner_references.as_ref()).is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref());
                        let listed = cj.status.as_ref().and_then(|s| s.active.as_ref()).is_some_and(|a| a.iter().any(|r| r.uid == existing.metadata.uid));
                        if !ours || listed {
                            return (None, changed, None);
                        }
                        existing
                    }
                    Ok(_) => return (None, changed, None),
                    Err(e) => return (None, changed, Some(e)),
                }
            }
            Err(e) => {
                if e.reason != Reason::ConnectionRefused && !e.message.contains("because it is being terminated") {
                    self.recorder.record(ctx.api, owner, WARNING, "FailedCreate", format!("Error creating job: {}", e.message));
                }
                return (None, changed, Some(e));
            }
        };
        let status = cj.status.get_or_insert_with(Default::default);
        status.active.get_or_insert_with(Vec::new).push(job_ref(&created));
        status.last_schedule_time = Some(api_time_secs(scheduled));
        (next_wake(cj, now_ms, &sched), true, None)
    }
}

impl Reconciler for CronJobController {
    fn name(&self) -> &str {
        "cronjob-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::cron_jobs()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::cron_jobs(), ids::jobs()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        self.handle_events(cache, changes);
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync(ctx, cache, key)
    }
    fn forget(&mut self) {
        self.recorder.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::controllers::testkit::{self, events_for, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobSpec, JobTemplateSpec};

    fn cron_job(name: &str, schedule: &str) -> CronJob {
        let mut t = template(name, "busybox");
        t.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
        CronJob {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(CronJobSpec {
                schedule: schedule.into(),
                job_template: JobTemplateSpec { metadata: None, spec: Some(JobSpec { template: t, ..Default::default() }) },
                ..Default::default()
            }),
            status: None,
        }
    }

    fn jobs(sim: &Sim) -> Vec<Job> {
        let (items, _) = sim.api.list(&Query::in_namespace(ids::jobs(), "default")).expect("list");
        items.iter().filter_map(|o| if let Object::Job(j) = &**o { Some((**j).clone()) } else { None }).filter(|j| j.metadata.deletion_timestamp.is_none()).collect()
    }

    fn get(sim: &Sim, name: &str) -> CronJob {
        match &*sim.api.get(ids::cron_jobs(), "default", name).expect("cj") {
            Object::CronJob(c) => *c.clone(),
            _ => unreachable!(),
        }
    }

    /// Marks a job finished as the job controller would.
    fn finish(sim: &mut Sim, name: &str, condition: &str) {
        let now = meta::api_time(sim.now());
        sim.api
            .modify(ids::jobs(), "default", name, true, |o| {
                if let Object::Job(j) = o {
                    let s = j.status.get_or_insert_with(Default::default);
                    s.conditions = Some(vec![k8s_openapi::api::batch::v1::JobCondition {
                        type_: condition.into(),
                        status: "True".into(),
                        last_transition_time: Some(now.clone()),
                        ..Default::default()
                    }]);
                    if condition == "Complete" {
                        s.completion_time = Some(now.clone());
                    }
                }
                true
            })
            .expect("finish");
    }

    #[test]
    fn fires_each_minute_with_minute_named_jobs() {
        let mut sim = testkit::sim();
        sim.api.create(Object::CronJob(Box::new(cron_job("hello", "*/1 * * * *")))).expect("create");
        sim.run_for_ms(59_000);
        assert!(jobs(&sim).is_empty());
        sim.run_for_ms(2_000);
        let made = jobs(&sim);
        assert_eq!(made.len(), 1);
        let minutes = (EPOCH_SECONDS + 60) / 60;
        assert_eq!(made[0].metadata.name.as_deref(), Some(format!("hello-{minutes}").as_str()));
        assert_eq!(made[0].metadata.annotations.as_ref().unwrap()[SCHEDULED_TIMESTAMP], "2026-01-01T00:01:00Z");
        let cj = get(&sim, "hello");
        let st = cj.status.unwrap();
        assert_eq!(st.active.as_ref().map(Vec::len), Some(1));
        assert_eq!(st.last_schedule_time.map(|t| t.0.to_string()).as_deref(), Some("2026-01-01T00:01:00Z"));
        assert_eq!(events_for(&sim, "hello"), vec![("SuccessfulCreate".to_string(), format!("Created job hello-{minutes}"))]);
        finish(&mut sim, &format!("hello-{minutes}"), "Complete");
        sim.run_for_ms(1_000);
        let st = get(&sim, "hello").status.unwrap();
        assert!(st.active.is_none());
        assert!(st.last_successful_time.is_some());
        assert!(events_for(&sim, "hello").contains(&("SawCompletedJob".into(), format!("Saw completed job: hello-{minutes}, condition: Complete"))));
    }

    #[test]
    fn forbid_skips_while_a_job_runs_and_replace_swaps_it() {
        let mut sim = testkit::sim();
        let mut cj = cron_job("forbid", "*/1 * * * *");
        cj.spec.as_mut().unwrap().concurrency_policy = Some("Forbid".into());
        sim.api.create(Object::CronJob(Box::new(cj))).expect("create");
        let mut cj = cron_job("replace", "*/1 * * * *");
        cj.spec.as_mut().unwrap().concurrency_policy = Some("Replace".into());
        sim.api.create(Object::CronJob(Box::new(cj))).expect("create");
        sim.run_for_ms(125_000);
        let names: Vec<String> = jobs(&sim).into_iter().filter_map(|j| j.metadata.name).collect();
        assert_eq!(names.iter().filter(|n| n.starts_with("forbid-")).count(), 1, "{names:?}");
        assert_eq!(names.iter().filter(|n| n.starts_with("replace-")).count(), 1, "{names:?}");
        let second = format!("replace-{}", (EPOCH_SECONDS + 120) / 60);
        assert!(names.contains(&second), "{names:?}");
        assert!(events_for(&sim, "forbid").contains(&("JobAlreadyActive".into(), "Not starting job because prior execution is running and concurrency policy is Forbid".into())));
        assert!(events_for(&sim, "replace").iter().any(|(r, m)| r == "SuccessfulDelete" && m.starts_with("Deleted job replace-")));
    }

    #[test]
    fn suspended_cron_jobs_do_not_fire_and_history_is_trimmed() {
        let mut sim = testkit::sim();
        let mut cj = cron_job("tidy", "*/1 * * * *");
        cj.spec.as_mut().unwrap().successful_jobs_history_limit = Some(1);
        sim.api.create(Object::CronJob(Box::new(cj))).expect("create");
        let mut idle = cron_job("idle", "*/1 * * * *");
        idle.spec.as_mut().unwrap().suspend = Some(true);
        sim.api.create(Object::CronJob(Box::new(idle))).expect("create");
        for minute in 1..=3 {
            sim.run_for_ms(61_000);
            let name = format!("tidy-{}", (EPOCH_SECONDS + 60 * minute) / 60);
            if jobs(&sim).iter().any(|j| j.metadata.name.as_deref() == Some(name.as_str())) {
                finish(&mut sim, &name, "Complete");
            }
        }
        sim.run_for_ms(5_000);
        let names: Vec<String> = jobs(&sim).into_iter().filter_map(|j| j.metadata.name).collect();
        assert!(names.iter().all(|n| !n.starts_with("idle-")), "{names:?}");
        let finished_tidy = jobs(&sim).into_iter().filter(|j| j.metadata.name.as_deref().is_some_and(|n| n.starts_with("tidy-")) && finished_status(j).is_some()).count();
        assert_eq!(finished_tidy, 1, "{names:?}");
    }

    #[test]
    fn a_start_missed_by_more_than_the_deadline_is_skipped() {
        let mut sim = testkit::sim();
        let mut cj = cron_job("late", "*/1 * * * *");
        cj.spec.as_mut().unwrap().starting_deadline_seconds = Some(10);
        sim.api.create(Object::CronJob(Box::new(cj))).expect("create");
        sim.stop("controller-manager").expect("stop");
        sim.run_for_ms(90_000);
        sim.start("controller-manager").expect("start");
        sim.run_for_ms(1_000);
        // 00:01 is more than 10 s ago: the controller only counts from then on.
        assert!(jobs(&sim).is_empty());
        sim.run_for_ms(30_000);
        let made: Vec<String> = jobs(&sim).into_iter().filter_map(|j| j.metadata.name).collect();
        assert_eq!(made, vec![format!("late-{}", (EPOCH_SECONDS + 120) / 60)]);
    }

    #[test]
    fn time_zones_move_the_first_run() {
        let mut sim = testkit::sim();
        let mut cj = cron_job("tz", "0 1 * * *");
        cj.spec.as_mut().unwrap().time_zone = Some("Europe/Paris".into());
        sim.api.create(Object::CronJob(Box::new(cj))).expect("create");
        // 01:00 in Paris is midnight UTC the next day.
        sim.run_for_ms(23 * 3_600_000 + 59 * 60_000);
        assert!(jobs(&sim).is_empty());
        sim.run_for_ms(2 * 60_000);
        let made = jobs(&sim);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].metadata.annotations.as_ref().unwrap()[SCHEDULED_TIMESTAMP], "2026-01-02T01:00:00+01:00");
    }
}
