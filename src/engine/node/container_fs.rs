//! A container's view of files: its image's layer, its own writable layer,
//! and the mounts the kubelet and the runtime gave it (volumes from the
//! node's disk, `/etc/hosts`, `/dev`, `/proc`). Paths are resolved as the
//! kernel does: through mounts, following symbolic links (40 at most).
//!
//! [`Files`] is the raw interface (an entry at an exact path, a
//! directory's entries, writes); the free functions on top of it resolve
//! paths relative to a working directory. [`Overlay`] lets a script be
//! evaluated ahead of time without touching the real files.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::filesystem::{file_name, is_within, join, normalize, parent, Errno, Fs, Inode, Kind};
use super::identity::{ProcessUser, READ, WRITE};

/// Where a mount's files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountSource {
    /// A directory or file on the node's disk (a bind mount).
    Disk(Box<str>),
    /// A directory or file below the pod's directory on the node's disk
    /// (`etc-hosts`, a volume's `volumes/<plugin>/<name>`): its path there,
    /// shared, so the mounts of a template's containers are one list
    /// ([`Mounts`]) while the pod's directory is the container's own.
    InPod(Rc<str>),
    /// The container's termination-log file below its pod's directory
    /// (`containers/<name>/<id>`, the container's own: [`Mounts`]).
    TerminationLog,
    /// The directory of the pod's service account token volume below its
    /// pod's directory (its name is the pod's own: [`Mounts`]).
    TokenVolume,
    /// A frozen copy, read-only: a `subPath` into a volume the kubelet
    /// replaces atomically keeps the file it was started with.
    Snapshot(Rc<Fs>),
    /// Files private to the container (`/dev/shm`), gone with it: shared
    /// with other containers' while they are the same (empty), copied on
    /// the first write.
    Private(Rc<Fs>),
}

/// What `mount` prints for a mount besides its path and `rw`/`ro`. Every
/// container has a dozen mounts of a few kinds: each refers to one of
/// these rather than carrying the three strings itself.
#[derive(Debug, PartialEq, Eq)]
pub struct MountKind {
    /// `/dev/sda1`, `tmpfs`, `overlay`, `proc`.
    pub device: &'static str,
    pub fs_type: &'static str,
    /// Options after `rw`/`ro`: `relatime`, `nosuid,nodev,noexec,relatime`.
    pub options: &'static str,
}

impl MountKind {
    /// A bind mount from the node's disk.
    pub const DISK: MountKind = MountKind { device: "/dev/sda1", fs_type: "ext4", options: "relatime" };
    /// A volume backed by memory (`emptyDir.medium: Memory`, projected volumes).
    pub const TMPFS_VOLUME: MountKind = MountKind { device: "tmpfs", fs_type: "tmpfs", options: "relatime" };
    pub const SHM: MountKind = MountKind { device: "shm", fs_type: "tmpfs", options: "nosuid,nodev,noexec,relatime,size=65536k" };
    pub const PROC: MountKind = MountKind { device: "proc", fs_type: "proc", options: "nosuid,nodev,noexec,relatime" };
    pub const DEV: MountKind = MountKind { device: "tmpfs", fs_type: "tmpfs", options: "nosuid,size=65536k,mode=755" };
    pub const DEVPTS: MountKind = MountKind { device: "devpts", fs_type: "devpts", options: "nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666" };
    pub const MQUEUE: MountKind = MountKind { device: "mqueue", fs_type: "mqueue", options: "nosuid,nodev,noexec,relatime" };
    pub const SYSFS: MountKind = MountKind { device: "sysfs", fs_type: "sysfs", options: "nosuid,nodev,noexec,relatime" };
    pub const CGROUP: MountKind = MountKind { device: "cgroup", fs_type: "cgroup2", options: "nosuid,nodev,noexec,relatime" };
    /// The container's root: its image's layers and its own.
    pub const OVERLAY: MountKind = MountKind {
        device: "overlay",
        fs_type: "overlay",
        options: "relatime,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/25/fs:/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/24/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/139/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/139/work",
    };
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where it appears in the container (shared: every container has `/proc`).
    pub path: Rc<str>,
    pub source: MountSource,
    pub read_only: bool,
    pub kind: &'static MountKind,
}

impl Mount {
    pub fn disk(path: &str, disk_path: &str, read_only: bool) -> Self {
        Mount { path: mount_path(path), source: MountSource::Disk(disk_path.into()), read_only, kind: &MountKind::DISK }
    }

    /// A bind mount of `rel` below the pod's directory on the node's disk.
    pub fn in_pod(path: &str, rel: &str, read_only: bool) -> Self {
        Mount { path: mount_path(path), source: MountSource::InPod(super::volumes::shared_content(rel)), read_only, kind: &MountKind::DISK }
    }

    /// A bind mount of one of the container's own paths ([`Mounts`]).
    pub fn own(path: &str, source: MountSource, read_only: bool) -> Self {
        Mount { path: mount_path(path), source, read_only, kind: &MountKind::DISK }
    }

    /// A mount of files private to the container.
    pub fn private(path: &str, files: Rc<Fs>, read_only: bool, kind: &'static MountKind) -> Self {
        Mount { path: mount_path(path), source: MountSource::Private(files), read_only, kind }
    }

