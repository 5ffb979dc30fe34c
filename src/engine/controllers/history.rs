//! ControllerRevisions, as `pkg/controller/history` keeps them for
//! StatefulSets and DaemonSets: each revision holds a strategic merge patch
//! that restores the owner's pod template (`{"spec":{"template":{…,
//! "$patch":"replace"}}}`), numbered in order, named `<owner>-<hash>`.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::Value;

use crate::engine::api::{ids, ApiError, Object, Reason};
use crate::engine::sim::Ctx;

use super::{util, Cache};

/// The label a revision carries its hash in (`ControllerRevisionHashLabel`).
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// `rand.SafeEncodeString` of a decimal number.
pub fn safe_encode(text: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    text.bytes().map(|b| ALPHABET[b as usize % ALPHABET.len()] as char).collect()
}

/// `HashControllerRevision`: FNV-1 (32 bit) over the data and the collision
/// count, encoded in the safe alphabet.
pub fn hash(data: &Value, collision_count: Option<i32>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h = h.wrapping_mul(0x0100_0193);
            h ^= *b as u32;
        }
    };
    // `getPatch`'s bytes are Go's json.Marshal of a map: keys sorted, and
    // `&`, `<`, `>` escaped (`sh -c 'a && b'` hashes as `\u0026\u0026`).
    feed(crate::engine::kubectl::printers::json::to_json_compact(data).as_bytes());
    if let Some(c) = collision_count {
        feed(c.to_string().as_bytes());
    }
    safe_encode(&h.to_string())
}

/// `ControllerRevisionName`: the owner's name (cut to 223 characters) and the hash.
pub fn revision_name(owner: &str, hash: &str) -> String {
    let prefix: String = owner.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// The patch a revision stores: the pod template, replacing the owner's.
/// `getPatch` encodes the typed object, whose zero `creationTimestamp`
/// Go writes as `null`; it is part of the hashed bytes.
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut t {
        if let Value::Object(metadata) = m.entry("metadata").or_insert_with(|| Value::Object(Default::default())) {
            metadata.entry("creationTimestamp").or_insert(Value::Null);
        }
        m.insert("$patch".into(), Value::String("replace".into()));
    }
    serde_json::json!({ "spec": { "template": t } })
}

/// The pod template a revision restores.
pub fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let data = revision.data.as_ref()?;
    let mut t = data.0.get("spec")?.get("template")?.clone();
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    // The API server's decoder, so the page carries one typed decoder of pod templates.
    crate::engine::api::from_value::from_value(&t).ok()
}

fn data(revision: &ControllerRevision) -> Option<&Value> {
    revision.data.as_ref().map(|d| &d.0)
}

/// A new revision of `owner` holding `patch` (`NewControllerRevision`).
pub fn new_revision(owner: &Object, template_labels: Option<&BTreeMap<String, String>>, patch: Value, number: i64, collision_count: Option<i32>) -> ControllerRevision {
    let h = hash(&patch, collision_count);
    let mut labels = template_labels.cloned().unwrap_or_default();
    labels.insert(HASH_LABEL.into(), h.clone());
    let m = owner.meta();
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(m.name.as_deref().unwrap_or(""), &h)),
            namespace: m.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![util::controller_ref(owner)]),
            ..Default::default()
        },
        data: Some(RawExtension(patch)),
        revision: number,
    }
}

/// The revisions `owner_uid` controls, oldest revision first (`SortControllerRevisions`).
pub fn owned_revisions(cache: &Cache, owner_uid: &str) -> Vec<ControllerRevision> {
    let mut out: Vec<ControllerRevision> = cache
        .of(ids::controller_revisions())
        .controlled_by(owner_uid)
        .iter()
        .filter_map(|o| if let Object::ControllerRevision(r) = &**o { Some((**r).clone()) } else { None })
        .collect();
    out.sort_stable_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| util::time_of(a.metadata.creation_timestamp.as_ref()).cmp(&util::time_of(b.metadata.creation_timestamp.as_ref())))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    out
}

/// The same data (`EqualRevision`).
pub fn equal(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    data(a) == data(b)
}

/// One more than the newest revision's number (`nextRevision`).
pub fn next_number(sorted: &[ControllerRevision]) -> i64 {
    sorted.last().map_or(1, |r| r.revision + 1)
}

