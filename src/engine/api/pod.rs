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
//! A pod's `spec.nodeName` is kept beside the shared spec, not in it: the
//! binding sets only that, so the bound version shares the pending
//! version's spec instead of copying it. The shared spec's own `node_name`
//! is always `None`; readers go through [`Pod::node_name`].
//!
//! The name of the ServiceAccount admission's token volume
//! (`kube-api-access-xxxxx`, its suffix drawn per pod) is kept beside the
//! spec too ([`Pod::token_volume`]): the shared spec holds
//! [`TOKEN_VOLUME_PLACEHOLDER`] in its place (in `volumes` and in every
//! container's `volumeMounts`), a name no valid spec can hold (a volume's
//! name is a DNS label, which cannot end with `-`), so the pods of one
//! template can share one spec. Readers of a volume or mount name that
//! show or use it go through [`Pod::volume_name`].
//!
//! A DaemonSet's pods are pinned each to its node by a required node
//! affinity (`matchFields` `metadata.name In [<node>]`, the DaemonSet
//! controller's `ReplaceDaemonSetPodNodeNameNodeAffinity`); that node is
//! kept beside the spec too ([`Pod::affinity_node`]), the shared spec
//! holding [`AFFINITY_NODE_PLACEHOLDER`] in its place, so the pods of one
//! DaemonSet (a volume alone is 3 KB in k8s-openapi's struct) share one
//! spec. Readers of a pod's node affinity go through
//! [`Pod::required_node_affinity`].
//!
//! It serialises exactly as k8s-openapi's `Pod` does (same keys, same
//! order, `nodeName` in its place inside `spec`, the token volume's name
//! and the affinity's node in their places) and deserialises through it,
//! so decoding keeps its field paths and strictness.

