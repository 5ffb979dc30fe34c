//! The kubelet's volume manager: sets up a pod's volumes on the node's
//! disk before its sandbox starts, refreshes the ones projected from API
//! objects, and builds each container's mounts (`makeMounts`).
//!
//! Where data lives (paths on the node's disk):
//! - `emptyDir`, `configMap`, `secret`, `downwardAPI`, `projected`:
//!   `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`,
//!   removed with the pod;
//! - `hostPath`: its own path;
//! - a PersistentVolumeClaim: its volume's `hostPath.path` or `local.path`
//!   (a volume type this node cannot serve fails or is refused: `Unserved`),
//!   which outlives the pods that use it.
//!
//! Projected volumes (`configMap`, `secret`, `downwardAPI`, `projected`) are
//! written as the kubelet's AtomicWriter writes them: a timestamped
//! directory, a `..data` link to it, and one link per top-level name. They
//! are read-only in the container. On each pod's periodic sync (every 60 to
//! 90 s) their contents are recomputed and, if changed, swapped in at once;
//! a `subPath` mount keeps the file it was started with.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, KeyToPath, Volume};
use crate::engine::api::pod::Pod;
use k8s_openapi::jiff::{tz::TimeZone, Timestamp};

use super::container_fs::{self as cfs, Files, Mount, MountKind, MountSource, Mounts, RootFs};
use super::env;
use super::filesystem::{join, normalize, Content, Errno, Fs, Inode, Kind};
use super::object_cache::ObjectCache;
use super::runtime::wall_secs;
use crate::engine::api::{find_resource, Object};
use crate::engine::apiserver::ApiServer;
use crate::engine::sim::clock::VirtualTime;

pub const PODS_DIR: &str = "/var/lib/kubelet/pods";
/// The cluster's DNS Service (kube-dns) address.
pub const CLUSTER_DNS: &str = "10.96.0.10";
const MOUNT_BACKOFF_INITIAL_MS: u64 = 500;
/// `maxDurationBeforeRetry` of the operation executor: 2m2s.
const MOUNT_BACKOFF_MAX_MS: u64 = 122_000;
/// Token lifetime a bound service account token gets (`--service-account-extend-token-expiration`).
const EXTENDED_TOKEN_SECONDS: i64 = 365 * 24 * 3600;

/// `{PODS_DIR}/{uid}`, in a string of its exact size (not [`join`], which
/// would give `PODS_DIR` itself for an empty uid).
pub fn pod_dir(uid: &str) -> String {
    let mut path = String::with_capacity(PODS_DIR.len() + 1 + uid.len());
    path.push_str(PODS_DIR);
    path.push('/');
    path.push_str(uid);
    path
}

fn plugin_of(v: &Volume) -> &'static str {
    if v.config_map.is_some() {
        "kubernetes.io~configmap"
    } else if v.secret.is_some() {
        "kubernetes.io~secret"
    } else if v.downward_api.is_some() {
        "kubernetes.io~downward-api"
    } else if v.projected.is_some() {
        "kubernetes.io~projected"
    } else if v.empty_dir.is_some() {
        "kubernetes.io~empty-dir"
    } else if v.nfs.is_some() {
        "kubernetes.io~nfs"
    } else if v.csi.is_some() {
        "kubernetes.io~csi"
    } else if v.git_repo.is_some() {
        "kubernetes.io~git-repo"
    } else {
        "kubernetes.io~unknown"
    }
}

/// Where a volume set up on the node is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum MountedAt {
    /// `<pod's directory>/volumes/<plugin>/<volume name>`, made from those
    /// when asked: a text kept for it would be about 100 bytes a pod (the
    /// token volume's), at 150,000 pods 17 MB.
    InPod { plugin: &'static str },
    /// Elsewhere on the disk: a hostPath's, a PersistentVolume's.
    Disk(String),
}

/// A volume set up on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mounted {
    at: MountedAt,
    /// Projected from API objects (written atomically, read-only).
    pub atomic: bool,
    /// Backed by memory: shown as `tmpfs`.
    pub tmpfs: bool,
    pub read_only: bool,
    /// A digest of what was last written, to tell whether a refresh changes anything.
    payload: u64,
    /// When the service account token in it was issued.
    token_issued: Option<VirtualTime>,
}

/// `<pod's directory>/volumes/<plugin>/<volume name>`.
fn volume_dir(uid: &str, plugin: &str, name: &str) -> String {
    [pod_dir(uid).as_str(), "/volumes/", plugin, "/", name].concat()
}

impl Mounted {
    /// Its directory (or file) on the node's disk, for the pod with `uid`
    /// and the volume `name` (as [`PodVolumes`] holds it).
    fn path(&self, uid: &str, name: &str) -> std::borrow::Cow<'_, str> {
        match &self.at {
            MountedAt::InPod { plugin } => volume_dir(uid, plugin, name).into(),
            MountedAt::Disk(path) => path.as_str().into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    retry_at: VirtualTime,
    backoff_ms: u64,
    /// The attempt under way hangs until `retry_at`, when it fails.
    hanging: bool,
}

/// Why a volume could not be set up.
#[derive(Debug)]
enum SetUpError {
    /// Failed at once; the message is worded by [`mount_all`].
    Failed(String),
    /// The attempt hangs for `takes_ms` before it fails with `message`
    /// (a mount that times out, a wait for an attachment that never comes).
    Hangs { message: String, takes_ms: u64 },
}

impl From<String> for SetUpError {
    fn from(message: String) -> Self {
        SetUpError::Failed(message)
    }
}

/// `podAttachAndMountTimeout`: how long the kubelet's pod sync waits for
/// its volumes before it gives up with `Unable to attach or mount volumes`.
const ATTACH_AND_MOUNT_TIMEOUT_MS: u64 = 123_000;
/// How long `mount -t nfs` to a server that never answers takes to fail
/// (mount.nfs retries a foreground mount for two minutes).
const NFS_MOUNT_TIMEOUT_MS: u64 = 120_000;

/// The kubelet's `mount` failure of an NFS export, as mount-utils words
/// it: no NFS server runs here, so a server named by address never
/// answers (the mount hangs, then times out) and a name does not resolve
/// on the node (it fails at once).
fn nfs_mount_failure(server: &str, path: &str, target: &str, read_only: bool, options: &[String], volume: Option<&str>) -> SetUpError {
    // `JoinMountOptions`: the volume's options and the plugin's, as a sorted set.
    let mut options: std::collections::BTreeSet<&str> = options.iter().map(String::as_str).filter(|o| !o.is_empty()).collect();
    if read_only {
        options.insert("ro");
    }
    let options: Vec<&str> = options.into_iter().collect();
    let host = if server.contains(':') { format!("[{server}]") } else { server.to_string() };
    let option_args = if options.is_empty() { String::new() } else { format!("-o {} ", options.join(",")) };
    let address = server.parse::<std::net::IpAddr>().is_ok();
    let output = if address { "mount.nfs: Connection timed out".to_string() } else { format!("mount.nfs: Failed to resolve server {server}: Name or service not known") };
    let mut message = format!("mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs {option_args}{host}:{path} {target}\nOutput: {output}\n");
    if let Some(volume) = volume {
        message = format!("MountVolume.SetUp failed for volume \"{volume}\" : {message}");
    }
    if address {
        SetUpError::Hangs { message, takes_ms: NFS_MOUNT_TIMEOUT_MS }
    } else {
        SetUpError::Failed(message)
    }
}

/// One pod's volumes.
#[derive(Clone, Debug, Default)]
pub struct PodVolumes {
    /// By volume name, in the order they were set up: a pod has few, and a
    /// map's node would hold room for eleven for every pod on the node.
    mounted: Vec<(String, Mounted)>,
    failures: BTreeMap<String, Failure>,
    /// When the pod's periodic sync next refreshes its projected volumes.
    pub next_refresh: Option<VirtualTime>,
}

impl PodVolumes {
    /// The earliest retry of a failed mount.
    pub fn next_retry(&self) -> Option<VirtualTime> {
        self.failures.values().map(|f| f.retry_at).min()
    }

    pub fn all_mounted(&self, pod: &Pod) -> bool {
        pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).all(|v| self.mounted(pod.volume_name(&v.name)).is_some())
    }

    /// The volume `name`, once set up.
    fn mounted(&self, name: &str) -> Option<&Mounted> {
        self.mounted.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    fn mounted_mut(&mut self, name: &str) -> Option<&mut Mounted> {
        self.mounted.iter_mut().find(|(n, _)| n == name).map(|(_, m)| m)
    }
}

/// What setting up volumes needs besides the pod.
pub struct VolumeContext<'a> {
    pub configmaps: &'a ObjectCache,
    pub secrets: &'a ObjectCache,
    pub api: &'a ApiServer,
    pub disk: &'a mut Fs,
    pub now: VirtualTime,
    pub rng: &'a mut fastrand::Rng,
    pub node: &'a str,
    pub host_ip: &'a str,
    /// Node allocatable: (cpu millis, memory bytes, ephemeral-storage bytes).
    pub allocatable: (i128, i128, i128),
}

/// One file of an API-projected volume.
#[derive(Debug)]
struct PayloadFile {
    /// Its path within the volume.
    path: String,
    content: PayloadContent,
    mode: u32,
}

#[derive(Debug)]
enum PayloadContent {
    Text(String),
    /// A service account token, made on read from its claims (the token is
    /// this pod's alone, 1.2 KB, and rarely read).
    Token(std::rc::Rc<TokenSource>),
}

impl PayloadFile {
    fn new(path: String, content: String, mode: u32) -> Self {
        PayloadFile { path, content: PayloadContent::Text(content), mode }
    }
}

type Payload = Vec<PayloadFile>;

fn mode_of(item: Option<i32>, default: Option<i32>) -> u32 {
    item.or(default).unwrap_or(0o644).clamp(0, 0o777) as u32
}

