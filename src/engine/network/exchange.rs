//! Delivering a payload to the application a connection landed on, and the
//! calls that application makes in turn from its own pod.

use super::apps::{AppState, CallError, Incoming, Payload, Reply, ServeCx, Upstream};
use super::path::connect;
use super::resolver::{resolve, resolv_conf, ResolveError};
use super::rules::Proto;
use super::{ConnectError, Landing, Origin};
use crate::engine::node::images::ImageName;
use crate::engine::node::filesystem::Fs;
use crate::engine::node::runtime::{RuntimeContainer, Runtime};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::{Machine, World};

/// How deep calls may nest (ingress → app → database → …).
const MAX_DEPTH: u32 = 6;

/// Sets up the application a freshly started container runs: its server,
/// CPU quota and host ports. Called by the kubelet after starting it.
pub fn attach_app(runtime: &mut Runtime, uid: &str, spec: &k8s_openapi::api::core::v1::Container, image: &ImageName) {
    let command = spec.command.clone().unwrap_or_default();
    let args = spec.args.clone().unwrap_or_default();
    let app = AppState::for_image(image, &command, &args);
    let limit = crate::engine::node::runtime::cpu_limit_millis(spec.resources.as_ref());
    let host_ports: Vec<(i32, i32)> = spec.ports.iter().flatten().filter_map(|p| p.host_port.map(|h| (h, p.container_port))).collect();
    let Some(c) = runtime.sandbox_mut(uid).and_then(|s| s.latest_mut(&spec.name)) else { return };
    if !c.is_running() {
        return;
    }
    let client = app.is_api_client();
    for port in app.listen_ports() {
        c.listen(port);
    }
    c.app = app;
    c.cpu.limit_millis = limit;
    c.host_ports = host_ports;
    let entry = (uid.to_string(), c.name.clone(), c.id.to_string());
    let started = c.started_at.unwrap_or_default();
    let deferred = c.deferred().cloned();
    if let Some(pass) = super::talkers::loop_of(&command, &args) {
        runtime.started_talkers.push((entry.0.clone(), entry.1.clone(), entry.2.clone(), started, pass));
    }
    if let Some(command) = deferred {
        runtime.started_scripts.push((entry.0.clone(), entry.1.clone(), entry.2.clone(), started, command));
    }
    if client {
        runtime.started_clients.push(entry);
    }
}

/// The container behind `landing`, with its node's disk (where its volumes are).
fn find_container<'a>(world: &'a mut World, landing: &Landing) -> Option<(&'a mut RuntimeContainer, &'a Fs)> {
    let Machine { runtime, disk, .. } = world.machine_mut(&landing.node)?;
    let container = runtime.sandbox_mut(&landing.uid)?.containers.iter_mut().find(|c| c.id == landing.container_id)?;
    Some((container, disk))
}

/// For nginx: what the container's files hold at `path` under its root
/// (`ServeCx::docroot`); `None` for any other application.
fn docroot(container: &RuntimeContainer, disk: &Fs, path: &str) -> Option<super::apps::web::Found> {
    matches!(container.app, AppState::Nginx(_)).then(|| super::apps::web::nginx_find(&container.view(disk), path))
}

/// Hands `payload` to the application behind `landing`. Returns its reply
/// and when the reply is complete.
pub fn exchange(world: &mut World, landing: &Landing, payload: Payload, now: VirtualTime, depth: u32) -> (Reply, VirtualTime) {
    // A hostNetwork pod shares its node's UTS namespace: its hostname is the node's.
    let host_network = world.machine(&landing.node).and_then(|m| m.runtime.sandbox(&landing.uid)).is_some_and(|s| s.host_network);
    let hostname = if host_network { landing.node.clone() } else { landing.pod.clone() };
    let Some((container, disk)) = find_container(world, landing) else { return (Reply::Closed, now) };
    let docroot = match &payload {
        Payload::Http(request) => docroot(container, disk, request.path()),
        _ => None,
    };
    let mut app = std::mem::replace(&mut container.app, AppState::Busy);
    let started_at = container.started_at.unwrap_or(now);
    let origin = Origin::Pod {
        node: landing.node.clone(),
        uid: landing.uid.clone(),
        namespace: landing.namespace.clone(),
        name: landing.pod.clone(),
        ip: landing.pod_ip.clone(),
    };
    let mut upstream = PodUpstream { world, origin, now, depth: depth + 1, done: now };
    let incoming = Incoming { payload, client_ip: landing.client_ip.clone(), client_port: landing.client_port, port: landing.port, probe: false };
    let (reply, logs, cpu_us) = {
        let mut cx = ServeCx {
            now,
            pod: &hostname,
            namespace: &landing.namespace,
            pod_ip: &landing.pod_ip,
            started_at,
            logs: Vec::new(),
            cpu_us: 0,
            upstream: &mut upstream,
            docroot,
        };
        let reply = app.serve(&incoming, &mut cx);
        (reply, cx.logs, cx.cpu_us)
    };
    let upstream_done = upstream.done;
    let world = upstream.world;
    if matches!(reply, Reply::Http(_) | Reply::Raw(_)) && !matches!(app, AppState::IngressNginx(_)) {
        world.net.responder = Some(landing.pod.clone());
    }
    let mut done = upstream_done;
    if let Some((container, _)) = find_container(world, landing) {
        if matches!(container.app, AppState::Busy) {
            container.app = app;
        }
        for line in logs {
            container.push_log(now, line);
        }
        done = done.max(container.cpu.run(now, cpu_us));
    }
    (reply, done)
}

