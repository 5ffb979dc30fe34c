//! kubectl's JSONPath templates (`-o jsonpath=…`, custom columns,
//! `--sort-by`): client-go v0.33.0's util/jsonpath, its parser and its
//! evaluator, step by step over decoded JSON, so a template fails where
//! kubectl's fails (an index past the end, a filter on a map, a bare word
//! in a filter) with client-go's words, and a missing key is an error only
//! when the caller does not allow missing keys.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{to_json_compact, to_json_indented};

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    List(Vec<Node>),
    Field(String),
    Identifier(String),
    Array([Param; 3]),
    Filter { left: Vec<Node>, right: Vec<Node>, operator: String },
    Int(i64),
    Float(f64),
    Bool(bool),
    Wildcard,
    Recursive,
    Union(Vec<Vec<Node>>),
}

/// A slice bound (`ParamsEntry`): `derived` marks an end made from a
/// single index (`[2]` is `[2:3]`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Param {
    value: i64,
    known: bool,
    derived: bool,
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

/// One selected value: borrowed from the object, or made by the template
/// (a literal, a string's bytes).
type Found<'a> = Cow<'a, Value>;

static NULL: Value = Value::Null;

impl Template {
    /// `jsonpath.Parse`; errors read as client-go's (`unclosed action`, …).
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parser = Parser { input: text, pos: 0, start: 0, width: 0 };
        let mut nodes = Vec::new();
        parser.parse_text(&mut nodes)?;
        Ok(Template { nodes })
    }

    /// `JSONPath.Execute`: the template's text for `data`, or the error
    /// that stops it (nothing is printed then).
    pub fn execute(&self, data: &Value, allow_missing_keys: bool) -> Result<String, String> {
        let results = self.find_results(data, allow_missing_keys)?;
        let mut out = String::new();
        for values in &results {
            print_results(values, &mut out);
        }
        Ok(out)
    }

    /// `-o jsonpath-as-json`: each node's values as one indented JSON array.
    pub fn execute_as_json(&self, data: &Value, allow_missing_keys: bool) -> Result<String, String> {
        let results = self.find_results(data, allow_missing_keys)?;
        let mut out = String::new();
        for values in &results {
            let array = Value::Array(values.iter().map(|v| v.as_ref().clone()).collect());
            out.push_str(&to_json_indented(&array));
            out.push('\n');
        }
        Ok(out)
    }

    /// `JSONPath.FindResults`: the values each top-level node selects (a
    /// range's nodes once per element), as custom columns and `--sort-by` read them.
    pub fn find_results<'a>(&'a self, data: &'a Value, allow_missing_keys: bool) -> Result<Vec<Vec<Found<'a>>>, String> {
        let mut run = Run { allow_missing_keys, begin_range: 0, in_range: 0, end_range: 0, last_end_node: None, blocks: 0 };
        run.find_results(&self.nodes, 0, Cow::Borrowed(data))
    }
}

/// cli-runtime's `RelaxedJSONPathExpression` (custom columns, `--sort-by`):
/// `a.b`, `.a.b`, `{a.b}` and `{.a.b}` all become `{.a.b}`.
pub fn relaxed_expression(expr: &str) -> Result<String, String> {
    if expr.is_empty() {
        return Ok(String::new());
    }
    let no_braces = |s: &str| !s.is_empty() && !s.contains(['{', '}']);
    // `^\{\.?([^{}]+)\}$` first, then `^\.?([^{}]+)$`.
    if let Some(inner) = expr.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let field = inner.strip_prefix('.').filter(|f| no_braces(f)).unwrap_or(inner);
        if no_braces(field) {
            return Ok(format!("{{.{field}}}"));
        }
    }
    let field = expr.strip_prefix('.').filter(|f| no_braces(f)).unwrap_or(expr);
    if no_braces(field) {
        return Ok(format!("{{.{field}}}"));
    }
    Err("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'".to_string())
}

/// [`relaxed_expression`], or the text itself where that refuses it.
pub fn relaxed(expr: &str) -> String {
    relaxed_expression(expr).unwrap_or_else(|_| expr.to_string())
}

