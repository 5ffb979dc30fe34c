//! kube-proxy (iptables mode): watches Services and EndpointSlices through
//! the API server and programs its node's Service rules into the machine's
//! kernel, where connections read them. Syncs are rate-limited as the real
//! proxier's runner is (`minSyncPeriod` 1 s, bursts of 2). A stopped
//! kube-proxy leaves its rules as they were: new endpoints are not reached
//! and removed ones black-hole, until it starts again and relists.

use crate::engine::sort::SortStable;
use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use k8s_openapi::api::core::v1::{ObjectReference, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::engine::api::{ids, Object, ObjectKey};
use crate::engine::apiserver::events::NORMAL;
use crate::engine::apiserver::events_api::EventsApiRecorder;
use crate::engine::apiserver::Query;
use crate::engine::informer::Informer;
use crate::engine::network::rules::{EndpointRule, Proto, ProxyRules, ServicePortRule};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::{Component, Ctx};

/// How often kube-proxy looks for its Node before it has started.
const WAIT_FOR_NODE_MS: u64 = 1_000;
/// `--iptables-min-sync-period` default.
pub const MIN_SYNC_PERIOD_MS: u64 = 1_000;
/// Syncs allowed back to back before the rate limit applies.
const BURST_SYNCS: u64 = 2;
/// `--iptables-sync-period` default: a full resync even without changes.
const SYNC_PERIOD_MS: u64 = 30_000;
/// `sessionAffinityConfig.clientIP.timeoutSeconds` default.
const DEFAULT_AFFINITY_TIMEOUT_S: u64 = 10_800;

/// The rules for every port of one Service, from a Service and its slices.
pub fn service_rules(svc: &Service, slices: &[&EndpointSlice]) -> Vec<(ServicePortKind, Rc<ServicePortRule>)> {
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let Some(spec) = svc.spec.as_ref() else { return vec![] };
    if spec.type_.as_deref() == Some("ExternalName") {
        return vec![];
    }
    let cluster_ip = spec.cluster_ip.clone().filter(|ip| !ip.is_empty() && ip != "None");
    let affinity = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .map_or(DEFAULT_AFFINITY_TIMEOUT_S, |t| t.max(0) as u64)
    });
    let node_port_type = matches!(spec.type_.as_deref(), Some("NodePort") | Some("LoadBalancer"));
    let external_local = node_port_type && spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let mut external: Vec<String> = spec.external_ips.clone().unwrap_or_default();
    for ing in svc.status.iter().flat_map(|s| s.load_balancer.iter()).flat_map(|lb| lb.ingress.iter().flatten()) {
        if let Some(ip) = &ing.ip {
            external.push(ip.clone());
        }
    }
    let mut out = Vec::new();
    for port in spec.ports.iter().flatten() {
        let port_name = port.name.clone().unwrap_or_default();
        let proto = port.protocol.clone().unwrap_or_else(|| "TCP".into());
        let mut endpoints = Vec::new();
        for slice in slices {
            let Some(target) = slice.ports.iter().flatten().find(|p| p.name.clone().unwrap_or_default() == port_name && p.protocol.as_deref().unwrap_or("TCP") == proto) else {
                continue;
            };
            let Some(number) = target.port else { continue };
            for ep in &slice.endpoints {
                let c = ep.conditions.clone().unwrap_or_default();
                let ready = c.ready.unwrap_or(true);
                for ip in &ep.addresses {
                    endpoints.push(EndpointRule {
                        ip: ip.clone(),
                        port: number,
                        node: ep.node_name.clone(),
                        pod: ep.target_ref.as_ref().map(|r| [r.namespace.as_deref().unwrap_or_default(), "/", r.name.as_deref().unwrap_or_default()].concat()),
                        ready,
                        serving: c.serving.unwrap_or(ready),
                        terminating: c.terminating.unwrap_or(false),
                    });
                }
            }
        }
        endpoints.sort_stable_by(|a, b| (&a.ip, a.port).cmp(&(&b.ip, b.port)));
        endpoints.dedup_by(|a, b| a.ip == b.ip && a.port == b.port);
        let chain = if port_name.is_empty() { [ns.as_str(), "/", name.as_str()].concat() } else { [ns.as_str(), "/", name.as_str(), ":", port_name.as_str()].concat() };
        let rule = Rc::new(ServicePortRule {
            name: chain,
            namespace: ns.clone(),
            service: name.clone(),
            endpoints,
            affinity_timeout_s: affinity,
            external_local,
            internal_local,
        });
        let proto = Proto::parse(&proto);
        if let Some(ip) = &cluster_ip {
            out.push((ServicePortKind::ClusterIp(ip.clone(), port.port, proto), rule.clone()));
        }
        if node_port_type {
            if let Some(np) = port.node_port {
                out.push((ServicePortKind::NodePort(np, proto), rule.clone()));
            }
        }
        for ip in &external {
            out.push((ServicePortKind::External(ip.clone(), port.port, proto), rule.clone()));
        }
    }
    out
}

