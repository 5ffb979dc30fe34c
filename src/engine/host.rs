//! Commands typed on the learner's machine besides kubectl: `curl` and
//! `wget` from outside the cluster (as a laptop reaches a kind or minikube
//! node), `minikube service NAME --url`, and the traffic generator
//! (`traffic start|stop|report`).

use crate::engine::api::{ids, Object};
use crate::engine::cluster::{Cluster, ProfileKind};
use crate::engine::network::tools::{self, ToolContext};
use crate::engine::network::Origin;
use crate::engine::node::images::{parse_image, Toolkit};

/// The commands [`run`] understands.
pub const COMMANDS: &[&str] = &["traffic", "curl", "wget", "minikube"];

/// Whether a line is a host command rather than kubectl.
pub fn is_host_command(line: &str) -> bool {
    line.split_whitespace().next().is_some_and(|w| COMMANDS.contains(&w))
}

/// Whether a host command only reads (a scene need not keep it).
pub fn is_read_only(words: &[String]) -> bool {
    (words.first().map(String::as_str) == Some("minikube") && words.get(1).map(String::as_str) != Some("addons")) || (words.first().map(String::as_str) == Some("traffic") && words.get(1).map(String::as_str) == Some("report"))
}

/// What a host command printed and its exit code.
pub struct HostOutput {
    pub text: String,
    pub code: i32,
}

/// Runs one host command, given as words.
pub fn run(cluster: &mut Cluster, words: &[String]) -> HostOutput {
    let ok = |text: String| HostOutput { text, code: 0 };
    match words.first().map(String::as_str) {
        Some("traffic") => {
            let now = cluster.sim.now();
            let sim = &mut cluster.sim;
            match crate::engine::network::traffic::command(&sim.api, &mut sim.world, now, &words[1..]) {
                Ok(text) => ok(text),
                Err(e) => HostOutput { text: format!("{e}\n"), code: 1 },
            }
        }
        Some(tool @ ("curl" | "wget")) => {
            // The host's own tools: a recent curl, GNU Wget.
            let image = parse_image(if tool == "curl" { "curlimages/curl" } else { "debian" }).unwrap_or_else(|_| unreachable_image());
            let now = cluster.sim.now();
            // The proxies' connections to pods start on the API server's node.
            let loopback = crate::engine::learner_proxy::Loopback::new(&cluster.sim.api, &cluster.learner_proxies, &cluster.profile);
            let mut ctx = ToolContext { world: &mut cluster.sim.world, origin: Origin::Host, now, image, toolkit: Toolkit::Coreutils, tty: true, stdin: None, loopback: Some(&loopback) };
            let out = tools::run(&mut ctx, words).unwrap_or_default();
            let took = out.took_ms;
            if took > 0 {
                // The command blocks the terminal while it waits, as a real one does.
                cluster.sim.run_for_ms(took.min(crate::engine::network::ConnectError::TimedOut.wait_ms()));
            }
            HostOutput { text: out.combined(), code: out.code }
        }
        Some("minikube") => minikube(cluster, &words[1..]),
        _ => HostOutput { text: format!("bash: {}: command not found\n", words.first().map(String::as_str).unwrap_or("")), code: 127 },
    }
}

fn unreachable_image() -> crate::engine::node::images::ImageName {
    crate::engine::node::images::ImageName { repository: "curlimages/curl".into(), tag: "latest".into(), digest: None }
}

