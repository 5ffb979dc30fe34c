//! Lesson text → [`Lesson`]. Every mistake is an error naming its line, and
//! the whole file is checked before anything runs.
//!
//! ```text
//! ---
//! title: A ReplicaSet heals itself
//! summary: Delete a pod and watch its ReplicaSet replace it.
//! profile: default            (or minikube; default: default)
//! seed: 1                     (default: 1)
//! ---
//! Introduction (Markdown).
//!
//! ```setup
//! kubectl create deployment web --image=nginx --replicas=3
//! sleep 30s
//! ```
//!
//! ## A step's title
//! Its text (Markdown).
//! ```hint
//! A hint (Markdown); a step may have several.
//! ```
//! ```solution
//! kubectl delete pod -l app=web --wait=false
//! ```
//! ```check
//! kubectl get rs -l app=web -o jsonpath={.items[0].status.readyReplicas}
//!   expect 3
//! ```
//!
//! ## Summary
//! Shown when every step is done (optional, last).
//! ```

use super::{check, component_names, markdown, Lesson, Step};
use crate::engine::cluster::ProfileKind;
use crate::engine::script::{self, Step as ScriptStep};

/// The most a lesson file may hold.
pub const MAX_LESSON_BYTES: usize = 256 * 1024;
const MAX_STEPS: usize = 60;
const MAX_SEED: u64 = (1 << 53) - 1;

/// A lesson file that cannot be used: the line (from 1; 0 for the whole
/// file) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

fn error(line: usize, message: impl Into<String>) -> LessonError {
    LessonError { line, message: message.into() }
}

/// A fenced block with a meaning to the lesson.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Setup,
    Hint,
    Solution,
    Check,
}

impl Part {
    fn from_info(info: &str) -> Option<Part> {
        match info {
            "setup" => Some(Part::Setup),
            "hint" => Some(Part::Hint),
            "solution" => Some(Part::Solution),
            "check" => Some(Part::Check),
            _ => None,
        }
    }
}

/// A section of the body: the introduction, a step or the summary.
#[derive(Default)]
struct Section {
    /// Line of the `## ` heading (0 for the introduction).
    line: usize,
    title: String,
    text: String,
    parts: Vec<(Part, usize, String)>,
}

/// Parses a lesson. `file_id` is the id from the file name, if it has one;
/// without it the front matter's `id` or the title makes one.
pub fn parse(text: &str, file_id: Option<&str>) -> Result<Lesson, LessonError> {
    if text.len() > MAX_LESSON_BYTES {
        return Err(error(0, format!("the lesson is {} KB; at most {} KB", text.len() / 1024, MAX_LESSON_BYTES / 1024)));
    }
    let lines: Vec<&str> = text.lines().collect();
    let (front, body_start) = front_matter(&lines)?;
    let mut title = None;
    let mut summary = None;
    let mut profile = ProfileKind::Default;
    let mut seed = 1;
    let mut id = None;
    let mut source = None;
    for (number, key, value) in front {
        match key {
            "title" => title = Some(value),
            "summary" => summary = Some(value),
            "profile" => profile = ProfileKind::parse(&value).ok_or_else(|| error(number, format!("unknown profile \"{value}\" (default or minikube)")))?,
            "seed" => {
                seed = value.parse::<u64>().ok().filter(|s| *s <= MAX_SEED).ok_or_else(|| error(number, format!("the seed is a whole number up to {MAX_SEED}, not \"{value}\"")))?
            }
            "id" => {
                if !valid_id(&value) {
                    return Err(error(number, format!("an id is lowercase letters, digits and dashes (at most 64), not \"{value}\"")));
                }
                id = Some(value)
            }
            "source" => source = Some(value),
            other => return Err(error(number, format!("unknown front matter key \"{other}\" (title, summary, profile, seed, id, source)"))),
        }
    }
    let title = title.filter(|t| !t.is_empty()).ok_or_else(|| error(1, "the front matter needs a title: line"))?;
    let summary = summary.filter(|t| !t.is_empty()).ok_or_else(|| error(1, "the front matter needs a summary: line"))?;
    let id = match (file_id, id) {
        (Some(f), _) => f.to_string(),
        (None, Some(i)) => i,
        (None, None) => slug(&title),
    };

    let sections = sections(&lines, body_start)?;
    let components = component_names(profile);
    let mut intro = Vec::new();
    let mut setup = Vec::new();
    let mut steps = Vec::new();
    let mut outro = Vec::new();
    let last = sections.len() - 1;
    for (index, section) in sections.into_iter().enumerate() {
        if index == 0 {
            intro = markdown::parse(&section.text);
            for (part, line, body) in &section.parts {
                match part {
                    Part::Setup if !setup.is_empty() => return Err(error(*line, "a lesson has one setup block")),
                    Part::Setup => setup = script_lines(body, *line + 1, &components, "setup")?,
                    _ => return Err(error(*line, format!("a {} block belongs to a step (after a \"## \" heading)", part_name(*part)))),
                }
            }
            continue;
        }
        if section.title.eq_ignore_ascii_case("summary") {
            if index != last {
                return Err(error(section.line, "the Summary section comes last"));
            }
            if let Some((part, line, _)) = section.parts.first() {
                return Err(error(*line, format!("the Summary section takes text only, not a {} block", part_name(*part))));
            }
            outro = markdown::parse(&section.text);
            continue;
        }
        steps.push(step(section, &components)?);
    }
    if steps.is_empty() {
        return Err(error(body_start.max(1), "the lesson has no steps: each step starts with a \"## Title\" line"));
    }
    if steps.len() > MAX_STEPS {
        return Err(error(0, format!("the lesson has {} steps; at most {MAX_STEPS}", steps.len())));
    }
    Ok(Lesson { id, title, summary, profile, seed, source, intro, setup, steps, outro })
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Setup => "setup",
        Part::Hint => "hint",
        Part::Solution => "solution",
        Part::Check => "check",
    }
}

