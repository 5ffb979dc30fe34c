//! Web servers: nginx (the welcome page, its error pages, the combined
//! access log on stdout) and Apache httpd ("It works!").

use super::{http_of, http_reply, Incoming, Reply, ServeCx};
use crate::engine::network::http::{http_date, http_date_unix, log_time, HttpRequest, HttpResponse};

pub const NGINX_VERSION: &str = "nginx/1.27.5";

/// `/usr/share/nginx/html/index.html`, as the image ships it.
pub use crate::engine::node::rootfs::NGINX_INDEX as NGINX_WELCOME;

/// `/usr/share/nginx/html/50x.html`.
use crate::engine::node::rootfs::NGINX_50X;

/// When the image's html files were written (Unix seconds): `Last-Modified` and the ETag.
const NGINX_HTML_MTIME: i64 = 1_744_804_871;

/// nginx's built-in error page for a status (CRLF line ends, as nginx sends them).
pub fn nginx_error_page(status: u16, server: &str) -> String {
    let title = match status {
        400 => "400 Bad Request",
        403 => "403 Forbidden",
        404 => "404 Not Found",
        405 => "405 Not Allowed",
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        _ => "500 Internal Server Error",
    };
    format!("<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>{server}</center>\r\n</body>\r\n</html>\r\n")
}

/// An error response as nginx sends it.
pub fn nginx_error(status: u16, server: &str, now_date: String, head: bool) -> HttpResponse {
    let body = nginx_error_page(status, server);
    let headers = vec![
        ("Server".to_string(), server.to_string()),
        ("Date".to_string(), now_date),
        ("Content-Type".to_string(), "text/html".to_string()),
        ("Content-Length".to_string(), body.len().to_string()),
        ("Connection".to_string(), if status == 400 { "close" } else { "keep-alive" }.to_string()),
    ];
    HttpResponse::new(status, headers, if head { String::new() } else { body })
}

/// The combined access-log line nginx writes to stdout.
pub fn nginx_access_line(client: &str, req: Option<&HttpRequest>, status: u16, bytes: usize, cx: &ServeCx) -> String {
    let (line, ua, referer) = match req {
        Some(r) => (r.request_line(), r.header("user-agent").unwrap_or("-").to_string(), r.header("referer").unwrap_or("-").to_string()),
        None => (String::new(), "-".into(), "-".into()),
    };
    let xff = req.and_then(|r| r.header("x-forwarded-for")).unwrap_or("-");
    format!("{client} - - [{}] \"{line}\" {status} {bytes} \"{referer}\" \"{ua}\" \"{xff}\"", log_time(cx.now))
}

#[derive(Clone, Debug, Default)]
pub struct Nginx;

impl Nginx {
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 100;
        let Some(http) = http_of(&req.payload) else {
            let resp = nginx_error(400, NGINX_VERSION, http_date(cx.now), false);
            cx.log(nginx_access_line(&req.client_ip, None, 400, resp.body.len(), cx));
            return http_reply(&req.payload, resp);
        };
        let head = http.method == "HEAD";
        let page = match http.path() {
            "/" | "/index.html" => Some(NGINX_WELCOME),
            "/50x.html" => Some(NGINX_50X),
            _ => None,
        };
        let resp = match (page, http.method.as_str()) {
            (Some(body), "GET" | "HEAD") => {
                let etag = format!("\"{:x}-{:x}\"", NGINX_HTML_MTIME, body.len());
                let headers = vec![
                    ("Server".to_string(), NGINX_VERSION.to_string()),
                    ("Date".to_string(), http_date(cx.now)),
                    ("Content-Type".to_string(), "text/html".to_string()),
                    ("Content-Length".to_string(), body.len().to_string()),
                    ("Last-Modified".to_string(), http_date_unix(NGINX_HTML_MTIME)),
                    ("Connection".to_string(), "keep-alive".to_string()),
                    ("ETag".to_string(), etag),
                    ("Accept-Ranges".to_string(), "bytes".to_string()),
                ];
                HttpResponse::new(200, headers, if head { String::new() } else { body.to_string() })
            }
            (Some(_), _) => nginx_error(405, NGINX_VERSION, http_date(cx.now), false),
            (None, _) => nginx_error(404, NGINX_VERSION, http_date(cx.now), head),
        };
        let bytes = if head { 0 } else { resp.body.len() };
        cx.log(nginx_access_line(&req.client_ip, Some(&http), resp.status, bytes, cx));
        if resp.status == 404 {
            cx.log(format!(
                "{} [error] 29#29: *1 open() \"/usr/share/nginx/html{}\" failed (2: No such file or directory), client: {}, server: localhost, request: \"{}\", host: \"{}\"",
                crate::engine::network::http::wall(cx.now).strftime("%Y/%m/%d %H:%M:%S"),
                http.path(),
                req.client_ip,
                http.request_line(),
                http.header("host").unwrap_or("")
            ));
        }
        http_reply(&req.payload, resp)
    }
}

