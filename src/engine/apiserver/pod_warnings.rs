//! The warnings a 1.33 API server gives for a pod or a workload's pod
//! template as it is written (`Warning:` headers, which kubectl prints on
//! stderr). They never refuse anything:
//!
//! - `warningsForPodSpecAndMeta` (pkg/api/pod/warnings.go): deprecated node
//!   labels, annotations and volume plugins, overlapping volume paths,
//!   duplicate host aliases, pull secrets and env vars, fractional byte
//!   quantities, seccomp and AppArmor annotations without their fields,
//!   hostIP without hostPort and duplicate or overlapping ports, a negative
//!   grace period, affinity terms with a null label selector, and DNS
//!   nameservers and host alias IPs in non-standard forms, in that order,
//!   each named by its field path (a template's under its own path);
//! - the pod strategy's `WarningsOnCreate` (a name that is no DNS label)
//!   and `applyAppArmorVersionSkew` (an AppArmor annotation a container's
//!   field does not already say).
//!
//! A pod is warned about only when created (`podStrategy.WarningsOnUpdate`
//! returns nothing); a workload when created and when an update changes
//! its generation (a PodTemplate: its template).

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EphemeralContainer, NodeSelectorTerm, PodAffinityTerm, PodSpec, PodTemplateSpec, ResourceRequirements,
    SecurityContext, Volume, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

use crate::engine::api::Object;

/// `field.Path.Child`: `parent.name`, or `name` at the root.
fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `nodeapi.GetNodeLabelDeprecatedMessage` (pkg/api/node/util.go).
pub(super) fn deprecated_node_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "beta.kubernetes.io/arch" => r#"deprecated since v1.14; use "kubernetes.io/arch" instead"#,
        "beta.kubernetes.io/os" => r#"deprecated since v1.14; use "kubernetes.io/os" instead"#,
        "failure-domain.beta.kubernetes.io/region" => r#"deprecated since v1.17; use "topology.kubernetes.io/region" instead"#,
        "failure-domain.beta.kubernetes.io/zone" => r#"deprecated since v1.17; use "topology.kubernetes.io/zone" instead"#,
        "beta.kubernetes.io/instance-type" => r#"deprecated since v1.17; use "node.kubernetes.io/instance-type" instead"#,
        "app.kubernetes.io/created-by" => "deprecated since v1.9",
        "scheduler.alpha.kubernetes.io/preferAvoidPods" => "deprecated since v1.22; use Taints and Tolerations instead",
        "node-role.kubernetes.io/master" => r#"use "node-role.kubernetes.io/control-plane" instead"#,
        _ => return None,
    })
}

/// `nodeapi.GetWarningsForNodeSelectorTerm`: only its expressions' keys.
pub(super) fn node_selector_term(term: &NodeSelectorTerm, path: &str, warnings: &mut Vec<String>) {
    for (i, expression) in term.match_expressions.iter().flatten().enumerate() {
        if let Some(message) = deprecated_node_label(&expression.key) {
            warnings.push(format!("{path}.matchExpressions[{i}].key: {} is {message}", expression.key));
        }
    }
}

const DEPRECATED_ANNOTATIONS: &[(&str, &str)] = &[
    ("scheduler.alpha.kubernetes.io/critical-pod", r#"non-functional in v1.16+; use the "priorityClassName" field instead"#),
    ("security.alpha.kubernetes.io/sysctls", r#"non-functional in v1.11+; use the "sysctls" field instead"#),
    ("security.alpha.kubernetes.io/unsafe-sysctls", r#"non-functional in v1.11+; use the "sysctls" field instead"#),
];

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// What the warnings look at in a container, an init container or an
/// ephemeral one (`pods.VisitContainersWithPath`).
struct ContainerView<'a> {
    name: &'a str,
    env: &'a [EnvVar],
    ports: &'a [ContainerPort],
    resources: Option<&'a ResourceRequirements>,
    security_context: Option<&'a SecurityContext>,
    path: String,
}

impl<'a> ContainerView<'a> {
    fn of(c: &'a Container, path: String) -> Self {
        ContainerView { name: &c.name, env: c.env.as_deref().unwrap_or(&[]), ports: c.ports.as_deref().unwrap_or(&[]), resources: c.resources.as_ref(), security_context: c.security_context.as_ref(), path }
    }

    fn of_ephemeral(c: &'a EphemeralContainer, path: String) -> Self {
        ContainerView { name: &c.name, env: c.env.as_deref().unwrap_or(&[]), ports: c.ports.as_deref().unwrap_or(&[]), resources: c.resources.as_ref(), security_context: c.security_context.as_ref(), path }
    }
}

/// Init containers, then containers, then ephemeral containers, each with
/// its field path.
fn containers<'a>(spec: &'a PodSpec, spec_path: &str) -> Vec<ContainerView<'a>> {
    let mut all = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        all.push(ContainerView::of(c, format!("{spec_path}.initContainers[{i}]")));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        all.push(ContainerView::of(c, format!("{spec_path}.containers[{i}]")));
    }
    for (i, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        all.push(ContainerView::of_ephemeral(c, format!("{spec_path}.ephemeralContainers[{i}]")));
    }
    all
}

