//! `kubectl set env`: `KEY=value`, `KEY-` and `-e` change every selected
//! container's env (init containers too); `--from=configmap/NAME` or
//! `secret/NAME` adds one `valueFrom` variable per key; `--list` prints the
//! env (after the changes) instead of writing it. As set_env.go does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMapKeySelector, Container, EnvVar, EnvVarSource, SecretKeySelector};

use super::{find, select_containers, template_spec, unchanged, write, Mode, Printer};
use crate::engine::api::{resource, Object};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::quantity::Quantity;

pub fn run(s: &mut Session) -> Result {
    let all = s.args.flag("all");
    let selector = s.args.value("selector").unwrap_or("").to_string();
    if all && !selector.is_empty() {
        return Err(Error::Message("error: cannot set --all and --selector at the same time".to_string()));
    }
    let args = s.args.positionals.clone();
    let Some((resources, env_args)) = split_environment_from_resources(&args) else {
        return Err(Error::Message(format!("error: all resources must be specified before environment changes: {}", args.join(" "))));
    };
    let mode = Mode::from_session(s)?;
    mode.check_local()?;
    // Only -f counts here: kubectl 1.33's set env asks for resources when
    // it has -k alone (set_env.go's Validate reads Filenames).
    if s.args.values("filename").is_empty() && resources.is_empty() {
        return Err(Error::Message("error: one or more resources must be specified as <resource> <name> or <resource>/<name>".to_string()));
    }
    let list = s.args.flag("list");
    if list && s.args.value("output").is_some_and(|o| !o.is_empty()) {
        return Err(Error::Message("error: --list and --output may not be specified together".to_string()));
    }
    let keys: Vec<String> = s.args.values("keys").iter().flat_map(|k| k.split(',')).filter(|k| !k.is_empty()).map(str::to_string).collect();
    let from = s.args.value("from").unwrap_or("").to_string();
    if !keys.is_empty() && from.is_empty() {
        return Err(Error::Message("error: when specifying --keys, a configmap or secret must be provided with --from".to_string()));
    }
    manifest::check_sources(s, None)?;

    let mut specs = s.args.values("env").to_vec();
    specs.extend(env_args.iter().cloned());
    let (mut env, remove) = parse_env(&specs, s.stdin).map_err(|e| Error::Message(format!("error: {e}")))?;
    if !from.is_empty() {
        for source in find(s, std::slice::from_ref(&from), mode.local)? {
            env.extend(env_from(&source.object, &keys)?);
        }
    }
    let prefix = s.args.value("prefix").unwrap_or("");
    for var in &mut env {
        var.name = format!("{prefix}{}", var.name);
    }

    let changes = Changes {
        env,
        remove,
        containers: s.args.value("containers").unwrap_or("*").to_string(),
        overwrite: s.args.value("overwrite").is_none_or(|v| v == "true"),
        list,
        resolve: s.args.flag("resolve"),
    };
    let objects = find(s, &resources, mode.local)?;
    // Every object is changed (its warnings and `--list` printed) before any is written.
    let mut changed = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        let result = changes.apply(s, &mut next);
        changed.push((found, result.map(|()| next)));
    }
    if list {
        return Ok(());
    }
    let mut printer = Printer::new("env updated");
    let mut failures = Vec::new();
    for (found, next) in changed {
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                failures.push(Failure::Text(format!("error: {} {e}\n", found.object_name)));
                continue;
            }
        };
        if unchanged(&found.object, &next) {
            continue;
        }
        let stored = match write(s, &mode, found, next, "failed to patch env update to pod template: ") {
            Ok(stored) => stored,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        // set_env.go checks for variables only after a patch on the server,
        // so `-e KEY-` alone removes KEY and still fails, without its line.
        let wrote = !mode.local && mode.dry != DryRun::Client;
        if wrote && changes.env.is_empty() && env_args.is_empty() {
            return Err(Error::Message("error: at least one environment variable must be provided".to_string()));
        }
        if let Err(f) = printer.print(s, &mode, &stored) {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}

/// What `set env` does to each selected container.
struct Changes {
    env: Vec<EnvVar>,
    remove: Vec<String>,
    /// `-c`: a container name, with `*` wildcards.
    containers: String,
    overwrite: bool,
    list: bool,
    resolve: bool,
}

impl Changes {
    /// Changes one object's containers (printing them for `--list`); the
    /// error is the object's own, reported after its name.
    fn apply(&self, s: &mut Session, obj: &mut Object) -> std::result::Result<(), String> {
        let kind = resource(obj.resource_id()).kind;
        let name = obj.meta().name.clone().unwrap_or_default();
        // `--resolve` reads field paths from the object as it was.
        let owner = self.resolve.then(|| obj.clone());
        let spec = template_spec(obj)?;
        let containers = select_containers(spec, &self.containers);
        if containers.is_empty() {
            s.err.push_str(&format!("Warning: {kind}/{name} does not have any containers matching {:?}\n", self.containers));
            return Ok(());
        }
        let mut unresolved = false;
        for c in containers {
            if !self.overwrite {
                check_no_overwrites(c.env.as_deref().unwrap_or(&[]), &self.env)?;
            }
            let updated = update_env(c.env.as_deref().unwrap_or(&[]), &self.env, &self.remove);
            c.env = (!updated.is_empty()).then_some(updated);
            if self.list {
                s.out.push_str(&format!("# {kind} {name}, container {}\n", c.name));
                unresolved |= self.list_env(s, owner.as_ref(), c);
            }
        }
        if unresolved {
            return Err("failed to retrieve valueFrom references".to_string());
        }
        Ok(())
    }

    /// `--list` for one container: plain values, references (or with
    /// `--resolve`, what they point at); whether any reference failed.
    fn list_env(&self, s: &mut Session, owner: Option<&Object>, c: &Container) -> bool {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for var in c.env.iter().flatten() {
            let Some(from) = &var.value_from else {
                s.out.push_str(&format!("{}={}\n", var.name, var.value.as_deref().unwrap_or("")));
                continue;
            };
            if let Some(owner) = owner {
                match resolve_reference(s, owner, c, from) {
                    Ok(value) => {
                        s.out.push_str(&format!("{}={value}\n", var.name));
                        continue;
                    }
                    Err(e) => errors.entry(e).or_default().push(var.name.clone()),
                }
            }
            s.out.push_str(&format!("# {} from {}\n", var.name, reference_text(from)));
        }
        let mut lines: Vec<String> = errors
            .into_iter()
            .map(|(e, mut vars)| {
                vars.sort();
                format!("error retrieving reference for {}: {e}", vars.join(", "))
            })
            .collect();
        lines.sort();
        for line in &lines {
            s.err.push_str(line);
            s.err.push('\n');
        }
        !lines.is_empty()
    }
}

/// kubectl's `SplitEnvironmentFromResources`: resources first, then
/// `KEY=value` and `KEY-` arguments; `None` when a resource follows them.
fn split_environment_from_resources(args: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    let mut resources = Vec::new();
    let mut env = Vec::new();
    for arg in args {
        let is_env = is_environment_argument(arg) || arg.ends_with('-');
        match (env.is_empty(), is_env) {
            (_, true) => env.push(arg.clone()),
            (true, false) => resources.push(arg.clone()),
            (false, false) => return None,
        }
    }
    Some((resources, env))
}

/// `^(.+)=(.*)$` with `.` matching line breaks: an `=` after the first character.
fn is_environment_argument(arg: &str) -> bool {
    arg.char_indices().any(|(i, c)| c == '=' && i > 0)
}

/// kubectl's `ParseEnv`: the variables to set and the names to remove,
/// in order; `-` reads `KEY=value` lines from stdin.
fn parse_env(specs: &[String], stdin: Option<&str>) -> std::result::Result<(Vec<EnvVar>, Vec<String>), String> {
    let mut env = Vec::new();
    let mut set_names = Vec::new();
    let mut remove = Vec::new();
    for spec in specs {
        if spec == "-" {
            env.extend(read_env(stdin.unwrap_or("")));
        } else if let Some((name, value)) = spec.split_once('=') {
            let problems = env_var_name_problems(name);
            if !problems.is_empty() {
                return Err(format!("{name:?} is not a valid key name: {}", problems.join(";")));
            }
            set_names.push(name.to_string());
            env.push(EnvVar { name: name.to_string(), value: Some(value.to_string()), value_from: None });
        } else if let Some(name) = spec.strip_suffix('-') {
            remove.push(name.to_string());
        } else {
            return Err(format!("unknown environment variable: {spec}"));
        }
    }
    if remove.iter().any(|r| set_names.contains(r)) {
        return Err("can not both modify and remove the same environment variable in the same command".to_string());
    }
    Ok((env, remove))
}

/// `env` syntax from stdin: `KEY=value` lines, `#` starting a comment.
fn read_env(text: &str) -> Vec<EnvVar> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let (name, value) = line.split_once('=')?;
            Some(EnvVar { name: name.to_string(), value: Some(value.to_string()), value_from: None })
        })
        .collect()
}

