//! Label selectors (equality- and set-based, as `-l` and `spec.selector`
//! use) and the field selectors the components use.

use crate::engine::sort::SortStable;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;

use crate::engine::api::Object;
use crate::engine::apiserver::validation;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    /// `==`: matches as `=` does, and prints as it was written.
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

/// A parsed label selector; empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
    /// A `LabelSelector` that can select nothing (an invalid operator).
    pub selects_nothing: bool,
}

impl Selector {
    pub fn everything() -> Self {
        Selector::default()
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.selects_nothing
    }

    pub fn from_map(labels: &BTreeMap<String, String>) -> Self {
        Selector {
            requirements: labels
                .iter()
                .map(|(k, v)| Requirement { key: k.clone(), op: Op::Equals, values: vec![v.clone()] })
                .collect(),
            selects_nothing: false,
        }
    }

    /// A workload's selector when its spec may be missing: a missing one
    /// reads as an empty `LabelSelector`, as the spec's default would.
    pub fn from_optional_api(selector: Option<&ApiLabelSelector>) -> Self {
        match selector {
            Some(selector) => Self::from_api(selector),
            None => Self::from_api(&ApiLabelSelector::default()),
        }
    }

    /// Converts an API `LabelSelector` (`matchLabels` + `matchExpressions`).
    pub fn from_api(selector: &ApiLabelSelector) -> Self {
        let mut out = Selector::default();
        if let Some(labels) = &selector.match_labels {
            out.requirements.extend(Self::from_map(labels).requirements);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let op = match expr.operator.as_str() {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                _ => {
                    out.selects_nothing = true;
                    continue;
                }
            };
            out.requirements.push(Requirement { key: expr.key.clone(), op, values: expr.values.clone().unwrap_or_default() });
        }
        out
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        if self.selects_nothing {
            return false;
        }
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match r.op {
                Op::Equals | Op::DoubleEquals => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::GreaterThan | Op::LessThan => {
                    let (Some(Ok(label)), [bound]) = (value.map(|v| v.parse::<i64>()), r.values.as_slice()) else {
                        return false;
                    };
                    let Ok(bound) = bound.parse::<i64>() else { return false };
                    if r.op == Op::GreaterThan { label > bound } else { label < bound }
                }
                Op::NotEquals => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Op::In => value.is_some_and(|v| r.values.contains(v)),
                Op::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
            }
        })
    }

    /// Parses the `-l` syntax (`app=web,tier!=db,env in (a,b),!legacy,track`)
    /// as apimachinery's `labels.Parse` does: its lexer, its grammar, its
    /// error texts, and requirements sorted by key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = lex(text);
        let mut parser = Parser { tokens: &tokens, position: 0 };
        let mut requirements = parser.parse()?;
        requirements.sort_stable_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector { requirements, selects_nothing: false })
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| {
                let values = r.values.join(",");
                match r.op {
                    Op::Equals => format!("{}={values}", r.key),
                    Op::DoubleEquals => format!("{}=={values}", r.key),
                    Op::NotEquals => format!("{}!={values}", r.key),
                    Op::GreaterThan => format!("{}>{values}", r.key),
                    Op::LessThan => format!("{}<{values}", r.key),
                    Op::In => format!("{} in ({values})", r.key),
                    Op::NotIn => format!("{} notin ({values})", r.key),
                    Op::Exists => r.key.clone(),
                    Op::DoesNotExist => format!("!{}", r.key),
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Where `in` and `notin` are operators (after a key) rather than words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

fn is_special_symbol(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The lexer reads bytes; a NUL ends the text as the end of the string does.
fn lex(text: &str) -> Vec<(Token, String)> {
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && is_blank(bytes[pos]) {
            pos += 1;
        }
        let Some(&first) = bytes.get(pos) else {
            tokens.push((Token::EndOfString, String::new()));
            return tokens;
        };
        if is_special_symbol(first) {
            // The longest operator these symbols spell: `!=` and `==` over `!` and `=`.
            let pair = bytes.get(pos..pos + 2);
            let (token, len) = match (first, pair) {
                (b'!', Some(b"!=")) => (Token::NotEquals, 2),
                (b'=', Some(b"==")) => (Token::DoubleEquals, 2),
                (b'!', _) => (Token::DoesNotExist, 1),
                (b'=', _) => (Token::Equals, 1),
                (b'(', _) => (Token::OpenPar, 1),
                (b')', _) => (Token::ClosedPar, 1),
                (b',', _) => (Token::Comma, 1),
                (b'>', _) => (Token::GreaterThan, 1),
                _ => (Token::LessThan, 1),
            };
            tokens.push((token, String::from_utf8_lossy(&bytes[pos..pos + len]).into_owned()));
            pos += len;
            continue;
        }
        let start = pos;
        while pos < bytes.len() && !is_special_symbol(bytes[pos]) && !is_blank(bytes[pos]) {
            pos += 1;
        }
        let word = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
        let token = match word.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Identifier,
        };
        tokens.push((token, word));
    }
}

struct Parser<'a> {
    tokens: &'a [(Token, String)],
    position: usize,
}

