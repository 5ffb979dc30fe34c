//! A small POSIX-shell model. It runs a container's commands in one of two
//! ways:
//!
//! - ahead of time, for a container's main process: the command becomes a
//!   timeline of what the process does (print a line, write or remove a
//!   file, exit with a code, run forever), applied as virtual time passes;
//! - live, for `kubectl exec` and interactive shells: the command runs at
//!   once, at the current virtual instant, against the container's files.
//!
//! Understood: `;`, `&&`, `||`, `|` pipes, newlines, `while`/`until … do …
//! done`, `for x in …; do … done`, `if … then … elif … else … fi`,
//! redirections (`>`, `>>`, `<`, `2>`, `2>&1`, `>&2`, `&>`), `$VAR`,
//! `${VAR}`, `${VAR:-x}`, `${#VAR}`, `${VAR%pat}` and its kin, bash's and
//! ash's `${VAR/p/r}` and `${VAR:off:len}`, `case … esac`, functions
//! (`local`, `return`), `{ … }`, `( … )`, `$RANDOM`, `$PPID`, `$1`, `$?`,
//! `$#`, `$@`, `$$`, `$!`, `$((…))` arithmetic (each shell's operators and
//! error messages; an error ends a script with status 2), `$(…)` and
//! backquote substitution, `*`/`?` globs, quoting, `&` (the job runs to its
//! end first), and the builtins `cd`, `export`, `unset`, `exit`, `exec`,
//! `set` (`-e`, `-x`, `--`), `shift`, `read`, `eval`, `.`, `trap … EXIT`, `wait`,
//! `break`, `continue`, `type`, `command -v`. Programs come from the image (see `commands`); a
//! program the image lacks is "not found". Programs outside the node (the
//! network's `wget`, `curl`, `nc`, `nslookup`, `ping`, `redis-cli`) are
//! provided through [`ExternalCommands`]; with no provider they fail with
//! `network is unreachable`, never succeed silently.
//!
//! A main process's loop is worked out 500 passes at a time: the shell's
//! state where it stopped (variables, the loop and what encloses it, its
//! clock) is kept as a [`Resume`], run on when time reaches it.
//!
//! Simplifications: `sleep` in a live command returns at once (the command
//! runs at one virtual instant); a loop that never ends in a live command
//! stops after 500 passes, as if interrupted; a main process's reads of
//! files happen when it starts, except `cat FILE` printed to the log and
//! `$(cat FILE)`, which read the file when they run.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::rc::Rc;

use indexmap::IndexMap;

pub use super::commands::DATE_MARK;
use super::commands::{self, find_in_path, Cmd, PodIdentity, SystemInfo};
use super::container_fs::{self as cfs, Files, Mount};
use super::filesystem::{file_name, normalize, Errno, Inode, Kind};
use super::images::{Base, Toolkit};

/// Marks a file's contents in a main process's line, read when printed.
pub const FILE_MARK_OPEN: char = '\u{2}';
pub const FILE_MARK_CLOSE: char = '\u{3}';
/// Commands run in one program before the model gives up and calls it endless.
const STEP_BUDGET: usize = 20_000;
/// Passes of a data-dependent loop evaluated at a time: a main process's
/// loop then stops there to be resumed; a live one is treated as endless.
const LOOP_BUDGET: usize = 500;
/// Chunks of a main process's loop resumed in a row without its clock
/// moving (a loop that never sleeps) before it is treated as endless.
const STILL_CHUNKS: u32 = 20;
/// Nested `sh -c`, `eval` and substitutions before the shell refuses.
const DEPTH_LIMIT: usize = 32;
/// Bytes of output one live command may produce.
const OUTPUT_LIMIT: usize = 1 << 20;
/// Compound commands (`if`, `while`, `for`) nested inside one another before
/// the parser refuses the script, rather than recursing as deep as it is long.
const NESTING_LIMIT: usize = 100;
/// Bytes one expansion (a word, a variable's value) may grow to: a value
/// doubled in a loop stops here instead of taking all the memory there is.
const EXPANSION_LIMIT: usize = 1 << 20;
/// Places a `${v%pattern}` with wildcards is tried at, at most.
const PATTERN_CUTS_LIMIT: usize = 1 << 14;
/// Characters a `${v/pattern/r}` with wildcards compares, at most.
const REPLACE_WORK_LIMIT: usize = 1 << 22;
/// Bytes of arguments a command may be given (Linux's default ARG_MAX).
const ARG_MAX: usize = 2 << 20;

/// The default `$PATH` of container images.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A line on stdout/stderr (the container log); may hold date and file
    /// marks. Shared with the log line it becomes when it has none.
    Log(Rc<str>),
    /// A file, directory or link written at an absolute container path
    /// (boxed: the rare large variant would widen every log line's entry).
    Put(String, Box<Inode>),
    /// An entry's attributes changed (`chmod`, `chown`): its time kept.
    Attributes(String, Box<Inode>),
    Delete(String),
    /// Prints the files' contents as they are when it happens.
    Cat { paths: Vec<String>, busybox: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Milliseconds after the process started.
    pub at_ms: u64,
    pub effect: Effect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Exit { at_ms: u64, code: i32 },
    /// Runs until stopped.
    Never,
}

/// A body that repeats forever, every `period_ms`, from `start_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    pub start_ms: u64,
    pub period_ms: u64,
    pub body: Vec<Timed>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub timeline: Vec<Timed>,
    /// Shared: few programs repeat, and a running process's walk reads it
    /// on every advance.
    pub repeat: Option<Rc<Repeat>>,
    /// Where the shell stopped working the program out (a loop after
    /// [`LOOP_BUDGET`] passes): the timeline goes on from there (see
    /// [`resume`]) once the process reaches it.
    pub resume: Option<Rc<Resume>>,
    pub end: End,
}

impl Program {
    pub fn forever(lines: Vec<Rc<str>>) -> Self {
        Program { timeline: lines.into_iter().map(|l| Timed { at_ms: 0, effect: Effect::Log(l) }).collect(), repeat: None, resume: None, end: End::Never }
    }
}

/// A main process's shell stopped between two passes of a loop, with what
/// it needs to go on: its variables, its clock, and the commands still to
/// run, innermost first.
#[derive(Clone, Debug)]
pub struct Resume {
    /// Milliseconds after the process started: where its timeline ends.
    pub at_ms: u64,
    flavor: Flavor,
    exported: IndexMap<String, String>,
    locals: BTreeMap<String, String>,
    positional: Vec<String>,
    cwd: String,
    last: i32,
    depth: usize,
    line_no: usize,
    frames: Vec<Frame>,
    info: SystemInfo,
    /// `set -e`, the `trap … EXIT` command and `$!`, as they were.
    errexit: bool,
    exit_trap: Option<String>,
    last_background: Option<u32>,
    /// Its functions, the variables its function calls hid, `set -x`, `$RANDOM`'s state.
    functions: Functions,
    function_locals: Vec<Vec<HiddenVar>>,
    xtrace: bool,
    random_seed: Option<u32>,
    /// Chunks in a row that ended where they began.
    still: u32,
}

/// Each resumed chunk is a new value: two are the same only if they are one.
impl PartialEq for Resume {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Resume {}

/// What runs after the command the shell stopped in, at one level of nesting.
#[derive(Clone, Debug)]
enum Frame {
    /// The rest of a list.
    List(List),
    /// The rest of an `&&`/`||` chain.
    AndOr(Vec<(bool, Vec<Node>)>),
    /// A `while`/`until` loop whose pass is under way: next its condition.
    Loop { cond: List, body: List, until: bool },
    /// A `for` loop's values still to take.
    For { var: String, values: Vec<String>, body: List },
    /// A nested shell or script ending: its parent's state comes back
    /// (for a nested shell, after its own `trap … EXIT` has run, its
    /// parent's `set -e` state and trap).
    Shell { positional: Vec<String>, exported: Option<IndexMap<String, String>>, flavor: Flavor, errexit: Option<(bool, usize, Option<String>)> },
    /// `exec`: the command's end is the shell's.
    Exec,
    /// `env A=1 cmd`, `A=1 cmd`: the variables were for cmd alone.
    Env(IndexMap<String, String>),
    /// A function call ending: the caller's positional parameters come back.
    Function { positional: Vec<String> },
}

/// What a program outside the node's own tools printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandResult {
    /// What it printed, in order: (1 = stdout or 2 = stderr, text).
    pub output: Vec<(u8, String)>,
    pub status: i32,
    /// Virtual time the program took (a main process's timeline moves on by it).
    pub took_ms: u64,
    /// Ahead of time: what the program will print is not known yet (it runs
    /// later than the provider can see); the timeline stops here and waits.
    pub suspend: bool,
}

/// One call of an external program.
pub struct ExternalCall<'a> {
    pub argv: &'a [String],
    pub stdin: &'a str,
    pub env: &'a IndexMap<String, String>,
    pub cwd: &'a str,
    pub files: &'a mut dyn Files,
    /// The pod and container the command runs in.
    pub pod: &'a PodIdentity,
    /// Virtual milliseconds now (`None` while a main process is evaluated ahead of time).
    pub now_ms: Option<u64>,
    /// For a main process evaluated ahead of time: milliseconds since it started.
    pub elapsed_ms: u64,
    /// The PID of the background job (`&`) the command runs in, if it does.
    pub background_pid: Option<u32>,
}

/// Programs provided by a module outside the node (the network's `wget`,
/// `curl`, `nc`, `nslookup`, `ping`, `redis-cli`): the shell asks it first
/// for any program the image has.
pub trait ExternalCommands {
    /// Runs the program, or `None` when this module does not provide it.
    fn run(&mut self, call: &mut ExternalCall) -> Option<CommandResult>;
}

/// Programs that need the network: with no module providing them they fail.
pub const NETWORK_PROGRAMS: &[&str] = &["wget", "curl", "nc", "nslookup", "ping", "telnet", "redis-cli", "host", "dig"];

/// Stands in for the network while a main process is compiled where the
/// network is out of reach (the kubelet starting a container): network
/// programs "succeed" and the use is noted, so the caller can hand the
/// process to the network to be evaluated for real.
#[derive(Debug, Default)]
pub struct NetworkWanted {
    pub used: bool,
}

impl ExternalCommands for NetworkWanted {
    fn run(&mut self, call: &mut ExternalCall) -> Option<CommandResult> {
        let name = call.argv.first().map(|a| file_name(a))?;
        if !NETWORK_PROGRAMS.contains(&name) {
            return None;
        }
        self.used = true;
        Some(CommandResult::default())
    }
}

/// What a shell runs against.
pub struct Host<'a> {
    pub files: &'a mut dyn Files,
    pub info: &'a SystemInfo,
    /// The process environment, in order (`PATH` first).
    pub env: IndexMap<String, String>,
    pub external: Option<&'a mut dyn ExternalCommands>,
}

/// Why an exec-form command cannot start, in runc's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// `exec: "bash": executable file not found in $PATH`.
    NotFound(String),
    /// `exec: "/app/x": stat /app/x: no such file or directory`.
    NoSuchFile(String),
    /// `exec: "/tmp": permission denied`.
    PermissionDenied(String),
}

impl StartError {
    pub fn message(&self) -> String {
        match self {
            StartError::NotFound(p) => format!("exec: \"{p}\": executable file not found in $PATH"),
            StartError::NoSuchFile(p) => format!("exec: \"{p}\": stat {p}: no such file or directory"),
            StartError::PermissionDenied(p) => format!("exec: \"{p}\": permission denied"),
        }
    }
}

/// What a live command printed and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// Both streams interleaved, as a terminal shows them.
    pub combined: String,
    pub status: i32,
    /// The shell exited (`exit`, or the end of a `sh -c`).
    pub exited: bool,
    /// How long its `sleep`s took: a lifecycle hook takes this long.
    pub slept_ms: u64,
}

/// Which shell a prompt belongs to: it decides error wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Flavor {
    /// busybox/alpine `sh` (ash): `sh: foo: not found`.
    Ash,
    /// Debian's `sh` (dash): `sh: 1: foo: not found`.
    Dash,
    /// `bash`: `bash: foo: command not found`.
    Bash,
}

impl Flavor {
    /// The shell a program name starts in an image of `base`.
    pub fn of(program: &str, base: Base) -> Flavor {
        match (file_name(program), base.toolkit()) {
            ("bash", _) => Flavor::Bash,
            (_, Toolkit::Busybox) => Flavor::Ash,
            _ => Flavor::Dash,
        }
    }
}

/// An interactive shell's state between lines.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShellState {
    pub flavor: Flavor,
    pub cwd: String,
    #[serde(with = "ordered_map")]
    pub exported: IndexMap<String, String>,
    pub locals: BTreeMap<String, String>,
    pub last_status: i32,
    /// Lines run so far (dash numbers its errors by line).
    pub lines: usize,
    /// Shells started from this one by typing `sh` or `bash`: `exit` returns to the outer one.
    #[serde(default)]
    pub nested: Vec<Flavor>,
    /// The shell is the container's own process (`kubectl attach`), not one
    /// started beside it (`kubectl exec`).
    #[serde(default)]
    pub attached: bool,
    /// An ephemeral container's `targetContainerName`: it shares that
    /// container's process namespace, whose first process is the target's.
    #[serde(default)]
    pub process_target: Option<String>,
    /// Functions defined at the prompt: kept while the page runs, not
    /// written out with its state (the lines that made them are).
    #[serde(skip)]
    pub functions: Functions,
    /// `set -x`, and `$RANDOM`'s generator where it stopped.
    #[serde(default)]
    pub xtrace: bool,
    #[serde(default)]
    pub random_seed: Option<u32>,
}

/// An ordered map kept in order through serde (as a list of pairs).
mod ordered_map {
    use indexmap::IndexMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(map: &IndexMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
        map.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, String>, D::Error> {
        Ok(Vec::<(String, String)>::deserialize(d)?.into_iter().collect())
    }
}

/// What a starting shell adds to its environment: ash and bash export
/// `SHLVL` (one deeper) and `PWD`.
fn shell_start_env(flavor: Flavor, env: &mut IndexMap<String, String>, cwd: &str) {
    if flavor == Flavor::Dash {
        return;
    }
    let level = env.get("SHLVL").and_then(|l| l.parse::<u32>().ok()).unwrap_or(0) + 1;
    env.insert("SHLVL".into(), level.to_string());
    env.insert("PWD".into(), cwd.to_string());
}

impl ShellState {
    pub fn new(flavor: Flavor, cwd: &str, mut env: IndexMap<String, String>) -> Self {
        shell_start_env(flavor, &mut env, cwd);
        ShellState { flavor, cwd: cwd.to_string(), exported: env, locals: BTreeMap::new(), last_status: 0, lines: 0, nested: Vec::new(), attached: false, process_target: None, functions: Functions::default(), xtrace: false, random_seed: None }
    }

    /// The prompt the shell prints: `/ # `, `# `, `root@web:/# `.
    pub fn prompt(&self, hostname: &str) -> String {
        match self.flavor {
            Flavor::Ash => format!("{} # ", self.cwd),
            Flavor::Dash => "# ".to_string(),
            Flavor::Bash => {
                let home = self.exported.get("HOME").map(String::as_str).unwrap_or("/root");
                let shown = if self.cwd == home { "~".to_string() } else if let Some(rest) = self.cwd.strip_prefix(&format!("{home}/")) { format!("~/{rest}") } else { self.cwd.clone() };
                format!("root@{hostname}:{shown}# ")
            }
        }
    }
}

/// Compiles an exec-form command line (`command` + `args`) into a timeline.
pub fn compile_exec(argv: &[String], host: Host, workdir: &str) -> Result<Program, StartError> {
    let mut shell = Shell::new(host, Mode::Timeline, Flavor::Dash, workdir, vec![]);
    let program = shell.locate(argv)?;
    shell.flavor = Flavor::of(&program, shell.host.info.base);
    shell.positional = vec![argv.first().cloned().unwrap_or_default()];
    shell.resumable = true;
    let flow = shell.dispatch(argv, "");
    Ok(shell.finish(flow))
}

/// Compiles a shell script run as `sh -c script arg0 arg1…`.
pub fn compile_script(script: &str, positional: Vec<String>, host: Host, workdir: &str) -> Program {
    let flavor = Flavor::of("sh", host.info.base);
    let mut shell = Shell::new(host, Mode::Timeline, flavor, workdir, positional);
    let cwd = shell.cwd.clone();
    shell_start_env(flavor, &mut shell.exported, &cwd);
    shell.resumable = true;
    let flow = shell.run_script(script);
    let flow = shell.run_exit_trap(flow);
    shell.finish(flow)
}

/// Works out the next part of a main process's program from where the
/// last one stopped, against its files as they are now. A program that
/// turns to the network here (which only the network can evaluate) stops
/// being worked out.
pub fn resume(from: &Resume, files: &mut dyn Files) -> Program {
    let mut network = NetworkWanted::default();
    let host = Host { files, info: &from.info, env: IndexMap::new(), external: Some(&mut network) };
    let mut shell = Shell::new(host, Mode::Timeline, from.flavor, &from.cwd, from.positional.clone());
    shell.exported = from.exported.clone();
    shell.locals = from.locals.clone();
    shell.last = from.last;
    shell.depth = from.depth;
    shell.line_no = from.line_no;
    shell.t = from.at_ms;
    shell.slept_ms = from.at_ms;
    shell.resumable = true;
    shell.errexit = from.errexit;
    shell.exit_trap = from.exit_trap.clone();
    shell.last_background = from.last_background;
    shell.functions = from.functions.clone();
    shell.function_locals = from.function_locals.clone();
    shell.xtrace = from.xtrace;
    shell.random_seed = from.random_seed;
    let flow = shell.run_frames(from.frames.clone());
    let flow = shell.run_exit_trap(flow);
    let mut program = shell.finish(flow);
    if network.used {
        return Program::forever(vec![]);
    }
    if let Some(next) = program.resume.take() {
        let still = if next.at_ms == from.at_ms { from.still + 1 } else { 0 };
        if still <= STILL_CHUNKS {
            program.resume = Some(Rc::new(Resume { still, ..Rc::try_unwrap(next).unwrap_or_else(|shared| (*shared).clone()) }));
        }
    }
    program
}

/// Runs an exec-form command now (`kubectl exec`, exec probes).
pub fn run_exec(argv: &[String], host: Host, workdir: &str, stdin: &str) -> Result<Outcome, StartError> {
    let mut shell = Shell::new(host, Mode::Live, Flavor::Dash, workdir, vec![]);
    let program = shell.locate(argv)?;
    shell.flavor = Flavor::of(&program, shell.host.info.base);
    shell.positional = vec![argv.first().cloned().unwrap_or_default()];
    shell.top_stdin = stdin.to_string();
    let flow = shell.dispatch(argv, stdin);
    Ok(shell.outcome(flow))
}

/// Runs one line typed at an interactive shell.
pub fn run_line(state: &mut ShellState, line: &str, host: Host) -> Outcome {
    // A shell typed alone starts a nested interactive shell.
    let typed = line.trim();
    if matches!(typed, "sh" | "bash" | "ash" | "dash") {
        let path = state.exported.get("PATH").cloned().unwrap_or_else(|| DEFAULT_PATH.into());
        if find_in_path(host.files, &path, typed).is_some() {
            state.nested.push(state.flavor);
            state.flavor = Flavor::of(typed, host.info.base);
            let cwd = state.cwd.clone();
            shell_start_env(state.flavor, &mut state.exported, &cwd);
            state.lines += 1;
            state.last_status = 0;
            return Outcome::default();
        }
    }
    let mut shell = Shell::new(host, Mode::Live, state.flavor, &state.cwd.clone(), vec![file_name(match state.flavor {
        Flavor::Bash => "bash",
        _ => "sh",
    })
    .to_string()]);
    shell.exported = state.exported.clone();
    shell.locals = state.locals.clone();
    shell.last = state.last_status;
    shell.functions = state.functions.clone();
    shell.xtrace = state.xtrace;
    shell.random_seed = state.random_seed;
    shell.interactive = true;
    state.lines += 1;
    shell.line_no = state.lines;
    let flow = shell.run_script(line);
    state.cwd = shell.cwd.clone();
    state.exported = shell.exported.clone();
    state.locals = shell.locals.clone();
    state.functions = shell.functions.clone();
    state.xtrace = shell.xtrace;
    state.random_seed = shell.random_seed;
    let line_dropped = shell.line_dropped;
    let mut outcome = shell.outcome(flow);
    state.last_status = outcome.status;
    if line_dropped && state.nested.is_empty() {
        outcome.exited = false;
    }
    if outcome.exited {
        if let Some(outer) = state.nested.pop() {
            state.flavor = outer;
            outcome.exited = false;
        }
    }
    outcome
}

/// The words `line` would run with at the interactive shell in `state`
/// (variables, quotes and globs expanded), when the line is one simple
/// command of words only: no operator, redirection, substitution,
/// assignment, reserved word or function of that name. `None` otherwise.
/// The shell's state is as it was, but for `$RANDOM`'s generator.
pub fn expand_simple_command(state: &mut ShellState, line: &str, host: Host) -> Option<Vec<String>> {
    if line.contains(['\n', '`']) || line.contains("$(") {
        return None;
    }
    let tokens = tokenize(line).ok()?;
    let words: Vec<&Word> = tokens.iter().map(|t| if let Token::Word(w) = t { Some(w) } else { None }).collect::<Option<_>>()?;
    let first = words.first()?.raw();
    if RESERVED_WORDS.contains(&first.as_str()) || first.contains('=') || state.functions.0.contains_key(&first) {
        return None;
    }
    let mut shell = Shell::new(host, Mode::Live, state.flavor, &state.cwd.clone(), vec!["bash".to_string()]);
    shell.exported = state.exported.clone();
    shell.locals = state.locals.clone();
    shell.last = state.last_status;
    shell.random_seed = state.random_seed;
    shell.interactive = true;
    let expanded = words.iter().flat_map(|w| shell.expand_fields(w)).collect();
    state.random_seed = shell.random_seed;
    Some(expanded)
}

// ---------------------------------------------------------------- parsing

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// Quoted with single quotes: no expansion.
    Literal(String),
    /// Inside double quotes: expanded, never split or globbed.
    Quoted(String),
    /// Bare: expanded, split and globbed.
    Bare(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Word(Vec<Part>);

impl Word {
    fn raw(&self) -> String {
        self.0.iter().map(|p| match p {
            Part::Literal(s) | Part::Quoted(s) | Part::Bare(s) => s.as_str(),
        }).collect()
    }
    fn literal(s: &str) -> Word {
        Word(vec![Part::Literal(s.to_string())])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RedirectKind {
    Out,
    Append,
    In,
    /// `N>&M`.
    Dup(u8),
    /// `&>`: both streams to a file.
    Both,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Redirect {
    fd: u8,
    kind: RedirectKind,
    target: Option<Word>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(Word),
    /// `;` or newline.
    Sep,
    /// `&`: the command before it runs in the background.
    Background,
    And,
    Or,
    Pipe,
    Redirect(RedirectKind, u8),
    /// `(` and `)`: a subshell, a function definition, a `case` pattern's end.
    LParen,
    RParen,
    /// `;;`: the end of a `case` arm.
    CaseEnd,
}

fn read_substitution(chars: &mut std::iter::Peekable<std::str::Chars>, current: &mut String) {
    // `$(` already consumed up to the `(`; copy through the matching `)`.
    let mut depth = 0;
    for ch in chars.by_ref() {
        current.push(ch);
        if ch == '(' {
            depth += 1;
        } else if ch == ')' {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
    }
}

/// `${` already consumed up to the `{`: copies through the matching `}`,
/// so a `${v: -2}` or `${v/ /_}` stays one word.
fn read_braced(chars: &mut std::iter::Peekable<std::str::Chars>, current: &mut String) {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    while let Some(ch) = chars.next() {
        current.push(ch);
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = src.chars().peekable();
    fn flush(tokens: &mut Vec<Token>, parts: &mut Vec<Part>, current: &mut String, in_word: &mut bool) {
        if !current.is_empty() {
            parts.push(Part::Bare(std::mem::take(current)));
        }
        if *in_word {
            tokens.push(Token::Word(Word(std::mem::take(parts))));
        }
        *in_word = false;
    }
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                if !current.is_empty() {
                    parts.push(Part::Bare(std::mem::take(&mut current)));
                }
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => lit.push(ch),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                parts.push(Part::Literal(lit));
            }
            '"' => {
                in_word = true;
                if !current.is_empty() {
                    parts.push(Part::Bare(std::mem::take(&mut current)));
                }
                let mut quoted = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '`')) => quoted.push(ch),
                            Some('$') => {
                                // An escaped dollar stays literal.
                                parts.push(Part::Quoted(std::mem::take(&mut quoted)));
                                parts.push(Part::Literal("$".into()));
                            }
                            Some('\n') => {}
                            Some(ch) => {
                                quoted.push('\\');
                                quoted.push(ch);
                            }
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some('$') if chars.peek() == Some(&'(') => {
                            quoted.push('$');
                            read_substitution(&mut chars, &mut quoted);
                        }
                        Some(ch) => quoted.push(ch),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                parts.push(Part::Quoted(quoted));
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    if ch != '\n' {
                        if !current.is_empty() {
                            parts.push(Part::Bare(std::mem::take(&mut current)));
                        }
                        parts.push(Part::Literal(ch.to_string()));
                    }
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                current.push('$');
                read_substitution(&mut chars, &mut current);
            }
            '$' if chars.peek() == Some(&'{') => {
                in_word = true;
                current.push('$');
                read_braced(&mut chars, &mut current);
            }
            '(' | ')' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                tokens.push(if c == '(' { Token::LParen } else { Token::RParen });
            }
            '`' => {
                in_word = true;
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('`') => break,
                        Some(ch) => inner.push(ch),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                current.push_str(&format!("$({inner})"));
            }
            '#' if !in_word => {
                for ch in chars.by_ref() {
                    if ch == '\n' {
                        break;
                    }
                }
                tokens.push(Token::Sep);
            }
            ' ' | '\t' | '\r' => flush(&mut tokens, &mut parts, &mut current, &mut in_word),
            ';' if chars.peek() == Some(&';') => {
                chars.next();
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                tokens.push(Token::CaseEnd);
            }
            '\n' | ';' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                tokens.push(Token::Sep);
            }
            '&' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                if chars.peek() == Some(&'&') {
                    chars.next();
                    tokens.push(Token::And);
                } else if chars.peek() == Some(&'>') {
                    chars.next();
                    if chars.peek() == Some(&'>') {
                        chars.next();
                    }
                    tokens.push(Token::Redirect(RedirectKind::Both, 1));
                } else {
                    tokens.push(Token::Background);
                }
            }
            '|' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                if chars.peek() == Some(&'|') {
                    chars.next();
                    tokens.push(Token::Or);
                } else {
                    tokens.push(Token::Pipe);
                }
            }
            '>' | '<' => {
                // A bare fd number right before the operator is not a word.
                let mut fd = if c == '>' { 1u8 } else { 0 };
                if parts.is_empty() && (current == "1" || current == "2" || current == "0") {
                    fd = current.parse().unwrap_or(fd);
                    current.clear();
                    in_word = false;
                }
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                if c == '<' {
                    tokens.push(Token::Redirect(RedirectKind::In, 0));
                    continue;
                }
                let append = chars.peek() == Some(&'>');
                if append {
                    chars.next();
                }
                if chars.peek() == Some(&'&') {
                    chars.next();
                    let target = chars.next_if(|d| d.is_ascii_digit()).and_then(|d| d.to_digit(10)).unwrap_or(1) as u8;
                    tokens.push(Token::Redirect(RedirectKind::Dup(target), fd));
                } else {
                    tokens.push(Token::Redirect(if append { RedirectKind::Append } else { RedirectKind::Out }, fd));
                }
            }
            _ => {
                in_word = true;
                current.push(c);
            }
        }
    }
    flush(&mut tokens, &mut parts, &mut current, &mut in_word);
    Ok(tokens)
}

