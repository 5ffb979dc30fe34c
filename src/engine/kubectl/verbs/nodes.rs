//! `kubectl cordon|uncordon|drain|taint`.

use k8s_openapi::api::core::v1::Taint;
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, Object, Reason};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::apiserver::{DeleteOptions, Query};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, Target};
use crate::engine::kubectl::verbs::delete::{timeout_ms, wait_until_gone};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::selector::{FieldSelector, Selector};

pub fn run(s: &mut Session) -> Result {
    match s.args.verb() {
        "cordon" => cordon_all(s, true),
        "uncordon" => cordon_all(s, false),
        "drain" => drain(s),
        _ => taint(s),
    }
}

/// Node targets from `NAME…` or `-l`.
fn node_targets(s: &Session, names: &[String]) -> std::result::Result<(Vec<Target>, Vec<Failure>), Error> {
    let mut words = vec!["nodes".to_string()];
    words.extend(names.iter().cloned());
    if names.is_empty() && !s.args.has("selector") && !s.args.flag("all") {
        return Err(Error::Message(format!("error: USAGE: {} NODE [flags]\nSee 'kubectl {} -h' for help and examples", s.args.verb(), s.args.verb())));
    }
    if !names.is_empty() && s.args.value("selector").is_some_and(|v| !v.is_empty()) {
        return Err(Error::Message(format!("error: cannot specify both a node name and a --selector option\nSee 'kubectl {} -h' for help and examples", s.args.verb())));
    }
    targets::resolve(s, &words, true)
}

/// Sets `spec.unschedulable`; `Ok(false)` when it already had that value.
fn set_cordon(s: &mut Session, name: &str, on: bool, dry: DryRun) -> std::result::Result<bool, Failure> {
    let obj = s.cluster.sim.api.get(ids::nodes(), "", name).map_err(Failure::Api)?;
    let Object::Node(node) = &*obj else { return Err(Failure::Text(format!("node {name:?} not found"))) };
    let current = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
    if current == on {
        return Ok(false);
    }
    if dry != DryRun::Client {
        let mut next = node.clone();
        next.spec.get_or_insert_with(Default::default).unschedulable = on.then_some(true);
        s.cluster.sim.api.update_with(Object::Node(next), false, dry == DryRun::Server).map_err(Failure::Api)?;
    }
    Ok(true)
}

fn cordon_all(s: &mut Session, on: bool) -> Result {
    let dry = DryRun::from_session(s)?;
    let names = s.args.positionals.clone();
    let (targets, mut failures) = node_targets(s, &names)?;
    for t in &targets {
        match set_cordon(s, &t.name, on, dry) {
            Ok(true) => s.out.push_str(&format!("node/{} {}{}\n", t.name, if on { "cordoned" } else { "uncordoned" }, dry.suffix())),
            Ok(false) => s.out.push_str(&format!("node/{} already {}{}\n", t.name, if on { "cordoned" } else { "uncordoned" }, dry.suffix())),
            Err(f) => failures.push(f),
        }
    }
    manifest::finish(s, failures)
}

fn pod_key(p: &Pod) -> String {
    format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default())
}

/// How one pod's eviction is going (kubectl runs one goroutine per pod).
enum Progress {
    /// Ask for the eviction at this instant.
    Evict(VirtualTime),
    /// Evicted: poll every second until it is gone.
    Wait { uid: Option<String>, poll: VirtualTime },
    Done,
    Failed(String),
}

/// How often a refused eviction is retried.
const EVICT_RETRY_MS: u64 = 5_000;
/// How often drain looks whether an evicted pod is gone.
const DELETE_POLL_MS: u64 = 1_000;

