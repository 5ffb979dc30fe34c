//! `kubectl set selector (-f FILE | TYPE NAME) EXPRESSIONS`: replaces a
//! Service's selector, as set_selector.go does; other kinds are refused.
//! Unlike the other set commands it takes `--local` with
//! `--dry-run=server`, and only prints.

use super::{find, write, Mode, Printer};
use crate::engine::api::Object;
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::verbs::create::parse_to_label_selector;
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    DryRun::from_session(s)?;
    let mut words = s.args.positionals.clone();
    // The last argument is the selector, parsed before anything is read.
    let selector = match words.pop() {
        None => None,
        Some(text) => Some(parse_to_label_selector(&text).map_err(|e| Error::Message(format!("error: {e}")))?),
    };
    let mode = Mode::from_session(s)?;
    let Some((labels, expressions)) = selector else {
        return Err(Error::Message("error: one selector is required".to_string()));
    };
    let objects = find(s, &words, mode.local)?;
    let resource_version = s.args.value("resource-version").filter(|v| !v.is_empty()).map(str::to_string);
    let mut printer = Printer::new("selector updated");
    let mut failures = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        let Object::Service(service) = &mut next else {
            failures.push(Failure::Text("setting a selector is only supported for Services".to_string()));
            break;
        };
        if !expressions.is_empty() {
            let printed: Vec<String> = expressions
                .iter()
                .map(|e| format!("{{{} {} [{}]}}", e.key, e.operator, e.values.as_deref().unwrap_or_default().join(" ")))
                .collect();
            failures.push(Failure::Text(format!("match expression [{}] not supported on this object", printed.join(" "))));
            break;
        }
        service.spec.get_or_insert_with(Default::default).selector = Some(labels.clone());
        if let Some(version) = &resource_version {
            next.meta_mut().resource_version = Some(version.clone());
        }
        let stored = write(s, &mode, found, next, "");
        if let Err(f) = stored.and_then(|stored| printer.print(s, &mode, &stored)) {
            failures.push(f);
            break;
        }
    }
    manifest::finish(s, failures)
}
