//! Invariant checkers. Each stands apart from the code it checks: it reads
//! only the store, the machines' runtimes, the components' caches and the
//! faults in force (see [`super::observe`]), and keeps its own memory of
//! what it saw before. None of them calls into a controller, the
//! scheduler or the kubelet.
//!
//! `always()` run after every command and at every instant of a sleep;
//! [`converged::check`] runs once, when every fault has ended and the
//! cluster had its time to settle.

pub mod binding;
pub mod capacity;
pub mod converged;
pub mod deployment;
pub mod informers;
pub mod job_parallelism;
pub mod jobs;
pub mod pods;
pub mod revision;
pub mod statefulset;

use super::observe::Observation;

/// One invariant that must hold at every moment.
pub trait Checker {
    /// A short name, printed with a violation (`pod-on-two-nodes`).
    fn name(&self) -> &'static str;
    /// `Err` describes the violation.
    fn check(&mut self, obs: &Observation) -> Result<(), String>;
}

/// Every invariant that must hold all the time, in the order they run.
pub fn always() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(revision::RevisionNeverGoesBack::default()),
        Box::new(binding::OneNodePerPod::default()),
        Box::new(capacity::RequestsFitAllocatable),
        Box::new(statefulset::AtMostOnePerOrdinal),
        Box::new(deployment::MaxUnavailablePromise::default()),
        Box::new(jobs::JobCountsEachPodOnce::default()),
        Box::new(job_parallelism::JobStaysWithinParallelism),
        Box::new(informers::CachesMatchStore),
    ]
}