/// `minikube addons enable|disable metrics-server`: the one addon the
/// simulation carries beyond those a fresh minikube runs.
fn minikube_addons(cluster: &mut Cluster, args: &[String]) -> HostOutput {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["enable", "metrics-server"] => {
            let errors = crate::engine::bootstrap::create_all(&mut cluster.sim.api, crate::engine::bootstrap::addons::METRICS_SERVER, crate::engine::bootstrap::addons::Verb::Apply);
            cluster.sim.settle();
            // A second enable finds the objects there: minikube applies, so it is no error.
            if errors.iter().any(|e| !e.contains("already exists")) {
                return HostOutput { text: format!("❌  Exiting due to MK_ADDON_ENABLE: enable failed: {}\n", errors.join("; ")), code: 11 };
            }
            let image = crate::engine::bootstrap::addons::METRICS_SERVER_IMAGE;
            HostOutput {
                text: format!(
                    "💡  metrics-server is an addon maintained by Kubernetes. For any concerns contact minikube on GitHub.\nYou can view the list of minikube maintainers at: https://github.com/kubernetes/minikube/blob/master/OWNERS\n    ▪ Using image {image}\n🌟  The 'metrics-server' addon is enabled\n"
                ),
                code: 0,
            }
        }
        ["disable", "metrics-server"] => {
            let errors = crate::engine::bootstrap::delete_all(&mut cluster.sim.api, crate::engine::bootstrap::addons::METRICS_SERVER);
            cluster.sim.settle();
            if !errors.is_empty() {
                return HostOutput { text: format!("❌  Exiting due to MK_ADDON_DISABLE: disable failed: {}\n", errors.join("; ")), code: 11 };
            }
            // minikube's own wording, its stray opening quote included (cmd/minikube/cmd/config/disable.go).
            HostOutput { text: "🌑  \"The 'metrics-server' addon is disabled\n".into(), code: 0 }
        }
        ["enable" | "disable", other] => HostOutput { text: format!("minikube: only the metrics-server addon is simulated, not {other}\n"), code: 1 },
        _ => HostOutput { text: "minikube: only `minikube addons enable metrics-server` and `minikube addons disable metrics-server` are simulated\n".into(), code: 1 },
    }
}