    /// A frozen, read-only copy mounted at `path`.
    pub fn snapshot(path: &str, files: Rc<Fs>, read_only: bool, kind: &'static MountKind) -> Self {
        Mount { path: mount_path(path), source: MountSource::Snapshot(files), read_only, kind }
    }
    /// As `mount` prints it: `/dev/sda1`, `tmpfs`, `overlay`, `proc`.
    pub fn device(&self) -> &'static str {
        self.kind.device
    }
    pub fn fs_type(&self) -> &'static str {
        self.kind.fs_type
    }
    /// The `mount` line: `tmpfs on /dev type tmpfs (rw,nosuid,size=65536k,mode=755)`.
    pub fn line(&self) -> String {
        let rw = if self.read_only { "ro" } else { "rw" };
        let options = self.kind.options;
        let opts = if options.is_empty() { rw.to_string() } else { format!("{rw},{options}") };
        format!("{} on {} type {} ({opts})", self.kind.device, self.path, self.kind.fs_type)
    }
}

/// A container's mounts in `/proc/mounts` order: a list the containers of
/// one template share (their sources below the pod's directory named
/// relative to it, [`MountSource::InPod`]), with the paths that are this
/// container's own beside it. A container's 13 mounts were 728 bytes and
/// five paths of their own before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mounts {
    list: Rc<Vec<Mount>>,
    /// The pod's directory on the node's disk, then (below it, without the
    /// `/`) the container's termination-log file and the pod's token
    /// volume's directory, one after another: `own[..ends[0]]`,
    /// `own[ends[0]..ends[1]]`, `own[ends[1]..]`.
    own: Box<str>,
    ends: [u32; 2],
}

thread_local! {
    /// Mount lists many containers share, by a hash of their contents.
    static SHARED_LISTS: std::cell::RefCell<super::volumes::SharedByHash<Vec<Mount>>> = const { std::cell::RefCell::new(super::volumes::SharedByHash::new(4096)) };
}

/// Whether two mounts are the same, their trees compared by address (a
/// list is shared only with one that holds the very same trees).
fn same_mount(a: &Mount, b: &Mount) -> bool {
    let source = match (&a.source, &b.source) {
        (MountSource::Disk(x), MountSource::Disk(y)) => x == y,
        (MountSource::InPod(x), MountSource::InPod(y)) => x == y,
        (MountSource::TerminationLog, MountSource::TerminationLog) | (MountSource::TokenVolume, MountSource::TokenVolume) => true,
        (MountSource::Snapshot(x), MountSource::Snapshot(y)) | (MountSource::Private(x), MountSource::Private(y)) => Rc::ptr_eq(x, y),
        _ => false,
    };
    source && a.path == b.path && a.read_only == b.read_only && std::ptr::eq(a.kind, b.kind)
}

fn list_hash(list: &[Mount]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for m in list {
        h.write(m.path.as_bytes());
        h.write_u8(0);
        match &m.source {
            MountSource::Disk(p) => {
                h.write_u8(1);
                h.write(p.as_bytes());
            }
            MountSource::InPod(p) => {
                h.write_u8(2);
                h.write(p.as_bytes());
            }
            MountSource::TerminationLog => h.write_u8(3),
            MountSource::TokenVolume => h.write_u8(4),
            // By address: only looked up, never iterated in an order anyone sees.
            MountSource::Snapshot(fs) => h.write_usize(5 + Rc::as_ptr(fs) as usize),
            MountSource::Private(fs) => h.write_usize(6 + Rc::as_ptr(fs) as usize),
        }
        h.write_u8(u8::from(m.read_only));
        h.write_usize(m.kind as *const MountKind as usize);
    }
    h.finish()
}

impl Mounts {
    /// Mounts with no pod: every source's path is whole.
    pub fn new(list: Vec<Mount>) -> Self {
        Mounts { list: Rc::new(list), own: Box::default(), ends: [0, 0] }
    }

    /// A container's mounts, `list` shared with the containers that have
    /// the same: `pod_dir` is where `InPod` sources are, `log` and
    /// `token` (below it) the termination log and token volume.
    pub fn of_pod(list: Vec<Mount>, pod_dir: &str, log: &str, token: &str) -> Self {
        let list = SHARED_LISTS.with(|shared| shared.borrow_mut().share(list_hash(&list), list, |found, list| found.len() == list.len() && found.iter().zip(list).all(|(a, b)| same_mount(a, b)), Rc::new));
        let mut own = String::with_capacity(pod_dir.len() + log.len() + token.len());
        own.push_str(pod_dir);
        own.push_str(log);
        let ends = [pod_dir.len(), own.len()].map(|e| u32::try_from(e).unwrap_or(u32::MAX));
        own.push_str(token);
        Mounts { list, own: own.into_boxed_str(), ends }
    }

    fn own_part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends.get(i).map_or(self.own.len(), |&e| e as usize);
        self.own.get(start..end).unwrap_or("")
    }

    /// The pod's directory, `/` and `rel` (exactly what `rel` was cut from).
    fn below_pod(&self, rel: &str) -> String {
        let dir = self.own_part(0);
        let mut path = String::with_capacity(dir.len() + 1 + rel.len());
        path.push_str(dir);
        path.push('/');
        path.push_str(rel);
        path
    }

    /// Where `source` is below the pod's directory, if it is there.
    pub fn in_pod<'a>(&'a self, source: &'a MountSource) -> Option<&'a str> {
        match source {
            MountSource::InPod(rel) => Some(rel),
            MountSource::TerminationLog => Some(self.own_part(1)),
            MountSource::TokenVolume => Some(self.own_part(2)),
            MountSource::Disk(_) | MountSource::Snapshot(_) | MountSource::Private(_) => None,
        }
    }

    /// Where `source` is on the node's disk (`None` for files of its own).
    pub fn disk_path<'a>(&'a self, source: &'a MountSource) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match source {
            MountSource::Disk(path) => Some(Cow::Borrowed(path)),
            _ => self.in_pod(source).map(|rel| Cow::Owned(self.below_pod(rel))),
        }
    }

    /// Gives the private mount at `path` (`/sys/fs/cgroup`) other files:
    /// a resize changes a running container's cgroup.
    pub fn replace_private(&mut self, path: &str, files: Rc<Fs>) {
        if let Some(i) = self.list.iter().position(|m| &*m.path == path && matches!(m.source, MountSource::Private(_))) {
            if let Some(source) = self.source_mut(i) {
                *source = MountSource::Private(files);
            }
        }
    }

    /// The `i`th mount's source, to change it: the list becomes this
    /// container's own first (copy on write).
    fn source_mut(&mut self, i: usize) -> Option<&mut MountSource> {
        Rc::make_mut(&mut self.list).get_mut(i).map(|m| &mut m.source)
    }

    /// Adds a mount at the end.
    pub fn push(&mut self, mount: Mount) {
        Rc::make_mut(&mut self.list).push(mount);
    }
}

