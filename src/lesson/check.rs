//! The check language: what must hold for a lesson step to be done.
//!
//! ```text
//! kubectl get deploy web -o jsonpath={.status.readyReplicas}
//!   expect 3
//! component scheduler running
//! event FailedScheduling pod/web-*
//!   contains untolerated taint
//! ran kubectl describe pod
//! any
//!   kubectl get pods
//!     contains Running
//!   not
//!     component apiserver running
//! ```
//!
//! One term per line; the lines of a check must all hold. A term:
//! - `kubectl …`: a read-only kubectl command (see
//!   [`kubectl::READ_ONLY_COMMANDS`]), run as the terminal runs it. With no
//!   matcher below it, it must succeed; otherwise its output (stdout and
//!   stderr, as the terminal shows them) must satisfy every matcher.
//! - `component NAME running|stopped`: a component's switch.
//! - `event REASON [KIND/NAME]`: an Event with that reason exists (in any
//!   namespace), about that object if given (`NAME` may end in `*`);
//!   matchers below it test the event's message.
//! - `ran WORDS…`: the learner ran a line containing these words in this
//!   order (`kubectl` optional, resource names in any form: `po`, `pod`,
//!   `pods`) during this step; matchers below it test that line's output.
//! - `traffic`: what `traffic report` prints now (the traffic generator's
//!   requests, answers and failures since it started); matchers below it.
//!
//! Matchers, indented below a term: `expect TEXT` (equal, ignoring blank
//! space at either end), `contains TEXT`, `matches REGEX`.
//! Combinators, with their terms indented below: `all`, `any`, `not` (one
//! term). Checks only read: they run no write and are not part of the scene.

use std::collections::BTreeMap;

use crate::engine::api::{ids, resolve_resource_arg, resource, Object};
use crate::engine::apiserver::Query;
use crate::engine::cluster::Cluster;
use crate::engine::kubectl;

/// A check, parsed from lesson text.
#[derive(Clone, Debug)]
pub struct Check {
    /// Line in the lesson file.
    pub line: usize,
    /// The line as written (shown beside its tick).
    pub text: String,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub enum Kind {
    All(Vec<Check>),
    Any(Vec<Check>),
    Not(Box<Check>),
    Kubectl { words: Vec<String>, matchers: Vec<Matcher> },
    Component { name: String, running: bool },
    Event { reason: String, object: Option<(String, String)>, matchers: Vec<Matcher> },
    Ran { words: Vec<String>, matchers: Vec<Matcher> },
    Traffic { matchers: Vec<Matcher> },
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub line: usize,
    pub text: String,
    pub test: Test,
}

#[derive(Clone, Debug)]
pub enum Test {
    Expect(String),
    Contains(String),
    Matches(regex_lite::Regex),
}

impl Matcher {
    pub fn holds(&self, output: &str) -> bool {
        match &self.test {
            Test::Expect(text) => output.trim() == text.trim(),
            Test::Contains(text) => output.contains(text.as_str()),
            Test::Matches(re) => re.is_match(output),
        }
    }
}

/// A malformed check: the lesson line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    pub line: usize,
    pub message: String,
}

/// The longest regex a check may hold (compiled size is bounded by regex-lite too).
const MAX_REGEX_CHARS: usize = 1_000;
const MAX_DEPTH: usize = 16;

/// Parses a check block. `first_line` is the lesson line of `text`'s first
/// line; `components` lists the component names the lesson's cluster has.
/// The block's lines all must hold (an implicit `all`).
pub fn parse(text: &str, first_line: usize, components: &[String]) -> Result<Check, CheckError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = first_line + i;
        let content = raw.trim_start_matches(' ');
        if content.starts_with('\t') {
            return Err(CheckError { line: number, message: "indent with spaces, not tabs".into() });
        }
        let content = content.trim_end();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        lines.push(Line { number, indent: raw.len() - raw.trim_start_matches(' ').len(), content });
    }
    if lines.is_empty() {
        return Err(CheckError { line: first_line.saturating_sub(1), message: "the check is empty: write at least one term (kubectl, component, event or ran)".into() });
    }
    let base = lines[0].indent;
    let mut at = 0;
    let mut terms = Vec::new();
    let parser = Parser { lines: &lines, components };
    while at < lines.len() {
        if lines[at].indent != base {
            return Err(CheckError { line: lines[at].number, message: "this line is indented more than the term above it can take".into() });
        }
        let (term, next) = parser.term(at, 0)?;
        terms.push(term);
        at = next;
    }
    Ok(Check { line: lines[0].number, text: "all".into(), kind: Kind::All(terms) })
}

