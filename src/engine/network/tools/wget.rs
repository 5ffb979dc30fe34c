//! `wget`: busybox's applet (busybox and Alpine images) and GNU Wget
//! (Debian-based images that ship it).

use super::client::{fetch_with_loopback, HttpFailure, Url};
use super::{ToolContext, ToolOutput};
use crate::engine::network::http::{wall, HttpRequest};
use crate::engine::network::resolver::ResolveError;
use crate::engine::network::ConnectError;
use crate::engine::node::images::Toolkit;

/// busybox's 5-character size (`  615`, `12345`, ` 120k`, `92.1M`).
fn size5(n: u64) -> String {
    if n <= 99_999 {
        return format!("{n:>5}");
    }
    let scale = [' ', 'k', 'M', 'G', 'T'];
    let mut v = n * 10;
    let mut idx = 0;
    while v >= 100_000 {
        v /= 1024;
        idx += 1;
    }
    let (u, tenth) = (v / 10, v % 10);
    let unit = scale.get(idx).copied().unwrap_or('T');
    if u >= 100 {
        format!("{:>4}{unit}", u)
    } else {
        format!("{:>2}.{tenth}{unit}", u)
    }
}

/// busybox's progress line when stderr is not a terminal (80 columns).
fn progress_line(file: &str, size: u64) -> String {
    let name: String = file.chars().take(20).collect();
    format!("{name:<20} 100% |{}| {}  0:00:00 ETA\n", "*".repeat(32), size5(size))
}

struct Options {
    quiet: bool,
    output: Option<String>,
    timeout_s: Option<u64>,
    server_response: bool,
    spider: bool,
    user_agent: Option<String>,
    headers: Vec<(String, String)>,
    url: Option<String>,
}

fn parse(args: &[String], busybox: bool) -> Result<Options, String> {
    let mut o = Options { quiet: false, output: None, timeout_s: None, server_response: false, spider: false, user_agent: None, headers: vec![], url: None };
    let mut i = 0;
    let usage = if busybox {
        "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n\nRetrieve files via HTTP or FTP\n".to_string()
    } else {
        "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n".to_string()
    };
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: &mut usize| -> Result<String, String> {
            *i += 1;
            args.get(*i).cloned().ok_or_else(|| usage.clone())
        };
        if let Some(rest) = a.strip_prefix("-O").filter(|r| !r.is_empty() && !a.starts_with("--")) {
            o.output = Some(rest.to_string());
        } else if let Some(rest) = a.strip_prefix("-T").filter(|r| !r.is_empty()) {
            o.timeout_s = rest.parse().ok();
        } else {
            match a {
                "-q" | "--quiet" => o.quiet = true,
                "-O" | "--output-document" => o.output = Some(value(&mut i)?),
                "-T" | "--timeout" => o.timeout_s = value(&mut i)?.parse().ok(),
                "-S" | "--server-response" => o.server_response = true,
                "--spider" => o.spider = true,
                "-U" | "--user-agent" => o.user_agent = Some(value(&mut i)?),
                "--header" => {
                    let h = value(&mut i)?;
                    if let Some((k, v)) = h.split_once(':') {
                        o.headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                "-qO-" | "-qO" => {
                    o.quiet = true;
                    o.output = Some(if a == "-qO-" { "-".into() } else { value(&mut i)? });
                }
                "-c" | "--continue" | "--no-check-certificate" => {}
                _ if a.starts_with("--timeout=") => o.timeout_s = a["--timeout=".len()..].parse().ok(),
                _ if a.starts_with('-') && a.len() > 1 => return Err(usage),
                _ => o.url = Some(a.to_string()),
            }
        }
        i += 1;
    }
    if o.url.is_none() {
        return Err(usage);
    }
    Ok(o)
}

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let busybox = ctx.toolkit == Toolkit::Busybox || ctx.image.tag.contains("alpine");
    let o = match parse(args, busybox) {
        Ok(o) => o,
        Err(usage) => return ToolOutput::fail(usage, 1),
    };
    let raw = o.url.clone().unwrap_or_default();
    let url = match Url::parse(&raw) {
        Ok(u) if u.scheme == "http" => u,
        _ => return ToolOutput::fail(format!("wget: not an http or ftp url: {raw}\n"), 1),
    };
    let ua = o.user_agent.clone().unwrap_or_else(|| if busybox { "Wget".into() } else { "Wget/1.21.3".into() });
    let mut request = HttpRequest::get(&url.host_header(), &url.target, &ua);
    request.headers.retain(|(k, _)| k != "Accept");
    if busybox {
        request.headers.push(("Connection".into(), "close".into()));
    }
    if o.spider {
        request.method = "HEAD".into();
    }
    for (k, v) in &o.headers {
        request.headers.push((k.clone(), v.clone()));
    }
    let now = ctx.now;
    let (result, took) = fetch_with_loopback(ctx.world, &ctx.origin, &url, request, now, ctx.loopback);
    if busybox {
        busybox_output(&o, &url, result, took)
    } else {
        gnu_output(&o, &url, result, took, now)
    }
}

