//! Who a container's processes run as: the user, primary group and
//! supplementary groups containerd 2 gives a container's first process
//! (and every process exec'd into it), from the kubelet's security context
//! and the image's `/etc/passwd` and `/etc/group`; its capabilities, and
//! the `/proc/1/status` that shows them.

use k8s_openapi::api::core::v1::{Container, SecurityContext};

use super::filesystem::Inode;
use crate::engine::api::pod::Pod;

/// A process's credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessUser {
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups as the kernel keeps them: sorted, each
    /// once, the primary group among them (containerd adds it).
    pub groups: Vec<u32>,
    /// The capabilities (bits by [`CAPABILITIES`]' numbers) outside the
    /// container's bounding set, which its root processes lack: none for
    /// the node's own processes, containerd's defaults' complement for a
    /// container (less `capabilities.add`, more `drop`).
    pub lacks: u64,
}

/// Root with no supplementary groups and every capability: what the node's own writes are.
pub static ROOT: ProcessUser = ProcessUser { uid: 0, gid: 0, groups: Vec::new(), lacks: 0 };

/// `CAP_CHOWN`: change a file's owner, or its group to any group.
pub const CAP_CHOWN: u64 = 1 << 0;
/// `CAP_SYS_TIME`: set the system clock.
pub const CAP_SYS_TIME: u64 = 1 << 25;

/// Read, write and search (execute) permission bits.
pub const READ: u32 = 4;
pub const WRITE: u32 = 2;

impl ProcessUser {
    /// Whether its processes have `capability` in their effective set:
    /// root's hold the bounding set, other users' none.
    pub fn capable(&self, capability: u64) -> bool {
        self.uid == 0 && self.lacks & capability == 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.binary_search(&gid).is_ok()
    }

    /// Whether the process may `want` (`READ`, `WRITE`, or both) on an
    /// entry: the owner's, the group's or others' bits, as the kernel
    /// picks them. Root passes (`CAP_DAC_OVERRIDE`).
    pub fn may(&self, inode: &Inode, want: u32) -> bool {
        if self.uid == 0 {
            return true;
        }
        let bits = if inode.uid == self.uid {
            inode.mode >> 6
        } else if self.in_group(inode.gid) {
            inode.mode >> 3
        } else {
            inode.mode
        };
        bits & want == want
    }

    /// Whether it may add or remove entries in a directory (write and search).
    pub fn may_change(&self, dir: &Inode) -> bool {
        self.may(dir, WRITE | 1)
    }

    /// The owner and group of an entry it creates in `parent`: a
    /// set-group-ID directory gives its own group (and, to a directory,
    /// its set-group-ID bit).
    pub fn owns_new(&self, parent: Option<&Inode>, mut inode: Inode) -> Inode {
        inode.uid = self.uid;
        inode.gid = self.gid;
        if let Some(p) = parent.filter(|p| p.mode & 0o2000 != 0) {
            inode.gid = p.gid;
            if inode.is_dir() {
                inode.mode |= 0o2000;
            }
        }
        inode
    }
}

/// One `/etc/passwd` entry's name, uid and gid.
pub fn passwd_entries(passwd: &str) -> impl Iterator<Item = (&str, u32, u32)> {
    passwd.lines().filter_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((name, uid, gid))
    })
}

/// One `/etc/group` entry's name, gid and members.
pub fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, &str)> {
    group.lines().filter_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let gid = fields.nth(1)?.parse().ok()?;
        Some((name, gid, fields.next().unwrap_or("")))
    })
}

/// The name `/etc/passwd` gives a uid.
pub fn user_name(passwd: &str, uid: u32) -> Option<&str> {
    passwd_entries(passwd).find(|e| e.1 == uid).map(|e| e.0)
}

/// The name `/etc/group` gives a gid.
pub fn group_name(group: &str, gid: u32) -> Option<&str> {
    group_entries(group).find(|e| e.1 == gid).map(|e| e.0)
}