/// apimachinery's `IsEnvVarName`.
pub(crate) fn env_var_name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'));
    if !starts_well || !name.chars().all(allowed) {
        problems.push(
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
                .to_string(),
        );
    }
    if name == "." {
        problems.push("must not be '.'".to_string());
    } else if name == ".." {
        problems.push("must not be '..'".to_string());
    } else if name.starts_with("..") {
        problems.push("must not start with '..'".to_string());
    }
    problems
}

/// One variable per key of a ConfigMap's or Secret's data (`--keys` picks
/// some), named as kubectl's `keyToEnvName` names it. Go ranges over the
/// data map in random order; the keys go in sorted order here.
fn env_from(obj: &Object, keys: &[String]) -> std::result::Result<Vec<EnvVar>, Error> {
    let wanted = |key: &String| keys.is_empty() || keys.contains(key);
    let name = obj.meta().name.clone();
    // One variable a key, each a reference to its key in the object.
    let (keys, source): (Vec<&String>, &dyn Fn(String, String) -> EnvVarSource) = match obj {
        Object::Secret(secret) => (secret.data.iter().flatten().map(|(key, _)| key).collect(), &|name, key| EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name, key, optional: None }),
            ..Default::default()
        }),
        Object::ConfigMap(map) => (map.data.iter().flatten().map(|(key, _)| key).collect(), &|name, key| EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector { name, key, optional: None }),
            ..Default::default()
        }),
        _ => return Err(Error::Message("error: unsupported resource specified in --from".to_string())),
    };
    let env = keys
        .into_iter()
        .filter(|key| wanted(key))
        .map(|key| EnvVar { name: key_to_env_name(key), value: None, value_from: Some(source(name.clone().unwrap_or_default(), key.clone())) })
        .collect();
    Ok(env)
}

