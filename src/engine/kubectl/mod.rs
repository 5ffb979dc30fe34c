//! kubectl: one command line in, what kubectl 1.33 prints out.
//!
//! `run` splits the line as a shell would, parses flags per verb (pflag
//! rules: `-n x`, `-nx`, `--namespace=x`, `--namespace x`), and dispatches to
//! one module per verb. Every request goes through the cluster's API server,
//! so a stopped API server refuses every verb as a real one does.

pub mod args;
pub mod discovery;
pub mod interactive;
pub mod kustomize;
pub mod manifest;
pub mod targets;
pub mod printers;
pub mod unified_diff;

pub(crate) mod verbs;

use crate::engine::api::{ApiError, Reason};
use crate::engine::apiserver::Client;
use crate::engine::cluster::{Cluster, ProfileKind};
use crate::engine::rbac::{self, User};

pub use args::Args;

/// What a command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
    /// Both streams in the order they were written, when the command
    /// interleaves them (exec, logs, run -i).
    pub terminal: Option<String>,
    /// The command keeps the terminal: an interactive shell, or output
    /// that follows (`logs -f`); the page drives it, scripts never see it.
    pub interactive: Option<interactive::Interactive>,
}

impl Output {
    /// An error after what was printed (exit 1 unless it had failed already).
    pub fn push_error(&mut self, text: &str) {
        self.stderr.push_str(text);
        if let Some(t) = self.terminal.as_mut() {
            t.push_str(text);
        }
        if self.exit_code == 0 {
            self.exit_code = 1;
        }
    }

    /// What a terminal shows: both streams as written (stdout then stderr
    /// for commands that do not interleave them).
    pub fn combined(&self) -> String {
        if let Some(t) = &self.terminal {
            return t.clone();
        }
        let mut s = self.stdout.clone();
        s.push_str(&self.stderr);
        s
    }
}

/// Where `-f PATH` reads files from (the local disk natively, the editor in the browser).
pub trait FileSource {
    fn read(&self, path: &str) -> std::result::Result<String, String>;

    /// A `--from-file` or `--from-env-file` path as kubectl's `os.Stat` and
    /// `os.ReadFile` find it; the error is the system's reason, as Go words
    /// it (`no such file or directory`).
    fn entry(&self, path: &str) -> std::result::Result<FileEntry, String> {
        self.read(path).map(|text| FileEntry::File(text.into_bytes())).map_err(|_| "no such file or directory".to_string())
    }

    /// For `-f DIR`: the manifests kubectl's builder visits below the
    /// directory `path` (`.json`, `.yaml` and `.yml` files, lexically, one
    /// level or with `recursive` all), or `None` when `path` is no directory.
    fn manifests_in(&self, _path: &str, _recursive: bool) -> Option<Vec<String>> {
        None
    }

    /// A directory's files and directories below it for `kubectl cp`, a
    /// directory (`None`) before what it holds, `""` for the directory
    /// itself; by default its regular files only.
    fn tree(&self, path: &str) -> Vec<(String, Option<String>)> {
        let mut found = vec![(String::new(), None)];
        if let Ok(FileEntry::Dir(files)) = self.entry(path) {
            found.extend(files.into_iter().map(|(name, bytes)| (name, Some(String::from_utf8_lossy(&bytes).into_owned()))));
        }
        found
    }

    /// A change `kubectl cp` makes to a local path (only the learner's
    /// machine takes them: the real disk is never written).
    fn write(&self, _change: crate::engine::learner_home::LocalWrite) -> std::result::Result<(), String> {
        Err("read-only file system".into())
    }
}

/// A file's bytes, or a directory's regular files (name and bytes) in
/// name order, as `os.ReadDir` lists them.
pub enum FileEntry {
    File(Vec<u8>),
    Dir(Vec<(String, Vec<u8>)>),
}

/// The local disk's files, `-f PATH` relative to `base` (the script's
/// folder, or the working folder for stdin): the command line and the
/// transcript tests.
pub struct DiskFiles {
    pub base: std::path::PathBuf,
}

