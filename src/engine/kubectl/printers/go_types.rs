//! How kubectl prints a typed object, as the `set` commands print what
//! they changed: Go's `encoding/json` writes a struct's fields in
//! declaration order (`-o json`), and writes a field without `omitempty`,
//! or a struct-valued one (which `omitempty` never leaves out), even at its
//! zero value: `creationTimestamp: null`, `resources: {}`, `status: {}`,
//! `replicas: 0` in a ReplicaSet's status. Unstructured printing (`get`)
//! keeps neither.
//!
//! The table covers the workload kinds and the types their pod templates
//! and statuses are made of, as k8s.io/api 1.33 declares them. A type it
//! does not list (affinity, some volume sources) prints its keys sorted and
//! gains no zero fields.

use serde_json::{Map, Value};

/// What a field holds, for its zero value and for finding the fields of
/// the values below it.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
    /// `metav1.Time` (`null` when zero), a nil slice, map or pointer.
    Null,
    /// `resource.Quantity`, which writes `"0"` when zero.
    Quantity,
    /// A nested struct, written as `{}` with its own zero fields.
    Struct(&'static str),
    /// A slice of structs.
    Structs(&'static str),
}

/// One JSON field of a Go struct.
#[derive(Clone, Copy)]
struct Field {
    json: &'static str,
    ty: Ty,
    /// Written at its zero value: no `omitempty`, or a struct value.
    always: bool,
}

/// A field Go writes even at its zero value.
const fn a(json: &'static str, ty: Ty) -> Field {
    Field { json, ty, always: true }
}
/// An `omitempty` field (or a pointer).
const fn o(json: &'static str, ty: Ty) -> Field {
    Field { json, ty, always: false }
}

use Ty::{Bool, Int, Null, Quantity, Str, Struct, Structs};

/// The Go struct kubectl decodes a kind into.
fn root(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" => "Deployment",
        "ReplicaSet" => "ReplicaSet",
        "StatefulSet" => "StatefulSet",
        "DaemonSet" => "DaemonSet",
        "Job" => "Job",
        "CronJob" => "CronJob",
        "ReplicationController" => "ReplicationController",
        "Pod" => "Pod",
        "Service" => "Service",
        "Ingress" => "Ingress",
        "PodDisruptionBudget" => "PodDisruptionBudget",
        "RoleBinding" => "RoleBinding",
        "ClusterRoleBinding" => "ClusterRoleBinding",
        "TokenRequest" => "TokenRequest",
        _ => return None,
    })
}

