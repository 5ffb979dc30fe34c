use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};

use super::*;

fn strings(values: &[&str]) -> Option<Vec<String>> {
    Some(values.iter().map(|v| v.to_string()).collect())
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule { verbs: verbs.iter().map(|v| v.to_string()).collect(), api_groups: strings(groups), resources: strings(resources), ..Default::default() }
}

fn on<'a>(verb: &'a str, group: &'a str, resource: &'a str, subresource: &'a str, name: &'a str) -> Request<'a> {
    Request { verb, group, resource, subresource, namespace: "dev", name, path: None }
}

#[test]
fn rules_match_verbs_groups_resources_and_names_as_rbac_does() {
    let pods = rule(&["get", "list"], &[""], &["pods"]);
    assert!(rule_allows(&on("get", "", "pods", "", "web"), &pods));
    assert!(!rule_allows(&on("delete", "", "pods", "", "web"), &pods));
    assert!(!rule_allows(&on("get", "apps", "pods", "", "web"), &pods));
    // A subresource is its own resource: `pods` does not cover `pods/log`.
    assert!(!rule_allows(&on("get", "", "pods", "log", "web"), &pods));
    assert!(rule_allows(&on("get", "", "pods", "log", "web"), &rule(&["get"], &[""], &["pods/log"])));
    // `*/scale` covers every kind's scale, `*` everything.
    let scales = rule(&["patch"], &["*"], &["*/scale"]);
    assert!(rule_allows(&on("patch", "apps", "deployments", "scale", "web"), &scales));
    assert!(!rule_allows(&on("patch", "apps", "deployments", "", "web"), &scales));
    assert!(rule_allows(&on("escalate", "x.io", "anything", "status", ""), &rule(&["*"], &["*"], &["*"])));
    // Resource names narrow a rule; a list (no name) does not match them.
    let named = PolicyRule { resource_names: strings(&["web"]), ..pods.clone() };
    assert!(rule_allows(&on("get", "", "pods", "", "web"), &named));
    assert!(!rule_allows(&on("get", "", "pods", "", "db"), &named));
    assert!(!rule_allows(&on("list", "", "pods", "", ""), &named));
}

#[test]
fn non_resource_urls_match_exactly_or_by_a_trailing_star() {
    let urls = PolicyRule { verbs: vec!["get".into()], non_resource_urls: strings(&["/healthz", "/api/*"]), ..Default::default() };
    let path = |p| Request { verb: "get", path: Some(p), ..Default::default() };
    assert!(rule_allows(&path("/healthz"), &urls));
    assert!(!rule_allows(&path("/healthz/ping"), &urls));
    assert!(rule_allows(&path("/api/v1"), &urls));
    assert!(!rule_allows(&path("/apis"), &urls));
    // A resource rule never covers a URL.
    assert!(!rule_allows(&path("/healthz"), &rule(&["*"], &["*"], &["*"])));
}

fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Subject {
    Subject { kind: kind.into(), name: name.into(), namespace: namespace.map(str::to_string), api_group: None }
}

#[test]
fn subjects_apply_by_user_group_or_service_account() {
    let bot = User::new("system:serviceaccount:dev:bot", &["system:serviceaccounts", "system:authenticated"]);
    assert!(subject_applies(&bot, &subject("ServiceAccount", "bot", Some("dev")), "other"));
    // Without a namespace, the binding's own.
    assert!(subject_applies(&bot, &subject("ServiceAccount", "bot", None), "dev"));
    assert!(!subject_applies(&bot, &subject("ServiceAccount", "bot", None), ""));
    assert!(subject_applies(&bot, &subject("Group", "system:serviceaccounts", None), ""));
    assert!(subject_applies(&bot, &subject("User", "system:serviceaccount:dev:bot", None), ""));
    assert!(!subject_applies(&bot, &subject("User", "bot", None), ""));
    assert_eq!(split_service_account("system:serviceaccount:dev:bot"), Some(("dev", "bot")));
    assert_eq!(split_service_account("system:serviceaccount:dev:"), None);
    assert_eq!(split_service_account("system:serviceaccount:dev:a:b"), None);
    assert_eq!(split_service_account("jane"), None);
}

struct Stored(Vec<(&'static str, Vec<PolicyRule>)>);

impl Roles for Stored {
    fn rules(&self, role_ref: &RoleRef, _: &str) -> Result<Vec<PolicyRule>, String> {
        self.0
            .iter()
            .find(|(name, _)| *name == role_ref.name)
            .map(|(_, rules)| rules.clone())
            .ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io \"{}\" not found", role_ref.name))
    }
}

fn role_ref(name: &str) -> RoleRef {
    RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "ClusterRole".into(), name: name.into() }
}

