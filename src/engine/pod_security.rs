//! Pod Security admission's policy, as the 1.33 API server's built-in
//! `PodSecurity` plugin has it (`k8s.io/pod-security-admission`,
//! release-1.33): a namespace's `pod-security.kubernetes.io/*` labels give
//! the levels to enforce, audit and warn at, and each level's checks say
//! what a pod may not set, in the plugin's words.
//!
//! The API server's admission (`apiserver/admission.rs`) decides what to do
//! with the results; this module only reads labels and specs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::core::v1::{ContainerPort, PodSpec, SecurityContext};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::Cause;

pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";
const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// The newest policy version any check has (sysctls' 1.32 list): a later
/// or `latest` version is evaluated as this one.
const NEWEST_CHECK_MINOR: u64 = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    fn parse(text: &str) -> Result<Level, &'static str> {
        match text {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            // An unparsable level is taken as the strictest.
            _ => Err("must be one of privileged, baseline, restricted"),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// A policy version: `latest` or `v1.<minor>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Latest,
    V1(u64),
}

impl Version {
    fn parse(text: &str) -> Result<Version, &'static str> {
        const BAD: &str = "must be \"latest\" or \"v1.x\"";
        if text == "latest" {
            return Ok(Version::Latest);
        }
        let digits = text.strip_prefix("v1.").ok_or(BAD)?;
        let well_formed = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return Err(BAD);
        }
        // Go's Atoi fails past int64; so does this.
        digits.parse::<i64>().map(|minor| Version::V1(minor as u64)).map_err(|_| BAD)
    }
    /// The minor version the checks are taken at.
    fn check_minor(self) -> u64 {
        match self {
            Version::Latest => NEWEST_CHECK_MINOR,
            Version::V1(minor) => minor.min(NEWEST_CHECK_MINOR),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::V1(minor) => write!(f, "v1.{minor}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl LevelVersion {
    const PRIVILEGED: LevelVersion = LevelVersion { level: Level::Privileged, version: Version::Latest };
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

/// A namespace's policy: what is refused, written to the audit log, and
/// warned about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Policy {
    /// The API server's default (no admission configuration file):
    /// privileged everywhere.
    pub const DEFAULT: Policy = Policy { enforce: LevelVersion::PRIVILEGED, audit: LevelVersion::PRIVILEGED, warn: LevelVersion::PRIVILEGED };

    pub fn fully_privileged(&self) -> bool {
        self.enforce.level == Level::Privileged && self.audit.level == Level::Privileged && self.warn.level == Level::Privileged
    }
}

/// Whether any label is one of Pod Security's (the quick way past a
/// namespace without them, which is privileged).
pub fn has_policy_labels(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.keys().any(|k| k.starts_with(LABEL_PREFIX)))
}

/// The policy a namespace's labels give (`PolicyToEvaluate`), with the
/// labels that do not parse as field errors. As the plugin does, an
/// unparsable enforce level is `restricted`, an unparsable audit or warn
/// level `privileged`, and warn follows enforce up when it is not set.
pub fn policy_of(labels: Option<&BTreeMap<String, String>>) -> (Policy, Vec<Cause>) {
    let mut policy = Policy::DEFAULT;
    let mut errors = Vec::new();
    let Some(labels) = labels.filter(|l| !l.is_empty()) else { return (policy, errors) };
    let mut invalid = |label: &str, value: &str, detail: &str| {
        errors.push(Cause {
            field: format!("metadata.labels[{label}]"),
            message: format!("Invalid value: {}: {detail}", crate::engine::apiserver::validation::quote(value)),
        });
    };
    let mut has_enforce_level = false;
    if let Some(value) = labels.get(ENFORCE_LABEL) {
        match Level::parse(value) {
            Ok(level) => {
                policy.enforce.level = level;
                has_enforce_level = true;
            }
            Err(detail) => {
                policy.enforce.level = Level::Restricted;
                invalid(ENFORCE_LABEL, value, detail);
            }
        }
    }
    if let Some(value) = labels.get(ENFORCE_VERSION_LABEL) {
        policy.enforce.version = Version::parse(value).unwrap_or_else(|detail| {
            invalid(ENFORCE_VERSION_LABEL, value, detail);
            Version::Latest
        });
    }
    if let Some(value) = labels.get(AUDIT_LABEL) {
        policy.audit.level = Level::parse(value).unwrap_or_else(|detail| {
            invalid(AUDIT_LABEL, value, detail);
            Level::Privileged
        });
    }
    if let Some(value) = labels.get(AUDIT_VERSION_LABEL) {
        policy.audit.version = Version::parse(value).unwrap_or_else(|detail| {
            invalid(AUDIT_VERSION_LABEL, value, detail);
            Version::Latest
        });
    }
    let has_warn_level = labels.contains_key(WARN_LABEL);
    let has_warn_version = labels.contains_key(WARN_VERSION_LABEL);
    if let Some(value) = labels.get(WARN_LABEL) {
        policy.warn.level = Level::parse(value).unwrap_or_else(|detail| {
            invalid(WARN_LABEL, value, detail);
            Level::Privileged
        });
    }
    if let Some(value) = labels.get(WARN_VERSION_LABEL) {
        policy.warn.version = Version::parse(value).unwrap_or_else(|detail| {
            invalid(WARN_VERSION_LABEL, value, detail);
            Version::Latest
        });
    }
    if !has_warn_level && has_enforce_level && policy.enforce.level > policy.warn.level {
        policy.warn.level = policy.enforce.level;
        if !has_warn_version {
            policy.warn.version = policy.enforce.version;
        }
    }
    (policy, errors)
}

/// One failed check: its short reason and, when it has one, the detail
/// naming what broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub reason: String,
    pub detail: String,
}

