//! The pod network's policy agent (the CNI plugin's, such as kindnet's or
//! Calico's): watches NetworkPolicies and, while any exist, the Pods and
//! Namespaces they may select, and programs the policy table the data path
//! enforces. It is part of the network, not a component a learner stops:
//! the table stays as programmed while the API server is down.

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::policy::{PolicyPod, PolicyTable};
use crate::engine::api::{ids, Object};
use crate::engine::apiserver::Query;
use crate::engine::informer::Informer;
use crate::engine::sim::{Component, Ctx};

pub const NAME: &str = "pods/network-policy";

pub struct PolicyAgent {
    policies: Informer,
    /// Watched only while at least one NetworkPolicy exists.
    pods: Option<Informer>,
    namespaces: Option<Informer>,
}

impl Default for PolicyAgent {
    fn default() -> Self {
        let rid = crate::engine::api::find_resource("networking.k8s.io", "networkpolicies").unwrap_or(ids::services());
        PolicyAgent { policies: Informer::new(Query::all(rid)), pods: None, namespaces: None }
    }
}

impl Component for PolicyAgent {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&mut self, ctx: &mut Ctx) {
        let mut changed = !self.policies.sync(ctx).is_empty();
        if !self.policies.has_synced() {
            return;
        }
        if self.policies.is_empty() {
            if let Some(mut p) = self.pods.take() {
                p.close(ctx.api);
            }
            if let Some(mut n) = self.namespaces.take() {
                n.close(ctx.api);
            }
            if !ctx.world.net.policies.is_empty() {
                ctx.world.net.policies = PolicyTable::default();
            }
            return;
        }
        let pods = self.pods.get_or_insert_with(|| Informer::new(Query::all(ids::pods())));
        changed |= !pods.sync(ctx).is_empty();
        let namespaces = self.namespaces.get_or_insert_with(|| Informer::new(Query::all(ids::namespaces())));
        changed |= !namespaces.sync(ctx).is_empty();
        let ready = self.pods.as_ref().is_some_and(Informer::has_synced) && self.namespaces.as_ref().is_some_and(Informer::has_synced);
        if !changed || !ready {
            return;
        }
        let mut table = PolicyTable::default();
        for o in self.policies.items() {
            if let Object::NetworkPolicy(p) = &**o {
                table.policies.entry(p.metadata.namespace.clone().unwrap_or_default()).or_default().push(Rc::new(*p.clone()));
            }
        }
        for o in self.namespaces.iter().flat_map(|i| i.items()) {
            if let Object::Namespace(n) = &**o {
                table.namespaces.insert(n.metadata.name.clone().unwrap_or_default(), n.metadata.labels.clone().unwrap_or_default());
            }
        }
        for o in self.pods.iter().flat_map(|i| i.items()) {
            let Object::Pod(p) = &**o else { continue };
            let Some(ip) = p.status.as_ref().and_then(|s| s.pod_ip()).map(std::borrow::Cow::into_owned).filter(|ip| !ip.is_empty()) else { continue };
            if p.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false) {
                continue;
            }
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let ports = p
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .flat_map(|c| c.ports.iter().flatten())
                .filter_map(|cp| cp.name.clone().map(|n| (n, cp.container_port, cp.protocol.clone().unwrap_or_else(|| "TCP".into()))))
                .collect();
            let pod = Rc::new(PolicyPod { namespace: ns.clone(), name: name.clone(), labels: p.metadata.labels.clone().unwrap_or_default(), ports });
            table.by_name.insert((ns, name), ip.clone());
            table.pods.insert(ip, pod);
        }
        let _: &BTreeMap<String, Rc<PolicyPod>> = &table.pods;
        ctx.world.net.policies = table;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stoppable(&self) -> bool {
        false
    }
}
