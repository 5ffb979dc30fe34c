//! RuntimeClass, as 1.33's `plugin/pkg/admission/runtimeclass` runs it on a
//! pod's create: a pod naming a class that does not exist is refused; its
//! mutating half copies the class's `overhead.podFixed` into
//! `spec.overhead` (what the scheduler, the kubelet's admission, quotas and
//! `describe node` add to the pod's requests) and merges the class's
//! `scheduling` node selector and tolerations into the pod; its validating
//! half refuses a pod whose overhead is not the class's.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::api::node::v1::RuntimeClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::{forbidden, pod_name, ApiServer};
use crate::engine::api::pod::Pod;
use crate::engine::api::{ids, ApiError, Object, Reason};
use crate::engine::quantity::parse_stored;

/// `prepareObjects`: the class the pod names, if it names one.
fn runtime_class_of(api: &ApiServer, pod: &Pod) -> Result<Option<RuntimeClass>, ApiError> {
    let Some(class_name) = pod.spec.as_ref().and_then(|s| s.runtime_class_name.clone()) else { return Ok(None) };
    let key = ApiServer::key(ids::runtime_classes(), "", &class_name);
    match api.store.get(&key).map(|e| e.value.object()) {
        Some(obj) => match &*obj {
            Object::RuntimeClass(rc) => Ok(Some((**rc).clone())),
            _ => Err(ApiError::new(Reason::InternalError, "unexpected object in runtime class storage")),
        },
        None => Err(forbidden("pods", &pod_name(pod), format!("pod rejected: RuntimeClass \"{class_name}\" not found"))),
    }
}

/// `apiequality.Semantic.DeepEqual` of two resource lists: the same names,
/// each quantity equal by value (`1` and `1000m` are equal).
fn same_resources(a: &BTreeMap<String, ApiQuantity>, b: &BTreeMap<String, ApiQuantity>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, q)| {
            b.get(name).is_some_and(|other| match (parse_stored(q), parse_stored(other)) {
                (Some(x), Some(y)) => x.nanos() == y.nanos(),
                _ => q.0 == other.0,
            })
        })
}

const OVERHEAD_MISMATCH: &str = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";

/// `Admit`: `setOverhead`, then `setScheduling`.
pub fn admit(api: &ApiServer, pod: &mut Pod) -> Result<(), ApiError> {
    let Some(class) = runtime_class_of(api, pod)? else { return Ok(()) };
    let name = pod_name(pod);
    if let Some(overhead) = class.overhead.as_ref() {
        let pod_fixed = overhead.pod_fixed.clone().filter(|f| !f.is_empty());
        let spec = pod.spec_mut();
        if let Some(given) = spec.overhead.as_ref() {
            if !same_resources(given, pod_fixed.as_ref().unwrap_or(&BTreeMap::new())) {
                return Err(forbidden("pods", &name, OVERHEAD_MISMATCH));
            }
        }
        spec.overhead = pod_fixed;
    }
    if let Some(scheduling) = class.scheduling.as_ref() {
        let spec = pod.spec_mut();
        if let Some(class_selector) = scheduling.node_selector.as_ref() {
            match spec.node_selector.as_mut() {
                None => spec.node_selector = Some(class_selector.clone()),
                Some(selector) => {
                    for (key, class_value) in class_selector {
                        if let Some(pod_value) = selector.get(key).filter(|v| *v != class_value) {
                            return Err(forbidden(
                                "pods",
                                &name,
                                format!("conflict: runtimeClass.scheduling.nodeSelector[{key}] = {class_value}; pod.spec.nodeSelector[{key}] = {pod_value}"),
                            ));
                        }
                        selector.insert(key.clone(), class_value.clone());
                    }
                }
            }
        }
        let merged = merge_tolerations(spec.tolerations.as_deref().unwrap_or_default(), scheduling.tolerations.as_deref().unwrap_or_default());
        spec.tolerations = if merged.is_empty() { None } else { Some(merged) };
    }
    Ok(())
}

