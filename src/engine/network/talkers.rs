//! Requests made by container processes themselves: a load generator such
//! as the HPA walkthrough's `while sleep 0.01; do wget -q -O- http://php-apache;
//! done`. The loop is recognised in the container's command when it starts;
//! the network then runs each pass at its own instant, with the whole world
//! at hand (no single node's kubelet could), sends the request from the
//! container's pod, and writes what the tool printed to the container's log.
//! A pass takes its `sleep`s plus the request's own time (DNS, connect, the
//! server's work), and at least the cost of starting the tool.

use std::collections::BTreeMap;

use super::tools::{self, ToolContext};
use super::{ContainerRef, Origin};
use crate::engine::node::images::{self, Toolkit};
use crate::engine::node::runtime::RuntimeContainer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// What starting `wget`/`curl` costs a shell loop (fork, exec, connect).
pub const MIN_PASS_MS: u64 = 5;
/// A log line grows until this many characters (the runtime splits longer ones).
const LOG_LINE_LIMIT: usize = 16_384;

/// A loop a container's process runs: the network commands of one pass and
/// the time it sleeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    pub requests: Vec<Vec<String>>,
    pub sleep_ms: u64,
}

/// `sleep` operands (`0.01`, `1`, `2s`, `1m`).
fn sleep_ms(arg: &str) -> Option<u64> {
    let (num, factor) = match arg.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (
            &arg[..i],
            match &arg[i..] {
                "s" => 1_000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                _ => return None,
            },
        ),
        None => (arg, 1_000.0),
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v * factor) as u64)
}

/// Recognises `while COND; do BODY; done` with `wget`/`curl` in its body
/// (`COND` being `true`, `:` or a `sleep`) in a shell command line.
pub fn recognise(script: &str) -> Option<Loop> {
    let text = script.replace('\n', ";");
    let start = text.find("while ")?;
    let rest = &text[start + 6..];
    let (cond, after) = rest.split_once(" do ").or_else(|| rest.split_once(";do "))?;
    let body = after.rsplit_once("done")?.0;
    let mut lp = Loop { requests: vec![], sleep_ms: 0 };
    let cond_words = shell_words::split(cond.trim().trim_end_matches(';')).ok()?;
    match cond_words.first().map(String::as_str) {
        Some("true" | ":") => {}
        Some("sleep") => lp.sleep_ms += cond_words.get(1).and_then(|a| sleep_ms(a))?,
        _ => return None,
    }
    for part in body.split([';', '&']).map(str::trim).filter(|p| !p.is_empty()) {
        let words = shell_words::split(part).ok()?;
        let Some(first) = words.first() else { continue };
        let name = first.rsplit('/').next().unwrap_or(first);
        match name {
            "wget" | "curl" => lp.requests.push(words.iter().filter(|w| !w.starts_with('>') && !w.starts_with("2>")).cloned().collect()),
            "sleep" => lp.sleep_ms += words.get(1).and_then(|a| sleep_ms(a)).unwrap_or(0),
            "echo" | "printf" | "date" | "true" | ":" => {}
            _ => return None,
        }
    }
    (!lp.requests.is_empty()).then_some(lp)
}

/// The loop a container's command line runs, if it is one.
pub fn loop_of(command: &[String], args: &[String]) -> Option<Loop> {
    let argv: Vec<&String> = command.iter().chain(args.iter()).collect();
    let dash_c = argv.iter().position(|a| a.as_str() == "-c")?;
    let shell = argv.first()?.rsplit('/').next()?;
    if !matches!(shell, "sh" | "bash" | "ash") && dash_c != 0 {
        return None;
    }
    recognise(argv.get(dash_c + 1)?)
}

#[derive(Clone, Debug)]
struct Talker {
    pass: Loop,
    next: VirtualTime,
    /// Output of the current log line not yet ended by a newline.
    partial: bool,
}

/// The load loops running in containers.
#[derive(Clone, Debug, Default)]
pub struct Talkers {
    running: BTreeMap<ContainerRef, Talker>,
}

