//! `kubectl proxy` on the learner's machine: the proxies started in the
//! background (`kubectl proxy &`), kept until `kill` ends them, and what
//! they answer to `curl`/`wget` on 127.0.0.1:PORT: the API server's
//! answers to an authenticated admin client (kubectl's
//! `pkg/proxy/proxy_server.go` filter in front, kube-apiserver's REST
//! reads, pretty-printed for curl's user agent as apiserver's
//! `negotiation.isPrettyPrint` decides), and the pod and service proxy
//! subresources, which reach the container through the cluster network as
//! a curl to the pod does.

use serde_json::Value;

use k8s_openapi::api::core::v1::EndpointAddress;

use crate::engine::api::{self, ApiError, Object, Reason};
use crate::engine::kubectl::printers::jsonpath::go_quote;
use crate::engine::apiserver::{ApiServer, Query};
use crate::engine::network::http::{HttpRequest, HttpResponse};
use crate::engine::network::tools::client::{fetch, HttpFailure, Url};
use crate::engine::network::{ConnectError, Origin};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// kubectl proxy's defaults (`proxy.go`, `proxy_server.go`).
pub const DEFAULT_PORT: u16 = 8001;
pub const DEFAULT_ADDRESS: &str = "127.0.0.1";
pub const DEFAULT_ACCEPT_HOSTS: &str = "^localhost$,^127\\.0\\.0\\.1$,^\\[::1\\]$";
pub const DEFAULT_ACCEPT_PATHS: &str = "^.*";
pub const DEFAULT_REJECT_PATHS: &str = "^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach";
pub const DEFAULT_REJECT_METHODS: &str = "^$";

/// The PID of the learner's login shell: the first background job is the next.
const LOGIN_SHELL_PID: u32 = 1342;

/// The most proxies the machine keeps running (each holds a port).
const MAX_PROXIES: usize = 16;

/// `FilterServer`'s comma-separated regular expressions; `None` with `--disable-filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub accept_paths: String,
    pub reject_paths: String,
    pub accept_hosts: String,
    pub reject_methods: String,
}

/// One `kubectl proxy` serving on the learner's machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningProxy {
    /// The shell's job number (`%1`) and the process id (`$!`).
    pub job: u32,
    pub pid: u32,
    /// The address it listens on as given (`127.0.0.1`, `0.0.0.0`).
    pub address: String,
    pub port: u16,
    /// `--api-prefix`, ending in `/`.
    pub api_prefix: String,
    pub filter: Option<Filter>,
    /// The command line as typed, for `jobs` and bash's job notices.
    pub command: String,
}

/// The learner's machine's running proxies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LearnerProxies {
    pub running: Vec<RunningProxy>,
    /// The last process id handed out (PIDs are not reused soon after).
    pub last_pid: u32,
    /// Set by the shell while it starts a background job: that job's PID
    /// and command line.
    pub starting_in_background: Option<(u32, String)>,
}

/// Why a proxy cannot listen, in Go's `net.Listen` words.
pub fn listen_error(proxies: &LearnerProxies, address: &str, port: u16) -> Option<String> {
    let host = if address == "localhost" { DEFAULT_ADDRESS } else { address };
    let local = ["127.0.0.1", "0.0.0.0", "::", "::1", ""];
    if !local.contains(&host) && !host.starts_with("127.") {
        return Some(format!("listen tcp {host}:{port}: bind: cannot assign requested address"));
    }
    let wildcard = |a: &str| matches!(a, "0.0.0.0" | "::" | "");
    let taken = proxies.running.iter().any(|p| p.port == port && (p.address == host || wildcard(&p.address) || wildcard(host)));
    taken.then(|| format!("listen tcp {}: bind: address already in use", join_host_port(address, port)))
}

/// `net.JoinHostPort`.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// What the listener's `Addr()` prints in "Starting to serve on …": a
/// wildcard IPv4 address listens dual-stack, as `[::]`.
pub fn serving_address(address: &str, port: u16) -> String {
    match address {
        "0.0.0.0" | "" | "::" => format!("[::]:{port}"),
        "localhost" => format!("{DEFAULT_ADDRESS}:{port}"),
        other => join_host_port(other, port),
    }
}

impl LearnerProxies {
    /// The process table the learner's shell sees: the login shell and the proxies.
    pub fn processes(&self) -> Vec<crate::engine::node::commands::Process> {
        use crate::engine::node::commands::Process;
        let mut list = vec![Process { pid: self.last_pid.max(LOGIN_SHELL_PID), command: "bash".into() }];
        list.extend(self.running.iter().map(|p| Process { pid: p.pid, command: p.command.clone() }));
        list
    }

