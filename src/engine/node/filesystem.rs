//! Files: a node's disk and a container's writable layer, as a map from
//! absolute path to inode.
//!
//! An [`Fs`] stores entries as they are; it never follows symbolic links
//! (views such as the container's mount namespace resolve them). Parents
//! are created as directories when an entry is written beneath them.
//! Everything that lives on a node's disk is an `Fs` path there: pods'
//! volumes under `/var/lib/kubelet/pods/<uid>/volumes/…`, hostPath and
//! local PersistentVolume data at their own paths.

use std::rc::Rc;

use thin_vec::ThinVec;

/// Where the simulation's clock starts, in Unix seconds (2026-01-01).
pub use crate::engine::api::meta::EPOCH_SECONDS;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// File contents are shared: copies (snapshots, image layers) are cheap.
    File(Content),
    Dir,
    /// Its target, sized to it (a `String`'s capacity would widen every
    /// entry of every disk by a word); shared as names are ([`shared_name`]).
    Symlink(Rc<str>),
    /// In a container's writable layer: the image's entry here was deleted.
    Whiteout,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub kind: Kind,
    /// Permission bits (`0o644`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Last modification ([`Inode::mtime`]), in 32 bits: with the other
    /// fields an entry of a disk's directory list is 64 bytes instead of 72
    /// (a node holds about 18 entries for each of its pods).
    mtime: u32,
}

/// How [`Inode::mtime`]'s `i64::MIN` (a time yet to be filled in) is kept.
const UNSET_MTIME: u32 = u32::MAX;

/// A file's contents: a text, or what makes it (a pod's service account
/// token, about 1.2 KB unique to the pod, is kept as its claims and made
/// again on every read, as the same bytes).
#[derive(Clone, Debug)]
pub enum Content {
    Text(Rc<str>),
    Made(Rc<dyn MadeText>),
}

/// Contents made on read; the same every time.
pub trait MadeText: std::fmt::Debug {
    fn text(&self) -> String;
    /// Its length in bytes, without keeping the text.
    fn len(&self) -> usize {
        self.text().len()
    }
}

impl Content {
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Content::Text(text) => std::borrow::Cow::Borrowed(text),
            Content::Made(made) => std::borrow::Cow::Owned(made.text()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Content::Text(text) => text.len(),
            Content::Made(made) => made.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Rc<str>> for Content {
    fn from(text: Rc<str>) -> Self {
        Content::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(text.into())
    }
}

impl PartialEq for Content {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Content::Text(a), Content::Text(b)) => a == b,
            (Content::Made(a), Content::Made(b)) if Rc::ptr_eq(a, b) => true,
            _ => self.text() == other.text(),
        }
    }
}

impl Eq for Content {}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

thread_local! {
    static EMPTY: Rc<str> = Rc::from("");
}

impl Inode {
    /// An entry owned by root.
    pub fn new(kind: Kind, mode: u32, mtime: i64) -> Self {
        let mut inode = Inode { kind, mode, uid: 0, gid: 0, mtime: 0 };
        inode.set_mtime(mtime);
        inode
    }
    pub fn file(content: &str, mode: u32, mtime: i64) -> Self {
        // Empty files (termination logs, mount points) share one empty text.
        let content = if content.is_empty() { EMPTY.with(Rc::clone) } else { Rc::from(content) };
        Inode::new(Kind::File(Content::Text(content)), mode, mtime)
    }
    pub fn dir(mode: u32, mtime: i64) -> Self {
        Inode::new(Kind::Dir, mode, mtime)
    }
    pub fn symlink(target: &str, mtime: i64) -> Self {
        Inode::new(Kind::Symlink(shared_name(target)), 0o777, mtime)
    }
    /// Last modification, Unix seconds; `i64::MIN` as it was set.
    pub fn mtime(&self) -> i64 {
        if self.mtime == UNSET_MTIME {
            i64::MIN
        } else {
            i64::from(self.mtime)
        }
    }
    /// Sets [`Inode::mtime`]: kept from 1970 to 2106 (a time outside is
    /// kept as the nearest end), and `i64::MIN` as itself.
    pub fn set_mtime(&mut self, secs: i64) {
        self.mtime = if secs == i64::MIN { UNSET_MTIME } else { u32::try_from(secs.clamp(0, i64::from(UNSET_MTIME - 1))).unwrap_or(0) };
    }
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
    pub fn content(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.kind {
            Kind::File(c) => Some(c.text()),
            _ => None,
        }
    }
    /// Size as `ls -l` shows it.
    pub fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(c) => c.len() as u64,
            Kind::Dir => 4096,
            Kind::Symlink(t) => t.len() as u64,
            Kind::Whiteout => 0,
        }
    }
}