/// `minikube service NAME [-n NAMESPACE] [--url]`.
fn minikube(cluster: &mut Cluster, args: &[String]) -> HostOutput {
    if cluster.profile.kind != ProfileKind::Minikube {
        return HostOutput { text: "🤷  Profile \"minikube\" not found. Run \"minikube profile list\" to view all profiles.\n👉  To start a cluster, run: \"minikube start\"\n".into(), code: 85 };
    }
    if args.first().map(String::as_str) == Some("addons") {
        return minikube_addons(cluster, &args[1..]);
    }
    if args.iter().map(String::as_str).eq(["ip"]) {
        // The control-plane node's address, as the driver reports it.
        let address = match cluster.sim.api.get(ids::nodes(), "", cluster.profile.control_plane()).as_deref() {
            Ok(Object::Node(n)) => n.status.iter().flat_map(|s| s.addresses.iter().flatten()).find(|a| a.type_ == "InternalIP").map(|a| a.address.clone()),
            _ => None,
        };
        return match address {
            Some(ip) => HostOutput { text: format!("{ip}\n"), code: 0 },
            None => HostOutput { text: "❌  Exiting due to GUEST_STATUS: state: unknown state \"minikube\"\n".into(), code: 80 },
        };
    }
    if args.first().map(String::as_str) != Some("service") {
        return HostOutput { text: "minikube: only `minikube ip`, `minikube service NAME [--url] [-n NAMESPACE]` and `minikube addons enable|disable metrics-server` are simulated\n".into(), code: 1 };
    }
    let mut namespace = "default".to_string();
    let mut url_only = false;
    let mut name = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--url" => url_only = true,
            "-n" | "--namespace" => {
                i += 1;
                namespace = args.get(i).cloned().unwrap_or_default();
            }
            a if a.starts_with("--namespace=") => namespace = a["--namespace=".len()..].to_string(),
            a if !a.starts_with('-') => name = Some(a.to_string()),
            _ => {}
        }
        i += 1;
    }
    let Some(name) = name else {
        return HostOutput { text: "❌  Exiting due to MK_USAGE: You must specify service name(s) or --all\n".into(), code: 64 };
    };
    let svc = match cluster.sim.api.get(ids::services(), &namespace, &name).as_deref() {
        Ok(Object::Service(s)) => s.clone(),
        _ => {
            return HostOutput {
                text: format!("\n❌  Exiting due to SVC_NOT_FOUND: Service '{name}' was not found in '{namespace}' namespace.\nYou may select another namespace by using 'minikube service {name} -n <namespace>'. Or list out all the services using 'minikube service list'\n\n"),
                code: 89,
            }
        }
    };
    let node_ip = cluster.profile.nodes.first().map(|n| n.address.clone()).unwrap_or_default();
    let ports: Vec<(String, i32, i32)> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|p| p.node_port.map(|np| (p.name.clone().unwrap_or_default(), p.port, np)))
        .collect();
    if ports.is_empty() {
        return HostOutput { text: format!("😿  service {namespace}/{name} has no node port\n"), code: 0 };
    }
    let urls: Vec<String> = ports.iter().map(|(_, _, np)| format!("http://{node_ip}:{np}")).collect();
    if url_only {
        return HostOutput { text: urls.iter().map(|u| format!("{u}\n")).collect(), code: 0 };
    }
    let port_cell = |p: &(String, i32, i32)| if p.0.is_empty() { p.1.to_string() } else { format!("{}/{}", p.0, p.1) };
    let rows: Vec<[String; 4]> = ports.iter().zip(&urls).enumerate().map(|(i, (p, u))| {
        if i == 0 { [namespace.clone(), name.clone(), port_cell(p), u.clone()] } else { [String::new(), String::new(), port_cell(p), u.clone()] }
    }).collect();
    let headers = ["NAMESPACE", "NAME", "TARGET PORT", "URL"];
    let widths: Vec<usize> = (0..4).map(|c| rows.iter().map(|r| r[c].chars().count()).chain([headers[c].len()]).max().unwrap_or(0)).collect();
    let rule = format!("|{}|\n", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    let center = |s: &str, w: usize| {
        let pad = w - s.len();
        format!("{}{s}{}", " ".repeat(pad / 2), " ".repeat(pad - pad / 2))
    };
    let mut text = rule.clone();
    text.push_str(&format!("|{}|\n", headers.iter().zip(&widths).map(|(h, w)| format!(" {} ", center(h, *w))).collect::<Vec<_>>().join("|")));
    text.push_str(&rule);
    for r in &rows {
        text.push_str(&format!(
            "| {:<w0$} | {:<w1$} | {:>w2$} | {:<w3$} |\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        ));
    }
    text.push_str(&rule);
    text.push_str(&format!("🎉  Opening service {namespace}/{name} in default browser...\n"));
    HostOutput { text, code: 0 }
}

/// The programs of the learner's machine a line may start with to run in
/// its shell (the files' commands and the text tools around them); `sleep`
/// stays the scripts' own (virtual time), and kubectl's verbs typed without
/// `kubectl` keep theirs but `cp`, which the machine's `cp` is.
pub const SHELL_PROGRAMS: &[&str] = &[
    "[", "awk", "base64", "basename", "bash", "cat", "cd", "chgrp", "chmod", "chown", "cp", "cut", "dash", "date", "df", "dirname", "echo", "env", "false", "find", "grep", "head",
    "hostname", "id", "jobs", "jq", "kill", "ln", "ls", "mawk", "mkdir", "mount", "mv", "printenv", "printf", "pwd", "readlink", "rm", "rmdir", "sed", "seq", "sh", "sort", "tail",
    "tee", "test", "touch", "tr", "true", "uname", "uniq", "wc", "which", "whoami", "xargs",
];

/// What a line asks of a shell outside quotes and `$(…)`, and a pipe, list
/// or redirection inside `$(…)`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Operators {
    /// `|` (not `||`), `;`, `&` (not `&&`), or a redirection (`>`, `>>`, `<`, `2>&1`).
    shell: bool,
    /// A here-document's `<<WORD`: where it starts and ends in the line, and WORD unquoted.
    here_document: Option<(usize, usize, String)>,
    /// A variable expanded outside single quotes (`$POD_NAME`, `${X}`, `$?`),
    /// in `$(…)` too: only the shell, which keeps them, knows its value.
    variable: bool,
}

fn operators(line: &str) -> Operators {
    let bytes = line.as_bytes();
    let mut found = Operators::default();
    let (mut single, mut double, mut depth) = (false, false, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'$' if !single && bytes.get(i + 1) == Some(&b'(') => {
                depth += 1;
                i += 1;
            }
            b'$' if !single && bytes.get(i + 1).is_some_and(|&b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'{' | b'?')) => found.variable = true,
            b')' if !single && !double && depth > 0 => depth -= 1,
            // A pipe, list or redirection inside `$(…)` (quoted or not):
            // only the shell runs such a substitution.
            b'|' | b';' | b'>' | b'<' | b'&' if !single && depth > 0 => found.shell = true,
            _ if single || double || depth > 0 => {}
            b'|' if bytes.get(i + 1) == Some(&b'|') => i += 1,
            b'&' if bytes.get(i + 1) == Some(&b'&') => i += 1,
            b'<' if bytes.get(i + 1) == Some(&b'<') && bytes.get(i + 2) != Some(&b'<') && found.here_document.is_none() => {
                // `<<WORD` or `<<-WORD`, the word maybe quoted.
                let mut end = i + 2;
                if bytes.get(end) == Some(&b'-') {
                    end += 1;
                }
                while bytes.get(end) == Some(&b' ') {
                    end += 1;
                }
                let word_start = end;
                while end < bytes.len() && !matches!(bytes[end], b' ' | b'\t' | b'|' | b';' | b'>' | b'<' | b'&') {
                    end += 1;
                }
                let marker = line.get(word_start..end).unwrap_or("").trim_matches(|c| c == '\'' || c == '"').to_string();
                if marker.is_empty() {
                    found.shell = true;
                } else {
                    found.here_document = Some((i, end, marker));
                }
                i = end;
                continue;
            }
            // `&` alone: a background job (`kubectl proxy &`).
            b'|' | b';' | b'>' | b'<' | b'&' => found.shell = true,
            _ => {}
        }
        i += 1;
    }
    found
}

