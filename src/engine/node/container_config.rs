//! What the kubelet hands the runtime for one container
//! (`generateContainerConfig`): its environment, its files and mounts,
//! its working directory, and the process it runs.
//!
//! The process, by rule:
//! - a `command` (with `args`) runs as written: programs the simulated
//!   shell knows run as a shell would; the image's own software (`nginx`,
//!   `node app.js`) runs as the image's server; a program the image lacks
//!   fails to start with runc's `executable file not found in $PATH`
//!   (an image outside the catalogue is taken to have any program it is
//!   asked to run, as its server);
//! - otherwise the image's default: a catalogue server prints its start-up
//!   lines and serves its ports; a shell image (busybox, alpine) runs its
//!   `args` or, with none, a shell that exits at once unless the container
//!   keeps stdin open (`kubectl run -it`), when it waits for a terminal.

use crate::engine::sort::SortStable;
use std::rc::Rc;

use k8s_openapi::api::core::v1::Container;
use crate::engine::api::pod::Pod;

use super::commands::{self, PodIdentity, SystemInfo};
use super::container_fs::{Overlay, RootFs, View};
use super::filesystem::{file_name, Fs};
use super::identity::{self, ProcessUser, UserSettings};
use super::images::{self, Base, DefaultProcess, ImageName};
use super::rootfs;
use super::stress;
use super::runtime::{ContainerSetup, DeferredProgram, Environment, ProcessSpec, StartupMarks, OWN_VARIABLE};
use super::shell::{self, Effect, End, Host, NetworkWanted, Program, StartError, Timed};
use crate::engine::api::Object;
use crate::engine::sim::clock::VirtualTime;

/// Expands `$(VAR)` in `command` and `args` with the kubelet's variables.
fn expanded(list: Option<&Vec<String>>, env: &[(String, String)]) -> Option<Vec<String>> {
    let lookup = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    list.filter(|v| !v.is_empty()).map(|v| v.iter().map(|s| super::env::expand(s, &lookup)).collect())
}

/// The image's name without registry or owner (`redis`, `kubia`).
fn image_family(image: &ImageName) -> String {
    let repository = image.short_repository();
    repository.rsplit('/').next().unwrap_or("").to_string()
}

/// PID 1's command line as `ps` shows it.
pub fn command_line(c: &Container, image: &ImageName, env: &[(String, String)]) -> String {
    let command = expanded(c.command.as_ref(), env);
    let args = expanded(c.args.as_ref(), env);
    if let Some(mut argv) = command {
        argv.extend(args.unwrap_or_default());
        if matches!(images::base_of(image), Base::Busybox | Base::Alpine) {
            if let Some(last) = ash_exec_last(&argv) {
                return last;
            }
        }
        return argv.join(" ");
    }
    let family = image_family(image);
    let family = family.as_str();
    if let Some(argv) = args.as_deref().and_then(|a| entrypoint_argv(family, a)) {
        return match (argv[0].as_str(), port_flag(&argv[0], &argv)) {
            // redis sets its process title to its address.
            ("redis-server", port) if !asks_version("redis-server", &argv) => format!("redis-server *:{}", port.unwrap_or(6379)),
            _ => argv.join(" "),
        };
    }
    match (family, images::lookup(image).map(|i| i.process)) {
        ("nginx" | "nginx-slim", _) => "nginx: master process nginx -g daemon off;".into(),
        ("redis", _) => "redis-server *:6379".into(),
        ("httpd", _) => "httpd -DFOREGROUND".into(),
        ("mongo", _) => "mongod --bind_ip_all".into(),
        (_, Some(DefaultProcess::Script { script, default_args })) if matches!(script, "sh" | "bash") => {
            args.map(|a| a.join(" ")).unwrap_or_else(|| std::iter::once(script).chain(default_args.iter().copied()).collect::<Vec<_>>().join(" "))
        }
        (_, Some(DefaultProcess::Script { .. })) => "/bin/sh -c".into(),
        (_, Some(DefaultProcess::Server(_))) if family.starts_with("kubia") => "node app.js".into(),
        (_, Some(DefaultProcess::Stress)) => std::iter::once("/stress".to_string()).chain(args.unwrap_or_default()).collect::<Vec<_>>().join(" "),
        _ => args.map(|a| a.join(" ")).unwrap_or_else(|| format!("/{family}")),
    }
}

