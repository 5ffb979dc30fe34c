//! Which objects a command names: `TYPE NAME…`, `TYPE/NAME…`, `-l`,
//! `--all`, or `-f`, resolved as kubectl's resource builder resolves them.

use std::rc::Rc;

use crate::engine::api::{resolve_resource_arg, resource, ApiError, Object, Reason, ResourceId};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::{Error, Session};
use crate::engine::selector::{FieldSelector, Selector};

/// One named object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub rid: ResourceId,
    pub namespace: String,
    pub name: String,
    /// The file it came from, for `error when … "f.yaml"` messages.
    pub source: String,
}

impl Target {
    /// `pods/x`, as wait's timeout message names an object.
    pub fn plural_name(&self) -> String {
        format!("{}/{}", resource(self.rid).plural, self.name)
    }
}

pub const NO_RESOURCES: &str = "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'";

/// A resource type argument, or kubectl's error for one the server does not serve.
pub fn resolve_type(arg: &str) -> Result<ResourceId, Error> {
    resolve_resource_arg(arg).ok_or_else(|| Error::Message(format!("error: the server doesn't have a resource type \"{arg}\"")))
}

/// cli-runtime's `EnhanceListError`: a list the server refuses as a bad
/// request (an unsupported field label) names the resource and selectors,
/// `Unable to find "/v1, Resource=pods" that match label selector "", …`.
pub fn enhance_list_error(s: &Session, rid: ResourceId, mut e: ApiError) -> ApiError {
    if !matches!(e.reason, Reason::BadRequest | Reason::NotFound) {
        return e;
    }
    let rt = resource(rid);
    let subject = format!("{}/{}, Resource={}", rt.group, rt.version, rt.plural);
    let labels = s.args.value("selector").map_or("", str::trim);
    let fields = s.args.value("field-selector").map_or("", str::trim);
    e.message = if labels.is_empty() && fields.is_empty() {
        format!("Unable to list {subject:?}: {}", e.message)
    } else {
        format!("Unable to find {subject:?} that match label selector {labels:?}, field selector {fields:?}: {}", e.message)
    };
    e
}

/// A `-l` or `--field-selector` kubectl's builder acts on: an empty or
/// blank one is ignored, as `LabelSelectorParam` ignores it.
pub fn selector_given(s: &Session, flag: &str) -> bool {
    s.args.value(flag).is_some_and(|v| !v.trim().is_empty())
}

/// The resource builder's refusals of names beside a selector
/// (`visitBySelector`): checked before any type is resolved. `select_all` is
/// `delete`'s `--all` (`SelectAllParam`, a selector of everything); the
/// other verbs' `--all` selects only when no name is given.
pub fn check_names_and_selectors(s: &Session, words: &[String], select_all: bool) -> Result<(), Error> {
    let selector = selector_given(s, "selector") || selector_given(s, "field-selector");
    if select_all && selector {
        return Err(Error::Message("error: setting 'all' parameter but found a non empty selector. ".to_string()));
    }
    if !selector && !select_all {
        return Ok(());
    }
    if words.iter().any(|w| w.contains('/')) {
        return Err(Error::Message("error: selectors and the all flag cannot be used when passing resource/name arguments".to_string()));
    }
    if words.len() > 1 {
        return Err(Error::Message("error: name cannot be provided when a selector is specified".to_string()));
    }
    Ok(())
}

/// Targets named by the command line, plus failures for objects that could
/// not be read (their own documents). `words` are the positionals that name
/// objects (after any that the verb consumed).
pub fn resolve(s: &Session, words: &[String], allow_all: bool) -> Result<(Vec<Target>, Vec<Failure>), Error> {
    resolve_with(s, words, allow_all, false)
}

/// As [`resolve`] for the commands whose builder takes an empty selector
/// (`ResourceTypeOrNameArgs(true, …)`, the `rollout` commands): a type
/// without names selects every object of it in the namespace.
pub fn resolve_bare_type_as_all(s: &Session, words: &[String]) -> Result<(Vec<Target>, Vec<Failure>), Error> {
    resolve_with(s, words, false, true)
}