/// `Validate`: the pod's overhead is its class's, and a pod without a
/// class defining one has none.
pub fn validate(api: &ApiServer, pod: &Pod) -> Result<(), ApiError> {
    let class = runtime_class_of(api, pod)?;
    let given = pod.spec.as_ref().and_then(|s| s.overhead.as_ref());
    match class.as_ref().and_then(|c| c.overhead.as_ref()) {
        Some(overhead) => {
            let empty = BTreeMap::new();
            if !same_resources(overhead.pod_fixed.as_ref().unwrap_or(&empty), given.unwrap_or(&empty)) {
                return Err(forbidden("pods", &pod_name(pod), OVERHEAD_MISMATCH));
            }
        }
        None if given.is_some() => {
            return Err(forbidden("pods", &pod_name(pod), "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"));
        }
        None => {}
    }
    Ok(())
}

/// `tolerations.MergeTolerations`: the pod's tolerations then the class's,
/// each left out when another one kept or still to come tolerates all it
/// does (of two equal ones the first is kept).
fn merge_tolerations(first: &[Toleration], second: &[Toleration]) -> Vec<Toleration> {
    let all: Vec<&Toleration> = first.iter().chain(second).collect();
    let mut merged: Vec<Toleration> = Vec::with_capacity(all.len());
    'next: for (i, t) in all.iter().enumerate() {
        if merged.iter().any(|kept| is_superset(kept, t)) {
            continue;
        }
        for later in &all[i + 1..] {
            if !same_toleration(t, later) && is_superset(later, t) {
                continue 'next;
            }
        }
        merged.push((*t).clone());
    }
    merged
}

fn same_toleration(a: &Toleration, b: &Toleration) -> bool {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    text(&a.key) == text(&b.key) && text(&a.operator) == text(&b.operator) && text(&a.value) == text(&b.value) && text(&a.effect) == text(&b.effect) && a.toleration_seconds == b.toleration_seconds
}

/// `isSuperset`: whether `ss` tolerates every taint `t` does.
fn is_superset(ss: &Toleration, t: &Toleration) -> bool {
    if same_toleration(ss, t) {
        return true;
    }
    let text = |s: &Option<String>| s.as_deref().unwrap_or("").to_string();
    let (ss_key, t_key, ss_operator) = (text(&ss.key), text(&t.key), text(&ss.operator));
    // An empty key with Exists matches every key.
    if t_key != ss_key && (!ss_key.is_empty() || ss_operator != "Exists") {
        return false;
    }
    let ss_effect = text(&ss.effect);
    if text(&t.effect) != ss_effect && !ss_effect.is_empty() {
        return false;
    }
    if ss_effect == "NoExecute" {
        if let Some(limit) = ss.toleration_seconds {
            if t.toleration_seconds.is_none_or(|s| s > limit) {
                return false;
            }
        }
    }
    match ss_operator.as_str() {
        "Equal" | "" => text(&t.operator) == "Equal" && text(&t.value) == text(&ss.value),
        "Exists" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toleration(key: &str, operator: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Toleration { key: some(key), operator: some(operator), value: None, effect: some(effect), toleration_seconds: seconds }
    }

    #[test]
    fn merging_keeps_the_wider_toleration_and_the_first_of_equal_ones() {
        let pod = vec![toleration("node.kubernetes.io/not-ready", "Exists", "NoExecute", Some(300))];
        let class = vec![toleration("node.kubernetes.io/not-ready", "Exists", "NoExecute", None), toleration("sandbox", "Exists", "NoSchedule", None)];
        let merged = merge_tolerations(&pod, &class);
        assert_eq!(merged, vec![class[0].clone(), class[1].clone()]);
        let twice = merge_tolerations(&class, &class);
        assert_eq!(twice, class);
    }

    #[test]
    fn an_empty_key_with_exists_tolerates_every_key() {
        assert!(is_superset(&toleration("", "Exists", "", None), &toleration("a", "Equal", "NoSchedule", None)));
        assert!(!is_superset(&toleration("a", "Equal", "NoSchedule", None), &toleration("", "Exists", "", None)));
    }
}
