//! A CRD's `x-kubernetes-validations`: CEL rules, checked when the CRD is
//! written (apiextensions' `ValidateCustomResourceDefinitionOpenAPISchema`
//! and `schema/cel/compilation.go`) and evaluated on each custom object's
//! create and update (`schema/cel/validation.go`), with `self` bound at
//! the rule's schema node and `oldSelf` at the same node of the stored
//! object, with 1.33's messages. Every walk stops at [`MAX_DEPTH`].

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{JSONSchemaProps, ValidationRule};
use serde_json::{Map, Value as Json};

use super::custom_schema::{additional, items};
use super::validation::{quote, Errors};
use crate::engine::api::Cause;
use crate::engine::cel::{self, Activation, CompileError, Declarations, Key, Returns, RuleScope, Ty, Value};

const MAX_DEPTH: usize = 64;

/// CEL's reserved words: a property so named is `__name__` in a rule.
const RESERVED: [&str; 21] = [
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
];

/// `cel.Escape`: the name a property has in a rule, or `None` when no
/// rule can reach it (`[a-zA-Z_.-/][a-zA-Z0-9_.-/]*` only).
fn escape(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || !name.chars().all(allowed) {
        return None;
    }
    Some(name.replace("__", "__underscores__").replace('.', "__dot__").replace('-', "__dash__").replace('/', "__slash__"))
}

fn is_object(schema: &JSONSchemaProps) -> bool {
    schema.type_.as_deref() == Some("object") || schema.x_kubernetes_embedded_resource == Some(true)
}

/// `SchemaDeclType`: the CEL type of a schema node; an object with
/// properties becomes an object type whose fields are listed in `scope`.
/// The root of a resource, and an embedded one, has `apiVersion`, `kind`
/// and `metadata.name`/`generateName` besides (`WithTypeAndObjectMeta`).
fn decl_type(schema: &JSONSchemaProps, resource_root: bool, scope: &mut RuleScope, depth: usize) -> Ty {
    if depth > MAX_DEPTH || schema.x_kubernetes_int_or_string == Some(true) {
        return Ty::Dyn;
    }
    match schema.type_.as_deref() {
        Some("integer") => Ty::Int,
        Some("number") => Ty::Double,
        Some("string") => Ty::String,
        Some("boolean") => Ty::Bool,
        Some("array") => Ty::List,
        _ if is_object(schema) && additional(schema).is_some() => Ty::Map,
        _ if is_object(schema) => {
            let index = scope.objects.len();
            scope.objects.push(BTreeMap::new());
            let mut fields = BTreeMap::new();
            for (name, property) in schema.properties.iter().flatten() {
                if let Some(escaped) = escape(name) {
                    fields.insert(escaped, decl_type(property, property.x_kubernetes_embedded_resource == Some(true), scope, depth + 1));
                }
            }
            if resource_root {
                fields.insert("apiVersion".to_string(), Ty::String);
                fields.insert("kind".to_string(), Ty::String);
                let meta = scope.objects.len();
                scope.objects.push(BTreeMap::from([("name".to_string(), Ty::String), ("generateName".to_string(), Ty::String)]));
                fields.insert("metadata".to_string(), Ty::Object(meta));
            }
            if let Some(slot) = scope.objects.get_mut(index) {
                *slot = fields;
            }
            Ty::Object(index)
        }
        _ => Ty::Dyn,
    }
}

