//! The EndpointSlice mirroring controller (`pkg/controller/endpointslicemirroring`):
//! the Endpoints of a Service without a selector, written by hand, are
//! mirrored into EndpointSlices (one per address type and port list, at
//! most 1000 endpoints each), since kube-proxy reads only slices. Endpoints
//! labelled `endpointslice.kubernetes.io/skip-mirror: "true"`, those with a
//! leader-election annotation, and those of a Service with a selector (the
//! endpoints controller's) are not mirrored; their mirrored slices go.

use std::collections::BTreeMap;

use crate::engine::sort::SortStable;

use k8s_openapi::api::core::v1::{EndpointPort, Endpoints};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::engine::api::{ids, ApiError, Object, ObjectKey, Reason, ResourceId};
use crate::engine::apiserver::events::{EventRecorder, WARNING};
use crate::engine::apiserver::DeleteOptions;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

use super::endpoints::{MANAGED_BY_LABEL, SERVICE_NAME_LABEL};
use super::{Cache, Changes, Reconciler, WorkLoop};

/// The `managed-by` value of the slices this controller writes.
pub const MIRRORING_MANAGED_BY: &str = "endpointslicemirroring-controller.k8s.io";
const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
const LEADER_ELECTION_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// `--mirroring-max-endpoints-per-subset`'s default.
const MAX_ENDPOINTS_PER_SUBSET: usize = 1000;

/// What the slices of one address type and port list hold.
type PortKey = (String, Vec<SlicePort>);

#[derive(Default)]
pub struct EndpointSliceMirroringController {
    work: WorkLoop,
    recorder: Option<EventRecorder>,
}

fn should_mirror(ep: &Endpoints) -> bool {
    let skip = ep.metadata.labels.as_ref().and_then(|l| l.get(SKIP_MIRROR_LABEL)).is_some_and(|v| v == "true");
    let leader = ep.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(LEADER_ELECTION_ANNOTATION));
    !skip && !leader
}

/// Whether the Service `namespace/name` has a selector (an empty one is
/// none: the API server stores it so).
fn has_selector(cache: &Cache, namespace: &str, name: &str) -> Option<bool> {
    match cache.of(ids::services()).get_by_parts(namespace, name).map(|o| &**o) {
        Some(Object::Service(s)) => Some(s.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some_and(|s| !s.is_empty())),
        _ => None,
    }
}

fn mirrored_by_us(slice: &EndpointSlice, service: &str) -> bool {
    let labels = slice.metadata.labels.as_ref();
    labels.and_then(|l| l.get(MANAGED_BY_LABEL)).is_some_and(|v| v == MIRRORING_MANAGED_BY) && labels.and_then(|l| l.get(SERVICE_NAME_LABEL)).is_some_and(|v| v == service)
}

fn mirrored_slices(cache: &Cache, namespace: &str, service: &str) -> Vec<EndpointSlice> {
    let mut out: Vec<EndpointSlice> = cache
        .of(ids::endpoint_slices())
        .in_namespace(namespace)
        .filter_map(|o| if let Object::EndpointSlice(s) = &**o { Some((**s).clone()) } else { None })
        .filter(|s| mirrored_by_us(s, service))
        .collect();
    out.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

/// Go's `net.ParseIP` as `ParseIPSloppy` reads it (IPv4 parts may have
/// leading zeros, read as decimal), written back as `ip.String()` writes
/// it, with its address type (an IPv4-mapped IPv6 address is IPv4).
pub fn sloppy_ip(text: &str) -> Option<(String, &'static str)> {
    use std::net::{IpAddr, Ipv4Addr};
    let ip = match text.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let parts: Vec<&str> = text.split('.').collect();
            if parts.len() != 4 || parts.iter().any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            let mut octets = [0u8; 4];
            for (octet, part) in octets.iter_mut().zip(&parts) {
                *octet = part.parse::<u8>().ok()?;
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        }
    };
    Some(match ip {
        IpAddr::V4(v4) => (v4.to_string(), "IPv4"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (v4.to_string(), "IPv4"),
            None => (v6.to_string(), "IPv6"),
        },
    })
}

fn slice_ports(ports: &[EndpointPort]) -> Vec<SlicePort> {
    ports
        .iter()
        .map(|p| SlicePort { name: Some(p.name.clone().unwrap_or_default()), port: Some(p.port), protocol: Some(p.protocol.clone().unwrap_or_default()), app_protocol: p.app_protocol.clone() })
        .collect()
}

/// The labels and annotations a mirrored slice carries: the Endpoints' own
/// (but its trigger time and kubectl's last-applied configuration), with
/// the service name and manager set.
fn slice_meta(ep: &Endpoints, name: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = ep.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), name.to_string());
    labels.insert(MANAGED_BY_LABEL.into(), MIRRORING_MANAGED_BY.into());
    let mut annotations = ep.metadata.annotations.clone().unwrap_or_default();
    annotations.remove(TRIGGER_TIME);
    annotations.remove(LAST_APPLIED);
    (labels, annotations)
}

