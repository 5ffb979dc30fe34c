//! Tab completion for the terminal: verbs, kinds, flags, namespaces and
//! object names, as kubectl's shell completion offers them.

use crate::engine::sort::SortStable;
use crate::engine::api::{resolve_resource_arg, resource, ResourceId, RESOURCES};
use crate::engine::cluster::Cluster;

use super::topology::stored;

pub const VERBS: &[&str] = &[
    "annotate", "api-resources", "api-versions", "apply", "cluster-info", "cordon", "create", "delete", "describe", "drain", "events",
    "explain", "expose", "get", "label", "logs", "patch", "replace", "rollout", "run", "scale", "set", "taint", "uncordon", "version",
    "wait",
];

const COMMON_FLAGS: &[&str] = &["--namespace", "--all-namespaces", "--output", "--selector", "--help"];

fn verb_flags(verb: &str) -> &'static [&'static str] {
    match verb {
        "get" => &["--output", "--selector", "--show-labels", "--watch", "--field-selector", "--all-namespaces", "--namespace", "--no-headers", "--wide"],
        "apply" | "create" | "replace" => &["--filename", "--dry-run", "--output", "--namespace"],
        "delete" => &["--filename", "--grace-period", "--force", "--now", "--all", "--selector", "--namespace", "--cascade", "--wait"],
        "run" => &["--image", "--restart", "--labels", "--port", "--env", "--command", "--dry-run", "--output", "--namespace"],
        "scale" => &["--replicas", "--namespace"],
        "logs" => &["--follow", "--previous", "--container", "--tail", "--namespace"],
        "expose" => &["--port", "--target-port", "--type", "--name", "--namespace"],
        "drain" => &["--ignore-daemonsets", "--delete-emptydir-data", "--force", "--grace-period"],
        "wait" => &["--for", "--timeout", "--namespace"],
        "rollout" => &["--namespace", "--revision"],
        _ => COMMON_FLAGS,
    }
}

/// The verbs that take a resource kind next.
fn takes_kind(verb: &str) -> bool {
    matches!(verb, "get" | "describe" | "delete" | "edit" | "label" | "annotate" | "patch" | "scale" | "explain" | "wait" | "expose" | "set")
}

/// What Tab does to `line`: the line with the word under the cursor (the
/// last one) completed as far as it is unambiguous, and the choices left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub line: String,
    pub choices: Vec<String>,
}

pub fn complete(cluster: &Cluster, line: &str) -> Completion {
    let ends_with_space = line.ends_with(' ') || line.is_empty();
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let current = if ends_with_space { "" } else { words.pop().unwrap_or("") };
    let base = &line[..line.len() - current.len()];
    if words.first() == Some(&"kubectl") {
        words.remove(0);
    }
    let namespace = flag_value(&words, "-n", "--namespace").unwrap_or("default").to_string();
    let positional: Vec<&str> = positional_words(&words);

    let candidates: Vec<String> = if current.starts_with('-') {
        let verb = positional.first().copied().unwrap_or("");
        let mut flags: Vec<String> = verb_flags(verb).iter().map(|s| s.to_string()).collect();
        if !flags.iter().any(|f| f == "--namespace") {
            flags.push("--namespace".into());
        }
        flags
    } else if matches!(words.last(), Some(&"-n") | Some(&"--namespace")) {
        names_of(cluster, resolve_resource_arg("namespaces"), "")
    } else if matches!(words.last(), Some(&"-o") | Some(&"--output")) {
        ["yaml", "json", "wide", "name", "jsonpath="].iter().map(|s| s.to_string()).collect()
    } else if positional.is_empty() {
        VERBS.iter().map(|s| s.to_string()).collect()
    } else {
        let verb = positional[0];
        let sub_verb_kind = matches!(verb, "rollout") && positional.len() >= 2;
        if verb == "rollout" && positional.len() == 1 {
            ["status", "restart", "undo", "history", "pause", "resume"].iter().map(|s| s.to_string()).collect()
        } else if matches!(verb, "cordon" | "uncordon" | "drain" | "taint") {
            names_of(cluster, resolve_resource_arg("nodes"), "")
        } else if matches!(verb, "logs" | "exec" | "port-forward") {
            names_of(cluster, resolve_resource_arg("pods"), &namespace)
        } else if takes_kind(verb) || sub_verb_kind {
            let kind_index = if sub_verb_kind { 2 } else { 1 };
            if positional.len() == kind_index {
                if let Some((kind, _)) = current.split_once('/') {
                    // `deploy/we` → names of that kind.
                    let rid = resolve_resource_arg(kind);
                    names_of(cluster, rid, &namespace).into_iter().map(|n| format!("{kind}/{n}")).collect()
                } else {
                    kind_words()
                }
            } else {
                names_of(cluster, resolve_resource_arg(positional[kind_index]), &namespace)
            }
        } else {
            Vec::new()
        }
    };
    let mut choices: Vec<String> = candidates.into_iter().filter(|c| c.starts_with(current)).collect();
    choices.sort_stable();
    choices.dedup();
    let completed = match choices.len() {
        0 => current.to_string(),
        1 => {
            let only = &choices[0];
            if only.ends_with('=') || only.ends_with('/') {
                only.clone()
            } else {
                format!("{only} ")
            }
        }
        _ => common_prefix(&choices),
    };
    Completion { line: format!("{base}{completed}"), choices: if choices.len() > 1 { choices } else { Vec::new() } }
}

