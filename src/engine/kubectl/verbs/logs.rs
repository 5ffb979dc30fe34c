//! `kubectl logs`: the API server checks the pod and container, then asks
//! the node's kubelet for the container's output.
//!
//! `-f` in the page keeps following until the container stops (or Ctrl-C);
//! in a script, which cannot wait, it prints what exists and returns.

use crate::engine::controllers::util::{is_ready, ready_since};
use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, meta, ApiError, Object, Reason};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::interactive::{self, Follow, Interactive, Stream};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::node::runtime::LogLine;
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;

use super::get::resolve;

const USAGE: &str = "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples";

/// `--since` as kubectl sends it: the duration rounded to whole seconds
/// (Go's `ParseDuration` takes a sign), or `None` when zero, which means all
/// logs. Under half a second rounds to 0, which kubectl still sends and the
/// API server refuses.
fn since_seconds(s: &Session) -> Result<Option<i64>> {
    let Some(since) = s.args.value("since") else { return Ok(None) };
    let (negative, magnitude) = match since.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, since.strip_prefix('+').unwrap_or(since)),
    };
    let ms = super::delete::parse_duration_ms(magnitude)
        .ok_or_else(|| Error::Message(format!("error: invalid argument \"{since}\" for \"--since\" flag: time: invalid duration \"{since}\"\nSee 'kubectl logs --help' for usage.")))?;
    if ms == 0 {
        return Ok(None);
    }
    // time.Duration.Round(time.Second) rounds halves away from zero.
    let seconds = ms.saturating_add(500) / 1000;
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    Ok(Some(if negative { -seconds } else { seconds }))
}

fn parse_since_time(s: &Session) -> Result<Option<VirtualTime>> {
    let Some(t) = s.args.value("since-time") else { return Ok(None) };
    let parsed = t.parse::<k8s_openapi::jiff::Timestamp>().map_err(|_| Error::Message(format!("error: --since-time must be an RFC3339 timestamp")))?;
    let ms = (parsed.as_millisecond() - crate::engine::api::meta::EPOCH_SECONDS * 1000).max(0) as u64;
    Ok(Some(VirtualTime::from_millis(ms)))
}

/// An integer flag as cobra parses it.
fn int_flag(s: &Session, flag: &str) -> Result<Option<i64>> {
    let Some(text) = s.args.value(flag) else { return Ok(None) };
    text.parse()
        .map(Some)
        .map_err(|_| Error::Message(format!("error: invalid argument \"{text}\" for \"--{flag}\" flag: strconv.ParseInt: parsing \"{text}\": invalid syntax\nSee 'kubectl logs --help' for usage.")))
}

