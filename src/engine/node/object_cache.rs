//! The kubelet's ConfigMap and Secret managers (1.33's watch-based
//! strategy): one reflector per object a pod on the node references,
//! started when the first such pod arrives and stopped when the last one
//! goes. An immutable object is read once and never watched again.
//!
//! With the API server stopped a reflector cannot list, so a new pod's
//! config cannot be read (`failed to sync configmap cache: timed out
//! waiting for the condition`); what was read before stays cached.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use crate::engine::api::{ids, Object, ObjectKey};
use crate::engine::apiserver::Query;
use crate::engine::informer::Informer;
use crate::engine::selector::FieldSelector;
use crate::engine::sim::Ctx;

struct Item {
    reflector: Informer,
    /// How many pods reference the object: each pod's references are
    /// its `by_pod` entry, each key once, so a count is enough (a set of
    /// their UIDs was a copy of every pod's UID on the node).
    pods: usize,
    /// The object, once read, when it is immutable.
    frozen: Option<Rc<Object>>,
}

pub struct ObjectCache {
    secrets: bool,
    /// Boxed: a node's few items would each widen its B-tree's one leaf
    /// of eleven slots by a reflector (a leaf was about 4 KB a node).
    items: BTreeMap<(String, String), Box<Item>>,
    /// (namespace, name) in order, per pod that references any: a slice,
    /// as most reference one object. A pod that references none has no
    /// entry (most pods, in the Secret manager). Pods that reference the
    /// same objects (the pods of a template, the token volume's
    /// `kube-root-ca.crt` of a namespace) share one slice: see `last`.
    /// Keyed by the pod's UID as the kubelet's pod worker holds it.
    by_pod: BTreeMap<Rc<str>, Rc<[(String, String)]>>,
    /// The slice registered last, handed to the next pod that references
    /// the same objects (pods arrive by template, so most do).
    last: Option<Rc<[(String, String)]>>,
    /// Bumped whenever a cached object arrives, changes or goes.
    revision: u64,
}

/// ConfigMaps and Secrets a pod's containers and volumes name.
pub fn references(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut maps = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let Some(spec) = pod.spec.as_ref() else { return (maps, secrets) };
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.config_map_ref {
                maps.insert(r.name.clone());
            }
            if let Some(r) = &from.secret_ref {
                secrets.insert(r.name.clone());
            }
        }
        for e in c.env.iter().flatten() {
            if let Some(from) = &e.value_from {
                if let Some(r) = &from.config_map_key_ref {
                    maps.insert(r.name.clone());
                }
                if let Some(r) = &from.secret_key_ref {
                    secrets.insert(r.name.clone());
                }
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            maps.insert(cm.name.clone());
        }
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            secrets.insert(s);
        }
        for source in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(cm) = &source.config_map {
                maps.insert(cm.name.clone());
            }
            if let Some(s) = &source.secret {
                secrets.insert(s.name.clone());
            }
        }
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        if !s.name.is_empty() {
            secrets.insert(s.name.clone());
        }
    }
    (maps, secrets)
}

impl ObjectCache {
    pub fn configmaps() -> Self {
        ObjectCache { secrets: false, items: BTreeMap::new(), by_pod: BTreeMap::new(), last: None, revision: 0 }
    }

    pub fn secrets() -> Self {
        ObjectCache { secrets: true, items: BTreeMap::new(), by_pod: BTreeMap::new(), last: None, revision: 0 }
    }

