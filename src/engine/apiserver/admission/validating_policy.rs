//! The ValidatingAdmissionPolicy admission plugin (apiserver's
//! `admission/plugin/policy/validating` over `policy/generic` and
//! `policy/matching`), with the policy and binding objects' own defaulting
//! and validation (`pkg/apis/admissionregistration/v1/defaults.go`,
//! `pkg/apis/admissionregistration/validation/validation.go`).
//!
//! Every create, update and delete of a resource is offered to each policy
//! (by name) whose `matchConstraints` match it, then to each of its bindings
//! whose `matchResources` match; the binding's params (a `paramRef` to an
//! object of the policy's `paramKind`) are looked up, and the policy's CEL
//! expressions evaluated ([`crate::engine::cel`]). A binding's
//! `validationActions` decide what a failed validation does: `Deny` refuses
//! the request (the first denial is the error), `Warn` adds a warning,
//! `Audit` writes to the audit log, which this simulation does not keep.

use std::rc::Rc;

use k8s_openapi::api::admissionregistration::v1::{
    MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::json;

use crate::engine::api::{ids, resource, ApiError, Cause, Object, Reason, ResourceType, RESOURCES};
use crate::engine::apiserver::validation::{quote, Errors};
use crate::engine::apiserver::ApiServer;
use crate::engine::cel::{self, Activation, CompileError, Declarations, Lazy, Program, Returns, Value};
use crate::engine::selector::Selector;

/// `validation.policy.admission.k8s.io`'s kinds, which no policy may
/// judge (`IsExemptAdmissionConfigurationResource`).
fn is_exempt(rt: &ResourceType) -> bool {
    rt.group == "admissionregistration.k8s.io"
}

fn policies_id() -> Option<crate::engine::api::ResourceId> {
    crate::engine::api::find_resource("admissionregistration.k8s.io", "validatingadmissionpolicies")
}

fn bindings_id() -> Option<crate::engine::api::ResourceId> {
    crate::engine::api::find_resource("admissionregistration.k8s.io", "validatingadmissionpolicybindings")
}

// ---------------------------------------------------------------------------
// Defaulting and validation of the policy and binding objects.

fn default_match_resources(m: &mut MatchResources) {
    m.match_policy.get_or_insert_with(|| "Equivalent".to_string());
    m.namespace_selector.get_or_insert_with(LabelSelector::default);
    m.object_selector.get_or_insert_with(LabelSelector::default);
    for rule in m.resource_rules.iter_mut().flatten().chain(m.exclude_resource_rules.iter_mut().flatten()) {
        rule.scope.get_or_insert_with(|| "*".to_string());
    }
}

/// `SetDefaults_ValidatingAdmissionPolicySpec`, `SetDefaults_MatchResources`
/// and `SetDefaults_Rule`; and the status the policy status controller
/// writes once it has checked the expressions (no type warnings here:
/// `object` is checked as `dyn`).
pub fn default_policy(policy: &mut ValidatingAdmissionPolicy, generation: i64) {
    let spec = policy.spec.get_or_insert_with(Default::default);
    spec.failure_policy.get_or_insert_with(|| "Fail".to_string());
    if let Some(m) = &mut spec.match_constraints {
        default_match_resources(m);
    }
    policy.status = Some(k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyStatus {
        observed_generation: Some(generation),
        type_checking: Some(Default::default()),
        conditions: None,
    });
}

pub fn default_binding(binding: &mut ValidatingAdmissionPolicyBinding) {
    if let Some(m) = binding.spec.as_mut().and_then(|s| s.match_resources.as_mut()) {
        default_match_resources(m);
    }
}

/// A Go `%#v` of a string slice of the internal API's type `go_type`.
fn go_slice(go_type: &str, values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[]{go_type}{{{}}}", items.join(", "))
}

fn has_wildcard(values: &[String]) -> bool {
    values.iter().any(|v| v == "*")
}

/// `validateNamedRuleWithOperations` (resource names are not checked).
fn validate_rule(rule: &NamedRuleWithOperations, path: &str, errs: &mut Errors) {
    let operations = rule.operations.as_deref().unwrap_or_default();
    if operations.is_empty() {
        errs.required(&format!("{path}.operations"), "");
    }
    if operations.len() > 1 && has_wildcard(operations) {
        errs.invalid(&format!("{path}.operations"), &go_slice("admissionregistration.OperationType", operations), "if '*' is present, must not specify other operations");
    }
    for (i, op) in operations.iter().enumerate() {
        if !["*", "CONNECT", "CREATE", "DELETE", "UPDATE"].contains(&op.as_str()) {
            errs.unsupported(&format!("{path}.operations[{i}]"), op, &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]);
        }
    }
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    if groups.is_empty() {
        errs.required(&format!("{path}.apiGroups"), "");
    }
    if groups.len() > 1 && has_wildcard(groups) {
        errs.invalid(&format!("{path}.apiGroups"), &go_slice("string", groups), "if '*' is present, must not specify other API groups");
    }
    let versions = rule.api_versions.as_deref().unwrap_or_default();
    if versions.is_empty() {
        errs.required(&format!("{path}.apiVersions"), "");
    }
    if versions.len() > 1 && has_wildcard(versions) {
        errs.invalid(&format!("{path}.apiVersions"), &go_slice("string", versions), "if '*' is present, must not specify other API versions");
    }
    for (i, v) in versions.iter().enumerate() {
        if v.is_empty() {
            errs.required(&format!("{path}.apiVersions[{i}]"), "");
        }
    }
    if rule.resources.as_deref().unwrap_or_default().is_empty() {
        errs.required(&format!("{path}.resources"), "");
    }
    if let Some(scope) = &rule.scope {
        if !["*", "Cluster", "Namespaced"].contains(&scope.as_str()) {
            errs.unsupported(&format!("{path}.scope"), scope, &["*", "Cluster", "Namespaced"]);
        }
    }
}