fn keyed_payload(
    data: Vec<(String, String)>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: Option<i32>,
    optional: bool,
    missing_key: &dyn Fn(&str) -> String,
) -> Result<Payload, String> {
    let mut out = Vec::new();
    match items.filter(|i| !i.is_empty()) {
        None => {
            for (k, v) in data {
                out.push(PayloadFile::new(k, v, mode_of(None, default_mode)));
            }
        }
        Some(items) => {
            for item in items {
                match data.iter().find(|(k, _)| *k == item.key) {
                    Some((_, v)) => out.push(PayloadFile::new(item.path.clone(), v.clone(), mode_of(item.mode, default_mode))),
                    None if optional => continue,
                    None => return Err(missing_key(&item.key)),
                }
            }
        }
    }
    Ok(out)
}

fn object_data(obj: &Object) -> Vec<(String, String)> {
    match obj {
        Object::ConfigMap(cm) => {
            let mut all: Vec<(String, String)> = cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
            all.extend(cm.binary_data.iter().flatten().map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned())));
            all.sort_stable();
            all
        }
        Object::Secret(s) => s.data.iter().flatten().map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned())).collect(),
        _ => vec![],
    }
}

fn not_found(e: &str) -> bool {
    e.ends_with(" not found") && (e.starts_with("configmap \"") || e.starts_with("secret \""))
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a bound service account token says (its JWT claims), borrowed:
/// `pkg/serviceaccount/claims.go`'s `Claims`.
#[derive(Clone, Copy)]
pub struct TokenClaims<'a> {
    pub audiences: &'a [&'a str],
    pub iat: i64,
    pub exp: i64,
    pub jti: &'a str,
    pub namespace: &'a str,
    /// The objects it is bound to, each (name, uid).
    pub node: Option<(&'a str, &'a str)>,
    pub pod: Option<(&'a str, &'a str)>,
    pub secret: Option<(&'a str, &'a str)>,
    pub service_account: &'a str,
    pub service_account_uid: &'a str,
    /// When a token given a year instead of 3607 s should have expired.
    pub warn_after: Option<i64>,
}

/// The claims as `serde_json` writes the object `{"aud": [..], "exp": ..,
/// ..}` (keys in order, no spaces, its string escapes), written straight
/// into bytes: a token is made for every pod, and a JSON value tree of
/// maps was most of its cost.
fn claims_json(c: &TokenClaims) -> Vec<u8> {
    use std::io::Write;
    fn text(out: &mut Vec<u8>, s: &str) {
        // Writing to a vector cannot fail; the escapes are serde_json's own.
        let _ = serde_json::to_writer(&mut *out, s);
    }
    /// `"<key>":{"name":…,"uid":…}`.
    fn named(out: &mut Vec<u8>, key: &str, name: &str, uid: &str) {
        text(out, key);
        out.extend_from_slice(b":{\"name\":");
        text(out, name);
        out.extend_from_slice(b",\"uid\":");
        text(out, uid);
        out.push(b'}');
    }
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"aud\":[");
    for (i, audience) in c.audiences.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        text(&mut out, audience);
    }
    let _ = write!(out, "],\"exp\":{},\"iat\":{},\"iss\":\"https://kubernetes.default.svc.cluster.local\",\"jti\":", c.exp, c.iat);
    text(&mut out, c.jti);
    out.extend_from_slice(b",\"kubernetes.io\":{\"namespace\":");
    text(&mut out, c.namespace);
    // go-jose writes the claims as a map: keys sorted.
    for (key, bound) in [("node", c.node), ("pod", c.pod), ("secret", c.secret)] {
        if let Some((name, uid)) = bound {
            out.push(b',');
            named(&mut out, key, name, uid);
        }
    }
    out.push(b',');
    named(&mut out, "serviceaccount", c.service_account, c.service_account_uid);
    if let Some(warn_after) = c.warn_after {
        let _ = write!(out, ",\"warnafter\":{warn_after}");
    }
    let _ = write!(out, "}},\"nbf\":{},\"sub\":", c.iat);
    text(&mut out, &format!("system:serviceaccount:{}:{}", c.namespace, c.service_account));
    out.push(b'}');
    out
}

/// What a pod's bound service account token is made of: its claims' texts
/// (audience, namespace, node, pod, pod uid, service account, service
/// account uid) and when it was issued. The texts every pod of one service
/// account on the node has are kept once for all of them (`shared`, see
/// [`shared_content`]); the pod's own two follow in `own`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TokenSource {
    iat: i64,
    /// Audience, namespace, node, service account, service account uid.
    shared: std::rc::Rc<str>,
    /// Pod, pod uid.
    own: Box<str>,
    /// Where each text but the last of `shared` ends in it, then where the
    /// pod's name ends in `own`.
    ends: [u32; 5],
}

/// Which of `TokenSource`'s texts each claim is: (in `own`, index there).
const TOKEN_PARTS: [(bool, usize); 7] = [(false, 0), (false, 1), (false, 2), (true, 0), (true, 1), (false, 3), (false, 4)];

impl TokenSource {
    fn new(pod: &Pod, vc: &VolumeContext, audience: Option<&str>, issued: VirtualTime) -> Self {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let sa = pod.spec.as_ref().and_then(|s| s.service_account_name.as_deref()).unwrap_or("default");
        let sa_object = vc.api.get(crate::engine::api::ids::service_accounts(), ns, sa).ok();
        let parts = [
            audience.unwrap_or("https://kubernetes.default.svc.cluster.local"),
            ns,
            vc.node,
            pod.metadata.name.as_deref().unwrap_or(""),
            pod.metadata.uid.as_deref().unwrap_or(""),
            sa,
            sa_object.as_deref().and_then(|o| o.meta().uid.as_deref()).unwrap_or(""),
        ];
        Self::of(wall_secs(issued), parts)
    }

    /// From the claims' texts in [`TokenSource`]'s order.
    fn of(iat: i64, parts: [&str; 7]) -> Self {
        let end = |text: &str| u32::try_from(text.len()).unwrap_or(u32::MAX);
        let sized = |in_own: bool| TOKEN_PARTS.iter().zip(parts).filter(|((own, _), _)| *own == in_own).map(|(_, part)| part.len()).sum::<usize>();
        let mut shared = String::with_capacity(sized(false));
        let mut own = String::with_capacity(sized(true));
        let mut ends = [0u32; 5];
        for ((in_own, at), part) in TOKEN_PARTS.into_iter().zip(parts) {
            if in_own {
                own.push_str(part);
                if at == 0 {
                    ends[4] = end(&own);
                }
            } else {
                shared.push_str(part);
                // The last shared text's end is `shared`'s own.
                if at < 4 {
                    ends[at] = end(&shared);
                }
            }
        }
        TokenSource { iat, shared: shared_content(&shared), own: own.into_boxed_str(), ends }
    }

    fn part(&self, i: usize) -> &str {
        let Some(&(in_own, at)) = TOKEN_PARTS.get(i) else { return "" };
        let (text, ends): (&str, &[u32]) = if in_own { (&self.own, &self.ends[4..]) } else { (&self.shared, &self.ends[..4]) };
        let start = if at == 0 { 0 } else { ends.get(at - 1).map_or(text.len(), |&e| e as usize) };
        let end = ends.get(at).map_or(text.len(), |&e| e as usize);
        text.get(start..end).unwrap_or("")
    }
}

impl super::filesystem::MadeText for TokenSource {
    fn text(&self) -> String {
        let [audience, namespace, node, pod, pod_uid, service_account, service_account_uid] = std::array::from_fn(|i| self.part(i));
        pod_service_account_token(self.iat, audience, namespace, (node, pod, pod_uid), (service_account, service_account_uid))
    }
}

/// A pod's own token, as the kubelet asks for it (3607 s, extended to a
/// year with a warning after 3607 s): its `jti` and node uid derived.
fn pod_service_account_token(iat: i64, audience: &str, namespace: &str, (node, pod, pod_uid): (&str, &str, &str), (service_account, service_account_uid): (&str, &str)) -> String {
    let seed = format!("{pod_uid}/{iat}");
    let hex = super::images::stable_hex(&seed, 32);
    let jti = format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
    let node_uid = super::images::stable_hex(node, 8);
    let claims = TokenClaims {
        audiences: &[audience],
        iat,
        exp: iat + EXTENDED_TOKEN_SECONDS,
        jti: &jti,
        namespace,
        node: Some((node, &node_uid)),
        pod: Some((pod, pod_uid)),
        secret: None,
        service_account,
        service_account_uid,
        warn_after: Some(iat + 3607),
    };
    service_account_token(&claims, &seed)
}

/// A bound service account token as the API server issues it (a JWT signed
/// by the cluster; the signature here is a stand-in of the right length,
/// drawn from `seed`).
pub fn service_account_token(claims: &TokenClaims, seed: &str) -> String {
    use base64::Engine;
    let claims = claims_json(claims);
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    TOKEN_HEADER.with(|header| {
        // header.claims.signature, encoded into the one string the volume keeps.
        let mut token = String::with_capacity(header.len() + claims.len().div_ceil(3) * 4 + SIGNATURE_CHARS + 2);
        token.push_str(header);
        token.push('.');
        engine.encode_string(&claims, &mut token);
        token.push('.');
        let start = token.len();
        engine.encode_string(super::images::stable_hex(&format!("signature/{seed}"), 256).as_bytes(), &mut token);
        token.truncate(start + SIGNATURE_CHARS.min(token.len() - start));
        token
    })
}

