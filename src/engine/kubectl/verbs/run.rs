//! `kubectl run NAME --image=…`: one pod, as kubectl 1.33's generator
//! builds it; with `-i`/`--attach` kubectl waits for it to run and attaches
//! (`--rm` deletes it afterwards).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerPort, EnvVar, PodSpec, PodStatus, ResourceRequirements};
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::Object;
use super::attach;
use crate::engine::kubectl::verbs::create::{save_config, submit_generated_as, SaveConfig};
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let Some(name) = s.args.positionals.first().cloned() else {
        return Err(Error::Message("error: NAME is required for run\nSee 'kubectl run -h' for help and examples".to_string()));
    };
    let Some(image) = s.args.value("image").map(str::to_string).filter(|i| !i.is_empty()) else {
        return Err(Error::Message("error: --image is required".to_string()));
    };
    let restart = s.args.value("restart").unwrap_or("Always").to_string();
    if !matches!(restart.as_str(), "Always" | "OnFailure" | "Never") {
        return Err(Error::Message(format!("error: invalid restart policy: {restart}\nSee 'kubectl run -h' for help and examples")));
    }
    let interactive = s.args.flag("stdin");
    let tty = s.args.flag("tty");
    let attach = if s.args.has("attach") { s.args.flag("attach") } else { interactive };
    let remove = s.args.flag("rm");
    if tty && !interactive {
        return Err(Error::Message("error: -i/--stdin is required for containers with -t/--tty=true".to_string()));
    }
    if remove && !attach {
        return Err(Error::Message("error: --rm should only be used for attached containers".to_string()));
    }
    if attach && s.args.has("dry-run") && s.args.value("dry-run") != Some("none") {
        return Err(Error::Message("error: --dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)\nSee 'kubectl run -h' for help and examples".to_string()));
    }
    let labels: BTreeMap<String, String> = match s.args.value("labels") {
        Some(spec) => {
            let mut map = BTreeMap::new();
            for pair in spec.split(',') {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(Error::Message(format!("error: invalid label spec: {pair}")));
                };
                map.insert(k.to_string(), v.to_string());
            }
            map
        }
        None => BTreeMap::from([("run".to_string(), name.clone())]),
    };
    let mut env = Vec::new();
    for e in s.args.values("env") {
        let Some((k, v)) = e.split_once('=') else {
            return Err(Error::Message(format!("error: invalid env: {e}")));
        };
        env.push(EnvVar { name: k.to_string(), value: Some(v.to_string()), ..Default::default() });
    }
    let annotations: BTreeMap<String, String> =
        crate::engine::sort::insert_all(s.args.values("annotations").iter().filter_map(|a| a.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())));
    let args = s.args.positionals[1..].iter().chain(s.args.after_dash.iter()).cloned().collect::<Vec<_>>();
    let command_mode = s.args.flag("command");
    let port = match s.args.value("port") {
        Some(p) => Some(p.parse::<i32>().map_err(|_| Error::Message(format!("error: strconv.Atoi: parsing {p:?}: invalid syntax")))?),
        None => None,
    };
    let container = Container {
        name: name.clone(),
        image: Some(image),
        command: (command_mode && !args.is_empty()).then(|| args.clone()),
        args: (!command_mode && !args.is_empty()).then(|| args.clone()),
        env: (!env.is_empty()).then_some(env),
        ports: port.map(|p| vec![ContainerPort { container_port: p, ..Default::default() }]),
        image_pull_policy: s.args.value("image-pull-policy").map(str::to_string),
        resources: Some(ResourceRequirements::default()),
        stdin: interactive.then_some(true),
        stdin_once: (interactive && !s.args.flag("leave-stdin-open")).then_some(true),
        tty: tty.then_some(true),
        security_context: s.args.flag("privileged").then(|| k8s_openapi::api::core::v1::SecurityContext { privileged: Some(true), ..Default::default() }),
        ..Default::default()
    };
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![container],
            dns_policy: Some("ClusterFirst".to_string()),
            restart_policy: Some(restart),
            ..Default::default()
        }
        .into()),
        status: Some(std::rc::Rc::new(PodStatus::default().into())),
        node_name: None,
        token_volume: None,
        affinity_node: None,
    };
    let object = apply_overrides(s, Object::Pod(Box::new(pod)))?;
    if !attach {
        return submit_generated_as(s, object, None, "created", SaveConfig::NotOnClientDryRun, |_| {});
    }
    let Object::Pod(pod) = object else { return Err(Error::Message("error: the overrides did not leave a Pod".to_string())) };
    let pod = *pod;
    let restart_policy = pod.spec.as_ref().and_then(|sp| sp.restart_policy.clone()).unwrap_or_default();
    let namespace = s.namespace();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut created = Object::Pod(Box::new(pod));
    save_config(s, &mut created, SaveConfig::NotOnClientDryRun, &|_| {});
    created.meta_mut().namespace = Some(namespace.clone());
    s.cluster.sim.api.create(created)?;
    s.cluster.sim.settle();
    let timeout = match s.args.value("pod-running-timeout") {
        Some(t) => super::delete::parse_duration_ms(t).ok_or_else(|| Error::Message(format!("error: invalid argument \"{t}\" for \"--pod-running-timeout\" flag: time: invalid duration \"{t}\"")))?,
        None => 60_000,
    };
    let wait_for_exit = !s.args.flag("leave-stdin-open") && (restart_policy == "Never" || restart_policy == "OnFailure");
    let Some(running) = attach::wait_running(s, &namespace, &name, timeout) else {
        let mut tail = String::new();
        if remove {
            tail = crate::engine::kubectl::run_words(s.cluster, vec!["delete".into(), "pod".into(), name.clone(), "--namespace".into(), namespace.clone()], None, &crate::engine::kubectl::NoFiles).combined();
        }
        s.say(false, &tail);
        return Err(Error::Message("error: timed out waiting for the condition".to_string()));
    };
    let phase = running.status.as_ref().and_then(|st| st.phase.clone()).unwrap_or_default();
    let quiet = s.args.flag("quiet");
    let result = if phase == "Succeeded" || phase == "Failed" {
        // Already over: kubectl shows its logs instead of attaching.
        let text = crate::engine::kubectl::run_words(s.cluster, vec!["logs".into(), name.clone(), "--namespace".into(), namespace.clone()], None, &crate::engine::kubectl::NoFiles).combined();
        s.say(false, &text);
        let mut tail = String::new();
        let code = crate::engine::kubectl::interactive::finish(s.cluster, &namespace, &name, remove, wait_for_exit, &mut tail);
        s.say(false, &tail);
        if code != 0 { Err(Error::Exit(code, String::new())) } else { Ok(()) }
    } else {
        let options = attach::AttachOptions { stdin: interactive, tty, quiet, remove, wait_for_exit, stream: true };
        let result = attach::attach(s, &running, &name, options);
        match (&result, &s.interactive) {
            // The page's terminal now drives it; its end removes the pod.
            (Ok(()), Some(_)) => return Ok(()),
            _ => {}
        }
        result
    };
    result
}

/// `--overrides`: an inline JSON patch of the generated object, applied as
/// `--override-type` says (merge by default, as kubectl's Overrider).
pub(super) fn apply_overrides(s: &Session, object: Object) -> std::result::Result<Object, Error> {
    use crate::engine::apiserver::patch;
    let Some(text) = s.args.value("overrides").filter(|o| !o.is_empty()) else { return Ok(object) };
    let kind = s.args.value("override-type").unwrap_or("merge");
    if !matches!(kind, "json" | "merge" | "strategic") {
        return Err(Error::Message(format!("error: invalid override type: {kind}")));
    }
    let overrides: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Message(format!("error: {e}")))?;
    let generated = object.to_json();
    let patched = match kind {
        "json" => patch::json_patch(&generated, &overrides).map_err(|e| Error::Message(format!("error: {e}")))?,
        "strategic" => patch::strategic_merge_patch(&generated, &overrides).map_err(|e| Error::Message(format!("error: {e}")))?,
        _ => patch::merge_patch(&generated, &overrides),
    };
    crate::engine::apiserver::decode::decode_typed(object.resource_id(), &patched).map_err(|e| Error::Message(format!("error: {e}")))
}