fn validate_match_resources(m: &MatchResources, path: &str, errs: &mut Errors) {
    match m.match_policy.as_deref() {
        None => errs.required(&format!("{path}.matchPolicy"), ""),
        Some("Equivalent" | "Exact") => {}
        Some(other) => errs.unsupported(&format!("{path}.matchPolicy"), other, &["Equivalent", "Exact"]),
    }
    if m.namespace_selector.is_none() {
        errs.required(&format!("{path}.namespaceSelector"), "");
    }
    if m.object_selector.is_none() {
        errs.required(&format!("{path}.objectSelector"), "");
    }
    for (i, rule) in m.resource_rules.iter().flatten().enumerate() {
        validate_rule(rule, &format!("{path}.resourceRules[{i}]"), errs);
    }
    for (i, rule) in m.exclude_resource_rules.iter().flatten().enumerate() {
        validate_rule(rule, &format!("{path}.excludeResourceRules[{i}]"), errs);
    }
}

/// A compile error as the policy's validation reports it: CEL's own errors
/// are `Invalid value: "<expression>": compilation failed: ...` (a wrong
/// result type without the prefix); what this simulation cannot evaluate
/// is refused the same way, saying so.
fn compile_field(src: &str, declared: &Declarations, returns: Returns, path: &str, errs: &mut Errors) -> Option<Program> {
    match cel::compile(src, declared, returns) {
        Ok(p) => Some(p),
        Err(CompileError::Cel(issues)) => {
            errs.invalid_str(path, src, &format!("compilation failed: {issues}"));
            None
        }
        Err(CompileError::Returns(detail)) => {
            errs.invalid_str(path, src, &detail);
            None
        }
        Err(CompileError::Unsupported(what)) => {
            errs.invalid_str(path, src, &what);
            None
        }
    }
}

fn is_cel_identifier(name: &str) -> bool {
    const RESERVED: [&str; 21] = [
        "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
    ];
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !RESERVED.contains(&name)
}

