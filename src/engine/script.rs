//! Transcript scripts: kubectl lines, component stops and starts, faults,
//! etcd snapshots and sleeps in virtual time, run against one cluster; out
//! comes the transcript a learner would see in a terminal.
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
//! partition node/worker-1
//! heal node/worker-1
//! slow apiserver 2s
//! restart kubelet/worker-2
//! etcdctl snapshot save snap.db
//! etcdctl snapshot restore snap.db
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
use crate::engine::etcdctl::{self, Etcdctl};
use crate::engine::kubectl::{self, FileSource};
use crate::engine::sim::clock::parse_duration_ms;

/// The most lines a script may have, and the longest virtual sleep (a day):
/// limits so a hostile script cannot run forever.
const MAX_LINES: usize = 100_000;
const MAX_SLEEP_MS: u64 = 24 * 3_600_000;
/// The most latency `slow` adds: the API server's own request timeout.
pub const MAX_SLOW_MS: u64 = 60_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// One or more kubectl invocations joined by `&&`, each as words.
    Kubectl { chain: Vec<Vec<String>>, stdin: Option<String> },
    Stop(String),
    Start(String),
    /// Stop and start at one instant (`restart kubelet/worker-1`).
    Restart(String),
    Sleep(u64),
    /// `partition node/<n>`: the node cannot reach the API server.
    Partition(String),
    /// `heal node/<n>`.
    Heal(String),
    /// `slow apiserver|etcd DURATION` (`0s` for normal speed).
    Slow { target: String, ms: u64 },
    /// `etcdctl snapshot save|restore|status …` (or `etcdutl …`).
    Etcd(Etcdctl),
    /// An etcdctl line etcdctl itself refuses: it prints this and fails.
    EtcdRefused(String),
    /// `explain pod/NAME [-n NAMESPACE]`.
    Explain { namespace: String, name: String },
    /// A command on the learner's machine: `traffic …`, `curl`, `wget`,
    /// `minikube service`.
    Host(Vec<String>),
    /// A kubectl or host command with `$(kubectl …)` substitutions, expanded
    /// when it runs (as a shell would) and then split into words.
    Substituted(String),
    /// A line for the learner's shell (`host::needs_shell`): a pipe
    /// (`kubectl get pods | grep web`), a redirection (`kubectl create … -o
    /// yaml > web.yaml`), a file command (`cat`, `ls`, `rm`); run on the
    /// learner's machine (`host::run_pipeline`), here-document included.
    Pipeline(String),
}