/// Why a file operation failed, as the C library names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    NoEnt,
    NotDir,
    IsDir,
    Exists,
    NotEmpty,
    ReadOnly,
    Loop,
    Access,
    NameTooLong,
    /// `EPERM`: the process lacks the privilege (`CAP_CHOWN`).
    NotPermitted,
}

impl Errno {
    /// `strerror`.
    pub fn message(self) -> &'static str {
        match self {
            Errno::NoEnt => "No such file or directory",
            Errno::NotDir => "Not a directory",
            Errno::IsDir => "Is a directory",
            Errno::Exists => "File exists",
            Errno::NotEmpty => "Directory not empty",
            Errno::ReadOnly => "Read-only file system",
            Errno::Loop => "Symbolic link loop",
            Errno::Access => "Permission denied",
            Errno::NameTooLong => "File name too long",
            Errno::NotPermitted => "Operation not permitted",
        }
    }
}

/// A tree of entries by absolute path. `/` always exists.
///
/// Stored as a tree of path components, each entry under its directory by
/// name, so a path's directories are not repeated in every key (a pod's
/// volume files are nine components deep on the node's disk). It behaves
/// as a map from path to entry: an entry may exist below a path that has
/// none (its parents were never written or were removed on their own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fs {
    /// `/` itself: a container's many small private mounts (`/dev/shm`,
    /// `/dev/pts`, …) hold only their root.
    root: Option<Inode>,
    /// Everything below `/`.
    top: Children,
}

/// What is below one directory of an [`Fs`] (see [`Fs::subtree`]).
pub struct Subtree<'a>(&'a Children);

impl<'a> Subtree<'a> {
    /// `Fs::get(&join(dir, rel))`, for a `rel` that is not empty and does
    /// not start with `/`.
    pub fn get(&self, rel: &str) -> Option<&'a Inode> {
        let mut parts = components(rel);
        let mut node = self.0.get(parts.next()?)?;
        for part in parts {
            node = node.below.get(part)?;
        }
        node.inode.as_ref()
    }
}

/// A directory's names, in byte order, each with what is at and below it.
/// A `ThinVec` (one word; its length and capacity live in its buffer):
/// most entries are files and links with nothing below them, and a disk
/// holds about 18 entries for every pod on the node.
#[derive(Debug, Default, PartialEq, Eq)]
struct Children(ThinVec<(Rc<str>, Node)>);

