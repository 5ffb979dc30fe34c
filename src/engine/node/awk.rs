//! `awk`: mawk 1.3.4 (Debian's `awk`, the learner's machine) and busybox's
//! applet, both as mawk behaves: BEGIN/END, patterns (expressions,
//! regexes, ranges), `-F`, `-v`, fields and NF/NR/FNR/FS/OFS/ORS,
//! print/printf, arithmetic, strings, comparisons as numbers or strings,
//! associative arrays with `for (k in a)`, `in`, `delete`, if/while/for/do,
//! next/exit/break/continue and the string and arithmetic built-ins.
//! `getline`, user functions, output redirection and pipes are refused
//! by name. `for (k in a)` visits keys in the order they were made (mawk's
//! own order follows its hash table).

use indexmap::IndexMap;
use regex_lite::Regex;
use std::collections::HashMap;

use super::commands::Cmd;
use super::container_fs as cfs;
use super::posix_regex;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Re(String),
    Name(String),
    Builtin(&'static str),
    Kw(&'static str),
    P(&'static str),
    Newline,
    Eof,
}

const KEYWORDS: [&str; 16] = ["BEGIN", "END", "if", "else", "while", "for", "do", "in", "next", "exit", "break", "continue", "print", "printf", "delete", "getline"];
const BUILTINS: [&str; 17] = ["length", "substr", "index", "split", "toupper", "tolower", "sub", "gsub", "match", "sprintf", "int", "sqrt", "exp", "log", "sin", "cos", "atan2"];
const PUNCT: &[&str] = &[
    "&&", "||", "==", "!=", "<=", ">=", "!~", "++", "--", "+=", "-=", "*=", "/=", "%=", "^=", "**", ">>", "{", "}", "(", ")", "[", "]", ";", ",", "+", "-", "*", "/",
    "%", "^", "!", ">", "<", "~", "?", ":", "=", "|",
];

/// A program error: mawk's `line N: …` text.
type Fail = String;

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, Fail> {
    let c: Vec<char> = src.chars().collect();
    let mut toks: Vec<(Tok, usize)> = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        // A `/` starts a regex where an operand is expected.
        let operand_before = matches!(toks.last(), Some((Tok::Num(_) | Tok::Str(_) | Tok::Name(_) | Tok::Builtin(_) | Tok::P(")" | "]" | "$" | "++" | "--"), _)));
        match ch {
            ' ' | '\t' | '\r' => i += 1,
            '\\' if c.get(i + 1) == Some(&'\n') => {
                i += 2;
                line += 1;
            }
            '\n' => {
                toks.push((Tok::Newline, line));
                line += 1;
                i += 1;
            }
            '#' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&x) = c.get(i) else { return Err(format!("line {line}: runaway string constant \"{s} ...")) };
                    i += 1;
                    match x {
                        '"' => break,
                        '\n' => return Err(format!("line {line}: runaway string constant \"{s} ...")),
                        '\\' => {
                            let (ch, used) = escape(&c[i..]);
                            s.push_str(&ch);
                            i += used;
                        }
                        _ => s.push(x),
                    }
                }
                toks.push((Tok::Str(s), line));
            }
            '/' if !operand_before => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&x) = c.get(i) else { return Err(format!("line {line}: runaway regular expression /{s} ...")) };
                    i += 1;
                    match x {
                        '/' => break,
                        '\n' => return Err(format!("line {line}: runaway regular expression /{s} ...")),
                        '\\' if c.get(i) == Some(&'/') => {
                            s.push('/');
                            i += 1;
                        }
                        '\\' => {
                            s.push('\\');
                            if let Some(&n) = c.get(i) {
                                s.push(n);
                                i += 1;
                            }
                        }
                        _ => s.push(x),
                    }
                }
                toks.push((Tok::Re(s), line));
            }
            '$' => {
                toks.push((Tok::P("$"), line));
                i += 1;
            }
            _ if ch.is_ascii_digit() || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                let start = i;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                    i += 1;
                }
                if i < c.len() && (c[i] == 'e' || c[i] == 'E') {
                    let mut j = i + 1;
                    if j < c.len() && (c[j] == '+' || c[j] == '-') {
                        j += 1;
                    }
                    if j < c.len() && c[j].is_ascii_digit() {
                        i = j;
                        while i < c.len() && c[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let text: String = c[start..i].iter().collect();
                toks.push((Tok::Num(leading_number(&text)), line));
            }
            _ if ch.is_alphabetic() || ch == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let tok = if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                    Tok::Kw(k)
                } else if let Some(b) = BUILTINS.iter().find(|b| **b == word) {
                    Tok::Builtin(b)
                } else {
                    match word.as_str() {
                        "function" | "func" | "return" => return Err(format!("user-defined functions (`{word}') are not simulated")),
                        "system" | "close" | "fflush" | "rand" | "srand" | "nextfile" => return Err(format!("the `{word}' function is not simulated")),
                        _ => Tok::Name(word),
                    }
                };
                toks.push((tok, line));
            }
            _ => {
                let rest: String = c[i..c.len().min(i + 2)].iter().collect();
                let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) else {
                    return Err(format!("line {line}: syntax error at or near {ch}"));
                };
                toks.push((Tok::P(if *p == "**" { "^" } else { p }), line));
                i += p.len();
            }
        }
    }
    toks.push((Tok::Eof, line));
    Ok(toks)
}

