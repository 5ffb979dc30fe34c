//! Processes inside pods that are clients of the API server: CoreDNS's
//! `kubernetes` plugin and the ingress-nginx controller. Each running
//! container has its own informers (its own watch cache, lost when the
//! container restarts) and writes what it derives into its application's
//! state, which the network serves from. When the API server stops, their
//! watches break but the containers keep answering from what they have.
//!
//! They run as one host component that is not a stoppable cluster process:
//! a container's client lives and dies with its container.

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressStatus};

use super::apps::AppState;
use super::dns::DnsRecords;
use super::ingress::{is_ours, IngressTable};
use super::ContainerRef;
use crate::engine::api::{ids, Object};
use crate::engine::apiserver::events::{EventRecorder, NORMAL};
use crate::engine::apiserver::Query;
use crate::engine::informer::Informer;
use crate::engine::node::runtime::RuntimeContainer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

pub const NAME: &str = "pods/api-clients";

/// How often a client whose API server is gone logs its failure.
const ERROR_LOG_EVERY_MS: u64 = 30_000;

struct CoreDnsClient {
    services: Informer,
    slices: Informer,
    configured: bool,
    last_error: Option<VirtualTime>,
}

struct IngressClient {
    ingresses: Informer,
    classes: Informer,
    services: Informer,
    slices: Informer,
    recorder: EventRecorder,
    /// What the controller publishes as the Ingresses' address.
    address: Option<IngressLoadBalancerIngress>,
    /// `--watch-ingress-without-class=true`.
    without_class: bool,
    last_error: Option<VirtualTime>,
}

enum Client {
    CoreDns(Box<CoreDnsClient>),
    Ingress(Box<IngressClient>),
}

impl Client {
    fn close(&mut self, api: &mut crate::engine::apiserver::ApiServer) {
        match self {
            Client::CoreDns(c) => {
                c.services.close(api);
                c.slices.close(api);
            }
            Client::Ingress(c) => {
                c.ingresses.close(api);
                c.classes.close(api);
                c.services.close(api);
                c.slices.close(api);
            }
        }
    }
}

#[derive(Default)]
pub struct PodClients {
    clients: BTreeMap<ContainerRef, Client>,
}

fn container<'a>(ctx: &'a mut Ctx, r: &ContainerRef) -> Option<&'a mut RuntimeContainer> {
    let machine = ctx.world.machine_mut(&r.node)?;
    if !machine.powered {
        return None;
    }
    let c = machine.runtime.sandbox_mut(&r.uid)?.containers.iter_mut().find(|c| c.id == r.id)?;
    Some(c)
}

fn alive(ctx: &mut Ctx, r: &ContainerRef) -> bool {
    let now = ctx.now;
    if let Some(machine) = ctx.world.machine_mut(&r.node) {
        machine.advance(now);
    }
    container(ctx, r).is_some_and(|c| c.is_running())
}

fn log(ctx: &mut Ctx, r: &ContainerRef, line: String) {
    let now = ctx.now;
    if let Some(c) = container(ctx, r) {
        c.push_log(now, line);
    }
}

fn list_error(kind: &str, path: &str) -> String {
    format!(
        "pkg/mod/k8s.io/client-go@v0.31.2/tools/cache/reflector.go:243: Failed to watch *v1.{kind}: failed to list *v1.{kind}: Get \"https://10.96.0.1:443{path}?limit=500&resourceVersion=0\": dial tcp 10.96.0.1:443: connect: connection refused"
    )
}

impl PodClients {
    fn start_client(ctx: &mut Ctx, r: &ContainerRef) -> Option<Client> {
        let kind = container(ctx, r).map(|c| match &c.app {
            AppState::CoreDns(_) => 1,
            AppState::IngressNginx(_) => 2,
            _ => 0,
        })?;
        match kind {
            1 => Some(Client::CoreDns(Box::new(CoreDnsClient {
                services: Informer::new(Query::all(ids::services())),
                slices: Informer::new(Query::all(ids::endpoint_slices())),
                configured: false,
                last_error: None,
            }))),
            2 => Some(Client::Ingress(Box::new(IngressClient {
                ingresses: Informer::new(Query::all(crate::engine::api::find_resource("networking.k8s.io", "ingresses")?)),
                classes: Informer::new(Query::all(crate::engine::api::find_resource("networking.k8s.io", "ingressclasses")?)),
                services: Informer::new(Query::all(ids::services())),
                slices: Informer::new(Query::all(ids::endpoint_slices())),
                recorder: EventRecorder::new("nginx-ingress-controller", None),
                address: None,
                without_class: false,
                last_error: None,
            }))),
            _ => None,
        }
    }

