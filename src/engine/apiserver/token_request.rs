//! `POST serviceaccounts/<name>/token`: a TokenRequest, as 1.33's
//! `TokenREST` (pkg/registry/core/serviceaccount/storage/token.go) serves
//! it. The request is validated (10 minutes to 2^32 seconds), the service
//! account read, the bound object (Pod, Secret or Node) read and checked,
//! and a token minted with `pkg/serviceaccount/claims.go`'s claims, as the
//! kubelet's projected tokens are (`node::volumes::service_account_token`;
//! the signature is a stand-in). Nothing is stored.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec, TokenRequestStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ApiServer;
use crate::engine::api::{ids, meta, ApiError, Cause, Object};
use crate::engine::node::volumes::{service_account_token, TokenClaims};

/// The API server's own audience (`--api-audiences`, defaulting to its issuer).
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
/// `SetDefaults_TokenRequestSpec`: an hour.
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The lifetime the kubelet asks for, which the server extends to a year
/// (`token.WarnOnlyBoundTokenExpirationSeconds`, `ExpirationExtensionSeconds`).
const WARN_ONLY_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;
const EXTENDED_EXPIRATION_SECONDS: i64 = 24 * 365 * 60 * 60;

/// `ValidateTokenRequest`.
fn validate(expiration_seconds: i64) -> Vec<Cause> {
    let mut causes = Vec::new();
    if expiration_seconds < 600 {
        causes.push(Cause { field: "spec.expirationSeconds".into(), message: format!("Invalid value: {expiration_seconds}: may not specify a duration less than 10 minutes") });
    }
    if expiration_seconds > 1 << 32 {
        causes.push(Cause { field: "spec.expirationSeconds".into(), message: format!("Invalid value: {expiration_seconds}: may not specify a duration larger than 2^32 seconds") });
    }
    causes
}

impl ApiServer {
    /// Issues a token for the service account `namespace/name`.
    pub fn create_token(&mut self, namespace: &str, name: &str, spec: TokenRequestSpec) -> Result<TokenRequest, ApiError> {
        if self.authorizing() {
            self.serving()?;
            self.authorize_client_on("create", ids::service_accounts(), "token", namespace, name)?;
            return self.as_authorized(|api| api.create_token(namespace, name, spec));
        }
        self.serving()?;
        let mut spec = spec;
        let requested_seconds = spec.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        let causes = validate(requested_seconds);
        if !causes.is_empty() {
            return Err(ApiError::invalid("TokenRequest", "TokenRequest.authentication.k8s.io", "", causes));
        }
        let account = self.get(ids::service_accounts(), namespace, name)?;
        let account_uid = account.meta().uid.clone().unwrap_or_default();
        let mut pod: Option<(String, String)> = None;
        let mut secret: Option<(String, String)> = None;
        let mut node: Option<(String, String)> = None;
        if let Some(reference) = &spec.bound_object_ref {
            let kind = reference.kind.as_deref().unwrap_or("");
            let api_version = reference.api_version.as_deref().unwrap_or("");
            let bound_name = reference.name.clone().unwrap_or_default();
            let core = api_version == "v1";
            let found = match kind {
                "Pod" if core => {
                    let obj = self.get(ids::pods(), namespace, &bound_name)?;
                    let Object::Pod(p) = &*obj else { return Err(ApiError::not_found("pods", &bound_name)) };
                    if p.spec.as_ref().and_then(|s| s.service_account_name.as_deref()) != Some(name) {
                        return Err(ApiError::bad_request(format!("cannot bind token for serviceaccount {name:?} to pod running with different serviceaccount name.")));
                    }
                    // ServiceAccountTokenPodNodeInfo: a scheduled pod's node joins the claims.
                    if let Some(node_name) = p.node_name().filter(|n| !n.is_empty()).map(str::to_string) {
                        let node_uid = self.get(ids::nodes(), "", &node_name)?.meta().uid.clone().unwrap_or_default();
                        node = Some((node_name, node_uid));
                    }
                    pod = Some((bound_name.clone(), p.metadata.uid.clone().unwrap_or_default()));
                    pod.clone()
                }
                "Secret" if core => {
                    let uid = self.get(ids::secrets(), namespace, &bound_name)?.meta().uid.clone().unwrap_or_default();
                    secret = Some((bound_name.clone(), uid));
                    secret.clone()
                }
                "Node" if core => {
                    let uid = self.get(ids::nodes(), "", &bound_name)?.meta().uid.clone().unwrap_or_default();
                    node = Some((bound_name.clone(), uid));
                    node.clone()
                }
                _ => {
                    let group_version_kind = go_group_version_kind(api_version, kind);
                    return Err(ApiError::bad_request(format!("cannot bind token to object of type {group_version_kind}")));
                }
            };
            let wanted_uid = reference.uid.as_deref().unwrap_or("");
            if found.is_some_and(|(_, uid)| !wanted_uid.is_empty() && uid != wanted_uid) {
                return Err(ApiError::conflict_message(format!(
                    "Operation cannot be fulfilled on {kind} {bound_name:?}: the UID in the bound object reference ({wanted_uid}) does not match the UID in record. The object might have been deleted and then recreated"
                )));
            }
        }
        if spec.audiences.is_empty() {
            spec.audiences = vec![API_AUDIENCE.to_string()];
        }
        let iat = crate::engine::node::runtime::wall_secs(self.now);
        // ExtendExpiration: a pod's kubelet-lifetime token for the API server lasts a year, with a warning after.
        let extended = pod.is_some() && requested_seconds == WARN_ONLY_EXPIRATION_SECONDS && spec.audiences.iter().all(|a| a == API_AUDIENCE);
        let (exp, warn_after) = if extended { (iat + EXTENDED_EXPIRATION_SECONDS, Some(iat + requested_seconds)) } else { (iat + requested_seconds, None) };
        let jti = self.new_uid();
        let audiences: Vec<&str> = spec.audiences.iter().map(String::as_str).collect();
        let claims = TokenClaims {
            audiences: &audiences,
            iat,
            exp,
            jti: &jti,
            namespace,
            node: bound_pair(&node),
            pod: bound_pair(&pod),
            secret: bound_pair(&secret),
            service_account: name,
            service_account_uid: &account_uid,
            warn_after,
        };
        let token = service_account_token(&claims, &format!("requested/{jti}"));
        spec.expiration_seconds = Some(requested_seconds);
        let expires = self.now.plus_secs(u64::try_from(requested_seconds).unwrap_or(0));
        Ok(TokenRequest {
            metadata: ObjectMeta { name: Some(name.to_string()), namespace: Some(namespace.to_string()), creation_timestamp: Some(meta::api_time(self.now)), ..Default::default() },
            spec,
            status: Some(TokenRequestStatus { token, expiration_timestamp: meta::api_time(expires) }),
        })
    }
}

fn bound_pair(bound: &Option<(String, String)>) -> Option<(&str, &str)> {
    bound.as_ref().map(|(name, uid)| (name.as_str(), uid.as_str()))
}

/// `schema.GroupVersionKind.String()`: `group/version, Kind=kind`.
fn go_group_version_kind(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}
