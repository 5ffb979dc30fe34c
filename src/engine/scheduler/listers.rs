//! The scheduler's informers beyond nodes and pods: what its plugins look
//! up (namespaces for namespace selectors; Services, ReplicationControllers,
//! ReplicaSets and StatefulSets for default spreading; claims, volumes,
//! classes and CSI objects for the volume plugins; PodDisruptionBudgets for
//! preemption). Like every informer they list, then watch, and relist
//! after a restart.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::{CSINode, CSIStorageCapacity, StorageClass};

use crate::engine::api::{find_resource, ids, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::{Query, WatchEvent};
use crate::engine::informer::Informer;
use crate::engine::sim::Ctx;

fn resource(group: &str, plural: &str) -> ResourceId {
    find_resource(group, plural).unwrap_or(ResourceId(u16::MAX))
}

/// Which informer an event came from, for queueing hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Namespace,
    Service,
    ReplicationController,
    ReplicaSet,
    StatefulSet,
    Claim,
    Volume,
    StorageClass,
    CsiNode,
    CsiDriver,
    StorageCapacity,
    DisruptionBudget,
}

pub struct Listers {
    informers: Vec<(Kind, Informer)>,
    /// VolumeBinding's assumptions (`AssumeCache`): volumes it decided to
    /// bind and claims it picked a node for, ahead of the API confirming
    /// them, each with the resourceVersion it was made from.
    assumed_volumes: BTreeMap<String, (Option<String>, PersistentVolume)>,
    assumed_claims: BTreeMap<ObjectKey, (Option<String>, PersistentVolumeClaim)>,
    /// Bumped when a Service or a controller (RC, RS, StatefulSet) changes:
    /// default spreading selectors computed before may be stale.
    selector_inputs_generation: u64,
}

impl Default for Listers {
    fn default() -> Self {
        let all = |rid: ResourceId| Informer::new(Query::all(rid));
        Listers {
            informers: vec![
                (Kind::Namespace, all(ids::namespaces())),
                (Kind::Service, all(ids::services())),
                (Kind::ReplicationController, all(ids::replication_controllers())),
                (Kind::ReplicaSet, all(ids::replica_sets())),
                (Kind::StatefulSet, all(ids::stateful_sets())),
                (Kind::Claim, all(resource("", "persistentvolumeclaims"))),
                (Kind::Volume, all(resource("", "persistentvolumes"))),
                (Kind::StorageClass, all(resource("storage.k8s.io", "storageclasses"))),
                (Kind::CsiNode, all(resource("storage.k8s.io", "csinodes"))),
                (Kind::CsiDriver, all(resource("storage.k8s.io", "csidrivers"))),
                (Kind::StorageCapacity, all(resource("storage.k8s.io", "csistoragecapacities"))),
                (Kind::DisruptionBudget, all(resource("policy", "poddisruptionbudgets"))),
            ],
            assumed_volumes: BTreeMap::new(),
            assumed_claims: BTreeMap::new(),
            selector_inputs_generation: 0,
        }
    }
}

