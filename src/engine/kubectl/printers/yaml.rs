//! YAML exactly as kubectl prints it.
//!
//! kubectl turns objects into YAML with sigs.k8s.io/yaml: JSON, re-read by
//! go-yaml v2, then emitted by go-yaml v2's port of libyaml. serde_yaml
//! follows a different emitter (other quoting rules, no folding at 80
//! columns, other key order), so this module reproduces go-yaml's choices:
//! its key order, its scalar resolution (which strings need quotes), its
//! scalar analysis (plain, single-quoted, double-quoted or literal) and its
//! line folding at column 80.

use crate::engine::apiserver::decode::go_yaml;
use crate::engine::sort::SortStable;
use serde_json::Value;

/// go-yaml's preferred line width; plain and quoted scalars fold after it.
const BEST_WIDTH: usize = 80;

/// The YAML document kubectl prints for a JSON value.
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter { out: String::new(), column: 0 };
    match value {
        Value::Object(map) if !map.is_empty() => e.mapping(map, 0, false),
        Value::Array(items) if !items.is_empty() => e.sequence(items, 0, false),
        other => {
            e.scalar_value(other, 0);
            e.newline();
        }
    }
    e.out
}

struct Emitter {
    out: String,
    /// Characters on the current line, as libyaml counts them for folding.
    column: usize,
}