/// `host namespaces, privileged` (`ForbiddenReason`).
pub fn reasons(violations: &[Violation]) -> String {
    violations.iter().map(|v| v.reason.as_str()).collect::<Vec<_>>().join(", ")
}

/// `host namespaces (hostNetwork=true), privileged (container "a" must …)`
/// (`ForbiddenDetail`).
pub fn details(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| if v.detail.is_empty() { v.reason.clone() } else { format!("{} ({})", v.reason, v.detail) })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a check sees of a container, init container or ephemeral
/// container alike.
struct ContainerView<'a> {
    name: &'a str,
    security_context: Option<&'a SecurityContext>,
    ports: &'a [ContainerPort],
}

/// The pod's containers in the plugin's order: init, regular, ephemeral.
fn containers(spec: &PodSpec) -> Vec<ContainerView<'_>> {
    let mut all = Vec::new();
    for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
        all.push(ContainerView { name: &c.name, security_context: c.security_context.as_ref(), ports: c.ports.as_deref().unwrap_or(&[]) });
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        all.push(ContainerView { name: &c.name, security_context: c.security_context.as_ref(), ports: c.ports.as_deref().unwrap_or(&[]) });
    }
    all
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

/// `"a", "b"`.
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|i| format!("\"{}\"", i.as_ref())).collect::<Vec<_>>().join(", ")
}

/// `container "a"` / `containers "a", "b"`.
fn containers_named(names: &[&str]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

fn is_windows(spec: &PodSpec) -> bool {
    spec.os.as_ref().is_some_and(|os| os.name == "windows")
}

type CheckFn = fn(&ObjectMeta, &PodSpec) -> Option<Violation>;

/// A check's versions: from which minor version each of its forms holds.
struct Check {
    id: &'static str,
    level: Level,
    versions: &'static [(u64, CheckFn)],
    /// Baseline checks this restricted check stands in for.
    overrides: &'static [&'static str],
}

