//! A container's environment, as the kubelet builds it
//! (`makeEnvironmentVariables`): `envFrom` sources first (with `prefix`),
//! then `env` in order (`value` with `$(VAR)` expansion, or `valueFrom`
//! a ConfigMap or Secret key, a pod field or a container resource), then
//! the service-link variables of every Service in the namespace (and the
//! `kubernetes` Service of `default`, always).
//!
//! The kubelet keeps these in a Go map, so their real order varies from
//! container to container; the simulation lists `envFrom` keys sorted per
//! source, then `env` in declaration order, then each Service's variables
//! by Service name.

use crate::engine::sort::SortStable;
use std::rc::Rc;

use indexmap::IndexMap;
use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, ResourceFieldSelector, Service};
use crate::engine::api::pod::Pod;

use crate::engine::api::Object;
use crate::engine::quantity::Quantity;

/// Looks up a ConfigMap or Secret of the pod's namespace by name, with the
/// kubelet's error (`configmap "x" not found`).
pub type Lookup<'a> = &'a mut dyn FnMut(&str) -> Result<Rc<Object>, String>;

/// What the kubelet knows besides the pod when it builds an environment.
pub struct Sources<'a> {
    pub configmap: Lookup<'a>,
    pub secret: Lookup<'a>,
    /// Services the kubelet's lister holds; `None` until it has listed them once.
    pub services: Option<Vec<Rc<Object>>>,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
    /// Node allocatable, the default for unset limits: (cpu millis, memory bytes, ephemeral bytes).
    pub allocatable: (i128, i128, i128),
}

