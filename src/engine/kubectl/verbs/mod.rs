//! One module per verb; `dispatch` picks it by the parsed command.

pub mod apply;
mod attach;
mod auth;
mod autoscale;
pub mod create;
mod create_ingress;
mod create_rbac;
mod delete;
mod describe;
mod exec;
mod expose;
mod get;
mod info;
mod label;
mod logs;
mod nodes;
mod patch;
mod rollout;
mod run;
mod scale;
mod set;
mod top;
mod wait;

use super::{Error, Result, Session};

pub fn dispatch(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    let verb = command.split(' ').next().unwrap_or("");
    match verb {
        "" => info::help(s),
        "get" => get::run(s),
        "describe" => describe::run(s),
        "logs" => logs::run(s),
        "events" => get::events(s),
        "version" | "cluster-info" | "api-resources" | "api-versions" | "config" | "explain" => info::run(s),
        "apply" => apply::run(s),
        "create" => create::run(s),
        "replace" => apply::replace(s),
        "run" => run::run(s),
        "expose" => expose::run(s),
        "delete" => delete::run(s),
        "scale" => scale::run(s),
        "autoscale" => autoscale::run(s),
        "rollout" => rollout::run(s),
        "set" => set::run(s),
        "label" | "annotate" => label::run(s),
        "cordon" | "uncordon" | "drain" | "taint" => nodes::run(s),
        "wait" => wait::run(s),
        "patch" => patch::run(s),
        "exec" => exec::run(s),
        "attach" => attach::run(s),
        "top" => top::run(s),
        "auth" => auth::run(s),
        "port-forward" | "cp" | "edit" => info::simulated_only(s),
        _ => Err(Error::Message(format!("error: unknown command \"{verb}\" for \"kubectl\""))),
    }
}

#[cfg(test)]
pub mod write_tests;