/// A legacy service account token, as the tokens controller writes it into
/// a `kubernetes.io/service-account-token` Secret (`LegacyClaims`: no
/// audience, expiry or pod; the claims' keys in go-jose's sorted order),
/// signed by the same cluster key as bound tokens (a stand-in signature).
pub fn legacy_service_account_token(namespace: &str, secret: &str, service_account: &str, service_account_uid: &str) -> String {
    let claims = serde_json::json!({
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret,
        "kubernetes.io/serviceaccount/service-account.name": service_account,
        "kubernetes.io/serviceaccount/service-account.uid": service_account_uid,
        "sub": format!("system:serviceaccount:{namespace}:{service_account}"),
    });
    let seed = format!("legacy/{namespace}/{secret}/{service_account_uid}");
    let signature: String = base64url(super::images::stable_hex(&format!("signature/{seed}"), 256).as_bytes()).chars().take(SIGNATURE_CHARS).collect();
    TOKEN_HEADER.with(|header| format!("{header}.{}.{signature}", base64url(claims.to_string().as_bytes())))
}

/// Characters of a token's signature (an RS256 signature, 256 bytes, in base64url).
const SIGNATURE_CHARS: usize = 342;

thread_local! {
    /// Every token's header (the same cluster signing key signs them all), encoded.
    static TOKEN_HEADER: String = {
        let kid: String = base64url(super::images::stable_hex("cluster-signing-key", 32).as_bytes()).chars().take(43).collect();
        base64url(serde_json::json!({"alg": "RS256", "kid": kid}).to_string().as_bytes())
    };
}

/// What an API-projected volume holds now, or why it cannot be set up.
fn payload_of(pod: &Pod, v: &Volume, vc: &VolumeContext, token_issued: VirtualTime) -> Result<Payload, String> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(src) = &v.config_map {
        let optional = src.optional.unwrap_or(false);
        let data = match vc.configmaps.get(&ns, &src.name) {
            Ok(obj) => object_data(&obj),
            Err(e) if optional && not_found(&e) => vec![],
            Err(e) => return Err(e),
        };
        return keyed_payload(data, src.items.as_ref(), src.default_mode, optional, &|k| format!("configmap references non-existent config key: {k}"));
    }
    if let Some(src) = &v.secret {
        let optional = src.optional.unwrap_or(false);
        let name = src.secret_name.clone().unwrap_or_default();
        let data = match vc.secrets.get(&ns, &name) {
            Ok(obj) => object_data(&obj),
            Err(e) if optional && not_found(&e) => vec![],
            Err(e) => return Err(e),
        };
        return keyed_payload(data, src.items.as_ref(), src.default_mode, optional, &|k| format!("references non-existent secret key: {k}"));
    }
    if let Some(src) = &v.downward_api {
        return downward_payload(pod, src.items.as_deref().unwrap_or(&[]), src.default_mode, vc);
    }
    if let Some(src) = &v.projected {
        // Most sources give one file (the token, `ca.crt`, the namespace).
        let mut out = Vec::with_capacity(src.sources.as_ref().map_or(0, Vec::len));
        let mut errors = Vec::new();
        for s in src.sources.iter().flatten() {
            if let Some(cm) = &s.config_map {
                let optional = cm.optional.unwrap_or(false);
                match vc.configmaps.get(&ns, &cm.name) {
                    Ok(obj) => match keyed_payload(object_data(&obj), cm.items.as_ref(), src.default_mode, optional, &|k| format!("configmap references non-existent config key: {k}")) {
                        Ok(p) => out.extend(p),
                        Err(e) => errors.push(e),
                    },
                    Err(e) if optional && not_found(&e) => {}
                    Err(e) => errors.push(e),
                }
            }
            if let Some(sec) = &s.secret {
                let optional = sec.optional.unwrap_or(false);
                match vc.secrets.get(&ns, &sec.name) {
                    Ok(obj) => match keyed_payload(object_data(&obj), sec.items.as_ref(), src.default_mode, optional, &|k| format!("references non-existent secret key: {k}")) {
                        Ok(p) => out.extend(p),
                        Err(e) => errors.push(e),
                    },
                    Err(e) if optional && not_found(&e) => {}
                    Err(e) => errors.push(e),
                }
            }
            if let Some(d) = &s.downward_api {
                match downward_payload(pod, d.items.as_deref().unwrap_or(&[]), src.default_mode, vc) {
                    Ok(p) => out.extend(p),
                    Err(e) => errors.push(e),
                }
            }
            if let Some(t) = &s.service_account_token {
                out.push(PayloadFile {
                    path: t.path.clone(),
                    content: PayloadContent::Token(std::rc::Rc::new(TokenSource::new(pod, vc, t.audience.as_deref(), token_issued))),
                    mode: mode_of(None, src.default_mode),
                });
            }
        }
        if !errors.is_empty() {
            return Err(if errors.len() == 1 { errors.remove(0) } else { format!("[{}]", errors.join(", ")) });
        }
        return Ok(out);
    }
    Ok(vec![])
}

fn downward_payload(pod: &Pod, items: &[k8s_openapi::api::core::v1::DownwardAPIVolumeFile], default_mode: Option<i32>, vc: &VolumeContext) -> Result<Payload, String> {
    let pod_ip = pod.status.as_ref().and_then(|s| s.pod_ip()).map(std::borrow::Cow::into_owned).unwrap_or_default();
    let mut out = Vec::new();
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            env::field_value(pod, f, &pod_ip, vc.host_ip)?
        } else if let Some(r) = &item.resource_field_ref {
            let container = pod.spec.as_ref().and_then(|s| s.containers.first()).cloned().unwrap_or_default();
            env::resource_value(r, pod, &container, vc.allocatable)?
        } else {
            continue;
        };
        out.push(PayloadFile::new(item.path.clone(), value, mode_of(item.mode, default_mode)));
    }
    Ok(out)
}

/// A digest of a payload, cheaper to keep than the payload (compared only
/// with digests this process made: FxHash, eight bytes at a step).
fn digest(payload: &Payload) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for f in payload {
        h.write(f.path.as_bytes());
        h.write_u8(0);
        match &f.content {
            PayloadContent::Text(text) => {
                h.write_u8(0);
                h.write(text.as_bytes());
            }
            // The same claims make the same token.
            PayloadContent::Token(token) => {
                h.write_u8(1);
                h.write_i64(token.iat);
                h.write(token.shared.as_bytes());
                h.write_u8(0);
                h.write(token.own.as_bytes());
                for end in token.ends {
                    h.write_u32(end);
                }
            }
        }
        h.write_u8(0);
        h.write_u32(f.mode);
    }
    h.finish()
}

/// Values many containers share, kept once and found by a hash the caller
/// makes (a key only: a value is compared before it is shared), each held
/// weakly. Dead entries are pruned when the map doubles past its size
/// after the last prune, so with many live values (every pod's own token)
/// an insert does not scan the whole map. Hashed by its key (itself a
/// hash): it is only looked up and pruned, never iterated in an order
/// anyone sees.
pub(super) struct SharedByHash<T: ?Sized> {
    by_hash: rustc_hash::FxHashMap<u64, std::rc::Weak<T>>,
    prune_at: usize,
    /// Below this many entries the map is never pruned.
    floor: usize,
}

impl<T: ?Sized> SharedByHash<T> {
    pub(super) const fn new(floor: usize) -> Self {
        SharedByHash { by_hash: std::collections::HashMap::with_hasher(rustc_hash::FxBuildHasher), prune_at: floor, floor }
    }

    /// The value under `hash` equal to `value` (as `same` compares them),
    /// else the one `make` makes of it.
    pub(super) fn share<V>(&mut self, hash: u64, value: V, same: impl FnOnce(&T, &V) -> bool, make: impl FnOnce(V) -> std::rc::Rc<T>) -> std::rc::Rc<T> {
        if let Some(found) = self.by_hash.get(&hash).and_then(std::rc::Weak::upgrade).filter(|found| same(found, &value)) {
            return found;
        }
        if self.by_hash.len() > self.prune_at {
            self.by_hash.retain(|_, w| w.strong_count() > 0);
            self.prune_at = (self.by_hash.len() * 2).max(self.floor);
        }
        let made = make(value);
        self.by_hash.insert(hash, std::rc::Rc::downgrade(&made));
        made
    }
}

const SHARED_PRUNE_MIN: usize = 4096;

thread_local! {
    /// Text many pods share (a namespace's `ca.crt`, an image's start-up lines).
    static SHARED: std::cell::RefCell<SharedByHash<str>> = const { std::cell::RefCell::new(SharedByHash::new(SHARED_PRUNE_MIN)) };
}

/// The same text as an earlier volume file or log line, shared rather than copied.
pub(super) fn shared_content(content: &str) -> std::rc::Rc<str> {
    SHARED.with(|shared| shared.borrow_mut().share(text_hash(content), content, |rc, content| rc == *content, std::rc::Rc::from))
}

/// A text's key among shared ones (FxHash: compared only with this process's own).
fn text_hash(text: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(text.as_bytes());
    h.finish()
}

/// The directory an atomic write puts its files in, as the kubelet names
/// it: `..`, the time as `%Y_%m_%d_%H_%M_%S.`, then a random number.
/// Written digit by digit: formatting the time was a tenth of a volume's
/// setup, and every pod sets one up.
fn data_dir_name(secs: i64, random: u32) -> String {
    use crate::engine::digits::{decimal_digits, push_digits};
    let t = TimeZone::UTC.to_datetime(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH));
    let mut name = String::with_capacity(32);
    name.push_str("..");
    let fields = [(i64::from(t.year()), 4), (t.month().into(), 2), (t.day().into(), 2), (t.hour().into(), 2), (t.minute().into(), 2), (t.second().into(), 2)];
    for (i, (n, width)) in fields.into_iter().enumerate() {
        if i > 0 {
            name.push('_');
        }
        // The clock starts in 2026: no field is negative.
        let n = u128::try_from(n).unwrap_or(0);
        for _ in decimal_digits(n)..width {
            name.push('0');
        }
        push_digits(&mut name, n, 10);
    }
    name.push('.');
    push_digits(&mut name, u128::from(random), 10);
    name
}