/// A struct's JSON fields in declaration order (inlined structs flattened).
fn fields(ty: &str) -> &'static [Field] {
    match ty {
        "Deployment" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("DeploymentSpec")), a("status", Struct("DeploymentStatus"))] },
        "ReplicaSet" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("ReplicaSetSpec")), a("status", Struct("ReplicaSetStatus"))] },
        "StatefulSet" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("StatefulSetSpec")), a("status", Struct("StatefulSetStatus"))] },
        "DaemonSet" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("DaemonSetSpec")), a("status", Struct("DaemonSetStatus"))] },
        "Job" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("JobSpec")), a("status", Struct("JobStatus"))] },
        "CronJob" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("CronJobSpec")), a("status", Struct("CronJobStatus"))] },
        "ReplicationController" => const { &[
            o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("ReplicationControllerSpec")),
            a("status", Struct("ReplicationControllerStatus")),
        ] },
        "Pod" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("PodSpec")), a("status", Struct("PodStatus"))] },
        "PersistentVolumeClaim" => const { &[
            o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("PersistentVolumeClaimSpec")),
            a("status", Struct("PersistentVolumeClaimStatus")),
        ] },
        "TokenRequest" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("TokenRequestSpec")), a("status", Struct("TokenRequestStatus"))] },
        // No `omitempty` on the spec's fields: an unset pointer is `null`
        // (the caller writes the reference's `null`, which `a` would fill as `{}`).
        "TokenRequestSpec" => const { &[a("audiences", Null), a("expirationSeconds", Null), o("boundObjectRef", Struct("BoundObjectReference"))] },
        "BoundObjectReference" => const { &[o("kind", Str), o("apiVersion", Str), o("name", Str), o("uid", Str)] },
        "TokenRequestStatus" => const { &[a("token", Str), a("expirationTimestamp", Null)] },
        "ObjectMeta" => const { &[
            o("name", Str), o("generateName", Str), o("namespace", Str), o("selfLink", Str), o("uid", Str), o("resourceVersion", Str),
            o("generation", Int), a("creationTimestamp", Null), o("deletionTimestamp", Null), o("deletionGracePeriodSeconds", Null), o("labels", Null),
            o("annotations", Null), o("ownerReferences", Structs("OwnerReference")), o("finalizers", Null), o("managedFields", Null),
        ] },
        "OwnerReference" => const { &[a("apiVersion", Str), a("kind", Str), a("name", Str), a("uid", Str), o("controller", Null), o("blockOwnerDeletion", Null)] },
        "LabelSelector" => const { &[o("matchLabels", Null), o("matchExpressions", Structs("LabelSelectorRequirement"))] },
        "LabelSelectorRequirement" => const { &[a("key", Str), a("operator", Str), o("values", Null)] },
        "PodTemplateSpec" => const { &[a("metadata", Struct("ObjectMeta")), a("spec", Struct("PodSpec"))] },

        "DeploymentSpec" => const { &[
            o("replicas", Null), o("selector", Struct("LabelSelector")), a("template", Struct("PodTemplateSpec")), a("strategy", Struct("DeploymentStrategy")),
            o("minReadySeconds", Int), o("revisionHistoryLimit", Null), o("paused", Bool), o("progressDeadlineSeconds", Null),
        ] },
        "DeploymentStrategy" => const { &[o("type", Str), o("rollingUpdate", Struct("RollingUpdateDeployment"))] },
        "RollingUpdateDeployment" | "RollingUpdateDaemonSet" => const { &[o("maxUnavailable", Null), o("maxSurge", Null)] },
        "DeploymentStatus" => const { &[
            o("observedGeneration", Int), o("replicas", Int), o("updatedReplicas", Int), o("readyReplicas", Int), o("availableReplicas", Int),
            o("unavailableReplicas", Int), o("terminatingReplicas", Null), o("conditions", Structs("DeploymentCondition")), o("collisionCount", Null),
        ] },
        "DeploymentCondition" => const { &[
            a("type", Str), a("status", Str), a("lastUpdateTime", Null), a("lastTransitionTime", Null), o("reason", Str), o("message", Str),
        ] },
        "ReplicaSetSpec" => const { &[o("replicas", Null), o("minReadySeconds", Int), o("selector", Struct("LabelSelector")), a("template", Struct("PodTemplateSpec"))] },
        "ReplicaSetStatus" => const { &[
            a("replicas", Int), o("fullyLabeledReplicas", Int), o("readyReplicas", Int), o("availableReplicas", Int), o("terminatingReplicas", Null),
            o("observedGeneration", Int), o("conditions", Structs("ReplicaSetCondition")),
        ] },
        "ReplicaSetCondition" | "ReplicationControllerCondition" | "StatefulSetCondition" | "DaemonSetCondition" => {
            const { &[a("type", Str), a("status", Str), a("lastTransitionTime", Null), o("reason", Str), o("message", Str)] }
        }
        "StatefulSetSpec" => const { &[
            o("replicas", Null), o("selector", Struct("LabelSelector")), a("template", Struct("PodTemplateSpec")),
            o("volumeClaimTemplates", Structs("PersistentVolumeClaim")), o("serviceName", Str), o("podManagementPolicy", Str),
            a("updateStrategy", Struct("StatefulSetUpdateStrategy")), o("revisionHistoryLimit", Null), o("minReadySeconds", Int),
            o("persistentVolumeClaimRetentionPolicy", Null), o("ordinals", Null),
        ] },
        "StatefulSetUpdateStrategy" => const { &[o("type", Str), o("rollingUpdate", Struct("RollingUpdateStatefulSetStrategy"))] },
        "RollingUpdateStatefulSetStrategy" => const { &[o("partition", Null), o("maxUnavailable", Null)] },
        "DaemonSetUpdateStrategy" => const { &[o("type", Str), o("rollingUpdate", Struct("RollingUpdateDaemonSet"))] },
        "StatefulSetStatus" => const { &[
            o("observedGeneration", Int), a("replicas", Int), o("readyReplicas", Int), o("currentReplicas", Int), o("updatedReplicas", Int),
            o("currentRevision", Str), o("updateRevision", Str), o("collisionCount", Null), o("conditions", Structs("StatefulSetCondition")),
            a("availableReplicas", Int),
        ] },
        "DaemonSetSpec" => const { &[
            o("selector", Struct("LabelSelector")), a("template", Struct("PodTemplateSpec")), a("updateStrategy", Struct("DaemonSetUpdateStrategy")),
            o("minReadySeconds", Int), o("revisionHistoryLimit", Null),
        ] },
        "DaemonSetStatus" => const { &[
            a("currentNumberScheduled", Int), a("numberMisscheduled", Int), a("desiredNumberScheduled", Int), a("numberReady", Int),
            o("observedGeneration", Int), o("updatedNumberScheduled", Int), o("numberAvailable", Int), o("numberUnavailable", Int),
            o("collisionCount", Null), o("conditions", Structs("DaemonSetCondition")),
        ] },
        "JobSpec" => const { &[
            o("parallelism", Null), o("completions", Null), o("activeDeadlineSeconds", Null), o("podFailurePolicy", Null), o("successPolicy", Null),
            o("backoffLimit", Null), o("backoffLimitPerIndex", Null), o("maxFailedIndexes", Null), o("selector", Struct("LabelSelector")),
            o("manualSelector", Null), a("template", Struct("PodTemplateSpec")), o("ttlSecondsAfterFinished", Null), o("completionMode", Null),
            o("suspend", Null), o("podReplacementPolicy", Null), o("managedBy", Null),
        ] },
        "JobStatus" => const { &[
            o("conditions", Structs("JobCondition")), o("startTime", Null), o("completionTime", Null), o("active", Int), o("succeeded", Int),
            o("failed", Int), o("terminating", Null), o("completedIndexes", Str), o("failedIndexes", Null), o("uncountedTerminatedPods", Null), o("ready", Null),
        ] },
        "JobCondition" => const { &[
            a("type", Str), a("status", Str), a("lastProbeTime", Null), a("lastTransitionTime", Null), o("reason", Str), o("message", Str),
        ] },
        "CronJobSpec" => const { &[
            a("schedule", Str), o("timeZone", Null), o("startingDeadlineSeconds", Null), o("concurrencyPolicy", Str), o("suspend", Null),
            a("jobTemplate", Struct("JobTemplateSpec")), o("successfulJobsHistoryLimit", Null), o("failedJobsHistoryLimit", Null),
        ] },
        "JobTemplateSpec" => const { &[a("metadata", Struct("ObjectMeta")), a("spec", Struct("JobSpec"))] },
        "CronJobStatus" => const { &[o("active", Null), o("lastScheduleTime", Null), o("lastSuccessfulTime", Null)] },
        "ReplicationControllerSpec" => const { &[o("replicas", Null), o("minReadySeconds", Int), o("selector", Null), o("template", Struct("PodTemplateSpec"))] },
        "ReplicationControllerStatus" => const { &[
            a("replicas", Int), o("fullyLabeledReplicas", Int), o("readyReplicas", Int), o("availableReplicas", Int), o("observedGeneration", Int),
            o("conditions", Structs("ReplicationControllerCondition")),
        ] },
        "PersistentVolumeClaimSpec" => const { &[
            o("accessModes", Null), o("selector", Struct("LabelSelector")), a("resources", Struct("ResourceRequirements")), o("volumeName", Str),
            o("storageClassName", Null), o("volumeMode", Null), o("dataSource", Null), o("dataSourceRef", Null), o("volumeAttributesClassName", Null),
        ] },
        "Service" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("ServiceSpec")), a("status", Struct("ServiceStatus"))] },
        "ServiceSpec" => const { &[
            o("ports", Structs("ServicePort")), o("selector", Null), o("clusterIP", Str), o("clusterIPs", Null), o("type", Str), o("externalIPs", Null),
            o("sessionAffinity", Str), o("loadBalancerIP", Str), o("loadBalancerSourceRanges", Null), o("externalName", Str),
            o("externalTrafficPolicy", Str), o("healthCheckNodePort", Int), o("publishNotReadyAddresses", Bool), o("sessionAffinityConfig", Null),
            o("ipFamilies", Null), o("ipFamilyPolicy", Null), o("allocateLoadBalancerNodePorts", Null), o("loadBalancerClass", Null),
            o("internalTrafficPolicy", Null), o("trafficDistribution", Null),
        ] },
        "ServicePort" => const { &[o("name", Str), o("protocol", Str), o("appProtocol", Null), a("port", Int), a("targetPort", Int), o("nodePort", Int)] },
        "ServiceStatus" => const { &[a("loadBalancer", Struct("LoadBalancerStatus")), o("conditions", Null)] },
        "LoadBalancerStatus" => const { &[o("ingress", Null)] },
        "Ingress" => const { &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("IngressSpec")), a("status", Struct("IngressStatus"))] },
        "IngressSpec" => const { &[o("ingressClassName", Null), o("defaultBackend", Struct("IngressBackend")), o("tls", Structs("IngressTLS")), o("rules", Structs("IngressRule"))] },
        "IngressTLS" => const { &[o("hosts", Null), o("secretName", Str)] },
        "IngressRule" => const { &[o("host", Str), o("http", Struct("HTTPIngressRuleValue"))] },
        "HTTPIngressRuleValue" => const { &[a("paths", Structs("HTTPIngressPath"))] },
        "HTTPIngressPath" => const { &[o("path", Str), a("pathType", Null), a("backend", Struct("IngressBackend"))] },
        "IngressBackend" => const { &[o("service", Struct("IngressServiceBackend")), o("resource", Null)] },
        "IngressServiceBackend" => const { &[a("name", Str), a("port", Struct("ServiceBackendPort"))] },
        "ServiceBackendPort" => const { &[o("name", Str), o("number", Int)] },
        "IngressStatus" => const { &[a("loadBalancer", Struct("IngressLoadBalancerStatus"))] },
        "IngressLoadBalancerStatus" => const { &[o("ingress", Null)] },
        "PodDisruptionBudget" => const {
            &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), a("spec", Struct("PodDisruptionBudgetSpec")), a("status", Struct("PodDisruptionBudgetStatus"))]
        },
        "PodDisruptionBudgetSpec" => const { &[o("minAvailable", Null), o("selector", Struct("LabelSelector")), o("maxUnavailable", Null), o("unhealthyPodEvictionPolicy", Null)] },
        "PodDisruptionBudgetStatus" => const { &[
            o("observedGeneration", Int), o("disruptedPods", Null), a("disruptionsAllowed", Int), a("currentHealthy", Int), a("desiredHealthy", Int),
            a("expectedPods", Int), o("conditions", Null),
        ] },
        "RoleBinding" | "ClusterRoleBinding" => const {
            &[o("kind", Str), o("apiVersion", Str), a("metadata", Struct("ObjectMeta")), o("subjects", Structs("Subject")), a("roleRef", Struct("RoleRef"))]
        },
        "Subject" => const { &[a("kind", Str), o("apiGroup", Str), a("name", Str), o("namespace", Str)] },
        "RoleRef" => const { &[a("apiGroup", Str), a("kind", Str), a("name", Str)] },
        "PersistentVolumeClaimStatus" => const { &[
            o("phase", Str), o("accessModes", Null), o("capacity", Null), o("conditions", Null), o("allocatedResources", Null),
            o("allocatedResourceStatuses", Null), o("currentVolumeAttributesClassName", Null), o("modifyVolumeStatus", Null),
        ] },

        "PodSpec" => const { &[
            o("volumes", Structs("Volume")), o("initContainers", Structs("Container")), a("containers", Structs("Container")),
            o("ephemeralContainers", Null), o("restartPolicy", Str), o("terminationGracePeriodSeconds", Null), o("activeDeadlineSeconds", Null),
            o("dnsPolicy", Str), o("nodeSelector", Null), o("serviceAccountName", Str), o("serviceAccount", Str),
            o("automountServiceAccountToken", Null), o("nodeName", Str), o("hostNetwork", Bool), o("hostPID", Bool), o("hostIPC", Bool),
            o("shareProcessNamespace", Null), o("securityContext", Null), o("imagePullSecrets", Null), o("hostname", Str), o("subdomain", Str),
            o("affinity", Null), o("schedulerName", Str), o("tolerations", Structs("Toleration")), o("hostAliases", Null),
            o("priorityClassName", Str), o("priority", Null), o("dnsConfig", Null), o("readinessGates", Null), o("runtimeClassName", Null),
            o("enableServiceLinks", Null), o("preemptionPolicy", Null), o("overhead", Null), o("topologySpreadConstraints", Null),
            o("setHostnameAsFQDN", Null), o("os", Null), o("hostUsers", Null), o("schedulingGates", Null), o("resourceClaims", Null), o("resources", Null),
        ] },
        "Container" => const { &[
            a("name", Str), o("image", Str), o("command", Null), o("args", Null), o("workingDir", Str), o("ports", Structs("ContainerPort")),
            o("envFrom", Structs("EnvFromSource")), o("env", Structs("EnvVar")), a("resources", Struct("ResourceRequirements")),
            o("resizePolicy", Null), o("restartPolicy", Null), o("volumeMounts", Structs("VolumeMount")), o("volumeDevices", Null),
            o("livenessProbe", Struct("Probe")), o("readinessProbe", Struct("Probe")), o("startupProbe", Struct("Probe")),
            o("lifecycle", Struct("Lifecycle")), o("terminationMessagePath", Str), o("terminationMessagePolicy", Str),
            o("imagePullPolicy", Str), o("securityContext", Struct("SecurityContext")), o("stdin", Bool), o("stdinOnce", Bool), o("tty", Bool),
        ] },
        "ContainerPort" => const { &[o("name", Str), o("hostPort", Int), a("containerPort", Int), o("protocol", Str), o("hostIP", Str)] },
        "EnvFromSource" => const { &[o("prefix", Str), o("configMapRef", Struct("LocalRefOptional")), o("secretRef", Struct("LocalRefOptional"))] },
        "LocalRefOptional" => const { &[o("name", Str), o("optional", Null)] },
        "EnvVar" => const { &[a("name", Str), o("value", Str), o("valueFrom", Struct("EnvVarSource"))] },
        "EnvVarSource" => const { &[
            o("fieldRef", Struct("ObjectFieldSelector")), o("resourceFieldRef", Struct("ResourceFieldSelector")),
            o("configMapKeyRef", Struct("KeySelector")), o("secretKeyRef", Struct("KeySelector")),
        ] },
        "ObjectFieldSelector" => const { &[o("apiVersion", Str), a("fieldPath", Str)] },
        "ResourceFieldSelector" => const { &[o("containerName", Str), a("resource", Str), a("divisor", Quantity)] },
        "KeySelector" => const { &[o("name", Str), a("key", Str), o("optional", Null)] },
        "ResourceRequirements" => const { &[o("limits", Null), o("requests", Null), o("claims", Null)] },
        "VolumeMount" => const { &[
            a("name", Str), o("readOnly", Bool), o("recursiveReadOnly", Null), a("mountPath", Str), o("subPath", Str), o("mountPropagation", Null),
            o("subPathExpr", Str),
        ] },
        "Probe" => const { &[
            o("exec", Null), o("httpGet", Struct("HTTPGetAction")), o("tcpSocket", Struct("TCPSocketAction")), o("grpc", Struct("GRPCAction")),
            o("initialDelaySeconds", Int), o("timeoutSeconds", Int), o("periodSeconds", Int), o("successThreshold", Int),
            o("failureThreshold", Int), o("terminationGracePeriodSeconds", Null),
        ] },
        "HTTPGetAction" => const { &[o("path", Str), a("port", Int), o("host", Str), o("scheme", Str), o("httpHeaders", Structs("HTTPHeader"))] },
        "HTTPHeader" => const { &[a("name", Str), a("value", Str)] },
        "TCPSocketAction" => const { &[a("port", Int), o("host", Str)] },
        "GRPCAction" => const { &[a("port", Int), a("service", Null)] },
        "Lifecycle" => const { &[o("postStart", Struct("LifecycleHandler")), o("preStop", Struct("LifecycleHandler")), o("stopSignal", Null)] },
        "LifecycleHandler" => const { &[
            o("exec", Null), o("httpGet", Struct("HTTPGetAction")), o("tcpSocket", Struct("TCPSocketAction")), o("sleep", Struct("SleepAction")),
        ] },
        "SleepAction" => const { &[a("seconds", Int)] },
        "SecurityContext" => const { &[
            o("capabilities", Null), o("privileged", Null), o("seLinuxOptions", Null), o("windowsOptions", Null), o("runAsUser", Null), o("runAsGroup", Null),
            o("runAsNonRoot", Null), o("readOnlyRootFilesystem", Null), o("allowPrivilegeEscalation", Null), o("procMount", Null),
            o("seccompProfile", Null), o("appArmorProfile", Null),
        ] },
        "Toleration" => const { &[o("key", Str), o("operator", Str), o("value", Str), o("effect", Str), o("tolerationSeconds", Null)] },
        "Volume" => const { &[
            a("name", Str), o("hostPath", Struct("HostPathVolumeSource")), o("emptyDir", Null), o("gcePersistentDisk", Null),
            o("awsElasticBlockStore", Null), o("gitRepo", Null), o("secret", Struct("SecretVolumeSource")), o("nfs", Null), o("iscsi", Null),
            o("glusterfs", Null), o("persistentVolumeClaim", Struct("PersistentVolumeClaimVolumeSource")), o("rbd", Null), o("flexVolume", Null),
            o("cinder", Null), o("cephfs", Null), o("flocker", Null), o("downwardAPI", Struct("DownwardAPIVolumeSource")), o("fc", Null),
            o("azureFile", Null), o("configMap", Struct("ConfigMapVolumeSource")), o("vsphereVolume", Null), o("quobyte", Null), o("azureDisk", Null),
            o("photonPersistentDisk", Null), o("projected", Struct("ProjectedVolumeSource")), o("portworxVolume", Null), o("scaleIO", Null),
            o("storageos", Null), o("csi", Null), o("ephemeral", Null), o("image", Null),
        ] },
        "HostPathVolumeSource" => const { &[a("path", Str), o("type", Null)] },
        "SecretVolumeSource" => const { &[o("secretName", Str), o("items", Structs("KeyToPath")), o("defaultMode", Null), o("optional", Null)] },
        "ConfigMapVolumeSource" => const { &[o("name", Str), o("items", Structs("KeyToPath")), o("defaultMode", Null), o("optional", Null)] },
        "KeyToPath" => const { &[a("key", Str), a("path", Str), o("mode", Null)] },
        "PersistentVolumeClaimVolumeSource" => const { &[a("claimName", Str), o("readOnly", Bool)] },
        "DownwardAPIVolumeSource" => const { &[o("items", Structs("DownwardAPIVolumeFile")), o("defaultMode", Null)] },
        "DownwardAPIVolumeFile" => const { &[
            a("path", Str), o("fieldRef", Struct("ObjectFieldSelector")), o("resourceFieldRef", Struct("ResourceFieldSelector")), o("mode", Null),
        ] },
        "ProjectedVolumeSource" => const { &[a("sources", Structs("VolumeProjection")), o("defaultMode", Null)] },
        "VolumeProjection" => const { &[
            o("secret", Struct("Projection")), o("downwardAPI", Struct("DownwardAPIProjection")), o("configMap", Struct("Projection")),
            o("serviceAccountToken", Struct("ServiceAccountTokenProjection")), o("clusterTrustBundle", Null),
        ] },
        "Projection" => const { &[o("name", Str), o("items", Structs("KeyToPath")), o("optional", Null)] },
        "DownwardAPIProjection" => const { &[o("items", Structs("DownwardAPIVolumeFile"))] },
        "ServiceAccountTokenProjection" => const { &[o("audience", Str), o("expirationSeconds", Null), a("path", Str)] },

        "PodStatus" => const { &[
            o("observedGeneration", Int), o("phase", Str), o("conditions", Structs("PodCondition")), o("message", Str), o("reason", Str),
            o("nominatedNodeName", Str), o("hostIP", Str), o("hostIPs", Structs("IP")), o("podIP", Str), o("podIPs", Structs("IP")),
            o("startTime", Null), o("initContainerStatuses", Structs("ContainerStatus")), o("containerStatuses", Structs("ContainerStatus")),
            o("qosClass", Str), o("ephemeralContainerStatuses", Structs("ContainerStatus")), o("resize", Str), o("resourceClaimStatuses", Null),
        ] },
        "PodCondition" => const { &[
            a("type", Str), o("observedGeneration", Int), a("status", Str), a("lastProbeTime", Null), a("lastTransitionTime", Null),
            o("reason", Str), o("message", Str),
        ] },
        "IP" => const { &[a("ip", Str)] },
        "ContainerStatus" => const { &[
            a("name", Str), a("state", Struct("ContainerState")), a("lastState", Struct("ContainerState")), a("ready", Bool),
            a("restartCount", Int), a("image", Str), a("imageID", Str), o("containerID", Str), o("started", Null), o("allocatedResources", Null),
            o("resources", Null), o("volumeMounts", Null), o("user", Null), o("allocatedResourcesStatus", Null), o("stopSignal", Null),
        ] },
        "ContainerState" => const { &[
            o("waiting", Struct("ContainerStateWaiting")), o("running", Struct("ContainerStateRunning")),
            o("terminated", Struct("ContainerStateTerminated")),
        ] },
        "ContainerStateWaiting" => const { &[o("reason", Str), o("message", Str)] },
        "ContainerStateRunning" => const { &[a("startedAt", Null)] },
        "ContainerStateTerminated" => const { &[
            a("exitCode", Int), o("signal", Int), o("reason", Str), o("message", Str), a("startedAt", Null), a("finishedAt", Null),
            o("containerID", Str),
        ] },
        _ => &[],
    }
}

