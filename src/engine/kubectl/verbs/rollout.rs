//! `kubectl rollout status|history|undo|restart|pause|resume` for
//! Deployments (history in ReplicaSets) and for StatefulSets and DaemonSets
//! (history in ControllerRevisions), with kubectl 1.33's status viewers,
//! history viewers and rollbackers.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use crate::engine::api::shared_spec::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;

use crate::engine::api::{ids, meta, resource, Object};
use crate::engine::controllers::history;
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
    if words.is_empty() && s.args.values("filename").is_empty() {
        return Err(Error::Message("error: required resource not specified".to_string()));
    }
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

/// `Kind.group` as kubectl names a kind it has no helper for.
fn group_kind(t: &Target) -> String {
    let rt = resource(t.rid);
    if rt.group.is_empty() {
        rt.kind.to_string()
    } else {
        format!("{}.{}", rt.kind, rt.group)
    }
}

/// `kubectl rollout` works on these; other kinds get `what`'s error.
fn rollable(s: &Session, t: &Target, unsupported: impl Fn(&Target) -> String) -> std::result::Result<Rc<Object>, Failure> {
    if !matches!(resource(t.rid).kind, "Deployment" | "StatefulSet" | "DaemonSet") {
        return Err(Failure::Text(unsupported(t)));
    }
    targets::fetch(s, t)
}

fn deployment(s: &Session, t: &Target) -> std::result::Result<(Rc<Object>, Deployment), Failure> {
    let obj = targets::fetch(s, t)?;
    match &*obj {
        Object::Deployment(d) => {
            let d = d.clone();
            Ok((obj, *d))
        }
        _ => Err(Failure::Text(format!("{} {:?} pausing is not supported", resource(t.rid).qualified_plural(), t.name))),
    }
}

/// The `--revision`/`--to-revision` flag.
fn revision_flag(s: &Session, name: &str) -> std::result::Result<i64, Failure> {
    match s.args.value(name) {
        None => Ok(0),
        Some(v) => v.parse::<i64>().map_err(|_| Failure::Text(format!("invalid argument {v:?} for \"--{name}\" flag: strconv.ParseInt: parsing {v:?}: invalid syntax"))),
    }
}

/// The ControllerRevisions the object controls, by revision number.
fn controller_revisions(s: &Session, obj: &Object) -> std::result::Result<BTreeMap<i64, ControllerRevision>, Failure> {
    let m = obj.meta();
    let (items, _) = s.cluster.sim.api.list(&Query::in_namespace(ids::controller_revisions(), m.namespace.as_deref().unwrap_or(""))).map_err(Failure::Api)?;
    let mut out = BTreeMap::new();
    for item in items {
        let Object::ControllerRevision(r) = &*item else { continue };
        if meta::controller_of(r.metadata.owner_references.as_ref()).is_some_and(|o| Some(&o.uid) == m.uid.as_ref()) {
            out.insert(r.revision, *r.clone());
        }
    }
    Ok(out)
}

fn template_of(obj: &Object) -> PodTemplateSpec {
    match obj {
        Object::Deployment(d) => d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default(),
        Object::StatefulSet(set) => set.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default(),
        Object::DaemonSet(ds) => ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default(),
        _ => PodTemplateSpec::default(),
    }
}

fn with_template(obj: &Object, template: PodTemplateSpec) -> Object {
    let mut next = obj.clone();
    match &mut next {
        Object::Deployment(d) => d.spec_mut().template = template,
        Object::StatefulSet(set) => set.spec_mut().template = template,
        Object::DaemonSet(ds) => ds.spec_mut().template = template,
        _ => {}
    }
    next
}

/// The history table (`printHistory`): revisions in order with their change cause.
fn history_table(causes: &BTreeMap<i64, Option<String>>) -> String {
    if causes.is_empty() {
        return "No rollout history found.".to_string();
    }
    let width = "REVISION".len().max(causes.keys().map(|r| r.to_string().len()).max().unwrap_or(0)) + 2;
    let mut out = format!("{:<width$}CHANGE-CAUSE\n", "REVISION");
    for (r, cause) in causes {
        let cause = cause.clone().unwrap_or_else(|| "<none>".to_string());
        out.push_str(&format!("{:<width$}{cause}\n", r.to_string()));
    }
    out
}

