//! kubectl's `-o go-template` (`template`, `go-template-file`,
//! `templatefile`, `--template`): Go's text/template as cli-runtime runs it
//! (`printers/template.go`), over the object decoded as
//! `map[string]interface{}` by apimachinery's JSON (whole numbers as
//! `int64`, others `float64`), with kubectl's two functions `exists` and
//! `base64decode` and `missingkey=default` unless
//! `--allow-missing-template-keys=false`. The lexer, parser and evaluator
//! follow Go's `text/template` and `text/template/parse` step by step, so
//! output, `<no value>`, `map[…]` printing and the errors (with their
//! `output:LINE:COL` and the node they name) are Go's.
//!
//! Bounds for the page's stack and time, which Go does not have: 40
//! nested parentheses or control structures in a template, 64 bodies,
//! template calls and parentheses being evaluated at once, 1,000,000
//! range iterations and 16 MiB of output.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::jsonpath::go_quote;

/// Nested parentheses and control structures in one template body.
const MAX_NESTING: usize = 40;
/// Bodies and parenthesized pipelines being evaluated at once, template
/// calls included: what fits a 1 MiB stack in a debug build.
const MAX_EXEC_DEPTH: usize = 64;
const MAX_ITERATIONS: u64 = 1_000_000;
const MAX_OUTPUT: usize = 16 << 20;
/// The name cli-runtime gives its template.
const NAME: &str = "output";

// ---------------------------------------------------------------- lexer

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Error,
    Bool,
    Char,
    CharConstant,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords (Go's `itemKeyword` and after).
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Item {
    fn is_keyword(self) -> bool {
        matches!(self, Item::Block | Item::Break | Item::Continue | Item::Dot | Item::Define | Item::Else | Item::End | Item::If | Item::Nil | Item::Range | Item::Template | Item::With)
    }
}

#[derive(Clone, Debug)]
struct Token {
    typ: Item,
    pos: usize,
    val: String,
    line: usize,
}

impl Token {
    /// Go's `item.String()`, as parse errors show a token.
    fn describe(&self) -> String {
        match self.typ {
            Item::Eof => "EOF".to_string(),
            Item::Error => self.val.clone(),
            t if t.is_keyword() => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                format!("{}...", go_quote(&head))
            }
            _ => go_quote(&self.val),
        }
    }
}

fn keyword(word: &str) -> Option<Item> {
    Some(match word {
        "." => Item::Dot,
        "block" => Item::Block,
        "break" => Item::Break,
        "continue" => Item::Continue,
        "define" => Item::Define,
        "else" => Item::Else,
        "end" => Item::End,
        "if" => Item::If,
        "range" => Item::Range,
        "nil" => Item::Nil,
        "template" => Item::Template,
        "with" => Item::With,
        _ => return None,
    })
}

/// Go's `lex.go`: the whole template into tokens (it stops at the first error).
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: usize,
    items: Vec<Token>,
    inside_action: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

impl<'a> Lexer<'a> {
    fn lex(input: &'a str) -> Vec<Token> {
        let mut l = Lexer { input, pos: 0, start: 0, line: 1, start_line: 1, paren_depth: 0, items: Vec::new(), inside_action: false };
        l.run();
        l.items
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, typ: Item) {
        let val = self.input.get(self.start..self.pos).unwrap_or("").to_string();
        self.items.push(Token { typ, pos: self.start, val, line: self.start_line });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.input.get(self.start..self.pos).unwrap_or("").matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, message: String) {
        self.items.push(Token { typ: Item::Error, pos: self.start, val: message, line: self.start_line });
    }

    /// Whether `-}}` (with the space before it) comes next.
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if rest.starts_with("}}") {
            return (true, false);
        }
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(c), Some('-')) if is_space(c) && rest.get(c.len_utf8() + 1..).is_some_and(|r| r.starts_with("}}")) => (true, true),
            _ => (false, false),
        }
    }

    fn run(&mut self) {
        loop {
            let ok = if self.inside_action { self.inside_action_step() } else { self.text_step() };
            if !ok {
                return;
            }
        }
    }

    /// `lexText`: up to the next `{{`, trimming spaces before a `{{- `.
    fn text_step(&mut self) -> bool {
        match self.rest().find("{{") {
            Some(offset) => {
                let delim = self.pos + offset;
                let after = self.input.get(delim + 2..).unwrap_or("");
                let trim = after.starts_with('-') && after.chars().nth(1).is_some_and(is_space);
                let text_end = if trim { delim - (self.input.get(self.pos..delim).unwrap_or("").len() - self.input.get(self.pos..delim).unwrap_or("").trim_end_matches(is_space).len()) } else { delim };
                self.pos = text_end;
                self.line += self.input.get(self.start..self.pos).unwrap_or("").matches('\n').count();
                if self.pos > self.start {
                    let val = self.input.get(self.start..self.pos).unwrap_or("").to_string();
                    self.items.push(Token { typ: Item::Text, pos: self.start, val, line: self.start_line });
                }
                self.start = self.pos;
                self.start_line = self.line;
                self.pos = delim;
                self.ignore();
                self.left_delim(trim)
            }
            None => {
                self.pos = self.input.len();
                if self.pos > self.start {
                    self.line += self.input.get(self.start..self.pos).unwrap_or("").matches('\n').count();
                    let val = self.input.get(self.start..self.pos).unwrap_or("").to_string();
                    self.items.push(Token { typ: Item::Text, pos: self.start, val, line: self.start_line });
                    self.start = self.pos;
                    self.start_line = self.line;
                }
                self.emit(Item::Eof);
                false
            }
        }
    }

    /// `lexLeftDelim`: a comment, or the start of an action.
    fn left_delim(&mut self, trim: bool) -> bool {
        self.pos += 2;
        let after_marker = if trim { 2 } else { 0 };
        if self.input.get(self.pos + after_marker..).is_some_and(|r| r.starts_with("/*")) {
            self.pos += after_marker;
            self.ignore();
            return self.comment();
        }
        self.emit(Item::LeftDelim);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        self.inside_action = true;
        true
    }

    /// `lexComment`: `/* … */` right before the closing delimiter.
    fn comment(&mut self) -> bool {
        self.pos += 2;
        let Some(end) = self.rest().find("*/") else {
            self.error("unclosed comment".to_string());
            return false;
        };
        self.pos += end + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".to_string());
            return false;
        }
        if trim {
            self.pos += 2;
        }
        self.pos += 2;
        self.ignore();
        if trim {
            self.skip_leading_space();
        }
        true
    }

    fn skip_leading_space(&mut self) {
        let skip = self.rest().len() - self.rest().trim_start_matches(is_space).len();
        self.pos += skip;
        self.ignore();
    }

    /// `lexRightDelim`.
    fn right_delim(&mut self, trim: bool) -> bool {
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += 2;
        self.emit(Item::RightDelim);
        if trim {
            self.skip_leading_space();
        }
        self.inside_action = false;
        true
    }

    /// `lexInsideAction`: one token.
    fn inside_action_step(&mut self) -> bool {
        let (delim, trim) = self.at_right_delim();
        if delim && self.paren_depth == 0 {
            return self.right_delim(trim);
        }
        let Some(c) = self.next() else {
            self.error("unclosed action".to_string());
            return false;
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                self.space()
            }
            '=' => {
                self.emit(Item::Assign);
                true
            }
            ':' => {
                if self.next() != Some('=') {
                    self.error("expected :=".to_string());
                    return false;
                }
                self.emit(Item::Declare);
                true
            }
            '|' => {
                self.emit(Item::Pipe);
                true
            }
            '"' => self.quoted('"', Item::String, "unterminated quoted string"),
            '`' => self.raw_quote(),
            '$' => self.field_or_variable(Item::Variable),
            '\'' => self.quoted('\'', Item::CharConstant, "unterminated character constant"),
            '.' => {
                if self.pos < self.input.len() && self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.backup('.');
                    return self.number();
                }
                self.field_or_variable(Item::Field)
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                self.number()
            }
            c if is_alphanumeric(c) => {
                self.backup(c);
                self.identifier()
            }
            '(' => {
                self.emit(Item::LeftParen);
                self.paren_depth += 1;
                true
            }
            ')' => {
                self.emit(Item::RightParen);
                if self.paren_depth == 0 {
                    self.error("unexpected right paren".to_string());
                    return false;
                }
                self.paren_depth -= 1;
                true
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.emit(Item::Char);
                true
            }
            c => {
                self.error(format!("unrecognized character in action: {}", go_rune(c)));
                false
            }
        }
    }

    /// `lexSpace`: a run of spaces, stopping before a ` -}}`.
    fn space(&mut self) -> bool {
        let mut count = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            count += 1;
            let (delim, trim) = self.at_right_delim_after_space();
            if delim && trim {
                // Leave the space that begins the trim marker.
                self.backup(c);
                if count == 1 {
                    return self.right_delim(true);
                }
                break;
            }
        }
        self.emit(Item::Space);
        true
    }

    fn at_right_delim_after_space(&self) -> (bool, bool) {
        let rest = self.rest();
        (rest.starts_with("-}}"), rest.starts_with("-}}"))
    }

    /// A run of letters and digits, which must end at a terminator.
    fn word(&mut self) -> bool {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", go_rune(c)));
            return false;
        }
        true
    }

    fn identifier(&mut self) -> bool {
        if !self.word() {
            return false;
        }
        let word = self.input.get(self.start..self.pos).unwrap_or("");
        let typ = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => Item::Bool,
            None => Item::Identifier,
        };
        self.emit(typ);
        true
    }

    /// `lexFieldOrVariable`: `.name` or `$name` after its first character;
    /// a lone `.` is the dot and a lone `$` the root variable.
    fn field_or_variable(&mut self, typ: Item) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Item::Field { Item::Dot } else { Item::Variable });
            return true;
        }
        if !self.word() {
            return false;
        }
        self.emit(typ);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with("}}"),
        }
    }

    /// `lexQuote` and `lexChar`: up to the closing quote, an escape taking
    /// the next character; a line end or the end of input leaves it open.
    fn quoted(&mut self, close: char, item: Item, unterminated: &str) -> bool {
        loop {
            match self.next() {
                Some('\\') if self.next().is_some_and(|c| c != '\n') => {}
                Some('\\') | None | Some('\n') => {
                    self.error(unterminated.to_string());
                    return false;
                }
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(item);
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let end = self.pos + self.peek().map_or(0, char::len_utf8);
            let text = self.input.get(self.start..end).unwrap_or("");
            self.error(format!("bad number syntax: {}", go_quote(text)));
            return false;
        }
        self.emit(Item::Number);
        true
    }

    /// Go's `scanNumber` (without complex numbers' `i` suffix).
    fn scan_number(&mut self) -> bool {
        let accept = |l: &mut Self, set: &str| {
            if l.peek().is_some_and(|c| set.contains(c)) {
                l.next();
                true
            } else {
                false
            }
        };
        let accept_run = |l: &mut Self, set: &str| {
            while l.peek().is_some_and(|c| set.contains(c)) {
                l.next();
            }
        };
        accept(self, "+-");
        let mut digits = "0123456789_";
        if accept(self, "0") {
            if accept(self, "xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if accept(self, "oO") {
                digits = "01234567_";
            } else if accept(self, "bB") {
                digits = "01_";
            }
        }
        accept_run(self, digits);
        if accept(self, ".") {
            accept_run(self, digits);
        }
        if digits.len() == 11 && accept(self, "eE") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        if digits.len() == 23 && accept(self, "pP") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        !self.peek().is_some_and(is_alphanumeric)
    }

    fn raw_quote(&mut self) -> bool {
        match self.rest().find('`') {
            Some(end) => {
                let text = self.input.get(self.pos..self.pos + end).unwrap_or("");
                self.line += text.matches('\n').count();
                self.pos += end + 1;
                self.emit(Item::RawString);
                true
            }
            None => {
                self.error("unterminated raw quoted string".to_string());
                false
            }
        }
    }
}

