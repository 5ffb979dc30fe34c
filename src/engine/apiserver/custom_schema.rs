//! A custom resource's structural schema at work on its objects, as
//! apiextensions-apiserver's `pkg/apiserver/schema` (pruning, defaulting)
//! and kube-openapi's validator (types, required, enum, bounds, lengths,
//! pattern, items) apply a CRD's `openAPIV3Schema`, with 1.33's messages.
//! Every walk stops at [`MAX_DEPTH`]: a hostile schema or object cannot
//! exhaust the stack.

use crate::engine::api::Cause;
use crate::engine::apiserver::validation::{quote, Errors};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool};
use serde_json::{Map, Value};

/// Deeper than any schema a person writes; past it nothing is walked.
const MAX_DEPTH: usize = 64;

/// The schema a list's items follow.
pub(super) fn items(schema: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match schema.items.as_ref()? {
        JSONSchemaPropsOrArray::Schema(s) => Some(s),
        JSONSchemaPropsOrArray::Schemas(list) => list.first(),
    }
}

/// The schema a map's values follow (`additionalProperties`).
pub(super) fn additional(schema: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match schema.additional_properties.as_ref()? {
        JSONSchemaPropsOrBool::Schema(s) => Some(s),
        JSONSchemaPropsOrBool::Bool(_) => None,
    }
}

fn preserves_unknown(schema: &JSONSchemaProps) -> bool {
    schema.x_kubernetes_preserve_unknown_fields == Some(true)
        || matches!(schema.additional_properties, Some(JSONSchemaPropsOrBool::Bool(true)))
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { [path, ".", key].concat() }
}

/// `structuralpruning.PruneWithOptions`: drops the fields the schema does
/// not name (where it does not preserve unknown fields), returning their
/// paths as the server's field validation names them (`spec.x`). At the
/// root, `apiVersion`, `kind` and `metadata` are the object's own.
pub fn prune(content: &mut Map<String, Value>, schema: &JSONSchemaProps) -> Vec<String> {
    let mut pruned = Vec::new();
    prune_object(content, schema, "", 0, &mut pruned);
    pruned
}

fn prune_object(fields: &mut Map<String, Value>, schema: &JSONSchemaProps, path: &str, depth: usize, pruned: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let properties = schema.properties.as_ref();
    if let Some(values) = additional(schema) {
        for (key, value) in fields.iter_mut() {
            prune_value(value, values, &child(path, key), depth + 1, pruned);
        }
        return;
    }
    let keep_unknown = preserves_unknown(schema);
    let mut unknown = Vec::new();
    for (key, value) in fields.iter_mut() {
        match properties.and_then(|p| p.get(key)) {
            Some(property) => prune_value(value, property, &child(path, key), depth + 1, pruned),
            None if keep_unknown => {}
            None => unknown.push(key.clone()),
        }
    }
    for key in unknown {
        fields.remove(&key);
        pruned.push(child(path, &key));
    }
}

fn prune_value(value: &mut Value, schema: &JSONSchemaProps, path: &str, depth: usize, pruned: &mut Vec<String>) {
    if depth > MAX_DEPTH || schema.x_kubernetes_embedded_resource == Some(true) {
        return;
    }
    match value {
        Value::Object(fields) => {
            if schema.properties.is_some() || additional(schema).is_some() || !preserves_unknown(schema) {
                prune_object(fields, schema, path, depth, pruned)
            }
        }
        Value::Array(list) => {
            if let Some(item) = items(schema) {
                for (i, v) in list.iter_mut().enumerate() {
                    prune_value(v, item, &format!("{path}[{i}]"), depth + 1, pruned);
                }
            }
        }
        _ => {}
    }
}

/// `structuraldefaulting.Default`: a missing field whose schema has a
/// `default` gets it; then each present field is defaulted below.
pub fn default(content: &mut Map<String, Value>, schema: &JSONSchemaProps) {
    default_object(content, schema, 0);
}

fn default_object(fields: &mut Map<String, Value>, schema: &JSONSchemaProps, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(properties) = &schema.properties {
        for (key, property) in properties {
            if let (None, Some(default)) = (fields.get(key), &property.default) {
                fields.insert(key.clone(), default.0.clone());
            }
        }
        for (key, value) in fields.iter_mut() {
            if let Some(property) = properties.get(key) {
                default_value(value, property, depth + 1);
            }
        }
    } else if let Some(values) = additional(schema) {
        for value in fields.values_mut() {
            default_value(value, values, depth + 1);
        }
    }
}