/// `$(VAR)` expansion as the kubelet does it (`expansion.Expand`): known
/// variables are replaced, unknown ones left as written, `$$` escapes a `$`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes: Vec<char> = input.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                '$' => {
                    out.push('$');
                    i += 2;
                }
                '(' => match bytes[i + 2..].iter().position(|c| *c == ')') {
                    Some(rel) => {
                        let name: String = bytes[i + 2..i + 2 + rel].iter().collect();
                        match lookup(&name) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&format!("$({name})")),
                        }
                        i += rel + 3;
                    }
                    None => {
                        out.push_str("$(");
                        i += 2;
                    }
                },
                c => {
                    out.push('$');
                    out.push(c);
                    i += 2;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// `makeEnvVariableName`: dashes become underscores, letters upper case;
/// a leading digit (a port name may start with one) stays as it is.
fn env_name(s: &str) -> String {
    s.replace('-', "_").to_uppercase()
}

/// The service-link variables of one Service (`envvars.FromServices`).
pub fn service_vars(svc: &Service) -> Vec<(String, String)> {
    let Some(spec) = svc.spec.as_ref() else { return vec![] };
    let ip = spec.cluster_ip.clone().unwrap_or_default();
    if ip.is_empty() || ip == "None" {
        return vec![];
    }
    let ports = spec.ports.clone().unwrap_or_default();
    let Some(first) = ports.first() else { return vec![] };
    let prefix = env_name(svc.metadata.name.as_deref().unwrap_or(""));
    let mut out = vec![(format!("{prefix}_SERVICE_HOST"), ip.clone()), (format!("{prefix}_SERVICE_PORT"), first.port.to_string())];
    for p in &ports {
        if let Some(name) = p.name.as_ref().filter(|n| !n.is_empty()) {
            out.push((format!("{prefix}_SERVICE_PORT_{}", env_name(name)), p.port.to_string()));
        }
    }
    for (i, p) in ports.iter().enumerate() {
        let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
        let lower = proto.to_lowercase();
        if i == 0 {
            out.push((format!("{prefix}_PORT"), format!("{lower}://{ip}:{}", p.port)));
        }
        let pp = format!("{prefix}_PORT_{}_{}", p.port, proto.to_uppercase());
        out.push((pp.clone(), format!("{lower}://{ip}:{}", p.port)));
        out.push((format!("{pp}_PROTO"), lower.clone()));
        out.push((format!("{pp}_PORT"), p.port.to_string()));
        out.push((format!("{pp}_ADDR"), ip.clone()));
    }
    out
}

/// The last Services' variables made: the Services they were made from
/// (held, so their addresses name these versions), the namespace and
/// `enableServiceLinks`. Every container a kubelet starts asks with the
/// same Service versions (the informers share them), mostly from one
/// namespace, so the variables are made once, not formatted again per
/// container.
struct ServiceEnvMemo {
    services: Vec<Rc<Object>>,
    namespace: String,
    links: bool,
    vars: Rc<[(String, String)]>,
}

thread_local! {
    static SERVICE_ENV: std::cell::RefCell<Option<ServiceEnvMemo>> = const { std::cell::RefCell::new(None) };
}

/// [`service_env`], made once for the same Service versions, namespace
/// and links (debug builds make it again and compare).
fn service_env_shared(services: &[Rc<Object>], namespace: &str, links: bool) -> Rc<[(String, String)]> {
    let same = |m: &ServiceEnvMemo| m.links == links && m.namespace == namespace && m.services.len() == services.len() && m.services.iter().zip(services).all(|(a, b)| Rc::ptr_eq(a, b));
    let kept = SERVICE_ENV.with(|memo| memo.borrow().as_ref().filter(|m| same(m)).map(|m| m.vars.clone()));
    if let Some(vars) = kept {
        debug_assert_eq!(&*vars, &service_env(services, namespace, links)[..], "the kept service variables are the ones made afresh");
        return vars;
    }
    let vars: Rc<[(String, String)]> = service_env(services, namespace, links).into();
    SERVICE_ENV.with(|memo| *memo.borrow_mut() = Some(ServiceEnvMemo { services: services.to_vec(), namespace: namespace.to_string(), links, vars: vars.clone() }));
    vars
}

/// Every Service's variables a pod of `namespace` gets (`getServiceEnvVarMap`).
pub fn service_env(services: &[Rc<Object>], namespace: &str, links: bool) -> Vec<(String, String)> {
    let mut chosen: Vec<&Service> = services
        .iter()
        .filter_map(|o| match &**o {
            Object::Service(s) => Some(&**s),
            _ => None,
        })
        .filter(|s| {
            let ns = s.metadata.namespace.as_deref().unwrap_or("");
            let name = s.metadata.name.as_deref().unwrap_or("");
            (ns == "default" && name == "kubernetes") || (links && ns == namespace)
        })
        .collect();
    chosen.sort_stable_by(|a, b| a.metadata.name.cmp(&b.metadata.name).then_with(|| (a.metadata.namespace.as_deref() != Some(namespace)).cmp(&(b.metadata.namespace.as_deref() != Some(namespace)))));
    chosen.dedup_by(|a, b| a.metadata.name == b.metadata.name);
    chosen.iter().flat_map(|s| service_vars(s)).collect()
}

/// A `fieldRef` value (`podFieldSelectorRuntimeValue`).
pub fn field_value(pod: &Pod, sel: &ObjectFieldSelector, pod_ip: &str, host_ip: &str) -> Result<String, String> {
    let path = sel.field_path.as_str();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let keyed = |prefix: &str| path.strip_prefix(prefix).and_then(|r| r.strip_suffix("']")).map(str::to_string);
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => pod.node_name.clone().unwrap_or_default(),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => host_ip.to_string(),
        "status.podIP" | "status.podIPs" => pod_ip.to_string(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        _ => {
            if let Some(k) = keyed("metadata.labels['") {
                meta.labels.as_ref().and_then(|l| l.get(&k)).cloned().unwrap_or_default()
            } else if let Some(k) = keyed("metadata.annotations['") {
                meta.annotations.as_ref().and_then(|l| l.get(&k)).cloned().unwrap_or_default()
            } else {
                return Err(format!("unsupported fieldPath: {path}"));
            }
        }
    })
}

