//! `kubectl attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t]`, and the
//! attaching half of `kubectl run -i`: the container's own output (and,
//! for a container that keeps stdin open, its shell) in the terminal.
//!
//! In the page an attached shell takes typed lines and output is followed
//! until the container stops; a script cannot wait on a terminal, so there
//! a shell reads the heredoc given on stdin and output is collected until
//! the container stops (at most ten minutes of virtual time) for `run`,
//! while `kubectl attach` prints its banner and returns.

use crate::engine::api::pod::Pod;

use super::exec::{choose_container, TTY_REFUSED};
use super::logs::find_pod;
use crate::engine::api::{ids, ApiError, Object, Reason};
use crate::engine::kubectl::interactive::{self, Follow, Interactive, PodWait, ShellSession, Stream};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::node::exec as node_exec;
use crate::engine::node::Kubelet;

/// How long a script waits on attached output before giving up.
const SCRIPT_ATTACH_LIMIT_MS: u64 = 600_000;

pub const PROMPT_HINT: &str = "If you don't see a command prompt, try pressing enter.\n";

pub fn run(s: &mut Session) -> Result {
    let namespace = s.namespace();
    let positionals = s.args.positionals.clone();
    super::run::pod_running_timeout(s, "attach")?;
    let target = match positionals.as_slice() {
        [] => return Err(Error::Message("error: at least 1 argument is required for attach".into())),
        [one] => one.clone(),
        [kind, name] => format!("{kind}/{name}"),
        more => return Err(Error::Message(format!("error: expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw {}: [{}]", more.len(), more.join(" ")))),
    };
    let pod = find_pod(s, &namespace, &target, false)?;
    let phase = pod.status.as_ref().and_then(|st| st.phase.clone()).unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return Err(Error::Message(format!("error: cannot attach a container in a completed pod; current phase is {phase}")));
    }
    // kubectl looks the container up itself (`FindOrDefaultContainerByName`)
    // before it asks the API server.
    if let Some(named) = s.args.value("container") {
        let spec = pod.spec.as_ref();
        let known = spec.is_some_and(|sp| {
            sp.containers.iter().chain(sp.init_containers.iter().flatten()).any(|c| c.name == named) || sp.ephemeral_containers.iter().flatten().any(|c| c.name == named)
        });
        if !known {
            let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
            return Err(Error::Message(format!("error: cannot attach to the container: container {named} not found in pod {pod_name}")));
        }
    }
    let quiet = s.args.flag("quiet");
    let container = choose_container(s, &pod, quiet).map_err(|e| match e {
        Error::Message(m) => Error::Message(format!("error: cannot attach to the container: {}", m.trim_start_matches("error: "))),
        other => other,
    })?;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    s.cluster.sim.api.authorize_client_on("create", ids::pods(), "attach", &namespace, &pod_name)?;
    let options = AttachOptions { stdin: s.args.flag("stdin"), tty: s.args.flag("tty"), quiet, remove: false, remove_service: false, wait_for_exit: false, pod_running_timeout_ms: interactive::DEFAULT_POD_RUNNING_TIMEOUT_MS, stream: s.terminal };
    attach(s, &pod, &container, options)
}

pub struct AttachOptions {
    pub stdin: bool,
    pub tty: bool,
    pub quiet: bool,
    /// `run --rm`.
    pub remove: bool,
    /// `run --rm --expose`: its Service goes too.
    pub remove_service: bool,
    /// `run` with restartPolicy Never or OnFailure.
    pub wait_for_exit: bool,
    /// `run`'s `--pod-running-timeout`, for that wait.
    pub pod_running_timeout_ms: u64,
    /// Stay for the output to come (a script can only do so for `run`, whose
    /// command ends; `kubectl attach` there shows nothing and returns).
    pub stream: bool,
}