const HTTPD_VERSION: &str = "Apache/2.4.63 (Unix)";
const HTTPD_INDEX: &str = "<html><body><h1>It works!</h1></body></html>\n";

#[derive(Clone, Debug, Default)]
pub struct Httpd;

impl Httpd {
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 150;
        let Some(http) = http_of(&req.payload) else {
            let body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not understand.<br />\n</p>\n</body></html>\n";
            let headers = vec![
                ("Date".to_string(), http_date(cx.now)),
                ("Server".to_string(), HTTPD_VERSION.to_string()),
                ("Content-Length".to_string(), body.len().to_string()),
                ("Connection".to_string(), "close".to_string()),
                ("Content-Type".to_string(), "text/html; charset=iso-8859-1".to_string()),
            ];
            cx.log(format!("{} - - [{}] \"-\" 408 -", req.client_ip, log_time(cx.now)));
            return http_reply(&req.payload, HttpResponse::new(400, headers, body));
        };
        let head = http.method == "HEAD";
        let resp = if matches!(http.path(), "/" | "/index.html") {
            let headers = vec![
                ("Date".to_string(), http_date(cx.now)),
                ("Server".to_string(), HTTPD_VERSION.to_string()),
                ("Last-Modified".to_string(), "Mon, 11 Jun 2007 18:53:14 GMT".to_string()),
                ("ETag".to_string(), "\"2d-432a5e4a73a80\"".to_string()),
                ("Accept-Ranges".to_string(), "bytes".to_string()),
                ("Content-Length".to_string(), HTTPD_INDEX.len().to_string()),
                ("Content-Type".to_string(), "text/html".to_string()),
            ];
            HttpResponse::new(200, headers, if head { String::new() } else { HTTPD_INDEX.to_string() })
        } else {
            let body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n".to_string();
            let headers = vec![
                ("Date".to_string(), http_date(cx.now)),
                ("Server".to_string(), HTTPD_VERSION.to_string()),
                ("Content-Length".to_string(), body.len().to_string()),
                ("Content-Type".to_string(), "text/html; charset=iso-8859-1".to_string()),
            ];
            HttpResponse::new(404, headers, if head { String::new() } else { body })
        };
        let bytes = if head || resp.body.is_empty() { "-".to_string() } else { resp.body.len().to_string() };
        cx.log(format!("{} - - [{}] \"{}\" {} {bytes}", req.client_ip, log_time(cx.now), http.request_line(), resp.status));
        http_reply(&req.payload, resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_the_real_sizes() {
        assert_eq!(NGINX_WELCOME.len(), 615);
        assert_eq!(NGINX_50X.len(), 497);
        assert_eq!(nginx_error_page(404, NGINX_VERSION).len(), 153);
        assert_eq!(HTTPD_INDEX.len(), 45);
    }
}
