//! `kubectl proxy` (kubectl `pkg/cmd/proxy/proxy.go`): listens on the
//! learner's machine and serves the API there until killed. Started in the
//! background (`kubectl proxy &`) it keeps running
//! ([`crate::engine::learner_proxy`] serves what `curl` asks it); in the
//! foreground it would hold the only terminal, so it says so and stops.

use super::super::{Error, Result, Session};
use crate::engine::learner_proxy::{self, Filter, RunningProxy};

pub fn run(s: &mut Session) -> Result {
    // `Validate`: the socket and the port exclude each other.
    if s.args.has("unix-socket") {
        let port_given = s.args.value("port").is_some_and(|p| p != "8001");
        if port_given && !s.args.value("unix-socket").unwrap_or("").is_empty() {
            return Err(Error::Message("error: cannot set --unix-socket and --port at the same time".to_string()));
        }
        return Err(not_simulated("--unix-socket", "the learner's machine serves the proxy on a TCP port only"));
    }
    if s.args.value("www").is_some_and(|w| !w.is_empty()) {
        return Err(not_simulated("--www", "it serves the API, not the machine's files"));
    }
    if let Some(keepalive) = s.args.value("keepalive") {
        if crate::engine::cron::parse_go_duration(keepalive).is_err() {
            return Err(Error::Usage(format!("invalid argument \"{keepalive}\" for \"--keepalive\" flag: time: invalid duration \"{keepalive}\"")));
        }
    }
    let port_text = s.args.value("port").unwrap_or("8001").to_string();
    let port: i64 = port_text.parse().map_err(|_| Error::Usage(format!("invalid argument \"{port_text}\" for \"-p, --port\" flag: strconv.ParseInt: parsing \"{port_text}\": invalid syntax")))?;
    let address = s.args.value("address").unwrap_or(learner_proxy::DEFAULT_ADDRESS).to_string();
    let mut api_prefix = s.args.value("api-prefix").unwrap_or("/").to_string();
    if !api_prefix.ends_with('/') {
        api_prefix.push('/');
    }
    let background = s.cluster.learner_proxies.starting_in_background.take();
    let pid = background.as_ref().map_or(s.cluster.learner_proxies.last_pid.max(1342) + 1, |(pid, _)| *pid);
    let filter = if s.args.flag("disable-filter") {
        let line = format!("{} proxy.go:177] Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious\n", klog_header('W', s, pid));
        s.say(true, &line);
        None
    } else {
        let filter = Filter {
            accept_paths: s.args.value("accept-paths").unwrap_or(learner_proxy::DEFAULT_ACCEPT_PATHS).to_string(),
            reject_paths: s.args.value("reject-paths").unwrap_or(learner_proxy::DEFAULT_REJECT_PATHS).to_string(),
            accept_hosts: s.args.value("accept-hosts").unwrap_or(learner_proxy::DEFAULT_ACCEPT_HOSTS).to_string(),
            reject_methods: s.args.value("reject-methods").unwrap_or(learner_proxy::DEFAULT_REJECT_METHODS).to_string(),
        };
        // `MakeRegexpArrayOrDie`, in the order `Complete` compiles them: klog.Fatalf.
        for text in [&filter.accept_paths, &filter.reject_paths, &filter.accept_hosts, &filter.reject_methods] {
            if let Err(e) = learner_proxy::compile_all(text) {
                let line = format!("{} proxy_server.go:83] Error compiling re: error parsing regexp: {}\n", klog_header('F', s, pid), e.lines().last().unwrap_or("").trim());
                return Err(Error::Exit(255, line));
            }
        }
        Some(filter)
    };
    if !(0..=65535).contains(&port) {
        return Err(Error::Message(format!("error: listen tcp: address {port}: invalid port")));
    }
    let port = if port == 0 { s.cluster.learner_proxies.ephemeral_port(pid) } else { port as u16 };
    if let Some(e) = learner_proxy::listen_error(&s.cluster.learner_proxies, &address, port) {
        return Err(Error::Message(format!("error: {e}")));
    }
    let serving = format!("Starting to serve on {}\n", learner_proxy::serving_address(&address, port));
    let Some((_, command)) = background else {
        s.say(false, &serving);
        s.say(true, 
            "kubectl proxy serves until it is stopped, and this page has one terminal: it was stopped here. Run `kubectl proxy &` to keep it serving in the background, then `curl http://localhost:8001/version`, and `kill %1` to stop it.\n",
        );
        return Ok(());
    };
    let proxy = RunningProxy { job: 0, pid, address, port, api_prefix, filter, command };
    if s.cluster.learner_proxies.start(proxy).is_none() {
        return Err(Error::Message("error: this machine keeps at most 16 proxies running; kill one first (`jobs`, `kill %1`)".to_string()));
    }
    s.say(false, &serving);
    Ok(())
}

fn not_simulated(flag: &str, why: &str) -> Error {
    Error::Message(format!("error: kubectl proxy {flag} is not part of this simulation: {why}"))
}

/// klog's line header: `F1207 16:19:29.420349    1343`.
fn klog_header(severity: char, s: &Session, pid: u32) -> String {
    let now = s.cluster.sim.now();
    let wall = crate::engine::network::http::wall(now);
    format!("{severity}{}.{:06} {pid:>7}", wall.strftime("%m%d %H:%M:%S"), (now.as_millis() % 1000) * 1000)
}