/// `validateValidatingAdmissionPolicySpec`.
pub fn validate_policy(policy: &ValidatingAdmissionPolicy, errs: &mut Errors) {
    let empty = ValidatingAdmissionPolicySpec::default();
    let spec = policy.spec.as_ref().unwrap_or(&empty);
    match spec.failure_policy.as_deref() {
        None => errs.required("spec.failurePolicy", ""),
        Some("Fail" | "Ignore") => {}
        Some(other) => errs.unsupported("spec.failurePolicy", other, &["Fail", "Ignore"]),
    }
    let has_params = spec.param_kind.is_some();
    if let Some(kind) = &spec.param_kind {
        if kind.api_version.as_deref().is_none_or(str::is_empty) {
            errs.required("spec.paramKind.apiVersion", "");
        }
        if kind.kind.as_deref().is_none_or(str::is_empty) {
            errs.required("spec.paramKind.kind", "");
        }
    }
    match &spec.match_constraints {
        None => errs.required("spec.matchConstraints", ""),
        Some(m) => {
            validate_match_resources(m, "spec.matchConstraints", errs);
            if m.resource_rules.as_deref().unwrap_or_default().is_empty() {
                errs.required("spec.matchConstraints.resourceRules", "");
            }
        }
    }
    for (i, condition) in spec.match_conditions.iter().flatten().enumerate() {
        let path = format!("spec.matchConditions[{i}]");
        if condition.expression.trim().is_empty() {
            errs.required(&format!("{path}.expression"), "");
        } else {
            let declared = Declarations { params: has_params, variables: Vec::new(), rule: None };
            compile_field(condition.expression.trim(), &declared, Returns::Bool, &format!("{path}.expression"), errs);
        }
        if condition.name.is_empty() {
            errs.required(&format!("{path}.name"), "");
        }
    }
    let mut variables = Vec::new();
    for (i, variable) in spec.variables.iter().flatten().enumerate() {
        let path = format!("spec.variables[{i}]");
        if variable.name.trim().is_empty() {
            errs.required(&format!("{path}.name"), "name is not specified");
        } else if !is_cel_identifier(&variable.name) {
            errs.invalid_str(&format!("{path}.name"), &variable.name, "name is not a valid CEL identifier");
        }
        if variable.expression.trim().is_empty() {
            errs.required(&format!("{path}.expression"), "expression is not specified");
        } else {
            let declared = Declarations { params: has_params, variables: variables.clone(), rule: None };
            compile_field(&variable.expression, &declared, Returns::Any, &format!("{path}.expression"), errs);
        }
        variables.push(variable.name.clone());
    }
    let validations = spec.validations.as_deref().unwrap_or_default();
    let annotations = spec.audit_annotations.as_deref().unwrap_or_default();
    if validations.is_empty() && annotations.is_empty() {
        errs.required("spec.validations", "validations or auditAnnotations must contain at least one item");
        errs.required("spec.auditAnnotations", "validations or auditAnnotations must contain at least one item");
        return;
    }
    let declared = Declarations { params: has_params, variables, rule: None };
    for (i, v) in validations.iter().enumerate() {
        let path = format!("spec.validations[{i}]");
        if v.expression.trim().is_empty() {
            errs.required(&format!("{path}.expression"), "expression is not specified");
        } else {
            compile_field(&v.expression, &declared, Returns::Bool, &format!("{path}.expression"), errs);
        }
        let message_expression = v.message_expression.as_deref().unwrap_or("");
        if !message_expression.is_empty() && message_expression.trim().is_empty() {
            errs.invalid_str(&format!("{path}.messageExpression"), message_expression, "must be non-empty if specified");
        } else if !message_expression.trim().is_empty() {
            compile_field(message_expression, &declared, Returns::String, &format!("{path}.messageExpression"), errs);
        }
        let message = v.message.as_deref().unwrap_or("");
        if !message.is_empty() && message.trim().is_empty() {
            errs.invalid_str(&format!("{path}.message"), message, "message must be non-empty if specified");
        } else if message.trim().contains(['\n', '\r']) {
            errs.invalid_str(&format!("{path}.message"), message, "message must not contain line breaks");
        }
        if let Some(reason) = &v.reason {
            const REASONS: [&str; 4] = ["Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"];
            if !REASONS.contains(&reason.as_str()) {
                errs.unsupported(&format!("{path}.reason"), reason, &REASONS);
            }
        }
    }
    let mut keys = Vec::new();
    for (i, a) in annotations.iter().enumerate() {
        let path = format!("spec.auditAnnotations[{i}]");
        if a.value_expression.trim().is_empty() {
            errs.required(&format!("{path}.valueExpression"), "valueExpression is not specified");
        } else {
            compile_field(a.value_expression.trim(), &declared, Returns::StringOrNull, &format!("{path}.valueExpression"), errs);
        }
        if keys.contains(&a.key) {
            errs.duplicate(&format!("{path}.key"), &quote(&a.key));
        }
        keys.push(a.key.clone());
    }
}