/// A backslash escape in a string (after the backslash): its text and length.
fn escape(c: &[char]) -> (String, usize) {
    let Some(&x) = c.first() else { return ("\\".into(), 0) };
    let simple = match x {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '/' => Some('/'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        _ => None,
    };
    if let Some(s) = simple {
        return (s.to_string(), 1);
    }
    let octal: String = c.iter().take(3).take_while(|d| ('0'..='7').contains(*d)).collect();
    if !octal.is_empty() {
        let v = u32::from_str_radix(&octal, 8).unwrap_or(0);
        return (char::from_u32(v).map(String::from).unwrap_or_default(), octal.len());
    }
    (format!("\\{x}"), 1)
}

fn unescape_str(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\\' {
            let (t, used) = escape(&c[i + 1..]);
            out.push_str(&t);
            i += 1 + used;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Expr {
    Num(f64),
    Str(String),
    Re(usize),
    Var(String),
    Field(Box<Expr>),
    Index(String, Vec<Expr>),
    Assign(Box<Expr>, Option<&'static str>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    In(Vec<Expr>, String),
    Match(bool, Box<Expr>, Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
    Concat(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Plus(Box<Expr>),
    /// `++x` (pre, +1), `x--` (post, -1)…
    Incr(bool, f64, Box<Expr>),
    Call(&'static str, Vec<Expr>),
    /// `(a, b)`: only before `in`.
    Grouping(Vec<Expr>),
}

#[derive(Clone, Debug)]
enum Stmt {
    Expr(Expr),
    Print(Vec<Expr>),
    Printf(Vec<Expr>),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    Do(Box<Stmt>, Expr),
    For(Option<Box<Stmt>>, Option<Expr>, Option<Box<Stmt>>, Box<Stmt>),
    ForIn(String, String, Box<Stmt>),
    Block(Vec<Stmt>),
    Next,
    Exit(Option<Expr>),
    Break,
    Continue,
    Delete(String, Option<Vec<Expr>>),
}

enum Pattern {
    Begin,
    End,
    All,
    When(Expr),
    Range(Expr, Expr),
}

struct Item {
    pattern: Pattern,
    action: Option<Vec<Stmt>>,
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    regexes: Vec<Regex>,
    /// Inside `print`'s arguments: `>` is a redirection, not a comparison.
    printing: bool,
    /// Not inside a `for (… in …)` head: `in` is an operator.
    no_in: bool,
    /// How deep the parse has recursed: a deeper text is refused, not a stack overflow.
    depth: usize,
    /// Links of the left-nested chains being parsed.
    links: usize,
}

/// Nesting a program may have (parentheses, unary operators, blocks).
const NESTING_LIMIT: usize = 64;

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |t| &t.0)
    }
    fn line(&self) -> usize {
        self.toks.get(self.pos).map_or(1, |t| t.1)
    }
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::P(x) if *x == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Kw(x) if *x == k)
    }
    fn eat(&mut self, p: &str) -> bool {
        let hit = self.is(p);
        if hit {
            self.pos += 1;
        }
        hit
    }
    fn error(&self) -> Fail {
        let line = self.line();
        let near = match self.peek() {
            Tok::Num(n) => number_text(*n, "%.6g"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Re(r) => format!("/{r}/"),
            Tok::Name(n) => n.clone(),
            Tok::Builtin(b) | Tok::Kw(b) | Tok::P(b) => b.to_string(),
            Tok::Newline => "end of line".into(),
            Tok::Eof => return format!("line {line}: syntax error at or near end of file"),
        };
        format!("line {line}: syntax error at or near {near}")
    }
    fn expect(&mut self, p: &str) -> Result<(), Fail> {
        if self.eat(p) {
            Ok(())
        } else if matches!(self.peek(), Tok::Eof) && p == "}" {
            Err(format!("line {}: missing }} near end of file", self.line() + 1))
        } else {
            Err(self.error())
        }
    }
    fn newlines(&mut self) {
        while matches!(self.peek(), Tok::Newline) {
            self.pos += 1;
        }
    }
    fn terminators(&mut self) {
        while matches!(self.peek(), Tok::Newline) || self.is(";") {
            self.pos += 1;
        }
    }

    fn program(&mut self) -> Result<Vec<Item>, Fail> {
        let mut items = Vec::new();
        loop {
            self.terminators();
            if matches!(self.peek(), Tok::Eof) {
                return Ok(items);
            }
            let pattern = if self.is_kw("BEGIN") {
                self.pos += 1;
                Pattern::Begin
            } else if self.is_kw("END") {
                self.pos += 1;
                Pattern::End
            } else if self.is("{") {
                Pattern::All
            } else {
                let first = self.expr()?;
                if self.eat(",") {
                    self.newlines();
                    Pattern::Range(first, self.expr()?)
                } else {
                    Pattern::When(first)
                }
            };
            let action = if self.is("{") {
                Some(self.block()?)
            } else if matches!(pattern, Pattern::Begin | Pattern::End) {
                return Err(self.error());
            } else {
                None
            };
            items.push(Item { pattern, action });
        }
    }

    fn block(&mut self) -> Result<Vec<Stmt>, Fail> {
        self.expect("{")?;
        let mut body = Vec::new();
        loop {
            self.terminators();
            if self.eat("}") {
                return Ok(body);
            }
            if matches!(self.peek(), Tok::Eof) {
                // mawk counts the end of the text as a line of its own.
                return Err(format!("line {}: missing }} near end of file", self.line() + 1));
            }
            body.push(self.statement()?);
        }
    }

    /// A simple statement's end: `;`, a newline, or a `}` left for the block.
    fn end_simple(&mut self) -> Result<(), Fail> {
        if self.eat(";") || matches!(self.peek(), Tok::Newline) || self.is("}") || matches!(self.peek(), Tok::Eof) {
            return Ok(());
        }
        Err(self.error())
    }

    fn body(&mut self) -> Result<Box<Stmt>, Fail> {
        self.newlines();
        if self.eat(";") {
            return Ok(Box::new(Stmt::Block(Vec::new())));
        }
        Ok(Box::new(self.statement()?))
    }

    fn statement(&mut self) -> Result<Stmt, Fail> {
        self.nested(Self::statement_at)
    }

    fn statement_at(&mut self) -> Result<Stmt, Fail> {
        if self.is("{") {
            return Ok(Stmt::Block(self.block()?));
        }
        let Tok::Kw(k) = self.peek().clone() else {
            let e = self.expr()?;
            self.end_simple()?;
            return Ok(Stmt::Expr(e));
        };
        self.pos += 1;
        let stmt = match k {
            "if" => {
                self.expect("(")?;
                let cond = self.expr()?;
                self.expect(")")?;
                let then = self.body()?;
                // `else` may follow on a later line, after the `;` ending `then`.
                let save = self.pos;
                self.terminators();
                if self.is_kw("else") {
                    self.pos += 1;
                    let other = self.body()?;
                    return Ok(Stmt::If(cond, then, Some(other)));
                }
                self.pos = save;
                return Ok(Stmt::If(cond, then, None));
            }
            "while" => {
                self.expect("(")?;
                let cond = self.expr()?;
                self.expect(")")?;
                if self.is(";") {
                    self.pos += 1;
                    return Ok(Stmt::While(cond, Box::new(Stmt::Block(Vec::new()))));
                }
                return Ok(Stmt::While(cond, self.body()?));
            }
            "do" => {
                let body = self.body()?;
                self.terminators();
                if !self.is_kw("while") {
                    return Err(self.error());
                }
                self.pos += 1;
                self.expect("(")?;
                let cond = self.expr()?;
                self.expect(")")?;
                Stmt::Do(body, cond)
            }
            "for" => {
                self.expect("(")?;
                if let (Tok::Name(var), Tok::Kw("in"), Tok::Name(array), Tok::P(")")) =
                    (self.peek().clone(), self.toks.get(self.pos + 1).map_or(Tok::Eof, |t| t.0.clone()), self.toks.get(self.pos + 2).map_or(Tok::Eof, |t| t.0.clone()), self.toks.get(self.pos + 3).map_or(Tok::Eof, |t| t.0.clone()))
                {
                    self.pos += 4;
                    return Ok(Stmt::ForIn(var, array, self.body()?));
                }
                let init = if self.is(";") { None } else { Some(Box::new(self.simple()?)) };
                self.expect(";")?;
                self.newlines();
                let cond = if self.is(";") { None } else { Some(self.expr()?) };
                self.expect(";")?;
                self.newlines();
                let step = if self.is(")") { None } else { Some(Box::new(self.simple()?)) };
                self.expect(")")?;
                return Ok(Stmt::For(init, cond, step, self.body()?));
            }
            "next" => Stmt::Next,
            "break" => Stmt::Break,
            "continue" => Stmt::Continue,
            "exit" => {
                let code = if self.is(";") || self.is("}") || matches!(self.peek(), Tok::Newline | Tok::Eof) { None } else { Some(self.expr()?) };
                Stmt::Exit(code)
            }
            "delete" => {
                let Tok::Name(array) = self.next() else { return Err(self.error()) };
                if self.eat("[") {
                    let keys = self.expr_list("]")?;
                    Stmt::Delete(array, Some(keys))
                } else {
                    Stmt::Delete(array, None)
                }
            }
            "print" | "printf" => {
                self.printing = true;
                let args = if self.is(";") || self.is("}") || matches!(self.peek(), Tok::Newline | Tok::Eof) {
                    Vec::new()
                } else if self.is("(") {
                    // `print (a, b)` or `print (a) b`: a parenthesised list, or an expression.
                    let save = self.pos;
                    self.pos += 1;
                    let list = self.expr_list(")");
                    let ends = self.is(";") || self.is("}") || self.is(">") || self.is("|") || matches!(self.peek(), Tok::Newline | Tok::Eof);
                    match list {
                        Ok(l) if ends => l,
                        _ => {
                            self.pos = save;
                            self.print_args()?
                        }
                    }
                } else {
                    self.print_args()?
                };
                self.printing = false;
                if self.is(">") || self.is(">>") || self.is("|") {
                    return Err(format!("output redirection (`{k} … {}') is not simulated", if self.is("|") { "|" } else { ">" }));
                }
                if k == "printf" && args.is_empty() {
                    return Err(self.error());
                }
                if k == "print" { Stmt::Print(args) } else { Stmt::Printf(args) }
            }
            "getline" => return Err("`getline' is not simulated".into()),
            _ => {
                self.pos -= 1;
                return Err(self.error());
            }
        };
        self.end_simple()?;
        Ok(stmt)
    }

    fn simple(&mut self) -> Result<Stmt, Fail> {
        Ok(Stmt::Expr(self.expr()?))
    }

    fn print_args(&mut self) -> Result<Vec<Expr>, Fail> {
        let mut args = vec![self.expr()?];
        while self.eat(",") {
            self.newlines();
            args.push(self.expr()?);
        }
        Ok(args)
    }

    fn expr_list(&mut self, close: &str) -> Result<Vec<Expr>, Fail> {
        let saved = (self.printing, self.no_in);
        self.printing = false;
        self.no_in = false;
        let mut list = Vec::new();
        if !self.is(close) {
            list.push(self.expr()?);
            while self.eat(",") {
                self.newlines();
                list.push(self.expr()?);
            }
        }
        (self.printing, self.no_in) = saved;
        self.expect(close)?;
        Ok(list)
    }

    fn expr(&mut self) -> Result<Expr, Fail> {
        self.nested(Self::ternary)
    }

    /// One more link of a left-nested chain (`a b c …`, `1+1+…`): evaluating
    /// it recurses as deep as the chain is long.
    fn chain(&mut self) -> Result<(), Fail> {
        self.links += 1;
        if self.links >= NESTING_LIMIT * 4 {
            return Err(format!("line {}: the program nests deeper than the simulation allows", self.line()));
        }
        Ok(())
    }

    fn nested<T>(&mut self, parse: fn(&mut Self) -> Result<T, Fail>) -> Result<T, Fail> {
        if self.depth >= NESTING_LIMIT {
            return Err(format!("line {}: the program nests deeper than the simulation allows", self.line()));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn ternary(&mut self) -> Result<Expr, Fail> {
        let cond = self.or()?;
        if self.eat("?") {
            self.newlines();
            let a = self.nested(Self::ternary)?;
            self.newlines();
            self.expect(":")?;
            self.newlines();
            let b = self.nested(Self::ternary)?;
            return Ok(Expr::Cond(Box::new(cond), Box::new(a), Box::new(b)));
        }
        if let Tok::P(op @ ("=" | "+=" | "-=" | "*=" | "/=" | "%=" | "^=")) = self.peek().clone() {
            if matches!(cond, Expr::Var(_) | Expr::Field(_) | Expr::Index(..)) {
                self.pos += 1;
                self.newlines();
                let value = self.nested(Self::ternary)?;
                let op = if op == "=" { None } else { Some(&op[..1]) }.map(|o| match o {
                    "+" => "+",
                    "-" => "-",
                    "*" => "*",
                    "/" => "/",
                    "%" => "%",
                    _ => "^",
                });
                return Ok(Expr::Assign(Box::new(cond), op, Box::new(value)));
            }
        }
        Ok(cond)
    }

    fn or(&mut self) -> Result<Expr, Fail> {
        let mut left = self.and()?;
        let base = self.links;
        while self.eat("||") {
            self.newlines();
            self.chain()?;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        self.links = base;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Fail> {
        let mut left = self.in_expr()?;
        let base = self.links;
        while self.eat("&&") {
            self.newlines();
            self.chain()?;
            left = Expr::And(Box::new(left), Box::new(self.in_expr()?));
        }
        self.links = base;
        Ok(left)
    }

    fn in_expr(&mut self) -> Result<Expr, Fail> {
        let mut left = self.matching()?;
        let base = self.links;
        while !self.no_in && self.is_kw("in") {
            self.pos += 1;
            self.chain()?;
            let Tok::Name(array) = self.next() else { return Err(self.error()) };
            let keys = match left {
                Expr::Grouping(list) => list,
                other => vec![other],
            };
            left = Expr::In(keys, array);
        }
        self.links = base;
        Ok(left)
    }

    fn matching(&mut self) -> Result<Expr, Fail> {
        let mut left = self.comparison()?;
        let base = self.links;
        loop {
            let negate = if self.eat("~") {
                false
            } else if self.eat("!~") {
                true
            } else {
                self.links = base;
                return Ok(left);
            };
            self.chain()?;
            left = Expr::Match(negate, Box::new(left), Box::new(self.comparison()?));
        }
    }

    fn comparison(&mut self) -> Result<Expr, Fail> {
        let left = self.concat()?;
        let op = match self.peek() {
            Tok::P(op @ ("<" | "<=" | "==" | "!=" | ">=")) => *op,
            Tok::P(">") if !self.printing => ">",
            _ => return Ok(left),
        };
        self.pos += 1;
        Ok(Expr::Bin(op, Box::new(left), Box::new(self.concat()?)))
    }

    fn starts_operand(&self) -> bool {
        match self.peek() {
            Tok::Num(_) | Tok::Str(_) | Tok::Re(_) | Tok::Name(_) | Tok::Builtin(_) => true,
            Tok::P(p) => matches!(*p, "$" | "!" | "(" | "-" | "+" | "++" | "--"),
            _ => false,
        }
    }

    fn concat(&mut self) -> Result<Expr, Fail> {
        let mut left = self.additive()?;
        let base = self.links;
        // Juxtaposed operands concatenate (`in` ends it: `(k) in a`).
        while self.starts_operand() && !self.is("!") {
            self.chain()?;
            left = Expr::Concat(Box::new(left), Box::new(self.additive()?));
        }
        self.links = base;
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, Fail> {
        let mut left = self.multiplicative()?;
        let base = self.links;
        loop {
            let op = if self.is("+") {
                "+"
            } else if self.is("-") {
                "-"
            } else {
                self.links = base;
                return Ok(left);
            };
            self.pos += 1;
            self.chain()?;
            left = Expr::Bin(op, Box::new(left), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, Fail> {
        let mut left = self.unary()?;
        let base = self.links;
        loop {
            let op = match self.peek() {
                Tok::P(op @ ("*" | "/" | "%")) => *op,
                _ => {
                    self.links = base;
                    return Ok(left);
                }
            };
            self.pos += 1;
            self.chain()?;
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, Fail> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.nested(Self::unary)?)));
        }
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.nested(Self::unary)?)));
        }
        if self.eat("+") {
            return Ok(Expr::Plus(Box::new(self.nested(Self::unary)?)));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, Fail> {
        let base = self.postfix()?;
        if self.eat("^") {
            // Right-associative, and binds tighter than a unary minus on its left.
            let exponent = if self.eat("-") { Expr::Neg(Box::new(self.nested(Self::power)?)) } else { self.nested(Self::power)? };
            return Ok(Expr::Bin("^", Box::new(base), Box::new(exponent)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> Result<Expr, Fail> {
        for (op, delta) in [("++", 1.0), ("--", -1.0)] {
            if self.eat(op) {
                let target = self.nested(Self::postfix)?;
                if !matches!(target, Expr::Var(_) | Expr::Field(_) | Expr::Index(..)) {
                    return Err(self.error());
                }
                return Ok(Expr::Incr(true, delta, Box::new(target)));
            }
        }
        let e = self.primary()?;
        if matches!(e, Expr::Var(_) | Expr::Field(_) | Expr::Index(..)) {
            for (op, delta) in [("++", 1.0), ("--", -1.0)] {
                if self.eat(op) {
                    return Ok(Expr::Incr(false, delta, Box::new(e)));
                }
            }
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, Fail> {
        let tok = self.next();
        Ok(match tok {
            Tok::Num(n) => Expr::Num(n),
            Tok::Str(s) => Expr::Str(s),
            Tok::Re(r) => {
                let re = posix_regex::compile(&r, true, false).map_err(|e| format!("regular expression compile failed ({e})\n{r}"))?;
                self.regexes.push(re);
                Expr::Re(self.regexes.len() - 1)
            }
            Tok::P("$") => {
                // `$` binds tighter than everything but grouping and increments.
                let inner = if self.eat("++") || self.eat("--") {
                    self.pos -= 1;
                    self.postfix()?
                } else if self.eat("-") {
                    Expr::Neg(Box::new(self.nested(Self::primary)?))
                } else {
                    self.nested(Self::primary)?
                };
                Expr::Field(Box::new(inner))
            }
            Tok::P("(") => {
                let list = self.expr_list(")")?;
                match <[Expr; 1]>::try_from(list) {
                    Ok([one]) => one,
                    Err(list) if !list.is_empty() && self.is_kw("in") => Expr::Grouping(list),
                    Err(_) => {
                        self.pos -= 1;
                        return Err(self.error());
                    }
                }
            }
            Tok::Name(name) => {
                if self.eat("[") {
                    Expr::Index(name, self.expr_list("]")?)
                } else {
                    Expr::Var(name)
                }
            }
            Tok::Builtin(b) => {
                if self.is("(") {
                    self.pos += 1;
                    let args = self.expr_list(")")?;
                    Expr::Call(b, args)
                } else if b == "length" {
                    Expr::Call(b, Vec::new())
                } else {
                    return Err(self.error());
                }
            }
            Tok::Kw("getline") => return Err("`getline' is not simulated".into()),
            _ => {
                self.pos -= 1;
                return Err(self.error());
            }
        })
    }
}

/// A value: a number, a string, or input text that compares as a number when it looks like one.
#[derive(Clone, Debug)]
enum Val {
    Num(f64),
    Str(String),
    Input(String),
    Unset,
}

/// The number a string starts with, as strtod reads it (0 when none).
fn leading_number(s: &str) -> f64 {
    let t = s.trim_start_matches([' ', '\t', '\n']);
    let b = t.as_bytes();
    let mut end = 0;
    if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    if end < b.len() && b[end] == b'.' {
        end += 1;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start || (end == digits_start + 1 && b.get(digits_start) == Some(&b'.')) {
        return 0.0;
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        if e < b.len() && b[e].is_ascii_digit() {
            while e < b.len() && b[e].is_ascii_digit() {
                e += 1;
            }
            end = e;
        }
    }
    t.get(..end).and_then(|n| n.parse().ok()).unwrap_or(0.0)
}

/// Whether input text is wholly a number (then it compares as one).
fn looks_numeric(s: &str) -> bool {
    let t = s.trim_matches([' ', '\t', '\n']);
    !t.is_empty() && t.parse::<f64>().is_ok() && !t.contains(['i', 'I', 'n', 'N', 'x', 'X'])
}

const MAX_INT: f64 = 2_147_483_647.0;

/// A number as text: integral values within mawk's int range as integers, others through `fmt`.
fn number_text(n: f64, fmt: &str) -> String {
    if n == n.trunc() && n.abs() <= MAX_INT {
        return format!("{}", n as i64);
    }
    format_printf(fmt, &[Val::Num(n)])
}

impl Val {
    fn num(&self) -> f64 {
        match self {
            Val::Num(n) => *n,
            Val::Str(s) | Val::Input(s) => leading_number(s),
            Val::Unset => 0.0,
        }
    }
    fn text(&self, convfmt: &str) -> String {
        match self {
            Val::Num(n) => number_text(*n, convfmt),
            Val::Str(s) | Val::Input(s) => s.clone(),
            Val::Unset => String::new(),
        }
    }
    fn truth(&self) -> bool {
        match self {
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Input(s) => if looks_numeric(s) { leading_number(s) != 0.0 } else { !s.is_empty() },
            Val::Unset => false,
        }
    }
    fn numeric(&self) -> bool {
        match self {
            Val::Num(_) | Val::Unset => true,
            Val::Input(s) => looks_numeric(s),
            Val::Str(_) => false,
        }
    }
}

/// C printf's `%[flags][width][.prec]conv` for awk's `printf` and `sprintf`.
fn format_printf(fmt: &str, args: &[Val]) -> String {
    let c: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut args = args.iter();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '%' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut flags = String::new();
        while i < c.len() && "-+ #0".contains(c[i]) {
            flags.push(c[i]);
            i += 1;
        }
        let mut number = |i: &mut usize| -> Option<usize> {
            if c.get(*i) == Some(&'*') {
                *i += 1;
                return Some(args.next().map_or(0.0, Val::num).max(0.0) as usize);
            }
            let s = *i;
            while *i < c.len() && c[*i].is_ascii_digit() {
                *i += 1;
            }
            c[s..*i].iter().collect::<String>().parse().ok()
        };
        let width = number(&mut i).unwrap_or(0).min(1 << 16);
        let precision = if c.get(i) == Some(&'.') {
            i += 1;
            Some(number(&mut i).unwrap_or(0).min(1 << 8))
        } else {
            None
        };
        let Some(&conv) = c.get(i) else {
            out.extend(&c[start..]);
            break;
        };
        i += 1;
        let arg = || args.clone().next().cloned().unwrap_or(Val::Unset);
        let body = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' => {
                let n = arg().num().trunc().clamp(-MAX_INT, MAX_INT) as i64;
                let digits = n.unsigned_abs().to_string();
                let digits = match precision {
                    Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                    _ => digits,
                };
                sign(n < 0, &flags) + &digits
            }
            'o' | 'x' | 'X' | 'u' | 'c' => {
                let v = arg();
                match conv {
                    'c' => match &v {
                        Val::Num(n) => char::from_u32(*n as u32).map(String::from).unwrap_or_default(),
                        other => other.text("%.6g").chars().next().map(String::from).unwrap_or_default(),
                    },
                    _ => {
                        let n = v.num().trunc().clamp(-MAX_INT, MAX_INT) as i64 as u32;
                        match conv {
                            'o' => format!("{n:o}"),
                            'x' => format!("{n:x}"),
                            'X' => format!("{n:X}"),
                            _ => n.to_string(),
                        }
                    }
                }
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let n = arg().num();
                sign(n.is_sign_negative() && n != 0.0 || n.is_sign_negative() && n.is_nan(), &flags) + &float(n.abs(), conv, precision.unwrap_or(6), flags.contains('#'))
            }
            's' => {
                let s = arg().text("%.6g");
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            other => {
                out.extend(&c[start..i]);
                let _ = other;
                continue;
            }
        };
        args.next();
        let len = body.chars().count();
        let pad = width.saturating_sub(len);
        if flags.contains('-') {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if flags.contains('0') && !matches!(conv, 's' | 'c') && (precision.is_none() || !matches!(conv, 'd' | 'i')) {
            let (sign_part, digits) = body.split_at(body.find(|ch: char| ch.is_ascii_digit() || ch == 'i' || ch == 'n').unwrap_or(0));
            out.push_str(sign_part);
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&body);
        }
    }
    out
}

fn sign(negative: bool, flags: &str) -> String {
    if negative {
        "-".into()
    } else if flags.contains('+') {
        "+".into()
    } else if flags.contains(' ') {
        " ".into()
    } else {
        String::new()
    }
}

/// `%f`, `%e` and `%g` of a non-negative number, as C prints them.
pub(crate) fn float(n: f64, conv: char, precision: usize, alternate: bool) -> String {
    if n.is_infinite() {
        return if conv.is_ascii_uppercase() { "INF".into() } else { "inf".into() };
    }
    if n.is_nan() {
        return if conv.is_ascii_uppercase() { "NAN".into() } else { "nan".into() };
    }
    let exp_form = |p: usize| {
        let s = format!("{n:.p$e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = exponent.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    };
    let text = match conv.to_ascii_lowercase() {
        'f' => format!("{n:.precision$}"),
        'e' => exp_form(precision),
        _ => {
            let p = precision.max(1);
            let rounded = format!("{n:.prec$e}", prec = p - 1);
            let x: i32 = rounded.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
            let mut s = if x < -4 || x >= p as i32 { exp_form(p - 1) } else { format!("{n:.prec$}", prec = (p as i32 - 1 - x).max(0) as usize) };
            if !alternate {
                let (mantissa, rest) = match s.find('e') {
                    Some(at) => (s[..at].to_string(), s[at..].to_string()),
                    None => (s.clone(), String::new()),
                };
                if mantissa.contains('.') {
                    s = format!("{}{rest}", mantissa.trim_end_matches('0').trim_end_matches('.'));
                }
            }
            s
        }
    };
    if conv.is_ascii_uppercase() { text.to_uppercase() } else { text }
}

/// How a statement ended.
enum Flow {
    Normal,
    Next,
    Exit,
    Break,
    Continue,
}

/// Work one run may do before it stops (a loop without end must not hang the page).
const STEP_LIMIT: u64 = 5_000_000;
/// Output one run may print.
const OUTPUT_LIMIT: usize = 1 << 22;

struct Machine<'p> {
    regexes: &'p [Regex],
    dynamic: HashMap<String, Regex>,
    vars: HashMap<String, Val>,
    arrays: HashMap<String, IndexMap<String, Val>>,
    record: String,
    fields: Vec<String>,
    out: String,
    exit_code: i32,
    steps: u64,
    error: Option<String>,
}

impl Machine<'_> {
    fn var(&self, name: &str) -> Val {
        if name == "NF" {
            return Val::Num(self.fields.len() as f64);
        }
        self.vars.get(name).cloned().unwrap_or(Val::Unset)
    }
    fn sv(&self, name: &str) -> String {
        self.var(name).text("%.6g")
    }
    fn convfmt(&self) -> String {
        self.sv("CONVFMT")
    }

    fn set_record(&mut self, text: String) {
        self.fields = split_fields(&text, &self.sv("FS"), self);
        self.record = text;
    }

    fn rebuild(&mut self) {
        self.record = self.fields.join(&self.sv("OFS"));
    }

    fn field(&self, n: usize) -> String {
        if n == 0 {
            return self.record.clone();
        }
        self.fields.get(n - 1).cloned().unwrap_or_default()
    }

    fn fail(&mut self, text: String) {
        if self.error.is_none() {
            self.error = Some(text);
        }
    }

    fn regex(&mut self, pattern: &str) -> Option<Regex> {
        if let Some(re) = self.dynamic.get(pattern) {
            return Some(re.clone());
        }
        match posix_regex::compile(pattern, true, false) {
            Ok(re) => {
                if self.dynamic.len() < 256 {
                    self.dynamic.insert(pattern.to_string(), re.clone());
                }
                Some(re)
            }
            Err(e) => {
                self.fail(format!("regular expression compile failed ({e})\n{pattern}"));
                None
            }
        }
    }

    fn regex_of(&mut self, e: &Expr) -> Option<Regex> {
        if let Expr::Re(i) = e {
            return self.regexes.get(*i).cloned();
        }
        let pattern = self.eval(e).text(&self.convfmt());
        self.regex(&pattern)
    }

    fn key(&mut self, keys: &[Expr]) -> String {
        let fmt = self.convfmt();
        let parts: Vec<String> = keys.iter().map(|k| self.eval(k).text(&fmt)).collect();
        parts.join(&self.sv("SUBSEP"))
    }

    fn assign(&mut self, target: &Expr, value: Val) {
        match target {
            Expr::Var(name) if name == "NF" => {
                let n = value.num().max(0.0) as usize;
                self.fields.resize(n.min(1 << 16), String::new());
                self.rebuild();
            }
            Expr::Var(name) => {
                self.vars.insert(name.clone(), value);
            }
            Expr::Field(index) => {
                let n = self.eval(index).num().max(0.0) as usize;
                let text = value.text(&self.convfmt());
                if n == 0 {
                    self.set_record(text);
                } else if n <= 1 << 16 {
                    if self.fields.len() < n {
                        self.fields.resize(n, String::new());
                    }
                    if let Some(f) = self.fields.get_mut(n - 1) {
                        *f = text;
                    }
                    self.rebuild();
                }
            }
            Expr::Index(array, keys) => {
                let key = self.key(keys);
                self.arrays.entry(array.clone()).or_default().insert(key, value);
            }
            _ => {}
        }
    }

    fn eval(&mut self, e: &Expr) -> Val {
        self.steps += 1;
        match e {
            Expr::Num(n) => Val::Num(*n),
            Expr::Str(s) => Val::Str(s.clone()),
            Expr::Re(i) => {
                let hit = self.regexes.get(*i).is_some_and(|re| re.is_match(&self.record));
                Val::Num(hit as u8 as f64)
            }
            Expr::Var(name) => self.var(name),
            Expr::Field(index) => {
                let n = self.eval(index).num();
                if n < 0.0 {
                    self.fail(format!("$({}) is negative", number_text(n, "%.6g")));
                    return Val::Unset;
                }
                Val::Input(self.field(n as usize))
            }
            Expr::Index(array, keys) => {
                let key = self.key(keys);
                self.arrays.entry(array.clone()).or_default().entry(key).or_insert(Val::Unset).clone()
            }
            Expr::Assign(target, op, value) => {
                let v = self.eval(value);
                let v = match op {
                    None => v,
                    Some(op) => Val::Num(arith(op, self.eval(target).num(), v.num())),
                };
                let v = if let Val::Unset = v { Val::Str(String::new()) } else { v };
                self.assign(target, v.clone());
                v
            }
            Expr::Cond(c, a, b) => {
                if self.eval(c).truth() {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Expr::And(a, b) => Val::Num((self.eval(a).truth() && self.eval(b).truth()) as u8 as f64),
            Expr::Or(a, b) => Val::Num((self.eval(a).truth() || self.eval(b).truth()) as u8 as f64),
            Expr::Not(a) => Val::Num(!self.eval(a).truth() as u8 as f64),
            Expr::In(keys, array) => {
                let key = self.key(keys);
                Val::Num(self.arrays.get(array).is_some_and(|a| a.contains_key(&key)) as u8 as f64)
            }
            Expr::Match(negate, text, re) => {
                let s = self.eval(text).text(&self.convfmt());
                let hit = self.regex_of(re).is_some_and(|r| r.is_match(&s));
                Val::Num((hit != *negate) as u8 as f64)
            }
            Expr::Bin(op, a, b) => {
                let (x, y) = (self.eval(a), self.eval(b));
                if matches!(*op, "<" | "<=" | "==" | "!=" | ">" | ">=") {
                    let ord = if x.numeric() && y.numeric() {
                        x.num().partial_cmp(&y.num())
                    } else {
                        let fmt = self.convfmt();
                        Some(x.text(&fmt).cmp(&y.text(&fmt)))
                    };
                    use std::cmp::Ordering::*;
                    let hit = match (*op, ord) {
                        ("<", Some(Less)) | ("<=", Some(Less | Equal)) | ("==", Some(Equal)) | (">", Some(Greater)) | (">=", Some(Greater | Equal)) => true,
                        ("!=", o) => o != Some(Equal),
                        _ => false,
                    };
                    return Val::Num(hit as u8 as f64);
                }
                Val::Num(arith(op, x.num(), y.num()))
            }
            Expr::Concat(a, b) => {
                let fmt = self.convfmt();
                let mut s = self.eval(a).text(&fmt);
                s.push_str(&self.eval(b).text(&fmt));
                if s.len() > OUTPUT_LIMIT {
                    self.fail("a string grew past the simulation's limit".into());
                    s.truncate(0);
                }
                Val::Str(s)
            }
            Expr::Neg(a) => Val::Num(-self.eval(a).num()),
            Expr::Plus(a) => Val::Num(self.eval(a).num()),
            Expr::Incr(pre, delta, target) => {
                let old = self.eval(target).num();
                self.assign(target, Val::Num(old + delta));
                Val::Num(if *pre { old + delta } else { old })
            }
            Expr::Grouping(list) => {
                let key = self.key(list);
                Val::Str(key)
            }
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> Val {
        let fmt = self.convfmt();
        let arity_ok = match name {
            "length" => args.len() <= 1,
            "substr" => (2..=3).contains(&args.len()),
            "split" | "sub" | "gsub" => (2..=3).contains(&args.len()),
            "index" | "match" | "atan2" => args.len() == 2,
            "sprintf" => !args.is_empty(),
            _ => args.len() == 1,
        };
        if !arity_ok {
            self.fail(format!("wrong number of arguments in call to {name}"));
            return Val::Unset;
        }
        let text = |m: &mut Self, i: usize| args.get(i).map(|a| m.eval(a).text(&fmt)).unwrap_or_default();
        let num = |m: &mut Self, i: usize| args.get(i).map(|a| m.eval(a).num()).unwrap_or(0.0);
        match name {
            "length" => match args.first() {
                None => Val::Num(self.record.chars().count() as f64),
                Some(Expr::Var(a)) if self.arrays.contains_key(a) => Val::Num(self.arrays.get(a).map_or(0, IndexMap::len) as f64),
                Some(_) => Val::Num(text(self, 0).chars().count() as f64),
            },
            "substr" => {
                let s: Vec<char> = text(self, 0).chars().collect();
                // POSIX's rounding of start and length, over the characters 1..=len.
                let start = num(self, 1).round();
                let end = if args.len() == 3 { start + num(self, 2).round() } else { f64::INFINITY };
                let from = start.max(1.0);
                let to = end.min(s.len() as f64 + 1.0);
                if to <= from {
                    return Val::Str(String::new());
                }
                Val::Str(s[(from as usize - 1)..(to as usize - 1)].iter().collect())
            }
            "index" => {
                let (s, t) = (text(self, 0), text(self, 1));
                Val::Num(s.find(&t).map_or(0, |at| s[..at].chars().count() + 1) as f64)
            }
            "split" => {
                let s = text(self, 0);
                let Some(Expr::Var(array)) = args.get(1) else {
                    self.fail("split: the second argument must be an array".into());
                    return Val::Unset;
                };
                let sep = if args.len() == 3 { text(self, 2) } else { self.sv("FS") };
                let parts = split_fields(&s, &sep, self);
                let n = parts.len();
                let table = parts.into_iter().enumerate().map(|(i, p)| ((i + 1).to_string(), Val::Input(p))).collect();
                self.arrays.insert(array.clone(), table);
                Val::Num(n as f64)
            }
            "toupper" => Val::Str(text(self, 0).to_uppercase()),
            "tolower" => Val::Str(text(self, 0).to_lowercase()),
            "sub" | "gsub" => {
                let Some(re) = args.first().and_then(|a| self.regex_of(a)) else { return Val::Num(0.0) };
                let with = text(self, 1);
                let target = args.get(2).cloned().unwrap_or(Expr::Field(Box::new(Expr::Num(0.0))));
                if !matches!(target, Expr::Var(_) | Expr::Field(_) | Expr::Index(..)) {
                    self.fail(format!("{name}: the third argument must be a variable, field or array element"));
                    return Val::Unset;
                }
                let s = self.eval(&target).text(&fmt);
                let (result, count) = replace(&re, &s, &with, name == "gsub");
                if count > 0 {
                    self.assign(&target, Val::Str(result));
                }
                Val::Num(count as f64)
            }
            "match" => {
                let s = text(self, 0);
                let found = args.get(1).and_then(|a| self.regex_of(a)).and_then(|re| re.find(&s).map(|m| (m.start(), m.end())));
                let (start, len) = match found {
                    Some((a, b)) => (s[..a].chars().count() as f64 + 1.0, s[a..b].chars().count() as f64),
                    None => (0.0, -1.0),
                };
                self.vars.insert("RSTART".into(), Val::Num(start));
                self.vars.insert("RLENGTH".into(), Val::Num(len));
                Val::Num(start)
            }
            "sprintf" => {
                let values: Vec<Val> = args.iter().map(|a| self.eval(a)).collect();
                let f = values.first().map(|v| v.text(&fmt)).unwrap_or_default();
                Val::Str(format_printf(&f, values.get(1..).unwrap_or(&[])))
            }
            "int" => Val::Num(num(self, 0).trunc()),
            "sqrt" => Val::Num(num(self, 0).sqrt()),
            "exp" => Val::Num(num(self, 0).exp()),
            "log" => Val::Num(num(self, 0).ln()),
            "sin" => Val::Num(num(self, 0).sin()),
            "cos" => Val::Num(num(self, 0).cos()),
            _ => {
                let (y, x) = (num(self, 0), num(self, 1));
                Val::Num(y.atan2(x))
            }
        }
    }

    fn exec_all(&mut self, body: &[Stmt]) -> Flow {
        for s in body {
            match self.exec(s) {
                Flow::Normal => {}
                other => return other,
            }
        }
        Flow::Normal
    }

    fn exec(&mut self, s: &Stmt) -> Flow {
        if self.error.is_some() {
            return Flow::Exit;
        }
        self.steps += 1;
        if self.steps > STEP_LIMIT || self.out.len() > OUTPUT_LIMIT {
            self.fail("the program ran past the simulation's step limit".into());
            return Flow::Exit;
        }
        match s {
            Stmt::Expr(e) => {
                self.eval(e);
            }
            Stmt::Print(args) => {
                let ofmt = self.sv("OFMT");
                let line = if args.is_empty() {
                    self.record.clone()
                } else {
                    let parts: Vec<String> = args.iter().map(|a| match self.eval(a) {
                        Val::Num(n) => number_text(n, &ofmt),
                        v => v.text(&ofmt),
                    }).collect();
                    parts.join(&self.sv("OFS"))
                };
                self.out.push_str(&line);
                let ors = self.sv("ORS");
                self.out.push_str(&ors);
            }
            Stmt::Printf(args) => {
                let values: Vec<Val> = args.iter().map(|a| self.eval(a)).collect();
                let fmt = values.first().map(|v| v.text(&self.convfmt())).unwrap_or_default();
                let text = format_printf(&fmt, values.get(1..).unwrap_or(&[]));
                self.out.push_str(&text);
            }
            Stmt::If(c, a, b) => {
                if self.eval(c).truth() {
                    return self.exec(a);
                } else if let Some(b) = b {
                    return self.exec(b);
                }
            }
            Stmt::While(c, body) => {
                while self.eval(c).truth() && self.error.is_none() {
                    match self.exec(body) {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                        other => return other,
                    }
                }
            }
            Stmt::Do(body, c) => loop {
                match self.exec(body) {
                    Flow::Break => break,
                    Flow::Normal | Flow::Continue => {}
                    other => return other,
                }
                if !self.eval(c).truth() || self.error.is_some() {
                    break;
                }
            },
            Stmt::For(init, cond, step, body) => {
                if let Some(i) = init {
                    self.exec(i);
                }
                while cond.as_ref().is_none_or(|c| self.eval(c).truth()) && self.error.is_none() {
                    match self.exec(body) {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                        other => return other,
                    }
                    if let Some(s) = step {
                        self.exec(s);
                    }
                }
            }
            Stmt::ForIn(var, array, body) => {
                let keys: Vec<String> = self.arrays.get(array).map(|a| a.keys().cloned().collect()).unwrap_or_default();
                for k in keys {
                    self.vars.insert(var.clone(), Val::Input(k));
                    match self.exec(body) {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                        other => return other,
                    }
                }
            }
            Stmt::Block(body) => return self.exec_all(body),
            Stmt::Next => return Flow::Next,
            Stmt::Exit(code) => {
                if let Some(c) = code {
                    self.exit_code = self.eval(c).num() as i32;
                }
                return Flow::Exit;
            }
            Stmt::Break => return Flow::Break,
            Stmt::Continue => return Flow::Continue,
            Stmt::Delete(array, keys) => match keys {
                Some(keys) => {
                    let key = self.key(keys);
                    if let Some(a) = self.arrays.get_mut(array) {
                        a.shift_remove(&key);
                    }
                }
                None => {
                    self.arrays.remove(array);
                }
            },
        }
        Flow::Normal
    }
}

fn arith(op: &str, x: f64, y: f64) -> f64 {
    match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" => x / y,
        "%" => x % y,
        _ => x.powf(y),
    }
}

/// `sub`/`gsub`'s replacement: `&` is the match, `\&` a literal `&`.
fn replace(re: &Regex, s: &str, with: &str, global: bool) -> (String, usize) {
    let mut out = String::new();
    let mut last = 0;
    let mut count = 0;
    for m in re.find_iter(s) {
        out.push_str(s.get(last..m.start()).unwrap_or(""));
        let mut chars = with.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' if matches!(chars.peek(), Some('&' | '\\')) => out.extend(chars.next()),
                '&' => out.push_str(m.as_str()),
                _ => out.push(ch),
            }
        }
        last = m.end();
        count += 1;
        if !global {
            break;
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    (out, count)
}

/// A record's fields under FS: blanks (" "), one literal character, or a regex.
fn split_fields(text: &str, fs: &str, machine: &Machine) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    if fs == " " {
        return text.split([' ', '\t', '\n']).filter(|f| !f.is_empty()).map(String::from).collect();
    }
    let mut chars = fs.chars();
    if let (Some(one), None) = (chars.next(), chars.next()) {
        if one != '\\' {
            return text.split(one).map(String::from).collect();
        }
    }
    let re = machine.dynamic.get(fs).cloned().or_else(|| posix_regex::compile(fs, true, false).ok());
    match re {
        Some(re) => re.split(text).map(String::from).collect(),
        None => vec![text.to_string()],
    }
}

/// Runs awk: its exit status.
pub fn run(cmd: &mut Cmd) -> i32 {
    let name = cmd.name.to_string();
    let mut assigns: Vec<(String, String)> = Vec::new();
    let mut fs: Option<String> = None;
    let mut program: Option<String> = None;
    let mut operands: Vec<String> = Vec::new();
    let args = cmd.args.to_vec();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        i += 1;
        if program.is_some() || !a.starts_with('-') || a == "-" {
            if program.is_none() {
                program = Some(a);
            } else {
                operands.push(a);
            }
            continue;
        }
        if a == "--" {
            if program.is_none() {
                program = args.get(i).cloned();
                i += 1;
            }
            continue;
        }
        let mut value = |flag: &str| -> Option<String> {
            let rest = a.get(flag.len()..).unwrap_or("");
            if rest.is_empty() {
                i += 1;
                args.get(i - 1).cloned()
            } else {
                Some(rest.to_string())
            }
        };
        if a.starts_with("-F") {
            let Some(v) = value("-F") else { return usage(cmd, &name, "option requires an argument -- F") };
            fs = Some(v);
        } else if a.starts_with("-v") {
            let Some(v) = value("-v") else { return usage(cmd, &name, "option requires an argument -- v") };
            let Some((k, val)) = v.split_once('=') else {
                cmd.error_text(&format!("{name}: improper assignment: -v {v}\n"));
                return 2;
            };
            assigns.push((k.to_string(), val.to_string()));
        } else if a.starts_with("-f") {
            cmd.error_text(&format!("{name}: -f (a program file) is not simulated\n"));
            return 2;
        } else if a.starts_with("-W") {
            cmd.error_text(&format!("{name}: -W options are not simulated\n"));
            return 2;
        } else {
            let flag = a.chars().nth(1).unwrap_or('-');
            return usage(cmd, &name, &format!("not an option: {}", if flag == '-' { a.clone() } else { format!("-{flag}") }));
        }
    }
    let Some(program) = program else { return usage(cmd, &name, "") };
    let fail = |cmd: &mut Cmd, text: &str| {
        cmd.error_text(&format!("{name}: {text}\n"));
        2
    };
    let toks = match lex(&program) {
        Ok(t) => t,
        Err(e) => return fail(cmd, &e),
    };
    let mut parser = Parser { toks, pos: 0, regexes: Vec::new(), printing: false, no_in: false, depth: 0, links: 0 };
    let items = match parser.program() {
        Ok(items) => items,
        Err(e) => return fail(cmd, &e),
    };
    let regexes = std::mem::take(&mut parser.regexes);
    let mut m = Machine { regexes: &regexes, dynamic: HashMap::new(), vars: HashMap::new(), arrays: HashMap::new(), record: String::new(), fields: Vec::new(), out: String::new(), exit_code: 0, steps: 0, error: None };
    for (k, v) in [("FS", " "), ("OFS", " "), ("ORS", "\n"), ("SUBSEP", "\u{1c}"), ("CONVFMT", "%.6g"), ("OFMT", "%.6g"), ("RSTART", "0"), ("RLENGTH", "-1"), ("FILENAME", "")] {
        m.vars.insert(k.into(), Val::Str(v.into()));
    }
    for k in ["NR", "FNR", "RSTART"] {
        m.vars.insert(k.into(), Val::Num(0.0));
    }
    m.vars.insert("RLENGTH".into(), Val::Num(-1.0));
    if let Some(fs) = fs {
        // `-F t` is a tab in POSIX awk; mawk reads the letter.
        let fs = if fs == "\\t" { "\t".to_string() } else { unescape_str(&fs) };
        m.vars.insert("FS".into(), Val::Str(fs));
    }
    for (k, v) in assigns {
        m.vars.insert(k, Val::Input(unescape_str(&v)));
    }
    let mut exiting = false;
    for item in items.iter().filter(|it| matches!(it.pattern, Pattern::Begin)) {
        if let Some(body) = &item.action {
            if let Flow::Exit = m.exec_all(body) {
                exiting = true;
                break;
            }
        }
    }
    let has_main = items.iter().any(|it| !matches!(it.pattern, Pattern::Begin));
    let mut in_range = vec![false; items.len()];
    let mut status = 0;
    if !exiting && has_main {
        let mut sources: Vec<(String, String)> = Vec::new();
        let files: Vec<&String> = operands.iter().filter(|o| !is_assignment(o)).collect();
        if files.is_empty() {
            sources.push((String::new(), cmd.stdin.to_string()));
        }
        let mut nr = 0usize;
        'files: for operand in &operands {
            if let Some((k, v)) = is_assignment(operand).then(|| operand.split_once('=')).flatten() {
                m.vars.insert(k.to_string(), Val::Input(unescape_str(v)));
                continue;
            }
            let text = if operand == "-" { Ok(cmd.stdin.to_string()) } else { cfs::read_file(cmd.files, cmd.cwd, operand) };
            match text {
                Ok(t) => sources.push((operand.clone(), t)),
                Err(e) => {
                    let out = std::mem::take(&mut m.out);
                    cmd.out.push_str(&out);
                    cmd.error_text(&format!("{name}: cannot open {operand} ({})\n", e.message()));
                    status = 2;
                    exiting = true;
                    break 'files;
                }
            }
        }
        if status == 0 {
            'records: for (file, text) in &sources {
                m.vars.insert("FILENAME".into(), Val::Str(file.clone()));
                for (fnr, line) in text.lines().enumerate() {
                    nr += 1;
                    m.vars.insert("NR".into(), Val::Num(nr as f64));
                    m.vars.insert("FNR".into(), Val::Num(fnr as f64 + 1.0));
                    m.set_record(line.to_string());
                    for (index, item) in items.iter().enumerate() {
                        let chosen = match &item.pattern {
                            Pattern::Begin | Pattern::End => false,
                            Pattern::All => true,
                            Pattern::When(e) => m.eval(e).truth(),
                            Pattern::Range(a, b) => {
                                let active = in_range.get(index).copied().unwrap_or(false);
                                let start = active || m.eval(a).truth();
                                if start {
                                    let ends = m.eval(b).truth();
                                    if let Some(r) = in_range.get_mut(index) {
                                        *r = !ends;
                                    }
                                }
                                start
                            }
                        };
                        if !chosen {
                            continue;
                        }
                        let flow = match &item.action {
                            Some(body) => m.exec_all(body),
                            None => m.exec(&Stmt::Print(Vec::new())),
                        };
                        match flow {
                            Flow::Next => break,
                            Flow::Exit => {
                                exiting = true;
                                break 'records;
                            }
                            _ => {}
                        }
                    }
                    if m.error.is_some() {
                        break 'records;
                    }
                }
            }
        }
    }
    // `exit` in a main rule still runs END; an error does not.
    let _ = exiting;
    if m.error.is_none() && status == 0 {
        for item in items.iter().filter(|it| matches!(it.pattern, Pattern::End)) {
            if let Some(body) = &item.action {
                if let Flow::Exit = m.exec_all(body) {
                    break;
                }
            }
        }
    }
    cmd.out.push_str(&m.out);
    if let Some(e) = m.error {
        cmd.error_text(&format!("{name}: run time error: {e}\n"));
        return 2;
    }
    if status != 0 {
        return status;
    }
    m.exit_code
}

fn is_assignment(operand: &str) -> bool {
    operand.split_once('=').is_some_and(|(k, _)| k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn usage(cmd: &mut Cmd, name: &str, problem: &str) -> i32 {
    // A bad option is named alone (status 2); no program at all prints the usage (status 0).
    if !problem.is_empty() {
        cmd.error_text(&format!("{name}: {problem}\n"));
        return 2;
    }
    cmd.error_text(MAWK_USAGE);
    0
}

const MAWK_USAGE: &str = include_str!("awk_usage.txt");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deeply_nested_program_is_refused_not_overflowed() {
        let deep = format!("BEGIN {{ x = {}1{} }}", "(".repeat(5000), ")".repeat(5000));
        let toks = lex(&deep).unwrap_or_default();
        let mut parser = Parser { toks, pos: 0, regexes: Vec::new(), printing: false, no_in: false, depth: 0, links: 0 };
        assert!(parser.program().is_err());
        for chain in ["+1", " 1", "=x", "?1:1"] {
            let toks = lex(&format!("BEGIN {{ x = y{} }}", chain.repeat(50000))).unwrap_or_default();
            let mut parser = Parser { toks, pos: 0, regexes: Vec::new(), printing: false, no_in: false, depth: 0, links: 0 };
            assert!(parser.program().is_err(), "{chain}");
        }
        let toks = lex(&format!("BEGIN {{ x = 1{} }}", "+1".repeat(50000))).unwrap_or_default();
        let mut parser = Parser { toks, pos: 0, regexes: Vec::new(), printing: false, no_in: false, depth: 0, links: 0 };
        assert!(parser.program().is_err());
        let toks = lex(&format!("BEGIN {{ x = {}1 }}", "- ".repeat(5000))).unwrap_or_default();
        let mut parser = Parser { toks, pos: 0, regexes: Vec::new(), printing: false, no_in: false, depth: 0, links: 0 };
        assert!(parser.program().is_err());
    }

    #[test]
    fn numbers_print_as_mawk_prints_them() {
        assert_eq!(number_text(100000000.0, "%.6g"), "100000000");
        assert_eq!(number_text(2147483648.0, "%.6g"), "2.14748e+09");
        assert_eq!(number_text(1.0 / 3.0, "%.6g"), "0.333333");
        assert_eq!(number_text(1e-5, "%.6g"), "1e-05");
        assert_eq!(number_text(-0.0, "%.6g"), "0");
        assert_eq!(format_printf("%5.2f|%-4d|%s|%c|%x|%e|%g|%i|%05d", &[Val::Num(3.14159), Val::Num(42.0), Val::Str("s".into()), Val::Num(65.0), Val::Num(255.0), Val::Num(12345.678), Val::Num(0.0001234), Val::Num(7.9), Val::Num(-42.0)]), " 3.14|42  |s|A|ff|1.234568e+04|0.0001234|7|-0042");
    }
}
