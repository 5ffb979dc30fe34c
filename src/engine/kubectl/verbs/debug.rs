//! `kubectl debug`, as kubectl 1.33's `DebugOptions` runs it: an ephemeral
//! container added to a running pod (the `pods/ephemeralcontainers`
//! subresource), a copy of a pod with a debugging container or changed
//! containers (`--copy-to`), or a pod in a node's host namespaces
//! (`node/NAME`); each shaped by a profile (`profiles.go`) and, with
//! `-i` or `--attach`, attached to once its container runs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Capabilities, Container, EnvVar, EphemeralContainer, HostPathVolumeSource, PodSpec, SeccompProfile, SecurityContext, Toleration, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::attach::{self, AttachOptions};
use crate::engine::api::pod::Pod;
use crate::engine::api::{ids, resource, resolve_resource_arg, Object};
use crate::engine::kubectl::interactive;
use crate::engine::kubectl::{Error, Result, Session};

/// How long a script waits for the debugging container to run (kubectl
/// itself waits without end).
const SCRIPT_WAIT_LIMIT_MS: u64 = 600_000;

const PROFILES: &[&str] = &["legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Ephemeral,
    PodCopy,
    Node,
}

/// The flags `DebugOptions.Complete` reads, checked as `Validate` does.
struct Options {
    image: String,
    container: String,
    copy_to: String,
    target: String,
    profile: String,
    pull_policy: String,
    env: Vec<EnvVar>,
    set_images: BTreeMap<String, String>,
    args: Vec<String>,
    args_only: bool,
    interactive: bool,
    tty: bool,
    attach: bool,
    quiet: bool,
    replace: bool,
    same_node: bool,
    /// `--share-processes`, when given (`shareProcessedChanged`).
    share_processes: Option<bool>,
    keep: Keep,
}

/// `KeepFlags`: what a pod copy keeps of the original.
#[derive(Clone, Copy)]
struct Keep {
    labels: bool,
    annotations: bool,
    liveness: bool,
    readiness: bool,
    startup: bool,
    init_containers: bool,
}

/// pflag's `stringToString`: comma-separated `key=value` pairs, each flag
/// given adding to the map.
fn string_to_string(s: &Session, flag: &str) -> std::result::Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for value in s.args.values(flag) {
        for pair in value.split(',').filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(Error::Usage(format!("invalid argument {value:?} for \"--{flag}\" flag: {pair} must be formatted as key=value")));
            };
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    Ok(pairs)
}

fn options(s: &Session) -> std::result::Result<Options, Error> {
    let interactive = s.args.flag("stdin");
    let env_pairs = string_to_string(s, "env")?;
    let set_images: BTreeMap<String, String> = string_to_string(s, "set-image")?.into_iter().collect();
    // Go ranges over the map: the variables' order is not kept; here they
    // are sorted by name, one of the orders Go may give.
    let env: BTreeMap<String, String> = env_pairs.into_iter().collect();
    let env = env.into_iter().map(|(name, value)| EnvVar { name, value: Some(value), ..Default::default() }).collect();
    let profile = s.args.value("profile").unwrap_or("legacy").to_string();
    if !PROFILES.contains(&profile.as_str()) {
        return Err(Error::Message(format!("error: unknown profile: {profile}")));
    }
    if s.args.has("custom") {
        return Err(Error::Message("error: --custom is not part of this simulation: there is no local file to read the partial container spec from".to_string()));
    }
    // `ArgsLenAtDash`: the words after `--` are the command.
    let args = s.args.after_dash.clone();
    Ok(Options {
        image: s.args.value("image").unwrap_or("").to_string(),
        container: s.args.value("container").unwrap_or("").to_string(),
        copy_to: s.args.value("copy-to").unwrap_or("").to_string(),
        target: s.args.value("target").unwrap_or("").to_string(),
        profile,
        pull_policy: s.args.value("image-pull-policy").unwrap_or("").to_string(),
        env,
        set_images,
        args,
        args_only: s.args.flag("arguments-only"),
        interactive,
        tty: s.args.flag("tty"),
        attach: if s.args.has("attach") { s.args.flag("attach") } else { interactive },
        quiet: s.args.flag("quiet"),
        replace: s.args.flag("replace"),
        same_node: s.args.flag("same-node"),
        share_processes: s.args.has("share-processes").then(|| s.args.flag("share-processes")),
        keep: Keep {
            labels: s.args.flag("keep-labels"),
            annotations: s.args.flag("keep-annotations"),
            liveness: s.args.flag("keep-liveness"),
            readiness: s.args.flag("keep-readiness"),
            startup: s.args.flag("keep-startup"),
            init_containers: !s.args.has("keep-init-containers") || s.args.flag("keep-init-containers"),
        },
    })
}

