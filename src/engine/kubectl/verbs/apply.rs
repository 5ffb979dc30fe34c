//! `kubectl apply -f` (client-side apply with the last-applied annotation and
//! a three-way merge) and `kubectl replace -f`.

use std::rc::Rc;

use serde_json::Value;

use crate::engine::api::{resource, Object, Reason, ResourceId};
use crate::engine::apiserver::{decode, patch};
use crate::engine::kubectl::manifest::{self, DryRun, Failure, Info};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::kubectl::printers::{self, OutputFormat};
use crate::engine::kubectl::targets::Target;
use super::delete;
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
/// the table printers): none, `name`, `yaml`, `json`, a jsonpath, a Go
/// template (`--template` alone is one).
pub fn write_output_format(s: &Session) -> std::result::Result<Option<OutputFormat>, Error> {
    let unmatched = |o: &str| {
        Error::Message(format!(
            "error: unable to match a printer suitable for the output format {}, allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml",
            printers::jsonpath::go_quote(o)
        ))
    };
    let template_given = s.args.value("template").is_some_and(|t| !t.is_empty());
    match s.args.value("output") {
        None | Some("") if !template_given => Ok(None),
        // Only get's printers have custom columns (a file named is never read).
        Some(o) if o.starts_with("custom-columns") => Err(unmatched(o)),
        o => match printers::session_output_format(s) {
            Ok(OutputFormat::Table | OutputFormat::Wide | OutputFormat::CustomColumns(_) | OutputFormat::CustomColumnsFile(_)) => Err(unmatched(o.unwrap_or(""))),
            Ok(f) => Ok(Some(f)),
            Err(e) if e.starts_with("error: unable to match") || e.starts_with("error: custom-columns") => Err(unmatched(o.unwrap_or(""))),
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
                s.out.push_str(&printers::json::to_json_in_field_order(&list, true, &printers::json::list_field_rank));
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
        OutputFormat::JsonPath(expr) => printers::render_jsonpath(expr, false, value, printers::allow_missing_template_keys(s)).map_err(Error::Message)?,
        OutputFormat::JsonPathAsJson(expr) => printers::render_jsonpath(expr, true, value, printers::allow_missing_template_keys(s)).map_err(Error::Message)?,
        OutputFormat::GoTemplate(t) => {
            let (text, error) = printers::render_go_template(t, value, printers::allow_missing_template_keys(s), &printers::json::to_json_compact(value));
            s.out.push_str(&text);
            return match error {
                Some(e) => Err(Error::Message(e)),
                None => Ok(()),
            };
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
    manifest::check_sources(s, Some("error: must specify one of -f and -k"))?;
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
    // kubectl merges in the version the file names, with the object read
    // in that version; here the object is read as stored, so a file (and
    // its last-applied copy) of another served version is converted to the
    // stored one first.
    let original = decode::stored_form(info.rid, &original);
    let modified = decode::stored_form(info.rid, &modified);
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
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let propagation = delete::cascade(s)?;
    if !manifest::file_sources_given(s) {
        return Err(Error::Message("error: must specify one of -f and -k".to_string()));
    }
    let force = s.args.flag("force");
    let mut grace = delete::grace_period(s)?;
    let mut wait = s.args.flag("wait");
    // kubectl turns --grace-period=0 into 1 and waits for the deletion, to
    // keep a forced replace from leaving a running pod behind.
    if grace == 0 {
        grace = 1;
        wait = true;
    }
    let timeout = delete::timeout_ms(s, 0)?;
    if grace >= 0 && !force {
        return Err(Error::Message("error: --grace-period must have --force specified".to_string()));
    }
    if timeout != 0 && !force {
        return Err(Error::Message("error: --timeout must have --force specified".to_string()));
    }
    if force && dry != DryRun::None {
        return Err(Error::Message("error: --dry-run can not be used when --force is set".to_string()));
    }
    if force {
        let deletion = DeleteOptions { grace_period_seconds: (grace >= 0).then_some(grace), propagation: Some(propagation), ..Default::default() };
        return force_replace(s, &format, &deletion, wait, timeout);
    }
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

/// How long `replace --force` waits for each object to be gone when no
/// `--timeout` is given, as kubectl's forceReplace does.
const FORCE_REPLACE_WAIT_MS: u64 = 5 * 60 * 1000;

/// `replace --force`: kubectl's forceReplace deletes every object of the
/// files (one that is not there is no error), polls each second until each
/// is gone by its name, then creates them anew: new uids and creation
/// times, and a pod's fields an update may not change can change.
fn force_replace(s: &mut Session, format: &Option<OutputFormat>, deletion: &DeleteOptions, wait: bool, timeout: u64) -> Result {
    let mut failures = Vec::new();
    let infos: Vec<Info> = manifest::load(s).into_iter().filter_map(|item| manifest::kept(item, &mut failures)).collect();
    let mut deleted = Vec::new();
    for info in &infos {
        let target = Target { rid: info.rid, namespace: info.namespace.clone(), name: info.name.clone(), source: info.source.clone() };
        match s.cluster.sim.api.delete(info.rid, &info.namespace, &info.name, deletion) {
            Ok(gone) => {
                let rt = resource(info.rid);
                let kind = if rt.group.is_empty() { rt.kind.to_ascii_lowercase() } else { format!("{}.{}", rt.kind.to_ascii_lowercase(), rt.group) };
                // The delete half prints as `delete` does: its own line, or
                // `kind/name` alone for `-o name`.
                if matches!(format, Some(OutputFormat::Name)) {
                    s.out.push_str(&format!("{kind}/{}\n", info.name));
                } else {
                    s.out.push_str(&format!("{kind} \"{}\" deleted\n", info.name));
                }
                deleted.push((target, gone.object().meta().uid.clone()));
            }
            Err(e) if e.reason == Reason::NotFound => {}
            Err(e) => failures.push(manifest::with_source("deleting", &info.source, e)),
        }
    }
    if !failures.is_empty() {
        return manifest::finish(s, failures);
    }
    if infos.is_empty() {
        s.out.push_str("No resources found\n");
    }
    if wait && !deleted.is_empty() {
        let budget = if timeout == 0 { delete::DEFAULT_WAIT_MS } else { timeout };
        if let Some(t) = delete::wait_until_gone(s, &deleted, budget) {
            return Err(Error::Message(format!("error: timed out waiting for the condition on {}", t.plural_name())));
        }
    }
    let budget = if timeout == 0 { FORCE_REPLACE_WAIT_MS } else { timeout };
    for info in &infos {
        wait_until_name_free(s, info, budget)?;
    }
    let mut printed = Vec::new();
    let mut count = 0;
    for info in &infos {
        let mut value = if s.args.flag("save-config") { with_annotation(&info.value, LAST_APPLIED, &last_applied_json(&info.value)) } else { info.value.clone() };
        // kubectl clears the resourceVersion of what it creates.
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
        }
        match decode::decode_object(info.rid, &value).and_then(|obj| s.cluster.sim.api.create_with(obj, false)) {
            Ok(obj) => {
                count += 1;
                report(s, format, &mut printed, Printed::Stored(obj), "replaced", DryRun::None);
            }
            // forceReplace passes a create's error on without the file's name.
            Err(e) => failures.push(Failure::Api(e)),
        }
    }
    print_each(s, format, &printed)?;
    if count == 0 && failures.is_empty() {
        return Err(Error::Message("error: no objects passed to replace".to_string()));
    }
    manifest::finish(s, failures)
}

/// Polls, a second apart as kubectl does, until `info`'s name is free.
fn wait_until_name_free(s: &mut Session, info: &Info, budget_ms: u64) -> Result {
    let start = s.cluster.sim.now();
    let mut waited = 0;
    loop {
        s.cluster.sim.settle();
        match s.cluster.sim.api.get(info.rid, &info.namespace, &info.name) {
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(Error::Api(e)),
            Ok(_) => {}
        }
        waited += 1000;
        if waited >= budget_ms {
            s.cluster.sim.run_until(start.plus_millis(budget_ms));
            return Err(Error::Message("error: context deadline exceeded".to_string()));
        }
        s.cluster.sim.run_until(start.plus_millis(waited));
    }
}