/// Creates `revision`, or finds an equal one under that name; on a hash
/// collision bumps `collision_count` and tries the next name
/// (`CreateControllerRevision`).
pub fn create(ctx: &mut Ctx, owner: &Object, revision: &ControllerRevision, template_labels: Option<&BTreeMap<String, String>>, collision_count: &mut i32) -> Result<ControllerRevision, ApiError> {
    let patch = data(revision).cloned().unwrap_or(Value::Null);
    for _ in 0..100 {
        let candidate = new_revision(owner, template_labels, patch.clone(), revision.revision, Some(*collision_count));
        let mut candidate = candidate;
        candidate.metadata.annotations = revision.metadata.annotations.clone();
        match ctx.api.create(Object::ControllerRevision(Box::new(candidate.clone()))) {
            Ok(stored) => return as_revision(&stored),
            Err(e) if e.reason == Reason::AlreadyExists => {
                let ns = candidate.metadata.namespace.clone().unwrap_or_default();
                let name = candidate.metadata.name.clone().unwrap_or_default();
                let existing = as_revision(&ctx.api.get(ids::controller_revisions(), &ns, &name)?)?;
                if equal(&existing, &candidate) {
                    return Ok(existing);
                }
                *collision_count = collision_count.saturating_add(1);
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::new(Reason::InternalError, "too many ControllerRevision hash collisions"))
}

/// Gives an existing revision a new number (a rollback reuses it).
pub fn renumber(ctx: &mut Ctx, revision: &ControllerRevision, number: i64) -> Result<ControllerRevision, ApiError> {
    if revision.revision == number {
        return Ok(revision.clone());
    }
    let ns = revision.metadata.namespace.clone().unwrap_or_default();
    let name = revision.metadata.name.clone().unwrap_or_default();
    let stored = ctx.api.modify(ids::controller_revisions(), &ns, &name, false, |o| {
        if let Object::ControllerRevision(r) = o {
            r.revision = number;
        }
        true
    })?;
    as_revision(&stored)
}

pub fn delete(ctx: &mut Ctx, revision: &ControllerRevision) -> Result<(), ApiError> {
    let ns = revision.metadata.namespace.clone().unwrap_or_default();
    let name = revision.metadata.name.clone().unwrap_or_default();
    let opts = crate::engine::apiserver::DeleteOptions { precondition_uid: revision.metadata.uid.clone(), ..Default::default() };
    match ctx.api.delete(ids::controller_revisions(), &ns, &name, &opts) {
        Ok(_) => Ok(()),
        Err(e) if e.reason == Reason::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn as_revision(obj: &Rc<Object>) -> Result<ControllerRevision, ApiError> {
    match &**obj {
        Object::ControllerRevision(r) => Ok(*r.clone()),
        _ => Err(ApiError::new(Reason::InternalError, "not a ControllerRevision")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::controllers::testkit::template;

    #[test]
    fn patches_round_trip_and_hashes_differ_by_template_and_collision() {
        let t = template("web", "nginx");
        let patch = template_patch(&t);
        assert_eq!(patch["spec"]["template"]["$patch"], "replace");
        assert_eq!(patch["spec"]["template"]["metadata"]["creationTimestamp"], Value::Null);
        assert!(serde_json::to_string(&patch).unwrap_or_default().contains(r#""metadata":{"creationTimestamp":null,"labels":"#));
        let rev = ControllerRevision { data: Some(RawExtension(patch.clone())), ..Default::default() };
        assert_eq!(template_of(&rev), Some(t.clone()));
        let h = hash(&patch, Some(0));
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{h}");
        assert_ne!(h, hash(&patch, Some(1)));
        assert_ne!(h, hash(&template_patch(&template("web", "nginx:2")), Some(0)));
        assert_eq!(revision_name("web", &h), format!("web-{h}"));
        // `&` is hashed as Go's encoder writes it: the bytes `{"a":"x\u0026y"}`.
        let mut expected: u32 = 0x811c_9dc5;
        for b in br#"{"a":"x\u0026y"}"# {
            expected = expected.wrapping_mul(0x0100_0193) ^ *b as u32;
        }
        assert_eq!(hash(&serde_json::json!({"a": "x&y"}), None), safe_encode(&expected.to_string()));
        assert_eq!(revision_name(&"x".repeat(300), "h").len(), 225);
    }
}
