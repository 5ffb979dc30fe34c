//! `kubectl get` and `kubectl events`.

use crate::engine::sort::SortStable;
use std::collections::BTreeSet;
use std::rc::Rc;

use crate::engine::api::{resolve_resource_arg, resource, ApiError, Object, Reason, ResourceId, RESOURCES};
use crate::engine::apiserver::component_status::check_watchable;
use crate::engine::apiserver::Query;
use crate::engine::kubectl::printers::{self, jsonpath, tables, OutputFormat, TableOptions};
use crate::engine::kubectl::{manifest, targets};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::selector::{FieldSelector, Selector};

/// What one argument asked for: every object of a resource, or named ones.
struct Request {
    resource: ResourceId,
    names: Vec<String>,
    /// A `-f` document's own namespace (the command's when it named none).
    namespace: Option<String>,
}

const NO_RESOURCE: &str = "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples";

/// Resolves a resource word as kubectl's discovery-backed mapper does.
pub fn resolve(word: &str) -> Result<ResourceId> {
    resolve_resource_arg(word).ok_or_else(|| Error::Message(format!("error: the server doesn't have a resource type \"{word}\"")))
}

/// The resources `all` stands for, in discovery order.
fn all_category() -> Vec<ResourceId> {
    let built_in = RESOURCES.iter().enumerate().filter(|(_, r)| r.in_all).map(|(i, _)| ResourceId(i as u16));
    built_in.chain(custom_category("all")).collect()
}

/// The custom resources a definition puts in `category` (after the
/// built-in groups, as discovery lists the definitions' groups).
fn custom_category(category: &str) -> Vec<ResourceId> {
    crate::engine::api::custom::served().resources.iter().filter(|r| r.categories.iter().any(|c| c == category)).map(|r| r.id).collect()
}

