//! Output formats: tables, `-o yaml|json|name|jsonpath|custom-columns`,
//! ages, pod status. The shared entry points for every verb and the UI.

pub mod go_template;
pub mod go_types;
pub mod json;
pub mod jsonpath;
pub mod tables;
pub mod tabwriter;
pub mod yaml;

use std::rc::Rc;

use crate::engine::api::pod::Pod;
use serde_json::Value;

use crate::engine::api::{resource, Object};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::sim::clock::VirtualTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Wide,
    Yaml,
    Json,
    Name,
    JsonPath(String),
    /// `jsonpath-as-json=…`: each of the template's values as a JSON array.
    JsonPathAsJson(String),
    /// `custom-columns=HEADER:.path,…`
    CustomColumns(String),
    /// `custom-columns-file=FILE`: its headers and their JSONPath
    /// expressions (relaxed), read as the format was parsed.
    CustomColumnsFile(Vec<(String, String)>),
    /// `go-template=…`, `template=…`, `go-template-file=…`, `templatefile=…`
    /// or `--template`: the template's text, parsed.
    GoTemplate(Rc<go_template::Template>),
}

const ALLOWED_FORMATS: &str =
    "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml";

/// Parses `-o`; kubectl's error for an unknown format otherwise.
pub fn parse_output_format(value: Option<&str>) -> std::result::Result<OutputFormat, String> {
    // cli-runtime's JSON, YAML and name printers match their formats in
    // lower case (`-o JSON`); the others as given.
    let lower = value.map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("yaml") => return Ok(OutputFormat::Yaml),
        Some("json") => return Ok(OutputFormat::Json),
        Some("name") => return Ok(OutputFormat::Name),
        _ => {}
    }
    match value {
        None | Some("") => Ok(OutputFormat::Table),
        Some("wide") => Ok(OutputFormat::Wide),
        Some("jsonpath") | Some("jsonpath-as-json") | Some("go-template") | Some("template") => {
            Err("error: template format specified but no template given".to_string())
        }
        Some("custom-columns") => Err("error: custom-columns format specified but no custom columns given".to_string()),
        Some(other) => {
            // cli-runtime's JSONPathPrintFlags: a format with an empty template is refused.
            if let Some(expr) = other.strip_prefix("jsonpath=") {
                return if expr.is_empty() { Err("error: template format specified but no template given".to_string()) } else { Ok(OutputFormat::JsonPath(expr.to_string())) };
            }
            if let Some(expr) = other.strip_prefix("jsonpath-as-json=") {
                return if expr.is_empty() { Err("error: template format specified but no template given".to_string()) } else { Ok(OutputFormat::JsonPathAsJson(expr.to_string())) };
            }
            if let Some(spec) = other.strip_prefix("custom-columns=") {
                return Ok(OutputFormat::CustomColumns(spec.to_string()));
            }
            for format in ["go-template=", "template="] {
                if let Some(text) = other.strip_prefix(format) {
                    return go_template_format(text);
                }
            }
            Err(format!("error: unable to match a printer suitable for the output format {}, allowed formats are: {ALLOWED_FORMATS}", jsonpath::go_quote(other)))
        }
    }
}

/// A Go template's printer, or cli-runtime's error for an empty or broken one.
fn go_template_format(text: &str) -> std::result::Result<OutputFormat, String> {
    if text.is_empty() {
        return Err("error: template format specified but no template given".to_string());
    }
    go_template::Template::parse(text).map(|t| OutputFormat::GoTemplate(Rc::new(t))).map_err(|e| format!("error: error parsing template {text}, {e}"))
}

