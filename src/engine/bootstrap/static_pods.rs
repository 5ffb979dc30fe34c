//! The static pod manifests kubeadm 1.33 writes to `/etc/kubernetes/manifests`
//! on a control-plane node (`phases/controlplane` and `phases/etcd`), with
//! the configuration kind and minikube hand it: certificate directory,
//! advertise address and port, service and pod subnets, cluster name,
//! leader election and extra flags.
//!
//! The text is what kubeadm's YAML marshaller writes: keys in alphabetical
//! order, flags sorted by name, volumes and mounts sorted by name,
//! `creationTimestamp: null` and `status: {}`.

use crate::engine::cluster::{Profile, ProfileKind};

/// etcd's image tag in kubeadm 1.33.
pub const ETCD_IMAGE: &str = "registry.k8s.io/etcd:3.5.21-0";
pub const KUBERNETES_VERSION: &str = "v1.33.1";

/// Each stoppable control-plane component (as scripts name it) and the
/// manifest that runs it.
pub const COMPONENT_MANIFESTS: [(&str, &str); 4] = [
    ("etcd", "etcd.yaml"),
    ("apiserver", "kube-apiserver.yaml"),
    ("controller-manager", "kube-controller-manager.yaml"),
    ("scheduler", "kube-scheduler.yaml"),
];

/// What kind's or minikube's kubeadm configuration sets.
#[derive(Clone, Debug)]
pub struct KubeadmConfig {
    pub node_name: String,
    pub advertise_address: String,
    pub bind_port: u16,
    pub cert_dir: &'static str,
    pub etcd_data_dir: &'static str,
    pub service_subnet: &'static str,
    pub pod_subnet: &'static str,
    pub cluster_name: &'static str,
    /// minikube turns leader election off for its single node.
    pub leader_elect: bool,
    /// minikube's `enable-admission-plugins` (kubeadm's default is `NodeRestriction`).
    pub admission_plugins: &'static str,
    /// kind passes `--runtime-config=` (empty) to the API server.
    pub runtime_config: bool,
    /// kind's `--enable-hostpath-provisioner=true` for the controller manager.
    pub hostpath_provisioner: bool,
}

impl KubeadmConfig {
    /// The configuration of a profile's control-plane node, if it has one.
    pub fn for_profile(profile: &Profile) -> Option<Self> {
        let node = profile.nodes.iter().find(|n| n.control_plane)?;
        Some(match profile.kind {
            ProfileKind::Minikube => KubeadmConfig {
                node_name: node.name.clone(),
                advertise_address: node.address.clone(),
                bind_port: 8443,
                cert_dir: "/var/lib/minikube/certs",
                etcd_data_dir: "/var/lib/minikube/etcd",
                service_subnet: "10.96.0.0/12",
                pod_subnet: "10.244.0.0/16",
                cluster_name: "mk",
                leader_elect: false,
                admission_plugins: "NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota",
                runtime_config: false,
                hostpath_provisioner: false,
            },
            ProfileKind::Default => KubeadmConfig {
                node_name: node.name.clone(),
                advertise_address: node.address.clone(),
                bind_port: 6443,
                cert_dir: "/etc/kubernetes/pki",
                etcd_data_dir: "/var/lib/etcd",
                service_subnet: "10.96.0.0/16",
                pod_subnet: "10.244.0.0/16",
                cluster_name: "kind",
                leader_elect: true,
                admission_plugins: "NodeRestriction",
                runtime_config: true,
                hostpath_provisioner: true,
            },
        })
    }

    /// Every manifest as (file name, text), in the order above.
    pub fn manifests(&self) -> Vec<(String, String)> {
        vec![
            ("etcd.yaml".to_string(), self.etcd()),
            ("kube-apiserver.yaml".to_string(), self.apiserver()),
            ("kube-controller-manager.yaml".to_string(), self.controller_manager()),
            ("kube-scheduler.yaml".to_string(), self.scheduler()),
        ]
    }