pub fn run(s: &mut Session) -> Result {
    let namespace = s.namespace();
    let positionals = s.args.positionals.clone();
    // Flags cobra parses before anything runs.
    let tail_flag = int_flag(s, "tail")?;
    let limit_bytes = int_flag(s, "limit-bytes")?;
    let since_seconds = since_seconds(s)?;
    let selector = s.args.value("selector").map(str::to_string);
    // kubectl's Complete: the arguments, then the object they name.
    let inline_container: Option<String> = match (positionals.len(), selector.is_some()) {
        (0, false) => return Err(Error::Message(USAGE.into())),
        (1, true) => return Err(Error::Message("error: only a selector (-l) or a POD name is allowed\nSee 'kubectl logs -h' for help and examples".into())),
        (2, true) => return Err(Error::Message("error: selectors and the all flag cannot be used when passing resource/name arguments".into())),
        (2, false) => Some(positionals[1].clone()),
        (0 | 1, _) => None,
        _ => return Err(Error::Message(USAGE.into())),
    };
    let since_time = parse_since_time(s)?;
    if let Some(target) = positionals.first() {
        let (kind, name) = target.split_once('/').unwrap_or(("pod", target));
        let rid = resolve(kind)?;
        s.cluster.sim.api.get(rid, &namespace, name).map_err(|e| match e {
            // kubectl wraps a missing object into a plain error naming the namespace.
            e if e.reason == Reason::NotFound => Error::Message(format!("error: error from server (NotFound): {} in namespace \"{namespace}\"", e.message)),
            e => Error::Api(e),
        })?;
    }
    // kubectl's Validate.
    let container = inline_container.clone().or_else(|| s.args.value("container").map(str::to_string));
    if s.args.has("since-time") && s.args.has("since") && s.args.value("since").and_then(|v| super::delete::parse_duration_ms(v.trim_start_matches(['-', '+']))) != Some(0) {
        return Err(Error::Message("error: at most one of `sinceTime` or `sinceSeconds` may be specified".into()));
    }
    if s.args.flag("all-containers") {
        if let Some(c) = &container {
            return Err(Error::Message(format!("error: --all-containers=true should not be specified with container name {c}")));
        }
    }
    if inline_container.is_some() && s.args.has("container") {
        return Err(Error::Message("error: only one of -c or an inline [CONTAINER] arg is allowed".into()));
    }
    if limit_bytes.is_some_and(|n| n < 0) {
        return Err(Error::Message("error: --limit-bytes must be greater than 0".into()));
    }
    if since_seconds.is_some_and(|n| n < 0) {
        return Err(Error::Message("error: --since must be greater than 0".into()));
    }
    if tail_flag.is_some_and(|n| n < -1) {
        return Err(Error::Message("error: --tail must be greater than or equal to -1".into()));
    }
    let now = s.cluster.now();
    let since = since_seconds.map(|secs| VirtualTime::from_millis(now.as_millis().saturating_sub(secs.unsigned_abs().saturating_mul(1000)))).or(since_time);
    // `--all-pods`: every pod of a workload, each line prefixed.
    let all_pods = s.args.flag("all-pods");
    let pods: Vec<Pod> = match (positionals.first(), selector.as_deref()) {
        (Some(target), _) if all_pods => find_pods(s, &namespace, target, Announce::Nothing)?,
        (Some(target), _) => vec![find_pod(s, &namespace, target, true)?],
        (None, Some(sel)) => {
            let selector = Selector::parse(sel).map_err(|e| Error::Message(format!("error: {e}")))?;
            let (pods, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), &namespace).with_labels(selector))?;
            let pods: Vec<Pod> = pods.iter().filter_map(|p| if let Object::Pod(p) = &**p { Some((**p).clone()) } else { None }).collect();
            if pods.is_empty() {
                s.err.push_str(&format!("No resources found in {namespace} namespace.\n"));
                return Ok(());
            }
            pods
        }
        (None, None) => return Err(Error::Message(USAGE.into())),
    };
    let follow = s.args.flag("follow");
    let max_requests: usize = s.args.value("max-log-requests").and_then(|v| v.parse().ok()).unwrap_or(5);
    let previous = s.args.flag("previous");
    let timestamps = s.args.flag("timestamps");
    // With a selector kubectl shows the last 10 lines unless told otherwise.
    let tail: Option<i64> = match tail_flag {
        Some(n) => Some(n),
        None if selector.is_some() => Some(10),
        None => None,
    };
    // Zero means no limit.
    let limit_bytes: Option<usize> = limit_bytes.filter(|n| *n > 0).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut requests: Vec<(Pod, String)> = Vec::new();
    for pod in &pods {
        for c in containers_of(s, pod, container.as_deref(), !all_pods)? {
            requests.push((pod.clone(), c));
        }
    }
    if follow && requests.len() > max_requests {
        return Err(Error::Message(format!(
            "error: you are attempting to follow {} log streams, but maximum allowed concurrency is {max_requests}, use --max-log-requests to increase the limit",
            requests.len()
        )));
    }
    let prefix = s.args.flag("prefix") || all_pods;
    let mut streams = Vec::new();
    for (pod, container) in &requests {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        s.cluster.sim.api.authorize_client_on("get", ids::pods(), "log", &namespace, &pod_name)?;
        // ValidatePodLogOptions.
        if since_seconds == Some(0) {
            let cause = crate::engine::api::Cause { field: "sinceSeconds".into(), message: "Invalid value: 0: must be greater than 0".into() };
            return Err(Error::Api(ApiError::invalid("PodLogOptions", "PodLogOptions", &pod_name, vec![cause])));
        }
        let Some(node) = pod.bound_node().map(str::to_string) else {
            // An unscheduled pod has no log location; the API server answers with nothing.
            continue;
        };
        let (lines, id, dropped, running) = kubelet_logs(s, &node, &namespace, &pod_name, container, previous).map_err(|msg| {
            // An unreachable kubelet is a plain server error; the rest are BadRequest.
            if msg.starts_with("Get \"https://") {
                Error::Message(format!("Error from server: {msg}"))
            } else {
                Error::Api(ApiError::new(Reason::BadRequest, msg))
            }
        })?;
        let mut rank = interactive::SameInstantRank::default();
        let mut chosen: Vec<(usize, u64, &LogLine)> = lines.iter().enumerate().map(|(i, l)| (i, rank.next(l), l)).filter(|(_, _, l)| since.is_none_or(|t| l.time >= t)).collect();
        if let Some(n) = tail.filter(|n| *n >= 0) {
            let start = chosen.len().saturating_sub(n as usize);
            chosen.drain(..start);
        }
        let mut text = String::new();
        for (i, line_rank, line) in chosen {
            if prefix {
                text.push_str(&format!("[pod/{pod_name}/{container}] "));
            }
            if timestamps {
                text.push_str(&interactive::log_timestamp(line, dropped + i as u64, line_rank));
                text.push(' ');
            }
            text.push_str(&line.text);
            text.push('\n');
        }
        if let Some(limit) = limit_bytes {
            let mut cut = limit.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        s.say(false, &text);
        if follow && running && !previous {
            streams.push(Stream { pod: pod_name.clone(), container: container.clone(), node: node.clone(), container_id: id, seen: dropped + lines.len() as u64 });
        }
    }
    if follow && s.terminal && !streams.is_empty() {
        s.interactive = Some(Interactive::Follow(Follow { namespace, streams, prefix, timestamps, remove: None, remove_service: false, wait_for_exit: false, pod_running_timeout_ms: crate::engine::kubectl::interactive::DEFAULT_POD_RUNNING_TIMEOUT_MS }));
    }
    Ok(())
}

