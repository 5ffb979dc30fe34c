//! Commands that keep the terminal after they start: a shell inside a
//! container (`exec -it`, `run -it`, `attach -it`) and output that keeps
//! coming (`logs -f`, `attach`, `run -i`). The page's terminal holds the
//! state (plain data) and calls these with each typed line, or each frame;
//! the engine keeps nothing between calls.
//!
//! Scripts cannot type into a terminal: there `exec -it` reads the lines
//! of a heredoc, and `logs -f` prints what exists and returns.

use serde::{Deserialize, Serialize};

use crate::engine::api::{ids, Object};
use crate::engine::cluster::Cluster;
use crate::engine::network::in_containers;
use crate::engine::node::exec::ExecError;
use crate::engine::node::runtime::LogLine;
use crate::engine::node::shell::ShellState;
use crate::engine::node::Kubelet;
use crate::engine::world::Machine;

/// What keeps the terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interactive {
    Shell(ShellSession),
    Follow(Follow),
}

/// A shell running in a container, typed into from the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellSession {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub node: String,
    pub hostname: String,
    pub state: ShellState,
    /// The container's main process itself (`run -it`, `attach -it`): what
    /// happens is in its log, and `exit` ends the container.
    pub attached: bool,
    /// `run --rm`: delete the pod when the session ends.
    pub remove: bool,
    /// `run --rm --expose`: delete the pod's Service after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_service: bool,
    /// `run` with restartPolicy Never/OnFailure: report how the pod ended.
    pub wait_for_exit: bool,
    /// `run`'s `--pod-running-timeout`: how long it waits for that end.
    #[serde(default = "default_pod_running_timeout")]
    pub pod_running_timeout_ms: u64,
    /// Printed when an attached session ends and the pod restarts its container.
    pub resume_hint: Option<String>,
}

/// kubectl's `--pod-running-timeout` default, a minute.
pub const DEFAULT_POD_RUNNING_TIMEOUT_MS: u64 = 60_000;

fn default_pod_running_timeout() -> u64 {
    DEFAULT_POD_RUNNING_TIMEOUT_MS
}

impl ShellSession {
    pub fn prompt(&self) -> String {
        self.state.prompt(&self.hostname)
    }
}

/// Output that keeps coming from one or more containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {
    pub namespace: String,
    pub streams: Vec<Stream>,
    pub prefix: bool,
    pub timestamps: bool,
    /// `run --rm`: delete the pod when the output ends.
    pub remove: Option<String>,
    /// `run --rm --expose`: delete the pod's Service after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_service: bool,
    /// `run` with restartPolicy Never/OnFailure: report how the pod ended.
    pub wait_for_exit: bool,
    /// `run`'s `--pod-running-timeout`: how long it waits for that end.
    #[serde(default = "default_pod_running_timeout")]
    pub pod_running_timeout_ms: u64,
}

/// One container's output being followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    pub pod: String,
    pub container: String,
    pub node: String,
    /// The container instance followed (a restart ends the stream).
    pub container_id: String,
    /// Lines written so far (counting ones rotated away).
    pub seen: u64,
}

/// What one step of an interactive command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub output: String,
    /// The command is over; the terminal is kubectl's again.
    pub ended: bool,
    pub exit_code: i32,
}

/// Runs `f` with the node's machine out of the world.
pub fn with_machine<T>(cluster: &mut Cluster, node: &str, f: impl FnOnce(&mut Machine) -> T) -> Option<T> {
    let sim = &mut cluster.sim;
    let mut machine = sim.world.lend(node)?;
    let result = f(&mut machine);
    sim.world.put_back(node, machine);
    Some(result)
}

fn kubelet<'a>(cluster: &'a Cluster, node: &str) -> Option<&'a Kubelet> {
    cluster.sim.component(&format!("kubelet/{node}")).and_then(|c| c.as_any().downcast_ref::<Kubelet>())
}

