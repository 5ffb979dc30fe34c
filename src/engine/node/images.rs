//! The image catalogue of the simulated registries, image-name parsing and
//! the rules that decide which pulls fail.
//!
//! Rules (the README shows them to learners as the simulation's rules):
//! - A catalogue image pulls only with a tag its real repository publishes
//!   (the release series listed per image below, with the image's variant
//!   suffixes such as `-alpine`), or by digest. Any other tag fails with the
//!   registry's "not found".
//! - A Docker Hub name within two edits (one for names under six letters)
//!   of a catalogue repository (`ngnix`, `busybx`, `reddis`) is a typo: the registry answers "pull access denied,
//!   repository does not exist or may require authorization".
//! - A repository whose name contains `private`, or one on a registry other
//!   than the public ones (Docker Hub, registry.k8s.io, gcr.io, ghcr.io,
//!   quay.io, public.ecr.aws, mcr.microsoft.com), needs credentials: an
//!   `imagePullSecrets` entry naming a `kubernetes.io/dockerconfigjson` (or
//!   `dockercfg`) Secret whose `auths` list that registry. Without one the
//!   pull is denied.
//! - A repository or tag containing `doesnotexist`, `nonexistent`, `notexist`
//!   or `invalid` does not exist.
//! - Any other image (outside the catalogue) pulls as a 30 MB image and runs
//!   as a long-running server on the ports its container declares, so
//!   manifests from the wild keep working.
//! - A name a registry would refuse (upper case, spaces) is InvalidImageName.

/// How fast the simulated registry delivers image layers.
pub const PULL_BYTES_PER_SEC: u64 = 12_000_000;
/// Fixed cost of a pull (resolving the manifest, unpacking).
pub const PULL_OVERHEAD_MS: u64 = 700;
/// Size given to images outside the catalogue.
const UNKNOWN_IMAGE_BYTES: u64 = 30_000_000;

/// The shell and tools an image ships, which decides error wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toolkit {
    /// busybox and alpine: `sh: foo: not found`, `cat: can't open 'x'`.
    Busybox,
    /// Debian-based images: `sh: 1: foo: not found`, `cat: x: No such file or directory`.
    Coreutils,
}

/// The operating system an image is built on: its base files and programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Base {
    /// The busybox image: every program is a busybox applet in /bin.
    Busybox,
    /// Alpine Linux: busybox applets plus apk, musl.
    Alpine,
    /// Debian 12 (bookworm): bash, dash as sh, GNU coreutils.
    Debian,
    /// No shell and no tools at all (distroless, scratch, pause).
    Distroless,
}

impl Base {
    pub fn toolkit(self) -> Toolkit {
        match self {
            Base::Busybox | Base::Alpine => Toolkit::Busybox,
            Base::Debian | Base::Distroless => Toolkit::Coreutils,
        }
    }
}

/// What a container of the image runs when the pod gives no command.
#[derive(Clone, Copy, Debug)]
pub enum DefaultProcess {
    /// Prints these lines at start-up, then serves its ports until stopped.
    /// `{time}` becomes an nginx-style timestamp, `{date}` a `date` output,
    /// `{hostname}` the pod name, `{ip}` the pod IP, `{version}` the
    /// software version the tag stands for.
    Server(&'static [&'static str]),
    /// A shell script run with the container's args as `$1`, `$2`, …
    /// (`default_args` when the pod gives none).
    Script { script: &'static str, default_args: &'static [&'static str] },
    /// vish/stress's `/stress`, run with the container's args as its flags.
    Stress,
}

#[derive(Debug)]
pub struct CatalogueImage {
    /// Repository as written in pod specs, without registry for Docker Hub.
    pub repository: &'static str,
    pub size_bytes: u64,
    pub ports: &'static [i32],
    pub base: Base,
    pub toolkit: Toolkit,
    pub process: DefaultProcess,
    /// Whether PID 1 exits on SIGTERM; if not, the grace period runs out
    /// and the container is killed with exit code 137.
    pub stops_on_sigterm: bool,
    /// Answers HTTP 500 after this many requests (luksa/kubia-unhealthy, kubia:v3).
    pub fails_after_requests: Option<u32>,
    /// The tags the repository publishes.
    pub tags: fn(&str) -> bool,
    /// Programs the image adds to its base's (`nginx`, `curl`, `redis-cli`).
    pub programs: &'static [&'static str],
    /// The image's `ENV` lines, after `PATH`.
    pub env: &'static [(&'static str, &'static str)],
}

const NGINX_START: &[&str] = &[
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
    "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
    "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
    "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
    "{time} [notice] 1#1: using the \"epoll\" event method",
    "{time} [notice] 1#1: nginx/{version}",
    "{time} [notice] 1#1: built by gcc 12.2.0 (Debian 12.2.0-14) ",
    "{time} [notice] 1#1: OS: Linux 6.8.0-60-generic",
    "{time} [notice] 1#1: getrlimit(RLIMIT_NOFILE): 1048576:1048576",
    "{time} [notice] 1#1: start worker processes",
    "{time} [notice] 1#1: start worker process 29",
    "{time} [notice] 1#1: start worker process 30",
];

const HTTPD_START: &[&str] = &[
    "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {ip}. Set the 'ServerName' directive globally to suppress this message",
    "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {ip}. Set the 'ServerName' directive globally to suppress this message",
    "[{apache_time}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/{version} (Unix) configured -- resuming normal operations",
    "[{apache_time}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'",
];

const REDIS_START: &[&str] = &[
    "1:C {redis_time} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "1:C {redis_time} * Redis version={version}, bits=64, commit=00000000, modified=1, pid=1, just started",
    "1:C {redis_time} # Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf",
    "1:M {redis_time} * monotonic clock: POSIX clock_gettime",
    "1:M {redis_time} * Running mode=standalone, port=6379.",
    "1:M {redis_time} * Server initialized",
    "1:M {redis_time} * Ready to accept connections tcp",
];

const MONGO_START: &[&str] = &[
    "{\"t\":{\"$date\":\"{iso_time}\"},\"s\":\"I\",  \"c\":\"CONTROL\",  \"id\":23285,   \"ctx\":\"main\",\"msg\":\"Automatically disabling TLS 1.0, to force-enable TLS 1.0 specify --sslDisabledProtocols 'none'\"}",
    "{\"t\":{\"$date\":\"{iso_time}\"},\"s\":\"I\",  \"c\":\"NETWORK\",  \"id\":23016,   \"ctx\":\"listener\",\"msg\":\"Waiting for connections\",\"attr\":{\"port\":27017,\"ssl\":\"off\"}}",
];