/// `DebugOptions.Validate`, in its order.
fn validate(s: &mut Session, o: &Options) -> Result {
    let fail = |text: &str| Err(Error::Message(format!("error: {text}")));
    if o.attach && s.args.has("attach") && o.image.is_empty() && o.container.is_empty() {
        return fail("you must specify --container or create a new container using --image in order to attach.");
    }
    if !o.copy_to.is_empty() {
        if o.image.is_empty() && o.set_images.is_empty() && o.args.is_empty() {
            return fail("you must specify --image, --set-image or command arguments.");
        }
        if !o.args.is_empty() && o.container.is_empty() && o.image.is_empty() {
            return fail("you must specify an existing container or a new image when specifying args.");
        }
    } else if o.replace {
        return fail("--replace may only be used with --copy-to.");
    } else if o.same_node {
        return fail("--same-node may only be used with --copy-to.");
    } else if !o.set_images.is_empty() {
        return fail("--set-image may only be used with --copy-to.");
    } else if o.image.is_empty() {
        return fail("you must specify --image when not using --copy-to.");
    }
    if !o.image.is_empty() && !super::run::is_image_reference(&o.image) {
        return fail(&format!("invalid image name {:?}: invalid reference format", o.image));
    }
    if s.args.positionals.is_empty() && s.args.values("filename").is_empty() {
        return fail("NAME or filename is required for debug");
    }
    if !matches!(o.pull_policy.as_str(), "Always" | "IfNotPresent" | "Never" | "") {
        return fail(&format!("invalid image pull policy: {}", o.pull_policy));
    }
    for (name, image) in &o.set_images {
        if !super::run::is_image_reference(image) {
            return fail(&format!("invalid image name {image:?} for container {name:?}: invalid reference format"));
        }
    }
    if !o.target.is_empty() {
        if !o.copy_to.is_empty() {
            return fail("--target is incompatible with --copy-to. Use --share-processes instead.");
        }
        if !o.quiet {
            s.say(false, &format!("Targeting container {:?}. If you don't see processes from this container it may be because the container runtime doesn't support this feature.\n", o.target));
        }
    }
    if o.tty && !o.interactive {
        return fail("-i/--stdin is required for containers with -t/--tty=true");
    }
    if o.profile == "legacy" {
        s.say(true, "--profile=legacy is deprecated and will be removed in the future. It is recommended to explicitly specify a profile, for example \"--profile=general\".\n");
    }
    Ok(())
}

