//! Decoding manifests: YAML or JSON text into documents, and documents into
//! typed objects, with the words kubectl 1.33 and a 1.33 API server use.
//!
//! Three stages, each usable on its own (the browser's YAML editor calls the
//! first to underline a line):
//! 1. [`parse_manifests`] splits a stream into documents as kubectl's
//!    `YAMLOrJSONDecoder` does (lines starting with `---`, or consecutive JSON
//!    values) and converts each to JSON, reporting syntax errors with go-yaml's
//!    wording and line numbers.
//! 2. [`check_type_meta`] and [`resolve_kind`]: kubectl's client-side checks
//!    (`apiVersion not set`, `no matches for kind …`).
//! 3. [`decode_object`]: the API server's decoding — body size limit, Go
//!    `encoding/json` type errors, strict field validation (unknown fields).
//!
//! Hostile input is bounded everywhere: input size, document count, nesting
//! depth (serde's recursion limit of 128) and alias expansion (serde_yaml's
//! repetition limit), so a YAML bomb errors quickly instead of growing.

pub mod autoscaling_v1;
pub mod go_yaml;
mod value;

use serde::de::DeserializeSeed as _;
use serde_json::Value;

use crate::engine::api::{resource, resource_for_kind, ApiError, Object, Reason, ResourceId};

/// The API server's request body limit (`maxRequestBodyBytes`, 3 MiB).
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;
/// The largest input text parsed at all; a real kubectl would read more, but
/// anything past this could only end in "Request entity too large".
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Documents read from one input before giving up.
pub const MAX_DOCUMENTS: usize = 10_000;

/// One document of a manifest stream, converted to JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestDocument {
    /// 1-based line of the input where the document's text begins.
    pub line: usize,
    pub value: Value,
}

/// A syntax error that ends reading a stream (kubectl stops at the first one
/// and keeps the documents before it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What kubectl prints after `error parsing <file>: `, e.g.
    /// `error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context`.
    pub message: String,
    /// 1-based line in the whole input, for editors (not always the line go-yaml names).
    pub line: Option<usize>,
}

/// The result of reading a manifest stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedManifests {
    /// Documents in input order; empty documents (only comments, `null`) are skipped as kubectl skips them.
    pub documents: Vec<ManifestDocument>,
    pub error: Option<SyntaxError>,
}

/// Splits and converts a YAML or JSON stream.
pub fn parse_manifests(text: &str) -> ParsedManifests {
    let mut parsed = ParsedManifests::default();
    if text.len() > MAX_INPUT_BYTES {
        parsed.error = Some(SyntaxError {
            message: format!("input is {} bytes, more than the {} this cluster reads", text.len(), MAX_INPUT_BYTES),
            line: None,
        });
        return parsed;
    }
    if text.trim_start().starts_with('{') {
        match parse_json_stream(text) {
            Ok(docs) => {
                parsed.documents = docs;
                return parsed;
            }
            Err((docs, error)) if !docs.is_empty() => {
                parsed.documents = docs;
                parsed.error = Some(error);
                return parsed;
            }
            Err((_, json_error)) => {
                // kubectl retries a stream that is not valid JSON as YAML and,
                // if that fails too, reports the JSON error.
                let yaml = parse_yaml_stream(text);
                if yaml.error.is_none() {
                    return yaml;
                }
                parsed.error = Some(json_error);
                return parsed;
            }
        }
    }
    parse_yaml_stream(text)
}

fn parse_json_stream(text: &str) -> Result<Vec<ManifestDocument>, (Vec<ManifestDocument>, SyntaxError)> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => return Ok(docs),
            Some(Ok(value)) => {
                if docs.len() >= MAX_DOCUMENTS {
                    return Err((docs, too_many_documents()));
                }
                let lead = text.get(start..).map_or(0, |rest| rest.len() - rest.trim_start().len());
                let line = line_of_offset(text, start + lead);
                if !value.is_null() {
                    docs.push(ManifestDocument { line, value });
                }
            }
            Some(Err(e)) => return Err((docs, json_syntax_error(text, &e))),
        }
    }
}

fn too_many_documents() -> SyntaxError {
    SyntaxError { message: format!("more than {MAX_DOCUMENTS} documents in one input"), line: None }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1).min(l.len());
        }
        offset += l.len();
    }
    text.len()
}

