//! The programs the simulated shell runs inside a container: busybox
//! applets (busybox, alpine) or GNU coreutils and friends (Debian images),
//! each in its own wording. They read and write the container's files
//! through [`Files`] and print into buffers; the shell routes the output
//! (terminal, log, pipe, file).
//!
//! Implemented: `cat`, `ls` (`-l -a -A -R -1 -d -h`), `echo`, `env`,
//! `printenv`, `hostname`, `id`, `whoami`, `ps`, `touch`, `rm` (`-r -f`),
//! `mkdir` (`-p`), `rmdir`, `date` (`-u`, `+FORMAT`), `df` (`-h`), `mount`,
//! `pwd`, `uname` (`-a -r -s -n -m`), `wc` (`-l -w -c`), `head`/`tail`
//! (`-n N`), `grep` (`-i -v -c -n -q -E -F -w`, basic and extended regular
//! expressions), `test`/`[`, `true`, `false`, `printf`, `seq`, `sort`
//! (`-r -n -u`), `uniq` (`-c`), `tee` (`-a`), `cp` (`-r`), `mv`,
//! `basename`, `dirname`, `which`, `cut` (`-d -f`), `tr`, `kill`; `sed`
//! and `awk` (in `sed.rs`, `awk.rs`); `jq` (in `jq/`, the learner's
//! machine's only).

use crate::engine::sort::SortStable;
use indexmap::IndexMap;
use k8s_openapi::jiff::{tz::TimeZone, Timestamp};

use super::container_fs::{self as cfs, Files, Mount};
use super::filesystem::{file_name, join, normalize, Errno, Inode, Kind};
use super::identity::{self, ProcessUser};
use super::images::{Base, Toolkit};

/// Marks where `$(date)` output goes; filled in when the line is written.
pub const DATE_MARK: char = '\u{1}';

/// One process in the container, for `ps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub command: String,
}

/// Who the container is, for programs that ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodIdentity {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub ip: String,
    pub node: String,
    pub container: String,
}

/// Sizes `df` reports for one mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub total_kb: u64,
    pub used_kb: u64,
}

/// What programs can learn about the system they run on.
#[derive(Clone, Debug)]
pub struct SystemInfo {
    pub hostname: String,
    pub base: Base,
    pub kernel: String,
    /// Wall-clock seconds now; `None` while a main process is evaluated
    /// ahead of time (then `date` prints a mark filled in when it runs).
    pub now: Option<i64>,
    pub processes: Vec<Process>,
    /// The container's mounts in `/proc/mounts` order, with `df` sizes.
    pub mounts: Vec<(Mount, Option<Usage>)>,
    /// Whether a terminal is attached (`ls` prints columns).
    pub tty: bool,
    pub pod: PodIdentity,
}

impl SystemInfo {
    pub fn toolkit(&self) -> Toolkit {
        self.base.toolkit()
    }
}

/// One program run: its arguments, input, and where its output goes.
pub struct Cmd<'a> {
    /// The program's name as invoked (without directory).
    pub name: &'a str,
    pub args: &'a [String],
    pub stdin: &'a str,
    pub out: String,
    /// Written through [`Cmd::error_text`], which notes where stdout stood.
    pub err: String,
    /// (stdout's length, stderr's length) before each write to stderr.
    pub err_marks: Vec<(usize, usize)>,
    pub files: &'a mut dyn Files,
    pub cwd: &'a str,
    pub env: &'a IndexMap<String, String>,
    pub info: &'a SystemInfo,
}

impl Cmd<'_> {
    fn busybox(&self) -> bool {
        self.info.toolkit() == Toolkit::Busybox
    }
    fn say(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }
    fn complain(&mut self, text: String) {
        self.error_text(&text);
        self.err.push('\n');
    }
    /// Writes to stderr. The streams show in the order written, as a
    /// terminal shows them: coreutils' `error` and busybox's
    /// `bb_error_msg` flush stdout before they write.
    pub fn error_text(&mut self, text: &str) {
        self.error_text_at(self.out.len(), text);
    }
    /// Writes to stderr as if stdout stood at `out_len` (a program that
    /// keeps output of its own to add to `out` later).
    pub fn error_text_at(&mut self, out_len: usize, text: &str) {
        self.err_marks.push((out_len, self.err.len()));
        self.err.push_str(text);
    }
    /// `prog: path: No such file or directory`, which both toolkits print alike.
    fn errno(&mut self, path: &str, e: Errno) {
        let line = format!("{}: {path}: {}", self.name, e.message());
        self.complain(line);
    }
}

/// A program's stdout and stderr in the order written, from the marks
/// [`Cmd::error_text`] left: (1 for stdout or 2, text).
pub fn written_in_order<'t>(out: &'t str, err: &'t str, err_marks: &[(usize, usize)]) -> Vec<(u8, &'t str)> {
    let mut pieces = Vec::with_capacity(err_marks.len() * 2 + 1);
    let mut out_from = 0;
    // Text written to `err` directly, before any mark, leads stderr's.
    let mut err_from = 0;
    for (i, &(out_at, _)) in err_marks.iter().enumerate() {
        let out_at = out_at.min(out.len());
        if out_at > out_from {
            pieces.push((1, out.get(out_from..out_at).unwrap_or("")));
            out_from = out_at;
        }
        let err_to = err_marks.get(i + 1).map_or(err.len(), |m| m.1.min(err.len()));
        if err_to > err_from {
            pieces.push((2, err.get(err_from..err_to).unwrap_or("")));
            err_from = err_to;
        }
    }
    if out.len() > out_from {
        pieces.push((1, out.get(out_from..).unwrap_or("")));
    }
    if err.len() > err_from {
        pieces.push((2, err.get(err_from..).unwrap_or("")));
    }
    pieces
}

/// Whether this module runs `name`.
pub fn provides(name: &str) -> bool {
    matches!(
        name,
        "cat" | "ls" | "echo" | "env" | "printenv" | "hostname" | "id" | "whoami" | "ps" | "touch" | "chmod" | "rm" | "mkdir" | "rmdir" | "date"
            | "df" | "mount" | "pwd" | "uname" | "wc" | "head" | "tail" | "grep" | "egrep" | "fgrep" | "test" | "[" | "true" | "false"
            | "printf" | "seq" | "sort" | "uniq" | "tee" | "cp" | "mv" | "basename" | "dirname" | "which" | "cut" | "tr" | "kill"
            | "base64" | "sed" | "awk" | "mawk" | "jq" | "ln" | "readlink" | "chown" | "chgrp"
    )
}

/// Runs a program; its exit status.
pub fn run(cmd: &mut Cmd) -> i32 {
    match cmd.name {
        "cat" => cat(cmd),
        "ls" => ls(cmd),
        "ln" => ln(cmd),
        "chown" | "chgrp" => chown(cmd),
        "readlink" => readlink(cmd),
        "echo" => echo(cmd, false),
        "env" | "printenv" => env(cmd),
        "hostname" => hostname(cmd),
        "id" => id(cmd),
        "whoami" => whoami(cmd),
        "ps" => ps(cmd),
        "touch" => touch(cmd),
        "chmod" => chmod(cmd),
        "rm" => rm(cmd),
        "mkdir" => mkdir(cmd),
        "rmdir" => rmdir(cmd),
        "date" => date(cmd),
        "df" => df(cmd),
        "mount" => mount(cmd),
        "pwd" => {
            let cwd = cmd.cwd.to_string();
            cmd.say(&cwd);
            0
        }
        "uname" => uname(cmd),
        "wc" => wc(cmd),
        "head" | "tail" => head_tail(cmd),
        "grep" | "egrep" | "fgrep" => grep(cmd),
        "test" | "[" => test(cmd),
        "true" => 0,
        "false" => 1,
        "printf" => printf(cmd),
        "seq" => seq(cmd),
        "sort" => sort(cmd),
        "uniq" => uniq(cmd),
        "tee" => tee(cmd),
        "cp" | "mv" => copy_move(cmd),
        "basename" => basename(cmd),
        "dirname" => dirname(cmd),
        "which" => which(cmd),
        "cut" => cut(cmd),
        "tr" => tr(cmd),
        "kill" => kill(cmd),
        "base64" => base64(cmd),
        "sed" => super::sed::run(cmd),
        "awk" | "mawk" => super::awk::run(cmd),
        "jq" => super::jq::run(cmd),
        _ => 127,
    }
}

fn missing_operand(cmd: &mut Cmd) -> i32 {
    let line = if cmd.busybox() {
        format!("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {} FILE", cmd.name)
    } else {
        format!("{}: missing operand\nTry '{} --help' for more information.", cmd.name, cmd.name)
    };
    cmd.complain(line);
    1
}

/// Splits `-abc` style flags (until `--` or the first operand) from operands.
fn flags_and_operands(args: &[String]) -> (String, Vec<String>) {
    let mut flags = String::new();
    let mut operands = Vec::new();
    let mut done = false;
    for a in args {
        if !done && a == "--" {
            done = true;
        } else if !done && a.starts_with('-') && a.len() > 1 && !a.starts_with("--") {
            flags.push_str(&a[1..]);
        } else if !done && a.starts_with("--") {
            flags.push_str(&format!("[{a}]"));
        } else {
            operands.push(a.clone());
        }
    }
    (flags, operands)
}

/// One word of a command line as `getopt_long` reads it.
enum Word<'a> {
    /// An operand: a word without a leading `-`, a lone `-`, or anything after `--`.
    Operand(&'a str),
    /// `--name` or `--name=value`.
    Long(&'a str, Option<&'a str>),
    /// The letters of a cluster of short options (`-nr` gives `nr`).
    Short(&'a str),
}

/// A command line read word by word; an option's value that is the next
/// word is taken with [`CommandWords::value`].
struct CommandWords<'a> {
    args: &'a [String],
    next: usize,
    only_operands: bool,
}

impl<'a> CommandWords<'a> {
    fn new(args: &'a [String]) -> Self {
        CommandWords { args, next: 0, only_operands: false }
    }

    fn next_word(&mut self) -> Option<Word<'a>> {
        loop {
            let a = self.args.get(self.next)?.as_str();
            self.next += 1;
            if self.only_operands || a == "-" || !a.starts_with('-') {
                return Some(Word::Operand(a));
            }
            if a == "--" {
                self.only_operands = true;
                continue;
            }
            return Some(match a.strip_prefix("--") {
                Some(long) => match long.split_once('=') {
                    Some((name, value)) => Word::Long(name, Some(value)),
                    None => Word::Long(long, None),
                },
                None => Word::Short(&a[1..]),
            });
        }
    }

    /// The next word, as the value of the option before it.
    fn value(&mut self) -> Option<&'a str> {
        let v = self.args.get(self.next)?;
        self.next += 1;
        Some(v)
    }
}

fn input_lines(cmd: &mut Cmd, operands: &[String]) -> Option<String> {
    if operands.is_empty() || operands.iter().all(|o| o == "-") {
        return Some(cmd.stdin.to_string());
    }
    let mut all = String::new();
    let mut ok = true;
    for f in operands {
        match cfs::read_file(cmd.files, cmd.cwd, f) {
            Ok(c) => all.push_str(&c),
            Err(e) => {
                let line = if cmd.busybox() && e == Errno::NoEnt {
                    format!("{}: can't open '{f}': {}", cmd.name, e.message())
                } else {
                    format!("{}: {f}: {}", cmd.name, e.message())
                };
                cmd.complain(line);
                ok = false;
            }
        }
    }
    if ok {
        Some(all)
    } else if all.is_empty() {
        None
    } else {
        Some(all)
    }
}

/// What `cat`'s options change in the text it copies.
#[derive(Clone, Copy, Default)]
struct CatShow {
    number: bool,
    nonblank: bool,
    ends: bool,
    tabs: bool,
    nonprinting: bool,
    squeeze: bool,
}

impl CatShow {
    fn changes_text(self) -> bool {
        self.number || self.nonblank || self.ends || self.tabs || self.nonprinting || self.squeeze
    }
}

/// Where `cat` is in its output: numbering and squeezing run on across files.
#[derive(Default)]
struct CatState {
    line: usize,
    at_line_start: bool,
    empty_lines: usize,
}

/// `text` as `cat` with `show` writes it (coreutils' `cat`, byte by byte;
/// busybox's numbers lines the same way).
fn cat_shown(text: &str, show: CatShow, state: &mut CatState, out: &mut Vec<u8>) {
    let number_lines = show.number || show.nonblank;
    for &b in text.as_bytes() {
        if state.at_line_start && b == b'\n' {
            state.empty_lines += 1;
            if show.squeeze && state.empty_lines > 1 {
                continue;
            }
            if show.number && !show.nonblank {
                state.line += 1;
                out.extend_from_slice(format!("{:>6}\t", state.line).as_bytes());
            }
            if show.ends {
                out.push(b'$');
            }
            out.push(b'\n');
            continue;
        }
        if state.at_line_start {
            state.at_line_start = false;
            state.empty_lines = 0;
            if number_lines {
                state.line += 1;
                out.extend_from_slice(format!("{:>6}\t", state.line).as_bytes());
            }
        }
        match b {
            b'\n' => {
                if show.ends {
                    out.push(b'$');
                }
                out.push(b'\n');
                state.at_line_start = true;
            }
            b'\t' if show.tabs => out.extend_from_slice(b"^I"),
            b'\t' => out.push(b),
            _ if show.nonprinting => {
                let low = if b >= 128 {
                    out.extend_from_slice(b"M-");
                    b - 128
                } else {
                    b
                };
                match low {
                    0..=31 => out.extend_from_slice(&[b'^', low + 64]),
                    127 => out.extend_from_slice(b"^?"),
                    _ => out.push(low),
                }
            }
            _ => out.push(b),
        }
    }
}

fn cat(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let mut show = CatShow::default();
    let mut operands = Vec::new();
    let mut only_operands = false;
    for a in cmd.args {
        if only_operands || a == "-" || !a.starts_with('-') {
            operands.push(a.clone());
            continue;
        }
        let long = match a.as_str() {
            "--" => {
                only_operands = true;
                continue;
            }
            _ if busybox && a.starts_with("--") => {
                cmd.complain(format!("cat: unrecognized option '{a}'\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: cat [-nbvteA] [FILE]..."));
                return 1;
            }
            _ if !a.starts_with("--") => None,
            "--number" => Some("n"),
            "--number-nonblank" => Some("b"),
            "--show-all" => Some("A"),
            "--show-ends" => Some("E"),
            "--show-tabs" => Some("T"),
            "--show-nonprinting" => Some("v"),
            "--squeeze-blank" => Some("s"),
            _ => {
                cmd.complain(format!("cat: unrecognized option '{a}'\nTry 'cat --help' for more information."));
                return 1;
            }
        };
        for c in long.unwrap_or(&a[1..]).chars() {
            match c {
                'n' => show.number = true,
                'b' => show.nonblank = true,
                'e' => (show.nonprinting, show.ends) = (true, true),
                't' => (show.nonprinting, show.tabs) = (true, true),
                'A' => (show.nonprinting, show.ends, show.tabs) = (true, true, true),
                'v' => show.nonprinting = true,
                'u' => {}
                'E' | 'T' | 's' if !busybox => match c {
                    'E' => show.ends = true,
                    'T' => show.tabs = true,
                    _ => show.squeeze = true,
                },
                _ => {
                    let line = if busybox {
                        format!("cat: invalid option -- '{c}'\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: cat [-nbvteA] [FILE]...")
                    } else {
                        format!("cat: invalid option -- '{c}'\nTry 'cat --help' for more information.")
                    };
                    cmd.complain(line);
                    return 1;
                }
            }
        }
    }
    if operands.is_empty() {
        operands.push("-".to_string());
    }
    let mut state = CatState { at_line_start: true, ..CatState::default() };
    let mut status = 0;
    for f in &operands {
        let read = if f == "-" { Ok(cmd.stdin.to_string()) } else { cfs::read_file(cmd.files, cmd.cwd, f) };
        match read {
            Ok(text) if show.changes_text() => {
                let mut shown = Vec::with_capacity(text.len() + text.len() / 8);
                cat_shown(&text, show, &mut state, &mut shown);
                cmd.out.push_str(&String::from_utf8_lossy(&shown));
            }
            Ok(text) => cmd.out.push_str(&text),
            Err(e) => {
                status = 1;
                let line = match (busybox, e) {
                    (true, Errno::IsDir) => "cat: read error: Is a directory".to_string(),
                    (true, _) => format!("cat: can't open '{f}': {}", e.message()),
                    (false, _) => format!("cat: {f}: {}", e.message()),
                };
                cmd.complain(line);
            }
        }
    }
    status
}

fn echo(cmd: &mut Cmd, escapes_always: bool) -> i32 {
    let mut rest = cmd.args;
    let mut newline = true;
    let mut escapes = escapes_always;
    while let Some(flag) = rest.first() {
        if flag.len() < 2 || !flag.starts_with('-') || !flag[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E')) {
            break;
        }
        for c in flag[1..].chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        rest = &rest[1..];
    }
    let mut text = rest.join(" ");
    if escapes {
        let (expanded, stop) = unescape(&text);
        text = expanded;
        if stop {
            newline = false;
        }
    }
    cmd.out.push_str(&text);
    if newline {
        cmd.out.push('\n');
    }
    0
}

/// The shells' `echo` and `printf` escapes; `\c` stops output.
pub fn unescape(text: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('e') => out.push('\u{1b}'),
            Some('c') => return (out, true),
            Some('0') => {
                let mut value = 0u32;
                for _ in 0..3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('?'));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

/// `echo` as dash runs it: escapes always interpreted.
pub fn dash_echo(cmd: &mut Cmd) -> i32 {
    echo(cmd, true)
}

fn env(cmd: &mut Cmd) -> i32 {
    let (_, operands) = flags_and_operands(cmd.args);
    if cmd.name == "printenv" && !operands.is_empty() {
        let mut status = 0;
        for name in &operands {
            match cmd.env.get(name).cloned() {
                Some(v) => cmd.say(&v),
                None => status = 1,
            }
        }
        return status;
    }
    let lines: Vec<String> = cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for l in lines {
        cmd.say(&l);
    }
    0
}

fn hostname(cmd: &mut Cmd) -> i32 {
    let (flags, _) = flags_and_operands(cmd.args);
    let short = cmd.info.hostname.clone();
    // `-f` and `-d` resolve the name (`gethostbyname`): the kubelet's
    // /etc/hosts line for the pod names its FQDN first when the pod has a
    // subdomain (`web.sub.ns.svc.cluster.local web`).
    let canonical = || {
        let hosts = cfs::read_file(&*cmd.files, "/", "/etc/hosts").unwrap_or_default();
        hosts
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .find_map(|l| {
                let names: Vec<&str> = l.split_whitespace().skip(1).collect();
                names.contains(&short.as_str()).then(|| names.first().map(|n| n.to_string())).flatten()
            })
            .unwrap_or_else(|| short.clone())
    };
    let value = if flags.contains('i') {
        cmd.info.pod.ip.clone()
    } else if flags.contains('f') {
        canonical()
    } else if flags.contains('d') {
        match canonical().split_once('.') {
            Some((_, domain)) => domain.to_string(),
            // busybox prints nothing for a name without a domain.
            None if cmd.info.toolkit() == Toolkit::Busybox => return 0,
            None => String::new(),
        }
    } else if flags.contains('s') {
        short.split('.').next().unwrap_or_default().to_string()
    } else {
        short.clone()
    };
    cmd.say(&value);
    0
}

/// The container's `/etc/passwd` and `/etc/group`, as its programs read them.
fn account_files(cmd: &Cmd) -> (String, String) {
    let read = |path: &str| cfs::read_file(&*cmd.files, "/", path).unwrap_or_default();
    (read("/etc/passwd"), read("/etc/group"))
}

/// The groups `id` lists: busybox prints the kernel's list as it is
/// (sorted); coreutils prints the primary group first, then the others.
fn listed_groups(user: &ProcessUser, busybox: bool) -> Vec<u32> {
    if busybox {
        return user.groups.clone();
    }
    std::iter::once(user.gid).chain(user.groups.iter().copied().filter(|g| *g != user.gid)).collect()
}

fn id(cmd: &mut Cmd) -> i32 {
    let (flags, _) = flags_and_operands(cmd.args);
    let by_name = flags.contains('n');
    let busybox = cmd.busybox();
    let user = cmd.files.user().clone();
    let (passwd, group) = account_files(cmd);
    let user_name = identity::user_name(&passwd, user.uid);
    let with_name = |id: u32, name: Option<&str>| name.map_or_else(|| id.to_string(), |n| format!("{id}({n})"));
    let mut status = 0;
    let mut one = |id: u32, name: Option<&str>, what: &str, cmd: &mut Cmd| -> String {
        match name {
            Some(n) if by_name => n.to_string(),
            None if by_name => {
                status = 1;
                if !busybox {
                    cmd.complain(format!("id: cannot find name for {what} ID {id}"));
                }
                id.to_string()
            }
            _ => id.to_string(),
        }
    };
    if flags.contains('u') {
        let line = one(user.uid, user_name, "user", cmd);
        cmd.say(&line);
    } else if flags.contains('g') {
        let line = one(user.gid, identity::group_name(&group, user.gid), "group", cmd);
        cmd.say(&line);
    } else if flags.contains('G') {
        let names: Vec<String> = listed_groups(&user, busybox).into_iter().map(|g| one(g, identity::group_name(&group, g), "group", cmd)).collect();
        cmd.say(&names.join(" "));
    } else {
        let groups: Vec<String> = listed_groups(&user, busybox).into_iter().map(|g| with_name(g, identity::group_name(&group, g))).collect();
        let line = format!("uid={} gid={} groups={}", with_name(user.uid, user_name), with_name(user.gid, identity::group_name(&group, user.gid)), groups.join(","));
        cmd.say(&line);
    }
    status
}

fn whoami(cmd: &mut Cmd) -> i32 {
    let uid = cmd.files.user().uid;
    let (passwd, _) = account_files(cmd);
    match identity::user_name(&passwd, uid) {
        Some(name) => {
            cmd.say(name);
            0
        }
        None => {
            let line = if cmd.busybox() { format!("whoami: unknown uid {uid}") } else { format!("whoami: cannot find name for user ID {uid}") };
            cmd.complain(line);
            1
        }
    }
}

fn ps(cmd: &mut Cmd) -> i32 {
    cmd.say("PID   USER     TIME  COMMAND");
    let mut processes = cmd.info.processes.clone();
    // `ps` lists itself when a shell started it.
    if processes.last().is_some_and(|p| !p.command.starts_with("ps")) && processes.len() > 1 {
        let pid = processes.iter().map(|p| p.pid).max().unwrap_or(1) + 6;
        let args = std::iter::once("ps".to_string()).chain(cmd.args.iter().cloned()).collect::<Vec<_>>().join(" ");
        processes.push(Process { pid, command: args });
    }
    let uid = cmd.files.user().uid;
    let (passwd, _) = account_files(cmd);
    let user = identity::user_name(&passwd, uid).map_or_else(|| uid.to_string(), str::to_string);
    let user: String = user.chars().take(8).collect();
    let rows: Vec<String> = processes.iter().map(|p| format!("{:>5} {user:<8}  0:00 {}", p.pid, p.command)).collect();
    for r in rows {
        cmd.say(&r);
    }
    0
}

fn touch(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    if operands.is_empty() {
        return missing_operand(cmd);
    }
    let mut status = 0;
    for f in &operands {
        // `-c`: no file is made where there is none.
        if flags.contains('c') && cfs::lstat(cmd.files, cmd.cwd, f).is_err() {
            continue;
        }
        if let Err(e) = cfs::touch(cmd.files, cmd.cwd, f) {
            status = 1;
            let line = if cmd.busybox() { format!("touch: {f}: {}", e.message()) } else { format!("touch: cannot touch '{f}': {}", e.message()) };
            cmd.complain(line);
        }
    }
    status
}

/// A mode as `chmod` reads it: octal, or symbolic clauses
/// (`u+x,go-w`, `a=r`, `+X`), applied to an entry's permission bits.
fn chmod_mode(mode: &str, old: u32, is_dir: bool) -> Option<u32> {
    if !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return (mode.len() <= 4).then(|| u32::from_str_radix(mode, 8).ok()).flatten();
    }
    // The process' umask (022) limits a clause that names no one.
    const UMASK: u32 = 0o022;
    let mut bits = old;
    for clause in mode.split(',') {
        let who_end = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let (who, mut actions) = clause.split_at(who_end);
        if actions.is_empty() || !who.chars().all(|c| "ugoa".contains(c)) {
            return None;
        }
        let mut mask = 0;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                _ => 0o7777,
            };
        }
        let everyone = who.is_empty();
        if everyone {
            mask = 0o7777;
        }
        while let Some(op) = actions.chars().next() {
            let perms_end = actions[1..].find(['+', '-', '=']).map_or(actions.len(), |i| i + 1);
            let perms = &actions[1..perms_end];
            actions = &actions[perms_end..];
            // Permission letters, or one class to copy from (`g=u`), not both.
            let copies = perms.contains(['u', 'g', 'o']);
            if copies && perms.len() != 1 {
                return None;
            }
            let mut chosen = 0;
            for c in perms.chars() {
                chosen |= match c {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || bits & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    // Another class' bits: `g=u`.
                    'u' => ((bits >> 6) & 7) * 0o111,
                    'g' => ((bits >> 3) & 7) * 0o111,
                    'o' => (bits & 7) * 0o111,
                    _ => return None,
                };
            }
            let limit = if everyone { mask & !UMASK } else { mask };
            match op {
                '+' => bits |= chosen & limit,
                '-' => bits &= !(chosen & limit),
                _ => bits = (bits & !mask) | (chosen & limit),
            }
        }
    }
    Some(bits)
}