/// Answers a kubelet HTTP probe through the container's application.
/// Returns the status code, or `None` when the application does not speak
/// HTTP (the caller keeps its own rule).
/// `disk` is the node's, where the container's volumes are.
#[allow(clippy::too_many_arguments)]
pub fn http_probe(container: &mut RuntimeContainer, disk: &Fs, port: i32, path: &str, host: &str, pod: &str, now: VirtualTime) -> Option<u16> {
    if matches!(container.app, AppState::None | AppState::Generic | AppState::Busy) {
        return None;
    }
    let docroot = docroot(container, disk, path);
    let mut app = std::mem::replace(&mut container.app, AppState::Busy);
    let request = super::http::HttpRequest::get(&format!("{host}:{port}"), path, "kube-probe/1.33");
    let incoming = Incoming { payload: Payload::Http(request), client_ip: host.to_string(), client_port: 0, port, probe: true };
    let mut none = super::apps::NoUpstream;
    let mut cx = ServeCx { now, pod, namespace: "", pod_ip: host, started_at: container.started_at.unwrap_or(now), logs: Vec::new(), cpu_us: 0, upstream: &mut none, docroot };
    let reply = app.serve(&incoming, &mut cx);
    let (logs, cpu) = (cx.logs, cx.cpu_us);
    container.app = app;
    for line in logs {
        container.push_log(now, line);
    }
    container.cpu.run(now, cpu);
    match reply {
        Reply::Http(r) => Some(r.status),
        _ => None,
    }
}

/// Calls made by a serving application, from its pod.
pub struct PodUpstream<'w> {
    pub world: &'w mut World,
    pub origin: Origin,
    pub now: VirtualTime,
    pub depth: u32,
    /// When the last reply came back.
    pub done: VirtualTime,
}

impl PodUpstream<'_> {
    fn dial(&mut self, ip: &str, port: i32) -> Result<Landing, CallError> {
        let addr = format!("{ip}:{port}");
        connect(self.world, &self.origin, ip, port, Proto::Tcp, self.now).map_err(|e| match e {
            ConnectError::Refused => CallError::Refused { addr },
            ConnectError::TimedOut => CallError::Timeout { addr },
            ConnectError::NoRoute => CallError::Unreachable { addr },
        })
    }

    fn send(&mut self, landing: Landing, payload: Payload) -> Result<Reply, CallError> {
        if self.depth > MAX_DEPTH {
            return Err(CallError::Closed { addr: format!("{}:{}", landing.pod_ip, landing.port) });
        }
        let (reply, done) = exchange(self.world, &landing, payload, self.now, self.depth);
        self.done = self.done.max(done);
        match reply {
            Reply::Closed => Err(CallError::Closed { addr: format!("{}:{}", landing.pod_ip, landing.port) }),
            r => Ok(r),
        }
    }
}

impl Upstream for PodUpstream<'_> {
    fn call(&mut self, host: &str, port: i32, payload: Payload) -> Result<Reply, CallError> {
        let server = resolv_conf(self.world, &self.origin).nameservers.first().cloned().unwrap_or_default();
        let (resolved, spent) = resolve(self.world, &self.origin, host, self.now);
        self.done = self.done.max(self.now.plus_millis(spent));
        let ip = match resolved {
            Ok(r) => r.addresses.first().cloned().unwrap_or_default(),
            Err(ResolveError::Timeout) => {
                let local = match &self.origin {
                    Origin::Pod { ip, .. } => format!("{ip}:{}", self.world.net.ephemeral_port()),
                    _ => String::new(),
                };
                return Err(CallError::DnsTimeout { name: host.to_string(), server: format!("{server}:53"), local });
            }
            Err(_) => return Err(CallError::NoSuchHost { name: host.to_string(), server: format!("{server}:53") }),
        };
        let landing = self.dial(&ip, port)?;
        self.send(landing, payload)
    }

    fn call_ip(&mut self, ip: &str, port: i32, payload: Payload) -> Result<Reply, CallError> {
        let landing = self.dial(ip, port)?;
        self.send(landing, payload)
    }
}