    fn etcd(&self) -> String {
        let (addr, certs, data) = (&self.advertise_address, format!("{}/etcd", self.cert_dir), self.etcd_data_dir);
        let flags = [
            format!("--advertise-client-urls=https://{addr}:2379"),
            format!("--cert-file={certs}/server.crt"),
            "--client-cert-auth=true".to_string(),
            format!("--data-dir={data}"),
            "--experimental-initial-corrupt-check=true".to_string(),
            "--experimental-watch-progress-notify-interval=5s".to_string(),
            format!("--initial-advertise-peer-urls=https://{addr}:2380"),
            format!("--initial-cluster={}=https://{addr}:2380", self.node_name),
            format!("--key-file={certs}/server.key"),
            format!("--listen-client-urls=https://127.0.0.1:2379,https://{addr}:2379"),
            "--listen-metrics-urls=http://127.0.0.1:2381".to_string(),
            format!("--listen-peer-urls=https://{addr}:2380"),
            format!("--name={}", self.node_name),
            format!("--peer-cert-file={certs}/peer.crt"),
            "--peer-client-cert-auth=true".to_string(),
            format!("--peer-key-file={certs}/peer.key"),
            format!("--peer-trusted-ca-file={certs}/ca.crt"),
            "--snapshot-count=10000".to_string(),
            format!("--trusted-ca-file={certs}/ca.crt"),
        ];
        let container = Container {
            name: "etcd",
            command: flags_command("etcd", &flags),
            image: ETCD_IMAGE.to_string(),
            liveness: Some(probe(8, "127.0.0.1", "/livez", 2381, "HTTP", Some(10), 10)),
            readiness: Some(probe(3, "127.0.0.1", "/readyz", 2381, "HTTP", None, 1)),
            requests: "        cpu: 100m\n        memory: 100Mi\n",
            startup: Some(probe(24, "127.0.0.1", "/readyz", 2381, "HTTP", Some(10), 10)),
            mounts: vec![mount(data, "etcd-data", false), mount(&certs, "etcd-certs", false)],
        };
        let annotation = format!("kubeadm.kubernetes.io/etcd.advertise-client-urls: https://{addr}:2379");
        pod("etcd", Some(&annotation), &container, &[volume(&certs, "DirectoryOrCreate", "etcd-certs"), volume(data, "DirectoryOrCreate", "etcd-data")])
    }

    fn apiserver(&self) -> String {
        let (addr, certs, port) = (&self.advertise_address, self.cert_dir, self.bind_port);
        let mut flags = vec![
            format!("--advertise-address={addr}"),
            "--allow-privileged=true".to_string(),
            "--authorization-mode=Node,RBAC".to_string(),
            format!("--client-ca-file={certs}/ca.crt"),
            format!("--enable-admission-plugins={}", self.admission_plugins),
            "--enable-bootstrap-token-auth=true".to_string(),
            format!("--etcd-cafile={certs}/etcd/ca.crt"),
            format!("--etcd-certfile={certs}/apiserver-etcd-client.crt"),
            format!("--etcd-keyfile={certs}/apiserver-etcd-client.key"),
            "--etcd-servers=https://127.0.0.1:2379".to_string(),
            format!("--kubelet-client-certificate={certs}/apiserver-kubelet-client.crt"),
            format!("--kubelet-client-key={certs}/apiserver-kubelet-client.key"),
            "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".to_string(),
            format!("--proxy-client-cert-file={certs}/front-proxy-client.crt"),
            format!("--proxy-client-key-file={certs}/front-proxy-client.key"),
            "--requestheader-allowed-names=front-proxy-client".to_string(),
            format!("--requestheader-client-ca-file={certs}/front-proxy-ca.crt"),
            "--requestheader-extra-headers-prefix=X-Remote-Extra-".to_string(),
            "--requestheader-group-headers=X-Remote-Group".to_string(),
            "--requestheader-username-headers=X-Remote-User".to_string(),
        ];
        if self.runtime_config {
            flags.push("--runtime-config=".to_string());
        }
        flags.extend([
            format!("--secure-port={port}"),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
            format!("--service-account-key-file={certs}/sa.pub"),
            format!("--service-account-signing-key-file={certs}/sa.key"),
            format!("--service-cluster-ip-range={}", self.service_subnet),
            format!("--tls-cert-file={certs}/apiserver.crt"),
            format!("--tls-private-key-file={certs}/apiserver.key"),
        ]);
        let container = Container {
            name: "kube-apiserver",
            command: flags_command("kube-apiserver", &flags),
            image: format!("registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}"),
            liveness: Some(probe(8, addr, "/livez", port, "HTTPS", Some(10), 10)),
            readiness: Some(probe(3, addr, "/readyz", port, "HTTPS", None, 1)),
            requests: "        cpu: 250m\n",
            startup: Some(probe(24, addr, "/livez", port, "HTTPS", Some(10), 10)),
            mounts: vec![
                mount("/etc/ssl/certs", "ca-certs", true),
                mount("/etc/ca-certificates", "etc-ca-certificates", true),
                mount(certs, "k8s-certs", true),
                mount("/usr/local/share/ca-certificates", "usr-local-share-ca-certificates", true),
                mount("/usr/share/ca-certificates", "usr-share-ca-certificates", true),
            ],
        };
        let annotation = format!("kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: {addr}:{port}");
        pod(
            "kube-apiserver",
            Some(&annotation),
            &container,
            &[
                volume("/etc/ssl/certs", "DirectoryOrCreate", "ca-certs"),
                volume("/etc/ca-certificates", "DirectoryOrCreate", "etc-ca-certificates"),
                volume(certs, "DirectoryOrCreate", "k8s-certs"),
                volume("/usr/local/share/ca-certificates", "DirectoryOrCreate", "usr-local-share-ca-certificates"),
                volume("/usr/share/ca-certificates", "DirectoryOrCreate", "usr-share-ca-certificates"),
            ],
        )
    }

