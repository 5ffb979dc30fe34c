//! The pod status a 1.33 kubelet generates (`generateAPIPodStatus`): phase,
//! the kubelet-owned conditions, container statuses and addresses.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ResourceRequirements, ContainerState, ContainerUser, LinuxContainerUser, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, HostIP, PodCondition, PodIP, PodStatus, VolumeMountStatus};
use crate::engine::api::pod::Pod;

use super::runtime::{Flavor, RuntimeContainer, Sandbox};
use crate::engine::api::meta::api_time;
use crate::engine::sim::clock::VirtualTime;

/// Conditions the kubelet writes; others (PodScheduled, DisruptionTarget) are kept as found.
pub const KUBELET_CONDITIONS: &[&str] = &["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodResizePending", "PodResizeInProgress"];
/// The conditions `mergePodStatus` takes from the kubelet's new status
/// (`PodConditionsByKubelet`), PodScheduled among them.
const KUBELET_CONDITIONS_AND_SCHEDULED: &[&str] = &["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodResizePending", "PodResizeInProgress", "PodScheduled"];

/// Why a container is not running, as the kubelet's reason cache remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

/// What the kubelet knows about a pod beyond the runtime.
pub struct Inputs<'a> {
    pub pod: &'a Pod,
    pub sandbox: Option<&'a Sandbox>,
    pub flavor: Flavor,
    pub host_ip: &'a str,
    pub start_time: VirtualTime,
    pub waiting: &'a BTreeMap<String, Waiting>,
    /// Container name → readiness (probe result, or true without a probe).
    pub ready: &'a BTreeMap<String, bool>,
    /// Container name → started (startup probe passed, or true without one).
    pub started: &'a BTreeMap<String, bool>,
    /// The pod is being deleted and all its containers have stopped.
    pub terminated_for_deletion: bool,
    /// The kubelet ends the pod: `Failed` with this reason and message (a
    /// pod past its `activeDeadlineSeconds`).
    pub evicted: Option<(&'static str, &'static str)>,
    /// A resized pod's resize conditions and the resources its containers
    /// run with, by name (`None` for a pod never resized).
    pub resize: Option<(Vec<PodCondition>, &'a BTreeMap<String, ResourceRequirements>)>,
    pub now: VirtualTime,
}

pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always")
}

/// Init containers with `restartPolicy: Always` are sidecars: they keep running.
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Whether the kubelet restarts a container that exited with `code`.
pub fn should_restart(policy: &str, code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => code != 0,
        _ => true,
    }
}

fn terminated(c: &RuntimeContainer, flavor: Flavor) -> Option<ContainerStateTerminated> {
    let exit = c.exit.as_ref()?;
    Some(ContainerStateTerminated {
        container_id: Some(c.id.uri(flavor.id_scheme())),
        exit_code: exit.code,
        finished_at: Some(api_time(exit.at)),
        message: exit.message.clone(),
        reason: Some(exit.reason.clone()),
        signal: None,
        // A container that never started reports the zero time, as the runtime does.
        started_at: Some(c.started_at.map_or_else(
            || k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            api_time,
        )),
    })
}

