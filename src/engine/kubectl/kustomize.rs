//! `kubectl kustomize DIR` and `-k DIR`: the subset of kustomize (api
//! v0.19.0, the version kubectl 1.33 bundles) a learner's overlays use.
//! `KustTarget` reads `resources` (files and directories with their own
//! kustomization), runs the generators (`configMapGenerator`,
//! `secretGenerator`) and then the builtin transformers in its order
//! (patchesStrategicMerge, patches, namespace, prefix, suffix, labels,
//! annotations, patchesJson6902, replicas, images); at the top the hash suffixes are added, the references to
//! renamed objects fixed (`nameReference`) and the objects sorted in the
//! legacy kind order. Every other kustomization field is refused by name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::engine::apiserver::{decode, patch};
use crate::engine::kubectl::{FileEntry, FileSource};

const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// kubectl's working directory on the learner's machine, which its errors
/// name paths under (kustomize makes every path absolute).
const WORKING_DIRECTORY: &str = "/root";
/// Bases within bases: deeper than this is a cycle.
const MAX_DEPTH: usize = 16;

/// The fields this simulation does not offer, refused by name.
const REFUSED_FIELDS: &[&str] = &[
    "openapi", "imageTags", "replacements", "vars", "sortOptions", "components", "crds",
    "helmGlobals", "helmCharts", "helmChartInflationGenerator", "configurations", "generators", "transformers", "validators",
    "buildMetadata",
];
const OFFERED_FIELDS: &[&str] = &[
    "apiVersion", "kind", "metadata", "namePrefix", "nameSuffix", "namespace", "commonLabels", "labels", "commonAnnotations", "patches",
    "images", "replicas", "resources", "bases", "configMapGenerator", "secretGenerator", "generatorOptions", "patchesStrategicMerge",
    "patchesJson6902",
];

/// What a build printed on stderr (kustomize's deprecation warnings, which
/// come even when the build then fails) and its outcome.
pub struct Build {
    pub warnings: Vec<String>,
    pub result: Result<Vec<Value>, String>,
}

/// Builds the kustomization in `dir` (relative to kubectl's working
/// directory) into its objects, in kustomize's output order.
pub fn build(files: &dyn FileSource, dir: &str) -> Build {
    build_with(files, dir, true)
}

/// As [`build`]; `root_only` false is `--load-restrictor
/// LoadRestrictionsNone`, where a file may come from outside the
/// kustomization's directory.
pub fn build_with(files: &dyn FileSource, dir: &str, root_only: bool) -> Build {
    let mut builder = Builder { files, warnings: Vec::new(), root_only };
    let result = builder.build_top(dir);
    Build { warnings: builder.warnings, result }
}

/// The objects as `kustomize build` prints them: YAML documents between `---` lines.
pub fn to_yaml(objects: &[Value]) -> String {
    objects.iter().map(crate::engine::kubectl::printers::to_yaml).collect::<Vec<_>>().join("---\n")
}

/// One object with what kustomize keeps beside it.
#[derive(Clone, Debug)]
struct Resource {
    value: Value,
    /// Every name it had, the first from its file or generator: references
    /// to any of them are fixed at the end.
    names: Vec<String>,
    /// A generated object whose name gets its content's hash.
    needs_hash: bool,
}

impl Resource {
    fn new(value: Value, needs_hash: bool) -> Resource {
        let name = str_at(&value, &["metadata", "name"]).to_string();
        Resource { value, names: vec![name], needs_hash }
    }

    fn name(&self) -> &str {
        str_at(&self.value, &["metadata", "name"])
    }

    fn namespace(&self) -> &str {
        str_at(&self.value, &["metadata", "namespace"])
    }

    fn kind(&self) -> &str {
        str_at(&self.value, &["kind"])
    }

    /// (group, version) of its apiVersion.
    fn group_version(&self) -> (&str, &str) {
        split_api_version(str_at(&self.value, &["apiVersion"]))
    }

    fn set_name(&mut self, name: String) {
        if let Some(meta) = self.value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("name".into(), Value::String(name.clone()));
        }
        if !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// kyaml's `ResId.String()`: `Deployment.v1.apps/web.[noNs]`.
    fn id(&self) -> String {
        let (group, version) = self.group_version();
        let or = |s: &str, none: &str| if s.is_empty() { none.to_string() } else { s.to_string() };
        format!(
            "{}.{}.{}/{}.{}",
            or(self.kind(), "[noKind]"),
            or(version, "[noVer]"),
            or(group, "[noGrp]"),
            self.name(),
            or(self.namespace(), "[noNs]")
        )
    }

    /// kustomize asks its OpenAPI data; a kind it does not know is namespaced.
    fn is_cluster_scoped(&self) -> bool {
        decode::resolve_kind(&self.value, "").is_ok_and(|rid| !crate::engine::api::resource(rid).namespaced)
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

fn str_at<'v>(value: &'v Value, path: &[&str]) -> &'v str {
    let mut at = value;
    for key in path {
        match at.get(key) {
            Some(next) => at = next,
            None => return "",
        }
    }
    at.as_str().unwrap_or("")
}

/// `path.Clean` of a slash path.
fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean(path)
    } else {
        clean(&format!("{dir}/{path}"))
    }
}

/// The loader's `LoadRestrictionsRootOnly`: files only in or below the kustomization's directory.
fn below(dir: &str, path: &str) -> bool {
    let (dir, path) = (absolute(dir), absolute(path));
    path == dir || path.starts_with(&format!("{}/", dir.trim_end_matches('/')))
}

fn absolute(path: &str) -> String {
    join(WORKING_DIRECTORY, path)
}

/// A kustomization's `map[string]string` field, type-checked as Go's
/// decoder does.
fn string_map(value: Option<&Value>, go_field: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::Null => {
                        out.insert(k.clone(), String::new());
                    }
                    other => return Err(unmarshal_error(other, go_field, "string")),
                }
            }
        }
        Some(other) => return Err(unmarshal_error(other, go_field, "map[string]string")),
    }
    Ok(out)
}

fn string_list(value: Option<&Value>, go_field: &str) -> Result<Vec<String>, String> {
    typed_string_list(value, go_field, "string")
}

/// A list of a Go string type (`[]types.PatchStrategicMerge` is one).
fn typed_string_list(value: Option<&Value>, go_field: &str, go_type: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                other => Err(unmarshal_error(other, go_field, go_type)),
            })
            .collect(),
        Some(other) => Err(unmarshal_error(other, go_field, &format!("[]{go_type}"))),
    }
}

fn string_field(value: Option<&Value>, go_field: &str) -> Result<String, String> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(unmarshal_error(other, go_field, "string")),
    }
}

fn bool_field(value: Option<&Value>, go_field: &str) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(unmarshal_error(other, go_field, "bool")),
    }
}

fn objects<'v>(value: Option<&'v Value>, go_field: &str, go_type: &str) -> Result<Vec<&'v Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .filter(|item| !item.is_null())
            .map(|item| item.as_object().ok_or_else(|| unmarshal_error(item, go_field, go_type)))
            .collect(),
        Some(other) => Err(unmarshal_error(other, go_field, &format!("[]{go_type}"))),
    }
}

/// encoding/json's `UnmarshalTypeError`, as kustomize wraps it.
fn unmarshal_error(value: &Value, go_field: &str, go_type: &str) -> String {
    let found = json_kind(value);
    format!("invalid Kustomization: json: cannot unmarshal {found} into Go struct field {go_field} of type {go_type}")
}

/// Go's strict decoding: a field the struct does not have.
fn check_fields(map: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!("invalid Kustomization: json: unknown field {unknown:?}")),
        None => Ok(()),
    }
}

fn refused(what: &str) -> String {
    format!(
        "kustomize's {what} is not part of this simulation (it offers resources, namespace, namePrefix, nameSuffix, labels, commonLabels, commonAnnotations, images, replicas, configMapGenerator, secretGenerator, generatorOptions, patches, patchesStrategicMerge and patchesJson6902)"
    )
}

