//! The kubelet's file source (`pkg/kubelet/config/file.go`) and its mirror
//! pods (`pod/mirror_client.go`).
//!
//! Each manifest in `/etc/kubernetes/manifests` is a pod the kubelet runs
//! without the API server. Reading it, the kubelet defaults it as the API
//! server would, names it `<name>-<node>`, binds it to its own node, gives
//! it a UID hashed from the file, the `kubernetes.io/config.hash`,
//! `config.seen` and `config.source: file` annotations and a toleration of
//! every NoExecute taint, so node problems never evict it. To make it
//! visible, the kubelet creates a *mirror pod* in the API: a copy that
//! names the static pod in `kubernetes.io/config.mirror` and is owned by
//! the Node. A mirror pod cannot be changed through the API; deleted, the
//! kubelet creates it again while the static pod keeps running.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use crate::engine::api::pod::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::engine::api::Object;
use crate::engine::apiserver::admission::MIRROR_POD_ANNOTATION;
use crate::engine::apiserver::{decode, defaults};
use crate::engine::sim::clock::VirtualTime;

pub const MANIFEST_DIR: &str = "/etc/kubernetes/manifests";
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";

/// Whether an API pod is the mirror of a static pod.
pub fn is_mirror(pod: &Pod) -> bool {
    mirror_hash(pod).is_some()
}

/// The static pod's UID a mirror pod stands for.
pub fn mirror_hash(pod: &Pod) -> Option<&str> {
    pod.metadata.annotations.as_ref()?.get(MIRROR_POD_ANNOTATION).map(String::as_str)
}