use std::borrow::Cow;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Affinity, Container, NodeSelector, NodeSelectorRequirement, PodSpec, PodStatus, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::ser::{Impossible, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::stored_status::StoredStatus;

/// The k8s-openapi type the stored Pod decodes through and converts from.
pub type OpenApiPod = k8s_openapi::api::core::v1::Pod;

/// A Pod whose spec and status are shared between versions.
#[derive(Clone, Debug, Default)]
pub struct Pod {
    pub metadata: ObjectMeta,
    /// Without its `node_name`, which is [`Pod::node_name`].
    pub spec: Option<Rc<PodSpec>>,
    /// Packed when it has the usual shape ([`StoredStatus`]).
    pub status: Option<Rc<StoredStatus>>,
    /// `spec.nodeName`, kept out of the shared spec; set only with a spec.
    pub node_name: Option<String>,
    /// The token volume's name, which [`TOKEN_VOLUME_PLACEHOLDER`] stands
    /// for in the spec; `None` when the spec holds every name itself.
    pub token_volume: Option<String>,
    /// The node a DaemonSet's pin names, which [`AFFINITY_NODE_PLACEHOLDER`]
    /// stands for in the spec; `None` when the spec holds it itself.
    pub affinity_node: Option<String>,
}

/// What a shared spec holds in place of its pod's [`Pod::affinity_node`]:
/// an empty name, which no node has.
pub const AFFINITY_NODE_PLACEHOLDER: &str = "";

/// A spec's required node affinity.
fn required_selector(spec: &PodSpec) -> Option<&NodeSelector> {
    spec.affinity.as_ref()?.node_affinity.as_ref()?.required_during_scheduling_ignored_during_execution.as_ref()
}

/// The requirement a DaemonSet pins its pod with, when the required node
/// affinity is that pin alone: one term of one `matchFields` requirement,
/// `metadata.name In [<one value>]`, and no expressions.
fn pin_of(required: &NodeSelector) -> Option<&NodeSelectorRequirement> {
    let [term] = required.node_selector_terms.as_slice() else { return None };
    if term.match_expressions.as_ref().is_some_and(|e| !e.is_empty()) {
        return None;
    }
    let [requirement] = term.match_fields.as_deref()? else { return None };
    let pinned = requirement.key == "metadata.name" && requirement.operator == "In" && requirement.values.as_ref().is_some_and(|v| v.len() == 1);
    pinned.then_some(requirement)
}

/// The spec's pin ([`pin_of`]), if it has one.
fn node_pin(spec: &PodSpec) -> Option<&NodeSelectorRequirement> {
    pin_of(required_selector(spec)?)
}

/// Puts `node` back in the place of [`AFFINITY_NODE_PLACEHOLDER`] in the
/// selector's pin.
fn show_node_in(required: &mut NodeSelector, node: &str) {
    if let Some(value) = pin_value_mut(required).filter(|v| *v == AFFINITY_NODE_PLACEHOLDER) {
        *value = node.to_string();
    }
}

/// [`pin_of`]'s one value, to change.
fn pin_value_mut(required: &mut NodeSelector) -> Option<&mut String> {
    pin_of(required)?;
    required.node_selector_terms.first_mut()?.match_fields.as_mut()?.first_mut()?.values.as_mut()?.first_mut()
}

/// An affinity's required node affinity, to change.
fn required_in(affinity: &mut Affinity) -> Option<&mut NodeSelector> {
    affinity.node_affinity.as_mut()?.required_during_scheduling_ignored_during_execution.as_mut()
}

/// [`show_node_in`] the spec's required node affinity.
fn show_affinity_node_in(spec: &mut PodSpec, node: &str) {
    if let Some(required) = spec.affinity.as_mut().and_then(required_in) {
        show_node_in(required, node);
    }
}

/// The spec's affinity with `node` in its pin's place.
fn shown_affinity(spec: &PodSpec, node: &str) -> Option<Affinity> {
    let mut shown = spec.affinity.clone()?;
    if let Some(required) = required_in(&mut shown) {
        show_node_in(required, node);
    }
    Some(shown)
}

/// What a shared spec holds in place of its pod's token volume name: the
/// ServiceAccount admission's prefix without a suffix, which is not a DNS
/// label, so no volume a spec brings (validated) can be named so.
pub const TOKEN_VOLUME_PLACEHOLDER: &str = "kube-api-access-";

/// The name a volume or mount named `name` in a spec shows, `token` being
/// its pod's [`Pod::token_volume`].
pub fn shown_volume_name<'a>(name: &'a str, token: Option<&'a str>) -> &'a str {
    match token {
        Some(token) if name == TOKEN_VOLUME_PLACEHOLDER => token,
        _ => name,
    }
}

/// Puts `token` back in the places of [`TOKEN_VOLUME_PLACEHOLDER`] in
/// `spec` (volumes, and containers' and init containers' mounts).
fn show_token_volume_in(spec: &mut PodSpec, token: &str) {
    for volume in spec.volumes.iter_mut().flatten() {
        if volume.name == TOKEN_VOLUME_PLACEHOLDER {
            volume.name = token.to_string();
        }
    }
    for container in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
        show_token_volume_in_container(container, token);
    }
}

fn show_token_volume_in_container(container: &mut Container, token: &str) {
    for mount in container.volume_mounts.iter_mut().flatten() {
        if mount.name == TOKEN_VOLUME_PLACEHOLDER {
            mount.name = token.to_string();
        }
    }
}

fn holds_token_placeholder(container: &Container) -> bool {
    container.volume_mounts.iter().flatten().any(|m| m.name == TOKEN_VOLUME_PLACEHOLDER)
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
        self.metadata == other.metadata && self.same_spec(other) && shared_or_equal(&self.status, &other.status)
    }
}

impl Pod {
    /// The name a volume or mount named `name` in this pod's spec has:
    /// the token volume's for [`TOKEN_VOLUME_PLACEHOLDER`].
    pub fn volume_name<'a>(&'a self, name: &'a str) -> &'a str {
        shown_volume_name(name, self.token_volume.as_deref())
    }