/// Every check, baseline then restricted, each group in its ids' byte
/// order: the order the registry runs them in, so the order of a refusal's
/// reasons.
const CHECKS: &[Check] = &[
    Check { id: "appArmorProfile", level: Level::Baseline, versions: &[(0, app_armor_profile)], overrides: &[] },
    Check { id: "capabilities_baseline", level: Level::Baseline, versions: &[(0, capabilities_baseline)], overrides: &[] },
    Check { id: "hostNamespaces", level: Level::Baseline, versions: &[(0, host_namespaces)], overrides: &[] },
    Check { id: "hostPathVolumes", level: Level::Baseline, versions: &[(0, host_path_volumes)], overrides: &[] },
    Check { id: "hostPorts", level: Level::Baseline, versions: &[(0, host_ports)], overrides: &[] },
    Check { id: "privileged", level: Level::Baseline, versions: &[(0, privileged)], overrides: &[] },
    Check { id: "procMount", level: Level::Baseline, versions: &[(0, proc_mount)], overrides: &[] },
    Check { id: "seLinuxOptions", level: Level::Baseline, versions: &[(0, se_linux_options_1_0), (31, se_linux_options_1_31)], overrides: &[] },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[(0, seccomp_profile_baseline_1_0), (19, seccomp_profile_baseline_1_19)],
        overrides: &[],
    },
    Check { id: "sysctls", level: Level::Baseline, versions: &[(0, sysctls_1_0), (27, sysctls_1_27), (29, sysctls_1_29), (32, sysctls_1_32)], overrides: &[] },
    Check { id: "windowsHostProcess", level: Level::Baseline, versions: &[(0, windows_host_process)], overrides: &[] },
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[(8, allow_privilege_escalation_1_8), (25, allow_privilege_escalation_1_25)],
        overrides: &[],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[(22, capabilities_restricted_1_22), (25, capabilities_restricted_1_25)],
        overrides: &["capabilities_baseline"],
    },
    Check { id: "restrictedVolumes", level: Level::Restricted, versions: &[(0, restricted_volumes)], overrides: &["hostPathVolumes"] },
    Check { id: "runAsNonRoot", level: Level::Restricted, versions: &[(0, run_as_non_root)], overrides: &[] },
    Check { id: "runAsUser", level: Level::Restricted, versions: &[(23, run_as_user)], overrides: &[] },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[(19, seccomp_profile_restricted_1_19), (25, seccomp_profile_restricted_1_25)],
        overrides: &["seccompProfile_baseline"],
    },
];

/// The form of a check that holds at `minor`, if the check exists then.
fn check_at(check: &Check, minor: u64) -> Option<CheckFn> {
    check.versions.iter().rev().find(|(from, _)| *from <= minor).map(|(_, f)| *f)
}

/// The checks `lv` fails for this pod (or pod template), in the
/// registry's order; none at `privileged`.
pub fn evaluate(lv: LevelVersion, meta: &ObjectMeta, spec: &PodSpec) -> Vec<Violation> {
    if lv.level == Level::Privileged {
        return Vec::new();
    }
    let minor = lv.version.check_minor();
    let overridden: BTreeSet<&str> = if lv.level == Level::Restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted && check_at(c, minor).is_some())
            .flat_map(|c| c.overrides.iter().copied())
            .collect()
    } else {
        BTreeSet::new()
    };
    CHECKS
        .iter()
        .filter(|c| c.level <= lv.level && !overridden.contains(c.id))
        .filter_map(|c| check_at(c, minor))
        .filter_map(|check| check(meta, spec))
        .collect()
}

fn violation(reason: impl Into<String>, detail: impl Into<String>) -> Option<Violation> {
    Some(Violation { reason: reason.into(), detail: detail.into() })
}

