//! `kubectl set resources --limits=… --requests=…`: each selected container
//! (init containers too) gets the given quantities over its own, as
//! set_resources.go does; `cpu=0` writes a zero, it removes nothing.

use super::super::create::resource_list;
use super::{find, select_containers, template_spec, unchanged, write, Mode, Printer, LOCAL_RESOURCE_ERROR};
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let mode = Mode::from_session(s)?;
    let words = s.args.positionals.clone();
    if mode.local && !words.is_empty() {
        return Err(Error::Message(LOCAL_RESOURCE_ERROR.to_string()));
    }
    let objects = find(s, &words, mode.local)?;
    mode.check_local()?;
    if s.args.flag("all") && s.args.value("selector").is_some_and(|l| !l.is_empty()) {
        return Err(Error::Message("error: cannot set --all and --selector at the same time".to_string()));
    }
    let limits_flag = s.args.value("limits").unwrap_or("").to_string();
    let requests_flag = s.args.value("requests").unwrap_or("").to_string();
    if limits_flag.is_empty() && requests_flag.is_empty() {
        return Err(Error::Message("error: you must specify an update to requests or limits (in the form of --requests/--limits)".to_string()));
    }
    let limits = resource_list(&limits_flag).map_err(Error::Message)?.unwrap_or_default();
    let requests = resource_list(&requests_flag).map_err(Error::Message)?.unwrap_or_default();
    let pattern = s.args.value("containers").unwrap_or("*").to_string();

    // Every object is changed before any is written, so the containers
    // not found are reported ahead of the write failures, as in kubectl.
    let mut failures = Vec::new();
    let mut changed = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        let spec = match template_spec(&mut next) {
            Ok(spec) => spec,
            Err(e) => {
                changed.push((found, Err(e)));
                continue;
            }
        };
        let containers = select_containers(spec, &pattern);
        if containers.is_empty() {
            failures.push(Failure::Text(format!("error: unable to find container named {pattern}")));
            continue;
        }
        for c in containers {
            let resources = c.resources.get_or_insert_with(Default::default);
            if !limits.is_empty() {
                resources.limits.get_or_insert_with(Default::default).extend(limits.clone());
            }
            if !requests.is_empty() {
                resources.requests.get_or_insert_with(Default::default).extend(requests.clone());
            }
        }
        changed.push((found, Ok(next)));
    }
    let mut printer = Printer::new("resource requirements updated");
    for (found, next) in changed {
        let mut next = match next {
            Ok(next) => next,
            Err(e) => {
                failures.push(Failure::Text(format!("error: {} {e}\n", found.object_name)));
                continue;
            }
        };
        super::record(s, &mut next);
        if unchanged(&found.object, &next) {
            continue;
        }
        let printed = write(s, &mode, found, next, "failed to patch resources update to pod template ").and_then(|stored| printer.print(s, &mode, &stored));
        if let Err(f) = printed {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}