    /// Moves the ServiceAccount admission's token volume name (the first
    /// volume named `kube-api-access-…`, if projected) out of the spec into
    /// [`Pod::token_volume`], leaving [`TOKEN_VOLUME_PLACEHOLDER`] in its
    /// places, so pods that differ only in it can share a spec. A spec
    /// where the name is used where the placeholder could not stand for it
    /// (a block device, an ephemeral container) or that already holds the
    /// placeholder keeps its names. Copies the spec if it is shared.
    pub fn take_token_volume_from_spec(&mut self) {
        if self.token_volume.is_some() {
            return;
        }
        let Some(spec) = self.spec.as_deref() else { return };
        let Some(volume) = spec.volumes.iter().flatten().find(|v| v.name.len() > TOKEN_VOLUME_PLACEHOLDER.len() && v.name.starts_with(TOKEN_VOLUME_PLACEHOLDER)) else {
            return;
        };
        // Only a projected volume, as admission makes it: other sources'
        // names are read elsewhere (an ephemeral volume's claim is named
        // after it).
        if volume.projected.is_none() || volume.ephemeral.is_some() || volume.persistent_volume_claim.is_some() {
            return;
        }
        let token = volume.name.as_str();
        let containers = || spec.init_containers.iter().flatten().chain(spec.containers.iter());
        let hideable = spec.ephemeral_containers.as_ref().is_none_or(Vec::is_empty)
            && !spec.volumes.iter().flatten().any(|v| v.name == TOKEN_VOLUME_PLACEHOLDER)
            && !containers().any(|c| holds_token_placeholder(c) || c.volume_devices.iter().flatten().any(|d| d.name == token || d.name == TOKEN_VOLUME_PLACEHOLDER));
        if !hideable {
            return;
        }
        let token = token.to_string();
        let spec = self.spec_mut();
        // The placeholder is the name's prefix: each name is cut short in place.
        for volume in spec.volumes.iter_mut().flatten().filter(|v| v.name == token) {
            volume.name.truncate(TOKEN_VOLUME_PLACEHOLDER.len());
        }
        for container in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
            for mount in container.volume_mounts.iter_mut().flatten().filter(|m| m.name == token) {
                mount.name.truncate(TOKEN_VOLUME_PLACEHOLDER.len());
            }
        }
        self.token_volume = Some(token);
    }

    /// Moves the node of a DaemonSet's pin (see [`node_pin`]) out of the
    /// spec into [`Pod::affinity_node`], leaving [`AFFINITY_NODE_PLACEHOLDER`]
    /// in its place. A spec whose pin already holds the placeholder keeps it.
    /// Copies the spec if it is shared.
    pub fn take_affinity_node_from_spec(&mut self) {
        if self.affinity_node.is_some() {
            return;
        }
        let Some(spec) = self.spec.as_deref() else { return };
        let Some(node) = node_pin(spec).and_then(|r| r.values.as_ref()?.first()) else { return };
        if node == AFFINITY_NODE_PLACEHOLDER {
            return;
        }
        let spec = self.spec_mut();
        if let Some(value) = spec.affinity.as_mut().and_then(required_in).and_then(pin_value_mut) {
            self.affinity_node = Some(std::mem::take(value));
        }
    }

    /// The required node affinity as the pod has it, the pin's node in its
    /// place (a copy only for a pod whose node is kept beside the spec).
    pub fn required_node_affinity(&self) -> Option<Cow<'_, NodeSelector>> {
        let required = required_selector(self.spec.as_deref()?)?;
        match &self.affinity_node {
            None => Some(Cow::Borrowed(required)),
            Some(node) => {
                let mut shown = required.clone();
                show_node_in(&mut shown, node);
                Some(Cow::Owned(shown))
            }
        }
    }

    /// The node a DaemonSet's pin names, when it is kept beside the spec.
    pub fn affinity_node(&self) -> Option<&str> {
        self.affinity_node.as_deref()
    }

    /// `spec.nodeName`, as stored (an empty name is kept as it was written).
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    /// The node the pod is bound to: `spec.nodeName` unless empty.
    pub fn bound_node(&self) -> Option<&str> {
        self.node_name().filter(|n| !n.is_empty())
    }

    /// Sets `spec.nodeName` without copying the shared spec (a spec is made
    /// if there was none, as setting the field in it would).
    pub fn set_node_name(&mut self, node: Option<String>) {
        if node.is_some() {
            self.spec.get_or_insert_with(Default::default);
        }
        self.node_name = node;
    }

    /// Whether the two specs, `nodeName` included, are equal (by address
    /// first).
    pub fn same_spec(&self, other: &Pod) -> bool {
        if self.node_name != other.node_name {
            return false;
        }
        if self.token_volume == other.token_volume && self.affinity_node == other.affinity_node {
            return shared_or_equal(&self.spec, &other.spec);
        }
        // One keeps the token volume's name or the pin's node beside its
        // spec and the other not (or another): compared whole.
        self.full_spec() == other.full_spec()
    }

    /// The whole spec as k8s-openapi has it, `nodeName` and the token
    /// volume's name included (a copy).
    pub fn full_spec(&self) -> Option<PodSpec> {
        self.spec.as_deref().map(|spec| {
            let mut full = PodSpec { node_name: self.node_name.clone(), ..spec.clone() };
            if let Some(token) = &self.token_volume {
                show_token_volume_in(&mut full, token);
            }
            if let Some(node) = &self.affinity_node {
                show_affinity_node_in(&mut full, node);
            }
            full
        })
    }

    /// Moves a `nodeName` set inside the spec (by code that built or
    /// changed the spec as k8s-openapi's) out to [`Pod::node_name`]. A
    /// spec without one is left as it is, shared.
    pub fn take_node_name_from_spec(&mut self) {
        if self.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
            self.node_name = self.spec_mut().node_name.take();
        }
    }

    /// Whether the spec holds no `nodeName` of its own, as a stored pod's
    /// must (for debug checks).
    pub fn node_name_kept_outside(&self) -> bool {
        self.spec.as_ref().is_none_or(|s| s.node_name.is_none())
    }

    /// The spec to change, made if there was none; shared specs are copied
    /// first (`Rc::make_mut`).
    pub fn spec_mut(&mut self) -> &mut PodSpec {
        Rc::make_mut(self.spec.get_or_insert_with(Default::default))
    }

    /// The status to change, made if there was none; a shared status is
    /// copied first.
    pub fn status_mut(&mut self) -> &mut PodStatus {
        Rc::make_mut(self.status.get_or_insert_with(Default::default)).whole_mut()
    }

    /// The spec, if there is one, to change in place (copied first if shared).
    pub fn spec_mut_if_any(&mut self) -> Option<&mut PodSpec> {
        self.spec.as_mut().map(Rc::make_mut)
    }

    /// The whole status (empty if none), made for the caller when it is
    /// packed and not kept: for readers that walk every pod once (tables)
    /// or seldom.
    pub fn status_for_call(&self) -> Cow<'_, PodStatus> {
        self.status.as_ref().map(|s| s.to_whole()).unwrap_or_default()
    }

    /// The status, if there is one, to change in place (copied first if shared).
    pub fn status_mut_if_any(&mut self) -> Option<&mut PodStatus> {
        self.status.as_mut().map(|status| Rc::make_mut(status).whole_mut())
    }

    /// Whether this version holds the very spec `stored` holds (not a copy):
    /// a write that keeps it (a status write, a metadata patch, a
    /// deletion) changed nothing in it.
    pub fn keeps_spec_of(&self, stored: &Pod) -> bool {
        matches!((&self.spec, &stored.spec), (Some(a), Some(b)) if Rc::ptr_eq(a, b))
            && self.node_name == stored.node_name
            && self.token_volume == stored.token_volume
            && self.affinity_node == stored.affinity_node
    }

    /// The k8s-openapi form, for code that hands a pod to a k8s-openapi type
    /// (copies the spec and status unless this version holds the only reference).
    pub fn into_openapi(self) -> OpenApiPod {
        let node_name = self.node_name;
        let token = self.token_volume;
        let affinity_node = self.affinity_node;
        OpenApiPod {
            metadata: self.metadata,
            spec: self.spec.map(|spec| {
                let mut spec = PodSpec { node_name, ..Rc::unwrap_or_clone(spec) };
                if let Some(token) = &token {
                    show_token_volume_in(&mut spec, token);
                }
                if let Some(node) = &affinity_node {
                    show_affinity_node_in(&mut spec, node);
                }
                spec
            }),
            status: self.status.map(|status| Rc::unwrap_or_clone(status).into_whole()),
        }
    }
}

