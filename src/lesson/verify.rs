//! `miniplane lesson verify`: a lesson's own test. On a fresh cluster of the
//! lesson's profile and seed the setup runs (every line must succeed); then,
//! for each step, its check must not hold yet, the reference solution runs
//! as a learner would type it, and the check must hold within
//! [`CHECK_WITHIN_MS`] of virtual time. Evaluating a check must leave the
//! cluster exactly as it was.

use super::progress::Progress;
use super::Lesson;
use crate::engine::cluster::{Cluster, Profile};
use crate::engine::kubectl::NoFiles;
use crate::engine::script;

/// How long after its solution a step's check may take to hold (virtual).
pub const CHECK_WITHIN_MS: u64 = 15 * 60_000;
/// How often the check is evaluated while waiting (virtual).
const POLL_MS: u64 = 1_000;

/// One verified step: how long after its solution the check held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    pub title: String,
    pub held_after_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub id: String,
    pub steps: Vec<StepReport>,
    /// Virtual time the whole lesson took, setup included.
    pub virtual_ms: u64,
}

/// Why a lesson failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub id: String,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.id, self.message)
    }
}

pub fn verify(lesson: &Lesson) -> Result<Report, Failure> {
    let fail = |message: String| Failure { id: lesson.id.clone(), message };
    let mut run = Run::start(lesson).map_err(fail)?;
    let mut steps = Vec::new();
    for (index, step) in lesson.steps.iter().enumerate() {
        let name = format!("step {} \"{}\"", index + 1, step.title);
        if run.tick().map_err(|e| fail(format!("{name}: {e}")))? {
            return Err(fail(format!("{name}: the check already holds before the step is done (line {})", step.check.line)));
        }
        run.type_lines(&step.solution);
        let held_after_ms = run.wait_for_pass(CHECK_WITHIN_MS).map_err(|e| fail(format!("{name}: {e}")))?;
        steps.push(StepReport { title: step.title.clone(), held_after_ms });
    }
    Ok(Report { id: lesson.id.clone(), steps, virtual_ms: run.cluster.now().as_millis() - run.started_ms })
}

/// A lesson being done the way a learner does it, natively: for
/// `verify` and for tests that try wrong answers.
pub struct Run<'a> {
    pub lesson: &'a Lesson,
    pub cluster: Cluster,
    pub progress: Progress,
    started_ms: u64,
}

impl<'a> Run<'a> {
    /// A fresh cluster of the lesson's profile and seed, after its setup
    /// (every setup line must succeed).
    pub fn start(lesson: &'a Lesson) -> Result<Self, String> {
        let mut cluster = Cluster::new(Profile::new(lesson.profile), lesson.seed);
        let started_ms = cluster.now().as_millis();
        for command in &lesson.setup {
            let (output, ok) = script::run_step_status(&mut cluster, &command.step, &NoFiles);
            if !ok {
                return Err(format!("setup line {} ({}) failed:\n{}", command.line, command.text, output.trim_end()));
            }
        }
        let progress = Progress::start(cluster.now().as_millis(), 0);
        Ok(Run { lesson, cluster, progress, started_ms })
    }

    /// Runs lines as if typed into the terminal, remembering them for `ran` checks.
    pub fn type_lines(&mut self, lines: &[script::Command]) {
        for command in lines {
            let (output, ok) = script::run_step_status(&mut self.cluster, &command.step, &NoFiles);
            self.progress.record(&command.text, &output, ok);
        }
    }

    /// Evaluates the current step's check; whether it passed (and the next step began).
    pub fn tick(&mut self) -> Result<bool, String> {
        Ok(tick(&mut self.progress, self.lesson, &mut self.cluster)?.1.is_some())
    }

    /// Lets virtual time pass until the current step passes, at most
    /// `within_ms`; how long it took, or what did not hold.
    pub fn wait_for_pass(&mut self, within_ms: u64) -> Result<u64, String> {
        let from = self.cluster.now().as_millis();
        loop {
            let (evaluation, passed) = tick(&mut self.progress, self.lesson, &mut self.cluster)?;
            if passed.is_some() {
                return Ok(self.cluster.now().as_millis() - from);
            }
            if self.cluster.now().as_millis() - from >= within_ms {
                let failing: Vec<String> = evaluation.map(|e| e.ticks.into_iter().filter(|t| !t.holds).map(|t| format!("{}{}", "  ".repeat(t.depth), t.text)).collect()).unwrap_or_default();
                let line = self.lesson.steps.get(self.progress.step).map_or(0, |s| s.check.line);
                return Err(format!("the check (line {line}) does not hold within {} of virtual time; not holding:\n{}", super::human_duration(within_ms), failing.join("\n")));
            }
            self.cluster.sim.run_for_ms(POLL_MS);
        }
    }

    /// Does every step before `step` with its reference solution.
    pub fn solve_up_to(&mut self, step: usize) -> Result<(), String> {
        while self.progress.step < step {
            let Some(s) = self.lesson.steps.get(self.progress.step) else { break };
            let solution = s.solution.clone();
            self.type_lines(&solution);
            self.wait_for_pass(CHECK_WITHIN_MS)?;
        }
        Ok(())
    }
}

/// One evaluation, refused if it changed anything in the cluster.
fn tick(progress: &mut Progress, lesson: &Lesson, cluster: &mut Cluster) -> Result<(Option<super::check::Evaluation>, Option<usize>), String> {
    let before = (cluster.sim.api.store().revision(), cluster.sim.activity.total(), cluster.now());
    let now = cluster.now().as_millis();
    let result = progress.tick(lesson, cluster, now, 0);
    let after = (cluster.sim.api.store().revision(), cluster.sim.activity.total(), cluster.now());
    if before != after {
        return Err("evaluating the check changed the cluster".into());
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::parse;

    fn lesson(steps: &str) -> Lesson {
        parse(&format!("---\ntitle: T\nsummary: S\n---\n{steps}"), None).expect("parses")
    }

    #[test]
    fn a_sound_lesson_verifies() {
        let l = lesson("## Scale\n```solution\nkubectl create deployment web --image=nginx --replicas=2\n```\n```check\nkubectl get deploy web -o jsonpath={.status.readyReplicas}\n  expect 2\n```\n");
        let report = verify(&l).expect("verifies");
        assert_eq!(report.steps.len(), 1);
        assert!(report.steps[0].held_after_ms > 0, "pods take time to start: {report:?}");
    }

    #[test]
    fn a_check_that_holds_too_early_fails() {
        let l = lesson("## Nothing to do\n```solution\nkubectl get nodes\n```\n```check\ncomponent scheduler running\n```\n");
        let e = verify(&l).unwrap_err();
        assert!(e.message.contains("already holds before"), "{e}");
    }

    #[test]
    fn a_check_that_never_holds_fails_naming_what_does_not_hold() {
        let l = lesson("## Wrong image\n```solution\nkubectl create deployment web --image=nginx\n```\n```check\nkubectl get deploy web -o jsonpath={.status.readyReplicas}\n  expect 5\n```\n");
        let e = verify(&l).unwrap_err();
        assert!(e.message.contains("does not hold within 15m") && e.message.contains("expect 5"), "{e}");
    }

    #[test]
    fn setup_lines_must_succeed() {
        let l = parse("---\ntitle: T\nsummary: S\n---\n```setup\nkubectl get pod missing\n```\n## S\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\n```\n", None).expect("parses");
        let e = verify(&l).unwrap_err();
        assert!(e.message.contains("setup line 6") && e.message.contains("NotFound"), "{e}");
    }
}
