//! `kubectl describe quota` (`describeQuota`) and the "Resource Quotas"
//! block of `kubectl describe namespace` (`DescribeResourceQuotas`). Both
//! list `status.hard` (empty until the quota controller has filled it),
//! sorted by resource name, against `status.used`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Stored;

use super::Writer;
use crate::engine::quantity::Quantity;
use crate::engine::sort::SortStable;

/// `helpTextForResourceQuotaScope`: the four scopes kubectl explains.
fn scope_help(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "Terminating" => "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.",
        "NotTerminating" => "Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.",
        "BestEffort" => "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.",
        "NotBestEffort" => "Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.",
        _ => return None,
    })
}

/// `Scopes:` (sorted, joined by `, `) and one help line per known scope;
/// nothing without scopes.
fn scopes(w: &mut Writer, level: usize, bullet: &str, q: &ResourceQuota) {
    let mut scopes: Vec<String> = q.spec.as_ref().and_then(|s| s.scopes.clone()).unwrap_or_default();
    if scopes.is_empty() {
        return;
    }
    scopes.sort_stable();
    w.line(level, &format!("Scopes:\t{}", scopes.join(", ")));
    for scope in &scopes {
        if let Some(help) = scope_help(scope) {
            w.line(level, &format!("{bullet}{help}"));
        }
    }
}

fn status_lists(q: &ResourceQuota) -> (BTreeMap<String, Stored>, BTreeMap<String, Stored>) {
    let status = q.status.clone().unwrap_or_default();
    (status.hard.unwrap_or_default(), status.used.unwrap_or_default())
}

/// What `describeQuota` prints as used: in the hard limit's format when
/// the two differ (`resource.NewQuantity(used.Value(), hard.Format)`), so
/// a missing value is `0`.
fn used_as_hard(used: Option<&Stored>, hard: &Stored) -> String {
    let Some(hard) = Quantity::parse(hard.0.trim()).ok() else {
        return used.map_or_else(|| "0".to_string(), |u| u.0.clone());
    };
    match used.map(|u| (u, Quantity::parse(u.0.trim()))) {
        Some((u, Ok(parsed))) if parsed.format == hard.format => u.0.clone(),
        Some((_, Ok(parsed))) => Quantity::from_nanos(i128::from(parsed.value()) * 1_000_000_000, hard.format).canonical(),
        Some((u, Err(_))) => u.0.clone(),
        None => "0".to_string(),
    }
}

