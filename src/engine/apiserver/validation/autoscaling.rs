//! HorizontalPodAutoscaler (autoscaling/v2) validation, as
//! `pkg/apis/autoscaling/validation` words it (scale-to-zero off).

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricTarget};

use super::Errors;
use crate::engine::quantity::parse_stored;

fn validate_target(t: &MetricTarget, path: &str, errs: &mut Errors) {
    match t.type_.as_str() {
        "" => errs.required(&format!("{path}.type"), "must specify a metric target type"),
        "Utilization" | "Value" | "AverageValue" => {}
        other => errs.invalid_str(&format!("{path}.type"), other, "must be either Utilization, Value, or AverageValue"),
    }
    for (field, q) in [("value", &t.value), ("averageValue", &t.average_value)] {
        if let Some(q) = q {
            if parse_stored(q).is_some_and(|v| v.is_negative() || v.is_zero()) {
                errs.invalid_str(&format!("{path}.{field}"), &q.0, "must be positive");
            }
        }
    }
    if let Some(u) = t.average_utilization.filter(|u| *u < 1) {
        errs.invalid_int(&format!("{path}.averageUtilization"), u as i64, "must be greater than 0");
    }
}

pub fn validate_horizontal_pod_autoscaler(hpa: &HorizontalPodAutoscaler, errs: &mut Errors) {
    let Some(spec) = &hpa.spec else {
        errs.required("spec", "");
        return;
    };
    if let Some(min) = spec.min_replicas.filter(|m| *m < 1) {
        errs.invalid_int("spec.minReplicas", min as i64, "must be greater than or equal to 1");
    }
    if spec.max_replicas < 1 {
        errs.invalid_int("spec.maxReplicas", spec.max_replicas as i64, "must be greater than 0");
    }
    if spec.min_replicas.is_some_and(|m| spec.max_replicas < m) {
        errs.invalid_int("spec.maxReplicas", spec.max_replicas as i64, "must be greater than or equal to `minReplicas`");
    }
    let target = &spec.scale_target_ref;
    if target.kind.is_empty() {
        errs.required("spec.scaleTargetRef.kind", "");
    }
    if target.name.is_empty() {
        errs.required("spec.scaleTargetRef.name", "");
    }
    for (i, m) in spec.metrics.iter().flatten().enumerate() {
        let path = format!("spec.metrics[{i}]");
        match m.type_.as_str() {
            "Resource" => match &m.resource {
                None => errs.required(&format!("{path}.resource"), "must populate information for the given metric source"),
                Some(r) => {
                    let rpath = format!("{path}.resource");
                    if r.name.is_empty() {
                        errs.required(&format!("{rpath}.name"), "must specify a resource name");
                    }
                    validate_target(&r.target, &format!("{rpath}.target"), errs);
                    if r.target.average_utilization.is_none() && r.target.average_value.is_none() {
                        errs.required(&format!("{rpath}.target.averageUtilization"), "must set either a target raw value or a target utilization");
                    }
                    if r.target.average_utilization.is_some() && r.target.average_value.is_some() {
                        errs.forbidden(&format!("{rpath}.target.averageValue"), "may not set both a target raw value and a target utilization");
                    }
                }
            },
            "Pods" | "Object" | "External" | "ContainerResource" => {}
            "" => errs.required(&format!("{path}.type"), "must specify a metric source type"),
            other => errs.unsupported(&format!("{path}.type"), other, &["ContainerResource", "External", "Object", "Pods", "Resource"]),
        }
    }
}