/// The warning for a memory or ephemeral-storage quantity that is not a
/// whole number of bytes (`MilliValue() % 1000 != 0`), printed canonically.
pub(super) fn fractional_bytes(quantities: Option<&BTreeMap<String, Quantity>>, resource: &str, path: &str, warnings: &mut Vec<String>) {
    let Some(quantity) = quantities.and_then(|q| q.get(resource)).and_then(crate::engine::quantity::parse_stored) else { return };
    if quantity.milli_value() % 1000 != 0 {
        warnings.push(format!("{path}[{resource}]: fractional byte value {:?} is invalid, must be an integer", quantity.canonical()));
    }
}

/// A container port as Go's `%+v` prints the internal `ContainerPort`.
fn port_struct(port: &ContainerPort) -> String {
    format!(
        "{{Name:{} HostPort:{} ContainerPort:{} Protocol:{} HostIP:{}}}",
        port.name.as_deref().unwrap_or(""),
        port.host_port.unwrap_or(0),
        port.container_port,
        port.protocol.as_deref().unwrap_or(""),
        port.host_ip.as_deref().unwrap_or(""),
    )
}

/// A path in a volume with what projects it (`pathAndSource`).
struct SourcedPath {
    path: String,
    source: String,
}

impl std::fmt::Display for SourcedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.is_empty() {
            write!(f, "{:?}", self.path)
        } else {
            write!(f, "{:?} ({})", self.path, self.source)
        }
    }
}

/// Whether two paths in a volume name the same file, or one lies under the
/// other (an empty path overlaps nothing).
fn overlaps(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a == b || a.strip_prefix(b).is_some_and(|rest| rest.starts_with('/')) || b.strip_prefix(a).is_some_and(|rest| rest.starts_with('/'))
}

/// The paths of one volume so far: each added path is checked against
/// those before it, in order, with one warning for each it collides with
/// (`checkVolumeMappingForOverlap`, `checkForOverlap`).
struct VolumePaths<'a> {
    volume: &'a str,
    seen: Vec<SourcedPath>,
}

impl<'a> VolumePaths<'a> {
    fn new(volume: &'a str) -> Self {
        VolumePaths { volume, seen: Vec::new() }
    }

    fn add(&mut self, path: &str, source: String, described: &str, warnings: &mut Vec<String>) {
        let path = SourcedPath { path: path.trim_end_matches('/').to_string(), source };
        for earlier in self.seen.iter().filter(|earlier| overlaps(&path.path, &earlier.path)) {
            warnings.push(format!("volume {:?} ({described}): overlapping paths: {path} with {earlier}", self.volume));
        }
        self.seen.push(path);
    }
}