/// The UID the kubelet derives from a manifest: a hash of its content, the
/// node and the file (the real kubelet hashes the decoded pod with MD5).
fn file_uid(text: &str, node: &str, path: &str) -> String {
    let fnv = |seed: u64| {
        let mut h = seed;
        for part in [text, "host:", node, "file:", path] {
            for b in part.bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
}

/// RFC 3339 with nanoseconds, as Go prints `time.Now()` in `config.seen`.
fn seen_stamp(now: VirtualTime, nanos: u32) -> String {
    let t = crate::engine::api::meta::api_time(now).0;
    let sub = (now.as_millis() % 1000) as u32 * 1_000_000 + nanos % 1_000_000;
    format!("{}.{sub:09}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// Reads one manifest as the kubelet's file source does. `nanos` stands
/// for the sub-millisecond part of the moment it was read.
pub fn read_manifest(file: &str, text: &str, node: &str, now: VirtualTime, nanos: u32) -> Result<Pod, String> {
    let path = format!("{MANIFEST_DIR}/{file}");
    let parsed = decode::parse_manifests(text);
    if let Some(e) = parsed.error {
        return Err(format!("could not process manifest file {path:?}: {}", e.message));
    }
    let Some(doc) = parsed.documents.first() else {
        return Err(format!("could not process manifest file {path:?}: no pod in it"));
    };
    let rid = decode::resolve_kind(&doc.value, &path)?;
    let mut pod = match decode::decode_object(rid, &doc.value).map_err(|e| e.message)? {
        Object::Pod(p) => p,
        _ => return Err(format!("could not process manifest file {path:?}: it is not a pod")),
    };
    let mut obj = Object::Pod(pod.clone());
    defaults::apply(&mut obj);
    if let Object::Pod(p) = obj {
        pod = p;
    }
    let uid = file_uid(text, node, &path);
    let name = pod.metadata.name.clone().unwrap_or_default();
    pod.metadata.name = Some(format!("{name}-{node}"));
    if pod.metadata.namespace.as_deref().is_none_or(str::is_empty) {
        pod.metadata.namespace = Some("default".to_string());
    }
    pod.metadata.uid = Some(uid.clone());
    pod.metadata.creation_timestamp = None;
    let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(CONFIG_HASH.to_string(), uid);
    annotations.insert(CONFIG_SEEN.to_string(), seen_stamp(now, nanos));
    annotations.insert(CONFIG_SOURCE.to_string(), "file".to_string());
    pod.set_node_name(Some(node.to_string()));
    let spec = pod.spec_mut();
    let tolerate_all = Toleration { operator: Some("Exists".into()), effect: Some("NoExecute".into()), ..Default::default() };
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    if !tolerations.contains(&tolerate_all) {
        tolerations.push(tolerate_all);
    }
    pod.status = Some(std::rc::Rc::new(k8s_openapi::api::core::v1::PodStatus { phase: Some("Pending".into()), ..Default::default() }.into()));
    Ok(*pod)
}

/// The mirror pod the kubelet creates for a static pod on its node.
pub fn mirror_of(static_pod: &Pod, node: &str, node_uid: &str) -> Pod {
    let mut mirror = static_pod.clone();
    let hash = static_pod.metadata.uid.clone().unwrap_or_default();
    mirror.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(MIRROR_POD_ANNOTATION.to_string(), hash);
    mirror.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: node.to_string(),
        uid: node_uid.to_string(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    mirror.metadata.uid = None;
    mirror.status = None;
    mirror
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bootstrap::static_pods::KubeadmConfig;
    use crate::engine::cluster::{Profile, ProfileKind};

    fn scheduler_manifest() -> String {
        let config = KubeadmConfig::for_profile(&Profile::new(ProfileKind::Minikube)).expect("control plane");
        config.manifests().into_iter().find(|(f, _)| f == "kube-scheduler.yaml").map(|(_, t)| t).expect("scheduler manifest")
    }

    #[test]
    fn a_manifest_becomes_a_static_pod_of_this_node() {
        let pod = read_manifest("kube-scheduler.yaml", &scheduler_manifest(), "minikube", VirtualTime::from_millis(1_250), 42).expect("reads");
        assert_eq!(pod.metadata.name.as_deref(), Some("kube-scheduler-minikube"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("kube-system"));
        let uid = pod.metadata.uid.clone().expect("uid");
        assert_eq!(uid.len(), 32);
        let annotations = pod.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.get(CONFIG_HASH), Some(&uid));
        assert_eq!(annotations.get(CONFIG_SOURCE).map(String::as_str), Some("file"));
        assert_eq!(annotations.get(CONFIG_SEEN).map(String::as_str), Some("2026-01-01T00:00:01.250000042Z"));
        assert_eq!(pod.node_name(), Some("minikube"));
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        assert!(spec.tolerations.clone().unwrap_or_default().iter().any(|t| t.key.is_none() && t.effect.as_deref() == Some("NoExecute")));
    }

    #[test]
    fn the_uid_follows_the_file_and_the_node() {
        let text = scheduler_manifest();
        let uid = |node: &str, text: &str| read_manifest("kube-scheduler.yaml", text, node, VirtualTime::ZERO, 0).ok().and_then(|p| p.metadata.uid);
        assert_eq!(uid("minikube", &text), uid("minikube", &text));
        assert_ne!(uid("minikube", &text), uid("other", &text));
        assert_ne!(uid("minikube", &text), uid("minikube", &text.replace("--leader-elect=false", "--leader-elect=true")));
    }

    #[test]
    fn a_broken_manifest_is_refused_not_run() {
        assert!(read_manifest("bad.yaml", "kind: Pod\nspec: [", "minikube", VirtualTime::ZERO, 0).is_err());
        assert!(read_manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "minikube", VirtualTime::ZERO, 0).is_err());
    }

    #[test]
    fn the_mirror_names_its_static_pod_and_belongs_to_the_node() {
        let pod = read_manifest("kube-scheduler.yaml", &scheduler_manifest(), "minikube", VirtualTime::ZERO, 0).expect("reads");
        let mirror = mirror_of(&pod, "minikube", "node-uid");
        assert_eq!(mirror_hash(&mirror), pod.metadata.uid.as_deref());
        assert!(mirror.metadata.uid.is_none());
        let owner = &mirror.metadata.owner_references.expect("owner")[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("Node", "minikube", Some(true)));
    }
}
