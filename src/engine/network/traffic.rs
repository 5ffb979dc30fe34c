//! The traffic generator: HTTP GETs to a Service, a NodePort or an Ingress
//! at a fixed rate, from outside the cluster, from a node or from a pod,
//! each one a real trip through the network. It keeps per-second counts of
//! successes and failures and which pod answered, for the page's chart and
//! the `traffic report` command.
//!
//! Each request behaves like `curl -m 2 URL`: a response with a status
//! below 500 is a success; a 5xx status, an empty reply, a refused
//! connection, a failed lookup or no answer within 2 s is a failure.

use std::collections::{BTreeMap, VecDeque};

use super::resolver::ResolveError;
use super::tools::client::{fetch, HttpFailure, Url};
use super::{ConnectError, Origin};
use crate::engine::api::{ids, Object};
use crate::engine::apiserver::ApiServer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

pub const MAX_RATE_PER_S: u32 = 1_000;
pub const TIMEOUT_MS: u64 = 2_000;
/// Seconds of per-second counts kept (an hour).
pub const KEEP_SECONDS: usize = 3_600;
const KEEP_FAILURES: usize = 50;
pub const USER_AGENT: &str = "curl/8.14.1";

/// Where the requests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The learner's machine, on the nodes' network.
    Outside,
    Node(String),
    Pod { namespace: String, name: String },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Outside => "outside the cluster".into(),
            Source::Node(n) => format!("node/{n}"),
            Source::Pod { namespace, name } if namespace == "default" => format!("pod/{name}"),
            Source::Pod { namespace, name } => format!("pod/{name} in namespace {namespace}"),
        }
    }
}

/// One second of traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Virtual second (from the cluster's start).
    pub second: u64,
    pub ok: u32,
    pub failed: u32,
    /// Successful answers by pod.
    pub by_pod: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub by_pod: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    pub by_failure: BTreeMap<String, u64>,
    pub buckets: VecDeque<Bucket>,
    /// The first failure, and the latest ones: when, and why.
    pub first_failure: Option<(VirtualTime, String)>,
    pub failures: VecDeque<(VirtualTime, String)>,
}

impl Stats {
    fn bucket(&mut self, second: u64) -> &mut Bucket {
        if self.buckets.back().is_none_or(|b| b.second != second) {
            self.buckets.push_back(Bucket { second, ..Default::default() });
            if self.buckets.len() > KEEP_SECONDS {
                self.buckets.pop_front();
            }
        }
        let last = self.buckets.len() - 1;
        &mut self.buckets[last]
    }

    fn success(&mut self, at: VirtualTime, status: u16, pod: Option<String>) {
        self.ok += 1;
        *self.by_status.entry(status).or_default() += 1;
        let pod = pod.unwrap_or_else(|| "-".into());
        *self.by_pod.entry(pod.clone()).or_default() += 1;
        let b = self.bucket(at.as_secs());
        b.ok += 1;
        *b.by_pod.entry(pod).or_default() += 1;
    }

    fn failure(&mut self, at: VirtualTime, why: String, status: Option<u16>) {
        self.failed += 1;
        if let Some(s) = status {
            *self.by_status.entry(s).or_default() += 1;
        }
        *self.by_failure.entry(why.clone()).or_default() += 1;
        self.bucket(at.as_secs()).failed += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some((at, why.clone()));
        }
        self.failures.push_back((at, why));
        if self.failures.len() > KEEP_FAILURES {
            self.failures.pop_front();
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    pub url: String,
    target: Url,
    pub source: Source,
    pub rate_per_s: u32,
    pub started: VirtualTime,
    pub stopped: Option<VirtualTime>,
    pub stats: Stats,
    /// Where the source pod was last found (looked up again if it moves).
    origin: Option<Origin>,
}

impl Generator {
    /// When request number `n` (from 0) goes out.
    fn send_time(&self, n: u64) -> VirtualTime {
        self.started.plus_millis(n.saturating_mul(1000) / self.rate_per_s.max(1) as u64)
    }

    pub fn next_send(&self) -> Option<VirtualTime> {
        if self.stopped.is_some() {
            return None;
        }
        Some(self.send_time(self.stats.sent))
    }
}

/// The cluster's traffic generator (one at a time) and the last one's results.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    pub current: Option<Generator>,
}

