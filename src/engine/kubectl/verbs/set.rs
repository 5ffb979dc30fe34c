//! `kubectl set image|env|resources|serviceaccount`. `set image` is its own
//! here; the others follow kubectl 1.33's shape (staging/…/kubectl/pkg/cmd/set):
//! read the objects (with `--local`, only the `-f` files), change each
//! one's pod template, skip any left as it was, and patch the rest on the
//! server, or print them for `--local` and `--dry-run=client`.

mod env;
mod selector;
mod subject;
pub(super) use env::env_var_name_problems;
mod resources;
mod service_account;

use std::rc::Rc;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::Value;

use crate::engine::api::{resource, Object};
use crate::engine::apiserver::decode;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::printers::{self, go_types, OutputFormat};
use crate::engine::kubectl::targets::{self, Target};
use crate::engine::kubectl::verbs::apply::write_output_format;
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    match s.args.command.as_str() {
        "set image" => image(s),
        "set env" => env::run(s),
        "set resources" => resources::run(s),
        "set serviceaccount" => service_account::run(s),
        "set subject" => subject::run(s),
        "set selector" => selector::run(s),
        command => Err(Error::Message(format!("error: \"kubectl {command}\" is not available in this simulation"))),
    }
}

/// `kubectl set image TYPE/NAME CONTAINER=IMAGE…` (`*=IMAGE` for every
/// container), on the server's objects or, with `--local`, the files'.
fn image(s: &mut Session) -> Result {
    let words = s.args.positionals.clone();
    let mut resources = Vec::new();
    let mut images: Vec<(String, String)> = Vec::new();
    for w in &words {
        match w.split_once('=') {
            Some((c, i)) => images.push((c.to_string(), i.to_string())),
            None => resources.push(w.clone()),
        }
    }
    if images.is_empty() {
        return Err(Error::Message("error: at least one image update is required".to_string()));
    }
    let dry = DryRun::from_session(s)?;
    if s.args.flag("local") && dry == DryRun::Server {
        return Err(Error::Message(LOCAL_DRY_RUN_SERVER.to_string()));
    }
    let mode = Mode::from_session(s)?;
    let objects = find(s, &resources, mode.local)?;
    let mut printer = Printer::new("image updated");
    let mut failures = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        let spec = match template_spec(&mut next) {
            Ok(spec) => spec,
            Err(e) => {
                failures.push(Failure::Text(format!("error: {} {e}\n", found.object_name)));
                continue;
            }
        };
        for (container, image) in &images {
            let mut found_one = false;
            for c in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
                if container == "*" || &c.name == container {
                    c.image = Some(image.clone());
                    found_one = true;
                }
            }
            // Reported, but the other images are still set.
            if !found_one && container != "*" {
                failures.push(Failure::Text(format!("unable to find container named \"{container}\"")));
            }
        }
        record(s, &mut next);
        // kubectl skips an object its change leaves as it was (an empty
        // patch): nothing is written and nothing printed.
        if unchanged(&found.object, &next) {
            continue;
        }
        let stored = write(s, &mode, found, next, "failed to patch image update to pod template: ");
        if let Err(f) = stored.and_then(|stored| printer.print(s, &mode, &stored)) {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}

