//! LimitRanger, as 1.33's `plugin/pkg/admission/limitranger` runs it: its
//! mutating half fills a new pod's container requests and limits from the
//! namespace's LimitRanges' `Container` defaults; its validating half, after
//! the object's own validation, holds each container (`Container`), the pod
//! as a whole (`Pod`) and a claim's storage request (`PersistentVolumeClaim`)
//! to each LimitRange's min, max and max limit/request ratio. The first
//! LimitRange a request breaks refuses it (Forbidden) with every rule of
//! that range it breaks. Go walks a range's resources in random order; here
//! they are walked in name order.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, LimitRangeItem, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::{forbidden, list_in, pod_name, ApiServer, LIMIT_RANGES_PREFIX};
use crate::engine::api::pod::Pod;
use crate::engine::api::{ids, ApiError, Object};
use crate::engine::quantity::{parse_stored, Quantity};

/// `resource.MaxMilliValue`: the largest value whose thousandths fit an int64.
const MAX_MILLI_VALUE: i64 = i64::MAX / 1000;

type Resources = BTreeMap<String, Quantity>;

fn limit_ranges(api: &ApiServer, namespace: &str) -> Vec<Rc<Object>> {
    if !api.store.holds_any_under(LIMIT_RANGES_PREFIX) {
        return Vec::new();
    }
    list_in(api, ids::limit_ranges(), Some(namespace))
}

fn items(object: &Object) -> &[LimitRangeItem] {
    match object {
        Object::LimitRange(lr) => lr.spec.as_ref().map_or(&[], |s| s.limits.as_slice()),
        _ => &[],
    }
}

/// The mutating half: each LimitRange in turn fills what a container does
/// not state from its `Container` items' `default` (limits) and
/// `defaultRequest` (requests), and notes what it set in the
/// `kubernetes.io/limit-ranger` annotation.
pub fn default_pod(api: &ApiServer, pod: &mut Pod) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    for range in limit_ranges(api, &namespace) {
        default_pod_from(items(&range), pod);
    }
}

fn default_pod_from(items: &[LimitRangeItem], pod: &mut Pod) {
    let mut default_limits = BTreeMap::new();
    let mut default_requests = BTreeMap::new();
    for item in items.iter().filter(|i| i.type_ == "Container") {
        default_requests.extend(item.default_request.clone().unwrap_or_default());
        default_limits.extend(item.default.clone().unwrap_or_default());
    }
    let mut notes = Vec::new();
    let spec = pod.spec_mut();
    let groups = [("container", spec.containers.iter_mut().collect::<Vec<_>>()), ("init container", spec.init_containers.iter_mut().flatten().collect())];
    for (prefix, containers) in groups {
        for container in containers {
            merge_container_resources(container, &default_limits, &default_requests, prefix, &mut notes);
        }
    }
    if !notes.is_empty() {
        pod.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert("kubernetes.io/limit-ranger".to_string(), format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
}

fn merge_container_resources(
    container: &mut Container,
    default_limits: &BTreeMap<String, ApiQuantity>,
    default_requests: &BTreeMap<String, ApiQuantity>,
    prefix: &str,
    notes: &mut Vec<String>,
) {
    let resources = container.resources.get_or_insert_with(Default::default);
    let fill = |list: &mut Option<BTreeMap<String, ApiQuantity>>, defaults: &BTreeMap<String, ApiQuantity>| {
        let list = list.get_or_insert_with(BTreeMap::new);
        let mut set = Vec::new();
        for (name, value) in defaults {
            if !list.contains_key(name) {
                list.insert(name.clone(), value.clone());
                set.push(name.clone());
            }
        }
        set
    };
    let set_limits = fill(&mut resources.limits, default_limits);
    let set_requests = fill(&mut resources.requests, default_requests);
    // An empty list is not written (omitempty).
    if resources.limits.as_ref().is_some_and(BTreeMap::is_empty) {
        resources.limits = None;
    }
    if resources.requests.as_ref().is_some_and(BTreeMap::is_empty) {
        resources.requests = None;
    }
    if !set_requests.is_empty() {
        notes.push(format!("{} request for {prefix} {}", set_requests.join(", "), container.name));
    }
    if !set_limits.is_empty() {
        notes.push(format!("{} limit for {prefix} {}", set_limits.join(", "), container.name));
    }
}

/// The validating half, for a new pod or a new or changed claim; `old` is
/// the stored object of an update. Pods are checked on create only (their
/// containers' resources cannot change), and nothing being deleted is.
pub fn validate(api: &ApiServer, obj: &Object, old: Option<&Object>) -> Result<(), ApiError> {
    if old.is_some_and(|o| o.meta().deletion_timestamp.is_some()) {
        return Ok(());
    }
    let (plural, name, check): (&str, String, &dyn Fn(&[LimitRangeItem]) -> Vec<String>) = match obj {
        Object::Pod(pod) if old.is_none() => ("pods", pod_name(pod), &|items| validate_pod(items, pod)),
        Object::PersistentVolumeClaim(pvc) => ("persistentvolumeclaims", pvc.metadata.name.clone().unwrap_or_default(), &|items| validate_claim(items, pvc)),
        _ => return Ok(()),
    };
    let namespace = obj.meta().namespace.clone().unwrap_or_default();
    for range in limit_ranges(api, &namespace) {
        if let Some(message) = aggregate(check(items(&range))) {
            return Err(forbidden(plural, &name, message));
        }
    }
    Ok(())
}

/// `utilerrors.NewAggregate(errs).Error()`: one message as itself, several
/// (each once) in brackets.
fn aggregate(errors: Vec<String>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => None,
        1 => seen.pop(),
        _ => Some(format!("[{}]", seen.join(", "))),
    }
}

fn parsed(list: Option<&BTreeMap<String, ApiQuantity>>) -> Resources {
    list.into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), parse_stored(v)?))).collect()
}

