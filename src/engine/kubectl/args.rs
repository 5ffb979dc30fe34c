//! Command-line parsing with pflag's rules and kubectl's flag tables.

use std::collections::BTreeMap;

use crate::engine::apiserver::validation::quote;

/// One flag a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub kind: FlagKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `--all`, or `--all=false`.
    Bool,
    /// `--namespace x`, `--namespace=x`, `-n x`, `-nx`.
    Value,
    /// A value only with `=`; alone it means the given default (`--cascade`, `--dry-run`).
    OptionalValue(&'static str),
}

const fn b(long: &'static str, short: Option<char>) -> Flag {
    Flag { long, short, kind: FlagKind::Bool }
}
const fn v(long: &'static str, short: Option<char>) -> Flag {
    Flag { long, short, kind: FlagKind::Value }
}
const fn o(long: &'static str, default: &'static str) -> Flag {
    Flag { long, short: None, kind: FlagKind::OptionalValue(default) }
}

/// Flags every command takes.
const GLOBAL: &[Flag] = &[
    v("namespace", Some('n')),
    v("kubeconfig", None),
    v("context", None),
    v("cluster", None),
    v("user", None),
    v("server", Some('s')),
    v("request-timeout", None),
    v("v", Some('v')),
    b("insecure-skip-tls-verify", None),
    v("as", None),
    v("as-group", None),
    v("as-uid", None),
    b("help", Some('h')),
];

/// A command (or sub-command) and its own flags.
pub struct Command {
    pub path: &'static str,
    pub flags: &'static [Flag],
    /// Sub-commands, named by their last word.
    pub subcommands: &'static [&'static str],
}

const OUTPUT: Flag = v("output", Some('o'));
const SELECTOR: Flag = v("selector", Some('l'));
const ALL_NS: Flag = b("all-namespaces", Some('A'));
const FILENAME: Flag = v("filename", Some('f'));
const DRY_RUN: Flag = o("dry-run", "unchanged");
const RECURSIVE: Flag = b("recursive", Some('R'));
/// Deprecated (kubectl warns when it is given) but still acted on.
const RECORD: Flag = b("record", None);