/// Go's `encoding/json` wording for a syntax error, with the byte offset
/// kubectl's decoder adds (`json: offset 12: invalid character …`).
fn json_syntax_error(text: &str, e: &serde_json::Error) -> SyntaxError {
    let offset = offset_of(text, e.line(), e.column());
    let found = text.get(offset..).and_then(|r| r.chars().next());
    let quoted = |c: Option<char>| match c {
        Some(c) => format!("'{c}'"),
        None => "EOF".to_string(),
    };
    let msg = e.to_string();
    let what = msg.split(" at line ").next().unwrap_or(&msg);
    let go = if e.is_eof() {
        "unexpected end of JSON input".to_string()
    } else if what.starts_with("key must be a string") || what.starts_with("trailing comma") && found == Some('}') {
        format!("invalid character {} looking for beginning of object key string", quoted(found))
    } else if what.starts_with("expected `,` or `}`") {
        format!("invalid character {} after object key:value pair", quoted(found))
    } else if what.starts_with("expected `,` or `]`") {
        format!("invalid character {} after array element", quoted(found))
    } else if what.starts_with("expected `:`") {
        format!("invalid character {} after object key", quoted(found))
    } else if what.starts_with("trailing characters") {
        format!("invalid character {} after top-level value", quoted(found))
    } else if what.starts_with("recursion limit exceeded") {
        "exceeded max depth".to_string()
    } else {
        format!("invalid character {} looking for beginning of value", quoted(found))
    };
    SyntaxError { message: format!("json: offset {}: {go}", offset + 1), line: Some(e.line()) }
}

/// kubectl's `YAMLReader`: a line beginning with `---` ends a document; only
/// spaces or a comment may follow the dashes.
fn split_yaml_documents(text: &str) -> Result<Vec<(usize, String)>, (Vec<(usize, String)>, SyntaxError)> {
    let mut docs = Vec::new();
    let mut buffer = String::new();
    let mut buffer_line = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err((docs, SyntaxError { message: format!("invalid Yaml document separator: {trimmed}"), line: Some(number) }));
            }
            if !buffer.is_empty() {
                docs.push((buffer_line, std::mem::take(&mut buffer)));
                if docs.len() > MAX_DOCUMENTS {
                    return Err((docs, too_many_documents()));
                }
            }
            buffer_line = number + 1;
            continue;
        }
        if buffer.is_empty() {
            buffer_line = number;
        }
        buffer.push_str(line);
    }
    if !buffer.is_empty() {
        docs.push((buffer_line, buffer));
    }
    Ok(docs)
}

fn parse_yaml_stream(text: &str) -> ParsedManifests {
    let mut parsed = ParsedManifests::default();
    let (docs, split_error) = match split_yaml_documents(text) {
        Ok(docs) => (docs, None),
        Err((docs, e)) => (docs, Some(e)),
    };
    for (line, doc) in docs {
        match yaml_to_json(&doc) {
            Ok(Value::Null) => {}
            Ok(value) => parsed.documents.push(ManifestDocument { line, value }),
            Err(mut e) => {
                e.line = e.line.map(|l| l + line - 1);
                parsed.error = Some(e);
                return parsed;
            }
        }
    }
    parsed.error = split_error;
    parsed
}

/// One YAML document to JSON, as `sigs.k8s.io/yaml.YAMLToJSON` converts it:
/// go-yaml v2's plain scalars (`go_yaml.rs`), and floats without a fraction
/// as integers, as Go's marshaller prints them.
pub fn yaml_to_json(doc: &str) -> Result<Value, SyntaxError> {
    let value = go_yaml::Document { doc }.deserialize(serde_yaml::Deserializer::from_str(doc)).map_err(|e| yaml_syntax_error(doc, &e))?;
    Ok(as_unstructured_numbers(value))
}

/// Numbers as kubectl's unstructured objects hold them: an integer that is
/// no int64 is a float64 (`18446744073709551615` is sent as
/// `18446744073709552000`), and a float without a fraction an integer.
fn as_unstructured_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_u64() && !n.is_i64() => n.as_f64().map_or(Value::Number(n), |f| Value::from(f)),
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(as_unstructured_numbers).collect()),
        Value::Object(map) => Value::Object(crate::engine::sort::insert_all(map.into_iter().map(|(k, v)| (k, as_unstructured_numbers(v))))),
        other => other,
    }
}

/// libyaml's problems raised by its parser rather than its scanner; go-yaml
/// reports their line numbers without the scanner's `+1`.
const PARSER_PROBLEMS: &[&str] = &[
    "did not find expected key",
    "did not find expected node content",
    "did not find expected '-' indicator",
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
    "did not find expected <document start>",
    "found duplicate %YAML directive",
    "found incompatible YAML document",
    "found duplicate %TAG directive",
    "found undefined tag handle",
    "found unexpected end of stream",
];

/// A 0-based (line, column) from serde_yaml's `line L column C`.
fn parse_mark(s: &str) -> Option<(usize, usize)> {
    let rest = s.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse::<usize>().ok()?.saturating_sub(1), column.parse::<usize>().ok()?.saturating_sub(1)))
}

