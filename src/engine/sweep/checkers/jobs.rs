//! A Job counts each of its pods at most once: `succeeded + failed`
//! never exceeds the number of distinct pods it ever had.

use std::collections::{BTreeMap, BTreeSet};

use super::pods;
use super::{Checker, Observation};
use crate::engine::api::{ids, Object};

#[derive(Default)]
pub struct JobCountsEachPodOnce {
    /// Job uid → every pod uid seen controlled by it.
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl Checker for JobCountsEachPodOnce {
    fn name(&self) -> &'static str {
        "job-counts-a-pod-twice"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        for obj in obs.pods() {
            let Object::Pod(pod) = &*obj else { continue };
            if let (Some(owner), Some(uid)) = (pods::controller_uid(pod), pod.metadata.uid.as_ref()) {
                self.seen.entry(owner.to_string()).or_default().insert(uid.clone());
            }
        }
        // Kept for jobs that are gone too: a restore can bring one back.
        let jobs = obs.stored(ids::jobs());
        for obj in &jobs {
            let Object::Job(job) = &**obj else { continue };
            let Some(uid) = job.metadata.uid.as_ref() else { continue };
            let status = job.status.as_ref();
            let counted = status.and_then(|s| s.succeeded).unwrap_or(0) + status.and_then(|s| s.failed).unwrap_or(0);
            let had = self.seen.get(uid).map_or(0, BTreeSet::len);
            if counted as usize > had {
                return Err(format!(
                    "job {}/{} counts {counted} finished pods ({} succeeded, {} failed) but only ever had {had}",
                    job.metadata.namespace.as_deref().unwrap_or(""),
                    job.metadata.name.as_deref().unwrap_or(""),
                    status.and_then(|s| s.succeeded).unwrap_or(0),
                    status.and_then(|s| s.failed).unwrap_or(0)
                ));
            }
        }
        Ok(())
    }
}
