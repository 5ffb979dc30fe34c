//! `kubectl set env|resources|serviceaccount` against kubectl 1.33: the
//! `--local` cases are kubectl's own output for the same file, byte for
//! byte; the rest drive the API server.

use k8s_openapi::api::core::v1::PodSpec;

use crate::engine::api::{ids, Object};
use crate::engine::cluster::Cluster;
use crate::engine::kubectl::verbs::write_tests::{cluster, k, kf, Files};
use crate::engine::kubectl::{self, Output};

/// A Deployment (with an init container and a ConfigMap reference) and a
/// Service, as the `--local` cases read them.
const LOCAL: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      initContainers:\n      - name: init\n        image: busybox\n      containers:\n      - name: nginx\n        image: nginx\n        env:\n        - {name: OLD, value: one}\n        - name: CM\n          valueFrom:\n            configMapKeyRef: {name: cfg, key: k1}\n        resources:\n          limits: {cpu: 500m}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n";

#[test]
fn local_changes_match_kubectl_1_33() {
    let cases: &[(&str, &str, &str, i32)] = &[
        ("kubectl set env --local -f d.yaml -l app=web A=b -o yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: web\n    spec:\n      containers:\n      - env:\n        - name: OLD\n          value: one\n        - name: CM\n          valueFrom:\n            configMapKeyRef:\n              key: k1\n              name: cfg\n        - name: A\n          value: b\n        image: nginx\n        name: nginx\n        resources:\n          limits:\n            cpu: 500m\n      initContainers:\n      - env:\n        - name: A\n          value: b\n        image: busybox\n        name: init\n        resources: {}\nstatus: {}\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml -l app=web -c ngin* OLD- NEW=1 -o json", "{\n    \"kind\": \"Deployment\",\n    \"apiVersion\": \"apps/v1\",\n    \"metadata\": {\n        \"name\": \"web\",\n        \"creationTimestamp\": null\n    },\n    \"spec\": {\n        \"selector\": {\n            \"matchLabels\": {\n                \"app\": \"web\"\n            }\n        },\n        \"template\": {\n            \"metadata\": {\n                \"creationTimestamp\": null,\n                \"labels\": {\n                    \"app\": \"web\"\n                }\n            },\n            \"spec\": {\n                \"initContainers\": [\n                    {\n                        \"name\": \"init\",\n                        \"image\": \"busybox\",\n                        \"resources\": {}\n                    }\n                ],\n                \"containers\": [\n                    {\n                        \"name\": \"nginx\",\n                        \"image\": \"nginx\",\n                        \"env\": [\n                            {\n                                \"name\": \"CM\",\n                                \"valueFrom\": {\n                                    \"configMapKeyRef\": {\n                                        \"name\": \"cfg\",\n                                        \"key\": \"k1\"\n                                    }\n                                }\n                            },\n                            {\n                                \"name\": \"NEW\",\n                                \"value\": \"1\"\n                            }\n                        ],\n                        \"resources\": {\n                            \"limits\": {\n                                \"cpu\": \"500m\"\n                            }\n                        }\n                    }\n                ]\n            }\n        },\n        \"strategy\": {}\n    },\n    \"status\": {}\n}\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml -l app=web A=b", "deployment.apps/web env updated\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml -l app=web A=b --dry-run=client -o name", "deployment.apps/web\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml -l app=web OLD=one -c nginx", "", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml -l app=web -c nope A=b", "", "Warning: Deployment/web does not have any containers matching \"nope\"\nerror: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set env --local -f d.yaml --list NEW=1", "# Deployment web, container nginx\nOLD=one\n# CM from configmap cfg, key k1\nNEW=1\n# Deployment web, container init\nNEW=1\n", "", 0),
        ("kubectl set env --local -f d.yaml -l app=web OLD=two --overwrite=false", "", "error: deployment.apps/web\n 'OLD' already has a value (one), and --overwrite is false\n\nerror: service/svc the object is not a pod or does not have a pod template: *v1.Service\n\n", 1),
        ("kubectl set env --local -f d.yaml 1A=b", "", "error: \"1A\" is not a valid key name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')\n", 1),
        ("kubectl set env --local -f d.yaml A=b A-", "", "error: can not both modify and remove the same environment variable in the same command\n", 1),
        ("kubectl set env --local -f d.yaml A=b deploy/web", "", "error: all resources must be specified before environment changes: A=b deploy/web\n", 1),
        ("kubectl set env --local -f d.yaml -e bogus", "", "error: unknown environment variable: bogus\n", 1),
        ("kubectl set env --local -f d.yaml --keys=a", "", "error: when specifying --keys, a configmap or secret must be provided with --from\n", 1),
        ("kubectl set env --local -f d.yaml --list -o yaml", "", "error: --list and --output may not be specified together\n", 1),
        ("kubectl set env --local -f d.yaml --all -l a=b", "", "error: cannot set --all and --selector at the same time\n", 1),
        ("kubectl set env", "", "error: one or more resources must be specified as <resource> <name> or <resource>/<name>\n", 1),
        ("kubectl set env --local -f d.yaml A=b --dry-run=server", "", "error: cannot specify --local and --dry-run=server - did you mean --dry-run=client?\n", 1),
        ("kubectl set env --local -f d.yaml A=b -o wide", "", "error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n", 1),
        ("kubectl set resources --local -f d.yaml -l app=web --limits=cpu=0,memory=0 --requests=cpu=100m -o yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: web\n    spec:\n      containers:\n      - env:\n        - name: OLD\n          value: one\n        - name: CM\n          valueFrom:\n            configMapKeyRef:\n              key: k1\n              name: cfg\n        image: nginx\n        name: nginx\n        resources:\n          limits:\n            cpu: \"0\"\n            memory: \"0\"\n          requests:\n            cpu: 100m\n      initContainers:\n      - image: busybox\n        name: init\n        resources:\n          limits:\n            cpu: \"0\"\n            memory: \"0\"\n          requests:\n            cpu: 100m\nstatus: {}\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set resources --local -f d.yaml -l app=web --limits=cpu=0.5 -c nginx", "", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set resources --local -f d.yaml -l app=web --limits=cpu=1 -c nope", "", "error: unable to find container named nope\nerror: service/svc the object is not a pod or does not have a pod template: *v1.Service\n\n", 1),
        ("kubectl set resources --local -f d.yaml --limits=cpu=abc", "", "error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n", 1),
        ("kubectl set resources --local -f d.yaml --limits=cpu", "", "error: Invalid argument syntax cpu, expected <resource>=<value>\n", 1),
        ("kubectl set resources --local -f d.yaml --limits=cpu=1Qi", "", "error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n", 1),
        ("kubectl set resources --local -f d.yaml", "", "error: you must specify an update to requests or limits (in the form of --requests/--limits)\n", 1),
        ("kubectl set resources deploy/web --limits=cpu=1 --local", "", "error: you must specify resources by --filename when --local is set.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n", 1),
        ("kubectl set resources --local -f d.yaml --limits=memory=1Gi -o name", "deployment.apps/web\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set sa --local -f d.yaml sa1 -o yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: web\n    spec:\n      containers:\n      - env:\n        - name: OLD\n          value: one\n        - name: CM\n          valueFrom:\n            configMapKeyRef:\n              key: k1\n              name: cfg\n        image: nginx\n        name: nginx\n        resources:\n          limits:\n            cpu: 500m\n      initContainers:\n      - image: busybox\n        name: init\n        resources: {}\n      serviceAccountName: sa1\nstatus: {}\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set sa --local -f d.yaml sa1", "deployment.apps/web serviceaccount updated\n", "error: service/svc the object is not a pod or does not have a pod template: *v1.Service\n", 1),
        ("kubectl set sa --local -f d.yaml", "", "error: serviceaccount is required\n", 1),
        ("kubectl set sa --local x", "", "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n", 1),
    ];
    let mut c = cluster();
    for (line, stdout, stderr, code) in cases {
        let out = kf(&mut c, line, &[("d.yaml", LOCAL)]);
        assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.exit_code), (*stdout, *stderr, *code), "{line}");
    }
}

