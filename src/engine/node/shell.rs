//! A small POSIX-shell model: turns a container's command into a timeline of
//! what the process does (print a line, write or remove a file, exit with a
//! code, run forever) so containers can be simulated without running code.
//!
//! Understood: `;`, `&&`, `||`, newlines, `while`/`until … do … done`,
//! `for x in … ; do … done`, `if … then … else … fi`, redirections `>` and
//! `>>`, `$VAR`, `${VAR}`, `$1`, `$(date)`, `$(hostname)`, `$(cat f)`, and the
//! commands `sleep`, `echo`, `printf`, `date`, `true`, `false`, `:`, `exit`,
//! `touch`, `mkdir`, `rm`, `cat`, `test`/`[`, `env`, `printenv`, `hostname`,
//! `export`, `seq`, `tail -f`, `sh -c`, `exec`, and network tools (`wget`,
//! `curl`, `nc`) which succeed silently. Anything else is "not found".

use std::collections::BTreeMap;

use super::images::Toolkit;

/// Marks where `$(date)` output goes; filled in when the line is written.
pub const DATE_MARK: char = '\u{1}';
/// Commands run in one program before the model gives up and calls it endless.
const STEP_BUDGET: usize = 20_000;
/// Iterations of a data-dependent loop evaluated before treating it as endless.
const LOOP_BUDGET: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A line on stdout/stderr (the container log).
    Log(String),
    WriteFile(String, String),
    RemoveFile(String),
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
    pub repeat: Option<Repeat>,
    pub end: End,
}

impl Program {
    pub fn forever(lines: Vec<String>) -> Self {
        Program { timeline: lines.into_iter().map(|l| Timed { at_ms: 0, effect: Effect::Log(l) }).collect(), repeat: None, end: End::Never }
    }
}

/// What a program starts with.
pub struct Context<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub hostname: &'a str,
    pub toolkit: Toolkit,
    pub files: BTreeMap<String, String>,
}

/// The first word of an exec-form command names a program the model does not know.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownProgram(pub String);

/// Compiles an exec-form command line (`command` + `args`).
pub fn compile_exec(argv: &[String], ctx: Context) -> Result<Program, UnknownProgram> {
    let Some(first) = argv.first() else {
        return Ok(Program { timeline: vec![], repeat: None, end: End::Exit { at_ms: 0, code: 0 } });
    };
    let name = basename(first);
    if !is_known(name) {
        return Err(UnknownProgram(first.clone()));
    }
    let mut shell = Shell::new(ctx, argv.iter().skip(1).cloned().collect());
    let words: Vec<Word> = argv.iter().map(|a| Word(vec![Part::Literal(a.clone())])).collect();
    let flow = shell.run_simple(&words, None);
    Ok(shell.finish(flow))
}

/// Compiles a shell script run as `sh -c script arg0 arg1…`.
pub fn compile_script(script: &str, positional: Vec<String>, ctx: Context) -> Program {
    let mut shell = Shell::new(ctx, positional);
    let flow = match parse(script) {
        Ok(list) => shell.run_list(&list),
        Err(e) => {
            shell.log(format!("sh: syntax error: {e}"));
            Flow::Exit(2)
        }
    };
    shell.finish(flow)
}

