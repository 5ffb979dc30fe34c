//! The strings extension's `format` (cel-go ext/formatting.go; 1.33's
//! base environment enables the extension at version 2, `format` came in
//! version 1), with its error words, and its check of a literal template
//! against a literal argument list when the expression is compiled.

use std::rc::Rc;

use super::check::Ty;
use super::time;
use super::{Key, Value};
use crate::engine::kubectl::printers::jsonpath::go_quote;

/// cel-go's `defaultPrecision` for `%f` and `%e`.
const DEFAULT_PRECISION: usize = 6;

/// A clause of a template: its verb and precision.
#[derive(Clone, Copy)]
struct Clause {
    verb: char,
    precision: Option<usize>,
}

/// A piece of a template: text, or a clause consuming the next argument.
enum Piece<'a> {
    Text(&'a str),
    Clause(Clause),
}

/// How formatting failed: the clause's argument (for the checker's caret)
/// and cel-go's words.
pub struct FormatError {
    pub argument: Option<usize>,
    pub message: String,
}

fn error(message: String) -> FormatError {
    FormatError { argument: None, message }
}

/// `parseFormatString`'s walk over the template: each clause asks for the
/// next argument (`available` of them) before it is parsed.
fn parse(template: &str, available: usize, runtime: bool) -> Result<Vec<Piece<'_>>, FormatError> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let (mut i, mut text_start, mut arg_index) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        pieces.push(Piece::Text(template.get(text_start..i).unwrap_or("")));
        if bytes.get(i + 1) == Some(&b'%') {
            pieces.push(Piece::Text("%"));
            i += 2;
            text_start = i;
            continue;
        }
        // At run time the argument is fetched first (`stringArgList.Arg`).
        if runtime && arg_index >= available {
            return Err(error(format!("index {arg_index} out of range")));
        }
        if i + 1 >= bytes.len() {
            return Err(error("unexpected end of string".to_string()));
        }
        if arg_index >= available {
            return Err(error(format!("index {arg_index} out of range")));
        }
        let (read, clause) = parse_clause(bytes.get(i + 1..).unwrap_or(&[])).map_err(|e| error(format!("could not parse formatting clause: {e}")))?;
        pieces.push(Piece::Clause(clause));
        i += 1 + read;
        text_start = i;
        arg_index += 1;
    }
    pieces.push(Piece::Text(template.get(text_start..).unwrap_or("")));
    Ok(pieces)
}

/// `parseFormattingClause`: an optional `.precision`, then the verb.
fn parse_clause(rest: &[u8]) -> Result<(usize, Clause), String> {
    let mut i = 0;
    let mut precision = None;
    if rest.first() == Some(&b'.') {
        i = 1;
        loop {
            match rest.get(i) {
                None => return Err("error while parsing precision: could not find end of precision specifier".to_string()),
                Some(c) if c.is_ascii_digit() => i += 1,
                Some(_) => break,
            }
        }
        let digits = std::str::from_utf8(rest.get(1..i).unwrap_or(&[])).unwrap_or("");
        precision = Some(digits.parse::<usize>().map_err(|_| {
            format!("error while parsing precision: error while converting precision to integer: strconv.Atoi: parsing {}: {}", go_quote(digits), if digits.is_empty() { "invalid syntax" } else { "value out of range" })
        })?);
    }
    // cel-go reads one byte as the verb: a multi-byte character shows as its first byte.
    let verb = char::from(*rest.get(i).unwrap_or(&0));
    if !matches!(verb, 's' | 'd' | 'f' | 'e' | 'b' | 'x' | 'X' | 'o') {
        return Err(format!("unrecognized formatting clause \"{verb}\""));
    }
    Ok((i + 1, Clause { verb, precision }))
}

/// `"...".format([...])` at run time.
pub fn format(template: &str, args: &[Value]) -> Result<String, String> {
    let pieces = parse(template, args.len(), true).map_err(|e| e.message)?;
    let mut out = String::new();
    let mut next = args.iter();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Clause(clause) => {
                let arg = next.next().ok_or_else(|| "index out of range".to_string())?;
                out.push_str(&format_clause(clause, arg).map_err(|e| format!("error during formatting: {e}"))?);
            }
        }
    }
    Ok(out)
}