/// `kubectl drain`: cordon every node, then per node evict (or, with
/// `--disable-eviction`, delete) its pods and wait until they are gone.
/// An eviction a PodDisruptionBudget refuses is retried every 5 s, as
/// kubectl does, while virtual time runs. Output keeps stdout and stderr
/// in the order kubectl writes them.
fn drain(s: &mut Session) -> Result {
    let dry = DryRun::from_session(s)?;
    let names = s.args.positionals.clone();
    let (targets, mut failures) = node_targets(s, &names)?;
    // kubectl reads every named node before it cordons any: one it cannot
    // read ends the command there.
    for t in &targets {
        s.cluster.sim.api.get(ids::nodes(), "", &t.name).map_err(Error::Api)?;
    }
    s.interleaved = Some(String::new());
    let ignore_daemonsets = s.args.flag("ignore-daemonsets");
    let force = s.args.flag("force");
    let delete_emptydir = s.args.flag("delete-emptydir-data") || s.args.flag("delete-local-data");
    let use_eviction = !s.args.flag("disable-eviction");
    let grace: Option<i64> = s.args.value("grace-period").and_then(|g| g.parse().ok()).filter(|g: &i64| *g >= 0);
    let timeout = timeout_ms(s, 0)?;
    let skip_deleted_after: u64 = match s.args.value("skip-wait-for-delete-timeout") {
        None => 0,
        Some(v) => v.parse::<i64>().map(|n| n.max(0) as u64).map_err(|_| {
            Error::Usage(format!("invalid argument \"{v}\" for \"--skip-wait-for-delete-timeout\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"))
        })?,
    };
    for f in std::mem::take(&mut failures) {
        let text = match f {
            Failure::Api(e) => s.format_api_error(&e),
            Failure::Text(t) => t,
        };
        s.say(true, &format!("{text}\n"));
    }
    // RunCordonOrUncordon: every node first.
    for t in &targets {
        match set_cordon(s, &t.name, true, dry) {
            Ok(true) => s.say(false, &format!("node/{} cordoned{}\n", t.name, dry.suffix())),
            Ok(false) => s.say(false, &format!("node/{} already cordoned{}\n", t.name, dry.suffix())),
            Err(f) => {
                let text = match f {
                    Failure::Api(e) => s.format_api_error(&e),
                    Failure::Text(t) => t,
                };
                s.say(true, &format!("error: unable to cordon node {:?}: {text}\n", t.name));
            }
        }
    }
    let mut fatal: Vec<DrainError> = Vec::new();
    let mut remaining: Vec<String> = Vec::new();
    for t in &targets {
        match drain_node(s, &t.name, dry, ignore_daemonsets, force, delete_emptydir, use_eviction, grace, timeout, skip_deleted_after) {
            Ok(()) => s.say(false, &format!("node/{} drained{}\n", t.name, dry.suffix())),
            Err(e) => {
                s.say(true, &format!("error: unable to drain node {:?} due to error: {}, continuing command...\n", t.name, e.text()));
                fatal.push(e);
                remaining.push(t.name.clone());
            }
        }
    }
    if !remaining.is_empty() {
        s.say(true, "There are pending nodes to be drained:\n");
        for n in &remaining {
            s.say(true, &format!(" {n}\n"));
        }
    }
    // `checkErr` on the aggregate of the nodes' errors: one node's error is
    // unwrapped; an aggregate prints one error a line (`MultipleErrors`),
    // with no `error: ` prefix; any other error gets one unless it is an
    // API status.
    let lines: Vec<String> = match fatal.as_slice() {
        [] => return Ok(()),
        [one] if one.aggregate => one.errors.iter().map(|e| e.message().to_string()).collect(),
        [one] => {
            let plain = one.errors.first().map(|e| e.standard.clone().unwrap_or_else(|| format!("error: {}", e.text))).unwrap_or_default();
            return Err(Error::Message(plain));
        }
        several => several.iter().map(|e| if e.aggregate { e.text() } else { e.errors.first().map(|e| e.message().to_string()).unwrap_or_default() }).collect(),
    };
    Err(Error::Message(lines.join("\n")))
}

