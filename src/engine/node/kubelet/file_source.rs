//! The kubelet's static pods: reading the manifest directory of its
//! machine, running what it finds like any pod (without the API server),
//! and keeping a mirror pod in the API for each (see `node::static_pods`).
//!
//! - A new manifest starts a pod at once; a changed one replaces it.
//! - A manifest taken away kills its pod with the pod's grace period; once
//!   its containers have stopped the mirror pod is deleted. The same
//!   manifest put back starts a new pod after the old one has stopped.
//! - A mirror pod that is deleted, or that names another static pod, is
//!   deleted at once (grace period 0) and created again; the static pod
//!   keeps running, so the new mirror shows the same containers.
//! - Status is generated for the static pod and written to its mirror.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};

use super::Kubelet;
use crate::engine::api::meta::api_time;
use crate::engine::api::{ids, Object, ObjectKey, Reason};
use crate::engine::apiserver::admission::pod_qos_class;
use crate::engine::apiserver::{DeleteOptions, WatchEvent};
use crate::engine::node::static_pods::{self, mirror_hash, mirror_of, CONFIG_SOURCE};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

/// One static pod the kubelet runs.
#[derive(Clone, Debug)]
pub(super) struct StaticPod {
    pub file: String,
    pub text: String,
    /// As read from the file: spec and metadata, no status.
    pub pod: Pod,
    /// The manifest was taken away: the pod is being killed since then.
    pub removed_at: Option<VirtualTime>,
    /// The status last generated (the status manager's cache), written to the mirror.
    pub status: Option<PodStatus>,
}

/// Whether a pod the kubelet works on came from its manifest directory.
pub(super) fn is_static(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(CONFIG_SOURCE)).is_some_and(|s| s == "file")
}

fn is_mirror_object(obj: &Object) -> bool {
    matches!(obj, Object::Pod(p) if static_pods::is_mirror(p))
}

impl Kubelet {
    /// Pods the kubelet must not run itself: mirrors of static pods.
    pub(super) fn drop_mirrors(pods: &mut Vec<Rc<Object>>) {
        pods.retain(|o| !is_mirror_object(o));
    }