impl Parser<'_> {
    fn token_at(&self, position: usize, context: Context) -> (Token, &str) {
        let (token, literal) = self.tokens.get(position).map(|(t, l)| (*t, l.as_str())).unwrap_or((Token::EndOfString, ""));
        match token {
            Token::In | Token::NotIn if context == Context::Values => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    fn lookahead(&self, context: Context) -> (Token, &str) {
        self.token_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let (token, literal) = self.token_at(self.position, context);
        let literal = literal.to_string();
        self.position = (self.position + 1).min(self.tokens.len());
        (token, literal)
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self.requirement().map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(format!("found '{literal}', expected: identifier after ','"));
                            }
                        }
                        _ => return Err(format!("found '{literal}', expected: ',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => return Err(format!("found '{literal}', expected: !, identifier, or 'end of string'")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (mut token, mut key) = self.consume(Context::Values);
        let negated = token == Token::DoesNotExist;
        if negated {
            (token, key) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{key}', expected: identifier"));
        }
        let errs = validation::qualified_name(&key);
        if !errs.is_empty() {
            return Err(format!("<nil>: Invalid value: {key:?}: {}", errs.join("; ")));
        }
        let (next, _) = self.lookahead(Context::Values);
        if negated || next == Token::EndOfString || next == Token::Comma {
            let op = if negated { Op::DoesNotExist } else { Op::Exists };
            return Ok(Requirement { key, op, values: Vec::new() });
        }
        let (token, literal) = self.consume(Context::KeyAndOperator);
        let op = match token {
            Token::In => Op::In,
            Token::NotIn => Op::NotIn,
            Token::Equals => Op::Equals,
            Token::DoubleEquals => Op::DoubleEquals,
            Token::NotEquals => Op::NotEquals,
            Token::GreaterThan => Op::GreaterThan,
            Token::LessThan => Op::LessThan,
            _ => return Err(format!("found '{literal}', expected: in, notin, =, ==, !=, gt, lt")),
        };
        let values = match op {
            Op::In | Op::NotIn => self.value_set()?,
            _ => vec![self.exact_value()?],
        };
        new_requirement(key, op, values)
    }

    /// `(a,b,,c)`: a set, so sorted and without repeats; empty words count as "".
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{literal}' expected: '('"));
        }
        let mut values = BTreeSet::new();
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::ClosedPar => {
                self.consume(Context::Values);
                values.insert(String::new());
            }
            Token::Identifier | Token::Comma => loop {
                let (token, literal) = self.consume(Context::Values);
                match token {
                    Token::Identifier => {
                        values.insert(literal);
                        let (next, literal) = self.lookahead(Context::Values);
                        match next {
                            Token::Comma => continue,
                            Token::ClosedPar => {
                                self.consume(Context::Values);
                                break;
                            }
                            _ => return Err(format!("found '{literal}', expected: ',' or ')'")),
                        }
                    }
                    Token::Comma => {
                        if values.is_empty() {
                            values.insert(String::new());
                        }
                        match self.lookahead(Context::Values).0 {
                            Token::ClosedPar => {
                                self.consume(Context::Values);
                                values.insert(String::new());
                                break;
                            }
                            Token::Comma => {
                                self.consume(Context::Values);
                                values.insert(String::new());
                            }
                            _ => {}
                        }
                    }
                    _ => return Err(format!("found '{literal}', expected: ',', or identifier")),
                }
            },
            _ => return Err(format!("found '{literal}', expected: ',', ')' or identifier")),
        }
        Ok(values.into_iter().collect())
    }

    fn exact_value(&mut self) -> Result<String, String> {
        let (token, _) = self.lookahead(Context::Values);
        if token == Token::EndOfString || token == Token::Comma {
            return Ok(String::new());
        }
        match self.consume(Context::Values) {
            (Token::Identifier, literal) => Ok(literal),
            (_, literal) => Err(format!("found '{literal}', expected: identifier")),
        }
    }
}

