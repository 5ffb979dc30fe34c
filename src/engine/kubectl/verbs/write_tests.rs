//! Transcript tests for the writing verbs: the lines kubectl 1.33 prints and
//! the API state they leave, independent of controllers and kubelets.

use std::collections::BTreeMap;

use crate::engine::api::{ids, Object};
use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::kubectl::{self, FileSource, Output};

pub struct Files(pub BTreeMap<String, String>);

impl FileSource for Files {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| format!("the path \"{path}\" does not exist"))
    }
}

pub fn cluster() -> Cluster {
    Cluster::new(Profile::new(ProfileKind::Minikube), 7)
}

pub fn k(c: &mut Cluster, line: &str) -> Output {
    kubectl::run(c, line, None, &Files(BTreeMap::new()))
}

pub fn kf(c: &mut Cluster, line: &str, files: &[(&str, &str)]) -> Output {
    let files = Files(files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect());
    kubectl::run(c, line, None, &files)
}

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
";

#[test]
fn apply_creates_configures_and_reports_unchanged() {
    let mut c = cluster();
    let out = kf(&mut c, "kubectl apply -f d.yaml", &[("d.yaml", DEPLOY)]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("deployment.apps/web created\n", ""));
    let stored = c.sim.api.get(ids::deployments(), "default", "web").unwrap();
    let annotation = stored.meta().annotations.as_ref().unwrap()["kubectl.kubernetes.io/last-applied-configuration"].clone();
    assert!(annotation.starts_with("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{},\"name\":\"web\",\"namespace\":\"default\"}"), "{annotation}");
    assert!(annotation.ends_with("}\n"));
    let out = kf(&mut c, "kubectl apply -f d.yaml", &[("d.yaml", DEPLOY)]);
    assert_eq!(out.stdout, "deployment.apps/web unchanged\n");
    let changed = DEPLOY.replace("replicas: 2", "replicas: 3").replace("nginx:1.25", "nginx:1.26");
    let out = kf(&mut c, "kubectl apply -f d.yaml", &[("d.yaml", &changed)]);
    assert_eq!(out.stdout, "deployment.apps/web configured\n");
    let Object::Deployment(d) = &*c.sim.api.get(ids::deployments(), "default", "web").unwrap() else { panic!() };
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.template.spec.as_ref().unwrap().containers[0].image.as_deref(), Some("nginx:1.26"));
    let out = kf(&mut c, "kubectl apply -f d.yaml --dry-run=server", &[("d.yaml", DEPLOY)]);
    assert_eq!(out.stdout, "deployment.apps/web configured (server dry run)\n");
}

