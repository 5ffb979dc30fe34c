//! `kubectl certificate approve|deny` (`pkg/cmd/certificates`): appends
//! an Approved or Denied condition to each CertificateSigningRequest
//! through its `approval` subresource.

use k8s_openapi::api::certificates::v1::CertificateSigningRequestCondition;

use crate::engine::api::Object;
use crate::engine::kubectl::manifest::{self, Failure};
use crate::engine::kubectl::printers::OutputFormat;
use crate::engine::kubectl::targets::{self, qualified};
use crate::engine::kubectl::verbs::apply::{print_one, write_output_format};
use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    let approve = match s.args.command.as_str() {
        "certificate approve" => true,
        "certificate deny" => false,
        // The group alone prints its help and succeeds.
        _ => {
            s.out.push_str(include_str!("group_help/certificate.txt"));
            return Ok(());
        }
    };
    let format = write_output_format(s)?;
    let names = s.args.positionals.clone();
    if names.is_empty() && !manifest::file_sources_given(s) {
        return Err(Error::Message("error: one or more CSRs must be specified as <name> or -f <filename>".to_string()));
    }
    // `ResourceNames("certificatesigningrequests", …)`: `csr/NAME` names its type itself.
    let mut words = Vec::new();
    if !names.is_empty() && !names.iter().all(|n| n.contains('/')) {
        words.push("certificatesigningrequests".to_string());
    }
    words.extend(names);
    let (targets, mut failures) = targets::resolve(s, &words, false)?;
    let force = s.args.flag("force");
    let (wanted, refused, reason, message) = if approve {
        ("Approved", "Denied", "KubectlApprove", "This CSR was approved by kubectl certificate approve.")
    } else {
        ("Denied", "Approved", "KubectlDeny", "This CSR was denied by kubectl certificate deny.")
    };
    let mut printed = 0;
    for t in &targets {
        let obj = match targets::fetch(s, t) {
            Ok(o) => o,
            Err(f) => {
                failures.push(f);
                continue;
            }
        };
        let Object::CertificateSigningRequest(csr) = &*obj else {
            // `GroupKind.String()`: `Kind.group`, the kind alone in the core group.
            let rt = crate::engine::api::resource(t.rid);
            let got = if rt.group.is_empty() { rt.kind.to_string() } else { format!("{}.{}", rt.kind, rt.group) };
            failures.push(Failure::Text(format!("can only handle CertificateSigningRequest.certificates.k8s.io objects, got {got}")));
            continue;
        };
        let conditions = csr.status.as_ref().and_then(|st| st.conditions.as_deref()).unwrap_or(&[]);
        // `addConditionIfNeeded`: the opposite decision is final.
        if let Some(c) = conditions.iter().find(|c| c.type_ == refused) {
            failures.push(Failure::Text(format!("certificate signing request {:?} is already {}", t.name, c.type_)));
            continue;
        }
        let has_condition = conditions.iter().any(|c| c.type_ == wanted);
        if !has_condition || force {
            let mut next = csr.clone();
            if !has_condition {
                let now = crate::engine::api::meta::api_time(s.cluster.sim.now());
                next.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new).push(CertificateSigningRequestCondition {
                    type_: wanted.to_string(),
                    status: "True".to_string(),
                    reason: Some(reason.to_string()),
                    message: Some(message.to_string()),
                    last_update_time: Some(now),
                    last_transition_time: None,
                });
            }
            if let Err(e) = s.cluster.sim.api.update_approval(Object::CertificateSigningRequest(next), false) {
                failures.push(manifest::with_source("updating", &t.source, e));
                continue;
            }
        }
        // kubectl prints the object its builder read, before the update.
        match &format {
            None => s.out.push_str(&format!("{} {}\n", qualified(t), if approve { "approved" } else { "denied" })),
            Some(format) => {
                if matches!(format, OutputFormat::Yaml) && printed > 0 {
                    s.out.push_str("---\n");
                }
                printed += 1;
                print_one(s, format, &qualified(t), &obj.to_json())?;
            }
        }
    }
    manifest::finish(s, failures)
}