pub fn run(s: &mut Session) -> Result {
    let o = options(s)?;
    validate(s, &o)?;
    if !s.args.values("filename").is_empty() {
        return Err(Error::Message("error: kubectl debug -f is not part of this simulation: name the pod or node instead".to_string()));
    }
    let namespace = s.namespace();
    // `ResourceNames("pods", …)`: a bare name is a pod's.
    let names = s.args.positionals.clone();
    for word in names {
        let (rid, name) = match word.split_once('/') {
            Some((kind, name)) => (resolve_resource_arg(kind).ok_or_else(|| Error::Message(format!("error: the server doesn't have a resource type \"{kind}\"")))?, name.to_string()),
            None => (ids::pods(), word.clone()),
        };
        let object_namespace = if resource(rid).namespaced { namespace.as_str() } else { "" };
        let object = s.cluster.sim.api.get(rid, object_namespace, &name)?;
        let (debug_pod, container) = match &*object {
            Object::Node(node) => visit_node(s, &o, &namespace, node.metadata.name.as_deref().unwrap_or_default())?,
            Object::Pod(pod) if !o.copy_to.is_empty() => debug_by_copy(s, &o, pod)?,
            Object::Pod(pod) => debug_by_ephemeral_container(s, &o, pod)?,
            _ => {
                let rt = resource(rid);
                return Err(Error::Message(format!("error: \"{}/{}, Kind={}\" not supported by debug", rt.group, rt.version, rt.kind)));
            }
        };
        if o.attach && !container.is_empty() {
            handle_attach(s, &o, &debug_pod, &container)?;
        }
    }
    Ok(())
}

/// `computeDebugContainerName`: `--container`, else `debugger-xxxxx`
/// drawn until it names no container of the pod.
fn debug_container_name(s: &mut Session, o: &Options, spec: &PodSpec) -> String {
    if !o.container.is_empty() {
        return o.container.clone();
    }
    let taken = |name: &str| {
        spec.containers.iter().any(|c| c.name == name) || spec.init_containers.iter().flatten().any(|c| c.name == name) || spec.ephemeral_containers.iter().flatten().any(|c| c.name == name)
    };
    let mut name = String::new();
    while name.is_empty() || taken(&name) {
        name = format!("debugger-{}", s.cluster.sim.api.random_suffix(5));
    }
    if !o.quiet {
        s.say(false, &format!("Defaulting debug container name to {name}.\n"));
    }
    name
}

fn debug_by_ephemeral_container(s: &mut Session, o: &Options, pod: &Pod) -> Result<(Pod, String)> {
    let mut copied = pod.clone();
    copied.metadata.resource_version = None;
    let name = debug_container_name(s, o, pod.spec.as_deref().unwrap_or(&PodSpec::default()));
    let (command, args) = if o.args_only { (None, Some(o.args.clone())) } else { (Some(o.args.clone()), None) };
    let container = EphemeralContainer {
        name: name.clone(),
        env: (!o.env.is_empty()).then(|| o.env.clone()),
        image: Some(o.image.clone()),
        image_pull_policy: (!o.pull_policy.is_empty()).then(|| o.pull_policy.clone()),
        stdin: o.interactive.then_some(true),
        termination_message_policy: Some("File".to_string()),
        tty: o.tty.then_some(true),
        target_container_name: (!o.target.is_empty()).then(|| o.target.clone()),
        command: command.filter(|c| !c.is_empty()),
        args: args.filter(|a| !a.is_empty()),
        ..Default::default()
    };
    copied.spec_mut().ephemeral_containers.get_or_insert_with(Vec::new).push(container);
    let mut metadata = std::mem::take(&mut copied.metadata);
    apply_profile(&o.profile, Style::Ephemeral, o.keep, &mut metadata, copied.spec_mut(), &name);
    copied.metadata = metadata;
    warn_non_root(s, copied.spec.as_deref(), &name);
    s.cluster.sim.api.set_client_update("patch", "ephemeralcontainers");
    let stored = s.cluster.sim.api.update_ephemeral_containers(Object::Pod(Box::new(copied)), false)?;
    let Object::Pod(result) = &*stored else { return Err(Error::Message("error: the server did not return a pod".to_string())) };
    Ok(((**result).clone(), name))
}