    fn noun(&self) -> &'static str {
        if self.secrets {
            "secret"
        } else {
            "configmap"
        }
    }

    /// Records the objects pod `uid` of `namespace` references (replacing
    /// what it referenced before).
    pub fn register(&mut self, uid: &Rc<str>, namespace: &str, names: &BTreeSet<String>) {
        if names.is_empty() {
            self.unregister(uid);
            return;
        }
        let same = |have: &[(String, String)]| have.len() == names.len() && have.iter().zip(names).all(|((ns, n), name)| ns == namespace && n == name);
        if self.by_pod.get(&**uid).is_some_and(|have| same(have)) {
            return;
        }
        let wanted: Rc<[(String, String)]> = match &self.last {
            Some(last) if same(last) => last.clone(),
            _ => {
                let made: Rc<[(String, String)]> = names.iter().map(|n| (namespace.to_string(), n.clone())).collect();
                self.last = Some(made.clone());
                made
            }
        };
        self.unregister(uid);
        let resource = if self.secrets { ids::secrets() } else { ids::config_maps() };
        for key in wanted.iter() {
            if !self.items.contains_key(key) {
                self.revision += 1;
            }
            let item = self.items.entry(key.clone()).or_insert_with(|| Box::new(Item {
                reflector: Informer::new(
                    Query::in_namespace(resource, &key.0).with_fields(FieldSelector { terms: vec![("metadata.name".into(), true, key.1.clone())] }),
                ),
                pods: 0,
                frozen: None,
            }));
            item.pods += 1;
        }
        self.by_pod.insert(uid.clone(), wanted);
    }

    /// Pod `uid` is gone: objects no other pod references are dropped.
    pub fn unregister(&mut self, uid: &str) {
        let Some(keys) = self.by_pod.remove(uid) else { return };
        for key in keys.iter() {
            if let Some(item) = self.items.get_mut(key) {
                item.pods = item.pods.saturating_sub(1);
                if item.pods == 0 {
                    self.items.remove(key);
                    self.revision += 1;
                }
            }
        }
    }

    /// Lets every reflector list (the first time) or take its watch events.
    pub fn sync(&mut self, ctx: &mut Ctx) {
        for item in self.items.values_mut() {
            if item.frozen.is_some() {
                continue;
            }
            let was_synced = item.reflector.has_synced();
            if !item.reflector.sync(ctx).is_empty() || item.reflector.has_synced() != was_synced {
                self.revision += 1;
            }
            let current = item.reflector.items().next().cloned();
            let immutable = current.as_deref().is_some_and(|o| match o {
                Object::ConfigMap(cm) => cm.immutable == Some(true),
                Object::Secret(s) => s.immutable == Some(true),
                _ => false,
            });
            if immutable {
                // It can never change again: stop watching it.
                item.reflector.stop_watching(ctx.api);
                item.frozen = current;
            }
        }
    }

    /// Whether a [`ObjectCache::sync`] would only poll watches (see
    /// [`Informer::idle`]): every object not frozen has an idle reflector.
    pub fn idle(&self) -> bool {
        self.items.values().all(|i| i.frozen.is_some() || i.reflector.idle())
    }

    /// Lets reflectors that have not listed yet try now (a `Get` waits up
    /// to a second for its reflector to sync).
    pub fn sync_new(&mut self, ctx: &mut Ctx) {
        if self.items.values().all(|i| i.frozen.is_some() || i.reflector.has_synced()) {
            return;
        }
        for item in self.items.values_mut() {
            if item.frozen.is_none() && !item.reflector.has_synced() {
                let changed = !item.reflector.sync(ctx).is_empty();
                if changed || item.reflector.has_synced() {
                    self.revision += 1;
                }
            }
        }
    }

    /// The object, or the kubelet's error for it.
    pub fn get(&self, namespace: &str, name: &str) -> Result<Rc<Object>, String> {
        let key = (namespace.to_string(), name.to_string());
        let Some(item) = self.items.get(&key) else {
            return Err(format!("object \"{namespace}\"/\"{name}\" not registered"));
        };
        if let Some(obj) = &item.frozen {
            return Ok(obj.clone());
        }
        if !item.reflector.has_synced() {
            return Err(format!("failed to sync {} cache: timed out waiting for the condition", self.noun()));
        }
        item.reflector.get(&ObjectKey::new(namespace, name)).cloned().ok_or_else(|| format!("{} \"{name}\" not found", self.noun()))
    }

    /// Changes whenever a cached object arrives, changes or goes.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
