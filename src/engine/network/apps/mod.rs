//! Applications that answer: small state machines keyed by image, one file
//! per family. Each serves requests arriving on its container's ports,
//! writes the log lines the real software writes, spends CPU per request,
//! and may call other services through the pod's network (Pageview calls
//! Redis, ingress-nginx proxies to pods).
//!
//! Families:
//! - [`web`]: nginx (welcome page, 404s) and Apache httpd ("It works!").
//! - [`redis`]: Redis, with its keyspace in the container (lost on restart).
//! - [`tutorials`]: the seeds' and tutorials' apps: kubia, kubernetes-bootcamp,
//!   hashicorp/http-echo, the Workshop's k8s-for-beginners and Pageview,
//!   and hpa-example (CPU spent per request).
//! - [`coredns`]: cluster DNS answered from CoreDNS's own watch cache.
//! - [`ingress_nginx`]: the ingress-nginx controller's proxy and default backend.
//! - [`generic`]: any other image: accepts connections on its declared ports.

pub mod coredns;
pub mod generic;
pub mod ingress_nginx;
pub mod redis;
pub mod tutorials;
pub mod web;

use std::rc::Rc;

use super::dns::{DnsQuery, DnsReply};
use super::http::{HttpRequest, HttpResponse};
use super::redis_proto::RespValue;
use crate::engine::node::images::ImageName;
use crate::engine::sim::clock::VirtualTime;

/// What a client sends on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Http(HttpRequest),
    /// One Redis command, as its arguments.
    Redis(Vec<String>),
    Dns(DnsQuery),
    /// Raw text typed into `nc`.
    Raw(String),
}

/// What comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Http(HttpResponse),
    Redis(RespValue),
    Dns(DnsReply),
    Raw(String),
    /// The server closed the connection without answering.
    Closed,
    /// The server accepted but says nothing (a UDP port, a TCP server
    /// waiting for a protocol it does not see).
    Silent,
}

/// Why a call from inside a pod failed, in the words Go's net package uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The name did not resolve (`no such host`).
    NoSuchHost { name: String, server: String },
    /// DNS did not answer.
    DnsTimeout { name: String, server: String, local: String },
    Refused { addr: String },
    Timeout { addr: String },
    Unreachable { addr: String },
    /// The peer closed the connection (`EOF`).
    Closed { addr: String },
}

impl CallError {
    /// Go's error string (`dial tcp 10.96.0.5:6379: connect: connection refused`).
    pub fn go_error(&self) -> String {
        match self {
            CallError::NoSuchHost { name, server } => format!("dial tcp: lookup {name} on {server}: no such host"),
            CallError::DnsTimeout { name, server, local } => format!("dial tcp: lookup {name} on {server}: read udp {local}->{server}: i/o timeout"),
            CallError::Refused { addr } => format!("dial tcp {addr}: connect: connection refused"),
            CallError::Timeout { addr } => format!("dial tcp {addr}: i/o timeout"),
            CallError::Unreachable { addr } => format!("dial tcp {addr}: connect: no route to host"),
            CallError::Closed { .. } => "EOF".to_string(),
        }
    }
}

/// Calls out of the serving pod, through its own resolver and its node's rules.
pub trait Upstream {
    fn call(&mut self, host: &str, port: i32, payload: Payload) -> Result<Reply, CallError>;
    /// Connects straight to a pod address (no DNS, no Service rules), as
    /// ingress-nginx reaches its upstream endpoints.
    fn call_ip(&mut self, ip: &str, port: i32, payload: Payload) -> Result<Reply, CallError>;
}

/// An upstream for contexts that cannot reach the network (probes run by
/// the kubelet): every call is refused.
pub struct NoUpstream;

impl Upstream for NoUpstream {
    fn call(&mut self, host: &str, port: i32, _: Payload) -> Result<Reply, CallError> {
        Err(CallError::Refused { addr: format!("{host}:{port}") })
    }
    fn call_ip(&mut self, ip: &str, port: i32, _: Payload) -> Result<Reply, CallError> {
        Err(CallError::Refused { addr: format!("{ip}:{port}") })
    }
}

/// One request as a server sees it.
pub struct Incoming {
    pub payload: Payload,
    /// The peer address after any NAT.
    pub client_ip: String,
    pub client_port: u16,
    /// The port it arrived on inside the pod.
    pub port: i32,
    /// A kubelet probe rather than a client.
    pub probe: bool,
}

/// What a server has around it while it answers.
pub struct ServeCx<'a> {
    pub now: VirtualTime,
    /// The pod's hostname: its name, or its node's for a hostNetwork pod.
    pub pod: &'a str,
    pub namespace: &'a str,
    pub pod_ip: &'a str,
    /// When the process started.
    pub started_at: VirtualTime,
    /// Lines written to the container's log while serving.
    pub logs: Vec<String>,
    /// CPU the request costs, in microseconds of one core.
    pub cpu_us: u64,
    pub upstream: &'a mut dyn Upstream,
    /// For nginx: what the container's files hold at the request's path,
    /// looked up before serving ([`web::nginx_find`]).
    pub docroot: Option<web::Found>,
}

impl ServeCx<'_> {
    pub fn log(&mut self, line: impl Into<String>) {
        self.logs.push(line.into());
    }
}