/// Splits `get` arguments into requests: `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`.
/// The second value says whether several kinds were asked for.
fn requests_from_args(args: &[String]) -> Result<(Vec<Request>, bool)> {
    if args.iter().any(|a| a.contains('/')) {
        let mut requests: Vec<Request> = Vec::new();
        for arg in args {
            let Some((kind, name)) = arg.split_once('/') else {
                return Err(Error::Message(format!("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")));
            };
            if name.is_empty() {
                return Err(Error::Message(format!("error: arguments in resource/name form must have a single resource and name")));
            }
            requests.push(Request { resource: resolve(kind)?, names: vec![name.to_string()], namespace: None });
        }
        let first = requests.first().map(|r| r.resource);
        let several = requests.iter().any(|r| Some(r.resource) != first);
        return Ok((requests, several));
    }
    let Some(types) = args.first() else {
        return Err(Error::Message(NO_RESOURCE.to_string()));
    };
    let names: Vec<String> = args[1..].to_vec();
    let mut ids = Vec::new();
    let mut several = types.contains(',');
    for word in types.split(',').filter(|w| !w.is_empty()) {
        if word == "all" {
            several = true;
            for id in all_category() {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        } else if let Some(members) = Some(custom_category(word)).filter(|m| !m.is_empty()) {
            // A category only custom resources name (kubectl's category expander).
            several = true;
            for id in members {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        } else {
            let id = resolve(word)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok((ids.into_iter().map(|resource| Request { resource, names: names.clone(), namespace: None }).collect(), several))
}

/// Requests for the objects manifests in `-f` sources name, read as every
/// `-f` command reads them (directories, stdin, URLs, Lists), unvalidated
/// as get's builder reads them.
fn requests_from_files(s: &mut Session, human_readable: bool) -> Result<Vec<Request>> {
    let mut requests = Vec::new();
    let mut failures = Vec::new();
    for item in manifest::load_with(s, false) {
        let Some(info) = manifest::kept(item, &mut failures) else { continue };
        requests.push(Request { resource: info.rid, names: vec![info.name], namespace: Some(info.namespace) });
    }
    // The tables' path returns `r.Infos()`'s aggregate as it is;
    // printGeneric's returns its one error.
    if human_readable {
        manifest::finish_as_aggregate(s, failures)?;
    } else {
        manifest::finish(s, failures)?;
    }
    Ok(requests)
}

/// How `--sort-by` treats a set of objects: kubectl sorts the rows of each
/// table the server returned (one per list, one per named object) and
/// refuses one whose rows all lack the field; other formats sort all
/// objects together, and refuse only when there are several and none has it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SortScope {
    Sort,
    /// A named object's own table: checked for the field, not reordered.
    CheckOnly,
}

/// kubectl's sorters (`--sort-by`): the field relaxed as
/// `NewRuntimeSorter` relaxes it, each object's first value as the key; a
/// missing field or a `null` (an Event's unset `lastTimestamp`) first,
/// numbers as numbers, two texts that both read as quantities as
/// quantities (`isLess`), other texts as text. No object having the field
/// (a `null` counts as having it) is kubectl's error. `table`: the server's
/// tables are sorted (`NewTableSorter`, whose errors say so), not objects
/// (`SortObjects`, which relaxes the field again).
fn sort_objects(objects: &mut [Rc<Object>], expr: &str, scope: SortScope, table: bool) -> Result {
    let field = jsonpath::relaxed(expr);
    let field = if table { field } else { jsonpath::relaxed_expression(&field).map_err(|e| Error::Message(format!("error: {e}")))? };
    let template = jsonpath::Template::parse(&field).map_err(|e| Error::Message(if table { format!("error: sorting error: {e}") } else { format!("error: {e}") }))?;
    let mut found: Vec<Option<serde_json::Value>> = Vec::with_capacity(objects.len());
    for obj in objects.iter() {
        let value = obj.to_json();
        let results = match template.find_results(&value, true) {
            Ok(results) => results,
            Err(e) if table => {
                return Err(Error::Message(format!("error: Failed to get values for [][]reflect.Value(nil) using {field} (&errors.errorString{{s:{}}})", jsonpath::go_quote(&e))))
            }
            Err(e) => return Err(Error::Message(format!("error: {e}"))),
        };
        found.push(results.first().and_then(|first| first.first()).map(|v| v.as_ref().clone()));
    }
    if !objects.is_empty() && found.iter().all(Option::is_none) {
        return Err(Error::Message(format!("error: couldn't find any field with path {} in the list of objects", jsonpath::go_quote(&field))));
    }
    if scope == SortScope::CheckOnly {
        return Ok(());
    }
    let mut keyed: Vec<(Option<serde_json::Value>, Rc<Object>)> = found.into_iter().map(|v| v.filter(|v| !v.is_null())).zip(objects.iter().cloned()).collect();
    crate::engine::go_sort::sort(&mut keyed, |(a, _), (b, _)| sorter_less(a.as_ref(), b.as_ref()));
    for (slot, (_, obj)) in objects.iter_mut().zip(keyed) {
        *slot = obj;
    }
    Ok(())
}

/// kubectl's sorters' `Less`: an object lacking the field is less than any
/// other, itself included, so those do not keep their order (`sort.Sort`
/// up to 12 objects puts them first in reverse order).
fn sorter_less(i: Option<&serde_json::Value>, j: Option<&serde_json::Value>) -> bool {
    match (i, j) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(x), Some(y)) => sort_key_order(x, y) == std::cmp::Ordering::Less,
    }
}

/// `isLess` on two present values.
fn sort_key_order(x: &serde_json::Value, y: &serde_json::Value) -> std::cmp::Ordering {
    use crate::engine::quantity::Quantity;
    if let (Some(p), Some(q)) = (x.as_f64(), y.as_f64()) {
        return p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal);
    }
    if let (Some(a), Some(b)) = (x.as_str(), y.as_str()) {
        if let (Ok(p), Ok(q)) = (Quantity::parse(a), Quantity::parse(b)) {
            return p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal);
        }
        return a.cmp(b);
    }
    jsonpath::go_sprint(x).cmp(&jsonpath::go_sprint(y))
}