/// `warningsForOverlappingVirtualPaths`: keys or files of one ConfigMap,
/// Secret or downward API volume written to the same path or one inside
/// another, and likewise across a projected volume's sources (each path
/// then named with its source).
fn overlapping_virtual_paths(volumes: &[Volume], warnings: &mut Vec<String>) {
    for v in volumes {
        let name = v.name.as_str();
        if let Some((cm, items)) = v.config_map.as_ref().and_then(|cm| Some((cm, cm.items.as_ref()?))) {
            let described = format!("ConfigMap {:?}", cm.name);
            let mut paths = VolumePaths::new(name);
            for item in items {
                paths.add(&item.path, String::new(), &described, warnings);
            }
        }
        if let Some((secret, items)) = v.secret.as_ref().and_then(|s| Some((s, s.items.as_ref()?))) {
            let described = format!("Secret {:?}", secret.secret_name.as_deref().unwrap_or(""));
            let mut paths = VolumePaths::new(name);
            for item in items {
                paths.add(&item.path, String::new(), &described, warnings);
            }
        }
        if let Some(items) = v.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
            let mut paths = VolumePaths::new(name);
            for item in items {
                paths.add(&item.path, String::new(), "DownwardAPI", warnings);
            }
        }
        let Some(projected) = &v.projected else { continue };
        let mut paths = VolumePaths::new(name);
        for source in projected.sources.iter().flatten() {
            if source.config_map.is_none() && source.secret.is_none() && source.downward_api.is_none() && source.service_account_token.is_none() && source.cluster_trust_bundle.is_none() {
                warnings.push(format!("volume {name:?} (Projected) has no sources provided"));
                continue;
            }
            let items: Vec<(&str, String)> = if let Some((cm, items)) = source.config_map.as_ref().and_then(|cm| Some((cm, cm.items.as_ref()?))) {
                items.iter().map(|i| (i.path.as_str(), format!("ConfigMap {:?}", cm.name))).collect()
            } else if let Some((secret, items)) = source.secret.as_ref().and_then(|s| Some((s, s.items.as_ref()?))) {
                items.iter().map(|i| (i.path.as_str(), format!("Secret {:?}", secret.name))).collect()
            } else if let Some(items) = source.downward_api.as_ref().and_then(|d| d.items.as_ref()) {
                items.iter().map(|i| (i.path.as_str(), "DownwardAPI".to_string())).collect()
            } else if let Some(token) = &source.service_account_token {
                vec![(token.path.as_str(), "ServiceAccountToken".to_string())]
            } else if let Some(bundle) = &source.cluster_trust_bundle {
                let named = bundle.name.as_deref().or(bundle.signer_name.as_deref()).unwrap_or("");
                vec![(bundle.path.as_str(), format!("ClusterTrustBundle {named:?}"))]
            } else {
                Vec::new()
            };
            for (path, source) in items {
                paths.add(path, source, "Projected", warnings);
            }
        }
    }
}

fn pod_affinity_terms(terms: Option<&Vec<PodAffinityTerm>>, path: &str, warnings: &mut Vec<String>) {
    for (i, term) in terms.into_iter().flatten().enumerate() {
        if term.label_selector.is_none() {
            warnings.push(format!("{path}[{i}].labelSelector: a null labelSelector results in matching no pod"));
        }
    }
}

fn weighted_pod_affinity_terms(terms: Option<&Vec<WeightedPodAffinityTerm>>, path: &str, warnings: &mut Vec<String>) {
    for (i, term) in terms.into_iter().flatten().enumerate() {
        if term.pod_affinity_term.label_selector.is_none() {
            warnings.push(format!("{path}[{i}].podAffinityTerm.labelSelector: a null labelSelector results in matching no pod"));
        }
    }
}