const EOF: Option<char> = None;

struct Parser<'t> {
    input: &'t str,
    pos: usize,
    start: usize,
    width: usize,
}

impl<'t> Parser<'t> {
    fn consume_text(&mut self) -> &'t str {
        let value = &self.input[self.start..self.pos];
        self.start = self.pos;
        value
    }

    fn next(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            None => {
                self.width = 0;
                EOF
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn rest(&self) -> &'t str {
        &self.input[self.pos..]
    }

    /// The byte two before the current position (client-go's escape test).
    fn escaped(&self) -> bool {
        self.pos >= 2 && self.input.as_bytes().get(self.pos - 2) == Some(&b'\\')
    }

    fn parse_text(&mut self, root: &mut Vec<Node>) -> Result<(), String> {
        loop {
            if self.rest().starts_with('{') {
                if self.pos > self.start {
                    root.push(Node::Text(self.consume_text().to_string()));
                }
                self.pos += 1;
                self.consume_text();
                let mut action = Vec::new();
                self.parse_inside_action(&mut action)?;
                root.push(Node::List(action));
                continue;
            }
            if self.next() == EOF {
                break;
            }
        }
        if self.pos > self.start {
            root.push(Node::Text(self.consume_text().to_string()));
        }
        Ok(())
    }

    /// Everything up to the action's closing brace.
    fn parse_inside_action(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            if self.rest().starts_with('}') {
                self.pos += 1;
                self.consume_text();
                return Ok(());
            }
            if self.rest().starts_with("[?(") {
                self.parse_filter(cur)?;
                continue;
            }
            if self.rest().starts_with("..") {
                self.parse_recursive(cur)?;
                continue;
            }
            match self.next() {
                None | Some('\r') | Some('\n') => return Err("unclosed action".to_string()),
                Some(' ') | Some('@') | Some('$') => {
                    self.consume_text();
                }
                Some('[') => self.parse_array(cur)?,
                Some(q @ ('"' | '\'')) => self.parse_quote(cur, q)?,
                Some('.') => self.parse_field(cur)?,
                Some(c) if c == '+' || c == '-' || is_digit(c) => {
                    self.backup();
                    self.parse_number(cur)?;
                }
                Some(c) if is_alphanumeric(c) => {
                    self.backup();
                    self.parse_identifier(cur)?;
                }
                Some(c) => return Err(format!("unrecognized character in action: {}", go_sharp_u(c))),
            }
        }
    }

    fn parse_identifier(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            let r = self.next();
            if is_terminator(r) {
                self.backup();
                break;
            }
        }
        let value = self.consume_text();
        cur.push(match value {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            _ => Node::Identifier(value.to_string()),
        });
        Ok(())
    }

    fn parse_recursive(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if cur.last() == Some(&Node::Recursive) {
            return Err("invalid multiple recursive descent".to_string());
        }
        self.pos += 2;
        self.consume_text();
        cur.push(Node::Recursive);
        if self.peek().is_some_and(is_alphanumeric) {
            return self.parse_field(cur);
        }
        Ok(())
    }

    fn parse_number(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(self.peek(), Some('+') | Some('-')) {
            self.next();
        }
        loop {
            match self.next() {
                Some(c) if c == '.' || is_digit(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        let value = self.consume_text();
        if let Ok(i) = value.parse::<i64>() {
            cur.push(Node::Int(i));
        } else if let Some(f) = parse_go_float(value) {
            cur.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}"));
        }
        Ok(())
    }

    fn parse_array(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_string()),
                Some(']') => break,
                _ => {}
            }
        }
        let consumed = self.consume_text();
        let mut text = &consumed[1..consumed.len() - 1];
        if text == "*" {
            text = ":";
        }
        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::new();
            for part in parts {
                union.push(parse_action(&format!("[{}]", part.trim_matches(' ')))?);
            }
            cur.push(Node::Union(union));
            return Ok(());
        }
        // A dict key, `['a.b']`, reads as the field path `.a.b`.
        if let Some(key) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).filter(|k| !k.contains('\'')) {
            cur.extend(parse_action(&format!(".{key}"))?);
            return Ok(());
        }
        let groups = slice_groups(text).ok_or_else(|| format!("invalid array index {text}"))?;
        let mut params = [Param::default(); 3];
        for i in 0..3 {
            let mut value = groups[i];
            if !value.is_empty() {
                if i > 0 {
                    value = &value[1..];
                }
                if i > 0 && value.is_empty() {
                    params[i].known = false;
                } else {
                    params[i].known = true;
                    params[i].value = value.parse::<i64>().map_err(|_| format!("array index {value} is not a number"))?;
                }
            } else if i == 1 {
                params[i] = Param { value: params[0].value.saturating_add(1), known: true, derived: true };
            } else {
                params[i] = Param::default();
            }
        }
        cur.push(Node::Array(params));
        Ok(())
    }

    fn parse_filter(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        self.pos += 3;
        self.consume_text();
        let mut begin = false;
        let mut end = false;
        let mut pair = '"';
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_string()),
                Some(r @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = r;
                        continue;
                    }
                    if !self.escaped() && r == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                _ => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_string());
        }
        let consumed = self.consume_text();
        let text = &consumed[..consumed.len() - 2];
        match filter_parts(text) {
            None => cur.push(Node::Filter { left: parse_action(text)?, right: Vec::new(), operator: "exists".to_string() }),
            Some((left, operator, right)) => {
                cur.push(Node::Filter { left: parse_action(left)?, right: parse_action(right)?, operator: operator.to_string() })
            }
        }
        Ok(())
    }

    fn parse_quote(&mut self, cur: &mut Vec<Node>, end: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_string()),
                Some(c) if c == end && !self.escaped() => break,
                _ => {}
            }
        }
        let value = self.consume_text();
        let text = unquote_extend(value).ok_or_else(|| format!("unquote string {value} error invalid syntax"))?;
        cur.push(Node::Text(text));
        Ok(())
    }

    fn parse_field(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        self.consume_text();
        while self.advance() {}
        let value = self.consume_text();
        cur.push(if value == "*" { Node::Wildcard } else { Node::Field(value.replace('\\', "")) });
        Ok(())
    }

    /// Steps over one character of a field name (an escaped one whole).
    fn advance(&mut self) -> bool {
        let r = self.next();
        if r == Some('\\') {
            self.next();
        } else if is_terminator(r) {
            self.backup();
            return false;
        }
        true
    }
}