    /// A port for `--port=0`: the kernel's first free ephemeral port from a
    /// point fixed by the PID (deterministic, as the simulation must be).
    pub fn ephemeral_port(&self, pid: u32) -> u16 {
        let mut port = 32768 + (pid.wrapping_mul(7919) % 28000) as u16;
        while self.running.iter().any(|p| p.port == port) {
            port = port.wrapping_add(1).max(32768);
        }
        port
    }

    /// Starts a background proxy: `None` when the machine keeps too many.
    pub fn start(&mut self, mut proxy: RunningProxy) -> Option<u32> {
        if self.running.len() >= MAX_PROXIES {
            return None;
        }
        proxy.job = self.running.iter().map(|p| p.job).max().unwrap_or(0) + 1;
        self.last_pid = self.last_pid.max(proxy.pid);
        let job = proxy.job;
        self.running.push(proxy);
        Some(job)
    }

    /// The job a jobspec names (`%1`, `%%`, `%+`, `%-`, `%kubectl`).
    pub fn job_index(&self, spec: &str) -> Option<usize> {
        let rest = spec.strip_prefix('%')?;
        let len = self.running.len();
        match rest {
            "" | "%" | "+" => len.checked_sub(1),
            "-" => len.checked_sub(2).or(len.checked_sub(1)),
            n if n.bytes().all(|b| b.is_ascii_digit()) => n.parse::<u32>().ok().and_then(|n| self.running.iter().position(|p| p.job == n)),
            prefix => self.running.iter().rposition(|p| p.command.starts_with(prefix)),
        }
    }

    /// bash's mark for a job in its notices: `+` the current, `-` the previous.
    pub fn mark(&self, index: usize) -> char {
        let len = self.running.len();
        if index + 1 == len {
            '+'
        } else if index + 2 == len {
            '-'
        } else {
            ' '
        }
    }

    /// Who listens on the machine's loopback at `port`.
    fn listening(&self, host: &str, port: i32) -> Option<&RunningProxy> {
        let loopback = matches!(host, "localhost" | "[::1]" | "::1") || host.starts_with("127.");
        self.running.iter().filter(|p| i32::from(p.port) == port).find(|p| {
            matches!(p.address.as_str(), "0.0.0.0" | "::" | "") || (loopback && (p.address == "localhost" || p.address.starts_with("127.") || p.address == "::1"))
        })
    }
}

/// bash's job line: `[1]+  Terminated              kubectl proxy`.
pub fn job_line(job: u32, mark: char, state: &str, command: &str) -> String {
    format!("[{job}]{mark}  {state:<24}{command}\n")
}

/// What a request to the learner's own machine reaches: the proxies.
pub struct Loopback<'a> {
    pub api: &'a ApiServer,
    pub proxies: &'a LearnerProxies,
    /// The node the API server runs on: where its connections to pods start.
    pub control_plane: String,
}

impl<'a> Loopback<'a> {
    pub fn new(api: &'a ApiServer, proxies: &'a LearnerProxies, profile: &crate::engine::cluster::Profile) -> Self {
        Loopback { api, proxies, control_plane: profile.control_plane().to_string() }
    }

    /// The answer to `request` at `host:port` on the learner's machine, or
    /// `None` when nothing listens there (the connection is refused).
    pub fn serve(&self, world: &mut World, host: &str, port: i32, request: &HttpRequest, now: VirtualTime) -> Option<(HttpResponse, u64)> {
        let proxy = self.proxies.listening(host, port)?;
        let (path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
        if let Some(filter) = &proxy.filter {
            let host_name = extract_host(&request.host());
            if !accepts(filter, &request.method, path, &host_name) {
                return Some((text_response(403, "Forbidden\n", now), 1));
            }
        }
        // `stripLeaveSlash`: a prefix other than `/api…` is taken off the path.
        let path = if proxy.api_prefix.starts_with("/api") {
            path.to_string()
        } else {
            match path.strip_prefix(proxy.api_prefix.trim_end_matches('/')) {
                Some(rest) if rest.len() < path.len() || proxy.api_prefix == "/" => if rest.starts_with('/') { rest.to_string() } else { format!("/{rest}") },
                _ => return Some((text_response(404, "404 page not found\n", now), 1)),
            }
        };
        if !path.starts_with(proxy.api_prefix.trim_end_matches('/')) && proxy.api_prefix.starts_with("/api") {
            return Some((text_response(404, "404 page not found\n", now), 1));
        }
        let pretty = asks_pretty(query) || {
            let agent = request.header("User-Agent").unwrap_or("");
            agent.starts_with("curl") || agent.starts_with("Wget") || agent.starts_with("Mozilla/5.0")
        };
        let answer = Answer { pretty, now };
        Some(self.route(world, &path, query, request, &answer))
    }

    /// What the API server answers kubectl's own GET of `target` (`kubectl
    /// get --raw`): JSON left compact for kubectl's user agent unless
    /// `?pretty=true` asks otherwise.
    pub fn kubectl_get(&self, world: &mut World, target: &str, now: VirtualTime) -> (HttpResponse, u64) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let request = HttpRequest::get(&self.api.host, target, "kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0");
        self.route(world, path, query, &request, &Answer { pretty: asks_pretty(query), now })
    }