/// kubectl's status viewers: the message and whether the rollout is done.
fn status_message(obj: &Object) -> std::result::Result<(String, bool), String> {
    match obj {
        Object::Deployment(d) => deployment_status(d),
        Object::StatefulSet(set) => stateful_set_status(set),
        Object::DaemonSet(ds) => daemon_set_status(ds),
        _ => Err("no status viewer has been implemented".to_string()),
    }
}

fn stateful_set_status(sts: &StatefulSet) -> std::result::Result<(String, bool), String> {
    let spec = sts.spec.clone().unwrap_or_default();
    let status = sts.status.clone().unwrap_or_default();
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    if strategy.type_.as_deref() != Some("RollingUpdate") {
        return Err("rollout status is only available for RollingUpdate strategy type".to_string());
    }
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || sts.metadata.generation.unwrap_or(0) > observed {
        return Ok(("Waiting for statefulset spec update to be observed...\n".to_string(), false));
    }
    let ready = status.ready_replicas.unwrap_or(0);
    if let Some(want) = spec.replicas {
        if ready < want {
            return Ok((format!("Waiting for {} pods to be ready...\n", want - ready), false));
        }
    }
    let updated = status.updated_replicas.unwrap_or(0);
    if let Some(rolling) = &strategy.rolling_update {
        if let (Some(want), Some(partition)) = (spec.replicas, rolling.partition) {
            if updated < want - partition {
                return Ok((format!("Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...\n", want - partition), false));
            }
        }
        return Ok((format!("partitioned roll out complete: {updated} new pods have been updated...\n"), true));
    }
    let update = status.update_revision.clone().unwrap_or_default();
    if status.update_revision != status.current_revision {
        return Ok((format!("waiting for statefulset rolling update to complete {updated} pods at revision {update}...\n"), false));
    }
    let current = status.current_revision.clone().unwrap_or_default();
    Ok((format!("statefulset rolling update complete {} pods at revision {current}...\n", status.current_replicas.unwrap_or(0)), true))
}

fn daemon_set_status(ds: &DaemonSet) -> std::result::Result<(String, bool), String> {
    let name = ds.metadata.name.clone().unwrap_or_default();
    let status = ds.status.clone().unwrap_or_default();
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|s| s.type_.clone());
    if strategy.as_deref() != Some("RollingUpdate") {
        return Err("rollout status is only available for RollingUpdate strategy type".to_string());
    }
    if ds.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Ok(("Waiting for daemon set spec update to be observed...\n".to_string(), false));
    }
    let (updated, desired, available) = (status.updated_number_scheduled.unwrap_or(0), status.desired_number_scheduled, status.number_available.unwrap_or(0));
    if updated < desired {
        return Ok((format!("Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated...\n"), false));
    }
    if available < desired {
        return Ok((format!("Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available...\n"), false));
    }
    Ok((format!("daemon set {name:?} successfully rolled out\n"), true))
}

fn deployment_status(d: &Deployment) -> std::result::Result<(String, bool), String> {
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
    let kind = group_kind(t);
    loop {
        s.cluster.sim.settle();
        let obj = rollable(s, t, |_| format!("no status viewer has been implemented for {kind}"))?;
        if seen.as_deref() != obj.meta().resource_version.as_deref() {
            seen = obj.meta().resource_version.clone();
            let (message, done) = status_message(&obj).map_err(Failure::Text)?;
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
            out.insert(r, *rs.clone());
        }
    }
    Ok(out)
}

fn history(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let kind = group_kind(t);
    let obj = rollable(s, t, |_| format!("no history viewer has been implemented for {kind:?}"))?;
    let revision = revision_flag(s, "revision")?;
    if revision < 0 {
        return Err(Failure::Text(format!("revision must be a positive integer: {revision}")));
    }
    // Each revision's pod template and change cause.
    let mut templates: BTreeMap<i64, (PodTemplateSpec, Option<String>)> = BTreeMap::new();
    let cause = |a: &Option<BTreeMap<String, String>>| a.as_ref().and_then(|a| a.get(CHANGE_CAUSE)).cloned().filter(|c| !c.is_empty());
    match &*obj {
        Object::Deployment(d) => {
            for (r, rs) in revisions(s, d)? {
                templates.insert(r, (rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default(), cause(&rs.metadata.annotations)));
            }
        }
        _ => {
            for (r, cr) in controller_revisions(s, &obj)? {
                templates.insert(r, (history::template_of(&cr).unwrap_or_default(), cause(&cr.metadata.annotations)));
            }
        }
    }
    let body = if revision > 0 {
        let Some((template, _)) = templates.get(&revision) else {
            return Err(Failure::Text("unable to find the specified revision".to_string()));
        };
        format!("with revision #{revision}\n{}", super::describe::pod_template_text(template))
    } else {
        let causes: BTreeMap<i64, Option<String>> = crate::engine::sort::insert_all(templates.into_iter().map(|(r, (_, c))| (r, c)));
        format!("\n{}", history_table(&causes))
    };
    s.out.push_str(&format!("{} {body}\n", qualified(t)));
    Ok(())
}