/// busybox's `sh -c` runs its script's last command in its own process
/// (it execs it, without a fork, when no trap is set), so `ps` shows that
/// command as PID 1. Only a plain last command (words, no expansion,
/// quoting or redirection, not a shell builtin) is recognised.
fn ash_exec_last(argv: &[String]) -> Option<String> {
    const BUILTINS: &[&str] = &[
        ":", ".", "[", "alias", "break", "case", "cd", "continue", "do", "done", "echo", "elif", "else", "esac", "eval", "exit", "export", "false", "fi", "for", "getopts", "hash", "if", "kill", "let", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test", "then", "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
    ];
    let [sh, flag, script, ..] = argv else { return None };
    if !matches!(file_name(sh), "sh" | "ash") || flag != "-c" || script.contains(|c| "|&<>()`$'\"\\*?[]{}#=".contains(c)) || script.contains("trap") {
        return None;
    }
    let last = script.split([';', '\n']).map(str::trim).rfind(|s| !s.is_empty())?;
    let mut words: Vec<&str> = last.split_whitespace().collect();
    if words.first() == Some(&"exec") {
        words.remove(0);
    }
    let first = *words.first()?;
    (!BUILTINS.contains(&first)).then(|| words.join(" "))
}

/// The image's environment with the kubelet's variables, as the runtime
/// sets it: `PATH`, `HOSTNAME`, the image's `ENV`, the kubelet's, `HOME`.
pub fn environment(image: &ImageName, hostname: &str, kubelet_env: &[(String, String)]) -> Environment {
    /// The last container's environment, for its image and the kubelet's
    /// variables: the next container of its template has the same but for
    /// `HOSTNAME` (its pod's name), when neither sets that variable.
    struct Kept {
        image: ImageName,
        kubelet_env: Vec<(String, String)>,
        hostname_is_own: bool,
        env: Environment,
    }
    thread_local! {
        static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
    }
    let found = KEPT.with(|kept| {
        let kept = kept.borrow();
        let k = kept.as_ref().filter(|k| k.image == *image && k.kubelet_env == kubelet_env)?;
        Some(if k.hostname_is_own { k.env.with_own_hostname(hostname) } else { k.env.clone() })
    });
    if let Some(env) = found {
        debug_assert_eq!(env, environment_uncached(image, hostname, kubelet_env), "a container's environment from the last one's");
        return env;
    }
    let env = environment_uncached(image, hostname, kubelet_env);
    let image_env = images::lookup(image).map_or(&[][..], |e| e.env);
    let hostname_is_own = !image_env.iter().any(|(name, _)| *name == OWN_VARIABLE) && !kubelet_env.iter().any(|(name, _)| name == OWN_VARIABLE);
    KEPT.with(|kept| *kept.borrow_mut() = Some(Kept { image: image.clone(), kubelet_env: kubelet_env.to_vec(), hostname_is_own, env: env.clone() }));
    env
}

fn environment_uncached(image: &ImageName, hostname: &str, kubelet_env: &[(String, String)]) -> Environment {
    use std::borrow::Cow;
    let entry = images::lookup(image);
    let image_env = entry.as_ref().map_or(&[][..], |e| e.env);
    // Only a value that names it needs the software's version.
    let version = image_env.iter().any(|(_, v)| v.contains("{version}")).then(|| images::software_version(&image.short_repository(), &image.tag));
    let settings = [("PATH", Cow::Borrowed(shell::DEFAULT_PATH)), ("HOSTNAME", Cow::Borrowed(hostname))]
        .into_iter()
        .chain(image_env.iter().map(|&(k, v)| match &version {
            Some(version) if v.contains("{version}") => (k, Cow::Owned(v.replace("{version}", version))),
            _ => (k, Cow::Borrowed(v)),
        }))
        .chain(kubelet_env.iter().map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str()))));
    Environment::of_settings(settings, &[("HOME", "/root")])
}

/// What a catalogue server prints as it starts: its lines, with the marks
/// filled in for this start.
struct StartupLines<'a> {
    lines: &'static [&'static str],
    /// Run by hand, the software skips the image's entrypoint scripts.
    own_command: bool,
    version: &'a str,
    at: VirtualTime,
    hostname: &'a str,
    ip: &'a str,
}

/// The last start-up lines printed, and what they were printed for: the
/// time only as finely as the lines show it, the host only if a line names
/// it. Containers of one image started within a second mostly print the
/// same lines (nginx's times are to the second).
struct KeptStartupLines {
    lines: &'static [&'static str],
    own_command: bool,
    version: String,
    clock: StartupClock,
    instant: u64,
    host: Option<(String, String)>,
    printed: Vec<Rc<str>>,
}

/// How finely a server's start-up lines show the time.
#[derive(Clone, Copy)]
enum StartupClock {
    Unshown,
    Seconds,
    Millis,
}

impl StartupClock {
    /// `{time}` and `{date}` are to the second; the others to the
    /// millisecond or finer (a virtual time is whole milliseconds).
    fn of(lines: &[&str]) -> Self {
        let shows = |marks: &[&str]| lines.iter().any(|l| marks.iter().any(|m| l.contains(m)));
        if shows(&["{apache_time}", "{redis_time}", "{iso_time}"]) {
            StartupClock::Millis
        } else if shows(&["{time}", "{date}"]) {
            StartupClock::Seconds
        } else {
            StartupClock::Unshown
        }
    }