fn container_lists(container: &Container) -> (Resources, Resources) {
    let resources = container.resources.as_ref();
    (parsed(resources.and_then(|r| r.requests.as_ref())), parsed(resources.and_then(|r| r.limits.as_ref())))
}

/// Every rule of one LimitRange's items a pod breaks.
fn validate_pod(items: &[LimitRangeItem], pod: &Pod) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(spec) = pod.spec.as_deref() else { return errors };
    for item in items {
        let limit_type = item.type_.as_str();
        if limit_type == "Container" {
            for container in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
                let (requests, limits) = container_lists(container);
                check_all(item, limit_type, &requests, &limits, &mut errors);
            }
        }
        if limit_type == "Pod" {
            let (requests, limits) = pod_totals(spec);
            check_all(item, limit_type, &requests, &limits, &mut errors);
        }
    }
    errors
}

fn check_all(item: &LimitRangeItem, limit_type: &str, requests: &Resources, limits: &Resources, errors: &mut Vec<String>) {
    for (name, enforced) in parsed(item.min.as_ref()) {
        errors.extend(min_constraint(limit_type, &name, &enforced, requests, limits));
    }
    for (name, enforced) in parsed(item.max.as_ref()) {
        errors.extend(max_constraint(limit_type, &name, &enforced, requests, limits));
    }
    for (name, enforced) in parsed(item.max_limit_request_ratio.as_ref()) {
        errors.extend(limit_request_ratio_constraint(limit_type, &name, &enforced, requests, limits));
    }
}

/// A claim's storage request against the `PersistentVolumeClaim` items:
/// its limits are not the user's to set, so max holds the request.
fn validate_claim(items: &[LimitRangeItem], pvc: &PersistentVolumeClaim) -> Vec<String> {
    let requests = parsed(pvc.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()));
    let mut errors = Vec::new();
    for item in items.iter().filter(|i| i.type_ == "PersistentVolumeClaim") {
        for (name, enforced) in parsed(item.min.as_ref()) {
            errors.extend(min_constraint(&item.type_, &name, &enforced, &requests, &Resources::new()));
        }
        for (name, enforced) in parsed(item.max.as_ref()) {
            errors.extend(max_request_constraint(&item.type_, &name, &enforced, &requests));
        }
    }
    errors
}