#[derive(Clone, Debug)]
enum Node {
    Simple { words: Vec<Word>, redirects: Vec<Redirect> },
    Loop { cond: List, body: List, until: bool },
    For { var: String, items: Vec<Word>, body: List },
    If { cond: List, then: List, otherwise: List },
    /// `case WORD in PATTERN|PATTERN) LIST;; … esac`.
    Case { word: Word, arms: Vec<(Vec<Word>, List)> },
    /// `{ LIST; }`.
    Group(List),
    /// `( LIST )`: run in a copy of the shell.
    Subshell(List),
    /// `NAME() COMMAND`: defines a function.
    Function { name: String, body: Rc<Node> },
    /// A compound command with redirections (`while …; done < file`).
    Redirected { node: Box<Node>, redirects: Vec<Redirect> },
}

#[derive(Clone, Debug)]
struct AndOr {
    first: Vec<Node>,
    rest: Vec<(bool, Vec<Node>)>,
    /// Ended by `&`.
    background: bool,
}

type List = Vec<AndOr>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Compound commands open around the one being parsed.
    nesting: usize,
    /// bash and busybox ash take `function NAME`; dash reads it as a command.
    /// bash wants a compound command as a function's body; ash and dash take any.
    flavor: Flavor,
}

fn parse(src: &str, flavor: Flavor) -> Result<List, String> {
    let mut p = Parser { tokens: tokenize(src)?, pos: 0, nesting: 0, flavor };
    let list = p.list(&[])?;
    if p.pos < p.tokens.len() {
        return Err(format!("unexpected \"{}\"", p.peek_shown()));
    }
    Ok(list)
}

/// A name a function may have.
fn is_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => Some(w.raw()),
            _ => None,
        }
    }
    /// The next token as a shell names it in a syntax error.
    fn peek_shown(&self) -> String {
        match self.peek() {
            Some(Token::Word(w)) => w.raw(),
            Some(Token::And) => "&&".into(),
            Some(Token::Or) => "||".into(),
            Some(Token::Pipe) => "|".into(),
            Some(Token::Background) => "&".into(),
            Some(Token::LParen) => "(".into(),
            Some(Token::RParen) => ")".into(),
            Some(Token::CaseEnd) => ";;".into(),
            Some(Token::Sep) => ";".into(),
            Some(Token::Redirect(..)) => "redirection".into(),
            None => "end of file".into(),
        }
    }
    fn skip_seps(&mut self) {
        while self.peek() == Some(&Token::Sep) {
            self.pos += 1;
        }
    }
    fn expect_word(&mut self, word: &str) -> Result<(), String> {
        self.skip_seps();
        if self.peek_word().as_deref() == Some(word) {
            self.pos += 1;
            Ok(())
        } else {
            Err(match self.peek_word() {
                Some(w) => format!("unexpected \"{w}\" (expecting \"{word}\")"),
                None => format!("end of file unexpected (expecting \"{word}\")"),
            })
        }
    }
    /// A list, stopping before any of the `stop` keywords.
    fn list(&mut self, stop: &[&str]) -> Result<List, String> {
        let mut list = Vec::new();
        loop {
            self.skip_seps();
            if matches!(self.peek(), None | Some(Token::CaseEnd | Token::RParen)) {
                break;
            }
            if let Some(w) = self.peek_word() {
                if stop.contains(&w.as_str()) {
                    break;
                }
            }
            let mut and_or = self.and_or(stop)?;
            if self.peek() == Some(&Token::Background) {
                self.pos += 1;
                and_or.background = true;
            }
            list.push(and_or);
        }
        Ok(list)
    }
    fn and_or(&mut self, stop: &[&str]) -> Result<AndOr, String> {
        let first = self.pipeline(stop)?;
        let mut rest = Vec::new();
        loop {
            let and = match self.peek() {
                Some(Token::And) => true,
                Some(Token::Or) => false,
                _ => break,
            };
            self.pos += 1;
            self.skip_seps();
            rest.push((and, self.pipeline(stop)?));
        }
        Ok(AndOr { first, rest, background: false })
    }
    fn pipeline(&mut self, stop: &[&str]) -> Result<Vec<Node>, String> {
        let mut nodes = vec![self.command(stop)?];
        while self.peek() == Some(&Token::Pipe) {
            self.pos += 1;
            self.skip_seps();
            nodes.push(self.command(stop)?);
        }
        Ok(nodes)
    }
    fn command(&mut self, stop: &[&str]) -> Result<Node, String> {
        let compound = matches!(self.peek_word().as_deref(), Some("while" | "until" | "for" | "if" | "case" | "{" | "function")) || self.peek() == Some(&Token::LParen) || self.tokens.get(self.pos + 1) == Some(&Token::LParen);
        if !compound {
            return self.compound_or_simple(stop);
        }
        if self.nesting >= NESTING_LIMIT {
            return Err("nesting too deep".into());
        }
        self.nesting += 1;
        let node = self.compound_or_simple(stop);
        self.nesting -= 1;
        let mut node = node?;
        if matches!(node, Node::Simple { .. } | Node::Function { .. }) {
            return Ok(node);
        }
        // Redirections after a compound command apply to all of it.
        let mut redirects = Vec::new();
        while let Some(Token::Redirect(kind, fd)) = self.peek().cloned() {
            self.pos += 1;
            redirects.push(self.redirect_target(kind, fd)?);
        }
        if !redirects.is_empty() {
            node = Node::Redirected { node: Box::new(node), redirects };
        }
        Ok(node)
    }
    fn redirect_target(&mut self, kind: RedirectKind, fd: u8) -> Result<Redirect, String> {
        if let RedirectKind::Dup(_) = kind {
            return Ok(Redirect { fd, kind, target: None });
        }
        match self.peek() {
            Some(Token::Word(target)) => {
                let target = target.clone();
                self.pos += 1;
                Ok(Redirect { fd, kind, target: Some(target) })
            }
            _ => Err("unexpected redirection".into()),
        }
    }
    /// `NAME() BODY` (or `function NAME [()] BODY`), the name already read.
    fn function_body(&mut self, name: String, stop: &[&str]) -> Result<Node, String> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            if self.peek() != Some(&Token::RParen) {
                return Err(format!("unexpected \"{}\" (expecting \")\")", self.peek_shown()));
            }
            self.pos += 1;
        }
        self.skip_seps();
        let body = self.command(stop)?;
        if matches!(body, Node::Simple { .. }) && self.flavor == Flavor::Bash {
            return Err("unexpected word (expecting \"{\")".into());
        }
        Ok(Node::Function { name, body: Rc::new(body) })
    }
    /// `case WORD in … esac`, `case` already read.
    fn case(&mut self) -> Result<Node, String> {
        let word = match self.peek() {
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(format!("unexpected \"{}\" (expecting word)", self.peek_shown())),
        };
        self.pos += 1;
        self.expect_word("in")?;
        let mut arms = Vec::new();
        loop {
            self.skip_seps();
            if self.peek_word().as_deref() == Some("esac") {
                self.pos += 1;
                return Ok(Node::Case { word, arms });
            }
            if self.peek() == Some(&Token::LParen) {
                self.pos += 1;
            }
            let mut patterns = Vec::new();
            loop {
                match self.peek() {
                    Some(Token::Word(w)) => patterns.push(w.clone()),
                    _ => return Err(format!("unexpected \"{}\" (expecting \")\")", self.peek_shown())),
                }
                self.pos += 1;
                match self.peek() {
                    Some(Token::Pipe) => self.pos += 1,
                    Some(Token::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("unexpected \"{}\" (expecting \")\")", self.peek_shown())),
                }
            }
            let body = self.list(&["esac"])?;
            arms.push((patterns, body));
            self.skip_seps();
            match self.peek() {
                Some(Token::CaseEnd) => self.pos += 1,
                _ if self.peek_word().as_deref() == Some("esac") => {}
                _ => return Err(format!("unexpected \"{}\" (expecting \"esac\")", self.peek_shown())),
            }
        }
    }
    fn compound_or_simple(&mut self, stop: &[&str]) -> Result<Node, String> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let body = self.list(&[])?;
            self.skip_seps();
            if self.peek() != Some(&Token::RParen) {
                return Err(format!("unexpected \"{}\" (expecting \")\")", self.peek_shown()));
            }
            self.pos += 1;
            return Ok(Node::Subshell(body));
        }
        if let (Some(Token::Word(w)), Some(Token::LParen)) = (self.peek(), self.tokens.get(self.pos + 1)) {
            let name = w.raw();
            if is_name(&name) && matches!(w.0.as_slice(), [Part::Bare(_)]) {
                self.pos += 1;
                return self.function_body(name, stop);
            }
        }
        match self.peek_word().as_deref() {
            Some("function") if self.flavor != Flavor::Dash => {
                self.pos += 1;
                let name = self.peek_word().filter(|n| is_name(n)).ok_or_else(|| format!("unexpected \"{}\" (expecting a name)", self.peek_shown()))?;
                self.pos += 1;
                self.function_body(name, stop)
            }
            Some("case") => {
                self.pos += 1;
                self.case()
            }
            Some("{") => {
                self.pos += 1;
                let body = self.list(&["}"])?;
                self.expect_word("}")?;
                Ok(Node::Group(body))
            }
            Some(kw @ ("while" | "until")) => {
                let until = kw == "until";
                self.pos += 1;
                let cond = self.list(&["do"])?;
                self.expect_word("do")?;
                let body = self.list(&["done"])?;
                self.expect_word("done")?;
                Ok(Node::Loop { cond, body, until })
            }
            Some("for") => {
                self.pos += 1;
                let var = self.peek_word().ok_or("expected a name after for")?;
                self.pos += 1;
                let mut items = Vec::new();
                if self.peek_word().as_deref() == Some("in") {
                    self.pos += 1;
                    while let Some(Token::Word(w)) = self.peek() {
                        items.push(w.clone());
                        self.pos += 1;
                    }
                } else {
                    items.push(Word(vec![Part::Quoted("$@".into())]));
                }
                self.expect_word("do")?;
                let body = self.list(&["done"])?;
                self.expect_word("done")?;
                Ok(Node::For { var, items, body })
            }
            Some("if") => {
                self.pos += 1;
                let cond = self.list(&["then"])?;
                self.expect_word("then")?;
                let then = self.list(&["else", "fi", "elif"])?;
                self.skip_seps();
                let otherwise = match self.peek_word().as_deref() {
                    Some("else") => {
                        self.pos += 1;
                        let l = self.list(&["fi"])?;
                        self.expect_word("fi")?;
                        l
                    }
                    Some("elif") => {
                        // `elif` is an `if` nested in the else branch sharing its `fi`.
                        if let Some(Token::Word(w)) = self.tokens.get_mut(self.pos) {
                            *w = Word::literal("if");
                        }
                        let nested = self.command(stop)?;
                        vec![AndOr { first: vec![nested], rest: vec![], background: false }]
                    }
                    _ => {
                        self.expect_word("fi")?;
                        vec![]
                    }
                };
                Ok(Node::If { cond, then, otherwise })
            }
            Some(kw @ ("do" | "done" | "then" | "fi" | "else" | "elif" | "esac" | "}")) if !stop.contains(&kw) => Err(format!("unexpected \"{kw}\"")),
            _ => {
                let mut words = Vec::new();
                let mut redirects = Vec::new();
                loop {
                    match self.peek().cloned() {
                        Some(Token::Word(w)) => {
                            if words.is_empty() && stop.contains(&w.raw().as_str()) {
                                break;
                            }
                            words.push(w);
                            self.pos += 1;
                        }
                        Some(Token::Redirect(kind, fd)) => {
                            self.pos += 1;
                            redirects.push(self.redirect_target(kind, fd)?);
                        }
                        _ => break,
                    }
                }
                if words.is_empty() && redirects.is_empty() {
                    return Err(format!("unexpected \"{}\"", self.peek_shown()));
                }
                Ok(Node::Simple { words, redirects })
            }
        }
    }
}

// -------------------------------------------------------------- execution

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Recorded into a timeline with virtual time (a main process).
    Timeline,
    /// Run at once against the real files (exec).
    Live,
}

enum Flow {
    /// Carry on; the status of the last command.
    Status(i32),
    Exit(i32),
    /// Never ends (`sleep infinity`, `tail -f`, an endless loop already recorded).
    Forever,
    /// A main process's loop stopped after its budget of passes, to go on
    /// later from `Shell::frames`.
    Suspend,
    Break(usize),
    Continue(usize),
    /// `return N`: ends the function (or the sourced file) it runs in.
    Return(i32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Dest {
    /// The process's stdout/stderr: the log, or the exec stream.
    Top(u8),
    Null,
    Capture(usize),
    File(String),
}

/// Records writes made through it, for a main process's timeline.
struct Recorder<'r> {
    inner: &'r mut dyn Files,
    log: Vec<Effect>,
}

impl Files for Recorder<'_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        self.inner.lstat(path)
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        self.inner.entries(dir)
    }
    fn read_only(&self, path: &str) -> bool {
        self.inner.read_only(path)
    }
    fn put(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        self.inner.put(path, inode.clone())?;
        self.log.push(Effect::Put(path.to_string(), Box::new(inode)));
        Ok(())
    }
    fn put_attributes(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        self.inner.put_attributes(path, inode.clone())?;
        self.log.push(Effect::Attributes(path.to_string(), Box::new(inode)));
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), Errno> {
        self.inner.delete(path)?;
        self.log.push(Effect::Delete(path.to_string()));
        Ok(())
    }
    fn mount_of(&self, path: &str) -> Option<&Mount> {
        self.inner.mount_of(path)
    }
    fn user(&self) -> &crate::engine::node::identity::ProcessUser {
        self.inner.user()
    }
}

struct Shell<'h> {
    host: Host<'h>,
    mode: Mode,
    flavor: Flavor,
    exported: IndexMap<String, String>,
    locals: BTreeMap<String, String>,
    positional: Vec<String>,
    cwd: String,
    last: i32,
    steps: usize,
    depth: usize,
    line_no: usize,
    /// Virtual milliseconds since the start (timeline mode).
    t: u64,
    effects: Vec<Timed>,
    repeat: Option<Repeat>,
    fd1: Dest,
    fd2: Dest,
    captures: Vec<String>,
    stdout: String,
    stderr: String,
    combined: String,
    top_stdin: String,
    /// Milliseconds slept, in either mode.
    slept_ms: u64,
    /// Lines typed at a prompt: an error ends the line, not the shell.
    interactive: bool,
    /// An expansion failed (`$((1/0))`): its message is printed and the
    /// command must not run.
    expansion_failed: bool,
    /// `$!`: the process ID of the last command run with `&`.
    last_background: Option<u32>,
    /// The PID of the background job running now (told to external programs).
    background_job: Option<u32>,
    /// `set -e`.
    errexit: bool,
    /// Lists whose failures `set -e` ignores (an `if` or loop condition) open now.
    errexit_ignored: usize,
    /// The last status came from a command of an `&&`/`||` list before its last.
    status_from_list_head: bool,
    /// `trap CMD EXIT`: run when the shell exits.
    exit_trap: Option<String>,
    /// The flow ended by an error that ends a script but not a prompt's shell.
    line_dropped: bool,
    /// Command substitutions run so far.
    substitutions: usize,
    /// A main process worked out ahead of time: a long loop may stop and be resumed.
    resumable: bool,
    /// Inside something a stop could not be resumed in (a condition, a
    /// pipeline, `eval`, a script on stdin): loops there run to their budget.
    pinned: usize,
    /// Where a suspended program goes on, innermost first.
    frames: Vec<Frame>,
    /// The shell's functions.
    functions: Functions,
    /// For each function call under way, innermost last: the variables its
    /// `local` hid, to be put back when it returns.
    function_locals: Vec<Vec<HiddenVar>>,
    /// `set -x`: each simple command is printed to stderr before it runs.
    xtrace: bool,
    /// `$RANDOM`'s generator state, seeded on first use.
    random_seed: Option<u32>,
    /// Files being read by `.`: bash's `return` ends one.
    sourcing: usize,
    /// Command substitutions open around the command running now.
    substitution_depth: usize,
}

/// A variable as it was before `local` made a function's own copy:
/// (name, its unexported value, its exported value).
type HiddenVar = (String, Option<String>, Option<String>);