struct Builder<'a> {
    files: &'a dyn FileSource,
    warnings: Vec<String>,
    /// The loader's restriction: files only from in or below the root.
    root_only: bool,
}

impl Builder<'_> {
    fn build_top(&mut self, dir: &str) -> Result<Vec<Value>, String> {
        match self.files.entry(dir) {
            Err(_) => {
                return Err(format!(
                    "must build at directory: not a valid directory: evalsymlink failure on '{dir}' : lstat {}: no such file or directory",
                    absolute(dir)
                ))
            }
            Ok(FileEntry::File(_)) => return Err(format!("must build at directory: '{dir}': file is not directory")),
            Ok(FileEntry::Dir(_)) => {}
        }
        let mut resources = self.accumulate(&clean(dir), &mut Vec::new())?;
        add_hashes(&mut resources);
        fix_name_references(&mut resources);
        legacy_sort(&mut resources);
        Ok(resources.into_iter().map(|r| r.value).collect())
    }

    /// `LoadKustFile`: exactly one of the recognized names.
    fn kustomization(&mut self, dir: &str) -> Result<Map<String, Value>, String> {
        let mut found = Vec::new();
        for name in KUSTOMIZATION_FILE_NAMES {
            if let Ok(FileEntry::File(bytes)) = self.files.entry(&join(dir, name)) {
                found.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        let text = match found.len() {
            0 => {
                return Err(format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                    absolute(dir)
                ))
            }
            1 => found.remove(0),
            _ => return Err(format!("Found multiple kustomization files under: {}\n", absolute(dir))),
        };
        // The kustomization is read with sigs.k8s.io/yaml (go-yaml v2's scalars).
        let parsed = decode::parse_manifests(&text);
        if let Some(e) = parsed.error {
            return Err(format!("invalid Kustomization: {}", e.message.trim_start_matches("error converting YAML to JSON: ")));
        }
        let k = match parsed.documents.into_iter().next().map(|d| d.value) {
            Some(Value::Object(map)) => map,
            None | Some(Value::Null) => return Err("kustomization.yaml is empty".to_string()),
            Some(other) => return Err(unmarshal_error(&other, "", "types.Kustomization").replace("Go struct field  of type", "Go value of type")),
        };
        let mut known: Vec<&str> = OFFERED_FIELDS.to_vec();
        known.extend_from_slice(REFUSED_FIELDS);
        check_fields(&k, &known)?;
        // Go's decoder types the patch fields with the rest of the file,
        // before any deprecation warning.
        typed_string_list(k.get("patchesStrategicMerge"), "Kustomization.patchesStrategicMerge", "types.PatchStrategicMerge")?;
        for field in ["patches", "patchesJson6902"] {
            for p in objects(k.get(field), &format!("Kustomization.{field}"), "types.Patch")? {
                check_fields(p, &["path", "patch", "target", "options"])?;
                string_field(p.get("path"), &format!("Patch.{field}.path"))?;
                string_field(p.get("patch"), &format!("Patch.{field}.patch"))?;
                Target::read(p.get("target"), field)?;
                if let Some(options) = p.get("options").filter(|o| !o.is_null() && !o.is_object()) {
                    return Err(unmarshal_error(options, &format!("Patch.{field}.options"), "map[string]bool"));
                }
            }
        }
        // `CheckDeprecatedFields`, printed as the file is loaded.
        let deprecated = [
            ("bases", "# Warning: 'bases' is deprecated. Please use 'resources' instead."),
            ("commonLabels", "# Warning: 'commonLabels' is deprecated. Please use 'labels' instead."),
            ("imageTags", "# Warning: 'imageTags' is deprecated. Please use 'images' instead."),
            ("patchesJson6902", "# Warning: 'patchesJson6902' is deprecated. Please use 'patches' instead."),
            ("patchesStrategicMerge", "# Warning: 'patchesStrategicMerge' is deprecated. Please use 'patches' instead."),
        ];
        for (field, text) in deprecated {
            if k.get(field).is_some_and(|v| !v.is_null()) {
                self.warnings.push(format!("{text} Run 'kustomize edit fix' to update your Kustomization automatically."));
            }
        }
        if k.get("vars").is_some_and(|v| !v.is_null()) {
            self.warnings.push(
                "# Warning: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization automatically."
                    .to_string(),
            );
        }
        if k.iter().all(|(field, value)| value.is_null() || field == "apiVersion" || field == "kind") {
            return Err("kustomization.yaml is empty".to_string());
        }
        let kind = string_field(k.get("kind"), "Kustomization.kind")?;
        if kind == "Component" {
            return Err(refused("kind Component"));
        }
        // `EnforceFields`, after `FixKustomization` filled in the kind.
        let kind = if kind.is_empty() { "Kustomization".to_string() } else { kind };
        let api_version = string_field(k.get("apiVersion"), "Kustomization.apiVersion")?;
        let mut problems = Vec::new();
        if kind != "Kustomization" {
            problems.push("kind should be Kustomization or Component".to_string());
        }
        if !api_version.is_empty() && api_version != "kustomize.config.k8s.io/v1beta1" {
            problems.push(format!("apiVersion for {kind} should be kustomize.config.k8s.io/v1beta1"));
        }
        if !problems.is_empty() {
            return Err(format!("Failed to read kustomization file under {}:\n{}", absolute(dir), problems.join("\n")));
        }
        if let Some(field) = REFUSED_FIELDS.iter().find(|f| k.get(**f).is_some_and(|v| !v.is_null())) {
            return Err(refused(&format!("'{field}' field")));
        }
        Ok(k)
    }

    /// `accumulateTarget`: resources, generators, transformers.
    fn accumulate(&mut self, dir: &str, roots: &mut Vec<String>) -> Result<Vec<Resource>, String> {
        if roots.len() > MAX_DEPTH {
            return Err(format!("cycle detected: kustomizations nest deeper than {MAX_DEPTH} at '{}'", absolute(dir)));
        }
        roots.push(absolute(dir));
        let built = self.accumulate_in(dir, roots);
        roots.pop();
        built
    }

    fn accumulate_in(&mut self, dir: &str, roots: &mut Vec<String>) -> Result<Vec<Resource>, String> {
        let k = self.kustomization(dir)?;
        let mut paths = string_list(k.get("resources"), "Kustomization.resources")?;
        paths.extend(string_list(k.get("bases"), "Kustomization.bases")?);
        let mut resources: Vec<Resource> = Vec::new();
        for path in paths {
            let more = self.accumulate_path(dir, &path, roots).map_err(|e| format!("accumulating resources: {e}"))?;
            for r in more {
                if resources.iter().any(|have| have.id() == r.id()) {
                    return Err(format!(
                        "accumulating resources: accumulation err='merging resources from '{path}': may not add resource with an already registered id: {}': must build at directory: '{}': file is not directory",
                        r.id(),
                        absolute(&join(dir, &path))
                    ));
                }
                resources.push(r);
            }
        }
        let options = GeneratorOptions::read(k.get("generatorOptions"), "Kustomization.generatorOptions")?.unwrap_or_default();
        for args in objects(k.get("configMapGenerator"), "Kustomization.configMapGenerator", "types.ConfigMapArgs")? {
            let generated = self.generate(dir, args, false, &options)?;
            absorb(&mut resources, generated)?;
        }
        for args in objects(k.get("secretGenerator"), "Kustomization.secretGenerator", "types.SecretArgs")? {
            let generated = self.generate(dir, args, true, &options)?;
            absorb(&mut resources, generated)?;
        }
        self.transform(dir, &k, &mut resources)?;
        Ok(resources)
    }

    /// `accumulateResources`: a file of objects, else a directory with its
    /// own kustomization.
    fn accumulate_path(&mut self, dir: &str, path: &str, roots: &mut Vec<String>) -> Result<Vec<Resource>, String> {
        if path.contains("://") || path.starts_with("github.com/") || path.starts_with("git@") {
            return Err(refused(&format!("remote resource '{path}'")));
        }
        let full = join(dir, path);
        match self.files.entry(&full) {
            Ok(FileEntry::File(_)) if self.root_only && !below(dir, &full) => Err(format!(
                "accumulation err='accumulating resources from '{path}': security; file '{}' is not in or below '{}'': must build at directory: '{}': file is not directory",
                absolute(&full),
                absolute(dir),
                absolute(&full)
            )),
            Ok(FileEntry::File(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                let parsed = decode::parse_manifests(&text);
                if let Some(e) = parsed.error {
                    return Err(format!(
                        "accumulating resources from '{path}': MalformedYAMLError: {} in File: {path}",
                        e.message.trim_start_matches("error converting YAML to JSON: ")
                    ));
                }
                let mut out = Vec::new();
                for doc in parsed.documents {
                    let mut items = vec![doc.value];
                    // A List's items are the objects.
                    if items.first().is_some_and(|v| str_at(v, &["kind"]).ends_with("List") && v.get("items").is_some_and(Value::is_array)) {
                        items = items.first().and_then(|v| v.get("items")).and_then(Value::as_array).cloned().unwrap_or_default();
                    }
                    for value in items.into_iter().filter(|v| !v.is_null()) {
                        if str_at(&value, &["kind"]).is_empty() {
                            return Err(format!(
                                "accumulation err='accumulating resources from '{path}': missing kind in object {}': must build at directory: '{}': file is not directory",
                                go_object_hint(&value),
                                absolute(&full)
                            ));
                        }
                        out.push(Resource::new(value, false));
                    }
                }
                Ok(out)
            }
            Ok(FileEntry::Dir(_)) => {
                let at = absolute(&full);
                // The loader's cycle check: the new root may not hold the
                // current root or one it came through, the nearest named.
                if let Some(visited) = roots.iter().rev().find(|root| **root == at || root.starts_with(&format!("{}/", at.trim_end_matches('/')))) {
                    return Err(format!(
                        "accumulation err='accumulating resources from '{path}': '{at}' must resolve to a file': cycle detected: candidate root '{at}' contains visited root '{visited}'"
                    ));
                }
                self.accumulate(&full, roots).map_err(|e| {
                // A missing kustomization fails in making the target, others in its accumulation.
                if e.starts_with("unable to find one of") {
                    format!("accumulation err='accumulating resources from '{path}': '{at}' must resolve to a file': couldn't make target for path '{at}': {e}")
                } else {
                    format!("accumulation err='accumulating resources from '{path}': '{at}' must resolve to a file': recursed accumulation of path '{at}': {e}")
                }
                })
            }
            Err(_) => {
                let at = absolute(&full);
                Err(format!(
                    "accumulation err='accumulating resources from '{path}': evalsymlink failure on '{at}' : lstat {at}: no such file or directory': must build at directory: not a valid directory: evalsymlink failure on '{at}' : lstat {at}: no such file or directory"
                ))
            }
        }
    }

    /// `MakeConfigMap` / `MakeSecret`.
    fn generate(&mut self, dir: &str, args: &Map<String, Value>, secret: bool, global: &GeneratorOptions) -> Result<Resource, String> {
        let go_struct = if secret { "SecretArgs" } else { "ConfigMapArgs" };
        let mut known = vec!["name", "namespace", "behavior", "literals", "files", "envs", "env", "options"];
        if secret {
            known.push("type");
        }
        check_fields(args, &known)?;
        let field = |name: &str| format!("{go_struct}.{name}");
        let name = string_field(args.get("name"), &field("name"))?;
        let namespace = string_field(args.get("namespace"), &field("namespace"))?;
        let behavior = string_field(args.get("behavior"), &field("behavior"))?;
        if behavior == "merge" || behavior == "replace" {
            return Err(refused(&format!("generator behavior '{behavior}'")));
        }
        if !behavior.is_empty() && behavior != "create" {
            return Err(format!("unknown generation behavior '{behavior}'"));
        }
        let local = GeneratorOptions::read(args.get("options"), &field("options"))?;
        let options = local.unwrap_or_default().merged_with(global);
        let mut envs = string_list(args.get("envs"), &field("envs"))?;
        let env = string_field(args.get("env"), &field("env"))?;
        if !env.is_empty() {
            envs.push(env);
        }
        let literals = string_list(args.get("literals"), &field("literals"))?;
        let file_sources = string_list(args.get("files"), &field("files"))?;
        if name.is_empty() {
            return Err("a configmap must have a name".to_string());
        }
        // `kv.loader.Load`: env files, then literals, then files.
        let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
        for path in &envs {
            let bytes = self.load_file(dir, path).map_err(|e| format!("loading KV pairs: env source files: [{}]: {e}", envs.join(" ")))?;
            pairs.extend(env_file_pairs(&bytes).into_iter().map(|(k, v)| (k, v.into_bytes())));
        }
        for literal in &literals {
            let Some((key, value)) = literal.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(format!(
                    "loading KV pairs: literal sources [{}]: invalid literal source {literal}, expected key=value",
                    literals.join(" ")
                ));
            };
            pairs.push((key.to_string(), remove_quotes(value).as_bytes().to_vec()));
        }
        for source in &file_sources {
            let wrap = |e: String| format!("loading KV pairs: file sources: [{}]: {e}", file_sources.join(" "));
            let (key, path) = parse_file_source(source).map_err(wrap)?;
            let bytes = self.load_file(dir, &path).map_err(wrap)?;
            pairs.push((key, bytes));
        }
        let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (key, value) in pairs {
            if data.contains_key(&key) {
                return Err(format!("configmap {name} illegally repeats the key `{key}`"));
            }
            data.insert(key, value);
        }
        let mut value = serde_json::json!({"apiVersion": "v1", "kind": if secret { "Secret" } else { "ConfigMap" }, "metadata": {"name": name}});
        if let Some(obj) = value.as_object_mut() {
            if !namespace.is_empty() {
                if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("namespace".into(), Value::String(namespace));
                }
            }
            use base64::Engine;
            let b64 = |bytes: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            if secret {
                let ty = string_field(args.get("type"), &field("type"))?;
                obj.insert("type".into(), Value::String(if ty.is_empty() { "Opaque".into() } else { ty }));
                obj.insert("data".into(), Value::Object(data.iter().map(|(k, v)| (k.clone(), b64(v))).collect()));
            } else {
                // `LoadMapIntoConfigMapData`: text in data, other bytes in binaryData.
                let mut text = Map::new();
                let mut binary = Map::new();
                for (k, v) in &data {
                    match std::str::from_utf8(v) {
                        Ok(s) => text.insert(k.clone(), Value::String(s.to_string())),
                        Err(_) => binary.insert(k.clone(), b64(v)),
                    };
                }
                if !text.is_empty() {
                    obj.insert("data".into(), Value::Object(text));
                }
                if !binary.is_empty() {
                    obj.insert("binaryData".into(), Value::Object(binary));
                }
            }
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                for (field, pairs) in [("labels", &options.labels), ("annotations", &options.annotations)] {
                    if !pairs.is_empty() {
                        meta.insert(field.into(), Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()));
                    }
                }
            }
            if options.immutable {
                obj.insert("immutable".into(), Value::Bool(true));
            }
        }
        Ok(Resource::new(value, !options.disable_name_suffix_hash))
    }

    /// The loader's `Load`: a file below the kustomization's directory.
    fn load_file(&self, dir: &str, path: &str) -> Result<Vec<u8>, String> {
        let full = join(dir, path);
        // The path is resolved (and so found) before it is checked to be below.
        let entry = self.files.entry(&full);
        if entry.is_ok() && self.root_only && !below(dir, &full) {
            return Err(format!("security; file '{}' is not in or below '{}'", absolute(&full), absolute(dir)));
        }
        match entry {
            Ok(FileEntry::File(bytes)) => Ok(bytes),
            Ok(FileEntry::Dir(_)) => Err(format!("read {}: is a directory", absolute(&full))),
            Err(_) => Err(format!("evalsymlink failure on '{0}' : lstat {0}: no such file or directory", absolute(&full))),
        }
    }

    /// `runTransformers`: the builtin transformers in `configureBuiltinTransformers`' order.
    fn transform(&mut self, dir: &str, k: &Map<String, Value>, resources: &mut Vec<Resource>) -> Result<(), String> {
        let legacy_patches = typed_string_list(k.get("patchesStrategicMerge"), "Kustomization.patchesStrategicMerge", "types.PatchStrategicMerge")?;
        self.legacy_strategic_merge(dir, &legacy_patches, resources)?;
        // `ApplySmPatch` drops what a patch left empty (a `$patch: delete`).
        resources.retain(|r| !is_nil_or_empty(&r.value));
        for p in objects(k.get("patches"), "Kustomization.patches", "types.Patch")? {
            self.apply_patch(dir, p, resources)?;
            resources.retain(|r| !is_nil_or_empty(&r.value));
        }
        let namespace = string_field(k.get("namespace"), "Kustomization.namespace")?;
        if !namespace.is_empty() {
            for r in resources.iter_mut() {
                set_namespace(r, &namespace);
            }
        }
        let prefix = string_field(k.get("namePrefix"), "Kustomization.namePrefix")?;
        let suffix = string_field(k.get("nameSuffix"), "Kustomization.nameSuffix")?;
        for r in resources.iter_mut() {
            // `prefixFieldSpecsToSkip`: names the API server gives meaning to.
            let (group, _) = r.group_version();
            let skipped = matches!(r.kind(), "CustomResourceDefinition" | "Namespace") || (r.kind() == "APIService" && group == "apiregistration.k8s.io");
            if skipped || (prefix.is_empty() && suffix.is_empty()) {
                continue;
            }
            let renamed = format!("{prefix}{}{suffix}", r.name());
            r.set_name(renamed);
        }
        let specs = field_specs();
        let common_labels = string_map(k.get("commonLabels"), "Kustomization.commonLabels")?;
        for label in objects(k.get("labels"), "Kustomization.labels", "types.Label")? {
            check_fields(label, &["pairs", "includeSelectors", "includeTemplates", "fields"])?;
            let pairs = string_map(label.get("pairs"), "Label.labels.pairs")?;
            if let Some(clash) = pairs.keys().find(|key| common_labels.contains_key(*key)) {
                return Err(format!("label name '{clash}' exists in both commonLabels and labels"));
            }
            let mut label_specs = read_specs(label.get("fields"))?;
            if bool_field(label.get("includeSelectors"), "Label.labels.includeSelectors")? {
                label_specs.extend(specs.common_labels.iter().cloned());
            } else {
                if bool_field(label.get("includeTemplates"), "Label.labels.includeTemplates")? {
                    label_specs.extend(specs.template_labels.iter().cloned());
                }
                label_specs.push(FieldSpec { path: "metadata/labels".into(), create: true, ..FieldSpec::default() });
            }
            set_pairs(resources, &label_specs, &pairs);
        }
        set_pairs(resources, &specs.common_labels, &common_labels);
        let annotations = string_map(k.get("commonAnnotations"), "Kustomization.commonAnnotations")?;
        set_pairs(resources, &specs.common_annotations, &annotations);
        for p in objects(k.get("patchesJson6902"), "Kustomization.patchesJson6902", "types.Patch")? {
            self.legacy_json6902(dir, p, resources)?;
        }
        for replica in objects(k.get("replicas"), "Kustomization.replicas", "types.Replica")? {
            check_fields(replica, &["name", "count"])?;
            let name = string_field(replica.get("name"), "Replica.replicas.name")?;
            let count = match replica.get("count") {
                Some(Value::Number(n)) if n.is_i64() => n.clone(),
                None | Some(Value::Null) => serde_json::Number::from(0),
                Some(other) => return Err(unmarshal_error(other, "Replica.replicas.count", "int64")),
            };
            for r in resources.iter_mut().filter(|r| r.names.contains(&name)) {
                if ["Deployment", "ReplicationController", "ReplicaSet", "StatefulSet"].contains(&r.kind()) {
                    if let Some(spec) = r.value.as_object_mut().map(|o| o.entry("spec").or_insert_with(|| Value::Object(Map::new()))) {
                        if let Some(spec) = spec.as_object_mut() {
                            spec.insert("replicas".into(), Value::Number(count.clone()));
                        }
                    }
                }
            }
        }
        for image in objects(k.get("images"), "Kustomization.images", "types.Image")? {
            check_fields(image, &["name", "newName", "newTag", "digest", "tagSuffix"])?;
            let text = |f: &str| string_field(image.get(f), &format!("Image.images.{f}"));
            let rule = ImageRule { name: text("name")?, new_name: text("newName")?, new_tag: text("newTag")?, digest: text("digest")?, tag_suffix: text("tagSuffix")? };
            for r in resources.iter_mut() {
                if r.kind() != "CustomResourceDefinition" {
                    set_images(&mut r.value, &rule);
                }
                // Then imagetag's `Filter` over the images field specs: an
                // image both reach is updated twice (a tagSuffix doubles).
                for path in ["spec/containers/image", "spec/initContainers/image", "spec/template/spec/containers/image", "spec/template/spec/initContainers/image"] {
                    walk_path(&mut r.value, &path_fields(path), false, &mut |node| {
                        if let Value::String(image) = node {
                            if let Some(updated) = updated_image(image, &rule) {
                                *image = updated;
                            }
                        }
                    });
                }
            }
        }
        Ok(())
    }

    /// The `PatchTransformer`: a strategic merge patch (an object), or a
    /// JSON 6902 patch (a list of operations), inline or from a file.
    fn apply_patch(&mut self, dir: &str, p: &Map<String, Value>, resources: &mut [Resource]) -> Result<(), String> {
        check_fields(p, &["path", "patch", "target", "options"])?;
        if p.get("options").is_some_and(|o| !o.is_null()) {
            return Err(refused("patch 'options'"));
        }
        let path = string_field(p.get("path"), "Patch.patches.path")?;
        let inline = string_field(p.get("patch"), "Patch.patches.patch")?;
        let target = Target::read(p.get("target"), "patches")?;
        // The plugin's config as kustomize marshals it into its errors.
        let mut config = Map::new();
        for field in ["path", "patch"] {
            if let Some(text) = p.get(field).and_then(Value::as_str).filter(|t| !t.is_empty()) {
                config.insert(field.into(), Value::String(text.to_string()));
            }
        }
        if let Some(Value::Object(t)) = p.get("target") {
            let set: Map<String, Value> = t.iter().filter(|(_, v)| v.as_str().is_some_and(|v| !v.is_empty())).map(|(k, v)| (k.clone(), v.clone())).collect();
            config.insert("target".into(), Value::Object(set));
        }
        let config = plugin_config(&Value::Object(config));
        let configuring = |e: String| format!("trouble configuring builtin PatchTransformer with config: `\n{config}`: {e}");
        let inline = inline.trim();
        let (text, source) = match (path.is_empty(), inline.is_empty()) {
            (true, true) => return Err(configuring(format!("must specify one of patch and path in\n{config}"))),
            (false, false) => return Err(configuring(format!("patch and path can't be set at the same time\n{config}"))),
            (true, false) => (inline.to_string(), format!("[patch: {inline:?}]")),
            (false, true) => {
                let bytes = self.load_file(dir, &path).map_err(|e| configuring(format!("failed to get the patch file from path({path}): {e}")))?;
                (String::from_utf8_lossy(&bytes).into_owned(), format!("[path: {path:?}]"))
            }
        };
        // Read both ways: objects for a strategic merge patch, a list for JSON 6902.
        let strategic = patch_objects(&text);
        let parsed = decode::parse_manifests(&text);
        let json_ops = match (parsed.error, parsed.documents.first().map(|d| &d.value)) {
            (None, None | Some(Value::Null)) => Ok(Value::Null),
            (None, Some(ops @ Value::Array(items))) if items.iter().all(|op| op.is_object() || op.is_null()) => Ok(ops.clone()),
            _ => Err(()),
        };
        let docs = match (strategic, json_ops) {
            (Ok(_), Ok(_)) => return Err(configuring(format!("illegally qualifies as both an SM and JSON patch: {source}"))),
            (Err(_), Err(_)) => return Err(configuring(format!("unable to parse SM or JSON patch from {source}"))),
            (Ok(docs), Err(_)) => docs,
            (Err(_), Ok(ops)) => {
                let Some(target) = target else {
                    return Err(format!("must specify a target for JSON patch {source}"));
                };
                for r in resources.iter_mut().filter(|r| target.selects(r)) {
                    r.value = patch::json_patch(&r.value, &ops)?;
                }
                return Ok(());
            }
        };
        if target.is_some() && docs.len() > 1 {
            return Err(format!("Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {source}"));
        }
        for smp in docs {
            let chosen: Vec<usize> = match &target {
                Some(t) => positions(resources, |r| t.selects(r)),
                None => {
                    let id = Resource::new(smp.clone(), false);
                    let found = positions(resources, |r| has_any_id_of(r, &id));
                    if found.len() != 1 {
                        let what = id.id();
                        return Err(format!(
                            "no resource matches strategic merge patch \"{what}\": no matches for Id {what}; failed to find unique target for patch {what}"
                        ));
                    }
                    found
                }
            };
            for i in chosen {
                if let Some(r) = resources.get_mut(i) {
                    merge_patch_into(r, &smp)?;
                }
            }
        }
        Ok(())
    }

    /// The deprecated `patchesStrategicMerge`, which kustomize v5 still
    /// runs (`PatchStrategicMergeTransformer`): each entry is a patch's
    /// text when it reads as objects, else a file's path. Every patch is
    /// loaded first; then each finds its one target by its own id.
    fn legacy_strategic_merge(&mut self, dir: &str, entries: &[String], resources: &mut [Resource]) -> Result<(), String> {
        if entries.is_empty() {
            return Ok(());
        }
        let config = plugin_config(&serde_json::json!({ "paths": entries }));
        let configuring = |e: String| format!("trouble configuring builtin PatchStrategicMergeTransformer with config: `\n{config}`: {e}");
        let mut patches = Vec::new();
        for entry in entries {
            match patch_objects(entry) {
                Ok(objects) => patches.extend(objects),
                Err(_) => {
                    let bytes = self.load_file(dir, entry).map_err(configuring)?;
                    let objects = patch_objects(&String::from_utf8_lossy(&bytes))
                        .map_err(|e| if e.starts_with("MalformedYAMLError") { format!("{e} in File: {entry}") } else { e })
                        .map_err(configuring)?;
                    patches.extend(objects);
                }
            }
        }
        if patches.is_empty() {
            return Err(configuring(format!("patch appears to be empty; files=[{}], Patch=", entries.join(" "))));
        }
        for smp in patches {
            let id = Resource::new(smp.clone(), false);
            let found = positions(resources, |r| has_any_id_of(r, &id));
            let what = id.id();
            match found.as_slice() {
                [one] => {
                    if let Some(r) = resources.get_mut(*one) {
                        merge_patch_into(r, &smp)?;
                    }
                }
                [] => return Err(format!("no matches for Id {what}; failed to find unique target for patch {what}")),
                _ => return Err(format!("multiple matches for Id {what}; failed to find unique target for patch {what}")),
            }
        }
        Ok(())
    }

    /// The deprecated `patchesJson6902` (`PatchJson6902Transformer`, run
    /// after the annotations): a target with a name and operations, inline
    /// (YAML or JSON) or from a file.
    fn legacy_json6902(&mut self, dir: &str, p: &Map<String, Value>, resources: &mut [Resource]) -> Result<(), String> {
        let path = string_field(p.get("path"), "Patch.patchesJson6902.path")?;
        let mut json_op = string_field(p.get("patch"), "Patch.patchesJson6902.patch")?;
        let target = Target::read(p.get("target"), "patchesJson6902")?;
        // The plugin's config as kustomize marshals it into its errors.
        let mut config = Map::new();
        if !json_op.is_empty() {
            config.insert("jsonOp".into(), Value::String(json_op.clone()));
        }
        if !path.is_empty() {
            config.insert("path".into(), Value::String(path.clone()));
        }
        if let Some(Value::Object(t)) = p.get("target") {
            let set: Map<String, Value> = t.iter().filter(|(_, v)| v.as_str().is_some_and(|v| !v.is_empty())).map(|(k, v)| (k.clone(), v.clone())).collect();
            config.insert("target".into(), Value::Object(set));
        }
        let config = plugin_config(&Value::Object(config));
        let configuring = |e: String| format!("trouble configuring builtin PatchJson6902Transformer with config: `\n{config}`: {e}");
        let Some(target) = target else {
            // kustomize dereferences the missing target and crashes.
            return Err("a patchesJson6902 entry needs a target (kubectl 1.33's kustomize crashes on one without: a nil pointer dereference)".to_string());
        };
        if target.name.is_empty() {
            return Err(configuring("must specify the target name".into()));
        }
        if path.is_empty() && json_op.is_empty() {
            return Err(configuring("empty file path and empty jsonOp".into()));
        }
        if !path.is_empty() {
            if !json_op.is_empty() {
                return Err(configuring("must specify a file path or jsonOp, not both".into()));
            }
            json_op = String::from_utf8_lossy(&self.load_file(dir, &path).map_err(configuring)?).into_owned();
            if json_op.is_empty() {
                return Err(configuring(format!("patch file '{path}' empty seems to be empty")));
            }
        }
        let ops: Value = if json_op.starts_with('[') {
            serde_json::from_str(&json_op).map_err(|e| configuring(format!("decoding {json_op}: {e}")))?
        } else {
            // Not JSON by its first byte: read as YAML and made JSON.
            let parsed = decode::parse_manifests(&json_op);
            if let Some(e) = parsed.error {
                return Err(configuring(e.message));
            }
            let value = parsed.documents.into_iter().next().map(|d| d.value).unwrap_or(Value::Null);
            json_op = serde_json::to_string(&value).unwrap_or_default();
            value
        };
        let operations = match &ops {
            Value::Null => Vec::new(),
            Value::Array(items) => {
                if let Some(bad) = items.iter().find(|op| !op.is_object() && !op.is_null()) {
                    return Err(configuring(format!("decoding {json_op}: json: cannot unmarshal {} into Go value of type jsonpatch.Operation", json_kind(bad))));
                }
                items.clone()
            }
            other => return Err(configuring(format!("decoding {json_op}: json: cannot unmarshal {} into Go value of type jsonpatch.Patch", json_kind(other)))),
        };
        if operations.is_empty() {
            return Err(configuring(format!("patch appears to be empty; file={path}, JsonOp={json_op}")));
        }
        for r in resources.iter_mut().filter(|r| target.selects(r)) {
            r.value = patch::json_patch(&r.value, &ops)?;
        }
        Ok(())
    }
}