/// `name` as an entry keeps it. Names and link targets that recur on every
/// node and under every pod (`volumes`, `kubernetes.io~projected`,
/// `..data/token`, a container's name) are kept once for every disk, with
/// the disks' other shared texts; a name with a digit is nearly always one
/// object's alone (a pod's uid, a token volume's suffix, a timestamped
/// directory, a container's id), which sharing would keep in the table
/// too, so it is the entry's own.
fn shared_name(name: &str) -> Rc<str> {
    if name.bytes().any(|b| b.is_ascii_digit()) {
        return Rc::from(name);
    }
    super::volumes::shared_content(name)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Node {
    /// The entry at this path; `None` when only entries below it exist.
    inode: Option<Inode>,
    below: Children,
}

impl Children {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| name_order(n, name))
    }

    fn get(&self, name: &str) -> Option<&Node> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }

    fn get_or_add(&mut self, name: &str) -> &mut Node {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                // Most directories hold a few entries for a long time:
                // room for exactly those, doubling only once they are many.
                if self.0.len() == self.0.capacity() {
                    self.0.reserve_exact(if self.0.len() < 16 { 1 } else { self.0.len() });
                }
                self.0.insert(i, (shared_name(name), Node::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// How many entries are at and below these children. (Walks here keep
    /// their own stack: a tree may be as deep as a path is long.)
    fn count(&self) -> usize {
        let mut n = 0;
        self.inodes(&mut |_| n += 1);
        n
    }

    /// Every entry at and below these children (under `at`), each before
    /// what is below it, names in order.
    fn visit<'a>(&'a self, at: &str, f: &mut dyn FnMut(&str, &'a Inode)) {
        let within = |dir: &str, name: &str| if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
        let mut pending: Vec<(String, &'a Node)> = self.0.iter().rev().map(|(name, node)| (within(at, name), node)).collect();
        while let Some((path, node)) = pending.pop() {
            if let Some(inode) = &node.inode {
                f(&path, inode);
            }
            pending.extend(node.below.0.iter().rev().map(|(name, below)| (within(&path, name), below)));
        }
    }

    fn inodes<'a>(&'a self, f: &mut dyn FnMut(&'a Inode)) {
        let mut pending: Vec<&'a Children> = vec![self];
        while let Some(children) = pending.pop() {
            for (_, node) in &children.0 {
                if let Some(inode) = &node.inode {
                    f(inode);
                }
                pending.push(&node.below);
            }
        }
    }
}

impl Clone for Children {
    /// Without recursion, as [`Drop`]: each node is copied as it is met
    /// (parents first) and hung under its parent once what is below it is done.
    fn clone(&self) -> Self {
        let mut out = Children::default();
        // What is being filled, by depth: (name, copy without what is below yet).
        let mut open: Vec<(Rc<str>, Node)> = Vec::new();
        let mut pending: Vec<(usize, &(Rc<str>, Node))> = self.0.iter().rev().map(|e| (0, e)).collect();
        let close = |open: &mut Vec<(Rc<str>, Node)>, out: &mut Children| {
            if let Some((name, mut node)) = open.pop() {
                node.below.0.shrink_to_fit();
                match open.last_mut() {
                    Some((_, parent)) => parent.below.0.push((name, node)),
                    None => out.0.push((name, node)),
                }
            }
        };
        while let Some((depth, (name, node))) = pending.pop() {
            while open.len() > depth {
                close(&mut open, &mut out);
            }
            open.push((name.clone(), Node { inode: node.inode.clone(), below: Children::default() }));
            pending.extend(node.below.0.iter().rev().map(|e| (depth + 1, e)));
        }
        while !open.is_empty() {
            close(&mut open, &mut out);
        }
        out.0.shrink_to_fit();
        out
    }
}

impl Drop for Children {
    /// Without recursion: a deep tree would exhaust the stack.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.0);
        while let Some((_, mut node)) = pending.pop() {
            pending.append(&mut node.below.0);
        }
    }
}

/// Byte order of two names, as `str`'s, deciding on the first byte where
/// it differs: the names a search meets most are pods' UIDs under
/// `/var/lib/kubelet/pods`, which nearly always differ there, and a call
/// to compare whole names cost more than the rest of the search.
fn name_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// The components of an absolute path below `/`: what `split('/')` yields
/// (empty components included), found by a plain byte scan, as paths'
/// components are short and `str::split`'s searcher costs more per call
/// than the scan (the disk's walks were a tenth of a kubelet's start).
fn components(path: &str) -> Components<'_> {
    Components { rest: Some(path.strip_prefix('/').unwrap_or(path)) }
}

/// See [`components`].
struct Components<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == b'/') {
            Some(i) => {
                // `/` is one byte and never inside a UTF-8 sequence.
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

impl Fs {
    pub fn new() -> Self {
        Fs::default()
    }

    fn node(&self, path: &str) -> Option<&Node> {
        let mut parts = components(path);
        let mut node = self.top.get(parts.next()?)?;
        for part in parts {
            node = node.below.get(part)?;
        }
        Some(node)
    }

    fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut parts = components(path);
        let mut node = self.top.get_mut(parts.next()?)?;
        for part in parts {
            node = node.below.get_mut(part)?;
        }
        Some(node)
    }

    /// The entries below directory `dir`, to look several up without
    /// walking down to it each time. `dir` is a path without a trailing
    /// `/`, other than `/` itself.
    pub fn subtree(&self, dir: &str) -> Option<Subtree<'_>> {
        self.below(dir).map(Subtree)
    }

    /// What is below `path` (everything for `/`).
    fn below(&self, path: &str) -> Option<&Children> {
        if path == "/" {
            return Some(&self.top);
        }
        self.node(path).map(|n| &n.below)
    }

    pub fn get(&self, path: &str) -> Option<&Inode> {
        if path == "/" {
            return self.root.as_ref();
        }
        self.node(path)?.inode.as_ref()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some() || path == "/"
    }