/// `-o` with `--template` and the template files, as cli-runtime's
/// `PrintFlags.ToPrinter` reads them: `--template` alone means
/// `go-template`; a bare template format takes its template from
/// `--template`; the `-file` formats read the learner's file.
pub fn session_output_format(s: &Session) -> std::result::Result<OutputFormat, String> {
    let template = s.args.value("template").filter(|t| !t.is_empty());
    let output = match (s.args.value("output"), template) {
        (None, Some(_)) => Some("go-template"),
        (output, _) => output,
    };
    let Some(output) = output else { return parse_output_format(None) };
    let lower = output.to_ascii_lowercase();
    if matches!(lower.as_str(), "yaml" | "json" | "name") {
        return parse_output_format(Some(output));
    }
    if output.starts_with("custom-columns") {
        return custom_columns_format(s, output, template);
    }
    const JSONPATH: [&str; 3] = ["jsonpath", "jsonpath-as-json", "jsonpath-file"];
    const GO: [&str; 4] = ["template", "go-template", "go-template-file", "templatefile"];
    let (format, value) = match template {
        // With `--template` the format is named bare; `go-template=…`
        // matches no printer then.
        Some(_) if JSONPATH.iter().chain(GO.iter()).any(|f| output.starts_with(&format!("{f}="))) => {
            return Err(format!("error: unable to match a printer suitable for the output format {}, allowed formats are: {ALLOWED_FORMATS}", jsonpath::go_quote(output)));
        }
        Some(t) => (output, t.to_string()),
        None => match JSONPATH.iter().chain(GO.iter()).find_map(|f| output.strip_prefix(*f).and_then(|r| r.strip_prefix('=')).map(|v| (*f, v))) {
            Some((f, v)) => (f, v.to_string()),
            None => return parse_output_format(Some(output)),
        },
    };
    if !JSONPATH.contains(&format) && !GO.contains(&format) {
        return parse_output_format(Some(output));
    }
    if value.is_empty() {
        return Err("error: template format specified but no template given".to_string());
    }
    let text = if matches!(format, "jsonpath-file" | "go-template-file" | "templatefile") {
        match s.files.entry(&value) {
            Ok(crate::engine::kubectl::FileEntry::File(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(_) => return Err(format!("error: error reading --template {value}, read {value}: is a directory")),
            Err(e) => return Err(format!("error: error reading --template {value}, open {value}: {e}")),
        }
    } else {
        value
    };
    match format {
        "jsonpath" | "jsonpath-file" => {
            jsonpath::Template::parse(&text).map_err(|e| format!("error: error parsing jsonpath {text}, {e}"))?;
            Ok(OutputFormat::JsonPath(text))
        }
        "jsonpath-as-json" => {
            jsonpath::Template::parse(&text).map_err(|e| format!("error: error parsing jsonpath {text}, {e}"))?;
            Ok(OutputFormat::JsonPathAsJson(text))
        }
        _ => go_template_format(&text),
    }
}

/// kubectl get's `CustomColumnsPrintFlags.ToPrinter`: `--template` is the
/// columns of a bare `custom-columns` or the file of a bare
/// `custom-columns-file`; a file is read as the format is parsed.
fn custom_columns_format(s: &Session, output: &str, template: Option<&str>) -> std::result::Result<OutputFormat, String> {
    let (format, value) = match template {
        Some(t) => (output, t),
        None => output.split_once('=').unwrap_or((output, "")),
    };
    if !matches!(format, "custom-columns" | "custom-columns-file") {
        return Err(format!("error: unable to match a printer suitable for the output format {}, allowed formats are: {ALLOWED_FORMATS}", jsonpath::go_quote(output)));
    }
    if value.is_empty() {
        return Err("error: custom-columns format specified but no custom columns given".to_string());
    }
    if format == "custom-columns" {
        return Ok(OutputFormat::CustomColumns(value.to_string()));
    }
    let text = match s.files.entry(value) {
        Ok(crate::engine::kubectl::FileEntry::File(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        // Go opens a directory, and its first read fails.
        Ok(_) => String::new(),
        Err(e) => return Err(format!("error: error reading template {value}, open {value}: {e}")),
    };
    custom_columns_from_file(&text).map(OutputFormat::CustomColumnsFile)
}

/// bufio.Scanner's longest line: a longer one ends the scan.
const MAX_SCANNED_LINE: usize = 64 * 1024;

/// `NewCustomColumnsPrinterFromTemplate`: a line of headers and a line of
/// JSONPath expressions, each split on white space; the rest is unread.
fn custom_columns_from_file(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    const EXPECTED: &str = "Expected format is one line of space separated headers, one line of space separated column specs.";
    let mut lines = text.split_inclusive('\n').map(|l| l.strip_suffix('\n').unwrap_or(l)).map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut next_line = || lines.next().filter(|l| l.len() < MAX_SCANNED_LINE);
    let headers: Vec<&str> = next_line().ok_or_else(|| format!("error: invalid template, missing header line. {EXPECTED}"))?.split_whitespace().collect();
    let specs: Vec<&str> = next_line().ok_or_else(|| format!("error: invalid template, missing spec line. {EXPECTED}"))?.split_whitespace().collect();
    if headers.len() != specs.len() {
        return Err(format!("error: number of headers ({}) and field specifications ({}) don't match", headers.len(), specs.len()));
    }
    headers
        .iter()
        .zip(&specs)
        .map(|(header, spec)| jsonpath::relaxed_expression(spec).map(|expr| (header.to_string(), expr)).map_err(|e| format!("error: {e}")))
        .collect()
}

/// Runs a Go template over `value` as cli-runtime's printer does: what it
/// wrote, and on a failure the debugging lines it writes after it (to the
/// output) and the error kubectl ends with. `raw` is the object's JSON as
/// kubectl marshalled it.
pub fn render_go_template(template: &go_template::Template, value: &Value, allow_missing_keys: bool, raw: &str) -> (String, Option<String>) {
    let mut out = String::new();
    match template.execute(value, !allow_missing_keys, &mut out) {
        Ok(()) => (out, None),
        Err(e) => {
            let source = template.source();
            out.push_str(&format!(
                "Error executing template: {e}. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{source}\n\traw data was:\n\t\t{raw}\n\tobject given to template engine was:\n\t\t{}\n\n",
                go_template::go_value_text(value)
            ));
            (out, Some(format!("error: error executing template {}: {e}", jsonpath::go_quote(source))))
        }
    }
}

/// `deployment.apps/web`: how kubectl names an object in `-o name` and in
/// its "created"/"configured" lines.
pub fn qualified_name(obj: &Object) -> String {
    let rt = resource(obj.resource_id());
    format!("{}/{}", rt.qualified_singular(), obj.meta().name.as_deref().unwrap_or(""))
}

/// Prints objects in any format: one object as itself, several as a `List`
/// (tables print one row each).
pub fn print_objects(s: &mut Session, objects: &[Rc<Object>], format: &OutputFormat) -> Result {
    let now = s.cluster.now();
    let text = match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let opts = TableOptions { wide: *format == OutputFormat::Wide, ..Default::default() };
            render_table(objects, &opts, now)
        }
        other => {
            let (text, error) = render_structured_partly(objects, other, objects.len() == 1, allow_missing_template_keys(s));
            s.out.push_str(&text);
            return match error {
                Some(e) => Err(Error::Message(e)),
                None => Ok(()),
            };
        }
    };
    s.out.push_str(&text);
    Ok(())
}

/// The JSON kubectl prints for several objects.
pub fn list_json(objects: &[Rc<Object>]) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "items": objects.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    })
}