const KUBIA_START: &[&str] = &["Kubia server starting..."];

const COREDNS_START: &[&str] = &[
    ".:53",
    "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5b046dd37f1cf888b953814040d180f52594972691cd6ff41be96639138a43908",
    "CoreDNS-1.12.0",
    "linux/amd64, go1.23.3, 51e11f1",
];

const HPA_EXAMPLE_START: &[&str] = &[
    "AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using {ip}. Set the 'ServerName' directive globally to suppress this message",
    "AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using {ip}. Set the 'ServerName' directive globally to suppress this message",
    "[{apache_time}] [mpm_prefork:notice] [pid 1] AH00163: Apache/2.4.10 (Debian) PHP/5.6.40 configured -- resuming normal operations",
    "[{apache_time}] [core:notice] [pid 1] AH00094: Command line: 'apache2 -D FOREGROUND'",
];

const HTTP_ECHO_START: &[&str] = &["{time} [INFO] server is listening on :5678"];

const INGRESS_NGINX_START: &[&str] = &[
    "-------------------------------------------------------------------------------",
    "NGINX Ingress controller",
    "  Release:       v1.12.2",
    "  Build:         7ee28ac6da9d08d3a2bc4bd2f4b2d5f8ec59e4ad",
    "  Repository:    https://github.com/kubernetes/ingress-nginx",
    "  nginx version: nginx/1.25.5",
    "",
    "-------------------------------------------------------------------------------",
    "",
];
const NO_OUTPUT: &[&str] = &[];

