//! Property tests of every path user input takes (proptest): arbitrary
//! bytes and input shaped like the real thing, for the YAML/JSON decoder,
//! kubectl's argument parser and verbs, JSONPath, label and field
//! selectors, patches, scripts, etcdctl lines, share-link fragments and the
//! autosaved scene. The property is always that nothing panics; some add
//! what must hold (a selector matches as its requirements say, a merge
//! patch applied twice is applied once, a scene survives its link).
//!
//! CI runs the default number of cases; `PROPTEST_CASES=100000 cargo test
//! --release --test properties` is the long run (see the README's fuzzing
//! figures, which add the coverage-guided `fuzz/` targets).
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use miniplane::engine::api::{self, go_time, Object};
use k8s_openapi::jiff;
use miniplane::engine::apiserver::{decode, defaults, patch, validation};
use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::{self, args, printers::jsonpath::Template, NoFiles};
use miniplane::engine::script;
use miniplane::engine::selector::{FieldSelector, Selector};
use miniplane::scene::{self, Action, Scene, Timed};

// ---- Shapes of input -------------------------------------------------------

/// Words people type into kubectl, and some they should not.
const KUBECTL_WORDS: &[&str] = &[
    "get", "describe", "apply", "create", "delete", "scale", "rollout", "status", "undo", "history", "restart", "logs", "label",
    "annotate", "taint", "cordon", "uncordon", "drain", "wait", "patch", "run", "expose", "set", "image", "events", "version",
    "api-resources", "explain", "deployment", "job", "cronjob", "configmap", "secret", "generic", "service", "clusterip", "pods",
    "po", "deploy", "rs", "nodes", "svc", "ns", "all", "web", "worker-1", "web=nginx", "x=y", "-n", "kube-system", "-A", "-o",
    "yaml", "json", "wide", "name", "jsonpath={.items[*].metadata.name}", "jsonpath={range .items[*]}{.metadata.name}{end}",
    "custom-columns=N:.metadata.name", "-l", "app=web", "app in (a,b),!x", "--replicas=3", "--replicas=-1", "--image=nginx",
    "--cascade=orphan", "--for=delete", "--for=condition=Ready", "--timeout=1s", "--type=json", "--type=merge", "-p",
    "{\"spec\":{\"replicas\":2}}", "[{\"op\":\"remove\",\"path\":\"/spec/replicas\"}]", "--grace-period=0", "--force", "--", "sh",
    "-c", "echo hi", "node-role.kubernetes.io/control-plane:NoSchedule-", "a=b:NoExecute", "deploy/web", "pod/", "--from-literal=k=v",
    "--field-selector=status.phase=Running", "--sort-by=.metadata.name", "-L", "app", "--show-labels", "-f", "-", "--dry-run=client",
    "--to-revision=99", "-c", "nginx", "--tail=-5", "--port=80", "--restart=Never", "--schedule=*/1 * * * *", "=", "-", "--",
];

fn kubectl_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![4 => prop::sample::select(KUBECTL_WORDS).prop_map(str::to_string), 1 => ".{0,12}"], 0..8)
        .prop_map(|words| shell_words::join(words))
}

/// Field names of Kubernetes objects, so shaped input reaches deep into decoders.
const FIELDS: &[&str] = &[
    "metadata", "name", "namespace", "labels", "annotations", "spec", "status", "replicas", "selector", "matchLabels",
    "matchExpressions", "key", "operator", "values", "template", "containers", "initContainers", "image", "command", "args",
    "ports", "containerPort", "protocol", "resources", "requests", "limits", "cpu", "memory", "env", "value", "valueFrom",
    "volumes", "volumeMounts", "mountPath", "strategy", "type", "rollingUpdate", "maxSurge", "maxUnavailable", "completions",
    "parallelism", "backoffLimit", "restartPolicy", "nodeName", "tolerations", "effect", "tolerationSeconds", "affinity",
    "nodeSelector", "data", "stringData", "finalizers", "ownerReferences", "uid", "generateName", "schedule", "jobTemplate",
    "clusterIP", "targetPort", "nodePort", "terminationGracePeriodSeconds", "livenessProbe", "httpGet", "path", "port",
    "periodSeconds", "serviceName", "volumeClaimTemplates", "accessModes", "storage", "minReadySeconds", "paused",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1000i64..1000).prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        prop::sample::select(&["", "nginx", "web", "100m", "1Gi", "TCP", "Always", "apps/v1", "-1", "25%", "a=b", "x.y/z", "ÿ\u{0}"][..]).prop_map(|s| json!(s)),
        ".{0,16}".prop_map(|s| json!(s)),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop_oneof![3 => prop::sample::select(FIELDS).prop_map(str::to_string), 1 => ".{0,8}"], inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object of a real kind with a plausible name and arbitrary fields.