/// `generatePodCopyWithDebugContainer` and `debugByCopy`.
fn debug_by_copy(s: &mut Session, o: &Options, pod: &Pod) -> Result<(Pod, String)> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    // The pod as the API server wrote it: its spec whole (node name and
    // service account volume in place), read back as a new pod would be.
    let whole = Object::Pod(Box::new(pod.clone())).to_json();
    let mut copy = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": o.copy_to, "namespace": namespace},
        "spec": whole.get("spec").cloned().unwrap_or_default(),
    });
    for field in ["labels", "annotations"] {
        if let (Some(value), Some(meta)) = (whole.pointer(&format!("/metadata/{field}")).cloned(), copy.get_mut("metadata").and_then(|m| m.as_object_mut())) {
            meta.insert(field.to_string(), value);
        }
    }
    let decoded = crate::engine::apiserver::decode::decode_typed(ids::pods(), &copy).map_err(|e| Error::Message(format!("error: {e}")))?;
    let Object::Pod(copied) = decoded else { return Err(Error::Message("error: the copy is not a pod".to_string())) };
    let mut copied = *copied;
    if !o.same_node {
        copied.node_name = None;
    }
    let spec = copied.spec_mut();
    spec.ephemeral_containers = None;
    if let Some(share) = o.share_processes {
        spec.share_process_namespace = Some(share);
    }
    for c in spec.containers.iter_mut() {
        let image = o.set_images.get(&c.name).or_else(|| o.set_images.get("*"));
        if let Some(image) = image.filter(|i| !i.is_empty()) {
            c.image = Some(image.clone());
        }
    }
    let existing = !o.container.is_empty() && (spec.containers.iter().any(|c| c.name == o.container) || spec.init_containers.iter().flatten().any(|c| c.name == o.container));
    let name = if existing {
        o.container.clone()
    } else {
        if o.image.is_empty() {
            if !o.set_images.is_empty() {
                // Only images changed: nothing to attach to.
                let created = create_pod(s, copied)?;
                replace_original(s, o, pod)?;
                return Ok((created, String::new()));
            }
            return Err(Error::Message("error: you must specify image when creating new container".to_string()));
        }
        let spec_now = copied.spec.as_deref().cloned().unwrap_or_default();
        let name = debug_container_name(s, o, &spec_now);
        copied.spec_mut().containers.push(Container { name: name.clone(), termination_message_policy: Some("File".to_string()), ..Default::default() });
        name
    };
    let spec = copied.spec_mut();
    let found = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()).find(|c| c.name == name);
    if let Some(c) = found {
        if !o.args.is_empty() {
            if o.args_only {
                c.args = Some(o.args.clone());
            } else {
                c.command = Some(o.args.clone());
                c.args = None;
            }
        }
        if !o.env.is_empty() {
            c.env = Some(o.env.clone());
        }
        if !o.image.is_empty() {
            c.image = Some(o.image.clone());
        }
        if !o.pull_policy.is_empty() {
            c.image_pull_policy = Some(o.pull_policy.clone());
        }
        c.stdin = o.interactive.then_some(true);
        c.tty = o.tty.then_some(true);
    }
    let mut metadata = std::mem::take(&mut copied.metadata);
    apply_profile(&o.profile, Style::PodCopy, o.keep, &mut metadata, copied.spec_mut(), &name);
    copied.metadata = metadata;
    warn_non_root(s, copied.spec.as_deref(), &name);
    let created = create_pod(s, copied)?;
    replace_original(s, o, pod)?;
    Ok((created, name))
}

fn create_pod(s: &mut Session, pod: Pod) -> Result<Pod> {
    let stored = s.cluster.sim.api.create(Object::Pod(Box::new(pod)))?;
    match &*stored {
        Object::Pod(p) => Ok((**p).clone()),
        _ => Err(Error::Message("error: the server did not return a pod".to_string())),
    }
}