/// `validateValidatingAdmissionPolicyBindingSpec`.
pub fn validate_binding(binding: &ValidatingAdmissionPolicyBinding, errs: &mut Errors) {
    let empty = Default::default();
    let spec = binding.spec.as_ref().unwrap_or(&empty);
    if spec.policy_name.as_deref().is_none_or(str::is_empty) {
        errs.required("spec.policyName", "");
    }
    if let Some(param_ref) = &spec.param_ref {
        let named = param_ref.name.as_deref().is_some_and(|n| !n.is_empty());
        if named && param_ref.selector.is_some() {
            errs.forbidden("spec.paramRef.name", "name and selector are mutually exclusive");
            errs.forbidden("spec.paramRef.selector", "name and selector are mutually exclusive");
        }
        if !named && param_ref.selector.is_none() {
            errs.required("spec.paramRef", "one of name or selector must be specified");
        }
        match param_ref.parameter_not_found_action.as_deref() {
            None | Some("") => errs.required("spec.paramRef.parameterNotFoundAction", ""),
            Some("Deny" | "Allow") => {}
            Some(other) => errs.unsupported("spec.paramRef.parameterNotFoundAction", other, &["Deny", "Allow"]),
        }
    }
    if let Some(m) = &spec.match_resources {
        validate_match_resources(m, "spec.matchResources", errs);
    }
    let actions = spec.validation_actions.as_deref().unwrap_or_default();
    let mut seen: Vec<&str> = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        if !["Audit", "Deny", "Warn"].contains(&action.as_str()) {
            errs.unsupported(&format!("spec.validationActions[{i}]"), action, &["Audit", "Deny", "Warn"]);
        }
        if seen.contains(&action.as_str()) {
            errs.duplicate(&format!("spec.validationActions[{i}]"), &quote(action));
        }
        seen.push(action);
    }
    if seen.contains(&"Deny") && seen.contains(&"Warn") {
        errs.invalid(
            "spec.validationActions",
            &go_slice("admissionregistration.ValidationAction", actions),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        );
    }
    if seen.is_empty() {
        errs.required("spec.validationActions", "at least one validation action is required");
    }
}

// ---------------------------------------------------------------------------
// Admission.

/// One admission request, as the policies see it.
pub struct Request<'a> {
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub operation: &'static str,
    pub object: Option<&'a Object>,
    pub old_object: Option<&'a Object>,
    /// `scale` for an update through the scale subresource.
    pub subresource: &'static str,
}

impl Request<'_> {
    fn subject(&self) -> Option<&Object> {
        self.object.or(self.old_object)
    }
}

/// `rules.Matcher`: operation, group, version, resource (with its
/// subresource) and scope.
fn rule_matches(rule: &NamedRuleWithOperations, operation: &str, rt: &ResourceType, subresource: &str, name: &str) -> bool {
    let any = |values: &Option<Vec<String>>, wanted: &str| values.iter().flatten().any(|v| v == "*" || v == wanted);
    let scope_ok = match rule.scope.as_deref().unwrap_or("*") {
        "Cluster" => !rt.namespaced,
        "Namespaced" => rt.namespaced,
        _ => true,
    };
    let resource_ok = rule.resources.iter().flatten().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == rt.plural) && (sub == "*" || sub == subresource)
    });
    let names = rule.resource_names.as_deref().unwrap_or_default();
    any(&rule.operations, operation)
        && any(&rule.api_groups, rt.group)
        && any(&rule.api_versions, rt.version)
        && resource_ok
        && scope_ok
        && (names.is_empty() || names.iter().any(|n| n == name))
}

/// The labels a `namespaceSelector` is matched against, or `None` when the
/// request is about a cluster-scoped object other than a namespace (never
/// exempted by a namespace selector).
fn namespace_labels(api: &ApiServer, request: &Request, rt: &ResourceType) -> Option<Option<std::collections::BTreeMap<String, String>>> {
    let subject = request.subject()?;
    if rt.plural == "namespaces" && rt.group.is_empty() {
        return Some(subject.meta().labels.clone());
    }
    if !rt.namespaced {
        return None;
    }
    let namespace = subject.meta().namespace.as_deref().unwrap_or("");
    let stored = api.store.get(&ApiServer::key(ids::namespaces(), "", namespace)).map(|e| e.value.object());
    Some(stored.and_then(|ns| ns.meta().labels.clone()))
}

