//! `kubectl set subject (-f FILE | TYPE NAME) [--user=…] [--group=…]
//! [--serviceaccount=NS:NAME]`: adds subjects to a RoleBinding or
//! ClusterRoleBinding, as set_subject.go does (users, then groups, then
//! service accounts, each sorted, the ones already there left out).

use k8s_openapi::api::rbac::v1::Subject;

use super::{find, write, Mode, Printer};
use crate::engine::api::Object;
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::sort::SortStable;

pub fn run(s: &mut Session) -> Result {
    let mode = Mode::from_session(s)?;
    let words = s.args.positionals.clone();
    // Complete reads the objects first; Validate checks the flags after.
    let objects = find(s, &words, mode.local)?;
    mode.check_local()?;
    if s.args.flag("all") && s.args.value("selector").is_some() {
        return Err(Error::Message("error: cannot set --all and --selector at the same time".to_string()));
    }
    let users = sorted_unique(s.args.values("user"));
    let groups = sorted_unique(s.args.values("group"));
    let accounts = sorted_unique(s.args.values("serviceaccount"));
    if users.is_empty() && groups.is_empty() && accounts.is_empty() {
        return Err(Error::Message("error: you must specify at least one value of user, group or serviceaccount".to_string()));
    }
    for account in &accounts {
        let tokens: Vec<&str> = account.split(':').collect();
        if tokens.len() != 2 || tokens[1].is_empty() {
            return Err(Error::Message("error: serviceaccount must be <namespace>:<name>".to_string()));
        }
        if tokens[0].is_empty() && objects.iter().any(|f| matches!(&*f.object, Object::ClusterRoleBinding(_))) {
            return Err(Error::Message("error: serviceaccount must be <namespace>:<name>, namespace must be specified".to_string()));
        }
    }
    let namespace = s.namespace();
    let rbac = |kind: &str, name: &str| Subject { kind: kind.to_string(), api_group: Some("rbac.authorization.k8s.io".to_string()), name: name.to_string(), namespace: None };
    let mut subjects: Vec<Subject> = users.iter().map(|u| rbac("User", u)).chain(groups.iter().map(|g| rbac("Group", g))).collect();
    for account in &accounts {
        let (account_namespace, name) = account.split_once(':').unwrap_or(("", account));
        let account_namespace = if account_namespace.is_empty() { namespace.clone() } else { account_namespace.to_string() };
        subjects.push(Subject { kind: "ServiceAccount".to_string(), api_group: None, name: name.to_string(), namespace: Some(account_namespace) });
    }
    let mut printer = Printer::new("subjects updated");
    let mut failures = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        let existing = match &mut next {
            Object::RoleBinding(b) => &mut b.subjects,
            Object::ClusterRoleBinding(b) => &mut b.subjects,
            _ => {
                failures.push(Failure::Text(format!("error: {} setting subjects is only supported for RoleBinding/ClusterRoleBinding\n", found.object_name)));
                continue;
            }
        };
        let list = existing.get_or_insert_with(Vec::new);
        let before = list.len();
        for subject in &subjects {
            if !list.contains(subject) && !list[before..].contains(subject) {
                list.push(subject.clone());
            }
        }
        // An unchanged binding makes an empty patch, which kubectl skips.
        if list.len() == before {
            continue;
        }
        let stored = write(s, &mode, found, next, "failed to patch subjects to rolebinding: ");
        if let Err(f) = stored.and_then(|stored| printer.print(s, &mode, &stored)) {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}

/// `sets.List(sets.New(values…))`: each once, sorted.
fn sorted_unique(values: &[String]) -> Vec<String> {
    let mut out = values.to_vec();
    out.sort_stable();
    out.dedup();
    out
}