/// `--replace`: the original pod is deleted at once (grace period 0).
fn replace_original(s: &mut Session, o: &Options, pod: &Pod) -> Result {
    if !o.replace {
        return Ok(());
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let options = crate::engine::apiserver::DeleteOptions { grace_period_seconds: Some(0), ..Default::default() };
    s.cluster.sim.api.delete(ids::pods(), &namespace, &name, &options)?;
    Ok(())
}

/// `visitNode` and `generateNodeDebugPod`.
fn visit_node(s: &mut Session, o: &Options, namespace: &str, node: &str) -> Result<(Pod, String)> {
    let container = if o.container.is_empty() { "debugger".to_string() } else { o.container.clone() };
    let pod_name = format!("node-debugger-{node}-{}", s.cluster.sim.api.random_suffix(5));
    if !o.quiet {
        s.say(false, &format!("Creating debugging pod {pod_name} with container {container} on node {node}.\n"));
    }
    let (command, args) = if o.args_only { (None, Some(o.args.clone())) } else { (Some(o.args.clone()), None) };
    let mut metadata = ObjectMeta { name: Some(pod_name), namespace: Some(namespace.to_string()), ..Default::default() };
    let mut spec = PodSpec {
        containers: vec![Container {
            name: container.clone(),
            env: (!o.env.is_empty()).then(|| o.env.clone()),
            image: Some(o.image.clone()),
            image_pull_policy: (!o.pull_policy.is_empty()).then(|| o.pull_policy.clone()),
            stdin: o.interactive.then_some(true),
            termination_message_policy: Some("File".to_string()),
            tty: o.tty.then_some(true),
            command: command.filter(|c| !c.is_empty()),
            args: args.filter(|a| !a.is_empty()),
            ..Default::default()
        }],
        restart_policy: Some("Never".to_string()),
        tolerations: Some(vec![Toleration { operator: Some("Exists".to_string()), ..Default::default() }]),
        ..Default::default()
    };
    apply_profile(&o.profile, Style::Node, o.keep, &mut metadata, &mut spec, &container);
    let pod = Pod { metadata, spec: Some(spec.into()), status: None, node_name: Some(node.to_string()), token_volume: None, affinity_node: None };
    let created = create_pod(s, pod)?;
    Ok((created, container))
}

/// The container (regular, init or ephemeral) named `name`'s security context.
fn security_context<'a>(spec: &'a mut PodSpec, name: &str) -> Option<&'a mut Option<SecurityContext>> {
    if let Some(c) = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()).find(|c| c.name == name) {
        return Some(&mut c.security_context);
    }
    spec.ephemeral_containers.iter_mut().flatten().find(|c| c.name == name).map(|c| &mut c.security_context)
}

fn with_context(spec: &mut PodSpec, name: &str, change: impl FnOnce(&mut SecurityContext)) {
    if let Some(context) = security_context(spec, name) {
        change(context.get_or_insert_with(Default::default));
    }
}

fn add_capability(spec: &mut PodSpec, name: &str, capability: &str) {
    with_context(spec, name, |c| c.capabilities.get_or_insert_with(Capabilities::default).add.get_or_insert_with(Vec::new).push(capability.to_string()));
}

