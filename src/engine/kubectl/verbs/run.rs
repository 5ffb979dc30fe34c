//! `kubectl run NAME --image=…`: one pod, as kubectl 1.33's generator builds it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerPort, EnvVar, Pod, PodSpec, PodStatus, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::Object;
use crate::engine::kubectl::verbs::create::submit_generated;
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
    if s.args.flag("stdin") || s.args.flag("tty") || s.args.flag("attach") || s.args.flag("rm") {
        return Err(Error::Message("error: attaching to containers is not available in this simulation; run without -i, -t, --attach or --rm".to_string()));
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
        s.args.values("annotations").iter().filter_map(|a| a.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
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
        }),
        status: Some(PodStatus::default()),
    };
    submit_generated(s, Object::Pod(pod), None, "created")
}
