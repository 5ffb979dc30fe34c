//! `kubectl rollout status|history|undo|restart|pause|resume` for
//! Deployments (history in ReplicaSets) and for StatefulSets and DaemonSets
//! (history in ControllerRevisions), with kubectl 1.33's status viewers,
//! history viewers and rollbackers.

use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use crate::engine::api::shared_spec::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;

use crate::engine::api::{ids, meta, resource, ApiError, Object, Reason};
use crate::engine::controllers::history;
use crate::engine::apiserver::{ApiServer, Query};
use crate::engine::store::ChangeKind;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, Target};
use crate::engine::kubectl::verbs::delete::timeout_ms;
use crate::engine::kubectl::verbs::set::{Mode, Printer};
use crate::engine::kubectl::{Error, Result, Session};

const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// How long `rollout status` waits without `--timeout` (kubectl: forever).
const DEFAULT_STATUS_WAIT_MS: u64 = 3600 * 1000;

pub fn run(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    let words = s.args.positionals.clone();
    // Complete, then Validate, then the builder, as kubectl's commands run.
    let mode = Mode::from_session(s)?;
    if words.is_empty() && !manifest::file_sources_given(s) {
        return Err(Error::Message("error: required resource not specified".to_string()));
    }
    let revision = match command.as_str() {
        "rollout status" | "rollout history" => revision_flag(s, "revision")?,
        "rollout undo" => revision_flag(s, "to-revision")?,
        _ => 0,
    };
    if revision < 0 && command != "rollout undo" {
        return Err(Error::Message(format!("error: revision must be a positive integer: {revision}")));
    }
    let (targets, mut failures) = targets::resolve_bare_type_as_all(s, &words)?;
    // The commands that say so when a type or selector finds nothing;
    // history and undo print nothing.
    if targets.is_empty() && failures.is_empty() && matches!(command.as_str(), "rollout status" | "rollout restart" | "rollout pause" | "rollout resume") {
        let namespace = s.namespace();
        s.err.push_str(&format!("No resources found in {namespace} namespace.\n"));
        return Ok(());
    }
    let mut printer = Printer::new("");
    for t in &targets {
        let result = match command.as_str() {
            "rollout status" => status(s, t, revision),
            "rollout history" => history(s, t, revision, &mode, &mut printer),
            "rollout undo" => undo(s, t, revision, &mode, &mut printer),
            "rollout restart" => restart(s, t, &mode, &mut printer),
            "rollout pause" => pause(s, t, true, &mode, &mut printer),
            "rollout resume" => pause(s, t, false, &mode, &mut printer),
            _ => return Err(Error::Message(format!("error: unknown command \"{}\" for \"kubectl rollout\"", words.first().cloned().unwrap_or_default()))),
        };
        if let Err(f) = result {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}

/// Prints one object as the command's printer does: `<kind>/<name> <operation>`
/// (with the dry-run suffix), or the object in the `-o` format.
fn print(s: &mut Session, mode: &Mode, printer: &mut Printer, obj: &Object, operation: String) -> std::result::Result<(), Failure> {
    printer.operation = operation;
    printer.print(s, mode, obj)
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
/// The builder's `Latest()` reads the object first, so one that does not
/// exist is NotFound whatever its kind.
fn rollable(s: &Session, t: &Target, unsupported: impl Fn(&Target) -> String) -> std::result::Result<Rc<Object>, Failure> {
    let obj = targets::fetch(s, t)?;
    if !matches!(resource(t.rid).kind, "Deployment" | "StatefulSet" | "DaemonSet") {
        return Err(Failure::Text(unsupported(t)));
    }
    Ok(obj)
}

/// The `--revision`/`--to-revision` flag (pflag's Int64).
fn revision_flag(s: &Session, name: &str) -> std::result::Result<i64, Error> {
    match s.args.value(name) {
        None => Ok(0),
        Some(v) => v.parse::<i64>().map_err(|_| Error::Usage(format!("invalid argument {v:?} for \"--{name}\" flag: strconv.ParseInt: parsing {v:?}: invalid syntax"))),
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

/// Watches the object in virtual time, printing the status on every
/// change as kubectl does, until done, failed or `--timeout`.
fn status(s: &mut Session, t: &Target, revision: i64) -> std::result::Result<(), Failure> {
    let timeout = timeout_ms(s, 0).map_err(|_| Failure::Text("invalid --timeout".to_string()))?;
    let watch = s.args.value("watch").is_none_or(|w| w != "false");
    let deadline = s.cluster.sim.now().plus_millis(if timeout == 0 { DEFAULT_STATUS_WAIT_MS } else { timeout });
    let mut seen: Option<String> = None;
    let kind = group_kind(t);
    // Where the watch has read the change log to: kubectl's watch hands
    // the status viewer every version written, several in one instant too.
    let mut read_to: Option<(String, i64)> = None;
    loop {
        s.cluster.sim.settle();
        let mut versions: Vec<Rc<Object>> = Vec::new();
        let mut deleted = false;
        if let Some((key, from)) = &read_to {
            for c in s.cluster.sim.api.store().changes_since(*from, key).unwrap_or_default().iter().filter(|c| &*c.key == key.as_str()) {
                if c.kind == ChangeKind::Delete {
                    deleted = true;
                    break;
                }
                versions.push(c.value.object());
            }
        }
        if !deleted {
            let latest = rollable(s, t, |_| format!("no status viewer has been implemented for {kind}"))?;
            if versions.last().map(|o| o.meta().resource_version.clone()) != Some(latest.meta().resource_version.clone()) {
                versions.push(latest.clone());
            }
            let m = latest.meta();
            read_to = Some((ApiServer::key(t.rid, m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or("")), s.cluster.sim.api.store().revision()));
        }
        for obj in versions {
            if seen.as_deref() == obj.meta().resource_version.as_deref() {
                continue;
            }
            seen = obj.meta().resource_version.clone();
            if let Object::Deployment(d) = &*obj {
                check_running_revision(d, revision)?;
            }
            let (message, done) = status_message(&obj).map_err(Failure::Text)?;
            s.out.push_str(&message);
            if done || !watch {
                return Ok(());
            }
        }
        if deleted {
            // The watch's Deleted event ends it (so as not to follow a new object of that name).
            return Err(Failure::Text("object has been deleted".to_string()));
        }
        if s.cluster.sim.now() >= deadline {
            return Err(Failure::Text("timed out waiting for the condition".to_string()));
        }
        let next = s.cluster.sim.next_timer().map_or(deadline, |n| n.min(deadline));
        s.cluster.sim.run_until(next.max(s.cluster.sim.now().plus_millis(1)));
    }
}

/// `rollout status --revision=N` on a Deployment: the revision it runs
/// (its revision annotation, 0 without one) must be N. The DaemonSet and
/// StatefulSet viewers ignore it.
fn check_running_revision(d: &Deployment, revision: i64) -> std::result::Result<(), Failure> {
    if revision <= 0 {
        return Ok(());
    }
    let name = d.metadata.name.clone().unwrap_or_default();
    let running = match d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)) {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|_| Failure::Text(format!("cannot get the revision of deployment {name:?}: strconv.ParseInt: parsing {v:?}: invalid syntax")))?,
    };
    if running != revision {
        return Err(Failure::Text(format!("desired revision ({revision}) is different from the running revision ({running})")));
    }
    Ok(())
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

/// The history viewers' revisions: each one's object as `GetHistory`
/// gives it (a Deployment's ReplicaSet; for a DaemonSet or StatefulSet the
/// object with that revision's template) and the pod template
/// `ViewHistory` prints, with its change cause among the template's
/// annotations.
fn history_revisions(s: &Session, obj: &Object) -> std::result::Result<BTreeMap<i64, (Object, PodTemplateSpec, Option<String>)>, Failure> {
    let cause = |a: &Option<BTreeMap<String, String>>| a.as_ref().and_then(|a| a.get(CHANGE_CAUSE)).cloned().filter(|c| !c.is_empty());
    let mut out = BTreeMap::new();
    match obj {
        Object::Deployment(d) => {
            for (r, rs) in revisions(s, d)? {
                let change_cause = cause(&rs.metadata.annotations);
                let mut template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
                // DeploymentHistoryViewer copies the ReplicaSet's change cause into the template it prints.
                if let Some(c) = &change_cause {
                    template.metadata.get_or_insert_with(Default::default).annotations.get_or_insert_with(BTreeMap::new).insert(CHANGE_CAUSE.to_string(), c.clone());
                }
                out.insert(r, (Object::ReplicaSet(Box::new(rs)), template, change_cause));
            }
        }
        _ => {
            for (r, cr) in controller_revisions(s, obj)? {
                let template = history::template_of(&cr).unwrap_or_default();
                out.insert(r, (with_template(obj, template.clone()), template, cause(&cr.metadata.annotations)));
            }
        }
    }
    Ok(out)
}

fn history(s: &mut Session, t: &Target, revision: i64, mode: &Mode, printer: &mut Printer) -> std::result::Result<(), Failure> {
    let kind = group_kind(t);
    let obj = rollable(s, t, |_| format!("no history viewer has been implemented for {kind:?}"))?;
    let revisions = history_revisions(s, &obj)?;
    if mode.format.is_some() {
        // With `-o`, the objects GetHistory returns, in revision order.
        if revision > 0 {
            let Some((object, _, _)) = revisions.get(&revision) else {
                return Err(Failure::Text("unable to find the specified revision".to_string()));
            };
            return print(s, mode, printer, object, String::new());
        }
        for (object, _, _) in revisions.values() {
            print(s, mode, printer, object, String::new())?;
        }
        return Ok(());
    }
    let body = if revisions.is_empty() {
        "No rollout history found.".to_string()
    } else if revision > 0 {
        let Some((_, template, _)) = revisions.get(&revision) else {
            return Err(Failure::Text("unable to find the specified revision".to_string()));
        };
        super::describe::pod_template_text(template)
    } else {
        let causes: BTreeMap<i64, Option<String>> = crate::engine::sort::insert_all(revisions.into_iter().map(|(r, (_, _, c))| (r, c)));
        history_table(&causes)
    };
    let with_revision = if revision > 0 { format!("with revision #{revision}") } else { String::new() };
    print(s, mode, printer, &obj, format!("{with_revision}\n{body}"))
}

/// The annotations a Deployment keeps through a rollback; the others come
/// from the ReplicaSet of the revision (kubectl's `annotationsToSkip`).
const ANNOTATIONS_KEPT_ON_ROLLBACK: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// A pod template without its `pod-template-hash` label, empty maps read
/// as absent: `equalIgnoreHash`'s semantic comparison.
fn without_hash(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(m) = t.metadata.as_mut() {
        if let Some(labels) = m.labels.as_mut() {
            labels.remove("pod-template-hash");
        }
        if m.labels.as_ref().is_some_and(BTreeMap::is_empty) {
            m.labels = None;
        }
        if m.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
            m.annotations = None;
        }
    }
    t
}

fn revision_not_found(revision: i64) -> Failure {
    Failure::Text(format!("unable to find specified revision {revision} in history"))
}

fn undo(s: &mut Session, t: &Target, to_revision: i64, mode: &Mode, printer: &mut Printer) -> std::result::Result<(), Failure> {
    let kind = group_kind(t);
    let obj = rollable(s, t, |_| format!("no rollbacker has been implemented for {kind:?}"))?;
    if to_revision < 0 {
        return Err(revision_not_found(to_revision));
    }
    let dry = mode.dry;
    let skipped = || format!("skipped rollback (current template already matches revision {to_revision})");
    let result = match &*obj {
        Object::Deployment(d) => {
            let name = d.metadata.name.clone().unwrap_or_default();
            let revs = revisions(s, d)?;
            let rs = if to_revision == 0 {
                revs.values().rev().nth(1).ok_or_else(|| Failure::Text(format!("no rollout history found for deployment {name:?}")))?
            } else {
                revs.get(&to_revision).ok_or_else(|| revision_not_found(to_revision))?
            };
            let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
            if dry == DryRun::Client {
                super::describe::pod_template_text(&template)
            } else if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
                return Err(Failure::Text("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".to_string()));
            } else if without_hash(&template) == without_hash(&template_of(&obj)) {
                skipped()
            } else {
                // getDeploymentPatch: the revision's template without its hash
                // label, and the annotations: the kept ones from the Deployment,
                // the rest from the ReplicaSet.
                let mut restored = template;
                if let Some(labels) = restored.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
                    labels.remove("pod-template-hash");
                }
                let current = d.metadata.annotations.clone().unwrap_or_default();
                let mut annotations: BTreeMap<String, String> =
                    crate::engine::sort::insert_all(current.into_iter().filter(|(k, _)| ANNOTATIONS_KEPT_ON_ROLLBACK.contains(&k.as_str())));
                for (k, v) in rs.metadata.annotations.iter().flatten() {
                    if !ANNOTATIONS_KEPT_ON_ROLLBACK.contains(&k.as_str()) {
                        annotations.insert(k.clone(), v.clone());
                    }
                }
                let mut next = with_template(&obj, restored);
                next.meta_mut().annotations = (!annotations.is_empty()).then_some(annotations);
                s.cluster.sim.api.update_with(next, false, dry == DryRun::Server).map_err(|e| Failure::Text(format!("failed restoring revision {to_revision}: {}", e.message)))?;
                "rolled back".to_string()
            }
        }
        _ => {
            let revs = controller_revisions(s, &obj)?;
            if to_revision == 0 && revs.len() <= 1 {
                return Err(Failure::Text("no last revision to roll back to".to_string()));
            }
            let found = if to_revision == 0 { revs.values().rev().nth(1) } else { revs.get(&to_revision) };
            let Some(cr) = found else {
                return Err(revision_not_found(to_revision));
            };
            let template = history::template_of(cr).unwrap_or_default();
            if dry == DryRun::Client {
                format!("will roll back to {}", super::describe::pod_template_text(&template))
            } else if template == template_of(&obj) {
                skipped()
            } else {
                s.cluster.sim.api.update_with(with_template(&obj, template), false, dry == DryRun::Server).map_err(|e| Failure::Text(format!("failed restoring revision {to_revision}: {}", e.message)))?;
                "rolled back".to_string()
            }
        }
    };
    // kubectl prints the object as it read it, before the rollback.
    print(s, mode, printer, &obj, result)
}

