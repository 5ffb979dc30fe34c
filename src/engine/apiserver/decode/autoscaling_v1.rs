//! autoscaling/v1 HorizontalPodAutoscalers, which the API server serves
//! beside the stored autoscaling/v2 and converts on the way in, as 1.33's
//! `pkg/apis/autoscaling/v1/conversion.go`
//! (`Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler`
//! and its spec and status functions) after `SetDefaults_HorizontalPodAutoscaler`
//! (`pkg/apis/autoscaling/v1/defaults.go`: minReplicas 1; the 80% CPU
//! default is the v2 defaulting's, applied to the converted object).

use k8s_openapi::api::autoscaling::{v1, v2};
use serde_json::Value;

/// `autoscaling.MetricSpecsAnnotation`: the v2 metrics other than a CPU
/// utilization, in v1's own (v2beta1-shaped) metric form.
pub const METRIC_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// `autoscaling.MetricStatusesAnnotation`: `status.currentMetrics`.
pub const METRIC_STATUSES_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// `autoscaling.HorizontalPodAutoscalerConditionsAnnotation`: `status.conditions`.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// `autoscaling.BehaviorSpecsAnnotation`: `spec.behavior`, as JSON of the v2 field.
pub const BEHAVIOR_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Whether a document is an autoscaling/v1 HorizontalPodAutoscaler.
pub fn is_v1_document(value: &Value) -> bool {
    value.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v1") && value.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler")
}

/// The v1 object, defaulted and converted to the stored v2 form. The
/// metrics annotation is refused: its v2beta1-shaped metrics are not
/// converted here.
pub fn to_v2(mut hpa: v1::HorizontalPodAutoscaler) -> Result<v2::HorizontalPodAutoscaler, String> {
    let mut metadata = std::mem::take(&mut hpa.metadata);
    let mut annotations = metadata.annotations.take().unwrap_or_default();
    if annotations.contains_key(METRIC_SPECS_ANNOTATION) {
        return Err(format!("the {METRIC_SPECS_ANNOTATION} annotation is not converted in this simulation; write the HorizontalPodAutoscaler as autoscaling/v2"));
    }
    let spec = hpa.spec.unwrap_or_default();
    // Without a target the conversion leaves the metrics out; the API
    // server's defaulting gives the 80 % CPU one, as for a v2 object.
    let metrics = spec.target_cpu_utilization_percentage.map(|target| vec![crate::engine::apiserver::defaults::cpu_utilization_metric(target)]);
    // Only well-formed data moves from the annotation to the field.
    let behavior = annotations
        .get(BEHAVIOR_SPECS_ANNOTATION)
        .and_then(|text| serde_json::from_str::<v2::HorizontalPodAutoscalerBehavior>(text).ok())
        .filter(|b| *b != v2::HorizontalPodAutoscalerBehavior::default());
    let status = hpa.status.map(|status| {
        let mut current_metrics = status.current_cpu_utilization_percentage.map(|utilization| {
            vec![v2::MetricStatus {
                type_: "Resource".to_string(),
                resource: Some(v2::ResourceMetricStatus {
                    name: "cpu".to_string(),
                    current: v2::MetricValueStatus { average_utilization: Some(utilization), ..Default::default() },
                }),
                ..Default::default()
            }]
        });
        if let Some(text) = annotations.get(METRIC_STATUSES_ANNOTATION) {
            if let Ok(statuses) = serde_json::from_str::<Vec<v2::MetricStatus>>(text) {
                current_metrics = Some(statuses);
            }
        }
        let conditions = annotations.get(CONDITIONS_ANNOTATION).and_then(|text| serde_json::from_str::<Vec<v2::HorizontalPodAutoscalerCondition>>(text).ok());
        v2::HorizontalPodAutoscalerStatus {
            conditions,
            current_metrics,
            current_replicas: Some(status.current_replicas),
            desired_replicas: status.desired_replicas,
            last_scale_time: status.last_scale_time,
            observed_generation: status.observed_generation,
        }
    });
    // `DropRoundTripHorizontalPodAutoscalerAnnotations`.
    for key in [METRIC_SPECS_ANNOTATION, BEHAVIOR_SPECS_ANNOTATION, METRIC_STATUSES_ANNOTATION, CONDITIONS_ANNOTATION] {
        annotations.remove(key);
    }
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ok(v2::HorizontalPodAutoscaler {
        metadata,
        spec: Some(v2::HorizontalPodAutoscalerSpec {
            behavior,
            max_replicas: spec.max_replicas,
            metrics,
            // `SetDefaults_HorizontalPodAutoscaler` (v1).
            min_replicas: Some(spec.min_replicas.unwrap_or(1)),
            scale_target_ref: v2::CrossVersionObjectReference {
                api_version: spec.scale_target_ref.api_version,
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
            },
        }),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::decode::{decode_object, resolve_kind};
    use crate::engine::apiserver::defaults::cpu_utilization_metric;
    use crate::engine::api::Object;

    /// The object as the API server stores it: decoded, converted and defaulted.
    fn decoded(value: Value) -> Result<v2::HorizontalPodAutoscaler, String> {
        let rid = resolve_kind(&value, "test")?;
        let mut obj = decode_object(rid, &value).map_err(|e| e.message)?;
        crate::engine::apiserver::defaults::apply(&mut obj);
        match obj {
            Object::HorizontalPodAutoscaler(hpa) => Ok(*hpa),
            _ => Err("not an autoscaler".to_string()),
        }
    }

    #[test]
    fn v1_defaults_and_converts_to_v2() {
        let hpa = decoded(serde_json::json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "annotations": {
                "autoscaling.alpha.kubernetes.io/behavior": "{\"scaleDown\":{\"stabilizationWindowSeconds\":30}}",
                "autoscaling.alpha.kubernetes.io/conditions": "[]",
            }},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5},
        }))
        .unwrap();
        let spec = hpa.spec.unwrap();
        assert_eq!(spec.min_replicas, Some(1));
        assert_eq!(spec.metrics, Some(vec![cpu_utilization_metric(80)]));
        assert_eq!(spec.behavior.and_then(|b| b.scale_down).and_then(|d| d.stabilization_window_seconds), Some(30));
        assert_eq!(hpa.metadata.annotations, None);
    }

    #[test]
    fn v1_target_becomes_a_cpu_metric_and_unknown_fields_are_refused_in_v1() {
        let hpa = decoded(serde_json::json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
        }))
        .unwrap();
        assert_eq!(hpa.spec.as_ref().and_then(|s| s.metrics.clone()), Some(vec![cpu_utilization_metric(50)]));
        assert_eq!(hpa.spec.and_then(|s| s.min_replicas), Some(2));
        let err = decoded(serde_json::json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, "behavior": {}},
        }))
        .unwrap_err();
        assert_eq!(err, "HorizontalPodAutoscaler in version \"v1\" cannot be handled as a HorizontalPodAutoscaler: strict decoding error: unknown field \"spec.behavior\"");
    }
}