const APP_ARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor_profile(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let allowed_type = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut bad_setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    if let Some(profile) = spec.security_context.as_ref().and_then(|s| s.app_armor_profile.as_ref()) {
        if !allowed_type(&profile.type_) {
            bad_setters.push("pod".to_string());
            bad_values.insert(profile.type_.clone());
        }
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(profile) = c.security_context.and_then(|s| s.app_armor_profile.as_ref()) {
            if !allowed_type(&profile.type_) {
                bad_containers.push(c.name);
                bad_values.insert(profile.type_.clone());
            }
        }
    }
    if !bad_containers.is_empty() {
        bad_setters.push(containers_named(&bad_containers));
    }
    let mut bad_value_list: Vec<String> = bad_values.into_iter().collect();
    let forbidden_annotations: Vec<String> = meta
        .annotations
        .iter()
        .flatten()
        .filter(|(k, v)| k.starts_with(APP_ARMOR_ANNOTATION_PREFIX) && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/")))
        .map(|(k, v)| format!("{k}={}", crate::engine::apiserver::validation::quote(v)))
        .collect();
    if !forbidden_annotations.is_empty() {
        bad_setters.push(pluralize("annotation", "annotations", forbidden_annotations.len()).to_string());
        bad_value_list.extend(forbidden_annotations);
    }
    if bad_setters.is_empty() {
        return None;
    }
    violation(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", bad_value_list.len()),
        format!("{} must not set AppArmor profile type to {}", bad_setters.join(" and "), join_quote(&bad_value_list)),
    )
}

const DEFAULT_CAPABILITIES: &[&str] =
    &["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

fn capabilities_baseline(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut non_default = BTreeSet::new();
    for c in containers(spec) {
        let Some(capabilities) = c.security_context.and_then(|s| s.capabilities.as_ref()) else { continue };
        let mut valid = true;
        for added in capabilities.add.iter().flatten() {
            if !DEFAULT_CAPABILITIES.contains(&added.as_str()) {
                valid = false;
                non_default.insert(added.as_str());
            }
        }
        if !valid {
            bad_containers.push(c.name);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let non_default: Vec<&str> = non_default.into_iter().collect();
    violation(
        "non-default capabilities",
        format!("{} must not include {} in securityContext.capabilities.add", containers_named(&bad_containers), join_quote(&non_default)),
    )
}

fn host_namespaces(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut shared = Vec::new();
    if spec.host_network == Some(true) {
        shared.push("hostNetwork=true");
    }
    if spec.host_pid == Some(true) {
        shared.push("hostPID=true");
    }
    if spec.host_ipc == Some(true) {
        shared.push("hostIPC=true");
    }
    if shared.is_empty() {
        return None;
    }
    violation("host namespaces", shared.join(", "))
}

fn host_path_volumes(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let names: Vec<&str> = spec.volumes.iter().flatten().filter(|v| v.host_path.is_some()).map(|v| v.name.as_str()).collect();
    if names.is_empty() {
        return None;
    }
    violation("hostPath volumes", format!("{} {}", pluralize("volume", "volumes", names.len()), join_quote(&names)))
}

fn host_ports(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    // Go's string set: the ports sort as text.
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut valid = true;
        for p in c.ports {
            if let Some(port) = p.host_port.filter(|p| *p != 0) {
                valid = false;
                ports.insert(port.to_string());
            }
        }
        if !valid {
            bad_containers.push(c.name);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let ports: Vec<String> = ports.into_iter().collect();
    violation(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_named(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

fn privileged(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = containers(spec).iter().filter(|c| c.security_context.and_then(|s| s.privileged) == Some(true)).map(|c| c.name).collect();
    if bad.is_empty() {
        return None;
    }
    violation("privileged", format!("{} must not set securityContext.privileged=true", containers_named(&bad)))
}

fn proc_mount(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        if let Some(mount) = c.security_context.and_then(|s| s.proc_mount.as_deref()) {
            if mount != "Default" {
                bad.push(c.name);
                types.insert(mount);
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<&str> = types.into_iter().collect();
    violation("procMount", format!("{} must not set securityContext.procMount to {}", containers_named(&bad), join_quote(&types)))
}

fn se_linux_options_1_0(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    se_linux_options(meta, spec, &["", "container_t", "container_init_t", "container_kvm_t"])
}

fn se_linux_options_1_31(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    se_linux_options(meta, spec, &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"])
}

fn se_linux_options(_: &ObjectMeta, spec: &PodSpec, allowed_types: &[&str]) -> Option<Violation> {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |opts: &k8s_openapi::api::core::v1::SELinuxOptions| {
        let mut ok = true;
        let type_ = opts.type_.as_deref().unwrap_or("");
        if !allowed_types.contains(&type_) {
            ok = false;
            bad_types.insert(type_.to_string());
        }
        if opts.user.as_deref().is_some_and(|u| !u.is_empty()) {
            ok = false;
            set_user = true;
        }
        if opts.role.as_deref().is_some_and(|r| !r.is_empty()) {
            ok = false;
            set_role = true;
        }
        ok
    };
    let mut bad_setters = Vec::new();
    if let Some(opts) = spec.security_context.as_ref().and_then(|s| s.se_linux_options.as_ref()) {
        if !valid(opts) {
            bad_setters.push("pod".to_string());
        }
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(opts) = c.security_context.and_then(|s| s.se_linux_options.as_ref()) {
            if !valid(opts) {
                bad_containers.push(c.name);
            }
        }
    }
    if !bad_containers.is_empty() {
        bad_setters.push(containers_named(&bad_containers));
    }
    if bad_setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<String> = bad_types.into_iter().collect();
        bad_data.push(format!("{} {}", pluralize("type", "types", types.len()), join_quote(&types)));
    }
    if set_user {
        bad_data.push("user may not be set".to_string());
    }
    if set_role {
        bad_data.push("role may not be set".to_string());
    }
    violation("seLinuxOptions", format!("{} set forbidden securityContext.seLinuxOptions: {}", bad_setters.join(" and "), bad_data.join("; ")))
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_seccomp(type_: &str) -> bool {
    type_ == "Localhost" || type_ == "RuntimeDefault"
}

fn seccomp_profile_baseline_1_0(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let valid_annotation = |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotations = meta.annotations.as_ref();
    let mut forbidden = BTreeSet::new();
    let mut check = |key: &str| {
        if let Some(value) = annotations.and_then(|a| a.get(key)) {
            if !valid_annotation(value) {
                forbidden.insert(format!("{key}={}", crate::engine::apiserver::validation::quote(value)));
            }
        }
    };
    check(SECCOMP_POD_ANNOTATION);
    for c in containers(spec) {
        check(&format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name));
    }
    if forbidden.is_empty() {
        return None;
    }
    let forbidden: Vec<String> = forbidden.into_iter().collect();
    violation("seccompProfile", format!("forbidden {} {}", pluralize("annotation", "annotations", forbidden.len()), forbidden.join(", ")))
}

/// The pod's and the containers' seccomp types that are not allowed; with
/// `required`, also the containers left without one by pod and container.
fn seccomp_setters(spec: &PodSpec, required: bool) -> Option<Violation> {
    let mut bad_setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(profile) = spec.security_context.as_ref().and_then(|s| s.seccomp_profile.as_ref()) {
        if valid_seccomp(&profile.type_) {
            pod_set = true;
        } else {
            bad_setters.push("pod".to_string());
            bad_values.insert(profile.type_.as_str());
        }
    }
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match c.security_context.and_then(|s| s.seccomp_profile.as_ref()) {
            Some(profile) if !valid_seccomp(&profile.type_) => {
                explicitly_bad.push(c.name);
                bad_values.insert(profile.type_.as_str());
            }
            Some(_) => {}
            None if !pod_set => implicitly_bad.push(c.name),
            None => {}
        }
    }
    if !explicitly_bad.is_empty() {
        bad_setters.push(containers_named(&explicitly_bad));
    }
    if !bad_setters.is_empty() {
        let values: Vec<&str> = bad_values.into_iter().collect();
        return violation(
            "seccompProfile",
            format!("{} must not set securityContext.seccompProfile.type to {}", bad_setters.join(" and "), join_quote(&values)),
        );
    }
    if required && !implicitly_bad.is_empty() {
        return violation(
            "seccompProfile",
            format!("pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"", containers_named(&implicitly_bad)),
        );
    }
    None
}

fn seccomp_profile_baseline_1_19(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    seccomp_setters(spec, false)
}

fn seccomp_profile_restricted_1_19(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    seccomp_setters(spec, true)
}

fn seccomp_profile_restricted_1_25(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    seccomp_profile_restricted_1_19(meta, spec)
}

const SYSCTLS_1_0: &[&str] =
    &["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"];
const SYSCTLS_ADDED_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_ADDED_1_29: &[&str] = &["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"];
const SYSCTLS_ADDED_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

fn sysctls_1_0(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    sysctls(meta, spec, &[SYSCTLS_1_0])
}
fn sysctls_1_27(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    sysctls(meta, spec, &[SYSCTLS_1_0, SYSCTLS_ADDED_1_27])
}
fn sysctls_1_29(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    sysctls(meta, spec, &[SYSCTLS_1_0, SYSCTLS_ADDED_1_27, SYSCTLS_ADDED_1_29])
}
fn sysctls_1_32(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    sysctls(meta, spec, &[SYSCTLS_1_0, SYSCTLS_ADDED_1_27, SYSCTLS_ADDED_1_29, SYSCTLS_ADDED_1_32])
}

fn sysctls(_: &ObjectMeta, spec: &PodSpec, allowed: &[&[&str]]) -> Option<Violation> {
    let forbidden: Vec<&str> = spec
        .security_context
        .iter()
        .flat_map(|s| s.sysctls.iter().flatten())
        .map(|s| s.name.as_str())
        .filter(|name| !allowed.iter().any(|set| set.contains(name)))
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    violation("forbidden sysctls", forbidden.join(", "))
}

fn windows_host_process(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = containers(spec)
        .iter()
        .filter(|c| c.security_context.and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process) == Some(true))
        .map(|c| c.name)
        .collect();
    let pod_forbidden = spec.security_context.as_ref().and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process) == Some(true);
    let mut setters = Vec::new();
    if pod_forbidden {
        setters.push("pod".to_string());
    }
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    violation("hostProcess", format!("{} must not set securityContext.windowsOptions.hostProcess=true", setters.join(" and ")))
}

fn allow_privilege_escalation_1_8(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> =
        containers(spec).iter().filter(|c| c.security_context.and_then(|s| s.allow_privilege_escalation) != Some(false)).map(|c| c.name).collect();
    if bad.is_empty() {
        return None;
    }
    violation("allowPrivilegeEscalation != false", format!("{} must set securityContext.allowPrivilegeEscalation=false", containers_named(&bad)))
}

fn allow_privilege_escalation_1_25(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    allow_privilege_escalation_1_8(meta, spec)
}

fn capabilities_restricted_1_22(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(spec) {
        let Some(capabilities) = c.security_context.and_then(|s| s.capabilities.as_ref()) else {
            missing_drop_all.push(c.name);
            continue;
        };
        if !capabilities.drop.iter().flatten().any(|d| d == "ALL") {
            missing_drop_all.push(c.name);
        }
        let mut added_forbidden = false;
        for added in capabilities.add.iter().flatten() {
            if added != "NET_BIND_SERVICE" {
                added_forbidden = true;
                forbidden.insert(added.as_str());
            }
        }
        if added_forbidden {
            adding_forbidden.push(c.name);
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!("{} must set securityContext.capabilities.drop=[\"ALL\"]", containers_named(&missing_drop_all)));
    }
    if !adding_forbidden.is_empty() {
        let forbidden: Vec<&str> = forbidden.into_iter().collect();
        details.push(format!("{} must not include {} in securityContext.capabilities.add", containers_named(&adding_forbidden), join_quote(&forbidden)));
    }
    if details.is_empty() {
        return None;
    }
    violation("unrestricted capabilities", details.join("; "))
}

fn capabilities_restricted_1_25(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    capabilities_restricted_1_22(meta, spec)
}

fn restricted_volumes(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for v in spec.volumes.iter().flatten() {
        let allowed = v.config_map.is_some()
            || v.csi.is_some()
            || v.downward_api.is_some()
            || v.empty_dir.is_some()
            || v.ephemeral.is_some()
            || v.image.is_some()
            || v.persistent_volume_claim.is_some()
            || v.projected.is_some()
            || v.secret.is_some();
        if allowed {
            continue;
        }
        bad.push(v.name.as_str());
        let type_ = [
            (v.host_path.is_some(), "hostPath"),
            (v.gce_persistent_disk.is_some(), "gcePersistentDisk"),
            (v.aws_elastic_block_store.is_some(), "awsElasticBlockStore"),
            (v.git_repo.is_some(), "gitRepo"),
            (v.nfs.is_some(), "nfs"),
            (v.iscsi.is_some(), "iscsi"),
            (v.glusterfs.is_some(), "glusterfs"),
            (v.rbd.is_some(), "rbd"),
            (v.flex_volume.is_some(), "flexVolume"),
            (v.cinder.is_some(), "cinder"),
            (v.cephfs.is_some(), "cephfs"),
            (v.flocker.is_some(), "flocker"),
            (v.fc.is_some(), "fc"),
            (v.azure_file.is_some(), "azureFile"),
            (v.vsphere_volume.is_some(), "vsphereVolume"),
            (v.quobyte.is_some(), "quobyte"),
            (v.azure_disk.is_some(), "azureDisk"),
            (v.photon_persistent_disk.is_some(), "photonPersistentDisk"),
            (v.portworx_volume.is_some(), "portworxVolume"),
            (v.scale_io.is_some(), "scaleIO"),
            (v.storageos.is_some(), "storageos"),
        ]
        .into_iter()
        .find(|(set, _)| *set)
        .map_or("unknown", |(_, name)| name);
        types.insert(type_);
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<&str> = types.into_iter().collect();
    violation(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("restricted volume type", "restricted volume types", types.len()),
            join_quote(&types)
        ),
    )
}

fn run_as_non_root(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad_setters = Vec::new();
    let mut pod_non_root = false;
    match spec.security_context.as_ref().and_then(|s| s.run_as_non_root) {
        Some(false) => bad_setters.push("pod".to_string()),
        Some(true) => pod_non_root = true,
        None => {}
    }
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match c.security_context.and_then(|s| s.run_as_non_root) {
            Some(false) => explicitly_bad.push(c.name),
            Some(true) => {}
            None if !pod_non_root => implicitly_bad.push(c.name),
            None => {}
        }
    }
    if !explicitly_bad.is_empty() {
        bad_setters.push(containers_named(&explicitly_bad));
    }
    if !bad_setters.is_empty() {
        return violation("runAsNonRoot != true", format!("{} must not set securityContext.runAsNonRoot=false", bad_setters.join(" and ")));
    }
    if !implicitly_bad.is_empty() {
        return violation("runAsNonRoot != true", format!("pod or {} must set securityContext.runAsNonRoot=true", containers_named(&implicitly_bad)));
    }
    None
}

fn run_as_user(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad_setters = Vec::new();
    if spec.security_context.as_ref().and_then(|s| s.run_as_user) == Some(0) {
        bad_setters.push("pod".to_string());
    }
    let bad: Vec<&str> = containers(spec).iter().filter(|c| c.security_context.and_then(|s| s.run_as_user) == Some(0)).map(|c| c.name).collect();
    if !bad.is_empty() {
        bad_setters.push(containers_named(&bad));
    }
    if bad_setters.is_empty() {
        return None;
    }
    violation("runAsUser=0", format!("{} must not set runAsUser=0", bad_setters.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Capabilities, Container, PodSecurityContext, SeccompProfile, Volume};

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn spec_of(containers: &[&str]) -> PodSpec {
        PodSpec { containers: containers.iter().map(|n| Container { name: n.to_string(), image: Some("nginx".into()), ..Default::default() }).collect(), ..Default::default() }
    }

    fn restricted() -> LevelVersion {
        LevelVersion { level: Level::Restricted, version: Version::Latest }
    }

    #[test]
    fn a_plain_pod_breaks_four_restricted_checks_in_the_plugins_words() {
        let violations = evaluate(restricted(), &ObjectMeta::default(), &spec_of(&["nginx"]));
        assert_eq!(
            details(&violations),
            "allowPrivilegeEscalation != false (container \"nginx\" must set securityContext.allowPrivilegeEscalation=false), \
             unrestricted capabilities (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), \
             runAsNonRoot != true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true), \
             seccompProfile (pod or container \"nginx\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
        assert_eq!(reasons(&violations), "allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile");
        assert!(evaluate(LevelVersion { level: Level::Baseline, version: Version::Latest }, &ObjectMeta::default(), &spec_of(&["nginx"])).is_empty());
    }

    #[test]
    fn a_pod_that_meets_restricted_passes_and_baseline_catches_the_host() {
        let mut spec = spec_of(&["app"]);
        spec.security_context = Some(PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
            ..Default::default()
        });
        spec.containers[0].security_context = Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: Some(vec!["NET_BIND_SERVICE".into()]) }),
            ..Default::default()
        });
        assert!(evaluate(restricted(), &ObjectMeta::default(), &spec).is_empty());

        spec.host_network = Some(true);
        spec.host_pid = Some(true);
        spec.volumes = Some(vec![Volume { name: "root".into(), host_path: Some(Default::default()), ..Default::default() }]);
        spec.containers[0].ports = Some(vec![
            ContainerPort { container_port: 80, host_port: Some(8080), ..Default::default() },
            ContainerPort { container_port: 81, host_port: Some(80), ..Default::default() },
        ]);
        let baseline = LevelVersion { level: Level::Baseline, version: Version::Latest };
        assert_eq!(
            details(&evaluate(baseline, &ObjectMeta::default(), &spec)),
            "host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume \"root\"), hostPort (container \"app\" uses hostPorts 80, 8080)"
        );
        // Restricted's volume check stands in for baseline's hostPath one.
        assert_eq!(
            reasons(&evaluate(restricted(), &ObjectMeta::default(), &spec)),
            "host namespaces, hostPort, restricted volume types"
        );
    }

    #[test]
    fn older_versions_leave_out_checks_not_yet_written() {
        let spec = spec_of(&["a", "b"]);
        let v1_21 = LevelVersion { level: Level::Restricted, version: Version::V1(21) };
        // Before 1.22 restricted did not ask to drop capabilities.
        assert_eq!(reasons(&evaluate(v1_21, &ObjectMeta::default(), &spec)), "allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile");
        let mut privileged_spec = spec_of(&["a", "b"]);
        for c in &mut privileged_spec.containers {
            c.security_context = Some(SecurityContext { privileged: Some(true), capabilities: Some(Capabilities { add: Some(vec!["SYS_ADMIN".into(), "NET_ADMIN".into()]), drop: None }), ..Default::default() });
        }
        assert_eq!(
            details(&evaluate(LevelVersion { level: Level::Baseline, version: Version::V1(3) }, &ObjectMeta::default(), &privileged_spec)),
            "non-default capabilities (containers \"a\", \"b\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add), \
             privileged (containers \"a\", \"b\" must not set securityContext.privileged=true)"
        );
    }

    #[test]
    fn labels_give_the_policy_and_bad_values_their_field_errors() {
        let (policy, errors) = policy_of(Some(&labels(&[(ENFORCE_LABEL, "baseline")])));
        assert_eq!(policy.enforce.to_string(), "baseline:latest");
        assert_eq!(policy.warn.to_string(), "baseline:latest", "warn follows enforce up");
        assert_eq!(policy.audit.to_string(), "privileged:latest");
        assert!(errors.is_empty());

        let (policy, _) = policy_of(Some(&labels(&[(ENFORCE_LABEL, "restricted"), (ENFORCE_VERSION_LABEL, "v1.25"), (WARN_LABEL, "baseline")])));
        assert_eq!((policy.enforce.to_string(), policy.warn.to_string()), ("restricted:v1.25".to_string(), "baseline:latest".to_string()));

        let (policy, errors) = policy_of(Some(&labels(&[(ENFORCE_LABEL, "strict"), (WARN_VERSION_LABEL, "1.25"), (AUDIT_VERSION_LABEL, "v1.025")])));
        assert_eq!(policy.enforce.level, Level::Restricted, "an enforce level that does not parse is the strictest");
        let shown: Vec<String> = errors.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(
            shown,
            [
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"v1.025\": must be \"latest\" or \"v1.x\"",
                "metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"1.25\": must be \"latest\" or \"v1.x\"",
            ]
        );
        assert!(policy_of(None).0.fully_privileged());
        assert_eq!(Version::parse("v1.99999999999999999999"), Err("must be \"latest\" or \"v1.x\""));
    }
}
