//! The stored Pod: k8s-openapi's `PodSpec` and `PodStatus` behind `Rc`s, so
//! the versions a write makes share what the write does not change.
//!
//! A pod is written three or four times after its binding (the kubelet's
//! status writes) and patched by controllers (owners, labels, finalizers);
//! with a plain k8s-openapi `Pod` each write deep-copied the ~10 KB spec it
//! left alone, and the replaced version stayed in the caches until they
//! drained, so every pod was two whole copies at the start phase's peak.
//! Here a status write copies the metadata and makes a status, and the
//! spec is one `Rc` shared by every version until something changes it
//! (`Rc::make_mut`, through [`Pod::spec_mut`]).
//!
//! It serialises exactly as k8s-openapi's `Pod` does (same keys, same
//! order) and deserialises through it, so decoding keeps its field paths
//! and strictness.

use std::rc::Rc;

use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The k8s-openapi type the stored Pod decodes through and converts from.
pub type OpenApiPod = k8s_openapi::api::core::v1::Pod;

/// A Pod whose spec and status are shared between versions.
#[derive(Clone, Debug, Default)]
pub struct Pod {
    pub metadata: ObjectMeta,
    pub spec: Option<Rc<PodSpec>>,
    pub status: Option<Rc<PodStatus>>,
}

/// Whether two shared parts are equal, by address first: versions that
/// share a spec (or status) need not compare its ~10 KB field by field.
pub fn shared_or_equal<T: PartialEq>(a: &Option<Rc<T>>, b: &Option<Rc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b) || **a == **b,
        (None, None) => true,
        _ => false,
    }
}

impl PartialEq for Pod {
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata && shared_or_equal(&self.spec, &other.spec) && shared_or_equal(&self.status, &other.status)
    }
}

impl Pod {
    /// The spec to change, made if there was none; shared specs are copied
    /// first (`Rc::make_mut`).
    pub fn spec_mut(&mut self) -> &mut PodSpec {
        Rc::make_mut(self.spec.get_or_insert_with(Default::default))
    }

    /// The status to change, made if there was none; a shared status is
    /// copied first.
    pub fn status_mut(&mut self) -> &mut PodStatus {
        Rc::make_mut(self.status.get_or_insert_with(Default::default))
    }

    /// The spec, if there is one, to change in place (copied first if shared).
    pub fn spec_mut_if_any(&mut self) -> Option<&mut PodSpec> {
        self.spec.as_mut().map(Rc::make_mut)
    }

    /// The status, if there is one, to change in place (copied first if shared).
    pub fn status_mut_if_any(&mut self) -> Option<&mut PodStatus> {
        self.status.as_mut().map(Rc::make_mut)
    }

    /// Whether this version holds the very spec `stored` holds (not a copy):
    /// a write that keeps it (a status write, a metadata patch, a
    /// deletion) changed nothing in it.
    pub fn keeps_spec_of(&self, stored: &Pod) -> bool {
        matches!((&self.spec, &stored.spec), (Some(a), Some(b)) if Rc::ptr_eq(a, b))
    }

    /// The k8s-openapi form, for code that hands a pod to a k8s-openapi type
    /// (copies the spec and status unless this version holds the only reference).
    pub fn into_openapi(self) -> OpenApiPod {
        OpenApiPod {
            metadata: self.metadata,
            spec: self.spec.map(Rc::unwrap_or_clone),
            status: self.status.map(Rc::unwrap_or_clone),
        }
    }
}

impl From<OpenApiPod> for Pod {
    fn from(pod: OpenApiPod) -> Self {
        Pod { metadata: pod.metadata, spec: pod.spec.map(Rc::new), status: pod.status.map(Rc::new) }
    }
}

impl k8s_openapi::Resource for Pod {
    const API_VERSION: &'static str = <OpenApiPod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <OpenApiPod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <OpenApiPod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <OpenApiPod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <OpenApiPod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <OpenApiPod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::ListableResource for Pod {
    const LIST_KIND: &'static str = <OpenApiPod as k8s_openapi::ListableResource>::LIST_KIND;
}

impl k8s_openapi::Metadata for Pod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<'de> Deserialize<'de> for Pod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        OpenApiPod::deserialize(deserializer).map(Pod::from)
    }
}

impl Serialize for Pod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // As k8s-openapi's `Pod`: the same keys in the same order.
        use k8s_openapi::Resource as _;
        let mut state = serializer.serialize_struct(Self::KIND, 3 + usize::from(self.spec.is_some()) + usize::from(self.status.is_some()))?;
        state.serialize_field("apiVersion", Self::API_VERSION)?;
        state.serialize_field("kind", Self::KIND)?;
        state.serialize_field("metadata", &self.metadata)?;
        if let Some(spec) = &self.spec {
            state.serialize_field("spec", &**spec)?;
        }
        if let Some(status) = &self.status {
            state.serialize_field("status", &**status)?;
        }
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}
        })
    }

    #[test]
    fn serialises_as_the_openapi_pod_does() {
        let value = sample();
        let openapi: OpenApiPod = serde_json::from_value(value.clone()).unwrap();
        let ours: Pod = serde_json::from_value(value).unwrap();
        assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&openapi).unwrap());
        assert_eq!(serde_yaml::to_string(&ours).unwrap(), serde_yaml::to_string(&openapi).unwrap());
        let bare = Pod { metadata: ObjectMeta { name: Some("a".into()), ..Default::default() }, ..Default::default() };
        let bare_openapi = OpenApiPod { metadata: bare.metadata.clone(), ..Default::default() };
        assert_eq!(serde_json::to_string(&bare).unwrap(), serde_json::to_string(&bare_openapi).unwrap());
        assert_eq!(ours.clone().into_openapi(), openapi);
    }

    #[test]
    fn decoding_keeps_the_field_path_of_a_bad_value() {
        let mut value = sample();
        value["spec"]["containers"][0]["ports"] = serde_json::json!([{"containerPort": "80"}]);
        let err = crate::engine::api::from_value::from_value::<Pod>(&value).unwrap_err();
        assert_eq!(err.fields(), ["spec", "containers", "ports", "containerPort"]);
        let wrong_kind = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {}});
        assert!(serde_json::from_value::<Pod>(wrong_kind).is_err());
    }

    #[test]
    fn versions_share_what_a_write_does_not_change() {
        let stored: Pod = serde_json::from_value(sample()).unwrap();
        let mut next = stored.clone();
        next.status_mut().phase = Some("Succeeded".into());
        assert!(Rc::ptr_eq(stored.spec.as_ref().unwrap(), next.spec.as_ref().unwrap()), "the spec is shared");
        assert_eq!(stored.status.as_ref().unwrap().phase.as_deref(), Some("Running"), "the stored status is untouched");
        assert_ne!(stored, next);
        next.status = stored.status.clone();
        assert_eq!(stored, next);
        next.spec_mut().node_name = Some("n2".into());
        assert_eq!(stored.spec.as_ref().unwrap().node_name.as_deref(), Some("n1"));
        assert_ne!(stored, next);
    }
}