fn step(section: Section, components: &[String]) -> Result<Step, LessonError> {
    let mut hints = Vec::new();
    let mut solution = None;
    let mut check_block = None;
    for (part, line, body) in &section.parts {
        match part {
            Part::Setup => return Err(error(*line, "the setup block belongs before the first step")),
            Part::Hint => {
                if body.trim().is_empty() {
                    return Err(error(*line, "the hint is empty"));
                }
                hints.push(markdown::parse(body))
            }
            Part::Solution if solution.is_some() => return Err(error(*line, "a step has one solution block")),
            Part::Solution => {
                let lines = script_lines(body, line + 1, components, "solution")?;
                if lines.is_empty() {
                    return Err(error(*line, "the solution is empty: write the lines that do this step"));
                }
                solution = Some(lines);
            }
            Part::Check if check_block.is_some() => return Err(error(*line, "a step has one check block (combine terms in it, or use all/any)")),
            Part::Check => check_block = Some(check::parse(body, line + 1, components).map_err(|e| error(e.line, e.message))?),
        }
    }
    let solution = solution.ok_or_else(|| error(section.line, format!("step \"{}\" has no solution block", section.title)))?;
    let check = check_block.ok_or_else(|| error(section.line, format!("step \"{}\" has no check block", section.title)))?;
    Ok(Step { title: section.title, text: markdown::parse(&section.text), hints, solution, check })
}

/// Script lines of a setup or solution block, with lesson line numbers and
/// component names checked against the lesson's cluster.
fn script_lines(body: &str, first_line: usize, components: &[String], what: &str) -> Result<Vec<script::Command>, LessonError> {
    let mut commands = script::parse(body).map_err(|e| error(first_line + e.line - 1, format!("{what}: {}", e.message)))?;
    for c in &mut commands {
        c.line = first_line + c.line - 1;
        if let ScriptStep::Stop(name) | ScriptStep::Start(name) = &c.step {
            let name = if name == "kube-apiserver" { "apiserver" } else { name.as_str() };
            if !components.iter().any(|n| n == name) {
                return Err(error(c.line, format!("{what}: no component \"{name}\" in this lesson's cluster (there are: {})", components.join(", "))));
            }
        }
    }
    Ok(commands)
}

