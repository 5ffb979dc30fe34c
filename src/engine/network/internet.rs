//! The little of the Internet the simulation has: manifests that well-known
//! URLs serve, so `kubectl apply -f https://…` works as the tutorials say.
//! Any other URL fails as it would without a route out.
//!
//! ingress-nginx's static manifests (kind, bare metal, cloud providers) are
//! served as the project publishes them for v1.12.2, without its admission
//! webhook (the ValidatingWebhookConfiguration and the two certificate
//! Jobs): the simulated API server calls no webhooks.

const VERSION: &str = "1.12.2";

const COMMON: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  labels:
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
  name: ingress-nginx
---
apiVersion: v1
automountServiceAccountToken: true
kind: ServiceAccount
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx
  namespace: ingress-nginx
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx
  namespace: ingress-nginx
rules:
- apiGroups:
  - ""
  resources:
  - namespaces
  verbs:
  - get
- apiGroups:
  - ""
  resources:
  - configmaps
  - pods
  - secrets
  - endpoints
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - ""
  resources:
  - services
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - networking.k8s.io
  resources:
  - ingresses
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - networking.k8s.io
  resources:
  - ingresses/status
  verbs:
  - update
- apiGroups:
  - networking.k8s.io
  resources:
  - ingressclasses
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - coordination.k8s.io
  resourceNames:
  - ingress-nginx-leader
  resources:
  - leases
  verbs:
  - get
  - update
- apiGroups:
  - coordination.k8s.io
  resources:
  - leases
  verbs:
  - create
- apiGroups:
  - ""
  resources:
  - events
  verbs:
  - create
  - patch
- apiGroups:
  - discovery.k8s.io
  resources:
  - endpointslices
  verbs:
  - list
  - watch
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  labels:
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx
rules:
- apiGroups:
  - ""
  resources:
  - configmaps
  - endpoints
  - nodes
  - pods
  - secrets
  - namespaces
  verbs:
  - list
  - watch
- apiGroups:
  - coordination.k8s.io
  resources:
  - leases
  verbs:
  - list
  - watch
- apiGroups:
  - ""
  resources:
  - nodes
  verbs:
  - get
- apiGroups:
  - ""
  resources:
  - services
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - networking.k8s.io
  resources:
  - ingresses
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - ""
  resources:
  - events
  verbs:
  - create
  - patch
- apiGroups:
  - networking.k8s.io
  resources:
  - ingresses/status
  verbs:
  - update
- apiGroups:
  - networking.k8s.io
  resources:
  - ingressclasses
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - discovery.k8s.io
  resources:
  - endpointslices
  verbs:
  - list
  - watch
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx
  namespace: ingress-nginx
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: ingress-nginx
subjects:
- kind: ServiceAccount
  name: ingress-nginx
  namespace: ingress-nginx
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  labels:
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ingress-nginx
subjects:
- kind: ServiceAccount
  name: ingress-nginx
  namespace: ingress-nginx
---
apiVersion: v1
data:
  allow-snippet-annotations: "false"
kind: ConfigMap
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx-controller
  namespace: ingress-nginx
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx-controller
  namespace: ingress-nginx
spec:
SERVICE_SPEC
  ipFamilies:
  - IPv4
  ipFamilyPolicy: SingleStack
  ports:
  - appProtocol: http
    name: http
    port: 80
    protocol: TCP
    targetPort: http
  - appProtocol: https
    name: https
    port: 443
    protocol: TCP
    targetPort: https
  selector:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: ingress-nginx-controller
  namespace: ingress-nginx
spec:
  minReadySeconds: 0
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app.kubernetes.io/component: controller
      app.kubernetes.io/instance: ingress-nginx
      app.kubernetes.io/name: ingress-nginx
  strategy:
    rollingUpdate:
      maxUnavailable: 1
    type: RollingUpdate
  template:
    metadata:
      labels:
        app.kubernetes.io/component: controller
        app.kubernetes.io/instance: ingress-nginx
        app.kubernetes.io/name: ingress-nginx
        app.kubernetes.io/part-of: ingress-nginx
        app.kubernetes.io/version: VERSION
    spec:
      containers:
      - args:
        - /nginx-ingress-controller
        - --election-id=ingress-nginx-leader
        - --controller-class=k8s.io/ingress-nginx
        - --ingress-class=nginx
        - --configmap=$(POD_NAMESPACE)/ingress-nginx-controller
EXTRA_ARGS
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: LD_PRELOAD
          value: /usr/local/lib/libmimalloc.so
        image: registry.k8s.io/ingress-nginx/controller:vVERSION
        imagePullPolicy: IfNotPresent
        lifecycle:
          preStop:
            exec:
              command:
              - /wait-shutdown
        livenessProbe:
          failureThreshold: 5
          httpGet:
            path: /healthz
            port: 10254
            scheme: HTTP
          initialDelaySeconds: 10
          periodSeconds: 10
          successThreshold: 1
          timeoutSeconds: 1
        name: controller
        ports:
        - containerPort: 80