/// `matching.Matcher.Matches`: the selectors, the exclusions, the rules
/// (a binding with no rules matches what its policy matches).
fn resources_match(api: &ApiServer, m: &MatchResources, request: &Request, require_rules: bool) -> bool {
    let Some(subject) = request.subject() else { return false };
    let rt = resource(subject.resource_id());
    if let Some(labels) = namespace_labels(api, request, rt) {
        let selector = Selector::from_optional_api(m.namespace_selector.as_ref());
        if !selector.is_empty() && !selector.matches(labels.as_ref()) {
            return false;
        }
    }
    let object_selector = Selector::from_optional_api(m.object_selector.as_ref());
    if !object_selector.is_empty() {
        let matches = |o: Option<&Object>| o.is_some_and(|o| object_selector.matches(o.meta().labels.as_ref()));
        if !matches(request.object) && !matches(request.old_object) {
            return false;
        }
    }
    let name = subject.meta().name.as_deref().unwrap_or("");
    if m.exclude_resource_rules.iter().flatten().any(|r| rule_matches(r, request.operation, rt, request.subresource, name)) {
        return false;
    }
    let rules = m.resource_rules.as_deref().unwrap_or_default();
    if rules.is_empty() {
        return !require_rules;
    }
    rules.iter().any(|r| rule_matches(r, request.operation, rt, request.subresource, name))
}

/// One decision that refuses the request.
struct Denial {
    policy: String,
    binding: Option<String>,
    message: String,
    reason: Option<String>,
}

/// What one policy-binding-param evaluation decided.
enum Outcome {
    Admit,
    /// A validation failed (false), with its message and reason.
    Fail { message: String, reason: Option<String> },
    /// An expression could not be evaluated: the failure policy decides.
    Error(String),
}

/// The `params` objects a binding names, or the error that configures it
/// wrongly (`CollectParams`); an empty list admits (`Allow`).
fn collect_params(api: &ApiServer, spec: &ValidatingAdmissionPolicySpec, binding: &ValidatingAdmissionPolicyBinding, namespace: &str) -> Result<Vec<Value>, String> {
    let Some(kind) = &spec.param_kind else { return Ok(vec![Value::Null]) };
    let Some(param_ref) = binding.spec.as_ref().and_then(|s| s.param_ref.as_ref()) else { return Ok(vec![Value::Null]) };
    let rt_id = param_resource(kind).ok_or_else(|| "paramKind not known".to_string())?;
    let rt = resource(rt_id);
    let ref_namespace = param_ref.namespace.as_deref().unwrap_or("");
    let params_namespace = if rt.namespaced {
        if !ref_namespace.is_empty() {
            ref_namespace
        } else if namespace.is_empty() {
            return Err("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources".to_string());
        } else {
            namespace
        }
    } else {
        if !ref_namespace.is_empty() {
            return Err("paramRef.namespace must not be provided for a cluster-scoped `paramKind`".to_string());
        }
        ""
    };
    let found: Vec<Rc<Object>> = match (param_ref.name.as_deref().filter(|n| !n.is_empty()), &param_ref.selector) {
        (Some(name), _) => api.store.get(&ApiServer::key(rt_id, params_namespace, name)).map(|e| e.value.object()).into_iter().collect(),
        (None, Some(selector)) => {
            let selector = Selector::from_api(selector);
            let prefix = ApiServer::prefix(rt_id, rt.namespaced.then_some(params_namespace));
            api.store.range(&prefix).map(|(_, e)| e.value.object()).filter(|o| selector.matches(o.meta().labels.as_ref())).collect()
        }
        (None, None) => return Err("one of name or selector must be provided".to_string()),
    };
    if found.is_empty() && param_ref.parameter_not_found_action.as_deref() == Some("Deny") {
        return Err("no params found for policy binding with `Deny` parameterNotFoundAction".to_string());
    }
    Ok(found.iter().map(|o| Value::from_json(&o.to_json())).collect())
}

