//! Where a learner is in a lesson, and the one rule that moves them on: the
//! current step's check is evaluated, and when it holds the step is passed
//! and the next begins. The page and `miniplane lesson verify` both use it.
//!
//! Progress travels inside the scene (`crate::scene`), so it is autosaved
//! with the cluster, survives a reload, and a share link opens the same
//! cluster at the same step.

use serde::{Deserialize, Serialize};

use super::check::{self, Evaluation, RanLine};
use super::{builtin, parse, Lesson, LessonError};
use crate::engine::cluster::Cluster;

/// Lines remembered per step, and how much of each.
pub const MAX_RAN: usize = 40;
const MAX_LINE_CHARS: usize = 1_000;
const MAX_OUTPUT_CHARS: usize = 4_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The current step, from 0; the step count once every step is done.
    pub step: usize,
    /// Lines run while the current step was current (for `ran` checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ran: Vec<RanLine>,
    /// Hints shown for the current step.
    #[serde(default)]
    pub hints: usize,
    /// Hints shown over the whole lesson.
    #[serde(default)]
    pub hints_used: usize,
    /// Steps done with "show me".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown: Vec<usize>,
    /// Where the current step began: the scene's action count and virtual
    /// milliseconds. Resetting the step rewinds the scene to here.
    #[serde(default)]
    pub step_actions: usize,
    #[serde(default)]
    pub step_ms: u64,
    /// Virtual milliseconds when the lesson started and when each step was passed.
    #[serde(default)]
    pub started_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_ms: Vec<u64>,
}

impl Progress {
    /// A lesson beginning now, after its setup (`actions` scene actions so far).
    pub fn start(now_ms: u64, actions: usize) -> Self {
        Progress { step_actions: actions, step_ms: now_ms, started_ms: now_ms, ..Default::default() }
    }

    pub fn is_done(&self, lesson: &Lesson) -> bool {
        self.step >= lesson.steps.len()
    }

    /// Remembers a line the learner ran (bounded: the oldest go first).
    pub fn record(&mut self, line: &str, output: &str, ok: bool) {
        if self.ran.len() >= MAX_RAN {
            self.ran.remove(0);
        }
        self.ran.push(RanLine { line: clip(line, MAX_LINE_CHARS), output: clip(output, MAX_OUTPUT_CHARS), ok });
    }

    /// Evaluates the current step's check; when it holds the step is passed
    /// and the next one begins at `now_ms` (with `actions` scene actions).
    /// Returns the evaluation and the index of the step just passed, if any.
    pub fn tick(&mut self, lesson: &Lesson, cluster: &mut Cluster, now_ms: u64, actions: usize) -> (Option<Evaluation>, Option<usize>) {
        let Some(step) = lesson.steps.get(self.step) else { return (None, None) };
        let evaluation = check::evaluate(&step.check, cluster, &self.ran);
        if !evaluation.holds {
            return (Some(evaluation), None);
        }
        let passed = self.step;
        self.passed_ms.push(now_ms);
        self.step += 1;
        self.ran.clear();
        self.hints = 0;
        self.step_actions = actions;
        self.step_ms = now_ms;
        (Some(evaluation), Some(passed))
    }

    pub fn show_hint(&mut self, lesson: &Lesson) {
        let available = lesson.steps.get(self.step).map_or(0, |s| s.hints.len());
        if self.hints < available {
            self.hints += 1;
            self.hints_used += 1;
        }
    }

    pub fn mark_shown(&mut self) {
        if !self.shown.contains(&self.step) {
            self.shown.push(self.step);
        }
    }

    /// Forgets what was done in the current step (its lines and hints).
    pub fn reset_step(&mut self) {
        self.ran.clear();
        self.hints = 0;
        self.shown.retain(|s| *s != self.step);
    }

    /// Whether stored progress fits its lesson and scene; the error says why not.
    pub fn validate(&self, lesson: &Lesson, actions: usize, until_ms: u64) -> Result<(), String> {
        let steps = lesson.steps.len();
        if self.step > steps {
            return Err(format!("it is at step {} of a lesson of {steps}", self.step + 1));
        }
        if self.ran.len() > MAX_RAN || self.ran.iter().any(|r| r.line.chars().count() > MAX_LINE_CHARS || r.output.chars().count() > MAX_OUTPUT_CHARS) {
            return Err("it remembers too many or too long lines".into());
        }
        if self.hints > lesson.steps.get(self.step).map_or(0, |s| s.hints.len()) {
            return Err("it shows more hints than the step has".into());
        }
        if self.shown.iter().any(|s| *s >= steps) || self.shown.len() > steps || self.passed_ms.len() != self.step.min(steps) {
            return Err("its record of passed steps does not fit the lesson".into());
        }
        if self.step_actions > actions || self.step_ms > until_ms || self.started_ms > self.step_ms {
            return Err("its current step begins after the end of the scene".into());
        }
        Ok(())
    }
}

fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

/// The lesson a scene follows: a built-in one by id, or a custom one by its
/// text, with the learner's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Following {
    pub id: String,
    /// The lesson file's text, for a lesson that is not built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub progress: Progress,
}

impl Following {
    /// The lesson itself.
    pub fn lesson(&self) -> Result<Lesson, LessonError> {
        match &self.text {
            Some(text) => parse(text, None),
            None => builtin(&self.id).unwrap_or_else(|| Err(LessonError { line: 0, message: format!("there is no built-in lesson \"{}\" in this version of Miniplane", self.id) })),
        }
    }
}

/// What the completion summary shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub steps: usize,
    pub shown: usize,
    pub hints_used: usize,
    /// Virtual milliseconds from the start to the last step passed.
    pub virtual_ms: u64,
}

impl Progress {
    pub fn summary(&self, lesson: &Lesson) -> Summary {
        Summary {
            steps: lesson.steps.len(),
            shown: self.shown.len(),
            hints_used: self.hints_used,
            virtual_ms: self.passed_ms.last().map_or(0, |last| last.saturating_sub(self.started_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::Profile;

    const LESSON: &str = "---\ntitle: T\nsummary: S\n---\n## Stop it\n```hint\nuse stop\n```\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\nran stop scheduler\n```\n## Start it\n```solution\nstart scheduler\n```\n```check\ncomponent scheduler running\n```\n";

    #[test]
    fn a_step_passes_when_its_check_holds_and_the_next_begins() {
        let lesson = parse(LESSON, None).expect("parses");
        let mut cluster = Cluster::new(Profile::new(lesson.profile), lesson.seed);
        let mut p = Progress::start(60_000, 0);
        let (ev, passed) = p.tick(&lesson, &mut cluster, 60_000, 0);
        assert_eq!(passed, None);
        assert!(!ev.expect("evaluated").holds);
        cluster.sim.stop("scheduler").unwrap();
        // Stopped with a click, not typed: the `ran` term still fails.
        assert_eq!(p.tick(&lesson, &mut cluster, 60_000, 1).1, None);
        p.record("stop scheduler", "", true);
        p.show_hint(&lesson);
        p.show_hint(&lesson);
        assert_eq!(p.hints, 1, "only as many hints as the step has");
        assert_eq!(p.tick(&lesson, &mut cluster, 61_000, 2).1, Some(0));
        assert_eq!((p.step, p.step_actions, p.step_ms, p.hints), (1, 2, 61_000, 0));
        assert!(p.ran.is_empty());
        p.validate(&lesson, 2, 61_000).expect("valid");
        cluster.sim.start("scheduler").unwrap();
        assert_eq!(p.tick(&lesson, &mut cluster, 65_000, 3).1, Some(1));
        assert!(p.is_done(&lesson));
        assert_eq!(p.tick(&lesson, &mut cluster, 66_000, 3), (None, None));
        assert_eq!(p.summary(&lesson), Summary { steps: 2, shown: 0, hints_used: 1, virtual_ms: 5_000 });
    }

    #[test]
    fn stored_progress_that_does_not_fit_is_refused() {
        let lesson = parse(LESSON, None).expect("parses");
        let ok = Progress::start(60_000, 0);
        ok.validate(&lesson, 0, 60_000).expect("valid");
        let bad = [
            Progress { step: 3, ..ok.clone() },
            Progress { hints: 5, ..ok.clone() },
            Progress { shown: vec![7], ..ok.clone() },
            Progress { step: 1, ..ok.clone() },
            Progress { step_actions: 9, ..ok.clone() },
            Progress { step_ms: 90_000, ..ok.clone() },
            Progress { ran: vec![RanLine::default(); MAX_RAN + 1], ..ok.clone() },
        ];
        for p in bad {
            assert!(p.validate(&lesson, 0, 60_000).is_err(), "{p:?}");
        }
    }

    #[test]
    fn remembered_lines_are_bounded() {
        let mut p = Progress::default();
        for i in 0..MAX_RAN + 5 {
            p.record(&format!("get pods {i}"), &"é".repeat(MAX_OUTPUT_CHARS + 10), true);
        }
        assert_eq!(p.ran.len(), MAX_RAN);
        assert_eq!(p.ran[0].line, "get pods 5");
        assert_eq!(p.ran[0].output.chars().count(), MAX_OUTPUT_CHARS);
    }

    #[test]
    fn a_following_names_its_lesson() {
        let custom = Following { id: "t".into(), text: Some(LESSON.into()), progress: Progress::default() };
        assert_eq!(custom.lesson().expect("parses").steps.len(), 2);
        let missing = Following { id: "no-such-lesson".into(), text: None, progress: Progress::default() };
        assert!(missing.lesson().unwrap_err().message.contains("no-such-lesson"));
    }
}
