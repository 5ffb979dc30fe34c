//! `kubectl create role|clusterrole|rolebinding|clusterrolebinding` against
//! what kubectl 1.33.1 printed (stdout, stderr, exit code), and against
//! the objects a 1.33 API server stores.

use crate::engine::api::{find_resource, Object};
use crate::engine::kubectl::verbs::write_tests::{cluster, k};

/// Compares every case, then fails listing each one that differs.
fn check(cases: &[(&str, &str, &str, i32)]) {
    let mut c = cluster();
    let mut differing = Vec::new();
    for (line, stdout, stderr, code) in cases {
        let out = k(&mut c, line);
        let got = (out.stdout.as_str(), out.stderr.as_str(), out.exit_code);
        if got != (*stdout, *stderr, *code) {
            differing.push(format!("{line}\n  kubectl:   {:?}\n  simulated: {got:?}", (stdout, stderr, code)));
        }
    }
    assert!(differing.is_empty(), "{} of {} cases differ:\n{}", differing.len(), cases.len(), differing.join("\n"));
}

/// Cases kubectl 1.33.1 answers without a server: the bindings, and the
/// cluster roles and checks that never resolve a resource.
#[test]
fn generators_without_discovery_match_kubectl_1_33() {
    check(&[
        ("kubectl create role x --dry-run=client", "", "error: at least one verb must be specified\n", 1),
        ("kubectl create role x --verb=get --dry-run=client", "", "error: at least one resource must be specified\n", 1),
        ("kubectl create role \"\" --verb=get --resource=pods --dry-run=client", "", "error: name must be specified\n", 1),
        ("kubectl create role --verb=get --resource=pods", "", "error: exactly one NAME is required, got 0\nSee 'kubectl create role -h' for help and examples\n", 1),
        ("kubectl create role a b --verb=get --resource=pods", "", "error: exactly one NAME is required, got 2\nSee 'kubectl create role -h' for help and examples\n", 1),
        ("kubectl create role x --verb=get --resource=.apps --dry-run=client -o yaml", "", "error: resource must be specified if apiGroup/subresource specified\n", 1),
        ("kubectl create role x --verb='a\"b' --resource=pods --dry-run=client", "", "error: invalid argument \"a\\\"b\" for \"--verb\" flag: parse error on line 1, column 2: bare \" in non-quoted-field\nSee 'kubectl create role --help' for usage.\n", 1),
        ("kubectl create role x --verb=get --resource='\"pods' --dry-run=client", "", "error: invalid argument \"\\\"pods\" for \"--resource\" flag: parse error on line 1, column 6: extraneous or missing \" in quoted-field\nSee 'kubectl create role --help' for usage.\n", 1),
        ("kubectl create clusterrole foo --verb=get --non-resource-url=/logs/* --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: foo\nrules:\n- nonResourceURLs:\n  - /logs/*\n  verbs:\n  - get\n", "", 0),
        ("kubectl create clusterrole monitoring --aggregation-rule=rbac.example.com/aggregate-to-monitoring=true --dry-run=client -o yaml", "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels:\n      rbac.example.com/aggregate-to-monitoring: \"true\"\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: monitoring\nrules: null\n", "", 0),
        ("kubectl create clusterrole x --aggregation-rule=a=b,c=d --dry-run=client -o json", "{\n    \"kind\": \"ClusterRole\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null\n    },\n    \"rules\": null,\n    \"aggregationRule\": {\n        \"clusterRoleSelectors\": [\n            {\n                \"matchLabels\": {\n                    \"a\": \"b\",\n                    \"c\": \"d\"\n                }\n            }\n        ]\n    }\n}\n", "", 0),
        ("kubectl create clusterrole x --aggregation-rule=a=b --dry-run=client -o json --save-config", "{\n    \"kind\": \"ClusterRole\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"ClusterRole\\\",\\\"apiVersion\\\":\\\"rbac.authorization.k8s.io/v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"x\\\",\\\"creationTimestamp\\\":null},\\\"rules\\\":null,\\\"aggregationRule\\\":{\\\"clusterRoleSelectors\\\":[{\\\"matchLabels\\\":{\\\"a\\\":\\\"b\\\"}}]}}\\n\"\n        }\n    },\n    \"rules\": null,\n    \"aggregationRule\": {\n        \"clusterRoleSelectors\": [\n            {\n                \"matchLabels\": {\n                    \"a\": \"b\"\n                }\n            }\n        ]\n    }\n}\n", "", 0),
        ("kubectl create clusterrole x --aggregation-rule=a=b --dry-run=client -o yaml --save-config", "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels:\n      a: b\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"kind\":\"ClusterRole\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":\"x\",\"creationTimestamp\":null},\"rules\":null,\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{\"a\":\"b\"}}]}}\n  creationTimestamp: null\n  name: x\nrules: null\n", "", 0),
        ("kubectl create clusterrole x --aggregation-rule=a --dry-run=client -o yaml", "", "error: invalid argument \"a\" for \"--aggregation-rule\" flag: malformed pair, expect string=string\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --aggregation-rule=a=b --aggregation-rule=' c = d ,,e=' --dry-run=client -o yaml", "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels:\n      a: b\n      c: d\n      e: \"\"\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules: null\n", "", 0),
        ("kubectl create clusterrole x --aggregation-rule=a=b --verb=get --dry-run=client -o yaml", "", "error: aggregation rule must be specified without nonResourceURLs, verbs, resources or resourceNames\n", 1),
        ("kubectl create clusterrole x --aggregation-rule=a=b --resource-name=n --dry-run=client -o yaml", "", "error: aggregation rule must be specified without nonResourceURLs, verbs, resources or resourceNames\n", 1),
        ("kubectl create clusterrole x --aggregation-rule= --verb=get --dry-run=client -o yaml", "", "error: one of resource or nonResourceURL must be specified\n", 1),
        ("kubectl create clusterrole x --verb=get,post --non-resource-url=/a,/b* --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- nonResourceURLs:\n  - /a\n  - /b*\n  verbs:\n  - get\n  - post\n", "", 0),
        ("kubectl create clusterrole x --verb=get --non-resource-url=a --dry-run=client", "", "error: nonResourceURL should start with /\n", 1),
        ("kubectl create clusterrole x --verb=get --non-resource-url=/a*b --dry-run=client", "", "error: nonResourceURL only supports wildcard matches when '*' is at the end\n", 1),
        ("kubectl create clusterrole x --verb=get --non-resource-url=* --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- nonResourceURLs:\n  - '*'\n  verbs:\n  - get\n", "", 0),
        ("kubectl create clusterrole x --verb=get --non-resource-url= --dry-run=client -o yaml", "", "error: one of resource or nonResourceURL must be specified\n", 1),
        ("kubectl create clusterrole x --verb=get --non-resource-url=/a, --dry-run=client -o yaml", "", "error: nonResourceURL should start with /\n", 1),
        ("kubectl create clusterrole x --verb=get --dry-run=client", "", "error: one of resource or nonResourceURL must be specified\n", 1),
        ("kubectl create clusterrole x --dry-run=client", "", "error: at least one verb must be specified\n", 1),
        ("kubectl create clusterrole \"\" --dry-run=client", "", "error: name must be specified\n", 1),
        ("kubectl create clusterrole x --verb='a\"b' --non-resource-url=/a --dry-run=client", "", "error: invalid argument \"a\\\"b\" for \"--verb\" flag: parse error on line 1, column 2: bare \" in non-quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb='\"a,b\"c' --non-resource-url=/a --dry-run=client", "", "error: invalid argument \"\\\"a,b\\\"c\" for \"--verb\" flag: parse error on line 1, column 5: extraneous or missing \" in quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb='\"a' --non-resource-url=/a --dry-run=client", "", "error: invalid argument \"\\\"a\" for \"--verb\" flag: parse error on line 1, column 3: extraneous or missing \" in quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb='get,\"a' --non-resource-url=/a --dry-run=client", "", "error: invalid argument \"get,\\\"a\" for \"--verb\" flag: parse error on line 1, column 7: extraneous or missing \" in quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb='\"a,b\",get' --non-resource-url=/a --dry-run=client -o yaml", "", "error: invalid verb: 'a,b' for nonResourceURL\n", 1),
        ("kubectl create clusterrole x --verb='\"a\"\"b\",get' --non-resource-url=/a --dry-run=client -o yaml", "", "error: invalid verb: 'a\"b' for nonResourceURL\n", 1),
        ("kubectl create clusterrole x --verb=' get' --non-resource-url=/a --dry-run=client -o yaml", "", "error: invalid verb: ' get' for nonResourceURL\n", 1),
        ("kubectl create clusterrole x --verb='get, \"x\"' --non-resource-url=/a --dry-run=client -o yaml", "", "error: invalid argument \"get, \\\"x\\\"\" for \"--verb\" flag: parse error on line 1, column 6: bare \" in non-quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb=get --verb=put,get --non-resource-url=/a --non-resource-url=/b,/a --dry-run=client -o json", "{\n    \"kind\": \"ClusterRole\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null\n    },\n    \"rules\": [\n        {\n            \"verbs\": [\n                \"get\",\n                \"put\"\n            ],\n            \"nonResourceURLs\": [\n                \"/a\",\n                \"/b\"\n            ]\n        }\n    ]\n}\n", "", 0),
        ("kubectl create clusterrole x --verb= --non-resource-url=/a --dry-run=client -o yaml", "", "error: at least one verb must be specified\n", 1),
        ("kubectl create clusterrole x --verb=get --verb= --non-resource-url=/a --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- nonResourceURLs:\n  - /a\n  verbs:\n  - get\n", "", 0),
        ("kubectl create clusterrole x --non-resource-url='\"' --dry-run=client", "", "error: invalid argument \"\\\"\" for \"--non-resource-url\" flag: parse error on line 1, column 2: extraneous or missing \" in quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole --verb='a\"b'", "", "error: invalid argument \"a\\\"b\" for \"--verb\" flag: parse error on line 1, column 2: bare \" in non-quoted-field\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create clusterrole x --verb=get --non-resource-url=/healthz -n team --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- nonResourceURLs:\n  - /healthz\n  verbs:\n  - get\n", "", 0),
        ("kubectl create clusterrole x --verb=get --non-resource-url=/healthz --dry-run=client -o name", "clusterrole.rbac.authorization.k8s.io/x\n", "", 0),
        ("kubectl create clusterrole x --verb=* --non-resource-url=/healthz --dry-run=client", "clusterrole.rbac.authorization.k8s.io/x created (dry run)\n", "", 0),
        ("kubectl create clusterrole x --verb=get --non-resource-url=/healthz --bogus", "", "error: unknown flag: --bogus\nSee 'kubectl create clusterrole --help' for usage.\n", 1),
        ("kubectl create rolebinding admin --clusterrole=admin --user=user1 --user=user2 --group=group1 --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  creationTimestamp: null\n  name: admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: user1\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: user2\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: group1\n", "", 0),
        ("kubectl create rolebinding x --clusterrole=view --serviceaccount=default:robot --dry-run=client -o json", "{\n    \"kind\": \"RoleBinding\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null\n    },\n    \"subjects\": [\n        {\n            \"kind\": \"ServiceAccount\",\n            \"name\": \"robot\",\n            \"namespace\": \"default\"\n        }\n    ],\n    \"roleRef\": {\n        \"apiGroup\": \"rbac.authorization.k8s.io\",\n        \"kind\": \"ClusterRole\",\n        \"name\": \"view\"\n    }\n}\n", "", 0),
        ("kubectl create rolebinding x --role=r --user=a --group=g --serviceaccount=ns:sa -n foo --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  creationTimestamp: null\n  name: x\n  namespace: foo\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: a\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: g\n- kind: ServiceAccount\n  name: sa\n  namespace: ns\n", "", 0),
        ("kubectl create rolebinding x --role=r --serviceaccount=ns:sa --group=g --user=a --user=b -n foo --dry-run=client -o json", "{\n    \"kind\": \"RoleBinding\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"namespace\": \"foo\",\n        \"creationTimestamp\": null\n    },\n    \"subjects\": [\n        {\n            \"kind\": \"User\",\n            \"apiGroup\": \"rbac.authorization.k8s.io\",\n            \"name\": \"a\"\n        },\n        {\n            \"kind\": \"User\",\n            \"apiGroup\": \"rbac.authorization.k8s.io\",\n            \"name\": \"b\"\n        },\n        {\n            \"kind\": \"Group\",\n            \"apiGroup\": \"rbac.authorization.k8s.io\",\n            \"name\": \"g\"\n        },\n        {\n            \"kind\": \"ServiceAccount\",\n            \"name\": \"sa\",\n            \"namespace\": \"ns\"\n        }\n    ],\n    \"roleRef\": {\n        \"apiGroup\": \"rbac.authorization.k8s.io\",\n        \"kind\": \"Role\",\n        \"name\": \"r\"\n    }\n}\n", "", 0),
        ("kubectl create rolebinding x --dry-run=client", "", "error: exactly one of clusterrole or role must be specified\n", 1),
        ("kubectl create rolebinding x --role=a --clusterrole=b --dry-run=client", "", "error: exactly one of clusterrole or role must be specified\n", 1),
        ("kubectl create rolebinding x --role= --dry-run=client", "", "error: exactly one of clusterrole or role must be specified\n", 1),
        ("kubectl create rolebinding x --role=a --serviceaccount=foo --dry-run=client", "", "error: serviceaccount must be <namespace>:<name>\n", 1),
        ("kubectl create rolebinding x --role=a --serviceaccount=a:b:c --dry-run=client", "", "error: serviceaccount must be <namespace>:<name>\n", 1),
        ("kubectl create rolebinding x --role=a --serviceaccount=:b --dry-run=client", "", "error: serviceaccount must be <namespace>:<name>\n", 1),
        ("kubectl create rolebinding x --role=a --serviceaccount=a: --dry-run=client", "", "error: serviceaccount must be <namespace>:<name>\n", 1),
        ("kubectl create rolebinding x --role=r --user= --group= --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  creationTimestamp: null\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: \"\"\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: \"\"\n", "", 0),
        ("kubectl create rolebinding \"\" --role=r --dry-run=client", "", "error: name must be specified\n", 1),
        ("kubectl create rolebinding --role=r", "", "error: exactly one NAME is required, got 0\nSee 'kubectl create rolebinding -h' for help and examples\n", 1),
        ("kubectl create rolebinding a b --role=r", "", "error: exactly one NAME is required, got 2\nSee 'kubectl create rolebinding -h' for help and examples\n", 1),
        ("kubectl create rolebinding x --role=r --dry-run=client", "rolebinding.rbac.authorization.k8s.io/x created (dry run)\n", "", 0),
        ("kubectl create rolebinding x --role=r -n foo --dry-run=client -o name", "rolebinding.rbac.authorization.k8s.io/x\n", "", 0),
        ("kubectl create rolebinding x --role=r --user=u -n foo --dry-run=client -o json --save-config", "{\n    \"kind\": \"RoleBinding\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"namespace\": \"foo\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"RoleBinding\\\",\\\"apiVersion\\\":\\\"rbac.authorization.k8s.io/v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"x\\\",\\\"namespace\\\":\\\"foo\\\",\\\"creationTimestamp\\\":null},\\\"subjects\\\":[{\\\"kind\\\":\\\"User\\\",\\\"apiGroup\\\":\\\"rbac.authorization.k8s.io\\\",\\\"name\\\":\\\"u\\\"}],\\\"roleRef\\\":{\\\"apiGroup\\\":\\\"rbac.authorization.k8s.io\\\",\\\"kind\\\":\\\"Role\\\",\\\"name\\\":\\\"r\\\"}}\\n\"\n        }\n    },\n    \"subjects\": [\n        {\n            \"kind\": \"User\",\n            \"apiGroup\": \"rbac.authorization.k8s.io\",\n            \"name\": \"u\"\n        }\n    ],\n    \"roleRef\": {\n        \"apiGroup\": \"rbac.authorization.k8s.io\",\n        \"kind\": \"Role\",\n        \"name\": \"r\"\n    }\n}\n", "", 0),
        ("kubectl create rolebinding x --clusterrole=c --serviceaccount=a:b --dry-run=client -o yaml --save-config", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"kind\":\"RoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":\"x\",\"creationTimestamp\":null},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"b\",\"namespace\":\"a\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"c\"}}\n  creationTimestamp: null\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: c\nsubjects:\n- kind: ServiceAccount\n  name: b\n  namespace: a\n", "", 0),
        ("kubectl create rolebinding x --role=r --role=s --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  creationTimestamp: null\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: s\n", "", 0),
        ("kubectl create rolebinding x --role=r --dry-run=client -o wide", "", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create rolebinding x --role=r --verb=get", "", "error: unknown flag: --verb\nSee 'kubectl create rolebinding --help' for usage.\n", 1),
        ("kubectl create rolebinding x --role=r --serviceaccount=a:b --dry-run=client -o jsonpath={.subjects[0].namespace}", "a", "", 0),
        ("kubectl create clusterrolebinding cluster-admin --clusterrole=cluster-admin --user=user1 --user=user2 --group=group1 --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  creationTimestamp: null\n  name: cluster-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: user1\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: user2\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: group1\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=view --serviceaccount=kube-system:default --dry-run=client -o json", "{\n    \"kind\": \"ClusterRoleBinding\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null\n    },\n    \"subjects\": [\n        {\n            \"kind\": \"ServiceAccount\",\n            \"name\": \"default\",\n            \"namespace\": \"kube-system\"\n        }\n    ],\n    \"roleRef\": {\n        \"apiGroup\": \"rbac.authorization.k8s.io\",\n        \"kind\": \"ClusterRole\",\n        \"name\": \"view\"\n    }\n}\n", "", 0),
        ("kubectl create clusterrolebinding x --dry-run=client", "", "error: required flag(s) \"clusterrole\" not set\n", 1),
        ("kubectl create clusterrolebinding", "", "error: required flag(s) \"clusterrole\" not set\n", 1),
        ("kubectl create clusterrolebinding x --clusterrole= --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  creationTimestamp: null\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: \"\"\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=c --serviceaccount=a:b:c --dry-run=client -o yaml", "", "error: serviceaccount must be <namespace>:<name>\n", 1),
        ("kubectl create clusterrolebinding \"\" --clusterrole=x --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  creationTimestamp: null\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: x\n", "", 0),
        ("kubectl create clusterrolebinding --clusterrole=x", "", "error: exactly one NAME is required, got 0\nSee 'kubectl create clusterrolebinding -h' for help and examples\n", 1),
        ("kubectl create clusterrolebinding x --clusterrole=c -n foo --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  creationTimestamp: null\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: c\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=c --group=g --dry-run=client -o json --save-config", "{\n    \"kind\": \"ClusterRoleBinding\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"ClusterRoleBinding\\\",\\\"apiVersion\\\":\\\"rbac.authorization.k8s.io/v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"x\\\",\\\"creationTimestamp\\\":null},\\\"subjects\\\":[{\\\"kind\\\":\\\"Group\\\",\\\"apiGroup\\\":\\\"rbac.authorization.k8s.io\\\",\\\"name\\\":\\\"g\\\"}],\\\"roleRef\\\":{\\\"apiGroup\\\":\\\"rbac.authorization.k8s.io\\\",\\\"kind\\\":\\\"ClusterRole\\\",\\\"name\\\":\\\"c\\\"}}\\n\"\n        }\n    },\n    \"subjects\": [\n        {\n            \"kind\": \"Group\",\n            \"apiGroup\": \"rbac.authorization.k8s.io\",\n            \"name\": \"g\"\n        }\n    ],\n    \"roleRef\": {\n        \"apiGroup\": \"rbac.authorization.k8s.io\",\n        \"kind\": \"ClusterRole\",\n        \"name\": \"c\"\n    }\n}\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=c --dry-run=client", "clusterrolebinding.rbac.authorization.k8s.io/x created (dry run)\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=c --dry-run=client -o name", "clusterrolebinding.rbac.authorization.k8s.io/x\n", "", 0),
        ("kubectl create clusterrolebinding x --clusterrole=c --role=r", "", "error: unknown flag: --role\nSee 'kubectl create clusterrolebinding --help' for usage.\n", 1),
        ("kubectl create clusterrolebinding x --clusterrole=c --dry-run=bogus", "", "error: Invalid dry-run value (bogus). Must be \"none\", \"server\", or \"client\".\n", 1),
    ]);
}

/// Cases that resolve `--resource` through discovery: kubectl 1.33.1 run
/// against a loopback server that only served discovery, listing what this
/// simulator's `kubectl api-resources` lists (core group first).
#[test]
fn roles_resolved_through_discovery_match_kubectl_1_33() {
    check(&[
        ("kubectl create role reader --verb=get,list --resource=pods --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: reader\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n  - list\n", "", 0),
        ("kubectl create role reader --verb=get --verb=list --verb=watch --resource=pods -n team --dry-run=client -o json", "{\n    \"kind\": \"Role\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"reader\",\n        \"namespace\": \"team\",\n        \"creationTimestamp\": null\n    },\n    \"rules\": [\n        {\n            \"verbs\": [\n                \"get\",\n                \"list\",\n                \"watch\"\n            ],\n            \"apiGroups\": [\n                \"\"\n            ],\n            \"resources\": [\n                \"pods\"\n            ]\n        }\n    ]\n}\n", "", 0),
        ("kubectl create role pod-reader --verb=get --resource=pods --resource-name=readablepod --resource-name=anotherpod --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: pod-reader\nrules:\n- apiGroups:\n  - \"\"\n  resourceNames:\n  - readablepod\n  - anotherpod\n  resources:\n  - pods\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role foo --verb=get,list,watch --resource=rs.extensions --dry-run=client", "", "the server doesn't have a resource type \"rs\" in group \"extensions\"\n", 1),
        ("kubectl create role foo --verb=get,list,watch --resource=pods,pods/status --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: foo\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  - pods/status\n  verbs:\n  - get\n  - list\n  - watch\n", "", 0),
        ("kubectl create role x --verb=get --resource=ev,deploy,deployments.apps,pods/log,po,Pods,deploymentlists,deploy.app,sc.storage,deployment,pod.,leases.coordination.k8s.io,*.apps,*/scale,bindings,tokenreviews,Deployment --resource-name=a --resource-name=b --resource-name=a --dry-run=client -o json", "{\n    \"kind\": \"Role\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"creationTimestamp\": null\n    },\n    \"rules\": [\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"\"\n            ],\n            \"resources\": [\n                \"events\",\n                \"pods/log\",\n                \"pods\",\n                \"*/scale\",\n                \"bindings\"\n            ],\n            \"resourceNames\": [\n                \"a\",\n                \"b\"\n            ]\n        },\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"apps\"\n            ],\n            \"resources\": [\n                \"deployments\",\n                \"deploymentlists\",\n                \"*\"\n            ],\n            \"resourceNames\": [\n                \"a\",\n                \"b\"\n            ]\n        },\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"authentication.k8s.io\"\n            ],\n            \"resources\": [\n                \"tokenreviews\"\n            ],\n            \"resourceNames\": [\n                \"a\",\n                \"b\"\n            ]\n        },\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"coordination.k8s.io\"\n            ],\n            \"resources\": [\n                \"leases\"\n            ],\n            \"resourceNames\": [\n                \"a\",\n                \"b\"\n            ]\n        },\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"storage.k8s.io\"\n            ],\n            \"resources\": [\n                \"storageclasses\"\n            ],\n            \"resourceNames\": [\n                \"a\",\n                \"b\"\n            ]\n        }\n    ]\n}\n", "Warning: short name \"ev\" could also match lower priority resource events.events.k8s.io\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\n", 0),
        ("kubectl create role x --verb=get --resource=foo --dry-run=client", "", "the server doesn't have a resource type \"foo\"\n", 1),
        ("kubectl create role x --verb=get --resource=foo.apps --dry-run=client", "", "the server doesn't have a resource type \"foo\" in group \"apps\"\n", 1),
        ("kubectl create role x --verb=get --resource=pods.v1 --dry-run=client", "", "the server doesn't have a resource type \"pods\" in group \"v1\"\n", 1),
        ("kubectl create role x --verb=get --resource=foo/bar --dry-run=client", "", "the server doesn't have a resource type \"foo\"\n", 1),
        ("kubectl create role x --verb=get --resource=pods.Apps --dry-run=client", "", "the server doesn't have a resource type \"pods\" in group \"Apps\"\n", 1),
        ("kubectl create role x --verb=get --resource=DEPLOY --dry-run=client", "", "the server doesn't have a resource type \"DEPLOY\"\n", 1),
        ("kubectl create role x --verb=impersonate --resource=users --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - users\n  verbs:\n  - impersonate\n", "", 0),
        ("kubectl create role x --verb=use --resource=pods --dry-run=client -o yaml", "", "error: can not perform 'use' on 'pods' in group ''\n", 1),
        ("kubectl create role x --verb=get,foo,get,* --resource=pods --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - '*'\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods,*,deploy --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - '*'\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=*.apps,foo --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - foo\n  verbs:\n  - get\n- apiGroups:\n  - apps\n  resources:\n  - '*'\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=bind,get --resource=roles,clusterroles.rbac.authorization.k8s.io --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - rbac.authorization.k8s.io\n  resources:\n  - roles\n  - clusterroles\n  verbs:\n  - bind\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods/ --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=/log --dry-run=client -o yaml", "", "error: resource must be specified if apiGroup/subresource specified\n", 1),
        ("kubectl create role x --verb=get --resource=, --dry-run=client -o yaml", "", "error: resource must be specified if apiGroup/subresource specified\n", 1),
        ("kubectl create role x --verb=, --resource=pods --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - \"\"\n", "Warning: '' is not a standard resource verb\n", 0),
        ("kubectl create role x --verb=foo,get --resource=bogus --dry-run=client", "", "Warning: 'foo' is not a standard resource verb\nthe server doesn't have a resource type \"bogus\"\n", 1),
        ("kubectl create role x --verb=get --resource=events.events.k8s.io,ev.events.k8s.io,hpa.autoscaling,endpointslist,podlist --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - endpointslists\n  - podlists\n  verbs:\n  - get\n- apiGroups:\n  - autoscaling\n  resources:\n  - horizontalpodautoscalers\n  verbs:\n  - get\n- apiGroups:\n  - events.k8s.io\n  resources:\n  - events\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods --dry-run=client -o name", "role.rbac.authorization.k8s.io/x\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods -n team --dry-run=client", "role.rbac.authorization.k8s.io/x created (dry run)\n", "", 0),
        ("kubectl create role x --verb=get,list --resource=pods,deploy --resource-name=web -n team --dry-run=client -o json --save-config", "{\n    \"kind\": \"Role\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"x\",\n        \"namespace\": \"team\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"Role\\\",\\\"apiVersion\\\":\\\"rbac.authorization.k8s.io/v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"x\\\",\\\"namespace\\\":\\\"team\\\",\\\"creationTimestamp\\\":null},\\\"rules\\\":[{\\\"verbs\\\":[\\\"get\\\",\\\"list\\\"],\\\"apiGroups\\\":[\\\"\\\"],\\\"resources\\\":[\\\"pods\\\"],\\\"resourceNames\\\":[\\\"web\\\"]},{\\\"verbs\\\":[\\\"get\\\",\\\"list\\\"],\\\"apiGroups\\\":[\\\"apps\\\"],\\\"resources\\\":[\\\"deployments\\\"],\\\"resourceNames\\\":[\\\"web\\\"]}]}\\n\"\n        }\n    },\n    \"rules\": [\n        {\n            \"verbs\": [\n                \"get\",\n                \"list\"\n            ],\n            \"apiGroups\": [\n                \"\"\n            ],\n            \"resources\": [\n                \"pods\"\n            ],\n            \"resourceNames\": [\n                \"web\"\n            ]\n        },\n        {\n            \"verbs\": [\n                \"get\",\n                \"list\"\n            ],\n            \"apiGroups\": [\n                \"apps\"\n            ],\n            \"resources\": [\n                \"deployments\"\n            ],\n            \"resourceNames\": [\n                \"web\"\n            ]\n        }\n    ]\n}\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods --dry-run=client -o yaml --save-config", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"kind\":\"Role\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":\"x\",\"creationTimestamp\":null},\"rules\":[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]}\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=pods --dry-run=client -o wide", "", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create role x --verb=get --resource=pods --dry-run=bogus", "", "error: Invalid dry-run value (bogus). Must be \"none\", \"server\", or \"client\".\n", 1),
        ("kubectl create role x --verb=get --resource=pods --validate=bogus --dry-run=client", "", "error: invalid - validate option \"bogus\"; must be one of: strict (or true), warn, ignore (or false)\n", 1),
        ("kubectl create role x --verb=get,list --resource=pods,deploy --dry-run=client -o jsonpath={.rules[1].apiGroups[0]}", "apps", "", 0),
        ("kubectl create role x --verb=escalate --resource=roles.rbac.authorization.k8s.io --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - rbac.authorization.k8s.io\n  resources:\n  - roles\n  verbs:\n  - escalate\n", "", 0),
        ("kubectl create role x --verb=get --resource=*.apps, --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - \"\"\n  verbs:\n  - get\n- apiGroups:\n  - apps\n  resources:\n  - '*'\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=* --resource-name=a --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resourceNames:\n  - a\n  resources:\n  - '*'\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=impersonate,get --resource=users,pods --dry-run=client -o yaml", "", "error: can not perform 'impersonate' on 'pods' in group ''\n", 1),
        ("kubectl create role x --verb=use --resource=podsecuritypolicies.policy --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - policy\n  resources:\n  - podsecuritypolicies\n  verbs:\n  - use\n", "", 0),
        ("kubectl create role x --verb='\"get,list\",watch' --resource=pods --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get,list\n  - watch\n", "Warning: 'get,list' is not a standard resource verb\n", 0),
        ("kubectl create role x --verb=get --resource=ev --resource=ev --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - events\n  verbs:\n  - get\n", "Warning: short name \"ev\" could also match lower priority resource events.events.k8s.io\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\n", 0),
        ("kubectl create role x --verb=get --resource=ev.events --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - events.k8s.io\n  resources:\n  - events\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=get --resource=netpol.networking.k8s.io,ing.networking,ingressclasses,crd,cronjob --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - apiextensions.k8s.io\n  resources:\n  - customresourcedefinitions\n  verbs:\n  - get\n- apiGroups:\n  - batch\n  resources:\n  - cronjobs\n  verbs:\n  - get\n- apiGroups:\n  - networking.k8s.io\n  resources:\n  - networkpolicies\n  - ingresses\n  - ingressclasses\n  verbs:\n  - get\n", "", 0),
        ("kubectl create role x --verb=bogus --resource=foo --dry-run=client -o wide", "", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create role x --verb=impersonate --resource=userextras.authentication.k8s.io,groups,serviceaccounts,sa --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - groups\n  - serviceaccounts\n  verbs:\n  - impersonate\n- apiGroups:\n  - authentication.k8s.io\n  resources:\n  - userextras\n  verbs:\n  - impersonate\n", "", 0),
        ("kubectl create clusterrole pod-reader --verb=get,list,watch --resource=pods --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: pod-reader\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n  - list\n  - watch\n", "", 0),
        ("kubectl create clusterrole pod-reader --verb=get --resource=pods --resource-name=readablepod --resource-name=anotherpod --dry-run=client -o json", "{\n    \"kind\": \"ClusterRole\",\n    \"apiVersion\": \"rbac.authorization.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"pod-reader\",\n        \"creationTimestamp\": null\n    },\n    \"rules\": [\n        {\n            \"verbs\": [\n                \"get\"\n            ],\n            \"apiGroups\": [\n                \"\"\n            ],\n            \"resources\": [\n                \"pods\"\n            ],\n            \"resourceNames\": [\n                \"readablepod\",\n                \"anotherpod\"\n            ]\n        }\n    ]\n}\n", "", 0),
        ("kubectl create clusterrole foo --verb=get,list,watch --resource=rs.extensions --dry-run=client", "", "the server doesn't have a resource type \"rs\" in group \"extensions\"\n", 1),
        ("kubectl create clusterrole foo --verb=get,list,watch --resource=pods,pods/status --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: foo\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  - pods/status\n  verbs:\n  - get\n  - list\n  - watch\n", "", 0),
        ("kubectl create clusterrole x --verb=post --resource=pods --non-resource-url=/a --dry-run=client -o yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - post\n- nonResourceURLs:\n  - /a\n  verbs:\n  - post\n", "Warning: 'post' is not a standard resource verb\n", 0),
        ("kubectl create clusterrole x --verb=list --resource=pods --non-resource-url=/a --dry-run=client -o yaml", "", "error: invalid verb: 'list' for nonResourceURL\n", 1),
    ]);
}

/// `get -o yaml` without the lines a server makes up (uid, resourceVersion,
/// creationTimestamp).
fn stored_yaml(c: &mut crate::engine::cluster::Cluster, line: &str) -> String {
    let out = k(c, line);
    assert_eq!(out.stderr, "", "{line}");
    let volatile = ["  uid: ", "  resourceVersion: ", "  creationTimestamp: "];
    out.stdout.lines().filter(|l| !volatile.iter().any(|v| l.starts_with(v))).map(|l| format!("{l}\n")).collect()
}

#[test]
fn generated_rbac_objects_are_stored_as_a_1_33_server_stores_them() {
    let mut c = cluster();
    let out = k(&mut c, "kubectl create role reader --verb=get,list --resource=pods,deploy");
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("role.rbac.authorization.k8s.io/reader created\n", ""));
    assert_eq!(
        stored_yaml(&mut c, "kubectl get role reader -o yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\n  namespace: default\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n  - list\n- apiGroups:\n  - apps\n  resources:\n  - deployments\n  verbs:\n  - get\n  - list\n"
    );
    // A Role's create error is the API server's own; a binding's is wrapped.
    let out = k(&mut c, "kubectl create role reader --verb=get --resource=pods");
    assert_eq!((out.stderr.as_str(), out.exit_code), ("Error from server (AlreadyExists): roles.rbac.authorization.k8s.io \"reader\" already exists\n", 1));

    let out = k(&mut c, "kubectl create rolebinding rb --role=reader --user=alice --group=devs --serviceaccount=default:robot");
    assert_eq!(out.stdout, "rolebinding.rbac.authorization.k8s.io/rb created\n");
    // A ServiceAccount subject's empty apiGroup is left out, as Go's omitempty does.
    assert_eq!(
        stored_yaml(&mut c, "kubectl get rolebinding rb -o yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb\n  namespace: default\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: reader\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: alice\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: devs\n- kind: ServiceAccount\n  name: robot\n  namespace: default\n"
    );
    let out = k(&mut c, "kubectl create rolebinding rb --clusterrole=view");
    assert_eq!(out.stderr, "error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io \"rb\" already exists\n");

    // An aggregated ClusterRole's rules are `null` (no omitempty on them).
    assert_eq!(k(&mut c, "kubectl create clusterrole agg --aggregation-rule=team=web").stdout, "clusterrole.rbac.authorization.k8s.io/agg created\n");
    assert_eq!(
        stored_yaml(&mut c, "kubectl get clusterrole agg -o yaml"),
        "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels:\n      team: web\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: agg\nrules: null\n"
    );
    let out = k(&mut c, "kubectl create clusterrole agg --verb=get --non-resource-url=/healthz");
    assert_eq!(out.stderr, "Error from server (AlreadyExists): clusterroles.rbac.authorization.k8s.io \"agg\" already exists\n");

    assert_eq!(k(&mut c, "kubectl create clusterrolebinding crb --clusterrole=agg --user=bob").stdout, "clusterrolebinding.rbac.authorization.k8s.io/crb created\n");
    let out = k(&mut c, "kubectl create clusterrolebinding crb --clusterrole=agg");
    assert_eq!(out.stderr, "error: failed to create clusterrolebinding: clusterrolebindings.rbac.authorization.k8s.io \"crb\" already exists\n");
    let out = k(&mut c, "kubectl get clusterrolebinding crb -o wide");
    assert_eq!(out.stdout.lines().nth(1).map(|l| l.split_whitespace().collect::<Vec<_>>()), Some(vec!["crb", "ClusterRole/agg", "0s", "bob"]));

    // Server dry runs store nothing.
    let out = k(&mut c, "kubectl create clusterrolebinding other --clusterrole=agg --dry-run=server");
    assert_eq!(out.stdout, "clusterrolebinding.rbac.authorization.k8s.io/other created (server dry run)\n");
    let out = k(&mut c, "kubectl create role other --verb=get --resource=pods --dry-run=server -o name");
    assert_eq!(out.stdout, "role.rbac.authorization.k8s.io/other\n");
    let role_bindings = find_resource("rbac.authorization.k8s.io", "clusterrolebindings").unwrap();
    assert!(c.sim.api.get(role_bindings, "", "other").is_err());
    let roles = find_resource("rbac.authorization.k8s.io", "roles").unwrap();
    assert!(c.sim.api.get(roles, "default", "other").is_err());

    let out = k(&mut c, "kubectl create role r --verb=get --resource=pods -n nope");
    assert_eq!(out.stderr, "Error from server (NotFound): namespaces \"nope\" not found\n");
    let out = k(&mut c, "kubectl create rolebinding r --role=r -n nope");
    assert_eq!(out.stderr, "error: failed to create rolebinding: namespaces \"nope\" not found\n");
    let out = k(&mut c, "kubectl create clusterrolebinding \"\" --clusterrole=agg");
    assert_eq!(
        out.stderr,
        "error: failed to create clusterrolebinding: ClusterRoleBinding.rbac.authorization.k8s.io \"\" is invalid: metadata.name: Required value: name or generateName is required\n"
    );

    // --save-config stores the generated object as the last applied one.
    k(&mut c, "kubectl create role saved --verb=get --resource=pods --save-config");
    let Object::Role(saved) = &*c.sim.api.get(roles, "default", "saved").unwrap() else { panic!("not a Role") };
    let annotations = saved.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("kubectl.kubernetes.io/last-applied-configuration").map(String::as_str),
        Some("{\"kind\":\"Role\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":\"saved\",\"creationTimestamp\":null},\"rules\":[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]}\n")
    );
}

/// Warnings come before what the command prints, on the terminal too.
#[test]
fn warnings_precede_the_output_on_the_terminal() {
    let mut c = cluster();
    let out = k(&mut c, "kubectl create role watcher --verb=peek --resource=ev");
    let warnings = "Warning: 'peek' is not a standard resource verb\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\nWarning: short name \"ev\" could also match lower priority resource events.events.k8s.io\n";
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("role.rbac.authorization.k8s.io/watcher created\n", warnings));
    assert_eq!(out.combined(), format!("{warnings}role.rbac.authorization.k8s.io/watcher created\n"));
    let out = k(&mut c, "kubectl create role bad --verb=peek --resource=bogus");
    assert_eq!(out.combined(), "Warning: 'peek' is not a standard resource verb\nthe server doesn't have a resource type \"bogus\"\n");
}

/// With the API server stopped, a role's resources cannot be mapped
/// (kubectl's klog lines about discovery are not printed), and a binding's
/// create fails on its POST.
#[test]
fn generators_report_a_stopped_api_server_as_kubectl_1_33() {
    let mut c = cluster();
    c.sim.stop("apiserver").unwrap();
    let refused = "The connection to the server 192.168.49.2:8443 was refused - did you specify the right host or port?\n";
    assert_eq!(k(&mut c, "kubectl create role x --verb=get --resource=pods --dry-run=client").stderr, refused);
    assert_eq!(k(&mut c, "kubectl create role x --verb=get --resource=foo --dry-run=client").stderr, refused);
    // Validation stops at `*`; what follows is kept as given.
    let out = k(&mut c, "kubectl create role x --verb=get --resource=*.apps,deploy --dry-run=client -o yaml");
    assert_eq!(
        (out.stdout.as_str(), out.exit_code),
        ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  creationTimestamp: null\n  name: x\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - deploy\n  verbs:\n  - get\n- apiGroups:\n  - apps\n  resources:\n  - '*'\n  verbs:\n  - get\n", 0)
    );
    assert_eq!(k(&mut c, "kubectl create clusterrole x --verb=get --non-resource-url=/healthz").stderr, refused);
    assert_eq!(
        k(&mut c, "kubectl create rolebinding x --role=r").stderr,
        "error: failed to create rolebinding: Post \"https://192.168.49.2:8443/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings?fieldManager=kubectl-create&fieldValidation=Strict\": dial tcp 192.168.49.2:8443: connect: connection refused\n"
    );
    assert_eq!(
        k(&mut c, "kubectl create clusterrolebinding x --clusterrole=r").stderr,
        "error: failed to create clusterrolebinding: Post \"https://192.168.49.2:8443/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create&fieldValidation=Strict\": dial tcp 192.168.49.2:8443: connect: connection refused\n"
    );
}

/// Random flag soup for the four generators answers with errors or
/// objects, never a panic.
#[test]
fn random_rbac_lines_never_panic() {
    const COMMANDS: &[&str] = &["role", "clusterrole", "rolebinding", "clusterrolebinding"];
    const WORDS: &[&str] = &[
        "x", "", "--verb=get", "--verb=*", "--verb=\"a,b\"c", "--verb=,", "--verb='\"'", "--verb=use", "--verb=impersonate", "--resource=pods",
        "--resource=*", "--resource=*.apps", "--resource=.", "--resource=/", "--resource=./", "--resource=ev", "--resource=\"", "--resource=a/b/c",
        "--resource=\u{1F600}.\u{1F600}/\u{1F600}", "--resource-name=n", "--non-resource-url=/a*", "--non-resource-url=*", "--non-resource-url=\u{e9}*",
        "--non-resource-url=", "--aggregation-rule=a=b", "--aggregation-rule==", "--aggregation-rule=,", "--aggregation-rule=a", "--role=r",
        "--clusterrole=c", "--clusterrole=", "--user=", "--group=g", "--serviceaccount=:", "--serviceaccount=a:b", "--serviceaccount=::",
        "--serviceaccount=\u{1F600}", "-n", "team", "-o", "yaml", "json", "name", "wide", "--dry-run=client", "--dry-run=server", "--save-config",
    ];
    let mut c = cluster();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..600 {
        let command = COMMANDS[rng.usize(..COMMANDS.len())];
        let words: Vec<String> = (0..rng.usize(0..7)).map(|_| shell_words::quote(WORDS[rng.usize(..WORDS.len())]).into_owned()).collect();
        let out = k(&mut c, &format!("kubectl create {command} {}", words.join(" ")));
        assert!(out.exit_code == 0 || !out.stderr.is_empty(), "{command} {words:?}");
    }
}
