//! Name resolution as a process in a pod, on a node or on the host does it:
//! `/etc/hosts` first, then the nameserver in `/etc/resolv.conf` through
//! the network (for pods: the cluster DNS Service, hence kube-proxy's rules
//! and the CoreDNS pods behind it).

use super::address::CLUSTER_DNS_IP;
use super::apps::{Payload, Reply};
use super::dns::{is_ip, DnsQuery, DnsReply, QType, Rcode, ResolvConf};
use super::exchange::exchange;
use super::path::connect;
use super::rules::Proto;
use super::Origin;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// What the stub resolver's own timeout is (glibc and musl: 5 s).
pub const QUERY_TIMEOUT_MS: u64 = 5_000;

/// The answer to one query sent to a nameserver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryOutcome {
    Answer(DnsReply),
    /// No reply came (no DNS pod, a stale rule, a policy).
    Timeout,
}

/// Why a name did not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// Every candidate name got NXDOMAIN (or no address).
    NotFound,
    /// The nameserver did not answer.
    Timeout,
    /// The nameserver answered SERVFAIL.
    ServFail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub addresses: Vec<String>,
    /// The name that answered (a search-list expansion).
    pub name: String,
}

/// The resolver configuration a process at `origin` has.
pub fn resolv_conf(world: &World, origin: &Origin) -> ResolvConf {
    match origin {
        Origin::Pod { namespace, .. } => ResolvConf::cluster_first(namespace, CLUSTER_DNS_IP),
        Origin::Node(_) | Origin::Host => ResolvConf { nameservers: vec![world.net.plan.host_ip.clone()], search: vec![], ndots: 1 },
    }
}

/// Sends one query to `server` from `origin` and waits for the reply.
pub fn query(world: &mut World, origin: &Origin, server: &str, q: &DnsQuery, now: VirtualTime) -> QueryOutcome {
    if matches!(origin, Origin::Node(_) | Origin::Host) {
        // The nodes' resolver (Docker's, on the host) knows the nodes and
        // nothing else: the simulated world has no internet.
        let node = world.net.plan.nodes().find(|(name, _)| **name == q.name).map(|(_, ip)| ip.clone());
        let answers = match (node, q.qtype) {
            (Some(ip), QType::A) => vec![super::dns::Record { name: q.name.clone(), ttl: 600, data: super::dns::RData::A(ip) }],
            (Some(_), _) => vec![],
            (None, _) => return QueryOutcome::Answer(DnsReply { rcode: Rcode::NxDomain, authoritative: false, answers: vec![] }),
        };
        return QueryOutcome::Answer(DnsReply { rcode: Rcode::NoError, authoritative: false, answers });
    }
    let landing = match connect(world, origin, server, 53, Proto::Udp, now) {
        Ok(l) => l,
        Err(_) => return QueryOutcome::Timeout,
    };
    match exchange(world, &landing, Payload::Dns(q.clone()), now, 0).0 {
        Reply::Dns(reply) => QueryOutcome::Answer(reply),
        _ => QueryOutcome::Timeout,
    }
}

/// `/etc/hosts` of a pod: localhost and the pod's own name.
fn hosts_file(origin: &Origin, name: &str) -> Option<String> {
    if name == "localhost" || name == "localhost.localdomain" {
        return Some("127.0.0.1".into());
    }
    match origin {
        Origin::Pod { name: pod, ip, .. } if pod == name => Some(ip.clone()),
        _ => None,
    }
}

/// Resolves a host name to IPv4 addresses, as `getaddrinfo` does. Returns
/// the result and the virtual time it took.
pub fn resolve(world: &mut World, origin: &Origin, name: &str, now: VirtualTime) -> (Result<Resolved, ResolveError>, u64) {
    if is_ip(name) {
        return (Ok(Resolved { addresses: vec![name.to_string()], name: name.to_string() }), 0);
    }
    if let Some(ip) = hosts_file(origin, name) {
        return (Ok(Resolved { addresses: vec![ip], name: name.to_string() }), 0);
    }
    let conf = resolv_conf(world, origin);
    let Some(server) = conf.nameservers.first().cloned() else { return (Err(ResolveError::NotFound), 0) };
    let mut spent = 0;
    let mut servfail = false;
    for candidate in conf.candidates(name) {
        match query(world, origin, &server, &DnsQuery::new(&candidate, QType::A), now.plus_millis(spent)) {
            QueryOutcome::Timeout => return (Err(ResolveError::Timeout), spent + 2 * QUERY_TIMEOUT_MS),
            QueryOutcome::Answer(reply) => {
                spent += 1;
                match reply.rcode {
                    Rcode::NoError if !reply.addresses().is_empty() => {
                        return (Ok(Resolved { addresses: reply.addresses(), name: candidate }), spent);
                    }
                    Rcode::ServFail => servfail = true,
                    _ => {}
                }
            }
        }
    }
    (Err(if servfail { ResolveError::ServFail } else { ResolveError::NotFound }), spent)
}
