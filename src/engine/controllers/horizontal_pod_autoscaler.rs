//! The horizontal pod autoscaler (`pkg/controller/podautoscaler`,
//! autoscaling/v2): every 15 s (`--horizontal-pod-autoscaler-sync-period`)
//! each HPA reads its target's scale and its pods' usage from the resource
//! metrics API, proposes a replica count per metric (`replica_calculator`:
//! the 0.1 tolerance, unready and missing pods), takes the largest,
//! stabilises and rate-limits it (the default 5 min scale-down window and
//! the ×2/+4 scale-up limit, or `behavior`'s windows and policies), writes
//! the scale and reports status, conditions and events in 1.33's words.
//!
//! Keys are queued 15 s after an HPA appears or changes (the controller's
//! fixed-interval rate limiter), so a new HPA shows `<unknown>` targets
//! until its first sync. Recommendations and scale events live in memory
//! and are lost when the controller manager stops.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus, MetricValueStatus,
    ResourceMetricStatus,
};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use crate::engine::api::meta::{api_time, virtual_of};
use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, NORMAL, WARNING};
use crate::engine::apiserver::WatchEventType;
use crate::engine::metrics;
use crate::engine::quantity::{milli_value_of, Format, Quantity};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{Cache, Changes, Reconciler, WorkLoop};