    fn run_coredns(ctx: &mut Ctx, r: &ContainerRef, c: &mut CoreDnsClient) {
        if !c.configured && ctx.api.is_running() {
            c.configured = true;
            // The Corefile, as mounted from the `coredns` ConfigMap.
            let corefile = match ctx.api.get(ids::config_maps(), "kube-system", "coredns").as_deref() {
                Ok(Object::ConfigMap(cm)) => cm.data.as_ref().and_then(|d| d.get("Corefile")).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            let log_queries = corefile.lines().any(|l| l.trim() == "log");
            let mut hosts = Vec::new();
            let mut in_hosts = false;
            for line in corefile.lines().map(str::trim) {
                if line.starts_with("hosts") {
                    in_hosts = true;
                } else if in_hosts && line == "}" {
                    in_hosts = false;
                } else if in_hosts {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if parts.len() >= 2 && super::dns::is_ip(parts[0]) {
                        for name in &parts[1..] {
                            hosts.push((name.to_ascii_lowercase(), parts[0].to_string()));
                        }
                    }
                }
            }
            let upstream = ctx.world.net.plan.host_ip.clone();
            if let Some(AppState::CoreDns(app)) = container(ctx, r).map(|c| &mut c.app) {
                app.log_queries = log_queries;
                app.hosts = hosts;
                app.upstream = upstream;
            }
        }
        let a = c.services.sync(ctx);
        let b = c.slices.sync(ctx);
        if !ctx.api.is_running() {
            let due = c.last_error.is_none_or(|t| ctx.now.millis_since(t) >= ERROR_LOG_EVERY_MS);
            if due {
                c.last_error = Some(ctx.now);
                log(ctx, r, format!("[ERROR] plugin/kubernetes: {}", list_error("Service", "/api/v1/services")));
                log(ctx, r, format!("[ERROR] plugin/kubernetes: {}", list_error("EndpointSlice", "/apis/discovery.k8s.io/v1/endpointslices")));
            }
            return;
        }
        let synced = c.services.has_synced() && c.slices.has_synced();
        let first = synced && matches!(container(ctx, r).map(|x| &x.app), Some(AppState::CoreDns(app)) if !app.synced);
        if a.is_empty() && b.is_empty() && !first {
            return;
        }
        let services: Vec<&Service> = c.services.items().filter_map(|o| if let Object::Service(s) = &**o { Some(&**s) } else { None }).collect();
        let slices: Vec<&EndpointSlice> = c.slices.items().filter_map(|o| if let Object::EndpointSlice(s) = &**o { Some(&**s) } else { None }).collect();
        let records = Rc::new(DnsRecords::build(services.into_iter(), slices.into_iter()));
        if let Some(AppState::CoreDns(app)) = container(ctx, r).map(|x| &mut x.app) {
            app.records = records;
            app.synced = app.synced || synced;
        }
    }

    fn run_ingress(ctx: &mut Ctx, r: &ContainerRef, c: &mut IngressClient) {
        let changes = c.ingresses.sync(ctx).len() + c.classes.sync(ctx).len() + c.services.sync(ctx).len() + c.slices.sync(ctx).len();
        if !ctx.api.is_running() {
            let due = c.last_error.is_none_or(|t| ctx.now.millis_since(t) >= ERROR_LOG_EVERY_MS);
            if due {
                c.last_error = Some(ctx.now);
                log(ctx, r, format!("E{} {:>7} reflector.go:166] \"Unhandled Error\" err=\"{}\"", klog_time(ctx.now), 7, list_error("Ingress", "/apis/networking.k8s.io/v1/ingresses").replace('"', "\\\"")));
            }
            return;
        }
        if !(c.ingresses.has_synced() && c.classes.has_synced() && c.services.has_synced() && c.slices.has_synced()) {
            return;
        }
        if c.address.is_none() {
            let args = controller_args(ctx, r);
            c.without_class = args.iter().any(|a| a == "--watch-ingress-without-class=true" || a == "--watch-ingress-without-class");
            c.address = Some(publish_address(ctx, r, &args));
        }
        let first = matches!(container(ctx, r).map(|x| &x.app), Some(AppState::IngressNginx(app)) if !app.synced);
        if changes == 0 && !first {
            return;
        }
        let ingresses: Vec<&Ingress> = c.ingresses.items().filter_map(|o| if let Object::Ingress(i) = &**o { Some(&**i) } else { None }).collect();
        let classes: Vec<&IngressClass> = c.classes.items().filter_map(|o| if let Object::IngressClass(i) = &**o { Some(&**i) } else { None }).collect();
        let services: Vec<&Service> = c.services.items().filter_map(|o| if let Object::Service(s) = &**o { Some(&**s) } else { None }).collect();
        let slices: Vec<&EndpointSlice> = c.slices.items().filter_map(|o| if let Object::EndpointSlice(s) = &**o { Some(&**s) } else { None }).collect();
        let table = IngressTable::build(&ingresses, &classes, &services, &slices, c.without_class);
        let changed = !matches!(container(ctx, r).map(|x| &x.app), Some(AppState::IngressNginx(app)) if *app.table == table);
        let ours: Vec<Ingress> = ingresses.iter().filter(|i| is_ours(i, &classes, c.without_class)).map(|i| (*i).clone()).collect();
        if let Some(AppState::IngressNginx(app)) = container(ctx, r).map(|x| &mut x.app) {
            app.table = Rc::new(table);
            app.synced = true;
        }
        if changed {
            let t = klog_time(ctx.now);
            log(ctx, r, format!("I{t}       7 controller.go:214] \"Configuration changes detected, backend reload required\""));
            log(ctx, r, format!("I{t}       7 controller.go:231] \"Backend successfully reloaded\""));
        }
        let address = c.address.clone().unwrap_or_default();
        for ing in ours {
            let current = ing.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.clone()).unwrap_or_default();
            if current != vec![address.clone()] {
                let mut next = ing.clone();
                next.status = Some(IngressStatus { load_balancer: Some(IngressLoadBalancerStatus { ingress: Some(vec![address.clone()]) }) });
                if ctx.api.update_status(Object::Ingress(Box::new(next))).is_ok() {
                    let obj = Object::Ingress(Box::new(ing.clone()));
                    c.recorder.record(ctx.api, &obj, NORMAL, "Sync", "Scheduled for sync");
                    let (ns, name) = (ing.metadata.namespace.clone().unwrap_or_default(), ing.metadata.name.clone().unwrap_or_default());
                    log(ctx, r, format!("I{} {:>7} status.go:304] \"updating Ingress status\" namespace=\"{ns}\" ingress=\"{name}\" currentValue=null newValue=[{}]", klog_time(ctx.now), 7, lb_text(&address)));
                }
            }
        }
    }
}