/// kubectl's `UpdatePodSpecForObject`: the pod spec a `set` command changes,
/// made empty where the object has none (Go's structs are never absent),
/// or kubectl's error for an object without one.
fn template_spec(obj: &mut Object) -> std::result::Result<&mut PodSpec, String> {
    let spec = match obj {
        Object::Deployment(d) => d.spec_mut().template.spec.get_or_insert_with(Default::default),
        Object::ReplicaSet(r) => r.spec_mut().template.get_or_insert_with(Default::default).spec.get_or_insert_with(Default::default),
        Object::StatefulSet(r) => r.spec_mut().template.spec.get_or_insert_with(Default::default),
        Object::DaemonSet(r) => r.spec_mut().template.spec.get_or_insert_with(Default::default),
        Object::ReplicationController(r) => r
            .spec
            .get_or_insert_with(Default::default)
            .template
            .get_or_insert_with(Default::default)
            .spec
            .get_or_insert_with(Default::default),
        Object::Job(j) => j.spec_mut().template.spec.get_or_insert_with(Default::default),
        Object::CronJob(c) => c
            .spec
            .get_or_insert_with(Default::default)
            .job_template
            .spec
            .get_or_insert_with(Default::default)
            .template
            .spec
            .get_or_insert_with(Default::default),
        Object::Pod(p) => p.spec_mut(),
        other => {
            let rt = resource(other.resource_id());
            return Err(format!("the object is not a pod or does not have a pod template: *{}.{}", rt.version, rt.kind));
        }
    };
    Ok(spec)
}

/// kubectl's `selectContainers` over a pod spec: the containers `pattern`
/// names, then the init containers it names.
fn select_containers<'a>(spec: &'a mut PodSpec, pattern: &str) -> Vec<&'a mut Container> {
    let containers = spec.containers.iter_mut().filter(|c| select_string(&c.name, pattern));
    let init = spec.init_containers.iter_mut().flatten().filter(|c| select_string(&c.name, pattern));
    containers.chain(init).collect()
}

/// kubectl's `selectString`: `*` matches anything. Kept with its quirks
/// (positions compared across slices, the first part not anchored), as
/// they decide which containers a pattern selects.
fn select_string(s: &str, spec: &str) -> bool {
    if spec == "*" {
        return true;
    }
    if !spec.contains('*') {
        return s == spec;
    }
    let bytes = s.as_bytes();
    let parts: Vec<&str> = spec.split('*').collect();
    let mut pos = 0usize;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let rest = bytes.get(pos..).unwrap_or(&[]);
        // Go's strings.Index on `s[pos:]`: relative to `pos`, -1 when absent.
        let Some(next) = rest.windows(part.len()).position(|w| w == part.as_bytes()) else {
            return false;
        };
        if next < pos || (i == parts.len() - 1 && bytes.len() != part.len() + next) {
            return false;
        }
        pos = next;
    }
    true
}

/// One object a `set` command changes, as kubectl's builder found it.
pub struct Found {
    pub object: Rc<Object>,
    /// kubectl's `Info.ObjectName`, which its per-object errors start with:
    /// `deployments/web` from the server, `deployment.apps/web` and a line
    /// break from a `--local` file.
    pub object_name: String,
    /// Where a change is written back; `None` with `--local`.
    pub target: Option<Target>,
}

/// What a `set` command prints and writes: `--local`, `--dry-run`, `-o`.
pub struct Mode {
    pub local: bool,
    pub dry: DryRun,
    pub format: Option<OutputFormat>,
}

impl Mode {
    /// Reads `--dry-run`, then `-o`, each with kubectl's error.
    pub fn from_session(s: &Session) -> std::result::Result<Mode, Error> {
        let dry = DryRun::from_session(s)?;
        let format = output_format(s)?;
        Ok(Mode { local: s.args.flag("local"), dry, format })
    }

    /// kubectl's check that `--local` cannot ask the server for a dry run.
    pub fn check_local(&self) -> std::result::Result<(), Error> {
        if self.local && self.dry == DryRun::Server {
            return Err(Error::Message(LOCAL_DRY_RUN_SERVER.to_string()));
        }
        Ok(())
    }
}

/// The formats a `set` command's printer accepts: the writers' ones, with
/// a template that does not parse failing before anything is changed.
fn output_format(s: &Session) -> std::result::Result<Option<OutputFormat>, Error> {
    match write_output_format(s)? {
        Some(OutputFormat::JsonPath(expr)) => match printers::jsonpath::Template::parse(&expr) {
            Ok(_) => Ok(Some(OutputFormat::JsonPath(expr))),
            Err(e) => Err(Error::Message(format!("error: error parsing jsonpath {expr}, {e}"))),
        },
        Some(OutputFormat::JsonPathAsJson(expr)) => match printers::jsonpath::Template::parse(&expr) {
            Ok(_) => Ok(Some(OutputFormat::JsonPathAsJson(expr))),
            Err(e) => Err(Error::Message(format!("error: error parsing jsonpath {expr}, {e}"))),
        },
        format => Ok(format),
    }
}

