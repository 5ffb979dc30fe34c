//! Reading `-f` sources as kubectl's resource builder does, and reporting
//! errors as its `checkErr` does: one error alone in its own form, several as
//! one line each.

use serde_json::Value;

use crate::engine::api::{resource, ApiError, Reason, ResourceId};
use crate::engine::apiserver::decode;
use crate::engine::kubectl::{format_api_error, kustomize, Error, Result, Session};

/// One object read from a manifest, mapped to a served resource.
#[derive(Clone, Debug)]
pub struct Info {
    /// The file as given (`f.yaml`), or `STDIN`.
    pub source: String,
    pub rid: ResourceId,
    pub name: String,
    /// Empty for cluster-scoped resources.
    pub namespace: String,
    /// The document, with the namespace filled in as kubectl's builder does.
    pub value: Value,
    /// The document named no namespace; `value` has the command's.
    pub namespace_defaulted: bool,
}

impl Info {
    /// The document as `--local` reads it: kubectl fills in no namespace
    /// locally, so one the document did not name is left out.
    pub fn local_value(&self) -> Value {
        let mut value = self.value.clone();
        if self.namespace_defaulted {
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
        }
        value
    }

    /// `Resource: "apps/v1, Resource=deployments", GroupVersionKind: …` as
    /// kubectl's `Info.String()` writes it in some error messages.
    pub fn describe(&self) -> String {
        let rt = resource(self.rid);
        format!(
            "Resource: \"{}/{}, Resource={}\", GroupVersionKind: \"{}/{}, Kind={}\"\nName: {:?}, Namespace: {:?}",
            rt.group, rt.version, rt.plural, rt.group, rt.version, rt.kind, self.name, self.namespace
        )
    }
}

/// A failure of one object or source; the command goes on with the rest.
#[derive(Clone, Debug)]
pub enum Failure {
    Api(ApiError),
    Text(String),
}

/// kubectl's `AddSourceToErr`: `error when creating "f.yaml": …`.
pub fn with_source(verb: &str, source: &str, mut e: ApiError) -> Failure {
    if e.reason != Reason::ConnectionRefused && !source.is_empty() {
        e.message = format!("error when {verb} {source:?}: {}", e.message);
    }
    Failure::Api(e)
}

/// Reads every `-f` source into objects (or failures), in order. A syntax
/// or validation error ends its source, as in kubectl; a kind the server
/// does not serve fails only its own document.
pub fn load(s: &Session) -> Vec<std::result::Result<Info, Failure>> {
    let validate = s.args.value("validate").is_none_or(|v| v != "false" && v != "ignore");
    load_with(s, validate)
}

/// `-f` or `-k` given: cmdutil's `IsFilenameSliceEmpty`, negated.
pub fn file_sources_given(s: &Session) -> bool {
    !s.args.values("filename").is_empty() || s.args.has("kustomize")
}

/// `FilenameOptions.validate` and the check that some source is given, as
/// every verb with `-f` and `-k` makes them before reading anything; then
/// the `-k` directory is built, once, kustomize printing its warnings as
/// it loads it, and kept for [`load`].
pub fn check_sources(s: &mut Session, none_given: Option<&str>) -> Result {
    let kustomize = s.args.value("kustomize").map(str::to_string);
    let mut problems = Vec::new();
    if kustomize.is_some() && !s.args.values("filename").is_empty() {
        problems.push("only one of -f or -k can be specified");
    }
    if kustomize.is_some() && s.args.flag("recursive") {
        problems.push("the -k flag can't be used with -f or -R");
    }
    match problems.as_slice() {
        [] => {}
        [one] => return Err(Error::Message(format!("error: {one}"))),
        // checkErr prints an aggregate of several one line each, unprefixed.
        several => return Err(Error::Message(several.join("\n"))),
    }
    let Some(dir) = kustomize else {
        return match none_given {
            Some(text) if s.args.values("filename").is_empty() => Err(Error::Message(text.to_string())),
            _ => Ok(()),
        };
    };
    if s.kustomized.is_none() {
        let built = kustomize::build(s.files, &dir);
        for warning in &built.warnings {
            s.warn(&format!("{warning}\n"));
        }
        s.kustomized = Some(built.result.map(|objects| kustomize::to_yaml(&objects)));
    }
    Ok(())
}