/// RFC 3339 with nanoseconds, as the runtime stamps log lines.
/// `rank` is the line's place among the lines printed at its millisecond
/// ([`SameInstantRank`]): the time's sub-millisecond part grows with it, so
/// a burst's timestamps increase as the runtime's would, the rest drawn from
/// the line's place in the log.
pub fn log_timestamp(line: &LogLine, salt: u64, rank: u64) -> String {
    let ms = line.time.as_millis();
    let secs = crate::engine::api::meta::EPOCH_SECONDS + (ms / 1000) as i64;
    let start = ms.wrapping_mul(2_654_435_761) % 400_000;
    let nanos = (ms % 1000) * 1_000_000 + start + rank.min(599) * 1_000 + salt.wrapping_mul(2_654_435_761) % 1_000;
    let z = k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH).to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC);
    // The kubelet writes RFC3339NanoFixed: always nine fractional digits.
    format!("{}.{nanos:09}Z", z.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// A log's lines' places among those printed at the same millisecond,
/// given the lines in order.
#[derive(Default)]
pub struct SameInstantRank {
    last: Option<u64>,
    rank: u64,
}

impl SameInstantRank {
    pub fn next(&mut self, line: &LogLine) -> u64 {
        let ms = line.time.as_millis();
        self.rank = if self.last == Some(ms) { self.rank + 1 } else { 0 };
        self.last = Some(ms);
        self.rank
    }
}

/// How a `run` pod ended, as kubectl reports it after the pod completes.
pub fn run_outcome(cluster: &Cluster, namespace: &str, pod: &str) -> Option<(i32, String)> {
    let obj = cluster.sim.api.get(ids::pods(), namespace, pod).ok()?;
    let Object::Pod(p) = &*obj else { return None };
    let status = p.status.as_ref()?;
    if status.phase.as_deref() != Some("Failed") {
        return None;
    }
    let t = status.container_statuses.as_ref().and_then(|c| c.first()).and_then(|c| c.state.as_ref()).and_then(|s| s.terminated.as_ref());
    match t {
        Some(t) if t.exit_code != 0 => Some((t.exit_code, format!("pod {namespace}/{pod} terminated ({})\n{}", t.reason.clone().unwrap_or_default(), t.message.clone().unwrap_or_default()))),
        _ => Some((1, format!("pod {namespace}/{pod} failed with unknown exit code"))),
    }
}

/// Deletes one object `run` made, printing what `delete` prints; nothing
/// when it is already gone, since kubectl's deferred `removeCreatedObjects`
/// drops that error.
fn delete_created(cluster: &mut Cluster, resource: &str, namespace: &str, name: &str) -> String {
    let rid = if resource == "pod" { ids::pods() } else { ids::services() };
    if cluster.sim.api.get(rid, namespace, name).is_err() {
        return String::new();
    }
    let words = vec!["delete".to_string(), resource.to_string(), name.to_string(), "--namespace".to_string(), namespace.to_string()];
    super::run_words(cluster, words, None, &super::NoFiles).combined()
}

/// How kubectl's `waitForPod` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodWait {
    /// The exit condition held.
    Done,
    /// `--pod-running-timeout` passed: `timed out waiting for the condition`.
    TimedOut,
    /// The watch saw the pod deleted: the conditions' `NotFound` with an empty name.
    Deleted,
}

/// What kubectl prints when `waitForPod` fails (the NotFound is an
/// `errors.NewNotFound` for an empty name).
pub fn pod_wait_failure(end: PodWait) -> Option<&'static str> {
    match end {
        PodWait::Done => None,
        PodWait::TimedOut => Some("error: timed out waiting for the condition"),
        PodWait::Deleted => Some("Error from server (NotFound): pods \"\" not found"),
    }
}

