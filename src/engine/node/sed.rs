//! `sed`: GNU sed 4.9 (Debian, the learner's machine) and busybox's applet,
//! each with its own error wording. The commands `s` (flags `g`, `p`, `N`,
//! `i`), `d`, `p`, `q`/`Q`, `=`, `a`/`i`/`c` (one-line text), `{…}` and `!`;
//! addresses `N`, `$`, `/re/`, `A,B` and `A,+N`; options `-n -e -E -r -i -s`.
//! Other commands are refused by name.

use regex_lite::Regex;

use super::commands::Cmd;
use super::container_fs as cfs;
use super::images::Toolkit;
use super::posix_regex;

#[derive(Clone, Debug)]
enum Addr {
    Line(usize),
    Last,
    Match(Regex),
}

#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Group(usize),
}

#[derive(Clone, Debug)]
enum Op {
    Subst { re: Regex, with: Vec<Piece>, global: bool, nth: usize, print: bool },
    Delete,
    Print,
    Quit { print: bool, status: i32 },
    LineNumber,
    Translate(Vec<(char, char)>),
    Text(char, String),
    /// `{`: where its `}` is, to skip to when the address does not match.
    Open(usize),
    Close,
}

#[derive(Clone, Debug)]
struct Command {
    from: Option<Addr>,
    to: Option<Addr>,
    /// `A,+N`: the range's length after its first line.
    plus: Option<usize>,
    negate: bool,
    op: Op,
}

/// A script error: where it is (the expression's number and the character
/// GNU sed counts to) and what.
struct ScriptError {
    at: usize,
    text: String,
}