/// `podRequests` and `podLimits`: the containers' sum, at least the largest
/// init container's (each with the sidecars started before it), sidecars
/// counted with the containers.
fn pod_totals(spec: &k8s_openapi::api::core::v1::PodSpec) -> (Resources, Resources) {
    let mut totals = [Resources::new(), Resources::new()];
    let mut sidecars = [Resources::new(), Resources::new()];
    let mut init = [Resources::new(), Resources::new()];
    for container in &spec.containers {
        let (requests, limits) = container_lists(container);
        add_resources(&mut totals[0], &requests);
        add_resources(&mut totals[1], &limits);
    }
    for container in spec.init_containers.iter().flatten() {
        let (requests, limits) = container_lists(container);
        for (i, own) in [requests, limits].into_iter().enumerate() {
            if container.restart_policy.as_deref() == Some("Always") {
                add_resources(&mut totals[i], &own);
                add_resources(&mut sidecars[i], &own);
                max_resources(&mut init[i], &sidecars[i].clone());
            } else {
                let mut with_sidecars = Resources::new();
                add_resources(&mut with_sidecars, &own);
                add_resources(&mut with_sidecars, &sidecars[i]);
                max_resources(&mut init[i], &with_sidecars);
            }
        }
    }
    let [mut requests, mut limits] = totals;
    max_resources(&mut requests, &init[0]);
    max_resources(&mut limits, &init[1]);
    (requests, limits)
}

/// `addResourceList`: a sum keeps the format of the first quantity.
fn add_resources(list: &mut Resources, new: &Resources) {
    for (name, q) in new {
        let sum = match list.get(name) {
            Some(have) => have.add(q),
            None => *q,
        };
        list.insert(name.clone(), sum);
    }
}

/// `maxResourceList`.
fn max_resources(list: &mut Resources, new: &Resources) {
    for (name, q) in new {
        if list.get(name).is_none_or(|have| q > have) {
            list.insert(name.clone(), *q);
        }
    }
}

/// `requestLimitEnforcedValues`: whole units, or thousandths when all three fit.
fn common_precision(request: Option<&Quantity>, limit: Option<&Quantity>, enforced: &Quantity) -> (i64, i64, i64) {
    let zero = Quantity::zero();
    let (request, limit) = (request.unwrap_or(&zero), limit.unwrap_or(&zero));
    if request.value() <= MAX_MILLI_VALUE && limit.value() <= MAX_MILLI_VALUE && enforced.value() <= MAX_MILLI_VALUE {
        (request.milli_value(), limit.milli_value(), enforced.milli_value())
    } else {
        (request.value(), limit.value(), enforced.value())
    }
}

fn min_constraint(limit_type: &str, name: &str, enforced: &Quantity, requests: &Resources, limits: &Resources) -> Option<String> {
    let (request, limit) = (requests.get(name), limits.get(name));
    let (observed_request, observed_limit, enforced_value) = common_precision(request, limit, enforced);
    let Some(request) = request else {
        return Some(format!("minimum {name} usage per {limit_type} is {enforced}.  No request is specified"));
    };
    if observed_request < enforced_value {
        return Some(format!("minimum {name} usage per {limit_type} is {enforced}, but request is {request}"));
    }
    match limit {
        Some(limit) if observed_limit < enforced_value => Some(format!("minimum {name} usage per {limit_type} is {enforced}, but limit is {limit}")),
        _ => None,
    }
}

fn max_request_constraint(limit_type: &str, name: &str, enforced: &Quantity, requests: &Resources) -> Option<String> {
    let request = requests.get(name);
    let (observed_request, _, enforced_value) = common_precision(request, None, enforced);
    let Some(request) = request else {
        return Some(format!("maximum {name} usage per {limit_type} is {enforced}.  No request is specified"));
    };
    (observed_request > enforced_value).then(|| format!("maximum {name} usage per {limit_type} is {enforced}, but request is {request}"))
}