impl FileSource for DiskFiles {
    fn read(&self, path: &str) -> std::result::Result<String, String> {
        let full = self.base.join(path);
        if path.is_empty() {
            return Err(format!("the path \"{path}\" does not exist"));
        }
        if full.is_dir() {
            return Err(format!("error reading {path}: is a directory"));
        }
        std::fs::read_to_string(&full).map_err(|_| format!("the path \"{path}\" does not exist"))
    }

    fn entry(&self, path: &str) -> std::result::Result<FileEntry, String> {
        // Go's os.Stat("") fails; joined to the base it would be the base.
        if path.is_empty() {
            return Err("no such file or directory".to_string());
        }
        let full = self.base.join(path);
        let metadata = std::fs::metadata(&full).map_err(|e| go_errno(&e))?;
        if !metadata.is_dir() {
            return std::fs::read(&full).map(FileEntry::File).map_err(|e| go_errno(&e));
        }
        let mut files = Vec::new();
        for item in std::fs::read_dir(&full).map_err(|e| format!("error listing files in {path}: {}", go_errno(&e)))? {
            let item = item.map_err(|e| go_errno(&e))?;
            if item.file_type().is_ok_and(|t| t.is_file()) {
                let bytes = std::fs::read(item.path()).map_err(|e| go_errno(&e))?;
                files.push((item.file_name().to_string_lossy().into_owned(), bytes));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(FileEntry::Dir(files))
    }

    fn manifests_in(&self, path: &str, recursive: bool) -> Option<Vec<String>> {
        if path.is_empty() || !self.base.join(path).is_dir() {
            return None;
        }
        let mut found = Vec::new();
        self.walk(path, recursive, &mut found);
        Some(found)
    }
}

impl DiskFiles {
    /// `filepath.Walk` as `ExpandPathsToFileVisitors` uses it: entries in
    /// lexical order, a directory's below it at once, links not followed.
    fn walk(&self, dir: &str, recursive: bool, found: &mut Vec<String>) {
        let Ok(read) = std::fs::read_dir(self.base.join(dir)) else { return };
        let mut entries: Vec<(String, bool)> =
            read.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type().is_ok_and(|t| t.is_dir()))).collect();
        entries.sort();
        for (name, is_dir) in entries {
            let child = format!("{}/{name}", dir.trim_end_matches('/'));
            if is_dir {
                if recursive {
                    self.walk(&child, recursive, found);
                }
            } else if [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext) && name.len() > ext.len()) {
                found.push(child);
            }
        }
    }
}

/// The system's reason as Go's `syscall.Errno` prints it: the C library's
/// text in lower case, without Rust's ` (os error N)`.
fn go_errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// No files at all.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, path: &str) -> std::result::Result<String, String> {
        Err(format!("the path \"{path}\" does not exist"))
    }
}

/// A failed command.
#[derive(Debug)]
pub enum Error {
    /// An answer from (or a failure to reach) the API server.
    Api(ApiError),
    /// `error: <msg>` followed by `See 'kubectl <verb> --help' for usage.`
    Usage(String),
    /// Printed to stderr as given (already formatted, no trailing newline needed).
    Message(String),
    /// Errors already printed; exit 1.
    Silent,
    /// Printed as given, with this exit status (`command terminated with exit code 3`).
    Exit(i32, String),
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(e)
    }
}

pub type Result<T = ()> = std::result::Result<T, Error>;