fn container_status(spec: &Container, inputs: &Inputs, default_waiting: &str) -> ContainerStatus {
    let latest = inputs.sandbox.and_then(|s| s.latest(&spec.name));
    let previous = inputs.sandbox.and_then(|s| s.previous(&spec.name));
    let flavor = inputs.flavor;
    let waiting = inputs.waiting.get(&spec.name);
    let running = latest.is_some_and(RuntimeContainer::is_running);
    let (state, last_state) = match (latest, waiting) {
        (Some(c), _) if running => (
            ContainerState { running: Some(ContainerStateRunning { started_at: c.started_at.map(api_time) }), ..Default::default() },
            previous.and_then(|p| terminated(p, flavor)),
        ),
        (latest, Some(w)) => (
            ContainerState { waiting: Some(ContainerStateWaiting { reason: Some(w.reason.clone()), message: w.message.clone() }), ..Default::default() },
            latest.and_then(|c| terminated(c, flavor)),
        ),
        (Some(c), None) => (
            ContainerState { terminated: terminated(c, flavor), ..Default::default() },
            previous.and_then(|p| terminated(p, flavor)),
        ),
        (None, None) => (
            ContainerState { waiting: Some(ContainerStateWaiting { reason: Some(default_waiting.to_string()), message: None }), ..Default::default() },
            None,
        ),
    };
    let image = match latest {
        Some(c) => flavor.status_image(&c.image),
        None => spec.image.clone().unwrap_or_default(),
    };
    let volume_mounts = spec.volume_mounts.as_ref().filter(|m| !m.is_empty()).map(|mounts| {
        mounts
            .iter()
            .map(|m| VolumeMountStatus {
                name: inputs.pod.volume_name(&m.name).to_string(),
                mount_path: m.mount_path.clone(),
                read_only: m.read_only.filter(|r| *r),
                recursive_read_only: m.read_only.filter(|r| *r).map(|_| "Disabled".to_string()),
            })
            .collect()
    });
    ContainerStatus {
        name: spec.name.clone(),
        image,
        image_id: latest.map(|c| flavor.status_image_id(&c.image)).unwrap_or_default(),
        container_id: latest.map(|c| c.id.uri(flavor.id_scheme())),
        ready: running && inputs.ready.get(&spec.name).copied().unwrap_or(true),
        restart_count: latest.map_or(0, |c| c.attempt),
        started: Some(running && inputs.started.get(&spec.name).copied().unwrap_or(true)),
        state: Some(state),
        last_state: Some(last_state.map_or_else(ContainerState::default, |t| ContainerState { terminated: Some(t), ..Default::default() })),
        volume_mounts,
        // containerd 2 reports who the container's first process ran as;
        // cri-dockerd does not.
        user: latest.filter(|_| flavor == Flavor::Containerd).map(|c| ContainerUser {
            linux: Some(LinuxContainerUser {
                uid: c.user.uid.into(),
                gid: c.user.gid.into(),
                supplemental_groups: Some(c.user.groups.iter().map(|g| i64::from(*g)).collect()),
            }),
        }),
        ..Default::default()
    }
}

/// `convertToAPIContainerStatuses` for ephemeral containers: never ready,
/// and no startup state (the prober does not follow them).
fn ephemeral_statuses(ephemeral: &[k8s_openapi::api::core::v1::EphemeralContainer], inputs: &Inputs, default_waiting: &str) -> Vec<ContainerStatus> {
    ephemeral
        .iter()
        .map(|e| {
            let mut status = container_status(&super::kubelet::ephemeral_as_container(e), inputs, default_waiting);
            status.ready = false;
            status.started = None;
            status
        })
        .collect()
}

fn exit_code(s: &ContainerStatus) -> Option<i32> {
    s.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code)
}