/// A plugin's config as kustomize puts it in its errors: sigs.k8s.io/yaml's
/// marshalling, keys sorted.
fn plugin_config(config: &Value) -> String {
    crate::engine::kubectl::printers::to_yaml(config)
}

/// encoding/json's name for a JSON value's kind in its type errors.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// The objects a patch's text holds, as kustomize's resource factory reads
/// them (`SliceFromBytes`): empty documents dropped, a `List`'s items
/// inlined, each with a kind and (but a list) a name.
fn patch_objects(text: &str) -> Result<Vec<Value>, String> {
    let parsed = decode::parse_manifests(text);
    if let Some(e) = parsed.error {
        return Err(format!("MalformedYAMLError: {}", e.message.trim_start_matches("error converting YAML to JSON: ")));
    }
    let mut out = Vec::new();
    for doc in parsed.documents {
        let value = doc.value;
        if value.is_null() {
            continue;
        }
        if !value.is_object() {
            return Err("missing Resource metadata".to_string());
        }
        let kind = str_at(&value, &["kind"]);
        if kind.is_empty() {
            return Err(format!("missing kind in object {}", go_object_hint(&value)));
        }
        if kind.ends_with("List") {
            if let Some(items) = value.get("items").and_then(Value::as_array) {
                out.extend(items.iter().filter(|i| !i.is_null()).cloned());
                continue;
            }
        } else if str_at(&value, &["metadata", "name"]).is_empty() {
            return Err(format!("missing metadata.name in object {}", go_object_hint(&value)));
        }
        out.push(value);
    }
    Ok(out)
}