/// `NewRequirement`'s checks of the values, its errors aggregated as
/// apimachinery prints them.
fn new_requirement(key: String, op: Op, values: Vec<String>) -> Result<Requirement, String> {
    let mut errors: Vec<String> = Vec::new();
    if matches!(op, Op::GreaterThan | Op::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                errors.push(format!("values[{i}]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let errs = validation::label_value(v);
        if !errs.is_empty() {
            errors.push(format!("values[{i}][{key}]: Invalid value: {v:?}: {}", errs.join("; ")));
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for e in errors {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => Ok(Requirement { key, op, values }),
        1 => Err(unique.remove(0)),
        _ => Err(format!("[{}]", unique.join(", "))),
    }
}

/// A field selector: `spec.nodeName=worker-1,status.phase!=Running`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub terms: Vec<(String, bool, String)>, // (field, equals, value)
}

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equals, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: '{text}'; can't understand '{part}'"));
            };
            terms.push((field.trim().to_string(), equals, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn node_name(name: &str) -> Self {
        FieldSelector { terms: vec![("spec.nodeName".into(), true, name.into())] }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The `spec.nodeName=X` term, which the API server indexes.
    pub fn node_name_term(&self) -> Option<&str> {
        self.terms.iter().find(|(f, eq, _)| f == "spec.nodeName" && *eq).map(|(_, _, v)| v.as_str())
    }

    /// Checks the fields are ones the resource supports (1.33's message otherwise).
    pub fn check_supported(&self, kind: &str) -> Result<(), String> {
        for (field, _, _) in &self.terms {
            if field_value_supported(kind, field) {
                continue;
            }
            return Err(format!("field label not supported: {field}"));
        }
        Ok(())
    }

    pub fn matches(&self, obj: &Object) -> bool {
        self.matches_with(|field| field_value(obj, field))
    }

    /// Whether the values `field_value` gives for the selected fields match.
    pub fn matches_with<T: AsRef<str>>(&self, field_value: impl Fn(&str) -> Option<T>) -> bool {
        self.terms.iter().all(|(field, equals, value)| {
            let actual = field_value(field);
            (actual.as_ref().map_or("", AsRef::as_ref) == value) == *equals
        })
    }
}

/// The field labels 1.33's conversion functions accept for `kind`
/// (`AddFieldLabelConversionFunc`); a kind without one takes
/// `metadata.name` and `metadata.namespace`. Node and Namespace have their
/// own, without `metadata.namespace`.
fn field_value_supported(kind: &str, field: &str) -> bool {
    if field == "metadata.name" {
        return true;
    }
    match kind {
        "Node" => field == "spec.unschedulable",
        "Namespace" => field == "status.phase",
        _ if field == "metadata.namespace" => true,
        "Pod" => matches!(
            field,
            "spec.nodeName" | "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "spec.hostNetwork" | "status.phase" | "status.podIP" | "status.nominatedNodeName"
        ),
        "Event" => field.starts_with("involvedObject.") || matches!(field, "reason" | "reportingComponent" | "source" | "type"),
        "Secret" => field == "type",
        "Service" => matches!(field, "spec.clusterIP" | "spec.type"),
        "ReplicaSet" | "ReplicationController" => field == "status.replicas",
        "Job" => field == "status.successful",
        _ => false,
    }
}

/// The string value a field selector compares, for the fields 1.33 supports.
pub fn field_value<'a>(obj: &'a Object, field: &str) -> Option<Cow<'a, str>> {
    // Borrowed: every watch event is matched against every field-selected watch.
    fn text(t: &Option<String>) -> Option<Cow<'_, str>> {
        t.as_deref().map(Cow::Borrowed)
    }
    fn go_bool(b: bool) -> &'static str {
        if b { "true" } else { "false" }
    }
    let meta = obj.meta();
    match field {
        "metadata.name" => return text(&meta.name),
        "metadata.namespace" => return text(&meta.namespace),
        _ => {}
    }
    match obj {
        Object::Pod(pod) => {
            let spec = pod.spec.as_ref();
            let status = pod.status.as_ref();
            match field {
                "spec.nodeName" => text(&pod.node_name),
                "spec.restartPolicy" => spec.and_then(|s| text(&s.restart_policy)),
                "spec.schedulerName" => spec.and_then(|s| text(&s.scheduler_name)),
                "spec.serviceAccountName" => spec.and_then(|s| text(&s.service_account_name)),
                "spec.hostNetwork" => Some(Cow::Borrowed(go_bool(spec.and_then(|s| s.host_network).unwrap_or(false)))),
                "status.phase" => status.and_then(|s| text(&s.phase)),
                "status.podIP" => status.and_then(|s| text(&s.pod_ip)),
                "status.nominatedNodeName" => status.and_then(|s| text(&s.nominated_node_name)),
                _ => None,
            }
        }
        Object::Event(ev) => {
            let io = &ev.involved_object;
            match field {
                "involvedObject.kind" => text(&io.kind),
                "involvedObject.name" => text(&io.name),
                "involvedObject.namespace" => text(&io.namespace),
                "involvedObject.uid" => text(&io.uid),
                "involvedObject.apiVersion" => text(&io.api_version),
                "involvedObject.fieldPath" => text(&io.field_path),
                "involvedObject.resourceVersion" => text(&io.resource_version),
                "reason" => text(&ev.reason),
                "type" => text(&ev.type_),
                "reportingComponent" => text(&ev.reporting_component),
                "source" => ev.source.as_ref().and_then(|s| text(&s.component)),
                _ => None,
            }
        }
        Object::Node(node) => match field {
            "spec.unschedulable" => Some(Cow::Borrowed(go_bool(node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)))),
            _ => None,
        },
        Object::Namespace(ns) => match field {
            "status.phase" => ns.status.as_ref().and_then(|s| text(&s.phase)),
            _ => None,
        },
        Object::Secret(s) => match field {
            "type" => text(&s.type_),
            _ => None,
        },
        Object::Service(svc) => match field {
            "spec.clusterIP" => svc.spec.as_ref().and_then(|s| text(&s.cluster_ip)),
            "spec.type" => svc.spec.as_ref().and_then(|s| text(&s.type_)),
            _ => None,
        },
        // The selectable fields are numbers written in decimal
        // (`strconv.Itoa`), 0 when the status has none yet.
        Object::ReplicaSet(rs) => match field {
            "status.replicas" => Some(Cow::Owned(rs.status.as_ref().map_or(0, |s| s.replicas).to_string())),
            _ => None,
        },
        Object::ReplicationController(rc) => match field {
            "status.replicas" => Some(Cow::Owned(rc.status.as_ref().map_or(0, |s| s.replicas).to_string())),
            _ => None,
        },
        Object::Job(job) => match field {
            "status.successful" => Some(Cow::Owned(job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0).to_string())),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_and_matches_label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "frontend")]);
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app=db", false),
            ("app in (web,db)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!legacy", true),
            ("app=web,tier=frontend", true),
            ("app=web,tier in (backend)", false),
            ("", true),
        ];
        for (text, expected) in cases {
            let s = Selector::parse(text).unwrap();
            assert_eq!(s.matches(Some(&l)), expected, "{text}");
        }
    }

    #[test]
    fn rejects_malformed_label_selectors() {
        for bad in ["app in (web", "a b c", "=x", "app=we b", "-x=1"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_selector_errors_are_apimachinerys() {
        let value_rule = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        let cases = [
            // Found by the `selectors` fuzz target: the key ends at the first operator.
            ("a=,a=/za==,,a/z=", format!("unable to parse requirement: values[0][a]: Invalid value: \"/za\": {value_rule}")),
            ("a=,a=za==,,a/z=", "found '==', expected: ',' or 'end of string'".to_string()),
            ("app=web,", "found '', expected: identifier after ','".to_string()),
            ("app=web,,tier=db", "found ',', expected: identifier after ','".to_string()),
            (",app", "found ',', expected: !, identifier, or 'end of string'".to_string()),
            ("=x", "found '=', expected: !, identifier, or 'end of string'".to_string()),
            ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'".to_string()),
            ("app in web", "unable to parse requirement: found 'web' expected: '('".to_string()),
            ("a b c", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt".to_string()),
            ("!a=b", "found '=', expected: ',' or 'end of string'".to_string()),
            ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".to_string()),
            ("app=-web", format!("unable to parse requirement: values[0][app]: Invalid value: \"-web\": {value_rule}")),
            ("/app=web", "unable to parse requirement: <nil>: Invalid value: \"/app\": prefix part must be non-empty".to_string()),
        ];
        for (text, expected) in cases {
            assert_eq!(Selector::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn label_selectors_print_as_apimachinery_does() {
        let cases = [
            ("tier=db,app==web", "app==web,tier=db"),
            ("x in (b,a,a)", "x in (a,b)"),
            ("x notin ()", "x notin ()"),
            ("x in (,a)", "x in (,a)"),
            ("in in (in), !notin", "in in (in),!notin"),
            ("n>3,m<10", "m<10,n>3"),
        ];
        for (text, printed) in cases {
            let selector = Selector::parse(text).unwrap();
            assert_eq!(selector.to_string(), printed, "{text}");
            assert_eq!(Selector::parse(printed).unwrap(), selector, "{printed}");
        }
        let l = labels(&[("n", "5"), ("m", "x")]);
        assert!(Selector::parse("n>3").unwrap().matches(Some(&l)));
        assert!(!Selector::parse("n<3").unwrap().matches(Some(&l)));
        assert!(!Selector::parse("m>3").unwrap().matches(Some(&l)));
        assert!(!Selector::parse("z<3").unwrap().matches(Some(&l)));
    }

    #[test]
    fn field_labels_are_the_conversion_functions() {
        let supported = |kind: &str, text: &str| FieldSelector::parse(text).unwrap().check_supported(kind).is_ok();
        assert!(supported("Service", "spec.type=ClusterIP,spec.clusterIP=None,metadata.namespace=default"));
        assert!(supported("ReplicaSet", "status.replicas=2"));
        assert!(supported("Job", "status.successful=1"));
        assert!(supported("Deployment", "metadata.namespace=default"));
        assert!(!supported("Node", "metadata.namespace=default"));
        assert!(!supported("Namespace", "metadata.namespace=default"));
        assert!(!supported("Deployment", "spec.replicas=2"));
        assert_eq!(FieldSelector::parse("metadata.labels.app=web").unwrap().check_supported("Pod"), Err("field label not supported: metadata.labels.app".to_string()));
    }
}
