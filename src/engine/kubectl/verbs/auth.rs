//! `kubectl auth can-i` and `kubectl auth whoami`: the API server's
//! self-subject reviews, asked and printed as kubectl 1.33 does
//! (`staging/src/k8s.io/kubectl/pkg/cmd/auth`).

use serde_json::{json, Value};

use super::describe::rbac::{compact_rules, go_list, resource_group};
use super::{Error, Result, Session};
use crate::engine::api::meta::api_time;
use crate::engine::kubectl::discovery::{self, resource_for};
use crate::engine::kubectl::printers::{jsonpath, json as json_printer, tabwriter, to_yaml};
use crate::engine::rbac::Request;

pub fn run(s: &mut Session) -> Result {
    match s.args.command.as_str() {
        "auth can-i" => can_i(s),
        "auth whoami" => whoami(s),
        command => Err(Error::Message(format!("error: \"kubectl {command}\" is not available in this simulation"))),
    }
}

const RESOURCE_VERBS: &[&str] =
    &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use", "bind", "impersonate", "*", "approve", "sign", "escalate", "attest"];
const NON_RESOURCE_VERBS: &[&str] = &["get", "put", "post", "head", "options", "delete", "patch", "*"];

/// What `can-i` asks about: a resource (its group, plural, and name) or a
/// non-resource URL.
struct Asked {
    verb: String,
    group: String,
    resource: String,
    name: String,
    url: Option<String>,
    /// Whether discovery says the resource is namespaced (`None`: unknown to it).
    namespaced: Option<bool>,
}

fn usage_error(message: &str) -> Error {
    Error::Message(format!("error: {message}"))
}

fn can_i(s: &mut Session) -> Result {
    let list = s.args.flag("list");
    let quiet = s.args.flag("quiet");
    let all_namespaces = s.args.flag("all-namespaces");
    let subresource = s.args.value("subresource").unwrap_or_default().to_string();
    let words = s.args.positionals.clone();
    let asked = if list {
        if !words.is_empty() {
            return Err(usage_error("list option must be specified with no arguments"));
        }
        None
    } else {
        let [verb, target] = words.as_slice() else {
            return Err(usage_error(
                "you must specify two arguments: verb resource or verb resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples.",
            ));
        };
        Some(asked_for(s, verb, target))
    };
    let namespace = if all_namespaces { String::new() } else { s.namespace() };
    let Some(asked) = asked else {
        if quiet || all_namespaces || !subresource.is_empty() {
            return Err(usage_error("list option can't be specified with neither quiet, all-namespaces nor subresource options"));
        }
        return list_rules(s, &namespace);
    };
    // `Validate`: its warnings, then its errors.
    if asked.url.is_some() {
        if !subresource.is_empty() {
            return Err(usage_error("--subresource can not be used with NonResourceURL"));
        }
        if !NON_RESOURCE_VERBS.contains(&asked.verb.as_str()) {
            s.warn(&format!("Warning: verb '{}' is not a known verb\n\n", asked.verb));
        }
    } else if !asked.resource.is_empty() && !all_namespaces {
        if asked.namespaced == Some(false) {
            if asked.group.is_empty() {
                s.warn(&format!("Warning: resource '{}' is not namespace scoped\n\n", asked.resource));
            } else {
                s.warn(&format!("Warning: resource '{}' is not namespace scoped in group '{}'\n\n", asked.resource, asked.group));
            }
        }
        if !RESOURCE_VERBS.contains(&asked.verb.as_str()) {
            s.warn(&format!("Warning: verb '{}' is not a known verb\n\n", asked.verb));
        }
    }
    if s.args.flag("no-headers") {
        return Err(usage_error("--no-headers cannot be set without --list specified"));
    }
    let request = match &asked.url {
        Some(path) => Request { verb: &asked.verb, path: Some(path), ..Default::default() },
        None => Request {
            verb: &asked.verb,
            group: &asked.group,
            resource: &asked.resource,
            subresource: &subresource,
            namespace: &namespace,
            name: &asked.name,
            path: None,
        },
    };
    let decision = s.cluster.sim.api.review_access(&request)?;
    if !quiet {
        let mut answer = if decision.allowed { "yes".to_string() } else { "no".to_string() };
        if !decision.allowed && !decision.reason.is_empty() {
            answer.push_str(" - ");
            answer.push_str(&decision.reason);
        }
        answer.push('\n');
        s.say(false, &answer);
    }
    if decision.allowed {
        Ok(())
    } else {
        Err(Error::Silent)
    }
}

/// `Complete`: the verb, and the resource kubectl's REST mapper finds
/// for `TYPE[/NAME]` (a warning when it finds none), or the URL.
fn asked_for(s: &mut Session, verb: &str, target: &str) -> Asked {
    let mut asked = Asked { verb: verb.to_string(), group: String::new(), resource: String::new(), name: String::new(), url: None, namespaced: None };
    if target.starts_with('/') {
        asked.url = Some(target.to_string());
        return asked;
    }
    let (resource_arg, name) = target.split_once('/').unwrap_or((target, ""));
    asked.name = name.to_string();
    if resource_arg == "*" {
        asked.resource = "*".to_string();
        asked.namespaced = Some(true);
        return asked;
    }
    let lower = resource_arg.to_lowercase();
    let (resource, group) = lower.split_once('.').unwrap_or((&lower, ""));
    let mut warnings = Vec::new();
    let found = resource_for(group, resource, &mut warnings);
    for w in warnings {
        s.warn(&format!("Warning: {w}\n"));
    }
    match found {
        Ok((group, plural)) => {
            asked.namespaced = discovery::discovered().iter().find(|d| d.group == group && d.plural == plural).map(|d| d.namespaced);
            asked.group = group;
            asked.resource = plural;
        }
        Err(_) => {
            // Users and groups are resources only impersonation names.
            let group_resource = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
            if group_resource != "users" && group_resource != "groups" {
                if group.is_empty() {
                    s.warn(&format!("Warning: the server doesn't have a resource type '{resource}'\n\n"));
                } else {
                    s.warn(&format!("Warning: the server doesn't have a resource type '{resource}' in group '{group}'\n\n"));
                }
            }
            asked.resource = resource_arg.to_string();
        }
    }
    asked
}