fn chmod(cmd: &mut Cmd) -> i32 {
    let mut recursive = false;
    let mut operands: Vec<String> = Vec::new();
    let mut options_done = false;
    for a in cmd.args {
        // `-R`, `-f`, `-v`, `-c`; `-x` or `-w` is a mode.
        if !options_done && a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "Rfvc".contains(c)) {
            recursive |= a.contains('R');
        } else if a == "--" && !options_done {
            options_done = true;
        } else {
            operands.push(a.clone());
        }
    }
    let Some((mode, files)) = operands.split_first() else { return missing_operand(cmd) };
    if files.is_empty() {
        let line = if cmd.busybox() { format!("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: chmod [-Rcvf] MODE[,MODE]... FILE...") } else { format!("chmod: missing operand after '{mode}'\nTry 'chmod --help' for more information.") };
        cmd.complain(line);
        return 1;
    }
    if chmod_mode(mode, 0, false).is_none() {
        let line = if cmd.busybox() { format!("chmod: invalid mode '{mode}'") } else { format!("chmod: invalid mode: '{mode}'\nTry 'chmod --help' for more information.") };
        cmd.complain(line);
        return 1;
    }
    let mut status = 0;
    let mut pending: Vec<String> = files.to_vec();
    pending.reverse();
    while let Some(f) = pending.pop() {
        let (at, mut inode) = match cfs::stat(cmd.files, cmd.cwd, &f) {
            Ok(found) => found,
            Err(e) => {
                status = 1;
                let line = if cmd.busybox() { format!("chmod: {f}: {}", e.message()) } else { format!("chmod: cannot access '{f}': {}", e.message()) };
                cmd.complain(line);
                continue;
            }
        };
        let user = cmd.files.user();
        if user.uid != 0 && user.uid != inode.uid {
            status = 1;
            let line = if cmd.busybox() { format!("chmod: {f}: Operation not permitted") } else { format!("chmod: changing permissions of '{f}': Operation not permitted") };
            cmd.complain(line);
            continue;
        }
        let is_dir = inode.is_dir();
        inode.mode = chmod_mode(mode, inode.mode, is_dir).unwrap_or(inode.mode);
        if let Err(e) = cmd.files.put_attributes(&at, inode) {
            status = 1;
            let line = if cmd.busybox() { format!("chmod: {f}: {}", e.message()) } else { format!("chmod: changing permissions of '{f}': {}", e.message()) };
            cmd.complain(line);
            continue;
        }
        if recursive && is_dir {
            if let Ok(entries) = cfs::list_dir(cmd.files, cmd.cwd, &f) {
                let within = |name: &str| if f.ends_with('/') { format!("{f}{name}") } else { format!("{f}/{name}") };
                // Links met below are not followed (`-R`'s default, `-P`).
                pending.extend(entries.iter().rev().filter(|(_, i)| !matches!(i.kind, Kind::Symlink(_))).map(|(name, _)| within(name)));
            }
        }
    }
    status
}

/// A command line as GNU's getopt permutes it: the options (each word that
/// starts with `-`, before a `--`), then the operands (`-` alone is one).
fn options_and_operands(args: &[String]) -> (Vec<&str>, Vec<String>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut options_done = false;
    for a in args {
        if options_done || a == "-" || !a.starts_with('-') {
            operands.push(a.clone());
        } else if a == "--" {
            options_done = true;
        } else {
            options.push(a.as_str());
        }
    }
    (options, operands)
}

/// GNU's "invalid option" or "unrecognized option" lines for `arg`, with
/// its pointer to `--help`; busybox names the option and shows its usage.
fn bad_option(cmd: &mut Cmd, arg: &str, letter: char, usage: &str) -> i32 {
    let line = if cmd.busybox() {
        format!("{}: unrecognized option '{arg}'\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {usage}", cmd.name)
    } else if arg.starts_with("--") {
        format!("{0}: unrecognized option '{arg}'\nTry '{0} --help' for more information.", cmd.name)
    } else {
        format!("{0}: invalid option -- '{letter}'\nTry '{0} --help' for more information.", cmd.name)
    };
    cmd.complain(line);
    1
}

const LN_USAGE: &str = "ln [-sfnbtv] [-S SUF] TARGET... LINK|DIR";

/// `ln -s` (GNU coreutils 9.1, busybox 1.37): symbolic links, with `-f`,
/// `-n`, `-T`, `-t DIR` and `-v`. A hard link would share one file between
/// two names, which this simulation's files cannot, so it is refused by name.
fn ln(cmd: &mut Cmd) -> i32 {
    let (mut symbolic, mut force, mut no_dereference, mut verbose, mut no_target_dir) = (false, false, false, false, false);
    let mut target_dir: Option<String> = None;
    let mut operands: Vec<String> = Vec::new();
    let mut args = cmd.args.iter();
    let mut options_done = false;
    while let Some(a) = args.next() {
        if options_done || a == "-" || !a.starts_with('-') {
            operands.push(a.clone());
            continue;
        }
        if a == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = long.split_once('=').map_or((long, None), |(n, v)| (n, Some(v.to_string())));
            match name {
                "symbolic" => symbolic = true,
                "force" => force = true,
                "no-dereference" => no_dereference = true,
                "verbose" => verbose = true,
                "no-target-directory" => no_target_dir = true,
                "target-directory" => target_dir = value.or_else(|| args.next().cloned()),
                "relative" | "backup" | "interactive" | "logical" | "physical" | "suffix" | "directory" => return ln_not_simulated(cmd, a),
                _ => return bad_option(cmd, a, '-', LN_USAGE),
            }
            continue;
        }
        let letters: Vec<char> = a.chars().skip(1).collect();
        for (i, c) in letters.iter().enumerate() {
            match c {
                's' => symbolic = true,
                'f' => force = true,
                'n' => no_dereference = true,
                'v' => verbose = true,
                'T' => no_target_dir = true,
                't' => {
                    let rest: String = letters[i + 1..].iter().collect();
                    target_dir = if rest.is_empty() { args.next().cloned() } else { Some(rest) };
                    break;
                }
                'r' | 'b' | 'i' | 'L' | 'P' | 'S' | 'd' | 'F' => return ln_not_simulated(cmd, &format!("-{c}")),
                _ => return bad_option(cmd, a, *c, LN_USAGE),
            }
        }
    }
    if operands.is_empty() {
        let line = if cmd.busybox() { format!("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {LN_USAGE}") } else { "ln: missing file operand\nTry 'ln --help' for more information.".to_string() };
        cmd.complain(line);
        return 1;
    }
    if !symbolic {
        cmd.complain("ln: hard links are not simulated (a file here has one name); use ln -s for a symbolic link".into());
        return 1;
    }
    // Where each link goes: into a directory (the target's last name), or at the last operand.
    let (targets, into): (Vec<String>, Option<String>) = match (&target_dir, no_target_dir, operands.len()) {
        (Some(dir), _, _) => (operands.clone(), Some(dir.clone())),
        (None, true, 1) => {
            cmd.complain(format!("ln: missing destination file operand after '{}'\nTry 'ln --help' for more information.", operands[0]));
            return 1;
        }
        (None, true, n) if n > 2 => {
            cmd.complain(format!("ln: extra operand '{}'\nTry 'ln --help' for more information.", operands[2]));
            return 1;
        }
        (None, _, 1) => (operands.clone(), Some(".".to_string())),
        (None, no_target, n) => {
            let last = operands[n - 1].clone();
            let last_is_dir = !no_target && {
                let link = cfs::lstat(cmd.files, cmd.cwd, &last).is_ok_and(|(_, i)| matches!(i.kind, Kind::Symlink(_)));
                !(no_dereference && link) && cfs::stat(cmd.files, cmd.cwd, &last).is_ok_and(|(_, i)| i.is_dir())
            };
            if last_is_dir {
                (operands[..n - 1].to_vec(), Some(last))
            } else if n > 2 {
                let why = match cfs::stat(cmd.files, cmd.cwd, &last) {
                    Err(e) => e.message(),
                    Ok(_) => Errno::NotDir.message(),
                };
                let line = if cmd.busybox() { format!("ln: {last}: {why}") } else { format!("ln: target '{last}': {why}") };
                cmd.complain(line);
                return 1;
            } else {
                (vec![operands[0].clone()], None)
            }
        }
    };
    let mut status = 0;
    for target in &targets {
        let dest = match &into {
            Some(dir) if dir == "." && target_dir.is_none() => file_name(target.trim_end_matches('/')).to_string(),
            Some(dir) => {
                let name = file_name(target.trim_end_matches('/'));
                if dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") }
            }
            None => operands[operands.len() - 1].clone(),
        };
        if let Err(line) = ln_one(cmd, target, &dest, force) {
            cmd.complain(line);
            status = 1;
        } else if verbose {
            cmd.say(&format!("'{dest}' -> '{target}'"));
        }
    }
    status
}

/// One symbolic link at `dest` to `target`: `ln`'s error line if it fails.
fn ln_one(cmd: &mut Cmd, target: &str, dest: &str, force: bool) -> Result<(), String> {
    let failed = |busybox: bool, e: Errno| {
        if busybox {
            format!("ln: {dest}: {}", e.message())
        } else if target.is_empty() {
            format!("ln: failed to create symbolic link '{dest}' -> '': {}", e.message())
        } else {
            format!("ln: failed to create symbolic link '{dest}': {}", e.message())
        }
    };
    let busybox = cmd.busybox();
    if force && !dest.is_empty() {
        if let Ok((at, existing)) = cfs::lstat(cmd.files, cmd.cwd, dest) {
            if existing.is_dir() {
                return Err(if busybox { format!("ln: {dest}: Is a directory") } else { format!("ln: {dest}: cannot overwrite directory") });
            }
            if normalize(cmd.cwd, target) == at && !busybox {
                return Err(format!("ln: '{target}' and '{dest}' are the same file"));
            }
            cfs::remove(cmd.files, cmd.cwd, dest, false, false).map_err(|e| failed(busybox, e))?;
        }
    }
    cfs::symlink(cmd.files, cmd.cwd, dest, target).map_err(|e| failed(busybox, e))
}

fn ln_not_simulated(cmd: &mut Cmd, option: &str) -> i32 {
    cmd.complain(format!("ln: {option} is not simulated; -s, -f, -n, -T, -t and -v are"));
    1
}

/// `readlink` (GNU coreutils 9.1, busybox 1.37): a link's target, or with
/// `-f`, `-e`, `-m` the path with every link resolved.
fn readlink(cmd: &mut Cmd) -> i32 {
    let (mut canonical, mut no_newline, mut verbose) = (None::<char>, false, false);
    let (options, operands) = options_and_operands(cmd.args);
    for a in options {
        match a {
            "--canonicalize" => canonical = Some('f'),
            "--canonicalize-existing" => canonical = Some('e'),
            "--canonicalize-missing" => canonical = Some('m'),
            "--no-newline" => no_newline = true,
            "--verbose" => verbose = true,
            "--quiet" | "--silent" => verbose = false,
            long if long.starts_with("--") => return bad_option(cmd, a, '-', "readlink [-fnv] FILE"),
            _ => {
                for c in a.chars().skip(1) {
                    match c {
                        'f' | 'e' | 'm' => canonical = Some(c),
                        'n' => no_newline = true,
                        'v' => verbose = true,
                        'q' | 's' => verbose = false,
                        _ => return bad_option(cmd, a, c, "readlink [-fnv] FILE"),
                    }
                }
            }
        }
    }
    if operands.is_empty() {
        return missing_operand(cmd);
    }
    // `-n` keeps the newline when there are several answers.
    let end = if no_newline && operands.len() == 1 { "" } else { "\n" };
    let mut status = 0;
    for f in &operands {
        let found = match canonical {
            Some('e') => cfs::stat(cmd.files, cmd.cwd, f).map(|(at, _)| at),
            Some('m') => Ok(cfs::resolve(cmd.files, cmd.cwd, f, true).unwrap_or_else(|_| normalize(cmd.cwd, f))),
            Some(_) => cfs::resolve(cmd.files, cmd.cwd, f, true),
            None => match cfs::lstat(cmd.files, cmd.cwd, f) {
                Ok((_, Inode { kind: Kind::Symlink(target), .. })) => Ok(target.to_string()),
                // Not a link: `-v` says "Invalid argument" (EINVAL) below.
                Ok(_) => Err(Errno::NoEnt),
                Err(e) => Err(e),
            },
        };
        match found {
            Ok(text) => {
                cmd.out.push_str(&text);
                cmd.out.push_str(end);
            }
            Err(e) => {
                status = 1;
                if verbose {
                    let why = if canonical.is_none() && cfs::lstat(cmd.files, cmd.cwd, f).is_ok() { "Invalid argument" } else { e.message() };
                    cmd.complain(format!("readlink: {f}: {why}"));
                }
            }
        }
    }
    status
}

/// A new owner and group as `chown`'s spec or `chgrp`'s group names them
/// (`None`: left as they are).
struct Owners {
    uid: Option<u32>,
    gid: Option<u32>,
}

/// Reads `chown`'s `USER[:GROUP]` (or `chgrp`'s `GROUP`) against the
/// container's account files: names first, then numbers. The error is the
/// tool's own line.
fn owners_of(cmd: &Cmd, (passwd, group): (&str, &str), spec: &str, group_only: bool) -> Result<Owners, String> {
    let busybox = cmd.busybox();
    let uid_of = |name: &str| identity::passwd_entries(&passwd).find(|e| e.0 == name).map(|e| (e.1, e.2)).or_else(|| name.parse::<u32>().ok().map(|u| (u, u32::MAX)));
    let gid_of = |name: &str| identity::group_entries(&group).find(|e| e.0 == name).map(|e| e.1).or_else(|| name.parse::<u32>().ok());
    let bad_group = |name: &str| if busybox { format!("{}: unknown group {name}", cmd.name) } else { format!("{}: invalid group: '{spec}'", cmd.name) };
    if group_only {
        return gid_of(spec).map(|g| Owners { uid: None, gid: Some(g) }).ok_or_else(|| bad_group(spec));
    }
    // `USER.GROUP` is the old form (GNU warns: [`chown`]), read when no user has the whole name.
    let (user, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None if uid_of(spec).is_none() => match spec.split_once('.') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        },
        None => (spec, None),
    };
    let found_user = if user.is_empty() { None } else { Some(uid_of(user).ok_or_else(|| if busybox { format!("chown: unknown user {user}") } else { format!("chown: invalid user: '{spec}'") })?) };
    let gid = match group_part {
        // `USER:` is the user's login group.
        Some("") => match found_user {
            Some((_, login)) if login != u32::MAX => Some(login),
            Some(_) => return Err(if busybox { format!("chown: unknown user {user}") } else { format!("chown: invalid spec: '{spec}'") }),
            None => None,
        },
        Some(g) => Some(gid_of(g).ok_or_else(|| bad_group(g))?),
        None => None,
    };
    Ok(Owners { uid: found_user.map(|u| u.0), gid })
}

/// `chown` and `chgrp` (GNU coreutils 9.1, busybox 1.37): the kernel's
/// rules decide, so changing the owner needs `CAP_CHOWN` (a container's
/// root has it unless its security context drops it), and an owner may
/// give a file to a group of its own.
fn chown(cmd: &mut Cmd) -> i32 {
    let group_only = cmd.name == "chgrp";
    let usage = if group_only { "chgrp [-RhLHPcvf]... GROUP FILE..." } else { "chown [-RhLHPcvf]... USER[:[GRP]] FILE..." };
    let (mut recursive, mut no_dereference, mut verbose, mut changes, mut quiet) = (false, false, false, false, false);
    let (options, operands) = options_and_operands(cmd.args);
    for a in options {
        match a {
            "--recursive" => recursive = true,
            "--no-dereference" => no_dereference = true,
            "--dereference" => no_dereference = false,
            "--verbose" => verbose = true,
            "--changes" => changes = true,
            "--silent" | "--quiet" => quiet = true,
            long if long.starts_with("--") => return bad_option(cmd, a, '-', usage),
            _ => {
                for c in a.chars().skip(1) {
                    match c {
                        'R' => recursive = true,
                        'h' => no_dereference = true,
                        'v' => verbose = true,
                        'c' => changes = true,
                        'f' => quiet = true,
                        // Symbolic links are never traversed here (`-P`, the default).
                        'P' => {}
                        'H' | 'L' => {
                            cmd.complain(format!("{}: -{c} is not simulated: -R never follows symbolic links here (-P)", cmd.name));
                            return 1;
                        }
                        _ => return bad_option(cmd, a, c, usage),
                    }
                }
            }
        }
    }
    let busybox = cmd.busybox();
    let Some((spec, files)) = operands.split_first() else {
        let line = if busybox { format!("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {usage}") } else { format!("{0}: missing operand\nTry '{0} --help' for more information.", cmd.name) };
        cmd.complain(line);
        return 1;
    };
    if files.is_empty() {
        let line = if busybox { format!("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {usage}") } else { format!("{0}: missing operand after '{spec}'\nTry '{0} --help' for more information.", cmd.name) };
        cmd.complain(line);
        return 1;
    }
    let (passwd, group) = account_files(cmd);
    let owners = match owners_of(cmd, (&passwd, &group), spec, group_only) {
        Ok(o) => o,
        Err(line) => {
            cmd.complain(line);
            return 1;
        }
    };
    if !group_only && !busybox && !spec.contains(':') && spec.contains('.') && owners.gid.is_some() {
        cmd.complain(format!("chown: warning: '.' should be ':': '{spec}'"));
    }
    // `-R` walks without following links, and changes the links themselves.
    let dereference = !no_dereference && !recursive;
    let mut status = 0;
    let mut pending: Vec<String> = files.to_vec();
    pending.reverse();
    while let Some(f) = pending.pop() {
        let found = if dereference { cfs::stat(cmd.files, cmd.cwd, &f) } else { cfs::lstat(cmd.files, cmd.cwd, &f) };
        let (at, mut inode) = match found {
            Ok(found) => found,
            Err(e) => {
                status = 1;
                if !quiet {
                    let line = if busybox { format!("{}: {f}: {}", cmd.name, e.message()) } else { format!("{}: cannot access '{f}': {}", cmd.name, e.message()) };
                    cmd.complain(line);
                }
                continue;
            }
        };
        let before = (inode.uid, inode.gid);
        let user = cmd.files.user();
        let may_own = owners.uid.is_none_or(|u| (user.uid == inode.uid && u == inode.uid) || user.capable(identity::CAP_CHOWN));
        let may_group = owners.gid.is_none_or(|g| (user.uid == inode.uid && (g == inode.gid || user.in_group(g))) || user.capable(identity::CAP_CHOWN));
        let result = if owners.uid.is_none() && owners.gid.is_none() {
            Ok(())
        } else if cmd.files.read_only(&at) {
            Err(Errno::ReadOnly)
        } else if !(may_own && may_group) {
            Err(Errno::NotPermitted)
        } else {
            inode.uid = owners.uid.unwrap_or(inode.uid);
            inode.gid = owners.gid.unwrap_or(inode.gid);
            cmd.files.put_attributes(&at, inode.clone())
        };
        let name_of_user = |uid: u32| identity::user_name(&passwd, uid).map_or_else(|| uid.to_string(), str::to_string);
        let name_of_group = |gid: u32| identity::group_name(&group, gid).map_or_else(|| gid.to_string(), str::to_string);
        match result {
            Err(e) => {
                status = 1;
                if !quiet {
                    let what = if group_only { "group" } else { "ownership" };
                    let line = if busybox { format!("{}: {f}: {}", cmd.name, e.message()) } else { format!("{}: changing {what} of '{f}': {}", cmd.name, e.message()) };
                    cmd.complain(line);
                }
            }
            Ok(()) => {
                let changed = before != (inode.uid, inode.gid);
                if busybox {
                    if verbose || (changes && changed) {
                        cmd.say(&format!("changed ownership of '{f}' to {}:{}", inode.uid, inode.gid));
                    }
                } else if verbose || (changes && changed) {
                    let shown = |(uid, gid): (u32, u32)| match (group_only, owners.uid.is_some(), owners.gid.is_some()) {
                        (true, _, _) | (false, false, true) => name_of_group(gid),
                        (false, true, true) => format!("{}:{}", name_of_user(uid), name_of_group(gid)),
                        _ => name_of_user(uid),
                    };
                    let line = match (group_only, changed) {
                        (true, true) => format!("changed group of '{f}' from {} to {}", shown(before), shown((inode.uid, inode.gid))),
                        (true, false) => format!("group of '{f}' retained as {}", shown(before)),
                        (false, true) => format!("changed ownership of '{f}' from {} to {}", shown(before), shown((inode.uid, inode.gid))),
                        (false, false) => format!("ownership of '{f}' retained as {}", shown(before)),
                    };
                    cmd.say(&line);
                }
            }
        }
        if recursive && inode.is_dir() {
            if let Ok(entries) = cfs::list_dir(cmd.files, cmd.cwd, &at) {
                let within = |name: &str| if f.ends_with('/') { format!("{f}{name}") } else { format!("{f}/{name}") };
                pending.extend(entries.iter().rev().map(|(name, _)| within(name)));
            }
        }
    }
    status
}

