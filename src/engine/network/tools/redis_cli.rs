//! `redis-cli`: one command from its arguments, or one per line of stdin;
//! replies formatted for a terminal (`(integer) 1`) or raw when piped.

use super::{ToolContext, ToolOutput};
use crate::engine::network::apps::{Payload, Reply};
use crate::engine::network::exchange::exchange;
use crate::engine::network::path::connect;
use crate::engine::network::redis_proto::split_args;
use crate::engine::network::resolver::{resolve, ResolveError};
use crate::engine::node::images::Toolkit;
use crate::engine::network::rules::Proto;
use crate::engine::network::ConnectError;

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let mut host = "127.0.0.1".to_string();
    let mut port = 6379;
    let mut raw = !ctx.tty;
    let mut command = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if !command.is_empty() {
            command.push(a.to_string());
            i += 1;
            continue;
        }
        match a {
            "-h" => {
                i += 1;
                host = args.get(i).cloned().unwrap_or(host);
            }
            "-p" => {
                i += 1;
                port = args.get(i).and_then(|p| p.parse().ok()).unwrap_or(port);
            }
            "-n" | "-a" => i += 1,
            "--raw" => raw = true,
            "--no-raw" => raw = false,
            _ if a.starts_with('-') => {
                return ToolOutput::fail(format!("Unrecognized option or bad number of args for: '{a}'\n"), 1);
            }
            _ => command.push(a.to_string()),
        }
        i += 1;
    }
    let commands: Vec<Vec<String>> = if !command.is_empty() {
        vec![command]
    } else {
        ctx.stdin.clone().unwrap_or_default().lines().filter(|l| !l.trim().is_empty()).filter_map(split_args).collect()
    };
    let (resolved, spent) = resolve(ctx.world, &ctx.origin, &host, ctx.now);
    let mut out = ToolOutput { took_ms: spent, ..Default::default() };
    let ip = match resolved {
        Ok(r) => r.addresses.first().cloned().unwrap_or_default(),
        Err(e) => {
            // getaddrinfo's words: musl in Alpine images, glibc in Debian ones.
            let musl = ctx.toolkit == Toolkit::Busybox || ctx.image.tag.contains("alpine");
            let why = match (e, musl) {
                (ResolveError::Timeout, true) => "Try again",
                (ResolveError::Timeout, false) => "Temporary failure in name resolution",
                (_, true) => "Name does not resolve",
                (_, false) => "Name or service not known",
            };
            out.err(format!("Could not connect to Redis at {host}:{port}: {why}\n"));
            out.code = 1;
            return out;
        }
    };
    for cmd in commands {
        let landing = match connect(ctx.world, &ctx.origin, &ip, port, Proto::Tcp, ctx.now) {
            Ok(l) => l,
            Err(e) => {
                let why = match e {
                    ConnectError::Refused => "Connection refused",
                    ConnectError::TimedOut => "Connection timed out",
                    ConnectError::NoRoute => "No route to host",
                };
                out.took_ms += e.wait_ms();
                out.err(format!("Could not connect to Redis at {host}:{port}: {why}\n"));
                out.code = 1;
                return out;
            }
        };
        let (reply, _) = exchange(ctx.world, &landing, Payload::Redis(cmd), ctx.now, 0);
        match reply {
            Reply::Redis(v) => out.out(format!("{}\n", if raw { v.raw() } else { v.tty() })),
            _ => {
                out.err("Error: Server closed the connection\n");
                out.code = 1;
                return out;
            }
        }
    }
    out
}