    fn route(&self, world: &mut World, path: &str, query: &str, request: &HttpRequest, answer: &Answer) -> (HttpResponse, u64) {
        if let Err(e) = self.api.list(&Query::all(api::ids::namespaces())) {
            if e.reason == Reason::ConnectionRefused {
                // The proxy's `responder.Error`: the dial's error, as a 502's text.
                return (text_response(502, &format!("dial tcp {}: connect: connection refused\n", self.api.host), answer.now), 1);
            }
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let is_read = matches!(request.method.as_str(), "GET" | "HEAD");
        match segments.as_slice() {
            ["version"] | ["version", ""] => return answer.raw(200, crate::engine::kubectl::verbs::info::server_version_json()),
            ["healthz" | "livez" | "readyz"] => return (text_response(200, "ok", answer.now), 1),
            ["api"] | ["api", ""] => {
                let body = serde_json::json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.api.host}]});
                return answer.json(200, &body, &["kind", "versions", "serverAddressByClientCIDRs"]);
            }
            ["api", "v1", rest @ ..] if !rest.is_empty() && rest != [""] => self.resource(world, "", "v1", rest, query, request, answer, is_read),
            ["apis", group, version, rest @ ..] if !rest.is_empty() && rest != [""] => self.resource(world, group, version, rest, query, request, answer, is_read),
            // Discovery's documents: served by a real API server, not here.
            ["apis"] | ["apis", ""] => answer.not_simulated("API discovery (/apis)"),
            ["api", "v1"] | ["api", "v1", ""] => answer.not_simulated("API discovery (/api/v1)"),
            ["apis", group, rest @ ..] if rest.len() <= 2 && api::RESOURCES.iter().any(|r| r.group == *group && rest.first().is_none_or(|v| v.is_empty() || *v == r.version)) => {
                answer.not_simulated(&format!("API discovery ({path})"))
            }
            ["openapi", ..] => answer.not_simulated(&format!("the OpenAPI document ({path})")),
            ["metrics"] => answer.not_simulated("the API server's metrics"),
            ["api", ..] | ["apis", ..] => answer.status(&ApiError::new(Reason::NotFound, "the server could not find the requested resource"), None),
            _ => (text_response(404, "404 page not found\n", answer.now), 1),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn resource(&self, world: &mut World, group: &str, version: &str, rest: &[&str], query: &str, request: &HttpRequest, answer: &Answer, is_read: bool) -> (HttpResponse, u64) {
        // `/namespaces/NS/RESOURCE…`, or `/namespaces[/NAME]` itself.
        let (namespace, rest) = match rest {
            ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
            other => (None, other),
        };
        let (plural, name, sub, tail) = match rest {
            [plural] => (*plural, None, None, &[][..]),
            [plural, name] => (*plural, Some(*name), None, &[][..]),
            [plural, name, sub, tail @ ..] => (*plural, Some(*name), Some(*sub), tail),
            _ => ("", None, None, &[][..]),
        };
        let not_found = ApiError::new(Reason::NotFound, "the server could not find the requested resource");
        let Some(id) = api::find_resource(group, plural).filter(|id| api::resource(*id).version == version) else {
            return answer.status(&not_found, None);
        };
        let rt = api::resource(id);
        if namespace.is_some() && !rt.namespaced {
            return answer.status(&not_found, None);
        }
        let details = |name: &str| Some((name.to_string(), group.to_string(), plural.to_string()));
        if sub == Some("proxy") {
            if let Some(name) = name {
                let namespace = namespace.unwrap_or("");
                return match plural {
                    "pods" if group.is_empty() => self.pod_proxy(world, namespace, name, tail, query, request, answer),
                    "services" if group.is_empty() => self.service_proxy(world, namespace, name, tail, query, request, answer),
                    "nodes" if group.is_empty() => answer.not_simulated("the node proxy (the kubelet's own API)"),
                    _ => answer.status(&not_found, None),
                };
            }
        }
        if !is_read {
            return answer.not_simulated(&format!("{} through kubectl proxy (it serves reads here; write with kubectl apply, patch or delete)", request.method));
        }
        match (name, sub) {
            (None, _) => {
                let query_of = match namespace {
                    Some(ns) => Query::in_namespace(id, ns),
                    None => Query::all(id),
                };
                match self.api.list(&query_of) {
                    Ok((objects, revision)) => {
                        let items: Vec<Value> = objects.iter().map(|o| without_type(o.to_json())).collect();
                        let body = serde_json::json!({
                            "kind": format!("{}List", rt.kind),
                            "apiVersion": api_version(group, version),
                            "metadata": {"resourceVersion": revision.to_string()},
                            "items": items,
                        });
                        answer.json(200, &body, &["kind", "apiVersion", "metadata", "items"])
                    }
                    Err(e) => answer.status(&e, None),
                }
            }
            (Some(name), None | Some("status")) if tail.is_empty() => match self.api.get(id, namespace.unwrap_or(""), name) {
                Ok(object) => answer.object(&object),
                Err(e) => answer.status(&e, details(name)),
            },
            _ => answer.status(&not_found, None),
        }
    }

    /// `pods/[SCHEME:]NAME[:PORT]/proxy/PATH`: to the pod's IP, as 1.33's
    /// `pod.ResourceLocation` finds it.
    #[allow(clippy::too_many_arguments)]
    fn pod_proxy(&self, world: &mut World, namespace: &str, target: &str, tail: &[&str], query: &str, request: &HttpRequest, answer: &Answer) -> (HttpResponse, u64) {
        let Some((scheme, name, port)) = split_scheme_name_port(target) else {
            return answer.status(&ApiError::bad_request(format!("invalid pod request {}", go_quote(target))), None);
        };
        let object = match self.api.get(api::ids::pods(), namespace, name) {
            Ok(o) => o,
            Err(e) => return answer.status(&e, Some((name.to_string(), String::new(), "pods".into()))),
        };
        let Object::Pod(pod) = &*object else { return answer.status(&ApiError::new(Reason::Unknown, "not a pod"), None) };
        // Without a port: the first port any container declares.
        let first_declared = || pod.spec.iter().flat_map(|s| &s.containers).find_map(|c| c.ports.as_ref()?.first()).map(|p| p.container_port.to_string());
        let port = if port.is_empty() { first_declared().unwrap_or_default() } else { port.to_string() };
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip()).map(|ip| ip.into_owned()).unwrap_or_default();
        if !is_global_unicast(&ip) {
            return answer.status(&ApiError::bad_request("address not allowed"), None);
        }
        if scheme == "https" {
            return answer.not_simulated("https to a pod (the simulated applications speak plain HTTP)");
        }
        // Dialled as `IP:PORT`: no port is the scheme's, and a name (even
        // a container port's) is looked up as a service name.
        let port = match dial_port(&port) {
            Ok(n) => n,
            Err(why) => return answer.unavailable(&format!("error trying to reach service: dial tcp: {why}")),
        };
        self.forward(world, &ip, port, tail, query, request, answer)
    }

    /// `services/[SCHEME:]NAME[:PORT]/proxy/PATH`: to one ready address of
    /// the Service's Endpoints whose port has the asked name, as 1.33's
    /// service `ResourceLocation` chooses it (a port number stands for the
    /// Service port's name; no port for the unnamed one).
    #[allow(clippy::too_many_arguments)]
    fn service_proxy(&self, world: &mut World, namespace: &str, target: &str, tail: &[&str], query: &str, request: &HttpRequest, answer: &Answer) -> (HttpResponse, u64) {
        let Some((scheme, name, asked_port)) = split_scheme_name_port(target) else {
            return answer.status(&ApiError::bad_request(format!("invalid service request {}", go_quote(target))), None);
        };
        let mut port_name = asked_port.to_string();
        if let Ok(number) = asked_port.parse::<i64>() {
            let object = match self.api.get(api::ids::services(), namespace, name) {
                Ok(o) => o,
                Err(e) => return answer.status(&e, Some((name.to_string(), String::new(), "services".into()))),
            };
            let Object::Service(service) = &*object else { return answer.status(&ApiError::new(Reason::Unknown, "not a service"), None) };
            let mut ports = service.spec.iter().flat_map(|s| s.ports.iter().flatten());
            match ports.find(|p| i64::from(p.port) == number) {
                Some(p) => port_name = p.name.clone().unwrap_or_default(),
                None => return answer.unavailable(&format!("no service port {number} found for service {}", go_quote(name))),
            }
        }
        let object = match self.api.get(api::ids::endpoints(), namespace, name) {
            Ok(o) => o,
            Err(e) => return answer.status(&e, Some((name.to_string(), String::new(), "endpoints".into()))),
        };
        let Object::Endpoints(endpoints) = &*object else { return answer.status(&ApiError::new(Reason::Unknown, "not endpoints"), None) };
        let subsets = endpoints.subsets.as_deref().unwrap_or_default();
        if subsets.is_empty() {
            return answer.unavailable(&format!("no endpoints available for service {}", go_quote(name)));
        }
        // A random subset first, then a random address of it (`rand.Intn`).
        let first_subset = world.net.rng().usize(..subsets.len());
        let mut chosen = None;
        'subsets: for i in 0..subsets.len() {
            let subset = &subsets[(first_subset + i) % subsets.len()];
            let addresses = subset.addresses.as_deref().unwrap_or_default();
            if addresses.is_empty() {
                continue;
            }
            for port in subset.ports.iter().flatten().filter(|p| p.name.as_deref().unwrap_or("") == port_name) {
                let first_address = world.net.rng().usize(..addresses.len());
                for a in 0..addresses.len() {
                    let address = &addresses[(first_address + a) % addresses.len()];
                    if self.is_valid_address(namespace, address) {
                        chosen = Some((address.ip.clone(), port.port));
                        break 'subsets;
                    }
                }
            }
        }
        let Some((ip, port)) = chosen else {
            return answer.unavailable(&format!("no endpoints available for service {}", go_quote(target)));
        };
        if scheme == "https" {
            return answer.not_simulated("https to a Service (the simulated applications speak plain HTTP)");
        }
        self.forward(world, &ip, port, tail, query, request, answer)
    }

    /// `isValidAddress`: the address names a pod of the namespace that has
    /// that IP (an address without a pod, as a hand-written Endpoints has,
    /// is skipped).
    fn is_valid_address(&self, namespace: &str, address: &EndpointAddress) -> bool {
        let Some(target) = &address.target_ref else { return false };
        if target.namespace.as_deref().unwrap_or("") != namespace {
            return false;
        }
        let Ok(object) = self.api.get(api::ids::pods(), namespace, target.name.as_deref().unwrap_or("")) else { return false };
        let Object::Pod(pod) = &*object else { return false };
        pod.status.as_ref().and_then(|s| s.pod_ip()).is_some_and(|ip| *ip == address.ip)
    }

    /// The request, sent on from the control-plane node to `ip:port` as a
    /// client in the cluster would send it; the reply comes back as it is.
    #[allow(clippy::too_many_arguments)]
    fn forward(&self, world: &mut World, ip: &str, port: i32, tail: &[&str], query: &str, request: &HttpRequest, answer: &Answer) -> (HttpResponse, u64) {
        let mut target = format!("/{}", tail.join("/"));
        if !query.is_empty() {
            target.push('?');
            target.push_str(query);
        }
        let url = Url { scheme: "http".into(), host: ip.to_string(), port, target: target.clone(), explicit_port: true };
        let mut sent = request.clone();
        sent.target = target;
        sent.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("Host"));
        sent.headers.insert(0, ("Host".into(), url.host_header()));
        let origin = Origin::Node(self.control_plane.clone());
        let (result, took) = fetch(world, &origin, &url, sent, answer.now);
        match result {
            Ok(fetched) => (fetched.response, took),
            Err(failure) => {
                let why = match failure {
                    HttpFailure::Connect { error: ConnectError::Refused, .. } => "connect: connection refused".to_string(),
                    HttpFailure::Connect { error: ConnectError::NoRoute, .. } => "connect: no route to host".to_string(),
                    HttpFailure::Connect { error: ConnectError::TimedOut, .. } => "i/o timeout".to_string(),
                    HttpFailure::EmptyReply { .. } | HttpFailure::NotHttp { .. } | HttpFailure::Resolve(_) => "EOF".to_string(),
                };
                let (status, _) = answer.unavailable(&format!("error trying to reach service: dial tcp {}: {why}", join_host_port(ip, u16::try_from(port).unwrap_or(0))));
                (status, took)
            }
        }
    }
}

