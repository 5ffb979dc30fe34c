//! CertificateSigningRequests (`pkg/apis/certificates/validation`):
//! `validateCertificateSigningRequest` with the options
//! `getValidationOptions` draws from the stored object, and the update
//! rules of the main resource and its `status` and `approval`
//! subresources.

use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestCondition};

use super::names::{dns1123_label, dns1123_subdomain};
use super::{quote, Errors, Path};
use crate::engine::certificates as csr;

/// How a request reaches the CSR: what each may change differs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CsrWrite {
    Create,
    Update,
    /// `certificatesigningrequests/status`: may set the certificate.
    Status,
    /// `certificatesigningrequests/approval`: may add Approved or Denied.
    Approval,
}

const VALID_USAGES: [&str; 23] = [
    "any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment", "decipher only",
    "digital signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
    "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", "signing", "timestamping",
];

fn conditions(csr: &CertificateSigningRequest) -> &[CertificateSigningRequestCondition] {
    csr.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or(&[])
}

fn certificate(csr: &CertificateSigningRequest) -> &[u8] {
    csr.status.as_ref().and_then(|s| s.certificate.as_ref()).map(|c| c.0.as_slice()).unwrap_or(&[])
}

fn has_duplicates<'a>(items: impl Iterator<Item = &'a str>) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    items.into_iter().any(|item| !seen.insert(item))
}

/// `ValidateSignerName` (`pkg/apis/core/validation`).
fn validate_signer_name(path: &Path, signer: &str, errs: &mut Errors) {
    if signer.is_empty() {
        errs.required(path, "");
        return;
    }
    let segments: Vec<&str> = signer.split('/').collect();
    if segments.len() != 2 {
        errs.invalid_str(path, signer, "must be a fully qualified domain and path of the form 'example.com/signer-name'");
        return;
    }
    if segments[0].len() > 253 {
        errs.too_long(path, 253);
    }
    let domain_labels: Vec<&str> = segments[0].split('.').collect();
    for label in &domain_labels {
        let msgs = dns1123_label(label);
        if !msgs.is_empty() {
            for msg in msgs {
                errs.invalid_str(path, segments[0], &format!("validating label {}: {msg}", quote(label)));
            }
            break;
        }
    }
    if domain_labels.len() < 2 {
        errs.invalid_str(path, segments[0], "should be a domain with at least two segments separated by dots");
    }
    for label in segments[1].split('.') {
        let msgs = dns1123_subdomain(label);
        if !msgs.is_empty() {
            for msg in msgs {
                errs.invalid_str(path, segments[1], &format!("validating label {}: {msg}", quote(label)));
            }
            break;
        }
    }
    if signer.len() > 253 + 253 + 63 + 1 + 1 {
        errs.too_long(path, 571);
    }
}