fn rm(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    let force = flags.contains('f');
    let recursive = flags.contains('r') || flags.contains('R');
    if operands.is_empty() && !force {
        return missing_operand(cmd);
    }
    let verbose = flags.contains('v');
    let mut status = 0;
    for f in &operands {
        // `-v`'s lines, what is below a directory before it (name order here).
        let mut removed = Vec::new();
        if verbose {
            rm_verbose_lines(cmd, f, recursive, &mut removed);
        }
        match cfs::remove(cmd.files, cmd.cwd, f, recursive, false) {
            Ok(()) => {
                for line in removed {
                    cmd.say(&line);
                }
            }
            Err(Errno::NoEnt) if force => {}
            Err(e) => {
                status = 1;
                let line = match (cmd.busybox(), e) {
                    (true, Errno::IsDir) => format!("rm: '{f}' is a directory"),
                    (true, _) => format!("rm: can't remove '{f}': {}", e.message()),
                    (false, Errno::IsDir) => format!("rm: cannot remove '{f}': Is a directory"),
                    (false, _) => format!("rm: cannot remove '{f}': {}", e.message()),
                };
                cmd.complain(line);
            }
        }
    }
    status
}

/// What `rm -v` says for `path`: each entry below a directory it removes
/// recursively, then the directory.
fn rm_verbose_lines(cmd: &Cmd, path: &str, recursive: bool, lines: &mut Vec<String>) {
    let Ok((_, inode)) = cfs::lstat(cmd.files, cmd.cwd, path) else { return };
    if !inode.is_dir() {
        lines.push(format!("removed '{path}'"));
        return;
    }
    if !recursive {
        return;
    }
    for (name, _) in cfs::list_dir(cmd.files, cmd.cwd, path).unwrap_or_default() {
        rm_verbose_lines(cmd, &join(path, &name), true, lines);
    }
    lines.push(if cmd.busybox() { format!("removed directory: '{path}'") } else { format!("removed directory '{path}'") });
}

fn mkdir(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    if operands.is_empty() {
        return missing_operand(cmd);
    }
    let mut status = 0;
    for d in &operands {
        // `-v` names each directory made, with `-p` each missing parent too.
        let made: Vec<String> = if flags.contains('v') {
            let parts: Vec<&str> = d.split('/').collect();
            (1..=parts.len())
                .filter(|n| flags.contains('p') || *n == parts.len())
                .map(|n| parts[..n].join("/"))
                .filter(|p| !p.is_empty() && cfs::stat(cmd.files, cmd.cwd, p).is_err())
                .collect()
        } else {
            Vec::new()
        };
        let result = cfs::make_dir(cmd.files, cmd.cwd, d, flags.contains('p'));
        if result.is_ok() {
            for p in made {
                cmd.say(&format!("mkdir: created directory '{p}'"));
            }
        }
        if let Err(e) = result {
            status = 1;
            let line = if cmd.busybox() { format!("mkdir: can't create directory '{d}': {}", e.message()) } else { format!("mkdir: cannot create directory '{d}': {}", e.message()) };
            cmd.complain(line);
        }
    }
    status
}

fn rmdir(cmd: &mut Cmd) -> i32 {
    let (_, operands) = flags_and_operands(cmd.args);
    if operands.is_empty() {
        return missing_operand(cmd);
    }
    let mut status = 0;
    for d in &operands {
        let result = match cfs::lstat(cmd.files, cmd.cwd, d) {
            Ok((_, i)) if !i.is_dir() => Err(Errno::NotDir),
            Ok(_) => cfs::remove(cmd.files, cmd.cwd, d, false, true),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            status = 1;
            let line = if cmd.busybox() { format!("rmdir: '{d}': {}", e.message()) } else { format!("rmdir: failed to remove '{d}': {}", e.message()) };
            cmd.complain(line);
        }
    }
    status
}

fn wall(secs: i64) -> k8s_openapi::jiff::Zoned {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC)
}

/// `date`'s default output: `Thu Jan  1 00:00:05 UTC 2026`.
pub fn date_text(secs: i64) -> String {
    wall(secs).strftime("%a %b %e %H:%M:%S UTC %Y").to_string()
}

/// `date -s`'s text as both tools read the common forms: `@SECONDS`,
/// `HH:MM[:SS]` (today), `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`.
fn date_to_set(text: &str, now: i64) -> Option<i64> {
    use k8s_openapi::jiff::civil::{Date, DateTime, Time};
    if let Some(seconds) = text.strip_prefix('@') {
        return seconds.parse().ok();
    }
    let time_of = |t: &str| -> Option<Time> {
        let parts: Vec<i8> = t.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        match parts.as_slice() {
            [h, m] => Time::new(*h, *m, 0, 0).ok(),
            [h, m, s] => Time::new(*h, *m, *s, 0).ok(),
            _ => None,
        }
    };
    let date_of = |d: &str| -> Option<Date> {
        let parts: Vec<&str> = d.split('-').collect();
        let [y, m, day] = parts.as_slice() else { return None };
        Date::new(y.parse().ok()?, m.parse().ok()?, day.parse().ok()?).ok()
    };
    let (date, time) = match text.trim().split_once([' ', 'T']) {
        Some((d, t)) => (date_of(d)?, time_of(t.trim())?),
        None if text.contains(':') => (wall(now).date(), time_of(text.trim())?),
        None => (date_of(text.trim())?, Time::midnight()),
    };
    Some(DateTime::from_parts(date, time).to_zoned(TimeZone::UTC).ok()?.timestamp().as_second())
}

fn date(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let mut to_set: Option<String> = None;
    let mut args = cmd.args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-s" | "--set" => match args.next() {
                Some(v) => to_set = Some(v.clone()),
                None => {
                    let line = if busybox { "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: date [OPTIONS] [+FMT] [[-s] TIME]".to_string() } else { "date: option requires an argument -- 's'\nTry 'date --help' for more information.".to_string() };
                    cmd.complain(line);
                    return 1;
                }
            },
            // The clock is UTC already.
            "-u" | "--utc" | "--universal" => {}
            v if v.starts_with("--set=") => to_set = Some(v["--set=".len()..].to_string()),
            v if v.starts_with("-s") => to_set = Some(v[2..].to_string()),
            v if v.starts_with('+') => {}
            other => {
                cmd.complain(format!("date: {other} is not simulated; +FORMAT, -u and -s TIME are"));
                return 1;
            }
        }
    }
    let Some(text) = to_set else { return show_date(cmd, cmd.info.now) };
    let now = cmd.info.now.unwrap_or(crate::engine::api::meta::EPOCH_SECONDS);
    let Some(when) = date_to_set(&text, now) else {
        cmd.complain(format!("date: invalid date '{text}'"));
        return 1;
    };
    if cmd.files.user().capable(identity::CAP_SYS_TIME) {
        // The container shares its node's clock: setting it would move every pod's there.
        cmd.complain("date: setting the clock is not simulated (with CAP_SYS_TIME it would set the node's clock for every pod on it)".into());
        return 1;
    }
    // Both print the refusal, then the time they were asked to set.
    cmd.complain(if busybox { "date: can't set date: Operation not permitted".into() } else { "date: cannot set date: Operation not permitted".into() });
    show_date(cmd, Some(when));
    if busybox {
        0
    } else {
        1
    }
}

/// `date`'s output for the time `now` (`None`: a mark filled in when a
/// main process's line runs).
fn show_date(cmd: &mut Cmd, now: Option<i64>) -> i32 {
    let format = cmd.args.iter().find_map(|a| a.strip_prefix('+')).map(str::to_string);
    match (now, format) {
        (None, None) => {
            cmd.out.push(DATE_MARK);
            cmd.out.push('\n');
        }
        (Some(now), None) => cmd.say(&date_text(now)),
        (now, Some(fmt)) => {
            let secs = now.unwrap_or(crate::engine::api::meta::EPOCH_SECONDS);
            // strftime's own `%s` and friends; unknown directives print as given.
            let text = wall(secs).strftime(&fmt).to_string();
            cmd.say(&text);
        }
    }
    0
}

/// Sizes for `-h`: GNU rounds up to two significant digits (`59G`, `8.0G`),
/// busybox keeps one decimal (`58.4G`, `64.0M`).
fn human(kb: u64, busybox: bool) -> String {
    let units = ["K", "M", "G", "T"];
    let mut value = kb as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if kb == 0 {
        return "0".into();
    }
    if busybox {
        return format!("{:.1}{}", value, units[unit]);
    }
    if value < 10.0 {
        format!("{:.1}{}", (value * 10.0).ceil() / 10.0, units[unit])
    } else {
        format!("{:.0}{}", value.ceil(), units[unit])
    }
}

fn df(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    let h = flags.contains('h');
    let busybox = cmd.busybox();
    let mut rows: Vec<(String, u64, u64, u64, u64, String)> = cmd
        .info
        .mounts
        .iter()
        .filter_map(|(m, usage)| usage.as_ref().map(|u| (m, u)))
        .map(|(m, u)| {
            let avail = u.total_kb.saturating_sub(u.used_kb);
            let whole = u.used_kb + avail;
            // GNU df rounds the percentage up; busybox rounds it to the nearest.
            let pct = if whole == 0 {
                0
            } else if busybox {
                ((u.used_kb * 100 + whole / 2) / whole).min(100)
            } else {
                (u.used_kb * 100).div_ceil(whole).min(100)
            };
            (m.device().to_string(), u.total_kb, u.used_kb, avail, pct, m.path.to_string())
        })
        .collect();
    // With operands, the filesystem holding each one (the deepest mount).
    let mut status = 0;
    if !operands.is_empty() {
        let mut chosen = Vec::new();
        for operand in operands {
            match cfs::stat(&*cmd.files, cmd.cwd, &operand) {
                Ok((at, _)) => {
                    let holds = |m: &str| m == "/" || at == m || at.starts_with(&format!("{m}/"));
                    if let Some(row) = rows.iter().filter(|r| holds(&r.5)).max_by_key(|r| r.5.len()) {
                        chosen.push(row.clone());
                    }
                }
                Err(e) => {
                    cmd.errno(&operand, e);
                    status = 1;
                }
            }
        }
        if chosen.is_empty() {
            return status;
        }
        rows = chosen;
    }
    let fmt = |v: u64| if h { human(v, busybox) } else { v.to_string() };
    if cmd.busybox() {
        let size = if h { "     Size" } else { "1K-blocks" };
        cmd.say(&format!("Filesystem           {size}      Used Available Use% Mounted on"));
        for (dev, total, used, avail, pct, path) in rows {
            let dev = if dev.len() > 20 { format!("{dev}\n{:20}", "") } else { format!("{dev:<20}") };
            cmd.say(&format!("{dev} {:>9} {:>9} {:>9} {:>3}% {path}", fmt(total), fmt(used), fmt(avail), pct));
        }
        return status;
    }
    let head = ["Filesystem", if h { "Size" } else { "1K-blocks" }, "Used", if h { "Avail" } else { "Available" }, "Use%", "Mounted on"];
    let cells: Vec<[String; 6]> = rows.into_iter().map(|(d, t, u, a, p, m)| [d, fmt(t), fmt(u), fmt(a), format!("{p}%"), m]).collect();
    let mut widths = [14usize, 0, 0, 0, 0, 0];
    for (i, w) in widths.iter_mut().enumerate() {
        *w = (*w).max(head[i].len());
        for c in &cells {
            *w = (*w).max(c[i].len());
        }
    }
    let line = |c: [&str; 6]| format!("{:<w0$} {:>w1$} {:>w2$} {:>w3$} {:>w4$} {}", c[0], c[1], c[2], c[3], c[4], c[5], w0 = widths[0], w1 = widths[1], w2 = widths[2], w3 = widths[3], w4 = widths[4]);
    cmd.say(&line(head).trim_end().replace("Filesystem ", "Filesystem ").to_string());
    for c in &cells {
        let l = line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]);
        cmd.say(&l);
    }
    status
}

fn mount(cmd: &mut Cmd) -> i32 {
    if !cmd.args.is_empty() {
        let line = if cmd.busybox() { "mount: permission denied (are you root?)".to_string() } else { "mount: /: permission denied.".to_string() };
        cmd.complain(line);
        return if cmd.busybox() { 255 } else { 32 };
    }
    let lines: Vec<String> = cmd.info.mounts.iter().map(|(m, _)| m.line()).collect();
    for l in lines {
        cmd.say(&l);
    }
    0
}

fn uname(cmd: &mut Cmd) -> i32 {
    let (flags, _) = flags_and_operands(cmd.args);
    let build = "#63-Ubuntu SMP PREEMPT_DYNAMIC Tue Apr 15 19:04:15 UTC 2025";
    let os = "GNU/Linux";
    if flags.contains('a') {
        let line = if cmd.busybox() {
            format!("Linux {} {} {build} x86_64 {}", cmd.info.hostname, cmd.info.kernel, if cmd.info.base == Base::Alpine { "Linux" } else { os })
        } else {
            format!("Linux {} {} {build} x86_64 {os}", cmd.info.hostname, cmd.info.kernel)
        };
        cmd.say(&line);
        return 0;
    }
    let mut parts = Vec::new();
    for f in flags.chars() {
        match f {
            's' => parts.push("Linux".to_string()),
            'n' => parts.push(cmd.info.hostname.clone()),
            'r' => parts.push(cmd.info.kernel.clone()),
            'v' => parts.push(build.to_string()),
            'm' | 'p' | 'i' => parts.push("x86_64".to_string()),
            'o' => parts.push(os.to_string()),
            _ => {}
        }
    }
    if parts.is_empty() {
        parts.push("Linux".into());
    }
    cmd.say(&parts.join(" "));
    0
}

fn wc(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    let (l, w, c) = if flags.is_empty() { (true, true, true) } else { (flags.contains('l'), flags.contains('w'), flags.contains('c') || flags.contains('m')) };
    let count = |text: &str| (text.matches('\n').count(), text.split_whitespace().count(), text.len());
    // Every file is counted before any row prints (the rows line up), and
    // a file that cannot be read is reported in its turn among them.
    let mut rows: Vec<Result<((usize, usize, usize), Option<String>), (String, Errno)>> = Vec::new();
    let mut status = 0;
    // coreutils' `compute_number_width`: the digits of the regular files'
    // total size, at least 7 when one operand is not a regular file (a
    // directory, standard input), and 1 when the first could not be opened.
    let (mut regular_total, mut minimum_width, mut first_failed) = (0usize, 1usize, false);
    if operands.is_empty() {
        rows.push(Ok((count(cmd.stdin), None)));
        minimum_width = 7;
    } else {
        for (i, f) in operands.iter().enumerate() {
            let read = if f == "-" { Ok(cmd.stdin.to_string()) } else { cfs::read_file(cmd.files, cmd.cwd, f) };
            match read {
                Ok(text) => {
                    if f == "-" {
                        minimum_width = 7;
                    } else {
                        regular_total += text.len();
                    }
                    rows.push(Ok((count(&text), Some(f.clone()))));
                }
                Err(e) => {
                    status = 1;
                    rows.push(Err((f.clone(), e)));
                    // A directory opens and fails to read: counted as empty.
                    if e == Errno::IsDir {
                        minimum_width = 7;
                        rows.push(Ok(((0, 0, 0), Some(f.clone()))));
                    } else if i == 0 {
                        first_failed = true;
                    }
                }
            }
        }
        if operands.len() > 1 {
            let total = rows.iter().flatten().fold((0, 0, 0), |a, (r, _)| (a.0 + r.0, a.1 + r.1, a.2 + r.2));
            rows.push(Ok((total, Some("total".into()))));
        }
    }
    let single = [l, w, c].iter().filter(|x| **x).count() == 1;
    let widest = if first_failed { 1 } else { regular_total.to_string().len().max(minimum_width) };
    for row in rows {
        let ((nl, nw, nc), name) = match row {
            Ok(row) => row,
            Err((f, e)) => {
                cmd.errno(&f, e);
                continue;
            }
        };
        let fields: Vec<usize> = [(l, nl), (w, nw), (c, nc)].iter().filter(|x| x.0).map(|x| x.1).collect();
        // One count alone prints bare; several line up.
        let width = if single { 0 } else { widest };
        let mut line = fields.iter().map(|v| format!("{v:>width$}")).collect::<Vec<_>>().join(" ");
        if let Some(n) = name {
            line.push(' ');
            line.push_str(&n);
        }
        cmd.say(&line);
    }
    status
}

/// `base64 [-d] [-i] [-w COLS] [FILE]`: coreutils' and busybox's, which
/// wrap at 76 columns and, decoding, skip line breaks and stop at the first
/// character outside the alphabet (what came before it is printed).
fn base64(cmd: &mut Cmd) -> i32 {
    use base64::Engine as _;
    let (mut decode, mut ignore_garbage, mut wrap) = (false, false, 76usize);
    let mut operands = Vec::new();
    let mut i = 0;
    while i < cmd.args.len() {
        let a = cmd.args[i].as_str();
        match a {
            "-d" | "--decode" => decode = true,
            "-i" | "--ignore-garbage" => ignore_garbage = true,
            "-di" | "-id" => {
                decode = true;
                ignore_garbage = true;
            }
            "-w" | "--wrap" => {
                i += 1;
                let Some(cols) = cmd.args.get(i).and_then(|c| c.parse::<usize>().ok()) else {
                    let given = cmd.args.get(i).cloned().unwrap_or_default();
                    let line = if cmd.busybox() { format!("base64: invalid number '{given}'") } else { format!("base64: invalid wrap size: '{given}'") };
                    cmd.complain(line);
                    return 1;
                };
                wrap = cols;
            }
            _ if a.starts_with("--wrap=") || (a.starts_with("-w") && a.len() > 2) => {
                let given = a.trim_start_matches("--wrap=").trim_start_matches("-w");
                let Ok(cols) = given.parse::<usize>() else {
                    let line = if cmd.busybox() { format!("base64: invalid number '{given}'") } else { format!("base64: invalid wrap size: '{given}'") };
                    cmd.complain(line);
                    return 1;
                };
                wrap = cols;
            }
            "-" => operands.push(a.to_string()),
            _ if a.starts_with('-') => {
                let line = if cmd.busybox() { format!("base64: unrecognized option '{a}'") } else if a.starts_with("--") { format!("base64: unrecognized option '{a}'\nTry 'base64 --help' for more information.") } else { format!("base64: invalid option -- '{}'\nTry 'base64 --help' for more information.", a.chars().nth(1).unwrap_or('-')) };
                cmd.complain(line);
                return 1;
            }
            _ => operands.push(a.to_string()),
        }
        i += 1;
    }
    if operands.len() > 1 {
        let line = if cmd.busybox() { "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: base64 [-d] [-w COL] [FILE]".to_string() } else { format!("base64: extra operand '{}'\nTry 'base64 --help' for more information.", operands[1]) };
        cmd.complain(line);
        return 1;
    }
    let Some(input) = input_lines(cmd, &operands) else { return 1 };
    if !decode {
        let encoded = base64::engine::general_purpose::STANDARD.encode(input.as_bytes());
        if encoded.is_empty() {
            return 0;
        }
        let mut lines = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
        for (n, c) in encoded.chars().enumerate() {
            if wrap > 0 && n > 0 && n % wrap == 0 {
                lines.push('\n');
            }
            lines.push(c);
        }
        cmd.say(&lines);
        return 0;
    }
    let alphabet = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut kept = String::with_capacity(input.len());
    let mut invalid = false;
    for c in input.chars() {
        if c == '\n' || (ignore_garbage && !alphabet(c)) {
            continue;
        }
        if !alphabet(c) {
            invalid = true;
            break;
        }
        kept.push(c);
    }
    // Whole groups of four decode; a group cut short or padded wrongly is invalid.
    let whole = kept.len() / 4 * 4;
    let mut bytes = Vec::with_capacity(whole / 4 * 3);
    for group in kept.as_bytes()[..whole].chunks(4) {
        match base64::engine::general_purpose::STANDARD.decode(group) {
            Ok(b) => bytes.extend(b),
            Err(_) => {
                invalid = true;
                break;
            }
        }
    }
    if whole != kept.len() {
        invalid = true;
    }
    cmd.out.push_str(&String::from_utf8_lossy(&bytes));
    if invalid {
        // busybox's read_base64 and coreutils' base64 word it differently.
        let line = if cmd.busybox() { "base64: truncated base64 input" } else { "base64: invalid input" };
        cmd.complain(line.to_string());
        return 1;
    }
    0
}

/// A count of lines or bytes as head and tail read it: digits with a
/// multiplier suffix (coreutils' `xstrtoumax` ones; busybox's `b`, `k`,
/// `m`), too large a count meaning all.
fn head_tail_count(digits: &str, busybox: bool) -> Option<usize> {
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let (number, suffix) = digits.split_at(end);
    let multiplier: u128 = match (suffix, busybox) {
        ("", _) => 1,
        ("b", _) => 512,
        ("k", true) | ("k" | "K" | "KiB", false) => 1024,
        ("m", true) | ("m" | "M" | "MiB", false) => 1024 * 1024,
        ("kB" | "KB", false) => 1000,
        ("MB", false) => 1000 * 1000,
        ("g" | "G" | "GiB", false) => 1024 * 1024 * 1024,
        ("GB", false) => 1000 * 1000 * 1000,
        _ => return None,
    };
    let value = number.parse::<u128>().unwrap_or(u128::MAX).saturating_mul(multiplier);
    Some(usize::try_from(value).unwrap_or(usize::MAX))
}

