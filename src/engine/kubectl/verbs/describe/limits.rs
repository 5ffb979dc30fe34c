//! `kubectl describe limitrange` (`describeLimitRange`) and the "Resource
//! Limits" block of `kubectl describe namespace` (`DescribeLimitRanges`):
//! one row per item and resource named in any of its lists, `-` where a
//! list does not name it. kubectl walks the resources in Go's random map
//! order; here they are in name order.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::LimitRange;

use super::Writer;

const HEADER: &str = "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio";
const RULE: &str = "----\t--------\t---\t---\t---------------\t-------------\t-----------------------";

fn describe_spec(w: &mut Writer, lr: &LimitRange, prefix: &str) {
    for item in lr.spec.iter().flat_map(|s| s.limits.iter()) {
        let lists = [&item.min, &item.max, &item.default_request, &item.default, &item.max_limit_request_ratio];
        let names: BTreeSet<&String> = lists.iter().flat_map(|l| l.iter().flat_map(|m| m.keys())).collect();
        for name in names {
            let values: Vec<&str> = lists.iter().map(|l| l.as_ref().and_then(|m| m.get(name)).map_or("-", |q| q.0.as_str())).collect();
            w.line(0, &format!("{prefix}{}\t{name}\t{}", item.type_, values.join("\t")));
        }
    }
}

/// `describeLimitRange`.
pub fn describe_limit_range(w: &mut Writer, lr: &LimitRange) {
    w.line(0, &format!("Name:\t{}", lr.metadata.name.as_deref().unwrap_or("")));
    w.line(0, &format!("Namespace:\t{}", lr.metadata.namespace.as_deref().unwrap_or("")));
    w.line(0, HEADER);
    w.line(0, RULE);
    describe_spec(w, lr, "");
}

/// `DescribeLimitRanges`: every LimitRange of a namespace in one table.
pub fn describe_limit_ranges(w: &mut Writer, ranges: &[&LimitRange]) {
    if ranges.is_empty() {
        w.line(0, "No LimitRange resource.");
        return;
    }
    w.line(0, &format!("Resource Limits\n {HEADER}"));
    w.line(0, &format!(" {RULE}"));
    for lr in ranges {
        describe_spec(w, lr, " ");
    }
}
