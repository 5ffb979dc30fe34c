//! JSON as Go's `encoding/json` writes it, which kubectl's `-o json` and
//! jsonpath use: `json.MarshalIndent(obj, "", "    ")`, keys sorted (the
//! objects are maps), and Go's escaping of `<`, `>`, `&`, U+2028 and U+2029,
//! which serde_json does not do.

use serde_json::Value;

use crate::engine::sort::SortStable;

/// `json.MarshalIndent(v, "", "    ")`, without a trailing newline.
pub fn to_json_indented(value: &Value) -> String {
    let mut out = String::new();
    write(value, Some(0), &mut out, &mut Vec::new(), None);
    out
}

/// `json.Marshal(v)`.
pub fn to_json_compact(value: &Value) -> String {
    let mut out = String::new();
    write(value, None, &mut out, &mut Vec::new(), None);
    out
}

/// Where a key goes among its object's keys when Go marshals a typed
/// object (a struct's fields in declaration order, not sorted): called
/// with the keys leading to the object (array positions left out) and the
/// key; ranked keys come first by rank, the rest (a map's keys) sorted.
pub type FieldRank<'a> = &'a dyn Fn(&[&str], &str) -> Option<usize>;

/// As [`to_json_indented`] (`indented`) or [`to_json_compact`], with each
/// object's keys in the order `rank` gives.
/// A typed list's own fields (`metav1.List`, `EventList`) in Go's order;
/// its items as they come.
pub fn list_field_rank(path: &[&str], key: &str) -> Option<usize> {
    match (path, key) {
        ([], "kind") => Some(0),
        ([], "apiVersion") => Some(1),
        ([], "metadata") => Some(2),
        ([], "items") => Some(3),
        _ => None,
    }
}

pub fn to_json_in_field_order(value: &Value, indented: bool, rank: FieldRank) -> String {
    let mut out = String::new();
    write(value, indented.then_some(0), &mut out, &mut Vec::new(), Some(rank));
    out
}

fn newline(indent: Option<usize>, out: &mut String) {
    if let Some(level) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str("    ");
        }
    }
}

fn write<'v>(value: &'v Value, indent: Option<usize>, out: &mut String, path: &mut Vec<&'v str>, rank: Option<FieldRank>) {
    let deeper = indent.map(|l| l + 1);
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::String(s) => write_string(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(deeper, out);
                write(item, deeper, out, path, rank);
            }
            newline(indent, out);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if let Some(rank) = rank {
                // Sorted by key already; a stable sort by rank keeps the unranked in key order.
                let here: &[&str] = path;
                entries.sort_stable_by_key(|(key, _)| rank(here, key).unwrap_or(usize::MAX));
            }
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(deeper, out);
                write_string(key, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                path.push(key);
                write(item, deeper, out, path, rank);
                path.pop();
            }
            newline(indent, out);
            out.push('}');
        }
    }
}

/// Go writes float64 in `%f` form for exponents -6..21 and `%e` otherwise.
fn go_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        // strconv's two exponent digits, less the leading zero of a
        // negative one, which encoding/json cleans off (`e-07` to `e-7`).
        return match exp {
            ..0 => format!("{mantissa}e-{}", exp.abs()),
            _ => format!("{mantissa}e+{exp:02}"),
        };
    }
    format!("{f}")
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indents_four_spaces_and_escapes_as_go() {
        let v = json!({"b": [], "a": {"x": "<a&b>"}, "c": [1, {}]});
        assert_eq!(
            to_json_indented(&v),
            "{\n    \"a\": {\n        \"x\": \"\\u003ca\\u0026b\\u003e\"\n    },\n    \"b\": [],\n    \"c\": [\n        1,\n        {}\n    ]\n}"
        );
        assert_eq!(to_json_compact(&json!({"a": [1, "x"]})), "{\"a\":[1,\"x\"]}");
    }
}