/// Upper case, and `_` for anything but letters, digits and `_`.
fn key_to_env_name(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// kubectl's `validateNoOverwrites`: a variable that exists with another value.
fn check_no_overwrites(existing: &[EnvVar], env: &[EnvVar]) -> std::result::Result<(), String> {
    for var in env {
        if let Some(current) = existing.iter().find(|e| e.name == var.name) {
            if current.value.as_deref().unwrap_or("") != var.value.as_deref().unwrap_or("") {
                return Err(format!("'{}' already has a value ({}), and --overwrite is false", current.name, current.value.as_deref().unwrap_or("")));
            }
        }
    }
    Ok(())
}

/// kubectl's `updateEnv`: existing variables in place (replaced, or gone
/// when removed), then the new ones, each name once.
fn update_env(existing: &[EnvVar], env: &[EnvVar], remove: &[String]) -> Vec<EnvVar> {
    let mut covered: Vec<&str> = remove.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for var in existing {
        if covered.contains(&var.name.as_str()) {
            continue;
        }
        match env.iter().find(|e| e.name == var.name) {
            Some(newer) => {
                covered.push(&var.name);
                out.push(newer.clone());
            }
            None => out.push(var.clone()),
        }
    }
    for var in env {
        if covered.contains(&var.name.as_str()) {
            continue;
        }
        covered.push(&var.name);
        out.push(var.clone());
    }
    out
}

/// kubectl's `GetEnvVarRefString`.
fn reference_text(from: &EnvVarSource) -> String {
    if let Some(r) = &from.config_map_key_ref {
        return format!("configmap {}, key {}", r.name, r.key);
    }
    if let Some(r) = &from.secret_key_ref {
        return format!("secret {}, key {}", r.name, r.key);
    }
    if let Some(r) = &from.field_ref {
        return format!("field path {}", r.field_path);
    }
    if let Some(r) = &from.resource_field_ref {
        let container = r.container_name.as_deref().filter(|c| !c.is_empty()).map(|c| format!("{c}/")).unwrap_or_default();
        return format!("resource field {container}{}", r.resource);
    }
    "invalid valueFrom".to_string()
}

/// kubectl's `GetEnvVarRefValue` for `--list --resolve`: ConfigMaps and
/// Secrets are read in the command's namespace; field paths are read from
/// the listed object itself, resource fields from the container.
fn resolve_reference(s: &Session, owner: &Object, c: &Container, from: &EnvVarSource) -> std::result::Result<String, String> {
    let namespace = s.namespace();
    let api = &s.cluster.sim.api;
    if let Some(r) = &from.secret_key_ref {
        let obj = api.get(crate::engine::api::ids::secrets(), &namespace, &r.name).map_err(|e| e.message)?;
        let Object::Secret(secret) = &*obj else { return Err("invalid valueFrom".to_string()) };
        return match secret.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(bytes) => Ok(String::from_utf8_lossy(&bytes.0).into_owned()),
            None => Err(format!("key {} not found in secret {}", r.key, r.name)),
        };
    }
    if let Some(r) = &from.config_map_key_ref {
        let obj = api.get(crate::engine::api::ids::config_maps(), &namespace, &r.name).map_err(|e| e.message)?;
        let Object::ConfigMap(map) = &*obj else { return Err("invalid valueFrom".to_string()) };
        return match map.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(value) => Ok(value.clone()),
            None => Err(format!("key {} not found in config map {}", r.key, r.name)),
        };
    }
    if let Some(r) = &from.field_ref {
        return field_value(owner, &r.field_path);
    }
    if let Some(r) = &from.resource_field_ref {
        return resource_value(c, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()));
    }
    Err("invalid valueFrom".to_string())
}

