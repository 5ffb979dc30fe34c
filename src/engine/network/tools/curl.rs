//! `curl`: the Debian/Alpine builds (7.88, 8.x) and the old ones in
//! tutorial images (7.35, 7.38), which word connection errors differently.

use super::client::{fetch_with_loopback, HttpFailure, Url};
use super::{ToolContext, ToolOutput};
use crate::engine::network::http::HttpRequest;
use crate::engine::network::resolver::ResolveError;
use crate::engine::network::ConnectError;

/// Which curl an image ships: its version string and whether it words
/// errors the modern way (`Couldn't connect to server`).
fn version(ctx: &ToolContext) -> (&'static str, bool) {
    let repo = ctx.image.short_repository();
    if repo == "tutum/curl" {
        ("7.35.0", false)
    } else if repo.contains("kubia") || repo.contains("kubernetes-bootcamp") {
        ("7.38.0", false)
    } else if ctx.toolkit == crate::engine::node::images::Toolkit::Busybox || repo.contains("curl") {
        ("8.14.1", true)
    } else {
        ("7.88.1", true)
    }
}

struct Options {
    url: Option<String>,
    silent: bool,
    show_error: bool,
    verbose: bool,
    include: bool,
    head: bool,
    fail: bool,
    max_time_s: Option<f64>,
    connect_timeout_s: Option<f64>,
    method: Option<String>,
    data: Option<String>,
    headers: Vec<(String, String)>,
    user_agent: Option<String>,
    write_out: Option<String>,
    output: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, (String, i32)> {
    let mut o = Options {
        url: None,
        silent: false,
        show_error: false,
        verbose: false,
        include: false,
        head: false,
        fail: false,
        max_time_s: None,
        connect_timeout_s: None,
        method: None,
        data: None,
        headers: vec![],
        user_agent: None,
        write_out: None,
        output: None,
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: &mut usize| -> Result<String, (String, i32)> {
            *i += 1;
            args.get(*i).cloned().ok_or_else(|| (format!("curl: option {a}: requires parameter\ncurl: try 'curl --help' or 'curl --manual' for more information\n"), 2))
        };
        match a {
            "-s" | "--silent" => o.silent = true,
            "-S" | "--show-error" => o.show_error = true,
            "-v" | "--verbose" => o.verbose = true,
            "-i" | "--include" => o.include = true,
            "-I" | "--head" => o.head = true,
            "-f" | "--fail" => o.fail = true,
            "-L" | "--location" | "-k" | "--insecure" | "-4" | "--ipv4" | "-N" | "--no-buffer" | "-g" | "--globoff" => {}
            "-m" | "--max-time" => o.max_time_s = value(&mut i)?.parse().ok(),
            "--connect-timeout" => o.connect_timeout_s = value(&mut i)?.parse().ok(),
            "-X" | "--request" => o.method = Some(value(&mut i)?),
            "-d" | "--data" | "--data-raw" | "--data-binary" => o.data = Some(value(&mut i)?),
            "-H" | "--header" => {
                let h = value(&mut i)?;
                if let Some((k, v)) = h.split_once(':') {
                    o.headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            "-A" | "--user-agent" => o.user_agent = Some(value(&mut i)?),
            "-w" | "--write-out" => o.write_out = Some(value(&mut i)?),
            "-o" | "--output" => o.output = Some(value(&mut i)?),
            _ if a.starts_with("--") => return Err((format!("curl: option {a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"), 2)),
            _ if a.starts_with('-') && a.len() > 2 => {
                // Combined short flags: `-sS`, `-sv`, `-sI`.
                for c in a[1..].chars() {
                    match c {
                        's' => o.silent = true,
                        'S' => o.show_error = true,
                        'v' => o.verbose = true,
                        'i' => o.include = true,
                        'I' => o.head = true,
                        'f' => o.fail = true,
                        'L' | 'k' => {}
                        _ => return Err((format!("curl: option {a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"), 2)),
                    }
                }
            }
            _ => o.url = Some(a.to_string()),
        }
        i += 1;
    }
    Ok(o)
}

/// `-w` variables curl users reach for.
fn write_out(fmt: &str, code: u16, ip: &str, size: usize) -> String {
    fmt.replace("%{http_code}", &format!("{code:03}"))
        .replace("%{response_code}", &format!("{code:03}"))
        .replace("%{remote_ip}", ip)
        .replace("%{size_download}", &size.to_string())
        .replace("\\n", "\n")
}

/// curl's progress meter when its output is not a terminal.
fn progress(size: usize) -> String {
    let sz = if size < 100_000 { format!("{size:>5}") } else { format!("{:>4}k", size / 1024) };
    let speed = if size < 100_000 { format!("{size:>5}") } else { format!("{:>4}k", size / 1024) };
    format!(
        "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0\r100 {sz}  100 {sz}    0     0  {speed}      0 --:--:-- --:--:-- --:--:-- {speed}\n"
    )
}

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let (version, modern) = version(ctx);
    let o = match parse(args) {
        Ok(o) => o,
        Err((msg, code)) => return ToolOutput::fail(msg, code),
    };
    let Some(raw_url) = o.url.clone() else {
        return ToolOutput::fail("curl: try 'curl --help' or 'curl --manual' for more information\n", 2);
    };
    let url = match Url::parse(&raw_url) {
        Ok(u) if u.scheme == "http" => u,
        Ok(u) => {
            return ToolOutput::fail(
                if o.silent && !o.show_error { String::new() } else { format!("curl: (35) TLS connect error: the simulated {} has no TLS; use http://\n", u.host) },
                35,
            )
        }
        Err(_) => return ToolOutput::fail(if o.silent && !o.show_error { String::new() } else { "curl: (3) URL rejected: Bad hostname\n".to_string() }, 3),
    };
    let method = o.method.clone().unwrap_or_else(|| if o.head { "HEAD".into() } else if o.data.is_some() { "POST".into() } else { "GET".into() });
    let ua = o.user_agent.clone().unwrap_or_else(|| format!("curl/{version}"));
    let mut request = HttpRequest::get(&url.host_header(), &url.target, &ua);
    request.method = method;
    for (k, v) in &o.headers {
        request.headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
        request.headers.push((k.clone(), v.clone()));
    }
    if let Some(d) = &o.data {
        request.headers.push(("Content-Length".into(), d.len().to_string()));
        request.headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
        request.body = d.clone();
    }
    let now = ctx.now;
    let (result, took) = fetch_with_loopback(ctx.world, &ctx.origin, &url, request.clone(), now, ctx.loopback);
    let limit_ms = o.max_time_s.or(o.connect_timeout_s).map(|s| (s * 1000.0) as u64);
    let quiet_errors = o.silent && !o.show_error;
    let mut out = ToolOutput { took_ms: took, ..Default::default() };
    let mut verbose_text = String::new();
    let host = &url.host;
    let port = url.port;
    let err = |msg: String, code: i32, took_ms: u64| {
        let mut o = ToolOutput { code, took_ms, ..Default::default() };
        if !quiet_errors {
            o.err(format!("curl: ({code}) {msg}\n"));
        }
        o
    };
    let fetched = match result {
        Ok(f) => f,
        Err(HttpFailure::Resolve(ResolveError::Timeout)) if limit_ms.is_some_and(|l| l < took) => {
            let l = limit_ms.unwrap_or(0);
            return err(format!("Resolving timed out after {} milliseconds", l + 1), 28, l);
        }
        Err(HttpFailure::Resolve(_)) => return err(format!("Could not resolve host: {host}"), 6, took),
        Err(HttpFailure::Connect { ip, error }) => {
            if let (Some(l), ConnectError::TimedOut | ConnectError::NoRoute) = (limit_ms, error) {
                if l < error.wait_ms() {
                    let msg = if modern { format!("Failed to connect to {host} port {port} after {} ms: Timeout was reached", l + 2) } else { format!("Connection timed out after {} milliseconds", l + 1) };
                    return err(msg, 28, l);
                }
            }
            let why = match error {
                ConnectError::Refused => "Connection refused",
                ConnectError::TimedOut => "Connection timed out",
                ConnectError::NoRoute => "No route to host",
            };
            let msg = if modern { format!("Failed to connect to {host} port {port} after {took} ms: Couldn't connect to server") } else { format!("Failed to connect to {ip} port {port}: {why}") };
            return err(msg, 7, took);
        }
        Err(HttpFailure::EmptyReply { .. }) => return err("Empty reply from server".into(), 52, took),
        Err(HttpFailure::NotHttp { .. }) => return err("Received HTTP/0.9 when not allowed".into(), 1, took),
    };
    let resp = &fetched.response;
    if o.verbose {
        let mut v = format!("*   Trying {}:{port}...\n* Connected to {host} ({}) port {port}\n", fetched.ip, fetched.ip);
        for line in request.wire().split("\r\n").take_while(|l| !l.is_empty()) {
            v.push_str(&format!("> {line}\n"));
        }
        v.push_str("> \n");
        v.push_str(&format!("< {}\n", resp.status_line()));
        for (k, val) in &resp.headers {
            v.push_str(&format!("< {k}: {val}\n"));
        }
        v.push_str("< \n");
        if !resp.body.is_empty() {
            v.push_str(&format!("{{ [{} bytes data]\n", resp.body.len()));
        }
        v.push_str(&format!("* Connection #0 to host {host} left intact\n"));
        verbose_text = v;
        out.err(verbose_text.clone());
    }
    if o.fail && resp.status >= 400 {
        let msg = if modern { format!("The requested URL returned error: {}", resp.status) } else { format!("The requested URL returned error: {} {}", resp.status, crate::engine::network::http::reason(resp.status)) };
        let mut e = err(msg, 22, took);
        if !verbose_text.is_empty() {
            e.chunks.insert(0, (super::Stream::Err, verbose_text));
        }
        return e;
    }
    let mut body = String::new();
    if o.include || o.head {
        body.push_str(resp.wire().split("\r\n\r\n").next().unwrap_or(""));
        body.push_str("\r\n\r\n");
    }
    if !o.head {
        body.push_str(&resp.body);
    }
    let to_stdout = !matches!(o.output.as_deref(), Some(p) if p != "-");
    if !o.silent && (!ctx.tty || !to_stdout) && !o.verbose {
        out.err(progress(resp.body.len()));
    }
    if to_stdout {
        out.out(body);
    } else if let Some(path) = o.output.clone().filter(|p| p != "/dev/null") {
        out.files.push((path, body));
    }
    if let Some(fmt) = &o.write_out {
        out.out(write_out(fmt, resp.status, &fetched.ip, resp.body.len()));
    }
    out
}
