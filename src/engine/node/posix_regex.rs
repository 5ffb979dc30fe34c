//! POSIX regular expressions (basic, and extended) for `sed` and `awk`,
//! translated into regex-lite's syntax: the crate is already in the build
//! (lesson checks), and its matches give the spans and groups `s///` and
//! `sub`/`match` need, which grep's own matcher does not keep.
//!
//! What differs from a POSIX matcher: regex-lite takes the leftmost match
//! whose alternatives are tried in order (`a|ab` matches `a` of `ab`)
//! where POSIX takes the longest; back-references in a pattern (`\(a\)\1`)
//! are refused by name.

use regex_lite::{Regex, RegexBuilder};

/// Why a pattern did not compile: glibc regcomp's wording, as GNU sed and
/// mawk print it, or the simulation's own for what it lacks.
pub type RegexError = String;

const UNMATCHED_BRACKET: &str = "Unmatched [, [^, [:, [., or [=";

/// Compiles a POSIX pattern (`extended` for ERE, as `sed -E` and awk read).
pub fn compile(pattern: &str, extended: bool, fold: bool) -> Result<Regex, RegexError> {
    let translated = translate(pattern, extended)?;
    RegexBuilder::new(&translated)
        .case_insensitive(fold)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| "Invalid preceding regular expression".to_string())
}

/// The pattern in regex-lite's syntax.
pub fn translate(pattern: &str, extended: bool) -> Result<String, RegexError> {
    let c: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut depth = 0usize;
    // A basic expression's `*` is literal first, after `\(` or `\|`, and after a leading `^`.
    let mut at_start = true;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let was_start = at_start;
        at_start = false;
        // An operator: ERE's bare one, or BRE's backslashed GNU one.
        let (op, width) = match ch {
            '\\' => match c.get(i + 1) {
                Some(&e) if !extended && "(){}|+?".contains(e) => (Some(e), 2),
                Some(_) => (None, 2),
                None => return Err("Trailing backslash".into()),
            },
            '(' | ')' | '{' | '}' | '|' | '+' | '?' if extended => (Some(ch), 1),
            _ => (None, 1),
        };
        if let Some(op) = op {
            i += width;
            match op {
                '(' => {
                    depth += 1;
                    out.push('(');
                    at_start = true;
                }
                ')' if depth == 0 => return Err("Unmatched ) or \\)".into()),
                ')' => {
                    depth -= 1;
                    out.push(')');
                }
                '|' => {
                    out.push('|');
                    at_start = true;
                }
                '{' => {
                    // An interval: digits up to `}` (`\}` in a basic expression).
                    let close = if extended { "}" } else { "\\}" };
                    let rest: String = c[i..].iter().collect();
                    let Some(end) = rest.find(close) else { return Err("Unmatched \\{".into()) };
                    let body = &rest[..end];
                    let (min, max) = body.split_once(',').unwrap_or((body, body));
                    let digits = |s: &str| s.chars().all(|d| d.is_ascii_digit());
                    if !digits(min) || !digits(max) || body.is_empty() || was_start {
                        return Err("Invalid content of \\{\\}".into());
                    }
                    let min = if min.is_empty() { "0" } else { min };
                    if body.contains(',') {
                        out.push_str(&format!("{{{min},{max}}}"));
                    } else {
                        out.push_str(&format!("{{{min}}}"));
                    }
                    i += body.chars().count() + close.len();
                }
                '}' => out.push_str("\\}"),
                _ if was_start => push_literal(&mut out, op),
                _ => out.push(op),
            }
            continue;
        }
        match ch {
            '\\' => {
                let e = c.get(i + 1).copied().unwrap_or('\\');
                match e {
                    '1'..='9' => return Err(format!("back-reference \\{e} in a pattern is not simulated")),
                    'n' => out.push_str("\\n"),
                    't' => out.push_str("\\t"),
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' | '<' | '>' => {
                        out.push('\\');
                        out.push(e);
                    }
                    '`' => out.push_str("\\A"),
                    '\'' => out.push_str("\\z"),
                    _ => push_literal(&mut out, e),
                }
                i += 2;
            }
            '[' => i = bracket(&c, i, &mut out)?,
            '*' if was_start => {
                push_literal(&mut out, '*');
                i += 1;
            }
            '^' if extended || was_start => {
                out.push('^');
                at_start = true;
                i += 1;
            }
            '$' => {
                let next: String = c[i + 1..c.len().min(i + 3)].iter().collect();
                let ends = i + 1 == c.len() || extended || next == "\\)" || next == "\\|";
                if ends {
                    out.push('$');
                } else {
                    push_literal(&mut out, '$');
                }
                i += 1;
            }
            '.' | '*' => {
                out.push(ch);
                i += 1;
            }
            _ => {
                push_literal(&mut out, ch);
                i += 1;
            }
        }
    }
    if depth > 0 {
        return Err("Unmatched ( or \\(".into());
    }
    Ok(out)
}