/// A read object, or `None` with its failure put in `failures`, so a
/// command goes on with the rest in order.
pub fn kept(item: std::result::Result<Info, Failure>, failures: &mut Vec<Failure>) -> Option<Info> {
    item.map_err(|f| failures.push(f)).ok()
}

/// As [`load`]; `validate` false for the commands whose builder has no
/// schema (the `set` commands), which never ask the server for one.
pub fn load_with(s: &Session, validate: bool) -> Vec<std::result::Result<Info, Failure>> {
    let mut out = Vec::new();
    let explicit_namespace = s.args.value("namespace").map(str::to_string);
    let namespace = s.namespace();
    // Each source's text in the builder's order; a directory is its manifests.
    let mut sources: Vec<std::result::Result<(String, String), Failure>> = Vec::new();
    let recursive = s.args.flag("recursive");
    if let Some(dir) = s.args.value("kustomize") {
        // The KustomizeVisitor: the built objects as one source named by
        // the directory (built by `check_sources` unless a caller skipped it).
        let built = s.kustomized.clone().unwrap_or_else(|| kustomize::build(s.files, dir).result.map(|objects| kustomize::to_yaml(&objects)));
        sources.push(built.map(|text| (dir.to_string(), text)).map_err(Failure::Text));
    }
    for path in s.args.values("filename") {
        if path == "-" {
            sources.push(Ok(("STDIN".to_string(), s.stdin.unwrap_or("").to_string())));
        } else if path.starts_with("http://") || path.starts_with("https://") {
            sources.push(match crate::engine::network::internet::fetch(path) {
                Some(t) => Ok((path.clone(), t)),
                None => Err(Failure::Text(crate::engine::network::internet::fetch_error(path))),
            });
        } else if let Some(files) = s.files.manifests_in(path, recursive) {
            if files.is_empty() {
                sources.push(Err(Failure::Text(format!("error reading [{path}]: recognized file extensions are [.json .yaml .yml]"))));
            }
            sources.extend(files.into_iter().map(|file| s.files.read(&file).map(|t| (file, t)).map_err(Failure::Text)));
        } else {
            sources.push(s.files.read(path).map(|t| (path.clone(), t)).map_err(Failure::Text));
        }
    }
    for source in sources {
        let (source, text) = match source {
            Ok(read) => read,
            Err(f) => {
                out.push(Err(f));
                continue;
            }
        };
        let parsed = decode::parse_manifests(&text);
        for doc in flatten_lists(parsed.documents) {
            if validate {
                if !s.cluster.sim.api.is_running() {
                    let host = s.server();
                    out.push(Err(Failure::Text(format!(
                        "error validating {source:?}: {}",
                        decode::validation_message(&[format!(
                            "failed to download openapi: Get \"https://{host}/openapi/v2?timeout=32s\": dial tcp {host}: connect: connection refused"
                        )])
                    ))));
                    break;
                }
                let problems = decode::check_type_meta(&doc.value);
                if !problems.is_empty() {
                    out.push(Err(Failure::Text(format!("error validating {source:?}: {}", decode::validation_message(&problems)))));
                    break;
                }
            }
            // The builder's decoder reads the metadata before the kind is
            // mapped; a document without a kind fails in that decoder first.
            if doc.value.get("kind").and_then(Value::as_str).is_some_and(|k| !k.is_empty()) {
                if let Err(e) = decode::check_metadata(&doc.value) {
                    out.push(Err(Failure::Text(format!("unable to decode {source:?}: {e}"))));
                    continue;
                }
            }
            let rid = match decode::resolve_kind(&doc.value, &source) {
                Ok(rid) => rid,
                Err(e) => {
                    out.push(Err(Failure::Text(e)));
                    continue;
                }
            };
            let (name, doc_namespace, _, _) = decode::document_identity(&doc.value);
            let mut value = doc.value;
            let rt = resource(rid);
            let namespace_defaulted = rt.namespaced && doc_namespace.is_empty();
            let namespace = if !rt.namespaced {
                String::new()
            } else if doc_namespace.is_empty() {
                if let Some(meta) = value.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| Value::Object(Default::default()))) {
                    if let Some(meta) = meta.as_object_mut() {
                        meta.insert("namespace".to_string(), Value::String(namespace.clone()));
                    }
                }
                namespace.clone()
            } else {
                if let Some(flag) = &explicit_namespace {
                    if flag != &doc_namespace {
                        out.push(Err(Failure::Text(format!(
                            "the namespace from the provided object {doc_namespace:?} does not match the namespace {flag:?}. You must pass '--namespace={doc_namespace}' to perform this operation."
                        ))));
                        continue;
                    }
                }
                doc_namespace
            };
            out.push(Ok(Info { source: source.clone(), rid, name, namespace, value, namespace_defaulted }));
        }
        if let Some(e) = parsed.error {
            out.push(Err(Failure::Text(format!("error parsing {source}: {}", e.message))));
        }
    }
    out
}