pub fn run(s: &mut Session) -> Result {
    if s.args.has("raw") {
        return super::info::raw_get(s);
    }
    let format = printers::session_output_format(s).map_err(Error::Message)?;
    let all_namespaces = s.args.flag("all-namespaces");
    let namespace = s.namespace();
    let labels = match s.args.value("selector") {
        Some(text) => Selector::parse(text).map_err(|e| Error::Message(format!("error: {e}")))?,
        None => Selector::everything(),
    };
    let fields = match s.args.value("field-selector") {
        Some(text) => FieldSelector::parse(text).map_err(|e| Error::Message(format!("error: {e}")))?,
        None => FieldSelector::default(),
    };
    let watching = s.args.flag("watch") || s.args.flag("watch-only");
    if s.args.value("sort-by").is_some_and(|e| !e.is_empty()) {
        if s.args.flag("watch") {
            s.err.push_str("warning: --watch requested, --sort-by will be ignored for watch events received\n");
        } else if s.args.flag("watch-only") {
            s.err.push_str("warning: --watch-only requested, --sort-by will be ignored\n");
        }
    }
    let (requests, several_kinds) = if manifest::file_sources_given(s) {
        // `multipleGVKsRequested`: the kinds the files' objects are of.
        let requests = requests_from_files(s, matches!(format, OutputFormat::Table | OutputFormat::Wide))?;
        let several = requests.first().is_some_and(|first| requests.iter().any(|r| r.resource != first.resource));
        if watching && several {
            return Err(Error::Message("error: watch is only supported on individual resources and resource collections - more than 1 resource was found".to_string()));
        }
        (requests, several)
    } else {
        targets::check_names_and_selectors(s, &s.args.positionals, false)?;
        // A watch's builder takes a single resource type (`all` is several).
        let single_type_refused = || Error::Message("error: you may only specify a single resource type".to_string());
        let types = s.args.positionals.first().filter(|t| !t.contains('/'));
        if watching && types.is_some_and(|t| t.split(',').any(|w| w == "all") || t.split(',').collect::<BTreeSet<_>>().len() > 1) {
            return Err(single_type_refused());
        }
        let (requests, several) = requests_from_args(&s.args.positionals)?;
        if watching && types.is_none() && several {
            return Err(single_type_refused());
        }
        (requests, several)
    };
    // `--subresource`: each named object's subresource path is read.
    let subresource = s.args.value("subresource").filter(|v| !v.is_empty()).map(str::to_string);
    if subresource.is_some() && requests.iter().any(|r| r.names.is_empty()) {
        return Err(Error::Message("error: subresource cannot be used when bulk resources are specified".to_string()));
    }
    let single_item = requests.len() == 1 && requests.iter().all(|r| r.names.len() == 1);
    if all_namespaces && requests.iter().any(|r| !r.names.is_empty()) && !manifest::file_sources_given(s) {
        return Err(Error::Message("error: a resource cannot be retrieved by name across all namespaces".to_string()));
    }
    let ignore_not_found = s.args.flag("ignore-not-found");
    // The server's tables (for the table formats) are sorted each by itself.
    let tables = matches!(format, OutputFormat::Table | OutputFormat::Wide);
    // A watch prints objects as they come: kubectl says it will not sort.
    let sort_by = s.args.value("sort-by").filter(|e| !e.is_empty() && !watching);

    // Fetch everything first: kubectl prints what it found, then the errors.
    let mut groups: Vec<(ResourceId, Vec<Rc<Object>>)> = Vec::new();
    let mut errors: Vec<ApiError> = Vec::new();
    for request in &requests {
        let rt = resource(request.resource);
        let mut found = Vec::new();
        if request.names.is_empty() {
            let mut query = if all_namespaces || !rt.namespaced {
                Query::all(request.resource)
            } else {
                Query::in_namespace(request.resource, &namespace)
            };
            query = query.with_labels(labels.clone()).with_fields(fields.clone());
            match s.cluster.sim.api.list(&query) {
                Ok((items, _)) => found.extend(items),
                // kubectl goes on to the other kinds and prints the refusal after them.
                Err(e) if matches!(e.reason, Reason::Forbidden | Reason::BadRequest) => errors.push(targets::enhance_list_error(s, request.resource, e)),
                Err(e) => return Err(Error::Api(e)),
            }
        } else {
            for name in &request.names {
                let request_namespace = request.namespace.as_deref().unwrap_or(&namespace);
                let got = match &subresource {
                    Some(sub) => s.cluster.sim.api.get_subresource(request.resource, request_namespace, name, sub),
                    None => s.cluster.sim.api.get(request.resource, request_namespace, name),
                };
                match got {
                    Ok(obj) => found.push(obj),
                    Err(e) if e.reason == Reason::NotFound => {
                        if !ignore_not_found {
                            errors.push(e);
                        }
                    }
                    // A ComponentStatus's unknown name (not a NotFound, so
                    // `--ignore-not-found` keeps it) or a refusal: printed
                    // after what was found.
                    Err(e) if e.reason == Reason::Unknown || e.reason == Reason::Forbidden => errors.push(e),
                    Err(e) => return Err(Error::Api(e)),
                }
            }
        }
        if tables && request.names.is_empty() {
            if let Some(first) = found.first() {
                if matches!(&**first, Object::FlowSchema(_)) {
                    sort_flow_schemas(&mut found);
                }
            }
        }
        if let Some(expr) = sort_by.filter(|_| tables) {
            if request.names.is_empty() {
                sort_objects(&mut found, expr, SortScope::Sort, true)?;
            } else {
                for obj in &found {
                    sort_objects(&mut [obj.clone()], expr, SortScope::CheckOnly, true)?;
                }
            }
        }
        match groups.last_mut() {
            Some((rid, objs)) if *rid == request.resource => objs.extend(found),
            _ => groups.push((request.resource, found)),
        }
    }
    // `multipleGVKsRequested` counts what the builder returned: every list
    // (a table, even an empty one) and each named object found, not the
    // names that were not found.
    let several_kinds = several_kinds && {
        let mut returned: Vec<ResourceId> = requests.iter().filter(|r| r.names.is_empty()).map(|r| r.resource).collect();
        returned.extend(groups.iter().filter(|(_, objs)| !objs.is_empty()).map(|(rid, _)| *rid));
        returned.first().is_some_and(|first| returned.iter().any(|r| r != first))
    };
    groups.retain(|(_, objs)| !objs.is_empty());
    let mut objects: Vec<Rc<Object>> = groups.iter().flat_map(|(_, o)| o.iter().cloned()).collect();
    // Other formats sort every object together, a single one not at all.
    if let Some(expr) = sort_by.filter(|_| !tables && objects.len() > 1) {
        sort_objects(&mut objects, expr, SortScope::Sort, false)?;
    }

    if subresource.as_deref() == Some("scale") {
        print_scales(s, &format, &objects, single_item)?;
        return finish(s, errors);
    }

    // kubectl prints what it got, then opens the watch, which a resource
    // without one (ComponentStatus) refuses.
    let watch_refused = if s.args.flag("watch") || s.args.flag("watch-only") {
        requests.iter().find_map(|r| check_watchable(r.resource).err())
    } else {
        None
    };
    if s.args.flag("watch-only") {
        // Only changes would print, and no virtual time passes within one command line.
        errors.extend(watch_refused);
        return finish(s, errors);
    }
    match &format {
        OutputFormat::Table | OutputFormat::Wide => {
            let opts = TableOptions {
                wide: format == OutputFormat::Wide,
                with_namespace: all_namespaces,
                // A watch's printer adds the kind only for --show-kind.
                with_kind: (several_kinds && !watching) || s.args.flag("show-kind"),
                no_headers: s.args.flag("no-headers"),
                label_columns: s.args.values("label-columns").iter().flat_map(|v| v.split(',')).filter(|k| !k.is_empty()).map(str::to_string).collect(),
                show_labels: s.args.flag("show-labels"),
            };
            let now = s.cluster.now();
            for (i, (_, objs)) in groups.iter().enumerate() {
                if i > 0 && !opts.no_headers {
                    s.out.push('\n');
                }
                // Namespace columns only make sense for namespaced kinds.
                let mut group_opts = opts.clone();
                group_opts.with_namespace = opts.with_namespace && objs.first().is_some_and(|o| resource(o.resource_id()).namespaced);
                s.out.push_str(&printers::render_table(objs, &group_opts, now));
            }
            // A watch prints what it lists and waits: never "No resources found".
            if objects.is_empty() && errors.is_empty() && !ignore_not_found && !watching {
                let all_namespaced = requests.iter().all(|r| resource(r.resource).namespaced);
                if all_namespaced && !all_namespaces {
                    s.err.push_str(&format!("No resources found in {namespace} namespace.\n"));
                } else {
                    s.err.push_str("No resources found\n");
                }
            }
            // `-w` would go on printing changes; within one command line no
            // virtual time passes, so the current table is all there is.
        }
        OutputFormat::CustomColumns(_) | OutputFormat::CustomColumnsFile(_) => {
            let (text, error) = match &format {
                OutputFormat::CustomColumnsFile(columns) => printers::custom_columns_table(&objects, columns, false),
                // A file's printer (above) prints its headers, `--no-headers` or not.
                OutputFormat::CustomColumns(spec) => printers::custom_columns(&objects, spec, s.args.flag("no-headers")).map_err(Error::Message)?,
                _ => (String::new(), None),
            };
            s.out.push_str(&text);
            if let Some(e) = error {
                return Err(Error::Message(e));
            }
        }
        // A watch hands the printer each listed object alone: YAML
        // documents split by `---`, JSON objects one after another, a
        // template run on each object rather than on a List.
        other if watching && !matches!(other, OutputFormat::Name) => {
            let allow_missing_keys = printers::allow_missing_template_keys(s);
            for (i, object) in objects.iter().enumerate() {
                if i > 0 && *other == OutputFormat::Yaml {
                    s.out.push_str("---\n");
                }
                let (text, error) = printers::render_structured_partly(std::slice::from_ref(object), other, true, allow_missing_keys);
                s.out.push_str(&text);
                if let Some(e) = error {
                    return Err(Error::Message(e));
                }
            }
        }
        other => {
            if !(objects.is_empty() && !errors.is_empty() && single_item) {
                let (text, error) = printers::render_structured_partly(&objects, other, single_item, printers::allow_missing_template_keys(s));
                s.out.push_str(&text);
                if let Some(e) = error {
                    return Err(Error::Message(e));
                }
            }
        }
    }
    errors.extend(watch_refused);
    finish(s, errors)
}