impl Listers {
    /// Brings every informer up to date; returns what changed, by kind.
    pub fn sync(&mut self, ctx: &mut Ctx) -> Vec<(Kind, WatchEvent)> {
        let mut out = Vec::new();
        for (kind, informer) in &mut self.informers {
            out.extend(informer.sync(ctx).into_iter().map(|e| (*kind, e)));
        }
        if out.iter().any(|(k, _)| matches!(k, Kind::Service | Kind::ReplicationController | Kind::ReplicaSet | Kind::StatefulSet)) {
            self.selector_inputs_generation += 1;
        }
        // An assumption ends when the API has a newer version of the object.
        for (kind, ev) in &out {
            let meta = ev.object.meta();
            let name = meta.name.clone().unwrap_or_default();
            match kind {
                Kind::Volume if self.assumed_volumes.get(&name).is_some_and(|(rv, _)| *rv != meta.resource_version) => {
                    self.assumed_volumes.remove(&name);
                }
                Kind::Claim => {
                    let key = ObjectKey::new(meta.namespace.clone().unwrap_or_default(), name);
                    if self.assumed_claims.get(&key).is_some_and(|(rv, _)| *rv != meta.resource_version) {
                        self.assumed_claims.remove(&key);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Reserve: the volume as the scheduler will write it.
    pub fn assume_volume(&mut self, pv: PersistentVolume) {
        let base = self.volume(pv.metadata.name.as_deref().unwrap_or("")).and_then(|v| v.metadata.resource_version.clone());
        self.assumed_volumes.insert(pv.metadata.name.clone().unwrap_or_default(), (base, pv));
    }

    /// Reserve: the claim as the scheduler will write it.
    pub fn assume_claim(&mut self, pvc: PersistentVolumeClaim) {
        let key = ObjectKey::new(pvc.metadata.namespace.clone().unwrap_or_default(), pvc.metadata.name.clone().unwrap_or_default());
        let base = self.claim(&key.namespace, &key.name).and_then(|c| c.metadata.resource_version.clone());
        self.assumed_claims.insert(key, (base, pvc));
    }

    /// Unreserve: the assumptions about these objects are dropped.
    pub fn forget_volume(&mut self, name: &str) {
        self.assumed_volumes.remove(name);
    }

    pub fn forget_claim(&mut self, key: &ObjectKey) {
        self.assumed_claims.remove(key);
    }

    /// After a successful API write: the assumption now stands for the
    /// version the API returned.
    pub fn confirm_volume(&mut self, pv: PersistentVolume) {
        if let Some(name) = pv.metadata.name.clone() {
            self.assumed_volumes.insert(name, (pv.metadata.resource_version.clone(), pv));
        }
    }

    pub fn confirm_claim(&mut self, pvc: PersistentVolumeClaim) {
        let key = ObjectKey::new(pvc.metadata.namespace.clone().unwrap_or_default(), pvc.metadata.name.clone().unwrap_or_default());
        self.assumed_claims.insert(key, (pvc.metadata.resource_version.clone(), pvc));
    }

    /// The API's own version of a volume or claim, ignoring assumptions.
    pub fn api_volume(&self, name: &str) -> Option<&PersistentVolume> {
        match &**self.get(Kind::Volume, "", name)? {
            Object::PersistentVolume(v) => Some(v),
            _ => None,
        }
    }

    pub fn api_claim(&self, namespace: &str, name: &str) -> Option<&PersistentVolumeClaim> {
        match &**self.get(Kind::Claim, namespace, name)? {
            Object::PersistentVolumeClaim(c) => Some(c),
            _ => None,
        }
    }

    /// Changes whenever a Service or pod controller changes.
    pub fn selector_inputs_generation(&self) -> u64 {
        self.selector_inputs_generation
    }

    pub fn has_synced(&self) -> bool {
        self.informers.iter().all(|(_, i)| i.has_synced())
    }

    fn informer(&self, kind: Kind) -> Option<&Informer> {
        self.informers.iter().find(|(k, _)| *k == kind).map(|(_, i)| i)
    }

    fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Rc<Object>> {
        self.informer(kind)?.get(&ObjectKey::new(namespace, name))
    }

    fn in_namespace<'a>(&'a self, kind: Kind, namespace: &'a str) -> impl Iterator<Item = &'a Rc<Object>> + 'a {
        self.informer(kind).into_iter().flat_map(move |i| i.in_namespace(namespace))
    }

    fn all(&self, kind: Kind) -> impl Iterator<Item = &Rc<Object>> {
        self.informer(kind).into_iter().flat_map(|i| i.items())
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        match &**self.get(Kind::Namespace, "", name)? {
            Object::Namespace(n) => Some(n),
            _ => None,
        }
    }

    /// A namespace's labels (empty when it is unknown).
    pub fn namespace_labels(&self, name: &str) -> &BTreeMap<String, String> {
        self.namespace(name).and_then(|n| n.metadata.labels.as_ref()).unwrap_or(super::framework::no_labels())
    }

    /// Every namespace with its labels, by name.
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, String>)> {
        self.all(Kind::Namespace).filter_map(|o| match &**o {
            Object::Namespace(n) => Some((n.metadata.name.as_deref().unwrap_or(""), n.metadata.labels.as_ref().unwrap_or(super::framework::no_labels()))),
            _ => None,
        })
    }

    pub fn services<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.in_namespace(Kind::Service, namespace).filter_map(|o| match &**o {
            Object::Service(s) => Some(&**s),
            _ => None,
        })
    }

    /// A controller object by kind, namespace and name (ReplicationController,
    /// ReplicaSet or StatefulSet).
    pub fn controller(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Rc<Object>> {
        self.get(kind, namespace, name)
    }

    /// A claim as the scheduler sees it (its own assumption first).
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&PersistentVolumeClaim> {
        if let Some((_, c)) = self.assumed_claims.get(&ObjectKey::new(namespace, name)) {
            return Some(c);
        }
        self.api_claim(namespace, name)
    }

    /// A volume as the scheduler sees it (its own assumption first).
    pub fn volume(&self, name: &str) -> Option<&PersistentVolume> {
        if let Some((_, v)) = self.assumed_volumes.get(name) {
            return Some(v);
        }
        self.api_volume(name)
    }

    /// Every volume as the scheduler sees it, by name.
    pub fn volumes(&self) -> impl Iterator<Item = &PersistentVolume> {
        self.all(Kind::Volume).filter_map(move |o| match &**o {
            Object::PersistentVolume(v) => Some(self.assumed_volumes.get(v.metadata.name.as_deref().unwrap_or("")).map(|(_, a)| a).unwrap_or(v)),
            _ => None,
        })
    }

    pub fn storage_capacities(&self) -> impl Iterator<Item = &CSIStorageCapacity> {
        self.all(Kind::StorageCapacity).filter_map(|o| match &**o {
            Object::CSIStorageCapacity(c) => Some(&**c),
            _ => None,
        })
    }

    pub fn storage_class(&self, name: &str) -> Option<&StorageClass> {
        match &**self.get(Kind::StorageClass, "", name)? {
            Object::StorageClass(c) => Some(c),
            _ => None,
        }
    }

    pub fn csi_node(&self, name: &str) -> Option<&CSINode> {
        match &**self.get(Kind::CsiNode, "", name)? {
            Object::CSINode(c) => Some(c),
            _ => None,
        }
    }

    /// Whether a CSIDriver object asks for storage capacity tracking.
    pub fn csi_driver_tracks_capacity(&self, name: &str) -> bool {
        matches!(self.get(Kind::CsiDriver, "", name).map(|o| &**o), Some(Object::CSIDriver(d)) if d.spec.storage_capacity == Some(true))
    }

    pub fn disruption_budgets(&self) -> impl Iterator<Item = &PodDisruptionBudget> {
        self.all(Kind::DisruptionBudget).filter_map(|o| match &**o {
            Object::PodDisruptionBudget(p) => Some(&**p),
            _ => None,
        })
    }

    /// Listers holding these objects, each in its kind's informer (tests).
    #[cfg(test)]
    pub fn with_objects(objects: Vec<Rc<Object>>) -> Self {
        let mut l = Listers::default();
        for o in objects {
            let kind = match &*o {
                Object::Namespace(_) => Kind::Namespace,
                Object::Service(_) => Kind::Service,
                Object::ReplicationController(_) => Kind::ReplicationController,
                Object::ReplicaSet(_) => Kind::ReplicaSet,
                Object::StatefulSet(_) => Kind::StatefulSet,
                Object::PersistentVolumeClaim(_) => Kind::Claim,
                Object::PersistentVolume(_) => Kind::Volume,
                Object::StorageClass(_) => Kind::StorageClass,
                Object::CSINode(_) => Kind::CsiNode,
                Object::CSIDriver(_) => Kind::CsiDriver,
                Object::CSIStorageCapacity(_) => Kind::StorageCapacity,
                Object::PodDisruptionBudget(_) => Kind::DisruptionBudget,
                _ => continue,
            };
            if let Some((_, i)) = l.informers.iter_mut().find(|(k, _)| *k == kind) {
                i.seed([o]);
            }
        }
        l
    }
}
