//! Network commands run inside containers (`kubectl exec`, container
//! scripts): `curl`, `wget`, `nc`, `nslookup`, `ping` and `redis-cli`, each
//! printing what the real tool prints — busybox applets in busybox and
//! Alpine images, the Debian/curl builds elsewhere. One file per tool.
//!
//! The shell calls [`run`] with the world and the pod's identity; a tool
//! gets its connections from [`super::path`] and its answers from the
//! applications, so what it prints follows the cluster's real state.

pub mod client;
pub mod curl;
pub mod nc;
pub mod nslookup;
pub mod ping;
pub mod redis_cli;
pub mod wget;

use super::Origin;
use crate::engine::node::images::{ImageName, Toolkit};
use crate::engine::sim::clock::VirtualTime;
use crate::engine::world::World;

/// Where and how a tool runs.
pub struct ToolContext<'a> {
    pub world: &'a mut World,
    pub origin: Origin,
    pub now: VirtualTime,
    pub image: ImageName,
    pub toolkit: Toolkit,
    /// Whether stdout is a terminal (`exec -t`).
    pub tty: bool,
    /// What was piped or typed into it.
    pub stdin: Option<String>,
    /// On the learner's machine: what listens on its loopback address.
    pub loopback: Option<&'a crate::engine::learner_proxy::Loopback<'a>>,
}

/// Which stream a piece of output went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// What a tool printed (in the order it printed it) and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolOutput {
    pub chunks: Vec<(Stream, String)>,
    pub code: i32,
    /// Virtual time the command took (waits for timeouts included).
    pub took_ms: u64,
    /// Files the command wrote in the container (`wget` saving a page).
    pub files: Vec<(String, String)>,
}

impl ToolOutput {
    pub fn fail(stderr: impl Into<String>, code: i32) -> Self {
        let mut o = ToolOutput { code, ..Default::default() };
        o.err(stderr);
        o
    }
    pub fn out(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.chunks.push((Stream::Out, text));
        }
    }
    pub fn err(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.chunks.push((Stream::Err, text));
        }
    }
    pub fn stdout(&self) -> String {
        self.chunks.iter().filter(|(s, _)| *s == Stream::Out).map(|(_, t)| t.as_str()).collect()
    }
    pub fn stderr(&self) -> String {
        self.chunks.iter().filter(|(s, _)| *s == Stream::Err).map(|(_, t)| t.as_str()).collect()
    }
    /// Both streams as a terminal shows them.
    pub fn combined(&self) -> String {
        self.chunks.iter().map(|(_, t)| t.as_str()).collect()
    }
}

/// The network commands an image ships.
pub fn provides(image: &ImageName, toolkit: Toolkit, command: &str) -> bool {
    let repo = image.short_repository();
    let last = repo.rsplit('/').next().unwrap_or(&repo).to_string();
    let alpine = toolkit == Toolkit::Busybox || image.tag.contains("alpine");
    match command {
        "wget" | "nc" | "nslookup" | "ping" if alpine => true,
        "curl" => matches!(last.as_str(), "curl" | "nginx" | "netshoot" | "kubia" | "kubernetes-bootcamp" | "alpine-curl") || repo.contains("curl"),
        "wget" => matches!(last.as_str(), "kubia" | "kubernetes-bootcamp" | "netshoot"),
        "nslookup" | "ping" | "nc" => matches!(last.as_str(), "netshoot" | "dnsutils" | "jessie-dnsutils"),
        "redis-cli" => last == "redis",
        _ => false,
    }
}

/// The commands this module provides.
pub const COMMANDS: &[&str] = &["curl", "wget", "nc", "nslookup", "ping", "redis-cli"];

/// Runs a network command; `None` if `argv[0]` is not one of them.
pub fn run(ctx: &mut ToolContext, argv: &[String]) -> Option<ToolOutput> {
    let name = argv.first()?.rsplit('/').next()?.to_string();
    let args = &argv[1..];
    Some(match name.as_str() {
        "curl" => curl::run(ctx, args),
        "wget" => wget::run(ctx, args),
        "nc" => nc::run(ctx, args),
        "nslookup" => nslookup::run(ctx, args),
        "ping" => ping::run(ctx, args),
        "redis-cli" => redis_cli::run(ctx, args),
        _ => return None,
    })
}

/// Whether the image's busybox is old enough to have the getaddrinfo-based
/// `nslookup` (1.28 and before).
pub fn legacy_busybox(image: &ImageName) -> bool {
    let tag = image.tag.as_str();
    let mut parts = tag.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).map(|p| p.parse::<u32>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(1), Some(m)) if m <= 28)
}
