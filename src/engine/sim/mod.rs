//! The simulation: virtual clock, timers keyed by (time, sequence), one
//! seeded RNG, and the registry of components that can be stopped and started.
//!
//! Each step runs, in registration order, every running component that has a
//! due timer or undelivered watch events, until none is ready at this instant;
//! then the clock jumps to the next timer. Nothing else advances time, so the
//! same seed and the same commands replay byte for byte.

pub mod clock;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

use crate::engine::apiserver::{ApiServer, ComponentId};
use crate::engine::world::World;
use clock::VirtualTime;

/// How many activity lines are kept for the UI's log.
const ACTIVITY_LIMIT: usize = 5_000;
/// Rounds of reactions at one instant before the loop yields; a guard
/// against two components feeding each other forever.
const MAX_ROUNDS_PER_INSTANT: usize = 10_000;

/// One line of component activity ("bound default/web-1 to worker-2").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub time: VirtualTime,
    pub component: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ActivityLog {
    lines: VecDeque<Activity>,
    /// Lines ever written, so a reader can ask for what is new.
    total: u64,
    pub enabled: bool,
}

impl ActivityLog {
    pub fn push(&mut self, time: VirtualTime, component: &str, message: String) {
        if !self.enabled {
            return;
        }
        if self.lines.len() == ACTIVITY_LIMIT {
            self.lines.pop_front();
        }
        self.lines.push_back(Activity { time, component: component.to_string(), message });
        self.total += 1;
    }
    pub fn lines(&self) -> impl Iterator<Item = &Activity> {
        self.lines.iter()
    }
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// What a component sees while it runs.
pub struct Ctx<'a> {
    pub api: &'a mut ApiServer,
    pub now: VirtualTime,
    pub rng: &'a mut fastrand::Rng,
    /// The machines; a component touches only what its process could.
    pub world: &'a mut World,
    activity: &'a mut ActivityLog,
    pub me: ComponentId,
    name: &'a str,
    wake: Option<VirtualTime>,
}

impl<'a> Ctx<'a> {
    /// Ask to run again at `t` (the earliest request wins).
    pub fn wake_at(&mut self, t: VirtualTime) {
        let t = t.max(self.now);
        self.wake = Some(self.wake.map_or(t, |w| w.min(t)));
    }
    /// The earliest wake-up asked for so far in this run.
    pub fn pending_wake(&self) -> Option<VirtualTime> {
        self.wake
    }
    pub fn wake_after_ms(&mut self, ms: u64) {
        self.wake_at(self.now.plus_millis(ms.max(1)));
    }
    /// A line for the UI's activity log, attributed to this component.
    pub fn log(&mut self, message: impl Into<String>) {
        if self.activity.enabled {
            self.activity.push(self.now, self.name, message.into());
        }
    }
    pub fn logging(&self) -> bool {
        self.activity.enabled
    }
}

/// A control-plane or node process.
pub trait Component {
    /// `scheduler`, `controller-manager`, `kubelet/worker-1`, `kube-proxy/worker-1`.
    fn name(&self) -> &str;
    /// Runs when a timer it asked for is due or its watches have events.
    fn run(&mut self, ctx: &mut Ctx);
    /// The process stopped: in-memory state (caches, watches, queues) is lost.
    fn on_stop(&mut self) {}
    /// The process started again; it will run at once.
    fn on_start(&mut self, _ctx: &mut Ctx) {}
    fn as_any(&self) -> &dyn Any;
}

struct Slot {
    component: Box<dyn Component>,
    running: bool,
    wake: Option<VirtualTime>,
}

/// The state of a stoppable component, for the UI and scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentState {
    pub name: String,
    pub running: bool,
}

pub struct Sim {
    pub api: ApiServer,
    pub world: World,
    now: VirtualTime,
    rng: fastrand::Rng,
    slots: Vec<Slot>,
    timers: BinaryHeap<Reverse<(VirtualTime, u64, usize)>>,
    timer_seq: u64,
    pub activity: ActivityLog,
    powered_off: BTreeSet<String>,
    node_names: Vec<String>,
}

