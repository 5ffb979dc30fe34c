//! Go's `json.Unmarshal(data, &map[string]interface{}{})` as the Secret
//! validator calls it on a docker config: `encoding/json`'s scanner
//! (`checkValid`, byte by byte, with its error wording), then the one type
//! check a map target makes (the top-level value must be an object or
//! `null`).

/// Go's nesting limit (`maxNestingDepth`).
const MAX_NESTING_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

#[derive(Clone, Copy, PartialEq)]
enum Step {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    /// Hex digits of a `\u` escape still to read.
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    DotZero,
    E,
    ESign,
    EZero,
    /// The rest of `true`, `false` or `null` still expected.
    Literal(&'static str, &'static [u8]),
}

struct Scanner {
    step: Step,
    stack: Vec<Parse>,
    end_top: bool,
}

/// The error `json.Unmarshal` gives for `data` into a
/// `map[string]interface{}`, or `None` when it decodes.
pub fn unmarshal_map_error(data: &[u8]) -> Option<String> {
    if let Err(e) = check_valid(data) {
        return Some(e);
    }
    let first = data.iter().copied().find(|&c| !is_space(c))?;
    let kind = match first {
        b'{' | b'n' => return None,
        b'"' => "string",
        b'[' => "array",
        b't' | b'f' => "bool",
        _ => "number",
    };
    Some(format!("json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"))
}

fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut scan = Scanner { step: Step::BeginValue, stack: Vec::new(), end_top: false };
    for &c in data {
        scan.next(c)?;
    }
    // `scanner.eof`: a space ends a number at the top level.
    if scan.end_top {
        return Ok(());
    }
    scan.next(b' ')?;
    if scan.end_top {
        Ok(())
    } else {
        Err("unexpected end of JSON input".to_string())
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

impl Scanner {
    fn next(&mut self, c: u8) -> Result<(), String> {
        match self.step {
            Step::BeginValueOrEmpty => {
                if is_space(c) {
                    return Ok(());
                }
                if c == b']' {
                    return self.end_value(c);
                }
                self.begin_value(c)
            }
            Step::BeginValue => self.begin_value(c),
            Step::BeginStringOrEmpty => {
                if is_space(c) {
                    return Ok(());
                }
                if c == b'}' {
                    if let Some(last) = self.stack.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    return self.end_value(c);
                }
                self.begin_string(c)
            }
            Step::BeginString => self.begin_string(c),
            Step::EndValue => self.end_value(c),
            Step::EndTop => {
                if is_space(c) {
                    Ok(())
                } else {
                    Err(syntax(c, "after top-level value"))
                }
            }
            Step::InString => {
                match c {
                    b'"' => self.step = Step::EndValue,
                    b'\\' => self.step = Step::InStringEsc,
                    c if c < 0x20 => return Err(syntax(c, "in string literal")),
                    _ => {}
                }
                Ok(())
            }
            Step::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.step = Step::InString;
                    Ok(())
                }
                b'u' => {
                    self.step = Step::InStringEscU(4);
                    Ok(())
                }
                _ => Err(syntax(c, "in string escape code")),
            },
            Step::InStringEscU(left) => {
                if !c.is_ascii_hexdigit() {
                    return Err(syntax(c, "in \\u hexadecimal character escape"));
                }
                self.step = if left > 1 { Step::InStringEscU(left - 1) } else { Step::InString };
                Ok(())
            }
            Step::Neg => match c {
                b'0' => {
                    self.step = Step::Zero;
                    Ok(())
                }
                b'1'..=b'9' => {
                    self.step = Step::One;
                    Ok(())
                }
                _ => Err(syntax(c, "in numeric literal")),
            },
            Step::One if c.is_ascii_digit() => Ok(()),
            Step::One | Step::Zero => match c {
                b'.' => {
                    self.step = Step::Dot;
                    Ok(())
                }
                b'e' | b'E' => {
                    self.step = Step::E;
                    Ok(())
                }
                _ => self.end_value(c),
            },
            Step::Dot => {
                if c.is_ascii_digit() {
                    self.step = Step::DotZero;
                    Ok(())
                } else {
                    Err(syntax(c, "after decimal point in numeric literal"))
                }
            }
            Step::DotZero => match c {
                b'0'..=b'9' => Ok(()),
                b'e' | b'E' => {
                    self.step = Step::E;
                    Ok(())
                }
                _ => self.end_value(c),
            },
            Step::E if c == b'+' || c == b'-' => {
                self.step = Step::ESign;
                Ok(())
            }
            Step::E | Step::ESign => {
                if c.is_ascii_digit() {
                    self.step = Step::EZero;
                    Ok(())
                } else {
                    Err(syntax(c, "in exponent of numeric literal"))
                }
            }
            Step::EZero => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            Step::Literal(word, rest) => match rest.split_first() {
                Some((&expected, tail)) if c == expected => {
                    self.step = if tail.is_empty() { Step::EndValue } else { Step::Literal(word, tail) };
                    Ok(())
                }
                Some((&expected, _)) => Err(syntax(c, &format!("in literal {word} (expecting {})", quote_char(expected)))),
                None => self.end_value(c),
            },
        }
    }

    fn begin_value(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        match c {
            b'{' => {
                self.push(c, Parse::ObjectKey)?;
                self.step = Step::BeginStringOrEmpty;
            }
            b'[' => {
                self.push(c, Parse::ArrayValue)?;
                self.step = Step::BeginValueOrEmpty;
            }
            b'"' => self.step = Step::InString,
            b'-' => self.step = Step::Neg,
            b'0' => self.step = Step::Zero,
            b'1'..=b'9' => self.step = Step::One,
            b't' => self.step = Step::Literal("true", b"rue"),
            b'f' => self.step = Step::Literal("false", b"alse"),
            b'n' => self.step = Step::Literal("null", b"ull"),
            _ => return Err(syntax(c, "looking for beginning of value")),
        }
        Ok(())
    }

    fn begin_string(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        if c == b'"' {
            self.step = Step::InString;
            Ok(())
        } else {
            Err(syntax(c, "looking for beginning of object key string"))
        }
    }

    fn push(&mut self, c: u8, parse: Parse) -> Result<(), String> {
        self.stack.push(parse);
        if self.stack.len() > MAX_NESTING_DEPTH {
            return Err(syntax(c, "exceeded max depth"));
        }
        Ok(())
    }

    fn pop(&mut self) {
        self.stack.pop();
        if self.stack.is_empty() {
            self.step = Step::EndTop;
            self.end_top = true;
        } else {
            self.step = Step::EndValue;
        }
    }

    fn end_value(&mut self, c: u8) -> Result<(), String> {
        let Some(&parse) = self.stack.last() else {
            self.step = Step::EndTop;
            self.end_top = true;
            return self.next(c);
        };
        if is_space(c) {
            self.step = Step::EndValue;
            return Ok(());
        }
        match (parse, c) {
            (Parse::ObjectKey, b':') => {
                if let Some(last) = self.stack.last_mut() {
                    *last = Parse::ObjectValue;
                }
                self.step = Step::BeginValue;
                Ok(())
            }
            (Parse::ObjectKey, _) => Err(syntax(c, "after object key")),
            (Parse::ObjectValue, b',') => {
                if let Some(last) = self.stack.last_mut() {
                    *last = Parse::ObjectKey;
                }
                self.step = Step::BeginString;
                Ok(())
            }
            (Parse::ObjectValue, b'}') | (Parse::ArrayValue, b']') => {
                self.pop();
                Ok(())
            }
            (Parse::ObjectValue, _) => Err(syntax(c, "after object key:value pair")),
            (Parse::ArrayValue, b',') => {
                self.step = Step::BeginValue;
                Ok(())
            }
            (Parse::ArrayValue, _) => Err(syntax(c, "after array element")),
        }
    }
}