#[test]
fn apply_reports_each_document_error_as_kubectl_does() {
    let mut c = cluster();
    let old = "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: kubia\n";
    let out = kf(&mut c, "kubectl apply -f old.yaml", &[("old.yaml", old)]);
    assert_eq!(out.stderr, "error: resource mapping not found for name: \"kubia\" namespace: \"\" from \"old.yaml\": no matches for kind \"Deployment\" in version \"extensions/v1beta1\"\nensure CRDs are installed first\n");
    assert_eq!(out.exit_code, 1);

    let out = kf(&mut c, "kubectl apply -f f.yaml", &[("f.yaml", "metadata:\n  name: x\n")]);
    assert_eq!(out.stderr, "error: error validating \"f.yaml\": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false\n");

    let out = kf(&mut c, "kubectl apply -f f.yaml", &[("f.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: a\n")]);
    assert_eq!(out.stderr, "error: error parsing f.yaml: error converting YAML to JSON: yaml: line 4: mapping values are not allowed in this context\n".replace("line 4", "line 5"));

    let typo = DEPLOY.replace("image: nginx:1.25", "image: nginx:1.25\n        imagePullPolicyy: Always");
    let out = kf(&mut c, "kubectl apply -f d.yaml", &[("d.yaml", &typo)]);
    assert_eq!(out.stderr, "Error from server (BadRequest): error when creating \"d.yaml\": Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.template.spec.containers[0].imagePullPolicyy\"\n");

    let two = format!("{old}---\n{}", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n");
    let out = kf(&mut c, "kubectl apply -f two.yaml", &[("two.yaml", &two)]);
    assert_eq!(out.stdout, "configmap/cm created\n");
    assert!(out.stderr.starts_with("error: resource mapping not found for name: \"kubia\""), "{}", out.stderr);
}

#[test]
fn apply_enforces_an_explicit_namespace() {
    let mut c = cluster();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: a\n";
    let out = kf(&mut c, "kubectl apply -f cm.yaml -n b", &[("cm.yaml", cm)]);
    assert_eq!(out.stderr, "error: the namespace from the provided object \"a\" does not match the namespace \"b\". You must pass '--namespace=a' to perform this operation.\n");
    let out = kf(&mut c, "kubectl apply -f cm.yaml", &[("cm.yaml", cm)]);
    assert_eq!(out.stderr, "Error from server (NotFound): error when creating \"cm.yaml\": namespaces \"a\" not found\n");
}

#[test]
fn create_from_files_and_generators() {
    let mut c = cluster();
    let out = kf(&mut c, "kubectl create -f d.yaml", &[("d.yaml", DEPLOY)]);
    assert_eq!(out.stdout, "deployment.apps/web created\n");
    let out = kf(&mut c, "kubectl create -f d.yaml", &[("d.yaml", DEPLOY)]);
    assert_eq!(out.stderr, "Error from server (AlreadyExists): error when creating \"d.yaml\": deployments.apps \"web\" already exists\n");
    let out = k(&mut c, "kubectl create deployment web --image=nginx");
    assert_eq!(out.stderr, "error: failed to create deployment: deployments.apps \"web\" already exists\n");
    let out = k(&mut c, "kubectl create deployment api --image=nginx:1.25 --replicas=3 --port=80");
    assert_eq!(out.stdout, "deployment.apps/api created\n");
    let out = k(&mut c, "kubectl create namespace dev");
    assert_eq!(out.stdout, "namespace/dev created\n");
    let out = k(&mut c, "kubectl create namespace dev");
    assert_eq!(out.stderr, "Error from server (AlreadyExists): namespaces \"dev\" already exists\n");
    let out = k(&mut c, "kubectl create configmap cm --from-literal=a=1 -n dev");
    assert_eq!(out.stdout, "configmap/cm created\n");
    let out = k(&mut c, "kubectl create service clusterip svc --tcp=80:8080");
    assert_eq!(out.stdout, "service/svc created\n");
    let out = k(&mut c, "kubectl expose deployment api --port=80 --name=api-svc");
    assert_eq!(out.stdout, "service/api-svc exposed\n");
    let Object::Service(svc) = &*c.sim.api.get(ids::services(), "default", "api-svc").unwrap() else { panic!() };
    assert_eq!(svc.spec.as_ref().unwrap().selector.as_ref().unwrap()["app"], "api");
}

#[test]
fn generators_print_what_kubectl_1_33_prints() {
    let mut c = cluster();
    let out = k(&mut c, "kubectl create deployment web --image=nginx:1.25 --replicas=3 --port=80 --dry-run=client -o yaml");
    let value: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let want: serde_json::Value = serde_yaml::from_str("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: web\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: web\n    spec:\n      containers:\n      - image: nginx:1.25\n        name: nginx\n        ports:\n        - containerPort: 80\n        resources: {}\nstatus: {}\n").unwrap();
    assert_eq!(value, want);
    let out = k(&mut c, "kubectl run p --image=nginx --port=80 --dry-run=client -o yaml");
    let value: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let want: serde_json::Value = serde_yaml::from_str("apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: null\n  labels:\n    run: p\n  name: p\nspec:\n  containers:\n  - image: nginx\n    name: p\n    ports:\n    - containerPort: 80\n    resources: {}\n  dnsPolicy: ClusterFirst\n  restartPolicy: Always\nstatus: {}\n").unwrap();
    assert_eq!(value, want);
    let out = k(&mut c, "kubectl run p --image=nginx");
    assert_eq!(out.stdout, "pod/p created\n");
    let out = k(&mut c, "kubectl create deployment x --image=nginx --dry-run=client");
    assert_eq!(out.stdout, "deployment.apps/x created (dry run)\n");
}

#[test]
fn verbs_report_a_stopped_api_server() {
    let mut c = cluster();
    c.sim.stop("apiserver").unwrap();
    let out = kf(&mut c, "kubectl apply -f d.yaml", &[("d.yaml", DEPLOY)]);
    assert!(out.stderr.starts_with("error: error validating \"d.yaml\": error validating data: failed to download openapi:"), "{}", out.stderr);
    let out = k(&mut c, "kubectl create namespace x");
    assert_eq!(out.stderr, "The connection to the server 192.168.49.2:8443 was refused - did you specify the right host or port?\n");
}

#[test]
fn delete_scale_label_patch_and_set_image() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx:1.25");
    let out = k(&mut c, "kubectl scale deploy/web --replicas=3");
    assert_eq!(out.stdout, "deployment.apps/web scaled\n");
    let out = k(&mut c, "kubectl scale deployment web --replicas=1 --current-replicas=2");
    assert_eq!(out.stderr, "error: Expected replicas to be 2, was 3\n");
    let out = k(&mut c, "kubectl label deploy web tier=fe");
    assert_eq!(out.stdout, "deployment.apps/web labeled\n");
    let out = k(&mut c, "kubectl label deploy web tier=be");
    assert_eq!(out.stderr, "error: 'tier' already has a value (fe), and --overwrite is false\n");
    let out = k(&mut c, "kubectl label deploy web tier-");
    assert_eq!(out.stdout, "deployment.apps/web unlabeled\n");
    let out = k(&mut c, "kubectl annotate deploy web note=hi");
    assert_eq!(out.stdout, "deployment.apps/web annotated\n");
    let out = k(&mut c, r#"kubectl patch deployment web -p '{"spec":{"replicas":5}}'"#);
    assert_eq!(out.stdout, "deployment.apps/web patched\n");
    let out = k(&mut c, r#"kubectl patch deployment web --type=merge -p '{"spec":{"replicas":5}}'"#);
    assert_eq!(out.stdout, "deployment.apps/web patched (no change)\n");
    let out = k(&mut c, "kubectl set image deployment/web nginx=nginx:1.26");
    assert_eq!(out.stdout, "deployment.apps/web image updated\n");
    let out = k(&mut c, "kubectl set image deployment/web nope=nginx:1.26");
    assert_eq!(out.stderr, "error: unable to find container named \"nope\"\n");
    let Object::Deployment(d) = &*c.sim.api.get(ids::deployments(), "default", "web").unwrap() else { panic!() };
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(5));
    let out = k(&mut c, "kubectl delete deployment web nope");
    assert_eq!(out.stdout, "deployment.apps \"web\" deleted\n");
    assert_eq!(out.stderr, "Error from server (NotFound): deployments.apps \"nope\" not found\n");
    let out = k(&mut c, "kubectl delete pods --all");
    assert_eq!(out.stdout, "No resources found\n");
    let out = k(&mut c, "kubectl delete pods");
    assert_eq!(out.stderr, "error: resource(s) were provided, but no name was specified\n");
    k(&mut c, "kubectl create configmap a");
    let out = k(&mut c, "kubectl delete cm/a --force");
    assert_eq!(out.stderr, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n");
    assert_eq!(out.stdout, "configmap \"a\" force deleted\n");
    // A terminal shows kubectl's warning first, as it writes it before deleting.
    assert!(out.combined().starts_with("Warning: Immediate deletion"), "{}", out.combined());
}

#[test]
fn rollout_nodes_and_wait() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    assert_eq!(k(&mut c, "kubectl rollout pause deployment/web").stdout, "deployment.apps/web paused\n");
    assert_eq!(k(&mut c, "kubectl rollout pause deployment/web").stderr, "error: deployments.apps \"web\" is already paused\n");
    assert_eq!(k(&mut c, "kubectl rollout restart deployment/web").stderr, "error: deployments.apps \"web\" can't restart paused deployment (run rollout resume first)\n");
    assert_eq!(k(&mut c, "kubectl rollout resume deployment/web").stdout, "deployment.apps/web resumed\n");
    assert_eq!(k(&mut c, "kubectl rollout restart deployment/web").stdout, "deployment.apps/web restarted\n");
    let Object::Deployment(d) = &*c.sim.api.get(ids::deployments(), "default", "web").unwrap() else { panic!() };
    let annotations = d.spec.as_ref().unwrap().template.metadata.as_ref().unwrap().annotations.clone().unwrap();
    assert!(annotations["kubectl.kubernetes.io/restartedAt"].starts_with("2026-01-01T00:01:"), "{annotations:?}");

    // Kubelets register their nodes; make sure one exists even without them.
    if c.sim.api.get(ids::nodes(), "", "minikube").is_err() {
        let node = k8s_openapi::api::core::v1::Node { metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { name: Some("minikube".into()), ..Default::default() }, ..Default::default() };
        c.sim.api.create(Object::Node(Box::new(node))).unwrap();
    }
    let out = k(&mut c, "kubectl cordon minikube");
    assert_eq!(out.stdout, "node/minikube cordoned\n", "{}", out.stderr);
    assert_eq!(k(&mut c, "kubectl cordon minikube").stdout, "node/minikube already cordoned\n");
    assert_eq!(k(&mut c, "kubectl uncordon minikube").stdout, "node/minikube uncordoned\n");
    assert_eq!(k(&mut c, "kubectl taint nodes minikube dedicated=gpu:NoSchedule").stdout, "node/minikube tainted\n");
    assert_eq!(
        k(&mut c, "kubectl taint nodes minikube dedicated=cpu:NoSchedule").stderr,
        "error: node minikube already has dedicated taint(s) with same effect(s) and --overwrite is false\n"
    );
    assert_eq!(k(&mut c, "kubectl taint nodes minikube dedicated:NoSchedule-").stdout, "node/minikube untainted\n");
    assert_eq!(k(&mut c, "kubectl taint nodes minikube dedicated:NoSchedule-").stderr, "error: taint \"dedicated:NoSchedule\" not found\n");

    k(&mut c, "kubectl create configmap cm --from-literal=a=1");
    assert_eq!(k(&mut c, "kubectl wait --for=jsonpath={.data.a}=1 configmap/cm").stdout, "configmap/cm condition met\n");
    let before = c.now();
    let out = k(&mut c, "kubectl wait --for=jsonpath={.data.a}=2 configmap/cm --timeout=5s");
    assert_eq!(out.stderr, "error: timed out waiting for the condition on configmaps/cm\n");
    assert!(c.now().as_millis() - before.as_millis() >= 5000);
    assert_eq!(k(&mut c, "kubectl delete configmap cm").stdout, "configmap \"cm\" deleted\n");
    assert_eq!(k(&mut c, "kubectl wait --for=delete configmap/cm").stdout, "");
}

/// `kubectl create quota` as kubectl 1.33 prints it without a server
/// (stdout, stderr, exit code captured from kubectl.1.33), with a few other
/// generators' `-o json` and `--save-config` (Go's field order).
#[test]
fn create_quota_matches_kubectl_1_33() {
    let cases: &[(&str, &str, &str, i32)] = &[
        ("kubectl create quota small --hard=pods=2,requests.cpu=1 -n q --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\n  namespace: q\nspec:\n  hard:\n    pods: \"2\"\n    requests.cpu: \"1\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=pods=2,requests.cpu=1 -n q --dry-run=client -o json", "{\n    \"kind\": \"ResourceQuota\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"small\",\n        \"namespace\": \"q\",\n        \"creationTimestamp\": null\n    },\n    \"spec\": {\n        \"hard\": {\n            \"pods\": \"2\",\n            \"requests.cpu\": \"1\"\n        }\n    },\n    \"status\": {}\n}\n", "", 0),
        ("kubectl create quota small --hard=pods=2,requests.cpu=1 --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  hard:\n    pods: \"2\"\n    requests.cpu: \"1\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=pods=2,requests.cpu=1 -n q --dry-run=client", "resourcequota/small created (dry run)\n", "", 0),
        ("kubectl create quota small --hard=pods=2,requests.cpu=1 -n q --dry-run=client -o name", "resourcequota/small\n", "", 0),
        ("kubectl create resourcequota small --scopes=BestEffort,NotTerminating --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  scopes:\n  - BestEffort\n  - NotTerminating\nstatus: {}\n", "", 0),
        ("kubectl create quota small --dry-run=client -o json", "{\n    \"kind\": \"ResourceQuota\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"small\",\n        \"creationTimestamp\": null\n    },\n    \"spec\": {},\n    \"status\": {}\n}\n", "", 0),
        ("kubectl create quota small --hard= --scopes= --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec: {}\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=cpu=1000m,memory=1024Mi,limits.cpu=0.5,requests.memory=1G,x=1e3,y=1.5Gi,z=+5,w=-1,v=0.1m,u=100k --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  hard:\n    cpu: \"1\"\n    limits.cpu: 500m\n    memory: 1Gi\n    requests.memory: 1G\n    u: 100k\n    v: 100u\n    w: \"-1\"\n    x: \"1e3\"\n    \"y\": 1536Mi\n    z: \"+5\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=pods=0.000000001,cpu=0.0000000001,m=1Ki,n=0.5Ki,o=1e-3,p=12e2,q=100m,r=1.0,s=01 --dry-run=client -o json", "{\n    \"kind\": \"ResourceQuota\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"small\",\n        \"creationTimestamp\": null\n    },\n    \"spec\": {\n        \"hard\": {\n            \"cpu\": \"1n\",\n            \"m\": \"1Ki\",\n            \"n\": \"512\",\n            \"o\": \"1e-3\",\n            \"p\": \"1200\",\n            \"pods\": \"1n\",\n            \"q\": \"100m\",\n            \"r\": \"1\",\n            \"s\": \"01\"\n        }\n    },\n    \"status\": {}\n}\n", "", 0),
        ("kubectl create quota small --hard=pods=2 --hard=services=3 --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  hard:\n    services: \"3\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=pods=1,pods=3,=4 --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  hard:\n    \"\": \"4\"\n    pods: \"3\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --scopes=Bogus --dry-run=client -o yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  creationTimestamp: null\n  name: small\nspec:\n  scopes:\n  - Bogus\nstatus: {}\n", "", 0),
        ("kubectl create quota x --hard=pods=3 --dry-run=client -o jsonpath={.spec.hard.pods}", "3", "", 0),
        ("kubectl create quota small --hard=pods=2 --scopes=BestEffort -n q --dry-run=client -o json --save-config", "{\n    \"kind\": \"ResourceQuota\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"small\",\n        \"namespace\": \"q\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"ResourceQuota\\\",\\\"apiVersion\\\":\\\"v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"small\\\",\\\"namespace\\\":\\\"q\\\",\\\"creationTimestamp\\\":null},\\\"spec\\\":{\\\"hard\\\":{\\\"pods\\\":\\\"2\\\"},\\\"scopes\\\":[\\\"BestEffort\\\"]},\\\"status\\\":{}}\\n\"\n        }\n    },\n    \"spec\": {\n        \"hard\": {\n            \"pods\": \"2\"\n        },\n        \"scopes\": [\n            \"BestEffort\"\n        ]\n    },\n    \"status\": {}\n}\n", "", 0),
        ("kubectl create quota small --hard=pods=2 --dry-run=client -o yaml --save-config", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"small\",\"creationTimestamp\":null},\"spec\":{\"hard\":{\"pods\":\"2\"}},\"status\":{}}\n  creationTimestamp: null\n  name: small\nspec:\n  hard:\n    pods: \"2\"\nstatus: {}\n", "", 0),
        ("kubectl create quota small --hard=a<b=1 --dry-run=client -o json", "{\n    \"kind\": \"ResourceQuota\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"small\",\n        \"creationTimestamp\": null\n    },\n    \"spec\": {\n        \"hard\": {\n            \"a\\u003cb\": \"1\"\n        }\n    },\n    \"status\": {}\n}\n", "", 0),
        ("kubectl create quota small --hard=pods --dry-run=client -o yaml", "", "error: Invalid argument syntax pods, expected <resource>=<value>\n", 1),
        ("kubectl create quota small --hard=pods=abc --dry-run=client -o yaml", "", "error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n", 1),
        ("kubectl create quota small --hard=pods=2, --dry-run=client -o yaml", "", "error: Invalid argument syntax , expected <resource>=<value>\n", 1),
        ("kubectl create quota small --hard=a=b=c --dry-run=client -o yaml", "", "error: Invalid argument syntax a=b=c, expected <resource>=<value>\n", 1),
        ("kubectl create quota small --hard=pods=1mi --dry-run=client -o yaml", "", "error: unable to parse quantity's suffix\n", 1),
        ("kubectl create quota small --hard=\"pods= 1\" --dry-run=client -o yaml", "", "error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n", 1),
        ("kubectl create quota small --scopes=BestEffort, --dry-run=client -o yaml", "", "error: invalid resource quota scope \"\"\n", 1),
        ("kubectl create quota --hard=pods=2 --dry-run=client -o yaml", "", "error: exactly one NAME is required, got 0\nSee 'kubectl create quota -h' for help and examples\n", 1),
        ("kubectl create quota a b --dry-run=client -o yaml", "", "error: exactly one NAME is required, got 2\nSee 'kubectl create quota -h' for help and examples\n", 1),
        ("kubectl create quota \"\" --hard=pods --dry-run=client", "", "error: name must be specified\n", 1),
        ("kubectl create quota x --dry-run=client -o wide", "", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create quota x --dry-run=client -o custom-columns=A:.kind", "", "error: unable to match a printer suitable for the output format \"custom-columns=A:.kind\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create quota x --dry-run=client -o jsonpath", "", "error: template format specified but no template given\n", 1),
        ("kubectl create quota x --dry-run=client -o bogus --hard=pods", "", "error: unable to match a printer suitable for the output format \"bogus\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl create quota x --dry-run=bogus --hard=pods", "", "error: Invalid dry-run value (bogus). Must be \"none\", \"server\", or \"client\".\n", 1),
        ("kubectl create quota x --validate=bogus --hard=pods --dry-run=client", "", "error: invalid - validate option \"bogus\"; must be one of: strict (or true), warn, ignore (or false)\n", 1),
        ("kubectl create quota x --validate=True --dry-run=client", "resourcequota/x created (dry run)\n", "", 0),
        ("kubectl create quota x y --dry-run=bogus", "", "error: exactly one NAME is required, got 2\nSee 'kubectl create quota -h' for help and examples\n", 1),
        ("kubectl create quota x --bogus", "", "error: unknown flag: --bogus\nSee 'kubectl create quota --help' for usage.\n", 1),
        ("kubectl create priorityclass p --value=5 --description=hi --global-default --dry-run=client -o json --save-config", "{\n    \"kind\": \"PriorityClass\",\n    \"apiVersion\": \"scheduling.k8s.io/v1\",\n    \"metadata\": {\n        \"name\": \"p\",\n        \"creationTimestamp\": null,\n        \"annotations\": {\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"kind\\\":\\\"PriorityClass\\\",\\\"apiVersion\\\":\\\"scheduling.k8s.io/v1\\\",\\\"metadata\\\":{\\\"name\\\":\\\"p\\\",\\\"creationTimestamp\\\":null},\\\"value\\\":5,\\\"globalDefault\\\":true,\\\"description\\\":\\\"hi\\\",\\\"preemptionPolicy\\\":\\\"PreemptLowerPriority\\\"}\\n\"\n        }\n    },\n    \"value\": 5,\n    \"globalDefault\": true,\n    \"description\": \"hi\",\n    \"preemptionPolicy\": \"PreemptLowerPriority\"\n}\n", "", 0),
        ("kubectl create configmap c --from-literal=a=1 -n q --dry-run=client -o json", "{\n    \"kind\": \"ConfigMap\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"c\",\n        \"namespace\": \"q\",\n        \"creationTimestamp\": null\n    },\n    \"data\": {\n        \"a\": \"1\"\n    }\n}\n", "", 0),

    ];
    let mut c = cluster();
    for (line, stdout, stderr, code) in cases {
        let out = k(&mut c, line);
        assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.exit_code), (*stdout, *stderr, *code), "{line}");
    }
}