/// A Service's compiled rules, shared by every kube-proxy that compiled
/// them from the same versions of the Service and its slices.
type CompiledService = Rc<[(ServicePortKind, Rc<ServicePortRule>)]>;

/// The versions one Service's rules were last compiled from.
type CompiledFrom = (Rc<Object>, Vec<Rc<Object>>);

thread_local! {
    static LAST_COMPILED: std::cell::RefCell<Option<(CompiledFrom, CompiledService)>> = const { std::cell::RefCell::new(None) };
}

/// [`service_rules`] of the Service and slices `svc` and `slices` hold
/// (each kube-proxy gets the same versions from its watch, one after
/// another): compiled once per version, not once per node, and held by
/// the kept versions so that an address stays theirs.
fn shared_service_rules(svc: Rc<Object>, slices: Vec<Rc<Object>>) -> CompiledService {
    let same = |(s, sl): &CompiledFrom| Rc::ptr_eq(s, &svc) && sl.len() == slices.len() && sl.iter().zip(&slices).all(|(a, b)| Rc::ptr_eq(a, b));
    let compile = || -> CompiledService {
        let Object::Service(service) = &*svc else { return Rc::from(Vec::new()) };
        let slice_refs: Vec<&EndpointSlice> = slices.iter().filter_map(|o| match &**o {
            Object::EndpointSlice(s) => Some(&**s),
            _ => None,
        }).collect();
        Rc::from(service_rules(service, &slice_refs))
    };
    let rules = crate::engine::kept::last_or_make(&LAST_COMPILED, same, || (svc.clone(), slices.clone()), compile);
    debug_assert_eq!(rules, compile(), "kept rules are the ones these versions compile to");
    rules
}

/// Where a chain is hooked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServicePortKind {
    ClusterIp(String, i32, Proto),
    NodePort(i32, Proto),
    External(String, i32, Proto),
}

/// The process' memory, lost when it stops.
struct State {
    started: bool,
    services: Informer,
    slices: Informer,
    /// Compiled rules per Service, rebuilt when the Service or its slices change.
    compiled: BTreeMap<ObjectKey, CompiledService>,
    /// EndpointSlices by the Service they belong to.
    slices_by_service: BTreeMap<ObjectKey, std::collections::BTreeSet<ObjectKey>>,
    dirty: bool,
    tokens_ms: u64,
    last_refill: VirtualTime,
    last_sync: Option<VirtualTime>,
}

impl State {
    fn new() -> Self {
        State {
            started: false,
            services: Informer::new(Query::all(ids::services())),
            slices: Informer::new(Query::all(ids::endpoint_slices())),
            compiled: BTreeMap::new(),
            slices_by_service: BTreeMap::new(),
            dirty: true,
            tokens_ms: BURST_SYNCS * MIN_SYNC_PERIOD_MS,
            last_refill: VirtualTime::ZERO,
            last_sync: None,
        }
    }
}

pub struct KubeProxy {
    name: String,
    node: String,
    state: State,
    recorder: EventsApiRecorder,
}

impl KubeProxy {
    pub fn new(node: &str) -> Self {
        KubeProxy { name: format!("kube-proxy/{node}"), node: node.to_string(), state: State::new(), recorder: EventsApiRecorder::new("kube-proxy", node) }
    }