/// The application running in a container, with its in-memory state.
/// The applications with state of their own are boxed: every container
/// holds one, and most (nginx, shells) hold a variant with none.
#[derive(Clone, Debug, Default)]
pub enum AppState {
    /// Nothing the network knows listens (shells, batch jobs).
    #[default]
    None,
    Nginx(web::Nginx),
    Httpd(web::Httpd),
    Redis(Box<redis::Redis>),
    Kubia(Box<tutorials::Kubia>),
    Bootcamp(Box<tutorials::Bootcamp>),
    HttpEcho(Box<tutorials::HttpEcho>),
    Agnhost(tutorials::Agnhost),
    Beginners,
    Pageview,
    HpaExample,
    CoreDns(Box<coredns::CoreDns>),
    IngressNginx(Box<ingress_nginx::Controller>),
    /// metrics-server: the last window it scraped, which the metrics API serves.
    MetricsServer(Shared<crate::engine::metrics::Snapshot>),
    Generic,
    /// Taken out of the container while it serves a request.
    Busy,
}

impl AppState {
    /// The application an image runs, given the container's command line
    /// (`command` + `args`, empty for the image's default).
    pub fn for_image(image: &ImageName, command: &[String], args: &[String]) -> AppState {
        let repo = image.short_repository();
        let last = repo.rsplit('/').next().unwrap_or(&repo).to_string();
        let tag = image.tag.as_str();
        // A container that runs a shell or a custom program is not the image's server.
        let custom = command.first().is_some_and(|c| !["nginx", "redis", "http-echo", "httpd", "agnhost", "coredns"].iter().any(|known| c.contains(known)));
        match last.as_str() {
            _ if custom => AppState::None,
            "nginx" | "nginx-slim" => AppState::Nginx(web::Nginx),
            "httpd" | "apache" => AppState::Httpd(web::Httpd),
            "redis" => AppState::Redis(Box::default()),
            "kubia" | "kubia-unhealthy" | "kubia-pet" | "kubia-pet-peers" => AppState::Kubia(Box::new(tutorials::Kubia::new(&last, tag))),
            "kubernetes-bootcamp" => AppState::Bootcamp(Box::new(tutorials::Bootcamp::new(tag))),
            "http-echo" => {
                let argv: Vec<String> = command.iter().skip(1).chain(args.iter()).cloned().collect();
                AppState::HttpEcho(Box::new(tutorials::HttpEcho::from_args(&argv)))
            }
            "agnhost" => match tutorials::Agnhost::from_argv(command, args) {
                Some(a) => AppState::Agnhost(a),
                None => AppState::None,
            },
            "hpa-example" => AppState::HpaExample,
            "coredns" => AppState::CoreDns(Box::default()),
            "metrics-server" => AppState::MetricsServer(Default::default()),
            "controller" if repo.contains("ingress-nginx") => AppState::IngressNginx(Box::default()),
            "the-kubernetes-workshop" if tag.contains("pageview") => AppState::Pageview,
            "the-kubernetes-workshop" if tag.contains("k8s-for-beginners") => AppState::Beginners,
            _ => AppState::Generic,
        }
    }

    /// Ports the application listens on because its flags say so.
    pub fn listen_ports(&self) -> Vec<i32> {
        match self {
            AppState::HttpEcho(a) => vec![a.port()],
            AppState::Agnhost(a) => vec![a.port],
            _ => vec![],
        }
    }

    /// Whether its process is a client of the API server (it keeps a watch cache).
    pub fn is_api_client(&self) -> bool {
        matches!(self, AppState::CoreDns(_) | AppState::IngressNginx(_))
    }

    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        match self {
            AppState::None | AppState::Busy => Reply::Closed,
            AppState::Nginx(a) => a.serve(req, cx),
            AppState::Httpd(a) => a.serve(req, cx),
            AppState::Redis(a) => a.serve(req, cx),
            AppState::Kubia(a) => a.serve(req, cx),
            AppState::Bootcamp(a) => a.serve(req, cx),
            AppState::HttpEcho(a) => a.serve(req, cx),
            AppState::Agnhost(a) => a.serve(req, cx),
            AppState::Beginners => tutorials::serve_beginners(req, cx),
            AppState::Pageview => tutorials::serve_pageview(req, cx),
            AppState::HpaExample => tutorials::serve_hpa_example(req, cx),
            AppState::CoreDns(a) => a.serve(req, cx),
            AppState::IngressNginx(a) => a.serve(req, cx),
            AppState::Generic | AppState::MetricsServer(_) => generic::serve(req, cx),
        }
    }
}

/// The HTTP request inside a payload, parsing raw text as a server would.
pub fn http_of(payload: &Payload) -> Option<HttpRequest> {
    match payload {
        Payload::Http(r) => Some(r.clone()),
        Payload::Raw(text) => HttpRequest::parse(text),
        _ => None,
    }
}

/// Answers in the form the request came: a value for HTTP clients, the wire
/// text for `nc`.
pub fn http_reply(payload: &Payload, response: HttpResponse) -> Reply {
    match payload {
        Payload::Raw(_) => Reply::Raw(response.wire()),
        _ => Reply::Http(response),
    }
}

/// Shared, immutable data a server answers from (its watch cache).
pub type Shared<T> = Rc<T>;
