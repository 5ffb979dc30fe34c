//! The fault sweep (`miniplane sweep`): for each seed, a random run of
//! workloads under random faults, written as a script and run with the
//! invariant checkers watching after every command and at every instant
//! of a sleep. The faults then end and the cluster has a bounded time to
//! reach every controller's desired state.
//!
//! A violation or a panic is reported with its seed, step and invariant,
//! and the run is shrunk (commands dropped while the same failure still
//! happens) to a script that `miniplane script --check` replays.
//!
//! Layout: [`generate`] writes the runs, [`checked`] runs them with the
//! checkers, [`checkers`] holds one invariant per file, [`observe`] is
//! what the checkers may read.

pub mod checked;
pub mod checkers;
pub mod generate;
pub mod observe;

use std::panic::{self, AssertUnwindSafe};

use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::kubectl::{FileSource, NoFiles};
use crate::engine::script;
use checked::{CheckedRun, Violation};
use generate::{Chunk, Generator};

/// How often the sweep looks for convergence during the final wait.
const CONVERGE_POLL_MS: u64 = 30_000;
/// Replays a shrink may spend on one failure.
const SHRINK_BUDGET: usize = 150;

#[derive(Clone, Debug)]
pub struct Options {
    pub seeds: u64,
    pub first_seed: u64,
    pub steps: usize,
    pub profile: ProfileKind,
}

/// How one run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Violation(Violation),
    Panic { step: usize, message: String },
}

impl Failure {
    fn same_kind(&self, other: &Failure) -> bool {
        match (self, other) {
            (Failure::Violation(a), Failure::Violation(b)) => a.invariant == b.invariant,
            (Failure::Panic { .. }, Failure::Panic { .. }) => true,
            _ => false,
        }
    }
    fn step(&self) -> usize {
        match self {
            Failure::Violation(v) => v.step,
            Failure::Panic { step, .. } => *step,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Violation(v) => write!(f, "{v}"),
            Failure::Panic { step, message } => write!(f, "step {step}: panic: {message}"),
        }
    }
}

/// One seed's run.
pub struct SeedReport {
    pub seed: u64,
    pub steps: usize,
    pub faults: usize,
    pub failure: Option<Failure>,
    /// The shrunk script that replays the failure.
    pub script: Option<String>,
}

/// The script text of some chunks.
pub fn script_text(chunks: &[Chunk]) -> String {
    chunks.iter().map(|c| format!("{}\n", c.text)).collect()
}

/// Runs a script with the checkers, as `miniplane script --check` does:
/// the invariants after every command, and convergence at the end if the
/// script ends with every fault over and a sleep. Returns the transcript so far and
/// the first failure.
pub fn run_checked(profile: ProfileKind, seed: u64, text: &str, files: &dyn FileSource, poll_convergence: bool) -> (String, Option<Failure>) {
    let commands = match script::parse(text) {
        Ok(c) => c,
        Err(e) => return (String::new(), Some(Failure::Panic { step: 0, message: format!("script does not parse: {e}") })),
    };
    let mut transcript = String::new();
    let steps = std::cell::Cell::new(0);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut run = CheckedRun::new(Cluster::new(Profile::new(profile), seed));
        if let Err(v) = run.check() {
            return Some(Failure::Violation(v));
        }
        let last = commands.len().saturating_sub(1);
        for (i, command) in commands.iter().enumerate() {
            steps.set(i + 1);
            transcript.push_str(&format!("$ {}\n", command.text));
            // The sweep's final wait ends as soon as the cluster has converged.
            let converging = poll_convergence && i == last && run.all_clear();
            let result = match (&command.step, converging) {
                (script::Step::Sleep(ms), true) => wait_for_convergence(&mut run, *ms, command),
                _ => run.run(command, files).map(|out| transcript.push_str(&out)),
            };
            if let Err(v) = result {
                return Some(Failure::Violation(v));
            }
        }
        // Convergence is owed once every fault is over and the script has
        // given the cluster time (it ends with a sleep).
        let waited = commands.last().is_some_and(|c| matches!(c.step, script::Step::Sleep(_)));
        if waited && run.all_clear() {
            if let Err(v) = run.check_converged() {
                return Some(Failure::Violation(v));
            }
        }
        None
    }));
    match outcome {
        Ok(failure) => (transcript, failure),
        Err(payload) => {
            let mut message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            if let Some(place) = PANIC_PLACE.with(|p| p.borrow_mut().take()) {
                message.push_str(&format!(" (at {place})"));
            }
            (transcript, Some(Failure::Panic { step: steps.get(), message }))
        }
    }
}