/// go-yaml's wording for a libyaml error, recovered from serde_yaml's message
/// (`<problem> at line L column C, <context> at line L column C`).
fn yaml_syntax_error(doc: &str, e: &serde_yaml::Error) -> SyntaxError {
    let text = e.to_string();
    let absolute_line = e.location().map(|l| l.line());
    let wrap = |go: String| SyntaxError { message: format!("error converting YAML to JSON: yaml: {go}"), line: absolute_line };
    // sigs.k8s.io/yaml's own refusals after go-yaml read the document.
    // (serde_yaml puts the value's path in front and its place after.)
    if let Some(at) = text.find("json: unsupported value: ").or_else(|| text.find("unsupported map key of type: ")) {
        let message = text[at..].split(" at line ").next().unwrap_or_default();
        return SyntaxError { message: format!("error converting YAML to JSON: {message}"), line: absolute_line };
    }
    if text.contains(go_yaml::MERGE_WANTS_MAP) {
        return wrap(go_yaml::MERGE_WANTS_MAP.to_string());
    }
    if text.starts_with("repetition limit exceeded") {
        return wrap("document contains excessive aliasing".to_string());
    }
    if text.starts_with("recursion limit exceeded") {
        return wrap("exceeded max depth of 128".to_string());
    }
    if text.starts_with("unknown anchor") {
        let name = e
            .location()
            .and_then(|l| doc.get(offset_of(doc, l.line(), l.column())..))
            .and_then(|r| r.strip_prefix('*'))
            .map(|r| r.chars().take_while(|c| !c.is_whitespace() && !",]}".contains(*c)).collect::<String>())
            .unwrap_or_default();
        return wrap(format!("unknown anchor '{name}' referenced"));
    }
    let (head, context) = match text.split_once(", ") {
        Some((h, c)) if c.starts_with("while ") => (h, Some(c)),
        _ => (text.as_str(), None),
    };
    let (problem, problem_mark) = match head.split_once(" at ") {
        Some((p, m)) => (p, parse_mark(m)),
        None => (head, None),
    };
    if !PARSER_PROBLEMS.contains(&problem) && !is_scanner_problem(problem) {
        // Not a libyaml syntax error (a tag serde cannot represent, …).
        return wrap(problem.to_string());
    }
    let scanner = !PARSER_PROBLEMS.contains(&problem) || (problem == "found unexpected end of stream" && context.is_some_and(|c| c.starts_with("while scanning")));
    let problem_mark = problem_mark.unwrap_or((0, 0));
    let context_mark = match context.and_then(|c| c.split_once(" at ")) {
        Some((_, m)) => parse_mark(m).unwrap_or((0, 0)),
        // serde_yaml leaves out a context mark equal to the problem's or at the very start.
        None if context.is_some() && scanner => problem_mark,
        None if context.is_some() => (0, 0),
        None if scanner => problem_mark,
        None => (0, 0),
    };
    let bump = usize::from(scanner);
    let line = if context_mark.0 != 0 {
        context_mark.0 + bump
    } else if problem_mark.0 != 0 {
        problem_mark.0 + bump
    } else {
        0
    };
    let go = if line != 0 { format!("line {line}: {problem}") } else { problem.to_string() };
    wrap(go)
}

fn is_scanner_problem(problem: &str) -> bool {
    problem.starts_with("found ")
        || problem.starts_with("did not find ")
        || problem.starts_with("mapping values are not allowed")
        || problem.starts_with("block sequence entries are not allowed")
        || problem.starts_with("could not find expected")
        || problem.starts_with("invalid ")
        || problem.starts_with("control characters are not allowed")
}

/// kubectl's client-side check of `apiVersion` and `kind`: the errors it
/// lists, empty when both are strings.
pub fn check_type_meta(value: &Value) -> Vec<String> {
    let Some(fields) = value.as_object() else {
        return vec!["invalid object to validate".to_string()];
    };
    let mut errors = Vec::new();
    match fields.get("apiVersion") {
        None | Some(Value::Null) => errors.push("apiVersion not set".to_string()),
        Some(Value::String(v)) => {
            if v.matches('/').count() > 1 {
                errors.push(format!("unexpected GroupVersion string: {v}"));
            }
        }
        Some(_) => errors.push("apiVersion isn't string type".to_string()),
    }
    match fields.get("kind") {
        None | Some(Value::Null) => errors.push("kind not set".to_string()),
        Some(Value::String(_)) => {}
        Some(_) => errors.push("kind isn't string type".to_string()),
    }
    errors
}

/// `error validating data: [apiVersion not set, kind not set]; if you choose …`
pub fn validation_message(errors: &[String]) -> String {
    let joined = if errors.len() == 1 { errors[0].clone() } else { format!("[{}]", errors.join(", ")) };
    format!("error validating data: {joined}; if you choose to ignore these errors, turn validation off with --validate=false")
}

fn string_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut v = value;
    for p in path {
        match v.get(p) {
            Some(next) => v = next,
            None => return "",
        }
    }
    v.as_str().unwrap_or("")
}