/// The kubelet's AtomicWriter: writes `payload` under `dir` behind a
/// `..data` link so readers see the old or the new contents, never a mix.
fn atomic_write(disk: &mut Fs, dir: &str, payload: &Payload, now: VirtualTime, rng: &mut fastrand::Rng) {
    let secs = wall_secs(now);
    let ts = data_dir_name(secs, rng.u32(1_000_000_000..u32::MAX));
    let ts_dir = join(dir, &ts);
    disk.insert(&ts_dir, Inode::dir(0o755, secs));
    // The files put in from the new directory, not each walked to from `/`.
    disk.insert_all_under(
        &ts_dir,
        payload.iter().map(|f| {
            let content = match &f.content {
                PayloadContent::Text(text) => Content::Text(shared_content(text)),
                PayloadContent::Token(token) => Content::Made(token.clone()),
            };
            (f.path.as_str(), Inode::new(Kind::File(content), f.mode, secs))
        }),
    );
    let old_target = match disk.get(&join(dir, "..data")).map(|i| i.kind.clone()) {
        Some(Kind::Symlink(t)) => Some(t),
        _ => None,
    };
    let tops: std::collections::BTreeSet<String> = crate::engine::sort::insert_all(payload.iter().map(|f| f.path.split('/').next().unwrap_or("").to_string()).filter(|p| !p.is_empty()));
    let links = tops.iter().map(|top| (top.as_str(), Inode::symlink(&["..data/", top.as_str()].concat(), secs)));
    disk.insert_all_under(dir, std::iter::once(("..data", Inode::symlink(&ts, secs))).chain(links));
    let stale: Vec<String> = disk
        .children_iter(dir)
        .filter(|(name, i)| !name.starts_with("..") && matches!(i.kind, Kind::Symlink(_)) && !tops.contains(*name))
        .map(|(name, _)| name.to_string())
        .collect();
    for name in stale {
        disk.remove(&join(dir, &name));
    }
    if let Some(old) = old_target.filter(|o| **o != *ts) {
        disk.remove_tree(&join(dir, &old));
    }
}

/// The pod's `fsGroup`, which volumes that manage ownership are given to.
fn fs_group(pod: &Pod) -> Option<u32> {
    pod.spec.as_ref()?.security_context.as_ref()?.fs_group.and_then(|g| u32::try_from(g).ok())
}

/// `SetVolumeOwnership`: everything under `dir` goes to group `gid`,
/// readable by it (writable too unless the volume is read-only), each
/// directory set-group-ID so what is made in it joins the group; links
/// change group only.
fn set_volume_ownership(disk: &mut Fs, dir: &str, gid: u32, read_only: bool) {
    let mask = if read_only { 0o440 } else { 0o660 };
    let mut pending = vec![dir.to_string()];
    while let Some(path) = pending.pop() {
        let Some(mut inode) = disk.get(&path).cloned() else { continue };
        inode.gid = gid;
        match inode.kind {
            Kind::Dir => {
                inode.mode |= mask | 0o2110;
                pending.extend(disk.children(&path).into_iter().map(|(name, _)| join(&path, &name)));
            }
            Kind::Symlink(_) => {}
            _ => inode.mode |= mask,
        }
        disk.insert(&path, inode);
    }
}

fn hostpath_setup(disk: &mut Fs, path: &str, kind: &str, secs: i64) -> Result<(), String> {
    let existing = disk.get(path).cloned();
    let is_dir = existing.as_ref().is_some_and(Inode::is_dir);
    let is_file = existing.as_ref().is_some_and(|i| matches!(i.kind, Kind::File(_)));
    match kind {
        "DirectoryOrCreate" => {
            if existing.is_none() {
                disk.mkdir_all(path, 0o755, secs);
            } else if !is_dir {
                return Err(format!("hostPath type check failed: {path} is not a directory"));
            }
        }
        "Directory" if !is_dir => return Err(format!("hostPath type check failed: {path} is not a directory")),
        "FileOrCreate" => {
            if existing.is_none() {
                disk.insert(path, Inode::file("", 0o644, secs));
            } else if !is_file {
                return Err(format!("hostPath type check failed: {path} is not a file"));
            }
        }
        "File" if !is_file => return Err(format!("hostPath type check failed: {path} is not a file")),
        "Socket" => return Err(format!("hostPath type check failed: {path} is not a socket file")),
        "CharDevice" => return Err(format!("hostPath type check failed: {path} is not a character device")),
        "BlockDevice" => return Err(format!("hostPath type check failed: {path} is not a block device")),
        _ => {
            // No type: the runtime creates a missing directory to bind it
            // (the node's root, `/`, always exists).
            if existing.is_none() {
                if path == "/" {
                    disk.insert(path, Inode::dir(0o755, secs));
                } else {
                    disk.mkdir_all(path, 0o755, secs);
                }
            }
        }
    }
    Ok(())
}

/// What a 1.33 kubelet on a kind node does with a volume type it cannot
/// serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unserved {
    /// The in-tree plugin was removed (or, for flexVolume, no driver is
    /// installed): no plugin claims the volume, so the desired state of
    /// world never takes it and the pod's volume wait fails at once.
    NoPlugin,
    /// Migrated to a CSI driver that needs attaching: the attachment no
    /// external attacher makes is waited for until the wait times out.
    NeverAttached,
    /// Migrated to a CSI driver without attaching: the mount finds no such
    /// driver registered with the kubelet.
    NoCsiDriver(&'static str),
    /// Served by a plugin that needs host tools and storage this
    /// simulation has not modelled: refused, not faked.
    NotSimulated(&'static str),
}

/// The volume sources of a pod's volume or a PersistentVolume that a
/// simulated kind node cannot serve (pkg/volume in kubernetes v1.33:
/// removed plugins, CSI migration, iscsi and fc).
macro_rules! unserved_source {
    ($source:expr) => {{
        let s = $source;
        if s.photon_persistent_disk.is_some() || s.scale_io.is_some() || s.flocker.is_some() || s.storageos.is_some() || s.quobyte.is_some() || s.glusterfs.is_some() || s.cephfs.is_some() || s.rbd.is_some() || s.flex_volume.is_some() {
            Some(Unserved::NoPlugin)
        } else if s.aws_elastic_block_store.is_some() || s.gce_persistent_disk.is_some() || s.azure_disk.is_some() || s.cinder.is_some() || s.vsphere_volume.is_some() {
            Some(Unserved::NeverAttached)
        } else if s.azure_file.is_some() {
            Some(Unserved::NoCsiDriver("file.csi.azure.com"))
        } else if s.portworx_volume.is_some() {
            Some(Unserved::NoCsiDriver("pxd.portworx.com"))
        } else if s.iscsi.is_some() {
            Some(Unserved::NotSimulated("iscsi"))
        } else if s.fc.is_some() {
            Some(Unserved::NotSimulated("fc"))
        } else {
            None
        }
    }};
}

/// The failure of an unserved volume: `pod_volume` is its name in the pod,
/// `spec_name` the volume spec's (the PersistentVolume's for a claim).
fn unserved_failure(unserved: Unserved, pod_volume: &str, spec_name: &str) -> SetUpError {
    match unserved {
        // `WaitForAttachAndMount` ends on the populator's pod error
        // (`AddPodToVolume`: "failed to get Plugin from volumeSpec").
        Unserved::NoPlugin => SetUpError::Failed(format!(
            "Unable to attach or mount volumes: unmounted volumes=[{pod_volume}], unattached volumes=[], failed to process volumes=[{pod_volume}]: failed to get Plugin from volumeSpec for volume \"{spec_name}\" err=no volume plugin matched"
        )),
        Unserved::NeverAttached => SetUpError::Hangs {
            message: format!("Unable to attach or mount volumes: unmounted volumes=[{pod_volume}], unattached volumes=[{pod_volume}], failed to process volumes=[]: context deadline exceeded"),
            takes_ms: ATTACH_AND_MOUNT_TIMEOUT_MS,
        },
        Unserved::NoCsiDriver(driver) => SetUpError::Failed(format!(
            "MountVolume.SetUp failed for volume \"{spec_name}\" : kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name {driver} not found in the list of registered CSI drivers"
        )),
        Unserved::NotSimulated(plugin) => SetUpError::Failed(format!(
            "MountVolume.SetUp failed for volume \"{spec_name}\" : {plugin} volumes are not simulated: this node has no {plugin} storage to attach"
        )),
    }
}

/// Where a claim's data lives on this node.
fn claim_path(pod: &Pod, volume_name: &str, claim: &str, read_only: bool, ephemeral: bool, vc: &mut VolumeContext) -> Result<(String, bool), SetUpError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let err = |why: String| format!("error processing PVC {ns}/{claim}: {why}");
    let pvc_rid = find_resource("", "persistentvolumeclaims").ok_or_else(|| err("persistentvolumeclaims are not served".into()))?;
    let pv_rid = find_resource("", "persistentvolumes").ok_or_else(|| err("persistentvolumes are not served".into()))?;
    let pvc = vc.api.get(pvc_rid, &ns, claim).map_err(|e| err(format!("failed to fetch PVC from API server: {}", e.message)))?;
    let Object::PersistentVolumeClaim(pvc) = &*pvc else { return Err(err("unexpected object".into()).into()) };
    let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()).filter(|v| !v.is_empty()).ok_or_else(|| err("PVC is not bound".into()))?;
    if ephemeral {
        crate::engine::controllers::ephemeral_volume::volume_is_for_pod(pod, pvc)?;
    }
    let pv = vc.api.get(pv_rid, "", &volume).map_err(|e| err(format!("failed to fetch PV {volume} from API server: {}", e.message)))?;
    let Object::PersistentVolume(pv) = &*pv else { return Err(err("unexpected object".into()).into()) };
    let spec = pv.spec.clone().unwrap_or_default();
    let secs = wall_secs(vc.now);
    let ro = read_only || spec.access_modes.iter().flatten().all(|m| m == "ReadOnlyMany");
    if let Some(hp) = &spec.host_path {
        let path = normalize("/", &hp.path);
        hostpath_setup(vc.disk, &path, hp.type_.as_deref().unwrap_or(""), secs).map_err(|e| format!("MountVolume.SetUp failed for volume \"{volume}\" : {e}"))?;
        return Ok((path, ro));
    }
    if let Some(local) = &spec.local {
        let path = normalize("/", &local.path);
        if vc.disk.get(&path).is_none() {
            return Err(format!("MountVolume.NewMounter initialization failed for volume \"{volume}\" : path \"{}\" does not exist", local.path).into());
        }
        return Ok((path, ro));
    }
    if spec.csi.is_some() {
        // No CSIDriver object says the driver needs no attaching, so the
        // attach/detach controller waits for an external attacher that no
        // cluster here runs, and the kubelet for the attachment.
        return Err(SetUpError::Hangs {
            message: format!("Unable to attach or mount volumes: unmounted volumes=[{volume_name}], unattached volumes=[{volume_name}], failed to process volumes=[]: context deadline exceeded"),
            takes_ms: ATTACH_AND_MOUNT_TIMEOUT_MS,
        });
    }
    if let Some(unserved) = unserved_source!(&spec) {
        return Err(unserved_failure(unserved, volume_name, &volume));
    }
    if let Some(nfs) = &spec.nfs {
        let target = volume_dir(pod.metadata.uid.as_deref().unwrap_or(""), "kubernetes.io~nfs", &volume);
        return Err(nfs_mount_failure(&nfs.server, &nfs.path, &target, read_only, spec.mount_options.as_deref().unwrap_or(&[]), Some(&volume)));
    }
    let path = format!("/var/lib/kubelet/plugins/kubernetes.io/volume/{volume}");
    vc.disk.mkdir_all(&path, 0o755, secs);
    Ok((path, ro))
}

