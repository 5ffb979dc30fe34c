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

use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use crate::engine::api::pod::Pod;

use super::Kubelet;
use crate::engine::api::meta::api_time;
use crate::engine::api::{ids, Object, ObjectKey, Reason};
use crate::engine::apiserver::admission::pod_qos_class;
use crate::engine::apiserver::{DeleteOptions, WatchEvent, WatchEventType};
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

pub(super) fn is_mirror_object(obj: &Object) -> bool {
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
            .map(|(_, sp)| Rc::new(Object::Pod(Box::new(self.working_pod(sp)))))
            .collect()
    }

    fn working_pod(&self, sp: &StaticPod) -> Pod {
        let mut pod = sp.pod.clone();
        pod.status = sp.status.clone().map(|s| Rc::new(s.into())).or_else(|| self.mirror_of_static(&sp.pod).and_then(|m| m.status.clone()));
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
            Some(Object::Pod(p)) if mirror_hash(p).is_some() => Some(*p.clone()),
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
            self.state.orphans_settled = false;
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
        if mirror.metadata.deletion_timestamp.is_some() || mirror.status.as_deref().is_some_and(|s| *s == status) {
            return;
        }
        let (ns, name) = (mirror.metadata.namespace.clone().unwrap_or_default(), mirror.metadata.name.clone().unwrap_or_default());
        let hash = uid.to_string();
        let _ = ctx.api.modify(ids::pods(), &ns, &name, true, |obj| match obj {
            Object::Pod(p) if mirror_hash(p) == Some(hash.as_str()) => {
                let changed = !p.status.as_deref().is_some_and(|s| *s == status);
                p.status = Some(Rc::new(status.clone().into()));
                changed
            }
            _ => false,
        });
    }

    /// Takes the pod informer's events into the mirror pods it holds.
    pub(super) fn note_mirrors(&mut self, events: &[WatchEvent]) {
        for ev in events {
            if ev.kind != WatchEventType::Deleted && is_mirror_object(&ev.object) {
                self.state.mirrors.insert(ObjectKey::of(&ev.object));
            } else if !self.state.mirrors.is_empty() {
                self.state.mirrors.remove(&ObjectKey::of(&ev.object));
            }
        }
    }

    /// Keeps one mirror pod per running static pod, and none for the rest.
    pub(super) fn sync_mirror_pods(&mut self, ctx: &mut Ctx) {
        // Borrowed: every kubelet run comes here, nearly always with no static pod.
        let Some(node_uid) = self.state.node_uid.as_deref().filter(|_| self.state.registered) else { return };
        if !(ctx.api.is_running() && ctx.api.is_etcd_running()) {
            return;
        }
        let node = self.spec.name.as_str();
        let mut wanted: BTreeMap<ObjectKey, (String, Pod)> = BTreeMap::new();
        for (uid, sp) in &self.state.static_pods {
            if sp.removed_at.is_none() {
                let key = ObjectKey::new(sp.pod.metadata.namespace.as_deref().unwrap_or(""), sp.pod.metadata.name.as_deref().unwrap_or(""));
                wanted.insert(key, (uid.clone(), sp.pod.clone()));
            }
        }
        let mirrors: Vec<Pod> = self
            .state
            .mirrors
            .iter()
            .filter_map(|key| match self.state.pods.get(key).map(|o| &**o) {
                Some(Object::Pod(p)) if static_pods::is_mirror(p) => Some((**p).clone()),
                _ => None,
            })
            .collect();
        if cfg!(debug_assertions) {
            let every: Vec<&Pod> = self
                .state
                .pods
                .items()
                .filter_map(|o| match &**o {
                    Object::Pod(p) if static_pods::is_mirror(p) => Some(&**p),
                    _ => None,
                })
                .collect();
            assert!(every.len() == mirrors.len() && every.iter().zip(&mirrors).all(|(a, b)| **a == *b), "the kubelet's mirror pods are not those its informer holds");
        }
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
            match ctx.api.create(Object::Pod(Box::new(mirror_of(&static_pod, node, node_uid)))) {
                Ok(_) => ctx.log(format!("created mirror pod {key}")),
                Err(e) if e.reason == Reason::AlreadyExists => {}
                Err(_) => ctx.wake_after_ms(1_000),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::api::{ids, Object};
    use crate::engine::apiserver::{DeleteOptions, Query};
    use crate::engine::cluster::Cluster;
    use crate::engine::node::static_pods::{mirror_hash, CONFIG_HASH};
    use crate::engine::node::tests::cluster;
    use crate::engine::selector::FieldSelector;
    use crate::engine::api::pod::Pod;

    fn system_pod(c: &Cluster, name: &str) -> Option<Pod> {
        match c.sim.api.get(ids::pods(), "kube-system", name).ok().as_deref() {
            Some(Object::Pod(p)) => Some(*p.clone()),
            _ => None,
        }
    }

    fn container_id(p: &Pod) -> Option<String> {
        p.status.as_ref()?.container_statuses.as_ref()?.first()?.container_id.clone()
    }

    fn waiting_reason(p: &Pod) -> Option<String> {
        p.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()?.waiting.as_ref()?.reason.clone()
    }

    #[test]
    fn the_control_plane_runs_as_mirrored_static_pods_on_its_node() {
        let c = cluster();
        for component in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
            let pod = system_pod(&c, &format!("{component}-control-plane")).expect("mirror pod");
            let hash = mirror_hash(&pod).expect("a mirror").to_string();
            assert_eq!(pod.metadata.annotations.as_ref().and_then(|a| a.get(CONFIG_HASH)), Some(&hash));
            assert_ne!(pod.metadata.uid.as_deref(), Some(hash.as_str()), "the API gives the mirror its own UID");
            let owner = &pod.metadata.owner_references.clone().unwrap_or_default()[0];
            assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Node", "control-plane"));
            let status = pod.status.clone().unwrap_or_default();
            assert_eq!(status.phase.as_deref(), Some("Running"), "{component}");
            assert_eq!(status.pod_ip.as_deref(), Some("172.18.0.2"), "a host-network pod has the node's address");
            assert_eq!(pod.spec.as_ref().and_then(|s| s.priority), Some(2_000_001_000));
        }
    }

    #[test]
    fn a_deleted_mirror_pod_comes_back_while_its_container_keeps_running() {
        let mut c = cluster();
        let before = system_pod(&c, "kube-scheduler-control-plane").expect("mirror");
        c.sim.api.delete(ids::pods(), "kube-system", "kube-scheduler-control-plane", &DeleteOptions::default()).expect("delete");
        c.sim.run_for_ms(1_000);
        let after = system_pod(&c, "kube-scheduler-control-plane").expect("recreated");
        assert_ne!(after.metadata.uid, before.metadata.uid);
        assert!(after.metadata.deletion_timestamp.is_none());
        assert_eq!(mirror_hash(&after), mirror_hash(&before));
        assert_eq!(container_id(&after), container_id(&before), "the static pod was not restarted");
    }

    #[test]
    fn a_manifest_taken_away_kills_the_pod_and_its_mirror_goes() {
        let mut c = cluster();
        let before = system_pod(&c, "kube-scheduler-control-plane").expect("mirror");
        c.sim.stop("scheduler").expect("stop");
        c.sim.run_for_ms(3_000);
        assert!(system_pod(&c, "kube-scheduler-control-plane").is_none());
        c.sim.start("scheduler").expect("start");
        c.sim.run_for_ms(15_000);
        let after = system_pod(&c, "kube-scheduler-control-plane").expect("back");
        assert_ne!(container_id(&after), container_id(&before), "a new container");
        assert_eq!(after.status.as_ref().and_then(|s| s.phase()), Some("Running"));
    }

    #[test]
    fn a_static_pod_starts_without_the_api_server_and_is_mirrored_once_it_is_back() {
        let mut c = cluster();
        let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx\n";
        c.sim.stop("apiserver").expect("stop");
        if let Some(m) = c.sim.world.machine_mut("worker-1") {
            m.static_pod_manifests.insert("web.yaml".into(), manifest.into());
        }
        c.sim.run_for_ms(15_000);
        let machine = c.sim.world.machine("worker-1").expect("machine");
        assert!(machine.runtime.sandboxes().any(|(_, s)| s.pod == "web-worker-1" && s.containers.iter().any(|c| c.is_running())));
        c.sim.start("apiserver").expect("start");
        c.sim.run_for_ms(11_000);
        let mirror = match c.sim.api.get(ids::pods(), "default", "web-worker-1").ok().as_deref() {
            Some(Object::Pod(p)) => p.clone(),
            _ => panic!("no mirror pod"),
        };
        assert!(mirror_hash(&mirror).is_some());
        assert_eq!(mirror.status.as_ref().and_then(|s| s.phase()), Some("Running"));
    }

    #[test]
    fn a_stopped_kube_proxy_crash_loops_until_started() {
        let mut c = cluster();
        let query = Query::in_namespace(ids::pods(), "kube-system").with_fields(FieldSelector::node_name("worker-1"));
        let proxy = |c: &Cluster| -> Pod {
            let (items, _) = c.sim.api.list(&query).expect("list");
            *items
                .iter()
                .find_map(|o| match &**o {
                    Object::Pod(p) if p.metadata.name.as_deref().is_some_and(|n| n.starts_with("kube-proxy-")) => Some(p.clone()),
                    _ => None,
                })
                .expect("a kube-proxy pod on worker-1")
        };
        c.sim.stop("kube-proxy/worker-1").expect("stop");
        // It exits at once, is restarted at once, exits again, and the
        // pod worker's retry 10 to 15 s later shows the back-off.
        let mut crash_looping = false;
        for _ in 0..160 {
            c.sim.run_for_ms(250);
            crash_looping |= waiting_reason(&proxy(&c)).as_deref() == Some("CrashLoopBackOff");
        }
        assert!(crash_looping, "{:?}", waiting_reason(&proxy(&c)));
        c.sim.start("kube-proxy/worker-1").expect("start");
        c.sim.run_for_ms(60_000);
        let p = proxy(&c);
        let status = p.status.and_then(|s| s.container_statuses.clone()).unwrap_or_default();
        assert!(status[0].state.as_ref().is_some_and(|s| s.running.is_some()), "{status:?}");
        assert!(status[0].restart_count >= 2);
    }
}
