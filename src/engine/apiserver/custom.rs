//! apiextensions-apiserver inside the API server: a CustomResourceDefinition's
//! defaults and validation (`pkg/apis/apiextensions`), its naming and
//! establishing controllers (`pkg/controller/status`, `establish`: the
//! `NamesAccepted` and `Established` conditions and `acceptedNames`,
//! written as two status writes right after the definition's), its
//! finalizer controller (`pkg/controller/finalizer`: a deleted definition
//! is `Terminating` while its custom resources are deleted, then goes),
//! and the set of custom resources served, which discovery, REST mapping
//! and decoding read (`api::custom::Served`).

use std::rc::Rc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition, CustomResourceDefinitionCondition, CustomResourceDefinitionNames, CustomResourceDefinitionStatus,
    CustomResourceDefinitionVersion,
};

use super::validation::{quote, Errors};
use super::{ApiServer, DeleteOptions, Query};
use crate::engine::api::custom::{self, CustomObject, Served, ServedResource, TypeNames};
use crate::engine::api::{self, meta, ApiError, Cause, Object, ResourceId};

/// The finalizer a deleted definition waits on while its objects go.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn crd_id() -> ResourceId {
    const ID: Option<ResourceId> = api::find_resource("apiextensions.k8s.io", "customresourcedefinitions");
    ID.unwrap_or(ResourceId(0))
}

/// `SetDefaults_CustomResourceDefinitionSpec`.
pub fn default_crd(crd: &mut CustomResourceDefinition) {
    let names = &mut crd.spec.names;
    if names.singular.as_deref().is_none_or(str::is_empty) {
        names.singular = Some(names.kind.to_lowercase());
    }
    if names.list_kind.as_deref().is_none_or(str::is_empty) && !names.kind.is_empty() {
        names.list_kind = Some(format!("{}List", names.kind));
    }
    if crd.spec.conversion.is_none() {
        crd.spec.conversion = Some(CustomResourceConversion { strategy: "None".to_string(), webhook: None });
    }
}

/// The strategy's `PrepareForCreate`: a new definition's status is its
/// storage version only.
pub fn prepare_crd_create(crd: &mut CustomResourceDefinition) {
    crd.status = Some(CustomResourceDefinitionStatus {
        stored_versions: Some(storage_version(crd).map(|v| vec![v.name.clone()]).unwrap_or_default()),
        ..Default::default()
    });
}

/// `PrepareForUpdate`: the status is the stored one, plus a new storage version.
pub fn prepare_crd_update(crd: &mut CustomResourceDefinition, old: &CustomResourceDefinition) {
    crd.status = old.status.clone();
    if let Some(storage) = storage_version(crd).map(|v| v.name.clone()) {
        let stored = crd.status.get_or_insert_with(Default::default).stored_versions.get_or_insert_with(Vec::new);
        if !stored.contains(&storage) {
            stored.push(storage);
        }
    }
}

fn storage_version(crd: &CustomResourceDefinition) -> Option<&CustomResourceDefinitionVersion> {
    crd.spec.versions.iter().find(|v| v.storage)
}