impl From<OpenApiPod> for Pod {
    fn from(pod: OpenApiPod) -> Self {
        let mut spec = pod.spec;
        let node_name = spec.as_mut().and_then(|s| s.node_name.take());
        Pod { metadata: pod.metadata, spec: spec.map(Rc::new), status: pod.status.map(|status| Rc::new(StoredStatus::new(status))), node_name, token_volume: None, affinity_node: None }
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
        let spec = self.spec.as_deref().map(|spec| {
            debug_assert!(spec.node_name.is_none(), "a stored pod's spec keeps no nodeName of its own");
            SpecWithNodeName { spec, node_name: self.node_name.as_deref(), token: self.token_volume.as_deref(), affinity_node: self.affinity_node.as_deref() }
        });
        serialize_object::<Self, _, _, _>(serializer, &self.metadata, spec.as_ref(), self.status.as_deref())
    }
}

/// An object as k8s-openapi writes its kind: `apiVersion`, `kind`,
/// `metadata`, then `spec` and `status` when set, in that order. For the
/// engine's own types of a kind (this `Pod`, the shared-spec workloads).
pub fn serialize_object<K, S, Spec, Status>(serializer: S, metadata: &ObjectMeta, spec: Option<&Spec>, status: Option<&Status>) -> Result<S::Ok, S::Error>
where
    K: k8s_openapi::Resource,
    S: Serializer,
    Spec: Serialize + ?Sized,
    Status: Serialize + ?Sized,
{
    let mut state = serializer.serialize_struct(K::KIND, 3 + usize::from(spec.is_some()) + usize::from(status.is_some()))?;
    state.serialize_field("apiVersion", K::API_VERSION)?;
    state.serialize_field("kind", K::KIND)?;
    state.serialize_field("metadata", metadata)?;
    if let Some(spec) = spec {
        state.serialize_field("spec", spec)?;
    }
    if let Some(status) = status {
        state.serialize_field("status", status)?;
    }
    state.end()
}