/// The `key: value` lines between the opening and closing `---`, and the
/// index of the first body line.
fn front_matter<'a>(lines: &[&'a str]) -> Result<(Vec<(usize, &'a str, String)>, usize), LessonError> {
    let Some(open) = lines.iter().position(|l| !l.trim().is_empty()) else {
        return Err(error(0, "the lesson is empty"));
    };
    if lines[open].trim() != "---" {
        return Err(error(open + 1, "a lesson starts with its front matter: a line \"---\", then title: and summary: lines, then \"---\""));
    }
    let mut out = Vec::new();
    let mut i = open + 1;
    while i < lines.len() {
        let line = lines[i].trim();
        let number = i + 1;
        i += 1;
        if line == "---" {
            return Ok((out, i));
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(error(number, format!("front matter lines are \"key: value\", not \"{line}\"")));
        };
        let key = key.trim();
        if out.iter().any(|(_, k, _)| *k == key) {
            return Err(error(number, format!("\"{key}\" is given twice")));
        }
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        out.push((number, key, value.to_string()));
    }
    Err(error(open + 1, "the front matter is not closed by a line \"---\""))
}

/// Splits the body at `## ` headings (outside fenced code), lifting out
/// the fenced blocks that mean something to the lesson.
fn sections(lines: &[&str], start: usize) -> Result<Vec<Section>, LessonError> {
    let mut sections = vec![Section::default()];
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(fence) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
            let fence_char = fence.chars().next().unwrap_or('`');
            let run = trimmed.chars().take_while(|&c| c == fence_char).count();
            let info = trimmed[run..].trim();
            let closes = |l: &str| {
                let t = l.trim();
                t.len() >= run && t.chars().all(|c| c == fence_char)
            };
            let mut end = i + 1;
            while end < lines.len() && !closes(lines[end]) {
                end += 1;
            }
            let part = Part::from_info(info.split_whitespace().next().unwrap_or(""));
            if end >= lines.len() {
                return Err(error(number, format!("the {} block is not closed by a line {}", if part.is_some() { info } else { "code" }, &trimmed[..run])));
            }
            let section = sections.last_mut().expect("one section at least");
            match part {
                Some(part) => {
                    let body: Vec<&str> = lines[i + 1..end].iter().map(|l| dedent(l, indent)).collect();
                    let mut body = body.join("\n");
                    body.push('\n');
                    section.parts.push((part, number, body));
                }
                None => {
                    for l in &lines[i..=end] {
                        section.text.push_str(l);
                        section.text.push('\n');
                    }
                }
            }
            i = end + 1;
            continue;
        }
        if let Some(title) = line.strip_prefix("## ") {
            let title = title.trim().trim_end_matches('#').trim().to_string();
            if title.is_empty() {
                return Err(error(number, "a step needs a title after \"## \""));
            }
            sections.push(Section { line: number, title, ..Default::default() });
        } else if line.trim_end() == "##" {
            return Err(error(number, "a step needs a title after \"## \""));
        } else {
            let section = sections.last_mut().expect("one section at least");
            section.text.push_str(line);
            section.text.push('\n');
        }
        i += 1;
    }
    Ok(sections)
}

fn dedent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    &line[spaces.min(indent)..]
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') && !id.starts_with('-')
}

