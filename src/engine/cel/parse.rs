//! CEL's grammar (cel-spec `CEL.g4`): a lexer and a precedence-climbing
//! parser into [`Node`]s, with the macros (`has`, `all`, `exists`,
//! `exists_one`, `map`, `filter`) expanded as cel-go's parser expands them.
//! Errors carry a byte offset; [`super::display_errors`] words them as
//! cel-go's `Issues.String()` does.

use std::rc::Rc;

use super::Value;

/// Deeper nesting is refused, so that neither the parser nor the evaluator
/// can exhaust the stack (the page's wasm stack is 1 MiB).
pub const MAX_NESTING: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub expr: Expr,
    /// Byte offset of the node in the source, for error positions.
    pub at: usize,
    /// The longest path from here to a leaf: bounded by [`MAX_HEIGHT`], so
    /// that walking the tree recursively cannot exhaust the stack.
    pub height: usize,
}

/// A tree taller than this is refused (a chain like `1 + 1 + ... + 1` is
/// built without nesting in the parser, but is as deep as it is long).
pub const MAX_HEIGHT: usize = 100;

/// A node over its children, refused when the tree grows too tall.
fn node(expr: Expr, at: usize) -> Result<Node, Issue> {
    let child = |n: &Node| n.height;
    let below = match &expr {
        Expr::Literal(_) | Expr::Ident(_) => 0,
        Expr::Select(n, _) | Expr::OptSelect(n, _) | Expr::Has(n, _) | Expr::Not(n) | Expr::Negate(n) => child(n),
        Expr::Index(a, b) | Expr::OptIndex(a, b) | Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => child(a).max(child(b)),
        Expr::Conditional(a, b, c) => child(a).max(child(b)).max(child(c)),
        Expr::Call(target, _, args) => target.as_deref().map_or(0, child).max(args.iter().map(child).max().unwrap_or(0)),
        Expr::List(items, _) => items.iter().map(child).max().unwrap_or(0),
        Expr::Map(entries) => entries.iter().map(|(k, v, _)| child(k).max(child(v))).max().unwrap_or(0),
        Expr::Comprehension { range, filter, body, .. } => child(range).max(child(body)).max(filter.as_deref().map_or(0, child)),
    };
    if below + 1 > MAX_HEIGHT {
        return Err(Issue { at, message: format!("expression nesting exceeds {MAX_HEIGHT} levels") });
    }
    Ok(Node { expr, at, height: below + 1 })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Macro {
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
    /// cel-go's two-variable comprehensions (ext/comprehensions.go).
    TransformList,
    TransformMap,
    TransformMapEntry,
    /// The optional library's `x.optMap(v, e)` and `x.optFlatMap(v, e)`:
    /// `e` with `v` bound to an optional's value.
    OptMap,
    OptFlatMap,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Value),
    Ident(String),
    Select(Box<Node>, String),
    /// `a.?b`: `optional.of(a.b)` if `a` has `b`, else `optional.none()`.
    OptSelect(Box<Node>, String),
    /// `has(a.b)`
    Has(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    /// `a[?i]`, the optional index.
    OptIndex(Box<Node>, Box<Node>),
    /// A function call, global (`size(x)`) or on a receiver (`x.size()`).
    Call(Option<Box<Node>>, String, Vec<Node>),
    /// A list literal and the indices of its optional elements (`[?x]`,
    /// cel-go's `OptionalIndices`): present values are kept, absent ones left out.
    List(Vec<Node>, Vec<usize>),
    /// A map literal's entries; `true` marks an optional one (`{?k: v}`).
    Map(Vec<(Node, Node, bool)>),
    Not(Box<Node>),
    Negate(Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Conditional(Box<Node>, Box<Node>, Box<Node>),
    /// `range.all(var, predicate)` and the other macros; `map`'s optional
    /// filter comes before its transform, as in `map(x, filter, transform)`.
    /// `var2` is a two-variable comprehension's second variable: `var` is
    /// then a list's index or a map's key, `var2` the value.
    Comprehension { kind: Macro, range: Box<Node>, var: String, var2: Option<String>, filter: Option<Box<Node>>, body: Box<Node> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinaryOp {
    /// The operator's function name, as cel-go names it in its messages.
    pub fn function(self) -> &'static str {
        match self {
            BinaryOp::Add => "_+_",
            BinaryOp::Sub => "_-_",
            BinaryOp::Mul => "_*_",
            BinaryOp::Div => "_/_",
            BinaryOp::Rem => "_%_",
            BinaryOp::Eq => "_==_",
            BinaryOp::Ne => "_!=_",
            BinaryOp::Lt => "_<_",
            BinaryOp::Le => "_<=_",
            BinaryOp::Gt => "_>_",
            BinaryOp::Ge => "_>=_",
            BinaryOp::In => "@in",
        }
    }
}

/// A parse or check error at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub at: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    True,
    False,
    Null,
    In,
    Punct(&'static str),
    Eof,
}

const PUNCTS: [&str; 24] = ["==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", "{", "}", ".", ",", ":", "?", "!", "-", "+", "*", "/", "%", "<", ">"];

/// Words the grammar keeps for itself: refused as a name (not after a dot).
const RESERVED: [&str; 18] = [
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while", "in",
];

fn lex(src: &str) -> Result<Vec<(Token, usize)>, Issue> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        // Strings, with their optional raw / bytes prefixes.
        let (raw, is_bytes, quote_at) = match (c, bytes.get(i + 1).copied(), bytes.get(i + 2).copied()) {
            (b'r' | b'R', Some(b'\'' | b'"'), _) => (true, false, i + 1),
            (b'b' | b'B', Some(b'\'' | b'"'), _) => (false, true, i + 1),
            (b'r' | b'R', Some(b'b' | b'B'), Some(b'\'' | b'"')) | (b'b' | b'B', Some(b'r' | b'R'), Some(b'\'' | b'"')) => (true, true, i + 2),
            (b'\'' | b'"', _, _) => (false, false, i),
            _ => (false, false, usize::MAX),
        };
        if quote_at != usize::MAX {
            let (content, end) = lex_string(src, quote_at, raw, is_bytes).map_err(|message| Issue { at: start, message })?;
            let token = if is_bytes {
                Token::Bytes(content)
            } else {
                // Only whole code points were written, so this is UTF-8.
                Token::Str(String::from_utf8(content).map_err(|_| Issue { at: start, message: "Syntax error: invalid unicode code point".to_string() })?)
            };
            tokens.push((token, start));
            i = end;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (token, end) = lex_number(src, i).map_err(|message| Issue { at: start, message })?;
            tokens.push((token, start));
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &src[start..i];
            tokens.push((
                match word {
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" => Token::Null,
                    "in" => Token::In,
                    _ => Token::Ident(word.to_string()),
                },
                start,
            ));
            continue;
        }
        match PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            Some(p) => {
                tokens.push((Token::Punct(p), start));
                i += p.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(Issue { at: start, message: format!("Syntax error: token recognition error at: '{ch}'") });
            }
        }
    }
    tokens.push((Token::Eof, src.len()));
    Ok(tokens)
}