fn set_up(pod: &Pod, v: &Volume, vc: &mut VolumeContext) -> Result<Mounted, SetUpError> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let secs = wall_secs(vc.now);
    let plugin = plugin_of(v);
    let in_pod = MountedAt::InPod { plugin };
    let dir = volume_dir(&uid, plugin, pod.volume_name(&v.name));
    if let Some(ed) = &v.empty_dir {
        vc.disk.mkdir_all(&dir, 0o777, secs);
        if let Some(gid) = fs_group(pod) {
            set_volume_ownership(vc.disk, &dir, gid, false);
        }
        return Ok(Mounted { at: in_pod, atomic: false, tmpfs: ed.medium.as_deref() == Some("Memory"), read_only: false, payload: 0, token_issued: None });
    }
    if let Some(hp) = &v.host_path {
        let path = normalize("/", &hp.path);
        hostpath_setup(vc.disk, &path, hp.type_.as_deref().unwrap_or(""), secs).map_err(SetUpError::Failed)?;
        return Ok(Mounted { at: MountedAt::Disk(path), atomic: false, tmpfs: false, read_only: false, payload: 0, token_issued: None });
    }
    if let Some(claim) = &v.persistent_volume_claim {
        let (path, ro) = claim_path(pod, &v.name, &claim.claim_name, claim.read_only.unwrap_or(false), false, vc)?;
        return Ok(Mounted { at: MountedAt::Disk(path), atomic: false, tmpfs: false, read_only: ro, payload: 0, token_issued: None });
    }
    if v.ephemeral.is_some() {
        let claim = crate::engine::controllers::ephemeral_volume::volume_claim_name(pod.metadata.name.as_deref().unwrap_or(""), v);
        let (path, ro) = claim_path(pod, &v.name, &claim, false, true, vc)?;
        return Ok(Mounted { at: MountedAt::Disk(path), atomic: false, tmpfs: false, read_only: ro, payload: 0, token_issued: None });
    }
    if let Some(csi) = &v.csi {
        // Only a driver's node plugin registered with the kubelet mounts a
        // CSI volume; kind and minikube run none.
        return Err(format!("kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name {} not found in the list of registered CSI drivers", csi.driver).into());
    }
    if let Some(nfs) = &v.nfs {
        return Err(nfs_mount_failure(&nfs.server, &nfs.path, &dir, nfs.read_only.unwrap_or(false), &[], None));
    }
    if v.git_repo.is_some() {
        // GitRepoVolumeDriver: deprecated and off by default in 1.33.
        return Err("git-repo volume plugin has been disabled; if necessary, it may be re-enabled by enabling the feature-gate `GitRepoVolumeDriver`".to_string().into());
    }
    if v.config_map.is_some() || v.secret.is_some() || v.downward_api.is_some() || v.projected.is_some() {
        let payload = payload_of(pod, v, vc, vc.now).map_err(SetUpError::Failed)?;
        let tmpfs = v.secret.is_some() || v.projected.is_some() || v.downward_api.is_some();
        vc.disk.insert(&dir, Inode::dir(if tmpfs { 0o1777 } else { 0o777 }, secs));
        atomic_write(vc.disk, &dir, &payload, vc.now, vc.rng);
        if let Some(gid) = fs_group(pod) {
            set_volume_ownership(vc.disk, &dir, gid, true);
        }
        let has_token = v.projected.iter().flat_map(|p| p.sources.iter().flatten()).any(|s| s.service_account_token.is_some());
        return Ok(Mounted { at: in_pod, atomic: true, tmpfs, read_only: true, payload: digest(&payload), token_issued: has_token.then_some(vc.now) });
    }
    if let Some(unserved) = unserved_source!(v) {
        return Err(unserved_failure(unserved, &v.name, &v.name));
    }
    // No source at all (which validation refuses) mounts as an empty directory.
    vc.disk.mkdir_all(&dir, 0o755, secs);
    Ok(Mounted { at: in_pod, atomic: false, tmpfs: false, read_only: false, payload: 0, token_issued: None })
}

/// Sets up every volume not yet mounted whose retry is due. Returns the
/// `MountVolume.SetUp` failures to report (volume, message).
pub fn mount_all(state: &mut PodVolumes, pod: &Pod, vc: &mut VolumeContext) -> Vec<(String, String)> {
    let mut failed = Vec::new();
    // Borrowed: this runs on every pod sync.
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let name = pod.volume_name(&v.name);
        if state.mounted(name).is_some() {
            continue;
        }
        if state.failures.get(name).is_some_and(|f| f.retry_at > vc.now) {
            continue;
        }
        match set_up(pod, v, vc) {
            Ok(m) => {
                state.failures.remove(name);
                state.mounted.reserve_exact(1);
                state.mounted.push((name.to_string(), m));
            }
            Err(SetUpError::Failed(e)) => {
                let backoff_ms = state.failures.get(name).filter(|f| !f.hanging).map_or(MOUNT_BACKOFF_INITIAL_MS, |f| (f.backoff_ms * 2).min(MOUNT_BACKOFF_MAX_MS));
                state.failures.insert(name.to_string(), Failure { retry_at: vc.now.plus_millis(backoff_ms), backoff_ms, hanging: false });
                let worded = e.starts_with("MountVolume.") || e.starts_with("error processing PVC") || e.starts_with("PVC ") || e.starts_with("Unable to attach");
                let message = if worded { e } else { format!("MountVolume.SetUp failed for volume \"{}\" : {e}", name) };
                failed.push((name.to_string(), message));
            }
            Err(SetUpError::Hangs { message, takes_ms }) => {
                // The attempt started now fails once it has hung; the one
                // that was hanging until now fails with its message.
                let was_hanging = state.failures.get(name).is_some_and(|f| f.hanging);
                state.failures.insert(name.to_string(), Failure { retry_at: vc.now.plus_millis(takes_ms), backoff_ms: takes_ms, hanging: true });
                if was_hanging {
                    let worded = message.starts_with("MountVolume.") || message.starts_with("Unable to attach");
                    failed.push((name.to_string(), if worded { message } else { format!("MountVolume.SetUp failed for volume \"{}\" : {message}", name) }));
                }
            }
        }
    }
    failed
}

/// The periodic sync: projected volumes get their current contents (and
/// a fresh token once 80% of the old one's life has passed).
pub fn refresh(state: &mut PodVolumes, pod: &Pod, vc: &mut VolumeContext) -> Vec<(String, String)> {
    let mut failed = Vec::new();
    // Borrowed: this runs on every pod sync.
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let name = pod.volume_name(&v.name);
        let Some(m) = state.mounted(name).cloned() else { continue };
        if !m.atomic {
            continue;
        }
        let issued = match m.token_issued {
            Some(t) if vc.now.millis_since(t) >= 3607 * 800 => vc.now,
            Some(t) => t,
            None => vc.now,
        };
        match payload_of(pod, v, vc, issued) {
            Ok(payload) if digest(&payload) != m.payload => {
                let path = m.path(pod.metadata.uid.as_deref().unwrap_or_default(), name);
                atomic_write(vc.disk, &path, &payload, vc.now, vc.rng);
                if let Some(gid) = fs_group(pod) {
                    set_volume_ownership(vc.disk, &path, gid, true);
                }
                if let Some(entry) = state.mounted_mut(name) {
                    entry.payload = digest(&payload);
                    entry.token_issued = m.token_issued.map(|_| issued);
                }
            }
            Ok(_) => {}
            Err(e) => failed.push((name.to_string(), format!("MountVolume.SetUp failed for volume \"{}\" : {e}", name))),
        }
    }
    failed
}

/// Read-only access to the node's disk, to follow links inside a volume.
struct Disk<'a>(&'a Fs);

impl Files for Disk<'_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        self.0.get(path).cloned()
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        self.0.children(dir).into_iter().map(|(n, i)| (n, i.clone())).collect()
    }
    fn read_only(&self, _: &str) -> bool {
        true
    }
    fn user(&self) -> &super::identity::ProcessUser {
        &super::identity::ROOT
    }
    fn put(&mut self, _: &str, _: Inode) -> Result<(), Errno> {
        Err(Errno::ReadOnly)
    }
    fn delete(&mut self, _: &str) -> Result<(), Errno> {
        Err(Errno::ReadOnly)
    }
}