pub(super) const LOCAL_DRY_RUN_SERVER: &str = "error: cannot specify --local and --dry-run=server - did you mean --dry-run=client?";

/// kubectl's `LocalResourceError`: `--local` takes objects from files only.
const LOCAL_RESOURCE_ERROR: &str = "error: you must specify resources by --filename when --local is set.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'";

/// The objects `words` (or `-f`, `-l`, `--all`) name, read as kubectl's
/// builder reads them: from the `-f` files alone with `--local`, else from
/// the server. Any object that cannot be read fails the whole command
/// before anything changes, as `Infos()` does.
pub fn find(s: &mut Session, words: &[String], local: bool) -> std::result::Result<Vec<Found>, Error> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    if local {
        if !manifest::file_sources_given(s) {
            return Err(Error::Message(targets::NO_RESOURCES.to_string()));
        }
        for item in manifest::load_with(s, false) {
            let Some(info) = manifest::kept(item, &mut failures) else { continue };
            let value = info.local_value();
            match decode::decode_typed(info.rid, &value) {
                Ok(object) => {
                    let rt = resource(info.rid);
                    let kind = rt.kind.to_lowercase();
                    let object_name =
                        if rt.group.is_empty() { format!("{kind}/{}", info.name) } else { format!("{kind}.{}/{}\n", rt.group, info.name) };
                    found.push(Found { object: Rc::new(object), object_name, target: None });
                }
                Err(e) => failures.push(Failure::Text(format!("unable to decode {:?}: {e}", info.source))),
            }
        }
    } else {
        check_builder_arguments(s, words)?;
        let (targets, read_failures) = targets::resolve(s, words, true)?;
        failures.extend(read_failures);
        for t in targets {
            match targets::fetch(s, &t) {
                Ok(object) => {
                    let object_name = format!("{}/{}", resource(t.rid).plural, t.name);
                    found.push(Found { object, object_name, target: Some(t) });
                }
                Err(f) => failures.push(f),
            }
        }
    }
    if failures.is_empty() {
        return Ok(found);
    }
    Err(manifest::finish(s, failures).err().unwrap_or(Error::Silent))
}

/// The resource builder's refusals of arguments that `targets::resolve`
/// leaves to other readings: names beside `-f`, a selector beside `TYPE/NAME`.
fn check_builder_arguments(s: &Session, words: &[String]) -> std::result::Result<(), Error> {
    if words.is_empty() {
        return Ok(());
    }
    let tuples = words.iter().any(|w| w.contains('/'));
    if manifest::file_sources_given(s) {
        return Err(Error::Message(if tuples {
            "error: resource/name arguments cannot be provided when a path is specified".to_string()
        } else {
            "error: when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well".to_string()
        }));
    }
    if tuples && s.args.value("selector").is_some() {
        return Err(Error::Message("error: selectors and the all flag cannot be used when passing resource/name arguments".to_string()));
    }
    Ok(())
}

const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// `--record`: kubectl's ChangeCauseRecorder sets the change cause to the
/// command line on the object it changes (with `--record=false` or
/// without the flag it records nothing).
pub fn record(s: &Session, obj: &mut Object) {
    if s.args.flag("record") {
        obj.meta_mut().annotations.get_or_insert_with(Default::default).insert(CHANGE_CAUSE.to_string(), s.args.recorded_command_line());
    }
}

/// kubectl's typed view of an object: what its patches are computed from
/// and what `-o` prints.
pub fn typed_json(obj: &Object) -> Value {
    go_types::typed_view(resource(obj.resource_id()).kind, &obj.to_json())
}

