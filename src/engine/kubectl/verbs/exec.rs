//! `kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND
//! [args...]`: the API server checks the pod and container, the node's
//! kubelet checks the container runs, and the command runs in the
//! container's files at the current virtual instant.
//!
//! With `-it` in the page's terminal a shell becomes interactive; in a
//! script (no terminal) kubectl says it cannot use a TTY and the shell
//! reads a heredoc given on stdin.

use crate::engine::api::pod::Pod;

use super::logs::find_pod;
use crate::engine::api::{ids, ApiError, Reason};
use crate::engine::kubectl::interactive::{self, Interactive, ShellSession};
use crate::engine::kubectl::{manifest, Error, Result, Session};
use crate::engine::api::resource;
use crate::engine::network::in_containers;
use crate::engine::node::exec::{self as node_exec, ExecError};
use crate::engine::node::runtime::{random_hex, Flavor};
use crate::engine::node::Kubelet;

pub const TTY_REFUSED: &str = "Unable to use a TTY - input is not a terminal or the right kind of file\n";

/// The container a command targets: `-c`, else the annotated default or the
/// first, announcing the choice when the pod has several.
pub fn choose_container(s: &mut Session, pod: &Pod, quiet: bool) -> Result<String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    if let Some(c) = s.args.value("container").map(str::to_string) {
        let known = spec.containers.iter().chain(spec.init_containers.iter().flatten()).any(|x| x.name == c)
            || spec.ephemeral_containers.iter().flatten().any(|x| x.name == c);
        if !known {
            return Err(Error::Api(ApiError::new(Reason::BadRequest, format!("container {c} is not valid for pod {name}"))));
        }
        return Ok(c);
    }
    let annotated = pod.metadata.annotations.as_ref().and_then(|a| a.get("kubectl.kubernetes.io/default-container")).cloned();
    let chosen = annotated.filter(|a| spec.containers.iter().any(|c| &c.name == a)).or_else(|| spec.containers.first().map(|c| c.name.clone()));
    let Some(chosen) = chosen else {
        return Err(Error::Message(format!("error: pod {name} does not have any containers")));
    };
    if !quiet && spec.containers.len() + spec.init_containers.as_ref().map_or(0, Vec::len) > 1 {
        let mut names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
        names.extend(spec.init_containers.iter().flatten().map(|c| format!("{} (init)", c.name)));
        s.say(true, &format!("Defaulted container \"{chosen}\" out of: {}\n", names.join(", ")));
    }
    Ok(chosen)
}

/// The kubelet's answer for a stream request (exec, attach): the pod UID,
/// or the error kubectl prints.
pub fn reach_kubelet(s: &Session, pod: &Pod, container: &str) -> Result<(String, String)> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let Some(node) = pod.bound_node().map(str::to_string) else {
        return Err(Error::Api(ApiError::new(Reason::BadRequest, format!("pod {name} does not have a host assigned"))));
    };
    let kubelet = s.cluster.sim.component(&format!("kubelet/{node}")).and_then(|c| c.as_any().downcast_ref::<Kubelet>());
    let (Some(kubelet), Some(machine)) = (kubelet, s.cluster.sim.world.machine(&node)) else {
        return Err(Error::Message(format!("Error from server: error dialing backend: dial tcp: lookup {node}: no such host")));
    };
    match kubelet.exec_target(machine, &namespace, &name, container) {
        Ok(uid) => Ok((uid, node)),
        Err(msg) if msg.starts_with("error dialing backend") => Err(Error::Message(format!("Error from server: {msg}"))),
        Err(msg) => Err(Error::Message(format!("error: unable to upgrade connection: {msg}"))),
    }
}

/// `exec -f FILE`: the builder reads the files (their errors first) and
/// refuses a name beside them; its result is one object only for a single
/// file (not stdin, not a directory) holding one document, else a list,
/// which exec refuses. kubectl then finds that object's pod as for
/// TYPE/NAME. Its namespace and `TYPE/NAME`.
fn file_target(s: &mut Session, named_too: bool) -> std::result::Result<(String, String), Error> {
    let mut infos = Vec::new();
    for item in manifest::load(s) {
        match item {
            Ok(info) => infos.push(info),
            Err(failure) => return Err(manifest::finish(s, vec![failure]).err().unwrap_or(Error::Silent)),
        }
    }
    if named_too {
        return Err(Error::Message("error: resource/name arguments cannot be provided when a path is specified".into()));
    }
    let paths = s.args.values("filename");
    let single_item_implied = paths.len() == 1 && paths.iter().all(|path| path != "-" && s.files.manifests_in(path, false).is_none());
    match infos.as_slice() {
        [info] if single_item_implied => Ok((info.namespace.clone(), format!("{}/{}", resource(info.rid).plural, info.name))),
        _ => Err(Error::Message("error: cannot exec into multiple objects at a time".into())),
    }
}

