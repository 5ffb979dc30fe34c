//! The Endpoints and EndpointSlice controllers: for every Service with a
//! selector, the IPs of the pods it selects and the ports its targetPorts
//! resolve to. Endpoints list ready pods under `addresses` and unready ones
//! under `notReadyAddresses`; EndpointSlices (at most 100 endpoints each)
//! carry ready/serving/terminating conditions and are owned by the Service.

use crate::engine::sort::SortStable;
use std::any::Any;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Service};
use crate::engine::api::pod::Pod;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::api::{ids, meta, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::{DeleteOptions, WatchEventType};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::queue::{drain, WorkQueue};
use super::util;
use super::{Cache, Changes, Controller};

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
pub const ENDPOINTS_MANAGED_BY_LABEL: &str = "endpoints.kubernetes.io/managed-by";
pub const ENDPOINTS_MANAGED_BY: &str = "endpoint-controller";
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
const MAX_ENDPOINTS_PER_SLICE: usize = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Publishes {
    Endpoints,
    EndpointSlices,
}

/// A port as resolved for one pod: (name, port, protocol, appProtocol).
type Port = (Option<String>, i32, String, Option<String>);

/// One selected pod, as both kinds describe it.
struct Member {
    ip: String,
    node: Option<String>,
    target: ObjectReference,
    hostname: Option<String>,
    ready: bool,
    serving: bool,
    terminating: bool,
}

pub struct EndpointsController {
    what: Publishes,
    queue: WorkQueue,
    primed: bool,
}

fn selector_of(svc: &Service) -> Option<Selector> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let labels = spec.selector.as_ref().filter(|s| !s.is_empty())?;
    Some(Selector::from_map(labels))
}

/// `FindPort`: a named targetPort is the container port of that name and the
/// Service port's protocol, in the containers or, failing them, in the
/// sidecars (init containers with `restartPolicy: Always`); a pod without
/// one is not an endpoint for that Service port.
fn find_named_port(pod: &Pod, name: &str, protocol: &str) -> Option<i32> {
    let spec = pod.spec.as_ref()?;
    let sidecars = spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol)
        .map(|p| p.container_port)
}

fn resolve_ports(svc: &Service, pod: &Pod) -> Vec<Port> {
    let mut out = Vec::new();
    for sp in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
        let protocol = sp.protocol.clone().unwrap_or_else(|| "TCP".into());
        let port = match &sp.target_port {
            None => Some(sp.port),
            Some(IntOrString::Int(n)) => Some(*n),
            Some(IntOrString::String(name)) => find_named_port(pod, name, &protocol),
        };
        if let Some(port) = port {
            out.push((sp.name.clone(), port, protocol, sp.app_protocol.clone()));
        }
    }
    out.sort_stable();
    out
}

impl EndpointsController {
    pub fn new(what: Publishes) -> Self {
        EndpointsController { what, queue: WorkQueue::default(), primed: false }
    }

    fn own_resource(&self) -> ResourceId {
        match self.what {
            Publishes::Endpoints => ids::endpoints(),
            Publishes::EndpointSlices => ids::endpoint_slices(),
        }
    }