/// What a container's credentials follow besides the image's account
/// files: the image's own user and the security contexts' settings (the
/// container's over the pod's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSettings {
    pub image_uid: i64,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    /// `supplementalGroupsPolicy: Strict`.
    pub strict: bool,
    pub fs_group: Option<i64>,
    pub supplemental_groups: Option<Vec<i64>>,
    /// The container's bounding set ([`capabilities`]).
    pub capabilities: u64,
}

impl UserSettings {
    pub fn of(pod: &Pod, c: &Container, image_uid: i64) -> Self {
        let pod_context = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
        let own = c.security_context.as_ref();
        UserSettings {
            image_uid,
            run_as_user: own.and_then(|s| s.run_as_user).or_else(|| pod_context.and_then(|s| s.run_as_user)),
            run_as_group: own.and_then(|s| s.run_as_group).or_else(|| pod_context.and_then(|s| s.run_as_group)),
            strict: pod_context.and_then(|s| s.supplemental_groups_policy.as_deref()) == Some("Strict"),
            fs_group: pod_context.and_then(|s| s.fs_group),
            supplemental_groups: pod_context.and_then(|s| s.supplemental_groups.clone()),
            capabilities: capabilities(own),
        }
    }
}

/// The credentials of a container's processes: `runAsUser` (else the
/// image's user), `runAsGroup` (else the user's group in the image's
/// `/etc/passwd`, else 0); the supplementary groups are the primary group,
/// the groups the image's `/etc/group` lists the user in (not with
/// `supplementalGroupsPolicy: Strict`), `fsGroup` and `supplementalGroups`.
pub fn container_user(settings: &UserSettings, passwd: &str, group: &str) -> ProcessUser {
    let id = |v: i64| u32::try_from(v).unwrap_or(0);
    let uid = settings.run_as_user.map_or_else(|| id(settings.image_uid), id);
    let entry = passwd_entries(passwd).find(|e| e.1 == uid);
    let gid = settings.run_as_group.map_or_else(|| entry.map_or(0, |e| e.2), id);
    let mut groups = vec![gid];
    if let (Some((name, _, _)), false) = (entry, settings.strict) {
        groups.extend(group_entries(group).filter(|(g, _, members)| *g != name && members.split(',').any(|m| m == name)).map(|e| e.1));
    }
    groups.extend(settings.fs_group.map(id));
    groups.extend(settings.supplemental_groups.iter().flatten().copied().map(id));
    groups.sort_unstable();
    groups.dedup();
    ProcessUser { uid, gid, groups, lacks: ALL_CAPABILITIES & !settings.capabilities }
}

/// Linux 6.8's capabilities, by number, as a security context names them.
const CAPABILITIES: [&str; 41] = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN",
    "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE",
    "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
];

/// Every capability's bit.
const ALL_CAPABILITIES: u64 = (1 << CAPABILITIES.len()) - 1;

/// containerd's default capabilities.
const DEFAULT_CAPABILITIES: [&str; 14] =
    ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"];

fn capability_bits(names: &[String]) -> u64 {
    names
        .iter()
        .filter_map(|n| {
            let n = n.to_ascii_uppercase();
            CAPABILITIES.iter().position(|c| *c == n.strip_prefix("CAP_").unwrap_or(&n))
        })
        .fold(0, |bits, i| bits | 1 << i)
}

/// The capability set containerd gives a container (its bounding set,
/// and its first process's when it runs as root): all of them when
/// privileged, else the defaults, with `add: [ALL]` then `drop: [ALL]`
/// then each named one added, then each named one dropped.
pub fn capabilities(context: Option<&SecurityContext>) -> u64 {
    let all = ALL_CAPABILITIES;
    if context.and_then(|s| s.privileged) == Some(true) {
        return all;
    }
    let mut set = DEFAULT_CAPABILITIES.iter().map(|n| 1u64 << CAPABILITIES.iter().position(|c| c == n).unwrap_or(0)).fold(0, |a, b| a | b);
    let Some(caps) = context.and_then(|s| s.capabilities.as_ref()) else { return set };
    let (add, drop) = (caps.add.as_deref().unwrap_or_default(), caps.drop.as_deref().unwrap_or_default());
    let names_all = |list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case("ALL"));
    if names_all(add) {
        set = all;
    }
    if names_all(drop) {
        set = 0;
    }
    (set | capability_bits(add)) & !capability_bits(drop)
}