/// `GetMatchingResourcesByAnyId`: the patch's kind and group, one of the
/// object's names, and its namespace when the patch gives one.
fn has_any_id_of(r: &Resource, id: &Resource) -> bool {
    r.kind() == id.kind()
        && r.names.iter().any(|n| n == id.name())
        && (id.namespace().is_empty() || id.namespace() == r.namespace())
        && (id.group_version().0 == r.group_version().0)
}

/// kyaml's `IsNilOrEmpty`: null, or an empty map or list.
fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// A strategic merge patch merged into its target, whose name and kind
/// it only selects by (`ApplySmPatch`).
fn merge_patch_into(r: &mut Resource, smp: &Value) -> Result<(), String> {
    let mut body = smp.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("name");
        meta.remove("namespace");
    }
    if let Some(obj) = body.as_object_mut() {
        obj.remove("apiVersion");
        obj.remove("kind");
    }
    r.value = patch::strategic_merge_patch(&r.value, &body).map_err(|e| e.message)?;
    Ok(())
}

/// A patch's `target`: empty fields select everything.
struct Target {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
}

impl Target {
    /// A `types.Selector` read as Go's strict decoder reads it; the label
    /// and annotation selectors are refused.
    fn read(value: Option<&Value>, owner: &str) -> Result<Option<Target>, String> {
        let t = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(t)) => t,
            Some(other) => return Err(unmarshal_error(other, &format!("Patch.{owner}.target"), "types.Selector")),
        };
        check_fields(t, &["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"])?;
        // Go names a field by the embedded structs it sits in.
        let field = |f: &str| {
            let within = match f {
                "group" | "version" | "kind" => "ResId.Gvk.",
                "name" | "namespace" => "ResId.",
                _ => "",
            };
            string_field(t.get(f), &format!("Selector.{owner}.target.{within}{f}"))
        };
        if !field("labelSelector")?.is_empty() || !field("annotationSelector")?.is_empty() {
            return Err(refused("patch target's labelSelector and annotationSelector"));
        }
        Ok(Some(Target { group: field("group")?, version: field("version")?, kind: field("kind")?, name: field("name")?, namespace: field("namespace")? }))
    }

    fn selects(&self, r: &Resource) -> bool {
        let (group, version) = r.group_version();
        (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
            && (self.kind.is_empty() || self.kind == r.kind())
            && (self.name.is_empty() || r.names.iter().any(|n| *n == self.name))
            && (self.namespace.is_empty() || self.namespace == r.namespace())
    }
}