#[test]
fn a_refusal_names_the_roles_it_could_not_read() {
    let roles = Stored(vec![("reader", vec![rule(&["get"], &[""], &["pods"])])]);
    let jane = [subject("User", "jane", None)];
    let (missing, missing_too, reader) = (role_ref("nosuch"), role_ref("gone"), role_ref("reader"));
    let bindings = [
        Binding { namespace: "", subjects: &jane, role_ref: &missing },
        Binding { namespace: "", subjects: &jane, role_ref: &missing },
        Binding { namespace: "dev", subjects: &jane, role_ref: &missing_too },
        Binding { namespace: "dev", subjects: &jane, role_ref: &reader },
    ];
    let user = User::new("jane", &[ALL_AUTHENTICATED]);
    let allowed = authorize(&user, &on("get", "", "pods", "", "web"), &bindings, &roles);
    assert_eq!(allowed, Decision { allowed: true, reason: String::new() });
    let refused = authorize(&user, &on("delete", "", "pods", "", "web"), &bindings, &roles);
    assert!(!refused.allowed);
    // Each text once, in the order met.
    assert_eq!(
        refused.reason,
        "RBAC: [clusterrole.rbac.authorization.k8s.io \"nosuch\" not found, clusterrole.rbac.authorization.k8s.io \"gone\" not found]"
    );
    // system:masters passes before RBAC is asked.
    let admin = User::new("admin", &[PRIVILEGED_GROUP]);
    assert!(authorize(&admin, &on("delete", "", "pods", "", "web"), &[], &roles).allowed);
    assert_eq!(rules_for(&admin, &[], &roles).rules.len(), 2);
    let review = rules_for(&user, &bindings, &roles);
    assert_eq!(review.rules, vec![rule(&["get"], &[""], &["pods"])]);
    assert!(review.evaluation_error.is_some());
}

#[test]
fn refusals_are_worded_as_the_api_server_words_them() {
    assert_eq!(
        on("create", "", "pods", "exec", "web").forbidden_message("jane"),
        "User \"jane\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"dev\""
    );
    let nodes = Request { verb: "list", resource: "nodes", ..Default::default() };
    assert_eq!(nodes.forbidden_message("jane"), "User \"jane\" cannot list resource \"nodes\" in API group \"\" at the cluster scope");
    let url = Request { verb: "get", path: Some("/metrics"), ..Default::default() };
    assert_eq!(url.forbidden_message("jane"), "User \"jane\" cannot get path \"/metrics\"");
}

#[test]
fn covers_breaks_the_wanted_rules_down_and_keeps_what_no_owned_rule_covers() {
    let owned = vec![
        rule(&["get", "list"], &[""], &["pods", "*/log"]),
        PolicyRule { resource_names: strings(&["web"]), ..rule(&["delete"], &[""], &["pods"]) },
        PolicyRule { verbs: vec!["get".into()], non_resource_urls: strings(&["/api/*"]), ..Default::default() },
    ];
    assert!(uncovered(&owned, &[rule(&["get"], &[""], &["pods", "pods/log", "services/log"])]).is_empty());
    // A named rule covers that name only, never the whole resource.
    let named_delete = PolicyRule { resource_names: strings(&["web"]), ..rule(&["delete"], &[""], &["pods"]) };
    assert!(uncovered(&owned, &[named_delete]).is_empty());
    assert_eq!(uncovered(&owned, &[rule(&["delete"], &[""], &["pods"])]), vec![rule(&["delete"], &[""], &["pods"])]);
    let urls = PolicyRule { verbs: vec!["get".into(), "post".into()], non_resource_urls: strings(&["/api/v1"]), ..Default::default() };
    let post = PolicyRule { verbs: vec!["post".into()], non_resource_urls: strings(&["/api/v1"]), ..Default::default() };
    assert_eq!(uncovered(&owned, &[urls]), vec![post]);
    // `*` on everything covers any resource rule.
    assert!(uncovered(&[rule(&["*"], &["*"], &["*"])], &[rule(&["escalate"], &["x.io"], &["a/b"])]).is_empty());
}

#[test]
fn missing_rules_are_compacted_by_group_and_resource_and_printed_as_the_api_server_does() {
    let missing = uncovered(&[], &[rule(&["get", "delete"], &["", "apps"], &["pods"])]);
    let compacted = compact_rules(missing);
    let printed: Vec<String> = compacted.iter().map(compact_string).collect();
    assert_eq!(printed, vec![r#"{APIGroups:[""], Resources:["pods"], Verbs:["get" "delete"]}"#, r#"{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}"#]);
    let named = PolicyRule { resource_names: strings(&["web"]), ..rule(&["get"], &[""], &["pods"]) };
    assert_eq!(compact_string(&compact_rules(vec![named])[0]), r#"{APIGroups:[""], Resources:["pods"], ResourceNames:["web"], Verbs:["get"]}"#);
}
