//! `kubectl top node|pod`: usage from the metrics API (metrics-server), in
//! kubectl 1.33's tables (`metricsutil.TopCmdPrinter`).

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use crate::engine::api::pod::Pod;

use crate::engine::api::meta::virtual_of;
use crate::engine::api::{ids, ApiError, Object, Reason};
use crate::engine::apiserver::Query;
use crate::engine::kubectl::printers::tabwriter::TABLE;
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::metrics::{self, millis_of, NodeMetrics, PodMetrics, Unavailable};
use crate::engine::node::kubelet::go_duration;
use crate::engine::selector::{FieldSelector, Selector};

/// `metricsCreationDelay`: younger pods without metrics are "not available yet".
const METRICS_CREATION_DELAY_MS: u64 = 2 * 60_000;
const MI: u64 = 1024 * 1024;

pub fn run(s: &mut Session) -> Result {
    match s.args.verb_path() {
        "top node" => nodes(s),
        "top pod" => pods(s),
        // `kubectl top` alone prints its group's help (verbs::group_help).
        other => Err(Error::Message(format!("error: \"kubectl {other}\" is not available in this simulation"))),
    }
}

fn sort_by(s: &Session) -> std::result::Result<String, Error> {
    let sort = s.args.value("sort-by").unwrap_or("").to_string();
    if !sort.is_empty() && sort != "cpu" && sort != "memory" {
        return Err(Error::Message("error: --sort-by accepts only cpu or memory".into()));
    }
    Ok(sort)
}

fn bool_flag(s: &Session, name: &str) -> std::result::Result<bool, Error> {
    match s.args.value(name) {
        None => Ok(false),
        Some(v) => crate::engine::kubectl::args::parse_go_bool(v).ok_or_else(|| Error::Message(format!(
            "error: invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax\nSee 'kubectl {} --help' for usage.",
            s.args.verb_path()
        ))),
    }
}

fn label_selector(s: &Session) -> std::result::Result<Selector, Error> {
    match s.args.value("selector") {
        Some(text) => Selector::parse(text).map_err(|e| Error::Message(format!("error: {e}"))),
        None => Ok(Selector::everything()),
    }
}

/// The metrics API, after discovery: kubectl checks that the group is served first.
fn metrics_api(s: &Session) -> std::result::Result<std::rc::Rc<metrics::Snapshot>, Error> {
    match metrics::read(&s.cluster.sim.api, &s.cluster.sim.world) {
        Ok(snapshot) => Ok(snapshot),
        Err(Unavailable::Api(e)) => Err(Error::Api(e)),
        Err(Unavailable::NoBackend) => Err(Error::Message("error: Metrics API not available".into())),
    }
}

fn cpu_cell(millis: u64) -> String {
    format!("{millis}m")
}

fn memory_cell(bytes: u64) -> String {
    format!("{}Mi", bytes / MI)
}

fn nodes(s: &mut Session) -> Result {
    let sort = sort_by(s)?;
    let name = s.args.positionals.first().cloned();
    if name.is_some() && s.args.has("selector") {
        return Err(Error::Message("error: only one of NAME or --selector can be provided".into()));
    }
    let no_headers = bool_flag(s, "no-headers")?;
    let show_capacity = bool_flag(s, "show-capacity")?;
    let selector = label_selector(s)?;
    let snapshot = metrics_api(s)?;
    let api = &s.cluster.sim.api;
    let nodes: Vec<Node> = match &name {
        Some(n) => {
            if !snapshot.nodes.contains_key(n) {
                return Err(Error::Api(ApiError::new(Reason::NotFound, format!("nodemetrics.metrics.k8s.io \"{n}\" not found"))));
            }
            match &*api.get(ids::nodes(), "", n)? {
                Object::Node(node) => vec![*node.clone()],
                _ => vec![],
            }
        }
        None => api
            .list(&Query::all(ids::nodes()).with_labels(selector))?
            .0
            .iter()
            .filter_map(|o| if let Object::Node(n) = &**o { Some((**n).clone()) } else { None })
            .collect(),
    };
    let mut found: Vec<&NodeMetrics> = nodes.iter().filter_map(|n| n.metadata.name.as_ref().and_then(|name| snapshot.nodes.get(name))).collect();
    if found.is_empty() {
        return Err(Error::Message("error: metrics not available yet".into()));
    }
    match sort.as_str() {
        "cpu" => found.sort_stable_by(|a, b| b.cpu_millis().cmp(&a.cpu_millis())),
        "memory" => found.sort_stable_by(|a, b| b.memory_bytes.cmp(&a.memory_bytes)),
        _ => found.sort_stable_by(|a, b| a.name.cmp(&b.name)),
    }
    // CPU and memory each node offers, in millis.
    let mut available: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for n in &nodes {
        let status = n.status.clone().unwrap_or_default();
        let list = if show_capacity { status.capacity } else { status.allocatable }.unwrap_or_default();
        let milli = |k: &str| list.get(k).map_or(0, crate::engine::quantity::milli_value_of);
        available.insert(n.metadata.name.clone().unwrap_or_default(), (milli("cpu"), milli("memory")));
    }
    let percent = |used: i64, of: i64| if of == 0 { 0 } else { (used as f64 / of as f64 * 100.0) as i64 };
    let mut text = String::new();
    if !no_headers {
        text.push_str("NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\t\n");
    }
    for m in &found {
        let (cpu, memory) = available.remove(&m.name).unwrap_or((0, 0));
        text.push_str(&format!(
            "{}\t{}\t{}%\t{}\t{}%\t\n",
            m.name,
            cpu_cell(m.cpu_millis()),
            percent(m.cpu_millis() as i64, cpu),
            memory_cell(m.memory_bytes),
            percent((m.memory_bytes as i64).saturating_mul(1000), memory)
        ));
    }
    // Nodes whose kubelet could not be scraped.
    for node in available.keys() {
        text.push_str(&format!("{node}\t<unknown>\t<unknown>\t<unknown>\t<unknown>\t\n"));
    }
    s.out.push_str(&TABLE.format(&text));
    Ok(())
}