    fn handle_events(&mut self, cache: &Cache, changes: &Changes) {
        for ev in changes.of(ids::services()) {
            self.queue.add(ObjectKey::of(&ev.object));
        }
        let services = cache.of(ids::services());
        for ev in changes.of(ids::pods()) {
            let m = ev.object.meta();
            for svc in services.in_namespace(m.namespace.as_deref().unwrap_or_default()) {
                if let Object::Service(s) = &**svc {
                    if selector_of(s).is_some_and(|sel| sel.matches(m.labels.as_ref())) {
                        self.queue.add(ObjectKey::of(svc));
                    }
                }
            }
        }
        // Someone changed or removed what we publish: put it right.
        for ev in changes.of(self.own_resource()) {
            let m = ev.object.meta();
            let ns = m.namespace.clone().unwrap_or_default();
            let service = match self.what {
                Publishes::Endpoints => m.name.clone(),
                Publishes::EndpointSlices => m.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).cloned(),
            };
            if let Some(name) = service {
                if ev.kind == WatchEventType::Deleted || services.get(&ObjectKey::new(ns.clone(), name.clone())).is_some() {
                    self.queue.add(ObjectKey::new(ns, name));
                }
            }
        }
    }

    fn members(&self, cache: &Cache, svc: &Service, selector: &Selector) -> Vec<(Member, Vec<Port>)> {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let publish_not_ready = svc.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false);
        let svc_name = svc.metadata.name.clone().unwrap_or_default();
        let mut out = Vec::new();
        for o in cache.of(ids::pods()).in_namespace(&ns) {
            let Object::Pod(p) = &**o else { continue };
            if !selector.matches(p.metadata.labels.as_ref()) || matches!(util::pod_phase(p), "Succeeded" | "Failed") {
                continue;
            }
            let Some(ip) = p.status.as_ref().and_then(|s| s.pod_ip()).map(std::borrow::Cow::into_owned).filter(|ip| !ip.is_empty()) else { continue };
            let terminating = util::is_terminating(p);
            // `ShouldPodBeInEndpoints`: Endpoints keep a terminating pod only when not-ready addresses are published.
            if terminating && self.what == Publishes::Endpoints && !publish_not_ready {
                continue;
            }
            let ready = util::is_ready(p);
            let spec = p.spec.as_ref();
            let hostname = spec
                .filter(|s| s.subdomain.as_deref() == Some(svc_name.as_str()))
                .and_then(|s| s.hostname.clone());
            let member = Member {
                ip,
                node: p.node_name.clone(),
                target: ObjectReference {
                    kind: Some("Pod".into()),
                    namespace: Some(ns.clone()),
                    name: p.metadata.name.clone(),
                    uid: p.metadata.uid.clone(),
                    ..Default::default()
                },
                hostname,
                // `podToEndpoint`: serving is the pod's readiness; ready is published regardless, or serving and not terminating.
                ready: publish_not_ready || (ready && !terminating),
                serving: ready,
                terminating,
            };
            out.push((member, resolve_ports(svc, p)));
        }
        out.sort_stable_by(|a, b| a.0.ip.cmp(&b.0.ip).then_with(|| a.0.target.name.cmp(&b.0.target.name)));
        out
    }

    fn labels_for(svc: &Service) -> BTreeMap<String, String> {
        let mut labels = svc.metadata.labels.clone().unwrap_or_default();
        if svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        }
        labels
    }

    fn sync_one(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let svc = match cache.of(ids::services()).get(key).map(|o| &**o) {
            Some(Object::Service(s)) => Some((**s).clone()),
            _ => None,
        };
        let selector = svc.as_ref().and_then(selector_of);
        match self.what {
            Publishes::Endpoints => self.sync_endpoints(ctx, cache, key, svc.as_ref(), selector.as_ref()),
            Publishes::EndpointSlices => self.sync_slices(ctx, cache, key, svc.as_ref(), selector.as_ref()),
        }
        .map(|_| None)
    }

    fn sync_endpoints(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, svc: Option<&Service>, selector: Option<&Selector>) -> Result<(), ApiError> {
        let existing = cache.of(ids::endpoints()).get(key).cloned();
        let Some(svc) = svc else {
            // The Service is gone; so are its Endpoints.
            if existing.is_some() {
                match ctx.api.delete(ids::endpoints(), &key.namespace, &key.name, &DeleteOptions::default()) {
                    Err(e) if e.reason != Reason::NotFound => return Err(e),
                    _ => {}
                }
            }
            return Ok(());
        };
        // Without a selector the Endpoints are the user's to write.
        let Some(selector) = selector else { return Ok(()) };
        let mut groups: BTreeMap<Vec<Port>, (Vec<EndpointAddress>, Vec<EndpointAddress>)> = BTreeMap::new();
        // "Allow headless service not to have ports": its pods are listed without ports.
        let headless_without_ports = svc.spec.as_ref().is_some_and(|s| s.cluster_ip.as_deref() == Some("None") && s.ports.as_ref().is_none_or(Vec::is_empty));
        for (m, ports) in self.members(cache, svc, selector) {
            if ports.is_empty() && !headless_without_ports {
                continue;
            }
            let addr = EndpointAddress { ip: m.ip, node_name: m.node, target_ref: Some(m.target), hostname: m.hostname };
            let entry = groups.entry(ports).or_default();
            if m.ready {
                entry.0.push(addr);
            } else {
                entry.1.push(addr);
            }
        }
        let subsets: Vec<EndpointSubset> = groups
            .into_iter()
            .map(|(ports, (ready, not_ready))| EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then(|| ports.into_iter().map(|(name, port, protocol, app_protocol)| EndpointPort { name, port, protocol: Some(protocol), app_protocol }).collect()),
            })
            .collect();
        let subsets = (!subsets.is_empty()).then_some(subsets);
        let mut labels = Self::labels_for(svc);
        // 1.33's controller marks the Endpoints it writes (`LabelManagedBy` = `ControllerName`).
        labels.insert(ENDPOINTS_MANAGED_BY_LABEL.into(), ENDPOINTS_MANAGED_BY.into());
        match existing.as_deref() {
            Some(Object::Endpoints(ep)) => {
                if ep.subsets == subsets && ep.metadata.labels.clone().unwrap_or_default() == labels {
                    return Ok(());
                }
                let mut next = ep.clone();
                next.subsets = subsets;
                next.metadata.labels = (!labels.is_empty()).then_some(labels);
                next.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(TRIGGER_TIME.into(), trigger_time(ctx.now));
                ctx.api.update(Object::Endpoints(next))?;
            }
            _ => {
                let ep = Endpoints {
                    metadata: ObjectMeta {
                        name: Some(key.name.to_string()),
                        namespace: Some(key.namespace.to_string()),
                        labels: (!labels.is_empty()).then_some(labels),
                        annotations: Some(BTreeMap::from([(TRIGGER_TIME.to_string(), trigger_time(ctx.now))])),
                        ..Default::default()
                    },
                    subsets,
                };
                match ctx.api.create(Object::Endpoints(Box::new(ep))) {
                    Err(e) if !matches!(e.reason, Reason::AlreadyExists | Reason::Forbidden) => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn sync_slices(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey, svc: Option<&Service>, selector: Option<&Selector>) -> Result<(), ApiError> {
        // Slices of a deleted Service go with it through their ownerReference.
        let (Some(svc), Some(selector)) = (svc, selector) else { return Ok(()) };
        let mut existing: Vec<EndpointSlice> = cache
            .of(ids::endpoint_slices())
            .in_namespace(&key.namespace)
            .filter_map(|o| if let Object::EndpointSlice(s) = &**o { Some((**s).clone()) } else { None })
            .filter(|s| {
                let l = s.metadata.labels.as_ref();
                l.and_then(|l| l.get(SERVICE_NAME_LABEL)).map(String::as_str) == Some(&*key.name) && l.and_then(|l| l.get(MANAGED_BY_LABEL)).map(String::as_str) == Some(MANAGED_BY)
            })
            .collect();
        existing.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut groups: BTreeMap<Vec<Port>, Vec<Endpoint>> = BTreeMap::new();
        for (m, ports) in self.members(cache, svc, selector) {
            groups.entry(ports).or_default().push(Endpoint {
                addresses: vec![m.ip],
                conditions: Some(EndpointConditions { ready: Some(m.ready), serving: Some(m.serving), terminating: Some(m.terminating) }),
                hostname: m.hostname,
                node_name: m.node,
                target_ref: Some(m.target),
                ..Default::default()
            });
        }
        let mut desired: Vec<(Option<Vec<SlicePort>>, Vec<Endpoint>)> = Vec::new();
        for (ports, endpoints) in groups {
            // An unnamed Service port is `name: ""` in a slice, as the API server stores it (and as the
            // real controller writes it); `None` here would never equal the stored slice.
            let ports: Vec<SlicePort> = ports
                .into_iter()
                .map(|(name, port, protocol, app_protocol)| SlicePort { name: Some(name.unwrap_or_default()), port: Some(port), protocol: Some(protocol), app_protocol })
                .collect();
            for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
                desired.push((Some(ports.clone()), chunk.to_vec()));
            }
        }
        if desired.is_empty() {
            // A placeholder slice says "selected, but nothing to route to".
            desired.push((None, Vec::new()));
        }
        let mut labels = Self::labels_for(svc);
        labels.insert(SERVICE_NAME_LABEL.into(), key.name.to_string());
        labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        let owner = util::controller_ref(&Object::Service(Box::new(svc.clone())));
        let address_type = if desired.iter().flat_map(|d| &d.1).any(|e| e.addresses.iter().any(|a| a.contains(':'))) { "IPv6" } else { "IPv4" };
        let mut current = existing.into_iter();
        for (ports, endpoints) in desired {
            match current.next() {
                Some(slice) => {
                    if slice.ports == ports && slice.endpoints == endpoints && slice.metadata.labels.as_ref() == Some(&labels) {
                        continue;
                    }
                    let mut next = slice;
                    next.ports = ports;
                    next.endpoints = endpoints;
                    next.metadata.labels = Some(labels.clone());
                    next.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(TRIGGER_TIME.into(), trigger_time(ctx.now));
                    ctx.api.update(Object::EndpointSlice(Box::new(next)))?;
                }
                None => {
                    let slice = EndpointSlice {
                        metadata: ObjectMeta {
                            generate_name: Some(format!("{}-", key.name)),
                            namespace: Some(key.namespace.to_string()),
                            labels: Some(labels.clone()),
                            annotations: Some(BTreeMap::from([(TRIGGER_TIME.to_string(), trigger_time(ctx.now))])),
                            owner_references: Some(vec![owner.clone()]),
                            ..Default::default()
                        },
                        address_type: address_type.into(),
                        endpoints,
                        ports,
                    };
                    match ctx.api.create(Object::EndpointSlice(Box::new(slice))) {
                        Err(e) if e.reason != Reason::Forbidden => return Err(e),
                        _ => {}
                    }
                }
            }
        }
        for extra in current {
            let name = extra.metadata.name.clone().unwrap_or_default();
            match ctx.api.delete(ids::endpoint_slices(), &key.namespace, &name, &DeleteOptions::default()) {
                Err(e) if e.reason != Reason::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

fn trigger_time(now: VirtualTime) -> String {
    meta::api_time(now).0.to_string()
}

impl Controller for EndpointsController {
    fn name(&self) -> &str {
        match self.what {
            Publishes::Endpoints => "endpoints-controller",
            Publishes::EndpointSlices => "endpointslice-controller",
        }
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::services(), ids::pods(), self.own_resource()]
    }
    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, changes: &Changes) {
        if !cache.synced(&self.watches()) {
            self.primed = false;
            return;
        }
        if !self.primed {
            self.primed = true;
            for o in cache.of(ids::services()).items() {
                self.queue.add(ObjectKey::of(o));
            }
            // What was published for Services deleted while we were down.
            if self.what == Publishes::Endpoints {
                for o in cache.of(ids::endpoints()).items() {
                    self.queue.add(ObjectKey::of(o));
                }
            }
        }
        self.handle_events(cache, changes);
        let mut queue = std::mem::take(&mut self.queue);
        drain(&mut queue, ctx, |ctx, key| self.sync_one(ctx, cache, key));
        self.queue = queue;
    }
    fn reset(&mut self) {
        self.queue.clear();
        self.primed = false;
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::Query;
    use crate::engine::controllers::testkit::{self, template};
    use crate::engine::sim::Sim;
    use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn setup() -> Sim {
        let mut sim = testkit::sim();
        let rs = ReplicaSet {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(ReplicaSetSpec {
                replicas: Some(2),
                selector: LabelSelector { match_labels: Some(BTreeMap::from([("app".into(), "web".into())])), ..Default::default() },
                template: Some(template("web", "nginx")),
                min_ready_seconds: None,
            }),
            status: None,
        };
        sim.api.create(Object::ReplicaSet(Box::new(rs.into()))).expect("rs");
        let svc = Service {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(ServiceSpec {
                selector: Some(BTreeMap::from([("app".into(), "web".into())])),
                ports: Some(vec![ServicePort { port: 80, target_port: Some(IntOrString::Int(8080)), protocol: Some("TCP".into()), ..Default::default() }]),
                ..Default::default()
            }),
            status: None,
        };
        sim.api.create(Object::Service(Box::new(svc))).expect("svc");
        sim
    }

    fn endpoints(sim: &Sim) -> Endpoints {
        match &*sim.api.get(ids::endpoints(), "default", "web").expect("endpoints") {
            Object::Endpoints(e) => *e.clone(),
            _ => unreachable!(),
        }
    }

    fn slices(sim: &Sim) -> Vec<EndpointSlice> {
        let (items, _) = sim.api.list(&Query::in_namespace(ids::endpoint_slices(), "default")).expect("list");
        items.iter().filter_map(|o| if let Object::EndpointSlice(s) = &**o { Some((**s).clone()) } else { None }).collect()
    }

    #[test]
    fn ready_pods_become_addresses() {
        let mut sim = setup();
        sim.run_for_ms(500);
        // Pods without IPs yet: nothing to route to, and a placeholder slice.
        assert_eq!(endpoints(&sim).subsets, None);
        let placeholder = slices(&sim);
        assert_eq!(placeholder.len(), 1);
        assert!(placeholder[0].endpoints.is_empty());
        sim.run_for_ms(5_000);
        let ep = endpoints(&sim);
        let subsets = ep.subsets.expect("subsets");
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0].addresses.as_ref().map(Vec::len), Some(2));
        assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 8080);
        let s = slices(&sim);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].endpoints.len(), 2);
        assert!(s[0].metadata.name.as_ref().unwrap().starts_with("web-"));
        assert_eq!(s[0].metadata.labels.as_ref().unwrap()[SERVICE_NAME_LABEL], "web");
        assert_eq!(s[0].metadata.owner_references.as_ref().unwrap()[0].kind, "Service");
        assert!(s[0].endpoints.iter().all(|e| e.conditions.as_ref().unwrap().ready == Some(true)));

        // A pod going unready moves to notReadyAddresses.
        let pod = testkit::live_pods(&sim, "default")[0].metadata.name.clone().unwrap();
        sim.api
            .modify(ids::pods(), "default", &pod, true, |o| {
                if let Object::Pod(p) = o {
                    for c in p.status_mut_if_any().unwrap().conditions.as_mut().unwrap() {
                        if c.type_ == "Ready" {
                            c.status = "False".into();
                        }
                    }
                }
                true
            })
            .expect("unready");
        sim.run_for_ms(100);
        let subsets = endpoints(&sim).subsets.unwrap();
        assert_eq!(subsets[0].addresses.as_ref().map(Vec::len), Some(1));
        assert_eq!(subsets[0].not_ready_addresses.as_ref().map(Vec::len), Some(1));

        sim.api.delete(ids::services(), "default", "web", &DeleteOptions::default()).expect("delete");
        sim.run_for_ms(1_000);
        assert!(sim.api.get(ids::endpoints(), "default", "web").is_err());
        assert!(slices(&sim).is_empty());
    }
}