/// A value as a rule sees it at its node (`UnstructuredToVal`): fields the
/// schema does not name, and null fields, are absent; property names are
/// escaped; a `number` is a double.
fn to_cel(value: &Json, schema: &JSONSchemaProps, resource_root: bool, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match value {
        Json::Object(fields) => {
            if let Some(values) = additional(schema) {
                let map = fields.iter().map(|(k, v)| (Key::Str(Rc::from(k.as_str())), to_cel(v, values, values.x_kubernetes_embedded_resource == Some(true), depth + 1)));
                return Value::Map(Rc::new(map.collect()));
            }
            let mut map = BTreeMap::new();
            for (name, v) in fields {
                if v.is_null() {
                    continue;
                }
                let (Some(property), Some(escaped)) = (schema.properties.as_ref().and_then(|p| p.get(name)), escape(name)) else { continue };
                map.insert(Key::Str(Rc::from(escaped.as_str())), to_cel(v, property, property.x_kubernetes_embedded_resource == Some(true), depth + 1));
            }
            if resource_root {
                for name in ["apiVersion", "kind"] {
                    if let Some(Json::String(s)) = fields.get(name) {
                        map.insert(Key::Str(Rc::from(name)), Value::Str(Rc::from(s.as_str())));
                    }
                }
                let mut meta = BTreeMap::new();
                for name in ["name", "generateName"] {
                    if let Some(Json::String(s)) = fields.get("metadata").and_then(|m| m.get(name)) {
                        meta.insert(Key::Str(Rc::from(name)), Value::Str(Rc::from(s.as_str())));
                    }
                }
                map.insert(Key::Str(Rc::from("metadata")), Value::Map(Rc::new(meta)));
            }
            Value::Map(Rc::new(map))
        }
        Json::Array(list) => match items(schema) {
            Some(item) => Value::List(Rc::new(list.iter().map(|v| to_cel(v, item, item.x_kubernetes_embedded_resource == Some(true), depth + 1)).collect())),
            None => Value::from_json(value),
        },
        Json::Number(n) if schema.type_.as_deref() == Some("number") => Value::Double(n.as_f64().unwrap_or(0.0)),
        other => Value::from_json(other),
    }
}

/// A rule's compiled programs: the rule, and its `messageExpression`.
struct Compiled {
    rule: cel::Program,
    message: Option<cel::Program>,
    uses_old_self: bool,
}

fn declarations(schema: &JSONSchemaProps, resource_root: bool) -> Declarations {
    let mut scope = RuleScope::default();
    scope.self_type = decl_type(schema, resource_root, &mut scope, 0);
    Declarations { rule: Some(scope), ..Default::default() }
}

/// Why a rule does not compile, as 1.33 words it.
fn compile_detail(error: CompileError, returns: &str, prefix: &str) -> String {
    match error {
        CompileError::Cel(issues) => format!("{prefix}compilation failed: {issues}"),
        CompileError::Returns(_) => returns.to_string(),
        // Refused by name: never accepted and then silently skipped.
        CompileError::Unsupported(what) => format!("{prefix}compilation failed: {what}"),
    }
}

/// `compileRule`: the rule must evaluate to a bool, its message expression to a string.
fn compile(rule: &ValidationRule, declared: &Declarations) -> (Result<cel::Program, String>, Option<Result<cel::Program, String>>) {
    let mut optional = None;
    if rule.optional_old_self == Some(true) {
        let mut with_optional = declared.clone();
        if let Some(scope) = with_optional.rule.as_mut() {
            scope.optional_old_self = true;
        }
        optional = Some(with_optional);
    }
    let declared = optional.as_ref().unwrap_or(declared);
    let program = cel::compile(&rule.rule, declared, Returns::Bool).map_err(|e| compile_detail(e, "cel expression must evaluate to a bool", ""));
    let message = rule.message_expression.as_deref().filter(|m| !m.trim().is_empty()).map(|m| {
        cel::compile(m, declared, Returns::String).map_err(|e| compile_detail(e, "must evaluate to a string", "messageExpression "))
    });
    (program, message)
}

/// A rule as Go's `%#v` prints the internal `apiextensions.ValidationRule`
/// (a set pointer prints as an address; this one is fixed).
fn go_rule(rule: &ValidationRule) -> String {
    let reason = if rule.reason.is_some() { "(*apiextensions.FieldValueErrorReason)(0xc000a84c50)" } else { "(*apiextensions.FieldValueErrorReason)(nil)" };
    let optional = if rule.optional_old_self.is_some() { "(*bool)(0xc000a84c58)" } else { "(*bool)(nil)" };
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{reason}, FieldPath:{}, OptionalOldSelf:{optional}}}",
        quote(&rule.rule),
        quote(rule.message.as_deref().unwrap_or_default()),
        quote(rule.message_expression.as_deref().unwrap_or_default()),
        quote(rule.field_path.as_deref().unwrap_or_default()),
    )
}

const REASONS: [&str; 4] = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"];