    fn recompile(&mut self, key: &ObjectKey) {
        let svc = match self.state.services.get(key) {
            Some(obj) if matches!(&**obj, Object::Service(_)) => obj.clone(),
            _ => {
                self.state.compiled.remove(key);
                return;
            }
        };
        let slices: Vec<Rc<Object>> = self
            .state
            .slices_by_service
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|k| self.state.slices.get(k).filter(|o| matches!(&***o, Object::EndpointSlice(_))).cloned())
            .collect();
        self.state.compiled.insert(key.clone(), shared_service_rules(svc, slices));
    }

    /// Writes the compiled rules into the machine's kernel.
    fn program(&mut self, ctx: &mut Ctx) {
        let Some(machine) = ctx.world.machine_mut(&self.node) else { return };
        let mut rules = ProxyRules { synced_at: Some(ctx.now), affinity: std::mem::take(&mut machine.proxy.affinity), ..Default::default() };
        for entries in self.state.compiled.values() {
            for (kind, rule) in entries.iter() {
                match kind {
                    ServicePortKind::ClusterIp(ip, port, proto) => {
                        rules.service_ips.insert(ip.clone(), ());
                        rules.cluster_ips.insert((ip.clone(), *port, *proto), rule.clone());
                    }
                    ServicePortKind::NodePort(port, proto) => {
                        rules.node_ports.insert((*port, *proto), rule.clone());
                    }
                    ServicePortKind::External(ip, port, proto) => {
                        rules.external_ips.insert((ip.clone(), *port, *proto), rule.clone());
                    }
                }
            }
        }
        // Affinity entries of chains that are gone are flushed with them.
        let chains: std::collections::BTreeSet<&str> = crate::engine::sort::insert_all(rules.cluster_ips.values().chain(rules.node_ports.values()).chain(rules.external_ips.values()).map(|r| r.name.as_str()));
        rules.affinity.retain(|(chain, _), _| chains.contains(chain.as_str()));
        machine.proxy = rules;
    }

    fn refill(&mut self, now: VirtualTime) {
        let elapsed = now.millis_since(self.state.last_refill);
        self.state.tokens_ms = (self.state.tokens_ms + elapsed).min(BURST_SYNCS * MIN_SYNC_PERIOD_MS);
        self.state.last_refill = now;
    }
}