/// What every pod's `/etc/hosts` begins with (the kubelet's
/// `managedHostsHeader` and its localhost lines).
const HOSTS_HEADER: &str = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";

/// A pod's `/etc/hosts`, kept as what follows [`HOSTS_HEADER`] (the pod's
/// own line and its host aliases) and made whole on read: the header is
/// most of the file and the same in every pod.
#[derive(Debug)]
struct PodHosts(Box<str>);

impl super::filesystem::MadeText for PodHosts {
    fn text(&self) -> String {
        let mut text = String::with_capacity(HOSTS_HEADER.len() + self.0.len());
        text.push_str(HOSTS_HEADER);
        text.push_str(&self.0);
        text
    }

    fn len(&self) -> usize {
        HOSTS_HEADER.len() + self.0.len()
    }
}

/// A pod's files the kubelet and runtime write beside its volumes:
/// `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`.
pub fn write_pod_files(disk: &mut Fs, pod: &Pod, ip: &str, node_gateway: &str, now: VirtualTime) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let dir = pod_dir(&uid);
    let secs = wall_secs(now);
    let spec = crate::engine::api::pod_spec_or_empty(pod.spec.as_deref());
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty()).unwrap_or_else(|| pod.metadata.name.as_deref().unwrap_or(""));
    // Texts joined, not formatted: every pod writes these.
    let mut hosts = String::with_capacity(ip.len() + hostname.len() + 2);
    match spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
        Some(sub) => hosts.push_str(&format!("{ip}\t{hostname}.{sub}.{ns}.svc.cluster.local\t{hostname}\n")),
        None => hosts.extend([ip, "\t", hostname, "\n"]),
    }
    if let Some(aliases) = spec.host_aliases.as_ref().filter(|a| !a.is_empty()) {
        hosts.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            hosts.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.clone().unwrap_or_default().join("\t")));
        }
    }
    let hosts = Content::Made(std::rc::Rc::new(PodHosts(hosts.into_boxed_str())));
    let hostname_file = Inode::file(&[hostname, "\n"].concat(), 0o644, secs);
    let policy = spec.dns_policy.clone().unwrap_or_else(|| "ClusterFirst".into());
    let host_network = spec.host_network.unwrap_or(false);
    let cluster = policy == "ClusterFirstWithHostNet" || (policy == "ClusterFirst" && !host_network);
    let (mut servers, mut searches, mut options): (Vec<String>, Vec<String>, Vec<String>) = if cluster {
        (vec![CLUSTER_DNS.into()], vec![[ns, ".svc.cluster.local"].concat(), "svc.cluster.local".into(), "cluster.local".into()], vec!["ndots:5".into()])
    } else if policy == "None" {
        (vec![], vec![], vec![])
    } else {
        (vec![node_gateway.to_string()], vec![], vec![])
    };
    if let Some(cfg) = &spec.dns_config {
        servers.extend(cfg.nameservers.iter().flatten().cloned());
        searches.extend(cfg.searches.iter().flatten().cloned());
        for o in cfg.options.iter().flatten() {
            let text = match &o.value {
                Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            options.retain(|x| x.split(':').next() != text.split(':').next());
            options.push(text);
        }
    }
    // Room for a cluster-first file's three lines, grown only past them.
    let mut resolv = String::with_capacity(104 + ns.len());
    let mut line = |key: &str, values: &[String]| {
        if !values.is_empty() {
            resolv.push_str(key);
            for value in values {
                resolv.push(' ');
                resolv.push_str(value);
            }
            resolv.push('\n');
        }
    };
    line("search", &searches);
    for s in servers {
        line("nameserver", std::slice::from_ref(&s));
    }
    line("options", &options);
    // The same in every pod of a namespace: kept once.
    let resolv = Inode::new(Kind::File(shared_content(&resolv).into()), 0o644, secs);
    let hosts = Inode::new(Kind::File(hosts), 0o644, secs);
    // One walk down to the pod's directory for the three.
    disk.insert_all_under(&dir, [("etc-hosts", hosts), ("etc-hostname", hostname_file), ("resolv.conf", resolv)]);
}

/// Removes everything the pod had on the node's disk (its emptyDirs and
/// projected volumes); hostPath and PersistentVolume data stay.
pub fn remove_pod(disk: &mut Fs, uid: &str) {
    if !uid.is_empty() {
        disk.remove_tree(&pod_dir(uid));
    }
}

thread_local! {
    /// `/dev` and `/sys` look the same in every container: built once.
    static PSEUDO: std::cell::RefCell<Option<(std::rc::Rc<Fs>, std::rc::Rc<Fs>, std::rc::Rc<Fs>)>> = const { std::cell::RefCell::new(None) };
}

/// The shared `/dev`, `/proc` and `/sys` trees.
fn pseudo_trees() -> (std::rc::Rc<Fs>, std::rc::Rc<Fs>, std::rc::Rc<Fs>) {
    PSEUDO.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| {
                let t = super::rootfs::IMAGE_BUILD_TIME;
                (std::rc::Rc::new(pseudo_dev(t)), std::rc::Rc::new(pseudo_proc(t)), std::rc::Rc::new(pseudo_sys(t)))
            })
            .clone()
    })
}

thread_local! {
    /// `/proc` trees with their first process's status, one for each text.
    static PROCS: std::cell::RefCell<SharedByHash<Fs>> = const { std::cell::RefCell::new(SharedByHash::new(SHARED_PRUNE_MIN)) };
}

/// The shared `/proc` with `/proc/1/status` reading `status`: containers
/// whose first processes show the same share one tree.
fn proc_with_status(proc: &Fs, status: &str) -> std::rc::Rc<Fs> {
    let hash = text_hash(status);
    let same = |found: &Fs, status: &&str| found.get("/1/status").and_then(Inode::content).is_some_and(|c| c == *status);
    PROCS.with(|p| {
        p.borrow_mut().share(hash, status, same, |status| {
            let mut fs = proc.clone();
            let made = proc.get("/1").map_or(0, Inode::mtime);
            fs.insert("/1/status", Inode::file(status, 0o444, made));
            std::rc::Rc::new(fs)
        })
    })
}

fn pseudo_dev(secs: i64) -> Fs {
    let mut fs = Fs::new();
    fs.insert("/", Inode::dir(0o755, secs));
    for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore"), ("ptmx", "pts/ptmx")] {
        fs.insert(&format!("/{name}"), Inode::symlink(target, secs));
    }
    for name in ["null", "zero", "full", "random", "urandom", "tty"] {
        fs.insert(&format!("/{name}"), Inode::file("", 0o666, secs));
    }
    for d in ["/pts", "/shm", "/mqueue"] {
        fs.insert(d, Inode::dir(if d == "/shm" { 0o1777 } else { 0o755 }, secs));
    }
    fs
}

fn pseudo_proc(secs: i64) -> Fs {
    let mut fs = Fs::new();
    fs.insert("/", Inode::dir(0o555, secs));
    fs.insert("/version", Inode::file("Linux version 6.8.0-60-generic (buildd@lcy02-amd64-054) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #63-Ubuntu SMP PREEMPT_DYNAMIC Tue Apr 15 19:04:15 UTC 2025\n", 0o444, secs));
    fs.insert("/1", Inode::dir(0o555, secs));
    fs.insert("/self", Inode::symlink("1", secs));
    fs
}

fn pseudo_sys(secs: i64) -> Fs {
    let mut fs = Fs::new();
    fs.insert("/", Inode::dir(0o555, secs));
    for d in ["block", "bus", "class", "dev", "devices", "firmware", "fs", "kernel", "module", "power"] {
        fs.insert(&format!("/{d}"), Inode::dir(0o755, secs));
    }
    fs
}

thread_local! {
    /// Private mounts as they start, shared until written: with nothing
    /// (`/dev/shm`), or an empty directory made at an instant (`/dev/pts`,
    /// by that instant: the key is the whole of it).
    static PRIVATE: std::cell::RefCell<(Option<std::rc::Rc<Fs>>, SharedByHash<Fs>)> = const { std::cell::RefCell::new((None, SharedByHash::new(SHARED_PRUNE_MIN))) };
}

/// A private mount with nothing in it, not even its root.
fn empty_private() -> std::rc::Rc<Fs> {
    PRIVATE.with(|p| p.borrow_mut().0.get_or_insert_with(|| std::rc::Rc::new(Fs::new())).clone())
}

thread_local! {
    /// Cgroup trees, one for each set of limits.
    static CGROUPS: std::cell::RefCell<SharedByHash<Fs>> = const { std::cell::RefCell::new(SharedByHash::new(SHARED_PRUNE_MIN)) };
}

/// What a container's own cgroup (v2, `/sys/fs/cgroup` in its namespace)
/// says of its limits, as the kubelet sets them: `cpu.max` is the CPU
/// limit's quota over a 100 ms period (`MilliCPUToQuota`, at least 1 ms),
/// `memory.max` the memory limit in bytes, `max` where there is none.
/// Usage, pressure and the other controllers' files are not simulated.
pub fn cgroup_files(resources: Option<&k8s_openapi::api::core::v1::ResourceRequirements>) -> String {
    let cpu = super::runtime::cpu_limit_millis(resources);
    let memory = resources.and_then(|r| r.limits.as_ref()?.get("memory")).map(crate::engine::quantity::value_of).filter(|m| *m > 0);
    let cpu_max = cpu.map_or_else(|| "max".to_string(), |milli| (milli.saturating_mul(100)).max(1000).to_string());
    let memory_max = memory.map_or_else(|| "max".to_string(), |bytes| bytes.to_string());
    format!("{cpu_max} 100000\n{memory_max}\n")
}

