//! What ingress-nginx routes by: the Ingresses of its class, compiled with
//! the Services and EndpointSlices they name into hosts, paths and upstream
//! endpoints; and the matching rules (host, then the longest path; `Exact`
//! before `Prefix` at equal length).

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressClass};

pub const CONTROLLER_NAME: &str = "k8s.io/ingress-nginx";
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// `namespace-service-port`, as ingress-nginx names upstreams.
    pub name: String,
    /// Ready endpoints (IP, port).
    pub endpoints: Vec<(String, i32)>,
    /// The Service exists and has the port.
    pub resolved: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub path: String,
    /// `Exact`, `Prefix` or `ImplementationSpecific`.
    pub path_type: String,
    pub upstream: Upstream,
    /// `nginx.ingress.kubernetes.io/rewrite-target`.
    pub rewrite: Option<String>,
}

const REWRITE_ANNOTATION: &str = "nginx.ingress.kubernetes.io/rewrite-target";

/// The regular-expression paths tutorials pair with `rewrite-target`:
/// `/foo(/|$)(.*)`. Returns the literal prefix.
fn regex_prefix(path: &str) -> Option<&str> {
    path.strip_suffix("(/|$)(.*)").filter(|p| !p.contains(['(', ')', '*', '[', '?', '+', '^', '$']))
}

/// The captures `$1`, `$2` of a request path under a route's regex path.
fn captures(route_path: &str, path: &str) -> Option<(String, String)> {
    let prefix = regex_prefix(route_path)?;
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some((String::new(), String::new()));
    }
    rest.strip_prefix('/').map(|r| ("/".to_string(), r.to_string()))
}

impl Route {
    /// The path the upstream receives.
    pub fn upstream_path(&self, path: &str) -> String {
        let Some(target) = &self.rewrite else { return path.to_string() };
        let (one, two) = captures(&self.path, path).unwrap_or_default();
        let rewritten = target.replace("$1", &one).replace("$2", &two);
        if rewritten.starts_with('/') { rewritten } else { format!("/{rewritten}") }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngressTable {
    /// Host (empty: any host) → routes.
    pub hosts: BTreeMap<String, Vec<Route>>,
    /// The catch-all server's backend: the `defaultBackend` of the oldest
    /// Ingress that has one and no rules (`createServers`' "catch all" case).
    pub default_backend: Option<Upstream>,
    /// A host's own fallback: the `defaultBackend` of the Ingress that first
    /// named the host, which ingress-nginx gives that server's root location.
    pub host_defaults: BTreeMap<String, Upstream>,
    /// Ingresses of this class, `namespace/name`.
    pub ingresses: Vec<String>,
}

/// Whether an Ingress belongs to the `nginx` class. `without_class`: the
/// controller runs with `--watch-ingress-without-class=true`.
pub fn is_ours(ing: &Ingress, classes: &[&IngressClass], without_class: bool) -> bool {
    let ours: Vec<&str> = classes
        .iter()
        .filter(|c| c.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(CONTROLLER_NAME))
        .filter_map(|c| c.metadata.name.as_deref())
        .collect();
    if let Some(class) = ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()) {
        return ours.contains(&class);
    }
    if let Some(class) = ing.metadata.annotations.as_ref().and_then(|a| a.get(CLASS_ANNOTATION)) {
        return class == "nginx";
    }
    without_class || classes.iter().any(|c| {
        c.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(CONTROLLER_NAME)
            && c.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION)).map(String::as_str) == Some("true")
    })
}

fn upstream_for(ns: &str, backend: &IngressBackend, services: &BTreeMap<(String, String), &Service>, slices: &[&EndpointSlice]) -> Option<Upstream> {
    let svc_backend = backend.service.as_ref()?;
    let port = svc_backend.port.as_ref();
    let port_label = port.and_then(|p| p.number.map(|n| n.to_string()).or_else(|| p.name.clone())).unwrap_or_default();
    let name = format!("{ns}-{}-{port_label}", svc_backend.name);
    let Some(svc) = services.get(&(ns.to_string(), svc_backend.name.clone())) else {
        return Some(Upstream { name, endpoints: vec![], resolved: false });
    };
    let sp = svc.spec.as_ref().and_then(|s| {
        s.ports.iter().flatten().find(|p| match port {
            Some(bp) if bp.number.is_some() => Some(p.port) == bp.number,
            Some(bp) => p.name == bp.name,
            None => false,
        })
    });
    let Some(sp) = sp else { return Some(Upstream { name, endpoints: vec![], resolved: false }) };
    let port_name = sp.name.clone().unwrap_or_default();
    let mut endpoints = Vec::new();
    for slice in slices {
        if slice.metadata.namespace.as_deref() != Some(ns) || slice.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) != Some(&svc_backend.name) {
            continue;
        }
        let Some(number) = slice.ports.iter().flatten().find(|p| p.name.clone().unwrap_or_default() == port_name).and_then(|p| p.port) else { continue };
        for ep in &slice.endpoints {
            if ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true) {
                for a in &ep.addresses {
                    endpoints.push((a.clone(), number));
                }
            }
        }
    }
    endpoints.sort_stable();
    endpoints.dedup();
    Some(Upstream { name, endpoints, resolved: true })
}

