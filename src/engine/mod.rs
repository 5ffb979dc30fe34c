//! The cluster engine: pure Rust, no browser, no wall clock.
//!
//! Layout:
//! - `api`: the object model (every kind 1.33 serves) and API errors.
//! - `store`: the etcd model, revisioned and watchable.
//! - `apiserver`: the only writer of the store (admission, defaulting,
//!   validation, graceful deletion, watch fan-out, events).
//! - `informer`: list+watch caches the components read through.
//! - `scheduler`, `controllers`, `node`: the components.
//! - `storage`: claim/volume matching, where volume data lives, and the
//!   external provisioners (components too).
//! - `sim`: virtual clock, timers, seeded RNG, start/stop of components.
//! - `world`: each node's machine (container runtime), which outlives its processes.
//! - `bootstrap`: what kubeadm, kind and minikube install: the control-plane
//!   static pod manifests and the add-ons (kube-proxy, kindnet, storage).
//! - `network`: connections between pods, nodes and the host; Services, DNS,
//!   NetworkPolicy, Ingress, the applications that answer, traffic.
//! - `cluster`: profiles that put it all together.
//! - `quantity`: resource quantities, parsed and printed as apimachinery does.
//! - `cron`, `time_zones`: CronJob schedules as robfig/cron reads them, in IANA zones.
//! - `metrics`: metrics-server and the resource metrics API (`kubectl top`, the HPA).
//! - `kubectl`: the command line, printing what kubectl 1.33 prints.
//! - `host`: commands on the learner's machine (curl, wget, minikube service, traffic).
//! - `learner_home`: the learner's machine's files, kept with the cluster.

pub mod api;
pub mod apiserver;
pub mod bootstrap;
pub mod cel;
pub mod certificates;
pub mod cluster;
pub mod controllers;
pub mod cron;
pub mod digits;
pub mod etcdctl;
pub mod host;
pub mod informer;
pub mod kept;
pub mod keys_by_name;
pub mod kubectl;
pub mod learner_home;
pub mod learner_proxy;
pub mod leader_election;
pub mod metrics;
pub mod network;
pub mod node;
pub mod quantity;
pub mod pod_security;
pub mod rbac;
pub mod resource_quota;
pub mod scheduler;
pub mod script;
pub mod selector;
pub mod go_sort;
pub mod sort;
pub mod sim;
pub mod storage;
pub mod store;
pub mod time_zones;
pub mod world;
/// The fault sweep and its invariant checkers, for the `miniplane` command
/// and the tests (the page never calls it, so its build leaves it out).
pub mod sweep;
