//! Informational verbs: `version`, `cluster-info`, `api-resources`,
//! `api-versions`, `config`, `explain`, bare `kubectl`, and the verbs that
//! would need a real container (`exec`, `attach`, `cp`, `port-forward`,
//! `edit`, `top`).

use crate::engine::sort::SortStable;
use crate::engine::api::{resource, RESOURCES};
use crate::engine::kubectl::discovery::{discovered, Discovered};
use crate::engine::kubectl::printers::{self, tabwriter::TABLE, OutputFormat};
use crate::engine::kubectl::{Error, Result, Session};

use super::get::resolve;

/// `kubectl` with no arguments: kubectl 1.33.1's own help text.
const HELP: &str = r#"kubectl controls the Kubernetes cluster manager.

 Find more information at: https://kubernetes.io/docs/reference/kubectl/

Basic Commands (Beginner):
  create          Create a resource from a file or from stdin
  expose          Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service
  run             Run a particular image on the cluster
  set             Set specific features on objects

Basic Commands (Intermediate):
  explain         Get documentation for a resource
  get             Display one or many resources
  edit            Edit a resource on the server
  delete          Delete resources by file names, stdin, resources and names, or by resources and label selector

Deploy Commands:
  rollout         Manage the rollout of a resource
  scale           Set a new size for a deployment, replica set, or replication controller
  autoscale       Auto-scale a deployment, replica set, stateful set, or replication controller

Cluster Management Commands:
  certificate     Modify certificate resources
  cluster-info    Display cluster information
  top             Display resource (CPU/memory) usage
  cordon          Mark node as unschedulable
  uncordon        Mark node as schedulable
  drain           Drain node in preparation for maintenance
  taint           Update the taints on one or more nodes

Troubleshooting and Debugging Commands:
  describe        Show details of a specific resource or group of resources
  logs            Print the logs for a container in a pod
  attach          Attach to a running container
  exec            Execute a command in a container
  port-forward    Forward one or more local ports to a pod
  proxy           Run a proxy to the Kubernetes API server
  cp              Copy files and directories to and from containers
  auth            Inspect authorization
  debug           Create debugging sessions for troubleshooting workloads and nodes
  events          List events

Advanced Commands:
  diff            Diff the live version against a would-be applied version
  apply           Apply a configuration to a resource by file name or stdin
  patch           Update fields of a resource
  replace         Replace a resource by file name or stdin
  wait            Experimental: Wait for a specific condition on one or many resources
  kustomize       Build a kustomization target from a directory or URL

Settings Commands:
  label           Update the labels on a resource
  annotate        Update the annotations on a resource
  completion      Output shell completion code for the specified shell (bash, zsh, fish, or powershell)

Subcommands provided by plugins:

Other Commands:
  api-resources   Print the supported API resources on the server
  api-versions    Print the supported API versions on the server, in the form of "group/version"
  config          Modify kubeconfig files
  plugin          Provides utilities for interacting with plugins
  version         Print the client and server version information

Usage:
  kubectl [flags] [options]

Use "kubectl <command> --help" for more information about a given command.
Use "kubectl options" for a list of global command-line options (applies to all commands).
"#;

const CLIENT_VERSION_JSON: &str = r#""clientVersion": {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.1",
    "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T08:27:33Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64"
  },
  "kustomizeVersion": "v5.6.0""#;

const SERVER_VERSION_JSON: &str = r#""serverVersion": {
    "major": "1",
    "minor": "33",
    "emulationMajor": "1",
    "emulationMinor": "33",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.1",
    "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T08:19:41Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64"
  }"#;

