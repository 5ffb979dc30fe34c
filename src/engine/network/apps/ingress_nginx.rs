//! The ingress-nginx controller's data plane: routes requests by host and
//! path to the Services' endpoints (directly, not through ClusterIPs),
//! round robin; 404 from its default server when nothing matches, 503 when
//! a backend has no endpoints, 502 when none answers.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::web::nginx_error;
use super::{http_of, http_reply, Incoming, Payload, Reply, ServeCx};
use crate::engine::network::http::{http_date, log_time, HttpResponse};
use crate::engine::network::ingress::{IngressTable, Upstream};

const SERVER: &str = "nginx";

#[derive(Clone, Debug, Default)]
pub struct Controller {
    pub table: Rc<IngressTable>,
    pub synced: bool,
    next: BTreeMap<String, usize>,
    requests: u64,
}

impl Controller {
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 200;
        let Some(mut http) = http_of(&req.payload) else {
            return http_reply(&req.payload, nginx_error(400, SERVER, http_date(cx.now), false));
        };
        if req.port == 10254 {
            let (status, body) = if http.path() == "/healthz" { (200, "ok") } else { (404, "404 page not found\n") };
            let headers = vec![("Date".to_string(), http_date(cx.now)), ("Content-Length".to_string(), body.len().to_string()), ("Content-Type".to_string(), "text/plain; charset=utf-8".to_string())];
            return http_reply(&req.payload, HttpResponse::new(status, headers, body));
        }
        self.requests += 1;
        let host = http.host();
        let path = http.path().to_string();
        let route = self.table.route(&host, &path).cloned();
        if let Some(r) = &route {
            let rewritten = r.upstream_path(&path);
            let query = http.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
            http.target = format!("{rewritten}{query}");
        }
        let upstream: Option<Upstream> = route.map(|r| r.upstream).or_else(|| self.table.fallback(&host).cloned());
        let request_id = format!("{:032x}", ((cx.now.as_millis() as u128) << 64) | (self.requests as u128 * 0x9e37_79b9_7f4a_7c15));
        let (resp, upstream_name, upstream_addr, upstream_status) = match upstream {
            None => (nginx_error(404, SERVER, http_date(cx.now), false), "upstream-default-backend".to_string(), "-".to_string(), "-".to_string()),
            Some(up) if up.endpoints.is_empty() => (nginx_error(503, SERVER, http_date(cx.now), false), up.name.clone(), "-".to_string(), "-".to_string()),
            Some(up) => {
                let count = up.endpoints.len();
                let start = *self.next.get(&up.name).unwrap_or(&0);
                self.next.insert(up.name.clone(), (start + 1) % count);
                http.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("connection"));
                for (k, v) in [
                    ("X-Request-ID", request_id.clone()),
                    ("X-Real-IP", req.client_ip.clone()),
                    ("X-Forwarded-For", req.client_ip.clone()),
                    ("X-Forwarded-Host", host.clone()),
                    ("X-Forwarded-Port", "80".to_string()),
                    ("X-Forwarded-Proto", "http".to_string()),
                    ("X-Forwarded-Scheme", "http".to_string()),
                    ("X-Scheme", "http".to_string()),
                ] {
                    http.headers.push((k.to_string(), v));
                }
                let mut tried = Vec::new();
                let mut answer = None;
                for i in 0..count.min(3) {
                    let (ip, port): (String, i32) = up.endpoints[(start + i) % count].clone();
                    tried.push(format!("{ip}:{port}"));
                    match cx.upstream.call_ip(&ip, port, Payload::Http(http.clone())) {
                        Ok(Reply::Http(mut r)) => {
                            r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("server") && !k.eq_ignore_ascii_case("date") && !k.eq_ignore_ascii_case("connection"));
                            r.headers.insert(0, ("Date".to_string(), http_date(cx.now)));
                            r.headers.insert(0, ("Server".to_string(), SERVER.to_string()));
                            r.headers.push(("Connection".to_string(), "keep-alive".to_string()));
                            let status = r.status.to_string();
                            answer = Some((r, status));
                            break;
                        }
                        _ => continue,
                    }
                }
                match answer {
                    Some((r, status)) => (r, up.name.clone(), tried.join(", "), status),
                    None => (nginx_error(502, SERVER, http_date(cx.now), false), up.name.clone(), tried.join(", "), "502".to_string()),
                }
            }
        };
        let request_line = format!("{} {}{} {}", http.method, path, http.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default(), http.version);
        cx.log(format!(
            "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\" {} 0.00{} [{upstream_name}] [] {upstream_addr} {} 0.00{} {upstream_status} {request_id}",
            req.client_ip,
            log_time(cx.now),
            request_line,
            resp.status,
            resp.body.len(),
            http.header("referer").unwrap_or("-"),
            http.header("user-agent").unwrap_or("-"),
            http.wire().len(),
            1 + cx.now.as_millis() % 9,
            if upstream_addr == "-" { "-".to_string() } else { resp.body.len().to_string() },
            1 + cx.now.as_millis() % 8,
        ));
        http_reply(&req.payload, resp)
    }
}