impl IngressTable {
    pub fn build(ingresses: &[&Ingress], classes: &[&IngressClass], services: &[&Service], slices: &[&EndpointSlice], without_class: bool) -> Self {
        let services: BTreeMap<(String, String), &Service> = services
            .iter()
            .map(|s| ((s.metadata.namespace.clone().unwrap_or_default(), s.metadata.name.clone().unwrap_or_default()), *s))
            .collect();
        let mut table = IngressTable::default();
        let mut sorted: Vec<&&Ingress> = ingresses.iter().filter(|i| is_ours(i, classes, without_class)).collect();
        // Older Ingresses win conflicts, as ingress-nginx merges them.
        sorted.sort_stable_by(|a, b| (&a.metadata.creation_timestamp, &a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.creation_timestamp, &b.metadata.namespace, &b.metadata.name)));
        for ing in sorted {
            let ns = ing.metadata.namespace.clone().unwrap_or_default();
            table.ingresses.push(format!("{ns}/{}", ing.metadata.name.clone().unwrap_or_default()));
            let Some(spec) = &ing.spec else { continue };
            let own_default = spec.default_backend.as_ref().and_then(|db| upstream_for(&ns, db, &services, slices));
            let rules = spec.rules.as_deref().unwrap_or_default();
            if rules.is_empty() && table.default_backend.is_none() {
                table.default_backend = own_default.clone();
            }
            let rewrite = ing.metadata.annotations.as_ref().and_then(|a| a.get(REWRITE_ANNOTATION)).cloned();
            for rule in rules {
                let host = rule.host.clone().unwrap_or_default().to_ascii_lowercase();
                // A named host's server is made by the first Ingress naming it;
                // rules without a host join the catch-all server, whose
                // fallback only a rule-less Ingress sets.
                if !host.is_empty() && !table.hosts.contains_key(&host) {
                    if let Some(up) = &own_default {
                        table.host_defaults.insert(host.clone(), up.clone());
                    }
                }
                let routes = table.hosts.entry(host).or_default();
                for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
                    let path = p.path.clone().unwrap_or_else(|| "/".into());
                    if routes.iter().any(|r| r.path == path && r.path_type == p.path_type) {
                        continue;
                    }
                    if let Some(upstream) = upstream_for(&ns, &p.backend, &services, slices) {
                        routes.push(Route { path, path_type: p.path_type.clone(), upstream, rewrite: rewrite.clone() });
                    }
                }
            }
        }
        table
    }

    /// The server (host key) nginx picks for a request's host: the exact
    /// name, else the wildcard one, else the catch-all (`""`).
    fn server(&self, host: &str) -> String {
        let host = host.to_ascii_lowercase();
        if self.hosts.contains_key(&host) {
            return host;
        }
        match host.split_once('.').map(|(_, rest)| format!("*.{rest}")) {
            Some(wildcard) if self.hosts.contains_key(&wildcard) => wildcard,
            _ => String::new(),
        }
    }

    /// The route a request takes, if any rule of its server matches.
    pub fn route(&self, host: &str, path: &str) -> Option<&Route> {
        self.hosts.get(&self.server(host)).and_then(|routes| best(routes, path))
    }

    /// Where a request no rule matches goes: its server's root location,
    /// the default backend (`None`: the controller's own, a 404).
    pub fn fallback(&self, host: &str) -> Option<&Upstream> {
        let server = self.server(host);
        if server.is_empty() {
            self.default_backend.as_ref()
        } else {
            self.host_defaults.get(&server)
        }
    }
}