/// The words the shells reserve (`if`, `case`, `{`…).
const RESERVED_WORDS: &[&str] = &["!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "then", "until", "while", "{", "}"];

/// Function calls nested in one another before the shell gives up as a
/// real one does when its stack runs out (killed by SIGSEGV, status 139).
const FUNCTION_DEPTH_LIMIT: usize = 100;

/// A shell's functions by name. Two sets are the same when they hold the
/// same definitions (one parse each), which is all a prompt's state needs.
#[derive(Clone, Debug, Default)]
pub struct Functions(BTreeMap<String, Rc<Node>>);

impl Functions {
    /// Whether a function of this name is defined.
    pub fn defines(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

impl PartialEq for Functions {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0.iter()).all(|((a, x), (b, y))| a == b && Rc::ptr_eq(x, y))
    }
}
impl Eq for Functions {}

impl<'h> Shell<'h> {
    fn new(host: Host<'h>, mode: Mode, flavor: Flavor, cwd: &str, positional: Vec<String>) -> Self {
        let mut exported = host.env.clone();
        if !exported.contains_key("PATH") {
            exported.insert("PATH".into(), DEFAULT_PATH.into());
        }
        let hostname = host.info.hostname.clone();
        exported.entry("HOSTNAME".into()).or_insert(hostname);
        exported.entry("HOME".into()).or_insert_with(|| "/root".into());
        Shell {
            host,
            mode,
            flavor,
            exported,
            locals: BTreeMap::new(),
            positional: if positional.is_empty() { vec!["sh".into()] } else { positional },
            cwd: if cwd.is_empty() { "/".into() } else { cwd.to_string() },
            last: 0,
            steps: 0,
            depth: 0,
            line_no: 1,
            t: 0,
            effects: Vec::new(),
            repeat: None,
            fd1: Dest::Top(1),
            fd2: Dest::Top(2),
            captures: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
            combined: String::new(),
            top_stdin: String::new(),
            slept_ms: 0,
            interactive: false,
            expansion_failed: false,
            last_background: None,
            background_job: None,
            errexit: false,
            errexit_ignored: 0,
            status_from_list_head: false,
            exit_trap: None,
            line_dropped: false,
            substitutions: 0,
            resumable: false,
            pinned: 0,
            frames: Vec::new(),
            functions: Functions::default(),
            function_locals: Vec::new(),
            xtrace: false,
            random_seed: None,
            sourcing: 0,
            substitution_depth: 0,
        }
    }

    fn finish(self, flow: Flow) -> Program {
        let end = match flow {
            Flow::Status(code) | Flow::Exit(code) | Flow::Return(code) => End::Exit { at_ms: self.t, code },
            Flow::Break(_) | Flow::Continue(_) => End::Exit { at_ms: self.t, code: 0 },
            Flow::Forever | Flow::Suspend => End::Never,
        };
        let resume = matches!(flow, Flow::Suspend).then(|| {
            Rc::new(Resume {
                at_ms: self.t,
                flavor: self.flavor,
                exported: self.exported,
                locals: self.locals,
                positional: self.positional,
                cwd: self.cwd,
                last: self.last,
                depth: self.depth,
                line_no: self.line_no,
                frames: self.frames,
                info: self.host.info.clone(),
                errexit: self.errexit,
                exit_trap: self.exit_trap,
                last_background: self.last_background,
                functions: self.functions,
                function_locals: self.function_locals,
                xtrace: self.xtrace,
                random_seed: self.random_seed,
                still: 0,
            })
        });
        Program { timeline: self.effects, repeat: self.repeat.map(Rc::new), resume, end }
    }

    /// Whether a loop may stop here to be resumed: a main process at a
    /// point its state says all about (its output is the log's).
    fn can_suspend(&self) -> bool {
        self.resumable && self.mode == Mode::Timeline && self.pinned == 0 && self.captures.is_empty() && self.fd1 == Dest::Top(1) && self.fd2 == Dest::Top(2)
    }

    /// Runs what a suspended program had still to run, level by level.
    fn run_frames(&mut self, frames: Vec<Frame>) -> Flow {
        let mut flow = Flow::Status(self.last);
        let mut outer = frames.into_iter();
        while let Some(frame) = outer.next() {
            flow = self.continue_frame(frame, flow);
            if matches!(flow, Flow::Suspend) {
                self.frames.extend(outer);
                return Flow::Suspend;
            }
        }
        flow
    }

    /// One level of a suspended program, given how the level inside it ended.
    fn continue_frame(&mut self, frame: Frame, flow: Flow) -> Flow {
        match frame {
            Frame::List(rest) => match flow {
                Flow::Status(s) => {
                    self.last = s;
                    self.run_list(&rest)
                }
                f => f,
            },
            Frame::AndOr(rest) => self.run_and_or_rest(flow, &rest),
            Frame::Loop { cond, body, until } => match flow {
                Flow::Status(s) => self.run_loop_from(&cond, &body, until, Flow::Status(s)),
                Flow::Break(n) if n > 1 => Flow::Break(n - 1),
                Flow::Break(_) => Flow::Status(0),
                Flow::Continue(n) if n > 1 => Flow::Continue(n - 1),
                Flow::Continue(_) => self.run_loop_from(&cond, &body, until, Flow::Status(0)),
                f => f,
            },
            Frame::For { var, values, body } => match flow {
                Flow::Break(n) if n > 1 => Flow::Break(n - 1),
                Flow::Break(_) => Flow::Status(0),
                Flow::Continue(n) if n > 1 => Flow::Continue(n - 1),
                Flow::Status(_) | Flow::Continue(_) => self.run_for_values(&var, &values, &body, flow),
                f => f,
            },
            Frame::Shell { positional, exported, flavor, errexit } => {
                let flow = if let Some(parent) = errexit {
                    let flow = self.run_exit_trap(flow);
                    if matches!(flow, Flow::Suspend | Flow::Forever) {
                        return flow;
                    }
                    (self.errexit, self.errexit_ignored, self.exit_trap) = parent;
                    flow
                } else {
                    flow
                };
                self.depth = self.depth.saturating_sub(1);
                self.positional = positional;
                if let Some(exported) = exported {
                    self.exported = exported;
                }
                self.flavor = flavor;
                match flow {
                    Flow::Exit(s) | Flow::Return(s) => Flow::Status(s),
                    f => f,
                }
            }
            Frame::Exec => match flow {
                Flow::Status(s) => Flow::Exit(s),
                f => f,
            },
            Frame::Env(exported) => {
                self.exported = exported;
                flow
            }
            Frame::Function { positional } => self.end_function(positional, flow),
        }
    }

    fn outcome(self, flow: Flow) -> Outcome {
        let (status, exited) = match flow {
            Flow::Status(s) => (s, false),
            Flow::Exit(s) => (s, true),
            Flow::Forever | Flow::Suspend => (130, false),
            Flow::Break(_) | Flow::Continue(_) => (0, false),
            // `return` outside a function ends a script as `exit` would;
            // at a prompt it ends only the line.
            Flow::Return(s) => (s, !self.interactive),
        };
        Outcome { stdout: self.stdout, stderr: self.stderr, combined: self.combined, status, exited, slept_ms: self.slept_ms }
    }

    fn toolkit(&self) -> Toolkit {
        self.host.info.toolkit()
    }

    /// The shell's name in its messages, with dash's line number.
    fn err_prefix(&self) -> String {
        match self.flavor {
            Flavor::Ash => "sh:".to_string(),
            Flavor::Dash => format!("sh: {}:", self.line_no),
            Flavor::Bash => "bash:".to_string(),
        }
    }

    /// What bash puts before a builtin's error: the line number when the
    /// shell runs a script (`builtin_error_prolog`), not at a prompt.
    fn builtin_prefix(&self) -> String {
        if self.interactive {
            "bash:".to_string()
        } else {
            format!("bash: line {}:", self.line_no)
        }
    }

    /// `set -x`: the command about to run, on the shell's stderr, as each
    /// shell prints it: dash as the words are (`eprintlist`), ash quoting
    /// what the shell would read otherwise (`maybe_single_quote`), bash
    /// quoting too, with one `+` more in each command substitution.
    fn trace(&mut self, assignments: &[(String, String)], argv: &[String]) {
        let words = assignments.iter().map(|(k, v)| format!("{k}={}", self.trace_quote(v, false))).chain(argv.iter().map(|a| self.trace_quote(a, true)));
        let text: Vec<String> = words.collect();
        self.trace_line(&text.join(" "));
    }

    /// One `set -x` line, after its `+`s, on the shell's stderr.
    fn trace_line(&mut self, text: &str) {
        let plus = if self.flavor == Flavor::Bash { "+".repeat(1 + self.substitution_depth.min(DEPTH_LIMIT)) } else { "+".to_string() };
        let line = format!("{plus} {text}\n");
        let saved = std::mem::replace(&mut self.fd1, self.fd2.clone());
        self.emit(1, &line);
        self.fd1 = saved;
    }

    fn trace_quote(&self, word: &str, argument: bool) -> String {
        let needs = match self.flavor {
            Flavor::Dash => false,
            // Reserved words are always quoted, lest they read as syntax.
            Flavor::Ash => (argument && RESERVED_WORDS.contains(&word)) || word.chars().any(|c| c < '+' || (';'..='?').contains(&c) || matches!(c, '`' | '[' | '\\') || c > 'z'),
            Flavor::Bash => word.is_empty() || word.starts_with(['~', '#']) || word.chars().any(|c| c.is_whitespace() || "'\"\\|&;()<>!{}*[?]^$`".contains(c)),
        };
        if !needs {
            return word.to_string();
        }
        match self.flavor {
            Flavor::Bash => format!("'{}'", word.replace('\'', "'\\''")),
            _ => format!("'{}'", word.replace('\'', "'\"'\"'")),
        }
    }

    fn emit(&mut self, fd: u8, text: &str) {
        if text.is_empty() {
            return;
        }
        let dest = if fd == 2 { self.fd2.clone() } else { self.fd1.clone() };
        match dest {
            Dest::Null => {}
            Dest::Capture(i) => {
                if let Some(buf) = self.captures.get_mut(i) {
                    if buf.len() < OUTPUT_LIMIT {
                        buf.push_str(text);
                    }
                }
            }
            Dest::File(path) => {
                let cwd = self.cwd.clone();
                let result = self.with_files(|files| cfs::write_file(files, &cwd, &path, text, true));
                if let Err(e) = result {
                    let line = format!("{} can't create {path}: {}\n", self.err_prefix(), e.message());
                    self.fd2 = Dest::Top(2);
                    self.emit(2, &line);
                }
            }
            Dest::Top(which) => match self.mode {
                Mode::Live => {
                    if self.combined.len() >= OUTPUT_LIMIT {
                        return;
                    }
                    if which == 2 {
                        self.stderr.push_str(text);
                    } else {
                        self.stdout.push_str(text);
                    }
                    self.combined.push_str(text);
                }
                Mode::Timeline => {
                    let body = text.strip_suffix('\n').unwrap_or(text);
                    for line in body.split('\n') {
                        self.effects.push(Timed { at_ms: self.t, effect: Effect::Log(line.into()) });
                    }
                }
            },
        }
    }

    /// File access; in timeline mode writes are recorded into the timeline.
    fn with_files<T>(&mut self, f: impl FnOnce(&mut dyn Files) -> T) -> T {
        match self.mode {
            Mode::Live => f(self.host.files),
            Mode::Timeline => {
                let mut rec = Recorder { inner: self.host.files, log: Vec::new() };
                let result = f(&mut rec);
                let at = self.t;
                self.effects.extend(rec.log.into_iter().map(|effect| Timed { at_ms: at, effect }));
                result
            }
        }
    }

    fn run_script(&mut self, script: &str) -> Flow {
        match parse(script, self.flavor) {
            Ok(list) => self.run_list(&list),
            Err(e) => {
                let line = match self.flavor {
                    Flavor::Bash => format!("bash: -c: line {}: syntax error: {e}\n", self.line_no),
                    Flavor::Dash => format!("{} Syntax error: {}\n", self.err_prefix(), dash_syntax_error(&e)),
                    Flavor::Ash => format!("{} Syntax error: {e}\n", self.err_prefix()),
                };
                self.emit(2, &line);
                Flow::Exit(2)
            }
        }
    }

    fn run_list(&mut self, list: &List) -> Flow {
        let mut flow = Flow::Status(self.last);
        for (i, and_or) in list.iter().enumerate() {
            if and_or.background {
                // Run to its end here (the model has one thread of time); the
                // shell goes on with status 0 and `$!` naming the job.
                let pid = self.last_background.map_or_else(|| self.host.info.processes.iter().map(|p| p.pid).max().unwrap_or(1) + 1, |p| p + 1);
                let outer_job = self.background_job.replace(pid);
                let job = self.run_and_or(and_or);
                self.background_job = outer_job;
                match job {
                    Flow::Forever => return job,
                    Flow::Suspend => {
                        // The job goes on when the program is resumed; what follows it sees its `$!`.
                        self.last_background = Some(pid);
                        if let Some(rest) = list.get(i + 1..).filter(|r| !r.is_empty()) {
                            self.frames.push(Frame::List(rest.to_vec()));
                        }
                        return job;
                    }
                    _ => {}
                }
                self.last_background = Some(pid);
                self.last = 0;
                flow = Flow::Status(0);
                continue;
            }
            self.status_from_list_head = false;
            flow = self.run_and_or(and_or);
            match flow {
                // `set -e`: a failing command ends the shell, unless it is a
                // condition or not the last of an `&&`/`||` list.
                Flow::Status(s) if s != 0 && self.errexit && self.errexit_ignored == 0 && !self.status_from_list_head => {
                    self.last = s;
                    return Flow::Exit(s);
                }
                Flow::Status(s) => self.last = s,
                Flow::Suspend => {
                    if let Some(rest) = list.get(i + 1..).filter(|r| !r.is_empty()) {
                        self.frames.push(Frame::List(rest.to_vec()));
                    }
                    return flow;
                }
                _ => return flow,
            }
        }
        flow
    }

    fn run_and_or(&mut self, and_or: &AndOr) -> Flow {
        let flow = self.run_pipeline(&and_or.first);
        self.status_from_list_head = !and_or.rest.is_empty();
        self.run_and_or_rest(flow, &and_or.rest)
    }

    /// An `&&`/`||` chain's commands after one that ended with `flow`.
    fn run_and_or_rest(&mut self, mut flow: Flow, rest: &[(bool, Vec<Node>)]) -> Flow {
        for (i, (and, pipeline)) in rest.iter().enumerate() {
            let status = match flow {
                Flow::Status(s) => s,
                Flow::Suspend => break,
                _ => return flow,
            };
            self.last = status;
            if (status == 0) == *and {
                flow = self.run_pipeline(pipeline);
                self.status_from_list_head = false;
                if matches!(flow, Flow::Suspend) {
                    if let Some(later) = rest.get(i + 1..).filter(|r| !r.is_empty()) {
                        self.frames.push(Frame::AndOr(later.to_vec()));
                    }
                    return flow;
                }
            } else {
                self.status_from_list_head = true;
            }
        }
        if matches!(flow, Flow::Suspend) && !rest.is_empty() {
            self.frames.push(Frame::AndOr(rest.to_vec()));
        }
        flow
    }

    fn run_pipeline(&mut self, nodes: &[Node]) -> Flow {
        if nodes.len() == 1 {
            return self.run_node(&nodes[0], "");
        }
        // A loop in a pipeline reads the stage before it: not resumable.
        self.pinned += 1;
        let flow = self.run_piped(nodes);
        self.pinned -= 1;
        flow
    }

    fn run_piped(&mut self, nodes: &[Node]) -> Flow {
        let mut input = String::new();
        let mut flow = Flow::Status(0);
        for (i, node) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            if last {
                flow = if matches!(node, Node::Simple { .. }) {
                    self.run_node(node, &input)
                } else {
                    // `… | while read l; do …; done`: the compound's `read`s take the pipe.
                    let outer = std::mem::replace(&mut self.top_stdin, std::mem::take(&mut input));
                    let flow = self.run_node(node, "");
                    self.top_stdin = outer;
                    flow
                };
            } else {
                let slot = self.captures.len();
                self.captures.push(String::new());
                let saved = std::mem::replace(&mut self.fd1, Dest::Capture(slot));
                // A stage's own exit ends only that stage.
                let _ = self.run_node(node, &input);
                self.fd1 = saved;
                input = self.captures.pop().unwrap_or_default();
            }
        }
        flow
    }

    fn run_node(&mut self, node: &Node, stdin: &str) -> Flow {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Flow::Forever;
        }
        match node {
            Node::Simple { words, redirects } => self.run_simple(words, redirects, stdin),
            Node::If { cond, then, otherwise } => match self.run_condition(cond) {
                Flow::Status(0) => self.run_list(then),
                // No branch taken: the `if` succeeds.
                Flow::Status(_) if otherwise.is_empty() => Flow::Status(0),
                Flow::Status(_) => self.run_list(otherwise),
                f => f,
            },
            Node::For { var, items, body } => {
                let mut values: Vec<String> = Vec::new();
                let mut total = 0;
                for w in items {
                    if total > EXPANSION_LIMIT {
                        break;
                    }
                    let fields = self.expand_fields(w);
                    total += fields.iter().map(String::len).sum::<usize>();
                    values.extend(fields);
                }
                if self.expansion_failed {
                    return self.expansion_failure();
                }
                self.run_for_values(var, &values, body, Flow::Status(0))
            }
            Node::Loop { cond, body, until } => self.run_loop(cond, body, *until),
            Node::Case { word, arms } => {
                let value = self.expand(word);
                if self.expansion_failed {
                    return self.expansion_failure();
                }
                if self.xtrace && self.flavor == Flavor::Bash {
                    let shown = self.trace_quote(&value, true);
                    self.trace_line(&format!("case {shown} in"));
                }
                for (patterns, body) in arms {
                    for pattern in patterns {
                        let pattern = self.expand_pattern(pattern);
                        if self.expansion_failed {
                            return self.expansion_failure();
                        }
                        if wildcard(&pattern, &value) {
                            // An arm with no commands leaves the status 0.
                            return if body.is_empty() { Flow::Status(0) } else { self.run_list(body) };
                        }
                    }
                }
                Flow::Status(0)
            }
            Node::Group(body) => self.run_list(body),
            Node::Subshell(body) => self.run_subshell(body),
            Node::Function { name, body } => {
                self.functions.0.insert(name.clone(), Rc::clone(body));
                Flow::Status(0)
            }
            Node::Redirected { node, redirects } => {
                let (saved1, saved2) = (self.fd1.clone(), self.fd2.clone());
                let mut input = stdin.to_string();
                let flow = match self.apply_redirects(redirects, &mut input) {
                    Err(flow) => flow,
                    Ok(()) => {
                        // The compound's `read`s take the file; its loops are not resumable.
                        self.pinned += 1;
                        let flow = if redirects.iter().any(|r| r.kind == RedirectKind::In) {
                            let outer = std::mem::replace(&mut self.top_stdin, input);
                            let flow = self.run_node(node, "");
                            self.top_stdin = outer;
                            flow
                        } else {
                            self.run_node(node, stdin)
                        };
                        self.pinned -= 1;
                        flow
                    }
                };
                self.fd1 = saved1;
                self.fd2 = saved2;
                flow
            }
        }
    }

    /// `( LIST )`: what the list changes (variables, directory, functions,
    /// options) stays in the copy; its `exit` ends only the copy.
    fn run_subshell(&mut self, body: &List) -> Flow {
        let saved = (self.exported.clone(), self.locals.clone(), self.cwd.clone(), self.positional.clone(), self.functions.clone(), self.errexit, self.exit_trap.take(), self.xtrace);
        self.pinned += 1;
        let flow = self.run_list(body);
        let flow = self.run_exit_trap(flow);
        self.pinned -= 1;
        (self.exported, self.locals, self.cwd, self.positional, self.functions, self.errexit, self.exit_trap, self.xtrace) = saved;
        match flow {
            Flow::Exit(s) | Flow::Return(s) => Flow::Status(s),
            Flow::Break(_) | Flow::Continue(_) => Flow::Status(0),
            f => f,
        }
    }

    /// Runs a function with `args` as its positional parameters.
    fn call_function(&mut self, body: Rc<Node>, argv: &[String], stdin: &str) -> Flow {
        if self.function_locals.len() >= FUNCTION_DEPTH_LIMIT {
            if self.flavor == Flavor::Dash {
                // dash counts its calls (eval.c `evalfun`) and says so.
                let line = format!("{} Maximum function recursion depth (1000) reached\n", self.err_prefix());
                self.emit(2, &line);
                self.line_dropped = true;
                return Flow::Exit(2);
            }
            // bash and ash recurse until their stack runs out and the
            // kernel kills them: no message of their own, status 139.
            return Flow::Exit(139);
        }
        let zero = self.positional.first().cloned().unwrap_or_default();
        let caller = std::mem::replace(&mut self.positional, std::iter::once(zero).chain(argv.iter().skip(1).cloned()).collect());
        self.function_locals.push(Vec::new());
        let flow = self.run_node(&body, stdin);
        if matches!(flow, Flow::Suspend) {
            self.frames.push(Frame::Function { positional: caller });
            return flow;
        }
        self.end_function(caller, flow)
    }

    /// A function's end: its `local` variables give way to the ones they
    /// hid, the caller's parameters come back, `return N` is its status.
    fn end_function(&mut self, caller: Vec<String>, flow: Flow) -> Flow {
        for (name, local, exported) in self.function_locals.pop().unwrap_or_default().into_iter().rev() {
            match local {
                Some(v) => self.locals.insert(name.clone(), v),
                None => self.locals.remove(&name),
            };
            match exported {
                Some(v) => self.exported.insert(name, v),
                None => self.exported.shift_remove(&name),
            };
        }
        self.positional = caller;
        match flow {
            Flow::Return(s) => Flow::Status(s),
            f => f,
        }
    }

    /// A `case` pattern: what was quoted matches itself only.
    fn expand_pattern(&mut self, word: &Word) -> String {
        let mut out = String::new();
        for part in &word.0 {
            let (text, quoted) = match part {
                Part::Literal(s) => (s.clone(), true),
                Part::Quoted(s) => (self.expand_text(s), true),
                Part::Bare(s) => (self.expand_text(s), false),
            };
            if quoted {
                for c in text.chars() {
                    // `[*]` is a set holding the character alone.
                    if matches!(c, '*' | '?' | '[') {
                        out.push('[');
                        out.push(c);
                        out.push(']');
                    } else {
                        out.push(c);
                    }
                }
            } else {
                out.push_str(&text);
            }
        }
        out
    }

    /// An `if`, `while` or `until` condition: `set -e` ignores its
    /// failures, and a loop in it runs to its budget (not resumable).
    fn run_condition(&mut self, cond: &List) -> Flow {
        self.errexit_ignored += 1;
        self.pinned += 1;
        let flow = self.run_list(cond);
        self.pinned -= 1;
        self.errexit_ignored -= 1;
        flow
    }

    /// Runs the `trap … EXIT` command as the shell ends with `flow`: it sees
    /// the exit status in `$?`, which stays the shell's unless it exits itself.
    fn run_exit_trap(&mut self, flow: Flow) -> Flow {
        let status = match flow {
            Flow::Status(s) | Flow::Exit(s) | Flow::Return(s) => s,
            _ => return flow,
        };
        let Some(command) = self.exit_trap.take() else { return flow };
        self.last = status;
        let (errexit, ignored) = (self.errexit, self.errexit_ignored);
        self.errexit_ignored = 0;
        let trapped = self.run_script(&command);
        (self.errexit, self.errexit_ignored) = (errexit, ignored);
        match trapped {
            Flow::Exit(s) => Flow::Exit(s),
            Flow::Forever => Flow::Forever,
            _ => flow,
        }
    }

    /// A `for` loop's passes over `values`.
    fn run_for_values(&mut self, var: &str, values: &[String], body: &List, mut flow: Flow) -> Flow {
        for (i, v) in values.iter().enumerate() {
            if self.xtrace && self.flavor == Flavor::Bash {
                // bash prints the loop's head at each pass.
                let words: Vec<String> = values.iter().map(|w| self.trace_quote(w, true)).collect();
                self.trace_line(&format!("for {var} in {}", words.join(" ")));
            }
            self.set_var(var, v.clone());
            flow = self.run_list(body);
            match flow {
                Flow::Status(_) => {}
                Flow::Break(n) => return if n > 1 { Flow::Break(n - 1) } else { Flow::Status(0) },
                Flow::Continue(n) if n > 1 => return Flow::Continue(n - 1),
                Flow::Continue(_) => {}
                Flow::Suspend => {
                    let values = values.get(i + 1..).unwrap_or_default().to_vec();
                    self.frames.push(Frame::For { var: var.to_string(), values, body: body.clone() });
                    return flow;
                }
                f => return f,
            }
        }
        flow
    }

    fn run_loop(&mut self, cond: &List, body: &List, until: bool) -> Flow {
        let constant = cond.len() == 1
            && cond.first().is_some_and(|c| c.rest.is_empty() && c.first.len() == 1)
            && matches!(cond.first().and_then(|c| c.first.first()), Some(Node::Simple { words, redirects })
                if redirects.is_empty() && words.len() == 1 && matches!(words.first().map(Word::raw).as_deref(), Some("true" | ":")));
        if constant && !until && self.mode == Mode::Timeline && self.depth == 0 && self.captures.is_empty() {
            // An endless loop: record one pass as the repeating body, if
            // the pass leaves the shell as it found it (else passes differ).
            let start = self.t;
            let before = self.effects.len();
            // `$RANDOM` moves its generator: a pass that reads it differs from the next.
            let state = (self.exported.clone(), self.locals.clone(), self.cwd.clone(), self.positional.clone(), self.random_seed, self.functions.clone());
            let first = self.run_list(body);
            match first {
                Flow::Status(_) | Flow::Continue(_) => {}
                Flow::Break(_) => return Flow::Status(0),
                Flow::Suspend => {
                    self.frames.push(Frame::Loop { cond: cond.clone(), body: body.clone(), until });
                    return first;
                }
                f => return f,
            }
            if state != (self.exported.clone(), self.locals.clone(), self.cwd.clone(), self.positional.clone(), self.random_seed, self.functions.clone()) {
                return self.run_loop_from(cond, body, until, Flow::Status(self.last));
            }
            let body_effects: Vec<Timed> = self
                .effects
                .split_off(before)
                .into_iter()
                .map(|mut e| {
                    e.at_ms -= start;
                    e
                })
                .collect();
            let period = self.t.saturating_sub(start).max(1);
            self.t = start;
            self.repeat = Some(Repeat { start_ms: start, period_ms: period, body: body_effects });
            return Flow::Forever;
        }
        self.run_loop_from(cond, body, until, Flow::Status(0))
    }

    /// A `while`/`until` loop from its condition, `flow` the last pass's end.
    /// A main process's loop stops after [`LOOP_BUDGET`] passes (or half
    /// the program's step budget) to be resumed; other loops end there.
    fn run_loop_from(&mut self, cond: &List, body: &List, until: bool, mut flow: Flow) -> Flow {
        for _ in 0..LOOP_BUDGET {
            let status = match self.run_condition(cond) {
                Flow::Status(s) => s,
                f => return f,
            };
            if (status == 0) == until {
                return flow;
            }
            flow = self.run_list(body);
            match flow {
                Flow::Status(_) => {}
                Flow::Break(n) => return if n > 1 { Flow::Break(n - 1) } else { Flow::Status(0) },
                Flow::Continue(n) if n > 1 => return Flow::Continue(n - 1),
                Flow::Continue(_) => flow = Flow::Status(0),
                Flow::Suspend => {
                    self.frames.push(Frame::Loop { cond: cond.clone(), body: body.clone(), until });
                    return flow;
                }
                f => return f,
            }
            if self.steps > STEP_BUDGET / 2 && self.can_suspend() {
                break;
            }
        }
        if self.can_suspend() {
            if let Flow::Status(s) = flow {
                self.last = s;
            }
            self.frames.push(Frame::Loop { cond: cond.clone(), body: body.clone(), until });
            return Flow::Suspend;
        }
        match self.mode {
            Mode::Timeline => Flow::Forever,
            // A live loop that does not end is cut short, as Ctrl-C would.
            Mode::Live => Flow::Status(130),
        }
    }

    // ------------------------------------------------------- variables

    fn var(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.last.to_string()),
            "#" => Some(self.positional.len().saturating_sub(1).to_string()),
            "@" | "*" => Some(self.positional.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")),
            "$" => Some(self.own_pid().to_string()),
            "!" => self.last_background.map(|p| p.to_string()),
            n if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => n.parse::<usize>().ok().and_then(|i| self.positional.get(i)).cloned(),
            n => self.locals.get(n).or_else(|| self.exported.get(n)).cloned(),
        }
    }

    /// The shell's process ID: the container's first process unless it
    /// was started beside it (`kubectl exec`), then the last one started.
    fn own_pid(&self) -> u32 {
        self.host.info.processes.iter().skip(1).last().map_or(1, |p| p.pid)
    }

    fn set_var(&mut self, name: &str, value: String) {
        if name == "RANDOM" && self.flavor != Flavor::Dash {
            // Assigning seeds the generator (bash's `assign_random`).
            self.random_seed = Some(value.trim().parse::<i64>().unwrap_or(0) as u32);
            return;
        }
        if let Some(v) = self.exported.get_mut(name) {
            *v = value;
        } else {
            self.locals.insert(name.to_string(), value);
        }
    }

    // ------------------------------------------------------- expansion

    fn expand(&mut self, word: &Word) -> String {
        let mut out = String::new();
        for part in &word.0 {
            if out.len() > EXPANSION_LIMIT {
                break;
            }
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Quoted(s) | Part::Bare(s) => out.push_str(&self.expand_text(s)),
            }
        }
        out
    }

    /// Fields of a word: unquoted expansions split on blanks and globbed.
    fn expand_fields(&mut self, word: &Word) -> Vec<String> {
        let quoted = word.0.iter().any(|p| !matches!(p, Part::Bare(_)));
        let text = self.expand(word);
        if quoted {
            // `"$@"` stays one field per argument.
            if word.0.len() == 1 && matches!(&word.0[0], Part::Quoted(s) if s == "$@") {
                return self.positional.iter().skip(1).cloned().collect();
            }
            return vec![text];
        }
        if text.contains(DATE_MARK) || text.contains(FILE_MARK_OPEN) {
            return vec![text];
        }
        let mut fields = Vec::new();
        for field in text.split_whitespace() {
            if field.contains(['*', '?']) || (field.contains('[') && field.contains(']')) {
                let matches = self.glob(field);
                if matches.is_empty() {
                    fields.push(field.to_string());
                } else {
                    fields.extend(matches);
                }
            } else {
                fields.push(field.to_string());
            }
        }
        fields
    }

    fn glob(&mut self, pattern: &str) -> Vec<String> {
        let absolute = pattern.starts_with('/');
        let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
        let mut candidates: Vec<String> = vec![if absolute { "/".to_string() } else { String::new() }];
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let mut next = Vec::new();
            for base in &candidates {
                let dir = if base.is_empty() { self.cwd.clone() } else { normalize(&self.cwd, base) };
                let join_shown = |name: &str| if base.is_empty() { name.to_string() } else if base.ends_with('/') { format!("{base}{name}") } else { format!("{base}/{name}") };
                if !part.contains(['*', '?', '[']) {
                    next.push(join_shown(part));
                    continue;
                }
                let Ok(entries) = cfs::list_dir(self.host.files, "/", &dir) else { continue };
                for (name, inode) in entries {
                    if name.starts_with('.') && !part.starts_with('.') {
                        continue;
                    }
                    if wildcard(part, &name) && (last || inode.is_dir() || matches!(inode.kind, Kind::Symlink(_))) {
                        next.push(join_shown(&name));
                    }
                }
            }
            candidates = next;
        }
        candidates.retain(|c| cfs::lstat(self.host.files, &self.cwd, c).is_ok());
        candidates.sort_stable();
        candidates
    }

    /// Expands `$…` in `s`. Expansions nest (`${a:-${b}}`, `$(( $((1)) ))`):
    /// the nesting counts towards [`DEPTH_LIMIT`] like a substitution, and
    /// the result stops at [`EXPANSION_LIMIT`].
    fn expand_text(&mut self, s: &str) -> String {
        if self.depth >= DEPTH_LIMIT {
            return String::new();
        }
        self.depth += 1;
        let mut out = self.expand_text_at_depth(s);
        self.depth -= 1;
        if out.len() > EXPANSION_LIMIT {
            let mut end = EXPANSION_LIMIT;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
        }
        out
    }

    fn expand_text_at_depth(&mut self, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if out.len() > EXPANSION_LIMIT {
                break;
            }
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('(') if chars.get(i + 2) == Some(&'(') => {
                    // `$(( … ))`
                    let mut depth = 0;
                    let mut j = i + 1;
                    while let Some(&ch) = chars.get(j) {
                        if ch == '(' {
                            depth += 1;
                        } else if ch == ')' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        j += 1;
                    }
                    let inner: String = chars.get(i + 3..j.saturating_sub(1).max(i + 3)).map(|c| c.iter().collect()).unwrap_or_default();
                    let expanded = self.expand_text(&inner);
                    let flavor = self.flavor;
                    match arithmetic(&expanded, flavor, self) {
                        Ok(value) => out.push_str(&value.to_string()),
                        Err((error, token)) => {
                            let message = error.message(flavor, &expanded, &token);
                            self.expansion_error(&message);
                            return out;
                        }
                    }
                    i = j + 1;
                }
                Some('(') => {
                    let mut depth = 0;
                    let mut j = i + 1;
                    while let Some(&ch) = chars.get(j) {
                        if ch == '(' {
                            depth += 1;
                        } else if ch == ')' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        j += 1;
                    }
                    let inner: String = chars.get(i + 2..j.min(chars.len())).map(|c| c.iter().collect()).unwrap_or_default();
                    out.push_str(&self.substitute(inner.trim()));
                    i = j + 1;
                }
                Some('{') => {
                    // The `}` that closes this `${`, past any nested `${…}`.
                    let mut open = 0usize;
                    let mut end = None;
                    let mut j = i + 2;
                    while let Some(&ch) = chars.get(j) {
                        if ch == '$' && chars.get(j + 1) == Some(&'{') {
                            open += 1;
                            j += 1;
                        } else if ch == '}' {
                            if open == 0 {
                                end = Some(j);
                                break;
                            }
                            open -= 1;
                        }
                        j += 1;
                    }
                    let body: String = chars.get(i + 2..end.unwrap_or(chars.len())).map(|c| c.iter().collect()).unwrap_or_default();
                    out.push_str(&self.parameter(&body));
                    i = end.map_or(chars.len(), |e| e + 1);
                }
                Some(d) if d.is_ascii_digit() || matches!(*d, '@' | '*' | '?' | '#' | '$' | '!') => {
                    let name = d.to_string();
                    out.push_str(&self.var(&name).unwrap_or_default());
                    i += 2;
                }
                Some(d) if d.is_ascii_alphabetic() || *d == '_' => {
                    let mut j = i + 1;
                    while chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                        j += 1;
                    }
                    let name: String = chars.get(i + 1..j).map(|c| c.iter().collect()).unwrap_or_default();
                    out.push_str(&self.lookup(&name).unwrap_or_default());
                    i = j;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        out
    }

    /// `${NAME}`, `${NAME:-default}`, `${NAME:=default}`, `${#NAME}`, the
    /// pattern removals `${NAME#p}`, `${NAME##p}`, `${NAME%p}`, `${NAME%%p}`,
    /// and bash's and ash's `${NAME:offset:length}` and `${NAME/p/r}`
    /// (dash has neither: `Bad substitution`).
    fn parameter(&mut self, body: &str) -> String {
        if let Some(name) = body.strip_prefix('#').filter(|n| !n.is_empty()) {
            return self.lookup(name).unwrap_or_default().chars().count().to_string();
        }
        let name_len = if body.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '@' | '*' | '?' | '#' | '$' | '!')) {
            1
        } else {
            body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len())
        };
        let (name, operation) = body.split_at(name_len.min(body.len()));
        if !name.is_empty() {
            let substring = operation.strip_prefix(':').filter(|rest| !rest.starts_with(['-', '=', '+', '?']));
            let replacement = operation.strip_prefix('/');
            if substring.is_some() || replacement.is_some() {
                if self.flavor == Flavor::Dash {
                    self.expansion_error("Bad substitution");
                    return String::new();
                }
                let value = self.lookup(name).unwrap_or_default();
                return match (substring, replacement) {
                    (Some(spec), _) => self.substring(&value, spec),
                    (_, Some(spec)) => self.replace_pattern(&value, spec),
                    _ => value,
                };
            }
        }
        for op in ["##", "#", "%%", "%"] {
            if let Some(pattern) = operation.strip_prefix(op).filter(|_| !name.is_empty()) {
                let value = self.lookup(name).unwrap_or_default();
                let pattern = self.expand_operand(pattern, true);
                return remove_pattern(&value, &pattern, op);
            }
        }
        for op in [":-", ":=", ":+", "-", "="] {
            if let Some((name, default)) = body.split_once(op) {
                if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    let value = self.lookup(name);
                    let empty = value.as_deref().is_none_or(str::is_empty);
                    let unset = value.is_none();
                    let default = self.expand_operand(default, false);
                    return match op {
                        ":-" if empty => default,
                        "-" if unset => default,
                        ":=" | "=" if (op == ":=" && empty) || (op == "=" && unset) => {
                            self.set_var(name, default.clone());
                            default
                        }
                        ":+" => if empty { String::new() } else { default },
                        _ => value.unwrap_or_default(),
                    };
                }
            }
        }
        self.lookup(body).unwrap_or_default()
    }

    /// The word in a `${…}` (a default, a pattern, a replacement): quotes
    /// are removed, and in a pattern what they held matches itself only.
    fn expand_operand(&mut self, text: &str, pattern: bool) -> String {
        let mut parts = Vec::new();
        let mut bare = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' | '"' => {
                    if !bare.is_empty() {
                        parts.push(Part::Bare(std::mem::take(&mut bare)));
                    }
                    let inner: String = chars.by_ref().take_while(|ch| *ch != c).collect();
                    parts.push(if c == '\'' { Part::Literal(inner) } else { Part::Quoted(inner) });
                }
                '\\' => {
                    if !bare.is_empty() {
                        parts.push(Part::Bare(std::mem::take(&mut bare)));
                    }
                    parts.push(Part::Literal(chars.next().map(String::from).unwrap_or_default()));
                }
                _ => bare.push(c),
            }
        }
        if !bare.is_empty() {
            parts.push(Part::Bare(bare));
        }
        let word = Word(parts);
        if pattern {
            self.expand_pattern(&word)
        } else {
            self.expand(&word)
        }
    }

    /// `${NAME:offset}` and `${NAME:offset:length}`: both arithmetic; a
    /// negative offset counts from the end, a negative length too.
    fn substring(&mut self, value: &str, spec: &str) -> String {
        let (offset, length) = match spec.split_once(':') {
            Some((o, l)) => (o, Some(l)),
            None => (spec, None),
        };
        let chars: Vec<char> = value.chars().collect();
        let count = chars.len() as i64;
        let Some(offset) = self.arithmetic_operand(offset) else { return String::new() };
        let start = if offset < 0 { count + offset } else { offset };
        if start < 0 || start > count {
            return String::new();
        }
        let end = match length {
            None => count,
            Some(l) => {
                let Some(l) = self.arithmetic_operand(l) else { return String::new() };
                if l >= 0 {
                    start.saturating_add(l).min(count)
                } else if count + l < start {
                    let message = format!("{}: substring expression < 0", l);
                    self.expansion_error(&message);
                    return String::new();
                } else {
                    count + l
                }
            }
        };
        chars.get(start as usize..end as usize).map(|c| c.iter().collect()).unwrap_or_default()
    }

    /// An arithmetic word inside `${…}`; `None` after printing its error.
    fn arithmetic_operand(&mut self, text: &str) -> Option<i64> {
        let expanded = self.expand_text(text);
        if expanded.trim().is_empty() {
            return Some(0);
        }
        let flavor = self.flavor;
        match arithmetic(&expanded, flavor, self) {
            Ok(v) => Some(v),
            Err((error, token)) => {
                let message = error.message(flavor, &expanded, &token);
                self.expansion_error(&message);
                None
            }
        }
    }

    /// `${NAME/pattern/replacement}`: the first longest match replaced;
    /// `//` every match, `/#` one at the start, `/%` one at the end.
    fn replace_pattern(&mut self, value: &str, spec: &str) -> String {
        let (mode, spec) = match spec.chars().next() {
            Some(m @ ('/' | '#' | '%')) => (m, &spec[1..]),
            _ => (' ', spec),
        };
        let (pattern, replacement) = match split_unescaped(spec, '/') {
            Some((p, r)) => (p, r),
            None => (spec, ""),
        };
        let pattern = self.expand_operand(pattern, true);
        let replacement = self.expand_operand(replacement, false);
        if pattern.is_empty() {
            return value.to_string();
        }
        if !pattern.contains(['*', '?', '[']) {
            let replaced = match mode {
                '/' => value.replace(&pattern, &replacement),
                '#' => value.strip_prefix(pattern.as_str()).map_or_else(|| value.to_string(), |rest| format!("{replacement}{rest}")),
                '%' => value.strip_suffix(pattern.as_str()).map_or_else(|| value.to_string(), |rest| format!("{rest}{replacement}")),
                _ => value.replacen(&pattern, &replacement, 1),
            };
            return if replaced.len() > EXPANSION_LIMIT { value.to_string() } else { replaced };
        }
        let chars: Vec<char> = value.chars().collect();
        // Characters compared in all: past this, the rest is left as it is.
        let mut work = 0usize;
        let mut matches_at = |from: usize, anchored_end: bool| -> Option<usize> {
            // The longest match starting at `from`.
            let mut end = chars.len();
            loop {
                work += end - from + 1;
                if work > REPLACE_WORK_LIMIT {
                    return None;
                }
                let candidate: String = chars.get(from..end).map(|c| c.iter().collect()).unwrap_or_default();
                if wildcard(&pattern, &candidate) {
                    return Some(end);
                }
                if anchored_end || end == from {
                    return None;
                }
                end -= 1;
            }
        };
        let mut out = String::new();
        let mut i = 0;
        let mut replaced = false;
        while i <= chars.len() {
            let found = match mode {
                '#' if i > 0 => None,
                '%' => matches_at(i, true),
                _ if replaced && mode != '/' => None,
                _ => matches_at(i, false),
            };
            match found {
                Some(end) if end > i || mode == '#' || mode == '%' => {
                    out.push_str(&replacement);
                    replaced = true;
                    i = end;
                    if end == chars.len() || (mode != '/' && mode != ' ') {
                        out.extend(chars.get(i..).unwrap_or_default());
                        break;
                    }
                }
                _ => {
                    if let Some(c) = chars.get(i) {
                        out.push(*c);
                    }
                    i += 1;
                }
            }
            if out.len() > EXPANSION_LIMIT {
                break;
            }
        }
        out
    }

    /// A variable's value as an expansion reads it: `$RANDOM` (bash, ash)
    /// is a new number each time, `$PPID` the shell's parent.
    fn lookup(&mut self, name: &str) -> Option<String> {
        match name {
            "RANDOM" if self.flavor != Flavor::Dash => Some(self.next_random().to_string()),
            // The shell's parent is outside the container's process
            // namespace (containerd-shim, runc exec): the kernel shows 0.
            "PPID" => Some(self.var(name).unwrap_or_else(|| "0".to_string())),
            _ => self.var(name),
        }
    }

    /// bash's `$RANDOM` generator (variables.c `brand`: Park and Miller's
    /// minimal standard, 15 bits of it). A shell seeds it once from what
    /// it knows of itself: its pod, its process ID and the time, so each
    /// process has its own stream and a replay gives the same numbers.
    fn next_random(&mut self) -> u32 {
        let seed = match self.random_seed {
            Some(seed) => seed,
            None => {
                let mut hash: u32 = 0x811c_9dc5;
                let pod = &self.host.info.pod;
                let now = self.host.info.now.unwrap_or_default() as u64 ^ self.t;
                for byte in pod.uid.bytes().chain(pod.container.bytes()).chain(self.own_pid().to_le_bytes()).chain(now.to_le_bytes()) {
                    hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
                }
                hash
            }
        };
        let last = if seed == 0 { 123_459_876 } else { seed as i64 };
        let (high, low) = (last / 127_773, last % 127_773);
        let mut next = 16_807 * low - 2_836 * high;
        if next < 0 {
            next += 0x7fff_ffff;
        }
        let next = next as u32;
        self.random_seed = Some(next);
        ((next >> 16) ^ (next & 0xffff)) & 0x7fff
    }

    /// `$(…)`: the command's output without trailing newlines.
    fn substitute(&mut self, inner: &str) -> String {
        if self.mode == Mode::Timeline {
            // Read when the line is printed, not when the process starts.
            let words: Vec<&str> = inner.split_whitespace().collect();
            match words.as_slice() {
                ["date"] => return DATE_MARK.to_string(),
                ["cat", path] if !path.contains(['$', '*', '?', '\'', '"']) => {
                    return format!("{FILE_MARK_OPEN}{}{FILE_MARK_CLOSE}", normalize(&self.cwd, path));
                }
                _ => {}
            }
        }
        if self.depth >= DEPTH_LIMIT {
            return String::new();
        }
        let slot = self.captures.len();
        self.captures.push(String::new());
        let saved = std::mem::replace(&mut self.fd1, Dest::Capture(slot));
        // Time spent inside a substitution still passes.
        self.depth += 1;
        self.substitution_depth += 1;
        let flow = self.run_script(inner);
        self.substitution_depth -= 1;
        self.depth -= 1;
        self.substitutions += 1;
        self.expansion_failed = false;
        self.fd1 = saved;
        if let Flow::Status(s) | Flow::Exit(s) = flow {
            self.last = s;
        }
        let text = self.captures.pop().unwrap_or_default();
        text.trim_end_matches('\n').to_string()
    }

    /// Prints an expansion's error as the shell does and marks the command
    /// as not to be run.
    fn expansion_error(&mut self, message: &str) {
        let prefix = match self.flavor {
            Flavor::Bash => format!("bash: line {}:", self.line_no),
            _ => self.err_prefix(),
        };
        self.emit(2, &format!("{prefix} {message}\n"));
        self.expansion_failed = true;
    }

    /// After an expansion error: ash and dash leave a script with status 2
    /// (`exraise(EXERROR)`), bash drops the command with status 1; at a
    /// prompt the rest of the line is dropped and the shell goes on.
    fn expansion_failure(&mut self) -> Flow {
        self.expansion_failed = false;
        self.line_dropped = true;
        let status = if self.flavor == Flavor::Bash { 1 } else { 2 };
        self.last = status;
        Flow::Exit(status)
    }

    // ------------------------------------------------------- commands

    fn run_simple(&mut self, words: &[Word], redirects: &[Redirect], stdin: &str) -> Flow {
        let mut argv: Vec<String> = Vec::with_capacity(words.len());
        let mut total = 0;
        let mut leading_assignments = true;
        let substitutions_before = self.substitutions;
        for w in words {
            // An assignment's value is one field: it is neither split nor globbed.
            leading_assignments = leading_assignments && is_assignment_word(w);
            let fields = if leading_assignments { vec![self.expand(w)] } else { self.expand_fields(w) };
            if self.expansion_failed {
                return self.expansion_failure();
            }
            total += fields.iter().map(String::len).sum::<usize>();
            argv.extend(fields);
            if total > ARG_MAX {
                // execve's E2BIG: the kernel takes no more than this at once.
                let name = argv.first().cloned().unwrap_or_default();
                let line = format!("{} {name}: Argument list too long\n", self.err_prefix());
                self.emit(2, &line);
                return Flow::Status(126);
            }
        }
        // Leading assignments: for the shell, or for this command only.
        let mut assignments = Vec::new();
        while let Some(first) = argv.first() {
            match first.split_once('=') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.starts_with(|c: char| c.is_ascii_digit()) => {
                    assignments.push((k.to_string(), v.to_string()));
                    argv.remove(0);
                }
                _ => break,
            }
        }
        if self.xtrace {
            self.trace(&assignments, &argv);
        }
        if argv.is_empty() {
            for (k, v) in std::mem::take(&mut assignments) {
                self.set_var(&k, v);
            }
        }
        let (saved1, saved2) = (self.fd1.clone(), self.fd2.clone());
        let mut input = stdin.to_string();
        if let Err(flow) = self.apply_redirects(redirects, &mut input) {
            self.fd1 = saved1;
            self.fd2 = saved2;
            return flow;
        }
        let flow = if argv.is_empty() {
            // `x=$(cmd)` alone: the status of its last command substitution.
            Flow::Status(if self.substitutions > substitutions_before { self.last } else { 0 })
        } else if assignments.is_empty() {
            self.dispatch(&argv, &input)
        } else {
            // `A=1 cmd`: the variables are in cmd's environment only.
            let saved: Vec<(String, Option<String>)> = assignments.iter().map(|(k, _)| (k.clone(), self.exported.get(k).cloned())).collect();
            let before = self.resumable.then(|| self.exported.clone());
            for (k, v) in &assignments {
                self.exported.insert(k.clone(), v.clone());
            }
            let flow = self.dispatch(&argv, &input);
            if let (Flow::Suspend, Some(before)) = (&flow, before) {
                self.frames.push(Frame::Env(before));
                self.fd1 = saved1;
                self.fd2 = saved2;
                return flow;
            }
            for (k, old) in saved {
                match old {
                    Some(v) => {
                        self.exported.insert(k, v);
                    }
                    None => {
                        self.exported.shift_remove(&k);
                    }
                }
            }
            flow
        };
        self.fd1 = saved1;
        self.fd2 = saved2;
        flow
    }

    /// Points fd 1 and 2 where `redirects` say, and reads a `< file` into
    /// `input`; on a failure, the flow the command ends with (its caller
    /// puts the descriptors back).
    fn apply_redirects(&mut self, redirects: &[Redirect], input: &mut String) -> Result<(), Flow> {
        for r in redirects {
            let target = r.target.as_ref().map(|w| self.expand(w)).unwrap_or_default();
            if self.expansion_failed {
                return Err(self.expansion_failure());
            }
            match r.kind {
                RedirectKind::In => match cfs::read_file(self.host.files, &self.cwd, &target) {
                    Ok(content) => *input = content,
                    Err(e) => {
                        let line = match self.flavor {
                            Flavor::Ash => format!("sh: can't open '{target}': {}\n", e.message()),
                            Flavor::Dash => format!("sh: {}: cannot open {target}: {}\n", self.line_no, if e == Errno::NoEnt { "No such file" } else { e.message() }),
                            Flavor::Bash => format!("bash: {target}: {}\n", e.message()),
                        };
                        self.emit(2, &line);
                        return Err(Flow::Status(1));
                    }
                },
                RedirectKind::Dup(to) => {
                    let dest = if to == 2 { self.fd2.clone() } else { self.fd1.clone() };
                    if r.fd == 2 {
                        self.fd2 = dest;
                    } else {
                        self.fd1 = dest;
                    }
                }
                RedirectKind::Out | RedirectKind::Append | RedirectKind::Both => {
                    let dest = match target.as_str() {
                        "/dev/null" => Dest::Null,
                        "/dev/stdout" => self.fd1.clone(),
                        "/dev/stderr" => self.fd2.clone(),
                        _ => {
                            if r.kind != RedirectKind::Append {
                                let cwd = self.cwd.clone();
                                if let Err(e) = self.with_files(|f| cfs::write_file(f, &cwd, &target, "", false)) {
                                    let line = match self.flavor {
                                        Flavor::Ash => format!("sh: can't create {target}: {}\n", e.message()),
                                        Flavor::Dash => format!("sh: {}: cannot create {target}: {}\n", self.line_no, e.message()),
                                        Flavor::Bash => format!("bash: {target}: {}\n", e.message()),
                                    };
                                    self.emit(2, &line);
                                    return Err(Flow::Status(if self.flavor == Flavor::Dash { 2 } else { 1 }));
                                }
                            }
                            Dest::File(normalize(&self.cwd, &target))
                        }
                    };
                    if r.kind == RedirectKind::Both {
                        self.fd1 = dest.clone();
                        self.fd2 = dest;
                    } else if r.fd == 2 {
                        self.fd2 = dest;
                    } else {
                        self.fd1 = dest;
                    }
                }
            }
        }
        Ok(())
    }

    /// Finds the program an exec-form command names, as runc would.
    fn locate(&mut self, argv: &[String]) -> Result<String, StartError> {
        let Some(first) = argv.first() else { return Err(StartError::NotFound(String::new())) };
        if first.contains('/') {
            return match cfs::stat(self.host.files, &self.cwd, first) {
                Ok((_, i)) if i.is_dir() => Err(StartError::PermissionDenied(first.clone())),
                Ok(_) => Ok(first.clone()),
                Err(_) => Err(StartError::NoSuchFile(first.clone())),
            };
        }
        let path = self.exported.get("PATH").cloned().unwrap_or_else(|| DEFAULT_PATH.into());
        find_in_path(self.host.files, &path, first).ok_or_else(|| StartError::NotFound(first.clone()))
    }

    fn not_found(&mut self, name: &str) -> Flow {
        let line = match (self.flavor, name.contains('/')) {
            (Flavor::Ash, _) => format!("sh: {name}: not found\n"),
            (Flavor::Dash, _) => format!("sh: {}: {name}: not found\n", self.line_no),
            (Flavor::Bash, false) => format!("bash: {name}: command not found\n"),
            (Flavor::Bash, true) => format!("bash: {name}: No such file or directory\n"),
        };
        self.emit(2, &line);
        Flow::Status(127)
    }

    fn dispatch(&mut self, argv: &[String], stdin: &str) -> Flow {
        let Some(first) = argv.first() else { return Flow::Status(0) };
        let args: Vec<String> = argv[1..].to_vec();
        if let Some(body) = self.functions.0.get(first).cloned() {
            return self.call_function(body, argv, stdin);
        }
        if let Some(flow) = self.builtin(first, &args, stdin) {
            return flow;
        }
        // Everything else is a program on $PATH.
        let path_var = self.exported.get("PATH").cloned().unwrap_or_default();
        let found = if first.contains('/') {
            cfs::stat(self.host.files, &self.cwd, first).ok().filter(|(_, i)| !i.is_dir()).map(|(p, _)| p)
        } else {
            find_in_path(self.host.files, &path_var, first)
        };
        let Some(path) = found else { return self.not_found(first) };
        let name = file_name(&path).to_string();
        // A script file written in the container runs in a shell.
        if let Ok(content) = cfs::read_file(self.host.files, "/", &path) {
            if content.starts_with("#!") && !content.starts_with("#!/bin/sh\n# vim") && !["sh", "bash", "ash", "dash"].contains(&name.as_str()) {
                let body = content.lines().skip(1).collect::<Vec<_>>().join("\n");
                let saved = std::mem::replace(&mut self.positional, argv.to_vec());
                self.depth += 1;
                let flow = if self.depth < DEPTH_LIMIT { self.run_script(&body) } else { Flow::Status(2) };
                self.depth -= 1;
                if matches!(flow, Flow::Suspend) {
                    self.frames.push(Frame::Shell { positional: saved, exported: None, flavor: self.flavor, errexit: None });
                    return flow;
                }
                self.positional = saved;
                return match flow {
                    Flow::Exit(s) | Flow::Return(s) => Flow::Status(s),
                    f => f,
                };
            }
        }
        match name.as_str() {
            "sh" | "bash" | "ash" | "dash" => return self.nested_shell(&name, &args, stdin),
            "sleep" => return self.sleep(&args),
            "env" if args.iter().any(|a| !a.starts_with('-') && !a.contains('=')) => return self.env_command(&args, stdin),
            "xargs" => return self.xargs(&args, stdin),
            "find" => return self.find(&args),
            "tail" if self.mode == Mode::Timeline && args.iter().any(|a| a == "-f" || a == "-F") => return Flow::Forever,
            "cat" if self.mode == Mode::Timeline && !args.is_empty() && self.fd1 == Dest::Top(1) && args.iter().all(|a| !a.starts_with('-')) => {
                // Printed to the log: read the files when it happens.
                let paths = args.iter().map(|a| normalize(&self.cwd, a)).collect();
                let busybox = self.toolkit() == Toolkit::Busybox;
                self.effects.push(Timed { at_ms: self.t, effect: Effect::Cat { paths, busybox } });
                return Flow::Status(0);
            }
            _ => {}
        }
        if let Some(flow) = self.external(argv, stdin) {
            return flow;
        }
        if commands::provides(&name) {
            return self.program(&name, &args, stdin);
        }
        if NETWORK_PROGRAMS.contains(&name.as_str()) {
            // Nothing connects this shell to the network (or not this program).
            let line = if self.host.external.is_some() {
                format!("{name}: not simulated: the network programs here are wget, curl, nc, nslookup, ping and redis-cli\n")
            } else {
                format!("{name}: network is unreachable\n")
            };
            self.emit(2, &line);
            return Flow::Status(1);
        }
        self.image_program(&name, &args)
    }

    fn external(&mut self, argv: &[String], stdin: &str) -> Option<Flow> {
        let now_ms = match self.mode {
            Mode::Live => self.host.info.now.map(|s| ((s - crate::engine::api::meta::EPOCH_SECONDS).max(0) as u64) * 1000),
            Mode::Timeline => None,
        };
        let ext = self.host.external.take()?;
        let (env, cwd, info, elapsed_ms, background_pid) = (self.exported.clone(), self.cwd.clone(), self.host.info, self.t, self.background_job);
        // Through `with_files`, so that files a main process's tool writes are in its timeline.
        let (ext, result) = self.with_files(move |files| {
            let mut call = ExternalCall { argv, stdin, env: &env, cwd: &cwd, files, pod: &info.pod, now_ms, elapsed_ms, background_pid };
            let result = ext.run(&mut call);
            (ext, result)
        });
        self.host.external = Some(ext);
        let result = result?;
        if self.mode == Mode::Timeline {
            if result.suspend {
                return Some(Flow::Forever);
            }
            self.t = self.t.saturating_add(result.took_ms);
        }
        for (fd, text) in &result.output {
            self.emit(*fd, text);
        }
        Some(Flow::Status(result.status))
    }

    /// The shell's own `printf`: bash's, dash's or busybox's words, and
    /// their order. bash writes a pass of the format once it is done, its
    /// errors first; dash all its output at the end; busybox flushes
    /// before each error.
    fn printf(&mut self, args: &[String]) -> Flow {
        use commands::PrintfDialect;
        let dialect = match self.flavor {
            Flavor::Bash => PrintfDialect::Bash,
            Flavor::Dash => PrintfDialect::Dash,
            Flavor::Ash => PrintfDialect::Busybox,
        };
        let prefix = match self.flavor {
            Flavor::Bash => "bash: ".to_string(),
            Flavor::Dash => format!("sh: {}: ", self.line_no),
            Flavor::Ash => String::new(),
        };
        let mut args = args;
        let mut into_variable = None;
        match args.first().map(String::as_str) {
            Some("--") => args = &args[1..],
            Some("-v") if self.flavor == Flavor::Bash && args.len() > 1 => {
                into_variable = Some(args[1].clone());
                args = &args[2..];
            }
            Some(option) if option.len() > 1 && option.starts_with('-') && self.flavor != Flavor::Ash => {
                let line = match self.flavor {
                    Flavor::Bash => format!("bash: printf: {option}: invalid option\nprintf: usage: printf [-v var] format [arguments]\n"),
                    _ => format!("{prefix}printf: Illegal option {option}\n"),
                };
                self.emit(2, &line);
                return Flow::Status(2);
            }
            _ => {}
        }
        let Some(format) = args.first() else {
            let (line, status) = match self.flavor {
                Flavor::Bash => ("printf: usage: printf [-v var] format [arguments]\n".to_string(), 2),
                Flavor::Dash => (format!("{prefix}printf: usage: printf format [arg ...]\n"), 2),
                Flavor::Ash => ("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: printf FORMAT [ARG]...\n".to_string(), 1),
            };
            self.emit(2, &line);
            return Flow::Status(status);
        };
        let printed = commands::printf_format(format, &args[1..], dialect);
        let mut status = 0;
        let mut problems: Vec<(usize, usize, String)> = Vec::new();
        for (at, pass, problem) in &printed.problems {
            let (text, ends) = commands::printf_problem_text(problem, dialect);
            problems.push((*at, *pass, format!("{prefix}{text}\n")));
            if ends {
                status = if self.flavor == Flavor::Dash { 2 } else { 1 };
                break;
            }
            if !matches!(problem, commands::PrintfProblem::OutOfRange(_)) || self.flavor != Flavor::Bash {
                status = 1;
            }
        }
        if let Some(name) = into_variable {
            for (_, _, line) in &problems {
                self.emit(2, line);
            }
            self.set_var(&name, printed.out);
            return Flow::Status(status);
        }
        match self.flavor {
            // All the output at the end.
            Flavor::Dash => {
                for (_, _, line) in &problems {
                    self.emit(2, line);
                }
                self.emit(1, &printed.out);
            }
            // Each pass once it is done, after its errors.
            Flavor::Bash => {
                let mut from = 0;
                let ends = printed.passes.iter().copied().chain([printed.out.len()]);
                for (pass, end) in ends.enumerate() {
                    for (_, _, line) in problems.iter().filter(|(_, p, _)| *p == pass) {
                        self.emit(2, line);
                    }
                    let end = end.max(from);
                    self.emit(1, printed.out.get(from..end).unwrap_or(""));
                    from = end;
                }
            }
            // Flushed before each error.
            Flavor::Ash => {
                let mut from = 0;
                for (at, _, line) in &problems {
                    let at = (*at).max(from);
                    self.emit(1, printed.out.get(from..at).unwrap_or(""));
                    self.emit(2, line);
                    from = at;
                }
                self.emit(1, printed.out.get(from..).unwrap_or(""));
            }
        }
        Flow::Status(status)
    }

    fn program(&mut self, name: &str, args: &[String], stdin: &str) -> Flow {
        let cwd = self.cwd.clone();
        let exported = self.exported.clone();
        let info = self.host.info;
        let (out, err, err_marks, status) = self.with_files(|files| {
            let mut cmd = Cmd { name, args, stdin, out: String::new(), err: String::new(), err_marks: Vec::new(), files, cwd: &cwd, env: &exported, info };
            let status = if name == "echo" && (info.base == Base::Debian) { commands::dash_echo(&mut cmd) } else { commands::run(&mut cmd) };
            (cmd.out, cmd.err, cmd.err_marks, status)
        });
        for (fd, text) in commands::written_in_order(&out, &err, &err_marks) {
            self.emit(fd, text);
        }
        Flow::Status(status)
    }

    /// The image's own software (`nginx`, `redis-server`, `node`) run by hand.
    fn image_program(&mut self, name: &str, args: &[String]) -> Flow {
        let version = args.first().is_some_and(|a| matches!(a.as_str(), "-v" | "-V" | "--version" | "version"));
        if version {
            let v = |k: &str, fallback: &str| self.var(k).filter(|x| !x.is_empty()).unwrap_or_else(|| fallback.to_string());
            let text = match name {
                "nginx" => Some((2, format!("nginx version: nginx/{}\n", v("NGINX_VERSION", "1.29.0")))),
                "node" => Some((1, format!("v{}\n", v("NODE_VERSION", "7.10.1")))),
                "redis-server" => Some((1, format!("Redis server v={} sha=00000000:1 malloc=jemalloc-5.3.0 bits=64 build=ad5ac0d9af3d2b6b\n", v("REDIS_VERSION", "8.0.2")))),
                "httpd" => Some((1, format!("Server version: Apache/{} (Unix)\nServer built:   Apr 10 2025 00:00:00\n", v("HTTPD_VERSION", "2.4.63")))),
                _ => None,
            };
            if let Some((fd, text)) = text {
                self.emit(fd, &text);
                return Flow::Status(0);
            }
        }
        self.emit(2, &format!("{name}: runs only as the container's main process in this simulation\n"));
        Flow::Status(1)
    }

    fn sleep(&mut self, args: &[String]) -> Flow {
        let mut total: u64 = 0;
        if args.is_empty() {
            let line = if self.toolkit() == Toolkit::Busybox { "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: sleep [N]...\n" } else { "sleep: missing operand\nTry 'sleep --help' for more information.\n" };
            self.emit(2, line);
            return Flow::Status(1);
        }
        for a in args {
            if a == "infinity" || a == "inf" {
                return match self.mode {
                    Mode::Timeline => Flow::Forever,
                    Mode::Live => Flow::Status(130),
                };
            }
            match parse_sleep_ms(a) {
                Some(ms) => total = total.saturating_add(ms),
                None => {
                    let line = if self.toolkit() == Toolkit::Busybox { format!("sleep: invalid number '{a}'\n") } else { format!("sleep: invalid time interval '{a}'\nTry 'sleep --help' for more information.\n") };
                    self.emit(2, &line);
                    return Flow::Status(1);
                }
            }
        }
        self.slept_ms = self.slept_ms.saturating_add(total);
        if self.mode == Mode::Timeline {
            self.t = self.t.saturating_add(total);
        }
        Flow::Status(0)
    }

    fn env_command(&mut self, args: &[String], stdin: &str) -> Flow {
        let mut rest = args;
        let clear = rest.first().is_some_and(|a| a == "-i" || a == "-");
        if clear {
            rest = &rest[1..];
        }
        let saved = self.exported.clone();
        if clear {
            self.exported.clear();
        }
        while let Some((k, v)) = rest.first().and_then(|a| a.split_once('=')) {
            self.exported.insert(k.to_string(), v.to_string());
            rest = &rest[1..];
        }
        let flow = self.dispatch(rest, stdin);
        if matches!(flow, Flow::Suspend) {
            self.frames.push(Frame::Env(saved));
            return flow;
        }
        self.exported = saved;
        flow
    }

    /// `xargs [-r] [-0] [-n N] [-I REPLACE] [COMMAND [ARG]…]`: runs the
    /// command (`echo` when none) with the input's items as more arguments.
    /// Items are split on blanks and line breaks, with quotes and
    /// backslashes read as findutils and busybox read them; `-I` takes each
    /// line whole and puts it in place of REPLACE. The status is 123 when
    /// a run failed, 127 when the command was not found, 126 when it could
    /// not run, as findutils gives it.
    fn xargs(&mut self, args: &[String], stdin: &str) -> Flow {
        let busybox = self.toolkit() == Toolkit::Busybox;
        let (mut per_run, mut replace, mut skip_empty, mut nul) = (None::<usize>, None::<String>, false, false);
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            let value = |i: &mut usize| -> Option<String> {
                *i += 1;
                args.get(*i).cloned()
            };
            match a {
                "-r" | "--no-run-if-empty" => skip_empty = true,
                "-0" | "--null" => nul = true,
                "-n" | "-I" | "-L" => {
                    let Some(v) = value(&mut i) else {
                        let line = if busybox { format!("xargs: option requires an argument -- '{}'\n", &a[1..]) } else { format!("xargs: option requires an argument -- '{}'\nUsage: xargs [OPTION]... COMMAND [INITIAL-ARGS]...\nRun COMMAND with arguments INITIAL-ARGS and more arguments read from input.\n\nMandatory and optional arguments to long options are also\nmandatory or optional for the corresponding short option.\n", &a[1..]) };
                        self.emit(2, &line);
                        return Flow::Status(1);
                    };
                    if a == "-I" {
                        replace = Some(v);
                    } else {
                        match v.parse::<usize>() {
                            Ok(n) if n > 0 => per_run = Some(n),
                            _ => {
                                let line = if busybox { format!("xargs: invalid number '{v}'\n") } else { format!("xargs: invalid number \"{v}\" for -{} option\nTry 'xargs --help' for more information.\n", &a[1..]) };
                                self.emit(2, &line);
                                return Flow::Status(1);
                            }
                        }
                    }
                }
                _ if a.starts_with("-n") && a.len() > 2 => per_run = a[2..].parse().ok().filter(|n| *n > 0).or(per_run),
                _ if a.starts_with("-I") && a.len() > 2 => replace = Some(a[2..].to_string()),
                "--" => {
                    i += 1;
                    break;
                }
                _ if a.starts_with('-') && a.len() > 1 => {
                    let line = if busybox { format!("xargs: unrecognized option '{a}'\n") } else { format!("xargs: invalid option -- '{}'\nUsage: xargs [OPTION]... COMMAND [INITIAL-ARGS]...\nRun COMMAND with arguments INITIAL-ARGS and more arguments read from input.\n\nMandatory and optional arguments to long options are also\nmandatory or optional for the corresponding short option.\n", a.chars().nth(1).unwrap_or('-')) };
                    self.emit(2, &line);
                    return Flow::Status(1);
                }
                _ => break,
            }
            i += 1;
        }
        let command: Vec<String> = if i < args.len() { args[i..].to_vec() } else { vec!["echo".to_string()] };
        let items: Vec<String> = if replace.is_some() {
            stdin.lines().map(|l| l.trim_start().to_string()).filter(|l| !l.is_empty()).collect()
        } else if nul {
            stdin.split('\0').filter(|s| !s.is_empty()).map(str::to_string).collect()
        } else {
            match xargs_items(stdin) {
                Ok(items) => items,
                Err(quote) => {
                    let line = if busybox { "xargs: unmatched quote\n".to_string() } else { format!("xargs: unmatched {quote} quote; by default quotes are special to xargs unless you use the -0 option\n") };
                    self.emit(2, &line);
                    return Flow::Status(1);
                }
            }
        };
        let runs: Vec<Vec<String>> = match &replace {
            Some(r) => items.iter().map(|item| command.iter().map(|w| w.replace(r.as_str(), item)).collect()).collect(),
            None if items.is_empty() => if skip_empty { Vec::new() } else { vec![command.clone()] },
            None => items.chunks(per_run.unwrap_or(usize::MAX).min(items.len().max(1))).map(|chunk| command.iter().cloned().chain(chunk.iter().cloned()).collect()).collect(),
        };
        let mut status = 0;
        for argv in runs {
            match self.dispatch(&argv, "") {
                Flow::Status(0) => {}
                Flow::Status(127) => return Flow::Status(127),
                Flow::Status(126) => return Flow::Status(126),
                Flow::Status(_) => status = 123,
                other => return other,
            }
        }
        Flow::Status(status)
    }

    /// `find`, its `-exec` commands run by this shell as it goes.
    fn find(&mut self, args: &[String]) -> Flow {
        struct ShellFind<'s, 'h> {
            shell: &'s mut Shell<'h>,
            /// How a command that did not end left the shell.
            ended: Option<Flow>,
        }
        impl super::find::FindHost for ShellFind<'_, '_> {
            fn busybox(&self) -> bool {
                self.shell.toolkit() == Toolkit::Busybox
            }
            fn lstat(&mut self, path: &str) -> Result<Inode, Errno> {
                let cwd = self.shell.cwd.clone();
                self.shell.with_files(|f| cfs::lstat(f, &cwd, path).map(|(_, i)| i))
            }
            fn entries(&mut self, path: &str) -> Result<Vec<(String, Inode)>, Errno> {
                let cwd = self.shell.cwd.clone();
                self.shell.with_files(|f| cfs::list_dir(f, &cwd, path))
            }
            fn remove(&mut self, path: &str) -> Result<(), Errno> {
                let cwd = self.shell.cwd.clone();
                self.shell.with_files(|f| cfs::remove(f, &cwd, path, false, true))
            }
            fn exec(&mut self, argv: &[String]) -> Option<i32> {
                match self.shell.dispatch(argv, "") {
                    Flow::Status(s) | Flow::Exit(s) | Flow::Return(s) => Some(s),
                    Flow::Break(_) | Flow::Continue(_) => Some(0),
                    ended => {
                        self.ended = Some(ended);
                        None
                    }
                }
            }
            fn spend(&mut self, steps: usize) -> bool {
                self.shell.steps += steps;
                if self.shell.steps > STEP_BUDGET {
                    self.ended = Some(Flow::Forever);
                    return false;
                }
                true
            }
            fn out(&mut self, text: &str) {
                self.shell.emit(1, text);
            }
            fn err(&mut self, text: &str) {
                self.shell.emit(2, text);
            }
        }
        let mut host = ShellFind { shell: self, ended: None };
        match super::find::run(&mut host, args) {
            Some(status) => Flow::Status(status),
            None => host.ended.unwrap_or(Flow::Status(1)),
        }
    }

    fn nested_shell(&mut self, name: &str, args: &[String], stdin: &str) -> Flow {
        let saved_flavor = self.flavor;
        let saved_env = self.exported.clone();
        // A child shell starts without the parent's `set -e` and traps.
        let saved_errexit = (std::mem::take(&mut self.errexit), std::mem::take(&mut self.errexit_ignored), self.exit_trap.take());
        self.flavor = Flavor::of(name, self.host.info.base);
        let cwd = self.cwd.clone();
        shell_start_env(self.flavor, &mut self.exported, &cwd);
        let mut rest = args;
        while rest.first().is_some_and(|a| a.starts_with('-') && a != "-c" && a.len() > 1 && !a.contains('c')) {
            rest = &rest[1..];
        }
        let flow = if rest.first().is_some_and(|a| a == "-c" || (a.starts_with('-') && a.contains('c'))) {
            let script = rest.get(1).cloned().unwrap_or_default();
            let positional: Vec<String> = rest.iter().skip(2).cloned().collect();
            let positional = if positional.is_empty() { vec![name.to_string()] } else { positional };
            let saved = std::mem::replace(&mut self.positional, positional);
            self.depth += 1;
            let flow = if self.depth < DEPTH_LIMIT { self.run_script(&script) } else { Flow::Status(2) };
            self.depth -= 1;
            if matches!(flow, Flow::Suspend) {
                self.frames.push(Frame::Shell { positional: saved, exported: Some(saved_env), flavor: saved_flavor, errexit: Some(saved_errexit) });
                return flow;
            }
            self.positional = saved;
            flow
        } else if let Some(file) = rest.first() {
            match cfs::read_file(self.host.files, &self.cwd, file) {
                Ok(script) => {
                    let saved = std::mem::replace(&mut self.positional, rest.to_vec());
                    self.depth += 1;
                    let flow = if self.depth < DEPTH_LIMIT { self.run_script(&script) } else { Flow::Status(2) };
                    self.depth -= 1;
                    if matches!(flow, Flow::Suspend) {
                        self.frames.push(Frame::Shell { positional: saved, exported: Some(saved_env), flavor: saved_flavor, errexit: Some(saved_errexit) });
                        return flow;
                    }
                    self.positional = saved;
                    flow
                }
                Err(_) => {
                    let line = match self.flavor {
                        Flavor::Ash => format!("sh: can't open '{file}': No such file or directory\n"),
                        Flavor::Dash => format!("sh: 0: cannot open {file}: No such file\n"),
                        Flavor::Bash => format!("bash: {file}: No such file or directory\n"),
                    };
                    self.emit(2, &line);
                    Flow::Status(if self.flavor == Flavor::Bash { 127 } else { 2 })
                }
            }
        } else if !stdin.is_empty() {
            // A shell reading its script from stdin.
            self.depth += 1;
            self.pinned += 1;
            let flow = if self.depth < DEPTH_LIMIT { self.run_script(stdin) } else { Flow::Status(2) };
            self.pinned -= 1;
            self.depth -= 1;
            flow
        } else {
            // A shell with no script and nothing on stdin reads nothing and exits.
            Flow::Status(0)
        };
        let flow = self.run_exit_trap(flow);
        (self.errexit, self.errexit_ignored, self.exit_trap) = saved_errexit;
        self.flavor = saved_flavor;
        // A child shell's variables die with it.
        self.exported = saved_env;
        match flow {
            Flow::Exit(s) | Flow::Return(s) => Flow::Status(s),
            f => f,
        }
    }

    /// The shell's own commands; `None` for programs on $PATH.
    fn builtin(&mut self, name: &str, args: &[String], stdin: &str) -> Option<Flow> {
        Some(match name {
            ":" | "true" => Flow::Status(0),
            "false" => Flow::Status(1),
            "trap" | "wait" | "set" if args.is_empty() && name == "set" => {
                let mut lines: Vec<String> = self.exported.iter().chain(self.locals.iter()).map(|(k, v)| format!("{k}='{v}'")).collect();
                lines.sort_stable();
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                self.emit(1, &text);
                Flow::Status(0)
            }
            "set" => {
                let mut rest = args;
                let mut dashdash = false;
                while let Some(flag) = rest.first() {
                    if flag == "--" {
                        rest = &rest[1..];
                        dashdash = true;
                        break;
                    }
                    let Some(sign) = flag.chars().next().filter(|c| matches!(c, '-' | '+')) else { break };
                    if flag == "-o" || flag == "+o" {
                        match rest.get(1).map(String::as_str) {
                            Some("errexit") => self.errexit = sign == '-',
                            Some("xtrace") => self.xtrace = sign == '-',
                            _ => {}
                        }
                        rest = rest.get(2..).unwrap_or(&[]);
                        continue;
                    }
                    if flag.contains('e') {
                        self.errexit = sign == '-';
                    }
                    if flag.contains('x') {
                        self.xtrace = sign == '-';
                    }
                    rest = &rest[1..];
                }
                // `set -- a b` or `set a b`: new positional parameters.
                if dashdash || !rest.is_empty() {
                    let zero = self.positional.first().cloned().unwrap_or_default();
                    self.positional = std::iter::once(zero).chain(rest.iter().cloned()).collect();
                }
                Flow::Status(0)
            }
            "trap" => {
                // `trap CMD EXIT` (or 0) is kept to run at the shell's exit;
                // `trap - EXIT` or `trap '' EXIT` forgets it. Signals are not
                // sent to the model's shells: their traps are kept for nothing.
                if let [command, signals @ ..] = args {
                    if signals.iter().any(|s| matches!(s.as_str(), "EXIT" | "0" | "exit" | "SIGEXIT")) {
                        self.exit_trap = (command != "-" && !command.is_empty()).then(|| command.clone());
                    }
                }
                Flow::Status(0)
            }
            "wait" | "hash" | "alias" => Flow::Status(0),
            // Files are made as under containerd's mask, 0022: it can be
            // read and named again, not changed.
            "umask" => match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                [] => {
                    self.emit(1, "0022\n");
                    Flow::Status(0)
                }
                ["-S"] => {
                    self.emit(1, "u=rwx,g=rx,o=rx\n");
                    Flow::Status(0)
                }
                ["022" | "0022" | "u=rwx,g=rx,o=rx"] | ["-S", "022" | "0022" | "u=rwx,g=rx,o=rx"] => Flow::Status(0),
                _ => {
                    let line = format!("{} umask: changing the mask is not simulated: files are made as under 0022\n", self.err_prefix());
                    self.emit(2, &line);
                    Flow::Status(1)
                }
            },
            // No limit is enforced here; the file size one is unlimited in a container too.
            "ulimit" => match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                [] | ["-f"] => {
                    self.emit(1, "unlimited\n");
                    Flow::Status(0)
                }
                _ => {
                    let line = format!("{} ulimit: {} is not simulated: only the file size limit (-f, unlimited) is shown\n", self.err_prefix(), args.join(" "));
                    self.emit(2, &line);
                    Flow::Status(1)
                }
            },
            "cd" => {
                let target = match args.first().map(String::as_str) {
                    None | Some("~") => self.var("HOME").unwrap_or_else(|| "/root".into()),
                    Some("-") => self.var("OLDPWD").unwrap_or_else(|| self.cwd.clone()),
                    Some(t) => t.to_string(),
                };
                match cfs::stat(self.host.files, &self.cwd, &target) {
                    Ok((_, i)) if i.is_dir() => {
                        let fresh = normalize(&self.cwd, &target);
                        let old = std::mem::replace(&mut self.cwd, fresh);
                        self.set_var("OLDPWD", old);
                        let cwd = self.cwd.clone();
                        self.set_var("PWD", cwd);
                        Flow::Status(0)
                    }
                    result => {
                        let why = match result {
                            Ok(_) => "Not a directory",
                            Err(e) => e.message(),
                        };
                        let line = match self.flavor {
                            Flavor::Ash => format!("sh: cd: can't cd to {target}: {why}\n"),
                            Flavor::Dash => format!("sh: {}: cd: can't cd to {target}\n", self.line_no),
                            Flavor::Bash => format!("bash: cd: {target}: {why}\n"),
                        };
                        self.emit(2, &line);
                        Flow::Status(if self.flavor == Flavor::Dash { 2 } else { 1 })
                    }
                }
            }
            "pwd" => {
                let cwd = format!("{}\n", self.cwd);
                self.emit(1, &cwd);
                Flow::Status(0)
            }
            "export" => {
                for a in args {
                    match a.split_once('=') {
                        Some((k, v)) => {
                            self.locals.remove(k);
                            self.exported.insert(k.to_string(), v.to_string());
                        }
                        None => {
                            let v = self.locals.remove(a.as_str()).unwrap_or_default();
                            self.exported.entry(a.clone()).or_insert(v);
                        }
                    }
                }
                Flow::Status(0)
            }
            "unset" => {
                for a in args {
                    self.locals.remove(a.as_str());
                    self.exported.shift_remove(a.as_str());
                }
                Flow::Status(0)
            }
            "exit" => Flow::Exit(args.first().and_then(|a| a.parse::<i32>().ok()).map_or(self.last, |c| c & 0xff)),
            "return" => {
                let outside = self.function_locals.is_empty() && self.sourcing == 0;
                let status = match args.first().map(|a| (a, a.parse::<i64>())) {
                    None => self.last,
                    Some((_, Ok(n))) if n >= 0 || self.flavor == Flavor::Bash => (n & 0xff) as i32,
                    Some((a, _)) => {
                        let line = match self.flavor {
                            Flavor::Ash => format!("sh: return: line {}: Illegal number: {a}\n", self.line_no),
                            Flavor::Dash => format!("sh: {}: return: Illegal number: {a}\n", self.line_no),
                            Flavor::Bash => format!("{} return: {a}: numeric argument required\n", self.builtin_prefix()),
                        };
                        self.emit(2, &line);
                        // ash and dash: an error in a special builtin ends the script.
                        if self.flavor != Flavor::Bash {
                            self.line_dropped = true;
                            return Some(Flow::Exit(2));
                        }
                        2
                    }
                };
                if outside && self.flavor == Flavor::Bash {
                    let line = format!("{} return: can only `return' from a function or sourced script\n", self.builtin_prefix());
                    self.emit(2, &line);
                    return Some(Flow::Status(1));
                }
                // Outside a function ash and dash leave the script, as ksh does.
                Flow::Return(status)
            }
            "local" => {
                let Some(hidden) = self.function_locals.last().map(|h| h.iter().map(|(n, _, _)| n.clone()).collect::<Vec<_>>()) else {
                    let line = match self.flavor {
                        Flavor::Ash => format!("sh: local: line {}: not in a function\n", self.line_no),
                        Flavor::Dash => format!("sh: {}: local: not in a function\n", self.line_no),
                        Flavor::Bash => format!("{} local: can only be used in a function\n", self.builtin_prefix()),
                    };
                    self.emit(2, &line);
                    // dash's and ash's `sh_error` ends a script (a prompt's line); bash goes on.
                    self.line_dropped = self.flavor != Flavor::Bash;
                    return Some(if self.flavor == Flavor::Bash { Flow::Status(1) } else { Flow::Exit(2) });
                };
                for a in args {
                    let (name, value) = match a.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (a.clone(), None),
                    };
                    if !hidden.contains(&name) {
                        let before = (name.clone(), self.locals.get(&name).cloned(), self.exported.get(&name).cloned());
                        if let Some(frame) = self.function_locals.last_mut() {
                            frame.push(before);
                        }
                    }
                    // `local x` keeps x's value in ash and dash, unsets it in bash.
                    match value {
                        Some(v) => self.set_var(&name, v),
                        None if self.flavor == Flavor::Bash => {
                            self.locals.remove(&name);
                            self.exported.shift_remove(&name);
                        }
                        None => {}
                    }
                }
                Flow::Status(0)
            }
            "break" => Flow::Break(args.first().and_then(|a| a.parse().ok()).unwrap_or(1).max(1)),
            "continue" => Flow::Continue(args.first().and_then(|a| a.parse().ok()).unwrap_or(1).max(1)),
            "shift" => {
                let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1);
                for _ in 0..n.min(self.positional.len().saturating_sub(1)) {
                    self.positional.remove(1);
                }
                Flow::Status(0)
            }
            "exec" => {
                if args.is_empty() {
                    return Some(Flow::Status(0));
                }
                match self.dispatch(args, stdin) {
                    Flow::Status(s) => Flow::Exit(s),
                    Flow::Suspend => {
                        self.frames.push(Frame::Exec);
                        Flow::Suspend
                    }
                    f => f,
                }
            }
            "eval" => {
                let script = args.join(" ");
                if self.depth >= DEPTH_LIMIT {
                    return Some(Flow::Status(2));
                }
                self.depth += 1;
                self.pinned += 1;
                let flow = self.run_script(&script);
                self.pinned -= 1;
                self.depth -= 1;
                flow
            }
            "." | "source" => {
                let Some(file) = args.first() else { return Some(Flow::Status(2)) };
                match cfs::read_file(self.host.files, &self.cwd, file) {
                    Ok(script) if self.depth < DEPTH_LIMIT => {
                        self.depth += 1;
                        self.pinned += 1;
                        self.sourcing += 1;
                        let flow = self.run_script(&script);
                        self.sourcing -= 1;
                        self.pinned -= 1;
                        self.depth -= 1;
                        match flow {
                            Flow::Return(s) if self.function_locals.is_empty() => Flow::Status(s),
                            f => f,
                        }
                    }
                    _ => {
                        let line = format!("{} .: {file}: not found\n", self.err_prefix());
                        self.emit(2, &line);
                        Flow::Status(2)
                    }
                }
            }
            "read" => {
                let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                let source = if stdin.is_empty() { std::mem::take(&mut self.top_stdin) } else { stdin.to_string() };
                let Some((line, rest)) = source.split_once('\n').map(|(l, r)| (l.to_string(), r.to_string())).or_else(|| (!source.is_empty()).then(|| (source.clone(), String::new()))) else {
                    return Some(Flow::Status(1));
                };
                if stdin.is_empty() {
                    self.top_stdin = rest;
                }
                let mut fields: Vec<&str> = line.split_whitespace().collect();
                for (i, n) in names.iter().enumerate() {
                    let value = if i + 1 == names.len() { fields.split_off(0.min(fields.len())).join(" ") } else if fields.is_empty() { String::new() } else { fields.remove(0).to_string() };
                    self.set_var(n, value);
                }
                if names.is_empty() {
                    self.set_var("REPLY", line);
                }
                Flow::Status(0)
            }
            "type" | "command" if name == "type" || args.first().is_some_and(|a| a == "-v") => {
                let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                let path_var = self.exported.get("PATH").cloned().unwrap_or_default();
                let mut status = 0;
                for n in names {
                    let shell_builtin = matches!(n.as_str(), "cd" | "export" | "unset" | "exit" | "exec" | "set" | "shift" | "read" | "eval" | "." | "trap" | "wait" | "echo" | "printf" | "pwd" | "true" | "false" | "test" | "[");
                    let text = if shell_builtin {
                        if name == "type" { format!("{n} is a shell builtin\n") } else { format!("{n}\n") }
                    } else if let Some(p) = find_in_path(self.host.files, &path_var, n) {
                        if name == "type" { format!("{n} is {p}\n") } else { format!("{p}\n") }
                    } else {
                        status = 1;
                        if name == "type" { format!("{n}: not found\n") } else { String::new() }
                    };
                    self.emit(1, &text);
                }
                Flow::Status(status)
            }
            // Shells carry these themselves, whatever /bin holds.
            // The learner's machine keeps its jobs (`kubectl proxy &`) outside the shell.
            "kill" | "jobs" if self.host.external.is_some() => {
                let argv: Vec<String> = std::iter::once(name.to_string()).chain(args.iter().cloned()).collect();
                match self.external(&argv, stdin) {
                    Some(flow) => flow,
                    None if name == "jobs" => Flow::Status(0),
                    None => return Some(self.program(name, args, stdin)),
                }
            }
            "printf" => self.printf(args),
            "echo" | "test" | "[" | "kill" => return Some(self.program(name, args, stdin)),
            _ => return None,
        })
    }
}