fn shaped_object() -> impl Strategy<Value = Value> {
    let kinds: Vec<(String, &'static str)> = api::RESOURCES.iter().map(|r| (r.api_version(), r.kind)).collect();
    (prop::sample::select(kinds), "[a-z][a-z0-9-]{0,10}", tree(), tree()).prop_map(|((api_version, kind), name, spec, extra)| {
        let mut obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec});
        if let (Some(map), Value::Object(extra)) = (obj.as_object_mut(), extra) {
            for (k, v) in extra.into_iter().take(3) {
                if k != "apiVersion" && k != "kind" {
                    map.insert(k, v);
                }
            }
        }
        obj
    })
}

fn json_pointer() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![prop::sample::select(FIELDS).prop_map(str::to_string), (0u8..4).prop_map(|n| n.to_string()), Just("-".to_string()), Just("~1x".to_string())], 0..4)
        .prop_map(|parts| parts.iter().map(|p| format!("/{p}")).collect())
}

fn json_patch_ops() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (prop::sample::select(&["add", "remove", "replace", "move", "copy", "test", "bogus"][..]), json_pointer(), json_pointer(), tree())
            .prop_map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value})),
        0..5,
    )
    .prop_map(Value::Array)
}

// ---- One cluster for the properties that run commands ----------------------

thread_local! {
    static CLUSTER: RefCell<Option<(Cluster, usize)>> = const { RefCell::new(None) };
}

/// A shared minikube cluster, rebuilt every 200 uses so no run grows without bound.
fn with_cluster<T>(f: impl FnOnce(&mut Cluster) -> T) -> T {
    CLUSTER.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.as_ref().is_none_or(|(_, uses)| *uses >= 200) {
            *slot = Some((Cluster::new(Profile::new(ProfileKind::Minikube), 9), 0));
        }
        let (cluster, uses) = slot.as_mut().expect("cluster just made");
        *uses += 1;
        f(cluster)
    })
}

fn decode_all(text: &str) {
    let parsed = decode::parse_manifests(text);
    for doc in &parsed.documents {
        let _ = decode::check_type_meta(&doc.value);
        let _ = decode::document_identity(&doc.value);
        if let Ok(rid) = decode::resolve_kind(&doc.value, "-") {
            if let Ok(mut obj) = decode::decode_object(rid, &doc.value) {
                defaults::apply(&mut obj);
                let _ = validation::validate_create(&obj);
                let _ = validation::validate_update(&obj, &obj);
                let _ = obj.to_json();
            }
        }
    }
}

// ---- Properties -------------------------------------------------------------