impl std::ops::Deref for Mounts {
    type Target = [Mount];
    fn deref(&self) -> &[Mount] {
        &self.list
    }
}

/// The image's files shared with every container of the image, and this
/// container's own changes on top (with whiteouts for deletions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootFs {
    pub image: Rc<Fs>,
    /// What the runtime put in the writable layer for the container's
    /// mount points, while nothing else was written there: shared by
    /// every container of the same image and mount paths (see
    /// [`mount_points`]), with the instant the layer was made.
    points: Option<(Rc<Fs>, i64)>,
    /// The writable layer, once something is in it (nothing while
    /// `points` stands for it).
    upper: Option<Box<Fs>>,
    /// `securityContext.readOnlyRootFilesystem`.
    pub read_only: bool,
}

/// The modification time of a shared mount-point entry the runtime made
/// with the layer: the container's own instant is filled in when read.
const MADE_WITH_LAYER: i64 = i64::MIN;

impl RootFs {
    /// A fresh container's files: the image's, and an empty layer.
    pub fn new(image: Rc<Fs>, read_only: bool) -> Self {
        RootFs { image, points: None, upper: None, read_only }
    }

    /// The writable layer's entry at `path` (a whiteout included).
    pub fn upper_get(&self, path: &str) -> Option<Inode> {
        match &self.points {
            Some((points, made)) => points.get(path).map(|i| made_at(i, *made)),
            None => self.upper.as_ref()?.get(path).cloned(),
        }
    }

    /// The writable layer's entries directly in `dir`.
    pub fn upper_children(&self, dir: &str) -> Vec<(String, Inode)> {
        match &self.points {
            Some((points, made)) => points.children(dir).into_iter().map(|(n, i)| (n, made_at(i, *made))).collect(),
            None => self.upper.iter().flat_map(|u| u.children(dir)).map(|(n, i)| (n, i.clone())).collect(),
        }
    }

    /// Kilobytes the writable layer's files take, for `df`.
    pub fn upper_used_kb(&self) -> u64 {
        match &self.points {
            Some((points, _)) => points.used_kb("/"),
            None => self.upper.as_ref().map_or(0, |u| u.used_kb("/")),
        }
    }

    /// The writable layer, for a change: the shared mount points become
    /// the container's own first (copy on write).
    pub fn upper_mut(&mut self) -> &mut Fs {
        let upper = self.upper.get_or_insert_with(Box::default);
        if let Some((points, made)) = self.points.take() {
            // A directory comes before what it holds.
            for (path, inode) in points.iter() {
                upper.insert(&path, made_at(inode, made));
            }
        }
        upper
    }
}

fn made_at(inode: &Inode, made: i64) -> Inode {
    let mut inode = inode.clone();
    if inode.mtime() == MADE_WITH_LAYER {
        inode.set_mtime(made);
    }
    inode
}

thread_local! {
    /// Mount-point layers by image (its shared root's address: image
    /// roots are kept for the session) and mount paths.
    static POINTS: std::cell::RefCell<(BTreeMap<(usize, Vec<(String, bool)>), std::rc::Weak<Fs>>, usize)> = const { std::cell::RefCell::new((BTreeMap::new(), 64)) };
}

/// Gives a fresh container's layer what the runtime creates there before
/// it starts: each mount point (`(path, is a file)`, in mount order) the
/// image lacks, with the image's directories above it copied up, made at
/// `secs`. Containers of one image with the same mounts share the result.
pub fn mount_points(root: &mut RootFs, points: &[(String, bool)], secs: i64) {
    if root.points.is_some() || root.upper.as_ref().is_some_and(|u| !u.is_empty()) {
        make_mount_points(root, points, secs);
        return;
    }
    let key = (Rc::as_ptr(&root.image) as *const () as usize, points.to_vec());
    let shared = POINTS.with(|cache| cache.borrow().0.get(&key).and_then(std::rc::Weak::upgrade));
    let shared = match shared {
        Some(fs) => fs,
        None => {
            let mut scratch = RootFs::new(root.image.clone(), false);
            make_mount_points(&mut scratch, points, MADE_WITH_LAYER);
            let fs = Rc::new(scratch.upper.map(|u| *u).unwrap_or_default());
            POINTS.with(|cache| {
                let (cache, prune_at) = &mut *cache.borrow_mut();
                // Dead shapes go once the map has doubled since the last prune.
                if cache.len() > *prune_at {
                    cache.retain(|_, w| w.strong_count() > 0);
                    *prune_at = (cache.len() * 2).max(64);
                }
                cache.insert(key, Rc::downgrade(&fs));
            });
            fs
        }
    };
    if !shared.is_empty() {
        root.points = Some((shared, secs));
    }
}