/// `?pretty=true`: indented JSON whatever the client.
fn asks_pretty(query: &str) -> bool {
    query.split('&').any(|kv| kv == "pretty=true" || kv == "pretty=1")
}

/// `pods/NAME:PORT`, `services/https:NAME:443`: `net.SplitSchemeNamePort`
/// (one to three parts, a name, and a scheme of `http`, `https` or none).
fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    (!name.is_empty() && matches!(scheme, "" | "http" | "https")).then_some((scheme, name, port))
}

/// `IP.IsGlobalUnicast` of the pod's IP: the addresses the pod proxy may
/// dial (pods' addresses are written without leading zeros, so netip's
/// parser reads them as `ParseIPSloppy` does).
fn is_global_unicast(text: &str) -> bool {
    crate::engine::cel::net::parse_addr(text).is_ok_and(|(addr, _)| addr.is_global_unicast())
}

/// The port Go's dialer reaches for the port part of `IP:PORT`: no port is
/// the http scheme's 80; a number is itself; a name is a service name,
/// from Go's own table (`net/lookup.go`; the API server's image is a static
/// Go binary), matched without regard to case. The error is the dialer's.
fn dial_port(port: &str) -> Result<i32, String> {
    if port.is_empty() {
        return Ok(80);
    }
    let (negative, digits) = match port.as_bytes()[0] {
        b'+' => (false, &port[1..]),
        b'-' => (true, &port[1..]),
        _ => (false, port),
    };
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        return match digits.parse::<i32>() {
            Ok(n) if n <= 0xFFFF && !(negative && n > 0) => Ok(n),
            _ => Err(format!("address {port}: invalid port")),
        };
    }
    const GO_TCP_SERVICES: [(&str, i32); 14] = [
        ("ftp", 21), ("ftps", 990), ("gopher", 70), ("http", 80), ("https", 443), ("imap2", 143), ("imap3", 220),
        ("imaps", 993), ("pop3", 110), ("pop3s", 995), ("smtp", 25), ("submissions", 465), ("ssh", 22), ("telnet", 23),
    ];
    GO_TCP_SERVICES.iter().find(|(name, _)| name.eq_ignore_ascii_case(port)).map(|(_, n)| *n).ok_or_else(|| format!("lookup tcp/{port}: unknown port"))
}

