//! `kubectl auth` and `--as` against what kubectl 1.33 and a 1.33 API
//! server answer (the wording of `cmd/auth` and the authorization filter).

use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::kubectl::verbs::write_tests::k;

fn kind() -> Cluster {
    Cluster::new(Profile::new(ProfileKind::Default), 7)
}

fn run(c: &mut Cluster, line: &str) -> (String, i32) {
    let out = k(c, line);
    (out.combined(), out.exit_code)
}

fn answers(c: &mut Cluster, cases: &[(&str, &str, i32)]) {
    let mut differing = Vec::new();
    for (line, want, code) in cases {
        let got = run(c, line);
        if got != (want.to_string(), *code) {
            differing.push(format!("{line}\n  want: {:?}\n  got:  {got:?}", (want, code)));
        }
    }
    assert!(differing.is_empty(), "{} of {} cases differ:\n{}", differing.len(), cases.len(), differing.join("\n"));
}

#[test]
fn kubectl_is_kubeadms_admin_and_may_do_everything() {
    let mut c = kind();
    answers(
        &mut c,
        &[
            ("kubectl auth whoami", "ATTRIBUTE   VALUE\nUsername    kubernetes-admin\nGroups      [kubeadm:cluster-admins system:authenticated]\n", 0),
            ("kubectl auth can-i '*' '*'", "yes\n", 0),
            ("kubectl auth can-i get nodes", "Warning: resource 'nodes' is not namespace scoped\n\nyes\n", 0),
            ("kubectl auth can-i get nodes -A", "yes\n", 0),
            ("kubectl auth can-i list foos", "Warning: the server doesn't have a resource type 'foos'\n\nyes\n", 0),
            ("kubectl auth can-i frobnicate pods", "Warning: verb 'frobnicate' is not a known verb\n\nyes\n", 0),
            ("kubectl auth can-i create deploy.apps -q", "", 0),
            ("kubectl auth can-i get /healthz", "yes\n", 0),
            ("kubectl auth can-i get /healthz --subresource=x", "error: --subresource can not be used with NonResourceURL\n", 1),
            ("kubectl auth can-i get", "error: you must specify two arguments: verb resource or verb resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples.\n", 1),
            ("kubectl auth can-i --list pods", "error: list option must be specified with no arguments\n", 1),
            ("kubectl auth can-i --list -A", "error: list option can't be specified with neither quiet, all-namespaces nor subresource options\n", 1),
            ("kubectl auth can-i get pods --no-headers", "error: --no-headers cannot be set without --list specified\n", 1),
            ("kubectl auth whoami -o wide", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
            ("kubectl auth whoami -o jsonpath={.status.userInfo.username}", "kubernetes-admin", 0),
            // Go templates, as every printer takes them (kubectl 1.33.1 builds the printer before the request).
            ("kubectl auth whoami -o go-template={{.status.userInfo.username}}", "kubernetes-admin", 0),
            ("kubectl auth whoami --template={{.kind}}", "SelfSubjectReview", 0),
            ("kubectl auth whoami -o jsonpath --template={.kind}", "SelfSubjectReview", 0),
            ("kubectl auth whoami -o go-template", "error: template format specified but no template given\n", 1),
        ],
    );
}

#[test]
fn a_service_account_may_do_what_its_bindings_allow_and_no_more() {
    let mut c = kind();
    let bot = "--as=system:serviceaccount:shop:bot";
    for line in ["kubectl create namespace shop", "kubectl create serviceaccount bot -n shop", "kubectl run web --image=nginx -n shop"] {
        assert_eq!(k(&mut c, line).exit_code, 0, "{line}");
    }
    answers(
        &mut c,
        &[
            (&format!("kubectl get pods -n shop {bot}"), "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:shop:bot\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\"\n", 1),
            (&format!("kubectl auth can-i get pods -n shop {bot}"), "no\n", 1),
            (&format!("kubectl auth can-i get pods -n shop -q {bot}"), "", 1),
            (&format!("kubectl auth whoami {bot}"), "ATTRIBUTE   VALUE\nUsername    system:serviceaccount:shop:bot\nGroups      [system:serviceaccounts system:serviceaccounts:shop system:authenticated]\n", 0),
            ("kubectl create rolebinding bot-edit --clusterrole=edit --serviceaccount=shop:bot -n shop", "rolebinding.rbac.authorization.k8s.io/bot-edit created\n", 0),
            (&format!("kubectl auth can-i delete pods -n shop {bot}"), "yes\n", 0),
            (&format!("kubectl auth can-i create pods --subresource=exec -n shop {bot}"), "yes\n", 0),
            (&format!("kubectl auth can-i get secrets -n shop {bot}"), "yes\n", 0),
            (&format!("kubectl auth can-i create rolebindings -n shop {bot}"), "no\n", 1),
            (&format!("kubectl auth can-i delete pods -n default {bot}"), "no\n", 1),
            (&format!("kubectl get nodes {bot}"), "Error from server (Forbidden): nodes is forbidden: User \"system:serviceaccount:shop:bot\" cannot list resource \"nodes\" in API group \"\" at the cluster scope\n", 1),
            (&format!("kubectl delete pod web -n shop {bot}"), "pod \"web\" deleted\n", 0),
            (&format!("kubectl replace -f x.yaml {bot}"), "error: the path \"x.yaml\" does not exist\n", 1),
            ("kubectl create rolebinding gone --clusterrole=nosuch --user=jane -n shop", "rolebinding.rbac.authorization.k8s.io/gone created\n", 0),
            ("kubectl auth can-i get pods -n shop --as=jane", "no - RBAC: clusterrole.rbac.authorization.k8s.io \"nosuch\" not found\n", 1),
            ("kubectl get pods --as-group=devs", "Error from server (InternalError): Internal error occurred: requested [{Group  devs    }] without impersonating a user\n", 1),
        ],
    );
}

#[test]
fn deleting_the_admins_binding_locks_kubectl_out_as_on_a_real_kind_cluster() {
    let mut c = kind();
    assert_eq!(run(&mut c, "kubectl delete clusterrolebinding kubeadm:cluster-admins"), ("clusterrolebinding.rbac.authorization.k8s.io \"kubeadm:cluster-admins\" deleted\n".into(), 0));
    assert_eq!(
        run(&mut c, "kubectl get pods"),
        ("Error from server (Forbidden): pods is forbidden: User \"kubernetes-admin\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"\n".into(), 1)
    );
    // What every authenticated user keeps.
    assert_eq!(run(&mut c, "kubectl auth can-i get /healthz"), ("yes\n".into(), 0));
}