fn zero(ty: Ty) -> Value {
    match ty {
        Str => Value::String(String::new()),
        Int => Value::from(0),
        Bool => Value::Bool(false),
        Null | Structs(_) => Value::Null,
        Quantity => Value::String("0".to_string()),
        Struct(name) => {
            let mut v = Value::Object(Map::new());
            fill(name, &mut v);
            v
        }
    }
}

/// Adds the zero-valued fields Go writes to `value`, a `ty` struct.
fn fill(ty: &str, value: &mut Value) {
    let Value::Object(map) = value else { return };
    for field in fields(ty) {
        match map.get_mut(field.json) {
            Some(child) => match field.ty {
                Struct(name) => fill(name, child),
                Structs(name) => {
                    for item in child.as_array_mut().into_iter().flatten() {
                        fill(name, item);
                    }
                }
                _ => {}
            },
            None if field.always => {
                map.insert(field.json.to_string(), zero(field.ty));
            }
            None => {}
        }
    }
}

/// An object of `kind` as kubectl's typed printing writes it: the fields Go
/// writes at their zero values added. Kinds outside the table are unchanged.
pub fn typed_view(kind: &str, value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(ty) = root(kind) {
        fill(ty, &mut value);
    }
    value
}

/// The struct a path of keys leads to from `kind`'s root, if the table knows it.
fn struct_at(kind: &str, path: &[&str]) -> Option<&'static str> {
    let mut ty = root(kind)?;
    for key in path {
        let field = fields(ty).iter().find(|f| f.json == *key)?;
        ty = match field.ty {
            Struct(name) | Structs(name) => name,
            _ => return None,
        };
    }
    Some(ty)
}