/// Attaches to a running container (kubectl's `AttachOptions.Run`).
pub fn attach(s: &mut Session, pod: &Pod, container: &str, mut o: AttachOptions) -> Result {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let ephemeral = spec.and_then(|sp| sp.ephemeral_containers.iter().flatten().find(|c| c.name == container));
    let (allocated, stdin_once) = match ephemeral {
        Some(e) => (e.tty.unwrap_or(false), e.stdin_once.unwrap_or(false)),
        None => spec
            .and_then(|sp| sp.containers.iter().chain(sp.init_containers.iter().flatten()).find(|c| c.name == container))
            .map_or((false, false), |c| (c.tty.unwrap_or(false), c.stdin_once.unwrap_or(false))),
    };
    if o.tty && !allocated {
        o.tty = false;
        if !o.quiet {
            s.say(true, &format!("error: Unable to use a TTY - container {container} did not allocate one\n"));
        }
    } else if !o.tty && allocated {
        o.tty = true;
    }
    if !o.stdin {
        o.tty = false;
    } else if o.tty && !s.terminal {
        o.tty = false;
        if !o.quiet {
            s.say(true, TTY_REFUSED);
        }
    }
    let node = pod.node_name.clone().unwrap_or_default();
    let kubelet = s.cluster.sim.component(&format!("kubelet/{node}")).and_then(|c| c.as_any().downcast_ref::<Kubelet>());
    let reach = match (kubelet, s.cluster.sim.world.machine(&node)) {
        (Some(k), Some(m)) => k.exec_target(m, &namespace, &pod_name, container),
        _ => Err(format!("error dialing backend: dial tcp: lookup {node}: no such host")),
    };
    if !o.quiet {
        s.say(true, PROMPT_HINT);
    }
    // The API server refuses to proxy to a pod no node runs.
    if node.is_empty() {
        return Err(Error::Api(ApiError::new(Reason::BadRequest, format!("pod {pod_name} does not have a host assigned"))));
    }
    let uid = match reach {
        Ok(uid) => uid,
        Err(msg) if msg.starts_with("error dialing backend") => return Err(Error::Message(format!("Error from server: {msg}"))),
        Err(_) => return Err(Error::Message(format!("error: unable to upgrade connection: container {container} not found in pod {pod_name}_{namespace}"))),
    };
    let restart = pod.spec.as_ref().and_then(|sp| sp.restart_policy.clone()).unwrap_or_else(|| "Always".into());
    let resume_hint = (o.stdin && o.tty && restart == "Always" && !o.quiet).then(|| match ephemeral {
        Some(_) => format!("Session ended, the ephemeral container will not be restarted but may be reattached using 'kubectl attach {pod_name} -c {container} -i -t' if it is still running"),
        None => format!("Session ended, resume using 'kubectl attach {pod_name} -c {container} -i -t' command when the pod is running"),
    });
    let interactive_main = s
        .cluster
        .sim
        .world
        .machine(&node)
        .and_then(|m| m.runtime.sandbox(&uid))
        .and_then(|sb| sb.latest(container))
        .map(|c| (c.interactive, c.command_line.to_string()));
    let now = s.cluster.now();
    if let (true, Some((true, command))) = (o.stdin, interactive_main.clone()) {
        let program = command.split_whitespace().next().unwrap_or("sh").to_string();
        let opened = interactive::with_machine(s.cluster, &node, |machine| node_exec::open_shell(machine, &uid, container, &program, o.tty, now));
        let Some(Ok(mut state)) = opened else {
            return Err(Error::Message(format!("error: unable to upgrade connection: container {container} not found in pod {pod_name}_{namespace}")));
        };
        state.attached = true;
        state.process_target = ephemeral.and_then(|e| e.target_container_name.clone()).filter(|t| !t.is_empty());
        let hostname = pod.spec.as_ref().and_then(|sp| sp.hostname.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| pod_name.clone());
        let mut session = ShellSession {
            namespace: namespace.clone(),
            pod: pod_name.clone(),
            uid: uid.clone(),
            container: container.to_string(),
            node: node.clone(),
            hostname,
            state,
            attached: true,
            remove: o.remove,
            remove_service: o.remove_service,
            wait_for_exit: o.wait_for_exit,
            pod_running_timeout_ms: o.pod_running_timeout_ms,
            resume_hint,
        };
        if o.tty && s.terminal {
            s.interactive = Some(Interactive::Shell(session));
            return Ok(());
        }
        // No terminal: the shell reads stdin to its end, then stdin closes
        // and it exits if the container's stdin closes with the first
        // attach (`stdinOnce`, as `run -i` sets); else the container's
        // stdin stays open and its shell runs on (`debug -i`).
        let input = s.stdin.unwrap_or("").to_string();
        let mut lines: Vec<String> = input.lines().map(str::to_string).collect();
        if stdin_once {
            lines.push("exit".into());
        }
        for line in lines {
            let step = interactive::shell_line(s.cluster, &mut session, &line);
            let text = if line == "exit" && step.ended { step.output.trim_start_matches("exit\n").to_string() } else { step.output };
            s.say(false, &text);
            if step.ended {
                if step.exit_code != 0 {
                    return Err(Error::Exit(step.exit_code, String::new()));
                }
                return Ok(());
            }
        }
        return Ok(());
    }
    // The container's output, from now on.
    let id = s.cluster.sim.world.machine(&node).and_then(|m| m.runtime.sandbox(&uid)).and_then(|sb| sb.latest(container)).map(|c| (c.id.to_string(), c.logs_dropped + c.logs.len() as u64));
    let Some((container_id, seen)) = id else { return Ok(()) };
    // Output written since the process started is still in the terminal
    // buffer kubectl attaches to when the process has only just started.
    let seen = if o.remove || o.wait_for_exit { 0 } else { seen };
    let mut follow = Follow {
        namespace: namespace.clone(),
        streams: vec![Stream { pod: pod_name.clone(), container: container.to_string(), node: node.clone(), container_id, seen }],
        prefix: false,
        timestamps: false,
        remove: o.remove.then(|| pod_name.clone()),
        remove_service: o.remove_service,
        wait_for_exit: o.wait_for_exit,
        pod_running_timeout_ms: o.pod_running_timeout_ms,
    };
    if !o.stream {
        return Ok(());
    }
    if s.terminal {
        let first = interactive::follow(s.cluster, &mut follow);
        s.say(false, &first.output);
        if !first.ended {
            s.interactive = Some(Interactive::Follow(follow));
        } else if first.exit_code != 0 {
            return Err(Error::Exit(first.exit_code, String::new()));
        }
        return Ok(());
    }
    let until = s.cluster.now().plus_millis(SCRIPT_ATTACH_LIMIT_MS);
    loop {
        let step = interactive::follow(s.cluster, &mut follow);
        s.say(false, &step.output);
        if step.ended {
            if step.exit_code != 0 {
                return Err(Error::Exit(step.exit_code, String::new()));
            }
            return Ok(());
        }
        if s.cluster.now() >= until {
            return Err(Error::Message("error: a script cannot stay attached: the container was still running after 10m0s of virtual time".into()));
        }
        let next = s.cluster.sim.next_timer().unwrap_or(until).min(until).max(s.cluster.now().plus_millis(1));
        s.cluster.sim.run_until(next);
    }
}

