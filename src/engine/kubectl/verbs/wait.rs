//! `kubectl wait --for=condition=X|create|delete|jsonpath='{…}'=V`, advancing
//! virtual time until every object meets the condition or `--timeout`.
//! As kubectl 1.33's `RunWait`, the objects are waited on one after another,
//! in the order the arguments name them, under one deadline for them all.

use serde_json::Value;

use crate::engine::api::{Object, Reason};
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::printers::jsonpath::{self, Template};
use crate::engine::kubectl::printers::OutputFormat;
use crate::engine::kubectl::targets::{self, qualified, Target};
use crate::engine::kubectl::verbs::apply::{print_one, write_output_format};
use crate::engine::kubectl::verbs::delete::parse_duration_ms;
use crate::engine::kubectl::{Error, Result, Session};

/// What `--timeout` below zero means to kubectl: a week.
const NEGATIVE_TIMEOUT_MS: u64 = 168 * 3_600_000;

enum Condition {
    /// The objects exist: polled for every half second first.
    Create,
    Delete,
    /// `condition=Ready` (status `True`) or `condition=Ready=false`.
    Status { kind: String, value: String },
    /// `jsonpath={.status.phase}=Running`; without a value, any value found.
    JsonPath { template: Template, value: Option<String> },
}

/// kubectl's `conditionFuncFor`, with `processJSONPathInput`'s errors.
fn parse_for(text: &str) -> std::result::Result<Condition, String> {
    let lowercase = text.to_lowercase();
    if lowercase == "delete" {
        return Ok(Condition::Delete);
    }
    if lowercase == "create" {
        return Ok(Condition::Create);
    }
    if let Some(rest) = text.strip_prefix("condition=") {
        let (kind, value) = rest.split_once('=').unwrap_or((rest, "true"));
        return Ok(Condition::Status { kind: kind.to_string(), value: value.to_string() });
    }
    if let Some(rest) = text.strip_prefix("jsonpath=") {
        let parts = split_jsonpath_input(rest);
        if parts.len() > 2 {
            return Err("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or --for=jsonpath='{.status.readyReplicas}'".to_string());
        }
        let expr = jsonpath::relaxed_expression(&parts[0])?;
        let value = match parts.get(1) {
            None => None,
            Some(v) => {
                let v = v.trim_matches(['\'', '"']);
                if v.is_empty() {
                    return Err("jsonpath wait has to have a value after equal sign, like --for=jsonpath='{.status.readyReplicas}'=3".to_string());
                }
                Some(v.to_string())
            }
        };
        if expr.is_empty() {
            return Err("jsonpath expression cannot be empty".to_string());
        }
        let template = Template::parse(&expr)?;
        return Ok(Condition::JsonPath { template, value });
    }
    Err(format!("unrecognized condition: {text:?}"))
}

/// kubectl's `splitJSONPathInput`: split on each single `=`; a `==` (a
/// filter's comparison) stays whole.
fn split_jsonpath_input(input: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '=' {
            part.push(c);
        } else if chars.peek() == Some(&'=') {
            chars.next();
            part.push_str("==");
        } else {
            parts.push(std::mem::take(&mut part));
        }
    }
    parts.push(part);
    parts
}