/// Whether a change left the object as it was: kubectl computes a patch
/// between the two encodings and skips an empty one.
pub fn unchanged(before: &Object, after: &Object) -> bool {
    typed_json(before) == typed_json(after)
}

/// Prints objects as a `set` command's printer does: one line per object,
/// or each object in the `-o` format (YAML documents separated by `---`).
pub struct Printer {
    /// `env updated`, `resource requirements updated`…
    pub operation: String,
    printed: usize,
}

impl Printer {
    pub fn new(operation: &str) -> Printer {
        Printer { operation: operation.to_string(), printed: 0 }
    }

    pub fn print(&mut self, s: &mut Session, mode: &Mode, obj: &Object) -> std::result::Result<(), Failure> {
        let kind = resource(obj.resource_id()).kind;
        let text = match &mode.format {
            None => format!("{} {}{}\n", printers::qualified_name(obj), self.operation, mode.dry.suffix()),
            Some(OutputFormat::Name) => format!("{}\n", printers::qualified_name(obj)),
            Some(OutputFormat::Json) => format!("{}\n", go_types::to_json(kind, &typed_json(obj))),
            Some(OutputFormat::Yaml) => {
                let separator = if self.printed > 0 { "---\n" } else { "" };
                format!("{separator}{}", printers::to_yaml(&typed_json(obj)))
            }
            Some(OutputFormat::JsonPath(expr)) => printers::render_jsonpath(expr, false, &typed_json(obj), printers::allow_missing_template_keys(s)).map_err(|e| Failure::Text(e.trim_start_matches("error: ").to_string()))?,
            Some(OutputFormat::JsonPathAsJson(expr)) => printers::render_jsonpath(expr, true, &typed_json(obj), printers::allow_missing_template_keys(s)).map_err(|e| Failure::Text(e.trim_start_matches("error: ").to_string()))?,
            Some(OutputFormat::GoTemplate(t)) => {
                let value = typed_json(obj);
                let (text, error) = printers::render_go_template(t, &value, printers::allow_missing_template_keys(s), &printers::json::to_json_compact(&value));
                self.printed += 1;
                s.out.push_str(&text);
                return match error {
                    Some(e) => Err(Failure::Text(e.trim_start_matches("error: ").to_string())),
                    None => Ok(()),
                };
            }
            Some(_) => return Err(Failure::Text("a table is not a structured format".to_string())),
        };
        self.printed += 1;
        s.out.push_str(&text);
        Ok(())
    }
}

/// The end of kubectl's patch loop for one changed object: with `--local`
/// or `--dry-run=client` the object as changed, else what the server kept
/// of it. `patch_error` prefixes a refused write.
pub fn write(s: &mut Session, mode: &Mode, found: &Found, changed: Object, patch_error: &str) -> std::result::Result<Rc<Object>, Failure> {
    if mode.local || mode.dry == DryRun::Client || found.target.is_none() {
        return Ok(Rc::new(changed));
    }
    s.cluster.sim.api.update_with(changed, false, mode.dry == DryRun::Server).map_err(|e| Failure::Text(format!("{patch_error}{}", e.message)))
}

#[cfg(test)]
mod tests {
    use super::select_string;

    #[test]
    fn selects_containers_as_kubectl_does() {
        assert!(select_string("nginx", "*"));
        assert!(select_string("nginx", "nginx"));
        assert!(!select_string("nginx", "ngin"));
        assert!(select_string("nginx", "ng*"));
        assert!(select_string("nginx", "*inx"));
        assert!(!select_string("nginx", "*ngi"));
        // The first part is not anchored: kubectl selects `xnginx` with `ng*`.
        assert!(select_string("xnginx", "ng*"));
        assert!(!select_string("web", "ng*"));
        assert!(select_string("app-main", "app*main"));
    }
}

#[cfg(test)]
mod command_tests;
