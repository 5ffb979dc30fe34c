//! `kubectl label` and `kubectl annotate`: `key=value` sets, `key-` removes,
//! `--overwrite` allows changing a value, `--list` shows them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::printers::{json, OutputFormat};
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::verbs::apply::{print_one, write_output_format, Printed};
use crate::engine::kubectl::verbs::set::LOCAL_DRY_RUN_SERVER;
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let annotate = s.args.verb() == "annotate";
    let noun = if annotate { "annotation" } else { "label" };
    let dry = DryRun::from_session(s)?;
    let mut resources = Vec::new();
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut removes: Vec<String> = Vec::new();
    let mut set_words = Vec::new();
    // kubectl's `GetResourcesAndPairs`: `k=v` (not starting with `=`) and
    // `k-` are changes, and every resource comes before the first of them.
    for w in s.args.positionals.clone() {
        let change = (w.contains('=') && !w.starts_with('=')) || (w.ends_with('-') && w != "-");
        if !change {
            if !sets.is_empty() || !removes.is_empty() {
                return Err(Error::Message(format!("error: all resources must be specified before {noun} changes: {w}")));
            }
            resources.push(w);
        } else if let Some((k, v)) = w.split_once('=') {
            sets.push((k.to_string(), v.to_string()));
            set_words.push(w.clone());
        } else if let Some(k) = w.strip_suffix('-') {
            removes.push(k.to_string());
        }
    }
    let list = s.args.flag("list");
    // `label`'s parseLabels checks each `k=v` as the server would check the value.
    if !annotate {
        for w in &set_words {
            let parts: Vec<&str> = w.split('=').collect();
            let [_, value] = parts[..] else {
                return Err(Error::Message(format!("error: invalid label spec: {w}")));
            };
            let problems = crate::engine::apiserver::validation::label_value(value);
            if !problems.is_empty() {
                return Err(Error::Message(format!("error: invalid label value: {w:?}: {}", problems.join(";"))));
            }
        }
    }
    if let Some(k) = sets.iter().map(|(k, _)| k).find(|k| removes.contains(k)) {
        // `label` words it without the key; `annotate` names it.
        let message = if annotate {
            format!("error: can not both modify and remove the following annotation(s) in the same command: {k}")
        } else {
            "error: can not both modify and remove a label in the same command".to_string()
        };
        return Err(Error::Message(message));
    }
    // annotate's own check reads a flag -o does not set, so there --list
    // wins and -o goes unused.
    if !annotate && list && s.args.value("output").is_some_and(|o| !o.is_empty()) {
        return Err(Error::Message("error: --list and --output may not be specified together".to_string()));
    }
    // `Validate`, in kubectl's order; `annotate` names its example files
    // `rsrc`, `label` its `pod`.
    let local = s.args.flag("local");
    let files = manifest::file_sources_given(s);
    let example = if annotate { "rsrc" } else { "pod" };
    if s.args.flag("all") && s.args.value("selector").is_some_and(|v| !v.is_empty()) {
        return Err(Error::Message("error: cannot set --all and --selector at the same time".to_string()));
    }
    if !annotate && s.args.flag("all") && s.args.value("field-selector").is_some_and(|v| !v.is_empty()) {
        return Err(Error::Message("error: cannot set --all and --field-selector at the same time".to_string()));
    }
    if local {
        if dry == DryRun::Server {
            return Err(Error::Message(LOCAL_DRY_RUN_SERVER.to_string()));
        }
        if !resources.is_empty() {
            return Err(Error::Message(format!("error: can only use local files by -f {example}.yaml or --filename={example}.json when --local=true is set")));
        }
        if !files {
            return Err(Error::Message(format!("error: one or more files must be specified as -f {example}.yaml or --filename={example}.json")));
        }
    } else if resources.is_empty() && !files {
        return Err(Error::Message("error: one or more resources must be specified as <resource> <name> or <resource>/<name>".to_string()));
    }
    if sets.is_empty() && removes.is_empty() && !list {
        return Err(Error::Message(format!("error: at least one {noun} update is required")));
    }
    // kubectl makes its printer for each object once it is changed, so a
    // format it has no printer for fails each object, after its change.
    let format = match write_output_format(s) {
        Ok(format) => Ok(format),
        Err(Error::Message(m)) => Err(m.trim_start_matches("error: ").to_string()),
        Err(e) => return Err(e),
    };
    let overwrite = s.args.flag("overwrite");
    let change = Change { annotate, sets, removes, overwrite };
    if local {
        return run_local(s, &change, list, &format);
    }
    let Change { sets, removes, .. } = &change;
    let mut printed = 0;
    let (targets, mut failures) = targets::resolve(s, &resources, true)?;
    // A precondition the server checks: the patch carries this version.
    let resource_version = s.args.value("resource-version").filter(|v| !v.is_empty()).map(str::to_string);
    let one = single_item_implied(s, &resources);
    if resource_version.is_some() && !one {
        return Err(Error::Message("error: --resource-version may only be used with a single resource".to_string()));
    }
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let current: BTreeMap<String, String> =
            if annotate { obj.meta().annotations.clone() } else { obj.meta().labels.clone() }.unwrap_or_default();
        // Sent to the server only: a client dry run and --list change the
        // object kubectl holds without this notice.
        if !annotate && !list && dry != DryRun::Client {
            for k in removes.iter().filter(|k| !current.contains_key(*k)) {
                s.out.push_str(&format!("label {k:?} not found.\n"));
            }
        }
        if !overwrite {
            if let Some(refusal) = overwrite_refusal(annotate, sets, |k| current.get(k).map(String::as_str)) {
                failures.push(Failure::Text(refusal));
                continue;
            }
        }
        let mut next_map = current.clone();
        for (k, v) in sets {
            next_map.insert(k.clone(), v.clone());
        }
        for k in removes {
            next_map.remove(k);
        }
        // --list shows the labels with the command's changes made, and
        // sends nothing; several objects each under a heading.
        if list {
            let indent = if one { "" } else { " " };
            if !one {
                let rt = crate::engine::api::resource(t.rid);
                s.out.push_str(&format!("Listing {noun}s for {}.{}/{}:\n", rt.kind, rt.group, t.name));
            }
            for (k, v) in &next_map {
                s.out.push_str(&format!("{indent}{k}={v}\n"));
            }
            continue;
        }
        let verb = if annotate { "annotated" } else { "labeled" };
        // annotate's printer always says `annotated`; label words the change.
        let message = if annotate {
            verb.to_string()
        } else if next_map == current {
            format!("not {verb}")
        } else if !overwrite && next_map.len() < current.len() {
            format!("un{verb}")
        } else {
            verb.to_string()
        };
        let mut shown = obj.clone();
        if next_map != current || resource_version.is_some() {
            let mut next = (*obj).clone();
            let value = (!next_map.is_empty()).then_some(next_map);
            if annotate {
                next.meta_mut().annotations = value;
            } else {
                next.meta_mut().labels = value;
            }
            if let Some(version) = &resource_version {
                next.meta_mut().resource_version = Some(version.clone());
            }
            if dry == DryRun::Client {
                shown = std::rc::Rc::new(next);
            } else {
                match s.cluster.sim.api.update_with(next, false, dry == DryRun::Server) {
                    Ok(stored) => shown = stored,
                    Err(e) => {
                        failures.push(manifest::with_source(if annotate { "annotating" } else { "labeling" }, &t.source, e));
                        continue;
                    }
                }
            }
        }
        s.take_warnings();
        match &format {
            Ok(None) => s.out.push_str(&format!("{} {message}{}\n", qualified(t), dry.suffix())),
            Ok(Some(format)) => print_changed(s, format, annotate, &mut printed, &Printed::Stored(shown))?,
            Err(unmatched) => failures.push(Failure::Text(unmatched.clone())),
        }
    }
    manifest::finish(s, failures)
}