/// Runs a one-shot command (an exec probe) against a container's files:
/// its exit code and output.
pub fn run_once(argv: &[String], ctx: Context) -> (i32, String) {
    let program = match compile_exec(argv, ctx) {
        Ok(p) => p,
        Err(UnknownProgram(p)) => {
            return (126, format!("OCI runtime exec failed: exec failed: unable to start container process: exec: \"{p}\": executable file not found in $PATH: unknown"));
        }
    };
    let output: Vec<String> = program
        .timeline
        .iter()
        .filter_map(|t| match &t.effect {
            Effect::Log(l) => Some(l.replace(DATE_MARK, "")),
            _ => None,
        })
        .collect();
    let code = match program.end {
        End::Exit { code, .. } => code,
        End::Never => 0,
    };
    (code, output.join("\n"))
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn is_known(name: &str) -> bool {
    matches!(
        name,
        "sh" | "bash" | "ash" | "dash" | "sleep" | "echo" | "printf" | "date" | "true" | "false" | ":" | "exit" | "touch" | "mkdir" | "rm"
            | "cat" | "test" | "[" | "env" | "printenv" | "hostname" | "export" | "seq" | "tail" | "exec" | "wget" | "curl" | "nc" | "ls"
            | "trap" | "set" | "kill" | "wait" | "cd" | "ping" | "nslookup"
    )
}

// ---------------------------------------------------------------- parsing

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// Quoted with single quotes: no expansion.
    Literal(String),
    Expand(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Word(Vec<Part>);

impl Word {
    fn raw(&self) -> String {
        self.0.iter().map(|p| match p { Part::Literal(s) | Part::Expand(s) => s.as_str() }).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(Word),
    /// `;`, newline or `&`.
    Sep,
    And,
    Or,
    Pipe,
    Redirect { append: bool },
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = src.chars().peekable();
    let flush = |tokens: &mut Vec<Token>, parts: &mut Vec<Part>, current: &mut String, in_word: &mut bool| {
        if !current.is_empty() {
            parts.push(Part::Expand(std::mem::take(current)));
        }
        if *in_word {
            tokens.push(Token::Word(Word(std::mem::take(parts))));
        }
        *in_word = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                if !current.is_empty() {
                    parts.push(Part::Expand(std::mem::take(&mut current)));
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
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => {
                                if ch == '$' {
                                    // An escaped dollar stays literal.
                                    parts.push(Part::Expand(std::mem::take(&mut current)));
                                    parts.push(Part::Literal("$".into()));
                                } else {
                                    current.push(ch);
                                }
                            }
                            Some(ch) => {
                                current.push('\\');
                                current.push(ch);
                            }
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(ch) => current.push(ch),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    if ch != '\n' {
                        current.push(ch);
                    }
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                current.push('$');
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
            '#' if !in_word => {
                for ch in chars.by_ref() {
                    if ch == '\n' {
                        break;
                    }
                }
                tokens.push(Token::Sep);
            }
            ' ' | '\t' => flush(&mut tokens, &mut parts, &mut current, &mut in_word),
            '\n' | ';' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                tokens.push(Token::Sep);
            }
            '&' => {
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                if chars.peek() == Some(&'&') {
                    chars.next();
                    tokens.push(Token::And);
                } else {
                    tokens.push(Token::Sep);
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
            '>' => {
                // `2>&1` and `2>/dev/null`: a leading fd number is not a word.
                if current == "2" || current == "1" {
                    current.clear();
                    if parts.is_empty() {
                        in_word = false;
                    }
                }
                flush(&mut tokens, &mut parts, &mut current, &mut in_word);
                let append = chars.peek() == Some(&'>');
                if append {
                    chars.next();
                }
                if chars.peek() == Some(&'&') {
                    chars.next();
                    // `>&1`, `>&2`: output stays in the log.
                    while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                        chars.next();
                    }
                } else {
                    tokens.push(Token::Redirect { append });
                }
            }
            '<' => flush(&mut tokens, &mut parts, &mut current, &mut in_word),
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
    Simple { words: Vec<Word>, redirect: Option<(bool, Word)> },
    Loop { cond: List, body: List, until: bool },
    For { var: String, items: Vec<Word>, body: List },
    If { cond: List, then: List, otherwise: List },
}

#[derive(Clone, Debug)]
struct AndOr {
    first: Vec<Node>,
    rest: Vec<(bool, Vec<Node>)>,
}

type List = Vec<AndOr>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn parse(src: &str) -> Result<List, String> {
    let mut p = Parser { tokens: tokenize(src)?, pos: 0 };
    let list = p.list(&[])?;
    if p.pos < p.tokens.len() {
        return Err(format!("unexpected \"{}\"", p.peek_word().unwrap_or_else(|| "token".into())));
    }
    Ok(list)
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
            Err(format!("expected \"{word}\""))
        }
    }
    /// A list, stopping before any of the `stop` keywords.
    fn list(&mut self, stop: &[&str]) -> Result<List, String> {
        let mut list = Vec::new();
        loop {
            self.skip_seps();
            match self.peek_word() {
                None if self.peek().is_none() => break,
                Some(w) if stop.contains(&w.as_str()) => break,
                _ => {}
            }
            if self.peek().is_none() {
                break;
            }
            list.push(self.and_or(stop)?);
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
        Ok(AndOr { first, rest })
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
        match self.peek_word().as_deref() {
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
                            *w = Word(vec![Part::Literal("if".into())]);
                        }
                        let nested = self.command(stop)?;
                        vec![AndOr { first: vec![nested], rest: vec![] }]
                    }
                    _ => {
                        self.expect_word("fi")?;
                        vec![]
                    }
                };
                Ok(Node::If { cond, then, otherwise })
            }
            _ => {
                let mut words = Vec::new();
                let mut redirect = None;
                loop {
                    match self.peek() {
                        Some(Token::Word(w)) => {
                            if words.is_empty() && stop.contains(&w.raw().as_str()) {
                                break;
                            }
                            words.push(w.clone());
                            self.pos += 1;
                        }
                        Some(Token::Redirect { append }) => {
                            let append = *append;
                            self.pos += 1;
                            match self.peek() {
                                Some(Token::Word(target)) => {
                                    redirect = Some((append, target.clone()));
                                    self.pos += 1;
                                }
                                _ => return Err("expected a file after >".into()),
                            }
                        }
                        _ => break,
                    }
                }
                if words.is_empty() && redirect.is_none() {
                    return Err(format!("unexpected \"{}\"", self.peek_word().unwrap_or_else(|| "token".into())));
                }
                Ok(Node::Simple { words, redirect })
            }
        }
    }
}