#[derive(Clone, Default)]
struct GeneratorOptions {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    disable_name_suffix_hash: bool,
    immutable: bool,
}

impl GeneratorOptions {
    fn read(value: Option<&Value>, go_field: &str) -> Result<Option<GeneratorOptions>, String> {
        let map = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(unmarshal_error(other, go_field, "types.GeneratorOptions")),
        };
        check_fields(map, &["labels", "annotations", "disableNameSuffixHash", "immutable"])?;
        Ok(Some(GeneratorOptions {
            labels: string_map(map.get("labels"), "GeneratorOptions.generatorOptions.labels")?,
            annotations: string_map(map.get("annotations"), "GeneratorOptions.generatorOptions.annotations")?,
            disable_name_suffix_hash: bool_field(map.get("disableNameSuffixHash"), "GeneratorOptions.generatorOptions.disableNameSuffixHash")?,
            immutable: bool_field(map.get("immutable"), "GeneratorOptions.generatorOptions.immutable")?,
        }))
    }

    /// `MergeGlobalOptionsIntoLocal`: the local options win, the global fill in.
    fn merged_with(mut self, global: &GeneratorOptions) -> GeneratorOptions {
        for (k, v) in &global.labels {
            self.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &global.annotations {
            self.annotations.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        self.immutable |= global.immutable;
        self
    }
}

/// `AbsorbAll` with the default behavior, `create`: a new id only.
fn absorb(resources: &mut Vec<Resource>, generated: Resource) -> Result<(), String> {
    if let Some(have) = resources.iter().find(|r| r.id() == generated.id()) {
        return Err(format!(
            "merging from generator &{{{} {} }}: id {} exists; behavior must be merge or replace",
            generated.kind(),
            generated.name(),
            have.id()
        ));
    }
    resources.push(generated);
    Ok(())
}

/// `keyValuesFromLine`: `KEY=VALUE` lines; blank lines and `#` comments skipped.
/// Where the resources a patch applies to stand.
fn positions(resources: &[Resource], applies: impl Fn(&Resource) -> bool) -> Vec<usize> {
    resources.iter().enumerate().filter(|(_, r)| applies(r)).map(|(i, _)| i).collect()
}

fn env_file_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if text.is_empty() || text.ends_with('\n') {
        lines.pop();
    }
    lines
        .into_iter()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (line.to_string(), String::new()),
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// `removeQuotes`: one pair of matching outer quotes.
fn remove_quotes(value: &str) -> &str {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')) if bytes.len() >= 2 => value.get(1..value.len() - 1).unwrap_or(value),
        _ => value,
    }
}