/// `deleteOrEvictPodsSimple` for one node; `Err` is the aggregated error text.
#[allow(clippy::too_many_arguments)]
fn drain_node(
    s: &mut Session,
    node: &str,
    dry: DryRun,
    ignore_daemonsets: bool,
    force: bool,
    delete_emptydir: bool,
    use_eviction: bool,
    grace: Option<i64>,
    timeout: u64,
    skip_deleted_after: u64,
) -> std::result::Result<(), DrainError> {
    // `shouldSkipPod`: a pod whose deletion began more than
    // `--skip-wait-for-delete-timeout` whole seconds ago is left alone.
    let long_deleted = |p: &Pod, now: VirtualTime| {
        skip_deleted_after > 0
            && p.metadata.deletion_timestamp.as_ref().is_some_and(|t| now.millis_since(meta::virtual_of(t)) / 1000 > skip_deleted_after)
    };
    // `GetPodsForDeletion` answers a list of errors, which kubectl aggregates.
    let fields = FieldSelector::parse(&format!("spec.nodeName={node}")).map_err(|e| DrainError::aggregate(vec![e.to_string()]))?;
    // `--pod-selector`: only the pods it matches are evicted.
    let labels = Selector::parse(s.args.value("pod-selector").unwrap_or("")).map_err(|e| DrainError::aggregate(vec![e.to_string()]))?;
    let (pods, _) = s
        .cluster
        .sim
        .api
        .list(&Query::all(ids::pods()).with_fields(fields).with_labels(labels))
        .map_err(|e| DrainError { errors: vec![GoError { text: e.message.clone(), standard: Some(s.format_api_error(&e)) }], aggregate: true })?;
    // `filterPods`: each pod goes through the filters in order until one
    // keeps it (an error, a skip, or a warning that keeps it); the last
    // status is its reason, so a later filter's status replaces an earlier
    // warning (the local-storage warning never survives the
    // no-controller filter after it, a TODO in kubectl's source).
    let mut evict: Vec<Pod> = Vec::new();
    // Reasons in the order first met: kubectl groups them in a Go map,
    // whose order is one of this order's rotations.
    let mut errors: Vec<(String, Vec<String>)> = Vec::new();
    let mut warnings: Vec<(String, Vec<String>)> = Vec::new();
    let file = |groups: &mut Vec<(String, Vec<String>)>, message: String, pod: String| match groups.iter_mut().find(|(m, _)| *m == message) {
        Some((_, pods)) => pods.push(pod),
        None => groups.push((message, vec![pod])),
    };
    let listed_at = s.cluster.sim.now();
    for obj in &pods {
        let Object::Pod(p) = &**obj else { continue };
        let status = drain_status(s, p, long_deleted(p, listed_at), ignore_daemonsets, force, delete_emptydir);
        match status {
            DrainStatus::Okay => evict.push((**p).clone()),
            DrainStatus::Skip => {}
            DrainStatus::Warning { delete, message } => {
                file(&mut warnings, message, pod_key(p));
                if delete {
                    evict.push((**p).clone());
                }
            }
            DrainStatus::Error(message) => file(&mut errors, message, pod_key(p)),
        }
    }
    if !errors.is_empty() {
        let errors = errors.into_iter().map(|(message, pods)| format!("cannot delete {message}: {}", pods.join(", "))).collect();
        return Err(DrainError::aggregate(errors));
    }
    if !warnings.is_empty() {
        let text: Vec<String> = warnings.into_iter().map(|(message, pods)| format!("{message}: {}", pods.join(", "))).collect();
        s.say(true, &format!("Warning: {}\n", text.join("; ")));
    }
    match dry {
        DryRun::Client => {
            for p in &evict {
                s.say(false, &format!("evicting pod {} (dry run)\n", pod_key(p)));
            }
            return Ok(());
        }
        DryRun::Server => {
            for p in &evict {
                s.say(false, &format!("evicting pod {} (server dry run)\n", pod_key(p)));
                let ns = p.metadata.namespace.clone().unwrap_or_default();
                let name = p.metadata.name.clone().unwrap_or_default();
                let opts = DeleteOptions { grace_period_seconds: grace, dry_run: true, ..Default::default() };
                let result = if use_eviction { s.cluster.sim.api.evict(&ns, &name, &opts) } else { s.cluster.sim.api.delete(ids::pods(), &ns, &name, &opts) };
                if let Err(e) = result {
                    if e.reason != Reason::NotFound {
                        return Err(DrainError::aggregate(vec![format!("error when evicting pods/{name:?} -n {ns:?}: {}", e.message)]));
                    }
                }
            }
            return Ok(());
        }
        DryRun::None => {}
    }
    if !use_eviction {
        // deletePods: delete all, then wait for all.
        let mut gone = Vec::new();
        for p in &evict {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let opts = DeleteOptions { grace_period_seconds: grace, ..Default::default() };
            match s.cluster.sim.api.delete(ids::pods(), &ns, &name, &opts) {
                Ok(d) => gone.push((Target { rid: ids::pods(), namespace: ns, name, source: String::new() }, d.object().meta().uid.clone())),
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => return Err(DrainError { errors: vec![GoError { text: e.message.clone(), standard: Some(s.format_api_error(&e)) }], aggregate: false }),
            }
        }
        let budget = if timeout == 0 { 3600 * 1000 } else { timeout };
        if let Some(stuck) = wait_until_gone(s, &gone, budget) {
            return Err(DrainError { errors: vec![GoError::plain(format!("error when waiting for pod {:?} in namespace {:?} to terminate: context deadline exceeded", stuck.name, stuck.namespace))], aggregate: false });
        }
        for (p, _) in &gone {
            s.say(false, &format!("pod/{} deleted\n", p.name));
        }
        return Ok(());
    }
    let start = s.cluster.sim.now();
    let deadline = (timeout > 0).then(|| start.plus_millis(timeout));
    let timeout_text = crate::engine::node::kubelet::go_duration(timeout);
    let mut progress: Vec<Progress> = evict.iter().map(|_| Progress::Evict(start)).collect();
    // Drain runs until every pod is gone (or the timeout): bound the virtual
    // time a budget that never allows an eviction can hold the command.
    // With --timeout, a pod waiting out a refused eviction fails at its next
    // attempt after the deadline, with the global timeout's words.
    let horizon = start.plus_millis(24 * 3_600_000 + timeout);
    loop {
        let now = s.cluster.sim.now();
        // Each pod's goroutine announces its attempt before its request
        // returns: the announcements of one instant come first.
        for (p, state) in evict.iter().zip(progress.iter()) {
            if matches!(state, Progress::Evict(at) if *at <= now) {
                s.say(false, &format!("evicting pod {}\n", pod_key(p)));
            }
        }
        for (p, state) in evict.iter().zip(progress.iter_mut()) {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            match state {
                Progress::Evict(at) if *at <= now => {
                    if deadline.is_some_and(|d| now >= d) {
                        *state = Progress::Failed(format!("error when evicting pods/{name:?} -n {ns:?}: global timeout reached: {timeout_text}"));
                        continue;
                    }
                    let opts = DeleteOptions { grace_period_seconds: grace, ..Default::default() };
                    match s.cluster.sim.api.evict(&ns, &name, &opts) {
                        Ok(_) => *state = Progress::Wait { uid: p.metadata.uid.clone(), poll: now },
                        Err(e) if e.reason == Reason::NotFound => *state = Progress::Done,
                        Err(e) if e.reason == Reason::TooManyRequests => {
                            s.say(true, &format!("error when evicting pods/{name:?} -n {ns:?} (will retry after 5s): {}\n", e.message));
                            *state = Progress::Evict(now.plus_millis(EVICT_RETRY_MS));
                        }
                        Err(e) => *state = Progress::Failed(format!("error when evicting pods/{name:?} -n {ns:?}: {}", e.message)),
                    }
                }
                Progress::Wait { uid, poll } if *poll <= now => {
                    let current = s.cluster.sim.api.get(ids::pods(), &ns, &name);
                    let gone = match &current {
                        Err(e) if e.reason == Reason::NotFound => true,
                        Err(_) => false,
                        Ok(obj) => obj.meta().uid != *uid,
                    };
                    let skipped = !gone && matches!(current.as_deref(), Ok(Object::Pod(p)) if long_deleted(p, now));
                    if skipped {
                        s.say(false, &format!("pod {name:?} has DeletionTimestamp older than {skip_deleted_after} seconds, skipping\n"));
                        *state = Progress::Done;
                    } else if gone {
                        s.say(false, &format!("pod/{name} evicted\n"));
                        *state = Progress::Done;
                    } else if deadline.is_some_and(|d| now >= d) {
                        *state = Progress::Failed(format!("error when waiting for pod {name:?} in namespace {ns:?} to terminate: context deadline exceeded"));
                    } else {
                        *poll = now.plus_millis(DELETE_POLL_MS);
                    }
                }
                _ => {}
            }
        }
        let next = progress
            .iter()
            .filter_map(|p| match p {
                Progress::Evict(at) => Some(*at),
                Progress::Wait { poll, .. } => Some(*poll),
                _ => None,
            })
            .min();
        let Some(next) = next else { break };
        if now >= horizon {
            for state in progress.iter_mut() {
                if matches!(state, Progress::Evict(_) | Progress::Wait { .. }) {
                    *state = Progress::Failed("drain gave up after 24h of virtual time".into());
                }
            }
            break;
        }
        let next = match deadline {
            Some(d) if now < d => next.min(d),
            _ => next,
        };
        let next = next.max(now.plus_millis(1)).min(horizon);
        s.cluster.sim.run_until(next);
    }
    let errors: Vec<String> = progress
        .into_iter()
        .filter_map(|p| match p {
            Progress::Failed(e) => Some(e),
            _ => None,
        })
        .collect();
    // `evictPods` aggregates its goroutines' errors.
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DrainError::aggregate(errors))
    }
}