fn template(c: &Cluster) -> PodSpec {
    let Object::Deployment(d) = &*c.sim.api.get(ids::deployments(), "default", "web").unwrap() else { panic!() };
    d.spec.as_ref().unwrap().template.spec.clone().unwrap()
}

fn env_of(c: &Cluster, container: usize) -> Vec<(String, String)> {
    template(c).containers[container]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_else(|| format!("{:?}", e.value_from.as_ref().unwrap()))))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn expect(out: &Output, stdout: &str, stderr: &str, code: i32) {
    assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.exit_code), (stdout, stderr, code));
}

#[test]
fn set_env_updates_lists_and_skips_what_is_unchanged() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    expect(&k(&mut c, "kubectl set env deploy/web A=b C=d"), "deployment.apps/web env updated\n", "", 0);
    assert_eq!(env_of(&c, 0), pairs(&[("A", "b"), ("C", "d")]));
    // Nothing to change: kubectl's patch is empty, and it prints nothing.
    expect(&k(&mut c, "kubectl set env deployment web A=b"), "", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web A=x C- -o name"), "deployment.apps/web\n", "", 0);
    assert_eq!(env_of(&c, 0), pairs(&[("A", "x")]));
    expect(&k(&mut c, "kubectl set env deploy/web --list"), "# Deployment web, container nginx\nA=x\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web --list B=1"), "# Deployment web, container nginx\nA=x\nB=1\n", "", 0);
    assert_eq!(env_of(&c, 0), pairs(&[("A", "x")]), "--list writes nothing");
    expect(&k(&mut c, "kubectl set env deploy/web A=y --dry-run=client"), "deployment.apps/web env updated (dry run)\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web A=y --dry-run=server"), "deployment.apps/web env updated (server dry run)\n", "", 0);
    assert_eq!(env_of(&c, 0), pairs(&[("A", "x")]));
    expect(&k(&mut c, "kubectl set env deploy/web A=y --overwrite=false"), "", "error: deployments/web 'A' already has a value (x), and --overwrite is false\n", 1);
    expect(&k(&mut c, "kubectl set env deploy/web -c side* A=y"), "", "Warning: Deployment/web does not have any containers matching \"side*\"\n", 0);
    // `-e KEY-` alone: set_env.go patches, then finds no variable given.
    expect(&k(&mut c, "kubectl set env deploy/web -e A-"), "", "error: at least one environment variable must be provided\n", 1);
    assert_eq!(env_of(&c, 0), vec![]);
    let out = kubectl::run(&mut c, "kubectl set env deploy/web -e -", Some("X=1 # note\nY=2\n"), &Files(Default::default()));
    expect(&out, "deployment.apps/web env updated\n", "", 0);
    assert_eq!(env_of(&c, 0), pairs(&[("X", "1 "), ("Y", "2")]));
}