/// `head` and `tail`, without following: coreutils 9.1's and busybox's
/// options, a `==> NAME <==` header before each file when there are
/// several (`-q`, `-v`), and each file's error in its turn.
fn head_tail(cmd: &mut Cmd) -> i32 {
    let head = cmd.name == "head";
    let busybox = cmd.busybox();
    let mut count: usize = 10;
    // `-n +N` (tail: from line N) or `-n -N` (head: all but the last N).
    let mut sign = None;
    let mut bytes = false;
    let mut headers: Option<bool> = None;
    let mut obsolete_count = None;
    let mut operands = Vec::new();
    let mut only_operands = false;
    let mut i = 0;
    while i < cmd.args.len() {
        let a = cmd.args[i].clone();
        if only_operands || a == "-" || !a.starts_with('-') {
            operands.push(a);
            i += 1;
            continue;
        }
        let value = match a.as_str() {
            "--" => {
                only_operands = true;
                i += 1;
                continue;
            }
            "-n" | "-c" | "--lines" | "--bytes" => {
                i += 1;
                let Some(v) = cmd.args.get(i) else {
                    let line = if busybox {
                        format!("{}: option requires an argument -- '{}'", cmd.name, &a[a.len() - 1..])
                    } else if a.starts_with("--") {
                        format!("{}: option '{a}' requires an argument\nTry '{} --help' for more information.", cmd.name, cmd.name)
                    } else {
                        format!("{}: option requires an argument -- '{}'\nTry '{} --help' for more information.", cmd.name, &a[1..], cmd.name)
                    };
                    cmd.complain(line);
                    return 1;
                };
                Some((a == "-c" || a == "--bytes", v.clone()))
            }
            "-q" | "--quiet" | "--silent" => {
                headers = Some(false);
                None
            }
            "-v" | "--verbose" => {
                headers = Some(true);
                None
            }
            // Following is the main process's (it never ends); run by hand, tail prints and ends.
            "-f" | "-F" | "--follow" if !head => None,
            _ if a.starts_with("--lines=") || a.starts_with("--bytes=") => Some((a.starts_with("--bytes="), a[8..].to_string())),
            _ if a.starts_with("-n") || a.starts_with("-c") => Some((a.starts_with("-c"), a[2..].to_string())),
            _ if a[1..].bytes().all(|b| b.is_ascii_digit()) => {
                obsolete_count = Some(a[1..].to_string());
                Some((false, a[1..].to_string()))
            }
            _ => {
                let line = if a.starts_with("--") && !busybox {
                    format!("{}: unrecognized option '{a}'\nTry '{} --help' for more information.", cmd.name, cmd.name)
                } else if busybox {
                    format!("{}: invalid option -- '{}'\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: {} [OPTIONS] [FILE]...", cmd.name, a.chars().nth(1).unwrap_or('-'), cmd.name)
                } else {
                    format!("{}: invalid option -- '{}'\nTry '{} --help' for more information.", cmd.name, a.chars().nth(1).unwrap_or('-'), cmd.name)
                };
                cmd.complain(line);
                return 1;
            }
        };
        if let Some((in_bytes, v)) = value {
            bytes = in_bytes;
            sign = v.chars().next().filter(|c| matches!(c, '+' | '-'));
            let Some(n) = head_tail_count(v.trim_start_matches(['+', '-']), busybox) else {
                let line = if busybox { format!("{}: invalid number '{v}'", cmd.name) } else { format!("{}: invalid number of {}: '{v}'", cmd.name, if bytes { "bytes" } else { "lines" }) };
                cmd.complain(line);
                return 1;
            };
            count = n;
        }
        i += 1;
    }
    if operands.is_empty() {
        operands.push("-".to_string());
    }
    // POSIX's `tail -N` takes one file.
    if let (Some(n), false, true, false) = (&obsolete_count, head, operands.len() > 1, busybox) {
        cmd.complain(format!("tail: option used in invalid context -- {}", n.chars().next().unwrap_or('1')));
        return 1;
    }
    let show_headers = headers.unwrap_or(operands.len() > 1);
    let mut first = true;
    let mut status = 0;
    for f in &operands {
        let (shown, read) = if f == "-" { ("standard input", Ok(cmd.stdin.to_string())) } else { (f.as_str(), cfs::read_file(cmd.files, cmd.cwd, f)) };
        let opened = !matches!(read, Err(e) if e != Errno::IsDir);
        if show_headers && opened {
            cmd.out.push_str(&format!("{}==> {shown} <==\n", if first { "" } else { "\n" }));
            first = false;
        }
        let text = match read {
            Ok(text) => text,
            Err(e) => {
                status = 1;
                let line = match (busybox, e) {
                    (true, Errno::IsDir) => format!("{}: read error: {}", cmd.name, e.message()),
                    (true, _) => format!("{}: can't open '{f}': {}", cmd.name, e.message()),
                    (false, Errno::IsDir) => format!("{}: error reading '{f}': {}", cmd.name, e.message()),
                    (false, _) => format!("{}: cannot open '{f}' for reading: {}", cmd.name, e.message()),
                };
                cmd.complain(line);
                continue;
            }
        };
        // Lines, or bytes with `-c` (each a piece of the text).
        let pieces: Vec<&[u8]> = if bytes { text.as_bytes().chunks(1).collect() } else { text.split_inclusive('\n').map(str::as_bytes).collect() };
        let total = pieces.len();
        let range = match (head, sign) {
            (true, Some('-')) => 0..total.saturating_sub(count),
            (true, _) => 0..count.min(total),
            (false, Some('+')) => count.saturating_sub(1).min(total)..total,
            (false, _) => total.saturating_sub(count)..total,
        };
        let chosen: Vec<u8> = pieces.get(range).unwrap_or_default().concat();
        cmd.out.push_str(&String::from_utf8_lossy(&chosen));
    }
    status
}

// ---------------------------------------------------------------- regex

/// A regular expression as grep reads it (basic, or extended with `-E`).
#[derive(Clone, Debug)]
enum Re {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Group(Vec<Vec<Re>>),
    Repeat(Box<Re>, usize, Option<usize>),
}

/// Groups nested deeper than this are refused (`grep` says so) rather than
/// parsed by a recursion as deep as the pattern is long.
const REGEX_NESTING_LIMIT: usize = 100;

/// Whether a pattern nests groups deeper than [`REGEX_NESTING_LIMIT`].
fn regex_too_nested(pattern: &str, extended: bool) -> bool {
    let mut depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        // An escaped character is one token: `\(` opens a basic group, `(` an extended one.
        let token = if c == '\\' { chars.next().map(|e| (e, true)) } else { Some((c, false)) };
        match token {
            Some(('(', escaped)) if escaped != extended => {
                depth += 1;
                if depth > REGEX_NESTING_LIMIT {
                    return true;
                }
            }
            Some((')', escaped)) if escaped != extended => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn parse_re(pattern: &str, extended: bool) -> Vec<Vec<Re>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    parse_alt(&chars, &mut pos, extended, 0)
}

fn parse_alt(c: &[char], pos: &mut usize, ext: bool, depth: usize) -> Vec<Vec<Re>> {
    let mut alts = vec![Vec::new()];
    while *pos < c.len() {
        let ch = c[*pos];
        let is_bar = (ext && ch == '|') || (!ext && ch == '\\' && c.get(*pos + 1) == Some(&'|'));
        let is_close = (ext && ch == ')') || (!ext && ch == '\\' && c.get(*pos + 1) == Some(&')'));
        if is_bar {
            *pos += if ext { 1 } else { 2 };
            alts.push(Vec::new());
            continue;
        }
        if is_close && depth > 0 {
            return alts;
        }
        let atom = match ch {
            '^' if alts.last().is_some_and(Vec::is_empty) => {
                *pos += 1;
                Re::Start
            }
            '$' if *pos + 1 == c.len() || (ext && c.get(*pos + 1) == Some(&'|')) || (ext && c.get(*pos + 1) == Some(&')')) => {
                *pos += 1;
                Re::End
            }
            '.' => {
                *pos += 1;
                Re::Any
            }
            '[' => {
                *pos += 1;
                let negate = c.get(*pos) == Some(&'^');
                if negate {
                    *pos += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                while *pos < c.len() && (c[*pos] != ']' || first) {
                    let lo = c[*pos];
                    if c.get(*pos + 1) == Some(&'-') && c.get(*pos + 2).is_some_and(|x| *x != ']') {
                        ranges.push((lo, c[*pos + 2]));
                        *pos += 3;
                    } else {
                        ranges.push((lo, lo));
                        *pos += 1;
                    }
                    first = false;
                }
                *pos += 1;
                Re::Class(ranges, negate)
            }
            '(' if ext && depth < REGEX_NESTING_LIMIT => {
                *pos += 1;
                let inner = parse_alt(c, pos, ext, depth + 1);
                *pos += 1;
                Re::Group(inner)
            }
            '\\' if !ext && c.get(*pos + 1) == Some(&'(') && depth < REGEX_NESTING_LIMIT => {
                *pos += 2;
                let inner = parse_alt(c, pos, ext, depth + 1);
                *pos += 2;
                Re::Group(inner)
            }
            '\\' => {
                *pos += 2;
                match c.get(*pos - 1) {
                    Some('d') => Re::Class(vec![('0', '9')], false),
                    Some('w') => Re::Class(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
                    Some('s') => Re::Class(vec![(' ', ' '), ('\t', '\t')], false),
                    Some(x) => Re::Char(*x),
                    None => Re::Char('\\'),
                }
            }
            _ => {
                *pos += 1;
                Re::Char(ch)
            }
        };
        // Postfix operators.
        let atom = match c.get(*pos) {
            Some('*') => {
                *pos += 1;
                Re::Repeat(Box::new(atom), 0, None)
            }
            Some('+') if ext => {
                *pos += 1;
                Re::Repeat(Box::new(atom), 1, None)
            }
            Some('?') if ext => {
                *pos += 1;
                Re::Repeat(Box::new(atom), 0, Some(1))
            }
            _ => atom,
        };
        if let Some(seq) = alts.last_mut() {
            seq.push(atom);
        }
    }
    alts
}

fn class_has(ranges: &[(char, char)], negate: bool, ch: char, fold: bool) -> bool {
    let hit = |c: char| ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
    let found = hit(ch) || (fold && (hit(ch.to_ascii_lowercase()) || hit(ch.to_ascii_uppercase())));
    found != negate
}

/// Ends of matches of `seq` starting at `at`, atom by atom over the set of
/// ends so far (a loop, not a recursion per atom: a long pattern cannot
/// exhaust the stack, and each end is tried once).
fn match_seq(seq: &[Re], text: &[char], at: usize, fold: bool, budget: &mut usize) -> Vec<usize> {
    let mut ends = vec![at];
    for re in seq {
        if *budget == 0 {
            return Vec::new();
        }
        *budget = budget.saturating_sub(ends.len());
        let mut next = Vec::new();
        for end in ends {
            next.extend(match_atom(re, text, end, fold, budget));
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return next;
        }
        ends = next;
    }
    ends
}

fn match_atom(re: &Re, text: &[char], at: usize, fold: bool, budget: &mut usize) -> Vec<usize> {
    let eq = |a: char, b: char| if fold { a.eq_ignore_ascii_case(&b) } else { a == b };
    match re {
        Re::Char(c) => text.get(at).filter(|t| eq(**t, *c)).map(|_| vec![at + 1]).unwrap_or_default(),
        Re::Any => text.get(at).map(|_| vec![at + 1]).unwrap_or_default(),
        Re::Class(r, n) => text.get(at).filter(|t| class_has(r, *n, **t, fold)).map(|_| vec![at + 1]).unwrap_or_default(),
        Re::Start => if at == 0 { vec![at] } else { vec![] },
        Re::End => if at == text.len() { vec![at] } else { vec![] },
        Re::Group(alts) => alts.iter().flat_map(|s| match_seq(s, text, at, fold, budget)).collect(),
        Re::Repeat(inner, min, max) => {
            let mut results = Vec::new();
            let mut frontier = vec![at];
            let mut count = 0;
            if *min == 0 {
                results.push(at);
            }
            while !frontier.is_empty() && max.is_none_or(|m| count < m) && *budget > 0 {
                let mut next = Vec::new();
                for p in frontier {
                    for e in match_atom(inner, text, p, fold, budget) {
                        if e != p && !next.contains(&e) {
                            next.push(e);
                        }
                    }
                }
                count += 1;
                if count >= *min {
                    results.extend(next.iter().copied());
                }
                frontier = next;
            }
            results.sort_stable_by(|a, b| b.cmp(a));
            results.dedup();
            results
        }
    }
}

/// A compiled grep pattern.
pub struct Pattern {
    alts: Vec<Vec<Re>>,
    fixed: Option<String>,
    fold: bool,
    word: bool,
}

impl Pattern {
    pub fn new(pattern: &str, extended: bool, fixed: bool, fold: bool, word: bool) -> Self {
        Pattern { alts: if fixed { vec![] } else { parse_re(pattern, extended) }, fixed: fixed.then(|| pattern.to_string()), fold, word }
    }

    /// The leftmost-longest match starting at or after char `from`, as
    /// char positions (start, end): what `grep -o` prints and `-x` tests.
    pub fn find(&self, text: &[char], from: usize) -> Option<(usize, usize)> {
        let boundary = |i: usize| i == 0 || i >= text.len() || !(text[i].is_alphanumeric() || text[i] == '_');
        let before = |i: usize| i == 0 || !(text[i - 1].is_alphanumeric() || text[i - 1] == '_');
        if let Some(f) = &self.fixed {
            let needle: Vec<char> = f.chars().collect();
            return (from..=text.len().checked_sub(needle.len())?)
                .find(|&s| {
                    text[s..s + needle.len()].iter().zip(&needle).all(|(a, b)| if self.fold { a.eq_ignore_ascii_case(b) } else { a == b })
                        && (!self.word || (before(s) && boundary(s + needle.len())))
                })
                .map(|s| (s, s + needle.len()));
        }
        let mut budget = 200_000usize;
        for start in from..=text.len() {
            if budget == 0 {
                return None;
            }
            let longest = self
                .alts
                .iter()
                .flat_map(|alt| match_seq(alt, text, start, self.fold, &mut budget))
                .filter(|e| !self.word || (before(start) && boundary(*e) && *e > start))
                .max();
            if let Some(end) = longest {
                return Some((start, end));
            }
        }
        None
    }

    pub fn is_match(&self, line: &str) -> bool {
        let text: Vec<char> = line.chars().collect();
        let boundary = |i: usize| i == 0 || i >= text.len() || !(text[i].is_alphanumeric() || text[i] == '_');
        let before = |i: usize| i == 0 || !(text[i - 1].is_alphanumeric() || text[i - 1] == '_');
        if let Some(f) = &self.fixed {
            let needle: Vec<char> = f.chars().collect();
            if needle.is_empty() {
                return true;
            }
            return (0..=text.len().saturating_sub(needle.len())).any(|s| {
                text.len() >= needle.len()
                    && text[s..s + needle.len()].iter().zip(&needle).all(|(a, b)| if self.fold { a.eq_ignore_ascii_case(b) } else { a == b })
                    && (!self.word || (before(s) && boundary(s + needle.len())))
            });
        }
        // One budget for the whole line: a pathological pattern stops, it does not hang.
        let mut budget = 200_000usize;
        for start in 0..=text.len() {
            if budget == 0 {
                return false;
            }
            for alt in &self.alts {
                let ends = match_seq(alt, &text, start, self.fold, &mut budget);
                if ends.iter().any(|e| !self.word || (before(start) && boundary(*e) && *e > start)) {
                    return true;
                }
            }
        }
        false
    }
}

/// grep's options, GNU's and busybox's alike where they share them.
#[derive(Default)]
struct GrepOptions {
    patterns: Vec<String>,
    extended: bool,
    fixed: bool,
    fold: bool,
    word: bool,
    line: bool,
    invert: bool,
    count: bool,
    files_with: bool,
    files_without: bool,
    number: bool,
    only: bool,
    quiet: bool,
    no_messages: bool,
    /// `-H` (true) or `-h` (false); unset: names when there are several files.
    names: Option<bool>,
    recursive: bool,
    max_count: Option<usize>,
    after: usize,
    before: usize,
}

/// Why grep's arguments were refused: a message followed by the usage
/// lines (empty: the usage alone), or one said alone (a bad number).
enum GrepRefusal {
    WithUsage(String),
    Alone(String),
}

impl From<String> for GrepRefusal {
    fn from(message: String) -> Self {
        GrepRefusal::WithUsage(message)
    }
}

/// Parses grep's arguments (options may follow operands until `--`, as GNU
/// permutes them): the options and the operands, or why not.
fn grep_options(cmd: &Cmd) -> Result<(GrepOptions, Vec<String>), GrepRefusal> {
    let mut o = GrepOptions::default();
    let mut operands = Vec::new();
    let mut context: Option<usize> = None;
    let (mut after, mut before) = (None, None);
    let context_length = |value: &str| -> Result<usize, GrepRefusal> {
        value.parse::<usize>().map_err(|_| GrepRefusal::Alone(format!("grep: {value}: invalid context length argument")))
    };
    // A negative count is no limit.
    let max_count = |value: &str| -> Result<Option<usize>, GrepRefusal> {
        match value.parse::<i64>() {
            Ok(n) => Ok(usize::try_from(n).ok()),
            Err(_) => Err(GrepRefusal::Alone("grep: invalid max count".to_string())),
        }
    };
    let mut args = cmd.args.iter();
    while let Some(a) = args.next() {
        if a == "--" {
            operands.extend(args.by_ref().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value_or_next = || value.clone().or_else(|| args.next().cloned()).ok_or_else(|| format!("grep: option '--{name}' requires an argument"));
            match name {
                "extended-regexp" => o.extended = true,
                "fixed-strings" => o.fixed = true,
                "basic-regexp" => o.extended = false,
                "ignore-case" => o.fold = true,
                "no-ignore-case" => o.fold = false,
                "word-regexp" => o.word = true,
                "line-regexp" => o.line = true,
                "invert-match" => o.invert = true,
                "count" => o.count = true,
                "files-with-matches" => o.files_with = true,
                "files-without-match" => o.files_without = true,
                "line-number" => o.number = true,
                "only-matching" => o.only = true,
                "quiet" | "silent" => o.quiet = true,
                "no-messages" => o.no_messages = true,
                "with-filename" => o.names = Some(true),
                "no-filename" => o.names = Some(false),
                "recursive" | "dereference-recursive" => o.recursive = true,
                // Colour only decorates a terminal's output.
                "color" | "colour" => {}
                "regexp" => o.patterns.push(value_or_next()?),
                "max-count" => o.max_count = max_count(&value_or_next()?)?,
                "after-context" => after = Some(context_length(&value_or_next()?)?),
                "before-context" => before = Some(context_length(&value_or_next()?)?),
                "context" => context = Some(context_length(&value_or_next()?)?),
                _ => return Err(format!("grep: unrecognized option '{a}'").into()),
            }
            continue;
        }
        let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) else {
            operands.push(a.clone());
            continue;
        };
        // `-5`: that much context on both sides.
        if cluster.bytes().all(|b| b.is_ascii_digit()) {
            context = Some(context_length(cluster)?);
            continue;
        }
        let mut chars = cluster.char_indices();
        while let Some((i, flag)) = chars.next() {
            let rest = &cluster[i + flag.len_utf8()..];
            let mut value = || -> Result<String, String> {
                if rest.is_empty() {
                    args.next().cloned().ok_or_else(|| format!("grep: option requires an argument -- '{flag}'"))
                } else {
                    Ok(rest.to_string())
                }
            };
            match flag {
                'E' => o.extended = true,
                'F' => o.fixed = true,
                'G' => o.extended = false,
                'i' | 'y' => o.fold = true,
                'w' => o.word = true,
                'x' => o.line = true,
                'v' => o.invert = true,
                'c' => o.count = true,
                'l' => o.files_with = true,
                'L' => o.files_without = true,
                'n' => o.number = true,
                'o' => o.only = true,
                'q' => o.quiet = true,
                's' => o.no_messages = true,
                'H' => o.names = Some(true),
                'h' => o.names = Some(false),
                'r' | 'R' => o.recursive = true,
                'e' | 'm' | 'A' | 'B' | 'C' => {
                    let v = value()?;
                    match flag {
                        'e' => o.patterns.push(v),
                        'm' => o.max_count = max_count(&v)?,
                        'A' => after = Some(context_length(&v)?),
                        'B' => before = Some(context_length(&v)?),
                        _ => context = Some(context_length(&v)?),
                    }
                    break;
                }
                other => return Err(format!("grep: invalid option -- '{other}'").into()),
            }
        }
    }
    o.after = after.or(context).unwrap_or(0);
    o.before = before.or(context).unwrap_or(0);
    if o.patterns.is_empty() {
        if operands.is_empty() {
            return Err(String::new().into());
        }
        o.patterns.push(operands.remove(0));
    }
    Ok((o, operands))
}

/// The files `grep -r` reads below `path`, in name order (a file named is itself).
fn grep_walk(files: &dyn Files, cwd: &str, path: &str, out: &mut Vec<String>) {
    match cfs::list_dir(files, cwd, path) {
        Ok(entries) => {
            for (name, inode) in entries {
                let below = if path.ends_with('/') { format!("{path}{name}") } else { format!("{path}/{name}") };
                match inode.kind {
                    Kind::Dir => grep_walk(files, cwd, &below, out),
                    Kind::File(_) => out.push(below),
                    _ => {}
                }
            }
        }
        Err(_) => out.push(path.to_string()),
    }
}

fn grep(cmd: &mut Cmd) -> i32 {
    let usage = if cmd.busybox() { "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]..." } else { "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information." };
    let (o, mut operands) = match grep_options(cmd) {
        Ok(parsed) => parsed,
        Err(GrepRefusal::Alone(message)) => {
            cmd.complain(message);
            return 2;
        }
        Err(GrepRefusal::WithUsage(message)) => {
            if !message.is_empty() {
                cmd.complain(message);
            }
            cmd.complain(usage.to_string());
            return 2;
        }
    };
    let extended = o.extended || cmd.name == "egrep";
    let fixed = o.fixed || cmd.name == "fgrep";
    // Several patterns (`-e a -e b`) are alternatives.
    let pattern = if o.patterns.len() == 1 || fixed { o.patterns[0].clone() } else if extended { o.patterns.join("|") } else { o.patterns.join("\\|") };
    if !fixed && regex_too_nested(&pattern, extended) {
        // regcomp's REG_ESPACE, as busybox reports a pattern it cannot compile.
        cmd.complain(format!("grep: bad regex '{pattern}': Out of memory"));
        return 2;
    }
    let re = Pattern::new(&pattern, extended, fixed, o.fold, o.word);
    let matches = |line: &str| -> bool {
        if o.line {
            let text: Vec<char> = line.chars().collect();
            let mut from = 0;
            while let Some((s, e)) = re.find(&text, from) {
                if s == 0 && e == text.len() {
                    return true;
                }
                if s > 0 {
                    break;
                }
                from = s + 1;
            }
            false
        } else {
            re.is_match(line)
        }
    };
    // `-r` without a file searches the directory, naming files from it.
    let searches_cwd = o.recursive && operands.is_empty();
    if searches_cwd {
        operands.push(".".to_string());
    }
    let mut status = 1;
    // Each file is read when its turn comes, so a read error shows among
    // the lines, as grep prints it, and `-q` stops before later files.
    let mut sources: Vec<Option<String>> = Vec::new();
    if operands.is_empty() {
        sources.push(None);
    } else {
        let mut names = Vec::new();
        for f in &operands {
            if o.recursive {
                grep_walk(cmd.files, cmd.cwd, f, &mut names);
                if searches_cwd {
                    for name in &mut names {
                        if let Some(rest) = name.strip_prefix("./") {
                            *name = rest.to_string();
                        }
                    }
                }
            } else {
                names.push(f.clone());
            }
        }
        sources.extend(names.into_iter().map(Some));
    }
    let show_names = o.names.unwrap_or(operands.len() > 1 || o.recursive);
    let mut any = false;
    for name in &sources {
        let text = match name {
            None => cmd.stdin.to_string(),
            Some(f) => match cfs::read_file(cmd.files, cmd.cwd, f) {
                Ok(t) => t,
                Err(e) => {
                    if !o.no_messages {
                        cmd.complain(format!("grep: {f}: {}", e.message()));
                    }
                    status = 2;
                    continue;
                }
            },
        };
        let shown = name.as_deref().unwrap_or("(standard input)");
        let lines: Vec<&str> = text.lines().collect();
        let mut count = 0;
        // The last line printed, for context and the `--` between groups.
        let mut printed_to: Option<usize> = None;
        let mut after_left = 0;
        let mut n = 0;
        while n < lines.len() {
            let line = lines[n];
            let selected = matches(line) != o.invert;
            let done = o.max_count.is_some_and(|m| count >= m);
            if selected && !done {
                count += 1;
                any = true;
                if o.quiet {
                    return 0;
                }
                if !(o.count || o.files_with || o.files_without) {
                    // Leading context, with `--` after a gap.
                    let first = n.saturating_sub(o.before).max(printed_to.map_or(0, |p| p + 1));
                    if (o.before > 0 || o.after > 0) && printed_to.is_some_and(|p| first > p + 1) {
                        cmd.say("--");
                    }
                    for (k, context_line) in lines.iter().enumerate().take(n).skip(first) {
                        let prefix = grep_prefix(show_names.then_some(shown), o.number.then_some(k + 1), '-');
                        cmd.say(&format!("{prefix}{context_line}"));
                    }
                    let prefix = grep_prefix(show_names.then_some(shown), o.number.then_some(n + 1), ':');
                    if o.only {
                        if !o.invert {
                            let text: Vec<char> = line.chars().collect();
                            let mut from = 0;
                            while let Some((s, e)) = re.find(&text, from) {
                                if e > s {
                                    cmd.say(&format!("{prefix}{}", text[s..e].iter().collect::<String>()));
                                }
                                from = if e > s { e } else { s + 1 };
                                if from > text.len() {
                                    break;
                                }
                            }
                        }
                    } else {
                        cmd.say(&format!("{prefix}{line}"));
                    }
                    printed_to = Some(n);
                    after_left = o.after;
                }
            } else if after_left > 0 && !(o.count || o.files_with || o.files_without) {
                after_left -= 1;
                let prefix = grep_prefix(show_names.then_some(shown), o.number.then_some(n + 1), '-');
                cmd.say(&format!("{prefix}{line}"));
                printed_to = Some(n);
            } else if done {
                // `-m`: reading stops once its trailing context is out.
                break;
            }
            n += 1;
        }
        if o.count {
            let line = if show_names { format!("{shown}:{count}") } else { count.to_string() };
            cmd.say(&line);
        } else if o.files_with && count > 0 {
            cmd.say(shown);
        } else if o.files_without && count == 0 {
            cmd.say(shown);
        }
    }
    // An error decides the status unless `-q` found a line (it stops there).
    if status == 2 {
        2
    } else if any {
        0
    } else {
        1
    }
}

/// What grep prints before a line: the file's name and the line's number,
/// each followed by `:` for a selected line and `-` for context.
fn grep_prefix(name: Option<&str>, number: Option<usize>, mark: char) -> String {
    let mut out = String::new();
    if let Some(name) = name {
        out.push_str(name);
        out.push(mark);
    }
    if let Some(n) = number {
        out.push_str(&n.to_string());
        out.push(mark);
    }
    out
}

/// `test` / `[`: the POSIX expressions, with `!`, `-a` and `-o`.
pub fn evaluate_test(files: &dyn Files, cwd: &str, args: &[&str]) -> Result<bool, String> {
    fn primary(files: &dyn Files, cwd: &str, a: &[&str]) -> Result<bool, String> {
        let stat = |p: &str| cfs::stat(files, cwd, p).ok().map(|(_, i)| i);
        Ok(match a {
            [] => false,
            ["!", rest @ ..] => !primary(files, cwd, rest)?,
            [s] => !s.is_empty(),
            ["-e", f] => stat(f).is_some(),
            ["-f", f] => stat(f).is_some_and(|i| matches!(i.kind, Kind::File(_))),
            ["-d", f] => stat(f).is_some_and(|i| i.is_dir()),
            ["-s", f] => stat(f).is_some_and(|i| i.size() > 0 && !i.is_dir()),
            ["-r" | "-w", f] => stat(f).is_some(),
            ["-x", f] => stat(f).is_some_and(|i| i.mode & 0o111 != 0),
            ["-L" | "-h", f] => cfs::lstat(files, cwd, f).is_ok_and(|(_, i)| matches!(i.kind, Kind::Symlink(_))),
            ["-z", s] => s.is_empty(),
            ["-n", s] => !s.is_empty(),
            [x, "=" | "==", y] => x == y,
            [x, "!=", y] => x != y,
            [x, op @ ("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"), y] => {
                let num = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("{s}: bad number"));
                let (x, y) = (num(x)?, num(y)?);
                match *op {
                    "-eq" => x == y,
                    "-ne" => x != y,
                    "-lt" => x < y,
                    "-le" => x <= y,
                    "-gt" => x > y,
                    _ => x >= y,
                }
            }
            _ => return Err("unknown operand".into()),
        })
    }
    if let Some(i) = args.iter().position(|a| *a == "-o") {
        return Ok(evaluate_test(files, cwd, &args[..i])? || evaluate_test(files, cwd, &args[i + 1..])?);
    }
    if let Some(i) = args.iter().position(|a| *a == "-a") {
        return Ok(evaluate_test(files, cwd, &args[..i])? && evaluate_test(files, cwd, &args[i + 1..])?);
    }
    primary(files, cwd, args)
}

fn test(cmd: &mut Cmd) -> i32 {
    let mut a: Vec<&str> = cmd.args.iter().map(String::as_str).collect();
    if cmd.name == "[" {
        if a.last() != Some(&"]") {
            cmd.complain("sh: missing ]".into());
            return 2;
        }
        a.pop();
    }
    match evaluate_test(cmd.files, cmd.cwd, &a) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            cmd.complain(format!("sh: {e}"));
            2
        }
    }
}