impl Sim {
    pub fn new(seed: u64, api: ApiServer) -> Self {
        Sim {
            api,
            world: World::default(),
            now: VirtualTime::ZERO,
            rng: fastrand::Rng::with_seed(seed),
            slots: Vec::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            activity: ActivityLog { enabled: true, ..Default::default() },
            powered_off: BTreeSet::new(),
            node_names: Vec::new(),
        }
    }

    pub fn now(&self) -> VirtualTime {
        self.now
    }

    pub fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// Registers a component, running, to start at the current instant.
    pub fn add(&mut self, component: Box<dyn Component>) -> ComponentId {
        let id = self.slots.len();
        self.slots.push(Slot { component, running: true, wake: None });
        self.schedule(id, self.now);
        id
    }

    /// Declares a node, so `node/<name>` can be powered off and on.
    pub fn add_node_name(&mut self, name: &str) {
        self.node_names.push(name.to_string());
    }

    pub fn node_names(&self) -> &[String] {
        &self.node_names
    }

    pub fn component(&self, name: &str) -> Option<&dyn Component> {
        self.slots.iter().find(|s| s.component.name() == name).map(|s| &*s.component)
    }

    pub fn components(&self) -> impl Iterator<Item = &dyn Component> {
        self.slots.iter().map(|s| &*s.component)
    }

    /// Every stoppable component in display order: the control plane, then
    /// each node's power, kubelet and kube-proxy.
    pub fn component_states(&self) -> Vec<ComponentState> {
        let mut out = vec![
            ComponentState { name: "apiserver".into(), running: self.api.is_running() },
            ComponentState { name: "etcd".into(), running: self.api.is_etcd_running() },
        ];
        for slot in &self.slots {
            if !slot.component.name().contains('/') {
                out.push(ComponentState { name: slot.component.name().to_string(), running: slot.running });
            }
        }
        for node in &self.node_names {
            out.push(ComponentState { name: format!("node/{node}"), running: !self.powered_off.contains(node) });
            for prefix in ["kubelet", "kube-proxy"] {
                let name = format!("{prefix}/{node}");
                if let Some(slot) = self.slots.iter().find(|s| s.component.name() == name) {
                    out.push(ComponentState { name, running: slot.running });
                }
            }
        }
        out
    }

    pub fn is_running(&self, name: &str) -> Option<bool> {
        self.component_states().into_iter().find(|c| c.name == name).map(|c| c.running)
    }

    fn schedule(&mut self, id: usize, at: VirtualTime) {
        let slot = &mut self.slots[id];
        if slot.wake.is_some_and(|w| w <= at) {
            return;
        }
        slot.wake = Some(at);
        self.timer_seq += 1;
        self.timers.push(Reverse((at, self.timer_seq, id)));
    }

    /// Stops a component by name: `apiserver`, `etcd`, `scheduler`,
    /// `controller-manager`, `kubelet/<node>`, `kube-proxy/<node>`, `node/<node>`.
    pub fn stop(&mut self, name: &str) -> Result<(), String> {
        self.set_running(name, false)
    }

    pub fn start(&mut self, name: &str) -> Result<(), String> {
        self.set_running(name, true)
    }

    fn set_running(&mut self, name: &str, running: bool) -> Result<(), String> {
        let verb = if running { "started" } else { "stopped" };
        match name {
            "apiserver" | "kube-apiserver" => {
                self.api.set_running(running);
                self.activity.push(self.now, "apiserver", format!("kube-apiserver {verb}"));
                return Ok(());
            }
            "etcd" => {
                self.api.set_etcd_running(running);
                self.activity.push(self.now, "etcd", format!("etcd {verb}"));
                return Ok(());
            }
            _ => {}
        }
        if let Some(node) = name.strip_prefix("node/") {
            if !self.node_names.iter().any(|n| n == node) {
                return Err(format!("unknown component \"{name}\""));
            }
            if running {
                if !self.powered_off.remove(node) {
                    return Ok(());
                }
                self.activity.push(self.now, name, format!("node {node} powered on"));
            } else {
                if !self.powered_off.insert(node.to_string()) {
                    return Ok(());
                }
                self.activity.push(self.now, name, format!("node {node} powered off"));
            }
            if let Some(machine) = self.world.machine_mut(node) {
                machine.set_power(running);
            }
            for agent in [format!("kubelet/{node}"), format!("kube-proxy/{node}")] {
                if let Some(id) = self.slots.iter().position(|s| s.component.name() == agent) {
                    self.set_slot_running(id, running);
                }
            }
            return Ok(());
        }
        let Some(id) = self.slots.iter().position(|s| s.component.name() == name) else {
            return Err(format!("unknown component \"{name}\""));
        };
        if running {
            if let Some(node) = name.split_once('/').map(|(_, n)| n) {
                if self.powered_off.contains(node) {
                    return Err(format!("cannot start {name}: node {node} is powered off"));
                }
            }
        }
        self.set_slot_running(id, running);
        Ok(())
    }