const STRING_CLAUSE: &str = "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps";

fn format_clause(clause: Clause, arg: &Value) -> Result<String, String> {
    let given = arg.type_name();
    match clause.verb {
        's' => format_string(arg),
        'd' => match arg {
            Value::Int(i) => Ok(i.to_string()),
            Value::Uint(u) => Ok(u.to_string()),
            _ => Err(format!("decimal clause can only be used on integers, was given {given}")),
        },
        'f' | 'e' => {
            let number = match arg {
                Value::Double(d) => *d,
                Value::Str(s) if matches!(&**s, "NaN" | "Infinity" | "-Infinity") => match &**s {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    _ => f64::NEG_INFINITY,
                },
                _ if clause.verb == 'f' => return Err(format!("fixed-point clause can only be used on doubles, was given {given}")),
                _ => return Err(format!("scientific clause can only be used on doubles, was given {given}")),
            };
            let precision = clause.precision.unwrap_or(DEFAULT_PRECISION).min(1000);
            Ok(if clause.verb == 'f' { locale_fixed(number, precision) } else { locale_scientific(number, precision) })
        }
        'b' => match arg {
            Value::Int(i) => Ok(signed(*i < 0, format!("{:b}", i.unsigned_abs()))),
            Value::Uint(u) => Ok(format!("{u:b}")),
            Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
            _ => Err(format!("only integers and bools can be formatted as binary, was given {given}")),
        },
        'o' => match arg {
            Value::Int(i) => Ok(signed(*i < 0, format!("{:o}", i.unsigned_abs()))),
            Value::Uint(u) => Ok(format!("{u:o}")),
            _ => Err(format!("octal clause can only be used on integers, was given {given}")),
        },
        _ => {
            let hex = match arg {
                Value::Int(i) => signed(*i < 0, format!("{:x}", i.unsigned_abs())),
                Value::Uint(u) => format!("{u:x}"),
                Value::Str(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                Value::Bytes(b) => b.iter().map(|b| format!("{b:02x}")).collect(),
                _ => return Err(format!("only integers, byte buffers, and strings can be formatted as hex, was given {given}")),
            };
            Ok(if clause.verb == 'X' { hex.to_ascii_uppercase() } else { hex })
        }
    }
}

fn signed(negative: bool, digits: String) -> String {
    if negative {
        format!("-{digits}")
    } else {
        digits
    }
}

/// `FormatString`: a value as `string()` converts it; lists and maps
/// element by element.
fn format_string(arg: &Value) -> Result<String, String> {
    match arg {
        Value::List(items) => format_list(items),
        Value::Map(map) => format_map(map),
        Value::Null => Ok("null".to_string()),
        Value::Str(s) => Ok(s.to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::Type(t) => Ok(t.to_string()),
        Value::Int(_) | Value::Uint(_) | Value::Double(_) | Value::Bool(_) | Value::Duration(_) | Value::Timestamp(_) => Ok(super::eval::format_value(arg)),
        _ => Err(format!("{STRING_CLAUSE}, was given {}", arg.type_name())),
    }
}

/// `clauseForType` and `quoteForCEL`: how an element of a list or map reads.
fn format_element(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Int(_) | Value::Uint(_) | Value::Bool(_) | Value::Null | Value::Type(_) => format_string(v)?,
        Value::Str(s) => go_quote(s),
        Value::Double(d) if d.is_finite() => format!("{d:.6}"),
        Value::Double(d) => go_quote(&go_fixed_special(*d)),
        Value::Timestamp(t) => format!("timestamp({})", go_quote(&t.rfc3339_nano())),
        Value::Duration(d) => format!("duration({})", go_quote(&time::format_duration(*d))),
        Value::List(items) => format_list(items)?,
        Value::Map(map) => format_map(map)?,
        _ => return Err(format!("no formatting function for {}", v.type_name())),
    })
}