/// Padding one `printf` may write: a width beyond it is cut to it (a live
/// command's output is kept to a mebibyte anyway).
const PRINTF_PAD_LIMIT: usize = 1 << 20;

/// Which printf: the shells' builtins and coreutils' program differ in
/// the escapes, length modifiers and flags they take and in their words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintfDialect {
    /// bash's builtin: `\xHH` and `\e`, length modifiers skipped, `'`.
    Bash,
    /// dash's builtin (Debian's `sh`): no `\x`, no length modifiers.
    Dash,
    /// busybox's applet (ash's builtin): `\xHH`, `\c` ends the output.
    Busybox,
    /// coreutils' `printf` program.
    Coreutils,
}

/// What a conversion could not do; the caller words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintfProblem {
    /// Nothing in the argument was a number (0 used).
    NotNumber(String),
    /// A number followed by more (the number used).
    Partly(String),
    /// Beyond the 64-bit range (the nearest end used).
    OutOfRange(String),
    /// An unknown conversion: the directive up to it, and its character.
    BadDirective { directive: String, conversion: char },
    /// bash's `%q`, `%Q` and `%(…)T`, which the simulation does not make.
    NotSimulated(String),
}

/// A printf's output, and its problems with where the output stood.
#[derive(Debug, Default)]
pub struct Printed {
    pub out: String,
    /// Each problem with where the output stood and the pass of the
    /// format over its arguments it came in (0 for the first).
    pub problems: Vec<(usize, usize, PrintfProblem)>,
    /// The output of each pass ends here.
    pub passes: Vec<usize>,
}

/// An argument as strtoimax/strtod read it: a leading quote gives the
/// next character's code.
fn printf_number(arg: &str, float: bool, problems: &mut Vec<PrintfProblem>) -> (i128, f64) {
    if let Some(rest) = arg.strip_prefix(['\'', '"']) {
        let code = rest.chars().next().map_or(0, |c| c as u32);
        return (i128::from(code), f64::from(code));
    }
    let text = arg.trim_start_matches([' ', '\t', '\n']);
    if text.is_empty() {
        if !arg.is_empty() {
            problems.push(PrintfProblem::NotNumber(arg.to_string()));
        }
        return (0, 0.0);
    }
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if float {
        // The longest prefix Rust reads as a number is what strtod takes.
        let end = (1..=text.len()).rev().find(|&e| text.is_char_boundary(e) && text[..e].parse::<f64>().is_ok() && !text[..e].ends_with(['e', 'E', '+', '-']));
        return match end {
            Some(e) => {
                if e < text.len() {
                    problems.push(PrintfProblem::Partly(arg.to_string()));
                }
                (0, text[..e].parse().unwrap_or(0.0))
            }
            None => {
                problems.push(PrintfProblem::NotNumber(arg.to_string()));
                (0, 0.0)
            }
        };
    }
    let (radix, digits) = if let Some(hex) = unsigned.strip_prefix("0x").or_else(|| unsigned.strip_prefix("0X")) {
        (16, hex)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    let end = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    if end == 0 && radix == 10 {
        problems.push(PrintfProblem::NotNumber(arg.to_string()));
        return (0, 0.0);
    }
    let magnitude = i128::from_str_radix(&digits[..end], radix).unwrap_or(i128::MAX);
    let value = if negative { -magnitude } else { magnitude };
    let clamped = value.clamp(i128::from(i64::MIN), i128::from(u64::MAX));
    if clamped != value || (negative && value < i128::from(i64::MIN)) {
        problems.push(PrintfProblem::OutOfRange(arg.to_string()));
    } else if end < digits.len() {
        problems.push(PrintfProblem::Partly(arg.to_string()));
    }
    (clamped, 0.0)
}

/// One backslash escape of a format at `chars[i]` (the backslash): its text
/// and how many characters it took; `None` for `\c` where it ends output.
fn printf_escape(chars: &[char], i: usize, dialect: PrintfDialect) -> (Option<String>, usize) {
    let Some(&c) = chars.get(i + 1) else { return (Some("\\".into()), 1) };
    let simple = match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '"' => Some('"'),
        'e' | 'E' if dialect == PrintfDialect::Bash => Some('\u{1b}'),
        _ => None,
    };
    // bash's `\uHHHH` and `\UHHHHHHHH`: a character by its code point.
    if matches!(c, 'u' | 'U') && dialect == PrintfDialect::Bash {
        let most = if c == 'u' { 4 } else { 8 };
        let digits: String = chars.iter().skip(i + 2).take(most).take_while(|d| d.is_ascii_hexdigit()).collect();
        if let Some(ch) = u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32) {
            return (Some(ch.to_string()), 2 + digits.len());
        }
        return (Some(format!("\\{c}")), 2);
    }
    if let Some(ch) = simple {
        return (Some(ch.to_string()), 2);
    }
    if c == 'c' && dialect == PrintfDialect::Busybox {
        return (None, 2);
    }
    let (radix, skip, most) = match c {
        '0'..='7' => (8, 1, 3),
        'x' if dialect != PrintfDialect::Dash => (16, 2, 2),
        _ => return (Some(format!("\\{c}")), 2),
    };
    let digits: String = chars.iter().skip(i + skip).take(most).take_while(|d| d.is_digit(radix)).collect();
    if digits.is_empty() {
        return (Some(format!("\\{c}")), 2);
    }
    let code = u32::from_str_radix(&digits, radix).unwrap_or(0) & 0xff;
    (Some(char::from_u32(code).map(String::from).unwrap_or_default()), skip + digits.len())
}

/// `%b`'s argument with its escapes: the format's, `\0NNN` as well as
/// `\NNN`, and `\c`, which ends all output (the `bool`).
fn printf_b_unescape(text: &str, dialect: PrintfDialect) -> (String, bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('c') => return (out, true),
            Some('0') => {
                let digits: String = chars.iter().skip(i + 2).take(3).take_while(|d| d.is_digit(8)).collect();
                let code = u32::from_str_radix(&digits, 8).unwrap_or(0) & 0xff;
                out.extend(char::from_u32(code));
                i += 2 + digits.len();
            }
            _ => {
                let (piece, took) = printf_escape(&chars, i, dialect);
                out.push_str(&piece.unwrap_or_default());
                i += took;
            }
        }
    }
    (out, false)
}

/// `printf FORMAT [ARG]...` as `dialect` runs it, reusing the format while
/// arguments remain.
pub fn printf_format(fmt: &str, args: &[String], dialect: PrintfDialect) -> Printed {
    let mut printed = Printed::default();
    let mut args = args.iter();
    let chars: Vec<char> = fmt.chars().collect();
    let modifiers: &[char] = match dialect {
        PrintfDialect::Dash => &[],
        PrintfDialect::Busybox => &['h', 'l', 'L'],
        PrintfDialect::Bash => &['h', 'j', 'l', 'L', 't', 'z'],
        PrintfDialect::Coreutils => &['h', 'l', 'L', 'q', 'j', 'z', 't'],
    };
    loop {
        let mut used = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let (piece, took) = printf_escape(&chars, i, dialect);
                let Some(piece) = piece else { return printed };
                printed.out.push_str(&piece);
                i += took;
                continue;
            }
            if c != '%' {
                printed.out.push(c);
                i += 1;
                continue;
            }
            if chars.get(i + 1) == Some(&'%') {
                printed.out.push('%');
                i += 2;
                continue;
            }
            let start = i;
            let mut j = i + 1;
            let mut flags = String::new();
            while let Some(&f) = chars.get(j).filter(|f| "-+ #0".contains(**f) || (**f == '\'' && dialect != PrintfDialect::Dash)) {
                flags.push(f);
                j += 1;
            }
            let mut problems = Vec::new();
            let mut field = |j: &mut usize, used: &mut bool| -> Option<i128> {
                if chars.get(*j) == Some(&'*') {
                    *j += 1;
                    *used = true;
                    return Some(args.next().map_or(0, |a| printf_number(a, false, &mut problems).0));
                }
                let s = *j;
                while chars.get(*j).is_some_and(char::is_ascii_digit) {
                    *j += 1;
                }
                (*j > s).then(|| chars[s..*j].iter().collect::<String>().parse().unwrap_or(i128::from(u32::MAX)))
            };
            let width = field(&mut j, &mut used);
            let precision = if chars.get(j) == Some(&'.') {
                j += 1;
                Some(field(&mut j, &mut used).unwrap_or(0))
            } else {
                None
            };
            while chars.get(j).is_some_and(|m| modifiers.contains(m)) {
                j += 1;
            }
            let conversion = chars.get(j).copied().unwrap_or('\0');
            if dialect == PrintfDialect::Bash && matches!(conversion, 'q' | 'Q' | '(') {
                let directive: String = chars[start..(j + 1).min(chars.len())].iter().collect();
                printed.problems.push((printed.out.len(), printed.passes.len(), PrintfProblem::NotSimulated(directive)));
                return printed;
            }
            if !"diouxXcsbfFeEgG".contains(conversion) || conversion == '\0' {
                let directive: String = chars[start..(j + 1).min(chars.len())].iter().collect();
                printed.problems.push((printed.out.len(), printed.passes.len(), PrintfProblem::BadDirective { directive, conversion }));
                return printed;
            }
            i = j + 1;
            used = true;
            let arg = args.next().map(String::as_str);
            let left = flags.contains('-') || width.is_some_and(|w| w < 0);
            let width = width.map_or(0, |w| usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX));
            // Held to what Rust's formatter takes (65,535 digits): more
            // would panic there, and is padding beyond any terminal's use.
            let precision = precision.and_then(|p| usize::try_from(p).ok()).map(|p| p.min(usize::from(u16::MAX)));
            let sign = |negative: bool| if negative { "-" } else if flags.contains('+') { "+" } else if flags.contains(' ') { " " } else { "" };
            let (body, numeric) = match conversion {
                's' => (arg.unwrap_or("").chars().take(precision.unwrap_or(usize::MAX)).collect::<String>(), false),
                'b' => {
                    let (text, stop) = printf_b_unescape(arg.unwrap_or(""), dialect);
                    let text: String = text.chars().take(precision.unwrap_or(usize::MAX)).collect();
                    if stop {
                        printed.out.push_str(&text);
                        return printed;
                    }
                    (text, false)
                }
                'c' => (arg.map_or(String::new(), |a| a.chars().next().unwrap_or('\0').to_string()), false),
                'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                    let n = arg.map_or(0.0, |a| printf_number(a, true, &mut problems).1);
                    let text = crate::engine::node::awk::float(n.abs(), conversion, precision.unwrap_or(6), flags.contains('#'));
                    (format!("{}{text}", sign(n.is_sign_negative() && n != 0.0)), true)
                }
                _ => {
                    let n = arg.map_or(0, |a| printf_number(a, false, &mut problems).0);
                    let as_unsigned = |n: i128| if n < 0 { u128::from(n as i64 as u64) } else { n.unsigned_abs() };
                    let (prefix, digits) = match conversion {
                        'd' | 'i' => (sign(n < 0), n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)).unsigned_abs().to_string()),
                        'u' => ("", as_unsigned(n).to_string()),
                        'o' => ("", format!("{:o}", as_unsigned(n))),
                        'x' => (if flags.contains('#') && n != 0 { "0x" } else { "" }, format!("{:x}", as_unsigned(n))),
                        _ => (if flags.contains('#') && n != 0 { "0X" } else { "" }, format!("{:X}", as_unsigned(n))),
                    };
                    let digits = match precision {
                        Some(0) if digits == "0" => String::new(),
                        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                        _ => digits,
                    };
                    let digits = if conversion == 'o' && flags.contains('#') && !digits.starts_with('0') { format!("0{digits}") } else { digits };
                    (format!("{prefix}{digits}"), precision.is_none())
                }
            };
            for problem in problems {
                printed.problems.push((printed.out.len(), printed.passes.len(), problem));
            }
            // Padded by hand: a width of any size is the user's, and one
            // command's output is bounded like any other's.
            let pad = width.saturating_sub(body.chars().count()).min(PRINTF_PAD_LIMIT);
            if left {
                printed.out.push_str(&body);
                printed.out.extend(std::iter::repeat_n(' ', pad));
            } else if flags.contains('0') && numeric && body.ends_with(|ch: char| ch.is_ascii_alphanumeric()) && !body.contains(['i', 'n', 'I', 'N']) {
                // Zeros go after the sign and any 0x.
                let lead = body.len() - body.trim_start_matches(['-', '+', ' ']).len();
                let lead = if body[lead..].starts_with("0x") || body[lead..].starts_with("0X") { lead + 2 } else { lead };
                printed.out.push_str(&body[..lead]);
                printed.out.extend(std::iter::repeat_n('0', pad));
                printed.out.push_str(&body[lead..]);
            } else {
                printed.out.extend(std::iter::repeat_n(' ', pad));
                printed.out.push_str(&body);
            }
            if printed.out.len() > PRINTF_PAD_LIMIT {
                return printed;
            }
        }
        printed.passes.push(printed.out.len());
        if !used || args.len() == 0 {
            return printed;
        }
    }
}

/// A printf problem in `dialect`'s words (without the shell's prefix), and
/// whether it ends the printf.
pub fn printf_problem_text(problem: &PrintfProblem, dialect: PrintfDialect) -> (String, bool) {
    use PrintfDialect::*;
    use PrintfProblem::*;
    match (problem, dialect) {
        (NotNumber(a) | Partly(a), Bash) => (format!("printf: {a}: invalid number"), false),
        (OutOfRange(a), Bash) => (format!("printf: warning: {a}: Numerical result out of range"), false),
        (BadDirective { conversion, .. }, Bash) => (format!("printf: `{conversion}': invalid format character"), true),
        (NotNumber(a), Dash) => (format!("printf: {a}: expected numeric value"), false),
        (Partly(a), Dash) => (format!("printf: {a}: not completely converted"), false),
        (OutOfRange(a), Dash) => (format!("printf: {a}: Numerical result out of range"), false),
        (BadDirective { directive, .. }, Dash) => (format!("printf: {directive}: invalid directive"), true),
        (NotNumber(a) | Partly(a) | OutOfRange(a), Busybox) => (format!("printf: invalid number '{a}'"), false),
        (BadDirective { directive, .. }, Busybox) => (format!("printf: {directive}: invalid format"), true),
        (NotNumber(a), Coreutils) => (format!("printf: '{a}': expected a numeric value"), false),
        (Partly(a), Coreutils) => (format!("printf: '{a}': value not completely converted"), false),
        (OutOfRange(a), Coreutils) => (format!("printf: '{a}': Numerical result out of range"), false),
        (BadDirective { directive, .. }, Coreutils) => (format!("printf: {directive}: invalid conversion specification"), true),
        (NotSimulated(directive), _) => (format!("printf: {directive}: not simulated (shell quoting and times are bash's own)"), true),
    }
}

/// coreutils' `printf` program (`env printf`, `find -exec printf`,
/// busybox's applet run by path); the shells run their builtins.
fn printf(cmd: &mut Cmd) -> i32 {
    let dialect = if cmd.busybox() { PrintfDialect::Busybox } else { PrintfDialect::Coreutils };
    let Some(fmt) = cmd.args.first().cloned() else {
        let usage = if cmd.busybox() { "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: printf FORMAT [ARG]..." } else { "printf: missing operand\nTry 'printf --help' for more information." };
        cmd.complain(usage.into());
        return 1;
    };
    let printed = printf_format(&fmt, &cmd.args[1..], dialect);
    let mut status = 0;
    let mut from = 0;
    // Both flush stdout before an error.
    for (at, _, problem) in &printed.problems {
        cmd.out.push_str(printed.out.get(from..*at).unwrap_or(""));
        from = *at;
        let (text, ends) = printf_problem_text(problem, dialect);
        cmd.complain(text);
        status = 1;
        if ends {
            break;
        }
    }
    cmd.out.push_str(printed.out.get(from..).unwrap_or(""));
    status
}

/// A `seq` operand as an exact decimal: its value times 10^scale, and the
/// fraction digits it is written with (an exponent takes them away).
fn seq_number(text: &str) -> Option<(i128, u32)> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = i32::try_from(frac.len()).ok()?.checked_sub(exponent)?;
    let mut value: i128 = format!("{int}{frac}").parse().ok()?;
    let scale = if scale < 0 {
        value = value.checked_mul(10i128.checked_pow(scale.unsigned_abs())?)?;
        0
    } else {
        scale.unsigned_abs()
    };
    if scale > 30 {
        return None;
    }
    Some((if negative { -value } else { value }, scale))
}

/// `seq [-s SEP] [-w] [-f FORMAT] [FIRST [INCREMENT]] LAST`, coreutils
/// 9.1's: exact decimal steps, printed with the first's and the
/// increment's fraction digits.
fn seq(cmd: &mut Cmd) -> i32 {
    let usage_error = |cmd: &mut Cmd, line: String| {
        cmd.complain(format!("seq: {line}\nTry 'seq --help' for more information."));
        1
    };
    let (mut separator, mut equal_width, mut format) = ("\n".to_string(), false, None::<String>);
    let mut operands: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cmd.args.len() {
        let a = cmd.args[i].clone();
        i += 1;
        // A negative number is an operand, not an option.
        if !operands.is_empty() || !a.starts_with('-') || a.len() == 1 || a[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            operands.push(a);
            continue;
        }
        let value = |i: &mut usize, attached: &str| if attached.is_empty() { cmd.args.get(*i).cloned().inspect(|_| *i += 1) } else { Some(attached.to_string()) };
        match a.as_bytes()[1] {
            b's' => match value(&mut i, &a[2..]) {
                Some(v) => separator = v,
                None => return usage_error(cmd, "option requires an argument -- 's'".into()),
            },
            b'f' => match value(&mut i, &a[2..]) {
                Some(v) => format = Some(v),
                None => return usage_error(cmd, "option requires an argument -- 'f'".into()),
            },
            b'w' if a.len() == 2 => equal_width = true,
            b'-' if a == "--" => {
                operands.extend(cmd.args[i..].iter().cloned());
                break;
            }
            _ => {
                let shown = if a.starts_with("--") { format!("unrecognized option '{a}'") } else { format!("invalid option -- '{}'", a.chars().nth(1).unwrap_or('-')) };
                return usage_error(cmd, shown);
            }
        }
    }
    if operands.is_empty() {
        return usage_error(cmd, "missing operand".into());
    }
    if operands.len() > 3 {
        return usage_error(cmd, format!("extra operand '{}'", operands[3]));
    }
    let mut parsed = Vec::with_capacity(3);
    for o in &operands {
        match seq_number(o) {
            Some(n) => parsed.push(n),
            None => return usage_error(cmd, format!("invalid floating point argument: '{o}'")),
        }
    }
    let (first, step, last) = match parsed.as_slice() {
        [l] => ((1, 0), (1, 0), *l),
        [f, l] => (*f, (1, 0), *l),
        [f, s, l, ..] => (*f, *s, *l),
        _ => return usage_error(cmd, "missing operand".into()),
    };
    // All three on one scale; printed with the first's and the step's.
    let scale = first.1.max(step.1).max(last.1);
    let precision = first.1.max(step.1);
    let widen = |(v, s): (i128, u32)| v.checked_mul(10i128.pow(scale - s));
    let (Some(first_v), Some(step_v), Some(last_v)) = (widen(first), widen(step), widen(last)) else {
        return usage_error(cmd, "invalid floating point argument".into());
    };
    if step_v == 0 {
        let shown = operands.get(1).cloned().unwrap_or_default();
        return usage_error(cmd, format!("invalid Zero increment value: '{shown}'"));
    }
    let text_of = |v: i128| {
        let unit = 10i128.pow(scale);
        let (int, frac) = (v.unsigned_abs() / unit.unsigned_abs(), v.unsigned_abs() % unit.unsigned_abs());
        let frac = format!("{frac:0width$}", width = scale as usize);
        let frac = &frac[..precision as usize];
        let sign = if v < 0 { "-" } else { "" };
        if precision == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
    };
    let width = if equal_width { text_of(first_v).len().max(text_of(last_v).len()) } else { 0 };
    let mut out = String::new();
    let mut n = first_v;
    let mut emitted = 0;
    while (step_v > 0 && n <= last_v) || (step_v < 0 && n >= last_v) {
        if emitted > 0 {
            out.push_str(&separator);
        }
        let mut text = text_of(n);
        if let Some(f) = &format {
            text = printf_format(f, &[text], PrintfDialect::Coreutils).out;
        } else if text.len() < width {
            // Zeros after the sign.
            let digits = text.trim_start_matches('-');
            text = format!("{}{}{digits}", if n < 0 { "-" } else { "" }, "0".repeat(width - text.len()));
        }
        out.push_str(&text);
        emitted += 1;
        // The simulation keeps one command's output bounded.
        let Some(next) = n.checked_add(step_v) else { break };
        if emitted >= 100_000 {
            break;
        }
        n = next;
    }
    if emitted > 0 {
        out.push('\n');
    }
    cmd.out.push_str(&out);
    0
}