fn file_name(o: &Options, url: &Url) -> String {
    match &o.output {
        Some(p) => p.clone(),
        None => {
            let last = url.target.split('?').next().unwrap_or("/").rsplit('/').next().unwrap_or("");
            if last.is_empty() { "index.html".into() } else { last.to_string() }
        }
    }
}

fn busybox_output(o: &Options, url: &Url, result: Result<super::client::Fetched, HttpFailure>, took: u64) -> ToolOutput {
    let mut out = ToolOutput { took_ms: took, ..Default::default() };
    let host = &url.host;
    let fetched = match result {
        Err(HttpFailure::Resolve(_)) => {
            out.err(format!("wget: bad address '{host}'\n"));
            out.code = 1;
            return out;
        }
        Err(HttpFailure::Connect { ip, error }) => {
            if !o.quiet {
                out.err(format!("Connecting to {host} ({ip}:{})\n", url.port));
            }
            if let (Some(t), ConnectError::TimedOut | ConnectError::NoRoute) = (o.timeout_s, error) {
                if t * 1000 < error.wait_ms() {
                    out.err("wget: download timed out\n");
                    out.code = 1;
                    out.took_ms = t * 1000;
                    return out;
                }
            }
            let why = match error {
                ConnectError::Refused => "Connection refused",
                ConnectError::TimedOut => "Connection timed out",
                ConnectError::NoRoute => "No route to host",
            };
            out.err(format!("wget: can't connect to remote host ({ip}): {why}\n"));
            out.code = 1;
            return out;
        }
        Err(HttpFailure::EmptyReply { ip }) | Err(HttpFailure::NotHttp { ip, .. }) => {
            if !o.quiet {
                out.err(format!("Connecting to {host} ({ip}:{})\n", url.port));
            }
            out.err("wget: error getting response\n");
            out.code = 1;
            return out;
        }
        Ok(f) => f,
    };
    if !o.quiet {
        out.err(format!("Connecting to {host} ({}:{})\n", fetched.ip, url.port));
    }
    let resp = &fetched.response;
    if o.server_response {
        out.err(format!("  {}\n", resp.status_line()));
        for (k, v) in &resp.headers {
            out.err(format!("  {k}: {v}\n"));
        }
    }
    if resp.status >= 400 || (resp.status >= 300 && resp.header("location").is_none()) {
        out.err(format!("wget: server returned error: {}\n", resp.status_line()));
        out.code = 1;
        return out;
    }
    if o.spider {
        if !o.quiet {
            out.err("remote file exists\n");
        }
        return out;
    }
    let file = file_name(o, url);
    let to_stdout = file == "-";
    if !o.quiet {
        out.err(if to_stdout { "writing to stdout\n".to_string() } else { format!("saving to '{file}'\n") });
    }
    if to_stdout {
        out.out(resp.body.clone());
    } else {
        out.files.push((file.clone(), resp.body.clone()));
    }
    if !o.quiet {
        let shown = if to_stdout { "-" } else { file.rsplit('/').next().unwrap_or(&file) };
        out.err(progress_line(shown, resp.body.len() as u64));
        out.err(if to_stdout { "written to stdout\n".to_string() } else { format!("'{file}' saved\n") });
    }
    out
}