/// The containers asked for: `--all-containers`, `-c`, or the default one.
fn containers_of(s: &mut Session, pod: &Pod, container: Option<&str>, say_default: bool) -> Result<Vec<String>> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let all_names: Vec<String> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).map(|c| c.name.clone()).collect();
    if s.args.flag("all-containers") {
        return Ok(all_names);
    }
    if let Some(c) = container {
        // kubectl checks the name itself, among every kind of container.
        if !all_names.iter().chain(spec.ephemeral_containers.iter().flatten().map(|e| &e.name)).any(|n| n == c) {
            return Err(Error::Message(format!("error: container {c} is not valid for pod {pod_name}")));
        }
        return Ok(vec![c.to_string()]);
    }
    // kubectl picks the annotated default container, else the first, and says so.
    let annotated = pod.metadata.annotations.as_ref().and_then(|a| a.get("kubectl.kubernetes.io/default-container")).cloned();
    let chosen = annotated.filter(|a| spec.containers.iter().any(|c| &c.name == a)).or_else(|| spec.containers.first().map(|c| c.name.clone()));
    let Some(chosen) = chosen else { return Ok(vec![]) };
    if say_default && spec.containers.len() + spec.init_containers.as_ref().map(Vec::len).unwrap_or(0) > 1 {
        let mut names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
        names.extend(spec.init_containers.iter().flatten().map(|c| format!("{} (init)", c.name)));
        s.say(true, &format!("Defaulted container \"{chosen}\" out of: {}\n", names.join(", ")));
    }
    Ok(vec![chosen])
}

