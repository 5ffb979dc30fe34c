//! Shells in containers with the whole world at hand, so that `wget`,
//! `curl`, `nc`, `nslookup`, `ping` and `redis-cli` typed there make real
//! connections from the pod (DNS through CoreDNS, Services through its
//! node's kube-proxy rules, NetworkPolicy applied).
//!
//! The borrow problem: a shell needs the container's files, and a network
//! tool needs the whole world (the pod may call a pod on its own node).
//! Neither is lent out: both reach the world through one `RefCell`, and each
//! file access looks the container up afresh. Calls never nest (the shell
//! touches files, or runs a tool, never both at once), so the cell is never
//! borrowed twice; if it were, the access fails like an I/O error instead
//! of panicking.
//!
//! Three ways in:
//! - [`exec`]: `kubectl exec POD -- CMD` (and `sh -c '…'` one-shots);
//! - [`shell_line`]: a line typed at `exec -it POD -- sh`;
//! - [`Scripts`]: a main process whose command uses the network (`kubectl
//!   run tmp --rm -i --image=busybox -- wget -qO- http://web`). The kubelet
//!   cannot reach the network when it starts the container, so the process
//!   waits; the network evaluates its command at its start instant, and
//!   again at each instant a later network call is due (`until nslookup db;
//!   do sleep 2; done` ends when `db` appears), and the container runs the
//!   result as its timeline. Load loops are not scripts:
//!   [`super::talkers`] runs them pass by pass.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::tools::{self, Stream, ToolContext};
use super::{ContainerRef, Origin};
use crate::engine::node::container_fs::{self as cfs, Files, Overlay};
use crate::engine::node::exec::{self as node_exec, ExecError};
use crate::engine::node::filesystem::{file_name, Errno, Inode};
use crate::engine::node::identity::ProcessUser;
use crate::engine::node::images::{self, ImageName, Toolkit};
use crate::engine::node::runtime::{date_output, wall_secs, DeferredProgram};
use crate::engine::node::shell::{self, CommandResult, End, ExternalCall, ExternalCommands, Host, Outcome, Program, ShellState, Timed};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::{Machine, World};

type SharedWorld<'a, 'w> = &'a RefCell<&'w mut World>;

/// Which container a shell runs in.
#[derive(Clone, Debug)]
struct Target {
    node: String,
    uid: String,
    container: String,
}

/// A container's files, looked up in the world at each access.
struct WorldFiles<'a, 'w> {
    world: SharedWorld<'a, 'w>,
    target: Target,
    now: VirtualTime,
    /// Who the container's processes run as.
    user: Rc<ProcessUser>,
}

/// Who a container's processes run as (root when it is gone).
fn user_of(world: &World, target: &Target) -> Rc<ProcessUser> {
    world
        .machine(&target.node)
        .and_then(|m| m.runtime.sandbox(&target.uid)?.latest(&target.container).map(|c| Rc::clone(&c.user)))
        .unwrap_or_default()
}

impl WorldFiles<'_, '_> {
    fn read<T>(&self, f: impl FnOnce(&dyn Files) -> T) -> Option<T> {
        let world = self.world.try_borrow().ok()?;
        let machine = world.machine(&self.target.node)?;
        let c = machine.runtime.sandbox(&self.target.uid)?.latest(&self.target.container)?;
        Some(f(&c.view(&machine.disk)))
    }

    fn write(&self, f: impl FnOnce(&mut dyn Files) -> Result<(), Errno>) -> Result<(), Errno> {
        let mut world = self.world.try_borrow_mut().map_err(|_| Errno::Access)?;
        let Machine { runtime, disk, .. } = world.machine_mut(&self.target.node).ok_or(Errno::NoEnt)?;
        let c = runtime.sandbox_mut(&self.target.uid).and_then(|s| s.latest_mut(&self.target.container)).ok_or(Errno::NoEnt)?;
        f(&mut c.view_mut(disk, self.now))
    }
}

