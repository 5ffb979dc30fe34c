//! Web servers: nginx (the welcome page, its error pages, the combined
//! access log on stdout) and Apache httpd ("It works!").

use super::{http_of, http_reply, Incoming, Reply, ServeCx};
use crate::engine::network::http::{http_date, http_date_unix, log_time, HttpRequest, HttpResponse};

pub const NGINX_VERSION: &str = "nginx/1.27.5";

/// nginx's built-in error page for a status (CRLF line ends, as nginx sends them).
pub fn nginx_error_page(status: u16, server: &str) -> String {
    let title = match status {
        301 => "301 Moved Permanently",
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

/// The stock server's root (`/etc/nginx/conf.d/default.conf`).
const NGINX_ROOT: &str = "/usr/share/nginx/html";

/// What nginx's stock server (`root /usr/share/nginx/html; index
/// index.html index.htm;`, autoindex off) finds for a request path in the
/// container's files, as its index and static modules look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    File { body: String, mtime: i64, content_type: &'static str },
    /// A directory asked for without its slash: redirected to it with one.
    Directory,
    /// `..` above the root.
    BadPath,
    /// A 403 or 404, with the line nginx's error log gets (after `*1 `).
    Refused { status: u16, error: String },
}

/// Who nginx's workers run as (the image's `nginx` account).
const NGINX_WORKER: u32 = 101;

/// Looks `path` up under nginx's root in `files`.
pub fn nginx_find(files: &dyn crate::engine::node::container_fs::Files, path: &str) -> Found {
    use crate::engine::node::container_fs as cfs;
    use crate::engine::node::filesystem::{Errno, Kind};
    // nginx's own normalisation: `//` and `.` dropped, `..` climbs.
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Found::BadPath;
                }
            }
            p => parts.push(p),
        }
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let joined = parts.iter().map(|p| format!("/{p}")).collect::<String>();
    let full = format!("{NGINX_ROOT}{joined}");
    let readable = |mode: u32, uid: u32, gid: u32| mode & 0o004 != 0 || (uid == NGINX_WORKER && mode & 0o400 != 0) || (gid == NGINX_WORKER && mode & 0o040 != 0);
    let open = |at: &str| -> Result<Found, Found> {
        match cfs::stat(files, "/", at) {
            Ok((_, inode)) => match &inode.kind {
                Kind::Dir => Ok(Found::Directory),
                Kind::File(content) if readable(inode.mode, inode.uid, inode.gid) => {
                    Ok(Found::File { body: content.to_string(), mtime: inode.mtime(), content_type: content_type(at) })
                }
                _ => Err(Found::Refused { status: 403, error: format!("open() \"{at}\" failed (13: Permission denied)") }),
            },
            Err(Errno::Access) => Err(Found::Refused { status: 403, error: format!("open() \"{at}\" failed (13: Permission denied)") }),
            Err(_) => Err(Found::Refused { status: 404, error: format!("open() \"{at}\" failed (2: No such file or directory)") }),
        }
    };
    if !trailing {
        return open(&full).unwrap_or_else(|refused| refused);
    }
    // The index module: the first index file that exists, else the directory.
    let dir = if full.ends_with('/') { full.clone() } else { format!("{full}/") };
    for index in ["index.html", "index.htm"] {
        match open(&format!("{dir}{index}")) {
            Ok(Found::Directory) => continue,
            Ok(found) => return found,
            Err(Found::Refused { status: 404, .. }) => continue,
            Err(refused) => return refused,
        }
    }
    match cfs::stat(files, "/", &dir) {
        Ok((_, inode)) if inode.is_dir() => Found::Refused { status: 403, error: format!("directory index of \"{dir}\" is forbidden") },
        _ => Found::Refused { status: 404, error: format!("\"{dir}index.html\" is not found (2: No such file or directory)") },
    }
}

/// nginx's `mime.types` for a file's extension (`default_type
/// application/octet-stream` otherwise).
fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" | "shtml" => "text/html",
        "css" => "text/css",
        "xml" => "text/xml",
        "gif" => "image/gif",
        "jpeg" | "jpg" => "image/jpeg",
        "js" => "application/javascript",
        "txt" => "text/plain",
        "png" => "image/png",
        "svg" | "svgz" => "image/svg+xml",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "webp" => "image/webp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

impl Nginx {
    /// Serves `req` from what the container's files hold at its path
    /// (`cx.docroot`, [`nginx_find`]), which every caller looks up for an
    /// HTTP request.
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 100;
        let Some(http) = http_of(&req.payload) else {
            let resp = nginx_error(400, NGINX_VERSION, http_date(cx.now), false);
            cx.log(nginx_access_line(&req.client_ip, None, 400, resp.body.len(), cx));
            return http_reply(&req.payload, resp);
        };
        let head = http.method == "HEAD";
        let Some(found) = cx.docroot.take() else { return Reply::Closed };
        let mut error_line = None;
        let date = http_date(cx.now);
        let resp = match found {
            _ if !matches!(http.method.as_str(), "GET" | "HEAD" | "POST") => nginx_error(405, NGINX_VERSION, date, head),
            Found::BadPath => nginx_error(400, NGINX_VERSION, date, head),
            Found::Refused { status, error } => {
                error_line = Some(error);
                nginx_error(status, NGINX_VERSION, date, head)
            }
            Found::Directory => {
                // `absolute_redirect`: the Host header's name, the listening port (80) left out.
                let host = http.header("host").unwrap_or("localhost");
                let name = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(name, _)| name);
                let query = http.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
                let mut resp = nginx_error(301, NGINX_VERSION, date, head);
                resp.headers.insert(4, ("Location".to_string(), format!("http://{name}{}/{query}", http.path())));
                resp
            }
            Found::File { .. } if http.method == "POST" => nginx_error(405, NGINX_VERSION, date, head),
            Found::File { body, mtime, content_type } => {
                let etag = format!("\"{:x}-{:x}\"", mtime, body.len());
                let headers = vec![
                    ("Server".to_string(), NGINX_VERSION.to_string()),
                    ("Date".to_string(), date),
                    ("Content-Type".to_string(), content_type.to_string()),
                    ("Content-Length".to_string(), body.len().to_string()),
                    ("Last-Modified".to_string(), http_date_unix(mtime)),
                    ("Connection".to_string(), "keep-alive".to_string()),
                    ("ETag".to_string(), etag),
                    ("Accept-Ranges".to_string(), "bytes".to_string()),
                ];
                HttpResponse::new(200, headers, if head { String::new() } else { body })
            }
        };
        let bytes = if head { 0 } else { resp.body.len() };
        cx.log(nginx_access_line(&req.client_ip, Some(&http), resp.status, bytes, cx));
        if let Some(error) = error_line {
            cx.log(format!(
                "{} [error] 29#29: *1 {error}, client: {}, server: localhost, request: \"{}\", host: \"{}\"",
                crate::engine::network::http::wall(cx.now).strftime("%Y/%m/%d %H:%M:%S"),
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
    use crate::engine::node::rootfs::{NGINX_50X, NGINX_INDEX as NGINX_WELCOME};

    #[test]
    fn pages_have_the_real_sizes() {
        assert_eq!(NGINX_WELCOME.len(), 615);
        assert_eq!(NGINX_50X.len(), 497);
        assert_eq!(nginx_error_page(404, NGINX_VERSION).len(), 153);
        assert_eq!(HTTPD_INDEX.len(), 45);
    }
}