/// What `/proc/1/status` shows of a container's first process: its name,
/// credentials, capabilities, `no_new_privs` and seccomp mode from the
/// kubelet's security context, the node's CPUs, its resident memory.
pub struct ProcStatus<'a> {
    pub command: &'a str,
    pub user: &'a ProcessUser,
    pub context: Option<&'a SecurityContext>,
    pub pod_seccomp: Option<&'a str>,
    pub node_cpus: u32,
    pub node_memory_kb: u64,
    pub rss_kb: u64,
}

/// What decides a status's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct StatusKey {
    name: String,
    user: ProcessUser,
    bounding: u64,
    no_new_privs: bool,
    filtered: bool,
    cpus: u32,
    memory_kb: u64,
    rss_kb: u64,
}

impl ProcStatus<'_> {
    fn key(&self) -> StatusKey {
        let own = self.context;
        let privileged = own.and_then(|s| s.privileged) == Some(true);
        let seccomp = own.and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str()).or(self.pod_seccomp);
        StatusKey {
            name: self.command.split_whitespace().next().unwrap_or("").trim_end_matches(':').rsplit('/').next().unwrap_or("").chars().take(15).collect(),
            user: self.user.clone(),
            bounding: capabilities(own),
            no_new_privs: !privileged && own.and_then(|s| s.allow_privilege_escalation) == Some(false),
            filtered: !privileged && matches!(seccomp, Some("RuntimeDefault" | "Localhost")),
            cpus: self.node_cpus.clamp(1, 64),
            memory_kb: self.node_memory_kb,
            // At least what busybox's sleep keeps resident.
            rss_kb: self.rss_kb.max(896),
        }
    }

    /// The text, made once for a run of containers that show the same
    /// (a Deployment's pods, one after another).
    pub fn render_shared(&self) -> std::rc::Rc<str> {
        thread_local! {
            static LAST: std::cell::RefCell<(StatusKey, std::rc::Rc<str>)> = std::cell::RefCell::default();
        }
        let key = self.key();
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            if last.0 != key || last.1.is_empty() {
                let text = render(&key);
                *last = (key, text.into());
            }
            std::rc::Rc::clone(&last.1)
        })
    }

    pub fn render(&self) -> String {
        render(&self.key())
    }
}