/// What a `label` or `annotate` command sets and removes.
struct Change {
    annotate: bool,
    sets: Vec<(String, String)>,
    removes: Vec<String>,
    overwrite: bool,
}

/// `--local`: the `-f` files' objects changed and printed as kubectl read
/// them (unstructured, without the namespace it fills in), with nothing
/// asked of the server.
fn run_local(s: &mut Session, change: &Change, list: bool, format: &std::result::Result<Option<OutputFormat>, String>) -> Result {
    let field = if change.annotate { "annotations" } else { "labels" };
    let mut failures = Vec::new();
    let mut printed = 0;
    for item in manifest::load_with(s, false) {
        let Some(info) = manifest::kept(item, &mut failures) else { continue };
        let mut value = info.local_value();
        let before = json::to_json_compact(&value);
        // The builder's decoder made sure the metadata is an object, null
        // or missing; kubectl's accessor can set nothing in a null one.
        let meta = match value.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| Value::Object(Default::default()))) {
            Some(Value::Object(meta)) => Some(meta),
            _ => None,
        };
        let current = meta.as_ref().and_then(|m| m.get(field)).and_then(Value::as_object).cloned().unwrap_or_default();
        if list {
            for (k, v) in &current {
                s.out.push_str(&format!("{k}={}\n", v.as_str().unwrap_or_default()));
            }
            continue;
        }
        if !change.overwrite {
            if let Some(refusal) = overwrite_refusal(change.annotate, &change.sets, |k| current.get(k).and_then(Value::as_str)) {
                failures.push(Failure::Text(refusal));
                continue;
            }
        }
        // kubectl sets the map even when nothing is left in it.
        let mut next = current;
        for (k, v) in &change.sets {
            next.insert(k.clone(), Value::String(v.clone()));
        }
        for k in &change.removes {
            next.remove(k);
        }
        if let Some(meta) = meta {
            meta.insert(field.to_string(), Value::Object(next));
        }
        // kubectl words the outcome by the object's JSON before and after.
        let after = json::to_json_compact(&value);
        let verb = if change.annotate { "annotated" } else { "labeled" };
        let message = match (before == after, !change.overwrite && after.len() < before.len()) {
            _ if change.annotate => verb.to_string(),
            (true, _) => format!("not {verb}"),
            (false, true) => format!("un{verb}"),
            (false, false) => verb.to_string(),
        };
        let item = Printed::Read { rid: info.rid, name: info.name.clone(), value };
        match format {
            Ok(None) => s.out.push_str(&format!("{} {message}\n", item.qualified_name())),
            Ok(Some(format)) => print_changed(s, format, change.annotate, &mut printed, &item)?,
            Err(unmatched) => failures.push(Failure::Text(unmatched.clone())),
        }
    }
    manifest::finish(s, failures)
}