struct Line<'a> {
    number: usize,
    indent: usize,
    content: &'a str,
}

struct Parser<'a> {
    lines: &'a [Line<'a>],
    components: &'a [String],
}

impl Parser<'_> {
    /// The lines directly below `at`, indented deeper, as indices with one shared indent.
    fn children(&self, at: usize) -> Result<(Vec<usize>, usize), CheckError> {
        let parent = self.lines[at].indent;
        let mut out = Vec::new();
        let mut i = at + 1;
        let mut child_indent = None;
        while i < self.lines.len() && self.lines[i].indent > parent {
            let indent = self.lines[i].indent;
            match child_indent {
                None => child_indent = Some(indent),
                Some(c) if indent == c => {}
                Some(c) if indent > c => {
                    i += 1;
                    continue; // belongs to a child's own children
                }
                Some(_) => return Err(CheckError { line: self.lines[i].number, message: "this line's indentation matches no line above it".into() }),
            }
            out.push(i);
            i += 1;
        }
        Ok((out, i))
    }

    fn term(&self, at: usize, depth: usize) -> Result<(Check, usize), CheckError> {
        let line = &self.lines[at];
        let err = |message: String| CheckError { line: line.number, message };
        if depth > MAX_DEPTH {
            return Err(err(format!("checks nest at most {MAX_DEPTH} deep")));
        }
        let (children, next) = self.children(at)?;
        let head = line.content;
        let first = head.split_whitespace().next().unwrap_or("");
        let rest = head[first.len()..].trim();
        // `all:` reads as well as `all`.
        let word = first.strip_suffix(':').filter(|w| matches!(*w, "all" | "any" | "not")).unwrap_or(first);
        let text = line.content.to_string();
        let kind = match word {
            "all" | "any" | "not" => {
                if !rest.is_empty() {
                    return Err(err(format!("\"{word}\" takes its terms on the lines below it, indented")));
                }
                let mut terms = Vec::new();
                let mut i = 0;
                while i < children.len() {
                    let (t, _) = self.term(children[i], depth + 1)?;
                    terms.push(t);
                    i += 1;
                }
                match word {
                    "all" | "any" if terms.is_empty() => return Err(err(format!("\"{word}\" needs terms on the lines below it, indented"))),
                    "all" => Kind::All(terms),
                    "any" => Kind::Any(terms),
                    _ => {
                        if terms.len() != 1 {
                            return Err(err(format!("\"not\" takes exactly one term below it, found {}", terms.len())));
                        }
                        Kind::Not(Box::new(terms.remove(0)))
                    }
                }
            }
            "kubectl" => {
                let words = shell_words::split(head).map_err(|_| err("unterminated quote".into()))?;
                kubectl::check_read_only(&words).map_err(|e| err(format!("checks only read the cluster: {e}")))?;
                Kind::Kubectl { words, matchers: self.matchers(&children)? }
            }
            "component" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                let [name, state] = parts.as_slice() else {
                    return Err(err("usage: component NAME running|stopped".into()));
                };
                if !self.components.iter().any(|c| c == name) {
                    return Err(err(format!("no component \"{name}\" in this lesson's cluster (there are: {})", self.components.join(", "))));
                }
                let running = match *state {
                    "running" => true,
                    "stopped" => false,
                    other => return Err(err(format!("a component is \"running\" or \"stopped\", not \"{other}\""))),
                };
                self.no_children(&children)?;
                Kind::Component { name: name.to_string(), running }
            }
            "event" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                let (reason, object) = match parts.as_slice() {
                    [reason] => (reason.to_string(), None),
                    [reason, object] => {
                        let Some((kind, name)) = object.split_once('/') else {
                            return Err(err(format!("name the object as KIND/NAME (pod/web-*), not \"{object}\"")));
                        };
                        let Some(rid) = resolve_resource_arg(kind) else {
                            return Err(err(format!("unknown kind \"{kind}\"")));
                        };
                        if name.is_empty() || name.strip_suffix('*').unwrap_or(name).contains('*') {
                            return Err(err(format!("a name may only end in *: \"{name}\"")));
                        }
                        (reason.to_string(), Some((resource(rid).kind.to_string(), name.to_string())))
                    }
                    _ => return Err(err("usage: event REASON [KIND/NAME]".into())),
                };
                Kind::Event { reason, object, matchers: self.matchers(&children)? }
            }
            "ran" => {
                let words = shell_words::split(rest).map_err(|_| err("unterminated quote".into()))?;
                if words.is_empty() || (words.len() == 1 && words[0] == "kubectl") {
                    return Err(err("usage: ran WORDS… (for example: ran kubectl describe pod)".into()));
                }
                Kind::Ran { words: canonical_words(&words), matchers: self.matchers(&children)? }
            }
            "traffic" => {
                if !rest.is_empty() && rest.trim() != "report" {
                    return Err(err("usage: traffic (what `traffic report` prints), with matchers below it".into()));
                }
                let matchers = self.matchers(&children)?;
                if matchers.is_empty() {
                    return Err(err("\"traffic\" needs a matcher below it (for example: contains , 0 failed)".into()));
                }
                Kind::Traffic { matchers }
            }
            "expect" | "contains" | "matches" => return Err(err(format!("\"{word}\" belongs indented below a kubectl, event, ran or traffic term"))),
            other => return Err(err(format!("unknown check \"{other}\" (expected kubectl, component, event, ran, traffic, all, any or not)"))),
        };
        Ok((Check { line: line.number, text, kind }, next))
    }

    fn no_children(&self, children: &[usize]) -> Result<(), CheckError> {
        match children.first() {
            Some(&c) => Err(CheckError { line: self.lines[c].number, message: "a component term takes nothing below it".into() }),
            None => Ok(()),
        }
    }

    fn matchers(&self, children: &[usize]) -> Result<Vec<Matcher>, CheckError> {
        let mut out = Vec::new();
        for &c in children {
            let line = &self.lines[c];
            let err = |message: String| CheckError { line: line.number, message };
            let word = line.content.split_whitespace().next().unwrap_or("");
            let value = line.content[word.len()..].strip_prefix(' ').unwrap_or("").to_string();
            let test = match word {
                "expect" => Test::Expect(value),
                "contains" if value.trim().is_empty() => return Err(err("contains needs the text to look for".into())),
                "contains" => Test::Contains(value),
                "matches" => {
                    if value.len() > MAX_REGEX_CHARS {
                        return Err(err(format!("the regular expression is longer than {MAX_REGEX_CHARS} characters")));
                    }
                    let re = regex_lite::RegexBuilder::new(&value)
                        .size_limit(1 << 20)
                        .nest_limit(50)
                        .build()
                        .map_err(|e| err(format!("bad regular expression: {}", e.to_string().lines().last().unwrap_or("invalid"))))?;
                    Test::Matches(re)
                }
                other => return Err(err(format!("\"{other}\" cannot go here: below a term only expect, contains or matches"))),
            };
            // Matchers take nothing below them.
            if self.lines.get(c + 1).is_some_and(|n| n.indent > line.indent) {
                return Err(CheckError { line: self.lines[c + 1].number, message: "a matcher takes nothing below it".into() });
            }
            out.push(Matcher { line: line.number, text: line.content.to_string(), test });
        }
        Ok(out)
    }
}