/// `validateCertificateSigningRequest` and, for an update, the checks of
/// `validateCertificateSigningRequestUpdate` after it.
pub fn validate(new: &CertificateSigningRequest, old: Option<&CertificateSigningRequest>, write: CsrWrite, errs: &mut Errors) {
    let old_conditions = old.map(conditions).unwrap_or(&[]);
    let old_has = |t: &str| old_conditions.iter().any(|c| c.type_ == t);
    // `getValidationOptions`: what the stored object already breaks is tolerated.
    let allow_both = old.is_some() && old_has("Approved") && old_has("Denied");
    let allow_legacy = old.is_some_and(|o| o.spec.signer_name == csr::LEGACY_UNKNOWN);
    let allow_duplicate_conditions = old.is_some_and(|_| has_duplicates(old_conditions.iter().map(|c| c.type_.as_str())));
    let allow_empty_condition = old.is_some_and(|_| old_conditions.iter().any(|c| c.type_.is_empty()));
    let old_usages = old.map(|o| o.spec.usages.as_deref().unwrap_or_default()).unwrap_or_default();
    let allow_unknown_usages = old_usages.iter().any(|u| !VALID_USAGES.contains(&u.as_str()));
    let allow_duplicate_usages = has_duplicates(old_usages.iter().map(String::as_str));
    let allow_arbitrary_certificate =
        old.is_some_and(|o| certificate(o) == certificate(new) || csr::validate_certificate_pem(certificate(o)).is_err());

    let spec = Path::Root("spec");
    if let Err(message) = csr::parse_request(&new.spec.request.0) {
        errs.invalid(&spec.field("request"), &csr::go_bytes(&new.spec.request.0), &message);
    }
    let usages = new.spec.usages.as_deref().unwrap_or_default();
    if usages.is_empty() {
        errs.required(&spec.field("usages"), "");
    }
    if !allow_unknown_usages {
        for (i, usage) in usages.iter().enumerate() {
            if !VALID_USAGES.contains(&usage.as_str()) {
                errs.unsupported(&spec.field("usages").index(i), usage, &VALID_USAGES);
            }
        }
    }
    if !allow_duplicate_usages {
        for (i, usage) in usages.iter().enumerate() {
            if usages[..i].contains(usage) {
                errs.duplicate(&spec.field("usages").index(i), &quote(usage));
            }
        }
    }
    if !allow_legacy && new.spec.signer_name == csr::LEGACY_UNKNOWN {
        errs.invalid_str(&spec.field("signerName"), &new.spec.signer_name, "the legacy signerName is not allowed via this API version");
    } else {
        validate_signer_name(&spec.field("signerName"), &new.spec.signer_name, errs);
    }
    if let Some(seconds) = new.spec.expiration_seconds.filter(|s| *s < 600) {
        errs.invalid_int(&spec.field("expirationSeconds"), seconds.into(), "may not specify a duration less than 600 seconds (10 minutes)");
    }
    let path = Path::Root("status");
    let path = path.field("conditions");
    let (mut approved, mut denied) = (false, false);
    for (i, c) in conditions(new).iter().enumerate() {
        let item = path.index(i);
        if !allow_empty_condition && c.type_.is_empty() {
            errs.required(&item.field("type"), "");
        }
        let true_only = matches!(c.type_.as_str(), "Approved" | "Denied" | "Failed");
        if c.status.is_empty() {
            errs.required(&item.field("status"), "");
        } else if true_only && c.status != "True" {
            errs.unsupported(&item.field("status"), &c.status, &["True"]);
        } else if !matches!(c.status.as_str(), "True" | "False" | "Unknown") {
            errs.unsupported(&item.field("status"), &c.status, &["False", "True", "Unknown"]);
        }
        if !allow_both {
            let exclusive = match c.type_.as_str() {
                "Approved" => {
                    approved = true;
                    denied
                }
                "Denied" => {
                    denied = true;
                    approved
                }
                _ => false,
            };
            if exclusive {
                errs.invalid_str(&item.field("type"), &c.type_, "Approved and Denied conditions are mutually exclusive");
            }
        }
        if !allow_duplicate_conditions && conditions(new)[..i].iter().any(|d| d.type_ == c.type_) {
            errs.duplicate(&item.field("type"), &quote(&c.type_));
        }
    }
    if !allow_arbitrary_certificate {
        if let Err(message) = csr::validate_certificate_pem(certificate(new)) {
            errs.invalid(&Path::Root("status").field("certificate"), "\"<certificate data>\"", &message);
        }
    }
    let Some(old) = old else { return };
    let count = |csr: &CertificateSigningRequest, t: &str| conditions(csr).iter().filter(|c| c.type_ == t).count();
    for t in ["Approved", "Denied", "Failed"] {
        if count(new, t) < count(old, t) {
            errs.forbidden(&path, &format!("updates may not remove a condition of type {}", quote(t)));
        }
    }
    if write != CsrWrite::Approval {
        for t in ["Approved", "Denied"] {
            let of = |csr: &CertificateSigningRequest| conditions(csr).iter().filter(|c| c.type_ == t).cloned().collect::<Vec<_>>();
            let (was, now) = (of(old), of(new));
            if now.len() > was.len() {
                errs.forbidden(&path, &format!("updates may not add a condition of type {}", quote(t)));
            } else if now.len() == was.len() && now != was {
                errs.forbidden(&path, &format!("updates may not modify a condition of type {}", quote(t)));
            }
        }
    }
    if certificate(new) != certificate(old) {
        let field = Path::Root("status");
        if write != CsrWrite::Status {
            errs.forbidden(&field.field("certificate"), "updates may not set certificate content");
        } else if !certificate(old).is_empty() {
            errs.forbidden(&field.field("certificate"), "updates may not modify existing certificate content");
        }
    }
}