fn has_newlines(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

/// `ValidFieldPath`: a rule's `fieldPath` (`.a.b`, `['a.b']`) against the
/// schema of its node, as the path it names (`a.b`, `[a.b]` for a map key).
fn field_path(path: &str, schema: &JSONSchemaProps) -> Result<String, String> {
    let mut out = String::new();
    let mut node = schema;
    let mut rest = path;
    let mut steps = 0;
    while !rest.is_empty() {
        steps += 1;
        if steps > MAX_DEPTH {
            return Err("does not refer to a valid field".to_string());
        }
        let name;
        if let Some(after) = rest.strip_prefix('[') {
            let quoted = after.strip_prefix('\'').ok_or_else(|| format!("expected single quoted string but got {}", after.split(['.', '[', ']']).next().unwrap_or_default()))?;
            let end = quoted.find('\'').ok_or("unexpected end of JSON path")?;
            name = quoted.get(..end).unwrap_or_default().to_string();
            rest = quoted.get(end + 1..).unwrap_or_default().strip_prefix(']').ok_or("unexpected end of JSON path")?;
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[', ']']).unwrap_or(after.len());
            name = after.get(..end).unwrap_or_default().to_string();
            rest = after.get(end..).unwrap_or_default();
        } else {
            return Err(format!("expected [ or . but got: {}", rest.split(['.', '[', ']']).next().unwrap_or_default()));
        }
        if let Some(property) = node.properties.as_ref().map(|p| p.get(&name)) {
            node = property.ok_or("does not refer to a valid field")?;
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&name);
        } else if let Some(values) = additional(node) {
            node = values;
            out.push_str(&format!("[{name}]"));
        } else {
            return Err("does not refer to a valid field".to_string());
        }
    }
    Ok(out)
}

/// The CRD side: each rule's fields, then (when the schema has no other
/// fault at or below its node) its compilation, at `fld` (a version's
/// `schema.openAPIV3Schema`). Schema faults come before compilation
/// faults, as `OpenAPISchemaErrorList.AllErrors` orders them.
pub fn check_rules(schema: &JSONSchemaProps, fld: &str, errs: &mut Errors) {
    let mut schema_errs = Errors::default();
    let mut cel_errs = Errors::default();
    check_node(schema, fld, true, None, 0, &mut schema_errs, &mut cel_errs);
    errs.extend(schema_errs);
    errs.extend(cel_errs);
}