struct Parser {
    c: Vec<char>,
    pos: usize,
    extended: bool,
    last_re: Option<Regex>,
    busybox: bool,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.c.get(self.pos).copied()
    }
    fn err(&self, text: &str) -> ScriptError {
        ScriptError { at: self.pos, text: text.to_string() }
    }
    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.pos += 1;
        }
    }

    /// Text up to the unescaped `delim` (not inside a bracket expression
    /// when `regex`), with `\delim` made `delim`; `None` when it never ends.
    fn delimited(&mut self, delim: char, regex: bool) -> Option<String> {
        let mut text = String::new();
        let mut in_bracket = false;
        while let Some(ch) = self.peek() {
            self.pos += 1;
            if ch == '\\' {
                let next = self.peek()?;
                self.pos += 1;
                if next == delim && !in_bracket {
                    text.push(delim);
                } else if next == 'n' && !regex {
                    text.push('\n');
                } else {
                    text.push('\\');
                    text.push(next);
                }
                continue;
            }
            if regex && ch == '[' && !in_bracket {
                in_bracket = true;
                text.push(ch);
                // A `]` first in the bracket is one of its characters.
                for lead in ['^', ']'] {
                    if self.peek() == Some(lead) {
                        text.push(lead);
                        self.pos += 1;
                    }
                }
                continue;
            }
            if in_bracket && ch == ']' {
                in_bracket = false;
            } else if ch == delim && !in_bracket {
                return Some(text);
            }
            text.push(ch);
        }
        None
    }

    fn regex(&mut self, text: &str, fold: bool) -> Result<Regex, ScriptError> {
        if text.is_empty() {
            return self.last_re.clone().ok_or_else(|| self.err(if self.busybox { "no previous regexp" } else { "no previous regular expression" }));
        }
        let re = posix_regex::compile(text, self.extended, fold).map_err(|e| self.err(&e))?;
        self.last_re = Some(re.clone());
        Ok(re)
    }

    fn address(&mut self) -> Result<Option<Addr>, ScriptError> {
        match self.peek() {
            Some(d) if d.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let n: String = self.c[start..self.pos].iter().collect();
                let n = n.parse::<usize>().unwrap_or(usize::MAX);
                if n == 0 {
                    return Err(self.err("invalid usage of line address 0"));
                }
                Ok(Some(Addr::Line(n)))
            }
            Some('$') => {
                self.pos += 1;
                Ok(Some(Addr::Last))
            }
            Some(open @ ('/' | '\\')) => {
                self.pos += 1;
                let delim = if open == '\\' {
                    let d = self.peek().ok_or_else(|| self.err("unexpected `,'"))?;
                    self.pos += 1;
                    d
                } else {
                    '/'
                };
                let Some(text) = self.delimited(delim, true) else { return Err(self.err(if self.busybox { "unmatched '/'" } else { "unterminated address regex" })) };
                let fold = self.peek() == Some('I');
                if fold {
                    self.pos += 1;
                }
                Ok(Some(Addr::Match(self.regex(&text, fold)?)))
            }
            _ => Ok(None),
        }
    }

    fn script(&mut self) -> Result<Vec<Command>, ScriptError> {
        let mut commands: Vec<Command> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            while self.peek().is_some_and(|c| c.is_whitespace() || c == ';') {
                self.pos += 1;
            }
            let Some(_) = self.peek() else { break };
            if self.peek() == Some('#') {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                continue;
            }
            let from = self.address()?;
            let (mut to, mut plus) = (None, None);
            if from.is_some() && self.peek() == Some(',') {
                self.pos += 1;
                self.skip_blanks();
                if self.peek() == Some('+') {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    let n: String = self.c[start..self.pos].iter().collect();
                    plus = Some(n.parse().unwrap_or(0));
                } else {
                    to = self.address()?;
                    if to.is_none() {
                        return Err(self.err(if self.busybox { "no address after comma" } else { "unexpected `,'" }));
                    }
                }
            }
            self.skip_blanks();
            let negate = self.peek() == Some('!');
            if negate {
                self.pos += 1;
                self.skip_blanks();
            }
            let Some(letter) = self.peek() else { return Err(self.err("missing command")) };
            self.pos += 1;
            let op = match letter {
                's' => self.substitute()?,
                'd' => Op::Delete,
                'p' => Op::Print,
                '=' => Op::LineNumber,
                'q' | 'Q' => {
                    self.skip_blanks();
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    let n: String = self.c[start..self.pos].iter().collect();
                    Op::Quit { print: letter == 'q', status: n.parse().unwrap_or(0) }
                }
                'a' | 'i' | 'c' => {
                    self.skip_blanks();
                    if self.peek() == Some('\\') {
                        self.pos += 1;
                        if self.peek() == Some('\n') {
                            self.pos += 1;
                        }
                    }
                    self.skip_blanks();
                    let mut text = String::new();
                    while let Some(ch) = self.peek() {
                        if ch == '\n' {
                            break;
                        }
                        self.pos += 1;
                        if ch == '\\' {
                            if let Some(next) = self.peek() {
                                self.pos += 1;
                                text.push(if next == 't' { '\t' } else { next });
                            }
                            continue;
                        }
                        text.push(ch);
                    }
                    if text.is_empty() && !self.busybox {
                        return Err(self.err("expected \\ after `a', `c' or `i'"));
                    }
                    Op::Text(letter, text)
                }
                '{' => {
                    open.push(commands.len());
                    Op::Open(0)
                }
                '}' => {
                    if from.is_some() {
                        return Err(self.err("} doesn't want any addresses"));
                    }
                    let Some(at) = open.pop() else { return Err(self.err("unexpected `}'")) };
                    let end = commands.len();
                    if let Some(c) = commands.get_mut(at) {
                        c.op = Op::Open(end);
                    }
                    Op::Close
                }
                'y' => {
                    let delim = self.peek().unwrap_or('\n');
                    self.pos += 1;
                    let unterminated = if self.busybox { "unmatched '/'" } else { "unterminated `y' command" };
                    let Some(from) = self.delimited(delim, false) else { return Err(self.err(unterminated)) };
                    let Some(to) = self.delimited(delim, false) else { return Err(self.err(unterminated)) };
                    let (from, to): (Vec<char>, Vec<char>) = (unescape_y(&from), unescape_y(&to));
                    if from.len() != to.len() {
                        return Err(self.err("strings for `y' command are different lengths"));
                    }
                    Op::Translate(from.into_iter().zip(to).collect())
                }
                'n' | 'N' | 'D' | 'g' | 'G' | 'h' | 'H' | 'x' | 'l' | 'P' | 'b' | 't' | 'T' | ':' | 'r' | 'R' | 'w' | 'W' | 'e' | 'F' | 'z' | 'v' => {
                    return Err(self.err(&format!("the `{letter}' command is not simulated (only s, y, d, p, q, Q, =, a, i, c, {{ and }})")));
                }
                other => {
                    return Err(self.err(&if self.busybox { format!("unsupported command {other}") } else { format!("unknown command: `{other}'") }));
                }
            };
            if !matches!(op, Op::Text(..) | Op::Open(_)) {
                self.skip_blanks();
                match self.peek() {
                    None | Some(';' | '\n' | '}' | '#') => {}
                    Some(_) if self.busybox => {}
                    Some(_) => {
                        self.pos += 1;
                        return Err(self.err("extra characters after command"));
                    }
                }
            }
            commands.push(Command { from, to, plus, negate, op });
        }
        if !open.is_empty() {
            return Err(ScriptError { at: 0, text: if self.busybox { "unterminated {".into() } else { "unmatched `{'".into() } });
        }
        Ok(commands)
    }

    fn substitute(&mut self) -> Result<Op, ScriptError> {
        let unterminated = if self.busybox { "unmatched '/'" } else { "unterminated `s' command" };
        let Some(delim) = self.peek().filter(|d| *d != '\n' && *d != '\\') else { return Err(self.err(unterminated)) };
        self.pos += 1;
        let Some(pattern) = self.delimited(delim, true) else { return Err(self.err(unterminated)) };
        let Some(replacement) = self.delimited(delim, false) else { return Err(self.err(unterminated)) };
        let (mut global, mut nth, mut print, mut fold) = (false, 1, false, false);
        while let Some(flag) = self.peek() {
            match flag {
                'g' => global = true,
                'p' => print = true,
                'i' | 'I' => fold = true,
                '0'..='9' => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    let n: String = self.c[start..self.pos].iter().collect();
                    nth = n.parse().unwrap_or(usize::MAX);
                    if nth == 0 {
                        return Err(self.err("number option to `s' command may not be zero"));
                    }
                    continue;
                }
                'm' | 'M' | 'e' | 'w' => {
                    return Err(self.err(&format!("the `{flag}' flag of `s' is not simulated (only g, p, i and a number)")));
                }
                ';' | '\n' | '}' | '#' | ' ' | '\t' => break,
                _ => {
                    self.pos += 1;
                    return Err(self.err(if self.busybox { "bad option in substitution expression" } else { "unknown option to `s'" }));
                }
            }
            self.pos += 1;
        }
        let re = self.regex(&pattern, fold)?;
        let with = self.replacement(&replacement, re.captures_len())?;
        Ok(Op::Subst { re, with, global, nth, print })
    }

    /// `&`, `\1`…`\9`, `\n` and escaped characters of an `s` replacement.
    fn replacement(&self, text: &str, groups: usize) -> Result<Vec<Piece>, ScriptError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars();
        while let Some(ch) = chars.next() {
            let group = match ch {
                '&' => Some(0),
                '\\' => match chars.next() {
                    Some(d @ '0'..='9') => Some(d as usize - '0' as usize),
                    Some('n') => {
                        literal.push('\n');
                        None
                    }
                    Some('t') => {
                        literal.push('\t');
                        None
                    }
                    Some(case @ ('L' | 'U' | 'l' | 'u' | 'E')) if !self.busybox => {
                        return Err(self.err(&format!("the case conversion \\{case} in a replacement is not simulated")));
                    }
                    Some(other) => {
                        literal.push(other);
                        None
                    }
                    None => None,
                },
                _ => {
                    literal.push(ch);
                    None
                }
            };
            if let Some(n) = group {
                if n >= groups {
                    return Err(self.err(&format!("invalid reference \\{n} on `s' command's RHS")));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(n));
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(pieces)
    }
}