/// kubectl's `extractFieldPathAsString` on the listed object.
fn field_value(obj: &Object, path: &str) -> std::result::Result<String, String> {
    let meta = obj.meta();
    if let Some(inner) = path.strip_suffix("']") {
        if let Some((field, key)) = inner.split_once("['").filter(|(field, _)| !field.is_empty()) {
            let map = match field {
                "metadata.annotations" => &meta.annotations,
                "metadata.labels" => &meta.labels,
                _ => return Err(format!("fieldPath {path:?} does not support subscript")),
            };
            return Ok(map.as_ref().and_then(|m| m.get(key)).cloned().unwrap_or_default());
        }
    }
    let listed = |map: &Option<BTreeMap<String, String>>| {
        map.iter().flatten().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")
    };
    Ok(match path {
        "metadata.annotations" => listed(&meta.annotations),
        "metadata.labels" => listed(&meta.labels),
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        _ => return Err(format!("unsupported fieldPath: {path}")),
    })
}

/// kubectl's `extractContainerResourceValue`: the container's request or
/// limit in units of the divisor (1 when zero), rounded up.
fn resource_value(c: &Container, name: &str, divisor: Option<&str>) -> std::result::Result<String, String> {
    let Some((list, resource_name)) = name.split_once('.') else {
        return Err(format!("Unsupported container resource : {name}"));
    };
    let per_milli = match resource_name {
        "cpu" => true,
        "memory" | "ephemeral-storage" => false,
        other if other.starts_with("hugepages-") => false,
        _ => return Err(format!("Unsupported container resource : {name}")),
    };
    let resources = c.resources.as_ref();
    let values = match list {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => return Err(format!("Unsupported container resource : {name}")),
    };
    let amount = values.and_then(|v| v.get(resource_name)).and_then(crate::engine::quantity::parse_stored).unwrap_or_else(Quantity::zero);
    let divisor = divisor.and_then(|d| Quantity::parse(d.trim()).ok()).filter(|d| !d.is_zero()).unwrap_or_else(|| Quantity::from_nanos(1_000_000_000, crate::engine::quantity::Format::DecimalSI));
    let (amount, divisor) = if per_milli { (amount.milli_value(), divisor.milli_value()) } else { (amount.value(), divisor.value()) };
    // Go divides as float64 and converts back, which a zero divisor turns into the minimum int64.
    if divisor == 0 {
        return Ok(i64::MIN.to_string());
    }
    Ok((((amount as f64) / (divisor as f64)).ceil() as i64).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn splits_resources_from_environment_as_kubectl_does() {
        assert_eq!(split_environment_from_resources(&words(&["deploy/web", "A=b", "C-"])), Some((words(&["deploy/web"]), words(&["A=b", "C-"]))));
        assert_eq!(split_environment_from_resources(&words(&["A=b", "deploy/web"])), None);
        // `=c` is no environment argument; a name ending in `-` is one.
        assert_eq!(split_environment_from_resources(&words(&["deploy", "=c"])), Some((words(&["deploy", "=c"]), vec![])));
        assert_eq!(split_environment_from_resources(&words(&["deploy/web-"])), Some((vec![], words(&["deploy/web-"]))));
    }

    #[test]
    fn parses_environment_as_kubectl_does() {
        let (env, remove) = parse_env(&words(&["A=b=c", "-", "D-"]), Some("X=1 # comment\n# nothing\nY=\nbad\n")).unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or(""))).collect();
        assert_eq!(pairs, vec![("A", "b=c"), ("X", "1 "), ("Y", "")]);
        assert_eq!(remove, vec!["D"]);
        assert_eq!(parse_env(&words(&["bogus"]), None).unwrap_err(), "unknown environment variable: bogus");
        assert_eq!(parse_env(&words(&["A=1", "A-"]), None).unwrap_err(), "can not both modify and remove the same environment variable in the same command");
        assert_eq!(parse_env(&words(&["..a=1"]), None).unwrap_err(), "\"..a\" is not a valid key name: must not start with '..'");
        assert!(parse_env(&words(&["1A=1"]), None).unwrap_err().starts_with("\"1A\" is not a valid key name: a valid environment variable name must consist"));
        assert_eq!(key_to_env_name("my-key.conf"), "MY_KEY_CONF");
    }

    #[test]
    fn updates_env_in_place_then_appends() {
        let var = |n: &str, v: &str| EnvVar { name: n.to_string(), value: Some(v.to_string()), value_from: None };
        let existing = vec![var("A", "1"), var("B", "2"), var("C", "3")];
        let out = update_env(&existing, &[var("C", "9"), var("D", "4"), var("D", "5")], &["A".to_string()]);
        assert_eq!(out, vec![var("B", "2"), var("C", "9"), var("D", "4")]);
    }
}