/// Runs until a `run` pod has finished (bounded), for its exit status:
/// kubectl's `waitForPod` with `podCompleted`, or `podSucceeded` for a
/// pod restarted on failure (whose failures it waits through). A pod
/// already gone is listed as nothing and waited for until the timeout; one
/// deleted during the wait ends it with `NotFound`.
pub fn wait_for_completion(cluster: &mut Cluster, namespace: &str, pod: &str, limit_ms: u64) -> PodWait {
    let until = cluster.now().plus_millis(limit_ms);
    let mut seen = false;
    loop {
        let done = match cluster.sim.api.get(ids::pods(), namespace, pod).ok().as_deref() {
            Some(Object::Pod(p)) => {
                seen = true;
                let on_failure = p.spec.as_ref().and_then(|sp| sp.restart_policy.as_deref()) == Some("OnFailure");
                match p.status.as_ref().and_then(|s| s.phase()) {
                    Some("Succeeded") => true,
                    Some("Failed") => !on_failure,
                    _ => false,
                }
            }
            _ if seen => return PodWait::Deleted,
            _ => false,
        };
        if done {
            return PodWait::Done;
        }
        if cluster.now() >= until {
            return PodWait::TimedOut;
        }
        let next = cluster.sim.next_timer().unwrap_or(until).min(until).max(cluster.now().plus_millis(1));
        cluster.sim.run_until(next);
    }
}

/// `run --rm`'s deletions, as kubectl's `removeCreatedObjects`: the pod,
/// then the Service `--expose` made.
pub fn remove_run_objects(cluster: &mut Cluster, namespace: &str, pod: &str, service: bool, out: &mut String) {
    out.push_str(&delete_created(cluster, "pod", namespace, pod));
    if service {
        out.push_str(&delete_created(cluster, "service", namespace, pod));
    }
}

/// What ends an attached command: report the exit, remove the pod (and
/// `--expose`'s Service).
#[allow(clippy::too_many_arguments)]
pub fn finish(cluster: &mut Cluster, namespace: &str, pod: &str, remove: bool, remove_service: bool, wait_for_exit: bool, timeout_ms: u64, out: &mut String) -> i32 {
    let mut code = 0;
    let mut failure = None;
    if wait_for_exit {
        // kubectl gives up after --pod-running-timeout, or when the pod is deleted.
        if let Some(text) = pod_wait_failure(wait_for_completion(cluster, namespace, pod, timeout_ms)) {
            code = 1;
            failure = Some(text.to_string());
        } else if let Some((c, msg)) = run_outcome(cluster, namespace, pod) {
            code = c;
            failure = Some(msg);
        }
    }
    if remove {
        remove_run_objects(cluster, namespace, pod, remove_service, out);
    }
    if let Some(msg) = failure {
        out.push_str(&msg);
        if !msg.ends_with('\n') {
            out.push('\n');
        }
    }
    code
}

/// Runs one line typed at a shell in a container.
pub fn shell_line(cluster: &mut Cluster, session: &mut ShellSession, line: &str) -> Step {
    let now = cluster.now();
    let node = session.node.clone();
    let reachable = kubelet(cluster, &node).map(|k| k.exec_target(cluster.sim.world.machine(&node).unwrap_or(&Machine::vacant()), &session.namespace, &session.pod, &session.container));
    if session.attached {
        // The line goes to the container's own shell; the kubelet is not involved.
    } else if let Some(Err(msg)) = reachable {
        let text = if msg.starts_with("error dialing backend") { format!("error: {msg}\n") } else { format!("error: unable to upgrade connection: {msg}\n") };
        return Step { output: text, ended: true, exit_code: 1 };
    }
    let (uid, container) = (session.uid.clone(), session.container.clone());
    let attached = session.attached;
    let prompt = session.prompt();
    let state = &mut session.state;
    // With the whole world at hand: network programs typed here connect from the pod.
    let result = in_containers::shell_line(&mut cluster.sim.world, &node, &uid, &container, state, line, true, now);
    if attached {
        let c = cluster.sim.world.machine_mut(&node).and_then(|m| m.runtime.sandbox_mut(&uid)).and_then(|s| s.latest_mut(&container));
        if let (Some(Ok(o)), Some(c)) = (&result, c) {
            // With a terminal the session is the container's output: it is in its log.
            c.push_log(now, format!("{prompt}{line}"));
            for l in o.combined.lines() {
                c.push_log(now, l.to_string());
            }
            if o.exited {
                c.exit_now(now, o.status);
            }
        }
    }
    let mut step = Step::default();
    match result {
        None | Some(Err(ExecError::NotRunning)) => {
            step.output = "error: unable to upgrade connection: container not found\n".to_string();
            step.ended = true;
            step.exit_code = 1;
        }
        Some(Err(ExecError::Start(e))) => {
            step.output = format!("{}\n", e.message());
        }
        Some(Ok(o)) => {
            step.output = o.combined.clone();
            if o.exited {
                step.ended = true;
                if session.state.flavor == crate::engine::node::shell::Flavor::Bash {
                    step.output.insert_str(0, "exit\n");
                }
                if attached {
                    cluster.sim.settle();
                    if let Some(hint) = &session.resume_hint {
                        step.output.push_str(hint);
                        step.output.push('\n');
                    }
                    let mut tail = String::new();
                    step.exit_code = finish(cluster, &session.namespace.clone(), &session.pod.clone(), session.remove, session.remove_service, session.wait_for_exit, session.pod_running_timeout_ms, &mut tail);
                    step.output.push_str(&tail);
                } else if o.status != 0 {
                    step.output.push_str(&format!("command terminated with exit code {}\n", o.status));
                    step.exit_code = o.status;
                }
            }
        }
    }
    cluster.sim.settle();
    step
}

