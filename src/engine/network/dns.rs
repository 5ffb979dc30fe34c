//! DNS as the cluster serves it: queries and replies, a pod's resolver
//! (`/etc/resolv.conf` with its search list and `ndots:5`), and the records
//! CoreDNS's `kubernetes` plugin derives from Services and EndpointSlices.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::address::{parse_ip, CLUSTER_DOMAIN};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QType {
    A,
    Aaaa,
    Ptr,
    Srv,
    Cname,
    Txt,
    Mx,
    Ns,
    Soa,
}

impl QType {
    pub fn parse(text: &str) -> Option<QType> {
        Some(match text.to_ascii_uppercase().as_str() {
            "A" => QType::A,
            "AAAA" => QType::Aaaa,
            "PTR" => QType::Ptr,
            "SRV" => QType::Srv,
            "CNAME" => QType::Cname,
            "TXT" => QType::Txt,
            "MX" => QType::Mx,
            "NS" => QType::Ns,
            "SOA" => QType::Soa,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuery {
    /// Lower case, without the trailing dot.
    pub name: String,
    pub qtype: QType,
}

impl DnsQuery {
    pub fn new(name: &str, qtype: QType) -> Self {
        DnsQuery { name: name.trim_end_matches('.').to_ascii_lowercase(), qtype }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    ServFail,
    NxDomain,
    Refused,
}

impl Rcode {
    pub fn name(self) -> &'static str {
        match self {
            Rcode::NoError => "NOERROR",
            Rcode::ServFail => "SERVFAIL",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::Refused => "REFUSED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(String),
    Aaaa(String),
    Ptr(String),
    Cname(String),
    Srv { priority: u16, weight: u16, port: u16, target: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsReply {
    pub rcode: Rcode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
}

impl DnsReply {
    pub fn nxdomain() -> Self {
        DnsReply { rcode: Rcode::NxDomain, authoritative: true, answers: vec![] }
    }
    pub fn addresses(&self) -> Vec<String> {
        self.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(ip) | RData::Aaaa(ip) => Some(ip.clone()),
                _ => None,
            })
            .collect()
    }
}

/// `/etc/resolv.conf` as the kubelet writes it for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub ndots: usize,
}

impl ResolvConf {
    /// `dnsPolicy: ClusterFirst`.
    pub fn cluster_first(namespace: &str, dns_ip: &str) -> Self {
        ResolvConf {
            nameservers: vec![dns_ip.to_string()],
            search: vec![format!("{namespace}.svc.{CLUSTER_DOMAIN}"), format!("svc.{CLUSTER_DOMAIN}"), CLUSTER_DOMAIN.to_string()],
            ndots: 5,
        }
    }

    /// The names a stub resolver tries for `name`, in order (glibc and
    /// musl): with fewer than `ndots` dots the search list comes first.
    pub fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(absolute) = name.strip_suffix('.') {
            return vec![absolute.to_ascii_lowercase()];
        }
        let name = name.to_ascii_lowercase();
        let searched = self.search.iter().map(|d| format!("{name}.{d}"));
        if name.matches('.').count() >= self.ndots {
            std::iter::once(name.clone()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(name.clone())).collect()
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        out.push_str(&format!("options ndots:{}\n", self.ndots));
        out
    }
}

/// Whether a name is a dotted IPv4 address (resolvers do not look it up).
pub fn is_ip(name: &str) -> bool {
    parse_ip(name).is_some()
}

/// The `in-addr.arpa` name of an IPv4 address.
pub fn reverse_name(ip: &str) -> Option<String> {
    let v = parse_ip(ip)?;
    Some(format!("{}.{}.{}.{}.in-addr.arpa", v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24))
}

const TTL: u32 = 30;

/// Top-level domains common enough in tutorials to be told apart from
/// made-up ones (`kubernetes.default`, `web.svc`).
const REAL_TLDS: &[&str] = &[
    "com", "org", "net", "io", "dev", "app", "edu", "gov", "mil", "int", "info", "biz", "co", "ai", "me", "tv", "cloud", "sh", "us", "uk", "de",
    "fr", "nl", "es", "it", "eu", "ca", "au", "in", "jp", "cn", "ru", "br", "ch", "se", "no", "pl", "be", "at", "dk", "fi", "ie", "nz", "arpa",
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ServiceEntry {
    /// `None` for a headless Service.
    cluster_ip: Option<String>,
    external_name: Option<String>,
    /// (name, protocol, port).
    ports: Vec<(String, String, i32)>,
    /// (address, hostname) of ready endpoints.
    endpoints: Vec<(String, Option<String>)>,
    /// A headless Service's SRV backends: each ready endpoint with each of
    /// its slice's ports (name, protocol, port), as CoreDNS lists them.
    endpoint_ports: Vec<EndpointPort>,
}

/// (address, hostname, port name, protocol, port).
type EndpointPort = (String, Option<String>, String, String, i32);

/// What CoreDNS's `kubernetes` plugin answers from: its view of Services and
/// EndpointSlices (zone `cluster.local`, `pods insecure`, TTL 30).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsRecords {
    services: BTreeMap<(String, String), ServiceEntry>,
    namespaces: BTreeMap<String, ()>,
    reverse: BTreeMap<String, String>,
}

impl DnsRecords {
    pub fn build<'a>(services: impl Iterator<Item = &'a Service>, slices: impl Iterator<Item = &'a EndpointSlice>) -> Self {
        let mut records = DnsRecords::default();
        for svc in services {
            let ns = svc.metadata.namespace.clone().unwrap_or_default();
            let name = svc.metadata.name.clone().unwrap_or_default();
            let spec = svc.spec.clone().unwrap_or_default();
            let mut entry = ServiceEntry::default();
            match spec.type_.as_deref() {
                Some("ExternalName") => entry.external_name = spec.external_name.clone(),
                _ => entry.cluster_ip = spec.cluster_ip.clone().filter(|ip| ip != "None" && !ip.is_empty()),
            }
            for p in spec.ports.iter().flatten() {
                entry.ports.push((p.name.clone().unwrap_or_default(), p.protocol.clone().unwrap_or_else(|| "TCP".into()), p.port));
            }
            if let Some(ip) = &entry.cluster_ip {
                records.reverse.insert(ip.clone(), format!("{name}.{ns}.svc.{CLUSTER_DOMAIN}"));
            }
            records.namespaces.insert(ns.clone(), ());
            records.services.insert((ns, name), entry);
        }
        for slice in slices {
            let ns = slice.metadata.namespace.clone().unwrap_or_default();
            let Some(svc) = slice.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")).cloned() else { continue };
            let Some(entry) = records.services.get_mut(&(ns.clone(), svc.clone())) else { continue };
            for ep in &slice.endpoints {
                let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                if !ready {
                    continue;
                }
                for addr in &ep.addresses {
                    for port in slice.ports.iter().flatten() {
                        let backend = (addr.clone(), ep.hostname.clone(), port.name.clone().unwrap_or_default(), port.protocol.clone().unwrap_or_else(|| "TCP".into()), port.port.unwrap_or(0));
                        if !entry.endpoint_ports.contains(&backend) {
                            entry.endpoint_ports.push(backend);
                        }
                    }
                    if entry.endpoints.iter().any(|(a, _)| a == addr) {
                        continue;
                    }
                    entry.endpoints.push((addr.clone(), ep.hostname.clone()));
                    if entry.cluster_ip.is_none() {
                        let host = ep.hostname.clone().unwrap_or_else(|| addr.replace('.', "-"));
                        records.reverse.insert(addr.clone(), format!("{host}.{svc}.{ns}.svc.{CLUSTER_DOMAIN}"));
                    }
                }
            }
        }
        for entry in records.services.values_mut() {
            entry.endpoints.sort_stable();
            entry.endpoint_ports.sort_stable();
        }
        records
    }

    /// The answer to one query.
    pub fn answer(&self, q: &DnsQuery) -> DnsReply {
        let name = q.name.as_str();
        if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
            let mut octets: Vec<&str> = rest.split('.').collect();
            octets.reverse();
            let ip = octets.join(".");
            return match (q.qtype, self.reverse.get(&ip)) {
                (QType::Ptr, Some(target)) => DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![Record { name: name.to_string(), ttl: TTL, data: RData::Ptr(target.clone()) }] },
                _ => DnsReply::nxdomain(),
            };
        }
        let Some(inner) = name.strip_suffix(&format!(".{CLUSTER_DOMAIN}")) else {
            if name == CLUSTER_DOMAIN {
                return DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![] };
            }
            // Outside the cluster: forwarded upstream. A top-level domain that
            // does not exist gets NXDOMAIN from the root, as on a real
            // cluster; any other name would need the Internet, which the
            // simulation does not have.
            let tld = name.rsplit('.').next().unwrap_or(name);
            let rcode = if REAL_TLDS.contains(&tld) { Rcode::ServFail } else { Rcode::NxDomain };
            return DnsReply { rcode, authoritative: false, answers: vec![] };
        };
        let labels: Vec<&str> = inner.split('.').collect();
        let nodata = DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![] };
        match labels.as_slice() {
            // a-b-c-d.ns.pod.cluster.local (pods insecure: any address answers).
            [dashed, _ns, "pod"] => {
                let ip = dashed.replace('-', ".");
                match (q.qtype, parse_ip(&ip)) {
                    (QType::A, Some(_)) => self.one(name, RData::A(ip)),
                    (_, Some(_)) => nodata,
                    _ => DnsReply::nxdomain(),
                }
            }
            [svc, ns, "svc"] => {
                let Some(entry) = self.services.get(&(ns.to_string(), svc.to_string())) else { return DnsReply::nxdomain() };
                if let Some(target) = &entry.external_name {
                    return self.external_name(name, target, q.qtype, 0);
                }
                match q.qtype {
                    QType::A => match &entry.cluster_ip {
                        Some(ip) => self.one(name, RData::A(ip.clone())),
                        None if entry.endpoints.is_empty() => DnsReply::nxdomain(),
                        None => DnsReply {
                            rcode: Rcode::NoError,
                            authoritative: true,
                            answers: entry.endpoints.iter().map(|(ip, _)| Record { name: name.to_string(), ttl: TTL, data: RData::A(ip.clone()) }).collect(),
                        },
                    },
                    QType::Srv => self.srv(name, entry, svc, ns, None),
                    _ => nodata,
                }
            }
            // <hostname>.<svc>.<ns>.svc: a headless Service's named endpoint.
            [host, svc, ns, "svc"] => {
                let Some(entry) = self.services.get(&(ns.to_string(), svc.to_string())) else { return DnsReply::nxdomain() };
                let found = entry.endpoints.iter().find(|(ip, h)| h.as_deref() == Some(*host) || (h.is_none() && ip.replace('.', "-") == *host));
                match (found, q.qtype) {
                    (Some((ip, _)), QType::A) => self.one(name, RData::A(ip.clone())),
                    (Some(_), _) => nodata,
                    (None, _) => DnsReply::nxdomain(),
                }
            }
            // _port._proto.<svc>.<ns>.svc
            [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
                let Some(entry) = self.services.get(&(ns.to_string(), svc.to_string())) else { return DnsReply::nxdomain() };
                let wanted = (&port[1..], proto[1..].to_ascii_uppercase());
                let reply = self.srv(name, entry, svc, ns, Some((wanted.0, &wanted.1)));
                if reply.answers.is_empty() {
                    return DnsReply::nxdomain();
                }
                if q.qtype != QType::Srv {
                    return nodata;
                }
                reply
            }
            [ns, "svc"] if self.namespaces.contains_key(*ns) => nodata,
            ["svc"] | ["pod"] => nodata,
            _ => DnsReply::nxdomain(),
        }
    }