fn push_literal(out: &mut String, ch: char) {
    // regex-lite's meta characters: escaping any other is refused or means more.
    if "\\.+*?()|[]{}^$#&-~".contains(ch) {
        out.push('\\');
    }
    out.push(ch);
}

/// A bracket expression from `c[start] == '['`; the index after its `]`.
fn bracket(c: &[char], start: usize, out: &mut String) -> Result<usize, RegexError> {
    let mut i = start + 1;
    out.push('[');
    if c.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&ch) = c.get(i) else { return Err(UNMATCHED_BRACKET.into()) };
        if ch == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        if ch == '[' && matches!(c.get(i + 1), Some(':' | '.' | '=')) {
            let kind = c[i + 1];
            let rest: String = c[i + 2..].iter().collect();
            let Some(end) = rest.find([kind]).filter(|e| rest[e + 1..].starts_with(']')) else { return Err(UNMATCHED_BRACKET.into()) };
            let name = &rest[..end];
            if kind == ':' {
                const CLASSES: [&str; 12] = ["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "xdigit"];
                if !CLASSES.contains(&name) {
                    return Err("Invalid character class name".into());
                }
                out.push_str(&format!("[:{name}:]"));
            } else {
                for n in name.chars() {
                    push_class_char(out, n);
                }
            }
            i += 2 + name.chars().count() + 2;
            continue;
        }
        let range = ch == '-' && i > start + 1 && c.get(i + 1).is_some_and(|n| *n != ']') && !out.ends_with('[') && !out.ends_with("[^");
        if range {
            out.push('-');
        } else {
            push_class_char(out, ch);
        }
        i += 1;
    }
}

fn push_class_char(out: &mut String, ch: char) {
    if matches!(ch, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
        out.push('\\');
    }
    out.push(ch);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_extended_expressions_read_as_posix_says() {
        assert_eq!(translate(r"a\(b\)*c+", false).as_deref(), Ok(r"a(b)*c\+"));
        assert_eq!(translate(r"a(b)+c\+", true).as_deref(), Ok(r"a(b)+c\+"));
        assert_eq!(translate(r"*a^b$c$", false).as_deref(), Ok(r"\*a\^b\$c$"));
        assert_eq!(translate(r"x\{2,\}", false).as_deref(), Ok(r"x{2,}"));
        assert_eq!(translate(r"[^]a-z\[:digit:]]", false).as_deref(), Ok(r"[^\]a-z\\[:digit:]]"));
        assert_eq!(translate("[a-]", true).as_deref(), Ok(r"[a\-]"));
        assert!(translate("[abc", true).is_err());
        assert!(translate(r"\(a", false).is_err());
        assert!(translate(r"\(a\)\1", false).is_err());
        let re = compile("^[[:alpha:]]+-[0-9]{2}$", true, false).map_err(|e| e.to_string());
        assert!(re.is_ok_and(|r| r.is_match("web-12") && !r.is_match("web-1")));
    }
}