/// `parseAction`: the nodes of `{text}`'s first action.
fn parse_action(text: &str) -> Result<Vec<Node>, String> {
    let template = Template::parse(&format!("{{{text}}}"))?;
    match template.nodes.into_iter().next() {
        Some(Node::List(nodes)) => Ok(nodes),
        _ => Ok(Vec::new()),
    }
}

/// `^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$`: the three groups, empty when absent.
fn slice_groups(text: &str) -> Option<[&str; 3]> {
    let bytes = text.as_bytes();
    let number = |from: usize| {
        let mut j = from;
        if bytes.get(j) == Some(&b'-') {
            j += 1;
        }
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut i = number(0);
    let mut groups = [&text[..i], "", ""];
    for group in groups.iter_mut().skip(1) {
        if bytes.get(i) == Some(&b':') {
            let end = number(i + 1);
            *group = &text[i..end];
            i = end;
        }
    }
    (i == text.len()).then_some(groups)
}

/// `^([^!<>=]+)([!<>=]+)(.+?)$` over a filter's text.
fn filter_parts(text: &str) -> Option<(&str, &str, &str)> {
    let is_operator = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let left_end = text.find(is_operator)?;
    if left_end == 0 {
        return None;
    }
    let after = &text[left_end..];
    let operator_len = after.find(|c: char| !is_operator(c))?;
    let right = &after[operator_len..];
    if right.is_empty() || right.contains('\n') {
        return None;
    }
    Some((&text[..left_end], &after[..operator_len], right))
}

fn is_terminator(r: Option<char>) -> bool {
    match r {
        None => true,
        Some(c) => matches!(c, ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'),
    }
}

/// Go's `unicode.IsDigit`.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || is_digit(c)
}

/// Go's `%#U`: `U+002A '*'` (the character only when printable).
fn go_sharp_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// `strconv.ParseFloat` over what `parseNumber` gathers (digits and dots).
fn parse_go_float(text: &str) -> Option<f64> {
    let digits = text.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.matches('.').count() > 1 {
        return None;
    }
    text.parse::<f64>().ok()
}

/// client-go's `UnquoteExtend`: `strconv.Unquote` that also takes single quotes.
pub(super) fn unquote_extend(s: &str) -> Option<String> {
    let quote = s.chars().next()?;
    if s.len() < 2 || !s.ends_with(quote) || (quote != '"' && quote != '\'') {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    if !inner.contains('\\') && !inner.contains(quote) {
        return Some(inner.to_string());
    }
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escape = chars.next()?;
        let mut hex = |n: usize| -> Option<u32> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + chars.next()?.to_digit(16)?;
            }
            Some(v)
        };
        match escape {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' | '"' if escape == quote => out.push(escape),
            'x' => out.push(char::from(u8::try_from(hex(2)?).ok()?)),
            'u' => out.push(char::from_u32(hex(4)?)?),
            'U' => out.push(char::from_u32(hex(8)?)?),
            '0'..='7' => {
                let mut v = escape.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                out.push(char::from(u8::try_from(v).ok()?));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// One execution's range bookkeeping (client-go keeps it on the JSONPath).
struct Run {
    allow_missing_keys: bool,
    begin_range: usize,
    in_range: usize,
    end_range: usize,
    last_end_node: Option<usize>,
    /// Blocks walked so far: client-go walks the rest of a template again
    /// after each `{range}` with no `{end}`, twice as often per level, so a
    /// run stops here rather than freeze the page.
    blocks: usize,
}

/// Blocks one run may walk (a range over every pod of a large cluster, with
/// ranges inside it, stays far below).
const RANGE_BLOCK_LIMIT: usize = 1_000_000;
/// `{range}` blocks open at once.
const RANGE_NESTING_LIMIT: usize = 64;

impl Run {
    fn find_results<'a>(&mut self, nodes: &'a [Node], start: usize, data: Found<'a>) -> Result<Vec<Vec<Found<'a>>>, String> {
        self.blocks += 1;
        if self.blocks > RANGE_BLOCK_LIMIT || self.in_range > RANGE_NESTING_LIMIT {
            return Err(format!("too many range blocks (more than {RANGE_NESTING_LIMIT} open, or {RANGE_BLOCK_LIMIT} walked); is an {{end}} missing?"));
        }
        let cur = vec![data];
        let mut full = Vec::new();
        let mut i = start;
        while i < nodes.len() {
            let results = self.walk(cur.clone(), &nodes[i])?;
            // An end node closes the block this call is running.
            if self.end_range > 0 && self.end_range <= self.in_range {
                self.end_range -= 1;
                self.last_end_node = Some(i);
                break;
            }
            if self.begin_range > 0 {
                self.begin_range -= 1;
                self.in_range += 1;
                if results.is_empty() {
                    // Walked once with nothing, to find where the range ends.
                    self.find_results(nodes, i + 1, Cow::Borrowed(&NULL))?;
                } else {
                    for value in results {
                        full.extend(self.find_results(nodes, i + 1, value)?);
                    }
                }
                self.in_range -= 1;
                if let Some(end) = self.last_end_node.filter(|&end| end > i) {
                    i = end;
                }
                i += 1;
                continue;
            }
            full.push(results);
            i += 1;
        }
        Ok(full)
    }

    fn walk<'a>(&mut self, input: Vec<Found<'a>>, node: &'a Node) -> Result<Vec<Found<'a>>, String> {
        match node {
            Node::List(nodes) => self.eval_list(input, nodes),
            Node::Text(text) => Ok(vec![Cow::Owned(Value::String(text.clone()))]),
            Node::Field(name) => self.eval_field(input, name),
            Node::Array(params) => eval_array(input, params),
            Node::Filter { left, right, operator } => self.eval_filter(input, left, right, operator),
            Node::Int(i) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*i))).collect()),
            Node::Float(f) => Ok(input.iter().map(|_| Cow::Owned(serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null))).collect()),
            Node::Bool(b) => Ok(input.iter().map(|_| Cow::Owned(Value::Bool(*b))).collect()),
            Node::Wildcard => Ok(input.iter().flat_map(children).collect()),
            Node::Recursive => Ok(eval_recursive(input)),
            Node::Union(lists) => {
                let mut result = Vec::new();
                for list in lists {
                    result.extend(self.eval_list(input.clone(), list)?);
                }
                Ok(result)
            }
            Node::Identifier(name) => match name.as_str() {
                "range" => {
                    self.begin_range += 1;
                    Ok(input)
                }
                "end" if self.in_range > 0 => {
                    self.end_range += 1;
                    Ok(Vec::new())
                }
                "end" => Err("not in range, nothing to end".to_string()),
                other => Err(format!("unrecognized identifier {other}")),
            },
        }
    }

    fn eval_list<'a>(&mut self, input: Vec<Found<'a>>, nodes: &'a [Node]) -> Result<Vec<Found<'a>>, String> {
        let mut cur = input;
        for node in nodes {
            cur = self.walk(cur, node)?;
        }
        Ok(cur)
    }

    fn eval_field<'a>(&self, input: Vec<Found<'a>>, name: &str) -> Result<Vec<Found<'a>>, String> {
        if input.is_empty() {
            return Ok(input);
        }
        let results: Vec<Found<'a>> = input.iter().filter_map(|v| project(v, |x| x.as_object().and_then(|m| m.get(name)))).collect();
        if results.is_empty() && !self.allow_missing_keys {
            return Err(format!("{name} is not found"));
        }
        Ok(results)
    }

    fn eval_filter<'a>(&mut self, input: Vec<Found<'a>>, left: &'a [Node], right: &'a [Node], operator: &str) -> Result<Vec<Found<'a>>, String> {
        let mut results = Vec::new();
        for value in &input {
            if !value.is_array() {
                return Err(format!("{} is not array or slice and cannot be filtered", go_sprint_reflect(value)));
            }
            for item in children(value) {
                let lefts = self.eval_list(vec![item.clone()], left);
                if operator == "exists" {
                    if lefts.is_ok_and(|l| !l.is_empty()) {
                        results.push(item);
                    }
                    continue;
                }
                let lefts = lefts?;
                let l = match lefts.len() {
                    0 => continue,
                    1 => lefts[0].clone(),
                    _ => return Err("can only compare one element at a time".to_string()),
                };
                let rights = self.eval_list(vec![item.clone()], right)?;
                let r = match rights.len() {
                    0 => continue,
                    1 => &rights[0],
                    _ => return Err("can only compare one element at a time".to_string()),
                };
                let pass = match operator {
                    "<" => less(&l, r)?,
                    ">" => !less_equal(&l, r)?,
                    "==" => equal(&l, r)?,
                    "!=" => !equal(&l, r)?,
                    "<=" => less_equal(&l, r)?,
                    ">=" => !less(&l, r)?,
                    other => return Err(format!("unrecognized filter operator {other}")),
                };
                if pass {
                    results.push(item);
                }
            }
        }
        Ok(results)
    }
}

