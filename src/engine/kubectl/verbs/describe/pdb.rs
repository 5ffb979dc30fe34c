//! `kubectl describe poddisruptionbudget` (`describePodDisruptionBudgetV1`).

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Writer;
use crate::engine::kubectl::printers::tables::format_label_selector;

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

pub(super) fn describe(w: &mut Writer, pdb: &PodDisruptionBudget) {
    w.line(0, &format!("Name:\t{}", pdb.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", pdb.metadata.namespace.as_deref().unwrap_or("")));
    let spec = pdb.spec.clone().unwrap_or_default();
    if let Some(min) = &spec.min_available {
        w.line(0, &format!("Min available:\t{}", int_or_string(min)));
    } else if let Some(max) = &spec.max_unavailable {
        w.line(0, &format!("Max unavailable:\t{}", int_or_string(max)));
    }
    match &spec.selector {
        Some(s) => w.line(0, &format!("Selector:\t{}", format_label_selector(Some(s)))),
        None => w.line(0, "Selector:\t<unset>"),
    }
    let status = pdb.status.clone().unwrap_or_default();
    w.line(0, "Status:");
    w.line(2, &format!("Allowed disruptions:\t{}", status.disruptions_allowed));
    w.line(2, &format!("Current:\t{}", status.current_healthy));
    w.line(2, &format!("Desired:\t{}", status.desired_healthy));
    w.line(2, &format!("Total:\t{}", status.expected_pods));
}