/// `--allow-missing-template-keys` (true unless given false).
pub fn allow_missing_template_keys(s: &Session) -> bool {
    !s.args.has("allow-missing-template-keys") || s.args.flag("allow-missing-template-keys")
}

/// `-o jsonpath=…` (`as_json`: `-o jsonpath-as-json=…`) of `value`, with
/// cli-runtime's wording when the template does not parse or fails on it.
pub fn render_jsonpath(expr: &str, as_json: bool, value: &Value, allow_missing_keys: bool) -> std::result::Result<String, String> {
    let template = jsonpath::Template::parse(expr).map_err(|e| format!("error: error parsing jsonpath {expr}, {e}"))?;
    let text = if as_json { template.execute_as_json(value, allow_missing_keys) } else { template.execute(value, allow_missing_keys) };
    text.map_err(|e| format!("error: {}", jsonpath::execution_error(expr, &e, value)))
}

/// `yaml`, `json`, `name`, `jsonpath` and `custom-columns` output.
/// `single`: the command named exactly one object, so it prints bare rather
/// than inside a `List`.
pub fn render_structured(objects: &[Rc<Object>], format: &OutputFormat, single: bool, allow_missing_keys: bool) -> std::result::Result<String, String> {
    match render_structured_partly(objects, format, single, allow_missing_keys) {
        (text, None) => Ok(text),
        (text, Some(e)) => Err(format!("{text}{e}")),
    }
}

