//! `kubectl logs`: the API server checks the pod and container, then asks
//! the node's kubelet for the container's output.

use crate::engine::api::{ids, meta, ApiError, Object, Reason};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::selector::Selector;

use super::get::resolve;

const USAGE: &str = "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples";

pub fn run(s: &mut Session) -> Result {
    let namespace = s.namespace();
    let positionals = s.args.positionals.clone();
    let pod = match (positionals.first(), s.args.value("selector")) {
        (Some(target), _) => find_pod(s, &namespace, target)?,
        (None, Some(sel)) => {
            let selector = Selector::parse(sel).map_err(|e| Error::Message(format!("error: {e}")))?;
            let (pods, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), &namespace).with_labels(selector))?;
            match pods.first() {
                Some(p) => match &**p {
                    Object::Pod(p) => p.clone(),
                    _ => return Err(Error::Message(USAGE.into())),
                },
                None => {
                    s.err.push_str(&format!("No resources found in {namespace} namespace.\n"));
                    return Ok(());
                }
            }
        }
        (None, None) => return Err(Error::Message(USAGE.into())),
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let all_names: Vec<String> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).map(|c| c.name.clone()).collect();
    let containers: Vec<String> = if s.args.flag("all-containers") {
        all_names.clone()
    } else if let Some(c) = s.args.value("container") {
        if !all_names.iter().any(|n| n == c) {
            return Err(Error::Api(ApiError::new(Reason::BadRequest, format!("container {c} is not valid for pod {pod_name}"))));
        }
        vec![c.to_string()]
    } else {
        // kubectl picks the annotated default container, else the first, and says so.
        let annotated = pod.metadata.annotations.as_ref().and_then(|a| a.get("kubectl.kubernetes.io/default-container")).cloned();
        let chosen = annotated.filter(|a| spec.containers.iter().any(|c| &c.name == a)).or_else(|| spec.containers.first().map(|c| c.name.clone()));
        let Some(chosen) = chosen else { return Ok(()) };
        if spec.containers.len() + spec.init_containers.as_ref().map(Vec::len).unwrap_or(0) > 1 {
            let mut names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
            names.extend(spec.init_containers.iter().flatten().map(|c| format!("{} (init)", c.name)));
            s.err.push_str(&format!("Defaulted container \"{chosen}\" out of: {}\n", names.join(", ")));
        }
        vec![chosen]
    };
    let previous = s.args.flag("previous");
    let Some(node) = spec.node_name.clone().filter(|n| !n.is_empty()) else {
        // An unscheduled pod has no log location; the API server answers with nothing.
        return Ok(());
    };
    let prefix = s.args.flag("prefix");
    for container in &containers {
        let text = kubelet_logs(s, &node, &namespace, &pod_name, container, previous).map_err(|msg| {
            // An unreachable kubelet is a plain server error; the rest are BadRequest.
            if msg.starts_with("Get \"https://") {
                Error::Message(format!("Error from server: {msg}"))
            } else {
                Error::Api(ApiError::new(Reason::BadRequest, msg))
            }
        })?;
        let text = tail(&text, s.args.value("tail"));
        for line in text.lines() {
            if prefix {
                s.out.push_str(&format!("[pod/{pod_name}/{container}] "));
            }
            s.out.push_str(line);
            s.out.push('\n');
        }
    }
    Ok(())
}

/// The last `--tail` lines (all for -1 or no flag).
fn tail(text: &str, n: Option<&str>) -> String {
    let Some(n) = n.and_then(|v| v.parse::<i64>().ok()).filter(|n| *n >= 0) else { return text.to_string() };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n as usize);
    lines[start..].iter().map(|l| format!("{l}\n")).collect()
}

/// The pod a `logs` argument names: `NAME`, `pod/NAME`, or a controller
/// (`deploy/web`, `job/x`) whose first pod kubectl picks.
fn find_pod(s: &mut Session, namespace: &str, target: &str) -> Result<k8s_openapi::api::core::v1::Pod> {
    let (kind, name) = target.split_once('/').unwrap_or(("pod", target));
    let rid = resolve(kind)?;
    let obj = s.cluster.sim.api.get(rid, namespace, name)?;
    if let Object::Pod(p) = &*obj {
        return Ok(p.clone());
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
    .ok_or_else(|| Error::Message(format!("error: cannot get the logs from {}", crate::engine::api::resource(rid).qualified_plural())))?;
    let (pods, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::pods(), namespace).with_labels(selector))?;
    let mut pods: Vec<k8s_openapi::api::core::v1::Pod> = pods
        .iter()
        .filter_map(|o| match &**o {
            Object::Pod(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    // kubectl prefers running, then older pods.
    pods.sort_by_key(|p| {
        let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        (!running, p.metadata.creation_timestamp.as_ref().map(|t| meta::virtual_of(t)))
    });
    let count = pods.len();
    let Some(first) = pods.into_iter().next() else {
        return Err(Error::Message(format!("error: timed out waiting for the condition")));
    };
    if count > 1 {
        s.err.push_str(&format!("Found {count} pods, using pod/{}\n", first.metadata.name.as_deref().unwrap_or("")));
    }
    Ok(first)
}

/// Asks the node's kubelet for a container's output.
fn kubelet_logs(s: &Session, node: &str, namespace: &str, pod: &str, container: &str, previous: bool) -> std::result::Result<String, String> {
    let Some(component) = s.cluster.sim.component(&format!("kubelet/{node}")) else {
        return Err(format!("Get \"https://{node}:10250/containerLogs/{namespace}/{pod}/{container}\": dial tcp: lookup {node}: no such host"));
    };
    match (component.as_any().downcast_ref::<crate::engine::node::Kubelet>(), s.cluster.sim.world.machine(node)) {
        (Some(kubelet), Some(machine)) => kubelet.logs(machine, namespace, pod, Some(container), previous),
        _ => Ok(String::new()),
    }
}