/// A syntax error in dash's words: the token first, a plain word as
/// `word` (parser.c `synexpect`: `"%s unexpected (expecting %s)"`).
fn dash_syntax_error(error: &str) -> String {
    let Some(rest) = error.strip_prefix("unexpected ") else { return error.to_string() };
    let (token, expecting) = match rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
        Some((token, tail)) => (token, tail),
        None => match rest.split_once(' ') {
            Some((token, tail)) => (token, tail),
            None => (rest, ""),
        },
    };
    let expecting = if expecting.is_empty() || expecting.starts_with(' ') { expecting.to_string() } else { format!(" {expecting}") };
    let named = RESERVED_WORDS.contains(&token) || token == "end of file" || token.chars().all(|c| "&|;()<>".contains(c));
    if named && token != "end of file" {
        format!("\"{token}\" unexpected{expecting}")
    } else if named {
        format!("end of file unexpected{expecting}")
    } else {
        format!("word unexpected{expecting}")
    }
}

/// `text` split at the first `sep` not after a backslash.
fn split_unescaped(text: &str, sep: char) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            return Some((&text[..i], &text[i + c.len_utf8()..]));
        }
    }
    None
}

/// Whether `name` matches a glob with `*`, `?` and `[…]`.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // The element at the start of `p` (not `*`) against `c`: whether it
    // matches, and how many pattern characters it spans.
    fn element(p: &[char], c: char) -> (bool, usize) {
        match p.first() {
            Some('?') => (true, 1),
            Some('[') => {
                let Some(close) = p.iter().position(|c| *c == ']') else { return (c == '[', 1) };
                let set = &p[1..close];
                let (negate, set) = match set.first() {
                    Some('!' | '^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                (hit != negate, close + 1)
            }
            Some(&x) => (x == c, 1),
            None => (false, 0),
        }
    }
    // Greedy, going back only to the last `*` (what it matched grows by
    // one): time proportional to pattern times name, never exponential.
    let (mut pi, mut ni) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if p.get(pi) == Some(&'*') {
            pi += 1;
            last_star = Some((pi, ni));
            continue;
        }
        if pi < p.len() {
            let (matched, width) = element(&p[pi..], n[ni]);
            if matched {
                pi += width;
                ni += 1;
                continue;
            }
        }
        match last_star {
            Some((after_star, from)) => {
                pi = after_star;
                ni = from + 1;
                last_star = Some((after_star, from + 1));
            }
            None => return false,
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == '*')
}

/// Why `$((…))` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArithError {
    /// A token where an operand or operator was wanted: ash's "arithmetic
    /// syntax error", dash's "expecting primary".
    Syntax,
    /// Tokens left over after a whole expression: dash's "expecting EOF".
    Trailing,
    DivideByZero,
    NegativeExponent,
    /// A variable whose value names itself (`a=b; b=a; $((a))`).
    Recursion,
}