/// The name, namespace, apiVersion and kind a document declares.
pub fn document_identity(value: &Value) -> (String, String, String, String) {
    (
        string_at(value, &["metadata", "name"]).to_string(),
        string_at(value, &["metadata", "namespace"]).to_string(),
        string_at(value, &["apiVersion"]).to_string(),
        string_at(value, &["kind"]).to_string(),
    )
}

/// kubectl's builder decodes each document's `metadata` as an
/// `ObjectMeta` before it maps or sends it (cli-runtime's
/// `metadataValidatingDecoder`, with encoding/json), so a value of the
/// wrong type there is refused by kubectl itself, with or without a
/// server dry run. The error is without the `unable to decode` kubectl
/// puts in front.
pub fn check_metadata(value: &Value) -> Result<(), String> {
    let Some(meta) = value.get("metadata").filter(|m| !m.is_null()) else { return Ok(()) };
    match crate::engine::api::from_value::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(meta) {
        Ok(_) => Ok(()),
        Err(e) => {
            let fields: Vec<&str> = std::iter::once("metadata").chain(e.fields()).collect();
            Err(decode_error_text("metadataOnlyObject", &fields, &e.message))
        }
    }
}

/// A typed decode's error as Go gives it: a type's own `UnmarshalJSON`
/// error (a quantity's, a time's) as it is, else encoding/json's type
/// error naming the struct and field.
fn decode_error_text(kind: &str, fields: &[&str], message: &str) -> String {
    if value::is_passed_on_unwrapped(message) {
        message.to_string()
    } else {
        go_type_error(kind, fields, message)
    }
}

/// The served resource for a document, or kubectl's mapping error (without
/// the `error: ` kubectl adds in front).
pub fn resolve_kind(value: &Value, source: &str) -> Result<ResourceId, String> {
    let (name, namespace, api_version, kind) = document_identity(value);
    // autoscaling/v1 is served beside the stored v2, and converted on decoding.
    if autoscaling_v1::is_v1_document(value) {
        return Ok(crate::engine::api::ids::horizontal_pod_autoscalers());
    }
    resource_for_kind(&api_version, &kind).ok_or_else(|| {
        format!(
            "resource mapping not found for name: {name:?} namespace: {namespace:?} from {source:?}: no matches for kind {kind:?} in version {api_version:?}\nensure CRDs are installed first"
        )
    })
}

/// An autoscaling/v1 HorizontalPodAutoscaler of `rid`'s resource, decoded
/// as v1 and converted to the stored autoscaling/v2 form, with the fields
/// the v1 decoding dropped; `None` for any other document.
fn converted_v1_autoscaler(rid: ResourceId, value: &Value) -> Result<Option<(Value, Vec<String>)>, ApiError> {
    if rid != crate::engine::api::ids::horizontal_pod_autoscalers() || !autoscaling_v1::is_v1_document(value) {
        return Ok(None);
    }
    let kind = "HorizontalPodAutoscaler";
    let cannot_handle = |detail: String| ApiError::bad_request(format!("{kind} in version \"v1\" cannot be handled as a {kind}: {detail}"));
    let hpa: k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler =
        crate::engine::api::from_value::from_value(value).map_err(|e| cannot_handle(decode_error_text(kind, &e.fields(), &e.message)))?;
    let mut unknown = Vec::new();
    unknown_fields(value, &serde_json::to_value(&hpa).unwrap_or(Value::Null), "", &mut unknown);
    let converted = autoscaling_v1::to_v2(hpa).map_err(cannot_handle)?;
    Ok(Some((serde_json::to_value(&converted).unwrap_or(Value::Null), unknown)))
}

/// A document in the form its resource is stored in: an autoscaling/v1
/// HorizontalPodAutoscaler converted to autoscaling/v2, so kubectl apply's
/// three-way merge compares like with like; any other document, or one
/// that does not decode, as it is.
pub fn stored_form(rid: ResourceId, value: &Value) -> Value {
    match converted_v1_autoscaler(rid, value) {
        Ok(Some((converted, _))) => converted,
        _ => value.clone(),
    }
}

/// The API server's decoding of a write: the body limit, an autoscaling/v1
/// HorizontalPodAutoscaler converted to the stored v2, Go's typed decoding;
/// with the version the document was decoded as and the unknown fields it
/// had (`unknown field "spec.x"`), which the field validation asked for
/// refuses or warns of.
fn decode_for_write(rid: ResourceId, value: &Value) -> Result<(Object, &'static str, Vec<String>), ApiError> {
    let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_REQUEST_BYTES {
        return Err(ApiError::new(Reason::RequestEntityTooLarge, format!("Request entity too large: limit is {MAX_REQUEST_BYTES}")));
    }
    let rt = resource(rid);
    let cannot_handle = |detail: String| ApiError::bad_request(format!("{} in version {:?} cannot be handled as a {}: {detail}", rt.kind, rt.version, rt.kind));
    let (obj, version, unknown) = match converted_v1_autoscaler(rid, value)? {
        Some((v2, unknown)) => (Object::from_value(rid, &v2).map_err(|e| cannot_handle(e.message))?, "v1", unknown),
        None => {
            let mut obj = Object::from_value(rid, value).map_err(|e| cannot_handle(decode_error_text(rt.kind, &e.fields(), &e.message)))?;
            let mut unknown = Vec::new();
            // A custom object's unknown fields are those its schema prunes
            // (its metadata's those the typed decoding dropped).
            if let Object::Custom(custom) = &mut obj {
                if let Some(meta) = value.get("metadata") {
                    unknown_fields(meta, &serde_json::to_value(&custom.metadata).unwrap_or(Value::Null), "metadata", &mut unknown);
                }
                unknown.extend(super::custom::prune_and_default(custom));
            } else {
                unknown_fields(value, &obj.to_json(), "", &mut unknown);
            }
            (obj, rt.version, unknown)
        }
    };
    Ok((obj, version, unknown.iter().map(|f| format!("unknown field {f:?}")).collect()))
}

