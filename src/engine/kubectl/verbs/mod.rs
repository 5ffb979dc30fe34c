//! One module per verb; `dispatch` picks it by the parsed command.

pub mod apply;
mod attach;
mod debug;
mod auth;
mod autoscale;
mod certificate;
mod cp;
pub mod create;
mod create_ingress;
mod create_token;
mod create_rbac;
mod delete;
pub(crate) mod diff;
mod describe;
mod exec;
mod expose;
mod get;
pub mod info;
mod proxy;
mod label;
mod logs;
mod nodes;
mod patch;
mod rollout;
mod run;
pub(crate) mod scale;
mod set;
mod top;
mod wait;

use super::{Error, Result, Session};

pub fn dispatch(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    let verb = command.split(' ').next().unwrap_or("");
    if s.args.flag("help") && !verb.is_empty() {
        return Err(help_not_simulated(&command));
    }
    if let Some(refusal) = unsimulated_flag(s) {
        return Err(Error::Message(refusal));
    }
    // Every verb with -k checks its sources and builds the kustomization
    // before it reads objects; apply, create, delete and set env do so
    // after their own argument checks (and edit is refused).
    if s.args.has("kustomize") && !["apply", "create", "delete", "set env", "edit"].contains(&command.as_str()) {
        crate::engine::kubectl::manifest::check_sources(s, None)?;
    }
    if let Some(help) = group_help(&command) {
        return Err(Error::Message(match s.args.positionals.first() {
            None => help.trim_end_matches('\n').to_string(),
            Some(word) => format!("error: unknown command {word:?}\nSee 'kubectl {command} -h' for help and examples"),
        }));
    }
    match verb {
        "" => info::help(s),
        "get" => get::run(s),
        "describe" => describe::run(s),
        "logs" => logs::run(s),
        "events" => get::events(s),
        "version" | "cluster-info" | "api-resources" | "api-versions" | "config" | "explain" => info::run(s),
        "apply" => apply::run(s),
        "diff" => diff::run(s),
        "create" => create::run(s),
        "replace" => apply::replace(s),
        "run" => run::run(s),
        "expose" => expose::run(s),
        "delete" => delete::run(s),
        "scale" => scale::run(s),
        "certificate" => certificate::run(s),
        "autoscale" => autoscale::run(s),
        "rollout" => rollout::run(s),
        "set" => set::run(s),
        "label" | "annotate" => label::run(s),
        "cordon" | "uncordon" | "drain" | "taint" => nodes::run(s),
        "wait" => wait::run(s),
        "patch" => patch::run(s),
        "exec" => exec::run(s),
        "attach" => attach::run(s),
        "debug" => debug::run(s),
        "top" => top::run(s),
        "auth" => auth::run(s),
        "cp" => cp::run(s),
        "kustomize" => kustomize(s),
        "proxy" => proxy::run(s),
        "port-forward" | "edit" => info::simulated_only(s),
        _ => Err(Error::Message(format!("error: unknown command \"{verb}\" for \"kubectl\""))),
    }
}

#[cfg(test)]
pub mod write_tests;

/// `kubectl kustomize [DIR]`: the built objects as YAML, kustomize's
/// warnings on stderr first (kubectl/pkg/cmd/kustomize/kustomize.go).
fn kustomize(s: &mut Session) -> Result {
    if s.args.positionals.len() > 1 {
        return Err(Error::Message("error: specify one path to kustomization.yaml".to_string()));
    }
    let dir = s.args.positionals.first().cloned().unwrap_or_else(|| ".".to_string());
    let root_only = s.args.value("load-restrictor") != Some("LoadRestrictionsNone");
    let built = super::kustomize::build_with(s.files, &dir, root_only);
    for warning in &built.warnings {
        s.warn(&format!("{warning}\n"));
    }
    let objects = built.result.map_err(|e| Error::Message(format!("error: {e}")))?;
    let text = super::kustomize::to_yaml(&objects);
    s.say(false, &text);
    Ok(())
}