/// Whether a line is the learner's shell's rather than kubectl's alone: a
/// pipe, `;` or redirection outside quotes, a variable, or a first word
/// that is one of the machine's [`SHELL_PROGRAMS`], a builtin or an
/// assignment. A here-document alone (`kubectl apply
/// -f - <<EOF`) keeps the line kubectl's.
pub fn needs_shell(line: &str) -> bool {
    let first_line = line.lines().next().unwrap_or("");
    let found = operators(first_line);
    if found.shell || found.variable {
        return true;
    }
    // A function's definition (`greet() { …; }`) too.
    defined_function(first_line).is_some() || first_line.split_whitespace().next().is_some_and(|w| SHELL_PROGRAMS.contains(&w) || SHELL_BUILTINS.contains(&w) || is_assignment(w))
}

/// The name of the function a line defines (`greet() { …; }`, `function
/// greet { …; }`), if it starts with a definition: a later line that calls
/// it is the shell's.
pub fn defined_function(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix("function ") {
        let word = rest.split_whitespace().next()?;
        let name = word.split_once("()").map_or(word, |(name, _)| name);
        return is_name(name).then_some(name);
    }
    let (name, _) = line.split_once("()").filter(|(name, _)| is_name(name.trim()))?;
    Some(name.trim())
}

/// A function name `line` starts with, among `defined` (those defined by
/// earlier lines): such a call is the shell's.
pub fn calls_function<'a>(line: &str, mut defined: impl FnMut(&str) -> bool) -> bool {
    line.split_whitespace().next().is_some_and(|w| is_name(w) && defined(w))
}

/// The shell's own words a line may start with, most of them changing what
/// the next lines see (`export POD_NAME=…`, `cd`, `for …; do`).
const SHELL_BUILTINS: &[&str] = &["export", "unset", "set", "source", ".", "read", "eval", "exit", "trap", "alias", "umask", "ulimit", "for", "while", "until", "if", "case", "function"];

/// `NAME=value` (a shell variable, or one for the command after it).
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| is_name(name))
}

/// A shell variable's or function's name.
fn is_name(word: &str) -> bool {
    word.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The here-document marker of a shell line's first line, if it has one.
pub fn here_document_marker(line: &str) -> Option<String> {
    operators(line.lines().next().unwrap_or("")).here_document.map(|(_, _, marker)| marker)
}

/// Where a line's here-document is read from: a private, read-only file
/// that lives for the line (bash's own is a pipe or a deleted temporary file).
const HERE_DOCUMENT: &str = "/dev/fd/0";

/// A shell line and its here-document (the lines after the first, up to
/// the marker): the line without `<<WORD`, and the document, which the
/// line's first command reads as its input. The document is taken as
/// written (`$VAR` in it is not expanded).
fn split_here_document(text: &str) -> (String, Option<String>) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let Some((start, end, marker)) = operators(first).here_document else { return (first.to_string(), None) };
    // The document becomes the command's input, as bash gives it one: a
    // file the command reads (`cat <<EOF > pod.yaml` is `cat < DOC > pod.yaml`).
    let line = format!("{} <{HERE_DOCUMENT} {}", first.get(..start).unwrap_or(""), first.get(end..).unwrap_or(""));
    let mut body = String::new();
    for l in lines {
        if l.trim() == marker {
            break;
        }
        body.push_str(l);
        body.push('\n');
    }
    (line, Some(body))
}