pub fn run(s: &mut Session) -> Result {
    let namespace = s.namespace();
    let quiet = s.args.flag("quiet");
    let positionals = s.args.positionals.clone();
    let command = s.args.after_dash.clone();
    let by_file = !s.args.values("filename").is_empty();
    // kubectl 1.33 no longer runs a command given without `--`.
    if command.is_empty() && (positionals.len() > 1 || (!positionals.is_empty() && by_file)) {
        return Err(Error::Message("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'kubectl exec -h' for help and examples".into()));
    }
    super::run::pod_running_timeout(s, "exec")?;
    if positionals.is_empty() && !by_file {
        return Err(Error::Message("error: pod, type/name or --filename must be specified".into()));
    }
    if command.is_empty() {
        return Err(Error::Message("error: you must specify at least one command for the container".into()));
    }
    let (namespace, target) = if by_file { file_target(s, positionals.first().is_some())? } else { (namespace, positionals.first().cloned().unwrap_or_default()) };
    let pod = find_pod(s, &namespace, &target, false)?;
    let phase = pod.status.as_ref().and_then(|st| st.phase.clone()).unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return Err(Error::Message(format!("error: cannot exec into a container in a completed pod; current phase is {phase}")));
    }
    let container = choose_container(s, &pod, quiet)?;
    let stdin_flag = s.args.flag("stdin");
    let mut tty = s.args.flag("tty") && stdin_flag;
    if tty && !s.terminal {
        if !quiet {
            s.say(true, TTY_REFUSED);
        }
        tty = false;
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    // kubectl 1.33 execs over a websocket, which the API server authorizes as a create.
    s.cluster.sim.api.authorize_client_on("create", ids::pods(), "exec", &namespace, &pod_name)?;
    let (uid, node) = reach_kubelet(s, &pod, &container)?;
    let now = s.cluster.now();
    // A shell with a terminal in the page stays open for typed lines.
    let shell_program = matches!(crate::engine::node::filesystem::file_name(&command[0]), "sh" | "bash" | "ash" | "dash") && command.len() == 1;
    if tty && shell_program && s.terminal {
        let program = command[0].clone();
        let opened = interactive::with_machine(s.cluster, &node, |machine| node_exec::open_shell(machine, &uid, &container, &program, true, now));
        return match opened {
            Some(Ok(state)) => {
                let hostname = pod.spec.as_ref().and_then(|sp| sp.hostname.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| pod_name.clone());
                let session = ShellSession {
                    namespace,
                    pod: pod_name,
                    uid,
                    container,
                    node,
                    hostname,
                    state,
                    attached: false,
                    remove: false,
                    remove_service: false,
                    wait_for_exit: false,
                    pod_running_timeout_ms: interactive::DEFAULT_POD_RUNNING_TIMEOUT_MS,
                    resume_hint: None,
                };
                s.interactive = Some(Interactive::Shell(session));
                Ok(())
            }
            Some(Err(ExecError::Start(e))) => Err(start_failure(s, &node, &e.message())),
            _ => Err(Error::Message(format!("error: unable to upgrade connection: container not found ({container:?})"))),
        };
    }
    let stdin = if stdin_flag { s.stdin.unwrap_or("").to_string() } else { String::new() };
    // With the whole world at hand: network programs connect from the pod.
    let result = in_containers::exec(&mut s.cluster.sim.world, &node, &uid, &container, &command, tty, &stdin, now);
    match result {
        Some(Ok(outcome)) => {
            if tty {
                s.say(false, &outcome.combined);
            } else {
                s.out.push_str(&outcome.stdout);
                s.err.push_str(&outcome.stderr);
                s.interleaved.get_or_insert_with(String::new).push_str(&outcome.combined);
            }
            if outcome.status != 0 {
                return Err(Error::Exit(outcome.status, format!("command terminated with exit code {}", outcome.status)));
            }
            Ok(())
        }
        Some(Err(ExecError::Start(e))) => Err(start_failure(s, &node, &e.message())),
        _ => Err(Error::Message(format!("error: unable to upgrade connection: container not found ({container:?})"))),
    }
}

/// A program that cannot start, in the node's runtime's words.
pub(crate) fn start_failure(s: &mut Session, node: &str, why: &str) -> Error {
    let flavor = s.cluster.sim.world.machine(node).map_or(Flavor::Containerd, |m| m.runtime.flavor);
    let oci = format!("OCI runtime exec failed: exec failed: unable to start container process: {why}: unknown");
    match flavor {
        Flavor::Containerd => {
            let id = random_hex(s.cluster.sim.rng(), 64);
            Error::Message(format!("error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec {id:?}: {oci}"))
        }
        Flavor::Docker => {
            // Docker reports it on the stream, and the exec ends with 126.
            s.say(false, &format!("{oci}\n"));
            Error::Exit(126, "command terminated with exit code 126".into())
        }
    }
}
