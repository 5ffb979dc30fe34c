//! `kubectl set serviceaccount (-f FILE | TYPE NAME) NAME` (alias `sa`):
//! the pod template's `serviceAccountName`, as set_serviceaccount.go sets
//! it. Unlike the other set commands it patches (and reports) an object
//! whose service account is already the one given.

use super::{find, template_spec, unchanged, write, Mode, Printer, LOCAL_DRY_RUN_SERVER};
use crate::engine::kubectl::manifest::{self, DryRun, Failure};
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    // kubectl checks `--local` against `--dry-run` before it reads `-o`.
    let dry = DryRun::from_session(s)?;
    if s.args.flag("local") && dry == DryRun::Server {
        return Err(Error::Message(LOCAL_DRY_RUN_SERVER.to_string()));
    }
    let mode = Mode::from_session(s)?;
    let mut words = s.args.positionals.clone();
    let Some(account) = words.pop() else {
        return Err(Error::Message("error: serviceaccount is required".to_string()));
    };
    let objects = find(s, &words, mode.local)?;
    let mut printer = Printer::new("serviceaccount updated");
    let mut failures = Vec::new();
    for found in &objects {
        let mut next = (*found.object).clone();
        match template_spec(&mut next) {
            Ok(spec) => spec.service_account_name = Some(account.clone()),
            Err(e) => {
                failures.push(Failure::Text(format!("error: {} {e}\n", found.object_name)));
                continue;
            }
        }
        super::record(s, &mut next);
        // An empty patch changes nothing on the server, which answers with
        // the object as stored.
        let writes = found.target.is_some() && !mode.local && mode.dry != DryRun::Client;
        let stored = if writes && unchanged(&found.object, &next) {
            Ok(found.object.clone())
        } else {
            write(s, &mode, found, next, "failed to patch ServiceAccountName ")
        };
        if let Err(f) = stored.and_then(|stored| printer.print(s, &mode, &stored)) {
            failures.push(f);
        }
    }
    manifest::finish(s, failures)
}