fn syntax(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

/// Go's `quoteChar`: the byte as a rune (so 0xE9 is `é`), in single quotes,
/// escaped as `strconv.Quote` escapes it.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        0x07 => "'\\a'".to_string(),
        0x08 => "'\\b'".to_string(),
        0x0b => "'\\v'".to_string(),
        0x0c => "'\\f'".to_string(),
        // Latin-1's controls, no-break space and soft hyphen are not printable to Go.
        0x80..=0xa0 | 0xad => format!("'\\u{c:04x}'"),
        _ => {
            let quoted = crate::engine::apiserver::validation::quote(&char::from(c).to_string());
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unmarshal_map_error;

    fn err(text: &str) -> String {
        unmarshal_map_error(text.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn go_wording() {
        assert_eq!(err("not json"), "invalid character 'o' in literal null (expecting 'u')");
        assert_eq!(err("bar"), "invalid character 'b' looking for beginning of value");
        assert_eq!(err(""), "unexpected end of JSON input");
        assert_eq!(err("{\"a\":1"), "unexpected end of JSON input");
        assert_eq!(err("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(err("{\"a\":1 \"b\":2}"), "invalid character '\"' after object key:value pair");
        assert_eq!(err("{a:1}"), "invalid character 'a' looking for beginning of object key string");
        assert_eq!(err("[1 2]"), "invalid character '2' after array element");
        assert_eq!(err("{} x"), "invalid character 'x' after top-level value");
        assert_eq!(err("1.x"), "invalid character 'x' after decimal point in numeric literal");
        assert_eq!(err("-x"), "invalid character 'x' in numeric literal");
        assert_eq!(err("1ex"), "invalid character 'x' in exponent of numeric literal");
        assert_eq!(err("\"a\tb\""), "invalid character '\\t' in string literal");
        assert_eq!(err("\"\\q\""), "invalid character 'q' in string escape code");
        assert_eq!(err("\"\\u12x4\""), "invalid character 'x' in \\u hexadecimal character escape");
        assert_eq!(err("tru "), "invalid character ' ' in literal true (expecting 'e')");
        assert_eq!(err("'a'"), "invalid character '\\'' looking for beginning of value");
        assert_eq!(err("123"), "json: cannot unmarshal number into Go value of type map[string]interface {}");
        assert_eq!(err("\"s\""), "json: cannot unmarshal string into Go value of type map[string]interface {}");
        assert_eq!(err("[]"), "json: cannot unmarshal array into Go value of type map[string]interface {}");
        assert_eq!(err("false"), "json: cannot unmarshal bool into Go value of type map[string]interface {}");
        assert_eq!(unmarshal_map_error(b"\x01"), Some("invalid character '\\x01' looking for beginning of value".to_string()));
        assert_eq!(unmarshal_map_error(b"\xe9"), Some("invalid character '\u{e9}' looking for beginning of value".to_string()));
        assert_eq!(unmarshal_map_error(b"\x85"), Some("invalid character '\\u0085' looking for beginning of value".to_string()));
        assert_eq!(err(&"[".repeat(10_001)), "invalid character '[' exceeded max depth");
        assert_eq!(unmarshal_map_error(b"null"), None);
        assert_eq!(unmarshal_map_error(b" {\"auths\":{\"r\":{\"auth\":\"x\"}}, \"n\": [1, -2.5e+3, true, null]} "), None);
        assert_eq!(unmarshal_map_error(b"{}"), None);
    }
}