/// `--help` on a command: kubectl prints the command's help and runs
/// nothing. The help texts are not in the page, so this says where they
/// are; the command still does not run (`delete pod web --help` deletes
/// nothing).
fn help_not_simulated(command: &str) -> Error {
    let words: Vec<&str> = command.split(' ').collect();
    let page: Vec<String> = (1..=words.len()).map(|n| format!("kubectl_{}", words[..n].join("_"))).collect();
    Error::Message(format!(
        "error: kubectl's help texts are not part of this simulation, and \"kubectl {command}\" was not run; its reference is https://kubernetes.io/docs/reference/kubectl/generated/{}/",
        page.join("/")
    ))
}

/// A flag kubectl would act on that this simulation does not: refused,
/// not ignored, and nothing runs.
fn unsimulated_flag(s: &Session) -> Option<String> {
    let verb = s.args.command.clone();
    let given = |flag: &str| s.args.has(flag);
    let refusal = if verb == "autoscale" && (given("kustomize") || given("filename")) {
        "autoscale -f and -k are not part of this simulation: name the object instead (kubectl autoscale deployment NAME --max=N)".to_string()
    } else if verb == "kustomize" && given("load-restrictor") && !["LoadRestrictionsRootOnly", "LoadRestrictionsNone"].contains(&s.args.value("load-restrictor").unwrap_or("")) {
        // kustomize's flag check (commands/build/flagloadrestrictor.go), an error not a refusal.
        format!("illegal flag value --load-restrictor {}; legal values: [LoadRestrictionsRootOnly LoadRestrictionsNone]", s.args.value("load-restrictor").unwrap_or(""))
    } else if verb == "kustomize"
        && (["enable-helm", "enable-alpha-plugins", "network", "as-current-user", "helm-debug"].iter().any(|f| s.args.flag(f))
            || ["env", "mount", "network-name", "helm-command", "helm-api-versions", "helm-kube-version"].iter().any(|f| given(f)))
    {
        "kubectl kustomize's helm charts and plugin functions are not part of this simulation".to_string()
    } else if verb == "kustomize" && given("output") {
        "kustomize -o is not part of this simulation: redirect its output instead (kubectl kustomize DIR > FILE)".to_string()
    } else if (given("prune") && s.args.flag("prune")) || given("prune-allowlist") {
        format!("{verb} --prune is not part of this simulation; delete what you took out of your files with kubectl delete")
    } else if given("interactive") && s.args.flag("interactive") && verb == "delete" {
        "delete --interactive is not part of this simulation (it asks before deleting); run the delete without it".to_string()
    } else if s.args.flag("output-watch-events") && (s.args.flag("watch") || s.args.flag("watch-only")) {
        "--output-watch-events is not part of this simulation: a watch here prints the objects it lists and no events after them".to_string()
    } else if given("show-managed-fields") && s.args.flag("show-managed-fields") {
        "--show-managed-fields is not part of this simulation: objects here keep no managed fields".to_string()
    } else if given("raw") && verb != "config view" && verb != "get" {
        format!("{verb} --raw is not part of this simulation: it reads the API server's paths directly")
    } else if (given("raw") && s.args.flag("raw")) || (given("flatten") && s.args.flag("flatten")) {
        "config view --raw and --flatten are not part of this simulation: its kubeconfig holds no credentials to show".to_string()
    } else {
        return None;
    };
    Some(format!("error: {refusal}"))
}

/// A command group run without its subcommand: kubectl prints the group's
/// help (to stderr, failing), as cobra's `DefaultSubCommandRun` does.
/// These texts are kubectl 1.33's own.
fn group_help(command: &str) -> Option<&'static str> {
    Some(match command {
        "create secret" => include_str!("group_help/create_secret.txt"),
        "create service" => include_str!("group_help/create_service.txt"),
        "set" => include_str!("group_help/set.txt"),
        "rollout" => include_str!("group_help/rollout.txt"),
        "auth" => include_str!("group_help/auth.txt"),
        "top" => include_str!("group_help/top.txt"),
        _ => return None,
    })
}
