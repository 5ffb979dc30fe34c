//! The parts of `pkg/apis/batch/validation` that check a Job's policies:
//! backoff per index, pod failure and success policies, pod replacement,
//! `managedBy`, and the `0-2,4` index lists those policies name.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{JobSpec, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule, SuccessPolicy};

use super::{dns1123_subdomain, qualified_name, quote, Errors};

const MAX_PARALLELISM_FOR_INDEXED: i32 = 100_000;
const MAX_FAILED_INDEXES: i32 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILURE_POLICY_RULES: usize = 20;
const MAX_EXIT_CODE_VALUES: usize = 255;
const MAX_CONDITION_PATTERNS: usize = 20;
const MAX_MANAGED_BY_LENGTH: usize = 63;
const MAX_SUCCEEDED_INDEXES_LENGTH: usize = 64 * 1024;
const MAX_SUCCESS_POLICY_RULES: usize = 20;
const FAILURE_POLICY_ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
const EXIT_CODE_OPERATORS: [&str; 2] = ["In", "NotIn"];
const CONDITION_STATUSES: [&str; 3] = ["False", "True", "Unknown"];

/// `field.TooMany`.
fn too_many(errs: &mut Errors, field: &str, actual: usize, max: usize) {
    errs.0.push(crate::engine::api::Cause { field: field.to_string(), message: format!("Too many: {actual}: must have at most {max} items") });
}

/// Go's `%q` of a string list, as `fmt.Sprintf("%q", []string{…})` prints it.
fn quoted_list(values: &[&str]) -> String {
    let parts: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[{}]", parts.join(" "))
}

/// The backoff-per-index, `managedBy` and Indexed-mode limits of `validateJobSpec`,
/// in its order, between the plain non-negative checks and the policies.
pub fn validate_index_limits(spec: &JobSpec, path: &str, errs: &mut Errors) {
    if let Some(v) = spec.backoff_limit_per_index {
        errs.non_negative(&format!("{path}.backoffLimitPerIndex"), v.into());
    }
    if let Some(v) = spec.max_failed_indexes {
        errs.non_negative(&format!("{path}.maxFailedIndexes"), v.into());
        if spec.backoff_limit_per_index.is_none() {
            errs.required(&format!("{path}.backoffLimitPerIndex"), "when maxFailedIndexes is specified");
        }
    }
    if let Some(managed_by) = spec.managed_by.as_deref() {
        validate_domain_prefixed_path(&format!("{path}.managedBy"), managed_by, errs);
        if managed_by.len() > MAX_MANAGED_BY_LENGTH {
            errs.too_long(&format!("{path}.managedBy"), MAX_MANAGED_BY_LENGTH);
        }
    }
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    if indexed {
        if let Some(p) = spec.parallelism.filter(|p| *p > MAX_PARALLELISM_FOR_INDEXED) {
            let detail = format!("must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED} when completion mode is Indexed");
            errs.invalid_int(&format!("{path}.parallelism"), p.into(), &detail);
        }
        if let (Some(c), Some(m)) = (spec.completions, spec.max_failed_indexes) {
            if m > c {
                errs.invalid_int(&format!("{path}.maxFailedIndexes"), m.into(), "must be less than or equal to completions");
            }
        }
        if let Some(m) = spec.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES) {
            errs.invalid_int(&format!("{path}.maxFailedIndexes"), m.into(), &format!("must be less than or equal to {MAX_FAILED_INDEXES}"));
        }
        if spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && spec.backoff_limit_per_index.is_some() {
            if spec.max_failed_indexes.is_none() {
                errs.required(&format!("{path}.maxFailedIndexes"), &format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"));
            }
            let tail = format!("when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index");
            if let Some(p) = spec.parallelism.filter(|p| *p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS) {
                errs.invalid_int(&format!("{path}.parallelism"), p.into(), &format!("must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} {tail}"));
            }
            if let Some(m) = spec.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS) {
                errs.invalid_int(&format!("{path}.maxFailedIndexes"), m.into(), &format!("must be less than or equal to {MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS} {tail}"));
            }
        }
    } else {
        if let Some(v) = spec.backoff_limit_per_index {
            errs.invalid_int(&format!("{path}.backoffLimitPerIndex"), v.into(), "requires indexed completion mode");
        }
        if let Some(v) = spec.max_failed_indexes {
            errs.invalid_int(&format!("{path}.maxFailedIndexes"), v.into(), "requires indexed completion mode");
        }
    }
}

