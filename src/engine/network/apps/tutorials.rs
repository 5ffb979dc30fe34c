//! The seeds' and tutorials' apps: Kubernetes in Action's kubia images, the
//! kubernetes-bootcamp image, hashicorp/http-echo, The Kubernetes Workshop's
//! k8s-for-beginners and Pageview, and the HPA walkthrough's hpa-example.

use super::{http_of, http_reply, Incoming, Payload, Reply, ServeCx};
use crate::engine::network::http::{go_log_time, http_date, log_time, wall, HttpResponse};
use crate::engine::network::redis_proto::RespValue;

fn node_headers(cx: &ServeCx) -> Vec<(String, String)> {
    vec![("Date".into(), http_date(cx.now)), ("Connection".into(), "keep-alive".into()), ("Transfer-Encoding".into(), "chunked".into())]
}

fn go_headers(cx: &ServeCx, body: &str) -> Vec<(String, String)> {
    vec![
        ("Date".into(), http_date(cx.now)),
        ("Content-Length".into(), body.len().to_string()),
        ("Content-Type".into(), "text/plain; charset=utf-8".into()),
    ]
}

/// Kubernetes in Action's Node.js app (`luksa/kubia` and its variants).
#[derive(Clone, Debug)]
pub struct Kubia {
    variant: String,
    requests: u32,
    /// kubia-pet: what was last POSTed.
    data: Option<String>,
}

impl Kubia {
    pub fn new(repo: &str, tag: &str) -> Self {
        let variant = match (repo, tag) {
            ("kubia", "v2" | "v3" | "v4") => tag.to_string(),
            ("kubia", _) => "v1".to_string(),
            (other, _) => other.to_string(),
        };
        Kubia { variant, requests: 0, data: None }
    }

    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 300;
        let Some(http) = http_of(&req.payload) else {
            return match &req.payload {
                Payload::Raw(_) => Reply::Raw("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n".into()),
                _ => Reply::Closed,
            };
        };
        cx.log(format!("Received request from ::ffff:{}", req.client_ip));
        self.requests += 1;
        let host = cx.pod.to_string();
        let (status, body) = match self.variant.as_str() {
            "kubia-unhealthy" if self.requests > 5 => (500, "I'm not well. Please restart me!".to_string()),
            "v2" => (200, format!("This is v2 running in pod {host}\n")),
            "v3" if self.requests >= 5 => (500, format!("Some internal error has occurred! This is pod {host}\n")),
            "v3" => (200, format!("This is v3 running in pod {host}\n")),
            "v4" => (200, format!("This is v4 running in pod {host}\n")),
            "kubia-pet" | "kubia-pet-peers" if http.method == "POST" => {
                self.data = Some(http.body.clone());
                cx.log("New data has been received and stored.");
                (200, format!("Data stored on pod {host}\n"))
            }
            "kubia-pet" | "kubia-pet-peers" => {
                let data = self.data.clone().unwrap_or_else(|| "No data posted yet".into());
                (200, format!("You've hit {host}\nData stored on this pod: {data}\n"))
            }
            _ => (200, format!("You've hit {host}\n")),
        };
        let body = if http.method == "HEAD" { String::new() } else { body };
        http_reply(&req.payload, HttpResponse::new(status, node_headers(cx), body))
    }
}

/// `gcr.io/google-samples/kubernetes-bootcamp` (server.js).
#[derive(Clone, Debug)]
pub struct Bootcamp {
    version: String,
    requests: u64,
}

impl Bootcamp {
    pub fn new(tag: &str) -> Self {
        Bootcamp { version: if tag == "v2" { "2".into() } else { "1".into() }, requests: 0 }
    }

    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 300;
        let Some(http) = http_of(&req.payload) else { return Reply::Closed };
        self.requests += 1;
        let body = format!("Hello Kubernetes bootcamp! | Running on: {} | v={}\n", cx.pod, self.version);
        let uptime_ms = cx.now.millis_since(cx.started_at);
        let uptime = format!("{}", uptime_ms as f64 / 1000.0);
        cx.log(format!(
            "Running On: {} | Total Requests: {} | App Uptime: {uptime} seconds | Log Time: {}",
            cx.pod,
            self.requests,
            wall(cx.now).strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        ));
        let mut headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
        headers.extend(node_headers(cx));
        let body = if http.method == "HEAD" { String::new() } else { body };
        http_reply(&req.payload, HttpResponse::new(200, headers, body))
    }
}