    fn set_slot_running(&mut self, id: usize, running: bool) {
        if self.slots[id].running == running {
            return;
        }
        self.slots[id].running = running;
        let name = self.slots[id].component.name().to_string();
        self.activity.push(self.now, &name, format!("{name} {}", if running { "started" } else { "stopped" }));
        if running {
            let wake = self.with_ctx(id, |component, ctx| component.on_start(ctx));
            self.slots[id].wake = None;
            self.schedule(id, self.now);
            if let Some(t) = wake {
                self.schedule(id, t);
            }
        } else {
            self.slots[id].component.on_stop();
            self.slots[id].wake = None;
            self.api.close_watches_of(id);
        }
    }

    fn with_ctx(&mut self, id: usize, f: impl FnOnce(&mut dyn Component, &mut Ctx)) -> Option<VirtualTime> {
        let now = self.now;
        self.api.set_now(now);
        let slot = &mut self.slots[id];
        let name = slot.component.name().to_string();
        let mut ctx = Ctx { api: &mut self.api, now, rng: &mut self.rng, world: &mut self.world, activity: &mut self.activity, me: id, name: &name, wake: None };
        f(&mut *slot.component, &mut ctx);
        ctx.wake
    }

    /// Runs every component ready at the current instant until the cluster
    /// is quiet here. Returns the number of component runs.
    pub fn settle(&mut self) -> usize {
        let mut runs = 0;
        for _ in 0..MAX_ROUNDS_PER_INSTANT {
            let mut ready: BTreeSet<usize> = self.api.take_ready();
            while let Some(Reverse((t, _, id))) = self.timers.peek().copied() {
                if t > self.now {
                    break;
                }
                self.timers.pop();
                if self.slots[id].wake == Some(t) {
                    self.slots[id].wake = None;
                    ready.insert(id);
                }
            }
            if ready.is_empty() {
                break;
            }
            for id in ready {
                if !self.slots[id].running {
                    continue;
                }
                runs += 1;
                if let Some(t) = self.with_ctx(id, |component, ctx| component.run(ctx)) {
                    self.schedule(id, t);
                }
            }
        }
        runs
    }

    /// The next instant some component asked to run at, if any.
    pub fn next_timer(&mut self) -> Option<VirtualTime> {
        while let Some(Reverse((t, _, id))) = self.timers.peek().copied() {
            if self.slots[id].wake == Some(t) && self.slots[id].running {
                return Some(t);
            }
            self.timers.pop();
        }
        None
    }

    /// Advances virtual time to `target`, running everything due on the way.
    pub fn run_until(&mut self, target: VirtualTime) {
        self.run_until_bounded(target, usize::MAX);
    }

    /// As [`Sim::run_until`], but stops after about `max_runs` component
    /// runs (so a browser frame stays short). Returns whether `target` was reached.
    pub fn run_until_bounded(&mut self, target: VirtualTime, max_runs: usize) -> bool {
        let mut runs = self.settle();
        loop {
            if runs >= max_runs {
                return false;
            }
            match self.next_timer() {
                Some(t) if t <= target => {
                    self.now = t;
                    runs += self.settle();
                }
                _ => {
                    self.now = self.now.max(target);
                    self.api.set_now(self.now);
                    self.settle();
                    return true;
                }
            }
        }
    }

    pub fn run_for_ms(&mut self, ms: u64) {
        self.run_until(self.now.plus_millis(ms));
    }
}