/// As [`render_structured`]: what is printed, and the error that stopped
/// the printer part-way (a custom column or a Go template that fails
/// writes what came before it).
pub fn render_structured_partly(objects: &[Rc<Object>], format: &OutputFormat, single: bool, allow_missing_keys: bool) -> (String, Option<String>) {
    let value = || structured_value(objects, single);
    match format {
        OutputFormat::GoTemplate(t) => {
            let v = value();
            render_go_template(t, &v, allow_missing_keys, &json::to_json_compact(&v))
        }
        OutputFormat::CustomColumns(spec) => match custom_columns(objects, spec, false) {
            Ok(done) => done,
            Err(e) => (String::new(), Some(e)),
        },
        OutputFormat::CustomColumnsFile(columns) => custom_columns_table(objects, columns, false),
        other => match render_whole(objects, other, single, allow_missing_keys) {
            Ok(text) => (text, None),
            Err(e) => (String::new(), Some(e)),
        },
    }
}

/// The one object a command named, or a `List` of them.
fn structured_value(objects: &[Rc<Object>], single: bool) -> Value {
    match (single, objects.first()) {
        (true, Some(o)) if objects.len() == 1 => o.to_json(),
        _ => list_json(objects),
    }
}

fn render_whole(objects: &[Rc<Object>], format: &OutputFormat, single: bool, allow_missing_keys: bool) -> std::result::Result<String, String> {
    let value = || structured_value(objects, single);
    Ok(match format {
        OutputFormat::Name => objects.iter().map(|o| format!("{}\n", qualified_name(o))).collect(),
        OutputFormat::Json => format!("{}\n", json::to_json_indented(&value())),
        OutputFormat::Yaml => yaml::to_yaml(&value()),
        OutputFormat::JsonPath(expr) => render_jsonpath(expr, false, &value(), allow_missing_keys)?,
        OutputFormat::JsonPathAsJson(expr) => render_jsonpath(expr, true, &value(), allow_missing_keys)?,
        OutputFormat::CustomColumns(_) | OutputFormat::CustomColumnsFile(_) | OutputFormat::GoTemplate(_) | OutputFormat::Table | OutputFormat::Wide => return Err("error: a table is not a structured format".to_string()),
    })
}

/// `-o custom-columns=NAME:.metadata.name,…`: the aligned table, and the
/// error that stopped it (kubectl's printer writes the header and the rows
/// before a failing one, then fails).
pub fn custom_columns(objects: &[Rc<Object>], spec: &str, no_headers: bool) -> std::result::Result<(String, Option<String>), String> {
    if spec.is_empty() {
        return Err("error: custom-columns format specified but no custom columns given".to_string());
    }
    let mut columns = Vec::new();
    for part in spec.split(',') {
        let Some((header, expr)) = part.split_once(':') else {
            return Err(format!("error: unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"));
        };
        columns.push((header.to_string(), jsonpath::relaxed_expression(expr).map_err(|e| format!("error: {e}"))?));
    }
    Ok(custom_columns_table(objects, &columns, no_headers))
}