/// A shared spec serialised with the pod's `nodeName` put back in its
/// place (k8s-openapi writes a spec's keys in byte order, so the name goes
/// before the first key that sorts after `nodeName`, or last), and its
/// token volume's name in the places of [`TOKEN_VOLUME_PLACEHOLDER`], the
/// pin's node in the place of [`AFFINITY_NODE_PLACEHOLDER`].
struct SpecWithNodeName<'a> {
    spec: &'a PodSpec,
    node_name: Option<&'a str>,
    token: Option<&'a str>,
    affinity_node: Option<&'a str>,
}

impl Serialize for SpecWithNodeName<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A spec that holds a name of its own (never a stored pod's) is
        // written as it is rather than with the key twice.
        let node_name = self.node_name.filter(|_| self.spec.node_name.is_none());
        if node_name.is_none() && self.token.is_none() && self.affinity_node.is_none() {
            return self.spec.serialize(serializer);
        }
        self.spec.serialize(WithNodeName { inner: serializer, node_name, spec: self.spec, token: self.token, affinity_node: self.affinity_node })
    }
}

const NODE_NAME_KEY: &str = "nodeName";

/// The serializer a spec is handed: passes its struct on, adding `nodeName`
/// and showing the token volume's name and the pin's node.
struct WithNodeName<'a, S> {
    inner: S,
    node_name: Option<&'a str>,
    spec: &'a PodSpec,
    token: Option<&'a str>,
    affinity_node: Option<&'a str>,
}