/// `extractHost`: the Host header without its port.
fn extract_host(header: &str) -> String {
    if let Some(rest) = header.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, _)) => format!("[{h}]"),
            None => header.to_string(),
        };
    }
    match header.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h.to_string(),
        _ => header.to_string(),
    }
}

/// `MakeRegexpArray`: the comma-separated expressions, compiled; the first
/// that does not compile is the error.
pub fn compile_all(text: &str) -> Result<Vec<regex_lite::Regex>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|part| regex_lite::Regex::new(part).map_err(|e| e.to_string())).collect()
}

fn matches_any(text: &str, expressions: &str) -> bool {
    compile_all(expressions).map(|list| list.iter().any(|re| re.is_match(text))).unwrap_or(false)
}

/// `FilterServer.accept`.
fn accepts(filter: &Filter, method: &str, path: &str, host: &str) -> bool {
    if matches_any(path, &filter.reject_paths) || matches_any(method, &filter.reject_methods) {
        return false;
    }
    matches_any(path, &filter.accept_paths) && matches_any(host, &filter.accept_hosts)
}

/// `http.Error`: a plain-text answer.
fn text_response(status: u16, body: &str, now: VirtualTime) -> HttpResponse {
    HttpResponse::new(
        status,
        vec![
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ("X-Content-Type-Options".into(), "nosniff".into()),
            ("Date".into(), crate::engine::network::http::http_date(now)),
            ("Content-Length".into(), body.len().to_string()),
        ],
        body,
    )
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

/// A typed list's items carry no `kind` and `apiVersion`.
fn without_type(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
        map.remove("apiVersion");
    }
    value
}