/// `hashicorp/http-echo`: answers every request with its `-text`.
#[derive(Clone, Debug)]
pub struct HttpEcho {
    text: String,
    listen: String,
}

impl HttpEcho {
    /// Reads `-text=…`/`-text …` and `-listen=…` as Go's flag package does.
    pub fn from_args(args: &[String]) -> Self {
        let mut echo = HttpEcho { text: String::new(), listen: ":5678".into() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let flag = a.trim_start_matches('-');
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            let value = || value.clone().or_else(|| it.clone().next().cloned());
            match name {
                "text" => {
                    echo.text = value().unwrap_or_default();
                    if !a.contains('=') {
                        it.next();
                    }
                }
                "listen" => {
                    echo.listen = value().unwrap_or_else(|| ":5678".into());
                    if !a.contains('=') {
                        it.next();
                    }
                }
                _ => {}
            }
        }
        echo
    }

    /// The port `-listen` names.
    pub fn port(&self) -> i32 {
        self.listen.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(5678)
    }

    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 50;
        let Some(http) = http_of(&req.payload) else { return Reply::Closed };
        let body = format!("{}\n", self.text);
        let mut headers = vec![("X-App-Name".to_string(), "http-echo".to_string()), ("X-App-Version".to_string(), "1.0.0".to_string())];
        headers.extend(go_headers(cx, &body));
        cx.log(format!(
            "{} {} {}:{} \"{}\" 200 {} \"{}\" 42.517µs",
            go_log_time(cx.now),
            http.header("host").unwrap_or(""),
            req.client_ip,
            req.client_port,
            http.request_line(),
            body.len(),
            http.header("user-agent").unwrap_or("")
        ));
        let body = if http.method == "HEAD" { String::new() } else { body };
        http_reply(&req.payload, HttpResponse::new(200, headers, body))
    }
}

/// `registry.k8s.io/e2e-test-images/agnhost netexec`: Kubernetes' own test
/// server (kind's Ingress guide uses it): `/hostname`, `/echo?msg=`, `/`.
#[derive(Clone, Debug)]
pub struct Agnhost {
    pub port: i32,
}

impl Agnhost {
    /// Only its `netexec` subcommand serves HTTP.
    pub fn from_argv(command: &[String], args: &[String]) -> Option<Self> {
        let argv: Vec<&String> = command.iter().chain(args.iter()).collect();
        if !argv.iter().any(|a| a.as_str() == "netexec") {
            return None;
        }
        let mut port = 8080;
        for (i, a) in argv.iter().enumerate() {
            if let Some(v) = a.strip_prefix("--http-port=") {
                port = v.parse().unwrap_or(8080);
            } else if a.as_str() == "--http-port" {
                port = argv.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(8080);
            }
        }
        Some(Agnhost { port })
    }

    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 60;
        let Some(http) = http_of(&req.payload) else { return Reply::Closed };
        let path = http.path().to_string();
        let query = http.target.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
        let body = match path.as_str() {
            "/hostname" => cx.pod.to_string(),
            "/echo" => query.split('&').find_map(|kv| kv.strip_prefix("msg=")).unwrap_or("").replace("%20", " "),
            "/clientip" => format!("{}:{}", req.client_ip, req.client_port),
            "/healthz" => "ok".to_string(),
            _ => format!("NOW: {}", wall(cx.now).strftime("%Y-%m-%d %H:%M:%S%.9f +0000 UTC")),
        };
        cx.log(format!("I{} {:>7} log.go:195] GET {path}", super::super::http::wall(cx.now).strftime("%m%d %H:%M:%S%.6f"), 1));
        let headers = go_headers(cx, &body);
        http_reply(&req.payload, HttpResponse::new(200, headers, body))
    }
}