/// The profiles of `profiles.go`, each by debugging style.
fn apply_profile(profile: &str, style: Style, keep: Keep, metadata: &mut ObjectMeta, spec: &mut PodSpec, name: &str) {
    let mount_root = |spec: &mut PodSpec| {
        spec.volumes.get_or_insert_with(Vec::new).push(Volume { name: "host-root".to_string(), host_path: Some(HostPathVolumeSource { path: "/".to_string(), type_: None }), ..Default::default() });
        if let Some(c) = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()).find(|c| c.name == name) {
            c.volume_mounts.get_or_insert_with(Vec::new).push(VolumeMount { mount_path: "/host".to_string(), name: "host-root".to_string(), ..Default::default() });
        }
    };
    let host_namespaces = |spec: &mut PodSpec| {
        spec.host_network = Some(true);
        spec.host_pid = Some(true);
        spec.host_ipc = Some(true);
    };
    let clear_context = |spec: &mut PodSpec| {
        if let Some(context) = security_context(spec, name) {
            *context = None;
        }
    };
    // The copy's trimming (`RemoveLabels` … `RemoveInitContainers`) and
    // `shareProcessNamespace` where not set.
    let trim_copy = |metadata: &mut ObjectMeta, spec: &mut PodSpec| {
        if !keep.labels {
            metadata.labels = None;
        }
        if !keep.annotations {
            metadata.annotations = None;
        }
        for c in spec.containers.iter_mut() {
            if !keep.liveness {
                c.liveness_probe = None;
            }
            if !keep.readiness {
                c.readiness_probe = None;
            }
            if !keep.startup {
                c.startup_probe = None;
            }
        }
        if !keep.init_containers {
            spec.init_containers = None;
        }
    };
    let share_processes = |spec: &mut PodSpec| {
        spec.share_process_namespace.get_or_insert(true);
    };
    match profile {
        "legacy" => match style {
            Style::Node => {
                mount_root(spec);
                host_namespaces(spec);
            }
            // The legacy profile removes the labels only, whatever --keep-labels says.
            Style::PodCopy => metadata.labels = None,
            Style::Ephemeral => {}
        },
        "general" => match style {
            Style::Node => {
                mount_root(spec);
                clear_context(spec);
                host_namespaces(spec);
            }
            Style::PodCopy => {
                trim_copy(metadata, spec);
                add_capability(spec, name, "SYS_PTRACE");
                share_processes(spec);
            }
            Style::Ephemeral => add_capability(spec, name, "SYS_PTRACE"),
        },
        "baseline" | "restricted" => {
            clear_context(spec);
            if profile == "restricted" {
                with_context(spec, name, |c| c.run_as_non_root = Some(true));
                with_context(spec, name, |c| {
                    let caps = c.capabilities.get_or_insert_with(Capabilities::default);
                    caps.drop = Some(vec!["ALL".to_string()]);
                    caps.add = None;
                });
                with_context(spec, name, |c| c.allow_privilege_escalation = Some(false));
                with_context(spec, name, |c| c.seccomp_profile = Some(SeccompProfile { type_: "RuntimeDefault".to_string(), localhost_profile: None }));
            }
            if style == Style::PodCopy {
                trim_copy(metadata, spec);
                share_processes(spec);
            }
        }
        "netadmin" => {
            add_capability(spec, name, "NET_ADMIN");
            add_capability(spec, name, "NET_RAW");
            match style {
                Style::Node => host_namespaces(spec),
                Style::PodCopy => {
                    trim_copy(metadata, spec);
                    share_processes(spec);
                }
                Style::Ephemeral => {}
            }
        }
        "sysadmin" => {
            with_context(spec, name, |c| c.privileged = Some(true));
            match style {
                Style::Node => {
                    host_namespaces(spec);
                    mount_root(spec);
                }
                Style::PodCopy => {
                    trim_copy(metadata, spec);
                    share_processes(spec);
                }
                Style::Ephemeral => {}
            }
        }
        _ => {}
    }
}

/// `displayWarning`: a pod-wide non-root user may keep a profile's
/// capabilities from working.
fn warn_non_root(s: &mut Session, spec: Option<&PodSpec>, name: &str) {
    let Some(spec) = spec else { return };
    let pod_user = spec.security_context.as_ref().and_then(|c| c.run_as_user);
    if pod_user.is_none_or(|u| u == 0) {
        return;
    }
    let context = spec.containers.iter().find(|c| c.name == name).and_then(|c| c.security_context.as_ref()).or_else(|| spec.ephemeral_containers.iter().flatten().find(|c| c.name == name).and_then(|c| c.security_context.as_ref()));
    let Some(context) = context else { return };
    if context.run_as_user == Some(0) {
        return;
    }
    let privileged = context.privileged == Some(true);
    let adds = context.capabilities.as_ref().and_then(|c| c.add.as_ref()).is_some_and(|a| !a.is_empty());
    if !privileged && !adds {
        return;
    }
    s.say(true, "Warning: Non-root user is configured for the entire target Pod, and some capabilities granted by debug profile may not work. Please consider using \"--custom\" with a custom profile that specifies \"securityContext.runAsUser: 0\".\n");
}

