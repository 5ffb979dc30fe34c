//! `kubectl apply -f` (client-side apply with the last-applied annotation and
//! a three-way merge) and `kubectl replace -f`.

use std::rc::Rc;

use serde_json::Value;

use crate::engine::api::{resource, Object, Reason, ResourceId};
use crate::engine::apiserver::{decode, patch};
use crate::engine::kubectl::manifest::{self, DryRun, Failure, Info};
use crate::engine::kubectl::printers::{self, OutputFormat};
use crate::engine::kubectl::{Error, Result, Session};

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The annotation's value: the applied document without the annotation
/// itself, compact JSON with sorted keys and a newline, as kubectl encodes it.
pub fn last_applied_json(value: &Value) -> String {
    // kubectl sets the remaining annotations back, even when none remain,
    // so the annotation always holds `"annotations":{}` at least.
    let mut v = value.clone();
    let others = v
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|a| crate::engine::sort::insert_all(a.iter().filter(|(k, _)| k.as_str() != LAST_APPLIED).map(|(k, v)| (k.clone(), v.clone()))))
        .unwrap_or_default();
    if let Some(meta) = v.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| Value::Object(Default::default()))) {
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("annotations".to_string(), Value::Object(others));
        }
    }
    // encoding/json's Encoder: its escaping of `<`, `>` and `&`, and its numbers.
    let mut text = printers::json::to_json_compact(&v);
    text.push('\n');
    text
}

/// `value` with `metadata.annotations[key] = text`.
pub fn with_annotation(value: &Value, key: &str, text: &str) -> Value {
    let mut v = value.clone();
    if let Some(obj) = v.as_object_mut() {
        let meta = obj.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
        if !meta.is_object() {
            *meta = Value::Object(Default::default());
        }
        if let Some(meta) = meta.as_object_mut() {
            let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
            if !annotations.is_object() {
                *annotations = Value::Object(Default::default());
            }
            if let Some(a) = annotations.as_object_mut() {
                a.insert(key.to_string(), Value::String(text.to_string()));
            }
        }
    }
    v
}

/// The `-o` format a writing verb accepts (kubectl's `PrintFlags` without
/// the table printers): none, `name`, `yaml`, `json`, a jsonpath.
pub fn write_output_format(s: &Session) -> std::result::Result<Option<OutputFormat>, Error> {
    let unmatched = |o: &str| {
        Error::Message(format!(
            "error: unable to match a printer suitable for the output format \"{o}\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml"
        ))
    };
    match s.args.value("output") {
        None | Some("") => Ok(None),
        Some(o) => match printers::parse_output_format(Some(o)) {
            Ok(OutputFormat::Table | OutputFormat::Wide | OutputFormat::CustomColumns(_)) => Err(unmatched(o)),
            Ok(f) => Ok(Some(f)),
            Err(e) if e.starts_with("error: unable to match") || e.starts_with("error: custom-columns") => Err(unmatched(o)),
            Err(e) => Err(Error::Message(e)),
        },
    }
}

/// One object a writing verb prints: what the server returned (for an
/// object that exists and a client dry run, its current version), or, for
/// a new object under `--dry-run=client`, the document as kubectl read it.
/// kubectl prints that one unstructured: the fields, numbers and texts the
/// file has, with none of the server's decoding, defaults or canonical
/// forms, since no server saw it.
pub enum Printed {
    Stored(Rc<Object>),
    Read { rid: ResourceId, name: String, value: Value },
}

impl Printed {
    pub fn qualified_name(&self) -> String {
        match self {
            Printed::Stored(obj) => printers::qualified_name(obj),
            // The name printer's word for an object without a name.
            Printed::Read { rid, name, .. } if name.is_empty() => format!("{}/<unknown>", resource(*rid).qualified_singular()),
            Printed::Read { rid, name, .. } => format!("{}/{name}", resource(*rid).qualified_singular()),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Printed::Stored(obj) => obj.to_json(),
            Printed::Read { value, .. } => value.clone(),
        }
    }
}

/// Prints `deployment.apps/x created` (or its name alone, for `-o name`)
/// as the object is done, or collects the object for the other formats.
pub fn report(s: &mut Session, format: &Option<OutputFormat>, printed: &mut Vec<Printed>, item: Printed, operation: &str, dry: DryRun) {
    match format {
        None => {
            s.take_warnings();
            s.out.push_str(&format!("{} {operation}{}\n", item.qualified_name(), dry.suffix()));
        }
        Some(OutputFormat::Name) => s.out.push_str(&format!("{}\n", item.qualified_name())),
        Some(_) => printed.push(item),
    }
}