/// Decodes a document as the API server does for a write with strict field
/// validation, as kubectl's create, apply and replace ask: an unknown field
/// is refused.
pub fn decode_object(rid: ResourceId, value: &Value) -> Result<Object, ApiError> {
    let (obj, version, unknown) = decode_for_write(rid, value)?;
    if !unknown.is_empty() {
        let kind = resource(rid).kind;
        return Err(ApiError::bad_request(format!("{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}", unknown.join(", "))));
    }
    Ok(obj)
}

/// Decodes a document as the API server does for a write that asked for no
/// field validation, as `kubectl patch` asks none: the server's default,
/// `Warn`, drops unknown fields and names each (`unknown field "spec.x"`)
/// for a warning.
pub fn decode_object_warning_unknown(rid: ResourceId, value: &Value) -> Result<(Object, Vec<String>), ApiError> {
    decode_for_write(rid, value).map(|(obj, _, unknown)| (obj, unknown))
}

/// Decodes a document as kubectl's builder does with `--local`: Go's typed
/// decoding, without the server's body limit or strict field check; the
/// error is encoding/json's.
pub fn decode_typed(rid: ResourceId, value: &Value) -> Result<Object, String> {
    if let Some((v2, _)) = converted_v1_autoscaler(rid, value).map_err(|e| e.message)? {
        return Object::from_value(rid, &v2).map_err(|e| e.message);
    }
    Object::from_value(rid, value).map_err(|e| decode_error_text(resource(rid).kind, &e.fields(), &e.message))
}

