//! CoreDNS: answers cluster names from the records its own watch cache holds
//! (filled by its API client, see `pod_clients`), serves `/health` and
//! `/ready`, and logs queries when its Corefile has the `log` plugin.

use std::rc::Rc;

use super::{http_of, http_reply, Incoming, Payload, Reply, ServeCx};
use crate::engine::network::dns::{DnsRecords, DnsReply, QType, RData, Rcode};
use crate::engine::network::http::{http_date, HttpResponse};
use crate::engine::sort::SortStable;

#[derive(Clone, Debug, Default)]
pub struct CoreDns {
    pub records: Rc<DnsRecords>,
    /// The `kubernetes` plugin has listed Services and EndpointSlices once.
    pub synced: bool,
    /// The Corefile enables query logging (`log`).
    pub log_queries: bool,
    /// `hosts` entries: name → address.
    pub hosts: Vec<(String, String)>,
    /// The upstream `forward . /etc/resolv.conf` sends to.
    pub upstream: String,
    /// `loadbalance`: answers with several addresses rotate their order.
    rotation: usize,
}

fn qtype_name(q: QType) -> &'static str {
    match q {
        QType::A => "A",
        QType::Aaaa => "AAAA",
        QType::Ptr => "PTR",
        QType::Srv => "SRV",
        QType::Cname => "CNAME",
        QType::Txt => "TXT",
        QType::Mx => "MX",
        QType::Ns => "NS",
        QType::Soa => "SOA",
    }
}

impl CoreDns {
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        match &req.payload {
            Payload::Dns(q) => {
                cx.cpu_us += 40;
                let mut reply = self.records.answer(q);
                // The `loadbalance` plugin (`roundRobin`) puts CNAMEs first,
                // then other records, then the A/AAAA records, reordered per
                // answer; SRV records keep their order.
                let (mut addresses, mut others): (Vec<_>, Vec<_>) = std::mem::take(&mut reply.answers).into_iter().partition(|r| matches!(r.data, RData::A(_) | RData::Aaaa(_)));
                if addresses.len() > 1 {
                    self.rotation = self.rotation.wrapping_add(1);
                    let n = addresses.len();
                    addresses.rotate_left(self.rotation % n);
                }
                others.sort_stable_by_key(|r| !matches!(r.data, RData::Cname(_)));
                others.extend(addresses);
                reply.answers = others;
                if let Some((_, ip)) = self.hosts.iter().find(|(h, _)| *h == q.name) {
                    reply = DnsReply { rcode: Rcode::NoError, authoritative: true, answers: vec![] };
                    if q.qtype == QType::A {
                        reply.answers.push(crate::engine::network::dns::Record { name: q.name.clone(), ttl: 3600, data: RData::A(ip.clone()) });
                    }
                }
                if reply.rcode == Rcode::ServFail {
                    let port = 30_000 + (cx.now.as_millis() % 30_000);
                    cx.log(format!(
                        "[ERROR] plugin/errors: 2 {}. {}: read udp {}:{port}->{}:53: i/o timeout",
                        q.name,
                        qtype_name(q.qtype),
                        cx.pod_ip,
                        self.upstream
                    ));
                }
                if self.log_queries {
                    let flags = if reply.authoritative { "qr,aa,rd" } else { "qr,rd,ra" };
                    let size = 12 + q.name.len() + 6 + reply.answers.len() * 16;
                    cx.log(format!(
                        "[INFO] {}:{} - {} \"{} IN {}. udp {} false 512\" {} {flags} {size} 0.000{:03}s",
                        req.client_ip,
                        req.client_port,
                        (cx.now.as_millis() * 7919 + req.client_port as u64) % 65536,
                        qtype_name(q.qtype),
                        q.name,
                        q.name.len() + 18,
                        reply.rcode.name(),
                        100 + cx.now.as_millis() % 400,
                    ));
                }
                Reply::Dns(reply)
            }
            _ => {
                let Some(http) = http_of(&req.payload) else { return Reply::Closed };
                cx.cpu_us += 20;
                let (status, body) = match (req.port, http.path()) {
                    (8080, "/health") => (200, "OK"),
                    (8181, "/ready") if self.synced => (200, "OK"),
                    (8181, "/ready") => (503, "kubernetes"),
                    (9153, "/metrics") => (200, "# HELP coredns_build_info A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.\n# TYPE coredns_build_info gauge\ncoredns_build_info{goversion=\"go1.23.3\",revision=\"51e11f1\",version=\"1.12.0\"} 1\n"),
                    _ => (404, "404 page not found\n"),
                };
                let headers = vec![
                    ("Date".to_string(), http_date(cx.now)),
                    ("Content-Length".to_string(), body.len().to_string()),
                    ("Content-Type".to_string(), "text/plain; charset=utf-8".to_string()),
                ];
                http_reply(&req.payload, HttpResponse::new(status, headers, body))
            }
        }
    }
}
