//! The physical cluster: each node's machine, which outlives the processes
//! that run on it. A stopped kubelet leaves its containers running; a power
//! cut leaves the runtime's metadata on disk. Components reach a machine
//! only as the process on that machine would (the kubelet its own node's
//! runtime); cross-node effects such as traffic go through the network.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::node::filesystem::Fs;
use crate::engine::network::rules::ProxyRules;
use crate::engine::network::{ContainerRef, Network};
use crate::engine::node::node_status::MachineIds;
use crate::engine::node::runtime::Runtime;
use crate::engine::sim::clock::VirtualTime;

/// One node's hardware and on-disk state.
#[derive(Debug)]
pub struct Machine {
    pub runtime: Runtime,
    /// The node's disk: pods' volumes under `/var/lib/kubelet/pods/<uid>/`,
    /// hostPath and local PersistentVolume data at their own paths. It
    /// survives kubelet restarts and power cuts.
    pub disk: Fs,
    /// The disk's size and the memory, in KiB (what `df` reports).
    pub disk_kb: u64,
    pub memory_kb: u64,
    /// Machine id, system UUID and boot id, fixed at first boot (boot id per boot).
    pub ids: Option<MachineIds>,
    pub booted_at: VirtualTime,
    /// Power was cut; the runtime recovers when the kubelet next starts.
    pub power_lost: bool,
    pub powered: bool,
    /// When the kubelet last ran on it: the instant a power cut froze it at.
    pub last_run: VirtualTime,
    /// `/etc/kubernetes/manifests`: static pod manifests by file name.
    pub static_pod_manifests: BTreeMap<String, String>,
    /// Cluster programs that cannot stay up here (their component is
    /// stopped): their containers exit at once (see `node::programs`).
    pub stopped_programs: BTreeSet<String>,
    /// The node's InternalIP and pod CIDR (its network interfaces).
    pub address: String,
    pub pod_cidr: String,
    /// The kernel's Service rules, as kube-proxy last wrote them.
    pub proxy: ProxyRules,
}

/// A node's disk as its OS image ships it: the directories hostPath
/// volumes of type `Directory` expect (`/tmp` for minikube's
/// storage-provisioner, `/lib/modules` for kube-proxy).
fn node_disk() -> Fs {
    let mut disk = Fs::new();
    let at = crate::engine::node::runtime::wall_secs(VirtualTime::ZERO);
    for (path, mode) in [
        ("/tmp", 0o1777),
        ("/etc/kubernetes/manifests", 0o755),
        ("/lib/modules", 0o755),
        ("/mnt", 0o755),
        ("/opt", 0o755),
        ("/run", 0o755),
        ("/var/lib/kubelet", 0o700),
        ("/var/log/pods", 0o755),
    ] {
        disk.mkdir_all(path, mode, at);
    }
    disk
}

impl Machine {
    pub fn new(runtime: Runtime) -> Self {
        Machine::with_disk(runtime, node_disk())
    }

    fn with_disk(runtime: Runtime, disk: Fs) -> Self {
        Machine {
            runtime,
            disk,
            disk_kb: 61_202_244,
            memory_kb: 4_194_304,
            ids: None,
            booted_at: VirtualTime::ZERO,
            power_lost: false,
            powered: true,
            last_run: VirtualTime::ZERO,
            static_pod_manifests: BTreeMap::new(),
            stopped_programs: BTreeSet::new(),
            address: String::new(),
            pod_cidr: String::new(),
            proxy: ProxyRules::default(),
        }
    }

    /// Brings the node's processes up to `now` (what they printed and wrote).
    pub fn advance(&mut self, now: VirtualTime) {
        self.runtime.advance(now, &mut self.disk);
    }

    /// Deletes a directory tree from the node's disk (a deleted
    /// PersistentVolume's data: its `hostPath.path` or `local.path`).
    /// Returns how many entries went.
    pub fn remove_dir(&mut self, path: &str) -> usize {
        let path = crate::engine::node::filesystem::normalize("/", path);
        if path == "/" {
            return 0;
        }
        self.disk.remove_tree(&path)
    }

    /// Creates a directory on the node's disk (`mkdir -p`), as a
    /// provisioner prepares a volume's directory.
    pub fn make_dir(&mut self, path: &str, mode: u32, now: VirtualTime) {
        let path = crate::engine::node::filesystem::normalize("/", path);
        self.disk.mkdir_all(&path, mode, crate::engine::node::runtime::wall_secs(now));
    }

    /// An empty stand-in while the real machine is in the world. Its disk
    /// is empty too: a kubelet makes one at every run.
    pub fn vacant() -> Self {
        Machine::with_disk(Runtime::vacant(), Fs::new())
    }

