//! Transcript scripts: kubectl lines, component stops and starts, and sleeps
//! in virtual time, run against one cluster; out comes the transcript a
//! learner would see in a terminal.
//!
//! ```text
//! # comment
//! stop kubelet/minikube
//! sleep 30s
//! kubectl get nodes
//! kubectl apply -f - <<EOF
//! apiVersion: v1
//! ...
//! EOF
//! ```
//!
//! Each command is echoed as `$ <line as written>` (a heredoc by its first
//! line), followed by what it printed. `a && b` runs `b` only if `a` succeeded.
//!
//! `explain pod/NAME [-n NAMESPACE]` is Miniplane's own command (not a
//! kubectl verb): it prints the scheduler's explanation of the pod's last
//! scheduling attempt.
//!
//! `$(kubectl …)` in a line is replaced by what that command printed, as a
//! shell's command substitution (`kubectl delete pod $(kubectl get pods -o
//! name | …)` without the pipe).
//!
//! Host commands run on the learner's machine: `traffic start URL [--rate
//! N/s] [--from pod/NAME|node/NAME]`, `traffic stop`, `traffic report`,
//! `curl URL`, `wget URL` and `minikube service NAME --url`.

use crate::engine::cluster::Cluster;
use crate::engine::kubectl::{self, FileSource};
use crate::engine::sim::clock::parse_duration_ms;

/// The most lines a script may have, and the longest virtual sleep (a day):
/// limits so a hostile script cannot run forever.
const MAX_LINES: usize = 100_000;
const MAX_SLEEP_MS: u64 = 24 * 3_600_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// One or more kubectl invocations joined by `&&`, each as words.
    Kubectl { chain: Vec<Vec<String>>, stdin: Option<String> },
    Stop(String),
    Start(String),
    Sleep(u64),
    /// `explain pod/NAME [-n NAMESPACE]`.
    Explain { namespace: String, name: String },
    /// A command on the learner's machine: `traffic …`, `curl`, `wget`,
    /// `minikube service`.
    Host(Vec<String>),
    /// A kubectl or host command with `$(kubectl …)` substitutions, expanded
    /// when it runs (as a shell would) and then split into words.
    Substituted(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// 1-based line number in the script.
    pub line: usize,
    /// The line as written, echoed after `$ `.
    pub text: String,
    pub step: Step,
}

/// A malformed script: which line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a whole script before anything runs, so a malformed one changes nothing.
pub fn parse(text: &str) -> Result<Vec<Command>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() > MAX_LINES {
        return Err(ScriptError { line: MAX_LINES + 1, message: format!("script longer than {MAX_LINES} lines") });
    }
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let raw = lines[i];
        let line = raw.trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| ScriptError { line: number, message };
        let (command_part, heredoc) = split_heredoc(line);
        if command_part.contains("$(") {
            if heredoc.is_some() {
                return Err(err("a here-document cannot be combined with $(…)".into()));
            }
            for inner in substitutions(command_part).map_err(err)? {
                let head = inner.split_whitespace().next().unwrap_or("");
                if head != "kubectl" && !crate::engine::host::COMMANDS.contains(&head) {
                    return Err(err(format!("only kubectl and host commands can be substituted, found \"$({inner})\"")));
                }
            }
            let first = command_part.split_whitespace().next().unwrap_or("");
            if first != "kubectl" && !crate::engine::host::COMMANDS.contains(&first) {
                return Err(err(format!("unknown command \"{first}\"")));
            }
            commands.push(Command { line: number, text: line.to_string(), step: Step::Substituted(command_part.to_string()) });
            continue;
        }
        let words = shell_words::split(command_part).map_err(|_| err("unterminated quote".into()))?;
        let Some(first) = words.first() else { continue };
        let step = match first.as_str() {
            "kubectl" => {
                let mut stdin = None;
                if let Some(marker) = heredoc {
                    let mut body = String::new();
                    let mut closed = false;
                    while i < lines.len() {
                        let l = lines[i];
                        i += 1;
                        if l.trim() == marker {
                            closed = true;
                            break;
                        }
                        body.push_str(l);
                        body.push('\n');
                    }
                    if !closed {
                        return Err(err(format!("here-document not terminated by \"{marker}\"")));
                    }
                    stdin = Some(body);
                }
                let mut chain = Vec::new();
                for part in words.split(|w| w == "&&") {
                    match part.first().map(String::as_str) {
                        Some("kubectl") => chain.push(part[1..].to_vec()),
                        Some(other) => return Err(err(format!("only kubectl commands can be chained with &&, found \"{other}\""))),
                        None => return Err(err("empty command around &&".into())),
                    }
                }
                Step::Kubectl { chain, stdin }
            }
            "stop" | "start" => {
                let [_, name] = words.as_slice() else {
                    return Err(err(format!("usage: {first} COMPONENT")));
                };
                if first == "stop" {
                    Step::Stop(name.clone())
                } else {
                    Step::Start(name.clone())
                }
            }
            "sleep" => {
                let [_, duration] = words.as_slice() else {
                    return Err(err("usage: sleep DURATION (500ms, 30s, 5m, 1h)".into()));
                };
                let ms = parse_duration_ms(duration)
                    .or_else(|| duration.parse::<u64>().ok().map(|s| s.saturating_mul(1000)))
                    .ok_or_else(|| err(format!("invalid duration \"{duration}\"")))?;
                if ms > MAX_SLEEP_MS {
                    return Err(err(format!("sleep longer than 24h: \"{duration}\"")));
                }
                Step::Sleep(ms)
            }
            "explain" => {
                let (namespace, name) = parse_explain(&words[1..]).map_err(err)?;
                Step::Explain { namespace, name }
            }
            w if crate::engine::host::COMMANDS.contains(&w) => Step::Host(words.clone()),
            other => return Err(err(format!("unknown command \"{other}\" (expected kubectl, stop, start, sleep, explain, traffic, curl, wget or minikube)"))),
        };
        commands.push(Command { line: number, text: line.to_string(), step });
    }
    Ok(commands)
}