/// Prints what `-o` asked for, each object by itself, as `create -f` and
/// `replace -f` print each as they go: YAML documents after `---`, JSON
/// documents one after another.
pub fn print_each(s: &mut Session, format: &Option<OutputFormat>, printed: &[Printed]) -> Result {
    let Some(format) = format else { return Ok(()) };
    for (i, item) in printed.iter().enumerate() {
        if matches!(format, OutputFormat::Yaml) && i > 0 {
            s.out.push_str("---\n");
        }
        print_one(s, format, &item.qualified_name(), &item.to_json())?;
    }
    Ok(())
}

/// Prints what `-o` asked for once every object is done, as `apply`
/// does: one object as itself, several as a `List` (`-o name` printed
/// each as it went, in `report`).
pub fn print_as_list(s: &mut Session, format: &Option<OutputFormat>, printed: &[Printed]) -> Result {
    match (format, printed) {
        (None, _) | (_, []) => Ok(()),
        (Some(format), [item]) => print_one(s, format, &item.qualified_name(), &item.to_json()),
        (Some(format), items) => {
            // A `v1.List` with an empty ListMeta: `metadata: {}`, and its
            // fields in the struct's order where JSON keeps it.
            let list = serde_json::json!({
                "apiVersion": "v1",
                "items": items.iter().map(Printed::to_json).collect::<Vec<_>>(),
                "kind": "List",
                "metadata": {},
            });
            if matches!(format, OutputFormat::Json) {
                let rank = |path: &[&str], key: &str| match (path, key) {
                    ([], "kind") => Some(0),
                    ([], "apiVersion") => Some(1),
                    ([], "metadata") => Some(2),
                    ([], "items") => Some(3),
                    _ => None,
                };
                s.out.push_str(&printers::json::to_json_in_field_order(&list, true, &rank));
                s.out.push('\n');
                return Ok(());
            }
            print_one(s, format, "", &list)
        }
    }
}

/// One object in `format` (`name`, `json`, a jsonpath, else `yaml`).
pub fn print_one(s: &mut Session, format: &OutputFormat, qualified_name: &str, value: &Value) -> Result {
    let text = match format {
        OutputFormat::Name => format!("{qualified_name}\n"),
        OutputFormat::Json => format!("{}\n", printers::json::to_json_indented(value)),
        OutputFormat::JsonPath(expr) => {
            let template = printers::jsonpath::Template::parse(expr).map_err(|e| Error::Message(format!("error: error parsing jsonpath {expr}, {e}")))?;
            template.execute(value)
        }
        _ => printers::to_yaml(value),
    };
    s.out.push_str(&text);
    Ok(())
}

pub fn run(s: &mut Session) -> Result {
    if s.args.command != "apply" {
        return Err(Error::Message(format!("error: \"kubectl {}\" is not available in this simulation", s.args.command)));
    }
    if s.args.values("filename").is_empty() {
        return Err(Error::Message("error: must specify one of -f and -k".to_string()));
    }
    if s.args.flag("server-side") {
        return Err(Error::Message("error: server-side apply is not available in this simulation; use client-side apply".to_string()));
    }
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let mut failures = Vec::new();
    let mut infos = Vec::new();
    for item in manifest::load(s) {
        match item {
            Ok(info) => infos.push(info),
            Err(f) => failures.push(f),
        }
    }
    if infos.is_empty() && failures.is_empty() {
        return Err(Error::Message("error: no objects passed to apply".to_string()));
    }
    let mut printed = Vec::new();
    for info in &infos {
        match apply_one(s, info, dry) {
            Ok((item, operation)) => report(s, &format, &mut printed, item, operation, dry),
            Err(f) => failures.push(f),
        }
    }
    // kubectl prints the objects only when every one was applied.
    if failures.is_empty() {
        print_as_list(s, &format, &printed)?;
    }
    manifest::finish(s, failures)
}