    /// The instant as the lines show it.
    fn instant(self, at: VirtualTime) -> u64 {
        match self {
            StartupClock::Unshown => 0,
            StartupClock::Seconds => at.as_millis() / 1000,
            StartupClock::Millis => at.as_millis(),
        }
    }
}

thread_local! {
    static KEPT_STARTUP_LINES: std::cell::RefCell<Option<KeptStartupLines>> = const { std::cell::RefCell::new(None) };
}

impl StartupLines<'_> {
    fn render(&self, marks: &StartupMarks) -> Vec<Rc<str>> {
        self.lines
            .iter()
            .filter(|l| !self.own_command || !(l.contains("docker-entrypoint") || l.starts_with("10-listen")))
            .map(|l| {
                if !l.contains('{') {
                    return super::volumes::shared_content(l);
                }
                let template = if l.contains("{version}") { std::borrow::Cow::Owned(l.replace("{version}", self.version)) } else { std::borrow::Cow::Borrowed(*l) };
                super::volumes::shared_content(&marks.render(&template))
            })
            .collect()
    }

    /// The lines kept, if they were printed for the same start.
    fn kept(&self) -> Option<Vec<Rc<str>>> {
        KEPT_STARTUP_LINES.with(|kept| {
            let kept = kept.borrow();
            let k = kept.as_ref()?;
            let same = std::ptr::eq(k.lines, self.lines)
                && k.own_command == self.own_command
                && k.clock.instant(self.at) == k.instant
                && k.version == self.version
                && k.host.as_ref().is_none_or(|(hostname, ip)| hostname == self.hostname && ip == self.ip);
            same.then(|| k.printed.clone())
        })
    }

    fn keep(&self, printed: Vec<Rc<str>>) -> Vec<Rc<str>> {
        let names_host = self.lines.iter().any(|l| l.contains("{hostname}") || l.contains("{ip}"));
        let host = names_host.then(|| (self.hostname.to_string(), self.ip.to_string()));
        let clock = StartupClock::of(self.lines);
        let instant = clock.instant(self.at);
        let kept = KeptStartupLines { lines: self.lines, own_command: self.own_command, version: self.version.to_string(), clock, instant, host, printed: printed.clone() };
        KEPT_STARTUP_LINES.with(|k| *k.borrow_mut() = Some(kept));
        printed
    }
}

/// The container's files before its mounts: the image's, read-only if asked.
pub fn root_fs(c: &Container, image: &ImageName) -> RootFs {
    let read_only = c.security_context.as_ref().and_then(|s| s.read_only_root_filesystem).unwrap_or(false);
    RootFs::new(rootfs::image_root(image), read_only)
}

/// Who the container's processes run as, from its security context and
/// the image's account files. Reading the account files is most of the
/// cost and the answer depends only on the image and the few settings
/// below, which nearly every container shares with many others: the
/// users of the last few distinct images and settings are kept, each
/// user shared by the containers that run as it.
pub fn process_user(pod: &Pod, c: &Container, image: &ImageName, root: &RootFs) -> Rc<ProcessUser> {
    /// Distinct images and settings started together on a node: a
    /// workload's containers and its DaemonSets'.
    const KEPT: usize = 8;
    type Kept = (Rc<super::filesystem::Fs>, UserSettings, Rc<ProcessUser>);
    thread_local! {
        static RECENT: std::cell::RefCell<std::collections::VecDeque<Kept>> = const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
    }
    let settings = UserSettings::of(pod, c, images::image_uid(image));
    let found = RECENT.with(|recent| {
        recent.borrow().iter().find(|(fs, kept, _)| Rc::ptr_eq(fs, &root.image) && *kept == settings).map(|(_, _, user)| Rc::clone(user))
    });
    if let Some(user) = found {
        return user;
    }
    let text = |path: &str| root.image.get(path).and_then(|i| i.content()).unwrap_or_default();
    let user = identity::container_user(&settings, &text("/etc/passwd"), &text("/etc/group"));
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        let user = recent.iter().find(|(_, _, u)| **u == user).map_or_else(|| Rc::new(user), |(_, _, u)| Rc::clone(u));
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back((Rc::clone(&root.image), settings, Rc::clone(&user)));
        user
    })
}

/// The working directory: the container's, or the image's.
pub fn workdir(c: &Container, image: &ImageName) -> String {
    c.working_dir.clone().filter(|w| !w.is_empty()).unwrap_or_else(|| rootfs::workdir(image).to_string())
}

