//! jq's values: JSON read with its objects' key order kept (kubectl's
//! order), written as jq 1.6 prints it (2-space indent or `-c`, `-S`,
//! `%.17g`-like numbers, its string escapes), and jq's ordering of values.

use indexmap::IndexMap;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(IndexMap<String, Json>),
}

impl Json {
    /// jq's kind names (`type`, error messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
    pub fn truthy(&self) -> bool {
        !matches!(self, Json::Null | Json::Bool(false))
    }
    fn rank(&self) -> u8 {
        match self {
            Json::Null => 0,
            Json::Bool(false) => 1,
            Json::Bool(true) => 2,
            Json::Number(_) => 3,
            Json::String(_) => 4,
            Json::Array(_) => 5,
            Json::Object(_) => 6,
        }
    }
    /// jq's total order: null < false < true < numbers < strings < arrays
    /// < objects; objects by their sorted keys first, then the values.
    pub fn compare(&self, other: &Json) -> Ordering {
        match (self, other) {
            // jq 1.6 puts NaN below every number (kept a total order, for sorting).
            (Json::Number(a), Json::Number(b)) => a.partial_cmp(b).unwrap_or_else(|| b.is_nan().cmp(&a.is_nan())),
            (Json::String(a), Json::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Json::Array(a), Json::Array(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = x.compare(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Json::Object(a), Json::Object(b)) => {
                let (ka, kb) = (sorted_keys(a), sorted_keys(b));
                let keys = Json::Array(ka.iter().map(|k| Json::String(k.to_string())).collect())
                    .compare(&Json::Array(kb.iter().map(|k| Json::String(k.to_string())).collect()));
                if keys != Ordering::Equal {
                    return keys;
                }
                for k in ka {
                    let (Some(x), Some(y)) = (a.get(k), b.get(k)) else { continue };
                    let o = x.compare(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
    pub fn equals(&self, other: &Json) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

pub fn sorted_keys(map: &IndexMap<String, Json>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
    keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    keys
}

/// A number as jq 1.6 prints it: the shortest digits that read back the
/// same, in exponent form below 1e-4 or past 17 significant places
/// (`1e+17`, `1.5e-07`), an overflow as the largest double.
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        return "null".into();
    }
    let n = if n.is_infinite() { f64::MAX.copysign(n) } else { n };
    if n == 0.0 {
        return if n.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d.ddde±x`.
    let sci = format!("{:e}", n.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let decpt = exponent + 1;
    let count = digits.len() as i32;
    let mut out = String::new();
    if n < 0.0 {
        out.push('-');
    }
    if decpt <= -4 || decpt > count + 15 {
        out.push_str(&digits[..1]);
        if count > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}{:02}", if decpt - 1 < 0 { '-' } else { '+' }, (decpt - 1).abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-decpt) as usize));
        out.push_str(&digits);
    } else if decpt >= count {
        out.push_str(&digits);
        out.push_str(&"0".repeat((decpt - count) as usize));
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
    out
}

/// How values are written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Spaces per level; `None` for `-c`.
    pub indent: Option<usize>,
    pub tab: bool,
    pub sort_keys: bool,
    pub ascii: bool,
}

pub fn write_string(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn write(out: &mut String, v: &Json, style: &Style, level: usize) {
    let newline = |out: &mut String, level: usize| {
        if let Some(width) = style.indent {
            out.push('\n');
            if style.tab {
                out.push_str(&"\t".repeat(level));
            } else {
                out.push_str(&" ".repeat(width * level));
            }
        }
    };
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&number_text(*n)),
        Json::String(s) => write_string(out, s, style.ascii),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write(out, item, style, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            out.push('{');
            let keys: Vec<&str> = if style.sort_keys { sorted_keys(map) } else { map.keys().map(|k| k.as_str()).collect() };
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_string(out, key, style.ascii);
                out.push(':');
                if style.indent.is_some() {
                    out.push(' ');
                }
                if let Some(value) = map.get(*key) {
                    write(out, value, style, level + 1);
                }
            }
            newline(out, level);
            out.push('}');
        }
    }
}

pub fn compact(v: &Json) -> String {
    let mut out = String::new();
    write(&mut out, v, &Style::default(), 0);
    out
}

/// A value in an error message, cut as jq cuts it (at 11 bytes, then `...`).
pub fn brief(v: &Json) -> String {
    let text = compact(v);
    if text.len() < 15 {
        return text;
    }
    let mut cut = 11;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

/// How deep arrays and objects may nest: jq 1.6 allows 10000, but each
/// level is native stack and the page's stack is small (kubectl's JSON
/// nests about 10 deep).
pub const MAX_NESTING: usize = 256;

/// Reads a stream of JSON texts, as jq does its input: each value with the
/// line jq names in a runtime error (the newlines read up to the character
/// after the value).
pub struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
    /// Nesting of arrays and objects open while reading a value.
    depth: usize,
}

/// A parse error in jq's words, and where.
#[derive(Debug, PartialEq)]
pub struct ParseError(pub String);

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader { text: text.as_bytes(), pos: 0, depth: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Line and column as jq's parser reports them.
    fn position(&self, at: usize) -> (usize, usize) {
        let upto = &self.text[..at.min(self.text.len())];
        let line = upto.iter().filter(|b| **b == b'\n').count();
        let column = upto.iter().rev().take_while(|b| **b != b'\n').count();
        (line + 1, column)
    }

    fn fail(&self, what: &str, at: usize) -> ParseError {
        if at >= self.text.len() {
            let (line, column) = self.position(self.text.len());
            ParseError(format!("{what} at EOF at line {line}, column {column}"))
        } else {
            let (line, column) = self.position(at + 1);
            ParseError(format!("{what} at line {line}, column {column}"))
        }
    }

    /// The next value and its line, `None` at the end.
    pub fn next_value(&mut self) -> Option<Result<(Json, usize), ParseError>> {
        self.skip_space();
        self.peek()?;
        self.depth = 0;
        let value = match self.value() {
            Ok(v) => v,
            Err(e) => {
                self.pos = self.text.len();
                return Some(Err(e));
            }
        };
        // jq 1.6 reads its input a line at a time (fgets): the line count
        // runs to the end of the line where the character after the value is.
        let after = match self.text.get(self.pos..).and_then(|rest| rest.iter().position(|b| *b == b'\n')) {
            Some(i) => self.pos + i + 1,
            None => self.text.len(),
        };
        let line = self.text[..after].iter().filter(|b| **b == b'\n').count();
        Some(Ok((value, line)))
    }

    fn value(&mut self) -> Result<Json, ParseError> {
        self.skip_space();
        let start = self.pos;
        match self.peek() {
            None => Err(self.fail("Unfinished JSON term", self.pos)),
            Some(b'{') => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.fail("Exceeds depth limit for parsing", self.pos));
                }
                let mut map = IndexMap::new();
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Object(map));
                }
                loop {
                    self.skip_space();
                    match self.peek() {
                        None => return Err(self.fail("Unfinished JSON term", self.pos)),
                        Some(b'"') => {}
                        Some(_) => return Err(self.fail("Object keys must be strings", self.pos)),
                    }
                    let key = self.string()?;
                    self.skip_space();
                    match self.peek() {
                        Some(b':') => self.pos += 1,
                        None => return Err(self.fail("Unfinished JSON term", self.pos)),
                        Some(c) if c.is_ascii_alphanumeric() || c == b'-' => {
                            // A second value where the colon should be: jq
                            // finds out at the literal's end.
                            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')) {
                                self.pos += 1;
                            }
                            return Err(self.fail("Expected separator between values", self.pos));
                        }
                        Some(_) => return Err(self.fail("Objects must consist of key:value pairs", self.pos)),
                    }
                    let value = self.value()?;
                    map.insert(key, value);
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(Json::Object(map));
                        }
                        None => return Err(self.fail("Unfinished JSON term", self.pos)),
                        Some(_) => return Err(self.fail("Expected separator between values", self.pos)),
                    }
                    self.skip_space();
                    if self.peek() == Some(b'}') {
                        return Err(self.fail("Expected another key-value pair", self.pos));
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.fail("Exceeds depth limit for parsing", self.pos));
                }
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(Json::Array(items));
                        }
                        None => return Err(self.fail("Unfinished JSON term", self.pos)),
                        Some(_) => return Err(self.fail("Expected separator between values", self.pos)),
                    }
                    self.skip_space();
                    if self.peek() == Some(b']') {
                        return Err(self.fail("Expected another array element", self.pos));
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b']' | b'}') => Err(self.fail(if self.peek() == Some(b']') { "Unmatched ']'" } else { "Unmatched '}'" }, start)),
            Some(b',') | Some(b':') => Err(self.fail("Expected value before ','", start)),
            Some(_) => {
                // A literal: letters, digits and signs up to a delimiter.
                while let Some(c) = self.peek() {
                    if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}' | b':' | b'[' | b'{' | b'"') {
                        break;
                    }
                    self.pos += 1;
                }
                let word = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("");
                // jq reads `t…`, `f…`, `n…` as keywords, the rest as numbers.
                let what = if word.starts_with(['t', 'f', 'n']) { "Invalid literal" } else { "Invalid numeric literal" };
                match word {
                    "null" => Ok(Json::Null),
                    "true" => Ok(Json::Bool(true)),
                    "false" => Ok(Json::Bool(false)),
                    "nan" => Ok(Json::Number(f64::NAN)),
                    _ => match parse_number(word) {
                        Some(n) => Ok(Json::Number(n)),
                        // Found at the delimiter after the literal.
                        None => Err(self.fail(what, self.pos)),
                    },
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        // At the opening quote.
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else { return Err(self.fail("Unfinished JSON term", self.pos)) };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(self.fail("Unfinished JSON term", self.pos)) };
                    self.pos += 1;
                    let simple = match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    } else if e == b'u' {
                        let unit = self.hex4().ok_or_else(|| self.fail("Invalid escape", self.pos))?;
                        let ch = if (0xd800..0xdc00).contains(&unit) && self.text.get(self.pos) == Some(&b'\\') && self.text.get(self.pos + 1) == Some(&b'u') {
                            let save = self.pos;
                            self.pos += 2;
                            match self.hex4() {
                                Some(low) if (0xdc00..0xe000).contains(&low) => char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)),
                                _ => {
                                    self.pos = save;
                                    None
                                }
                            }
                        } else {
                            char::from_u32(unit)
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
                    } else {
                        return Err(self.fail("Invalid escape", self.pos));
                    }
                }
                c => out.push(c),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        let unit = u32::from_str_radix(text, 16).ok()?;
        self.pos += 4;
        Some(unit)
    }
}

/// A JSON number (jq also takes a leading `+`-less form only).
pub fn parse_number(word: &str) -> Option<f64> {
    let bytes = word.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'.') {
        return None;
    }
    if !bytes.iter().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    word.parse::<f64>().ok()
}

/// Reads one whole JSON text (`--argjson`, `fromjson`).
pub fn parse_one(text: &str) -> Result<Json, ParseError> {
    let mut reader = Reader::new(text);
    let first = match reader.next_value() {
        Some(r) => r?.0,
        None => return Err(ParseError("Expected JSON value".into())),
    };
    match reader.next_value() {
        None => Ok(first),
        Some(Err(e)) => Err(e),
        Some(Ok(_)) => Err(ParseError("Unexpected extra JSON values".into())),
    }
}