impl Files for WorldFiles<'_, '_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        self.read(|f| f.lstat(path)).flatten()
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        self.read(|f| f.entries(dir)).unwrap_or_default()
    }
    fn read_only(&self, path: &str) -> bool {
        self.read(|f| f.read_only(path)).unwrap_or(true)
    }
    fn put(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        self.write(|f| f.put(path, inode))
    }
    fn put_attributes(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        self.write(|f| f.put_attributes(path, inode))
    }
    fn delete(&mut self, path: &str) -> Result<(), Errno> {
        self.write(|f| f.delete(path))
    }
    fn user(&self) -> &ProcessUser {
        &self.user
    }
}

/// The network tools, run from the container's pod.
struct NetworkCommands<'a, 'w> {
    world: SharedWorld<'a, 'w>,
    origin: Origin,
    image: ImageName,
    toolkit: Toolkit,
    tty: bool,
    /// When the command runs (a main process: when it started).
    now: VirtualTime,
    /// Ahead of time (a main process), the calls already made, each at its own instant.
    ahead: Option<Ahead>,
}

/// A main process's network calls: those made so far, replayed in order, and
/// the instant up to which calls can be made now.
#[derive(Clone, Debug, Default)]
struct Ahead {
    made: Vec<(CommandResult, Vec<(String, String)>)>,
    calls: usize,
    horizon: VirtualTime,
    /// The instant of the first call beyond the horizon.
    resume_at: Option<VirtualTime>,
}

impl ExternalCommands for NetworkCommands<'_, '_> {
    fn run(&mut self, call: &mut ExternalCall) -> Option<CommandResult> {
        let name = file_name(call.argv.first()?);
        if !tools::COMMANDS.contains(&name) {
            return None;
        }
        // Live, the command runs at the exec's instant; ahead of time, when the process reaches it.
        let now = if call.now_ms.is_some() { self.now } else { self.now.plus_millis(call.elapsed_ms) };
        if let (Some(ahead), None) = (self.ahead.as_mut(), call.now_ms) {
            let index = ahead.calls;
            ahead.calls += 1;
            if let Some((result, files)) = ahead.made.get(index).cloned() {
                for (path, content) in &files {
                    let _ = cfs::write_file(call.files, call.cwd, path, content, false);
                }
                return Some(result);
            }
            if now > ahead.horizon {
                // Its answer depends on the cluster then: the process waits until that instant.
                ahead.resume_at = Some(now);
                return Some(CommandResult { suspend: true, ..Default::default() });
            }
        }
        // Ahead of time, `$(cat FILE)` and `$(date)` are marks the shell leaves to be read when they run: now.
        let date = date_output(now);
        let (files, cwd) = (&*call.files, call.cwd);
        let argv: Vec<String> = call.argv.iter().map(|a| shell::fill_marks(a, &date, &mut |p| cfs::read_file(files, cwd, p).unwrap_or_default())).collect();
        let out = {
            let mut world = self.world.try_borrow_mut().ok()?;
            let stdin = (!call.stdin.is_empty()).then(|| call.stdin.to_string());
            let mut ctx = ToolContext { world: &mut world, origin: self.origin.clone(), now, image: self.image.clone(), toolkit: self.toolkit, tty: self.tty, stdin, loopback: None };
            tools::run(&mut ctx, &argv)?
        };
        for (path, content) in &out.files {
            if let Err(e) = cfs::write_file(call.files, call.cwd, path, content, false) {
                let mut failed = CommandResult { output: vec![(2, format!("{name}: can't open '{path}': {}\n", e.message()))], status: 1, took_ms: out.took_ms, suspend: false };
                failed.output.splice(0..0, out.chunks.iter().filter(|(s, _)| *s == Stream::Err).map(|(_, t)| (2, t.clone())));
                return Some(failed);
            }
        }
        let output = out.chunks.iter().map(|(s, t)| (if *s == Stream::Out { 1 } else { 2 }, t.clone())).collect();
        let result = CommandResult { output, status: out.code, took_ms: out.took_ms, suspend: false };
        if let (Some(ahead), None) = (self.ahead.as_mut(), call.now_ms) {
            ahead.made.push((result.clone(), out.files.clone()));
        }
        Some(result)
    }
}