/// The served resource of a `paramKind` (`apiVersion` and `kind`).
fn param_resource(kind: &k8s_openapi::api::admissionregistration::v1::ParamKind) -> Option<crate::engine::api::ResourceId> {
    let api_version = kind.api_version.as_deref().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = kind.kind.as_deref().unwrap_or("");
    RESOURCES
        .iter()
        .find(|rt| rt.group == group && rt.version == version && rt.kind == kind)
        .and_then(|rt| crate::engine::api::find_resource(rt.group, rt.plural))
}

/// The `request` variable: the admission request without its objects.
fn request_value(request: &Request, rt: &ResourceType, namespace: &str, name: &str) -> Value {
    let kind = match request.subresource {
        "scale" => json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
        _ => json!({"group": rt.group, "version": rt.version, "kind": rt.kind}),
    };
    let res = json!({"group": rt.group, "version": rt.version, "resource": rt.plural});
    let mut fields = json!({
        "kind": kind,
        "resource": res,
        "requestKind": kind,
        "requestResource": res,
        "name": name,
        "namespace": namespace,
        "operation": request.operation,
        "userInfo": {},
        "dryRun": false,
    });
    if let (false, Some(map)) = (request.subresource.is_empty(), fields.as_object_mut()) {
        map.insert("subResource".to_string(), json!(request.subresource));
        map.insert("requestSubResource".to_string(), json!(request.subresource));
    }
    Value::from_json(&fields)
}

/// The object as the request carries it: a scale subresource's is the
/// `autoscaling/v1` Scale.
fn request_object(o: &Object, subresource: &str) -> Value {
    match subresource {
        "scale" => Value::from_json(&crate::engine::kubectl::verbs::scale::scale_of(o)),
        _ => Value::from_json(&o.to_json()),
    }
}