fn make_mount_points(root: &mut RootFs, points: &[(String, bool)], secs: i64) {
    for (path, is_file) in points {
        if path == "/" || root.upper_get(path).is_some() || root.image.get(path).is_some() {
            continue;
        }
        copy_up_parents(root, path);
        let inode = if *is_file { Inode::file("", 0o644, secs) } else { Inode::dir(0o755, secs) };
        root.upper_mut().insert(path, inode);
    }
}

/// Raw file access at exact (normalized) paths; no symlink is followed.
pub trait Files {
    fn lstat(&self, path: &str) -> Option<Inode>;
    /// Entries of the directory at `dir`, by name.
    fn entries(&self, dir: &str) -> Vec<(String, Inode)>;
    /// Whether writes at `path` are refused (a read-only mount).
    fn read_only(&self, path: &str) -> bool;
    /// Replaces or creates the entry at `path` (its parent exists).
    fn put(&mut self, path: &str, inode: Inode) -> Result<(), Errno>;
    /// Replaces the entry at `path` keeping the modification time `inode`
    /// carries: an attribute change (`chmod`, `chown`) moves none.
    fn put_attributes(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        self.put(path, inode)
    }
    /// Removes the entry at `path` (a directory only when empty).
    fn delete(&mut self, path: &str) -> Result<(), Errno>;
    /// The mount holding `path`, for `df`; `None` for the root layer.
    fn mount_of(&self, _path: &str) -> Option<&Mount> {
        None
    }
    /// Who reads and writes through it: what permissions are checked
    /// against and who owns what it creates.
    fn user(&self) -> &ProcessUser;
}

/// A mount's path in the container, shared with every other mount there.
fn mount_path(path: &str) -> Rc<str> {
    super::volumes::shared_content(path)
}

fn locate<'m>(mounts: &'m [Mount], path: &str) -> Option<(usize, &'m Mount, String)> {
    mounts
        .iter()
        .enumerate()
        // The root overlay is the container's own layers, not a mount to route through.
        .filter(|(_, m)| &*m.path != "/" && is_within(path, &m.path))
        .max_by_key(|(_, m)| m.path.len())
        .map(|(i, m)| {
            let rel = if &*m.path == "/" { path.to_string() } else { path[m.path.len()..].to_string() };
            (i, m, if rel.is_empty() { "/".to_string() } else { rel })
        })
}

/// The path on the node's disk `rel` within a mount from `d` is at.
fn on_disk(d: &str, rel: &str) -> String {
    if rel == "/" {
        d.to_string()
    } else {
        join(d, rel)
    }
}

fn mount_lstat(mounts: &Mounts, m: &Mount, rel: &str, disk: &Fs) -> Option<Inode> {
    match &m.source {
        MountSource::Snapshot(fs) | MountSource::Private(fs) => fs.get(rel).cloned(),
        source => disk.get(&on_disk(&mounts.disk_path(source)?, rel)).cloned(),
    }
}

fn mount_entries(mounts: &Mounts, m: &Mount, rel: &str, disk: &Fs) -> Vec<(String, Inode)> {
    let list = |fs: &Fs, p: &str| fs.children(p).into_iter().map(|(n, i)| (n, i.clone())).collect::<Vec<_>>();
    match &m.source {
        MountSource::Snapshot(fs) | MountSource::Private(fs) => list(fs, rel),
        source => mounts.disk_path(source).map_or_else(Vec::new, |d| list(disk, &on_disk(&d, rel))),
    }
}

fn root_lstat(root: &RootFs, path: &str) -> Option<Inode> {
    match root.upper_get(path) {
        Some(i) if i.kind == Kind::Whiteout => None,
        Some(i) => Some(i),
        None => root.image.get(path).cloned(),
    }
}

fn root_entries(root: &RootFs, dir: &str) -> Vec<(String, Inode)> {
    let mut merged: BTreeMap<String, Inode> = crate::engine::sort::insert_all(root.image.children(dir).into_iter().map(|(n, i)| (n, i.clone())));
    if root.upper_get(dir).is_some_and(|i| i.is_dir()) && root.image.get(dir).is_some_and(|i| !i.is_dir()) {
        merged.clear();
    }
    for (name, inode) in root.upper_children(dir) {
        if inode.kind == Kind::Whiteout {
            merged.remove(&name);
        } else {
            merged.insert(name, inode);
        }
    }
    merged.into_iter().collect()
}

/// Directories of the image a new entry goes under are copied into the
/// writable layer first (overlayfs "copy-up"), keeping their modes.
pub fn copy_up_parents(root: &mut RootFs, path: &str) {
    let upper = root.upper_mut();
    let mut missing = Vec::new();
    let mut at = parent(path);
    while at != "/" && upper.get(at).is_none() {
        missing.push(at.to_string());
        at = parent(at);
    }
    for dir in missing.into_iter().rev() {
        if let Some(inode) = root.image.get(&dir).filter(|i| i.is_dir()).cloned() {
            root.upper_mut().insert(&dir, inode);
        }
    }
}

/// Mount points directly inside `dir`, listed even where no layer has
/// them, each as its mount's root (what a `stat` of it finds).
fn add_mount_points(entries: &mut Vec<(String, Inode)>, mounts: &Mounts, dir: &str, disk: &Fs) {
    for m in mounts.iter() {
        if &*m.path != "/" && parent(&m.path) == dir {
            let Some(inode) = mount_lstat(mounts, m, "/", disk) else { continue };
            match entries.iter_mut().find(|(n, _)| n == file_name(&m.path)) {
                Some(entry) => entry.1 = inode,
                None => entries.push((file_name(&m.path).to_string(), inode)),
            }
        }
    }
    entries.sort_stable_by(|a, b| a.0.cmp(&b.0));
}