/// A line the learner ran while a step was current, with what it printed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RanLine {
    pub line: String,
    pub output: String,
    pub ok: bool,
}

/// Words of a command line compared the same way: no leading `kubectl`,
/// `TYPE/NAME` split, resource names in their plural form.
pub fn canonical_words(words: &[String]) -> Vec<String> {
    let words = match words.first() {
        Some(w) if w == "kubectl" => &words[1..],
        _ => words,
    };
    let mut out = Vec::new();
    for w in words {
        let (kind, name) = match w.split_once('/') {
            Some((k, n)) if !w.starts_with('-') && resolve_resource_arg(k).is_some() => (k, Some(n)),
            _ => (w.as_str(), None),
        };
        match resolve_resource_arg(kind).filter(|_| !kind.starts_with('-') && !kind.contains('=')) {
            Some(rid) => out.push(resource(rid).plural.to_string()),
            None => out.push(kind.to_string()),
        }
        if let Some(n) = name {
            out.push(n.to_string());
        }
    }
    out
}

/// Whether a line the learner ran matches a `ran` pattern: same first word,
/// then the pattern's words in order.
pub fn ran_matches(pattern: &[String], line: &str) -> bool {
    let words = shell_words::split(line).unwrap_or_else(|_| line.split_whitespace().map(str::to_string).collect());
    let words = canonical_words(&words);
    if pattern.first() != words.first() {
        return false;
    }
    let mut rest = words.iter().skip(1);
    pattern.iter().skip(1).all(|p| rest.any(|w| w == p))
}

