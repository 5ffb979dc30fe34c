//! jq's filter language read into a tree, with jq 1.6's syntax error
//! wording (bison's token names, the offending line and a pad of spaces to
//! where the error is).

use super::value::Json;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `=`, `|=`, and the arithmetic updates (`+=`, …, `//=`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update {
    Set,
    Modify,
    Arith(Op),
    Alternative,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Text(String),
    Expr(Ast),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    Identity,
    /// `..`
    RecurseAll,
    /// `target[key]`: the key is evaluated against the term's input.
    Index(Box<Ast>, Box<Ast>),
    Slice(Box<Ast>, Option<Box<Ast>>, Option<Box<Ast>>),
    Iterate(Box<Ast>),
    /// `f?` and `try f catch g`.
    Try(Box<Ast>, Option<Box<Ast>>),
    Literal(Json),
    /// A string with `\(…)`, maybe under a format (`@csv "\(.a)"`).
    Interpolated(Vec<Part>, Option<String>),
    Format(String),
    Array(Option<Box<Ast>>),
    Object(Vec<(Ast, Option<Ast>)>),
    Neg(Box<Ast>),
    Pipe(Box<Ast>, Box<Ast>),
    Comma(Box<Ast>, Box<Ast>),
    Binary(Op, Box<Ast>, Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Alternative(Box<Ast>, Box<Ast>),
    If(Vec<(Ast, Ast)>, Option<Box<Ast>>),
    Var(String),
    As(Box<Ast>, String, Box<Ast>),
    Reduce(Box<Ast>, String, Box<Ast>, Box<Ast>),
    Foreach(Box<Ast>, String, Box<Ast>, Box<Ast>, Option<Box<Ast>>),
    /// A builtin's name, arguments, and where it is written (for errors).
    Call(String, Vec<Ast>, usize),
    Update(Update, Box<Ast>, Box<Ast>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    End,
    Punct(&'static str),
    Field(String),
    Ident(String),
    Keyword(&'static str),
    Var(String),
    Format(String),
    Number(f64),
    StringStart,
    Invalid,
}

const KEYWORDS: &[&str] = &[
    "as", "def", "if", "then", "elif", "else", "end", "reduce", "foreach", "try", "catch", "label", "import", "include", "and", "or", "__loc__",
];

const PUNCTS: &[&str] = &[
    "|=", "+=", "-=", "*=", "/=", "%=", "//=", "==", "!=", "<=", ">=", "//", "..", "|", ",", "+", "-", "*", "/", "%", "=", "<", ">", ".", "[",
    "]", "(", ")", "{", "}", ":", ";", "?", "$",
];

/// A compile error: jq's message, then where (for the offending line).
#[derive(Debug, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub at: usize,
    /// bison's second word on an `if` left open after its `then`.
    pub unterminated_if: Option<usize>,
}

pub struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Where the last token read started (for `$end`'s pad).
    last_start: usize,
    /// Where each `if` past its `then` and not yet ended starts.
    open_ifs: Vec<usize>,
    /// How many filters are open around the one being read.
    depth: usize,
    /// How many terms and suffixes were read: each is a level of the
    /// program's tree at worst, and each level native stack to read and run.
    parts: usize,
}

type Parsed = Result<Ast, SyntaxError>;

/// How deep a program's filters may nest: each level is a dozen native
/// frames while read and more while run, and the page's stack is small.
const MAX_NESTING: usize = 64;
/// Most terms and suffixes in one program (see [`Parser::parts`]): a
/// chain of `|`, `,` or `.a` is as deep as it is long.
const MAX_PARTS: usize = 128;

fn boxed(a: Ast) -> Box<Ast> {
    Box::new(a)
}

pub fn parse(src: &str) -> Parsed {
    let mut p = Parser { src, pos: 0, last_start: 0, open_ifs: Vec::new(), depth: 0, parts: 0 };
    p.skip_space();
    if p.pos >= src.len() {
        return Ok(Ast::Identity);
    }
    // A closing bracket with nothing open is an invalid character to jq's lexer.
    let stray = |tok: Tok| if matches!(tok, Tok::Punct(")" | "]" | "}")) { Tok::Invalid } else { tok };
    if let (tok @ Tok::Punct(")" | "]" | "}"), start) = p.peek() {
        p.lex();
        return Err(p.unexpected(&stray(tok), start, Some("$end")));
    }
    let ast = p.pipe()?;
    let (tok, start) = p.peek();
    if tok != Tok::End {
        p.lex();
        return Err(p.unexpected(&stray(tok), start, Some("$end")));
    }
    if deeper_than(&ast, MAX_TREE_DEPTH) {
        return Err(p.refuse(&format!("a program nested more than {MAX_TREE_DEPTH} levels deep (operator chains included)"), 0));
    }
    Ok(ast)
}

/// How deep a program's tree may be: the evaluator goes down it
/// recursively, a few frames a level, and the page's stack is 1 MiB.
const MAX_TREE_DEPTH: usize = 40;

/// Whether `ast` is more than `budget` levels deep. It stops descending
/// once the budget is spent, so it recurses at most `budget` levels itself.
fn deeper_than(ast: &Ast, budget: usize) -> bool {
    let Some(budget) = budget.checked_sub(1) else { return true };
    let deeper = |a: &Ast| deeper_than(a, budget);
    let deeper_opt = |a: &Option<Box<Ast>>| a.as_deref().is_some_and(deeper);
    match ast {
        Ast::Identity | Ast::RecurseAll | Ast::Literal(_) | Ast::Format(_) | Ast::Var(_) => false,
        Ast::Index(a, b) | Ast::Pipe(a, b) | Ast::Comma(a, b) | Ast::Binary(_, a, b) | Ast::And(a, b) | Ast::Or(a, b) | Ast::Alternative(a, b) | Ast::Update(_, a, b) => deeper(a) || deeper(b),
        // A binding runs its body inside its source's output: two levels.
        Ast::As(a, _, b) => deeper(a) || budget == 0 || deeper_than(b, budget - 1),
        Ast::Slice(a, b, c) => deeper(a) || deeper_opt(b) || deeper_opt(c),
        Ast::Iterate(a) | Ast::Neg(a) => deeper(a),
        Ast::Try(a, b) => deeper(a) || deeper_opt(b),
        Ast::Array(a) => deeper_opt(a),
        Ast::Interpolated(parts, _) => parts.iter().any(|p| matches!(p, Part::Expr(a) if deeper(a))),
        Ast::Object(entries) => entries.iter().any(|(k, v)| deeper(k) || v.as_ref().is_some_and(deeper)),
        Ast::If(branches, otherwise) => branches.iter().any(|(c, t)| deeper(c) || deeper(t)) || deeper_opt(otherwise),
        Ast::Reduce(a, _, b, c) => deeper(a) || deeper(b) || deeper(c),
        Ast::Foreach(a, _, b, c, d) => deeper(a) || deeper(b) || deeper(c) || deeper_opt(d),
        Ast::Call(_, args, _) => args.iter().any(deeper),
    }
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        let src: &'a str = self.src;
        src.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                let line = trimmed.find('\n').unwrap_or(trimmed.len());
                self.pos += line;
            } else {
                break;
            }
        }
    }

    /// Reads the next token; its start.
    fn lex(&mut self) -> (Tok, usize) {
        self.skip_space();
        let start = self.pos;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else { return (Tok::End, start) };
        let ident_len = |s: &str| {
            let mut n = 0;
            for (i, ch) in s.char_indices() {
                if ch.is_ascii_alphabetic() || ch == '_' || (i > 0 && ch.is_ascii_digit()) {
                    n = i + 1;
                } else if ch == ':' && s.get(i..i + 2) == Some("::") && i > 0 {
                    continue;
                } else if ch == ':' && i > 0 && s.get(i - 1..i + 1) == Some("::") {
                    continue;
                } else {
                    break;
                }
            }
            n
        };
        let tok = if c == '"' {
            self.pos += 1;
            Tok::StringStart
        } else if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let mut end = 0;
            let bytes = rest.as_bytes();
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                end += 1;
            }
            if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
                let mut e = end + 1;
                if e < bytes.len() && (bytes[e] == b'+' || bytes[e] == b'-') {
                    e += 1;
                }
                if e < bytes.len() && bytes[e].is_ascii_digit() {
                    while e < bytes.len() && bytes[e].is_ascii_digit() {
                        e += 1;
                    }
                    end = e;
                }
            }
            self.pos += end;
            match rest[..end].parse::<f64>() {
                Ok(n) => Tok::Number(n),
                Err(_) => Tok::Invalid,
            }
        } else if c == '.' && ident_len(&rest[1..]) > 0 {
            let n = ident_len(&rest[1..]);
            self.pos += 1 + n;
            Tok::Field(rest[1..1 + n].to_string())
        } else if c == '$' && ident_len(&rest[1..]) > 0 {
            let n = ident_len(&rest[1..]);
            self.pos += 1 + n;
            Tok::Var(rest[1..1 + n].to_string())
        } else if c == '@' && ident_len(&rest[1..]) > 0 {
            let n = ident_len(&rest[1..]);
            self.pos += 1 + n;
            Tok::Format(rest[1..1 + n].to_string())
        } else if c.is_ascii_alphabetic() || c == '_' {
            let n = ident_len(rest);
            self.pos += n;
            let word = &rest[..n];
            match KEYWORDS.iter().find(|k| **k == word) {
                Some(k) => Tok::Keyword(k),
                None => Tok::Ident(word.to_string()),
            }
        } else if let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            self.pos += p.len();
            Tok::Punct(p)
        } else {
            self.pos += c.len_utf8();
            Tok::Invalid
        };
        // jq lexes `$x` as `$` and a name: the last lexeme is the name.
        self.last_start = if matches!(tok, Tok::Var(_)) { start + 1 } else { start };
        (tok, start)
    }

    fn peek(&mut self) -> (Tok, usize) {
        let (save, last) = (self.pos, self.last_start);
        let found = self.lex();
        self.pos = save;
        self.last_start = last;
        found
    }

    fn at(&mut self, punct: &str) -> bool {
        matches!(self.peek().0, Tok::Punct(p) if p == punct)
    }

    fn at_keyword(&mut self, word: &str) -> bool {
        matches!(self.peek().0, Tok::Keyword(k) if k == word)
    }

    fn unexpected(&self, tok: &Tok, start: usize, expecting: Option<&str>) -> SyntaxError {
        let name = match tok {
            Tok::End => "$end".to_string(),
            Tok::Punct(p) if p.len() == 1 => format!("'{p}'"),
            Tok::Punct(p) => p.to_string(),
            Tok::Keyword(k) => k.to_string(),
            Tok::Field(_) => "FIELD".into(),
            Tok::Ident(_) => "IDENT".into(),
            Tok::Var(_) => "'$'".into(),
            Tok::Format(_) => "FORMAT".into(),
            Tok::Number(_) => "LITERAL".into(),
            Tok::StringStart => "QQSTRING_START".into(),
            Tok::Invalid => "INVALID_CHARACTER".into(),
        };
        let expecting = expecting.map(|e| format!(", expecting {e}")).unwrap_or_default();
        // bison's end of input sits where the last token started, or past
        // trailing blanks.
        let at = if *tok == Tok::End { self.last_lexeme() } else { start };
        SyntaxError { message: format!("syntax error, unexpected {name}{expecting} (Unix shell quoting issues?)"), at, unterminated_if: self.open_ifs.last().copied() }
    }

    /// Where the program's last lexeme starts: flex's last match, a run of
    /// blanks or a comment included (bison puts the end of input there).
    fn last_lexeme(&self) -> usize {
        let trimmed = self.src.trim_end_matches([' ', '\t', '\n']);
        if trimmed.len() < self.src.len() {
            return trimmed.len();
        }
        let line_start = self.src.rfind('\n').map_or(0, |i| i + 1);
        if let Some(hash) = self.src[line_start..].find('#') {
            if self.last_start < line_start + hash {
                return line_start + hash;
            }
        }
        self.last_start
    }

    fn expect(&mut self, punct: &str) -> Result<(), SyntaxError> {
        let (tok, start) = self.lex();
        if matches!(tok, Tok::Punct(p) if p == punct) {
            Ok(())
        } else {
            Err(self.unexpected(&tok, start, None))
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), SyntaxError> {
        let (tok, start) = self.lex();
        if matches!(tok, Tok::Keyword(k) if k == word) {
            Ok(())
        } else {
            Err(self.unexpected(&tok, start, None))
        }
    }

    fn refuse(&self, what: &str, at: usize) -> SyntaxError {
        SyntaxError { message: format!("{what} is not simulated here"), at, unterminated_if: None }
    }

    pub fn pipe(&mut self) -> Parsed {
        if self.at_keyword("def") {
            let (_, start) = self.lex();
            return Err(self.refuse("def (function definitions)", start));
        }
        let lhs = self.comma()?;
        if self.at("|") {
            self.lex();
            let rhs = self.pipe()?;
            return Ok(Ast::Pipe(boxed(lhs), boxed(rhs)));
        }
        Ok(lhs)
    }

    fn comma(&mut self) -> Parsed {
        let mut lhs = self.alternative()?;
        while self.at(",") {
            self.lex();
            let rhs = self.alternative()?;
            lhs = Ast::Comma(boxed(lhs), boxed(rhs));
        }
        Ok(lhs)
    }

    fn alternative(&mut self) -> Parsed {
        let lhs = self.assignment()?;
        if self.at("//") {
            self.lex();
            let rhs = self.alternative()?;
            return Ok(Ast::Alternative(boxed(lhs), boxed(rhs)));
        }
        Ok(lhs)
    }

    fn assignment(&mut self) -> Parsed {
        let lhs = self.or()?;
        let update = match self.peek().0 {
            Tok::Punct("=") => Update::Set,
            Tok::Punct("|=") => Update::Modify,
            Tok::Punct("+=") => Update::Arith(Op::Add),
            Tok::Punct("-=") => Update::Arith(Op::Sub),
            Tok::Punct("*=") => Update::Arith(Op::Mul),
            Tok::Punct("/=") => Update::Arith(Op::Div),
            Tok::Punct("%=") => Update::Arith(Op::Mod),
            Tok::Punct("//=") => Update::Alternative,
            _ => return Ok(lhs),
        };
        self.lex();
        let rhs = self.alternative()?;
        Ok(Ast::Update(update, boxed(lhs), boxed(rhs)))
    }

    fn or(&mut self) -> Parsed {
        let mut lhs = self.and()?;
        while self.at_keyword("or") {
            self.lex();
            let rhs = self.and()?;
            lhs = Ast::Or(boxed(lhs), boxed(rhs));
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Parsed {
        let mut lhs = self.comparison()?;
        while self.at_keyword("and") {
            self.lex();
            let rhs = self.comparison()?;
            lhs = Ast::And(boxed(lhs), boxed(rhs));
        }
        Ok(lhs)
    }

    fn comparison(&mut self) -> Parsed {
        let lhs = self.additive()?;
        let op = match self.peek().0 {
            Tok::Punct("==") => Op::Eq,
            Tok::Punct("!=") => Op::Ne,
            Tok::Punct("<") => Op::Lt,
            Tok::Punct("<=") => Op::Le,
            Tok::Punct(">") => Op::Gt,
            Tok::Punct(">=") => Op::Ge,
            _ => return Ok(lhs),
        };
        self.lex();
        let rhs = self.additive()?;
        // Comparisons do not chain (`1 < 2 < 3` is a syntax error).
        if let (tok @ Tok::Punct("==" | "!=" | "<" | "<=" | ">" | ">="), start) = self.peek() {
            return Err(self.unexpected(&tok, start, None));
        }
        Ok(Ast::Binary(op, boxed(lhs), boxed(rhs)))
    }

    fn additive(&mut self) -> Parsed {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek().0 {
                Tok::Punct("+") => Op::Add,
                Tok::Punct("-") => Op::Sub,
                _ => return Ok(lhs),
            };
            self.lex();
            let rhs = self.multiplicative()?;
            lhs = Ast::Binary(op, boxed(lhs), boxed(rhs));
        }
    }

    fn multiplicative(&mut self) -> Parsed {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek().0 {
                Tok::Punct("*") => Op::Mul,
                Tok::Punct("/") => Op::Div,
                Tok::Punct("%") => Op::Mod,
                _ => return Ok(lhs),
            };
            self.lex();
            let rhs = self.unary()?;
            lhs = Ast::Binary(op, boxed(lhs), boxed(rhs));
        }
    }

    fn unary(&mut self) -> Parsed {
        if self.at("-") {
            let (_, start) = self.lex();
            self.depth += 1;
            let inner = if self.depth > MAX_NESTING { Err(self.too_deep(start)) } else { self.unary() };
            self.depth -= 1;
            return Ok(Ast::Neg(boxed(inner?)));
        }
        self.postfix()
    }

    /// Counts a term or suffix read, refusing a program past [`MAX_PARTS`].
    fn part(&mut self) -> Result<(), SyntaxError> {
        self.parts += 1;
        if self.parts > MAX_PARTS {
            let (_, start) = self.peek();
            return Err(self.refuse(&format!("a program of more than {MAX_PARTS} terms"), start));
        }
        Ok(())
    }

    fn too_deep(&self, at: usize) -> SyntaxError {
        self.refuse(&format!("nesting deeper than {}", MAX_NESTING), at)
    }

    /// A term and its suffixes (`.a`, `[0]`, `?`), maybe bound (`as $x | …`).
    fn postfix(&mut self) -> Parsed {
        let mut term = self.term()?;
        loop {
            self.part()?;
            match self.peek().0 {
                Tok::Field(name) => {
                    self.lex();
                    term = Ast::Index(boxed(term), boxed(Ast::Literal(Json::String(name))));
                }
                Tok::Punct(".") => {
                    let (save, last) = (self.pos, self.last_start);
                    self.lex();
                    match self.peek() {
                        (Tok::StringStart, _) => {
                            self.lex();
                            let key = self.string_body(None)?;
                            term = Ast::Index(boxed(term), boxed(key));
                        }
                        (Tok::Punct("["), _) => term = self.bracket(term)?,
                        (tok, start) => {
                            self.pos = save;
                            self.last_start = last;
                            self.lex();
                            return Err(self.unexpected(&tok, start, Some("FORMAT or QQSTRING_START")));
                        }
                    }
                }
                Tok::Punct("[") => term = self.bracket(term)?,
                Tok::Punct("?") => {
                    self.lex();
                    term = Ast::Try(boxed(term), None);
                }
                Tok::Keyword("as") => {
                    self.lex();
                    let (tok, start) = self.lex();
                    let Tok::Var(name) = tok else {
                        if matches!(tok, Tok::Punct("[" | "{")) {
                            return Err(self.refuse("destructuring (`as [$a]`, `as {$a}`)", start));
                        }
                        return Err(self.unexpected(&tok, start, Some("'$' or '[' or '{'")));
                    };
                    let (tok, start) = self.lex();
                    if tok != Tok::Punct("|") {
                        return Err(self.unexpected(&tok, start, Some("'|'")));
                    }
                    // A binding runs its body inside the source's output:
                    // a level of the evaluator's deepest frames, counted as four.
                    for _ in 0..4 {
                        self.part()?;
                    }
                    let body = self.pipe()?;
                    return Ok(Ast::As(boxed(term), name, boxed(body)));
                }
                _ => return Ok(term),
            }
        }
    }

    /// `[`…`]` after a term: an index, a slice, or `[]`.
    fn bracket(&mut self, target: Ast) -> Parsed {
        self.expect("[")?;
        if self.at("]") {
            self.lex();
            return Ok(Ast::Iterate(boxed(target)));
        }
        if self.at(":") {
            self.lex();
            let to = self.pipe()?;
            self.expect("]")?;
            return Ok(Ast::Slice(boxed(target), None, Some(boxed(to))));
        }
        let from = self.pipe()?;
        if self.at(":") {
            self.lex();
            if self.at("]") {
                self.lex();
                return Ok(Ast::Slice(boxed(target), Some(boxed(from)), None));
            }
            let to = self.pipe()?;
            self.expect("]")?;
            return Ok(Ast::Slice(boxed(target), Some(boxed(from)), Some(boxed(to))));
        }
        self.expect("]")?;
        Ok(Ast::Index(boxed(target), boxed(from)))
    }

    /// Every nested filter is read through here: the nesting is counted,
    /// as each level is native stack.
    fn term(&mut self) -> Parsed {
        self.part()?;
        self.depth += 1;
        let result = if self.depth > MAX_NESTING {
            let (_, start) = self.peek();
            Err(self.too_deep(start))
        } else {
            self.term_inner()
        };
        self.depth -= 1;
        result
    }

    fn term_inner(&mut self) -> Parsed {
        let (tok, start) = self.lex();
        match tok {
            Tok::Punct(".") => match self.peek().0 {
                Tok::StringStart => {
                    self.lex();
                    let key = self.string_body(None)?;
                    Ok(Ast::Index(boxed(Ast::Identity), boxed(key)))
                }
                Tok::Punct("[") => self.bracket(Ast::Identity),
                _ => Ok(Ast::Identity),
            },
            Tok::Punct("..") => Ok(Ast::RecurseAll),
            Tok::Field(name) => Ok(Ast::Index(boxed(Ast::Identity), boxed(Ast::Literal(Json::String(name))))),
            Tok::Number(n) => Ok(Ast::Literal(Json::Number(n))),
            Tok::StringStart => self.string_body(None),
            Tok::Format(name) => {
                if self.peek().0 == Tok::StringStart {
                    self.lex();
                    return self.string_body(Some(name));
                }
                Ok(Ast::Format(name))
            }
            Tok::Punct("(") => {
                let inner = self.pipe()?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Punct("[") => {
                if self.at("]") {
                    self.lex();
                    return Ok(Ast::Array(None));
                }
                let inner = self.pipe()?;
                self.expect("]")?;
                Ok(Ast::Array(Some(boxed(inner))))
            }
            Tok::Punct("{") => self.object(),
            Tok::Var(name) => Ok(Ast::Var(name)),
            Tok::Keyword("__loc__") => Err(self.unexpected(&tok, start, None)),
            Tok::Keyword("if") => {
                let mut branches = Vec::new();
                let cond = self.pipe()?;
                self.expect_keyword("then")?;
                self.open_ifs.push(start);
                let then = self.pipe()?;
                branches.push((cond, then));
                loop {
                    let (tok, start) = self.lex();
                    match tok {
                        Tok::Keyword("elif") => {
                            let cond = self.pipe()?;
                            self.expect_keyword("then")?;
                            let then = self.pipe()?;
                            branches.push((cond, then));
                        }
                        Tok::Keyword("else") => {
                            let otherwise = self.pipe()?;
                            self.expect_keyword("end")?;
                            self.open_ifs.pop();
                            return Ok(Ast::If(branches, Some(boxed(otherwise))));
                        }
                        // jq 1.6 needs an `else`.
                        _ => return Err(self.unexpected(&tok, start, None)),
                    }
                }
            }
            Tok::Keyword("try") => {
                let body = self.postfix_only()?;
                if self.at_keyword("catch") {
                    self.lex();
                    let handler = self.postfix_only()?;
                    return Ok(Ast::Try(boxed(body), Some(boxed(handler))));
                }
                Ok(Ast::Try(boxed(body), None))
            }
            Tok::Keyword(k @ ("reduce" | "foreach")) => {
                let source = self.postfix_only()?;
                self.expect_keyword("as")?;
                let (tok, start) = self.lex();
                let Tok::Var(name) = tok else { return Err(self.unexpected(&tok, start, Some("'$' or '[' or '{'"))) };
                let (tok, start) = self.lex();
                if tok != Tok::Punct("(") {
                    return Err(self.unexpected(&tok, start, Some("'('")));
                }
                let init = self.pipe()?;
                self.expect(";")?;
                let update = self.pipe()?;
                if k == "reduce" {
                    self.expect(")")?;
                    return Ok(Ast::Reduce(boxed(source), name, boxed(init), boxed(update)));
                }
                let extract = if self.at(";") {
                    self.lex();
                    Some(boxed(self.pipe()?))
                } else {
                    None
                };
                self.expect(")")?;
                Ok(Ast::Foreach(boxed(source), name, boxed(init), boxed(update), extract))
            }
            Tok::Keyword(k @ ("label" | "import" | "include")) => Err(self.refuse(k, start)),
            Tok::Ident(name) if !self.at("(") && matches!(name.as_str(), "null" | "true" | "false") => Ok(Ast::Literal(match name.as_str() {
                "null" => Json::Null,
                "true" => Json::Bool(true),
                _ => Json::Bool(false),
            })),
            Tok::Ident(name) => {
                let at = start;
                let mut args = Vec::new();
                if self.at("(") {
                    self.lex();
                    loop {
                        args.push(self.pipe()?);
                        let (tok, start) = self.lex();
                        match tok {
                            Tok::Punct(";") => continue,
                            Tok::Punct(")") => break,
                            _ => return Err(self.unexpected(&tok, start, None)),
                        }
                    }
                }
                Ok(Ast::Call(name, args, at))
            }
            _ => Err(self.unexpected(&tok, start, None)),
        }
    }

    /// A term with its suffixes but no `as` binding (`reduce`'s source, `try`'s body).
    fn postfix_only(&mut self) -> Parsed {
        let mut term = self.term()?;
        loop {
            self.part()?;
            match self.peek().0 {
                Tok::Field(name) => {
                    self.lex();
                    term = Ast::Index(boxed(term), boxed(Ast::Literal(Json::String(name))));
                }
                Tok::Punct("[") => term = self.bracket(term)?,
                Tok::Punct("?") => {
                    self.lex();
                    term = Ast::Try(boxed(term), None);
                }
                _ => return Ok(term),
            }
        }
    }

    fn object(&mut self) -> Parsed {
        let mut entries = Vec::new();
        loop {
            let (tok, start) = self.lex();
            let key = match tok {
                Tok::Punct("}") if entries.is_empty() => return Ok(Ast::Object(entries)),
                Tok::Ident(name) => Ast::Literal(Json::String(name)),
                Tok::Keyword(k) => Ast::Literal(Json::String(k.to_string())),
                Tok::Var(name) => {
                    // `{$x}` is `{x: $x}`.
                    entries.push((Ast::Literal(Json::String(name.clone())), Some(Ast::Var(name))));
                    if self.object_next()? {
                        return Ok(Ast::Object(entries));
                    }
                    continue;
                }
                Tok::StringStart => self.string_body(None)?,
                Tok::Format(name) if self.peek().0 == Tok::StringStart => {
                    self.lex();
                    self.string_body(Some(name))?
                }
                Tok::Number(n) => Ast::Literal(Json::Number(n)),
                Tok::Punct("(") => {
                    let inner = self.pipe()?;
                    self.expect(")")?;
                    inner
                }
                _ => return Err(self.unexpected(&tok, start, None)),
            };
            let value = if self.at(":") {
                self.lex();
                Some(self.object_value()?)
            } else {
                None
            };
            entries.push((key, value));
            if self.object_next()? {
                return Ok(Ast::Object(entries));
            }
        }
    }

    /// After an entry: `true` at the closing `}`.
    fn object_next(&mut self) -> Result<bool, SyntaxError> {
        let (tok, start) = self.lex();
        match tok {
            Tok::Punct("}") => Ok(true),
            Tok::Punct(",") => {
                // jq 1.6 takes a trailing comma.
                if self.at("}") {
                    self.lex();
                    return Ok(true);
                }
                Ok(false)
            }
            _ => Err(self.unexpected(&tok, start, Some("'}'"))),
        }
    }

    /// An object's value: terms joined by `|` (no `,` and no operators).
    fn object_value(&mut self) -> Parsed {
        let mut value = if self.at("-") {
            self.lex();
            Ast::Neg(boxed(self.postfix_only()?))
        } else {
            self.postfix_only()?
        };
        while self.at("|") {
            self.lex();
            let next = self.postfix_only()?;
            value = Ast::Pipe(boxed(value), boxed(next));
        }
        Ok(value)
    }

    /// A string's body after its opening quote, with `\(…)` parts.
    fn string_body(&mut self, format: Option<String>) -> Parsed {
        let mut parts = Vec::new();
        let mut text = String::new();
        // Where the current run of text starts: jq's last lexeme at an unterminated string.
        let mut text_start = self.pos;
        loop {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                self.last_start = text_start;
                let mut e = self.unexpected(&Tok::End, self.pos, Some("QQSTRING_TEXT or QQSTRING_INTERP_START or QQSTRING_END"));
                e.at = text_start;
                return Err(e);
            };
            self.pos += c.len_utf8();
            match c {
                '"' => break,
                '\\' => {
                    let Some(e) = self.rest().chars().next() else { continue };
                    self.pos += e.len_utf8();
                    match e {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        'b' => text.push('\u{8}'),
                        'f' => text.push('\u{c}'),
                        '"' | '\\' | '/' => text.push(e),
                        'u' => {
                            let hex = self.rest().get(..4).unwrap_or("");
                            let unit = u32::from_str_radix(hex, 16).ok();
                            self.pos += hex.len();
                            text.push(unit.and_then(char::from_u32).unwrap_or('\u{fffd}'));
                        }
                        '(' => {
                            if !text.is_empty() {
                                parts.push(Part::Text(std::mem::take(&mut text)));
                            }
                            let inner = self.pipe()?;
                            self.expect(")")?;
                            parts.push(Part::Expr(inner));
                            text_start = self.pos;
                        }
                        _ => {
                            return Err(SyntaxError { message: "syntax error, unexpected INVALID_CHARACTER (Unix shell quoting issues?)".into(), at: self.pos - 2, unterminated_if: None });
                        }
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        if format.is_none() {
            if let [Part::Text(only)] = parts.as_slice() {
                return Ok(Ast::Literal(Json::String(only.clone())));
            }
        }
        Ok(Ast::Interpolated(parts, format))
    }
}
