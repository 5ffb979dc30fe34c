//! The physical cluster: each node's machine, which outlives the processes
//! that run on it. A stopped kubelet leaves its containers running; a power
//! cut leaves the runtime's metadata on disk. Components reach a machine
//! only as the process on that machine would (the kubelet its own node's
//! runtime); cross-node effects such as traffic go through the network.

use std::collections::BTreeMap;

use crate::engine::node::node_status::MachineIds;
use crate::engine::node::runtime::Runtime;
use crate::engine::sim::clock::VirtualTime;

/// One node's hardware and on-disk state.
#[derive(Debug)]
pub struct Machine {
    pub runtime: Runtime,
    /// Machine id, system UUID and boot id, fixed at first boot (boot id per boot).
    pub ids: Option<MachineIds>,
    pub booted_at: VirtualTime,
    /// Power was cut; the runtime recovers when the kubelet next starts.
    pub power_lost: bool,
    pub powered: bool,
    /// When the kubelet last ran on it: the instant a power cut froze it at.
    pub last_run: VirtualTime,
}

impl Machine {
    pub fn new(runtime: Runtime) -> Self {
        Machine { runtime, ids: None, booted_at: VirtualTime::ZERO, power_lost: false, powered: true, last_run: VirtualTime::ZERO }
    }

    /// An empty stand-in while the real machine is in the world.
    pub fn vacant() -> Self {
        Machine::new(Runtime::vacant())
    }

    /// Power switched; a cut loses every running process (see the runtime).
    pub fn set_power(&mut self, on: bool) {
        self.powered = on;
        if !on {
            self.power_lost = true;
        }
    }
}

/// Every node's machine, by node name.
#[derive(Debug, Default)]
pub struct World {
    machines: BTreeMap<String, Machine>,
}

impl World {
    pub fn add_machine(&mut self, node: &str, machine: Machine) {
        self.machines.insert(node.to_string(), machine);
    }

    pub fn machine(&self, node: &str) -> Option<&Machine> {
        self.machines.get(node)
    }

    pub fn machine_mut(&mut self, node: &str) -> Option<&mut Machine> {
        self.machines.get_mut(node)
    }

    pub fn machines(&self) -> impl Iterator<Item = (&String, &Machine)> {
        self.machines.iter()
    }

    /// Takes a machine out for its own kubelet's run; [`World::put_back`] returns it.
    pub(crate) fn lend(&mut self, node: &str) -> Option<Machine> {
        self.machines.remove(node)
    }

    pub(crate) fn put_back(&mut self, node: &str, machine: Machine) {
        self.machines.insert(node.to_string(), machine);
    }
}