impl Talkers {
    pub fn next_event(&self) -> Option<VirtualTime> {
        self.running.values().map(|t| t.next).min()
    }

    pub fn start(&mut self, r: ContainerRef, pass: Loop, at: VirtualTime) {
        self.running.insert(r, Talker { pass, next: at, partial: false });
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

fn append_output(c: &mut RuntimeContainer, at: VirtualTime, text: &str, partial: &mut bool) {
    for (i, piece) in text.split('\n').enumerate() {
        let newline_before = i > 0;
        if newline_before {
            *partial = false;
        }
        if piece.is_empty() {
            continue;
        }
        match c.logs.back_mut() {
            Some(last) if *partial && last.text.len() + piece.len() <= LOG_LINE_LIMIT => last.text = format!("{}{piece}", last.text).into(),
            _ => c.push_log(at, piece.to_string()),
        }
        *partial = true;
    }
    if text.ends_with('\n') {
        *partial = false;
    }
}

/// Runs every pass due by `now`. Returns how many requests went out.
pub fn deliver_due(world: &mut World, now: VirtualTime) -> usize {
    let mut sent = 0;
    loop {
        let due = world.net.talkers.running.iter().filter(|(_, t)| t.next <= now).map(|(r, t)| (r.clone(), t.next)).min_by_key(|(r, t)| (*t, r.clone()));
        let Some((r, at)) = due else { break };
        let Some(mut talker) = world.net.talkers.running.remove(&r) else { break };
        // The process must still run, on a powered machine.
        let found = world.machine_mut(&r.node).filter(|m| m.powered).and_then(|m| {
            m.advance(at);
            let s = m.runtime.sandbox_mut(&r.uid)?;
            let (ns, pod, ip) = (s.namespace.to_string(), s.pod.clone(), s.ip.clone());
            let c = s.containers.iter().find(|c| c.id == r.id)?;
            c.is_running().then(|| (ns, pod, ip, crate::engine::node::images::ImageName::clone(&c.image)))
        });
        let Some((namespace, name, ip, image)) = found else { continue };
        let origin = Origin::Pod { node: r.node.clone(), uid: r.uid.clone(), namespace, name, ip };
        let toolkit = images::lookup(&image).map_or(Toolkit::Coreutils, |i| i.toolkit);
        let mut took = 0;
        let mut output = String::new();
        for argv in talker.pass.requests.clone() {
            let mut ctx = ToolContext { world, origin: origin.clone(), now: at.plus_millis(took), image: image.clone(), toolkit, tty: false, stdin: None, loopback: None };
            if let Some(out) = tools::run(&mut ctx, &argv) {
                took += out.took_ms;
                output.push_str(&out.combined());
                sent += 1;
            }
        }
        if let Some(c) = world.machine_mut(&r.node).and_then(|m| m.runtime.sandbox_mut(&r.uid)).and_then(|s| s.containers.iter_mut().find(|c| c.id == r.id)) {
            append_output(c, at, &output, &mut talker.partial);
        }
        talker.next = at.plus_millis((took + talker.pass.sleep_ms).max(MIN_PASS_MS));
        world.net.talkers.running.insert(r, talker);
        if sent > 100_000 {
            break;
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_load_loops() {
        let lp = recognise("while sleep 0.01; do wget -q -O- http://php-apache; done").unwrap();
        assert_eq!(lp, Loop { requests: vec![vec!["wget".into(), "-q".into(), "-O-".into(), "http://php-apache".into()]], sleep_ms: 10 });
        let lp = recognise("while true; do curl -s http://web; echo; sleep 1; done").unwrap();
        assert_eq!(lp.sleep_ms, 1_000);
        assert!(recognise("while true; do echo hi; sleep 1; done").is_none());
        assert!(recognise("sleep 3600").is_none());
        let argv = ["/bin/sh".to_string(), "-c".to_string(), "while sleep 0.01; do wget -q -O- http://php-apache; done".to_string()];
        assert!(loop_of(&argv, &[]).is_some());
    }
}