#[test]
fn set_env_from_a_config_map_or_secret_adds_one_reference_per_key() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    k(&mut c, "kubectl create configmap cfg --from-literal=db.host=h --from-literal=port=5432");
    k(&mut c, "kubectl create secret generic sec --from-literal=pw=s3cret --from-literal=user=u");
    expect(&k(&mut c, "kubectl set env deploy/web --from=configmap/cfg --prefix=APP_"), "deployment.apps/web env updated\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web --from=secret/sec --keys=pw"), "deployment.apps/web env updated\n", "", 0);
    let env = template(&c).containers[0].env.clone().unwrap();
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["APP_DB_HOST", "APP_PORT", "PW"]);
    let cm = env[0].value_from.as_ref().unwrap().config_map_key_ref.as_ref().unwrap();
    assert_eq!((cm.name.as_str(), cm.key.as_str()), ("cfg", "db.host"));
    let secret = env[2].value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
    assert_eq!((secret.name.as_str(), secret.key.as_str()), ("sec", "pw"));
    expect(
        &k(&mut c, "kubectl set env deploy/web --list"),
        "# Deployment web, container nginx\n# APP_DB_HOST from configmap cfg, key db.host\n# APP_PORT from configmap cfg, key port\n# PW from secret sec, key pw\n",
        "",
        0,
    );
    expect(&k(&mut c, "kubectl set env deploy/web --list --resolve"), "# Deployment web, container nginx\nAPP_DB_HOST=h\nAPP_PORT=5432\nPW=s3cret\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web --from=deploy/web"), "", "error: unsupported resource specified in --from\n", 1);
    expect(&k(&mut c, "kubectl set env deploy/web --from=configmap/nope"), "", "Error from server (NotFound): configmaps \"nope\" not found\n", 1);
}

#[test]
fn set_env_reports_objects_as_kubectl_does() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    expect(&k(&mut c, "kubectl set env deploy/web deploy/nope A=b"), "", "Error from server (NotFound): deployments.apps \"nope\" not found\n", 1);
    assert_eq!(env_of(&c, 0), vec![], "a missing object stops the command before any change");
    expect(
        &k(&mut c, "kubectl set env svc/kubernetes A=b"),
        "",
        "error: services/kubernetes the object is not a pod or does not have a pod template: *v1.Service\n",
        1,
    );
    expect(&k(&mut c, "kubectl set env deploy/web -l app=web A=b"), "", "error: selectors and the all flag cannot be used when passing resource/name arguments\n", 1);
    expect(&k(&mut c, "kubectl set env deploy -l app=web A=b"), "deployment.apps/web env updated\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy A=b"), "", "error: resource(s) were provided, but no name was specified\n", 1);
    expect(&k(&mut c, "kubectl set env deploy --all C=d"), "deployment.apps/web env updated\n", "", 0);
    expect(&k(&mut c, "kubectl set env deploy/web --bogus"), "", "error: unknown flag: --bogus\nSee 'kubectl set env --help' for usage.\n", 1);
}