/// A value's child, borrowed where the value is.
fn project<'a>(v: &Found<'a>, pick: impl Fn(&Value) -> Option<&Value>) -> Option<Found<'a>> {
    match v {
        Cow::Borrowed(r) => pick(r).map(Cow::Borrowed),
        Cow::Owned(o) => pick(o).cloned().map(Cow::Owned),
    }
}

/// `evalWildcard`'s view of a value: a map's values, a list's items, a
/// string's bytes (as numbers); nothing for the rest.
fn children<'a>(v: &Found<'a>) -> Vec<Found<'a>> {
    match v {
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Array(items)) => items.iter().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Object(m)) => m.values().cloned().map(Cow::Owned).collect(),
        Cow::Owned(Value::Array(items)) => items.iter().cloned().map(Cow::Owned).collect(),
        _ => match v.as_ref() {
            Value::String(s) => s.bytes().map(|b| Cow::Owned(Value::from(b))).collect(),
            _ => Vec::new(),
        },
    }
}

/// `evalRecursive`: every value with children, then its descendants, depth first.
fn eval_recursive(input: Vec<Found<'_>>) -> Vec<Found<'_>> {
    let mut result = Vec::new();
    for value in input {
        let inner = children(&value);
        if !inner.is_empty() {
            result.push(value);
            result.extend(eval_recursive(inner));
        }
    }
    result
}

/// `evalArray`: an index or a slice of each list (a `null` skipped).
fn eval_array<'a>(input: Vec<Found<'a>>, node_params: &[Param; 3]) -> Result<Vec<Found<'a>>, String> {
    let mut result = Vec::new();
    for value in &input {
        if value.is_null() {
            continue;
        }
        if !value.is_array() {
            return Err(format!("{} is not array or slice", go_type_name(value)));
        }
        let items = children(value);
        let len = items.len() as i64;
        let mut params = *node_params;
        if !params[0].known {
            params[0].value = 0;
        }
        if params[0].value < 0 {
            params[0].value = params[0].value.saturating_add(len);
        }
        if !params[1].known {
            params[1].value = len;
        }
        if params[1].value < 0 || (params[1].value == 0 && params[1].derived) {
            params[1].value = params[1].value.saturating_add(len);
        }
        if params[1].value == params[0].value {
            // Asking for no elements is allowed, and ends the walk.
            return Ok(result);
        }
        if params[0].value >= len || params[0].value < 0 {
            return Err(format!("array index out of bounds: index {}, length {len}", params[0].value));
        }
        if params[1].value > len || params[1].value < 0 {
            return Err(format!("array index out of bounds: index {}, length {len}", params[1].value.saturating_sub(1)));
        }
        if params[0].value > params[1].value {
            return Err(format!("starting index {} is greater than ending index {}", params[0].value, params[1].value));
        }
        let step = if params[2].known {
            if params[2].value <= 0 {
                return Err("step must be > 0".to_string());
            }
            params[2].value as usize
        } else {
            1
        };
        result.extend(items.into_iter().take(params[1].value as usize).skip(params[0].value as usize).step_by(step));
    }
    Ok(result)
}