/// kubectl's resource builder reads a `List` (`kind: List`, or any kind
/// ending in `List` with `items`) as its items, nested lists included.
fn flatten_lists(documents: Vec<decode::ManifestDocument>) -> Vec<decode::ManifestDocument> {
    let mut out = Vec::new();
    let mut pending: Vec<decode::ManifestDocument> = documents.into_iter().rev().collect();
    while let Some(doc) = pending.pop() {
        if out.len() >= decode::MAX_DOCUMENTS {
            break;
        }
        let is_list = doc.value.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
            && doc.value.get("items").is_some_and(Value::is_array);
        if !is_list {
            out.push(doc);
            continue;
        }
        let items = doc.value.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
        for item in items.into_iter().rev().filter(|i| !i.is_null()) {
            pending.push(decode::ManifestDocument { line: doc.line, value: item });
        }
    }
    out
}

/// Ends a command that may have failed for some objects, printing as
/// kubectl's `checkErr` prints an aggregate.
pub fn finish(s: &mut Session, failures: Vec<Failure>) -> Result {
    match failures.len() {
        0 => Ok(()),
        1 => Err(match failures.into_iter().next() {
            Some(Failure::Api(e)) => Error::Api(e),
            Some(Failure::Text(t)) if t.starts_with("error: ") => Error::Message(t),
            Some(Failure::Text(t)) => Error::Message(format!("error: {t}")),
            None => Error::Silent,
        }),
        _ => finish_as_aggregate(s, failures),
    }
}

/// The builder's failures as one aggregate (what `get`'s tables and
/// `describe` return from `r.Infos()`): each on its own line, with no
/// `error: ` before it (cmdutil's checkErr prints an aggregate so).
pub fn finish_as_aggregate(s: &mut Session, failures: Vec<Failure>) -> Result {
    if failures.is_empty() {
        return Ok(());
    }
    let server = s.server();
    for f in failures {
        let line = match f {
            Failure::Api(e) if e.reason == Reason::Invalid => format!("Error from server (Invalid): {}", e.message),
            Failure::Api(e) => format_api_error(&e, &server),
            Failure::Text(t) => t,
        };
        s.err.push_str(&line);
        s.err.push('\n');
    }
    Err(Error::Silent)
}

/// ` (dry run)` / ` (server dry run)` after an operation, from `--dry-run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRun {
    None,
    Client,
    Server,
}

impl DryRun {
    pub fn from_session(s: &Session) -> std::result::Result<DryRun, Error> {
        match s.args.value("dry-run") {
            None | Some("none") | Some("false") => Ok(DryRun::None),
            Some("client") | Some("true") => Ok(DryRun::Client),
            Some("server") => Ok(DryRun::Server),
            Some("unchanged") => Ok(DryRun::Client),
            Some(other) => Err(Error::Message(format!(
                "error: Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}