pub const EXPLAIN_USAGE: &str = "usage: explain pod/NAME [-n NAMESPACE]";

/// The arguments of `explain`: `pod/NAME` (or `pods/`, `po/`) and an optional
/// `-n NS`, `-nNS`, `--namespace NS` or `--namespace=NS`.
pub fn parse_explain(args: &[String]) -> Result<(String, String), String> {
    let mut namespace = None;
    let mut target = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-n" || a == "--namespace" {
            namespace = Some(args.get(i + 1).cloned().ok_or_else(|| format!("flag needs an argument: {a}\n{EXPLAIN_USAGE}"))?);
            i += 2;
            continue;
        }
        if let Some(ns) = a.strip_prefix("--namespace=").or_else(|| a.strip_prefix("-n=")).or_else(|| a.strip_prefix("-n").filter(|r| !r.is_empty())) {
            namespace = Some(ns.to_string());
        } else if a.starts_with('-') {
            return Err(format!("unknown flag: {a}\n{EXPLAIN_USAGE}"));
        } else if target.is_some() {
            return Err(format!("explain takes one pod\n{EXPLAIN_USAGE}"));
        } else {
            let Some((kind, name)) = a.split_once('/') else { return Err(format!("name the pod as pod/NAME\n{EXPLAIN_USAGE}")) };
            if !matches!(kind, "pod" | "pods" | "po") {
                return Err(format!("only pods can be explained, not \"{kind}\"\n{EXPLAIN_USAGE}"));
            }
            if name.is_empty() {
                return Err(format!("name the pod as pod/NAME\n{EXPLAIN_USAGE}"));
            }
            target = Some(name.to_string());
        }
        i += 1;
    }
    let name = target.ok_or_else(|| EXPLAIN_USAGE.to_string())?;
    Ok((namespace.unwrap_or_else(|| "default".to_string()), name))
}

/// The scheduler's explanation of a pod as data (for the page).
pub fn explanation(cluster: &Cluster, namespace: &str, name: &str) -> Result<crate::engine::scheduler::explain::Explanation, String> {
    let scheduler = if cluster.sim.is_running("scheduler") == Some(true) {
        cluster.sim.component("scheduler").and_then(|c| c.as_any().downcast_ref::<crate::engine::scheduler::Scheduler>())
    } else {
        None
    };
    crate::engine::scheduler::explain::explain(&cluster.sim.api, scheduler, namespace, name)
        .map_err(|e| crate::engine::kubectl::format_api_error(&e, &cluster.sim.api.host))
}

/// The scheduler's explanation of a pod, as text (an error names what went wrong).
pub fn explain(cluster: &Cluster, namespace: &str, name: &str) -> Result<String, String> {
    explanation(cluster, namespace, name).map(|e| crate::engine::scheduler::explain::to_text(&e))
}

/// Whether a terminal line is Miniplane's `explain` (it names a pod);
/// `explain pods` stays kubectl's schema `explain`.
pub fn is_explain_line(line: &str) -> bool {
    let Ok(words) = shell_words::split(line) else { return false };
    words.first().map(String::as_str) == Some("explain") && words[1..].iter().any(|w| ["pod/", "pods/", "po/"].iter().any(|p| w.starts_with(p)))
}