// -------------------------------------------------------------- execution

enum Flow {
    /// Carry on; the status of the last command.
    Status(i32),
    Exit(i32),
    /// Never ends (`sleep infinity`, `tail -f`, an endless loop already recorded).
    Forever,
}

struct Shell<'a> {
    ctx: Context<'a>,
    vars: BTreeMap<String, String>,
    positional: Vec<String>,
    t: u64,
    effects: Vec<Timed>,
    repeat: Option<Repeat>,
    steps: usize,
    last: i32,
    /// Where command output goes: the log, or a file.
    sink: Option<(String, bool)>,
}

impl<'a> Shell<'a> {
    fn new(ctx: Context<'a>, positional: Vec<String>) -> Self {
        let mut vars: BTreeMap<String, String> = ctx.env.clone();
        vars.entry("HOSTNAME".into()).or_insert_with(|| ctx.hostname.to_string());
        vars.entry("HOME".into()).or_insert_with(|| "/root".into());
        vars.entry("PATH".into()).or_insert_with(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
        Shell { ctx, vars, positional, t: 0, effects: Vec::new(), repeat: None, steps: 0, last: 0, sink: None }
    }

    fn finish(self, flow: Flow) -> Program {
        let end = match flow {
            Flow::Status(code) | Flow::Exit(code) => End::Exit { at_ms: self.t, code },
            Flow::Forever => End::Never,
        };
        Program { timeline: self.effects, repeat: self.repeat, end }
    }

    fn log(&mut self, line: String) {
        self.effects.push(Timed { at_ms: self.t, effect: Effect::Log(line) });
    }

    fn output(&mut self, text: String) {
        match self.sink.clone() {
            Some((path, append)) => {
                let mut content = if append { self.ctx.files.get(&path).cloned().unwrap_or_default() } else { String::new() };
                content.push_str(&text);
                content.push('\n');
                self.ctx.files.insert(path.clone(), content.clone());
                self.effects.push(Timed { at_ms: self.t, effect: Effect::WriteFile(path.clone(), content) });
                self.sink = Some((path, true));
            }
            None => {
                for line in text.split('\n') {
                    self.log(line.to_string());
                }
            }
        }
    }

    fn not_found(&mut self, name: &str) -> Flow {
        let line = match self.ctx.toolkit {
            Toolkit::Busybox => format!("sh: {name}: not found"),
            Toolkit::Coreutils => format!("sh: 1: {name}: not found"),
        };
        self.log(line);
        Flow::Status(127)
    }

    fn run_list(&mut self, list: &List) -> Flow {
        let mut flow = Flow::Status(self.last);
        for and_or in list {
            flow = self.run_and_or(and_or);
            match flow {
                Flow::Status(s) => self.last = s,
                _ => return flow,
            }
        }
        flow
    }

    fn run_and_or(&mut self, and_or: &AndOr) -> Flow {
        let mut flow = self.run_pipeline(&and_or.first);
        for (and, pipeline) in &and_or.rest {
            let status = match flow {
                Flow::Status(s) => s,
                _ => return flow,
            };
            if (status == 0) == *and {
                flow = self.run_pipeline(pipeline);
            }
        }
        flow
    }

    fn run_pipeline(&mut self, nodes: &[Node]) -> Flow {
        let mut flow = Flow::Status(0);
        for node in nodes {
            flow = self.run_node(node);
            if !matches!(flow, Flow::Status(_)) {
                return flow;
            }
        }
        flow
    }

    fn run_node(&mut self, node: &Node) -> Flow {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Flow::Forever;
        }
        match node {
            Node::Simple { words, redirect } => self.run_simple(words, redirect.as_ref()),
            Node::If { cond, then, otherwise } => match self.run_list(cond) {
                Flow::Status(0) => self.run_list(then),
                Flow::Status(_) => self.run_list(otherwise),
                f => f,
            },
            Node::For { var, items, body } => {
                let values: Vec<String> = items.iter().flat_map(|w| self.expand_fields(w)).collect();
                let mut flow = Flow::Status(0);
                for v in values {
                    self.vars.insert(var.clone(), v);
                    flow = self.run_list(body);
                    if !matches!(flow, Flow::Status(_)) {
                        return flow;
                    }
                }
                flow
            }
            Node::Loop { cond, body, until } => self.run_loop(cond, body, *until),
        }
    }