fn lex_number(src: &str, start: usize) -> Result<(Token, usize), String> {
    let bytes = src.as_bytes();
    let mut i = start;
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        let digits = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        let value = u64::from_str_radix(&src[digits..i], 16).map_err(|_| "invalid int literal".to_string())?;
        if matches!(bytes.get(i), Some(b'u' | b'U')) {
            return Ok((Token::Uint(value), i + 1));
        }
        return Ok((Token::Int(value), i));
    }
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut float = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text = &src[start..i];
    if float {
        return text.parse::<f64>().map(|f| (Token::Double(f), i)).map_err(|_| "invalid double literal".to_string());
    }
    let value = text.parse::<u64>().map_err(|_| "invalid int literal".to_string())?;
    if matches!(bytes.get(i), Some(b'u' | b'U')) {
        return Ok((Token::Uint(value), i + 1));
    }
    Ok((Token::Int(value), i))
}

/// A quoted string from `quote_at`; returns its value and where it ends.
/// In a bytes literal (cel-go's `unescapeChar` with isBytes) `\x` and
/// octal escapes are bytes, not code points, and `\u`, `\U` are refused.
fn lex_string(src: &str, quote_at: usize, raw: bool, bytes: bool) -> Result<(Vec<u8>, usize), String> {
    let rest = &src[quote_at..];
    let quote = if rest.starts_with("'''") {
        "'''"
    } else if rest.starts_with("\"\"\"") {
        "\"\"\""
    } else if rest.starts_with('\'') {
        "'"
    } else {
        "\""
    };
    let body_start = quote_at + quote.len();
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, c: char| out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    let mut chars = src[body_start..].char_indices().peekable();
    while let Some((offset, ch)) = chars.next() {
        let here = body_start + offset;
        if src[here..].starts_with(quote) {
            return Ok((out, here + quote.len()));
        }
        if quote.len() == 1 && (ch == '\n' || ch == '\r') {
            break;
        }
        if ch != '\\' || raw {
            push(&mut out, ch);
            continue;
        }
        let Some((_, esc)) = chars.next() else { break };
        let hex = |chars: &mut std::iter::Peekable<std::str::CharIndices>, n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars.next().and_then(|(_, c)| c.to_digit(16)).ok_or("Syntax error: invalid escape sequence")?;
                v = v * 16 + d;
            }
            Ok(v)
        };
        let code = match esc {
            'n' => '\n' as u32,
            't' => '\t' as u32,
            'r' => '\r' as u32,
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'v' => 11,
            '\\' | '\'' | '"' | '`' | '?' => esc as u32,
            'x' | 'X' if bytes => {
                out.push(hex(&mut chars, 2)? as u8);
                continue;
            }
            'x' | 'X' => hex(&mut chars, 2)?,
            'u' | 'U' if bytes => return Err("Syntax error: invalid escape sequence".to_string()),
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            '0'..='3' => {
                let mut v = esc as u32 - '0' as u32;
                for _ in 0..2 {
                    let d = chars.next().and_then(|(_, c)| c.to_digit(8)).ok_or("Syntax error: invalid escape sequence")?;
                    v = v * 8 + d;
                }
                if bytes {
                    out.push(v as u8);
                    continue;
                }
                v
            }
            _ => return Err("Syntax error: invalid escape sequence".to_string()),
        };
        push(&mut out, char::from_u32(code).ok_or("Syntax error: invalid unicode code point")?);
    }
    Err("Syntax error: token recognition error: unterminated string".to_string())
}

