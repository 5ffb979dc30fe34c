//! The simulation: virtual clock, timers keyed by (time, sequence), one
//! seeded RNG, and the registry of components that can be stopped and started.
//!
//! An instant is settled in rounds: each round runs, in registration order,
//! every running component that had a due timer or undelivered watch events
//! when the round began; rounds repeat until none is ready at this instant,
//! then the clock jumps to the next timer. Nothing else advances time, so the
//! same seed and the same commands replay byte for byte.
//!
//! A bounded run ([`Sim::run_until_bounded`]) may stop between two component
//! runs, in the middle of a round; the next call resumes exactly there, so
//! the order of runs does not depend on where a browser frame ended. A user
//! action taken mid-instant is placed by [`Sim::position`] (the instant and
//! the runs already made in it) and a replay stops at the same position.

pub mod clock;
mod hosting;
pub mod leftovers;

pub use hosting::Host;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::rc::Rc;

use crate::engine::apiserver::{ApiServer, ComponentId};
use crate::engine::world::World;
use clock::VirtualTime;

/// How many activity lines are kept for the UI's log.
const ACTIVITY_LIMIT: usize = 5_000;
/// Rounds of reactions at one instant before the loop yields; a guard
/// against two components feeding each other forever. What is still ready
/// then runs at the next instant anything is due.
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
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &Activity> + ExactSizeIterator {
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
    /// Takes the wake-ups asked for so far, to see what one piece of work
    /// asks for on its own (give them back with [`Ctx::wake_at`]).
    pub fn take_wake(&mut self) -> Option<VirtualTime> {
        self.wake.take()
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
    /// Called just before [`Component::on_stop`]: the large collections the
    /// process held, taken out of it, for the simulation to free a part at a
    /// time between runs.
    fn leftovers(&mut self) -> Vec<Box<dyn leftovers::Release>> {
        Vec::new()
    }
    /// The process started again; it will run at once.
    fn on_start(&mut self, _ctx: &mut Ctx) {}
    /// The process is being stopped, before [`Component::on_stop`]: what it
    /// still writes as it exits (a leader giving up its Lease).
    fn on_terminate(&mut self, _ctx: &mut Ctx) {}
    /// The list+watch caches this process reads, for checkers that compare
    /// them with the store.
    fn informers(&self) -> Vec<&crate::engine::informer::Informer> {
        Vec::new()
    }
    fn as_any(&self) -> &dyn Any;
    /// Whether a learner can stop it (cluster processes); hosts of what
    /// runs inside pods cannot be, their life is their containers'.
    fn stoppable(&self) -> bool {
        true
    }
}

struct Slot {
    component: Box<dyn Component>,
    /// The component's name, taken once: every run lends it to its `Ctx`,
    /// and a copy per run was an allocation per run.
    name: Rc<str>,
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
    /// Each component's slot by name: starting the kubelets of 5,000
    /// nodes one by one searched 10,000 slots for each. `None` once two
    /// components share a name (never so far), when the search in slot
    /// order is what finds the first.
    slots_by_name: Option<rustc_hash::FxHashMap<Box<str>, usize>>,
    timers: BinaryHeap<Reverse<(VirtualTime, u64, usize)>>,
    timer_seq: u64,
    pub activity: ActivityLog,
    powered_off: BTreeSet<String>,
    /// Nodes cut off from the control plane (`partition node/<n>`).
    partitioned: BTreeSet<String>,
    node_names: Vec<String>,
    /// How many times each component was stopped, each node powered off
    /// (`node/<n>`) or partitioned (`partition/<n>`): faults leave a trace
    /// even when they end within one command (`restart`).
    disruptions: BTreeMap<String, u64>,
    /// Where components run on the machines (static pods, programs in pods).
    hosting: hosting::Hosting,
    /// Components still to run in the current round, when a bounded run
    /// stopped inside it; the next run resumes here.
    round: BTreeSet<usize>,
    /// Rounds begun and component runs made at the current instant.
    rounds_here: usize,
    runs_here: u64,
    /// Counts every stop, start and power switch, so observers can tell
    /// whether component states changed without listing them.
    switches: u64,
    /// The component that ran last (the page names a slow run by it).
    last_ran: Option<usize>,
    /// What stopped processes held, still to be freed.
    leftovers: leftovers::Leftovers,
    #[cfg(test)]
    trace: Vec<(VirtualTime, usize)>,
}

/// Where the simulation stands: an instant and the component runs already
/// made in it. Actions replayed at the same position see the same cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub time: VirtualTime,
    pub runs: u64,
    /// Nothing is left to run at this instant.
    pub quiet: bool,
}

