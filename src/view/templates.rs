//! Starting points for the editor, as `kubectl create … --dry-run=client -o yaml`
//! would write them, trimmed of the empty fields a learner need not see.

/// (label, YAML) for each template the editor offers.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("Deployment", DEPLOYMENT),
    ("Pod", POD),
    ("Service", SERVICE),
    ("ConfigMap", CONFIG_MAP),
    ("Job", JOB),
];

pub const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
";

pub const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: hello
  labels:
    run: hello
spec:
  containers:
  - name: hello
    image: busybox:1.36
    command: [\"sh\", \"-c\", \"echo Hello from Miniplane && sleep 3600\"]
  restartPolicy: Always
";

pub const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  type: ClusterIP
  selector:
    app: web
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 80
";

pub const CONFIG_MAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  LOG_LEVEL: info
  greeting.txt: |
    Hello from a ConfigMap
";

pub const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  backoffLimit: 4
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34
        command: [\"perl\", \"-Mbignum=bpi\", \"-wle\", \"print bpi(200)\"]
      restartPolicy: Never
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_valid_yaml_with_a_kind() {
        for (label, text) in TEMPLATES {
            let value: serde_yaml::Value = serde_yaml::from_str(text).expect(label);
            assert_eq!(value["kind"].as_str(), Some(*label));
        }
    }
}