/// The spec's fields, passed on, with `nodeName` added in key order, the
/// volumes and containers written with the token volume's name and the
/// affinity with the pin's node.
struct FieldsWithNodeName<'a, S> {
    inner: S,
    node_name: Option<&'a str>,
    spec: &'a PodSpec,
    token: Option<&'a str>,
    affinity_node: Option<&'a str>,
}

/// A spec's volumes with the token volume's name in its place.
struct VolumesShown<'a> {
    volumes: &'a [Volume],
    token: &'a str,
}

impl Serialize for VolumesShown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.volumes.len()))?;
        for volume in self.volumes {
            if volume.name == TOKEN_VOLUME_PLACEHOLDER {
                seq.serialize_element(&Volume { name: self.token.to_string(), ..volume.clone() })?;
            } else {
                seq.serialize_element(volume)?;
            }
        }
        seq.end()
    }
}

/// A spec's containers with the token volume's name in their mounts.
struct ContainersShown<'a> {
    containers: &'a [Container],
    token: &'a str,
}

impl Serialize for ContainersShown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.containers.len()))?;
        for container in self.containers {
            if holds_token_placeholder(container) {
                let mut shown = container.clone();
                show_token_volume_in_container(&mut shown, self.token);
                seq.serialize_element(&shown)?;
            } else {
                seq.serialize_element(container)?;
            }
        }
        seq.end()
    }
}

impl<S: SerializeStruct> FieldsWithNodeName<'_, S> {
    fn put_node_name(&mut self) -> Result<(), S::Error> {
        match self.node_name.take() {
            Some(node_name) => self.inner.serialize_field(NODE_NAME_KEY, node_name),
            None => Ok(()),
        }
    }
}

impl<S: SerializeStruct> SerializeStruct for FieldsWithNodeName<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), S::Error> {
        if key > NODE_NAME_KEY {
            self.put_node_name()?;
        }
        if let (Some(node), "affinity") = (self.affinity_node, key) {
            if let Some(affinity) = shown_affinity(self.spec, node) {
                return self.inner.serialize_field(key, &affinity);
            }
        }
        if let Some(token) = self.token {
            let spec = self.spec;
            match key {
                "volumes" if spec.volumes.is_some() => {
                    let volumes = spec.volumes.as_deref().unwrap_or_default();
                    return self.inner.serialize_field(key, &VolumesShown { volumes, token });
                }
                "containers" => return self.inner.serialize_field(key, &ContainersShown { containers: &spec.containers, token }),
                "initContainers" if spec.init_containers.is_some() => {
                    let containers = spec.init_containers.as_deref().unwrap_or_default();
                    return self.inner.serialize_field(key, &ContainersShown { containers, token });
                }
                _ => {}
            }
        }
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)
    }

    fn end(mut self) -> Result<S::Ok, S::Error> {
        self.put_node_name()?;
        self.inner.end()
    }
}

/// Anything but a struct is not a spec: k8s-openapi's `PodSpec` always
/// serialises as one.
macro_rules! not_a_spec {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $ty),*) -> Result<$ret, S::Error> {
            Err(serde::ser::Error::custom("a pod spec serialises as a struct"))
        })*
    };
}