/// The Scales `--subresource scale` read, as the server's `printScale`
/// table (name, desired and available replicas, age) or the objects.
fn print_scales(s: &mut Session, format: &OutputFormat, objects: &[Rc<Object>], single_item: bool) -> Result {
    let scales: Vec<serde_json::Value> = objects.iter().map(|o| super::scale::scale_of(o)).collect();
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let now = s.cluster.now();
            let mut text = if s.args.flag("no-headers") || scales.is_empty() { String::new() } else { "NAME\tDESIRED\tAVAILABLE\tAGE\n".to_string() };
            for (scale, obj) in scales.iter().zip(objects) {
                let number = |pointer: &str| scale.pointer(pointer).and_then(serde_json::Value::as_i64).unwrap_or(0);
                let age = tables::age(obj.meta().creation_timestamp.as_ref(), now);
                text.push_str(&format!("{}\t{}\t{}\t{age}\n", obj.meta().name.as_deref().unwrap_or_default(), number("/spec/replicas"), number("/status/replicas")));
            }
            s.out.push_str(&printers::tabwriter::TABLE.format(&text));
        }
        OutputFormat::Name => {
            for obj in objects {
                s.out.push_str(&format!("scale.autoscaling/{}\n", obj.meta().name.as_deref().unwrap_or_default()));
            }
        }
        other => {
            let value = match scales.as_slice() {
                [one] if single_item => one.clone(),
                _ => serde_json::json!({"apiVersion": "v1", "items": scales, "kind": "List", "metadata": {"resourceVersion": ""}}),
            };
            if !scales.is_empty() {
                super::apply::print_one(s, other, "", &value)?;
            }
        }
    }
    Ok(())
}