pub fn run(s: &mut Session) -> Result {
    match s.args.command.as_str() {
        "version" => version(s),
        "cluster-info" => cluster_info(s),
        "cluster-info dump" => Err(Error::Message("error: cluster-info dump is not available in this simulator; use kubectl get and kubectl describe".to_string())),
        "api-resources" => api_resources(s),
        "api-versions" => api_versions(s),
        "explain" => explain(s),
        "config" => Err(Error::Message(config_help())),
        "config view" => config_view(s),
        "config current-context" => {
            let (context, _, _) = kubeconfig_names(s);
            s.out.push_str(&format!("{context}\n"));
            Ok(())
        }
        "config get-contexts" => {
            let (context, cluster, user) = kubeconfig_names(s);
            let mut text = String::new();
            if !s.args.flag("no-headers") {
                text.push_str("CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE\n");
            }
            text.push_str(&format!("*\t{context}\t{cluster}\t{user}\t{}\n", s.cluster.context_namespace));
            s.out.push_str(&TABLE.format(&text));
            Ok(())
        }
        "config set-context" => set_context(s),
        "config use-context" => {
            let (context, _, _) = kubeconfig_names(s);
            match s.args.positionals.as_slice() {
                [name] if *name == context => {
                    s.out.push_str(&format!("Switched to context {name:?}.\n"));
                    Ok(())
                }
                [name] if name.is_empty() => Err(Error::Message("error: empty context names are not allowed".to_string())),
                [name] => Err(Error::Message(format!("error: no context exists with the name: {name:?}"))),
                other => Err(Error::Message(format!("error: Unexpected args: [{}]", other.join(" ")))),
            }
        }
        other => Err(Error::Message(format!("error: \"kubectl {other}\" is not available in this simulator"))),
    }
}

/// `kubectl config set-context`: this kubeconfig has one context, whose
/// namespace can be changed; a new context, or another cluster or user,
/// is refused.
fn set_context(s: &mut Session) -> Result {
    let (context, cluster, user) = kubeconfig_names(s);
    let name = match s.args.positionals.as_slice() {
        [] => None,
        [name] => Some(name.clone()),
        other => return Err(Error::Message(format!("error: Unexpected args: [{}]", other.join(" ")))),
    };
    let current = s.args.flag("current");
    let name = match (name.filter(|n| !n.is_empty()), current) {
        (None, false) => return Err(Error::Message("error: you must specify a non-empty context name or --current".to_string())),
        (Some(_), true) => return Err(Error::Message("error: you cannot specify both a context name and --current".to_string())),
        (Some(name), false) => name,
        (None, true) => context.clone(),
    };
    if name != context {
        return Err(Error::Message(format!(
            "error: this cluster's kubeconfig has one context, {context:?}: set-context can change its namespace, not make {name:?}"
        )));
    }
    for (flag, kept) in [("cluster", &cluster), ("user", &user)] {
        if s.args.value(flag).is_some_and(|v| v != kept.as_str()) {
            return Err(Error::Message(format!("error: this cluster's kubeconfig has one {flag}, {kept:?}: set-context can change the context's namespace only")));
        }
    }
    if let Some(namespace) = s.args.value("namespace") {
        s.cluster.context_namespace = namespace.to_string();
    }
    s.out.push_str(&format!("Context {name:?} modified.\n"));
    Ok(())
}


pub fn help(s: &mut Session) -> Result {
    s.out.push_str(HELP);
    Ok(())
}

/// Verbs that need a container process or a terminal, which simulated
/// containers do not have.
pub fn simulated_only(s: &mut Session) -> Result {
    let verb = s.args.verb().to_string();
    let what = match verb.as_str() {
        "exec" => "run commands inside containers",
        "attach" => "attach to container processes",
        "cp" => "copy files to or from containers",
        "port-forward" => "forward ports to pods",
        "edit" => "open an editor; use kubectl apply, patch, set or scale instead",
        _ => "do this",
    };
    Err(Error::Message(format!("error: containers in this cluster are simulated, so kubectl {verb} cannot {what}")))
}

/// The API server's `/version` as `WriteRawJSON` indents it (no newline after).
pub fn server_version_json() -> String {
    SERVER_VERSION_JSON.trim_start_matches("\"serverVersion\": ").replace("\n  ", "\n")
}