/// The basic kinds Go's template comparisons know.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
}

fn basic_kind(v: &Value) -> Result<Kind, String> {
    match v {
        Value::Bool(_) => Ok(Kind::Bool),
        Value::String(_) => Ok(Kind::Str),
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Kind::Int(i),
            (None, Some(u)) => Kind::Uint(u),
            _ => Kind::Float(n.as_f64().unwrap_or(0.0)),
        }),
        _ => Err("invalid type for comparison".to_string()),
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go's template `eq` on two values.
fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (basic_kind(a)?, basic_kind(b)?) {
        (Kind::Bool, Kind::Bool) => a.as_bool() == b.as_bool(),
        (Kind::Str, Kind::Str) => a.as_str() == b.as_str(),
        (Kind::Int(x), Kind::Int(y)) => x == y,
        (Kind::Uint(x), Kind::Uint(y)) => x == y,
        (Kind::Int(x), Kind::Uint(y)) | (Kind::Uint(y), Kind::Int(x)) => x >= 0 && x as u64 == y,
        (Kind::Float(x), Kind::Float(y)) => x == y,
        _ => return Err(BAD_COMPARISON.to_string()),
    })
}

/// Go's template `lt`.
fn less(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (basic_kind(a)?, basic_kind(b)?) {
        (Kind::Bool, Kind::Bool) => return Err("invalid type for comparison".to_string()),
        (Kind::Str, Kind::Str) => a.as_str() < b.as_str(),
        (Kind::Int(x), Kind::Int(y)) => x < y,
        (Kind::Uint(x), Kind::Uint(y)) => x < y,
        (Kind::Int(x), Kind::Uint(y)) => x < 0 || (x as u64) < y,
        (Kind::Uint(x), Kind::Int(y)) => y >= 0 && x < y as u64,
        (Kind::Float(x), Kind::Float(y)) => x < y,
        _ => return Err(BAD_COMPARISON.to_string()),
    })
}