/// A container's files, read-only (while its main process is compiled).
pub struct View<'a> {
    pub root: &'a RootFs,
    pub mounts: &'a Mounts,
    pub disk: &'a Fs,
    pub user: &'a ProcessUser,
}

/// A container's files, writable.
pub struct ViewMut<'a> {
    pub root: &'a mut RootFs,
    pub mounts: &'a mut Mounts,
    pub disk: &'a mut Fs,
    /// Unix seconds written as modification times.
    pub now: i64,
    pub user: &'a ProcessUser,
}

fn view_lstat(root: &RootFs, mounts: &Mounts, disk: &Fs, path: &str) -> Option<Inode> {
    match locate(mounts, path) {
        Some((_, m, rel)) => mount_lstat(mounts, m, &rel, disk),
        None => root_lstat(root, path),
    }
}

fn view_entries(root: &RootFs, mounts: &Mounts, disk: &Fs, dir: &str) -> Vec<(String, Inode)> {
    let mut entries = match locate(mounts, dir) {
        Some((_, m, rel)) => mount_entries(mounts, m, &rel, disk),
        None => root_entries(root, dir),
    };
    add_mount_points(&mut entries, mounts, dir, disk);
    entries
}

impl Files for View<'_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        view_lstat(self.root, self.mounts, self.disk, path)
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        view_entries(self.root, self.mounts, self.disk, dir)
    }
    fn read_only(&self, path: &str) -> bool {
        match locate(self.mounts, path) {
            Some((_, m, _)) => m.read_only || matches!(m.source, MountSource::Snapshot(_)),
            None => self.root.read_only,
        }
    }
    fn put(&mut self, _: &str, _: Inode) -> Result<(), Errno> {
        Err(Errno::ReadOnly)
    }
    fn delete(&mut self, _: &str) -> Result<(), Errno> {
        Err(Errno::ReadOnly)
    }
    fn mount_of(&self, path: &str) -> Option<&Mount> {
        locate(self.mounts, path).map(|(_, m, _)| m)
    }
    fn user(&self) -> &ProcessUser {
        self.user
    }
}

impl ViewMut<'_> {
    /// The mount holding `path` (its place in the list, the path within
    /// it, and where that is on the node's disk if the mount is from there).
    fn target(&self, path: &str) -> Option<(usize, String, Option<String>)> {
        let (i, m, rel) = locate(self.mounts, path)?;
        let at = self.mounts.disk_path(&m.source).map(|d| on_disk(&d, &rel));
        Some((i, rel, at))
    }
}

impl Files for ViewMut<'_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        view_lstat(self.root, self.mounts, self.disk, path)
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        view_entries(self.root, self.mounts, self.disk, dir)
    }
    fn read_only(&self, path: &str) -> bool {
        match locate(self.mounts, path) {
            Some((_, m, _)) => m.read_only || matches!(m.source, MountSource::Snapshot(_)),
            None => self.root.read_only,
        }
    }
    fn put(&mut self, path: &str, mut inode: Inode) -> Result<(), Errno> {
        inode.set_mtime(self.now);
        self.put_attributes(path, inode)
    }
    fn put_attributes(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        if self.read_only(path) {
            return Err(Errno::ReadOnly);
        }
        match self.target(path) {
            Some((_, _, Some(at))) => self.disk.insert(&at, inode),
            Some((i, rel, None)) => match self.mounts.source_mut(i) {
                Some(MountSource::Private(fs)) => Rc::make_mut(fs).insert(&rel, inode),
                _ => return Err(Errno::ReadOnly),
            },
            None => {
                copy_up_parents(self.root, path);
                self.root.upper_mut().insert(path, inode)
            }
        }
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), Errno> {
        if self.read_only(path) {
            return Err(Errno::ReadOnly);
        }
        if self.mounts.iter().any(|m| &*m.path == path) {
            return Err(Errno::Access);
        }
        match self.target(path) {
            Some((_, _, Some(at))) => {
                self.disk.remove(&at);
            }
            Some((i, rel, None)) => match self.mounts.source_mut(i) {
                Some(MountSource::Private(fs)) => {
                    Rc::make_mut(fs).remove(&rel);
                }
                _ => return Err(Errno::ReadOnly),
            },
            None => {
                if self.root.image.get(path).is_some() {
                    self.root.upper_mut().insert(path, Inode::new(Kind::Whiteout, 0, self.now));
                } else {
                    self.root.upper_mut().remove(path);
                }
            }
        }
        Ok(())
    }
    fn mount_of(&self, path: &str) -> Option<&Mount> {
        locate(self.mounts, path).map(|(_, m, _)| m)
    }
    fn user(&self) -> &ProcessUser {
        self.user
    }
}

/// Changes made on top of other files without touching them: a script
/// evaluated ahead of time sees its own writes.
pub struct Overlay<'a> {
    pub lower: &'a dyn Files,
    changes: BTreeMap<String, Option<Inode>>,
    /// Unix seconds written as modification times.
    pub now: i64,
}

impl<'a> Overlay<'a> {
    pub fn new(lower: &'a dyn Files, now: i64) -> Self {
        Overlay { lower, changes: BTreeMap::new(), now }
    }
}