/// The learner's machine's programs that reach the cluster: kubectl and the
/// host commands above, run from a shell line.
struct LearnerPrograms<'a> {
    cluster: &'a mut Cluster,
    files: &'a dyn crate::engine::kubectl::FileSource,
}

impl crate::engine::node::shell::ExternalCommands for LearnerPrograms<'_> {
    fn run(&mut self, call: &mut crate::engine::node::shell::ExternalCall) -> Option<crate::engine::node::shell::CommandResult> {
        let name = call.argv.first().map(|a| a.rsplit('/').next().unwrap_or(a))?;
        let mut result = crate::engine::node::shell::CommandResult::default();
        if name == "kill" || name == "jobs" {
            return learner_jobs(&mut self.cluster.learner_proxies, name, &call.argv[1..]);
        }
        if name == "kubectl" {
            if call.argv.get(1..).is_some_and(|rest| rest.iter().any(|w| w == "proxy")) {
                // A proxy started with `&` keeps running as that job.
                self.cluster.learner_proxies.starting_in_background = call.background_pid.map(|pid| (pid, call.argv.join(" ")));
            }
            let stdin = (!call.stdin.is_empty()).then_some(call.stdin);
            // kubectl reads (`-f`) and writes (`cp`) the machine's files as the shell left them.
            let home = crate::engine::learner_home::HomeFiles::new(&*call.files, call.cwd, self.files);
            let mut output = crate::engine::kubectl::run_words_on_machine(self.cluster, call.argv[1..].to_vec(), stdin, &home);
            let writes = home.writes.take();
            drop(home);
            if let Some(job) = self.cluster.learner_proxies.running.last().filter(|p| Some(p.pid) == call.background_pid && self.cluster.learner_proxies.starting_in_background.is_none()) {
                // What an interactive bash prints as it puts a job in the background.
                result.output.push((2, format!("[{}] {}\n", job.job, job.pid)));
            }
            self.cluster.learner_proxies.starting_in_background = None;
            if let Err(e) = crate::engine::learner_home::apply_writes(call.files, call.cwd, writes) {
                output.push_error(&format!("error: {e}\n"));
            }
            // A warning written before the output (klog's) stays before it.
            let errors_first = output.terminal.as_deref().is_some_and(|t| !output.stderr.is_empty() && t.strip_prefix(output.stderr.as_str()) == Some(output.stdout.as_str()));
            if errors_first {
                result.output.push((2, output.stderr));
                result.output.push((1, output.stdout));
            } else {
                result.output.push((1, output.stdout));
                result.output.push((2, output.stderr));
            }
            result.status = output.exit_code;
        } else if COMMANDS.contains(&name) {
            let mut words = call.argv.to_vec();
            words[0] = name.to_string();
            let output = run(self.cluster, &words);
            result.output.push((if output.code == 0 { 1 } else { 2 }, output.text));
            result.status = output.code;
        } else {
            return None;
        }
        Some(result)
    }
}