impl<'a, S: Serializer> Serializer for WithNodeName<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = FieldsWithNodeName<'a, S::SerializeStruct>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        let len = len + usize::from(self.node_name.is_some());
        Ok(FieldsWithNodeName { inner: self.inner.serialize_struct(name, len)?, node_name: self.node_name, spec: self.spec, token: self.token, affinity_node: self.affinity_node })
    }

    not_a_spec! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> S::Ok;
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a pod spec serialises as a struct"))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a pod spec serialises as a struct"))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a pod spec serialises as a struct"))
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

    fn pinned(values: serde_json::Value) -> Pod {
        let mut value = sample();
        value["spec"]["affinity"] = serde_json::json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": values}]}]}}});
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_daemon_pins_node_is_kept_beside_the_spec_and_shown_in_its_place() {
        let mut pod = pinned(serde_json::json!(["w1"]));
        let before = serde_json::to_string(&pod).unwrap();
        let openapi = pod.clone().into_openapi();
        pod.take_affinity_node_from_spec();
        assert_eq!(pod.affinity_node(), Some("w1"));
        assert!(node_pin(pod.spec.as_ref().unwrap()).is_some_and(|r| r.values.as_deref() == Some(&[AFFINITY_NODE_PLACEHOLDER.to_string()][..])));
        assert_eq!(serde_json::to_string(&pod).unwrap(), before);
        assert_eq!(serde_yaml::to_string(&pod).unwrap(), serde_yaml::to_string(&openapi).unwrap());
        assert_eq!(pod.clone().into_openapi(), openapi);
        assert_eq!(pod.full_spec(), openapi.spec);
        assert!(pod.same_spec(&Pod::from(openapi.clone())));
        let required = pod.required_node_affinity().unwrap();
        assert_eq!(required.node_selector_terms[0].match_fields.as_ref().unwrap()[0].values.as_deref(), Some(&["w1".to_string()][..]));
    }

    #[test]
    fn a_pin_that_is_not_a_daemons_keeps_its_values() {
        for values in [serde_json::json!([""]), serde_json::json!(["a", "b"]), serde_json::json!([])] {
            let mut pod = pinned(values);
            let before = pod.spec.clone();
            pod.take_affinity_node_from_spec();
            assert!(pod.affinity_node().is_none() && pod.spec == before);
        }
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
        next.set_node_name(Some("n2".into()));
        assert_eq!(stored.node_name(), Some("n1"));
        assert!(Rc::ptr_eq(stored.spec.as_ref().unwrap(), next.spec.as_ref().unwrap()), "a new node name leaves the spec shared");
        assert!(!next.keeps_spec_of(&stored) && !next.same_spec(&stored));
        assert_ne!(stored, next);
    }

    /// Every key a spec can have, each set, so `nodeName` has neighbours on
    /// both sides (and a spec whose keys all sort before it, so it goes last).
    #[test]
    fn node_name_serialises_in_its_place_in_the_spec() {
        let spec = serde_json::json!({
            "activeDeadlineSeconds": 5, "containers": [{"name": "c", "image": "nginx"}], "hostname": "h",
            "initContainers": [{"name": "i", "image": "busybox"}], "nodeSelector": {"a": "b"}, "os": {"name": "linux"},
            "priority": 1, "restartPolicy": "Always", "volumes": [{"name": "v", "emptyDir": {}}]
        });
        let only_before = serde_json::json!({"containers": [{"name": "c", "image": "nginx"}], "hostname": "h"});
        for spec in [spec, only_before, serde_json::json!({"containers": []})] {
            for node_name in [Some("n1"), Some(""), None] {
                let mut value = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec.clone()});
                if let Some(n) = node_name {
                    value["spec"]["nodeName"] = serde_json::json!(n);
                }
                let openapi: OpenApiPod = serde_json::from_value(value.clone()).unwrap();
                let ours: Pod = serde_json::from_value(value).unwrap();
                assert!(ours.node_name_kept_outside());
                assert_eq!(ours.node_name(), node_name);
                assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&openapi).unwrap());
                assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&openapi).unwrap());
                assert_eq!(serde_yaml::to_string(&ours).unwrap(), serde_yaml::to_string(&openapi).unwrap());
                assert_eq!(ours.full_spec(), openapi.spec.clone());
                assert_eq!(ours.into_openapi(), openapi);
            }
        }
    }

    #[test]
    fn a_node_name_set_inside_the_spec_is_moved_out() {
        let mut pod: Pod = serde_json::from_value(sample()).unwrap();
        pod.set_node_name(None);
        let pending = pod.clone();
        pod.spec_mut().node_name = Some("n3".into());
        assert!(!pod.node_name_kept_outside());
        pod.take_node_name_from_spec();
        assert!(pod.node_name_kept_outside());
        assert_eq!(pod.node_name(), Some("n3"));
        assert_eq!(pod.spec, pending.spec, "the same spec otherwise");
        let spec_before = pending.spec.clone();
        let mut unchanged = pending.clone();
        unchanged.take_node_name_from_spec();
        assert!(Rc::ptr_eq(spec_before.as_ref().unwrap(), unchanged.spec.as_ref().unwrap()), "a spec without one stays shared");
        let mut bare = Pod::default();
        bare.set_node_name(Some("n".into()));
        assert_eq!(serde_json::to_value(&bare).unwrap()["spec"], serde_json::json!({"containers": [], "nodeName": "n"}));
    }

    fn with_token(suffix: &str) -> serde_json::Value {
        let token = format!("kube-api-access-{suffix}");
        let mount = serde_json::json!({"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true});
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{suffix}")},
            "spec": {
                "containers": [
                    {"name": "c", "image": "nginx", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, mount.clone()]},
                    {"name": "d", "image": "busybox"}
                ],
                "initContainers": [{"name": "i", "image": "busybox", "volumeMounts": [mount]}],
                "nodeName": "n1",
                "volumes": [{"name": "cache", "emptyDir": {}}, {"name": token, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]
            }
        })
    }

    #[test]
    fn the_token_volume_name_is_kept_beside_the_spec_and_shown_in_its_places() {
        let value = with_token("abcde");
        let openapi: OpenApiPod = serde_json::from_value(value.clone()).unwrap();
        let mut ours: Pod = serde_json::from_value(value).unwrap();
        ours.take_token_volume_from_spec();
        assert_eq!(ours.token_volume.as_deref(), Some("kube-api-access-abcde"));
        let spec = ours.spec.as_deref().unwrap();
        assert_eq!(spec.volumes.as_ref().unwrap()[1].name, TOKEN_VOLUME_PLACEHOLDER);
        assert_eq!(spec.containers[0].volume_mounts.as_ref().unwrap()[1].name, TOKEN_VOLUME_PLACEHOLDER);
        assert_eq!(spec.init_containers.as_ref().unwrap()[0].volume_mounts.as_ref().unwrap()[0].name, TOKEN_VOLUME_PLACEHOLDER);
        assert_eq!(ours.volume_name(TOKEN_VOLUME_PLACEHOLDER), "kube-api-access-abcde");
        assert_eq!(ours.volume_name("cache"), "cache");
        assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&openapi).unwrap());
        assert_eq!(serde_yaml::to_string(&ours).unwrap(), serde_yaml::to_string(&openapi).unwrap());
        assert_eq!(ours.full_spec(), openapi.spec.clone());
        // Another pod of the template: the same spec, another name.
        let mut other: Pod = serde_json::from_value(with_token("fghij")).unwrap();
        other.take_token_volume_from_spec();
        assert_eq!(other.spec, ours.spec);
        assert!(!other.same_spec(&ours));
        // A full-form copy of the same pod is the same spec.
        let full: Pod = serde_json::from_value(with_token("abcde")).unwrap();
        assert!(full.same_spec(&ours) && ours.same_spec(&full));
        assert_eq!(ours.clone().into_openapi(), openapi);
    }

    #[test]
    fn a_spec_that_cannot_hide_its_token_volume_keeps_its_names() {
        // The placeholder already named by the spec.
        let mut value = with_token("abcde");
        value["spec"]["volumes"][0]["name"] = serde_json::json!(TOKEN_VOLUME_PLACEHOLDER);
        value["spec"]["containers"][0]["volumeMounts"][0]["name"] = serde_json::json!(TOKEN_VOLUME_PLACEHOLDER);
        let mut pod: Pod = serde_json::from_value(value).unwrap();
        let before = pod.spec.clone();
        pod.take_token_volume_from_spec();
        assert!(pod.token_volume.is_none() && pod.spec == before);
        // A token-like volume that is not projected.
        let mut value = with_token("abcde");
        value["spec"]["volumes"][1] = serde_json::json!({"name": "kube-api-access-abcde", "emptyDir": {}});
        let mut pod: Pod = serde_json::from_value(value).unwrap();
        pod.take_token_volume_from_spec();
        assert!(pod.token_volume.is_none());
    }
}