/// The first words of the commands that are not kubectl.
pub const COMMANDS: &[&str] = &["stop", "start", "restart", "sleep", "partition", "heal", "slow", "etcdctl", "etcdutl"];

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
    // Functions the shell lines so far defined: a line calling one is the shell's.
    let mut functions: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
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
        if crate::engine::host::needs_shell(line) || crate::engine::host::calls_function(line, |name| functions.contains(name)) {
            functions.extend(crate::engine::host::defined_function(line));
            // The learner's shell takes the line, and its here-document with it.
            let mut text = line.to_string();
            if let Some(marker) = crate::engine::host::here_document_marker(line) {
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    text.push('\n');
                    text.push_str(l);
                    if l.trim() == marker {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(err(format!("here-document not terminated by \"{marker}\"")));
                }
            }
            commands.push(Command { line: number, text: line.to_string(), step: Step::Pipeline(text) });
            continue;
        }
        let (command_part, heredoc) = split_heredoc(line);
        let substituted = if command_part.contains("$(") { substitutions(command_part).map_err(err)? } else { Vec::new() };
        if !substituted.is_empty() {
            if heredoc.is_some() {
                return Err(err("a here-document cannot be combined with $(…)".into()));
            }
            for (_, inner) in &substituted {
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
                if let Some(marker) = &heredoc {
                    let mut body = String::new();
                    let mut closed = false;
                    while i < lines.len() {
                        let l = lines[i];
                        i += 1;
                        if l.trim() == marker.as_str() {
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
                let mut others = false;
                for part in words.split(|w| w == "&&") {
                    match part.first().map(String::as_str) {
                        Some("kubectl") => chain.push(part[1..].to_vec()),
                        Some(_) => others = true,
                        None => return Err(err("empty command around &&".into())),
                    }
                }
                if others && heredoc.is_none() {
                    // `kubectl … && ls`: the learner's shell runs the chain.
                    Step::Pipeline(line.to_string())
                } else if others {
                    return Err(err("a here-document cannot be combined with a chain of other commands".into()));
                } else {
                    Step::Kubectl { chain, stdin }
                }
            }
            "explain" => {
                let (namespace, name) = parse_explain(&words[1..]).map_err(err)?;
                Step::Explain { namespace, name }
            }
            _ => parse_words(&words).map_err(err)?,
        };
        commands.push(Command { line: number, text: line.to_string(), step });
    }
    Ok(commands)
}

/// Parses one command that is not kubectl, already split into words.
pub fn parse_words(words: &[String]) -> Result<Step, String> {
    // `ETCDCTL_API=3 etcdctl …`: environment assignments before the command.
    let first = words
        .iter()
        .map(String::as_str)
        .find(|w| !w.contains('=') || matches!(*w, "etcdctl" | "etcdutl"))
        .filter(|w| matches!(*w, "etcdctl" | "etcdutl"))
        .or(words.first().map(String::as_str))
        .unwrap_or("");
    let node_of = |usage: &str| -> Result<String, String> {
        match words {
            [_, target] => target.strip_prefix("node/").filter(|n| !n.is_empty()).map(str::to_string).ok_or_else(|| format!("usage: {usage}")),
            _ => Err(format!("usage: {usage}")),
        }
    };
    Ok(match first {
        "stop" | "start" | "restart" => {
            let [_, name] = words else {
                return Err(format!("usage: {first} COMPONENT"));
            };
            match first {
                "stop" => Step::Stop(name.clone()),
                "start" => Step::Start(name.clone()),
                _ => Step::Restart(name.clone()),
            }
        }
        "sleep" => {
            let [_, duration] = words else {
                return Err("usage: sleep DURATION (500ms, 30s, 5m, 1h)".into());
            };
            let ms = parse_duration_ms(duration)
                .or_else(|| duration.parse::<u64>().ok().map(|s| s.saturating_mul(1000)))
                .ok_or_else(|| format!("invalid duration \"{duration}\""))?;
            if ms > MAX_SLEEP_MS {
                return Err(format!("sleep longer than 24h: \"{duration}\""));
            }
            Step::Sleep(ms)
        }
        "partition" => Step::Partition(node_of("partition node/NAME")?),
        "heal" => Step::Heal(node_of("heal node/NAME")?),
        "slow" => {
            let [_, target, duration] = words else {
                return Err("usage: slow apiserver|etcd DURATION (0s for normal speed)".into());
            };
            if !matches!(target.as_str(), "apiserver" | "kube-apiserver" | "etcd") {
                return Err(format!("cannot slow \"{target}\" (apiserver or etcd)"));
            }
            let ms = match duration.as_str() {
                "off" | "normal" => 0,
                d => parse_duration_ms(d).ok_or_else(|| format!("invalid duration \"{d}\""))?,
            };
            if ms > MAX_SLOW_MS {
                return Err(format!("slow by at most 1m (the API server's request timeout): \"{duration}\""));
            }
            Step::Slow { target: target.clone(), ms }
        }
        "etcdctl" | "etcdutl" => match etcdctl::parse(words) {
            Ok(command) => Step::Etcd(command),
            // etcdctl's own errors print when the line runs, as in a shell.
            Err(message) if message.starts_with("Error:") => Step::EtcdRefused(message),
            Err(usage) => return Err(usage),
        },
        w if crate::engine::host::COMMANDS.contains(&w) => Step::Host(words.to_vec()),
        other => {
            let known: Vec<&str> = COMMANDS.iter().chain(crate::engine::host::COMMANDS).copied().collect();
            return Err(format!("unknown command \"{other}\" (expected kubectl, {})", known.join(", ")));
        }
    })
}

/// Parses one line that is not kubectl (the page's terminal takes these too).
pub fn parse_line(line: &str) -> Result<Step, String> {
    let words = shell_words::split(line).map_err(|_| "unterminated quote".to_string())?;
    parse_words(&words)
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

/// The commands inside each `$(…)` of a line that the learner's shell would
/// expand (not those in single quotes or after a backslash), in order, with
/// where each `$(` starts.
fn substitutions(line: &str) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut chars = line.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            // Single quotes keep `$(` for the command the line runs (`sh -c
            // 'echo $(hostname)'` in a container), as the learner's shell does.
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => {
                chars.next();
            }
            '$' if !single && chars.peek().is_some_and(|&(_, next)| next == '(') => {
                let after = &line[start + 2..];
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
                out.push((start, after[..end].to_string()));
                // Resume after the closing parenthesis.
                while chars.peek().is_some_and(|&(i, _)| i <= start + 2 + end) {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Expands each `$(kubectl …)` (or host command) with what it printed on
/// stdout, its lines joined by spaces as an unquoted substitution is.
fn expand(cluster: &mut Cluster, line: &str, files: &dyn FileSource) -> Result<String, String> {
    let mut out = String::new();
    let mut copied = 0;
    for (start, inner) in substitutions(line)? {
        out.push_str(line.get(copied..start).unwrap_or_default());
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
        copied = start + 2 + inner.len() + 1;
    }
    out.push_str(line.get(copied..).unwrap_or_default());
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
                // The shell's `$?` on the next line.
                cluster.learner_shell.last_status = output.exit_code;
                if output.exit_code != 0 {
                    return (printed, false);
                }
            }
            (printed, true)
        }
        Step::Stop(name) => component_result(cluster.sim.stop(name)),
        Step::Start(name) => component_result(cluster.sim.start(name)),
        Step::Restart(name) => component_result(cluster.sim.restart(name)),
        Step::Sleep(ms) => {
            cluster.sim.run_for_ms(*ms);
            (String::new(), true)
        }
        Step::Partition(node) => component_result(cluster.sim.partition(node)),
        Step::Heal(node) => component_result(cluster.sim.heal(node)),
        Step::Slow { target, ms } => component_result(cluster.sim.set_latency(target, *ms)),
        Step::Etcd(command) => {
            let output = etcdctl::run(cluster, command);
            (output.combined(), output.exit_code == 0)
        }
        Step::EtcdRefused(message) => (format!("{message}\n"), false),
        Step::Explain { namespace, name } => match explain(cluster, namespace, name) {
            Ok(text) => (text, true),
            Err(e) => (explain_error(&e), false),
        },
        Step::Host(words) => {
            let output = crate::engine::host::run(cluster, words);
            cluster.learner_shell.last_status = output.code;
            host_result(output)
        }
        Step::Pipeline(line) => {
            let output = crate::engine::host::run_pipeline(cluster, line, files);
            (output.combined(), output.exit_code == 0)
        }
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

/// Whether a step is a fault, or the end of one (for the sweep's counts).
pub fn is_fault(step: &Step) -> bool {
    !matches!(step, Step::Kubectl { .. } | Step::Sleep(_) | Step::Explain { .. } | Step::Host(_) | Step::Substituted(_) | Step::Pipeline(_))
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
    fn single_quoted_substitutions_are_left_to_the_command() {
        // The learner's shell leaves `$(…)` in single quotes (or after a
        // backslash) to the container's shell.
        let cmds = parse("kubectl exec web -- sh -c 'echo $(hostname) $((3+4))'\nkubectl exec web -- sh -c \\$(hostname)\n").unwrap();
        assert!(matches!(&cmds[0].step, Step::Kubectl { chain, .. } if chain[0].last().map(String::as_str) == Some("echo $(hostname) $((3+4))")));
        assert!(matches!(&cmds[1].step, Step::Kubectl { chain, .. } if chain[0].last().map(String::as_str) == Some("$(hostname)")));
        // Double quotes do not protect it.
        assert_eq!(parse("kubectl exec web -- sh -c \"echo $(hostname)\"").unwrap_err().line, 1);
        let mixed = parse("kubectl label pod $(kubectl get pods -o name) note='$(kept)'").unwrap();
        assert_eq!(mixed[0].step, Step::Substituted("kubectl label pod $(kubectl get pods -o name) note='$(kept)'".into()));
        assert_eq!(substitutions("a '$(x)' $(kubectl get pods) \"$(kubectl version)\"").unwrap(), vec![(9, "kubectl get pods".to_string()), (30, "kubectl version".to_string())]);
    }

    #[test]
    fn lines_with_a_pipe_run_on_the_learners_machine() {
        let cmds = parse("kubectl get secret s -o jsonpath='{.data.p}' | base64 -d\necho -n admin | base64\nkubectl get pods || kubectl get nodes\nkubectl exec web -- sh -c 'ls | wc -l'\nkubectl get pod $(kubectl get pods -o name | head -1)\n").unwrap();
        assert_eq!(cmds[0].step, Step::Pipeline("kubectl get secret s -o jsonpath='{.data.p}' | base64 -d".into()));
        assert_eq!(cmds[1].step, Step::Pipeline("echo -n admin | base64".into()));
        // `||` and a quoted pipe are not the line's own; one inside `$(…)`
        // is the shell's, as only it runs such a substitution.
        assert!(matches!(&cmds[2].step, Step::Kubectl { .. }));
        assert!(matches!(&cmds[3].step, Step::Kubectl { .. }));
        assert!(matches!(&cmds[4].step, Step::Pipeline(_)));
        // A here-document goes with the line to the shell.
        let heredoc = parse("cat <<EOF | kubectl apply -f -\nkind: X\nEOF\nkubectl get pods > pods.txt\nls -l\nkubectl apply -f - <<EOF\nkind: Y\nEOF\n").unwrap();
        assert_eq!(heredoc[0].text, "cat <<EOF | kubectl apply -f -");
        assert_eq!(heredoc[0].step, Step::Pipeline("cat <<EOF | kubectl apply -f -\nkind: X\nEOF".into()));
        assert_eq!(heredoc[1].step, Step::Pipeline("kubectl get pods > pods.txt".into()));
        assert_eq!(heredoc[2].step, Step::Pipeline("ls -l".into()));
        assert!(matches!(&heredoc[3].step, Step::Kubectl { stdin: Some(_), .. }), "a here-document alone keeps kubectl's line");
        assert_eq!(parse("cat <<EOF > a.yaml\nkind: X\n").unwrap_err().line, 1);
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
        assert_eq!(parse("kubectl get pods && ls").unwrap()[0].step, Step::Pipeline("kubectl get pods && ls".into()));
        assert_eq!(parse("partition worker-1").unwrap_err().message, "usage: partition node/NAME");
        assert_eq!(parse("heal").unwrap_err().line, 1);
        assert!(parse("slow scheduler 1s").is_err());
        assert!(parse("slow etcd 2m").is_err());
        assert!(parse("slow etcd").is_err());
        assert!(parse("restart").is_err());
        assert!(parse("etcdctl snapshot").is_err());
        assert_eq!(parse("etcdctl snapshot save").unwrap()[0].step, Step::EtcdRefused("Error: snapshot save expects one argument".into()));
    }

    #[test]
    fn parses_faults() {
        let cmds = parse("partition node/worker-1\nheal node/worker-1\nslow apiserver 2s\nslow etcd off\nrestart kubelet/worker-2\n").unwrap();
        let steps: Vec<Step> = cmds.into_iter().map(|c| c.step).collect();
        assert_eq!(
            steps,
            vec![
                Step::Partition("worker-1".into()),
                Step::Heal("worker-1".into()),
                Step::Slow { target: "apiserver".into(), ms: 2000 },
                Step::Slow { target: "etcd".into(), ms: 0 },
                Step::Restart("kubelet/worker-2".into()),
            ]
        );
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