/// `--horizontal-pod-autoscaler-sync-period`.
pub const SYNC_PERIOD_MS: u64 = 15_000;
/// `--horizontal-pod-autoscaler-tolerance`.
pub const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-downscale-stabilization`.
pub const DOWNSCALE_STABILIZATION_MS: u64 = 300_000;
/// `--horizontal-pod-autoscaler-cpu-initialization-period`.
const CPU_INITIALIZATION_PERIOD_MS: u64 = 300_000;
/// `--horizontal-pod-autoscaler-initial-readiness-delay`.
const INITIAL_READINESS_DELAY_MS: u64 = 30_000;
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

#[derive(Clone, Copy, Debug)]
struct Recommendation {
    replicas: i32,
    at: VirtualTime,
}

#[derive(Clone, Copy, Debug)]
struct ScaleEvent {
    change: i32,
    at: VirtualTime,
    outdated: bool,
}

/// What a metric proposes.
struct Proposal {
    replicas: i32,
    metric: String,
    status: MetricStatus,
}

/// A metric that could not be computed: the event and condition reason, and the error.
struct Invalid {
    reason: &'static str,
    message: String,
}

/// The scale subresource of a target.
struct Scale {
    resource: ResourceId,
    spec_replicas: i32,
    status_replicas: i32,
    selector: Option<Selector>,
}

pub struct HorizontalPodAutoscalerController {
    work: WorkLoop,
    recorder: EventRecorder,
    recommendations: BTreeMap<ObjectKey, Vec<Recommendation>>,
    scale_up_events: BTreeMap<ObjectKey, Vec<ScaleEvent>>,
    scale_down_events: BTreeMap<ObjectKey, Vec<ScaleEvent>>,
}

fn set_condition(status: &mut HorizontalPodAutoscalerStatus, type_: &str, value: &str, reason: &str, message: String, now: VirtualTime) {
    let list = status.conditions.get_or_insert_with(Vec::new);
    let index = match list.iter().position(|c| c.type_ == type_) {
        Some(i) => i,
        None => {
            list.push(HorizontalPodAutoscalerCondition { type_: type_.to_string(), ..Default::default() });
            list.len() - 1
        }
    };
    let c = &mut list[index];
    if c.status != value {
        c.last_transition_time = Some(api_time(now));
    }
    c.status = value.to_string();
    c.reason = Some(reason.to_string());
    c.message = Some(message);
}

fn milli_quantity(milli: i64) -> ApiQuantity {
    ApiQuantity(Quantity::from_nanos(milli as i128 * 1_000_000, Format::DecimalSI).canonical())
}

/// `calculatePodRequests`: the pods' total request of `resource`, by pod name, or
/// the first container without one. Sidecars (init containers that restart
/// `Always`) run beside the app, so they count, after the app containers.
fn requests(pods: &[&Pod], resource: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut sum = 0;
        let spec = pod.spec.as_ref();
        let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
        let sidecars = spec.and_then(|s| s.init_containers.as_deref()).unwrap_or_default().iter().filter(|c| c.restart_policy.as_deref() == Some("Always"));
        for c in containers.iter().chain(sidecars) {
            match c.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get(resource)) {
                Some(q) => sum += milli_value_of(q),
                None => return Err(format!("missing request for {resource} in container {} of Pod {name}", c.name)),
            }
        }
        out.insert(name, sum);
    }
    Ok(out)
}

/// One pod's usage as the metrics client sums it, with the window it covers.
#[derive(Clone, Copy)]
struct PodUsage {
    value: i64,
    timestamp: VirtualTime,
    window_ms: u64,
}

/// `groupPods`: ready pods counted, unready, missing and ignored ones named.
fn group_pods(pods: &[&Pod], usage: &BTreeMap<String, PodUsage>, resource: &str, now: VirtualTime) -> (usize, BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut ready, mut unready, mut missing, mut ignored) = (0, BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status_for_call();
        let phase = status.phase.as_deref().unwrap_or("");
        if pod.metadata.deletion_timestamp.is_some() || phase == "Failed" {
            ignored.insert(name);
            continue;
        }
        if phase == "Pending" {
            unready.insert(name);
            continue;
        }
        let Some(metric) = usage.get(&name) else {
            missing.insert(name);
            continue;
        };
        if resource == "cpu" {
            let condition = status.conditions.iter().flatten().find(|c| c.type_ == "Ready");
            let start = status.start_time.as_ref().map(virtual_of);
            let is_unready = match (condition, start) {
                (Some(c), Some(start)) => {
                    let transition = c.last_transition_time.as_ref().map(virtual_of).unwrap_or(VirtualTime::ZERO);
                    if start.plus_millis(CPU_INITIALIZATION_PERIOD_MS) > now {
                        c.status == "False" || metric.timestamp < transition.plus_millis(metric.window_ms)
                    } else {
                        c.status == "False" && start.plus_millis(INITIAL_READINESS_DELAY_MS) > transition
                    }
                }
                _ => true,
            };
            if is_unready {
                unready.insert(name);
                continue;
            }
        }
        ready += 1;
    }
    (ready, unready, missing, ignored)
}

impl HorizontalPodAutoscalerController {
    pub fn new() -> Self {
        HorizontalPodAutoscalerController {
            work: WorkLoop::default(),
            recorder: EventRecorder::new("horizontal-pod-autoscaler", None),
            recommendations: BTreeMap::new(),
            scale_up_events: BTreeMap::new(),
            scale_down_events: BTreeMap::new(),
        }
    }

    fn event(&mut self, ctx: &mut Ctx, hpa: &HorizontalPodAutoscaler, type_: &str, reason: &str, message: String) {
        self.recorder.record(ctx.api, &Object::HorizontalPodAutoscaler(Box::new(hpa.clone())), type_, reason, message);
    }

    /// The target's scale subresource.
    fn scale(ctx: &mut Ctx, hpa: &HorizontalPodAutoscaler, namespace: &str) -> Result<Scale, String> {
        let target = hpa.spec.as_ref().map(|s| s.scale_target_ref.clone()).unwrap_or_default();
        let api_version = target.api_version.clone().unwrap_or_default();
        let group = match api_version.split_once('/') {
            Some((g, _)) => g.to_string(),
            None => String::new(),
        };
        let resource = match (group.as_str(), target.kind.as_str()) {
            ("apps", "Deployment") => ids::deployments(),
            ("apps", "ReplicaSet") => ids::replica_sets(),
            ("apps", "StatefulSet") => ids::stateful_sets(),
            ("", "ReplicationController") => ids::replication_controllers(),
            (g, k) => return Err(format!("no matches for kind \"{k}\" in group \"{g}\"")),
        };
        let obj = ctx.api.get(resource, namespace, &target.name).map_err(|e| e.message)?;
        let (spec_replicas, status_replicas, selector) = match &*obj {
            Object::Deployment(d) => {
                let spec = d.spec.clone().unwrap_or_default();
                (spec.replicas.unwrap_or(1), d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0), Some(Selector::from_api(&spec.selector)))
            }
            Object::ReplicaSet(r) => {
                let spec = r.spec.clone().unwrap_or_default();
                (spec.replicas.unwrap_or(1), r.status.as_ref().map_or(0, |s| s.replicas), Some(Selector::from_api(&spec.selector)))
            }
            Object::StatefulSet(r) => {
                let spec = r.spec.clone().unwrap_or_default();
                (spec.replicas.unwrap_or(1), r.status.as_ref().map_or(0, |s| s.replicas), Some(Selector::from_api(&spec.selector)))
            }
            Object::ReplicationController(r) => {
                let spec = r.spec.clone().unwrap_or_default();
                let selector = spec.selector.clone().filter(|m| !m.is_empty()).map(|m| {
                    Selector::from_api(&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector { match_labels: Some(m), match_expressions: None })
                });
                (spec.replicas.unwrap_or(1), r.status.as_ref().map_or(0, |s| s.replicas), selector)
            }
            _ => return Err("unrecognized resource".into()),
        };
        Ok(Scale { resource, spec_replicas, status_replicas, selector })
    }

    /// The pods' usage of `resource` from the metrics API (`GetResourceMetric`).
    fn usage(ctx: &Ctx, namespace: &str, pods: &[&Pod], resource: &str) -> Result<(BTreeMap<String, PodUsage>, VirtualTime), String> {
        let snapshot = metrics::read(ctx.api, ctx.world).map_err(|e| {
            format!("unable to get metrics for resource {resource}: unable to fetch metrics from resource metrics API: {}", e.message("pods"))
        })?;
        let mut out = BTreeMap::new();
        let mut timestamp = VirtualTime::ZERO;
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let Some(m) = snapshot.pods.get(&(namespace.to_string(), name.clone())) else { continue };
            let value = match resource {
                "cpu" => m.containers.iter().map(|c| c.cpu_millis() as i64).sum(),
                _ => m.containers.iter().map(|c| c.memory_bytes as i64 * 1000).sum(),
            };
            timestamp = m.timestamp;
            out.insert(name, PodUsage { value, timestamp: m.timestamp, window_ms: m.window_ms });
        }
        if out.is_empty() {
            return Err(format!("unable to get metrics for resource {resource}: no metrics returned from resource metrics API"));
        }
        Ok((out, timestamp))
    }

    /// `GetResourceReplicas` (a utilization target) and `GetRawResourceReplicas`
    /// (an average value): the proposal, the utilization and the average usage.
    fn resource_replicas(ctx: &Ctx, current: i32, namespace: &str, pods: &[&Pod], resource: &str, target_utilization: Option<i32>, target_value: i64) -> Result<(i32, Option<i32>, i64), String> {
        let (mut usage, _) = Self::usage(ctx, namespace, pods, resource)?;
        if pods.is_empty() {
            return Err("no pods returned by selector while calculating replica count".into());
        }
        let (ready, unready, missing, ignored) = group_pods(pods, &usage, resource, ctx.now);
        for name in ignored.iter().chain(unready.iter()) {
            usage.remove(name);
        }
        if usage.is_empty() {
            return Err("did not receive metrics for targeted pods (pods might be unready)".into());
        }
        let requests = if target_utilization.is_some() { requests(pods, resource)? } else { BTreeMap::new() };
        // The ratio of usage to target, the utilization (or average) reported.
        let ratio = |usage: &BTreeMap<String, PodUsage>| -> Result<(f64, i32, i64), String> {
            match target_utilization {
                Some(target) => {
                    let (mut total, mut requested, mut n) = (0i64, 0i64, 0i64);
                    for (name, m) in usage {
                        let Some(r) = requests.get(name) else { continue };
                        total += m.value;
                        requested += r;
                        n += 1;
                    }
                    if requested == 0 {
                        return Err("no metrics returned matched known pods".into());
                    }
                    let utilization = (total * 100 / requested) as i32;
                    Ok((utilization as f64 / target as f64, utilization, total / n))
                }
                None => {
                    let total: i64 = usage.values().map(|m| m.value).sum();
                    let average = total / usage.len().max(1) as i64;
                    Ok((average as f64 / target_value.max(1) as f64, 0, average))
                }
            }
        };
        let (usage_ratio, utilization, raw) = ratio(&usage)?;
        let utilization = target_utilization.map(|_| utilization);
        let scale_up_with_unready = !unready.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && missing.is_empty() {
            if (1.0 - usage_ratio).abs() <= TOLERANCE {
                return Ok((current, utilization, raw));
            }
            let count = if target_utilization.is_some() { ready } else { usage.len() };
            return Ok(((usage_ratio * count as f64).ceil() as i32, utilization, raw));
        }
        if !missing.is_empty() {
            for name in &missing {
                let value = if usage_ratio < 1.0 {
                    match target_utilization {
                        // On a scale-down a missing pod counts as using its request (or the target above 100%).
                        Some(t) => requests.get(name).copied().unwrap_or(0) * (t.max(100) as i64) / 100,
                        None => target_value,
                    }
                } else {
                    0
                };
                if usage_ratio != 1.0 {
                    usage.insert(name.clone(), PodUsage { value, timestamp: ctx.now, window_ms: 0 });
                }
            }
        }
        if scale_up_with_unready {
            for name in &unready {
                usage.insert(name.clone(), PodUsage { value: 0, timestamp: ctx.now, window_ms: 0 });
            }
        }
        let (new_ratio, _, _) = ratio(&usage)?;
        if (1.0 - new_ratio).abs() <= TOLERANCE || (usage_ratio < 1.0 && new_ratio > 1.0) || (usage_ratio > 1.0 && new_ratio < 1.0) {
            return Ok((current, utilization, raw));
        }
        let proposed = (new_ratio * usage.len() as f64).ceil() as i32;
        if (new_ratio < 1.0 && proposed > current) || (new_ratio > 1.0 && proposed < current) {
            return Ok((current, utilization, raw));
        }
        Ok((proposed, utilization, raw))
    }

    fn metric_replicas(ctx: &Ctx, spec_replicas: i32, namespace: &str, pods: &[&Pod], metric: &MetricSpec) -> Result<Proposal, Invalid> {
        match metric.type_.as_str() {
            "Resource" => {
                let Some(source) = &metric.resource else {
                    return Err(Invalid { reason: "FailedGetResourceMetric", message: "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".into() });
                };
                let name = source.name.as_str();
                let wrap = |e: String, what: &str| Invalid { reason: "FailedGetResourceMetric", message: format!("failed to get {name} {what}: {e}") };
                if let Some(value) = &source.target.average_value {
                    let (replicas, _, raw) = Self::resource_replicas(ctx, spec_replicas, namespace, pods, name, None, milli_value_of(value)).map_err(|e| wrap(e, "usage"))?;
                    let status = MetricStatus {
                        type_: "Resource".into(),
                        resource: Some(ResourceMetricStatus { name: name.to_string(), current: MetricValueStatus { average_value: Some(milli_quantity(raw)), ..Default::default() } }),
                        ..Default::default()
                    };
                    return Ok(Proposal { replicas, metric: format!("{name} resource"), status });
                }
                let Some(target) = source.target.average_utilization else {
                    return Err(Invalid { reason: "FailedGetResourceMetric", message: "failed to get ".to_string() + name + " utilization: invalid resource metric source: neither an average utilization target nor an average value (usage) target was set" });
                };
                let (replicas, utilization, raw) = Self::resource_replicas(ctx, spec_replicas, namespace, pods, name, Some(target), 0).map_err(|e| wrap(e, "utilization"))?;
                let status = MetricStatus {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricStatus {
                        name: name.to_string(),
                        current: MetricValueStatus { average_utilization: utilization, average_value: Some(milli_quantity(raw)), value: None },
                    }),
                    ..Default::default()
                };
                Ok(Proposal { replicas, metric: format!("{name} resource utilization (percentage of request)"), status })
            }
            "Pods" => {
                let name = metric.pods.as_ref().map(|p| p.metric.name.clone()).unwrap_or_default();
                Err(Invalid { reason: "FailedGetPodsMetric", message: format!("unable to get metric {name}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered") })
            }
            "Object" => {
                let name = metric.object.as_ref().map(|p| p.metric.name.clone()).unwrap_or_default();
                Err(Invalid { reason: "FailedGetObjectMetric", message: format!("unable to get metric {name}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered") })
            }
            "External" => {
                let name = metric.external.as_ref().map(|p| p.metric.name.clone()).unwrap_or_default();
                Err(Invalid { reason: "FailedGetExternalMetric", message: format!("unable to get external metric {namespace}/{name}/nil: unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered") })
            }
            "ContainerResource" => {
                let name = metric.container_resource.as_ref().map(|p| p.container.clone()).unwrap_or_default();
                Err(Invalid { reason: "FailedGetContainerResourceMetric", message: format!("container resource metrics for container {name} are not served by this cluster's metrics-server") })
            }
            other => Err(Invalid { reason: "InvalidMetricSourceType", message: format!("unknown metric source type \"{other}\"") }),
        }
    }

    fn sync_hpa(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(Object::HorizontalPodAutoscaler(hpa)) = cache.of(ids::horizontal_pod_autoscalers()).get(key).map(|o| &**o) else {
            self.recommendations.remove(key);
            self.scale_up_events.remove(key);
            self.scale_down_events.remove(key);
            return Ok(None);
        };
        let hpa = hpa.clone();
        let now = ctx.now;
        let again = Some(now.plus_millis(SYNC_PERIOD_MS));
        let original = hpa.status.clone().unwrap_or_default();
        let mut status = original.clone();
        let spec = hpa.spec.clone().unwrap_or_default();
        let namespace = key.namespace.clone();
        let scale = match Self::scale(ctx, &hpa, &namespace) {
            Ok(s) => s,
            Err(e) => {
                self.event(ctx, &hpa, WARNING, "FailedGetScale", e.clone());
                set_condition(&mut status, "AbleToScale", "False", "FailedGetScale", format!("the HPA controller was unable to get the target's current scale: {e}"), now);
                self.write_status(ctx, key, &original, status);
                return Ok(again);
            }
        };
        set_condition(&mut status, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale".into(), now);
        let current = scale.spec_replicas;
        self.recommendations.entry(key.clone()).or_insert_with(|| vec![Recommendation { replicas: current, at: now }]);
        let min = spec.min_replicas.unwrap_or(1);
        let max = spec.max_replicas;
        let mut desired = 0;
        let mut reason = String::new();
        let mut rescale = true;
        let mut statuses = status.current_metrics.clone();
        if scale.spec_replicas == 0 && min != 0 {
            rescale = false;
            set_condition(&mut status, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero".into(), now);
        } else if current > max {
            reason = "Current number of replicas above Spec.MaxReplicas".into();
            desired = max;
        } else if current < min {
            reason = "Current number of replicas below Spec.MinReplicas".into();
            desired = min;
        } else {
            let Some(selector) = scale.selector.clone() else {
                self.event(ctx, &hpa, WARNING, "SelectorRequired", "selector is required".into());
                set_condition(&mut status, "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector".into(), now);
                status.current_replicas = Some(current);
                self.write_status(ctx, key, &original, status);
                self.event(ctx, &hpa, WARNING, "FailedComputeMetricsReplicas", "selector is required".into());
                return Ok(again);
            };
            let pods: Vec<&Pod> = cache
                .of(ids::pods())
                .in_namespace(&namespace)
                .filter_map(|o| if let Object::Pod(p) = &**o { Some(&**p) } else { None })
                .filter(|p| selector.matches(p.metadata.labels.as_ref()))
                .collect();
            let specs = spec.metrics.clone().unwrap_or_default();
            let mut metric_statuses = vec![MetricStatus::default(); specs.len()];
            let (mut proposal, mut metric_name) = (0, String::new());
            let mut invalid: Vec<Invalid> = Vec::new();
            for (i, m) in specs.iter().enumerate() {
                match Self::metric_replicas(ctx, scale.spec_replicas, &namespace, &pods, m) {
                    Ok(p) => {
                        metric_statuses[i] = p.status;
                        if proposal == 0 || p.replicas > proposal {
                            proposal = p.replicas;
                            metric_name = p.metric;
                        }
                    }
                    Err(e) => {
                        let kind = match m.type_.as_str() {
                            "Resource" => format!("{} resource", m.resource.as_ref().map(|r| r.name.as_str()).unwrap_or("")),
                            "Pods" => "pods".into(),
                            "Object" => "object".into(),
                            "External" => format!("{} external", m.external.as_ref().map(|r| r.metric.name.as_str()).unwrap_or("")),
                            _ => String::new(),
                        };
                        self.event(ctx, &hpa, WARNING, e.reason, e.message.clone());
                        let wrapped = if kind.is_empty() { e.message.clone() } else { format!("failed to get {kind} metric value: {}", e.message) };
                        if invalid.is_empty() {
                            set_condition(&mut status, "ScalingActive", "False", e.reason, format!("the HPA was unable to compute the replica count: {}", e.message), now);
                        }
                        invalid.push(Invalid { reason: e.reason, message: wrapped });
                    }
                }
            }
            if !invalid.is_empty() && (invalid.len() >= specs.len() || proposal < scale.spec_replicas) {
                let first = &invalid[0];
                let message = format!("invalid metrics ({} invalid out of {}), first error is: {}", invalid.len(), specs.len(), first.message);
                status.current_replicas = Some(current);
                status.current_metrics = Some(metric_statuses);
                self.write_status(ctx, key, &original, status);
                self.event(ctx, &hpa, WARNING, "FailedComputeMetricsReplicas", message);
                return Ok(again);
            }
            set_condition(&mut status, "ScalingActive", "True", "ValidMetricFound", format!("the HPA was able to successfully calculate a replica count from {metric_name}"), now);
            statuses = Some(metric_statuses);
            if proposal > desired {
                desired = proposal;
            }
            if desired > current {
                reason = format!("{metric_name} above target");
            }
            if desired < current {
                reason = "All metrics below target".into();
            }
            desired = match &spec.behavior {
                None => self.normalize(key, &mut status, current, desired, min, max, now),
                Some(behavior) => self.normalize_with_behavior(key, &mut status, behavior, current, desired, min, max, now),
            };
            rescale = desired != current;
        }
        if rescale {
            let result = ctx.api.modify(scale.resource, &namespace, &spec.scale_target_ref.name, false, |o| {
                match o {
                    Object::Deployment(d) => d.spec_mut().replicas = Some(desired),
                    Object::ReplicaSet(r) => r.spec_mut().replicas = Some(desired),
                    Object::StatefulSet(r) => r.spec_mut().replicas = Some(desired),
                    Object::ReplicationController(r) => r.spec.get_or_insert_with(Default::default).replicas = Some(desired),
                    _ => return false,
                }
                true
            });
            if let Err(e) = result {
                self.event(ctx, &hpa, WARNING, "FailedRescale", format!("New size: {desired}; reason: {reason}; error: {}", e.message));
                set_condition(&mut status, "AbleToScale", "False", "FailedUpdateScale", format!("the HPA controller was unable to update the target scale: {}", e.message), now);
                status.current_replicas = Some(current);
                self.write_status(ctx, key, &original, status);
                return Ok(again);
            }
            set_condition(&mut status, "AbleToScale", "True", "SucceededRescale", format!("the HPA controller was able to update the target scale to {desired}"), now);
            self.event(ctx, &hpa, NORMAL, "SuccessfulRescale", format!("New size: {desired}; reason: {reason}"));
            self.store_scale_event(key, spec.behavior.as_ref(), current, desired, now);
            ctx.log(format!("rescaled {key} from {current} to {desired}: {reason}"));
            status.last_scale_time = Some(api_time(now));
        } else {
            desired = current;
        }
        let _ = scale.status_replicas;
        status.current_replicas = Some(current);
        status.desired_replicas = desired;
        status.current_metrics = statuses;
        self.write_status(ctx, key, &original, status);
        Ok(again)
    }

    fn write_status(&mut self, ctx: &mut Ctx, key: &ObjectKey, original: &HorizontalPodAutoscalerStatus, mut status: HorizontalPodAutoscalerStatus) {
        if status.current_replicas == Some(0) {
            status.current_replicas = None;
        }
        if &status == original {
            return;
        }
        let _ = ctx.api.modify(ids::horizontal_pod_autoscalers(), &key.namespace, &key.name, true, |o| {
            if let Object::HorizontalPodAutoscaler(h) = o {
                h.status = Some(status.clone());
                true
            } else {
                false
            }
        });
    }

    /// `normalizeDesiredReplicas`: the 5 min downscale window, then min/max and the scale-up limit.
    #[allow(clippy::too_many_arguments)]
    fn normalize(&mut self, key: &ObjectKey, status: &mut HorizontalPodAutoscalerStatus, current: i32, proposed: i32, min: i32, max: i32, now: VirtualTime) -> i32 {
        let recs = self.recommendations.entry(key.clone()).or_default();
        let cutoff_ms = DOWNSCALE_STABILIZATION_MS;
        let mut stabilized = proposed;
        let mut old = None;
        for (i, r) in recs.iter().enumerate() {
            if now.millis_since(r.at) > cutoff_ms {
                old = Some(i);
            } else if r.replicas > stabilized {
                stabilized = r.replicas;
            }
        }
        match old {
            Some(i) => recs[i] = Recommendation { replicas: proposed, at: now },
            None => recs.push(Recommendation { replicas: proposed, at: now }),
        }
        if stabilized != proposed {
            set_condition(status, "AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation".into(), now);
        } else {
            set_condition(status, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size".into(), now);
        }
        let scale_up_limit = (SCALE_UP_LIMIT_FACTOR * current as f64).max(SCALE_UP_LIMIT_MINIMUM) as i32;
        let (maximum, mut condition, mut message) = if max > scale_up_limit {
            (scale_up_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
        } else {
            (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
        };
        let desired = if stabilized < min {
            condition = "TooFewReplicas";
            message = "the desired replica count is less than the minimum replica count";
            min
        } else if stabilized > maximum {
            maximum
        } else {
            condition = "DesiredWithinRange";
            message = "the desired count is within the acceptable range";
            stabilized
        };
        let limited = if desired == stabilized { "False" } else { "True" };
        set_condition(status, "ScalingLimited", limited, condition, message.into(), now);
        desired
    }

    /// `normalizeDesiredReplicasWithBehaviors`.
    #[allow(clippy::too_many_arguments)]
    fn normalize_with_behavior(
        &mut self,
        key: &ObjectKey,
        status: &mut HorizontalPodAutoscalerStatus,
        behavior: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior,
        current: i32,
        proposed: i32,
        min: i32,
        max: i32,
        now: VirtualTime,
    ) -> i32 {
        let up = behavior.scale_up.clone().unwrap_or_default();
        let mut down = behavior.scale_down.clone().unwrap_or_default();
        if down.stabilization_window_seconds.is_none() {
            down.stabilization_window_seconds = Some((DOWNSCALE_STABILIZATION_MS / 1000) as i32);
        }
        let up_window = up.stabilization_window_seconds.unwrap_or(0).max(0) as u64 * 1000;
        let down_window = down.stabilization_window_seconds.unwrap_or(300).max(0) as u64 * 1000;
        // `stabilizeRecommendationWithBehaviors`: the current count, raised to the
        // lowest recommendation of the scale-up window and lowered to the highest
        // of the scale-down window, so neither window ever moves it the other way.
        let obsolete = up_window.max(down_window);
        let recs = self.recommendations.entry(key.clone()).or_default();
        let (mut up_recommendation, mut down_recommendation) = (proposed, proposed);
        let mut old = None;
        for (i, r) in recs.iter().enumerate() {
            let age = now.millis_since(r.at);
            if age < up_window {
                up_recommendation = up_recommendation.min(r.replicas);
            }
            if age < down_window {
                down_recommendation = down_recommendation.max(r.replicas);
            }
            if age > obsolete {
                old = Some(i);
            }
        }
        let stabilized = current.max(up_recommendation).min(down_recommendation);
        match old {
            Some(i) => recs[i] = Recommendation { replicas: proposed, at: now },
            None => recs.push(Recommendation { replicas: proposed, at: now }),
        }
        if stabilized != proposed {
            let (reason, message) = if proposed >= current {
                ("ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation")
            } else {
                ("ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
            };
            set_condition(status, "AbleToScale", "True", reason, message.into(), now);
        } else {
            set_condition(status, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size".into(), now);
        }
        let (desired, reason, message) = if stabilized > current {
            let limit = scale_limit(current, self.scale_events(key), &up, true, now).max(current);
            let (maximum, reason, message) = if max > limit {
                (limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
            } else {
                (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
            };
            if stabilized > maximum {
                (maximum, reason, message)
            } else {
                (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range")
            }
        } else if stabilized < current {
            let limit = scale_limit(current, self.scale_events(key), &down, false, now).min(current);
            let (minimum, reason, message) = if min < limit {
                (limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
            } else {
                (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
            };
            if stabilized < minimum {
                (minimum, reason, message)
            } else {
                (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range")
            }
        } else {
            (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range")
        };
        let limited = if desired == stabilized { "False" } else { "True" };
        set_condition(status, "ScalingLimited", limited, reason, message.into(), now);
        desired
    }

    fn scale_events(&self, key: &ObjectKey) -> RecentScaleEvents<'_> {
        RecentScaleEvents {
            up: self.scale_up_events.get(key).map(Vec::as_slice).unwrap_or(&[]),
            down: self.scale_down_events.get(key).map(Vec::as_slice).unwrap_or(&[]),
        }
    }

    fn store_scale_event(&mut self, key: &ObjectKey, behavior: Option<&k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior>, previous: i32, new: i32, now: VirtualTime) {
        let Some(behavior) = behavior else { return };
        let (events, rules, change) = if new > previous {
            (self.scale_up_events.entry(key.clone()).or_default(), behavior.scale_up.clone().unwrap_or_default(), new - previous)
        } else {
            (self.scale_down_events.entry(key.clone()).or_default(), behavior.scale_down.clone().unwrap_or_default(), previous - new)
        };
        let longest = rules.policies.iter().flatten().map(|p| p.period_seconds).max().unwrap_or(0).max(0) as u64 * 1000;
        for e in events.iter_mut() {
            if now.millis_since(e.at) > longest {
                e.outdated = true;
            }
        }
        let fresh = ScaleEvent { change, at: now, outdated: false };
        match events.iter().rposition(|e| e.outdated) {
            Some(i) => events[i] = fresh,
            None => events.push(fresh),
        }
    }
}

/// The pods added and removed by this HPA's recent rescales.
struct RecentScaleEvents<'a> {
    up: &'a [ScaleEvent],
    down: &'a [ScaleEvent],
}

/// `getReplicasChangePerPeriod`: the replicas changed within the last `period_ms`.
fn changed_within(events: &[ScaleEvent], period_ms: u64, now: VirtualTime) -> i32 {
    events.iter().filter(|e| now.millis_since(e.at) < period_ms).map(|e| e.change).sum()
}

/// `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`.
fn scale_limit(current: i32, events: RecentScaleEvents, rules: &HPAScalingRules, up: bool, now: VirtualTime) -> i32 {
    let select = rules.select_policy.as_deref().unwrap_or("Max");
    if select == "Disabled" {
        return current;
    }
    // The largest change is the highest count scaling up and the lowest scaling down;
    // `Min` picks the smallest change.
    let pick_highest = up == (select != "Min");
    let mut result = if pick_highest { i32::MIN } else { i32::MAX };
    for policy in rules.policies.iter().flatten() {
        let period = policy.period_seconds.max(0) as u64 * 1000;
        // The count at the period's start: both directions' changes within it are undone.
        let start = current - changed_within(events.up, period, now) + changed_within(events.down, period, now);
        let proposed = match (up, policy.type_.as_str()) {
            (true, "Pods") => start + policy.value,
            (true, _) => (start as f64 * (1.0 + policy.value as f64 / 100.0)).ceil() as i32,
            (false, "Pods") => start - policy.value,
            (false, _) => (start as f64 * (1.0 - policy.value as f64 / 100.0)) as i32,
        };
        result = if pick_highest { result.max(proposed) } else { result.min(proposed) };
    }
    result
}

impl Reconciler for HorizontalPodAutoscalerController {
    fn name(&self) -> &str {
        "horizontal-pod-autoscaler"
    }
    fn kind(&self) -> ResourceId {
        ids::horizontal_pod_autoscalers()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::horizontal_pod_autoscalers(), ids::pods()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, _cache: &Cache, changes: &Changes, now: VirtualTime) {
        for ev in changes.of(ids::horizontal_pod_autoscalers()) {
            let key = ObjectKey::of(&ev.object);
            if ev.kind == WatchEventType::Deleted {
                self.recommendations.remove(&key);
                self.scale_up_events.remove(&key);
                self.scale_down_events.remove(&key);
                continue;
            }
            // The fixed-interval rate limiter: every add waits one sync period.
            self.work.queue.add_at(key, now.plus_millis(SYNC_PERIOD_MS));
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        match self.sync_hpa(ctx, cache, key) {
            Err(e) if e.reason == Reason::NotFound => Ok(Some(ctx.now.plus_millis(SYNC_PERIOD_MS))),
            other => other,
        }
    }
    fn forget(&mut self) {
        self.recommendations.clear();
        self.scale_up_events.clear();
        self.scale_down_events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::HPAScalingPolicy;

    fn rules(select: &str, policies: &[(&str, i32, i32)]) -> HPAScalingRules {
        HPAScalingRules {
            select_policy: Some(select.into()),
            policies: Some(policies.iter().map(|(t, v, p)| HPAScalingPolicy { type_: t.to_string(), value: *v, period_seconds: *p }).collect()),
            ..Default::default()
        }
    }

    fn none() -> RecentScaleEvents<'static> {
        RecentScaleEvents { up: &[], down: &[] }
    }

    #[test]
    fn scale_up_limits_follow_the_default_policies() {
        let up = rules("Max", &[("Pods", 4, 15), ("Percent", 100, 15)]);
        let now = VirtualTime::from_secs(100);
        // From 1: max(1+4, 1*2) = 5; from 10: max(14, 20) = 20.
        assert_eq!(scale_limit(1, none(), &up, true, now), 5);
        assert_eq!(scale_limit(10, none(), &up, true, now), 20);
        // 4 pods added 10 s ago count against the period: it starts from 1.
        let recent = [ScaleEvent { change: 4, at: VirtualTime::from_secs(90), outdated: false }];
        assert_eq!(scale_limit(5, RecentScaleEvents { up: &recent, down: &[] }, &up, true, now), 5);
        assert_eq!(scale_limit(5, RecentScaleEvents { up: &recent, down: &[] }, &rules("Min", &[("Pods", 4, 15), ("Percent", 100, 15)]), true, now), 2);
        assert_eq!(scale_limit(5, none(), &rules("Disabled", &[("Pods", 4, 15)]), true, now), 5);
    }

    #[test]
    fn scale_down_limits_round_down_percentages() {
        let down = rules("Max", &[("Percent", 50, 60)]);
        let now = VirtualTime::from_secs(100);
        assert_eq!(scale_limit(7, none(), &down, false, now), 3);
        let recent = [ScaleEvent { change: 2, at: VirtualTime::from_secs(70), outdated: false }];
        assert_eq!(scale_limit(5, RecentScaleEvents { up: &[], down: &recent }, &down, false, now), 3);
        // 2 pods removed 30 s ago count against a scale-up's period too: it starts from 7.
        let up = rules("Max", &[("Pods", 1, 60)]);
        assert_eq!(scale_limit(5, RecentScaleEvents { up: &[], down: &recent }, &up, true, now), 8);
    }

    #[test]
    fn a_container_without_a_request_is_named() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [
                {"name": "app", "resources": {"requests": {"cpu": "200m"}}},
                {"name": "sidecar"}
            ]}
        }))
        .unwrap();
        assert_eq!(requests(&[&pod], "cpu").unwrap_err(), "missing request for cpu in container sidecar of Pod web-1");
        let single: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-2"},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}}}]}
        }))
        .unwrap();
        assert_eq!(requests(&[&single], "cpu").unwrap()["web-2"], 250);
        let with_sidecar: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-3"},
            "spec": {
                "initContainers": [
                    {"name": "setup", "resources": {"requests": {"cpu": "1"}}},
                    {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}
                ],
                "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}}}]
            }
        }))
        .unwrap();
        assert_eq!(requests(&[&with_sidecar], "cpu").unwrap()["web-3"], 300);
        let sidecar_without: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-4"},
            "spec": {
                "initContainers": [{"name": "proxy", "restartPolicy": "Always"}],
                "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}}}]
            }
        }))
        .unwrap();
        assert_eq!(requests(&[&sidecar_without], "cpu").unwrap_err(), "missing request for cpu in container proxy of Pod web-4");
    }
}
