//! `kubectl wait --for=condition=X|create|delete|jsonpath='{…}'=V`, advancing
//! virtual time until every object meets the condition or `--timeout`.

use serde_json::Value;

use crate::engine::api::Object;
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::targets::{self, qualified, Target};
use crate::engine::kubectl::verbs::delete::timeout_ms;
use crate::engine::kubectl::{Error, Result, Session};

enum Condition {
    /// The objects exist: polled for every half second first.
    Create,
    Delete,
    /// `condition=Ready` (status `True`) or `condition=Ready=false`.
    Status { kind: String, value: String },
    /// `jsonpath={.status.phase}=Running`; without a value, the field exists.
    JsonPath { path: Vec<String>, value: Option<String> },
}

fn parse_for(text: &str) -> std::result::Result<Condition, String> {
    if text.eq_ignore_ascii_case("delete") {
        return Ok(Condition::Delete);
    }
    if text.eq_ignore_ascii_case("create") {
        return Ok(Condition::Create);
    }
    if let Some(rest) = text.strip_prefix("condition=") {
        let (kind, value) = rest.split_once('=').unwrap_or((rest, "true"));
        return Ok(Condition::Status { kind: kind.to_string(), value: value.to_string() });
    }
    if let Some(rest) = text.strip_prefix("jsonpath=") {
        let rest = rest.trim_matches('\'');
        let (expr, value) = match rest.rfind("}=") {
            Some(i) => (&rest[..=i], Some(rest[i + 2..].trim_matches('\'').trim_matches('"').to_string())),
            None => (rest, None),
        };
        let inner = expr.trim().strip_prefix('{').and_then(|e| e.strip_suffix('}')).ok_or_else(|| format!("unrecognized condition: {text:?}"))?;
        let path = inner.trim_start_matches('.').split('.').filter(|p| !p.is_empty()).map(str::to_string).collect();
        return Ok(Condition::JsonPath { path, value });
    }
    Err(format!("unrecognized condition: {text:?}"))
}

fn met(obj: &Object, c: &Condition) -> bool {
    let json = obj.to_json();
    match c {
        Condition::Create => true,
        Condition::Delete => false,
        Condition::Status { kind, value } => json
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|x| x.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)) && x.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case(value))),
        Condition::JsonPath { path, value } => {
            let mut v = &json;
            for p in path {
                match v.get(p) {
                    Some(next) => v = next,
                    None => return false,
                }
            }
            match value {
                None => true,
                Some(want) => match v {
                    Value::String(s) => s == want,
                    other => other.to_string() == *want,
                },
            }
        }
    }
}

pub fn run(s: &mut Session) -> Result {
    let for_text = s.args.value("for").unwrap_or_default().to_string();
    let condition = parse_for(&for_text).map_err(|e| Error::Message(format!("error: {e}")))?;
    let timeout = timeout_ms(s, 30_000)?;
    let words = s.args.positionals.clone();
    if matches!(condition, Condition::Create) {
        wait_until_created(s, &words, timeout)?;
    }
    let (targets, mut failures) = targets::resolve(s, &words, true)?;
    if targets.is_empty() && failures.is_empty() {
        return Err(Error::Message("error: no matching resources found".to_string()));
    }
    let deadline = s.cluster.sim.now().plus_millis(timeout);
    let mut pending: Vec<(Target, Option<String>)> = Vec::new();
    for t in targets {
        match s.cluster.sim.api.get(t.rid, &t.namespace, &t.name) {
            Ok(obj) => pending.push((t, obj.meta().uid.clone())),
            Err(_) if matches!(condition, Condition::Delete) => {}
            Err(e) => failures.push(Failure::Api(e)),
        }
    }
    while !pending.is_empty() {
        s.cluster.sim.settle();
        let mut still = Vec::new();
        for (t, uid) in pending {
            let current = s.cluster.sim.api.get(t.rid, &t.namespace, &t.name).ok().filter(|o| o.meta().uid == uid);
            let done = match (&condition, &current) {
                (Condition::Delete, None) => true,
                (_, Some(obj)) => met(obj, &condition),
                (_, None) => {
                    failures.push(Failure::Text(format!("{} was deleted while waiting", qualified(&t))));
                    continue;
                }
            };
            if done {
                s.out.push_str(&format!("{} condition met\n", qualified(&t)));
            } else {
                still.push((t, uid));
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if s.cluster.sim.now() >= deadline {
            for (t, _) in &pending {
                failures.push(Failure::Text(format!("timed out waiting for the condition on {}", t.plural_name())));
            }
            break;
        }
        let next = s.cluster.sim.next_timer().map_or(deadline, |n| n.min(deadline));
        s.cluster.sim.run_until(next.max(s.cluster.sim.now().plus_millis(1)));
    }
    manifest::finish(s, failures)
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
                Err(e) if e.reason == crate::engine::api::Reason::NotFound => missing = true,
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