/// Whether `obj` meets a condition, or the error that ends the wait
/// (kubectl's `checkCondition` of `ConditionalWait` and `JSONPathWait`).
fn met(obj: &Object, c: &Condition) -> std::result::Result<bool, String> {
    let json = obj.to_json();
    match c {
        Condition::Create => Ok(true),
        Condition::Delete => Ok(false),
        Condition::Status { kind, value } => {
            // The first condition of that type decides, and only once the
            // controller has seen the object's latest generation.
            let conditions = json.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten();
            for condition in conditions {
                if !condition.get("type").and_then(Value::as_str).is_some_and(|t| t.to_lowercase() == kind.to_lowercase()) {
                    continue;
                }
                let Some(status) = condition.get("status").and_then(Value::as_str) else { continue };
                if let Some(generation) = json.pointer("/metadata/generation").and_then(Value::as_i64) {
                    let observed = condition.get("observedGeneration").and_then(Value::as_i64).or_else(|| json.pointer("/status/observedGeneration").and_then(Value::as_i64));
                    if observed.is_some_and(|o| o < generation) {
                        return Ok(false);
                    }
                }
                return Ok(status.to_lowercase() == value.to_lowercase());
            }
            Ok(false)
        }
        Condition::JsonPath { template, value } => {
            let results = template.find_results(&json, true)?;
            let Some(first) = results.first().filter(|r| !r.is_empty()) else { return Ok(false) };
            if results.len() > 1 {
                return Err("given jsonpath expression matches more than one list".to_string());
            }
            if first.len() > 1 {
                return Err("given jsonpath expression matches more than one value".to_string());
            }
            let Some(want) = value else { return Ok(true) };
            let found = first[0].as_ref();
            if found.is_object() || found.is_array() {
                return Err("jsonpath leads to a nested object or list which is not supported".to_string());
            }
            Ok(jsonpath::go_sprint(found).trim() == want.trim())
        }
    }
}

/// `--timeout`, as Go's `time.ParseDuration` reads it (a sign allowed);
/// below zero kubectl waits a week.
fn timeout_ms(s: &Session) -> std::result::Result<u64, Error> {
    let Some(text) = s.args.value("timeout") else { return Ok(30_000) };
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    match parse_duration_ms(unsigned) {
        Some(ms) if negative && ms > 0 => Ok(NEGATIVE_TIMEOUT_MS),
        Some(ms) => Ok(ms),
        None => Err(Error::Message(format!("error: invalid argument \"{text}\" for \"--timeout\" flag: time: invalid duration \"{text}\"\nSee 'kubectl wait --help' for usage."))),
    }
}

pub fn run(s: &mut Session) -> Result {
    let format = write_output_format(s)?;
    let for_text = s.args.value("for").unwrap_or_default().to_string();
    let condition = parse_for(&for_text).map_err(|e| Error::Message(format!("error: {e}")))?;
    let timeout = timeout_ms(s)?;
    let words = s.args.positionals.clone();
    if matches!(condition, Condition::Create) {
        wait_until_created(s, &words, timeout)?;
    }
    let (targets, mut failures) = targets::resolve(s, &words, true)?;
    let is_delete = matches!(condition, Condition::Delete);
    if targets.is_empty() && failures.is_empty() && !is_delete {
        return Err(Error::Message("error: no matching resources found".to_string()));
    }
    let deadline = s.cluster.sim.now().plus_millis(timeout);
    for t in targets {
        match wait_for_one(s, &t, &condition, timeout == 0, deadline) {
            Ok(Some(obj)) => print_met(s, &t, format.as_ref(), &obj)?,
            // Already gone: kubectl's visitor ignores the NotFound of a wait for delete.
            Ok(None) => {}
            Err(failure) => failures.push(failure),
        }
    }
    manifest::finish(s, failures)
}

