//! `kubectl diff -f`: each object as it is and as `kubectl apply` would
//! leave it (the server's dry run of a create, or of the three-way merge
//! patch), written as YAML into `/tmp/LIVE-…` and `/tmp/MERGED-…` and
//! compared with `diff -u -N`, as kubectl 1.33's pkg/cmd/diff/diff.go does.
//! The directories are never written here: their files are texts, and the
//! diff is GNU diff's, byte for byte (`unified_diff`).

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

use crate::engine::api::{resource, Object, Reason};
use crate::engine::apiserver::{decode, patch};
use crate::engine::kubectl::manifest::{self, Failure, Info};
use crate::engine::kubectl::printers;
use crate::engine::kubectl::unified_diff;
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::selector::Selector;
use super::apply::LAST_APPLIED;

/// kubectl diff's exit status for its own errors: diff's are 1 (changes
/// found) and above, so kubectl adds one to its usual 1 (CheckDiffErr).
pub const ERROR_EXIT: i32 = 2;

/// What a flag error says after the error, with diff's own flag error
/// function (a usage error).
pub const USAGE_HINT: &str = "See 'kubectl diff -h' for help and examples";

pub fn run(s: &mut Session) -> Result {
    if let Some(text) = s.args.value("concurrency") {
        if text.parse::<i64>().is_err() {
            return Err(usage(&format!("invalid argument {text:?} for \"--concurrency\" flag: strconv.ParseInt: parsing {text:?}: invalid syntax")));
        }
    }
    if !s.args.positionals.is_empty() {
        return Err(usage(&format!("Unexpected args: [{}]", s.args.positionals.join(" "))));
    }
    if !manifest::file_sources_given(s) {
        return Err(fail("error: must specify one of -f and -k"));
    }
    let server_side = s.args.flag("server-side");
    if s.args.flag("force-conflicts") && !server_side {
        return Err(fail("error: --force-conflicts only works with --server-side"));
    }
    if server_side {
        return Err(fail("error: kubectl diff --server-side is not part of this simulation: server-side apply is not simulated; diff without it to see what kubectl apply would change"));
    }
    let labels = match s.args.value("selector") {
        Some(text) => Selector::parse(text).map_err(|e| fail(&format!("error: {e}")))?,
        None => Selector::everything(),
    };
    // os.MkdirTemp's names, made before any object is read.
    let live_dir = temp_dir(s, "LIVE");
    let merged_dir = temp_dir(s, "MERGED");
    // One file per object, by name: the directories' listing order, and a
    // second document of the same object writes over the first.
    let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
    // The builder has no schema here: no client-side validation.
    for item in manifest::load_with(s, false) {
        let info = item.map_err(failure)?;
        if !labels.matches(labels_of(&info.value).as_ref()) {
            continue;
        }
        let (live, merged) = live_and_merged(s, &info)?;
        let (live_json, merged_json) = shown(live.as_deref(), &merged);
        let live_text = live_json.as_ref().map(printers::to_yaml).unwrap_or_default();
        files.insert(file_name(&info), (live_text, printers::to_yaml(&merged_json)));
        if let Some(live) = live.as_deref() {
            if live.meta().deletion_timestamp.is_some() {
                s.warn(&format!("Warning: Detected changes to resource {} which is currently being deleted.\n", info.name));
            }
        }
    }
    // The files' modification time, in diff's format.
    let written = crate::engine::node::runtime::diff_file_time(s.cluster.sim.now());
    let mut differences = false;
    for (name, (live, merged)) in &files {
        let Some(hunks) = unified_diff::unified_hunks(live, merged) else { continue };
        differences = true;
        let (from, to) = (format!("{live_dir}/{name}"), format!("{merged_dir}/{name}"));
        s.out.push_str(&format!("diff -u -N {from} {to}\n--- {from}\t{written}\n+++ {to}\t{written}\n{hunks}"));
    }
    if differences {
        // diff's exit status 1, passed on with nothing printed.
        return Err(Error::Exit(1, String::new()));
    }
    Ok(())
}

fn usage(text: &str) -> Error {
    Error::Exit(ERROR_EXIT, format!("error: {text}\n{USAGE_HINT}"))
}

fn fail(text: &str) -> Error {
    Error::Exit(ERROR_EXIT, text.to_string())
}

/// A failure as kubectl's checkErr words it; the run's exit status makes it 2.
fn failure(f: Failure) -> Error {
    match f {
        Failure::Api(e) => Error::Api(e),
        Failure::Text(t) if t.starts_with("error: ") => Error::Message(t),
        Failure::Text(t) => Error::Message(format!("error: {t}")),
    }
}

/// `/tmp/LIVE-` and os.MkdirTemp's random part: a uint32 in decimal.
fn temp_dir(s: &mut Session, prefix: &str) -> String {
    let random = s.cluster.sim.rng().u32(..);
    format!("/tmp/{prefix}-{random}")
}

fn labels_of(value: &Value) -> Option<BTreeMap<String, String>> {
    let labels = value.pointer("/metadata/labels")?.as_object()?;
    Some(labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
}

/// InfoObject.Name: `group.version.Kind.namespace.name`, the core group
/// without its part (`v1.Secret.default.x`), a cluster-scoped object with
/// an empty namespace (`v1.Namespace..team`). The version and kind are
/// the document's, as kubectl maps them.
fn file_name(info: &Info) -> String {
    let rt = resource(info.rid);
    let api_version = info.value.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None if !api_version.is_empty() => ("", api_version),
        None => (rt.group, rt.version),
    };
    let kind = info.value.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty()).unwrap_or(rt.kind);
    let group = if group.is_empty() { String::new() } else { format!("{group}.") };
    format!("{group}{version}.{kind}.{}.{}", info.namespace, info.name)
}