const NGINX_ENV: &[(&str, &str)] = &[
    ("NGINX_VERSION", "{version}"),
    ("NJS_VERSION", "0.9.0"),
    ("NJS_RELEASE", "1~bookworm"),
    ("PKG_RELEASE", "1~bookworm"),
    ("DYNPKG_RELEASE", "1~bookworm"),
];
/// The image's `ENV PATH $HTTPD_PREFIX/bin:$PATH` puts httpd on the path.
const HTTPD_ENV: &[(&str, &str)] = &[("PATH", "/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ("HTTPD_PREFIX", "/usr/local/apache2"), ("HTTPD_VERSION", "{version}")];
const REDIS_ENV: &[(&str, &str)] = &[("REDIS_VERSION", "{version}"), ("REDIS_DOWNLOAD_URL", "http://download.redis.io/releases/redis-{version}.tar.gz")];
const MONGO_ENV: &[(&str, &str)] = &[("GOSU_VERSION", "1.17"), ("MONGO_PACKAGE", "mongodb-org"), ("MONGO_MAJOR", "8.0"), ("MONGO_VERSION", "{version}")];
const NODE_ENV: &[(&str, &str)] = &[("NODE_VERSION", "7.10.1"), ("YARN_VERSION", "0.24.4")];
const NO_ENV: &[(&str, &str)] = &[];

const NGINX_PROGRAMS: &[&str] = &["nginx", "curl", "envsubst"];
const HTTPD_PROGRAMS: &[&str] = &["httpd", "apachectl"];
const REDIS_PROGRAMS: &[&str] = &["redis-server", "redis-cli"];
const MONGO_PROGRAMS: &[&str] = &["mongod", "mongosh"];
const NODE_PROGRAMS: &[&str] = &["node", "npm", "curl", "wget"];
const CURL_PROGRAMS: &[&str] = &["curl"];
const STRESS_PROGRAMS: &[&str] = &["stress"];
const PERL_PROGRAMS: &[&str] = &["perl"];
const NO_PROGRAMS: &[&str] = &[];

macro_rules! image {
    ($repo:literal, $size:literal, [$($port:literal),*], $base:ident, $process:expr, $sigterm:literal, $fails:expr, $tags:expr, $programs:expr, $env:expr) => {
        CatalogueImage {
            repository: $repo,
            size_bytes: $size,
            ports: &[$($port),*],
            base: Base::$base,
            toolkit: match Base::$base {
                Base::Busybox | Base::Alpine => Toolkit::Busybox,
                Base::Debian | Base::Distroless => Toolkit::Coreutils,
            },
            process: $process,
            stops_on_sigterm: $sigterm,
            fails_after_requests: $fails,
            tags: $tags,
            programs: $programs,
            env: $env,
        }
    };
}

macro_rules! server {
    ($repo:literal, $size:literal, [$($port:literal),*], $base:ident, $lines:expr, $sigterm:literal, $fails:expr, $tags:expr) => {
        image!($repo, $size, [$($port),*], $base, DefaultProcess::Server($lines), $sigterm, $fails, $tags, NO_PROGRAMS, NO_ENV)
    };
}

macro_rules! script {
    ($repo:literal, $size:literal, $base:ident, $script:expr, [$($arg:literal),*], $sigterm:literal, $tags:expr) => {
        image!($repo, $size, [], $base, DefaultProcess::Script { script: $script, default_args: &[$($arg),*] }, $sigterm, None, $tags, NO_PROGRAMS, NO_ENV)
    };
}

const FORTUNE_LOOP: &str = "mkdir -p /var/htdocs; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep 10; done";
const FORTUNE_ARGS: &str = "mkdir -p /var/htdocs; echo Configured to generate new fortune every $1 seconds; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep $1; done";
const FORTUNE_ENV: &str = "mkdir -p /var/htdocs; echo Configured to generate new fortune every $INTERVAL seconds; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep $INTERVAL; done";
const BATCH_JOB: &str = "echo \"$(date) Batch job starting\"; sleep 120; echo \"$(date) Finished succesfully\"";

/// Every image the simulated registry knows, with realistic sizes.
pub static CATALOGUE: &[CatalogueImage] = &[
    image!("nginx", 72_188_133, [80], Debian, DefaultProcess::Server(NGINX_START), true, None, nginx_tags, NGINX_PROGRAMS, NGINX_ENV),
    image!("registry.k8s.io/nginx-slim", 37_486_203, [80], Debian, DefaultProcess::Server(NGINX_START), true, None, nginx_slim_tags, NGINX_PROGRAMS, NGINX_ENV),
    image!("httpd", 58_042_431, [80], Debian, DefaultProcess::Server(HTTPD_START), true, None, httpd_tags, HTTPD_PROGRAMS, HTTPD_ENV),
    image!("redis", 52_803_942, [6379], Debian, DefaultProcess::Server(REDIS_START), true, None, redis_tags, REDIS_PROGRAMS, REDIS_ENV),
    image!("mongo", 272_158_374, [27017], Debian, DefaultProcess::Server(MONGO_START), true, None, mongo_tags, MONGO_PROGRAMS, MONGO_ENV),
    script!("busybox", 2_156_519, Busybox, "sh", [], true, busybox_tags),
    script!("alpine", 3_653_068, Alpine, "sh", [], true, alpine_tags),
    image!("tutum/curl", 96_580_234, [], Debian, DefaultProcess::Script { script: "bash", default_args: &[] }, true, None, latest_only, CURL_PROGRAMS, NO_ENV),
    image!("curlimages/curl", 10_127_308, [], Alpine, DefaultProcess::Script { script: "curl", default_args: &[] }, true, None, curl_tags, CURL_PROGRAMS, NO_ENV),
    image!("luksa/kubia", 252_946_203, [8080], Debian, DefaultProcess::Server(KUBIA_START), false, None, kubia_tags, NODE_PROGRAMS, NODE_ENV),
    image!("luksa/kubia-unhealthy", 252_946_317, [8080], Debian, DefaultProcess::Server(KUBIA_START), false, Some(5), latest_only, NODE_PROGRAMS, NODE_ENV),
    image!("luksa/kubia-pet", 252_946_412, [8080], Debian, DefaultProcess::Server(KUBIA_START), false, None, latest_only, NODE_PROGRAMS, NODE_ENV),
    image!("luksa/kubia-pet-peers", 252_946_508, [8080], Debian, DefaultProcess::Server(KUBIA_START), false, None, latest_only, NODE_PROGRAMS, NODE_ENV),
    script!("luksa/fortune", 71_433_005, Debian, FORTUNE_LOOP, [], false, fortune_tags),
    script!("luksa/batch-job", 252_946_611, Debian, BATCH_JOB, [], false, latest_only),
    server!("luksa/kubectl-proxy", 24_712_044, [8001], Alpine, NO_OUTPUT, true, None, kubectl_proxy_tags),
    server!("luksa/ssd-monitor", 2_204_173, [], Busybox, NO_OUTPUT, false, None, latest_only),
    server!("luksa/website-controller", 2_208_410, [], Busybox, NO_OUTPUT, false, None, latest_only),
    server!("luksa/memoryhog", 252_947_001, [8080], Debian, NO_OUTPUT, false, None, latest_only),
    image!("polinux/stress", 4_305_283, [], Alpine, DefaultProcess::Script { script: "sh", default_args: &[] }, true, None, latest_only, STRESS_PROGRAMS, NO_ENV),
    image!("vish/stress", 2_628_497, [], Distroless, DefaultProcess::Stress, true, None, latest_only, NO_PROGRAMS, NO_ENV),
    image!("perl", 336_270_134, [], Debian, DefaultProcess::Script { script: "bash", default_args: &[] }, true, None, perl_tags, PERL_PROGRAMS, NO_ENV),
    server!("jonbaier/node-express-info", 259_510_066, [80], Debian, NO_OUTPUT, false, None, node_express_tags),
    server!("gcr.io/kuar-demo/kuard-amd64", 11_014_567, [8080], Distroless, NO_OUTPUT, true, None, kuard_tags),
    server!("kuard-amd64", 11_014_567, [8080], Distroless, NO_OUTPUT, true, None, kuard_tags),
    server!("bitnami/apache", 94_406_781, [8080, 8443], Debian, NO_OUTPUT, true, None, any_tag),
    server!(
        "gcr.io/google-samples/kubernetes-bootcamp",
        80_328_012,
        [8080],
        Debian,
        &["Kubernetes Bootcamp App Started At: {iso_time} | Running On:  {hostname} "],
        false,
        None,
        bootcamp_tags
    ),
    server!(
        "jocatalin/kubernetes-bootcamp",
        80_328_012,
        [8080],
        Debian,
        &["Kubernetes Bootcamp App Started At: {iso_time} | Running On:  {hostname} "],
        false,
        None,
        bootcamp_tags
    ),
    server!("packtworkshops/the-kubernetes-workshop", 38_294_830, [8080], Alpine, NO_OUTPUT, true, None, any_tag),
    server!("registry.k8s.io/pause", 320_368, [], Distroless, NO_OUTPUT, true, None, pause_tags),
    server!("registry.k8s.io/coredns/coredns", 20_939_036, [53, 8080, 8181, 9153], Distroless, COREDNS_START, true, None, coredns_tags),
    server!("hashicorp/http-echo", 3_536_384, [5678], Distroless, HTTP_ECHO_START, true, None, http_echo_tags),
    server!("registry.k8s.io/hpa-example", 181_012_337, [80], Debian, HPA_EXAMPLE_START, true, None, latest_only),
    server!("k8s.gcr.io/hpa-example", 181_012_337, [80], Debian, HPA_EXAMPLE_START, true, None, latest_only),
    server!("registry.k8s.io/ingress-nginx/controller", 105_210_848, [80, 443, 8443, 10254], Alpine, INGRESS_NGINX_START, true, None, v1_release),
    script!("registry.k8s.io/ingress-nginx/kube-webhook-certgen", 25_340_209, Alpine, "echo '{\"level\":\"info\",\"msg\":\"creating new secret\",\"source\":\"cmd/create.go:28\"}'", [], true, v1_release),
    server!("registry.k8s.io/metrics-server/metrics-server", 19_513_426, [10250], Distroless, NO_OUTPUT, true, None, metrics_server_tags),
    server!("registry.k8s.io/e2e-test-images/agnhost", 51_398_120, [], Alpine, NO_OUTPUT, true, None, agnhost_tags),
    script!("nicolaka/netshoot", 209_112_533, Debian, "bash", [], true, netshoot_tags),
];

/// Variants whose behaviour depends on the tag.
fn tag_variant(repository: &str, tag: &str) -> Option<CatalogueImage> {
    match (repository, tag) {
        ("luksa/fortune", "args") => Some(script!("luksa/fortune", 71_433_112, Debian, FORTUNE_ARGS, ["10"], false, fortune_tags)),
        ("luksa/fortune", "env") => Some(script!("luksa/fortune", 71_433_208, Debian, FORTUNE_ENV, [], false, fortune_tags)),
        ("luksa/kubia", "v3") => {
            Some(image!("luksa/kubia", 252_946_777, [8080], Debian, DefaultProcess::Server(KUBIA_START), false, Some(4), kubia_tags, NODE_PROGRAMS, NODE_ENV))
        }
        ("nginx", t) if t.contains("alpine") => {
            Some(image!("nginx", 21_219_873, [80], Alpine, DefaultProcess::Server(NGINX_START), true, None, nginx_tags, NGINX_PROGRAMS, NGINX_ENV))
        }
        ("redis", t) if t.contains("alpine") => {
            Some(image!("redis", 17_239_081, [6379], Alpine, DefaultProcess::Server(REDIS_START), true, None, redis_tags, REDIS_PROGRAMS, REDIS_ENV))
        }
        ("httpd", t) if t.contains("alpine") => {
            Some(image!("httpd", 24_510_442, [80], Alpine, DefaultProcess::Server(HTTPD_START), true, None, httpd_tags, HTTPD_PROGRAMS, HTTPD_ENV))
        }
        _ => None,
    }
}

// ------------------------------------------------------------------ tags

/// A release series: every `major.minor.patch` with patch up to `max_patch`.
type Series = (u32, u32, u32);

/// Whether `version` (`1`, `1.27`, `1.27.5`) names a release of `series`.
fn is_release(version: &str, series: &[Series]) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0'))) {
        return false;
    }
    let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if nums.len() != parts.len() {
        return false;
    }
    series.iter().any(|&(major, minor, max_patch)| match nums.as_slice() {
        [m] => *m == major,
        [m, n] => *m == major && *n == minor,
        [m, n, p] => *m == major && *n == minor && *p <= max_patch,
        _ => false,
    })
}