/// Where `key` comes among the fields of the struct `path` leads to from
/// `kind`'s root, if the table knows that struct.
pub fn field_rank(kind: &str, path: &[&str], key: &str) -> Option<usize> {
    let ty = struct_at(kind, path)?;
    fields(ty).iter().position(|f| f.json == key)
}

/// `-o json` of a typed object: Go's `json.MarshalIndent` with each
/// struct's fields in declaration order (a map's keys sorted).
pub fn to_json(kind: &str, value: &Value) -> String {
    super::json::to_json_in_field_order(value, true, &|path, key| field_rank(kind, path, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_the_fields_go_always_writes() {
        let v = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}]}}}
        });
        let typed = typed_view("Deployment", &v);
        assert_eq!(typed["metadata"]["creationTimestamp"], Value::Null);
        assert_eq!(typed["spec"]["strategy"], json!({}));
        assert_eq!(typed["spec"]["template"]["metadata"], json!({"creationTimestamp": null}));
        assert_eq!(typed["spec"]["template"]["spec"]["containers"][0]["resources"], json!({}));
        assert_eq!(typed["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["resourceFieldRef"]["divisor"], json!("0"));
        assert_eq!(typed["status"], json!({}));
        assert_eq!(typed_view("ReplicaSet", &json!({"spec": {}}))["status"], json!({"replicas": 0}));
    }

    #[test]
    fn writes_json_in_go_field_order() {
        let v = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": null, "labels": {"b": "1", "a": "2"}},
            "spec": {"containers": [{"resources": {}, "name": "a", "image": "x"}]}, "status": {}});
        assert_eq!(
            to_json("Pod", &v),
            "{\n    \"kind\": \"Pod\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"p\",\n        \"creationTimestamp\": null,\n        \"labels\": {\n            \"a\": \"2\",\n            \"b\": \"1\"\n        }\n    },\n    \"spec\": {\n        \"containers\": [\n            {\n                \"name\": \"a\",\n                \"image\": \"x\",\n                \"resources\": {}\n            }\n        ]\n    },\n    \"status\": {}\n}"
        );
    }
}