/// The pod a `logs`/`exec` argument names: `NAME`, `pod/NAME`, or a
/// controller (`deploy/web`, `job/x`) whose first pod kubectl picks
/// (`logs` says which when there are several).
pub fn find_pod(s: &mut Session, namespace: &str, target: &str, announce: bool) -> Result<Pod> {
    let announce = if announce { Announce::FirstOfSeveral } else { Announce::NotLogs };
    let pods = find_pods(s, namespace, target, announce)?;
    pods.into_iter().next().ok_or_else(|| Error::Message("error: timed out waiting for the condition".to_string()))
}

/// What [`find_pods`] says about the pods it found.
#[derive(Clone, Copy, PartialEq)]
enum Announce {
    /// `logs`: "Found 2 pods, using pod/…"; the first pod only.
    FirstOfSeveral,
    /// `logs --all-pods`: every pod, nothing said.
    Nothing,
    /// `exec`, `attach`: the first pod, nothing said, and their wording
    /// for a kind without pods.
    NotLogs,
}

/// The pods a target names, in kubectl's logging order (running first,
/// then older): the pod itself, or a workload's.
fn find_pods(s: &mut Session, namespace: &str, target: &str, announce: Announce) -> Result<Vec<Pod>> {
    let (kind, name) = target.split_once('/').unwrap_or(("pod", target));
    let rid = resolve(kind)?;
    let obj = s.cluster.sim.api.get(rid, namespace, name)?;
    if let Object::Pod(p) = &*obj {
        return Ok(vec![*p.clone()]);
    }
    let selector = match &*obj {
        Object::Deployment(d) => d.spec.as_ref().map(|s| Selector::from_api(&s.selector)),
        Object::ReplicaSet(r) => r.spec.as_ref().map(|s| Selector::from_api(&s.selector)),
        Object::StatefulSet(r) => r.spec.as_ref().map(|s| Selector::from_api(&s.selector)),
        Object::DaemonSet(r) => r.spec.as_ref().map(|s| Selector::from_api(&s.selector)),
        Object::Job(j) => j.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_api),
        Object::Service(svc) => svc.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_map),
        Object::ReplicationController(rc) => rc.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_map),
        _ => None,
    }
    .ok_or_else(|| {
        let r = crate::engine::api::resource(rid);
        if announce != Announce::NotLogs {
            Error::Message(format!("error: cannot get the logs from {}", r.qualified_plural()))
        } else {
            Error::Message(format!("error: cannot attach to *{}.{}: not implemented", r.version, r.kind))
        }
    })?;
    let (pods, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), namespace).with_labels(selector))?;
    let mut pods: Vec<Pod> = pods
        .iter()
        .filter_map(|o| match &**o {
            Object::Pod(p) => Some((**p).clone()),
            _ => None,
        })
        .collect();
    // `logs` orders with podutils.ByLogging, `exec` and `attach` with
    // sort.Reverse(ActivePods); both put the longest-ready running pod first.
    if announce == Announce::NotLogs {
        go_insertion_sort(&mut pods, |a, b| active_pods_less(b, a));
    } else {
        go_insertion_sort(&mut pods, by_logging_less);
    }
    let count = pods.len();
    let Some(first) = pods.first() else {
        return Err(Error::Message("error: timed out waiting for the condition".to_string()));
    };
    if announce == Announce::Nothing {
        return Ok(pods);
    }
    if count > 1 && announce == Announce::FirstOfSeveral {
        s.say(true, &format!("Found {count} pods, using pod/{}\n", first.metadata.name.as_deref().unwrap_or("")));
    }
    pods.truncate(1);
    Ok(pods)
}