impl Files for Overlay<'_> {
    fn lstat(&self, path: &str) -> Option<Inode> {
        match self.changes.get(path) {
            Some(change) => change.clone(),
            None => self.lower.lstat(path),
        }
    }
    fn entries(&self, dir: &str) -> Vec<(String, Inode)> {
        let mut merged: BTreeMap<String, Inode> = crate::engine::sort::insert_all(self.lower.entries(dir).into_iter());
        for (path, change) in &self.changes {
            if parent(path) == dir && path != "/" {
                match change {
                    Some(i) => merged.insert(file_name(path).to_string(), i.clone()),
                    None => merged.remove(file_name(path)),
                };
            }
        }
        merged.into_iter().collect()
    }
    fn read_only(&self, path: &str) -> bool {
        self.lower.read_only(path)
    }
    fn put(&mut self, path: &str, mut inode: Inode) -> Result<(), Errno> {
        inode.set_mtime(self.now);
        self.put_attributes(path, inode)
    }
    fn put_attributes(&mut self, path: &str, inode: Inode) -> Result<(), Errno> {
        if self.read_only(path) {
            return Err(Errno::ReadOnly);
        }
        self.changes.insert(path.to_string(), Some(inode));
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), Errno> {
        if self.read_only(path) {
            return Err(Errno::ReadOnly);
        }
        self.changes.insert(path.to_string(), None);
        Ok(())
    }
    fn mount_of(&self, path: &str) -> Option<&Mount> {
        self.lower.mount_of(path)
    }
    fn user(&self) -> &ProcessUser {
        self.lower.user()
    }
}

/// Most symbolic links followed in one resolution (the kernel's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Resolves `path` (relative to `cwd`) through symbolic links. Every
/// component but the last must exist; the last may be missing (for
/// creation) and is followed only with `follow_last`.
pub fn resolve(fs: &dyn Files, cwd: &str, path: &str, follow_last: bool) -> Result<String, Errno> {
    // The kernel's PATH_MAX (with its terminating NUL) and NAME_MAX.
    if path.len() >= 4096 || path.split('/').any(|name| name.len() > 255) {
        return Err(Errno::NameTooLong);
    }
    let start = normalize(cwd, path);
    let mut pending: Vec<String> = start.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect();
    pending.reverse();
    let mut at = "/".to_string();
    let mut hops = 0;
    while let Some(component) = pending.pop() {
        if component == "." {
            continue;
        }
        if component == ".." {
            at = parent(&at).to_string();
            continue;
        }
        let candidate = join(&at, &component);
        let last = pending.is_empty();
        match fs.lstat(&candidate) {
            None if last => return Ok(candidate),
            None => return Err(Errno::NoEnt),
            Some(inode) => match inode.kind {
                Kind::Symlink(target) if !last || follow_last => {
                    hops += 1;
                    if hops > MAX_LINKS {
                        return Err(Errno::Loop);
                    }
                    if target.starts_with('/') {
                        at = "/".to_string();
                    }
                    let mut parts: Vec<String> = target.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect();
                    parts.reverse();
                    pending.extend(parts);
                }
                Kind::Dir => at = candidate,
                _ if !last => return Err(Errno::NotDir),
                _ => at = candidate,
            },
        }
    }
    Ok(at)
}

/// The entry a path names, following links: (resolved path, entry).
pub fn stat(fs: &dyn Files, cwd: &str, path: &str) -> Result<(String, Inode), Errno> {
    let at = resolve(fs, cwd, path, true)?;
    fs.lstat(&at).map(|i| (at, i)).ok_or(Errno::NoEnt)
}

/// The entry a path names without following a final link.
pub fn lstat(fs: &dyn Files, cwd: &str, path: &str) -> Result<(String, Inode), Errno> {
    let at = resolve(fs, cwd, path, false)?;
    fs.lstat(&at).map(|i| (at, i)).ok_or(Errno::NoEnt)
}

pub fn read_file(fs: &dyn Files, cwd: &str, path: &str) -> Result<String, Errno> {
    let (_, inode) = stat(fs, cwd, path)?;
    match inode.kind {
        Kind::File(_) if !fs.user().may(&inode, READ) => Err(Errno::Access),
        Kind::File(c) => Ok(c.to_string()),
        Kind::Dir => Err(Errno::IsDir),
        _ => Err(Errno::NoEnt),
    }
}

pub fn list_dir(fs: &dyn Files, cwd: &str, path: &str) -> Result<Vec<(String, Inode)>, Errno> {
    let (at, inode) = stat(fs, cwd, path)?;
    if !inode.is_dir() {
        return Err(Errno::NotDir);
    }
    Ok(fs.entries(&at))
}

/// The directory an entry is made in, when the process may add to it.
fn parent_to_change(fs: &dyn Files, at: &str) -> Result<Inode, Errno> {
    let dir = fs.lstat(parent(at)).filter(Inode::is_dir).ok_or(Errno::NoEnt)?;
    if fs.user().may_change(&dir) || fs.read_only(at) {
        Ok(dir)
    } else {
        Err(Errno::Access)
    }
}

/// Writes (or appends to) a file, creating it `0644`, owned by the writer.
pub fn write_file(fs: &mut dyn Files, cwd: &str, path: &str, content: &str, append: bool) -> Result<(), Errno> {
    let at = resolve(fs, cwd, path, true)?;
    let existing = fs.lstat(&at);
    let (mut inode, old) = match &existing {
        Some(i) if i.is_dir() => return Err(Errno::IsDir),
        Some(_) if !fs.lstat(parent(&at)).is_some_and(|p| p.is_dir()) => return Err(Errno::NoEnt),
        Some(i) if !fs.user().may(i, WRITE) && !fs.read_only(&at) => return Err(Errno::Access),
        Some(i) => (i.clone(), i.content().map(std::borrow::Cow::into_owned).unwrap_or_default()),
        None => {
            let dir = parent_to_change(fs, &at)?;
            (fs.user().owns_new(Some(&dir), Inode::file("", 0o644, 0)), String::new())
        }
    };
    let body = if append { format!("{old}{content}") } else { content.to_string() };
    inode.kind = Inode::file(&body, 0, 0).kind;
    fs.put(&at, inode)
}

