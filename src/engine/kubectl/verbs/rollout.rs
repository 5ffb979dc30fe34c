//! `kubectl rollout status|history|undo|restart|pause|resume` for deployments.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use crate::engine::api::{ids, meta, Object};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::targets::{self, qualified, Target};
use crate::engine::kubectl::verbs::delete::timeout_ms;
use crate::engine::kubectl::{Error, Result, Session};

const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// How long `rollout status` waits without `--timeout` (kubectl: forever).
const DEFAULT_STATUS_WAIT_MS: u64 = 3600 * 1000;

pub fn run(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    let words = s.args.positionals.clone();
    let (targets, mut failures) = targets::resolve(s, &words, false)?;
    for t in &targets {
        let result = match command.as_str() {
            "rollout status" => status(s, t),
            "rollout history" => history(s, t),
            "rollout undo" => undo(s, t),
            "rollout restart" => restart(s, t),
            "rollout pause" => pause(s, t, true),
            "rollout resume" => pause(s, t, false),
            _ => return Err(Error::Message(format!("error: unknown command \"{}\" for \"kubectl rollout\"", words.first().cloned().unwrap_or_default()))),
        };
        if let Err(f) = result {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}

fn deployment(s: &Session, t: &Target) -> std::result::Result<(Rc<Object>, Deployment), Failure> {
    let obj = targets::fetch(s, t)?;
    match &*obj {
        Object::Deployment(d) => {
            let d = d.clone();
            Ok((obj, d))
        }
        _ => Err(Failure::Text(format!("{} is not a deployment; this simulation rolls out deployments", qualified(t)))),
    }
}

/// kubectl's deployment status viewer: the message and whether it is done.
fn status_message(d: &Deployment) -> std::result::Result<(String, bool), String> {
    let name = d.metadata.name.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Ok(("Waiting for deployment spec update to be observed...\n".to_string(), false));
    }
    let timed_out = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    if timed_out {
        return Err(format!("deployment {name:?} exceeded its progress deadline"));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if let Some(want) = d.spec.as_ref().and_then(|s| s.replicas) {
        if updated < want {
            return Ok((format!("Waiting for deployment {name:?} rollout to finish: {updated} out of {want} new replicas have been updated...\n"), false));
        }
    }
    if replicas > updated {
        return Ok((format!("Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n", replicas - updated), false));
    }
    if available < updated {
        return Ok((format!("Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available...\n"), false));
    }
    Ok((format!("deployment {name:?} successfully rolled out\n"), true))
}

/// Watches the deployment in virtual time, printing the status on every
/// change as kubectl does, until done, failed or `--timeout`.
fn status(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let timeout = timeout_ms(s, 0).map_err(|_| Failure::Text("invalid --timeout".to_string()))?;
    let watch = s.args.value("watch").is_none_or(|w| w != "false");
    let deadline = s.cluster.sim.now().plus_millis(if timeout == 0 { DEFAULT_STATUS_WAIT_MS } else { timeout });
    let mut seen: Option<String> = None;
    loop {
        s.cluster.sim.settle();
        let (obj, d) = deployment(s, t)?;
        if seen.as_deref() != obj.meta().resource_version.as_deref() {
            seen = obj.meta().resource_version.clone();
            let (message, done) = status_message(&d).map_err(Failure::Text)?;
            s.out.push_str(&message);
            if done || !watch {
                return Ok(());
            }
        }
        if s.cluster.sim.now() >= deadline {
            return Err(Failure::Text("timed out waiting for the condition".to_string()));
        }
        let next = s.cluster.sim.next_timer().map_or(deadline, |n| n.min(deadline));
        s.cluster.sim.run_until(next.max(s.cluster.sim.now().plus_millis(1)));
    }
}

/// The deployment's ReplicaSets by revision number.
fn revisions(s: &Session, d: &Deployment) -> std::result::Result<BTreeMap<i64, ReplicaSet>, Failure> {
    let namespace = d.metadata.namespace.clone().unwrap_or_default();
    let uid = d.metadata.uid.clone();
    let (items, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::replica_sets(), &namespace)).map_err(Failure::Api)?;
    let mut out = BTreeMap::new();
    for item in items {
        let Object::ReplicaSet(rs) = &*item else { continue };
        let owned = meta::controller_of(rs.metadata.owner_references.as_ref()).is_some_and(|o| Some(&o.uid) == uid.as_ref());
        let revision = rs.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse::<i64>().ok());
        if let (true, Some(r)) = (owned, revision) {
            out.insert(r, rs.clone());
        }
    }
    Ok(out)
}

