//! busybox `nc`: connect, send what comes on stdin, print the reply;
//! `-z` only checks the port, `-v` reports it.

use super::{ToolContext, ToolOutput};
use crate::engine::network::apps::{Payload, Reply};
use crate::engine::network::exchange::exchange;
use crate::engine::network::path::connect;
use crate::engine::network::resolver::resolve;
use crate::engine::network::rules::Proto;
use crate::engine::network::ConnectError;

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let mut verbose = 0;
    let mut zero = false;
    let mut udp = false;
    let mut wait_s: Option<u64> = None;
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-w" | "-i" => {
                i += 1;
                if a == "-w" {
                    wait_s = args.get(i).and_then(|v| v.parse().ok());
                }
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                for c in a[1..].chars() {
                    match c {
                        'v' => verbose += 1,
                        'z' => zero = true,
                        'u' => udp = true,
                        'n' => {}
                        'l' | 'e' | 'p' => return ToolOutput::fail("nc: listening is not simulated: a container's servers come from its image\n", 1),
                        _ => {}
                    }
                }
            }
            _ => positional.push(a.to_string()),
        }
        i += 1;
    }
    let [host, port] = positional.as_slice() else {
        return ToolOutput::fail("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen\n", 1);
    };
    let Ok(port) = port.parse::<i32>() else {
        return ToolOutput::fail(format!("nc: bad port '{port}'\n"), 1);
    };
    let (resolved, spent) = resolve(ctx.world, &ctx.origin, host, ctx.now);
    let Ok(resolved) = resolved else {
        return ToolOutput::fail(format!("nc: bad address '{host}'\n"), 1);
    };
    let ip = resolved.addresses.first().cloned().unwrap_or_default();
    let proto = if udp { Proto::Udp } else { Proto::Tcp };
    let mut out = ToolOutput { took_ms: spent, ..Default::default() };
    let dotted = format!("{ip}:{port}");
    let landing = match connect(ctx.world, &ctx.origin, &ip, port, proto, ctx.now) {
        Ok(l) => l,
        Err(e) => {
            let wait = match (wait_s, e) {
                (Some(w), ConnectError::TimedOut | ConnectError::NoRoute) => (w * 1000).min(e.wait_ms()),
                _ => e.wait_ms(),
            };
            out.took_ms += wait;
            let why = match e {
                ConnectError::Refused => "Connection refused",
                ConnectError::TimedOut if wait_s.is_some() => "Operation timed out",
                ConnectError::TimedOut => "Connection timed out",
                ConnectError::NoRoute => "No route to host",
            };
            if verbose > 1 || (verbose == 1 && e != ConnectError::Refused) {
                out.err(format!("nc: {host} ({dotted}): {why}\n"));
            }
            out.code = 1;
            return out;
        }
    };
    if verbose > 0 {
        out.err(format!("{host} ({dotted}) open\n"));
    }
    if zero {
        return out;
    }
    let input = ctx.stdin.clone().unwrap_or_default();
    if input.is_empty() {
        return out;
    }
    let (reply, done) = exchange(ctx.world, &landing, Payload::Raw(input), ctx.now, 0);
    out.took_ms += done.millis_since(ctx.now);
    match reply {
        Reply::Raw(text) => out.out(text),
        Reply::Http(r) => out.out(r.wire()),
        Reply::Redis(v) => out.out(v.wire()),
        _ => {}
    }
    out
}