impl Component for KubeProxy {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, ctx: &mut Ctx) {
        self.recorder.run_due(ctx.api, ctx.now);
        if let Some(t) = self.recorder.next_write() {
            ctx.wake_at(t);
        }
        if !self.state.started {
            if ctx.api.get(ids::nodes(), "", &self.node).is_err() {
                ctx.wake_after_ms(WAIT_FOR_NODE_MS);
                return;
            }
            self.state.started = true;
            self.state.last_refill = ctx.now;
            ctx.log(format!("kube-proxy started on {} (iptables mode)", self.node));
            let node_ref = ObjectReference { kind: Some("Node".into()), name: Some(self.node.clone()), uid: Some(self.node.clone()), ..Default::default() };
            self.recorder.event_ref(ctx.api, node_ref, None, NORMAL, "Starting", "StartKubeProxy", String::new());
        }
        let svc_events = self.state.services.sync(ctx);
        let slice_events = self.state.slices.sync(ctx);
        let mut changed: std::collections::BTreeSet<ObjectKey> = crate::engine::sort::insert_all(svc_events.iter().map(|e| ObjectKey::of(&e.object)));
        for ev in &slice_events {
            let m = ev.object.meta();
            let slice_key = ObjectKey::of(&ev.object);
            if let Some(svc) = m.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) {
                let svc_key = ObjectKey::new(m.namespace.clone().unwrap_or_default(), svc.clone());
                let set = self.state.slices_by_service.entry(svc_key.clone()).or_default();
                if ev.kind == crate::engine::apiserver::WatchEventType::Deleted {
                    set.remove(&slice_key);
                } else {
                    set.insert(slice_key);
                }
                changed.insert(svc_key);
            }
        }
        for key in &changed {
            self.recompile(key);
        }
        if !changed.is_empty() {
            self.state.dirty = true;
        }
        if !(self.state.services.has_synced() && self.state.slices.has_synced()) {
            return;
        }
        let now = ctx.now;
        let periodic = self.state.last_sync.is_none_or(|t| now.millis_since(t) >= SYNC_PERIOD_MS);
        if self.state.dirty || periodic {
            self.refill(now);
            if self.state.tokens_ms >= MIN_SYNC_PERIOD_MS {
                self.state.tokens_ms -= MIN_SYNC_PERIOD_MS;
                let was_dirty = self.state.dirty;
                self.program(ctx);
                self.state.dirty = false;
                self.state.last_sync = Some(now);
                if was_dirty && ctx.logging() {
                    let count = ctx.world.machine(&self.node).map_or(0, |m| m.proxy.chain_count());
                    ctx.log(format!("synced iptables rules on {} ({count} service chains)", self.node));
                }
            } else {
                ctx.wake_after_ms(MIN_SYNC_PERIOD_MS - self.state.tokens_ms);
                return;
            }
        }
        let next = self.state.last_sync.unwrap_or(now).plus_millis(SYNC_PERIOD_MS);
        ctx.wake_at(next);
    }

    fn on_stop(&mut self) {
        self.state = State::new();
        self.recorder.reset();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_cluster_ip_node_port_and_affinity() {
        let svc: Service = serde_yaml::from_str(
            "metadata: {name: web, namespace: default}\nspec:\n  type: NodePort\n  clusterIP: 10.96.5.5\n  sessionAffinity: ClientIP\n  externalTrafficPolicy: Local\n  ports:\n  - {name: http, port: 80, protocol: TCP, nodePort: 30080}\n",
        )
        .unwrap();
        let slice: EndpointSlice = serde_yaml::from_str(
            "metadata: {name: web-x, namespace: default, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports:\n- {name: http, port: 8080, protocol: TCP}\nendpoints:\n- addresses: [10.244.1.5]\n  conditions: {ready: true, serving: true, terminating: false}\n  nodeName: worker-1\n- addresses: [10.244.2.5]\n  conditions: {ready: false, serving: true, terminating: true}\n  nodeName: worker-2\n",
        )
        .unwrap();
        let rules = service_rules(&svc, &[&slice]);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].0, ServicePortKind::ClusterIp("10.96.5.5".into(), 80, Proto::Tcp));
        assert_eq!(rules[1].0, ServicePortKind::NodePort(30080, Proto::Tcp));
        let rule = &rules[0].1;
        assert_eq!(rule.name, "default/web:http");
        assert_eq!(rule.affinity_timeout_s, Some(10_800));
        assert!(rule.external_local);
        assert_eq!(rule.endpoints.len(), 2);
        assert_eq!((rule.endpoints[0].port, rule.endpoints[1].terminating), (8080, true));
    }
}

#[cfg(test)]
mod sync_tests {
    use crate::engine::api::{ids, Object};
    use crate::engine::cluster::{Cluster, Profile, ProfileKind};
    use crate::engine::kubectl::{self, NoFiles};

    fn programmed(cluster: &Cluster, name: &str) -> bool {
        let ip = match cluster.sim.api.get(ids::services(), "default", name).as_deref() {
            Ok(Object::Service(s)) => s.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default(),
            _ => return false,
        };
        cluster.sim.world.machine("minikube").is_some_and(|m| m.proxy.service_ips.contains_key(&ip))
    }

    #[test]
    fn syncs_are_rate_limited_after_a_burst_of_two_and_stale_while_stopped() {
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Minikube), 1);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let out = kubectl::run(&mut cluster, &format!("create service clusterip {name} --tcp=80"), None, &NoFiles);
            assert_eq!(out.exit_code, 0, "{}", out.combined());
            cluster.sim.run_for_ms(10);
            assert_eq!(programmed(&cluster, name), i < 2, "service {name}: two syncs in a burst, then one a second");
        }
        cluster.sim.run_for_ms(1_000);
        assert!(programmed(&cluster, "c"));
        cluster.sim.stop("kube-proxy/minikube").unwrap();
        kubectl::run(&mut cluster, "create service clusterip d --tcp=80", None, &NoFiles);
        kubectl::run(&mut cluster, "delete service a", None, &NoFiles);
        cluster.sim.run_for_ms(5_000);
        assert!(!programmed(&cluster, "d"), "a stopped kube-proxy writes nothing");
        assert!(cluster.sim.world.machine("minikube").is_some_and(|m| m.proxy.service_ips.len() >= 5), "its old rules stay");
        cluster.sim.start("kube-proxy/minikube").unwrap();
        cluster.sim.run_for_ms(2_000);
        assert!(programmed(&cluster, "d"));
    }
}