fn check_node(schema: &JSONSchemaProps, fld: &str, resource_root: bool, uncorrelatable: Option<&str>, depth: usize, schema_errs: &mut Errors, cel_errs: &mut Errors) {
    if depth > MAX_DEPTH {
        return;
    }
    let faults_before = schema_errs.0.len();
    // Only a map whose entries keep their keys correlates old values
    // (`MapIsCorrelatable`); a list does when it is a list-type map.
    let map_correlates = matches!(schema.x_kubernetes_map_type.as_deref(), None | Some("granular") | Some("atomic"));
    if let Some(values) = additional(schema) {
        let below = if map_correlates { uncorrelatable } else { uncorrelatable.or(Some(fld)) };
        check_node(values, &format!("{fld}.additionalProperties"), values.x_kubernetes_embedded_resource == Some(true), below, depth + 1, schema_errs, cel_errs);
    }
    for (name, property) in schema.properties.iter().flatten() {
        let below = if map_correlates { uncorrelatable } else { uncorrelatable.or(Some(fld)) };
        check_node(property, &format!("{fld}.properties[{name}]"), property.x_kubernetes_embedded_resource == Some(true), below, depth + 1, schema_errs, cel_errs);
    }
    if let Some(item) = items(schema) {
        let below = if schema.x_kubernetes_list_type.as_deref() == Some("map") { uncorrelatable } else { uncorrelatable.or(Some(fld)) };
        check_node(item, &format!("{fld}.items"), item.x_kubernetes_embedded_resource == Some(true), below, depth + 1, schema_errs, cel_errs);
    }
    let rules = schema.x_kubernetes_validations.as_deref().unwrap_or_default();
    if rules.is_empty() {
        return;
    }
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{fld}.x-kubernetes-validations[{i}]");
        let (trimmed_rule, message) = (rule.rule.trim(), rule.message.as_deref().unwrap_or_default());
        if trimmed_rule.is_empty() {
            schema_errs.required(&format!("{at}.rule"), "rule is not specified");
        } else if !message.is_empty() && message.trim().is_empty() {
            schema_errs.invalid(&format!("{at}.message"), &quote(message), "message must be non-empty if specified");
        } else if has_newlines(message.trim()) {
            schema_errs.invalid(&format!("{at}.message"), &quote(message), "message must not contain line breaks");
        } else if has_newlines(trimmed_rule) && message.trim().is_empty() {
            schema_errs.required(&format!("{at}.message"), "message must be specified if rule contains line breaks");
        }
        if rule.message_expression.as_deref().is_some_and(|m| !m.is_empty() && m.trim().is_empty()) {
            schema_errs.required(&format!("{at}.messageExpression"), "messageExpression must be non-empty if specified");
        }
        if let Some(reason) = rule.reason.as_deref().filter(|r| !REASONS.contains(r)) {
            schema_errs.unsupported(&format!("{at}.reason"), reason, &REASONS);
        }
        if let Some(path) = rule.field_path.as_deref().filter(|p| !p.is_empty()) {
            if path.trim().is_empty() {
                schema_errs.invalid(&format!("{at}.fieldPath"), &quote(path), "fieldPath must be non-empty if specified");
            }
            if has_newlines(path) {
                schema_errs.invalid(&format!("{at}.fieldPath"), &quote(path), "fieldPath must not contain line breaks");
            }
            if field_path(path, schema).is_err() {
                schema_errs.invalid(&format!("{at}.fieldPath"), &quote(path), "fieldPath must be a valid path");
            }
        }
    }
    // Schema faults at or below this node leave its rules uncompiled.
    if schema_errs.0.len() > faults_before {
        return;
    }
    let declared = declarations(schema, resource_root);
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{fld}.x-kubernetes-validations[{i}]");
        if rule.rule.trim().is_empty() {
            continue;
        }
        let (program, message) = compile(rule, &declared);
        let program = match program {
            Ok(program) => Some(program),
            Err(detail) => {
                cel_errs.invalid(&format!("{at}.rule"), &go_rule(rule), &detail);
                None
            }
        };
        if let Some(Err(detail)) = message {
            cel_errs.invalid(&format!("{at}.messageExpression"), &go_rule(rule), &detail);
        }
        let Some(program) = program else { continue };
        if program.uses("oldSelf") {
            if let Some(within) = uncorrelatable {
                cel_errs.invalid(&format!("{at}.rule"), &quote(&rule.rule), &format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {within}"));
            }
        } else if let Some(optional) = rule.optional_old_self {
            cel_errs.invalid(&format!("{at}.optionalOldSelf"), &optional.to_string(), "may not be set if oldSelf is not used in rule");
        }
    }
}

/// What evaluating the rules of one object gave: the errors, and the
/// failures ratcheted into warnings (a rule that does not use `oldSelf`
/// failing on a value the update did not change, as 1.33's
/// `CRDValidationRatcheting` lets through).
#[derive(Default)]
pub struct RuleOutcome {
    pub causes: Vec<Cause>,
    pub warnings: Vec<String>,
}

/// The error 1.33 adds in place of the rules when the schema's own
/// validation found a fault that makes them meaningless (`hasBlockingErr`).
fn blocking(causes: &[Cause]) -> bool {
    causes.iter().any(|c| {
        ["Required value", "Unsupported value", "Too long", "Too many"].iter().any(|head| c.message.starts_with(head)) || c.message.contains(" in body must be of type ")
    })
}

/// The custom object's side: every rule of `schema` evaluated on `content`
/// (the root's `apiVersion`, `kind` and `metadata` included), `old` the
/// stored object on an update; `schema_causes` the schema validation's.
pub fn validate_rules(content: &Json, old: Option<&Json>, schema: &JSONSchemaProps, schema_causes: &[Cause]) -> RuleOutcome {
    let mut outcome = RuleOutcome::default();
    if !has_rules(schema, 0) {
        return outcome;
    }
    if blocking(schema_causes) {
        outcome.causes.push(Cause {
            field: "<nil>".to_string(),
            message: "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".to_string(),
        });
        return outcome;
    }
    let mut walk = Walk { outcome, stopped: false };
    walk.node(content, old, schema, None, true, false, 0);
    walk.outcome
}