fn flag_value<'a>(words: &[&'a str], short: &str, long: &str) -> Option<&'a str> {
    for (i, w) in words.iter().enumerate() {
        if *w == short || *w == long {
            return words.get(i + 1).copied();
        }
        if let Some(v) = w.strip_prefix(&format!("{long}=")) {
            return Some(v);
        }
    }
    None
}

/// Words that are not flags or flag values.
fn positional_words<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            // Flags that take a separate value.
            skip = matches!(*w, "-n" | "--namespace" | "-o" | "--output" | "-l" | "--selector" | "-f" | "--filename" | "--image" | "--replicas" | "-c" | "--container");
            continue;
        }
        out.push(*w);
    }
    out
}

fn kind_words() -> Vec<String> {
    let mut out = Vec::new();
    for r in RESOURCES {
        out.push(r.plural.to_string());
        out.extend(r.short_names.iter().map(|s| s.to_string()));
    }
    out.push("all".into());
    out
}

fn names_of(cluster: &Cluster, rid: Option<ResourceId>, namespace: &str) -> Vec<String> {
    let Some(rid) = rid else { return Vec::new() };
    let namespaced = resource(rid).namespaced;
    let mut names: Vec<String> = stored(cluster, rid)
        .iter()
        .filter(|o| !namespaced || namespace.is_empty() || o.meta().namespace.as_deref() == Some(namespace))
        .filter_map(|o| o.meta().name.clone())
        .collect();
    // Nodes are known before their kubelets register them.
    if rid == crate::engine::api::ids::nodes() {
        names.extend(cluster.sim.node_names().iter().cloned());
    }
    names
}

fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut len = first.len();
    for w in &words[1..] {
        len = len.min(first.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first[..len].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cluster::{Profile, ProfileKind};

    #[test]
    fn completes_verbs_kinds_flags_and_names() {
        let cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
        assert_eq!(complete(&cluster, "kubectl ge").line, "kubectl get ");
        assert_eq!(complete(&cluster, "get deploym").line, "get deployments ");
        let c = complete(&cluster, "de");
        assert_eq!(c.line, "de");
        assert!(c.choices.contains(&"delete".to_string()) && c.choices.contains(&"describe".to_string()));
        assert_eq!(complete(&cluster, "get pods --all-n").line, "get pods --all-namespaces ");
        assert_eq!(complete(&cluster, "get svc kube").line, "get svc kubernetes ");
        assert_eq!(complete(&cluster, "get pods -n kube-s").line, "get pods -n kube-system ");
        assert_eq!(complete(&cluster, "describe svc/kub").line, "describe svc/kubernetes ");
        assert_eq!(complete(&cluster, "get pods -o ya").line, "get pods -o yaml ");
        assert_eq!(complete(&cluster, "cordon worker-").choices.len(), 3);
    }
}