/// A `y` string's characters (`\\` is a backslash; the delimiter is already plain).
fn unescape_y(text: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        out.push(if ch == '\\' { chars.next().map_or('\\', |n| if n == 't' { '\t' } else { n }) } else { ch });
    }
    out
}

/// `s`'s result on one line, or `None` when nothing matched.
fn substitute(line: &str, re: &Regex, with: &[Piece], global: bool, nth: usize) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    let mut replaced = false;
    for (count, caps) in re.captures_iter(line).enumerate() {
        if count + 1 < nth {
            continue;
        }
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(line.get(last..whole.start()).unwrap_or(""));
        for piece in with {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            }
        }
        last = whole.end();
        replaced = true;
        if !global {
            break;
        }
    }
    if !replaced {
        return None;
    }
    out.push_str(line.get(last..).unwrap_or(""));
    Some(out)
}

/// One stream sed reads: all input files together, or one file with `-i`/`-s`.
struct Stream {
    text: String,
    file: Option<String>,
}

/// Output of one stream, with GNU sed's handling of a last line without
/// its newline (kept so, and a newline put back before anything after it).
#[derive(Default)]
struct Output {
    text: String,
    owes_newline: bool,
}

impl Output {
    fn line(&mut self, line: &str, newline: bool) {
        if self.owes_newline {
            self.text.push('\n');
        }
        self.text.push_str(line);
        if newline {
            self.text.push('\n');
        }
        self.owes_newline = !newline;
    }
}