/// How `sort` orders a key (or, without keys, the line): coreutils' and
/// busybox's ordering options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SortOrder {
    numeric: bool,
    general: bool,
    human: bool,
    month: bool,
    fold: bool,
    dictionary: bool,
    printable: bool,
    reverse: bool,
    blanks: bool,
}

impl SortOrder {
    /// Applies one ordering letter; false if it is not one.
    fn set(&mut self, letter: char) -> bool {
        match letter {
            'n' => self.numeric = true,
            'g' => self.general = true,
            'h' => self.human = true,
            'M' => self.month = true,
            'f' => self.fold = true,
            'd' => self.dictionary = true,
            'i' => self.printable = true,
            'r' => self.reverse = true,
            'b' => self.blanks = true,
            _ => return false,
        }
        true
    }

    /// The letters of the numeric kinds given together (coreutils refuses them).
    fn clash(&self) -> Option<String> {
        let kinds: String = [(self.general, 'g'), (self.human, 'h'), (self.month, 'M'), (self.numeric, 'n')].iter().filter(|k| k.0).map(|k| k.1).collect();
        let kinds = if kinds.len() > 1 || (!kinds.is_empty() && (self.dictionary || self.printable)) {
            let mut all = kinds;
            if self.dictionary {
                all.insert(0, 'd');
            }
            if self.printable {
                all.push('i');
            }
            all
        } else {
            return None;
        };
        Some(kinds)
    }
}

/// `-k START[.C][OPTS][,END[.C][OPTS]]`, as coreutils' `begfield` and `limfield` read it.
#[derive(Clone, Copy, Debug)]
struct SortKey {
    /// 0-based field and character where the key starts.
    start_field: usize,
    start_char: usize,
    /// 0-based field where it ends and the character in it (0: its end); none: the line's end.
    end: Option<(usize, usize)>,
    order: SortOrder,
    skip_end_blanks: bool,
}

fn sort_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The part of `line` a key covers.
fn sort_key_text<'l>(line: &'l [u8], key: &SortKey, tab: Option<u8>) -> &'l [u8] {
    let lim = line.len();
    let skip_fields = |mut ptr: usize, mut fields: usize, keep_tab: bool| {
        while ptr < lim && fields > 0 {
            fields -= 1;
            match tab {
                Some(t) => {
                    while ptr < lim && line[ptr] != t {
                        ptr += 1;
                    }
                    if ptr < lim && (fields > 0 || keep_tab) {
                        ptr += 1;
                    }
                }
                None => {
                    while ptr < lim && sort_blank(line[ptr]) {
                        ptr += 1;
                    }
                    while ptr < lim && !sort_blank(line[ptr]) {
                        ptr += 1;
                    }
                }
            }
        }
        ptr
    };
    let mut start = skip_fields(0, key.start_field, true);
    if key.order.blanks {
        while start < lim && sort_blank(line[start]) {
            start += 1;
        }
    }
    let start = (start + key.start_char).min(lim);
    let end = match key.end {
        None => lim,
        Some((field, 0)) => skip_fields(0, field + 1, false),
        Some((field, char)) => {
            let mut ptr = skip_fields(0, field, true);
            if key.skip_end_blanks {
                while ptr < lim && sort_blank(line[ptr]) {
                    ptr += 1;
                }
            }
            (ptr + char).min(lim)
        }
    };
    &line[start..end.max(start)]
}

/// A number's sign, integer digits (without leading zeros) and fraction
/// digits (without trailing zeros), after leading blanks, as `-n` reads it.
fn sort_number(text: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut i = 0;
    while i < text.len() && sort_blank(text[i]) {
        i += 1;
    }
    let negative = text.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let int_start = i;
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    let mut int = &text[int_start..i];
    while int.first() == Some(&b'0') {
        int = &int[1..];
    }
    let mut frac: &[u8] = &[];
    if text.get(i) == Some(&b'.') {
        let f = i + 1;
        let mut e = f;
        while e < text.len() && text[e].is_ascii_digit() {
            e += 1;
        }
        frac = &text[f..e];
        while frac.last() == Some(&b'0') {
            frac = &frac[..frac.len() - 1];
        }
    }
    // Minus zero is zero.
    (negative && !(int.is_empty() && frac.is_empty()), int, frac)
}

fn sort_numeric_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (na, ia, fa) = sort_number(a);
    let (nb, ib, fb) = sort_number(b);
    let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(ib)).then_with(|| fa.cmp(fb));
    match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

/// `-h`: the unit's order first (none, K, M, G, …; negative numbers' reversed), then `-n`.
fn sort_human_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let unit = |text: &[u8]| {
        let (negative, _, _) = sort_number(text);
        let mut i = 0;
        while i < text.len() && (sort_blank(text[i]) || text[i] == b'-') {
            i += 1;
        }
        while i < text.len() && (text[i].is_ascii_digit() || text[i] == b'.') {
            i += 1;
        }
        let order = text.get(i).and_then(|u| b"KMGTPEZYRQ".iter().position(|x| x == u).map(|p| p as i32 + 1)).or_else(|| (text.get(i) == Some(&b'k')).then_some(1)).unwrap_or(0);
        if negative { -order } else { order }
    };
    unit(a).cmp(&unit(b)).then_with(|| sort_numeric_cmp(a, b))
}

/// `-g`: as strtod reads the start of each; what is no number sorts first.
fn sort_general_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let value = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        let t = text.trim_start_matches([' ', '\t']);
        (1..=t.len()).rev().filter(|&e| t.is_char_boundary(e)).find_map(|e| t[..e].parse::<f64>().ok().filter(|_| !t[..e].ends_with(['e', 'E', '+', '-'])))
    };
    match (value(a), value(b)) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.total_cmp(&y),
    }
}

/// `-M`: a month's three letters after blanks, in any case; anything else first.
fn sort_month(text: &[u8]) -> usize {
    let mut i = 0;
    while i < text.len() && sort_blank(text[i]) {
        i += 1;
    }
    let name: Vec<u8> = text[i..].iter().take(3).map(u8::to_ascii_uppercase).collect();
    const MONTHS: [&[u8]; 12] = [b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC"];
    MONTHS.iter().position(|m| *m == name.as_slice()).map_or(0, |p| p + 1)
}

fn sort_key_cmp(a: &[u8], b: &[u8], order: &SortOrder) -> std::cmp::Ordering {
    let ordering = if order.numeric {
        sort_numeric_cmp(a, b)
    } else if order.human {
        sort_human_cmp(a, b)
    } else if order.general {
        sort_general_cmp(a, b)
    } else if order.month {
        sort_month(a).cmp(&sort_month(b))
    } else if order.fold || order.dictionary || order.printable {
        let kept = |text: &'_ [u8]| -> Vec<u8> {
            text.iter()
                .filter(|c| !order.dictionary || c.is_ascii_alphanumeric() || sort_blank(**c))
                .filter(|c| !order.printable || (0x20..0x7f).contains(*c))
                .map(|c| if order.fold { c.to_ascii_uppercase() } else { *c })
                .collect()
        };
        kept(a).cmp(&kept(b))
    } else {
        a.cmp(b)
    };
    if order.reverse { ordering.reverse() } else { ordering }
}

/// The first number of a `-k` position and where it ends; `None` if there is none.
fn sort_count(text: &str) -> Option<(usize, &str)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    (end > 0).then(|| (text[..end].parse().unwrap_or(usize::MAX), &text[end..]))
}

fn sort_parse_key(spec: &str, global: SortOrder) -> Result<SortKey, String> {
    let invalid = |why: &str, at: &str| format!("sort: {why}: invalid count at start of '{at}'");
    let badfield = |why: &str| format!("sort: {why}: invalid field specification '{spec}'");
    let (field, rest) = sort_count(spec).ok_or_else(|| invalid("invalid number at field start", spec))?;
    if field == 0 {
        return Err(badfield("field number is zero"));
    }
    let (char, mut rest) = match rest.strip_prefix('.') {
        Some(c) => {
            let (n, r) = sort_count(c).ok_or_else(|| invalid("invalid number after '.'", c))?;
            if n == 0 {
                return Err(badfield("character offset is zero"));
            }
            (n, r)
        }
        None => (1, rest),
    };
    let mut order = SortOrder::default();
    let mut own = false;
    while let Some(c) = rest.chars().next().filter(|c| *c != ',') {
        if !order.set(c) {
            return Err(badfield("stray character in field spec"));
        }
        own = true;
        rest = &rest[c.len_utf8()..];
    }
    let mut end = None;
    let mut skip_end_blanks = false;
    if let Some(after) = rest.strip_prefix(',') {
        let (field, mut r) = sort_count(after).ok_or_else(|| invalid("invalid number after ','", after))?;
        if field == 0 {
            return Err(badfield("field number is zero"));
        }
        let mut echar = 0;
        if let Some(c) = r.strip_prefix('.') {
            let (n, rr) = sort_count(c).ok_or_else(|| invalid("invalid number after '.'", c))?;
            echar = n;
            r = rr;
        }
        for c in r.chars() {
            if c == 'b' {
                skip_end_blanks = true;
            } else if !order.set(c) {
                return Err(badfield("stray character in field spec"));
            }
            own = true;
        }
        end = Some((field - 1, echar));
    }
    // A key with no ordering of its own takes the global one.
    if !own {
        order = global;
        skip_end_blanks = global.blanks;
    }
    Ok(SortKey { start_field: field - 1, start_char: char - 1, end, order, skip_end_blanks })
}

/// A `sort` option's value: a key, the field separator, the output file;
/// memory and temporary files change nothing in the output.
fn sort_option_value(option: char, value: &str, key_specs: &mut Vec<String>, tab: &mut Option<u8>, output: &mut Option<String>) -> Result<(), String> {
    match option {
        'k' => key_specs.push(value.to_string()),
        't' => {
            if value.len() != 1 {
                return Err(format!("sort: multi-character tab '{value}'"));
            }
            *tab = value.bytes().next();
        }
        'o' => *output = Some(value.to_string()),
        _ => {}
    }
    Ok(())
}

/// `sort`: coreutils 9.1's (busybox's takes the same options): keys
/// (`-k`, `-t`), the orderings `-n`, `-g`, `-h`, `-M`, `-f`, `-d`, `-i`,
/// `-b`, `-r`, each global or a key's own, `-u`, `-s`, `-c`/`-C`, `-o`,
/// and the last resort of comparing whole lines byte by byte (the C locale).
fn sort(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let usage_error = |cmd: &mut Cmd, line: String| {
        let text = if busybox { format!("{line}\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: sort [-nrugMcszbdfiokt] [-o FILE] [-k START[.OFS][OPTS][,END[.OFS][OPTS]] [-t CHAR] [FILE]...") } else { format!("{line}\nTry 'sort --help' for more information.") };
        cmd.complain(text);
        2
    };
    let mut global = SortOrder::default();
    let mut key_specs: Vec<String> = Vec::new();
    let (mut tab, mut unique, mut stable, mut check, mut quiet_check) = (None::<u8>, false, false, false, false);
    let mut output: Option<String> = None;
    let mut operands = Vec::new();
    let mut words = CommandWords::new(cmd.args);
    while let Some(word) = words.next_word() {
        let letters = match word {
            Word::Operand(a) => {
                operands.push(a.to_string());
                continue;
            }
            Word::Short(letters) => letters,
            Word::Long(name, value) => {
                let letter = match name {
                    "numeric-sort" => Some('n'),
                    "general-numeric-sort" => Some('g'),
                    "human-numeric-sort" => Some('h'),
                    "month-sort" => Some('M'),
                    "ignore-case" => Some('f'),
                    "dictionary-order" => Some('d'),
                    "ignore-nonprinting" => Some('i'),
                    "reverse" => Some('r'),
                    "ignore-leading-blanks" => Some('b'),
                    _ => None,
                };
                let option = match (name, letter) {
                    (_, Some(l)) => l,
                    ("unique", _) => 'u',
                    ("stable", _) => 's',
                    ("check", _) => 'c',
                    ("key", _) => 'k',
                    ("field-separator", _) => 't',
                    ("output", _) => 'o',
                    ("buffer-size" | "temporary-directory" | "parallel", _) => 'S',
                    ("random-sort" | "version-sort" | "merge" | "zero-terminated" | "files0-from" | "sort" | "random-source" | "compress-program" | "batch-size" | "debug", _) => {
                        cmd.complain(format!("sort: --{name} is not simulated"));
                        return 2;
                    }
                    _ => return usage_error(cmd, format!("sort: unrecognized option '--{name}'")),
                };
                let takes_value = matches!(option, 'k' | 't' | 'o' | 'S');
                let Some(value) = value.or_else(|| if takes_value { words.value() } else { None }).or((!takes_value).then_some("")) else {
                    return usage_error(cmd, format!("sort: option '--{name}' requires an argument"));
                };
                if !takes_value {
                    global.set(option);
                }
                match option {
                    'u' => unique = true,
                    's' => stable = true,
                    'c' => check = true,
                    _ => {}
                }
                if takes_value {
                    match sort_option_value(option, value, &mut key_specs, &mut tab, &mut output) {
                        Ok(()) => {}
                        Err(e) => {
                            cmd.complain(e);
                            return 2;
                        }
                    }
                }
                continue;
            }
        };
        let letters: Vec<char> = letters.chars().collect();
        let mut k = 0;
        while k < letters.len() {
            let c = letters[k];
            k += 1;
            if global.set(c) {
                continue;
            }
            match c {
                'u' => unique = true,
                's' => stable = true,
                'c' => check = true,
                'C' => (check, quiet_check) = (true, true),
                'k' | 't' | 'o' | 'S' | 'T' => {
                    let attached: String = letters[k..].iter().collect();
                    k = letters.len();
                    let value = if attached.is_empty() { words.value().map(str::to_string) } else { Some(attached) };
                    let Some(value) = value else { return usage_error(cmd, format!("sort: option requires an argument -- '{c}'")) };
                    if let Err(e) = sort_option_value(c, &value, &mut key_specs, &mut tab, &mut output) {
                        cmd.complain(e);
                        return 2;
                    }
                }
                'R' | 'V' | 'm' | 'z' => {
                    cmd.complain(format!("sort: -{c} is not simulated"));
                    return 2;
                }
                _ => return usage_error(cmd, format!("sort: invalid option -- '{c}'")),
            }
        }
    }
    let mut keys = Vec::new();
    for spec in &key_specs {
        match sort_parse_key(spec, global) {
            Ok(k) => keys.push(k),
            Err(e) => {
                cmd.complain(e);
                return 2;
            }
        }
    }
    for order in std::iter::once(&global).chain(keys.iter().map(|k| &k.order)) {
        if let Some(letters) = order.clash() {
            cmd.complain(format!("sort: options '-{letters}' are incompatible"));
            return 2;
        }
    }
    // Without keys the whole line is the key, with the global ordering.
    let whole_line = SortKey { start_field: 0, start_char: 0, end: None, order: global, skip_end_blanks: global.blanks };
    let by_keys = keys.is_empty() && global != SortOrder::default();
    if by_keys {
        keys.push(whole_line);
    }
    if operands.is_empty() {
        operands.push("-".to_string());
    }
    let mut text = String::new();
    for f in &operands {
        let read = if f == "-" { Ok(cmd.stdin.to_string()) } else { cfs::read_file(cmd.files, cmd.cwd, f) };
        match read {
            Ok(t) => {
                text.push_str(&t);
                if !t.is_empty() && !t.ends_with('\n') {
                    text.push('\n');
                }
            }
            Err(e) => {
                let line = if busybox { format!("sort: can't open '{f}': {}", e.message()) } else { format!("sort: cannot read: {f}: {}", e.message()) };
                cmd.complain(line);
                return if busybox { 1 } else { 2 };
            }
        }
    }
    let compare = |a: &str, b: &str| {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let mut ordering = std::cmp::Ordering::Equal;
        for key in &keys {
            ordering = sort_key_cmp(sort_key_text(a, key, tab), sort_key_text(b, key, tab), &key.order);
            if ordering.is_ne() {
                return ordering;
            }
        }
        if !keys.is_empty() && (unique || stable) {
            return ordering;
        }
        let last = a.cmp(b);
        if global.reverse { last.reverse() } else { last }
    };
    let lines: Vec<&str> = text.lines().collect();
    if check {
        for (n, pair) in lines.windows(2).enumerate() {
            let wrong = compare(pair[0], pair[1]);
            if wrong.is_gt() || (unique && wrong.is_eq()) {
                if !quiet_check {
                    let name = if operands[0] == "-" { "-" } else { operands[0].as_str() };
                    cmd.complain(format!("sort: {name}:{}: disorder: {}", n + 2, pair[1]));
                }
                return 1;
            }
        }
        return 0;
    }
    let mut sorted = lines;
    sorted.sort_stable_by(|a, b| compare(a, b));
    if unique {
        sorted.dedup_by(|b, a| compare(a, b).is_eq());
    }
    let mut out = String::with_capacity(text.len());
    for line in sorted {
        out.push_str(line);
        out.push('\n');
    }
    match output {
        Some(file) => {
            if let Err(e) = cfs::write_file(cmd.files, cmd.cwd, &file, &out, false) {
                cmd.complain(format!("sort: open failed: {file}: {}", e.message()));
                return 2;
            }
        }
        None => cmd.out.push_str(&out),
    }
    0
}

/// The part of a line `uniq` compares: after `skip_fields` fields (blanks
/// then non-blanks) and `skip_chars` characters, at most `width` of them.
fn uniq_part(line: &str, skip_fields: usize, skip_chars: usize, width: Option<usize>) -> &str {
    let bytes = line.as_bytes();
    let mut at = 0;
    for _ in 0..skip_fields {
        while at < bytes.len() && sort_blank(bytes[at]) {
            at += 1;
        }
        while at < bytes.len() && !sort_blank(bytes[at]) {
            at += 1;
        }
    }
    let rest = &line[at..];
    let rest = rest.char_indices().nth(skip_chars).map_or("", |(i, _)| &rest[i..]);
    match width {
        Some(w) => rest.char_indices().nth(w).map_or(rest, |(i, _)| &rest[..i]),
        None => rest,
    }
}

/// `uniq [-cdDui] [-f N] [-s N] [-w N] [INPUT [OUTPUT]]`, coreutils 9.1's
/// and busybox's.
fn uniq(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let usage_error = |cmd: &mut Cmd, line: String| {
        let text = if busybox { format!("{line}\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: uniq [-cduiz] [-f,s,w N] [FILE [OUTFILE]]") } else { format!("{line}\nTry 'uniq --help' for more information.") };
        cmd.complain(text);
        1
    };
    let (mut count, mut repeated, mut all_repeated, mut unique, mut fold) = (false, false, false, false, false);
    let (mut skip_fields, mut skip_chars, mut width) = (0usize, 0usize, None::<usize>);
    let mut operands = Vec::new();
    let mut words = CommandWords::new(cmd.args);
    while let Some(word) = words.next_word() {
        let (letters, long_value): (Vec<char>, Option<Option<&str>>) = match word {
            Word::Operand(a) => {
                operands.push(a.to_string());
                continue;
            }
            Word::Short(letters) => (letters.chars().collect(), None),
            Word::Long(name, value) => {
                let letter = match name {
                    "count" => 'c',
                    "repeated" => 'd',
                    "all-repeated" if !busybox => 'D',
                    "unique" => 'u',
                    "ignore-case" => 'i',
                    "skip-fields" if !busybox => 'f',
                    "skip-chars" if !busybox => 's',
                    "check-chars" if !busybox => 'w',
                    _ => return usage_error(cmd, format!("uniq: unrecognized option '--{name}'")),
                };
                (vec![letter], Some(value))
            }
        };
        let mut k = 0;
        while k < letters.len() {
            let c = letters[k];
            k += 1;
            match c {
                'c' => count = true,
                'd' => repeated = true,
                'D' if !busybox => all_repeated = true,
                'u' => unique = true,
                'i' => fold = true,
                'f' | 's' | 'w' => {
                    let attached: String = letters[k..].iter().collect();
                    k = letters.len();
                    let value = match long_value {
                        Some(v) => v.or_else(|| words.value()).map(str::to_string),
                        None if attached.is_empty() => words.value().map(str::to_string),
                        None => Some(attached),
                    };
                    let Some(v) = value else { return usage_error(cmd, format!("uniq: option requires an argument -- '{c}'")) };
                    let Ok(n) = v.parse::<usize>() else {
                        let line = if busybox {
                            format!("uniq: invalid number '{v}'")
                        } else {
                            let what = match c {
                                'f' => "invalid number of fields to skip",
                                's' => "invalid number of bytes to skip",
                                _ => "invalid number of bytes to compare",
                            };
                            format!("uniq: {v}: {what}")
                        };
                        cmd.complain(line);
                        return 1;
                    };
                    match c {
                        'f' => skip_fields = n,
                        's' => skip_chars = n,
                        _ => width = Some(n),
                    }
                }
                _ => return usage_error(cmd, format!("uniq: invalid option -- '{c}'")),
            }
        }
    }
    if count && all_repeated {
        return usage_error(cmd, "uniq: printing all duplicated lines and repeat counts is meaningless".into());
    }
    if operands.len() > 2 {
        return usage_error(cmd, format!("uniq: extra operand '{}'", operands[2]));
    }
    let input = operands.first().map_or("-", String::as_str).to_string();
    let text = if input == "-" {
        cmd.stdin.to_string()
    } else {
        match cfs::read_file(cmd.files, cmd.cwd, &input) {
            Ok(t) => t,
            Err(e) => {
                let line = if busybox { format!("uniq: can't open '{input}': {}", e.message()) } else { format!("uniq: {input}: {}", e.message()) };
                cmd.complain(line);
                return 1;
            }
        }
    };
    let same = |a: &str, b: &str| {
        let (a, b) = (uniq_part(a, skip_fields, skip_chars, width), uniq_part(b, skip_fields, skip_chars, width));
        if fold { a.eq_ignore_ascii_case(b) } else { a == b }
    };
    // Each group of adjacent lines that compare equal: its lines.
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        match groups.last_mut() {
            Some(group) if same(group[0], line) => group.push(line),
            _ => groups.push(vec![line]),
        }
    }
    let mut out = String::new();
    for group in &groups {
        let n = group.len();
        if (repeated || all_repeated) && n < 2 || unique && n > 1 {
            continue;
        }
        if all_repeated {
            for line in group {
                out.push_str(line);
                out.push('\n');
            }
        } else if count {
            out.push_str(&format!("{n:>7} {}\n", group[0]));
        } else {
            out.push_str(group[0]);
            out.push('\n');
        }
    }
    match operands.get(1).filter(|o| *o != "-") {
        Some(file) => {
            if let Err(e) = cfs::write_file(cmd.files, cmd.cwd, file, &out, false) {
                cmd.complain(format!("uniq: {file}: {}", e.message()));
                return 1;
            }
        }
        None => cmd.out.push_str(&out),
    }
    0
}