/// Whether `path` matches a route's path under its type.
pub fn path_matches(route_path: &str, path_type: &str, path: &str) -> bool {
    match path_type {
        "Exact" => path == route_path,
        "Prefix" => {
            let prefix = route_path.trim_end_matches('/');
            if prefix.is_empty() {
                return true;
            }
            path == prefix || path.starts_with(&format!("{prefix}/"))
        }
        // ingress-nginx treats it as an nginx location prefix, or a
        // regular expression when it is one.
        _ if regex_prefix(route_path).is_some() => captures(route_path, path).is_some(),
        _ => path.starts_with(route_path),
    }
}

fn best<'a>(routes: &'a [Route], path: &str) -> Option<&'a Route> {
    // The first of equals wins, hence the reversed scan for the maximum.
    routes.iter().rev().filter(|r| path_matches(&r.path, &r.path_type, path)).max_by_key(|r| (r.path.len(), r.path_type == "Exact"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_types_match_as_the_spec_says() {
        assert!(path_matches("/foo", "Prefix", "/foo"));
        assert!(path_matches("/foo", "Prefix", "/foo/bar"));
        assert!(!path_matches("/foo", "Prefix", "/foobar"));
        assert!(path_matches("/foo/", "Prefix", "/foo"));
        assert!(path_matches("/", "Prefix", "/anything"));
        assert!(path_matches("/foo", "Exact", "/foo"));
        assert!(!path_matches("/foo", "Exact", "/foo/"));
        assert!(path_matches("/foo", "ImplementationSpecific", "/foobar"));
        assert!(path_matches("/foo(/|$)(.*)", "ImplementationSpecific", "/foo/hostname"));
        assert!(!path_matches("/foo(/|$)(.*)", "ImplementationSpecific", "/foobar"));
        let r = Route { path: "/foo(/|$)(.*)".into(), path_type: "ImplementationSpecific".into(), upstream: Upstream { name: String::new(), endpoints: vec![], resolved: true }, rewrite: Some("/$2".into()) };
        assert_eq!(r.upstream_path("/foo/hostname"), "/hostname");
        assert_eq!(r.upstream_path("/foo"), "/");
    }

    #[test]
    fn longest_path_then_exact_wins() {
        let up = |n: &str| Upstream { name: n.into(), endpoints: vec![], resolved: true };
        let routes = vec![
            Route { path: "/".into(), path_type: "Prefix".into(), upstream: up("root"), rewrite: None },
            Route { path: "/api".into(), path_type: "Prefix".into(), upstream: up("api"), rewrite: None },
            Route { path: "/api".into(), path_type: "Exact".into(), upstream: up("api-exact"), rewrite: None },
        ];
        let mut t = IngressTable::default();
        t.hosts.insert("foo.com".into(), routes);
        assert_eq!(t.route("foo.com", "/api").unwrap().upstream.name, "api-exact");
        assert_eq!(t.route("foo.com", "/api/v1").unwrap().upstream.name, "api");
        assert_eq!(t.route("FOO.com", "/x").unwrap().upstream.name, "root");
        assert!(t.route("bar.com", "/x").is_none());
    }

    #[test]
    fn a_host_with_its_own_server_does_not_fall_through() {
        let up = |n: &str| Upstream { name: n.into(), endpoints: vec![], resolved: true };
        let route = |p: &str, n: &str| Route { path: p.into(), path_type: "Prefix".into(), upstream: up(n), rewrite: None };
        let mut t = IngressTable::default();
        t.hosts.insert("a.wild.com".into(), vec![route("/a", "exact")]);
        t.hosts.insert("*.wild.com".into(), vec![route("/", "wild")]);
        t.hosts.insert(String::new(), vec![route("/any", "any")]);
        t.host_defaults.insert("a.wild.com".into(), up("own-default"));
        t.default_backend = Some(up("catch-all"));
        assert!(t.route("a.wild.com", "/b").is_none());
        assert_eq!(t.fallback("a.wild.com").unwrap().name, "own-default");
        assert_eq!(t.route("b.wild.com", "/b").unwrap().upstream.name, "wild");
        assert!(t.fallback("b.wild.com").is_none());
        assert!(t.route("other.com", "/b").is_none());
        assert_eq!(t.route("other.com", "/any/x").unwrap().upstream.name, "any");
        assert_eq!(t.fallback("other.com").unwrap().name, "catch-all");
    }
}