fn opt(values: &Option<Vec<String>>) -> &[String] {
    values.as_deref().unwrap_or_default()
}

fn list_rules(s: &mut Session, namespace: &str) -> Result {
    let Some(review) = s.cluster.sim.api.review_rules(namespace)? else { return Ok(()) };
    if let Some(error) = &review.evaluation_error {
        s.warn(&format!("Warning: the list may be incomplete: {error}\n"));
    }
    // Broken down, compacted and sorted, the rules print the same in any
    // order: the review's split into resource and URL rules need not be made.
    let mut text = String::new();
    if !s.args.flag("no-headers") {
        text.push_str("Resources\tNon-Resource URLs\tResource Names\tVerbs\n");
    }
    for rule in compact_rules(&review.rules) {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            resource_group(&rule),
            go_list(opt(&rule.non_resource_urls)),
            go_list(opt(&rule.resource_names)),
            go_list(&rule.verbs)
        ));
    }
    let table = tabwriter::TABLE.format(&text);
    s.say(false, &table);
    Ok(())
}

const WHOAMI_FORMATS: &str = "go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml";

fn whoami(s: &mut Session) -> Result {
    let mut format = s.args.value("output").unwrap_or_default().to_string();
    // Go templates and the template files, `--template` with them, as
    // every printer reads them.
    let template_given = s.args.value("template").is_some_and(|t| !t.is_empty());
    let go_formats = ["go-template", "template", "go-template-file", "templatefile", "jsonpath-file"];
    let go_template = if (template_given && !matches!(format.as_str(), "yaml" | "json" | "name")) || go_formats.iter().any(|f| format == *f || format.starts_with(&format!("{f}="))) {
        match crate::engine::kubectl::printers::session_output_format(s) {
            Ok(crate::engine::kubectl::printers::OutputFormat::GoTemplate(t)) => Some(t),
            Ok(crate::engine::kubectl::printers::OutputFormat::JsonPath(expr)) => {
                format = format!("jsonpath={expr}");
                None
            }
            Err(e) if !e.starts_with("error: unable to match") => return Err(Error::Message(e)),
            _ => None,
        }
    } else {
        None
    };
    let jsonpath_template = match format.as_str() {
        _ if go_template.is_some() => None,
        "" | "yaml" | "json" | "name" => None,
        other => match other.strip_prefix("jsonpath=") {
            Some(expr) => Some(jsonpath::Template::parse(&jsonpath::relaxed(expr)).map_err(|e| Error::Message(format!("error: {e}")))?),
            None => {
                return Err(Error::Message(format!(
                    "error: unable to match a printer suitable for the output format {}, allowed formats are: {WHOAMI_FORMATS}",
                    jsonpath::go_quote(other)
                )))
            }
        },
    };
    let user = match s.cluster.sim.api.review_self() {
        Ok(user) => user,
        Err(e) if e.reason == crate::engine::api::Reason::Forbidden => {
            return Err(Error::Message(
                "error: the selfsubjectreviews API is not enabled in the cluster or you do not have permission to call it".to_string(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let Some(user) = user else { return Ok(()) };
    let mut info = serde_json::Map::new();
    if !user.groups.is_empty() {
        info.insert("groups".into(), json!(user.groups));
    }
    if let Some(uid) = &user.uid {
        info.insert("uid".into(), json!(uid));
    }
    info.insert("username".into(), json!(user.name));
    let review: Value = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
        "metadata": {"creationTimestamp": crate::engine::kubectl::printers::tables::rfc3339(&api_time(s.cluster.sim.api.now()))},
        "status": {"userInfo": Value::Object(info)},
    });
    let text = match format.as_str() {
        _ if go_template.is_some() => {
            let Some(t) = &go_template else { return Ok(()) };
            let (text, error) = crate::engine::kubectl::printers::render_go_template(t, &review, crate::engine::kubectl::printers::allow_missing_template_keys(s), &json_printer::to_json_compact(&review));
            s.say(false, &text);
            return match error {
                Some(e) => Err(Error::Message(e)),
                None => Ok(()),
            };
        }
        "" => {
            let mut table = String::from("ATTRIBUTE\tVALUE\n");
            table.push_str(&format!("Username\t{}\n", user.name));
            if let Some(uid) = &user.uid {
                table.push_str(&format!("UID\t{uid}\n"));
            }
            if !user.groups.is_empty() {
                table.push_str(&format!("Groups\t{}\n", go_list(&user.groups)));
            }
            tabwriter::TABLE.format(&table)
        }
        "yaml" => to_yaml(&review),
        "json" => format!("{}\n", json_printer::to_json_indented(&review)),
        "name" => "selfsubjectreview.authentication.k8s.io/\n".to_string(),
        _ => match jsonpath_template.map(|t| t.execute(&review, true)) {
            Some(Err(e)) => return Err(Error::Message(format!("error: {}", jsonpath::execution_error(format.trim_start_matches("jsonpath="), &e, &review)))),
            Some(Ok(text)) => text,
            None => String::new(),
        },
    };
    s.say(false, &text);
    Ok(())
}

#[cfg(test)]
mod tests;