fn less_equal(a: &Value, b: &Value) -> Result<bool, String> {
    if less(a, b)? {
        return Ok(true);
    }
    equal(a, b)
}

/// `PrintResults`: containers as compact JSON, the rest as text, spaced.
fn print_results(values: &[Found<'_>], out: &mut String) {
    for (i, v) in values.iter().enumerate() {
        match v.as_ref() {
            Value::Object(_) | Value::Array(_) => out.push_str(&to_json_compact(v)),
            other => out.push_str(&text_of(other)),
        }
        if i + 1 != values.len() {
            out.push(' ');
        }
    }
}

/// `evalToText`: strings bare, `null` as `null`, the rest as Go prints them.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => go_sprint(other),
    }
}

/// The Go type a decoded JSON value has, as `%v` of its `reflect.Type` names it.
fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "map[string]interface {}",
        Value::Array(_) => "[]interface {}",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::Null => "interface {}",
    }
}

/// `%v` of a `reflect.Value` (a `null` is the invalid value).
fn go_sprint_reflect(v: &Value) -> String {
    match v {
        Value::Null => "<invalid reflect.Value>".to_string(),
        other => go_sprint(other),
    }
}

fn go_value_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        n.to_string()
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        let s = format!("{f:e}");
        let exp: i32 = s.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
        if (-4..21).contains(&exp) {
            format!("{f}")
        } else {
            let (m, _) = s.split_once('e').unwrap_or((&s, ""));
            format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
        }
    }
}