/// `IsDomainPrefixedPath`.
pub(super) fn validate_domain_prefixed_path(field: &str, value: &str, errs: &mut Errors) {
    if value.is_empty() {
        errs.required(field, "");
        return;
    }
    let Some((host, rest)) = value.split_once('/').filter(|(h, r)| !h.is_empty() && !r.is_empty()) else {
        errs.invalid_str(field, value, "must be a domain-prefixed path (such as \"acme.io/foo\")");
        return;
    };
    for msg in dns1123_subdomain(host) {
        errs.invalid_str(field, host, &msg);
    }
    let path_char = |c: char| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c);
    if !rest.chars().all(path_char) {
        errs.invalid_str(field, rest, "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')");
    }
}

/// The policy checks at the end of `validateJobSpec`, before the template.
pub fn validate_policies(spec: &JobSpec, path: &str, errs: &mut Errors) {
    if let Some(policy) = &spec.pod_failure_policy {
        let rules_path = format!("{path}.podFailurePolicy.rules");
        if policy.rules.len() > MAX_FAILURE_POLICY_RULES {
            too_many(errs, &rules_path, policy.rules.len(), MAX_FAILURE_POLICY_RULES);
        }
        let pod = spec.template.spec.as_ref();
        let containers: BTreeSet<&str> =
            pod.into_iter().flat_map(|p| p.containers.iter().chain(p.init_containers.iter().flatten())).map(|c| c.name.as_str()).collect();
        for (i, rule) in policy.rules.iter().enumerate() {
            validate_failure_rule(spec, rule, &format!("{rules_path}[{i}]"), &containers, errs);
        }
    }
    if let Some(policy) = &spec.success_policy {
        let field = format!("{path}.successPolicy");
        if spec.completion_mode.as_deref() != Some("Indexed") {
            errs.invalid(&field, &success_policy_value(policy), "requires indexed completion mode");
        } else {
            validate_success_policy(spec, policy, &field, errs);
        }
    }
    if let Some(replacement) = spec.pod_replacement_policy.as_deref() {
        let field = format!("{path}.podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if replacement != "Failed" {
                errs.unsupported(&field, replacement, &["Failed"]);
            }
        } else if !["Failed", "TerminatingOrFailed"].contains(&replacement) {
            errs.unsupported(&field, replacement, &["Failed", "TerminatingOrFailed"]);
        }
    }
}