/// A write's refusal as the patching commands report it.
fn patch_failure(e: ApiError) -> Failure {
    if e.reason == Reason::ConnectionRefused {
        return Failure::Api(e);
    }
    Failure::Text(format!("failed to patch: {}", e.message))
}

fn restart(s: &mut Session, t: &Target, mode: &Mode, printer: &mut Printer) -> std::result::Result<(), Failure> {
    let plural = resource(t.rid).qualified_plural();
    let obj = rollable(s, t, |t| format!("error: {plural} {:?} restarting is not supported", t.name))?;
    if let Object::Deployment(d) = &*obj {
        if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            return Err(Failure::Text(format!("error: {plural} {:?} can't restart paused deployment (run rollout resume first)", t.name)));
        }
    }
    let stamp = serde_json::to_value(meta::api_time(s.cluster.sim.now())).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut template = template_of(&obj);
    let annotations = template.metadata.get_or_insert_with(Default::default).annotations.get_or_insert_with(BTreeMap::new);
    // The stamp has seconds only: a second restart within the same second
    // changes nothing, and kubectl refuses its empty patch.
    if annotations.get(RESTARTED_AT) == Some(&stamp) {
        return Err(Failure::Text(format!(
            "failed to create patch for {}: if restart has already been triggered within the past second, please wait before attempting to trigger another",
            t.name
        )));
    }
    annotations.insert(RESTARTED_AT.to_string(), stamp);
    let stored = s.cluster.sim.api.update_with(with_template(&obj, template), false, false).map_err(patch_failure)?;
    print(s, mode, printer, &stored, "restarted".to_string())
}

fn pause(s: &mut Session, t: &Target, paused: bool, mode: &Mode, printer: &mut Printer) -> std::result::Result<(), Failure> {
    let what = if paused { "pausing" } else { "resuming" };
    let plural = resource(t.rid).qualified_plural();
    let obj = targets::fetch(s, t)?;
    let Object::Deployment(d) = &*obj else {
        return Err(Failure::Text(format!("error: {plural} {:?} {what} is not supported", t.name)));
    };
    let is_paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if is_paused == paused {
        let state = if paused { "already paused" } else { "not paused" };
        return Err(Failure::Text(format!("error: {plural} {:?} is {state}", t.name)));
    }
    let mut next = (*obj).clone();
    if let Object::Deployment(nd) = &mut next {
        nd.spec_mut().paused = paused.then_some(true);
    }
    let stored = s.cluster.sim.api.update_with(next, false, false).map_err(patch_failure)?;
    print(s, mode, printer, &stored, if paused { "paused" } else { "resumed" }.to_string())
}