pub static COMMANDS: &[Command] = &[
    Command {
        path: "get",
        flags: &[
            OUTPUT, SELECTOR, ALL_NS, FILENAME, RECURSIVE, v("kustomize", Some('k')),
            b("show-labels", None), b("watch", Some('w')), b("watch-only", None), v("field-selector", None),
            b("no-headers", None), v("label-columns", Some('L')), v("sort-by", None), b("ignore-not-found", None),
            b("show-kind", None), v("chunk-size", None), b("show-managed-fields", None), v("template", None),
            v("subresource", None), b("output-watch-events", None), v("raw", None), b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "describe",
        flags: &[SELECTOR, ALL_NS, FILENAME, v("kustomize", Some('k')), RECURSIVE, b("show-events", None), v("chunk-size", None)],
        subcommands: &[],
    },
    Command {
        path: "logs",
        flags: &[
            v("container", Some('c')), b("follow", Some('f')), b("previous", Some('p')), v("tail", None), b("timestamps", None),
            b("all-containers", None), SELECTOR, v("since", None), v("since-time", None), b("prefix", None),
            v("limit-bytes", None), v("max-log-requests", None), b("ignore-errors", None), v("pod-running-timeout", None),
            b("all-pods", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "kustomize",
        flags: &[
            b("as-current-user", None), b("enable-alpha-plugins", None), b("enable-helm", None), v("env", Some('e')), v("helm-api-versions", None),
            v("helm-command", None), b("helm-debug", None), v("helm-kube-version", None), v("load-restrictor", None), v("mount", None),
            b("network", None), v("network-name", None), OUTPUT,
        ],
        subcommands: &[],
    },
    Command {
        path: "apply",
        flags: &[
            FILENAME, RECURSIVE, DRY_RUN, OUTPUT, SELECTOR, b("server-side", None), b("force-conflicts", None),
            v("field-manager", None), o("validate", "strict"), b("prune", None), b("overwrite", None), b("force", None),
            v("grace-period", None), b("wait", None), v("timeout", None), b("all", None), b("show-managed-fields", None), b("allow-missing-template-keys", None),
            v("template", None), o("cascade", "background"), v("kustomize", Some('k')), v("prune-allowlist", None),
        ],
        subcommands: &["view-last-applied", "set-last-applied", "edit-last-applied"],
    },
    Command {
        path: "diff",
        flags: &[
            FILENAME, RECURSIVE, SELECTOR, b("server-side", None), b("force-conflicts", None), v("field-manager", None),
            b("prune", None), v("prune-allowlist", None), b("show-managed-fields", None), v("concurrency", None), v("kustomize", Some('k')),
        ],
        subcommands: &[],
    },
    Command {
        path: "create",
        flags: &[
            FILENAME, RECURSIVE, DRY_RUN, OUTPUT, b("save-config", None), v("kustomize", Some('k')), o("validate", "strict"), v("field-manager", None),
            b("edit", None), v("raw", None), SELECTOR, b("windows-line-endings", None), v("template", None),
            b("show-managed-fields", None), b("allow-missing-template-keys", None),
        ],
        subcommands: &[
            "deployment", "deploy", "namespace", "ns", "service", "svc", "configmap", "cm", "secret", "job", "cronjob", "cj",
            "serviceaccount", "sa", "role", "rolebinding", "clusterrole", "clusterrolebinding", "quota", "resourcequota",
            "priorityclass", "pc", "poddisruptionbudget", "pdb", "ingress", "ing", "token",
        ],
    },
    Command {
        path: "create deployment",
        flags: &[v("image", None), v("replicas", Some('r')), v("port", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None)],
        subcommands: &[],
    },
    Command {
        path: "create namespace",
        flags: &[DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None)],
        subcommands: &[],
    },
    Command {
        path: "create service",
        flags: &[],
        subcommands: &["clusterip", "nodeport", "loadbalancer", "externalname"],
    },
    Command {
        path: "create service clusterip",
        flags: &[b("allow-missing-template-keys", None), v("tcp", None), v("clusterip", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create service nodeport",
        flags: &[b("allow-missing-template-keys", None), v("tcp", None), v("node-port", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create service loadbalancer",
        flags: &[b("allow-missing-template-keys", None), v("tcp", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create service externalname",
        flags: &[b("allow-missing-template-keys", None), v("tcp", None), v("external-name", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create configmap",
        flags: &[b("allow-missing-template-keys", None), v("from-literal", None), v("from-file", None), v("from-env-file", None), b("append-hash", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create secret",
        flags: &[],
        subcommands: &["generic", "docker-registry", "tls"],
    },
    Command {
        path: "create secret generic",
        flags: &[b("allow-missing-template-keys", None), v("from-literal", None), v("from-file", None), v("from-env-file", None), v("type", None), b("append-hash", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create secret tls",
        flags: &[b("allow-missing-template-keys", None), v("cert", None), v("key", None), b("append-hash", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create secret docker-registry",
        flags: &[b("allow-missing-template-keys", None), v("docker-username", None), v("docker-password", None), v("docker-email", None), o("docker-server", "https://index.docker.io/v1/"), v("from-file", None), b("append-hash", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create job",
        flags: &[b("allow-missing-template-keys", None), v("image", None), v("from", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create ingress",
        flags: &[
            v("class", None), v("rule", None), v("default-backend", None), v("annotation", None), DRY_RUN, OUTPUT, b("save-config", None),
            o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create cronjob",
        flags: &[b("allow-missing-template-keys", None), v("image", None), v("schedule", None), v("restart", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "create poddisruptionbudget",
        flags: &[v("selector", None), v("min-available", None), v("max-unavailable", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None)],
        subcommands: &[],
    },
    Command {
        path: "create priorityclass",
        flags: &[v("value", None), b("global-default", None), v("description", None), o("preemption-policy", "PreemptLowerPriority"), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None)],
        subcommands: &[],
    },
    Command {
        path: "create token",
        flags: &[
            v("audience", None), v("bound-object-kind", None), v("bound-object-name", None), v("bound-object-uid", None), v("duration", None),
            OUTPUT, v("template", None), b("allow-missing-template-keys", None), b("show-managed-fields", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create quota",
        flags: &[
            v("hard", None), v("scopes", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None),
            v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create role",
        flags: &[
            v("verb", None), v("resource", None), v("resource-name", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"),
            v("field-manager", None), v("template", None), b("show-managed-fields", None), b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create clusterrole",
        flags: &[
            v("verb", None), v("resource", None), v("resource-name", None), v("non-resource-url", None), v("aggregation-rule", None), DRY_RUN,
            OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None),
            b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    // `--user` is also a global flag; the value lands under the same name either way.
    Command {
        path: "create rolebinding",
        flags: &[
            v("role", None), v("clusterrole", None), v("user", None), v("group", None), v("serviceaccount", None), DRY_RUN, OUTPUT,
            b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None),
            b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create clusterrolebinding",
        flags: &[
            v("clusterrole", None), v("user", None), v("group", None), v("serviceaccount", None), DRY_RUN, OUTPUT, b("save-config", None),
            o("validate", "strict"), v("field-manager", None), v("template", None), b("show-managed-fields", None),
            b("allow-missing-template-keys", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "create serviceaccount",
        flags: &[b("allow-missing-template-keys", None), DRY_RUN, OUTPUT, b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "run",
        flags: &[
            b("allow-missing-template-keys", None), v("image", None), v("port", None), v("restart", None), v("labels", Some('l')), v("env", None), b("command", None),
            DRY_RUN, OUTPUT, b("rm", None), b("stdin", Some('i')), b("tty", Some('t')), b("attach", None), v("overrides", None), v("override-type", None),
            b("expose", None), v("image-pull-policy", None), v("annotations", None), b("privileged", None), v("timeout", None),
            v("pod-running-timeout", None), b("quiet", Some('q')), b("save-config", None), v("field-manager", None), v("template", None),
            v("cascade", None), v("grace-period", None), b("force", None), v("filename", Some('f')), b("wait", None),
            b("leave-stdin-open", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "delete",
        flags: &[
            FILENAME, RECURSIVE, SELECTOR, b("all", None), ALL_NS, o("cascade", "background"), v("grace-period", None),
            b("force", None), b("now", None), o("wait", "true"), b("ignore-not-found", None), v("timeout", None), OUTPUT,
            DRY_RUN, v("field-selector", None), b("interactive", Some('i')), v("raw", None), v("kustomize", Some('k')),
        ],
        subcommands: &[],
    },
    Command {
        path: "scale",
        flags: &[b("allow-missing-template-keys", None), RECORD, v("replicas", None), v("current-replicas", None), v("resource-version", None), SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, b("all", None), OUTPUT, DRY_RUN, v("timeout", None), v("template", None)],
        subcommands: &[],
    },
    Command { path: "certificate", flags: &[], subcommands: &["approve", "deny"] },
    Command { path: "certificate approve", flags: &[b("allow-missing-template-keys", None), FILENAME, b("force", None), v("kustomize", Some('k')), OUTPUT, RECURSIVE, b("show-managed-fields", None), v("template", None)], subcommands: &[] },
    Command { path: "certificate deny", flags: &[b("allow-missing-template-keys", None), FILENAME, b("force", None), v("kustomize", Some('k')), OUTPUT, RECURSIVE, b("show-managed-fields", None), v("template", None)], subcommands: &[] },
    Command { path: "rollout", flags: &[], subcommands: &["status", "history", "undo", "restart", "pause", "resume"] },
    Command { path: "rollout status", flags: &[v("revision", None), o("watch", "true"), v("timeout", None), SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE], subcommands: &[] },
    Command { path: "rollout history", flags: &[b("allow-missing-template-keys", None), v("revision", None), OUTPUT, SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, v("template", None)], subcommands: &[] },
    Command { path: "rollout undo", flags: &[b("allow-missing-template-keys", None), v("to-revision", None), DRY_RUN, OUTPUT, SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, v("template", None)], subcommands: &[] },
    Command { path: "rollout restart", flags: &[b("allow-missing-template-keys", None), OUTPUT, SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, v("field-manager", None), v("template", None)], subcommands: &[] },
    Command { path: "rollout pause", flags: &[b("allow-missing-template-keys", None), OUTPUT, SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, v("field-manager", None), v("template", None)], subcommands: &[] },
    Command { path: "rollout resume", flags: &[b("allow-missing-template-keys", None), OUTPUT, SELECTOR, FILENAME, v("kustomize", Some('k')), RECURSIVE, v("field-manager", None), v("template", None)], subcommands: &[] },
    Command { path: "set", flags: &[], subcommands: &["image", "env", "resources", "selector", "serviceaccount", "subject"] },
    Command { path: "set image", flags: &[b("allow-missing-template-keys", None), RECORD, SELECTOR, b("all", None), FILENAME, v("kustomize", Some('k')), RECURSIVE, OUTPUT, DRY_RUN, b("local", None), v("field-manager", None), v("template", None)], subcommands: &[] },
    Command {
        path: "set env",
        flags: &[
            b("all", None), b("allow-missing-template-keys", None), v("containers", Some('c')), DRY_RUN, v("env", Some('e')), v("field-manager", None),
            FILENAME, v("kustomize", Some('k')), v("from", None), v("keys", None), b("list", None), b("local", None), OUTPUT, b("overwrite", None), v("prefix", None), RECURSIVE,
            b("resolve", None), SELECTOR, b("show-managed-fields", None), v("template", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "set subject",
        flags: &[
            b("all", None), b("allow-missing-template-keys", None), DRY_RUN, v("field-manager", None), FILENAME, v("kustomize", Some('k')), v("group", None), b("local", None),
            OUTPUT, RECURSIVE, SELECTOR, v("serviceaccount", None), b("show-managed-fields", None), v("template", None), v("user", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "set selector",
        flags: &[
            b("all", None), b("allow-missing-template-keys", None), DRY_RUN, v("field-manager", None), FILENAME, b("local", None), OUTPUT,
            RECURSIVE, v("resource-version", None), b("show-managed-fields", None), v("template", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "set resources",
        flags: &[
            RECORD,
            b("all", None), b("allow-missing-template-keys", None), v("containers", Some('c')), DRY_RUN, v("field-manager", None), FILENAME, v("kustomize", Some('k')),
            v("limits", None), b("local", None), OUTPUT, RECURSIVE, v("requests", None), SELECTOR, b("show-managed-fields", None), v("template", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "set serviceaccount",
        flags: &[
            RECORD,
            b("all", None), b("allow-missing-template-keys", None), DRY_RUN, v("field-manager", None), FILENAME, v("kustomize", Some('k')), b("local", None), OUTPUT, RECURSIVE,
            b("show-managed-fields", None), v("template", None),
        ],
        subcommands: &[],
    },
    Command {
        path: "label",
        flags: &[b("allow-missing-template-keys", None), b("overwrite", None), SELECTOR, b("all", None), ALL_NS, b("list", None), v("resource-version", None), FILENAME, v("kustomize", Some('k')), RECURSIVE, OUTPUT, DRY_RUN, b("local", None), v("field-selector", None), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command {
        path: "annotate",
        flags: &[b("allow-missing-template-keys", None), b("overwrite", None), SELECTOR, b("all", None), ALL_NS, b("list", None), v("resource-version", None), FILENAME, v("kustomize", Some('k')), RECURSIVE, OUTPUT, DRY_RUN, b("local", None), v("field-selector", None), v("field-manager", None), v("template", None)],
        subcommands: &[],
    },
    Command { path: "cordon", flags: &[SELECTOR, DRY_RUN], subcommands: &[] },
    Command { path: "uncordon", flags: &[SELECTOR, DRY_RUN], subcommands: &[] },
    Command {
        path: "drain",
        flags: &[SELECTOR, DRY_RUN, b("ignore-daemonsets", None), b("delete-emptydir-data", None), b("delete-local-data", None), b("force", None), v("grace-period", None), v("timeout", None), b("disable-eviction", None), v("pod-selector", None), v("chunk-size", None), v("skip-wait-for-delete-timeout", None)],
        subcommands: &[],
    },
    Command { path: "taint", flags: &[b("allow-missing-template-keys", None), b("overwrite", None), SELECTOR, b("all", None), DRY_RUN, OUTPUT, v("field-manager", None), v("template", None), b("validate", None)], subcommands: &[] },
    Command { path: "wait", flags: &[b("allow-missing-template-keys", None), v("for", None), v("timeout", None), SELECTOR, b("all", None), ALL_NS, FILENAME, RECURSIVE, v("field-selector", None), OUTPUT, b("local", None), v("template", None)], subcommands: &[] },
    Command { path: "patch", flags: &[b("allow-missing-template-keys", None), v("patch", Some('p')), v("type", None), FILENAME, v("kustomize", Some('k')), RECURSIVE, OUTPUT, DRY_RUN, b("local", None), v("patch-file", None), v("subresource", None), v("field-manager", None), v("template", None)], subcommands: &[] },
    Command { path: "replace", flags: &[b("allow-missing-template-keys", None), FILENAME, v("kustomize", Some('k')), RECURSIVE, OUTPUT, DRY_RUN, b("force", None), o("cascade", "background"), v("grace-period", None), v("timeout", None), b("wait", None), b("save-config", None), o("validate", "strict"), v("field-manager", None), v("template", None)], subcommands: &[] },
    Command { path: "expose", flags: &[b("allow-missing-template-keys", None), v("port", None), v("target-port", None), v("type", None), v("name", None), v("protocol", None), SELECTOR, v("labels", Some('l')), v("external-ip", None), v("cluster-ip", None), FILENAME, v("kustomize", Some('k')), OUTPUT, DRY_RUN, v("session-affinity", None), v("load-balancer-ip", None), b("save-config", None), v("field-manager", None), v("template", None), v("override-type", None), v("overrides", None)], subcommands: &[] },
    Command { path: "edit", flags: &[b("allow-missing-template-keys", None), OUTPUT, FILENAME, v("kustomize", Some('k')), b("save-config", None), v("field-manager", None), b("windows-line-endings", None), v("subresource", None), o("validate", "strict")], subcommands: &[] },
    Command { path: "cp", flags: &[v("container", Some('c')), b("no-preserve", None), v("retries", None)], subcommands: &[] },
    Command { path: "exec", flags: &[v("container", Some('c')), b("stdin", Some('i')), b("tty", Some('t')), b("quiet", Some('q')), FILENAME, v("pod-running-timeout", None)], subcommands: &[] },
    Command {
        path: "debug",
        flags: &[
            FILENAME, b("arguments-only", None), b("attach", None), v("container", Some('c')), v("copy-to", None), b("replace", None), v("env", None), v("image", None),
            b("keep-labels", None), b("keep-annotations", None), b("keep-liveness", None), b("keep-readiness", None), b("keep-startup", None), b("keep-init-containers", None),
            v("set-image", None), v("image-pull-policy", None), b("stdin", Some('i')), b("quiet", Some('q')), b("same-node", None), b("share-processes", None),
            v("target", None), b("tty", Some('t')), v("profile", None), v("custom", None),
        ],
        subcommands: &[],
    },
    Command { path: "attach", flags: &[v("container", Some('c')), b("stdin", Some('i')), b("tty", Some('t')), b("quiet", Some('q')), v("pod-running-timeout", None)], subcommands: &[] },
    Command {
        path: "proxy",
        flags: &[
            v("www", Some('w')), v("www-prefix", Some('P')), v("api-prefix", None), v("accept-paths", None), v("reject-paths", None), v("accept-hosts", None),
            v("reject-methods", None), v("port", Some('p')), v("address", None), b("disable-filter", None), v("unix-socket", Some('u')), v("keepalive", None),
            b("append-server-path", None),
        ],
        subcommands: &[],
    },
    Command { path: "port-forward", flags: &[v("address", None), v("pod-running-timeout", None)], subcommands: &[] },
    Command { path: "top", flags: &[], subcommands: &["node", "pod", "nodes", "pods", "no", "po"] },
    Command { path: "top node", flags: &[SELECTOR, b("no-headers", None), b("show-capacity", None), v("sort-by", None), b("use-protocol-buffers", None)], subcommands: &[] },
    Command {
        path: "top pod",
        flags: &[ALL_NS, b("containers", None), v("field-selector", None), b("no-headers", None), SELECTOR, v("sort-by", None), b("sum", None), b("use-protocol-buffers", None)],
        subcommands: &[],
    },
    Command {
        path: "autoscale",
        flags: &[
            b("allow-missing-template-keys", None), v("cpu-percent", None), DRY_RUN, v("field-manager", None), FILENAME, v("kustomize", Some('k')),
            v("max", None), v("min", None), v("name", None), OUTPUT, RECURSIVE, b("save-config", None), b("show-managed-fields", None), v("template", None),
        ],
        subcommands: &[],
    },
    Command { path: "events", flags: &[b("allow-missing-template-keys", None), ALL_NS, v("for", None), v("types", None), b("watch", Some('w')), OUTPUT, b("no-headers", None), v("chunk-size", None), v("template", None)], subcommands: &[] },
    Command { path: "version", flags: &[b("client", None), OUTPUT], subcommands: &[] },
    Command { path: "cluster-info", flags: &[], subcommands: &["dump"] },
    Command { path: "cluster-info dump", flags: &[b("allow-missing-template-keys", None), OUTPUT, ALL_NS, v("namespaces", None), v("output-directory", None), v("pod-running-timeout", None)], subcommands: &[] },
    Command { path: "api-resources", flags: &[o("namespaced", "true"), OUTPUT, v("api-group", None), v("verbs", None), b("no-headers", None), v("sort-by", None), b("cached", None), v("categories", None)], subcommands: &[] },
    Command { path: "api-versions", flags: &[], subcommands: &[] },
    Command { path: "explain", flags: &[b("recursive", None), v("api-version", None), v("output", None)], subcommands: &[] },
    Command { path: "config", flags: &[], subcommands: &["view", "current-context", "get-contexts", "use-context", "set-context"] },
    Command { path: "auth", flags: &[], subcommands: &["can-i", "whoami", "reconcile"] },
    Command {
        path: "auth can-i",
        flags: &[ALL_NS, b("quiet", Some('q')), v("subresource", None), b("list", None), b("no-headers", None)],
        subcommands: &[],
    },
    Command { path: "auth whoami", flags: &[OUTPUT, b("allow-missing-template-keys", None), b("show-managed-fields", None), v("template", None)], subcommands: &[] },
    Command { path: "auth reconcile", flags: &[b("allow-missing-template-keys", None), FILENAME, RECURSIVE, v("kustomize", Some('k')), OUTPUT, DRY_RUN, b("remove-extra-permissions", None), b("remove-extra-subjects", None)], subcommands: &[] },
    Command { path: "config view", flags: &[b("allow-missing-template-keys", None), OUTPUT, b("minify", None), b("raw", None), b("flatten", None)], subcommands: &[] },
    Command { path: "config current-context", flags: &[], subcommands: &[] },
    Command { path: "config get-contexts", flags: &[OUTPUT, b("no-headers", None)], subcommands: &[] },
    Command { path: "config use-context", flags: &[], subcommands: &[] },
    Command { path: "config set-context", flags: &[b("current", None), v("namespace", None), v("cluster", None), v("user", None)], subcommands: &[] },
];

/// A parsed command line.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `get`, `rollout status`, `create deployment`.
    pub command: String,
    pub positionals: Vec<String>,
    /// Flag values by long name, in the order given.
    values: BTreeMap<&'static str, Vec<String>>,
    /// Words after `--`.
    pub after_dash: Vec<String>,
    /// The command's words as typed (`set`, `image`), for `--record`.
    command_words: Vec<String>,
    /// Every flag given, by long name, in the order given, for `--record`.
    flags_in_order: Vec<(&'static str, String)>,
}

impl Args {
    /// The last value given for a flag (`-o yaml -o json` → `json`).
    pub fn value(&self, long: &str) -> Option<&str> {
        self.values.get(long).and_then(|v| v.last()).map(String::as_str)
    }
    /// Every value given for a repeatable flag (`-f a.yaml -f b.yaml`).
    pub fn values(&self, long: &str) -> &[String] {
        self.values.get(long).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn has(&self, long: &str) -> bool {
        self.values.contains_key(long)
    }
    /// A pflag `StringSlice` flag (`--verb=get,list --verb=watch`): each
    /// value read as one CSV record, the records joined. The error is
    /// pflag's, for `See 'kubectl … --help' for usage.` to follow.
    pub fn string_slice(&self, long: &str) -> Result<Vec<String>, String> {
        let mut all = Vec::new();
        for value in self.values(long) {
            let fields = csv_record(value).map_err(|e| format!("invalid argument {} for \"--{long}\" flag: {e}", quote(value)))?;
            all.extend(fields);
        }
        Ok(all)
    }
    /// A boolean flag: given without a value, or with `=true`.
    pub fn flag(&self, long: &str) -> bool {
        self.value(long).is_some_and(|v| v == "true")
    }
    /// `rollout status` → `rollout status`; used in `See 'kubectl … --help'`.
    pub fn verb_path(&self) -> &str {
        &self.command
    }
    /// The change cause `--record` writes: what record_flags.go's
    /// `parseCommandArguments` makes of the command line, `kubectl`, the
    /// words that are not flags (the command's, then its arguments), then
    /// each flag as ` --<long name>=<value>` in the order given.
    pub fn recorded_command_line(&self) -> String {
        let mut line = "kubectl".to_string();
        for word in self.command_words.iter().chain(&self.positionals).chain(&self.after_dash) {
            line.push(' ');
            line.push_str(word);
        }
        for (name, value) in &self.flags_in_order {
            line.push_str(&format!(" --{name}={value}"));
        }
        line
    }
    /// The first word of the command: `rollout` for `rollout status`.
    pub fn verb(&self) -> &str {
        self.command.split(' ').next().unwrap_or("")
    }
}

impl Args {
    fn set(&mut self, long: &'static str, value: String) {
        self.flags_in_order.push((long, value.clone()));
        self.values.entry(long).or_default().push(value);
    }
}

/// The first record of a value as Go's `encoding/csv` reader reads it
/// (pflag's `readAsCSV`): fields split on `,`, a field in `"…"` may hold `,`
/// and `""` (a quote); empty lines before the record are skipped, an empty
/// value has no fields. Errors are `csv.ParseError`'s text.
fn csv_record(value: &str) -> Result<Vec<String>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    // Go's readLine reads "\r\n" as "\n" and drops a last line's "\r".
    let normalized = value.replace("\r\n", "\n");
    let mut rest = normalized.strip_suffix('\r').unwrap_or(&normalized);
    let mut line = 1;
    while let Some(after) = rest.strip_prefix('\n') {
        rest = after;
        line += 1;
    }
    if rest.is_empty() {
        return Err("EOF".to_string());
    }
    let start_line = line;
    let parse_error = |line: usize, column: usize, what: &str| {
        if line == start_line {
            format!("parse error on line {line}, column {column}: {what}")
        } else {
            format!("record on line {start_line}; parse error on line {line}, column {column}: {what}")
        }
    };
    const BARE_QUOTE: &str = "bare \" in non-quoted-field";
    const QUOTE: &str = "extraneous or missing \" in quoted-field";
    let mut fields = Vec::new();
    let mut column = 1;
    loop {
        let Some(quoted) = rest.strip_prefix('"') else {
            let end = rest.find([',', '\n']).unwrap_or(rest.len());
            let (field, tail) = split_at(rest, end);
            if let Some(quote_at) = field.find('"') {
                return Err(parse_error(line, column + quote_at, BARE_QUOTE));
            }
            fields.push(field.to_string());
            match tail.strip_prefix(',') {
                Some(next) => {
                    rest = next;
                    column += end + 1;
                    continue;
                }
                None => return Ok(fields),
            }
        };
        rest = quoted;
        column += 1;
        let mut field = String::new();
        // The closing quote is looked for line by line, as Go reads them.
        loop {
            let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let (segment, after_line) = split_at(rest, line_end);
            if let Some(at) = segment.find('"') {
                let (text, after_quote) = split_at(rest, at);
                field.push_str(text);
                rest = after_quote.strip_prefix('"').unwrap_or(after_quote);
                column += at + 1;
                if let Some(next) = rest.strip_prefix('"') {
                    field.push('"');
                    rest = next;
                    column += 1;
                } else if let Some(next) = rest.strip_prefix(',') {
                    fields.push(field);
                    rest = next;
                    column += 1;
                    break;
                } else if rest.is_empty() || rest.starts_with('\n') {
                    fields.push(field);
                    return Ok(fields);
                } else {
                    return Err(parse_error(line, column - 1, QUOTE));
                }
            } else if !segment.is_empty() {
                field.push_str(segment);
                rest = after_line;
                column += segment.len();
                if !rest.is_empty() {
                    line += 1;
                    column = 1;
                }
            } else {
                return Err(parse_error(line, column, QUOTE));
            }
        }
    }
}

/// `text` split at a byte offset found in it (never panics).
fn split_at(text: &str, at: usize) -> (&str, &str) {
    (text.get(..at).unwrap_or(text), text.get(at..).unwrap_or(""))
}

/// The line after a flag error: cobra's, or a command's own flag error
/// function's (`kubectl diff` words it as a usage error).
fn usage_hint(path: &str) -> String {
    match path {
        "diff" => crate::engine::kubectl::verbs::diff::USAGE_HINT.to_string(),
        _ => format!("See 'kubectl {path} --help' for usage."),
    }
}

fn find_command(path: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.path == path)
}

fn canonical_subcommand(word: &str) -> &str {
    match word {
        "deploy" => "deployment",
        "ns" => "namespace",
        "svc" => "service",
        "cm" => "configmap",
        "cj" => "cronjob",
        "sa" => "serviceaccount",
        "pc" => "priorityclass",
        "pdb" => "poddisruptionbudget",
        "ing" => "ingress",
        "resourcequota" => "quota",
        "nodes" | "no" => "node",
        "pods" | "po" => "pod",
        other => other,
    }
}

/// kubectl 1.33's commands this cluster does not offer, and why: refused
/// with that, not with the "unknown command" kubectl gives a command it
/// does not have.
fn not_simulated(word: &str) -> Option<&'static str> {
    Some(match word {
        "completion" => "there is no shell here to complete commands in",
        "plugin" => "there are no plugins to list",
        "alpha" => "kubectl's alpha commands are not offered",
        _ => return None,
    })
}

/// kubectl's commands as its root command holds them (cobra's
/// `c.commands`: the help groups' order, then those added after), without
/// the ones cobra does not offer (`help`, an `alpha` with no subcommands),
/// each with the words it is explicitly suggested for.
const ROOT_COMMANDS: &[(&str, &[&str])] = &[
    ("create", &[]), ("expose", &[]), ("run", &[]), ("set", &[]),
    ("explain", &[]), ("get", &["list", "ps"]), ("edit", &[]), ("delete", &["rm"]),
    ("rollout", &[]), ("scale", &[]), ("autoscale", &[]),
    ("certificate", &[]), ("cluster-info", &[]), ("top", &[]), ("cordon", &[]), ("uncordon", &[]), ("drain", &[]), ("taint", &[]),
    ("describe", &[]), ("logs", &[]), ("attach", &[]), ("exec", &[]), ("port-forward", &[]), ("proxy", &[]), ("cp", &[]), ("auth", &[]), ("debug", &[]), ("events", &[]),
    ("diff", &[]), ("apply", &[]), ("patch", &[]), ("replace", &[]), ("wait", &["list", "ps"]), ("kustomize", &[]),
    ("label", &[]), ("annotate", &[]), ("completion", &[]),
    ("config", &[]), ("plugin", &[]), ("version", &[]), ("api-versions", &[]), ("api-resources", &[]), ("options", &[]),
];

/// cobra's `findSuggestions` for an unknown root command: the commands
/// within a Levenshtein distance of 2 (ignoring case), those it begins, and
/// those naming it among their suggestions, in the root's order.
fn command_suggestions(typed: &str) -> String {
    let typed_lower = typed.to_lowercase();
    let mut found = Vec::new();
    for (name, suggested_for) in ROOT_COMMANDS {
        if levenshtein(&typed_lower, name) <= 2 || name.starts_with(&typed_lower) {
            found.push(*name);
        }
        if suggested_for.iter().any(|word| word.eq_ignore_ascii_case(typed)) {
            found.push(*name);
        }
    }
    if found.is_empty() {
        return String::new();
    }
    let mut text = String::from("\n\nDid you mean this?\n");
    for name in found {
        text.push_str(&format!("\t{name}\n"));
    }
    text
}

/// Edit distance over characters, as cobra's `ld`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb { diagonal } else { 1 + diagonal.min(above).min(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Parses words (without the leading `kubectl`). Errors are kubectl's lines.
pub fn parse(words: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    // Global flags may come before the verb: `kubectl -n kube-system get pods`.
    let mut i = 0;
    let mut command: Option<&'static Command> = None;
    let mut pending: Vec<String> = Vec::new();
    while i < words.len() {
        let w = &words[i];
        if command.is_none() && !w.starts_with('-') {
            command = find_command(w);
            if command.is_none() {
                if let Some(why) = not_simulated(w) {
                    return Err(format!("error: kubectl {w} is not part of this simulation: {why}"));
                }
                return Err(format!("error: unknown command \"{w}\" for \"kubectl\"{}", command_suggestions(w)));
            }
            args.command_words.push(w.clone());
            i += 1;
            break;
        }
        pending.push(w.clone());
        i += 1;
        // A global flag's separate value (`-n kube-system get`) is not the verb.
        let takes_value = |f: &Flag| f.kind == FlagKind::Value;
        let separate_value = match w.strip_prefix("--") {
            Some(long) => !long.contains('=') && GLOBAL.iter().any(|f| f.long == long && takes_value(f)),
            None => w.len() == 2 && GLOBAL.iter().any(|f| w.chars().nth(1) == f.short && takes_value(f)),
        };
        if separate_value && i < words.len() {
            pending.push(words[i].clone());
            i += 1;
        }
    }
    let Some(mut command) = command else {
        if pending.iter().any(|w| w == "-h" || w == "--help") || pending.is_empty() {
            return Ok(Args { command: String::new(), ..Default::default() });
        }
        return Err("error: You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.".to_string());
    };
    let mut rest: Vec<String> = pending;
    rest.extend(words[i..].iter().cloned());
    // Descend into sub-commands while the first positional names one.
    let mut positionals_started = false;
    let mut remaining = rest.into_iter().peekable();
    let mut collected: Vec<String> = Vec::new();
    while let Some(w) = remaining.next() {
        if !positionals_started && !w.starts_with('-') && !command.subcommands.is_empty() {
            let sub = canonical_subcommand(&w);
            if command.subcommands.contains(&w.as_str()) || command.subcommands.contains(&sub) {
                let path = format!("{} {}", command.path, sub);
                if let Some(c) = find_command(&path) {
                    command = c;
                    args.command_words.push(w);
                    continue;
                }
                // A known sub-command without its own table keeps the parent's flags.
                collected.push(w);
                positionals_started = true;
                continue;
            }
        }
        if !w.starts_with('-') {
            positionals_started = true;
        }
        collected.push(w);
    }
    args.command = command.path.to_string();
    let table: Vec<Flag> = GLOBAL.iter().chain(command.flags.iter()).copied().collect();
    let mut it = collected.into_iter();
    while let Some(w) = it.next() {
        if w == "--" {
            args.after_dash.extend(it.by_ref());
            break;
        }
        if let Some(body) = w.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(flag) = table.iter().find(|f| f.long == name) else {
                return Err(format!("error: unknown flag: --{name}\n{}", usage_hint(command.path)));
            };
            let value = match (flag.kind, inline) {
                (_, Some(v)) => v,
                (FlagKind::Bool, None) => "true".to_string(),
                (FlagKind::OptionalValue(d), None) => d.to_string(),
                (FlagKind::Value, None) => match it.next() {
                    Some(v) => v,
                    None => return Err(format!("error: flag needs an argument: --{name}\n{}", usage_hint(command.path))),
                },
            };
            check_bool_value(flag, &value, command.path)?;
            args.set(flag.long, value);
        } else if let Some(body) = w.strip_prefix('-').filter(|b| !b.is_empty()) {
            let chars: Vec<char> = body.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                let Some(flag) = table.iter().find(|f| f.short == Some(c)) else {
                    return Err(format!("error: unknown shorthand flag: '{c}' in -{body}\n{}", usage_hint(command.path)));
                };
                match flag.kind {
                    FlagKind::Bool | FlagKind::OptionalValue(_) => {
                        let rest: String = chars[k + 1..].iter().collect();
                        if let Some(v) = rest.strip_prefix('=') {
                            check_bool_value(flag, v, command.path)?;
                            args.set(flag.long, v.to_string());
                            break;
                        }
                        let default = if let FlagKind::OptionalValue(d) = flag.kind { d } else { "true" };
                        args.set(flag.long, default.to_string());
                        k += 1;
                    }
                    FlagKind::Value => {
                        let rest: String = chars[k + 1..].iter().collect();
                        let value = if !rest.is_empty() {
                            rest.strip_prefix('=').unwrap_or(&rest).to_string()
                        } else {
                            match it.next() {
                                Some(v) => v,
                                None => return Err(format!("error: flag needs an argument: '{c}' in -{c}\n{}", usage_hint(command.path))),
                            }
                        };
                        args.set(flag.long, value);
                        break;
                    }
                }
            }
        } else {
            args.positionals.push(w);
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Args, String> {
        parse(&shell_words::split(line).unwrap())
    }

    #[test]
    fn parses_flags_like_pflag() {
        let a = p("get pods -n kube-system -o wide --show-labels").unwrap();
        assert_eq!(a.command, "get");
        assert_eq!(a.positionals, vec!["pods"]);
        assert_eq!(a.value("namespace"), Some("kube-system"));
        assert_eq!(a.value("output"), Some("wide"));
        assert!(a.flag("show-labels"));
        let a = p("-n kube-system get po -oyaml").unwrap();
        assert_eq!(a.value("namespace"), Some("kube-system"));
        assert_eq!(a.value("output"), Some("yaml"));
        let a = p("get pods -A -l app=web,tier=fe").unwrap();
        assert!(a.flag("all-namespaces"));
        assert_eq!(a.value("selector"), Some("app=web,tier=fe"));
    }

    #[test]
    fn descends_into_subcommands() {
        let a = p("rollout status deploy/web --timeout=30s").unwrap();
        assert_eq!(a.command, "rollout status");
        assert_eq!(a.positionals, vec!["deploy/web"]);
        let a = p("create deploy web --image=nginx --replicas 3").unwrap();
        assert_eq!(a.command, "create deployment");
        assert_eq!(a.value("replicas"), Some("3"));
        let a = p("delete deploy web --cascade=orphan").unwrap();
        assert_eq!(a.value("cascade"), Some("orphan"));
        let a = p("delete deploy web --cascade").unwrap();
        assert_eq!(a.value("cascade"), Some("background"));
    }

    /// What kubectl 1.33.1 made of these `--verb` values (values with line
    /// breaks, which a command line cannot hold, passed to it directly).
    #[test]
    fn reads_string_slices_as_go_csv_records() {
        let ok = |fields: &[&str]| Ok(fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
        let quote_error = |at: &str| Err(format!("{at}: extraneous or missing \" in quoted-field"));
        assert_eq!(csv_record("get\nlist"), ok(&["get"]));
        assert_eq!(csv_record("\nget,put"), ok(&["get", "put"]));
        assert_eq!(csv_record("\r\n\r\nget"), ok(&["get"]));
        assert_eq!(csv_record("get\r"), ok(&["get"]));
        assert_eq!(csv_record("a\n\"b"), ok(&["a"]));
        assert_eq!(csv_record("\"a\nb\",get"), ok(&["a\nb", "get"]));
        assert_eq!(csv_record("\n"), Err("EOF".to_string()));
        assert_eq!(csv_record("\r"), Err("EOF".to_string()));
        assert_eq!(csv_record("\"a\nb\"c"), quote_error("record on line 1; parse error on line 2, column 2"));
        assert_eq!(csv_record("\"a\n\"\"b"), quote_error("record on line 1; parse error on line 2, column 4"));
        assert_eq!(csv_record(""), ok(&[]));
    }

    #[test]
    fn checks_a_boolean_flags_value_as_pflag_does() {
        assert_eq!(
            p("get pods -w=maybe").unwrap_err(),
            "error: invalid argument \"maybe\" for \"-w, --watch\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax\nSee 'kubectl get --help' for usage."
        );
        assert!(p("kustomize --enable-helm=maybe").unwrap_err().contains("for \"--enable-helm\" flag: strconv.ParseBool"));
        assert!(p("kustomize --enable-helm=F").is_ok());
    }

    #[test]
    fn reports_unknown_flags_and_commands() {
        assert_eq!(p("get pods --bogus").unwrap_err(), "error: unknown flag: --bogus\nSee 'kubectl get --help' for usage.");
        assert_eq!(p("get pods -z").unwrap_err(), "error: unknown shorthand flag: 'z' in -z\nSee 'kubectl get --help' for usage.");
        assert!(p("frobnicate").unwrap_err().starts_with("error: unknown command \"frobnicate\" for \"kubectl\""));
        assert!(p("get pods -n").unwrap_err().starts_with("error: flag needs an argument: 'n' in -n"));
    }
}

/// pflag parses a boolean flag's value as it sets it, naming the flag
/// with its shorthand.
fn check_bool_value(flag: &Flag, value: &str, command: &str) -> Result<(), String> {
    if flag.kind != FlagKind::Bool || parse_go_bool(value).is_some() {
        return Ok(());
    }
    let name = match flag.short {
        Some(c) => format!("-{c}, --{}", flag.long),
        None => format!("--{}", flag.long),
    };
    Err(format!("error: invalid argument {0} for \"{name}\" flag: strconv.ParseBool: parsing {0}: invalid syntax\n{1}", quote(value), usage_hint(command)))
}

/// Go's `strconv.ParseBool`, as pflag reads a boolean flag's value.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