fn history(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let (_, d) = deployment(s, t)?;
    if s.args.value("revision").is_some_and(|r| r != "0") {
        return Err(Failure::Text("rollout history --revision is not available in this simulation".to_string()));
    }
    let revs = revisions(s, &d)?;
    let mut out = format!("{} \n", qualified(t));
    if revs.is_empty() {
        out.push_str("No rollout history found.\n");
    } else {
        let width = "REVISION".len().max(revs.keys().map(|r| r.to_string().len()).max().unwrap_or(0)) + 2;
        out.push_str(&format!("{:<width$}CHANGE-CAUSE\n", "REVISION"));
        for (r, rs) in &revs {
            let cause = rs.metadata.annotations.as_ref().and_then(|a| a.get(CHANGE_CAUSE)).cloned().unwrap_or_else(|| "<none>".to_string());
            out.push_str(&format!("{:<width$}{cause}\n", r.to_string()));
        }
    }
    out.push('\n');
    s.out.push_str(&out);
    Ok(())
}

fn undo(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let (obj, d) = deployment(s, t)?;
    let name = d.metadata.name.clone().unwrap_or_default();
    if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
        return Err(Failure::Text(format!("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again")));
    }
    let to_revision: i64 = s.args.value("to-revision").and_then(|r| r.parse().ok()).unwrap_or(0);
    let revs = revisions(s, &d)?;
    if revs.is_empty() {
        return Err(Failure::Text(format!("no rollout history found for deployment {name:?}")));
    }
    let target_revision = if to_revision == 0 {
        if revs.len() <= 1 {
            return Err(Failure::Text("no last revision to roll back to".to_string()));
        }
        revs.keys().rev().nth(1).copied().unwrap_or(0)
    } else {
        to_revision
    };
    let Some(rs) = revs.get(&target_revision) else {
        return Err(Failure::Text(format!("unable to find specified revision {to_revision} in history")));
    };
    let mut template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let current_template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    if current_template == template {
        s.out.push_str(&format!("{} skipped rollback (current template already matches revision {target_revision})\n", qualified(t)));
        return Ok(());
    }
    let mut next = (*obj).clone();
    if let Object::Deployment(nd) = &mut next {
        if let Some(spec) = nd.spec.as_mut() {
            spec.template = template;
        }
    }
    s.cluster.sim.api.update_with(next, false, false).map_err(Failure::Api)?;
    s.out.push_str(&format!("{} rolled back\n", qualified(t)));
    Ok(())
}

fn restart(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let (obj, _) = deployment(s, t)?;
    if let Object::Deployment(d) = &*obj {
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            return Err(Failure::Text(format!("error: deployments.apps {:?} can't restart paused deployment (run rollout resume first)", t.name)));
        }
    }
    let stamp = serde_json::to_value(meta::api_time(s.cluster.sim.now())).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut next = (*obj).clone();
    if let Object::Deployment(d) = &mut next {
        let template_meta = d.spec.get_or_insert_with(Default::default).template.metadata.get_or_insert_with(Default::default);
        template_meta.annotations.get_or_insert_with(BTreeMap::new).insert("kubectl.kubernetes.io/restartedAt".to_string(), stamp);
    }
    s.cluster.sim.api.update_with(next, false, false).map_err(Failure::Api)?;
    s.out.push_str(&format!("{} restarted\n", qualified(t)));
    Ok(())
}

fn pause(s: &mut Session, t: &Target, paused: bool) -> std::result::Result<(), Failure> {
    let (obj, d) = deployment(s, t)?;
    let is_paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if is_paused == paused {
        let state = if paused { "already paused" } else { "not paused" };
        return Err(Failure::Text(format!("error: deployments.apps {:?} is {state}", t.name)));
    }
    let mut next = (*obj).clone();
    if let Object::Deployment(nd) = &mut next {
        nd.spec.get_or_insert_with(Default::default).paused = paused.then_some(true);
    }
    s.cluster.sim.api.update_with(next, false, false).map_err(Failure::Api)?;
    s.out.push_str(&format!("{} {}\n", qualified(t), if paused { "paused" } else { "resumed" }));
    Ok(())
}