/// One pod's `PodDeleteStatus` after kubectl's drain filters.
enum DrainStatus {
    Okay,
    Skip,
    Warning { delete: bool, message: String },
    Error(String),
}

/// kubectl's drain filters in their order (`makeFilters`): skip-deleted,
/// DaemonSet, mirror pod, local storage, no controller. A filter that keeps
/// the pod ends the run; a warning that deletes it is replaced by the next
/// filter's status.
fn drain_status(s: &Session, p: &Pod, long_deleted: bool, ignore_daemonsets: bool, force: bool, delete_emptydir: bool) -> DrainStatus {
    if long_deleted {
        return DrainStatus::Skip;
    }
    let phase = p.status.as_ref().and_then(|s| s.phase());
    let finished = matches!(phase, Some("Succeeded") | Some("Failed"));
    let controller = meta::controller_of(p.metadata.owner_references.as_ref());
    // daemonSetFilter: a pod of a DaemonSet that is gone goes only with --force.
    if let Some(c) = controller.filter(|c| c.kind == "DaemonSet" && !finished) {
        let namespace = p.metadata.namespace.as_deref().unwrap_or("");
        if let Err(e) = s.cluster.sim.api.get(ids::daemon_sets(), namespace, &c.name) {
            if e.reason == Reason::NotFound && force {
                return DrainStatus::Warning { delete: true, message: e.message };
            }
            return DrainStatus::Error(e.message);
        }
        if !ignore_daemonsets {
            return DrainStatus::Error("DaemonSet-managed Pods (use --ignore-daemonsets to ignore)".into());
        }
        return DrainStatus::Warning { delete: false, message: "ignoring DaemonSet-managed Pods".into() };
    }
    if p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")) {
        return DrainStatus::Skip;
    }
    let has_empty_dir = p.spec.as_ref().and_then(|s| s.volumes.as_ref()).is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some()));
    if has_empty_dir && !finished && !delete_emptydir {
        return DrainStatus::Error("Pods with local storage (use --delete-emptydir-data to override)".into());
    }
    // With --delete-emptydir-data the local-storage warning would come here,
    // and the no-controller filter's status replaces it.
    if finished || controller.is_some() {
        return DrainStatus::Okay;
    }
    if force {
        return DrainStatus::Warning { delete: true, message: "deleting Pods that declare no controller".into() };
    }
    DrainStatus::Error("cannot delete Pods that declare no controller (use --force to override)".into())
}

