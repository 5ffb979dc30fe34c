//! kube-controller-manager's CertificateSigningRequest controllers
//! (`pkg/controller/certificates`): `csrapproving` approves a kubelet's
//! client certificate request when its requester may (`sarapprove.go`),
//! and `csrsigning` issues the certificate of an approved request for the
//! four `kubernetes.io` signers kubeadm gives it the cluster CA for, or
//! marks it Failed when the request does not fit its signer (`signer.go`).

use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestCondition};

use crate::engine::api::{ids, ApiError, Object, ObjectKey, ResourceId};
use crate::engine::apiserver::WatchEventType;
use crate::engine::certificates as csr;
use crate::engine::rbac::{Request, User};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::{Cache, Changes, Reconciler, WorkLoop};

fn conditions(request: &CertificateSigningRequest) -> &[CertificateSigningRequestCondition] {
    request.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or(&[])
}

fn has_true(request: &CertificateSigningRequest, type_: &str) -> bool {
    conditions(request).iter().any(|c| c.type_ == type_ && c.status == "True")
}

fn issued(request: &CertificateSigningRequest) -> bool {
    request.status.as_ref().and_then(|s| s.certificate.as_ref()).is_some_and(|c| !c.0.is_empty())
}

fn queue_changed(work: &mut WorkLoop, changes: &Changes) {
    for ev in changes.of(ids::certificate_signing_requests()) {
        if ev.kind != WatchEventType::Deleted {
            work.queue.add(ObjectKey::of(&ev.object));
        }
    }
}

fn cached<'a>(cache: &'a Cache, key: &ObjectKey) -> Option<&'a CertificateSigningRequest> {
    match cache.of(ids::certificate_signing_requests()).get(key).map(|o| &**o) {
        Some(Object::CertificateSigningRequest(request)) => Some(request),
        _ => None,
    }
}

#[derive(Default)]
pub struct CsrApprovingController {
    work: WorkLoop,
}

impl CsrApprovingController {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Reconciler for CsrApprovingController {
    fn name(&self) -> &str {
        "csrapproving"
    }
    fn kind(&self) -> ResourceId {
        ids::certificate_signing_requests()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::certificate_signing_requests()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, _cache: &Cache, changes: &Changes, _now: VirtualTime) {
        queue_changed(&mut self.work, changes);
    }
    /// `sarApprover.handle`: a pending kubelet client request
    /// (`kube-apiserver-client-kubelet`, `O=system:nodes`,
    /// `CN=system:node:…`) is approved when its requester may create
    /// `certificatesigningrequests/selfnodeclient` (its own node's) or
    /// `/nodeclient`.
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(request) = cached(cache, key) else { return Ok(None) };
        if issued(request) || conditions(request).iter().any(|c| c.type_ == "Approved" || c.type_ == "Denied") {
            return Ok(None);
        }
        if request.spec.signer_name != csr::KUBE_APISERVER_CLIENT_KUBELET {
            return Ok(None);
        }
        let Ok(parsed) = csr::parse_request(&request.spec.request.0) else { return Ok(None) };
        let usages = request.spec.usages.as_deref().unwrap_or_default();
        if csr::validate_for_signer(csr::KUBE_APISERVER_CLIENT_KUBELET, &parsed, usages).is_err() {
            return Ok(None);
        }
        let requester = User { name: request.spec.username.clone().unwrap_or_default(), groups: request.spec.groups.clone().unwrap_or_default(), uid: request.spec.uid.clone() };
        let may = |subresource: &str| {
            let ask = Request { verb: "create", group: "certificates.k8s.io", resource: "certificatesigningrequests", subresource, namespace: "", name: "", path: None };
            ctx.api.authorize(&requester, &ask).allowed
        };
        let message = if requester.name == parsed.common_name && may("selfnodeclient") {
            "Auto approving self kubelet client certificate after SubjectAccessReview."
        } else if may("nodeclient") {
            "Auto approving kubelet client certificate after SubjectAccessReview."
        } else {
            return Ok(None);
        };
        let mut next = request.clone();
        next.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new).push(CertificateSigningRequestCondition {
            type_: "Approved".to_string(),
            status: "True".to_string(),
            reason: Some("AutoApproved".to_string()),
            message: Some(message.to_string()),
            ..Default::default()
        });
        ctx.api.update_approval(Object::CertificateSigningRequest(Box::new(next)), false)?;
        Ok(None)
    }
    fn forget(&mut self) {}
}

#[derive(Default)]
pub struct CsrSigningController {
    work: WorkLoop,
}

impl CsrSigningController {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Reconciler for CsrSigningController {
    fn name(&self) -> &str {
        "csrsigning"
    }
    fn kind(&self) -> ResourceId {
        ids::certificate_signing_requests()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::certificate_signing_requests()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, _cache: &Cache, changes: &Changes, _now: VirtualTime) {
        queue_changed(&mut self.work, changes);
    }
    /// `signer.handle`: an approved (not denied), not failed, not yet
    /// issued request for one of the built-in signers gets its certificate,
    /// or a `Failed` condition (`SignerValidationFailure`) when it does
    /// not fit the signer.
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let Some(request) = cached(cache, key) else { return Ok(None) };
        if !has_true(request, "Approved") || has_true(request, "Denied") || has_true(request, "Failed") || issued(request) {
            return Ok(None);
        }
        let signer = request.spec.signer_name.as_str();
        if !csr::is_built_in_signer(signer) {
            return Ok(None);
        }
        let Ok(parsed) = csr::parse_request(&request.spec.request.0) else { return Ok(None) };
        let mut next = request.clone();
        let status = next.status.get_or_insert_with(Default::default);
        match csr::validate_for_signer(signer, &parsed, request.spec.usages.as_deref().unwrap_or_default()) {
            Err(message) => status.conditions.get_or_insert_with(Vec::new).push(CertificateSigningRequestCondition {
                type_: "Failed".to_string(),
                status: "True".to_string(),
                reason: Some("SignerValidationFailure".to_string()),
                message: Some(message),
                last_update_time: Some(crate::engine::api::meta::api_time(ctx.now)),
                last_transition_time: None,
            }),
            Ok(()) => status.certificate = Some(k8s_openapi::ByteString(csr::issued_certificate(&parsed, signer))),
        }
        ctx.api.update_status(Object::CertificateSigningRequest(Box::new(next)))?;
        Ok(None)
    }
    fn forget(&mut self) {}
}
