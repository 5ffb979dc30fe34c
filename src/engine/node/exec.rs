//! Commands run inside a running container (`kubectl exec`, exec probes,
//! a shell attached to a container's main process), against the
//! container's files on the node's machine, at the current virtual instant.

use indexmap::IndexMap;

use super::commands::{PodIdentity, Process, SystemInfo, Usage};
use super::container_fs::{Mount, MountSource, Mounts};
use super::runtime::{wall_secs, RuntimeContainer, Sandbox};
use super::shell::{self, ExternalCommands, Host, Outcome, ShellState, StartError};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::Machine;

/// Disk the node's own files take before any pod writes (KiB).
const BASE_DISK_USED_KB: u64 = 14_340_380;

/// Why a command cannot run in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// The container is not running (the kubelet's `container not found`).
    NotRunning,
    /// The program is missing or cannot be executed (runc's message).
    Start(StartError),
}

/// `df` sizes of a mount.
fn usage(mounts: &Mounts, m: &Mount, machine: &Machine, upper_kb: u64) -> Option<Usage> {
    let disk = || Usage { total_kb: machine.disk_kb, used_kb: BASE_DISK_USED_KB + machine.disk.used_kb("/") + upper_kb };
    match (&m.source, m.fs_type()) {
        (_, "proc" | "sysfs" | "cgroup2" | "devpts" | "mqueue") => None,
        (_, "overlay") => Some(disk()),
        (MountSource::Snapshot(_) | MountSource::Private(_), "tmpfs") => Some(Usage { total_kb: 65_536, used_kb: 0 }),
        (MountSource::Private(fs), _) => Some(Usage { total_kb: 65_536, used_kb: fs.used_kb("/") }),
        (MountSource::Snapshot(_), _) => Some(disk()),
        // From the node's disk.
        (source, "tmpfs") => Some(Usage { total_kb: machine.memory_kb, used_kb: mounts.disk_path(source).map_or(0, |path| machine.disk.used_kb(&path)) }),
        (_, _) => Some(disk()),
    }
}

/// What programs in the container can learn about their system.
pub fn system_info(machine: &Machine, sandbox: &Sandbox, c: &RuntimeContainer, now: VirtualTime, tty: bool, extra: &[Process]) -> SystemInfo {
    let hostname = c.env.get("HOSTNAME").map_or_else(|| sandbox.pod.clone(), str::to_string);
    let mut processes = vec![Process { pid: 1, command: c.command_line.to_string() }];
    processes.extend(extra.iter().cloned());
    let upper_kb = c.root.upper_used_kb();
    let mounts = c.mounts.iter().map(|m| (m.clone(), usage(&c.mounts, m, machine, upper_kb))).collect();
    SystemInfo {
        hostname,
        base: c.base,
        kernel: "6.8.0-60-generic".into(),
        now: Some(wall_secs(now)),
        processes,
        mounts,
        tty,
        pod: PodIdentity {
            namespace: sandbox.namespace.to_string(),
            name: sandbox.pod.clone(),
            uid: String::new(),
            ip: sandbox.ip.clone(),
            node: String::new(),
            container: c.name.clone(),
        },
    }
}

fn environment(c: &RuntimeContainer, tty: bool) -> IndexMap<String, String> {
    let mut env = c.env.to_map();
    if tty && !env.contains_key("TERM") {
        env.insert("TERM".into(), "xterm".into());
    }
    env
}

/// What an exec'd command runs with, read from the container before it runs.
pub struct Prepared {
    pub info: SystemInfo,
    pub env: IndexMap<String, String>,
    pub workdir: String,
}

/// Brings the machine to `now` and reads what an exec-form command in the
/// container runs with (a new process id included).
pub fn prepare_exec(machine: &mut Machine, uid: &str, container: &str, argv: &[String], tty: bool, now: VirtualTime) -> Result<Prepared, ExecError> {
    machine.advance(now);
    let running = machine.runtime.sandbox(uid).and_then(|s| s.latest(container)).is_some_and(RuntimeContainer::is_running);
    if !running {
        return Err(ExecError::NotRunning);
    }
    let pid = machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(container)).map_or(7, |c| c.spawn_pid());
    let Some(sandbox) = machine.runtime.sandbox(uid) else { return Err(ExecError::NotRunning) };
    let Some(c) = sandbox.latest(container) else { return Err(ExecError::NotRunning) };
    Ok(Prepared { info: system_info(machine, sandbox, c, now, tty, &[Process { pid, command: argv.join(" ") }]), env: environment(c, tty), workdir: c.workdir.to_string() })
}