/// Asks the node's kubelet for a container's output: its lines, the
/// instance's id, lines rotated away before them, and whether it runs.
fn kubelet_logs(s: &Session, node: &str, namespace: &str, pod: &str, container: &str, previous: bool) -> std::result::Result<(Vec<LogLine>, String, u64, bool), String> {
    let Some(component) = s.cluster.sim.component(&format!("kubelet/{node}")) else {
        return Err(format!("Get \"https://{node}:10250/containerLogs/{namespace}/{pod}/{container}\": dial tcp: lookup {node}: no such host"));
    };
    match (component.as_any().downcast_ref::<crate::engine::node::Kubelet>(), s.cluster.sim.world.machine(node)) {
        // A partitioned node drops the API server's connection attempts.
        (Some(kubelet), Some(_)) if s.cluster.sim.is_partitioned(node) => {
            let address = &kubelet.spec.address;
            Err(format!("Get \"https://{address}:10250/containerLogs/{namespace}/{pod}/{container}\": dial tcp {address}:10250: i/o timeout"))
        }
        (Some(kubelet), Some(machine)) => {
            let lines = kubelet.log_lines(machine, namespace, pod, Some(container), previous)?;
            let instance = machine.runtime.sandboxes().find(|(_, sb)| &*sb.namespace == namespace && sb.pod == pod).and_then(|(_, sb)| sb.latest(container));
            let (id, dropped, running) = instance.map_or((String::new(), 0, false), |c| (c.id.to_string(), if previous { 0 } else { c.logs_dropped }, c.is_running()));
            Ok((lines, id, dropped, running))
        }
        _ => Ok((vec![], String::new(), 0, false)),
    }
}

/// Go's `sort.Sort` as it runs on up to 12 items (an insertion sort, so
/// ties keep the API server's list order); used for any length here, where
/// Go's pdqsort would leave ties of a longer list in another order.
fn go_insertion_sort<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn phase_of(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase()).unwrap_or("")
}

fn node_of(pod: &Pod) -> &str {
    pod.bound_node().unwrap_or("")
}

fn created(pod: &Pod) -> Option<VirtualTime> {
    pod.metadata.creation_timestamp.as_ref().map(meta::virtual_of)
}

/// `afterOrZero`: whether `t1` is after `t2`, a missing time counting as
/// after any other.
fn after_or_zero(t1: Option<VirtualTime>, t2: Option<VirtualTime>) -> bool {
    match (t1, t2) {
        (Some(a), Some(b)) => a > b,
        (t1, _) => t1.is_none(),
    }
}

/// The highest restart count among regular containers, then among sidecars
/// (`maxContainerRestarts`).
fn max_restarts(pod: &Pod) -> (i32, i32) {
    let Some(status) = pod.status.as_ref() else { return (0, 0) };
    let regular = status.container_statuses.iter().flatten().map(|c| c.restart_count).max().unwrap_or(0).max(0);
    let sidecars: Vec<&str> = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).filter(|c| c.restart_policy.as_deref() == Some("Always")).map(|c| c.name.as_str()).collect();
    let sidecar = status.init_container_statuses.iter().flatten().filter(|c| sidecars.contains(&c.name.as_str())).map(|c| c.restart_count).max().unwrap_or(0).max(0);
    (regular, sidecar)
}

/// `compareMaxContainerRestarts`: more restarts sort first.
fn more_restarts(a: &Pod, b: &Pod) -> Option<bool> {
    let (regular_a, sidecar_a) = max_restarts(a);
    let (regular_b, sidecar_b) = max_restarts(b);
    if regular_a != regular_b {
        return Some(regular_a > regular_b);
    }
    (sidecar_a != sidecar_b).then_some(sidecar_a > sidecar_b)
}

