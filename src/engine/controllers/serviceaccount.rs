//! Per-namespace defaults: the ServiceAccount controller's `default`
//! ServiceAccount and the root CA publisher's `kube-root-ca.crt` ConfigMap
//! in every active namespace, put back when deleted or changed.

use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::{Cache, Changes, Controller};

pub const ROOT_CA_NAME: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The cluster CA as pods see it. Simulated: a well-formed PEM envelope
/// around placeholder base64, not a real certificate — nothing here verifies TLS.
pub const ROOT_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIDBTCCAe2gAwIBAgIIMiniPlaneSimulatedCAwDQYJKoZIhvcNAQELBQAwFTET\n\
MBEGA1UEAxMKa3ViZXJuZXRlczAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAw\n\
MDBaMBUxEzARBgNVBAMTCmt1YmVybmV0ZXMwggEiMA0GCSqGSIb3DQEBAQUAA4IB\n\
DwAwggEKAoIBAQDMiniplaneSimulatedKeyMaterialNotARealCertificate00\n\
-----END CERTIFICATE-----\n";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Publishes {
    /// `serviceaccount-controller`: the `default` ServiceAccount.
    DefaultServiceAccount,
    /// `root-ca-certificate-publisher-controller`: `kube-root-ca.crt`.
    RootCa,
}

pub struct NamespaceDefaults {
    what: Publishes,
    queue: WorkQueue,
    primed: bool,
}

impl NamespaceDefaults {
    pub fn new(what: Publishes) -> Self {
        NamespaceDefaults { what, queue: WorkQueue::default(), primed: false }
    }

    fn resource(&self) -> ResourceId {
        match self.what {
            Publishes::DefaultServiceAccount => ids::service_accounts(),
            Publishes::RootCa => ids::config_maps(),
        }
    }

    fn object_name(&self) -> &'static str {
        match self.what {
            Publishes::DefaultServiceAccount => "default",
            Publishes::RootCa => ROOT_CA_NAME,
        }
    }

    fn root_ca_data() -> BTreeMap<String, String> {
        BTreeMap::from([("ca.crt".to_string(), ROOT_CA_PEM.to_string())])
    }

    fn root_ca_annotations() -> BTreeMap<String, String> {
        BTreeMap::from([("kubernetes.io/description".to_string(), ROOT_CA_DESCRIPTION.to_string())])
    }

    /// `key` names the namespace.
    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let ns = &key.name;
        match cache.of(ids::namespaces()).get(&ObjectKey::new("", ns.clone())) {
            Some(n) if n.meta().deletion_timestamp.is_none() => {}
            _ => return Ok(None),
        }
        let existing = cache.of(self.resource()).get(&ObjectKey::new(ns.clone(), self.object_name())).cloned();
        let result = match (self.what, existing) {
            (Publishes::DefaultServiceAccount, Some(_)) => return Ok(None),
            (Publishes::DefaultServiceAccount, None) => ctx.api.create(Object::ServiceAccount(Box::new(ServiceAccount {
                metadata: ObjectMeta { name: Some("default".into()), namespace: Some(ns.to_string()), ..Default::default() },
                ..Default::default()
            }))),
            (Publishes::RootCa, None) => ctx.api.create(Object::ConfigMap(Box::new(ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA_NAME.into()),
                    namespace: Some(ns.to_string()),
                    annotations: Some(Self::root_ca_annotations()),
                    ..Default::default()
                },
                data: Some(Self::root_ca_data()),
                ..Default::default()
            }))),
            (Publishes::RootCa, Some(obj)) => {
                let Object::ConfigMap(cm) = &*obj else { return Ok(None) };
                let annotated = cm.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/description")).is_some();
                if cm.data.as_ref() == Some(&Self::root_ca_data()) && annotated {
                    return Ok(None);
                }
                let mut fixed = cm.clone();
                fixed.data = Some(Self::root_ca_data());
                fixed.metadata.annotations.get_or_insert_with(BTreeMap::new).extend(Self::root_ca_annotations());
                ctx.api.update(Object::ConfigMap(fixed))
            }
        };
        match result {
            Ok(_) => Ok(None),
            // Another writer got there first, or the namespace started terminating.
            Err(e) if matches!(e.reason, Reason::AlreadyExists | Reason::Forbidden | Reason::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Controller for NamespaceDefaults {
    fn name(&self) -> &str {
        match self.what {
            Publishes::DefaultServiceAccount => "serviceaccount-controller",
            Publishes::RootCa => "root-ca-certificate-publisher-controller",
        }
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::namespaces(), self.resource()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            for o in cache.of(ids::namespaces()).items() {
                self.queue.add(ObjectKey::of(o));
            }
        }
        for ev in changes.of(ids::namespaces()) {
            self.queue.add(ObjectKey::of(&ev.object));
        }
        for ev in changes.of(self.resource()) {
            let m = ev.object.meta();
            if m.name.as_deref() == Some(self.object_name()) {
                self.queue.add(ObjectKey::new("", m.namespace.clone().unwrap_or_default()));
            }
        }
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.primed = false;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