fn default_value(value: &mut Value, schema: &JSONSchemaProps, depth: usize) {
    match value {
        Value::Object(fields) => default_object(fields, schema, depth),
        Value::Array(list) => {
            if let Some(item) = items(schema) {
                for v in list {
                    default_value(v, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// kube-openapi's `SchemaValidator` over the object's fields (the root's
/// `metadata`, `apiVersion` and `kind` are checked by the server itself),
/// as `validation.ValidateCustomResource` turns its errors into causes.
pub fn validate(content: &Map<String, Value>, schema: &JSONSchemaProps) -> Vec<Cause> {
    let mut errs = Errors::default();
    if let Some(properties) = &schema.properties {
        for required in schema.required.iter().flatten() {
            if !content.contains_key(required) && !matches!(required.as_str(), "apiVersion" | "kind" | "metadata") {
                errs.required(required, "");
            }
        }
        for (key, value) in content {
            if let Some(property) = properties.get(key).filter(|_| !matches!(key.as_str(), "apiVersion" | "kind" | "metadata")) {
                validate_value(value, property, key, 1, &mut errs);
            }
        }
    }
    errs.0
}

/// A value as `field.Invalid` prints it (Go's `%#v` of what JSON decoded to).
fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Null => "null".to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The JSON type name kube-openapi reports for a value.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match (wanted, value) {
        ("", _) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        (wanted, value) => type_name(value) == wanted,
    }
}

fn validate_value(value: &Value, schema: &JSONSchemaProps, path: &str, depth: usize, errs: &mut Errors) {
    if depth > MAX_DEPTH {
        return;
    }
    if value.is_null() {
        if schema.nullable != Some(true) && schema.type_.as_deref().is_some_and(|t| !t.is_empty()) {
            let wanted = schema.type_.as_deref().unwrap_or_default();
            errs.invalid(path, "\"null\"", &format!("{path} in body must be of type {wanted}: \"null\""));
        }
        return;
    }
    if schema.x_kubernetes_int_or_string == Some(true) {
        if !matches!(value, Value::String(_)) && !has_type(value, "integer") {
            let found = type_name(value);
            errs.invalid(path, &quote(found), &format!("{path} in body must be of type integer,string: {}", quote(found)));
            return;
        }
    } else if let Some(wanted) = schema.type_.as_deref() {
        if !has_type(value, wanted) {
            let found = type_name(value);
            errs.invalid(path, &quote(found), &format!("{path} in body must be of type {wanted}: {}", quote(found)));
            return;
        }
    }
    if let Some(allowed) = &schema.enum_ {
        if !allowed.iter().any(|a| a.0 == *value) {
            let supported: Vec<String> = allowed.iter().map(|a| go_value(&a.0)).collect();
            errs.0.push(Cause { field: path.to_string(), message: format!("Unsupported value: {}: supported values: {}", go_value(value), supported.join(", ")) });
        }
    }
    match value {
        Value::Number(n) => {
            let number = n.as_f64().unwrap_or(0.0);
            if let Some(max) = schema.maximum {
                let exclusive = schema.exclusive_maximum == Some(true);
                if number > max || (exclusive && number == max) {
                    let bound = if exclusive { "less than" } else { "less than or equal to" };
                    errs.invalid(path, &go_value(value), &format!("{path} in body should be {bound} {}", go_number(max)));
                }
            }
            if let Some(min) = schema.minimum {
                let exclusive = schema.exclusive_minimum == Some(true);
                if number < min || (exclusive && number == min) {
                    let bound = if exclusive { "greater than" } else { "greater than or equal to" };
                    errs.invalid(path, &go_value(value), &format!("{path} in body should be {bound} {}", go_number(min)));
                }
            }
        }
        Value::String(s) => {
            let chars = s.chars().count() as i64;
            if let Some(max) = schema.max_length.filter(|max| chars > *max) {
                errs.too_long(path, max.max(0) as usize);
            }
            if let Some(min) = schema.min_length.filter(|min| chars < *min) {
                errs.invalid(path, &go_value(value), &format!("{path} in body should be at least {min} chars long"));
            }
            if let Some(pattern) = &schema.pattern {
                // A pattern regex-lite cannot read was refused with its CRD.
                if regex_lite::Regex::new(pattern).is_ok_and(|re| !re.is_match(s)) {
                    errs.invalid(path, &go_value(value), &format!("{path} in body should match '{pattern}'"));
                }
            }
        }
        Value::Array(list) => {
            let len = list.len() as i64;
            if let Some(max) = schema.max_items.filter(|max| len > *max) {
                errs.0.push(Cause { field: path.to_string(), message: format!("Too many: {len}: must have at most {max} items") });
            }
            if let Some(min) = schema.min_items.filter(|min| len < *min) {
                errs.invalid(path, &go_value(value), &format!("{path} in body should have at least {min} items"));
            }
            if let Some(item) = items(schema) {
                for (i, v) in list.iter().enumerate() {
                    validate_value(v, item, &format!("{path}[{i}]"), depth + 1, errs);
                }
            }
        }
        Value::Object(fields) => {
            for required in schema.required.iter().flatten() {
                if !fields.contains_key(required) {
                    errs.required(&child(path, required), "");
                }
            }
            if let Some(properties) = &schema.properties {
                for (key, v) in fields {
                    if let Some(property) = properties.get(key) {
                        validate_value(v, property, &child(path, key), depth + 1, errs);
                    }
                }
            } else if let Some(values) = additional(schema) {
                for (key, v) in fields {
                    validate_value(v, values, &child(path, key), depth + 1, errs);
                }
            }
        }
        _ => {}
    }
}

/// A bound as kube-openapi prints a float64 (`%v`): `10`, `0.5`.
fn go_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `ValidateCustomResourceDefinitionOpenAPISchema`'s structural checks the
/// simulation makes, on a version's schema (`fld` its path): a type at
/// the root and on every named field (unless it preserves unknown fields
/// or is int-or-string), and patterns that compile.
pub fn check_schema(schema: &JSONSchemaProps, fld: &str, errs: &mut Errors) {
    if schema.type_.as_deref().is_none_or(str::is_empty) {
        errs.required(&format!("{fld}.type"), "must not be empty at the root");
    } else if schema.type_.as_deref() != Some("object") {
        errs.invalid(&format!("{fld}.type"), &quote(schema.type_.as_deref().unwrap_or_default()), "must be object at the root");
    }
    check_node(schema, fld, 0, errs);
}

fn check_node(schema: &JSONSchemaProps, fld: &str, depth: usize, errs: &mut Errors) {
    if depth > MAX_DEPTH {
        errs.forbidden(&fld, "the schema is nested too deeply");
        return;
    }
    if let Some(pattern) = &schema.pattern {
        if let Err(e) = regex_lite::Regex::new(pattern) {
            let reason = e.to_string();
            let first = reason.lines().next().unwrap_or_default().to_string();
            errs.invalid(&format!("{fld}.pattern"), &quote(pattern), &format!("must be a valid regular expression, but isn't: {first}"));
        }
    }
    for (key, property) in schema.properties.iter().flatten() {
        let path = format!("{fld}.properties[{key}]");
        let untyped = property.type_.as_deref().is_none_or(str::is_empty);
        if untyped && property.x_kubernetes_preserve_unknown_fields != Some(true) && property.x_kubernetes_int_or_string != Some(true) {
            errs.required(&format!("{path}.type"), "must not be empty for specified object fields");
        }
        check_node(property, &path, depth + 1, errs);
    }
    if let Some(item) = items(schema) {
        let path = format!("{fld}.items");
        if item.type_.as_deref().is_none_or(str::is_empty) && item.x_kubernetes_preserve_unknown_fields != Some(true) && item.x_kubernetes_int_or_string != Some(true) {
            errs.required(&format!("{path}.type"), "must not be empty for specified array items");
        }
        check_node(item, &path, depth + 1, errs);
    }
    if let Some(values) = additional(schema) {
        check_node(values, &format!("{fld}.additionalProperties"), depth + 1, errs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(json: Value) -> JSONSchemaProps {
        serde_json::from_value(json).expect("schema")
    }

    #[test]
    fn unknown_fields_are_pruned_and_named_and_defaults_filled() {
        let s = schema(serde_json::json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}));
        let mut content = serde_json::json!({"spec": {"x": 1, "free": {"a": {"b": 2}}}, "other": true}).as_object().cloned().unwrap_or_default();
        assert_eq!(prune(&mut content, &s), vec!["spec.x".to_string(), "other".to_string()]);
        default(&mut content, &s);
        assert_eq!(Value::Object(content), serde_json::json!({"spec": {"free": {"a": {"b": 2}}, "replicas": 1}}));
    }

    #[test]
    fn values_are_checked_with_the_servers_messages() {
        let s = schema(serde_json::json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["image"], "properties": {
            "replicas": {"type": "integer", "minimum": 1, "maximum": 10}, "cronSpec": {"type": "string", "pattern": "^a+$"},
            "mode": {"type": "string", "enum": ["A", "B"]}, "image": {"type": "string"}}}}}));
        let content = serde_json::json!({"spec": {"replicas": 15, "cronSpec": "b", "mode": "C"}}).as_object().cloned().unwrap_or_default();
        let causes: Vec<String> = validate(&content, &s).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(causes, vec![
            "spec.image: Required value",
            "spec.cronSpec: Invalid value: \"b\": spec.cronSpec in body should match '^a+$'",
            "spec.mode: Unsupported value: \"C\": supported values: \"A\", \"B\"",
            "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10",
        ]);
        let content = serde_json::json!({"spec": {"replicas": "x", "image": "i"}}).as_object().cloned().unwrap_or_default();
        let causes: Vec<String> = validate(&content, &s).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(causes, vec!["spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""]);
    }

    #[test]
    fn a_deep_schema_or_object_stops_at_the_depth_limit() {
        let mut deep = serde_json::json!({"type": "object"});
        let mut object = serde_json::json!(1);
        for _ in 0..80 {
            deep = serde_json::json!({"type": "object", "properties": {"a": deep}});
            object = serde_json::json!({"a": object, "z": 1});
        }
        let s: JSONSchemaProps = serde_json::from_value(deep).unwrap_or_default();
        let mut content = object.as_object().cloned().unwrap_or_default();
        prune(&mut content, &s);
        default(&mut content, &s);
        let _ = validate(&content, &s);
        let mut errs = Errors::default();
        check_schema(&s, "spec", &mut errs);
        assert!(!errs.0.is_empty());
    }
}