/// The status the kubelet would write now, merged over the pod's current one.
pub fn generate(inputs: &Inputs) -> PodStatus {
    let pod = inputs.pod;
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    // Read through its packed fields: this runs for every pod sync. The
    // fields a packed status never holds are read from the whole one.
    let current = pod.status.as_deref();
    let rare = current.and_then(|c| c.whole());
    let policy = restart_policy(pod);
    let init_specs: &[Container] = spec.init_containers.as_deref().unwrap_or(&[]);
    let default_waiting = if init_specs.is_empty() { "ContainerCreating" } else { "PodInitializing" };
    let init_statuses: Vec<ContainerStatus> = init_specs
        .iter()
        .map(|c| {
            let mut status = container_status(c, inputs, default_waiting);
            // The prober counts a plain init container ready once it exited 0, not while it runs.
            if !is_sidecar(c) {
                status.ready = exit_code(&status) == Some(0);
            }
            status
        })
        .collect();
    let mut statuses: Vec<ContainerStatus> = spec.containers.iter().map(|c| container_status(c, inputs, default_waiting)).collect();
    // `convertContainerStatusResources`: the resources each container runs
    // with (reported here for a resized pod's containers only).
    let mut init_statuses = init_statuses;
    if let Some((_, actuated)) = &inputs.resize {
        for s in statuses.iter_mut().chain(init_statuses.iter_mut()) {
            if let Some(r) = actuated.get(&s.name) {
                s.resources = Some(r.clone());
            }
        }
    }

    // GeneratePodInitializedCondition: a plain init container is done once
    // it exited 0, a sidecar once it has started.
    let mut incomplete: Vec<String> = Vec::new();
    for (c, s) in init_specs.iter().zip(&init_statuses) {
        let done = if is_sidecar(c) { s.started == Some(true) } else { exit_code(s) == Some(0) };
        if !done {
            incomplete.push(c.name.clone());
        }
    }
    // HasAnyActiveRegularContainerStarted: a regular container in the pod's
    // sandbox means its init containers ran once; a sidecar restarting later
    // does not take the pod back to initializing.
    let regular_started = spec.containers.iter().any(|c| inputs.sandbox.is_some_and(|s| s.latest(&c.name).is_some()));

    // getPhase.
    let (mut pending_init, mut pending_sidecars, mut failed_init) = (0, 0, 0);
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    let last_exit = |s: &ContainerStatus| s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).map(|t| t.exit_code);
    for (c, s) in init_specs.iter().zip(&init_statuses) {
        let state = s.state.as_ref();
        let is_running = state.is_some_and(|st| st.running.is_some());
        let is_terminated = state.and_then(|st| st.terminated.as_ref());
        if is_sidecar(c) {
            // A sidecar that stopped, or waits to restart after it stopped, is ignored.
            if is_running {
                if s.started != Some(true) {
                    pending_sidecars += 1;
                }
                running += 1;
            } else if is_terminated.is_none() && last_exit(s).is_none() {
                pending_sidecars += 1;
                waiting += 1;
            }
        } else if is_running {
            pending_init += 1;
        } else if let Some(t) = is_terminated {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else if let Some(code) = last_exit(s) {
            if code != 0 {
                failed_init += 1;
            }
        } else {
            pending_init += 1;
        }
    }
    for s in &statuses {
        let state = s.state.as_ref();
        if state.is_some_and(|st| st.running.is_some()) {
            running += 1;
        } else if let Some(t) = state.and_then(|st| st.terminated.as_ref()) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if last_exit(s).is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    let total = statuses.len();
    let phase = if inputs.evicted.is_some() {
        "Failed"
    } else if inputs.terminated_for_deletion {
        if stopped == succeeded && stopped == total { "Succeeded" } else { "Failed" }
    } else if failed_init > 0 && policy == "Never" {
        "Failed"
    } else if pending_init > 0 || (pending_sidecars > 0 && !regular_started) || waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        }
    } else {
        "Pending"
    };
    let terminal = phase == "Succeeded" || phase == "Failed";

    let transition = |type_: &str, status: &str| {
        current
            .and_then(|current| current.conditions().find(|c| c.type_ == type_ && c.status == status))
            .and_then(|c| c.last_transition_time)
            .or_else(|| Some(api_time(inputs.now)))
    };
    let cond = |type_: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        PodCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            message,
            last_probe_time: None,
            last_transition_time: transition(type_, status),
            observed_generation: None,
        }
    };
    let sandbox_ready = inputs.sandbox.is_some_and(|s| s.ready) && !terminal;
    let mut unready: Vec<String> = Vec::new();
    for s in init_statuses.iter().zip(init_specs).filter(|(_, c)| is_sidecar(c)).map(|(s, _)| s).chain(&statuses) {
        if !s.ready {
            unready.push(s.name.clone());
        }
    }
    let (ready_reason, ready_message) = if phase == "Succeeded" {
        (Some("PodCompleted"), None)
    } else if phase == "Failed" {
        (Some("PodFailed"), None)
    } else if !unready.is_empty() {
        (Some("ContainersNotReady"), Some(format!("containers with unready status: [{}]", unready.join(" "))))
    } else {
        (None, None)
    };
    let all_ready = unready.is_empty() && !terminal;
    // GeneratePodReadyCondition: with its containers ready, the pod is Ready
    // only once the condition each readiness gate names (another
    // component's to write) is True.
    let gates_unready: Vec<String> = match spec.readiness_gates.as_deref() {
        Some(gates) if all_ready => gates
            .iter()
            .filter_map(|gate| {
                let type_ = gate.condition_type.as_str();
                let found = current.and_then(|current| current.conditions().find(|c| c.type_ == type_ && !KUBELET_CONDITIONS.contains(&c.type_)).map(|c| c.status.to_string()));
                match found.as_deref() {
                    None => Some(format!("corresponding condition of pod readiness gate {type_:?} does not exist.")),
                    Some("True") => None,
                    Some(status) => Some(format!("the status of pod readiness gate {type_:?} is not \"True\", but {status}")),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let initialized = if phase == "Succeeded" {
        cond("Initialized", true, Some("PodCompleted"), None)
    } else if !incomplete.is_empty() && !regular_started {
        cond("Initialized", false, Some("ContainersNotInitialized"), Some(format!("containers with incomplete status: [{}]", incomplete.join(" "))))
    } else {
        cond("Initialized", true, None, None)
    };
    // In the order the kubelet's status write leaves them (`mergePodStatus`):
    // the conditions others own first, then the kubelet's, PodScheduled last.
    let others = current.map_or(0, |current| current.conditions().filter(|c| !KUBELET_CONDITIONS.contains(&c.type_)).count());
    let mut conditions = Vec::with_capacity(KUBELET_CONDITIONS.len() + others);
    conditions.extend(current.into_iter().flat_map(|current| current.conditions_except(KUBELET_CONDITIONS_AND_SCHEDULED)));
    conditions.extend(inputs.resize.iter().flat_map(|(resize_conditions, _)| resize_conditions.iter().cloned()));
    conditions.extend([
        cond("PodReadyToStartContainers", sandbox_ready, None, None),
        initialized,
        if gates_unready.is_empty() { cond("Ready", all_ready, ready_reason, ready_message.clone()) } else { cond("Ready", false, Some("ReadinessGatesNotReady"), Some(gates_unready.join(", "))) },
        cond("ContainersReady", all_ready, ready_reason, ready_message),
    ]);
    conditions.extend(current.into_iter().flat_map(|current| current.conditions_except(KUBELET_CONDITIONS)).filter(|c| c.type_ == "PodScheduled"));

    let pod_ip = inputs.sandbox.map(|s| s.ip.clone()).or_else(|| current.and_then(|c| c.pod_ip()).map(std::borrow::Cow::into_owned));
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        host_ip: Some(inputs.host_ip.to_string()),
        host_ips: Some(vec![HostIP { ip: inputs.host_ip.to_string() }]),
        pod_ip: pod_ip.clone(),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
        start_time: current.and_then(|c| c.start_time()).or_else(|| Some(api_time(inputs.start_time))),
        init_container_statuses: if init_statuses.is_empty() { None } else { Some(init_statuses) },
        container_statuses: Some(statuses),
        ephemeral_container_statuses: spec.ephemeral_containers.as_deref().filter(|e| !e.is_empty()).map(|ephemeral| ephemeral_statuses(ephemeral, inputs, default_waiting)),
        message: inputs.evicted.map(|(_, m)| m.to_string()).or_else(|| rare.and_then(|r| r.message.clone())),
        nominated_node_name: rare.and_then(|r| r.nominated_node_name.clone()),
        observed_generation: rare.and_then(|r| r.observed_generation),
        qos_class: current.and_then(|c| c.qos_class()).map(str::to_string),
        reason: inputs.evicted.map(|(r, _)| r.to_string()).or_else(|| rare.and_then(|r| r.reason.clone())),
        resize: rare.and_then(|r| r.resize.clone()),
        resource_claim_statuses: rare.and_then(|r| r.resource_claim_statuses.clone()),
    }
}