impl ArithError {
    /// The shell's message: busybox ash's `arith_apply` texts, dash's
    /// `yyerror` (`arithmetic expression: …: "expr"`), bash's `evalerror`.
    fn message(self, flavor: Flavor, expr: &str, token: &str) -> String {
        match flavor {
            Flavor::Ash => match self {
                ArithError::Syntax | ArithError::Trailing => "arithmetic syntax error".into(),
                ArithError::DivideByZero => "divide by zero".into(),
                ArithError::NegativeExponent => "exponent less than 0".into(),
                ArithError::Recursion => "expression recursion loop detected".into(),
            },
            Flavor::Dash => {
                let what = match self {
                    ArithError::Syntax | ArithError::NegativeExponent | ArithError::Recursion => "expecting primary",
                    ArithError::Trailing => "expecting EOF",
                    ArithError::DivideByZero => "division by zero",
                };
                format!("arithmetic expression: {what}: \"{expr}\"")
            }
            Flavor::Bash => {
                let what = match self {
                    ArithError::Syntax => "syntax error: operand expected",
                    ArithError::Trailing => "syntax error in expression",
                    ArithError::DivideByZero => "division by 0",
                    ArithError::NegativeExponent => "exponent less than 0",
                    ArithError::Recursion => "expression recursion level exceeded",
                };
                format!("{}: {what} (error token is \"{token}\")", expr.trim_start())
            }
        }
    }
}