fn tee(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    let input = cmd.stdin.to_string();
    let mut status = 0;
    for f in &operands {
        if let Err(e) = cfs::write_file(cmd.files, cmd.cwd, f, &input, flags.contains('a')) {
            status = 1;
            cmd.errno(f, e);
        }
    }
    cmd.out.push_str(&input);
    status
}

/// Copies `from` to `to`; with `shown` (the two as the user named them),
/// `-v`'s line for each entry copied.
fn copy_tree(cmd: &mut Cmd, from: &str, to: &str, recursive: bool, shown: Option<(&str, &str)>) -> Result<(), Errno> {
    let (_, inode) = cfs::stat(cmd.files, cmd.cwd, from)?;
    let say_copied = |cmd: &mut Cmd| {
        if let Some((f, t)) = shown {
            cmd.say(&format!("'{f}' -> '{t}'"));
        }
    };
    match inode.kind {
        Kind::File(c) => {
            cfs::write_file(cmd.files, cmd.cwd, to, &c.text(), false)?;
            say_copied(cmd);
            Ok(())
        }
        Kind::Dir if recursive => {
            let _ = cfs::make_dir(cmd.files, cmd.cwd, to, false);
            say_copied(cmd);
            for (name, _) in cfs::list_dir(cmd.files, cmd.cwd, from)? {
                let below = shown.map(|(f, t)| (join(f, &name), join(t, &name)));
                copy_tree(cmd, &join(&normalize(cmd.cwd, from), &name), &join(&normalize(cmd.cwd, to), &name), true, below.as_ref().map(|(f, t)| (f.as_str(), t.as_str())))?;
            }
            Ok(())
        }
        Kind::Dir => Err(Errno::IsDir),
        _ => Ok(()),
    }
}

fn copy_move(cmd: &mut Cmd) -> i32 {
    let (flags, operands) = flags_and_operands(cmd.args);
    let mv = cmd.name == "mv";
    let verbose = flags.contains('v');
    if operands.len() < 2 {
        return missing_operand(cmd);
    }
    let (dest, sources) = operands.split_last().map(|(d, s)| (d.clone(), s.to_vec())).unwrap_or_default();
    let dest_is_dir = cfs::stat(cmd.files, cmd.cwd, &dest).is_ok_and(|(_, i)| i.is_dir());
    let mut status = 0;
    for src in &sources {
        let target = if dest_is_dir { join(&normalize(cmd.cwd, &dest), file_name(&normalize(cmd.cwd, src))) } else { dest.clone() };
        // `-v` names the target as the user gave its directory.
        let shown_target = if dest_is_dir { format!("{}/{}", dest.trim_end_matches('/'), file_name(&normalize(cmd.cwd, src))) } else { dest.clone() };
        let shown = (verbose && !mv).then_some((src.as_str(), shown_target.as_str()));
        let result = copy_tree(cmd, src, &target, mv || flags.contains('r') || flags.contains('R') || flags.contains('a'), shown)
            .and_then(|_| if mv { cfs::remove(cmd.files, cmd.cwd, src, true, true) } else { Ok(()) });
        if result.is_ok() && mv && verbose {
            let line = if cmd.busybox() { format!("'{src}' -> '{shown_target}'") } else { format!("renamed '{src}' -> '{shown_target}'") };
            cmd.say(&line);
        }
        if let Err(e) = result {
            status = 1;
            let line = match (cmd.busybox(), e, mv) {
                (true, Errno::IsDir, false) => format!("cp: omitting directory '{src}'"),
                (false, Errno::IsDir, false) => format!("cp: -r not specified; omitting directory '{src}'"),
                (true, _, _) => format!("{}: can't stat '{src}': {}", cmd.name, e.message()),
                (false, _, false) => format!("cp: cannot stat '{src}': {}", e.message()),
                (false, _, true) => format!("mv: cannot stat '{src}': {}", e.message()),
            };
            cmd.complain(line);
        }
    }
    status
}

/// `basename NAME [SUFFIX]` or `basename -a|-s SUFFIX NAME...`, coreutils
/// 9.1's (busybox's takes the same since 1.33).
fn basename(cmd: &mut Cmd) -> i32 {
    let usage_error = |cmd: &mut Cmd, line: String| {
        let text = if cmd.busybox() { format!("{line}\nBusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: basename FILE [SUFFIX] | -a FILE... | -s SUFFIX FILE...") } else { format!("{line}\nTry 'basename --help' for more information.") };
        cmd.complain(text);
        1
    };
    let (mut multiple, mut suffix) = (false, None::<String>);
    let mut names: Vec<String> = Vec::new();
    let mut words = CommandWords::new(cmd.args);
    while let Some(word) = words.next_word() {
        match word {
            Word::Operand(a) => names.push(a.to_string()),
            Word::Long("multiple", None) => multiple = true,
            Word::Long("suffix", value) => match value.or_else(|| words.value()) {
                Some(v) => (multiple, suffix) = (true, Some(v.to_string())),
                None => return usage_error(cmd, "basename: option '--suffix' requires an argument".into()),
            },
            Word::Long(name, _) => return usage_error(cmd, format!("basename: unrecognized option '--{name}'")),
            Word::Short(letters) => {
                let letters: Vec<char> = letters.chars().collect();
                let mut k = 0;
                while k < letters.len() {
                    let c = letters[k];
                    k += 1;
                    match c {
                        'a' => multiple = true,
                        's' => {
                            let attached: String = letters[k..].iter().collect();
                            k = letters.len();
                            let value = if attached.is_empty() { words.value().map(str::to_string) } else { Some(attached) };
                            let Some(v) = value else { return usage_error(cmd, "basename: option requires an argument -- 's'".into()) };
                            (multiple, suffix) = (true, Some(v));
                        }
                        _ => return usage_error(cmd, format!("basename: invalid option -- '{c}'")),
                    }
                }
            }
        }
    }
    if names.is_empty() {
        return usage_error(cmd, "basename: missing operand".into());
    }
    if !multiple {
        if names.len() > 2 {
            return usage_error(cmd, format!("basename: extra operand '{}'", names[2]));
        }
        suffix = names.get(1).cloned();
        names.truncate(1);
    }
    for name in &names {
        let trimmed = name.trim_end_matches('/');
        let mut base = if trimmed.is_empty() && !name.is_empty() { "/".to_string() } else { file_name(trimmed).to_string() };
        // A suffix that is the whole name stays.
        if let Some(s) = suffix.as_deref().filter(|s| base.len() > s.len()) {
            if let Some(stripped) = base.strip_suffix(s) {
                base = stripped.to_string();
            }
        }
        cmd.say(&base);
    }
    0
}

/// `dirname NAME...`: each name's directory, as coreutils and busybox give it.
fn dirname(cmd: &mut Cmd) -> i32 {
    let names: Vec<&String> = cmd.args.iter().skip_while(|a| *a == "--").collect();
    if names.is_empty() {
        let line = if cmd.busybox() { "dirname: missing operand".to_string() } else { "dirname: missing operand\nTry 'dirname --help' for more information.".to_string() };
        cmd.complain(line);
        return 1;
    }
    for p in names {
        let trimmed = p.trim_end_matches('/');
        let dir = match trimmed.rfind('/') {
            Some(i) => {
                let parent = trimmed[..i].trim_end_matches('/');
                if parent.is_empty() { "/".to_string() } else { parent.to_string() }
            }
            None if p.starts_with('/') => "/".to_string(),
            None => ".".to_string(),
        };
        cmd.say(&dir);
    }
    0
}

/// Where `name` is found on `$PATH`, as `which` and the shell look it up.
pub fn find_in_path(files: &dyn Files, path_var: &str, name: &str) -> Option<String> {
    if name.contains('/') {
        return cfs::stat(files, "/", name).ok().filter(|(_, i)| !i.is_dir()).map(|_| name.to_string());
    }
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| join(d, name))
        .find(|p| cfs::stat(files, "/", p).is_ok_and(|(_, i)| matches!(i.kind, Kind::File(_))))
}

fn which(cmd: &mut Cmd) -> i32 {
    let path = cmd.env.get("PATH").cloned().unwrap_or_default();
    let mut status = 0;
    for name in cmd.args {
        match find_in_path(cmd.files, &path, name) {
            Some(p) => cmd.say(&p),
            None => status = 1,
        }
    }
    status
}

/// A `cut` list: sorted, merged 1-based ranges (`3-` is open-ended), so a
/// list of any length costs a binary search per field.
fn cut_list(list: &str, fields: bool) -> Result<Vec<(usize, usize)>, String> {
    let from_one = if fields { "fields are numbered from 1" } else { "byte/character positions are numbered from 1" };
    let invalid = |part: &str| if fields { format!("invalid field value '{part}'") } else { format!("invalid byte/character position '{part}'") };
    let number = |text: &str, part: &str| text.parse::<usize>().map_err(|_| invalid(part));
    let mut ranges = Vec::new();
    for part in list.split([',', ' ']) {
        let (a, b) = match part.split_once('-') {
            Some(("", "")) => return Err(if fields { "invalid range with no endpoint: -".into() } else { "invalid range with no endpoint: -".into() }),
            Some((a, b)) => (if a.is_empty() { 1 } else { number(a, part)? }, if b.is_empty() { usize::MAX } else { number(b, part)? }),
            None => {
                let n = number(part, part)?;
                (n, n)
            }
        };
        if a == 0 || b == 0 {
            return Err(from_one.into());
        }
        if a > b {
            return Err("invalid decreasing range".into());
        }
        ranges.push((a, b));
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    Ok(merged)
}

/// A `cut` option's value: the delimiter, a list (one only), the output delimiter.
fn cut_option_value(option: char, value: &str, delim: &mut Option<u8>, list: &mut Option<(char, String)>, output_delim: &mut Option<String>) -> Result<(), String> {
    match option {
        'd' => {
            if value.len() > 1 {
                return Err("the delimiter must be a single character".into());
            }
            *delim = Some(value.bytes().next().unwrap_or(b'\0'));
        }
        'O' => *output_delim = Some(value.to_string()),
        _ => {
            if list.is_some() {
                return Err("only one list may be specified".into());
            }
            *list = Some((option, value.to_string()));
        }
    }
    Ok(())
}

/// `cut -b|-c|-f LIST [-d DELIM] [-s] [--complement] [--output-delimiter=S]`,
/// coreutils 9.1's (bytes and characters alike, as its C locale has them)
/// and busybox's.
fn cut(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let usage_error = |cmd: &mut Cmd, line: &str| {
        let text = if busybox { format!("cut: {line}") } else { format!("cut: {line}\nTry 'cut --help' for more information.") };
        cmd.complain(text);
        1
    };
    let mut delim: Option<u8> = None;
    let mut list: Option<(char, String)> = None;
    let (mut only_delimited, mut complement) = (false, false);
    let mut output_delim: Option<String> = None;
    let mut operands = Vec::new();
    let mut words = CommandWords::new(cmd.args);
    while let Some(word) = words.next_word() {
        let letters = match word {
            Word::Operand(a) => {
                operands.push(a.to_string());
                continue;
            }
            Word::Short(letters) => letters,
            Word::Long(name, value) => {
                let option = match name {
                    "complement" if !busybox => 'C',
                    "only-delimited" => 's',
                    "output-delimiter" if !busybox => 'O',
                    "bytes" => 'b',
                    "characters" => 'c',
                    "fields" => 'f',
                    "delimiter" => 'd',
                    _ => return usage_error(cmd, &format!("unrecognized option '--{name}'")),
                };
                match option {
                    'C' => complement = true,
                    's' => only_delimited = true,
                    _ => {
                        let Some(v) = value.or_else(|| words.value()) else { return usage_error(cmd, &format!("option '--{name}' requires an argument")) };
                        if let Err(e) = cut_option_value(option, v, &mut delim, &mut list, &mut output_delim) {
                            return usage_error(cmd, &e);
                        }
                    }
                }
                continue;
            }
        };
        let letters: Vec<char> = letters.chars().collect();
        let mut k = 0;
        while k < letters.len() {
            let c = letters[k];
            k += 1;
            match c {
                's' => only_delimited = true,
                'n' => {}
                'b' | 'c' | 'f' | 'd' => {
                    let attached: String = letters[k..].iter().collect();
                    k = letters.len();
                    let value = if attached.is_empty() { words.value().map(str::to_string) } else { Some(attached) };
                    let Some(v) = value else { return usage_error(cmd, &format!("option requires an argument -- '{c}'")) };
                    if let Err(e) = cut_option_value(c, &v, &mut delim, &mut list, &mut output_delim) {
                        return usage_error(cmd, &e);
                    }
                }
                _ => return usage_error(cmd, &format!("invalid option -- '{c}'")),
            }
        }
    }
    let Some((kind, list)) = list else { return usage_error(cmd, "you must specify a list of bytes, characters, or fields") };
    let fields = kind == 'f';
    if !fields && delim.is_some() {
        return usage_error(cmd, "an input delimiter may be specified only when operating on fields");
    }
    if !fields && only_delimited {
        return usage_error(cmd, "suppressing non-delimited lines makes sense\n\tonly when operating on fields");
    }
    let ranges = match cut_list(&list, fields) {
        Ok(r) => r,
        Err(e) => return usage_error(cmd, &e),
    };
    let delim = delim.unwrap_or(b'\t');
    let selected = |n: usize| {
        let after = ranges.partition_point(|(a, _)| *a <= n);
        (after > 0 && ranges[after - 1].1 >= n) != complement
    };
    if operands.is_empty() {
        operands.push("-".into());
    }
    let mut status = 0;
    for f in &operands {
        let text = if f == "-" {
            cmd.stdin.to_string()
        } else {
            match cfs::read_file(cmd.files, cmd.cwd, f) {
                Ok(t) => t,
                Err(e) => {
                    status = 1;
                    let line = if busybox { format!("cut: can't open '{f}': {}", e.message()) } else { format!("cut: {f}: {}", e.message()) };
                    cmd.complain(line);
                    continue;
                }
            }
        };
        let mut out: Vec<u8> = Vec::with_capacity(text.len());
        for line in text.lines() {
            let bytes = line.as_bytes();
            if fields {
                if !bytes.contains(&delim) {
                    if !only_delimited {
                        out.extend_from_slice(bytes);
                        out.push(b'\n');
                    }
                    continue;
                }
                let joint = output_delim.clone().map_or(vec![delim], String::into_bytes);
                let mut first = true;
                for (n, field) in bytes.split(|b| *b == delim).enumerate() {
                    if selected(n + 1) {
                        if !first {
                            out.extend_from_slice(&joint);
                        }
                        out.extend_from_slice(field);
                        first = false;
                    }
                }
            } else {
                // With an output delimiter, it goes between runs of chosen bytes.
                let mut last_chosen: Option<usize> = None;
                for (n, b) in bytes.iter().enumerate() {
                    if selected(n + 1) {
                        if let (Some(joint), Some(last)) = (&output_delim, last_chosen) {
                            if last + 1 != n {
                                out.extend_from_slice(joint.as_bytes());
                            }
                        }
                        out.push(*b);
                        last_chosen = Some(n);
                    }
                }
            }
            out.push(b'\n');
        }
        cmd.out.push_str(&String::from_utf8_lossy(&out));
    }
    status
}

/// One `tr` set: its escapes, ranges, classes, `[c*n]` repeats and
/// `[=c=]`, as bytes; which class names it uses, for case conversion.
fn tr_set(spec: &str, second: bool) -> Result<(Vec<u8>, Vec<&'static str>, Option<usize>), String> {
    let b = spec.as_bytes();
    let mut items: Vec<u8> = Vec::new();
    let mut classes = Vec::new();
    let mut fill_at = None;
    let mut i = 0;
    let escape = |i: &mut usize| -> u8 {
        // At a backslash: the byte it stands for.
        let c = b.get(*i + 1).copied();
        *i += 2;
        match c {
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b'r') => b'\r',
            Some(b'a') => 7,
            Some(b'b') => 8,
            Some(b'f') => 12,
            Some(b'v') => 11,
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                let mut taken = 0;
                while taken < 2 && b.get(*i).is_some_and(|x| (b'0'..=b'7').contains(x)) {
                    v = v * 8 + u32::from(b[*i] - b'0');
                    *i += 1;
                    taken += 1;
                }
                (v & 0xff) as u8
            }
            Some(other) => other,
            None => {
                *i -= 1;
                b'\\'
            }
        }
    };
    while i < b.len() {
        if b[i] == b'[' && b.get(i + 1) == Some(&b':') {
            if let Some(end) = spec[i + 2..].find(":]") {
                let name = &spec[i + 2..i + 2 + end];
                let class: fn(&u8) -> bool = match name {
                    "alpha" => u8::is_ascii_alphabetic,
                    "digit" => u8::is_ascii_digit,
                    "alnum" => u8::is_ascii_alphanumeric,
                    "lower" => u8::is_ascii_lowercase,
                    "upper" => u8::is_ascii_uppercase,
                    "space" => |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 11 | 12),
                    "blank" => |c: &u8| matches!(c, b' ' | b'\t'),
                    "punct" => u8::is_ascii_punctuation,
                    "cntrl" => u8::is_ascii_control,
                    "graph" => u8::is_ascii_graphic,
                    "print" => |c: &u8| (0x20..0x7f).contains(c),
                    "xdigit" => u8::is_ascii_hexdigit,
                    _ => return Err(format!("invalid character class '{name}'")),
                };
                if second && !matches!(name, "lower" | "upper") {
                    return Err("when translating, the only character classes that may appear in\nstring2 are 'upper' and 'lower'".into());
                }
                classes.push(match name {
                    "lower" => "lower",
                    "upper" => "upper",
                    _ => "other",
                });
                items.extend((0u8..=255).filter(class));
                i += 2 + end + 2;
                continue;
            }
        }
        if b[i] == b'[' && b.get(i + 1) == Some(&b'=') {
            if let Some(end) = spec[i + 2..].find("=]") {
                items.extend_from_slice(spec[i + 2..i + 2 + end].as_bytes());
                i += 2 + end + 2;
                continue;
            }
        }
        // `[c*n]` or `[c*]`: c repeated (to fill the set when n is missing or 0).
        if b[i] == b'[' && second {
            let mut j = i + 1;
            let c = if b.get(j) == Some(&b'\\') { escape(&mut j) } else {
                j += 1;
                b.get(i + 1).copied().unwrap_or(b'[')
            };
            if b.get(j) == Some(&b'*') {
                if let Some(close) = spec[j..].find(']') {
                    let count = &spec[j + 1..j + close];
                    let n = if count.is_empty() { 0 } else if count.starts_with('0') { usize::from_str_radix(count, 8).unwrap_or(0) } else { count.parse().map_err(|_| format!("invalid repeat count '{count}' in [c*n] construct"))? };
                    // Without a count it fills the set to set1's length (the caller does).
                    if n == 0 {
                        fill_at = Some(items.len());
                    }
                    items.extend(std::iter::repeat_n(c, n.clamp(1, 1 << 16)));
                    i = j + close + 1;
                    continue;
                }
            }
        }
        let c = if b[i] == b'\\' { escape(&mut i) } else {
            i += 1;
            b[i - 1]
        };
        if b.get(i) == Some(&b'-') && i + 1 < b.len() {
            let mut j = i + 1;
            let end = if b[j] == b'\\' { escape(&mut j) } else {
                j += 1;
                b[j - 1]
            };
            if end < c {
                return Err(format!("range-endpoints of '{}-{}' are in reverse collating sequence order", c as char, end as char));
            }
            items.extend(c..=end);
            i = j;
            continue;
        }
        items.push(c);
    }
    Ok((items, classes, fill_at))
}