/// Waits (in virtual time) until the pod runs and is ready, or has
/// finished (kubectl run's `podRunningAndReady`); its latest state. A pod
/// deleted during the wait ends it (`NotFound`); one never seen is waited
/// for until the timeout, as the watch lists nothing.
pub fn wait_running(s: &mut Session, namespace: &str, name: &str, limit_ms: u64) -> std::result::Result<Pod, PodWait> {
    let until = s.cluster.now().plus_millis(limit_ms);
    let mut seen = false;
    loop {
        let pod = match s.cluster.sim.api.get(ids::pods(), namespace, name).ok().as_deref() {
            Some(Object::Pod(p)) => Some((**p).clone()),
            _ => None,
        };
        let status = pod.as_ref().and_then(|p| p.status.as_ref());
        let phase = status.and_then(|st| st.phase.clone()).unwrap_or_default();
        let pod_ready = status.and_then(|st| st.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let ready = matches!(phase.as_str(), "Succeeded" | "Failed") || (phase == "Running" && pod_ready);
        match pod {
            Some(pod) if ready => return Ok(pod),
            Some(_) => seen = true,
            None if seen => return Err(PodWait::Deleted),
            None => {}
        }
        if s.cluster.now() >= until {
            return Err(PodWait::TimedOut);
        }
        let next = s.cluster.sim.next_timer().unwrap_or(until).min(until).max(s.cluster.now().plus_millis(1));
        s.cluster.sim.run_until(next);
    }
}