fn validate_failure_rule(spec: &JobSpec, rule: &PodFailurePolicyRule, path: &str, containers: &BTreeSet<&str>, errs: &mut Errors) {
    let action_path = format!("{path}.action");
    match rule.action.as_str() {
        "" => errs.required(&action_path, &format!("valid values: {}", quoted_list(&FAILURE_POLICY_ACTIONS))),
        "FailIndex" => {
            if spec.backoff_limit_per_index.is_none() {
                errs.invalid_str(&action_path, "FailIndex", "requires the backoffLimitPerIndex to be set");
            }
        }
        a if FAILURE_POLICY_ACTIONS.contains(&a) => {}
        a => errs.unsupported(&action_path, a, &FAILURE_POLICY_ACTIONS),
    }
    if let Some(req) = &rule.on_exit_codes {
        validate_exit_codes(req, &format!("{path}.onExitCodes"), containers, errs);
    }
    let patterns = rule.on_pod_conditions.as_deref().unwrap_or(&[]);
    if !patterns.is_empty() {
        let patterns_path = format!("{path}.onPodConditions");
        if patterns.len() > MAX_CONDITION_PATTERNS {
            too_many(errs, &patterns_path, patterns.len(), MAX_CONDITION_PATTERNS);
        }
        for (j, pattern) in patterns.iter().enumerate() {
            let pattern_path = format!("{patterns_path}[{j}]");
            for msg in qualified_name(&pattern.type_) {
                errs.invalid_str(&format!("{pattern_path}.type"), &pattern.type_, &msg);
            }
            let status_path = format!("{pattern_path}.status");
            match pattern.status.as_str() {
                "" => errs.required(&status_path, &format!("valid values: {}", quoted_list(&CONDITION_STATUSES))),
                s if CONDITION_STATUSES.contains(&s) => {}
                s => errs.unsupported(&status_path, s, &CONDITION_STATUSES),
            }
        }
    }
    match (rule.on_exit_codes.is_some(), !patterns.is_empty()) {
        (true, true) => errs.0.push(crate::engine::api::Cause {
            field: path.to_string(),
            message: "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported".into(),
        }),
        (false, false) => errs.0.push(crate::engine::api::Cause {
            field: path.to_string(),
            message: "Invalid value: specifying one of OnExitCodes and OnPodConditions is required".into(),
        }),
        _ => {}
    }
}

fn validate_exit_codes(req: &PodFailurePolicyOnExitCodesRequirement, path: &str, containers: &BTreeSet<&str>, errs: &mut Errors) {
    let operator_path = format!("{path}.operator");
    match req.operator.as_str() {
        "" => errs.required(&operator_path, &format!("valid values: {}", quoted_list(&EXIT_CODE_OPERATORS))),
        o if EXIT_CODE_OPERATORS.contains(&o) => {}
        o => errs.unsupported(&operator_path, o, &EXIT_CODE_OPERATORS),
    }
    if let Some(name) = req.container_name.as_deref().filter(|n| !containers.contains(n)) {
        errs.invalid_str(&format!("{path}.containerName"), name, "must be one of the container or initContainer names in the pod template");
    }
    let values_path = format!("{path}.values");
    // Field errors print the internal []int32 with Go's %#v.
    let go_values = format!("[]int32{{{}}}", req.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
    if req.values.is_empty() {
        // Go prints an empty slice as `[]int32{}` (a missing one, `[]int32(nil)`, decodes to the same empty list here).
        errs.invalid(&values_path, &go_values, "at least one value is required");
    } else if req.values.len() > MAX_EXIT_CODE_VALUES {
        too_many(errs, &values_path, req.values.len(), MAX_EXIT_CODE_VALUES);
    }
    let mut seen = BTreeSet::new();
    for (j, v) in req.values.iter().enumerate() {
        let value_path = format!("{values_path}[{j}]");
        if req.operator == "In" && *v == 0 {
            errs.invalid_int(&value_path, 0, "must not be 0 for the In operator");
        }
        if !seen.insert(*v) {
            errs.duplicate(&value_path, &v.to_string());
        }
    }
    if req.values.windows(2).any(|w| w[0] > w[1]) {
        errs.invalid(&values_path, &go_values, "must be ordered");
    }
}

/// How field errors print an internal `batch.SuccessPolicy` (JSON with Go's field names).
fn success_policy_value(policy: &SuccessPolicy) -> String {
    let rules: Vec<String> = policy
        .rules
        .iter()
        .map(|r| {
            let indexes = r.succeeded_indexes.as_deref().map_or("null".to_string(), |s| serde_json::to_string(s).unwrap_or_default());
            let count = r.succeeded_count.map_or("null".to_string(), |c| c.to_string());
            format!("{{\"SucceededIndexes\":{indexes},\"SucceededCount\":{count}}}")
        })
        .collect();
    let list = if policy.rules.is_empty() { "null".to_string() } else { format!("[{}]", rules.join(",")) };
    format!("{{\"Rules\":{list}}}")
}

fn validate_success_policy(spec: &JobSpec, policy: &SuccessPolicy, path: &str, errs: &mut Errors) {
    let rules_path = format!("{path}.rules");
    if policy.rules.is_empty() {
        errs.required(&rules_path, "at least one rules must be specified when the successPolicy is specified");
    }
    if policy.rules.len() > MAX_SUCCESS_POLICY_RULES {
        too_many(errs, &rules_path, policy.rules.len(), MAX_SUCCESS_POLICY_RULES);
    }
    let completions = spec.completions.unwrap_or(0);
    for (i, rule) in policy.rules.iter().enumerate() {
        let rule_path = format!("{rules_path}[{i}]");
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.required(&rule_path, "at least one of succeededCount or succeededIndexes must be specified");
        }
        let mut total = 0;
        if let Some(indexes) = rule.succeeded_indexes.as_deref() {
            let field = format!("{rule_path}.succeededIndexes");
            if indexes.len() > MAX_SUCCEEDED_INDEXES_LENGTH {
                errs.too_long(&field, MAX_SUCCEEDED_INDEXES_LENGTH);
            }
            match indexes_format(indexes, completions) {
                Ok(t) => total = t,
                Err(e) => errs.invalid_str(&field, indexes, &format!("error parsing succeededIndexes: {e}")),
            }
        }
        if let Some(count) = rule.succeeded_count {
            let field = format!("{rule_path}.succeededCount");
            errs.non_negative(&field, count.into());
            if count > completions {
                errs.invalid_int(&field, count.into(), &format!("must be less than or equal to {completions} (the number of specified completions)"));
            }
            if rule.succeeded_indexes.is_some() && count > total {
                errs.invalid_int(&field, count.into(), &format!("must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"));
            }
        }
    }
}