    pub fn len(&self) -> usize {
        self.top.count() + usize::from(self.root.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.top.0.is_empty()
    }

    /// Stores an entry, creating missing parents as `0755` directories.
    pub fn insert(&mut self, path: &str, inode: Inode) {
        if path == "/" {
            self.root = Some(inode);
            return;
        }
        Self::insert_below(&mut self.top, path, inode);
    }

    /// `insert(&join(dir, name), inode)` for each of `entries` in turn,
    /// walking down to `dir` once when it holds an entry (then nothing
    /// above it is made, as the deepest directory holding one is at or
    /// below it, and `name`'s components are walked from `dir` as they
    /// would be from the top).
    pub fn insert_all_under<'n>(&mut self, dir: &str, entries: impl IntoIterator<Item = (&'n str, Inode)>) {
        let mut entries = entries.into_iter().peekable();
        let walkable = dir.starts_with('/') && dir.len() > 1 && !dir.ends_with('/');
        loop {
            if let Some(at) = self.node_mut(dir).filter(|n| walkable && n.inode.is_some()) {
                // A name that `join` drops gives `dir` itself, whose
                // parents `insert` may make: that one goes the long way.
                while let Some((name, inode)) = entries.next_if(|(name, _)| !name.trim_start_matches('/').is_empty()) {
                    Self::insert_below(&mut at.below, name.trim_start_matches('/'), inode);
                }
            }
            match entries.next() {
                Some((name, inode)) => self.insert(&join(dir, name), inode),
                None => return,
            }
        }
    }

    /// Stores an entry at `path` (its components below `top`), creating
    /// missing parents below the deepest that holds an entry.
    fn insert_below(top: &mut Children, path: &str, inode: Inode) {
        let mtime = inode.mtime();
        // One walk down, adding what is missing and noting how many of the
        // directories above, from the top, end with the deepest one that
        // has an entry: those below it get one (a second walk, rare).
        let mut parts = components(path);
        let mut node = top.get_or_add(parts.next().unwrap_or(""));
        let (mut dirs, mut present) = (0, 0);
        for part in parts {
            dirs += 1;
            if node.inode.is_some() {
                present = dirs;
            }
            node = node.below.get_or_add(part);
        }
        node.inode = Some(inode);
        if present < dirs {
            let mut children = top;
            for (depth, part) in components(path).take(dirs).enumerate() {
                let node = children.get_or_add(part);
                if depth >= present {
                    node.inode = Some(Inode::dir(0o755, mtime));
                }
                children = &mut node.below;
            }
        }
    }

    /// `mkdir -p`.
    pub fn mkdir_all(&mut self, path: &str, mode: u32, mtime: i64) {
        if path == "/" || self.get(path).is_some_and(Inode::is_dir) {
            return;
        }
        self.insert(path, Inode::dir(mode, mtime));
    }

    /// Writes a file's contents (creating it with `mode` if new).
    pub fn write(&mut self, path: &str, content: &str, mode: u32, mtime: i64) {
        let mode = self.get(path).filter(|n| matches!(n.kind, Kind::File(_))).map_or(mode, |n| n.mode);
        self.insert(path, Inode::file(content, mode, mtime));
    }

    /// Removes the entry at `path` (what is below it stays).
    pub fn remove(&mut self, path: &str) -> Option<Inode> {
        if path == "/" {
            return self.root.take();
        }
        let removed = self.take(path, false);
        removed.and_then(|n| n.inode)
    }

    /// Takes the node at `path` out (`whole`), or only its entry, and drops
    /// directories left holding nothing.
    fn take(&mut self, path: &str, whole: bool) -> Option<Node> {
        fn holder<'a>(top: &'a mut Children, at: &[usize]) -> &'a mut Children {
            at.iter().fold(top, |children, &i| &mut children.0[i].1.below)
        }
        // Where each component is in its directory's list.
        let mut at = Vec::new();
        let mut children = &self.top;
        for part in components(path) {
            let i = children.find(part).ok()?;
            at.push(i);
            children = &children.0[i].1.below;
        }
        let (&last, above) = at.split_last()?;
        let dir = holder(&mut self.top, above);
        let node = &mut dir.0[last].1;
        let taken = if whole || node.below.0.is_empty() { dir.0.remove(last).1 } else { Node { inode: node.inode.take(), below: Children::default() } };
        if dir.0.is_empty() {
            dir.0 = ThinVec::new();
        }
        // Directories that held only what went, and have no entry of their own.
        for depth in (0..above.len()).rev() {
            let dir = holder(&mut self.top, &at[..depth]);
            let node = &dir.0[at[depth]].1;
            if node.inode.is_some() || !node.below.0.is_empty() {
                break;
            }
            dir.0.remove(at[depth]);
            if dir.0.is_empty() {
                dir.0 = ThinVec::new();
            }
        }
        Some(taken)
    }

    /// Removes an entry and everything beneath it; returns how many went.
    pub fn remove_tree(&mut self, path: &str) -> usize {
        if path == "/" {
            let n = self.len();
            self.root = None;
            self.top = Children::default();
            return n;
        }
        self.take(path, true).map_or(0, |n| usize::from(n.inode.is_some()) + n.below.count())
    }

    /// Direct children of a directory, by name.
    pub fn children(&self, dir: &str) -> Vec<(String, &Inode)> {
        self.children_iter(dir).map(|(name, inode)| (name.to_string(), inode)).collect()
    }

    /// What [`Fs::children`] lists, borrowed.
    pub fn children_iter(&self, dir: &str) -> impl Iterator<Item = (&str, &Inode)> {
        self.below(dir).into_iter().flat_map(|below| below.0.iter()).filter(|(name, _)| !name.is_empty()).filter_map(|(name, node)| node.inode.as_ref().map(|i| (&**name, i)))
    }

    /// A copy of the subtree at `path`, re-rooted at `/`.
    pub fn copy_tree(&self, path: &str) -> Fs {
        if path == "/" {
            return self.clone();
        }
        match self.node(path) {
            Some(node) => Fs { root: node.inode.clone(), top: node.below.clone() },
            None => Fs::new(),
        }
    }

    /// Every entry at and below `path`.
    fn subtree_inodes<'a>(&'a self, path: &str, f: &mut dyn FnMut(&'a Inode)) {
        if let Some(inode) = self.get(path) {
            f(inode);
        }
        if let Some(below) = self.below(path) {
            below.inodes(f);
        }
    }

    /// Total bytes held in files, for `df`.
    pub fn used_bytes(&self, path: &str) -> u64 {
        let mut total = 0;
        self.subtree_inodes(path, &mut |n| total += if let Kind::File(c) = &n.kind { c.len() as u64 } else { 0 });
        total
    }

    /// Kilobytes the files under `path` take on a disk of 4 KiB blocks.
    pub fn used_kb(&self, path: &str) -> u64 {
        let mut total = 0;
        self.subtree_inodes(path, &mut |n| total += if let Kind::File(c) = &n.kind { (c.len() as u64).div_ceil(4096) * 4 } else { 0 });
        total
    }

    /// Every entry, each before what is below it (`/` first).
    pub fn iter(&self) -> impl Iterator<Item = (String, &Inode)> {
        let mut all: Vec<(String, &Inode)> = self.root.iter().map(|i| ("/".to_string(), i)).collect();
        self.top.visit("/", &mut |path, inode| all.push((path.to_string(), inode)));
        all.into_iter()
    }
}