/// Labels or annotations as a downward API file shows them: `key="value"` lines, sorted.
pub fn format_map(map: Option<&std::collections::BTreeMap<String, String>>) -> String {
    map.map(|m| m.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")).unwrap_or_default()
}

/// A `resourceFieldRef` value: the container's request or limit (node
/// allocatable for an unset limit), divided by `divisor` and rounded up.
pub fn resource_value(sel: &ResourceFieldSelector, pod: &Pod, container: &Container, allocatable: (i128, i128, i128)) -> Result<String, String> {
    let target = match sel.container_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == name))
            .ok_or_else(|| format!("container {name} not found"))?,
        None => container,
    };
    let resources = target.resources.as_ref();
    let (kind, name) = sel.resource.split_once('.').ok_or_else(|| format!("unsupported container resource : {}", sel.resource))?;
    let list = match kind {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => return Err(format!("unsupported container resource : {}", sel.resource)),
    };
    let set = list.and_then(|l| l.get(name)).and_then(|q| Quantity::parse(&q.0).ok());
    let millis: i128 = match (set, kind, name) {
        (Some(q), _, _) => q.milli_value() as i128,
        (None, "limits", "cpu") => allocatable.0,
        (None, "limits", "memory") => allocatable.1 * 1000,
        (None, "limits", "ephemeral-storage") => allocatable.2 * 1000,
        (None, _, _) => 0,
    };
    let divisor = sel.divisor.as_ref().and_then(|d| Quantity::parse(&d.0).ok()).map(|q| q.milli_value() as i128).filter(|d| *d > 0).unwrap_or(1000);
    let value = (millis + divisor - 1).div_euclid(divisor);
    Ok(value.max(if millis > 0 { 1 } else { 0 }).to_string())
}

fn data_of(obj: &Object) -> Vec<(String, String)> {
    match obj {
        Object::ConfigMap(cm) => cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Object::Secret(s) => s.data.iter().flatten().map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned())).collect(),
        _ => vec![],
    }
}

fn is_not_found(err: &str) -> bool {
    err.ends_with(" not found") && (err.starts_with("configmap \"") || err.starts_with("secret \""))
}

