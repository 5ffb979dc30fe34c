//! `kubectl autoscale`: an autoscaling/v2 HorizontalPodAutoscaler for a
//! Deployment, ReplicaSet, StatefulSet or ReplicationController, as
//! kubectl 1.33's `createHorizontalPodAutoscalerV2` builds it.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::engine::api::{resolve_resource_arg, resource, Object};
use crate::engine::kubectl::{Error, Result, Session};

use super::create::{submit_generated_as, SaveConfig};

fn int_flag(s: &Session, flag: &str) -> std::result::Result<i32, Error> {
    match s.args.value(flag) {
        None => Ok(-1),
        Some(v) => v.parse().map_err(|_| {
            Error::Message(format!("error: invalid argument \"{v}\" for \"--{flag}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax\nSee 'kubectl autoscale --help' for usage."))
        }),
    }
}

const NO_RESOURCE: &str = "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'";

pub fn run(s: &mut Session) -> Result {
    let min = int_flag(s, "min")?;
    let cpu_percent = int_flag(s, "cpu-percent")?;
    if !s.args.has("max") {
        return Err(Error::Message("error: required flag(s) \"max\" not set".into()));
    }
    let max = int_flag(s, "max")?;
    if max < 1 {
        return Err(Error::Message(format!("error: --max=MAXPODS is required and must be at least 1, max: {max}")));
    }
    if max < min {
        return Err(Error::Message(format!("error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: {max}, min: {min}")));
    }
    let (kind_arg, name) = match s.args.positionals.as_slice() {
        [one] if one.contains('/') => {
            let (k, n) = one.split_once('/').unwrap_or((one, ""));
            (k.to_string(), n.to_string())
        }
        [k, n] => (k.clone(), n.clone()),
        _ => return Err(Error::Message(NO_RESOURCE.into())),
    };
    let Some(rid) = resolve_resource_arg(&kind_arg) else {
        return Err(Error::Message(format!("error: the server doesn't have a resource type \"{kind_arg}\"")));
    };
    let namespace = s.namespace();
    let obj = s.cluster.sim.api.get(rid, &namespace, &name)?;
    let rt = resource(rid);
    if !matches!(&*obj, Object::Deployment(_) | Object::ReplicaSet(_) | Object::StatefulSet(_) | Object::ReplicationController(_)) {
        return Err(Error::Message(format!("error: cannot autoscale a {}: cannot autoscale a {}", rt.kind, rt.kind)));
    }
    let api_version = if rt.group.is_empty() { rt.version.to_string() } else { format!("{}/{}", rt.group, rt.version) };
    let hpa_name = s.args.value("name").filter(|n| !n.is_empty()).unwrap_or(&name).to_string();
    let metrics = (cpu_percent >= 0).then(|| vec![crate::engine::apiserver::defaults::cpu_utilization_metric(cpu_percent)]);
    let hpa = HorizontalPodAutoscaler {
        metadata: ObjectMeta { name: Some(hpa_name), ..Default::default() },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference { api_version: Some(api_version), kind: rt.kind.to_string(), name },
            min_replicas: (min > 0).then_some(min),
            max_replicas: max,
            metrics,
            behavior: None,
        }),
        status: Some(HorizontalPodAutoscalerStatus::default()),
    };
    // Go prints the status's nil `currentMetrics` list as null.
    submit_generated_as(s, Object::HorizontalPodAutoscaler(Box::new(hpa)), None, "autoscaled", SaveConfig::NotOnClientDryRun, |v| {
        if let Some(status) = v.get_mut("status").and_then(Value::as_object_mut) {
            status.entry("currentMetrics").or_insert(Value::Null);
        }
    })
}
