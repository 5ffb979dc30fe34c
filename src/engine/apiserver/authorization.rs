//! Authorization of the client's requests: who kubectl is (its
//! kubeconfig's user, or whom `--as` impersonates), and whether RBAC over
//! the stored Roles, ClusterRoles and bindings lets it do what it asks.
//! The components' requests are not authorized (see `rbac.rs`).

use std::rc::Rc;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef};

use super::ApiServer;
use crate::engine::api::{ids, resource, ApiError, Object, Reason, ResourceId};
use crate::engine::rbac::{self, Binding, Decision, Request, Roles, RulesReview, User};

/// Who kubectl's requests come from, and how its writes are sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub user: User,
    /// Why impersonation was refused: every request gets this answer.
    pub refusal: Option<ApiError>,
    /// kubectl sends most changes as PATCH (`apply`, `label`, `set`,
    /// `scale`, `rollout`), `replace` as PUT: RBAC tells them apart.
    pub update_verb: &'static str,
    /// The subresource its updates go to (`scale` for `kubectl scale`).
    pub update_subresource: &'static str,
}

impl Client {
    pub fn new(user: User) -> Self {
        Client { user, refusal: None, update_verb: "patch", update_subresource: "" }
    }
}

/// A request the client is refused: `pods "x" is forbidden: User …`
/// (`responsewriters.Forbidden`, `apierrors.NewForbidden`).
pub fn forbidden(request: &Request, user: &str, reason: &str) -> ApiError {
    let mut message = request.forbidden_message(user);
    if !reason.is_empty() {
        message.push_str(": ");
        message.push_str(reason);
    }
    let qualified = if request.path.is_some() {
        String::new()
    } else if request.group.is_empty() {
        request.resource.to_string()
    } else {
        format!("{}.{}", request.resource, request.group)
    };
    let text = if qualified.is_empty() {
        format!("forbidden: {message}")
    } else if request.name.is_empty() {
        format!("{qualified} is forbidden: {message}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {message}", request.name)
    };
    ApiError::new(Reason::Forbidden, text)
}

/// The stored RBAC objects one decision reads.
struct Policy {
    bindings: Vec<Rc<Object>>,
}

impl Policy {
    fn bindings(&self) -> Vec<Binding<'_>> {
        self.bindings
            .iter()
            .filter_map(|o| match &**o {
                Object::ClusterRoleBinding(b) => Some(Binding { namespace: "", subjects: b.subjects.as_deref().unwrap_or_default(), role_ref: &b.role_ref }),
                Object::RoleBinding(b) => Some(Binding {
                    namespace: b.metadata.namespace.as_deref().unwrap_or_default(),
                    subjects: b.subjects.as_deref().unwrap_or_default(),
                    role_ref: &b.role_ref,
                }),
                _ => None,
            })
            .collect()
    }
}

impl Roles for ApiServer {
    fn rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Result<Vec<PolicyRule>, String> {
        let (rid, singular, namespace) = match role_ref.kind.as_str() {
            "ClusterRole" => (ids::cluster_roles(), "clusterrole", ""),
            "Role" => (ids::roles(), "role", binding_namespace),
            other => return Err(format!("unsupported role reference kind: {other:?}")),
        };
        let not_found = || format!("{singular}.rbac.authorization.k8s.io \"{}\" not found", role_ref.name);
        let entry = self.store.get(&Self::key(rid, namespace, &role_ref.name)).ok_or_else(not_found)?;
        match &*entry.value.object() {
            Object::ClusterRole(r) => Ok(r.rules.clone().unwrap_or_default()),
            Object::Role(r) => Ok(r.rules.clone().unwrap_or_default()),
            _ => Err(not_found()),
        }
    }
}

impl ApiServer {
    /// Who kubectl is from now on (`None`: requests not authorized, as the
    /// page's own reads are).
    pub fn set_client(&mut self, client: Option<Client>) {
        self.client = client.map(Rc::new);
    }

    /// How the client's next writes are sent (`kubectl scale`: a patch of
    /// the scale subresource; `kubectl replace`: an update).
    pub fn set_client_update(&mut self, verb: &'static str, subresource: &'static str) {
        if let Some(client) = self.client.as_mut() {
            let client = Rc::make_mut(client);
            client.update_verb = verb;
            client.update_subresource = subresource;
        }
    }

    /// The user kubectl's requests are authorized as, if any.
    pub fn client_user(&self) -> Option<&User> {
        self.client.as_deref().map(|c| &c.user)
    }

    /// The cluster bindings, then (for a namespaced request) the
    /// namespace's, in key order.
    fn policy_for(&self, namespace: &str) -> Policy {
        let mut bindings: Vec<Rc<Object>> =
            self.store.range(&Self::prefix(ids::cluster_role_bindings(), None)).map(|(_, e)| e.value.object()).collect();
        if !namespace.is_empty() {
            let prefix = Self::prefix(ids::role_bindings(), Some(namespace));
            bindings.extend(self.store.range(&prefix).map(|(_, e)| e.value.object()));
        }
        Policy { bindings }
    }

    /// What the authorizer decides for `user` asking `request`.
    pub fn authorize(&self, user: &User, request: &Request) -> Decision {
        let policy = self.policy_for(request.namespace);
        rbac::authorize(user, request, &policy.bindings(), self)
    }

    /// The rules `user` has in `namespace` (`SelfSubjectRulesReview`).
    pub fn rules_review(&self, user: &User, namespace: &str) -> RulesReview {
        let policy = self.policy_for(namespace);
        rbac::rules_for(user, &policy.bindings(), self)
    }