/// generators' `ParseFileSource`: `KEY=PATH` or a path keyed by its base name.
fn parse_file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => Ok((source.rsplit('/').next().unwrap_or(source).to_string(), source.to_string())),
        1 if source.starts_with('=') => Err(format!("missing key name for file path {:?} in source {source:?}", source.trim_start_matches('='))),
        1 if source.ends_with('=') => Err(format!("missing file path for key name {:?} in source {source:?}", source.trim_end_matches('='))),
        1 => match source.split_once('=') {
            Some((k, p)) => Ok((k.to_string(), p.to_string())),
            None => Err(format!("source {source:?} key name or file path contains '='")),
        },
        _ => Err(format!("source {source:?} key name or file path contains '='")),
    }
}

/// A short stand-in for the Go value kustomize prints of an object with no kind.
fn go_object_hint(value: &Value) -> String {
    format!("{{{{ }} {{{{{} }} map[] map[]}}}}", str_at(value, &["metadata", "name"]))
}

/// The namespace transformer: `metadata/namespace` on namespaced objects,
/// a v1 Namespace's own name, and the binding subjects named `default`.
fn set_namespace(r: &mut Resource, namespace: &str) {
    let cluster_scoped = r.is_cluster_scoped();
    let kind = r.kind().to_string();
    let api_version = str_at(&r.value, &["apiVersion"]).to_string();
    if kind == "Namespace" && api_version == "v1" {
        r.set_name(namespace.to_string());
    }
    let Some(obj) = r.value.as_object_mut() else { return };
    if !cluster_scoped {
        if let Some(meta) = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new())).as_object_mut() {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
    if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
        if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
            for subject in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if subject.get("name").and_then(Value::as_str) == Some("default") {
                    subject.insert("namespace".into(), Value::String(namespace.to_string()));
                }
            }
        }
    }
}

