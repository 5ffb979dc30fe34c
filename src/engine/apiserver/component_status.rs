//! ComponentStatus, as 1.33's registry (`pkg/registry/core/componentstatus`)
//! serves it: nothing is stored; every get and list probes the control
//! plane afresh, and the resource has no other verb.

use std::rc::Rc;

use k8s_openapi::api::core::v1::{ComponentCondition, ComponentStatus};

use super::{ApiServer, Query};
use crate::engine::api::{ids, ApiError, Object, Reason, ResourceId};

/// What `serversToValidate` (`pkg/registry/core/rest/storage_core.go`)
/// probes besides etcd: each component's `/healthz` on its default secure
/// port on the API server's own host. The registry lists the answers in
/// the order its probes finish, which varies; this is the order kind
/// usually shows.
const PROBED: [(&str, u16); 2] = [("scheduler", 10259), ("controller-manager", 10257)];

/// The storage backend's entry: one etcd, named by its index.
const ETCD: &str = "etcd-0";

/// Which of [`PROBED`] answer: the simulator tells the API server when one
/// starts or stops, as a probe would find its port open or closed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Serving([bool; PROBED.len()]);

/// What a resource without that verb's route answers (go-restful's 405,
/// as the API server's service error handler words it).
pub fn method_not_allowed() -> ApiError {
    ApiError::new(Reason::MethodNotAllowed, "the server does not allow this method on the requested resource")
}

impl ApiServer {
    /// A component was started or stopped; only those the ComponentStatus
    /// registry probes are noted.
    pub fn set_component_serving(&mut self, name: &str, serving: bool) {
        if let Some(i) = PROBED.iter().position(|(n, _)| *n == name) {
            self.serving_healthz.0[i] = serving;
        }
    }

    /// `GET componentstatuses/NAME`: the registry's `Get` answers an unknown
    /// name with a plain error, which the server returns as a 500 without a
    /// reason.
    pub(super) fn component_status(&self, name: &str) -> Result<Rc<Object>, ApiError> {
        self.component_statuses()
            .find(|cs| cs.meta().name.as_deref() == Some(name))
            .ok_or_else(|| ApiError::new(Reason::Unknown, format!("Component not found: {name}")))
    }

    /// `LIST componentstatuses`, label and field selectors applied.
    pub(super) fn list_component_statuses(&self, query: &Query) -> Vec<Rc<Object>> {
        self.component_statuses().filter(|cs| query.matches(cs)).collect()
    }

    fn component_statuses(&self) -> impl Iterator<Item = Rc<Object>> + '_ {
        let probes = PROBED.iter().zip(self.serving_healthz.0).map(|(&(name, port), serving)| {
            // `DoHTTPProbe` turns a refused connection into a failure whose
            // message is the client's error, with no error of its own.
            let message = if serving {
                "ok".to_string()
            } else {
                format!("Get \"https://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused")
            };
            status(name, serving, message)
        });
        // Served only while etcd runs (reads need it here), so its check
        // passes: `EtcdServer.DoServerCheck`'s message is "ok".
        probes.chain(std::iter::once(status(ETCD, true, "ok".to_string())))
    }
}

fn status(name: &str, healthy: bool, message: String) -> Rc<Object> {
    let mut cs = ComponentStatus::default();
    cs.metadata.name = Some(name.to_string());
    cs.conditions = Some(vec![ComponentCondition {
        type_: "Healthy".to_string(),
        status: if healthy { "True" } else { "False" }.to_string(),
        message: Some(message),
        error: None,
    }]);
    Rc::new(Object::ComponentStatus(Box::new(cs)))
}

/// Whether `rid` is the ComponentStatus resource.
pub fn is_component_status(rid: ResourceId) -> bool {
    rid == ids::component_statuses()
}

/// A watch on ComponentStatus: the registry is no watcher, so the list
/// handler refuses it.
pub fn check_watchable(rid: ResourceId) -> Result<(), ApiError> {
    if is_component_status(rid) {
        return Err(ApiError::new(Reason::MethodNotAllowed, "watch is not supported on resources of kind \"componentstatuses\""));
    }
    Ok(())
}