/// The subset of `ValidateCustomResourceDefinition` the simulation makes,
/// with 1.33's messages.
pub fn validate_crd(crd: &CustomResourceDefinition) -> Vec<Cause> {
    let mut errs = Errors::default();
    let spec = &crd.spec;
    let name = crd.metadata.name.as_deref().unwrap_or_default();
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if name != expected {
        errs.invalid("metadata.name", &quote(name), "must be spec.names.plural+\".\"+spec.group");
    }
    if spec.group.is_empty() {
        errs.required("spec.group", "");
    } else if spec.group.split('.').count() < 2 {
        errs.invalid("spec.group", &quote(&spec.group), "should be a domain with at least one dot");
    }
    if !matches!(spec.scope.as_str(), "Cluster" | "Namespaced") {
        errs.unsupported_value("spec.scope", &quote(&spec.scope), &["Cluster", "Namespaced"]);
    }
    let names = &spec.names;
    for (field, value) in [("plural", Some(names.plural.as_str())), ("singular", names.singular.as_deref()), ("kind", Some(names.kind.as_str())), ("listKind", names.list_kind.as_deref())] {
        let value = value.unwrap_or_default();
        if value.is_empty() {
            errs.required(&format!("spec.names.{field}"), "");
        } else if matches!(field, "plural" | "singular") && !is_dns1035_label(value) {
            errs.invalid(&format!("spec.names.{field}"), &quote(value), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
        }
    }
    if spec.versions.is_empty() {
        errs.invalid("spec.versions", "[]apiextensions.CustomResourceDefinitionVersion(nil)", "must have exactly one version marked as storage version");
        errs.required("spec.versions", "must have at least one version");
    } else if spec.versions.iter().filter(|v| v.storage).count() != 1 {
        errs.invalid("spec.versions", "[]apiextensions.CustomResourceDefinitionVersion{...}", "must have exactly one version marked as storage version");
    }
    for (i, version) in spec.versions.iter().enumerate() {
        let fld = format!("spec.versions[{i}]");
        match version.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()) {
            None => errs.required(&format!("{fld}.schema.openAPIV3Schema"), "schemas are required"),
            Some(schema) => {
                let before = errs.0.len();
                let at = format!("{fld}.schema.openAPIV3Schema");
                super::custom_schema::check_schema(schema, &at, &mut errs);
                // Rules are compiled against a schema that holds together.
                if errs.0.len() == before {
                    super::custom_rules::check_rules(schema, &at, &mut errs);
                }
            }
        }
    }
    if let Some(status) = &crd.status {
        if let Some(storage) = storage_version(crd) {
            if !status.stored_versions.iter().flatten().any(|v| *v == storage.name) {
                errs.invalid("status.storedVersions", "[]string{}", &format!("must have the storage version {}", storage.name));
            }
        }
    }
    errs.0
}

fn is_dns1035_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether the definition's condition of `type_` is `True`.
pub fn condition_true(crd: &CustomResourceDefinition, type_: &str) -> bool {
    crd.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten().any(|c| c.type_ == type_ && c.status == "True")
}

/// `SetCRDCondition`: replaces a condition of the same type (keeping its
/// transition time when its status did not change), else appends it.
fn set_condition(crd: &mut CustomResourceDefinition, mut condition: CustomResourceDefinitionCondition) {
    let conditions = crd.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_transition_time: Some(now.clone()),
    }
}

/// The names the served type takes, from the accepted names.
fn type_names(crd: &CustomResourceDefinition, accepted: &CustomResourceDefinitionNames) -> Option<TypeNames> {
    let version = storage_version(crd).filter(|v| v.served).or_else(|| crd.spec.versions.iter().find(|v| v.served))?;
    Some(TypeNames {
        group: crd.spec.group.clone(),
        version: version.name.clone(),
        kind: accepted.kind.clone(),
        plural: accepted.plural.clone(),
        singular: accepted.singular.clone().unwrap_or_default(),
        short_names: accepted.short_names.clone().unwrap_or_default(),
        namespaced: crd.spec.scope == "Namespaced",
        in_all: accepted.categories.iter().flatten().any(|c| c == "all"),
    })
}

impl ApiServer {
    /// The custom resources this cluster serves.
    pub fn custom_resources(&self) -> Rc<Served> {
        self.custom_served.clone()
    }

    /// Makes this cluster's custom resources what the engine's free
    /// functions (REST mapping, decoding) read.
    pub fn install_custom_resources(&self) {
        custom::install(&self.custom_served);
    }

    /// Called as a write fans out: a definition's write (or a custom
    /// object's deletion, which a terminating definition waits for) runs
    /// the controllers once the write is done.
    pub(super) fn note_custom_write(&mut self, written: &Object) {
        match written {
            Object::CustomResourceDefinition(_) => self.custom_dirty = true,
            Object::Custom(_) if self.custom_terminating => self.custom_dirty = true,
            _ => return,
        }
        if !self.custom_syncing {
            self.run_custom_controllers();
        }
    }

    /// After a snapshot is restored: the definitions in it are served again.
    pub(super) fn resync_custom_resources(&mut self) {
        self.custom_dirty = true;
        self.run_custom_controllers();
    }

