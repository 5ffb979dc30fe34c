//! What a cluster installer leaves on a fresh cluster besides the API
//! server's own objects, for each profile:
//! - `static_pods`: the control-plane manifests kubeadm writes to the
//!   control-plane node's `/etc/kubernetes/manifests` (etcd, kube-apiserver,
//!   kube-controller-manager, kube-scheduler); the kubelet runs them and
//!   publishes their mirror pods;
//! - `addons`: kube-proxy's DaemonSet (kubeadm), kindnet and
//!   local-path-storage (kind) or the storage-provisioner pod (minikube),
//!   created through the API server as the installers do, once the
//!   control-plane node has registered (`AddonInstaller`), after kubeadm's
//!   own RBAC objects (and before minikube's add-ons, `minikube-rbac`);
//! - `rbac`: those RBAC objects and the API server's bootstrap policy, kept
//!   as a terse table.

pub mod addons;
pub mod rbac;
pub mod static_pods;

use std::any::Any;

use serde_json::Value;

use crate::engine::api::ids;
use crate::engine::apiserver::{decode, ApiServer};
use crate::engine::cluster::{Profile, ProfileKind};
use crate::engine::kubectl::verbs::apply::{last_applied_json, with_annotation, LAST_APPLIED};
use crate::engine::sim::{Component, Ctx};

use addons::Verb;
use rbac::Creator;

/// Creates the profile's add-ons through the API server's normal path;
/// returns what failed (nothing, unless the manifests are wrong).
pub fn install_addons(api: &mut ApiServer, profile: &Profile) -> Vec<String> {
    // kubeadm's RBAC (upload-config, bootstrap-token) comes before its add-ons.
    let mut errors = rbac::create(api, Creator::Kubeadm);
    for (i, (verb, text)) in addons::manifests(profile).into_iter().enumerate() {
        errors.extend(create_all(api, &text, verb));
        // kube-proxy ends `kubeadm init`; minikube then binds cluster-admin
        // to kube-system's default account before enabling its add-ons.
        if i == 0 && profile.kind == ProfileKind::Minikube {
            errors.extend(rbac::create(api, Creator::Minikube));
        }
    }
    errors
}

/// Creates every document of `text`, as `kubectl create` or `kubectl apply` would.
pub fn create_all(api: &mut ApiServer, text: &str, verb: Verb) -> Vec<String> {
    each_document(text, |value| {
        let value: Value = match verb {
            Verb::Create => value.clone(),
            Verb::Apply => with_annotation(value, LAST_APPLIED, &last_applied_json(value)),
        };
        decode::resolve_kind(&value, "installer")
            .and_then(|rid| decode::decode_object(rid, &value).map_err(|e| e.message))
            .and_then(|obj| api.create(obj).map(|_| ()).map_err(|e| e.message))
    })
}

/// Deletes what `text`'s manifests name, as `kubectl delete
/// --ignore-not-found -f` does (an object already gone is no error);
/// returns the other errors' messages.
pub fn delete_all(api: &mut ApiServer, text: &str) -> Vec<String> {
    each_document(text, |value| {
        let (name, namespace, _, _) = decode::document_identity(value);
        let rid = decode::resolve_kind(value, "installer")?;
        let namespace = if crate::engine::api::resource(rid).namespaced { namespace.as_str() } else { "" };
        match api.delete(rid, namespace, &name, &crate::engine::apiserver::DeleteOptions::default()) {
            Err(e) if e.reason != crate::engine::api::Reason::NotFound => Err(e.message),
            _ => Ok(()),
        }
    })
}

/// `act` on each document of `text`'s manifests, in order: the parse's
/// errors and then each refused document's.
fn each_document(text: &str, mut act: impl FnMut(&Value) -> Result<(), String>) -> Vec<String> {
    let parsed = decode::parse_manifests(text);
    let mut errors: Vec<String> = parsed.error.iter().map(|e| e.message.clone()).collect();
    errors.extend(parsed.documents.iter().filter_map(|doc| act(&doc.value).err()));
    errors
}

/// kubeadm's `addon` phase and the installer's own add-ons: they run once
/// the control-plane node has registered, as `kubeadm init` waits for its
/// kubelet before installing them. Not a process a learner can stop.
pub struct AddonInstaller {
    profile: Profile,
    installed: bool,
}

/// The installer's name: not one of the cluster's switchable processes.
pub const INSTALLER: &str = "installer/addons";

impl AddonInstaller {
    pub fn new(profile: &Profile) -> Self {
        AddonInstaller { profile: profile.clone(), installed: false }
    }
}

impl Component for AddonInstaller {
    fn name(&self) -> &str {
        INSTALLER
    }

    fn run(&mut self, ctx: &mut Ctx) {
        if self.installed {
            return;
        }
        let control_plane = self.profile.nodes.iter().find(|n| n.control_plane).map(|n| n.name.clone());
        let registered = control_plane.is_none_or(|n| ctx.api.get(ids::nodes(), "", &n).is_ok());
        if !registered {
            ctx.wake_after_ms(1_000);
            return;
        }
        for e in install_addons(ctx.api, &self.profile) {
            ctx.log(format!("installing add-ons: {e}"));
        }
        self.installed = true;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_addon_is_accepted_by_the_api_server() {
        for kind in [ProfileKind::Minikube, ProfileKind::Default] {
            let profile = Profile::new(kind);
            let mut api = ApiServer::new(1, &profile.server);
            crate::engine::cluster::bootstrap_objects(&mut api);
            let errors = install_addons(&mut api, &profile);
            assert!(errors.is_empty(), "{kind:?}: {errors:?}");
        }
    }
}
