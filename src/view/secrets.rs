//! Secrets stay masked in the page until revealed: the values of a
//! Secret's `data` and `stringData`, wherever the page prints an object
//! (the details drawer, the terminal). kubectl itself prints them (base64
//! is not encryption); the page hides them so a shared screen or a
//! screenshot does not give them away, and one click shows them.

use serde_json::Value;

/// What a masked value reads as.
pub const MASK: &str = "••••••••";

/// `text` with every Secret value masked, or `None` when it shows none.
/// Reads YAML streams (`---`), JSON, and `List`s of objects; anything else
/// (tables, describe) is left as it is.
pub fn mask(text: &str) -> Option<String> {
    if text.trim_start().starts_with('{') {
        let mut value: Value = serde_json::from_str(text).ok()?;
        if !mask_value(&mut value) {
            return None;
        }
        let mut out = serde_json::to_string_pretty(&value).ok()?;
        out.push('\n');
        return Some(out);
    }
    mask_yaml(text)
}

/// Masks in place; whether anything was masked.
fn mask_value(value: &mut Value) -> bool {
    let Some(map) = value.as_object_mut() else { return false };
    let mut masked = false;
    if map.get("kind").and_then(Value::as_str) == Some("Secret") {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(entries)) = map.get_mut(field) {
                for v in entries.values_mut() {
                    *v = Value::String(MASK.to_string());
                    masked = true;
                }
            }
        }
    }
    if let Some(Value::Array(items)) = map.get_mut("items") {
        for item in items {
            masked |= mask_value(item);
        }
    }
    masked
}

/// Line by line, so the text keeps kubectl's own layout: a value under a
/// `data:`/`stringData:` block of a document whose kind is Secret.
fn mask_yaml(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut masked = false;
    let documents: Vec<&str> = split_keeping(text);
    for doc in documents {
        let is_secret = doc.lines().any(|l| {
            let t = l.trim_start();
            t == "kind: Secret" || t == "- kind: Secret" || t.starts_with("kind: Secret ")
        });
        if !is_secret {
            out.push_str(doc);
            continue;
        }
        // (indent of the `data:` key, or None outside such a block)
        let mut block: Option<usize> = None;
        for line in doc.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            let indent = body.len() - body.trim_start().len();
            let key = body.trim_start().trim_start_matches("- ");
            if let Some(data_indent) = block {
                if !body.trim().is_empty() && indent <= data_indent {
                    block = None;
                } else if let Some((k, _)) = key.split_once(':').filter(|_| indent > data_indent) {
                    out.push_str(&format!("{}{k}: {MASK}", &body[..indent]));
                    out.push_str(&line[body.len()..]);
                    masked = true;
                    continue;
                }
            }
            if block.is_none() && (key == "data:" || key == "stringData:") {
                block = Some(indent);
            }
            out.push_str(line);
        }
    }
    masked.then_some(out)
}

/// The text split before each `---` line, every piece kept whole.
fn split_keeping(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" && offset > start {
            pieces.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    pieces.push(&text[start..]);
    pieces
}

/// Whether a kubectl line reads Secret values some other way
/// (`-o jsonpath`, `go-template`, `custom-columns`): its whole output is masked.
pub fn reads_secret_values(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let secret = words.iter().any(|w| matches!(*w, "secret" | "secrets") || w.starts_with("secret/") || w.starts_with("secrets/"));
    let templated = words.iter().any(|w| w.contains("jsonpath") || w.contains("go-template") || w.contains("template=") || w.contains("custom-columns"));
    secret && templated
}

/// What the terminal shows for a command's output before it is revealed.
pub fn mask_output(line: &str, output: &str) -> Option<String> {
    if reads_secret_values(line) && !output.trim().is_empty() {
        return Some(format!("{MASK} (Secret values hidden: Reveal shows them)\n"));
    }
    mask(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "apiVersion: v1\ndata:\n  password: czNjcjN0\n  user: YWRtaW4=\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n";

    #[test]
    fn masks_data_values_and_keeps_keys_and_layout() {
        let masked = mask(YAML).expect("a secret");
        assert_eq!(masked, format!("apiVersion: v1\ndata:\n  password: {MASK}\n  user: {MASK}\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n"));
    }

    #[test]
    fn leaves_other_kinds_and_tables_alone() {
        assert_eq!(mask("apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\n"), None);
        assert_eq!(mask("NAME   TYPE     DATA   AGE\ndb     Opaque   2      5s\n"), None);
        assert_eq!(mask("{\"kind\": \"ConfigMap\", \"data\": {\"k\": \"v\"}}"), None);
    }

    #[test]
    fn masks_lists_json_and_streams() {
        let list = "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    k: dg==\n  kind: Secret\n  metadata:\n    name: a\nkind: List\n";
        let masked = mask(list).expect("a secret in a list");
        assert!(masked.contains(&format!("    k: {MASK}")) && !masked.contains("dg=="), "{masked}");
        let json = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"kind\":\"Secret\",\"data\":{\"k\":\"dg==\"}}]}";
        assert!(mask(json).is_some_and(|m| !m.contains("dg==")));
        let stream = format!("apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\n---\n{YAML}");
        let masked = mask(&stream).expect("the secret document");
        assert!(masked.contains("  k: v\n") && !masked.contains("czNjcjN0"), "{masked}");
    }

    #[test]
    fn templated_reads_of_secrets_are_hidden_whole() {
        assert!(mask_output("kubectl get secret db -o jsonpath={.data.password}", "czNjcjN0").is_some());
        assert_eq!(mask_output("kubectl get pods -o jsonpath={.items[*].metadata.name}", "a b"), None);
        assert_eq!(mask_output("kubectl get secrets", "NAME   TYPE     DATA   AGE\n"), None);
    }
}