impl Traffic {
    pub fn next_event(&self) -> Option<VirtualTime> {
        self.current.as_ref().and_then(Generator::next_send)
    }

    pub fn running(&self) -> bool {
        self.current.as_ref().is_some_and(|g| g.stopped.is_none())
    }
}

/// Whether a pod origin still has its running sandbox where it was found.
fn still_there(world: &World, origin: &Origin) -> bool {
    match origin {
        Origin::Pod { node, uid, .. } => world
            .machine(node)
            .filter(|m| m.powered)
            .and_then(|m| m.runtime.sandbox(uid))
            .is_some_and(|s| s.ready && s.containers.iter().any(|c| c.is_running())),
        _ => true,
    }
}

fn origin_of(world: &World, source: &Source, api: Option<&ApiServer>) -> Result<Origin, String> {
    match source {
        Source::Outside => Ok(Origin::Host),
        Source::Node(n) => Ok(Origin::Node(n.clone())),
        Source::Pod { namespace, name } => {
            // The pod's sandbox on whatever node runs it.
            for (node, m) in world.machines() {
                if !m.powered {
                    continue;
                }
                if let Some((uid, s)) = m.runtime.sandboxes().find(|(_, s)| s.ready && *s.namespace == **namespace && s.pod == *name) {
                    if s.containers.iter().any(|c| c.is_running()) {
                        return Ok(Origin::Pod { node: node.clone(), uid: uid.clone(), namespace: namespace.clone(), name: name.clone(), ip: s.ip.clone() });
                    }
                }
            }
            let _ = api;
            Err("source pod not running".into())
        }
    }
}

/// Sends every request due by `now`. Returns how many went out.
pub fn deliver_due(world: &mut World, now: VirtualTime) -> usize {
    let Some(mut g) = world.net.traffic.current.take() else { return 0 };
    let mut sent = 0;
    while let Some(at) = g.next_send().filter(|t| *t <= now) {
        g.stats.sent += 1;
        sent += 1;
        let cached = g.origin.clone().filter(|o| still_there(world, o));
        let origin = match cached.map_or_else(|| origin_of(world, &g.source, None), Ok) {
            Ok(o) => {
                g.origin = Some(o.clone());
                o
            }
            Err(why) => {
                g.origin = None;
                g.stats.failure(at, why, None);
                continue;
            }
        };
        let request = super::http::HttpRequest::get(&g.target.host_header(), &g.target.target, USER_AGENT);
        let (result, took) = fetch(world, &origin, &g.target, request, at);
        match result {
            Ok(f) if took > TIMEOUT_MS => {
                let _ = f;
                g.stats.failure(at, "timed out".into(), None);
            }
            Ok(f) if f.response.status >= 500 => g.stats.failure(at, format!("HTTP {}", f.response.status), Some(f.response.status)),
            Ok(f) => g.stats.success(at, f.response.status, f.responder),
            Err(e) => {
                let why = match e {
                    HttpFailure::Resolve(ResolveError::Timeout) => "timed out".to_string(),
                    HttpFailure::Resolve(_) => "could not resolve host".to_string(),
                    HttpFailure::Connect { error, .. } if error.wait_ms() > TIMEOUT_MS => "timed out".to_string(),
                    HttpFailure::Connect { error: ConnectError::Refused, .. } => "connection refused".to_string(),
                    HttpFailure::Connect { .. } => "no route to host".to_string(),
                    HttpFailure::EmptyReply { .. } => "empty reply from server".to_string(),
                    HttpFailure::NotHttp { .. } => "not an HTTP server".to_string(),
                };
                g.stats.failure(at, why, None);
            }
        }
    }
    world.net.traffic.current = Some(g);
    sent
}

fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h{}m{}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Pads rows into columns three spaces apart, as kubectl's tables are.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 < r.len() {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What `traffic report` prints.
pub fn report(traffic: &Traffic, now: VirtualTime) -> String {
    let Some(g) = &traffic.current else { return "No traffic has been generated yet. Start it with: traffic start URL --rate N/s\n".into() };
    let end = g.stopped.unwrap_or(now);
    let state = match g.stopped {
        Some(t) => format!("stopped at {t}"),
        None => "running".into(),
    };
    let mut out = format!(
        "Traffic: GET {} from {}, {} requests/s, {state} (started at {}, {})\n",
        g.url,
        g.source.describe(),
        g.rate_per_s,
        g.started,
        duration(end.millis_since(g.started))
    );
    let s = &g.stats;
    out.push_str(&format!("Requests: {} sent, {} succeeded, {} failed\n", s.sent, s.ok, s.failed));
    if !s.by_pod.is_empty() {
        out.push('\n');
        let mut rows = vec![vec!["ANSWERED BY".to_string(), "REQUESTS".to_string(), "SHARE".to_string()]];
        for (pod, n) in &s.by_pod {
            rows.push(vec![pod.clone(), n.to_string(), format!("{}%", n * 100 / s.ok.max(1))]);
        }
        out.push_str(&table(&rows));
    }
    if s.by_status.len() > 1 || s.by_status.keys().any(|c| *c != 200) {
        out.push('\n');
        let mut rows = vec![vec!["STATUS".to_string(), "REQUESTS".to_string()]];
        for (code, n) in &s.by_status {
            rows.push(vec![format!("{code} {}", super::http::reason(*code)), n.to_string()]);
        }
        out.push_str(&table(&rows));
    }
    if !s.by_failure.is_empty() {
        out.push('\n');
        let mut rows = vec![vec!["FAILURE".to_string(), "REQUESTS".to_string()]];
        for (why, n) in &s.by_failure {
            rows.push(vec![why.clone(), n.to_string()]);
        }
        out.push_str(&table(&rows));
        let latest: Vec<&(VirtualTime, String)> = s.failures.iter().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        let mut shown: Vec<&(VirtualTime, String)> = Vec::new();
        if let Some(first) = &s.first_failure {
            if latest.first().is_none_or(|l| l.0 != first.0) {
                shown.push(first);
            }
        }
        let skipped = s.failed as usize > shown.len() + latest.len();
        out.push_str("\nFailures (first and latest):\n");
        for (i, (t, why)) in shown.iter().chain(latest.iter()).enumerate() {
            if skipped && i == 1 && !shown.is_empty() {
                out.push_str("  ...\n");
            }
            out.push_str(&format!("  {t}  {why}\n"));
        }
    }
    out
}

/// Parses `N/s`, `N/m` or `N` (per second).
fn parse_rate(text: &str) -> Option<u32> {
    let (n, per) = match text.split_once('/') {
        Some((n, unit)) => (n, unit),
        None => (text, "s"),
    };
    let n: u32 = n.parse().ok()?;
    let per_s = match per {
        "s" | "sec" | "second" => n,
        "m" | "min" | "minute" => n.div_ceil(60).max(if n > 0 { 1 } else { 0 }),
        _ => return None,
    };
    (1..=MAX_RATE_PER_S).contains(&per_s).then_some(per_s)
}

const USAGE: &str = "usage: traffic start URL [--rate N/s] [--from pod/NAME|node/NAME] [-n NAMESPACE] | traffic stop | traffic report";

