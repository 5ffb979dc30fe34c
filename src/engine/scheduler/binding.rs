//! Reserve, PreBind and Bind for the chosen node.
//!
//! Reserve assumes the pod on the node (it counts there at once) and, for
//! VolumeBinding, assumes the volume and claim changes it is about to make.
//! PreBind writes them (a volume's `claimRef`, a claim's selected node) and
//! waits, polling every second up to 600 s, until every claim is bound;
//! the scheduler goes on with other pods meanwhile. Bind then posts
//! `pods/binding` and records `Scheduled`. A failure unreserves everything
//! and sends the pod back to the queue with 1.33's error.

use std::rc::Rc;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::cache::AssignedPod;
use super::framework::PodInfo;
use super::plugins::volume_binding::{self, BindingCheck, PodVolumes, ANN_SELECTED_NODE, BIND_POLL_MS, BIND_TIMEOUT_MS};
use super::plugins::{CycleState, Handle};
use super::{set_pod_scheduled_false, truncate_message, Scheduler};
use crate::engine::api::{Object, ObjectKey, Reason as ApiReason};
use crate::engine::apiserver::events::{NORMAL, WARNING};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

/// A pod in PreBind, waiting for its volumes.
pub struct WaitingBind {
    pub node: Rc<str>,
    object: Rc<Object>,
    started: VirtualTime,
    volumes: PodVolumes,
    /// The Scheduled event's message, for when it binds.
    message: String,
}