/// `kubectl get --raw PATH` (`GetOptions.Complete`, `Validate`, then
/// `rawhttp.RawGet`, which copies the body as the server wrote it). The
/// health endpoints answer `ok` and `/version` the server's version as
/// `WriteRawJSON` indents it; other paths are refused as not simulated.
pub fn raw_get(s: &mut Session) -> Result {
    let path = s.args.value("raw").unwrap_or("").to_string();
    if !s.args.positionals.is_empty() {
        return Err(Error::Message("error: arguments may not be passed when --raw is specified".to_string()));
    }
    if s.args.flag("watch") || s.args.flag("watch-only") || s.args.value("selector").is_some_and(|l| !l.is_empty()) {
        return Err(Error::Message("error: --raw may not be specified with other flags that filter the server request or alter the output".to_string()));
    }
    if s.args.value("output").is_some_and(|o| !o.is_empty()) {
        return Err(Error::Message("error: --raw and --output are mutually exclusive".to_string()));
    }
    // `url.ParseRequestURI`: an absolute path (or an absolute URL).
    if !path.starts_with('/') && !path.contains("://") {
        return Err(Error::Message(format!("error: --raw must be a valid URL path: parse {path:?}: invalid URI for request")));
    }
    let (route, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    let body = match route {
        "/healthz" | "/livez" | "/readyz" if query.is_empty() => "ok".to_string(),
        "/version" => server_version_json(),
        // Objects, lists and the pod and Service proxies, as `kubectl proxy` serves them.
        api if api == "/api" || api.starts_with("/api/") || api.starts_with("/apis/") => return raw_api_get(s, &path),
        _ => {
            return Err(Error::Message(format!(
                "error: get --raw {path} is not part of this simulation: it serves /healthz, /livez, /readyz, /version and objects under /api and /apis (the health checks' per-check lists, ?verbose, are not simulated)"
            )))
        }
    };
    s.cluster.sim.api.list(&crate::engine::apiserver::Query::all(crate::engine::api::ids::namespaces())).map_err(Error::Api)?;
    s.out.push_str(&body);
    Ok(())
}

/// `rawhttp.RawGet` of an API path: the body as the server wrote it, or,
/// for a failure, the error `req.Stream` makes of it (the `Status`'s
/// reason and message; a body that is not one is a NotFound).
fn raw_api_get(s: &mut Session, path: &str) -> Result {
    let cluster = &mut *s.cluster;
    cluster.sim.api.list(&crate::engine::apiserver::Query::all(crate::engine::api::ids::namespaces())).map_err(Error::Api)?;
    let now = cluster.sim.now();
    let loopback = crate::engine::learner_proxy::Loopback::new(&cluster.sim.api, &cluster.learner_proxies, &cluster.profile);
    let (response, took) = loopback.kubectl_get(&mut cluster.sim.world, path, now);
    if took > 0 {
        cluster.sim.run_for_ms(took.min(crate::engine::network::ConnectError::TimedOut.wait_ms()));
    }
    if (200..300).contains(&response.status) {
        s.out.push_str(&response.body);
        return Ok(());
    }
    let status: serde_json::Value = serde_json::from_str(&response.body).unwrap_or_default();
    let text = |key: &str| status.get(key).and_then(serde_json::Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
    let message = match (text("kind").as_deref(), text("reason"), text("message")) {
        (Some("Status"), Some(reason), Some(message)) => format!("Error from server ({reason}): {message}"),
        _ => "Error from server (NotFound): the server could not find the requested resource".to_string(),
    };
    Err(Error::Message(message))
}

fn version(s: &mut Session) -> Result {
    let client_only = s.args.flag("client");
    let reachable: Result = if client_only {
        Ok(())
    } else {
        s.cluster.sim.api.list(&crate::engine::apiserver::Query::all(crate::engine::api::ids::namespaces())).map(|_| ()).map_err(Error::Api)
    };
    match s.args.value("output") {
        None | Some("") => {
            s.out.push_str("Client Version: v1.33.1\nKustomize Version: v5.6.0\n");
            if !client_only {
                reachable?;
                s.out.push_str("Server Version: v1.33.1\n");
            }
            Ok(())
        }
        Some(format @ ("json" | "yaml")) => {
            let server_ok = !client_only && reachable.is_ok();
            let mut json = format!("{{\n  {CLIENT_VERSION_JSON}");
            if server_ok {
                json.push_str(&format!(",\n  {SERVER_VERSION_JSON}"));
            }
            json.push_str("\n}\n");
            if format == "json" {
                s.out.push_str(&json);
            } else {
                let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                s.out.push_str(&printers::to_yaml(&value));
            }
            if !client_only {
                reachable?;
            }
            Ok(())
        }
        Some(other) => Err(Error::Message(format!("error: --output must be 'yaml' or 'json', got {other}"))),
    }
}

fn cluster_info(s: &mut Session) -> Result {
    let server = format!("https://{}", s.server());
    let dns = s.cluster.sim.api.get(crate::engine::api::ids::services(), "kube-system", "kube-dns");
    if let Err(e) = &dns {
        if e.reason != crate::engine::api::Reason::NotFound {
            // kubectl says the same in its own words when the API server cannot be reached.
            s.err.push_str("\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n");
            return Err(Error::Api(e.clone()));
        }
    }
    s.out.push_str(&format!("Kubernetes control plane is running at {server}\n"));
    if dns.is_ok() {
        s.out.push_str(&format!("CoreDNS is running at {server}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n"));
    }
    s.out.push_str("\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n");
    Ok(())
}

/// `kubectl api-resources`, as 1.33's `RunAPIResources` filters, sorts and
/// prints discovery.
fn api_resources(s: &mut Session) -> Result {
    if !s.args.positionals.is_empty() {
        return Err(Error::Message(format!(
            "error: unexpected arguments: [{}]\nSee 'kubectl api-resources -h' for help and examples",
            s.args.positionals.join(" ")
        )));
    }
    let output = s.args.value("output").unwrap_or("").to_string();
    if !matches!(output.as_str(), "" | "wide" | "name") {
        return Err(Error::Message(format!("error: --output {output} is not available")));
    }
    let sort_by = s.args.value("sort-by").unwrap_or("").to_string();
    if !matches!(sort_by.as_str(), "" | "name" | "kind") {
        return Err(Error::Message("error: --sort-by accepts only name or kind".to_string()));
    }
    let namespaced = match s.args.value("namespaced") {
        None => None,
        Some(v) => Some(crate::engine::kubectl::args::parse_go_bool(v).ok_or_else(|| {
            Error::Usage(format!("invalid argument \"{v}\" for \"--namespaced\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"))
        })?),
    };
    let verbs = s.args.string_slice("verbs").map_err(Error::Usage)?;
    let categories = s.args.string_slice("categories").map_err(Error::Usage)?;
    let group = s.args.value("api-group").map(str::to_string);
    let mut list: Vec<Discovered> = discovered()
        .into_iter()
        .filter(|d| namespaced.is_none_or(|n| d.namespaced == n))
        .filter(|d| group.as_ref().is_none_or(|g| d.group == g))
        .filter(|d| verbs.iter().all(|v| d.verbs.contains(&v.as_str())))
        .filter(|d| categories.iter().all(|c| d.categories.contains(&c.as_str())))
        .collect();
    // Discovery is asked afresh (no `--cached` here): with the API server
    // down, kubectl prints its table's header over no rows, then the error.
    let discovery = s.cluster.sim.api.serving();
    if discovery.is_err() {
        list.clear();
    }
    match sort_by.as_str() {
        "name" => list.sort_stable_by(|a, b| a.plural.cmp(b.plural)),
        "kind" => list.sort_stable_by(|a, b| a.kind.cmp(b.kind)),
        _ => {}
    }
    if output == "name" {
        for d in &list {
            if d.group.is_empty() {
                s.out.push_str(&format!("{}\n", d.plural));
            } else {
                s.out.push_str(&format!("{}.{}\n", d.plural, d.group));
            }
        }
        return discovery.map_err(Error::Api);
    }
    let wide = output == "wide";
    let mut text = String::new();
    if !s.args.flag("no-headers") {
        text.push_str(if wide { "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND\tVERBS\tCATEGORIES\n" } else { "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND\n" });
    }
    for d in &list {
        let api_version = if d.group.is_empty() { d.version.to_string() } else { format!("{}/{}", d.group, d.version) };
        text.push_str(&format!("{}\t{}\t{api_version}\t{}\t{}", d.plural, d.short_names.join(","), d.namespaced, d.kind));
        if wide {
            text.push_str(&format!("\t{}\t{}", d.verbs.join(","), d.categories.join(",")));
        }
        text.push('\n');
    }
    s.out.push_str(&TABLE.format(&text));
    discovery.map_err(Error::Api)
}

fn api_versions(s: &mut Session) -> Result {
    // Discovery: served by the API server from memory (etcd need not
    // answer, every authenticated user may read it).
    if s.cluster.sim.api.serving().is_err() {
        let server = s.server();
        return Err(Error::Message(format!("error: couldn't get available api versions from server: Get \"https://{server}/api?timeout=32s\": dial tcp {server}: connect: connection refused")));
    }
    let mut versions: Vec<String> = RESOURCES.iter().map(|r| r.api_version()).collect();
    versions.extend(["authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1"].map(String::from));
    versions.sort_stable();
    versions.dedup();
    for v in versions {
        s.out.push_str(&v);
        s.out.push('\n');
    }
    Ok(())
}

fn explain(s: &mut Session) -> Result {
    let Some(target) = s.args.positionals.first().cloned() else {
        return Err(Error::Message("You must specify the type of resource to explain. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nSee 'kubectl explain -h' for help and examples".to_string()));
    };
    let kind_word = target.split('.').next().unwrap_or("");
    let rid = resolve(kind_word)?;
    let rt = resource(rid);
    // kubectl's template writes no GROUP line for the core group.
    if !rt.group.is_empty() {
        s.out.push_str(&format!("GROUP:      {}\n", rt.group));
    }
    s.out.push_str(&format!(
        "KIND:       {}\nVERSION:    {}\n\nField documentation is not bundled with this simulator.\nSee https://kubernetes.io/docs/reference/kubernetes-api/ for the {} schema.\n",
        rt.kind, rt.version, rt.kind
    ));
    Ok(())
}

/// (context, cluster, user) names of the profile's kubeconfig.
fn kubeconfig_names(s: &Session) -> (String, String, String) {
    match s.cluster.profile.kind {
        crate::engine::cluster::ProfileKind::Minikube => ("minikube".into(), "minikube".into(), "minikube".into()),
        crate::engine::cluster::ProfileKind::Default => ("kubernetes-admin@kubernetes".into(), "kubernetes".into(), "kubernetes-admin".into()),
    }
}

fn config_view(s: &mut Session) -> Result {
    let (context, cluster_name, user) = kubeconfig_names(s);
    let server = format!("https://{}", s.server());
    let minikube = s.cluster.profile.kind == crate::engine::cluster::ProfileKind::Minikube;
    let cluster = if minikube {
        serde_json::json!({"certificate-authority": "/root/.minikube/ca.crt", "server": server})
    } else {
        serde_json::json!({"certificate-authority-data": "DATA+OMITTED", "server": server})
    };
    let user_entry = if minikube {
        serde_json::json!({"client-certificate": "/root/.minikube/profiles/minikube/client.crt", "client-key": "/root/.minikube/profiles/minikube/client.key"})
    } else {
        serde_json::json!({"client-certificate-data": "DATA+OMITTED", "client-key-data": "DATA+OMITTED"})
    };
    let config = serde_json::json!({
        "apiVersion": "v1",
        "clusters": [{"cluster": cluster, "name": cluster_name}],
        "contexts": [{"context": context_entry(&cluster_name, &s.cluster.context_namespace, &user), "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": user_entry}],
    });
    match printers::session_output_format(s).map_err(Error::Message)? {
        OutputFormat::Table | OutputFormat::Yaml => s.out.push_str(&printers::to_yaml(&config)),
        OutputFormat::Json => s.out.push_str(&format!("{}\n", printers::json::to_json_indented(&config))),
        OutputFormat::JsonPath(expr) => s.out.push_str(&printers::render_jsonpath(&expr, false, &config, printers::allow_missing_template_keys(s)).map_err(Error::Message)?),
        OutputFormat::JsonPathAsJson(expr) => s.out.push_str(&printers::render_jsonpath(&expr, true, &config, printers::allow_missing_template_keys(s)).map_err(Error::Message)?),
        OutputFormat::GoTemplate(t) => {
            let (text, error) = printers::render_go_template(&t, &config, printers::allow_missing_template_keys(s), &printers::json::to_json_compact(&config));
            s.out.push_str(&text);
            if let Some(e) = error {
                return Err(Error::Message(e));
            }
        }
        // The Config has no name.
        OutputFormat::Name => s.out.push_str("config/<unknown>\n"),
        _ => {
            let other = s.args.value("output").unwrap_or("");
            return Err(Error::Message(format!(
                "error: unable to match a printer suitable for the output format {}, allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml",
                printers::jsonpath::go_quote(other)
            )));
        }
    }
    Ok(())
}

/// A kubeconfig context: its namespace only when it names one.
fn context_entry(cluster: &str, namespace: &str, user: &str) -> serde_json::Value {
    let mut entry = serde_json::json!({"cluster": cluster, "user": user});
    if !namespace.is_empty() {
        entry["namespace"] = namespace.into();
    }
    entry
}

fn config_help() -> String {
    "error: a subcommand is required: current-context, get-contexts, view\nSee 'kubectl config -h' for help and examples".to_string()
}