/// `The API server is down!` → `the-api-server-is-down`.
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
        if s.len() >= 60 {
            break;
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "lesson".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"---
title: A ReplicaSet heals itself
summary: Delete a pod and watch its ReplicaSet replace it.
profile: default
seed: 3
---

Some *intro*.

```setup
kubectl create deployment web --image=nginx --replicas=3
sleep 30s
```

## Delete a pod

Run `kubectl get pods`, then delete one.

```sh
kubectl delete pod -l app=web --wait=false
## not a heading: inside code
```

```hint
Pods carry the label `app=web`.
```

```hint
`kubectl delete pod -l app=web`
```

```solution
kubectl delete pod -l app=web --wait=false
```

```check
ran kubectl delete pod
kubectl get deploy web -o jsonpath={.status.readyReplicas}
  expect 3
```

## Summary

Well done.
"#;

    #[test]
    fn parses_a_whole_lesson() {
        let lesson = parse(GOOD, None).expect("parses");
        assert_eq!(lesson.id, "a-replicaset-heals-itself");
        assert_eq!(lesson.seed, 3);
        assert_eq!(lesson.profile, ProfileKind::Default);
        assert_eq!(lesson.setup.len(), 2);
        assert_eq!(lesson.setup[0].line, 11);
        assert_eq!(lesson.steps.len(), 1);
        let step = &lesson.steps[0];
        assert_eq!(step.title, "Delete a pod");
        assert_eq!(step.hints.len(), 2);
        assert_eq!(step.solution[0].line, 33);
        assert_eq!(step.check.line, 37);
        assert!(step.text.iter().any(|b| matches!(b, markdown::Block::Code { text, .. } if text.contains("## not a heading"))));
        assert_eq!(lesson.outro.len(), 1);
        assert_eq!(parse(GOOD, Some("heal")).expect("parses").id, "heal");
    }

    fn error_of(text: &str) -> LessonError {
        parse(text, None).expect_err("an error")
    }

    fn with(front: &str, body: &str) -> String {
        format!("---\ntitle: T\nsummary: S\n{front}---\n{body}")
    }

    const STEP: &str = "## S\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\n```\n";

    #[test]
    fn bad_files_name_their_line() {
        assert_eq!(error_of("").line, 0);
        assert_eq!(error_of("title: x\n").line, 1);
        assert_eq!(error_of("---\ntitle: T\n").line, 1);
        assert_eq!(error_of("---\nsummary: S\n---\n").line, 1);
        assert_eq!(error_of("---\ntitle: T\nsummary: S\nprofile: kind\n---\n").line, 4);
        assert_eq!(error_of("---\ntitle: T\nsummary: S\nseed: -1\n---\n").line, 4);
        assert_eq!(error_of("---\ntitle: T\nsummary: S\ncolour: red\n---\n").line, 4);
        assert_eq!(error_of("---\ntitle: T\ntitle: U\n---\n").line, 3);
        assert_eq!(error_of("---\ntitle: T\nsummary: S\nid: Not Valid\n---\n").line, 4);
        assert_eq!(error_of("---\ntitle T\n---\n").line, 2);
        // No steps.
        assert!(error_of(&with("", "just text\n")).message.contains("no steps"));
        // A step without check or solution names its heading.
        assert_eq!(error_of(&with("", "## S\n```solution\nstop scheduler\n```\n")).line, 5);
        assert_eq!(error_of(&with("", "## S\n```check\ncomponent scheduler stopped\n```\n")).line, 5);
        // Errors inside blocks point into the block.
        assert_eq!(error_of(&with("", "## S\n```solution\nstop scheduler\nfrobnicate\n```\n```check\ncomponent scheduler stopped\n```\n")).line, 8);
        assert_eq!(error_of(&with("", "## S\n```solution\nstop kubelet/worker-9\n```\n```check\ncomponent scheduler stopped\n```\n")).line, 7);
        assert_eq!(error_of(&with("", "## S\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\nkubectl delete pod x\n```\n")).line, 11);
        assert_eq!(error_of(&with("profile: minikube\n", "## S\n```solution\nstop kubelet/worker-1\n```\n```check\ncomponent scheduler stopped\n```\n")).line, 8);
        // Unclosed fence, misplaced blocks, a summary that is not last.
        assert_eq!(error_of(&with("", "## S\n```check\ncomponent scheduler stopped\n")).line, 6);
        assert_eq!(error_of(&with("", "```check\ncomponent scheduler stopped\n```\n")).line, 5);
        assert_eq!(error_of(&with("", &format!("{STEP}```setup\nsleep 1s\n```\n"))).line, 12);
        assert_eq!(error_of(&with("", &format!("## Summary\nx\n{STEP}"))).line, 5);
        assert_eq!(error_of(&with("", &format!("{STEP}```check\ncomponent scheduler stopped\n```\n"))).line, 12);
        assert_eq!(error_of(&with("", &format!("```setup\nsleep 1s\n```\n```setup\nsleep 1s\n```\n{STEP}"))).line, 8);
        assert_eq!(error_of(&with("", "## \n")).line, 5);
        assert_eq!(error_of(&with("", &format!("{STEP}```hint\n\n```\n"))).line, 12);
        assert_eq!(error_of(&with("", "## S\n```solution\n```\n```check\ncomponent scheduler stopped\n```\n")).line, 6);
        let big = "x".repeat(MAX_LESSON_BYTES + 1);
        assert_eq!(error_of(&big).line, 0);
        assert!(error_of(&big).to_string().contains("KB"));
    }

    #[test]
    fn any_text_is_an_error_or_a_lesson_never_a_panic() {
        for end in (0..=GOOD.len()).filter(|&e| GOOD.is_char_boundary(e)) {
            let _ = parse(&GOOD[..end], None);
        }
        for junk in ["---", "---\n---", "---\n:\n---", "---\ntitle: é\nsummary: ü\n---\n## ü\n```check\nevent X pod/é*\n```", "\u{feff}---"] {
            let _ = parse(junk, None);
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("The API server is down!"), "the-api-server-is-down");
        assert_eq!(slug("¿?"), "lesson");
    }
}