/// Runs an exec-form command in a running container, with no network
/// (the kubelet's exec probes): network programs fail.
#[allow(clippy::too_many_arguments)]
pub fn exec(
    machine: &mut Machine,
    uid: &str,
    container: &str,
    argv: &[String],
    tty: bool,
    stdin: &str,
    now: VirtualTime,
    external: Option<&mut dyn ExternalCommands>,
) -> Result<Outcome, ExecError> {
    let Prepared { info, env, workdir } = prepare_exec(machine, uid, container, argv, tty, now)?;
    let Machine { runtime, disk, .. } = machine;
    let Some(c) = runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(container)) else { return Err(ExecError::NotRunning) };
    let mut files = c.view_mut(disk, now);
    let external = external.map(|e| e as &mut dyn ExternalCommands);
    shell::run_exec(argv, Host { files: &mut files, info: &info, env, external }, &workdir, stdin).map_err(ExecError::Start)
}

/// Starts an interactive shell in a running container: its first state.
pub fn open_shell(machine: &mut Machine, uid: &str, container: &str, program: &str, tty: bool, now: VirtualTime) -> Result<ShellState, ExecError> {
    machine.advance(now);
    let Some(c) = machine.runtime.sandbox(uid).and_then(|s| s.latest(container)).filter(|c| c.is_running()) else {
        return Err(ExecError::NotRunning);
    };
    let path = c.env.get("PATH").unwrap_or(shell::DEFAULT_PATH).to_string();
    let view = c.view(&machine.disk);
    let found = if program.contains('/') {
        super::container_fs::stat(&view, &c.workdir, program).ok().map(|(p, _)| p)
    } else {
        super::commands::find_in_path(&view, &path, program)
    };
    let Some(found) = found else {
        return Err(ExecError::Start(if program.contains('/') { StartError::NoSuchFile(program.into()) } else { StartError::NotFound(program.into()) }));
    };
    let name = super::filesystem::file_name(&found).to_string();
    if !matches!(name.as_str(), "sh" | "ash" | "bash" | "dash") {
        return Err(ExecError::Start(StartError::PermissionDenied(program.into())));
    }
    let flavor = shell::Flavor::of(&name, c.base);
    let mut env = environment(c, tty);
    env.entry("HOSTNAME".into()).or_insert_with(|| c.name.clone());
    Ok(ShellState::new(flavor, &c.workdir, env))
}

/// Brings the machine to `now` and reads what a line typed at a shell in
/// the container runs with.
pub fn prepare_line(machine: &mut Machine, uid: &str, container: &str, state: &ShellState, line: &str, tty: bool, now: VirtualTime) -> Result<SystemInfo, ExecError> {
    machine.advance(now);
    let pid = machine.runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(container)).filter(|c| c.is_running()).map(|c| c.spawn_pid());
    let Some(pid) = pid else { return Err(ExecError::NotRunning) };
    let Some(sandbox) = machine.runtime.sandbox(uid) else { return Err(ExecError::NotRunning) };
    let Some(c) = sandbox.latest(container) else { return Err(ExecError::NotRunning) };
    let shell_name = match state.flavor {
        shell::Flavor::Bash => "bash",
        _ => "sh",
    };
    let first = line.split_whitespace().next().unwrap_or("");
    let command = Process { pid, command: line.trim().split(['|', ';', '&']).next().unwrap_or(first).trim().to_string() };
    let target = state.process_target.as_deref().and_then(|t| sandbox.latest(t)).filter(|t| t.is_running());
    Ok(match (target, state.attached) {
        // In the target's namespace its process is the first; this
        // container's own come after it.
        (Some(target), _) => {
            let mut info = system_info(machine, sandbox, c, now, tty, &[command]);
            for p in &mut info.processes {
                p.pid += 6;
            }
            info.processes.insert(0, Process { pid: 1, command: target.command_line.to_string() });
            info
        }
        // The attached shell is the container's first process itself.
        (None, true) => system_info(machine, sandbox, c, now, tty, &[command]),
        (None, false) => system_info(machine, sandbox, c, now, tty, &[Process { pid: pid.saturating_sub(6).max(7), command: shell_name.into() }, command]),
    })
}

/// Runs one line typed at an interactive shell in the container.
#[allow(clippy::too_many_arguments)]
pub fn shell_line(machine: &mut Machine, uid: &str, container: &str, state: &mut ShellState, line: &str, tty: bool, now: VirtualTime, external: Option<&mut dyn ExternalCommands>) -> Result<Outcome, ExecError> {
    let info = prepare_line(machine, uid, container, state, line, tty, now)?;
    let Machine { runtime, disk, .. } = machine;
    let Some(c) = runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(container)) else { return Err(ExecError::NotRunning) };
    let mut files = c.view_mut(disk, now);
    let external = external.map(|e| e as &mut dyn ExternalCommands);
    Ok(shell::run_line(state, line, Host { files: &mut files, info: &info, env: IndexMap::new(), external }))
}
