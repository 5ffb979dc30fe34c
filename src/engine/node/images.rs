//! The image catalogue of the simulated registry, image-name parsing and the
//! rule that decides which pulls fail.
//!
//! Rules (shown to learners as documented simplifications):
//! - Every catalogue image can be pulled with any tag; its size and default
//!   process come from the catalogue.
//! - An image outside the catalogue pulls as a 30 MB image and runs as a
//!   long-running server listening on the ports its container declares.
//! - A repository or tag containing `doesnotexist`, `nonexistent`,
//!   `notexist` or `invalid` cannot be pulled (ErrImagePull, then
//!   ImagePullBackOff), with the registry's real error wording; so can't a
//!   repository containing `private` unless the pod names imagePullSecrets.
//! - An image name a registry would refuse (upper case, spaces) is
//!   InvalidImageName.

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

/// What a container of the image runs when the pod gives no command.
#[derive(Clone, Copy, Debug)]
pub enum DefaultProcess {
    /// Prints these lines at start-up, then serves its ports until stopped.
    /// `{time}` becomes an nginx-style timestamp, `{date}` a `date` output,
    /// `{hostname}` the pod name, `{ip}` the pod IP.
    Server(&'static [&'static str]),
    /// A shell script run with the container's args as `$1`, `$2`, …
    /// (`default_args` when the pod gives none).
    Script { script: &'static str, default_args: &'static [&'static str] },
}

#[derive(Debug)]
pub struct CatalogueImage {
    /// Repository as written in pod specs, without registry for Docker Hub.
    pub repository: &'static str,
    pub size_bytes: u64,
    pub ports: &'static [i32],
    pub toolkit: Toolkit,
    pub process: DefaultProcess,
    /// Whether PID 1 exits on SIGTERM; if not, the grace period runs out
    /// and the container is killed with exit code 137.
    pub stops_on_sigterm: bool,
    /// Answers HTTP 500 after this many requests (luksa/kubia-unhealthy, kubia:v3).
    pub fails_after_requests: Option<u32>,
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
    "{time} [notice] 1#1: nginx/1.27.5",
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
    "[{apache_time}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.63 (Unix) configured -- resuming normal operations",
    "[{apache_time}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'",
];

const REDIS_START: &[&str] = &[
    "1:C {redis_time} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "1:C {redis_time} * Redis version=8.0.2, bits=64, commit=00000000, modified=1, pid=1, just started",
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

macro_rules! server {
    ($repo:literal, $size:literal, [$($port:literal),*], $toolkit:ident, $lines:expr, $sigterm:literal, $fails:expr) => {
        CatalogueImage {
            repository: $repo,
            size_bytes: $size,
            ports: &[$($port),*],
            toolkit: Toolkit::$toolkit,
            process: DefaultProcess::Server($lines),
            stops_on_sigterm: $sigterm,
            fails_after_requests: $fails,
        }
    };
}

macro_rules! script {
    ($repo:literal, $size:literal, $toolkit:ident, $script:expr, [$($arg:literal),*], $sigterm:literal) => {
        CatalogueImage {
            repository: $repo,
            size_bytes: $size,
            ports: &[],
            toolkit: Toolkit::$toolkit,
            process: DefaultProcess::Script { script: $script, default_args: &[$($arg),*] },
            stops_on_sigterm: $sigterm,
            fails_after_requests: None,
        }
    };
}

const FORTUNE_LOOP: &str = "mkdir -p /var/htdocs; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep 10; done";
const FORTUNE_ARGS: &str = "mkdir -p /var/htdocs; echo Configured to generate new fortune every $1 seconds; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep $1; done";
const FORTUNE_ENV: &str = "mkdir -p /var/htdocs; echo Configured to generate new fortune every $INTERVAL seconds; while :; do echo $(date) Writing fortune to /var/htdocs/index.html; echo fortune > /var/htdocs/index.html; sleep $INTERVAL; done";
const BATCH_JOB: &str = "echo \"$(date) Batch job starting\"; sleep 120; echo \"$(date) Finished succesfully\"";

/// Every image the simulated registry knows, with realistic sizes.
pub static CATALOGUE: &[CatalogueImage] = &[
    server!("nginx", 72_188_133, [80], Coreutils, NGINX_START, true, None),
    server!("registry.k8s.io/nginx-slim", 37_486_203, [80], Coreutils, NGINX_START, true, None),
    server!("httpd", 58_042_431, [80], Coreutils, HTTPD_START, true, None),
    server!("redis", 52_803_942, [6379], Coreutils, REDIS_START, true, None),
    server!("mongo", 272_158_374, [27017], Coreutils, MONGO_START, true, None),
    script!("busybox", 2_156_519, Busybox, "sh", [], true),
    script!("alpine", 3_653_068, Busybox, "sh", [], true),
    script!("tutum/curl", 96_580_234, Coreutils, "bash", [], true),
    server!("luksa/kubia", 252_946_203, [8080], Coreutils, KUBIA_START, false, None),
    server!("luksa/kubia-unhealthy", 252_946_317, [8080], Coreutils, KUBIA_START, false, Some(5)),
    server!("luksa/kubia-pet", 252_946_412, [8080], Coreutils, KUBIA_START, false, None),
    server!("luksa/kubia-pet-peers", 252_946_508, [8080], Coreutils, KUBIA_START, false, None),
    script!("luksa/fortune", 71_433_005, Coreutils, FORTUNE_LOOP, [], false),
    script!("luksa/batch-job", 252_946_611, Coreutils, BATCH_JOB, [], false),
    server!("luksa/kubectl-proxy", 24_712_044, [8001], Busybox, NO_OUTPUT, true, None),
    server!("luksa/ssd-monitor", 2_204_173, [], Busybox, NO_OUTPUT, false, None),
    server!("luksa/website-controller", 2_208_410, [], Busybox, NO_OUTPUT, false, None),
    server!("luksa/memoryhog", 252_947_001, [8080], Coreutils, NO_OUTPUT, false, None),
    server!("jonbaier/node-express-info", 259_510_066, [80], Coreutils, NO_OUTPUT, false, None),
    server!("gcr.io/kuar-demo/kuard-amd64", 11_014_567, [8080], Busybox, NO_OUTPUT, true, None),
    server!("kuard-amd64", 11_014_567, [8080], Busybox, NO_OUTPUT, true, None),
    server!("bitnami/apache", 94_406_781, [8080, 8443], Coreutils, NO_OUTPUT, true, None),
    server!("gcr.io/google-samples/kubernetes-bootcamp", 80_328_012, [8080], Coreutils, &["Kubernetes Bootcamp App Started At: {iso_time} | Running On:  {hostname} "], false, None),
    server!("packtworkshops/the-kubernetes-workshop", 38_294_830, [8080], Busybox, NO_OUTPUT, true, None),
    server!("registry.k8s.io/coredns/coredns", 20_939_036, [53, 8080, 8181, 9153], Coreutils, COREDNS_START, true, None),
    server!("hashicorp/http-echo", 3_536_384, [5678], Coreutils, HTTP_ECHO_START, true, None),
    server!("registry.k8s.io/hpa-example", 181_012_337, [80], Coreutils, HPA_EXAMPLE_START, true, None),
    server!("k8s.gcr.io/hpa-example", 181_012_337, [80], Coreutils, HPA_EXAMPLE_START, true, None),
    server!("registry.k8s.io/ingress-nginx/controller", 105_210_848, [80, 443, 8443, 10254], Busybox, INGRESS_NGINX_START, true, None),
    script!("registry.k8s.io/ingress-nginx/kube-webhook-certgen", 25_340_209, Busybox, "echo '{\"level\":\"info\",\"msg\":\"creating new secret\",\"source\":\"cmd/create.go:28\"}'", [], true),
    script!("curlimages/curl", 10_314_829, Busybox, "sh", [], true),
    server!("registry.k8s.io/e2e-test-images/agnhost", 51_398_120, [], Coreutils, NO_OUTPUT, true, None),
    script!("nicolaka/netshoot", 209_112_533, Coreutils, "bash", [], true),
];

/// Variants whose behaviour depends on the tag.
fn tag_variant(repository: &str, tag: &str) -> Option<CatalogueImage> {
    match (repository, tag) {
        ("luksa/fortune", "args") => Some(script!("luksa/fortune", 71_433_112, Coreutils, FORTUNE_ARGS, ["10"], false)),
        ("luksa/fortune", "env") => Some(script!("luksa/fortune", 71_433_208, Coreutils, FORTUNE_ENV, [], false)),
        ("luksa/kubia", "v3") => Some(server!("luksa/kubia", 252_946_777, [8080], Coreutils, KUBIA_START, false, Some(4))),
        ("nginx", t) if t.contains("alpine") => Some(server!("nginx", 21_219_873, [80], Busybox, NGINX_START, true, None)),
        _ => None,
    }
}

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    /// As written, without tag: `nginx`, `luksa/kubia`, `registry.k8s.io/pause`.
    pub repository: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl ImageName {
    /// `docker.io/library/nginx` for Docker Hub short names.
    pub fn canonical_repository(&self) -> String {
        let first = self.repository.split('/').next().unwrap_or("");
        let has_registry = self.repository.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
        if has_registry {
            self.repository.clone()
        } else if self.repository.contains('/') {
            format!("docker.io/{}", self.repository)
        } else {
            format!("docker.io/library/{}", self.repository)
        }
    }
    /// The repository without `docker.io/` and `library/`, as Docker names it.
    pub fn short_repository(&self) -> String {
        let r = self.repository.strip_prefix("docker.io/").unwrap_or(&self.repository);
        r.strip_prefix("library/").unwrap_or(r).to_string()
    }
    pub fn canonical(&self) -> String {
        format!("{}:{}", self.canonical_repository(), self.tag)
    }
    pub fn short(&self) -> String {
        format!("{}:{}", self.short_repository(), self.tag)
    }
}

/// Parses an image reference as the kubelet's `applyDefaultImageTag` does,
/// with its error message for names a registry refuses.
pub fn parse_image(image: &str) -> Result<ImageName, String> {
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

/// The catalogue entry for an image, if the simulated registry knows it.
pub fn lookup(name: &ImageName) -> Option<CatalogueImage> {
    let short = name.short_repository();
    if let Some(v) = tag_variant(&short, &name.tag) {
        return Some(v);
    }
    CATALOGUE
        .iter()
        .find(|c| c.repository == short || c.repository == name.repository || short.ends_with(&format!("/{}", c.repository)))
        .map(|c| CatalogueImage { ..*c })
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

/// Why the registry refuses a pull, if it does, in the runtime's words.
pub fn pull_failure(name: &ImageName, docker: bool, has_pull_secrets: bool) -> Option<String> {
    let repo = name.short_repository();
    let repo_missing = MISSING_MARKERS.iter().any(|m| repo.contains(m)) || (repo.contains("private") && !has_pull_secrets);
    let tag_missing = MISSING_MARKERS.iter().any(|m| name.tag.contains(m));
    if docker {
        if repo_missing {
            return Some(format!(
                "Error response from daemon: pull access denied for {repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
            ));
        }
        if tag_missing {
            return Some(format!("Error response from daemon: manifest for {} not found: manifest unknown: manifest unknown", name.short()));
        }
    } else {
        let full = name.canonical();
        if repo_missing {
            return Some(format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
            ));
        }
        if tag_missing {
            return Some(format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
            ));
        }
    }
    None
}

/// A stable content digest for an image: real digests do not depend on
/// which cluster pulls them.
pub fn digest_of(name: &ImageName) -> String {
    if let Some(d) = &name.digest {
        return d.clone();
    }
    format!("sha256:{}", stable_hex(&name.canonical(), 64))
}

/// Deterministic hex of `len` digits derived from `seed` (FNV-1a chained).
pub fn stable_hex(seed: &str, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    while out.len() < len {
        h ^= out.len() as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn naming_rule_decides_pull_failures() {
        let n = parse_image("nginx:doesnotexist").unwrap();
        assert!(pull_failure(&n, false, false).unwrap().contains("code = NotFound"));
        let n = parse_image("doesnotexist/app").unwrap();
        assert!(pull_failure(&n, true, false).unwrap().starts_with("Error response from daemon: pull access denied for doesnotexist/app"));
        assert!(pull_failure(&parse_image("nginx:1.25").unwrap(), false, false).is_none());
        assert!(pull_failure(&parse_image("username/private:tag").unwrap(), false, true).is_none());
    }

    #[test]
    fn catalogue_covers_seed_images() {
        for image in ["nginx", "nginx:alpine", "busybox", "alpine", "luksa/kubia", "luksa/fortune:env", "luksa/batch-job", "redis", "httpd", "mongo"] {
            assert!(lookup(&parse_image(image).unwrap()).is_some(), "{image}");
        }
        assert_eq!(size_of(&parse_image("nginx").unwrap()), 72_188_133);
    }
}