/// One line of a check as the panel shows it: its depth, text and state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    pub depth: usize,
    pub text: String,
    pub holds: bool,
}

/// A check's result with one tick per line (combinators, terms and matchers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub holds: bool,
    pub ticks: Vec<Tick>,
}

/// Evaluates a check against the cluster and the lines run in this step.
/// Read-only: kubectl terms go through [`kubectl::run_read_only_strict`], events
/// and components are read, and nothing is written or run.
pub fn evaluate(check: &Check, cluster: &mut Cluster, ran: &[RanLine]) -> Evaluation {
    let mut ev = Evaluator { cluster, ran, outputs: BTreeMap::new(), ticks: Vec::new() };
    // The implicit top-level `all` shows its terms only.
    let holds = match &check.kind {
        Kind::All(terms) => {
            let mut all = true;
            for t in terms {
                all &= ev.eval(t, 0);
            }
            all
        }
        _ => ev.eval(check, 0),
    };
    Evaluation { holds, ticks: ev.ticks }
}

struct Evaluator<'a> {
    cluster: &'a mut Cluster,
    ran: &'a [RanLine],
    /// Outputs of kubectl terms, so a command named twice runs once.
    outputs: BTreeMap<Vec<String>, kubectl::Output>,
    ticks: Vec<Tick>,
}