/// Registries a pod's pull secrets hold credentials for.
pub fn pull_credentials(secrets: &[Rc<Object>]) -> Vec<String> {
    let mut hosts = Vec::new();
    for s in secrets {
        let Object::Secret(secret) = &**s else { continue };
        let data = secret.data.clone().unwrap_or_default();
        let (key, nested) = match secret.type_.as_deref() {
            Some("kubernetes.io/dockerconfigjson") => (".dockerconfigjson", true),
            Some("kubernetes.io/dockercfg") => (".dockercfg", false),
            _ => continue,
        };
        let Some(raw) = data.get(key) else { continue };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&raw.0) else { continue };
        let auths = if nested { json.get("auths").cloned().unwrap_or_default() } else { json };
        if let Some(map) = auths.as_object() {
            hosts.extend(map.keys().cloned());
        }
    }
    hosts
}

fn server(program: Program, declared: &[i32], extra: &[i32], stops: bool, fails: Option<u32>) -> ProcessSpec {
    let mut serves: Vec<i32> = extra.to_vec();
    serves.extend(declared.iter().copied());
    serves.sort_stable();
    serves.dedup();
    ProcessSpec { program, serves, stops_on_sigterm: stops, fails_after_requests: fails, deferred: None, hog: None }
}

/// What the nginx image prints as a user other than root, up to nginx's
/// start-up notices: the entrypoint cannot touch the default server's
/// file, nginx ignores its `user` directive, and where that user may not
/// make nginx's temporary directory or its pid file, it fails (`true`:
/// it exits 1).
fn nginx_unprivileged(files: &dyn crate::engine::node::container_fs::Files) -> (Vec<String>, bool) {
    use crate::engine::node::container_fs as cfs;
    use crate::engine::node::filesystem::parent;
    use crate::engine::node::identity::WRITE;
    let user = files.user();
    let may_make = |path: &str| cfs::stat(files, "/", parent(path)).is_ok_and(|(at, dir)| dir.is_dir() && !files.read_only(&at) && user.may_change(&dir));
    let failed = if !may_make("/var/cache/nginx/client_temp") && cfs::stat(files, "/", "/var/cache/nginx/client_temp").is_err() {
        Some("mkdir() \"/var/cache/nginx/client_temp\" failed (13: Permission denied)")
    } else if !may_make("/run/nginx.pid") && !cfs::stat(files, "/", "/run/nginx.pid").is_ok_and(|(at, f)| !files.read_only(&at) && user.may(&f, WRITE)) {
        Some("open() \"/run/nginx.pid\" failed (13: Permission denied)")
    } else {
        None
    };
    let default_conf = "/etc/nginx/conf.d/default.conf";
    let ipv6 = match cfs::stat(files, "/", default_conf) {
        Ok((at, f)) if !f.is_dir() => {
            if files.read_only(&at) || !user.may(&f, WRITE) {
                vec![format!("10-listen-on-ipv6-by-default.sh: info: can not modify {default_conf} (read-only file system?)")]
            } else {
                vec![format!("10-listen-on-ipv6-by-default.sh: info: Getting the checksum of {default_conf}"), format!("10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in {default_conf}")]
            }
        }
        _ => vec![format!("10-listen-on-ipv6-by-default.sh: info: {default_conf} is not a file or does not exist")],
    };
    let user_directive = "the \"user\" directive makes sense only if the master process runs with super-user privileges, ignored in /etc/nginx/nginx.conf:2";
    let mut lines: Vec<String> = [
        "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
        "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
    ]
    .map(str::to_string)
    .to_vec();
    lines.extend(ipv6);
    lines.extend(
        [
            "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
        ]
        .map(str::to_string),
    );
    lines.extend([format!("{{time}} [warn] 1#1: {user_directive}"), format!("nginx: [warn] {user_directive}")]);
    if let Some(failed) = failed {
        lines.extend([format!("{{time}} [emerg] 1#1: {failed}"), format!("nginx: [emerg] {failed}")]);
    }
    (lines, failed.is_some())
}

/// Whether the simulated shell runs `name` itself (rather than it being the image's own software).
/// A process that waits for the network to evaluate its command.
fn awaiting_network(command: DeferredProgram, stops_on_sigterm: bool) -> ProcessSpec {
    ProcessSpec { program: Program::forever(vec![]), serves: vec![], stops_on_sigterm, fails_after_requests: None, deferred: Some(Box::new(command)), hog: None }
}

fn simulated(name: &str) -> bool {
    matches!(name, "sh" | "bash" | "ash" | "dash" | "sleep" | "env" | "exec" | "true" | "false" | ":" | "echo" | "printf" | "test" | "[" | "cat" | "tail")
        || commands::provides(name)
        || matches!(name, "wget" | "curl" | "nc" | "nslookup" | "ping" | "telnet" | "redis-cli")
}