/// `<version|alias>`, `<version|alias>-<variant>` or a bare variant.
fn versioned(tag: &str, series: &[Series], aliases: &[&str], variants: &[&str]) -> bool {
    if aliases.contains(&tag) || variants.contains(&tag) {
        return true;
    }
    let head_ok = |head: &str| aliases.contains(&head) || is_release(head, series);
    if head_ok(tag) {
        return true;
    }
    variants.iter().any(|v| tag.strip_suffix(v).and_then(|h| h.strip_suffix('-')).is_some_and(head_ok))
}

const NGINX_SERIES: &[Series] = &[
    (1, 7, 12), (1, 9, 15), (1, 10, 3), (1, 11, 13), (1, 12, 2), (1, 13, 12), (1, 14, 2), (1, 15, 12), (1, 16, 1), (1, 17, 10),
    (1, 18, 0), (1, 19, 10), (1, 20, 2), (1, 21, 6), (1, 22, 1), (1, 23, 4), (1, 24, 0), (1, 25, 5), (1, 26, 3), (1, 27, 5),
    (1, 28, 0), (1, 29, 0),
];

fn nginx_tags(tag: &str) -> bool {
    versioned(
        tag,
        NGINX_SERIES,
        &["latest", "stable", "mainline"],
        &["alpine", "perl", "alpine-perl", "alpine-slim", "bookworm", "bookworm-perl", "otel", "alpine-otel", "bookworm-otel"],
    )
}

/// nginx-slim was tagged 0.1, 0.2, … as it was rebuilt; the e2e tests and
/// tutorials use 0.7–0.9 and 0.20–0.27. The simulation's rule: `0.1`–`0.27`.
fn nginx_slim_tags(tag: &str) -> bool {
    tag.strip_prefix("0.").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| (1..=27).contains(&n) && !tag.ends_with(".0"))
}

fn busybox_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[
        (1, 24, 2), (1, 25, 1), (1, 26, 2), (1, 27, 2), (1, 28, 4), (1, 29, 3), (1, 30, 1), (1, 31, 1), (1, 32, 1), (1, 33, 1),
        (1, 34, 1), (1, 35, 0), (1, 36, 1), (1, 37, 0),
    ];
    versioned(tag, SERIES, &["latest", "stable", "unstable"], &["musl", "glibc", "uclibc"])
}

fn alpine_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[
        (3, 7, 3), (3, 8, 5), (3, 9, 6), (3, 10, 9), (3, 11, 13), (3, 12, 12), (3, 13, 12), (3, 14, 10), (3, 15, 11), (3, 16, 9),
        (3, 17, 10), (3, 18, 12), (3, 19, 7), (3, 20, 6), (3, 21, 3), (3, 22, 0),
    ];
    versioned(tag, SERIES, &["latest", "edge"], &[])
}

fn redis_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[(3, 2, 12), (4, 0, 14), (5, 0, 14), (6, 0, 20), (6, 2, 17), (7, 0, 15), (7, 2, 8), (7, 4, 3), (8, 0, 2)];
    versioned(tag, SERIES, &["latest"], &["alpine", "bookworm", "alpine3.21", "alpine3.22"])
}

fn httpd_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[(2, 4, 63)];
    versioned(tag, SERIES, &["latest"], &["alpine", "bookworm", "alpine3.21", "alpine3.22"])
}

fn mongo_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[(3, 6, 23), (4, 0, 28), (4, 2, 24), (4, 4, 29), (5, 0, 31), (6, 0, 24), (7, 0, 21), (8, 0, 10)];
    versioned(tag, SERIES, &["latest"], &["jammy", "noble", "focal"])
}

fn curl_tags(tag: &str) -> bool {
    const SERIES: &[Series] = &[(7, 88, 1), (8, 0, 1), (8, 1, 2), (8, 2, 1), (8, 3, 0), (8, 4, 0), (8, 5, 0), (8, 6, 0), (8, 7, 1), (8, 8, 0), (8, 9, 1), (8, 10, 1), (8, 11, 1), (8, 12, 1), (8, 13, 0), (8, 14, 1)];
    versioned(tag, SERIES, &["latest"], &[])
}

fn kubia_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "v1" | "v2" | "v3")
}

fn fortune_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "args" | "env")
}

fn kubectl_proxy_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "1.6.2")
}

fn node_express_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "0.1" | "0.2" | "0.3")
}

fn kuard_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "1" | "2" | "3" | "blue" | "green" | "purple" | "v0.10.0-blue" | "v0.10.0-green" | "v0.10.0-purple")
}

fn bootcamp_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "v1" | "v2")
}

fn pause_tags(tag: &str) -> bool {
    matches!(tag, "3.1" | "3.2" | "3.5" | "3.6" | "3.7" | "3.8" | "3.9" | "3.10" | "latest")
}

/// perl's releases: `5.34.0`, `5.34`, `5`, with the image's variants.
fn perl_tags(tag: &str) -> bool {
    let version = tag.split('-').next().unwrap_or("");
    tag == "latest" || tag == "slim" || version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) && version.starts_with('5')
}