/// Runs a `traffic …` command (its words without `traffic`): what it prints
/// and whether it succeeded.
pub fn command(api: &ApiServer, world: &mut World, now: VirtualTime, words: &[String]) -> Result<String, String> {
    match words.first().map(String::as_str) {
        Some("start") => {
            let mut url = None;
            let mut rate = 10;
            let mut from = Source::Outside;
            let mut namespace = "default".to_string();
            let mut pod_name = None;
            let mut i = 1;
            while i < words.len() {
                let w = words[i].as_str();
                let (flag, inline) = match w.split_once('=') {
                    Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
                    _ => (w, None),
                };
                let value = |i: &mut usize| -> Result<String, String> {
                    if let Some(v) = inline.clone() {
                        return Ok(v);
                    }
                    *i += 1;
                    words.get(*i).cloned().ok_or_else(|| format!("error: flag needs an argument: {flag}\n{USAGE}"))
                };
                match flag {
                    "--rate" | "-r" => {
                        let v = value(&mut i)?;
                        rate = parse_rate(&v).ok_or_else(|| format!("error: invalid rate \"{v}\": give requests per second, 1 to {MAX_RATE_PER_S} (10/s)"))?;
                    }
                    "--from" => {
                        let v = value(&mut i)?;
                        match v.split_once('/') {
                            Some(("pod" | "pods" | "po", name)) if !name.is_empty() => pod_name = Some(name.to_string()),
                            Some(("node" | "nodes" | "no", name)) if !name.is_empty() => {
                                if world.machine(name).is_none() {
                                    return Err(format!("error: node \"{name}\" not found"));
                                }
                                from = Source::Node(name.to_string());
                            }
                            _ if v == "outside" || v == "host" => from = Source::Outside,
                            _ => return Err(format!("error: --from takes pod/NAME, node/NAME or outside, not \"{v}\"")),
                        }
                    }
                    "-n" | "--namespace" => namespace = value(&mut i)?,
                    _ if w.starts_with('-') => return Err(format!("error: unknown flag: {w}\n{USAGE}")),
                    _ if url.is_none() => url = Some(w.to_string()),
                    _ => return Err(format!("error: unexpected argument \"{w}\"\n{USAGE}")),
                }
                i += 1;
            }
            let Some(url) = url else { return Err(format!("error: a URL is required\n{USAGE}")) };
            let target = match Url::parse(&url) {
                Ok(u) if u.scheme == "http" => u,
                Ok(_) => return Err(format!("error: only http:// URLs are simulated: \"{url}\"")),
                Err(e) => return Err(format!("error: invalid URL \"{url}\": {e}")),
            };
            if let Some(name) = pod_name {
                match api.get(ids::pods(), &namespace, &name) {
                    Ok(obj) => {
                        if let Object::Pod(p) = &*obj {
                            if p.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false) {
                                from = Source::Node(p.node_name.clone().unwrap_or_default());
                            } else {
                                from = Source::Pod { namespace: namespace.clone(), name };
                            }
                        }
                    }
                    Err(e) if e.reason == crate::engine::api::Reason::ConnectionRefused => {
                        return Err(format!("The connection to the server {} was refused - did you specify the right host or port?", api.host))
                    }
                    Err(e) => return Err(format!("Error from server ({:?}): {}", e.reason, e.message)),
                }
            }
            if world.net.traffic.running() {
                return Err("error: traffic is already running; stop it first with: traffic stop".into());
            }
            let url_text = format!("http://{}{}", target.host_header(), target.target);
            let g = Generator { url: url_text.clone(), target, source: from.clone(), rate_per_s: rate, started: now, stopped: None, stats: Stats::default(), origin: None };
            world.net.traffic.current = Some(g);
            Ok(format!("traffic started: GET {url_text} from {}, {rate} requests/s\n", from.describe()))
        }
        Some("stop") if words.len() == 1 => match world.net.traffic.current.as_mut() {
            Some(g) if g.stopped.is_none() => {
                g.stopped = Some(now);
                let s = &g.stats;
                Ok(format!("traffic stopped: {} requests sent, {} succeeded, {} failed\n", s.sent, s.ok, s.failed))
            }
            _ => Err("error: no traffic is running".into()),
        },
        Some("report") if words.len() == 1 => Ok(report(&world.net.traffic, now)),
        _ => Err(USAGE.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_send_times() {
        assert_eq!(parse_rate("10/s"), Some(10));
        assert_eq!(parse_rate("100"), Some(100));
        assert_eq!(parse_rate("30/m"), Some(1));
        assert_eq!(parse_rate("0/s"), None);
        assert_eq!(parse_rate("5000/s"), None);
        assert_eq!(parse_rate("x"), None);
        let g = Generator {
            url: String::new(),
            target: Url::parse("http://x").unwrap(),
            source: Source::Outside,
            rate_per_s: 3,
            started: VirtualTime::from_secs(10),
            stopped: None,
            stats: Stats::default(),
            origin: None,
        };
        assert_eq!(g.send_time(0), VirtualTime::from_secs(10));
        assert_eq!(g.send_time(1), VirtualTime::from_millis(10_333));
        assert_eq!(g.send_time(3), VirtualTime::from_secs(11));
    }

    #[test]
    fn stats_bucket_by_second() {
        let mut s = Stats::default();
        s.success(VirtualTime::from_millis(1_100), 200, Some("a".into()));
        s.success(VirtualTime::from_millis(1_900), 200, Some("b".into()));
        s.failure(VirtualTime::from_millis(2_000), "connection refused".into(), None);
        assert_eq!(s.buckets.len(), 2);
        assert_eq!((s.buckets[0].ok, s.buckets[1].failed), (2, 1));
        assert_eq!(s.by_pod.len(), 2);
    }
}