fn resolve_with(s: &Session, words: &[String], allow_all: bool, bare_type_as_all: bool) -> Result<(Vec<Target>, Vec<Failure>), Error> {
    let mut failures = Vec::new();
    let namespace = s.namespace();
    let namespace_of = |rid: ResourceId| if resource(rid).namespaced { namespace.clone() } else { String::new() };
    if !s.args.values("filename").is_empty() || s.args.has("kustomize") {
        if !words.is_empty() {
            return Err(Error::Message("error: Unexpected args: ".to_string() + &format!("{words:?}").replace('"', "")));
        }
        let mut targets = Vec::new();
        for item in manifest::load(s) {
            match item {
                Ok(info) => targets.push(Target { rid: info.rid, namespace: info.namespace, name: info.name, source: info.source }),
                Err(f) => failures.push(f),
            }
        }
        return Ok((targets, failures));
    }
    check_names_and_selectors(s, words, false)?;
    let Some(first) = words.first() else {
        return Err(Error::Message(NO_RESOURCES.to_string()));
    };
    if first.contains('/') {
        let mut targets = Vec::new();
        for w in words {
            let Some((kind, name)) = w.split_once('/') else {
                return Err(Error::Message("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'".to_string()));
            };
            let rid = resolve_type(kind)?;
            targets.push(Target { rid, namespace: namespace_of(rid), name: name.to_string(), source: String::new() });
        }
        return Ok((targets, failures));
    }
    let types: Vec<ResourceId> = first.split(',').map(resolve_type).collect::<Result<_, _>>()?;
    let names = &words[1..];
    let selector = s.args.value("selector").filter(|_| selector_given(s, "selector"));
    let field_selector = s.args.value("field-selector").filter(|_| selector_given(s, "field-selector"));
    let all = allow_all && s.args.flag("all");
    if names.is_empty() {
        if selector.is_none() && field_selector.is_none() && !all && !bare_type_as_all {
            return Err(Error::Message("error: resource(s) were provided, but no name was specified".to_string()));
        }
        let labels = match selector {
            Some(sel) => Selector::parse(sel).map_err(|e| Error::Message(format!("error: {e}")))?,
            None => Selector::everything(),
        };
        let fields = match field_selector {
            Some(sel) => FieldSelector::parse(sel).map_err(|e| Error::Message(format!("error: {e}")))?,
            None => FieldSelector::default(),
        };
        let mut targets = Vec::new();
        for rid in types {
            let query = if resource(rid).namespaced && !s.args.flag("all-namespaces") {
                Query::in_namespace(rid, &namespace)
            } else {
                Query::all(rid)
            }
            .with_labels(labels.clone())
            .with_fields(fields.clone());
            let (items, _) = s.cluster.sim.api.list(&query).map_err(|e| enhance_list_error(s, rid, e))?;
            targets.extend(items.iter().map(|o| Target {
                rid,
                namespace: o.meta().namespace.clone().unwrap_or_default(),
                name: o.meta().name.clone().unwrap_or_default(),
                source: String::new(),
            }));
        }
        return Ok((targets, failures));
    }
    let mut targets = Vec::new();
    for rid in types {
        for name in names {
            targets.push(Target { rid, namespace: namespace_of(rid), name: name.clone(), source: String::new() });
        }
    }
    Ok((targets, failures))
}

/// Reads a target's object; a NotFound becomes that object's failure.
pub fn fetch(s: &Session, t: &Target) -> Result<Rc<Object>, Failure> {
    s.cluster.sim.api.get(t.rid, &t.namespace, &t.name).map_err(Failure::Api)
}

/// `deployment.apps/web`, for a target.
pub fn qualified(t: &Target) -> String {
    format!("{}/{}", resource(t.rid).qualified_singular(), t.name)
}
