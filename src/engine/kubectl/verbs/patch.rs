//! `kubectl patch -p PATCH [--type=strategic|merge|json]`.

use serde_json::Value;

use crate::engine::api::ApiError;
use crate::engine::apiserver::{decode, patch};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, qualified};
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
    let (targets, mut failures) = targets::resolve(s, &words, false)?;
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let current = obj.to_json();
        let patched = match kind.as_str() {
            "merge" => Ok(patch::merge_patch(&current, &patch_value)),
            "json" => patch::json_patch(&current, &patch_value),
            _ => patch::strategic_merge_patch(&current, &patch_value),
        };
        let patched = match patched {
            Ok(v) => v,
            Err(e) => {
                failures.push(Failure::Api(ApiError::new(crate::engine::api::Reason::Invalid, e)));
                continue;
            }
        };
        let next = match decode::decode_object(t.rid, &patched) {
            Ok(o) => o,
            Err(e) => {
                failures.push(Failure::Api(e));
                continue;
            }
        };
        if next == *obj {
            s.out.push_str(&format!("{} patched (no change)\n", qualified(t)));
            continue;
        }
        if dry != DryRun::Client {
            if let Err(e) = s.cluster.sim.api.update_with(next, false, dry == DryRun::Server) {
                failures.push(manifest::with_source("patching", &t.source, e));
                continue;
            }
        }
        s.out.push_str(&format!("{} patched{}\n", qualified(t), dry.suffix()));
    }
    manifest::finish(s, failures)
}
