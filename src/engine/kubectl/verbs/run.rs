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
    // kubectl's checks, in `RunOptions.Run`'s order.
    let timeout = pod_running_timeout(s, "run")?;
    let Some(image) = s.args.value("image").map(str::to_string).filter(|i| !i.is_empty()) else {
        return Err(Error::Message("error: --image is required".to_string()));
    };
    if !is_image_reference(&image) {
        return Err(Error::Message(format!("error: Invalid image name {image:?}: invalid reference format")));
    }
    let interactive = s.args.flag("stdin");
    let tty = s.args.flag("tty");
    let attach = if s.args.has("attach") { s.args.flag("attach") } else { interactive };
    let remove = s.args.flag("rm");
    let expose = s.args.flag("expose");
    let usage = |text: &str| Err(Error::Message(format!("error: {text}\nSee 'kubectl run -h' for help and examples")));
    if tty && !interactive {
        return usage("-i/--stdin is required for containers with -t/--tty=true");
    }
    let port_text = s.args.value("port").unwrap_or("").to_string();
    if expose && port_text.is_empty() {
        return usage("--port must be set when exposing a service");
    }
    let restart = s.args.value("restart").unwrap_or("Always").to_string();
    // An empty `--restart` waits as OnFailure with `-i`, while the
    // generator still writes Always (`getRestartPolicy`, `BasicPod.Generate`).
    let wait_policy = match restart.as_str() {
        "" if interactive => "OnFailure",
        "" => "Always",
        "Always" | "OnFailure" | "Never" => restart.as_str(),
        _ => return usage(&format!("invalid restart policy: {restart}")),
    }
    .to_string();
    let restart = if restart.is_empty() { "Always".to_string() } else { restart };
    if remove && !attach {
        return usage("--rm should only be used for attached containers");
    }
    if attach && s.args.has("dry-run") && s.args.value("dry-run") != Some("none") {
        return usage("--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)");
    }
    let pull_policy = s.args.value("image-pull-policy").unwrap_or("").to_string();
    if !matches!(pull_policy.as_str(), "" | "Always" | "IfNotPresent" | "Never") {
        return usage(&format!("invalid image pull policy: {pull_policy}"));
    }
    // The generator's (`BasicPod.Generate`): environment, annotations, labels, port.
    let mut env = Vec::new();
    for e in s.args.values("env") {
        let valid = e.split_once('=').filter(|(k, _)| !k.is_empty() && super::set::env_var_name_problems(k).is_empty());
        let Some((k, v)) = valid else {
            return Err(Error::Message(format!("error: invalid env: {e}")));
        };
        env.push(EnvVar { name: k.to_string(), value: Some(v.to_string()), ..Default::default() });
    }
    let mut annotations = BTreeMap::new();
    let mut malformed = Vec::new();
    for pair in s.args.values("annotations") {
        match pair.split_once('=').filter(|(k, _)| !k.is_empty()) {
            Some((k, v)) => {
                annotations.insert(k.to_string(), v.to_string());
            }
            None => malformed.push(pair.clone()),
        }
    }
    if !malformed.is_empty() {
        return Err(Error::Message(format!("error: invalid annotations format: {}", malformed.join(", "))));
    }
    let labels_text = s.args.value("labels").unwrap_or("").to_string();
    let labels = if labels_text.is_empty() { BTreeMap::from([("run".to_string(), name.clone())]) } else { super::expose::parse_labels(&labels_text).map_err(|e| Error::Message(format!("error: {e}")))? };
    let args = s.args.positionals[1..].iter().chain(s.args.after_dash.iter()).cloned().collect::<Vec<_>>();
    let command_mode = s.args.flag("command");
    let port = match port_text.as_str() {
        "" => None,
        p => Some(super::expose::go_atoi(p).map_err(|e| Error::Message(format!("error: {e}")))?),
    };
    let pod_name = name.clone();
    let mut deferred_failure = None;
    let container = Container {
        name: name.clone(),
        image: Some(image),
        command: (command_mode && !args.is_empty()).then(|| args.clone()),
        args: (!command_mode && !args.is_empty()).then(|| args.clone()),
        env: (!env.is_empty()).then_some(env),
        ports: port.map(|p| vec![ContainerPort { container_port: p, ..Default::default() }]),
        image_pull_policy: (!pull_policy.is_empty()).then_some(pull_policy),
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
        if !expose {
            return submit_generated_as(s, object, None, "created", SaveConfig::NotOnClientDryRun, |_| {});
        }
        // The pod is created first, but printed after the Service, which
        // `generateService` prints as soon as it is created.
        let start = s.out.len();
        submit_generated_as(s, object, None, "created", SaveConfig::NotOnClientDryRun, |_| {})?;
        let pod_printed = s.out.split_off(start);
        let service = create_service(s, &pod_name, &labels_text, &port_text);
        if service.is_ok() && s.args.value("output") == Some("yaml") {
            s.out.push_str("---\n");
        }
        s.out.push_str(&pod_printed);
        return service;
    }
    let Object::Pod(pod) = object else { return Err(Error::Message("error: the overrides did not leave a Pod".to_string())) };
    let pod = *pod;
    let namespace = s.namespace();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut created = Object::Pod(Box::new(pod));
    save_config(s, &mut created, SaveConfig::NotOnClientDryRun, &|_| {});
    created.meta_mut().namespace = Some(namespace.clone());
    s.cluster.sim.api.create(created)?;
    let mut remove_service = false;
    if expose {
        let start = s.out.len();
        let service = create_service(s, &pod_name, &labels_text, &port_text);
        let printed = s.out.split_off(start);
        s.say(false, &printed);
        // kubectl goes on to attach, and reports the failure at the end.
        match service {
            Ok(()) => remove_service = remove,
            Err(e) => deferred_failure = Some(e),
        }
    }
    s.cluster.sim.settle();
    // What the exit status is waited for follows the flag (`getRestartPolicy`), not the pod.
    let wait_for_exit = !s.args.flag("leave-stdin-open") && (wait_policy == "Never" || wait_policy == "OnFailure");
    let running = match attach::wait_running(s, &namespace, &name, timeout) {
        Ok(pod) => pod,
        Err(end) => {
            let mut tail = String::new();
            if remove {
                crate::engine::kubectl::interactive::remove_run_objects(s.cluster, &namespace, &name, remove_service, &mut tail);
            }
            s.say(false, &tail);
            return Err(Error::Message(crate::engine::kubectl::interactive::pod_wait_failure(end).unwrap_or_default().to_string()));
        }
    };
    let phase = running.status.as_ref().and_then(|st| st.phase.clone()).unwrap_or_default();
    let quiet = s.args.flag("quiet");
    let result = if phase == "Succeeded" || phase == "Failed" {
        // Already over: kubectl shows its logs instead of attaching.
        let text = crate::engine::kubectl::run_words(s.cluster, vec!["logs".into(), name.clone(), "--namespace".into(), namespace.clone()], None, &crate::engine::kubectl::NoFiles).combined();
        s.say(false, &text);
        let mut tail = String::new();
        let code = crate::engine::kubectl::interactive::finish(s.cluster, &namespace, &name, remove, remove_service, wait_for_exit, timeout, &mut tail);
        s.say(false, &tail);
        if code != 0 { Err(Error::Exit(code, String::new())) } else { Ok(()) }
    } else {
        let options = attach::AttachOptions { stdin: interactive, tty, quiet, remove, remove_service, wait_for_exit, pod_running_timeout_ms: timeout, stream: true };
        let result = attach::attach(s, &running, &name, options);
        match (&result, &s.interactive) {
            // The page's terminal now drives it; its end removes the pod.
            (Ok(()), Some(_)) => return Ok(()),
            _ => {}
        }
        result
    };
    match (result, deferred_failure) {
        (Ok(()), Some(e)) => Err(e),
        (result, _) => result,
    }
}