/// The custom columns' aligned table, and the error that stopped it.
pub fn custom_columns_table(objects: &[Rc<Object>], columns: &[(String, String)], no_headers: bool) -> (String, Option<String>) {
    let mut text = String::new();
    if !no_headers {
        text.push_str(&columns.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().join("\t"));
        text.push('\n');
    }
    // Each column's template is parsed as the printer starts, after the header.
    let mut templates = Vec::new();
    for (_, expr) in columns {
        match jsonpath::Template::parse(expr) {
            Ok(t) => templates.push(t),
            Err(e) => return (tabwriter::TABLE.format(&text), Some(format!("error: {e}"))),
        }
    }
    for obj in objects {
        let value = obj.to_json();
        let mut cells = Vec::new();
        for template in &templates {
            let found = match template.find_results(&value, true) {
                Ok(found) => found,
                Err(e) => return (tabwriter::TABLE.format(&text), Some(format!("error: {e}"))),
            };
            let mut shown: Vec<String> = Vec::new();
            if found.first().is_none_or(|first| first.is_empty()) {
                shown.push("<none>".to_string());
            }
            shown.extend(found.iter().flatten().map(|v| jsonpath::go_sprint(v)));
            cells.push(shown.join(","));
        }
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    (tabwriter::TABLE.format(&text), None)
}

/// How a table is decorated.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    pub wide: bool,
    /// `-A`: a NAMESPACE column first.
    pub with_namespace: bool,
    /// Several kinds requested: names print as `deployment.apps/web`.
    pub with_kind: bool,
    pub no_headers: bool,
    /// `-L key`: one column per label key.
    pub label_columns: Vec<String>,
    /// `--show-labels`.
    pub show_labels: bool,
}

/// A table of objects of one kind, aligned as kubectl aligns it.
pub fn render_table(objects: &[Rc<Object>], opts: &TableOptions, now: VirtualTime) -> String {
    let mut text = String::new();
    for (i, obj) in objects.iter().enumerate() {
        let row = tables::row(obj, opts.wide, now);
        let mut cells = row.cells;
        if opts.with_kind {
            if let Some(c) = row.name_column.and_then(|n| cells.get_mut(n)) {
                *c = format!("{}/{}", resource(obj.resource_id()).qualified_singular(), c);
            }
        }
        let labels = obj.meta().labels.as_ref();
        for key in &opts.label_columns {
            cells.push(labels.and_then(|l| l.get(key)).cloned().unwrap_or_default());
        }
        if opts.show_labels {
            cells.push(tables::format_labels(labels));
        }
        if opts.with_namespace {
            cells.insert(0, obj.meta().namespace.clone().unwrap_or_default());
        }
        if i == 0 && !opts.no_headers {
            let mut headers: Vec<String> = row.headers.iter().map(|h| h.to_string()).collect();
            for key in &opts.label_columns {
                headers.push(key.rsplit('/').next().unwrap_or(key).to_uppercase());
            }
            if opts.show_labels {
                headers.push("LABELS".into());
            }
            if opts.with_namespace {
                headers.insert(0, "NAMESPACE".into());
            }
            text.push_str(&headers.join("\t"));
            text.push('\n');
        }
        let cells: Vec<String> = cells.iter().map(|c| sanitize_cell(c)).collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    tabwriter::TABLE.format(&text)
}

/// kubectl cuts a cell at its first line break and marks the cut with `...`.
fn sanitize_cell(cell: &str) -> String {
    match cell.find(['\n', '\r', '\u{c}']) {
        Some(i) => format!("{}...", &cell[..i]),
        None => cell.replace('\t', " "),
    }
}

/// YAML as kubectl prints it.
pub fn to_yaml(value: &Value) -> String {
    yaml::to_yaml(value)
}

/// What `kubectl get pods` shows in STATUS.
pub fn pod_status(pod: &Pod) -> String {
    tables::pod_summary(pod, VirtualTime::ZERO).status
}

/// kubectl's `HumanDuration` for an age in milliseconds (`45s`, `3m10s`, `5h`, `2d3h`, `1y20d`).
pub fn human_duration(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{}h", hours / 24, h) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{}d", hours / 24 / 365, days) };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests;
