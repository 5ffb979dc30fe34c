//! kubectl's JSONPath templates (`-o jsonpath=…`, `custom-columns`,
//! `--sort-by`): client-go's dialect, with `{range}…{end}`, string literals,
//! `[*]`, indexes and slices, `..` descent and `[?(@.x=="y")]` filters.
//! Missing keys print nothing, as kubectl allows them by default.

use serde_json::Value;

use super::json::to_json_compact;

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Node>),
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    /// `..name`: every descendant's `name`.
    Descend(String),
    Wildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<String>),
    Filter(Filter),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    left: Vec<Step>,
    op: Option<(String, Operand)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Literal(Value),
    Path(Vec<Step>),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses a template; errors read as kubectl's (`unclosed action`, …).
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut stack: Vec<(Vec<Step>, Vec<Node>)> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                nodes.push(Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                nodes.push(Node::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = find_action_end(after).ok_or_else(|| "unclosed action".to_string())?;
            let action = after[..close].trim();
            rest = &after[close + 1..];
            if action == "end" {
                let (path, outer) = stack.pop().ok_or_else(|| "not in range, nothing to end".to_string())?;
                let body = std::mem::replace(&mut nodes, outer);
                nodes.push(Node::Range(path, body));
            } else if let Some(path) = action.strip_prefix("range ") {
                let steps = parse_path(path.trim())?;
                stack.push((steps, std::mem::take(&mut nodes)));
            } else if action.starts_with('"') || action.starts_with('\'') {
                nodes.push(Node::Text(unquote(action)?));
            } else if action.is_empty() {
                continue;
            } else {
                nodes.push(Node::Path(parse_path(action)?));
            }
        }
        if !stack.is_empty() {
            return Err("unclosed range".to_string());
        }
        Ok(Template { nodes })
    }

    /// The template's text for `data`.
    pub fn execute(&self, data: &Value) -> String {
        let mut out = String::new();
        execute_nodes(&self.nodes, data, data, &mut out);
        out
    }

    /// Every value the template's paths select (custom columns and `--sort-by` use this).
    pub fn find(&self, data: &Value) -> Vec<Value> {
        let mut found = Vec::new();
        for node in &self.nodes {
            if let Node::Path(steps) = node {
                found.extend(eval(steps, data, data).into_iter().cloned());
            }
        }
        found
    }
}

/// kubectl's relaxed form for custom columns and `--sort-by`: `.a.b`, `a.b`
/// and `{.a.b}` all mean `{.a.b}`.
pub fn relaxed(expr: &str) -> String {
    let trimmed = expr.trim();
    let inner = trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(trimmed);
    if inner.starts_with('.') || inner.starts_with('[') {
        format!("{{{inner}}}")
    } else {
        format!("{{.{inner}}}")
    }
}

fn find_action_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Result<String, String> {
    let quote = s.chars().next().unwrap_or('"');
    let inner = s.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)).ok_or_else(|| format!("unterminated string {s}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

fn parse_path(text: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    if matches!(chars.first(), Some('@') | Some('$')) {
        i = 1;
    } else if !matches!(chars.first(), Some('.') | Some('[')) {
        return Err(format!("unrecognized identifier {text}"));
    }
    let mut steps = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let descend = chars.get(i + 1) == Some(&'.');
                i += if descend { 2 } else { 1 };
                let mut name = String::new();
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                if descend {
                    steps.push(Step::Descend(name));
                } else if name == "*" {
                    steps.push(Step::Wildcard);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let close = matching_bracket(&chars, i).ok_or_else(|| format!("unterminated array in {text}"))?;
                let inner: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            c => return Err(format!("unrecognized character in action: U+{:04X} '{c}'", c as u32)),
        }
    }
    Ok(steps)
}

fn matching_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return Ok(Step::Filter(parse_filter(filter.trim())?));
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        let names = inner.split(',').map(|p| unquote(p.trim())).collect::<Result<Vec<_>, _>>()?;
        return Ok(Step::Union(names));
    }
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        let num = |i: usize| -> Result<Option<i64>, String> {
            match parts.get(i).map(|p| p.trim()) {
                None | Some("") => Ok(None),
                Some(p) => p.parse().map(Some).map_err(|_| format!("invalid array index {p}")),
            }
        };
        return Ok(Step::Slice(num(0)?, num(1)?, num(2)?));
    }
    inner.parse().map(Step::Index).map_err(|_| format!("invalid array index {inner}"))
}

fn parse_filter(text: &str) -> Result<Filter, String> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((left, right)) = split_outside_quotes(text, op) {
            let left = parse_path(left.trim())?;
            let right = right.trim();
            let operand = if right.starts_with('@') || right.starts_with('$') {
                Operand::Path(parse_path(right)?)
            } else if right.starts_with('"') || right.starts_with('\'') {
                Operand::Literal(Value::String(unquote(right)?))
            } else if let Ok(n) = right.parse::<i64>() {
                Operand::Literal(Value::from(n))
            } else if let Ok(f) = right.parse::<f64>() {
                Operand::Literal(Value::from(f))
            } else if right == "true" || right == "false" {
                Operand::Literal(Value::Bool(right == "true"))
            } else {
                return Err(format!("unrecognized filter operand {right}"));
            };
            return Ok(Filter { left, op: Some((op.to_string(), operand)) });
        }
    }
    Ok(Filter { left: parse_path(text)?, op: None })
}