/// `handleAttachPod`: waits for the container to run (`waitForContainer`),
/// then attaches, or shows its logs if it has already ended.
fn handle_attach(s: &mut Session, o: &Options, pod: &Pod, container: &str) -> Result {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let until = s.cluster.now().plus_millis(SCRIPT_WAIT_LIMIT_MS);
    let mut warned: Option<String> = None;
    let (running, terminated) = loop {
        s.cluster.sim.settle();
        let current = match s.cluster.sim.api.get(ids::pods(), &namespace, &name).ok().as_deref() {
            Some(Object::Pod(p)) => Some((**p).clone()),
            _ => None,
        };
        let Some(current) = current else {
            return Err(Error::Message(format!("error: pods {name:?} not found")));
        };
        let status = current.status.as_deref().and_then(|st| {
            st.container_statuses.iter().flatten().chain(st.init_container_statuses.iter().flatten()).chain(st.ephemeral_container_statuses.iter().flatten()).find(|c| c.name == container).cloned()
        });
        if let Some(state) = status.as_ref().and_then(|st| st.state.as_ref()) {
            if state.running.is_some() || state.terminated.is_some() {
                break (current, state.terminated.is_some());
            }
            if let Some(message) = state.waiting.as_ref().and_then(|w| w.message.clone()).filter(|m| !m.is_empty()) {
                if !o.quiet && warned.as_deref() != Some(message.as_str()) {
                    s.warn(&format!("Warning: container {container}: {message}\n"));
                    warned = Some(message);
                }
            }
        }
        if s.cluster.now() >= until {
            return Err(Error::Message("error: a script cannot wait forever: the debugging container was still not running after 10m0s of virtual time".to_string()));
        }
        let next = s.cluster.sim.next_timer().unwrap_or(until).min(until).max(s.cluster.now().plus_millis(1));
        s.cluster.sim.run_until(next);
    };
    if terminated {
        let text = crate::engine::kubectl::run_words(s.cluster, vec!["logs".into(), name.clone(), "-c".into(), container.to_string(), "--namespace".into(), namespace.clone()], None, &crate::engine::kubectl::NoFiles).combined();
        s.say(false, &text);
        return Ok(());
    }
    let options = AttachOptions {
        stdin: o.interactive,
        tty: o.tty,
        quiet: o.quiet,
        remove: false,
        remove_service: false,
        wait_for_exit: false,
        pod_running_timeout_ms: interactive::DEFAULT_POD_RUNNING_TIMEOUT_MS,
        stream: true,
    };
    attach::attach(s, &running, container, options)
}

#[cfg(test)]
mod tests {
    use super::{apply_profile, Keep, Style};
    use k8s_openapi::api::core::v1::{Container, EphemeralContainer, PodSpec, Probe};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    const KEEP_NOTHING: Keep = Keep { labels: false, annotations: false, liveness: false, readiness: false, startup: false, init_containers: true };

    fn pod_spec() -> PodSpec {
        PodSpec {
            containers: vec![
                Container { name: "app".into(), readiness_probe: Some(Probe::default()), ..Default::default() },
                Container { name: "debugger".into(), ..Default::default() },
            ],
            ..Default::default()
        }
    }