    /// `Forbidden` unless RBAC lets `user` do `request`.
    fn allow(&self, user: &User, request: &Request) -> Result<(), ApiError> {
        let decision = self.authorize(user, request);
        if decision.allowed {
            Ok(())
        } else {
            Err(forbidden(request, &user.name, &decision.reason))
        }
    }

    /// The client's request `request`, authorized: `Forbidden` when RBAC
    /// does not allow it. Components' requests and the page's own pass.
    pub fn authorize_client(&self, request: &Request) -> Result<(), ApiError> {
        let Some(client) = self.client.as_deref().filter(|_| self.caller.is_none()) else { return Ok(()) };
        if let Some(refusal) = &client.refusal {
            return Err(refusal.clone());
        }
        self.allow(&client.user, request)
    }

    /// [`Self::authorize_client`] for a request on a kind of the table
    /// (`subresource` may be empty).
    pub fn authorize_client_on(&self, verb: &str, rid: ResourceId, subresource: &str, namespace: &str, name: &str) -> Result<(), ApiError> {
        if !self.authorizing() {
            return Ok(());
        }
        let rt = resource(rid);
        let namespace = if rt.namespaced { namespace } else { "" };
        self.authorize_client(&Request { verb, group: rt.group, resource: rt.plural, subresource, namespace, name, path: None })
    }

    /// The verb and subresource the client's updates are sent with.
    pub(super) fn client_update(&self, status_only: bool) -> (&'static str, &'static str) {
        match self.client.as_deref() {
            Some(c) if status_only => (c.update_verb, "status"),
            Some(c) => (c.update_verb, c.update_subresource),
            None => ("update", ""),
        }
    }

    /// Runs `request` with the client's identity set aside, so the
    /// reads and writes it makes on its own behalf are not authorized again.
    pub(super) fn as_authorized<T>(&mut self, request: impl FnOnce(&mut Self) -> T) -> T {
        let client = self.client.take();
        let result = request(self);
        self.client = client;
        result
    }

    /// The user `requestor` acts as with kubectl's `--as`, `--as-group`
    /// and `--as-uid` (the impersonation filter): each is authorized
    /// (`impersonate` on users, serviceaccounts, groups, uids) before the
    /// request is served as the new user.
    pub fn impersonate(&self, requestor: &User, name: &str, groups: &[String], uid: Option<&str>) -> Result<User, ApiError> {
        if name.is_empty() {
            let requested: Vec<String> = groups.iter().map(|g| format!("{{Group  {g}    }}")).collect();
            return Err(ApiError::new(
                Reason::InternalError,
                format!("Internal error occurred: requested [{}] without impersonating a user", requested.join(" ")),
            ));
        }
        let groups_given = !groups.is_empty();
        let mut user = User { name: name.to_string(), groups: Vec::new(), uid: None };
        let check = |request: Request| self.allow(requestor, &request);
        let impersonate = Request { verb: "impersonate", ..Default::default() };
        match rbac::split_service_account(name) {
            Some((namespace, account)) => {
                check(Request { resource: "serviceaccounts", namespace, name: account, ..impersonate })?;
                if !groups_given {
                    user.groups = vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{namespace}")];
                }
            }
            None => check(Request { resource: "users", name, ..impersonate })?,
        }
        for group in groups {
            check(Request { resource: "groups", name: group, ..impersonate })?;
            user.groups.push(group.clone());
        }
        if let Some(uid) = uid {
            check(Request { group: "authentication.k8s.io", resource: "uids", name: uid, ..impersonate })?;
            user.uid = Some(uid.to_string());
        }
        // A non-anonymous user is in system:authenticated unless the groups
        // given say otherwise; the anonymous user in system:unauthenticated.
        if name != rbac::ANONYMOUS {
            if !user.groups.iter().any(|g| g == rbac::ALL_AUTHENTICATED || g == rbac::ALL_UNAUTHENTICATED) {
                user.groups.push(rbac::ALL_AUTHENTICATED.to_string());
            }
        } else if !user.groups.iter().any(|g| g == rbac::ALL_UNAUTHENTICATED) {
            user.groups.push(rbac::ALL_UNAUTHENTICATED.to_string());
        }
        Ok(user)
    }

    /// A review the client creates (`selfsubject*reviews`): served by the
    /// API server alone, never stored, after the client may create it.
    fn serve_review(&self, group: &'static str, plural: &'static str) -> Result<(), ApiError> {
        self.check_caller()?;
        self.serving()?;
        self.count_client_request();
        self.authorize_client(&Request { verb: "create", group, resource: plural, ..Default::default() })
    }

    /// The user the client's requests are served as (`SelfSubjectReview`).
    pub fn review_self(&self) -> Result<Option<User>, ApiError> {
        self.serve_review("authentication.k8s.io", "selfsubjectreviews")?;
        Ok(self.client_user().cloned())
    }

    /// Whether the client may do `request` (`SelfSubjectAccessReview`).
    pub fn review_access(&self, request: &Request) -> Result<Decision, ApiError> {
        self.serve_review("authorization.k8s.io", "selfsubjectaccessreviews")?;
        Ok(match self.client_user() {
            Some(user) => self.authorize(user, request),
            None => Decision { allowed: true, reason: String::new() },
        })
    }

    /// The client's rules in `namespace` (`SelfSubjectRulesReview`).
    pub fn review_rules(&self, namespace: &str) -> Result<Option<RulesReview>, ApiError> {
        self.serve_review("authorization.k8s.io", "selfsubjectrulesreviews")?;
        Ok(self.client_user().map(|user| self.rules_review(user, namespace)))
    }

    /// Whether a request from the client must be authorized now.
    pub(super) fn authorizing(&self) -> bool {
        self.client.is_some() && self.caller.is_none()
    }
}

#[cfg(test)]
mod tests;