/// What `$((…))` reads and assigns.
trait ArithVars {
    fn get(&self, name: &str) -> Option<String>;
    fn set(&mut self, name: &str, value: i64);
}

impl ArithVars for Shell<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.var(name)
    }
    fn set(&mut self, name: &str, value: i64) {
        self.set_var(name, value.to_string());
    }
}

/// `${v#p}` (shortest prefix matching `p` removed), `${v##p}` (longest),
/// `${v%p}` (shortest suffix), `${v%%p}` (longest).
fn remove_pattern(value: &str, pattern: &str, op: &str) -> String {
    let mut cuts: Vec<usize> = value.char_indices().map(|(i, _)| i).chain(std::iter::once(value.len())).collect();
    let from_end = op.starts_with('%');
    // Shortest first: a prefix grows from the start, a suffix from the end.
    if from_end {
        cuts.reverse();
    }
    if op.len() == 2 {
        cuts.reverse();
    }
    // A literal pattern needs no search; a wildcard one is tried at no more
    // than so many places, so a huge value cannot take the shell's time.
    if !pattern.contains(['*', '?', '[']) {
        let stripped = if from_end { value.strip_suffix(pattern) } else { value.strip_prefix(pattern) };
        return stripped.unwrap_or(value).to_string();
    }
    for cut in cuts.into_iter().take(PATTERN_CUTS_LIMIT) {
        let (head, tail) = value.split_at(cut);
        if from_end && wildcard(pattern, tail) {
            return head.to_string();
        }
        if !from_end && wildcard(pattern, head) {
            return tail.to_string();
        }
    }
    value.to_string()
}