/// The directory holding `path` (`/` for `/x` and `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of `path`.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir` + `/` + `name`, for an absolute `dir`.
pub fn join(dir: &str, name: &str) -> String {
    let name = name.trim_start_matches('/');
    if name.is_empty() {
        return dir.to_string();
    }
    // Pushed into a string of the exact size: `format!` cost ten times the
    // copy on the kubelet's volume writes.
    let slash = !dir.ends_with('/');
    let mut path = String::with_capacity(dir.len() + usize::from(slash) + name.len());
    path.push_str(dir);
    if slash {
        path.push('/');
    }
    path.push_str(name);
    path
}

/// Resolves `.` and `..` lexically: `path` relative to `cwd` unless absolute.
/// A path already in that form (most: mount paths, the kubelet's own) is
/// copied as it is, which is what resolving it gives.
pub fn normalize(cwd: &str, path: &str) -> String {
    if is_normal(path) {
        return path.to_string();
    }
    normalize_walk(cwd, path)
}

/// Whether `path` is absolute, not `/` alone, and each of its components
/// is neither empty (no `//`, no trailing `/`), `.` nor `..`.
fn is_normal(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    // Over bytes: a mount path's few short components cost less to scan
    // than a searcher's setup for each.
    !rest.is_empty() && rest.as_bytes().split(|&b| b == b'/').all(|c| !c.is_empty() && c != b"." && c != b"..")
}

fn normalize_walk(cwd: &str, path: &str) -> String {
    let full = if path.starts_with('/') { path.to_string() } else { join(if cwd.is_empty() { "/" } else { cwd }, path) };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", parts.join("/"))
    }
}