/// `mkdir` (with `-p`, missing parents too and no error when present).
pub fn make_dir(fs: &mut dyn Files, cwd: &str, path: &str, parents: bool) -> Result<(), Errno> {
    if parents {
        if path.len() >= 4096 || path.split('/').any(|name| name.len() > 255) {
            return Err(Errno::NameTooLong);
        }
        let full = normalize(cwd, path);
        // Each component is resolved from the directory the previous one
        // resolved to, not from `/` again: a deep path costs its depth
        // once per component, not its depth squared.
        let mut resolved = "/".to_string();
        for component in full.split('/').filter(|c| !c.is_empty()) {
            let candidate = join(&resolved, component);
            let next = match fs.lstat(&candidate) {
                Some(Inode { kind: Kind::Symlink(_), .. }) => resolve(fs, "/", &candidate, true)?,
                _ => candidate,
            };
            match fs.lstat(&next) {
                Some(i) if i.is_dir() => {}
                Some(_) => return Err(Errno::NotDir),
                None => {
                    let dir = parent_to_change(fs, &next)?;
                    let made = fs.user().owns_new(Some(&dir), Inode::dir(0o755, 0));
                    fs.put(&next, made)?
                }
            }
            resolved = next;
        }
        return Ok(());
    }
    let at = resolve(fs, cwd, path, false)?;
    if fs.lstat(&at).is_some() {
        return Err(Errno::Exists);
    }
    let dir = parent_to_change(fs, &at)?;
    let made = fs.user().owns_new(Some(&dir), Inode::dir(0o755, 0));
    fs.put(&at, made)
}

/// Removes a file or link (`rm`), an empty directory (`rmdir`), or a tree (`rm -r`).
pub fn remove(fs: &mut dyn Files, cwd: &str, path: &str, recursive: bool, dir_ok: bool) -> Result<(), Errno> {
    let (at, inode) = lstat(fs, cwd, path)?;
    parent_to_change(fs, &at)?;
    if inode.is_dir() {
        if !recursive && !dir_ok {
            return Err(Errno::IsDir);
        }
        let children = fs.entries(&at);
        if !children.is_empty() {
            if !recursive {
                return Err(Errno::NotEmpty);
            }
            for (name, _) in children {
                remove(fs, "/", &join(&at, &name), true, true)?;
            }
        }
    }
    fs.delete(&at)
}

/// `symlink(2)`: a link at `path` (not followed) to `target`, kept as
/// written, owned by the process.
pub fn symlink(fs: &mut dyn Files, cwd: &str, path: &str, target: &str) -> Result<(), Errno> {
    if path.is_empty() || target.is_empty() {
        return Err(Errno::NoEnt);
    }
    let at = resolve(fs, cwd, path, false)?;
    if fs.lstat(&at).is_some() {
        return Err(Errno::Exists);
    }
    let dir = parent_to_change(fs, &at)?;
    let made = fs.user().owns_new(Some(&dir), Inode::symlink(target, 0));
    fs.put(&at, made)
}