/// `printFlowSchemaList` prints FlowSchemas in the order the API server
/// matches them (`FlowSchemaSequence`): by matching precedence, then name.
fn sort_flow_schemas(objects: &mut [Rc<Object>]) {
    let precedence = |o: &Rc<Object>| match &**o {
        Object::FlowSchema(fs) => fs.spec.as_ref().and_then(|s| s.matching_precedence).unwrap_or(0),
        _ => 0,
    };
    objects.sort_stable_by(|a, b| precedence(a).cmp(&precedence(b)).then_with(|| a.meta().name.cmp(&b.meta().name)));
}

fn finish(s: &mut Session, errors: Vec<ApiError>) -> Result {
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        let line = s.format_api_error(e);
        s.err.push_str(&line);
        s.err.push('\n');
    }
    Err(Error::Silent)
}

/// `kubectl events`: the namespace's events, oldest first, with repeat counts.
pub fn events(s: &mut Session) -> Result {
    let all_namespaces = s.args.flag("all-namespaces");
    let namespace = s.namespace();
    // Its own table, or a printer of -o's (json, yaml, name, templates):
    // there is no wide.
    let format = super::apply::write_output_format(s)?;
    let types: Vec<String> = s.args.values("types").iter().flat_map(|v| v.split(',')).map(|t| t.trim().to_string()).collect();
    if types.iter().any(|t| !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning")) {
        return Err(Error::Message("error: valid --types are Normal or Warning".to_string()));
    }
    let query = if all_namespaces {
        Query::all(crate::engine::api::ids::events())
    } else {
        Query::in_namespace(crate::engine::api::ids::events(), &namespace)
    };
    let (items, _) = s.cluster.sim.api.list(&query)?;
    let target = match s.args.value("for") {
        Some(spec) => {
            let (kind, name) = spec.split_once('/').ok_or_else(|| Error::Message(format!("error: --for must be in resource/name form")))?;
            if name.contains('/') {
                return Err(Error::Message("error: arguments in resource/name form may not have more than one slash".to_string()));
            }
            let rid = resolve(kind)?;
            let rt = resource(rid);
            // The field selector names the kind and its `apiVersion`.
            let api_version = if rt.group.is_empty() { rt.version.to_string() } else { format!("{}/{}", rt.group, rt.version) };
            Some((rt.kind.to_string(), api_version, name.to_string()))
        }
        None => None,
    };
    let mut events: Vec<k8s_openapi::api::core::v1::Event> = items
        .iter()
        .filter_map(|o| match &**o {
            Object::Event(e) => Some((**e).clone()),
            _ => None,
        })
        .filter(|e| types.is_empty() || types.iter().any(|t| e.type_.as_deref().is_some_and(|et| t.eq_ignore_ascii_case(et))))
        .filter(|e| {
            target.as_ref().is_none_or(|(kind, api_version, name)| {
                e.involved_object.kind.as_deref() == Some(kind.as_str())
                    && e.involved_object.api_version.as_deref().unwrap_or_default() == api_version
                    && e.involved_object.name.as_deref() == Some(name.as_str())
            })
        })
        .collect();
    if s.args.flag("watch") {
        return print_event_watch(s, format.as_ref(), &mut events, all_namespaces);
    }
    if events.is_empty() {
        if all_namespaces {
            s.err.push_str("No events found.\n");
        } else {
            s.err.push_str(&format!("No events found in {namespace} namespace.\n"));
        }
        return Ok(());
    }
    sort_events(&mut events);
    if let Some(format) = format {
        return print_event_list(s, &format, &events);
    }
    let now = s.cluster.now();
    let mut text = event_table_header(s, all_namespaces);
    for e in &events {
        text.push_str(&event_row(e, all_namespaces, now));
    }
    s.out.push_str(&printers::tabwriter::TABLE.format(&text));
    Ok(())
}