/// A Go error as kubectl prints it: its `Error()` text and, for an API
/// status, `StandardErrorMessage`'s wording.
struct GoError {
    text: String,
    standard: Option<String>,
}

impl GoError {
    fn plain(text: String) -> Self {
        GoError { text, standard: None }
    }

    /// `messageForError`
    fn message(&self) -> &str {
        self.standard.as_deref().unwrap_or(&self.text)
    }
}

/// What draining one node failed with: an aggregate (`GetPodsForDeletion`'s
/// errors, `evictPods`') or one error (`deletePods`').
struct DrainError {
    errors: Vec<GoError>,
    aggregate: bool,
}

impl DrainError {
    fn aggregate(errors: Vec<String>) -> Self {
        DrainError { errors: errors.into_iter().map(GoError::plain).collect(), aggregate: true }
    }

    /// `Error()`: an aggregate of several is bracketed, each message once.
    fn text(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for e in &self.errors {
            if !seen.contains(&e.text.as_str()) {
                seen.push(&e.text);
            }
        }
        if seen.len() == 1 {
            seen[0].to_string()
        } else {
            format!("[{}]", seen.join(", "))
        }
    }
}

/// One `key=value:Effect`, `key:Effect` or removal (`key-`, `key:Effect-`).
enum TaintSpec {
    Add(Taint),
    Remove { key: String, effect: Option<String> },
}