fn latest_only(tag: &str) -> bool {
    tag == "latest"
}

fn coredns_tags(tag: &str) -> bool {
    matches!(tag, "v1.12.0" | "v1.11.3" | "v1.11.1" | "v1.10.1" | "v1.9.3" | "v1.8.6" | "1.12.0" | "1.11.3" | "1.11.1" | "1.10.1")
}

fn http_echo_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "1.0" | "1.0.0" | "0.2.3" | "0.2.1")
}

/// ingress-nginx publishes `vMAJOR.MINOR.PATCH` tags of its 1.x line.
fn v1_release(tag: &str) -> bool {
    tag.strip_prefix("v1.").is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('.').collect();
        parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn metrics_server_tags(tag: &str) -> bool {
    matches!(tag, "v0.7.2" | "v0.7.1" | "v0.7.0" | "v0.6.4")
}

fn agnhost_tags(tag: &str) -> bool {
    tag.strip_prefix("2.").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| (20..=53).contains(&n))
}

fn netshoot_tags(tag: &str) -> bool {
    matches!(tag, "latest" | "v0.13" | "v0.12" | "v0.11")
}

fn any_tag(_: &str) -> bool {
    true
}

/// The numeric user an image's config runs its process as: Bitnami's
/// images are built to run as 1001, CoreDNS's (since 1.11) and
/// distroless's `nonroot` tags as distroless's `nonroot`, 65532; every
/// other image here runs as root.
pub fn image_uid(image: &ImageName) -> i64 {
    let repository = image.canonical_repository();
    if repository.starts_with("docker.io/bitnami/") {
        1001
    } else if repository == "registry.k8s.io/coredns/coredns" || (repository.starts_with("gcr.io/distroless/") && image.tag.contains("nonroot")) {
        65532
    } else {
        0
    }
}

/// The software version a tag of a catalogue image stands for, for the
/// lines the software prints (`nginx/1.27.5`).
pub fn software_version(repository: &str, tag: &str) -> String {
    thread_local! {
        /// The last repository and tag asked about, with the answer: every
        /// container start of a catalogue image asks.
        static LAST: std::cell::RefCell<Option<((String, String), String)>> = const { std::cell::RefCell::new(None) };
    }
    crate::engine::kept::last_or_make(&LAST, |(r, t)| r == repository && t == tag, || (repository.to_string(), tag.to_string()), || software_version_of(repository, tag))
}

fn software_version_of(repository: &str, tag: &str) -> String {
    let head = tag.split('-').next().unwrap_or("");
    let parts: Vec<u32> = head.split('.').map_while(|p| p.parse().ok()).collect();
    let series: &[Series] = match repository {
        "nginx" | "registry.k8s.io/nginx-slim" => NGINX_SERIES,
        "redis" => &[(3, 2, 12), (4, 0, 14), (5, 0, 14), (6, 0, 20), (6, 2, 17), (7, 0, 15), (7, 2, 8), (7, 4, 3), (8, 0, 2)],
        "httpd" => &[(2, 4, 63)],
        "mongo" => &[(3, 6, 23), (4, 0, 28), (4, 2, 24), (4, 4, 29), (5, 0, 31), (6, 0, 24), (7, 0, 21), (8, 0, 10)],
        _ => &[],
    };
    if repository.ends_with("/nginx-slim") {
        // nginx-slim 0.8 carried nginx 1.9.x; the 0.2x builds carry 1.2x.
        let build = tag.strip_prefix("0.").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        return if build < 20 { "1.9.10".into() } else { "1.25.3".into() };
    }
    let newest = |filter: &dyn Fn(&Series) -> bool| {
        series.iter().rev().find(|s| filter(s)).map(|&(a, b, c)| format!("{a}.{b}.{c}"))
    };
    let found = match parts.as_slice() {
        [a, b, c] if series.iter().any(|s| s.0 == *a && s.1 == *b) => Some(format!("{a}.{b}.{c}")),
        [a, b] => newest(&|s| s.0 == *a && s.1 == *b),
        [a] => newest(&|s| s.0 == *a),
        // nginx's `stable` is the newest even minor.
        _ if repository == "nginx" && head == "stable" => newest(&|s| s.1 % 2 == 0),
        _ => None,
    };
    found.or_else(|| newest(&|_| true)).unwrap_or_default()
}

// ------------------------------------------------------------------ names

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    /// As written, without tag: `nginx`, `luksa/kubia`, `registry.k8s.io/pause`.
    pub repository: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl ImageName {
    /// The registry host, when the name carries one (`registry.k8s.io`).
    pub fn registry(&self) -> Option<&str> {
        // One pass over the first component: every canonical name asks.
        let (first, _) = self.repository.split_once('/')?;
        (first.bytes().any(|b| b == b'.' || b == b':') || first == "localhost").then_some(first)
    }
    /// `docker.io/library/nginx` for Docker Hub short names.
    pub fn canonical_repository(&self) -> String {
        let prefix = self.docker_hub_prefix();
        let mut out = String::with_capacity(prefix.len() + self.repository.len());
        out.push_str(prefix);
        out.push_str(&self.repository);
        out
    }
    /// What goes before the repository as written to make it canonical.
    fn docker_hub_prefix(&self) -> &'static str {
        if self.registry().is_some() {
            ""
        } else if self.repository.contains('/') {
            "docker.io/"
        } else {
            "docker.io/library/"
        }
    }
    /// The repository without `docker.io/` and `library/`, as Docker names it.
    pub fn short_repository(&self) -> String {
        let r = self.repository.strip_prefix("docker.io/").unwrap_or(&self.repository);
        r.strip_prefix("library/").unwrap_or(r).to_string()
    }
    /// `canonical_repository()` then `@digest` (no tag) or `:tag`, built
    /// in one string of its exact size.
    pub fn canonical(&self) -> String {
        let (sep, rest) = match &self.digest {
            Some(d) if self.tag.is_empty() => ('@', d.as_str()),
            _ => (':', self.tag.as_str()),
        };
        let prefix = self.docker_hub_prefix();
        let mut out = String::with_capacity(prefix.len() + self.repository.len() + 1 + rest.len());
        out.push_str(prefix);
        out.push_str(&self.repository);
        out.push(sep);
        out.push_str(rest);
        out
    }
    pub fn short(&self) -> String {
        match &self.digest {
            Some(d) if self.tag.is_empty() => format!("{}@{d}", self.short_repository()),
            _ => format!("{}:{}", self.short_repository(), self.tag),
        }
    }
    /// Whether the image lives on Docker Hub.
    pub fn on_docker_hub(&self) -> bool {
        matches!(self.registry(), None | Some("docker.io") | Some("index.docker.io") | Some("registry-1.docker.io"))
    }
}