fn event_table_header(s: &Session, all_namespaces: bool) -> String {
    if s.args.flag("no-headers") {
        return String::new();
    }
    let namespace = if all_namespaces { "NAMESPACE\t" } else { "" };
    format!("{namespace}LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n")
}

/// One line of kubectl's `EventPrinter`.
fn event_row(e: &k8s_openapi::api::core::v1::Event, all_namespaces: bool, now: crate::engine::sim::clock::VirtualTime) -> String {
    let namespace = if all_namespaces { format!("{}\t", e.metadata.namespace.as_deref().unwrap_or("")) } else { String::new() };
    let io = &e.involved_object;
    format!(
        "{namespace}{}\t{}\t{}\t{}/{}\t{}\n",
        event_interval(e, now),
        e.type_.as_deref().unwrap_or(""),
        e.reason.as_deref().unwrap_or(""),
        io.kind.as_deref().unwrap_or(""),
        io.name.as_deref().unwrap_or(""),
        e.message.as_deref().unwrap_or("").trim()
    )
}

/// `kubectl events -w`: the watch opens with the Events that exist, in
/// the order etcd holds their keys (namespace, then name), each printed
/// and flushed as it comes, so no "No events found" and no sorting by
/// time; the table's columns widen as wider rows come (kubectl's
/// tabwriter remembers widths across flushes), and -o prints each Event
/// alone (`-o name` as `event/NAME`, YAML documents split by `---`).
fn print_event_watch(s: &mut Session, format: Option<&OutputFormat>, events: &mut [k8s_openapi::api::core::v1::Event], all_namespaces: bool) -> Result {
    let key = |e: &k8s_openapi::api::core::v1::Event| format!("{}/{}", e.metadata.namespace.as_deref().unwrap_or(""), e.metadata.name.as_deref().unwrap_or(""));
    events.sort_by_cached_key(key);
    if let Some(format) = format {
        for (i, e) in events.iter().enumerate() {
            if i > 0 && *format == OutputFormat::Yaml {
                s.out.push_str("---\n");
            }
            let name = format!("event/{}", e.metadata.name.as_deref().unwrap_or_default());
            super::apply::print_one(s, format, &name, &Object::Event(Box::new(e.clone())).to_json())?;
        }
        return Ok(());
    }
    let now = s.cluster.now();
    let mut flushes = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let header = if i == 0 { event_table_header(s, all_namespaces) } else { String::new() };
        flushes.push(header + &event_row(e, all_namespaces, now));
    }
    s.out.push_str(&printers::tabwriter::TABLE.format_remembering_widths(&flushes));
    Ok(())
}

