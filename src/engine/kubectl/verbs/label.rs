//! `kubectl label` and `kubectl annotate`: `key=value` sets, `key-` removes,
//! `--overwrite` allows changing a value, `--list` shows them.

use std::collections::BTreeMap;

use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let annotate = s.args.verb() == "annotate";
    let noun = if annotate { "annotation" } else { "label" };
    let mut resources = Vec::new();
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut removes: Vec<String> = Vec::new();
    for w in s.args.positionals.clone() {
        if let Some((k, v)) = w.split_once('=') {
            sets.push((k.to_string(), v.to_string()));
        } else if let Some(k) = w.strip_suffix('-').filter(|_| !resources.is_empty()) {
            removes.push(k.to_string());
        } else {
            resources.push(w);
        }
    }
    let list = s.args.flag("list");
    if sets.is_empty() && removes.is_empty() && !list {
        return Err(Error::Message(format!("error: at least one {noun} update is required\nSee 'kubectl {} -h' for help and examples", s.args.verb())));
    }
    if let Some(k) = sets.iter().map(|(k, _)| k).find(|k| removes.contains(k)) {
        return Err(Error::Message(format!("error: can not both modify and remove the following {noun}(s) in the same command: {k}")));
    }
    let overwrite = s.args.flag("overwrite");
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
        let current: BTreeMap<String, String> =
            if annotate { obj.meta().annotations.clone() } else { obj.meta().labels.clone() }.unwrap_or_default();
        if list {
            for (k, v) in &current {
                s.out.push_str(&format!("{k}={v}\n"));
            }
            continue;
        }
        if !overwrite {
            if let Some((k, _)) = sets.iter().find(|(k, v)| current.get(k).is_some_and(|old| old != v)) {
                let old = current.get(k).cloned().unwrap_or_default();
                failures.push(Failure::Text(format!("'{k}' already has a value ({old}), and --overwrite is false")));
                continue;
            }
        }
        let mut next_map = current.clone();
        for (k, v) in &sets {
            next_map.insert(k.clone(), v.clone());
        }
        for k in &removes {
            next_map.remove(k);
        }
        let verb = if annotate { "annotated" } else { "labeled" };
        let message = if next_map == current {
            format!("not {verb}")
        } else if !overwrite && next_map.len() < current.len() {
            format!("un{verb}")
        } else {
            verb.to_string()
        };
        if next_map != current && dry != DryRun::Client {
            let mut next = (*obj).clone();
            let value = (!next_map.is_empty()).then_some(next_map);
            if annotate {
                next.meta_mut().annotations = value;
            } else {
                next.meta_mut().labels = value;
            }
            if let Err(e) = s.cluster.sim.api.update_with(next, false, dry == DryRun::Server) {
                failures.push(manifest::with_source(if annotate { "annotating" } else { "labeling" }, &t.source, e));
                continue;
            }
        }
        s.take_warnings();
        s.out.push_str(&format!("{} {message}{}\n", qualified(t), dry.suffix()));
    }
    manifest::finish(s, failures)
}
