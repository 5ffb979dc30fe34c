//! `jq` on the learner's machine: jq 1.6, as Debian 12 ships it, for the
//! tutorials' `kubectl get … -o json | jq …`. A subset of the language
//! (`parse.rs`, `eval.rs`; values in `value.rs`); builtins it lacks and
//! `def`, `label`, destructuring are refused by name when compiled.

mod eval;
mod parse;
mod value;

use std::collections::VecDeque;

use super::commands::Cmd;
use super::container_fs as cfs;
use eval::{Env, Machine, Stop, BUILTINS, UNSIMULATED};
use parse::{Ast, Part};
use value::{compact, write, Json, Reader, Style};

const HELP: &str = "jq - commandline JSON processor [version 1.6]

Usage:\tjq [options] <jq filter> [file...]
\tjq [options] --args <jq filter> [strings...]
\tjq [options] --jsonargs <jq filter> [JSON_TEXTS...]

jq is a tool for processing JSON inputs, applying the given filter to
its JSON text inputs and producing the filter's results as JSON on
standard output.

The simplest filter is ., which copies jq's input to its output
unmodified (except for formatting, but note that IEEE754 is used
for number representation internally, with all that that implies).

For more advanced filters see the jq(1) manpage (\"man jq\")
and/or https://stedolan.github.io/jq

Example:

\t$ echo '{\"foo\": 0}' | jq .
\t{
\t\t\"foo\": 0
\t}

Some of the options include:
  -c               compact instead of pretty-printed output;
  -n               use `null` as the single input value;
  -e               set the exit status code based on the output;
  -s               read (slurp) all inputs into an array; apply filter to it;
  -r               output raw strings, not JSON texts;
  -R               read raw strings, not JSON texts;
  -C               colorize JSON;
  -M               monochrome (don't colorize JSON);
  -S               sort keys of objects on output;
  --tab            use tabs for indentation;
  --arg a v        set variable $a to value <v>;
  --argjson a v    set variable $a to JSON value <v>;
  --slurpfile a f  set variable $a to an array of JSON texts read from <f>;
  --rawfile a f    set variable $a to a string consisting of the contents of <f>;
  --args           remaining arguments are string arguments, not files;
  --jsonargs       remaining arguments are JSON arguments, not files;
  --               terminates argument processing;

Named arguments are also available as $ARGS.named[], while
positional arguments are available as $ARGS.positional[].

See the manpage for more options.
";

const USAGE_HINT: &str = "Use jq --help for help with command-line options,\nor see the jq manpage, or online docs  at https://stedolan.github.io/jq\n";

struct Options {
    raw: bool,
    join: bool,
    null_input: bool,
    raw_input: bool,
    slurp: bool,
    exit_status: bool,
    style: Style,
    variables: Vec<(String, Json)>,
    filter: Option<String>,
    files: Vec<String>,
}

/// Runs `jq`; its exit status.
pub fn run(cmd: &mut Cmd) -> i32 {
    let options = match options(cmd.args) {
        Ok(o) => o,
        // `--help` and `--version` print to stdout and succeed.
        Err((message, 0)) => {
            cmd.out.push_str(&message);
            return 0;
        }
        Err((message, status)) => {
            cmd.error_text(&message);
            return status;
        }
    };
    let program = options.filter.clone().unwrap_or_else(|| ".".to_string());
    let ast = match compile(&program, &options.variables) {
        Ok(a) => a,
        Err(message) => {
            cmd.error_text(&message);
            return 3;
        }
    };
    // The input: stdin, or the files in turn (each read whole).
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut status = 0;
    if options.files.is_empty() {
        sources.push(("<stdin>".into(), cmd.stdin.to_string()));
    } else {
        for f in &options.files {
            match cfs::read_file(cmd.files, cmd.cwd, f) {
                Ok(text) => sources.push((f.clone(), text)),
                Err(e) => {
                    cmd.error_text(&format!("jq: error: Could not open file {f}: {}\n", e.message()));
                    status = 2;
                }
            }
        }
    }
    let mut inputs: VecDeque<(Json, String)> = VecDeque::new();
    let mut parse_failed = None;
    if options.raw_input {
        for (name, text) in &sources {
            if options.slurp {
                inputs.push_back((Json::String(text.clone()), name.clone()));
            } else {
                for (i, line) in text.lines().enumerate() {
                    inputs.push_back((Json::String(line.to_string()), format!("{name}:{}", i + 1)));
                }
            }
        }
        if options.slurp {
            let all: String = sources.iter().map(|(_, t)| t.as_str()).collect();
            inputs = VecDeque::from([(Json::String(all), "<stdin>:0".to_string())]);
        }
    } else {
        'files: for (name, text) in &sources {
            let mut reader = Reader::new(text);
            while let Some(next) = reader.next_value() {
                match next {
                    Ok((v, line)) => inputs.push_back((v, format!("{name}:{line}"))),
                    Err(e) => {
                        parse_failed = Some(e.0);
                        break 'files;
                    }
                }
            }
        }
        if options.slurp {
            let all = inputs.drain(..).map(|(v, _)| v).collect();
            inputs.push_back((Json::Array(all), "<unknown>".into()));
        }
    }
    let environment = Json::Object(cmd.env.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect());
    let mut env = Env::default();
    for (name, v) in &options.variables {
        env = env.bind(name, v.clone());
    }
    let machine = Machine::new(inputs, environment);
    let run_one = |cmd: &mut Cmd, input: Json, at: &str| -> i32 {
        let mut last: Option<Json> = None;
        if !options.null_input {
            *machine.read_at.borrow_mut() = Some(at.to_string());
        }
        let result = machine.eval(&ast, input, &env, &mut |v| {
            print(cmd, &v, &options);
            last = Some(v);
            Ok(())
        });
        // Past inputs `input` read, jq names the last one read.
        let read_at = machine.read_at.borrow().clone();
        let at = read_at.as_deref().unwrap_or(at);
        match result {
            // jq 1.6 says nothing of `error(null)` and goes on.
            Err(Stop::Error(Json::Null)) => 0,
            Err(Stop::Error(Json::String(message))) => {
                cmd.error_text(&format!("jq: error (at {at}): {message}\n"));
                5
            }
            Err(Stop::Error(other)) => {
                cmd.error_text(&format!("jq: error (at {at}) (not a string): {}\n", compact(&other)));
                5
            }
            _ if !options.exit_status => 0,
            _ => match last {
                None => 4,
                Some(v) if !v.truthy() => 1,
                Some(_) => 0,
            },
        }
    };
    let mut ran = None;
    if options.null_input {
        ran = Some(run_one(cmd, Json::Null, "<unknown>"));
    } else {
        loop {
            let next = machine.inputs.borrow_mut().pop_front();
            let Some((input, at)) = next else { break };
            ran = Some(run_one(cmd, input, &at));
        }
    }
    if let Some(message) = parse_failed {
        cmd.error_text(&format!("parse error: {message}\n"));
        return if options.null_input { ran.unwrap_or(0) } else { 4 };
    }
    if status != 0 {
        return status;
    }
    ran.unwrap_or(0)
}

fn print(cmd: &mut Cmd, v: &Json, options: &Options) {
    match v {
        Json::String(s) if options.raw => cmd.out.push_str(s),
        _ => write(&mut cmd.out, v, &options.style, 0),
    }
    if !options.join {
        cmd.out.push('\n');
    }
}

fn usage_error(message: &str) -> (String, i32) {
    (format!("jq: {message}\n{USAGE_HINT}"), 2)
}

fn options(args: &[String]) -> Result<Options, (String, i32)> {
    let mut o = Options {
        raw: false,
        join: false,
        null_input: false,
        raw_input: false,
        slurp: false,
        exit_status: false,
        style: Style { indent: Some(2), ..Style::default() },
        variables: Vec::new(),
        filter: None,
        files: Vec::new(),
    };
    let mut i = 0;
    let mut done = false;
    while let Some(arg) = args.get(i) {
        i += 1;
        let positional = |o: &mut Options, a: &str| {
            if o.filter.is_none() {
                o.filter = Some(a.to_string());
            } else {
                o.files.push(a.to_string());
            }
        };
        if done || !arg.starts_with('-') || arg == "-" {
            positional(&mut o, arg);
            continue;
        }
        match arg.as_str() {
            "--" => done = true,
            "--raw-output" => o.raw = true,
            "--join-output" => {
                o.raw = true;
                o.join = true;
            }
            "--compact-output" => o.style.indent = None,
            "--null-input" => o.null_input = true,
            "--raw-input" => o.raw_input = true,
            "--slurp" => o.slurp = true,
            "--sort-keys" => o.style.sort_keys = true,
            "--exit-status" => o.exit_status = true,
            "--ascii-output" => o.style.ascii = true,
            "--monochrome-output" | "--unbuffered" | "--seq" => {}
            "--tab" => {
                o.style.tab = true;
                o.style.indent = Some(1);
            }
            "--help" => return Err((HELP.to_string(), 0)),
            "--version" => return Err(("jq-1.6\n".to_string(), 0)),
            "--indent" => {
                let n = args.get(i).and_then(|n| n.parse::<i32>().ok());
                i += 1;
                match n {
                    Some(n) if (-1..=7).contains(&n) => o.style.indent = if n <= 0 { None } else { Some(n as usize) },
                    _ => return Err(usage_error("--indent takes a number between -1 and 7")),
                }
            }
            "--arg" | "--argjson" => {
                let (Some(name), Some(text)) = (args.get(i), args.get(i + 1)) else {
                    return Err(usage_error(&format!("{arg} takes two parameters (e.g. {arg} varname {})", if arg == "--arg" { "value" } else { "text" })));
                };
                i += 2;
                let value = if arg == "--arg" {
                    Json::String(text.clone())
                } else {
                    match value::parse_one(text) {
                        Ok(v) => v,
                        Err(_) => return Err(usage_error("invalid JSON text passed to --argjson")),
                    }
                };
                o.variables.push((name.clone(), value));
            }
            "--slurpfile" | "--rawfile" | "--args" | "--jsonargs" | "--color-output" | "--stream" | "--seq-" => {
                return Err((format!("jq: {arg} is not simulated here\n"), 2));
            }
            long if long.starts_with("--") => return Err(usage_error(&format!("Unknown option {long}"))),
            short => {
                for flag in short.chars().skip(1) {
                    match flag {
                        'r' => o.raw = true,
                        'j' => {
                            o.raw = true;
                            o.join = true;
                        }
                        'c' => o.style.indent = None,
                        'n' => o.null_input = true,
                        'R' => o.raw_input = true,
                        's' => o.slurp = true,
                        'S' => o.style.sort_keys = true,
                        'e' => o.exit_status = true,
                        'a' => o.style.ascii = true,
                        'M' => {}
                        'h' => return Err((HELP.to_string(), 0)),
                        'C' => return Err(("jq: -C (colored output) is not simulated here\n".to_string(), 2)),
                        _ => return Err(usage_error(&format!("Unknown option {short}"))),
                    }
                }
            }
        }
    }
    Ok(o)
}

/// Parses the filter and checks its names as jq's compiler does: every
/// function and variable must be defined.
fn compile(program: &str, variables: &[(String, Json)]) -> Result<Ast, String> {
    let ast = match parse::parse(program) {
        Ok(a) => a,
        Err(e) => {
            let mut text = located(program, &e.message, e.at);
            let count = match e.unterminated_if {
                Some(at) => {
                    text.push_str(&located(program, "Possibly unterminated 'if' statement", at));
                    2
                }
                None => 1,
            };
            text.push_str(&format!("jq: {count} compile error{}\n", if count == 1 { "" } else { "s" }));
            return Err(text);
        }
    };
    let mut errors = Vec::new();
    let mut scope: Vec<String> = variables.iter().map(|(n, _)| n.clone()).collect();
    scope.push("ENV".into());
    scope.push("__loc__".into());
    check(program, &ast, &mut scope, &mut errors);
    if errors.is_empty() {
        return Ok(ast);
    }
    let mut text = String::new();
    for (message, at) in &errors {
        text.push_str(&located(program, message, *at));
    }
    let count = errors.len();
    text.push_str(&format!("jq: {count} compile error{}\n", if count == 1 { "" } else { "s" }));
    Err(text)
}

/// Where a variable is first used in the program, for the error's pad.
fn word_offset(program: &str, word: &str) -> usize {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = program.get(from..).and_then(|rest| rest.find(word)) {
        let at = from + i;
        let before = program[..at].chars().next_back();
        let after = program[at + word.len()..].chars().next();
        let starts_word = word.starts_with('$') || !before.is_some_and(|c| ident(c) || matches!(c, '.' | '$' | '@' | '"'));
        if starts_word && !after.is_some_and(ident) {
            return at;
        }
        from = at + word.len();
    }
    0
}

/// A compile error as jq 1.6 prints it: the offending line, padded with
/// spaces to where the error is.
fn located(program: &str, message: &str, at: usize) -> String {
    let mut at = at.min(program.len());
    while !program.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = program[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = program[..at].matches('\n').count() + 1;
    let line_end = program[line_start..].find('\n').map_or(program.len(), |i| line_start + i);
    let line = &program[line_start..line_end];
    let pad = " ".repeat(program[line_start..at].chars().count());
    format!("jq: error: {message} at <top-level>, line {line_no}:\n{line}{pad}\n")
}

/// Undefined names: the message, and the name as written.
fn check(program: &str, ast: &Ast, scope: &mut Vec<String>, errors: &mut Vec<(String, usize)>) {
    let mut sub = |a: &Ast, scope: &mut Vec<String>| check(program, a, scope, errors);
    match ast {
        Ast::Identity | Ast::RecurseAll | Ast::Literal(_) => {}
        // An unknown format is found when it runs (`foo is not a valid format`).
        Ast::Format(_) => {}
        Ast::Var(name) => {
            if !scope.iter().any(|n| n == name) {
                errors.push((format!("${name} is not defined"), word_offset(program, &format!("${name}"))));
            }
        }
        Ast::Index(a, b) | Ast::Pipe(a, b) | Ast::Comma(a, b) | Ast::Binary(_, a, b) | Ast::And(a, b) | Ast::Or(a, b) | Ast::Alternative(a, b)
        | Ast::Update(_, a, b) => {
            sub(a, scope);
            sub(b, scope);
        }
        Ast::Slice(a, b, c) => {
            sub(a, scope);
            for x in [b, c].into_iter().flatten() {
                sub(x, scope);
            }
        }
        Ast::Iterate(a) | Ast::Neg(a) => sub(a, scope),
        Ast::Array(a) => {
            if let Some(a) = a {
                sub(a, scope);
            }
        }
        Ast::Try(a, b) => {
            sub(a, scope);
            if let Some(b) = b {
                sub(b, scope);
            }
        }
        Ast::Interpolated(parts, _) => {
            for p in parts {
                if let Part::Expr(e) = p {
                    sub(e, scope);
                }
            }
        }
        Ast::Object(entries) => {
            for (k, v) in entries {
                sub(k, scope);
                if let Some(v) = v {
                    sub(v, scope);
                }
            }
        }
        Ast::If(branches, otherwise) => {
            for (c, t) in branches {
                sub(c, scope);
                sub(t, scope);
            }
            if let Some(o) = otherwise {
                sub(o, scope);
            }
        }
        Ast::As(source, name, body) => {
            sub(source, scope);
            scope.push(name.clone());
            sub(body, scope);
            scope.pop();
        }
        Ast::Reduce(source, name, init, update) | Ast::Foreach(source, name, init, update, None) => {
            sub(source, scope);
            sub(init, scope);
            scope.push(name.clone());
            sub(update, scope);
            scope.pop();
        }
        Ast::Foreach(source, name, init, update, Some(extract)) => {
            sub(source, scope);
            sub(init, scope);
            scope.push(name.clone());
            sub(update, scope);
            sub(extract, scope);
            scope.pop();
        }
        Ast::Call(name, args, at) => {
            for a in args {
                sub(a, scope);
            }
            let arity = args.len();
            if !BUILTINS.iter().any(|(n, a)| n == name && *a == arity) {
                if UNSIMULATED.contains(&name.as_str()) {
                    errors.push((format!("{name}/{arity} is a jq 1.6 builtin this simulation does not have"), *at));
                } else {
                    errors.push((format!("{name}/{arity} is not defined"), *at));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