/// What the entrypoint of an image whose server takes arguments runs for
/// the container's `args`: docker-library's `docker-entrypoint.sh` puts the
/// server first when they start with an option (redis: or name a `.conf`
/// file), then `exec "$@"`; httpd has no entrypoint, its args replace its
/// CMD. `None` for other images.
fn entrypoint_argv(family: &str, args: &[String]) -> Option<Vec<String>> {
    let first = args.first()?;
    let server = match family {
        "redis" if first.starts_with('-') || first.ends_with(".conf") => Some("redis-server"),
        "mongo" if first.starts_with('-') => Some("mongod"),
        "redis" | "mongo" | "httpd" => None,
        _ => return None,
    };
    Some(server.map(str::to_string).into_iter().chain(args.iter().cloned()).collect())
}

/// The port a server's command line names (`redis-server --port 7000`,
/// `mongod --port 27018` or `--port=27018`), where it listens instead of
/// its default.
fn port_flag(name: &str, argv: &[String]) -> Option<i32> {
    if !matches!(name, "redis-server" | "mongod") {
        return None;
    }
    argv.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--port=") {
        Some(port) if name == "mongod" => port.parse().ok(),
        _ if a == "--port" => argv.get(i + 1).and_then(|p| p.parse().ok()),
        _ => None,
    })
}