/// Whether any node of the schema has a rule.
pub fn has_rules(schema: &JSONSchemaProps, depth: usize) -> bool {
    depth <= MAX_DEPTH
        && (schema.x_kubernetes_validations.as_ref().is_some_and(|r| !r.is_empty())
            || schema.properties.iter().flatten().any(|(_, p)| has_rules(p, depth + 1))
            || items(schema).is_some_and(|s| has_rules(s, depth + 1))
            || additional(schema).is_some_and(|s| has_rules(s, depth + 1)))
}

struct Walk {
    outcome: RuleOutcome,
    /// A rule ran past its cost limit: no further rule runs.
    stopped: bool,
}

fn child_path(path: Option<&str>, name: &str) -> String {
    match path {
        Some(p) => format!("{p}.{name}"),
        None => name.to_string(),
    }
}

impl Walk {
    /// `Validator.validate` at one node: its rules, then its children.
    /// `unchanged` says whether the nearest node with an old value to
    /// compare is as it was (the ratchet); `path` is `None` at the root.
    #[allow(clippy::too_many_arguments)]
    fn node(&mut self, value: &Json, old: Option<&Json>, schema: &JSONSchemaProps, path: Option<&str>, resource_root: bool, parent_unchanged: bool, depth: usize) {
        if depth > MAX_DEPTH || self.stopped || value.is_null() {
            return;
        }
        let old = old.filter(|o| !o.is_null());
        let unchanged = match old {
            Some(o) => o == value,
            None => parent_unchanged,
        };
        self.rules(value, old, schema, path, resource_root, unchanged);
        match value {
            Json::Object(fields) => {
                let old_fields = old.and_then(Json::as_object);
                if let Some(values) = additional(schema) {
                    for (key, v) in fields {
                        let at = format!("{}[{key}]", path.unwrap_or_default());
                        self.node(v, old_fields.and_then(|o| o.get(key)), values, Some(&at), values.x_kubernetes_embedded_resource == Some(true), unchanged, depth + 1);
                    }
                } else if let Some(properties) = &schema.properties {
                    for (key, v) in fields {
                        if let Some(property) = properties.get(key) {
                            let at = child_path(path, key);
                            self.node(v, old_fields.and_then(|o| o.get(key)), property, Some(&at), property.x_kubernetes_embedded_resource == Some(true), unchanged, depth + 1);
                        }
                    }
                }
            }
            Json::Array(list) => {
                let Some(item) = items(schema) else { return };
                let keys = schema.x_kubernetes_list_map_keys.as_deref().filter(|_| schema.x_kubernetes_list_type.as_deref() == Some("map"));
                let old_list = old.and_then(Json::as_array);
                for (i, v) in list.iter().enumerate() {
                    // Only a list-type map's items have old values: the one with the same keys.
                    let old_item = keys.and_then(|keys| old_list?.iter().find(|o| keys.iter().all(|k| o.get(k) == v.get(k))));
                    let at = format!("{}[{i}]", path.unwrap_or_default());
                    self.node(v, old_item, item, Some(&at), item.x_kubernetes_embedded_resource == Some(true), unchanged, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// `validateExpressions`: each rule of the node, its failure worded by
    /// its `messageExpression`, `message` or the rule itself.
    fn rules(&mut self, value: &Json, old: Option<&Json>, schema: &JSONSchemaProps, path: Option<&str>, resource_root: bool, unchanged: bool) {
        let rules = schema.x_kubernetes_validations.as_deref().unwrap_or_default();
        if rules.is_empty() {
            return;
        }
        let declared = declarations(schema, resource_root);
        let type_value = quote(schema.type_.as_deref().unwrap_or_default());
        let field = path.unwrap_or("<nil>").to_string();
        let rule_self = to_cel(value, schema, resource_root, 0);
        let old_self = old.map(|o| to_cel(o, schema, resource_root, 0));
        for rule in rules {
            if rule.rule.trim().is_empty() {
                continue;
            }
            let (program, message_program) = compile(rule, &declared);
            let compiled = match program {
                Ok(rule_program) => Compiled { uses_old_self: rule_program.uses("oldSelf"), rule: rule_program, message: message_program.and_then(Result::ok) },
                Err(detail) => {
                    // The CRD was refused with this; a stored one from before is reported as 1.33 does.
                    self.outcome.causes.push(Cause { field: field.clone(), message: format!("Invalid value: {type_value}: rule compile error: {detail}") });
                    continue;
                }
            };
            // A transition rule runs only where there is an old value,
            // unless its oldSelf is optional (then none on a create).
            let optional_old_self = rule.optional_old_self == Some(true);
            if compiled.uses_old_self && old_self.is_none() && !optional_old_self {
                continue;
            }
            let old_value = if optional_old_self { Some(Value::Optional(old_self.clone().map(Rc::new))) } else { old_self.clone() };
            let activation = Activation::for_rule(rule_self.clone(), old_value);
            let shown = rule_error_string(rule);
            match compiled.rule.eval(&activation) {
                Ok(Value::Bool(true)) => continue,
                Err(e) if e.starts_with("no such overload") => {
                    self.invalid(&field, &type_value, &format!("'{e}': call arguments did not match a supported operator, function or macro signature for rule: {shown}"));
                    continue;
                }
                Err(e) if e == cel::COST_LIMIT_EXCEEDED => {
                    self.invalid(&field, &type_value, &format!("'{e}': no further validation rules will be run due to call cost exceeds limit for rule: {shown}"));
                    self.stopped = true;
                    return;
                }
                Err(e) => {
                    self.invalid(&field, &type_value, &format!("{e} evaluating rule: {shown}"));
                    continue;
                }
                Ok(_) => {}
            }
            let at = match rule.field_path.as_deref().filter(|p| !p.trim().is_empty()).and_then(|p| field_path(p, schema).ok()) {
                Some(sub) => match path {
                    Some(p) => format!("{p}.{sub}"),
                    None => sub,
                },
                None => field.clone(),
            };
            let detail = compiled.message.as_ref().and_then(|m| message_of(m, &activation)).unwrap_or_else(|| match rule.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
                Some(message) => message.to_string(),
                None => format!("failed rule: {}", rule.rule.trim()),
            });
            // `fieldErrorForReason`.
            let message = match rule.reason.as_deref() {
                Some("FieldValueForbidden") => format!("Forbidden: {detail}"),
                Some("FieldValueRequired") => format!("Required value: {detail}"),
                Some("FieldValueDuplicate") => format!("Duplicate value: {type_value}"),
                _ => format!("Invalid value: {type_value}: {detail}"),
            };
            if !compiled.uses_old_self && unchanged {
                self.outcome.warnings.push(format!("{at}: {message}"));
            } else {
                self.outcome.causes.push(Cause { field: at, message });
            }
        }
    }

    fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        self.outcome.causes.push(Cause { field: field.to_string(), message: format!("Invalid value: {value}: {detail}") });
    }
}

/// `ruleErrorString`: the message when there is one, else the rule.
fn rule_error_string(rule: &ValidationRule) -> String {
    match rule.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(message) => message.to_string(),
        None => rule.rule.trim().to_string(),
    }
}

/// `evalMessageExpression`: a message that fails, is empty, too long or
/// has line breaks gives way to the rule's message.
fn message_of(program: &cel::Program, activation: &Activation) -> Option<String> {
    // `MaxEvaluatedMessageExpressionSizeBytes`.
    const MAX_MESSAGE: usize = 5 * 1024;
    match program.eval(activation) {
        Ok(Value::Str(s)) => {
            let trimmed = s.trim();
            (!trimmed.is_empty() && trimmed.len() <= MAX_MESSAGE && !trimmed.contains('\n')).then(|| trimmed.to_string())
        }
        _ => None,
    }
}

/// The content of a custom object as its root rules see it.
pub fn root_json(api_version: String, kind: &str, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, content: &Map<String, Json>) -> Json {
    let mut fields = content.clone();
    fields.insert("apiVersion".into(), Json::String(api_version));
    fields.insert("kind".into(), Json::String(kind.to_string()));
    let mut metadata = Map::new();
    if let Some(name) = &meta.name {
        metadata.insert("name".into(), Json::String(name.clone()));
    }
    if let Some(generate) = &meta.generate_name {
        metadata.insert("generateName".into(), Json::String(generate.clone()));
    }
    fields.insert("metadata".into(), Json::Object(metadata));
    Json::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(json: Json) -> JSONSchemaProps {
        serde_json::from_value(json).expect("schema")
    }

    #[test]
    fn property_names_escape_as_cel_escape_does() {
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(escape("x-prop").as_deref(), Some("x__dash__prop"));
        assert_eq!(escape("redact__d").as_deref(), Some("redact__underscores__d"));
        assert_eq!(escape("a.b/c").as_deref(), Some("a__dot__b__slash__c"));
        assert_eq!(escape("sprint").as_deref(), Some("sprint"));
        assert_eq!(escape("1st"), None);
        assert_eq!(escape("a b"), None);
    }

    #[test]
    fn field_paths_resolve_against_the_schema() {
        let s = schema(serde_json::json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"b.c": {"type": "string"}}},
            "m": {"type": "object", "additionalProperties": {"type": "string"}}}}));
        assert_eq!(field_path(".a['b.c']", &s), Ok("a.b.c".to_string()));
        assert_eq!(field_path(".m.k", &s), Ok("m[k]".to_string()));
        assert!(field_path(".nope", &s).is_err());
        assert!(field_path("a", &s).is_err());
        assert!(field_path(".a[b]", &s).is_err());
        assert!(field_path(".a['unterminated", &s).is_err());
    }

    fn run(schema_json: Json, new: Json, old: Option<Json>) -> RuleOutcome {
        validate_rules(&new, old.as_ref(), &schema(schema_json), &[])
    }

    #[test]
    fn a_number_is_a_double_and_unknown_or_null_fields_are_absent() {
        let s = serde_json::json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "type(self.ratio) == double && !has(self.gone)"}],
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"ratio": {"type": "number"}, "gone": {"type": "string", "nullable": true}}}}});
        let outcome = run(s, serde_json::json!({"spec": {"ratio": 1, "gone": null, "extra": 1}}), None);
        assert!(outcome.causes.is_empty(), "{:?}", outcome.causes);
    }

    #[test]
    fn transition_rules_need_an_old_value_and_list_maps_correlate_by_key() {
        let s = serde_json::json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"ports": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer",
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]}}}}}}}});
        let old = serde_json::json!({"spec": {"ports": [{"name": "a", "port": 1}]}});
        let new = serde_json::json!({"spec": {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 3}]}});
        assert!(run(s.clone(), new.clone(), None).causes.is_empty());
        let causes = run(s, new, Some(old)).causes;
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.ports[1].port");
        assert_eq!(causes[0].message, "Invalid value: \"integer\": immutable");
    }

    #[test]
    fn evaluation_errors_and_reasons_are_worded_as_in_1_33() {
        let s = serde_json::json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.m['k'] == 'v'"},
                {"rule": "size(self.m) == 0", "reason": "FieldValueDuplicate"},
                {"rule": "false", "messageExpression": "''", "message": "fallback"}],
            "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}}}}});
        let causes = run(s, serde_json::json!({"spec": {"m": {"x": "y"}}}), None).causes;
        let shown: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(shown, [
            "spec: Invalid value: \"object\": no such key: k evaluating rule: self.m['k'] == 'v'",
            "spec: Duplicate value: \"object\"",
            "spec: Invalid value: \"object\": fallback",
        ]);
    }

    #[test]
    fn a_hostile_schema_or_object_neither_panics_nor_recurses_without_end() {
        let mut s = serde_json::json!({"type": "object", "x-kubernetes-validations": [{"rule": "true"}]});
        let mut v = serde_json::json!({});
        for _ in 0..70 {
            s = serde_json::json!({"type": "object", "properties": {"a": s}, "x-kubernetes-validations": [{"rule": "self == self"}]});
            v = serde_json::json!({"a": v});
        }
        let props = schema(s);
        let mut errs = Errors::default();
        check_rules(&props, "x", &mut errs);
        let _ = validate_rules(&v, Some(&v), &props, &[]);
    }
}