fn lb_text(a: &IngressLoadBalancerIngress) -> String {
    match (&a.ip, &a.hostname) {
        (Some(ip), _) => format!("{{\"ip\":\"{ip}\"}}"),
        (_, Some(h)) => format!("{{\"hostname\":\"{h}\"}}"),
        _ => "{}".into(),
    }
}

/// `0101 00:00:05.000000` as klog prefixes lines.
fn klog_time(t: VirtualTime) -> String {
    let z = super::http::wall(t);
    format!("{}{:03}000", z.strftime("%m%d %H:%M:%S."), t.as_millis() % 1000)
}

/// The controller container's command line, as its pod spec gives it.
fn controller_args(ctx: &mut Ctx, r: &ContainerRef) -> Vec<String> {
    let pod = ctx.world.machine(&r.node).and_then(|m| m.runtime.sandbox(&r.uid)).map(|s| (s.namespace.clone(), s.pod.clone()));
    pod.map(|(ns, name)| match ctx.api.get(ids::pods(), &ns, &name).as_deref() {
        Ok(Object::Pod(p)) => p
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .filter(|c| c.name == r.container)
            .flat_map(|c| c.command.iter().flatten().chain(c.args.iter().flatten()))
            .cloned()
            .collect(),
        _ => vec![],
    })
    .unwrap_or_default()
}

/// `--publish-status-address` if the controller was given one, else the
/// address of the node it runs on.
fn publish_address(ctx: &mut Ctx, r: &ContainerRef, args: &[String]) -> IngressLoadBalancerIngress {
    let flag = args.iter().find_map(|a| a.strip_prefix("--publish-status-address=").map(str::to_string));
    let value = flag.unwrap_or_else(|| ctx.world.net.plan.node_ip(&r.node).unwrap_or_default().to_string());
    if super::dns::is_ip(&value) {
        IngressLoadBalancerIngress { ip: Some(value), ..Default::default() }
    } else {
        IngressLoadBalancerIngress { hostname: Some(value), ..Default::default() }
    }
}

impl Component for PodClients {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&mut self, ctx: &mut Ctx) {
        ctx.world.net.wake_clients = false;
        let registered: Vec<ContainerRef> = ctx.world.net.clients.iter().cloned().collect();
        for r in registered {
            if !alive(ctx, &r) {
                ctx.world.net.clients.remove(&r);
                if let Some(mut client) = self.clients.remove(&r) {
                    client.close(ctx.api);
                }
                continue;
            }
            if !self.clients.contains_key(&r) {
                match Self::start_client(ctx, &r) {
                    Some(c) => {
                        self.clients.insert(r.clone(), c);
                    }
                    None => {
                        ctx.world.net.clients.remove(&r);
                        continue;
                    }
                }
            }
            let Some(client) = self.clients.get_mut(&r) else { continue };
            match client {
                Client::CoreDns(c) => Self::run_coredns(ctx, &r, c),
                Client::Ingress(c) => Self::run_ingress(ctx, &r, c),
            }
        }
        // Clients whose containers vanished without being seen dead.
        let gone: Vec<ContainerRef> = self.clients.keys().filter(|r| !ctx.world.net.clients.contains(r)).cloned().collect();
        for r in gone {
            if let Some(mut c) = self.clients.remove(&r) {
                c.close(ctx.api);
            }
        }
        if !self.clients.is_empty() {
            // Notice containers that died without a watch event.
            ctx.wake_after_ms(5_000);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stoppable(&self) -> bool {
        false
    }
}