/// What `agnhost netexec` logs as its servers start (Go's `log` behind
/// klog's header): its HTTP server, then its UDP one, whose address
/// (empty by default) `%s` prints before the port, hence two spaces.
/// `None` for any other program.
fn agnhost_netexec_lines(name: &str, argv: &[String], now: VirtualTime) -> Option<Vec<Rc<str>>> {
    if name != "agnhost" || argv.get(1).map(String::as_str) != Some("netexec") {
        return None;
    }
    let flag = |flag: &str, default: i64| -> i64 {
        let prefixed = format!("--{flag}=");
        let value = argv.iter().enumerate().find_map(|(i, a)| match a.strip_prefix(prefixed.as_str()) {
            Some(v) => Some(v.to_string()),
            None if a.as_str() == format!("--{flag}") => argv.get(i + 1).cloned(),
            None => None,
        });
        value.and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let header = format!("I{} {:>7} log.go:195]", crate::engine::network::http::wall(now).strftime("%m%d %H:%M:%S%.6f"), 1);
    let mut printed = vec![Rc::from(format!("{header} Started HTTP server on port {}", flag("http-port", 8080)))];
    let udp = flag("udp-port", 8081);
    if udp != -1 {
        printed.push(Rc::from(format!("{header} Started UDP server on port  {udp}")));
    }
    Some(printed)
}

/// The image's own server asked for its version (`redis-server -v`,
/// `httpd -v`, `node --version`): it prints it and exits.
fn asks_version(name: &str, argv: &[String]) -> bool {
    let flag = argv.get(1).map(String::as_str);
    match name {
        "redis-server" | "node" => matches!(flag, Some("-v" | "--version")),
        "httpd" => flag == Some("-v"),
        _ => false,
    }
}

fn is_nginx_program(argv0: &str) -> bool {
    matches!(file_name(argv0), "nginx" | "nginx-debug")
}

/// What nginx prints for `-v` (its version) or, as root, `-t` (a test of
/// the image's configuration) before it exits with 0; `None` for a
/// command line that starts the server.
fn nginx_informational(argv: &[String], version: &str, uid: u32) -> Option<Vec<String>> {
    match argv.get(1..)? {
        [flag] if flag == "-v" => Some(vec![format!("nginx version: nginx/{version}")]),
        [flag] if flag == "-t" && uid == 0 => Some(vec![
            "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok".to_string(),
            "nginx: configuration file /etc/nginx/nginx.conf test is successful".to_string(),
        ]),
        _ => None,
    }
}

/// A process that prints these lines and exits with `code`.
fn exits_printing(printed: Vec<Rc<str>>, code: i32) -> ProcessSpec {
    let timeline = printed.into_iter().map(|l| Timed { at_ms: 0, effect: Effect::Log(l) }).collect();
    let program = Program { timeline, repeat: None, resume: None, end: End::Exit { at_ms: 0, code } };
    ProcessSpec { program, serves: vec![], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None }
}

/// What the container's main process does, and whether it waits on a terminal.
#[allow(clippy::too_many_arguments)]
pub fn process_for(
    pod: &Pod,
    c: &Container,
    image: &ImageName,
    setup: &ContainerSetup,
    kubelet_env: &[(String, String)],
    disk: &Fs,
    ip: &str,
    now: VirtualTime,
) -> (Result<ProcessSpec, String>, bool) {
    let hostname = setup.env.get("HOSTNAME").map(str::to_string).unwrap_or_default();
    let declared: Vec<i32> = c.ports.iter().flatten().map(|p| p.container_port).collect();
    let catalogue = images::lookup(image);
    let known = catalogue.is_some();
    let base = catalogue.as_ref().map_or(Base::Debian, |i| i.base);
    let stdin_open = c.stdin.unwrap_or(false);
    let command = expanded(c.command.as_ref(), kubelet_env);
    let args = expanded(c.args.as_ref(), kubelet_env);
    let view = View { root: &setup.root, mounts: &setup.mounts, disk, user: &setup.user };
    // Only a command the shell model runs reads it (not an image's server).
    let system_info = || SystemInfo {
        hostname: hostname.clone(),
        base,
        kernel: "6.8.0-60-generic".into(),
        now: None,
        processes: vec![],
        mounts: vec![],
        tty: c.tty.unwrap_or(false),
        pod: PodIdentity {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            ip: ip.to_string(),
            node: pod.node_name.clone().unwrap_or_default(),
            container: c.name.clone(),
        },
    };
    let version = images::software_version(&image.short_repository(), &image.tag);
    // Every pod of an image prints the same start-up lines, and pods
    // started in the same second the same times: each text is kept once.
    let marks = StartupMarks::new(now, &hostname, ip);
    let lines = |own_command: bool| -> Vec<Rc<str>> {
        match catalogue.as_ref().map(|i| i.process) {
            Some(DefaultProcess::Server(lines)) => {
                let printed = StartupLines { lines, own_command, version: &version, at: now, hostname: &hostname, ip };
                printed.kept().unwrap_or_else(|| printed.keep(printed.render(&marks)))
            }
            _ => vec![],
        }
    };
    let (ports, stops, fails) = catalogue.as_ref().map_or((&[][..], true, None), |i| (i.ports, i.stops_on_sigterm, i.fails_after_requests));
    // The nginx image's entrypoint runs its arguments (`exec "$@"`), after
    // its configuration scripts only when they start with nginx.
    let nginx_image = image.short_repository() == "nginx";
    let nginx_entrypoint_args = args.as_ref().filter(|a| command.is_none() && nginx_image && !a.is_empty());
    let entrypoint_runs_other = nginx_entrypoint_args.is_some_and(|a| !is_nginx_program(&a[0]) || nginx_informational(a, &version, setup.user.uid).is_some());
    // The nginx image started by a user other than root stops where that user may not write.
    if command.is_none() && setup.user.uid != 0 && nginx_image && !entrypoint_runs_other {
        let (printed, failed) = nginx_unprivileged(&view);
        let mut printed: Vec<Rc<str>> = printed.iter().map(|l| super::volumes::shared_content(&marks.render(l))).collect();
        if failed {
            let timeline = printed.into_iter().map(|l| Timed { at_ms: 0, effect: Effect::Log(l) }).collect();
            let program = Program { timeline, repeat: None, resume: None, end: End::Exit { at_ms: 0, code: 1 } };
            return (Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None }), false);
        }
        // nginx's own lines, after the entrypoint's.
        printed.extend(lines(false).into_iter().skip_while(|l| !l.contains("[notice]")));
        return (Ok(server(Program::forever(printed), &declared, ports, stops, fails)), false);
    }
    let run_argv = |argv: Vec<String>| -> (Result<ProcessSpec, String>, bool) {
        let mut overlay = Overlay::new(&view, super::runtime::wall_secs(now));
        let name = file_name(argv.first().map(String::as_str).unwrap_or("")).to_string();
        // A shell with nothing to run waits on the terminal kept open for it.
        let bare_shell = matches!(name.as_str(), "sh" | "bash" | "ash" | "dash") && argv.len() == 1;
        let mut network = NetworkWanted::default();
        let info = system_info();
        let host = Host { files: &mut overlay, info: &info, env: setup.env.to_map(), external: Some(&mut network) };
        // nginx asked only for its version or a configuration test prints it and exits.
        if nginx_image && is_nginx_program(&name) {
            if let Some(printed) = nginx_informational(&argv, &version, setup.user.uid) {
                return (Ok(exits_printing(printed.iter().map(|l| super::volumes::shared_content(l)).collect(), 0)), false);
            }
        }
        let compiled = shell::compile_exec(&argv, host, &setup.workdir);
        // Load loops are run by the network pass by pass; any other use of the network waits for it.
        let deferred = network.used && crate::engine::network::talkers::loop_of(&argv, &[]).is_none();
        // The image's `stress` (a load generator the model knows), with arguments it takes.
        let stress_load = if name == "stress" && compiled.is_ok() { stress::polinux(argv.get(1..).unwrap_or(&[])) } else { None };
        if let Some(load) = stress_load {
            return (Ok(stress::process(load, c, crate::engine::metrics::usage::resting_bytes(image))), false);
        }
        // The docs' Job: perl computing π.
        if name == "perl" && compiled.is_ok() {
            if let Some(program) = super::pi::bpi_program(argv.get(1..).unwrap_or(&[])) {
                return (Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None }), false);
            }
        }
        match compiled {
            Ok(_) if bare_shell && stdin_open => (Ok(server(Program::forever(vec![]), &[], &[], false, None)), true),
            Ok(program) if !simulated(&name) && asks_version(&name, &argv) => {
                (Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: true, fails_after_requests: None, deferred: None, hog: None }), false)
            }
            Ok(_) if !simulated(&name) => match port_flag(&name, &argv) {
                // Its start-up lines name the port it was given.
                Some(port) => {
                    let printed: Vec<Rc<str>> = lines(true)
                        .iter()
                        .map(|l| super::volumes::shared_content(&l.replace("port=6379.", &format!("port={port}.")).replace("\"port\":27017", &format!("\"port\":{port}"))))
                        .collect();
                    (Ok(server(Program::forever(printed), &declared, &[port], stops, fails)), false)
                }
                None => {
                    let printed = agnhost_netexec_lines(&name, &argv, now).unwrap_or_else(|| lines(true));
                    (Ok(server(Program::forever(printed), &declared, ports, stops, fails)), false)
                }
            },
            Ok(_) if deferred => (Ok(awaiting_network(DeferredProgram::Exec(argv.clone()), false)), false),
            Ok(program) => (Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: false, fails_after_requests: None, deferred: None, hog: None }), false),
            Err(e) if known => (Err(e.message()), false),
            // An application binary the model cannot know: the image's server.
            Err(StartError::NotFound(_) | StartError::NoSuchFile(_) | StartError::PermissionDenied(_)) => {
                (Ok(server(Program::forever(vec![]), &declared, &super::programs::listening_ports(image, &argv), true, None)), false)
            }
        }
    };
    if let Some(mut argv) = command {
        argv.extend(args.unwrap_or_default());
        return run_argv(argv);
    }
    if let Some(argv) = nginx_entrypoint_args.cloned() {
        if !is_nginx_program(&argv[0]) {
            return run_argv(argv);
        }
        if let Some(printed) = nginx_informational(&argv, &version, setup.user.uid) {
            let mut out: Vec<Rc<str>> = lines(false).into_iter().take_while(|l| !l.contains("[notice]")).collect();
            out.extend(printed.iter().map(|l| super::volumes::shared_content(l)));
            return (Ok(exits_printing(out, 0)), false);
        }
    }
    if let Some(argv) = args.as_deref().and_then(|a| entrypoint_argv(image_family(image).as_str(), a)) {
        return run_argv(argv);
    }
    match catalogue.as_ref().map(|i| i.process) {
        Some(DefaultProcess::Server(_)) => (Ok(server(Program::forever(lines(false)), &declared, ports, stops, fails)), false),
        Some(DefaultProcess::Stress) => match stress::vish(&args.unwrap_or_default()) {
            Some(load) => (Ok(stress::process(load, c, crate::engine::metrics::usage::resting_bytes(image))), false),
            None => (Ok(server(Program::forever(vec![]), &declared, &[], true, None)), false),
        },
        Some(DefaultProcess::Script { script, default_args }) => {
            if matches!(script, "sh" | "bash") {
                // The image's CMD is a shell; args replace it.
                return run_argv(args.unwrap_or_else(|| vec![script.to_string()]));
            }
            if script == "curl" {
                let mut argv = vec!["curl".to_string()];
                argv.extend(args.unwrap_or_default());
                return run_argv(argv);
            }
            let mut positional = vec!["sh".to_string()];
            positional.extend(args.unwrap_or_else(|| default_args.iter().map(|s| s.to_string()).collect()));
            let mut overlay = Overlay::new(&view, super::runtime::wall_secs(now));
            let mut network = NetworkWanted::default();
            let info = system_info();
            let host = Host { files: &mut overlay, info: &info, env: setup.env.to_map(), external: Some(&mut network) };
            let program = shell::compile_script(script, positional.clone(), host, &setup.workdir);
            if network.used && crate::engine::network::talkers::recognise(script).is_none() {
                return (Ok(awaiting_network(DeferredProgram::Script { script: script.to_string(), positional }, stops)), false);
            }
            (Ok(ProcessSpec { program, serves: vec![], stops_on_sigterm: stops, fails_after_requests: None, deferred: None, hog: None }), false)
        }
        None => match args {
            Some(argv) => run_argv(argv),
            None => (Ok(server(Program::forever(vec![]), &declared, &[], true, None)), false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn pull_secrets_name_their_registries() {
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiZUE9PSJ9fX0="}
        }))
        .unwrap();
        assert_eq!(pull_credentials(&[Rc::new(Object::Secret(Box::new(secret)))]), vec!["registry.example.com"]);
    }

    #[test]
    fn environment_follows_the_runtime_order() {
        let image = images::parse_image("nginx:1.27.5").unwrap();
        let env = environment(&image, "web", &[("A".into(), "1".into())]);
        let keys: Vec<&str> = env.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["PATH", "HOSTNAME", "NGINX_VERSION", "NJS_VERSION", "NJS_RELEASE", "PKG_RELEASE", "DYNPKG_RELEASE", "A", "HOME"]);
        assert_eq!(env.get("NGINX_VERSION"), Some("1.27.5"));
    }

    #[test]
    fn an_environment_from_the_last_container_is_the_one_made_afresh() {
        let nginx = images::parse_image("nginx:1.27.5").unwrap();
        let redis = images::parse_image("redis:7.2").unwrap();
        let services: Vec<(String, String)> = vec![("KUBERNETES_PORT".into(), "tcp://10.96.0.1:443".into())];
        let own_hostname: Vec<(String, String)> = vec![("HOSTNAME".into(), "mine".into())];
        // Each call in turn, so each may find the one before it kept.
        let calls = [
            (&nginx, "web-1", &services),
            (&nginx, "web-2", &services),
            (&nginx, "web-2", &own_hostname),
            (&nginx, "web-3", &own_hostname),
            (&redis, "web-3", &own_hostname),
            (&redis, "cache-1", &services),
            (&nginx, "web-1", &services),
        ];
        for (image, hostname, kubelet_env) in calls {
            let env = environment(image, hostname, kubelet_env);
            assert_eq!(env, environment_uncached(image, hostname, kubelet_env), "{hostname}");
            let expected = kubelet_env.iter().find(|(k, _)| k == "HOSTNAME").map_or(hostname, |(_, v)| v.as_str());
            assert_eq!(env.get("HOSTNAME"), Some(expected));
        }
    }

    #[test]
    fn start_up_lines_kept_are_those_printed_for_the_same_start() {
        let nginx = images::lookup(&images::parse_image("nginx:1.27.5").unwrap()).unwrap();
        let httpd = images::lookup(&images::parse_image("httpd:2.4").unwrap()).unwrap();
        let (DefaultProcess::Server(nginx), DefaultProcess::Server(httpd)) = (nginx.process, httpd.process) else { panic!("servers") };
        let t = VirtualTime::from_millis(61_250);
        let same_second = VirtualTime::from_millis(61_900);
        let later = VirtualTime::from_millis(62_000);
        let starts = [
            (nginx, false, "1.27.5", t, "web-1", "10.244.1.2"),
            (nginx, false, "1.27.5", same_second, "web-2", "10.244.1.3"),
            (nginx, true, "1.27.5", t, "web-2", "10.244.1.3"),
            (nginx, false, "1.27.5", later, "web-2", "10.244.1.3"),
            (nginx, false, "1.25.5", later, "web-2", "10.244.1.3"),
            (httpd, false, "2.4.63", later, "web-2", "10.244.1.3"),
            (httpd, false, "2.4.63", later, "web-3", "10.244.1.4"),
            (nginx, false, "1.27.5", t, "web-1", "10.244.1.2"),
        ];
        let mut hits = 0;
        for (lines, own_command, version, at, hostname, ip) in starts {
            let printed = StartupLines { lines, own_command, version, at, hostname, ip };
            let fresh = printed.render(&StartupMarks::new(at, hostname, ip));
            match printed.kept() {
                Some(kept) => {
                    hits += 1;
                    assert_eq!(kept, fresh, "{hostname} at {at:?}");
                }
                None => {
                    printed.keep(fresh);
                }
            }
        }
        // nginx's second pod in the same second, and httpd's second pod at
        // the same millisecond with another address: only the first.
        assert_eq!(hits, 1);
    }

    #[test]
    fn a_variable_set_again_keeps_its_place_and_takes_the_last_value() {
        let image = images::parse_image("nginx:1.27.5").unwrap();
        let kubelet_env = [("NGINX_VERSION".into(), "mine".into()), ("HOSTNAME".into(), "other".into()), ("HOME".into(), "/data".into()), ("B".into(), "2".into())];
        let env = environment(&image, "web", &kubelet_env);
        let pairs: Vec<(&str, &str)> = env.iter().collect();
        // As the runtime's ordered map has it: the image's and the kubelet's
        // settings of one name are one variable, in the first one's place.
        let mut expected: IndexMap<String, String> = IndexMap::new();
        for (k, v) in [("PATH", shell::DEFAULT_PATH), ("HOSTNAME", "web")] {
            expected.insert(k.into(), v.into());
        }
        for (k, v) in images::lookup(&image).unwrap().env {
            expected.insert(k.to_string(), v.replace("{version}", "1.27.5"));
        }
        for (k, v) in &kubelet_env {
            expected.insert(k.clone(), v.clone());
        }
        expected.entry("HOME".into()).or_insert_with(|| "/root".into());
        assert_eq!(pairs, expected.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>());
        assert_eq!(env.get("HOSTNAME"), Some("other"));
        assert_eq!(pairs.last(), Some(&("B", "2")));
    }
}