/// `touch`: creates an empty file or refreshes the time of an existing one.
pub fn touch(fs: &mut dyn Files, cwd: &str, path: &str) -> Result<(), Errno> {
    let at = resolve(fs, cwd, path, true)?;
    match fs.lstat(&at) {
        Some(i) if !fs.user().may(&i, WRITE) && i.uid != fs.user().uid && !fs.read_only(&at) => Err(Errno::Access),
        Some(mut i) => {
            i.set_mtime(0);
            fs.put(&at, i)
        }
        None => {
            let dir = parent_to_change(fs, &at)?;
            let made = fs.user().owns_new(Some(&dir), Inode::file("", 0o644, 0));
            fs.put(&at, made)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (RootFs, Mounts, Fs) {
        let mut image = Fs::new();
        image.insert("/", Inode::dir(0o755, 0));
        image.insert("/etc/passwd", Inode::file("root\n", 0o644, 0));
        image.insert("/bin", Inode::symlink("usr/bin", 0));
        image.insert("/usr/bin/ls", Inode::file("", 0o755, 0));
        let mut disk = Fs::new();
        let vol = "/var/lib/kubelet/pods/u/volumes/kubernetes.io~configmap/cfg";
        disk.insert(&format!("{vol}/..2026_01_01_00_00_00.1/key"), Inode::file("v1\n", 0o644, 0));
        disk.insert(&format!("{vol}/..data"), Inode::symlink("..2026_01_01_00_00_00.1", 0));
        disk.insert(&format!("{vol}/key"), Inode::symlink("..data/key", 0));
        disk.insert("/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/cache", Inode::dir(0o777, 0));
        let mounts = Mounts::new(vec![
            Mount::disk("/etc/config", vol, true),
            Mount::disk("/cache", "/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/cache", false),
        ]);
        (RootFs::new(Rc::new(image), false), mounts, disk)
    }

    #[test]
    fn reads_follow_mounts_and_links() {
        let (root, mounts, disk) = setup();
        let view = View { root: &root, mounts: &mounts, disk: &disk, user: &crate::engine::node::identity::ROOT };
        assert_eq!(read_file(&view, "/", "/etc/config/key").as_deref(), Ok("v1\n"));
        assert_eq!(read_file(&view, "/etc", "config/key").as_deref(), Ok("v1\n"));
        assert_eq!(resolve(&view, "/", "/bin/ls", true).as_deref(), Ok("/usr/bin/ls"));
        let names: Vec<String> = list_dir(&view, "/", "/").unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["bin", "cache", "etc", "usr"]);
        assert_eq!(read_file(&view, "/", "/nope"), Err(Errno::NoEnt));
        assert_eq!(read_file(&view, "/", "/etc/passwd/x"), Err(Errno::NotDir));
    }

    #[test]
    fn writes_land_in_the_right_place() {
        let (mut root, mut mounts, mut disk) = setup();
        {
            let mut view = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 5, user: &crate::engine::node::identity::ROOT };
            write_file(&mut view, "/", "/cache/f", "x\n", false).unwrap();
            write_file(&mut view, "/", "/cache/f", "y\n", true).unwrap();
            write_file(&mut view, "/", "/tmp.txt", "t", false).unwrap();
            assert_eq!(write_file(&mut view, "/", "/etc/config/new", "z", false), Err(Errno::ReadOnly));
            remove(&mut view, "/", "/etc/passwd", false, false).unwrap();
            assert_eq!(read_file(&view, "/", "/etc/passwd"), Err(Errno::NoEnt));
            make_dir(&mut view, "/", "/a/b/c", true).unwrap();
            assert_eq!(make_dir(&mut view, "/", "/a", false), Err(Errno::Exists));
        }
        assert_eq!(disk.get("/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/cache/f").and_then(Inode::content).as_deref(), Some("x\ny\n"));
        assert!(root.upper_get("/tmp.txt").is_some());
        assert_eq!(root.upper_get("/etc/passwd").map(|i| i.kind), Some(Kind::Whiteout));
    }

    #[test]
    fn a_template_s_containers_share_one_mount_list_with_their_pod_s_paths_beside_it() {
        let shm_root = || {
            let mut fs = Fs::new();
            fs.insert("/", Inode::dir(0o1777, 0));
            fs
        };
        let list = || {
            vec![
                Mount::private("/dev/shm", Rc::new(shm_root()), false, &MountKind::SHM),
                Mount::in_pod("/etc/hosts", "etc-hosts", false),
                Mount::own("/dev/termination-log", MountSource::TerminationLog, false),
                Mount::own("/var/run/secrets/kubernetes.io/serviceaccount", MountSource::TokenVolume, true),
                Mount::disk("/data", "/srv/data", false),
            ]
        };
        let shm = list()[0].clone();
        let with_shm = |mut l: Vec<Mount>| {
            l[0] = shm.clone();
            l
        };
        let a = Mounts::of_pod(with_shm(list()), "/var/lib/kubelet/pods/a", "containers/c/0001", "volumes/kubernetes.io~projected/kube-api-access-aaaaa");
        let mut b = Mounts::of_pod(with_shm(list()), "/var/lib/kubelet/pods/b", "containers/c/0002", "volumes/kubernetes.io~projected/kube-api-access-bbbbb");
        assert!(Rc::ptr_eq(&a.list, &b.list), "one list for both");
        let paths = |m: &Mounts| m.iter().map(|x| m.disk_path(&x.source).map(|p| p.into_owned())).collect::<Vec<_>>();
        assert_eq!(
            paths(&b),
            vec![
                None,
                Some("/var/lib/kubelet/pods/b/etc-hosts".to_string()),
                Some("/var/lib/kubelet/pods/b/containers/c/0002".to_string()),
                Some("/var/lib/kubelet/pods/b/volumes/kubernetes.io~projected/kube-api-access-bbbbb".to_string()),
                Some("/srv/data".to_string()),
            ]
        );
        assert_eq!(paths(&a)[2].as_deref(), Some("/var/lib/kubelet/pods/a/containers/c/0001"));
        // A write to a private mount is the container's own.
        let mut image = Fs::new();
        image.insert("/", Inode::dir(0o755, 0));
        image.insert("/etc", Inode::dir(0o755, 0));
        image.insert("/dev", Inode::dir(0o755, 0));
        let (mut root, mut disk) = (RootFs::new(Rc::new(image), false), Fs::new());
        disk.insert("/var/lib/kubelet/pods/b/etc-hosts", Inode::file("", 0o644, 0));
        let mut view = ViewMut { root: &mut root, mounts: &mut b, disk: &mut disk, now: 1, user: &crate::engine::node::identity::ROOT };
        write_file(&mut view, "/", "/dev/shm/x", "x", false).unwrap();
        write_file(&mut view, "/", "/etc/hosts", "h", false).unwrap();
        assert!(!Rc::ptr_eq(&a.list, &b.list));
        assert_eq!(disk.get("/var/lib/kubelet/pods/b/etc-hosts").and_then(Inode::content).as_deref(), Some("h"));
        let view = View { root: &root, mounts: &a, disk: &disk, user: &crate::engine::node::identity::ROOT };
        assert_eq!(read_file(&view, "/", "/dev/shm/x"), Err(Errno::NoEnt));
        let view = View { root: &root, mounts: &b, disk: &disk, user: &crate::engine::node::identity::ROOT };
        assert_eq!(read_file(&view, "/", "/dev/shm/x").as_deref(), Ok("x"));
        // A different list is not shared.
        let c = Mounts::of_pod(list(), "/var/lib/kubelet/pods/c", "", "");
        assert!(!Rc::ptr_eq(&a.list, &c.list), "another private tree");
    }

    #[test]
    fn an_overlay_keeps_changes_to_itself() {
        let (root, mounts, disk) = setup();
        let view = View { root: &root, mounts: &mounts, disk: &disk, user: &crate::engine::node::identity::ROOT };
        let mut overlay = Overlay::new(&view, 0);
        write_file(&mut overlay, "/", "/cache/f", "hi", false).unwrap();
        assert_eq!(read_file(&overlay, "/", "/cache/f").as_deref(), Ok("hi"));
        assert!(disk.get("/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/cache/f").is_none());
        let names: Vec<String> = list_dir(&overlay, "/", "/cache").unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["f"]);
    }
}