/// `kubectl events -o …`: the events as the `v1.EventList` kubectl built
/// from its pages (an empty ListMeta).
fn print_event_list(s: &mut Session, format: &OutputFormat, events: &[k8s_openapi::api::core::v1::Event]) -> Result {
    let items: Vec<serde_json::Value> = events.iter().map(|e| Object::Event(Box::new(e.clone())).to_json()).collect();
    match format {
        // kubectl hands its typed EventList to the name printer, which
        // refuses list types, and drops that error: nothing is printed.
        OutputFormat::Name => Ok(()),
        OutputFormat::Json => {
            let list = serde_json::json!({ "kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items });
            s.out.push_str(&printers::json::to_json_in_field_order(&list, true, &printers::json::list_field_rank));
            s.out.push('\n');
            Ok(())
        }
        other => {
            let list = serde_json::json!({ "kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items });
            super::apply::print_one(s, other, "", &list)
        }
    }
}

/// Events oldest first by when they last happened (kubectl's `SortableEvents`).
pub fn sort_events(events: &mut [k8s_openapi::api::core::v1::Event]) {
    events.sort_stable_by_key(event_time_ms);
}

fn event_time_ms(e: &k8s_openapi::api::core::v1::Event) -> u64 {
    use crate::engine::api::meta::virtual_of;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    if let Some(t) = e.series.as_ref().and_then(|s| s.last_observed_time.as_ref()) {
        return virtual_of(&Time(t.0)).as_millis();
    }
    if let Some(t) = &e.last_timestamp {
        return virtual_of(t).as_millis();
    }
    e.event_time.as_ref().map(|t| virtual_of(&Time(t.0)).as_millis()).unwrap_or(0)
}

/// `3m (x4 over 10m)`: when an event last happened and how often since first.
pub fn event_interval(e: &k8s_openapi::api::core::v1::Event, now: crate::engine::sim::clock::VirtualTime) -> String {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let micro = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime>| tables::age(t.map(|m| Time(m.0)).as_ref(), now);
    let first = if e.event_time.is_none() { tables::age(e.first_timestamp.as_ref(), now) } else { micro(e.event_time.as_ref()) };
    if let Some(series) = &e.series {
        format!("{} (x{} over {})", micro(series.last_observed_time.as_ref()), series.count.unwrap_or(0), first)
    } else if e.count.unwrap_or(0) > 1 {
        format!("{} (x{} over {})", tables::age(e.last_timestamp.as_ref(), now), e.count.unwrap_or(0), first)
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::cluster::{Cluster, Profile, ProfileKind};
    use crate::engine::kubectl::{run, NoFiles};

    fn cluster() -> Cluster {
        Cluster::new(Profile::new(ProfileKind::Minikube), 1)
    }

    fn out(c: &mut Cluster, line: &str) -> (String, String, i32) {
        let o = run(c, line, None, &NoFiles);
        (o.stdout, o.stderr, o.exit_code)
    }

    #[test]
    fn lists_builtin_namespaces_and_service() {
        let mut c = cluster();
        let (o, e, code) = out(&mut c, "kubectl get ns");
        assert_eq!(code, 0, "{e}");
        eprintln!("{o}");
        let (o, _, _) = out(&mut c, "kubectl get svc -o wide --show-labels");
        eprintln!("{o}");
        let (o, e, _) = out(&mut c, "kubectl get all");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get pods");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get pc,svc");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get svc kubernetes nope -o yaml");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get widgets");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get ns -o jsonpath={.items[*].metadata.name}");
        eprintln!("{o}{e}");
        let (o, e, _) = out(&mut c, "kubectl get ns -o custom-columns=NAME:.metadata.name,PH:.status.phase");
        eprintln!("{o}{e}");
    }
}