/// Who the container is on the network, and what image it runs.
fn identity(world: &World, target: &Target) -> Option<(Origin, ImageName, Toolkit)> {
    let sandbox = world.machine(&target.node)?.runtime.sandbox(&target.uid)?;
    let c = sandbox.latest(&target.container)?;
    let origin = Origin::Pod { node: target.node.clone(), uid: target.uid.clone(), namespace: sandbox.namespace.to_string(), name: sandbox.pod.clone(), ip: sandbox.ip.clone() };
    let toolkit = images::lookup(&c.image).map_or(Toolkit::Coreutils, |i| i.toolkit);
    Some((origin, ImageName::clone(&c.image), toolkit))
}

fn target(node: &str, uid: &str, container: &str) -> Target {
    Target { node: node.to_string(), uid: uid.to_string(), container: container.to_string() }
}

/// Runs an exec-form command in a running container (`kubectl exec`).
/// `None` when the node has no machine.
#[allow(clippy::too_many_arguments)]
pub fn exec(world: &mut World, node: &str, uid: &str, container: &str, argv: &[String], tty: bool, stdin: &str, now: VirtualTime) -> Option<Result<Outcome, ExecError>> {
    let machine = world.machine_mut(node)?;
    let prepared = match node_exec::prepare_exec(machine, uid, container, argv, tty, now) {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let target = target(node, uid, container);
    let Some((origin, image, toolkit)) = identity(world, &target) else { return Some(Err(ExecError::NotRunning)) };
    let user = user_of(world, &target);
    let cell = RefCell::new(world);
    let mut files = WorldFiles { world: &cell, target, now, user };
    let mut network = NetworkCommands { world: &cell, origin, image, toolkit, tty, now, ahead: None };
    let host = Host { files: &mut files, info: &prepared.info, env: prepared.env, external: Some(&mut network) };
    Some(shell::run_exec(argv, host, &prepared.workdir, stdin).map_err(ExecError::Start))
}

/// Runs one line typed at an interactive shell in the container.
/// `None` when the node has no machine.
#[allow(clippy::too_many_arguments)]
pub fn shell_line(world: &mut World, node: &str, uid: &str, container: &str, state: &mut ShellState, line: &str, tty: bool, now: VirtualTime) -> Option<Result<Outcome, ExecError>> {
    let machine = world.machine_mut(node)?;
    let info = match node_exec::prepare_line(machine, uid, container, state, line, tty, now) {
        Ok(i) => i,
        Err(e) => return Some(Err(e)),
    };
    let target = target(node, uid, container);
    let Some((origin, image, toolkit)) = identity(world, &target) else { return Some(Err(ExecError::NotRunning)) };
    let user = user_of(world, &target);
    let cell = RefCell::new(world);
    let mut files = WorldFiles { world: &cell, target, now, user };
    let mut network = NetworkCommands { world: &cell, origin, image, toolkit, tty, now, ahead: None };
    let host = Host { files: &mut files, info: &info, env: Default::default(), external: Some(&mut network) };
    Some(Ok(shell::run_line(state, line, host)))
}

/// Main processes waiting for the network to evaluate their commands.
#[derive(Clone, Debug, Default)]
pub struct Scripts {
    waiting: BTreeMap<ContainerRef, Waiting>,
}

#[derive(Clone, Debug)]
struct Waiting {
    /// When the process started (its timeline's origin).
    start: VirtualTime,
    /// When it is next evaluated: its start, then each instant its next network call is due.
    next: VirtualTime,
    command: DeferredProgram,
    made: Vec<(CommandResult, Vec<(String, String)>)>,
}

impl Scripts {
    pub fn start(&mut self, r: ContainerRef, command: DeferredProgram, at: VirtualTime) {
        self.waiting.insert(r, Waiting { start: at, next: at, command, made: vec![] });
    }

    pub fn next_event(&self) -> Option<VirtualTime> {
        self.waiting.values().map(|w| w.next).min()
    }
}

/// Evaluates every waiting main process that is due by `now`: its commands
/// run from its start, the network calls made earlier replayed, the calls
/// due now made against the cluster as it is, and the process waits at the
/// first call still in the future (evaluated again at that instant). Each
/// call thus sees the cluster as it is when the process makes it.
pub fn deliver_due(world: &mut World, now: VirtualTime) -> usize {
    let due: Vec<ContainerRef> = world.net.scripts.waiting.iter().filter(|(_, w)| w.next <= now).map(|(r, _)| r.clone()).collect();
    let mut evaluated = 0;
    for r in due {
        let Some(mut waiting) = world.net.scripts.waiting.remove(&r) else { continue };
        let Some((program, ahead)) = evaluate(world, &r, &waiting) else { continue };
        let c = world.machine_mut(&r.node).and_then(|m| m.runtime.sandbox_mut(&r.uid)).and_then(|s| s.containers.iter_mut().find(|c| c.id == r.id));
        let Some(c) = c else { continue };
        c.replace_program(program);
        evaluated += 1;
        if let Some(next) = ahead.resume_at.filter(|_| c.is_running()) {
            waiting.next = next;
            waiting.made = ahead.made;
            world.net.scripts.waiting.insert(r, waiting);
        }
    }
    evaluated
}

/// Runs a waiting process's command ahead of time, from its pod.
fn evaluate(world: &mut World, r: &ContainerRef, waiting: &Waiting) -> Option<(Program, Ahead)> {
    let horizon = waiting.next;
    let machine = world.machine_mut(&r.node).filter(|m| m.powered)?;
    machine.advance(horizon);
    let (info, env, workdir) = {
        let sandbox = machine.runtime.sandbox(&r.uid)?;
        let c = sandbox.containers.iter().find(|c| c.id == r.id).filter(|c| c.is_running())?;
        let mut info = node_exec::system_info(machine, sandbox, c, waiting.start, false, &[]);
        info.now = None;
        (info, c.env.to_map(), c.workdir.to_string())
    };
    let target = target(&r.node, &r.uid, &r.container);
    let (origin, image, toolkit) = identity(world, &target)?;
    let user = user_of(world, &target);
    let cell = RefCell::new(world);
    let files = WorldFiles { world: &cell, target, now: waiting.start, user };
    let mut overlay = Overlay::new(&files, wall_secs(waiting.start));
    let ahead = Ahead { made: waiting.made.clone(), calls: 0, horizon, resume_at: None };
    let mut network = NetworkCommands { world: &cell, origin, image, toolkit, tty: false, now: waiting.start, ahead: Some(ahead) };
    let host = Host { files: &mut overlay, info: &info, env, external: Some(&mut network) };
    let program = match &waiting.command {
        DeferredProgram::Exec(argv) => match shell::compile_exec(argv, host, &workdir) {
            Ok(program) => program,
            // The command was found when the container started; only a vanished file fails here.
            Err(e) => Program { timeline: vec![Timed { at_ms: 0, effect: shell::Effect::Log(e.message().into()) }], repeat: None, resume: None, end: End::Exit { at_ms: 0, code: 127 } },
        },
        DeferredProgram::Script { script, positional } => shell::compile_script(script, positional.clone(), host, &workdir),
    };
    drop(overlay);
    let ahead = network.ahead.take().unwrap_or_default();
    Some((program, ahead))
}

/// Runs an exec-form command for the kubelet (an exec probe), which holds
/// only its own node's machine: the command's network is that node alone
/// (the pod itself, pods beside it, the node's Service rules), the rest of
/// the cluster being out of its reach.
pub fn exec_on_own_node(machine: &mut Machine, node: &str, uid: &str, container: &str, argv: &[String], now: VirtualTime) -> Result<Outcome, ExecError> {
    let mut alone = World::new(0);
    alone.add_machine(node, std::mem::replace(machine, Machine::vacant()));
    let result = exec(&mut alone, node, uid, container, argv, false, "", now).unwrap_or(Err(ExecError::NotRunning));
    if let Some(m) = alone.lend(node) {
        *machine = *m;
    }
    result
}
