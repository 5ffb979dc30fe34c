use super::*;
use crate::engine::apiserver::decode::{decode_object, resolve_kind, yaml_to_json};

fn decode(manifest: &str) -> Object {
    let value = yaml_to_json(manifest).unwrap();
    decode_object(resolve_kind(&value, "test").unwrap(), &value).unwrap()
}

fn server_with(manifests: &[&str]) -> ApiServer {
    let mut api = ApiServer::new(1, "127.0.0.1:6443");
    for m in manifests {
        api.create(decode(m)).unwrap();
    }
    api
}

const IMPERSONATOR: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules:
- apiGroups: ['']
  resources: [users]
  resourceNames: [bob]
  verbs: [impersonate]
";

const IMPERSONATOR_BINDING: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: jane-impersonates}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonator}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
";

#[test]
fn impersonation_is_itself_authorized() {
    let api = server_with(&[IMPERSONATOR, IMPERSONATOR_BINDING]);
    let jane = User::new("jane", &[rbac::ALL_AUTHENTICATED]);
    let bob = api.impersonate(&jane, "bob", &[], None).unwrap();
    assert_eq!(bob, User::new("bob", &[rbac::ALL_AUTHENTICATED]));
    let refused = api.impersonate(&jane, "carol", &[], None).unwrap_err();
    assert_eq!(refused.reason, Reason::Forbidden);
    assert_eq!(
        refused.message,
        "users \"carol\" is forbidden: User \"jane\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let group = api.impersonate(&jane, "bob", &["devs".to_string()], None).unwrap_err();
    assert_eq!(
        group.message,
        "groups \"devs\" is forbidden: User \"jane\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
    );
    let account = api.impersonate(&jane, "system:serviceaccount:dev:bot", &[], None).unwrap_err();
    assert_eq!(
        account.message,
        "serviceaccounts \"bot\" is forbidden: User \"jane\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"dev\""
    );
}

#[test]
fn an_impersonated_user_gets_the_groups_the_filter_gives() {
    let api = server_with(&[]);
    let admin = User::new("admin", &[rbac::PRIVILEGED_GROUP]);
    let bot = api.impersonate(&admin, "system:serviceaccount:dev:bot", &[], None).unwrap();
    assert_eq!(bot.groups, ["system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"]);
    // Groups given replace the service account's; system:authenticated
    // is added unless they name it or its opposite.
    let given = api.impersonate(&admin, "system:serviceaccount:dev:bot", &["devs".to_string()], Some("42")).unwrap();
    assert_eq!((given.groups.as_slice(), given.uid.as_deref()), (["devs".to_string(), "system:authenticated".to_string()].as_slice(), Some("42")));
    let unauthenticated = api.impersonate(&admin, "jane", &["system:unauthenticated".to_string()], None).unwrap();
    assert_eq!(unauthenticated.groups, ["system:unauthenticated"]);
    let anonymous = api.impersonate(&admin, "system:anonymous", &[], None).unwrap();
    assert_eq!(anonymous.groups, ["system:unauthenticated"]);
    let no_user = api.impersonate(&admin, "", &["devs".to_string()], None).unwrap_err();
    assert_eq!(no_user.message, "Internal error occurred: requested [{Group  devs    }] without impersonating a user");
}

#[test]
fn only_the_clients_requests_are_authorized() {
    let mut api = server_with(&[]);
    api.set_client(Some(Client::new(User::new("jane", &[rbac::ALL_AUTHENTICATED]))));
    let refused = api.get(crate::engine::api::ids::nodes(), "", "x").unwrap_err();
    assert_eq!(refused.message, "nodes \"x\" is forbidden: User \"jane\" cannot get resource \"nodes\" in API group \"\" at the cluster scope");
    // A component's request is not the client's.
    api.set_caller(Some(3));
    assert_eq!(api.get(crate::engine::api::ids::nodes(), "", "x").unwrap_err().reason, Reason::NotFound);
    api.set_caller(None);
    api.set_client(None);
    assert_eq!(api.get(crate::engine::api::ids::nodes(), "", "x").unwrap_err().reason, Reason::NotFound);
}