fn undo(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let kind = group_kind(t);
    let obj = rollable(s, t, |_| format!("no rollbacker has been implemented for {kind:?}"))?;
    let to_revision = revision_flag(s, "to-revision")?;
    if to_revision < 0 {
        return Err(Failure::Text(format!("unable to find specified revision {to_revision} in history")));
    }
    let (target_template, current_template) = match &*obj {
        Object::Deployment(d) => {
            if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
                return Err(Failure::Text("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".to_string()));
            }
            let revs = revisions(s, d)?;
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
            ((target_revision, template), template_of(&obj))
        }
        _ => {
            let revs = controller_revisions(s, &obj)?;
            if to_revision == 0 && revs.len() <= 1 {
                return Err(Failure::Text("no last revision to roll back to".to_string()));
            }
            let found = if to_revision == 0 { revs.values().rev().nth(1) } else { revs.get(&to_revision) };
            let Some(cr) = found else {
                return Err(Failure::Text(format!("unable to find specified revision {to_revision} in history")));
            };
            ((cr.revision, history::template_of(cr).unwrap_or_default()), template_of(&obj))
        }
    };
    let (target_revision, template) = target_template;
    if current_template == template {
        s.out.push_str(&format!("{} skipped rollback (current template already matches revision {target_revision})\n", qualified(t)));
        return Ok(());
    }
    s.cluster.sim.api.update_with(with_template(&obj, template), false, false).map_err(|e| Failure::Text(format!("failed restoring revision {target_revision}: {}", e.message)))?;
    s.out.push_str(&format!("{} rolled back\n", qualified(t)));
    Ok(())
}

fn restart(s: &mut Session, t: &Target) -> std::result::Result<(), Failure> {
    let plural = resource(t.rid).qualified_plural();
    let obj = rollable(s, t, |t| format!("error: {plural} {:?} restarting is not supported", t.name))?;
    if let Object::Deployment(d) = &*obj {
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            return Err(Failure::Text(format!("error: {plural} {:?} can't restart paused deployment (run rollout resume first)", t.name)));
        }
    }
    let stamp = serde_json::to_value(meta::api_time(s.cluster.sim.now())).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut template = template_of(&obj);
    template.metadata.get_or_insert_with(Default::default).annotations.get_or_insert_with(BTreeMap::new).insert("kubectl.kubernetes.io/restartedAt".to_string(), stamp);
    s.cluster.sim.api.update_with(with_template(&obj, template), false, false).map_err(Failure::Api)?;
    s.out.push_str(&format!("{} restarted\n", qualified(t)));
    Ok(())
}

fn pause(s: &mut Session, t: &Target, paused: bool) -> std::result::Result<(), Failure> {
    if resource(t.rid).kind != "Deployment" {
        let what = if paused { "pausing" } else { "resuming" };
        return Err(Failure::Text(format!("error: {} {:?} {what} is not supported", resource(t.rid).qualified_plural(), t.name)));
    }
    let (obj, d) = deployment(s, t)?;
    let is_paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if is_paused == paused {
        let state = if paused { "already paused" } else { "not paused" };
        return Err(Failure::Text(format!("error: deployments.apps {:?} is {state}", t.name)));
    }
    let mut next = (*obj).clone();
    if let Object::Deployment(nd) = &mut next {
        nd.spec_mut().paused = paused.then_some(true);
    }
    s.cluster.sim.api.update_with(next, false, false).map_err(Failure::Api)?;
    s.out.push_str(&format!("{} {}\n", qualified(t), if paused { "paused" } else { "resumed" }));
    Ok(())
}