/// kubectl's way: the API server's errors as they are, the rest after `error: `.
fn explain_error(e: &str) -> String {
    if e.starts_with("Error from server") {
        format!("{e}\n")
    } else {
        format!("error: {e}\n")
    }
}

/// The commands inside each `$(…)` of a line, in order.
fn substitutions(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("$(") {
        let after = &rest[start + 2..];
        let mut depth = 1;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { return Err("unterminated $(".into()) };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Expands each `$(kubectl …)` (or host command) with what it printed on
/// stdout, its lines joined by spaces as an unquoted substitution is.
fn expand(cluster: &mut Cluster, line: &str, files: &dyn FileSource) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    for inner in substitutions(line)? {
        let Some(start) = rest.find("$(") else { break };
        out.push_str(&rest[..start]);
        let words = shell_words::split(&inner).map_err(|_| "unterminated quote".to_string())?;
        let printed = if words.first().map(String::as_str) == Some("kubectl") {
            let result = kubectl::run_words(cluster, words[1..].to_vec(), None, files);
            if result.exit_code != 0 {
                return Err(result.combined());
            }
            result.stdout
        } else {
            let result = crate::engine::host::run(cluster, &words);
            if result.code != 0 {
                return Err(result.text);
            }
            result.text
        };
        out.push_str(&printed.split_whitespace().collect::<Vec<_>>().join(" "));
        rest = &rest[start + 2 + inner.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The line a [`Step::Substituted`] stands for once its `$(…)` are
/// expanded; Err holds what a failed substitution printed.
pub fn expand_line(cluster: &mut Cluster, step: &Step, files: &dyn FileSource) -> Result<String, String> {
    match step {
        Step::Substituted(line) => expand(cluster, line, files),
        _ => Err("error: nothing to expand\n".into()),
    }
}

/// `kubectl apply -f - <<EOF` → (`kubectl apply -f -`, Some("EOF")).
fn split_heredoc(line: &str) -> (&str, Option<String>) {
    match line.find("<<") {
        Some(at) => {
            let marker = line[at + 2..].trim().trim_start_matches('-').trim().trim_matches(|c| c == '\'' || c == '"');
            if marker.is_empty() {
                (line, None)
            } else {
                (line[..at].trim_end(), Some(marker.to_string()))
            }
        }
        None => (line, None),
    }
}

/// Runs parsed commands and returns the transcript. Unknown components are
/// reported in the transcript, as a shell would report a failed command.
pub fn run(cluster: &mut Cluster, commands: &[Command], files: &dyn FileSource) -> String {
    let mut transcript = String::new();
    for command in commands {
        transcript.push_str("$ ");
        transcript.push_str(&command.text);
        transcript.push('\n');
        transcript.push_str(&run_step(cluster, &command.step, files));
    }
    transcript
}

/// Runs one step and returns what it printed.
pub fn run_step(cluster: &mut Cluster, step: &Step, files: &dyn FileSource) -> String {
    run_step_status(cluster, step, files).0
}

/// As [`run_step`], with whether the step succeeded (every kubectl command
/// exited 0; the component exists).
pub fn run_step_status(cluster: &mut Cluster, step: &Step, files: &dyn FileSource) -> (String, bool) {
    match step {
        Step::Kubectl { chain, stdin } => {
            let mut printed = String::new();
            for words in chain {
                let output = kubectl::run_words(cluster, words.clone(), stdin.as_deref(), files);
                printed.push_str(&output.combined());
                if output.exit_code != 0 {
                    return (printed, false);
                }
            }
            (printed, true)
        }
        Step::Stop(name) => component_result(cluster.sim.stop(name)),
        Step::Start(name) => component_result(cluster.sim.start(name)),
        Step::Sleep(ms) => {
            cluster.sim.run_for_ms(*ms);
            (String::new(), true)
        }
        Step::Explain { namespace, name } => match explain(cluster, namespace, name) {
            Ok(text) => (text, true),
            Err(e) => (explain_error(&e), false),
        },
        Step::Host(words) => host_result(crate::engine::host::run(cluster, words)),
        Step::Substituted(line) => match expand(cluster, line, files) {
            Ok(expanded) => match shell_words::split(&expanded) {
                Ok(words) if words.first().map(String::as_str) == Some("kubectl") => {
                    run_step_status(cluster, &Step::Kubectl { chain: vec![words[1..].to_vec()], stdin: None }, files)
                }
                Ok(words) => host_result(crate::engine::host::run(cluster, &words)),
                Err(_) => ("error: unterminated quote\n".to_string(), false),
            },
            Err(printed) => (printed, false),
        },
    }
}

fn host_result(output: crate::engine::host::HostOutput) -> (String, bool) {
    let ok = output.code == 0;
    (output.text, ok)
}

fn component_result(result: Result<(), String>) -> (String, bool) {
    match result {
        Ok(()) => (String::new(), true),
        Err(e) => (format!("error: {e}\n"), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_heredocs_and_chains() {
        let script = "# c\n\nstop kubelet/minikube\nsleep 30s\nkubectl apply -f - <<EOF\nkind: X\nEOF\nkubectl delete deploy a && kubectl delete svc a\n";
        let cmds = parse(script).unwrap();
        assert_eq!(cmds.len(), 4);
        assert_eq!(cmds[0].step, Step::Stop("kubelet/minikube".into()));
        assert_eq!(cmds[1].step, Step::Sleep(30_000));
        assert_eq!(cmds[2].text, "kubectl apply -f - <<EOF");
        assert_eq!(cmds[2].step, Step::Kubectl { chain: vec![vec!["apply".into(), "-f".into(), "-".into()]], stdin: Some("kind: X\n".into()) });
        assert_eq!(cmds[2].line, 5);
        match &cmds[3].step {
            Step::Kubectl { chain, .. } => assert_eq!(chain.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn substitutions_are_kept_for_run_time() {
        let cmds = parse("kubectl delete pod $(kubectl get pods -o jsonpath='{.items[0].metadata.name}')\ncurl $(minikube service web --url)\n").unwrap();
        assert_eq!(cmds[0].step, Step::Substituted("kubectl delete pod $(kubectl get pods -o jsonpath='{.items[0].metadata.name}')".into()));
        assert!(matches!(cmds[1].step, Step::Substituted(_)));
        assert_eq!(parse("kubectl get pod $(rm -rf /)").unwrap_err().line, 1);
        assert_eq!(parse("kubectl get pod $(kubectl get pods").unwrap_err().line, 1);
    }

    #[test]
    fn reports_malformed_lines() {
        assert_eq!(parse("kubectl get pods\nfrobnicate\n").unwrap_err().line, 2);
        assert_eq!(parse("sleep soon").unwrap_err().line, 1);
        assert_eq!(parse("sleep 48h").unwrap_err().line, 1);
        assert_eq!(parse("stop").unwrap_err().line, 1);
        assert_eq!(parse("kubectl get 'pods").unwrap_err().line, 1);
        assert_eq!(parse("x\nkubectl apply -f - <<EOF\nkind: X\n").unwrap_err().line, 1);
        assert_eq!(parse("kubectl apply -f - <<EOF\nkind: X\n").unwrap_err().line, 1);
        assert_eq!(parse("kubectl get pods && ls").unwrap_err().line, 1);
        assert_eq!(parse("explain").unwrap_err().line, 1);
        assert_eq!(parse("explain deploy/web").unwrap_err().line, 1);
        assert_eq!(parse("explain pod/a pod/b").unwrap_err().line, 1);
    }

    #[test]
    fn parses_explain() {
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(parse_explain(&words("pod/web")), Ok(("default".into(), "web".into())));
        assert_eq!(parse_explain(&words("pods/web -n team")), Ok(("team".into(), "web".into())));
        assert_eq!(parse_explain(&words("-nteam po/web")), Ok(("team".into(), "web".into())));
        assert_eq!(parse_explain(&words("pod/web --namespace=x")), Ok(("x".into(), "web".into())));
        assert!(parse_explain(&words("pod/web --all")).is_err());
        assert!(parse_explain(&words("pod/")).is_err());
    }

    #[test]
    fn terminal_lines_reach_explain_only_when_they_name_a_pod() {
        use crate::engine::cluster::{Cluster, Profile, ProfileKind};
        assert!(!is_explain_line("kubectl get pods"));
        assert!(!is_explain_line("explain pods"), "kubectl's schema explain");
        assert!(is_explain_line("explain pod/web -n default"));
        let mut c = Cluster::new(Profile::new(ProfileKind::Default), 1);
        let run = |c: &mut Cluster, line: &str| {
            let commands = parse(line).unwrap();
            run_step_status(c, &commands[0].step, &kubectl::NoFiles)
        };
        assert_eq!(run(&mut c, "explain pod/nope"), ("Error from server (NotFound): pods \"nope\" not found\n".to_string(), false));
        assert!(run(&mut c, "kubectl run web --image=nginx").1);
        c.sim.run_for_ms(2_000);
        let (text, ok) = run(&mut c, "explain pod/web -n default");
        assert!(ok, "{text}");
        assert!(text.contains("worker-"), "{text}");
    }
}