/// `NAME=…` before a command's name: an assignment, whose value the shell
/// does not split into fields.
fn is_assignment_word(word: &Word) -> bool {
    let Some(Part::Bare(first)) = word.0.first() else { return false };
    let Some((name, _)) = first.split_once('=') else { return false };
    !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `$((…))`, as the shell of `flavor` evaluates it: C's operators and
/// precedence on 64-bit integers (decimal, `0x` hex, `0` octal), variables
/// (unset or empty is 0; ash and bash evaluate a value that is not a number
/// as an expression), `=` and the compound assignments, `&&`/`||`/`?:` that
/// skip what they do not evaluate; ash and bash add `**`, `++`/`--` and `,`
/// (dash has none of them). Errors carry the text from the failing token.
fn arithmetic(expr: &str, flavor: Flavor, vars: &mut dyn ArithVars) -> Result<i64, (ArithError, String)> {
    arithmetic_nested(expr, flavor, vars, &mut Vec::new(), 0)
}

/// `nesting`: operands open around this expression (a variable's value
/// evaluated inside another's), counted towards [`NESTING_LIMIT`] with its own.
fn arithmetic_nested(expr: &str, flavor: Flavor, vars: &mut dyn ArithVars, names: &mut Vec<String>, nesting: usize) -> Result<i64, (ArithError, String)> {
    struct P<'a> {
        s: Vec<char>,
        i: usize,
        flavor: Flavor,
        vars: &'a mut dyn ArithVars,
        names: &'a mut Vec<String>,
        /// Parentheses and unary operators open around the current operand.
        nesting: usize,
        /// Where the right operand of the operator being applied starts (bash's error token).
        operand: usize,
    }
    type R = Result<i64, (ArithError, String)>;
    impl P<'_> {
        fn fail(&self, e: ArithError) -> (ArithError, String) {
            (e, self.s.get(self.i..).map(|r| r.iter().collect::<String>()).unwrap_or_default())
        }
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
                self.i += 1;
            }
        }
        fn at(&mut self, op: &str) -> bool {
            self.ws();
            op.chars().enumerate().all(|(k, c)| self.s.get(self.i + k) == Some(&c))
        }
        /// Takes `op` unless a longer operator starting with it is there.
        fn take(&mut self, op: &str, unless: &[&str]) -> bool {
            // dash has no `**`, `++` or `--`: they do not stop a `*`, `+` or `-`.
            let extended = self.extended();
            if !self.at(op) || unless.iter().any(|u| (extended || !matches!(*u, "**" | "++" | "--")) && self.at(u)) {
                return false;
            }
            self.i += op.chars().count();
            true
        }
        fn extended(&self) -> bool {
            self.flavor != Flavor::Dash
        }
        fn value_of(&mut self, name: &str) -> R {
            let value = self.vars.get(name).unwrap_or_default();
            let value = value.trim();
            if value.is_empty() {
                return Ok(0);
            }
            if let Some(n) = parse_arith_number(value) {
                return Ok(n);
            }
            if !self.extended() || self.names.iter().any(|n| n == name) || self.names.len() >= NESTING_LIMIT {
                return Err(self.fail(if self.extended() { ArithError::Recursion } else { ArithError::Syntax }));
            }
            self.names.push(name.to_string());
            let result = arithmetic_nested(value, self.flavor, self.vars, self.names, self.nesting + 1);
            self.names.pop();
            result
        }
        fn name(&mut self) -> Option<String> {
            self.ws();
            if !self.s.get(self.i).is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') {
                return None;
            }
            let start = self.i;
            while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                self.i += 1;
            }
            Some(self.s[start..self.i].iter().collect())
        }
        fn deeper(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
            if self.nesting >= NESTING_LIMIT {
                return Err(self.fail(ArithError::Syntax));
            }
            self.nesting += 1;
            let v = f(self);
            self.nesting -= 1;
            v
        }
        fn comma(&mut self, eval: bool) -> R {
            let mut v = self.assign(eval)?;
            while self.extended() && self.take(",", &[]) {
                v = self.assign(eval)?;
            }
            Ok(v)
        }
        fn assign(&mut self, eval: bool) -> R {
            let start = self.i;
            if let Some(name) = self.name() {
                const OPS: [&str; 11] = ["<<=", ">>=", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "="];
                for op in OPS {
                    let unless: &[&str] = if op == "=" { &["=="] } else { &[] };
                    if self.take(op, unless) {
                        let right = self.deeper(|p| p.assign(eval))?;
                        if !eval {
                            return Ok(right);
                        }
                        let value = if op == "=" {
                            right
                        } else {
                            let current = self.value_of(&name)?;
                            self.apply(op.trim_end_matches('='), current, right)?
                        };
                        self.vars.set(&name, value);
                        return Ok(value);
                    }
                }
            }
            self.i = start;
            self.conditional(eval)
        }
        fn conditional(&mut self, eval: bool) -> R {
            let cond = self.binary(0, eval)?;
            if !self.take("?", &[]) {
                return Ok(cond);
            }
            let yes = self.deeper(|p| p.comma(eval && cond != 0))?;
            if !self.take(":", &[]) {
                return Err(self.fail(ArithError::Syntax));
            }
            let no = self.deeper(|p| p.conditional(eval && cond == 0))?;
            Ok(if cond != 0 { yes } else { no })
        }
        fn apply(&self, op: &str, a: i64, b: i64) -> R {
            Ok(match op {
                "||" => i64::from(a != 0 || b != 0),
                "&&" => i64::from(a != 0 && b != 0),
                "|" => a | b,
                "^" => a ^ b,
                "&" => a & b,
                "==" => i64::from(a == b),
                "!=" => i64::from(a != b),
                "<" => i64::from(a < b),
                "<=" => i64::from(a <= b),
                ">" => i64::from(a > b),
                ">=" => i64::from(a >= b),
                "<<" => a.wrapping_shl(b as u32),
                ">>" => a.wrapping_shr(b as u32),
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" | "%" if b == 0 => return Err((ArithError::DivideByZero, self.s.get(self.operand..).map(|r| r.iter().collect()).unwrap_or_default())),
                "/" => a.wrapping_div(b),
                "%" => a.wrapping_rem(b),
                _ => {
                    if b < 0 {
                        return Err(self.fail(ArithError::NegativeExponent));
                    }
                    // By squaring: the same 64-bit wrap as ash's loop of multiplications.
                    let (mut base, mut exponent, mut v) = (a, b as u64, 1i64);
                    while exponent > 0 {
                        if exponent & 1 == 1 {
                            v = v.wrapping_mul(base);
                        }
                        base = base.wrapping_mul(base);
                        exponent >>= 1;
                    }
                    v
                }
            })
        }
        /// Binary operators from `level` (C's precedence, loosest first).
        fn binary(&mut self, level: usize, eval: bool) -> R {
            const LEVELS: [&[(&str, &[&str])]; 10] = [
                &[("||", &[])],
                &[("&&", &[])],
                &[("|", &["||", "|="])],
                &[("^", &["^="])],
                &[("&", &["&&", "&="])],
                &[("==", &[]), ("!=", &[])],
                &[("<=", &[]), (">=", &[]), ("<", &["<<"]), (">", &[">>"])],
                &[("<<", &["<<="]), (">>", &[">>="])],
                &[("+", &["+=", "++"]), ("-", &["-=", "--"])],
                &[("*", &["*=", "**"]), ("/", &["/="]), ("%", &["%="])],
            ];
            let Some(ops) = LEVELS.get(level) else { return self.power(eval) };
            let mut v = self.binary(level + 1, eval)?;
            'more: loop {
                for (op, unless) in ops.iter() {
                    // `i+++j` is `i++ + j`: a `++` after an operand is taken by it.
                    if self.take(op, unless) {
                        let short = (*op == "&&" && v == 0) || (*op == "||" && v != 0);
                        self.ws();
                        let operand = self.i;
                        let w = self.binary(level + 1, eval && !short)?;
                        self.operand = operand;
                        if eval && !short {
                            v = self.apply(op, v, w)?;
                        } else if short {
                            v = i64::from(*op == "||");
                        }
                        if !eval {
                            v = 0;
                        }
                        continue 'more;
                    }
                }
                return Ok(v);
            }
        }
        fn power(&mut self, eval: bool) -> R {
            let base = self.unary(eval)?;
            if self.extended() && self.take("**", &["**="]) {
                let exponent = self.deeper(|p| p.power(eval))?;
                return if eval { self.apply("**", base, exponent) } else { Ok(0) };
            }
            Ok(base)
        }
        fn unary(&mut self, eval: bool) -> R {
            if self.extended() && (self.at("++") || self.at("--")) {
                let up = self.at("++");
                self.i += 2;
                let Some(name) = self.name() else { return Err(self.fail(ArithError::Syntax)) };
                if !eval {
                    return Ok(0);
                }
                let v = self.value_of(&name)?.wrapping_add(if up { 1 } else { -1 });
                self.vars.set(&name, v);
                return Ok(v);
            }
            for op in ["-", "+", "!", "~"] {
                if self.take(op, &["-=", "+="]) {
                    let v = self.deeper(|p| p.unary(eval))?;
                    return Ok(match op {
                        "-" => v.wrapping_neg(),
                        "!" => i64::from(v == 0),
                        "~" => !v,
                        _ => v,
                    });
                }
            }
            self.primary(eval)
        }
        fn primary(&mut self, eval: bool) -> R {
            self.ws();
            if self.take("(", &[]) {
                let v = self.deeper(|p| p.comma(eval))?;
                if !self.take(")", &[]) {
                    return Err(self.fail(ArithError::Syntax));
                }
                return Ok(v);
            }
            if let Some(name) = self.name() {
                if self.extended() && (self.at("++") || self.at("--")) {
                    let up = self.at("++");
                    self.i += 2;
                    if !eval {
                        return Ok(0);
                    }
                    let v = self.value_of(&name)?;
                    self.vars.set(&name, v.wrapping_add(if up { 1 } else { -1 }));
                    return Ok(v);
                }
                return if eval { self.value_of(&name) } else { Ok(0) };
            }
            if self.s.get(self.i).is_some_and(char::is_ascii_alphanumeric) {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '#') {
                    self.i += 1;
                }
                let text: String = self.s[start..self.i].iter().collect();
                return match parse_arith_number(&text) {
                    Some(n) => Ok(n),
                    None => {
                        self.i = start;
                        Err(self.fail(ArithError::Syntax))
                    }
                };
            }
            Err(self.fail(ArithError::Syntax))
        }
    }
    let mut p = P { s: expr.chars().collect(), i: 0, flavor, vars, names, nesting, operand: 0 };
    p.ws();
    if p.i >= p.s.len() {
        // `$(( ))` is 0.
        return Ok(0);
    }
    let v = p.comma(true)?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.fail(if flavor == Flavor::Dash { ArithError::Trailing } else { ArithError::Syntax }));
    }
    Ok(v)
}

/// An arithmetic constant: decimal, `0x` hexadecimal or `0` octal.
fn parse_arith_number(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()? as i64
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()? as i64
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<u64>().map_or(i64::MAX, |v| v as i64)
    } else {
        return None;
    };
    Some(if negative { value.wrapping_neg() } else { value })
}

/// `sleep` operands: `5`, `0.5`, `10s`, `2m`, `1h`, `1d`.
fn parse_sleep_ms(arg: &str) -> Option<u64> {
    let (num, unit) = match arg.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&arg[..i], &arg[i..]),
        None => (arg, ""),
    };
    let value: f64 = num.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let factor = match unit {
        "" | "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some((value * factor).min(1e15) as u64)
}

/// Replaces the date and file marks of a main process's line when it is printed.
/// The items `xargs` reads: blank-separated words, where quotes keep
/// blanks and a backslash the next character; a quote left open is an
/// error (which quote).
fn xargs_items(input: &str) -> Result<Vec<String>, &'static str> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut started = false;
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                started = true;
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\n' {
                        break;
                    }
                    current.push(q);
                }
                if !closed {
                    return Err(if c == '\'' { "single" } else { "double" });
                }
            }
            '\\' => {
                started = true;
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            c if c.is_whitespace() => {
                if started {
                    items.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                started = true;
                current.push(c);
            }
        }
    }
    if started {
        items.push(current);
    }
    Ok(items)
}