/// `--expose`'s Service, created and printed.
fn create_service(s: &mut Session, name: &str, labels: &str, port: &str) -> Result {
    let service = super::expose::service_for_run(name, labels, port).map_err(|e| Error::Message(format!("error: {e}")))?;
    submit_generated_as(s, Object::Service(Box::new(service)), None, "created", SaveConfig::NotOnClientDryRun, |_| {})
}

/// `--pod-running-timeout` (`GetPodRunningTimeoutFlag`), in milliseconds:
/// a Go duration, above zero; one minute unless given.
pub(super) fn pod_running_timeout(s: &Session, command: &str) -> std::result::Result<u64, Error> {
    let Some(text) = s.args.value("pod-running-timeout") else { return Ok(60_000) };
    let nanos = crate::engine::cron::parse_go_duration(text).map_err(|e| Error::Usage(format!("invalid argument {text:?} for \"--pod-running-timeout\" flag: {e}")))?;
    if nanos <= 0 {
        return Err(Error::Message(format!("error: --pod-running-timeout must be higher than zero\nSee 'kubectl {command} -h' for help and examples")));
    }
    Ok(u64::try_from(nanos / 1_000_000).unwrap_or(u64::MAX))
}

/// Whether `image` matches the distribution library's `ReferenceRegexp`
/// (`name[:tag][@digest]`), which kubectl checks before it creates anything.
pub(super) fn is_image_reference(image: &str) -> bool {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if digest.is_some_and(|d| !is_digest(d)) {
        return false;
    }
    // A tag is what follows a colon after the last slash; the regexp also
    // reads the whole as a name (`localhost:5000`), so either will do.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let tagged = rest[last_slash..].rfind(':').map(|i| (&rest[..last_slash + i], &rest[last_slash + i + 1..]));
    is_image_name(rest) || tagged.is_some_and(|(name, tag)| is_image_name(name) && is_tag(tag))
}