/// Whether a command's address selects the line (ranges keep their state in `active`).
fn selects(c: &Command, line: &str, n: usize, last: bool, active: &mut Option<usize>) -> bool {
    let hit = |a: &Addr| match a {
        Addr::Line(k) => n == *k,
        Addr::Last => last,
        Addr::Match(re) => re.is_match(line),
    };
    let picked = match (&c.from, &c.to, c.plus) {
        (None, _, _) => true,
        (Some(a), None, None) => hit(a),
        (Some(a), to, plus) => {
            if let Some(start) = *active {
                let ends = match (to, plus) {
                    (Some(Addr::Line(k)), _) => n >= *k,
                    (Some(b), _) => hit(b),
                    (None, Some(p)) => n >= start + p,
                    (None, None) => true,
                };
                if ends {
                    *active = None;
                }
                true
            } else if hit(a) {
                // A range whose end is a line number already passed is the one line.
                let ends_now = match (to, plus) {
                    (Some(Addr::Line(k)), _) => *k <= n,
                    (Some(Addr::Last), _) => last,
                    (None, Some(0)) => true,
                    _ => false,
                };
                if !ends_now {
                    *active = Some(n);
                }
                true
            } else {
                false
            }
        }
    };
    picked != c.negate
}

/// Runs sed: its exit status.
pub fn run(cmd: &mut Cmd) -> i32 {
    let busybox = cmd.info.toolkit() == Toolkit::Busybox;
    let mut scripts: Vec<String> = Vec::new();
    let (mut quiet, mut extended, mut in_place, mut separate) = (false, false, false, false);
    let mut operands: Vec<String> = Vec::new();
    let args = cmd.args.to_vec();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if operands.is_empty() && a.starts_with("--") && a.len() > 2 {
            let (name, value) = a.split_once('=').map_or((a.as_str(), None), |(n, v)| (n, Some(v.to_string())));
            match name {
                "--quiet" | "--silent" => quiet = true,
                "--regexp-extended" => extended = true,
                "--in-place" => in_place = true,
                "--separate" => separate = true,
                "--expression" => match value.or_else(|| args.get(i).cloned().inspect(|_| i += 1)) {
                    Some(v) => scripts.push(v),
                    None => return usage_error(cmd, busybox, &format!("option '{name}' requires an argument")),
                },
                _ => return usage_error(cmd, busybox, &format!("unrecognized option '{a}'")),
            }
            continue;
        }
        if a == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if a.len() > 1 && a.starts_with('-') {
            let flags: Vec<char> = a.chars().skip(1).collect();
            let mut k = 0;
            while k < flags.len() {
                match flags[k] {
                    'n' => quiet = true,
                    'E' | 'r' => extended = true,
                    's' => separate = true,
                    'i' => {
                        // What follows `-i` is a backup suffix, never more flags.
                        in_place = true;
                        if k + 1 < flags.len() {
                            let suffix: String = flags[k + 1..].iter().collect();
                            return not_simulated(cmd, &format!("a backup suffix ('-i{suffix}')"));
                        }
                    }
                    'e' => {
                        let rest: String = flags[k + 1..].iter().collect();
                        let script = if rest.is_empty() { args.get(i).cloned().inspect(|_| i += 1) } else { Some(rest) };
                        match script {
                            Some(s) => scripts.push(s),
                            None => return usage_error(cmd, busybox, "option requires an argument -- 'e'"),
                        }
                        break;
                    }
                    'f' => return not_simulated(cmd, "-f (a script file)"),
                    'z' | 'u' | 'l' => return not_simulated(cmd, &format!("-{}", flags[k])),
                    other => return usage_error(cmd, busybox, &format!("invalid option -- '{other}'")),
                }
                k += 1;
            }
            continue;
        }
        operands.push(a.clone());
    }
    if scripts.is_empty() {
        if operands.is_empty() {
            return usage_error(cmd, busybox, "");
        }
        scripts.push(operands.remove(0));
    }
    // Each -e is one expression; GNU sed counts errors' places within it.
    let mut parser = Parser { c: Vec::new(), pos: 0, extended, last_re: None, busybox };
    let joined = scripts.join("\n");
    parser.c = joined.chars().collect();
    let commands = match parser.script() {
        Ok(c) => c,
        Err(e) => {
            let (mut expr, mut at) = (1, e.at);
            for s in &scripts {
                let len = s.chars().count();
                if at <= len {
                    break;
                }
                at -= len + 1;
                expr += 1;
            }
            let line = if busybox { format!("sed: {}", e.text) } else { format!("sed: -e expression #{expr}, char {at}: {}", e.text) };
            cmd.error_text(&line);
            cmd.error_text("\n");
            return 1;
        }
    };
    if in_place && operands.is_empty() {
        cmd.error_text(if busybox { "sed: no files to edit\n" } else { "sed: no input files\n" });
        return if busybox { 1 } else { 4 };
    }
    let mut status = 0;
    let mut streams: Vec<Stream> = Vec::new();
    // Files run on as one stream that cannot be read: reported when the
    // stream reaches them (with the number of lines before), as GNU sed
    // opens each file once it has read the last; a script that asks for
    // the last line (`$`) looks one line ahead.
    let mut unread: Vec<(usize, String)> = Vec::new();
    let mut lines_before = 0;
    if operands.is_empty() {
        streams.push(Stream { text: cmd.stdin.to_string(), file: None });
    } else {
        let mut joined = String::new();
        for f in &operands {
            let text = if f == "-" && !in_place { Ok(cmd.stdin.to_string()) } else { cfs::read_file(cmd.files, cmd.cwd, f) };
            match text {
                Ok(t) if in_place || separate => streams.push(Stream { text: t, file: Some(f.clone()) }),
                Ok(t) => {
                    // Files run on as one stream; a last line without its newline gets one.
                    if !joined.is_empty() && !joined.ends_with('\n') {
                        joined.push('\n');
                    }
                    lines_before += t.split_inclusive('\n').count();
                    joined.push_str(&t);
                }
                Err(e) => {
                    let line = if busybox { format!("sed: can't open '{f}': {}\n", e.message()) } else { format!("sed: can't read {f}: {}\n", e.message()) };
                    if in_place || separate {
                        cmd.error_text(&line);
                        status = if busybox { 1 } else { 2 };
                    } else {
                        unread.push((lines_before, line));
                    }
                }
            }
        }
        if !(in_place || separate) {
            streams.push(Stream { text: joined, file: None });
        }
    }
    let mut n = 0;
    let mut quit: Option<i32> = None;
    let mut active: Vec<Option<usize>> = vec![None; commands.len()];
    let stream_count = streams.len();
    let looks_ahead = commands.iter().any(|c| matches!(c.from, Some(Addr::Last)) || matches!(c.to, Some(Addr::Last)));
    let mut unread = unread.into_iter().peekable();
    // Reports the unreadable files the stream has reached, where the output stands.
    let mut report_unread = |cmd: &mut Cmd, out: &Output, reached: usize, status: &mut i32| {
        while let Some((_, line)) = unread.next_if(|(at, _)| *at <= reached) {
            cmd.error_text_at(cmd.out.len() + out.text.len(), &line);
            *status = if busybox { 1 } else { 2 };
        }
    };
    for (index, stream) in streams.into_iter().enumerate() {
        if quit.is_some() {
            break;
        }
        let mut out = Output::default();
        let lines: Vec<&str> = stream.text.split_inclusive('\n').collect();
        if in_place {
            n = 0;
        }
        for (k, raw) in lines.iter().enumerate() {
            report_unread(cmd, &out, k + usize::from(looks_ahead), &mut status);
            n += 1;
            let newline = raw.ends_with('\n');
            let mut line = raw.strip_suffix('\n').unwrap_or(raw).to_string();
            let last = k + 1 == lines.len() && (in_place || index + 1 == stream_count);
            let (mut appended, mut deleted) = (Vec::new(), false);
            let mut pc = 0;
            while let Some(c) = commands.get(pc) {
                let Some(state) = active.get_mut(pc) else { break };
                let chosen = selects(c, &line, n, last, state);
                pc += 1;
                if !chosen {
                    if let Op::Open(end) = c.op {
                        pc = end + 1;
                    }
                    continue;
                }
                match &c.op {
                    Op::Subst { re, with, global, nth, print } => {
                        if let Some(changed) = substitute(&line, re, with, *global, *nth) {
                            line = changed;
                            if *print {
                                out.line(&line, true);
                            }
                        }
                    }
                    Op::Delete => {
                        deleted = true;
                        break;
                    }
                    Op::Print => out.line(&line, true),
                    Op::LineNumber => out.line(&n.to_string(), true),
                    Op::Translate(pairs) => {
                        line = line.chars().map(|ch| pairs.iter().find(|(f, _)| *f == ch).map_or(ch, |(_, t)| *t)).collect();
                    }
                    Op::Text('i', text) => out.line(text, true),
                    Op::Text('a', text) => appended.push(text.clone()),
                    Op::Text(_, text) => {
                        // `c` on a range prints its text once, at the range's end.
                        if state.is_none() || c.negate {
                            out.line(text, true);
                        }
                        deleted = true;
                        break;
                    }
                    Op::Quit { print, status: s } => {
                        quit = Some(*s);
                        deleted = !print;
                        break;
                    }
                    Op::Open(_) | Op::Close => {}
                }
            }
            if !deleted && !quiet {
                out.line(&line, newline);
            }
            for text in appended {
                out.line(&text, true);
            }
            if quit.is_some() {
                break;
            }
        }
        if quit.is_none() {
            report_unread(cmd, &out, usize::MAX, &mut status);
        }
        match (&stream.file, in_place) {
            (Some(f), true) => {
                if let Err(e) = cfs::write_file(cmd.files, cmd.cwd, f, &out.text, false) {
                    let line = format!("sed: couldn't open file {f}: {}\n", e.message());
                    cmd.error_text(&line);
                    status = 4;
                }
            }
            _ => cmd.out.push_str(&out.text),
        }
    }
    quit.filter(|q| *q != 0).unwrap_or(status)
}

fn not_simulated(cmd: &mut Cmd, what: &str) -> i32 {
    cmd.error_text(&format!("sed: {what} is not simulated\n"));
    1
}

/// A bad option, or none: GNU's usage on stderr (status 1), busybox's short one.
fn usage_error(cmd: &mut Cmd, busybox: bool, problem: &str) -> i32 {
    if !problem.is_empty() {
        cmd.error_text(&format!("sed: {problem}\n"));
    }
    if busybox {
        cmd.error_text("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: sed [-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...\nor: sed [-i[SFX]] [-nrE] CMD [FILE]...\n");
    } else {
        cmd.error_text(GNU_USAGE);
    }
    1
}

const GNU_USAGE: &str = include_str!("sed_usage.txt");
