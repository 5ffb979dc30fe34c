//! An HTTP client's round trip, shared by `curl`, `wget` and the traffic
//! generator: resolve, connect, send, read the reply.

use crate::engine::network::apps::{Payload, Reply};
use crate::engine::network::exchange::exchange;
use crate::engine::network::http::{HttpRequest, HttpResponse};
use crate::engine::network::path::connect;
use crate::engine::network::resolver::{resolve, ResolveError};
use crate::engine::network::rules::Proto;
use crate::engine::network::{ConnectError, Origin};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// A parsed `http://host:port/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub host: String,
    pub port: i32,
    /// Path and query, at least `/`.
    pub target: String,
    /// Whether the URL named the port.
    pub explicit_port: bool,
}

impl Url {
    /// Parses a URL as curl and wget accept it (a missing scheme is http).
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_string(), text),
        };
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("unsupported scheme {other}")),
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        // curl and wget send the path with its dot segments removed.
        let target = match target.split_once('?') {
            Some((path, query)) => format!("{}?{query}", remove_dot_segments(path)),
            None => remove_dot_segments(&target),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        if authority.is_empty() {
            return Err("no host".into());
        }
        let (host, port, explicit) = match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<i32>().map_err(|_| format!("bad port {p}"))?, true),
            None => (authority.to_string(), default_port, false),
        };
        if !(1..=65535).contains(&port) {
            return Err(format!("bad port {port}"));
        }
        Ok(Url { scheme, host: host.to_ascii_lowercase(), port, target, explicit_port: explicit })
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        if self.explicit_port {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }
}

/// RFC 3986's `remove_dot_segments` (5.2.4), for a path starting with `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../").or_else(|| input.strip_prefix("./")) {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            let cut = output.rfind('/').unwrap_or(0);
            output.truncate(cut);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    output
}

/// Why a request got no HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpFailure {
    Resolve(ResolveError),
    Connect { ip: String, error: ConnectError },
    /// The server closed without a response.
    EmptyReply { ip: String },
    /// The server answered something that is not HTTP.
    NotHttp { ip: String, raw: String },
}

/// The result of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub ip: String,
    pub response: HttpResponse,
    /// The pod whose application produced the response (for reports).
    pub responder: Option<String>,
}

/// [`fetch`], but a request from the learner's machine to its own
/// loopback address goes to what listens there (`kubectl proxy`), or is
/// refused when nothing does.
pub fn fetch_with_loopback(world: &mut World, origin: &Origin, url: &Url, request: HttpRequest, now: VirtualTime, loopback: Option<&crate::engine::learner_proxy::Loopback>) -> (Result<Fetched, HttpFailure>, u64) {
    let to_loopback = matches!(url.host.as_str(), "localhost" | "[::1]" | "::1") || url.host.starts_with("127.");
    match loopback {
        Some(lb) if *origin == Origin::Host && to_loopback => {
            let ip = if url.host.starts_with("127.") { url.host.clone() } else { "127.0.0.1".to_string() };
            match lb.serve(world, &url.host, url.port, &request, now) {
                Some((response, took)) => (Ok(Fetched { ip, response, responder: None }), took),
                None => (Err(HttpFailure::Connect { ip, error: ConnectError::Refused }), 1),
            }
        }
        _ => fetch(world, origin, url, request, now),
    }
}

/// One HTTP request from `origin`. Returns the outcome and the virtual
/// milliseconds it took (resolution, connection, the server's work).
pub fn fetch(world: &mut World, origin: &Origin, url: &Url, request: HttpRequest, now: VirtualTime) -> (Result<Fetched, HttpFailure>, u64) {
    let (resolved, mut spent) = resolve(world, origin, &url.host, now);
    let ip = match resolved {
        Ok(r) => r.addresses.first().cloned().unwrap_or_default(),
        Err(e) => return (Err(HttpFailure::Resolve(e)), spent),
    };
    let at = now.plus_millis(spent);
    let landing = match connect(world, origin, &ip, url.port, Proto::Tcp, at) {
        Ok(l) => l,
        Err(error) => return (Err(HttpFailure::Connect { ip, error }), spent + error.wait_ms()),
    };
    world.net.responder = None;
    let (reply, done) = exchange(world, &landing, Payload::Http(request), at, 0);
    spent += done.millis_since(at) + 1;
    let responder = world.net.responder.take();
    match reply {
        Reply::Http(response) => (Ok(Fetched { ip, response, responder }), spent),
        Reply::Closed => (Err(HttpFailure::EmptyReply { ip }), spent),
        Reply::Raw(raw) => (Err(HttpFailure::NotHttp { ip, raw }), spent),
        Reply::Redis(v) => (Err(HttpFailure::NotHttp { ip, raw: v.wire() }), spent),
        Reply::Silent | Reply::Dns(_) => (Err(HttpFailure::EmptyReply { ip }), spent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_says() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(remove_dot_segments("/docs/."), "/docs/");
        assert_eq!(remove_dot_segments("/docs/.."), "/");
        assert_eq!(remove_dot_segments("/a//b/"), "/a//b/");
        assert_eq!(Url::parse("http://web/x/../y?q=/../z").map(|u| u.target), Ok("/y?q=/../z".to_string()));
    }

    #[test]
    fn parses_urls_as_curl_does() {
        let u = Url::parse("kubia").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.target.as_str()), ("kubia", 80, "/"));
        let u = Url::parse("http://10.96.0.5:8080/x?y=1").unwrap();
        assert_eq!((u.port, u.target.as_str(), u.host_header()), (8080, "/x?y=1", "10.96.0.5:8080".to_string()));
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://x:99999").is_err());
    }
}