/// `kill` and `jobs` on the learner's machine, whose jobs are its running
/// proxies; `None` leaves a `kill` of anything else to the shell's own.
fn learner_jobs(proxies: &mut crate::engine::learner_proxy::LearnerProxies, name: &str, args: &[String]) -> Option<crate::engine::node::shell::CommandResult> {
    use crate::engine::learner_proxy::job_line;
    let mut result = crate::engine::node::shell::CommandResult::default();
    if name == "jobs" {
        let lines: String = proxies.running.iter().enumerate().map(|(i, p)| job_line(p.job, proxies.mark(i), "Running", &format!("{} &", p.command))).collect();
        result.output.push((1, lines));
        return Some(result);
    }
    // Signals (`-9`, `-TERM`, `-s KILL`) all end a proxy.
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "-s" || arg == "-n" {
            i += 1;
        } else if arg == "-l" || arg == "-L" {
            return None;
        } else if !(arg.starts_with('-') && arg.len() > 1) {
            operands.push(arg.clone());
        }
        i += 1;
    }
    // The machine's processes are its login shell and its jobs: bash words what it cannot find.
    let processes = proxies.processes();
    let ours = |a: &String| a.starts_with('%') || a.parse::<u32>().is_ok_and(|pid| processes.iter().skip(1).any(|p| p.pid == pid) || !processes.iter().any(|p| p.pid == pid));
    if operands.is_empty() || !operands.iter().any(ours) {
        return None;
    }
    let mut notices = String::new();
    for operand in &operands {
        let index = if operand.starts_with('%') { proxies.job_index(operand) } else { operand.parse::<u32>().ok().and_then(|pid| proxies.running.iter().position(|p| p.pid == pid)) };
        match index {
            Some(index) => {
                let mark = proxies.mark(index);
                if index < proxies.running.len() {
                    let ended = proxies.running.remove(index);
                    notices.push_str(&job_line(ended.job, mark, "Terminated", &ended.command));
                }
            }
            None if operand.starts_with('%') => {
                result.output.push((2, format!("bash: kill: {operand}: no such job\n")));
                result.status = 1;
            }
            None if operand.parse::<u32>().is_ok() => {
                result.output.push((2, format!("bash: kill: ({operand}) - No such process\n")));
                result.status = 1;
            }
            None => {
                result.output.push((2, format!("bash: kill: {operand}: arguments must be process or job IDs\n")));
                result.status = 1;
            }
        }
    }
    // bash tells of the ended jobs before its next prompt.
    result.output.push((2, notices));
    Some(result)
}

/// What a line for the learner's shell printed, as kubectl's output: it
/// runs in bash on the learner's machine (GNU tools), whose `kubectl`,
/// `curl`, `wget`, `minikube` and `traffic` act on the cluster; each
/// command's output is the next one's input, and what it writes stays on
/// the machine ([`Cluster::learner`]). `text` may hold a here-document
/// after its first line.
pub fn run_pipeline(cluster: &mut Cluster, text: &str, files: &dyn crate::engine::kubectl::FileSource) -> crate::engine::kubectl::Output {
    use crate::engine::learner_home::{self, MAX_HOME_KB};
    use crate::engine::node::container_fs::{Mounts, ViewMut};
    use crate::engine::node::filesystem::Fs;
    use crate::engine::node::shell::{self, Host};
    let (line, here_document) = split_here_document(text);
    let now = cluster.sim.now();
    let info = learner_info(cluster, false);
    // The machine's files leave the cluster while the line runs (its kubectl
    // reaches them through the shell), and come back changed.
    let before = std::mem::take(&mut cluster.learner);
    let mut machine = before.clone();
    let mut output = {
        let root = std::rc::Rc::make_mut(&mut machine);
        let mut mounts = Mounts::default();
        if let Some(body) = &here_document {
            let mut document = Fs::new();
            document.insert("/", crate::engine::node::filesystem::Inode::dir(0o500, 0));
            document.insert("/0", crate::engine::node::filesystem::Inode::file(body, 0o400, 0));
            mounts.push(crate::engine::node::container_fs::Mount::private("/dev/fd", std::rc::Rc::new(document), true, &crate::engine::node::container_fs::MountKind::TMPFS_VOLUME));
        }
        let mut disk = Fs::new();
        let mut view = ViewMut { root, mounts: &mut mounts, disk: &mut disk, now: crate::engine::node::runtime::wall_secs(now), user: &crate::engine::node::identity::ROOT };
        // The terminal's shell leaves the cluster too while its line runs.
        let mut state = std::mem::replace(&mut cluster.learner_shell, learner_home::fresh_shell());
        let mut programs = LearnerPrograms { cluster: &mut *cluster, files };
        let env = state.exported.clone();
        let host = Host { files: &mut view, info: &info, env, external: Some(&mut programs) };
        let outcome = shell::run_line(&mut state, &line, host);
        // `exit` closes the terminal; the next line is a fresh one's.
        cluster.learner_shell = if outcome.exited { learner_home::fresh_shell() } else { state };
        crate::engine::kubectl::Output { stdout: outcome.stdout, stderr: outcome.stderr, exit_code: outcome.status, terminal: Some(outcome.combined), ..Default::default() }
    };
    if machine.upper_used_kb() > MAX_HOME_KB {
        // The machine's disk is full: the line's writes are undone.
        cluster.learner = before;
        output.push_error("bash: write error: No space left on device\n");
    } else {
        cluster.learner = machine;
    }
    output
}