    fn controller_manager(&self) -> String {
        let certs = self.cert_dir;
        let kubeconfig = "/etc/kubernetes/controller-manager.conf";
        let mut flags = vec![
            "--allocate-node-cidrs=true".to_string(),
            format!("--authentication-kubeconfig={kubeconfig}"),
            format!("--authorization-kubeconfig={kubeconfig}"),
            "--bind-address=127.0.0.1".to_string(),
            format!("--client-ca-file={certs}/ca.crt"),
            format!("--cluster-cidr={}", self.pod_subnet),
            format!("--cluster-name={}", self.cluster_name),
            format!("--cluster-signing-cert-file={certs}/ca.crt"),
            format!("--cluster-signing-key-file={certs}/ca.key"),
            "--controllers=*,bootstrapsigner,tokencleaner".to_string(),
        ];
        if self.hostpath_provisioner {
            flags.push("--enable-hostpath-provisioner=true".to_string());
        }
        flags.extend([
            format!("--kubeconfig={kubeconfig}"),
            format!("--leader-elect={}", self.leader_elect),
            format!("--requestheader-client-ca-file={certs}/front-proxy-ca.crt"),
            format!("--root-ca-file={certs}/ca.crt"),
            format!("--service-account-private-key-file={certs}/sa.key"),
            format!("--service-cluster-ip-range={}", self.service_subnet),
            "--use-service-account-credentials=true".to_string(),
        ]);
        let flexvolume = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";
        let container = Container {
            name: "kube-controller-manager",
            command: flags_command("kube-controller-manager", &flags),
            image: format!("registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}"),
            liveness: Some(probe(8, "127.0.0.1", "/healthz", 10257, "HTTPS", Some(10), 10)),
            readiness: None,
            requests: "        cpu: 200m\n",
            startup: Some(probe(24, "127.0.0.1", "/healthz", 10257, "HTTPS", Some(10), 10)),
            mounts: vec![
                mount("/etc/ssl/certs", "ca-certs", true),
                mount("/etc/ca-certificates", "etc-ca-certificates", true),
                mount(flexvolume, "flexvolume-dir", false),
                mount(certs, "k8s-certs", true),
                mount(kubeconfig, "kubeconfig", true),
                mount("/usr/local/share/ca-certificates", "usr-local-share-ca-certificates", true),
                mount("/usr/share/ca-certificates", "usr-share-ca-certificates", true),
            ],
        };
        pod(
            "kube-controller-manager",
            None,
            &container,
            &[
                volume("/etc/ssl/certs", "DirectoryOrCreate", "ca-certs"),
                volume("/etc/ca-certificates", "DirectoryOrCreate", "etc-ca-certificates"),
                volume(flexvolume, "DirectoryOrCreate", "flexvolume-dir"),
                volume(certs, "DirectoryOrCreate", "k8s-certs"),
                volume(kubeconfig, "FileOrCreate", "kubeconfig"),
                volume("/usr/local/share/ca-certificates", "DirectoryOrCreate", "usr-local-share-ca-certificates"),
                volume("/usr/share/ca-certificates", "DirectoryOrCreate", "usr-share-ca-certificates"),
            ],
        )
    }

    fn scheduler(&self) -> String {
        let kubeconfig = "/etc/kubernetes/scheduler.conf";
        let flags = [
            format!("--authentication-kubeconfig={kubeconfig}"),
            format!("--authorization-kubeconfig={kubeconfig}"),
            "--bind-address=127.0.0.1".to_string(),
            format!("--kubeconfig={kubeconfig}"),
            format!("--leader-elect={}", self.leader_elect),
        ];
        let container = Container {
            name: "kube-scheduler",
            command: flags_command("kube-scheduler", &flags),
            image: format!("registry.k8s.io/kube-scheduler:{KUBERNETES_VERSION}"),
            liveness: Some(probe(8, "127.0.0.1", "/livez", 10259, "HTTPS", Some(10), 10)),
            readiness: Some(probe(3, "127.0.0.1", "/readyz", 10259, "HTTPS", None, 1)),
            requests: "        cpu: 100m\n",
            startup: Some(probe(24, "127.0.0.1", "/livez", 10259, "HTTPS", Some(10), 10)),
            mounts: vec![mount(kubeconfig, "kubeconfig", true)],
        };
        pod("kube-scheduler", None, &container, &[volume(kubeconfig, "FileOrCreate", "kubeconfig")])
    }
}