impl Sim {
    pub fn new(seed: u64, api: ApiServer) -> Self {
        Sim {
            api,
            world: World::new(seed),
            now: VirtualTime::ZERO,
            rng: fastrand::Rng::with_seed(seed),
            slots: Vec::new(),
            slots_by_name: Some(Default::default()),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            activity: ActivityLog { enabled: true, ..Default::default() },
            powered_off: BTreeSet::new(),
            partitioned: BTreeSet::new(),
            node_names: Vec::new(),
            disruptions: BTreeMap::new(),
            hosting: hosting::Hosting::default(),
            round: BTreeSet::new(),
            rounds_here: 0,
            runs_here: 0,
            switches: 0,
            last_ran: None,
            leftovers: Default::default(),
            #[cfg(test)]
            trace: Vec::new(),
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
        if let Some(by_name) = &mut self.slots_by_name {
            if by_name.insert(component.name().into(), id).is_some() {
                self.slots_by_name = None;
            }
        }
        let name: Rc<str> = component.name().into();
        self.api.set_component_serving(&name, true);
        self.slots.push(Slot { component, name, running: true, wake: None });
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
        self.slot_named(name, |_| true).map(|id| &*self.slots[id].component)
    }

    /// The first slot, in slot order, of the component named `name` for
    /// which `wanted` holds.
    fn slot_named(&self, name: &str, wanted: impl Fn(&Slot) -> bool) -> Option<usize> {
        match &self.slots_by_name {
            Some(by_name) => by_name.get(name).copied().filter(|&id| wanted(&self.slots[id])),
            None => self.slots.iter().position(|s| s.component.name() == name && wanted(s)),
        }
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
        let mut agents: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        for slot in &self.slots {
            let name = slot.component.name();
            if name.contains('/') {
                agents.insert(name, slot.running);
            } else {
                out.push(ComponentState { name: name.to_string(), running: slot.running });
            }
        }
        for node in &self.node_names {
            out.push(ComponentState { name: format!("node/{node}"), running: !self.powered_off.contains(node) });
            for prefix in ["kubelet", "kube-proxy"] {
                let name = format!("{prefix}/{node}");
                if let Some(&running) = agents.get(name.as_str()) {
                    out.push(ComponentState { name, running });
                }
            }
        }
        out
    }

    /// Cuts a node off from the API server: its kubelet and kube-proxy
    /// keep running, with their containers and rules, but their requests
    /// time out and their watches break until [`Sim::heal`].
    pub fn partition(&mut self, node: &str) -> Result<(), String> {
        self.known_node(node)?;
        if !self.partitioned.insert(node.to_string()) {
            return Ok(());
        }
        self.activity.push(self.now, &format!("node/{node}"), format!("node {node} partitioned: it cannot reach the API server"));
        *self.disruptions.entry(format!("partition/{node}")).or_default() += 1;
        self.switches += 1;
        for id in self.slots_on(node) {
            self.api.set_cut_off(id, true);
        }
        Ok(())
    }

    /// Ends a partition: the node's agents reach the API server again and
    /// catch up at once.
    pub fn heal(&mut self, node: &str) -> Result<(), String> {
        self.known_node(node)?;
        if !self.partitioned.remove(node) {
            return Ok(());
        }
        self.activity.push(self.now, &format!("node/{node}"), format!("node {node} healed: it reaches the API server again"));
        self.switches += 1;
        for id in self.slots_on(node) {
            self.api.set_cut_off(id, false);
            if self.slots[id].running {
                self.schedule(id, self.now);
            }
        }
        Ok(())
    }

    pub fn is_partitioned(&self, node: &str) -> bool {
        self.partitioned.contains(node)
    }

    pub fn partitioned_nodes(&self) -> &BTreeSet<String> {
        &self.partitioned
    }

    /// Times each component was stopped, each node powered off or partitioned.
    pub fn disruptions(&self) -> &BTreeMap<String, u64> {
        &self.disruptions
    }

    pub fn is_powered(&self, node: &str) -> bool {
        !self.powered_off.contains(node)
    }

    /// Adds latency to every request to the API server or etcd, and to
    /// every watch event (`slow apiserver 2s`, `slow etcd 0s`).
    pub fn set_latency(&mut self, target: &str, ms: u64) -> Result<(), String> {
        let mut latency = self.api.latency();
        let (name, field) = match target {
            "apiserver" | "kube-apiserver" => ("kube-apiserver", &mut latency.apiserver_ms),
            "etcd" => ("etcd", &mut latency.etcd_ms),
            other => return Err(format!("cannot slow \"{other}\" (apiserver or etcd)")),
        };
        if *field == ms {
            return Ok(());
        }
        *field = ms;
        self.api.set_latency(latency);
        self.switches += 1;
        let message = if ms == 0 { format!("{name} answers at its normal speed") } else { format!("{name} answers {} slower", crate::engine::node::kubelet::go_duration(ms)) };
        self.activity.push(self.now, if name == "etcd" { "etcd" } else { "apiserver" }, message);
        Ok(())
    }

    /// Stops and starts a component at the same instant: a kubelet restart
    /// keeps the node's containers, a node restart is a reboot.
    pub fn restart(&mut self, name: &str) -> Result<(), String> {
        if self.is_running(name).is_none() {
            return Err(format!("unknown component \"{name}\""));
        }
        self.stop(name)?;
        self.start(name)
    }

    fn known_node(&self, node: &str) -> Result<(), String> {
        if self.node_names.iter().any(|n| n == node) {
            Ok(())
        } else {
            Err(format!("unknown node \"{node}\""))
        }
    }

    /// The components that run on `node` (`kubelet/<node>`, `kube-proxy/<node>`).
    fn slots_on(&self, node: &str) -> Vec<usize> {
        let suffix = format!("/{node}");
        self.slots.iter().enumerate().filter(|(_, s)| s.component.name().ends_with(&suffix)).map(|(id, _)| id).collect()
    }

    /// How many times a component was stopped, started or switched; changes
    /// whenever [`Sim::component_states`] may have.
    pub fn switches(&self) -> u64 {
        self.switches
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
        self.switches += 1;
        let verb = if running { "started" } else { "stopped" };
        match name {
            "apiserver" | "kube-apiserver" => {
                if !running && self.api.is_running() {
                    *self.disruptions.entry("apiserver".into()).or_default() += 1;
                }
                self.api.set_running(running);
                self.activity.push(self.now, "apiserver", format!("kube-apiserver {verb}"));
                self.reflect_on_machines("apiserver", running);
                return Ok(());
            }
            "etcd" => {
                if !running && self.api.is_etcd_running() {
                    *self.disruptions.entry("etcd".into()).or_default() += 1;
                }
                self.api.set_etcd_running(running);
                self.activity.push(self.now, "etcd", format!("etcd {verb}"));
                self.reflect_on_machines("etcd", running);
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
                *self.disruptions.entry(name.to_string()).or_default() += 1;
                self.activity.push(self.now, name, format!("node {node} powered off"));
            }
            if let Some(machine) = self.world.machine_mut(node) {
                machine.set_power(running);
            }
            for agent in [format!("kubelet/{node}"), format!("kube-proxy/{node}")] {
                if let Some(id) = self.slot_named(&agent, |_| true) {
                    self.set_slot_running(id, running);
                }
            }
            return Ok(());
        }
        let Some(id) = self.slot_named(name, |s| s.component.stoppable()) else {
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
        // The ComponentStatus registry probes some components' health ports.
        self.api.set_component_serving(&name, running);
        if !running {
            *self.disruptions.entry(name.clone()).or_default() += 1;
        }
        self.activity.push(self.now, &name, format!("{name} {}", if running { "started" } else { "stopped" }));
        self.reflect_on_machines(&name, running);
        if running {
            let wake = self.with_ctx(id, |component, ctx| component.on_start(ctx));
            self.slots[id].wake = None;
            self.schedule(id, self.now);
            if let Some(t) = wake {
                self.schedule(id, t);
            }
        } else {
            let _ = self.with_ctx(id, |component, ctx| component.on_terminate(ctx));
            let parts = self.slots[id].component.leftovers();
            self.leftovers.add(parts);
            self.slots[id].component.on_stop();
            self.slots[id].wake = None;
            self.api.close_watches_of(id);
        }
    }

    fn with_ctx(&mut self, id: usize, f: impl FnOnce(&mut dyn Component, &mut Ctx)) -> Option<VirtualTime> {
        let now = self.now;
        self.api.set_now(now);
        let slot = &mut self.slots[id];
        let name = Rc::clone(&slot.name);
        self.api.set_caller(Some(id));
        // The component reads this cluster's custom resources.
        self.api.install_custom_resources();
        let mut ctx = Ctx { api: &mut self.api, now, rng: &mut self.rng, world: &mut self.world, activity: &mut self.activity, me: id, name: &name, wake: None };
        f(&mut *slot.component, &mut ctx);
        let wake = ctx.wake;
        self.api.set_caller(None);
        wake
    }

    /// Runs every component ready at the current instant until the cluster
    /// is quiet here. Returns the number of component runs.
    pub fn settle(&mut self) -> usize {
        self.api.set_now(self.now);
        self.settle_bounded(usize::MAX).0
    }

    /// Whether anything is left to run at the current instant: the rest of
    /// an interrupted round, or components with undelivered watch events.
    fn instant_busy(&self) -> bool {
        !self.round.is_empty() || self.api.has_ready()
    }

    /// Where the simulation stands (see [`Position`]).
    pub fn position(&mut self) -> Position {
        let due = self.next_timer().is_some_and(|t| t <= self.now);
        Position { time: self.now, runs: self.runs_here, quiet: !due && !self.instant_busy() }
    }

    /// Moves the clock; the new instant starts with no rounds and no runs.
    fn advance_to(&mut self, t: VirtualTime) {
        if t != self.now {
            self.now = t;
            self.rounds_here = 0;
            self.runs_here = 0;
        }
        self.api.set_now(self.now);
    }

    /// The components ready to start a round now, in registration order.
    fn collect_ready(&mut self) -> BTreeSet<usize> {
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
        ready
    }

    /// Settles the current instant with at most `max_runs` component runs.
    /// Returns the runs made and whether the instant is now quiet; if not,
    /// the next call goes on from the same component.
    fn settle_bounded(&mut self, max_runs: usize) -> (usize, bool) {
        let mut runs = 0;
        loop {
            if self.round.is_empty() {
                if self.rounds_here >= MAX_ROUNDS_PER_INSTANT {
                    // Components feeding each other without end: whatever is
                    // still ready runs at the next instant something is due.
                    let ready = self.collect_ready();
                    let later = self.next_timer().unwrap_or(self.now.plus_millis(1)).max(self.now.plus_millis(1));
                    for id in ready {
                        self.schedule(id, later);
                    }
                    return (runs, true);
                }
                self.round = self.collect_ready();
                if self.round.is_empty() {
                    return (runs, true);
                }
                self.rounds_here += 1;
            }
            while let Some(&id) = self.round.first() {
                if runs >= max_runs {
                    return (runs, false);
                }
                self.round.remove(&id);
                if !self.slots[id].running {
                    continue;
                }
                runs += 1;
                self.runs_here += 1;
                self.last_ran = Some(id);
                #[cfg(test)]
                self.trace.push((self.now, id));
                if let Some(t) = self.with_ctx(id, |component, ctx| component.run(ctx)) {
                    self.schedule(id, t);
                }
                if !self.leftovers.is_empty() {
                    self.leftovers.release(leftovers::RELEASED_PER_RUN);
                }
                if self.world.net.wake_clients {
                    self.wake_pod_clients();
                }
            }
        }
    }

    /// A container whose process talks to the API server started: its host runs now.
    fn wake_pod_clients(&mut self) {
        self.world.net.wake_clients = false;
        if let Some(id) = self.slot_named(crate::engine::network::pod_clients::NAME, |_| true) {
            self.schedule(id, self.now);
        }
    }

    /// The name of the component that ran last.
    pub fn last_ran(&self) -> Option<&str> {
        self.last_ran.and_then(|id| self.slots.get(id)).map(|s| s.component.name())
    }

    /// The next instant some component asked to run at, if any.
    pub fn next_timer(&mut self) -> Option<VirtualTime> {
        let mut timer = None;
        while let Some(Reverse((t, _, id))) = self.timers.peek().copied() {
            if self.slots[id].wake == Some(t) && self.slots[id].running {
                timer = Some(t);
                break;
            }
            self.timers.pop();
        }
        match (timer, self.api.next_delivery()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What crosses the network at this instant, once its components are
    /// quiet (so it sees the cluster as they left it). Returns whether
    /// anything was delivered.
    fn deliver_network(&mut self) -> bool {
        crate::engine::network::deliver_due(&mut self.world, self.now) > 0
    }

    /// The next instant a component or the network has something due.
    fn next_instant(&mut self) -> Option<VirtualTime> {
        [self.next_timer(), self.world.net.next_event()].into_iter().flatten().min()
    }

    /// Advances virtual time to `target`, running everything due on the way.
    pub fn run_until(&mut self, target: VirtualTime) {
        self.run_until_bounded(target, usize::MAX);
    }

    /// As [`Sim::run_until`], but stops after `max_runs` component runs (so
    /// a browser frame stays short), possibly in the middle of an instant.
    /// Returns whether `target` was reached with the cluster quiet there.
    /// Where the calls stop changes nothing in what runs, or in what order.
    pub fn run_until_bounded(&mut self, target: VirtualTime, max_runs: usize) -> bool {
        let mut runs = 0;
        loop {
            let (made, quiet) = self.settle_bounded(max_runs.saturating_sub(runs));
            runs += made;
            if !quiet {
                return false;
            }
            if self.deliver_network() {
                continue;
            }
            let next = self.next_instant();
            match next {
                Some(t) if t <= target => {
                    if runs >= max_runs {
                        return false;
                    }
                    self.advance_to(t.max(self.now));
                }
                _ => {
                    if self.now < target {
                        self.advance_to(target);
                        continue;
                    }
                    return true;
                }
            }
        }
    }

    /// Runs until the simulation reaches `position`: its instant, with as many
    /// runs made there (or the instant quiet, whichever comes first), making
    /// at most `max_runs` runs. Returns whether it got there.
    pub fn run_to_position(&mut self, time: VirtualTime, runs_here: Option<u64>, max_runs: usize) -> bool {
        let Some(wanted) = runs_here else {
            // A position without a run count (links made before counts were
            // kept) means the instant as first reached and settled.
            return self.now >= time || self.run_until_bounded(time, max_runs);
        };
        if self.now < time && !self.run_until_bounded_before(time, max_runs) {
            return false;
        }
        if self.now < time {
            self.advance_to(time);
        }
        if self.now > time || self.runs_here >= wanted {
            return true;
        }
        let allowed = (wanted - self.runs_here).min(max_runs as u64) as usize;
        let (_, quiet) = self.settle_bounded(allowed);
        quiet || self.runs_here >= wanted
    }

    /// Runs every instant strictly before `time`; true once only `time` or
    /// later is left.
    fn run_until_bounded_before(&mut self, time: VirtualTime, max_runs: usize) -> bool {
        let mut runs = 0;
        loop {
            let (made, quiet) = self.settle_bounded(max_runs.saturating_sub(runs));
            runs += made;
            if !quiet {
                return false;
            }
            if self.deliver_network() {
                continue;
            }
            match self.next_instant() {
                Some(t) if t < time => {
                    if runs >= max_runs {
                        return false;
                    }
                    self.advance_to(t.max(self.now));
                }
                _ => return true,
            }
        }
    }

    pub fn run_for_ms(&mut self, ms: u64) {
        self.run_until(self.now.plus_millis(ms));
    }
}

#[cfg(test)]
impl Sim {
    /// Every component run so far as (instant, component index), in order.
    pub(crate) fn trace(&self) -> &[(VirtualTime, usize)] {
        &self.trace
    }
}

#[cfg(test)]
mod tests;
