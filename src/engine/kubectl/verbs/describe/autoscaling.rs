//! kubectl 1.33's describer for HorizontalPodAutoscalers
//! (describe.go: `describeHorizontalPodAutoscalerV2`).

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscaler, MetricTarget, MetricValueStatus};

use super::{annotations_multiline, labels_multiline, rfc1123z, Writer};

fn current_of(value: Option<&MetricValueStatus>, target: &MetricTarget) -> (String, String) {
    if let Some(average) = &target.average_value {
        let current = value.and_then(|v| v.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_else(|| "<unknown>".into());
        return (current, average.0.clone());
    }
    let current = match value {
        Some(v) if v.average_utilization.is_some() => format!(
            "{}% ({})",
            v.average_utilization.unwrap_or(0),
            v.average_value.as_ref().map(|q| q.0.as_str()).unwrap_or("0")
        ),
        _ => "<unknown>".into(),
    };
    let target = target.average_utilization.map(|u| format!("{u}%")).unwrap_or_else(|| "<auto>".into());
    (current, target)
}

fn direction(w: &mut Writer, title: &str, rules: Option<&HPAScalingRules>) {
    let Some(rules) = rules else { return };
    w.line(1, &format!("{title}:"));
    if let Some(window) = rules.stabilization_window_seconds {
        w.line(2, &format!("Stabilization Window: {window} seconds"));
    }
    let policies = rules.policies.clone().unwrap_or_default();
    if !policies.is_empty() {
        w.line(2, &format!("Select Policy: {}", rules.select_policy.as_deref().unwrap_or("Max")));
        w.line(2, "Policies:");
        for p in &policies {
            w.line(3, &format!("- Type: {}\tValue: {}\tPeriod: {} seconds", p.type_, p.value, p.period_seconds));
        }
    }
}

pub(super) fn describe_horizontal_pod_autoscaler(w: &mut Writer, hpa: &HorizontalPodAutoscaler) {
    let m = &hpa.metadata;
    let spec = hpa.spec.clone().unwrap_or_default();
    let status = hpa.status.clone().unwrap_or_default();
    let current = status.current_metrics.clone().unwrap_or_default();
    w.line(0, &format!("Name:\t{}", m.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", m.namespace.as_deref().unwrap_or("")));
    labels_multiline(w, "", "Labels", m.labels.as_ref());
    annotations_multiline(w, "Annotations", m.annotations.as_ref());
    w.line(0, &format!("CreationTimestamp:\t{}", m.creation_timestamp.as_ref().map(rfc1123z).unwrap_or_default()));
    w.line(0, &format!("Reference:\t{}/{}", spec.scale_target_ref.kind, spec.scale_target_ref.name));
    w.line(0, "Metrics:\t( current / target )");
    for (i, metric) in spec.metrics.iter().flatten().enumerate() {
        let status = current.get(i);
        match metric.type_.as_str() {
            "Resource" => {
                let Some(r) = &metric.resource else { continue };
                let value = status.and_then(|s| s.resource.as_ref()).map(|s| &s.current);
                let (now, target) = current_of(value, &r.target);
                if r.target.average_value.is_some() {
                    w.line(1, &format!("resource {} on pods:\t{now} / {target}", r.name));
                } else {
                    w.line(1, &format!("resource {} on pods  (as a percentage of request):\t{now} / {target}", r.name));
                }
            }
            "ContainerResource" => {
                let Some(r) = &metric.container_resource else { continue };
                let value = status.and_then(|s| s.container_resource.as_ref()).map(|s| &s.current);
                let (now, target) = current_of(value, &r.target);
                if r.target.average_value.is_some() {
                    w.line(1, &format!("resource {} of container \"{}\" on pods:\t{now} / {target}", r.name, r.container));
                } else {
                    w.line(1, &format!("resource {} of container \"{}\" on pods  (as a percentage of request):\t{now} / {target}", r.name, r.container));
                }
            }
            "Pods" => {
                let Some(p) = &metric.pods else { continue };
                let now = status.and_then(|s| s.pods.as_ref()).and_then(|s| s.current.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_else(|| "<unknown>".into());
                let target = p.target.average_value.as_ref().map(|q| q.0.clone()).unwrap_or_default();
                w.line(1, &format!("\"{}\" on pods:\t{now} / {target}", p.metric.name));
            }
            "Object" => {
                let Some(o) = &metric.object else { continue };
                let now = status.and_then(|s| s.object.as_ref()).and_then(|s| s.current.value.as_ref().or(s.current.average_value.as_ref())).map(|q| q.0.clone()).unwrap_or_else(|| "<unknown>".into());
                let target = o.target.value.as_ref().or(o.target.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_default();
                w.line(1, &format!("\"{}\" on {}/{}:\t{now} / {target}", o.metric.name, o.described_object.kind, o.described_object.name));
            }
            "External" => {
                let Some(e) = &metric.external else { continue };
                let now = status.and_then(|s| s.external.as_ref()).and_then(|s| s.current.value.as_ref().or(s.current.average_value.as_ref())).map(|q| q.0.clone()).unwrap_or_else(|| "<unknown>".into());
                let target = e.target.value.as_ref().or(e.target.average_value.as_ref()).map(|q| q.0.clone()).unwrap_or_default();
                w.line(1, &format!("\"{}\" (target value):\t{now} / {target}", e.metric.name));
            }
            other => w.line(1, &format!("<unknown metric type {other:?}>")),
        }
    }
    w.line(0, &format!("Min replicas:\t{}", spec.min_replicas.map_or("<unset>".to_string(), |n| n.to_string())));
    w.line(0, &format!("Max replicas:\t{}", spec.max_replicas));
    if let Some(behavior) = &spec.behavior {
        w.line(0, "Behavior:");
        direction(w, "Scale Up", behavior.scale_up.as_ref());
        direction(w, "Scale Down", behavior.scale_down.as_ref());
    }
    w.line(0, &format!("{} pods:\t{} current / {} desired", spec.scale_target_ref.kind, status.current_replicas.unwrap_or(0), status.desired_replicas));
    let conditions = status.conditions.clone().unwrap_or_default();
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tReason\tMessage");
        w.line(1, "----\t------\t------\t-------");
        for c in &conditions {
            w.line(1, &format!("{}\t{}\t{}\t{}", c.type_, c.status, c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or("")));
        }
    }
}