/// The same endpoints, in any order.
fn same_endpoints(a: &[Endpoint], b: &[Endpoint]) -> bool {
    a.len() == b.len() && a.iter().all(|e| b.contains(e))
}

impl EndpointSliceMirroringController {
    pub fn new() -> Self {
        Self::default()
    }

    fn delete_slices(ctx: &mut Ctx, namespace: &str, slices: &[EndpointSlice]) -> Result<(), ApiError> {
        for slice in slices {
            let name = slice.metadata.name.as_deref().unwrap_or_default();
            match ctx.api.delete(ids::endpoint_slices(), namespace, name, &DeleteOptions::default()) {
                Err(e) if e.reason != Reason::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn sync(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        let existing = mirrored_slices(cache, &key.namespace, &key.name);
        let endpoints = match cache.of(ids::endpoints()).get(key).map(|o| &**o) {
            Some(Object::Endpoints(ep)) if should_mirror(ep) && has_selector(cache, &key.namespace, &key.name) == Some(false) => (**ep).clone(),
            // Gone, not to be mirrored, without a Service, or the endpoints controller's.
            _ => return Self::delete_slices(ctx, &key.namespace, &existing).map(|_| None),
        };

        // Desired endpoints by address type and port list, as `desiredCalc` groups them.
        let mut desired: Vec<(PortKey, Vec<Endpoint>)> = Vec::new();
        let mut invalid = 0;
        for subset in endpoints.subsets.iter().flatten() {
            let ports = slice_ports(subset.ports.as_deref().unwrap_or_default());
            let mut added = 0;
            let addresses = subset.addresses.iter().flatten().map(|a| (a, true)).chain(subset.not_ready_addresses.iter().flatten().map(|a| (a, false)));
            for (address, ready) in addresses {
                if added >= MAX_ENDPOINTS_PER_SUBSET {
                    break;
                }
                let Some((ip, address_type)) = sloppy_ip(&address.ip) else {
                    invalid += 1;
                    continue;
                };
                added += 1;
                let endpoint = Endpoint {
                    addresses: vec![ip],
                    conditions: Some(EndpointConditions { ready: Some(ready), serving: None, terminating: None }),
                    hostname: address.hostname.clone().filter(|h| !h.is_empty()),
                    node_name: address.node_name.clone(),
                    target_ref: address.target_ref.clone(),
                    ..Default::default()
                };
                let port_key = (address_type.to_string(), ports.clone());
                let at = match desired.iter().position(|(k, _)| *k == port_key) {
                    Some(at) => at,
                    None => {
                        desired.push((port_key, Vec::new()));
                        desired.len() - 1
                    }
                };
                let list = &mut desired[at].1;
                if !list.iter().any(|e| e.addresses == endpoint.addresses) {
                    list.push(endpoint);
                }
            }
        }
        if invalid > 0 {
            let recorder = self.recorder.get_or_insert_with(|| EventRecorder::new("endpoint-slice-mirroring-controller", None));
            recorder.record(ctx.api, &Object::Endpoints(Box::new(endpoints.clone())), WARNING, "InvalidIPAddress", format!("Skipped {invalid} invalid IP addresses when mirroring to EndpointSlices"));
        }

        let (labels, annotations) = slice_meta(&endpoints, &key.name);
        let mut by_key: Vec<(PortKey, Vec<EndpointSlice>)> = Vec::new();
        for slice in existing {
            let port_key = (slice.address_type.clone(), slice.ports.clone().unwrap_or_default());
            match by_key.iter_mut().find(|(k, _)| *k == port_key) {
                Some((_, slices)) => slices.push(slice),
                None => by_key.push((port_key, vec![slice])),
            }
        }
        let mut to_create: Vec<EndpointSlice> = Vec::new();
        let mut to_update: Vec<EndpointSlice> = Vec::new();
        let mut to_delete: Vec<EndpointSlice> = Vec::new();
        for (port_key, wanted) in desired {
            let current = match by_key.iter().position(|(k, _)| *k == port_key) {
                Some(at) => by_key.remove(at).1,
                None => Vec::new(),
            };
            let mut current = current.into_iter();
            let first = current.next();
            to_delete.extend(current);
            if let Some(first) = &first {
                let unchanged = same_endpoints(&first.endpoints, &wanted)
                    && first.metadata.labels.as_ref() == Some(&labels)
                    && first.metadata.annotations.clone().unwrap_or_default() == annotations;
                if unchanged {
                    continue;
                }
            }
            let slice = EndpointSlice {
                metadata: ObjectMeta {
                    name: first.as_ref().and_then(|s| s.metadata.name.clone()),
                    generate_name: first.is_none().then(|| format!("{}-", key.name)),
                    namespace: Some(key.namespace.to_string()),
                    labels: Some(labels.clone()),
                    annotations: (!annotations.is_empty()).then(|| annotations.clone()),
                    owner_references: Some(vec![owner_of(&endpoints)]),
                    ..first.as_ref().map(|s| s.metadata.clone()).unwrap_or_default()
                },
                address_type: port_key.0,
                endpoints: wanted,
                ports: Some(port_key.1),
            };
            if first.is_some() {
                to_update.push(slice);
            } else {
                to_create.push(slice);
            }
        }
        // Slices of port lists no longer wanted go, or are reused for new ones (`recycleSlices`).
        to_delete.extend(by_key.into_iter().flat_map(|(_, slices)| slices));
        for mut slice in std::mem::take(&mut to_create) {
            match to_delete.pop() {
                Some(old) => {
                    slice.metadata.name = old.metadata.name.clone();
                    slice.metadata.generate_name = None;
                    slice.metadata.resource_version = old.metadata.resource_version.clone();
                    slice.metadata.uid = old.metadata.uid.clone();
                    slice.metadata.creation_timestamp = old.metadata.creation_timestamp.clone();
                    to_update.push(slice);
                }
                None => to_create.push(slice),
            }
        }
        if endpoints.metadata.deletion_timestamp.is_none() {
            for slice in to_create {
                match ctx.api.create(Object::EndpointSlice(Box::new(slice))) {
                    Err(e) if e.reason != Reason::Forbidden => return Err(e),
                    _ => {}
                }
            }
        }
        for slice in to_update {
            ctx.api.update(Object::EndpointSlice(Box::new(slice)))?;
        }
        Self::delete_slices(ctx, &key.namespace, &to_delete)?;
        Ok(None)
    }
}

/// `metav1.NewControllerRef(endpoints, v1/Endpoints)`.
fn owner_of(ep: &Endpoints) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Endpoints".into(),
        name: ep.metadata.name.clone().unwrap_or_default(),
        uid: ep.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

impl Reconciler for EndpointSliceMirroringController {
    fn name(&self) -> &str {
        "endpointslice-mirroring-controller"
    }
    fn kind(&self) -> ResourceId {
        ids::endpoints()
    }
    fn watches(&self) -> Vec<ResourceId> {
        vec![ids::endpoints(), ids::endpoint_slices(), ids::services()]
    }
    fn work(&mut self) -> &mut WorkLoop {
        &mut self.work
    }
    fn enqueue(&mut self, cache: &Cache, changes: &Changes, _now: VirtualTime) {
        for ev in changes.of(ids::endpoints()) {
            let Object::Endpoints(ep) = &*ev.object else { continue };
            let ns = ep.metadata.namespace.as_deref().unwrap_or_default();
            let name = ep.metadata.name.as_deref().unwrap_or_default();
            // The endpoints controller's Endpoints (its Service has a selector) are
            // never mirrored; the Service's own change queues it if that changes.
            if has_selector(cache, ns, name) == Some(true) && mirrored_slices(cache, ns, name).is_empty() {
                continue;
            }
            self.work.queue.add(ObjectKey::of(&ev.object));
        }
        for ev in changes.of(ids::services()) {
            let Object::Service(svc) = &*ev.object else { continue };
            let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
            let name = svc.metadata.name.as_deref().unwrap_or_default();
            let selectorless = !svc.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some_and(|s| !s.is_empty());
            if selectorless || !mirrored_slices(cache, ns, name).is_empty() {
                self.work.queue.add(ObjectKey::of(&ev.object));
            }
        }
        // Someone changed or removed a mirrored slice: put it right.
        for ev in changes.of(ids::endpoint_slices()) {
            let m = ev.object.meta();
            let labels = m.labels.as_ref();
            if labels.and_then(|l| l.get(MANAGED_BY_LABEL)).is_some_and(|v| v == MIRRORING_MANAGED_BY) {
                if let Some(service) = labels.and_then(|l| l.get(SERVICE_NAME_LABEL)).filter(|s| !s.is_empty()) {
                    self.work.queue.add(ObjectKey::new(m.namespace.clone().unwrap_or_default(), service.clone()));
                }
            }
        }
    }
    fn reconcile(&mut self, ctx: &mut Ctx, cache: &Cache, key: &ObjectKey) -> Result<Option<VirtualTime>, ApiError> {
        self.sync(ctx, cache, key)
    }
    fn forget(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_read_as_go_reads_them() {
        assert_eq!(sloppy_ip("10.0.0.1"), Some(("10.0.0.1".into(), "IPv4")));
        assert_eq!(sloppy_ip("010.000.000.001"), Some(("10.0.0.1".into(), "IPv4")));
        assert_eq!(sloppy_ip("::ffff:10.0.0.1"), Some(("10.0.0.1".into(), "IPv4")));
        assert_eq!(sloppy_ip("2001:db8:0:0::1"), Some(("2001:db8::1".into(), "IPv6")));
        assert_eq!(sloppy_ip("not-an-ip"), None);
        assert_eq!(sloppy_ip("256.1.1.1"), None);
    }
}