/// Go's `%f` of NaN and the infinities.
fn go_fixed_special(d: f64) -> String {
    if d.is_nan() {
        "NaN".to_string()
    } else if d > 0.0 {
        "+Inf".to_string()
    } else {
        "-Inf".to_string()
    }
}

fn format_list(items: &Rc<Vec<Value>>) -> Result<String, String> {
    let mut parts = Vec::with_capacity(items.len());
    for item in items.iter() {
        parts.push(format_element(item)?);
    }
    Ok(format!("[{}]", parts.join(", ")))
}

/// `formatMap`: entries sorted by the key as written (quoted strings too).
fn format_map(map: &std::collections::BTreeMap<Key, Value>) -> Result<String, String> {
    let mut pairs = Vec::with_capacity(map.len());
    for (k, v) in map {
        let key = match k {
            Key::Str(s) => go_quote(s),
            Key::Bool(b) => b.to_string(),
            Key::Int(i) => i.to_string(),
            Key::Uint(u) => u.to_string(),
        };
        pairs.push((key, format_element(v)?));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(format!("{{{}}}", pairs.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(", ")))
}

/// `%f` through golang.org/x/text's printer for en_US: the integer part
/// grouped by thousands, infinities as `∞`.
fn locale_fixed(d: f64, precision: usize) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "∞" } else { "-∞" }.to_string();
    }
    let text = format!("{:.precision$}", d.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d < 0.0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// `%e` through golang.org/x/text's printer for en_US:
/// `2.718280 × 10⁰⁰`, the exponent in superscript digits, two at least.
fn locale_scientific(d: f64, precision: usize) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "∞" } else { "-∞" }.to_string();
    }
    let text = format!("{d:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits: String = format!("{:02}", exponent.unsigned_abs()).chars().map(|c| SUPERSCRIPT[c.to_digit(10).unwrap_or(0) as usize]).collect();
    let sign = if exponent < 0 { "⁻" } else { "" };
    format!("{mantissa}\u{202f}×\u{202f}10{sign}{digits}")
}

/// The name `TypeName()` gives a checked type.
fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::List => "list",
        Ty::Map => "map",
        Ty::Optional => "optional_type",
        other => other.name(),
    }
}

/// cel-go's `stringFormatValidator`: a literal template with a literal
/// list is checked when the expression is compiled (clause syntax, the
/// argument count, each clause's argument type).
pub fn check(template: &str, args: &[Ty]) -> Result<(), FormatError> {
    let pieces = parse(template, args.len(), false)?;
    let mut requested = 0;
    for piece in pieces {
        let Piece::Clause(clause) = piece else { continue };
        let ty = args.get(requested).copied().unwrap_or(Ty::Dyn);
        let fits = match clause.verb {
            's' => !matches!(ty, Ty::Quantity | Ty::Optional | Ty::Ip | Ty::Cidr | Ty::Url | Ty::Format | Ty::Object(_)),
            'd' | 'o' => matches!(ty, Ty::Int | Ty::Uint | Ty::Dyn),
            'f' | 'e' => matches!(ty, Ty::Double | Ty::String | Ty::Dyn),
            'b' => matches!(ty, Ty::Int | Ty::Uint | Ty::Bool | Ty::Dyn),
            _ => matches!(ty, Ty::Int | Ty::Uint | Ty::String | Ty::Bytes | Ty::Dyn),
        };
        if !fits {
            let what = match clause.verb {
                's' => STRING_CLAUSE,
                'd' => "decimal clause can only be used on integers",
                'o' => "octal clause can only be used on integers",
                'f' => "fixed-point clause can only be used on doubles",
                'e' => "scientific clause can only be used on doubles",
                'b' => "only integers and bools can be formatted as binary",
                _ => "only integers, byte buffers, and strings can be formatted as hex",
            };
            return Err(FormatError { argument: Some(requested), message: format!("error during formatting: {what}, was given {}", type_name(ty)) });
        }
        requested += 1;
    }
    if args.len() > requested {
        return Err(error(format!("too many arguments supplied to string.format (expected {requested}, got {})", args.len())));
    }
    Ok(())
}
