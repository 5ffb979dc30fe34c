//! Label selectors (equality- and set-based, as `-l` and `spec.selector`
//! use) and the field selectors the components use.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;

use crate::engine::api::Object;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
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
                Op::Equals => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotEquals => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Op::In => value.is_some_and(|v| r.values.contains(v)),
                Op::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
            }
        })
    }

    /// Parses the `-l` syntax: `app=web,tier!=db,env in (a,b),!legacy,track`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(Selector { requirements, selects_nothing: false })
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match r.op {
                Op::Equals => format!("{}={}", r.key, r.values.join(",")),
                Op::NotEquals => format!("{}!={}", r.key, r.values.join(",")),
                Op::In => format!("{} in ({})", r.key, r.values.join(",")),
                Op::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Op::Exists => r.key.clone(),
                Op::DoesNotExist => format!("!{}", r.key),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unable to parse requirement: found ')', expected: ',', '!=', '==', '=', 'in', 'notin' in \"{text}\""));
                }
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unable to parse requirement: found '', expected: ',', ')' or identifier in \"{text}\""));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        validate_key(key)?;
        return Ok(Requirement { key: key.to_string(), op: Op::DoesNotExist, values: vec![] });
    }
    for (token, op) in [("!=", Op::NotEquals), ("==", Op::Equals), ("=", Op::Equals)] {
        if let Some((key, value)) = part.split_once(token) {
            let key = key.trim();
            let value = value.trim();
            validate_key(key)?;
            validate_value(value)?;
            return Ok(Requirement { key: key.to_string(), op, values: vec![value.to_string()] });
        }
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0];
        let rest = words[1].trim();
        let (op, list) = if let Some(list) = rest.strip_prefix("notin") {
            (Op::NotIn, list)
        } else if let Some(list) = rest.strip_prefix("in") {
            (Op::In, list)
        } else {
            return Err(format!("unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt"));
        };
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| format!("unable to parse requirement: found '{list}', expected: '('"))?;
        validate_key(key)?;
        let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        for v in &values {
            validate_value(v)?;
        }
        return Ok(Requirement { key: key.to_string(), op, values });
    }
    validate_key(part)?;
    Ok(Requirement { key: part.to_string(), op: Op::Exists, values: vec![] })
}

fn validate_key(key: &str) -> Result<(), String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.is_empty() || name.len() > 63 || !is_label_chars(name) {
        return Err(format!(
            "unable to parse requirement: <nil>: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        ));
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), String> {
    if !value.is_empty() && (value.len() > 63 || !is_label_chars(value)) {
        return Err(format!(
            "unable to parse requirement: <nil>: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ));
    }
    Ok(())
}

fn is_label_chars(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.last().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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
        self.terms.iter().all(|(field, equals, value)| {
            let actual = field_value(obj, field);
            (actual.as_deref().unwrap_or("") == value) == *equals
        })
    }
}

fn field_value_supported(kind: &str, field: &str) -> bool {
    if field == "metadata.name" || field == "metadata.namespace" {
        return true;
    }
    match kind {
        "Pod" => matches!(
            field,
            "spec.nodeName" | "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "spec.hostNetwork" | "status.phase" | "status.podIP" | "status.nominatedNodeName"
        ),
        "Event" => field.starts_with("involvedObject.") || matches!(field, "reason" | "reportingComponent" | "source" | "type"),
        "Node" => field == "spec.unschedulable",
        "Namespace" => field == "status.phase",
        "Secret" => field == "type",
        "ReplicaSet" | "ReplicationController" => field == "status.replicas",
        "Job" => field == "status.successful",
        _ => false,
    }
}

/// The string value a field selector compares, for the fields 1.33 supports.
pub fn field_value(obj: &Object, field: &str) -> Option<String> {
    let meta = obj.meta();
    match field {
        "metadata.name" => return meta.name.clone(),
        "metadata.namespace" => return meta.namespace.clone(),
        _ => {}
    }
    match obj {
        Object::Pod(pod) => {
            let spec = pod.spec.as_ref();
            let status = pod.status.as_ref();
            match field {
                "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
                "spec.restartPolicy" => spec.and_then(|s| s.restart_policy.clone()),
                "spec.schedulerName" => spec.and_then(|s| s.scheduler_name.clone()),
                "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
                "spec.hostNetwork" => Some(spec.and_then(|s| s.host_network).unwrap_or(false).to_string()),
                "status.phase" => status.and_then(|s| s.phase.clone()),
                "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
                "status.nominatedNodeName" => status.and_then(|s| s.nominated_node_name.clone()),
                _ => None,
            }
        }
        Object::Event(ev) => {
            let io = &ev.involved_object;
            match field {
                "involvedObject.kind" => io.kind.clone(),
                "involvedObject.name" => io.name.clone(),
                "involvedObject.namespace" => io.namespace.clone(),
                "involvedObject.uid" => io.uid.clone(),
                "involvedObject.apiVersion" => io.api_version.clone(),
                "involvedObject.fieldPath" => io.field_path.clone(),
                "involvedObject.resourceVersion" => io.resource_version.clone(),
                "reason" => ev.reason.clone(),
                "type" => ev.type_.clone(),
                "reportingComponent" => ev.reporting_component.clone(),
                "source" => ev.source.as_ref().and_then(|s| s.component.clone()),
                _ => None,
            }
        }
        Object::Node(node) => match field {
            "spec.unschedulable" => Some(node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false).to_string()),
            _ => None,
        },
        Object::Namespace(ns) => match field {
            "status.phase" => ns.status.as_ref().and_then(|s| s.phase.clone()),
            _ => None,
        },
        Object::Secret(s) => match field {
            "type" => s.type_.clone(),
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
}