/// kubectl's `parseTaint`: `<key>=<value>:<effect>`, `<key>:<effect>` or
/// `<key>`, the key a qualified name and the value a label value.
fn parse_taint(spec: &str) -> std::result::Result<Taint, String> {
    use crate::engine::apiserver::validation::{label_value, qualified_name};
    const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    let parts: Vec<&str> = spec.split(':').collect();
    let (key, value, effect) = match parts.as_slice() {
        [key] => (key.to_string(), String::new(), String::new()),
        [kv, effect] => {
            if !EFFECTS.contains(effect) {
                return Err(format!("invalid taint effect: {effect}, unsupported taint effect"));
            }
            let kv: Vec<&str> = kv.split('=').collect();
            if kv.len() > 2 {
                return Err(format!("invalid taint spec: {spec}"));
            }
            let value = kv.get(1).copied().unwrap_or("");
            let errs = label_value(value);
            if !errs.is_empty() {
                return Err(format!("invalid taint spec: {spec}, {}", errs.join("; ")));
            }
            (kv[0].to_string(), value.to_string(), effect.to_string())
        }
        _ => return Err(format!("invalid taint spec: {spec}")),
    };
    let errs = qualified_name(&key);
    if !errs.is_empty() {
        return Err(format!("invalid taint spec: {spec}, {}", errs.join("; ")));
    }
    Ok(Taint { key, value: (!value.is_empty()).then_some(value), effect, time_added: None })
}

/// kubectl's `parseTaints`: a trailing `-` removes by key (and effect, if
/// given; a value is read and dropped); an addition needs an effect and
/// may name one key and effect once.
fn parse_taints(specs: &[String]) -> std::result::Result<Vec<TaintSpec>, String> {
    let mut parsed = Vec::new();
    for spec in specs {
        if let Some(body) = spec.strip_suffix('-') {
            let t = parse_taint(body)?;
            parsed.push(TaintSpec::Remove { key: t.key, effect: (!t.effect.is_empty()).then_some(t.effect) });
            continue;
        }
        let t = parse_taint(spec)?;
        if t.effect.is_empty() {
            return Err(format!("invalid taint spec: {spec}"));
        }
        if parsed.iter().any(|p| matches!(p, TaintSpec::Add(o) if o.key == t.key && o.effect == t.effect)) {
            // Go's `%v` of the `v1.Taint` value.
            return Err(format!("duplicated taints with the same key and effect: {{{} {} {} <nil>}}", t.key, t.value.as_deref().unwrap_or(""), t.effect));
        }
        parsed.push(TaintSpec::Add(t));
    }
    Ok(parsed)
}