/// `kubectl describe quota NAME`.
pub(super) fn describe_quota(w: &mut Writer, q: &ResourceQuota) {
    w.line(0, &format!("Name:\t{}", q.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", q.metadata.namespace.as_deref().unwrap_or("")));
    scopes(w, 0, " * ", q);
    w.line(0, "Resource\tUsed\tHard");
    w.line(0, "--------\t----\t----");
    let (hard, used) = status_lists(q);
    for (resource, h) in &hard {
        w.line(0, &format!("{resource}\t{}\t{}", used_as_hard(used.get(resource), h), h.0));
    }
}

/// `DescribeResourceQuotas`: every quota of a namespace, by name, under one title.
pub(super) fn describe_resource_quotas(w: &mut Writer, quotas: &[&ResourceQuota]) {
    if quotas.is_empty() {
        w.line(0, "No resource quota.");
        return;
    }
    let mut quotas = quotas.to_vec();
    quotas.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    w.line(0, "Resource Quotas");
    for q in quotas {
        w.line(1, &format!("Name:\t{}", q.metadata.name.as_deref().unwrap_or("")));
        scopes(w, 1, "* ", q);
        w.line(1, "Resource\tUsed\tHard");
        w.line(1, "--------\t---\t---");
        let (hard, used) = status_lists(q);
        for (resource, h) in &hard {
            let u = used.get(resource).map_or("0", |u| u.0.as_str());
            w.line(1, &format!("{resource}\t{u}\t{}", h.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kubectl::printers::tabwriter::DESCRIBE;

    /// Objects as a fake API server served them to kubectl.1.33 for the
    /// expected texts below (`small`'s used memory is another format than
    /// its hard limit, `exp` mixes exponent and binary formats).
    fn quota(json: &str) -> ResourceQuota {
        serde_json::from_str(json).unwrap()
    }

    fn small() -> ResourceQuota {
        quota(r#"{"metadata": {"name": "small", "namespace": "q", "creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi"}, "scopes": ["NotTerminating", "BestEffort", "Bogus"]}, "status": {"hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi", "requests.memory": "1Gi", "count/foo": "5"}, "used": {"pods": "1", "requests.cpu": "500m", "limits.memory": "512M", "requests.memory": "500m"}}}"#)
    }

    fn exp() -> ResourceQuota {
        quota(r#"{"metadata": {"name": "exp", "namespace": "q", "creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {"hard": {"x": "1e3"}, "scopes": ["Terminating", "NotBestEffort", "PriorityClass"]}, "status": {"hard": {"x": "1e3", "y": "2k", "z": "1Gi", "w": "5", "limits": "3", "limits.cpu": "2", "limitsx.cpu": "4"}, "used": {"x": "5", "y": "1e3", "z": "1536Mi", "w": "3", "other": "7", "limits.cpu": "1500m"}}}"#)
    }

    fn empty() -> ResourceQuota {
        quota(r#"{"metadata": {"name": "empty", "namespace": "q", "creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {"hard": {"pods": "2"}}, "status": {}}"#)
    }

    fn described(q: &ResourceQuota) -> String {
        let mut w = Writer::default();
        describe_quota(&mut w, q);
        DESCRIBE.format(&w.text)
    }

    #[test]
    fn describes_a_quota_as_kubectl_1_33() {
        assert_eq!(described(&small()), "Name:       small\nNamespace:  q\nScopes:     BestEffort, Bogus, NotTerminating\n * Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.\n * Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.\nResource         Used      Hard\n--------         ----      ----\ncount/foo        0         5\nlimits.memory    500000Ki  1Gi\npods             1         2\nrequests.cpu     500m      1\nrequests.memory  1         1Gi\n");
        assert_eq!(described(&exp()), "Name:       exp\nNamespace:  q\nScopes:     NotBestEffort, PriorityClass, Terminating\n * Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.\n * Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.\nResource     Used    Hard\n--------     ----    ----\nlimits       0       3\nlimits.cpu   1500m   2\nlimitsx.cpu  0       4\nw            3       5\nx            5       1e3\ny            1k      2k\nz            1536Mi  1Gi\n");
        // No status yet: the table is empty, whatever spec.hard holds.
        assert_eq!(described(&empty()), "Name:       empty\nNamespace:  q\nResource    Used  Hard\n--------    ----  ----\n");
    }

    #[test]
    fn describes_a_namespace_s_quotas_as_kubectl_1_33() {
        let (small, exp, empty) = (small(), exp(), empty());
        let mut w = Writer::default();
        describe_resource_quotas(&mut w, &[&small, &exp, &empty]);
        assert_eq!(DESCRIBE.format(&w.text), "Resource Quotas\n  Name:     empty\n  Resource  Used  Hard\n  --------  ---   ---\n  Name:     exp\n  Scopes:   NotBestEffort, PriorityClass, Terminating\n  * Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.\n  * Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.\n  Resource     Used    Hard\n  --------     ---     ---\n  limits       0       3\n  limits.cpu   1500m   2\n  limitsx.cpu  0       4\n  w            3       5\n  x            5       1e3\n  y            1e3     2k\n  z            1536Mi  1Gi\n  Name:        small\n  Scopes:      BestEffort, Bogus, NotTerminating\n  * Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.\n  * Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.\n  Resource         Used  Hard\n  --------         ---   ---\n  count/foo        0     5\n  limits.memory    512M  1Gi\n  pods             1     2\n  requests.cpu     500m  1\n  requests.memory  500m  1Gi\n");
        let mut w = Writer::default();
        describe_resource_quotas(&mut w, &[]);
        assert_eq!(w.text, "No resource quota.\n");
    }
}