    /// Runs the controllers until their own writes leave nothing to do; a
    /// bounded number of passes, so no write of theirs can loop forever.
    fn run_custom_controllers(&mut self) {
        self.custom_syncing = true;
        let mut passes = 0;
        while std::mem::take(&mut self.custom_dirty) && passes < 8 {
            passes += 1;
            self.as_authorized(|api| api.sync_custom_resources());
        }
        self.custom_dirty = false;
        self.custom_syncing = false;
    }

    fn definitions(&self) -> Vec<Rc<CustomResourceDefinition>> {
        let Ok((objects, _)) = self.list(&Query::all(crd_id())) else { return Vec::new() };
        objects
            .iter()
            .filter_map(|o| match &**o {
                Object::CustomResourceDefinition(crd) => Some(Rc::new((**crd).clone())),
                _ => None,
            })
            .collect()
    }

    /// One pass of the naming, establishing and finalizer controllers,
    /// then the served set made afresh.
    fn sync_custom_resources(&mut self) {
        let now = meta::api_time(self.now);
        for crd in self.definitions() {
            if crd.metadata.deletion_timestamp.is_some() {
                self.finalize_definition(&crd);
                continue;
            }
            let accepted = crd.status.as_ref().and_then(|s| s.accepted_names.clone()).unwrap_or_default();
            if crd.spec.names != accepted {
                let mut named = (*crd).clone();
                let (names, accepted_condition) = self.accepted_names(&crd);
                // Nothing to write when the names and their condition stand as they are.
                let same_condition = crd.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten().any(|c| {
                    c.type_ == "NamesAccepted" && c.status == accepted_condition.status && c.reason == accepted_condition.reason && c.message == accepted_condition.message
                });
                if names == accepted && same_condition {
                    continue;
                }
                let installing = !condition_true(&crd, "Established") && accepted_condition.status == "True";
                named.status.get_or_insert_with(Default::default).accepted_names = Some(names);
                set_condition(&mut named, accepted_condition);
                let established = if installing {
                    condition("Established", "False", "Installing", "the initial names have been accepted", &now)
                } else if condition_true(&crd, "Established") {
                    continue_established(&crd)
                } else {
                    condition("Established", "False", "NotAccepted", "not all names are accepted", &now)
                };
                set_condition(&mut named, established);
                let Ok(stored) = self.update_status(Object::CustomResourceDefinition(Box::new(named))) else { continue };
                // The establishing controller, on the naming controller's write.
                if installing {
                    if let Object::CustomResourceDefinition(stored) = &*stored {
                        let mut established = (**stored).clone();
                        set_condition(&mut established, condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted", &now));
                        let _ = self.update_status(Object::CustomResourceDefinition(Box::new(established)));
                    }
                }
            }
        }
        self.rebuild_served();
    }

    /// `calculateNamesAndConditions`: each requested name is taken unless
    /// another definition of the group has accepted it.
    fn accepted_names(&self, crd: &CustomResourceDefinition) -> (CustomResourceDefinitionNames, CustomResourceDefinitionCondition) {
        let now = meta::api_time(self.now);
        let mut resources = std::collections::BTreeSet::new();
        let mut kinds = std::collections::BTreeSet::new();
        for other in self.definitions() {
            if other.spec.group != crd.spec.group || other.metadata.name == crd.metadata.name {
                continue;
            }
            let names = other.status.as_ref().and_then(|s| s.accepted_names.clone()).unwrap_or_default();
            resources.insert(names.plural.clone());
            resources.extend(names.singular.clone());
            resources.extend(names.short_names.clone().into_iter().flatten());
            kinds.insert(names.kind.clone());
            kinds.extend(names.list_kind.clone());
        }
        let requested = &crd.spec.names;
        let old = crd.status.as_ref().and_then(|s| s.accepted_names.clone()).unwrap_or_default();
        let mut names = old.clone();
        let mut conflict: Option<(&str, String)> = None;
        let fresh = |want: &str, had: &str, used: &std::collections::BTreeSet<String>| want == had || !used.contains(want);
        if fresh(&requested.plural, &old.plural, &resources) { names.plural = requested.plural.clone() } else { conflict = Some(("PluralConflict", requested.plural.clone())) }
        let singular = requested.singular.clone().unwrap_or_default();
        if fresh(&singular, old.singular.as_deref().unwrap_or_default(), &resources) { names.singular = requested.singular.clone() } else { conflict = Some(("SingularConflict", singular)) }
        if requested.short_names != old.short_names {
            let taken: Vec<String> = requested.short_names.iter().flatten().filter(|s| !old.short_names.iter().flatten().any(|o| o == *s) && resources.contains(*s)).cloned().collect();
            match taken.first() {
                Some(first) => conflict = Some(("ShortNamesConflict", first.clone())),
                None => names.short_names = requested.short_names.clone(),
            }
        }
        if fresh(&requested.kind, &old.kind, &kinds) { names.kind = requested.kind.clone() } else { conflict = Some(("KindConflict", requested.kind.clone())) }
        let list_kind = requested.list_kind.clone().unwrap_or_default();
        if fresh(&list_kind, old.list_kind.as_deref().unwrap_or_default(), &kinds) { names.list_kind = requested.list_kind.clone() } else { conflict = Some(("ListKindConflict", list_kind)) }
        names.categories = requested.categories.clone();
        let accepted = match conflict {
            Some((reason, name)) => condition("NamesAccepted", "False", reason, &format!("{name:?} is already in use"), &now),
            None => condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", &now),
        };
        (names, accepted)
    }

    /// The finalizer controller: `Terminating`, every custom object of the
    /// definition deleted, then the finalizer removed (and so the definition).
    fn finalize_definition(&mut self, crd: &CustomResourceDefinition) {
        if !crd.metadata.finalizers.iter().flatten().any(|f| f == CLEANUP_FINALIZER) {
            return;
        }
        let Some(served) = self.custom_served.resources.iter().find(|r| r.crd.metadata.name == crd.metadata.name).map(|r| r.id) else {
            return self.release_definition(crd);
        };
        let now = meta::api_time(self.now);
        if !crd.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten().any(|c| c.type_ == "Terminating" && c.reason.as_deref() == Some("InstanceDeletionInProgress")) {
            let mut marked = crd.clone();
            set_condition(&mut marked, condition("Terminating", "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress", &now));
            let _ = self.update_status(Object::CustomResourceDefinition(Box::new(marked)));
        }
        let Ok((objects, _)) = self.list(&Query::all(served)) else { return };
        for object in &objects {
            let m = object.meta();
            if m.deletion_timestamp.is_none() {
                let _ = self.delete(served, m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default(), &DeleteOptions::default());
            }
        }
        if self.list(&Query::all(served)).is_ok_and(|(left, _)| left.is_empty()) {
            if let Some(Object::CustomResourceDefinition(current)) = self.get(crd_id(), "", crd.metadata.name.as_deref().unwrap_or_default()).ok().as_deref() {
                let mut done = (**current).clone();
                set_condition(&mut done, condition("Terminating", "False", "InstanceDeletionCompleted", "removed all instances", &now));
                if let Ok(Object::CustomResourceDefinition(written)) = self.update_status(Object::CustomResourceDefinition(Box::new(done))).as_deref() {
                    let written = (**written).clone();
                    self.release_definition(&written);
                }
            }
        }
    }

    fn release_definition(&mut self, crd: &CustomResourceDefinition) {
        let mut released = crd.clone();
        if let Some(finalizers) = &mut released.metadata.finalizers {
            finalizers.retain(|f| f != CLEANUP_FINALIZER);
        }
        let _ = self.update(Object::CustomResourceDefinition(Box::new(released)));
    }

    fn rebuild_served(&mut self) {
        let mut resources = Vec::new();
        for crd in self.definitions() {
            if !condition_true(&crd, "Established") {
                continue;
            }
            let accepted = crd.status.as_ref().and_then(|s| s.accepted_names.clone()).unwrap_or_default();
            let Some(id) = type_names(&crd, &accepted).and_then(|names| custom::intern(&names)) else { continue };
            resources.push(ServedResource { id, categories: accepted.categories.clone().unwrap_or_default(), crd });
        }
        resources.sort_by(|a, b| {
            let (x, y) = (api::resource(a.id), api::resource(b.id));
            (x.group, x.plural).cmp(&(y.group, y.plural))
        });
        self.custom_terminating = resources.iter().any(|r| r.crd.metadata.deletion_timestamp.is_some());
        self.custom_served = Rc::new(Served { resources });
        self.install_custom_resources();
    }

    /// A custom object may be created only while its definition is not terminating.
    pub(super) fn check_custom_create(&self, obj: &Object) -> Result<(), ApiError> {
        let Object::Custom(o) = obj else { return Ok(()) };
        let Some(served) = self.custom_served.resources.iter().find(|r| r.id == o.resource) else {
            return Err(ApiError::not_found(&api::resource(o.resource).qualified_plural(), o.metadata.name.as_deref().unwrap_or_default()));
        };
        if served.crd.metadata.deletion_timestamp.is_some() {
            let rt = api::resource(o.resource);
            return Err(ApiError::new(api::Reason::MethodNotAllowed, format!("create is not supported on resources of kind {:?}", rt.qualified_plural())));
        }
        Ok(())
    }
}

/// An established definition stays established when its names change.
fn continue_established(crd: &CustomResourceDefinition) -> CustomResourceDefinitionCondition {
    crd.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten().find(|c| c.type_ == "Established").cloned().unwrap_or_default()
}

/// The served definition of a custom object's resource.
pub fn definition_of(rid: ResourceId) -> Option<Rc<CustomResourceDefinition>> {
    custom::served_resource(rid).map(|r| r.crd)
}

/// The schema of the served version of `rid`.
pub fn schema_of(crd: &CustomResourceDefinition, rid: ResourceId) -> Option<&k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps> {
    let version = api::resource(rid).version;
    crd.spec.versions.iter().find(|v| v.name == version)?.schema.as_ref()?.open_api_v3_schema.as_ref()
}

/// Whether the served version declares the `status` subresource.
pub fn has_status(rid: ResourceId) -> bool {
    let version = api::resource(rid).version;
    definition_of(rid).is_some_and(|crd| crd.spec.versions.iter().any(|v| v.name == version && v.subresources.as_ref().is_some_and(|s| s.status.is_some())))
}

/// The served version's `scale` subresource, when it declares one.
pub fn scale_of(rid: ResourceId) -> Option<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceScale> {
    let version = api::resource(rid).version;
    definition_of(rid)?.spec.versions.iter().find(|v| v.name == version)?.subresources.as_ref()?.scale.clone()
}

/// The strategies' work on a custom object's write: unknown fields
/// pruned (returned by path), defaults applied.
pub fn prune_and_default(obj: &mut CustomObject) -> Vec<String> {
    let Some(crd) = definition_of(obj.resource) else { return Vec::new() };
    let Some(schema) = schema_of(&crd, obj.resource) else { return Vec::new() };
    let pruned = super::custom_schema::prune(&mut obj.content, schema);
    super::custom_schema::default(&mut obj.content, schema);
    pruned
}

/// The schema's validation of a custom object.
pub fn validate_custom(obj: &CustomObject) -> Vec<Cause> {
    let Some(crd) = definition_of(obj.resource) else { return Vec::new() };
    let Some(schema) = schema_of(&crd, obj.resource) else { return Vec::new() };
    super::custom_schema::validate(&obj.content, schema)
}

/// The definition's `x-kubernetes-validations` on a custom object's
/// create (`old` none) or update, after the schema's own validation.
pub fn validate_custom_rules(obj: &CustomObject, old: Option<&CustomObject>, schema_causes: &[Cause]) -> super::custom_rules::RuleOutcome {
    let Some(crd) = definition_of(obj.resource) else { return Default::default() };
    let Some(schema) = schema_of(&crd, obj.resource) else { return Default::default() };
    // Most definitions have no rules: nothing to build for them.
    if !super::custom_rules::has_rules(schema, 0) {
        return Default::default();
    }
    let rt = api::resource(obj.resource);
    let root = |o: &CustomObject| super::custom_rules::root_json(rt.api_version(), rt.kind, &o.metadata, &o.content);
    super::custom_rules::validate_rules(&root(obj), old.map(root).as_ref(), schema, schema_causes)
}