/// kubectl's `IsDeleted` or `getObjAndCheckCondition` for one object: the
/// object to print once its condition holds (none if a wait for delete
/// found it already gone), or why the wait failed.
fn wait_for_one(s: &mut Session, t: &Target, condition: &Condition, check_once: bool, deadline: crate::engine::sim::clock::VirtualTime) -> std::result::Result<Option<std::rc::Rc<Object>>, Failure> {
    s.cluster.sim.settle();
    let first = match s.cluster.sim.api.get(t.rid, &t.namespace, &t.name) {
        Ok(obj) => obj,
        Err(e) if e.reason == Reason::NotFound && matches!(condition, Condition::Delete) => return Ok(None),
        Err(e) => return Err(Failure::Api(e)),
    };
    let uid = first.meta().uid.clone();
    // An object reached after the deadline is not looked at: its watch
    // cannot sync in a context already done.
    let timed_out = || Failure::Text(format!("timed out waiting for the condition on {}", t.plural_name()));
    if !check_once && s.cluster.sim.now() >= deadline {
        return Err(timed_out());
    }
    loop {
        let current = s.cluster.sim.api.get(t.rid, &t.namespace, &t.name).ok();
        let done = match (condition, &current) {
            // A watch of that name sees it deleted, even if another of the
            // same name has since been created.
            (Condition::Delete, None) => true,
            (Condition::Delete, Some(obj)) => obj.meta().uid != uid,
            // Gone: its watch sees nothing more, and the wait runs out.
            (_, None) => false,
            (_, Some(obj)) => met(obj, condition).map_err(Failure::Text)?,
        };
        if done {
            // A wait for delete prints the object as it first got it.
            return Ok(Some(match current {
                Some(obj) if !matches!(condition, Condition::Delete) => obj,
                _ => first,
            }));
        }
        if check_once {
            return Err(Failure::Text(format!("condition not met for {}", t.plural_name())));
        }
        if s.cluster.sim.now() >= deadline {
            return Err(timed_out());
        }
        let next = s.cluster.sim.next_timer().map_or(deadline, |n| n.min(deadline));
        s.cluster.sim.run_until(next.max(s.cluster.sim.now().plus_millis(1)));
        s.cluster.sim.settle();
    }
}

/// `pod/x condition met`, or with `-o` the object as kubectl's printer
/// shows it (`-o name` without the words).
fn print_met(s: &mut Session, t: &Target, format: Option<&OutputFormat>, obj: &Object) -> Result {
    match format {
        None => {
            s.out.push_str(&format!("{} condition met\n", qualified(t)));
            Ok(())
        }
        Some(format) => print_one(s, format, &qualified(t), &obj.to_json()),
    }
}

/// kubectl's wait for `create`: every half second it asks again for what
/// the arguments name until something is there, or the timeout passes.
fn wait_until_created(s: &mut Session, words: &[String], timeout_ms: u64) -> Result {
    let start = s.cluster.sim.now();
    let mut waited = 0;
    loop {
        s.cluster.sim.settle();
        let (targets, failures) = targets::resolve(s, words, true)?;
        if let Some(failure) = failures.into_iter().next() {
            return manifest::finish(s, vec![failure]);
        }
        let mut missing = false;
        for t in &targets {
            match s.cluster.sim.api.get(t.rid, &t.namespace, &t.name) {
                Ok(_) => {}
                Err(e) if e.reason == Reason::NotFound => missing = true,
                Err(e) => return Err(Error::Api(e)),
            }
        }
        if !targets.is_empty() && !missing {
            return Ok(());
        }
        waited += 500;
        if waited > timeout_ms {
            s.cluster.sim.run_until(start.plus_millis(timeout_ms));
            return Err(Error::Message("error: timed out waiting for the condition".to_string()));
        }
        s.cluster.sim.run_until(start.plus_millis(waited));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_input_splits_on_single_equals_only() {
        assert_eq!(split_jsonpath_input("{.a}=b"), vec!["{.a}", "b"]);
        assert_eq!(split_jsonpath_input(r#"{.c[?(@.type=="Ready")].status}=True"#), vec![r#"{.c[?(@.type=="Ready")].status}"#, "True"]);
        assert_eq!(split_jsonpath_input("a.b.c====d.e.f===g.h.i==="), vec!["a.b.c====d.e.f==", "g.h.i==", ""]);
    }

    #[test]
    fn jsonpath_conditions_refuse_as_kubectl_does() {
        let err = |t: &str| parse_for(t).err().unwrap_or_default();
        assert_eq!(err("jsonpath={.status.phase}="), "jsonpath wait has to have a value after equal sign, like --for=jsonpath='{.status.readyReplicas}'=3");
        assert_eq!(err("jsonpath={.a}=b=c"), "jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or --for=jsonpath='{.status.readyReplicas}'");
        assert_eq!(err("jsonpath="), "jsonpath expression cannot be empty");
        assert!(err("jsonpath='{.status.phase}'=Running").starts_with("unexpected path string"));
        assert!(parse_for("jsonpath=.status.phase=Running").is_ok());
        assert!(parse_for("jsonpath={.status.phase}='Running'").is_ok());
    }
}