    /// CoreDNS's SRV answer (`findServices`, then `backend_lookup.go`'s
    /// `SRV`): a Service with a cluster IP has one backend a port, named by
    /// the Service; a headless one a backend for each ready endpoint and
    /// port of its slices, named by the endpoint's hostname or dashed
    /// address, with the slice's (target) port. `wanted` is the `_port._proto`
    /// a query names. All share priority 0, and their weights split 100.
    fn srv(&self, name: &str, entry: &ServiceEntry, svc: &str, ns: &str, wanted: Option<(&str, &str)>) -> DnsReply {
        let matches = |port_name: &str, protocol: &str| wanted.is_none_or(|(n, p)| n == port_name && p == protocol);
        let backends: Vec<(String, i32)> = if entry.cluster_ip.is_some() {
            entry.ports.iter().filter(|(n, p, _)| matches(n, p)).map(|(_, _, port)| (format!("{svc}.{ns}.svc.{CLUSTER_DOMAIN}"), *port)).collect()
        } else {
            entry
                .endpoint_ports
                .iter()
                .filter(|(_, _, n, p, _)| matches(n, p))
                .map(|(ip, host, _, _, port)| (format!("{}.{svc}.{ns}.svc.{CLUSTER_DOMAIN}", host.clone().unwrap_or_else(|| ip.replace('.', "-"))), *port))
                .collect()
        };
        // Each backend weighs 100 of their sum, scaled to 100, at least 1.
        let weight = if backends.is_empty() { 100 } else { (100 / backends.len()).max(1) as u16 };
        DnsReply {
            rcode: Rcode::NoError,
            authoritative: true,
            answers: backends
                .into_iter()
                .map(|(target, port)| Record { name: name.to_string(), ttl: TTL, data: RData::Srv { priority: 0, weight, port: port as u16, target } })
                .collect(),
        }
    }