/// The variables the kubelet passes to the runtime for a container, or
/// the error that makes it `CreateContainerConfigError`.
pub fn make_environment(pod: &Pod, container: &Container, src: &mut Sources) -> Result<Vec<(String, String)>, String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let links = pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true);
    let services = src.services.as_ref().ok_or_else(|| "services have not yet been read at least once, cannot construct envvars".to_string())?;
    let service_vars = service_env_shared(services, &namespace, links);
    let mut env: IndexMap<String, String> = IndexMap::new();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (found, optional) = if let Some(cm) = &from.config_map_ref {
            ((src.configmap)(&cm.name), cm.optional.unwrap_or(false))
        } else if let Some(sec) = &from.secret_ref {
            ((src.secret)(&sec.name), sec.optional.unwrap_or(false))
        } else {
            continue;
        };
        let obj = match found {
            Ok(o) => o,
            Err(e) if optional && is_not_found(&e) => continue,
            Err(e) => return Err(e),
        };
        let mut pairs = data_of(&obj);
        pairs.sort_stable();
        for (k, v) in pairs {
            env.insert(format!("{prefix}{k}"), v);
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) if !v.is_empty() => {
                let snapshot = env.clone();
                expand(v, &|name| snapshot.get(name).cloned().or_else(|| service_vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())))
            }
            (_, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    field_value(pod, f, src.pod_ip, src.host_ip)?
                } else if let Some(r) = &from.resource_field_ref {
                    resource_value(r, pod, container, src.allocatable)?
                } else if let Some(key) = &from.config_map_key_ref {
                    let optional = key.optional.unwrap_or(false);
                    let obj = match (src.configmap)(&key.name) {
                        Ok(o) => o,
                        Err(e) if optional && is_not_found(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    match data_of(&obj).into_iter().find(|(k, _)| *k == key.key) {
                        Some((_, v)) => v,
                        None if optional => continue,
                        None => return Err(format!("couldn't find key {} in ConfigMap {namespace}/{}", key.key, key.name)),
                    }
                } else if let Some(key) = &from.secret_key_ref {
                    let optional = key.optional.unwrap_or(false);
                    let obj = match (src.secret)(&key.name) {
                        Ok(o) => o,
                        Err(e) if optional && is_not_found(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    match data_of(&obj).into_iter().find(|(k, _)| *k == key.key) {
                        Some((_, v)) => v,
                        None if optional => continue,
                        None => return Err(format!("couldn't find key {} in Secret {namespace}/{}", key.key, key.name)),
                    }
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        env.insert(var.name.clone(), value);
    }
    let mut out: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (k, v) in service_vars.iter() {
        if !env.contains_key(k) && !out.iter().any(|(o, _)| o == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_like_the_kubelet() {
        let lookup = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(expand("x$(A)y", &lookup), "x1y");
        assert_eq!(expand("$(B)", &lookup), "$(B)");
        assert_eq!(expand("$$(A)", &lookup), "$(A)");
        assert_eq!(expand("$(A", &lookup), "$(A");
        assert_eq!(expand("cost $5", &lookup), "cost $5");
    }

    #[test]
    fn service_links_follow_envvars() {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": "redis-master", "namespace": "default"},
            "spec": {"clusterIP": "10.96.5.6", "ports": [{"port": 6379, "name": "redis"}, {"port": 26379, "protocol": "UDP"}]}})).unwrap();
        let vars: Vec<String> = service_vars(&svc).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            vars,
            vec![
                "REDIS_MASTER_SERVICE_HOST=10.96.5.6",
                "REDIS_MASTER_SERVICE_PORT=6379",
                "REDIS_MASTER_SERVICE_PORT_REDIS=6379",
                "REDIS_MASTER_PORT=tcp://10.96.5.6:6379",
                "REDIS_MASTER_PORT_6379_TCP=tcp://10.96.5.6:6379",
                "REDIS_MASTER_PORT_6379_TCP_PROTO=tcp",
                "REDIS_MASTER_PORT_6379_TCP_PORT=6379",
                "REDIS_MASTER_PORT_6379_TCP_ADDR=10.96.5.6",
                "REDIS_MASTER_PORT_26379_UDP=udp://10.96.5.6:26379",
                "REDIS_MASTER_PORT_26379_UDP_PROTO=udp",
                "REDIS_MASTER_PORT_26379_UDP_PORT=26379",
                "REDIS_MASTER_PORT_26379_UDP_ADDR=10.96.5.6",
            ]
        );
    }

    #[test]
    fn resources_divide_and_round_up() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}]}})).unwrap();
        let c = pod.spec.as_ref().unwrap().containers[0].clone();
        let sel = |r: &str, d: Option<&str>| ResourceFieldSelector { resource: r.into(), container_name: None, divisor: d.map(|d| k8s_openapi::apimachinery::pkg::api::resource::Quantity(d.into())) };
        assert_eq!(resource_value(&sel("limits.cpu", None), &pod, &c, (2000, 0, 0)).unwrap(), "1");
        assert_eq!(resource_value(&sel("limits.cpu", Some("1m")), &pod, &c, (2000, 0, 0)).unwrap(), "500");
        assert_eq!(resource_value(&sel("limits.memory", Some("1Mi")), &pod, &c, (2000, 0, 0)).unwrap(), "64");
        assert_eq!(resource_value(&sel("requests.cpu", None), &pod, &c, (2000, 0, 0)).unwrap(), "0");
    }
}