/// A command being run: the cluster, the parsed line, and output buffers.
pub struct Session<'a> {
    pub cluster: &'a mut Cluster,
    pub args: Args,
    pub out: String,
    pub err: String,
    /// Both streams in order, for verbs that interleave them (see [`Session::say`]).
    pub interleaved: Option<String>,
    pub interactive: Option<interactive::Interactive>,
    /// The command runs in the page's terminal (not a script): `-it` gets a terminal.
    pub terminal: bool,
    pub stdin: Option<&'a str>,
    pub files: &'a dyn FileSource,
    /// The API server's warnings taken so far and not yet placed: each
    /// with how much stdout and stderr had been written when it came.
    warnings: Vec<(usize, usize, String)>,
    /// Warnings already shown: kubectl prints each text once a command.
    warned: std::collections::BTreeSet<String>,
    /// The `-k` directory's objects as YAML (or why they could not be
    /// built), built once a command, as kustomize printed its warnings.
    pub kustomized: Option<std::result::Result<String, String>>,
}

impl Session<'_> {
    /// Writes to stdout (`err` false) or stderr, keeping the order both are shown in.
    pub fn say(&mut self, err: bool, text: &str) {
        self.take_warnings();
        if self.interleaved.is_none() && !self.warnings.is_empty() {
            // Both streams go in order from here on: those written so far
            // first, with the warnings in their places.
            let (both, err) = self.placed_warnings();
            self.interleaved = Some(both);
            self.err = err;
        }
        if err {
            self.err.push_str(text);
        } else {
            self.out.push_str(text);
        }
        self.interleaved.get_or_insert_with(String::new).push_str(text);
    }
    /// Takes the warnings the API server gave this command's requests so
    /// far, to be printed (`Warning: …` on stderr) where they came: before
    /// whatever is written next. A verb calls it before printing a
    /// request's outcome; [`Session::say`] does so itself.
    pub fn take_warnings(&mut self) {
        self.take_warnings_at((self.out.len(), self.err.len()));
    }

    /// A warning kubectl itself prints on stderr (`Warning: …\n`), shown
    /// where it was written: before what stdout gets next.
    pub fn warn(&mut self, line: &str) {
        match self.interleaved.as_mut() {
            Some(both) => {
                both.push_str(line);
                self.err.push_str(line);
            }
            None => self.warnings.push((self.out.len(), self.err.len(), line.to_string())),
        }
    }

    /// As [`Session::take_warnings`], placing them at these lengths of
    /// stdout and stderr unless both streams are already kept in order.
    fn take_warnings_at(&mut self, (out_len, err_len): (usize, usize)) {
        for text in self.cluster.sim.api.take_client_warnings() {
            if !self.warned.insert(text.clone()) {
                continue;
            }
            let line = format!("Warning: {text}\n");
            match self.interleaved.as_mut() {
                Some(both) => {
                    both.push_str(&line);
                    self.err.push_str(&line);
                }
                None => self.warnings.push((out_len, err_len, line)),
            }
        }
    }

    /// The warnings not yet placed put in: what a terminal shows (stdout
    /// with them in their places, then stderr), and stderr with them.
    fn placed_warnings(&mut self) -> (String, String) {
        let mut out = String::with_capacity(self.out.len());
        let mut err = String::with_capacity(self.err.len());
        let (mut out_at, mut err_at) = (0, 0);
        for (out_len, err_len, line) in std::mem::take(&mut self.warnings) {
            let (out_len, err_len) = (out_len.min(self.out.len()), err_len.min(self.err.len()));
            out.push_str(self.out.get(out_at..out_len).unwrap_or(""));
            out.push_str(&line);
            err.push_str(self.err.get(err_at..err_len).unwrap_or(""));
            err.push_str(&line);
            (out_at, err_at) = (out_len.max(out_at), err_len.max(err_at));
        }
        out.push_str(self.out.get(out_at..).unwrap_or(""));
        err.push_str(self.err.get(err_at..).unwrap_or(""));
        out.push_str(&self.err);
        (out, err)
    }

    /// The namespace a command works in: `-n`, else `default`.
    pub fn namespace(&self) -> String {
        match self.args.value("namespace") {
            Some(namespace) => namespace.to_string(),
            None if self.cluster.context_namespace.is_empty() => "default".to_string(),
            None => self.cluster.context_namespace.clone(),
        }
    }
    /// The server's address, as connection errors name it.
    pub fn server(&self) -> String {
        self.cluster.sim.api.host.clone()
    }
    /// Formats an API error as kubectl prints it (without trailing newline).
    pub fn format_api_error(&self, e: &ApiError) -> String {
        format_api_error(e, &self.server())
    }
}