    /// Reads the manifest directory; returns the static pods that appeared,
    /// changed or went away.
    pub(super) fn read_manifests(&mut self, ctx: &mut Ctx) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        let files: BTreeMap<String, String> = self.machine.static_pod_manifests.clone();
        // Manifests that are gone or changed: their pods are killed.
        for (uid, sp) in self.state.static_pods.iter_mut() {
            if sp.removed_at.is_none() && files.get(&sp.file) != Some(&sp.text) {
                sp.removed_at = Some(ctx.now);
                changed.insert(uid.clone());
            }
        }
        for (file, text) in files {
            let current = self.state.static_pods.values().any(|sp| sp.file == file && sp.text == text && sp.removed_at.is_none());
            if current {
                continue;
            }
            let nanos = ctx.rng.u32(..1_000_000);
            match static_pods::read_manifest(&file, &text, &self.spec.name, ctx.now, nanos) {
                Ok(pod) => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    // The same pod still stopping: it starts again once stopped.
                    if self.state.static_pods.contains_key(&uid) {
                        continue;
                    }
                    ctx.log(format!("static pod {} from {}/{file}", pod.metadata.name.as_deref().unwrap_or(""), static_pods::MANIFEST_DIR));
                    self.state.static_pods.insert(uid.clone(), StaticPod { file, text, pod, removed_at: None, status: None });
                    changed.insert(uid);
                }
                Err(e) => {
                    if self.state.refused_manifests.insert((file.clone(), text.clone())) {
                        ctx.log(e);
                    }
                }
            }
        }
        changed
    }

    /// The static pods to sync now, as the pods the kubelet works on: the
    /// spec read from the file with the status it last generated (or the
    /// mirror's, after a restart), marked deleted once the file is gone.
    pub(super) fn static_pods_to_sync(&self, all: bool, events: &[WatchEvent], changed: &BTreeSet<String>) -> Vec<Rc<Object>> {
        let mirrored: BTreeSet<&str> = events
            .iter()
            .filter_map(|ev| match &*ev.object {
                Object::Pod(p) => mirror_hash(p),
                _ => None,
            })
            .collect();
        self.state
            .static_pods
            .iter()
            .filter(|(uid, _)| all || changed.contains(*uid) || mirrored.contains(uid.as_str()))
            .map(|(_, sp)| Rc::new(Object::Pod(self.working_pod(sp))))
            .collect()
    }

    fn working_pod(&self, sp: &StaticPod) -> Pod {
        let mut pod = sp.pod.clone();
        pod.status = sp.status.clone().or_else(|| self.mirror_of_static(&sp.pod).and_then(|m| m.status.clone()));
        if let Some(at) = sp.removed_at {
            pod.metadata.deletion_timestamp = Some(api_time(at));
            pod.metadata.deletion_grace_period_seconds = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).or(Some(30));
        }
        pod
    }

    /// The mirror pod in the API (as the kubelet's watch last saw it).
    fn mirror_of_static(&self, static_pod: &Pod) -> Option<Pod> {
        let key = ObjectKey::new(static_pod.metadata.namespace.as_deref().unwrap_or(""), static_pod.metadata.name.as_deref().unwrap_or(""));
        match self.state.pods.get(&key).map(|o| &**o) {
            Some(Object::Pod(p)) if mirror_hash(p).is_some() => Some(p.clone()),
            _ => None,
        }
    }

    /// Records the status generated for a static pod and writes it to the
    /// mirror pod; once a removed static pod has stopped, forgets it.
    pub(super) fn write_static_status(&mut self, ctx: &mut Ctx, pod: &Pod, uid: &str, mut status: PodStatus, stopped: bool) {
        let Some(sp) = self.state.static_pods.get_mut(uid) else { return };
        if sp.removed_at.is_some() && stopped {
            // Killed for good: the sandbox goes with the worker, the mirror pod next.
            self.state.static_pods.remove(uid);
            self.machine.runtime.stop_sandbox(uid);
            ctx.wake_after_ms(1);
            return;
        }
        // The kubelet always reports its own pods scheduled, and their QoS class.
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        if !conditions.iter().any(|c| c.type_ == "PodScheduled") {
            let since = status.start_time.clone().unwrap_or_else(|| api_time(ctx.now));
            conditions.push(PodCondition { type_: "PodScheduled".into(), status: "True".into(), last_transition_time: Some(since), ..Default::default() });
        }
        if let Some(spec) = pod.spec.as_ref() {
            status.qos_class = Some(pod_qos_class(spec).to_string());
        }
        sp.status = Some(status.clone());
        let Some(mirror) = self.mirror_of_static(pod) else { return };
        if mirror.metadata.deletion_timestamp.is_some() || mirror.status.as_ref() == Some(&status) {
            return;
        }
        let (ns, name) = (mirror.metadata.namespace.clone().unwrap_or_default(), mirror.metadata.name.clone().unwrap_or_default());
        let hash = uid.to_string();
        let _ = ctx.api.modify(ids::pods(), &ns, &name, true, |obj| match obj {
            Object::Pod(p) if mirror_hash(p) == Some(hash.as_str()) => {
                let changed = p.status.as_ref() != Some(&status);
                p.status = Some(status.clone());
                changed
            }
            _ => false,
        });
    }

    /// Keeps one mirror pod per running static pod, and none for the rest.
    pub(super) fn sync_mirror_pods(&mut self, ctx: &mut Ctx) {
        let Some(node_uid) = self.state.node_uid.clone().filter(|_| self.state.registered) else { return };
        if !(ctx.api.is_running() && ctx.api.is_etcd_running()) {
            return;
        }
        let node = self.spec.name.clone();
        let mut wanted: BTreeMap<ObjectKey, (String, Pod)> = BTreeMap::new();
        for (uid, sp) in &self.state.static_pods {
            if sp.removed_at.is_none() {
                let key = ObjectKey::new(sp.pod.metadata.namespace.as_deref().unwrap_or(""), sp.pod.metadata.name.as_deref().unwrap_or(""));
                wanted.insert(key, (uid.clone(), sp.pod.clone()));
            }
        }
        let mirrors: Vec<Pod> = self
            .state
            .pods
            .items()
            .filter_map(|o| match &**o {
                Object::Pod(p) if static_pods::is_mirror(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        let mut present: BTreeSet<ObjectKey> = BTreeSet::new();
        for mirror in mirrors {
            let key = ObjectKey::new(mirror.metadata.namespace.as_deref().unwrap_or(""), mirror.metadata.name.as_deref().unwrap_or(""));
            let hash = mirror_hash(&mirror).unwrap_or("").to_string();
            let current = wanted.get(&key).is_some_and(|(uid, _)| *uid == hash);
            let stopping = self.state.static_pods.get(&hash).is_some_and(|sp| sp.removed_at.is_some());
            if current && mirror.metadata.deletion_timestamp.is_none() {
                present.insert(key);
                continue;
            }
            if stopping && !wanted.contains_key(&key) {
                // Kept until its static pod has stopped.
                continue;
            }
            let opts = DeleteOptions { grace_period_seconds: Some(0), precondition_uid: mirror.metadata.uid.clone(), ..Default::default() };
            if ctx.api.delete(ids::pods(), &key.namespace, &key.name, &opts).is_ok() {
                ctx.log(format!("deleted mirror pod {key}"));
            }
        }
        for (key, (_, static_pod)) in wanted {
            if present.contains(&key) {
                continue;
            }
            match ctx.api.create(Object::Pod(mirror_of(&static_pod, &node, &node_uid))) {
                Ok(_) => ctx.log(format!("created mirror pod {key}")),
                Err(e) if e.reason == Reason::AlreadyExists => {}
                Err(_) => ctx.wake_after_ms(1_000),
            }
        }
    }
}