#[test]
fn create_quota_goes_through_the_api_server() {
    let mut c = cluster();
    k(&mut c, "kubectl create namespace q");
    let out = k(&mut c, "kubectl create quota small --hard=pods=2,requests.cpu=500m,limits.memory=1Gi --scopes=NotTerminating -n q");
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("resourcequota/small created\n", ""));
    let quotas = crate::engine::api::find_resource("", "resourcequotas").unwrap();
    let Object::ResourceQuota(q) = &*c.sim.api.get(quotas, "q", "small").unwrap() else { panic!() };
    let spec = q.spec.clone().unwrap();
    let hard: Vec<(String, String)> = spec.hard.unwrap().into_iter().map(|(k, v)| (k, v.0)).collect();
    assert_eq!(hard, [("limits.memory", "1Gi"), ("pods", "2"), ("requests.cpu", "500m")].map(|(k, v)| (k.to_string(), v.to_string())));
    assert_eq!(spec.scopes, Some(vec!["NotTerminating".to_string()]));
    let out = k(&mut c, "kubectl create quota small --hard=pods=1 -n q");
    assert_eq!((out.stderr.as_str(), out.exit_code), ("error: failed to create quota: resourcequotas \"small\" already exists\n", 1));
    let out = k(&mut c, "kubectl create quota other --hard=pods=1 -n q --dry-run=server");
    assert_eq!(out.stdout, "resourcequota/other created (server dry run)\n");
    assert!(c.sim.api.get(quotas, "q", "other").is_err());
    let out = k(&mut c, "kubectl create quota x -n nope");
    assert_eq!(out.stderr, "error: failed to create quota: namespaces \"nope\" not found\n");
    let out = k(&mut c, "kubectl get quota -n q");
    assert!(out.stdout.starts_with("NAME    REQUEST"), "{}", out.stdout);
    let out = k(&mut c, "kubectl describe quota small -n q");
    assert!(
        out.stdout.starts_with("Name:       small\nNamespace:  q\nScopes:     NotTerminating\n * Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.\nResource"),
        "{}",
        out.stdout
    );
    let out = k(&mut c, "kubectl describe resourcequota -n q");
    assert!(out.stdout.starts_with("Name:       small\n"), "{}", out.stdout);
    let out = k(&mut c, "kubectl describe ns q");
    assert!(out.stdout.contains("\nResource Quotas\n  Name:"), "{}", out.stdout);
}

