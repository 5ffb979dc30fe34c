//! Authorization of the client's requests: who kubectl is (its
//! kubeconfig's user, or whom `--as` impersonates), and whether RBAC over
//! the stored Roles, ClusterRoles and bindings lets it do what it asks.
//! The components' requests are not authorized (see `rbac.rs`).

use std::rc::Rc;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef};

use super::ApiServer;
use crate::engine::api::{ids, resource, ApiError, Object, Reason, ResourceId};
use super::validation::quote;
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

impl ApiServer {
    /// The rules of the role `role_ref` names; a missing role's error names
    /// its resource as `resource_name` does (`clusterrole` for the
    /// authorizer's listers, `clusterroles` for the registry).
    fn stored_rules(&self, role_ref: &RoleRef, binding_namespace: &str, resource_name: fn(&'static str) -> &'static str) -> Result<Vec<PolicyRule>, String> {
        let (rid, namespace) = match role_ref.kind.as_str() {
            "ClusterRole" => (ids::cluster_roles(), ""),
            "Role" => (ids::roles(), binding_namespace),
            other => return Err(format!("unsupported role reference kind: {other:?}")),
        };
        let not_found = || format!("{}.rbac.authorization.k8s.io \"{}\" not found", resource_name(resource(rid).plural), role_ref.name);
        let entry = self.store.get(&Self::key(rid, namespace, &role_ref.name)).ok_or_else(not_found)?;
        match &*entry.value.object() {
            Object::ClusterRole(r) => Ok(r.rules.clone().unwrap_or_default()),
            Object::Role(r) => Ok(r.rules.clone().unwrap_or_default()),
            _ => Err(not_found()),
        }
    }
}

/// `clusterroles` → `clusterrole`: the authorizer's listers name the kind.
fn lister_name(plural: &'static str) -> &'static str {
    plural.strip_suffix('s').unwrap_or(plural)
}

impl Roles for ApiServer {
    fn rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Result<Vec<PolicyRule>, String> {
        self.stored_rules(role_ref, binding_namespace, lister_name)
    }
}

/// The roles as the RBAC registry's rule resolver reads them: through the
/// API's storage, whose NotFound names the resource (`clusterroles`).
struct Registry<'a>(&'a ApiServer);

impl Roles for Registry<'_> {
    fn rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Result<Vec<PolicyRule>, String> {
        self.0.stored_rules(role_ref, binding_namespace, |plural| plural)
    }
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `IsOnlyMutatingGCFields`: the write changes nothing but owner
/// references and finalizers (and managed fields).
fn only_gc_fields_change(obj: &Object, old: &Object) -> bool {
    let mut copied = obj.clone();
    let meta = copied.meta_mut();
    meta.owner_references.clone_from(&old.meta().owner_references);
    meta.finalizers.clone_from(&old.meta().finalizers);
    meta.managed_fields.clone_from(&old.meta().managed_fields);
    meta.self_link.clone_from(&old.meta().self_link);
    copied == *old
}

fn has_aggregation_rule(obj: Option<&Object>) -> bool {
    matches!(obj, Some(Object::ClusterRole(r)) if r.aggregation_rule.as_ref().and_then(|a| a.cluster_role_selectors.as_ref()).is_some_and(|s| !s.is_empty()))
}

/// `*` on everything, resources and URLs: what setting an aggregation rule needs.
fn full_authority() -> Vec<PolicyRule> {
    let all = || Some(vec!["*".to_string()]);
    vec![
        PolicyRule { verbs: vec!["*".into()], api_groups: all(), resources: all(), ..Default::default() },
        PolicyRule { verbs: vec!["*".into()], non_resource_urls: all(), ..Default::default() },
    ]
}

/// `apierrors.NewForbidden` of an RBAC resource.
fn rbac_forbidden(plural: &str, name: &str, message: &str) -> ApiError {
    ApiError::new(Reason::Forbidden, format!("{plural}.{RBAC_GROUP} \"{name}\" is forbidden: {message}"))
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

    /// `ConfirmNoEscalation`: `Err` with its message unless the rules
    /// `user` holds in `namespace` cover `rules`.
    fn confirm_no_escalation(&self, user: &User, namespace: &str, rules: &[PolicyRule]) -> Result<(), String> {
        let policy = self.policy_for(namespace);
        let mut owned = Vec::new();
        let errors = rbac::visit_rules(user, &policy.bindings(), &Registry(self), |rule| {
            owned.push(rule.clone());
            true
        });
        let missing = rbac::uncovered(&owned, rules);
        if missing.is_empty() {
            return Ok(());
        }
        let descriptions: std::collections::BTreeSet<String> = rbac::compact_rules(missing).iter().map(rbac::compact_string).collect();
        let groups: Vec<String> = user.groups.iter().map(|g| quote(g)).collect();
        let mut message = format!(
            "user {} (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
            quote(&user.name),
            groups.join(" "),
            descriptions.into_iter().collect::<Vec<_>>().join("\n")
        );
        if !errors.is_empty() {
            message.push_str(&format!("; resolution errors: [{}]", rbac::aggregate(&errors)));
        }
        Err(message)
    }

    /// RBAC's escalation checks (`pkg/registry/rbac/*/policybased`), run
    /// on the client's create (`old` is `None`) or update of a role or
    /// binding once the request itself is authorized: a user may only
    /// write a role whose rules it holds itself (or with `escalate` on the
    /// roles), and only bind a role whose rules it holds (or with `bind` on
    /// that role). `system:masters` is exempt; a write of owner references
    /// and finalizers alone is not checked.
    pub(super) fn check_escalation(&self, obj: &Object, old: Option<&Object>) -> Result<(), ApiError> {
        let (plural, role_ref) = match obj {
            Object::Role(_) => ("roles", None),
            Object::ClusterRole(_) => ("clusterroles", None),
            Object::RoleBinding(b) => ("rolebindings", Some(&b.role_ref)),
            Object::ClusterRoleBinding(b) => ("clusterrolebindings", Some(&b.role_ref)),
            _ => return Ok(()),
        };
        let Some(user) = self.client_user() else { return Ok(()) };
        if user.groups.iter().any(|g| g == rbac::PRIVILEGED_GROUP) {
            return Ok(());
        }
        let namespace = if resource(obj.resource_id()).namespaced { super::request_namespace(obj) } else { "" };
        let name = obj.meta().name.as_deref().unwrap_or_default();
        let allowed = |request: Request| self.authorize(user, &request).allowed;
        let Some(role_ref) = role_ref else {
            // `RoleEscalationAuthorized`: the request's own name (none on a create).
            let request_name = if old.is_some() { name } else { "" };
            if allowed(Request { verb: "escalate", group: RBAC_GROUP, resource: plural, namespace, name: request_name, ..Default::default() }) {
                return Ok(());
            }
            if old.is_some_and(|old| only_gc_fields_change(obj, old)) {
                return Ok(());
            }
            let rules = match obj {
                Object::Role(r) => r.rules.as_deref(),
                Object::ClusterRole(r) => r.rules.as_deref(),
                _ => None,
            };
            self.confirm_no_escalation(user, namespace, rules.unwrap_or_default()).map_err(|message| rbac_forbidden(plural, name, &message))?;
            // An aggregation rule can gather anything: it needs `*` on everything.
            if (has_aggregation_rule(Some(obj)) || has_aggregation_rule(old)) && self.confirm_no_escalation(user, namespace, &full_authority()).is_err() {
                return Err(rbac_forbidden(plural, name, "must have cluster-admin privileges to use the aggregationRule"));
            }
            return Ok(());
        };
        if old.is_some_and(|old| only_gc_fields_change(obj, old)) {
            return Ok(());
        }
        // `BindingAuthorized`: `bind` on the very role, in the binding's namespace.
        let role_resource = match role_ref.kind.as_str() {
            "ClusterRole" => Some("clusterroles"),
            "Role" => Some("roles"),
            _ => None,
        };
        if let Some(role_resource) = role_resource {
            if allowed(Request { verb: "bind", group: &role_ref.api_group, resource: role_resource, namespace, name: &role_ref.name, ..Default::default() }) {
                return Ok(());
            }
        }
        let rules = self.stored_rules(role_ref, namespace, |plural| plural).map_err(|error| match role_resource {
            Some(role_resource) => ApiError::not_found(&format!("{role_resource}.{RBAC_GROUP}"), &role_ref.name),
            None => ApiError::new(Reason::Unknown, error),
        })?;
        self.confirm_no_escalation(user, namespace, &rules).map_err(|message| rbac_forbidden(plural, name, &message))
    }

    /// Runs `request` with the client's identity set aside, so the
    /// reads and writes it makes on its own behalf are not authorized again.
    pub(super) fn as_authorized<T>(&mut self, request: impl FnOnce(&mut Self) -> T) -> T {
        let client = self.client.take();
        let outer = std::mem::replace(&mut self.served_client, client.clone());
        let result = request(self);
        self.served_client = outer;
        self.client = client;
        result
    }

    /// The subresource the client's update being served goes to (`scale`
    /// for `kubectl scale`), `""` for the object itself.
    pub(super) fn served_update_subresource(&self) -> &'static str {
        self.served_client.as_deref().map_or("", |c| c.update_subresource)
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