/// `podutils.ByLogging.Less`: assigned, running, ready, longest ready, most
/// restarted, oldest first.
fn by_logging_less(a: &Pod, b: &Pod) -> bool {
    let (node_a, node_b) = (node_of(a), node_of(b));
    if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        return !node_a.is_empty();
    }
    let rank = |p: &Pod| match phase_of(p) {
        "Running" => 0,
        "Unknown" => 1,
        "Pending" => 2,
        _ => 0,
    };
    if rank(a) != rank(b) {
        return rank(a) < rank(b);
    }
    let (ready_a, ready_b) = (is_ready(a), is_ready(b));
    if ready_a != ready_b {
        return ready_a;
    }
    if ready_a && ready_b && ready_since(a) != ready_since(b) {
        return after_or_zero(ready_since(b), ready_since(a));
    }
    if let Some(more) = more_restarts(a, b) {
        return more;
    }
    if created(a) != created(b) {
        return after_or_zero(created(b), created(a));
    }
    false
}

/// `podutils.ActivePods.Less`: the pod a controller would delete first.
fn active_pods_less(a: &Pod, b: &Pod) -> bool {
    let (node_a, node_b) = (node_of(a), node_of(b));
    if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        return node_a.is_empty();
    }
    let rank = |p: &Pod| match phase_of(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    };
    if rank(a) != rank(b) {
        return rank(a) < rank(b);
    }
    let (ready_a, ready_b) = (is_ready(a), is_ready(b));
    if ready_a != ready_b {
        return !ready_a;
    }
    let (deleting_a, deleting_b) = (a.metadata.deletion_timestamp.is_some(), b.metadata.deletion_timestamp.is_some());
    if deleting_a != deleting_b {
        return deleting_a;
    }
    let deleted = |p: &Pod| p.metadata.deletion_timestamp.as_ref().map(meta::virtual_of);
    if deleting_a && deleting_b && deleted(a) != deleted(b) {
        return deleted(a) < deleted(b);
    }
    if ready_a && ready_b && ready_since(a) != ready_since(b) {
        return after_or_zero(ready_since(a), ready_since(b));
    }
    if let Some(more) = more_restarts(a, b) {
        return more;
    }
    if created(a) != created(b) {
        return after_or_zero(created(a), created(b));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, ready_at: Option<&str>, restarts: i32) -> Pod {
        let conditions = match ready_at {
            Some(t) => serde_json::json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]),
            None => serde_json::json!([{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:01Z"}]),
        };
        serde_json::from_value::<crate::engine::api::pod::OpenApiPod>(serde_json::json!({
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase, "conditions": conditions, "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": ready_at.is_some(), "restartCount": restarts}]}
        }))
        .unwrap()
        .into()
    }

    fn order(mut pods: Vec<Pod>, exec: bool) -> Vec<String> {
        if exec {
            go_insertion_sort(&mut pods, |a, b| active_pods_less(b, a));
        } else {
            go_insertion_sort(&mut pods, by_logging_less);
        }
        pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn logs_and_exec_prefer_the_assigned_earliest_ready_pod_and_keep_ties_in_list_order() {
        let pods = || {
            vec![
                pod("unassigned", "", "Pending", None, 0),
                pod("pending", "n1", "Pending", None, 0),
                pod("unready", "n1", "Running", None, 0),
                pod("late", "n1", "Running", Some("2026-01-01T00:00:09Z"), 0),
                pod("early-b", "n1", "Running", Some("2026-01-01T00:00:05Z"), 0),
                pod("early-a", "n1", "Running", Some("2026-01-01T00:00:05Z"), 0),
                pod("restarted", "n1", "Running", Some("2026-01-01T00:00:09Z"), 2),
            ]
        };
        assert_eq!(order(pods(), false), ["early-b", "early-a", "restarted", "late", "unready", "pending", "unassigned"]);
        assert_eq!(order(pods(), true), ["early-b", "early-a", "late", "restarted", "unready", "pending", "unassigned"]);
    }
}