/// kubectl's wording for an API error.
pub fn format_api_error(e: &ApiError, server: &str) -> String {
    match e.reason {
        Reason::ConnectionRefused => format!("The connection to the server {server} was refused - did you specify the right host or port?"),
        Reason::Invalid if !e.kind.is_empty() => {
            let causes: Vec<String> = e.causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
            if causes.len() == 1 {
                format!("The {} \"{}\" is invalid: {}", e.kind, e.name, causes[0])
            } else {
                let mut s = format!("The {} \"{}\" is invalid: ", e.kind, e.name);
                for c in causes {
                    s.push_str("\n* ");
                    s.push_str(&c);
                }
                s
            }
        }
        // An `Invalid` status naming no object and no field (a JSON patch
        // that does not apply): checkErr's generic wording.
        Reason::Invalid if e.causes.is_empty() && e.name.is_empty() => format!("The request is invalid: {}", e.message),
        Reason::InternalError if e.message.starts_with("etcdserver:") => format!("Error from server: {}", e.message),
        Reason::Unknown => format!("Error from server: {}", e.message),
        _ => format!("Error from server ({}): {}", e.reason.as_str(), e.message),
    }
}

/// Runs one kubectl command line typed at the page's terminal, where `-it`
/// gets an interactive terminal.
pub fn run_in_terminal(cluster: &mut Cluster, line: &str) -> Output {
    match shell_words::split(line) {
        Ok(words) => run_words_with(cluster, words, None, &NoFiles, true, true),
        Err(_) => Output { stdout: String::new(), stderr: "error: unterminated quote in command line\n".into(), exit_code: 1, ..Default::default() },
    }
}

/// Runs one kubectl command line (with or without the leading `kubectl`).
pub fn run(cluster: &mut Cluster, line: &str, stdin: Option<&str>, files: &dyn FileSource) -> Output {
    let words = match shell_words::split(line) {
        Ok(w) => w,
        Err(_) => {
            return Output { stdout: String::new(), stderr: "error: unterminated quote in command line\n".into(), exit_code: 1, ..Default::default() };
        }
    };
    run_words(cluster, words, stdin, files)
}

/// As [`run`] for a command that only reads (`get`, `describe`, …): the
/// cluster is not run to settle afterwards, so an observer (the page's
/// details drawer, a read typed in its terminal) never moves the simulation.
pub fn run_read_only(cluster: &mut Cluster, line: &str) -> Output {
    match shell_words::split(line) {
        Ok(words) => run_words_with(cluster, words, None, &NoFiles, false, false),
        Err(_) => Output { stdout: String::new(), stderr: "error: unterminated quote in command line\n".into(), exit_code: 1, ..Default::default() },
    }
}

/// As [`run`], for a line already split into words.
pub fn run_words(cluster: &mut Cluster, words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource) -> Output {
    run_words_with(cluster, words, stdin, files, false, true)
}

/// The commands that only read: they send no write to the API server and
/// let no virtual time pass. Lesson checks may use only these.
pub const READ_ONLY_COMMANDS: &[&str] = &[
    "get", "describe", "logs", "events", "version", "cluster-info", "api-resources", "api-versions", "explain",
    "rollout history", "config view", "config current-context", "config get-contexts", "auth can-i", "auth whoami",
];

/// Whether a command line (words, with or without `kubectl`) parses and
/// only reads; the error says why not.
pub fn check_read_only(words: &[String]) -> std::result::Result<(), String> {
    let words = match words.first() {
        Some(w) if w == "kubectl" => &words[1..],
        _ => words,
    };
    let args = args::parse(words)?;
    if READ_ONLY_COMMANDS.contains(&args.command.as_str()) {
        Ok(())
    } else {
        let shown = if args.command.is_empty() { "kubectl" } else { args.command.as_str() };
        Err(format!("\"{shown}\" is not a read-only command (allowed: {})", READ_ONLY_COMMANDS.join(", ")))
    }
}

