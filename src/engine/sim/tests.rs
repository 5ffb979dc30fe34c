//! Bounded runs stop anywhere, even inside an instant, and change nothing:
//! the same scenario with tiny and huge per-frame budgets makes the same
//! component runs in the same order and leaves the same cluster.

use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::kubectl::{self, NoFiles};
use crate::engine::sim::clock::VirtualTime;

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 12\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n";

fn cluster() -> Cluster {
    let mut c = Cluster::new(Profile::new(ProfileKind::Default), 3);
    let out = kubectl::run(&mut c, "apply -f -", Some(WEB), &NoFiles);
    assert_eq!(out.exit_code, 0, "{out:?}");
    c
}

/// Everything stored (with revisions, so the order of writes shows) and every activity line.
fn state(c: &Cluster) -> String {
    let mut out = String::new();
    for (key, entry) in c.sim.api.store().range("/") {
        out.push_str(&format!("{key} {} {}\n", entry.mod_revision, serde_json::to_string(&entry.value.object().to_json()).unwrap_or_default()));
    }
    for line in c.sim.activity.lines() {
        out.push_str(&format!("{} {} {}\n", line.time, line.component, line.message));
    }
    out
}

/// Runs to `end` the way the page does: frames of `frame_ms` virtual
/// milliseconds, each made of calls allowed `budget` component runs.
fn run_in_frames(c: &mut Cluster, end: VirtualTime, frame_ms: u64, budget: usize) -> usize {
    let mut calls = 0;
    while c.now() < end || !c.sim.position().quiet {
        let target = c.now().plus_millis(frame_ms).min(end);
        while !c.sim.run_until_bounded(target, budget) {
            calls += 1;
        }
        calls += 1;
    }
    calls
}

#[test]
fn frame_budgets_change_nothing_in_what_runs_or_its_order() {
    let end = VirtualTime::from_secs(150);
    let mut whole = cluster();
    whole.sim.run_until(end);

    for (frame_ms, budget) in [(16, 1), (160, 2), (1_000, 7), (5, usize::MAX)] {
        let mut framed = cluster();
        let calls = run_in_frames(&mut framed, end, frame_ms, budget);
        assert!(calls > 100, "the run was cut into many calls ({calls})");
        assert_eq!(framed.now(), whole.now());
        assert_eq!(framed.sim.trace(), whole.sim.trace(), "frames of {frame_ms} ms, {budget} runs per call");
        assert_eq!(state(&framed), state(&whole), "frames of {frame_ms} ms, {budget} runs per call");
    }
    // The scenario did have busy instants that a budget of one run cut up.
    let mut busiest = std::collections::BTreeMap::new();
    for (t, _) in whole.sim.trace() {
        *busiest.entry(*t).or_insert(0) += 1;
    }
    assert!(busiest.values().any(|&n| n >= 5), "{busiest:?}");
    let running = whole.sim.api.store().range("/registry/pods/default/").filter(|(_, e)| e.value.object().to_json()["status"]["phase"] == "Running").count();
    assert_eq!(running, 12);
}

#[test]
fn a_position_inside_an_instant_is_reached_again_exactly() {
    let mut c = cluster();
    let end = VirtualTime::from_secs(120);
    // One run per call until a call stops inside a busy instant.
    let inside = loop {
        assert!(c.now() < end, "no busy instant was found");
        let target = c.now().plus_millis(100);
        if !c.sim.run_until_bounded(target, 1) {
            let p = c.sim.position();
            if !p.quiet && p.runs >= 2 {
                break p;
            }
        }
    };
    let snapshot = (state(&c), c.sim.trace().to_vec());
    assert!(!c.sim.run_until_bounded(end, 1));
    let next = c.sim.position();
    assert_eq!((next.time, next.runs), (inside.time, inside.runs + 1), "one more run at the same instant");

    let mut again = cluster();
    assert!(again.sim.run_to_position(inside.time, Some(inside.runs), usize::MAX));
    assert_eq!(again.sim.position(), inside);
    assert_eq!((state(&again), again.sim.trace().to_vec()), snapshot);
    // Reached in small steps, too.
    let mut stepped = cluster();
    let mut calls = 0;
    while !stepped.sim.run_to_position(inside.time, Some(inside.runs), 1) {
        calls += 1;
        assert!(calls < 100_000);
    }
    assert_eq!(stepped.sim.position(), inside);
    assert_eq!((state(&stepped), stepped.sim.trace().to_vec()), snapshot);
}

/// A component that only has a name, and may refuse to be stopped.
struct Named {
    name: &'static str,
    stoppable: bool,
}

impl crate::engine::sim::Component for Named {
    fn name(&self) -> &str {
        self.name
    }
    fn run(&mut self, _ctx: &mut crate::engine::sim::Ctx) {}
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn stoppable(&self) -> bool {
        self.stoppable
    }
}

fn running(sim: &crate::engine::sim::Sim, name: &str) -> Vec<bool> {
    sim.component_states().into_iter().filter(|s| s.name == name).map(|s| s.running).collect()
}

#[test]
fn components_are_found_by_name_as_a_search_in_slot_order_would() {
    use crate::engine::apiserver::ApiServer;
    use crate::engine::sim::Sim;
    let mut sim = Sim::new(1, ApiServer::new(1, "192.168.49.2:8443"));
    sim.add(Box::new(Named { name: "host", stoppable: false }));
    sim.add(Box::new(Named { name: "scheduler", stoppable: true }));
    assert!(sim.component("scheduler").is_some() && sim.component("nothing").is_none());
    assert_eq!(sim.stop("host"), Err("unknown component \"host\"".to_string()), "a host is not stoppable");
    sim.stop("scheduler").unwrap();
    assert_eq!(running(&sim, "scheduler"), [false]);

    // Two of one name: the first the search meets is the one acted on.
    let mut sim = Sim::new(1, ApiServer::new(1, "192.168.49.2:8443"));
    sim.add(Box::new(Named { name: "twin", stoppable: false }));
    sim.add(Box::new(Named { name: "twin", stoppable: true }));
    assert!(!sim.component("twin").is_some_and(|c| c.stoppable()), "the first registered");
    sim.stop("twin").unwrap();
    assert_eq!(running(&sim, "twin"), [true, false], "the first stoppable one was stopped");
}