/// Whether `path` is `prefix` or beneath it.
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix == "/" || path == prefix || path.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_finds_what_the_whole_path_finds() {
        let mut fs = Fs::new();
        let dir = "/var/lib/kubelet/pods/0f3c";
        for path in ["/var/lib/kubelet/pods/0f3c/etc-hosts", "/var/lib/kubelet/pods/0f3c/containers/c/01ab", "/var/lib/kubelet/pods/0f3c/volumes/kubernetes.io~projected/x/..data", "/var/lib/kubelet/pods/0f3d/etc-hosts"] {
            fs.insert(path, Inode::file("x", 0o644, 0));
        }
        let below = fs.subtree(dir).expect("the pod's directory");
        for rel in ["etc-hosts", "containers", "containers/c", "containers/c/01ab", "containers//c", "volumes/kubernetes.io~projected/x/..data", "missing", "etc-hosts/x", "..", "."] {
            assert_eq!(below.get(rel), fs.get(&join(dir, rel)), "{rel:?}");
        }
        assert!(fs.subtree("/var/lib/kubelet/pods/none").is_none());
    }

    #[test]
    fn names_order_as_strings_do() {
        let names = ["", "a", "ab", "b", "..data", "..2026_01_01", "é", "e", "kubernetes.io~projected", "kubernetes.io~empty-dir", "0f3c", "0f3", "f0", "A"];
        for a in names {
            for b in names {
                assert_eq!(name_order(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn paths_normalize_like_the_kernel() {
        assert_eq!(normalize("/", "etc/../tmp/./x"), "/tmp/x");
        assert_eq!(normalize("/usr/share", "../../.."), "/");
        assert_eq!(normalize("/a", "/b//c/"), "/b/c");
        for path in ["/", "//", "/a", "/a/", "/a//b", "/a/./b", "/a/../b", "/..", "/.", "/.a/b..", "/etc/hosts", "/var/lib/kubelet/pods/x/etc-hosts", "a/b", "", ".", "/a/b/c/...", "/é/ü"] {
            for cwd in ["/", "/usr/share", ""] {
                assert_eq!(normalize(cwd, path), normalize_walk(cwd, path), "{cwd:?} {path:?}");
            }
        }
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert!(is_within("/data/x", "/data"));
        assert!(!is_within("/database", "/data"));
    }

    #[test]
    fn trees_create_parents_list_children_and_remove_subtrees() {
        let mut fs = Fs::new();
        fs.write("/var/lib/x/a.txt", "hello\n", 0o644, 0);
        fs.write("/var/lib/x/sub/b.txt", "b", 0o644, 0);
        assert!(fs.get("/var/lib").is_some_and(Inode::is_dir));
        let names: Vec<String> = fs.children("/var/lib/x").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["a.txt", "sub"]);
        let copy = fs.copy_tree("/var/lib/x");
        assert_eq!(copy.get("/sub/b.txt").and_then(Inode::content).as_deref(), Some("b"));
        assert_eq!(fs.used_bytes("/var"), 7);
        assert_eq!(fs.remove_tree("/var/lib/x"), 4);
        assert!(fs.get("/var/lib/x/a.txt").is_none());
        assert!(fs.get("/var/lib").is_some());
    }

    #[test]
    fn times_read_back_as_set_within_what_an_inode_keeps() {
        let at = |secs: i64| Inode::dir(0o755, secs).mtime();
        for secs in [0, 1, EPOCH_SECONDS, EPOCH_SECONDS + 86_400 * 365, i64::from(u32::MAX) - 1, i64::MIN] {
            assert_eq!(at(secs), secs);
        }
        // Outside 1970..2106: the nearest end, never the unset mark.
        assert_eq!(at(-5), 0);
        assert_eq!(at(i64::MAX), i64::from(u32::MAX) - 1);
        assert_eq!(at(i64::from(u32::MAX)), i64::from(u32::MAX) - 1);
        let mut inode = Inode::file("x", 0o644, 3);
        inode.set_mtime(EPOCH_SECONDS);
        assert_eq!(inode.mtime(), EPOCH_SECONDS);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<(Rc<str>, Node)>(), 64, "a directory list's entry");
    }

    #[test]
    fn names_and_link_targets_without_digits_are_shared_between_trees() {
        let pod = |uid: &str| {
            let mut fs = Fs::new();
            let dir = format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~projected/kube-api-access-x");
            fs.insert(&format!("{dir}/token"), Inode::symlink("..data/token", 0));
            fs.insert(&format!("{dir}/..data"), Inode::symlink("..2026_01_01_00_01_00.1", 0));
            fs
        };
        let (a, b) = (pod("0b38b8c0-1"), pod("0b38b8c0-2"));
        let names = |fs: &Fs, parent: &str| -> Vec<Rc<str>> {
            let children = if parent == "/" { Some(&fs.top) } else { fs.node(parent).map(|n| &n.below) };
            children.map(|c| c.0.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default()
        };
        let (a_pods, b_pods) = (names(&a, "/var/lib/kubelet/pods"), names(&b, "/var/lib/kubelet/pods"));
        assert!(!Rc::ptr_eq(&a_pods[0], &b_pods[0]) && a_pods[0].as_ref() != b_pods[0].as_ref(), "a pod's uid is its own");
        let (a_top, b_top) = (names(&a, "/"), names(&b, "/"));
        assert!(Rc::ptr_eq(&a_top[0], &b_top[0]), "`var` is one text for both");
        let a_vol = "/var/lib/kubelet/pods/0b38b8c0-1/volumes/kubernetes.io~projected/kube-api-access-x";
        let b_vol = "/var/lib/kubelet/pods/0b38b8c0-2/volumes/kubernetes.io~projected/kube-api-access-x";
        let (a_files, b_files) = (names(&a, a_vol), names(&b, b_vol));
        assert_eq!(a_files.iter().map(|n| n.as_ref()).collect::<Vec<_>>(), ["..data", "token"]);
        assert!(Rc::ptr_eq(&a_files[1], &b_files[1]));
        let target = |fs: &Fs, path: &str| match fs.get(path).map(|i| &i.kind) {
            Some(Kind::Symlink(t)) => t.clone(),
            other => panic!("{other:?}"),
        };
        assert!(Rc::ptr_eq(&target(&a, &format!("{a_vol}/token")), &target(&b, &format!("{b_vol}/token"))), "`..data/token` is shared");
        assert!(!Rc::ptr_eq(&target(&a, &format!("{a_vol}/..data")), &target(&b, &format!("{b_vol}/..data"))), "a timestamped target is not");
        assert_eq!(a.get(&format!("{a_vol}/..data")), b.get(&format!("{b_vol}/..data")), "equal all the same");
    }

    #[test]
    fn trees_behave_as_a_map_from_path_to_entry() {
        let mut fs = Fs::new();
        fs.insert("/", Inode::dir(0o755, 0));
        fs.write("/a/b/c", "c", 0o600, 7);
        fs.write("/a-z", "dash", 0o644, 1);
        assert_eq!(fs.get("/a/b").map(|i| (i.mode, i.mtime())), Some((0o755, 7)), "parents made with the entry's time");
        assert_eq!(fs.len(), 5);
        // Removing a directory on its own leaves what is below it reachable.
        assert!(fs.remove("/a/b").is_some_and(|i| i.is_dir()));
        assert!(fs.get("/a/b").is_none());
        assert_eq!(fs.get("/a/b/c").and_then(Inode::content).as_deref(), Some("c"));
        assert_eq!(fs.children("/a/b").len(), 1);
        assert!(fs.children("/a").is_empty(), "only entries are listed");
        assert_eq!(fs.len(), 4);
        let order: Vec<String> = fs.iter().map(|(p, _)| p).collect();
        assert_eq!(order, vec!["/", "/a", "/a/b/c", "/a-z"], "each entry before what is below it");
        assert_eq!(fs.copy_tree("/a").iter().map(|(p, _)| p).collect::<Vec<_>>(), vec!["/", "/b/c"]);
        assert_eq!(fs.used_bytes("/"), 5);
        assert_eq!(fs.used_kb("/a"), 4);
        // Removing the last entry below a directory forgets the path.
        assert!(fs.remove("/a/b/c").is_some());
        assert!(fs.children("/a/b").is_empty());
        assert_eq!(fs.remove_tree("/a"), 1);
        assert_eq!(fs.remove_tree("/a"), 0);
        assert_eq!(fs.len(), 2);
        let copy = fs.copy_tree("/");
        assert_eq!(copy, fs);
        assert_eq!(fs.remove_tree("/"), 2);
        assert!(fs.is_empty());
    }

    /// `insert` as it was written first (parents made in a walk of their
    /// own, then the entry put in another): the oracle for the one walk.
    fn insert_in_two_walks(fs: &mut Fs, path: &str, inode: Inode) {
        if path == "/" {
            fs.root = Some(inode);
            return;
        }
        let parts: Vec<&str> = components(path).collect();
        if let Some((_, dirs)) = parts.split_last() {
            let mut present = 0;
            let mut children = &fs.top;
            for (depth, part) in dirs.iter().enumerate() {
                let Some(node) = children.get(part) else { break };
                if node.inode.is_some() {
                    present = depth + 1;
                }
                children = &node.below;
            }
            if present < dirs.len() {
                let mut children = &mut fs.top;
                for (depth, part) in dirs.iter().enumerate() {
                    let node = children.get_or_add(part);
                    if depth >= present {
                        node.inode = Some(Inode::dir(0o755, inode.mtime()));
                    }
                    children = &mut node.below;
                }
            }
        }
        let mut parts = components(path);
        let mut node = fs.top.get_or_add(parts.next().unwrap_or(""));
        for part in parts {
            node = node.below.get_or_add(part);
        }
        node.inode = Some(inode);
    }

    #[test]
    fn components_are_what_split_yields() {
        for path in ["/", "", "/a", "a", "/a/b", "//a//b/", "/a/b/", "/é/ü//x", "a/", "/..data/ca.crt", "///"] {
            let split: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
            assert_eq!(components(path).collect::<Vec<_>>(), split, "{path:?}");
        }
        for (dir, name) in [("/", "a"), ("/a", "b"), ("/a/", "b"), ("/a", "/b"), ("/a", ""), ("/a", "//"), ("", "b"), ("/a", "b/c")] {
            let name_ = name.trim_start_matches('/');
            let want = if name_.is_empty() { dir.to_string() } else if dir.ends_with('/') { format!("{dir}{name_}") } else { format!("{dir}/{name_}") };
            assert_eq!(join(dir, name), want);
        }
    }

    #[test]
    fn inserting_in_one_walk_makes_the_tree_two_walks_made() {
        let mut rng = fastrand::Rng::with_seed(7);
        let names = ["a", "b", "ab", "", "c"];
        let (mut one, mut two) = (Fs::new(), Fs::new());
        for step in 0..4000 {
            let depth = 1 + rng.usize(..5);
            let path: String = (0..depth).map(|_| format!("/{}", names[rng.usize(..names.len())])).collect();
            match rng.u8(..10) {
                0 => {
                    assert_eq!(one.remove(&path), two.remove(&path));
                }
                1 => {
                    assert_eq!(one.remove_tree(&path), two.remove_tree(&path));
                }
                _ => {
                    let inode = if rng.bool() { Inode::dir(0o700, step) } else { Inode::file("x", 0o600, step) };
                    one.insert(&path, inode.clone());
                    insert_in_two_walks(&mut two, &path, inode);
                }
            }
            assert_eq!(one, two, "after step {step} at {path}");
        }
        assert!(one.len() > 10);
    }

    #[test]
    fn inserting_under_a_directory_is_inserting_each_joined_path() {
        let mut rng = fastrand::Rng::with_seed(11);
        let names = ["a", "b", "ab", "", "c", "/a", "a/"];
        let (mut under, mut joined) = (Fs::new(), Fs::new());
        for step in 0..4000 {
            let pick = |rng: &mut fastrand::Rng, most: usize| -> String { (0..rng.usize(..most)).map(|_| format!("/{}", names[rng.usize(..names.len())])).collect() };
            let dir = match pick(&mut rng, 4) {
                d if d.is_empty() => "/".to_string(),
                d => d,
            };
            let entries: Vec<(String, Inode)> = (0..rng.usize(..4)).map(|k| (pick(&mut rng, 3), Inode::file("x", 0o600, step * 4 + k as i64))).collect();
            match step % 5 {
                0 => {
                    assert_eq!(under.remove(&dir), joined.remove(&dir));
                }
                1 => {
                    under.insert(&dir, Inode::dir(0o700, step));
                    joined.insert(&dir, Inode::dir(0o700, step));
                }
                _ => {
                    under.insert_all_under(&dir, entries.iter().map(|(n, i)| (n.as_str(), i.clone())));
                    for (n, i) in &entries {
                        joined.insert(&join(&dir, n), i.clone());
                    }
                }
            }
            assert_eq!(under, joined, "after step {step} under {dir}");
        }
        assert!(under.len() > 10);
    }

    #[test]
    fn a_tree_as_deep_as_a_long_path_is_walked_and_dropped_without_recursion() {
        let deep = "/d".repeat(100_000);
        let mut fs = Fs::new();
        fs.write(&format!("{deep}/f"), "x", 0o644, 0);
        assert_eq!(fs.len(), 100_001);
        assert_eq!(fs.used_bytes("/"), 1);
        let copy = fs.copy_tree("/d/d");
        assert_eq!(copy.len(), 100_000, "/d/d is the copy's root");
        drop(copy);
        assert!(fs.remove(&format!("{deep}/f")).is_some());
        assert_eq!(fs.remove_tree("/d"), 100_000);
        fs.write(&format!("{deep}/f"), "x", 0o644, 0);
        drop(fs);
    }
}