fn render(key: &StatusKey) -> String {
    let StatusKey { name, user, bounding, no_new_privs, filtered, cpus, memory_kb, rss_kb } = key;
    let (bounding, no_new_privs, filtered, cpus, rss) = (*bounding, *no_new_privs, *filtered, *cpus, *rss_kb);
    // A user other than root keeps none past its exec (no ambient set).
    let effective = if user.uid == 0 { bounding } else { 0 };
    let (uid, gid) = (user.uid, user.gid);
    let groups: String = user.groups.iter().map(|g| format!("{g} ")).collect();
    let cpu_mask = if cpus == 64 { u64::MAX } else { (1u64 << cpus) - 1 };
    // About what busybox's sleep maps for what it keeps resident.
    let size = rss * 5;
    let lines = [
        format!("Name:\t{name}"),
        "Umask:\t0022".into(),
        "State:\tS (sleeping)".into(),
        "Tgid:\t1".into(),
        "Ngid:\t0".into(),
        "Pid:\t1".into(),
        "PPid:\t0".into(),
        "TracerPid:\t0".into(),
        format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}"),
        format!("Gid:\t{gid}\t{gid}\t{gid}\t{gid}"),
        "FDSize:\t64".into(),
        format!("Groups:\t{groups}"),
        "NStgid:\t1".into(),
        "NSpid:\t1".into(),
        "NSpgid:\t1".into(),
        "NSsid:\t1".into(),
        "Kthread:\t0".into(),
        format!("VmPeak:\t{size:>8} kB"),
        format!("VmSize:\t{size:>8} kB"),
        format!("VmLck:\t{:>8} kB", 0),
        format!("VmPin:\t{:>8} kB", 0),
        format!("VmHWM:\t{rss:>8} kB"),
        format!("VmRSS:\t{rss:>8} kB"),
        format!("RssAnon:\t{:>8} kB", rss / 4),
        format!("RssFile:\t{:>8} kB", rss - rss / 4),
        format!("RssShmem:\t{:>8} kB", 0),
        format!("VmSwap:\t{:>8} kB", 0),
        "Threads:\t1".into(),
        // RLIMIT_SIGPENDING's default: half the kernel's thread limit, a 32nd of its pages.
        format!("SigQ:\t0/{}", memory_kb / 256),
        "SigPnd:\t0000000000000000".into(),
        "ShdPnd:\t0000000000000000".into(),
        "SigBlk:\t0000000000000000".into(),
        "SigIgn:\t0000000000000000".into(),
        "SigCgt:\t0000000000000000".into(),
        "CapInh:\t0000000000000000".into(),
        format!("CapPrm:\t{effective:016x}"),
        format!("CapEff:\t{effective:016x}"),
        format!("CapBnd:\t{bounding:016x}"),
        "CapAmb:\t0000000000000000".into(),
        format!("NoNewPrivs:\t{}", u8::from(no_new_privs)),
        format!("Seccomp:\t{}", if filtered { 2 } else { 0 }),
        format!("Seccomp_filters:\t{}", u8::from(filtered)),
        "Speculation_Store_Bypass:\tthread vulnerable".into(),
        "SpeculationIndirectBranch:\tconditional enabled".into(),
        format!("Cpus_allowed:\t{cpu_mask:x}"),
        format!("Cpus_allowed_list:\t0-{}", cpus - 1),
        "Mems_allowed:\t00000000,00000001".into(),
        "Mems_allowed_list:\t0".into(),
        "voluntary_ctxt_switches:\t25".into(),
        "nonvoluntary_ctxt_switches:\t2".into(),
    ];
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::images::Base;
    use crate::engine::node::rootfs;

    fn pod(pod_context: serde_json::Value, own: serde_json::Value) -> (Pod, Container) {
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"securityContext": pod_context, "containers": [{"name": "c", "image": "busybox", "securityContext": own}]}
        }))
        .unwrap();
        let c = pod.spec.as_ref().unwrap().containers[0].clone();
        (Pod::from(pod), c)
    }

    fn user_in(base: Base, pod_context: serde_json::Value, own: serde_json::Value) -> ProcessUser {
        let (pod, c) = pod(pod_context, own);
        let (passwd, group) = rootfs::account_files(base);
        container_user(&UserSettings::of(&pod, &c, 0), passwd, group)
    }

    #[test]
    fn the_tutorials_pod_runs_as_its_user_with_its_groups_sorted() {
        let u = user_in(Base::Busybox, serde_json::json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000]}), serde_json::json!(null));
        assert_eq!(u, ProcessUser { uid: 1000, gid: 3000, groups: vec![2000, 3000, 4000], lacks: ALL_CAPABILITIES & !capabilities(None) });
        // The container's own user wins over the pod's.
        let u = user_in(Base::Busybox, serde_json::json!({"runAsUser": 1000}), serde_json::json!({"runAsUser": 2000}));
        assert_eq!(u, ProcessUser { uid: 2000, gid: 0, groups: vec![0], lacks: ALL_CAPABILITIES & !capabilities(None) });
    }

    #[test]
    fn the_images_groups_are_merged_unless_strict() {
        // Alpine lists root in ten groups (and in `root`, its own name, which does not count).
        let u = user_in(Base::Alpine, serde_json::json!(null), serde_json::json!(null));
        assert_eq!(u.groups, vec![0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]);
        let u = user_in(Base::Busybox, serde_json::json!({"supplementalGroupsPolicy": "Strict"}), serde_json::json!(null));
        assert_eq!(u, ProcessUser { uid: 0, gid: 0, groups: vec![0], lacks: ALL_CAPABILITIES & !capabilities(None) });
        // A user the image knows takes its group from /etc/passwd.
        let u = user_in(Base::Busybox, serde_json::json!({"runAsUser": 33}), serde_json::json!(null));
        assert_eq!((u.gid, u.groups), (33, vec![33]));
    }

    #[test]
    fn only_roots_processes_hold_the_bounding_sets_capabilities() {
        let dropped = user_in(Base::Busybox, serde_json::json!(null), serde_json::json!({"capabilities": {"drop": ["CHOWN"]}}));
        assert!(!dropped.capable(CAP_CHOWN));
        let defaults = user_in(Base::Busybox, serde_json::json!(null), serde_json::json!(null));
        assert!(defaults.capable(CAP_CHOWN) && !defaults.capable(CAP_SYS_TIME));
        let guest = user_in(Base::Busybox, serde_json::json!({"runAsUser": 405}), serde_json::json!({"capabilities": {"add": ["SYS_TIME"]}}));
        assert!(!guest.capable(CAP_CHOWN) && !guest.capable(CAP_SYS_TIME));
        assert!(ROOT.capable(CAP_SYS_TIME));
    }

    #[test]
    fn permission_bits_are_picked_by_owner_group_and_others() {
        let user = ProcessUser { uid: 1000, gid: 3000, groups: vec![2000, 3000], lacks: 0 };
        let mut dir = Inode::dir(0o755, 0);
        assert!(!user.may_change(&dir));
        dir.gid = 2000;
        dir.mode = 0o2775;
        assert!(user.may_change(&dir));
        let made = user.owns_new(Some(&dir), Inode::dir(0o755, 0));
        assert_eq!((made.uid, made.gid, made.mode), (1000, 2000, 0o2755));
        let made = user.owns_new(Some(&Inode::dir(0o777, 0)), Inode::file("x", 0o644, 0));
        assert_eq!((made.uid, made.gid), (1000, 3000));
        assert!(ROOT.may_change(&Inode::dir(0o500, 0)));
    }

    /// The docs' "Set capabilities for a Container": the default set is
    /// a80425fb; NET_ADMIN and SYS_TIME add bits 12 and 25.
    #[test]
    fn capabilities_are_containerds_defaults_with_adds_and_drops() {
        let context = |v: serde_json::Value| -> SecurityContext { serde_json::from_value(v).unwrap() };
        assert_eq!(capabilities(None), 0xa80425fb);
        assert_eq!(capabilities(Some(&context(serde_json::json!({"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}})))), 0xaa0435fb);
        assert_eq!(capabilities(Some(&context(serde_json::json!({"capabilities": {"drop": ["ALL"], "add": ["net_bind_service"]}})))), 1 << 10);
        assert_eq!(capabilities(Some(&context(serde_json::json!({"capabilities": {"add": ["ALL"], "drop": ["CAP_CHOWN"]}})))), 0x1fffffffffe);
        assert_eq!(capabilities(Some(&context(serde_json::json!({"privileged": true, "capabilities": {"drop": ["ALL"]}})))), 0x1ffffffffff);
        let user = ProcessUser { uid: 1000, gid: 0, groups: vec![0], lacks: 0 };
        let status = ProcStatus { command: "sleep 3600", user: &user, context: None, pod_seccomp: Some("RuntimeDefault"), node_cpus: 4, node_memory_kb: 8 << 20, rss_kb: 900 }.render();
        for line in ["Name:\tsleep\n", "Uid:\t1000\t1000\t1000\t1000\n", "Groups:\t0 \n", "CapEff:\t0000000000000000\n", "CapBnd:\t00000000a80425fb\n", "Seccomp:\t2\n", "Cpus_allowed_list:\t0-3\n"] {
            assert!(status.contains(line), "{line:?} in {status}");
        }
    }
}