fn apply_one(s: &mut Session, info: &Info, dry: DryRun) -> std::result::Result<(Printed, &'static str), Failure> {
    if info.name.is_empty() {
        let generate = info.value.pointer("/metadata/generateName").and_then(Value::as_str).unwrap_or("");
        if !generate.is_empty() {
            return Err(Failure::Text(format!("from {generate}: cannot use generate name with apply")));
        }
        return Err(Failure::Text(format!(
            "error when retrieving current configuration of:\n{}\nfrom server for: {:?}: resource name may not be empty",
            info.describe(),
            info.source
        )));
    }
    let modified = with_annotation(&info.value, LAST_APPLIED, &last_applied_json(&info.value));
    let current = match s.cluster.sim.api.get(info.rid, &info.namespace, &info.name) {
        Ok(c) => c,
        Err(e) if e.reason == Reason::NotFound => {
            if dry == DryRun::Client {
                // kubectl prints the object it would have sent without its
                // fields set to null (the annotation keeps them), items of a
                // list left as they are.
                let value = without_null_fields(modified);
                return Ok((Printed::Read { rid: info.rid, name: info.name.clone(), value }, "created"));
            }
            let obj = decode::decode_object(info.rid, &modified).map_err(|e| manifest::with_source("creating", &info.source, e))?;
            let created = s
                .cluster
                .sim
                .api
                .create_with(obj, dry == DryRun::Server)
                .map_err(|e| manifest::with_source("creating", &info.source, e))?;
            return Ok((Printed::Stored(created), "created"));
        }
        Err(e) => {
            let verb = format!("retrieving current configuration of:\n{}\nfrom server for:", info.describe());
            return Err(manifest::with_source(&verb, &info.source, e));
        }
    };
    if dry == DryRun::Client {
        return Ok((Printed::Stored(current), "configured"));
    }
    let annotations = current.meta().annotations.as_ref();
    let original = match annotations.and_then(|a| a.get(LAST_APPLIED)) {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => {
            let plural = resource(info.rid).plural;
            s.warn(&format!(
                "Warning: resource {plural}/{} is missing the {LAST_APPLIED} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n",
                info.name
            ));
            Value::Null
        }
    };
    let current_json = current.to_json();
    let merged = patch::three_way_merge(&original, &modified, &current_json);
    let patch_text = serde_json::to_string(&diff_patch(&current_json, &merged)).unwrap_or_default();
    let patch_error = |e| {
        let verb = format!("applying patch:\n{patch_text}\nto:\n{}\nfor:", info.describe());
        manifest::with_source(&verb, &info.source, e)
    };
    let obj = decode::decode_object(info.rid, &merged).map_err(patch_error)?;
    if obj == *current {
        return Ok((Printed::Stored(current), "unchanged"));
    }
    let updated = s.cluster.sim.api.update_with(obj, false, dry == DryRun::Server).map_err(patch_error)?;
    Ok((Printed::Stored(updated), "configured"))
}

/// `value` without the fields whose value is `null`, at any depth.
fn without_null_fields(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_null_fields(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(without_null_fields).collect()),
        other => other,
    }
}

/// A merge patch from `from` to `to`, for messages that show the patch.
fn diff_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = serde_json::Map::new();
            for (k, v) in b {
                match a.get(k) {
                    Some(old) if old == v => {}
                    Some(old) => {
                        out.insert(k.clone(), diff_patch(old, v));
                    }
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => to.clone(),
    }
}

/// `kubectl replace -f`: PUT each object, keeping the stored resourceVersion.
pub fn replace(s: &mut Session) -> Result {
    if s.args.values("filename").is_empty() {
        return Err(Error::Message("error: must specify --filename to replace".to_string()));
    }
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let mut failures = Vec::new();
    let mut printed = Vec::new();
    for item in manifest::load(s) {
        let info = match item {
            Ok(info) => info,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let value = if s.args.flag("save-config") {
            with_annotation(&info.value, LAST_APPLIED, &last_applied_json(&info.value))
        } else {
            info.value.clone()
        };
        // A client dry run prints the document without asking the server
        // for anything, the object's current version included.
        if dry == DryRun::Client {
            report(s, &format, &mut printed, Printed::Read { rid: info.rid, name: info.name.clone(), value }, "replaced", dry);
            continue;
        }
        let result = decode::decode_object(info.rid, &value).and_then(|mut obj| {
            let current = s.cluster.sim.api.get(info.rid, &info.namespace, &info.name)?;
            if obj.meta().resource_version.as_deref().is_none_or(str::is_empty) {
                obj.meta_mut().resource_version = current.meta().resource_version.clone();
            }
            // `replace` is a PUT, which RBAC's `update` verb covers (not `patch`).
            s.cluster.sim.api.set_client_update("update", "");
            s.cluster.sim.api.update_with(obj, false, dry == DryRun::Server)
        });
        match result {
            Ok(obj) => report(s, &format, &mut printed, Printed::Stored(obj), "replaced", dry),
            Err(e) => failures.push(manifest::with_source("replacing", &info.source, e)),
        }
    }
    print_each(s, &format, &printed)?;
    manifest::finish(s, failures)
}