/// New output of a followed stream since the last call.
pub fn follow(cluster: &mut Cluster, f: &mut Follow) -> Step {
    let mut step = Step::default();
    let mut all_done = true;
    let many = f.streams.len() > 1;
    for stream in &mut f.streams {
        let Some(machine) = cluster.sim.world.machine(&stream.node) else { continue };
        let Some(sandbox) = machine.runtime.sandboxes().find(|(_, s)| *s.namespace == *f.namespace && s.pod == stream.pod).map(|(_, s)| s) else { continue };
        let Some(c) = sandbox.containers.iter().find(|c| c.id == stream.container_id) else { continue };
        let total = c.logs_dropped + c.logs.len() as u64;
        let skip = stream.seen.saturating_sub(c.logs_dropped) as usize;
        let mut rank = SameInstantRank::default();
        for (i, line) in c.logs.iter().enumerate() {
            let line_rank = rank.next(&line);
            if i < skip {
                continue;
            }
            if f.prefix || many {
                step.output.push_str(&format!("[pod/{}/{}] ", stream.pod, stream.container));
            }
            if f.timestamps {
                step.output.push_str(&log_timestamp(&line, c.logs_dropped + i as u64, line_rank));
                step.output.push(' ');
            }
            step.output.push_str(&line.text);
            step.output.push('\n');
        }
        stream.seen = total;
        if c.is_running() {
            all_done = false;
        }
    }
    if all_done {
        step.ended = true;
        if let Some(pod) = f.remove.clone() {
            let mut tail = String::new();
            step.exit_code = finish(cluster, &f.namespace.clone(), &pod, true, f.remove_service, f.wait_for_exit, f.pod_running_timeout_ms, &mut tail);
            step.output.push_str(&tail);
        } else if let Some(pod) = f.streams.first().map(|s| s.pod.clone()).filter(|_| f.wait_for_exit) {
            // Nothing to remove; kubectl still reports a failed run.
            let mut tail = String::new();
            step.exit_code = finish(cluster, &f.namespace.clone(), &pod, false, false, true, f.pod_running_timeout_ms, &mut tail);
            step.output.push_str(&tail);
        }
    }
    step
}

/// Ctrl-C: a followed stream stops; a shell gets a fresh prompt.
pub fn interrupt(cluster: &mut Cluster, interactive: &mut Interactive) -> Step {
    match interactive {
        Interactive::Follow(f) => {
            let mut step = Step { output: "^C\n".into(), ended: true, exit_code: 130 };
            if let Some(pod) = f.remove.clone() {
                remove_run_objects(cluster, &f.namespace.clone(), &pod, f.remove_service, &mut step.output);
            }
            step
        }
        Interactive::Shell(_) => Step { output: "^C\n".into(), ended: false, exit_code: 0 },
    }
}