/// The learner's machine as its programs see it (`tty`: its terminal is theirs).
fn learner_info(cluster: &Cluster, tty: bool) -> crate::engine::node::commands::SystemInfo {
    crate::engine::node::commands::SystemInfo {
        hostname: "learner".into(),
        base: crate::engine::node::images::Base::Debian,
        kernel: "6.8.0-60-generic".into(),
        now: Some(crate::engine::node::runtime::wall_secs(cluster.sim.now())),
        processes: cluster.learner_proxies.processes(),
        mounts: Vec::new(),
        tty,
        pod: Default::default(),
    }
}

/// The words of a terminal line that is one `kubectl` command whose only
/// shell feature is a variable (`kubectl exec -ti $POD_NAME -- bash`), as
/// the learner's shell expands them; `None` for any other line. A real
/// shell hands such a command its terminal, so the page runs these words
/// as it runs a kubectl line typed in full: `-ti` opens a terminal in the
/// container and `-f` follows, where the shell's own kubectl has no terminal.
pub fn kubectl_words_after_variables(cluster: &mut Cluster, line: &str) -> Option<Vec<String>> {
    use crate::engine::node::container_fs::Mounts;
    use crate::engine::node::filesystem::Fs;
    use crate::engine::node::shell::{self, Host};
    let found = operators(line);
    if found.shell || !found.variable || found.here_document.is_some() || line.split_whitespace().next() != Some("kubectl") {
        return None;
    }
    let info = learner_info(cluster, true);
    // Globs read the machine's files; nothing is written.
    let (mounts, disk) = (Mounts::default(), Fs::new());
    let mut view = crate::engine::learner_home::view(&cluster.learner, &mounts, &disk);
    let state = &mut cluster.learner_shell;
    let host = Host { files: &mut view, info: &info, env: state.exported.clone(), external: None };
    let words = shell::expand_simple_command(state, line, host)?;
    (words.first().map(String::as_str) == Some("kubectl")).then_some(words)
}

#[cfg(test)]
mod tests {
    use super::{needs_shell, split_here_document};

    #[test]
    fn the_shell_takes_redirections_here_documents_and_file_commands() {
        assert!(needs_shell("kubectl create deploy web --image=nginx --dry-run=client -o yaml > web.yaml"));
        assert!(needs_shell("kubectl get pods 2>&1"));
        assert!(needs_shell("wc -l < pods.txt"));
        assert!(needs_shell("kubectl get pods; ls"));
        // A background job (`kubectl proxy &`) is the shell's.
        assert!(needs_shell("kubectl proxy &"));
        assert!(needs_shell("kill %1"));
        assert!(needs_shell("cat <<EOF > pod.yaml\nkind: Pod\nEOF"));
        assert!(needs_shell("ls"));
        assert!(needs_shell("rm web.yaml"));
        assert!(needs_shell("echo hi"));
        assert!(needs_shell("sed -i 's/a/b/' web.yaml"));
        // Every program of the machine starts a shell line, but `sleep`,
        // which a script reads as the cluster's clock.
        for program in crate::engine::node::rootfs::DEBIAN_PROGRAMS.iter().filter(|p| **p != "sleep") {
            assert!(super::SHELL_PROGRAMS.contains(program), "{program} is on the learner's machine");
        }
        // kubectl's own lines keep their path: quoted operators, a
        // here-document alone, `&&` and `||`, a lone substitution.
        assert!(!needs_shell("kubectl get pods"));
        assert!(!needs_shell("kubectl apply -f - <<EOF\nkind: Pod\nEOF"));
        assert!(!needs_shell("kubectl exec web -- sh -c 'echo hi > /tmp/x; cat < /tmp/x'"));
        assert!(!needs_shell("kubectl get pods -o jsonpath=\"{.items[?(@.x>1)]}\""));
        assert!(!needs_shell("kubectl get pods && kubectl get nodes || kubectl version"));
        assert!(!needs_shell("kubectl get pod $(kubectl get pods -o name)"));
        // A substitution's pipe is the shell's (the script's own
        // substitution runs one command).
        assert!(needs_shell("kubectl get pod $(kubectl get pods -o name | head -1)"));
        assert!(needs_shell("kubectl exec \"$(kubectl get pods -o name | cut -d/ -f2)\" -- env"));
        // Variables and the words that set them are the shell's, which keeps them.
        assert!(needs_shell("export POD_NAME=$(kubectl get pods -o name)"));
        assert!(needs_shell("NODE_PORT=30080"));
        assert!(needs_shell("greet() { echo hi; }"));
        assert!(needs_shell("kubectl describe pod $POD_NAME"));
        assert!(needs_shell("curl \"http://localhost:8001/api/v1/namespaces/default/pods/${POD_NAME}/\""));
        assert!(needs_shell("kubectl get pod $(kubectl get pods -o name | grep $APP)"));
        assert!(!needs_shell("kubectl exec web -- sh -c 'echo $HOSTNAME'"));
        assert!(!needs_shell("kubectl get pods -o jsonpath='{$.items[0]}'"));
        assert!(!needs_shell("kubectl set env deploy/web A=1"));
        assert!(!needs_shell("sleep 5s"));
        assert!(!needs_shell("curl http://10.0.0.1"));
        assert_eq!(split_here_document("cat <<'EOF' > a\nx\n  y\nEOF\nignored"), ("cat  </dev/fd/0  > a".to_string(), Some("x\n  y\n".to_string())));
        assert_eq!(split_here_document("cat <<-EOF|wc -l\nx"), ("cat  </dev/fd/0 |wc -l".to_string(), Some("x\n".to_string())));
        assert_eq!(split_here_document("ls"), ("ls".to_string(), None));
    }

