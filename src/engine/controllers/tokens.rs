//! The tokens controller (`serviceaccount-token-controller`,
//! pkg/controller/serviceaccount/tokens_controller.go): a
//! `kubernetes.io/service-account-token` Secret gets the cluster CA, its
//! namespace and a legacy token signed for its ServiceAccount, and the
//! ServiceAccount's name and uid as annotations; a token Secret whose
//! ServiceAccount does not exist (or is another one of that name) is
//! deleted, when it is created and when its ServiceAccount goes.

use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::ByteString;

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::serviceaccount::ROOT_CA_PEM;
use super::{Cache, Changes, Controller};

const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

pub struct TokensController {
    queue: WorkQueue,
    primed: bool,
}

impl TokensController {
    pub fn new() -> Self {
        TokensController { queue: WorkQueue::default(), primed: false }
    }

    fn annotation<'a>(secret: &'a Secret, key: &str) -> &'a str {
        secret.metadata.annotations.as_ref().and_then(|a| a.get(key)).map_or("", String::as_str)
    }

    fn is_token(obj: &Object) -> Option<&Secret> {
        match obj {
            Object::Secret(secret) if secret.type_.as_deref() == Some(TOKEN_TYPE) => Some(secret),
            _ => None,
        }
    }

    /// The ServiceAccount a token Secret names, if it is still the one
    /// whose uid the Secret recorded (`getServiceAccount`).
    fn service_account<'a>(cache: &'a Cache, secret: &Secret) -> Option<&'a ServiceAccount> {
        let namespace = secret.metadata.namespace.clone().unwrap_or_default();
        let obj = cache.of(ids::service_accounts()).get(&ObjectKey::new(namespace, Self::annotation(secret, NAME_ANNOTATION)))?;
        let Object::ServiceAccount(sa) = &**obj else { return None };
        let uid = Self::annotation(secret, UID_ANNOTATION);
        (uid.is_empty() || sa.metadata.uid.as_deref() == Some(uid)).then_some(&**sa)
    }

    /// `key` names a Secret.
    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(obj) = cache.of(ids::secrets()).get(key).cloned() else { return Ok(None) };
        let Some(secret) = Self::is_token(&obj) else { return Ok(None) };
        if secret.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let Some(sa) = Self::service_account(cache, secret) else {
            let options = DeleteOptions { precondition_uid: secret.metadata.uid.clone(), ..Default::default() };
            return match ctx.api.delete(ids::secrets(), &key.namespace, &key.name, &options) {
                Ok(_) => Ok(None),
                Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => Ok(None),
                Err(e) => Err(e),
            };
        };
        let data = secret.data.clone().unwrap_or_default();
        let needs_ca = data.get("ca.crt").is_none_or(|ca| ca.0 != ROOT_CA_PEM.as_bytes());
        let needs_namespace = data.get("namespace").is_none_or(|n| n.0.is_empty());
        let needs_token = data.get("token").is_none_or(|t| t.0.is_empty());
        if !needs_ca && !needs_namespace && !needs_token {
            return Ok(None);
        }
        let mut updated = secret.clone();
        let namespace = key.namespace.to_string();
        let sa_name = sa.metadata.name.clone().unwrap_or_default();
        let sa_uid = sa.metadata.uid.clone().unwrap_or_default();
        let data = updated.data.get_or_insert_with(BTreeMap::new);
        if needs_ca {
            data.insert("ca.crt".into(), ByteString(ROOT_CA_PEM.as_bytes().to_vec()));
        }
        if needs_namespace {
            data.insert("namespace".into(), ByteString(namespace.clone().into_bytes()));
        }
        if needs_token {
            let token = crate::engine::node::volumes::legacy_service_account_token(&namespace, &key.name, &sa_name, &sa_uid);
            data.insert("token".into(), ByteString(token.into_bytes()));
        }
        let annotations = updated.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(NAME_ANNOTATION.into(), sa_name);
        annotations.insert(UID_ANNOTATION.into(), sa_uid);
        match ctx.api.update(Object::Secret(Box::new(updated))) {
            Ok(_) => Ok(None),
            // A newer version is on its way through the watch, or it is gone.
            Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Default for TokensController {
    fn default() -> Self {
        Self::new()
    }
}

impl Controller for TokensController {
    fn name(&self) -> &str {
        "serviceaccount-token-controller"
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::service_accounts(), ids::secrets()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            for o in cache.of(ids::secrets()).items() {
                if Self::is_token(o).is_some() {
                    self.queue.add(ObjectKey::of(o));
                }
            }
        }
        for ev in changes.of(ids::secrets()) {
            if Self::is_token(&ev.object).is_some() {
                self.queue.add(ObjectKey::of(&ev.object));
            }
        }
        // A ServiceAccount's change concerns the token Secrets naming it.
        for ev in changes.of(ids::service_accounts()) {
            let meta = ev.object.meta();
            let (namespace, name) = (meta.namespace.as_deref().unwrap_or(""), meta.name.as_deref().unwrap_or(""));
            for o in cache.of(ids::secrets()).items() {
                let Some(secret) = Self::is_token(o) else { continue };
                if secret.metadata.namespace.as_deref() == Some(namespace) && Self::annotation(secret, NAME_ANNOTATION) == name {
                    self.queue.add(ObjectKey::of(o));
                }
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
