//! busybox `ping`: ICMP echo to a pod, a node or the host. Service
//! addresses do not answer (kube-proxy's rules only match their ports).

use super::{ToolContext, ToolOutput};
use crate::engine::network::address::Place;
use crate::engine::network::resolver::resolve;
use crate::engine::network::Origin;

/// Echo requests sent when no `-c` is given: the real command runs until
/// interrupted, which a command run to completion cannot be.
pub const DEFAULT_COUNT: u32 = 4;

pub fn run(ctx: &mut ToolContext, args: &[String]) -> ToolOutput {
    let mut count = DEFAULT_COUNT;
    let mut host = None;
    let mut quiet = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-c" => {
                i += 1;
                count = args.get(i).and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_COUNT).clamp(1, 100);
            }
            a if a.starts_with("-c") => count = a[2..].parse().unwrap_or(DEFAULT_COUNT).clamp(1, 100),
            "-q" => quiet = true,
            "-W" | "-w" | "-i" | "-s" => i += 1,
            a if a.starts_with('-') => {}
            a => host = Some(a.to_string()),
        }
        i += 1;
    }
    let Some(host) = host else {
        return ToolOutput::fail("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: ping [OPTIONS] HOST\n", 1);
    };
    let (resolved, spent) = resolve(ctx.world, &ctx.origin, &host, ctx.now);
    let Ok(resolved) = resolved else {
        return ToolOutput::fail(format!("ping: bad address '{host}'\n"), 1);
    };
    let ip = resolved.addresses.first().cloned().unwrap_or_default();
    let reply_ttl = reachable(ctx, &ip);
    let mut out = ToolOutput { took_ms: spent + count as u64 * 1000, ..Default::default() };
    out.out(format!("PING {host} ({ip}): 56 data bytes\n"));
    let mut received = 0;
    let mut times = Vec::new();
    for seq in 0..count {
        if let Some(ttl) = reply_ttl {
            received += 1;
            let t = 0.05 + ((seq as u64 * 37 + ctx.now.as_millis()) % 90) as f64 / 1000.0 + if ttl == 64 { 0.0 } else { 0.06 };
            times.push(t);
            if !quiet {
                out.out(format!("64 bytes from {ip}: seq={seq} ttl={ttl} time={t:.3} ms\n"));
            }
        }
    }
    let loss = (count - received) * 100 / count;
    out.out(format!("\n--- {host} ping statistics ---\n{count} packets transmitted, {received} packets received, {loss}% packet loss\n"));
    if !times.is_empty() {
        let min = times.iter().cloned().fold(f64::MAX, f64::min);
        let max = times.iter().cloned().fold(0.0, f64::max);
        let avg = times.iter().sum::<f64>() / times.len() as f64;
        out.out(format!("round-trip min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms\n"));
    } else {
        out.code = 1;
    }
    out
}

/// The TTL echo replies arrive with, if the address answers ICMP.
fn reachable(ctx: &mut ToolContext, ip: &str) -> Option<u32> {
    let src_node = ctx.origin.node().map(str::to_string);
    if ip.starts_with("127.") {
        return Some(64);
    }
    match ctx.world.net.plan.place(ip) {
        Place::Node(n) => ctx.world.machine(&n).filter(|m| m.powered).map(|_| if src_node.as_deref() == Some(n.as_str()) { 64 } else { 63 }),
        Place::Host => Some(64),
        Place::PodNetwork(n) => {
            if matches!(ctx.origin, Origin::Host) {
                return None;
            }
            let m = ctx.world.machine(&n).filter(|m| m.powered)?;
            m.runtime.sandboxes().any(|(_, s)| s.ready && s.ip == ip).then_some(if src_node.as_deref() == Some(n.as_str()) { 64 } else { 62 })
        }
        Place::ServiceNetwork | Place::Elsewhere => None,
    }
}