/// Evaluates one policy for one binding and one param.
fn evaluate(spec: &ValidatingAdmissionPolicySpec, activation: &Activation, declared: &Declarations) -> Vec<Outcome> {
    let compile = |src: &str, returns| cel::compile(src, declared, returns).map_err(|e| format!("compilation error: {e:?}"));
    let wrap = |src: &str, e: String| format!("expression '{src}' resulted in error: {e}");
    // matchConditions: any false skips the policy; otherwise an error fails it.
    let mut condition_error = None;
    for condition in spec.match_conditions.iter().flatten() {
        let result = compile(condition.expression.trim(), Returns::Bool).and_then(|p| p.eval(activation).map_err(|e| wrap(&condition.expression, e)));
        match result {
            Ok(Value::Bool(false)) => return Vec::new(),
            Ok(Value::Bool(true)) => {}
            Ok(_) => {
                condition_error.get_or_insert_with(|| "no such overload".to_string());
            }
            Err(e) => {
                condition_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = condition_error {
        return vec![Outcome::Error(e)];
    }
    let mut outcomes = Vec::new();
    for v in spec.validations.iter().flatten() {
        if activation.out_of_budget() {
            return vec![Outcome::Error(cel::OUT_OF_BUDGET.to_string())];
        }
        let result = compile(&v.expression, Returns::Bool).and_then(|p| p.eval(activation).map_err(|e| wrap(&v.expression, e)));
        outcomes.push(match result {
            Ok(Value::Bool(true)) => Outcome::Admit,
            Err(e) => Outcome::Error(e),
            Ok(_) => {
                // messageExpression, then message, then the expression itself.
                let from_expression = v.message_expression.as_deref().filter(|m| !m.trim().is_empty()).and_then(|m| match compile(m, Returns::String).and_then(|p| p.eval(activation)) {
                    Ok(Value::Str(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty() && s.len() <= 5120 && !s.contains('\n')),
                    _ => None,
                });
                let message = from_expression
                    .or_else(|| v.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string))
                    .unwrap_or_else(|| format!("failed expression: {}", v.expression.trim()));
                Outcome::Fail { message, reason: v.reason.clone() }
            }
        });
    }
    // An audit annotation that cannot be evaluated fails the request too.
    for a in spec.audit_annotations.iter().flatten() {
        let src = a.value_expression.trim();
        match compile(src, Returns::StringOrNull).and_then(|p| p.eval(activation).map_err(|e| wrap(src, e))) {
            Ok(Value::Str(_) | Value::Null) => {}
            Ok(other) => outcomes.push(Outcome::Error(format!(
                "valueExpression '{src}' resulted in unsupported return type: {}. Return type must be either string or null.",
                other.type_name()
            ))),
            Err(e) => outcomes.push(Outcome::Error(e)),
        }
    }
    outcomes
}

/// Offers a request to every policy; the first denial refuses it.
/// The policies' keys, counted by the store: a cluster without a policy
/// (most of them) answers every write's question without a search.
const POLICIES_PREFIX: &str = crate::engine::store::COUNTED_PREFIXES[2];

pub fn admit(api: &ApiServer, request: &Request) -> Result<(), ApiError> {
    if !api.store.holds_any_under(POLICIES_PREFIX) {
        return Ok(());
    }
    let (Some(policies_id), Some(bindings_id)) = (policies_id(), bindings_id()) else { return Ok(()) };
    let policies: Vec<Rc<Object>> = api.store.range(&ApiServer::prefix(policies_id, None)).map(|(_, e)| e.value.object()).collect();
    if policies.is_empty() {
        return Ok(());
    }
    let Some(subject) = request.subject() else { return Ok(()) };
    let rt = resource(subject.resource_id());
    if is_exempt(rt) {
        return Ok(());
    }
    let bindings: Vec<Rc<Object>> = api.store.range(&ApiServer::prefix(bindings_id, None)).map(|(_, e)| e.value.object()).collect();
    let namespace = subject.meta().namespace.clone().unwrap_or_default();
    let name = subject.meta().name.clone().unwrap_or_default();
    let mut denials = Vec::new();
    for policy in &policies {
        let Object::ValidatingAdmissionPolicy(policy) = &**policy else { continue };
        let policy_name = policy.metadata.name.clone().unwrap_or_default();
        let Some(spec) = &policy.spec else { continue };
        let Some(constraints) = &spec.match_constraints else { continue };
        if !resources_match(api, constraints, request, true) {
            continue;
        }
        let fails = spec.failure_policy.as_deref() != Some("Ignore");
        if let Some(kind) = &spec.param_kind {
            if param_resource(kind).is_none() {
                if fails {
                    let api_version = kind.api_version.as_deref().unwrap_or("");
                    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                    denials.push(Denial {
                        policy: policy_name.clone(),
                        binding: None,
                        message: format!("failed to configure policy: failed to find resource referenced by paramKind: '{group}/{version}, Kind={}'", kind.kind.as_deref().unwrap_or("")),
                        reason: None,
                    });
                }
                continue;
            }
        }
        let variable_names: Vec<String> = spec.variables.iter().flatten().map(|v| v.name.clone()).collect();
        let declared = Declarations { params: spec.param_kind.is_some(), variables: variable_names, rule: None };
        for binding in &bindings {
            let Object::ValidatingAdmissionPolicyBinding(binding) = &**binding else { continue };
            let Some(binding_spec) = &binding.spec else { continue };
            if binding_spec.policy_name.as_deref() != Some(policy_name.as_str()) {
                continue;
            }
            if let Some(m) = &binding_spec.match_resources {
                if !resources_match(api, m, request, false) {
                    continue;
                }
            }
            let binding_name = binding.metadata.name.clone().unwrap_or_default();
            let params = match collect_params(api, spec, binding, if rt.namespaced { &namespace } else { "" }) {
                Ok(params) => params,
                Err(e) => {
                    if fails {
                        denials.push(Denial { policy: policy_name.clone(), binding: Some(binding_name), message: format!("failed to configure binding: {e}"), reason: None });
                    }
                    continue;
                }
            };
            let actions = binding_spec.validation_actions.as_deref().unwrap_or_default();
            for param in params {
                let namespace_object = if rt.namespaced {
                    api.store.get(&ApiServer::key(ids::namespaces(), "", &namespace)).map_or(Value::Null, |e| Value::from_json(&e.value.object().to_json()))
                } else {
                    Value::Null
                };
                let variables = spec
                    .variables
                    .iter()
                    .flatten()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let earlier = Declarations { params: declared.params, variables: declared.variables.get(..i)?.to_vec(), rule: None };
                        cel::compile(&v.expression, &earlier, Returns::Any).ok().map(|p| Lazy::new(v.name.clone(), p))
                    })
                    .collect();
                let activation = Activation::new(
                    request.object.map_or(Value::Null, |o| request_object(o, request.subresource)),
                    request.old_object.map_or(Value::Null, |o| request_object(o, request.subresource)),
                    param,
                    request_value(request, rt, &namespace, &name),
                    namespace_object,
                    variables,
                );
                for outcome in evaluate(spec, &activation, &declared) {
                    let (message, reason) = match outcome {
                        Outcome::Admit => continue,
                        Outcome::Error(_) if !fails => continue,
                        Outcome::Error(message) => (message, None),
                        Outcome::Fail { message, reason } => (message, reason),
                    };
                    for action in actions {
                        match action.as_str() {
                            "Deny" => denials.push(Denial { policy: policy_name.clone(), binding: Some(binding_name.clone()), message: message.clone(), reason: reason.clone() }),
                            "Warn" => api.warn(format!("Validation failed for ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}': {message}")),
                            // Audit: an annotation on the audit event, which is not kept here.
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    match denials.into_iter().next() {
        None => Ok(()),
        Some(denial) => Err(denied(rt, &name, denial)),
    }
}

/// `admission.NewForbidden` with the decision's reason (Invalid unless the
/// validation names another) and the message as its one cause.
fn denied(rt: &ResourceType, name: &str, denial: Denial) -> ApiError {
    let message = match &denial.binding {
        Some(binding) => format!("ValidatingAdmissionPolicy '{}' with binding '{binding}' denied request: {}", denial.policy, denial.message),
        None => format!("ValidatingAdmissionPolicy '{}' denied request: {}", denial.policy, denial.message),
    };
    let reason = match denial.reason.as_deref() {
        Some("Forbidden") => Reason::Forbidden,
        Some("RequestEntityTooLarge") => Reason::RequestEntityTooLarge,
        // No `Unauthorized` reason here: answered as Forbidden (see README).
        Some("Unauthorized") => Reason::Forbidden,
        _ => Reason::Invalid,
    };
    ApiError {
        reason,
        message: format!("{} \"{name}\" is forbidden: {message}", rt.qualified_plural()),
        kind: rt.plural.to_string(),
        name: name.to_string(),
        causes: vec![Cause { field: String::new(), message }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_as_the_webhook_rules_matcher_does() {
        let deployments = resource(ids::deployments());
        let rule = |json: serde_json::Value| -> NamedRuleWithOperations { serde_json::from_value(json).unwrap() };
        let r = rule(json!({"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}));
        assert!(rule_matches(&r, "CREATE", deployments, "", "x"));
        assert!(!rule_matches(&r, "UPDATE", deployments, "", "x"));
        let r = rule(json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"], "scope": "Cluster"}));
        assert!(!rule_matches(&r, "CREATE", deployments, "", "x"));
        let r = rule(json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["deployments/scale"]}));
        assert!(!rule_matches(&r, "CREATE", deployments, "", "x"));
        assert!(rule_matches(&r, "UPDATE", deployments, "scale", "x"));
        let r = rule(json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"], "resourceNames": ["y"]}));
        assert!(!rule_matches(&r, "CREATE", deployments, "", "x"));
        assert!(rule_matches(&r, "DELETE", deployments, "", "y"));
    }

    #[test]
    fn a_binding_is_validated() {
        let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({"metadata": {"name": "b"}, "spec": {"validationActions": ["Deny", "Warn", "Deny"], "paramRef": {"name": "x"}}})).unwrap();
        let mut errs = Errors::default();
        validate_binding(&binding, &mut errs);
        let messages: Vec<String> = errs.0.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(
            messages,
            [
                "spec.policyName: Required value",
                "spec.paramRef.parameterNotFoundAction: Required value",
                "spec.validationActions[2]: Duplicate value: \"Deny\"",
                "spec.validationActions: Invalid value: []admissionregistration.ValidationAction{\"Deny\", \"Warn\", \"Deny\"}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
            ]
        );
    }

    #[test]
    fn the_counted_prefix_is_where_policies_are_kept() {
        let Some(id) = policies_id() else { panic!("policies are served") };
        assert_eq!(ApiServer::prefix(id, None), POLICIES_PREFIX);
    }
}
