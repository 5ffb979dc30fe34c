//! `kubectl scale`: sets `spec.replicas` of deployments, replica sets,
//! replication controllers and stateful sets.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use crate::engine::api::{ApiError, Object, Reason};
use crate::engine::kubectl::printers::tables::selector_string;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::printers::OutputFormat;
use crate::engine::kubectl::verbs::set;
use crate::engine::kubectl::verbs::apply::{print_one, write_output_format};
use crate::engine::kubectl::{Error, Result, Session};

pub(crate) fn replicas_of(obj: &Object) -> Option<i32> {
    match obj {
        Object::Deployment(d) => Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        Object::ReplicaSet(r) => Some(r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        Object::StatefulSet(r) => Some(r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        Object::ReplicationController(r) => Some(r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        // A custom resource's scale subresource reads its `specReplicasPath` (0 when unset).
        Object::Custom(o) => {
            let scale = crate::engine::apiserver::custom::scale_of(o.resource)?;
            Some(o.field(&json_path_fields(&scale.spec_replicas_path)).and_then(Value::as_i64).map_or(0, |n| n as i32))
        }
        _ => None,
    }
}

/// The fields of a scale subresource's path (`.spec.replicas`).
fn json_path_fields(path: &str) -> Vec<&str> {
    path.split('.').filter(|f| !f.is_empty()).collect()
}

/// The object's `autoscaling/v1` Scale, as the registry's scale
/// subresource serves it (the selector as `labels.Selector.String()`).
pub(crate) fn scale_of(obj: &Object) -> Value {
    let have = replicas_of(obj).unwrap_or_default();
    let meta = obj.meta();
    let value = obj.to_json();
    let custom_scale = match obj {
        Object::Custom(o) => crate::engine::apiserver::custom::scale_of(o.resource).map(|scale| (o, scale)),
        _ => None,
    };
    let status_replicas = match &custom_scale {
        Some((o, scale)) => o.field(&json_path_fields(&scale.status_replicas_path)).and_then(Value::as_i64).unwrap_or(0),
        None => value.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
    };
    let custom_selector = custom_scale.as_ref().and_then(|(o, scale)| o.field(&json_path_fields(scale.label_selector_path.as_deref()?))?.as_str().map(str::to_string));
    let selector = match (obj, value.pointer("/spec/selector")) {
        _ if custom_scale.is_some() => custom_selector.unwrap_or_default(),
        (Object::ReplicationController(_), Some(Value::Object(set))) => set.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(","),
        (_, Some(v)) => serde_json::from_value::<LabelSelector>(v.clone()).map(|l| selector_string(&l)).unwrap_or_default(),
        (_, None) => String::new(),
    };
    let mut scale = serde_json::json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": meta.name, "namespace": meta.namespace, "uid": meta.uid, "resourceVersion": meta.resource_version, "creationTimestamp": value.pointer("/metadata/creationTimestamp")},
        "spec": {"replicas": have},
        "status": {"replicas": status_replicas},
    });
    if let Some(status) = scale.get_mut("status").and_then(Value::as_object_mut).filter(|_| !selector.is_empty()) {
        status.insert("selector".to_string(), Value::from(selector));
    }
    scale
}

pub(crate) fn set_replicas(obj: &mut Object, n: i32) {
    match obj {
        Object::Deployment(d) => d.spec_mut().replicas = Some(n),
        Object::ReplicaSet(r) => r.spec_mut().replicas = Some(n),
        Object::StatefulSet(r) => r.spec_mut().replicas = Some(n),
        Object::ReplicationController(r) => r.spec.get_or_insert_with(Default::default).replicas = Some(n),
        Object::Custom(o) => {
            let Some(scale) = crate::engine::apiserver::custom::scale_of(o.resource) else { return };
            let fields = json_path_fields(&scale.spec_replicas_path);
            let Some((last, parents)) = fields.split_last() else { return };
            let mut at = &mut o.content;
            for field in parents {
                let next = at.entry(field.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
                let Some(object) = next.as_object_mut() else { return };
                at = object;
            }
            at.insert(last.to_string(), Value::from(n));
        }
        _ => {}
    }
}

/// `--record` after a scale: kubectl's second patch, a merge patch of the
/// change cause alone, sent without `--dry-run`'s dryRun (as kubectl sends
/// it), its failure only logged.
fn record_change_cause(s: &mut Session, t: &targets::Target) {
    let Ok(current) = targets::fetch(s, t) else { return };
    let mut next = (*current).clone();
    set::record(s, &mut next);
    if next.meta().annotations != current.meta().annotations {
        s.cluster.sim.api.set_client_update("patch", "");
        let _ = s.cluster.sim.api.update_with(next, false, false);
    }
}

pub fn run(s: &mut Session) -> Result {
    let Some(replicas) = s.args.value("replicas") else {
        return Err(Error::Message("error: required flag(s) \"replicas\" not set".to_string()));
    };
    let replicas: i32 = match replicas.parse() {
        Ok(n) if n >= 0 => n,
        Ok(_) => return Err(Error::Message("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0".to_string())),
        Err(_) => return Err(Error::Message(format!("error: invalid argument \"{replicas}\" for \"--replicas\" flag: strconv.ParseInt: parsing \"{replicas}\": invalid syntax\nSee 'kubectl scale --help' for usage."))),
    };
    let current: Option<i32> = match s.args.value("current-replicas") {
        Some(c) => c.parse().ok().filter(|n: &i32| *n >= 0),
        None => None,
    };
    let resource_version = s.args.value("resource-version").filter(|v| !v.is_empty()).map(str::to_string);
    let dry = DryRun::from_session(s)?;
    let format = write_output_format(s)?;
    let words = s.args.positionals.clone();
    let (targets, mut failures) = targets::resolve(s, &words, true)?;
    let mut printed = 0;
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let Some(have) = replicas_of(&obj) else {
            failures.push(Failure::Api(ApiError::new(Reason::NotFound, "the server could not find the requested resource")));
            continue;
        };
        if let Some(want) = current {
            if want != have {
                failures.push(Failure::Text(format!("Expected replicas to be {want}, was {have}")));
                continue;
            }
        }
        if let Some(want) = resource_version.as_deref() {
            let was = obj.meta().resource_version.clone().unwrap_or_default();
            if want != was {
                failures.push(Failure::Text(format!("Expected resource version to be {want}, was {was}")));
                continue;
            }
        }
        if dry != DryRun::Client {
            let mut next = (*obj).clone();
            set_replicas(&mut next, replicas);
            // The scale subresource: a merge patch, or an update when a
            // precondition (`--current-replicas`, `--resource-version`) must hold.
            let precondition = current.is_some() || resource_version.is_some();
            s.cluster.sim.api.set_client_update(if precondition { "update" } else { "patch" }, "scale");
            let result = s.cluster.sim.api.update_with(next, false, dry == DryRun::Server);
            if let Err(e) = result {
                failures.push(manifest::with_source("scaling", &t.source, e));
                continue;
            }
        }
        if dry != DryRun::Client && s.args.flag("record") {
            record_change_cause(s, t);
        }
        // kubectl prints the object as its builder read it, before the scale.
        match &format {
            None => s.out.push_str(&format!("{} scaled{}\n", qualified(t), dry.suffix())),
            Some(format) => {
                // One YAML printer for every object: documents after the first follow `---`.
                if matches!(format, OutputFormat::Yaml) && printed > 0 {
                    s.out.push_str("---\n");
                }
                printed += 1;
                print_one(s, format, &qualified(t), &obj.to_json())?;
            }
        }
    }
    manifest::finish(s, failures)
}