/// Parses an image reference as the kubelet's `applyDefaultImageTag` does,
/// with its error message for names a registry refuses.
pub fn parse_image(image: &str) -> Result<ImageName, String> {
    thread_local! {
        /// The last reference parsed and what it gave: a container's start
        /// parses its image several times, and a node's pods mostly share one.
        static LAST: std::cell::RefCell<Option<(String, Result<ImageName, String>)>> = const { std::cell::RefCell::new(None) };
    }
    crate::engine::kept::last_or_make(&LAST, |text| text == image, || image.to_string(), || parse_image_uncached(image))
}

fn parse_image_uncached(image: &str) -> Result<ImageName, String> {
    let refuse = |why: String| Err(format!("Failed to apply default image tag {image:?}: couldn't parse image name {image:?}: invalid reference format{why}"));
    if image.is_empty() || image.chars().any(|c| c.is_whitespace()) {
        return refuse(String::new());
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    // A colon after the last slash separates the tag.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], &rest[last_slash + i + 1..]),
        None => (rest, ""),
    };
    if repository.is_empty() || repository.starts_with('/') || repository.ends_with('/') || repository.contains("//") {
        return refuse(String::new());
    }
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        let name = ImageName { repository: repository.to_string(), tag: String::new(), digest: None };
        let shown = name.canonical_repository();
        let shown = shown.strip_prefix("docker.io/").unwrap_or(&shown).to_string();
        return refuse(format!(": repository name ({shown}) must be lowercase"));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || "._-/:".contains(c);
    if !repository.chars().all(valid) || !tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return refuse(String::new());
    }
    let tag = if tag.is_empty() && digest.is_none() { "latest".to_string() } else { tag.to_string() };
    Ok(ImageName { repository: repository.to_string(), tag, digest })
}

fn catalogue_entry(name: &ImageName) -> Option<&'static CatalogueImage> {
    let short = name.short_repository();
    // registry.k8s.io took over k8s.gcr.io and gcr.io/google_containers.
    let moved = ["k8s.gcr.io/", "gcr.io/google_containers/", "gcr.io/google-containers/"]
        .iter()
        .find_map(|old| name.repository.strip_prefix(old))
        .map(|rest| format!("registry.k8s.io/{rest}"));
    CATALOGUE.iter().find(|c| c.repository == short || c.repository == name.repository || moved.as_deref() == Some(c.repository))
}

/// The catalogue entry for an image, if the simulated registry knows it.
pub fn lookup(name: &ImageName) -> Option<CatalogueImage> {
    let short = name.short_repository();
    if let Some(v) = tag_variant(&short, &name.tag) {
        return Some(v);
    }
    catalogue_entry(name).map(|c| CatalogueImage { ..*c })
}

/// The base an image is built on (unknown images are taken as Debian-based).
pub fn base_of(name: &ImageName) -> Base {
    lookup(name).map_or(Base::Debian, |c| c.base)
}

/// Size of an image as the registry reports it.
pub fn size_of(name: &ImageName) -> u64 {
    lookup(name).map_or(UNKNOWN_IMAGE_BYTES, |c| c.size_bytes)
}

/// How long pulling `bytes` takes.
pub fn pull_duration_ms(bytes: u64) -> u64 {
    PULL_OVERHEAD_MS + bytes.saturating_mul(1000) / PULL_BYTES_PER_SEC
}

const MISSING_MARKERS: &[&str] = &["doesnotexist", "nonexistent", "notexist", "invalid"];

/// Registries anyone can pull from without credentials.
const PUBLIC_REGISTRIES: &[&str] =
    &["docker.io", "index.docker.io", "registry-1.docker.io", "registry.k8s.io", "k8s.gcr.io", "gcr.io", "ghcr.io", "quay.io", "public.ecr.aws", "mcr.microsoft.com"];

/// Optimal-string-alignment distance (a transposition counts as one edit),
/// bounded: anything above `limit` is reported as `limit + 1`.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()].min(limit + 1)
}

/// The catalogue repository a Docker Hub name is a misspelling of.
pub fn misspelling_of(name: &ImageName) -> Option<&'static str> {
    if !name.on_docker_hub() || catalogue_entry(name).is_some() {
        return None;
    }
    let short = name.short_repository();
    // Real official images that happen to sit near a catalogue name.
    const REAL: &[&str] = &["mono", "kong", "nats", "node", "redmine"];
    if short.len() < 4 || REAL.contains(&short.as_str()) {
        return None;
    }
    // Short names are one slip away from many others: allow fewer edits.
    let limit = if short.len() >= 6 { 2 } else { 1 };
    let depth = short.matches('/').count();
    CATALOGUE
        .iter()
        .filter(|c| !c.repository.contains('.') && c.repository.matches('/').count() == depth)
        .find(|c| edit_distance(&short, c.repository, limit) <= limit)
        .map(|c| c.repository)
}

/// Why a pull fails, independent of the runtime's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullRefusal {
    /// The repository exists but not this tag.
    TagNotFound,
    /// No such repository, or one the pod has no credentials for.
    AccessDenied,
}

/// Whether the registry refuses to serve `name`. `credentials` lists the
/// registries the pod's pull secrets hold credentials for.
pub fn pull_refusal(name: &ImageName, credentials: &[String]) -> Option<PullRefusal> {
    let repo = name.short_repository();
    if MISSING_MARKERS.iter().any(|m| repo.contains(m)) || misspelling_of(name).is_some() {
        return Some(PullRefusal::AccessDenied);
    }
    let host = name.registry().unwrap_or("docker.io");
    let private = repo.contains("private") || !PUBLIC_REGISTRIES.contains(&host);
    if private {
        let has = credentials.iter().any(|c| registry_matches(c, host));
        if !has {
            return Some(PullRefusal::AccessDenied);
        }
    }
    if name.digest.is_some() {
        return None;
    }
    if let Some(entry) = catalogue_entry(name) {
        return (!(entry.tags)(&name.tag)).then_some(PullRefusal::TagNotFound);
    }
    MISSING_MARKERS.iter().any(|m| name.tag.contains(m)).then_some(PullRefusal::TagNotFound)
}