fn pods(s: &mut Session) -> Result {
    let sort = sort_by(s)?;
    let name = s.args.positionals.first().cloned();
    if name.is_some() && (s.args.has("selector") || s.args.has("field-selector")) {
        return Err(Error::Message("error: only one of NAME or selector can be provided".into()));
    }
    let containers = bool_flag(s, "containers")?;
    let no_headers = bool_flag(s, "no-headers")?;
    let sum = bool_flag(s, "sum")?;
    let all = bool_flag(s, "all-namespaces")?;
    let selector = label_selector(s)?;
    let fields = match s.args.value("field-selector") {
        Some(text) => FieldSelector::parse(text).map_err(|e| Error::Message(format!("error: {e}")))?,
        None => FieldSelector::default(),
    };
    let snapshot = metrics_api(s)?;
    let namespace = s.namespace();
    let now = s.cluster.now();
    let api = &s.cluster.sim.api;
    // metrics-server answers for the pods it knows, matched by their labels.
    let pods: Vec<Pod> = match &name {
        Some(n) => match snapshot.pods.get(&(namespace.clone(), n.clone())) {
            Some(_) => match api.get(ids::pods(), &namespace, n) {
                Ok(o) => match &*o {
                    Object::Pod(p) => vec![*p.clone()],
                    _ => vec![],
                },
                Err(e) if e.reason == Reason::NotFound => return Err(Error::Api(metrics::pod_not_found(&namespace, n))),
                Err(e) => return Err(Error::Api(e)),
            },
            None => {
                // `verifyEmptyMetrics` is only for lists; a named pod is a NotFound.
                return Err(Error::Api(metrics::pod_not_found(&namespace, n)));
            }
        },
        None => {
            let query = if all { Query::all(ids::pods()) } else { Query::in_namespace(ids::pods(), &namespace) };
            api.list(&query.with_labels(selector).with_fields(fields))?
                .0
                .iter()
                .filter_map(|o| if let Object::Pod(p) = &**o { Some((**p).clone()) } else { None })
                .collect()
        }
    };
    let key = |p: &Pod| (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default());
    let mut found: Vec<PodMetrics> = pods.iter().filter_map(|p| snapshot.pods.get(&key(p)).cloned()).collect();
    if found.is_empty() {
        // `verifyEmptyMetrics`: a pod old enough to have metrics, or just "not yet".
        if pods.is_empty() {
            s.err.push_str(&if all { "No resources found\n".to_string() } else { format!("No resources found in {namespace} namespace.\n") });
            return Ok(());
        }
        for p in &pods {
            let created = p.metadata.creation_timestamp.as_ref().map(virtual_of).unwrap_or(now);
            let age = now.millis_since(created);
            if age > METRICS_CREATION_DELAY_MS {
                let (ns, n) = key(p);
                return Err(Error::Message(format!("error: Metrics not available for pod {ns}/{n}, age: {}", go_duration(age))));
            }
        }
        return Err(Error::Message("error: metrics not available yet".into()));
    }
    match sort.as_str() {
        "cpu" => found.sort_stable_by(|a, b| b.cpu_millis().cmp(&a.cpu_millis())),
        "memory" => found.sort_stable_by(|a, b| b.memory_bytes().cmp(&a.memory_bytes())),
        _ => found.sort_stable_by(|a, b| if all && a.namespace != b.namespace { a.namespace.cmp(&b.namespace) } else { a.name.cmp(&b.name) }),
    }
    let mut text = String::new();
    let mut columns: usize = 3;
    if !no_headers {
        if all {
            text.push_str("NAMESPACE\t");
            columns += 1;
        }
        if containers {
            text.push_str("POD\t");
            columns += 1;
        }
        text.push_str("NAME\tCPU(cores)\tMEMORY(bytes)\t\n");
    }
    for m in &found {
        if containers {
            let mut list = m.containers.clone();
            match sort.as_str() {
                "cpu" => list.sort_stable_by(|a, b| b.cpu_nanos.cmp(&a.cpu_nanos)),
                "memory" => list.sort_stable_by(|a, b| b.memory_bytes.cmp(&a.memory_bytes)),
                _ => list.sort_stable_by(|a, b| a.name.cmp(&b.name)),
            }
            for c in &list {
                if all {
                    text.push_str(&format!("{}\t", m.namespace));
                }
                text.push_str(&format!("{}\t{}\t{}\t{}\t\n", m.name, c.name, cpu_cell(c.cpu_millis()), memory_cell(c.memory_bytes)));
            }
        } else {
            if all {
                text.push_str(&format!("{}\t", m.namespace));
            }
            text.push_str(&format!("{}\t{}\t{}\t\n", m.name, cpu_cell(m.cpu_millis()), memory_cell(m.memory_bytes())));
        }
    }
    if sum {
        let cpu = millis_of(found.iter().flat_map(|m| m.containers.iter()).map(|c| c.cpu_nanos).sum());
        let memory: u64 = found.iter().map(PodMetrics::memory_bytes).sum();
        text.push_str(&"\t".repeat(columns.saturating_sub(2)));
        text.push_str("________\t________\t\n");
        text.push_str(&"\t".repeat(columns.saturating_sub(3)));
        text.push_str(&format!("\t{}\t{}\t\n", cpu_cell(cpu), memory_cell(memory)));
    }
    s.out.push_str(&TABLE.format(&text));
    Ok(())
}