/// The cgroup directory for [`cgroup_files`]' text, shared by every
/// container with the same limits.
pub fn cgroup_tree(resources: Option<&k8s_openapi::api::core::v1::ResourceRequirements>, secs: i64) -> std::rc::Rc<Fs> {
    let text = cgroup_files(resources);
    let same = |found: &Fs, text: &String| {
        let file = |name: &str| found.get(name).and_then(Inode::content).unwrap_or_default();
        let cpu = file("/cpu.max");
        text.strip_prefix(&*cpu).is_some_and(|memory| memory == file("/memory.max"))
    };
    CGROUPS.with(|c| {
        c.borrow_mut().share(text_hash(&text), text, same, |text| {
            let (cpu_max, memory_max) = text.split_once('\n').unwrap_or((&text, ""));
            let mut fs = Fs::new();
            fs.insert("/", Inode::dir(0o755, secs));
            for (name, content) in [
                ("cgroup.type", "domain\n".to_string()),
                ("cpu.max", format!("{cpu_max}\n")),
                ("memory.high", "max\n".to_string()),
                ("memory.low", "0\n".to_string()),
                ("memory.max", memory_max.to_string()),
                ("memory.min", "0\n".to_string()),
                ("pids.max", "max\n".to_string()),
            ] {
                fs.insert(&format!("/{name}"), Inode::file(&content, 0o644, secs));
            }
            std::rc::Rc::new(fs)
        })
    })
}

/// A private mount holding an empty directory made at `secs`.
fn private_dir(secs: i64) -> std::rc::Rc<Fs> {
    private_dir_with_mode(secs, 0o755)
}

/// [`private_dir`] with the root's permission bits (`/dev/shm`'s tmpfs is
/// `1777`, sticky and open to all).
fn private_dir_with_mode(secs: i64, mode: u32) -> std::rc::Rc<Fs> {
    // Times fit 52 bits for millennia; the mode takes the low 12.
    let key = ((secs as u64) << 12) | u64::from(mode & 0o7777);
    let same = |fs: &Fs, (secs, mode): &(i64, u32)| fs.get("/").is_some_and(|root| root.mode == *mode && root.mtime() == *secs);
    PRIVATE.with(|p| {
        p.borrow_mut().1.share(key, (secs, mode), same, |(secs, mode)| {
            let mut fs = Fs::new();
            fs.insert("/", Inode::dir(mode, secs));
            std::rc::Rc::new(fs)
        })
    })
}

/// A container's mounts in `/proc/mounts` order (`makeMounts` plus what
/// the runtime adds), or the error that makes it CreateContainerConfigError.
#[allow(clippy::too_many_arguments)]
pub fn container_mounts(pod: &Pod, container: &Container, state: &PodVolumes, disk: &mut Fs, root: &mut RootFs, env: &[(String, String)], proc_status: &str, now: VirtualTime) -> Result<Mounts, String> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let dir = pod_dir(&uid);
    let secs = wall_secs(now);
    // The token volume's directory below the pod's: its name is the pod's own.
    let mut token_rel: Option<String> = None;
    // The volumes', then /etc/hosts, the termination log, /etc/hostname,
    // /etc/resolv.conf and /dev/shm.
    let mut cri: Vec<Mount> = Vec::with_capacity(container.volume_mounts.as_ref().map_or(0, Vec::len) + 5);
    for vm in container.volume_mounts.iter().flatten() {
        let name = pod.volume_name(&vm.name);
        let Some(m) = state.mounted(name) else {
            return Err(format!("cannot find volume \"{}\" to mount into container \"{}\"", pod.volume_name(&vm.name), container.name));
        };
        let mut sub = vm.sub_path.clone().unwrap_or_default();
        if let Some(expr) = vm.sub_path_expr.as_ref().filter(|e| !e.is_empty()) {
            sub = env::expand(expr, &|n| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
        }
        if sub.starts_with('/') {
            return Err(format!("error SubPath `{sub}` must not be an absolute path"));
        }
        if sub.split('/').any(|c| c == "..") {
            return Err(format!("unable to provision SubPath `{sub}`: must not contain '..'"));
        }
        let read_only = vm.read_only.unwrap_or(false) || m.read_only;
        let kind = if m.tmpfs { &MountKind::TMPFS_VOLUME } else { &MountKind::DISK };
        let path = m.path(&uid, name);
        let source = if sub.is_empty() {
            match in_pod(&dir, &path) {
                // A name the spec does not hold (the token volume's) is this pod's alone.
                Some(rel) if name != vm.name && token_rel.as_deref().is_none_or(|t| t == rel) => {
                    if token_rel.is_none() {
                        token_rel = Some(rel.to_string());
                    }
                    MountSource::TokenVolume
                }
                Some(rel) => MountSource::InPod(shared_content(rel)),
                None => MountSource::Disk(path.as_ref().into()),
            }
        } else if m.atomic {
            // Bound to the file it resolves to now: later updates do not reach it.
            let view = Disk(disk);
            let resolved = cfs::resolve(&view, "/", &join(&path, &sub), true).ok().filter(|p| disk.get(p).is_some());
            let snapshot = match resolved {
                Some(p) => {
                    let mut fs = disk.copy_tree(&p);
                    if fs.get("/").is_none() {
                        fs.insert("/", Inode::dir(0o755, secs));
                    }
                    fs
                }
                None => {
                    let mut fs = Fs::new();
                    fs.insert("/", Inode::dir(0o755, secs));
                    fs
                }
            };
            MountSource::Snapshot(std::rc::Rc::new(snapshot))
        } else {
            let at = join(&path, &sub);
            if disk.get(&at).is_none() {
                // The kubelet creates a missing subPath as a directory.
                disk.mkdir_all(&at, 0o755, secs);
            }
            match in_pod(&dir, &at) {
                Some(rel) => MountSource::InPod(shared_content(rel)),
                None => MountSource::Disk(at.into()),
            }
        };
        cri.push(Mount { path: shared_content(&normalize("/", &vm.mount_path)), source, read_only, kind });
    }
    let own_hosts = container.volume_mounts.iter().flatten().any(|m| normalize("/", &m.mount_path) == "/etc/hosts");
    // Both of the pod's files looked up in one walk down to its directory
    // (the termination log written below is in another).
    let (has_hosts, has_hostname) = match disk.subtree(&dir).filter(|_| !uid.is_empty()) {
        Some(below) => (below.get("etc-hosts").is_some(), below.get("etc-hostname").is_some()),
        None => (disk.get(&join(&dir, "etc-hosts")).is_some(), disk.get(&join(&dir, "etc-hostname")).is_some()),
    };
    if !own_hosts && has_hosts {
        cri.push(Mount::in_pod("/etc/hosts", "etc-hosts", false));
    }
    let seed = match u128::try_from(secs) {
        Ok(secs) => {
            // With room for the seconds' digits.
            let mut seed = String::with_capacity(uid.len() + container.name.len() + 2 + 20);
            seed.extend([uid.as_str(), "/", container.name.as_str(), "/"]);
            crate::engine::digits::push_digits(&mut seed, secs, 10);
            seed
        }
        Err(_) => format!("{uid}/{}/{secs}", container.name),
    };
    let log_name = super::images::stable_hex(&seed, 8);
    let mut term_log = String::with_capacity(dir.len() + "/containers/".len() + container.name.len() + 1 + log_name.len());
    for part in [dir.as_str(), "/containers/", &container.name, "/", &log_name] {
        term_log.push_str(part);
    }
    disk.insert(&term_log, Inode::file("", 0o666, secs));
    let term_path = container.termination_message_path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/dev/termination-log");
    cri.push(Mount::own(term_path, MountSource::TerminationLog, false));
    if has_hostname {
        cri.push(Mount::in_pod("/etc/hostname", "etc-hostname", false));
        cri.push(Mount::in_pod("/etc/resolv.conf", "resolv.conf", false));
    }
    cri.push(Mount::private("/dev/shm", private_dir_with_mode(secs, 0o1777), false, &MountKind::SHM));
    // Parents are mounted before children (containerd orders by depth),
    // each path's depth counted once.
    let mut by_depth: Vec<(usize, Mount)> = cri.into_iter().map(|m| (m.path.bytes().filter(|&b| b == b'/').count(), m)).collect();
    by_depth.sort_stable_by_key(|(depth, _)| *depth);
    let cri_len = by_depth.len();
    let cri = by_depth.into_iter().map(|(_, m)| m);
    let (dev, proc, sys) = pseudo_trees();
    let proc = proc_with_status(&proc, proc_status);
    let made = private_dir(secs);
    // Kept for the container's life (shared): sized once, no spare capacity.
    let mut mounts = Vec::with_capacity(7 + cri_len);
    mounts.push(Mount::private("/", empty_private(), root.read_only, &MountKind::OVERLAY));
    mounts.extend([
        Mount::snapshot("/proc", proc, false, &MountKind::PROC),
        Mount::snapshot("/dev", dev, false, &MountKind::DEV),
        Mount::private("/dev/pts", made.clone(), false, &MountKind::DEVPTS),
        Mount::private("/dev/mqueue", made, false, &MountKind::MQUEUE),
        Mount::snapshot("/sys", sys, true, &MountKind::SYSFS),
        Mount::private("/sys/fs/cgroup", cgroup_tree(container.resources.as_ref(), secs), true, &MountKind::CGROUP),
    ]);
    mounts.extend(cri);
    mounts.shrink_to_fit();
    let log_rel = term_log.get(dir.len() + 1..).unwrap_or("");
    let mounts = Mounts::of_pod(mounts, &dir, log_rel, token_rel.as_deref().unwrap_or(""));
    // The runtime creates mount points the image lacks in the container's
    // layer (the root overlay is none).
    // The mount points in the pod's directory are looked up below it,
    // walked down to once (without a UID its name ends in `/`: the long way).
    let pod_files = disk.subtree(&dir).filter(|_| !uid.is_empty());
    let points: Vec<(String, bool)> = mounts[1..]
        .iter()
        .map(|m| {
            let is_file = match (&m.source, mounts.in_pod(&m.source), &pod_files) {
                (MountSource::Snapshot(fs), _, _) => fs.get("/").is_some_and(|i| !i.is_dir()),
                (MountSource::Private(_), _, _) => false,
                (_, Some(rel), Some(below)) if !rel.is_empty() && !rel.starts_with('/') => below.get(rel).is_some_and(|i| !i.is_dir()),
                (source, _, _) => mounts.disk_path(source).is_some_and(|p| disk.get(&p).is_some_and(|i| !i.is_dir())),
            };
            (String::from(&*m.path), is_file)
        })
        .collect();
    cfs::mount_points(root, &points, secs);
    Ok(mounts)
}