/// Why a change without `--overwrite` is refused: label names the first
/// key that has another value; annotate (`validateNoAnnotationOverwrites`)
/// names every one, the change cause excepted (in key order, where Go
/// ranges over a map).
fn overwrite_refusal<'a>(annotate: bool, sets: &[(String, String)], current: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let mut clashes = sets.iter().filter_map(|(k, v)| current(k).filter(|old| old != v).map(|old| (k, old)));
    if !annotate {
        return clashes.next().map(|(k, old)| format!("'{k}' already has a value ({old}), and --overwrite is false"));
    }
    let mut named: Vec<(&String, &str)> = clashes.filter(|(k, _)| k.as_str() != "kubernetes.io/change-cause").collect();
    named.sort();
    if named.is_empty() {
        return None;
    }
    let list: Vec<String> = named.iter().map(|(k, old)| format!("'{k}' already has a value ({old})")).collect();
    Some(format!("--overwrite is false but found the following declared annotation(s): {}", list.join("; ")))
}

/// Prints a changed object for `-o`: `annotate` puts `---` between YAML
/// documents, `label` (a printer made for each object) does not.
fn print_changed(s: &mut Session, format: &OutputFormat, annotate: bool, printed: &mut usize, item: &Printed) -> Result {
    if annotate && *printed > 0 && matches!(format, OutputFormat::Yaml) {
        s.out.push_str("---\n");
    }
    *printed += 1;
    print_one(s, format, &item.qualified_name(), &item.to_json())
}

/// The resource builder's `IntoSingleItemImplied`: one object named, as
/// `TYPE NAME`, `TYPE/NAME` or one file, with no selector.
fn single_item_implied(s: &Session, resources: &[String]) -> bool {
    let files = s.args.values("filename");
    if !files.is_empty() {
        return files.len() == 1;
    }
    if s.args.value("selector").is_some() || s.args.flag("all") {
        return false;
    }
    match resources {
        [one] => one.contains('/'),
        [kind, name] => !kind.contains(',') && !kind.contains('/') && !name.contains('/'),
        _ => false,
    }
}