/// `tr [-cdst] SET1 [SET2]`, coreutils 9.1's (busybox's takes the same):
/// bytes in, bytes out.
fn tr(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.busybox();
    let usage_error = |cmd: &mut Cmd, line: &str| {
        let text = if busybox { format!("tr: {line}") } else { format!("tr: {line}\nTry 'tr --help' for more information.") };
        cmd.complain(text);
        1
    };
    let (mut complement, mut delete, mut squeeze, mut truncate) = (false, false, false, false);
    let mut sets = Vec::new();
    let mut only_operands = false;
    for a in cmd.args {
        if only_operands || a.len() < 2 || !a.starts_with('-') {
            sets.push(a.clone());
            continue;
        }
        match a.as_str() {
            "--" => only_operands = true,
            "--complement" => complement = true,
            "--delete" => delete = true,
            "--squeeze-repeats" => squeeze = true,
            "--truncate-set1" => truncate = true,
            _ if a.starts_with("--") => return usage_error(cmd, &format!("unrecognized option '{a}'")),
            _ => {
                for c in a[1..].chars() {
                    match c {
                        'c' | 'C' => complement = true,
                        'd' => delete = true,
                        's' => squeeze = true,
                        't' => truncate = true,
                        _ => return usage_error(cmd, &format!("invalid option -- '{c}'")),
                    }
                }
            }
        }
    }
    let wanted = if delete && squeeze { 2 } else if delete || (squeeze && sets.len() < 2) { 1 } else { 2 };
    if sets.is_empty() {
        return usage_error(cmd, "missing operand");
    }
    if sets.len() < wanted {
        let why = if delete && squeeze { "Two strings must be given when both deleting and squeezing repeats." } else { "Two strings must be given when translating." };
        return usage_error(cmd, &format!("missing operand after '{}'\n{why}", sets[0]));
    }
    if sets.len() > wanted {
        let why = if delete { "\nOnly one string may be given when deleting without squeezing repeats." } else { "" };
        return usage_error(cmd, &format!("extra operand '{}'{why}", sets[wanted]));
    }
    // A set's own errors come without the usage hint.
    let (mut set1, classes1, _) = match tr_set(&sets[0], false) {
        Ok(s) => s,
        Err(e) => {
            cmd.complain(format!("tr: {e}"));
            return 1;
        }
    };
    if complement {
        set1 = (0u8..=255).filter(|c| !set1.contains(c)).collect();
    }
    let (mut set2, classes2, fill_at) = match sets.get(1).map(|s| tr_set(s, !delete)) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            cmd.complain(format!("tr: {e}"));
            return 1;
        }
        None => (Vec::new(), Vec::new(), None),
    };
    if let Some(at) = fill_at.filter(|_| set2.len() < set1.len()) {
        let c = set2[at];
        let more = set1.len() - set2.len();
        set2.splice(at..at, std::iter::repeat_n(c, more));
    }
    let translating = !delete && sets.len() == 2;
    let mut map: [u8; 256] = std::array::from_fn(|i| i as u8);
    if translating {
        // `[:lower:]` against `[:upper:]` (or back) maps case for case.
        if classes2.contains(&"upper") && classes1.contains(&"lower") || classes2.contains(&"lower") && classes1.contains(&"upper") {
            set2 = set1.iter().map(|c| if classes2.contains(&"upper") { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect();
        }
        if set2.is_empty() {
            return usage_error(cmd, "when not truncating set1, string2 must be non-empty");
        }
        if truncate {
            set1.truncate(set2.len());
        } else if set2.len() < set1.len() {
            let last = set2[set2.len() - 1];
            set2.resize(set1.len(), last);
        }
        for (from, to) in set1.iter().zip(&set2) {
            map[*from as usize] = *to;
        }
    }
    let in_set = |set: &[u8]| {
        let mut member = [false; 256];
        for c in set {
            member[*c as usize] = true;
        }
        member
    };
    let deleted = if delete { in_set(&set1) } else { [false; 256] };
    let squeezed = if !squeeze { [false; 256] } else if sets.len() == 2 { in_set(&set2) } else { in_set(&set1) };
    let mut out: Vec<u8> = Vec::with_capacity(cmd.stdin.len());
    for &byte in cmd.stdin.as_bytes() {
        if deleted[byte as usize] {
            continue;
        }
        let mapped = map[byte as usize];
        if squeezed[mapped as usize] && out.last() == Some(&mapped) {
            continue;
        }
        out.push(mapped);
    }
    cmd.out.push_str(&String::from_utf8_lossy(&out));
    0
}

fn kill(cmd: &mut Cmd) -> i32 {
    let (_, operands) = flags_and_operands(cmd.args);
    let mut status = 0;
    for p in &operands {
        let Ok(pid) = p.parse::<u32>() else {
            // busybox's kill reads the PID with bb_strtoi, dash's with number().
            status = 1;
            let line = if cmd.busybox() { format!("sh: invalid number '{p}'") } else { format!("sh: 1: kill: Illegal number: {p}") };
            cmd.complain(line);
            continue;
        };
        // PID 1 is always there (a main process is evaluated before its
        // process list exists). Signals to PID 1 without a handler are
        // ignored by the kernel; the simulation leaves every process running.
        let known = pid == 1 || cmd.info.processes.iter().any(|x| x.pid == pid);
        if !known {
            status = 1;
            let line = if cmd.busybox() { format!("sh: can't kill pid {p}: No such process") } else { format!("sh: 1: kill: No such process") };
            cmd.complain(line);
        }
    }
    status
}

// ------------------------------------------------------------------- ls

fn mode_string(inode: &Inode) -> String {
    let t = match inode.kind {
        Kind::Dir => 'd',
        Kind::Symlink(_) => 'l',
        _ => '-',
    };
    let m = inode.mode;
    let mut s = String::from(t);
    for shift in [6, 3, 0] {
        let bits = (m >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let exec = bits & 1 != 0;
        let special = match shift {
            0 => m & 0o1000 != 0,
            3 => m & 0o2000 != 0,
            _ => m & 0o4000 != 0,
        };
        s.push(match (exec, special, shift) {
            (true, true, 0) => 't',
            (false, true, 0) => 'T',
            (true, true, _) => 's',
            (false, true, _) => 'S',
            (true, false, _) => 'x',
            (false, false, _) => '-',
        });
    }
    s
}

fn ls_time(mtime: i64, now: i64) -> String {
    let z = wall(mtime);
    let six_months = 15_778_476;
    if mtime > now - six_months && mtime <= now + 60 {
        z.strftime("%b %e %H:%M").to_string()
    } else {
        z.strftime("%b %e  %Y").to_string()
    }
}

fn blocks_kb(inode: &Inode) -> u64 {
    match &inode.kind {
        Kind::File(c) => (c.len() as u64).div_ceil(4096) * 4,
        Kind::Dir => 4,
        _ => 0,
    }
}

/// Lays names out in columns (top to bottom, then left to right) for an
/// 80-column terminal, as GNU `ls` (variable widths) or busybox (one width).
pub fn columns(names: &[String], busybox: bool) -> Vec<String> {
    const WIDTH: usize = 80;
    if names.is_empty() {
        return vec![];
    }
    if busybox {
        let col = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
        let ncols = (WIDTH / col.max(1)).max(1);
        let rows = names.len().div_ceil(ncols);
        return (0..rows)
            .map(|r| {
                let mut line = String::new();
                let mut c = 0;
                while let Some(n) = names.get(c * rows + r) {
                    let last = names.get((c + 1) * rows + r).is_none();
                    if last {
                        line.push_str(n);
                    } else {
                        line.push_str(&format!("{n:<col$}"));
                    }
                    c += 1;
                }
                line
            })
            .collect();
    }
    let lens: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for ncols in (1..=names.len()).rev() {
        let rows = names.len().div_ceil(ncols);
        let ncols_used = names.len().div_ceil(rows);
        let widths: Vec<usize> = (0..ncols_used).map(|c| (0..rows).filter_map(|r| lens.get(c * rows + r)).copied().max().unwrap_or(0)).collect();
        let total: usize = widths.iter().sum::<usize>() + 2 * (ncols_used.saturating_sub(1));
        if total < WIDTH || ncols == 1 {
            return (0..rows)
                .map(|r| {
                    let mut line = String::new();
                    for (c, w) in widths.iter().enumerate() {
                        if let Some(n) = names.get(c * rows + r) {
                            let last = c + 1 == ncols_used || names.get((c + 1) * rows + r).is_none();
                            if last {
                                line.push_str(n);
                            } else {
                                line.push_str(&format!("{n:<width$}", width = w + 2));
                            }
                        }
                    }
                    line
                })
                .collect();
        }
    }
    names.to_vec()
}

fn ls(cmd: &mut Cmd) -> i32 {
    let (flags, mut operands) = flags_and_operands(cmd.args);
    let long = flags.contains('l');
    let all = flags.contains('a');
    let almost = flags.contains('A');
    let recursive = flags.contains('R');
    let dir_only = flags.contains('d');
    let one = flags.contains('1') || !cmd.info.tty;
    let human_sizes = flags.contains('h');
    let now = cmd.info.now.unwrap_or(crate::engine::api::meta::EPOCH_SECONDS);
    let busybox = cmd.busybox();
    if operands.is_empty() {
        operands.push(".".into());
    }
    let mut status = 0;
    let mut file_args: Vec<(String, Inode, String)> = Vec::new();
    let mut dir_args: Vec<String> = Vec::new();
    for op in &operands {
        match cfs::stat(cmd.files, cmd.cwd, op) {
            Ok((at, inode)) if inode.is_dir() && !dir_only => {
                let _ = at;
                dir_args.push(op.clone());
            }
            Ok((at, _)) => {
                let shown = cfs::lstat(cmd.files, cmd.cwd, op).map(|(_, i)| i).unwrap_or_else(|_| Inode::file("", 0o644, 0));
                file_args.push((op.clone(), shown, at));
            }
            Err(e) => match cfs::lstat(cmd.files, cmd.cwd, op) {
                // A link to nothing is listed as itself.
                Ok((at, link)) if matches!(link.kind, Kind::Symlink(_)) => file_args.push((op.clone(), link, at)),
                _ => {
                    status = if busybox { 1 } else { 2 };
                    let line = if busybox { format!("ls: {op}: {}", e.message()) } else { format!("ls: cannot access '{op}': {}", e.message()) };
                    cmd.complain(line);
                }
            },
        }
    }
    let (passwd, group) = if long { account_files(cmd) } else { Default::default() };
    let owner = |inode: &Inode| identity::user_name(&passwd, inode.uid).map_or_else(|| inode.uid.to_string(), str::to_string);
    let group_of = |inode: &Inode| identity::group_name(&group, inode.gid).map_or_else(|| inode.gid.to_string(), str::to_string);
    let entry_line = |name: &str, inode: &Inode, link_widths: (usize, usize, usize, usize)| -> String {
        let size = if human_sizes { human(inode.size().div_ceil(1024), busybox).replace(".0K", "K") } else { inode.size().to_string() };
        let nlink = if inode.is_dir() { 2 } else { 1 };
        let (user, group) = (owner(inode), group_of(inode));
        let mut line = if busybox {
            let short = |s: String| s.chars().take(8).collect::<String>();
            format!("{} {:>4} {:<8} {:<8} {:>9} {} {name}", mode_string(inode), nlink, short(user), short(group), size, ls_time(inode.mtime(), now))
        } else {
            format!("{} {:>w0$} {user:<w1$} {group:<w3$} {:>w2$} {} {name}", mode_string(inode), nlink, size, ls_time(inode.mtime(), now), w0 = link_widths.0, w1 = link_widths.1, w2 = link_widths.2, w3 = link_widths.3)
        };
        if let Kind::Symlink(t) = &inode.kind {
            line.push_str(&format!(" -> {t}"));
        }
        line
    };
    // Widths of the link count, owner, size and group columns.
    let widths_for = |entries: &[(String, Inode)]| -> (usize, usize, usize, usize) {
        let l = entries.iter().map(|(_, i)| if i.is_dir() { 1 } else { 1 }).max().unwrap_or(1);
        let s = entries.iter().map(|(_, i)| if human_sizes { human(i.size().div_ceil(1024), busybox).len() } else { i.size().to_string().len() }).max().unwrap_or(1);
        let u = entries.iter().map(|(_, i)| owner(i).len()).max().unwrap_or(1);
        let g = entries.iter().map(|(_, i)| group_of(i).len()).max().unwrap_or(1);
        (l, u, s, g)
    };
    // Files named on the command line come first, each list in name order (the C locale's).
    file_args.sort_stable_by(|a, b| a.0.cmp(&b.0));
    dir_args.sort_stable();
    if !file_args.is_empty() {
        let entries: Vec<(String, Inode)> = file_args.iter().map(|(n, i, _)| (n.clone(), i.clone())).collect();
        if long {
            let w = widths_for(&entries);
            for (n, i) in &entries {
                let l = entry_line(n, i, w);
                cmd.say(&l);
            }
        } else if one {
            for (n, _) in &entries {
                cmd.say(n);
            }
        } else {
            let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
            for l in columns(&names, busybox) {
                cmd.say(&l);
            }
        }
    }
    let mut queue: Vec<String> = dir_args;
    let headers = operands.len() > 1 || recursive;
    let mut first = file_args.is_empty();
    let mut visited = 0;
    while !queue.is_empty() && visited < 10_000 {
        let dir = queue.remove(0);
        visited += 1;
        let Ok(mut entries) = cfs::list_dir(cmd.files, cmd.cwd, &dir) else {
            status = if busybox { 1 } else { 2 };
            continue;
        };
        if !all && !almost {
            entries.retain(|(n, _)| !n.starts_with('.'));
        }
        if all {
            let here = cfs::stat(cmd.files, cmd.cwd, &dir).map(|(_, i)| i).unwrap_or_else(|_| Inode::dir(0o755, 0));
            let up = cfs::stat(cmd.files, cmd.cwd, &format!("{dir}/..")).map(|(_, i)| i).unwrap_or_else(|_| Inode::dir(0o755, 0));
            entries.insert(0, ("..".into(), up));
            entries.insert(0, (".".into(), here));
        }
        if !first {
            cmd.out.push('\n');
        }
        first = false;
        if headers {
            cmd.say(&format!("{dir}:"));
        }
        if long {
            let total: u64 = entries.iter().map(|(_, i)| blocks_kb(i)).sum();
            cmd.say(&format!("total {total}"));
            let w = widths_for(&entries);
            let lines: Vec<String> = entries.iter().map(|(n, i)| entry_line(n, i, w)).collect();
            for l in lines {
                cmd.say(&l);
            }
        } else if one {
            for (n, _) in &entries {
                cmd.say(n);
            }
        } else {
            let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
            for l in columns(&names, busybox) {
                cmd.say(&l);
            }
        }
        if recursive {
            let base = if dir.ends_with('/') { dir.trim_end_matches('/').to_string() } else { dir.clone() };
            let subdirs: Vec<String> = entries.iter().filter(|(n, i)| i.is_dir() && n != "." && n != "..").map(|(n, _)| format!("{base}/{n}")).collect();
            for (i, s) in subdirs.into_iter().enumerate() {
                queue.insert(i, s);
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_s_reads_the_forms_both_tools_share() {
        let now = 1_767_225_675; // 2026-01-01 00:01:15 UTC
        assert_eq!(date_to_set("12:00:00", now), Some(1_767_268_800));
        assert_eq!(date_to_set("12:00", now), Some(1_767_268_800));
        assert_eq!(date_to_set("2026-03-01 10:30", now), Some(1_772_361_000));
        assert_eq!(date_to_set("2026-03-01", now), Some(1_772_323_200));
        assert_eq!(date_to_set("@5", now), Some(5));
        for bad in ["nonsense", "25:00", "2026-13-01", "12:00:00:00", "", "@x"] {
            assert_eq!(date_to_set(bad, now), None, "{bad}");
        }
    }

    use super::*;
    use crate::engine::node::container_fs::{Mounts, RootFs, ViewMut};
    use crate::engine::node::filesystem::Fs;
    use std::rc::Rc;

    fn info(base: Base) -> SystemInfo {
        SystemInfo {
            hostname: "web".into(),
            base,
            kernel: "6.8.0-60-generic".into(),
            now: Some(crate::engine::api::meta::EPOCH_SECONDS + 65),
            processes: vec![Process { pid: 1, command: "sleep 3600".into() }, Process { pid: 7, command: "ps".into() }],
            mounts: vec![],
            tty: false,
            pod: PodIdentity::default(),
        }
    }

    fn run_in(base: Base, fs: &mut dyn Files, name: &str, args: &[&str], stdin: &str) -> (String, String, i32) {
        let env = IndexMap::from([("PATH".to_string(), "/bin".to_string()), ("A".to_string(), "1".to_string())]);
        let info = info(base);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut cmd = Cmd { name, args: &args, stdin, out: String::new(), err: String::new(), err_marks: Vec::new(), files: fs, cwd: "/", env: &env, info: &info };
        let status = run(&mut cmd);
        (cmd.out, cmd.err, status)
    }

    #[test]
    fn utilities_print_in_each_images_words() {
        let mut root = RootFs::new(Rc::new(Fs::new()), false);
        root.upper_mut().insert("/", Inode::dir(0o755, 0));
        let (passwd, group) = crate::engine::node::rootfs::account_files(Base::Busybox);
        root.upper_mut().insert("/etc", Inode::dir(0o755, 0));
        root.upper_mut().insert("/etc/passwd", Inode::file(passwd, 0o644, 0));
        root.upper_mut().insert("/etc/group", Inode::file(group, 0o644, 0));
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        // Busybox's root, in `wheel` by its /etc/group.
        let user = crate::engine::node::identity::ProcessUser { uid: 0, gid: 0, groups: vec![0, 10], lacks: 0 };
        let mut fs = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &user };
        assert_eq!(run_in(Base::Busybox, &mut fs, "cat", &["/x"], "").1, "cat: can't open '/x': No such file or directory\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "cat", &["/x"], "").1, "cat: /x: No such file or directory\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "ls", &["/x"], "").1, "ls: cannot access '/x': No such file or directory\n");
        assert_eq!(run_in(Base::Busybox, &mut fs, "id", &[], "").0, "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n");
        assert_eq!(run_in(Base::Busybox, &mut fs, "ps", &[], "").0, "PID   USER     TIME  COMMAND\n    1 root      0:00 sleep 3600\n    7 root      0:00 ps\n");
        assert_eq!(run_in(Base::Busybox, &mut fs, "env", &[], "").0, "PATH=/bin\nA=1\n");
        assert_eq!(run_in(Base::Busybox, &mut fs, "date", &[], "").0, "Thu Jan  1 00:01:05 UTC 2026\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "wc", &["-l"], "a\nb\n").0, "2\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "grep", &["-c", "b"], "abc\nxyz\nbb\n").0, "2\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "grep", &["-E", "^(a|x)"], "abc\nxyz\nbb\n").0, "abc\nxyz\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "head", &["-n", "1"], "a\nb\n").0, "a\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "head", &["-c", "3"], "abcdef\n").0, "abc");
        assert_eq!(run_in(Base::Debian, &mut fs, "head", &["-n", "-1"], "a\nb\nc\n").0, "a\nb\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "tail", &["-c4"], "abcdef\n").0, "def\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "tail", &["-n", "+2"], "a\nb\nc\n").0, "b\nc\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "tail", &["-n", "1"], "a\nb\n").0, "b\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "printf", &["%s-%03d\\n", "x", "7"], "").0, "x-007\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "sort", &["-r"], "a\nc\nb\n").0, "c\nb\na\n");
        run_in(Base::Debian, &mut fs, "mkdir", &["-p", "/data/a"], "");
        run_in(Base::Debian, &mut fs, "touch", &["/data/a/f"], "");
        assert_eq!(run_in(Base::Debian, &mut fs, "ls", &["-R", "/data"], "").0, "/data:\na\n\n/data/a:\nf\n");
        assert_eq!(run_in(Base::Busybox, &mut fs, "rm", &["/data"], "").1, "rm: '/data' is a directory\n");
        assert_eq!(run_in(Base::Debian, &mut fs, "rm", &["-r", "/data"], "").2, 0);
    }

    #[test]
    fn the_two_streams_come_out_in_the_order_written() {
        assert_eq!(written_in_order("ab", "E1\nE2\n", &[(1, 0), (1, 3)]), vec![(1, "a"), (2, "E1\n"), (2, "E2\n"), (1, "b")]);
        assert_eq!(written_in_order("ab", "E\n", &[(0, 0)]), vec![(2, "E\n"), (1, "ab")]);
        // Text put on stderr without a mark comes after what was marked.
        assert_eq!(written_in_order("ab", "X", &[]), vec![(1, "ab"), (2, "X")]);
        let mut root = RootFs::new(Rc::new(Fs::new()), false);
        root.upper_mut().insert("/", Inode::dir(0o755, 0));
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let mut fs = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
        cfs::write_file(&mut fs, "/", "/a", "one\n", false).expect("write");
        let (out, err, status) = run_in(Base::Debian, &mut fs, "cat", &["/a", "/missing", "/a"], "");
        assert_eq!((out.as_str(), err.as_str(), status), ("one\none\n", "cat: /missing: No such file or directory\n", 1));
    }

    #[test]
    fn an_option_of_several_bytes_is_refused_not_cut_in_half() {
        let mut root = RootFs::new(Rc::new(Fs::new()), false);
        root.upper_mut().insert("/", Inode::dir(0o755, 0));
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let mut fs = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
        for program in ["seq", "sort", "uniq", "cut", "tr", "cat", "head", "tail", "basename", "printf", "wc", "grep", "sed"] {
            let (_, err, status) = run_in(Base::Debian, &mut fs, program, &["-é", "3"], "x\n");
            assert!(status != 0 || err.is_empty(), "{program}: {err}");
        }
        assert_eq!(run_in(Base::Debian, &mut fs, "seq", &["-é", "3"], "").1, "seq: invalid option -- 'é'\nTry 'seq --help' for more information.\n");
    }

    #[test]
    fn printf_precisions_and_seq_exponents_at_their_extremes_are_bounded() {
        let printed = printf_format("%.4294967295d|%.99999999999f", &["1".into(), "1".into()], PrintfDialect::Bash);
        assert_eq!(printed.out.len(), 65_535 + 1 + 2 + 65_535);
        assert_eq!(seq_number("1e-2147483648"), None);
        assert_eq!(seq_number("1e2147483647"), None);
        assert_eq!(seq_number("2.50e1"), Some((250, 1)));
    }

    #[test]
    fn head_and_tail_counts_take_the_suffixes_their_toolkit_knows() {
        assert_eq!(head_tail_count("2k", false), Some(2048));
        assert_eq!(head_tail_count("2kB", false), Some(2000));
        assert_eq!(head_tail_count("1b", true), Some(512));
        assert_eq!(head_tail_count("1K", true), None);
        assert_eq!(head_tail_count("1x", false), None);
        assert_eq!(head_tail_count("", false), None);
        assert_eq!(head_tail_count("99999999999999999999999999999999999999999", false), Some(usize::MAX));
    }

    #[test]
    fn df_with_a_path_shows_the_filesystem_holding_it() {
        let mut root = RootFs::new(Rc::new(Fs::new()), false);
        root.upper_mut().insert("/", Inode::dir(0o755, 0));
        let mut disk = Fs::new();
        let mut mounts = Mounts::default();
        let mut fs = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
        run_in(Base::Busybox, &mut fs, "mkdir", &["-p", "/data/sub"], "");
        let mut info = info(Base::Busybox);
        let usage = |used_kb| Some(Usage { total_kb: 1000, used_kb });
        static OVERLAY: cfs::MountKind = cfs::MountKind { device: "overlay", fs_type: "overlay", options: "relatime" };
        info.mounts = vec![
            (Mount::private("/", Rc::new(Fs::new()), false, &OVERLAY), usage(100)),
            (Mount::disk("/data", "/srv/data", false), usage(300)),
        ];
        let env = IndexMap::new();
        let args: Vec<String> = ["/data/sub", "/nope"].iter().map(|s| s.to_string()).collect();
        let mut cmd = Cmd { name: "df", args: &args, stdin: "", out: String::new(), err: String::new(), err_marks: Vec::new(), files: &mut fs, cwd: "/", env: &env, info: &info };
        assert_eq!(run(&mut cmd), 1);
        assert_eq!(cmd.out, "Filesystem           1K-blocks      Used Available Use% Mounted on\n/dev/sda1                 1000       300       700  30% /data\n");
        assert_eq!(cmd.err, "df: /nope: No such file or directory\n");
    }

    #[test]
    fn ls_lays_out_columns_like_each_ls() {
        let names: Vec<String> = ["bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sys", "tmp", "usr", "var"].iter().map(|s| s.to_string()).collect();
        assert_eq!(columns(&names, true), vec!["bin   dev   etc   home  lib   lib64 proc  root  sys   tmp   usr   var"]);
        assert_eq!(columns(&names, false), vec!["bin  dev  etc  home  lib  lib64  proc  root  sys  tmp  usr  var"]);
    }

    #[test]
    fn patterns_match_as_grep_does() {
        assert!(Pattern::new("a.c", false, false, false, false).is_match("xxabcxx"));
        assert!(Pattern::new("^ab*c$", false, false, false, false).is_match("abbbc"));
        assert!(!Pattern::new("^ab*c$", false, false, false, false).is_match("abbbcd"));
        assert!(Pattern::new("[0-9]+", true, false, false, false).is_match("v12"));
        assert!(Pattern::new("HELLO", false, false, true, false).is_match("hello"));
        assert!(Pattern::new("cat", false, false, false, true).is_match("a cat."));
        assert!(!Pattern::new("cat", false, false, false, true).is_match("concatenate"));
    }
}
