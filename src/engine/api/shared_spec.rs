//! Workloads whose versions share their spec: a ReplicaSet, Deployment,
//! DaemonSet, StatefulSet or Job status write (one or more for every pod
//! that starts or ends) makes a new version with the stored spec and its
//! pod template, and the change log and every cache hold versions side by
//! side. As k8s-openapi's types they each owned a copy of the template;
//! here the spec is behind an `Rc`, so a status write copies the metadata
//! and the status only, and comparing two versions' specs is a pointer
//! comparison when they share one.
//!
//! Each type serialises as k8s-openapi's (the same keys in the same
//! order) and decodes through it.

use std::rc::Rc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::pod::{serialize_object, shared_or_equal};

macro_rules! shared_spec_kind {
    ($(#[$doc:meta])* $name:ident, $openapi:path, $spec:ty, $status:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default)]
        pub struct $name {
            pub metadata: ObjectMeta,
            pub spec: Option<Rc<$spec>>,
            pub status: Option<$status>,
        }

        impl $name {
            /// The spec to change, made if there was none; a shared spec is copied first.
            pub fn spec_mut(&mut self) -> &mut $spec {
                Rc::make_mut(self.spec.get_or_insert_with(Default::default))
            }

            /// The metadata and the spec (made if absent, copied first if
            /// shared), to change both at once.
            pub fn metadata_and_spec_mut(&mut self) -> (&mut ObjectMeta, &mut $spec) {
                (&mut self.metadata, Rc::make_mut(self.spec.get_or_insert_with(Default::default)))
            }

            /// The spec, if there is one, to change in place (copied first if shared).
            pub fn spec_mut_if_any(&mut self) -> Option<&mut $spec> {
                self.spec.as_mut().map(Rc::make_mut)
            }

            /// The k8s-openapi form (copies the spec unless this version holds the only reference).
            pub fn into_openapi(self) -> $openapi {
                <$openapi>::from(self)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.metadata == other.metadata && shared_or_equal(&self.spec, &other.spec) && self.status == other.status
            }
        }

        impl From<$openapi> for $name {
            fn from(object: $openapi) -> Self {
                $name { metadata: object.metadata, spec: object.spec.map(Rc::new), status: object.status }
            }
        }

        impl From<$name> for $openapi {
            fn from(object: $name) -> Self {
                $openapi { metadata: object.metadata, spec: object.spec.map(Rc::unwrap_or_clone), status: object.status }
            }
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = <$openapi as k8s_openapi::Resource>::API_VERSION;
            const GROUP: &'static str = <$openapi as k8s_openapi::Resource>::GROUP;
            const KIND: &'static str = <$openapi as k8s_openapi::Resource>::KIND;
            const VERSION: &'static str = <$openapi as k8s_openapi::Resource>::VERSION;
            const URL_PATH_SEGMENT: &'static str = <$openapi as k8s_openapi::Resource>::URL_PATH_SEGMENT;
            type Scope = <$openapi as k8s_openapi::Resource>::Scope;
        }

        impl k8s_openapi::ListableResource for $name {
            const LIST_KIND: &'static str = <$openapi as k8s_openapi::ListableResource>::LIST_KIND;
        }

        impl k8s_openapi::Metadata for $name {
            type Ty = ObjectMeta;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$openapi>::deserialize(deserializer).map($name::from)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_object::<Self, _, _, _>(serializer, &self.metadata, self.spec.as_deref(), self.status.as_ref())
            }
        }
    };
}

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;

shared_spec_kind!(
    /// A ReplicaSet whose spec (with its pod template) is shared between versions.
    ReplicaSet, apps::ReplicaSet, apps::ReplicaSetSpec, apps::ReplicaSetStatus
);
shared_spec_kind!(
    /// A Deployment whose spec (with its pod template) is shared between versions.
    Deployment, apps::Deployment, apps::DeploymentSpec, apps::DeploymentStatus
);

shared_spec_kind!(
    /// A DaemonSet whose spec (with its pod template) is shared between versions.
    DaemonSet, apps::DaemonSet, apps::DaemonSetSpec, apps::DaemonSetStatus
);
shared_spec_kind!(
    /// A StatefulSet whose spec (with its pod and claim templates) is shared between versions.
    StatefulSet, apps::StatefulSet, apps::StatefulSetSpec, apps::StatefulSetStatus
);
shared_spec_kind!(
    /// A Job whose spec (with its pod template) is shared between versions.
    Job, batch::Job, batch::JobSpec, batch::JobStatus
);

#[cfg(test)]
mod tests {
    use super::*;

    fn replica_set() -> apps::ReplicaSet {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1}
        }))
        .unwrap()
    }

    #[test]
    fn serialises_as_the_openapi_type() {
        let openapi = replica_set();
        let shared = ReplicaSet::from(openapi.clone());
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            serde_json::to_string(&openapi).unwrap()
        );
        let back: ReplicaSet =
            serde_json::from_value(serde_json::to_value(&openapi).unwrap()).unwrap();
        assert_eq!(back, shared);
        assert_eq!(back.into_openapi(), openapi);
    }

    #[test]
    fn every_kind_serialises_as_its_openapi_type() {
        let job: batch::Job = serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
            "spec": {"completions": 3, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}},
            "status": {"succeeded": 1}
        }))
        .unwrap();
        assert_eq!(serde_json::to_string(&Job::from(job.clone())).unwrap(), serde_json::to_string(&job).unwrap());
        let set: apps::StatefulSet = serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}
        }))
        .unwrap();
        assert_eq!(serde_json::to_string(&StatefulSet::from(set.clone())).unwrap(), serde_json::to_string(&set).unwrap());
        let daemons: apps::DaemonSet = serde_json::from_value(serde_json::json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "logs"}})).unwrap();
        assert_eq!(DaemonSet::from(daemons.clone()).into_openapi(), daemons);
    }

    #[test]
    fn a_copy_shares_the_spec_until_changed() {
        let first = ReplicaSet::from(replica_set());
        let mut second = first.clone();
        assert!(Rc::ptr_eq(
            first.spec.as_ref().unwrap(),
            second.spec.as_ref().unwrap()
        ));
        second
            .status
            .get_or_insert_with(Default::default)
            .ready_replicas = Some(2);
        assert!(Rc::ptr_eq(
            first.spec.as_ref().unwrap(),
            second.spec.as_ref().unwrap()
        ));
        assert_ne!(first, second);
        second.spec_mut().replicas = Some(3);
        assert_eq!(first.spec.as_ref().unwrap().replicas, Some(2));
        assert_eq!(second.spec.as_ref().unwrap().replicas, Some(3));
    }
}
