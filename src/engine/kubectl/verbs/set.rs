//! `kubectl set image TYPE/NAME CONTAINER=IMAGE…` (`*=IMAGE` for every container).

use k8s_openapi::api::core::v1::PodSpec;

use crate::engine::api::Object;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::{Error, Result, Session};

/// The pod template spec of a workload, if it has one.
pub fn pod_spec_mut(obj: &mut Object) -> Option<&mut PodSpec> {
    match obj {
        Object::Deployment(d) => d.spec_mut_if_any()?.template.spec.as_mut(),
        Object::ReplicaSet(r) => r.spec_mut_if_any()?.template.as_mut()?.spec.as_mut(),
        Object::StatefulSet(r) => r.spec_mut_if_any()?.template.spec.as_mut(),
        Object::DaemonSet(r) => r.spec_mut_if_any()?.template.spec.as_mut(),
        Object::ReplicationController(r) => r.spec.as_mut()?.template.as_mut()?.spec.as_mut(),
        Object::Job(j) => j.spec_mut_if_any()?.template.spec.as_mut(),
        Object::CronJob(c) => c.spec.as_mut()?.job_template.spec.as_mut()?.template.spec.as_mut(),
        Object::Pod(p) => p.spec_mut_if_any(),
        _ => None,
    }
}

pub fn run(s: &mut Session) -> Result {
    let command = s.args.command.clone();
    if command != "set image" {
        return Err(Error::Message(format!("error: \"kubectl {command}\" is not available in this simulation")));
    }
    let words = s.args.positionals.clone();
    let mut resources = Vec::new();
    let mut images: Vec<(String, String)> = Vec::new();
    for w in &words {
        match w.split_once('=') {
            Some((c, i)) => images.push((c.to_string(), i.to_string())),
            None => resources.push(w.clone()),
        }
    }
    if images.is_empty() {
        return Err(Error::Message("error: at least one image update is required\nSee 'kubectl set image -h' for help and examples".to_string()));
    }
    let dry = DryRun::from_session(s)?;
    let (targets, mut failures) = targets::resolve(s, &resources, true)?;
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let mut next = (*obj).clone();
        let Some(spec) = pod_spec_mut(&mut next) else {
            failures.push(Failure::Text(format!("{} is not a workload with a pod template", qualified(t))));
            continue;
        };
        let mut missing = None;
        for (container, image) in &images {
            let mut found = false;
            for c in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
                if container == "*" || &c.name == container {
                    c.image = Some(image.clone());
                    found = true;
                }
            }
            if !found {
                missing = Some(container.clone());
            }
        }
        if let Some(c) = missing {
            failures.push(Failure::Text(format!("unable to find container named \"{c}\"")));
            continue;
        }
        if next != *obj && dry != DryRun::Client {
            if let Err(e) = s.cluster.sim.api.update_with(next, false, dry == DryRun::Server) {
                failures.push(manifest::with_source("patching", &t.source, e));
                continue;
            }
        }
        s.out.push_str(&format!("{} image updated{}\n", qualified(t), dry.suffix()));
    }
    manifest::finish(s, failures)
}
