//! The TTL-after-finished controller (`pkg/controller/ttlafterfinished`): a
//! Job with `ttlSecondsAfterFinished` is deleted, with its pods in the
//! foreground, that many seconds after its Complete or Failed condition.

use crate::engine::api::shared_spec::Job;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::{DeleteOptions, Propagation, WatchEventType};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{Cache, Changes, Reconciler, WorkLoop};

/// When a finished job with a TTL expires (`processTTL`); None if it has no
/// TTL or has not finished.
pub fn expires_at(job: &Job) -> Option<VirtualTime> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = job
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?
        .last_transition_time
        .as_ref()?;
    Some(meta::virtual_of(finished).plus_secs(ttl.max(0) as u64))
}

#[derive(Default)]
pub struct TtlAfterFinishedController {
    work: WorkLoop,
}

impl TtlAfterFinishedController {
    pub fn new() -> Self {
        Self::default()
    }

    fn process(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::Job(job)) = cache.of(ids::jobs()).get(key).map(|o| &**o) else { return Ok(None) };
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let Some(at) = expires_at(job) else { return Ok(None) };
        if at > ctx.now {
            return Ok(Some(at));
        }
        // The cache may be stale: check the TTL against a fresh read before deleting.
        let fresh = ctx.api.get(ids::jobs(), &key.namespace, &key.name)?;
        let Object::Job(fresh) = &*fresh else { return Ok(None) };
        match expires_at(fresh) {
            Some(at) if at <= ctx.now => {}
            Some(at) => return Ok(Some(at)),
            None => return Ok(None),
        }
        let opts = DeleteOptions { propagation: Some(Propagation::Foreground), precondition_uid: fresh.metadata.uid.clone(), ..Default::default() };
        ctx.api.delete(ids::jobs(), &key.namespace, &key.name, &opts)?;
        ctx.log(format!("deleted finished job {key} after its TTL"));
        Ok(None)
    }
}

impl Reconciler for TtlAfterFinishedController {
    fn name(&self) -> &str {
        "ttl-after-finished-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::jobs()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::jobs()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, _cache: &Cache, changes: &Changes, _now: VirtualTime) {
        for ev in changes.of(ids::jobs()) {
            if ev.kind == WatchEventType::Deleted {
                continue;
            }
            if let Object::Job(job) = &*ev.object {
                if job.metadata.deletion_timestamp.is_none() && expires_at(job).is_some() {
                    self.work.queue.add(ObjectKey::of(&ev.object));
                }
            }
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.process(ctx, cache, key)
    }
    fn forget(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit::{self, template};
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn finished_jobs_go_after_their_ttl() {
        let mut sim = testkit::sim();
        let mut t = template("once", "busybox");
        t.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        let job = Job {
            metadata: ObjectMeta { name: Some("once".into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(std::rc::Rc::new(JobSpec { template: t, ttl_seconds_after_finished: Some(30), ..Default::default() })),
            status: None,
        };
        sim.api.create(Object::Job(Box::new(job))).expect("create");
        sim.run_for_ms(5_000);
        let pod = testkit::live_pods(&sim, "default").remove(0).metadata.name.unwrap();
        sim.api
            .modify(ids::pods(), "default", &pod, true, |o| {
                if let Object::Pod(p) = o {
                    p.status_mut().phase = Some("Succeeded".into());
                }
                true
            })
            .expect("succeed");
        sim.run_for_ms(20_000);
        assert!(sim.api.get(ids::jobs(), "default", "once").is_ok(), "kept until the TTL passes");
        sim.run_for_ms(20_000);
        assert!(sim.api.get(ids::jobs(), "default", "once").is_err(), "deleted after the TTL");
        assert!(testkit::pods(&sim, "default").is_empty(), "its pods go with it");
    }
}