/// Go's `fmt.Sprint` of a decoded JSON value, as custom columns print cells
/// (`map[a:b]`, `[x y]`).
pub fn go_sprint(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_value_number(n),
        Value::Array(items) => format!("[{}]", items.iter().map(go_sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => format!("map[{}]", map.iter().map(|(k, x)| format!("{k}:{}", go_sprint(x))).collect::<Vec<_>>().join(" ")),
    }
}

/// Go's `%#v` of a decoded JSON value (`map[string]interface {}{"a":1}`),
/// as the JSONPath printer shows the object a template failed on.
pub fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_value_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(items) => format!("[]interface {{}}{{{}}}", items.iter().map(go_sharp_v).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let text: Vec<String> = entries.iter().map(|(k, x)| format!("{}:{}", go_quote(k), go_sharp_v(x))).collect();
            format!("map[string]interface {{}}{{{}}}", text.join(", "))
        }
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || c.is_whitespace() && c != ' ' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// cli-runtime's `JSONPathPrinter.PrintObj` failure: the template, the
/// error and the object the template ran on.
pub fn execution_error(raw_template: &str, error: &str, data: &Value) -> String {
    format!(
        "error executing jsonpath {}: Error executing template: {error}. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{raw_template}\n\tobject given to jsonpath engine was:\n\t\t{}\n\n\n",
        go_quote(raw_template),
        go_sharp_v(data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(template: &str, data: &Value) -> Result<String, String> {
        Template::parse(template)?.execute(data, true)
    }

    #[test]
    fn selects_fields_lists_and_ranges() {
        let list = json!({"items": [
            {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        ]});
        let ok = |t: &str| run(t, &list).unwrap_or_else(|e| format!("ERR {e}"));
        assert_eq!(ok("{.items[*].metadata.name}"), "a b");
        assert_eq!(ok("{.items[0].metadata.name}"), "a");
        assert_eq!(ok("{.items[-1].metadata.name}"), "b");
        assert_eq!(ok("{range .items[*]}{.metadata.name}{\"\\n\"}{end}"), "a\nb\n");
        assert_eq!(ok("{.items[?(@.status.conditions[0].status==\"False\")].metadata.name}"), "b");
        assert_eq!(ok("{.items[0].status.conditions[?(@.type==\"Ready\")].status}"), "True");
        assert_eq!(ok("{.items[0].missing}"), "");
        assert_eq!(ok("names: {..name}"), "names: a b");
        assert_eq!(ok("{.items[0].metadata}"), "{\"name\":\"a\"}");
        assert_eq!(ok("{.items[0:1].metadata.name}{.items[2:2]}"), "a");
        assert_eq!(ok("{.items[0]['metadata']['name']}"), "a");
        assert_eq!(ok("{.items[0,1].metadata.name}"), "a b");
        assert_eq!(ok("{true} {1.5} {'x'}"), "true 1.5 x");
    }

    #[test]
    fn fails_where_client_go_fails() {
        let data = json!({"items": [], "data": {"a": "1"}, "n": 2});
        let err = |t: &str| run(t, &data).err().unwrap_or_default();
        assert_eq!(err("{.items[0].metadata.name}"), "array index out of bounds: index 0, length 0");
        assert_eq!(err("{.data[*]}"), "map[string]interface {} is not array or slice");
        assert_eq!(err("{.data.a[0]}"), "string is not array or slice");
        assert_eq!(err("{.data[?(@==\"1\")]}"), "map[a:1] is not array or slice and cannot be filtered");
        assert_eq!(err("{end}"), "not in range, nothing to end");
        assert_eq!(err("{nosuch}"), "unrecognized identifier nosuch");
        let pods = json!({"items": [{"name": "a", "n": 1}]});
        assert_eq!(run("{.items[?(@.name=a)].name}", &pods).err().unwrap_or_default(), "unrecognized identifier a");
        assert_eq!(run("{.items[?(@.name=\"a\")].name}", &pods).err().unwrap_or_default(), "unrecognized filter operator =");
        assert_eq!(run("{.items[?(@.n==\"1\")].name}", &pods).err().unwrap_or_default(), "incompatible types for comparison");
        assert_eq!(run("{.items[?(@.n>=1)].name}", &pods), Ok("a".to_string()));
        let strict = Template::parse("{.data.b}").map(|t| t.execute(&data, false));
        assert_eq!(strict, Ok(Err("b is not found".to_string())));
    }

    #[test]
    fn reports_parse_errors_as_client_go() {
        let err = |t: &str| Template::parse(t).err().unwrap_or_default();
        assert_eq!(err("{.a"), "unclosed action");
        assert_eq!(err("{.a[0}"), "unterminated array");
        assert_eq!(err("{.a[x]}"), "invalid array index x");
        assert_eq!(err("{.a[?(@.x==1)}"), "unclosed array expect ]");
        assert_eq!(err("{*}"), "unrecognized character in action: U+002A '*'");
        assert_eq!(err("{\"a}"), "unterminated quoted string");
        assert!(Template::parse("{range .items[*]}").is_ok());
        // Unclosed ranges cost client-go twice as much per level: bounded here.
        let unclosed = "{range .items[*]}".repeat(3000);
        assert!(run(&unclosed, &serde_json::json!({"items": [1]})).is_err());
        assert!(run(&"{range .items[*]}".repeat(30), &serde_json::json!({"items": [1]})).is_err());
        assert_eq!(relaxed_expression("metadata.name"), Ok("{.metadata.name}".to_string()));
        assert_eq!(relaxed_expression("{.metadata.name}"), Ok("{.metadata.name}".to_string()));
        assert!(relaxed_expression("{a}{b}").is_err());
    }

    #[test]
    fn dumps_objects_as_go_does() {
        let v = json!({"b": [1, "x"], "a": null, "c": {"d": true}});
        assert_eq!(go_sharp_v(&v), "map[string]interface {}{\"a\":interface {}(nil), \"b\":[]interface {}{1, \"x\"}, \"c\":map[string]interface {}{\"d\":true}}");
    }
}