HOST_PORT_HTTP
          name: http
          protocol: TCP
        - containerPort: 443
HOST_PORT_HTTPS
          name: https
          protocol: TCP
        readinessProbe:
          failureThreshold: 3
          httpGet:
            path: /healthz
            port: 10254
            scheme: HTTP
          initialDelaySeconds: 10
          periodSeconds: 10
          successThreshold: 1
          timeoutSeconds: 1
        resources:
          requests:
            cpu: 100m
            memory: 90Mi
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add:
            - NET_BIND_SERVICE
            drop:
            - ALL
          readOnlyRootFilesystem: false
          runAsGroup: 82
          runAsNonRoot: true
          runAsUser: 101
          seccompProfile:
            type: RuntimeDefault
      dnsPolicy: ClusterFirst
      nodeSelector:
NODE_SELECTOR
        kubernetes.io/os: linux
      serviceAccountName: ingress-nginx
      terminationGracePeriodSeconds: TERMINATION
TOLERATIONS
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  labels:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
    app.kubernetes.io/version: VERSION
  name: nginx
spec:
  controller: k8s.io/ingress-nginx
"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Kind,
    Baremetal,
    Cloud,
}

/// ingress-nginx's static manifest for a provider.
pub fn ingress_nginx(provider: Provider) -> String {
    let (service, extra, http_port, https_port, selector, termination, tolerations) = match provider {
        Provider::Kind => (
            "  type: NodePort",
            "        - --watch-ingress-without-class=true\n        - --publish-status-address=localhost",
            "          hostPort: 80",
            "          hostPort: 443",
            "        ingress-ready: \"true\"",
            "0",
            "      tolerations:\n      - effect: NoSchedule\n        key: node-role.kubernetes.io/master\n        operator: Equal\n      - effect: NoSchedule\n        key: node-role.kubernetes.io/control-plane\n        operator: Equal",
        ),
        Provider::Baremetal => ("  type: NodePort", "", "", "", "", "300", ""),
        Provider::Cloud => ("  externalTrafficPolicy: Local\n  type: LoadBalancer", "        - --publish-service=$(POD_NAMESPACE)/ingress-nginx-controller", "", "", "", "300", ""),
    };
    let mut text = COMMON
        .replace("VERSION", VERSION)
        .replace("SERVICE_SPEC", service)
        .replace("EXTRA_ARGS", extra)
        .replace("HOST_PORT_HTTPS", https_port)
        .replace("HOST_PORT_HTTP", http_port)
        .replace("NODE_SELECTOR", selector)
        .replace("TERMINATION", termination)
        .replace("TOLERATIONS", tolerations);
    text = text.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    text.push('\n');
    text
}

/// kubernetes.io's `examples/application/php-apache.yaml`, the HPA walkthrough's app.
const PHP_APACHE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: php-apache
spec:
  selector:
    matchLabels:
      run: php-apache
  template:
    metadata:
      labels:
        run: php-apache
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        ports:
        - containerPort: 80
        resources:
          limits:
            cpu: 500m
          requests:
            cpu: 200m
---
apiVersion: v1
kind: Service
metadata:
  name: php-apache
  labels:
    run: php-apache
spec:
  ports:
  - port: 80
  selector:
    run: php-apache
";

/// The manifest a URL serves, if the simulation knows it.
pub fn fetch(url: &str) -> Option<String> {
    let url = url.trim();
    // k8s.io redirects to kubernetes.io, which serves the docs' examples.
    if let Some(path) = url.strip_prefix("https://k8s.io/examples/").or_else(|| url.strip_prefix("https://kubernetes.io/examples/")) {
        return (path == "application/php-apache.yaml").then(|| PHP_APACHE.to_string());
    }
    if matches!(
        url,
        "https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml"
            | "https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.7.2/components.yaml"
    ) {
        return Some(crate::engine::bootstrap::addons::METRICS_SERVER.to_string());
    }
    if url == "https://kind.sigs.k8s.io/examples/ingress/deploy-ingress-nginx.yaml" {
        return Some(ingress_nginx(Provider::Kind));
    }
    let rest = url.strip_prefix("https://raw.githubusercontent.com/kubernetes/ingress-nginx/")?;
    let (_branch, path) = rest.split_once('/')?;
    match path {
        "deploy/static/provider/kind/deploy.yaml" => Some(ingress_nginx(Provider::Kind)),
        "deploy/static/provider/baremetal/deploy.yaml" => Some(ingress_nginx(Provider::Baremetal)),
        "deploy/static/provider/cloud/deploy.yaml" => Some(ingress_nginx(Provider::Cloud)),
        _ => None,
    }
}

/// What kubectl prints when a URL cannot be fetched: the simulated machine
/// has no route to the Internet beyond the manifests above.
pub fn fetch_error(url: &str) -> String {
    let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(url);
    format!("error: Get \"{url}\": dial tcp: lookup {host}: no such host")
}
