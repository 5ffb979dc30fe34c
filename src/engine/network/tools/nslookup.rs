//! busybox `nslookup`: the current applet (1.29 and later: its own DNS
//! client, A and AAAA queries, search domains only for names without a
//! dot) and the old getaddrinfo-based one of busybox 1.28 and earlier.

use super::{legacy_busybox, ToolContext, ToolOutput};
use crate::engine::network::dns::{is_ip, reverse_name, DnsQuery, QType, RData, Rcode};
use crate::engine::network::resolver::{query, resolv_conf, resolve, QueryOutcome, QUERY_TIMEOUT_MS};

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    if legacy_busybox(&ctx.image) {
        return legacy(ctx, args);
    }
    let mut types: Vec<QType> = Vec::new();
    let mut positional = Vec::new();
    for a in args {
        if let Some(t) = a.strip_prefix("-type=").or_else(|| a.strip_prefix("-query=")).or_else(|| a.strip_prefix("-q=")) {
            match QType::parse(t) {
                Some(q) => types.push(q),
                None => return ToolOutput::fail(format!("nslookup: invalid query type \"{t}\"\n"), 1),
            }
        } else if a == "-debug" || a.starts_with("-retry=") || a.starts_with("-timeout=") || a.starts_with("-port=") {
            continue;
        } else if a.starts_with('-') {
            return ToolOutput::fail(usage(), 1);
        } else {
            positional.push(a.clone());
        }
    }
    let (name, server) = match positional.as_slice() {
        [name] => (name.clone(), None),
        [name, server] => (name.clone(), Some(server.clone())),
        _ => return ToolOutput::fail(usage(), 1),
    };
    let conf = resolv_conf(ctx.world, &ctx.origin);
    let server = server.or_else(|| conf.nameservers.first().cloned()).unwrap_or_default();
    // The queries, in the order they are sent.
    let mut queries: Vec<DnsQuery> = Vec::new();
    let with_search = |q: QType, queries: &mut Vec<DnsQuery>| {
        if name.contains('.') || conf.search.is_empty() {
            queries.push(DnsQuery::new(&name, q));
        } else {
            for d in &conf.search {
                queries.push(DnsQuery::new(&format!("{name}.{d}"), q));
            }
        }
    };
    if types.is_empty() {
        match reverse_name(&name) {
            Some(ptr) if is_ip(&name) => queries.push(DnsQuery::new(&ptr, QType::Ptr)),
            _ => {
                with_search(QType::A, &mut queries);
                with_search(QType::Aaaa, &mut queries);
            }
        }
    } else {
        for t in types {
            with_search(t, &mut queries);
        }
    }
    let mut out = ToolOutput::default();
    let mut replies = Vec::new();
    for q in &queries {
        match query(ctx.world, &ctx.origin, &server, q, ctx.now) {
            QueryOutcome::Answer(r) => replies.push((q.clone(), r)),
            QueryOutcome::Timeout => {}
        }
    }
    if replies.is_empty() {
        out.out(";; connection timed out; no servers could be reached\n\n");
        out.code = 1;
        out.took_ms = QUERY_TIMEOUT_MS;
        return out;
    }
    out.took_ms = 1;
    out.out(format!("Server:\t\t{server}\nAddress:\t{server}:53\n\n"));
    for (q, r) in &replies {
        if r.rcode != Rcode::NoError {
            out.out(format!("** server can't find {}: {}\n\n", q.name, r.rcode.name()));
            out.code = 1;
            continue;
        }
        let mut text = String::new();
        if !r.authoritative {
            text.push_str("Non-authoritative answer:\n");
        }
        for rec in &r.answers {
            match &rec.data {
                RData::A(ip) | RData::Aaaa(ip) => text.push_str(&format!("Name:\t{}\nAddress: {ip}\n", rec.name)),
                RData::Cname(t) => text.push_str(&format!("{}\tcanonical name = {t}\n", rec.name)),
                RData::Ptr(t) => text.push_str(&format!("{}\tname = {t}\n", rec.name)),
                RData::Srv { priority, weight, port, target } => text.push_str(&format!("{}\tservice = {priority} {weight} {port} {target}\n", rec.name)),
            }
        }
        text.push('\n');
        out.out(text);
    }
    out
}

fn usage() -> String {
    "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,any,srv,ptr\n".to_string()
}

/// busybox 1.28's nslookup: getaddrinfo (search list, ndots) and reverse
/// lookups of every address it prints.
fn legacy(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let (name, server) = match args {
        [name] if !name.starts_with('-') => (name.clone(), None),
        [name, server] if !name.starts_with('-') => (name.clone(), Some(server.clone())),
        _ => {
            return ToolOutput::fail(
                "BusyBox v1.28.4 (2018-05-22 17:00:17 UTC) multi-call binary.\n\nUsage: nslookup [HOST] [SERVER]\n\nQuery the nameserver for the IP address of the given HOST\noptionally using a specified DNS server\n",
                1,
            )
        }
    };
    let conf = resolv_conf(ctx.world, &ctx.origin);
    let server = server.unwrap_or_else(|| conf.nameservers.first().cloned().unwrap_or_default());
    let mut out = ToolOutput::default();
    let reverse = |ctx: &mut ToolContext, ip: &str| -> (Option<String>, u64) {
        let Some(ptr) = reverse_name(ip) else { return (None, 0) };
        match query(ctx.world, &ctx.origin, &server, &DnsQuery::new(&ptr, QType::Ptr), ctx.now) {
            QueryOutcome::Answer(r) => (
                r.answers.iter().find_map(|a| match &a.data {
                    RData::Ptr(t) => Some(t.clone()),
                    _ => None,
                }),
                1,
            ),
            QueryOutcome::Timeout => (None, 2 * QUERY_TIMEOUT_MS),
        }
    };
    let (server_name, t1) = reverse(ctx, &server);
    out.took_ms += t1;
    out.out(format!("{:<10} {server}\n", "Server:"));
    out.out(match server_name {
        Some(n) => format!("Address 1: {server} {n}\n\n"),
        None => format!("Address 1: {server}\n\n"),
    });
    let (resolved, t2) = resolve(ctx.world, &ctx.origin, &name, ctx.now);
    out.took_ms += t2;
    match resolved {
        Ok(r) => {
            out.out(format!("{:<10} {name}\n", "Name:"));
            for (i, ip) in r.addresses.iter().enumerate() {
                let (host, t) = reverse(ctx, ip);
                out.took_ms += t;
                out.out(match host {
                    Some(h) => format!("Address {}: {ip} {h}\n", i + 1),
                    None => format!("Address {}: {ip}\n", i + 1),
                });
            }
        }
        Err(_) => {
            out.err(format!("nslookup: can't resolve '{name}'\n"));
            out.code = 1;
        }
    }
    out
}