/// `validateIndexesFormat`: the number of indexes in a `0-2,4` list, or why it is malformed.
pub fn indexes_format(text: &str, completions: i32) -> Result<i32, String> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i64> = None;
    let mut total: i64 = 0;
    for interval in text.split(',') {
        let (x, y) = index_interval(interval, completions)?;
        if let Some(l) = last.filter(|l| *l >= x) {
            return Err(format!("non-increasing order, previous: {l}, current: {x}"));
        }
        total += y - x + 1;
        last = Some(y);
    }
    Ok(total.clamp(0, i32::MAX as i64) as i32)
}

fn index_interval(text: &str, completions: i32) -> Result<(i64, i64), String> {
    let limits: Vec<&str> = text.split('-').collect();
    if limits.len() > 2 {
        return Err(format!("the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'", quote(text)));
    }
    let parse = |s: &str| -> Result<i64, String> {
        let n = go_atoi(s).ok_or_else(|| format!("cannot convert string to integer for index: {}", quote(s)))?;
        if n >= completions as i64 {
            return Err(format!("too large index: {}", quote(s)));
        }
        Ok(n)
    };
    let x = parse(limits[0])?;
    if limits.len() == 1 {
        return Ok((x, x));
    }
    let y = parse(limits[1])?;
    if x >= y {
        return Err(format!("non-increasing order, previous: {x}, current: {y}"));
    }
    Ok((x, y))
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_are_checked_as_the_api_server_does() {
        assert_eq!(indexes_format("0-2,4", 5), Ok(4));
        assert_eq!(indexes_format("", 5), Ok(0));
        assert_eq!(indexes_format("3,1", 5), Err("non-increasing order, previous: 3, current: 1".into()));
        assert_eq!(indexes_format("2-1", 5), Err("non-increasing order, previous: 2, current: 1".into()));
        assert_eq!(indexes_format("9", 5), Err("too large index: \"9\"".into()));
        assert_eq!(indexes_format("a", 5), Err("cannot convert string to integer for index: \"a\"".into()));
        assert_eq!(
            indexes_format("1-2-3", 5),
            Err("the fragment \"1-2-3\" violates the requirement that an index interval can have at most two parts separated by '-'".into())
        );
    }
}