/// `[domain[:port]/]path-component[/path-component]*`.
fn is_image_name(name: &str) -> bool {
    let remote = |text: &str| text.split('/').all(is_path_component);
    remote(name) || name.split_once('/').is_some_and(|(domain, rest)| is_domain_and_port(domain) && remote(rest))
}

/// `[a-z0-9]+` joined by one `.`, one or two `_`, or any number of `-`.
fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => i += if bytes.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A host (DNS-like components, or `[ipv6]`) with an optional `:port`.
fn is_domain_and_port(text: &str) -> bool {
    let (host_ok, port) = if let Some(inner) = text.strip_prefix('[') {
        match inner.split_once(']') {
            Some((address, rest)) => {
                let port = match (rest, rest.strip_prefix(':')) {
                    ("", _) => None,
                    (_, Some(port)) => Some(port),
                    (_, None) => return false,
                };
                (!address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'), port)
            }
            None => return false,
        }
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        let component = |c: &str| {
            let b = c.as_bytes();
            !b.is_empty() && b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric() && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        };
        (host.split('.').all(component), port)
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty() && bytes.len() <= 128 && word(bytes[0]) && bytes.iter().all(|b| word(*b) || *b == b'.' || *b == b'-')
}

/// `algorithm:hex`, the algorithm letters and digits in parts joined by
/// `-_+.`, each part starting with a letter; at least 32 hex digits.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else { return false };
    let part = |p: &str| p.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && p.bytes().all(|b| b.is_ascii_alphanumeric());
    algorithm.split(['-', '_', '+', '.']).all(part) && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
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

#[cfg(test)]
mod tests {
    use super::is_image_reference;

    /// Cases checked against kubectl 1.33's `Invalid image name` refusal.
    #[test]
    fn image_references_as_the_distribution_regexp_reads_them() {
        for valid in [
            "busybox",
            "busybox:1.37",
            "a__b",
            "a--b",
            "localhost:5000",
            "localhost:5000/a/b:1.0@sha256:0123456789abcdef0123456789abcdef",
            "[::1]:5000/a",
            "Registry.IO/a:1",
            "registry.k8s.io/e2e-test-images/agnhost:2.53",
            "nginx:Latest_1.2-x",
        ] {
            assert!(is_image_reference(valid), "{valid} is a reference");
        }
        for invalid in ["BusyBox:1", "a/B", "a:b:c", "a___b", "a._b", "a:-1", "nginx@sha256:abc", "a/", "/a", "a//b", "-a", "a b", "[]/a", "host:/a", "a@b@sha256:0123456789abcdef0123456789abcdef"] {
            assert!(!is_image_reference(invalid), "{invalid} is not a reference");
        }
    }
}