struct Container {
    name: &'static str,
    command: String,
    image: String,
    liveness: Option<String>,
    readiness: Option<String>,
    /// The `requests:` body, already indented.
    requests: &'static str,
    startup: Option<String>,
    mounts: Vec<String>,
}

fn flags_command(binary: &str, flags: &[String]) -> String {
    let mut out = format!("    - {binary}\n");
    for f in flags {
        out.push_str(&format!("    - {f}\n"));
    }
    out
}

/// One probe's body (under `livenessProbe:` and the like), as kubeadm's
/// `LivenessProbe`, `ReadinessProbe` and `StartupProbe` make them.
fn probe(failure: u32, host: &str, path: &str, port: u16, scheme: &str, initial_delay: Option<u32>, period: u32) -> String {
    let mut out = format!("      failureThreshold: {failure}\n      httpGet:\n        host: {host}\n        path: {path}\n        port: {port}\n        scheme: {scheme}\n");
    if let Some(d) = initial_delay {
        out.push_str(&format!("      initialDelaySeconds: {d}\n"));
    }
    out.push_str(&format!("      periodSeconds: {period}\n      timeoutSeconds: 15\n"));
    out
}

fn mount(path: &str, name: &str, read_only: bool) -> String {
    let mut out = format!("    - mountPath: {path}\n      name: {name}\n");
    if read_only {
        out.push_str("      readOnly: true\n");
    }
    out
}

fn volume(path: &str, type_: &str, name: &str) -> String {
    format!("  - hostPath:\n      path: {path}\n      type: {type_}\n    name: {name}\n")
}

fn pod(name: &str, annotation: Option<&str>, c: &Container, volumes: &[String]) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n");
    if let Some(a) = annotation {
        out.push_str(&format!("  annotations:\n    {a}\n"));
    }
    out.push_str(&format!("  creationTimestamp: null\n  labels:\n    component: {name}\n    tier: control-plane\n  name: {name}\n  namespace: kube-system\nspec:\n  containers:\n  - command:\n"));
    out.push_str(&c.command);
    out.push_str(&format!("    image: {}\n    imagePullPolicy: IfNotPresent\n", c.image));
    if let Some(p) = &c.liveness {
        out.push_str("    livenessProbe:\n");
        out.push_str(p);
    }
    out.push_str(&format!("    name: {}\n", c.name));
    if let Some(p) = &c.readiness {
        out.push_str("    readinessProbe:\n");
        out.push_str(p);
    }
    out.push_str("    resources:\n      requests:\n");
    out.push_str(c.requests);
    if let Some(p) = &c.startup {
        out.push_str("    startupProbe:\n");
        out.push_str(p);
    }
    out.push_str("    volumeMounts:\n");
    for m in &c.mounts {
        out.push_str(m);
    }
    out.push_str("  hostNetwork: true\n  priority: 2000001000\n  priorityClassName: system-node-critical\n  securityContext:\n    seccompProfile:\n      type: RuntimeDefault\n  volumes:\n");
    for v in volumes {
        out.push_str(v);
    }
    out.push_str("status: {}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::apiserver::decode;

    #[test]
    fn every_manifest_decodes_as_a_pod() {
        for kind in [ProfileKind::Minikube, ProfileKind::Default] {
            let config = KubeadmConfig::for_profile(&Profile::new(kind)).expect("a control plane");
            for (file, text) in config.manifests() {
                let parsed = decode::parse_manifests(&text);
                assert!(parsed.error.is_none(), "{file}: {:?}", parsed.error);
                let doc = &parsed.documents[0];
                let rid = decode::resolve_kind(&doc.value, &file).expect("a Pod");
                let obj = decode::decode_object(rid, &doc.value).unwrap_or_else(|e| panic!("{file}: {}", e.message));
                assert!(matches!(obj, crate::engine::api::Object::Pod(_)), "{file}");
            }
        }
    }

    #[test]
    fn minikube_flags_follow_its_kubeadm_configuration() {
        let config = KubeadmConfig::for_profile(&Profile::new(ProfileKind::Minikube)).expect("a control plane");
        let api = config.apiserver();
        assert!(api.contains("    - --advertise-address=192.168.49.2\n"));
        assert!(api.contains("    - --secure-port=8443\n"));
        assert!(api.contains("    - --client-ca-file=/var/lib/minikube/certs/ca.crt\n"));
        assert!(!api.contains("--runtime-config"));
        assert!(config.scheduler().contains("    - --leader-elect=false\n"));
        assert!(config.etcd().contains("    - --data-dir=/var/lib/minikube/etcd\n"));
    }
}