/// The Workshop's first app (Exercise 1.01): a Go server on 8080.
pub fn serve_beginners(req: &Incoming, cx: &mut ServeCx) -> Reply {
    cx.cpu_us += 80;
    let Some(http) = http_of(&req.payload) else { return Reply::Closed };
    cx.log(format!("{} Ping from {}:{}", go_log_time(cx.now), req.client_ip, req.client_port));
    let body = "Hello Kubernetes Beginners!\n".to_string();
    let headers = go_headers(cx, &body);
    let body = if http.method == "HEAD" { String::new() } else { body };
    http_reply(&req.payload, HttpResponse::new(200, headers, body))
}

/// The Workshop's Pageview (Activity 1.01): counts visits with `INCR pv` on
/// Redis at `db:6379`. A Redis error makes the handler panic: net/http
/// logs the panic and closes the connection without a reply.
pub fn serve_pageview(req: &Incoming, cx: &mut ServeCx) -> Reply {
    cx.cpu_us += 120;
    let Some(_http) = http_of(&req.payload) else { return Reply::Closed };
    let remote = format!("{}:{}", req.client_ip, req.client_port);
    cx.log(format!("{} Ping from {remote}", go_log_time(cx.now)));
    let error = match cx.upstream.call("db", 6379, Payload::Redis(vec!["INCR".into(), "pv".into()])) {
        Ok(Reply::Redis(RespValue::Integer(n))) => {
            let body = format!("Hello, you're visitor #{n}.\n");
            let headers = go_headers(cx, &body);
            return http_reply(&req.payload, HttpResponse::new(200, headers, body));
        }
        Ok(Reply::Redis(RespValue::Error(e))) => e,
        Ok(_) => "redis: unexpected reply".to_string(),
        Err(e) => e.go_error(),
    };
    cx.log(format!("{} http: panic serving {remote}: {error}", go_log_time(cx.now)));
    for line in [
        "goroutine 18 [running]:",
        "net/http.(*conn).serve.func1()",
        "\t/usr/local/go/src/net/http/server.go:1868 +0xb9",
        "panic({0x6b7d20?, 0xc0000a2f30?})",
        "\t/usr/local/go/src/runtime/panic.go:920 +0x270",
        "main.handler({0x7f1a78?, 0xc0000f00e0?}, 0x0?)",
        "\t/app/main.go:34 +0x1d5",
        "net/http.HandlerFunc.ServeHTTP(0x0?, {0x7f1a78?, 0xc0000f00e0?}, 0x0?)",
        "\t/usr/local/go/src/net/http/server.go:2136 +0x29",
        "created by net/http.(*Server).Serve in goroutine 1",
        "\t/usr/local/go/src/net/http/server.go:3086 +0x4cc",
    ] {
        cx.log(line);
    }
    Reply::Closed
}

/// CPU one hpa-example request burns (a million square roots in PHP).
pub const HPA_EXAMPLE_CPU_US: u64 = 80_000;

/// `registry.k8s.io/hpa-example`: Apache with PHP; every request computes,
/// then prints `OK!`.
pub fn serve_hpa_example(req: &Incoming, cx: &mut ServeCx) -> Reply {
    let Some(http) = http_of(&req.payload) else { return Reply::Closed };
    cx.cpu_us += HPA_EXAMPLE_CPU_US;
    let body = "OK!".to_string();
    let headers = vec![
        ("Date".to_string(), http_date(cx.now)),
        ("Server".to_string(), "Apache/2.4.10 (Debian)".to_string()),
        ("X-Powered-By".to_string(), "PHP/5.6.40".to_string()),
        ("Content-Length".to_string(), body.len().to_string()),
        ("Content-Type".to_string(), "text/html; charset=UTF-8".to_string()),
    ];
    cx.log(format!(
        "{} - - [{}] \"{}\" 200 {} \"-\" \"{}\"",
        req.client_ip,
        log_time(cx.now),
        http.request_line(),
        body.len(),
        http.header("user-agent").unwrap_or("-")
    ));
    http_reply(&req.payload, HttpResponse::new(200, headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_echo_reads_go_flags() {
        let e = HttpEcho::from_args(&["-text=hello world".into()]);
        assert_eq!((e.text.as_str(), e.port()), ("hello world", 5678));
        let e = HttpEcho::from_args(&["-listen=:8080".into(), "-text".into(), "apple".into()]);
        assert_eq!((e.text.as_str(), e.port()), ("apple", 8080));
    }
}