    fn run_loop(&mut self, cond: &List, body: &List, until: bool) -> Flow {
        let constant = cond.len() == 1
            && cond.first().is_some_and(|c| c.rest.is_empty() && c.first.len() == 1)
            && matches!(cond.first().and_then(|c| c.first.first()), Some(Node::Simple { words, redirect: None })
                if words.len() == 1 && matches!(words.first().map(Word::raw).as_deref(), Some("true" | ":")));
        if constant && !until {
            // An endless loop: record one pass as the repeating body.
            let start = self.t;
            let before = self.effects.len();
            match self.run_list(body) {
                Flow::Status(_) => {}
                f => return f,
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
        let mut flow = Flow::Status(0);
        for _ in 0..LOOP_BUDGET {
            let status = match self.run_list(cond) {
                Flow::Status(s) => s,
                f => return f,
            };
            if (status == 0) == until {
                return flow;
            }
            flow = self.run_list(body);
            if !matches!(flow, Flow::Status(_)) {
                return flow;
            }
        }
        Flow::Forever
    }

    fn expand(&mut self, word: &Word) -> String {
        let mut out = String::new();
        for part in &word.0 {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Expand(s) => out.push_str(&self.expand_text(s)),
            }
        }
        out
    }

    /// Unquoted expansions split into fields; good enough for `for` lists.
    fn expand_fields(&mut self, word: &Word) -> Vec<String> {
        let text = self.expand(word);
        if word.0.iter().all(|p| matches!(p, Part::Expand(_))) {
            text.split_whitespace().map(str::to_string).collect()
        } else {
            vec![text]
        }
    }

    fn expand_text(&mut self, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
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
                    let end = chars.iter().skip(i).position(|&c| c == '}').map(|p| p + i);
                    let name: String = chars.get(i + 2..end.unwrap_or(chars.len())).map(|c| c.iter().collect()).unwrap_or_default();
                    let name = name.split(":-").next().unwrap_or("").to_string();
                    out.push_str(&self.var(&name));
                    i = end.map_or(chars.len(), |e| e + 1);
                }
                Some(d) if d.is_ascii_digit() || *d == '@' || *d == '*' || *d == '?' || *d == '#' => {
                    let name = d.to_string();
                    out.push_str(&self.var(&name));
                    i += 2;
                }
                Some(d) if d.is_ascii_alphabetic() || *d == '_' => {
                    let mut j = i + 1;
                    while chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                        j += 1;
                    }
                    let name: String = chars.get(i + 1..j).map(|c| c.iter().collect()).unwrap_or_default();
                    out.push_str(&self.var(&name));
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

    fn var(&self, name: &str) -> String {
        match name {
            "?" => self.last.to_string(),
            "#" => self.positional.len().saturating_sub(1).to_string(),
            "@" | "*" => self.positional.iter().skip(1).cloned().collect::<Vec<_>>().join(" "),
            n if n.chars().all(|c| c.is_ascii_digit()) => {
                n.parse::<usize>().ok().and_then(|i| self.positional.get(i)).cloned().unwrap_or_default()
            }
            n => self.vars.get(n).cloned().unwrap_or_default(),
        }
    }

    /// `$(…)`: the few command substitutions scripts in tutorials use.
    fn substitute(&mut self, inner: &str) -> String {
        let mut words = inner.split_whitespace();
        match words.next() {
            Some("date") => DATE_MARK.to_string(),
            Some("hostname") => self.ctx.hostname.to_string(),
            Some("cat") => words.filter_map(|f| self.ctx.files.get(f).cloned()).collect::<String>().trim_end().to_string(),
            Some("echo") => words.collect::<Vec<_>>().join(" "),
            _ => String::new(),
        }
    }

    fn run_simple(&mut self, words: &[Word], redirect: Option<&(bool, Word)>) -> Flow {
        let mut argv: Vec<String> = Vec::with_capacity(words.len());
        for w in words {
            let unquoted = w.0.iter().all(|p| matches!(p, Part::Expand(_)));
            let value = self.expand(w);
            if unquoted && value.contains(' ') && !value.contains(DATE_MARK) {
                argv.extend(value.split_whitespace().map(str::to_string));
            } else if !(unquoted && value.is_empty()) {
                argv.push(value);
            }
        }
        // Leading assignments: `A=1 B=2` (for the rest of the script; close enough).
        while let Some(first) = argv.first() {
            match first.split_once('=') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    self.vars.insert(k.to_string(), v.to_string());
                    argv.remove(0);
                }
                _ => break,
            }
        }
        let previous_sink = self.sink.take();
        if let Some((append, target)) = redirect {
            let path = self.expand(target);
            if path == "/dev/null" {
                self.sink = Some((String::new(), false));
            } else {
                if !append {
                    self.ctx.files.insert(path.clone(), String::new());
                    self.effects.push(Timed { at_ms: self.t, effect: Effect::WriteFile(path.clone(), String::new()) });
                }
                self.sink = Some((path, true));
            }
        }
        let flow = if argv.is_empty() { Flow::Status(0) } else { self.builtin(&argv) };
        self.sink = previous_sink;
        flow
    }

    fn builtin(&mut self, argv: &[String]) -> Flow {
        let Some(first) = argv.first() else { return Flow::Status(0) };
        let name = basename(first).to_string();
        let args: Vec<String> = argv.iter().skip(1).cloned().collect();
        if self.sink.as_ref().is_some_and(|(p, _)| p.is_empty()) && !matches!(name.as_str(), "sleep" | "exit" | "sh" | "bash" | "ash") {
            // Output to /dev/null: run for the status only.
            let saved = std::mem::take(&mut self.effects);
            let flow = self.builtin_inner(&name, &args);
            let kept: Vec<Timed> = std::mem::replace(&mut self.effects, saved).into_iter().filter(|e| !matches!(e.effect, Effect::Log(_))).collect();
            self.effects.extend(kept);
            return flow;
        }
        self.builtin_inner(&name, &args)
    }

    fn builtin_inner(&mut self, name: &str, args: &[String]) -> Flow {
        match name {
            "true" | ":" | "trap" | "set" | "wait" | "cd" | "kill" => Flow::Status(0),
            "export" => {
                for a in args {
                    if let Some((k, v)) = a.split_once('=') {
                        self.vars.insert(k.to_string(), v.to_string());
                    }
                }
                Flow::Status(0)
            }
            "false" => Flow::Status(1),
            "exit" => Flow::Exit(args.first().and_then(|a| a.parse::<i32>().ok()).map_or(self.last, |c| c & 0xff)),
            "sleep" => {
                let mut total: u64 = 0;
                for a in args {
                    if a == "infinity" || a == "inf" {
                        return Flow::Forever;
                    }
                    match parse_sleep_ms(a) {
                        Some(ms) => total = total.saturating_add(ms),
                        None => {
                            self.log(format!("sleep: invalid number '{a}'"));
                            return Flow::Status(1);
                        }
                    }
                }
                self.t = self.t.saturating_add(total);
                Flow::Status(0)
            }
            "echo" => {
                let mut rest = args;
                let mut newline = true;
                while let Some(flag) = rest.first() {
                    match flag.as_str() {
                        "-n" => newline = false,
                        "-e" | "-E" => {}
                        _ => break,
                    }
                    rest = rest.get(1..).unwrap_or(&[]);
                }
                let _ = newline;
                let text = rest.join(" ").replace("\\n", "\n");
                self.output(text);
                Flow::Status(0)
            }
            "printf" => {
                let fmt = args.first().cloned().unwrap_or_default();
                let mut values = args.iter().skip(1);
                let mut text = String::new();
                let mut chars = fmt.chars().peekable();
                while let Some(c) = chars.next() {
                    match (c, chars.peek()) {
                        ('%', Some('s' | 'd')) => {
                            chars.next();
                            text.push_str(values.next().map_or("", String::as_str));
                        }
                        ('\\', Some('n')) => {
                            chars.next();
                            text.push('\n');
                        }
                        _ => text.push(c),
                    }
                }
                let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
                if !text.is_empty() {
                    self.output(text);
                }
                Flow::Status(0)
            }
            "date" => {
                self.output(DATE_MARK.to_string());
                Flow::Status(0)
            }
            "hostname" => {
                let h = self.ctx.hostname.to_string();
                self.output(h);
                Flow::Status(0)
            }
            "env" | "printenv" => {
                if let Some(var) = args.first() {
                    return match self.vars.get(var).cloned() {
                        Some(v) => {
                            self.output(v);
                            Flow::Status(0)
                        }
                        None => Flow::Status(1),
                    };
                }
                let lines: Vec<String> = self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.output(lines.join("\n"));
                Flow::Status(0)
            }
            "touch" | "mkdir" => {
                for f in args.iter().filter(|a| !a.starts_with('-')) {
                    if name == "touch" && !self.ctx.files.contains_key(f) {
                        self.ctx.files.insert(f.clone(), String::new());
                        self.effects.push(Timed { at_ms: self.t, effect: Effect::WriteFile(f.clone(), String::new()) });
                    }
                }
                Flow::Status(0)
            }
            "rm" => {
                let force = args.iter().any(|a| a.starts_with('-') && a.contains('f'));
                let mut status = 0;
                for f in args.iter().filter(|a| !a.starts_with('-')) {
                    if self.ctx.files.remove(f).is_some() {
                        self.effects.push(Timed { at_ms: self.t, effect: Effect::RemoveFile(f.clone()) });
                    } else if !force {
                        let line = match self.ctx.toolkit {
                            Toolkit::Busybox => format!("rm: can't remove '{f}': No such file or directory"),
                            Toolkit::Coreutils => format!("rm: cannot remove '{f}': No such file or directory"),
                        };
                        self.log(line);
                        status = 1;
                    }
                }
                Flow::Status(status)
            }
            "cat" | "ls" => {
                let mut status = 0;
                for f in args.iter().filter(|a| !a.starts_with('-')) {
                    match self.ctx.files.get(f).cloned() {
                        Some(content) if name == "cat" => {
                            let text = content.strip_suffix('\n').unwrap_or(&content).to_string();
                            if !text.is_empty() {
                                self.output(text);
                            }
                        }
                        Some(_) => self.output(f.clone()),
                        None => {
                            let line = match (name, self.ctx.toolkit) {
                                ("cat", Toolkit::Busybox) => format!("cat: can't open '{f}': No such file or directory"),
                                ("cat", Toolkit::Coreutils) => format!("cat: {f}: No such file or directory"),
                                (_, _) => format!("ls: cannot access '{f}': No such file or directory"),
                            };
                            self.log(line);
                            status = if name == "ls" { 2 } else { 1 };
                        }
                    }
                }
                Flow::Status(status)
            }
            "test" | "[" => {
                let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
                if name == "[" && a.last() == Some(&"]") {
                    a.pop();
                }
                let ok = match a.as_slice() {
                    ["-e" | "-f" | "-r" | "-s", f] => self.ctx.files.contains_key(*f),
                    ["-d", _] => true,
                    ["-z", s] => s.is_empty(),
                    ["-n", s] => !s.is_empty(),
                    [x, "=" | "==", y] => x == y,
                    [x, "!=", y] => x != y,
                    [x, op @ ("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"), y] => {
                        let (x, y) = (x.parse::<i64>().unwrap_or(0), y.parse::<i64>().unwrap_or(0));
                        match *op {
                            "-eq" => x == y,
                            "-ne" => x != y,
                            "-lt" => x < y,
                            "-le" => x <= y,
                            "-gt" => x > y,
                            _ => x >= y,
                        }
                    }
                    [s] => !s.is_empty(),
                    _ => false,
                };
                Flow::Status(if ok { 0 } else { 1 })
            }
            "seq" => {
                let nums: Vec<i64> = args.iter().filter_map(|a| a.parse().ok()).collect();
                let (from, to) = match nums.as_slice() {
                    [to] => (1, *to),
                    [from, to, ..] => (*from, *to),
                    _ => (1, 0),
                };
                let to = to.min(from.saturating_add(10_000));
                let lines: Vec<String> = (from..=to).map(|n| n.to_string()).collect();
                if !lines.is_empty() {
                    self.output(lines.join("\n"));
                }
                Flow::Status(0)
            }
            "tail" if args.iter().any(|a| a == "-f" || a == "-F") => Flow::Forever,
            "tail" => Flow::Status(0),
            "wget" | "curl" | "nc" | "ping" | "nslookup" => Flow::Status(0),
            "exec" => match self.builtin(args) {
                Flow::Status(s) => Flow::Exit(s),
                f => f,
            },
            "sh" | "bash" | "ash" | "dash" => {
                if args.first().map(String::as_str) == Some("-c") {
                    let script = args.get(1).cloned().unwrap_or_default();
                    let positional: Vec<String> = args.iter().skip(2).cloned().collect();
                    let positional = if positional.is_empty() { vec![name.to_string()] } else { positional };
                    let saved = std::mem::replace(&mut self.positional, positional);
                    let flow = match parse(&script) {
                        Ok(list) => self.run_list(&list),
                        Err(e) => {
                            self.log(format!("sh: syntax error: {e}"));
                            Flow::Status(2)
                        }
                    };
                    self.positional = saved;
                    match flow {
                        Flow::Exit(s) => Flow::Status(s),
                        f => f,
                    }
                } else {
                    // A shell with no script and no terminal reads nothing and exits.
                    Flow::Status(0)
                }
            }
            other => self.not_found(other),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(env: &BTreeMap<String, String>) -> Context<'_> {
        Context { env, hostname: "pod-1", toolkit: Toolkit::Busybox, files: BTreeMap::new() }
    }

    fn logs(p: &Program) -> Vec<(u64, String)> {
        p.timeline.iter().filter_map(|t| if let Effect::Log(l) = &t.effect { Some((t.at_ms, l.clone())) } else { None }).collect()
    }

    #[test]
    fn runs_commands_in_order_with_time() {
        let env = BTreeMap::new();
        let p = compile_script("echo hello; sleep 5 && echo done; exit 3", vec!["sh".into()], ctx(&env));
        assert_eq!(logs(&p), vec![(0, "hello".into()), (5000, "done".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 5000, code: 3 });
    }

    #[test]
    fn and_or_follow_statuses() {
        let env = BTreeMap::new();
        let p = compile_script("false && echo no || echo yes", vec![], ctx(&env));
        assert_eq!(logs(&p), vec![(0, "yes".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 0, code: 0 });
        let p = compile_script("foo", vec![], ctx(&env));
        assert_eq!(logs(&p), vec![(0, "sh: foo: not found".into())]);
        assert_eq!(p.end, End::Exit { at_ms: 0, code: 127 });
    }

    #[test]
    fn endless_loops_repeat() {
        let env = BTreeMap::from([("INTERVAL".to_string(), "3".to_string())]);
        let p = compile_script("echo start; while true; do echo tick $INTERVAL; sleep $INTERVAL; done", vec![], ctx(&env));
        assert_eq!(p.end, End::Never);
        let r = p.repeat.clone().unwrap();
        assert_eq!((r.start_ms, r.period_ms), (0, 3000));
        assert_eq!(r.body, vec![Timed { at_ms: 0, effect: Effect::Log("tick 3".into()) }]);
    }

    #[test]
    fn files_follow_the_script() {
        let env = BTreeMap::new();
        let p = compile_script("touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600", vec![], ctx(&env));
        assert_eq!(p.timeline[0].effect, Effect::WriteFile("/tmp/healthy".into(), String::new()));
        assert_eq!(p.timeline[1], Timed { at_ms: 30_000, effect: Effect::RemoveFile("/tmp/healthy".into()) });
        assert_eq!(p.end, End::Exit { at_ms: 630_000, code: 0 });
        let (code, out) = run_once(&["cat".into(), "/tmp/healthy".into()], ctx(&env));
        assert_eq!((code, out.as_str()), (1, "cat: can't open '/tmp/healthy': No such file or directory"));
    }

    #[test]
    fn exec_form_and_unknown_programs() {
        let env = BTreeMap::new();
        let p = compile_exec(&["sleep".into(), "3600".into()], ctx(&env)).unwrap();
        assert_eq!(p.end, End::Exit { at_ms: 3_600_000, code: 0 });
        assert_eq!(compile_exec(&["python".into()], ctx(&env)), Err(UnknownProgram("python".into())));
        let p = compile_exec(&["/bin/sh".into(), "-c".into(), "echo $0 $1".into(), "a".into(), "b".into()], ctx(&env)).unwrap();
        assert_eq!(logs(&p), vec![(0, "a b".into())]);
        assert!(compile_script("echo 'unterminated", vec![], ctx(&env)).end == End::Exit { at_ms: 0, code: 2 });
    }
}