/// Go's `%#U` of a rune: `U+0023 '#'`.
fn go_rune(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

// ---------------------------------------------------------------- parse tree

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Action { pos: usize, pipe: Pipe },
    If { pos: usize, pipe: Pipe, list: Vec<Node>, otherwise: Option<Vec<Node>> },
    With { pos: usize, pipe: Pipe, list: Vec<Node>, otherwise: Option<Vec<Node>> },
    Range { pos: usize, pipe: Pipe, list: Vec<Node>, otherwise: Option<Vec<Node>> },
    Break,
    Continue,
    Template { pos: usize, name: String, pipe: Option<Pipe> },
}

#[derive(Clone, Debug)]
struct Pipe {
    pos: usize,
    is_assign: bool,
    decl: Vec<String>,
    cmds: Vec<Command>,
}

#[derive(Clone, Debug)]
struct Command {
    args: Vec<Arg>,
}

#[derive(Clone, Debug)]
enum Arg {
    Field { pos: usize, idents: Vec<String> },
    Variable { pos: usize, idents: Vec<String> },
    Chain { pos: usize, node: Box<Arg>, fields: Vec<String> },
    Identifier { pos: usize, name: String },
    Pipe(Box<Pipe>),
    Dot { pos: usize },
    Nil { pos: usize },
    Bool { pos: usize, value: bool },
    Number { pos: usize, text: String, value: Literal },
    String { pos: usize, quoted: String, text: String },
}

#[derive(Clone, Debug)]
enum Literal {
    Int(i64),
    Float(f64),
    Char(i64),
}