/// The object as stored (none if it does not exist) and as the apply
/// would leave it: InfoObject.Live and InfoObject.Merged.
fn live_and_merged(s: &mut Session, info: &Info) -> Result<(Option<Rc<Object>>, Rc<Object>)> {
    if info.name.is_empty() {
        return Err(Error::Message("error: resource name may not be empty".to_string()));
    }
    let live = match s.cluster.sim.api.get(info.rid, &info.namespace, &info.name) {
        Ok(obj) => Some(obj),
        Err(e) if e.reason == Reason::NotFound => None,
        Err(e) => return Err(Error::Api(e)),
    };
    let Some(current) = live else {
        // A dry-run create of the document as read: no last-applied
        // annotation (diff does not add it), and errors as the server
        // gives them, with no file named.
        let obj = decode::decode_object(info.rid, &info.value)?;
        let created = s.cluster.sim.api.create_with(obj, true)?;
        return Ok((None, created));
    };
    // GetModifiedConfiguration(annotate=false): the document without the
    // annotation, merged against the one the last apply left; so the
    // annotation itself stays as it is.
    let original = current
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let modified = without_last_applied(&info.value);
    let original = decode::stored_form(info.rid, &original);
    let modified = decode::stored_form(info.rid, &modified);
    let merged = patch::three_way_merge(&original, &modified, &current.to_json());
    let patching = |e| match manifest::with_source("patching", &info.source, e) {
        Failure::Api(e) => Error::Api(e),
        Failure::Text(t) => Error::Message(t),
    };
    let obj = decode::decode_object(info.rid, &merged).map_err(patching)?;
    // An empty patch is not sent: the merged object is the live one.
    if obj == *current {
        return Ok((Some(current.clone()), current));
    }
    let updated = s.cluster.sim.api.update_with(obj, false, true).map_err(patching)?;
    Ok((Some(current), updated))
}

/// The document as GetModifiedConfiguration leaves it: kubectl sets the
/// annotations back without the last-applied one, even when none remain,
/// so `annotations: {}` is there to match the last apply's.
fn without_last_applied(value: &Value) -> Value {
    // with_annotation makes the annotations an object if they were not.
    let mut v = super::apply::with_annotation(value, LAST_APPLIED, "");
    if let Some(annotations) = v.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        annotations.remove(LAST_APPLIED);
    }
    v
}

/// The two objects as written: a v1 Secret's data masked (Masker), so a
/// value never shows, and a changed one shows as changed.
fn shown(live: Option<&Object>, merged: &Object) -> (Option<Value>, Value) {
    let mut from = live.map(Object::to_json);
    let mut to = merged.to_json();
    let is_secret = to.get("apiVersion").and_then(Value::as_str) == Some("v1") && to.get("kind").and_then(Value::as_str) == Some("Secret");
    if is_secret {
        mask_secret_data(from.as_mut(), &mut to);
    }
    (from, to)
}

const MASK: &str = "***";
const MASK_BEFORE: &str = "*** (before)";
const MASK_AFTER: &str = "*** (after)";

/// Masker.run: a key in both with different values becomes `*** (before)`
/// and `*** (after)`, any other key `***`.
fn mask_secret_data(from: Option<&mut Value>, to: &mut Value) {
    let from_data = from.and_then(|v| v.get_mut("data")).and_then(Value::as_object_mut);
    let to_data = to.get_mut("data").and_then(Value::as_object_mut);
    let from_keys: Vec<String> = from_data.as_ref().map(|d| d.keys().cloned().collect()).unwrap_or_default();
    let mut to_data = to_data;
    let mut from_data = from_data;
    for key in &from_keys {
        let before = from_data.as_ref().and_then(|d| d.get(key)).cloned();
        let mut mask_from = MASK;
        if let Some(to_map) = to_data.as_deref_mut() {
            if let Some(after) = to_map.get_mut(key) {
                if Some(&*after) != before.as_ref() {
                    *after = Value::String(MASK_AFTER.to_string());
                    mask_from = MASK_BEFORE;
                } else {
                    *after = Value::String(MASK.to_string());
                }
            }
        }
        if let Some(slot) = from_data.as_deref_mut().and_then(|d| d.get_mut(key)) {
            *slot = Value::String(mask_from.to_string());
        }
    }
    if let Some(to_map) = to_data {
        for (key, value) in to_map.iter_mut() {
            if !from_keys.contains(key) {
                *value = Value::String(MASK.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_data_as_masker_does() {
        let mut from = json!({"data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
        let mut to = json!({"data": {"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}});
        mask_secret_data(Some(&mut from), &mut to);
        assert_eq!(from, json!({"data": {"same": "***", "changed": "*** (before)", "gone": "***"}}));
        assert_eq!(to, json!({"data": {"same": "***", "changed": "*** (after)", "new": "***"}}));
        let mut to = json!({"data": {"new": "ZQ=="}});
        mask_secret_data(None, &mut to);
        assert_eq!(to, json!({"data": {"new": "***"}}));
    }
}