/// Fields of `input` that the typed round trip dropped, as the API server
/// names them (`spec.template.spec.containers[0].imagePullPolicyy`).
fn unknown_fields(input: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (input, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, v) in a {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match b.get(key) {
                    Some(t) => unknown_fields(v, t, &child, out),
                    None if v.is_null() => {}
                    None => out.push(child),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, t)) in a.iter().zip(b.iter()).enumerate() {
                unknown_fields(v, t, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Go's `encoding/json` type error (`json: cannot unmarshal string into Go
/// struct field DeploymentSpec.spec.replicas of type int32`) from serde's
/// message and path.
fn go_type_error(kind: &str, path: &[&str], message: &str) -> String {
    let fields: Vec<String> = path.iter().map(|f| f.to_string()).collect();
    let message = message.split(" at line ").next().unwrap_or(message);
    let Some(rest) = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) else {
        return format!("json: {message}");
    };
    let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
    let expected_go = go_type_name(expected, fields.last().map(String::as_str), kind, &fields);
    let found_go = if found.starts_with("string") {
        "string".to_string()
    } else if found.starts_with("integer") || found.starts_with("floating point") {
        let number = found.split('`').nth(1).unwrap_or("");
        if expected_go.starts_with("int") || expected_go.starts_with("uint") {
            format!("number {number}")
        } else {
            "number".to_string()
        }
    } else if found.starts_with("boolean") {
        "bool".to_string()
    } else if found.starts_with("sequence") {
        "array".to_string()
    } else if found.starts_with("map") {
        "object".to_string()
    } else {
        found.to_string()
    };
    if fields.is_empty() {
        return format!("json: cannot unmarshal {found_go} into Go value of type {expected_go}");
    }
    let parents: Vec<&str> = fields[..fields.len() - 1].iter().map(String::as_str).collect();
    format!(
        "json: cannot unmarshal {found_go} into Go struct field {}.{} of type {expected_go}",
        go_struct_name(kind, &parents),
        fields.join(".")
    )
}

fn go_type_name(expected: &str, field: Option<&str>, kind: &str, fields: &[String]) -> String {
    match expected {
        "i32" => "int32".into(),
        "i64" => "int64".into(),
        "u32" => "uint32".into(),
        "f64" => "float64".into(),
        "a string" | "a borrowed string" => "string".into(),
        "a boolean" => "bool".into(),
        "a map" => "map[string]string".into(),
        "a 32-bit integer" | "IntOrString" => "intstr.IntOrString".into(),
        "a sequence" => {
            let element = match field.unwrap_or("") {
                "ports" if kind == "Service" && fields.len() == 2 => "v1.ServicePort".to_string(),
                "args" | "command" | "finalizers" | "accessModes" | "values" | "apiGroups" | "resources" | "verbs"
                | "resourceNames" | "nonResourceURLs" | "externalIPs" | "clusterIPs" | "hosts" | "names" | "add" | "drop" => {
                    "string".into()
                }
                other => format!("v1.{}", singular_struct(other)),
            };
            format!("[]{element}")
        }
        "Quantity" => "resource.Quantity".into(),
        "Time" | "MicroTime" => "v1.Time".into(),
        other if other.chars().next().is_some_and(char::is_uppercase) => format!("v1.{other}"),
        other => other.to_string(),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The Go struct a list's items decode into, from the list's field name.
fn singular_struct(field: &str) -> String {
    match field {
        "containers" | "initContainers" => "Container".into(),
        "ephemeralContainers" => "EphemeralContainer".into(),
        "ports" => "ContainerPort".into(),
        "env" => "EnvVar".into(),
        "envFrom" => "EnvFromSource".into(),
        "volumeMounts" => "VolumeMount".into(),
        "volumes" => "Volume".into(),
        "tolerations" => "Toleration".into(),
        "imagePullSecrets" => "LocalObjectReference".into(),
        "items" => "KeyToPath".into(),
        "matchExpressions" => "LabelSelectorRequirement".into(),
        "ownerReferences" => "OwnerReference".into(),
        "managedFields" => "ManagedFieldsEntry".into(),
        "rules" => "PolicyRule".into(),
        "subjects" => "Subject".into(),
        "conditions" => "Condition".into(),
        "hostAliases" => "HostAlias".into(),
        other => upper_first(other.strip_suffix('s').unwrap_or(other)),
    }
}

/// The Go struct holding the field at `parents` (JSON field names, no indices).
fn go_struct_name(kind: &str, parents: &[&str]) -> String {
    let Some(&last) = parents.last() else { return kind.to_string() };
    let before = parents.len().checked_sub(2).and_then(|i| parents.get(i)).copied().unwrap_or("");
    match last {
        "metadata" => "ObjectMeta".into(),
        "spec" if parents.len() == 1 => format!("{kind}Spec"),
        "status" if parents.len() == 1 => format!("{kind}Status"),
        "spec" if before == "template" => "PodSpec".into(),
        "spec" if before == "jobTemplate" => "JobSpec".into(),
        "template" if kind == "CronJob" && before == "spec" && parents.len() == 2 => "JobTemplateSpec".into(),
        "template" => "PodTemplateSpec".into(),
        "jobTemplate" => "JobTemplateSpec".into(),
        "ports" if before == "containers" || before == "initContainers" => "ContainerPort".into(),
        "ports" if kind == "Service" => "ServicePort".into(),
        "valueFrom" => "EnvVarSource".into(),
        "resources" if before == "containers" || before == "initContainers" => "ResourceRequirements".into(),
        "selector" => "LabelSelector".into(),
        "strategy" => "DeploymentStrategy".into(),
        "updateStrategy" if kind == "DaemonSet" => "DaemonSetUpdateStrategy".into(),
        "updateStrategy" => "StatefulSetUpdateStrategy".into(),
        "rollingUpdate" if kind == "Deployment" => "RollingUpdateDeployment".into(),
        "livenessProbe" | "readinessProbe" | "startupProbe" => "Probe".into(),
        "httpGet" => "HTTPGetAction".into(),
        "tcpSocket" => "TCPSocketAction".into(),
        "exec" => "ExecAction".into(),
        "securityContext" if before == "containers" || before == "initContainers" => "SecurityContext".into(),
        "securityContext" => "PodSecurityContext".into(),
        "configMap" => "ConfigMapVolumeSource".into(),
        "secret" => "SecretVolumeSource".into(),
        "emptyDir" => "EmptyDirVolumeSource".into(),
        "hostPath" => "HostPathVolumeSource".into(),
        "persistentVolumeClaim" => "PersistentVolumeClaimVolumeSource".into(),
        "roleRef" => "RoleRef".into(),
        other => singular_struct(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use crate::engine::api::ids;

    fn first_error(text: &str) -> String {
        parse_manifests(text).error.map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn splits_documents_with_their_lines() {
        let text = "# leading comment\napiVersion: v1\nkind: ConfigMap\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\n";
        let parsed = parse_manifests(text);
        assert_eq!(parsed.error, None);
        let lines: Vec<usize> = parsed.documents.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![1, 8]);
        assert_eq!(parsed.documents[1].value["kind"], "Secret");
    }

    #[test]
    fn reads_json_streams_and_falls_back_to_yaml() {
        let parsed = parse_manifests("{\"kind\": \"A\"}\n{\"kind\": \"B\"}\n");
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.documents[1].line, 2);
        // Flow-style YAML that is not JSON still reads.
        let parsed = parse_manifests("{kind: A, apiVersion: v1}\n");
        assert_eq!(parsed.documents[0].value["kind"], "A");
        assert_eq!(first_error("{\"a\": 1 \"b\": 2}"), "json: offset 9: invalid character '\"' after object key:value pair");
    }

    #[test]
    fn reports_yaml_errors_as_go_yaml_does() {
        let cases = [
            ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: a\n", "yaml: line 5: mapping values are not allowed in this context"),
            ("a: b: c\n", "yaml: mapping values are not allowed in this context"),
            // A parser error names the 0-based line, go-yaml's long-standing quirk.
            ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n labels: a\n", "yaml: line 4: did not find expected key"),
            ("a: \"unterminated\n", "yaml: line 2: found unexpected end of stream"),
            ("a:\n\t- b\n", "yaml: line 2: found character that cannot start any token"),
            ("a: &x [1]\nb: *y\n", "yaml: unknown anchor 'y' referenced"),
        ];
        for (text, want) in cases {
            assert_eq!(first_error(text), format!("error converting YAML to JSON: {want}"), "{text:?}");
        }
        assert_eq!(first_error("a: 1\n---foo\nb: 2\n"), "invalid Yaml document separator: foo");
    }

    #[test]
    fn keeps_documents_before_an_error_and_gives_absolute_lines() {
        let parsed = parse_manifests("apiVersion: v1\nkind: A\n---\nx: y: z\n");
        assert_eq!(parsed.documents.len(), 1);
        assert_eq!(parsed.error.unwrap().line, Some(4));
    }

    #[test]
    fn refuses_bombs_quickly() {
        let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for i in 0..9u8 {
            let (p, n) = ((b'a' + i) as char, (b'a' + i + 1) as char);
            bomb.push_str(&format!("{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"));
        }
        assert_eq!(first_error(&bomb), "error converting YAML to JSON: yaml: document contains excessive aliasing");
        assert!(first_error(&"[".repeat(100_000)).contains("exceeded max depth"));
        let nested: String = (0..300).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
        assert!(first_error(&nested).contains("exceeded max depth"));
        assert!(first_error(&"{".repeat(100_000)).contains("json: offset"));
        let many = "a: 1\n---\n".repeat(MAX_DOCUMENTS + 5);
        assert!(first_error(&many).contains("documents"));
    }

    #[test]
    fn checks_type_meta_and_kinds_as_kubectl_does() {
        let v = serde_json::json!({"metadata": {"name": "x"}});
        assert_eq!(
            validation_message(&check_type_meta(&v)),
            "error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false"
        );
        let v = serde_json::json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "kubia"}});
        assert_eq!(
            resolve_kind(&v, "kubia.yaml").unwrap_err(),
            "resource mapping not found for name: \"kubia\" namespace: \"\" from \"kubia.yaml\": no matches for kind \"Deployment\" in version \"extensions/v1beta1\"\nensure CRDs are installed first"
        );
    }

    fn deployment(spec_extra: Value) -> Value {
        let mut v = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": null},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        });
        if let (Some(spec), Value::Object(extra)) = (v["spec"].as_object_mut(), spec_extra) {
            spec.extend(extra);
        }
        v
    }

    #[test]
    fn decodes_typed_objects_strictly() {
        let obj = decode_object(ids::deployments(), &deployment(serde_json::json!({}))).unwrap();
        assert_eq!(obj.meta().name.as_deref(), Some("web"));

        let err = decode_object(ids::deployments(), &deployment(serde_json::json!({"replicas": "3"}))).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest);
        assert_eq!(
            err.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );

        let mut v = deployment(serde_json::json!({"bogus": 1}));
        v["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always".into();
        let err = decode_object(ids::deployments(), &v).unwrap_err();
        assert_eq!(
            err.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""
        );

        let mut v = deployment(serde_json::json!({}));
        v["spec"]["template"]["spec"]["containers"][0]["image"] = 5.into();
        let err = decode_object(ids::deployments(), &v).unwrap_err();
        assert!(err.message.ends_with("json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string"), "{}", err.message);
    }

    #[test]
    fn a_maps_wrong_value_is_named_by_the_map_and_a_null_text_is_empty() {
        // encoding/json stacks struct fields only: a map's key is not part
        // of the field, and the struct is the one holding the map.
        let mut v = deployment(serde_json::json!({}));
        v["spec"]["template"]["metadata"]["labels"]["tier"] = 1.into();
        let err = decode_object(ids::deployments(), &v).unwrap_err();
        assert!(err.message.ends_with("json: cannot unmarshal number into Go struct field ObjectMeta.spec.template.metadata.labels of type string"), "{}", err.message);
        v["spec"]["template"]["metadata"]["labels"]["tier"] = Value::Null;
        v["spec"]["template"]["spec"]["containers"][0]["name"] = Value::Null;
        let Object::Deployment(d) = decode_object(ids::deployments(), &v).unwrap() else { panic!("a deployment") };
        let template = &d.spec.as_ref().unwrap().template;
        assert_eq!(template.metadata.as_ref().and_then(|m| m.labels.as_ref()).and_then(|l| l.get("tier")).map(String::as_str), Some(""));
        assert_eq!(template.spec.as_ref().unwrap().containers[0].name, "");
    }

    #[test]
    fn kubectl_reads_a_documents_metadata_with_encoding_json() {
        let doc = |meta: Value| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta});
        let cases = [
            (serde_json::json!({"name": "c", "annotations": {"a": 1}}), "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string"),
            (serde_json::json!(5), "json: cannot unmarshal number into Go struct field metadataOnlyObject.metadata of type v1.ObjectMeta"),
            (serde_json::json!({"generation": "2"}), "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of type int64"),
            (serde_json::json!({"ownerReferences": [{"name": 1}]}), "json: cannot unmarshal number into Go struct field OwnerReference.metadata.ownerReferences.name of type string"),
            (serde_json::json!({"managedFields": [{"time": 5}]}), "json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.time of type string"),
            (serde_json::json!({"creationTimestamp": "bogus"}), "parsing time \"bogus\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bogus\" as \"2006\""),
        ];
        for (meta, expected) in cases {
            assert_eq!(check_metadata(&doc(meta.clone())), Err(expected.to_string()), "{meta}");
        }
        assert_eq!(check_metadata(&doc(serde_json::json!({"name": "c", "labels": {"x": null}, "bogus": 1}))), Ok(()));
        assert_eq!(check_metadata(&serde_json::json!({"kind": "ConfigMap"})), Ok(()));
    }

    #[test]
    fn yaml_numbers_and_modes_decode_as_go_reads_them() {
        let parsed = parse_manifests("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: b, resources: {limits: {cpu: 1}}}]\n  volumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]\n  terminationGracePeriodSeconds: 3.0\n");
        let obj = decode_object(ids::pods(), &parsed.documents[0].value).unwrap();
        let Object::Pod(pod) = obj else { panic!("a pod") };
        let spec = Rc::unwrap_or_clone(pod.spec.unwrap());
        assert_eq!(spec.termination_grace_period_seconds, Some(3));
        assert_eq!(spec.volumes.unwrap()[0].config_map.as_ref().unwrap().default_mode, Some(0o644));
    }

    #[test]
    fn quantities_are_checked_and_stored_canonically_wherever_they_are() {
        let pod = |resources: &str| parse_manifests(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: a, image: b, resources: {resources}}}]\n  volumes: [{{name: s, emptyDir: {{sizeLimit: 1.5Gi}}}}]\n")).documents[0].value.clone();
        let err = decode_object(ids::pods(), &pod("{requests: {memory: 12 gigs}}")).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest);
        assert_eq!(
            err.message,
            "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        let err = decode_object(ids::pods(), &pod("{limits: {cpu: 1GG}}")).unwrap_err();
        assert!(err.message.ends_with(": unable to parse quantity's suffix"), "{}", err.message);
        let err = decode_object(ids::pods(), &pod("{limits: {cpu: [1]}}")).unwrap_err();
        assert!(err.message.contains("of type resource.Quantity"), "{}", err.message);
        let Object::Pod(p) = decode_object(ids::pods(), &pod("{requests: {cpu: 0.5, memory: 1024Mi}, limits: {cpu: 1}}")).unwrap() else { panic!("a pod") };
        let spec = Rc::unwrap_or_clone(p.spec.unwrap());
        let r = spec.containers[0].resources.clone().unwrap();
        assert_eq!(r.requests.unwrap().values().map(|q| q.0.as_str()).collect::<Vec<_>>(), ["500m", "1Gi"]);
        assert_eq!(r.limits.unwrap()["cpu"].0, "1");
        assert_eq!(spec.volumes.unwrap()[0].empty_dir.as_ref().unwrap().size_limit.as_ref().unwrap().0, "1536Mi");
        // A claim template inside a StatefulSet is checked too.
        let v = serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"resources": {"requests": {"storage": "1 Gi"}}}}]}});
        assert!(decode_object(ids::stateful_sets(), &v).unwrap_err().message.starts_with("StatefulSet in version \"v1\" cannot be handled as a StatefulSet: quantities must match"));
    }

    #[test]
    fn refuses_bodies_over_the_request_limit() {
        let big = "x".repeat(MAX_REQUEST_BYTES);
        let v = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": big}});
        let err = decode_object(ids::config_maps(), &v).unwrap_err();
        assert_eq!(err.reason, Reason::RequestEntityTooLarge);
        assert_eq!(err.message, "Request entity too large: limit is 3145728");
    }
}