fn gnu_output(o: &Options, url: &Url, result: Result<super::client::Fetched, HttpFailure>, took: u64, now: crate::engine::sim::clock::VirtualTime) -> ToolOutput {
    let mut out = ToolOutput { took_ms: took, ..Default::default() };
    let host = &url.host;
    let full = format!("http://{}{}", url.host_header(), url.target);
    if !o.quiet {
        out.err(format!("--{}--  {full}\n", wall(now).strftime("%Y-%m-%d %H:%M:%S")));
    }
    let fetched = match result {
        Err(HttpFailure::Resolve(ResolveError::Timeout)) | Err(HttpFailure::Resolve(ResolveError::ServFail)) => {
            if !o.quiet {
                out.err(format!("Resolving {host} ({host})... failed: Temporary failure in name resolution.\n"));
            }
            out.err(format!("wget: unable to resolve host address '{host}'\n"));
            out.code = 4;
            return out;
        }
        Err(HttpFailure::Resolve(_)) => {
            if !o.quiet {
                out.err(format!("Resolving {host} ({host})... failed: Name or service not known.\n"));
            }
            out.err(format!("wget: unable to resolve host address '{host}'\n"));
            out.code = 4;
            return out;
        }
        Err(HttpFailure::Connect { ip, error }) => {
            if !o.quiet {
                out.err(format!("Resolving {host} ({host})... {ip}\n"));
                let why = match error {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::NoRoute => "No route to host",
                };
                out.err(format!("Connecting to {host} ({host})|{ip}|:{}... failed: {why}.\n", url.port));
            }
            out.code = 4;
            return out;
        }
        Err(HttpFailure::EmptyReply { ip }) | Err(HttpFailure::NotHttp { ip, .. }) => {
            if !o.quiet {
                out.err(format!("Resolving {host} ({host})... {ip}\nConnecting to {host} ({host})|{ip}|:{}... connected.\nHTTP request sent, awaiting response... No data received.\nRetrying.\n\n", url.port));
            }
            out.code = 4;
            return out;
        }
        Ok(f) => f,
    };
    let resp = &fetched.response;
    if !o.quiet {
        out.err(format!(
            "Resolving {host} ({host})... {}\nConnecting to {host} ({host})|{}|:{}... connected.\nHTTP request sent, awaiting response... {} {}\n",
            fetched.ip,
            fetched.ip,
            url.port,
            resp.status,
            crate::engine::network::http::reason(resp.status)
        ));
    }
    if resp.status >= 400 {
        out.err(format!("{} ERROR {}: {}.\n\n", wall(now).strftime("%Y-%m-%d %H:%M:%S"), resp.status, crate::engine::network::http::reason(resp.status)));
        out.code = 8;
        return out;
    }
    let file = file_name(o, url);
    if !o.quiet {
        let ctype = resp.header("content-type").unwrap_or("text/plain");
        let len = resp.header("content-length").map(|l| format!("{l} [{ctype}]")).unwrap_or_else(|| format!("unspecified [{ctype}]"));
        let target = if file == "-" { "'STDOUT'".to_string() } else { format!("'{file}'") };
        out.err(format!("Length: {len}\nSaving to: {target}\n\n"));
    }
    if file == "-" {
        out.out(resp.body.clone());
    } else {
        out.files.push((file.clone(), resp.body.clone()));
    }
    if !o.quiet {
        let size = resp.body.len();
        let shown = if file == "-" { "-".to_string() } else { file.clone() };
        out.err(format!(
            "{shown:<19} 100%[===================>] {size:>7}  --.-KB/s    in 0s      \n\n{} ({}) - {} saved [{size}]\n\n",
            wall(now).strftime("%Y-%m-%d %H:%M:%S"),
            "8.93 MB/s",
            if file == "-" { "written to stdout".to_string() } else { format!("'{file}'") }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_progress_as_busybox_prints_them() {
        assert_eq!(size5(615), "  615");
        assert_eq!(size5(99_999), "99999");
        assert_eq!(size5(123_456), " 120k");
        assert_eq!(progress_line("-", 615), "-                    100% |********************************|   615  0:00:00 ETA\n");
    }
}
