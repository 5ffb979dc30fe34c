//! A Job never runs more pods at once than its `parallelism`: a controller
//! that acts on a pod cache missing its own recent creations makes too
//! many, then deletes the extras, which count as failures.

use std::collections::BTreeMap;

use super::pods;
use super::{Checker, Observation};
use crate::engine::api::{ids, Object};

pub struct JobStaysWithinParallelism;

impl Checker for JobStaysWithinParallelism {
    fn name(&self) -> &'static str {
        "job-exceeds-parallelism"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let mut active: BTreeMap<String, i32> = BTreeMap::new();
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            if pods::terminating(pod) || matches!(pods::phase(pod), "Succeeded" | "Failed") {
                continue;
            }
            if let Some(owner) = pods::controller_uid(pod) {
                *active.entry(owner.to_string()).or_default() += 1;
            }
        }
        for obj in obs.stored(ids::jobs()) {
            let Object::Job(job) = &*obj else { continue };
            let (Some(uid), Some(spec)) = (job.metadata.uid.as_ref(), job.spec.as_ref()) else { continue };
            let parallelism = spec.parallelism.unwrap_or(1);
            let running = active.get(uid).copied().unwrap_or(0);
            if running > parallelism {
                return Err(format!(
                    "job {}/{} has {running} pods running at once, parallelism {parallelism}",
                    job.metadata.namespace.as_deref().unwrap_or(""),
                    job.metadata.name.as_deref().unwrap_or("")
                ));
            }
        }
        Ok(())
    }
}