impl Arg {
    fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. } | Arg::Variable { pos, .. } | Arg::Chain { pos, .. } | Arg::Identifier { pos, .. } | Arg::Dot { pos } | Arg::Nil { pos } | Arg::Bool { pos, .. } | Arg::Number { pos, .. } | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    /// Go's `Node.String()`.
    fn show(&self) -> String {
        match self {
            Arg::Field { idents, .. } => idents.iter().map(|i| format!(".{i}")).collect(),
            Arg::Variable { idents, .. } => idents.join("."),
            Arg::Chain { node, fields, .. } => {
                let mut s = match &**node {
                    Arg::Pipe(p) => format!("({})", p.show()),
                    other => other.show(),
                };
                for f in fields {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
            Arg::Identifier { name, .. } => name.clone(),
            Arg::Pipe(p) => p.show(),
            Arg::Dot { .. } => ".".to_string(),
            Arg::Nil { .. } => "nil".to_string(),
            Arg::Bool { value, .. } => value.to_string(),
            Arg::Number { text, .. } => text.clone(),
            Arg::String { quoted, .. } => quoted.clone(),
        }
    }
}

impl Command {
    fn show(&self) -> String {
        self.args
            .iter()
            .map(|a| match a {
                Arg::Pipe(p) => format!("({})", p.show()),
                other => other.show(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Pipe {
    fn show(&self) -> String {
        let mut s = String::new();
        if !self.decl.is_empty() {
            s.push_str(&self.decl.join(", "));
            s.push_str(if self.is_assign { " = " } else { " := " });
        }
        s.push_str(&self.cmds.iter().map(Command::show).collect::<Vec<_>>().join(" | "));
        s
    }
}

// ---------------------------------------------------------------- parser

/// A parsed template: its body and the templates it defines.
#[derive(Clone, Debug)]
pub struct Template {
    source: String,
    root: Vec<Node>,
    defined: BTreeMap<String, Vec<Node>>,
}

/// Two templates are the same when their texts are.
impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Template {}

/// Go's `%v` of the decoded object (`map[apiVersion:v1 kind:Pod …]`), as
/// the printer's debugging lines show it.
pub fn go_value_text(value: &Value) -> String {
    sprint(&from_json(value.clone()))
}

const FUNCTIONS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne", "exists", "base64decode",
];

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    at: usize,
    /// The line of the last token read (Go's `t.token[0].line`).
    line: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    defined: BTreeMap<String, Vec<Node>>,
}

type Parsed<T> = std::result::Result<T, String>;

impl Template {
    /// Go's `template.New("output").Funcs(…).Parse(text)`; the error as Go
    /// words it (`template: output:1: unclosed action`).
    pub fn parse(source: &str) -> Parsed<Template> {
        let tokens = Lexer::lex(source);
        let mut p = Parser { source, tokens, at: 0, line: 1, vars: vec!["$".to_string()], range_depth: 0, depth: 0, action_line: 0, defined: BTreeMap::new() };
        let root = p.parse_top()?;
        Ok(Template { source: source.to_string(), root, defined: p.defined })
    }
}

impl<'a> Parser<'a> {
    fn error<T>(&self, message: String) -> Parsed<T> {
        Err(format!("template: {NAME}:{}: {message}", self.line))
    }

    fn next(&mut self) -> Token {
        let token = self.tokens.get(self.at).cloned().unwrap_or(Token { typ: Item::Eof, pos: self.source.len(), val: String::new(), line: self.line });
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        self.line = token.line;
        token
    }

    fn backup(&mut self) {
        self.at = self.at.saturating_sub(1);
    }

    fn peek(&self) -> Token {
        self.tokens.get(self.at).cloned().unwrap_or(Token { typ: Item::Eof, pos: self.source.len(), val: String::new(), line: self.line })
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.typ != Item::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, typ: Item, context: &str) -> Parsed<Token> {
        let t = self.next_non_space();
        if t.typ != typ {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn unexpected<T>(&self, token: &Token, context: &str) -> Parsed<T> {
        if token.typ == Item::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {NAME}:{}", self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra.trim_start_matches(" in action").to_string();
                }
            }
            return self.error(format!("{}{extra}", token.val));
        }
        self.error(format!("unexpected {} in {context}", token.describe()))
    }

    fn parse_top(&mut self) -> Parsed<Vec<Node>> {
        let mut list = Vec::new();
        while self.peek().typ != Item::Eof {
            if self.peek().typ == Item::LeftDelim {
                let mark = self.at;
                let delim = self.next();
                if self.next_non_space().typ == Item::Define {
                    self.action_line = delim.line;
                    self.parse_definition()?;
                    self.action_line = 0;
                    continue;
                }
                self.at = mark;
            }
            match self.text_or_action()? {
                Step::Node(n) => list.push(n),
                Step::End => return self.error("unexpected {{end}}".to_string()),
                Step::Else(_) => return self.error("unexpected {{else}}".to_string()),
            }
        }
        Ok(list)
    }

    /// `{{define "name"}} … {{end}}`.
    fn parse_definition(&mut self) -> Parsed<()> {
        let context = "define clause";
        let name_token = self.next_non_space();
        let name = self.template_name(&name_token, context)?;
        self.expect(Item::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Step::End) {
            return self.error(format!("unexpected {} in {context}", "{{else}}"));
        }
        self.defined.insert(name, list);
        Ok(())
    }

    fn template_name(&self, token: &Token, context: &str) -> Parsed<String> {
        match token.typ {
            Item::String | Item::RawString => unquote(&token.val).or_else(|_| self.error(format!("malformed string: {}", token.val))),
            _ => self.unexpected(token, context),
        }
    }

    fn item_list(&mut self) -> Parsed<(Vec<Node>, Step)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != Item::Eof {
            match self.text_or_action()? {
                Step::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        self.error("unexpected EOF".to_string())
    }

    fn text_or_action(&mut self) -> Parsed<Step> {
        let token = self.next_non_space();
        match token.typ {
            Item::Text => Ok(Step::Node(Node::Text(token.val))),
            Item::LeftDelim => {
                self.action_line = token.line;
                let result = self.action();
                self.action_line = 0;
                result
            }
            Item::Error => self.unexpected(&token, "input"),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> Parsed<Step> {
        let token = self.next_non_space();
        match token.typ {
            Item::Block => self.error("{{block}} is not part of this simulation's templates".to_string()),
            Item::Break => {
                let t = self.next_non_space();
                if t.typ != Item::RightDelim {
                    return self.unexpected(&t, "{{break}}");
                }
                if self.range_depth == 0 {
                    return self.error("{{break}} outside {{range}}".to_string());
                }
                Ok(Step::Node(Node::Break))
            }
            Item::Continue => {
                let t = self.next_non_space();
                if t.typ != Item::RightDelim {
                    return self.unexpected(&t, "{{continue}}");
                }
                if self.range_depth == 0 {
                    return self.error("{{continue}} outside {{range}}".to_string());
                }
                Ok(Step::Node(Node::Continue))
            }
            Item::Else => {
                let peek = self.peek_non_space();
                if peek.typ == Item::If || peek.typ == Item::With {
                    return Ok(Step::Else(Some(peek.typ)));
                }
                self.expect(Item::RightDelim, "else")?;
                Ok(Step::Else(None))
            }
            Item::End => {
                self.expect(Item::RightDelim, "end")?;
                Ok(Step::End)
            }
            Item::If => self.control(Control::If, token.pos).map(Step::Node),
            Item::Range => self.control(Control::Range, token.pos).map(Step::Node),
            Item::With => self.control(Control::With, token.pos).map(Step::Node),
            Item::Template => {
                let context = "template clause";
                let name_token = self.next_non_space();
                let name = self.template_name(&name_token, context)?;
                let pipe = if self.next_non_space().typ != Item::RightDelim {
                    self.backup();
                    Some(self.pipeline(context, Item::RightDelim)?)
                } else {
                    None
                };
                Ok(Step::Node(Node::Template { pos: name_token.pos, name, pipe }))
            }
            _ => {
                self.backup();
                let pos = self.peek().pos;
                let pipe = self.pipeline("command", Item::RightDelim)?;
                Ok(Step::Node(Node::Action { pos, pipe }))
            }
        }
    }

    fn control(&mut self, kind: Control, pos: usize) -> Parsed<Node> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.error("max expression depth exceeded".to_string());
        }
        let context = kind.name();
        let vars_mark = self.vars.len();
        let pipe = self.pipeline(context, Item::RightDelim)?;
        if kind == Control::Range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if kind == Control::Range {
            self.range_depth -= 1;
        }
        let otherwise = match next {
            Step::End => None,
            Step::Else(Some(chained)) if (kind == Control::If && chained == Item::If) || (kind == Control::With && chained == Item::With) => {
                // `{{else if …}}`: the rest is an if inside the else, closed by the same end.
                let keyword_token = self.next_non_space();
                let nested = self.control(kind, keyword_token.pos)?;
                Some(vec![nested])
            }
            Step::Else(_) => {
                let (list, end) = self.item_list()?;
                if !matches!(end, Step::End) {
                    return self.error("expected end; found {{else}}".to_string());
                }
                Some(list)
            }
            Step::Node(_) => None,
        };
        self.vars.truncate(vars_mark);
        self.depth -= 1;
        Ok(match kind {
            Control::If => Node::If { pos, pipe, list, otherwise },
            Control::With => Node::With { pos, pipe, list, otherwise },
            Control::Range => Node::Range { pos, pipe, list, otherwise },
        })
    }

    fn pipeline(&mut self, context: &str, end: Item) -> Parsed<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe { pos: token.pos, is_assign: false, decl: Vec::new(), cmds: Vec::new() };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != Item::Variable {
                break;
            }
            let mark = self.at;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.typ {
                Item::Assign | Item::Declare => {
                    pipe.is_assign = next.typ == Item::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break 'decls;
                }
                Item::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            Item::Variable | Item::RightDelim | Item::RightParen => continue 'decls,
                            _ => return self.error("range can only initialize variables".to_string()),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    self.at = mark;
                    break;
                }
            }
        }
        loop {
            let token = self.next_non_space();
            if token.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.typ {
                Item::Bool | Item::CharConstant | Item::Dot | Item::Field | Item::Identifier | Item::Number | Item::Nil | Item::RawString | Item::String | Item::Variable | Item::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Parsed<()> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(c.args.first(), Some(Arg::Bool { .. } | Arg::Dot { .. } | Arg::Nil { .. } | Arg::Number { .. } | Arg::String { .. })) {
                return self.error(format!("non executable command in pipeline stage {}", i + 1));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Parsed<Command> {
        let mut cmd = Command { args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                Item::Space => continue,
                Item::RightDelim | Item::RightParen => self.backup(),
                Item::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.error("empty command".to_string());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Parsed<Option<Arg>> {
        let Some(node) = self.term()? else { return Ok(None) };
        if self.peek().typ != Item::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == Item::Field {
            let f = self.next();
            fields.push(f.val.trim_start_matches('.').to_string());
        }
        Ok(Some(match node {
            Arg::Field { idents, .. } => Arg::Field { pos: chain_pos, idents: idents.into_iter().chain(fields).collect() },
            Arg::Variable { idents, .. } => Arg::Variable { pos: chain_pos, idents: idents.into_iter().chain(fields).collect() },
            Arg::Bool { .. } | Arg::String { .. } | Arg::Number { .. } | Arg::Nil { .. } | Arg::Dot { .. } => {
                return self.error(format!("unexpected . after term {}", go_quote(&node.show())));
            }
            other => Arg::Chain { pos: chain_pos, node: Box::new(other), fields },
        }))
    }

    fn term(&mut self) -> Parsed<Option<Arg>> {
        let token = self.next_non_space();
        Ok(Some(match token.typ {
            Item::Identifier => {
                if !FUNCTIONS.contains(&token.val.as_str()) {
                    return self.error(format!("function {} not defined", go_quote(&token.val)));
                }
                Arg::Identifier { pos: token.pos, name: token.val }
            }
            Item::Dot => Arg::Dot { pos: token.pos },
            Item::Nil => Arg::Nil { pos: token.pos },
            Item::Variable => {
                if !self.vars.iter().any(|v| *v == token.val) {
                    return self.error(format!("undefined variable {}", go_quote(&token.val)));
                }
                Arg::Variable { pos: token.pos, idents: vec![token.val] }
            }
            Item::Field => Arg::Field { pos: token.pos, idents: vec![token.val.trim_start_matches('.').to_string()] },
            Item::Bool => Arg::Bool { pos: token.pos, value: token.val == "true" },
            Item::CharConstant | Item::Number => {
                let value = if token.typ == Item::CharConstant {
                    match unquote_char(&token.val) {
                        Some(c) => Literal::Char(c as i64),
                        None => return self.error(format!("malformed character constant: {}", token.val)),
                    }
                } else {
                    match parse_number(&token.val) {
                        Some(v) => v,
                        None => return self.error(format!("illegal number syntax: {}", go_quote(&token.val))),
                    }
                };
                Arg::Number { pos: token.pos, text: token.val, value }
            }
            Item::LeftParen => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return self.error("max expression depth exceeded".to_string());
                }
                let pipe = self.pipeline("parenthesized pipeline", Item::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            Item::String | Item::RawString => match unquote(&token.val) {
                Ok(text) => Arg::String { pos: token.pos, quoted: token.val, text },
                Err(_) => return self.error(format!("invalid syntax")),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Control {
    If,
    With,
    Range,
}

impl Control {
    fn name(self) -> &'static str {
        match self {
            Control::If => "if",
            Control::With => "with",
            Control::Range => "range",
        }
    }
}

enum Step {
    Node(Node),
    End,
    /// `{{else}}`, or `{{else if`/`{{else with` (the keyword not yet read).
    Else(Option<Item>),
}

/// Go's `strconv.Unquote` of a string token (`"…"` or a raw `` `…` ``).
fn unquote(token: &str) -> std::result::Result<String, ()> {
    if let Some(raw) = token.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return Ok(raw.replace('\r', ""));
    }
    if !token.starts_with('"') {
        return Err(());
    }
    super::jsonpath::unquote_extend(token).ok_or(())
}

/// Go's `strconv.UnquoteChar` of a character constant (`'a'`, `'\n'`).
fn unquote_char(token: &str) -> Option<char> {
    let text = super::jsonpath::unquote_extend(token)?;
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// A number token as Go's `parse.NumberNode` reads it: an integer when it
/// is one, else a float.
fn parse_number(text: &str) -> Option<Literal> {
    let clean = text.replace('_', "");
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    // Go's `idealConstant`: a constant written with `.`, `e` or `p` is a
    // float64 even when whole (`1e3`); others are ints.
    let hex = digits.starts_with("0x") || digits.starts_with("0X");
    if !hex && digits.contains(['.', 'e', 'E', 'p', 'P']) {
        let f: f64 = digits.parse().ok()?;
        return f.is_finite().then_some(Literal::Float(if negative { -f } else { f }));
    }
    let int = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = digits.strip_prefix("0o").or_else(|| digits.strip_prefix("0O")) {
        i64::from_str_radix(oct, 8).ok()
    } else if let Some(bin) = digits.strip_prefix("0b").or_else(|| digits.strip_prefix("0B")) {
        i64::from_str_radix(bin, 2).ok()
    } else if digits.len() > 1 && digits.starts_with('0') && digits.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&digits[1..], 8).ok()
    } else {
        digits.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Some(Literal::Int(if negative { -i } else { i }));
    }
    let f: f64 = digits.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some(Literal::Float(if negative { -f } else { f }))
}

// ---------------------------------------------------------------- values

/// A value as the evaluator holds it, after Go's reflect: `Iface` is a
/// value read out of a JSON map or list (an `interface{}`, nil for JSON
/// null), the rest concrete values; `Invalid` is Go's zero Value (a
/// missing key), printed `<no value>`.
#[derive(Clone, Debug)]
enum Val {
    Invalid,
    Iface(Value),
    Str(String),
    /// `int64` (a JSON number) or `int` (a constant, `len`).
    Int(i64, bool),
    Float(f64),
    Bool(bool),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

impl Val {
    /// Digs a value out of its interface (`reflect.ValueOf(v.Interface())`).
    fn concrete(self) -> Val {
        match self {
            Val::Iface(v) => from_json(v),
            other => other,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Invalid => "<nil>",
            Val::Iface(_) => "interface {}",
            Val::Str(_) => "string",
            Val::Int(_, true) => "int64",
            Val::Int(_, false) => "int",
            Val::Float(_) => "float64",
            Val::Bool(_) => "bool",
            Val::List(_) => "[]interface {}",
            Val::Map(_) => "map[string]interface {}",
        }
    }
}

/// A JSON value as apimachinery's decoder hands it to the template: whole
/// numbers that fit are `int64`.
fn from_json(v: Value) -> Val {
    match v {
        Value::Null => Val::Invalid,
        Value::Bool(b) => Val::Bool(b),
        Value::String(s) => Val::Str(s),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::Int(i, true)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f >= -9.223372036854775e18 && f < 9.223372036854775e18 {
                    Val::Int(f as i64, true)
                } else {
                    Val::Float(f)
                }
            }
        }
        Value::Array(a) => Val::List(a),
        Value::Object(m) => Val::Map(m),
    }
}

/// Go's `fmt.Sprint` of a value (`%v`).
fn sprint(v: &Val) -> String {
    match v {
        Val::Invalid => "<nil>".to_string(),
        Val::Iface(j) => sprint_json(j),
        Val::Str(s) => s.clone(),
        Val::Int(i, _) => i.to_string(),
        Val::Float(f) => format_float_g(*f, None, false),
        Val::Bool(b) => b.to_string(),
        Val::List(items) => format!("[{}]", items.iter().map(sprint_json).collect::<Vec<_>>().join(" ")),
        Val::Map(m) => sprint_map(m),
    }
}

fn sprint_json(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        other => sprint(&from_json(other.clone())),
    }
}

fn sprint_map(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let entries: Vec<String> = keys.iter().filter_map(|k| m.get(*k).map(|v| format!("{k}:{}", sprint_json(v)))).collect();
    format!("map[{}]", entries.join(" "))
}

/// A float's significant digits (no trailing zeros) and the position of
/// its decimal point, shortest (`prec` None) or rounded to `prec` digits.
fn float_digits(f: f64, prec: Option<usize>) -> (String, i32) {
    let sci = match prec {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits = mantissa.replace('.', "");
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    if digits == "0" {
        return (digits, 1);
    }
    (digits, exp + 1)
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)`: `prec` None is the
/// shortest form (fmt's `%v`), which turns to `%e` from an exponent of 6;
/// a precision turns to `%e` from that many digits.
fn format_float_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".to_string() } else { "-Inf".to_string() };
    }
    let (digits, dp) = float_digits(f, prec);
    let nd = digits.len() as i32;
    let mut eprec = match prec {
        None => 6,
        Some(p) => p.max(1) as i32,
    };
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let e = if upper { 'E' } else { 'e' };
        let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        return format!("{sign}{first}{point}{e}{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    format!("{sign}{}", place_point(&digits, dp))
}

/// Digits with the decimal point `dp` places in (`%f` of exactly those digits).
fn place_point(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        return format!("0.{}{digits}", "0".repeat((-dp) as usize));
    }
    let dp = dp as usize;
    if digits.len() <= dp {
        return format!("{digits}{}", "0".repeat(dp - digits.len()));
    }
    let (int, frac) = digits.split_at(dp);
    format!("{int}.{frac}")
}

// ---------------------------------------------------------------- evaluator

struct State<'t> {
    template: &'t Template,
    vars: Vec<(String, Val)>,
    /// The node an error names (Go's `s.node`): its position and text.
    node: Option<(usize, String)>,
    out: String,
    missing_key_error: bool,
    depth: usize,
    iterations: u64,
}

/// A `{{break}}` or `{{continue}}` on its way to its range, or an error.
enum Stop {
    Break,
    Continue,
    Error(String),
}

type Exec<T> = std::result::Result<T, Stop>;

impl Template {
    /// Runs the template over `data` (the object as JSON), appending what it
    /// writes to `out` even when it fails part-way, as Go writes as it goes.
    pub fn execute(&self, data: &Value, missing_key_error: bool, out: &mut String) -> std::result::Result<(), String> {
        let root = match data {
            Value::Object(m) => Val::Map(m.clone()),
            other => from_json(other.clone()),
        };
        let mut state = State { template: self, vars: vec![("$".to_string(), root.clone())], node: None, out: String::new(), missing_key_error, depth: 0, iterations: 0 };
        let result = state.walk_list(&root, &self.root);
        out.push_str(&state.out);
        match result {
            Ok(()) => Ok(()),
            Err(Stop::Error(e)) => Err(e),
            Err(Stop::Break | Stop::Continue) => Ok(()),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

impl<'t> State<'t> {
    fn at(&mut self, pos: usize, text: String) {
        self.node = Some((pos, text));
    }

    fn error<T>(&self, message: String) -> Exec<T> {
        let text = match &self.node {
            None => format!("template: {NAME}: {message}"),
            Some((pos, context)) => {
                let before = self.template.source.get(..*pos).unwrap_or("");
                let line = 1 + before.matches('\n').count();
                let column = match before.rfind('\n') {
                    Some(nl) => pos - (nl + 1),
                    None => *pos,
                };
                format!("template: {NAME}:{line}:{column}: executing {} at <{context}>: {message}", go_quote(NAME))
            }
        };
        Err(Stop::Error(text))
    }

    fn call_error<T>(&mut self, pos: usize, command: &str, message: String) -> Exec<T> {
        self.at(pos, command.to_string());
        self.error(message)
    }

    fn write(&mut self, text: &str) -> Exec<()> {
        if self.out.len() + text.len() > MAX_OUTPUT {
            return self.error(format!("output longer than {} bytes (this simulation's bound)", MAX_OUTPUT));
        }
        self.out.push_str(text);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Val, list: &[Node]) -> Exec<()> {
        self.enter()?;
        let result = list.iter().try_for_each(|node| self.walk(dot, node));
        self.depth -= 1;
        result
    }

    /// One level deeper into bodies, template calls and parentheses.
    fn enter(&mut self) -> Exec<()> {
        if self.depth >= MAX_EXEC_DEPTH {
            return self.error(format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"));
        }
        self.depth += 1;
        Ok(())
    }

    fn eval_parenthesized(&mut self, dot: &Val, pipe: &Pipe) -> Exec<Val> {
        self.enter()?;
        let result = self.eval_pipeline(dot, pipe);
        self.depth -= 1;
        result
    }

    fn walk(&mut self, dot: &Val, node: &Node) -> Exec<()> {
        match node {
            Node::Text(t) => self.write(t),
            Node::Action { pos, pipe } => {
                self.at(*pos, pipe.show());
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(*pos, pipe.show());
                    let text = match &value {
                        Val::Invalid => "<no value>".to_string(),
                        other => sprint(other),
                    };
                    self.write(&text)?;
                }
                Ok(())
            }
            Node::If { pos, pipe, list, otherwise } => self.if_or_with(false, dot, *pos, pipe, list, otherwise.as_deref()),
            Node::With { pos, pipe, list, otherwise } => self.if_or_with(true, dot, *pos, pipe, list, otherwise.as_deref()),
            Node::Range { pos, pipe, list, otherwise } => self.range(dot, *pos, pipe, list, otherwise.as_deref()),
            Node::Break => Err(Stop::Break),
            Node::Continue => Err(Stop::Continue),
            Node::Template { pos, name, pipe } => {
                self.at(*pos, format!("{{{{template {}}}}}", go_quote(name)));
                let Some(body) = self.template.defined.get(name) else {
                    return self.error(format!("template {} not defined", go_quote(name)));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Val::Invalid,
                };
                let saved = std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let result = self.walk_list(&new_dot, body);
                self.vars = saved;
                result
            }
        }
    }

    fn if_or_with(&mut self, with: bool, dot: &Val, pos: usize, pipe: &Pipe, list: &[Node], otherwise: Option<&[Node]>) -> Exec<()> {
        let mark = self.vars.len();
        self.at(pos, pipe.show());
        let value = self.eval_pipeline(dot, pipe)?;
        let truth = is_true(&value);
        let result = if truth {
            if with {
                self.walk_list(&value, list)
            } else {
                self.walk_list(dot, list)
            }
        } else if let Some(other) = otherwise {
            self.walk_list(dot, other)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        result
    }

    fn range(&mut self, dot: &Val, pos: usize, pipe: &Pipe, list: &[Node], otherwise: Option<&[Node]>) -> Exec<()> {
        self.at(pos, pipe.show());
        let value = self.eval_pipeline(dot, pipe)?;
        let mark = self.vars.len();
        let mut items: Vec<(Val, Val)> = Vec::new();
        match &value {
            Val::List(a) => items = a.iter().enumerate().map(|(i, v)| (Val::Int(i as i64, false), Val::Iface(v.clone()))).collect(),
            Val::Map(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                items = keys.into_iter().filter_map(|k| m.get(k).map(|v| (Val::Str(k.clone()), Val::Iface(v.clone())))).collect();
            }
            Val::Int(n, _) => {
                if pipe.decl.len() > 1 {
                    return self.error(format!("can't use {n} to iterate over more than one variable"));
                }
                if (*n as u64) > MAX_ITERATIONS && *n > 0 {
                    return self.error(format!("range over {n} is longer than this simulation's {MAX_ITERATIONS} iterations"));
                }
                items = (0..(*n).max(0)).map(|i| (Val::Int(i, false), Val::Int(i, false))).collect();
            }
            Val::Invalid => {}
            other => return self.error(format!("range can't iterate over {}", sprint(other))),
        }
        if items.is_empty() {
            self.vars.truncate(mark);
            return match otherwise {
                Some(other) => self.walk_list(dot, other),
                None => Ok(()),
            };
        }
        for (index, elem) in items {
            self.iterations += 1;
            if self.iterations > MAX_ITERATIONS {
                return self.error(format!("more than {MAX_ITERATIONS} range iterations (this simulation's bound)"));
            }
            let body_mark = self.vars.len();
            if !pipe.decl.is_empty() {
                if pipe.is_assign {
                    let first = if pipe.decl.len() > 1 { index.clone() } else { elem.clone() };
                    if let Some(name) = pipe.decl.first() {
                        self.set_var(name, first);
                    }
                } else {
                    self.set_top_var(1, elem.clone());
                }
            }
            if pipe.decl.len() > 1 {
                if pipe.is_assign {
                    if let Some(name) = pipe.decl.get(1) {
                        self.set_var(name, elem.clone());
                    }
                } else {
                    self.set_top_var(2, index.clone());
                }
            }
            let result = self.walk_list(&elem, list);
            self.vars.truncate(body_mark);
            match result {
                Ok(()) | Err(Stop::Continue) => {}
                Err(Stop::Break) => break,
                Err(e) => return Err(e),
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn set_var(&mut self, name: &str, value: Val) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = value;
        }
    }

    fn set_top_var(&mut self, n: usize, value: Val) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    fn var_value(&self, name: &str) -> Exec<Val> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.error(format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &Pipe) -> Exec<Val> {
        self.at(pipe.pos, pipe.show());
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.concrete());
        }
        let value = value.unwrap_or(Val::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Val>) -> Exec<()> {
        if args.len() > 1 || fin.is_some() {
            return self.error(format!("can't give argument to non-function {}", args.first().map(Arg::show).unwrap_or_default()));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &Command, fin: Option<Val>) -> Exec<Val> {
        let Some(first) = cmd.args.first() else { return Ok(Val::Invalid) };
        match first {
            Arg::Field { pos, idents } => {
                self.at(*pos, first.show());
                return self.eval_field_chain(dot, dot.clone(), idents, &cmd.args, &fin);
            }
            Arg::Chain { pos, node, fields } => {
                self.at(*pos, first.show());
                if matches!(**node, Arg::Nil { .. }) {
                    return self.error(format!("indirection through explicit nil in {}", first.show()));
                }
                let receiver = self.eval_arg(dot, node)?.concrete();
                self.at(*pos, first.show());
                return self.eval_field_chain(dot, receiver, fields, &cmd.args, &fin);
            }
            Arg::Identifier { pos, name } => {
                self.at(*pos, name.clone());
                return self.eval_function(dot, name, &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_parenthesized(dot, p);
            }
            Arg::Variable { pos, idents } => {
                self.at(*pos, first.show());
                let (name, fields) = idents.split_first().map(|(n, f)| (n.as_str(), f)).unwrap_or(("$", &[]));
                let value = self.var_value(name)?;
                if fields.is_empty() {
                    self.not_a_function(&cmd.args, &fin)?;
                    return Ok(value);
                }
                return self.eval_field_chain(dot, value, fields, &cmd.args, &fin);
            }
            _ => {}
        }
        self.at(first.pos(), first.show());
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { value, .. } => Ok(Val::Bool(*value)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.error("nil is not a command".to_string()),
            Arg::Number { value, .. } => Ok(literal(value)),
            Arg::String { text, .. } => Ok(Val::Str(text.clone())),
            _ => self.error(format!("can't evaluate command {}", first.show())),
        }
    }

    /// `evalFieldChain`: each field in turn, the last one given the
    /// command's other arguments (a map key takes none).
    fn eval_field_chain(&mut self, _dot: &Val, receiver: Val, idents: &[String], args: &[Arg], fin: &Option<Val>) -> Exec<Val> {
        let mut receiver = receiver;
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            let last = i + 1 == n;
            let has_args = last && (args.len() > 1 || fin.is_some());
            receiver = self.eval_field(name, receiver, has_args)?;
        }
        Ok(receiver)
    }

    fn eval_field(&self, name: &str, receiver: Val, has_args: bool) -> Exec<Val> {
        let map = match receiver {
            Val::Invalid => {
                if self.missing_key_error {
                    return self.error(format!("nil data; no entry for key {}", go_quote(name)));
                }
                return Ok(Val::Invalid);
            }
            Val::Iface(Value::Null) => return self.error(format!("nil pointer evaluating interface {{}}.{name}")),
            Val::Iface(Value::Object(m)) | Val::Map(m) => m,
            other => return self.error(format!("can't evaluate field {name} in type {}", other.type_name())),
        };
        if has_args {
            return self.error(format!("{name} is not a method but has arguments"));
        }
        match map.get(name) {
            Some(v) => Ok(Val::Iface(v.clone())),
            None if self.missing_key_error => self.error(format!("map has no entry for key {}", go_quote(name))),
            None => Ok(Val::Invalid),
        }
    }

    fn eval_arg(&mut self, dot: &Val, arg: &Arg) -> Exec<Val> {
        self.at(arg.pos(), arg.show());
        match arg {
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Ok(Val::Invalid),
            Arg::Field { idents, .. } => self.eval_field_chain(dot, dot.clone(), idents, std::slice::from_ref(arg), &None),
            Arg::Variable { idents, .. } => {
                let (name, fields) = idents.split_first().map(|(n, f)| (n.as_str(), f)).unwrap_or(("$", &[]));
                let value = self.var_value(name)?;
                self.eval_field_chain(dot, value, fields, std::slice::from_ref(arg), &None)
            }
            Arg::Pipe(p) => self.eval_parenthesized(dot, p),
            Arg::Identifier { name, .. } => self.eval_function(dot, name, std::slice::from_ref(arg), None),
            Arg::Chain { node, fields, .. } => {
                let receiver = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, receiver, fields, std::slice::from_ref(arg), &None)
            }
            Arg::Bool { value, .. } => Ok(Val::Bool(*value)),
            Arg::Number { value, .. } => Ok(literal(value)),
            Arg::String { text, .. } => Ok(Val::Str(text.clone())),
        }
    }

    /// The arguments of a function call, with the previous command's value last.
    fn call_args(&mut self, dot: &Val, args: &[Arg], fin: Option<Val>) -> Exec<Vec<Val>> {
        let mut values = Vec::new();
        for a in args.iter().skip(1) {
            values.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            values.push(f);
        }
        Ok(values)
    }

    fn eval_function(&mut self, dot: &Val, name: &str, args: &[Arg], fin: Option<Val>) -> Exec<Val> {
        let pos = args.first().map(Arg::pos).unwrap_or(0);
        // `and` and `or` evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let count = args.len().saturating_sub(1) + usize::from(fin.is_some());
            if count < 1 {
                self.at(pos, name.to_string());
                return self.error(format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            let mut last = Val::Invalid;
            let mut rest = args.iter().skip(1);
            for a in rest.by_ref() {
                let v = self.eval_arg(dot, a)?;
                let t = is_true(&v);
                last = v;
                if (name == "and" && !t) || (name == "or" && t) {
                    return Ok(last);
                }
            }
            if let Some(f) = fin {
                last = f;
            }
            return Ok(last);
        }
        let values = self.call_args(dot, args, fin)?;
        self.at(pos, name.to_string());
        // A call that fails names its whole command (Go's `s.at(cmd)`).
        let command = Command { args: args.to_vec() }.show();
        let call = |e: String| format!("error calling {name}: {e}");
        let want = |s: &Self, n: usize| -> Exec<()> {
            if values.len() != n {
                return s.error(format!("wrong number of args for {name}: want {n} got {}", values.len()));
            }
            Ok(())
        };
        match name {
            "not" => {
                want(self, 1)?;
                Ok(Val::Bool(!values.first().is_some_and(is_true)))
            }
            "len" => {
                want(self, 1)?;
                match values.first().cloned().unwrap_or(Val::Invalid) {
                    Val::Iface(Value::Null) => self.call_error(pos, &command, call("len of nil pointer".to_string())),
                    // Go's reflect panics on the zero Value; the template recovers it.
                    Val::Invalid => self.call_error(pos, &command, call("reflect: call of reflect.Value.Type on zero Value".to_string())),
                    other => match other.concrete() {
                    Val::Str(s) => Ok(Val::Int(s.len() as i64, false)),
                    Val::List(a) => Ok(Val::Int(a.len() as i64, false)),
                    Val::Map(m) => Ok(Val::Int(m.len() as i64, false)),
                    other => self.call_error(pos, &command, call(format!("len of type {}", other.type_name()))),
                    },
                }
            }
            "index" => {
                if values.is_empty() {
                    return self.error(format!("wrong number of args for index: want at least 1 got 0"));
                }
                let mut item = values.first().cloned().unwrap_or(Val::Invalid);
                for key in values.iter().skip(1) {
                    item = match index_one(item, key) {
                        Ok(v) => v,
                        Err(e) => return self.call_error(pos, &command, call(e)),
                    };
                }
                Ok(item)
            }
            "slice" => {
                if values.is_empty() {
                    return self.error(format!("wrong number of args for slice: want at least 1 got 0"));
                }
                match slice_of(&values) {
                    Ok(v) => Ok(v),
                    Err(e) => self.call_error(pos, &command, call(e)),
                }
            }
            "print" => Ok(Val::Str(go_sprint_args(&values))),
            "println" => Ok(Val::Str(go_sprintln_args(&values))),
            "printf" => {
                let Some(format) = values.first() else {
                    return self.error("wrong number of args for printf: want at least 1 got 0".to_string());
                };
                let Val::Str(format) = format.clone().concrete() else {
                    return self.error(format!("wrong type for value; expected string; got {}", format.type_name()));
                };
                Ok(Val::Str(sprintf(&format, values.get(1..).unwrap_or(&[]))))
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                if name != "eq" {
                    want(self, 2)?;
                } else if values.is_empty() {
                    return self.error("wrong number of args for eq: want at least 1 got 0".to_string());
                }
                match compare(name, &values) {
                    Ok(b) => Ok(Val::Bool(b)),
                    Err(e) => self.call_error(pos, &command, call(e)),
                }
            }
            "html" => Ok(Val::Str(html_escape(&go_sprint_args(&values)))),
            "js" => Ok(Val::Str(js_escape(&go_sprint_args(&values)))),
            "urlquery" => Ok(Val::Str(query_escape(&go_sprint_args(&values)))),
            "exists" => {
                if values.is_empty() {
                    return self.error("wrong number of args for exists: want at least 1 got 0".to_string());
                }
                Ok(Val::Bool(exists(&values)))
            }
            "base64decode" => {
                want(self, 1)?;
                let Some(Val::Str(text)) = values.first().cloned().map(Val::concrete) else {
                    let got = values.first().map(|v| v.clone().concrete().type_name()).unwrap_or("<nil>");
                    return self.error(format!("wrong type for value; expected string; got {got}"));
                };
                match crate::engine::api::go_base64::decode(text.as_bytes()) {
                    Ok(bytes) => Ok(Val::Str(String::from_utf8_lossy(&bytes).into_owned())),
                    Err(e) => self.call_error(pos, &command, call(format!("base64 decode failed: {e}"))),
                }
            }
            "call" => {
                let got = values.first().map(|v| v.clone().concrete().type_name()).unwrap_or("<nil>");
                self.error(call(format!("non-function {} of type {got}", args.get(1).map(Arg::show).unwrap_or_default())))
            }
            _ => self.error(format!("{} is not a defined function", go_quote(name))),
        }
    }
}

fn literal(value: &Literal) -> Val {
    match value {
        Literal::Int(i) => Val::Int(*i, false),
        Literal::Float(f) => Val::Float(*f),
        Literal::Char(c) => Val::Int(*c, false),
    }
}

/// Go's `isTrue`: false for a zero value or an empty container.
fn is_true(v: &Val) -> bool {
    match v {
        Val::Invalid => false,
        Val::Iface(j) => match j {
            Value::Null => false,
            _ => true,
        },
        Val::Str(s) => !s.is_empty(),
        Val::Int(i, _) => *i != 0,
        Val::Float(f) => *f != 0.0,
        Val::Bool(b) => *b,
        Val::List(a) => !a.is_empty(),
        Val::Map(m) => !m.is_empty(),
    }
}

/// Go's `indexArg`: an index up to the length (one past the end passes
/// here and fails in reflect).
fn index_arg(key: &Val, len: usize) -> std::result::Result<usize, String> {
    match key {
        Val::Int(i, _) if *i < 0 || *i as u64 > len as u64 => Err(format!("index out of range: {i}")),
        Val::Int(i, _) => Ok(*i as usize),
        Val::Invalid => Err("cannot index slice/array with nil".to_string()),
        other => Err(format!("cannot index slice/array with type {}", other.type_name())),
    }
}

fn index_one(item: Val, key: &Val) -> std::result::Result<Val, String> {
    let key = key.clone().concrete();
    if matches!(item, Val::Iface(Value::Null)) {
        return Err("index of nil pointer".to_string());
    }
    match item.concrete() {
        Val::List(a) => {
            let i = index_arg(&key, a.len())?;
            a.get(i).cloned().map(Val::Iface).ok_or_else(|| "reflect: slice index out of range".to_string())
        }
        Val::Str(s) => {
            let i = index_arg(&key, s.len())?;
            s.as_bytes().get(i).map(|b| Val::Int(i64::from(*b), false)).ok_or_else(|| "reflect: string index out of range".to_string())
        }
        Val::Map(m) => match key {
            Val::Str(k) => Ok(m.get(&k).cloned().map(Val::Iface).unwrap_or(Val::Invalid)),
            Val::Invalid => Err("value is nil; should be of type string".to_string()),
            other => Err(format!("value has type {}; should be string", other.type_name())),
        },
        Val::Invalid => Err("index of untyped nil".to_string()),
        other => Err(format!("can't index item of type {}", other.type_name())),
    }
}

fn slice_of(values: &[Val]) -> std::result::Result<Val, String> {
    let item = values.first().cloned().unwrap_or(Val::Invalid).concrete();
    let len = match &item {
        Val::Str(s) => s.len(),
        Val::List(a) => a.len(),
        Val::Invalid => return Err("slice of untyped nil".to_string()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let bounds = values.get(1..).unwrap_or(&[]);
    if bounds.len() > 3 {
        return Err(format!("too many slice indexes: {}", bounds.len()));
    }
    if bounds.len() == 3 && matches!(item, Val::Str(_)) {
        return Err("cannot 3-index slice a string".to_string());
    }
    let mut idx = [0usize, len, len];
    for (i, b) in bounds.iter().enumerate() {
        let Val::Int(v, _) = b.clone().concrete() else { return Err(format!("cannot index slice/array with type {}", b.type_name())) };
        if v < 0 || v as usize > len {
            return Err(format!("index out of range: {v}"));
        }
        if let Some(slot) = idx.get_mut(i) {
            *slot = v as usize;
        }
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if bounds.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Val::Str(s) => Val::Str(s.as_bytes().get(idx[0]..idx[1]).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()),
        Val::List(a) => Val::List(a.get(idx[0]..idx[1]).map(<[Value]>::to_vec).unwrap_or_default()),
        _ => Val::Invalid,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Val) -> Kind {
    match v {
        Val::Invalid => Kind::Invalid,
        Val::Bool(_) => Kind::Bool,
        Val::Int(..) => Kind::Int,
        Val::Float(_) => Kind::Float,
        Val::Str(_) => Kind::String,
        _ => Kind::Other,
    }
}

/// Go's `eq`, `ne`, `lt`, `le`, `gt`, `ge` on values out of their interfaces.
fn compare(name: &str, values: &[Val]) -> std::result::Result<bool, String> {
    let a = values.first().cloned().unwrap_or(Val::Invalid).concrete();
    if name == "eq" || name == "ne" {
        let rest: Vec<Val> = values.iter().skip(1).cloned().map(Val::concrete).collect();
        if rest.is_empty() {
            return Err("missing argument for comparison".to_string());
        }
        for b in &rest {
            let (ka, kb) = (kind(&a), kind(b));
            let truth = if ka != kb {
                if ka != Kind::Invalid && kb != Kind::Invalid {
                    return Err("incompatible types for comparison".to_string());
                }
                false
            } else {
                match (&a, b) {
                    (Val::Bool(x), Val::Bool(y)) => x == y,
                    (Val::Int(x, _), Val::Int(y, _)) => x == y,
                    (Val::Float(x), Val::Float(y)) => x == y,
                    (Val::Str(x), Val::Str(y)) => x == y,
                    (Val::Invalid, Val::Invalid) => true,
                    (Val::List(_), Val::List(_)) | (Val::Map(_), Val::Map(_)) => {
                        return Err(format!("non-comparable type {}: {}", format_verb('s', b, &Flags::default(), None), b.type_name()));
                    }
                    _ => return Err(format!("non-comparable types {}: {}, {}: {}", format_verb('s', &a, &Flags::default(), None), a.type_name(), b.type_name(), sprint(b))),
                }
            };
            if name == "ne" {
                return Ok(!truth);
            }
            if truth {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let b = values.get(1).cloned().unwrap_or(Val::Invalid).concrete();
    let (ka, kb) = (kind(&a), kind(&b));
    if ka != kb {
        return Err("incompatible types for comparison".to_string());
    }
    let less = match (&a, &b) {
        (Val::Int(x, _), Val::Int(y, _)) => x < y,
        (Val::Float(x), Val::Float(y)) => x < y,
        (Val::Str(x), Val::Str(y)) => x < y,
        _ => return Err("invalid type for comparison".to_string()),
    };
    let equal = match (&a, &b) {
        (Val::Int(x, _), Val::Int(y, _)) => x == y,
        (Val::Float(x), Val::Float(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        _ => false,
    };
    Ok(match name {
        "lt" => less,
        "le" => less || equal,
        "gt" => !less && !equal,
        _ => !less,
    })
}

/// kubectl's `exists`: whether the keys and indexes lead to a value that
/// is not nil.
fn exists(values: &[Val]) -> bool {
    let mut item = values.first().cloned().unwrap_or(Val::Invalid);
    for key in values.iter().skip(1) {
        let next = match (item.concrete(), key.clone().concrete()) {
            (Val::Map(m), Val::Str(k)) => m.get(&k).cloned().map(Val::Iface).unwrap_or(Val::Invalid),
            (Val::List(a), Val::Int(i, _)) => match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                Some(v) => Val::Iface(v.clone()),
                None => return false,
            },
            (Val::Str(s), Val::Int(i, _)) => match usize::try_from(i).ok().and_then(|i| s.as_bytes().get(i)) {
                Some(b) => Val::Int(i64::from(*b), false),
                None => return false,
            },
            _ => return false,
        };
        item = next;
    }
    !matches!(item, Val::Invalid | Val::Iface(Value::Null))
}

fn is_string(v: &Val) -> bool {
    matches!(v, Val::Str(_)) || matches!(v, Val::Iface(Value::String(_)))
}

/// `fmt.Sprint`: a space between operands when neither is a string.
fn go_sprint_args(values: &[Val]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 && !is_string(v) && values.get(i - 1).is_some_and(|p| !is_string(p)) {
            out.push(' ');
        }
        out.push_str(&sprint(&v.clone().concrete_or_nil()));
    }
    out
}

fn go_sprintln_args(values: &[Val]) -> String {
    let mut out: Vec<String> = values.iter().map(|v| sprint(&v.clone().concrete_or_nil())).collect();
    let mut text = out.drain(..).collect::<Vec<_>>().join(" ");
    text.push('\n');
    text
}

impl Val {
    /// A value as fmt sees it as an argument: a nil interface is `<nil>`.
    fn concrete_or_nil(self) -> Val {
        match self {
            Val::Iface(Value::Null) => Val::Invalid,
            Val::Iface(v) => from_json(v),
            other => other,
        }
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if !go_printable(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `unicode.IsPrint`, near enough: no controls, no spaces but ' ',
/// no format characters.
fn go_printable(c: char) -> bool {
    !(c.is_control() || (c.is_whitespace() && c != ' ') || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------- printf

/// Go's `fmt.Sprintf` for the verbs a template uses on JSON values.
fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut arg_index = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = Flags::default();
        while let Some(&f) = chars.peek() {
            match f {
                '+' => flags.plus = true,
                '-' => flags.minus = true,
                '#' => flags.sharp = true,
                ' ' => flags.space = true,
                '0' => flags.zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
            if width.unwrap_or(0) > 1_000_000 {
                break;
            }
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = (p * 10 + d as usize).min(1_000_000);
                chars.next();
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(arg_index) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        arg_index += 1;
        let arg = arg.clone().concrete_or_nil();
        let text = format_verb(verb, &arg, &flags, precision);
        out.push_str(&pad(&text, width, &flags, verb, &arg));
    }
    if arg_index < args.len() {
        let extra: Vec<String> = args.iter().skip(arg_index).map(|a| {
            let a = a.clone().concrete_or_nil();
            match a {
                Val::Invalid => "<nil>".to_string(),
                other => format!("{}={}", other.type_name(), sprint(&other)),
            }
        }).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[derive(Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
}

fn bad_verb(verb: char, arg: &Val) -> String {
    match arg {
        Val::Invalid => format!("%!{verb}(<nil>)"),
        other => format!("%!{verb}({}={})", other.type_name(), sprint(other)),
    }
}

/// An element inside a list or map: a nil one is `<nil>` for any verb.
fn element_verb(verb: char, v: &Value, flags: &Flags, precision: Option<usize>) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        other => format_verb(verb, &from_json(other.clone()), flags, precision),
    }
}

fn format_verb(verb: char, arg: &Val, flags: &Flags, precision: Option<usize>) -> String {
    match (verb, arg) {
        ('v', other) if flags.sharp => sharp_v(other),
        ('v', Val::Float(f)) if !flags.sharp => format_float_verb('g', *f, flags, precision),
        ('v', Val::Int(i, _)) if !flags.sharp => signed(*i, flags),
        ('v', Val::Invalid) => "<nil>".to_string(),
        ('v', other) => sprint(other),
        ('T', other) => other.type_name().to_string(),
        ('s', Val::Str(s)) => truncate(s, precision),
        ('q', Val::Str(s)) => go_quote(s),
        ('x' | 'X', Val::Str(s)) => {
            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' { hex.to_uppercase() } else { hex }
        }
        ('d', Val::Int(i, _)) => signed(*i, flags),
        ('b', Val::Int(i, _)) => format!("{}{:b}", if *i < 0 { "-" } else { "" }, i.unsigned_abs()),
        ('o', Val::Int(i, _)) => format!("{}{}{:o}", if *i < 0 { "-" } else { "" }, if flags.sharp { "0" } else { "" }, i.unsigned_abs()),
        ('x', Val::Int(i, _)) => format!("{}{}{:x}", if *i < 0 { "-" } else { "" }, if flags.sharp { "0x" } else { "" }, i.unsigned_abs()),
        ('X', Val::Int(i, _)) => format!("{}{}{:X}", if *i < 0 { "-" } else { "" }, if flags.sharp { "0X" } else { "" }, i.unsigned_abs()),
        ('U', Val::Int(i, _)) => format!("U+{:04X}", i),
        ('c', Val::Int(i, _)) => u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}').to_string(),
        ('q', Val::Int(i, _)) => format!("'{}'", u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}')),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Val::Float(f)) => format_float_verb(verb, *f, flags, precision),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Val::Int(..)) => bad_verb(verb, arg),
        ('t', Val::Bool(b)) => b.to_string(),
        ('s' | 'q' | 'x' | 'X' | 'd' | 't', Val::List(items)) => {
            let parts: Vec<String> = items.iter().map(|v| element_verb(verb, v, flags, precision)).collect();
            format!("[{}]", parts.join(" "))
        }
        ('s' | 'd' | 't' | 'q' | 'x' | 'X', Val::Map(m)) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .filter_map(|k| m.get(*k).map(|v| format!("{}:{}", format_verb(verb, &Val::Str((*k).clone()), flags, precision), element_verb(verb, v, flags, precision))))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        _ => bad_verb(verb, arg),
    }
}

/// Go's `%#v` of a value.
fn sharp_v(v: &Val) -> String {
    match v {
        Val::Invalid => "<nil>".to_string(),
        Val::Str(s) => go_quote(s),
        Val::Int(i, _) => i.to_string(),
        Val::Float(f) => format_float_g(*f, None, false),
        Val::Bool(b) => b.to_string(),
        Val::Iface(j) => super::jsonpath::go_sharp_v(j),
        Val::List(a) => super::jsonpath::go_sharp_v(&Value::Array(a.clone())),
        Val::Map(m) => super::jsonpath::go_sharp_v(&Value::Object(m.clone())),
    }
}

fn signed(i: i64, flags: &Flags) -> String {
    if i >= 0 && flags.plus {
        format!("+{i}")
    } else if i >= 0 && flags.space {
        format!(" {i}")
    } else {
        i.to_string()
    }
}

fn truncate(s: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn format_float_verb(verb: char, f: f64, flags: &Flags, precision: Option<usize>) -> String {
    let body = match verb {
        'e' | 'E' => {
            let p = precision.unwrap_or(6);
            let s = format!("{:.*e}", p, f);
            let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
            let e: i32 = e.parse().unwrap_or(0);
            let text = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
            if verb == 'E' { text.to_uppercase() } else { text }
        }
        'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), f),
        _ => format_float_g(f, precision.map(|p| p.max(1)), verb == 'G'),
    };
    if f >= 0.0 && flags.plus {
        format!("+{body}")
    } else if f >= 0.0 && flags.space {
        format!(" {body}")
    } else {
        body
    }
}

fn pad(text: &str, width: Option<usize>, flags: &Flags, verb: char, arg: &Val) -> String {
    let Some(width) = width else { return text.to_string() };
    let len = text.chars().count();
    if len >= width {
        return text.to_string();
    }
    let fill = width - len;
    if flags.minus {
        return format!("{text}{}", " ".repeat(fill));
    }
    let numeric = matches!(arg, Val::Int(..) | Val::Float(_)) && matches!(verb, 'd' | 'v' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o' | 'b');
    if flags.zero && numeric {
        let (sign, digits) = match text.strip_prefix('-').or_else(|| text.strip_prefix('+')) {
            Some(rest) => (text.get(..1).unwrap_or(""), rest),
            None => ("", text),
        };
        return format!("{sign}{}{digits}", "0".repeat(fill));
    }
    format!("{}{text}", " ".repeat(fill))
}

#[cfg(test)]
mod tests;
