//! `kubectl apply -f` (client-side apply with the last-applied annotation and
//! a three-way merge) and `kubectl replace -f`.

use std::rc::Rc;

use serde_json::Value;

use crate::engine::api::{resource, Object, Reason};
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
    let mut text = serde_json::to_string(&v).unwrap_or_default();
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

/// The `-o` format a writing verb accepts: nothing, `name`, `yaml`, `json`.
pub fn write_output_format(s: &Session) -> std::result::Result<Option<OutputFormat>, Error> {
    match s.args.value("output") {
        None | Some("") => Ok(None),
        Some(v) => printers::parse_output_format(Some(v)).map(Some).map_err(Error::Message),
    }
}

/// Prints `deployment.apps/x created`, or collects the object for `-o`.
pub fn report(s: &mut Session, format: &Option<OutputFormat>, printed: &mut Vec<Rc<Object>>, obj: Rc<Object>, operation: &str, dry: DryRun) {
    match format {
        None => {
            s.take_warnings();
            s.out.push_str(&format!("{} {operation}{}\n", printers::qualified_name(&obj), dry.suffix()));
        }
        Some(_) => printed.push(obj),
    }
}

/// Prints what `-o` asked for once every object is done.
pub fn print_collected(s: &mut Session, format: &Option<OutputFormat>, printed: &[Rc<Object>]) -> Result {
    match format {
        Some(f) if !printed.is_empty() => printers::print_objects(s, printed, f),
        _ => Ok(()),
    }
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
            Ok((obj, operation)) => report(s, &format, &mut printed, obj, operation, dry),
            Err(f) => failures.push(f),
        }
    }
    print_collected(s, &format, &printed)?;
    manifest::finish(s, failures)
}

fn apply_one(s: &mut Session, info: &Info, dry: DryRun) -> std::result::Result<(Rc<Object>, &'static str), Failure> {
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
            let obj = decode::decode_object(info.rid, &modified).map_err(|e| manifest::with_source("creating", &info.source, e))?;
            if dry == DryRun::Client {
                return Ok((Rc::new(obj), "created"));
            }
            let created = s
                .cluster
                .sim
                .api
                .create_with(obj, dry == DryRun::Server)
                .map_err(|e| manifest::with_source("creating", &info.source, e))?;
            return Ok((created, "created"));
        }
        Err(e) => {
            let verb = format!("retrieving current configuration of:\n{}\nfrom server for:", info.describe());
            return Err(manifest::with_source(&verb, &info.source, e));
        }
    };
    if dry == DryRun::Client {
        return Ok((current, "configured"));
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
        return Ok((current, "unchanged"));
    }
    let updated = s.cluster.sim.api.update_with(obj, false, dry == DryRun::Server).map_err(patch_error)?;
    Ok((updated, "configured"))
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
        let result = decode::decode_object(info.rid, &value).and_then(|mut obj| {
            let current = s.cluster.sim.api.get(info.rid, &info.namespace, &info.name)?;
            if obj.meta().resource_version.as_deref().is_none_or(str::is_empty) {
                obj.meta_mut().resource_version = current.meta().resource_version.clone();
            }
            if dry == DryRun::Client {
                return Ok(Rc::new(obj));
            }
            // `replace` is a PUT, which RBAC's `update` verb covers (not `patch`).
            s.cluster.sim.api.set_client_update("update", "");
            s.cluster.sim.api.update_with(obj, false, dry == DryRun::Server)
        });
        match result {
            Ok(obj) => report(s, &format, &mut printed, obj, "replaced", dry),
            Err(e) => failures.push(manifest::with_source("replacing", &info.source, e)),
        }
    }
    print_collected(s, &format, &printed)?;
    manifest::finish(s, failures)
}