const MESSAGE_CONSTRUCTION: &str = "message construction (`Type{...}`) is not supported by this simulation";

/// `a.b.c`: names only, as a message type's name is written.
fn is_qualified_name(node: &Node) -> bool {
    match &node.expr {
        Expr::Ident(_) => true,
        Expr::Select(operand, _) => is_qualified_name(operand),
        _ => false,
    }
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    depth: usize,
}

pub fn parse(src: &str) -> Result<Node, Issue> {
    let tokens = lex(src)?;
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    let node = parser.expr()?;
    match parser.peek() {
        Token::Eof => Ok(node),
        other => Err(parser.unexpected(&other.clone())),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Eof => "<EOF>".to_string(),
        Token::Int(v) | Token::Uint(v) => format!("'{v}'"),
        Token::Double(v) => format!("'{v}'"),
        Token::Str(s) => format!("'\"{s}\"'"),
        Token::Bytes(_) => "bytes".to_string(),
        Token::Ident(s) => format!("'{s}'"),
        Token::True => "'true'".to_string(),
        Token::False => "'false'".to_string(),
        Token::Null => "'null'".to_string(),
        Token::In => "'in'".to_string(),
        Token::Punct(p) => format!("'{p}'"),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).map_or(&Token::Eof, |(t, _)| t)
    }
    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(0, |(_, at)| *at)
    }
    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }
    fn eat(&mut self, punct: &str) -> bool {
        if matches!(self.peek(), Token::Punct(p) if *p == punct) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn unexpected(&self, token: &Token) -> Issue {
        Issue { at: self.at(), message: format!("Syntax error: mismatched input {} expecting <EOF>", describe(token)) }
    }
    fn expect(&mut self, punct: &'static str) -> Result<(), Issue> {
        if self.eat(punct) {
            return Ok(());
        }
        let found = describe(self.peek());
        Err(Issue { at: self.at(), message: format!("Syntax error: mismatched input {found} expecting '{punct}'") })
    }

    /// `Expr = ConditionalOr ["?" ConditionalOr ":" Expr]`
    fn expr(&mut self) -> Result<Node, Issue> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Issue { at: self.at(), message: format!("expression nesting exceeds {MAX_NESTING} levels") });
        }
        let at = self.at();
        let condition = self.binary(0)?;
        let result = if self.eat("?") {
            let then = self.binary(0)?;
            self.expect(":")?;
            let otherwise = self.expr()?;
            node(Expr::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise)), at)
        } else {
            Ok(condition)
        };
        self.depth -= 1;
        result
    }

    /// The binary operators by precedence climbing: `||` (1), `&&` (2),
    /// relations (3), `+ -` (4), `* / %` (5); all left-associative.
    fn binary(&mut self, min: u8) -> Result<Node, Issue> {
        let mut left = self.unary()?;
        loop {
            let (prec, op) = match self.peek() {
                Token::Punct("||") => (1, None),
                Token::Punct("&&") => (2, None),
                Token::Punct("==") => (3, Some(BinaryOp::Eq)),
                Token::Punct("!=") => (3, Some(BinaryOp::Ne)),
                Token::Punct("<") => (3, Some(BinaryOp::Lt)),
                Token::Punct("<=") => (3, Some(BinaryOp::Le)),
                Token::Punct(">=") => (3, Some(BinaryOp::Ge)),
                Token::Punct(">") => (3, Some(BinaryOp::Gt)),
                Token::In => (3, Some(BinaryOp::In)),
                Token::Punct("+") => (4, Some(BinaryOp::Add)),
                Token::Punct("-") => (4, Some(BinaryOp::Sub)),
                Token::Punct("*") => (5, Some(BinaryOp::Mul)),
                Token::Punct("/") => (5, Some(BinaryOp::Div)),
                Token::Punct("%") => (5, Some(BinaryOp::Rem)),
                _ => return Ok(left),
            };
            if prec <= min {
                return Ok(left);
            }
            let at = self.at();
            let token = self.bump();
            let right = self.binary(prec)?;
            let expr = match (op, token) {
                (Some(op), _) => Expr::Binary(op, Box::new(left), Box::new(right)),
                (None, Token::Punct("||")) => Expr::Or(Box::new(left), Box::new(right)),
                (None, _) => Expr::And(Box::new(left), Box::new(right)),
            };
            left = node(expr, at)?;
        }
    }

    /// `!` and `-` prefixes, gathered in a loop (a long run of them must
    /// not recurse), applied innermost first.
    fn unary(&mut self) -> Result<Node, Issue> {
        let mut prefixes = Vec::new();
        loop {
            let at = self.at();
            if self.eat("!") {
                prefixes.push((true, at));
            } else if self.eat("-") {
                prefixes.push((false, at));
            } else {
                break;
            }
        }
        let mut operand = match prefixes.last() {
            // `-9223372036854775808` is one literal.
            Some(&(false, at)) if matches!(*self.peek(), Token::Int(v) if v == 1u64 << 63) => {
                self.pos += 1;
                prefixes.pop();
                let literal = node(Expr::Literal(Value::Int(i64::MIN)), at)?;
                self.member(literal)?
            }
            _ => {
                let primary = self.primary()?;
                self.member(primary)?
            }
        };
        while let Some((not, at)) = prefixes.pop() {
            operand = node(if not { Expr::Not(Box::new(operand)) } else { Expr::Negate(Box::new(operand)) }, at)?;
        }
        Ok(operand)
    }

    fn member(&mut self, mut operand: Node) -> Result<Node, Issue> {
        loop {
            let at = self.at();
            if self.eat(".") {
                let optional = self.eat("?");
                let name = match self.bump() {
                    Token::Ident(name) => name,
                    Token::In => "in".to_string(),
                    other => {
                        self.pos -= 1;
                        return Err(Issue { at: self.at(), message: format!("Syntax error: no viable alternative at input '.{}'", describe(&other).trim_matches('\'')) });
                    }
                };
                // cel-go places a member call, like a global one, at its opening parenthesis.
                let paren = self.at();
                if optional {
                    operand = node(Expr::OptSelect(Box::new(operand), name), at)?;
                } else if self.eat("(") {
                    let args = self.args(")")?;
                    operand = self.member_call(operand, name, args, paren)?;
                } else {
                    operand = node(Expr::Select(Box::new(operand), name), at)?;
                }
            } else if self.eat("[") {
                let optional = self.eat("?");
                let index = self.expr()?;
                self.expect("]")?;
                let (operand_box, index_box) = (Box::new(operand), Box::new(index));
                operand = node(if optional { Expr::OptIndex(operand_box, index_box) } else { Expr::Index(operand_box, index_box) }, at)?;
            } else {
                // `google.protobuf.Duration{seconds: 1}`: a qualified message name.
                if matches!(self.peek(), Token::Punct("{")) && is_qualified_name(&operand) {
                    return Err(Issue { at: operand.at, message: MESSAGE_CONSTRUCTION.to_string() });
                }
                return Ok(operand);
            }
        }
    }

    fn args(&mut self, close: &'static str) -> Result<Vec<Node>, Issue> {
        let mut args = Vec::new();
        if self.eat(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(",") {
                if self.eat(close) {
                    return Ok(args);
                }
                continue;
            }
            self.expect(close)?;
            return Ok(args);
        }
    }

    /// `range.all(x, p)` and the other macros, or a plain receiver call.
    fn member_call(&mut self, target: Node, name: String, mut args: Vec<Node>, at: usize) -> Result<Node, Issue> {
        // One variable: `all`, `exists`, `exists_one`, `map`, `filter`; two
        // (1.32's TwoVarComprehensions): `all`, `exists`, `existsOne` and
        // `exists_one` with three arguments, the transforms with three or four.
        let (kind, two) = match (name.as_str(), args.len()) {
            ("all", 2) => (Macro::All, false),
            ("exists", 2) => (Macro::Exists, false),
            ("exists_one" | "existsOne", 2) => (Macro::ExistsOne, false),
            ("map", 2 | 3) => (Macro::Map, false),
            ("filter", 2) => (Macro::Filter, false),
            ("all", 3) => (Macro::All, true),
            ("exists", 3) => (Macro::Exists, true),
            ("exists_one" | "existsOne", 3) => (Macro::ExistsOne, true),
            ("transformList", 3 | 4) => (Macro::TransformList, true),
            ("transformMap", 3 | 4) => (Macro::TransformMap, true),
            ("transformMapEntry", 3 | 4) => (Macro::TransformMapEntry, true),
            ("optMap" | "optFlatMap", 2) => {
                let kind = if name == "optMap" { Macro::OptMap } else { Macro::OptFlatMap };
                let Some(Node { expr: Expr::Ident(var), .. }) = args.first() else {
                    let at = args.first().map_or(at, |a| a.at);
                    return Err(Issue { at, message: format!("{name}() variable name must be a simple identifier") });
                };
                let var = var.clone();
                let body = args.pop().map(Box::new).ok_or(Issue { at, message: "missing macro argument".to_string() })?;
                return node(Expr::Comprehension { kind, range: Box::new(target), var, var2: None, filter: None, body }, at);
            }
            _ => return node(Expr::Call(Some(Box::new(target)), name, args), at),
        };
        let simple_name = |arg: &Node| match &arg.expr {
            Expr::Ident(v) => Ok(v.clone()),
            _ => Err(Issue { at: arg.at, message: "argument must be a simple name".to_string() }),
        };
        let first = args.first().ok_or(Issue { at, message: "missing macro argument".to_string() })?;
        let var = simple_name(first)?;
        let var2 = match (two, args.get(1)) {
            (true, Some(second)) => {
                let var2 = simple_name(second)?;
                if var2 == var {
                    return Err(Issue { at: second.at, message: format!("duplicate variable name: {var}") });
                }
                // cel-go's accumulator names (parser.AccumulatorName, mef.AccuIdentName()).
                for (name, arg) in [(&var, first), (&var2, second)] {
                    if name == "__result__" || name == "@result" {
                        return Err(Issue { at: arg.at, message: "iteration variable overwrites accumulator variable".to_string() });
                    }
                }
                Some(var2)
            }
            _ => None,
        };
        let body = args.pop().map(Box::new).ok_or(Issue { at, message: "missing macro argument".to_string() })?;
        let variables = if two { 2 } else { 1 };
        let filter = if args.len() > variables { args.pop().map(Box::new) } else { None };
        node(Expr::Comprehension { kind, range: Box::new(target), var, var2, filter, body }, at)
    }

    fn primary(&mut self) -> Result<Node, Issue> {
        let at = self.at();
        let token = self.bump();
        let expr = match token {
            Token::Int(v) => Expr::Literal(Value::Int(i64::try_from(v).map_err(|_| Issue { at, message: "invalid int literal".to_string() })?)),
            Token::Uint(v) => Expr::Literal(Value::Uint(v)),
            Token::Double(v) => Expr::Literal(Value::Double(v)),
            Token::Str(s) => Expr::Literal(Value::string(s)),
            Token::Bytes(b) => Expr::Literal(Value::Bytes(Rc::from(b))),
            Token::True => Expr::Literal(Value::Bool(true)),
            Token::False => Expr::Literal(Value::Bool(false)),
            Token::Null => Expr::Literal(Value::Null),
            Token::Punct("(") => {
                let inner = self.expr()?;
                self.expect(")")?;
                return Ok(inner);
            }
            Token::Punct("[") => {
                self.depth += 1;
                let mut items = Vec::new();
                let mut optional = Vec::new();
                if !self.eat("]") {
                    loop {
                        if self.eat("?") {
                            optional.push(items.len());
                        }
                        items.push(self.expr()?);
                        if self.eat(",") {
                            if self.eat("]") {
                                break;
                            }
                            continue;
                        }
                        self.expect("]")?;
                        break;
                    }
                }
                self.depth -= 1;
                Expr::List(items, optional)
            }
            Token::Punct("{") => {
                let mut entries = Vec::new();
                if !self.eat("}") {
                    loop {
                        let optional = self.eat("?");
                        let key = self.expr()?;
                        self.expect(":")?;
                        let value = self.expr()?;
                        entries.push((key, value, optional));
                        if self.eat(",") {
                            if self.eat("}") {
                                break;
                            }
                            continue;
                        }
                        self.expect("}")?;
                        break;
                    }
                }
                Expr::Map(entries)
            }
            Token::Punct(".") => {
                return Err(Issue { at, message: "leading-dot names are not supported by this simulation".to_string() });
            }
            Token::Ident(name) => {
                if RESERVED.contains(&name.as_str()) {
                    return Err(Issue { at, message: format!("reserved identifier: {name}") });
                }
                if matches!(self.peek(), Token::Punct("{")) {
                    return Err(Issue { at, message: MESSAGE_CONSTRUCTION.to_string() });
                }
                // cel-go places a global call at its opening parenthesis.
                let paren = self.at();
                if self.eat("(") {
                    let args = self.args(")")?;
                    if name == "has" {
                        return match (args.len(), args.into_iter().next()) {
                            (1, Some(Node { expr: Expr::Select(operand, field), .. })) => node(Expr::Has(operand, field), at),
                            _ => Err(Issue { at: paren, message: "invalid argument to has() macro".to_string() }),
                        };
                    }
                    return node(Expr::Call(None, name, args), paren);
                } else {
                    Expr::Ident(name)
                }
            }
            other => {
                self.pos -= 1;
                let found = describe(&other);
                return Err(Issue { at, message: format!("Syntax error: mismatched input {found} expecting {{'[', '{{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}}") });
            }
        };
        node(expr, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_macros() {
        let n = parse("a.b + 2 * 3 <= 5 && !x || y ? 1 : 2").unwrap();
        assert!(matches!(n.expr, Expr::Conditional(..)));
        let n = parse("object.items.all(i, i.size() > 1)").unwrap();
        assert!(matches!(n.expr, Expr::Comprehension { kind: Macro::All, .. }));
        assert!(matches!(parse("has(a.b)").unwrap().expr, Expr::Has(..)));
        assert!(parse("has(a)").is_err());
        assert!(matches!(parse("-9223372036854775808").unwrap().expr, Expr::Literal(Value::Int(i64::MIN))));
        assert!(parse("9223372036854775808").is_err());
    }

    #[test]
    fn strings_and_errors() {
        assert_eq!(parse(r#"'a\n' "#).unwrap().expr, Expr::Literal(Value::string("a\n".to_string())));
        assert_eq!(parse(r#"r'a\n'"#).unwrap().expr, Expr::Literal(Value::string("a\\n".to_string())));
        assert_eq!(parse("'''x'y'''").unwrap().expr, Expr::Literal(Value::string("x'y".to_string())));
        assert!(parse("'abc").is_err());
        assert!(parse("a +").is_err());
        assert!(parse("namespace").is_err());
        assert!(parse("a.namespace").is_ok());
        assert!(parse("1 2").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&format!("{}true", "!".repeat(50))).is_ok());
        assert!(parse(&format!("{}true", "!".repeat(100_000))).is_err());
        assert!(parse(&format!("1{}", " + 1".repeat(100_000))).is_err());
        assert!(parse(&format!("a{}", ".b".repeat(100_000))).is_err());
    }
}