/// How the API server writes its answers to this client.
struct Answer {
    pretty: bool,
    now: VirtualTime,
}

impl Answer {
    fn raw(&self, status: u16, body: String) -> (HttpResponse, u64) {
        let headers = vec![
            ("Audit-Id".into(), "00000000-0000-0000-0000-000000000000".into()),
            ("Cache-Control".into(), "no-cache, private".into()),
            ("Content-Type".into(), "application/json".into()),
            ("Date".into(), crate::engine::network::http::http_date(self.now)),
            ("Content-Length".into(), body.len().to_string()),
        ];
        (HttpResponse::new(status, headers, body), 1)
    }

    /// `value` written with the keys in `first` leading, as Go's structs
    /// put `kind` and `apiVersion` first.
    fn json(&self, status: u16, value: &Value, first: &[&str]) -> (HttpResponse, u64) {
        self.raw(status, go_json(value, first, self.pretty))
    }

    fn object(&self, object: &Object) -> (HttpResponse, u64) {
        self.json(200, &object.to_json(), &["kind", "apiVersion", "metadata", "spec", "status"])
    }

    /// A `metav1.Status` failure; `details` is (name, group, kind).
    fn status(&self, error: &ApiError, details: Option<(String, String, String)>) -> (HttpResponse, u64) {
        // `StatusDetails`' field order: name, group, kind.
        let mut map = Vec::new();
        if let Some((name, group, kind)) = details {
            map.push(("name", Value::String(name)));
            if !group.is_empty() {
                map.push(("group", Value::String(group)));
            }
            map.push(("kind", Value::String(kind)));
        }
        self.failure(reason_word(error.reason), error.code(), &error.message, map)
    }