impl Scheduler {
    /// Reserve, PreBind, Bind.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reserve_and_bind(&mut self, ctx: &mut Ctx, key: ObjectKey, object: &Rc<Object>, info: &PodInfo, node: Rc<str>, message: String, state: &CycleState) {
        // Reserve (VolumeBinding): what binding the volumes on this node takes.
        let mut volumes = PodVolumes::default();
        if let Some((vb, node_info)) = state.volume_binding.as_ref().and_then(|vb| self.cache.node(&node).map(|n| (vb, n))) {
            let h = Handle { cache: &self.cache, listers: &self.listers };
            match volume_binding::find_pod_volumes(&h, vb, node_info) {
                Ok((v, reasons)) if reasons.is_empty() => volumes = v,
                Ok((_, reasons)) => {
                    let msg = format!("running Reserve plugin \"VolumeBinding\": {}", reasons.join(", "));
                    self.fail(ctx, &key, object, &msg, 0, true, Some(""));
                    return;
                }
                Err(e) => {
                    self.fail(ctx, &key, object, &format!("running Reserve plugin \"VolumeBinding\": {e}"), 0, true, Some(""));
                    return;
                }
            }
        }
        for (pv, _) in &volumes.static_bindings {
            self.listers.assume_volume(pv.clone());
        }
        for pvc in &mut volumes.dynamic_provisions {
            pvc.metadata.annotations.get_or_insert_with(Default::default).insert(ANN_SELECTED_NODE.into(), node.to_string());
            self.listers.assume_claim(pvc.clone());
        }
        // Assume: the pod counts on the node before the API confirms it.
        self.cache.add_pod(self.pods.share_key(key.clone()), AssignedPod::with_requests(object.clone(), node.clone(), info.requests.clone()));
        self.nominator.remove(&key);
        if volumes.is_empty() {
            self.bind(ctx, key, object, node, message);
            return;
        }
        // PreBind: write the choices, then wait for the claims to bind.
        if let Err(e) = self.write_volume_choices(ctx, &mut volumes) {
            self.unreserve(&key, &volumes);
            self.fail(ctx, &key, object, &format!("running PreBind plugin \"VolumeBinding\": {e}"), 0, true, Some(""));
            return;
        }
        if ctx.logging() {
            ctx.log(format!("{key}: waiting for its volumes to bind before binding to {node}"));
        }
        if let Some(d) = self.decisions.get_mut(&key) {
            d.result = super::decision::Result::WaitingForVolumes;
        }
        self.waiting.insert(key, WaitingBind { node, object: object.clone(), started: ctx.now, volumes, message });
    }

    /// `bindAPIUpdate`: the volumes' `claimRef`s and the claims' selected
    /// node, through the API. Keeps the versions written.
    fn write_volume_choices(&mut self, ctx: &mut Ctx, volumes: &mut PodVolumes) -> Result<(), String> {
        for (pv, _) in &mut volumes.static_bindings {
            match ctx.api.update(Object::PersistentVolume(Box::new(pv.clone()))) {
                Ok(obj) => {
                    if let Object::PersistentVolume(written) = &*obj {
                        *pv = *written.clone();
                        self.listers.confirm_volume(*written.clone());
                    }
                }
                Err(e) => return Err(e.message),
            }
        }
        for pvc in &mut volumes.dynamic_provisions {
            match ctx.api.update(Object::PersistentVolumeClaim(Box::new(pvc.clone()))) {
                Ok(obj) => {
                    if let Object::PersistentVolumeClaim(written) = &*obj {
                        *pvc = *written.clone();
                        self.listers.confirm_claim(*written.clone());
                    }
                }
                Err(e) => return Err(e.message),
            }
        }
        Ok(())
    }

    /// Unreserve: forget the assumed pod and volume changes.
    fn unreserve(&mut self, key: &ObjectKey, volumes: &PodVolumes) {
        self.cache.remove_pod(key);
        for (pv, _) in &volumes.static_bindings {
            self.listers.forget_volume(pv.metadata.name.as_deref().unwrap_or(""));
        }
        for pvc in &volumes.dynamic_provisions {
            self.listers.forget_claim(&claim_key(pvc));
        }
    }

    /// The pod went away while PreBind waited.
    pub(super) fn abandon_binding(&mut self, key: &ObjectKey) {
        if let Some(w) = self.waiting.remove(key) {
            self.unreserve(key, &w.volumes);
        }
    }

    /// PreBind's poll: bind pods whose volumes are bound, fail those whose
    /// binding failed or timed out. Polls happen every second from the start.
    pub(super) fn check_bindings(&mut self, ctx: &mut Ctx) {
        if self.waiting.is_empty() {
            return;
        }
        let keys: Vec<ObjectKey> = self.waiting.keys().cloned().collect();
        for key in keys {
            let Some(w) = self.waiting.get(&key) else { continue };
            let elapsed = ctx.now.millis_since(w.started);
            if elapsed >= BIND_TIMEOUT_MS {
                self.binding_failed(ctx, &key, "binding volumes: context deadline exceeded".into());
                continue;
            }
            if elapsed < BIND_POLL_MS {
                continue;
            }
            let h = Handle { cache: &self.cache, listers: &self.listers };
            let check = match self.cache.node(&w.node) {
                Some(node) => volume_binding::check_bindings(&h, &w.volumes, node),
                None => BindingCheck::Failed(format!("failed to get node \"{}\": node \"{}\" not found", w.node, w.node)),
            };
            match check {
                BindingCheck::Waiting => {}
                BindingCheck::Failed(msg) => self.binding_failed(ctx, &key, format!("binding volumes: {msg}")),
                BindingCheck::Done => {
                    if let Some(w) = self.waiting.remove(&key) {
                        for (pv, _) in &w.volumes.static_bindings {
                            self.listers.forget_volume(pv.metadata.name.as_deref().unwrap_or(""));
                        }
                        for pvc in &w.volumes.dynamic_provisions {
                            self.listers.forget_claim(&claim_key(pvc));
                        }
                        self.bind(ctx, key, &w.object, w.node, w.message);
                    }
                }
            }
        }
    }

    /// When PreBind should look again: the next whole second after a wait began.
    pub(super) fn next_binding_check(&self, now: VirtualTime) -> Option<VirtualTime> {
        self.waiting
            .values()
            .map(|w| {
                let elapsed = now.millis_since(w.started);
                let ticks = elapsed / BIND_POLL_MS + 1;
                w.started.plus_millis((ticks * BIND_POLL_MS).min(BIND_TIMEOUT_MS))
            })
            .min()
    }

    fn binding_failed(&mut self, ctx: &mut Ctx, key: &ObjectKey, msg: String) {
        let Some(w) = self.waiting.remove(key) else { return };
        self.unreserve(key, &w.volumes);
        let message = format!("running PreBind plugin \"VolumeBinding\": {msg}");
        if let Some(d) = self.decisions.get_mut(key) {
            d.result = super::decision::Result::Error;
            d.message = message.clone();
        }
        self.fail(ctx, key, &w.object, &message, 0, true, Some(""));
    }

    /// Bind (DefaultBinder): `pods/binding`, then the `Scheduled` event.
    fn bind(&mut self, ctx: &mut Ctx, key: ObjectKey, object: &Object, node_name: Rc<str>, message: String) {
        match ctx.api.bind(&key.namespace, &key.name, &node_name) {
            Ok(_) => {
                self.queue.done(&key);
                self.stats.bound += 1;
                if ctx.logging() {
                    ctx.log(message.clone());
                }
                self.recorder.eventf(ctx.api, object, None, NORMAL, "Scheduled", "Binding", message);
            }
            Err(err) => {
                self.cache.remove_pod(&key);
                if err.reason == ApiReason::NotFound {
                    self.queue.remove(&key);
                    return;
                }
                self.stats.errors += 1;
                let message = format!("binding rejected: running Bind plugin \"DefaultBinder\": {}", err.message);
                self.recorder.eventf(ctx.api, object, None, WARNING, "FailedScheduling", "Scheduling", truncate_message(&message));
                set_pod_scheduled_false(ctx, &key, "SchedulerError", &message, Some(""));
                if ctx.logging() {
                    ctx.log(format!("{key}: {message}"));
                }
                self.queue.errored(&key, ctx.now);
            }
        }
    }
}

fn claim_key(pvc: &PersistentVolumeClaim) -> ObjectKey {
    ObjectKey::new(pvc.metadata.namespace.clone().unwrap_or_default(), pvc.metadata.name.clone().unwrap_or_default())
}