pub fn fill_marks(text: &str, date: &str, read: &mut dyn FnMut(&str) -> String) -> String {
    if !text.contains(DATE_MARK) && !text.contains(FILE_MARK_OPEN) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find([DATE_MARK, FILE_MARK_OPEN]) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or(DATE_MARK);
        rest = &rest[i + c.len_utf8()..];
        if c == DATE_MARK {
            out.push_str(date);
        } else {
            let end = rest.find(FILE_MARK_CLOSE).unwrap_or(rest.len());
            out.push_str(read(&rest[..end]).trim_end_matches('\n'));
            rest = rest.get(end + FILE_MARK_CLOSE.len_utf8()..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// The `file: path` line `cat` prints for a file it cannot read.
pub fn cat_error(path: &str, busybox: bool, e: Errno) -> String {
    match (busybox, e) {
        (true, Errno::IsDir) => "cat: read error: Is a directory".to_string(),
        (true, _) => format!("cat: can't open '{path}': {}", e.message()),
        (false, _) => format!("cat: {path}: {}", e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::container_fs::{Mounts, Overlay, RootFs, View, ViewMut};
    use crate::engine::node::filesystem::Fs;
    use crate::engine::node::images::{self, Base};
    use crate::engine::node::rootfs;

    fn info(base: Base) -> SystemInfo {
        SystemInfo {
            hostname: "pod-1".into(),
            base,
            kernel: "6.8.0-60-generic".into(),
            now: None,
            processes: vec![],
            mounts: vec![],
            tty: false,
            pod: PodIdentity::default(),
        }
    }

    fn root(image: &str) -> RootFs {
        RootFs::new(rootfs::image_root(&images::parse_image(image).unwrap()), false)
    }

    fn compile(script: &str, base: Base, image: &str) -> Program {
        let r = root(image);
        let disk = Fs::new();
        let view = View { root: &r, mounts: &Mounts::default(), disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        let info = info(base);
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None };
        compile_script(script, vec!["sh".into()], host, "/")
    }

    fn logs(p: &Program) -> Vec<(u64, String)> {
        p.timeline.iter().filter_map(|t| if let Effect::Log(l) = &t.effect { Some((t.at_ms, l.to_string())) } else { None }).collect()
    }

    #[test]
    fn runs_commands_in_order_with_time() {
        let p = compile("echo hello; sleep 5 && echo done; exit 3", Base::Busybox, "busybox");
        assert_eq!(logs(&p), vec![(0, "hello".into()), (5000, "done".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 5000, code: 3 });
    }

    #[test]
    fn and_or_follow_statuses() {
        let p = compile("false && echo no || echo yes", Base::Busybox, "busybox");
        assert_eq!(logs(&p), vec![(0, "yes".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 0, code: 0 });
        let p = compile("foo", Base::Busybox, "busybox");
        assert_eq!(logs(&p), vec![(0, "sh: foo: not found".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 0, code: 127 });
        let p = compile("foo", Base::Debian, "nginx");
        assert_eq!(logs(&p), vec![(0, "sh: 1: foo: not found".into())]);
    }

    #[test]
    fn endless_loops_repeat() {
        let r = root("busybox");
        let disk = Fs::new();
        let view = View { root: &r, mounts: &Mounts::default(), disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        let info = info(Base::Busybox);
        let env = IndexMap::from([("INTERVAL".to_string(), "3".to_string())]);
        let host = Host { files: &mut overlay, info: &info, env, external: None };
        let p = compile_script("echo start; while true; do echo tick $INTERVAL; sleep $INTERVAL; done", vec![], host, "/");
        assert_eq!(p.end, End::Never);
        let r = p.repeat.clone().unwrap();
        assert_eq!((r.start_ms, r.period_ms), (0, 3000));
        assert_eq!(r.body, vec![Timed { at_ms: 0, effect: Effect::Log("tick 3".into()) }]);
    }

    #[test]
    fn a_long_loop_is_resumed_from_its_state() {
        let r = root("busybox");
        let disk = Fs::new();
        let view = View { root: &r, mounts: &Mounts::default(), disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        let info = info(Base::Busybox);
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None };
        let argv: Vec<String> = ["sh", "-c", "i=0; while [ $i -lt 1200 ]; do echo $i; i=$((i+1)); sleep 1; done; echo done; exit 3"].iter().map(|a| a.to_string()).collect();
        let p = compile_exec(&argv, host, "/").unwrap();
        assert_eq!(p.end, End::Never);
        assert_eq!(p.timeline.len(), 500);
        let first = p.resume.clone().unwrap();
        assert_eq!(first.at_ms, 500_000);
        let p = resume(&first, &mut overlay);
        assert_eq!(logs(&p).first(), Some(&(500_000, "500".to_string())));
        let p = resume(&p.resume.clone().unwrap(), &mut overlay);
        assert_eq!(logs(&p).last(), Some(&(1_200_000, "done".to_string())));
        assert_eq!(p.end, End::Exit { at_ms: 1_200_000, code: 3 });
        assert!(p.resume.is_none());
        // A `while true` counter at the top level counts on, not repeating its first pass.
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None };
        let p = compile_script("i=0; while true; do echo $i; i=$((i+1)); sleep 1; done", vec![], host, "/");
        assert!(p.repeat.is_none());
        let p = resume(&p.resume.clone().unwrap(), &mut overlay);
        assert_eq!(logs(&p).first(), Some(&(501_000, "501".to_string())));
        // A loop that never sleeps ends being worked out.
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None };
        let mut p = compile_script("while :; do x=1; done", vec![], host, "/");
        let mut chunks = 0;
        while let Some(next) = p.resume.clone() {
            p = resume(&next, &mut overlay);
            chunks += 1;
        }
        assert_eq!((chunks, p.end), (STILL_CHUNKS as usize + 1, End::Never));
    }

    #[test]
    fn files_follow_the_script() {
        let p = compile("touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600", Base::Busybox, "busybox");
        assert!(matches!(&p.timeline[0].effect, Effect::Put(path, _) if path == "/tmp/healthy"));
        assert_eq!(p.timeline[1], Timed { at_ms: 30_000, effect: Effect::Delete("/tmp/healthy".into()) });
        assert_eq!(p.end, End::Exit { at_ms: 630_000, code: 0 });
        let p = compile("while true; do cat /etc/config/x; sleep 5; done", Base::Busybox, "busybox");
        assert_eq!(p.repeat.as_ref().unwrap().body, vec![Timed { at_ms: 0, effect: Effect::Cat { paths: vec!["/etc/config/x".into()], busybox: true } }]);
        let p = compile("echo \"$(date) $(cat /data/f)\"", Base::Busybox, "busybox");
        assert_eq!(logs(&p), vec![(0, format!("{DATE_MARK} {FILE_MARK_OPEN}/data/f{FILE_MARK_CLOSE}"))]);
    }

    #[test]
    fn network_programs_fail_without_a_network() {
        let p = compile("wget -qO- http://web && echo fetched; echo status=$?", Base::Busybox, "busybox");
        assert_eq!(logs(&p), vec![(0, "wget: network is unreachable".into()), (0, "status=1".into())]);
        let mut r = root("busybox");
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let info = info(Base::Busybox);
        let mut files = ViewMut { root: &mut r, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
        let mut state = ShellState::new(Flavor::Ash, "/", IndexMap::from([("PATH".to_string(), DEFAULT_PATH.to_string())]));
        let o = run_line(&mut state, "nslookup web", Host { files: &mut files, info: &info, env: IndexMap::new(), external: None });
        assert_eq!((o.stderr.as_str(), o.status), ("nslookup: network is unreachable\n", 1));
    }

    /// A network that answers every `wget` after 250 ms, printing on both streams.
    struct SlowNetwork;

    impl ExternalCommands for SlowNetwork {
        fn run(&mut self, call: &mut ExternalCall) -> Option<CommandResult> {
            (call.argv[0] == "wget").then(|| CommandResult { output: vec![(2, "Connecting to web\n".into()), (1, format!("page at {}\n", call.elapsed_ms)), (2, "done\n".into())], status: 0, took_ms: 250, suspend: false })
        }
    }

    #[test]
    fn external_programs_keep_their_order_and_take_time() {
        let r = root("busybox");
        let disk = Fs::new();
        let view = View { root: &r, mounts: &Mounts::default(), disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        let info = info(Base::Busybox);
        let mut net = SlowNetwork;
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: Some(&mut net) };
        let p = compile_script("sleep 1; wget -O- http://web; wget -O- http://web; echo end", vec![], host, "/");
        let lines = logs(&p);
        assert_eq!(lines[..3], [(1250, "Connecting to web".into()), (1250, "page at 1000".into()), (1250, "done".into())]);
        assert_eq!(lines[4], (1500, "page at 1250".into()));
        assert_eq!(lines.last(), Some(&(1500, "end".into())));
        // Where the network is out of reach, the use is noted and the program "succeeds".
        let mut wanted = NetworkWanted::default();
        let host = Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: Some(&mut wanted) };
        let p = compile_script("wget -qO- http://web || echo failed", vec![], host, "/");
        assert!(wanted.used);
        assert!(logs(&p).is_empty());
    }

    #[test]
    fn exec_form_finds_programs_like_runc() {
        let r = root("busybox");
        let disk = Fs::new();
        let view = View { root: &r, mounts: &Mounts::default(), disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        let info = info(Base::Busybox);
        let p = compile_exec(&["sleep".into(), "3600".into()], Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None }, "/").unwrap();
        assert_eq!(p.end, End::Exit { at_ms: 3_600_000, code: 0 });
        let err = compile_exec(&["bash".into()], Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None }, "/").unwrap_err();
        assert_eq!(err.message(), "exec: \"bash\": executable file not found in $PATH");
        let err = compile_exec(&["/app/run".into()], Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None }, "/").unwrap_err();
        assert_eq!(err.message(), "exec: \"/app/run\": stat /app/run: no such file or directory");
        let p = compile_exec(&["/bin/sh".into(), "-c".into(), "echo $0 $1".into(), "a".into(), "b".into()], Host { files: &mut overlay, info: &info, env: IndexMap::new(), external: None }, "/").unwrap();
        assert_eq!(logs(&p), vec![(0, "a b".into())]);
        assert!(compile("echo 'unterminated", Base::Busybox, "busybox").end == End::Exit { at_ms: 0, code: 2 });
    }

    #[test]
    fn xargs_reads_items_as_findutils_does() {
        assert_eq!(xargs_items("a  b\n'c d' \"e\"f g\\ h\n").unwrap(), vec!["a", "b", "c d", "ef", "g h"]);
        assert_eq!(xargs_items("''\n").unwrap(), vec![""]);
        assert_eq!(xargs_items("'open\n"), Err("single"));
        assert_eq!(xargs_items("\"open"), Err("double"));
        let p = compile("echo 1 2 3 | xargs -n 2 echo n; printf 'x\\ny\\n' | xargs -I{} echo '<{}>'; echo | xargs echo empty; echo | xargs -r echo never", Base::Busybox, "busybox");
        let lines: Vec<String> = logs(&p).into_iter().map(|(_, l)| l).collect();
        assert_eq!(lines, vec!["n 1 2", "n 3", "<x>", "<y>", "empty"]);
    }

    #[test]
    fn base64_encodes_wraps_and_decodes() {
        let p = compile("printf 'hello' | base64; echo aGVsbG8K | base64 -d; printf abcdef | base64 -w 4; echo 'aGk=%' | base64 -d", Base::Debian, "nginx");
        let lines: Vec<String> = logs(&p).into_iter().map(|(_, l)| l).collect();
        assert_eq!(lines, vec!["aGVsbG8=", "hello", "YWJj", "ZGVm", "hi", "base64: invalid input"]);
    }

    #[test]
    fn hostile_lines_get_bounded_answers_not_crashes() {
        let mut r = root("busybox");
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let info = info(Base::Busybox);
        let mut state = ShellState::new(Flavor::Ash, "/", IndexMap::from([("PATH".to_string(), DEFAULT_PATH.to_string())]));
        let mut line = |state: &mut ShellState, text: &str| {
            let mut files = ViewMut { root: &mut r, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
            run_line(state, text, Host { files: &mut files, info: &info, env: IndexMap::new(), external: None })
        };
        // Nesting that used to recurse as deep as the line is long.
        // (ash reads `--` as a decrement, which wants a name: its syntax error;
        // parentheses past the parser's limit get the same answer.)
        let o = line(&mut state, &format!("echo $(({}1))", "-".repeat(100_000)));
        assert_eq!((o.stderr.as_str(), o.status), ("sh: arithmetic syntax error\n", 2));
        let o = line(&mut state, &format!("echo $(({}1{}))", "(".repeat(50_000), ")".repeat(50_000)));
        assert_eq!((o.stderr.as_str(), o.status), ("sh: arithmetic syntax error\n", 2));
        let o = line(&mut state, &format!("{}echo{}", "if true; then ".repeat(20_000), "; fi".repeat(20_000)));
        assert_eq!((o.stderr.as_str(), o.status), ("sh: Syntax error: nesting too deep\n", 2));
        assert_eq!(line(&mut state, &format!("{}echo deep{}", "if true; then ".repeat(50), "; fi".repeat(50))).stdout, "deep\n");
        line(&mut state, &format!("echo {}{}", "${x:-".repeat(20_000), "}".repeat(20_000)));
        assert_eq!(line(&mut state, "echo ${y:-${z:-nested}}").stdout, "nested\n");
        let o = line(&mut state, &format!("grep -E '{}a{}' /etc/passwd", "(".repeat(50_000), ")".repeat(50_000)));
        assert_eq!(o.status, 2);
        assert!(o.stderr.ends_with("': Out of memory\n"), "{}", o.stderr);
        let long = "a".repeat(100_000);
        assert_eq!(line(&mut state, &format!("echo {long} | grep -c {long}")).stdout, "1\n");
        // Sizes: a value doubled in a loop stops growing; widths are bounded.
        assert_eq!(line(&mut state, "x=a; for i in $(seq 1 40); do x=$x$x; done; echo ${#x}").stdout, "1048574\n");
        assert_eq!(line(&mut state, "printf '%99999999d' 1 | wc -c").stdout, format!("{}\n", (1 << 20) + 1));
        assert_eq!(line(&mut state, "printf '%05d|%-4s|%3s' -42 ab c").stdout, "-0042|ab  |  c");
        // Overflow at the ends of the integers.
        assert_eq!(line(&mut state, "seq 9223372036854775806 9223372036854775807").stdout, "9223372036854775806\n9223372036854775807\n");
        assert_eq!(line(&mut state, "echo abc | cut -c 18446744073709551614-18446744073709551615").stdout, "\n");
        assert_eq!(line(&mut state, "echo a:b:c:d | cut -d: -f 3-").stdout, "c:d\n");
        assert_eq!(line(&mut state, &format!("echo abcdef | cut -c {}", vec!["2-4"; 100_000].join(","))).stdout, "bcd\n");
        // Paths past PATH_MAX and names past NAME_MAX, as the kernel refuses them.
        let o = line(&mut state, &format!("mkdir -p /tmp/{}", "d/".repeat(3000)));
        assert!(o.stderr.ends_with("File name too long\n"), "{}", o.stderr);
        let o = line(&mut state, &format!("touch /tmp/{}", "x".repeat(256)));
        assert!(o.stderr.ends_with("File name too long\n"), "{}", o.stderr);
        assert_eq!(line(&mut state, &format!("mkdir -p /tmp/{}d && echo made", "d/".repeat(300))).stdout, "made\n");
        // A glob of many stars is matched in time proportional to its length.
        assert_eq!(line(&mut state, &format!("echo /e*{}x", "*".repeat(60))).stdout, format!("/e*{}x\n", "*".repeat(60)));
        assert!(wildcard("*a*b*c", "xxaxxbxxc") && !wildcard("*a*b*c", "xxaxxcxxb") && wildcard("[!a-c]?*", "dzz") && !wildcard("[a-c]", "d"));
    }

    #[test]
    fn arithmetic_follows_each_shell() {
        struct Vars(BTreeMap<String, String>);
        impl ArithVars for Vars {
            fn get(&self, name: &str) -> Option<String> {
                self.0.get(name).cloned()
            }
            fn set(&mut self, name: &str, value: i64) {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
        let eval = |expr: &str, flavor: Flavor| {
            let mut vars = Vars(BTreeMap::from([("i".to_string(), "3".to_string()), ("e".to_string(), "i*2".to_string()), ("a".to_string(), "b".to_string()), ("b".to_string(), "a".to_string())]));
            arithmetic(expr, flavor, &mut vars).map(|v| (v, vars.0.get("i").cloned().unwrap_or_default()))
        };
        let ash = |expr: &str| eval(expr, Flavor::Ash).map(|(v, _)| v).map_err(|(e, _)| e);
        assert_eq!(ash("2**10"), Ok(1024));
        assert_eq!(ash("-2**2"), Ok(4), "unary minus binds tighter than ** in ash");
        assert_eq!(ash("2**3**2"), Ok(512), "** is right-associative");
        assert_eq!(ash("1 + 2 * 3 - 4 / 2"), Ok(5));
        assert_eq!(ash("-7 / 2"), Ok(-3));
        assert_eq!(ash("-7 % 3"), Ok(-1));
        assert_eq!(ash("0x1f + 010"), Ok(39));
        assert_eq!(ash("1 << 4 | 1"), Ok(17));
        assert_eq!(ash("3 > 2 && 2 > 3 || !0"), Ok(1));
        assert_eq!(ash("i ? 7 : 8"), Ok(7));
        assert_eq!(ash("0 && 1/0"), Ok(0), "a skipped operand is not evaluated");
        assert_eq!(ash("1 || 1/0"), Ok(1));
        assert_eq!(ash("e + 1"), Ok(7), "a value that is an expression is evaluated");
        assert_eq!(ash("~0"), Ok(-1));
        assert_eq!(ash(""), Ok(0));
        assert_eq!(ash("1/0"), Err(ArithError::DivideByZero));
        assert_eq!(ash("5 % 0"), Err(ArithError::DivideByZero));
        assert_eq!(ash("2 ** -1"), Err(ArithError::NegativeExponent));
        assert_eq!(ash("1 +"), Err(ArithError::Syntax));
        assert_eq!(ash("(1"), Err(ArithError::Syntax));
        assert_eq!(ash("1 2"), Err(ArithError::Syntax));
        assert_eq!(ash("a"), Err(ArithError::Recursion));
        assert_eq!(eval("i++", Flavor::Ash), Ok((3, "4".to_string())));
        assert_eq!(eval("++i", Flavor::Ash), Ok((4, "4".to_string())));
        assert_eq!(eval("i += 2, i * 10", Flavor::Ash), Ok((50, "5".to_string())));
        assert_eq!(eval("i <<= 2", Flavor::Bash), Ok((12, "12".to_string())));
        // dash: no `**`, `++` or `,`.
        assert_eq!(eval("2**3", Flavor::Dash).map_err(|(e, _)| e), Err(ArithError::Syntax));
        assert_eq!(eval("1, 2", Flavor::Dash).map_err(|(e, _)| e), Err(ArithError::Trailing));
        assert_eq!(eval("i = 9", Flavor::Dash), Ok((9, "9".to_string())));
        assert_eq!(ArithError::DivideByZero.message(Flavor::Dash, "1/0", ""), "arithmetic expression: division by zero: \"1/0\"");
        assert_eq!(ArithError::Syntax.message(Flavor::Ash, "1+", "+"), "arithmetic syntax error");
        assert_eq!(eval("1/0", Flavor::Bash).map_err(|(_, token)| token), Err("0".to_string()));
        assert_eq!(remove_pattern("/a/b/c.tar.gz", "*/", "##"), "c.tar.gz");
        assert_eq!(remove_pattern("/a/b/c.tar.gz", ".*", "%"), "/a/b/c.tar");
        assert_eq!(remove_pattern("/a/b/c.tar.gz", ".*", "%%"), "/a/b/c");
        assert_eq!(remove_pattern("/a/b/c.tar.gz", "/", "#"), "a/b/c.tar.gz");
        assert_eq!(remove_pattern("abc", "x*", "#"), "abc");
    }

    /// Runs `script` live in a fresh shell of `flavor` (busybox's root for
    /// ash, debian's otherwise): (stdout, stderr, status).
    fn live(flavor: Flavor, script: &str) -> (String, String, i32) {
        let (image, base) = if flavor == Flavor::Ash { ("busybox", Base::Busybox) } else { ("debian", Base::Debian) };
        let mut r = root(image);
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let info = info(base);
        let mut files = ViewMut { root: &mut r, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
        let mut state = ShellState::new(flavor, "/", IndexMap::from([("PATH".to_string(), DEFAULT_PATH.to_string())]));
        let o = run_line(&mut state, script, Host { files: &mut files, info: &info, env: IndexMap::new(), external: None });
        (o.stdout, o.stderr, o.status)
    }

    #[test]
    fn case_matches_patterns_in_order() {
        let script = "for x in apple b7 '*' zzz; do case $x in a*|b?) echo \"$x: a or b\";; \"*\") echo \"$x: star\";; [x-z]*) echo \"$x: late\";; esac; done; case q in (q) ;; esac; echo $?";
        for flavor in [Flavor::Ash, Flavor::Dash, Flavor::Bash] {
            assert_eq!(live(flavor, script).0, "apple: a or b\nb7: a or b\n*: star\nzzz: late\n0\n");
        }
        assert_eq!(live(Flavor::Dash, "case x in x) echo a; esac").2, 0);
        assert!(live(Flavor::Dash, "case x in x echo a;; esac").1.contains("Syntax error"));
    }

    #[test]
    fn functions_take_arguments_locals_and_return() {
        let script = "x=top; f() { local x=\"in $1\"; echo \"$x/$#/$*\"; return 3; }; f a b; echo \"$? $x $#\"; g() { for i in 1 2 3; do [ $i = 2 ] && return $i; done; }; g; echo $?";
        for flavor in [Flavor::Ash, Flavor::Dash, Flavor::Bash] {
            assert_eq!(live(flavor, script).0, "in a/2/a b\n3 top 0\n2\n", "{flavor:?}");
        }
        // `local x` keeps x's value in ash and dash; bash's starts unset.
        assert_eq!(live(Flavor::Dash, "x=1; f() { local x; echo \"[$x]\"; }; f").0, "[1]\n");
        assert_eq!(live(Flavor::Bash, "x=1; f() { local x; echo \"[$x]\"; }; f; echo $x").0, "[]\n1\n");
        assert_eq!(live(Flavor::Dash, "local a=1; echo $?"), (String::new(), "sh: 1: local: not in a function\n".into(), 2));
        // dash takes any command as a function's body, bash only a compound one.
        assert_eq!(live(Flavor::Dash, "f() echo hi; f").0, "hi\n");
        assert_eq!(live(Flavor::Dash, "f() { f; }; function g { :; }").1, "sh: 1: Syntax error: \"}\" unexpected\n");
        assert_eq!(live(Flavor::Dash, "case x in x echo a;; esac").1, "sh: 1: Syntax error: word unexpected (expecting \")\")\n");
        assert_eq!(live(Flavor::Ash, "return 4; echo no"), (String::new(), String::new(), 4));
        assert_eq!(live(Flavor::Bash, "return 4; echo $?").0, "1\n");
        assert_eq!(live(Flavor::Dash, "f() { return x; }; f; echo no"), (String::new(), "sh: 1: return: Illegal number: x\n".into(), 2));
        // `function` is bash's and ash's word; dash reads it as a command.
        assert_eq!(live(Flavor::Ash, "function g { echo g; }; g").0, "g\n");
        assert_eq!(live(Flavor::Dash, "function g { echo g; }; g").2, 2);
        // A recursive function counts down, and one that never stops ends the shell as a crash would.
        assert_eq!(live(Flavor::Bash, "fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }; fact 10").0, "3628800\n");
        assert_eq!(live(Flavor::Ash, "f() { f; }; f; echo after"), (String::new(), String::new(), 139));
        assert_eq!(live(Flavor::Dash, "f() { f; }; f; echo after"), (String::new(), "sh: 1: Maximum function recursion depth (1000) reached\n".into(), 2));
    }

    #[test]
    fn endless_recursion_fits_the_pages_stack() {
        // wasm32's stack is 1 MiB; a debug build's frames are larger than the page's.
        let run = std::thread::Builder::new().stack_size(1 << 20).spawn(|| live(Flavor::Bash, "f() { echo x >/dev/null; f \"$@\" a; }; f; echo after").2);
        assert_eq!(run.ok().and_then(|t| t.join().ok()), Some(139));
    }

    #[test]
    fn subshells_groups_and_redirected_loops() {
        let script = "cd /tmp; (cd /; x=5; echo \"in $x $PWD\"; exit 3); echo \"$? [$x] $PWD\"; { echo one; echo two; } > /tmp/g; while read l; do echo \"got $l\"; done < /tmp/g";
        assert_eq!(live(Flavor::Ash, script).0, "in 5 /\n3 [] /tmp\ngot one\ngot two\n");
    }

    #[test]
    fn bash_and_ash_substitutions_dash_refuses() {
        let script = "v=a-b-c; p=/usr/local/bin; echo ${v/-/_} ${v//-/_} ${v/#a/A} ${v/%c/C} ${v//[ab]/X} ${v/b*/Z} \"${v//-/ }\" ${p:1:3} ${p:5} ${p: -3} ${p:(-3):2}";
        for flavor in [Flavor::Ash, Flavor::Bash] {
            assert_eq!(live(flavor, script).0, "a_b-c a_b_c A-b-c a-b-C X-X-c a-Z a b c usr local/bin bin bi\n");
        }
        assert_eq!(live(Flavor::Dash, "echo before; echo ${v/a/b}; echo after"), ("before\n".into(), "sh: 1: Bad substitution\n".into(), 2));
        assert_eq!(live(Flavor::Bash, "v=abc; echo ${v:1:-1}").0, "b\n");
        assert_eq!(live(Flavor::Ash, "echo ${X:-\"a  b\"} \"${Y:-c  d}\"").0, "a b c  d\n");
    }

    #[test]
    fn random_and_ppid() {
        let (out, _, _) = live(Flavor::Bash, "RANDOM=1; echo $RANDOM $RANDOM; echo $PPID");
        // bash 5.2 seeded with 1: 16807 → (16807>>16)^(16807&0xffff) = 16807; 282475249 → 4310^11177.
        assert_eq!(out, format!("16807 {}\n0\n", (282_475_249u32 >> 16 ^ (282_475_249u32 & 0xffff)) & 0x7fff));
        let (a, _, _) = live(Flavor::Ash, "echo $RANDOM $RANDOM");
        assert_eq!(a, live(Flavor::Ash, "echo $RANDOM $RANDOM").0, "the same process gets the same numbers");
        assert!(a.split_whitespace().all(|n| n.parse::<u32>().is_ok_and(|n| n < 32768)), "{a}");
        assert_eq!(live(Flavor::Dash, "echo \"[$RANDOM]\"").0, "[]\n");
    }

    #[test]
    fn an_endless_loop_reading_random_gets_new_numbers() {
        let p = compile("while true; do echo $RANDOM; sleep 1; done", Base::Busybox, "busybox");
        let lines: Vec<String> = logs(&p).into_iter().take(3).map(|(_, l)| l).collect();
        assert_eq!(lines.len(), 3, "{p:?}");
        assert!(lines[0] != lines[1] || lines[1] != lines[2], "{lines:?}");
    }

    #[test]
    fn xtrace_prints_each_shells_way() {
        let script = "set -x; a=\"1 2\"; echo \"$a\" [ x ] ''";
        assert_eq!(live(Flavor::Dash, script).1, "+ a=1 2\n+ echo 1 2 [ x ] \n");
        assert_eq!(live(Flavor::Ash, script).1, "+ a='1 2'\n+ echo '1 2' '[' x ] \n");
        assert_eq!(live(Flavor::Bash, script).1, "+ a='1 2'\n+ echo '1 2' '[' x ']' ''\n");
        assert_eq!(live(Flavor::Bash, "set -x; echo $(echo hi); set +x; echo quiet").1, "++ echo hi\n+ echo hi\n+ set +x\n");
        // bash alone shows a `for` loop's head at each pass and a `case`'s word.
        let script = "set -x; for i in 1 2; do :; done; case a in a) true;; esac; echo a | cat";
        assert_eq!(live(Flavor::Bash, script).1, "+ for i in 1 2\n+ :\n+ for i in 1 2\n+ :\n+ case a in\n+ true\n+ echo a\n+ cat\n");
        assert_eq!(live(Flavor::Dash, script).1, "+ :\n+ :\n+ true\n+ echo a\n+ cat\n");
    }

    #[test]
    fn live_lines_pipe_redirect_and_keep_state() {
        let mut r = root("busybox");
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let mut info = info(Base::Busybox);
        info.now = Some(crate::engine::api::meta::EPOCH_SECONDS);
        let mut state = ShellState::new(Flavor::Ash, "/", IndexMap::from([("PATH".to_string(), DEFAULT_PATH.to_string()), ("HOSTNAME".to_string(), "pod-1".to_string())]));
        let mut line = |state: &mut ShellState, text: &str| {
            let mut files = ViewMut { root: &mut r, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
            run_line(state, text, Host { files: &mut files, info: &info, env: IndexMap::new(), external: None })
        };
        assert_eq!(line(&mut state, "cd /tmp && echo hi > f && cat f | wc -l").stdout, "1\n");
        assert_eq!(state.prompt("pod-1"), "/tmp # ");
        assert_eq!(line(&mut state, "ls").stdout, "f\n");
        assert_eq!(line(&mut state, "X=5; export Y=$((X * 2)); echo $Y").stdout, "10\n");
        assert!(line(&mut state, "env").stdout.contains("Y=10\n"));
        let o = line(&mut state, "cat nope 2>&1 | grep -c open");
        assert_eq!(o.stdout, "1\n");
        let o = line(&mut state, "bash");
        assert_eq!((o.stderr.as_str(), o.status), ("sh: bash: not found\n", 127));
        let o = line(&mut state, "for f in /tmp/*; do echo got $f; done");
        assert_eq!(o.stdout, "got /tmp/f\n");
        let o = line(&mut state, "echo $((1/0)); echo skipped");
        assert_eq!((o.stdout.as_str(), o.stderr.as_str(), o.status, o.exited), ("", "sh: divide by zero\n", 2, false));
        assert!(!line(&mut state, "sh").exited);
        assert_eq!(state.nested.len(), 1);
        assert!(!line(&mut state, "exit").exited, "leaves the nested shell only");
        let o = line(&mut state, "exit 3");
        assert!(o.exited);
        assert_eq!(o.status, 3);
    }
}