    /// An ExternalName Service's answer, as CoreDNS's `A`/`AAAA` in
    /// `plugin/backend_lookup.go` give it: a target inside the cluster zone
    /// is looked up in the same records and the CNAME comes with its
    /// addresses (or, when the target has none, the answer is empty); a
    /// target outside goes to the upstream, which here never answers, so
    /// the CNAME comes alone. An SRV query gets `SRV`'s answer for the one
    /// backend `findServices` makes of the Service (no port, weight 100,
    /// the external name as its target); other query types get the CNAME.
    fn external_name(&self, name: &str, target: &str, qtype: QType, depth: usize) -> DnsReply {
        if qtype == QType::Srv {
            return self.one(name, RData::Srv { priority: 0, weight: 100, port: 0, target: target.to_string() });
        }
        let cname = Record { name: name.to_string(), ttl: TTL, data: RData::Cname(target.to_string()) };
        if !matches!(qtype, QType::A | QType::Aaaa) {
            return DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![cname] };
        }
        let nodata = DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![] };
        // `x CNAME x` is a loop, and chains stop after eight CNAMEs.
        if target == name || depth > 7 {
            return nodata;
        }
        let in_zone = target == CLUSTER_DOMAIN || target.ends_with(&format!(".{CLUSTER_DOMAIN}"));
        if !in_zone {
            return DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![cname] };
        }
        let next = match target.strip_suffix(&format!(".{CLUSTER_DOMAIN}")).map(|inner| inner.split('.').collect::<Vec<_>>()) {
            Some(labels) if matches!(labels.as_slice(), [_, _, "svc"]) => {
                match self.services.get(&(labels[1].to_string(), labels[0].to_string())).and_then(|e| e.external_name.as_ref()) {
                    Some(further) => self.external_name(target, further, qtype, depth + 1),
                    None => self.answer(&DnsQuery::new(target, qtype)),
                }
            }
            _ => self.answer(&DnsQuery::new(target, qtype)),
        };
        if next.rcode != Rcode::NoError || next.answers.is_empty() {
            return nodata;
        }
        let mut answers = vec![cname];
        answers.extend(next.answers);
        DnsReply { rcode: Rcode::NoError, authoritative: true, answers }
    }

    fn one(&self, name: &str, data: RData) -> DnsReply {
        DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![Record { name: name.to_string(), ttl: TTL, data }] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn svc(ns: &str, name: &str, ip: &str) -> Service {
        Service {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), ..Default::default() },
            spec: Some(ServiceSpec {
                cluster_ip: Some(ip.into()),
                ports: Some(vec![ServicePort { name: Some("http".into()), port: 80, protocol: Some("TCP".into()), ..Default::default() }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn slice(ns: &str, svc: &str, eps: &[(&str, Option<&str>, bool)]) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{svc}-abcde")),
                namespace: Some(ns.into()),
                labels: Some([("kubernetes.io/service-name".to_string(), svc.to_string())].into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: eps
                .iter()
                .map(|(ip, host, ready)| Endpoint {
                    addresses: vec![ip.to_string()],
                    hostname: host.map(str::to_string),
                    conditions: Some(EndpointConditions { ready: Some(*ready), ..Default::default() }),
                    ..Default::default()
                })
                .collect(),
            ports: None,
        }
    }

    #[test]
    fn external_names_inside_the_zone_are_followed() {
        let external = |name: &str, target: &str| {
            let mut s = svc("default", name, "");
            let spec = s.spec.as_mut().unwrap();
            spec.type_ = Some("ExternalName".into());
            spec.external_name = Some(target.into());
            spec.cluster_ip = None;
            s
        };
        let services = [
            svc("default", "web", "10.96.10.20"),
            external("alias", "web.default.svc.cluster.local"),
            external("chain", "alias.default.svc.cluster.local"),
            external("outside", "www.example.com"),
            external("dangling", "nope.default.svc.cluster.local"),
        ];
        let r = DnsRecords::build(services.iter(), [].iter());
        let ask = |n: &str, t: QType| r.answer(&DnsQuery::new(n, t));
        let alias = ask("alias.default.svc.cluster.local", QType::A);
        assert_eq!(alias.answers[0].data, RData::Cname("web.default.svc.cluster.local".into()));
        assert_eq!(alias.addresses(), ["10.96.10.20"]);
        assert_eq!(ask("chain.default.svc.cluster.local", QType::A).answers.len(), 3);
        assert_eq!(ask("chain.default.svc.cluster.local", QType::A).addresses(), ["10.96.10.20"]);
        // The target has no AAAA record: an empty answer, without the CNAME.
        assert!(ask("alias.default.svc.cluster.local", QType::Aaaa).answers.is_empty());
        assert!(ask("dangling.default.svc.cluster.local", QType::A).answers.is_empty());
        assert_eq!(ask("dangling.default.svc.cluster.local", QType::A).rcode, Rcode::NoError);
        assert_eq!(ask("outside.default.svc.cluster.local", QType::A).answers, [Record { name: "outside.default.svc.cluster.local".into(), ttl: TTL, data: RData::Cname("www.example.com".into()) }]);
    }

    #[test]
    fn search_list_and_ndots() {
        let conf = ResolvConf::cluster_first("default", "10.96.0.10");
        assert_eq!(conf.candidates("kubia"), ["kubia.default.svc.cluster.local", "kubia.svc.cluster.local", "kubia.cluster.local", "kubia"]);
        assert_eq!(conf.candidates("a.b.c.d.e.f")[0], "a.b.c.d.e.f");
        assert_eq!(conf.candidates("kubia.default.svc.cluster.local.").len(), 1);
        assert_eq!(conf.text(), "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    }

    #[test]
    fn services_headless_and_pod_names() {
        let mut headless = svc("default", "nginx", "None");
        headless.spec.as_mut().unwrap().cluster_ip = Some("None".into());
        let services = [svc("default", "kubia", "10.96.10.20"), headless];
        let slices = [slice("default", "nginx", &[("10.244.1.5", Some("web-0"), true), ("10.244.2.6", Some("web-1"), true), ("10.244.3.7", Some("web-2"), false)])];
        let r = DnsRecords::build(services.iter(), slices.iter());
        let a = |n: &str| r.answer(&DnsQuery::new(n, QType::A));
        assert_eq!(a("kubia.default.svc.cluster.local").addresses(), ["10.96.10.20"]);
        assert_eq!(a("kubia.other.svc.cluster.local").rcode, Rcode::NxDomain);
        assert_eq!(a("nginx.default.svc.cluster.local").addresses(), ["10.244.1.5", "10.244.2.6"]);
        assert_eq!(a("web-1.nginx.default.svc.cluster.local").addresses(), ["10.244.2.6"]);
        assert_eq!(a("web-2.nginx.default.svc.cluster.local").rcode, Rcode::NxDomain);
        assert_eq!(a("10-244-9-9.default.pod.cluster.local").addresses(), ["10.244.9.9"]);
        assert_eq!(a("google.com").rcode, Rcode::ServFail);
        assert_eq!(a("kubernetes.default").rcode, Rcode::NxDomain);
        let aaaa = r.answer(&DnsQuery::new("kubia.default.svc.cluster.local", QType::Aaaa));
        assert_eq!((aaaa.rcode, aaaa.answers.len()), (Rcode::NoError, 0));
        let ptr = r.answer(&DnsQuery::new(&reverse_name("10.96.10.20").unwrap(), QType::Ptr));
        assert_eq!(ptr.answers[0].data, RData::Ptr("kubia.default.svc.cluster.local".into()));
        let srv = r.answer(&DnsQuery::new("_http._tcp.kubia.default.svc.cluster.local", QType::Srv));
        assert_eq!(srv.answers.len(), 1);
    }
}