fn taint(s: &mut Session) -> Result {
    let words = s.args.positionals.clone();
    // kubectl's `Complete`: every resource word comes before the taints.
    let mut resources = Vec::new();
    let mut taint_words = Vec::new();
    for w in &words {
        let is_taint = w.contains('=') || w.contains(':') || w.ends_with('-');
        if is_taint {
            taint_words.push(w.clone());
        } else if !taint_words.is_empty() {
            return Err(Error::Message(format!("error: all resources must be specified before taint changes: {w}")));
        } else {
            resources.push(w.clone());
        }
    }
    if resources.is_empty() {
        return Err(Error::Message("error: one or more resources must be specified as <resource> <name>".to_string()));
    }
    if taint_words.is_empty() {
        return Err(Error::Message("error: at least one taint update is required".to_string()));
    }
    let specs = parse_taints(&taint_words).map_err(|e| Error::Message(format!("error: {e}\nSee 'kubectl taint -h' for help and examples")))?;
    // `Validate`: a taint may not be both changed and removed.
    let mut conflicts = Vec::new();
    for spec in &specs {
        let TaintSpec::Add(add) = spec else { continue };
        for other in &specs {
            if let TaintSpec::Remove { key, effect } = other {
                if *key == add.key && effect.as_ref().is_none_or(|e| *e == add.effect) {
                    conflicts.push(format!("{key}={}", effect.as_deref().unwrap_or("")));
                }
            }
        }
    }
    // `Validate` checks the type before the taints, then the names.
    if !resources[0].contains('/') {
        let kind = resources[0].to_lowercase();
        if targets::resolve_type(&kind)? != ids::nodes() {
            return Err(Error::Message(format!("error: invalid resource type {kind}, only node types are supported")));
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::Message(format!("error: can not both modify and remove the following taint(s) in the same command: {}", conflicts.join(", "))));
    }
    let all = s.args.flag("all");
    let selector = s.args.value("selector").is_some_and(|v| !v.is_empty());
    if all && selector {
        return Err(Error::Message("error: setting 'all' parameter with a non empty selector is prohibited".to_string()));
    }
    if !all && !selector && resources.len() < 2 && !resources[0].contains('/') {
        return Err(Error::Message("error: at least one resource name must be specified since 'all' parameter is not set".to_string()));
    }
    let overwrite = s.args.flag("overwrite");
    let dry = DryRun::from_session(s)?;
    let (targets, mut failures) = targets::resolve(s, &resources, true)?;
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let Object::Node(node) = &*obj else {
            failures.push(Failure::Text(format!("taint is only supported on nodes, not {}", crate::engine::api::resource(t.rid).plural)));
            continue;
        };
        let old = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        let adds: Vec<&Taint> = specs.iter().filter_map(|x| if let TaintSpec::Add(t) = x { Some(t) } else { None }).collect();
        if !overwrite {
            let existing: Vec<&str> = adds.iter().filter(|a| old.iter().any(|o| o.key == a.key && o.effect == a.effect)).map(|a| a.key.as_str()).collect();
            if !existing.is_empty() {
                failures.push(Failure::Text(format!("node {} already has {} taint(s) with same effect(s) and --overwrite is false", t.name, existing.join(","))));
                continue;
            }
        }
        // `reorganizeTaints`: the added taints first, then the old ones they
        // do not replace, less the removed ones.
        let mut taints: Vec<Taint> = adds.iter().map(|a| (*a).clone()).collect();
        taints.extend(old.iter().filter(|o| !adds.iter().any(|a| a.key == o.key && a.effect == o.effect)).cloned());
        let added = taints.len() != old.len();
        let mut removed = false;
        let mut not_found = Vec::new();
        for spec in &specs {
            let TaintSpec::Remove { key, effect } = spec else { continue };
            let before = taints.len();
            taints.retain(|x| !(x.key == *key && effect.as_ref().is_none_or(|e| *e == x.effect)));
            removed = taints.len() != before;
            if !removed {
                let shown = match effect {
                    Some(e) => format!("{key}:{e}"),
                    None => key.clone(),
                };
                not_found.push(format!("taint {shown:?} not found"));
            }
        }
        if !not_found.is_empty() {
            // `utilerrors.NewAggregate`: one error alone, several in brackets.
            let text = if not_found.len() == 1 { not_found.remove(0) } else { format!("[{}]", not_found.join(", ")) };
            failures.push(Failure::Text(text));
            continue;
        }
        if dry != DryRun::Client {
            let mut next = node.clone();
            next.spec.get_or_insert_with(Default::default).taints = (!taints.is_empty()).then_some(taints);
            if let Err(e) = s.cluster.sim.api.update_with(Object::Node(next), false, dry == DryRun::Server) {
                failures.push(Failure::Api(e));
                continue;
            }
        }
        let word = if (added && removed) || overwrite {
            "modified"
        } else if added {
            "tainted"
        } else {
            "untainted"
        };
        s.out.push_str(&format!("node/{} {word}{}\n", t.name, dry.suffix()));
    }
    manifest::finish(s, failures)
}