/// A field spec: where a transformer writes, for which kinds.
#[derive(Clone, Debug, Default)]
struct FieldSpec {
    group: String,
    version: String,
    kind: String,
    path: String,
    create: bool,
}

impl FieldSpec {
    /// `Gvk.IsSelected`: the spec's empty parts match anything.
    fn selects(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.group.is_empty() || self.group == group) && (self.version.is_empty() || self.version == version) && (self.kind.is_empty() || self.kind == kind)
    }
}

struct DefaultSpecs {
    common_labels: Vec<FieldSpec>,
    template_labels: Vec<FieldSpec>,
    common_annotations: Vec<FieldSpec>,
    /// The referred kind (group, version, kind) and where others name it.
    name_references: Vec<(FieldSpec, Vec<FieldSpec>)>,
}

fn spec_of(item: &Value) -> FieldSpec {
    FieldSpec {
        group: str_at(item, &["group"]).to_string(),
        version: str_at(item, &["version"]).to_string(),
        kind: str_at(item, &["kind"]).to_string(),
        path: str_at(item, &["path"]).to_string(),
        create: item.get("create").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// A label's own `fields`.
fn read_specs(value: Option<&Value>) -> Result<Vec<FieldSpec>, String> {
    Ok(objects(value, "Label.labels.fields", "types.FieldSpec")?.into_iter().map(|m| spec_of(&Value::Object(m.clone()))).collect())
}

/// kustomize's default field specs, read from the text kustomize keeps them in.
fn field_specs() -> DefaultSpecs {
    let text = include_str!("kustomize_fieldspecs.yaml");
    let value: Value = serde_yaml::from_str(text).unwrap_or(Value::Null);
    let list = |key: &str| -> Vec<FieldSpec> { value.get(key).and_then(Value::as_array).map(|items| items.iter().map(spec_of).collect()).unwrap_or_default() };
    let metadata_labels = list("metadataLabels");
    let mut common_labels = list("commonLabels");
    common_labels.extend(metadata_labels.iter().cloned());
    let name_references = value
        .get("nameReference")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| (spec_of(item), item.get("fieldSpecs").and_then(Value::as_array).map(|f| f.iter().map(spec_of).collect()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    DefaultSpecs { common_labels, template_labels: metadata_labels, common_annotations: list("commonAnnotations"), name_references }
}

/// A path's fields: `/` separates, `\/` is a slash in a field's name, a
/// trailing `[]` marks a list (lists are walked through either way).
fn path_fields(path: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                chars.next();
                if let Some(last) = fields.last_mut() {
                    last.push('/');
                }
            }
            '/' => fields.push(String::new()),
            other => {
                if let Some(last) = fields.last_mut() {
                    last.push(other);
                }
            }
        }
    }
    fields.into_iter().map(|f| f.trim_end_matches("[]").to_string()).collect()
}

/// `fieldspec.Filter`: calls `set` on each node the path reaches, making
/// the missing maps on the way when the spec says `create`.
fn walk_path(node: &mut Value, fields: &[String], create: bool, set: &mut dyn FnMut(&mut Value)) {
    if let Value::Array(items) = node {
        for item in items {
            walk_path(item, fields, create, set);
        }
        return;
    }
    let Some((first, rest)) = fields.split_first() else {
        set(node);
        return;
    };
    let Value::Object(map) = node else { return };
    let missing = map.get(first).is_none_or(Value::is_null);
    if missing {
        if !create {
            return;
        }
        map.insert(first.clone(), Value::Object(Map::new()));
    }
    if let Some(next) = map.get_mut(first) {
        walk_path(next, rest, create, set);
    }
}

/// The label and annotation transformers: the pairs into each map the specs reach.
fn set_pairs(resources: &mut [Resource], specs: &[FieldSpec], pairs: &BTreeMap<String, String>) {
    if pairs.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let (group, version) = r.group_version();
        let (group, version, kind) = (group.to_string(), version.to_string(), r.kind().to_string());
        let mut done: Vec<&str> = Vec::new();
        for spec in specs.iter().filter(|s| s.selects(&group, &version, &kind)) {
            // Merged spec lists hold a path once.
            if done.contains(&spec.path.as_str()) {
                continue;
            }
            done.push(&spec.path);
            walk_path(&mut r.value, &path_fields(&spec.path), spec.create, &mut |node| {
                if let Value::Object(map) = node {
                    for (k, v) in pairs {
                        map.insert(k.clone(), Value::String(v.clone()));
                    }
                }
            });
        }
    }
}

struct ImageRule {
    name: String,
    new_name: String,
    new_tag: String,
    digest: String,
    tag_suffix: String,
}

/// imagetag's `LegacyFilter`: every `image` in every `containers` and
/// `initContainers` list anywhere in the object.
fn set_images(node: &mut Value, rule: &ImageRule) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                set_images(value, rule);
                if key == "containers" || key == "initContainers" {
                    if let Value::Array(containers) = value {
                        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                            if let Some(Value::String(image)) = container.get_mut("image") {
                                if let Some(updated) = updated_image(image, rule) {
                                    *image = updated;
                                }
                            }
                        }
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| set_images(item, rule)),
        _ => {}
    }
}

/// `imageTagUpdater.SetImageValue`.
fn updated_image(image: &str, rule: &ImageRule) -> Option<String> {
    let rest = image.strip_prefix(rule.name.as_str())?;
    let tag_char = |c: char| c.is_ascii_alphanumeric() || "_.{}-".contains(c);
    // `IsImageMatched`: the name, then an optional `:tag`, then an optional `@sha256:digest`.
    let (tag_part, digest_part) = match rest.find('@') {
        Some(at) => (rest.get(..at).unwrap_or(""), Some(rest.get(at..).unwrap_or(""))),
        None => (rest, None),
    };
    let tag_ok = tag_part.is_empty() || tag_part.strip_prefix(':').is_some_and(|t| t.chars().all(tag_char));
    let digest_ok = digest_part.is_none_or(|d| d.strip_prefix("@sha256:").is_some_and(|t| t.chars().all(tag_char)));
    if !tag_ok || !digest_ok {
        return None;
    }
    let (mut name, mut tag, mut digest) = split_image(image);
    if !rule.new_name.is_empty() {
        name = rule.new_name.clone();
    }
    if !rule.new_tag.is_empty() && !rule.digest.is_empty() {
        tag = rule.new_tag.clone();
        digest = rule.digest.clone();
    } else if !rule.new_tag.is_empty() {
        tag = rule.new_tag.clone();
        digest.clear();
    } else if !rule.digest.is_empty() {
        tag.clear();
        digest = rule.digest.clone();
    } else if !rule.tag_suffix.is_empty() {
        tag.push_str(&rule.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    Some(name)
}

/// image's `Split`: name, tag and digest, a registry's port not taken for a tag.
fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|i| *i > 0).unwrap_or(0);
    let search = image.get(slash..).unwrap_or("");
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    let part = |from: usize, to: usize| image.get(from..to).unwrap_or("").to_string();
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (part(0, a), String::new(), part(a + 1, image.len())),
        (Some(c), Some(a)) => (part(0, c), part(c + 1, a), part(a + 1, image.len())),
        (Some(c), None) => (part(0, c), part(c + 1, image.len()), String::new()),
        (None, Some(a)) => (part(0, a), String::new(), part(a + 1, image.len())),
    }
}