/// `warningsForPodSpecAndMeta`: `prefix` is a template's field path
/// (`spec.template`), empty for a pod.
pub fn for_spec(prefix: &str, meta: Option<&ObjectMeta>, spec: &PodSpec) -> Vec<String> {
    let mut warnings = Vec::new();
    let spec_path = child(prefix, "spec");
    let annotations_path = child(prefix, "metadata.annotations");
    let no_annotations = BTreeMap::new();
    let annotations = meta.and_then(|m| m.annotations.as_ref()).unwrap_or(&no_annotations);

    // Deprecated node labels in selectors, affinity and spread constraints
    // (Go visits a node selector's keys in map order; here they are sorted).
    for key in spec.node_selector.iter().flat_map(BTreeMap::keys) {
        if let Some(message) = deprecated_node_label(key) {
            warnings.push(format!("{spec_path}.nodeSelector[{key}]: {message}"));
        }
    }
    if let Some(node_affinity) = spec.affinity.as_ref().and_then(|a| a.node_affinity.as_ref()) {
        if let Some(required) = &node_affinity.required_during_scheduling_ignored_during_execution {
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                node_selector_term(term, &format!("{spec_path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"), &mut warnings);
            }
        }
        for (i, term) in node_affinity.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            node_selector_term(&term.preference, &format!("{spec_path}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference"), &mut warnings);
        }
    }
    for (i, constraint) in spec.topology_spread_constraints.iter().flatten().enumerate() {
        let path = format!("{spec_path}.topologySpreadConstraints[{i}]");
        if let Some(message) = deprecated_node_label(&constraint.topology_key) {
            warnings.push(format!("{path}.topologyKey: {} is {message}", constraint.topology_key));
        }
        if constraint.label_selector.is_none() {
            warnings.push(format!("{path}.labelSelector: a null labelSelector results in matching no pod"));
        }
    }

    for (key, message) in DEPRECATED_ANNOTATIONS {
        if annotations.contains_key(*key) {
            warnings.push(format!("{annotations_path}[{key}]: {message}"));
        }
    }

    // Deprecated and removed volume plugins.
    let volumes = spec.volumes.as_deref().unwrap_or(&[]);
    for (i, v) in volumes.iter().enumerate() {
        let path = format!("{spec_path}.volumes[{i}]");
        let removed: [(bool, &str, &str); 7] = [
            (v.photon_persistent_disk.is_some(), "photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+"),
            (v.git_repo.is_some(), "gitRepo", "deprecated in v1.11"),
            (v.scale_io.is_some(), "scaleIO", "deprecated in v1.16, non-functional in v1.22+"),
            (v.flocker.is_some(), "flocker", "deprecated in v1.22, non-functional in v1.25+"),
            (v.storageos.is_some(), "storageOS", "deprecated in v1.22, non-functional in v1.25+"),
            (v.quobyte.is_some(), "quobyte", "deprecated in v1.22, non-functional in v1.25+"),
            (v.glusterfs.is_some(), "glusterfs", "deprecated in v1.25, non-functional in v1.26+"),
        ];
        for (used, field, message) in removed {
            if used {
                warnings.push(format!("{path}.{field}: {message}"));
            }
        }
        // `GetWarningsForPersistentVolumeClaimSpec` of an ephemeral volume's claim.
        if let Some(claim) = v.ephemeral.as_ref().and_then(|e| e.volume_claim_template.as_ref()) {
            let resources = claim.spec.resources.as_ref();
            let claim_path = format!("{path}.ephemeral.volumeClaimTemplate.spec.resources");
            fractional_bytes(resources.and_then(|r| r.requests.as_ref()), "storage", &format!("{claim_path}.requests"), &mut warnings);
            fractional_bytes(resources.and_then(|r| r.limits.as_ref()), "storage", &format!("{claim_path}.limits"), &mut warnings);
        }
        if v.cephfs.is_some() {
            warnings.push(format!("{path}.cephfs: deprecated in v1.28, non-functional in v1.31+"));
        }
        if v.rbd.is_some() {
            warnings.push(format!("{path}.rbd: deprecated in v1.28, non-functional in v1.31+"));
        }
    }

    overlapping_virtual_paths(volumes, &mut warnings);

    // Duplicate host aliases and image pull secrets, and unnamed secrets.
    let mut ips = std::collections::BTreeSet::new();
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        if !ips.insert(alias.ip.as_str()) {
            warnings.push(format!("{spec_path}.hostAliases[{i}].ip: duplicate ip {:?}", alias.ip));
        }
    }
    let pull_secrets = spec.image_pull_secrets.as_deref().unwrap_or(&[]);
    let mut names = std::collections::BTreeSet::new();
    for (i, secret) in pull_secrets.iter().enumerate() {
        if !names.insert(secret.name.as_str()) {
            warnings.push(format!("{spec_path}.imagePullSecrets[{i}].name: duplicate name {:?}", secret.name));
        }
    }
    for (i, secret) in pull_secrets.iter().enumerate() {
        if secret.name.is_empty() {
            warnings.push(format!("{spec_path}.imagePullSecrets[{i}].name: invalid empty name \"\""));
        }
    }

    fractional_bytes(spec.overhead.as_ref(), "memory", &format!("{spec_path}.overhead"), &mut warnings);
    fractional_bytes(spec.overhead.as_ref(), "ephemeral-storage", &format!("{spec_path}.overhead"), &mut warnings);

    let pod_security = spec.security_context.as_ref();
    if pod_security.and_then(|s| s.seccomp_profile.as_ref()).is_none() && annotations.contains_key(SECCOMP_POD_ANNOTATION) {
        warnings.push(format!(r#"{annotations_path}[{SECCOMP_POD_ANNOTATION}]: non-functional in v1.27+; use the "seccompProfile" field instead"#));
    }
    let pod_app_armor = pod_security.and_then(|s| s.app_armor_profile.as_ref()).is_some();

    let all_containers = containers(spec, &spec_path);
    for c in &all_containers {
        if c.security_context.and_then(|s| s.seccomp_profile.as_ref()).is_none() {
            let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name);
            if annotations.contains_key(&key) {
                warnings.push(format!(r#"{annotations_path}[{key}]: non-functional in v1.27+; use the "seccompProfile" field instead"#));
            }
        }
        // A pod's AppArmor annotations are warned about as they are
        // synced to its fields ([`app_armor_annotations`]).
        let has_app_armor_field = pod_app_armor || c.security_context.and_then(|s| s.app_armor_profile.as_ref()).is_some();
        if !prefix.is_empty() && !has_app_armor_field {
            let key = format!("{APPARMOR_ANNOTATION_PREFIX}{}", c.name);
            if annotations.contains_key(&key) {
                warnings.push(format!(r#"{annotations_path}[{key}]: deprecated since v1.30; use the "appArmorProfile" field instead"#));
            }
        }
        let limits = c.resources.and_then(|r| r.limits.as_ref());
        let requests = c.resources.and_then(|r| r.requests.as_ref());
        let resources_path = format!("{}.resources", c.path);
        fractional_bytes(limits, "memory", &format!("{resources_path}.limits"), &mut warnings);
        fractional_bytes(requests, "memory", &format!("{resources_path}.requests"), &mut warnings);
        fractional_bytes(limits, "ephemeral-storage", &format!("{resources_path}.limits"), &mut warnings);
        fractional_bytes(requests, "ephemeral-storage", &format!("{resources_path}.requests"), &mut warnings);

        // A variable defined again hides the earlier one unless its value
        // builds on it (`X=$(X):more`).
        let mut defined = std::collections::BTreeSet::new();
        for (i, var) in c.env.iter().enumerate() {
            if defined.insert(var.name.as_str()) {
                continue;
            }
            let reference = format!("$({})", var.name);
            let value = var.value.as_deref().unwrap_or("");
            if var.value_from.is_some() || value == reference || !value.contains(&reference) {
                warnings.push(format!("{}.env[{i}]: hides previous definition of {:?}, which may be dropped when using apply", c.path, var.name));
            }
        }
    }

    // Ports across all containers, keyed by container port and protocol.
    let mut ports: BTreeMap<String, Vec<(String, &ContainerPort)>> = BTreeMap::new();
    for c in &all_containers {
        for (i, port) in c.ports.iter().enumerate() {
            let path = format!("{}.ports[{i}]", c.path);
            let host_ip = port.host_ip.as_deref().unwrap_or("");
            let host_port = port.host_port.unwrap_or(0);
            if !host_ip.is_empty() && host_port == 0 {
                warnings.push(format!("{path}: hostIP set without hostPort: {}", port_struct(port)));
            }
            let key = format!("{}/{}", port.container_port, port.protocol.as_deref().unwrap_or(""));
            let others = ports.entry(key).or_default();
            for (other_path, other) in others.iter() {
                let other_ip = other.host_ip.as_deref().unwrap_or("");
                let other_port = other.host_port.unwrap_or(0);
                if host_ip == other_ip && host_port == other_port {
                    warnings.push(format!("{path}: duplicate port definition with {other_path}"));
                } else if host_port == 0 || other_port == 0 {
                    warnings.push(format!("{path}: overlapping port definition with {other_path}"));
                } else if host_port == other_port && (host_ip.is_empty() != other_ip.is_empty()) {
                    warnings.push(format!("{path}: dangerously ambiguous port definition with {other_path}"));
                }
            }
            others.push((path, port));
        }
    }

    if spec.termination_grace_period_seconds.is_some_and(|s| s < 0) {
        warnings.push(format!("{spec_path}.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1"));
    }

    if let Some(affinity) = &spec.affinity {
        if let Some(a) = &affinity.pod_affinity {
            let path = format!("{spec_path}.affinity.podAffinity");
            pod_affinity_terms(a.required_during_scheduling_ignored_during_execution.as_ref(), &format!("{path}.requiredDuringSchedulingIgnoredDuringExecution"), &mut warnings);
            weighted_pod_affinity_terms(a.preferred_during_scheduling_ignored_during_execution.as_ref(), &format!("{path}.preferredDuringSchedulingIgnoredDuringExecution"), &mut warnings);
        }
        if let Some(a) = &affinity.pod_anti_affinity {
            let path = format!("{spec_path}.affinity.podAntiAffinity");
            pod_affinity_terms(a.required_during_scheduling_ignored_during_execution.as_ref(), &format!("{path}.requiredDuringSchedulingIgnoredDuringExecution"), &mut warnings);
            weighted_pod_affinity_terms(a.preferred_during_scheduling_ignored_during_execution.as_ref(), &format!("{path}.preferredDuringSchedulingIgnoredDuringExecution"), &mut warnings);
        }
    }

    // IP addresses in non-standard forms, last (KEP-4858's warnings, new in 1.33)
    for (i, nameserver) in spec.dns_config.iter().flat_map(|c| c.nameservers.iter().flatten()).enumerate() {
        warnings.extend(super::object_warnings::ip_warning(&format!("{spec_path}.dnsConfig.nameservers[{i}]"), nameserver));
    }
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        warnings.extend(super::object_warnings::ip_warning(&format!("{spec_path}.hostAliases[{i}].ip"), &alias.ip));
    }
    warnings
}

/// `applyAppArmorVersionSkew`'s warnings as a pod is created: a container's
/// AppArmor annotation that its field does not say, unless the annotation
/// is the pod's own profile. (The field itself is not filled in here.)
pub fn app_armor_annotations(meta: &ObjectMeta, spec: &PodSpec) -> Vec<String> {
    let mut warnings = Vec::new();
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        return warnings;
    }
    let Some(annotations) = meta.annotations.as_ref() else { return warnings };
    let pod_profile = spec.security_context.as_ref().and_then(|s| s.app_armor_profile.as_ref());
    for c in containers(spec, "spec") {
        let key = format!("{APPARMOR_ANNOTATION_PREFIX}{}", c.name);
        let Some(annotation) = annotations.get(&key) else { continue };
        if c.security_context.and_then(|s| s.app_armor_profile.as_ref()).is_some() {
            continue;
        }
        // `ApparmorFieldForAnnotation`, then its validation: an annotation
        // no valid field comes from is warned about too.
        let field = match annotation.as_str() {
            "runtime/default" => Some(("RuntimeDefault", None)),
            "unconfined" => Some(("Unconfined", None)),
            other => other.strip_prefix("localhost/").filter(|p| !p.trim().is_empty()).map(|p| ("Localhost", Some(p))),
        };
        let same_as_pod = match (field, pod_profile) {
            (Some((kind, localhost)), Some(pod)) => pod.type_ == kind && pod.localhost_profile.as_deref() == localhost,
            _ => false,
        };
        if !same_as_pod {
            warnings.push(format!(r#"metadata.annotations[{key}]: deprecated since v1.30; use the "appArmorProfile" field instead"#));
        }
    }
    warnings
}

/// A workload's pod template and its field path.
fn template_of(obj: &Object) -> Option<(&'static str, &PodTemplateSpec)> {
    Some(match obj {
        Object::PodTemplate(t) => ("template", t.template.as_ref()?),
        Object::ReplicationController(rc) => ("spec.template", rc.spec.as_ref()?.template.as_ref()?),
        Object::ReplicaSet(rs) => ("spec.template", rs.spec.as_ref()?.template.as_ref()?),
        Object::Deployment(d) => ("spec.template", &d.spec.as_ref()?.template),
        Object::DaemonSet(ds) => ("spec.template", &ds.spec.as_ref()?.template),
        Object::StatefulSet(sts) => ("spec.template", &sts.spec.as_ref()?.template),
        Object::Job(job) => ("spec.template", &job.spec.as_ref()?.template),
        Object::CronJob(cj) => ("spec.jobTemplate.spec.template", &cj.spec.as_ref()?.job_template.spec.as_ref()?.template),
        _ => return None,
    })
}

/// The strategy's `WarningsOnCreate` (`old` is `None`) or
/// `WarningsOnUpdate` for a written object that passed validation.
pub fn on_write(obj: &Object, old: Option<&Object>) -> Vec<String> {
    if let Object::Pod(pod) = obj {
        if old.is_some() {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let errors = super::validation::names::dns1123_label(name);
        if !errors.is_empty() {
            warnings.push(format!("metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [{}]", errors.join(" ")));
        }
        let no_spec = PodSpec::default();
        warnings.extend(for_spec("", Some(&pod.metadata), pod.spec.as_deref().unwrap_or(&no_spec)));
        return warnings;
    }
    let Some((path, template)) = template_of(obj) else { return Vec::new() };
    if let Some(old) = old {
        let changed = match old {
            // A PodTemplate's generation follows its template.
            Object::PodTemplate(_) => template_of(old).map(|(_, t)| t) != Some(template),
            _ => obj.meta().generation != old.meta().generation,
        };
        if !changed {
            return Vec::new();
        }
    }
    let no_spec = PodSpec::default();
    for_spec(path, template.metadata.as_ref(), template.spec.as_ref().unwrap_or(&no_spec))
}

#[cfg(test)]
mod tests;