    /// A 503 `ServiceUnavailable` Status (the proxy could not reach its target).
    fn unavailable(&self, message: &str) -> (HttpResponse, u64) {
        self.failure("ServiceUnavailable", 503, message, Vec::new())
    }

    fn failure(&self, reason: &str, code: u16, message: &str, details: Vec<(&str, Value)>) -> (HttpResponse, u64) {
        let mut body = vec![
            ("kind", Value::String("Status".into())),
            ("apiVersion", Value::String("v1".into())),
            ("metadata", Value::Object(Default::default())),
            ("status", Value::String("Failure".into())),
            ("message", Value::String(message.to_string())),
        ];
        if !reason.is_empty() {
            body.push(("reason", Value::String(reason.into())));
        }
        let mut texts: Vec<(&str, String)> = body.iter().map(|(k, v)| (*k, to_text(v, self.pretty))).collect();
        texts.push(("details", ordered_texts(&details.iter().map(|(k, v)| (*k, to_text(v, self.pretty))).collect::<Vec<_>>(), self.pretty)));
        texts.push(("code", code.to_string()));
        let text = go_escape(&ordered_texts(&texts, self.pretty));
        self.raw(code, text)
    }

    /// A request this simulation does not serve: said plainly, as a 501 Status.
    fn not_simulated(&self, what: &str) -> (HttpResponse, u64) {
        self.failure("NotImplemented", 501, &format!("{what} is not part of this simulation"), Vec::new())
    }
}

fn reason_word(reason: Reason) -> &'static str {
    match reason {
        Reason::ConnectionRefused | Reason::Unknown => "",
        other => other.as_str(),
    }
}

/// `value` as Go's `json.Marshal` (compact) or `MarshalIndent(…, "", "  ")`
/// writes it, with the keys in `first` leading (the rest sorted).
fn go_json(value: &Value, first: &[&str], pretty: bool) -> String {
    let Some(map) = value.as_object() else { return go_escape(&to_text(value, pretty)) };
    let mut ordered: Vec<(&str, Value)> = first.iter().filter_map(|k| map.get(*k).map(|v| (*k, v.clone()))).collect();
    ordered.extend(map.iter().filter(|(k, _)| !first.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v.clone())));
    ordered_json(&ordered, pretty)
}

fn ordered_json(fields: &[(&str, Value)], pretty: bool) -> String {
    let texts: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, to_text(v, pretty))).collect();
    go_escape(&ordered_texts(&texts, pretty))
}

/// An object of fields already written, spliced so their order holds
/// (serde_json's maps sort their keys).
fn ordered_texts(fields: &[(&str, String)], pretty: bool) -> String {
    let mut out = String::from("{");
    for (i, (key, text)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if pretty {
            out.push_str("\n  ");
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push_str(": ");
            out.push_str(&text.replace('\n', "\n  "));
        } else {
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            out.push_str(&text);
        }
    }
    if pretty && !fields.is_empty() {
        out.push('\n');
    }
    out.push('}');
    out
}