/// kustomize's hasher: SHA-256 of the object's JSON, of which it reads the
/// name at `metadata/name` as one field (never found, so always empty).
fn content_hash(value: &Value) -> String {
    let mut m = Map::new();
    let kind = str_at(value, &["kind"]);
    let field = |name: &str| match value.get(name) {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        Some(Value::String(s)) => Value::String(s.clone()),
        _ => Value::String(String::new()),
    };
    m.insert("kind".into(), Value::String(kind.to_string()));
    m.insert("name".into(), Value::String(String::new()));
    m.insert("data".into(), field("data"));
    if kind == "Secret" {
        m.insert("type".into(), field("type"));
        if let Some(Value::Object(extra)) = value.get("stringData") {
            m.insert("stringData".into(), Value::Object(extra.clone()));
        }
    } else if let Some(Value::Object(binary)) = value.get("binaryData") {
        m.insert("binaryData".into(), Value::Object(binary.clone()));
    }
    crate::engine::kubectl::verbs::create::name_hash(&Value::Object(m))
}

/// `addHashesToNames`.
fn add_hashes(resources: &mut [Resource]) {
    for r in resources.iter_mut().filter(|r| r.needs_hash) {
        let hashed = format!("{}-{}", r.name(), content_hash(&r.value));
        r.set_name(hashed);
    }
}

/// The name reference transformer: a field that names an object by one of
/// the names it had now names it by its last.
fn fix_name_references(resources: &mut [Resource]) {
    let specs = field_specs();
    let referred: Vec<(String, String, String, bool, Vec<String>, String)> = resources
        .iter()
        .map(|r| {
            let (group, version) = r.group_version();
            (group.to_string(), version.to_string(), r.kind().to_string(), r.is_cluster_scoped(), r.names.clone(), r.namespace().to_string())
        })
        .collect();
    if referred.is_empty() {
        return;
    }
    for referrer in resources.iter_mut() {
        let (group, version) = referrer.group_version();
        let (group, version, kind) = (group.to_string(), version.to_string(), referrer.kind().to_string());
        let referrer_namespace = referrer.namespace().to_string();
        let referrer_cluster_scoped = referrer.is_cluster_scoped();
        for (target, field_specs) in &specs.name_references {
            let candidates: Vec<&(String, String, String, bool, Vec<String>, String)> =
                referred.iter().filter(|(g, v, k, ..)| target.selects(g, v, k)).collect();
            if candidates.is_empty() {
                continue;
            }
            // `roleRefFilter`: a roleRef names a Role or a ClusterRole by its kind.
            let role_ref_kind = str_at(&referrer.value, &["roleRef", "kind"]).to_string();
            for spec in field_specs.iter().filter(|s| s.selects(&group, &version, &kind)) {
                if spec.path.ends_with("roleRef/name") && role_ref_kind != target.kind {
                    continue;
                }
                walk_path(&mut referrer.value, &path_fields(&spec.path), false, &mut |node| {
                    let rename = |old: &str, namespace: Option<&str>| -> Option<(String, String)> {
                        candidates
                            .iter()
                            .find(|(_, _, _, cluster_scoped, names, ns)| {
                                let in_namespace = match namespace {
                                    Some(wanted) => same_namespace(wanted, ns),
                                    None => *cluster_scoped || referrer_cluster_scoped || same_namespace(&referrer_namespace, ns),
                                };
                                in_namespace && names.iter().any(|n| n == old)
                            })
                            .and_then(|(.., names, ns)| Some((names.last()?.clone(), ns.clone())))
                    };
                    match node {
                        Value::String(old) => {
                            if let Some((new, _)) = rename(old, None) {
                                *old = new;
                            }
                        }
                        Value::Object(map) => {
                            // A subject or a webhook's service: its kind (if any) must match.
                            if map.get("kind").and_then(Value::as_str).is_some_and(|k| k != target.kind) {
                                return;
                            }
                            let namespace = map.get("namespace").and_then(Value::as_str).map(str::to_string);
                            let old = map.get("name").and_then(Value::as_str).map(str::to_string);
                            // `setMapping`: the referral's name, and its namespace when it has one.
                            if let Some((new, new_namespace)) = old.and_then(|old| rename(&old, namespace.as_deref())) {
                                map.insert("name".into(), Value::String(new));
                                if !new_namespace.is_empty() {
                                    map.insert("namespace".into(), Value::String(new_namespace));
                                }
                            }
                        }
                        _ => {}
                    }
                });
                // A list of names (`rules/resourceNames`) is walked item by item above.
            }
        }
    }
}

/// Namespaces compare with the empty one as `default`.
fn same_namespace(a: &str, b: &str) -> bool {
    let or_default = |s: &str| if s.is_empty() { "default".to_string() } else { s.to_string() };
    or_default(a) == or_default(b)
}

/// The legacy sort: kinds in kustomize's install order, then by group,
/// version and kind, then by namespace and name.
fn legacy_sort(resources: &mut [Resource]) {
    const FIRST: [&str; 22] = [
        "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole",
        "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
        "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
    ];
    const LAST: [&str; 2] = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];
    let rank = |kind: &str| -> i64 {
        if let Some(i) = FIRST.iter().position(|k| *k == kind) {
            return i as i64 - FIRST.len() as i64;
        }
        LAST.iter().position(|k| *k == kind).map_or(0, |i| i as i64 + 1)
    };
    let gvk_string = |r: &Resource| {
        let (group, version) = r.group_version();
        let or = |s: &str, none: &str| if s.is_empty() { none.to_string() } else { s.to_string() };
        format!("{}_{}_{}", or(group, "~G"), or(version, "~V"), or(r.kind(), "~K"))
    };
    let id_string = |r: &Resource| {
        let or = |s: &str, none: &str| if s.is_empty() { none.to_string() } else { s.to_string() };
        format!("{}|{}|{}", gvk_string(r), or(r.namespace(), "~X"), or(r.name(), "~N"))
    };
    resources.sort_by(|a, b| {
        let (ga, gb) = (a.group_version(), b.group_version());
        if ga != gb || a.kind() != b.kind() {
            let (ra, rb) = (rank(a.kind()), rank(b.kind()));
            if ra != rb {
                return ra.cmp(&rb);
            }
            if a.kind() == "Namespace" && b.kind() == "Namespace" && (ga.0.is_empty() || gb.0.is_empty()) {
                return gvk_string(b).cmp(&gvk_string(a));
            }
            return gvk_string(a).cmp(&gvk_string(b));
        }
        id_string(a).cmp(&id_string(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_kustomize_with_the_name_left_out() {
        // kubectl 1.33: `configMapGenerator: [{name: cfg, literals: [a=1, b=2]}]` is cfg-7gdc49gk6d.
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}});
        assert_eq!(content_hash(&cm), "7gdc49gk6d");
        let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!(content_hash(&secret), "25khgmg44c");
        let empty = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "e"}, "type": "Opaque", "data": {}});
        assert_eq!(content_hash(&empty), "46f8b28mk5");
    }

    #[test]
    fn splits_and_replaces_images() {
        assert_eq!(split_image("localhost:5000/app:1@sha256:x"), ("localhost:5000/app".into(), "1".into(), "sha256:x".into()));
        let rule = ImageRule { name: "nginx".into(), new_name: "registry/nginx".into(), new_tag: String::new(), digest: "sha256:abc".into(), tag_suffix: String::new() };
        assert_eq!(updated_image("nginx:1.25", &rule).as_deref(), Some("registry/nginx@sha256:abc"));
        assert_eq!(updated_image("nginx-extra", &rule), None);
    }

    #[test]
    fn paths_keep_escaped_slashes() {
        assert_eq!(path_fields("metadata/annotations/a.io\\/b"), vec!["metadata", "annotations", "a.io/b"]);
        assert_eq!(path_fields("spec/containers[]/image"), vec!["spec", "containers", "image"]);
        assert_eq!(clean("a/../../b/./c/"), "../b/c");
    }

    #[test]
    fn default_field_specs_parse() {
        let specs = field_specs();
        assert_eq!(specs.common_labels.len(), 32);
        assert_eq!(specs.template_labels.len(), 10);
        assert_eq!(specs.common_annotations.len(), 9);
        assert_eq!(specs.name_references.len(), 16);
    }
}