    fn labelled() -> ObjectMeta {
        ObjectMeta { labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])), annotations: Some(BTreeMap::from([("a".to_string(), "b".to_string())])), ..Default::default() }
    }

    /// `profiles.go`: what each profile sets on a node's debugging pod.
    #[test]
    fn node_profiles_set_host_namespaces_root_mount_and_contexts() {
        for (profile, host, root, privileged) in [("legacy", true, true, false), ("general", true, true, false), ("baseline", false, false, false), ("netadmin", true, false, false), ("sysadmin", true, true, true)] {
            let mut spec = pod_spec();
            apply_profile(profile, Style::Node, KEEP_NOTHING, &mut ObjectMeta::default(), &mut spec, "debugger");
            assert_eq!(spec.host_pid == Some(true) && spec.host_network == Some(true) && spec.host_ipc == Some(true), host, "{profile}");
            let mounted = spec.containers[1].volume_mounts.iter().flatten().any(|m| m.mount_path == "/host" && m.name == "host-root");
            assert_eq!(mounted, root, "{profile}");
            assert_eq!(spec.volumes.iter().flatten().any(|v| v.host_path.as_ref().is_some_and(|h| h.path == "/")), root, "{profile}");
            let context = spec.containers[1].security_context.clone().unwrap_or_default();
            assert_eq!(context.privileged == Some(true), privileged, "{profile}");
        }
        let mut spec = pod_spec();
        apply_profile("netadmin", Style::Node, KEEP_NOTHING, &mut ObjectMeta::default(), &mut spec, "debugger");
        let added = spec.containers[1].security_context.as_ref().and_then(|c| c.capabilities.as_ref()).and_then(|c| c.add.clone());
        assert_eq!(added, Some(vec!["NET_ADMIN".to_string(), "NET_RAW".to_string()]));
    }

    /// A copy: legacy drops the labels only; general also the annotations
    /// and probes, adds SYS_PTRACE and shares the process namespace;
    /// restricted runs as non-root with every capability dropped.
    #[test]
    fn copy_profiles_trim_the_copy() {
        let mut spec = pod_spec();
        let mut meta = labelled();
        apply_profile("legacy", Style::PodCopy, KEEP_NOTHING, &mut meta, &mut spec, "debugger");
        assert!(meta.labels.is_none() && meta.annotations.is_some());
        assert!(spec.containers[0].readiness_probe.is_some() && spec.share_process_namespace.is_none());

        let mut spec = pod_spec();
        let mut meta = labelled();
        apply_profile("general", Style::PodCopy, Keep { labels: true, ..KEEP_NOTHING }, &mut meta, &mut spec, "debugger");
        assert!(meta.labels.is_some() && meta.annotations.is_none());
        assert!(spec.containers[0].readiness_probe.is_none());
        assert_eq!(spec.share_process_namespace, Some(true));
        let added = spec.containers[1].security_context.as_ref().and_then(|c| c.capabilities.as_ref()).and_then(|c| c.add.clone());
        assert_eq!(added, Some(vec!["SYS_PTRACE".to_string()]));

        let mut spec = pod_spec();
        spec.share_process_namespace = Some(false);
        apply_profile("restricted", Style::PodCopy, KEEP_NOTHING, &mut labelled(), &mut spec, "debugger");
        // Only set where not set already.
        assert_eq!(spec.share_process_namespace, Some(false));
        let context = spec.containers[1].security_context.clone().unwrap_or_default();
        assert_eq!(context.run_as_non_root, Some(true));
        assert_eq!(context.allow_privilege_escalation, Some(false));
        assert_eq!(context.capabilities.and_then(|c| c.drop), Some(vec!["ALL".to_string()]));
        assert_eq!(context.seccomp_profile.map(|p| p.type_), Some("RuntimeDefault".to_string()));
    }

    /// An ephemeral container's profile marks go on it, not on the pod's
    /// containers of another name.
    #[test]
    fn ephemeral_profiles_mark_the_ephemeral_container() {
        let mut spec = pod_spec();
        spec.ephemeral_containers = Some(vec![EphemeralContainer { name: "debugger-x".into(), ..Default::default() }]);
        apply_profile("sysadmin", Style::Ephemeral, KEEP_NOTHING, &mut ObjectMeta::default(), &mut spec, "debugger-x");
        assert!(spec.containers.iter().all(|c| c.security_context.is_none()));
        assert!(spec.host_pid.is_none());
        let ephemeral = spec.ephemeral_containers.unwrap_or_default();
        assert_eq!(ephemeral[0].security_context.as_ref().and_then(|c| c.privileged), Some(true));
    }
}