fn max_constraint(limit_type: &str, name: &str, enforced: &Quantity, requests: &Resources, limits: &Resources) -> Option<String> {
    let (request, limit) = (requests.get(name), limits.get(name));
    let (observed_request, observed_limit, enforced_value) = common_precision(request, limit, enforced);
    let Some(limit) = limit else {
        return Some(format!("maximum {name} usage per {limit_type} is {enforced}.  No limit is specified"));
    };
    if observed_limit > enforced_value {
        return Some(format!("maximum {name} usage per {limit_type} is {enforced}, but limit is {limit}"));
    }
    match request {
        Some(request) if observed_request > enforced_value => Some(format!("maximum {name} usage per {limit_type} is {enforced}, but request is {request}")),
        _ => None,
    }
}

fn limit_request_ratio_constraint(limit_type: &str, name: &str, enforced: &Quantity, requests: &Resources, limits: &Resources) -> Option<String> {
    let (request, limit) = (requests.get(name), limits.get(name));
    let (observed_request, observed_limit, _) = common_precision(request, limit, enforced);
    if request.is_none() || observed_request == 0 {
        return Some(format!("{name} max limit to request ratio per {limit_type} is {enforced}, but no request is specified or request is 0"));
    }
    if limit.is_none() || observed_limit == 0 {
        return Some(format!("{name} max limit to request ratio per {limit_type} is {enforced}, but no limit is specified or limit is 0"));
    }
    let shown_ratio = observed_limit as f64 / observed_request as f64;
    let (observed_ratio, max_ratio) = if enforced.value() <= MAX_MILLI_VALUE {
        (shown_ratio * 1000.0, enforced.milli_value() as f64)
    } else {
        (shown_ratio, enforced.value() as f64)
    };
    (observed_ratio > max_ratio).then(|| format!("{name} max limit to request ratio per {limit_type} is {enforced}, but provided ratio is {shown_ratio:.6}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|_| Quantity::zero())
    }

    fn list(pairs: &[(&str, &str)]) -> Resources {
        pairs.iter().map(|(k, v)| (k.to_string(), q(v))).collect()
    }

    #[test]
    fn ratio_is_shown_with_six_decimals() {
        let message = limit_request_ratio_constraint("Container", "cpu", &q("4"), &list(&[("cpu", "100m")]), &list(&[("cpu", "800m")]));
        assert_eq!(message.as_deref(), Some("cpu max limit to request ratio per Container is 4, but provided ratio is 8.000000"));
        assert_eq!(limit_request_ratio_constraint("Container", "cpu", &q("4"), &list(&[("cpu", "100m")]), &list(&[("cpu", "400m")])), None);
    }

    #[test]
    fn pod_totals_sum_containers_and_keep_the_first_format() {
        let spec: k8s_openapi::api::core::v1::PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [
                {"name": "a", "resources": {"limits": {"memory": "800Mi"}}},
                {"name": "b", "resources": {"limits": {"memory": "800Mi"}}}
            ],
            "initContainers": [{"name": "i", "resources": {"limits": {"memory": "2Gi"}}}]
        }))
        .unwrap_or_default();
        let (_, limits) = pod_totals(&spec);
        assert_eq!(limits.get("memory").map(|m| m.canonical()).as_deref(), Some("2Gi"));
        let spec: k8s_openapi::api::core::v1::PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [
                {"name": "a", "resources": {"limits": {"memory": "800Mi"}}},
                {"name": "b", "resources": {"limits": {"memory": "800Mi"}}}
            ]
        }))
        .unwrap_or_default();
        let (_, limits) = pod_totals(&spec);
        let max = max_constraint("Pod", "memory", &q("1Gi"), &Resources::new(), &limits);
        assert_eq!(max.as_deref(), Some("maximum memory usage per Pod is 1Gi, but limit is 1600Mi"));
    }

    #[test]
    fn aggregate_lists_each_message_once() {
        assert_eq!(aggregate(vec!["a".into(), "a".into()]).as_deref(), Some("a"));
        assert_eq!(aggregate(vec!["a".into(), "b".into()]).as_deref(), Some("[a, b]"));
        assert_eq!(aggregate(Vec::new()), None);
    }
}