fn to_text(value: &Value, pretty: bool) -> String {
    if pretty { serde_json::to_string_pretty(value).unwrap_or_default() } else { serde_json::to_string(value).unwrap_or_default() }
}

/// Go's encoder writes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`
/// (they appear only inside strings in JSON text).
fn go_escape(text: &str) -> String {
    text.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_rejects_exec_and_foreign_hosts_as_kubectl_does() {
        let filter = Filter {
            accept_paths: DEFAULT_ACCEPT_PATHS.into(),
            reject_paths: DEFAULT_REJECT_PATHS.into(),
            accept_hosts: DEFAULT_ACCEPT_HOSTS.into(),
            reject_methods: DEFAULT_REJECT_METHODS.into(),
        };
        assert!(accepts(&filter, "GET", "/api/v1/pods", "localhost"));
        assert!(accepts(&filter, "GET", "/version", "127.0.0.1"));
        assert!(!accepts(&filter, "GET", "/api/v1/namespaces/default/pods/x/exec", "localhost"));
        assert!(!accepts(&filter, "GET", "/version", "evil.com"));
        assert_eq!(extract_host("localhost:8001"), "localhost");
        assert_eq!(extract_host("[::1]:8001"), "[::1]");
        assert_eq!(split_scheme_name_port("https:web:443"), Some(("https", "web", "443")));
        assert_eq!(split_scheme_name_port("web:8080"), Some(("", "web", "8080")));
        assert_eq!(split_scheme_name_port("ftp:web:21"), None);
        assert_eq!(split_scheme_name_port(":8080"), None);
        assert_eq!(split_scheme_name_port("a:b:c:d"), None);
    }

    #[test]
    fn a_pod_proxy_port_is_dialled_as_go_does() {
        assert_eq!(dial_port(""), Ok(80));
        assert_eq!(dial_port("8080"), Ok(8080));
        assert_eq!(dial_port("HTTP"), Ok(80));
        assert_eq!(dial_port("web").unwrap_err(), "lookup tcp/web: unknown port");
        assert_eq!(dial_port("70000").unwrap_err(), "address 70000: invalid port");
        assert!(is_global_unicast("10.244.0.5"));
        assert!(!is_global_unicast("127.0.0.1"));
        assert!(!is_global_unicast("169.254.1.1"));
        assert!(!is_global_unicast(""));
    }

    #[test]
    fn json_is_written_in_go_order_and_escapes() {
        let value = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "a": "<b>", "list": []});
        assert_eq!(go_json(&value, &["kind", "apiVersion"], false), r#"{"kind":"Pod","apiVersion":"v1","a":"\u003cb\u003e","list":[]}"#);
        assert_eq!(go_json(&value, &["kind", "apiVersion"], true), "{\n  \"kind\": \"Pod\",\n  \"apiVersion\": \"v1\",\n  \"a\": \"\\u003cb\\u003e\",\n  \"list\": []\n}");
    }

    #[test]
    fn a_status_lists_its_details_in_go_order() {
        let answer = Answer { pretty: false, now: VirtualTime::ZERO };
        let (response, _) = answer.status(&ApiError::not_found("deployments.apps", "web"), Some(("web".into(), "apps".into(), "deployments".into())));
        assert_eq!(response.status, 404);
        assert_eq!(
            response.body,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#
        );
    }

    #[test]
    fn a_port_is_taken_once() {
        let mut proxies = LearnerProxies::default();
        let proxy = RunningProxy { job: 0, pid: 1343, address: "127.0.0.1".into(), port: 8001, api_prefix: "/".into(), filter: None, command: "kubectl proxy".into() };
        assert_eq!(proxies.start(proxy), Some(1));
        assert_eq!(listen_error(&proxies, "127.0.0.1", 8001).as_deref(), Some("listen tcp 127.0.0.1:8001: bind: address already in use"));
        assert_eq!(listen_error(&proxies, "127.0.0.1", 8002), None);
        assert_eq!(listen_error(&proxies, "1.2.3.4", 8002).as_deref(), Some("listen tcp 1.2.3.4:8002: bind: cannot assign requested address"));
        assert_eq!(proxies.job_index("%1"), Some(0));
        assert_eq!(proxies.job_index("%2"), None);
        assert_eq!(serving_address("0.0.0.0", 8001), "[::]:8001");
    }
}