/// Whether a key of a docker config's `auths` stands for `host`.
fn registry_matches(key: &str, host: &str) -> bool {
    let key = key.trim_start_matches("https://").trim_start_matches("http://");
    let key = key.split('/').next().unwrap_or(key);
    let hub = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
    key == host || (hub(key) && hub(host))
}

/// Why the registry refuses a pull, if it does, in the runtime's words (as
/// the kubelet's `Failed to pull image` event and the waiting message show it).
pub fn pull_failure(name: &ImageName, docker: bool, credentials: &[String]) -> Option<String> {
    let refusal = pull_refusal(name, credentials)?;
    let hub = name.on_docker_hub();
    Some(match (refusal, docker) {
        (PullRefusal::TagNotFound, true) => format!("Error response from daemon: manifest for {} not found: manifest unknown: manifest unknown", name.short()),
        (PullRefusal::AccessDenied, true) if hub => format!(
            "Error response from daemon: pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            name.short_repository()
        ),
        (PullRefusal::AccessDenied, true) => format!(
            "Error response from daemon: Head \"https://{}/v2/{}/manifests/{}\": unauthorized: authentication required",
            name.registry().unwrap_or(""),
            name.repository.split_once('/').map_or("", |(_, p)| p),
            name.tag
        ),
        (PullRefusal::TagNotFound, false) => {
            let full = name.canonical();
            format!("failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found")
        }
        (PullRefusal::AccessDenied, false) => {
            let full = name.canonical();
            let why = if hub { "server message: insufficient_scope: authorization failed" } else { "authorization failed: no basic auth credentials" };
            format!("failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": pull access denied, repository does not exist or may require authorization: {why}")
        }
    })
}

/// A stable content digest for an image: real digests do not depend on
/// which cluster pulls them.
pub fn digest_of(name: &ImageName) -> String {
    let mut out = String::with_capacity(digest_len(name));
    push_digest(&mut out, name);
    out
}

/// `{prefix}{repository}@{digest_of(name)}` (an `imageID`, a node's image
/// name) in one string of its exact size.
pub fn at_digest(prefix: &str, repository: &str, name: &ImageName) -> String {
    let mut out = String::with_capacity(prefix.len() + repository.len() + 1 + digest_len(name));
    out.push_str(prefix);
    out.push_str(repository);
    out.push('@');
    push_digest(&mut out, name);
    out
}

fn digest_len(name: &ImageName) -> usize {
    name.digest.as_ref().map_or("sha256:".len() + 64, String::len)
}

fn push_digest(out: &mut String, name: &ImageName) {
    match &name.digest {
        Some(d) => out.push_str(d),
        None => {
            out.push_str("sha256:");
            push_stable_hex(out, &name.canonical(), 64);
        }
    }
}

/// Deterministic hex of `len` digits derived from `seed` (FNV-1a chained).
pub fn stable_hex(seed: &str, len: usize) -> String {
    let mut out = String::with_capacity(len);
    push_stable_hex(&mut out, seed, len);
    out
}

/// Appends [`stable_hex`]`(seed, len)` to `out`: each round's 64 bits as
/// 16 lowercase hex digits, zero-padded (what `{:016x}` wrote).
fn push_stable_hex(out: &mut String, seed: &str, len: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    while out.len() - start < len {
        h ^= (out.len() - start) as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        for shift in (0..16).rev() {
            out.push(char::from(DIGITS[((h >> (shift * 4)) & 0xf) as usize]));
        }
    }
    out.truncate(start + len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_asked_again_is_the_one_worked_out_afresh() {
        for (repository, tag) in [("nginx", "1.27"), ("nginx", "1.27"), ("nginx", "stable"), ("redis", "7.2"), ("registry.k8s.io/nginx-slim", "0.8"), ("nginx", "1.27"), ("busybox", "1.36")] {
            assert_eq!(software_version(repository, tag), software_version_of(repository, tag), "{repository}:{tag}");
        }
    }

    #[test]
    fn an_image_parsed_again_gives_what_parsing_it_afresh_does() {
        for image in ["nginx", "nginx", "nginx:1.27", "Nginx:1", "Nginx:1", "registry.k8s.io/pause:3.10", "", "busybox@sha256:abc", "nginx"] {
            assert_eq!(parse_image(image), parse_image_uncached(image), "{image:?}");
        }
    }

    #[test]
    fn parses_names_as_the_kubelet_does() {
        let n = parse_image("nginx").unwrap();
        assert_eq!((n.repository.as_str(), n.tag.as_str()), ("nginx", "latest"));
        assert_eq!(n.canonical(), "docker.io/library/nginx:latest");
        let n = parse_image("registry.k8s.io/nginx-slim:0.8").unwrap();
        assert_eq!(n.canonical(), "registry.k8s.io/nginx-slim:0.8");
        let n = parse_image("localhost:5000/app").unwrap();
        assert_eq!(n.tag, "latest");
        assert_eq!(n.canonical_repository(), "localhost:5000/app");
        assert_eq!(parse_image("luksa/kubia:v1").unwrap().canonical(), "docker.io/luksa/kubia:v1");
        let err = parse_image("Nginx").unwrap_err();
        assert!(err.ends_with("repository name (library/Nginx) must be lowercase"), "{err}");
        assert!(parse_image("ngi nx").is_err());
        assert!(parse_image("").is_err());
    }

    #[test]
    fn stable_hex_is_what_format_made() {
        fn by_format(seed: &str, len: usize) -> String {
            let mut out = String::with_capacity(len);
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in seed.bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            while out.len() < len {
                h ^= out.len() as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{h:016x}"));
            }
            out.truncate(len);
            out
        }
        for seed in ["", "a", "docker.io/library/nginx:latest", "signature/0f2c/1700000000", "cluster-signing-key"] {
            for len in [0, 1, 8, 15, 16, 17, 32, 64, 256] {
                assert_eq!(stable_hex(seed, len), by_format(seed, len), "{seed:?} {len}");
            }
        }
        let n = parse_image("nginx:1.27").unwrap();
        assert_eq!(digest_of(&n), format!("sha256:{}", by_format(&n.canonical(), 64)));
        assert_eq!(at_digest("docker-pullable://", "nginx", &n), format!("docker-pullable://nginx@{}", digest_of(&n)));
        let pinned = parse_image("nginx@sha256:0123abcd").unwrap();
        assert_eq!(digest_of(&pinned), "sha256:0123abcd");
        assert_eq!(at_digest("", &pinned.canonical_repository(), &pinned), "docker.io/library/nginx@sha256:0123abcd");
    }

    #[test]
    fn a_registry_is_the_first_component_that_names_a_host() {
        let by_split = |repository: &str| {
            let first = repository.split('/').next().unwrap_or("");
            (repository.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost")).then_some(first.to_string())
        };
        for repository in ["nginx", "luksa/kubia", "registry.k8s.io/pause", "localhost/app", "localhost", "localhost:5000/app", "a.b", "a.b/c", "a:1/b/c", "/x", "x/", "", "docker.io/library/redis", "my_org/app.v2"] {
            let name = ImageName { repository: repository.into(), tag: String::new(), digest: None };
            assert_eq!(name.registry().map(str::to_string), by_split(repository), "{repository:?}");
        }
    }

    #[test]
    fn canonical_names_are_what_format_made() {
        for image in ["nginx", "nginx:1.27", "luksa/kubia:v1", "registry.k8s.io/pause:3.10", "localhost:5000/app", "nginx@sha256:0123abcd", "busybox:1.36@sha256:99", "docker.io/library/redis:7"] {
            let n = parse_image(image).unwrap();
            let repository = match (n.registry(), n.repository.contains('/')) {
                (Some(_), _) => n.repository.clone(),
                (None, true) => format!("docker.io/{}", n.repository),
                (None, false) => format!("docker.io/library/{}", n.repository),
            };
            let full = match &n.digest {
                Some(d) if n.tag.is_empty() => format!("{repository}@{d}"),
                _ => format!("{repository}:{}", n.tag),
            };
            assert_eq!((n.canonical_repository(), n.canonical()), (repository, full), "{image}");
        }
    }

    #[test]
    fn catalogue_tags_are_the_published_ones() {
        let ok = |s: &str| pull_refusal(&parse_image(s).unwrap(), &[]).is_none();
        for good in [
            "nginx", "nginx:1.14.2", "nginx:1.16.1", "nginx:1.25", "nginx:1.27.5", "nginx:1.29.0", "nginx:stable", "nginx:alpine",
            "nginx:1.27-alpine", "nginx:stable-alpine-slim", "nginx:mainline-bookworm", "busybox:1.28", "busybox:1.36.1", "busybox:1.37",
            "busybox:1.37.0-musl", "redis:7", "redis:7.2.4", "redis:8.0-alpine", "alpine:3.20", "httpd:2.4", "mongo:7.0",
            "luksa/kubia:v2", "gcr.io/google-samples/kubernetes-bootcamp:v1", "registry.k8s.io/nginx-slim:0.21",
            "registry.k8s.io/nginx-slim:0.9", "k8s.gcr.io/nginx-slim:0.8", "gcr.io/google_containers/nginx-slim:0.7",
            "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in ["nginx:does-not-exist-1", "nginx:1.161", "nginx:1.30", "nginx:1.27.9", "nginx:01.25", "busybox:2.0", "luksa/kubia:v9", "gcr.io/google-samples/kubernetes-bootcamp:v10", "registry.k8s.io/nginx-slim:0.28", "k8s.gcr.io/nginx-slim:1.0"] {
            assert_eq!(pull_refusal(&parse_image(bad).unwrap(), &[]), Some(PullRefusal::TagNotFound), "{bad}");
        }
    }

    #[test]
    fn typos_private_registries_and_markers_are_denied() {
        let denied = |s: &str, creds: &[String]| pull_refusal(&parse_image(s).unwrap(), creds) == Some(PullRefusal::AccessDenied);
        for typo in ["ngnix", "nginxx", "busybx", "reddis", "apline", "ngin"] {
            assert!(denied(typo, &[]), "{typo}");
        }
        assert_eq!(misspelling_of(&parse_image("ngnix").unwrap()), Some("nginx"));
        // Real images that merely resemble nothing in the catalogue pull fine.
        for fine in ["postgres:16", "mysql:8", "node:20", "python:3.12", "ubuntu", "quay.io/prometheus/prometheus:v2.53.0", "someone/app:1.0"] {
            assert!(!denied(fine, &[]), "{fine}");
            assert!(pull_refusal(&parse_image(fine).unwrap(), &[]).is_none(), "{fine}");
        }
        assert!(denied("doesnotexist/app", &[]));
        assert!(denied("registry.example.com/team/app:1", &[]));
        assert!(!denied("registry.example.com/team/app:1", &["https://registry.example.com".to_string()]));
        assert!(denied("username/private:tag", &[]));
        assert!(!denied("username/private:tag", &["https://index.docker.io/v1/".to_string()]));
    }

    #[test]
    fn failures_use_each_runtimes_words() {
        let n = parse_image("nginx:does-not-exist-1").unwrap();
        assert_eq!(
            pull_failure(&n, false, &[]).unwrap(),
            "failed to pull and unpack image \"docker.io/library/nginx:does-not-exist-1\": failed to resolve reference \"docker.io/library/nginx:does-not-exist-1\": docker.io/library/nginx:does-not-exist-1: not found"
        );
        assert_eq!(pull_failure(&n, true, &[]).unwrap(), "Error response from daemon: manifest for nginx:does-not-exist-1 not found: manifest unknown: manifest unknown");
        let n = parse_image("ngnix").unwrap();
        assert_eq!(
            pull_failure(&n, false, &[]).unwrap(),
            "failed to pull and unpack image \"docker.io/library/ngnix:latest\": failed to resolve reference \"docker.io/library/ngnix:latest\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
        );
        assert_eq!(
            pull_failure(&n, true, &[]).unwrap(),
            "Error response from daemon: pull access denied for ngnix, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
        );
    }

    #[test]
    fn catalogue_covers_seed_images() {
        for image in ["nginx", "nginx:alpine", "busybox", "alpine", "luksa/kubia", "luksa/fortune:env", "luksa/batch-job", "redis", "httpd", "mongo"] {
            assert!(lookup(&parse_image(image).unwrap()).is_some(), "{image}");
        }
        assert_eq!(size_of(&parse_image("nginx").unwrap()), 72_188_133);
        assert_eq!(software_version("nginx", "latest"), "1.29.0");
        assert_eq!(software_version("nginx", "1.25"), "1.25.5");
        assert_eq!(software_version("nginx", "1.14.2"), "1.14.2");
        assert_eq!(software_version("nginx", "stable-alpine"), "1.28.0");
        assert_eq!(software_version("redis", "7-alpine"), "7.4.3");
    }
}