impl Evaluator<'_> {
    fn eval(&mut self, check: &Check, depth: usize) -> bool {
        let at = self.ticks.len();
        self.ticks.push(Tick { depth, text: check.text.clone(), holds: false });
        let holds = match &check.kind {
            Kind::All(terms) => terms.iter().fold(true, |acc, t| self.eval(t, depth + 1) && acc),
            Kind::Any(terms) => terms.iter().fold(false, |acc, t| self.eval(t, depth + 1) || acc),
            Kind::Not(term) => !self.eval(term, depth + 1),
            Kind::Kubectl { words, matchers } => {
                let output = match self.outputs.get(words) {
                    Some(o) => o.clone(),
                    None => {
                        let o = kubectl::run_read_only_strict(self.cluster, words.clone());
                        self.outputs.insert(words.clone(), o.clone());
                        o
                    }
                };
                if matchers.is_empty() {
                    output.exit_code == 0
                } else {
                    self.matchers(matchers, &output.combined(), depth)
                }
            }
            Kind::Component { name, running } => self.cluster.sim.is_running(name) == Some(*running),
            Kind::Traffic { matchers } => {
                let report = crate::engine::network::traffic::report(&self.cluster.sim.world.net.traffic, self.cluster.sim.now());
                self.matchers(matchers, &report, depth)
            }
            Kind::Event { reason, object, matchers } => {
                let messages = self.event_messages(reason, object.as_ref());
                let holds = !messages.is_empty() && (matchers.is_empty() || messages.iter().any(|m| matchers.iter().all(|x| x.holds(m))));
                // Show each matcher against the best message (the first that satisfies most).
                let best = messages.iter().max_by_key(|m| matchers.iter().filter(|x| x.holds(m)).count()).cloned().unwrap_or_default();
                self.show_matchers(matchers, &best, depth);
                holds
            }
            Kind::Ran { words, matchers } => {
                let runs: Vec<&RanLine> = self.ran.iter().filter(|r| ran_matches(words, &r.line)).collect();
                let holds = !runs.is_empty() && (matchers.is_empty() || runs.iter().any(|r| matchers.iter().all(|m| m.holds(&r.output))));
                let best = runs.iter().max_by_key(|r| matchers.iter().filter(|m| m.holds(&r.output)).count()).map(|r| r.output.clone()).unwrap_or_default();
                self.show_matchers(matchers, &best, depth);
                holds
            }
        };
        self.ticks[at].holds = holds;
        holds
    }

    fn matchers(&mut self, matchers: &[Matcher], output: &str, depth: usize) -> bool {
        self.show_matchers(matchers, output, depth);
        matchers.iter().all(|m| m.holds(output))
    }

    fn show_matchers(&mut self, matchers: &[Matcher], output: &str, depth: usize) {
        for m in matchers {
            self.ticks.push(Tick { depth: depth + 1, text: m.text.clone(), holds: m.holds(output) });
        }
    }

    /// Messages of the Events with `reason` (about `object` if given), read
    /// through the API server: none while it is down.
    fn event_messages(&self, reason: &str, object: Option<&(String, String)>) -> Vec<String> {
        let Ok((events, _)) = self.cluster.sim.api.list(&Query::all(ids::events())) else { return Vec::new() };
        events
            .iter()
            .filter_map(|e| match &**e {
                Object::Event(ev) => Some(ev),
                _ => None,
            })
            .filter(|ev| ev.reason.as_deref() == Some(reason))
            .filter(|ev| {
                object.is_none_or(|(kind, name)| {
                    let o = &ev.involved_object;
                    let obj_name = o.name.as_deref().unwrap_or("");
                    o.kind.as_deref() == Some(kind.as_str())
                        && match name.strip_suffix('*') {
                            Some(prefix) => obj_name.starts_with(prefix),
                            None => obj_name == name,
                        }
                })
            })
            .map(|ev| ev.message.clone().unwrap_or_default())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};

    fn components() -> Vec<String> {
        ["apiserver", "scheduler", "kubelet/minikube"].iter().map(|s| s.to_string()).collect()
    }

    fn parse_ok(text: &str) -> Check {
        parse(text, 10, &components()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn error_line(text: &str) -> (usize, String) {
        let e = parse(text, 10, &components()).expect_err("an error");
        (e.line, e.message)
    }

    #[test]
    fn parses_terms_matchers_and_combinators() {
        let c = parse_ok("kubectl get deploy web -o jsonpath={.status.readyReplicas}\n  expect 3\ncomponent scheduler running\nany:\n  event FailedScheduling pod/web-*\n    contains taint\n  not\n    ran kubectl describe pod\n");
        let Kind::All(terms) = &c.kind else { panic!() };
        assert_eq!(terms.len(), 3);
        assert!(matches!(&terms[0].kind, Kind::Kubectl { matchers, .. } if matchers.len() == 1));
        assert_eq!(terms[0].line, 10);
        let Kind::Any(inner) = &terms[2].kind else { panic!("{:?}", terms[2]) };
        assert!(matches!(&inner[0].kind, Kind::Event { object: Some((k, n)), .. } if k == "Pod" && n == "web-*"));
        assert!(matches!(&inner[1].kind, Kind::Not(t) if matches!(t.kind, Kind::Ran { .. })));
        assert_eq!(inner[1].line, 16);
    }

    #[test]
    fn bad_checks_name_their_line() {
        assert_eq!(error_line("kubectl get pods\nkubectl delete pod x\n").0, 11);
        assert!(error_line("kubectl delete pod x").1.contains("not a read-only command"));
        assert!(error_line("kubectl scale deploy web --replicas=3").1.contains("read-only"));
        assert!(error_line("kubectl rollout status deploy/web").1.contains("read-only"));
        assert_eq!(error_line("kubectl get pods\n  expect 3\n    contains x\n").0, 12);
        assert_eq!(error_line("frobnicate\n").0, 10);
        assert_eq!(error_line("component kubelet/worker-9 stopped").0, 10);
        assert!(error_line("component scheduler paused").1.contains("running"));
        assert_eq!(error_line("kubectl get pods\n  matches [unclosed\n").0, 11);
        assert_eq!(error_line("any\n").0, 10);
        assert_eq!(error_line("not\n  component scheduler running\n  component apiserver running\n").0, 10);
        assert_eq!(error_line("expect 3").0, 10);
        assert_eq!(error_line("event Scheduled web").0, 10);
        assert_eq!(error_line("event Scheduled pod/we*b").0, 10);
        assert_eq!(error_line("kubectl get pods\n\tcontains x").0, 11);
        assert_eq!(error_line("  kubectl get pods\ncomponent scheduler running").0, 11);
        assert_eq!(error_line("ran kubectl").0, 10);
        assert_eq!(error_line("kubectl get 'pods").0, 10);
        assert_eq!(error_line("component scheduler running\n  expect x").0, 11);
        assert!(parse("\n# only a comment\n", 3, &components()).is_err());
    }

    #[test]
    fn traffic_terms_read_the_generators_report() {
        assert!(error_line("traffic\n").1.contains("needs a matcher"));
        assert!(error_line("traffic start http://x\n  contains y\n").1.contains("usage: traffic"));
        let check = parse_ok("traffic\n  contains No traffic\ntraffic report\n  matches 0 failed\n");
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let ev = evaluate(&check, &mut cluster, &[]);
        let states: Vec<bool> = ev.ticks.iter().map(|t| t.holds).collect();
        assert_eq!(states, vec![true, true, false, false], "{ev:?}");
    }

    #[test]
    fn ran_patterns_match_forms_of_a_command() {
        let p = canonical_words(&["kubectl".into(), "describe".into(), "pod".into()]);
        assert!(ran_matches(&p, "kubectl describe pods web-1"));
        assert!(ran_matches(&p, "describe po web-1"));
        assert!(ran_matches(&p, "kubectl describe pod/web-1"));
        assert!(!ran_matches(&p, "kubectl get pods"));
        assert!(!ran_matches(&p, "kubectl describe deploy web"));
        let stop = canonical_words(&["stop".into(), "scheduler".into()]);
        assert!(ran_matches(&stop, "stop scheduler"));
        assert!(!ran_matches(&stop, "start scheduler"));
    }

    #[test]
    fn evaluation_reads_without_changing_the_cluster() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 1);
        let check = parse_ok("kubectl get nodes\n  contains Ready\ncomponent scheduler running\nevent NodeReady node/minikube\nkubectl get pods\n  contains Running\nran kubectl get pods\n  contains No resources\n");
        let revision = cluster.sim.api.store().revision();
        let activity = cluster.sim.activity.total();
        let now = cluster.now();
        let ran = vec![RanLine { line: "get po".into(), output: "No resources found in default namespace.\n".into(), ok: true }];
        let ev = evaluate(&check, &mut cluster, &ran);
        assert!(!ev.holds, "{ev:?}");
        let states: Vec<(&str, bool)> = ev.ticks.iter().map(|t| (t.text.as_str(), t.holds)).collect();
        assert_eq!(
            states,
            vec![
                ("kubectl get nodes", true),
                ("contains Ready", true),
                ("component scheduler running", true),
                ("event NodeReady node/minikube", true),
                ("kubectl get pods", false),
                ("contains Running", false),
                ("ran kubectl get pods", true),
                ("contains No resources", true),
            ]
        );
        assert_eq!(cluster.sim.api.store().revision(), revision);
        assert_eq!(cluster.sim.activity.total(), activity);
        assert_eq!(cluster.now(), now);
        // With the API server down, kubectl and events read nothing.
        cluster.sim.stop("apiserver").unwrap();
        let down = parse_ok("kubectl get nodes\n  contains was refused\nnot\n  event NodeReady\ncomponent apiserver stopped\n");
        assert!(evaluate(&down, &mut cluster, &[]).holds);
    }
}