/// As [`run_read_only`], but any command outside [`READ_ONLY_COMMANDS`] is
/// refused before it reaches the API server: a lesson check looks at the
/// cluster without moving or changing it, whatever its author wrote.
pub fn run_read_only_strict(cluster: &mut Cluster, words: Vec<String>) -> Output {
    if let Err(e) = check_read_only(&words) {
        return Output { stdout: String::new(), stderr: ensure_newline(format!("error: {e}")), exit_code: 1, ..Default::default() };
    }
    run_words_with(cluster, words, None, &NoFiles, false, false)
}

/// Runs a command with the learner's machine's files in front of `files`
/// (the page has no others; a script's folder is below them), and keeps
/// what `kubectl cp` wrote there.
fn run_words_with(cluster: &mut Cluster, words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource, terminal: bool, settle: bool) -> Output {
    use crate::engine::learner_home::{self, HomeFiles};
    let machine = cluster.learner.clone();
    // Relative paths are the terminal's directory's (`cd` keeps it).
    let cwd = cluster.learner_shell.cwd.clone();
    let (mounts, disk) = (crate::engine::node::container_fs::Mounts::default(), crate::engine::node::filesystem::Fs::new());
    let view = learner_home::view(&machine, &mounts, &disk);
    let home = HomeFiles::new(&view, &cwd, files);
    let mut output = run_session(cluster, words, stdin, &home, terminal, settle);
    let writes = home.writes.take();
    drop(home);
    drop(machine);
    if !writes.is_empty() {
        let learner = std::rc::Rc::make_mut(&mut cluster.learner);
        let (mut mounts, mut disk) = (crate::engine::node::container_fs::Mounts::default(), crate::engine::node::filesystem::Fs::new());
        let now = crate::engine::node::runtime::wall_secs(cluster.sim.now());
        let mut files = crate::engine::node::container_fs::ViewMut { root: learner, mounts: &mut mounts, disk: &mut disk, now, user: &crate::engine::node::identity::ROOT };
        if let Err(e) = learner_home::apply_writes(&mut files, &cwd, writes) {
            output.push_error(&format!("error: {e}\n"));
        }
    }
    output
}

/// As [`run_words`] for kubectl run by the learner's shell, whose files
/// `files` already are (`kubectl cp`'s writes stay in it for the shell).
pub(crate) fn run_words_on_machine(cluster: &mut Cluster, words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource) -> Output {
    run_session(cluster, words, stdin, files, false, true)
}