#[test]
fn the_servers_warnings_print_before_the_outcome_of_the_request_that_got_them() {
    let mut c = cluster();
    k(&mut c, "create namespace watched");
    k(&mut c, "label namespace watched pod-security.kubernetes.io/warn=baseline");
    let two = "apiVersion: v1
kind: Pod
metadata: {name: a, namespace: watched}
spec:
  hostNetwork: true
  containers: [{name: app, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: watched}
spec:
  containers: [{name: app, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: watched}
spec:
  hostPID: true
  containers: [{name: app, image: nginx}]
";
    let out = kf(&mut c, "apply -f pods.yaml", &[("pods.yaml", two)]);
    assert_eq!(out.exit_code, 0, "{}", out.combined());
    assert_eq!(
        out.combined(),
        "Warning: would violate PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)\n\
         pod/a created\n\
         pod/b created\n\
         Warning: would violate PodSecurity \"baseline:latest\": host namespaces (hostPID=true)\n\
         pod/c created\n"
    );
    assert_eq!(out.stdout, "pod/a created\npod/b created\npod/c created\n");
    // One command prints a warning once, as kubectl's deduplicating writer does.
    let out = k(&mut c, "run d -n watched --image=nginx --overrides='{\"spec\":{\"hostNetwork\":true}}'");
    assert_eq!(out.combined(), "Warning: would violate PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)\npod/d created\n");
    // Scaling writes the scale subresource: no warning about the template.
    k(&mut c, "create deployment web -n watched --image=nginx");
    k(&mut c, "patch deployment web -n watched -p '{\"spec\":{\"template\":{\"spec\":{\"hostIPC\":true}}}}'");
    let out = k(&mut c, "scale deployment web -n watched --replicas=2");
    assert_eq!(out.combined(), "deployment.apps/web scaled\n");
}

#[test]
fn drain_of_a_node_that_does_not_exist_stops_before_cordoning_any() {
    let mut c = cluster();
    let out = k(&mut c, "drain nosuch");
    assert_eq!((out.exit_code, out.combined()), (1, "Error from server (NotFound): nodes \"nosuch\" not found\n".to_string()));
    let out = k(&mut c, "drain minikube nosuch --ignore-daemonsets");
    assert_eq!((out.exit_code, out.combined()), (1, "Error from server (NotFound): nodes \"nosuch\" not found\n".to_string()));
    let Ok(node) = c.sim.api.get(ids::nodes(), "", "minikube") else { panic!("minikube is a node") };
    let Object::Node(node) = &*node else { panic!("a node") };
    assert_eq!(node.spec.as_ref().and_then(|s| s.unschedulable), None, "nothing was cordoned");
}

#[test]
fn a_deprecated_kind_gets_the_servers_deprecation_warning() {
    let mut c = cluster();
    let out = k(&mut c, "get endpoints -n kube-system -o name");
    assert!(out.combined().starts_with("Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"), "{}", out.combined());
    assert!(!out.stdout.contains("Warning"), "warnings go to stderr");
    let out = k(&mut c, "get endpointslices -n kube-system -o name");
    assert!(!out.combined().contains("Warning"), "{}", out.combined());
    let out = k(&mut c, "get componentstatuses");
    assert!(out.combined().starts_with("Warning: v1 ComponentStatus is deprecated in v1.19+\n"), "{}", out.combined());
}

#[test]
fn component_statuses_are_the_control_planes_health_at_each_request() {
    const WARNING: &str = "Warning: v1 ComponentStatus is deprecated in v1.19+\n";
    let mut c = cluster();
    let out = k(&mut c, "get cs");
    assert_eq!(
        (out.exit_code, out.combined()),
        (
            0,
            format!(
                "{WARNING}NAME                 STATUS    MESSAGE   ERROR\n\
                 scheduler            Healthy   ok        \n\
                 controller-manager   Healthy   ok        \n\
                 etcd-0               Healthy   ok        \n"
            )
        )
    );
    let health = r#"get cs -o jsonpath='{range .items[*]}{.metadata.name}={.conditions[0].status}:{.conditions[0].message}{"\n"}{end}'"#;
    c.sim.stop("scheduler").expect("stops");
    let out = k(&mut c, health);
    assert_eq!(
        out.stdout,
        "scheduler=False:Get \"https://127.0.0.1:10259/healthz\": dial tcp 127.0.0.1:10259: connect: connection refused\ncontroller-manager=True:ok\netcd-0=True:ok\n"
    );
    c.sim.start("scheduler").expect("starts");
    c.sim.stop("controller-manager").expect("stops");
    let out = k(&mut c, health);
    assert_eq!(
        out.stdout,
        "scheduler=True:ok\ncontroller-manager=False:Get \"https://127.0.0.1:10257/healthz\": dial tcp 127.0.0.1:10257: connect: connection refused\netcd-0=True:ok\n"
    );
    // Made for each request, never stored.
    let (revision, writes) = (c.sim.api.store().revision(), c.sim.api.writes);
    let out = k(&mut c, "get cs controller-manager -o jsonpath={.metadata}");
    assert_eq!(out.stdout, "{\"creationTimestamp\":null,\"name\":\"controller-manager\"}");
    assert_eq!((c.sim.api.store().revision(), c.sim.api.writes), (revision, writes));
}

#[test]
fn component_statuses_can_only_be_read() {
    const WARNING: &str = "Warning: v1 ComponentStatus is deprecated in v1.19+\n";
    let mut c = cluster();
    let out = k(&mut c, "get cs nosuch");
    assert_eq!((out.exit_code, out.combined()), (1, format!("{WARNING}Error from server: Component not found: nosuch\n")));
    let out = k(&mut c, "describe cs etcd-0 nosuch");
    assert_eq!(out.exit_code, 1);
    assert!(out.stdout.starts_with("Name:         etcd-0\nNamespace:    \n"), "{}", out.stdout);
    assert!(out.stderr.ends_with("Error from server: Component not found: nosuch\n"), "{}", out.stderr);
    let out = k(&mut c, "get cs etcd-0 -w");
    assert_eq!(
        (out.exit_code, out.combined()),
        (
            1,
            format!(
                "{WARNING}NAME     STATUS    MESSAGE   ERROR\netcd-0   Healthy   ok        \n\
                 Error from server (MethodNotAllowed): watch is not supported on resources of kind \"componentstatuses\"\n"
            )
        )
    );
    let revision = c.sim.api.store().revision();
    let manifest = "apiVersion: v1\nkind: ComponentStatus\nmetadata:\n  name: scheduler\nconditions:\n- type: Healthy\n  status: \"False\"\n";
    let out = kf(&mut c, "create -f cs.yaml", &[("cs.yaml", manifest)]);
    assert_eq!(
        (out.exit_code, out.combined()),
        (1, "Error from server (MethodNotAllowed): error when creating \"cs.yaml\": the server does not allow this method on the requested resource\n".to_string())
    );
    let out = k(&mut c, "delete cs scheduler");
    assert_eq!(
        (out.exit_code, out.combined()),
        (1, "Error from server (MethodNotAllowed): the server does not allow this method on the requested resource\n".to_string())
    );
    assert_eq!(c.sim.api.store().revision(), revision, "nothing was written");
    let out = k(&mut c, "get cs scheduler -o jsonpath={.conditions[0].status}");
    assert_eq!(out.stdout, "True");
}

#[test]
fn the_kubernetes_service_has_the_api_servers_endpoints() {
    let mut c = cluster();
    let out = k(&mut c, "get endpointslices kubernetes -o jsonpath={.endpoints[0].addresses[0]}:{.ports[0].port}");
    assert_eq!(out.stdout, "192.168.49.2:8443");
    let out = k(&mut c, "describe svc kubernetes");
    assert!(out.stdout.contains("Endpoints:                192.168.49.2:8443\n"), "{}", out.stdout);
}

#[test]
fn set_image_to_the_image_it_has_writes_and_prints_nothing() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx:1.27");
    let version = |c: &mut Cluster| c.sim.api.get(ids::deployments(), "default", "web").unwrap().meta().generation;
    let before = version(&mut c);
    let same = k(&mut c, "kubectl set image deployment/web nginx=nginx:1.27");
    assert_eq!((same.stdout.as_str(), same.stderr.as_str(), same.exit_code), ("", "", 0));
    assert_eq!(version(&mut c), before);
    let changed = k(&mut c, "kubectl set image deployment/web nginx=nginx:1.28");
    assert_eq!(changed.stdout, "deployment.apps/web image updated\n");
    assert_ne!(version(&mut c), before);
}