thread_local! {
    static PANIC_PLACE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Panics inside a sweep are caught and reported with the run; this keeps
/// them from also printing a backtrace notice, and remembers where they happened.
pub fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        PANIC_PLACE.with(|p| *p.borrow_mut() = place);
    }));
}

/// Sleeps up to `ms` in slices, checking the invariants, and stops early
/// once every controller's desired state is reached.
fn wait_for_convergence(run: &mut CheckedRun, ms: u64, command: &script::Command) -> Result<(), Violation> {
    run.begin(command.line);
    let end = run.cluster.now().plus_millis(ms);
    while run.cluster.now() < end {
        run.sleep(CONVERGE_POLL_MS.min(end.millis_since(run.cluster.now())))?;
        run.check()?;
        if run.check_converged().is_ok() {
            return Ok(());
        }
    }
    Ok(())
}

/// The script a seed runs.
pub fn script_for(seed: u64, steps: usize, profile: ProfileKind) -> String {
    script_text(&Generator::new(seed, &Profile::new(profile)).run(steps))
}

/// One seed: generate, run, and shrink a failure.
pub fn run_seed(seed: u64, opts: &Options) -> SeedReport {
    let profile = Profile::new(opts.profile);
    let chunks = Generator::new(seed, &profile).run(opts.steps);
    let faults = chunks.iter().filter(|c| c.fault).count();
    let text = script_text(&chunks);
    let (_, failure) = run_checked(opts.profile, seed, &text, &NoFiles, true);
    let script = failure.as_ref().map(|f| {
        let shrunk = shrink(opts.profile, seed, &chunks, f);
        header(seed, opts.profile, f, &shrunk) + &script_text(&shrunk)
    });
    SeedReport { seed, steps: chunks.len(), faults, failure, script }
}

fn header(seed: u64, profile: ProfileKind, failure: &Failure, chunks: &[Chunk]) -> String {
    let profile_name = match profile {
        ProfileKind::Default => "default",
        ProfileKind::Minikube => "minikube",
    };
    format!(
        "# miniplane sweep: seed {seed}, {}\n# replay: miniplane script --check --seed {seed} --profile {profile_name} FILE\n# {} commands after shrinking\n",
        failure,
        chunks.len()
    )
}

/// Drops commands while the same kind of failure still happens: halves,
/// then quarters…, then single commands, within a budget of replays.
pub fn shrink(profile: ProfileKind, seed: u64, chunks: &[Chunk], failure: &Failure) -> Vec<Chunk> {
    let mut current: Vec<Chunk> = chunks[..failure.step().clamp(1, chunks.len())].to_vec();
    // A convergence failure needs the tail that ends the faults.
    if matches!(failure, Failure::Violation(v) if v.invariant == checked::NOT_CONVERGED) {
        current = chunks.to_vec();
    }
    let mut budget = SHRINK_BUDGET;
    let reproduces = |candidate: &[Chunk], budget: &mut usize| -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let (_, again) = run_checked(profile, seed, &script_text(candidate), &NoFiles, true);
        again.is_some_and(|f| f.same_kind(failure))
    };
    let mut parts = 2;
    while current.len() >= 2 && budget > 0 {
        let size = current.len().div_ceil(parts);
        let mut removed = false;
        let mut start = 0;
        while start < current.len() {
            let end = (start + size).min(current.len());
            let candidate: Vec<Chunk> = current[..start].iter().chain(&current[end..]).cloned().collect();
            if !candidate.is_empty() && reproduces(&candidate, &mut budget) {
                current = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if removed {
            parts = parts.saturating_sub(1).max(2);
        } else if size == 1 {
            break;
        } else {
            parts = (parts * 2).min(current.len());
        }
    }
    current
}

/// Counts over a whole sweep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub seeds: u64,
    pub steps: u64,
    pub faults: u64,
    pub violations: u64,
    pub panics: u64,
}

impl Totals {
    pub fn add(&mut self, report: &SeedReport) {
        self.seeds += 1;
        self.steps += report.steps as u64;
        self.faults += report.faults as u64;
        match report.failure {
            Some(Failure::Violation(_)) => self.violations += 1,
            Some(Failure::Panic { .. }) => self.panics += 1,
            None => {}
        }
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"seeds\":{},\"steps\":{},\"faults\":{},\"violations\":{},\"panics\":{}}}",
            self.seeds, self.steps, self.faults, self.violations, self.panics
        )
    }
}

/// What to print for one failing seed.
pub fn describe(report: &SeedReport) -> String {
    let Some(failure) = &report.failure else { return String::new() };
    let mut out = format!("seed {}: {failure}\n", report.seed);
    if let Some(script) = &report.script {
        out.push_str("--- shrunk script ---\n");
        out.push_str(script);
        out.push_str("--- end ---\n");
    }
    out
}

#[cfg(test)]
mod tests;