fn run_session(cluster: &mut Cluster, mut words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource, terminal: bool, settle: bool) -> Output {
    if words.first().is_some_and(|w| w == "kubectl") {
        words.remove(0);
    }
    // kubectl's discovery and mapping read this cluster's custom resources.
    cluster.sim.api.install_custom_resources();
    let args = match args::parse(&words) {
        Ok(a) => a,
        Err(e) => {
            // kubectl diff's flag errors exit 2: its 1 means differences found.
            let exit_code = if e.ends_with(verbs::diff::USAGE_HINT) { verbs::diff::ERROR_EXIT } else { 1 };
            return Output { stdout: String::new(), stderr: ensure_newline(e), exit_code, ..Default::default() };
        }
    };
    // Warnings no command took (a read) are not this command's.
    cluster.sim.api.take_client_warnings();
    let client = client_for(cluster, &args);
    cluster.sim.api.set_client(Some(client));
    let mut session = Session {
        cluster,
        args,
        out: String::new(),
        err: String::new(),
        interleaved: None,
        interactive: None,
        terminal,
        stdin,
        files,
        warnings: Vec::new(),
        warned: Default::default(),
        kustomized: None,
    };
    // pflag's notice for a deprecated flag, as it parses it.
    for _ in 0..session.args.values("record").len() {
        session.warn("Flag --record has been deprecated, --record will be removed in the future\n");
    }
    let requests_before = session.cluster.sim.api.client_requests();
    let result = verbs::dispatch(&mut session);
    // Requests other than kubectl's (the components' as the cluster
    // settles, the page's own reads) are not authorized.
    session.cluster.sim.api.set_client(None);
    // Let the cluster react to what the command did, at this same instant.
    if settle {
        session.cluster.sim.settle();
        // A slow API server or etcd keeps kubectl waiting for its answers, one
        // request after another, while the cluster goes on.
        let requests = session.cluster.sim.api.client_requests().saturating_sub(requests_before);
        let waited_ms = requests.saturating_mul(session.cluster.sim.api.latency().request_ms());
        if waited_ms > 0 {
            session.cluster.sim.run_for_ms(waited_ms);
        }
    }
    // Warnings from requests whose outcome was printed without taking
    // them go before it, as they came before the answer.
    let last_placed = session.warnings.last().map_or((0, 0), |(o, e, _)| (*o, *e));
    session.take_warnings_at(last_placed);
    let mut terminal = session.interleaved.take();
    if terminal.is_none() && !session.warnings.is_empty() {
        let (both, err) = session.placed_warnings();
        terminal = Some(both);
        session.err = err;
    }
    let mut output = Output { stdout: session.out, stderr: session.err, exit_code: 0, terminal, interactive: session.interactive };
    match result {
        Ok(()) => {}
        Err(e) => {
            // kubectl diff exits 1 for differences found, above for errors.
            output.exit_code = if session.args.command == "diff" { verbs::diff::ERROR_EXIT } else { 1 };
            let text = match e {
                Error::Api(api) => format_api_error(&api, &session.cluster.sim.api.host),
                Error::Usage(msg) => format!("error: {msg}\nSee 'kubectl {} --help' for usage.", session.args.verb_path()),
                Error::Message(msg) => msg,
                Error::Silent => String::new(),
                Error::Exit(code, msg) => {
                    output.exit_code = code;
                    msg
                }
            };
            if !text.is_empty() {
                let text = ensure_newline(text);
                output.stderr.push_str(&text);
                if let Some(t) = output.terminal.as_mut() {
                    t.push_str(&text);
                }
            }
        }
    }
    output
}

/// The user in the kubeconfig kubectl reads: kubeadm's admin
/// certificate on kind (`kubernetes-admin`, organisation
/// `kubeadm:cluster-admins`, which kubeadm binds to cluster-admin),
/// minikube's own (`minikube-user` in `system:masters`).
pub fn kubeconfig_user(cluster: &Cluster) -> User {
    match cluster.profile.kind {
        ProfileKind::Default => User::new("kubernetes-admin", &["kubeadm:cluster-admins", rbac::ALL_AUTHENTICATED]),
        ProfileKind::Minikube => User::new("minikube-user", &[rbac::PRIVILEGED_GROUP, rbac::ALL_AUTHENTICATED]),
    }
}

/// Who this command's requests come from: the kubeconfig's user, or
/// whom `--as`/`--as-group`/`--as-uid` ask to impersonate (a refused
/// impersonation is every request's answer).
fn client_for(cluster: &Cluster, args: &Args) -> Client {
    let user = kubeconfig_user(cluster);
    let name = args.value("as").unwrap_or_default();
    let groups = args.values("as-group");
    let uid = args.value("as-uid").filter(|u| !u.is_empty());
    if name.is_empty() && groups.is_empty() && uid.is_none() {
        return Client::new(user);
    }
    match cluster.sim.api.impersonate(&user, name, groups, uid) {
        Ok(acting) => Client::new(acting),
        Err(refusal) => Client { refusal: Some(refusal), ..Client::new(user) },
    }
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