    #[test]
    fn a_pipe_is_one_outside_quotes_and_in_substitutions() {
        assert!(needs_shell("kubectl get pods | grep web"));
        assert!(needs_shell("a|b"));
        assert!(!needs_shell("kubectl get pods || echo no"));
        assert!(!needs_shell("kubectl exec web -- sh -c 'ls | wc -l'"));
        assert!(!needs_shell("kubectl exec web -- sh -c \"ls | wc -l\""));
        assert!(needs_shell("kubectl get pod $(kubectl get pods -o name | head -1)"));
        assert!(!needs_shell("kubectl exec web -- sh -c '$(ls | wc -l)'"));
        assert!(!needs_shell("kubectl get pods -l 'a in (x)' \\| b"));
        assert!(needs_shell("kubectl get pod $(kubectl get pods -o name) | cat"));
    }

    #[test]
    fn a_kubectl_line_with_only_variables_is_expanded_for_the_terminal() {
        use super::{kubectl_words_after_variables, run_pipeline};
        use crate::engine::cluster::{Cluster, Profile, ProfileKind};
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        run_pipeline(&mut cluster, "export POD_NAME=web-1; C='my app'", &crate::engine::kubectl::NoFiles);
        let words = |cluster: &mut Cluster, line: &str| kubectl_words_after_variables(cluster, line);
        assert_eq!(words(&mut cluster, "kubectl exec -ti $POD_NAME -- bash").unwrap(), ["kubectl", "exec", "-ti", "web-1", "--", "bash"]);
        assert_eq!(words(&mut cluster, "kubectl exec -ti \"${POD_NAME}\" -c \"$C\" -- sh").unwrap(), ["kubectl", "exec", "-ti", "web-1", "-c", "my app", "--", "sh"]);
        // An unquoted value is split, as bash splits it.
        assert_eq!(words(&mut cluster, "kubectl logs $C").unwrap(), ["kubectl", "logs", "my", "app"]);
        // Anything more than variables stays the shell's.
        assert_eq!(words(&mut cluster, "kubectl get pods $POD_NAME | wc -l"), None);
        assert_eq!(words(&mut cluster, "kubectl get pod $(echo $POD_NAME)"), None);
        assert_eq!(words(&mut cluster, "kubectl get pods"), None);
        assert_eq!(words(&mut cluster, "echo $POD_NAME"), None);
        assert_eq!(words(&mut cluster, "kubectl get pod $POD_NAME > out.txt"), None);
    }
}