fn split_outside_quotes<'a>(text: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, _) if text[i..].starts_with(op) => return Some((&text[..i], &text[i + op.len()..])),
            _ => {}
        }
    }
    None
}

fn eval<'a>(steps: &[Step], root: &'a Value, current: &'a Value) -> Vec<&'a Value> {
    let mut values = vec![current];
    for step in steps {
        let mut next = Vec::new();
        for v in values {
            apply(step, root, v, &mut next);
        }
        values = next;
    }
    values
}

fn apply<'a>(step: &Step, root: &'a Value, v: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x);
            }
        }
        Step::Union(names) => {
            for name in names {
                if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                    out.push(x);
                }
            }
        }
        Step::Descend(name) => descend(name, v, out),
        Step::Wildcard => match v {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Step::Index(i) => {
            if let Value::Array(items) = v {
                let len = items.len() as i64;
                let idx = if *i < 0 { len + i } else { *i };
                if (0..len).contains(&idx) {
                    out.push(&items[idx as usize]);
                }
            }
        }
        Step::Slice(start, end, stride) => {
            if let Value::Array(items) = v {
                let len = items.len() as i64;
                let clamp = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = clamp(start.unwrap_or(0));
                let e = clamp(end.unwrap_or(len));
                let step = stride.unwrap_or(1).max(1) as usize;
                if s < e {
                    out.extend(items[s as usize..e as usize].iter().step_by(step));
                }
            }
        }
        Step::Filter(filter) => {
            if let Value::Array(items) = v {
                out.extend(items.iter().filter(|item| filter_matches(filter, root, item)));
            }
        }
    }
}

fn descend<'a>(name: &str, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            if name.is_empty() || name == "*" {
                out.extend(map.values());
            } else if let Some(x) = map.get(name) {
                out.push(x);
            }
            for child in map.values() {
                descend(name, child, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                descend(name, child, out);
            }
        }
        _ => {}
    }
}

fn filter_matches(filter: &Filter, root: &Value, item: &Value) -> bool {
    let left = eval(&filter.left, root, item);
    let Some((op, operand)) = &filter.op else {
        return !left.is_empty();
    };
    let right: Vec<&Value> = match operand {
        Operand::Literal(v) => vec![v],
        Operand::Path(p) => eval(p, root, item),
    };
    let (Some(l), Some(r)) = (left.first(), right.first()) else { return false };
    match (l.as_f64(), r.as_f64()) {
        (Some(a), Some(b)) => match op.as_str() {
            "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            ">" => a > b,
            "<=" => a <= b,
            ">=" => a >= b,
            _ => false,
        },
        _ => match op.as_str() {
            "==" => l == r,
            "!=" => l != r,
            _ => match (l.as_str(), r.as_str()) {
                (Some(a), Some(b)) => match op.as_str() {
                    "<" => a < b,
                    ">" => a > b,
                    "<=" => a <= b,
                    ">=" => a >= b,
                    _ => false,
                },
                _ => false,
            },
        },
    }
}

fn execute_nodes(nodes: &[Node], root: &Value, current: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(steps) => {
                let values = eval(steps, root, current);
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(&text_of(v));
                }
            }
            Node::Range(steps, body) => {
                for v in eval(steps, root, current) {
                    execute_nodes(body, root, v, out);
                }
            }
        }
    }
}

/// How a selected value prints: strings bare, collections as compact JSON,
/// `null` as `null` (client-go's `evalToText` since 1.29; custom columns
/// still print Go's `<nil>`).
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_value_number(n),
        Value::Array(_) | Value::Object(_) => to_json_compact(v),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(template: &str, data: &Value) -> String {
        Template::parse(template).unwrap().execute(data)
    }

    #[test]
    fn selects_fields_lists_and_ranges() {
        let list = json!({"items": [
            {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        ]});
        assert_eq!(run("{.items[*].metadata.name}", &list), "a b");
        assert_eq!(run("{.items[0].metadata.name}", &list), "a");
        assert_eq!(run("{.items[-1].metadata.name}", &list), "b");
        assert_eq!(run("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", &list), "a\nb\n");
        assert_eq!(run("{.items[?(@.status.conditions[0].status==\"False\")].metadata.name}", &list), "b");
        assert_eq!(run("{.items[0].status.conditions[?(@.type==\"Ready\")].status}", &list), "True");
        assert_eq!(run("{.items[0].missing}", &list), "");
        assert_eq!(run("names: {..name}", &list), "names: a b");
        assert_eq!(run("{.items[0].metadata}", &list), "{\"name\":\"a\"}");
    }

    #[test]
    fn reports_template_errors() {
        assert!(Template::parse("{.a").is_err());
        assert!(Template::parse("{range .items[*]}").is_err());
        assert!(Template::parse("{metadata.name}").is_err());
        assert_eq!(relaxed("metadata.name"), "{.metadata.name}");
        assert_eq!(relaxed("{.metadata.name}"), "{.metadata.name}");
    }
}