/// `path` below the pod's directory `dir`, relative to it.
fn in_pod<'p>(dir: &str, path: &'p str) -> Option<&'p str> {
    path.strip_prefix(dir)?.strip_prefix('/').filter(|rel| !rel.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_files_follow_the_kubelets_quota_and_the_memory_limit() {
        let resources = |limits: serde_json::Value| serde_json::from_value::<k8s_openapi::api::core::v1::ResourceRequirements>(serde_json::json!({"limits": limits})).unwrap();
        assert_eq!(cgroup_files(Some(&resources(serde_json::json!({"cpu": "500m", "memory": "128Mi"})))), "50000 100000\n134217728\n");
        // MilliCPUToQuota's floor is 1 ms of a 100 ms period.
        assert_eq!(cgroup_files(Some(&resources(serde_json::json!({"cpu": "1m"})))), "1000 100000\nmax\n");
        assert_eq!(cgroup_files(Some(&resources(serde_json::json!({"cpu": "2", "memory": "1G"})))), "200000 100000\n1000000000\n");
        assert_eq!(cgroup_files(None), "max 100000\nmax\n");
        let a = cgroup_tree(Some(&resources(serde_json::json!({"cpu": "500m"}))), 0);
        let b = cgroup_tree(Some(&resources(serde_json::json!({"cpu": "500m"}))), 5);
        assert!(std::rc::Rc::ptr_eq(&a, &b));
        assert_eq!(a.get("/memory.max").and_then(Inode::content).as_deref(), Some("max\n"));
    }

    #[test]
    fn a_pods_hosts_file_is_made_whole_on_read() {
        let pod: Pod = serde_json::from_value::<crate::engine::api::pod::OpenApiPod>(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "hostAliases": [{"ip": "10.0.0.9", "hostnames": ["a", "b"]}]}
        }))
        .unwrap()
        .into();
        let mut disk = Fs::new();
        write_pod_files(&mut disk, &pod, "10.244.1.7", "10.244.1.1", VirtualTime::from_secs(3));
        let file = disk.get(&format!("{}/etc-hosts", pod_dir("u-1"))).cloned().unwrap();
        let Kind::File(content) = &file.kind else { panic!("{file:?}") };
        let want = format!("{HOSTS_HEADER}10.244.1.7\tweb-1\n\n# Entries added by HostAliases.\n10.0.0.9\ta\tb\n");
        assert_eq!((content.text().into_owned(), content.len(), file.mode), (want.clone(), want.len(), 0o644));
        assert!(want.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
    }

    #[test]
    fn data_directories_are_named_as_the_time_formatted() {
        use crate::engine::api::meta::EPOCH_SECONDS;
        for (secs, random) in [(EPOCH_SECONDS, 1_000_000_000), (EPOCH_SECONDS + 3_599, 4_294_967_294), (EPOCH_SECONDS + 86_400 * 400 + 45_296, 1_234_567_890), (0, 1_000_000_007)] {
            let z = Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC);
            assert_eq!(data_dir_name(secs, random), format!("..{}{random}", z.strftime("%Y_%m_%d_%H_%M_%S.")));
        }
    }

    #[test]
    fn atomic_writes_swap_the_data_link() {
        let mut disk = Fs::new();
        let mut rng = fastrand::Rng::with_seed(3);
        let dir = "/v";
        disk.insert(dir, Inode::dir(0o777, 0));
        atomic_write(&mut disk, dir, &vec![PayloadFile::new("a".into(), "1".into(), 0o644), PayloadFile::new("b".into(), "2".into(), 0o644)], VirtualTime::from_secs(1), &mut rng);
        let view = Disk(&disk);
        assert_eq!(cfs::read_file(&view, "/", "/v/a").as_deref(), Ok("1"));
        let first = match disk.get("/v/..data").map(|i| i.kind.clone()) {
            Some(Kind::Symlink(t)) => t,
            other => panic!("{other:?}"),
        };
        assert!(first.starts_with("..2026_01_01_00_00_01."), "{first}");
        atomic_write(&mut disk, dir, &vec![PayloadFile::new("a".into(), "changed".into(), 0o644)], VirtualTime::from_secs(70), &mut rng);
        let view = Disk(&disk);
        assert_eq!(cfs::read_file(&view, "/", "/v/a").as_deref(), Ok("changed"));
        assert!(disk.get("/v/b").is_none(), "stale link removed");
        assert!(disk.get(&format!("/v/{first}")).is_none(), "old data removed");
    }

    #[test]
    fn a_token_kept_as_its_claims_reads_as_the_token_they_make() {
        use crate::engine::node::filesystem::MadeText;
        let texts = ["vault \"x\"", "team-a", "node-1", "web-5d9c7-abcde", "4f1c", "robot", "uid-1"];
        let source = TokenSource::of(1_767_225_600, texts);
        assert_eq!(std::array::from_fn::<&str, 7, _>(|i| source.part(i)), texts);
        // What pods of one account on one node have in common is kept once.
        let other = TokenSource::of(1_767_225_601, ["vault \"x\"", "team-a", "node-1", "web-5d9c7-fghij", "9a2e", "robot", "uid-1"]);
        assert!(std::rc::Rc::ptr_eq(&source.shared, &other.shared));
        assert_eq!(other.part(3), "web-5d9c7-fghij");
        // Empty texts anywhere read back empty.
        let sparse = ["", "ns", "", "pod", "", "", "sa-uid"];
        let made = TokenSource::of(0, sparse);
        assert_eq!(std::array::from_fn::<&str, 7, _>(|i| made.part(i)), sparse);
        let token = pod_service_account_token(1_767_225_600, texts[0], texts[1], (texts[2], texts[3], texts[4]), (texts[5], texts[6]));
        assert_eq!(source.text(), token);
        assert_eq!(source.len(), token.len());
        let file = Content::Made(std::rc::Rc::new(source));
        assert_eq!(file, Content::Text(token.as_str().into()), "equal to the same bytes kept as a text");
        assert_eq!(file.to_string(), token);
        // The same claims digest the same; a new issue time does not.
        let claims_at = |iat: i64| TokenSource::of(iat, texts);
        let payload = |t: TokenSource| vec![PayloadFile { path: "token".into(), content: PayloadContent::Token(std::rc::Rc::new(t)), mode: 0o644 }];
        assert_eq!(digest(&payload(claims_at(1_767_225_600))), digest(&payload(claims_at(1_767_225_600))));
        assert_ne!(digest(&payload(claims_at(1_767_225_601))), digest(&payload(claims_at(1_767_225_600))));
    }

    #[test]
    fn token_claims_are_written_as_serde_json_writes_the_object() {
        let cases = [
            ("https://kubernetes.default.svc.cluster.local", "default", "node-1", "web-5d9c7-abcde", "default", "uid-1"),
            ("vault", "team \"a\"", "n\\2", "p\u{1}é", "", ""),
        ];
        for (aud, ns, node, pod, sa, sa_uid) in cases {
            let iat = 1_767_225_600;
            let claims = TokenClaims {
                audiences: &[aud],
                iat,
                exp: iat + EXTENDED_TOKEN_SECONDS,
                jti: "0123abcd-0000-1111-2222-333344445555",
                namespace: ns,
                node: Some((node, "89abcdef")),
                pod: Some((pod, "4f1c")),
                secret: None,
                service_account: sa,
                service_account_uid: sa_uid,
                warn_after: Some(iat + 3607),
            };
            let expected = serde_json::json!({
                "aud": [aud],
                "exp": iat + EXTENDED_TOKEN_SECONDS,
                "iat": iat,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "jti": claims.jti,
                "kubernetes.io": {
                    "namespace": ns,
                    "node": {"name": node, "uid": "89abcdef"},
                    "pod": {"name": pod, "uid": "4f1c"},
                    "serviceaccount": {"name": sa, "uid": sa_uid},
                    "warnafter": iat + 3607,
                },
                "nbf": iat,
                "sub": format!("system:serviceaccount:{ns}:{sa}"),
            })
            .to_string();
            assert_eq!(String::from_utf8(claims_json(&claims)).unwrap(), expected);
        }
        // A requested token: two audiences, bound to a secret only, no warning.
        let claims = TokenClaims { audiences: &["a", "b"], iat: 10, exp: 3610, jti: "j", namespace: "ns", node: None, pod: None, secret: Some(("s", "su")), service_account: "sa", service_account_uid: "u", warn_after: None };
        let expected = serde_json::json!({
            "aud": ["a", "b"], "exp": 3610, "iat": 10, "iss": "https://kubernetes.default.svc.cluster.local", "jti": "j",
            "kubernetes.io": {"namespace": "ns", "secret": {"name": "s", "uid": "su"}, "serviceaccount": {"name": "sa", "uid": "u"}},
            "nbf": 10, "sub": "system:serviceaccount:ns:sa",
        })
        .to_string();
        assert_eq!(String::from_utf8(claims_json(&claims)).unwrap(), expected);
    }

    #[test]
    fn hostpath_types_are_checked() {
        let mut disk = Fs::new();
        assert!(hostpath_setup(&mut disk, "/data", "DirectoryOrCreate", 0).is_ok());
        assert!(disk.get("/data").is_some_and(Inode::is_dir));
        assert_eq!(hostpath_setup(&mut disk, "/data", "File", 0), Err("hostPath type check failed: /data is not a file".into()));
        assert_eq!(hostpath_setup(&mut disk, "/nope", "Directory", 0), Err("hostPath type check failed: /nope is not a directory".into()));
    }
}
