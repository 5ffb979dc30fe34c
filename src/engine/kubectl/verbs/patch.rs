//! `kubectl patch -p PATCH [--type=strategic|merge|json]`.

use serde_json::Value;

use crate::engine::api::{ApiError, Cause, Object, Reason};
use crate::engine::apiserver::{decode, has_status_subresource, patch};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::printers::OutputFormat;
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::verbs::apply::{print_one, write_output_format, Printed};
use crate::engine::kubectl::verbs::scale::{replicas_of, scale_of, set_replicas};
use crate::engine::kubectl::verbs::set::LOCAL_DRY_RUN_SERVER;
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let text = match (s.args.value("patch"), s.args.value("patch-file")) {
        (Some(p), _) => p.to_string(),
        (None, Some(file)) => s.files.read(file).map_err(|e| Error::Message(format!("error: {e}")))?,
        (None, None) => return Err(Error::Message("error: must specify --patch or --patch-file containing the contents of the patch".to_string())),
    };
    let kind = s.args.value("type").unwrap_or("strategic").to_string();
    if !matches!(kind.as_str(), "strategic" | "merge" | "json") {
        return Err(Error::Message(format!("error: --type must be one of [json merge strategic], not {kind:?}")));
    }
    let patch_value: Value = decode::yaml_to_json(&text).map_err(|e| Error::Message(format!("error: unable to parse {text:?}: {}", e.message)))?;
    let dry = DryRun::from_session(s)?;
    let words = s.args.positionals.clone();
    let local = s.args.flag("local");
    if local && dry == DryRun::Server {
        return Err(Error::Message(LOCAL_DRY_RUN_SERVER.to_string()));
    }
    if local && !words.is_empty() {
        return Err(Error::Message("error: cannot specify --local and server resources".to_string()));
    }
    let format = write_output_format(s)?;
    if local {
        return run_local(s, &kind, &patch_value, &format);
    }
    let subresource = s.args.value("subresource").unwrap_or_default().to_string();
    let (targets, mut failures) = targets::resolve(s, &words, false)?;
    for t in &targets {
        // A client dry run reads the object to patch it itself.
        let fetched = if dry == DryRun::Client {
            targets::fetch(s, t)
        } else {
            s.cluster.sim.api.get_to_patch(t.rid, &t.namespace, &t.name, &subresource).map_err(Failure::Api)
        };
        let obj = match fetched {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        // kubectl reads and patches the subresource's own path; one the
        // kind does not serve is a 404 for that read.
        let served = match subresource.as_str() {
            "" => true,
            "status" => has_status_subresource(&obj),
            "scale" => replicas_of(&obj).is_some(),
            "resize" | "ephemeralcontainers" => matches!(&*obj, Object::Pod(_)),
            _ => false,
        };
        if !served {
            failures.push(Failure::Api(ApiError::new(Reason::NotFound, "the server could not find the requested resource")));
            continue;
        }
        if subresource == "scale" {
            patch_scale(s, t, &obj, &kind, &patch_value, dry, &format, &mut failures)?;
            continue;
        }
        // The custom resource handler serves JSON and merge patches only.
        if matches!(&*obj, Object::Custom(_)) && !matches!(kind.as_str(), "merge" | "json") && dry != DryRun::Client {
            failures.push(Failure::Api(ApiError::new(
                Reason::UnsupportedMediaType,
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )));
            continue;
        }
        let current = obj.to_json();
        // A client dry run patches the object kubectl fetched itself.
        let patched = if dry == DryRun::Client {
            apply_patch_locally(&kind, &current, &patch_value).map_err(Failure::Text)
        } else {
            apply_patch(&kind, &current, &patch_value).map_err(Failure::Api)
        };
        let patched = match patched {
            Ok(v) => v,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let next = match decode::decode_object_warning_unknown(t.rid, &patched) {
            Ok((o, unknown)) => {
                // A client dry run decodes without the server's field check.
                if dry != DryRun::Client {
                    for warning in unknown {
                        s.cluster.sim.api.warn(warning);
                    }
                }
                o
            }
            Err(e) => {
                failures.push(Failure::Api(e));
                continue;
            }
        };
        if matches!(subresource.as_str(), "resize" | "ephemeralcontainers") && dry != DryRun::Client {
            let result = if subresource == "resize" {
                s.cluster.sim.api.set_client_update("patch", "resize");
                s.cluster.sim.api.resize_pod(next, dry == DryRun::Server)
            } else {
                s.cluster.sim.api.set_client_update("patch", "ephemeralcontainers");
                s.cluster.sim.api.update_ephemeral_containers(next, dry == DryRun::Server)
            };
            match result {
                // The server kept the pod as it was: kubectl finds the object it sent back unchanged.
                Ok(stored) if stored.meta().resource_version == obj.meta().resource_version => match &format {
                    None => s.out.push_str(&format!("{} patched (no change)\n", qualified(t))),
                    Some(f) => print_one(s, f, &qualified(t), &stored.to_json())?,
                },
                Ok(stored) => match &format {
                    None => s.out.push_str(&format!("{} patched{}\n", qualified(t), dry.suffix())),
                    Some(f) => print_one(s, f, &qualified(t), &stored.to_json())?,
                },
                Err(e) => failures.push(manifest::with_source("patching", &t.source, e)),
            }
            continue;
        }
        // A status write keeps the stored spec and metadata: only a change
        // of the status is one.
        let unchanged = if subresource == "status" { patched.get("status") == current.get("status") } else { next == *obj };
        if unchanged {
            match &format {
                None => s.out.push_str(&format!("{} patched (no change)\n", qualified(t))),
                Some(f) => print_one(s, f, &qualified(t), &obj.to_json())?,
            }
            continue;
        }
        let shown = if dry == DryRun::Client {
            std::rc::Rc::new(next)
        } else {
            match s.cluster.sim.api.update_with(next, subresource == "status", dry == DryRun::Server) {
                Ok(stored) => stored,
                Err(e) => {
                    failures.push(manifest::with_source("patching", &t.source, e));
                    continue;
                }
            }
        };
        match &format {
            None => s.out.push_str(&format!("{} patched{}\n", qualified(t), dry.suffix())),
            Some(f) => print_one(s, f, &qualified(t), &shown.to_json())?,
        }
    }
    manifest::finish(s, failures)
}

/// `--subresource scale`: the patch applies to the object's
/// `autoscaling/v1` Scale, whose `spec.replicas` is written back; kubectl
/// prints the Scale the server returns.
#[allow(clippy::too_many_arguments)]
fn patch_scale(s: &mut Session, t: &targets::Target, obj: &Object, kind: &str, patch_value: &Value, dry: DryRun, format: &Option<OutputFormat>, failures: &mut Vec<Failure>) -> Result {
    let have = replicas_of(obj).unwrap_or_default();
    let name = obj.meta().name.clone().unwrap_or_default();
    let scale = scale_of(obj);
    let patched = match apply_patch(kind, &scale, patch_value) {
        Ok(v) => v,
        Err(e) => {
            failures.push(Failure::Api(e));
            return Ok(());
        }
    };
    let replicas = match patched.pointer("/spec/replicas") {
        None | Some(Value::Null) => Some(0),
        Some(v) => v.as_i64(),
    };
    let replicas = match replicas.and_then(|r| i32::try_from(r).ok()) {
        Some(r) if r >= 0 => r,
        _ => {
            let shown = patched.pointer("/spec/replicas").map(Value::to_string).unwrap_or_default();
            let cause = Cause { field: "spec.replicas".to_string(), message: format!("Invalid value: {shown}: must be greater than or equal to 0") };
            failures.push(Failure::Api(ApiError::invalid("Scale", "Scale.autoscaling", &name, vec![cause])));
            return Ok(());
        }
    };
    let shown_name = format!("scale.autoscaling/{name}");
    if replicas == have {
        match format {
            None => s.out.push_str(&format!("{shown_name} patched (no change)\n")),
            Some(f) => print_one(s, f, &shown_name, &patched)?,
        }
        return Ok(());
    }
    let mut shown = patched;
    if dry != DryRun::Client {
        let mut next = obj.clone();
        set_replicas(&mut next, replicas);
        s.cluster.sim.api.set_client_update("patch", "scale");
        let result = s.cluster.sim.api.update_with(next, false, dry == DryRun::Server);
        match result {
            Ok(stored) => {
                if let Some(rv) = shown.pointer_mut("/metadata/resourceVersion") {
                    *rv = Value::from(stored.meta().resource_version.clone().unwrap_or_default());
                }
            }
            Err(e) => {
                failures.push(manifest::with_source("patching", &t.source, e));
                return Ok(());
            }
        }
    }
    match format {
        None => s.out.push_str(&format!("{shown_name} patched{}\n", dry.suffix())),
        Some(f) => print_one(s, f, &shown_name, &shown)?,
    }
    Ok(())
}

/// The patch as the API server applies it, failing as it answers: a JSON
/// patch it cannot decode (it decodes the operations strictly first, as
/// kubectl sends no `fieldValidation` and the default is `Warn`) is a bad
/// request; one that does not apply is a bare 422, whose message hides
/// json-patch's reason (`NewGenericServerResponse`, in `applyJSPatch`).
fn apply_patch(kind: &str, current: &Value, patch_value: &Value) -> std::result::Result<Value, ApiError> {
    match kind {
        "merge" => Ok(patch::merge_patch(current, patch_value)),
        "json" => {
            let decoded = match patch_value {
                Value::Array(_) => patch_value,
                Value::Null => return Ok(current.clone()),
                other => {
                    let found = match other {
                        Value::Object(_) => "object",
                        Value::String(_) => "string",
                        Value::Number(_) => "number",
                        _ => "bool",
                    };
                    return Err(ApiError::bad_request(format!("error decoding patch: json: cannot unmarshal {found} into Go value of type []handlers.jsonPatchOp")));
                }
            };
            patch::json_patch(current, decoded).map_err(|_| ApiError::new(Reason::Invalid, "the server rejected our request due to an error in our request"))
        }
        _ => patch::strategic_merge_patch(current, patch_value),
    }
}

/// The patch as kubectl applies it to a file's object (`getPatchedJSON`),
/// with the patch libraries' own words.
fn apply_patch_locally(kind: &str, current: &Value, patch_value: &Value) -> std::result::Result<Value, String> {
    match kind {
        "merge" => Ok(patch::merge_patch(current, patch_value)),
        "json" => patch::json_patch(current, patch_value),
        _ => patch::strategic_merge_patch(current, patch_value).map_err(|e| e.message),
    }
}

/// `--local`: the patch applied to the `-f` files' objects as kubectl read
/// them, with nothing asked of the server and no check of the result.
fn run_local(s: &mut Session, kind: &str, patch_value: &Value, format: &Option<OutputFormat>) -> Result {
    let mut failures = Vec::new();
    for item in manifest::load_with(s, false) {
        let Some(info) = manifest::kept(item, &mut failures) else { continue };
        let current = info.local_value();
        let patched = match apply_patch_locally(kind, &current, patch_value) {
            Ok(v) => v,
            Err(e) => {
                failures.push(Failure::Text(e));
                continue;
            }
        };
        let operation = if patched == current { "patched (no change)" } else { "patched" };
        let item = Printed::Read { rid: info.rid, name: info.name.clone(), value: patched };
        match format {
            None => s.out.push_str(&format!("{} {operation}\n", item.qualified_name())),
            Some(f) => print_one(s, f, &item.qualified_name(), &item.to_json())?,
        }
    }
    manifest::finish(s, failures)
}
