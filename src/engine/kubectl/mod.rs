//! kubectl: one command line in, what kubectl 1.33 prints out.
//!
//! `run` splits the line as a shell would, parses flags per verb (pflag
//! rules: `-n x`, `-nx`, `--namespace=x`, `--namespace x`), and dispatches to
//! one module per verb. Every request goes through the cluster's API server,
//! so a stopped API server refuses every verb as a real one does.

pub mod args;
pub mod manifest;
pub mod targets;
pub mod printers;

mod verbs;

use crate::engine::api::{ApiError, Reason};
use crate::engine::cluster::Cluster;

pub use args::Args;

/// What a command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Output {
    /// stdout then stderr, as a terminal shows them.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.clone();
        s.push_str(&self.stderr);
        s
    }
}

/// Where `-f PATH` reads files from (the local disk natively, the editor in the browser).
pub trait FileSource {
    fn read(&self, path: &str) -> std::result::Result<String, String>;
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
    pub stdin: Option<&'a str>,
    pub files: &'a dyn FileSource,
}

impl Session<'_> {
    /// The namespace a command works in: `-n`, else `default`.
    pub fn namespace(&self) -> String {
        self.args.value("namespace").unwrap_or("default").to_string()
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
        Reason::InternalError if e.message.starts_with("etcdserver:") => format!("Error from server: {}", e.message),
        _ => format!("Error from server ({}): {}", e.reason.as_str(), e.message),
    }
}

/// Runs one kubectl command line (with or without the leading `kubectl`).
pub fn run(cluster: &mut Cluster, line: &str, stdin: Option<&str>, files: &dyn FileSource) -> Output {
    let words = match shell_words::split(line) {
        Ok(w) => w,
        Err(_) => {
            return Output { stdout: String::new(), stderr: "error: unterminated quote in command line\n".into(), exit_code: 1 };
        }
    };
    run_words(cluster, words, stdin, files)
}

/// As [`run`], for a line already split into words.
pub fn run_words(cluster: &mut Cluster, words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource) -> Output {
    execute(cluster, words, stdin, files, false)
}

/// The commands that only read: they send no write to the API server and
/// let no virtual time pass. Lesson checks may use only these.
pub const READ_ONLY_COMMANDS: &[&str] = &[
    "get", "describe", "logs", "events", "version", "cluster-info", "api-resources", "api-versions", "explain",
    "rollout history", "config view", "config current-context", "config get-contexts",
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

/// Runs a read-only command (see [`READ_ONLY_COMMANDS`]) exactly as the
/// terminal would, except that no component runs afterwards: a lesson check
/// looks at the cluster without moving it. Any other command is refused
/// before it reaches the API server.
pub fn run_read_only(cluster: &mut Cluster, words: Vec<String>) -> Output {
    if let Err(e) = check_read_only(&words) {
        return Output { stdout: String::new(), stderr: ensure_newline(format!("error: {e}")), exit_code: 1 };
    }
    execute(cluster, words, None, &NoFiles, true)
}

fn execute(cluster: &mut Cluster, mut words: Vec<String>, stdin: Option<&str>, files: &dyn FileSource, read_only: bool) -> Output {
    if words.first().is_some_and(|w| w == "kubectl") {
        words.remove(0);
    }
    let args = match args::parse(&words) {
        Ok(a) => a,
        Err(e) => return Output { stdout: String::new(), stderr: ensure_newline(e), exit_code: 1 },
    };
    let mut session = Session { cluster, args, out: String::new(), err: String::new(), stdin, files };
    let result = verbs::dispatch(&mut session);
    if !read_only {
        // Let the cluster react to what the command did, at this same instant.
        session.cluster.sim.settle();
    }
    let mut output = Output { stdout: session.out, stderr: session.err, exit_code: 0 };
    match result {
        Ok(()) => {}
        Err(e) => {
            output.exit_code = 1;
            let text = match e {
                Error::Api(api) => format_api_error(&api, &session.cluster.sim.api.host),
                Error::Usage(msg) => format!("error: {msg}\nSee 'kubectl {} --help' for usage.", session.args.verb_path()),
                Error::Message(msg) => msg,
                Error::Silent => String::new(),
            };
            if !text.is_empty() {
                output.stderr.push_str(&ensure_newline(text));
            }
        }
    }
    output
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
