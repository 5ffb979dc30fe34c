//! Lessons: guided, self-checking exercises on the simulated cluster.
//!
//! A lesson is one Markdown file with a small front matter (see the README,
//! "Writing a lesson"): a title, a summary, the cluster profile and seed,
//! setup lines, and steps, each with its text, hints, a reference solution
//! (script lines, as `miniplane script` runs them) and a check (`check.rs`).
//! The files in the top-level `lessons/` folder are compiled into the
//! program (`build.rs`); others can be opened from a file, pasted, or
//! carried in a share link.
//!
//! - `parse`: lesson text → [`Lesson`], or an error naming the line.
//! - `check`: the check language and its read-only evaluation.
//! - `markdown`: the Markdown subset lesson text is written in.
//! - `progress`: where a learner is, kept in the scene (and so in the
//!   autosave and in share links), and the rules that advance it.
//! - `verify`: `miniplane lesson verify`: setup, then for each step the
//!   check must fail, the solution runs, and the check must then hold.

pub mod check;
pub mod markdown;
pub mod parse;
pub mod progress;
pub mod verify;

use crate::engine::cluster::{Profile, ProfileKind};
use crate::engine::script;

pub use parse::{parse, LessonError};

/// The lessons built into this program: (id, file text), in file order.
static BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_lessons.rs"));

/// A parsed lesson.
#[derive(Clone, Debug)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub profile: ProfileKind,
    pub seed: u64,
    /// Where the lesson comes from (a book's exercise), if it says.
    pub source: Option<String>,
    /// The text before the first step.
    pub intro: Vec<markdown::Block>,
    /// Lines run on a fresh cluster before the learner starts.
    pub setup: Vec<script::Command>,
    pub steps: Vec<Step>,
    /// The `## Summary` section, shown when every step is done.
    pub outro: Vec<markdown::Block>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub title: String,
    pub text: Vec<markdown::Block>,
    pub hints: Vec<Vec<markdown::Block>>,
    pub solution: Vec<script::Command>,
    pub check: check::Check,
}

/// The ids and texts of the built-in lessons.
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// A built-in lesson by id.
pub fn builtin(id: &str) -> Option<Result<Lesson, LessonError>> {
    BUILTIN.iter().find(|(i, _)| *i == id).map(|(i, text)| parse(text, Some(i)))
}

/// What a link's fragment starts with to open a built-in lesson (`#lesson=ID`)
/// or a lesson carried whole in the link (`#lessontext=…`).
pub const LINK_PREFIX: &str = "lesson=";
pub const TEXT_LINK_PREFIX: &str = "lessontext=";

/// The fragment (without `#`) that opens a lesson written elsewhere, at its start.
pub fn text_link(text: &str) -> String {
    use base64::Engine as _;
    let deflated = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9);
    format!("{TEXT_LINK_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(deflated))
}

/// The lesson text in a `lessontext=` fragment; every failure is a message.
pub fn text_from_link(data: &str) -> Result<String, String> {
    use base64::Engine as _;
    let deflated = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data.trim_end_matches('=').as_bytes()).map_err(|_| "the lesson in the link is damaged (not base64)".to_string())?;
    let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, parse::MAX_LESSON_BYTES).map_err(|_| "the lesson in the link is damaged or too big".to_string())?;
    String::from_utf8(bytes).map_err(|_| "the lesson in the link is not text".to_string())
}

/// The components a cluster of `profile` has, by the names checks and scripts use.
pub fn component_names(profile: ProfileKind) -> Vec<String> {
    let mut out: Vec<String> = ["apiserver", "etcd", "scheduler", "controller-manager"].iter().map(|s| s.to_string()).collect();
    for node in Profile::new(profile).nodes {
        for prefix in ["node", "kubelet", "kube-proxy"] {
            out.push(format!("{prefix}/{}", node.name));
        }
    }
    out
}

/// The name of a profile as lessons and scenes write it.
pub fn profile_name(profile: ProfileKind) -> &'static str {
    match profile {
        ProfileKind::Default => "default",
        ProfileKind::Minikube => "minikube",
    }
}

/// A span of virtual time as a learner reads it: `45s`, `5m 40s`, `1h 2m`.
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m {sec}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_text_travels_in_a_link() {
        let text = "---\ntitle: é\n---\n";
        let link = text_link(text);
        let data = link.strip_prefix(TEXT_LINK_PREFIX).expect("prefix");
        assert_eq!(text_from_link(data).as_deref(), Ok(text));
        assert!(text_from_link("%%%").is_err());
        assert!(text_from_link("AAAA").is_err());
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45_000), "45s");
        assert_eq!(human_duration(340_500), "5m 40s");
        assert_eq!(human_duration(300_000), "5m");
        assert_eq!(human_duration(3_720_000), "1h 2m");
    }

    #[test]
    fn every_builtin_lesson_parses() {
        assert!(!BUILTIN.is_empty());
        for (id, text) in BUILTIN {
            let lesson = parse(text, Some(id)).unwrap_or_else(|e| panic!("lessons/{id}: {e}"));
            assert_eq!(lesson.id, *id);
            assert!(!lesson.steps.is_empty());
        }
        let mut ids: Vec<&str> = BUILTIN.iter().map(|(i, _)| *i).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), BUILTIN.len(), "lesson ids are unique");
    }
}