    /// Power switched; a cut loses every running process (see the runtime)
    /// and the kernel's rules, which live in memory.
    pub fn set_power(&mut self, on: bool) {
        self.powered = on;
        if !on {
            self.power_lost = true;
            self.proxy = ProxyRules::default();
        }
    }
}

/// Every node's machine, by node name, and the network between them.
#[derive(Debug, Default)]
pub struct World {
    /// Each node's machine, in the order nodes were added; `None` while the
    /// machine is lent to its kubelet's run: it stays in its place, which
    /// reads as if it were not there. Boxed: a kubelet's every run borrows
    /// its machine and hands it back, a pointer each way.
    machines: Vec<Option<Box<Machine>>>,
    /// Each node's place in `machines`, found by hash: a kubelet's every run
    /// looks its node up twice, and a search among thousands of names in
    /// order compared a dozen of them each time.
    place_of: rustc_hash::FxHashMap<String, usize>,
    /// The node names in order, with their places, for walks.
    in_order: BTreeMap<String, usize>,
    pub net: Network,
}

impl World {
    pub fn new(seed: u64) -> Self {
        World { machines: Vec::new(), place_of: Default::default(), in_order: BTreeMap::new(), net: Network::new(seed) }
    }

    pub fn add_machine(&mut self, node: &str, machine: Machine) {
        self.net.plan.add_node(node, &machine.address, &machine.pod_cidr);
        self.place(node, Box::new(machine));
    }

    /// Puts `machine` in `node`'s place, making one for a new name.
    fn place(&mut self, node: &str, machine: Box<Machine>) {
        match self.place_of.get(node) {
            Some(&at) => {
                if let Some(slot) = self.machines.get_mut(at) {
                    *slot = Some(machine);
                }
            }
            None => {
                let at = self.machines.len();
                self.machines.push(Some(machine));
                self.place_of.insert(node.to_string(), at);
                self.in_order.insert(node.to_string(), at);
            }
        }
    }

    fn slot_mut(&mut self, node: &str) -> Option<&mut Option<Box<Machine>>> {
        let at = *self.place_of.get(node)?;
        self.machines.get_mut(at)
    }

    pub fn machine(&self, node: &str) -> Option<&Machine> {
        self.machines.get(*self.place_of.get(node)?)?.as_deref()
    }

    pub fn machine_mut(&mut self, node: &str) -> Option<&mut Machine> {
        self.slot_mut(node)?.as_deref_mut()
    }

    pub fn machines(&self) -> impl Iterator<Item = (&String, &Machine)> {
        self.in_order.iter().filter_map(|(node, &at)| Some((node, self.machines.get(at)?.as_deref()?)))
    }

    /// Takes a machine out for its own kubelet's run; [`World::put_back`]
    /// returns it. Until then the world reads as if the node had no machine
    /// (its place is kept: no removal and insertion of the name per run).
    pub(crate) fn lend(&mut self, node: &str) -> Option<Box<Machine>> {
        self.slot_mut(node)?.take()
    }

    pub(crate) fn put_back(&mut self, node: &str, mut machine: Box<Machine>) {
        for (uid, container, id) in machine.runtime.started_clients.drain(..) {
            self.net.clients.insert(ContainerRef { node: node.to_string(), uid, container, id });
            self.net.wake_clients = true;
        }
        for (uid, container, id, at, pass) in machine.runtime.started_talkers.drain(..) {
            self.net.talkers.start(ContainerRef { node: node.to_string(), uid, container, id }, pass, at);
        }
        for (uid, container, id, at, command) in machine.runtime.started_scripts.drain(..) {
            self.net.scripts.start(ContainerRef { node: node.to_string(), uid, container, id }, command, at);
        }
        self.place(node, machine);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_machine_reads_as_absent_until_it_is_put_back() {
        let mut world = World::new(1);
        for node in ["a", "b", "c"] {
            world.add_machine(node, Machine::vacant());
        }
        let names = |w: &World| w.machines().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let lent = world.lend("b").expect("b has a machine");
        assert!(world.machine("b").is_none() && world.machine_mut("b").is_none());
        assert!(world.lend("b").is_none(), "lent once");
        assert_eq!(names(&world), ["a", "c"]);
        world.put_back("b", lent);
        assert!(world.machine("b").is_some());
        assert_eq!(names(&world), ["a", "b", "c"]);
        assert!(world.lend("z").is_none());
        world.put_back("z", Box::new(Machine::vacant()));
        assert_eq!(names(&world), ["a", "b", "c", "z"]);
    }
}
