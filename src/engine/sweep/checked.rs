//! Runs script commands with the invariant checkers watching: after every
//! command, and at every instant a sleep passes through. The sweep and
//! `miniplane script --check` both run scripts this way, so a violation the
//! sweep reports replays from its script.

use super::checkers::{self, converged, Checker};
use super::observe::Observation;
use crate::engine::cluster::Cluster;
use crate::engine::kubectl::FileSource;
use crate::engine::script::{self, Command, Step};
use crate::engine::sim::clock::VirtualTime;

/// An invariant that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The command (1-based, in script order) after or during which it was seen.
    pub step: usize,
    /// Its line in the script.
    pub line: usize,
    pub at: VirtualTime,
    pub invariant: String,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} (line {}, at {}): {}: {}", self.step, self.line, self.at, self.invariant, self.detail)
    }
}

/// The name a convergence failure goes by.
pub const NOT_CONVERGED: &str = "desired-state-not-reached";

pub struct CheckedRun {
    pub cluster: Cluster,
    checkers: Vec<Box<dyn Checker>>,
    steps: usize,
    line: usize,
}

impl CheckedRun {
    pub fn new(cluster: Cluster) -> Self {
        CheckedRun { cluster, checkers: checkers::always(), steps: 0, line: 0 }
    }

    /// Commands run so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Runs one command and returns what it printed, or the first violation.
    pub fn run(&mut self, command: &Command, files: &dyn FileSource) -> Result<String, Violation> {
        self.begin(command.line);
        let output = match &command.step {
            Step::Sleep(ms) => {
                self.sleep(*ms)?;
                String::new()
            }
            step => script::run_step(&mut self.cluster, step, files),
        };
        self.check()?;
        Ok(output)
    }

    /// Counts a new command, at `line` of the script.
    pub fn begin(&mut self, line: usize) {
        self.steps += 1;
        self.line = line;
    }

    /// Lets `ms` of virtual time pass, stopping at every instant something
    /// happens to look.
    pub fn sleep(&mut self, ms: u64) -> Result<(), Violation> {
        let target = self.cluster.now().plus_millis(ms);
        let mut last = None;
        while let Some(next) = self.cluster.sim.next_timer().filter(|t| *t < target) {
            let here = (next, self.cluster.now());
            if last == Some(here) {
                break; // nothing moved: let the plain run below carry on
            }
            last = Some(here);
            self.cluster.sim.run_until(next.max(self.cluster.now()));
            self.check()?;
        }
        self.cluster.sim.run_until(target);
        Ok(())
    }

    /// Runs every invariant now.
    pub fn check(&mut self) -> Result<(), Violation> {
        let obs = Observation::new(&self.cluster);
        let mut failed = None;
        for checker in &mut self.checkers {
            if let Err(detail) = checker.check(&obs) {
                failed = Some((checker.name(), detail));
                break;
            }
        }
        match failed {
            Some((name, detail)) => Err(self.violation(name, detail)),
            None => Ok(()),
        }
    }

    /// Whether every fault has ended (only then is convergence owed).
    pub fn all_clear(&self) -> bool {
        Observation::new(&self.cluster).all_clear()
    }

    /// The convergence check: every controller's desired state reached.
    pub fn check_converged(&self) -> Result<(), Violation> {
        let problems = converged::problems(&Observation::new(&self.cluster));
        if problems.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        let more = if problems.len() > 5 { format!(" (and {} more)", problems.len() - 5) } else { String::new() };
        Err(self.violation(NOT_CONVERGED, format!("{}{more}", shown.join("; "))))
    }

    fn violation(&self, invariant: &str, detail: String) -> Violation {
        Violation { step: self.steps, line: self.line, at: self.cluster.now(), invariant: invariant.to_string(), detail }
    }
}