#[test]
fn set_resources_sets_quantities_and_zero_is_a_value() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    let line = "kubectl set resources deploy/web --limits=cpu=200m,memory=512Mi --requests=cpu=0.1";
    expect(&k(&mut c, line), "deployment.apps/web resource requirements updated\n", "", 0);
    expect(&k(&mut c, line), "", "", 0);
    let resources = template(&c).containers[0].resources.clone().unwrap();
    let list = |m: Option<std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
        m.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect::<Vec<_>>()
    };
    assert_eq!(list(resources.limits), vec![("cpu".to_string(), "200m".to_string()), ("memory".to_string(), "512Mi".to_string())]);
    assert_eq!(list(resources.requests), vec![("cpu".to_string(), "100m".to_string())]);
    // `cpu=0` writes a zero limit (which the request must then fit under).
    let out = k(&mut c, "kubectl set resources deploy/web --limits=cpu=0");
    assert!(out.stderr.starts_with("error: failed to patch resources update to pod template Deployment.apps \"web\" is invalid: "), "{}", out.stderr);
    expect(&k(&mut c, "kubectl set resources deploy/web --limits=cpu=0 --requests=cpu=0 -o name"), "deployment.apps/web\n", "", 0);
    let resources = template(&c).containers[0].resources.clone().unwrap();
    assert_eq!(list(resources.limits)[0], ("cpu".to_string(), "0".to_string()));
    expect(&k(&mut c, "kubectl set resources deploy/web -c nope --limits=cpu=1"), "", "error: unable to find container named nope\n", 1);
    expect(&k(&mut c, "kubectl set resources deploy/web --limits=cpu=1Qi"), "", "error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n", 1);
    expect(&k(&mut c, "kubectl set resources deploy/web --limits=cpu=2 --requests=cpu=1 --dry-run=server"), "deployment.apps/web resource requirements updated (server dry run)\n", "", 0);
}

#[test]
fn set_serviceaccount_reports_even_an_unchanged_object() {
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    expect(&k(&mut c, "kubectl set serviceaccount deploy/web builder"), "deployment.apps/web serviceaccount updated\n", "", 0);
    let version = c.sim.api.get(ids::deployments(), "default", "web").unwrap().meta().resource_version.clone();
    expect(&k(&mut c, "kubectl set sa deployment web builder"), "deployment.apps/web serviceaccount updated\n", "", 0);
    assert_eq!(c.sim.api.get(ids::deployments(), "default", "web").unwrap().meta().resource_version, version, "an empty patch writes nothing");
    assert_eq!(template(&c).service_account_name.as_deref(), Some("builder"));
    expect(&k(&mut c, "kubectl set sa deploy/web"), "", "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n", 1);
    expect(&k(&mut c, "kubectl set sa cm/kube-root-ca.crt x"), "", "error: configmaps/kube-root-ca.crt the object is not a pod or does not have a pod template: *v1.ConfigMap\n", 1);
}

#[test]
fn random_set_lines_never_panic() {
    const WORDS: &[&str] = &[
        "set", "env", "resources", "sa", "serviceaccount", "image", "deploy/web", "deploy", "web", "svc/kubernetes", "pod/", "A=b", "A-", "-",
        "=", "=x", "a$b=c", "..", "-e", "-c", "*", "ng*", "*x*y", "--list", "--resolve", "--overwrite=false", "--all", "-l", "app=web",
        "--from=configmap/cfg", "--from=secret/", "--from=deploy/web", "--keys=a,,b", "--prefix=P_", "--limits=cpu=1", "--limits=cpu",
        "--requests=memory=1Gi,cpu=0", "--limits=cpu=1e400", "--local", "-f", "d.yaml", "--dry-run=client", "--dry-run=server", "-o",
        "yaml", "json", "name", "jsonpath={.x", "jsonpath={.metadata.name}", "\u{1F600}", "'", "\"",
    ];
    let mut c = cluster();
    k(&mut c, "kubectl create deployment web --image=nginx");
    k(&mut c, "kubectl create configmap cfg --from-literal=a=1");
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..600 {
        let n = rng.usize(1..8);
        let words: Vec<&str> = (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
        let line = format!("kubectl set {}", words.join(" "));
        let stdin = if rng.bool() { Some("X=1\nY\n#Z=2\n") } else { None };
        let files = Files([("d.yaml".to_string(), LOCAL.to_string())].into_iter().collect());
        let _ = kubectl::run(&mut c, &line, stdin, &files);
    }
}
