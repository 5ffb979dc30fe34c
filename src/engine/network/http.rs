//! The little of HTTP/1.1 the simulated clients and servers speak: requests
//! and responses as values, their wire form (for `curl -v`, `nc` and
//! `wget -S`), and the date formats servers print.

use k8s_openapi::jiff::{tz::TimeZone, Timestamp, Zoned};

use crate::engine::api::meta::EPOCH_SECONDS;
use crate::engine::sim::clock::VirtualTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query, `/` at least.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// In the order sent; `Host` first, as curl and wget send it.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpRequest {
    pub fn get(host: &str, target: &str, user_agent: &str) -> Self {
        HttpRequest {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/1.1".into(),
            headers: vec![("Host".into(), host.into()), ("User-Agent".into(), user_agent.into()), ("Accept".into(), "*/*".into())],
            body: String::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `Host` header without its port.
    pub fn host(&self) -> String {
        let h = self.header("host").unwrap_or("");
        h.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(h, |(h, _)| h).to_ascii_lowercase()
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    /// `GET / HTTP/1.1`, as access logs quote it.
    pub fn request_line(&self) -> String {
        format!("{} {} {}", self.method, self.target, self.version)
    }

    pub fn wire(&self) -> String {
        let mut out = format!("{}\r\n", self.request_line());
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }

    /// Reads a request as a server would from raw text (`nc`): `None` when
    /// the text is not an HTTP request line.
    pub fn parse(raw: &str) -> Option<HttpRequest> {
        let mut lines = raw.split('\n').map(|l| l.trim_end_matches('\r'));
        let first = lines.next()?;
        let mut parts = first.split_whitespace();
        let method = parts.next()?.to_string();
        let target = parts.next()?.to_string();
        let version = parts.next().unwrap_or("HTTP/0.9").to_string();
        if !method.chars().all(|c| c.is_ascii_uppercase()) || !version.starts_with("HTTP/") {
            return None;
        }
        let mut headers = Vec::new();
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let body: Vec<&str> = lines.collect();
        Some(HttpRequest { method, target, version, headers, body: body.join("\n") })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<String>) -> Self {
        HttpResponse { status, version: "HTTP/1.1".into(), headers, body: body.into() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, reason(self.status))
    }

    pub fn wire(&self) -> String {
        let mut out = format!("{}\r\n", self.status_line());
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        _ => "Unknown",
    }
}

pub fn wall(t: VirtualTime) -> Zoned {
    let ms = EPOCH_SECONDS as i128 * 1000 + t.as_millis() as i128;
    Timestamp::from_millisecond(ms as i64).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC)
}

/// `Thu, 01 Jan 2026 00:00:05 GMT`, the `Date` header.
pub fn http_date(t: VirtualTime) -> String {
    wall(t).strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `01/Jan/2026:00:00:05 +0000`, the access-log time.
pub fn log_time(t: VirtualTime) -> String {
    wall(t).strftime("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// `2026/01/01 00:00:05`, Go's `log` prefix.
pub fn go_log_time(t: VirtualTime) -> String {
    wall(t).strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// An HTTP date for a fixed instant given in Unix seconds.
pub fn http_date_unix(secs: i64) -> String {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC).strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_as_servers_do() {
        assert_eq!(http_date(VirtualTime::from_secs(5)), "Thu, 01 Jan 2026 00:00:05 GMT");
        assert_eq!(log_time(VirtualTime::from_secs(65)), "01/Jan/2026:00:01:05 +0000");
        assert_eq!(go_log_time(VirtualTime::from_secs(5)), "2026/01/01 00:00:05");
    }

    #[test]
    fn parses_raw_requests() {
        let r = HttpRequest::parse("GET /x?y=1 HTTP/1.0\r\nHost: web:8080\r\n\r\n").unwrap();
        assert_eq!((r.method.as_str(), r.path(), r.host()), ("GET", "/x", "web".to_string()));
        assert!(HttpRequest::parse("PING\r\n").is_none());
        assert!(HttpRequest::parse("").is_none());
    }
}