proptest! {
    #[test]
    fn manifests_of_any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn quoted_scalars_stay_texts_and_plain_ones_read_or_fail_cleanly(text in "([0-9]|_|\\.|\\+|-|e|E|x|X|o|O|b|B|y|Y|n|N|:|~|!|&|[a-z]|[A-Z]| ){0,16}") {
        // Quoted, any scalar is the text it quotes, whatever it looks like.
        let quoted = format!("a: '{}'\n", text.replace('\'', "''"));
        let parsed = decode::parse_manifests(&quoted);
        prop_assert!(parsed.error.is_none(), "{quoted:?}: {:?}", parsed.error);
        prop_assert_eq!(parsed.documents.first().map(|d| d.value["a"].clone()), Some(Value::String(text.clone())));
        // Plain (and as a key), it is read as go-yaml reads it or refused.
        decode_all(&format!("a: {text}\n{text}: 1\n- {text}\n"));
        decode_all(&format!("a: [{text}, {{{text}: {text}}}]\n"));
    }

    #[test]
    fn manifests_of_any_text_decode_or_fail_cleanly(text in "(\\PC|\\n|\\t| |:|-|\\[|\\]|\\{|\\}|&|\\*|!|#|'|\"){0,200}") {
        decode_all(&text);
    }

    #[test]
    fn shaped_objects_decode_default_and_validate(obj in shaped_object()) {
        let yaml = serde_yaml::to_string(&obj).unwrap_or_default();
        decode_all(&yaml);
        decode_all(&obj.to_string());
        decode_all(&format!("{yaml}---\n{yaml}"));
    }

    #[test]
    fn times_of_any_text_parse_or_fail_cleanly(text in "([0-9]|-|:|T|t|Z|z|\\.|,|\\+| |\\PC){0,40}") {
        for layout in [go_time::Layout::Rfc3339, go_time::Layout::Rfc3339Micro] {
            if let Err(message) = go_time::parse(layout, &text) {
                // Go's wording, which the API server passes on as it is.
                prop_assert!(message.starts_with("parsing time \""), "{}", message);
            }
        }
    }

    #[test]
    fn times_as_go_writes_them_read_back(seconds in 0i64..253_402_300_800, micros in 0i64..1_000_000, offset_minutes in -1439i64..1440) {
        // RFC 3339 with a zone offset, as Go's `Format` writes a time that is
        // not UTC: the same instant read back, whichever layout.
        let instant = jiff::Timestamp::new(seconds, i32::try_from(micros * 1000).unwrap_or(0)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let offset = jiff::tz::Offset::from_seconds(i32::try_from(offset_minutes * 60).unwrap_or(0)).unwrap_or(jiff::tz::Offset::UTC);
        let local = offset.to_datetime(instant);
        if (0..=9999).contains(&local.year()) {
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let zone = format!("{sign}{:02}:{:02}", offset_minutes.abs() / 60, offset_minutes.abs() % 60);
            let whole = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            let micro_text = format!("{whole}.{:06}{zone}", micros);
            prop_assert_eq!(go_time::parse(go_time::Layout::Rfc3339Micro, &micro_text), Ok(instant));
            prop_assert_eq!(go_time::parse(go_time::Layout::Rfc3339, &micro_text), Ok(instant));
            let whole_seconds = jiff::Timestamp::new(seconds, 0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            prop_assert_eq!(go_time::parse(go_time::Layout::Rfc3339, &format!("{whole}{zone}")), Ok(whole_seconds));
        }
    }

    #[test]
    fn kubectl_argument_parsing_never_panics(words in prop::collection::vec(prop_oneof![prop::sample::select(KUBECTL_WORDS).prop_map(str::to_string), ".{0,10}"], 0..10)) {
        let _ = args::parse(&words);
    }

    #[test]
    fn jsonpath_of_any_text_parses_or_fails_cleanly(template in "(\\{|\\}|\\[|\\]|\\.|\\*|\\?|@|=|'|\"|range |end|[a-z]|[0-9]|:|-|,| |\\\\){0,40}", data in tree()) {
        if let Ok(t) = Template::parse(&template) {
            let _ = t.execute(&data, true);
            let _ = t.execute(&data, false);
            let _ = t.execute_as_json(&data, true);
            let _ = t.find_results(&data, true);
        }
    }

    #[test]
    fn label_selectors_parse_or_fail_cleanly(text in "([a-z]|=|!|,|\\(|\\)| |in|notin|/|\\.|-|[0-9]){0,40}", labels in prop::collection::btree_map("[a-c]", "[x-z]", 0..4)) {
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.matches(Some(&labels));
            // What it prints reads back as the same selector.
            let again = Selector::parse(&selector.to_string());
            prop_assert!(again.is_ok(), "{} printed as {}", text, selector);
            prop_assert_eq!(again.map(|s| s.matches(Some(&labels))).ok(), Some(selector.matches(Some(&labels))));
        }
        if let Ok(fields) = FieldSelector::parse(&text) {
            let pod = Object::from_json(api::ids::pods(), json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "x"}, "status": {"phase": "Running"}}));
            if let Ok(pod) = pod {
                let _ = fields.matches(&pod);
                let _ = fields.check_supported("Pod");
            }
        }
    }

    #[test]
    fn label_selectors_match_as_their_requirements_say(
        requirements in prop::collection::vec(("[a-c]", 0u8..6, prop::collection::vec("[x-z]", 1..3)), 1..4),
        labels in prop::collection::btree_map("[a-c]", "[x-z]", 0..4),
    ) {
        let mut parts = Vec::new();
        let mut expected = true;
        for (key, op, values) in &requirements {
            let have = labels.get(key);
            let (text, holds) = match op {
                0 => (format!("{key}={}", values[0]), have == Some(&values[0])),
                1 => (format!("{key}!={}", values[0]), have != Some(&values[0])),
                2 => (format!("{key} in ({})", values.join(",")), have.is_some_and(|v| values.contains(v))),
                3 => (format!("{key} notin ({})", values.join(",")), !have.is_some_and(|v| values.contains(v))),
                4 => (key.clone(), have.is_some()),
                _ => (format!("!{key}"), have.is_none()),
            };
            parts.push(text);
            expected &= holds;
        }
        let selector = Selector::parse(&parts.join(","));
        prop_assert!(selector.is_ok(), "{}", parts.join(","));
        prop_assert_eq!(selector.map(|s| s.matches(Some(&labels))).ok(), Some(expected), "{}", parts.join(","));
    }

    #[test]
    fn patches_never_panic_and_merge_patches_are_idempotent(target in tree(), patch_doc in tree(), ops in json_patch_ops()) {
        let once = patch::merge_patch(&target, &patch_doc);
        prop_assert_eq!(patch::merge_patch(&once, &patch_doc), once.clone());
        let _ = patch::strategic_merge_patch(&target, &patch_doc);
        let _ = patch::three_way_merge(&target, &patch_doc, &once);
        let _ = patch::json_patch(&target, &ops);
        let _ = patch::json_patch(&target, &patch_doc);
    }

    #[test]
    fn scripts_of_any_text_parse_or_fail_cleanly(text in "(\\PC|\\n| |<<|EOF|&&|'|\"){0,200}") {
        let _ = script::parse(&text);
        for line in text.lines() {
            let _ = script::parse_line(line);
            let _ = scene::is_script_line(line);
            let _ = scene::is_read_only(line);
        }
    }

    #[test]
    fn shaped_script_lines_parse_or_fail_cleanly(
        words in prop::collection::vec(prop_oneof![
            prop::sample::select(&["stop", "start", "restart", "sleep", "partition", "heal", "slow", "etcdctl", "etcdutl", "ETCDCTL_API=3",
                "snapshot", "save", "restore", "status", "node/worker-1", "node/", "kubelet/minikube", "apiserver", "etcd", "30s", "0s",
                "off", "2m", "99999h", "-w", "table", "json", "--bump-revision", "1000", "--mark-compacted", "--data-dir", "--endpoints=x",
                "--cacert", "snap.db", "-1", "--bump-revision=x"][..]).prop_map(str::to_string),
            ".{0,8}",
        ], 0..7),
    ) {
        let _ = script::parse_words(&words);
    }

    #[test]
    fn fragments_of_any_text_are_refused_or_read(text in "(#?scene=)?[A-Za-z0-9_=%-]{0,300}") {
        let _ = Scene::from_fragment(&text);
    }

    #[test]
    fn fragments_of_any_deflated_bytes_are_refused_or_read(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        use base64::Engine as _;
        let deflated = miniz_oxide::deflate::compress_to_vec(&bytes, 6);
        let fragment = format!("scene={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(deflated));
        let _ = Scene::from_fragment(&fragment);
        let raw = format!("scene={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
        let _ = Scene::from_fragment(&raw);
    }

    #[test]
    fn scene_json_of_any_shape_is_refused_or_read(value in tree()) {
        use base64::Engine as _;
        let deflated = miniz_oxide::deflate::compress_to_vec(value.to_string().as_bytes(), 6);
        let fragment = format!("#scene={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(deflated));
        let _ = Scene::from_fragment(&fragment);
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        kubectl_line().prop_map(|line| Action::Kubectl { line, stdin: None }),
        shaped_object().prop_map(|o| Action::Apply { text: serde_yaml::to_string(&o).unwrap_or_default() }),
        shaped_object().prop_map(|o| Action::Delete { text: serde_yaml::to_string(&o).unwrap_or_default() }),
        prop::sample::select(&["scheduler", "controller-manager", "apiserver", "etcd", "kubelet/minikube", "node/minikube", "x", ""][..])
            .prop_flat_map(|c| any::<bool>().prop_map(move |stop| if stop { Action::Stop { component: c.into() } } else { Action::Start { component: c.into() } })),
        (any::<bool>(), 0u32..100).prop_map(|(playing, speed)| Action::Clock { playing, speed }),
        prop::sample::select(&["partition node/minikube", "heal node/minikube", "slow etcd 2s", "slow apiserver 0s", "restart kubelet/minikube",
            "etcdctl snapshot save a.db", "etcdctl snapshot restore a.db", "etcdutl snapshot status a.db -w table", "partition nope", "sleep 1s"][..])
            .prop_map(|l| Action::Script { line: l.into() }),
    ]
}

fn scene_strategy() -> impl Strategy<Value = Scene> {
    (any::<u64>(), prop::collection::vec((0u64..120_000, prop::option::of(0u64..200), action()), 0..6)).prop_map(|(seed, mut actions)| {
        actions.sort_by_key(|(t, r, _)| (*t, *r));
        let mut s = Scene::new(seed);
        s.actions = actions.into_iter().map(|(t, r, action)| Timed { t: 60_000 + t, r, action }).collect();
        s.until_ms = s.actions.last().map_or(60_000, |a| a.t) + 1_000;
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn kubectl_lines_never_panic_and_leave_the_cluster_working(line in kubectl_line(), stdin in prop::option::of(shaped_object())) {
        let stdin = stdin.map(|o| serde_yaml::to_string(&o).unwrap_or_default());
        with_cluster(|c| {
            let _ = kubectl::run(c, &line, stdin.as_deref(), &NoFiles);
            let _ = kubectl::run(c, "kubectl get all -A -o wide", None, &NoFiles);
        });
    }

    #[test]
    fn scenes_survive_their_links(scene in scene_strategy()) {
        let fragment = scene.to_fragment();
        prop_assert_eq!(Scene::from_fragment(&fragment), Ok(scene.clone()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn any_scene_replays_without_panicking(scene in scene_strategy()) {
        // Time and seed of a scene are its own: each one boots its cluster.
        let mut scene = scene;
        scene.workers = None;
        let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), scene.seed);
        scene::Replay::new(scene).run_to_end(&mut cluster);
        let out = kubectl::run(&mut cluster, "kubectl get nodes", None, &NoFiles);
        let _ = out;
    }
}

#[test]
fn stored_scenes_with_every_kind_of_damage_are_refused() {
    let good = Scene::new(3).to_fragment();
    let mut damaged = vec![good.replace("scene=", "scene"), format!("{good}!!"), good[..good.len() / 2].to_string(), good.to_uppercase()];
    damaged.push(String::new());
    for text in damaged {
        let _ = Scene::from_fragment(&text);
    }
    let mut labels = BTreeMap::new();
    labels.insert("a".to_string(), "x".to_string());
    assert!(Selector::parse("a in (x)").is_ok_and(|s| s.matches(Some(&labels))));
}