/// How a string scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }
    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    fn indent_to(&mut self, indent: usize) {
        while self.column < indent {
            self.put(' ');
        }
    }

    /// A block mapping whose keys sit at `indent`. `inline_first`: the first
    /// key continues the current line (after `- `).
    fn mapping(&mut self, map: &serde_json::Map<String, Value>, indent: usize, inline_first: bool) {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_stable_by(|a, b| go_yaml_key_order(a, b));
        for (i, key) in keys.into_iter().enumerate() {
            if i > 0 || !inline_first {
                self.indent_to(indent);
            }
            self.key(key);
            self.put(':');
            let value = &map[key.as_str()];
            match value {
                Value::Object(m) if !m.is_empty() => {
                    self.newline();
                    self.mapping(m, indent + 2, false);
                }
                // go-yaml writes a sequence under a key without extra indent.
                Value::Array(items) if !items.is_empty() => {
                    self.newline();
                    self.sequence(items, indent, false);
                }
                other => {
                    self.put(' ');
                    self.scalar_value(other, indent + 2);
                    self.newline();
                }
            }
        }
    }

    /// A block sequence whose dashes sit at `indent`.
    fn sequence(&mut self, items: &[Value], indent: usize, inline_first: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline_first {
                self.indent_to(indent);
            }
            self.put_str("- ");
            match item {
                Value::Object(m) if !m.is_empty() => self.mapping(m, indent + 2, true),
                Value::Array(inner) if !inner.is_empty() => self.sequence(inner, indent + 2, true),
                other => {
                    self.scalar_value(other, indent + 2);
                    self.newline();
                }
            }
        }
    }

    fn key(&mut self, key: &str) {
        let style = choose_style(key, true);
        self.write_scalar(key, style, 0, false);
    }

    /// A scalar or empty collection; `indent` is where folded lines continue.
    fn scalar_value(&mut self, value: &Value, indent: usize) {
        match value {
            Value::Null => self.put_str("null"),
            Value::Bool(b) => self.put_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.put_str(&format_number(n)),
            Value::String(s) => {
                let style = choose_style(s, false);
                self.write_scalar(s, style, indent, true);
            }
            Value::Array(_) => self.put_str("[]"),
            Value::Object(_) => self.put_str("{}"),
        }
    }

    fn write_scalar(&mut self, s: &str, style: Style, indent: usize, allow_breaks: bool) {
        match style {
            Style::Plain => self.write_plain(s, indent, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(s, indent, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(s, indent, allow_breaks),
            Style::Literal => self.write_literal(s, indent),
        }
    }

    /// Breaks the line at a space, continuing at `indent`.
    fn fold(&mut self, indent: usize) {
        self.newline();
        self.indent_to(indent);
    }

    fn write_plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.fold(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn write_single_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('\'');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i + 1 != chars.len() && !next_is_space {
                    self.fold(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
            }
        }
        self.put('\'');
    }

    fn write_double_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    other => {
                        let v = other as u32;
                        if v <= 0xff {
                            self.put_str(&format!("x{v:02X}"));
                        } else if v <= 0xffff {
                            self.put_str(&format!("u{v:04X}"));
                        } else {
                            self.put_str(&format!("U{v:08X}"));
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i + 1 != chars.len() {
                    self.fold(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn write_literal(&mut self, s: &str, indent: usize) {
        self.put('|');
        if s.starts_with(' ') || s.starts_with(is_break) {
            self.put('2');
        }
        let mut rev = s.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => "-",
            (Some(last), _) if !is_break(last) => "-",
            (Some(_), None) => "+",
            (Some(_), Some(before)) if is_break(before) => "+",
            _ => "",
        };
        self.put_str(chomp);
        self.newline();
        let mut at_line_start = true;
        for c in s.chars() {
            if is_break(c) {
                self.newline();
                at_line_start = true;
            } else {
                if at_line_start {
                    self.indent_to(indent);
                    at_line_start = false;
                }
                self.put(c);
            }
        }
        // The scalar's own final break was written; the caller adds the
        // line end only for content that did not end in one.
        if s.ends_with(is_break) {
            self.out.pop();
            self.column = 0;
        }
    }
}

fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    go_format_float(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (exponent form from 1e+06 on), as go-yaml writes floats.
pub(crate) fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let shortest = format!("{f:e}");
    let (mantissa, exp) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Which style go-yaml v2 gives a string (`key`: a mapping key, where
/// multi-line and block styles are not allowed).
fn choose_style(s: &str, key: bool) -> Style {
    let analysis = analyze(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if go_yaml::resolves_to_non_string(s) || is_base60_float(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    };
    let mut style = requested;
    if key && analysis.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!analysis.block_plain_allowed || (s.is_empty() && key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!analysis.block_allowed || key) {
        style = Style::DoubleQuoted;
    }
    style
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// libyaml's printable set: go-yaml double-quotes anything else (tabs,
/// control characters, and characters beyond the Basic Multilingual Plane).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a || (0x20..=0x7e).contains(&v) || (0xa0..=0xd7ff).contains(&v) || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis { multiline: false, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: false };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= chars.len() || matches!(chars[i + 1], ' ' | '\t') || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_whitespace => block_indicators = true,
                '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
    }
    let mut a = Analysis { multiline: line_breaks, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`: go-yaml still quotes
/// YAML 1.1 sexagesimal numbers such as `1:30`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let valid = match group.len() {
            1 => true,
            2 => group[0] <= b'5',
            _ => false,
        };
        if !valid {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's map key order: letters compare as characters, runs of
/// digits compare as numbers, non-letters sort before letters.
pub fn go_yaml_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let less = |x: &[char], y: &[char]| -> bool {
        for i in 0..x.len().min(y.len()) {
            if x[i] == y[i] {
                continue;
            }
            let xl = x[i].is_alphabetic();
            let yl = y[i].is_alphabetic();
            if xl && yl {
                return x[i] < y[i];
            }
            if xl || yl {
                return yl;
            }
            let (mut xn, mut yn) = (0i128, 0i128);
            if x[i] == '0' || y[i] == '0' {
                let mut j = i;
                while j > 0 && x[j - 1].is_ascii_digit() {
                    j -= 1;
                    if x[j] != '0' {
                        xn = 1;
                        yn = 1;
                        break;
                    }
                }
            }
            let mut xi = i;
            while xi < x.len() && x[xi].is_ascii_digit() {
                xn = xn.saturating_mul(10).saturating_add(x[xi] as i128 - '0' as i128);
                xi += 1;
            }
            let mut yi = i;
            while yi < y.len() && y[yi].is_ascii_digit() {
                yn = yn.saturating_mul(10).saturating_add(y[yi] as i128 - '0' as i128);
                yi += 1;
            }
            if xn != yn {
                return xn < yn;
            }
            if xi != yi {
                return xi < yi;
            }
            return x[i] < y[i];
        }
        x.len() < y.len()
    };
    if less(&ar, &br) {
        Ordering::Less
    } else if less(&br, &ar) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `kubectl.1.33 create configmap x --from-literal=... --dry-run=client -o yaml`,
    /// captured from the real binary.
    #[test]
    fn quotes_and_folds_strings_as_kubectl_1_33() {
        let long: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
        let long = long.join(" ");
        let value = json!({
            "apiVersion": "v1",
            "data": {
                "col": "a: b", "dash": "- x", "e": "", "emoji": "\u{1F600}", "hash": "a #b", "lead": " x",
                "long": long, "multi": "a\nb\n", "multi2": "a\nb", "multilong": format!("{long}\n{long}"),
                "n": "80", "oct": "0755", "q": "it's", "star": "*x", "t": "true", "tab": "a\tb",
                "ts": "2026-01-01", "y": "y",
            },
            "kind": "ConfigMap",
            "metadata": {"creationTimestamp": null, "name": "x"},
        });
        let expected = format!(
            r#"apiVersion: v1
data:
  col: 'a: b'
  dash: '- x'
  e: ""
  emoji: "\U0001F600"
  hash: 'a #b'
  lead: ' x'
  long: word0 word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11
    word12 word13 word14 word15 word16 word17 word18 word19 word20 word21 word22 word23
    word24 word25 word26 word27 word28 word29 word30 word31 word32 word33 word34 word35
    word36 word37 word38 word39
  multi: |
    a
    b
  multi2: |-
    a
    b
  multilong: |-
    {long}
    {long}
  "n": "80"
  oct: "0755"
  q: it's
  star: '*x'
  t: "true"
  tab: "a\tb"
  ts: "2026-01-01"
  "y": "y"
kind: ConfigMap
metadata:
  creationTimestamp: null
  name: x
"#
        );
        assert_eq!(to_yaml(&value), expected);
    }

    /// `kubectl.1.33 create deployment web --image=nginx --replicas=2 --port=80 --dry-run=client -o yaml`.
    #[test]
    fn nests_sequences_of_mappings_as_kubectl_1_33() {
        let value = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {"containers": [{"image": "nginx", "name": "nginx", "ports": [{"containerPort": 80}], "resources": {}}]},
                },
            },
            "status": {},
        });
        let expected = "apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx
        name: nginx
        ports:
        - containerPort: 80
        resources: {}
status: {}
";
        assert_eq!(to_yaml(&value), expected);
    }

    #[test]
    fn orders_keys_as_go_yaml() {
        let mut keys = vec!["b", "a10", "a9", "a-b", "ab", "A"];
        keys.sort_stable_by(|a, b| go_yaml_key_order(a, b));
        assert_eq!(keys, vec!["A", "a-b", "a9", "a10", "ab", "b"]);
    }

    #[test]
    fn quotes_what_go_yaml_would_read_back_as_another_type() {
        for s in ["1:30", "0x1F", "1e3", ".5", "-1", "null", "2026-01-01T00:01:00Z", "No"] {
            assert_eq!(choose_style(s, false), Style::DoubleQuoted, "{s}");
        }
        for s in ["1.2.3", "v1", "10.96.0.1", "nginx:1.25", "100Mi", "500m", "e1"] {
            assert_eq!(choose_style(s, false), Style::Plain, "{s}");
        }
    }
}
