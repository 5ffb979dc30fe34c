//! Custom resources: the kinds a CustomResourceDefinition adds. Their
//! objects are `Object::Custom`, typed metadata beside the rest of the
//! object as JSON (apiextensions-apiserver's `unstructured.Unstructured`),
//! and their resource types are filed here, after the built-in table: a
//! `ResourceId` past `RESOURCES` names one of them.
//!
//! What the cluster serves is the API server's `CustomResources`
//! (`apiserver/custom.rs`), installed as the thread's current one as a
//! request or a component's run enters the cluster: the free functions the
//! engine resolves kinds and decodes with read it from there.

use super::{ResourceId, ResourceType, RESOURCES};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// A custom resource's object: `apiVersion`, `kind` and `metadata` read,
/// every other field kept as sent (after pruning and defaulting).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomObject {
    pub resource: ResourceId,
    pub metadata: ObjectMeta,
    /// The top-level fields other than `apiVersion`, `kind` and `metadata`.
    pub content: Map<String, Value>,
}

impl CustomObject {
    pub fn to_json(&self) -> Value {
        let rt = super::resource(self.resource);
        let mut fields = self.content.clone();
        fields.insert("apiVersion".into(), Value::String(rt.api_version()));
        fields.insert("kind".into(), Value::String(rt.kind.to_string()));
        fields.insert("metadata".into(), serde_json::to_value(&self.metadata).unwrap_or(Value::Null));
        Value::Object(fields)
    }
    /// The object from JSON (apiVersion and kind are the resource's).
    pub fn from_value(resource: ResourceId, value: &Value) -> Result<CustomObject, super::DecodeError> {
        let mut content = value.as_object().cloned().unwrap_or_default();
        content.remove("apiVersion");
        content.remove("kind");
        let metadata = match content.remove("metadata") {
            Some(meta) => super::from_value::from_value(&meta).map_err(|mut e: super::DecodeError| {
                e.path.insert(0, super::from_value::Segment::Field("metadata".into()));
                e
            })?,
            None => ObjectMeta::default(),
        };
        Ok(CustomObject { resource, metadata, content })
    }
    /// A field at a JSON path below the object (`["spec", "replicas"]`).
    pub fn field(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(self.content.get(*first)?, |v, key| v.get(*key))
    }
}

// Every custom resource type met on this thread, each leaked once so that
// `resource()` can lend it as the built-in ones are lent: a type is filed
// by group and plural, and refiled (a new leaked copy) only when its
// names change, so what is leaked is bounded by the definitions written.
thread_local! {
    static TYPES: RefCell<Vec<&'static ResourceType>> = const { RefCell::new(Vec::new()) };
    static SERVED: RefCell<Rc<Served>> = RefCell::new(Rc::new(Served::default()));
}

/// One served custom resource: its type, categories and definition.
#[derive(Clone, Debug)]
pub struct ServedResource {
    pub id: ResourceId,
    pub categories: Vec<String>,
    pub crd: Rc<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>,
}

/// The custom resources one cluster serves, as discovery shows them.
#[derive(Clone, Debug, Default)]
pub struct Served {
    /// In discovery order (group, then plural).
    pub resources: Vec<ServedResource>,
}

/// A custom resource type's names, as its definition's accepted names give them.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeNames {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub in_all: bool,
}

impl TypeNames {
    fn names(&self, t: &ResourceType) -> bool {
        t.group == self.group && t.version == self.version && t.kind == self.kind && t.plural == self.plural && t.singular == self.singular
            && t.short_names.iter().copied().eq(self.short_names.iter().map(String::as_str)) && t.namespaced == self.namespaced && t.in_all == self.in_all
    }
    fn leaked(&self) -> &'static ResourceType {
        let leak = |text: &str| -> &'static str { Box::leak(text.to_string().into_boxed_str()) };
        let short_names: Vec<&'static str> = self.short_names.iter().map(|s| leak(s)).collect();
        Box::leak(Box::new(ResourceType {
            group: leak(&self.group),
            version: leak(&self.version),
            kind: leak(&self.kind),
            plural: leak(&self.plural),
            singular: leak(&self.singular),
            short_names: Box::leak(short_names.into_boxed_slice()),
            namespaced: self.namespaced,
            in_all: self.in_all,
        }))
    }
}

/// The id of the custom resource type with these names, filed on first
/// use; `None` once ids run out (tens of thousands of definitions).
pub fn intern(names: &TypeNames) -> Option<ResourceId> {
    TYPES.with(|types| {
        let mut types = types.borrow_mut();
        let slot = match types.iter().position(|t| t.group == names.group && t.plural == names.plural) {
            Some(slot) => {
                if let Some(filed) = types.get_mut(slot).filter(|t| !names.names(t)) {
                    *filed = names.leaked();
                }
                slot
            }
            None => {
                u16::try_from(RESOURCES.len() + types.len()).ok()?;
                types.push(names.leaked());
                types.len() - 1
            }
        };
        u16::try_from(RESOURCES.len() + slot).ok().map(ResourceId)
    })
}

pub fn custom_type(id: ResourceId) -> Option<&'static ResourceType> {
    let slot = (id.0 as usize).checked_sub(RESOURCES.len())?;
    TYPES.with(|types| types.borrow().get(slot).copied())
}

/// Makes `served` what the free functions of this thread see.
pub fn install(served: &Rc<Served>) {
    // Every component run installs its cluster's table: most find it there.
    SERVED.with(|s| {
        let mut installed = s.borrow_mut();
        if !Rc::ptr_eq(&installed, served) {
            *installed = served.clone();
        }
    });
}

pub fn served() -> Rc<Served> {
    SERVED.with(|s| s.borrow().clone())
}

/// Whether `id` is a custom resource the current cluster serves.
pub fn is_served(id: ResourceId) -> bool {
    served_resource(id).is_some()
}

pub fn served_resource(id: ResourceId) -> Option<ServedResource> {
    served().resources.iter().find(|r| r.id == id).cloned()
}

/// Whether the definition serves `version` (`served: true`).
pub fn serves_version(crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition, version: &str) -> bool {
    crd.spec.versions.iter().any(|v| v.name == version && v.served)
}

thread_local! {
    static TEXTS: RefCell<std::collections::BTreeSet<&'static str>> = const { RefCell::new(std::collections::BTreeSet::new()) };
}

/// A text (a printer column's header) made `'static` once per distinct
/// text, as the built-in tables' headers are.
pub fn static_text(text: &str) -> &'static str {
    TEXTS.with(|texts| {
        let mut texts = texts.borrow_mut();
        if let Some(found) = texts.get(text) {
            return *found;
        }
        let made: &'static str = Box::leak(text.to_string().into_boxed_str());
        texts.insert(made);
        made
    })
}

thread_local! {
    static LISTS: RefCell<std::collections::BTreeMap<Vec<String>, &'static [&'static str]>> = const { RefCell::new(std::collections::BTreeMap::new()) };
}

/// A list of texts (a resource's categories) made `'static` once per distinct list.
pub fn static_list(texts: &[String]) -> &'static [&'static str] {
    LISTS.with(|lists| {
        let mut lists = lists.borrow_mut();
        if let Some(found) = lists.get(texts) {
            return *found;
        }
        let made: Vec<&'static str> = texts.iter().map(|t| static_text(t)).collect();
        let made: &'static [&'static str] = Box::leak(made.into_boxed_slice());
        lists.insert(texts.to_vec(), made);
        made
    })
}
