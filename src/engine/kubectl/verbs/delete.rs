//! `kubectl delete`: by name, `-f`, `-l` or `--all`, with cascading,
//! grace periods, and waiting (in virtual time) until the objects are gone.

use crate::engine::api::{resource, Reason};
use crate::engine::apiserver::{DeleteOptions, Propagation};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, Target};
use crate::engine::kubectl::{Error, Result, Session};

/// How long `delete` waits when no `--timeout` is given. kubectl waits a
/// week; an hour of virtual time is as good, and bounds the work.
pub const DEFAULT_WAIT_MS: u64 = 3600 * 1000;

/// Parses a Go duration (`30s`, `2m`, `1h30m`, `500ms`, `0`) to milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    if text == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        if digits.is_empty() {
            return None;
        }
        rest = &rest[digits.len()..];
        let unit: String = rest.chars().take_while(|c| c.is_ascii_alphabetic() || *c == 'µ').collect();
        rest = &rest[unit.len()..];
        let factor = match unit.as_str() {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total += digits.parse::<f64>().ok()? * factor;
    }
    Some(total as u64)
}

pub fn timeout_ms(s: &Session, default: u64) -> std::result::Result<u64, Error> {
    match s.args.value("timeout") {
        None => Ok(default),
        Some(t) => parse_duration_ms(t).ok_or_else(|| {
            Error::Message(format!("error: invalid argument \"{t}\" for \"--timeout\" flag: time: invalid duration \"{t}\"\nSee 'kubectl {} --help' for usage.", s.args.command))
        }),
    }
}

/// `--cascade`, as kubectl's delete flags read it (`replace` has them too).
pub fn cascade(s: &Session) -> std::result::Result<Propagation, Error> {
    match s.args.value("cascade").unwrap_or("background") {
        "background" | "true" => Ok(Propagation::Background),
        "foreground" => Ok(Propagation::Foreground),
        "orphan" | "false" => Ok(Propagation::Orphan),
        other => Err(Error::Message(format!("error: invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""))),
    }
}

/// `--grace-period`, -1 (the server's default) when not given.
pub fn grace_period(s: &Session) -> std::result::Result<i64, Error> {
    match s.args.value("grace-period") {
        Some(g) => g.parse().map_err(|_| Error::Message(format!("error: invalid argument \"{g}\" for \"--grace-period\" flag: strconv.ParseInt: parsing \"{g}\": invalid syntax"))),
        None => Ok(-1),
    }
}

pub fn run(s: &mut Session) -> Result {
    let output = s.args.value("output").map(str::to_string);
    let propagation = cascade(s)?;
    let force = s.args.flag("force");
    let mut grace = grace_period(s)?;
    if s.args.flag("now") {
        if grace != -1 {
            return Err(Error::Message("error: --now and --grace-period cannot be specified together".to_string()));
        }
        grace = 1;
    }
    if grace == 0 && !force {
        grace = 1;
    }
    if force && grace < 0 {
        grace = 0;
    }
    let dry = DryRun::from_session(s)?;
    let wait = s.args.value("wait").is_none_or(|w| w != "false");
    let timeout = timeout_ms(s, 0)?;
    let bulk = s.args.flag("all") || s.args.has("selector") || s.args.has("field-selector");
    let ignore_not_found = if s.args.has("ignore-not-found") { s.args.flag("ignore-not-found") } else { bulk };
    let words = s.args.positionals.clone();
    // kubectl's Complete builds the request (its argument errors first),
    // then Validate checks -o and --force and warns.
    crate::engine::kubectl::manifest::check_sources(s, None)?;
    targets::check_names_and_selectors(s, &words, s.args.flag("all"))?;
    let (targets, mut failures) = targets::resolve(s, &words, true)?;
    if let Some(o) = output.as_deref().filter(|o| *o != "name") {
        return Err(Error::Message(format!("error: unexpected -o output mode: {o}. We only support '-o name'")));
    }
    if force && grace > 0 {
        return Err(Error::Message("error: --force and --grace-period greater than 0 cannot be specified together".to_string()));
    }
    if force && grace == 0 {
        s.warn("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n");
    }
    // kubectl warns once when a namespace given with -n does not scope what
    // it deletes (WarnClusterScope).
    let mut warn_cluster_scope = s.args.value("namespace").is_some_and(|n| !n.is_empty()) && !s.args.flag("all-namespaces");
    let mut deleted: Vec<(Target, Option<String>)> = Vec::new();
    for t in &targets {
        if warn_cluster_scope && !resource(t.rid).namespaced {
            s.warn("Warning: deleting cluster-scoped resources, not scoped to the provided namespace\n");
            warn_cluster_scope = false;
        }
        let opts = DeleteOptions {
            grace_period_seconds: (grace >= 0).then_some(grace),
            propagation: Some(propagation),
            dry_run: dry != DryRun::None,
            ..Default::default()
        };
        let rt = resource(t.rid);
        let kind = if rt.group.is_empty() { rt.kind.to_ascii_lowercase() } else { format!("{}.{}", rt.kind.to_ascii_lowercase(), rt.group) };
        // A client dry run asks the server nothing for a named object: it
        // prints what would be deleted, whether or not it is there.
        if dry != DryRun::Client {
            match s.cluster.sim.api.delete(t.rid, &t.namespace, &t.name, &opts) {
                Ok(gone) => deleted.push((t.clone(), gone.object().meta().uid.clone())),
                Err(e) if ignore_not_found && e.reason == Reason::NotFound => continue,
                Err(e) => {
                    failures.push(manifest::with_source("deleting", &t.source, e));
                    continue;
                }
            }
        }
        let operation = if grace == 0 { "force deleted" } else { "deleted" };
        if output.as_deref() == Some("name") {
            s.out.push_str(&format!("{kind}/{}\n", t.name));
        } else {
            s.out.push_str(&format!("{kind} \"{}\" {operation}{}\n", t.name, dry.suffix()));
        }
    }
    if targets.is_empty() && failures.is_empty() {
        s.out.push_str("No resources found\n");
        return Ok(());
    }
    if wait && dry == DryRun::None && !deleted.is_empty() {
        let budget = if timeout == 0 { DEFAULT_WAIT_MS } else { timeout };
        if let Some(t) = wait_until_gone(s, &deleted, budget) {
            failures.push(Failure::Text(format!("timed out waiting for the condition on {}", t.plural_name())));
        }
    }
    manifest::finish(s, failures)
}

/// Advances virtual time until every object (matched by uid) is gone;
/// returns the first still present when `budget_ms` runs out.
pub fn wait_until_gone(s: &mut Session, objects: &[(Target, Option<String>)], budget_ms: u64) -> Option<Target> {
    let deadline = s.cluster.sim.now().plus_millis(budget_ms);
    loop {
        s.cluster.sim.settle();
        let remaining = objects.iter().find(|(t, uid)| match s.cluster.sim.api.get(t.rid, &t.namespace, &t.name) {
            Ok(obj) => uid.is_none() || obj.meta().uid == *uid,
            Err(_) => false,
        });
        let Some((t, _)) = remaining else { return None };
        if s.cluster.sim.now() >= deadline {
            return Some(t.clone());
        }
        // Objects change only when a component runs, so jump to the next
        // timer: what kubectl's watch would see, without polling.
        let next = s.cluster.sim.next_timer().map_or(deadline, |t| t.min(deadline));
        s.cluster.sim.run_until(next.max(s.cluster.sim.now().plus_millis(1)));
    }
}
